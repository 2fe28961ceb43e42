// SPDX-License-Identifier: MIT
/* unit: result documents survive a round trip; bad files are refused with a reason. */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>
#include <cmocka.h>

#include "archive.h"
#include "jsondoc.h"
#include "result.h"
#include "testutil.h"

static char dir[] = "/tmp/xenith-result-XXXXXX";

/* A run with every field set to something other than its default. */
static void make_run(struct bench_run *r)
{
	struct bench_series *s;

	bench_run_init(r);
	snprintf(r->id, sizeof(r->id), "2026-11-24T00:00:00Z-abc");
	snprintf(r->env.cpu_model, sizeof(r->env.cpu_model), "CPU \"quoted\" \\ name");
	snprintf(r->env.kernel, sizeof(r->env.kernel), "6.1.0-xenith #1 SMP");
	snprintf(r->env.kvm_module, sizeof(r->env.kvm_module), "kvm_pvm");
	snprintf(r->env.microcode, sizeof(r->env.microcode), "0x1000065");
	snprintf(r->env.governor, sizeof(r->env.governor), "performance");
	snprintf(r->env.turbo, sizeof(r->env.turbo), "off");
	snprintf(r->env.smt, sizeof(r->env.smt), "on");
	r->env.mem_total_kib = 24683652;
	r->env.cpus_online = 2;
	snprintf(r->env.revision, sizeof(r->env.revision), "0123abc-dirty");
	snprintf(r->env.build_type, sizeof(r->env.build_type), "debugoptimized");
	snprintf(r->env.hostname, sizeof(r->env.hostname), "lab\t7");
	snprintf(r->env.date, sizeof(r->env.date), "2026-11-24T00:00:00Z");
	r->env.tsc_khz = 2600000;
	r->quick = true;
	r->repeat = 3;
	r->warmup = 2;
	r->duration_s = 12.625;
	snprintf(r->note, sizeof(r->note), "blk: skipped, \"fio\" not found\nsecond line");
	s = bench_run_series(r, "compute", "crc32", "native", "us", false);
	bench_series_add(s, 10.5);
	bench_series_add(s, 11.25);
	bench_series_add(s, 10.75);
	s = bench_run_series(r, "compute", "crc32", "guest", "us", false);
	bench_series_add(s, 10.0);
	bench_series_add(s, 12.0);
	s = bench_run_series(r, "memory", "copy", "guest", "GB/s", true);
	bench_series_add(s, 9.875);
	bench_series_add(s, 1e-7);
	bench_series_add(s, 123456.789);
	bench_series_add(s, -0.5);
	s = bench_run_series(r, "exit", "hypercall", "guest", "ns", false);
	snprintf(s->analogue, sizeof(s->analogue), "getppid");
	bench_series_add(s, 25000);
	s = bench_run_series(r, "net", "tap-tx-64@poll", "guest", "pps", true);
	snprintf(s->placement, sizeof(s->placement), "vcpu0:0 netback:1 peer:1");
	bench_series_add(s, 250000);
	bench_run_finish(r);
}

static void assert_summary_equal(const struct summary *got, const struct summary *want)
{
	assert_int_equal(got->n, want->n);
	assert_true(got->median == want->median && got->mean == want->mean);
	assert_true(got->min == want->min && got->max == want->max);
	assert_true(got->p5 == want->p5 && got->p95 == want->p95);
	assert_true(fabs(got->stddev - want->stddev) <= 1e-12 * fabs(want->stddev));
	assert_true(fabs(got->cv - want->cv) <= 1e-12 * fabs(want->cv));
}

/* What was read back (b) against what was written (a): every field, every series, every sample. */
static void assert_run_equal(const struct bench_run *b, const struct bench_run *a)
{
	assert_string_equal(b->id, a->id);
	assert_string_equal(b->env.cpu_model, a->env.cpu_model);
	assert_string_equal(b->env.kernel, a->env.kernel);
	assert_string_equal(b->env.kvm_module, a->env.kvm_module);
	assert_string_equal(b->env.microcode, a->env.microcode);
	assert_string_equal(b->env.governor, a->env.governor);
	assert_string_equal(b->env.turbo, a->env.turbo);
	assert_string_equal(b->env.smt, a->env.smt);
	assert_int_equal(b->env.mem_total_kib, a->env.mem_total_kib);
	assert_int_equal(b->env.cpus_online, a->env.cpus_online);
	assert_string_equal(b->env.revision, a->env.revision);
	assert_string_equal(b->env.build_type, a->env.build_type);
	assert_string_equal(b->env.hostname, a->env.hostname);
	assert_string_equal(b->env.date, a->env.date);
	assert_int_equal(b->env.tsc_khz, a->env.tsc_khz);
	assert_int_equal(b->quick, a->quick);
	assert_int_equal(b->repeat, a->repeat);
	assert_int_equal(b->warmup, a->warmup);
	assert_true(b->duration_s == a->duration_s);
	assert_string_equal(b->note, a->note);
	assert_int_equal(b->nr_series, a->nr_series);
	for (size_t i = 0; i < a->nr_series; i++) {
		const struct bench_series *w = &a->series[i];
		const struct bench_series *g = bench_run_find(b, w->suite, w->name, w->mode);

		if (!g)
			fail_msg("series %s/%s/%s did not come back", w->suite, w->name, w->mode);
		assert_string_equal(g->unit, w->unit);
		assert_int_equal(g->higher_is_better, w->higher_is_better);
		assert_string_equal(g->analogue, w->analogue);
		assert_string_equal(g->placement, w->placement);
		assert_int_equal(g->n, w->n);
		for (size_t k = 0; k < w->n; k++)
			if (g->samples[k] != w->samples[k])
				fail_msg("%s/%s/%s sample %zu: %.17g read back, %.17g written", w->suite,
					 w->name, w->mode, k, g->samples[k], w->samples[k]);
		assert_summary_equal(&g->sum, &w->sum);
		assert_int_equal(g->trend.set, w->trend.set);
	}
}

static void test_result_round_trip_keeps_every_sample_and_field(void **state)
{
	struct bench_run a, b;
	struct errbuf eb;
	char path[128];

	(void)state;
	make_run(&a);
	assert_int_equal(a.nr_series, 5); /* several series, most of several samples */
	snprintf(path, sizeof(path), "%s/run.json", dir);
	if (bench_run_write(&a, path, &eb) < 0)
		fail_msg("%s", eb.msg);
	if (bench_run_read(&b, path, &eb) < 0)
		fail_msg("%s", eb.msg);
	assert_run_equal(&b, &a);
	bench_run_free(&a);
	bench_run_free(&b);
}

static void expect_read_error(const char *text, const char *needle)
{
	struct bench_run r;
	struct errbuf eb = { "" };
	char path[128];

	snprintf(path, sizeof(path), "%s/bad.json", dir);
	test_write_text(path, text);
	assert_true(bench_run_read(&r, path, &eb) < 0);
	if (!strstr(eb.msg, needle))
		fail_msg("message '%s' lacks '%s'", eb.msg, needle);
}

/* The soak suite's trend object comes back as written; other series have none. */
static void test_result_round_trip_keeps_a_soak_trend(void **state)
{
	struct bench_run a, b;
	struct bench_series *s;
	const struct bench_series *t;
	struct errbuf eb;
	char path[128];

	(void)state;
	make_run(&a);
	s = bench_run_series(&a, "soak", "reboot-fds", "vmm", "fds", false);
	bench_series_add(s, 26);
	bench_series_add(s, 27);
	s->trend = (struct bench_trend){ .set = true, .x0 = 50, .x_step = 1, .per = 1000, .slope = 2.5,
					 .lo = -0.25, .hi = 5.25, .first = 26, .last = 27, .limit = NAN };
	snprintf(s->trend.rule, sizeof(s->trend.rule), "exact");
	snprintf(s->trend.verdict, sizeof(s->trend.verdict), "not-flat");
	bench_run_finish(&a);
	snprintf(path, sizeof(path), "%s/soak.json", dir);
	assert_int_equal(bench_run_write(&a, path, &eb), 0);
	assert_int_equal(bench_run_read(&b, path, &eb), 0);
	t = bench_run_find(&b, "soak", "reboot-fds", "vmm");
	assert_non_null(t);
	assert_true(t->trend.set);
	assert_string_equal(t->trend.rule, "exact");
	assert_string_equal(t->trend.verdict, "not-flat");
	assert_true(t->trend.x0 == 50 && t->trend.x_step == 1 && t->trend.per == 1000);
	assert_true(t->trend.slope == 2.5 && t->trend.lo == -0.25 && t->trend.hi == 5.25);
	assert_true(t->trend.first == 26 && t->trend.last == 27);
	assert_true(isnan(t->trend.limit)); /* none: written as null */
	assert_false(bench_run_find(&b, "compute", "crc32", "native")->trend.set);
	bench_run_free(&a);
	bench_run_free(&b);
}

static void test_result_read_refuses_foreign_truncated_and_incomplete(void **state)
{
	struct bench_run r;
	struct errbuf eb;

	(void)state;
	expect_read_error("{\"schema\": \"other/9\", \"complete\": true, \"series\": []}", "other/9");
	expect_read_error("{\"schema\": \"xenith-bench/1\", \"complete\": true, \"series\": [", "not valid JSON");
	expect_read_error("{\"schema\": \"xenith-bench/1\", \"complete\": false, \"series\": []}",
			  "not a complete run");
	expect_read_error("{\"schema\": \"xenith-bench/1\", \"complete\": true}", "no \"series\"");
	expect_read_error("{\"schema\": \"xenith-bench/1\", \"complete\": true, \"series\": [{\"suite\": 1}]}",
			  "lacks suite");
	expect_read_error("", "not valid JSON");
	assert_true(bench_run_read(&r, "/nonexistent/run.json", &eb) < 0);
	assert_non_null(strstr(eb.msg, "No such file"));
}

/* Names in a directory that look like fs_atomic_open()'s temporaries (NAME.partial-XXXXXX). */
static unsigned count_partials(const char *in)
{
	struct dirent *de;
	unsigned n = 0;
	DIR *d = opendir(in);

	assert_non_null(d);
	while ((de = readdir(d)))
		n += strstr(de->d_name, ".partial-") != NULL;
	closedir(d);
	return n;
}

static struct rlimit saved_fsize;
static bool fsize_limited;

/* Files of this process may not grow past limit bytes: a write past it fails with EFBIG. */
static void limit_file_size(rlim_t limit)
{
	struct rlimit rl;

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved_fsize), 0);
	signal(SIGXFSZ, SIG_IGN); /* else the process dies of it */
	rl = saved_fsize;
	rl.rlim_cur = limit;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
	fsize_limited = true;
}

/* Also the test's teardown: the limit never outlives the test, even when it failed. */
static int restore_file_size(void **state)
{
	(void)state;
	if (fsize_limited) {
		setrlimit(RLIMIT_FSIZE, &saved_fsize);
		signal(SIGXFSZ, SIG_DFL);
		fsize_limited = false;
	}
	return 0;
}

/*
 * The write fails after its temporary file exists (the document outgrows
 * RLIMIT_FSIZE: EFBIG): an error, no temporary left next to the target,
 * and the document that was there before is untouched.
 */
static void test_write_leaves_no_partial_file_behind(void **state)
{
	struct bench_run a, big;
	struct errbuf eb = { "" };
	char path[128], *before, *after;
	size_t before_len, after_len;

	(void)state;
	make_run(&a);
	snprintf(path, sizeof(path), "%s/x.json", dir);
	if (bench_run_write(&a, path, &eb) < 0)
		fail_msg("%s", eb.msg);
	before = test_read_file(path, &before_len);
	assert_int_equal(count_partials(dir), 0);
	make_run(&big);
	for (int i = 0; i < 2000; i++) /* several stdio buffers: it fails in the middle */
		bench_series_add(&big.series[0], 1000.0 + i);
	bench_run_finish(&big);
	assert_true(before_len > 1024); /* the limit is below what a good write needs */
	limit_file_size(1024);
	assert_true(bench_run_write(&big, path, &eb) < 0);
	restore_file_size(NULL);
	if (!strstr(eb.msg, strerror(EFBIG)))
		fail_msg("the write failed, but not of EFBIG: '%s'", eb.msg);
	assert_int_equal(count_partials(dir), 0);
	after = test_read_file(path, &after_len);
	assert_int_equal(after_len, before_len);
	assert_memory_equal(after, before, before_len);
	free(before);
	free(after);
	/* a directory that does not exist: an error too */
	assert_true(bench_run_write(&a, "/nonexistent-dir/x.json", &eb) < 0);
	bench_run_free(&a);
	bench_run_free(&big);
}

static void test_json_parser_reports_where_it_failed(void **state)
{
	char err[128];
	struct jv *v;

	(void)state;
	assert_null(jv_parse("{\"a\": 1,\n \"b\" 2}", err, sizeof(err)));
	assert_non_null(strstr(err, "line 2"));
	assert_non_null(strstr(err, "expected ':'"));
	assert_null(jv_parse("[1, 2", err, sizeof(err)));
	assert_null(jv_parse("{} x", err, sizeof(err)));
	assert_non_null(strstr(err, "after the end"));
	v = jv_parse("{\"s\": \"a\\u0041\\n\", \"n\": -1.5e2, \"t\": true, \"z\": null, \"a\": [1, {\"k\": []}]}",
		     err, sizeof(err));
	assert_non_null(v);
	assert_string_equal(jv_str(v, "s", ""), "aA\n");
	assert_true(jv_num(v, "n", 0) == -150);
	assert_true(jv_bool(v, "t", false));
	assert_int_equal(jv_get(v, "a")->n, 2);
	jv_free(v);
}

/* The scratch directory and what the tests left in it (plain files only). */
static void remove_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char f[512];

	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		snprintf(f, sizeof(f), "%s/%s", path, de->d_name);
		unlink(f);
	}
	if (d)
		closedir(d);
	rmdir(path);
}

/*
 * A host string that is not UTF-8 (a CPU model or host name in Latin-1)
 * still gives a valid document: its other bytes become '?', the rest stays.
 */
static void test_result_writes_a_non_utf8_string_as_valid_json(void **state)
{
	struct bench_run a, b;
	struct errbuf eb = { "" };
	char path[128];

	(void)state;
	make_run(&a);
	snprintf(a.env.hostname, sizeof(a.env.hostname), "h\xf4te-\xe9t\xe9");
	snprintf(path, sizeof(path), "%s/latin1.json", dir);
	if (bench_run_write(&a, path, &eb) < 0)
		fail_msg("%s", eb.msg);
	if (bench_run_read(&b, path, &eb) < 0)
		fail_msg("%s", eb.msg);
	assert_string_equal(b.env.hostname, "h?te-?t?");
	assert_string_equal(b.env.cpu_model, a.env.cpu_model);
	bench_run_free(&a);
	bench_run_free(&b);
}

/*
 * A document written before the fingerprint (environment with cpu_model,
 * kernel and kvm_module only, as results/baselines/ has) still loads: the
 * new fields are "not recorded", and a diff against a full fingerprint
 * compares only what both recorded.
 */
static void test_result_reads_a_document_without_fingerprint(void **state)
{
	struct bench_run r, full;
	struct bench_env_diff d[BENCH_ENV_FIELDS];
	struct errbuf eb = { "" };
	char path[128], line[512];
	unsigned unrecorded;

	(void)state;
	snprintf(path, sizeof(path), "%s/old.json", dir);
	test_write_text(path,
		"{\"schema\": \"xenith-bench/1\", \"complete\": true, \"id\": \"old\",\n"
		" \"environment\": {\"cpu_model\": \"AMD EPYC\", \"kernel\": \"Linux 6.18.44\",\n"
		"   \"kvm_module\": \"kvm_pvm\", \"xenith_revision\": \"c75d5e8\", \"build_type\": \"debugoptimized\",\n"
		"   \"hostname\": \"vm\", \"date\": \"2026-11-25T17:11:04Z\", \"tsc_khz\": 2596136},\n"
		" \"config\": {\"quick\": true, \"repeat\": 5, \"warmup\": 1, \"duration_s\": 209.0},\n"
		" \"series\": [{\"suite\": \"compute\", \"case\": \"crc32\", \"mode\": \"native\",\n"
		"   \"unit\": \"us\", \"better\": \"lower\", \"samples\": [19013.9, 19129.9]}]}\n");
	if (bench_run_read(&r, path, &eb) < 0)
		fail_msg("%s", eb.msg);
	assert_string_equal(r.env.cpu_model, "AMD EPYC");
	assert_string_equal(r.env.microcode, "");
	assert_string_equal(r.env.governor, "");
	assert_string_equal(r.env.turbo, "");
	assert_string_equal(r.env.smt, "");
	assert_int_equal(r.env.mem_total_kib, 0);
	assert_int_equal(r.env.cpus_online, 0);
	bench_env_describe(&r.env, line, sizeof(line));
	if (!strstr(line, "microcode not recorded") || !strstr(line, "governor not recorded"))
		fail_msg("'%s' does not say what is not recorded", line);

	make_run(&full);
	snprintf(full.env.cpu_model, sizeof(full.env.cpu_model), "AMD EPYC");
	snprintf(full.env.kernel, sizeof(full.env.kernel), "Linux 6.18.44");
	assert_int_equal(bench_env_diff(&r.env, &full.env, d, &unrecorded), 0);
	assert_int_equal(unrecorded, BENCH_ENV_FIELDS - 3); /* only cpu_model, kernel, kvm_module compared */
	snprintf(full.env.kernel, sizeof(full.env.kernel), "Linux 6.19.1");
	assert_int_equal(bench_env_diff(&r.env, &full.env, d, &unrecorded), 1);
	assert_string_equal(d[0].field, "kernel");
	assert_string_equal(d[0].base, "Linux 6.18.44");
	assert_string_equal(d[0].cur, "Linux 6.19.1");
	bench_run_free(&full);
	bench_run_free(&r);
}

/* A ratio series comes back with its samples, its direction and its interval (recomputed on read). */
static void test_result_round_trip_keeps_a_ratio_series(void **state)
{
	struct bench_run a, b;
	const struct bench_series *g, *t;
	struct errbuf eb = { "" };
	char path[128], *text;

	(void)state;
	make_run(&a);
	g = bench_run_find(&a, "exit", "hypercall", "guest");
	assert_int_equal(bench_ratio_add(&a, g, 25000, 50), 0);
	g = bench_run_find(&a, "exit", "hypercall", "guest");
	assert_int_equal(bench_ratio_add(&a, g, 20000, 50), 0);
	bench_run_finish(&a);
	snprintf(path, sizeof(path), "%s/ratio.json", dir);
	if (bench_run_write(&a, path, &eb) < 0)
		fail_msg("%s", eb.msg);
	text = test_read_file(path, NULL);
	if (!strstr(text, "\"ci95\""))
		fail_msg("no ci95 in %s", text);
	free(text);
	if (bench_run_read(&b, path, &eb) < 0)
		fail_msg("%s", eb.msg);
	assert_run_equal(&b, &a);
	t = bench_run_find(&b, "exit", "hypercall", "ratio");
	assert_non_null(t);
	assert_string_equal(t->unit, "x");
	assert_true(t->higher_is_better);
	assert_string_equal(t->analogue, "getppid");
	assert_int_equal(t->n, 2);
	assert_true(t->samples[0] == 50.0 / 25000 && t->samples[1] == 50.0 / 20000);
	assert_true(t->ratio_lo < t->samples[0] && t->ratio_hi > t->samples[1]);
	assert_true(isnan(bench_run_find(&b, "exit", "hypercall", "guest")->ratio_lo)); /* not a ratio */
	bench_run_free(&a);
	bench_run_free(&b);
}

/*
 * Two runs of one build started in the same second have the same id: the
 * second archived gets .02 after the date (then .03) and overwrites
 * nothing, file name and id alike; the newest is still the newest.
 */
static void test_archive_gives_a_second_run_in_one_second_its_own_name(void **state)
{
	struct bench_run a, b, c, check;
	char path_a[4096], path_b[4096], path_c[4096], sub[4096];
	struct errbuf eb;

	(void)state;
	snprintf(sub, sizeof(sub), "%s/archive", dir);
	assert_int_equal(archive_prepare(sub, &eb), 0);
	bench_run_init(&a);
	snprintf(a.id, sizeof(a.id), "2026-11-30T15:00:00Z-abc1234-host");
	bench_series_add(bench_run_series(&a, "compute", "crc32", "native", "us", false), 1);
	bench_run_finish(&a);
	archive_unique_id(a.id, sizeof(a.id));
	assert_string_equal(a.id, "2026-11-30T15:00:00Z-abc1234-host"); /* nothing there yet */
	assert_int_equal(archive_store(&a, path_a, sizeof(path_a), &eb), 0);
	b = a;
	archive_unique_id(b.id, sizeof(b.id));
	assert_string_equal(b.id, "2026-11-30T15:00:00Z.02-abc1234-host");
	assert_int_equal(archive_store(&b, path_b, sizeof(path_b), &eb), 0);
	c = a;
	archive_unique_id(c.id, sizeof(c.id));
	assert_string_equal(c.id, "2026-11-30T15:00:00Z.03-abc1234-host");
	assert_int_equal(archive_store(&c, path_c, sizeof(path_c), &eb), 0);
	assert_string_not_equal(path_a, path_b);
	assert_string_not_equal(path_b, path_c);
	{
		char latest[4096];

		assert_int_equal(archive_latest(latest, sizeof(latest), &eb), 0);
		assert_string_equal(latest, path_c); /* the third is the newest */
	}
	assert_int_equal(bench_run_read(&check, path_a, &eb), 0);
	assert_string_equal(check.id, "2026-11-30T15:00:00Z-abc1234-host");
	bench_run_free(&check);
	assert_int_equal(bench_run_read(&check, path_b, &eb), 0);
	assert_string_equal(check.id, "2026-11-30T15:00:00Z.02-abc1234-host");
	bench_run_free(&check);
	bench_run_free(&a);
	remove_dir(sub); /* the documents, index.sqlite */
}

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test(test_result_round_trip_keeps_every_sample_and_field),
		cmocka_unit_test(test_result_round_trip_keeps_a_soak_trend),
		cmocka_unit_test(test_result_read_refuses_foreign_truncated_and_incomplete),
		cmocka_unit_test_teardown(test_write_leaves_no_partial_file_behind, restore_file_size),
		cmocka_unit_test(test_json_parser_reports_where_it_failed),
		cmocka_unit_test(test_result_writes_a_non_utf8_string_as_valid_json),
		cmocka_unit_test(test_result_reads_a_document_without_fingerprint),
		cmocka_unit_test(test_result_round_trip_keeps_a_ratio_series),
		cmocka_unit_test(test_archive_gives_a_second_run_in_one_second_its_own_name),
	};
	int r;

	if (!mkdtemp(dir))
		return 1;
	r = TEST_RUN_GROUP(tests, NULL, NULL);
	remove_dir(dir);
	return r;
}
