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
	/* completely separated samples of 10: exact p is 1.08e-5; the normal approximation is close */
	assert_true(stats_mann_whitney_p(a, 10, b, 10) < 0.001);
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
		flagged += c.verdict != VERDICT_SAME;
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
		slower += c.verdict == VERDICT_SLOWER;
		faster += c.verdict == VERDICT_FASTER;
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
	assert_int_equal(c.verdict, VERDICT_FASTER); /* throughput went up */
	stats_compare(a, 12, b, 12, false, 0.01, 0.03, &c);
	assert_int_equal(c.verdict, VERDICT_SLOWER); /* time went up */
	assert_true(c.ratio > 1.15 && c.ratio < 1.25);
	assert_true(c.ci_lo < c.ratio && c.ratio < c.ci_hi);
	assert_true(c.ci_lo > 1.1 && c.ci_hi < 1.3);
}

static void test_small_significant_change_below_min_effect_is_no_change(void **state)
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

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test(test_summary_of_known_samples),
		cmocka_unit_test(test_mann_whitney_p_values),
		cmocka_unit_test(test_aa_comparison_flags_nothing_in_the_large_majority),
		cmocka_unit_test(test_five_percent_shift_with_realistic_noise_is_flagged),
		cmocka_unit_test(test_direction_follows_higher_is_better),
		cmocka_unit_test(test_small_significant_change_below_min_effect_is_no_change),
	};

	return TEST_RUN_GROUP(tests, NULL, NULL);
}
