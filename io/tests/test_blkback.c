// SPDX-License-Identifier: MIT
/* Unit tests of the block backend's request checks (blkback_check_request). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "blkback.h"

#define DISK 1000u /* sectors */

static struct blkif_request rw(uint8_t op, uint64_t sector, unsigned nsegs)
{
	struct blkif_request r;

	memset(&r, 0, sizeof(r));
	r.operation = op;
	r.sector_number = sector;
	r.nr_segments = (uint8_t)nsegs;
	for (unsigned i = 0; i < nsegs && i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++)
		r.seg[i] = (struct blkif_request_segment){ .gref = 8 + i, .first_sect = 0, .last_sect = 7 };
	return r;
}

static void test_valid_reads_and_writes_count_their_sectors(void **state)
{
	struct blkif_request r = rw(BLKIF_OP_READ, 0, 11);
	uint64_t n;

	(void)state;
	assert_int_equal(blkback_check_request(&r, DISK, false, &n), BLKIF_RSP_OKAY);
	assert_int_equal(n, 88);
	r = rw(BLKIF_OP_WRITE, DISK - 8, 1); /* the last page of the disk */
	assert_int_equal(blkback_check_request(&r, DISK, false, &n), BLKIF_RSP_OKAY);
	assert_int_equal(n, 8);
	r.seg[0].first_sect = 3;
	r.seg[0].last_sect = 3;
	assert_int_equal(blkback_check_request(&r, DISK, false, &n), BLKIF_RSP_OKAY);
	assert_int_equal(n, 1);
}

static void test_ranges_past_the_disk_are_refused_without_overflow(void **state)
{
	struct blkif_request r = rw(BLKIF_OP_READ, DISK - 7, 1);
	uint64_t n = 99;

	(void)state;
	assert_int_equal(blkback_check_request(&r, DISK, false, &n), BLKIF_RSP_ERROR);
	assert_int_equal(n, 0);
	r.sector_number = DISK;
	assert_int_equal(blkback_check_request(&r, DISK, false, &n), BLKIF_RSP_ERROR);
	r.sector_number = UINT64_MAX - 3; /* sector + count would wrap to a small number */
	assert_int_equal(blkback_check_request(&r, DISK, false, &n), BLKIF_RSP_ERROR);
}

static void test_segment_counts_and_bounds_are_checked(void **state)
{
	struct blkif_request r = rw(BLKIF_OP_READ, 0, 0);
	uint64_t n;

	(void)state;
	assert_int_equal(blkback_check_request(&r, DISK, false, &n), BLKIF_RSP_ERROR); /* no segments */
	r = rw(BLKIF_OP_READ, 0, 11);
	r.nr_segments = 12;
	assert_int_equal(blkback_check_request(&r, DISK, false, &n), BLKIF_RSP_ERROR);
	r.nr_segments = 255;
	assert_int_equal(blkback_check_request(&r, DISK, false, &n), BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_READ, 0, 2);
	r.seg[1].first_sect = 6;
	r.seg[1].last_sect = 5;
	assert_int_equal(blkback_check_request(&r, DISK, false, &n), BLKIF_RSP_ERROR);
	r.seg[1].first_sect = 0;
	r.seg[1].last_sect = 8; /* a page has sectors 0..7 */
	assert_int_equal(blkback_check_request(&r, DISK, false, &n), BLKIF_RSP_ERROR);
}

static void test_read_only_disks_refuse_writes_and_discards(void **state)
{
	struct blkif_request r = rw(BLKIF_OP_WRITE, 0, 1);
	struct blkif_request_discard d = { .operation = BLKIF_OP_DISCARD, .sector_number = 8, .nr_sectors = 8 };
	uint64_t n;

	(void)state;
	assert_int_equal(blkback_check_request(&r, DISK, true, &n), BLKIF_RSP_ERROR);
	r.operation = BLKIF_OP_READ;
	assert_int_equal(blkback_check_request(&r, DISK, true, &n), BLKIF_RSP_OKAY);
	assert_int_equal(blkback_check_request((struct blkif_request *)&d, DISK, true, &n), BLKIF_RSP_ERROR);
	assert_int_equal(blkback_check_request((struct blkif_request *)&d, DISK, false, &n), BLKIF_RSP_OKAY);
	assert_int_equal(n, 8);
	d.nr_sectors = 0;
	assert_int_equal(blkback_check_request((struct blkif_request *)&d, DISK, false, &n), BLKIF_RSP_ERROR);
	d.nr_sectors = UINT64_MAX;
	assert_int_equal(blkback_check_request((struct blkif_request *)&d, DISK, false, &n), BLKIF_RSP_ERROR);
}

static void test_flush_is_always_fine_and_unknown_ops_are_unsupported(void **state)
{
	struct blkif_request r = rw(BLKIF_OP_FLUSH_DISKCACHE, UINT64_MAX, 200);
	uint64_t n;

	(void)state;
	assert_int_equal(blkback_check_request(&r, DISK, true, &n), BLKIF_RSP_OKAY);
	r.operation = 2; /* BLKIF_OP_WRITE_BARRIER: not offered */
	assert_int_equal(blkback_check_request(&r, DISK, false, &n), BLKIF_RSP_EOPNOTSUPP);
	r.operation = 255;
	assert_int_equal(blkback_check_request(&r, DISK, false, &n), BLKIF_RSP_EOPNOTSUPP);
}

/* The ring refuses what the backend never submits: io_uring is not under seccomp. */
static void test_the_ring_refuses_other_operations_and_unregistered_files(void **state)
{
	char path[] = "/tmp/xenith-blkback-ring-XXXXXX", msg[256];
	struct blkback_config cfg = { .path = path, .direct = false };
	struct blkback *b;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	close(fd);
	if (blkback_open(&cfg, &b, msg, sizeof(msg)) < 0)
		fail_msg("%s", msg);
	unlink(path);
	assert_int_equal(blkback_test_op(b, IORING_OP_READ, true), 512);
	assert_int_equal(blkback_test_op(b, IORING_OP_OPENAT, false), -EACCES);
	assert_int_equal(blkback_test_op(b, IORING_OP_READ, false), -EACCES);
	assert_int_equal(blkback_test_op(b, IORING_OP_FSYNC, true), 0);
	blkback_close(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_reads_and_writes_count_their_sectors),
		cmocka_unit_test(test_ranges_past_the_disk_are_refused_without_overflow),
		cmocka_unit_test(test_segment_counts_and_bounds_are_checked),
		cmocka_unit_test(test_read_only_disks_refuse_writes_and_discards),
		cmocka_unit_test(test_flush_is_always_fine_and_unknown_ops_are_unsupported),
		cmocka_unit_test(test_the_ring_refuses_other_operations_and_unregistered_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
