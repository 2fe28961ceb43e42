// SPDX-License-Identifier: MIT
/*
 * kvm tier: `xenith bench` end to end on a small selection (the figures
 * themselves are the benchmark's business, not a test's), and the errors of
 * `xenith bench` and `xenith bench compare` on bad input.
 */
#include <dirent.h>
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


static struct proc P;
static char results[256], first[512];

/* The newest .json in the results directory. */
static void find_result(char *out, size_t size)
{
	DIR *d = opendir(results);
	struct dirent *de;

	assert_non_null(d);
	out[0] = 0;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);

		/* run documents are named after their date; the exports are not */
		if (n > 5 && !strcmp(de->d_name + n - 5, ".json") && !strstr(de->d_name, "partial") &&
		    de->d_name[0] >= '0' && de->d_name[0] <= '9')
			snprintf(out, size, "%s/%s", results, de->d_name);
	}
	closedir(d);
	assert_true(out[0] != 0);
}

/* The whole file in buf (NUL-terminated); fails the test when it cannot be read. */
static void read_into(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		fail_msg("cannot read %s", path);
	n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = 0;
}

static void test_bench_runs_guest_and_native_and_archives_a_document(void **state)
{
	char path[512];
	static char buf[65536];

	(void)state;
	assert_int_equal(RUN(&P, 300, "bench", "compute", "exit", "--quick", "--repeat", "2",
			     "--warmup", "0", "--out", results), 0);
	/* the table has both columns for every compute case and every exit cost */
	assert_non_null(strstr(P.out, "crc32"));
	assert_non_null(strstr(P.out, "matmul"));
	assert_non_null(strstr(P.out, "hypercall"));
	assert_non_null(strstr(P.out, "getppid"));
	assert_non_null(strstr(P.out, "shmem-rtt"));
	find_result(path, sizeof(path));
	snprintf(first, sizeof(first), "%s", path);
	read_into(path, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"schema\": \"xenith-bench/1\""));
	assert_non_null(strstr(buf, "\"mode\": \"guest\""));
	assert_non_null(strstr(buf, "\"mode\": \"native\""));
	assert_non_null(strstr(buf, "\"kvm_module\""));
	assert_non_null(strstr(buf, "\"p95\""));
	snprintf(path, sizeof(path), "%s/index.sqlite", results);
	assert_int_equal(access(path, R_OK), 0);
	/* the report and the dashboard exports are written with every run */
	snprintf(path, sizeof(path), "%s/report.html", results);
	read_into(path, buf, sizeof(buf));
	assert_non_null(strstr(buf, "<svg"));
	assert_non_null(strstr(buf, "Exit-cost ladder"));
	assert_null(strstr(buf, "<script"));
	snprintf(path, sizeof(path), "%s/latest.openmetrics", results);
	read_into(path, buf, sizeof(buf));
	assert_non_null(strstr(buf, "xenith_bench{suite=\"compute\",case=\"crc32\",mode=\"guest\""));
	assert_non_null(strstr(buf, "# EOF\n"));
	snprintf(path, sizeof(path), "%s/latest-github-smaller.json", results);
	assert_int_equal(access(path, R_OK), 0);
}

static void test_named_case_runs_only_that_case(void **state)
{
	(void)state;
	assert_int_equal(RUN(&P, 300, "bench", "memory/latency-256K", "exit/ioeventfd", "--repeat", "2",
			     "--warmup", "0", "--no-archive"), 0);
	assert_non_null(strstr(P.out, "latency-256K")); /* not a quick case, but named */
	assert_null(strstr(P.out, "latency-2M"));
	assert_null(strstr(P.out, "crc32"));
	assert_non_null(strstr(P.out, "ioeventfd"));
	assert_null(strstr(P.out, "hypercall"));
}

static void test_density_boots_idle_domains_and_bare_vms(void **state)
{
	(void)state;
	assert_int_equal(RUN(&P, 300, "bench", "density", "--quick", "--density-max", "10",
			     "--no-archive"), 0);
	assert_non_null(strstr(P.err, "density: xenith: 10 of 10 domains"));
	assert_non_null(strstr(P.err, "density: bare: 10 of 10 domains"));
	assert_non_null(strstr(P.out, "busy domains vs"));
}

static void test_compare_of_a_run_with_itself_finds_no_change(void **state)
{
	(void)state;
	assert_int_equal(RUN(&P, 60, "bench", "compare", first, first), 0);
	assert_non_null(strstr(P.out, "0 slower, 0 faster"));
}

static void test_bench_bad_input_is_refused_clearly(void **state)
{
	char path[512];

	(void)state;
	assert_int_equal(RUN(&P, 60, "bench", "frobnicate"), 64);
	assert_non_null(strstr(P.err, "unknown suite 'frobnicate'"));
	assert_int_equal(RUN(&P, 60, "bench", "memory/latency-3M"), 64);
	assert_non_null(strstr(P.err, "unknown case 'memory/latency-3M'"));
	assert_int_equal(RUN(&P, 60, "bench", "--repeat", "0"), 64);
	assert_int_equal(RUN(&P, 60, "bench", "compare", "/nonexistent/base.json", first), 2);
	assert_non_null(strstr(P.err, "baseline"));
	snprintf(path, sizeof(path), "%s/foreign.json", results);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs("{\"schema\": \"someone-else/3\"}", f);
	fclose(f);
	assert_int_equal(RUN(&P, 60, "bench", "compare", first, path), 2);
	assert_non_null(strstr(P.err, "someone-else/3"));
	unlink(path);
	assert_int_equal(RUN(&P, 60, "bench", "compare", first), 64);
	/* an archive that cannot be written is an error before anything runs */
	assert_int_equal(RUN(&P, 60, "bench", "compute", "--out", "/proc/xenith-results"), 64);
	assert_non_null(strstr(P.err, "/proc/xenith-results"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_bench_runs_guest_and_native_and_archives_a_document, harness_teardown),
		cmocka_unit_test_teardown(test_compare_of_a_run_with_itself_finds_no_change, harness_teardown),
		cmocka_unit_test_teardown(test_bench_bad_input_is_refused_clearly, harness_teardown),
		cmocka_unit_test_teardown(test_named_case_runs_only_that_case, harness_teardown),
		cmocka_unit_test_teardown(test_density_boots_idle_domains_and_bare_vms, harness_teardown),
	};

	harness_require_kvm();
	snprintf(results, sizeof(results), "%s/results", harness_run_dir());
	return cmocka_run_group_tests(tests, NULL, NULL);
}
