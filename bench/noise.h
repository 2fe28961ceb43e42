/* SPDX-License-Identifier: MIT */
/*
 * What else the host did while `xenith bench` measured, in the spirit of
 * pyperf's system checks: the load average, CPU time stolen by the
 * hypervisor below us, CPU time other processes used, and frequency
 * scaling.  Recorded in the document ("noise", results/SCHEMA.md) and
 * turned into warnings at the end of a run and in the report.
 *
 * Every reader takes a root ("" for the real host) so that tests can give
 * it fake /proc and /sys files.
 */
#ifndef XENITH_BENCH_NOISE_H
#define XENITH_BENCH_NOISE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A series is unstable when its cv (stddev / mean) is above this: pyperf's
 * threshold.  At cv 10% a 5% change needs about 150 repetitions a side to be
 * seen at alpha 0.01 with power 0.95 (bench/calibrate.h's approximation):
 * far beyond any run's budget, so such a series cannot decide anything.
 */
#define NOISE_UNSTABLE_CV 0.10
/* Warn when the hypervisor below stole at least this share of CPU time. */
#define NOISE_STEAL_WARN 0.01
/* Warn when other processes used at least this share of all CPU time. */
#define NOISE_OTHER_WARN 0.10
/* Warn when the sampled frequency ranged over more than this share of its maximum. */
#define NOISE_FREQ_RANGE_WARN 0.05

struct bench_noise {
	bool set;                /* false: not recorded (documents written before it) */
	unsigned cpus;           /* CPUs in /proc/stat */
	unsigned load_samples;
	double load_max, load_mean;  /* the 1-minute load average over the run's samples */
	double steal;            /* share of all CPU time the hypervisor stole; NAN: unknown */
	double other;            /* share of all CPU time busy with other processes; NAN: unknown */
	double self;             /* share used by xenith: its threads, guests and waited-for children */
	char governor[32];       /* cpufreq governor, "mixed" if CPUs differ, "" not exposed */
	unsigned freq_samples;
	double freq_min_mhz, freq_max_mhz;  /* scaling_cur_freq over the samples; NAN: not exposed */
};

/* CPU time counters (ticks) of the host and of this process. */
struct noise_times {
	uint64_t total, idle, steal, busy;  /* busy: total - idle - iowait - steal */
	uint64_t self;                      /* utime + stime + cutime + cstime of /proc/self/stat */
	unsigned cpus;
	bool host_ok, self_ok;
};

/* The "cpu" line of ROOT/proc/stat and the CPUs ("cpuN" lines); -errno. */
int noise_read_stat(const char *root, struct noise_times *t);
/* ROOT/proc/self/stat: this process's CPU ticks with its waited-for children; -errno. */
int noise_read_self(const char *root, uint64_t *ticks);
/* The 1-minute load average of ROOT/proc/loadavg; -errno. */
int noise_read_loadavg(const char *root, double *load1);
/* cpuN's governor and scaling_cur_freq (MHz) under ROOT/sys; -ENOENT when cpufreq is not exposed. */
int noise_read_cpufreq(const char *root, unsigned cpu, char *governor, size_t size, double *mhz);

/* A record in progress: noise_begin(), noise_sample() now and then, noise_end(). */
struct noise_record {
	char root[256];
	struct noise_times t0;
	double load_sum;
	struct bench_noise n;
};

void noise_begin(struct noise_record *r, const char *root);
void noise_sample(struct noise_record *r);
void noise_end(struct noise_record *r, struct bench_noise *out);

/*
 * A thread that samples every period_ms from noise_start() to noise_stop(),
 * on CPU cpu (-1: any; give it one the measurements do not use); NULL if
 * it cannot start.
 */
struct noise_sampler;
struct noise_sampler *noise_start(const char *root, unsigned period_ms, int cpu);
void noise_stop(struct noise_sampler *s, struct bench_noise *out);

/* One line for people: "load average max 2.3 (mean 1.9) on 2 CPUs, steal 0.4%, ..." */
void noise_summary(const struct bench_noise *n, char *buf, size_t size);

struct bench_run;
#define NOISE_WARNING_LEN 160
/*
 * The warnings a run deserves (other load, steal, frequency scaling,
 * unstable series), at most max of them; returns how many there were
 * (possibly more than max).
 */
size_t noise_warnings(const struct bench_run *run, char (*w)[NOISE_WARNING_LEN], size_t max);

/* The document's "noise" object (a new reference; NULL when out of memory) and its reader. */
json_t *noise_json(const struct bench_noise *n);
void noise_from_json(const json_t *o, struct bench_noise *n);

#endif
