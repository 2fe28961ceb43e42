// SPDX-License-Identifier: MIT
/* Unit tests of the shared ring (include/xenith/ring.h): arithmetic, suppression, no lost wake-ups. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "testutil.h"
#include "xenith/ring.h"

struct test_req {
	uint64_t id;
	uint32_t payload[5];
};
struct test_rsp {
	uint64_t id;
	int32_t status;
};
XENITH_RING_DEFINE(test, struct test_req, struct test_rsp)

static struct test_sring *sring;

static int setup(void **state)
{
	(void)state;
	sring = aligned_alloc(4096, 4096);
	memset(sring, 0xa5, 4096); /* init must not rely on zeroed memory */
	test_sring_init(sring);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(sring);
	return 0;
}

static void test_size_is_the_largest_power_of_two_that_fits_a_page(void **state)
{
	size_t slot = sizeof(union test_slot);
	ring_idx_t n = test_ring_size();

	(void)state;
	assert_int_equal(n & (n - 1), 0);
	assert_true(64 + n * slot <= 4096);
	assert_true(64 + 2 * n * slot > 4096);
	assert_int_equal(XENITH_POW2_FLOOR(1), 1);
	assert_int_equal(XENITH_POW2_FLOOR(63), 32);
	assert_int_equal(XENITH_POW2_FLOOR(64), 64);
	assert_int_equal(XENITH_POW2_FLOOR(4032), 2048);
}

static void test_requests_and_responses_round_trip_in_order(void **state)
{
	struct test_front f;
	struct test_back b;
	ring_idx_t n;

	(void)state;
	test_front_init(&f, sring);
	test_back_init(&b, sring);
	assert_int_equal(test_front_free_slots(&f), test_ring_size());
	for (uint64_t i = 0; i < 3; i++) {
		test_front_next_req(&f)->id = 100 + i;
		f.req_prod_pvt++;
	}
	assert_int_equal(test_back_pending_reqs(&b, &n), 0);
	assert_int_equal(n, 0); /* not published yet */
	assert_true(test_front_push(&f)); /* the backend waits at req_event = 1 */
	assert_int_equal(test_back_pending_reqs(&b, &n), 0);
	assert_int_equal(n, 3);
	for (uint64_t i = 0; i < 3; i++) {
		struct test_req r;
		struct test_rsp *rsp;

		test_back_take_req(&b, &r);
		assert_int_equal(r.id, 100 + i);
		rsp = test_back_next_rsp(&b);
		rsp->id = r.id;
		rsp->status = (int32_t)i;
		b.rsp_prod_pvt++;
	}
	assert_true(test_back_push(&b));
	assert_int_equal(test_front_pending_rsps(&f), 3);
	for (uint64_t i = 0; i < 3; i++) {
		struct test_rsp r;

		test_front_take_rsp(&f, &r);
		assert_int_equal(r.id, 100 + i);
		assert_int_equal(r.status, (int32_t)i);
	}
	assert_int_equal(test_front_free_slots(&f), test_ring_size());
	assert_false(test_front_final_check(&f));
	assert_int_equal(test_back_final_check(&b), 0);
}

static void test_notification_only_when_the_consumer_asked(void **state)
{
	struct test_front f;
	struct test_back b;
	struct test_req r;
	ring_idx_t n;

	(void)state;
	test_front_init(&f, sring);
	test_back_init(&b, sring);
	f.req_prod_pvt++;
	assert_true(test_front_push(&f));   /* first request: the backend waits at 1 */
	f.req_prod_pvt++;
	assert_false(test_front_push(&f));  /* it has not looked since: no second kick */
	test_back_pending_reqs(&b, &n);
	assert_int_equal(n, 2);
	test_back_take_req(&b, &r);
	test_back_take_req(&b, &r);
	assert_int_equal(test_back_final_check(&b), 0); /* now it waits at req_event = 3 */
	assert_int_equal(sring->h.req_event, 3);
	f.req_prod_pvt++;
	assert_true(test_front_push(&f));
}

/* A frontend that asks for the k-th response is notified at that one, not before. */
static void test_a_frontend_may_ask_to_be_notified_only_at_the_kth_response(void **state)
{
	struct test_front f;
	struct test_back b;
	struct test_req r;
	struct test_rsp rsp;
	ring_idx_t n;

	(void)state;
	test_front_init(&f, sring);
	test_back_init(&b, sring);
	f.req_prod_pvt += 8;
	test_front_push(&f);
	assert_false(test_front_final_check_after(&f, 5)); /* nothing back yet: sleep */
	assert_int_equal(sring->h.rsp_event, 5);
	test_back_pending_reqs(&b, &n);
	assert_int_equal(n, 8);
	for (unsigned i = 1; i <= 8; i++) {
		test_back_take_req(&b, &r);
		b.rsp_prod_pvt++;
		/* one response pushed at a time: only the fifth notifies */
		assert_int_equal(test_back_push(&b), i == 5);
	}
	/* responses there already: no sleep, whatever k */
	assert_true(test_front_final_check_after(&f, 100));
	/* final_check is "at the next one" */
	while (test_front_pending_rsps(&f))
		test_front_take_rsp(&f, &rsp);
	assert_false(test_front_final_check(&f));
	assert_int_equal(sring->h.rsp_event, f.rsp_cons + 1);
}

static void test_indices_wrap_around_32_bits(void **state)
{
	struct test_front f;
	struct test_back b;
	ring_idx_t start = UINT32_MAX - 2, n;

	(void)state;
	/* Both sides agree on a starting point just below the wrap. */
	sring->h.req_prod = sring->h.rsp_prod = start;
	sring->h.req_event = sring->h.rsp_event = start + 1;
	f = (struct test_front){ sring, start, start };
	b = (struct test_back){ sring, start, start };
	for (unsigned i = 0; i < 6; i++) {
		test_front_next_req(&f)->id = i;
		f.req_prod_pvt++;
	}
	assert_true(test_front_push(&f));
	assert_int_equal(test_back_pending_reqs(&b, &n), 0);
	assert_int_equal(n, 6);
	for (unsigned i = 0; i < 6; i++) {
		struct test_req r;

		test_back_take_req(&b, &r);
		assert_int_equal(r.id, i);
		test_back_next_rsp(&b)->id = i;
		b.rsp_prod_pvt++;
	}
	assert_true(test_back_push(&b));
	assert_int_equal(test_front_pending_rsps(&f), 6);
	assert_int_equal(f.req_prod_pvt, 3); /* wrapped */
}

static void test_backend_refuses_indices_that_jump(void **state)
{
	struct test_back b;
	ring_idx_t n;

	(void)state;
	test_back_init(&b, sring);
	/* A hostile guest claims more requests than the ring holds. */
	sring->h.req_prod = test_ring_size() + 1;
	assert_int_equal(test_back_pending_reqs(&b, &n), -1);
	assert_int_equal(n, 0);
	assert_int_equal(test_back_final_check(&b), -1);
	sring->h.req_prod = (ring_idx_t)-5; /* or moves it backwards */
	assert_int_equal(test_back_pending_reqs(&b, &n), -1);
	sring->h.req_prod = test_ring_size(); /* a full ring is fine */
	assert_int_equal(test_back_pending_reqs(&b, &n), 0);
	assert_int_equal(n, test_ring_size());
}

static void test_backend_refuses_req_prod_moved_back_behind_its_consumer(void **state)
{
	struct test_back b;
	struct test_req r;
	ring_idx_t n;

	(void)state;
	test_back_init(&b, sring);
	sring->h.req_prod = 5;
	assert_int_equal(test_back_pending_reqs(&b, &n), 0);
	for (ring_idx_t i = 0; i < n; i++)
		test_back_take_req(&b, &r);
	b.rsp_prod_pvt = 2; /* two answered, three in flight */
	/* The guest takes back requests the backend already has: not "4 billion pending". */
	sring->h.req_prod = 3;
	assert_int_equal(test_back_pending_reqs(&b, &n), -1);
	assert_int_equal(n, 0);
	assert_int_equal(test_back_final_check(&b), -1);
}

/* Request n's bytes, every one of them (padding too), as the frontend writes them and the test expects them. */
static void req_pattern(struct test_req *r, unsigned n)
{
	uint8_t *p = (uint8_t *)r;

	for (size_t i = 0; i < sizeof(*r); i++)
		p[i] = (uint8_t)(n * 37u + i * 11u + 1u);
}

/*
 * take_req hands the backend the whole request of the next slot, in memory
 * of its own.  (That the backend then works on its copy while the guest
 * rewrites the slot is blkback's business: test_blkback.c.)
 */
static void test_take_req_copies_the_whole_request_out_of_its_slot(void **state)
{
	struct test_front f;
	struct test_back b;
	ring_idx_t n;

	(void)state;
	test_front_init(&f, sring);
	test_back_init(&b, sring);
	for (unsigned i = 0; i < 3; i++) {
		req_pattern(test_front_next_req(&f), i);
		f.req_prod_pvt++;
	}
	test_front_push(&f);
	assert_int_equal(test_back_pending_reqs(&b, &n), 0);
	assert_int_equal(n, 3);
	for (unsigned i = 0; i < 3; i++) {
		struct test_req got, want;

		req_pattern(&want, i);
		memset(&got, 0xee, sizeof(got));
		test_back_take_req(&b, &got);
		assert_memory_equal(&got, &want, sizeof(want));
	}
	assert_int_equal(b.req_cons, 3);
}

/*
 * Two threads, each side sleeping when idle with the final check, waking
 * only on notifications: if one wake-up were lost, a side would sleep for
 * good; after STRESS_QUIET_S without a kick while it waits, the test fails
 * and says which side.  The backend thread is stopped and joined before the
 * ring is freed, whatever happened (stress_teardown).
 */
struct sleeper {
	pthread_mutex_t m;
	pthread_cond_t c;
	unsigned kicks;
};

static struct sleeper to_back = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };
static struct sleeper to_front = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };
static unsigned long nr_notifies[2];
static pthread_t back_thread;
static bool back_started;
static atomic_bool back_stop;

#define STRESS_REQS 200000u
/*
 * A kick is due within microseconds; 30 s without one while waiting is a
 * lost wake-up even on a loaded 2-CPU host (the whole test takes ~0.2 s).
 */
#define STRESS_QUIET_S 30

static void kick(struct sleeper *s)
{
	pthread_mutex_lock(&s->m);
	s->kicks++;
	pthread_cond_signal(&s->c);
	pthread_mutex_unlock(&s->m);
}

/* Waits for a kick after *seen; false after STRESS_QUIET_S without one (or when told to stop). */
static bool wait_kick(struct sleeper *s, unsigned *seen)
{
	struct timespec until;
	int r = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += STRESS_QUIET_S;
	pthread_mutex_lock(&s->m);
	while (s->kicks == *seen && r != ETIMEDOUT && !atomic_load(&back_stop))
		r = pthread_cond_timedwait(&s->c, &s->m, &until);
	*seen = s->kicks;
	pthread_mutex_unlock(&s->m);
	return r != ETIMEDOUT;
}

/* Returns NULL when it served every request, else what went wrong. */
static void *backend_thread(void *arg)
{
	struct test_back b;
	unsigned seen = 0, done = 0;

	(void)arg;
	test_back_init(&b, sring);
	while (done < STRESS_REQS && !atomic_load(&back_stop)) {
		ring_idx_t n;
		int more;

		if (test_back_pending_reqs(&b, &n) < 0)
			return "the backend found impossible ring indices";
		for (ring_idx_t i = 0; i < n; i++) {
			struct test_req r;
			struct test_rsp *rsp;

			test_back_take_req(&b, &r);
			rsp = test_back_next_rsp(&b);
			rsp->id = r.id;
			rsp->status = (int32_t)(r.payload[0] ^ 0x5a5a5a5a);
			b.rsp_prod_pvt++;
			done++;
		}
		if (n && test_back_push(&b)) {
			nr_notifies[1]++;
			kick(&to_front);
		}
		more = test_back_final_check(&b);
		if (more < 0)
			return "the backend's final check found impossible ring indices";
		if (!more && done < STRESS_REQS && !wait_kick(&to_back, &seen))
			return "the backend waited 30 s for a kick with requests outstanding: a lost wake-up";
	}
	return NULL;
}

static int stress_setup(void **state)
{
	setup(state);
	to_back.kicks = to_front.kicks = 0;
	nr_notifies[0] = nr_notifies[1] = 0;
	atomic_store(&back_stop, false);
	back_started = false;
	return 0;
}

/* Stops and joins the backend thread (if the test failed half-way), then frees the ring. */
static int stress_teardown(void **state)
{
	if (back_started) {
		atomic_store(&back_stop, true);
		kick(&to_back);
		pthread_join(back_thread, NULL);
		back_started = false;
	}
	return teardown(state);
}

static void test_two_threads_lose_no_wakeups(void **state)
{
	struct test_front f;
	unsigned seen = 0;
	uint64_t sent = 0, got = 0;
	const char *why = NULL;
	void *ret;

	(void)state;
	test_front_init(&f, sring);
	assert_int_equal(pthread_create(&back_thread, NULL, backend_thread, NULL), 0);
	back_started = true;
	while (got < STRESS_REQS && !why) {
		bool wrote = false, wait;

		while (sent < STRESS_REQS && test_front_free_slots(&f)) {
			struct test_req *r = test_front_next_req(&f);

			r->id = sent;
			r->payload[0] = (uint32_t)sent * 7u;
			f.req_prod_pvt++;
			sent++;
			wrote = true;
		}
		if (wrote && test_front_push(&f)) {
			nr_notifies[0]++;
			kick(&to_back);
		}
		while (test_front_pending_rsps(&f)) {
			struct test_rsp r;

			test_front_take_rsp(&f, &r);
			if (r.id != got || r.status != (int32_t)(((uint32_t)got * 7u) ^ 0x5a5a5a5a)) {
				why = "a response out of order or with the wrong status";
				break;
			}
			got++;
		}
		if (why)
			break;
		wait = got < STRESS_REQS && (!test_front_free_slots(&f) || sent == STRESS_REQS) &&
		       !test_front_final_check(&f);
		if (wait && !wait_kick(&to_front, &seen))
			why = "the frontend waited 30 s for a kick with responses outstanding: a lost wake-up";
	}
	if (why) /* stress_teardown stops and joins the backend */
		fail_msg("%s (%llu of %u answered)", why, (unsigned long long)got, STRESS_REQS);
	assert_int_equal(pthread_join(back_thread, &ret), 0);
	back_started = false;
	if (ret)
		fail_msg("%s", (const char *)ret);
	/* Suppression worked: far fewer kicks than requests each way. */
	print_message("# %lu kicks to the backend, %lu to the frontend, for %u requests\n",
		      nr_notifies[0], nr_notifies[1], STRESS_REQS);
	assert_true(nr_notifies[0] < STRESS_REQS);
	assert_true(nr_notifies[1] < STRESS_REQS);
}

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_size_is_the_largest_power_of_two_that_fits_a_page,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_requests_and_responses_round_trip_in_order, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_notification_only_when_the_consumer_asked, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_a_frontend_may_ask_to_be_notified_only_at_the_kth_response, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_indices_wrap_around_32_bits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backend_refuses_indices_that_jump, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backend_refuses_req_prod_moved_back_behind_its_consumer,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_take_req_copies_the_whole_request_out_of_its_slot, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_two_threads_lose_no_wakeups, stress_setup,
						stress_teardown),
	};

	return TEST_RUN_GROUP(tests, NULL, NULL);
}
