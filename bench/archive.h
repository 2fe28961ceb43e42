/* SPDX-License-Identifier: MIT */
/*
 * The results archive: one JSON document per run in a directory, and an
 * SQLite index (index.sqlite) of runs and per-case medians for history
 * queries and reports.
 */
#ifndef XENITH_BENCH_ARCHIVE_H
#define XENITH_BENCH_ARCHIVE_H

#include <stddef.h>

#include "err.h"
#include "result.h"

/* Picks the directory (out, else $XENITH_RESULTS, else the default), creates it, checks it is writable. */
int archive_prepare(const char *out, struct errbuf *eb);
const char *archive_dir(void);
/* Writes the run's document (atomically) and indexes it; returns the document's path. */
int archive_store(const struct bench_run *run, char *path, size_t size, struct errbuf *eb);

#endif
