/* SPDX-License-Identifier: MIT */
/* Reports and exports of result documents. */
#ifndef XENITH_BENCH_REPORT_H
#define XENITH_BENCH_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "err.h"
#include "result.h"

/*
 * One self-contained HTML file (inline SVG, no scripts, no external
 * resources): guest/native ratio per workload, the exit-cost ladder,
 * density curves, and the history of every case over `history` (oldest
 * first, may be empty; `run` is the newest).
 */
int report_write_html(const struct bench_run *run, const struct bench_run *history, size_t nr_history,
		      const char *path, struct errbuf *eb);

/* github-action-benchmark "customSmallerIsBetter"/"customBiggerIsBetter" JSON. */
int report_write_github(const struct bench_run *run, const char *path, bool bigger_is_better,
			struct errbuf *eb);
/*
 * OpenMetrics text exposition of every series' median, p5, p95 and cv
 * (any mode: native, guest, ratio, ...), ending in "# EOF".
 */
void report_openmetrics(FILE *f, const struct bench_run *run);
int report_write_openmetrics(const struct bench_run *run, const char *path, struct errbuf *eb);

#endif
