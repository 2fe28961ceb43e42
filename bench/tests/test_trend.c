// SPDX-License-Identifier: MIT
/* unit: the soak suite's trend fit and verdicts, on synthetic samples whose truth we know. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "testutil.h"
#include "trend.h"

static uint64_t rng;

static double uniform(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return ((double)(rng >> 11) + 0.5) / 9007199254740992.0;
}

static double normal(double sd)
{
	return sd * sqrt(-2 * log(uniform())) * cos(2 * M_PI * uniform());
}

#define N 1000
static double X[N], Y[N];

/*
 * Before each test: the generator at its seed and the sample arrays zeroed,
 * so a test sees the same numbers whichever tests ran before it (or none).
 */
static int fresh(void **state)
{
	(void)state;
	rng = 777;
	memset(X, 0, sizeof(X));
	memset(Y, 0, sizeof(Y));
	return 0;
}

/* Samples every 10 cycles, as the soak suite takes them. */
static void cycles(size_t n)
{
	for (size_t i = 0; i < n; i++)
		X[i] = (double)(i + 1) * 10;
}

static void test_an_exact_line_has_its_slope_and_a_zero_width_interval(void **state)
{
	struct trend_fit f;

	(void)state;
	cycles(50);
	for (size_t i = 0; i < 50; i++)
		Y[i] = 3 + 2 * X[i];
	assert_int_equal(trend_fit(X, Y, 50, &f), 0);
	assert_true(fabs(f.slope - 2) < 1e-12);
	assert_true(fabs(f.intercept - 3) < 1e-9);
	assert_true(fabs(f.lo - 2) < 1e-9 && fabs(f.hi - 2) < 1e-9);
}

static void test_the_interval_holds_the_true_slope_of_noisy_samples(void **state)
{
	unsigned held = 0;

	(void)state;
	cycles(200);
	/* 95% intervals: about 95 of 100 independent trials must contain the truth. */
	for (unsigned trial = 0; trial < 100; trial++) {
		struct trend_fit f;

		for (size_t i = 0; i < 200; i++)
			Y[i] = 5000 + 0.25 * X[i] + normal(40);
		assert_int_equal(trend_fit(X, Y, 200, &f), 0);
		held += f.lo <= 0.25 && 0.25 <= f.hi;
		assert_true(f.lo < f.slope && f.slope < f.hi);
	}
	assert_true(held >= 88 && held <= 100);
}

static void test_too_few_samples_or_one_cycle_cannot_be_fitted(void **state)
{
	struct trend_fit f;
	double same[3] = { 10, 10, 10 };

	(void)state;
	cycles(3);
	assert_int_equal(trend_fit(X, Y, 2, &f), -EINVAL);
	assert_int_equal(trend_fit(same, Y, 3, &f), -EINVAL);
}

static void test_t_quantiles_match_the_table_and_approach_the_normal(void **state)
{
	(void)state;
	assert_true(fabs(trend_t975(1) - 12.706) < 1e-3);
	assert_true(fabs(trend_t975(10) - 2.228) < 1e-3);
	assert_true(fabs(trend_t975(30) - 2.042) < 1e-3);
	assert_true(fabs(trend_t975(40) - 2.021) < 1e-3);   /* published: 2.0211 */
	assert_true(fabs(trend_t975(120) - 1.980) < 1e-3);  /* published: 1.9799 */
	assert_true(fabs(trend_t975(100000) - 1.960) < 1e-3);
	for (unsigned df = 2; df < 200; df++)
		assert_true(trend_t975(df) < trend_t975(df - 1));
	assert_true(isnan(trend_t975(0)));
}

static void test_a_steady_count_is_flat_and_one_more_descriptor_is_not(void **state)
{
	struct trend_result r;

	(void)state;
	cycles(100);
	for (size_t i = 0; i < 100; i++)
		Y[i] = 26;
	assert_int_equal(trend_judge(X, Y, 100, TREND_EXACT, NAN, 1000, &r), 0);
	assert_true(r.judged && r.pass);
	Y[99] = 27; /* one descriptor more, at the very end */
	assert_int_equal(trend_judge(X, Y, 100, TREND_EXACT, NAN, 1000, &r), 0);
	assert_false(r.pass);
	assert_non_null(strstr(r.why, "27 at cycle 1000"));
	Y[99] = 26;
	Y[50] = 25; /* a count that drops is not steady either */
	assert_int_equal(trend_judge(X, Y, 100, TREND_EXACT, NAN, 1000, &r), 0);
	assert_false(r.pass);
}

static void test_a_slope_rule_fails_a_steady_leak_and_passes_noise_and_one_step(void **state)
{
	struct trend_result r;

	(void)state;
	cycles(N);
	/* 1 KiB per cycle: 1000 KiB per 1,000 cycles against a 256 KiB limit. */
	for (size_t i = 0; i < N; i++)
		Y[i] = 8000 + X[i] + normal(64);
	assert_int_equal(trend_judge(X, Y, N, TREND_SLOPE, 256, 1000, &r), 0);
	assert_false(r.pass);
	assert_true(r.fit.lo > 900 && r.fit.hi < 1100);
	assert_non_null(strstr(r.why, "ABOVE"));
	/* Noise of +-64 KiB around a level: flat. */
	for (size_t i = 0; i < N; i++)
		Y[i] = 8000 + normal(64);
	assert_int_equal(trend_judge(X, Y, N, TREND_SLOPE, 256, 1000, &r), 0);
	assert_true(r.pass);
	/* One 256 KiB step half-way through 10,000 cycles (the heap grew once): about 38 per 1,000. */
	for (size_t i = 0; i < N; i++)
		Y[i] = 8000 + (i >= N / 2 ? 256 : 0);
	assert_int_equal(trend_judge(X, Y, N, TREND_SLOPE, 256, 1000, &r), 0);
	assert_true(r.pass);
	assert_true(r.fit.slope > 30 && r.fit.slope < 45);
}

static void test_a_drop_rule_judges_the_fitted_fall_over_the_run(void **state)
{
	struct trend_result r;

	(void)state;
	cycles(100);
	/* 2 MiB lost per cycle over 990 cycles: about 1.9 GiB, against a 1 GiB bound. */
	for (size_t i = 0; i < 100; i++)
		Y[i] = 24e6 - 2048 * X[i] + normal(50000);
	assert_int_equal(trend_judge(X, Y, 100, TREND_DROP, 1 << 20, 1000, &r), 0);
	assert_false(r.pass);
	/* Gaining memory is never a failure. */
	for (size_t i = 0; i < 100; i++)
		Y[i] = 24e6 + 2048 * X[i];
	assert_int_equal(trend_judge(X, Y, 100, TREND_DROP, 1 << 20, 1000, &r), 0);
	assert_true(r.pass);
}

static void test_reported_figures_are_never_judged(void **state)
{
	struct trend_result r;

	(void)state;
	cycles(10);
	for (size_t i = 0; i < 10; i++)
		Y[i] = (double)i * 1000;
	assert_int_equal(trend_judge(X, Y, 10, TREND_REPORT, NAN, 1000, &r), 0);
	assert_false(r.judged);
	assert_true(r.pass);
	assert_true(fabs(r.fit.slope - 100000) < 1e-6); /* 100 per cycle, per 1,000 cycles */
	assert_true(r.first == 0 && r.last == 9000 && r.min == 0 && r.max == 9000);
}

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_an_exact_line_has_its_slope_and_a_zero_width_interval, fresh),
		cmocka_unit_test_setup(test_the_interval_holds_the_true_slope_of_noisy_samples, fresh),
		cmocka_unit_test_setup(test_too_few_samples_or_one_cycle_cannot_be_fitted, fresh),
		cmocka_unit_test_setup(test_t_quantiles_match_the_table_and_approach_the_normal, fresh),
		cmocka_unit_test_setup(test_a_steady_count_is_flat_and_one_more_descriptor_is_not, fresh),
		cmocka_unit_test_setup(test_a_slope_rule_fails_a_steady_leak_and_passes_noise_and_one_step, fresh),
		cmocka_unit_test_setup(test_a_drop_rule_judges_the_fitted_fall_over_the_run, fresh),
		cmocka_unit_test_setup(test_reported_figures_are_never_judged, fresh),
	};

	return TEST_RUN_GROUP(tests, NULL, NULL);
}
