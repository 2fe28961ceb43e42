/* SPDX-License-Identifier: MIT */
/*
 * History of the archive: each series (suite, case, mode) as its per-run
 * medians in date order, with the change points found in them
 * (bench/changepoint.h).  `xenith bench history` prints it; the report
 * marks the change points on its history charts.
 */
#ifndef XENITH_BENCH_HISTORY_H
#define XENITH_BENCH_HISTORY_H

#include <stdbool.h>
#include <stddef.h>

#include "changepoint.h"
#include "result.h"

#define HISTORY_MAX_CHANGES 16

struct history_point {
	const struct bench_run *run;   /* borrowed: id, date, revision */
	double median;
	size_t n;                      /* samples behind the median */
};

struct history_series {
	char suite[16], name[48], mode[24], unit[16];
	bool higher_is_better;
	struct history_point *points;  /* oldest first */
	size_t nr_points;
	struct change_point changes[HISTORY_MAX_CHANGES]; /* index: into points */
	size_t nr_changes;
};

struct history {
	struct history_series *series;
	size_t nr_series;
	const struct bench_run **runs;  /* every run given, by date (oldest first) */
	size_t nr_runs;
};

/*
 * True when a SUITE or SUITE/CASE filter selects the series (no filters:
 * every series).
 */
bool history_selected(const char *suite, const char *name, const char *const *filters, size_t nr_filters);

/*
 * Collects every selected series of runs[0..n) (sorted here by date, oldest
 * first; the runs must outlive h) with a finite median, and finds its change
 * points with o.  0 or -ENOMEM.
 */
int history_build(const struct bench_run *const *runs, size_t n, const char *const *filters,
		  size_t nr_filters, const struct cp_opts *o, struct history *h);
void history_free(struct history *h);

/* The series suite/name/mode of h, or NULL. */
const struct history_series *history_find(const struct history *h, const char *suite, const char *name,
					  const char *mode);

#endif
