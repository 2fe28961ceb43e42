// SPDX-License-Identifier: MIT
/* unit: summary statistics and the regression verdict on synthetic samples. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "stats.h"
#include "testutil.h"

/*
 * Each test draws from its own generator with its own seed, so what it sees
 * does not depend on which tests ran before it (or whether any did).
 */
struct rng {
	uint64_t s;
};

static double uniform(struct rng *r)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 7;
	r->s ^= r->s << 17;
	return ((double)(r->s >> 11) + 0.5) / 9007199254740992.0;
}

/* Box-Muller: normal(mean, sd). */
static double normal(struct rng *r, double mean, double sd)
{
	return mean + sd * sqrt(-2 * log(uniform(r))) * cos(2 * M_PI * uniform(r));
}

static void fill(struct rng *r, double *v, size_t n, double mean, double cv)
{
	for (size_t i = 0; i < n; i++)
		v[i] = normal(r, mean, mean * cv);
}

static void test_summary_of_known_samples(void **state)
{
	double v[] = { 5, 1, 4, 2, 3 };
	struct summary s;

	(void)state;
	stats_summarize(v, 5, &s);
	assert_true(s.median == 3);
	assert_true(s.mean == 3);
	assert_true(s.min == 1 && s.max == 5);
	assert_true(fabs(s.p5 - 1.2) < 1e-12);  /* linear interpolation */
	assert_true(fabs(s.p95 - 4.8) < 1e-12);
	assert_true(fabs(s.stddev - sqrt(2.5)) < 1e-12);
	assert_true(fabs(s.cv - sqrt(2.5) / 3) < 1e-12);
	assert_true(v[0] == 5); /* input untouched */
}

static void test_mann_whitney_p_values(void **state)
{
	double a[10], b[10];

	(void)state;
	for (int i = 0; i < 10; i++) {
		a[i] = i;
		b[i] = 100 + i;
	}
	/* completely separated samples of 10: exactly 2 of the C(20, 10) = 184756 rank assignments */
	assert_true(fabs(stats_mann_whitney_p(a, 10, b, 10) - 2.0 / 184756) < 1e-15);
	assert_true(stats_mann_whitney_p(a, 10, a, 10) > 0.9);
	/* all ties: no evidence of a difference */
	for (int i = 0; i < 10; i++)
		a[i] = b[i] = 7;
	assert_true(stats_mann_whitney_p(a, 10, b, 10) == 1.0);
}

static void test_aa_comparison_flags_nothing_in_the_large_majority(void **state)
{
	double a[10], b[10];
	unsigned flagged = 0, trials = 500;
	struct comparison c;
	struct rng r = { 0x5eed0001 };

	(void)state;
	for (unsigned t = 0; t < trials; t++) {
		fill(&r, a, 10, 100, 0.03);
		fill(&r, b, 10, 100, 0.03);
		stats_compare(a, 10, b, 10, false, 0.01, 0.03, &c);
		flagged += c.verdict == VERDICT_DIFFERENT;
	}
	print_message("# A/A: %u of %u trials flagged\n", flagged, trials);
	assert_true(flagged <= trials / 50); /* at most 2% */
}

static void test_five_percent_shift_with_realistic_noise_is_flagged(void **state)
{
	double a[10], b[10];
	unsigned slower = 0, faster = 0, trials = 300;
	struct comparison c;
	struct rng r = { 0x5eed0002 };

	(void)state;
	for (unsigned t = 0; t < trials; t++) {
		fill(&r, a, 10, 100, 0.02);
		fill(&r, b, 10, 105, 0.02); /* 5% more time: a regression */
		stats_compare(a, 10, b, 10, false, 0.01, 0.03, &c);
		slower += c.verdict == VERDICT_DIFFERENT && !c.faster;
		faster += c.verdict == VERDICT_DIFFERENT && c.faster;
	}
	print_message("# 5%% shift: %u of %u trials flagged slower\n", slower, trials);
	assert_true(slower >= trials * 9 / 10);
	assert_int_equal(faster, 0);
}

static void test_direction_follows_higher_is_better(void **state)
{
	double a[12], b[12];
	struct comparison c;
	struct rng r = { 0x5eed0003 };

	(void)state;
	fill(&r, a, 12, 10, 0.01);
	fill(&r, b, 12, 12, 0.01); /* 20% more */
	stats_compare(a, 12, b, 12, true, 0.01, 0.03, &c);
	assert_int_equal(c.verdict, VERDICT_DIFFERENT);
	assert_true(c.faster); /* throughput went up */
	assert_string_equal(stats_verdict_name(&c), "faster");
	stats_compare(a, 12, b, 12, false, 0.01, 0.03, &c);
	assert_int_equal(c.verdict, VERDICT_DIFFERENT);
	assert_false(c.faster); /* time went up */
	assert_string_equal(stats_verdict_name(&c), "slower");
	assert_true(c.ratio > 1.15 && c.ratio < 1.25);
	assert_true(c.ci_lo < c.ratio && c.ratio < c.ci_hi);
	assert_true(c.ci_lo > 1.1 && c.ci_hi < 1.3);
}

static void test_small_significant_change_below_min_effect_is_same(void **state)
{
	double a[40], b[40];
	struct comparison c;
	struct rng r = { 0x5eed0004 };

	(void)state;
	fill(&r, a, 40, 100, 0.002);
	fill(&r, b, 40, 101, 0.002); /* 1%: significant, but under the 3% minimum effect */
	stats_compare(a, 40, b, 40, false, 0.01, 0.03, &c);
	assert_true(c.p < 0.01);
	assert_int_equal(c.verdict, VERDICT_SAME);
}

/*
 * Independent reference: the two-sided permutation p of the rank sum,
 * by enumerating every way of giving na of the n pooled values to the
 * first sample.  Midranks here are counted directly (values below, plus
 * half the other equal values), not by sorting as stats.c does.
 */
static double brute_force_p(const double *a, size_t na, const double *b, size_t nb)
{
	double v[16], rank2[16]; /* doubled midranks */
	size_t n = na + nb;
	double obs = 0, mean = (double)na * (double)(n + 1), hits = 0, all = 0;

	assert_true(n <= 16);
	for (size_t i = 0; i < na; i++)
		v[i] = a[i];
	for (size_t i = 0; i < nb; i++)
		v[na + i] = b[i];
	for (size_t i = 0; i < n; i++) {
		double below = 0, equal = 0;

		for (size_t j = 0; j < n; j++) {
			below += v[j] < v[i];
			equal += v[j] == v[i];
		}
		rank2[i] = 2 * below + equal + 1; /* 2 * (below + (equal + 1) / 2) */
	}
	for (size_t i = 0; i < na; i++)
		obs += rank2[i];
	for (uint32_t mask = 0; mask < (1u << n); mask++) {
		double sum = 0;

		if ((size_t)__builtin_popcount(mask) != na)
			continue;
		for (size_t i = 0; i < n; i++)
			if (mask & (1u << i))
				sum += rank2[i];
		all++;
		hits += fabs(sum - mean) >= fabs(obs - mean) - 1e-9;
	}
	return hits / all;
}

static void assert_p_matches_enumeration(const double *a, size_t na, const double *b, size_t nb)
{
	double got = stats_mann_whitney_p(a, na, b, nb), want = brute_force_p(a, na, b, nb);

	if (fabs(got - want) > 1e-12)
		fail_msg("%zu vs %zu samples: p %.15g, enumeration of every rank assignment gives %.15g", na,
			 nb, got, want);
}

static void test_exact_p_equals_enumeration_of_every_rank_assignment(void **state)
{
	struct rng r = { 0x5eed0005 };
	static const size_t sizes[][2] = { { 2, 3 }, { 3, 3 }, { 3, 5 }, { 4, 4 }, { 5, 5 }, { 4, 7 },
					  { 6, 6 }, { 7, 5 }, { 8, 8 } };

	(void)state;
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		for (int t = 0; t < 20; t++) {
			double a[8], b[8];
			size_t na = sizes[k][0], nb = sizes[k][1];
			double shift = (double)(t % 5) * 0.4;

			/* t odd: values on a coarse grid, so ties within and across the samples */
			for (size_t i = 0; i < na; i++)
				a[i] = t & 1 ? floor(uniform(&r) * 4) : normal(&r, 0, 1);
			for (size_t i = 0; i < nb; i++)
				b[i] = t & 1 ? floor(uniform(&r) * 4 + shift) : normal(&r, shift, 1);
			assert_p_matches_enumeration(a, na, b, nb);
		}
	}
}

/* The textbook null distribution of U for 5 vs 5: 1, 1, 2 of 252 rank assignments for U = 0, 1, 2. */
static void test_exact_p_known_values_for_five_against_five(void **state)
{
	double a[5] = { 1, 2, 3, 4, 5 }, b[5] = { 6, 7, 8, 9, 10 };

	(void)state;
	assert_true(fabs(stats_mann_whitney_p(a, 5, b, 5) - 2.0 / 252) < 1e-15); /* U = 0 */
	assert_true(fabs(stats_mann_whitney_p(b, 5, a, 5) - 2.0 / 252) < 1e-15);
	a[4] = 6.5; /* one pair out of order: U = 1, P(U <= 1) = 2/252, two-sided 4/252 */
	assert_true(fabs(stats_mann_whitney_p(a, 5, b, 5) - 4.0 / 252) < 1e-15);
	a[4] = 7.5; /* U = 2: P(U <= 2) = 4/252, two-sided 8/252 */
	assert_true(fabs(stats_mann_whitney_p(a, 5, b, 5) - 8.0 / 252) < 1e-15);
	/* the smallest p 5 vs 5 can give is below 0.01; 4 vs 4 cannot get under 0.01 at all */
	assert_true(fabs(stats_mw_min_p(5, 5) - 2.0 / 252) < 1e-15);
	assert_true(fabs(stats_mw_min_p(4, 4) - 2.0 / 70) < 1e-15);
	assert_true(stats_mw_min_p(5, 5) < 0.01);
}

/* Ties: midranks, and the conditional distribution given the ties. */
static void test_exact_p_with_ties(void **state)
{
	double a[5] = { 1, 1, 2, 2, 3 }, b[5] = { 2, 3, 3, 4, 4 };
	double c[4] = { 5, 5, 5, 5 }, d[4] = { 5, 5, 5, 6 };

	(void)state;
	assert_p_matches_enumeration(a, 5, b, 5);
	assert_true(stats_mann_whitney_p(a, 5, b, 5) < 0.1);
	/* all but one value tied: the only other arrangement puts 6 in the first sample */
	assert_true(fabs(stats_mann_whitney_p(c, 4, d, 4) - 1.0) < 1e-15);
	assert_p_matches_enumeration(c, 4, d, 4);
	assert_true(stats_mann_whitney_p(c, 4, c, 4) == 1.0);
}

/* The normal approximation with continuity correction, no ties: the textbook formula. */
static double normal_p(double u, double na, double nb)
{
	double z = (fabs(u - na * nb / 2) - 0.5) / sqrt(na * nb * (na + nb + 1) / 12);

	return erfc(z / sqrt(2.0));
}

/*
 * Up to 50 per side exact; beyond, the normal approximation.  Samples
 * shifted by 10.5 ranks: U = (n - 10)(n - 11)/2 + ... counted here directly.
 */
static void test_large_samples_switch_to_the_normal_approximation_past_50(void **state)
{
	double a[60], b[60];

	(void)state;
	for (int n = 50; n <= 51; n++) {
		double u = 0, p;

		for (int i = 0; i < n; i++) {
			a[i] = i;
			b[i] = i + 10.5;
		}
		for (int i = 0; i < n; i++)
			for (int j = 0; j < n; j++)
				u += a[i] > b[j];
		p = stats_mann_whitney_p(a, (size_t)n, b, (size_t)n);
		print_message("# %d vs %d: p %.6g, normal approximation %.6g\n", n, n, p, normal_p(u, n, n));
		if (n == 51)
			assert_true(fabs(p - normal_p(u, n, n)) < 1e-12);
		else /* exact: 2 P(U <= 780), by the recursion f(m,n,u) = f(m-1,n,u-n) + f(m,n-1,u) in Python */
			assert_true(fabs(p - 0.0010550164711136758) < 1e-12);
	}
	for (int i = 0; i < 60; i++)
		b[i] = a[i] + 1000;
	assert_true(stats_mann_whitney_p(a, 60, b, 60) < 1e-15);
}

/*
 * The detectable shift is what the test really detects: at it, 80% of
 * fresh draws (another generator than stats.c's) give p < alpha.
 */
static void test_detectable_shift_has_the_power_it_claims(void **state)
{
	static const size_t ns[] = { 5, 8 };

	(void)state;
	assert_true(isinf(stats_mw_detectable_sd(4, 4, 0.01))); /* 2/70 > 0.01: nothing detectable */
	assert_true(isinf(stats_mw_detectable_sd(3, 3, 0.05)));
	for (size_t k = 0; k < 2; k++) {
		size_t n = ns[k];
		double d = stats_mw_detectable_sd(n, n, 0.01), a[8], b[8];
		unsigned hit = 0, trials = 2000;
		struct rng r = { 0x5eed0007 };

		assert_true(isfinite(d));
		for (unsigned t = 0; t < trials; t++) {
			for (size_t i = 0; i < n; i++) {
				a[i] = normal(&r, 0, 1);
				b[i] = normal(&r, d, 1);
			}
			hit += stats_mann_whitney_p(a, n, b, n) < 0.01;
		}
		print_message("# %zu vs %zu: detectable shift %.3f sd, power there %u of %u\n", n, n, d, hit,
			      trials);
		assert_true(hit >= trials * 75 / 100 && hit <= trials * 85 / 100);
	}
	/* lopsided counts: the same either way round, and between the two balanced ones */
	assert_true(stats_mw_detectable_sd(10, 250, 0.01) == stats_mw_detectable_sd(250, 10, 0.01));
	assert_true(stats_mw_detectable_sd(10, 250, 0.01) < stats_mw_detectable_sd(10, 10, 0.01));
	assert_true(stats_mw_detectable_sd(10, 250, 0.01) > stats_mw_detectable_sd(250, 250, 0.01));
	/* more samples detect less */
	assert_true(stats_mw_detectable_sd(8, 8, 0.01) < stats_mw_detectable_sd(5, 5, 0.01));
	assert_true(stats_mw_detectable_sd(60, 60, 0.01) < stats_mw_detectable_sd(50, 50, 0.01));
}

/* The three verdicts on constructed samples. */
static void test_three_verdicts(void **state)
{
	double tight[5] = { 100.0, 100.2, 99.8, 100.1, 99.9 }, tight2[5] = { 100.3, 99.9, 100.1, 100.2, 100.0 };
	double slow[5] = { 110.0, 110.2, 109.8, 110.1, 109.9 };
	double noisy[5] = { 90, 110, 100, 95, 105 }, noisy2[5] = { 92, 108, 101, 97, 104 };
	double few[3] = { 100, 100.1, 99.9 }, few_slow[3] = { 150, 150.1, 149.9 };
	struct comparison c;

	(void)state;
	/* same: the ratio's interval lies within 1 +- 3% */
	stats_compare(tight, 5, tight2, 5, false, 0.01, 0.03, &c);
	assert_int_equal(c.verdict, VERDICT_SAME);
	assert_string_equal(stats_verdict_name(&c), "same");
	assert_true(c.ci_lo >= 0.97 && c.ci_hi <= 1.03);
	assert_true(c.detectable < 0.03); /* 0.16% noise: a 3% change would show */
	/* different: 10% more time, completely separated */
	stats_compare(tight, 5, slow, 5, false, 0.01, 0.03, &c);
	assert_int_equal(c.verdict, VERDICT_DIFFERENT);
	assert_false(c.faster);
	assert_true(fabs(c.p - 2.0 / 252) < 1e-15);
	stats_compare(slow, 5, tight, 5, false, 0.01, 0.03, &c);
	assert_int_equal(c.verdict, VERDICT_DIFFERENT);
	assert_true(c.faster);
	/* unknown: 8% noise, 5 samples: the interval reaches beyond 3%, and nothing is significant */
	stats_compare(noisy, 5, noisy2, 5, false, 0.01, 0.03, &c);
	assert_int_equal(c.verdict, VERDICT_UNKNOWN);
	assert_string_equal(stats_verdict_name(&c), "unknown");
	assert_true(c.detectable > 0.05);
	/* unknown, not same, when the test cannot reach alpha at all: 3 vs 3, 50% apart */
	stats_compare(few, 3, few_slow, 3, false, 0.01, 0.03, &c);
	assert_int_equal(c.verdict, VERDICT_UNKNOWN);
	assert_true(isinf(c.detectable));
}

/*
 * The ratio's interval, 5 vs 5: the 3rd smallest and 3rd largest of the 25
 * ratios b/a (the textbook two-sided 5% critical value of U at 5, 5 is 2,
 * so k = 3), here sorted by the test itself; 3 vs 3 cannot bound it.
 */
static int cmp_dbl(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return (a > b) - (a < b);
}

static void test_ratio_interval_is_the_inverted_rank_test(void **state)
{
	double a[5] = { 10, 11, 9.5, 10.4, 10.1 }, b[5] = { 12, 10.8, 11.5, 12.2, 11.1 }, r[25], lo, hi;

	(void)state;
	for (int i = 0; i < 5; i++)
		for (int j = 0; j < 5; j++)
			r[i * 5 + j] = b[j] / a[i];
	qsort(r, 25, sizeof(r[0]), cmp_dbl);
	assert_int_equal(stats_ratio_interval(a, 5, b, 5, 0.05, &lo, &hi), 0);
	assert_true(fabs(lo - r[2]) < 1e-12 && fabs(hi - r[22]) < 1e-12);
	assert_int_equal(stats_ratio_interval(a, 3, b, 3, 0.05, &lo, &hi), 0);
	assert_true(lo == 0 && isinf(hi));
	a[0] = 0; /* no logarithm: the caller falls back to the bootstrap */
	assert_int_equal(stats_ratio_interval(a, 5, b, 5, 0.05, &lo, &hi), -1);
}

/* Student's t against the published tables (e.g. any statistics text's t table). */
static void test_student_t_matches_the_published_tables(void **state)
{
	static const struct {
		double q, df, t;
	} table[] = {
		{ 0.025, 1, 12.706 }, { 0.025, 4, 2.776 }, { 0.025, 10, 2.228 }, { 0.025, 30, 2.042 },
		{ 0.005, 4, 4.604 },  { 0.005, 9, 3.250 }, { 0.05, 5, 2.015 },   { 0.1, 20, 1.325 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		double t = stats_student_upper(table[i].q, table[i].df);

		print_message("# t(%g, %g) = %.4f (table %.3f)\n", table[i].q, table[i].df, t, table[i].t);
		assert_true(fabs(t - table[i].t) < 0.0015);
		assert_true(fabs(stats_student_sf(table[i].t, table[i].df) - table[i].q) < 0.0005);
	}
	assert_true(stats_student_sf(0, 7) == 0.5);
	assert_true(fabs(stats_student_sf(-2.776, 4) - 0.975) < 0.0005);
	/* many degrees of freedom: the normal */
	assert_true(fabs(stats_student_upper(0.025, 1e6) - 1.95996) < 1e-3);
}

/*
 * Runs with a run effect: every run's samples share exp(b), b normal with
 * run_sd, on top of 1% noise per repetition; n repetitions each.
 */
static void fill_run(struct rng *r, double *v, size_t n, double mean, double run_sd)
{
	double b = exp(normal(r, 0, run_sd));

	fill(r, v, n, mean * b, 0.01);
}

/*
 * The failure the validation on real runs found: two runs that differ only
 * by the host's drift between them are called different by the rank test
 * on their repetitions; with the between-run noise in the comparison they
 * are not, at about the nominal rate.
 */
static void test_between_run_drift_is_not_called_a_change(void **state)
{
	double a[10], b[10];
	unsigned plain = 0, with_runs = 0, trials = 1000;
	struct comparison c;
	struct rng r = { 0x5eed0011 };

	(void)state;
	for (unsigned t = 0; t < trials; t++) {
		fill_run(&r, a, 10, 100, 0.05);
		fill_run(&r, b, 10, 100, 0.05);
		stats_compare(a, 10, b, 10, false, 0.01, 0.03, &c);
		plain += c.verdict == VERDICT_DIFFERENT;
		stats_compare_runs(a, 10, b, 10, false, 0.01, 0.03, 0.05, 5, &c);
		with_runs += c.verdict == VERDICT_DIFFERENT;
		assert_true(c.run_sd == 0.05);
		assert_true(c.ci_lo <= c.ratio && c.ratio <= c.ci_hi);
	}
	print_message("# A/A with 5%% drift between runs: %u of %u flagged by the rank test alone, %u with the "
		      "between-run noise\n", plain, trials, with_runs);
	assert_true(plain > trials / 2);
	assert_true(with_runs <= trials * 2 / 100); /* alpha 1%: at most 2% */
}

/* A change well above the between-run noise is still found, and what it can detect says so. */
static void test_a_change_above_the_between_run_noise_is_found(void **state)
{
	double a[10], b[10];
	unsigned slower = 0, trials = 500;
	struct comparison c;
	struct rng r = { 0x5eed0012 };

	(void)state;
	for (unsigned t = 0; t < trials; t++) {
		fill_run(&r, a, 10, 100, 0.01);
		fill_run(&r, b, 10, 110, 0.01); /* 10% more time, 1% drift, calibrated on 10 runs */
		stats_compare_runs(a, 10, b, 10, false, 0.01, 0.03, 0.01, 9, &c);
		slower += c.verdict == VERDICT_DIFFERENT && !c.faster;
	}
	print_message("# 10%% change, 1%% drift: %u of %u found slower\n", slower, trials);
	assert_true(slower >= trials * 95 / 100);
	/* what two runs can tell apart grows with the drift: at least (t + t) sqrt(2) run_sd */
	stats_compare_runs(a, 10, b, 10, false, 0.01, 0.03, 0.05, 9, &c);
	assert_true(c.detectable >= (3.250 + 0.883) * sqrt(2.0) * 0.05);
	stats_compare_runs(a, 10, b, 10, false, 0.01, 0.03, 0.01, 9, &c);
	assert_true(c.detectable < (3.250 + 0.883) * sqrt(2.0) * 0.05);
}

/* No between-run figure: the comparison is stats_compare's, field for field. */
static void test_no_between_run_noise_is_the_plain_comparison(void **state)
{
	double a[10], b[10];
	struct comparison x, y;
	struct rng r = { 0x5eed0013 };

	(void)state;
	fill(&r, a, 10, 100, 0.02);
	fill(&r, b, 10, 104, 0.02);
	stats_compare(a, 10, b, 10, false, 0.01, 0.03, &x);
	stats_compare_runs(a, 10, b, 10, false, 0.01, 0.03, 0, 9, &y);
	assert_memory_equal(&x, &y, sizeof(x));
	stats_compare_runs(a, 10, b, 10, false, 0.01, 0.03, 0.02, 0, &y); /* no degrees of freedom */
	assert_memory_equal(&x, &y, sizeof(x));
	assert_true(x.run_sd == 0);
}

/*
 * Sets of runs: base runs' medians 100 e^-0.01, 100, 100 e^0.01 and new ones
 * 10% above each: the log medians differ by log 1.1 exactly, each side
 * spreads by 0.01 (pooled sd 0.01 on 4 degrees of freedom), so the ratio
 * is 1.1 and the interval 1.1 exp(+-2.776 * 0.01 * sqrt(2/3)).
 */
static void test_sets_of_runs_compare_their_medians(void **state)
{
	double b[3] = { 100 * exp(-0.01), 100, 100 * exp(0.01) }, c[3];
	double half = 2.776 * 0.01 * sqrt(2.0 / 3);
	struct comparison x;

	(void)state;
	for (int i = 0; i < 3; i++)
		c[i] = 1.1 * b[i];
	stats_compare_medians(b, 3, c, 3, false, 0.01, 0.03, &x);
	assert_true(fabs(x.ratio - 1.1) < 1e-12);
	assert_true(fabs(x.run_sd - 0.01) < 1e-12);
	assert_true(fabs(x.ci_lo - 1.1 * exp(-half)) < 1e-4);
	assert_true(fabs(x.ci_hi - 1.1 * exp(half)) < 1e-4);
	assert_true(x.p < 0.001); /* t = 11.7 on 4 df; the table: 8.610 for p = 0.001 two-sided */
	assert_int_equal(x.verdict, VERDICT_DIFFERENT);
	assert_false(x.faster);
	/* the same runs on both sides: same */
	stats_compare_medians(b, 3, b, 3, false, 0.01, 0.03, &x);
	assert_int_equal(x.verdict, VERDICT_SAME);
	/* one run against three is enough (3 runs in all); two in all is not */
	stats_compare_medians(b, 3, c, 1, false, 0.01, 0.03, &x);
	assert_true(fabs(x.ratio - 1.1 * exp(-0.01)) < 1e-12); /* c[0] against the base runs' geometric mean, 100 */
	stats_compare_medians(b, 1, c, 1, false, 0.01, 0.03, &x);
	assert_int_equal(x.verdict, VERDICT_UNKNOWN);
	assert_true(isnan(x.ratio));
	/* a median that is not positive has no logarithm */
	b[1] = 0;
	stats_compare_medians(b, 3, c, 3, false, 0.01, 0.03, &x);
	assert_int_equal(x.verdict, VERDICT_UNKNOWN);
}

/*
 * Sets of runs on drifting runs: A/A flags about alpha of them, and a 10%
 * change with 1% drift is found with 5 runs a side.
 */
static void test_sets_of_runs_cope_with_drift(void **state)
{
	double a[10], mb[5], mc[5];
	unsigned flagged = 0, found = 0, trials = 1000;
	struct comparison c;
	struct rng r = { 0x5eed0014 };

	(void)state;
	for (unsigned t = 0; t < trials; t++) {
		for (int k = 0; k < 5; k++) {
			struct summary sum;

			fill_run(&r, a, 10, 100, 0.05);
			stats_summarize(a, 10, &sum);
			mb[k] = sum.median;
			fill_run(&r, a, 10, 100, 0.05);
			stats_summarize(a, 10, &sum);
			mc[k] = sum.median;
		}
		stats_compare_medians(mb, 5, mc, 5, false, 0.01, 0.03, &c);
		flagged += c.verdict == VERDICT_DIFFERENT;
	}
	for (unsigned t = 0; t < 200; t++) {
		for (int k = 0; k < 5; k++) {
			struct summary sum;

			fill_run(&r, a, 10, 100, 0.01);
			stats_summarize(a, 10, &sum);
			mb[k] = sum.median;
			fill_run(&r, a, 10, 110, 0.01);
			stats_summarize(a, 10, &sum);
			mc[k] = sum.median;
		}
		stats_compare_medians(mb, 5, mc, 5, false, 0.01, 0.03, &c);
		found += c.verdict == VERDICT_DIFFERENT && !c.faster;
	}
	print_message("# 5 runs a side, 5%% drift: %u of %u A/A flagged; 10%% change, 1%% drift: %u of 200 found\n",
		      flagged, trials, found);
	assert_true(flagged <= trials * 2 / 100);
	assert_true(found >= 200 * 95 / 100);
}

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test(test_summary_of_known_samples),
		cmocka_unit_test(test_mann_whitney_p_values),
		cmocka_unit_test(test_aa_comparison_flags_nothing_in_the_large_majority),
		cmocka_unit_test(test_five_percent_shift_with_realistic_noise_is_flagged),
		cmocka_unit_test(test_direction_follows_higher_is_better),
		cmocka_unit_test(test_small_significant_change_below_min_effect_is_same),
		cmocka_unit_test(test_exact_p_equals_enumeration_of_every_rank_assignment),
		cmocka_unit_test(test_exact_p_known_values_for_five_against_five),
		cmocka_unit_test(test_exact_p_with_ties),
		cmocka_unit_test(test_large_samples_switch_to_the_normal_approximation_past_50),
		cmocka_unit_test(test_detectable_shift_has_the_power_it_claims),
		cmocka_unit_test(test_three_verdicts),
		cmocka_unit_test(test_ratio_interval_is_the_inverted_rank_test),
		cmocka_unit_test(test_student_t_matches_the_published_tables),
		cmocka_unit_test(test_between_run_drift_is_not_called_a_change),
		cmocka_unit_test(test_a_change_above_the_between_run_noise_is_found),
		cmocka_unit_test(test_no_between_run_noise_is_the_plain_comparison),
		cmocka_unit_test(test_sets_of_runs_compare_their_medians),
		cmocka_unit_test(test_sets_of_runs_cope_with_drift),
	};

	return TEST_RUN_GROUP(tests, NULL, NULL);
}
