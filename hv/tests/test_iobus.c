// SPDX-License-Identifier: MIT
/*
 * unit: the I/O bus (hv/iobus.c): overlapping ranges are refused with an
 * error naming both, lookups hit exactly the range's first and last
 * address and miss one past either edge, unregistering frees the range,
 * and dispatch hands the access to the right handler with its offset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "iobus.h"

struct hits {
	unsigned n;
	uint64_t offset;
	const char *who;
};

static void handler(void *opaque, struct iobus_io *io)
{
	struct hits *h = opaque;

	h->n++;
	h->offset = io->offset;
	io->result = 7;
}

static void test_overlapping_range_is_refused_naming_both(void **state)
{
	struct iobus bus;
	struct errbuf eb = { "" };
	struct hits h = { 0 };

	(void)state;
	iobus_init(&bus, "port");
	assert_int_equal(iobus_register(&bus, "com1", 0x3f8, 8, handler, &h, &eb), 0);
	assert_int_equal(iobus_register(&bus, "pm1", 0x600, 6, handler, &h, &eb), 0);
	/* one port into com1 from below, one from above, one around it, one inside */
	assert_int_equal(iobus_register(&bus, "lowdev", 0x3f0, 9, handler, &h, &eb), -EBUSY);
	assert_non_null(strstr(eb.msg, "lowdev port range 0x3f0-0x3f8 overlaps com1 at 0x3f8-0x3ff"));
	assert_int_equal(iobus_register(&bus, "highdev", 0x3ff, 1, handler, &h, &eb), -EBUSY);
	assert_non_null(strstr(eb.msg, "highdev"));
	assert_non_null(strstr(eb.msg, "com1"));
	assert_int_equal(iobus_register(&bus, "around", 0x300, 0x400, handler, &h, &eb), -EBUSY);
	assert_non_null(strstr(eb.msg, "overlaps com1"));
	assert_int_equal(iobus_register(&bus, "inside", 0x602, 1, handler, &h, &eb), -EBUSY);
	assert_non_null(strstr(eb.msg, "inside port range 0x602-0x602 overlaps pm1 at 0x600-0x605"));
	/* touching either edge is not overlapping */
	assert_int_equal(iobus_register(&bus, "below", 0x3f0, 8, handler, &h, &eb), 0);
	assert_int_equal(iobus_register(&bus, "above", 0x400, 1, handler, &h, &eb), 0);
	assert_int_equal(bus.nr, 4);
	iobus_fini(&bus);
}

static void test_empty_and_wrapping_ranges_are_refused(void **state)
{
	struct iobus bus;
	struct errbuf eb = { "" };

	(void)state;
	iobus_init(&bus, "MMIO");
	assert_int_equal(iobus_register(&bus, "nothing", 0x1000, 0, handler, NULL, &eb), -EINVAL);
	assert_non_null(strstr(eb.msg, "is empty"));
	assert_int_equal(iobus_register(&bus, "wrap", UINT64_MAX - 1, 4, handler, NULL, &eb), -EINVAL);
	assert_non_null(strstr(eb.msg, "wraps around"));
	/* the very last address is a valid range */
	assert_int_equal(iobus_register(&bus, "top", UINT64_MAX, 1, handler, NULL, &eb), 0);
	assert_non_null(iobus_find(&bus, UINT64_MAX));
	assert_null(iobus_find(&bus, UINT64_MAX - 1));
	iobus_fini(&bus);
}

static void test_lookup_hits_range_edges_and_misses_past_them(void **state)
{
	struct iobus bus;
	struct hits a = { 0 }, b = { 0 }, c = { 0 };
	const struct iobus_range *r;

	(void)state;
	iobus_init(&bus, "port");
	/* registered out of order: the bus keeps them sorted */
	assert_int_equal(iobus_register(&bus, "c", 0x600, 6, handler, &c, NULL), 0);
	assert_int_equal(iobus_register(&bus, "a", 0x0, 1, handler, &a, NULL), 0);
	assert_int_equal(iobus_register(&bus, "b", 0x3f8, 8, handler, &b, NULL), 0);
	assert_ptr_equal(iobus_find(&bus, 0x0)->opaque, &a);
	assert_null(iobus_find(&bus, 0x1));
	assert_null(iobus_find(&bus, 0x3f7));
	r = iobus_find(&bus, 0x3f8);
	assert_non_null(r);
	assert_string_equal(r->name, "b");
	assert_ptr_equal(iobus_find(&bus, 0x3ff)->opaque, &b);
	assert_null(iobus_find(&bus, 0x400));
	assert_null(iobus_find(&bus, 0x5ff));
	assert_ptr_equal(iobus_find(&bus, 0x600)->opaque, &c);
	assert_ptr_equal(iobus_find(&bus, 0x605)->opaque, &c);
	assert_null(iobus_find(&bus, 0x606));
	assert_null(iobus_find(&bus, UINT64_MAX));
	iobus_fini(&bus);
}

static void test_dispatch_gives_the_offset_and_reports_unclaimed(void **state)
{
	struct iobus bus;
	struct hits h = { 0 };
	uint8_t data[4] = { 0 };
	struct iobus_io io = { .addr = 0x3fd, .size = 1, .count = 1, .data = data };

	(void)state;
	iobus_init(&bus, "port");
	assert_int_equal(iobus_register(&bus, "com1", 0x3f8, 8, handler, &h, NULL), 0);
	assert_true(iobus_dispatch(&bus, &io));
	assert_int_equal(h.n, 1);
	assert_int_equal(h.offset, 5);
	assert_int_equal(io.offset, 5);
	assert_int_equal(io.result, 7);
	io = (struct iobus_io){ .addr = 0x400, .size = 1, .count = 1, .data = data };
	assert_false(iobus_dispatch(&bus, &io));
	assert_int_equal(h.n, 1);
	iobus_fini(&bus);
}

static void test_unregister_frees_the_range_for_lookup_and_reuse(void **state)
{
	struct iobus bus;
	struct hits a = { 0 }, b = { 0 };
	struct errbuf eb = { "" };

	(void)state;
	iobus_init(&bus, "MMIO");
	for (uint64_t i = 0; i < 20; i++) /* past the first allocation */
		assert_int_equal(iobus_register(&bus, "page", 0x10000 + i * 0x1000, 0x1000, handler, &a,
						&eb), 0);
	assert_int_equal(iobus_unregister(&bus, 0x10800), -ENOENT); /* not a range's start */
	assert_int_equal(iobus_unregister(&bus, 0x15000), 0);
	assert_int_equal(bus.nr, 19);
	assert_null(iobus_find(&bus, 0x15000));
	assert_null(iobus_find(&bus, 0x15fff));
	assert_ptr_equal(iobus_find(&bus, 0x14fff)->opaque, &a);
	assert_ptr_equal(iobus_find(&bus, 0x16000)->opaque, &a);
	assert_int_equal(iobus_unregister(&bus, 0x15000), -ENOENT);
	assert_int_equal(iobus_register(&bus, "new", 0x15000, 0x1000, handler, &b, &eb), 0);
	assert_ptr_equal(iobus_find(&bus, 0x15800)->opaque, &b);
	iobus_fini(&bus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_overlapping_range_is_refused_naming_both),
		cmocka_unit_test(test_empty_and_wrapping_ranges_are_refused),
		cmocka_unit_test(test_lookup_hits_range_edges_and_misses_past_them),
		cmocka_unit_test(test_dispatch_gives_the_offset_and_reports_unclaimed),
		cmocka_unit_test(test_unregister_frees_the_range_for_lookup_and_reuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
