/* SPDX-License-Identifier: MIT */
/*
 * Calibration: each case's noise measured over many repetitions on this
 * host (`xenith bench calibrate`), and the repetitions it needs for a 5%
 * change to be detectable, stored in DIR/calibration.json of the results
 * archive with the host's fingerprint.  `xenith bench` reads it and says
 * which cases ran fewer repetitions than that.
 *
 * The repetitions needed: a simulation with our own code, not a formula.
 * Both sides are n normal samples with the case's robust noise (sigma =
 * 1.4826 * MAD / median: the rank test cares about the bulk, not about a
 * rare outlier that would inflate the plain cv), one shifted by `effect`;
 * the exact two-sided Mann-Whitney test (its null distribution counted for
 * n per side, no ties) at `alpha` must reject in at least `power` of 2,000
 * simulated pairs (fixed seed).  n is the smallest such, searched from the
 * exact test's own floor (the fewest repetitions at which it can reach
 * alpha at all: 5 per side at 0.01) up to CALIB_MAX_REPS; beyond that the
 * case is "unreachable".
 */
#ifndef XENITH_BENCH_CALIBRATE_H
#define XENITH_BENCH_CALIBRATE_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "result.h"

#define CALIB_SCHEMA "xenith-calibration/1"
#define CALIB_EFFECT 0.05   /* the change to detect: the 5% */
#define CALIB_ALPHA 0.01    /* `xenith bench compare`'s default alpha */
#define CALIB_POWER 0.95    /* the target: 95% of 5% slowdowns detected */
#define CALIB_MAX_REPS 60   /* the search's ceiling per side */
#define CALIB_DEFAULT_REPEAT 20

struct calib_entry {
	char suite[16], name[48], mode[24];
	size_t n;             /* repetitions measured */
	double median, cv, robust_cv;
	unsigned needed;      /* repetitions per side for the change at alpha and power; 0: more than CALIB_MAX_REPS */
	/*
	 * Between runs (calibrate --runs K, K >= 2; runs 0: not measured): the
	 * standard deviation of the log of the K runs' medians, and the runs
	 * per side a comparison needs for the change at alpha and power: 1 when
	 * one run each can (what `xenith bench compare` does: the repetitions
	 * are then what is needed), k when only k runs per side can (a t test
	 * on the runs' medians), 0 when more than CALIB_MAX_REPS.
	 */
	unsigned runs;
	double run_sd;
	unsigned runs_needed;
};

struct calibration {
	char date[32], revision[64], cpu_model[128], kernel[160], kvm_module[32], hostname[72];
	bool quick;
	double effect, alpha, power;
	unsigned runs;        /* runs measured (calibrate --runs); 1: no between-run figures */
	struct calib_entry *entries;
	size_t nr_entries;
};

/* The exact test's floor: the fewest repetitions per side at which a two-sided p can be <= alpha. */
unsigned calib_min_reps(double alpha);
/*
 * Largest U (of n per side) whose two-sided exact p is <= alpha: reject when
 * min(U, n*n - U) is at most this; -1 when no U is.  n <= CALIB_MAX_REPS.
 */
int calib_critical_u(unsigned n, double alpha);
/* Simulated power of that test for noise sigma (relative) and a relative shift, n per side. */
double calib_power(unsigned n, double sigma, double effect, double alpha);
/* The repetitions per side needed (see above); 0 when more than CALIB_MAX_REPS. */
unsigned calib_needed(double sigma, double effect, double alpha, double power);

/* 1.4826 * MAD / median of v[0..n): a cv that a few outliers do not move. */
double calib_robust_cv(const double *v, size_t n);

/* A calibration of every series of run (fingerprint from run->env); 0 or -ENOMEM. */
int calib_from_run(const struct bench_run *run, struct calibration *c);
/*
 * A calibration from k runs of the same cases (k >= 1): within-run noise
 * is the median of the runs' cvs and robust cvs (needed from it), the median the
 * median of the runs' medians, and with k >= 2 the between-run fields
 * above.  0, -EINVAL (k 0) or -ENOMEM.
 */
int calib_from_runs(const struct bench_run *runs, size_t k, struct calibration *c);
/* The runs per side needed (see struct calib_entry) for run_sd measured over `runs` runs. */
unsigned calib_runs_needed(double run_sd, unsigned runs, double effect, double alpha, double power);
void calib_free(struct calibration *c);
const struct calib_entry *calib_find(const struct calibration *c, const char *suite, const char *name,
				     const char *mode);

int calib_write(const struct calibration *c, const char *path, struct errbuf *eb);
/* -ENOENT when there is none; other errors with the reason in eb. */
int calib_read(struct calibration *c, const char *path, struct errbuf *eb);

/* What differs between the calibration's host and env ("" if nothing): CPU model, kernel, KVM module. */
void calib_host_differs(const struct calibration *c, const struct bench_env *env, char *buf, size_t size);

#endif
