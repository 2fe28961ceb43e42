// SPDX-License-Identifier: MIT
/*
 * unit: report.html from a document with every suite and known values:
 * a chart for every suite the document has (and none for one it lacks),
 * as many bars and points as its series call for, every coordinate finite
 * and inside its chart, the known ratios where they belong, the history's
 * revision labels, the environment table and the warnings; one file with
 * nothing to fetch and no script.
 */
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

#include "report.h"
#include "report_doc.h"
#include "testutil.h"

static char dir[] = "/tmp/xenith-report-XXXXXX";

/*
 * The report of r (written to a document and read back first, as `xenith
 * bench report` does) with history h[0..nh); the page, to free().
 */
static char *render(const struct bench_run *r, const struct bench_run *h, size_t nh)
{
	char doc[256], html[256];
	struct bench_run back;
	struct errbuf eb;
	char *page;

	snprintf(doc, sizeof(doc), "%s/run.json", dir);
	snprintf(html, sizeof(html), "%s/report.html", dir);
	if (bench_run_write(r, doc, &eb) < 0 || bench_run_read(&back, doc, &eb) < 0)
		fail_msg("%s", eb.msg);
	if (report_write_html(&back, h, nh, html, &eb) < 0)
		fail_msg("%s", eb.msg);
	bench_run_free(&back);
	page = test_read_file(html, NULL);
	unlink(doc);
	unlink(html);
	return page;
}

static void test_report_draws_every_suite_of_the_document_with_its_marks(void **state)
{
	struct html_chart charts[32];
	struct bench_run r;
	char *page;
	size_t n;

	(void)state;
	bench_run_init(&r);
	report_doc_fill(&r, "abc1234", 1);
	page = render(&r, NULL, 0);
	n = report_html_charts(page, charts, 32);
	for (size_t i = 0; i < n; i++)
		if (charts[i].bad[0])
			fail_msg("chart %s: %s", charts[i].id, charts[i].bad);
	for (size_t s = 0; s < report_nr_suites; s++) {
		const char *suite = report_suites[s];
		size_t want = report_expected_marks(&r, suite), got = 0, nc = 0;

		assert_true(report_doc_has_suite(&r, suite));
		assert_true(want > 0);
		for (size_t i = 0; i < n; i++)
			if (!strcmp(charts[i].suite, suite)) {
				got += charts[i].marks;
				nc++;
			}
		if (nc == 0)
			fail_msg("the document has suite %s, the report no chart for it", suite);
		if (got != want)
			fail_msg("suite %s: %zu bars/points drawn, its series call for %zu", suite, got, want);
	}
	free(page);
	bench_run_free(&r);
}

/* A real quick run: the committed baseline (every suite but soak). */
static void test_report_draws_every_suite_of_the_baseline(void **state)
{
	const char *doc = getenv("XENITH_BASELINE");
	struct html_chart charts[32];
	struct bench_run r;
	struct errbuf eb;
	size_t n, suites = 0;
	char *page;

	(void)state;
	assert_non_null(doc);
	if (bench_run_read(&r, doc, &eb) < 0)
		fail_msg("%s", eb.msg);
	page = render(&r, NULL, 0);
	n = report_html_charts(page, charts, 32);
	for (size_t i = 0; i < n; i++)
		if (charts[i].bad[0])
			fail_msg("chart %s: %s", charts[i].id, charts[i].bad);
	for (size_t s = 0; s < report_nr_suites; s++) {
		size_t want = report_expected_marks(&r, report_suites[s]), got = 0;

		for (size_t i = 0; i < n; i++)
			if (!strcmp(charts[i].suite, report_suites[s]))
				got += charts[i].marks;
		if (got != want)
			fail_msg("suite %s: %zu bars/points drawn, the baseline's series call for %zu", report_suites[s],
				 got, want);
		suites += want > 0;
	}
	assert_int_equal(suites, 5);
	free(page);
	bench_run_free(&r);
}

/* A copy of r without the series of suite. */
static void drop_suite(struct bench_run *r, const char *suite)
{
	size_t k = 0;

	for (size_t i = 0; i < r->nr_series; i++) {
		if (!strcmp(r->series[i].suite, suite)) {
			free(r->series[i].samples);
			continue;
		}
		r->series[k++] = r->series[i];
	}
	r->nr_series = k;
}

static void test_report_has_no_chart_for_a_suite_the_document_lacks(void **state)
{
	struct html_chart charts[32];
	struct bench_run r;
	size_t n, compute = 0;
	char *page;

	(void)state;
	bench_run_init(&r);
	report_doc_fill(&r, "abc1234", 1);
	drop_suite(&r, "blk");
	drop_suite(&r, "soak");
	page = render(&r, NULL, 0);
	n = report_html_charts(page, charts, 32);
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(charts[i].suite, "blk") || !strcmp(charts[i].suite, "soak"))
			fail_msg("chart %s drawn for a suite the document lacks", charts[i].id);
		compute += !strcmp(charts[i].suite, "compute");
	}
	assert_int_equal(compute, 1);
	assert_null(strstr(page, "class=\"trend\""));
	free(page);
	bench_run_free(&r);
}

/* Attribute name of the tag that starts at or before at: its number. */
static double tag_attr(const char *tag, const char *name)
{
	char key[32];
	const char *end = strchr(tag, '>'), *p;

	snprintf(key, sizeof(key), " %s=\"", name);
	p = strstr(tag, key);
	if (!p || p > end)
		fail_msg("no %s in %.80s", name, tag);
	return strtod(p + strlen(key), NULL);
}

/*
 * The value a ratio chart's bar shows, from its geometry: how far its end
 * is from the axis, in units of the reference line's distance (1.0).
 */
static double bar_ratio(const char *page, const char *chart_id, const char *title)
{
	struct html_chart charts[32];
	size_t n = report_html_charts(page, charts, 32);
	char want[128];

	snprintf(want, sizeof(want), "<title>%s", title);
	for (size_t i = 0; i < n; i++) {
		const char *t, *rect, *ref;
		double x, w, rx;

		if (strcmp(charts[i].id, chart_id))
			continue;
		t = strstr(charts[i].start, want);
		ref = strstr(charts[i].start, "class=\"ref\"");
		if (!t || t > charts[i].end || !ref || ref > charts[i].end)
			fail_msg("chart %s has no bar '%s' or no reference line", chart_id, title);
		for (rect = t; rect > charts[i].start && strncmp(rect, "<rect", 5); rect--)
			;
		while (ref > charts[i].start && *ref != '<')
			ref--;
		x = tag_attr(rect, "x");
		w = tag_attr(rect, "width");
		rx = tag_attr(ref, "x1");
		return w / (rx - x);
	}
	fail_msg("no chart %s", chart_id);
	return NAN;
}

static void test_report_ratio_bars_are_the_known_ratios(void **state)
{
	struct bench_run r;
	char *page;

	(void)state;
	bench_run_init(&r);
	report_doc_fill(&r, "abc1234", 1);
	page = render(&r, NULL, 0);
	/* compute: speed, native/guest for times; matmul from its pairs, not its medians (1.25) */
	assert_float_equal(bar_ratio(page, "compute", "crc32:"), 0.5, 0.01);
	assert_float_equal(bar_ratio(page, "compute", "matmul:"), 1 / 0.9, 0.01);
	/* memory, per backing: GB/s guest/native */
	assert_float_equal(bar_ratio(page, "memory", "copy (GB/s), guest-hugetlb:"), 1.1, 0.01);
	assert_float_equal(bar_ratio(page, "memory", "latency-2M (ns/load), guest-thp:"), 100.0 / 95, 0.01);
	/* blk: IOPS guest/native, p99 guest/native */
	assert_float_equal(bar_ratio(page, "blk-iops", "poll: randwrite-4k-qd32:"), 0.8, 0.01);
	assert_float_equal(bar_ratio(page, "blk-p99", "exit: randwrite-4k-qd32:"), 2.5, 0.02);
	/* prof: profiled time / unprofiled, the inverse of its speed ratio series (not of the medians) */
	assert_float_equal(bar_ratio(page, "prof", "crc32 (us), recorded at 100 Hz:"), 1 / 0.995, 0.005);
	assert_float_equal(bar_ratio(page, "prof", "crc32 (us), recorded at 1 kHz:"), 1 / 0.927, 0.005);
	/* the compute chart mixes both sources of intervals and says which is which */
	{
		/* its interval: within the pairs' speeds, 1/(0.9 * 1.01) .. 1/(0.9 * 0.99), around 1/0.9 */
		const char *t = strstr(page, "<title>matmul: ");
		double v, lo, hi;

		assert_non_null(t);
		assert_int_equal(sscanf(t, "<title>matmul: %lf [%lf, %lf]", &v, &lo, &hi), 3);
		assert_true(lo >= 1 / (0.9 * 1.01) - 1e-3 && lo < 1 / 0.9);
		assert_true(hi <= 1 / (0.9 * 0.99) + 1e-3 && hi > 1 / 0.9);
	}
	assert_non_null(strstr(page, "rows marked * from per-pair ratio series, the others a bootstrap"));
	assert_non_null(strstr(page, "(bootstrap of the guest and native series)"));
	free(page);
	bench_run_free(&r);
}

static void test_report_labels_history_with_revisions_and_dates(void **state)
{
	static const char *const revs[] = { "aaa1111", "bbb2222", "ccc3333" };
	struct bench_run hist[3], r;
	struct html_chart charts[32];
	size_t n, points = 0;
	char *page;

	(void)state;
	for (int i = 0; i < 3; i++) {
		bench_run_init(&hist[i]);
		report_doc_fill(&hist[i], revs[i], 1 + 0.1 * i);
	}
	bench_run_init(&r);
	report_doc_fill(&r, "ddd4444", 1.3);
	page = render(&r, hist, 3);
	n = report_html_charts(page, charts, 32);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(charts[i].suite, "history"))
			continue;
		if (charts[i].bad[0])
			fail_msg("chart %s: %s", charts[i].id, charts[i].bad);
		points += charts[i].marks;
	}
	/* compute (2 cases), memory (2), exit (2): 4 runs each */
	assert_int_equal(points, 6 * 4);
	for (int i = 0; i < 3; i++) {
		char want[64];

		snprintf(want, sizeof(want), "class=\"tick\" transform=\"rotate(-50 ");
		assert_non_null(strstr(page, want));
		snprintf(want, sizeof(want), ">%s 2026-11-30</text>", revs[i]);
		if (!strstr(page, want))
			fail_msg("the history has no axis label %s", want);
	}
	free(page);
	bench_run_free(&r);
	for (int i = 0; i < 3; i++)
		bench_run_free(&hist[i]);
}

/* The line charts' y axes: three labels, all different, even for a range of 0.01% (soak reboot's). */
static void test_report_line_charts_label_their_y_axis_distinctly(void **state)
{
	struct html_chart charts[32];
	struct bench_run r;
	size_t n, lines = 0;
	char *page;

	(void)state;
	bench_run_init(&r);
	report_doc_fill(&r, "abc1234", 1);
	page = render(&r, &r, 1);
	n = report_html_charts(page, charts, 32);
	for (size_t i = 0; i < n; i++) {
		char label[3][32];
		size_t k = 0;
		const char *p = charts[i].start;

		if (!strstr(charts[i].start, "<polyline") || strstr(charts[i].start, "<polyline") > charts[i].end)
			continue;
		while (k < 3 && (p = strstr(p, "class=\"grid\"/><text ")) && p < charts[i].end) {
			p = strchr(p + 20, '>');
			if (sscanf(p, ">%31[^<]", label[k]) != 1)
				fail_msg("chart %s: an empty axis label", charts[i].id);
			k++;
		}
		if (k != 3 || !strcmp(label[0], label[1]) || !strcmp(label[1], label[2]))
			fail_msg("chart %s: y labels '%s' '%s' '%s'", charts[i].id, k > 0 ? label[0] : "",
				 k > 1 ? label[1] : "", k > 2 ? label[2] : "");
		lines++;
	}
	assert_int_equal(lines, 2 + 2 + 3); /* density, soak, history */
	free(page);
	bench_run_free(&r);
}

static void test_report_has_the_environment_table_and_the_warnings(void **state)
{
	struct bench_run r;
	char *page, *warn;

	(void)state;
	bench_run_init(&r);
	report_doc_fill(&r, "abc1234", 1);
	page = render(&r, NULL, 0);
	assert_non_null(strstr(page, "<tr><th>CPU model</th><td>Test CPU &lt;model&gt; &amp; co</td></tr>"));
	assert_non_null(strstr(page, "<tr><th>Kernel</th><td>Linux 6.18.0-test</td></tr>"));
	assert_non_null(strstr(page, "<tr><th>KVM module</th><td>kvm_pvm</td></tr>"));
	assert_non_null(strstr(page, "<tr><th>Xenith revision</th><td>abc1234</td></tr>"));
	assert_non_null(strstr(page, "<tr><th>TSC frequency</th><td>2596132 kHz</td></tr>"));
	/* the note's three sentences, one warning each */
	warn = strstr(page, "<h2>Warnings</h2>");
	assert_non_null(warn);
	assert_non_null(strstr(warn, "<li>memory_backing hugetlb skipped: 0 huge pages of 2 MiB free, 33 needed "
				     "(/proc/sys/vm/nr_hugepages)</li>\n<li>memory_backing thp skipped: no transparent "
				     "huge pages for shared memory: always within_size advise [never] deny force</li>\n"
				     "<li>blk: not run: fio is not installed (apt-get install fio; ci/setup.sh does); it is "
				     "the native baseline</li>\n</ul>"));
	free(page);

	r.note[0] = 0;
	r.env.tsc_khz = 0;
	r.env.hostname[0] = 0;
	page = render(&r, NULL, 0);
	assert_non_null(strstr(page, "None recorded for this run."));
	assert_null(strstr(page, "<li>"));
	assert_non_null(strstr(page, "<tr><th>Host</th><td>not recorded</td></tr>"));
	assert_non_null(strstr(page, "<tr><th>TSC frequency</th><td>not recorded</td></tr>"));
	free(page);
	bench_run_free(&r);
}

static void test_report_is_one_file_without_scripts_or_fetches(void **state)
{
	struct bench_run r;
	char *page;
	const char *p;

	(void)state;
	bench_run_init(&r);
	report_doc_fill(&r, "abc1234", 1);
	page = render(&r, &r, 1);
	assert_null(strstr(page, "<script"));
	assert_null(strstr(page, " src="));
	assert_null(strstr(page, " href="));
	assert_null(strstr(page, "url("));
	assert_null(strstr(page, "@import"));
	/* the only address is SVG's namespace */
	for (p = page; (p = strstr(p, "http")); p++)
		if (strncmp(p, "http://www.w3.org/2000/svg\"", 27))
			fail_msg("the report refers to %.60s", p);
	free(page);
	bench_run_free(&r);
}

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test(test_report_draws_every_suite_of_the_document_with_its_marks),
		cmocka_unit_test(test_report_draws_every_suite_of_the_baseline),
		cmocka_unit_test(test_report_has_no_chart_for_a_suite_the_document_lacks),
		cmocka_unit_test(test_report_ratio_bars_are_the_known_ratios),
		cmocka_unit_test(test_report_labels_history_with_revisions_and_dates),
		cmocka_unit_test(test_report_line_charts_label_their_y_axis_distinctly),
		cmocka_unit_test(test_report_has_the_environment_table_and_the_warnings),
		cmocka_unit_test(test_report_is_one_file_without_scripts_or_fetches),
	};
	int r;

	if (!mkdtemp(dir))
		return 1;
	r = TEST_RUN_GROUP(tests, NULL, NULL);
	rmdir(dir);
	return r;
}
