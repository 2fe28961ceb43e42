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
 * Two-sided Mann-Whitney (Wilcoxon rank-sum) test: the probability, if both
 * samples came from one distribution, of a rank sum at least as far from
 * its mean as the one observed.  Exact for small samples: the permutation
 * distribution of the rank sum of the smaller sample over every way of
 * choosing its members among the pooled values, with midranks for ties
 * (the conditional exact distribution given the ties), counted by dynamic
 * programming (stats.c: mw_exact_p).  The normal approximation with tie
 * and continuity correction is used only when both sides have more than
 * STATS_EXACT_MAX samples, or the counting table would be too large (a
 * side above 50 with the other in the hundreds: see mw_exact_fits).
 */
#define STATS_EXACT_MAX 50
double stats_mann_whitney_p(const double *a, size_t na, const double *b, size_t nb);

/*
 * The smallest two-sided p the exact test can give with na and nb samples
 * and no ties: 2 / C(na + nb, na) (5 vs 5: 2/252 = 0.0079).  A test at
 * alpha below this can never flag anything.
 */
double stats_mw_min_p(size_t na, size_t nb);

/*
 * The shift, in standard deviations of normal noise, that the exact test at
 * alpha detects in 80% of trials with na and nb samples (by simulation with
 * a fixed seed; by the normal formula with the Mann-Whitney efficiency 3/pi
 * beyond STATS_EXACT_MAX).  INFINITY when no p below alpha is attainable.
 */
double stats_mw_detectable_sd(size_t na, size_t nb, double alpha);

/*
 * Percentile bootstrap of median(b) / median(a): a 1 - alpha confidence
 * interval from `rounds` resamples with a fixed seed (reproducible).
 */
void stats_bootstrap_ratio(const double *a, size_t na, const double *b, size_t nb, unsigned rounds,
			   double alpha, double *lo, double *hi);

/*
 * The distribution-free 1 - level interval of the ratio new/base (the
 * Mann-Whitney test inverted on log values, as Hodges and Lehmann): the
 * k-th smallest and largest of the na * nb ratios b[j] / a[i], k from the
 * exact null distribution of U (its normal approximation past
 * STATS_EXACT_MAX).  [0, inf] when the counts are too small for the level
 * (3 vs 3 at 95%).  -1 when a value is not positive (no logarithm).
 */
int stats_ratio_interval(const double *a, size_t na, const double *b, size_t nb, double level, double *lo,
			 double *hi);

/*
 * Three verdicts, in the spirit of Chromium's Pinpoint:
 *  same       the samples show the change is smaller than the effect of
 *             interest: the 95% interval of the ratio lies within
 *             1 +- min_effect (equivalence, as two one-sided tests);
 *  different  significant (p < alpha) and at least min_effect in size;
 *             `faster` says the direction;
 *  unknown    neither: the samples cannot decide (more repetitions can).
 */
enum verdict { VERDICT_SAME, VERDICT_DIFFERENT, VERDICT_UNKNOWN };

/* compare's defaults, and what `xenith bench --baseline` decides with. */
#define STATS_ALPHA 0.01
#define STATS_MIN_EFFECT 0.03

struct comparison {
	double ratio;           /* median(new) / median(base) */
	double ci_lo, ci_hi;    /* 95% interval of the ratio (stats_ratio_interval; bootstrap if a value <= 0) */
	double p;               /* Mann-Whitney two-sided p (exact for small samples) */
	/*
	 * The smallest relative change (0.05 = 5%) the test at alpha detects in
	 * 80% of trials at these repetition counts and this noise: the detectable
	 * shift in standard deviations (stats_mw_detectable_sd) times the pooled
	 * standard deviation over |median(base)|.  INFINITY when none is.
	 */
	double detectable;
	enum verdict verdict;
	bool faster;            /* VERDICT_DIFFERENT: the new samples are better */
	double run_sd;          /* the between-run noise stats_compare_runs used; 0: none */
};

void stats_compare(const double *base, size_t nb, const double *cur, size_t nc, bool higher_is_better,
		   double alpha, double min_effect, struct comparison *out);

/*
 * Between-run noise.  The repetitions of one run share that run's
 * conditions (the host's state over those seconds: frequency, neighbours
 * on a shared host, memory placement), so two runs' medians differ by more
 * than their repetitions suggest, and stats_compare, which treats the
 * samples as independent, calls that drift a change.  Given a series'
 * between-run standard deviation of log medians (run_sd, measured by
 * `xenith bench calibrate --runs K`, run_df = K - 1), this widens the
 * comparison: log(ratio) gets variance se_w^2 + 2 run_sd^2 (se_w: the rank
 * interval's width as a normal one's), tested with Student's t on run_df
 * degrees of freedom (the between-run estimate is the uncertain part).  p
 * is the larger of the rank test's and this one's, the 95% interval and
 * the smallest detectable change widen to match, and the verdict rules are
 * stats_compare's.  run_sd <= 0 or run_df 0: stats_compare's answer.
 */
void stats_compare_runs(const double *base, size_t nb, const double *cur, size_t nc, bool higher_is_better,
			double alpha, double min_effect, double run_sd, unsigned run_df, struct comparison *out);

/*
 * Sets of runs: base[0..kb) and cur[0..kc) are the medians of each side's
 * runs of one series (kb, kc >= 1, kb + kc >= 3).  Between-run noise is
 * then measured from the runs themselves: a pooled t test on the log
 * medians with kb + kc - 2 degrees of freedom; ratio is the ratio of the
 * geometric means, the interval and p are the t test's, detectable is the
 * change it finds in 80% of trials at alpha with this spread, run_sd the
 * pooled spread; the verdict rules are stats_compare's.  A median that is
 * not positive: ratio NAN, unknown.
 */
void stats_compare_medians(const double *base, size_t kb, const double *cur, size_t kc, bool higher_is_better,
			   double alpha, double min_effect, struct comparison *out);

/*
 * Whether more repetitions could not decide a comparison of
 * stats_compare_runs: even with no within-run noise left, the between-run
 * part alone keeps its interval wider than 1 +- min_effect and its p at
 * alpha or above.  Only the runs the calibration said can (more runs a
 * side: `xenith bench calibrate` prints how many).  false without run_sd.
 */
bool stats_runs_undecidable(const struct comparison *c, double alpha, double min_effect, unsigned run_df);

/* Student's t with df degrees of freedom: P(T > t), and the t with P(T > t) = q (q in (0, 0.5]). */
double stats_student_sf(double t, double df);
double stats_student_upper(double q, double df);

/* "same", "unknown", or for different: "faster" or "slower". */
const char *stats_verdict_name(const struct comparison *c);

#endif
