// SPDX-License-Identifier: MIT
/*
 * prof: workloads with a known profile, for the profiler's tests
 * (hv/tests/test_prof.c).  Each function is noinline and, like all of
 * minios, built with frame pointers, so its name and its callers are what
 * the profile must show.
 *
 *   prof split ms=N     for N ms, cycles of 10 ms: prof_burn60 spins 6 ms,
 *                       prof_burn30 3 ms, prof_burn10 1 ms
 *   prof nested ms=N    prof_outer -> prof_middle -> prof_inner, which spins
 *   prof hcall ms=N     xen_version hypercalls in a loop for N ms
 *   prof hcall count=K  exactly K xen_version hypercalls, then blocks until
 *                       the toolstack asks for a shutdown
 * Each prints what it did ("prof: hcall 12345 hypercalls") and powers off.
 */
#include "hypercall.h"
#include "minios.h"

#define NOINLINE __attribute__((noinline))

/* Spins until the monotonic clock passes until (rdtsc: no exit). */
static NOINLINE void spin_until(uint64_t until)
{
	while (monotonic_ns() < until)
		__asm__ volatile("pause");
}

static NOINLINE void prof_burn60(void)
{
	spin_until(monotonic_ns() + 6000000);
	__asm__ volatile("" ::: "memory"); /* not a tail call: keep this frame */
}

static NOINLINE void prof_burn30(void)
{
	spin_until(monotonic_ns() + 3000000);
	__asm__ volatile("" ::: "memory"); /* not a tail call: keep this frame */
}

static NOINLINE void prof_burn10(void)
{
	spin_until(monotonic_ns() + 1000000);
	__asm__ volatile("" ::: "memory"); /* not a tail call: keep this frame */
}

static NOINLINE void prof_inner(uint64_t until)
{
	spin_until(until);
	__asm__ volatile("" ::: "memory");
}

static NOINLINE void prof_middle(uint64_t until)
{
	prof_inner(until);
	__asm__ volatile("" ::: "memory"); /* not a tail call: keep this frame */
}

static NOINLINE void prof_outer(uint64_t until)
{
	prof_middle(until);
	__asm__ volatile("" ::: "memory");
}

static NOINLINE unsigned long prof_hypercalls(uint64_t until, unsigned long count)
{
	unsigned long n = 0;

	while (count ? n < count : monotonic_ns() < until) {
		hypercall2(__HYPERVISOR_xen_version, 0, 0);
		n++;
	}
	return n;
}

/* The value of key=N in args, or def. */
static unsigned long arg(const char *args, const char *key, unsigned long def)
{
	size_t kl = strlen(key);

	for (const char *p = args; p && *p; p++) {
		unsigned long v;

		if ((p == args || p[-1] == ' ') && !strncmp(p, key, kl) && p[kl] == '=' &&
		    parse_ulong(p + kl + 1, NULL, &v))
			return v;
	}
	return def;
}

int prof_test_main(const char *args)
{
	unsigned long ms = arg(args, "ms", 1000), count = arg(args, "count", 0);
	uint64_t until = monotonic_ns() + ms * 1000000ull;

	if (!strncmp(args, "split", 5)) {
		unsigned long cycles = 0;

		printf("prof: split for %lu ms\n", ms);
		while (monotonic_ns() < until) {
			prof_burn60();
			prof_burn30();
			prof_burn10();
			cycles++;
		}
		printf("prof: split %lu cycles\n", cycles);
	} else if (!strncmp(args, "nested", 6)) {
		printf("prof: nested for %lu ms\n", ms);
		prof_outer(until);
		printf("prof: nested done\n");
	} else if (!strncmp(args, "hcall", 5)) {
		int port = count ? evtchn_bind_virq(VIRQ_CONTROL, 0) : 0;
		unsigned long n;

		if (!count)
			printf("prof: hcall for %lu ms\n", ms);
		n = prof_hypercalls(until, count);
		printf("prof: hcall %lu hypercalls\n", n);
		/* count=K: stay up, blocked, until the toolstack asks (its counters are read meanwhile). */
		while (port > 0) {
			evtchn_clear_upcall(0);
			if (evtchn_test_and_clear((uint32_t)port))
				break;
			sched_block();
		}
	} else {
		printf("prof: split|nested|hcall [ms=N] [count=K]\n");
		return 2;
	}
	return 0;
}
