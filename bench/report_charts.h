/* SPDX-License-Identifier: MIT */
/*
 * The report's bar charts (bench/report.c writes the page around them):
 * one chart per suite figure, each in a <section class="chart"
 * data-suite="SUITE" data-chart="ID">, its bars and points marked
 * class="mark" so a test can count what was drawn against the document.
 */
#ifndef XENITH_BENCH_REPORT_CHARTS_H
#define XENITH_BENCH_REPORT_CHARTS_H

#include <stdio.h>

#include "result.h"

/* s with <, >, & and " escaped. */
void report_html_text(FILE *f, const char *s);

/* Opens and closes a chart's section; the reading guide goes under the chart. */
void report_chart_open(FILE *f, const char *suite, const char *id);
void report_chart_close(FILE *f, const char *guide);

/*
 * Guest relative to native for one case, with its 95% interval: from the
 * run's ratio series (mode "ratio", or "ratio-BACKING" for "guest-BACKING")
 * when it has one, from its per-pair samples; otherwise a bootstrap of the
 * guest and native series' medians.  as_speed: guest speed / native speed
 * (1/x for lower-is-better units); else guest / native in the series' unit.
 */
struct report_ratio {
	double value, lo, hi;   /* NAN when the run lacks the series */
	bool from_pairs;        /* from a ratio series */
};
bool report_ratio_of(const struct bench_run *run, const char *suite, const char *name,
		     const char *guest_mode, bool as_speed, struct report_ratio *out);

void report_compute_chart(FILE *f, const struct bench_run *run);
void report_memory_chart(FILE *f, const struct bench_run *run);
void report_exit_chart(FILE *f, const struct bench_run *run);
void report_blk_charts(FILE *f, const struct bench_run *run);
void report_prof_chart(FILE *f, const struct bench_run *run);
/* The soak suite's trends as a table (the sample curves are report.c's line charts). */
void report_soak_table(FILE *f, const struct bench_run *run);
void report_environment(FILE *f, const struct bench_run *run);
void report_warnings(FILE *f, const struct bench_run *run);

#endif
