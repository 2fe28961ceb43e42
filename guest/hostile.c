// SPDX-License-Identifier: MIT
/*
 * hostile WHAT ...: a guest that does what a well-behaved one never does,
 * for the kvm tier's hostile-guest tests.  Each sub-program prints what it
 * tried and what the VMM answered ("-> -22 ok" or "WRONG"); a wrong answer
 * is also a GUEST_ASSERT.  The host side checks the VMM and every other
 * domain are unaffected.
 *
 *   hostile vcpurace N   vCPUs 0 and 2 bring vCPU 1 up, N times each, while
 *                        vCPU 1 takes itself down as soon as it runs
 *                        (needs 3 vCPUs): every VCPUOP_up is 0 or EALREADY,
 *                        and vCPU 1 ran exactly once per successful up
 *   hostile stall MS     one hypercall that keeps the vCPU in the VMM for MS
 *                        ms (the VMM needs XENITH_TEST_HOOKS=1)
 *   hostile pollwait     every vCPU blocks in sched_op poll on a port that is
 *                        never signalled, until the toolstack asks to shut down
 *   hostile protected    hypercall output pointers and grants for writing that
 *                        name pages the guest maps read-only (page tables,
 *                        start_info, code): EFAULT and EPERM, nothing written,
 *                        no port spent; reading them stays allowed
 */
#include "assert.h"
#include "hypercall.h"
#include "minios.h"

static void check(const char *what, long got, long want)
{
	printf("hostile: %s -> %ld %s\n", what, got, got == want ? "ok" : "WRONG");
	GUEST_ASSERT_EQ(got, want);
}

/* ---- vcpurace ---- */

extern void _start(void);

static atomic_ulong race_runs;      /* times vCPU 1's function ran */
static atomic_ulong race_ups;       /* successful VCPUOP_up of vCPU 1, by anyone */
static atomic_ulong race_already;   /* EALREADY answers */
static atomic_uint race_done;       /* racers finished */
static unsigned long race_rounds;

static void race_target(unsigned vcpu)
{
	(void)vcpu;
	atomic_fetch_add(&race_runs, 1);
	/* returns: smp_secondary_entry takes the vCPU down */
}

static void race_loop(void)
{
	for (unsigned long i = 0; i < race_rounds; i++) {
		long r = HYPERVISOR_vcpu_op(VCPUOP_up, 1, (uint64_t)(uintptr_t)_start);

		if (r == 0)
			atomic_fetch_add(&race_ups, 1);
		else if (r == -XEN_EALREADY)
			atomic_fetch_add(&race_already, 1);
		else
			check("VCPUOP_up of vCPU 1 (0 or EALREADY)", r, 0);
	}
	atomic_fetch_add(&race_done, 1);
}

static void race_second(unsigned vcpu)
{
	(void)vcpu;
	race_loop();
}

static int hostile_vcpurace(const char *args)
{
	uint64_t deadline;

	if (!parse_ulong(args, NULL, &race_rounds) || race_rounds == 0)
		race_rounds = 10000;
	GUEST_ASSERT(start_info->nr_vcpus >= 3);
	/* vCPU 1's function, and vCPU 2 racing with us. */
	GUEST_ASSERT_EQ(smp_start_vcpu(1, race_target), 0);
	atomic_fetch_add(&race_ups, 1);
	GUEST_ASSERT_EQ(smp_start_vcpu(2, race_second), 0);
	printf("hostile: vcpurace: vCPUs 0 and 2 bring vCPU 1 up %lu times each\n", race_rounds);
	race_loop();
	deadline = monotonic_ns() + 60000000000ull;
	while (atomic_load(&race_done) < 2 || HYPERVISOR_vcpu_op(VCPUOP_is_up, 1, 0) != 0 ||
	       atomic_load(&race_runs) != atomic_load(&race_ups)) {
		if (monotonic_ns() > deadline) {
			printf("hostile: vcpurace: after 60 s: racers done %u, vCPU 1 up %ld, ran %lu "
			       "times for %lu ups WRONG\n", atomic_load(&race_done),
			       HYPERVISOR_vcpu_op(VCPUOP_is_up, 1, 0), atomic_load(&race_runs),
			       atomic_load(&race_ups));
			GUEST_ASSERT(!"vCPU 1 ran once per successful VCPUOP_up");
		}
		sched_yield();
	}
	printf("hostile: vcpurace: %lu ups, %lu EALREADY, vCPU 1 ran %lu times: one run per up ok\n",
	       atomic_load(&race_ups), atomic_load(&race_already), atomic_load(&race_runs));
	return 0;
}

/* ---- stall ---- */

static int hostile_stall(const char *args)
{
	unsigned long ms = 600000;
	long r;

	if (*args && !parse_ulong(args, NULL, &ms))
		ms = 600000;
	printf("hostile: stall: staying in the VMM for %lu ms\n", ms);
	r = hypercall2(__HYPERVISOR_xenith_test, XENITH_TEST_STALL, ms);
	printf("hostile: stall: back after %lu ms -> %ld\n", ms, r);
	return r == 0 ? 0 : 1;
}

/* ---- pollwait ---- */

static int32_t pollwait_port;
static atomic_uint pollwait_blocked;

/* Blocks in sched_op poll on a port nobody signals, until the domain ends. */
static void pollwait_block(unsigned vcpu)
{
	uint32_t p = (uint32_t)pollwait_port;

	(void)vcpu;
	atomic_fetch_add(&pollwait_blocked, 1);
	for (;;) {
		long r = sched_poll(&p, 1, 0);

		/* 0 only if the port became pending, which nobody does: say so. */
		if (r == 0)
			check("sched_op poll on a silent port returned", r, -XEN_EINTR);
	}
}

static int hostile_pollwait(const char *args)
{
	int control = evtchn_bind_virq(VIRQ_CONTROL, 0);
	int silent = evtchn_alloc_unbound(XENITH_BACKEND_DOMID);
	uint32_t ports[2];

	(void)args;
	GUEST_ASSERT(control > 0 && silent > 0);
	pollwait_port = silent;
	for (unsigned v = 1; v < start_info->nr_vcpus; v++)
		GUEST_ASSERT_EQ(smp_start_vcpu(v, pollwait_block), 0);
	while (atomic_load(&pollwait_blocked) + 1 < start_info->nr_vcpus)
		sched_yield();
	printf("hostile: pollwait: %u vCPUs blocked in sched_op poll\n", start_info->nr_vcpus);
	ports[0] = (uint32_t)silent;
	ports[1] = (uint32_t)control;
	for (;;) {
		uint32_t req;

		sched_poll(ports, 2, 0);
		if (!evtchn_test_and_clear((uint32_t)control))
			continue;
		req = __atomic_exchange_n(&shared_info->control_request, XENITH_CONTROL_NONE,
					  __ATOMIC_ACQUIRE);
		if (req == XENITH_CONTROL_POWEROFF) {
			printf("hostile: pollwait: shutdown requested\n");
			return 0;
		}
	}
}

/* ---- protected ---- */

static uint32_t checksum(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

static long grant_access(bool write, uint32_t ref)
{
	return hypercall5(__HYPERVISOR_xenith_test, write ? XENITH_TEST_GRANT_WRITE : XENITH_TEST_GRANT_READ,
			  ref, 0, 64, 0);
}

static int hostile_protected(const char *args)
{
	const uint64_t pt = start_info->pt_base, si = (uint64_t)(uintptr_t)start_info;
	const uint64_t text = (uint64_t)(uintptr_t)hostile_protected & ~(uint64_t)(XENITH_PAGE_SIZE - 1);
	const size_t pt_bytes = start_info->nr_pt_pages * XENITH_PAGE_SIZE;
	uint32_t pt_sum = checksum((const void *)(uintptr_t)pt, pt_bytes);
	uint32_t si_sum = checksum(start_info, XENITH_PAGE_SIZE);
	uint32_t text_sum = checksum((const void *)(uintptr_t)text, XENITH_PAGE_SIZE);
	const uint64_t ro[3] = { pt, si, text };
	const char *names[3] = { "page tables", "start_info", "code" };
	uint8_t *data = alloc_pages(1);
	int free_port, port;

	(void)args;
	GUEST_ASSERT(data != NULL);
	/* The lowest free port, to see that a refused call spends none. */
	free_port = evtchn_alloc_unbound(XENITH_BACKEND_DOMID);
	GUEST_ASSERT(free_port > 0);
	GUEST_ASSERT_EQ(evtchn_close((uint32_t)free_port), 0);
	for (unsigned i = 0; i < 3; i++) {
		char what[96];

		snprintf(what, sizeof(what), "alloc_unbound, port written into the %s (EFAULT)", names[i]);
		check(what, HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, (void *)(uintptr_t)ro[i]),
		      -XEN_EFAULT);
		snprintf(what, sizeof(what), "bind_virq, port written into the %s (EFAULT)", names[i]);
		check(what, HYPERVISOR_event_channel_op(EVTCHNOP_bind_virq, (void *)(uintptr_t)(ro[i] + 64)),
		      -XEN_EFAULT);
	}
	port = evtchn_alloc_unbound(XENITH_BACKEND_DOMID);
	check("no port was spent by the refused calls", port, free_port);
	GUEST_ASSERT_EQ(evtchn_close((uint32_t)port), 0);

	GUEST_ASSERT_EQ(gnttab_init(1), 0);
	for (unsigned i = 0; i < 3; i++) {
		int ref = gnttab_grant(XENITH_BACKEND_DOMID, ro[i] / XENITH_PAGE_SIZE, false);
		char what[96];

		GUEST_ASSERT(ref > 0);
		snprintf(what, sizeof(what), "backend writes through a grant of the %s (EPERM)", names[i]);
		check(what, grant_access(true, (uint32_t)ref), -XEN_EPERM);
		snprintf(what, sizeof(what), "backend reads through a grant of the %s", names[i]);
		check(what, grant_access(false, (uint32_t)ref) >= 0, 1);
		check("the refused grant is not left in use", gnttab_end_access((uint32_t)ref), 1);
		gnttab_free((uint32_t)ref);
	}
	{
		int ref = gnttab_grant(XENITH_BACKEND_DOMID, (uint64_t)(uintptr_t)data / XENITH_PAGE_SIZE, false);

		GUEST_ASSERT(ref > 0);
		check("backend writes through a grant of a data page", grant_access(true, (uint32_t)ref), 0);
		GUEST_ASSERT(gnttab_end_access((uint32_t)ref));
		gnttab_free((uint32_t)ref);
	}
	check("page tables unchanged", checksum((const void *)(uintptr_t)pt, pt_bytes) == pt_sum, 1);
	check("start_info unchanged", checksum(start_info, XENITH_PAGE_SIZE) == si_sum, 1);
	check("code unchanged", checksum((const void *)(uintptr_t)text, XENITH_PAGE_SIZE) == text_sum, 1);
	printf("hostile: protected: all checks passed\n");
	return 0;
}

static const struct {
	const char *name;
	int (*run)(const char *args);
} subs[] = {
	{ "vcpurace", hostile_vcpurace },
	{ "stall", hostile_stall },
	{ "pollwait", hostile_pollwait },
	{ "protected", hostile_protected },
};

int hostile_main(const char *args)
{
	size_t len = 0;

	while (args[len] && args[len] != ' ')
		len++;
	for (size_t i = 0; i < ARRAY_SIZE(subs); i++) {
		if (strlen(subs[i].name) == len && !strncmp(args, subs[i].name, len)) {
			const char *rest = args + len;

			while (*rest == ' ')
				rest++;
			return subs[i].run(rest);
		}
	}
	printf("hostile: unknown sub-program '%.*s'; known:", (int)len, args);
	for (size_t i = 0; i < ARRAY_SIZE(subs); i++)
		printf(" %s", subs[i].name);
	printf("\n");
	return 2;
}
