// SPDX-License-Identifier: MIT
/*
 * unit: report.html as headless Chromium draws it (bench/tests/chromium_check.h):
 * every chart of a document with every suite and a history has each of its
 * bars and points drawn, as many as the document's series call for; so has
 * the report of a real quick run (the committed baseline); and the
 * check itself tells a drawn mark from one that is empty, outside its chart,
 * unpainted or covered.  Skipped, saying so, where chromium is not installed
 * (ci/setup.sh installs it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "chromium_check.h"
#include "report.h"
#include "report_doc.h"
#include "testutil.h"

static char dir[] = "/tmp/xenith-report-chromium-XXXXXX";

static void test_chromium_draws_every_chart_of_a_report_with_every_suite(void **state)
{
	static const char *const revs[] = { "aaa1111", "bbb2222", "ccc3333" };
	struct bench_run hist[3], r;
	struct drawn_chart charts[48];
	char html[256], work[256], why[512];
	size_t history = 0;
	struct errbuf eb;
	double secs;
	int n;

	(void)state;
	if (!chromium_path())
		SKIP_BECAUSE("chromium is not installed (ci/setup.sh installs it: apt-get install chromium)");
	for (int i = 0; i < 3; i++) {
		bench_run_init(&hist[i]);
		report_doc_fill(&hist[i], revs[i], 1 + 0.1 * i);
	}
	bench_run_init(&r);
	report_doc_fill(&r, "ddd4444", 1.3);
	snprintf(html, sizeof(html), "%s/report.html", dir);
	snprintf(work, sizeof(work), "%s/chromium", dir);
	if (report_write_html(&r, hist, 3, html, &eb) < 0)
		fail_msg("%s", eb.msg);
	n = chromium_drawn(html, work, charts, 48, &secs, why, sizeof(why));
	unlink(html);
	if (n < 0)
		fail_msg("%s", why);
	printf("# chromium: %.1f s for %d charts\n", secs, n);
	for (int i = 0; i < n; i++) {
		if (charts[i].marks == 0 || charts[i].drawn != charts[i].marks)
			fail_msg("chart %s (svg %s): %u of %u marks drawn; first not drawn: %s", charts[i].id,
				 charts[i].svg_size, charts[i].drawn, charts[i].marks, charts[i].why);
		else if (charts[i].painted != charts[i].drawn)
			fail_msg("chart %s: %u of %u marks seen in the screenshot; %s", charts[i].id,
				 charts[i].painted, charts[i].drawn, charts[i].unpainted);
		history += !strcmp(charts[i].suite, "history");
	}
	for (size_t s = 0; s < report_nr_suites; s++) {
		size_t want = report_expected_marks(&r, report_suites[s]), got = 0;

		for (int i = 0; i < n; i++)
			if (!strcmp(charts[i].suite, report_suites[s]))
				got += charts[i].drawn;
		if (want == 0 || got != want)
			fail_msg("suite %s: Chromium drew %zu bars/points, the document's series call for %zu",
				 report_suites[s], got, want);
	}
	/* compute, memory and exit over the runs */
	assert_int_equal(history, 3);
	bench_run_free(&r);
	for (int i = 0; i < 3; i++)
		bench_run_free(&hist[i]);
}

/*
 * A real quick run: the committed baseline (results/baselines/, every suite
 * but soak, from a 2-CPU AMD EPYC host), its report in Chromium.
 */
static void test_chromium_draws_every_chart_of_the_baselines_report(void **state)
{
	const char *doc = getenv("XENITH_BASELINE");
	struct drawn_chart charts[48];
	char html[256], work[256], why[512];
	size_t suites = 0;
	struct bench_run r;
	struct errbuf eb;
	double secs;
	int n;

	(void)state;
	if (!chromium_path())
		SKIP_BECAUSE("chromium is not installed (ci/setup.sh installs it: apt-get install chromium)");
	assert_non_null(doc);
	if (bench_run_read(&r, doc, &eb) < 0)
		fail_msg("%s", eb.msg);
	snprintf(html, sizeof(html), "%s/baseline.html", dir);
	snprintf(work, sizeof(work), "%s/chromium-baseline", dir);
	if (report_write_html(&r, NULL, 0, html, &eb) < 0)
		fail_msg("%s", eb.msg);
	n = chromium_drawn(html, work, charts, 48, &secs, why, sizeof(why));
	unlink(html);
	if (n < 0)
		fail_msg("%s", why);
	printf("# chromium: %.1f s for %d charts\n", secs, n);
	suites = report_assert_drawn(&r, charts, n);
	assert_int_equal(suites, 5); /* compute, memory, exit, blk, density */
	bench_run_free(&r);
}

/* A chart of five marks: one drawn, four not, each for another reason. */
static const char broken_page[] =
	"<!DOCTYPE html><html><head><style>.b1{fill:#3b6ea5}.cover{fill:#fff}</style></head><body>"
	"<section class=\"chart\" data-suite=\"compute\" data-chart=\"broken\">"
	"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"400\" height=\"200\" viewBox=\"0 0 400 200\">"
	"<rect class=\"mark b1\" x=\"10\" y=\"10\" width=\"100\" height=\"10\"><title>drawn</title></rect>"
	"<rect class=\"mark b1\" x=\"10\" y=\"30\" width=\"0\" height=\"10\"><title>empty</title></rect>"
	"<rect class=\"mark b1\" x=\"500\" y=\"50\" width=\"40\" height=\"10\"><title>outside</title></rect>"
	"<rect class=\"mark\" style=\"fill:none\" x=\"10\" y=\"70\" width=\"40\" height=\"10\"><title>unpainted</title></rect>"
	"<rect class=\"mark b1\" x=\"10\" y=\"90\" width=\"40\" height=\"10\"><title>covered</title></rect>"
	"<rect class=\"cover\" x=\"0\" y=\"85\" width=\"100\" height=\"20\"/>"
	"</svg></section></body></html>\n";

static void test_chromium_check_tells_drawn_marks_from_undrawn_ones(void **state)
{
	struct drawn_chart charts[4];
	char html[256], work[256], why[512];
	double secs;
	int n;

	(void)state;
	if (!chromium_path())
		SKIP_BECAUSE("chromium is not installed (ci/setup.sh installs it: apt-get install chromium)");
	snprintf(html, sizeof(html), "%s/broken.html", dir);
	snprintf(work, sizeof(work), "%s/chromium-broken", dir);
	test_write_text(html, broken_page);
	n = chromium_drawn(html, work, charts, 4, &secs, why, sizeof(why));
	unlink(html);
	if (n < 0)
		fail_msg("%s", why);
	printf("# chromium: %.1f s\n", secs);
	assert_int_equal(n, 1);
	assert_string_equal(charts[0].id, "broken");
	assert_int_equal(charts[0].marks, 5);
	assert_int_equal(charts[0].drawn, 1);
	assert_int_equal(charts[0].painted, 1);
	/* the first that is not drawn, and why */
	if (!strstr(charts[0].why, "\"empty\"") || !strstr(charts[0].why, "empty box"))
		fail_msg("the check named the wrong mark or reason: %s", charts[0].why);
}

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chromium_draws_every_chart_of_a_report_with_every_suite),
		cmocka_unit_test(test_chromium_draws_every_chart_of_the_baselines_report),
		cmocka_unit_test(test_chromium_check_tells_drawn_marks_from_undrawn_ones),
	};
	int r;

	if (!mkdtemp(dir))
		return 1;
	r = TEST_RUN_GROUP(tests, NULL, NULL);
	rmdir(dir);
	return r;
}
