// SPDX-License-Identifier: MIT
/*
 * Unit tests of the block backend: its request checks (blkback_check_request),
 * its io_uring restrictions, and that it serves the request it copied out of
 * the ring when the guest rewrites the slot.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cmocka.h>

#include "blkback.h"
#include "testutil.h"

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

/*
 * A hostile frontend rewrites a request in the ring while the backend is
 * in the middle of serving it: the backend must act on the copy it took
 * (ring.h [C3]), never read the slot again.  The moment is made exact with
 * userfaultfd: the request's data page is not there yet, so the backend's
 * grant copy of it (after the request was taken and checked, before the
 * I/O for a write, before the response for a read) stops on a page fault;
 * the fault handler rewrites the slot into a different request (other id,
 * operation, sector and page), then lets the copy go on.
 */
#define G_PAGES 16u
#define G_MIN (8u * 4096u)        /* builder pages below: no table there */
#define G_TABLE 8u                /* frame of the grant table (one frame) */
#define G_RING 9u                 /* frame of the ring page, granted as ref 8 */
#define G_DATA 10u                /* frame the requests name (ref 9), missing until the fault */
#define G_DECOY 11u               /* frame the rewritten request names (ref 10) */
#define REF_RING 8u
#define REF_DATA 9u
#define REF_DECOY 10u
#define DISK_BYTES (64u * 4096u)

struct tocttou {
	uint8_t *mem;             /* "guest memory" */
	struct grant_table gt;
	struct blkif_sring *sring;
	struct blkif_front front;
	struct blkback *b;
	char path[64];
	int disk_fd, uffd, done_fd; /* done_fd: an eventfd the backend's notify writes */
	pthread_t handler;
	bool handler_started, gt_ready;
	atomic_bool handler_stop;
	uint8_t resolve_with[4096]; /* the data page's content, given when it is first touched */
	struct blkif_request hostile; /* what the slot becomes at the fault */
	unsigned slot;            /* which ring slot to rewrite */
	atomic_uint faults;
};

static struct tocttou T;

static void tocttou_notify(void *opaque)
{
	uint64_t one = 1;

	(void)opaque;
	if (write(T.done_fd, &one, sizeof(one)) < 0) {
		/* the counter is far from saturating */
	}
}

/* The fault handler: on the data page's first touch, rewrite the slot, then supply the page. */
static void *tocttou_handler(void *arg)
{
	(void)arg;
	while (!atomic_load(&T.handler_stop)) {
		struct pollfd pfd = { .fd = T.uffd, .events = POLLIN };
		struct uffd_msg msg;
		struct uffdio_copy copy;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if (read(T.uffd, &msg, sizeof(msg)) != sizeof(msg) || msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		memcpy(&T.sring->slot[T.slot].req, &T.hostile, sizeof(T.hostile));
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		atomic_fetch_add(&T.faults, 1);
		copy = (struct uffdio_copy){ .dst = (uintptr_t)(T.mem + G_DATA * 4096ull),
					     .src = (uintptr_t)T.resolve_with, .len = 4096 };
		if (ioctl(T.uffd, UFFDIO_COPY, &copy) < 0 && errno != EEXIST)
			return "UFFDIO_COPY failed";
	}
	return NULL;
}

static void grant_ref(grant_ref_t ref, uint32_t frame)
{
	struct grant_entry_v1 *e = (struct grant_entry_v1 *)(void *)(T.mem + G_TABLE * 4096ull) + ref;

	e->frame = frame;
	e->domid = XENITH_BACKEND_DOMID;
	__atomic_store_n(&e->flags, (uint16_t)GTF_permit_access, __ATOMIC_RELEASE);
}

static int tocttou_setup(void **state)
{
	struct blkback_config cfg = { .mode = XENITH_DISK_MODE_EXIT };
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;
	char msg[256];

	(void)state;
	memset(&T, 0, sizeof(T));
	T.disk_fd = T.uffd = T.done_fd = -1;
	T.mem = mmap(NULL, G_PAGES * 4096ull, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(T.mem != MAP_FAILED);
	madvise(T.mem, G_PAGES * 4096ull, MADV_NOHUGEPAGE);
	/* a user-mode-only handler needs no privilege; older kernels know only the plain one */
	T.uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (T.uffd < 0)
		T.uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (T.uffd < 0 || ioctl(T.uffd, UFFDIO_API, &api) < 0)
		return 0; /* the test skips, saying why */
	reg = (struct uffdio_register){ .range = { (uintptr_t)(T.mem + G_DATA * 4096ull), 4096 },
					.mode = UFFDIO_REGISTER_MODE_MISSING };
	assert_int_equal(ioctl(T.uffd, UFFDIO_REGISTER, &reg), 0);

	snprintf(T.path, sizeof(T.path), "/tmp/xenith-blkback-tocttou-XXXXXX");
	T.disk_fd = mkstemp(T.path);
	assert_true(T.disk_fd >= 0);
	for (unsigned off = 0; off < DISK_BYTES; off += 4096) /* sector s holds the byte (s & 0xff) */ {
		uint8_t page[4096];

		for (unsigned i = 0; i < 4096; i++)
			page[i] = (uint8_t)((off + i) / 512);
		assert_int_equal(pwrite(T.disk_fd, page, 4096, off), 4096);
	}
	cfg.path = T.path;
	if (blkback_open(&cfg, &T.b, msg, sizeof(msg)) < 0)
		fail_msg("%s", msg);
	unlink(T.path); /* both hold it open: nothing is left behind, even if the test is killed */
	T.path[0] = 0;
	T.done_fd = eventfd(0, EFD_CLOEXEC);
	assert_true(T.done_fd >= 0);

	assert_int_equal(grant_table_init(&T.gt, T.mem, G_PAGES * 4096ull, G_MIN, XENITH_BACKEND_DOMID), 0);
	T.gt_ready = true;
	assert_int_equal(grant_table_set(&T.gt, G_TABLE * 4096ull, 1), 0);
	grant_ref(REF_RING, G_RING);
	grant_ref(REF_DATA, G_DATA);
	grant_ref(REF_DECOY, G_DECOY);
	memset(T.mem + G_DECOY * 4096ull, 0x5c, 4096);
	T.sring = (struct blkif_sring *)(void *)(T.mem + G_RING * 4096ull);
	blkif_sring_init(T.sring);
	blkif_front_init(&T.front, T.sring);
	assert_int_equal(blkback_connect(T.b, &T.gt, REF_RING, false, tocttou_notify, NULL), 0);
	assert_int_equal(pthread_create(&T.handler, NULL, tocttou_handler, NULL), 0);
	T.handler_started = true;
	return 0;
}

static int tocttou_teardown(void **state)
{
	(void)state;
	if (T.handler_started) {
		atomic_store(&T.handler_stop, true);
		pthread_join(T.handler, NULL);
	}
	/* Closing it wakes a backend thread still waiting on the fault (a failed test): it goes on. */
	if (T.uffd >= 0)
		close(T.uffd);
	if (T.b)
		blkback_close(T.b); /* stops and joins the backend thread */
	if (T.gt_ready)
		grant_table_fini(&T.gt);
	if (T.done_fd >= 0)
		close(T.done_fd);
	if (T.disk_fd >= 0)
		close(T.disk_fd);
	if (T.path[0])
		unlink(T.path);
	if (T.mem && T.mem != MAP_FAILED)
		munmap(T.mem, G_PAGES * 4096ull);
	return 0;
}

/* Publishes r, kicks the backend, and waits (30 s at most) for its response. */
static struct blkif_response tocttou_submit(const struct blkif_request *r)
{
	struct pollfd pfd = { .fd = T.done_fd, .events = POLLIN };
	struct blkif_response rsp;
	uint64_t one = 1, got;

	T.slot = T.front.req_prod_pvt & 31;
	*blkif_front_next_req(&T.front) = *r;
	T.front.req_prod_pvt++;
	blkif_front_push(&T.front);
	assert_int_equal(write(blkback_kick_fd(T.b), &one, sizeof(one)), sizeof(one));
	while (!blkif_front_pending_rsps(&T.front)) {
		if (poll(&pfd, 1, 30000) != 1)
			fail_msg("no response within 30 s");
		assert_int_equal(read(T.done_fd, &got, sizeof(got)), sizeof(got));
	}
	blkif_front_take_rsp(&T.front, &rsp);
	return rsp;
}

static struct blkif_request one_page(uint8_t op, uint64_t id, uint64_t sector, grant_ref_t ref)
{
	struct blkif_request r;

	memset(&r, 0, sizeof(r));
	r.operation = op;
	r.nr_segments = 1;
	r.id = id;
	r.sector_number = sector;
	r.seg[0] = (struct blkif_request_segment){ .gref = ref, .first_sect = 0, .last_sect = 7 };
	return r;
}

static void expect_disk_sectors_untouched(uint64_t sector)
{
	uint8_t page[4096];

	assert_int_equal(pread(T.disk_fd, page, 4096, (off_t)sector * 512), 4096);
	for (unsigned i = 0; i < 4096; i++)
		if (page[i] != (uint8_t)(sector + i / 512))
			fail_msg("sector %llu was written to", (unsigned long long)(sector + i / 512));
}

static void expect_decoy_untouched(void)
{
	for (unsigned i = 0; i < 4096; i++)
		if (T.mem[G_DECOY * 4096ull + i] != 0x5c)
			fail_msg("the page the rewritten request names was written to (byte %u)", i);
}

/* A write: rewritten after it was checked, before its data reaches the disk. */
static void test_a_write_rewritten_in_the_ring_is_served_as_taken(void **state)
{
	struct blkif_request w = one_page(BLKIF_OP_WRITE, 0x1111, 8, REF_DATA);
	struct blkif_response rsp;
	uint8_t page[4096];

	(void)state;
	if (T.uffd < 0)
		SKIP_BECAUSE("userfaultfd is not available here (vm.unprivileged_userfaultfd=0 and no "
			     "UFFD_USER_MODE_ONLY, or no kernel support)");
	memset(T.resolve_with, 0xd7, sizeof(T.resolve_with)); /* the data the guest wrote */
	T.hostile = one_page(BLKIF_OP_READ, 0x6666, 40, REF_DECOY);
	rsp = tocttou_submit(&w);
	assert_int_equal(atomic_load(&T.faults), 1); /* the rewrite happened mid-request */
	assert_int_equal(rsp.id, 0x1111);
	assert_int_equal(rsp.operation, BLKIF_OP_WRITE);
	assert_int_equal(rsp.status, BLKIF_RSP_OKAY);
	assert_int_equal(pread(T.disk_fd, page, 4096, 8 * 512), 4096);
	for (unsigned i = 0; i < 4096; i++)
		if (page[i] != 0xd7)
			fail_msg("sector 8 byte %u: 0x%02x, not the data of the write as taken", i, page[i]);
	expect_disk_sectors_untouched(40);
	expect_decoy_untouched();
}

/* A read: rewritten after its I/O, while its data is copied to the guest, before the response. */
static void test_a_read_rewritten_in_the_ring_is_answered_as_taken(void **state)
{
	struct blkif_request r = one_page(BLKIF_OP_READ, 0x2222, 16, REF_DATA);
	struct blkif_response rsp;

	(void)state;
	if (T.uffd < 0)
		SKIP_BECAUSE("userfaultfd is not available here (vm.unprivileged_userfaultfd=0 and no "
			     "UFFD_USER_MODE_ONLY, or no kernel support)");
	memset(T.resolve_with, 0, sizeof(T.resolve_with));
	T.hostile = one_page(BLKIF_OP_WRITE, 0x7777, 48, REF_DECOY);
	rsp = tocttou_submit(&r);
	assert_int_equal(atomic_load(&T.faults), 1);
	assert_int_equal(rsp.id, 0x2222);
	assert_int_equal(rsp.operation, BLKIF_OP_READ);
	assert_int_equal(rsp.status, BLKIF_RSP_OKAY);
	for (unsigned i = 0; i < 4096; i++)
		if (T.mem[G_DATA * 4096ull + i] != (uint8_t)(16 + i / 512))
			fail_msg("byte %u of the page read: 0x%02x, not sector %u of the disk", i,
				 T.mem[G_DATA * 4096ull + i], 16 + i / 512);
	expect_disk_sectors_untouched(48);
	expect_decoy_untouched();
}

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_reads_and_writes_count_their_sectors),
		cmocka_unit_test(test_ranges_past_the_disk_are_refused_without_overflow),
		cmocka_unit_test(test_segment_counts_and_bounds_are_checked),
		cmocka_unit_test(test_read_only_disks_refuse_writes_and_discards),
		cmocka_unit_test(test_flush_is_always_fine_and_unknown_ops_are_unsupported),
		cmocka_unit_test(test_the_ring_refuses_other_operations_and_unregistered_files),
		cmocka_unit_test_setup_teardown(test_a_write_rewritten_in_the_ring_is_served_as_taken,
						tocttou_setup, tocttou_teardown),
		cmocka_unit_test_setup_teardown(test_a_read_rewritten_in_the_ring_is_answered_as_taken,
						tocttou_setup, tocttou_teardown),
	};

	return TEST_RUN_GROUP(tests, NULL, NULL);
}
