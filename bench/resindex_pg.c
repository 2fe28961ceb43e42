// SPDX-License-Identifier: MIT
/* The results index in PostgreSQL through libpq: the statements are resindex.c's. */
#include "resindex_pg.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What to check when the server cannot be reached or refuses us. */
#define PG_ADVICE "check that the server runs and accepts connections from this host " \
	"(listen_addresses, pg_hba.conf), that the database exists (createdb) and the URL's " \
	"user and password (or ~/.pgpass, $PGPASSWORD)"

bool index_is_pg_url(const char *db)
{
	return db && (!strncmp(db, "postgresql://", 13) || !strncmp(db, "postgres://", 11));
}

/* One line of libpq's message (they end in a newline, some have several lines). */
static void first_line(char *dst, size_t size, const char *msg)
{
	size_t n = strcspn(msg ? msg : "", "\n");

	snprintf(dst, size, "%.*s", (int)n, msg ? msg : "");
}

static int pg_exec(struct results_index *ix, const char *sql, const struct sqlv *p, int np,
		   index_result_fn fn, void *arg, struct errbuf *eb)
{
	PGconn *conn = ix->handle;
	char buf[16][40];
	const char *values[16];
	char line[256];
	PGresult *res;
	int r = 0;

	if (np > 16)
		return errbuf_set(eb, E2BIG, "results index %s: %d parameters", ix->where, np);
	for (int i = 0; i < np; i++) {
		switch (p[i].type) {
		case SQLV_NULL: values[i] = NULL; break;
		case SQLV_TEXT: values[i] = p[i].s; break;
		case SQLV_INT:
			snprintf(buf[i], sizeof(buf[i]), "%lld", p[i].i);
			values[i] = buf[i];
			break;
		default: /* 17 digits: the double round-trips */
			snprintf(buf[i], sizeof(buf[i]), "%.17g", p[i].d);
			values[i] = buf[i];
		}
	}
	res = PQexecParams(conn, sql, np, NULL, values, NULL, NULL, 0);
	switch (PQresultStatus(res)) {
	case PGRES_COMMAND_OK:
		break;
	case PGRES_TUPLES_OK:
		for (int row = 0; fn && row < PQntuples(res) && !r; row++) {
			struct sqlv cols[32];
			int n = PQnfields(res);

			if (n > 32)
				n = 32;
			for (int c = 0; c < n; c++) {
				memset(&cols[c], 0, sizeof(cols[c]));
				if (PQgetisnull(res, row, c)) {
					cols[c].type = SQLV_NULL;
				} else {
					/* text format: resindex.c converts by the column's type */
					cols[c].type = SQLV_TEXT;
					cols[c].s = PQgetvalue(res, row, c);
				}
			}
			r = fn(cols, n, arg);
		}
		break;
	default:
		first_line(line, sizeof(line), PQresultErrorMessage(res));
		if (PQstatus(conn) == CONNECTION_BAD)
			r = errbuf_set(eb, ECONNRESET, "results index %s: lost the connection: %s; %s",
				       ix->where, line, PG_ADVICE);
		else
			r = errbuf_set(eb, EIO, "results index %s: %s", ix->where, line);
	}
	PQclear(res);
	return r;
}

static void pg_close(struct results_index *ix)
{
	PQfinish(ix->handle);
	free(ix);
}

static const struct index_ops pg_ops = {
	.name = "PostgreSQL",
	.begin_sql = "BEGIN",
	/* a transaction-scoped lock, one number for the index's schema and writes ("xenith") */
	.lock_sql = "SELECT pg_advisory_xact_lock(7886752116997441)",
	.has_column_sql = "SELECT 1 FROM information_schema.columns WHERE table_schema = "
			  "current_schema() AND table_name = $1 AND column_name = $2",
	.collate = " COLLATE \"C\"",
	.exec = pg_exec,
	.close = pg_close,
};

/* CREATE TABLE IF NOT EXISTS says "already exists, skipping" as a NOTICE: not for people. */
static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

int index_open_pg(struct results_index **out, const char *url, struct errbuf *eb)
{
	/* the URL's own connect_timeout, if any, comes later and wins */
	const char *const keys[] = { "connect_timeout", "application_name", "dbname", NULL };
	const char *const vals[] = { "10", "xenith-fleet", url, NULL };
	struct results_index *ix = calloc(1, sizeof(*ix));
	char line[256];
	PGconn *conn;
	int r;

	*out = NULL;
	if (!ix)
		return errbuf_set(eb, ENOMEM, "out of memory");
	conn = PQconnectdbParams(keys, vals, 1);
	if (!conn) {
		free(ix);
		return errbuf_set(eb, ENOMEM, "PostgreSQL: out of memory");
	}
	/* never the URL itself in messages: it may hold a password */
	snprintf(ix->where, sizeof(ix->where), "PostgreSQL database \"%s\" on %s%s%s",
		 PQdb(conn) ? PQdb(conn) : "?", PQhost(conn) && *PQhost(conn) ? PQhost(conn) : "localhost",
		 PQport(conn) && *PQport(conn) ? ":" : "", PQport(conn) ? PQport(conn) : "");
	if (PQstatus(conn) != CONNECTION_OK) {
		first_line(line, sizeof(line), PQerrorMessage(conn));
		r = errbuf_set(eb, ECONNREFUSED, "cannot connect to %s: %s; %s", ix->where, line, PG_ADVICE);
		PQfinish(conn);
		free(ix);
		return r;
	}
	PQsetNoticeProcessor(conn, quiet, NULL);
	ix->ops = &pg_ops;
	ix->handle = conn;
	*out = ix;
	return 0;
}
