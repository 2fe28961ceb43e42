// SPDX-License-Identifier: MIT
/*
 * `bench REPS WARMUP QUICK [sCASE:PCT...] CASE,CASE,...`: runs benchmark cases and reports
 * each repetition to the VMM with the bench_report hypercall.  Workloads
 * come from bench/workloads.c, the same source the native runner uses;
 * exit costs are measured here, with the VMM's bench hooks on the other end.
 * sCASE:PCT is the validation knob (bench/slowdown.h): case CASE spins
 * PCT% of each repetition's measured time more.
 */
#include "../bench/exitcost.h"
#include "../bench/workloads.h"
#include "assert.h"
#include "hypercall.h"
#include "minios.h"

#define PAGE 4096ul

static void *env_alloc(void *opaque, size_t bytes)
{
	(void)opaque;
	return alloc_pages((bytes + PAGE - 1) / PAGE);
}

static void env_release(void *opaque, void *p, size_t bytes)
{
	(void)opaque;
	free_pages(p, (bytes + PAGE - 1) / PAGE);
}

static void env_discard(void *opaque, void *p, size_t bytes)
{
	(void)opaque;
	GUEST_ASSERT_EQ(hypercall2(__HYPERVISOR_xenith_discard, (uint64_t)(uintptr_t)p,
				   (bytes + PAGE - 1) / PAGE * PAGE), 0);
}

static void report(unsigned case_id, unsigned rep, double value)
{
	uint64_t bits;

	memcpy(&bits, &value, sizeof(bits));
	GUEST_ASSERT_EQ(hypercall3(__HYPERVISOR_xenith_bench_report, case_id, rep, bits), 0);
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static double ns_per(uint64_t ticks, unsigned n)
{
	return (double)ticks * 1e6 / (double)shared_info->tsc_khz / n;
}

static uint32_t echo_port;
static uint64_t shmem_words[2] __attribute__((aligned(64)));

static double run_exit_case(unsigned c, unsigned n)
{
	volatile uint32_t *mmio = (volatile uint32_t *)(uintptr_t)XENITH_MMIO_TEST_GPA;
	uint64_t t0 = 0, t1 = 0;

	switch (c) {
	case EXIT_HYPERCALL:
		t0 = wl_rdtsc();
		for (unsigned i = 0; i < n; i++)
			hypercall2(__HYPERVISOR_xenith_test, XENITH_TEST_ECHO, i);
		t1 = wl_stop_clock(t0);
		break;
	case EXIT_IOEVENTFD:
		t0 = wl_rdtsc();
		for (unsigned i = 0; i < n; i++)
			outl(XENITH_BENCH_DOORBELL_PORT, i);
		t1 = wl_stop_clock(t0);
		break;
	case EXIT_MMIO:
		t0 = wl_rdtsc();
		for (unsigned i = 0; i < n; i++)
			*mmio = i;
		t1 = wl_stop_clock(t0);
		break;
	case EXIT_EVTCHN_RTT:
		t0 = wl_rdtsc();
		for (unsigned i = 0; i < n; i++) {
			outl(XENITH_BENCH_ECHO_PORT, 1);
			while (!evtchn_test_and_clear(echo_port))
				__builtin_ia32_pause();
		}
		t1 = wl_stop_clock(t0);
		break;
	case EXIT_SHMEM_RTT:
		__atomic_store_n(&shmem_words[0], 0, __ATOMIC_RELAXED);
		__atomic_store_n(&shmem_words[1], 0, __ATOMIC_RELAXED);
		GUEST_ASSERT_EQ(hypercall3(__HYPERVISOR_xenith_test, XENITH_TEST_SHMEM_ECHO,
					   (uint64_t)(uintptr_t)shmem_words, n), 0);
		t0 = wl_rdtsc();
		for (uint64_t i = 1; i <= n; i++) {
			/* Release/acquire pair with the VMM responder (bench_hooks.c). */
			__atomic_store_n(&shmem_words[0], i, __ATOMIC_RELEASE);
			while (__atomic_load_n(&shmem_words[1], __ATOMIC_ACQUIRE) != i)
				__builtin_ia32_pause();
		}
		t1 = wl_stop_clock(t0);
		break;
	}
	return ns_per(t1 - t0, n);
}

static bool next_number(const char **p, unsigned long *out)
{
	while (**p == ' ' || **p == ',')
		(*p)++;
	return parse_ulong(*p, p, out);
}

/* `busy MS`: the density suite's CPU load; reports rounds done as case BENCH_BUSY_CASE. */
int busy_main(const char *args)
{
	uint8_t *buf = alloc_pages(WL_BUSY_BUF / PAGE); /* not .bss: idle guests do not carry it */
	unsigned long ms = 1000;

	GUEST_ASSERT(buf != NULL);
	parse_ulong(args, NULL, &ms);
	report(BENCH_BUSY_CASE, 0, (double)wl_busy(buf, ms, shared_info->tsc_khz));
	return 0;
}

#define MAX_SLOW 8

/* The knob's items `sID:PCT` before the case list; false on a malformed one. */
static bool parse_slowdowns(const char **p, unsigned long ids[], unsigned long pcts[], unsigned *n)
{
	for (;;) {
		while (**p == ' ')
			(*p)++;
		if (**p != 's')
			return true;
		(*p)++;
		if (*n == MAX_SLOW || !parse_ulong(*p, p, &ids[*n]) || **p != ':')
			return false;
		(*p)++;
		if (!parse_ulong(*p, p, &pcts[*n]) || pcts[*n] > 1000)
			return false;
		(*n)++;
	}
}

int bench_main(const char *args)
{
	unsigned long slow_ids[MAX_SLOW], slow_pcts[MAX_SLOW];
	unsigned nr_slow = 0;
	struct wl_env env = {
		.tsc_khz = shared_info->tsc_khz,
		.alloc = env_alloc,
		.release = env_release,
		.discard = env_discard,
	};
	unsigned long reps, warmup, quick, id;
	int port = evtchn_bind_virq(VIRQ_BENCH_ECHO, 0);

	GUEST_ASSERT(port > 0);
	echo_port = (uint32_t)port;
	if (!next_number(&args, &reps) || !next_number(&args, &warmup) || !next_number(&args, &quick)) {
		printf("bench: usage: bench REPS WARMUP QUICK [sCASE:PCT...] CASE,CASE,...\n");
		return 2;
	}
	if (!parse_slowdowns(&args, slow_ids, slow_pcts, &nr_slow)) {
		printf("bench: bad slowdown item (sCASE:PCT, PCT <= 1000, at most %d)\n", MAX_SLOW);
		return 2;
	}
	while (next_number(&args, &id)) {
		wl_slowdown_pct = 0;
		for (unsigned i = 0; i < nr_slow; i++)
			if (slow_ids[i] == id)
				wl_slowdown_pct = (unsigned)slow_pcts[i];
		for (unsigned long r = 0; r < warmup + reps; r++) {
			double value = 0;

			if (id < wl_nr_cases) {
				if (wl_cases[id].run(&wl_cases[id], &env, &value) < 0) {
					printf("bench: %s: out of guest memory\n", wl_cases[id].name);
					return 3;
				}
			} else if (id >= BENCH_EXIT_CASE_BASE && id < BENCH_EXIT_CASE_BASE + NR_EXIT_CASES) {
				unsigned c = (unsigned)(id - BENCH_EXIT_CASE_BASE);
				unsigned n = exit_cases[c].iterations / (quick ? 4 : 1);

				value = run_exit_case(c, n);
			} else {
				printf("bench: unknown case %lu\n", id);
				return 2;
			}
			if (r >= warmup)
				report((unsigned)id, (unsigned)(r - warmup), value);
		}
	}
	return 0;
}
