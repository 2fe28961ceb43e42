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
#include "noise.h"
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
	char placement[96];  /* net suite: which thread ran on which CPU ("vcpu0:0 netback:1 peer:1"), else "" */
	double *samples;
	/*
	 * Mode "ratio" (bench_ratio_add): 95% interval of the geometric mean of
	 * the pairs' ratios, Student's t on their logarithms; filled by
	 * bench_run_finish(), NAN for other modes and for fewer than 2 pairs.
	 */
	double ratio_lo, ratio_hi;
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

/*
 * The environment.  Its fingerprint (what makes absolute figures of two
 * runs comparable) is cpu_model, microcode, kernel, kvm_module, governor,
 * turbo, smt, the memory size and the CPUs online; revision and build_type
 * are what a comparison compares, so they are not part of it.  An empty
 * string or a 0 is a field the document did not record (documents written
 * before the fingerprint had only cpu_model, kernel and kvm_module).
 */
struct bench_env {
	char cpu_model[128];
	char microcode[32];  /* /proc/cpuinfo "microcode"; "unknown" when the kernel hides it */
	char kernel[160];
	char kvm_module[32];
	char governor[32];   /* cpufreq scaling_governor of cpu0; "none" without cpufreq (most VMs) */
	char turbo[16];      /* "on", "off" or "unknown" (intel_pstate no_turbo, cpufreq boost) */
	char smt[16];        /* "on", "off" or "unknown" */
	uint64_t mem_total_kib; /* MemTotal */
	unsigned cpus_online;
	char revision[64];
	char build_type[32];
	char hostname[72];
	char date[32];       /* ISO 8601, UTC, when the run started */
	uint64_t tsc_khz;
};

#define BENCH_ENV_FIELDS 9   /* the fingerprint's fields, bench_env_field() 0..8 */

/*
 * Field i (0..BENCH_ENV_FIELDS-1) of the fingerprint: returns its name and
 * writes its value as compared into buf ("" when not recorded; the memory
 * size in whole GiB, rounded, so that a few MiB the kernel keeps are no
 * difference).  NULL for i out of range.
 */
const char *bench_env_field(const struct bench_env *e, unsigned i, char *buf, size_t size);

struct bench_env_diff {
	const char *field;
	char base[160], cur[160];  /* "not recorded" when the document lacks it */
};

/*
 * The fingerprint fields that differ between base and cur, into d (room
 * for BENCH_ENV_FIELDS); returns how many.  A field recorded in only one
 * of them, or in neither, is no difference: it is counted in *unrecorded
 * (when not NULL), so that the caller can say the comparison is partial.
 */
size_t bench_env_diff(const struct bench_env *base, const struct bench_env *cur, struct bench_env_diff *d,
		      unsigned *unrecorded);

/* One line for people: "AMD EPYC (microcode 0x...), Linux 6.1, KVM kvm_pvm, governor none, ...". */
void bench_env_describe(const struct bench_env *e, char *buf, size_t size);

struct bench_run {
	char id[112];        /* date, revision and host name: the archive's key */
	struct bench_env env;
	bool quick;
	unsigned repeat, warmup;
	double duration_s;
	char note[1024];     /* what stopped a suite early, for people; "" if nothing */
	struct bench_noise noise; /* other load, steal, frequency during the run (bench/noise.h) */
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

/*
 * One interleaved pair: the same direction rule for two samples (native
 * rep i and guest rep i, run one after the other).  NAN when either is
 * not positive.
 */
double bench_pair_speed(double guest, double native, bool higher_is_better);

/*
 * Adds pair (guest, native) to the ratio series of a case: suite/name in
 * mode "ratio" (or "ratio-BACKING" for guest_mode "guest-BACKING"), unit
 * "x", higher is better, analogue copied (exit costs).  -ENOMEM, or
 * -EINVAL for a pair without a ratio.
 */
int bench_ratio_add(struct bench_run *r, const struct bench_series *guest, double guest_v, double native_v);

/*
 * For a document written before ratio series (native and guest run one
 * after the other, not in pairs): adds each missing ratio series from its
 * guest and native series (the exit costs' analogue), sample i with sample
 * i, so that ratios can still be compared; such a pair is not interleaved
 * and its interval is wider than drift alone would make it.  Returns how
 * many series it added, or -ENOMEM.
 */
int bench_run_derive_ratios(struct bench_run *r);

#endif
