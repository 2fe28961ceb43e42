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
#include "json.h"
#include "jsondoc.h"

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

static void put_num(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, "%.10g", v);
	else
		fputs("null", f);
}

static void write_trend(FILE *f, const struct bench_trend *t)
{
	static const char *const names[] = { "x0", "x_step", "per", "slope", "first", "last", "limit" };
	const double vals[] = { t->x0, t->x_step, t->per, t->slope, t->first, t->last, t->limit };

	fputs(",\n     \"trend\": {\"rule\": ", f);
	json_fputs(f, t->rule);
	fputs(", \"verdict\": ", f);
	json_fputs(f, t->verdict);
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		fprintf(f, ", \"%s\": ", names[i]);
		put_num(f, vals[i]);
	}
	fputs(", \"ci95\": [", f);
	put_num(f, t->lo);
	fputs(", ", f);
	put_num(f, t->hi);
	fputs("]}", f);
}

static void read_trend(const struct jv *o, struct bench_trend *t)
{
	const struct jv *ci = jv_get(o, "ci95");

	if (!o || o->type != JV_OBJ)
		return;
	t->set = true;
	snprintf(t->rule, sizeof(t->rule), "%s", jv_str(o, "rule", ""));
	snprintf(t->verdict, sizeof(t->verdict), "%s", jv_str(o, "verdict", ""));
	t->x0 = jv_num(o, "x0", NAN);
	t->x_step = jv_num(o, "x_step", NAN);
	t->per = jv_num(o, "per", NAN);
	t->slope = jv_num(o, "slope", NAN);
	t->first = jv_num(o, "first", NAN);
	t->last = jv_num(o, "last", NAN);
	t->limit = jv_num(o, "limit", NAN);
	t->lo = t->hi = NAN;
	if (ci && ci->type == JV_ARR && ci->n == 2 && ci->items[0].type == JV_NUM && ci->items[1].type == JV_NUM) {
		t->lo = ci->items[0].num;
		t->hi = ci->items[1].num;
	}
}

static void write_series(FILE *f, const struct bench_series *s)
{
	fputs("    {\"suite\": ", f);
	json_fputs(f, s->suite);
	fputs(", \"case\": ", f);
	json_fputs(f, s->name);
	fputs(", \"mode\": ", f);
	json_fputs(f, s->mode);
	fputs(", \"unit\": ", f);
	json_fputs(f, s->unit);
	fprintf(f, ", \"better\": \"%s\"", s->higher_is_better ? "higher" : "lower");
	if (s->analogue[0]) {
		fputs(", \"analogue\": ", f);
		json_fputs(f, s->analogue);
	}
	if (s->trend.set)
		write_trend(f, &s->trend);
	fprintf(f, ",\n     \"n\": %zu, \"median\": ", s->sum.n);
	put_num(f, s->sum.median);
	fputs(", \"mean\": ", f);
	put_num(f, s->sum.mean);
	fputs(", \"stddev\": ", f);
	put_num(f, s->sum.stddev);
	fputs(", \"cv\": ", f);
	put_num(f, s->sum.cv);
	fputs(", \"min\": ", f);
	put_num(f, s->sum.min);
	fputs(", \"p5\": ", f);
	put_num(f, s->sum.p5);
	fputs(", \"p95\": ", f);
	put_num(f, s->sum.p95);
	fputs(", \"max\": ", f);
	put_num(f, s->sum.max);
	fputs(",\n     \"samples\": [", f);
	for (size_t i = 0; i < s->n; i++) {
		if (i)
			fputs(", ", f);
		put_num(f, s->samples[i]);
	}
	fputs("]}", f);
}

int bench_run_write(const struct bench_run *r, const char *path, struct errbuf *eb)
{
	char tmp[4096];
	const struct bench_env *e = &r->env;
	FILE *f = fs_atomic_open(path, tmp, sizeof(tmp), eb);

	if (!f)
		return -EIO;
	fprintf(f, "{\n  \"schema\": \"%s\",\n  \"complete\": true,\n  \"id\": ", BENCH_SCHEMA);
	json_fputs(f, r->id);
	fputs(",\n  \"environment\": {\"cpu_model\": ", f);
	json_fputs(f, e->cpu_model);
	fputs(", \"kernel\": ", f);
	json_fputs(f, e->kernel);
	fputs(", \"kvm_module\": ", f);
	json_fputs(f, e->kvm_module);
	fputs(", \"xenith_revision\": ", f);
	json_fputs(f, e->revision);
	fputs(", \"build_type\": ", f);
	json_fputs(f, e->build_type);
	fputs(", \"hostname\": ", f);
	json_fputs(f, e->hostname);
	fputs(", \"date\": ", f);
	json_fputs(f, e->date);
	fprintf(f, ", \"tsc_khz\": %llu},\n", (unsigned long long)e->tsc_khz);
	fprintf(f, "  \"config\": {\"quick\": %s, \"repeat\": %u, \"warmup\": %u, \"duration_s\": ",
		r->quick ? "true" : "false", r->repeat, r->warmup);
	put_num(f, r->duration_s);
	fputs("},\n  \"note\": ", f);
	json_fputs(f, r->note);
	fputs(",\n  \"series\": [\n", f);
	for (size_t i = 0; i < r->nr_series; i++) {
		write_series(f, &r->series[i]);
		fputs(i + 1 < r->nr_series ? ",\n" : "\n", f);
	}
	fputs("  ]\n}\n", f);
	return fs_atomic_commit(f, tmp, path, eb);
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
	char err[256];
	char *text = slurp(path, eb);
	struct jv *doc;
	const struct jv *series, *env;
	const char *schema;

	bench_run_init(r);
	if (!text)
		return -EINVAL;
	doc = jv_parse(text, err, sizeof(err));
	free(text);
	if (!doc)
		return errbuf_set(eb, EINVAL, "%s is not valid JSON: %s", path, err);
	schema = jv_str(doc, "schema", NULL);
	if (!schema || strcmp(schema, BENCH_SCHEMA)) {
		errbuf_set(eb, EINVAL, "%s has schema '%.40s'; this xenith reads '%s'", path,
			   schema ? schema : "(none)", BENCH_SCHEMA);
		jv_free(doc); /* after the message: schema points into doc */
		return -EINVAL;
	}
	if (!jv_bool(doc, "complete", false)) {
		jv_free(doc);
		return errbuf_set(eb, EINVAL, "%s is not a complete run", path);
	}
	snprintf(r->id, sizeof(r->id), "%s", jv_str(doc, "id", ""));
	env = jv_get(doc, "environment");
	snprintf(r->env.cpu_model, sizeof(r->env.cpu_model), "%s", jv_str(env, "cpu_model", ""));
	snprintf(r->env.kernel, sizeof(r->env.kernel), "%s", jv_str(env, "kernel", ""));
	snprintf(r->env.kvm_module, sizeof(r->env.kvm_module), "%s", jv_str(env, "kvm_module", ""));
	snprintf(r->env.revision, sizeof(r->env.revision), "%s", jv_str(env, "xenith_revision", ""));
	snprintf(r->env.build_type, sizeof(r->env.build_type), "%s", jv_str(env, "build_type", ""));
	snprintf(r->env.hostname, sizeof(r->env.hostname), "%s", jv_str(env, "hostname", ""));
	snprintf(r->env.date, sizeof(r->env.date), "%s", jv_str(env, "date", ""));
	r->env.tsc_khz = (uint64_t)jv_num(env, "tsc_khz", 0);
	r->quick = jv_bool(jv_get(doc, "config"), "quick", false);
	r->repeat = (unsigned)jv_num(jv_get(doc, "config"), "repeat", 0);
	r->warmup = (unsigned)jv_num(jv_get(doc, "config"), "warmup", 0);
	r->duration_s = jv_num(jv_get(doc, "config"), "duration_s", 0);
	snprintf(r->note, sizeof(r->note), "%s", jv_str(doc, "note", ""));
	series = jv_get(doc, "series");
	if (!series || series->type != JV_ARR) {
		jv_free(doc);
		return errbuf_set(eb, EINVAL, "%s has no \"series\" array", path);
	}
	for (size_t i = 0; i < series->n; i++) {
		const struct jv *o = &series->items[i], *samples = jv_get(o, "samples");
		const char *suite = jv_str(o, "suite", NULL), *name = jv_str(o, "case", NULL);
		const char *mode = jv_str(o, "mode", NULL), *unit = jv_str(o, "unit", "");
		struct bench_series *s;

		if (!suite || !name || !mode || !samples || samples->type != JV_ARR) {
			jv_free(doc);
			bench_run_free(r);
			return errbuf_set(eb, EINVAL, "%s: series %zu lacks suite, case, mode or samples",
					  path, i);
		}
		s = bench_run_series(r, suite, name, mode, unit,
				     !strcmp(jv_str(o, "better", "lower"), "higher"));
		if (!s) {
			jv_free(doc);
			bench_run_free(r);
			return errbuf_set(eb, ENOMEM, "out of memory");
		}
		snprintf(s->analogue, sizeof(s->analogue), "%s", jv_str(o, "analogue", ""));
		read_trend(jv_get(o, "trend"), &s->trend);
		for (size_t k = 0; k < samples->n; k++)
			if (samples->items[k].type == JV_NUM)
				bench_series_add(s, samples->items[k].num);
	}
	jv_free(doc);
	bench_run_finish(r);
	return 0;
}
