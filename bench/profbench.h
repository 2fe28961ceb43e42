/* SPDX-License-Identifier: MIT */
/*
 * The `prof` benchmark suite (profbench.c): what recording a profile costs
 * a guest.  A compute workload runs in one minios guest in three modes,
 * block by block in turn: unprofiled (mode guest), recorded at 100 Hz
 * (guest-prof100) and at 1 kHz (guest-prof1000), each recording made as
 * `xenith prof record` makes it.  Each triplet of blocks is a sample of
 * the ratio series ratio-prof100 and ratio-prof1000 (bench_ratio_add:
 * profiled speed / unprofiled, 1.0 = no cost).
 */
#ifndef XENITH_BENCH_PROFBENCH_H
#define XENITH_BENCH_PROFBENCH_H

#include <stdbool.h>

#include "result.h"

struct kvm_sys;

struct prof_bench_opts {
	bool quick;
	unsigned repeat, warmup;  /* triplets recorded, after warmup unrecorded ones */
	bool (*only)(void *opaque, const char *name, bool quick_case); /* NULL: every case */
	void *opaque;
	struct kvm_sys *kvm;
	const char *minios;       /* the bundled guest image */
	int measure_cpu;          /* the vCPU's CPU (-1: not pinned) */
	int helper_cpu;           /* the recording's drain thread's (-1: not pinned) */
};

/* 0, or -1 on failure (said on stderr).  Kernel sampling refused is not a failure: the note says so. */
int run_prof(struct bench_run *run, const struct prof_bench_opts *o, void (*progress)(const char *fmt, ...));
void bench_print_prof(const struct bench_run *run);
bool prof_case_exists(const char *name);
void prof_list(void);

#endif
