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
#include "trend.h"

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

static bool is_ratio_mode(const char *mode)
{
	return !strncmp(mode, "ratio", 5) && (mode[5] == 0 || mode[5] == '-');
}

/*
 * The pairs' ratios are multiplicative, so the interval is on their
 * logarithms: mean +- t(0.975, n-1) * sd / sqrt(n), back-transformed (a
 * geometric-mean interval; with pairs, drift common to both sides cancels).
 */
static void ratio_interval(struct bench_series *s)
{
	double sum = 0, sq = 0, mean, half;

	s->ratio_lo = s->ratio_hi = NAN;
	if (s->n < 2)
		return;
	for (size_t i = 0; i < s->n; i++) {
		if (!(s->samples[i] > 0))
			return;
		sum += log(s->samples[i]);
	}
	mean = sum / (double)s->n;
	for (size_t i = 0; i < s->n; i++)
		sq += (log(s->samples[i]) - mean) * (log(s->samples[i]) - mean);
	half = trend_t975((unsigned)(s->n - 1)) * sqrt(sq / (double)(s->n - 1) / (double)s->n);
	s->ratio_lo = exp(mean - half);
	s->ratio_hi = exp(mean + half);
}

void bench_run_finish(struct bench_run *r)
{
	for (size_t i = 0; i < r->nr_series; i++) {
		struct bench_series *s = &r->series[i];

		stats_summarize(s->samples, s->n, &s->sum);
		s->ratio_lo = s->ratio_hi = NAN;
		if (is_ratio_mode(s->mode))
			ratio_interval(s);
	}
}

double bench_pair_speed(double guest, double native, bool higher_is_better)
{
	if (!(guest > 0) || !(native > 0))
		return NAN;
	return higher_is_better ? guest / native : native / guest;
}

int bench_ratio_add(struct bench_run *r, const struct bench_series *guest, double guest_v, double native_v)
{
	double v = bench_pair_speed(guest_v, native_v, guest->higher_is_better);
	char mode[sizeof(guest->mode)];
	char suite[sizeof(guest->suite)], name[sizeof(guest->name)], analogue[sizeof(guest->analogue)];
	struct bench_series *s;

	if (isnan(v))
		return -EINVAL;
	/* guest may live in r->series, which bench_run_series() can move */
	snprintf(mode, sizeof(mode), "ratio%s", guest->mode + strlen("guest"));
	snprintf(suite, sizeof(suite), "%s", guest->suite);
	snprintf(name, sizeof(name), "%s", guest->name);
	snprintf(analogue, sizeof(analogue), "%s", guest->analogue);
	s = bench_run_series(r, suite, name, mode, "x", true);
	if (!s)
		return -ENOMEM;
	snprintf(s->analogue, sizeof(s->analogue), "%s", analogue);
	return bench_series_add(s, v);
}

double bench_relative_speed(const struct bench_series *guest, const struct bench_series *native)
{
	if (!guest || !native || guest->sum.median <= 0 || native->sum.median <= 0)
		return NAN;
	return guest->higher_is_better ? guest->sum.median / native->sum.median
				       : native->sum.median / guest->sum.median;
}

int bench_run_derive_ratios(struct bench_run *r)
{
	int added = 0;

	for (size_t i = 0; i < r->nr_series; i++) {
		const struct bench_series *g = &r->series[i], *nat;
		char mode[sizeof(g->mode)];
		size_t gi = i, ni, n;

		if (strncmp(g->mode, "guest", 5) || (g->mode[5] && g->mode[5] != '-') || !strcmp(g->suite, "blk") ||
		    !strcmp(g->suite, "pci"))
			continue;
		snprintf(mode, sizeof(mode), "ratio%s", g->mode + 5);
		if (bench_run_find(r, g->suite, g->name, mode))
			continue;
		nat = bench_run_find(r, g->suite, g->analogue[0] ? g->analogue : g->name, "native");
		if (!nat)
			continue;
		n = g->n < nat->n ? g->n : nat->n;
		ni = (size_t)(nat - r->series);
		for (size_t k = 0; k < n; k++) {
			/* bench_ratio_add() may move the series: indices, not pointers */
			double gv = r->series[gi].samples[k], nv = r->series[ni].samples[k];

			if (bench_ratio_add(r, &r->series[gi], gv, nv) == -ENOMEM)
				return -ENOMEM;
		}
		added += n > 0;
	}
	if (added)
		bench_run_finish(r);
	return added;
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

/* The first line of a sysfs file, newline removed; false when it cannot be read. */
static bool read_first_line(const char *path, char *out, size_t size)
{
	FILE *f = fopen(path, "r");
	bool ok;

	if (!f)
		return false;
	ok = fgets(out, (int)size, f) != NULL;
	fclose(f);
	if (ok)
		out[strcspn(out, "\n")] = 0;
	return ok;
}

/* intel_pstate's no_turbo (1 = off), else cpufreq's boost (1 = on); "unknown" without either. */
static void read_turbo(char *out, size_t size)
{
	char v[16];

	if (read_first_line("/sys/devices/system/cpu/intel_pstate/no_turbo", v, sizeof(v)))
		snprintf(out, size, "%s", !strcmp(v, "1") ? "off" : "on");
	else if (read_first_line("/sys/devices/system/cpu/cpufreq/boost", v, sizeof(v)))
		snprintf(out, size, "%s", !strcmp(v, "1") ? "on" : "off");
	else
		snprintf(out, size, "unknown");
}

/* The kernel's smt/active, else siblings against cores in /proc/cpuinfo. */
static void read_smt(char *out, size_t size)
{
	char v[32] = "", siblings[32] = "", cores[32] = "";

	if (read_first_line("/sys/devices/system/cpu/smt/active", v, sizeof(v))) {
		snprintf(out, size, "%s", !strcmp(v, "1") ? "on" : "off");
		return;
	}
	read_line_of("/proc/cpuinfo", "siblings", siblings, sizeof(siblings));
	read_line_of("/proc/cpuinfo", "cpu cores", cores, sizeof(cores));
	if (siblings[0] && cores[0])
		snprintf(out, size, "%s", atoi(siblings) > atoi(cores) ? "on" : "off");
	else
		snprintf(out, size, "unknown");
}

void bench_env_collect(struct bench_env *env, uint64_t tsc_khz, const char *kvm_module,
		       const char *revision, const char *build_type)
{
	char mem[64] = "";
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	struct utsname u;
	time_t now = time(NULL);
	struct tm tm;

	memset(env, 0, sizeof(*env));
	snprintf(env->cpu_model, sizeof(env->cpu_model), "unknown");
	read_line_of("/proc/cpuinfo", "model name", env->cpu_model, sizeof(env->cpu_model));
	snprintf(env->microcode, sizeof(env->microcode), "unknown");
	read_line_of("/proc/cpuinfo", "microcode", env->microcode, sizeof(env->microcode));
	if (!read_first_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", env->governor,
			     sizeof(env->governor)) || !env->governor[0])
		snprintf(env->governor, sizeof(env->governor), "none");
	read_turbo(env->turbo, sizeof(env->turbo));
	read_smt(env->smt, sizeof(env->smt));
	read_line_of("/proc/meminfo", "MemTotal", mem, sizeof(mem));
	env->mem_total_kib = strtoull(mem, NULL, 10);
	env->cpus_online = cpus > 0 ? (unsigned)cpus : 0;
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

const char *bench_env_field(const struct bench_env *e, unsigned i, char *buf, size_t size)
{
	static const char *const names[BENCH_ENV_FIELDS] = {
		"cpu_model", "microcode", "kernel", "kvm_module", "governor", "turbo", "smt", "memory", "cpus",
	};
	const char *v = NULL;

	if (i >= BENCH_ENV_FIELDS)
		return NULL;
	switch (i) {
	case 0: v = e->cpu_model; break;
	case 1: v = e->microcode; break;
	case 2: v = e->kernel; break;
	case 3: v = e->kvm_module; break;
	case 4: v = e->governor; break;
	case 5: v = e->turbo; break;
	case 6: v = e->smt; break;
	case 7:
		if (e->mem_total_kib)
			snprintf(buf, size, "%.0f GiB", (double)e->mem_total_kib / (1024.0 * 1024.0));
		else
			buf[0] = 0;
		return names[i];
	case 8:
		if (e->cpus_online)
			snprintf(buf, size, "%u", e->cpus_online);
		else
			buf[0] = 0;
		return names[i];
	}
	snprintf(buf, size, "%s", v);
	return names[i];
}

size_t bench_env_diff(const struct bench_env *base, const struct bench_env *cur, struct bench_env_diff *d,
		      unsigned *unrecorded)
{
	size_t n = 0;

	if (unrecorded)
		*unrecorded = 0;
	for (unsigned i = 0; i < BENCH_ENV_FIELDS; i++) {
		char a[160], b[160];
		const char *name = bench_env_field(base, i, a, sizeof(a));

		bench_env_field(cur, i, b, sizeof(b));
		if (!a[0] || !b[0]) {
			if (unrecorded)
				(*unrecorded)++;
			continue;
		}
		if (!strcmp(a, b))
			continue;
		d[n].field = name;
		snprintf(d[n].base, sizeof(d[n].base), "%s", a);
		snprintf(d[n].cur, sizeof(d[n].cur), "%s", b);
		n++;
	}
	return n;
}

void bench_env_describe(const struct bench_env *e, char *buf, size_t size)
{
	char mem[32], cpus[16];

	bench_env_field(e, 7, mem, sizeof(mem));
	bench_env_field(e, 8, cpus, sizeof(cpus));
#define OR_NR(s) ((s)[0] ? (s) : "not recorded")
	snprintf(buf, size, "%s (microcode %s), %s, KVM %s, governor %s, turbo %s, SMT %s, memory %s, %s CPUs",
		 OR_NR(e->cpu_model), OR_NR(e->microcode), OR_NR(e->kernel), OR_NR(e->kvm_module),
		 OR_NR(e->governor), OR_NR(e->turbo), OR_NR(e->smt), OR_NR(mem), OR_NR(cpus));
#undef OR_NR
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

/* [lo, hi] of a ratio series: null, null below two pairs. */
static json_t *ratio_ci_json(const struct bench_series *s)
{
	json_t *a = json_array();

	if (a && json_array_append_new(a, jval_num(s->ratio_lo)) == 0 &&
	    json_array_append_new(a, jval_num(s->ratio_hi)) == 0)
		return a;
	json_decref(a);
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
		  (!s->placement[0] || put(o, "placement", jval_str(s->placement))) &&
		  (!s->trend.set || put(o, "trend", trend_json(&s->trend))) &&
		  (!s->adapt_stop[0] || put(o, "adaptive", adaptive_json(s))) &&
		  put(o, "n", json_integer((json_int_t)m->n)) && put(o, "median", jval_num(m->median)) &&
		  put(o, "mean", jval_num(m->mean)) && put(o, "stddev", jval_num(m->stddev)) &&
		  put(o, "cv", jval_num(m->cv)) && put(o, "min", jval_num(m->min)) &&
		  put(o, "p5", jval_num(m->p5)) && put(o, "p95", jval_num(m->p95)) &&
		  put(o, "max", jval_num(m->max)) &&
		  (!is_ratio_mode(s->mode) || put(o, "ci95", ratio_ci_json(s))) &&
		  (samples = put_array(o, "samples"));

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
		  (!r->noise.set || put(doc, "noise", noise_json(&r->noise))) &&
		  (series = put_array(doc, "series"));

	ok = ok && put(env, "cpu_model", jval_str(e->cpu_model)) && put(env, "microcode", jval_str(e->microcode)) &&
	     put(env, "kernel", jval_str(e->kernel)) && put(env, "kvm_module", jval_str(e->kvm_module)) &&
	     put(env, "governor", jval_str(e->governor)) && put(env, "turbo", jval_str(e->turbo)) &&
	     put(env, "smt", jval_str(e->smt)) &&
	     put(env, "mem_total_kib", json_integer((json_int_t)e->mem_total_kib)) &&
	     put(env, "cpus_online", json_integer((json_int_t)e->cpus_online)) &&
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
	return jval_write_file(run_json(r), path, DOC_FLAGS, eb);
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
	/* Documents before the fingerprint lack these: "" and 0 are "not recorded". */
	snprintf(r->env.microcode, sizeof(r->env.microcode), "%s", get_str(env, "microcode", ""));
	snprintf(r->env.governor, sizeof(r->env.governor), "%s", get_str(env, "governor", ""));
	snprintf(r->env.turbo, sizeof(r->env.turbo), "%s", get_str(env, "turbo", ""));
	snprintf(r->env.smt, sizeof(r->env.smt), "%s", get_str(env, "smt", ""));
	r->env.mem_total_kib = (uint64_t)get_num(env, "mem_total_kib", 0);
	r->env.cpus_online = (unsigned)get_num(env, "cpus_online", 0);
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
	noise_from_json(json_object_get(doc, "noise"), &r->noise); /* absent: not recorded */
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
		snprintf(s->placement, sizeof(s->placement), "%s", get_str(o, "placement", ""));
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
