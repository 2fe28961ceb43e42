/* SPDX-License-Identifier: MIT */
/*
 * Trends of resource counts sampled over many cycles (the soak suite):
 * a least-squares line with the 95% confidence interval of its slope, and
 * the rule each kind of figure is judged by.
 *
 * The rules, and why each one:
 * - exact: file descriptors, threads, KVM VMs, guest free pages.  Sampled
 *   at the same point of every cycle these are exact counts, so after the
 *   warm-up every sample must equal the first one: one descriptor left
 *   behind per cycle is a failure, whatever the slope's noise.
 * - slope: resident memory moves with the allocator (arenas, thread-stack
 *   caches, the dynamic mmap threshold), so only a trend is a leak: the
 *   least-squares slope must not exceed a limit per 1,000 cycles.  The
 *   limit is chosen from measured noise (tools/cmd_soak.c says which).
 * - drop: the host's MemAvailable counts every process on the host; only a
 *   gross loss over the run (the fitted line's fall) is judged.
 * - report: shown, never judged (io_uring's kernel worker threads come and
 *   go with the I/O in flight).
 */
#ifndef XENITH_BENCH_TREND_H
#define XENITH_BENCH_TREND_H

#include <stdbool.h>
#include <stddef.h>

struct trend_fit {
	size_t n;
	double slope, intercept; /* y = intercept + slope * x */
	double lo, hi;           /* the slope's 95% confidence interval */
};

/*
 * Fits y[i] = a + b x[i] by least squares.  -EINVAL when n < 3 or every x
 * is equal.  With every residual zero the interval is [slope, slope].
 */
int trend_fit(const double *x, const double *y, size_t n, struct trend_fit *f);

/* The 0.975 quantile of Student's t with df degrees of freedom (df >= 1). */
double trend_t975(unsigned df);

enum trend_rule { TREND_EXACT, TREND_SLOPE, TREND_DROP, TREND_REPORT };

const char *trend_rule_name(enum trend_rule r);

struct trend_result {
	struct trend_fit fit;    /* slope and interval per `per` cycles */
	double per;
	double first, last, min, max;
	bool judged, pass;
	char why[200];           /* the verdict for people: what moved, by how much */
};

/*
 * Judges samples y taken at cycles x (warm-up already left out) by rule:
 * exact (limit unused), slope (at most limit per `per` cycles), drop (the
 * fitted line may fall by at most limit over the run), report.  Needs n >= 3.
 */
int trend_judge(const double *x, const double *y, size_t n, enum trend_rule rule, double limit,
		double per, struct trend_result *r);

#endif
