// SPDX-License-Identifier: MIT
#include "pairs.h"

void bench_pairs_init(struct bench_pairs *p)
{
	*p = (struct bench_pairs){ .pending = false };
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
}

void bench_pairs_destroy(struct bench_pairs *p)
{
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
}

void bench_pairs_request(struct bench_pairs *p, uint32_t case_id, uint32_t rep, double guest_value)
{
	pthread_mutex_lock(&p->lock);
	p->case_id = case_id;
	p->rep = rep;
	p->guest_value = guest_value;
	p->pending = true;
	pthread_cond_broadcast(&p->cond);
	while (p->pending)
		pthread_cond_wait(&p->cond, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

void bench_pairs_done(struct bench_pairs *p)
{
	pthread_mutex_lock(&p->lock);
	p->done = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

void bench_pairs_serve(struct bench_pairs *p, bench_pair_fn *fn, void *opaque)
{
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->pending && !p->done)
			pthread_cond_wait(&p->cond, &p->lock);
		if (!p->pending)
			break; /* done: the requester has ended */
		/*
		 * The requester waits until pending is cleared, so it touches
		 * nothing the runner uses meanwhile (the run's series): the
		 * lock's release/acquire orders their accesses.
		 */
		uint32_t id = p->case_id, rep = p->rep;
		double v = p->guest_value;

		pthread_mutex_unlock(&p->lock);
		fn(opaque, id, rep, v);
		pthread_mutex_lock(&p->lock);
		p->pending = false;
		pthread_cond_broadcast(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
}
