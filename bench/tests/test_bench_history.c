// SPDX-License-Identifier: MIT
/*
 * unit tier, through the real binary: `xenith bench history` on an archive
 * of documents the test writes, with a known shift in one series at a known
 * revision, and nothing in the others.  No domain boots: history reads
 * documents only.
 */
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
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
#include "testutil.h"

static struct proc P;
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static double noise(double sd)
{
	double u1, u2;

	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	u1 = ((double)(rng >> 11) + 0.5) / 9007199254740992.0;
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	u2 = ((double)(rng >> 11) + 0.5) / 9007199254740992.0;
	return sd * sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

#define RUNS 24
#define SHIFT_RUN 14   /* the first run at the new level */

/*
 * dir/<date>-revNN.json for NN = 0..RUNS-1, a day apart: compute/crc32 in
 * guest mode 10% slower (higher, lower is better) from run SHIFT_RUN on;
 * its native series and memory/copy (guest) flat; 1.5% noise on each run's
 * five samples.  Written in an order other than the dates' (the archive
 * lists documents by name, which starts with the date).
 */
static void write_archive(const char *dir)
{
	for (int k = 0; k < RUNS; k++) {
		int i = (k * 7) % RUNS; /* 7 and 24 are coprime: every run once */
		struct bench_run r;
		struct bench_series *g, *nat, *copy;
		char path[512];
		struct errbuf eb;

		bench_run_init(&r);
		snprintf(r.env.date, sizeof(r.env.date), "2026-03-%02dT10:00:00Z", i + 1);
		snprintf(r.env.revision, sizeof(r.env.revision), "rev%02d", i);
		snprintf(r.env.cpu_model, sizeof(r.env.cpu_model), "test CPU");
		snprintf(r.id, sizeof(r.id), "%s-%s", r.env.date, r.env.revision);
		r.quick = true;
		r.repeat = 5;
		g = bench_run_series(&r, "compute", "crc32", "guest", "us", false);
		nat = bench_run_series(&r, "compute", "crc32", "native", "us", false);
		copy = bench_run_series(&r, "memory", "copy", "guest", "MB/s", true);
		assert_non_null(g);
		assert_non_null(nat);
		assert_non_null(copy);
		for (int s = 0; s < 5; s++) {
			bench_series_add(g, 18000 * (i >= SHIFT_RUN ? 1.10 : 1.0) * (1 + noise(0.015)));
			bench_series_add(nat, 17000 * (1 + noise(0.015)));
			bench_series_add(copy, 9000 * (1 + noise(0.015)));
		}
		bench_run_finish(&r);
		snprintf(path, sizeof(path), "%s/2026-03-%02dT10-00-00Z-rev%02d.json", dir, i + 1, i);
		if (bench_run_write(&r, path, &eb) < 0)
			fail_msg("%s", eb.msg);
		bench_run_free(&r);
	}
}

static const char *archive(void)
{
	static char dir[256];

	if (!dir[0]) {
		harness_path(dir, sizeof(dir), "archive");
		if (mkdir(dir, 0700) < 0)
			fail_msg("mkdir %s: %m", dir);
		write_archive(dir);
	}
	return dir;
}

/* The block `xenith bench history` printed for suite/case mode (up to the next blank line). */
static char *block(const char *out, const char *head)
{
	const char *b = strstr(out, head), *e;

	if (!b)
		fail_msg("history printed no '%s':\n%s", head, out);
	e = strstr(b, "\n\n");
	return strndup(b, e ? (size_t)(e - b) : strlen(b));
}

static void test_history_names_the_revision_where_a_series_shifted(void **state)
{
	char *g, *nat;

	(void)state;
	assert_int_equal(RUN(&P, 60, "bench", "history", "compute/crc32", "--out", archive()), 0);
	g = block(P.out, "compute/crc32 guest (us, lower is better): 24 runs, 1 change\n");
	/* the revision of the first run at the new level, and of the run before */
	assert_non_null(strstr(g, "change at revision rev14 (2026-03-15T10:00:00Z; the run before: rev13, "
				  "2026-03-14T10:00:00Z): +"));
	assert_non_null(strstr(g, "(worse)"));
	/* every run, in date order, and the mark on the row of rev14 */
	for (int i = 0; i < RUNS; i++) {
		char rev[16];
		const char *at;

		snprintf(rev, sizeof(rev), " rev%02d ", i);
		at = strstr(g, rev);
		if (!at)
			fail_msg("run rev%02d is missing:\n%s", i, g);
		if (i > 0) {
			char prev[16];

			snprintf(prev, sizeof(prev), " rev%02d ", i - 1);
			assert_true(strstr(g, prev) < at);
		}
	}
	{
		const char *row = strstr(g, " rev14 ");
		const char *eol = strchr(row, '\n');
		const char *mark = strstr(row, "<- change +");

		assert_true(mark && mark < eol);
		assert_null(strstr(mark + 1, "<- change")); /* the only row marked */
	}
	/* the flat native series of the same case: no change */
	nat = block(P.out, "compute/crc32 native (us, lower is better): 24 runs, 0 changes\n");
	assert_null(strstr(nat, "change at"));
	/* only the case asked for */
	assert_null(strstr(P.out, "memory/copy"));
	free(g);
	free(nat);
}

/* --json: the same change as data: index, revisions, medians either side, shift, p. */
static void test_history_json_has_the_change_with_its_size_and_p(void **state)
{
	json_error_t err;
	json_t *doc, *series, *s;
	size_t i;
	bool seen_guest = false;

	(void)state;
	assert_int_equal(RUN(&P, 60, "bench", "history", "--json", "--out", archive()), 0);
	doc = json_loads(P.out, 0, &err);
	if (!doc)
		fail_msg("not JSON: %s:\n%s", err.text, P.out);
	assert_string_equal(json_string_value(json_object_get(doc, "schema")), "xenith-bench-history/1");
	series = json_object_get(doc, "series");
	assert_int_equal(json_array_size(series), 3); /* crc32 guest and native, copy guest */
	json_array_foreach(series, i, s) {
		json_t *cps = json_object_get(s, "change_points"), *cp;
		const char *mode = json_string_value(json_object_get(s, "mode"));
		const char *name = json_string_value(json_object_get(s, "case"));

		assert_int_equal(json_array_size(json_object_get(s, "runs")), RUNS);
		if (strcmp(name, "crc32") || strcmp(mode, "guest")) {
			if (json_array_size(cps) != 0)
				fail_msg("flat series %s %s has %zu change points", name, mode, json_array_size(cps));
			continue;
		}
		seen_guest = true;
		assert_int_equal(json_array_size(cps), 1);
		cp = json_array_get(cps, 0);
		assert_int_equal(json_integer_value(json_object_get(cp, "index")), SHIFT_RUN);
		assert_string_equal(json_string_value(json_object_get(cp, "revision")), "rev14");
		assert_string_equal(json_string_value(json_object_get(cp, "revision_before")), "rev13");
		assert_string_equal(json_string_value(json_object_get(cp, "direction")), "worse");
		{
			double shift = json_number_value(json_object_get(cp, "shift"));
			double p = json_number_value(json_object_get(cp, "p"));
			double before = json_number_value(json_object_get(cp, "median_before"));

			if (!(shift > 0.07 && shift < 0.13))
				fail_msg("shift %g, made 0.10", shift);
			assert_true(p > 0 && p < 0.01);
			assert_true(fabs(before - 18000) < 400);
		}
	}
	assert_true(seen_guest);
	json_decref(doc);
}

/*
 * The report of the newest run draws the history of the archive with the
 * change marked: one dashed line, labelled with the revision where crc32
 * shifted, at that run's x; none for the flat series.
 */
static void test_report_marks_the_change_point_on_the_history_chart(void **state)
{
	char path[512], label[64];
	char *html, *chart, *end;
	const char *mark, *l;
	double x1, x2;

	(void)state;
	assert_int_equal(RUN(&P, 60, "bench", "report", "--out", archive()), 0);
	snprintf(path, sizeof(path), "%s/report.html", archive());
	html = test_read_file(path, NULL);
	/* the compute chart, from its title to the end of its svg */
	chart = strstr(html, "<title>compute: guest median over runs</title>");
	if (!chart)
		fail_msg("report.html has no compute history chart");
	end = strstr(chart, "</svg>");
	assert_non_null(end);
	*end = 0;
	mark = strstr(chart, "<line class=\"cp\"");
	if (!mark)
		fail_msg("the compute history chart marks no change:\n%s", chart);
	assert_null(strstr(mark + 1, "<line class=\"cp\"")); /* only crc32 shifted */
	assert_int_equal(sscanf(mark, "<line class=\"cp\" x1=\"%lf\" y1=\"%*d\" x2=\"%lf\"", &x1, &x2), 2);
	assert_true(x1 == x2); /* vertical */
	snprintf(label, sizeof(label), ">rev14: crc32 +");
	l = strstr(mark, label);
	if (!l)
		fail_msg("the mark is not labelled with rev14:\n%.400s", mark);
	/* at the x of run 15 of 24 (rev14), the points being 1..24 over the 560-pixel axis from 70 */
	assert_true(fabs(x1 - (70 + 560.0 * 14 / 23)) < 0.2);
	/* the memory chart (copy, flat) has none */
	*end = '<';
	chart = strstr(html, "<title>memory: guest median over runs</title>");
	assert_non_null(chart);
	end = strstr(chart, "</svg>");
	*end = 0;
	assert_null(strstr(chart, "class=\"cp\""));
	free(html);
}

static void test_history_refuses_what_it_cannot_show(void **state)
{
	char empty[256];

	(void)state;
	harness_path(empty, sizeof(empty), "empty");
	assert_int_equal(mkdir(empty, 0700), 0);
	assert_int_equal(RUN(&P, 60, "bench", "history", "--out", empty), 2);
	assert_non_null(strstr(P.err, "no result documents"));
	assert_int_equal(RUN(&P, 60, "bench", "history", "compute/nosuch", "--out", archive()), 2);
	assert_non_null(strstr(P.err, "matches 'compute/nosuch'"));
	assert_int_equal(RUN(&P, 60, "bench", "history", "--alpha", "2", "--out", archive()), 64);
	assert_int_equal(RUN(&P, 60, "bench", "history", "a/b/c", "--out", archive()), 64);
	assert_int_equal(RUN(&P, 60, "bench", "history", "--help"), 0);
	assert_non_null(strstr(P.out, "usage: xenith bench history"));
}

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_history_names_the_revision_where_a_series_shifted, harness_teardown),
		cmocka_unit_test_teardown(test_history_json_has_the_change_with_its_size_and_p, harness_teardown),
		cmocka_unit_test_teardown(test_report_marks_the_change_point_on_the_history_chart, harness_teardown),
		cmocka_unit_test_teardown(test_history_refuses_what_it_cannot_show, harness_teardown),
	};

	return TEST_RUN_GROUP(tests, NULL, NULL);
}
