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
#include <unistd.h>
#include <cmocka.h>

#include "jsondoc.h"
#include "result.h"

static char dir[] = "/tmp/xenith-result-XXXXXX";

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void make_run(struct bench_run *r)
{
	struct bench_series *s;

	bench_run_init(r);
	snprintf(r->id, sizeof(r->id), "2026-11-24T00:00:00Z-abc");
	snprintf(r->env.cpu_model, sizeof(r->env.cpu_model), "CPU \"quoted\" \\ name");
	snprintf(r->env.kvm_module, sizeof(r->env.kvm_module), "kvm_pvm");
	r->env.tsc_khz = 2600000;
	r->quick = true;
	r->repeat = 3;
	s = bench_run_series(r, "compute", "crc32", "native", "us", false);
	bench_series_add(s, 10.5);
	bench_series_add(s, 11.25);
	bench_series_add(s, 10.75);
	s = bench_run_series(r, "compute", "crc32", "guest", "us", false);
	bench_series_add(s, 10.0);
	bench_series_add(s, 12.0);
	s = bench_run_series(r, "exit", "hypercall", "guest", "ns", false);
	snprintf(s->analogue, sizeof(s->analogue), "getppid");
	bench_series_add(s, 25000);
	bench_run_finish(r);
}

static void test_result_round_trip_keeps_every_sample_and_field(void **state)
{
	struct bench_run a, b;
	struct errbuf eb;
	char path[128];
	const struct bench_series *s;

	(void)state;
	make_run(&a);
	snprintf(path, sizeof(path), "%s/run.json", dir);
	assert_int_equal(bench_run_write(&a, path, &eb), 0);
	assert_int_equal(bench_run_read(&b, path, &eb), 0);
	assert_string_equal(b.id, a.id);
	assert_string_equal(b.env.cpu_model, a.env.cpu_model);
	assert_int_equal(b.env.tsc_khz, 2600000);
	assert_true(b.quick);
	assert_int_equal(b.nr_series, 3);
	s = bench_run_find(&b, "compute", "crc32", "native");
	assert_non_null(s);
	assert_int_equal(s->n, 3);
	assert_true(s->samples[1] == 11.25);
	assert_true(s->sum.median == 10.75);
	s = bench_run_find(&b, "exit", "hypercall", "guest");
	assert_non_null(s);
	assert_string_equal(s->analogue, "getppid");
	bench_run_free(&a);
	bench_run_free(&b);
}

static void expect_read_error(const char *text, const char *needle)
{
	struct bench_run r;
	struct errbuf eb = { "" };
	char path[128];

	snprintf(path, sizeof(path), "%s/bad.json", dir);
	write_text(path, text);
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

static void test_write_leaves_no_partial_file_behind(void **state)
{
	struct bench_run a;
	struct errbuf eb;
	struct dirent *de;
	DIR *d;
	char path[128];

	(void)state;
	make_run(&a);
	snprintf(path, sizeof(path), "%s/x.json", dir);
	assert_int_equal(bench_run_write(&a, path, &eb), 0);
	/* a directory that does not exist: an error, and nothing half-written anywhere */
	assert_true(bench_run_write(&a, "/nonexistent-dir/x.json", &eb) < 0);
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)))
		assert_null(strstr(de->d_name, "partial"));
	closedir(d);
	bench_run_free(&a);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_result_round_trip_keeps_every_sample_and_field),
		cmocka_unit_test(test_result_round_trip_keeps_a_soak_trend),
		cmocka_unit_test(test_result_read_refuses_foreign_truncated_and_incomplete),
		cmocka_unit_test(test_write_leaves_no_partial_file_behind),
		cmocka_unit_test(test_json_parser_reports_where_it_failed),
	};
	int r;

	if (!mkdtemp(dir))
		return 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	return r;
}
