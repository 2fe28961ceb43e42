// SPDX-License-Identifier: MIT
/*
 * relocate [MS]: what a save and restore (or a migration) must not
 * disturb, checked from inside: every vCPU is brought up and counts in a
 * loop that polls with a 1 ms timeout; 16 MiB of pages hold a pattern
 * written once; vCPU 0 prints a round every MS ms (default 20) with the
 * counts, and asserts that every vCPU counted within the last second of
 * its own clock.  On the toolstack's shutdown request it checks the
 * pattern and prints "relocate: done" with the rounds and the largest gap
 * in its clock between two rounds (the downtime it saw).
 */
#include "assert.h"
#include "hypercall.h"
#include "minios.h"

#define PATTERN_PAGES 4096u /* 16 MiB */

static _Atomic uint64_t counts[XENITH_MAX_VCPUS];
static atomic_bool stop;

/*
 * What SCHEDOP_poll may answer: a vCPU asleep in it at the save makes it
 * again after the restore; one that came back with anything else (the
 * op's number left in RAX, say) would show here.
 */
static void poll_checked(uint32_t *port, uint64_t ns)
{
	long r = sched_poll(port, port ? 1 : 0, ns);

	if (r != 0 && r != -XEN_ETIMEDOUT)
		guest_assert_fail(__FILE__, __LINE__, "SCHEDOP_poll answers 0 or -ETIMEDOUT", "it answered %ld",
				  r);
}

static void counter(unsigned vcpu)
{
	while (!atomic_load(&stop)) {
		atomic_fetch_add(&counts[vcpu], 1);
		poll_checked(NULL, 1000000);
	}
}

static uint64_t pattern_word(size_t i)
{
	uint64_t x = i * 0x9e3779b97f4a7c15ull;

	return x ^ (x >> 29);
}

static bool control_poweroff(uint32_t port)
{
	if (!evtchn_test_and_clear(port))
		return false;
	return __atomic_exchange_n(&shared_info->control_request, XENITH_CONTROL_NONE, __ATOMIC_ACQUIRE) ==
	       XENITH_CONTROL_POWEROFF;
}

int relocate_main(const char *args)
{
	unsigned n = start_info->nr_vcpus;
	unsigned long ms = 20, rounds = 0;
	uint64_t last[XENITH_MAX_VCPUS], seen_at[XENITH_MAX_VCPUS], prev, largest = 0;
	uint64_t *pat = alloc_pages(PATTERN_PAGES);
	size_t words = PATTERN_PAGES * 4096 / 8;
	int port = evtchn_bind_virq(VIRQ_CONTROL, 0);
	uint32_t p;

	if (*args && (!parse_ulong(args, NULL, &ms) || ms == 0))
		ms = 20;
	GUEST_ASSERT(port > 0);
	GUEST_ASSERT(pat != NULL);
	p = (uint32_t)port;
	for (size_t i = 0; i < words; i++)
		pat[i] = pattern_word(i);
	for (unsigned v = 1; v < n; v++)
		GUEST_ASSERT_EQ(smp_start_vcpu(v, counter), 0);
	prev = monotonic_ns();
	for (unsigned v = 0; v < n; v++) {
		last[v] = 0;
		seen_at[v] = prev;
	}
	printf("relocate: %u vCPU(s), %u pattern pages, a round every %lu ms\n", n, PATTERN_PAGES, ms);
	for (;;) {
		uint64_t now, deadline = monotonic_ns() + ms * 1000000ull;

		while ((now = monotonic_ns()) < deadline) {
			atomic_fetch_add(&counts[0], 1);
			poll_checked(&p, deadline - now < 1000000 ? deadline - now : 1000000);
			if (control_poweroff(p))
				goto done;
		}
		if (now - prev > largest)
			largest = now - prev;
		prev = now;
		rounds++;
		printf("relocate: round %lu", rounds);
		for (unsigned v = 0; v < n; v++) {
			uint64_t c = atomic_load(&counts[v]);

			printf(" %llu", (unsigned long long)c);
			if (c != last[v]) {
				last[v] = c;
				seen_at[v] = now;
			}
			/* A second of its own clock without a count: a vCPU the restore lost. */
			if (now - seen_at[v] > 1000000000ull)
				guest_assert_fail(__FILE__, __LINE__, "every vCPU counts",
						  "vCPU %u: no count for %llu ms", v,
						  (unsigned long long)((now - seen_at[v]) / 1000000));
		}
		printf("\n");
	}
done:
	atomic_store(&stop, true);
	for (size_t i = 0; i < words; i++)
		if (pat[i] != pattern_word(i))
			guest_assert_fail(__FILE__, __LINE__, "the pattern survives", "word %llu (page %llu) is "
					  "0x%llx, not 0x%llx", (unsigned long long)i,
					  (unsigned long long)(i / 512), (unsigned long long)pat[i],
					  (unsigned long long)pattern_word(i));
	printf("relocate: done, %lu rounds, pattern intact, largest gap %llu us\n", rounds,
	       (unsigned long long)(largest / 1000));
	return 0;
}
