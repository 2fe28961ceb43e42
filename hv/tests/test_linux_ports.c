// SPDX-License-Identifier: MIT
/*
 * unit: a Linux guest's port devices (hv/linux_ports.c): power-off only
 * for S5, the reset ports, COM1 sending only what is written to THR, its
 * IRQ line, and accesses of sizes KVM never gives.  fuzz/fuzz_linuxpio.c
 * drives the same handlers with random sequences.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "acpi.h"
#include "linux_ports.h"

struct sink {
	char out[64];
	size_t n;
	bool line;
	unsigned edges;
};

static void on_tx(void *opaque, uint8_t byte)
{
	struct sink *s = opaque;

	if (s->n < sizeof(s->out))
		s->out[s->n++] = (char)byte;
}

static void on_irq(void *opaque, bool level)
{
	struct sink *s = opaque;

	s->line = level;
	s->edges++;
}

static struct iobus bus; /* the domain's port bus, in a domain */

static void ports_init(struct linux_ports *lp)
{
	iobus_init(&bus, "port");
	assert_int_equal(linux_ports_init(lp, &bus, NULL), 0);
}

static void ports_destroy(struct linux_ports *lp)
{
	linux_ports_destroy(lp);
	assert_int_equal(bus.nr, 0); /* every range it registered is gone */
	iobus_fini(&bus);
}

static enum linux_port_action out(struct linux_ports *lp, uint16_t port, unsigned size, uint32_t v)
{
	uint8_t data[4];

	memcpy(data, &v, sizeof(data));
	return linux_ports_io(lp, port, size, false, 1, data);
}

static uint32_t in(struct linux_ports *lp, uint16_t port, unsigned size)
{
	uint32_t v = 0;

	assert_int_equal(linux_ports_io(lp, port, size, true, 1, (uint8_t *)&v), LINUX_PORT_NONE);
	return v;
}

static void test_pm1_control_powers_off_only_for_s5_with_slp_en(void **state)
{
	struct linux_ports lp;
	struct sink s = { 0 };

	(void)state;
	ports_init(&lp);
	linux_ports_reset(&lp, on_tx, on_irq, &s);
	assert_int_equal(in(&lp, ACPI_PM1A_CNT_PORT, 2), ACPI_PM1_SCI_EN);
	/* S5 without SLP_EN, S3 with it, S5 as one byte: nothing */
	assert_int_equal(out(&lp, ACPI_PM1A_CNT_PORT, 2, ACPI_SLP_TYP_S5 << 10), LINUX_PORT_NONE);
	assert_int_equal(out(&lp, ACPI_PM1A_CNT_PORT, 2, (3 << 10) | ACPI_PM1_SLP_EN), LINUX_PORT_NONE);
	assert_int_equal(out(&lp, ACPI_PM1A_CNT_PORT + 1, 1, (ACPI_SLP_TYP_S5 << 2) | 0x20),
			 LINUX_PORT_NONE);
	/* SLP_EN reads back as 0, SCI_EN as 1 */
	assert_int_equal(in(&lp, ACPI_PM1A_CNT_PORT, 2), (3 << 10) | ACPI_PM1_SCI_EN);
	assert_int_equal(out(&lp, ACPI_PM1A_CNT_PORT, 2, (ACPI_SLP_TYP_S5 << 10) | ACPI_PM1_SLP_EN),
			 LINUX_PORT_POWEROFF);
	ports_destroy(&lp);
}

static void test_reset_ports_reset_only_with_the_reset_value(void **state)
{
	struct linux_ports lp;

	(void)state;
	ports_init(&lp);
	linux_ports_reset(&lp, NULL, NULL, NULL);
	assert_int_equal(out(&lp, ACPI_RESET_PORT, 1, 0x02), LINUX_PORT_NONE);
	assert_int_equal(out(&lp, ACPI_RESET_PORT, 1, ACPI_RESET_VALUE), LINUX_PORT_RESET);
	assert_int_equal(out(&lp, 0x64, 1, 0xfd), LINUX_PORT_NONE);
	assert_int_equal(out(&lp, 0x64, 1, 0xfe), LINUX_PORT_RESET);
	assert_int_equal(in(&lp, 0x64, 1), 0xff); /* no keyboard controller */
	ports_destroy(&lp);
}

static void test_uart_sends_what_thr_gets_and_raises_thri_until_iir_is_read(void **state)
{
	struct linux_ports lp;
	struct sink s = { 0 };
	uint8_t rep[3] = { 'a', 'b', 'c' };

	(void)state;
	ports_init(&lp);
	linux_ports_reset(&lp, on_tx, on_irq, &s);
	/* divisor latch: the byte goes to DLL, not the line */
	out(&lp, UART_COM1_BASE + 3, 1, 0x83);
	out(&lp, UART_COM1_BASE, 1, 0x01);
	out(&lp, UART_COM1_BASE + 3, 1, 0x03);
	assert_int_equal(s.n, 0);
	/* loopback: not on the line either */
	out(&lp, UART_COM1_BASE + 4, 1, 0x1b);
	out(&lp, UART_COM1_BASE, 1, 'x');
	out(&lp, UART_COM1_BASE + 4, 1, 0x0b);
	assert_int_equal(s.n, 0);
	assert_int_equal(linux_ports_io(&lp, UART_COM1_BASE, 1, false, 3, rep), LINUX_PORT_NONE);
	out(&lp, UART_COM1_BASE, 1, 'd');
	assert_int_equal(s.n, 4);
	assert_memory_equal(s.out, "abcd", 4);
	assert_int_equal(in(&lp, UART_COM1_BASE + 5, 1), 0x60); /* THRE | TEMT */
	/* enabling THRI with the transmitter empty raises the line; reading IIR drops it */
	assert_false(s.line);
	out(&lp, UART_COM1_BASE + 1, 1, 0x02);
	assert_true(s.line);
	assert_int_equal(in(&lp, UART_COM1_BASE + 2, 1) & 0x0f, 0x02);
	assert_false(s.line);
	assert_int_equal(in(&lp, UART_COM1_BASE + 2, 1) & 0x0f, 0x01);
	assert_int_equal(s.edges, 2);
	ports_destroy(&lp);
}

static void test_access_of_a_size_kvm_never_gives_is_ignored(void **state)
{
	struct linux_ports lp;
	struct sink s = { 0 };
	uint8_t data[8];

	(void)state;
	ports_init(&lp);
	linux_ports_reset(&lp, on_tx, on_irq, &s);
	memset(data, 0x41, sizeof(data));
	assert_int_equal(linux_ports_io(&lp, UART_COM1_BASE, 8, false, 1, data), LINUX_PORT_NONE);
	assert_int_equal(linux_ports_io(&lp, UART_COM1_BASE, 3, false, 1, data), LINUX_PORT_NONE);
	assert_int_equal(s.n, 0);
	memset(data, 0x5a, sizeof(data));
	assert_int_equal(linux_ports_io(&lp, ACPI_PM1A_EVT_PORT, 8, true, 1, data), LINUX_PORT_NONE);
	for (size_t i = 0; i < sizeof(data); i++)
		assert_int_equal(data[i], 0x5a);
	ports_destroy(&lp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pm1_control_powers_off_only_for_s5_with_slp_en),
		cmocka_unit_test(test_reset_ports_reset_only_with_the_reset_value),
		cmocka_unit_test(test_uart_sends_what_thr_gets_and_raises_thri_until_iir_is_read),
		cmocka_unit_test(test_access_of_a_size_kvm_never_gives_is_ignored),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
