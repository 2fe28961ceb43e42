// SPDX-License-Identifier: MIT
/*
 * unit: calibration (bench/calibrate.h): the exact Mann-Whitney critical
 * values against the published tables, the simulated power against what a
 * t-test's sample-size formula says for normal noise, the robust cv, and
 * the calibration file written and read back.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "calibrate.h"
#include "testutil.h"

/*
 * Critical values of U for equal groups, two-sided, from the standard
 * Mann-Whitney tables (e.g. Siegel & Castellan, Table J; reject when U is
 * at most the value).
 */
static void test_critical_values_match_the_published_tables(void **state)
{
	(void)state;
	assert_int_equal(calib_critical_u(5, 0.05), 2);
	assert_int_equal(calib_critical_u(5, 0.01), 0);
	assert_int_equal(calib_critical_u(10, 0.05), 23);
	assert_int_equal(calib_critical_u(10, 0.01), 16);
	assert_int_equal(calib_critical_u(20, 0.05), 127);
	assert_int_equal(calib_critical_u(20, 0.01), 105);
	/* 4 per side cannot reach 0.01: the smallest two-sided p is 2/70 */
	assert_int_equal(calib_critical_u(4, 0.01), -1);
	assert_int_equal(calib_min_reps(0.01), 5);
	assert_int_equal(calib_min_reps(0.05), 4);  /* 2/70 = 0.029 */
	assert_int_equal(calib_min_reps(0.001), 7); /* 2/1716 = 0.0012 > 0.001; 2/3432 */
}

/*
 * Needed repetitions for a 5% change at alpha 0.01, power 0.95: with 1%
 * noise the samples hardly overlap and the exact test's floor (5) is
 * enough; with 5% noise (an effect of one sigma) a t-test needs
 * 2 (z(0.995) + z(0.95))^2 = 35.6 per side and the rank test, 95% as
 * efficient on normal data, about 37; with 10% noise more than 60.
 */
static void test_needed_repetitions_follow_the_noise(void **state)
{
	unsigned n1 = calib_needed(0.01, 0.05, 0.01, 0.95);
	unsigned n3 = calib_needed(0.03, 0.05, 0.01, 0.95);
	unsigned n5 = calib_needed(0.05, 0.05, 0.01, 0.95);

	(void)state;
	print_message("# needed at cv 1%%, 3%%, 5%%: %u, %u, %u\n", n1, n3, n5);
	assert_int_equal(n1, 5);
	/* 3%: a t-test needs 2 * 17.8 * 0.36 = 12.8 */
	assert_in_range(n3, 12, 17);
	assert_in_range(n5, 34, 42);
	assert_int_equal(calib_needed(0.10, 0.05, 0.01, 0.95), 0);
	/* the simulated power at the answer is enough, one below it is not */
	assert_true(calib_power(n5, 0.05, 0.05, 0.01) >= 0.95);
	assert_true(calib_power(n5 - 1, 0.05, 0.05, 0.01) < 0.95);
	/* and with no shift, the test rejects at most alpha of the time (the exact test is conservative) */
	assert_true(calib_power(20, 0.05, 0, 0.01) <= 0.015);
}

/* The robust cv: 1.4826 MAD / median; an outlier moves the plain cv, not it. */
static void test_the_robust_cv_ignores_an_outlier(void **state)
{
	const double v[] = { 98, 99, 100, 101, 102, 100, 500 };

	(void)state;
	/* median 100, deviations 2 1 0 1 2 0 400: MAD 1 */
	assert_true(fabs(calib_robust_cv(v, 7) - 0.014826) < 1e-9);
	assert_true(isnan(calib_robust_cv(v, 0)));
}

static char dir[PATH_MAX];

static int fresh_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/xenith-calib-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	char path[PATH_MAX + 32];

	(void)state;
	snprintf(path, sizeof(path), "%s/calibration.json", dir);
	unlink(path);
	return rmdir(dir);
}

/* A calibration made from a run, written and read back: host, settings and every case's figures. */
static void test_the_calibration_file_round_trips(void **state)
{
	struct bench_run run;
	struct bench_series *quiet, *noisy, *few;
	struct calibration a, b;
	struct errbuf eb;
	char path[PATH_MAX + 32], differs[256];
	const struct calib_entry *e;

	(void)state;
	bench_run_init(&run);
	snprintf(run.env.cpu_model, sizeof(run.env.cpu_model), "Test CPU 9000");
	snprintf(run.env.kernel, sizeof(run.env.kernel), "Linux 6.1.0-test");
	snprintf(run.env.kvm_module, sizeof(run.env.kvm_module), "kvm_pvm");
	snprintf(run.env.date, sizeof(run.env.date), "2026-11-30T12:00:00Z");
	snprintf(run.env.revision, sizeof(run.env.revision), "abc1234");
	run.quick = true;
	quiet = bench_run_series(&run, "compute", "crc32", "guest", "us", false);
	noisy = bench_run_series(&run, "memory", "copy", "native", "MB/s", true);
	few = bench_run_series(&run, "exit", "hypercall", "guest", "ns", false);
	for (int i = 0; i < 20; i++) {
		bench_series_add(quiet, 1000 + (i % 5) * 2);          /* robust cv about 0.3% */
		bench_series_add(noisy, 1000 * (1 + 0.15 * ((i % 4) - 1.5)));  /* about 17% */
	}
	bench_series_add(few, 1);
	bench_series_add(few, 2);
	bench_run_finish(&run);
	assert_int_equal(calib_from_run(&run, &a), 0);
	assert_int_equal(a.nr_entries, 2); /* two samples measure no noise */
	assert_int_equal(calib_find(&a, "compute", "crc32", "guest")->needed, 5);
	assert_int_equal(calib_find(&a, "memory", "copy", "native")->needed, 0);
	snprintf(path, sizeof(path), "%s/calibration.json", dir);
	assert_int_equal(calib_read(&b, path, &eb), -ENOENT);
	assert_int_equal(calib_write(&a, path, &eb), 0);
	assert_int_equal(calib_read(&b, path, &eb), 0);
	assert_string_equal(b.cpu_model, "Test CPU 9000");
	assert_string_equal(b.kernel, "Linux 6.1.0-test");
	assert_string_equal(b.kvm_module, "kvm_pvm");
	assert_string_equal(b.date, "2026-11-30T12:00:00Z");
	assert_string_equal(b.revision, "abc1234");
	assert_true(b.quick);
	assert_true(b.alpha == CALIB_ALPHA && b.effect == CALIB_EFFECT && b.power == CALIB_POWER);
	assert_int_equal(b.nr_entries, a.nr_entries);
	for (size_t i = 0; i < a.nr_entries; i++) {
		e = calib_find(&b, a.entries[i].suite, a.entries[i].name, a.entries[i].mode);
		assert_non_null(e);
		assert_int_equal(e->n, a.entries[i].n);
		assert_int_equal(e->needed, a.entries[i].needed);
		assert_true(fabs(e->median - a.entries[i].median) <= 1e-9 * fabs(a.entries[i].median));
		assert_true(fabs(e->cv - a.entries[i].cv) <= 1e-9);
		assert_true(fabs(e->robust_cv - a.entries[i].robust_cv) <= 1e-9);
	}
	/* the host it came from against another */
	calib_host_differs(&b, &run.env, differs, sizeof(differs));
	assert_string_equal(differs, "");
	snprintf(run.env.cpu_model, sizeof(run.env.cpu_model), "Other CPU");
	calib_host_differs(&b, &run.env, differs, sizeof(differs));
	assert_string_equal(differs, "CPU Test CPU 9000, not Other CPU");
	/* another schema is refused with the reason */
	test_write_text(path, "{\"schema\": \"xenith-bench/1\"}");
	assert_int_equal(calib_read(&b, path, &eb) < 0, 1);
	assert_non_null(strstr(eb.msg, "xenith-bench/1"));
	calib_free(&a);
	calib_free(&b);
	bench_run_free(&run);
}

/*
 * Calibration over several runs: the between-run spread is that of the
 * runs' log medians (worked out here from the medians the runs were built
 * with), the runs needed grow with it, and the file keeps them; a file
 * from before --runs reads as "not measured".
 */
static void test_runs_measure_the_spread_between_runs(void **state)
{
	static const double medians[4] = { 1000, 1020, 990, 1010 };
	struct bench_run runs[4];
	struct calibration a, b;
	struct errbuf eb;
	char path[PATH_MAX + 32];
	const struct calib_entry *e, *f;
	double mean = 0, ss = 0, expect;

	(void)state;
	for (int k = 0; k < 4; k++) {
		struct bench_series *drifting, *steady;

		bench_run_init(&runs[k]);
		snprintf(runs[k].env.cpu_model, sizeof(runs[k].env.cpu_model), "Test CPU 9000");
		drifting = bench_run_series(&runs[k], "compute", "crc32", "native", "us", false);
		steady = bench_run_series(&runs[k], "compute", "crc32", "ratio", "x", true);
		for (int i = 0; i < 9; i++) {
			bench_series_add(drifting, medians[k] + (i - 4)); /* median medians[k] */
			bench_series_add(steady, 1 + 0.0001 * (i - 4));   /* median 1 in every run */
		}
		bench_run_finish(&runs[k]);
	}
	for (int k = 0; k < 4; k++)
		mean += log(medians[k]) / 4;
	for (int k = 0; k < 4; k++)
		ss += (log(medians[k]) - mean) * (log(medians[k]) - mean);
	expect = sqrt(ss / 3);

	assert_int_equal(calib_from_runs(runs, 4, &a), 0);
	assert_int_equal(a.runs, 4);
	e = calib_find(&a, "compute", "crc32", "native");
	f = calib_find(&a, "compute", "crc32", "ratio");
	assert_non_null(e);
	assert_non_null(f);
	assert_int_equal(e->runs, 4);
	print_message("# run sd %.5f (expected %.5f), runs needed %u; steady: %.6f, %u\n", e->run_sd, expect,
		      e->runs_needed, f->run_sd, f->runs_needed);
	assert_true(fabs(e->run_sd - expect) < 1e-12);
	assert_true(e->median == 1005); /* the median of the four medians */
	assert_true(f->run_sd < 1e-9);
	assert_int_equal(f->runs_needed, 1); /* no drift: one run a side is enough */
	/* 1.3% drift measured on 4 runs: one run a side cannot tell 5%, a few can */
	assert_true(e->runs_needed > 1 && e->runs_needed < 10);
	/* more drift, more runs; each answer has the power it claims by the t test's own formula */
	assert_true(calib_runs_needed(0.02, 10, 0.05, 0.01, 0.95) < calib_runs_needed(0.04, 10, 0.05, 0.01, 0.95));
	assert_int_equal(calib_runs_needed(0.5, 10, 0.05, 0.01, 0.95), 0); /* more than CALIB_MAX_REPS */
	assert_int_equal(calib_runs_needed(0.01, 1, 0.05, 0.01, 0.95), 0); /* one run measures no spread */

	snprintf(path, sizeof(path), "%s/calibration.json", dir);
	assert_int_equal(calib_write(&a, path, &eb), 0);
	assert_int_equal(calib_read(&b, path, &eb), 0);
	assert_int_equal(b.runs, 4);
	e = calib_find(&b, "compute", "crc32", "native");
	assert_non_null(e);
	assert_int_equal(e->runs, 4);
	assert_true(fabs(e->run_sd - expect) < 1e-9);
	assert_int_equal(e->runs_needed, calib_find(&a, "compute", "crc32", "native")->runs_needed);
	calib_free(&b);
	/* a calibration of one run (and every file before --runs) has no between-run figures */
	calib_free(&a);
	assert_int_equal(calib_from_run(&runs[0], &a), 0);
	assert_int_equal(calib_write(&a, path, &eb), 0);
	assert_int_equal(calib_read(&b, path, &eb), 0);
	assert_true(b.runs < 2);
	e = calib_find(&b, "compute", "crc32", "native");
	assert_non_null(e);
	assert_true(e->runs < 2 && isnan(e->run_sd));
	calib_free(&a);
	calib_free(&b);
	for (int k = 0; k < 4; k++)
		bench_run_free(&runs[k]);
}

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test(test_critical_values_match_the_published_tables),
		cmocka_unit_test(test_needed_repetitions_follow_the_noise),
		cmocka_unit_test(test_the_robust_cv_ignores_an_outlier),
		cmocka_unit_test_setup_teardown(test_the_calibration_file_round_trips, fresh_dir, remove_dir),
		cmocka_unit_test_setup_teardown(test_runs_measure_the_spread_between_runs, fresh_dir, remove_dir),
	};

	return TEST_RUN_GROUP(tests, NULL, NULL);
}
