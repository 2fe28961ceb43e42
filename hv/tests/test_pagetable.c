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
	struct pt_map maps[9];
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

/*
 * An x86-64 4-level walk of the raw tables, written here from the
 * architecture (not from pagetable.c), so that a builder bug cannot hide
 * behind the same bug in pt_translate().  Records every entry it passed.
 */
struct ref_walk {
	uint64_t entry[4];  /* PML4E, PDPTE, PDE, PTE */
	uint64_t table[4];  /* where each of them was read from: the table's guest address */
	int levels;         /* how many present entries were passed (4: mapped) */
	uint64_t pa;
};

static bool ref_walk(const struct fixture *f, uint64_t va, struct ref_walk *w)
{
	static const unsigned shift[4] = { 39, 30, 21, 12 };
	uint64_t table = f->pt_base;

	memset(w, 0, sizeof(*w));
	if (va >> 47) /* non-canonical or the upper half: nothing of it is ours */
		return false;
	for (int l = 0; l < 4; l++) {
		uint64_t e;

		assert_true(table + PAGE <= f->size);
		memcpy(&e, f->mem + table + 8 * ((va >> shift[l]) & 511), 8);
		w->table[l] = table;
		w->entry[l] = e;
		if (!(e & PTE_P))
			return false;
		w->levels = l + 1;
		if (l < 3 && (e & PTE_PS))
			fail_msg("va 0x%llx: a large page at level %d; the builder makes 4 KiB pages only",
				 (unsigned long long)va, 4 - l);
		table = e & 0x000ffffffffff000ull; /* bits 51:12 */
	}
	w->pa = table | (va & (PAGE - 1));
	return true;
}

/* The flags the range that covers va asks for; false when no range covers it. */
static bool range_of(const struct fixture *f, uint64_t va, unsigned *flags)
{
	for (unsigned i = 0; i < f->nr_maps; i++)
		if (va >= f->maps[i].start && va < f->maps[i].end) {
			*flags = f->maps[i].flags;
			return true;
		}
	return false;
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

/* Every page of memory: mapped at its own address with its range's permissions, or not at all. */
static void test_pt_identity_maps_every_range_with_user_bit_at_every_level(void **state)
{
	struct fixture *f = make(64 * MIB);
	struct ref_walk w;

	(void)state;
	build_ok(f);
	for (uint64_t va = 0; va < f->size; va += PAGE) {
		unsigned flags;
		bool w_all = true, nx_any = false;

		if (!range_of(f, va, &flags)) {
			if (ref_walk(f, va + 8, &w))
				fail_msg("va 0x%llx is in no range but is mapped", (unsigned long long)va);
			continue;
		}
		if (!ref_walk(f, va + 8, &w))
			fail_msg("va 0x%llx is not mapped (level %d entry absent)", (unsigned long long)va,
				 w.levels + 1);
		assert_int_equal(w.pa, va + 8);
		for (int l = 0; l < 4; l++) {
			if (!(w.entry[l] & PTE_U))
				fail_msg("va 0x%llx: no user bit at level %d", (unsigned long long)va, 4 - l);
			w_all = w_all && (w.entry[l] & PTE_W);
			nx_any = nx_any || (w.entry[l] & PTE_NX);
		}
		if (w_all != !!(flags & PT_MAP_W) || nx_any != !(flags & PT_MAP_X))
			fail_msg("va 0x%llx: writable %d, no-execute %d; its range asks for flags 0x%x",
				 (unsigned long long)va, w_all, nx_any, flags);
	}
	destroy(f);
}

/* The walk the crash dumps use (pt_translate) agrees with the reference walk on every page. */
static void test_pt_translate_agrees_with_a_reference_walk(void **state)
{
	struct fixture *f = make(8 * MIB);
	struct ref_walk r;
	struct pt_walk w;

	(void)state;
	build_ok(f);
	for (uint64_t va = 0; va <= f->size; va += PAGE) {
		bool mapped = ref_walk(f, va + 0x123, &r);

		assert_int_equal(pt_translate(f->mem, f->size, f->pt_base, va + 0x123, &w), mapped);
		if (!mapped)
			continue;
		assert_int_equal(w.pa, r.pa);
		assert_int_equal(w.writable, !!(r.entry[0] & r.entry[1] & r.entry[2] & r.entry[3] & PTE_W));
		assert_int_equal(w.nx, !!((r.entry[0] | r.entry[1] | r.entry[2] | r.entry[3]) & PTE_NX));
		assert_int_equal(w.user_every_level,
				 !!(r.entry[0] & r.entry[1] & r.entry[2] & r.entry[3] & PTE_U));
	}
	destroy(f);
}

static void test_pt_leaves_page_zero_and_guard_pages_unmapped(void **state)
{
	struct fixture *f = make(8 * MIB);
	struct ref_walk w;
	uint64_t guard = f->pt_base + f->nr_pt * PAGE;

	(void)state;
	build_ok(f);
	assert_false(ref_walk(f, 0, &w));
	assert_false(ref_walk(f, 0xfff, &w));
	assert_false(ref_walk(f, guard, &w));
	assert_int_equal(w.levels, 3); /* its page table exists: only the PTE is absent */
	assert_false(ref_walk(f, 0x4000, &w));
	assert_false(ref_walk(f, f->size, &w));
	assert_false(ref_walk(f, 0xffff800000000000ull, &w));
	destroy(f);
}

/*
 * From CR3 down: each PML4E, PDPTE and PDE points to a whole page inside
 * the table area, no table is pointed to twice, leaves stay inside guest
 * memory, every entry has the user bit; each table page is mapped
 * read-only.  Returns how many table pages were reached.
 */
static uint64_t check_tables(const struct fixture *f, uint64_t table, int level, uint8_t *seen)
{
	uint64_t area_end = f->pt_base + f->nr_pt * PAGE, reached = 1;
	const uint64_t *e = (const uint64_t *)(const void *)(f->mem + table);

	for (int i = 0; i < 512; i++) {
		uint64_t to = e[i] & PTE_ADDR_MASK;

		if (!(e[i] & PTE_P))
			continue;
		if (!(e[i] & PTE_U))
			fail_msg("entry %d of the level-%d table at 0x%llx has no user bit", i, 4 - level,
				 (unsigned long long)table);
		if (level == 3) {
			if (to >= f->size)
				fail_msg("a leaf maps 0x%llx, outside guest memory", (unsigned long long)to);
			continue;
		}
		if (to < f->pt_base || to + PAGE > area_end)
			fail_msg("entry %d of the level-%d table at 0x%llx points to 0x%llx, outside the "
				 "table area [0x%llx, 0x%llx)", i, 4 - level, (unsigned long long)table,
				 (unsigned long long)to, (unsigned long long)f->pt_base,
				 (unsigned long long)area_end);
		if (seen[(to - f->pt_base) / PAGE]++)
			fail_msg("the table at 0x%llx is pointed to twice", (unsigned long long)to);
		reached += check_tables(f, to, level + 1, seen);
	}
	return reached;
}

static void test_pt_tables_are_mapped_read_only_and_inside_their_area(void **state)
{
	struct fixture *f = make(16 * MIB);
	uint8_t *seen = calloc(f->nr_pt, 1);
	struct ref_walk w;

	(void)state;
	build_ok(f);
	seen[0] = 1; /* the PML4, at CR3 */
	assert_int_equal(check_tables(f, f->pt_base, 0, seen), f->nr_pt); /* exactly as many as reserved */
	for (uint64_t pt = f->pt_base; pt < f->pt_base + f->nr_pt * PAGE; pt += PAGE) {
		assert_true(ref_walk(f, pt, &w));
		if (w.entry[3] & PTE_W)
			fail_msg("the table page 0x%llx is writable", (unsigned long long)pt);
	}
	free(seen);
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

/* A device window past memory: mapped uncached, writable, not executable; only PT_MAP_DEVICE may lie there. */
static void test_pt_maps_a_device_window_past_memory_uncached(void **state)
{
	struct fixture *f = make(8 * MIB);
	uint64_t win = 10 * MIB, end = win + 16 * 1024;
	struct errbuf eb;
	struct pt_walk w;

	(void)state;
	uint64_t more;

	f->nr_pt = pt_pages_needed(end); /* the tables cover the window too: page tables for 8-10 MiB */
	more = (f->nr_pt - pt_pages_needed(8 * MIB)) * PAGE;
	assert_int_equal(more, 2 * PAGE);
	f->maps[4].end = f->pt_base + f->nr_pt * PAGE;
	f->maps[5].start += more;
	f->maps[5].end += more;
	f->maps[6].start += more;
	f->maps[f->nr_maps++] = (struct pt_map){ win, end, PT_MAP_W };
	assert_int_equal(pt_build(f->mem, f->size, f->pt_base, f->nr_pt, f->maps, f->nr_maps, &eb), -EINVAL);
	f->maps[f->nr_maps - 1].flags = PT_MAP_W | PT_MAP_DEVICE;
	assert_int_equal(pt_build(f->mem, f->size, f->pt_base, f->nr_pt, f->maps, f->nr_maps, &eb), 0);
	for (uint64_t va = win; va < end; va += PAGE) {
		uint64_t cr3 = f->pt_base, *pt;

		assert_true(pt_translate(f->mem, f->size, cr3, va, &w));
		assert_int_equal(w.pa, va);
		assert_true(w.writable);
		assert_true(w.nx);
		/* the leaf: walk by hand for its cache bits */
		pt = (uint64_t *)(void *)(f->mem + (((uint64_t *)(void *)(f->mem + cr3))[(va >> 39) & 511] & PTE_ADDR_MASK));
		pt = (uint64_t *)(void *)(f->mem + (pt[(va >> 30) & 511] & PTE_ADDR_MASK));
		pt = (uint64_t *)(void *)(f->mem + (pt[(va >> 21) & 511] & PTE_ADDR_MASK));
		assert_int_equal(pt[(va >> 12) & 511] & (PTE_PCD | PTE_PWT), PTE_PCD | PTE_PWT);
	}
	assert_false(pt_translate(f->mem, f->size, f->pt_base, end, &w)); /* nothing past the window */
	/* RAM keeps write-back caching */
	{
		uint64_t *pt = (uint64_t *)(void *)(f->mem + (((uint64_t *)(void *)(f->mem + f->pt_base))[0] & PTE_ADDR_MASK));

		pt = (uint64_t *)(void *)(f->mem + (pt[0] & PTE_ADDR_MASK));
		pt = (uint64_t *)(void *)(f->mem + (pt[0] & PTE_ADDR_MASK));
		assert_int_equal(pt[2] & (PTE_PCD | PTE_PWT), 0);
	}
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
		cmocka_unit_test(test_pt_translate_agrees_with_a_reference_walk),
		cmocka_unit_test(test_pt_leaves_page_zero_and_guard_pages_unmapped),
		cmocka_unit_test(test_pt_tables_are_mapped_read_only_and_inside_their_area),
		cmocka_unit_test(test_pt_rejects_overlapping_or_unaligned_ranges),
		cmocka_unit_test(test_pt_fails_cleanly_when_too_few_pages_reserved),
		cmocka_unit_test(test_pt_maps_a_device_window_past_memory_uncached),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
