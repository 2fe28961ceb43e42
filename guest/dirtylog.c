// SPDX-License-Identifier: MIT
/*
 * dirtylog I J K ...: the kvm tier's guest for dirty logging (hv/memmap.h).
 * It takes max(I, J, K, ...) + 1 pages, touches every one of them, says
 * where they are, then asks the VMM to start KVM's dirty log of its RAM
 * (xenith_test DIRTY_LOG START), writes one byte into pages I, J, K, ...
 * and asks for the log twice (FETCH: the VMM prints the dirty pages on the
 * console): the first must list those pages, the second none, and
 * neither any other page the guest could write (below).
 *
 * Between START and the last FETCH the guest writes nothing else: the
 * sequence is one function whose frame was built before START, with the
 * hypercalls inline and every value in registers (no calls, no stack
 * spills; the kvm test would see the stack page otherwise), and the pages
 * were touched before.  The builder preset the accessed bit of every
 * page-table entry and the dirty bit of every leaf, so the guest's walks
 * need not set any; but on a host with nested paging the CPU's walk of
 * the page tables counts as a write to them (hv/tests/test_domains.c), so
 * the log may list page-table pages, which the guest itself cannot write
 * (mapped read-only): it says where they are.  Test hooks only
 * (XENITH_TEST_HOOKS=1).
 */
#include "assert.h"
#include "hypercall.h"
#include "minios.h"

#define MAX_PAGES 256u
#define MAX_WRITES 32u

static long dirty_log(unsigned long op)
{
	return hypercall2(__HYPERVISOR_xenith_test, XENITH_TEST_DIRTY_LOG, op);
}

/* Everything from START to the last FETCH; noinline so that its frame exists before START. */
__attribute__((noinline)) static void write_and_fetch(volatile uint8_t *base, const unsigned *idx,
						      unsigned n, long out[3])
{
	long started, first, second;

	started = dirty_log(XENITH_TEST_DIRTY_LOG_START);
	for (unsigned i = 0; i < n; i++)
		base[(uint64_t)idx[i] * XENITH_PAGE_SIZE + 64] = (uint8_t)(i + 1);
	first = dirty_log(XENITH_TEST_DIRTY_LOG_FETCH);
	second = dirty_log(XENITH_TEST_DIRTY_LOG_FETCH);
	out[0] = started;
	out[1] = first;
	out[2] = second;
}

int dirtylog_main(const char *args)
{
	unsigned idx[MAX_WRITES], n = 0, pages = 0;
	volatile uint8_t *base;
	long out[3];

	for (;;) {
		unsigned long v;

		while (*args == ' ')
			args++;
		if (!*args)
			break;
		GUEST_ASSERT(n < MAX_WRITES && parse_ulong(args, &args, &v) && v < MAX_PAGES);
		idx[n++] = (unsigned)v;
		if (v + 1 > pages)
			pages = (unsigned)v + 1;
	}
	GUEST_ASSERT(n > 0);
	base = alloc_pages(pages);
	GUEST_ASSERT(base);
	for (unsigned p = 0; p < pages; p++)
		base[(uint64_t)p * XENITH_PAGE_SIZE] = 0; /* mapped, accessed and dirty before the log */
	printf("dirtylog: %u page(s) at 0x%llx, writing %u; page tables at 0x%llx, %llu page(s)\n",
	       pages, (unsigned long long)(uintptr_t)base, n,
	       (unsigned long long)start_info->pt_base, (unsigned long long)start_info->nr_pt_pages);
	write_and_fetch(base, idx, n, out);
	GUEST_ASSERT_EQ(out[0], 0);
	GUEST_ASSERT_EQ(dirty_log(XENITH_TEST_DIRTY_LOG_STOP), 0);
	printf("dirtylog: fetched %ld page(s), then %ld\n", out[1], out[2]);
	return 0;
}
