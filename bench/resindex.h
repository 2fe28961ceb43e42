/* SPDX-License-Identifier: MIT */
/*
 * The results index: per run, one row in `runs`, and per series one row in
 * `series` (its summary, not its samples), for history queries, reports and
 * the exporter.  One schema and one set of statements (resindex.c) over two
 * backends: SQLite (index.sqlite in the archive, the embedded default) and
 * PostgreSQL (a fleet of CI hosts, resindex_pg.c, in xenith-fleet only:
 * libpq does not link statically on Debian).  What differs between the two
 * SQL dialects is in struct index_ops, each field saying why.
 */
#ifndef XENITH_BENCH_RESINDEX_H
#define XENITH_BENCH_RESINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"
#include "result.h"

/* A statement parameter or a result column, whatever the backend. */
enum sqlv_type { SQLV_NULL, SQLV_TEXT, SQLV_INT, SQLV_REAL };

struct sqlv {
	enum sqlv_type type;
	const char *s;
	long long i;
	double d;
};

struct results_index;

/* Called once per result row; a nonzero return stops the statement and is returned. */
typedef int (*index_result_fn)(const struct sqlv *cols, int ncols, void *arg);

struct index_ops {
	const char *name;          /* "SQLite", "PostgreSQL": for messages */
	/*
	 * Opens the transaction that creates the schema and stores a run.
	 * SQLite: BEGIN IMMEDIATE takes the write lock at once (no upgrade
	 * deadlock between two writers). PostgreSQL: BEGIN, then
	 * lock_sql serializes concurrent CREATE TABLE IF NOT EXISTS of two
	 * hosts (it is not atomic in PostgreSQL: both may try to create it).
	 */
	const char *begin_sql;
	const char *lock_sql;      /* NULL: none needed */
	/*
	 * Whether table $1 has column $2 (one row if so): SQLite has
	 * pragma_table_info, PostgreSQL information_schema. Used to add the
	 * columns newer than an existing index (SQLite's ALTER TABLE has no
	 * ADD COLUMN IF NOT EXISTS).
	 */
	const char *has_column_sql;
	/*
	 * Appended to ORDER BY text columns: byte order in both, so both list
	 * rows alike (PostgreSQL sorts text in the database's locale).
	 */
	const char *collate;
	/* Runs sql with np parameters ($1..$N); fn (may be NULL) sees each row. */
	int (*exec)(struct results_index *ix, const char *sql, const struct sqlv *p, int np,
		    index_result_fn fn, void *arg, struct errbuf *eb);
	void (*close)(struct results_index *ix);
};

struct results_index {
	const struct index_ops *ops;
	void *handle;
	char where[256];           /* the index in messages: a path, or host and database */
};

/* One run's series as the index holds it: runs joined with series. */
struct index_row {
	char id[112], file[128], date[32], revision[64], hostname[72], kvm_module[32];
	char cpu_model[128], kernel[160], build_type[32];
	bool quick;
	double duration_s;
	char suite[16], name[48], mode[24], unit[16], better[8];
	long long n;
	double median, cv, p5, p95;  /* NAN: not a number (stored as NULL) */
};

/* What index_query() returns; NULL or "" fields match everything. */
struct index_filter {
	const char *run_id, *hostname, *suite, *name, *mode;
};

/* Opens (creating if needed) the SQLite index at path. */
int index_open_sqlite(struct results_index **ix, const char *path, struct errbuf *eb);
void index_close(struct results_index *ix);

/*
 * Stores the run's rows (replacing a run of the same id) in one
 * transaction, creating or extending the schema first; file is the
 * document's name in its archive.
 */
int index_store_run(struct results_index *ix, const struct bench_run *run, const char *file,
		    struct errbuf *eb);

/*
 * Rows matching f, ordered by date, run id, suite, case and mode (byte
 * order); fn's nonzero return stops and is returned.
 */
int index_query(struct results_index *ix, const struct index_filter *f,
		int (*fn)(const struct index_row *row, void *arg), void *arg, struct errbuf *eb);

/*
 * The newest run (by date, then id) of hostname (NULL or "": any host) as
 * a bench_run whose series carry their summaries (n, median, cv, p5, p95)
 * but no samples; -ENOENT when the index has no run.
 */
int index_load_latest(struct results_index *ix, const char *hostname, struct bench_run *run,
		      struct errbuf *eb);

/* One row as a tab-separated line (numbers with 17 digits, "NULL" for NAN). */
void index_row_print(FILE *f, const struct index_row *row);

#endif
