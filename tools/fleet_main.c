// SPDX-License-Identifier: MIT
/*
 * xenith-fleet: results beyond one machine.  The PostgreSQL index of a
 * fleet of hosts (`xenith fleet store|query`, and `xenith bench --db`,
 * which runs `xenith-fleet store`) and the OpenMetrics exporter
 * (`xenith exporter`).
 *
 * A binary of its own, linked dynamically, unlike xenith and xenith-bench:
 * libpq needs libgssapi_krb5 and libldap, and libmicrohttpd needs GnuTLS,
 * whose libp11-kit and libunistring; Debian ships none of those four as
 * static archives (checked: Debian 12, libpq-dev 15, libmicrohttpd-dev
 * 0.9.75), so neither library links with -static.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bench/archive.h"
#include "../bench/resindex_pg.h"
#include "fleet.h"
#include "xenith.h"

int fleet_open_index(const char *db, struct results_index **ix, struct errbuf *eb)
{
	if (index_is_pg_url(db))
		return index_open_pg(ix, db, eb);
	if (!strncmp(db, "sqlite:", 7))
		db += 7;
	return index_open_sqlite(ix, db, eb);
}

/* The index of the archive: --db, else the archive's (--out, $XENITH_RESULTS) index.sqlite. */
static int open_db_or_archive(const char *db, const char *out, struct results_index **ix,
			      struct errbuf *eb)
{
	char path[PATH_MAX + 16];

	if (db)
		return fleet_open_index(db, ix, eb);
	if (archive_prepare(out, eb) < 0)
		return -EINVAL;
	snprintf(path, sizeof(path), "%s/index.sqlite", archive_dir());
	return index_open_sqlite(ix, path, eb);
}

/* xenith fleet store --db DB DOC...: the documents' index rows into DB. */
static int cmd_store(int argc, char **argv)
{
	const char *db = NULL;
	int first = 0, failed = 0;
	struct results_index *ix;
	struct errbuf eb;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--db") && i + 1 < argc) {
			db = argv[++i];
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: xenith fleet store --db DB DOC...\n\n"
			       "Stores the index rows of result documents (a run and its series' medians,\n"
			       "cv, p5, p95, with the host name) in DB: postgresql://USER@HOST/DATABASE (or\n"
			       "postgres://...) for a fleet of hosts, or an SQLite file. A run already there\n"
			       "(same id) is replaced. `xenith bench --db DB` does this after each run.\n");
			return 0;
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "xenith fleet store: unexpected '%s'; see --help\n", argv[i]);
			return EXIT_USAGE;
		} else if (!first) {
			first = i;
		}
	}
	if (!db || !first) {
		fprintf(stderr, "xenith fleet store: needs --db DB and at least one DOC; see --help\n");
		return EXIT_USAGE;
	}
	if (fleet_open_index(db, &ix, &eb) < 0) {
		fprintf(stderr, "xenith fleet store: %s\n", eb.msg);
		return 1;
	}
	for (int i = first; i < argc; i++) {
		struct bench_run run;
		const char *base;
		char file[128];
		size_t len;

		if (!strcmp(argv[i], "--db")) {
			i++;
			continue;
		}
		if (bench_run_read(&run, argv[i], &eb) < 0) {
			fprintf(stderr, "xenith fleet store: %s\n", eb.msg);
			failed++;
			continue;
		}
		/* the index names the document as the archive does: its file name without .json */
		base = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
		len = strlen(base);
		if (len > 5 && !strcmp(base + len - 5, ".json"))
			len -= 5;
		snprintf(file, sizeof(file), "%.*s", (int)len, base);
		if (index_store_run(ix, &run, file, &eb) < 0) {
			fprintf(stderr, "xenith fleet store: %s: %s\n", argv[i], eb.msg);
			failed++;
		} else {
			printf("stored: %s (%zu series) in %s\n", run.id, run.nr_series, ix->where);
		}
		bench_run_free(&run);
	}
	index_close(ix);
	return failed ? 1 : 0;
}

static int print_row(const struct index_row *row, void *arg)
{
	(*(size_t *)arg)++;
	index_row_print(stdout, row);
	return 0;
}

/* xenith fleet query [--db DB] [--out DIR] [--host H] [--run ID] [SUITE[/CASE[/MODE]]] */
static int cmd_query(int argc, char **argv)
{
	struct index_filter f = { 0 };
	const char *db = NULL, *out = NULL;
	char sel[128] = "", *p;
	struct results_index *ix;
	struct errbuf eb;
	size_t rows = 0;
	int r;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--db") && i + 1 < argc) {
			db = argv[++i];
		} else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
			out = argv[++i];
		} else if (!strcmp(argv[i], "--host") && i + 1 < argc) {
			f.hostname = argv[++i];
		} else if (!strcmp(argv[i], "--run") && i + 1 < argc) {
			f.run_id = argv[++i];
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: xenith fleet query [--db DB | --out DIR] [--host HOST] [--run ID]\n"
			       "                          [SUITE[/CASE[/MODE]]]\n\n"
			       "Prints the index's rows (a run's fields, then a series' summary), one per\n"
			       "line, tab-separated, oldest run first: id file date revision hostname\n"
			       "kvm_module cpu_model kernel build_type quick duration_s suite case mode unit\n"
			       "better n median cv p5 p95 (NULL: not a number). DB: postgresql://... or\n"
			       "an SQLite file; default the archive's index.sqlite (--out DIR,\n"
			       "$XENITH_RESULTS).\n");
			return 0;
		} else if (argv[i][0] == '-' || sel[0]) {
			fprintf(stderr, "xenith fleet query: unexpected '%s'; see --help\n", argv[i]);
			return EXIT_USAGE;
		} else {
			snprintf(sel, sizeof(sel), "%s", argv[i]);
		}
	}
	if (sel[0]) {
		f.suite = sel;
		if ((p = strchr(sel, '/'))) {
			*p++ = 0;
			f.name = p;
			if ((p = strchr(p, '/'))) {
				*p++ = 0;
				f.mode = p;
			}
		}
	}
	if (open_db_or_archive(db, out, &ix, &eb) < 0) {
		fprintf(stderr, "xenith fleet query: %s\n", eb.msg);
		return db ? 1 : EXIT_USAGE;
	}
	r = index_query(ix, &f, print_row, &rows, &eb);
	index_close(ix);
	if (r < 0) {
		fprintf(stderr, "xenith fleet query: %s\n", eb.msg);
		return 1;
	}
	if (!rows)
		fprintf(stderr, "xenith fleet query: no rows match\n");
	return 0;
}

struct rows {
	struct index_row *v;
	size_t n, cap;
};

static int collect_row(const struct index_row *row, void *arg)
{
	struct rows *r = arg;

	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 64;
		struct index_row *v = realloc(r->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n++] = *row;
	return 0;
}

/* A series of one host: host, suite, case, mode; then the index's order (date, run id). */
static int cmp_series_then_index(const void *a, const void *b)
{
	const struct index_row *x = a, *y = b;
	int c = strcmp(x->hostname, y->hostname);

	if (!c)
		c = strcmp(x->suite, y->suite);
	if (!c)
		c = strcmp(x->name, y->name);
	if (!c)
		c = strcmp(x->mode, y->mode);
	if (!c)
		c = strcmp(x->date, y->date);
	if (!c)
		c = strcmp(x->id, y->id);
	return c;
}

static bool same_series(const struct index_row *a, const struct index_row *b)
{
	return !strcmp(a->hostname, b->hostname) && !strcmp(a->suite, b->suite) &&
	       !strcmp(a->name, b->name) && !strcmp(a->mode, b->mode);
}

/* xenith fleet history [--db DB] [--out DIR] [--host H] SUITE[/CASE[/MODE]] */
static int cmd_history(int argc, char **argv)
{
	struct index_filter f = { 0 };
	const char *db = NULL, *out = NULL;
	char sel[128] = "", what[128], *p;
	struct results_index *ix;
	struct rows rows = { 0 };
	struct errbuf eb;
	int r;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--db") && i + 1 < argc) {
			db = argv[++i];
		} else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
			out = argv[++i];
		} else if (!strcmp(argv[i], "--host") && i + 1 < argc) {
			f.hostname = argv[++i];
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: xenith fleet history [--db DB | --out DIR] [--host HOST] SUITE[/CASE[/MODE]]\n\n"
			       "The median of each selected series over the runs in the index, oldest first,\n"
			       "one table per host and series, with the change from the host's previous\n"
			       "run. DB: postgresql://... (a fleet) or an SQLite file; default the archive's\n"
			       "index.sqlite (--out DIR, $XENITH_RESULTS). The index keeps summaries, not\n"
			       "samples: `xenith bench history` judges change points from the documents.\n");
			return 0;
		} else if (argv[i][0] == '-' || sel[0]) {
			fprintf(stderr, "xenith fleet history: unexpected '%s'; see --help\n", argv[i]);
			return EXIT_USAGE;
		} else {
			snprintf(sel, sizeof(sel), "%s", argv[i]);
		}
	}
	if (!sel[0]) {
		fprintf(stderr, "xenith fleet history: which series? SUITE[/CASE[/MODE]]; see --help\n");
		return EXIT_USAGE;
	}
	snprintf(what, sizeof(what), "%s", sel);
	f.suite = sel;
	if ((p = strchr(sel, '/'))) {
		*p++ = 0;
		f.name = p;
		if ((p = strchr(p, '/'))) {
			*p++ = 0;
			f.mode = p;
		}
	}
	if (open_db_or_archive(db, out, &ix, &eb) < 0) {
		fprintf(stderr, "xenith fleet history: %s\n", eb.msg);
		return db ? 1 : EXIT_USAGE;
	}
	r = index_query(ix, &f, collect_row, &rows, &eb);
	index_close(ix);
	if (r < 0) {
		fprintf(stderr, "xenith fleet history: %s\n", r == -ENOMEM ? "out of memory" : eb.msg);
		free(rows.v);
		return 1;
	}
	if (!rows.n)
		fprintf(stderr, "xenith fleet history: no runs of %s in the index\n", what);
	qsort(rows.v, rows.n, sizeof(*rows.v), cmp_series_then_index);
	for (size_t i = 0; i < rows.n; i++) {
		const struct index_row *w = &rows.v[i];
		bool first = i == 0 || !same_series(w, &rows.v[i - 1]);

		if (first)
			printf("%s%s/%s/%s on %s (%s, %s is better)\n%-22s %-24s %5s %14s %8s %10s\n",
			       i ? "\n" : "", w->suite, w->name, w->mode, w->hostname[0] ? w->hostname : "?",
			       w->unit, w->better, "date", "revision", "n", "median", "cv", "vs prev");
		printf("%-22s %-24s %5lld %14.6g", w->date, w->revision, w->n, w->median);
		if (isnan(w->cv))
			printf(" %8s", "-");
		else
			printf(" %7.2f%%", 100 * w->cv);
		if (!first && rows.v[i - 1].median != 0)
			printf(" %+9.2f%%", 100 * (w->median / rows.v[i - 1].median - 1));
		putchar('\n');
	}
	free(rows.v);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: xenith fleet store --db DB DOC...       index rows of documents into DB\n"
		   "       xenith fleet query [--db DB] [...]       print the index's rows\n"
		   "       xenith fleet history [--db DB] [--host H] SUITE[/CASE[/MODE]]\n"
		   "                                                a series' medians over the runs\n"
		   "       xenith exporter [--listen ADDR:PORT] [--out DIR] [--db DB]\n"
		   "                                                serve the newest run as OpenMetrics\n"
		   "DB: postgresql://[USER[:PASSWORD]@]HOST[:PORT]/DATABASE (or postgres://...), or\n"
		   "an SQLite file (the archive's index.sqlite is the default).\n");
}

int main(int argc, char **argv)
{
	/* `xenith fleet CMD` and `xenith exporter` exec this with argv[1] = "fleet" or "exporter" */
	if (argc >= 2 && !strcmp(argv[1], "fleet")) {
		argc--;
		argv++;
	}
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "store"))
		return cmd_store(argc - 1, argv + 1);
	if (!strcmp(argv[1], "query"))
		return cmd_query(argc - 1, argv + 1);
	if (!strcmp(argv[1], "history"))
		return cmd_history(argc - 1, argv + 1);
	if (!strcmp(argv[1], "exporter"))
		return cmd_exporter(argc - 1, argv + 1);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "xenith fleet: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
