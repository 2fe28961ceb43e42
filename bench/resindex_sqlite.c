// SPDX-License-Identifier: MIT
/* The results index in SQLite: index.sqlite in the archive, the embedded default. */
#include "resindex.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

static int sqlite_exec(struct results_index *ix, const char *sql, const struct sqlv *p, int np,
		       index_result_fn fn, void *arg, struct errbuf *eb)
{
	sqlite3 *db = ix->handle;
	sqlite3_stmt *st = NULL;
	struct sqlv cols[32];
	int r = 0, rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		goto sqlerr;
	for (int i = 0; i < np; i++) {
		switch (p[i].type) {
		case SQLV_NULL: rc = sqlite3_bind_null(st, i + 1); break;
		case SQLV_TEXT: rc = sqlite3_bind_text(st, i + 1, p[i].s, -1, SQLITE_STATIC); break;
		case SQLV_INT: rc = sqlite3_bind_int64(st, i + 1, p[i].i); break;
		default: rc = sqlite3_bind_double(st, i + 1, p[i].d); break;
		}
		if (rc != SQLITE_OK)
			goto sqlerr;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int n = sqlite3_column_count(st);

		if (!fn)
			continue;
		if (n > (int)(sizeof(cols) / sizeof(cols[0])))
			n = (int)(sizeof(cols) / sizeof(cols[0]));
		for (int i = 0; i < n; i++) {
			memset(&cols[i], 0, sizeof(cols[i]));
			switch (sqlite3_column_type(st, i)) {
			case SQLITE_NULL: cols[i].type = SQLV_NULL; break;
			case SQLITE_INTEGER:
				cols[i].type = SQLV_INT;
				cols[i].i = sqlite3_column_int64(st, i);
				break;
			case SQLITE_FLOAT:
				cols[i].type = SQLV_REAL;
				cols[i].d = sqlite3_column_double(st, i);
				break;
			default:
				cols[i].type = SQLV_TEXT;
				cols[i].s = (const char *)sqlite3_column_text(st, i);
			}
		}
		r = fn(cols, n, arg);
		if (r)
			break;
	}
	if (!r && rc != SQLITE_DONE)
		goto sqlerr;
	sqlite3_finalize(st);
	return r;
sqlerr:
	r = errbuf_set(eb, EIO, "results index %s: %s", ix->where, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return r;
}

static void sqlite_close(struct results_index *ix)
{
	sqlite3_close(ix->handle);
	free(ix);
}

static const struct index_ops sqlite_ops = {
	.name = "SQLite",
	.begin_sql = "BEGIN IMMEDIATE",
	.lock_sql = NULL,
	.has_column_sql = "SELECT 1 FROM pragma_table_info($1) WHERE name = $2",
	.collate = "",  /* BINARY, SQLite's default */
	.exec = sqlite_exec,
	.close = sqlite_close,
};

int index_open_sqlite(struct results_index **out, const char *path, struct errbuf *eb)
{
	struct results_index *ix = calloc(1, sizeof(*ix));
	sqlite3 *db = NULL;
	int r;

	*out = NULL;
	if (!ix)
		return errbuf_set(eb, ENOMEM, "out of memory");
	if (sqlite3_open(path, &db) != SQLITE_OK) {
		r = errbuf_set(eb, EIO, "cannot open results index %s: %s", path,
			       db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		free(ix);
		return r;
	}
	/* several runs may finish at once on one host (a CI matrix): wait for the writer */
	sqlite3_busy_timeout(db, 5000);
	ix->ops = &sqlite_ops;
	ix->handle = db;
	snprintf(ix->where, sizeof(ix->where), "%s", path);
	*out = ix;
	return 0;
}
