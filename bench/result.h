/* SPDX-License-Identifier: MIT */
/*
 * One run of `xenith bench`: every series (a case in one mode, native or
 * guest) with all its samples, plus the environment.  Written as one JSON
 * document, schema "xenith-bench/1" (results/SCHEMA.md).
 */
#ifndef XENITH_BENCH_RESULT_H
#define XENITH_BENCH_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "stats.h"

#define BENCH_SCHEMA "xenith-bench/1"

/*
 * The soak suite's figures (tools/cmd_soak.c): how the samples, taken
 * every x_step cycles from cycle x0 on (the warm-up left out), moved, and
 * the verdict of the figure's rule (bench/trend.h).
 */
struct bench_trend {
	bool set;
	double x0, x_step;
	double per;              /* slope, lo and hi are per this many cycles */
	double slope, lo, hi;    /* least squares; 95% confidence interval */
	double first, last;
	double limit;            /* the rule's bound; NAN when it has none */
	char rule[8];            /* exact | slope | drop | report */
	char verdict[12];        /* flat | not-flat | unjudged */
};

struct bench_series {
	char suite[16];
	char name[48];
	char mode[24];       /* "native", "guest", "guest-BACKING" (memory suite), ... */
	char unit[16];
	bool higher_is_better;
	char analogue[32];   /* exit costs: the native case it is compared with, else "" */
	double *samples;
	size_t n, cap;
	struct summary sum;  /* filled by bench_run_finish() */
	struct bench_trend trend; /* soak suite only */
	/*
	 * Runs with --baseline: the verdict against the baseline when the case
	 * stopped, and why it stopped: "decided" (same or different), "budget"
	 * (still unknown at --budget repetitions), "not-adaptive" (a suite that
	 * is not re-run: density, blk, soak).  "" otherwise.
	 */
	char adapt_verdict[12];
	char adapt_stop[16];
};

struct bench_env {
	char cpu_model[128];
	char kernel[160];
	char kvm_module[32];
	char revision[64];
	char build_type[32];
	char hostname[72];
	char date[32];       /* ISO 8601, UTC, when the run started */
	uint64_t tsc_khz;
};

struct bench_run {
	char id[112];        /* date and revision: the archive's key */
	struct bench_env env;
	bool quick;
	unsigned repeat, warmup;
	double duration_s;
	char note[1024];     /* what stopped a suite early, for people; "" if nothing */
	struct bench_series *series;
	size_t nr_series, cap;
};

void bench_run_init(struct bench_run *r);
void bench_run_free(struct bench_run *r);
/* Finds or adds a series; NULL when out of memory. */
struct bench_series *bench_run_series(struct bench_run *r, const char *suite, const char *name,
				      const char *mode, const char *unit, bool higher_is_better);
int bench_series_add(struct bench_series *s, double v);
const struct bench_series *bench_run_find(const struct bench_run *r, const char *suite,
					  const char *name, const char *mode);
/* Summaries of every series. */
void bench_run_finish(struct bench_run *r);

/* kvm_module: the KVM vendor module the suites ran on (hv's kvm_vendor_module()). */
void bench_env_collect(struct bench_env *env, uint64_t tsc_khz, const char *kvm_module,
		       const char *revision, const char *build_type);

/*
 * Writes the document to path through a temporary file and rename(), so a
 * reader never sees a partial document under the final name.
 */
int bench_run_write(const struct bench_run *r, const char *path, struct errbuf *eb);
/* Reads a document back; refuses other schemas and incomplete runs. */
int bench_run_read(struct bench_run *r, const char *path, struct errbuf *eb);

/*
 * Guest speed as a fraction of native for a series pair: native/guest
 * for lower-is-better units, guest/native otherwise (1.0 = native speed).
 */
double bench_relative_speed(const struct bench_series *guest, const struct bench_series *native);

#endif
