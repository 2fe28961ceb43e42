/* SPDX-License-Identifier: MIT */
/* The native side of `xenith bench`: the workloads' host environment and the exit-cost analogues. */
#ifndef XENITH_BENCH_NATIVE_H
#define XENITH_BENCH_NATIVE_H

#include "workloads.h"

/* Host environment for wl_cases: mmap'd memory, MADV_DONTNEED to make it fresh. */
void native_env_init(struct wl_env *env, uint64_t tsc_khz);

struct native_case {
	const char *name;
	unsigned iterations;
	/* ns per operation (per round trip for the *-rtt cases); < 0 on error */
	double (*run)(unsigned iterations);
};

extern const struct native_case native_cases[];
extern const unsigned native_nr_cases;
const struct native_case *native_case_find(const char *name);

/*
 * Call before each native repetition: clears the upper halves of the AVX
 * registers (libc's AVX string functions leave them dirty), so the SSE
 * code of the workloads runs as it does in a guest that never used AVX.
 * Measured: matrix multiply 4.7 ms dirty, 2.6 ms clean on the EPYC hosts.
 */
void native_prepare(void);

/* CPUs to pin the measuring thread and its partner thread to (-1: no pinning). */
void native_set_cpus(int measure_cpu, int partner_cpu);

#endif
