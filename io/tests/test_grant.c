// SPDX-License-Identifier: MIT
/* Unit tests of the backend's grant checks, on a plain buffer standing in for guest memory. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "grant.h"

#define PAGE 4096u
#define MEM_PAGES 64u
#define TABLE_GPA (16u * PAGE) /* one frame: 512 entries */
#define FREE_GPA (8u * PAGE)   /* the table must lie at or above this */
#define OTHER_DOMID 7

static uint8_t *mem;
static struct grant_table gt;

static int setup(void **state)
{
	(void)state;
	mem = aligned_alloc(PAGE, MEM_PAGES * PAGE);
	memset(mem, 0, MEM_PAGES * PAGE);
	assert_int_equal(grant_table_init(&gt, mem, MEM_PAGES * PAGE, FREE_GPA, XENITH_BACKEND_DOMID), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	grant_table_fini(&gt);
	free(mem);
	return 0;
}

static struct grant_entry_v1 *entry(grant_ref_t ref)
{
	return (struct grant_entry_v1 *)(void *)(mem + TABLE_GPA) + ref;
}

/* The guest's side of granting, in the documented order. */
static void grant(grant_ref_t ref, uint16_t domid, uint32_t frame, bool readonly)
{
	struct grant_entry_v1 *e = entry(ref);

	e->frame = frame;
	e->domid = domid;
	__atomic_store_n(&e->flags, (uint16_t)(GTF_permit_access | (readonly ? GTF_readonly : 0)),
			 __ATOMIC_RELEASE);
}

/* The guest's ungrant: fails while the backend has the page in use. */
static bool ungrant(grant_ref_t ref)
{
	struct grant_entry_v1 *e = entry(ref);
	uint16_t flags = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);

	if (flags & (GTF_reading | GTF_writing))
		return false;
	return __atomic_compare_exchange_n(&e->flags, &flags, 0, false, __ATOMIC_ACQ_REL,
					   __ATOMIC_ACQUIRE);
}

static void set_table(void)
{
	assert_int_equal(grant_table_set(&gt, TABLE_GPA, 1), 0);
}

static void test_no_table_means_no_access(void **state)
{
	struct grant_map m;

	(void)state;
	assert_int_equal(grant_map(&gt, 8, false, &m), -ENOENT);
	assert_null(m.page);
}

static void test_table_placement_is_checked(void **state)
{
	(void)state;
	assert_int_equal(grant_table_set(&gt, TABLE_GPA + 8, 1), -EINVAL);      /* not page-aligned */
	assert_int_equal(grant_table_set(&gt, TABLE_GPA, 0), -EINVAL);
	assert_int_equal(grant_table_set(&gt, TABLE_GPA, XENITH_GNTTAB_MAX_FRAMES + 1), -EINVAL);
	assert_int_equal(grant_table_set(&gt, 0, 1), -EFAULT);                  /* builder pages */
	assert_int_equal(grant_table_set(&gt, (MEM_PAGES - 1) * PAGE, 2), -EFAULT); /* past the end */
	assert_int_equal(grant_table_set(&gt, UINT64_MAX & ~4095ull, 1), -EFAULT);
	set_table();
	assert_int_equal(grant_table_set(&gt, TABLE_GPA, 1), -EBUSY);          /* once per boot */
}

static void test_granted_page_is_reachable_for_reading_and_writing(void **state)
{
	struct grant_map m;

	(void)state;
	set_table();
	memcpy(mem + 40 * PAGE, "guest data", 11);
	grant(8, XENITH_BACKEND_DOMID, 40, false);
	assert_int_equal(grant_map(&gt, 8, false, &m), 0);
	assert_ptr_equal(m.page, mem + 40 * PAGE);
	assert_string_equal((char *)m.page, "guest data");
	assert_true(entry(8)->flags & GTF_reading); /* in use while mapped */
	assert_false(ungrant(8));                   /* so the guest cannot take it back */
	grant_unmap(&gt, &m);
	assert_false(entry(8)->flags & GTF_reading);
	assert_int_equal(grant_map(&gt, 8, true, &m), 0);
	memcpy(m.page, "backend", 8);
	grant_unmap(&gt, &m);
	assert_string_equal((char *)mem + 40 * PAGE, "backend");
	assert_true(ungrant(8));
}

static void test_every_bad_entry_is_refused(void **state)
{
	struct grant_map m;
	uint64_t denied;

	(void)state;
	set_table();
	denied = atomic_load(&gt.nr_denied);
	assert_int_equal(grant_map(&gt, 3, false, &m), -ENOENT);   /* reserved ref */
	assert_int_equal(grant_map(&gt, 512, false, &m), -ENOENT); /* past the table */
	assert_int_equal(grant_map(&gt, UINT32_MAX, false, &m), -ENOENT);
	assert_int_equal(grant_map(&gt, 9, false, &m), -EPERM);    /* never granted */
	grant(10, OTHER_DOMID, 40, false);
	assert_int_equal(grant_map(&gt, 10, false, &m), -EPERM);   /* granted to another domain */
	grant(11, XENITH_BACKEND_DOMID, 40, true);
	assert_int_equal(grant_map(&gt, 11, true, &m), -EPERM);    /* read-only, asked to write */
	assert_int_equal(grant_map(&gt, 11, false, &m), 0);        /* but reading is fine */
	grant_unmap(&gt, &m);
	grant(12, XENITH_BACKEND_DOMID, MEM_PAGES, false);
	assert_int_equal(grant_map(&gt, 12, false, &m), -EFAULT);  /* frame outside memory */
	assert_false(entry(12)->flags & GTF_reading);              /* and not left marked in use */
	grant(13, XENITH_BACKEND_DOMID, UINT32_MAX, false);
	assert_int_equal(grant_map(&gt, 13, true, &m), -EFAULT);
	entry(14)->frame = 40;
	entry(14)->domid = XENITH_BACKEND_DOMID;
	entry(14)->flags = 2; /* a grant type other than permit_access (v1 transfer) */
	assert_int_equal(grant_map(&gt, 14, false, &m), -EPERM);
	assert_null(m.page);
	assert_int_equal(atomic_load(&gt.nr_denied) - denied, 9); /* the nine refusals above */
}

static void test_nested_uses_release_the_entry_only_at_the_last(void **state)
{
	struct grant_map a, b;

	(void)state;
	set_table();
	grant(20, XENITH_BACKEND_DOMID, 41, false);
	assert_int_equal(grant_map(&gt, 20, false, &a), 0);
	assert_int_equal(grant_map(&gt, 20, true, &b), 0);
	assert_int_equal(entry(20)->flags & (GTF_reading | GTF_writing), GTF_reading | GTF_writing);
	grant_unmap(&gt, &a);
	assert_false(ungrant(20)); /* still written to */
	grant_unmap(&gt, &b);
	assert_int_equal(entry(20)->flags, GTF_permit_access);
	assert_true(ungrant(20));
	/* ungranted: no more access */
	assert_int_equal(grant_map(&gt, 20, false, &a), -EPERM);
}

static void test_grant_copy_batch_reports_each_status(void **state)
{
	char out[16] = "", in[] = "to the guest";
	struct grant_copy_op ops[] = {
		{ .dir = GRANT_FROM_GUEST, .ref = 30, .offset = 100, .len = 6, .buf = out },
		{ .dir = GRANT_TO_GUEST, .ref = 31, .offset = 4091, .len = 6, .buf = in },
		{ .dir = GRANT_TO_GUEST, .ref = 32, .offset = 0, .len = 13, .buf = in },
		{ .dir = GRANT_TO_GUEST, .ref = 30, .offset = 4095, .len = 2, .buf = in },
		{ .dir = GRANT_TO_GUEST, .ref = 31, .offset = 0, .len = 13, .buf = in },
	};

	(void)state;
	set_table();
	memcpy(mem + 42 * PAGE + 100, "hello!", 6);
	grant(30, XENITH_BACKEND_DOMID, 42, true);
	grant(31, XENITH_BACKEND_DOMID, 43, false);
	assert_int_equal(grant_copy(&gt, ops, 5), 3);
	assert_int_equal(ops[0].status, 0);
	assert_memory_equal(out, "hello!", 6);
	assert_int_equal(ops[1].status, -EINVAL); /* crosses the page end */
	assert_int_equal(ops[2].status, -EPERM);  /* ref 32 not granted */
	assert_int_equal(ops[3].status, -EINVAL);
	assert_int_equal(ops[4].status, 0);
	assert_string_equal((char *)mem + 43 * PAGE, "to the guest");
	/* nothing stays in use after the batch */
	assert_int_equal(entry(30)->flags, GTF_permit_access | GTF_readonly);
	assert_int_equal(entry(31)->flags, GTF_permit_access);
}

static void test_frames_the_guest_maps_read_only_are_never_written(void **state)
{
	uint64_t ro[1] = { 1ull << 44 | 1ull << 45 }; /* frames 44 and 45: say, its page tables */
	char in[] = "overwrite", out[4];
	struct grant_copy_op ops[] = {
		{ .dir = GRANT_TO_GUEST, .ref = 50, .offset = 0, .len = 9, .buf = in },
		{ .dir = GRANT_FROM_GUEST, .ref = 50, .offset = 0, .len = 4, .buf = out },
		{ .dir = GRANT_TO_GUEST, .ref = 52, .offset = 0, .len = 9, .buf = in },
	};
	struct grant_map m;

	(void)state;
	set_table();
	grant_table_protect(&gt, ro);
	memcpy(mem + 44 * PAGE, "PT!", 4);
	grant(50, XENITH_BACKEND_DOMID, 44, false); /* granted writable, but the frame is not */
	grant(51, XENITH_BACKEND_DOMID, 45, false);
	grant(52, XENITH_BACKEND_DOMID, 46, false);
	assert_int_equal(grant_map(&gt, 51, true, &m), -EPERM);
	assert_int_equal(entry(51)->flags, GTF_permit_access); /* not left in use */
	assert_int_equal(grant_copy(&gt, ops, 3), 1);
	assert_int_equal(ops[0].status, -EPERM);
	assert_int_equal(ops[1].status, 0);     /* reading it is fine */
	assert_memory_equal(out, "PT!", 4);
	assert_int_equal(ops[2].status, 0);     /* and the frame next to it is writable */
	assert_string_equal((char *)mem + 44 * PAGE, "PT!");
	assert_int_equal(entry(50)->flags, GTF_permit_access);
	/* Mapped for reading first, then asked for writing: still no. */
	assert_int_equal(grant_map(&gt, 50, false, &m), 0);
	{
		struct grant_map w;

		assert_int_equal(grant_map(&gt, 50, true, &w), -EPERM);
	}
	grant_unmap(&gt, &m);
	assert_true(ungrant(50));
}

static void test_large_batch_spans_several_lock_rounds(void **state)
{
	enum { N = 200 };
	static struct grant_copy_op ops[N];
	static uint32_t vals[N];

	(void)state;
	set_table();
	for (unsigned i = 0; i < N; i++) {
		grant_ref_t ref = 8 + i % 100;

		grant(ref, XENITH_BACKEND_DOMID, 20 + i % 10, false);
		vals[i] = i * 2654435761u;
		ops[i] = (struct grant_copy_op){ .dir = GRANT_TO_GUEST, .ref = ref, .offset = 4 * i,
						 .len = 4, .buf = &vals[i] };
	}
	assert_int_equal(grant_copy(&gt, ops, N), 0);
	for (unsigned i = 0; i < N; i++) {
		uint32_t v;

		memcpy(&v, mem + (20 + i % 10) * PAGE + 4 * i, 4);
		assert_int_equal(v, vals[i]);
	}
	for (unsigned r = 8; r < 108; r++)
		assert_int_equal(entry(r)->flags, GTF_permit_access);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_no_table_means_no_access, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_placement_is_checked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_granted_page_is_reachable_for_reading_and_writing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_bad_entry_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nested_uses_release_the_entry_only_at_the_last,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_grant_copy_batch_reports_each_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_batch_spans_several_lock_rounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_frames_the_guest_maps_read_only_are_never_written, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
