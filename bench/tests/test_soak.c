// SPDX-License-Identifier: MIT
/*
 * soak tier: `xenith bench soak --quick`, the short version of the soak
 * suite (tools/cmd_soak.c), one scenario per test; each fails when a
 * figure is not flat.  Then the suite's own check, shown to fail: the
 * create/destroy worker leaks a descriptor, a thread or heap memory per
 * cycle (XENITH_SOAK_INJECT) and the run must say "not-flat" and exit 1.
 */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"
#include "jsondoc.h"
#include "testutil.h"


static struct proc P;

/* Prints the table the run printed, so a failure in the TAP log shows which figure moved. */
static void show(void)
{
	for (const char *l = P.out; *l;) {
		const char *nl = strchr(l, '\n');
		int len = nl ? (int)(nl - l) : (int)strlen(l);

		printf("# %.*s\n", len, l);
		l += len + (nl != NULL);
	}
}

static void scenario_is_flat(const char *scenario, double timeout_s)
{
	char arg[64], heading[64], name[64], results[256], path[512];
	char *doc;

	/* a results directory of this scenario's own: the document read is the one this run wrote */
	snprintf(name, sizeof(name), "results-%s", scenario);
	harness_path(results, sizeof(results), name);
	snprintf(arg, sizeof(arg), "soak/%s", scenario);
	snprintf(heading, sizeof(heading), "soak %s: ", scenario);
	RUN(&P, timeout_s, "bench", arg, "--quick", "--out", results);
	show();
	assert_int_equal(P.status, 0);
	assert_non_null(strstr(P.out, heading));
	assert_non_null(strstr(P.out, "soak: every judged figure is flat"));
	assert_null(strstr(P.out, "not-flat"));
	test_newest_result(results, path, sizeof(path));
	doc = test_read_file(path, NULL);
	/*
	 * Recorded with the trend and verdict of each figure: read as JSON (the
	 * document's layout is the writer's business), the scenario's fds series
	 * judged exact and flat, some series judged by slope and flat, none not flat.
	 */
	{
		char err[160], fds[64];
		struct jv *v = jv_parse(doc, err, sizeof(err));
		const struct jv *series = v ? jv_get(v, "series") : NULL;
		bool fds_exact_flat = false, slope_flat = false;

		if (!v)
			fail_msg("%s is not JSON: %s", path, err);
		assert_true(series && series->type == JV_ARR);
		snprintf(fds, sizeof(fds), "%s-fds", scenario);
		for (size_t i = 0; i < series->n; i++) {
			const struct jv *sr = &series->items[i], *trend = jv_get(sr, "trend");
			const char *rule = jv_str(trend, "rule", ""), *verdict = jv_str(trend, "verdict", "");

			if (!trend)
				continue;
			if (!strcmp(jv_str(sr, "case", ""), fds) && !strcmp(rule, "exact") && !strcmp(verdict, "flat"))
				fds_exact_flat = true;
			if (!strcmp(rule, "slope") && !strcmp(verdict, "flat"))
				slope_flat = true;
			if (strcmp(verdict, "flat") && strcmp(verdict, "unjudged"))
				fail_msg("%s: series %s has verdict '%s'", path, jv_str(sr, "case", "?"), verdict);
		}
		assert_true(fds_exact_flat);
		assert_true(slope_flat);
		jv_free(v);
	}
	assert_null(strstr(doc, "not-flat"));
	free(doc);
}

static void test_create_destroy_leaves_nothing_behind(void **state)
{
	(void)state;
	scenario_is_flat("create-destroy", 600);
}

static void test_reboots_leave_nothing_behind(void **state)
{
	(void)state;
	scenario_is_flat("reboot", 600);
}

static void test_disk_churn_leaves_nothing_behind(void **state)
{
	(void)state;
	scenario_is_flat("disk-churn", 600);
	assert_non_null(strstr(P.out, "during it")); /* requests were in flight at the disconnects */
}

/* A leak of one thing per cycle, injected into the worker: the figure it touches must fail. */
static void injected(const char *what, const char *figure)
{
	char row[64], line[256];
	const char *r, *end;

	setenv("XENITH_SOAK_INJECT", what, 1);
	RUN(&P, 300, "bench", "soak/create-destroy", "--soak-cycles", "200", "--no-archive");
	unsetenv("XENITH_SOAK_INJECT");
	show();
	assert_int_equal(P.status, 1);
	assert_non_null(strstr(P.out, "SOME FIGURES ARE NOT FLAT"));
	snprintf(row, sizeof(row), "\n  %s ", figure);
	r = strstr(P.out, row);
	assert_non_null(r);
	end = strchr(r + 1, '\n');
	snprintf(line, sizeof(line), "%.*s", end ? (int)(end - r) : (int)strlen(r), r);
	assert_non_null(strstr(line, "not-flat"));
}

static void test_an_injected_descriptor_leak_is_not_flat(void **state)
{
	(void)state;
	injected("fd", "fds");
}

static void test_an_injected_thread_leak_is_not_flat(void **state)
{
	(void)state;
	injected("thread", "threads");
}

static void test_an_injected_heap_leak_is_not_flat(void **state)
{
	(void)state;
	injected("rss", "rss-anon");
}

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_create_destroy_leaves_nothing_behind, harness_teardown),
		cmocka_unit_test_teardown(test_reboots_leave_nothing_behind, harness_teardown),
		cmocka_unit_test_teardown(test_disk_churn_leaves_nothing_behind, harness_teardown),
		cmocka_unit_test_teardown(test_an_injected_descriptor_leak_is_not_flat, harness_teardown),
		cmocka_unit_test_teardown(test_an_injected_thread_leak_is_not_flat, harness_teardown),
		cmocka_unit_test_teardown(test_an_injected_heap_leak_is_not_flat, harness_teardown),
	};

	harness_require_kvm();
	return TEST_RUN_GROUP(tests, NULL, NULL);
}
