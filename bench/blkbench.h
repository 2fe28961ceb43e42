/* SPDX-License-Identifier: MIT */
/* The `blk` benchmark suite (blkbench.c): guests through the block split driver against fio. */
#ifndef XENITH_BENCH_BLKBENCH_H
#define XENITH_BENCH_BLKBENCH_H

#include <stdbool.h>
#include <stddef.h>

#include "result.h"

struct blk_bench_opts {
	bool quick;
	unsigned repeat, warmup;
	bool (*only)(void *opaque, const char *job); /* NULL: every job */
	void *opaque;
	bool no_seccomp; /* the guests' VMMs run with --no-seccomp */
};

/* 0 (also when fio is missing: the run's note says so), -1 on failure (said on stderr). */
int run_blk(struct bench_run *run, const struct blk_bench_opts *o, void (*progress)(const char *fmt, ...));
void bench_print_blk(const struct bench_run *run);
bool blk_job_exists(const char *name);
void blk_list(void);

/* Shared with the pci suite (pcibench.c). */
/* Runs argv (PATH searched), returns its exit status and its stdout (malloc'd) in *out. */
int bench_run_capture(const char *const *argv, char **out);
/* fio's and blk's JSON share the field names: jobs[0].<dir>.iops and clat_ns.percentile."99.000000". */
int blk_parse_job_json(const char *text, const char *dir, double *iops, double *p99_us, char *why, size_t whylen);
/*
 * The other suites pin this process to one CPU, and children inherit that:
 * a guest's vCPU and its backend threads (and fio's workers) must be free
 * to run on every CPU, as a VMM and fio would be.
 */
void bench_unpin(void);
/* name is an executable on $PATH */
bool bench_have_program(const char *name);
/* One pair's four samples: "JOB@MODE" IOPS and "JOB-p99@MODE" us, native and guest, of suite. */
int bench_job_pair_add(struct bench_run *run, const char *suite, const char *job, const char *mode, double ni,
		       double gi, double np, double gp);
/* suite's table of those series: per job and mode, native and guest medians and guest/native. */
void bench_print_job_table(const struct bench_run *run, const char *suite, const char *native_note);

#endif
