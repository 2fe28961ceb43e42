// SPDX-License-Identifier: MIT
/*
 * Unit tests of the block backend's quiesce, resume and restored connect
 * (io/blkback.h), on plain memory standing in for a guest's (a grant
 * table, a ring page, data pages) and a file as the disk:
 *  - a quiesce with requests in flight returns only once their responses
 *    are published, in every kick mode;
 *  - a quiesced backend takes no request, even when kicked, and takes it
 *    once resumed;
 *  - a quiesce lets go of persistent grants (the guest's entries lose
 *    GTF_reading/GTF_writing), the ring's own excepted;
 *  - a quiesce that cannot finish in time fails naming the disk, queue and
 *    requests in flight, and the backend goes on;
 *  - a backend attached to a ring in use goes on from the saved indices,
 *    and refuses indices that do not fit the ring.
 * Requests are held in flight exactly where a test needs it with
 * userfaultfd: a read's data page is missing, so the backend's copy of the
 * data to the guest stops on the fault until the handler supplies the page.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
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
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "blkback.h"
#include "testutil.h"

#define PAGE 4096u
#define G_PAGES 32u
#define G_MIN (8u * PAGE)          /* builder pages below: no table there */
#define G_TABLE 8u                 /* frame of the grant table (one frame) */
#define G_RING 9u                  /* the ring page, granted as REF_RING */
#define G_SLOW 10u                 /* a data page missing until the fault handler supplies it */
#define G_DATA(i) (11u + (i))      /* data pages 0..7 */
#define REF_RING 8u
#define REF_SLOW 9u
#define REF_DATA(i) (10u + (i))
#define NR_DATA 8u
#define DISK_BYTES (64u * PAGE)
#define WAIT_MS 10000              /* for what must happen: generous, the test fails only when it does not */
#define QUIET_MS 200               /* for what must not happen */

struct params {
	uint32_t mode;
	bool persistent;
};

static const struct params p_exit = { XENITH_DISK_MODE_EXIT, false };
static const struct params p_ioeventfd = { XENITH_DISK_MODE_IOEVENTFD, false };
static const struct params p_poll = { XENITH_DISK_MODE_POLL, false };
static const struct params p_persistent = { XENITH_DISK_MODE_EXIT, true };

static struct {
	uint8_t *mem;              /* "guest memory" */
	struct grant_table gt;
	bool gt_ready;
	struct blkif_sring *sring;
	struct blkif_front front;
	struct blkback *b, *b2;    /* b2: the backend a restore attaches */
	char path[64];
	int disk_fd, uffd;
	pthread_t handler;
	bool handler_started;
	atomic_bool handler_stop, release;
	atomic_uint faults, notifies;
	atomic_uint hold_ms;       /* how long the handler holds a fault; 0: until release */
} Q;

static void notify(void *opaque)
{
	(void)opaque;
	atomic_fetch_add(&Q.notifies, 1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The fault handler: holds each fault (hold_ms, or until release), then supplies a zero page. */
static void *handler(void *arg)
{
	static uint8_t zero[PAGE];

	(void)arg;
	while (!atomic_load(&Q.handler_stop)) {
		struct pollfd pfd = { .fd = Q.uffd, .events = POLLIN };
		struct uffd_msg msg;
		struct uffdio_copy copy;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if (read(Q.uffd, &msg, sizeof(msg)) != sizeof(msg) || msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		atomic_fetch_add(&Q.faults, 1);
		for (unsigned t = 0; !atomic_load(&Q.handler_stop); t += 10) {
			unsigned hold = atomic_load(&Q.hold_ms);

			if (hold ? t >= hold : atomic_load(&Q.release))
				break;
			sleep_ms(10);
		}
		copy = (struct uffdio_copy){ .dst = (uintptr_t)(Q.mem + G_SLOW * PAGE),
					     .src = (uintptr_t)zero, .len = PAGE };
		if (ioctl(Q.uffd, UFFDIO_COPY, &copy) < 0 && errno != EEXIST)
			return "UFFDIO_COPY failed";
	}
	return NULL;
}

static struct grant_entry_v1 *gentry(grant_ref_t ref)
{
	return (struct grant_entry_v1 *)(void *)(Q.mem + G_TABLE * PAGE) + ref;
}

static void grant(grant_ref_t ref, uint32_t frame)
{
	struct grant_entry_v1 *e = gentry(ref);

	e->frame = frame;
	e->domid = XENITH_BACKEND_DOMID;
	__atomic_store_n(&e->flags, (uint16_t)GTF_permit_access, __ATOMIC_RELEASE);
}

static uint16_t gflags(grant_ref_t ref)
{
	return __atomic_load_n(&gentry(ref)->flags, __ATOMIC_ACQUIRE);
}

static struct blkback *open_backend(const struct params *p)
{
	struct blkback_config cfg = { .path = Q.path, .index = 3, .queue = 1, .mode = p->mode,
				      .persistent = p->persistent };
	struct blkback *b;
	char msg[256];

	if (blkback_open(&cfg, &b, msg, sizeof(msg)) < 0)
		fail_msg("%s", msg);
	return b;
}

/* Guest memory, a disk whose sector s holds the byte s & 0xff, a ring, and a backend connected to it. */
static int setup(void **state)
{
	const struct params *p = *state;
	struct uffdio_api api = { .api = UFFD_API };

	memset(&Q, 0, sizeof(Q));
	Q.disk_fd = Q.uffd = -1;
	Q.mem = mmap(NULL, G_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(Q.mem != MAP_FAILED);
	madvise(Q.mem, G_PAGES * PAGE, MADV_NOHUGEPAGE);
	/* a user-mode-only handler needs no privilege; older kernels know only the plain one */
	Q.uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (Q.uffd < 0)
		Q.uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (Q.uffd >= 0 && ioctl(Q.uffd, UFFDIO_API, &api) < 0) {
		close(Q.uffd);
		Q.uffd = -1; /* the tests that need it skip, saying why */
	}
	if (Q.uffd >= 0) {
		struct uffdio_register reg = { .range = { (uintptr_t)(Q.mem + G_SLOW * PAGE), PAGE },
					       .mode = UFFDIO_REGISTER_MODE_MISSING };

		assert_int_equal(ioctl(Q.uffd, UFFDIO_REGISTER, &reg), 0);
	}
	snprintf(Q.path, sizeof(Q.path), "/tmp/xenith-blkback-quiesce-XXXXXX");
	Q.disk_fd = mkstemp(Q.path);
	assert_true(Q.disk_fd >= 0);
	for (unsigned off = 0; off < DISK_BYTES; off += PAGE) {
		uint8_t page[PAGE];

		for (unsigned i = 0; i < PAGE; i++)
			page[i] = (uint8_t)((off + i) / 512);
		assert_int_equal(pwrite(Q.disk_fd, page, PAGE, off), PAGE);
	}
	Q.b = open_backend(p);
	assert_int_equal(grant_table_init(&Q.gt, Q.mem, G_PAGES * PAGE, G_MIN, XENITH_BACKEND_DOMID), 0);
	Q.gt_ready = true;
	assert_int_equal(grant_table_set(&Q.gt, G_TABLE * PAGE, 1), 0);
	grant(REF_RING, G_RING);
	grant(REF_SLOW, G_SLOW);
	for (unsigned i = 0; i < NR_DATA; i++)
		grant(REF_DATA(i), G_DATA(i));
	Q.sring = (struct blkif_sring *)(void *)(Q.mem + G_RING * PAGE);
	blkif_sring_init(Q.sring);
	blkif_front_init(&Q.front, Q.sring);
	assert_int_equal(blkback_connect(Q.b, &Q.gt, REF_RING, p->persistent, notify, NULL), 0);
	if (Q.uffd >= 0) {
		assert_int_equal(pthread_create(&Q.handler, NULL, handler, NULL), 0);
		Q.handler_started = true;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	atomic_store(&Q.release, true);
	if (Q.handler_started) {
		atomic_store(&Q.handler_stop, true);
		pthread_join(Q.handler, NULL);
	}
	/* Closing it wakes a backend thread still waiting on the fault (a failed test): it goes on. */
	if (Q.uffd >= 0)
		close(Q.uffd);
	blkback_close(Q.b); /* stops and joins the backend thread */
	blkback_close(Q.b2);
	if (Q.gt_ready)
		grant_table_fini(&Q.gt);
	if (Q.disk_fd >= 0)
		close(Q.disk_fd);
	unlink(Q.path);
	if (Q.mem && Q.mem != MAP_FAILED)
		munmap(Q.mem, G_PAGES * PAGE);
	return 0;
}

/* Writes one read of the page at sector into the ring, not published yet. */
static void add_read(uint64_t id, uint64_t sector, grant_ref_t ref)
{
	struct blkif_request *r = blkif_front_next_req(&Q.front);

	memset(r, 0, sizeof(*r));
	r->operation = BLKIF_OP_READ;
	r->nr_segments = 1;
	r->id = id;
	r->sector_number = sector;
	r->seg[0] = (struct blkif_request_segment){ .gref = ref, .first_sect = 0, .last_sect = 7 };
	Q.front.req_prod_pvt++;
}

/* Writes one read into the ring and publishes it (no kick). */
static void put_read(uint64_t id, uint64_t sector, grant_ref_t ref)
{
	add_read(id, sector, ref);
	blkif_front_push(&Q.front);
}

static void kick(struct blkback *b)
{
	uint64_t one = 1;

	assert_int_equal(write(blkback_kick_fd(b), &one, sizeof(one)), sizeof(one));
}

static ring_idx_t rsp_prod(void)
{
	return __atomic_load_n(&Q.sring->h.rsp_prod, __ATOMIC_ACQUIRE);
}

/* Waits (ms at most, looking every 50 us) until the published rsp_prod reaches want; true if it did. */
static bool wait_rsp_prod(ring_idx_t want, unsigned ms)
{
	struct timespec step = { 0, 50000 };

	for (unsigned t = 0; t < ms * 20; t++) {
		if ((ring_idx_t)(rsp_prod() - want) < 0x80000000u)
			return true;
		nanosleep(&step, NULL);
	}
	return (ring_idx_t)(rsp_prod() - want) < 0x80000000u;
}

static void wait_fault(void)
{
	for (unsigned t = 0; t < WAIT_MS && !atomic_load(&Q.faults); t++)
		sleep_ms(1);
	if (!atomic_load(&Q.faults))
		fail_msg("the backend never touched the missing page: the read was not served");
}

/* The page at frame holds sector's page of the disk. */
static void expect_sector_in(uint32_t frame, uint64_t sector)
{
	for (unsigned i = 0; i < PAGE; i++)
		if (Q.mem[frame * PAGE + i] != (uint8_t)(sector + i / 512))
			fail_msg("frame %u byte %u: 0x%02x, not sector %llu's data", frame, i,
				 Q.mem[frame * PAGE + i], (unsigned long long)(sector + i / 512));
}

/* Takes the next response: its id must be id, its status OKAY. */
static void expect_rsp(uint64_t id)
{
	struct blkif_response rsp;

	assert_true(blkif_front_pending_rsps(&Q.front) > 0);
	blkif_front_take_rsp(&Q.front, &rsp);
	if (rsp.id != id || rsp.status != BLKIF_RSP_OKAY)
		fail_msg("response %u: id 0x%llx status %d, expected id 0x%llx OKAY", Q.front.rsp_cons - 1,
			 (unsigned long long)rsp.id, rsp.status, (unsigned long long)id);
}

static uint64_t requests_taken(struct blkback *b)
{
	struct blkback_stats st;

	blkback_get_stats(b, &st);
	return st.requests;
}

static void need_uffd(void)
{
	if (Q.uffd < 0)
		SKIP_BECAUSE("userfaultfd is not available here (vm.unprivileged_userfaultfd=0 and no "
			     "UFFD_USER_MODE_ONLY, or no kernel support)");
}

/*
 * Four reads in flight (published at once, so that even a polling backend
 * takes all four together), the first held 300 ms in its copy to the
 * guest: the quiesce returns only after all four responses are published
 * and the guest was notified.
 */
static void test_quiesce_returns_once_every_request_in_flight_is_answered_on_the_ring(void **state)
{
	struct blkback_ring_state rs;
	char msg[512] = "";
	ring_idx_t published;
	uint64_t seen = 0;

	(void)state;
	need_uffd();
	atomic_store(&Q.hold_ms, 300);
	add_read(0x100, 8, REF_SLOW);
	for (unsigned i = 1; i < 4; i++)
		add_read(0x100 + i, 8 * (i + 1), REF_DATA(i));
	blkif_front_push(&Q.front);
	kick(Q.b);
	wait_fault(); /* the first read is stuck in flight now */
	if (blkback_quiesce(Q.b, WAIT_MS, msg, sizeof(msg)) != 0)
		fail_msg("quiesce: %s", msg);
	published = rsp_prod(); /* right as it returned */
	assert_int_equal(published, 4);
	assert_int_equal(blkback_get_ring_state(Q.b, &rs), 0);
	assert_int_equal(rs.req_cons, 4);
	assert_int_equal(rs.rsp_prod_pvt, 4);
	assert_true(atomic_load(&Q.notifies) > 0); /* the guest asked (rsp_event 1), so it was told */
	assert_true(blkback_quiesced(Q.b));
	for (unsigned i = 0; i < 4; i++) {
		struct blkif_response rsp;

		blkif_front_take_rsp(&Q.front, &rsp);
		assert_int_equal(rsp.status, BLKIF_RSP_OKAY);
		assert_true(rsp.id >= 0x100 && rsp.id < 0x104);
		seen |= 1ull << (rsp.id - 0x100);
	}
	assert_int_equal(seen, 0xf);
	expect_sector_in(G_SLOW, 8);
	expect_sector_in(G_DATA(3), 32);
	/* Quiescing again is a no-op; resume lets it run. */
	assert_int_equal(blkback_quiesce(Q.b, WAIT_MS, msg, sizeof(msg)), 0);
	blkback_resume(Q.b);
	assert_false(blkback_quiesced(Q.b));
}

/*
 * While quiesced, a request on the ring is not taken, kick or no kick (the
 * poll thread polls no ring then); resume serves it, so a kick that came
 * while quiesced is not lost.
 */
static void test_a_quiesced_backend_takes_no_request_until_it_is_resumed(void **state)
{
	struct blkback_ring_state rs;
	char msg[512] = "";
	uint64_t taken;

	(void)state;
	put_read(0x1, 16, REF_DATA(0));
	kick(Q.b);
	assert_true(wait_rsp_prod(1, WAIT_MS));
	expect_rsp(0x1);
	if (blkback_quiesce(Q.b, WAIT_MS, msg, sizeof(msg)) != 0)
		fail_msg("quiesce: %s", msg);
	taken = requests_taken(Q.b);
	put_read(0x2, 24, REF_DATA(1));
	kick(Q.b);
	sleep_ms(QUIET_MS);
	assert_int_equal(rsp_prod(), 1);
	assert_int_equal(requests_taken(Q.b), taken);
	assert_int_equal(blkback_get_ring_state(Q.b, &rs), 0);
	assert_int_equal(rs.req_cons, 1); /* not taken: still on the ring */
	assert_int_equal(rs.rsp_prod_pvt, 1);
	assert_int_equal(rs.ring_ref, REF_RING);
	blkback_resume(Q.b);
	assert_int_equal(blkback_get_ring_state(Q.b, &rs), -EBUSY); /* running again */
	if (!wait_rsp_prod(2, WAIT_MS))
		fail_msg("the request published while quiesced was not served after resume");
	expect_rsp(0x2);
	expect_sector_in(G_DATA(1), 24);
}

/* Persistent grants: a quiesce unmaps them (the guest's flags cleared) but the ring's; resume maps again. */
static void test_quiesce_lets_go_of_persistent_grants_but_the_rings(void **state)
{
	struct blkback_stats st;
	char msg[512] = "";

	(void)state;
	put_read(0x1, 16, REF_DATA(0));
	kick(Q.b);
	assert_true(wait_rsp_prod(1, WAIT_MS));
	expect_rsp(0x1);
	blkback_get_stats(Q.b, &st);
	assert_true(st.persistent);
	assert_int_equal(st.persistent_maps, 1);
	assert_true(gflags(REF_DATA(0)) & GTF_writing); /* mapped for the connection */
	if (blkback_quiesce(Q.b, WAIT_MS, msg, sizeof(msg)) != 0)
		fail_msg("quiesce: %s", msg);
	blkback_get_stats(Q.b, &st);
	assert_int_equal(st.persistent_maps, 0);
	assert_int_equal(gflags(REF_DATA(0)) & (GTF_reading | GTF_writing), 0);
	assert_true(gflags(REF_RING) & GTF_writing); /* the ring stays mapped */
	blkback_resume(Q.b);
	put_read(0x2, 40, REF_DATA(0));
	kick(Q.b);
	assert_true(wait_rsp_prod(2, WAIT_MS));
	expect_rsp(0x2);
	expect_sector_in(G_DATA(0), 40);
	assert_true(gflags(REF_DATA(0)) & GTF_writing);
}

/* A request that does not complete: the quiesce gives up with the reason, and the backend goes on. */
static void test_a_quiesce_that_cannot_finish_in_time_fails_and_the_backend_goes_on(void **state)
{
	char msg[512] = "";
	int r;

	(void)state;
	need_uffd();
	put_read(0x7, 8, REF_SLOW); /* held until release */
	kick(Q.b);
	wait_fault();
	r = blkback_quiesce(Q.b, 300, msg, sizeof(msg));
	assert_int_equal(r, -ETIMEDOUT);
	if (!strstr(msg, "disk 3 (") || !strstr(msg, "queue 1: 1 request(s) still in flight after 300 ms"))
		fail_msg("message: %s", msg);
	assert_false(blkback_quiesced(Q.b));
	atomic_store(&Q.release, true);
	if (!wait_rsp_prod(1, WAIT_MS))
		fail_msg("the request held in flight was not answered once it completed");
	expect_rsp(0x7);
	/* Not quiesced: the next request is served without a resume. */
	put_read(0x8, 48, REF_DATA(2));
	kick(Q.b);
	if (!wait_rsp_prod(2, WAIT_MS))
		fail_msg("after a quiesce that gave up, the backend took no more requests");
	expect_rsp(0x8);
}

/* Serves n reads from the front's current position (sectors 8, 16, ...). */
static void serve_reads(struct blkback *b, unsigned n, uint64_t id0)
{
	for (unsigned i = 0; i < n; i++) {
		put_read(id0 + i, 8 * (i + 1), REF_DATA(i % NR_DATA));
		kick(b);
		assert_true(wait_rsp_prod(Q.front.req_prod_pvt, WAIT_MS));
		expect_rsp(id0 + i);
	}
}

/*
 * A second backend attached to the first's ring from its saved state:
 * quiesced until resume, then it takes the next request at the saved
 * req_cons and answers at the saved rsp_prod_pvt, leaving the earlier
 * responses alone.
 */
static void test_a_restored_ring_goes_on_from_the_saved_indices(void **state)
{
	const struct params *p = *state;
	struct blkback_ring_state rs, rs2;
	union blkif_slot before[5];
	char msg[512] = "";

	serve_reads(Q.b, 5, 0x10);
	if (blkback_quiesce(Q.b, WAIT_MS, msg, sizeof(msg)) != 0)
		fail_msg("quiesce: %s", msg);
	assert_int_equal(blkback_get_ring_state(Q.b, &rs), 0);
	assert_int_equal(rs.req_cons, 5);
	assert_int_equal(rs.rsp_prod_pvt, 5);
	blkback_disconnect(Q.b);
	memcpy(before, Q.sring->slot, sizeof(before));

	Q.b2 = open_backend(p);
	if (blkback_connect_restored(Q.b2, &Q.gt, &rs, notify, NULL, msg, sizeof(msg)) != 0)
		fail_msg("connect_restored: %s", msg);
	assert_true(blkback_quiesced(Q.b2));
	assert_int_equal(blkback_get_ring_state(Q.b2, &rs2), 0);
	assert_memory_equal(&rs, &rs2, sizeof(rs));
	put_read(0x20, 56, REF_DATA(5));
	kick(Q.b2);
	sleep_ms(QUIET_MS);
	assert_int_equal(rsp_prod(), 5); /* starts quiesced */
	assert_int_equal(requests_taken(Q.b2), 0);
	blkback_resume(Q.b2);
	if (!wait_rsp_prod(6, WAIT_MS))
		fail_msg("the restored backend did not serve the next request");
	assert_int_equal(requests_taken(Q.b2), 1); /* that one only, none of the five before */
	assert_int_equal(Q.front.rsp_cons, 5);
	expect_rsp(0x20); /* at index 5, where the guest looks next */
	expect_sector_in(G_DATA(5), 56);
	assert_memory_equal(before, Q.sring->slot, sizeof(before));
	sleep_ms(QUIET_MS);
	assert_int_equal(rsp_prod(), 6);
}

/*
 * Restore, resume and a request at once, many times over: the resume's
 * wake and the guest's kick land while a new backend thread makes its
 * first rounds (and read pause as set), which must not leave it asleep
 * with both wakes spent.
 */
static void test_a_resume_right_after_a_restored_connect_is_never_lost(void **state)
{
	const struct params *p = *state;
	struct blkback *cur = Q.b, *next;
	struct blkback_ring_state rs;
	char msg[512] = "";

	Q.b2 = open_backend(p);
	for (unsigned i = 0; i < 1500; i++) {
		if (blkback_quiesce(cur, WAIT_MS, msg, sizeof(msg)) != 0)
			fail_msg("round %u: quiesce: %s", i, msg);
		assert_int_equal(blkback_get_ring_state(cur, &rs), 0);
		blkback_disconnect(cur);
		next = cur == Q.b ? Q.b2 : Q.b;
		if (blkback_connect_restored(next, &Q.gt, &rs, notify, NULL, msg, sizeof(msg)) != 0)
			fail_msg("round %u: connect_restored: %s", i, msg);
		/* 0 to 60 us, scattered: across the new thread's first round (no timing is asserted). */
		for (uint64_t t0 = now_ns(), d = (i * 7919u) % 60000u; now_ns() - t0 < d;)
			;
		blkback_resume(next);
		put_read(i, 8 * (i % 8), REF_DATA(i % NR_DATA));
		kick(next);
		if (!wait_rsp_prod(Q.front.req_prod_pvt, WAIT_MS))
			fail_msg("round %u: the request after resume was not served: a wake-up was lost", i);
		expect_rsp(i);
		cur = next;
	}
}

/* Saved indices that do not fit the ring, or a ring grant that does not check out: refused, nothing held. */
static void test_a_restored_ring_state_that_does_not_fit_the_ring_is_refused(void **state)
{
	/* Each case: the ring's req_prod, and the good saved state (3, 3) moved by these deltas. */
	static const struct {
		const char *what, *want;
		int err;
		ring_idx_t req_prod;
		ring_idx_t d_cons, d_rsp;
		grant_ref_t ring_ref;     /* 0: the saved one */
	} cases[] = {
		{ "requests in flight", "2 request(s) taken and not answered", -EPROTO, 3, 2, 0, 0 },
		{ "indices past rsp_prod", "published rsp_prod is 3, not the saved rsp_prod_pvt 43",
		  -EPROTO, 3, 40, 40, 0 },
		{ "indices behind rsp_prod", "published rsp_prod is 3, not the saved rsp_prod_pvt 2",
		  -EPROTO, 3, (ring_idx_t)-1, (ring_idx_t)-1, 0 },
		{ "req_prod a ring and one past req_cons", "req_prod 36 is not within 32 requests past the "
		  "saved req_cons 3", -EPROTO, 3 + 33, 0, 0, 0 },
		{ "req_prod behind req_cons", "req_prod 2 is not within 32 requests", -EPROTO, 2, 0, 0, 0 },
		{ "a ring-ref the guest did not grant", "ring-ref 200: the guest's grant of its ring page "
		  "does not check out", -EPERM, 3, 0, 0, 200 },
	};
	const struct params *p = *state;
	struct blkback_ring_state good, bad;
	char msg[512] = "";

	serve_reads(Q.b, 3, 0x30);
	if (blkback_quiesce(Q.b, WAIT_MS, msg, sizeof(msg)) != 0)
		fail_msg("quiesce: %s", msg);
	assert_int_equal(blkback_get_ring_state(Q.b, &good), 0);
	blkback_disconnect(Q.b);
	Q.b2 = open_backend(p);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r;

		bad = good;
		bad.req_cons += cases[i].d_cons;
		bad.rsp_prod_pvt += cases[i].d_rsp;
		if (cases[i].ring_ref)
			bad.ring_ref = cases[i].ring_ref;
		__atomic_store_n(&Q.sring->h.req_prod, cases[i].req_prod, __ATOMIC_RELEASE);
		msg[0] = 0;
		r = blkback_connect_restored(Q.b2, &Q.gt, &bad, notify, NULL, msg, sizeof(msg));
		if (r != cases[i].err || !strstr(msg, cases[i].want) || !strstr(msg, "disk 3 queue 1: "))
			fail_msg("%s: %d '%s', expected %d with '%s'", cases[i].what, r, msg, cases[i].err,
				 cases[i].want);
		assert_false(blkback_connected(Q.b2));
		/* Nothing held: the ring's entry lost the backend's GTF_writing again. */
		assert_int_equal(gflags(REF_RING) & (GTF_reading | GTF_writing), 0);
	}
	__atomic_store_n(&Q.sring->h.req_prod, 3, __ATOMIC_RELEASE);
	/* The good state still attaches: the refusals left nothing behind. */
	if (blkback_connect_restored(Q.b2, &Q.gt, &good, notify, NULL, msg, sizeof(msg)) != 0)
		fail_msg("connect_restored: %s", msg);
	assert_int_equal(blkback_connect_restored(Q.b2, &Q.gt, &good, notify, NULL, msg, sizeof(msg)),
			 -EBUSY);
}

/* A disk configured without persistent grants refuses a ring saved with them. */
static void test_a_restored_ring_with_persistent_grants_needs_a_disk_that_offers_them(void **state)
{
	const struct params *p = *state;
	struct blkback_ring_state rs;
	char msg[512] = "";

	if (blkback_quiesce(Q.b, WAIT_MS, msg, sizeof(msg)) != 0)
		fail_msg("quiesce: %s", msg);
	assert_int_equal(blkback_get_ring_state(Q.b, &rs), 0);
	blkback_disconnect(Q.b);
	Q.b2 = open_backend(p); /* persistent=0 */
	rs.persistent = true;
	assert_int_equal(blkback_connect_restored(Q.b2, &Q.gt, &rs, notify, NULL, msg, sizeof(msg)),
			 -EOPNOTSUPP);
	assert_non_null(strstr(msg, "persistent grants, which this disk does not offer"));
	assert_false(blkback_connected(Q.b2));
	assert_int_equal(gflags(REF_RING) & (GTF_reading | GTF_writing), 0);
}

/* Quiesce, resume and the ring state of a backend that is not connected: nothing to do, nothing to read. */
static void test_an_unconnected_backend_quiesces_trivially_and_has_no_ring_state(void **state)
{
	struct blkback_ring_state rs;
	char msg[512] = "";

	(void)state;
	blkback_disconnect(Q.b);
	assert_int_equal(blkback_quiesce(Q.b, WAIT_MS, msg, sizeof(msg)), 0);
	assert_false(blkback_quiesced(Q.b));
	assert_int_equal(blkback_get_ring_state(Q.b, &rs), -ENOTCONN);
	blkback_resume(Q.b);
}

/* One case per kick mode, each named with its mode. */
#define IN(t, p, m) { #t " (" m ")", t, setup, teardown, (void *)&(p) }
#define EACH_MODE(t) \
	IN(t, p_exit, "mode=exit"), IN(t, p_ioeventfd, "mode=ioeventfd"), IN(t, p_poll, "mode=poll")

int main(void)
{
	struct CMUnitTest tests[] = {
		EACH_MODE(test_quiesce_returns_once_every_request_in_flight_is_answered_on_the_ring),
		EACH_MODE(test_a_quiesced_backend_takes_no_request_until_it_is_resumed),
		IN(test_quiesce_lets_go_of_persistent_grants_but_the_rings, p_persistent, "persistent=1"),
		EACH_MODE(test_a_quiesce_that_cannot_finish_in_time_fails_and_the_backend_goes_on),
		EACH_MODE(test_a_restored_ring_goes_on_from_the_saved_indices),
		EACH_MODE(test_a_resume_right_after_a_restored_connect_is_never_lost),
		IN(test_a_restored_ring_state_that_does_not_fit_the_ring_is_refused, p_exit, "mode=exit"),
		IN(test_a_restored_ring_with_persistent_grants_needs_a_disk_that_offers_them, p_exit,
		   "persistent=0"),
		IN(test_an_unconnected_backend_quiesces_trivially_and_has_no_ring_state, p_exit, "mode=exit"),
	};

	return TEST_RUN_GROUP(tests, NULL, NULL);
}
