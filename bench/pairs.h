/* SPDX-License-Identifier: MIT */
/*
 * Interleaved native/guest pairs: the guest reports a repetition with the
 * bench_report hypercall, which runs on its vCPU thread; the vCPU thread
 * hands the repetition to the runner (the unconfined main thread, which
 * may create threads and eventfds as the native analogues do) and waits in
 * the hypercall until the runner has run the native counterpart.  So the
 * guest stays booted, and native rep i runs right after guest rep i:
 * G0 N0 G1 N1 ..., drift between them cancels in each pair's ratio.
 */
#ifndef XENITH_BENCH_PAIRS_H
#define XENITH_BENCH_PAIRS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef void bench_pair_fn(void *opaque, uint32_t case_id, uint32_t rep, double guest_value);

struct bench_pairs {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool pending;    /* a request the runner has not answered */
	bool done;       /* the guest has ended: no more requests */
	uint32_t case_id, rep;
	double guest_value;
};

void bench_pairs_init(struct bench_pairs *p);
void bench_pairs_destroy(struct bench_pairs *p);
/* vCPU thread: returns once the runner has served (case_id, rep). */
void bench_pairs_request(struct bench_pairs *p, uint32_t case_id, uint32_t rep, double guest_value);
/* The guest's thread, when its domain has ended (or failed to start). */
void bench_pairs_done(struct bench_pairs *p);
/* Runner: calls fn for every request, in order, until bench_pairs_done(). */
void bench_pairs_serve(struct bench_pairs *p, bench_pair_fn *fn, void *opaque);

#endif
