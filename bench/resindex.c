// SPDX-License-Identifier: MIT
/*
 * The results index's schema and statements, shared by both backends
 * (resindex_sqlite.c, resindex_pg.c).  The SQL here is the subset both
 * dialects read alike: $N parameters (SQLite takes "$1" as a parameter
 * named "$1", numbered in order of appearance: each statement uses them
 * in order), TEXT, BIGINT and DOUBLE PRECISION (SQLite gives them INTEGER
 * and REAL affinity; PostgreSQL's INTEGER and REAL would be 32-bit and
 * single precision), INSERT ... ON CONFLICT ... DO UPDATE (SQLite >= 3.24).
 * A figure that is not a number is stored as NULL in both (SQLite turns a
 * bound NaN into NULL anyway).  The rest is in struct index_ops.
 */
#include "resindex.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum coltype { COL_TEXT, COL_INT, COL_REAL };

struct column {
	const char *name;
	enum coltype type;
	bool added;           /* not in the first index.sqlite: added to older indexes by ALTER TABLE */
};

/* The first eight columns of each table are those of the first index.sqlite, in its order. */
static const struct column runs_cols[] = {
	{ "id", COL_TEXT, false }, { "file", COL_TEXT, false }, { "date", COL_TEXT, false },
	{ "revision", COL_TEXT, false }, { "kvm_module", COL_TEXT, false },
	{ "cpu_model", COL_TEXT, false }, { "quick", COL_INT, false },
	{ "duration_s", COL_REAL, false },
	/* which host of a fleet, and what it ran (fingerprint fields of struct bench_env) */
	{ "hostname", COL_TEXT, true }, { "kernel", COL_TEXT, true },
	{ "build_type", COL_TEXT, true },
};

static const struct column series_cols[] = {
	{ "run_id", COL_TEXT, false }, { "suite", COL_TEXT, false }, { "name", COL_TEXT, false },
	{ "mode", COL_TEXT, false }, { "unit", COL_TEXT, false }, { "better", COL_TEXT, false },
	{ "n", COL_INT, false }, { "median", COL_REAL, false }, { "cv", COL_REAL, false },
	{ "p5", COL_REAL, false }, { "p95", COL_REAL, false },
};

#define NR_RUNS_COLS (sizeof(runs_cols) / sizeof(runs_cols[0]))
#define NR_SERIES_COLS (sizeof(series_cols) / sizeof(series_cols[0]))

#define RUNS_KEY "id"
#define SERIES_KEY "run_id, suite, name, mode"

static const char *type_sql(enum coltype t)
{
	return t == COL_TEXT ? "TEXT" : t == COL_INT ? "BIGINT" : "DOUBLE PRECISION";
}

/* A statement being built: appends, and remembers if it did not fit. */
struct sqlbuf {
	char s[2048];
	size_t len;
	bool overflow;
};

static void sb_add(struct sqlbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_add(struct sqlbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->s + b->len, sizeof(b->s) - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(b->s) - b->len)
		b->overflow = true;
	else
		b->len += (size_t)n;
}

static void sql_create(struct sqlbuf *b, const char *table, const struct column *c, size_t n,
		       const char *key)
{
	b->len = 0;
	sb_add(b, "CREATE TABLE IF NOT EXISTS %s(", table);
	for (size_t i = 0; i < n; i++)
		sb_add(b, "%s %s%s, ", c[i].name, type_sql(c[i].type), i == 0 ? " NOT NULL" : "");
	sb_add(b, "PRIMARY KEY(%s))", key);
}

/* INSERT of every column; with update_key, an existing row of that key is updated instead. */
static void sql_insert(struct sqlbuf *b, const char *table, const struct column *c, size_t n,
		       const char *update_key)
{
	b->len = 0;
	sb_add(b, "INSERT INTO %s(", table);
	for (size_t i = 0; i < n; i++)
		sb_add(b, "%s%s", i ? ", " : "", c[i].name);
	sb_add(b, ") VALUES(");
	for (size_t i = 0; i < n; i++)
		sb_add(b, "%s$%zu", i ? ", " : "", i + 1);
	sb_add(b, ")");
	if (update_key) {
		sb_add(b, " ON CONFLICT(%s) DO UPDATE SET ", update_key);
		for (size_t i = 1; i < n; i++)
			sb_add(b, "%s%s = excluded.%s", i > 1 ? ", " : "", c[i].name, c[i].name);
	}
}

static int exec(struct results_index *ix, const char *sql, const struct sqlv *p, int np,
		index_result_fn fn, void *arg, struct errbuf *eb)
{
	return ix->ops->exec(ix, sql, p, np, fn, arg, eb);
}

static int found_row(const struct sqlv *cols, int ncols, void *arg)
{
	(void)cols;
	(void)ncols;
	*(bool *)arg = true;
	return 0;
}

/* Creates the tables, and the columns an older index lacks. */
static int ensure_schema(struct results_index *ix, struct errbuf *eb)
{
	static const struct { const char *name; const struct column *cols; size_t n; const char *key; }
	tables[] = {
		{ "runs", runs_cols, NR_RUNS_COLS, RUNS_KEY },
		{ "series", series_cols, NR_SERIES_COLS, SERIES_KEY },
	};
	/* what history and latest-run queries look up; same syntax in both dialects */
	static const char *const indexes[] = {
		"CREATE INDEX IF NOT EXISTS runs_by_date ON runs(date)",
		"CREATE INDEX IF NOT EXISTS series_by_case ON series(suite, name, mode)",
	};
	struct sqlbuf b;
	int r;

	for (size_t t = 0; t < 2; t++) {
		b.overflow = false;
		sql_create(&b, tables[t].name, tables[t].cols, tables[t].n, tables[t].key);
		r = exec(ix, b.s, NULL, 0, NULL, NULL, eb);
		if (r < 0)
			return r;
		for (size_t i = 0; i < tables[t].n; i++) {
			struct sqlv p[2] = { { .type = SQLV_TEXT, .s = tables[t].name },
					     { .type = SQLV_TEXT, .s = tables[t].cols[i].name } };
			bool has = false;

			if (!tables[t].cols[i].added)
				continue;
			r = exec(ix, ix->ops->has_column_sql, p, 2, found_row, &has, eb);
			if (r < 0)
				return r;
			if (has)
				continue;
			b.len = 0;
			sb_add(&b, "ALTER TABLE %s ADD COLUMN %s %s", tables[t].name, tables[t].cols[i].name,
			       type_sql(tables[t].cols[i].type));
			r = exec(ix, b.s, NULL, 0, NULL, NULL, eb);
			if (r < 0)
				return r;
		}
	}
	for (size_t i = 0; i < sizeof(indexes) / sizeof(indexes[0]); i++) {
		r = exec(ix, indexes[i], NULL, 0, NULL, NULL, eb);
		if (r < 0)
			return r;
	}
	return 0;
}

static struct sqlv text(const char *s)
{
	return (struct sqlv){ .type = SQLV_TEXT, .s = s };
}

static struct sqlv real(double d)
{
	return isnan(d) ? (struct sqlv){ .type = SQLV_NULL } : (struct sqlv){ .type = SQLV_REAL, .d = d };
}

static struct sqlv integer(long long i)
{
	return (struct sqlv){ .type = SQLV_INT, .i = i };
}

int index_store_run(struct results_index *ix, const struct bench_run *run, const char *file,
		    struct errbuf *eb)
{
	struct sqlbuf b = { .overflow = false };
	struct sqlv p[NR_SERIES_COLS > NR_RUNS_COLS ? NR_SERIES_COLS : NR_RUNS_COLS];
	int r;

	_Static_assert(NR_RUNS_COLS == 11 && NR_SERIES_COLS == 11, "parameters below: one per column");
	r = exec(ix, ix->ops->begin_sql, NULL, 0, NULL, NULL, eb);
	if (r < 0)
		return r;
	if (ix->ops->lock_sql)
		r = exec(ix, ix->ops->lock_sql, NULL, 0, NULL, NULL, eb);
	if (r == 0)
		r = ensure_schema(ix, eb);
	if (r < 0)
		goto rollback;
	p[0] = text(run->id);
	r = exec(ix, "DELETE FROM series WHERE run_id = $1", p, 1, NULL, NULL, eb);
	if (r < 0)
		goto rollback;
	p[1] = text(file);
	p[2] = text(run->env.date);
	p[3] = text(run->env.revision);
	p[4] = text(run->env.kvm_module);
	p[5] = text(run->env.cpu_model);
	p[6] = integer(run->quick);
	p[7] = real(run->duration_s);
	p[8] = text(run->env.hostname);
	p[9] = text(run->env.kernel);
	p[10] = text(run->env.build_type);
	sql_insert(&b, "runs", runs_cols, NR_RUNS_COLS, RUNS_KEY);
	r = exec(ix, b.s, p, NR_RUNS_COLS, NULL, NULL, eb);
	if (r < 0)
		goto rollback;
	b.len = 0;
	sql_insert(&b, "series", series_cols, NR_SERIES_COLS, NULL);
	for (size_t i = 0; i < run->nr_series; i++) {
		const struct bench_series *s = &run->series[i];

		p[1] = text(s->suite);
		p[2] = text(s->name);
		p[3] = text(s->mode);
		p[4] = text(s->unit);
		p[5] = text(s->higher_is_better ? "higher" : "lower");
		p[6] = integer((long long)s->sum.n);
		p[7] = real(s->sum.median);
		p[8] = real(s->sum.cv);
		p[9] = real(s->sum.p5);
		p[10] = real(s->sum.p95);
		r = exec(ix, b.s, p, NR_SERIES_COLS, NULL, NULL, eb);
		if (r < 0)
			goto rollback;
	}
	return exec(ix, "COMMIT", NULL, 0, NULL, NULL, eb);
rollback:
	exec(ix, "ROLLBACK", NULL, 0, NULL, NULL, NULL);
	return r;
}

static void col_text(char *dst, size_t size, const struct sqlv *v)
{
	snprintf(dst, size, "%s", v->type == SQLV_TEXT && v->s ? v->s : "");
}

static double col_real(const struct sqlv *v)
{
	if (v->type == SQLV_REAL)
		return v->d;
	if (v->type == SQLV_INT)
		return (double)v->i;
	if (v->type == SQLV_TEXT && v->s) /* PostgreSQL's text results */
		return strtod(v->s, NULL);
	return NAN;
}

static long long col_int(const struct sqlv *v)
{
	if (v->type == SQLV_INT)
		return v->i;
	if (v->type == SQLV_REAL)
		return (long long)v->d;
	if (v->type == SQLV_TEXT && v->s)
		return strtoll(v->s, NULL, 10);
	return 0;
}

struct query_ctx {
	int (*fn)(const struct index_row *row, void *arg);
	void *arg;
};

static int query_row(const struct sqlv *c, int ncols, void *arg)
{
	struct query_ctx *q = arg;
	struct index_row row;

	if (ncols != (int)(NR_RUNS_COLS + NR_SERIES_COLS - 1))
		return -EPROTO;
	memset(&row, 0, sizeof(row));
	col_text(row.id, sizeof(row.id), &c[0]);
	col_text(row.file, sizeof(row.file), &c[1]);
	col_text(row.date, sizeof(row.date), &c[2]);
	col_text(row.revision, sizeof(row.revision), &c[3]);
	col_text(row.kvm_module, sizeof(row.kvm_module), &c[4]);
	col_text(row.cpu_model, sizeof(row.cpu_model), &c[5]);
	row.quick = col_int(&c[6]) != 0;
	row.duration_s = col_real(&c[7]);
	col_text(row.hostname, sizeof(row.hostname), &c[8]);
	col_text(row.kernel, sizeof(row.kernel), &c[9]);
	col_text(row.build_type, sizeof(row.build_type), &c[10]);
	col_text(row.suite, sizeof(row.suite), &c[11]);
	col_text(row.name, sizeof(row.name), &c[12]);
	col_text(row.mode, sizeof(row.mode), &c[13]);
	col_text(row.unit, sizeof(row.unit), &c[14]);
	col_text(row.better, sizeof(row.better), &c[15]);
	row.n = col_int(&c[16]);
	row.median = col_real(&c[17]);
	row.cv = col_real(&c[18]);
	row.p5 = col_real(&c[19]);
	row.p95 = col_real(&c[20]);
	return q->fn(&row, q->arg);
}

int index_query(struct results_index *ix, const struct index_filter *f,
		int (*fn)(const struct index_row *row, void *arg), void *arg, struct errbuf *eb)
{
	static const char *const order[] = { "runs.date", "runs.id", "series.suite", "series.name",
					     "series.mode" };
	const char *const fv[] = { f ? f->run_id : NULL, f ? f->hostname : NULL, f ? f->suite : NULL,
				   f ? f->name : NULL, f ? f->mode : NULL };
	static const char *const fcol[] = { "runs.id", "runs.hostname", "series.suite", "series.name",
					    "series.mode" };
	struct query_ctx q = { fn, arg };
	struct sqlbuf b = { .overflow = false };
	struct sqlv p[5];
	int np = 0, r;

	sb_add(&b, "SELECT ");
	for (size_t i = 0; i < NR_RUNS_COLS; i++)
		sb_add(&b, "%sruns.%s", i ? ", " : "", runs_cols[i].name);
	for (size_t i = 1; i < NR_SERIES_COLS; i++)
		sb_add(&b, ", series.%s", series_cols[i].name);
	sb_add(&b, " FROM runs JOIN series ON series.run_id = runs.id");
	for (int i = 0; i < 5; i++) {
		if (!fv[i] || !*fv[i])
			continue;
		p[np] = text(fv[i]);
		np++;
		sb_add(&b, " %s %s = $%d", np == 1 ? "WHERE" : "AND", fcol[i], np);
	}
	sb_add(&b, " ORDER BY ");
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		sb_add(&b, "%s%s%s", i ? ", " : "", order[i], ix->ops->collate);
	if (b.overflow)
		return errbuf_set(eb, E2BIG, "results index: query too long");
	r = exec(ix, b.s, p, np, query_row, &q, eb);
	if (r == -EPROTO)
		return errbuf_set(eb, EPROTO, "results index %s: unexpected columns in a result", ix->where);
	return r;
}

static int latest_id(const struct sqlv *cols, int ncols, void *arg)
{
	if (ncols >= 1)
		col_text(arg, sizeof(((struct bench_run *)NULL)->id), &cols[0]);
	return 0;
}

struct load_ctx {
	struct bench_run *run;
	int err;
};

static int load_row(const struct index_row *row, void *arg)
{
	struct load_ctx *l = arg;
	struct bench_run *run = l->run;
	struct bench_series *s;

	if (!run->id[0]) {
		snprintf(run->id, sizeof(run->id), "%s", row->id);
		snprintf(run->env.date, sizeof(run->env.date), "%s", row->date);
		snprintf(run->env.revision, sizeof(run->env.revision), "%s", row->revision);
		snprintf(run->env.hostname, sizeof(run->env.hostname), "%s", row->hostname);
		snprintf(run->env.kvm_module, sizeof(run->env.kvm_module), "%s", row->kvm_module);
		snprintf(run->env.cpu_model, sizeof(run->env.cpu_model), "%s", row->cpu_model);
		snprintf(run->env.kernel, sizeof(run->env.kernel), "%s", row->kernel);
		snprintf(run->env.build_type, sizeof(run->env.build_type), "%s", row->build_type);
		run->quick = row->quick;
		run->duration_s = row->duration_s;
	}
	s = bench_run_series(run, row->suite, row->name, row->mode, row->unit,
			     !strcmp(row->better, "higher"));
	if (!s) {
		l->err = ENOMEM;
		return -ENOMEM;
	}
	memset(&s->sum, 0, sizeof(s->sum));
	s->sum.n = row->n > 0 ? (size_t)row->n : 0;
	s->sum.median = row->median;
	s->sum.cv = row->cv;
	s->sum.p5 = row->p5;
	s->sum.p95 = row->p95;
	s->sum.mean = s->sum.stddev = s->sum.min = s->sum.max = NAN; /* not in the index */
	return 0;
}

int index_load_latest(struct results_index *ix, const char *hostname, struct bench_run *run,
		      struct errbuf *eb)
{
	char id[sizeof(run->id)] = "";
	struct sqlbuf b = { .overflow = false };
	struct sqlv p[1];
	struct load_ctx l = { run, 0 };
	struct index_filter f = { .run_id = id };
	int np = 0, r;

	bench_run_init(run);
	sb_add(&b, "SELECT id FROM runs");
	if (hostname && *hostname) {
		p[np++] = text(hostname);
		sb_add(&b, " WHERE hostname = $1");
	}
	sb_add(&b, " ORDER BY date%s DESC, id%s DESC LIMIT 1", ix->ops->collate, ix->ops->collate);
	r = exec(ix, b.s, p, np, latest_id, id, eb);
	if (r < 0)
		return r;
	if (!id[0])
		return errbuf_set(eb, ENOENT, "results index %s has no run%s%s", ix->where,
				  hostname && *hostname ? " of host " : "", hostname && *hostname ? hostname : "");
	r = index_query(ix, &f, load_row, &l, eb);
	if (r < 0) {
		bench_run_free(run);
		return l.err ? errbuf_set(eb, l.err, "out of memory") : r;
	}
	return 0;
}

void index_close(struct results_index *ix)
{
	if (ix)
		ix->ops->close(ix);
}

static void print_real(FILE *f, double v)
{
	if (isnan(v))
		fputs("\tNULL", f);
	else
		fprintf(f, "\t%.17g", v);
}

void index_row_print(FILE *f, const struct index_row *r)
{
	fprintf(f, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d", r->id, r->file, r->date, r->revision,
		r->hostname, r->kvm_module, r->cpu_model, r->kernel, r->build_type, r->quick);
	print_real(f, r->duration_s);
	fprintf(f, "\t%s\t%s\t%s\t%s\t%s\t%lld", r->suite, r->name, r->mode, r->unit, r->better, r->n);
	print_real(f, r->median);
	print_real(f, r->cv);
	print_real(f, r->p5);
	print_real(f, r->p95);
	fputc('\n', f);
}
