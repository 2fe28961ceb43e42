// SPDX-License-Identifier: MIT
#include "calibrate.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "jsonval.h"
#include "stats.h"

unsigned calib_min_reps(double alpha)
{
	/* the smallest two-sided exact p with n per side: 2 / C(2n, n) */
	double c = 1;

	for (unsigned n = 1; n <= CALIB_MAX_REPS; n++) {
		c = c * (2.0 * n) * (2.0 * n - 1) / ((double)n * n); /* C(2n, n) from C(2n-2, n-1) */
		if (2 / c <= alpha)
			return n;
	}
	return CALIB_MAX_REPS + 1;
}

/* Critical values per n for the last alpha asked (every search asks the same one). */
static double crit_alpha = -1;
static int crit[CALIB_MAX_REPS + 1];
static bool crit_known[CALIB_MAX_REPS + 1];

int calib_critical_u(unsigned n, double alpha)
{
	size_t wmax, base = (size_t)n * (n + 1) / 2;
	double *dp, total = 0, tail = 0;
	int u_crit = -1;

	if (n == 0 || n > CALIB_MAX_REPS)
		return -1;
	if (alpha != crit_alpha) {
		memset(crit_known, 0, sizeof(crit_known));
		crit_alpha = alpha;
	}
	if (crit_known[n])
		return crit[n];
	/*
	 * dp[k][w]: subsets of k of the ranks seen so far with rank sum w.  The
	 * rank sum W of one side of n among 2n has U = W - n(n+1)/2.
	 */
	wmax = (size_t)n * (3 * n + 1) / 2;
	dp = calloc((size_t)(n + 1) * (wmax + 1), sizeof(*dp));
	if (!dp)
		return -1;
#define DP(k, w) dp[(size_t)(k) * (wmax + 1) + (w)]
	DP(0, 0) = 1;
	for (size_t r = 1; r <= 2 * (size_t)n; r++)
		for (size_t k = r < n ? r : n; k >= 1; k--)
			for (size_t w = wmax; w >= r; w--)
				DP(k, w) += DP(k - 1, w - r);
	for (size_t w = 0; w <= wmax; w++)
		total += DP(n, w);
	/* P(U <= u) <= alpha / 2: then min(U, n^2 - U) <= u has two-sided p <= alpha */
	for (size_t w = base; w <= wmax; w++) {
		tail += DP(n, w);
		if (tail / total > alpha / 2 * (1 + 1e-12))
			break;
		u_crit = (int)(w - base);
	}
#undef DP
	free(dp);
	crit[n] = u_crit;
	crit_known[n] = true;
	return u_crit;
}

static uint64_t next_random(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double normal(uint64_t *s)
{
	double u1 = ((double)(next_random(s) >> 11) + 0.5) / 9007199254740992.0;
	double u2 = ((double)(next_random(s) >> 11) + 0.5) / 9007199254740992.0;

	return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

#define SIM_TRIALS 2000

double calib_power(unsigned n, double sigma, double effect, double alpha)
{
	int u_crit = calib_critical_u(n, alpha);
	uint64_t rng = 0xca11b7a7e5eedull ^ n;
	double a[CALIB_MAX_REPS], b[CALIB_MAX_REPS];
	unsigned rejected = 0;

	if (u_crit < 0)
		return 0;
	for (unsigned t = 0; t < SIM_TRIALS; t++) {
		double u = 0;

		for (unsigned i = 0; i < n; i++) {
			a[i] = 1 + sigma * normal(&rng);
			b[i] = (1 + effect) * (1 + sigma * normal(&rng));
		}
		for (unsigned i = 0; i < n; i++)
			for (unsigned j = 0; j < n; j++)
				u += a[i] < b[j] ? 1 : a[i] == b[j] ? 0.5 : 0;
		if (fmin(u, (double)n * n - u) <= u_crit)
			rejected++;
	}
	return (double)rejected / SIM_TRIALS;
}

unsigned calib_needed(double sigma, double effect, double alpha, double power)
{
	unsigned lo = calib_min_reps(alpha), hi = CALIB_MAX_REPS;

	if (lo > hi || !(sigma >= 0) || calib_power(hi, sigma, effect, alpha) < power)
		return 0;
	/* the smallest n in [lo, hi] with enough power (power grows with n) */
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (calib_power(mid, sigma, effect, alpha) >= power)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median_sorted(const double *v, size_t n)
{
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double calib_robust_cv(const double *v, size_t n)
{
	double *s, med, mad;

	if (n == 0)
		return NAN;
	s = malloc(n * sizeof(*s));
	if (!s)
		return NAN;
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	med = median_sorted(s, n);
	for (size_t i = 0; i < n; i++)
		s[i] = fabs(v[i] - med);
	qsort(s, n, sizeof(*s), cmp_double);
	mad = median_sorted(s, n);
	free(s);
	return med != 0 ? 1.4826 * mad / fabs(med) : NAN;
}

static void fingerprint(struct calibration *c, const struct bench_env *e)
{
	snprintf(c->date, sizeof(c->date), "%s", e->date);
	snprintf(c->revision, sizeof(c->revision), "%s", e->revision);
	snprintf(c->cpu_model, sizeof(c->cpu_model), "%s", e->cpu_model);
	snprintf(c->kernel, sizeof(c->kernel), "%s", e->kernel);
	snprintf(c->kvm_module, sizeof(c->kvm_module), "%s", e->kvm_module);
	snprintf(c->hostname, sizeof(c->hostname), "%s", e->hostname);
}

int calib_from_run(const struct bench_run *run, struct calibration *c)
{
	memset(c, 0, sizeof(*c));
	fingerprint(c, &run->env);
	c->quick = run->quick;
	c->effect = CALIB_EFFECT;
	c->alpha = CALIB_ALPHA;
	c->power = CALIB_POWER;
	c->entries = calloc(run->nr_series ? run->nr_series : 1, sizeof(*c->entries));
	if (!c->entries)
		return -ENOMEM;
	for (size_t i = 0; i < run->nr_series; i++) {
		const struct bench_series *s = &run->series[i];
		struct calib_entry *e = &c->entries[c->nr_entries];
		double sigma;

		if (s->n < 3)
			continue; /* no noise to measure */
		snprintf(e->suite, sizeof(e->suite), "%s", s->suite);
		snprintf(e->name, sizeof(e->name), "%s", s->name);
		snprintf(e->mode, sizeof(e->mode), "%s", s->mode);
		e->n = s->sum.n;
		e->median = s->sum.median;
		e->cv = s->sum.cv;
		e->robust_cv = calib_robust_cv(s->samples, s->n);
		/* a MAD of 0 (most samples equal) says little: the plain cv then */
		sigma = e->robust_cv > 0 ? e->robust_cv : e->cv;
		e->needed = calib_needed(sigma, c->effect, c->alpha, c->power);
		c->nr_entries++;
	}
	return 0;
}

unsigned calib_runs_needed(double run_sd, unsigned runs, double effect, double alpha, double power)
{
	double target = log1p(effect);

	if (runs < 2 || !(run_sd >= 0))
		return 0;
	/* one run a side: compare's test on t with runs - 1 degrees of freedom (stats_compare_runs) */
	if ((stats_student_upper(alpha / 2, runs - 1) + stats_student_upper(1 - power, runs - 1)) * sqrt(2.0) *
		    run_sd <= target)
		return 1;
	/* k a side: a t test on the 2k runs' log medians, 2k - 2 degrees of freedom */
	for (unsigned k = 2; k <= CALIB_MAX_REPS; k++) {
		double df = 2.0 * k - 2;

		if ((stats_student_upper(alpha / 2, df) + stats_student_upper(1 - power, df)) * run_sd *
			    sqrt(2.0 / k) <= target)
			return k;
	}
	return 0;
}

int calib_from_runs(const struct bench_run *runs, size_t k, struct calibration *c)
{
	double *cvs, *pcvs, *meds, *logs;
	int r;

	if (k == 0)
		return -EINVAL;
	r = calib_from_run(&runs[0], c);
	if (r < 0)
		return r;
	c->runs = (unsigned)k;
	cvs = calloc(k, sizeof(*cvs));
	pcvs = calloc(k, sizeof(*pcvs));
	meds = calloc(k, sizeof(*meds));
	logs = calloc(k, sizeof(*logs));
	if (!cvs || !pcvs || !meds || !logs) {
		free(cvs);
		free(pcvs);
		free(meds);
		free(logs);
		calib_free(c);
		return -ENOMEM;
	}
	for (size_t i = 0; i < c->nr_entries; i++) {
		struct calib_entry *e = &c->entries[i];
		size_t m = 0, nl = 0;
		double sigma;

		for (size_t j = 0; j < k; j++) {
			const struct bench_series *s = bench_run_find(&runs[j], e->suite, e->name, e->mode);

			if (!s || s->n < 3)
				continue;
			cvs[m] = calib_robust_cv(s->samples, s->n);
			if (!(cvs[m] > 0))
				cvs[m] = s->sum.cv;
			pcvs[m] = s->sum.cv;
			meds[m++] = s->sum.median;
			if (s->sum.median > 0)
				logs[nl++] = log(s->sum.median);
		}
		qsort(cvs, m, sizeof(*cvs), cmp_double);
		qsort(pcvs, m, sizeof(*pcvs), cmp_double);
		qsort(meds, m, sizeof(*meds), cmp_double);
		e->robust_cv = median_sorted(cvs, m);
		e->cv = median_sorted(pcvs, m);
		e->median = median_sorted(meds, m);
		sigma = e->robust_cv > 0 ? e->robust_cv : e->cv;
		e->needed = calib_needed(sigma, c->effect, c->alpha, c->power);
		e->runs = (unsigned)nl;
		e->run_sd = NAN;
		e->runs_needed = 0;
		if (nl >= 2) {
			double mean = 0, ss = 0;

			for (size_t j = 0; j < nl; j++)
				mean += logs[j];
			mean /= (double)nl;
			for (size_t j = 0; j < nl; j++)
				ss += (logs[j] - mean) * (logs[j] - mean);
			e->run_sd = sqrt(ss / (double)(nl - 1));
			e->runs_needed = calib_runs_needed(e->run_sd, e->runs, c->effect, c->alpha, c->power);
		}
	}
	free(cvs);
	free(pcvs);
	free(meds);
	free(logs);
	return 0;
}

void calib_free(struct calibration *c)
{
	free(c->entries);
	memset(c, 0, sizeof(*c));
}

const struct calib_entry *calib_find(const struct calibration *c, const char *suite, const char *name,
				     const char *mode)
{
	for (size_t i = 0; i < c->nr_entries; i++) {
		const struct calib_entry *e = &c->entries[i];

		if (!strcmp(e->suite, suite) && !strcmp(e->name, name) && !strcmp(e->mode, mode))
			return e;
	}
	return NULL;
}

static json_t *calib_json(const struct calibration *c)
{
	json_t *doc = json_pack("{s:s, s:o, s:{s:o, s:o, s:o, s:o, s:o}, s:b, s:f, s:f, s:f, s:i, s:s, s:[]}",
		"schema", CALIB_SCHEMA, "date", jval_str(c->date),
		"host", "cpu_model", jval_str(c->cpu_model), "kernel", jval_str(c->kernel),
		"kvm_module", jval_str(c->kvm_module), "hostname", jval_str(c->hostname),
		"xenith_revision", jval_str(c->revision),
		"quick", c->quick, "effect", c->effect, "alpha", c->alpha, "power", c->power,
		"max_reps", CALIB_MAX_REPS,
		"method", "simulation: normal samples with sigma = robust_cv (cv when the MAD is 0), one side shifted "
			  "by effect, exact two-sided Mann-Whitney at alpha, 2000 pairs; needed = fewest per side "
			  "rejecting in at least power of them; null: more than max_reps",
		"cases");
	json_t *list = doc ? json_object_get(doc, "cases") : NULL;
	bool ok = list != NULL;

	for (size_t i = 0; ok && i < c->nr_entries; i++) {
		const struct calib_entry *e = &c->entries[i];

		ok = !json_array_append_new(list, json_pack("{s:o, s:o, s:o, s:I, s:o, s:o, s:o, s:o}",
			"suite", jval_str(e->suite), "case", jval_str(e->name), "mode", jval_str(e->mode),
			"n", (json_int_t)e->n, "median", jval_num(e->median), "cv", jval_num(e->cv),
			"robust_cv", jval_num(e->robust_cv),
			"needed", e->needed ? json_integer(e->needed) : json_null()));
		if (ok && e->runs >= 2) {
			json_t *o = json_array_get(list, json_array_size(list) - 1);

			ok = !json_object_set_new(o, "runs", json_integer(e->runs)) &&
			     !json_object_set_new(o, "run_sd", jval_num(e->run_sd)) &&
			     !json_object_set_new(o, "runs_needed",
						  e->runs_needed ? json_integer(e->runs_needed) : json_null());
		}
	}
	if (ok && c->runs >= 2)
		ok = !json_object_set_new(doc, "runs", json_integer(c->runs)) &&
		     !json_object_set_new(doc, "runs_method", json_string(
			"run_sd: standard deviation of the log of the runs' medians (each run's own noise "
			"included: conservative); runs_needed: 1 when one run a side detects effect at alpha and "
			"power (t on runs - 1 degrees of freedom, variance 2 run_sd^2), else the fewest k a side "
			"for a t test on 2k runs' log medians; null: more than max_reps"));
	if (ok)
		return doc;
	json_decref(doc);
	return NULL;
}

int calib_write(const struct calibration *c, const char *path, struct errbuf *eb)
{
	return jval_write_file(calib_json(c), path, JSON_INDENT(2) | JSON_REAL_PRECISION(10), eb);
}

static const char *str(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : "";
}

static double num(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

int calib_read(struct calibration *c, const char *path, struct errbuf *eb)
{
	json_error_t err;
	json_t *doc, *host, *cases, *o;
	size_t i;

	memset(c, 0, sizeof(*c));
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return -ENOENT;
	doc = json_load_file(path, 0, &err);
	if (!doc)
		return errbuf_set(eb, EINVAL, "%s: %s (line %d)", path, err.text, err.line);
	if (strcmp(str(doc, "schema"), CALIB_SCHEMA)) {
		errbuf_set(eb, EINVAL, "%s has schema '%.40s'; this xenith reads '%s'", path, str(doc, "schema"),
			   CALIB_SCHEMA);
		json_decref(doc);
		return -EINVAL;
	}
	host = json_object_get(doc, "host");
	snprintf(c->date, sizeof(c->date), "%s", str(doc, "date"));
	snprintf(c->cpu_model, sizeof(c->cpu_model), "%s", str(host, "cpu_model"));
	snprintf(c->kernel, sizeof(c->kernel), "%s", str(host, "kernel"));
	snprintf(c->kvm_module, sizeof(c->kvm_module), "%s", str(host, "kvm_module"));
	snprintf(c->hostname, sizeof(c->hostname), "%s", str(host, "hostname"));
	snprintf(c->revision, sizeof(c->revision), "%s", str(host, "xenith_revision"));
	c->quick = json_is_true(json_object_get(doc, "quick"));
	c->effect = num(doc, "effect");
	c->alpha = num(doc, "alpha");
	c->power = num(doc, "power");
	{
		double runs = num(doc, "runs");

		c->runs = runs >= 2 && runs <= 1e6 ? (unsigned)runs : 1;
	}
	cases = json_object_get(doc, "cases");
	c->entries = calloc(json_array_size(cases) + 1, sizeof(*c->entries));
	if (!c->entries) {
		json_decref(doc);
		return errbuf_set(eb, ENOMEM, "out of memory");
	}
	json_array_foreach(cases, i, o) {
		struct calib_entry *e = &c->entries[c->nr_entries];
		double n = num(o, "n"), needed = num(o, "needed");

		if (!json_is_string(json_object_get(o, "suite")) || !json_is_string(json_object_get(o, "case")) ||
		    !json_is_string(json_object_get(o, "mode")))
			continue;
		snprintf(e->suite, sizeof(e->suite), "%s", str(o, "suite"));
		snprintf(e->name, sizeof(e->name), "%s", str(o, "case"));
		snprintf(e->mode, sizeof(e->mode), "%s", str(o, "mode"));
		e->n = n >= 0 && n < 1e9 ? (size_t)n : 0;
		e->median = num(o, "median");
		e->cv = num(o, "cv");
		e->robust_cv = num(o, "robust_cv");
		e->needed = needed >= 1 && needed <= 1e6 ? (unsigned)needed : 0;
		{
			double runs = num(o, "runs"), run_sd = num(o, "run_sd"), rn = num(o, "runs_needed");

			/* before calibrate --runs, and a malformed entry: no between-run figures */
			if (runs >= 2 && runs <= 1e6 && run_sd >= 0 && run_sd < 10) {
				e->runs = (unsigned)runs;
				e->run_sd = run_sd;
				e->runs_needed = rn >= 1 && rn <= 1e6 ? (unsigned)rn : 0;
			} else {
				e->run_sd = NAN;
			}
		}
		c->nr_entries++;
	}
	json_decref(doc);
	return 0;
}

void calib_host_differs(const struct calibration *c, const struct bench_env *env, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = 0;
	if (strcmp(c->cpu_model, env->cpu_model))
		used += (size_t)snprintf(buf + used, size - used, "CPU %s, not %s", c->cpu_model, env->cpu_model);
	if (used < size && strcmp(c->kvm_module, env->kvm_module))
		used += (size_t)snprintf(buf + used, size - used, "%sKVM module %s, not %s", used ? "; " : "",
					 c->kvm_module, env->kvm_module);
	if (used < size && strcmp(c->kernel, env->kernel))
		snprintf(buf + used, size - used, "%skernel %s, not %s", used ? "; " : "", c->kernel, env->kernel);
}
