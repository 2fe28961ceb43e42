// SPDX-License-Identifier: MIT
/*
 * unit: E-divisive change points (bench/changepoint.h) on constructed
 * series whose truth we know: per-run medians at a level, with Gaussian
 * noise of 1-2%, shifted by a known amount at known indices.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "changepoint.h"
#include "testutil.h"

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

/* x[i] = level * (1 + noise) for i in [0, n), times (1 + shift[k]) from index at[k] on. */
static void series(double *x, size_t n, double noise, const size_t *at, const double *shift, size_t nshift)
{
	for (size_t i = 0; i < n; i++) {
		double level = 1000;

		for (size_t k = 0; k < nshift; k++)
			if (i >= at[k])
				level *= 1 + shift[k];
		x[i] = level * (1 + normal(noise));
	}
}

static int fresh(void **state)
{
	(void)state;
	rng = 0x2545f4914f6cdd1dull;
	return 0;
}

/* One 10% shift at index 17 of 40 amid 1.5% noise: found there, and nothing else. */
static void test_one_shift_is_found_at_its_index_and_nothing_else(void **state)
{
	const size_t at[] = { 17 };
	const double shift[] = { 0.10 };
	struct change_point cp[8];
	struct cp_opts o;
	double x[40];
	int n;

	(void)state;
	cp_opts_default(&o);
	series(x, 40, 0.015, at, shift, 1);
	n = cp_detect(x, 40, &o, cp, 8);
	assert_int_equal(n, 1);
	assert_int_equal(cp[0].index, 17);
	assert_true(cp[0].p < o.alpha);
	/* the size: the medians of the two levels, within the noise of 1000 and 1100 */
	assert_true(fabs(cp[0].before - 1000) < 20);
	assert_true(fabs(cp[0].after - 1100) < 22);
	assert_true(cp[0].shift > 0.07 && cp[0].shift < 0.13);
}

/*
 * The same over 50 noise draws (noise 1% to 2%), the shift anywhere from
 * index 5 to 35: every one found at its index; the false extras few, as
 * the 1% significance of each of the two flat sides allows (about 1 in 50).
 */
static void test_a_shift_is_found_at_its_index_whatever_the_noise_draw(void **state)
{
	struct change_point cp[8];
	struct cp_opts o;
	unsigned extra = 0;
	double x[40];

	(void)state;
	cp_opts_default(&o);
	for (unsigned t = 0; t < 50; t++) {
		size_t at = 5 + t % 31;
		double shift = t % 2 ? 0.10 : -0.10;
		bool hit = false;
		int n;

		series(x, 40, 0.01 + 0.01 * (t % 3) / 2, &at, &shift, 1);
		n = cp_detect(x, 40, &o, cp, 8);
		assert_true(n >= 1);
		for (int k = 0; k < n; k++) {
			if (cp[k].index == at)
				hit = true;
			else
				extra++;
		}
		if (!hit)
			fail_msg("draw %u: the shift at %zu was not found (first change at %zu)", t, at, cp[0].index);
	}
	if (extra > 4)
		fail_msg("%u false changes beside 50 real ones", extra);
}

/* Two shifts (+10% at 12, -8% at 27): both found, at their indices, with their signs. */
static void test_two_shifts_are_both_found(void **state)
{
	const size_t at[] = { 12, 27 };
	const double shift[] = { 0.10, -0.08 };
	struct change_point cp[8];
	struct cp_opts o;
	double x[40];
	int n;

	(void)state;
	cp_opts_default(&o);
	series(x, 40, 0.015, at, shift, 2);
	n = cp_detect(x, 40, &o, cp, 8);
	assert_int_equal(n, 2);
	assert_int_equal(cp[0].index, 12);
	assert_int_equal(cp[1].index, 27);
	assert_true(cp[0].shift > 0.06);
	assert_true(cp[1].shift < -0.04);
	/* the segments between the changes: the second one's before is the middle level */
	assert_true(fabs(cp[1].before - 1100) < 22);
}

/* A flat noisy series has no change at the default 1% significance. */
static void test_a_flat_series_has_no_change(void **state)
{
	struct change_point cp[8];
	struct cp_opts o;
	double x[40];

	(void)state;
	cp_opts_default(&o);
	series(x, 40, 0.02, NULL, NULL, 0);
	assert_int_equal(cp_detect(x, 40, &o, cp, 8), 0);
}

/*
 * The false-alarm rate over 400 flat series (30 runs, 1.5% noise) at alpha
 * 0.05 is near 0.05: the permutation test of the largest statistic is
 * calibrated (a test of Q at its maximum against a fixed threshold, or a
 * t-test at the best split, would alarm far more often).  400 trials: the
 * count's standard deviation is about 4.4 around 20; the bounds are 3 of them.
 */
static void test_the_false_alarm_rate_of_flat_series_is_near_alpha(void **state)
{
	struct change_point cp[8];
	struct cp_opts o;
	unsigned alarms = 0;
	double x[30];

	(void)state;
	cp_opts_default(&o);
	o.alpha = 0.05;
	o.permutations = 199;
	for (unsigned t = 0; t < 400; t++) {
		o.seed = 1000 + t;
		series(x, 30, 0.015, NULL, NULL, 0);
		alarms += cp_detect(x, 30, &o, cp, 8) > 0;
	}
	print_message("# %u of 400 flat series alarmed at alpha 0.05\n", alarms);
	assert_in_range(alarms, 7, 33);
}

/* The shuffles have a fixed seed: the same series gives the same p. */
static void test_results_repeat_with_the_same_seed(void **state)
{
	const size_t at[] = { 9 };
	const double shift[] = { 0.03 };
	struct change_point a[8], b[8];
	struct cp_opts o;
	double x[30];
	int na, nb;

	(void)state;
	cp_opts_default(&o);
	o.alpha = 0.5; /* a weak shift: the p itself is what is compared */
	series(x, 30, 0.02, at, shift, 1);
	na = cp_detect(x, 30, &o, a, 8);
	nb = cp_detect(x, 30, &o, b, 8);
	assert_true(na >= 1);
	assert_int_equal(na, nb);
	for (int k = 0; k < na; k++) {
		assert_int_equal(a[k].index, b[k].index);
		assert_true(a[k].p == b[k].p);
	}
}

/* Too short for two segments of min_segment, or all equal: no change, no error. */
static void test_short_or_constant_series_have_no_change(void **state)
{
	const double x[] = { 1, 1, 1, 2, 2 };
	double flat[20];
	struct change_point cp[4];
	struct cp_opts o;

	(void)state;
	cp_opts_default(&o);
	assert_int_equal(cp_detect(x, 5, &o, cp, 4), 0); /* 5 < 2 * 3 */
	for (size_t i = 0; i < 20; i++)
		flat[i] = 7;
	assert_int_equal(cp_detect(flat, 20, &o, cp, 4), 0);
	/* a step that large on a noiseless series is found once it is long enough */
	for (size_t i = 10; i < 20; i++)
		flat[i] = 8;
	assert_int_equal(cp_detect(flat, 20, &o, cp, 4), 1);
	assert_int_equal(cp[0].index, 10);
}

/* At most `max` changes are returned: the most significant ones, in index order. */
static void test_at_most_max_changes_are_returned(void **state)
{
	const size_t at[] = { 10, 20, 30 };
	const double shift[] = { 0.30, 0.30, 0.02 };
	struct change_point cp[1];
	struct cp_opts o;
	double x[40];

	(void)state;
	cp_opts_default(&o);
	series(x, 40, 0.005, at, shift, 3);
	assert_int_equal(cp_detect(x, 40, &o, cp, 1), 1);
	assert_true(cp[0].index == 10 || cp[0].index == 20);
}

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_one_shift_is_found_at_its_index_and_nothing_else, fresh),
		cmocka_unit_test_setup(test_a_shift_is_found_at_its_index_whatever_the_noise_draw, fresh),
		cmocka_unit_test_setup(test_two_shifts_are_both_found, fresh),
		cmocka_unit_test_setup(test_a_flat_series_has_no_change, fresh),
		cmocka_unit_test_setup(test_the_false_alarm_rate_of_flat_series_is_near_alpha, fresh),
		cmocka_unit_test_setup(test_results_repeat_with_the_same_seed, fresh),
		cmocka_unit_test_setup(test_short_or_constant_series_have_no_change, fresh),
		cmocka_unit_test_setup(test_at_most_max_changes_are_returned, fresh),
	};

	return TEST_RUN_GROUP(tests, NULL, NULL);
}
