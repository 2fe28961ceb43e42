// SPDX-License-Identifier: MIT
#include "native.h"

#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static uint64_t native_tsc_khz;
static int partner_cpu = -1;

static void *env_alloc(void *opaque, size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)opaque;
	return p == MAP_FAILED ? NULL : p;
}

static void env_release(void *opaque, void *p, size_t bytes)
{
	(void)opaque;
	munmap(p, bytes);
}

static void env_discard(void *opaque, void *p, size_t bytes)
{
	(void)opaque;
	madvise(p, bytes, MADV_DONTNEED);
}

void native_env_init(struct wl_env *env, uint64_t tsc_khz)
{
	native_tsc_khz = tsc_khz;
	*env = (struct wl_env){
		.tsc_khz = tsc_khz,
		.alloc = env_alloc,
		.release = env_release,
		.discard = env_discard,
	};
}

void native_prepare(void)
{
	if (__builtin_cpu_supports("avx"))
		__asm__ volatile("vzeroupper" ::: "memory");
}

void native_set_cpus(int measure_cpu, int partner)
{
	cpu_set_t set;

	partner_cpu = partner;
	if (measure_cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(measure_cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static double ns_per(uint64_t ticks, unsigned n)
{
	return (double)ticks * 1e6 / (double)native_tsc_khz / n;
}

__attribute__((noinline)) static uint64_t empty_call(uint64_t x)
{
	__asm__ volatile("" : "+r"(x));
	return x;
}

static double run_call(unsigned n)
{
	uint64_t t0 = wl_rdtsc(), acc = 0;

	for (unsigned i = 0; i < n; i++)
		acc += empty_call(i);
	__asm__ volatile("" : : "r"(acc));
	return ns_per(wl_stop_clock(t0) - t0, n);
}

static double run_getppid(unsigned n)
{
	uint64_t t0 = wl_rdtsc();

	for (unsigned i = 0; i < n; i++)
		syscall(SYS_getppid);
	return ns_per(wl_stop_clock(t0) - t0, n);
}

static double run_eventfd_write(unsigned n)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint64_t one = 1, t0;

	if (fd < 0)
		return -1;
	t0 = wl_rdtsc();
	for (unsigned i = 0; i < n; i++)
		(void)!write(fd, &one, sizeof(one));
	t0 = wl_stop_clock(t0) - t0;
	close(fd);
	return ns_per(t0, n);
}

/* Two threads taking turns through futexes: the analogue of the event-channel round trip. */
struct pingpong {
	atomic_uint word;
	unsigned n;
	bool futex;
};

static void pin_partner(void)
{
	cpu_set_t set;

	if (partner_cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(partner_cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void futex_wait(atomic_uint *w, unsigned val)
{
	syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(atomic_uint *w)
{
	syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* The partner answers odd values with the next even one. */
static void *partner(void *arg)
{
	struct pingpong *pp = arg;

	pin_partner();
	for (unsigned i = 0; i < pp->n; i++) {
		unsigned want = 2 * i + 1, v;

		while ((v = atomic_load_explicit(&pp->word, memory_order_acquire)) != want) {
			if (pp->futex)
				futex_wait(&pp->word, v);
			else
				__builtin_ia32_pause();
		}
		atomic_store_explicit(&pp->word, want + 1, memory_order_release);
		if (pp->futex)
			futex_wake(&pp->word);
	}
	return NULL;
}

static double run_pingpong(unsigned n, bool use_futex)
{
	struct pingpong pp = { .n = n, .futex = use_futex };
	pthread_t t;
	uint64_t t0;

	if (pthread_create(&t, NULL, partner, &pp))
		return -1;
	t0 = wl_rdtsc();
	for (unsigned i = 0; i < n; i++) {
		unsigned want = 2 * i + 2, v;

		/* Release/acquire pair with the partner's. */
		atomic_store_explicit(&pp.word, want - 1, memory_order_release);
		if (use_futex)
			futex_wake(&pp.word);
		while ((v = atomic_load_explicit(&pp.word, memory_order_acquire)) != want) {
			if (use_futex)
				futex_wait(&pp.word, v);
			else
				__builtin_ia32_pause();
		}
	}
	t0 = wl_stop_clock(t0) - t0;
	pthread_join(t, NULL);
	return ns_per(t0, n);
}

static double run_futex_rtt(unsigned n)
{
	return run_pingpong(n, true);
}

static double run_shmem_rtt(unsigned n)
{
	return run_pingpong(n, false);
}

const struct native_case native_cases[] = {
	{ "call", 10000000, run_call },
	{ "getppid", 200000, run_getppid },
	{ "eventfd-write", 200000, run_eventfd_write },
	{ "futex-rtt", 20000, run_futex_rtt },
	{ "shmem-rtt-native", 200000, run_shmem_rtt },
};
const unsigned native_nr_cases = sizeof(native_cases) / sizeof(native_cases[0]);

const struct native_case *native_case_find(const char *name)
{
	for (unsigned i = 0; i < native_nr_cases; i++)
		if (!strcmp(native_cases[i].name, name))
			return &native_cases[i];
	return NULL;
}
