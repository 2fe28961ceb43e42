/* SPDX-License-Identifier: MIT */
/*
 * Change points in a series (per-run medians, oldest first): E-divisive
 * means (Matteson & James, "A nonparametric approach for multiple change
 * point analysis of multivariate data", JASA 2014; the method MongoDB's
 * performance CI uses to find the commits where a benchmark shifted).
 *
 * - The energy statistic of a split at tau of a segment [a, b):
 *     Q(tau) = m n / (m + n) * (2/(m n) sum_{i<tau<=j} |x_i - x_j|
 *              - 1/C(m,2) sum_{i<k<tau} |x_i - x_k|
 *              - 1/C(n,2) sum_{tau<=j<k} |x_j - x_k|)
 *   with m = tau - a, n = b - tau: large when the two sides differ in
 *   distribution, whatever the scale of the values.
 * - The segment's candidate is the tau of the largest Q, each side at least
 *   min_segment long.  Its significance: a permutation test of that
 *   maximum (the values of the segment shuffled `permutations` times with a
 *   fixed seed, the maximum Q of each shuffle recomputed), p = (1 + shuffles
 *   at least as large) / (1 + shuffles).  Testing the maximum, not Q at one
 *   tau, is what keeps the false-alarm rate of a flat series at alpha.
 * - A significant candidate splits the segment, and both sides are searched
 *   again (binary segmentation), until no segment has a significant one.
 */
#ifndef XENITH_BENCH_CHANGEPOINT_H
#define XENITH_BENCH_CHANGEPOINT_H

#include <stddef.h>
#include <stdint.h>

struct cp_opts {
	double alpha;            /* significance of each split (default 0.01) */
	unsigned permutations;   /* shuffles per test (default 499: p can reach 0.002) */
	unsigned min_segment;    /* fewest points on either side of a change (default 3, at least 2) */
	uint64_t seed;           /* the shuffles' seed (default: a fixed one): results repeat */
};

/* The defaults above. */
void cp_opts_default(struct cp_opts *o);

struct change_point {
	size_t index;            /* the first point of the new level: x[index] differs from x[index - 1] */
	double p;                /* the permutation test's p */
	double q;                /* the energy statistic of the split */
	double before, after;    /* medians of the segments on either side (between neighbouring changes) */
	double shift;            /* after / before - 1 */
};

/*
 * Finds the change points of x[0..n), at most max of them, sorted by index
 * (those beyond max are the least significant, dropped).  Returns how many
 * were found, or -ENOMEM; a series shorter than 2 * min_segment has none.
 */
int cp_detect(const double *x, size_t n, const struct cp_opts *o, struct change_point *out, size_t max);

#endif
