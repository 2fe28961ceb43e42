// SPDX-License-Identifier: MIT
/*
 * kvm tier: `xenith bench prof` end to end on its shortest runs (the
 * figures are the benchmark's business, not a test's): a case runs in the
 * three modes and its ratio series are the triplets' own ratios; the
 * profiled modes were sampled, at rates that follow their frequencies;
 * --quick runs crc32 only; kernel samples refused by the host leave the
 * modes running and the document saying so; `bench list` has the cases.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"
#include "result.h"
#include "skip.h"
#include "testutil.h"

static struct proc P;

static const char *const modes[] = { "guest", "guest-prof100", "guest-prof1000" };

static const char *own_dir(char *buf, size_t size, const char *name)
{
	harness_path(buf, size, name);
	if (mkdir(buf, 0700) < 0)
		fail_msg("mkdir %s: %m", buf);
	return buf;
}

static const struct bench_series *series(const struct bench_run *r, const char *name, const char *mode)
{
	const struct bench_series *s = bench_run_find(r, "prof", name, mode);

	if (!s)
		fail_msg("the run has no series prof/%s/%s", name, mode);
	return s;
}

/* kernel.perf_event_paranoid, or 99 when unreadable */
static int perf_paranoid(void)
{
	FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "r");
	int v = 99;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = 99;
		fclose(f);
	}
	return v;
}

/* `xenith bench ARGS...` into the archive dir; the document read back into *r. */
static void run_doc(struct bench_run *r, const char *dir, const char *const *args)
{
	const char *argv[16] = { "bench" };
	char doc[512];
	struct errbuf eb;
	size_t n = 1;

	for (; args[n - 1] && n < 12; n++)
		argv[n] = args[n - 1];
	argv[n++] = "--out";
	argv[n++] = dir;
	argv[n] = NULL;
	if (run_xenith(&P, 300, argv) != 0)
		fail_msg("the run failed (%d): %s", P.status, P.err);
	test_newest_result(dir, doc, sizeof(doc));
	if (bench_run_read(r, doc, &eb) < 0)
		fail_msg("%s", eb.msg);
}

/*
 * Each mode's series has a sample per triplet, and the ratio series of
 * each profiled mode has, sample by sample, that triplet's unprofiled time
 * over its profiled time (profiled speed / unprofiled), with an interval
 * around the samples' geometric mean.
 */
static void check_triplets(const struct bench_run *r, const char *name, size_t triplets)
{
	const struct bench_series *g = series(r, name, "guest");

	for (size_t m = 0; m < 3; m++) {
		const struct bench_series *s = series(r, name, modes[m]);

		if (s->n != triplets)
			fail_msg("prof/%s/%s: %zu samples for %zu triplets", name, modes[m], s->n, triplets);
		assert_string_equal(s->unit, "us");
		assert_false(s->higher_is_better);
	}
	for (size_t m = 1; m < 3; m++) {
		const struct bench_series *p = series(r, name, modes[m]);
		char rmode[32];
		const struct bench_series *q;
		double logs = 0, geo;

		snprintf(rmode, sizeof(rmode), "ratio%s", modes[m] + 5);
		q = series(r, name, rmode);
		assert_int_equal(q->n, triplets);
		assert_string_equal(q->unit, "x");
		assert_true(q->higher_is_better);
		for (size_t k = 0; k < q->n; k++) {
			double want = g->samples[k] / p->samples[k];

			/* documents carry 10 significant digits */
			if (!(fabs(q->samples[k] - want) <= 1e-8 * want))
				fail_msg("prof/%s/%s sample %zu is %.10g; triplet %zu's unprofiled / profiled is %.10g",
					 name, rmode, k, q->samples[k], k, want);
			logs += log(q->samples[k]);
		}
		geo = exp(logs / (double)q->n);
		if (!(q->ratio_lo <= geo * (1 + 1e-9) && geo <= q->ratio_hi * (1 + 1e-9)))
			fail_msg("prof/%s/%s: interval [%g, %g] leaves out the geometric mean %g", name, rmode,
				 q->ratio_lo, q->ratio_hi, geo);
	}
}

/* The VMM's sampler ran in each profiled block, faster at 1 kHz than at 100 Hz; perf's too when expected. */
static void check_rates(const struct bench_run *r, const char *name, size_t triplets, bool kernel)
{
	for (const char *const *suffix = (const char *const[]){ "-samples", "-ksamples", NULL }; *suffix; suffix++) {
		char full[64];
		const struct bench_series *s100, *s1000;

		snprintf(full, sizeof(full), "%s%s", name, *suffix);
		if (!strcmp(*suffix, "-ksamples") && !kernel) {
			assert_null(bench_run_find(r, "prof", full, "guest-prof100"));
			assert_null(bench_run_find(r, "prof", full, "guest-prof1000"));
			continue;
		}
		s100 = series(r, full, "guest-prof100");
		s1000 = series(r, full, "guest-prof1000");
		assert_null(bench_run_find(r, "prof", full, "guest")); /* unprofiled: nothing sampled */
		assert_int_equal(s100->n, triplets);
		assert_int_equal(s1000->n, triplets);
		assert_string_equal(s100->unit, "Hz");
		for (size_t k = 0; k < triplets; k++)
			if (!(s100->samples[k] > 0 && s1000->samples[k] > 0))
				fail_msg("prof/%s: a profiled block without samples (%g, %g Hz)", full,
					 s100->samples[k], s1000->samples[k]);
		if (!(s1000->sum.median > s100->sum.median))
			fail_msg("prof/%s: %g Hz recorded at 1 kHz, %g at 100 Hz", full, s1000->sum.median,
				 s100->sum.median);
	}
}

static void test_a_prof_case_runs_in_three_modes_with_ratios_from_its_triplets(void **state)
{
	char dir[256], path[600];
	struct bench_run r;
	bool kernel = geteuid() == 0 || perf_paranoid() <= 1;
	char *html;

	(void)state;
	own_dir(dir, sizeof(dir), "prof-three");
	run_doc(&r, dir, (const char *const[]){ "prof/crc32", "--repeat", "3", "--warmup", "0", NULL });
	check_triplets(&r, "crc32", 3);
	check_rates(&r, "crc32", 3, kernel);
	assert_null(bench_run_find(&r, "prof", "matmul", "guest")); /* named: that case only */
	for (size_t i = 0; i < r.nr_series; i++)
		if (!strcmp(r.series[i].suite, "prof") && !strcmp(r.series[i].mode, "native"))
			fail_msg("prof has no native side, yet the run has prof/%s/native", r.series[i].name);
	if (kernel && strstr(r.note, "kernel sampling off"))
		fail_msg("kernel sampling was refused as root: %s", r.note);
	bench_run_free(&r);
	/* the table: each mode with its ratio and interval, the 1 kHz row against the target */
	if (!strstr(P.out, "crc32    100 Hz") || !strstr(P.out, "crc32    1 kHz") || !strstr(P.out, "target under 2%"))
		fail_msg("the table lacks the profiled rows:\n%s", P.out);
	snprintf(path, sizeof(path), "%s/report.html", dir);
	html = test_read_file(path, NULL);
	assert_non_null(strstr(html, "data-suite=\"prof\""));
	free(html);
}

static void test_quick_prof_runs_crc32_and_a_named_case_runs_anyway(void **state)
{
	(void)state;
	assert_int_equal(RUN(&P, 300, "bench", "prof", "--quick", "--repeat", "2", "--warmup", "0", "--no-archive"), 0);
	assert_non_null(strstr(P.out, "crc32    1 kHz"));
	assert_null(strstr(P.out, "matmul"));
	assert_int_equal(RUN(&P, 300, "bench", "prof/matmul", "--quick", "--repeat", "2", "--warmup", "0",
			     "--no-archive"), 0);
	assert_non_null(strstr(P.out, "matmul   1 kHz"));
	assert_null(strstr(P.out, "crc32"));
}

/*
 * Without CAP_PERFMON and CAP_SYS_ADMIN (dropped from the bounding set by
 * setpriv, so that root's exec does not get them back) perf refuses kernel
 * samples where kernel.perf_event_paranoid > 1: the profiled modes still
 * run, with the VMM's sampler, and the note and stderr say kernel sampling
 * was off.
 */
static void test_kernel_sampling_refused_leaves_the_modes_running_and_says_so(void **state)
{
	char dir[256], wrapper[512], script[1200];
	const char *real = harness_xenith();
	char *saved = getenv("XENITH_BIN") ? strdup(getenv("XENITH_BIN")) : NULL;
	struct bench_run r;

	(void)state;
	if (perf_paranoid() <= 1)
		SKIP_BECAUSE("kernel.perf_event_paranoid <= 1: perf gives kernel samples to anyone");
	if (access("/usr/bin/setpriv", X_OK) < 0)
		SKIP_BECAUSE("no /usr/bin/setpriv (util-linux)");
	own_dir(dir, sizeof(dir), "prof-nokernel");
	harness_path(wrapper, sizeof(wrapper), "xenith-without-perfmon");
	snprintf(script, sizeof(script), "#!/bin/sh\nexec /usr/bin/setpriv --bounding-set -perfmon,-sys_admin -- %s "
		 "\"$@\"\n", real);
	test_write_text(wrapper, script);
	assert_int_equal(chmod(wrapper, 0700), 0);
	setenv("XENITH_BIN", wrapper, 1);
	run_doc(&r, dir, (const char *const[]){ "prof/crc32", "--repeat", "2", "--warmup", "0", NULL });
	if (saved)
		setenv("XENITH_BIN", saved, 1);
	else
		unsetenv("XENITH_BIN");
	free(saved);
	check_triplets(&r, "crc32", 2);
	check_rates(&r, "crc32", 2, false);
	if (!strstr(r.note, "prof: kernel sampling off: perf_event_open"))
		fail_msg("the note does not say kernel sampling was off: '%s'", r.note);
	assert_non_null(strstr(P.err, "kernel sampling off"));
	{
		/* the table's kernel column says so too */
		const char *row = strstr(P.out, "crc32    1 kHz");
		const char *eol = row ? strchr(row, '\n') : NULL;
		const char *off = row ? strstr(row, " off ") : NULL;

		if (!row || !eol || !off || off > eol)
			fail_msg("the 1 kHz row does not say kernel sampling was off:\n%s", P.out);
	}
	bench_run_free(&r);
}

static void test_bench_list_has_the_prof_cases_and_an_unknown_one_is_refused(void **state)
{
	(void)state;
	assert_int_equal(RUN(&P, 60, "bench", "list"), 0);
	assert_non_null(strstr(P.out, "prof     crc32            us         yes    lower"));
	assert_non_null(strstr(P.out, "prof     matmul           us         no     lower"));
	assert_int_equal(RUN(&P, 60, "bench", "prof/md5"), 64);
	assert_non_null(strstr(P.err, "unknown case 'prof/md5'"));
}

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_a_prof_case_runs_in_three_modes_with_ratios_from_its_triplets,
					  harness_teardown),
		cmocka_unit_test_teardown(test_quick_prof_runs_crc32_and_a_named_case_runs_anyway, harness_teardown),
		cmocka_unit_test_teardown(test_kernel_sampling_refused_leaves_the_modes_running_and_says_so,
					  harness_teardown),
		cmocka_unit_test_teardown(test_bench_list_has_the_prof_cases_and_an_unknown_one_is_refused,
					  harness_teardown),
	};

	harness_require_kvm();
	return TEST_RUN_GROUP(tests, NULL, NULL);
}
