// SPDX-License-Identifier: MIT
/* Clock: the TSC, scaled by the frequency the VMM put in shared_info. */
#include "minios.h"

static uint64_t boot_tsc, tsc_khz;

uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

void time_init(void)
{
	boot_tsc = rdtsc();
	tsc_khz = shared_info->tsc_khz ? shared_info->tsc_khz : 1000000;
}

uint64_t monotonic_ns(void)
{
	unsigned __int128 d = rdtsc() - boot_tsc;

	return (uint64_t)(d * 1000000u / tsc_khz);
}

void sleep_ns(uint64_t ns)
{
	sched_poll(NULL, 0, ns ? ns : 1);
}
