// SPDX-License-Identifier: MIT
#include "changepoint.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

void cp_opts_default(struct cp_opts *o)
{
	o->alpha = 0.01;
	o->permutations = 499;
	o->min_segment = 3;
	o->seed = 0x5eed0fc4a9e5ull;
}

/* splitmix64: small, fast, and the same stream on every host. */
static uint64_t next_random(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/*
 * The largest energy statistic over the splits of y[0..n) with at least
 * `ms` points on each side; *at: its tau.  O(n^2): the three sums move
 * with tau by one row of distances each step.  rows: scratch of n.
 */
static double max_energy(const double *y, size_t n, size_t ms, double *rows, size_t *at)
{
	double total = 0, within_l = 0, cross = 0, best = -INFINITY;

	for (size_t j = 0; j < n; j++) {
		rows[j] = 0;
		for (size_t i = 0; i < n; i++)
			rows[j] += fabs(y[i] - y[j]);
		total += rows[j];
	}
	total /= 2;
	*at = 0;
	/* tau = 0: everything on the right */
	for (size_t tau = 0; tau + ms <= n; tau++) {
		if (tau >= ms) {
			double m = (double)tau, k = (double)(n - tau);
			double within_r = total - within_l - cross;
			double q = m * k / (m + k) *
				   (2 * cross / (m * k) - within_l / (m * (m - 1) / 2) - within_r / (k * (k - 1) / 2));

			if (q > best) {
				best = q;
				*at = tau;
			}
		}
		/* move y[tau] from the right side to the left */
		double to_left = 0;

		for (size_t i = 0; i < tau; i++)
			to_left += fabs(y[i] - y[tau]);
		within_l += to_left;
		cross += (rows[tau] - to_left) - to_left;
	}
	return best;
}

struct candidate {
	size_t index;
	double p, q;
};

/*
 * The segment x[a..b)'s best split and its permutation p; false when the
 * segment is too short.  Stops shuffling once p cannot fall below alpha.
 */
static bool test_segment(const double *x, size_t a, size_t b, const struct cp_opts *o, double *work,
			 double *rows, struct candidate *c)
{
	size_t n = b - a, tau, dummy;
	unsigned exceed = 0, done = 0;
	uint64_t rng = o->seed ^ ((uint64_t)a << 32) ^ (uint64_t)b;
	double q;

	if (n < 2 * (size_t)o->min_segment)
		return false;
	q = max_energy(x + a, n, o->min_segment, rows, &tau);
	c->index = a + tau;
	c->q = q;
	memcpy(work, x + a, n * sizeof(*work));
	for (done = 0; done < o->permutations; done++) {
		for (size_t i = n - 1; i > 0; i--) {
			size_t j = (size_t)(next_random(&rng) % (i + 1));
			double t = work[i];

			work[i] = work[j];
			work[j] = t;
		}
		if (max_energy(work, n, o->min_segment, rows, &dummy) >= q * (1 - 1e-12))
			exceed++;
		/* p = (1 + exceed) / (1 + permutations) can no longer be below alpha */
		if ((double)(1 + exceed) >= o->alpha * (double)(1 + o->permutations))
			break;
	}
	c->p = (double)(1 + exceed) / (double)(1 + o->permutations);
	return c->p < o->alpha;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median_of(const double *x, size_t n, double *scratch)
{
	memcpy(scratch, x, n * sizeof(*x));
	qsort(scratch, n, sizeof(*scratch), cmp_double);
	return n % 2 ? scratch[n / 2] : (scratch[n / 2 - 1] + scratch[n / 2]) / 2;
}

static int cmp_significance(const void *a, const void *b)
{
	const struct candidate *x = a, *y = b;

	if (x->p != y->p)
		return x->p < y->p ? -1 : 1;
	return (x->q < y->q) - (x->q > y->q);
}

static int cmp_index(const void *a, const void *b)
{
	const struct change_point *x = a, *y = b;

	return (x->index > y->index) - (x->index < y->index);
}

int cp_detect(const double *x, size_t n, const struct cp_opts *opts, struct change_point *out, size_t max)
{
	struct cp_opts o = *opts;
	struct { size_t a, b; } *stack = NULL;
	struct candidate *found = NULL;
	double *work = NULL, *rows = NULL;
	size_t nstack = 0, nfound = 0;
	int r = 0;

	if (o.min_segment < 2)
		o.min_segment = 2; /* the within-side sums need pairs */
	if (n < 2 * (size_t)o.min_segment || max == 0)
		return 0;
	/* each accepted split adds at most two segments; at most n / min_segment splits */
	stack = calloc(n + 1, sizeof(*stack));
	found = calloc(n, sizeof(*found));
	work = calloc(n, sizeof(*work));
	rows = calloc(n, sizeof(*rows));
	if (!stack || !found || !work || !rows) {
		r = -ENOMEM;
		goto out;
	}
	stack[nstack].a = 0;
	stack[nstack++].b = n;
	while (nstack) {
		size_t a = stack[nstack - 1].a, b = stack[nstack - 1].b;
		struct candidate c;

		nstack--;
		if (!test_segment(x, a, b, &o, work, rows, &c))
			continue;
		found[nfound++] = c;
		stack[nstack].a = a;
		stack[nstack++].b = c.index;
		stack[nstack].a = c.index;
		stack[nstack++].b = b;
	}
	if (nfound > max) {
		qsort(found, nfound, sizeof(*found), cmp_significance);
		nfound = max;
	}
	for (size_t i = 0; i < nfound; i++) {
		out[i].index = found[i].index;
		out[i].p = found[i].p;
		out[i].q = found[i].q;
	}
	qsort(out, nfound, sizeof(*out), cmp_index);
	for (size_t i = 0; i < nfound; i++) {
		size_t lo = i ? out[i - 1].index : 0, mid = out[i].index;
		size_t hi = i + 1 < nfound ? out[i + 1].index : n;

		out[i].before = median_of(x + lo, mid - lo, work);
		out[i].after = median_of(x + mid, hi - mid, work);
		out[i].shift = out[i].before != 0 ? out[i].after / out[i].before - 1 : NAN;
	}
	r = (int)nfound;
out:
	free(stack);
	free(found);
	free(work);
	free(rows);
	return r;
}
