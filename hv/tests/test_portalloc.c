// SPDX-License-Identifier: MIT
/*
 * unit tier: a domain's I/O port numbers (hv/portalloc.c): the fixed
 * ranges a device must not get, first-fit allocation without overlaps,
 * exhaustion as an error that says what ran out, release and reuse.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "acpi.h"
#include "portalloc.h"
#include "uart8250.h"
#include "xenith/abi.h"

static struct port_space S;

static void test_a_domain_space_keeps_the_fixed_ports_from_devices(void **state)
{
	struct errbuf eb;
	uint32_t base = 0;

	(void)state;
	port_space_init_domain(&S);
	assert_int_equal(S.size, XENITH_IO_PORTS);
	assert_string_equal(port_space_owner(&S, XENITH_HYPERCALL_PORT), "hypercall and exception ports");
	assert_string_equal(port_space_owner(&S, XENITH_EXCEPTION_PORT), "hypercall and exception ports");
	assert_string_equal(port_space_owner(&S, XENITH_BENCH_DOORBELL_PORT), "bench doorbell and echo ports");
	assert_string_equal(port_space_owner(&S, XENITH_BENCH_ECHO_PORT + 3), "bench doorbell and echo ports");
	assert_non_null(port_space_owner(&S, 0x20)); /* the PIC */
	assert_non_null(port_space_owner(&S, 0xff));
	assert_non_null(port_space_owner(&S, UART_COM1_BASE + UART_NR_PORTS - 1));
	assert_non_null(port_space_owner(&S, ACPI_PM1A_CNT_PORT + 1));
	assert_null(port_space_owner(&S, 0x100));
	/* The first doorbell is the lowest free aligned port: 0x100, where disk 0's always was. */
	assert_int_equal(port_space_alloc(&S, 4, 4, "vbd0 doorbell", &base, &eb), 0);
	assert_int_equal(base, 0x100);
	assert_int_equal(port_space_alloc(&S, 4, 4, "vbd1 doorbell", &base, &eb), 0);
	assert_int_equal(base, 0x104);
	assert_string_equal(port_space_owner(&S, 0x107), "vbd1 doorbell");
}

/* Every allocation lies inside the space, off the fixed ranges and off every other one. */
static void test_allocations_never_overlap_each_other_or_the_fixed_ranges(void **state)
{
	static const uint32_t lens[] = { 4, 1, 8, 2, 4, 16, 3, 4 };
	uint32_t base[PORT_SPACE_MAX_RANGES], len[PORT_SPACE_MAX_RANGES];
	struct port_space fixed;
	struct errbuf eb;
	unsigned n = 0;

	(void)state;
	port_space_init_domain(&S);
	fixed = S;
	while (n < PORT_SPACE_MAX_RANGES) {
		uint32_t l = lens[n % 8], a = l >= 4 ? 4 : 1;

		if (port_space_alloc(&S, l, a, "dev", &base[n], &eb) < 0)
			break;
		len[n++] = l;
	}
	assert_int_equal(n + fixed.n, PORT_SPACE_MAX_RANGES); /* the table filled up, ports did not */
	for (unsigned i = 0; i < n; i++) {
		assert_true(base[i] + len[i] <= XENITH_IO_PORTS);
		if (len[i] >= 4)
			assert_int_equal(base[i] % 4, 0);
		for (uint32_t p = base[i]; p < base[i] + len[i]; p++)
			if (port_space_owner(&fixed, p))
				fail_msg("port 0x%x of allocation %u is also %s", p, i, port_space_owner(&fixed, p));
		for (unsigned j = 0; j < i; j++)
			if (base[i] < base[j] + len[j] && base[j] < base[i] + len[i])
				fail_msg("allocation %u (0x%x+%u) overlaps allocation %u (0x%x+%u)", i, base[i],
					 len[i], j, base[j], len[j]);
	}
}

static void test_running_out_of_ports_is_an_error_naming_what_ran_out(void **state)
{
	struct errbuf eb;
	uint32_t base;

	(void)state;
	port_space_init(&S, 16);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(port_space_alloc(&S, 4, 4, "vbd doorbell", &base, &eb), 0);
	assert_int_equal(port_space_alloc(&S, 4, 4, "vbd4 doorbell", &base, &eb), -ENOSPC);
	assert_non_null(strstr(eb.msg, "vbd4 doorbell: no 4 free I/O ports (aligned to 4) are left in the "
				       "guest's port space 0..0xf"));
	/* Not even one port is left. */
	assert_int_equal(port_space_alloc(&S, 1, 1, "x", &base, &eb), -ENOSPC);

	/* The other thing that can run out: the table of ranges. */
	port_space_init(&S, XENITH_IO_PORTS);
	for (unsigned i = 0; i < PORT_SPACE_MAX_RANGES; i++)
		assert_int_equal(port_space_alloc(&S, 1, 1, "dev", &base, &eb), 0);
	assert_int_equal(port_space_alloc(&S, 1, 1, "net0 doorbell", &base, &eb), -ENOSPC);
	assert_non_null(strstr(eb.msg, "net0 doorbell: the domain's I/O port table is full (64 ranges"));
	assert_int_equal(port_space_reserve(&S, 0x700, 4, "late", &eb), -ENOSPC);
}

static void test_a_released_range_is_handed_out_again(void **state)
{
	struct errbuf eb;
	uint32_t a, b, c, again;

	(void)state;
	port_space_init_domain(&S);
	assert_int_equal(port_space_alloc(&S, 4, 4, "a", &a, &eb), 0);
	assert_int_equal(port_space_alloc(&S, 4, 4, "b", &b, &eb), 0);
	assert_int_equal(port_space_alloc(&S, 4, 4, "c", &c, &eb), 0);
	assert_int_equal(port_space_release(&S, b), 0);
	assert_null(port_space_owner(&S, b));
	assert_int_equal(port_space_release(&S, b), -ENOENT); /* not twice */
	assert_int_equal(port_space_alloc(&S, 4, 4, "d", &again, &eb), 0);
	assert_int_equal(again, b);
	assert_string_equal(port_space_owner(&S, again), "d");
	assert_string_equal(port_space_owner(&S, a), "a");
	assert_string_equal(port_space_owner(&S, c), "c");
	/* Exhausted, then one released: that one comes back. */
	port_space_init(&S, 8);
	assert_int_equal(port_space_alloc(&S, 4, 4, "x", &a, &eb), 0);
	assert_int_equal(port_space_alloc(&S, 4, 4, "y", &b, &eb), 0);
	assert_int_equal(port_space_alloc(&S, 4, 4, "z", &c, &eb), -ENOSPC);
	assert_int_equal(port_space_release(&S, a), 0);
	assert_int_equal(port_space_alloc(&S, 4, 4, "z", &c, &eb), 0);
	assert_int_equal(c, a);
}

static void test_a_reservation_over_a_taken_range_names_its_holder(void **state)
{
	struct errbuf eb;

	(void)state;
	port_space_init_domain(&S);
	assert_int_equal(port_space_reserve(&S, 0xe2, 4, "net0 doorbell", &eb), -EBUSY);
	assert_non_null(strstr(eb.msg, "net0 doorbell: I/O ports 0xe2..0xe5 overlap 0xe0..0xe3, taken by "
				       "hypercall and exception ports"));
	assert_int_equal(port_space_reserve(&S, XENITH_IO_PORTS - 2, 4, "x", &eb), -EINVAL);
	assert_non_null(strstr(eb.msg, "not in the guest's port space (0..0x7ff)"));
	assert_int_equal(port_space_reserve(&S, 0x200, 0, "x", &eb), -EINVAL);
	assert_int_equal(port_space_reserve(&S, 0x200, 8, "x", &eb), 0);
	assert_int_equal(port_space_reserve(&S, 0x204, 1, "y", &eb), -EBUSY);
	assert_int_equal(port_space_reserve(&S, 0x1fe, 4, "y", &eb), -EBUSY); /* from below */
	assert_non_null(strstr(eb.msg, "overlap 0x200..0x207, taken by x"));
	assert_int_equal(port_space_reserve(&S, 0x208, 1, "y", &eb), 0); /* adjacent is fine */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_domain_space_keeps_the_fixed_ports_from_devices),
		cmocka_unit_test(test_allocations_never_overlap_each_other_or_the_fixed_ranges),
		cmocka_unit_test(test_running_out_of_ports_is_an_error_naming_what_ran_out),
		cmocka_unit_test(test_a_released_range_is_handed_out_again),
		cmocka_unit_test(test_a_reservation_over_a_taken_range_names_its_holder),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
