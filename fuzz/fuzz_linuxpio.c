// SPDX-License-Identifier: MIT
/*
 * Fuzz target: a Linux guest's port I/O (hv/linux_ports.c: COM1's 16550A
 * in hv/uart8250.c, the ACPI PM1 registers, the reset ports); the guest
 * drives these ports as it likes.  The input is a sequence of exits, each
 *
 *   u8 ctl     bits 0-1: size 1, 2, 4, or 8 (which KVM never gives: ignored);
 *              bit 2: in (a read); bits 3-7: count - 1 (a rep ins/outs)
 *   u8 sel     0-63: COM1 0x3f8 + sel % 8; 64-127: 0x600 + sel % 8 (PM1 and
 *              past it); 128-191: one of a few neighbours and reset ports;
 *              192-255: a u16 port follows
 *   data       for a write, size * count bytes
 *
 * handed to linux_ports_io() (which dispatches on the port bus, hv/iobus.c)
 * with a data buffer of exactly size * count bytes.  After each exit the target checks what the devices promise:
 * - the IRQ line (set_irq calls) changes only when the level changes and
 *   is high exactly while THRI is enabled and a THRE interrupt is pending;
 * - LSR reads 0x60 (transmitter empty, nothing received, no errors), RBR
 *   reads 0 (nothing is ever received) or DLL under DLAB, IIR has bits 4-5
 *   clear, its FIFO bits follow FCR and says THRI only for the first read
 *   after one was raised (the read acknowledges it);
 * - the UART emits a byte only for a THR write with DLAB and loopback
 *   clear, exactly the bytes written, in order;
 * - registers read back what was written (LCR, MCR & 0x1f, IER & 0x0f,
 *   SCR, DLL/DLM, PM1 enable), PM1 status reads 0 (no event source),
 *   PM1 control always has SCI_EN and never reads back SLP_EN;
 * - power-off is returned only for a 16-bit PM1a_CNT write with SLP_EN and
 *   SLP_TYP = S5 (5), reset only for 0xcf9 with bit 2 or 0xfe to 0x64, and
 *   whenever such a write happened; nothing for reads;
 * - a read fills every byte it is given; unclaimed ports read all ones;
 * - an access of another size changes nothing and touches no data.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acpi.h"
#include "fuzz.h"
#include "linux_ports.h"

#define COM1 UART_COM1_BASE
#define PM1 ACPI_PM1A_EVT_PORT
#define CANARY 0xa5

enum { RBR = 0, IER = 1, IIR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };
#define DLAB 0x80
#define LOOP 0x10
#define THRI 0x02

struct harness {
	struct linux_ports lp;
	uint8_t tx[32 * 8];      /* bytes the UART sent during this exit */
	size_t ntx;
	bool line;               /* the IRQ line as set_irq last left it */
	unsigned irq_calls;
};

static struct harness H;
static struct iobus bus; /* the port bus the devices register on, as a domain's */
static bool ready;

static void on_tx(void *opaque, uint8_t byte)
{
	struct harness *h = opaque;

	FUZZ_CHECK(h->ntx < sizeof(h->tx), "more bytes sent than written");
	h->tx[h->ntx++] = byte;
}

static void on_irq(void *opaque, bool level)
{
	struct harness *h = opaque;

	FUZZ_CHECK(level != h->line, "set_irq(%d) with the line already at %d", level, h->line);
	h->line = level;
	h->irq_calls++;
}

static uint16_t pick_port(struct fuzz_in *in, uint8_t sel)
{
	static const uint16_t others[] = { ACPI_RESET_PORT, 0x64, COM1 - 1, COM1 + 8, PM1 - 1,
					   PM1 + 6, 0xcf8, 0x60 };

	if (sel < 64)
		return (uint16_t)(COM1 + sel % 8);
	if (sel < 128)
		return (uint16_t)(PM1 + sel % 8);
	if (sel < 192)
		return others[sel % 8];
	return fuzz_u16(in);
}

static uint32_t element(const uint8_t *data, unsigned size, uint32_t i)
{
	uint32_t v = 0;

	memcpy(&v, data + (size_t)i * size, size);
	return v;
}

static void check_uart_read(const struct uart8250 *pre, unsigned off, const uint8_t *data,
			    unsigned size, uint32_t count)
{
	bool thri_pending = (pre->ier & THRI) && pre->thre_pending;

	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *e = data + (size_t)i * size;
		uint8_t v = e[0];

		for (unsigned k = 1; k < size; k++)
			FUZZ_CHECK(e[k] == v, "COM1+%u read %u: bytes %#x and %#x differ", off, i, v, e[k]);
		switch (off) {
		case RBR:
			FUZZ_CHECK(v == ((pre->lcr & DLAB) ? pre->dll : 0), "RBR/DLL read %#x", v);
			break;
		case IER:
			FUZZ_CHECK(v == ((pre->lcr & DLAB) ? pre->dlm : pre->ier), "IER/DLM read %#x", v);
			break;
		case IIR:
			FUZZ_CHECK(!(v & 0x30), "IIR %#x: bits 4-5 set", v);
			FUZZ_CHECK((v & 0xc0) == ((pre->fcr & 1) ? 0xc0 : 0), "IIR %#x with FCR %#x", v,
				   pre->fcr);
			/* THRI once, then acknowledged */
			FUZZ_CHECK((v & 0x0f) == (i == 0 && thri_pending ? 0x02 : 0x01),
				   "IIR read %u = %#x (THRI pending before: %d)", i, v, thri_pending);
			break;
		case LCR:
			FUZZ_CHECK(v == pre->lcr, "LCR read %#x, was %#x", v, pre->lcr);
			break;
		case MCR:
			FUZZ_CHECK(v == pre->mcr && !(v & 0xe0), "MCR read %#x, was %#x", v, pre->mcr);
			break;
		case LSR:
			FUZZ_CHECK(v == 0x60, "LSR %#x: not THRE|TEMT alone", v);
			break;
		case MSR:
			if (pre->mcr & LOOP)
				FUZZ_CHECK(v == (((pre->mcr & 1) ? 0x20 : 0) | ((pre->mcr & 2) ? 0x10 : 0) |
						 ((pre->mcr & 4) ? 0x40 : 0) | ((pre->mcr & 8) ? 0x80 : 0)),
					   "MSR %#x in loopback with MCR %#x", v, pre->mcr);
			else
				FUZZ_CHECK(v == 0xb0, "MSR %#x: not DCD|DSR|CTS", v);
			break;
		case SCR:
			FUZZ_CHECK(v == pre->scr, "SCR read %#x, was %#x", v, pre->scr);
			break;
		}
	}
}

static void check_uart_write(const struct uart8250 *pre, const struct uart8250 *u, unsigned off,
			     const uint8_t *data, unsigned size, uint32_t count, size_t *expect_tx)
{
	uint8_t last = (uint8_t)element(data, size, count - 1);
	bool dlab = pre->lcr & DLAB;

	switch (off) {
	case RBR:
		if (dlab)
			FUZZ_CHECK(u->dll == last, "DLL %#x after writing %#x", u->dll, last);
		else if (!(pre->mcr & LOOP))
			*expect_tx = count;
		if (!dlab)
			FUZZ_CHECK(u->thre_pending, "THR written, no THRE interrupt pending");
		break;
	case IER:
		if (dlab)
			FUZZ_CHECK(u->dlm == last, "DLM %#x after writing %#x", u->dlm, last);
		else
			FUZZ_CHECK(u->ier == (last & 0x0f), "IER %#x after writing %#x", u->ier, last);
		break;
	case LCR:
		FUZZ_CHECK(u->lcr == last, "LCR %#x after writing %#x", u->lcr, last);
		break;
	case MCR:
		FUZZ_CHECK(u->mcr == (last & 0x1f), "MCR %#x after writing %#x", u->mcr, last);
		break;
	case SCR:
		FUZZ_CHECK(u->scr == last, "SCR %#x after writing %#x", u->scr, last);
		break;
	case LSR:
	case MSR:
		FUZZ_CHECK(!memcmp(pre, u, sizeof(*u)), "a write to read-only COM1+%u changed the UART",
			   off);
		break;
	}
}

/* The PM1 block as the guest reads it: status, enable, control. */
static uint32_t pm_expect(const struct linux_ports *pre, unsigned off, unsigned size)
{
	uint8_t regs[6];
	uint32_t v = 0;

	memcpy(regs, &pre->pm.pm1_sts, 2);
	memcpy(regs + 2, &pre->pm.pm1_en, 2);
	memcpy(regs + 4, &pre->pm.pm1_cnt, 2);
	if (off + size > sizeof(regs))
		return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
	memcpy(&v, regs + off, size);
	return v;
}

static enum linux_port_action expected_action(uint16_t port, unsigned size, bool in,
					      const uint8_t *data, uint32_t count)
{
	enum linux_port_action a = LINUX_PORT_NONE;

	for (uint32_t i = 0; i < count && !in; i++) {
		uint32_t v = element(data, size, i);

		if (port == ACPI_PM1A_CNT_PORT && size == 2 && (v & ACPI_PM1_SLP_EN) &&
		    ((v >> 10) & 7) == ACPI_SLP_TYP_S5)
			a = LINUX_PORT_POWEROFF;
		else if ((port == ACPI_RESET_PORT && size == 1 && (v & 4)) ||
			 (port == 0x64 && size == 1 && v == 0xfe))
			a = LINUX_PORT_RESET;
	}
	return a;
}

static void one_exit(struct harness *h, struct fuzz_in *in)
{
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	uint8_t ctl = fuzz_u8(in);
	unsigned size = sizes[ctl & 3];
	bool is_in = ctl & 4;
	uint32_t count = 1 + (ctl >> 3);
	uint16_t port = pick_port(in, fuzz_u8(in));
	size_t len = (size_t)size * count, expect_tx = 0;
	uint8_t *data = malloc(len);
	struct linux_ports pre = h->lp;
	struct uart8250 *u = &h->lp.com1;
	enum linux_port_action got, want;
	unsigned irq_calls = h->irq_calls;

	if (!data)
		abort();
	if (is_in)
		memset(data, CANARY, len);
	else
		fuzz_bytes(in, data, len);
	h->ntx = 0;
	got = linux_ports_io(&h->lp, port, size, is_in, count, data);

	if (size == 8) {
		FUZZ_CHECK(got == LINUX_PORT_NONE && h->ntx == 0 && h->irq_calls == irq_calls &&
			   !memcmp(&pre.com1, u, sizeof(*u)) && pre.pm.pm1_sts == h->lp.pm.pm1_sts &&
			   pre.pm.pm1_en == h->lp.pm.pm1_en && pre.pm.pm1_cnt == h->lp.pm.pm1_cnt,
			   "an 8-byte access to port %#x did something", port);
		for (size_t i = 0; i < len && is_in; i++)
			FUZZ_CHECK(data[i] == CANARY, "an 8-byte read wrote byte %zu", i);
		free(data);
		return;
	}
	want = expected_action(port, size, is_in, data, count);
	FUZZ_CHECK(got == want, "port %#x size %u %s x%u: action %d, expected %d", port, size,
		   is_in ? "in" : "out", count, got, want);

	if (port >= COM1 && port < COM1 + UART_NR_PORTS) {
		unsigned off = port - COM1;

		if (is_in)
			check_uart_read(&pre.com1, off, data, size, count);
		else
			check_uart_write(&pre.com1, u, off, data, size, count, &expect_tx);
	} else if (port >= PM1 && port < ACPI_PM1A_CNT_PORT + 2) {
		unsigned off = port - PM1;

		for (uint32_t i = 0; i < count && is_in; i++)
			FUZZ_CHECK(element(data, size, i) == pm_expect(&pre, off, size),
				   "PM1+%u read %#x, expected %#x", off, element(data, size, i),
				   pm_expect(&pre, off, size));
		if (!is_in && off == 2 && size == 2)
			FUZZ_CHECK(h->lp.pm.pm1_en == (uint16_t)element(data, size, count - 1),
				   "PM1 enable %#x", h->lp.pm.pm1_en);
		if (!is_in && off == 0 && size == 4)
			FUZZ_CHECK(h->lp.pm.pm1_en == (uint16_t)(element(data, size, count - 1) >> 16),
				   "PM1 enable %#x after a 32-bit write", h->lp.pm.pm1_en);
	} else if (is_in) {
		for (size_t i = 0; i < len; i++)
			FUZZ_CHECK(data[i] == 0xff, "port %#x: nothing there, but byte %zu reads %#x",
				   port, i, data[i]);
	}
	if (!(port >= PM1 && port < ACPI_PM1A_CNT_PORT + 2) || is_in)
		FUZZ_CHECK(h->lp.pm.pm1_en == pre.pm.pm1_en && h->lp.pm.pm1_cnt == pre.pm.pm1_cnt,
			   "port %#x %s changed PM1", port, is_in ? "in" : "out");

	/* Sent: exactly the bytes written to THR, in order, and nothing else. */
	FUZZ_CHECK(h->ntx == expect_tx, "port %#x %s: %zu bytes sent, expected %zu", port,
		   is_in ? "in" : "out", h->ntx, expect_tx);
	for (size_t i = 0; i < h->ntx; i++)
		FUZZ_CHECK(h->tx[i] == (uint8_t)element(data, size, (uint32_t)i), "byte %zu sent wrong", i);
	/* The line follows IER and the pending THRE interrupt, and set_irq agrees. */
	FUZZ_CHECK(h->line == u->irq_level && u->irq_level == ((u->ier & THRI) && u->thre_pending),
		   "IRQ line %d, level %d, IER %#x, THRE pending %d", h->line, u->irq_level, u->ier,
		   u->thre_pending);
	FUZZ_CHECK(h->lp.pm.pm1_sts == 0, "PM1 status %#x with no event source", h->lp.pm.pm1_sts);
	FUZZ_CHECK((h->lp.pm.pm1_cnt & ACPI_PM1_SCI_EN) && !(h->lp.pm.pm1_cnt & ACPI_PM1_SLP_EN),
		   "PM1 control %#x", h->lp.pm.pm1_cnt);
	free(data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };

	if (!ready) {
		iobus_init(&bus, "port");
		if (linux_ports_init(&H.lp, &bus, NULL) < 0)
			abort();
		ready = true;
	}
	H.line = false;
	H.irq_calls = 0;
	linux_ports_reset(&H.lp, on_tx, on_irq, &H);
	FUZZ_CHECK(!H.lp.com1.irq_level, "IRQ line high after reset");
	while (in.left)
		one_exit(&H, &in);
	return 0;
}
