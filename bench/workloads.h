/* SPDX-License-Identifier: MIT */
/*
 * Benchmark workloads, one source built twice: into minios (guest/) and
 * into the native runner (tools/).  Only freestanding C here: memory comes
 * from the environment's alloc(), time from rdtsc, so guest and native
 * runs take the same code paths.
 */
#ifndef XENITH_BENCH_WORKLOADS_H
#define XENITH_BENCH_WORKLOADS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wl_env {
	uint64_t tsc_khz;
	/* Page-aligned memory; contents undefined.  NULL when out of memory. */
	void *(*alloc)(void *opaque, size_t bytes);
	void (*release)(void *opaque, void *p, size_t bytes);
	/* Gives [p, p + bytes) back so that the next touch faults as a first use. */
	void (*discard)(void *opaque, void *p, size_t bytes);
	void *opaque;
};

struct wl_case {
	const char *suite;      /* "compute", "memory" */
	const char *name;       /* unique within the table, e.g. "latency-2M" */
	const char *unit;       /* "us", "GB/s", "ns/load", "ns/page", "ns/access" */
	bool higher_is_better;
	bool quick;             /* part of `xenith bench --quick` */
	uint64_t bytes;         /* working set */
	/* One repetition: 0 and *value, or -1 (out of memory). */
	int (*run)(const struct wl_case *c, const struct wl_env *env, double *value);
};

extern const struct wl_case wl_cases[];
extern const unsigned wl_nr_cases;

/*
 * A CPU-bound loop for the density suite: CRC-32 rounds over a 16 KiB
 * buffer (in cache) until `ms` milliseconds of TSC time passed; returns
 * the rounds done.  buf must hold 16 KiB.
 */
uint64_t wl_busy(uint8_t *buf, uint64_t ms, uint64_t tsc_khz);
#define WL_BUSY_BUF 16384u

/* Guest memory a run of the cases needs (the largest working set, with slack). */
uint64_t wl_memory_needed(bool quick);

static inline uint64_t wl_rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return ((uint64_t)hi << 32) | lo;
}

/*
 * The validation knob (bench/slowdown.h): when set, each measured interval
 * gets this many percent of its own length more, spun on the TSC before
 * the clock stops.  0 (always, but in ci/validate_verdicts.sh's runs).
 */
extern unsigned wl_slowdown_pct;

/* Where a measured interval that began at t0 ends: now, or later by wl_slowdown_pct. */
static inline uint64_t wl_stop_clock(uint64_t t0)
{
	uint64_t t1 = wl_rdtsc();

	if (__builtin_expect(wl_slowdown_pct != 0, 0)) {
		uint64_t until = t1 + (t1 - t0) * wl_slowdown_pct / 100;

		while ((t1 = wl_rdtsc()) < until)
			__asm__ volatile("pause");
	}
	return t1;
}

#endif
