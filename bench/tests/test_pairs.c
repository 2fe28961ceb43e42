// SPDX-License-Identifier: MIT
/*
 * bench/pairs.c: a requester (the guest's vCPU thread in `xenith bench`)
 * and the runner alternate strictly: each request returns only after the
 * runner has served it, so the order is G0 N0 G1 N1 ... and no request is
 * lost or served twice.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "pairs.h"
#include "testutil.h"

#define REPS 200

struct log {
	char ev[2 * REPS + 1];   /* 'G' when the requester starts a request, 'N' when the runner serves one */
	uint32_t served_rep[REPS];
	double served_value[REPS];
	unsigned nev, nserved;
	pthread_mutex_t lock;
};

struct requester {
	struct bench_pairs *p;
	struct log *log;
	unsigned reps;
};

static void log_event(struct log *l, char c)
{
	pthread_mutex_lock(&l->lock);
	if (l->nev < sizeof(l->ev) - 1)
		l->ev[l->nev++] = c;
	pthread_mutex_unlock(&l->lock);
}

static void *request_thread(void *arg)
{
	struct requester *q = arg;

	for (unsigned i = 0; i < q->reps; i++) {
		log_event(q->log, 'G');
		bench_pairs_request(q->p, 7, i, 100.0 + i);
	}
	bench_pairs_done(q->p);
	return NULL;
}

static void serve(void *opaque, uint32_t case_id, uint32_t rep, double guest_value)
{
	struct log *l = opaque;

	assert_int_equal(case_id, 7);
	log_event(l, 'N');
	if (l->nserved < REPS) {
		l->served_rep[l->nserved] = rep;
		l->served_value[l->nserved] = guest_value;
	}
	l->nserved++;
}

static void test_pairs_alternate_requester_and_runner(void **state)
{
	struct bench_pairs p;
	struct log l = { .nev = 0 };
	struct requester q = { &p, &l, REPS };
	pthread_t t;

	(void)state;
	pthread_mutex_init(&l.lock, NULL);
	bench_pairs_init(&p);
	assert_int_equal(pthread_create(&t, NULL, request_thread, &q), 0);
	bench_pairs_serve(&p, serve, &l); /* returns when the requester is done */
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(l.nserved, REPS);
	for (unsigned i = 0; i < REPS; i++) {
		if (l.ev[2 * i] != 'G' || l.ev[2 * i + 1] != 'N')
			fail_msg("events %u-%u are '%c%c', not 'GN': %.40s", 2 * i, 2 * i + 1, l.ev[2 * i],
				 l.ev[2 * i + 1], l.ev + (i > 4 ? 2 * i - 8 : 0));
		assert_int_equal(l.served_rep[i], i);
		assert_true(l.served_value[i] == 100.0 + i);
	}
	bench_pairs_destroy(&p);
	pthread_mutex_destroy(&l.lock);
}

/* A requester that ends without a request (a guest that failed to start) ends the serving. */
static void test_pairs_serve_returns_when_done_without_requests(void **state)
{
	struct bench_pairs p;
	struct log l = { .nev = 0 };
	struct requester q = { &p, &l, 0 };
	pthread_t t;

	(void)state;
	pthread_mutex_init(&l.lock, NULL);
	bench_pairs_init(&p);
	assert_int_equal(pthread_create(&t, NULL, request_thread, &q), 0);
	bench_pairs_serve(&p, serve, &l);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(l.nserved, 0);
	bench_pairs_destroy(&p);
	pthread_mutex_destroy(&l.lock);
}

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pairs_alternate_requester_and_runner),
		cmocka_unit_test(test_pairs_serve_returns_when_done_without_requests),
	};

	return TEST_RUN_GROUP(tests, NULL, NULL);
}
