/* SPDX-License-Identifier: MIT */
/* Summary statistics and the noise-aware comparison `xenith bench compare` uses. */
#ifndef XENITH_BENCH_STATS_H
#define XENITH_BENCH_STATS_H

#include <stdbool.h>
#include <stddef.h>

struct summary {
	size_t n;
	double median, mean, stddev, cv; /* cv = stddev / mean */
	double min, max, p5, p95;
};

/* Summarizes v[0..n) (n >= 1); does not modify v. */
void stats_summarize(const double *v, size_t n, struct summary *s);
/* Linear-interpolation percentile (p in [0, 1]) of sorted[0..n). */
double stats_percentile_sorted(const double *sorted, size_t n, double p);

/*
 * Two-sided Mann-Whitney U test with the normal approximation and tie
 * correction: the probability of a rank difference at least this large
 * if both samples came from one distribution.
 */
double stats_mann_whitney_p(const double *a, size_t na, const double *b, size_t nb);

/*
 * Percentile bootstrap of median(b) / median(a): a 1 - alpha confidence
 * interval from `rounds` resamples with a fixed seed (reproducible).
 */
void stats_bootstrap_ratio(const double *a, size_t na, const double *b, size_t nb, unsigned rounds,
			   double alpha, double *lo, double *hi);

enum verdict { VERDICT_SAME, VERDICT_FASTER, VERDICT_SLOWER };

struct comparison {
	double ratio;           /* median(new) / median(base) */
	double ci_lo, ci_hi;    /* 95% bootstrap interval of the ratio */
	double p;               /* Mann-Whitney two-sided p */
	enum verdict verdict;
};

/*
 * A change is a verdict only when it is both significant (p < alpha) and
 * at least min_effect in size (|ratio - 1|); direction from higher_is_better.
 */
void stats_compare(const double *base, size_t nb, const double *cur, size_t nc, bool higher_is_better,
		   double alpha, double min_effect, struct comparison *out);

const char *stats_verdict_name(enum verdict v);

#endif
