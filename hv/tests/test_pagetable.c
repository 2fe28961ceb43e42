// SPDX-License-Identifier: MIT
/* unit: the PV page-table builder's invariants. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pagetable.h"

#define MIB (1ull << 20)
#define PAGE 4096ull

struct fixture {
	uint8_t *mem;
	uint64_t size, pt_base, nr_pt;
	struct pt_map maps[8];
	unsigned nr_maps;
};

/* A layout like the builder's: RO page, RW page, an RX image, RO tables, stacks with a guard. */
static struct fixture *make(uint64_t size)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->size = size;
	f->mem = calloc(1, size);
	f->nr_pt = pt_pages_needed(size);
	f->pt_base = 0x200000;
	f->maps[f->nr_maps++] = (struct pt_map){ 0x1000, 0x2000, 0 };
	f->maps[f->nr_maps++] = (struct pt_map){ 0x2000, 0x4000, PT_MAP_W };
	f->maps[f->nr_maps++] = (struct pt_map){ 0x100000, 0x180000, PT_MAP_X };
	f->maps[f->nr_maps++] = (struct pt_map){ 0x180000, 0x200000, PT_MAP_W };
	f->maps[f->nr_maps++] = (struct pt_map){ f->pt_base, f->pt_base + f->nr_pt * PAGE, 0 };
	/* one guard page, then a stack, then free memory to the end */
	uint64_t stack = f->pt_base + f->nr_pt * PAGE + PAGE;

	f->maps[f->nr_maps++] = (struct pt_map){ stack, stack + 8 * PAGE, PT_MAP_W };
	f->maps[f->nr_maps++] = (struct pt_map){ stack + 8 * PAGE, size, PT_MAP_W };
	return f;
}

static void destroy(struct fixture *f)
{
	free(f->mem);
	free(f);
}

static void build_ok(struct fixture *f)
{
	assert_int_equal(pt_build(f->mem, f->size, f->pt_base, f->nr_pt, f->maps, f->nr_maps, NULL), 0);
}

static void test_pt_pages_needed_counts_every_level(void **state)
{
	(void)state;
	assert_int_equal(pt_pages_needed(2 * MIB), 4);          /* PML4, PDPT, PD, 1 PT */
	assert_int_equal(pt_pages_needed(2 * MIB + PAGE), 5);   /* a second PT */
	assert_int_equal(pt_pages_needed(1024 * MIB), 1 + 1 + 1 + 512);
	assert_int_equal(pt_pages_needed(1024 * MIB + PAGE), 1 + 1 + 2 + 513);
}

static void test_pt_identity_maps_every_range_with_user_bit_at_every_level(void **state)
{
	struct fixture *f = make(64 * MIB);
	struct pt_walk w;

	(void)state;
	build_ok(f);
	for (unsigned i = 0; i < f->nr_maps; i++) {
		for (uint64_t va = f->maps[i].start; va < f->maps[i].end; va += PAGE) {
			assert_true(pt_translate(f->mem, f->size, f->pt_base, va + 8, &w));
			assert_int_equal(w.pa, va + 8);
			assert_true(w.user_every_level);
			assert_int_equal(w.writable, !!(f->maps[i].flags & PT_MAP_W));
			assert_int_equal(w.nx, !(f->maps[i].flags & PT_MAP_X));
		}
	}
	destroy(f);
}

static void test_pt_leaves_page_zero_and_guard_pages_unmapped(void **state)
{
	struct fixture *f = make(8 * MIB);
	struct pt_walk w;
	uint64_t guard = f->pt_base + f->nr_pt * PAGE;

	(void)state;
	build_ok(f);
	assert_false(pt_translate(f->mem, f->size, f->pt_base, 0, &w));
	assert_false(pt_translate(f->mem, f->size, f->pt_base, 0xfff, &w));
	assert_false(pt_translate(f->mem, f->size, f->pt_base, guard, &w));
	assert_false(pt_translate(f->mem, f->size, f->pt_base, 0x4000, &w));
	assert_false(pt_translate(f->mem, f->size, f->pt_base, f->size, &w));
	assert_false(pt_translate(f->mem, f->size, f->pt_base, 0xffff800000000000ull, &w));
	destroy(f);
}

static void test_pt_tables_are_mapped_read_only_and_inside_their_area(void **state)
{
	struct fixture *f = make(16 * MIB);
	uint64_t end;
	struct pt_walk w;

	(void)state;
	build_ok(f);
	end = f->pt_base + f->nr_pt * PAGE;
	for (uint64_t pt = f->pt_base; pt < end; pt += PAGE) {
		const uint64_t *e = (const uint64_t *)(const void *)(f->mem + pt);

		assert_true(pt_translate(f->mem, f->size, f->pt_base, pt, &w));
		assert_false(w.writable);
		/* every table entry points inside guest memory; table pointers into the table area */
		for (int i = 0; i < 512; i++) {
			if (!(e[i] & PTE_P))
				continue;
			assert_true((e[i] & PTE_ADDR_MASK) < f->size);
			assert_true(e[i] & PTE_U);
		}
	}
	destroy(f);
}

static void test_pt_rejects_overlapping_or_unaligned_ranges(void **state)
{
	struct fixture *f = make(8 * MIB);
	struct errbuf eb;

	(void)state;
	f->maps[1].start = 0x1000; /* overlaps maps[0] */
	assert_int_equal(pt_build(f->mem, f->size, f->pt_base, f->nr_pt, f->maps, f->nr_maps, &eb), -EINVAL);
	assert_non_null(strstr(eb.msg, "overlaps"));
	f->maps[1].start = 0x2001;
	assert_int_equal(pt_build(f->mem, f->size, f->pt_base, f->nr_pt, f->maps, f->nr_maps, &eb), -EINVAL);
	f->maps[1].start = 0x2000;
	f->maps[f->nr_maps - 1].end = f->size + PAGE; /* past memory */
	assert_int_equal(pt_build(f->mem, f->size, f->pt_base, f->nr_pt, f->maps, f->nr_maps, &eb), -EINVAL);
	destroy(f);
}

static void test_pt_fails_cleanly_when_too_few_pages_reserved(void **state)
{
	struct fixture *f = make(8 * MIB);
	struct errbuf eb;

	(void)state;
	f->maps[4].end = f->pt_base + 3 * PAGE;
	assert_int_equal(pt_build(f->mem, f->size, f->pt_base, 3, f->maps, f->nr_maps, &eb), -ENOSPC);
	assert_non_null(strstr(eb.msg, "3 pages"));
	destroy(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pt_pages_needed_counts_every_level),
		cmocka_unit_test(test_pt_identity_maps_every_range_with_user_bit_at_every_level),
		cmocka_unit_test(test_pt_leaves_page_zero_and_guard_pages_unmapped),
		cmocka_unit_test(test_pt_tables_are_mapped_read_only_and_inside_their_area),
		cmocka_unit_test(test_pt_rejects_overlapping_or_unaligned_ranges),
		cmocka_unit_test(test_pt_fails_cleanly_when_too_few_pages_reserved),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
