// SPDX-License-Identifier: MIT
/*
 * The workloads.  Each repetition does a fixed amount of work and turns
 * TSC ticks into the case's unit with the TSC frequency of its
 * environment.  Results are kept alive through a volatile sink so the
 * compiler cannot drop the work.
 */
#include "workloads.h"

#define KiB (1024ull)
#define MiB (1024ull * 1024)
#define LINE 64u
#define PAGE 4096u

static volatile uint64_t sink;
unsigned wl_slowdown_pct;

static double ticks_to_ns(const struct wl_env *env, uint64_t ticks)
{
	return (double)ticks * 1e6 / (double)env->tsc_khz;
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* compute: table-driven CRC-32 (IEEE) over 256 KiB, 32 times. */
static int run_crc32(const struct wl_case *c, const struct wl_env *env, double *value)
{
	static uint32_t table[256];
	size_t len = 256 * KiB;
	uint8_t *buf = env->alloc(env->opaque, len);
	uint32_t crc = 0xffffffffu;
	uint64_t seed = 42, t0, t1;

	(void)c;
	if (!buf)
		return -1;
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t r = i;

		for (int k = 0; k < 8; k++)
			r = (r >> 1) ^ (0xedb88320u & (0u - (r & 1)));
		table[i] = r;
	}
	for (size_t i = 0; i < len; i += 8) {
		uint64_t x = xorshift(&seed);

		for (int k = 0; k < 8; k++)
			buf[i + k] = (uint8_t)(x >> (8 * k));
	}
	t0 = wl_rdtsc();
	for (int rep = 0; rep < 32; rep++)
		for (size_t i = 0; i < len; i++)
			crc = table[(crc ^ buf[i]) & 0xff] ^ (crc >> 8);
	t1 = wl_stop_clock(t0);
	sink = crc;
	env->release(env->opaque, buf, len);
	*value = ticks_to_ns(env, t1 - t0) / 1000.0;
	return 0;
}

/* compute: dense 128x128 double matrix multiply, 4 times. */
static int run_matmul(const struct wl_case *c, const struct wl_env *env, double *value)
{
	enum { N = 128 };
	size_t bytes = 3 * N * N * sizeof(double);
	double *a = env->alloc(env->opaque, bytes), *b = a + N * N, *r = b + N * N;
	uint64_t seed = 7, t0, t1;
	double acc = 0;

	(void)c;
	if (!a)
		return -1;
	for (int i = 0; i < N * N; i++) {
		a[i] = (double)(xorshift(&seed) % 1000) / 1000.0;
		b[i] = (double)(xorshift(&seed) % 1000) / 1000.0;
	}
	t0 = wl_rdtsc();
	for (int rep = 0; rep < 4; rep++) {
		for (int i = 0; i < N; i++) {
			for (int j = 0; j < N; j++)
				r[i * N + j] = 0;
			for (int k = 0; k < N; k++) {
				double aik = a[i * N + k];

				for (int j = 0; j < N; j++)
					r[i * N + j] += aik * b[k * N + j];
			}
		}
		acc += r[rep];
	}
	t1 = wl_stop_clock(t0);
	sink = (uint64_t)acc;
	env->release(env->opaque, a, bytes);
	*value = ticks_to_ns(env, t1 - t0) / 1000.0;
	return 0;
}

/* memory: STREAM-style triad a = b + s*c over three arrays, 64 MiB in all. */
static int run_triad(const struct wl_case *c, const struct wl_env *env, double *value)
{
	size_t n = c->bytes / 3 / sizeof(double), bytes = 3 * n * sizeof(double);
	double *a = env->alloc(env->opaque, bytes), *b = a + n, *cc = b + n;
	uint64_t t0, t1;

	if (!a)
		return -1;
	for (size_t i = 0; i < n; i++) {
		a[i] = 0;
		b[i] = (double)i;
		cc[i] = 2.0;
	}
	t0 = wl_rdtsc();
	for (int rep = 0; rep < 4; rep++)
		for (size_t i = 0; i < n; i++)
			a[i] = b[i] + 3.0 * cc[i];
	t1 = wl_stop_clock(t0);
	sink = (uint64_t)a[n / 2];
	env->release(env->opaque, a, bytes);
	/* 3 arrays streamed per pass (2 reads, 1 write), 4 passes */
	*value = (double)(4 * 3 * n * sizeof(double)) / ticks_to_ns(env, t1 - t0);
	return 0;
}

/* memory: copy dst = src, 32 MiB each way. */
static int run_copy(const struct wl_case *c, const struct wl_env *env, double *value)
{
	size_t n = c->bytes / 2 / sizeof(uint64_t), bytes = 2 * n * sizeof(uint64_t);
	uint64_t *src = env->alloc(env->opaque, bytes), *dst = src + n;
	uint64_t t0, t1;

	if (!src)
		return -1;
	for (size_t i = 0; i < n; i++) {
		src[i] = i;
		dst[i] = 0;
	}
	t0 = wl_rdtsc();
	for (int rep = 0; rep < 4; rep++)
		for (size_t i = 0; i < n; i++)
			dst[i] = src[i];
	t1 = wl_stop_clock(t0);
	sink = dst[n - 1];
	env->release(env->opaque, src, bytes);
	*value = (double)(4 * 2 * n * sizeof(uint64_t)) / ticks_to_ns(env, t1 - t0);
	return 0;
}

/*
 * memory: dependent loads through a random cyclic permutation of cache
 * lines (Sattolo's shuffle), so every load misses as the working set says.
 */
static int run_latency(const struct wl_case *c, const struct wl_env *env, double *value)
{
	size_t lines = c->bytes / LINE, loads = 4u << 20;
	uint64_t *mem = env->alloc(env->opaque, c->bytes), seed = 99, idx = 0, t0, t1;

	if (!mem)
		return -1;
	for (size_t i = 0; i < lines; i++)
		mem[i * (LINE / 8)] = i;
	for (size_t i = lines - 1; i > 0; i--) {
		size_t j = xorshift(&seed) % i;
		uint64_t tmp = mem[i * (LINE / 8)];

		mem[i * (LINE / 8)] = mem[j * (LINE / 8)];
		mem[j * (LINE / 8)] = tmp;
	}
	for (size_t i = 0; i < lines; i++) /* warm the caches and TLB as far as they go */
		idx = mem[idx * (LINE / 8)];
	t0 = wl_rdtsc();
	for (size_t i = 0; i < loads; i++)
		idx = mem[idx * (LINE / 8)];
	t1 = wl_stop_clock(t0);
	sink = idx;
	env->release(env->opaque, mem, c->bytes);
	*value = ticks_to_ns(env, t1 - t0) / (double)loads;
	return 0;
}

/* memory: first touch of fresh pages (host page faults; shadow paging in a guest). */
static int run_first_touch(const struct wl_case *c, const struct wl_env *env, double *value)
{
	size_t pages = c->bytes / PAGE;
	uint8_t *mem = env->alloc(env->opaque, c->bytes);
	uint64_t t0, t1;

	if (!mem)
		return -1;
	env->discard(env->opaque, mem, c->bytes);
	t0 = wl_rdtsc();
	for (size_t i = 0; i < pages; i++)
		mem[i * PAGE] = (uint8_t)i;
	t1 = wl_stop_clock(t0);
	sink = mem[PAGE];
	env->release(env->opaque, mem, c->bytes);
	*value = ticks_to_ns(env, t1 - t0) / (double)pages;
	return 0;
}

/* memory: independent random 8-byte reads over a large set (TLB pressure). */
static int run_random(const struct wl_case *c, const struct wl_env *env, double *value)
{
	size_t n = c->bytes / sizeof(uint64_t), reads = 4u << 20;
	uint64_t *mem = env->alloc(env->opaque, c->bytes), seed = 5, acc = 0, t0, t1;

	if (!mem)
		return -1;
	for (size_t i = 0; i < n; i += PAGE / 8)
		mem[i] = i; /* fault every page in first */
	t0 = wl_rdtsc();
	for (size_t i = 0; i < reads; i++)
		acc += mem[xorshift(&seed) % n];
	t1 = wl_stop_clock(t0);
	sink = acc;
	env->release(env->opaque, mem, c->bytes);
	*value = ticks_to_ns(env, t1 - t0) / (double)reads;
	return 0;
}

uint64_t wl_busy(uint8_t *buf, uint64_t ms, uint64_t tsc_khz)
{
	uint64_t end = wl_rdtsc() + ms * tsc_khz, rounds = 0;
	uint32_t crc = 0;

	for (unsigned i = 0; i < WL_BUSY_BUF; i++)
		buf[i] = (uint8_t)(i * 31);
	while (wl_rdtsc() < end) {
		for (unsigned i = 0; i < WL_BUSY_BUF; i++) {
			crc ^= buf[i];
			for (int k = 0; k < 8; k++)
				crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
		}
		rounds++;
	}
	sink = crc;
	return rounds;
}

const struct wl_case wl_cases[] = {
	{ "compute", "crc32", "us", false, true, 256 * KiB, run_crc32 },
	{ "compute", "matmul", "us", false, true, 3 * 128 * 128 * 8, run_matmul },
	{ "memory", "copy", "GB/s", true, true, 64 * MiB, run_copy },
	{ "memory", "triad", "GB/s", true, true, 64 * MiB, run_triad },
	{ "memory", "latency-32K", "ns/load", false, true, 32 * KiB, run_latency },
	{ "memory", "latency-256K", "ns/load", false, false, 256 * KiB, run_latency },
	{ "memory", "latency-2M", "ns/load", false, true, 2 * MiB, run_latency },
	{ "memory", "latency-16M", "ns/load", false, false, 16 * MiB, run_latency },
	{ "memory", "latency-64M", "ns/load", false, true, 64 * MiB, run_latency },
	{ "memory", "latency-256M", "ns/load", false, false, 256 * MiB, run_latency },
	{ "memory", "first-touch", "ns/page", false, true, 64 * MiB, run_first_touch },
	{ "memory", "random-64M", "ns/access", false, true, 64 * MiB, run_random },
	{ "memory", "random-256M", "ns/access", false, false, 256 * MiB, run_random },
};
const unsigned wl_nr_cases = sizeof(wl_cases) / sizeof(wl_cases[0]);

uint64_t wl_memory_needed(bool quick)
{
	uint64_t max = 0;

	for (unsigned i = 0; i < wl_nr_cases; i++)
		if ((!quick || wl_cases[i].quick) && wl_cases[i].bytes > max)
			max = wl_cases[i].bytes;
	return max + 32 * MiB;
}
