/* SPDX-License-Identifier: MIT */
/*
 * For the report's tests: a document with every suite and known values,
 * what report.html must draw for a document (counted from its series, by
 * the rules each chart states), and a look at report.html's charts as
 * written (sections, marks, coordinates).
 */
#ifndef XENITH_BENCH_TESTS_REPORT_DOC_H
#define XENITH_BENCH_TESTS_REPORT_DOC_H

#include <stdbool.h>
#include <stddef.h>

#include "result.h"

/* The suites report.html draws, in a fixed order. */
extern const char *const report_suites[];
extern const size_t report_nr_suites;

/*
 * Fills r (bench_run_init()ed by the caller) with every suite:
 *   compute/crc32: guest twice native's time (speed 0.5, no ratio series);
 *   compute/matmul: medians give speed 1.25, but a ratio series of the
 *     pairs' guest/native times, median 0.9, so its bar is 1/0.9;
 *   memory: copy (GB/s) in guest, guest-thp and guest-hugetlb, latency-2M
 *     (ns/load) in guest and guest-thp;
 *   exit: hypercall vs getppid, ioeventfd vs eventfd-write;
 *   blk: two jobs in modes exit and poll, IOPS and p99;
 *   prof: crc32 unprofiled, at 100 Hz and 1 kHz with both ratio series
 *     (time +0.5% and +7.9%) and sample rates; matmul at 100 Hz only;
 *   density: 1, 10, 100 domains, xenith and bare;
 *   soak: create-destroy with 100 and 10 samples, reboot with 5, and a
 *     cycle-time series without a trend (not charted).
 * `revision` names the run (history tests make several).
 */
void report_doc_fill(struct bench_run *r, const char *revision, double scale);

/* How many marks (bars, points) report.html must draw for suite in r. */
size_t report_expected_marks(const struct bench_run *r, const char *suite);
bool report_doc_has_suite(const struct bench_run *r, const char *suite);

/* A chart of report.html as written. */
struct html_chart {
	char suite[32], id[64];
	size_t marks;          /* elements of class "mark" */
	double vb_w, vb_h;     /* the svg's viewBox */
	char bad[160];         /* the first coordinate not finite or outside the viewBox; "" if none */
	const char *start, *end; /* the section in the page */
};

/* The charts of html (at most max); the count. */
size_t report_html_charts(const char *html, struct html_chart *out, size_t max);

struct drawn_chart;
/*
 * A cmocka check of what Chromium drew (chromium_drawn()): every chart drew
 * all its marks, each seen in the screenshot, and each suite as many as r's
 * series call for.  Returns the number of suites with marks.
 */
size_t report_assert_drawn(const struct bench_run *r, const struct drawn_chart *charts, int n);

#endif
