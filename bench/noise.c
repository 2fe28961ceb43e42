// SPDX-License-Identifier: MIT
#include "noise.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsonval.h"
#include "result.h"

/* ROOT/rel into buf; false when it does not fit. */
static bool path_of(char *buf, size_t size, const char *root, const char *rel)
{
	return snprintf(buf, size, "%s%s", root ? root : "", rel) < (int)size;
}

/* The first size-1 bytes of ROOT/rel, NUL-terminated; -errno. */
static int read_text(const char *root, const char *rel, char *buf, size_t size)
{
	char path[512];
	FILE *f;
	size_t n;

	if (!path_of(path, sizeof(path), root, rel))
		return -ENAMETOOLONG;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fread(buf, 1, size - 1, f);
	buf[n] = 0;
	fclose(f);
	return 0;
}

int noise_read_stat(const char *root, struct noise_times *t)
{
	char buf[8192], *line, *save = NULL;
	unsigned long long v[10] = { 0 };
	int r = read_text(root, "/proc/stat", buf, sizeof(buf)), got = 0;

	t->host_ok = false;
	t->cpus = 0;
	if (r < 0)
		return r;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "cpu ", 4))
			/* user nice system idle iowait irq softirq steal guest guest_nice */
			got = sscanf(line + 4, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
				     &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
		else if (!strncmp(line, "cpu", 3) && line[3] >= '0' && line[3] <= '9')
			t->cpus++;
	}
	if (got < 4)
		return -EINVAL;
	/* guest and guest_nice are already counted in user and nice */
	t->total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
	t->idle = v[3] + v[4];
	t->steal = v[7];
	t->busy = t->total - t->idle - t->steal;
	t->host_ok = true;
	return 0;
}

int noise_read_self(const char *root, uint64_t *ticks)
{
	char buf[1024], *p;
	unsigned long long f[14];
	int r = read_text(root, "/proc/self/stat", buf, sizeof(buf));

	if (r < 0)
		return r;
	/* the command name may hold spaces and parentheses: fields count from the last ')' */
	p = strrchr(buf, ')');
	if (!p)
		return -EINVAL;
	/* state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime */
	if (sscanf(p + 1, " %*c %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &f[0], &f[1],
		   &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8], &f[9], &f[10], &f[11], &f[12], &f[13]) != 14)
		return -EINVAL;
	*ticks = f[10] + f[11] + f[12] + f[13];
	return 0;
}

int noise_read_loadavg(const char *root, double *load1)
{
	char buf[256];
	int r = read_text(root, "/proc/loadavg", buf, sizeof(buf));

	if (r < 0)
		return r;
	return sscanf(buf, "%lf", load1) == 1 && *load1 >= 0 ? 0 : -EINVAL;
}

int noise_read_cpufreq(const char *root, unsigned cpu, char *governor, size_t size, double *mhz)
{
	char rel[128], buf[64];
	unsigned long khz;
	int r;

	snprintf(rel, sizeof(rel), "/sys/devices/system/cpu/cpu%u/cpufreq/scaling_governor", cpu);
	r = read_text(root, rel, buf, sizeof(buf));
	if (r < 0)
		return r;
	buf[strcspn(buf, "\n")] = 0;
	snprintf(governor, size, "%s", buf);
	*mhz = NAN;
	snprintf(rel, sizeof(rel), "/sys/devices/system/cpu/cpu%u/cpufreq/scaling_cur_freq", cpu);
	if (read_text(root, rel, buf, sizeof(buf)) == 0 && sscanf(buf, "%lu", &khz) == 1)
		*mhz = (double)khz / 1000;
	return 0;
}

void noise_begin(struct noise_record *r, const char *root)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->root, sizeof(r->root), "%s", root ? root : "");
	noise_read_stat(r->root, &r->t0);
	r->t0.self_ok = noise_read_self(r->root, &r->t0.self) == 0;
	r->n.set = true;
	r->n.cpus = r->t0.cpus;
	r->n.load_max = r->n.load_mean = NAN;
	r->n.steal = r->n.other = r->n.self = NAN;
	r->n.freq_min_mhz = r->n.freq_max_mhz = NAN;
	noise_sample(r);
}

void noise_sample(struct noise_record *r)
{
	struct bench_noise *n = &r->n;
	double load;

	if (noise_read_loadavg(r->root, &load) == 0) {
		n->load_max = n->load_samples ? fmax(n->load_max, load) : load;
		r->load_sum += load;
		n->load_samples++;
		n->load_mean = r->load_sum / n->load_samples;
	}
	for (unsigned cpu = 0; cpu < (n->cpus ? n->cpus : 1); cpu++) {
		char gov[32];
		double mhz;

		if (noise_read_cpufreq(r->root, cpu, gov, sizeof(gov), &mhz) < 0)
			continue;
		if (!n->governor[0])
			snprintf(n->governor, sizeof(n->governor), "%s", gov);
		else if (strcmp(n->governor, gov))
			snprintf(n->governor, sizeof(n->governor), "mixed");
		if (isfinite(mhz)) {
			n->freq_min_mhz = n->freq_samples ? fmin(n->freq_min_mhz, mhz) : mhz;
			n->freq_max_mhz = n->freq_samples ? fmax(n->freq_max_mhz, mhz) : mhz;
			n->freq_samples++;
		}
	}
}

void noise_end(struct noise_record *r, struct bench_noise *out)
{
	struct noise_times t1;
	uint64_t self1;

	noise_sample(r);
	if (noise_read_stat(r->root, &t1) == 0 && r->t0.host_ok && t1.total > r->t0.total) {
		double total = (double)(t1.total - r->t0.total);
		double busy = (double)(t1.busy - r->t0.busy);

		r->n.steal = (double)(t1.steal - r->t0.steal) / total;
		if (r->t0.self_ok && noise_read_self(r->root, &self1) == 0 && self1 >= r->t0.self) {
			double self = (double)(self1 - r->t0.self);

			r->n.self = self / total;
			/* ticks are sampled: our share can exceed what /proc/stat saw by a tick or two */
			r->n.other = fmax(0, busy - self) / total;
		}
	}
	*out = r->n;
}

struct noise_sampler {
	struct noise_record rec;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	unsigned period_ms;
};

static void *sampler_main(void *arg)
{
	struct noise_sampler *s = arg;
	struct timespec at;

	clock_gettime(CLOCK_MONOTONIC, &at);
	pthread_mutex_lock(&s->lock);
	while (!s->stop) {
		at.tv_nsec += (long)(s->period_ms % 1000) * 1000000;
		at.tv_sec += s->period_ms / 1000 + at.tv_nsec / 1000000000;
		at.tv_nsec %= 1000000000;
		while (!s->stop && pthread_cond_timedwait(&s->cond, &s->lock, &at) != ETIMEDOUT)
			;
		if (!s->stop)
			noise_sample(&s->rec);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

struct noise_sampler *noise_start(const char *root, unsigned period_ms, int cpu)
{
	struct noise_sampler *s = calloc(1, sizeof(*s));
	pthread_condattr_t ca;

	if (!s)
		return NULL;
	noise_begin(&s->rec, root);
	s->period_ms = period_ms ? period_ms : 1000;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&s->thread, NULL, sampler_main, s)) {
		pthread_cond_destroy(&s->cond);
		pthread_mutex_destroy(&s->lock);
		free(s);
		return NULL;
	}
	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		pthread_setaffinity_np(s->thread, sizeof(set), &set); /* best effort: samples either way */
	}
	return s;
}

void noise_stop(struct noise_sampler *s, struct bench_noise *out)
{
	if (!s) {
		memset(out, 0, sizeof(*out));
		return;
	}
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	noise_end(&s->rec, out);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void noise_summary(const struct bench_noise *n, char *buf, size_t size)
{
	size_t used = 0;

#define ADD(...) (used += (size_t)snprintf(buf + used, used < size ? size - used : 0, __VA_ARGS__))
	buf[0] = 0;
	if (!n->set) {
		ADD("not recorded");
		return;
	}
	if (n->load_samples)
		ADD("load average max %.1f (mean %.1f) on %u CPUs", n->load_max, n->load_mean, n->cpus);
	else
		ADD("load average unknown");
	if (isfinite(n->steal))
		ADD(", steal %.1f%%", 100 * n->steal);
	if (isfinite(n->other))
		ADD(", other processes %.0f%% and xenith %.0f%% of CPU time", 100 * n->other, 100 * n->self);
	if (!n->governor[0])
		ADD(", frequency scaling not exposed");
	else if (n->freq_samples)
		ADD(", governor %s, %.0f-%.0f MHz", n->governor, n->freq_min_mhz, n->freq_max_mhz);
	else
		ADD(", governor %s, frequency not exposed", n->governor);
#undef ADD
	if (used >= size && size > 0)
		buf[size - 1] = 0;
}

/* The suites whose series are repetitions of one measurement (density and soak sample other things). */
static bool judged_suite(const char *suite)
{
	return !strcmp(suite, "compute") || !strcmp(suite, "memory") || !strcmp(suite, "exit") ||
	       !strcmp(suite, "blk") || !strcmp(suite, "prof");
}

size_t noise_warnings(const struct bench_run *run, char (*w)[NOISE_WARNING_LEN], size_t max)
{
	const struct bench_noise *n = &run->noise;
	size_t k = 0;

#define WARN(...) do { if (k < max) snprintf(w[k], NOISE_WARNING_LEN, __VA_ARGS__); k++; } while (0)
	if (n->set) {
		if (n->load_samples && n->cpus && n->load_max > n->cpus)
			WARN("load average %.1f on %u CPUs during the run", n->load_max, n->cpus);
		if (isfinite(n->steal) && n->steal >= NOISE_STEAL_WARN)
			WARN("steal %.0f%% of CPU time: the hypervisor below ran something else on our CPUs",
			     100 * n->steal);
		if (isfinite(n->other) && n->other >= NOISE_OTHER_WARN)
			WARN("other processes used %.0f%% of CPU time during the run", 100 * n->other);
		if (n->governor[0] && strcmp(n->governor, "performance"))
			WARN("cpufreq governor %s, not performance: the frequency may change under the measurements",
			     n->governor);
		if (n->freq_samples && n->freq_max_mhz > 0 &&
		    (n->freq_max_mhz - n->freq_min_mhz) / n->freq_max_mhz > NOISE_FREQ_RANGE_WARN)
			WARN("CPU frequency ranged %.0f-%.0f MHz during the run", n->freq_min_mhz, n->freq_max_mhz);
	}
	for (size_t i = 0; i < run->nr_series; i++) {
		const struct bench_series *s = &run->series[i];

		if (judged_suite(s->suite) && s->sum.n >= 3 && s->sum.cv > NOISE_UNSTABLE_CV)
			WARN("unstable: %s/%s %s cv %.0f%% (above %.0f%%)", s->suite, s->name, s->mode,
			     100 * s->sum.cv, 100 * NOISE_UNSTABLE_CV);
	}
#undef WARN
	return k;
}

json_t *noise_json(const struct bench_noise *n)
{
	json_t *o = json_object();
	bool ok = o && !json_object_set_new(o, "cpus", json_integer(n->cpus)) &&
		  !json_object_set_new(o, "load_samples", json_integer(n->load_samples)) &&
		  !json_object_set_new(o, "load_max", jval_num(n->load_samples ? n->load_max : NAN)) &&
		  !json_object_set_new(o, "load_mean", jval_num(n->load_samples ? n->load_mean : NAN)) &&
		  !json_object_set_new(o, "steal", jval_num(n->steal)) &&
		  !json_object_set_new(o, "other", jval_num(n->other)) &&
		  !json_object_set_new(o, "self", jval_num(n->self)) &&
		  !json_object_set_new(o, "governor", n->governor[0] ? jval_str(n->governor) : json_null()) &&
		  !json_object_set_new(o, "freq_samples", json_integer(n->freq_samples)) &&
		  !json_object_set_new(o, "freq_min_mhz", jval_num(n->freq_samples ? n->freq_min_mhz : NAN)) &&
		  !json_object_set_new(o, "freq_max_mhz", jval_num(n->freq_samples ? n->freq_max_mhz : NAN));

	if (ok)
		return o;
	json_decref(o);
	return NULL;
}

static double num(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

static unsigned count(const json_t *o, const char *key)
{
	double v = num(o, key);

	return v >= 0 && v < 1e9 ? (unsigned)v : 0;
}

void noise_from_json(const json_t *o, struct bench_noise *n)
{
	const json_t *gov = json_object_get(o, "governor");

	memset(n, 0, sizeof(*n));
	if (!json_is_object(o))
		return; /* not recorded */
	n->set = true;
	n->cpus = count(o, "cpus");
	n->load_samples = count(o, "load_samples");
	n->load_max = num(o, "load_max");
	n->load_mean = num(o, "load_mean");
	if (!isfinite(n->load_max) || !isfinite(n->load_mean))
		n->load_samples = 0;
	n->steal = num(o, "steal");
	n->other = num(o, "other");
	n->self = num(o, "self");
	if (json_is_string(gov))
		snprintf(n->governor, sizeof(n->governor), "%s", json_string_value(gov));
	n->freq_samples = count(o, "freq_samples");
	n->freq_min_mhz = num(o, "freq_min_mhz");
	n->freq_max_mhz = num(o, "freq_max_mhz");
	if (!isfinite(n->freq_min_mhz) || !isfinite(n->freq_max_mhz))
		n->freq_samples = 0;
}
