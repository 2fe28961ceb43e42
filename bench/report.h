/* SPDX-License-Identifier: MIT */
/* Reports and exports of result documents. */
#ifndef XENITH_BENCH_REPORT_H
#define XENITH_BENCH_REPORT_H

#include <stdbool.h>
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

/*
 * The migrate suite (bench/migbench.h): its figures with the targets and
 * the published figures they are read against, and what its dirty cases
 * say about convergence; as text (the table `xenith bench` prints) or as
 * HTML (report.html's section).  Nothing when the run has no such series.
 */
void report_migrate(FILE *f, const struct bench_run *run, bool html);
/*
 * The dirty rate at which pre-copy stopped converging: the lowest rate R
 * of the series migrate/dirty-R-converged (0 or 1 a run) where most runs
 * did not converge.  false when there is none; *highest is the highest
 * rate tried (0: no dirty case ran).  From the samples: usable before
 * bench_run_finish().
 */
bool report_migrate_limit(const struct bench_run *run, double *limit, double *highest);

#endif
