// SPDX-License-Identifier: MIT
#include "result.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "jsonval.h"

void bench_run_init(struct bench_run *r)
{
	memset(r, 0, sizeof(*r));
}

void bench_run_free(struct bench_run *r)
{
	for (size_t i = 0; i < r->nr_series; i++)
		free(r->series[i].samples);
	free(r->series);
	memset(r, 0, sizeof(*r));
}

struct bench_series *bench_run_series(struct bench_run *r, const char *suite, const char *name,
				      const char *mode, const char *unit, bool higher_is_better)
{
	struct bench_series *s;

	for (size_t i = 0; i < r->nr_series; i++) {
		s = &r->series[i];
		if (!strcmp(s->suite, suite) && !strcmp(s->name, name) && !strcmp(s->mode, mode))
			return s;
	}
	if (r->nr_series == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 32;
		struct bench_series *ns = realloc(r->series, cap * sizeof(*ns));

		if (!ns)
			return NULL;
		r->series = ns;
		r->cap = cap;
	}
	s = &r->series[r->nr_series++];
	memset(s, 0, sizeof(*s));
	snprintf(s->suite, sizeof(s->suite), "%s", suite);
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->mode, sizeof(s->mode), "%s", mode);
	snprintf(s->unit, sizeof(s->unit), "%s", unit);
	s->higher_is_better = higher_is_better;
	return s;
}

int bench_series_add(struct bench_series *s, double v)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		double *ns = realloc(s->samples, cap * sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		s->samples = ns;
		s->cap = cap;
	}
	s->samples[s->n++] = v;
	return 0;
}

const struct bench_series *bench_run_find(const struct bench_run *r, const char *suite,
					  const char *name, const char *mode)
{
	for (size_t i = 0; i < r->nr_series; i++) {
		const struct bench_series *s = &r->series[i];

		if (!strcmp(s->suite, suite) && !strcmp(s->name, name) && !strcmp(s->mode, mode))
			return s;
	}
	return NULL;
}

void bench_run_finish(struct bench_run *r)
{
	for (size_t i = 0; i < r->nr_series; i++)
		stats_summarize(r->series[i].samples, r->series[i].n, &r->series[i].sum);
}

double bench_relative_speed(const struct bench_series *guest, const struct bench_series *native)
{
	if (!guest || !native || guest->sum.median <= 0 || native->sum.median <= 0)
		return NAN;
	return guest->higher_is_better ? guest->sum.median / native->sum.median
				       : native->sum.median / guest->sum.median;
}

static void read_line_of(const char *path, const char *prefix, char *out, size_t size)
{
	char line[512];
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, prefix, strlen(prefix)))
			continue;
		char *v = strchr(line, ':');

		if (!v)
			continue;
		v++;
		while (*v == ' ' || *v == '\t')
			v++;
		v[strcspn(v, "\n")] = 0;
		snprintf(out, size, "%s", v);
		break;
	}
	fclose(f);
}

void bench_env_collect(struct bench_env *env, uint64_t tsc_khz, const char *kvm_module,
		       const char *revision, const char *build_type)
{
	struct utsname u;
	time_t now = time(NULL);
	struct tm tm;

	memset(env, 0, sizeof(*env));
	snprintf(env->cpu_model, sizeof(env->cpu_model), "unknown");
	read_line_of("/proc/cpuinfo", "model name", env->cpu_model, sizeof(env->cpu_model));
	if (uname(&u) == 0) {
		snprintf(env->kernel, sizeof(env->kernel), "%s %s", u.sysname, u.release);
		snprintf(env->hostname, sizeof(env->hostname), "%s", u.nodename);
	}
	snprintf(env->kvm_module, sizeof(env->kvm_module), "%s", kvm_module);
	snprintf(env->revision, sizeof(env->revision), "%s", revision);
	snprintf(env->build_type, sizeof(env->build_type), "%s", build_type);
	gmtime_r(&now, &tm);
	strftime(env->date, sizeof(env->date), "%Y-%m-%dT%H:%M:%SZ", &tm);
	env->tsc_khz = tsc_khz;
}

/* Sets key in o to v (a new reference, stolen); false when v is NULL or out of memory. */
static bool put(json_t *o, const char *key, json_t *v)
{
	return v && json_object_set_new(o, key, v) == 0;
}

/* Sets key in o to a new array (o owns it) and returns it, borrowed; NULL when out of memory. */
static json_t *put_array(json_t *o, const char *key)
{
	json_t *a = json_array();

	return put(o, key, a) ? a : NULL;
}

static json_t *trend_json(const struct bench_trend *t)
{
	json_t *o = json_object(), *ci = NULL;
	bool ok = o && put(o, "rule", jval_str(t->rule)) && put(o, "verdict", jval_str(t->verdict)) &&
		  put(o, "x0", jval_num(t->x0)) && put(o, "x_step", jval_num(t->x_step)) &&
		  put(o, "per", jval_num(t->per)) && put(o, "slope", jval_num(t->slope)) &&
		  put(o, "first", jval_num(t->first)) && put(o, "last", jval_num(t->last)) &&
		  put(o, "limit", jval_num(t->limit)) && (ci = put_array(o, "ci95")) &&
		  json_array_append_new(ci, jval_num(t->lo)) == 0 && json_array_append_new(ci, jval_num(t->hi)) == 0;

	if (ok)
		return o;
	json_decref(o);
	return NULL;
}

/* {"verdict": "same", "stopped": "decided"}: a --baseline run's last verdict and why the case stopped. */
static json_t *adaptive_json(const struct bench_series *s)
{
	json_t *o = json_object();

	if (o && put(o, "verdict", jval_str(s->adapt_verdict)) && put(o, "stopped", jval_str(s->adapt_stop)))
		return o;
	json_decref(o);
	return NULL;
}

static json_t *series_json(const struct bench_series *s)
{
	const struct summary *m = &s->sum;
	json_t *o = json_object(), *samples = NULL;
	bool ok = o && put(o, "suite", jval_str(s->suite)) && put(o, "case", jval_str(s->name)) &&
		  put(o, "mode", jval_str(s->mode)) && put(o, "unit", jval_str(s->unit)) &&
		  put(o, "better", json_string(s->higher_is_better ? "higher" : "lower")) &&
		  (!s->analogue[0] || put(o, "analogue", jval_str(s->analogue))) &&
		  (!s->trend.set || put(o, "trend", trend_json(&s->trend))) &&
		  (!s->adapt_stop[0] || put(o, "adaptive", adaptive_json(s))) &&
		  put(o, "n", json_integer((json_int_t)m->n)) && put(o, "median", jval_num(m->median)) &&
		  put(o, "mean", jval_num(m->mean)) && put(o, "stddev", jval_num(m->stddev)) &&
		  put(o, "cv", jval_num(m->cv)) && put(o, "min", jval_num(m->min)) &&
		  put(o, "p5", jval_num(m->p5)) && put(o, "p95", jval_num(m->p95)) &&
		  put(o, "max", jval_num(m->max)) && (samples = put_array(o, "samples"));

	for (size_t i = 0; ok && i < s->n; i++)
		ok = json_array_append_new(samples, jval_num(s->samples[i])) == 0;
	if (ok)
		return o;
	json_decref(o);
	return NULL;
}

/* The whole document; NULL when out of memory.  Keys in the order results/SCHEMA.md shows. */
static json_t *run_json(const struct bench_run *r)
{
	const struct bench_env *e = &r->env;
	json_t *doc = json_object(), *env = json_object(), *cfg = json_object(), *series = NULL;
	bool ok = doc && put(doc, "schema", json_string(BENCH_SCHEMA)) && put(doc, "complete", json_true()) &&
		  put(doc, "id", jval_str(r->id)) && put(doc, "environment", json_incref(env)) &&
		  put(doc, "config", json_incref(cfg)) && put(doc, "note", jval_str(r->note)) &&
		  (series = put_array(doc, "series"));

	ok = ok && put(env, "cpu_model", jval_str(e->cpu_model)) && put(env, "kernel", jval_str(e->kernel)) &&
	     put(env, "kvm_module", jval_str(e->kvm_module)) &&
	     put(env, "xenith_revision", jval_str(e->revision)) &&
	     put(env, "build_type", jval_str(e->build_type)) && put(env, "hostname", jval_str(e->hostname)) &&
	     put(env, "date", jval_str(e->date)) && put(env, "tsc_khz", json_integer((json_int_t)e->tsc_khz));
	ok = ok && put(cfg, "quick", json_boolean(r->quick)) && put(cfg, "repeat", json_integer(r->repeat)) &&
	     put(cfg, "warmup", json_integer(r->warmup)) && put(cfg, "duration_s", jval_num(r->duration_s));
	for (size_t i = 0; ok && i < r->nr_series; i++)
		ok = json_array_append_new(series, series_json(&r->series[i])) == 0;
	json_decref(env); /* doc holds them */
	json_decref(cfg);
	if (ok)
		return doc;
	json_decref(doc);
	return NULL;
}

/* Numbers as "%.10g" (what the documents always had); arrays and objects indented by 2. */
#define DOC_FLAGS (JSON_INDENT(2) | JSON_REAL_PRECISION(10))

int bench_run_write(const struct bench_run *r, const char *path, struct errbuf *eb)
{
	char tmp[4096];
	json_t *doc = run_json(r);
	FILE *f;
	int dumped;

	if (!doc)
		return errbuf_set(eb, ENOMEM, "out of memory building %s", path);
	f = fs_atomic_open(path, tmp, sizeof(tmp), eb);
	if (!f) {
		json_decref(doc);
		return -EIO;
	}
	errno = 0;
	dumped = json_dumpf(doc, f, DOC_FLAGS);
	json_decref(doc);
	if (dumped < 0 || fputc('\n', f) == EOF) {
		int err = errno ? errno : EIO; /* a failed write's (EFBIG, ENOSPC), else ours */

		fclose(f);
		unlink(tmp);
		return errbuf_set(eb, err, "writing %s: %s", tmp, strerror(err));
	}
	return fs_atomic_commit(f, tmp, path, eb);
}

/* Typed getters: the fallback when the key is missing or has another type. */
static const char *get_str(const json_t *o, const char *key, const char *fallback)
{
	const json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : fallback;
}

static double get_num(const json_t *o, const char *key, double fallback)
{
	const json_t *v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : fallback;
}

static bool get_bool(const json_t *o, const char *key, bool fallback)
{
	const json_t *v = json_object_get(o, key);

	return json_is_boolean(v) ? json_is_true(v) : fallback;
}

static void read_trend(const json_t *o, struct bench_trend *t)
{
	const json_t *ci = json_object_get(o, "ci95");

	if (!json_is_object(o))
		return;
	t->set = true;
	snprintf(t->rule, sizeof(t->rule), "%s", get_str(o, "rule", ""));
	snprintf(t->verdict, sizeof(t->verdict), "%s", get_str(o, "verdict", ""));
	t->x0 = get_num(o, "x0", NAN);
	t->x_step = get_num(o, "x_step", NAN);
	t->per = get_num(o, "per", NAN);
	t->slope = get_num(o, "slope", NAN);
	t->first = get_num(o, "first", NAN);
	t->last = get_num(o, "last", NAN);
	t->limit = get_num(o, "limit", NAN);
	t->lo = t->hi = NAN;
	if (json_is_array(ci) && json_array_size(ci) == 2 && json_is_number(json_array_get(ci, 0)) &&
	    json_is_number(json_array_get(ci, 1))) {
		t->lo = json_number_value(json_array_get(ci, 0));
		t->hi = json_number_value(json_array_get(ci, 1));
	}
}

static char *slurp(const char *path, struct errbuf *eb)
{
	struct stat st;
	char *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		errbuf_set(eb, errno, "cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (64 << 20)) {
		close(fd);
		errbuf_set(eb, EINVAL, "%s is not a result file (not a regular file, or over 64 MiB)", path);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	n = buf ? read(fd, buf, (size_t)st.st_size) : -1;
	close(fd);
	if (n != st.st_size) {
		free(buf);
		errbuf_set(eb, EIO, "cannot read %s", path);
		return NULL;
	}
	buf[n] = 0;
	return buf;
}

int bench_run_read(struct bench_run *r, const char *path, struct errbuf *eb)
{
	char *text = slurp(path, eb);
	const json_t *series, *env, *cfg, *o;
	const char *schema;
	json_error_t err;
	json_t *doc;
	size_t i;

	bench_run_init(r);
	if (!text)
		return -EINVAL;
	doc = json_loads(text, 0, &err);
	free(text);
	if (!doc)
		return errbuf_set(eb, EINVAL, "%s is not valid JSON: line %d, column %d: %s", path, err.line,
				  err.column, err.text);
	schema = get_str(doc, "schema", NULL);
	if (!schema || strcmp(schema, BENCH_SCHEMA)) {
		errbuf_set(eb, EINVAL, "%s has schema '%.40s'; this xenith reads '%s'", path,
			   schema ? schema : "(none)", BENCH_SCHEMA);
		json_decref(doc); /* after the message: schema points into doc */
		return -EINVAL;
	}
	if (!get_bool(doc, "complete", false)) {
		json_decref(doc);
		return errbuf_set(eb, EINVAL, "%s is not a complete run", path);
	}
	snprintf(r->id, sizeof(r->id), "%s", get_str(doc, "id", ""));
	env = json_object_get(doc, "environment");
	snprintf(r->env.cpu_model, sizeof(r->env.cpu_model), "%s", get_str(env, "cpu_model", ""));
	snprintf(r->env.kernel, sizeof(r->env.kernel), "%s", get_str(env, "kernel", ""));
	snprintf(r->env.kvm_module, sizeof(r->env.kvm_module), "%s", get_str(env, "kvm_module", ""));
	snprintf(r->env.revision, sizeof(r->env.revision), "%s", get_str(env, "xenith_revision", ""));
	snprintf(r->env.build_type, sizeof(r->env.build_type), "%s", get_str(env, "build_type", ""));
	snprintf(r->env.hostname, sizeof(r->env.hostname), "%s", get_str(env, "hostname", ""));
	snprintf(r->env.date, sizeof(r->env.date), "%s", get_str(env, "date", ""));
	r->env.tsc_khz = (uint64_t)get_num(env, "tsc_khz", 0);
	cfg = json_object_get(doc, "config");
	r->quick = get_bool(cfg, "quick", false);
	r->repeat = (unsigned)get_num(cfg, "repeat", 0);
	r->warmup = (unsigned)get_num(cfg, "warmup", 0);
	r->duration_s = get_num(cfg, "duration_s", 0);
	snprintf(r->note, sizeof(r->note), "%s", get_str(doc, "note", ""));
	series = json_object_get(doc, "series");
	if (!json_is_array(series)) {
		json_decref(doc);
		return errbuf_set(eb, EINVAL, "%s has no \"series\" array", path);
	}
	json_array_foreach(series, i, o) {
		const json_t *samples = json_object_get(o, "samples"), *v;
		const char *suite = get_str(o, "suite", NULL), *name = get_str(o, "case", NULL);
		const char *mode = get_str(o, "mode", NULL), *unit = get_str(o, "unit", "");
		struct bench_series *s;
		size_t k;

		if (!suite || !name || !mode || !json_is_array(samples)) {
			json_decref(doc);
			bench_run_free(r);
			return errbuf_set(eb, EINVAL, "%s: series %zu lacks suite, case, mode or samples",
					  path, i);
		}
		s = bench_run_series(r, suite, name, mode, unit,
				     !strcmp(get_str(o, "better", "lower"), "higher"));
		if (!s) {
			json_decref(doc);
			bench_run_free(r);
			return errbuf_set(eb, ENOMEM, "out of memory");
		}
		snprintf(s->analogue, sizeof(s->analogue), "%s", get_str(o, "analogue", ""));
		read_trend(json_object_get(o, "trend"), &s->trend);
		if (json_is_object(json_object_get(o, "adaptive"))) { /* absent: not a --baseline run */
			const json_t *a = json_object_get(o, "adaptive");

			snprintf(s->adapt_verdict, sizeof(s->adapt_verdict), "%s", get_str(a, "verdict", ""));
			snprintf(s->adapt_stop, sizeof(s->adapt_stop), "%s", get_str(a, "stopped", ""));
		}
		json_array_foreach(samples, k, v)
			if (json_is_number(v))
				bench_series_add(s, json_number_value(v));
	}
	json_decref(doc);
	bench_run_finish(r);
	return 0;
}
