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
 *   hostile ports        event-channel ports until ENOSPC, all closed and
 *                        allocated again; ports out of range for every op
 *   hostile console      console ring indices far apart (either way): EINVAL,
 *                        and the console works again once they are sane
 *   hostile pointers     every pointer argument at the last bytes of guest
 *                        memory, straddling its end, at 2^63 and near 2^64
 *   hostile assert-nonul a GUEST_ASSERT whose strings run to the end of guest
 *                        memory without a NUL (the domain crashes, reported)
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

/* ---- ports ---- */

static int hostile_ports(const char *args)
{
	static int32_t ports[XENITH_NR_EVTCHN];
	static const uint32_t bad[] = { 0, XENITH_NR_EVTCHN, XENITH_NR_EVTCHN + 1, 1u << 31, UINT32_MAX };
	unsigned n = 0, rounds;
	struct evtchn_status st;
	int p;

	(void)args;
	for (rounds = 0; rounds < 2; rounds++) {
		unsigned got = 0;

		while ((p = evtchn_alloc_unbound(XENITH_BACKEND_DOMID)) > 0)
			ports[got++] = p;
		check("alloc_unbound once every port is taken (ENOSPC)", p, -XEN_ENOSPC);
		/* Port 0 is reserved, port 1 is the console's and port 2 the store's: the rest is ours. */
		check("ports handed out", got, XENITH_NR_EVTCHN - 3);
		if (rounds == 0)
			n = got;
		check("binding a VIRQ needs a port too (ENOSPC)", evtchn_bind_virq(VIRQ_CONTROL, 0), -XEN_ENOSPC);
		for (unsigned i = 0; i < got; i++)
			GUEST_ASSERT_EQ(evtchn_close((uint32_t)ports[i]), 0);
	}
	check("the same number the second time", n, XENITH_NR_EVTCHN - 3);
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		uint32_t port = bad[i];
		char what[96];

		snprintf(what, sizeof(what), "send on port %u (EINVAL)", port);
		check(what, evtchn_send(port), -XEN_EINVAL);
		snprintf(what, sizeof(what), "close port %u (EINVAL)", port);
		check(what, evtchn_close(port), -XEN_EINVAL);
		snprintf(what, sizeof(what), "bind_vcpu port %u (EINVAL)", port);
		check(what, evtchn_bind_vcpu(port, 0), -XEN_EINVAL);
		snprintf(what, sizeof(what), "status of port %u (EINVAL)", port);
		check(what, evtchn_status(port, &st), -XEN_EINVAL);
		if (port != 0) {
			snprintf(what, sizeof(what), "unmask port %u (EINVAL)", port);
			check(what, HYPERVISOR_event_channel_op(EVTCHNOP_unmask, &(struct evtchn_unmask){ port }),
			      -XEN_EINVAL);
			snprintf(what, sizeof(what), "sched_op poll on port %u (EINVAL)", port);
			check(what, sched_poll(&port, 1, 1000), -XEN_EINVAL);
		}
	}
	{
		struct sched_poll sp = { .ports = (uint64_t)(uintptr_t)ports,
					 .nr_ports = SCHED_POLL_MAX_PORTS + 1, .timeout_ns = 1000 };

		check("sched_op poll on 129 ports (EINVAL)", HYPERVISOR_sched_op(SCHEDOP_poll, &sp), -XEN_EINVAL);
	}
	p = evtchn_alloc_unbound(XENITH_BACKEND_DOMID);
	check("a port after all that", p, 3);
	printf("hostile: ports: all checks passed\n");
	return 0;
}

/* ---- console ---- */

static int hostile_console(const char *args)
{
	struct xenith_console_ring *r = (struct xenith_console_ring *)(uintptr_t)start_info->console_ring;
	uint32_t cons, prod;
	long far_ahead, behind, wrapped;

	(void)args;
	printf("hostile: console: rewriting the ring's indices\n");
	/* No printf from here until the indices are sane again: it would use the ring. */
	cons = __atomic_load_n(&r->out_cons, __ATOMIC_ACQUIRE);
	prod = r->out_prod;
	__atomic_store_n(&r->out_prod, cons + 0x80000000u, __ATOMIC_RELEASE);
	far_ahead = evtchn_send(start_info->console_evtchn);
	__atomic_store_n(&r->out_prod, cons + XENITH_CONS_OUT_SIZE + 1, __ATOMIC_RELEASE);
	wrapped = evtchn_send(start_info->console_evtchn);
	__atomic_store_n(&r->out_prod, prod, __ATOMIC_RELEASE);
	__atomic_store_n(&r->out_cons, prod + 100, __ATOMIC_RELEASE);
	behind = evtchn_send(start_info->console_evtchn);
	__atomic_store_n(&r->out_cons, cons, __ATOMIC_RELEASE);
	check("producer 2^31 ahead of the consumer (EINVAL)", far_ahead, -XEN_EINVAL);
	check("producer one byte more than the ring ahead (EINVAL)", wrapped, -XEN_EINVAL);
	check("consumer 100 ahead of the producer (EINVAL)", behind, -XEN_EINVAL);
	printf("hostile: console: output flows again\n");
	return 0;
}

/* ---- pointers ---- */

static int hostile_pointers(const char *args)
{
	const uint64_t mem = start_info->mem_bytes;
	const uint64_t bad[] = { mem - 1, mem - 3, mem, 1ull << 63, UINT64_MAX, UINT64_MAX - 4095 };
	struct sched_poll sp = { .nr_ports = 1, .timeout_ns = 1000 };
	struct evtchn_alloc_unbound *last = (void *)(uintptr_t)(mem - sizeof(*last));
	long r;

	(void)args;
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		const uint64_t p = bad[i];
		char what[128];

#define TRY(name, call, want)                                                       \
	do {                                                                        \
		snprintf(what, sizeof(what), "%s at 0x%llx", name, (unsigned long long)p); \
		check(what, call, want);                                            \
	} while (0)
		TRY("console_io buffer", HYPERVISOR_console_io(CONSOLEIO_write, 8, (void *)(uintptr_t)p),
		    -XEN_EFAULT);
		TRY("sched_op shutdown arg", HYPERVISOR_sched_op(SCHEDOP_shutdown, (void *)(uintptr_t)p),
		    -XEN_EFAULT);
		TRY("sched_op poll arg", HYPERVISOR_sched_op(SCHEDOP_poll, (void *)(uintptr_t)p), -XEN_EFAULT);
		sp.ports = p;
		TRY("sched_op poll's port array", HYPERVISOR_sched_op(SCHEDOP_poll, &sp), -XEN_EFAULT);
		TRY("vcpu_op set_periodic_timer arg", HYPERVISOR_vcpu_op(VCPUOP_set_periodic_timer, 0, p),
		    -XEN_EFAULT);
		TRY("event_channel_op bind_virq arg",
		    HYPERVISOR_event_channel_op(EVTCHNOP_bind_virq, (void *)(uintptr_t)p), -XEN_EFAULT);
		TRY("event_channel_op alloc_unbound arg",
		    HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, (void *)(uintptr_t)p), -XEN_EFAULT);
		TRY("event_channel_op status arg",
		    HYPERVISOR_event_channel_op(EVTCHNOP_status, (void *)(uintptr_t)p), -XEN_EFAULT);
		TRY("event_channel_op bind_vcpu arg",
		    HYPERVISOR_event_channel_op(EVTCHNOP_bind_vcpu, (void *)(uintptr_t)p), -XEN_EFAULT);
		TRY("event_channel_op send arg",
		    HYPERVISOR_event_channel_op(EVTCHNOP_send, (void *)(uintptr_t)p), -XEN_EFAULT);
		TRY("event_channel_op close arg",
		    HYPERVISOR_event_channel_op(EVTCHNOP_close, (void *)(uintptr_t)p), -XEN_EFAULT);
		TRY("event_channel_op unmask arg",
		    HYPERVISOR_event_channel_op(EVTCHNOP_unmask, (void *)(uintptr_t)p), -XEN_EFAULT);
		TRY("grant_table_op set_table arg",
		    hypercall3(__HYPERVISOR_grant_table_op, GNTTABOP_xenith_set_table, p, 1), -XEN_EFAULT);
		TRY("hvm_op set_param arg", hypercall2(__HYPERVISOR_hvm_op, HVMOP_set_param, p), -XEN_EFAULT);
		if (p >= mem) /* an entry point inside memory would be a valid (if silly) one */
			TRY("vcpu_op up at rip", HYPERVISOR_vcpu_op(VCPUOP_up, 1, p), -XEN_EINVAL);
		if (p % XENITH_PAGE_SIZE == 0 || p == UINT64_MAX - 4095)
			TRY("xenith_discard range", hypercall2(__HYPERVISOR_xenith_discard,
							       p & ~(uint64_t)4095, 4096), -XEN_EFAULT);
#undef TRY
	}
	check("xenith_discard of 2^63 bytes (EFAULT)",
	      hypercall2(__HYPERVISOR_xenith_discard, start_info->free_start, 1ull << 63), -XEN_EFAULT);
	check("xenith_discard of 2^64-4096 bytes (EFAULT)",
	      hypercall2(__HYPERVISOR_xenith_discard, start_info->free_start, UINT64_MAX - 4095), -XEN_EFAULT);
	/* The last bytes of memory are memory: a struct that ends exactly there works. */
	*last = (struct evtchn_alloc_unbound){ .dom = XENITH_DOMID_SELF, .remote_dom = XENITH_BACKEND_DOMID };
	r = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, last);
	check("alloc_unbound with its struct in the last 8 bytes of memory", r, 0);
	check("... and the port came back there", last->port > 0, 1);
	printf("hostile: pointers: all checks passed\n");
	return 0;
}

/* ---- assert-nonul ---- */

static int hostile_assert_nonul(const char *args)
{
	const uint64_t mem = start_info->mem_bytes;
	char *tail = (char *)(uintptr_t)(mem - 300);

	(void)args;
	/* 300 bytes of text to the very end of memory, no NUL anywhere. */
	for (unsigned i = 0; i < 300; i++)
		tail[i] = (char)('A' + i % 26);
	printf("hostile: assert-nonul: strings that run off the end of memory\n");
	hypercall5(__HYPERVISOR_xenith_guest_assert, mem - 10, 4242, mem - 300, mem - 1, 0);
	printf("hostile: assert-nonul: the VMM did not end the domain WRONG\n");
	return 1;
}

static const struct {
	const char *name;
	int (*run)(const char *args);
} subs[] = {
	{ "vcpurace", hostile_vcpurace },
	{ "stall", hostile_stall },
	{ "pollwait", hostile_pollwait },
	{ "protected", hostile_protected },
	{ "ports", hostile_ports },
	{ "console", hostile_console },
	{ "pointers", hostile_pointers },
	{ "assert-nonul", hostile_assert_nonul },
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
