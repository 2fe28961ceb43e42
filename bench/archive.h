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
/*
 * Makes id (a run id: date to the second, revision, host) name no document
 * the archive has yet, by a count after the date (DATE.02-REVISION-HOST,
 * .03, ... up to .99; names still sort by time): two runs of one build
 * started in the same second would otherwise overwrite one another.
 */
void archive_unique_id(char *id, size_t size);
/* Writes the run's document (atomically) and indexes it; returns the document's path. */
int archive_store(const struct bench_run *run, char *path, size_t size, struct errbuf *eb);

/*
 * Reads up to `max` of the newest complete documents in the archive
 * (oldest first), skipping the one at `skip_path` and unreadable ones.
 */
int archive_load_history(const char *skip_path, size_t max, struct bench_run **runs, size_t *n,
			 struct errbuf *eb);
/* The newest document in the archive; -ENOENT when there is none. */
int archive_latest(char *path, size_t size, struct errbuf *eb);
/* The same in another directory (not the archive's). */
int archive_latest_in(const char *dir, char *path, size_t size, struct errbuf *eb);

#endif
