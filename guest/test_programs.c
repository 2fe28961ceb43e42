// SPDX-License-Identifier: MIT
/*
 * The test image's programs (guest/minios-test): each checks one behaviour
 * of the VMM from inside the guest, for the kvm and lab tiers.  The
 * bundled image leaves them out (guest/programs.h says why).
 */
#include "assert.h"
#include "hypercall.h"
#include "minios.h"
#include "netfront.h"
#include "programs.h"
#include "xenbus.h"

int hostile_main(const char *args);
int dirtylog_main(const char *args);
int relocate_main(const char *args);

static void check(const char *what, long got, long want)
{
	printf("hypercall: %s -> %ld %s\n", what, got, got == want ? "ok" : "WRONG");
	GUEST_ASSERT_EQ(got, want);
}

static int prog_hypercall(const char *args)
{
	uint64_t outside = start_info->mem_bytes + 4096;
	struct sched_shutdown *bad_shutdown = (struct sched_shutdown *)(uintptr_t)outside;

	(void)args;
	check("unknown op 63 (ENOSYS)", hypercall0(63), -XEN_ENOSYS);
	check("unknown op 71 (ENOSYS)", hypercall0(71), -XEN_ENOSYS);
	check("unknown op 5000 (ENOSYS)", hypercall0(5000), -XEN_ENOSYS);
	check("grant_table_op unknown cmd 0 (ENOSYS)", hypercall0(__HYPERVISOR_grant_table_op),
	      -XEN_ENOSYS);
	check("console_io buffer past memory (EFAULT)",
	      HYPERVISOR_console_io(CONSOLEIO_write, 8, (void *)(uintptr_t)outside), -XEN_EFAULT);
	check("console_io non-canonical buffer (EFAULT)",
	      HYPERVISOR_console_io(CONSOLEIO_write, 8, (void *)0xffff800000000000ull), -XEN_EFAULT);
	check("console_io buffer straddling the end (EFAULT)",
	      HYPERVISOR_console_io(CONSOLEIO_write, 64,
				    (void *)(uintptr_t)(start_info->mem_bytes - 16)), -XEN_EFAULT);
	check("console_io count over 4096 (EINVAL)",
	      HYPERVISOR_console_io(CONSOLEIO_write, 8192, (void *)(uintptr_t)start_info->free_start),
	      -XEN_EINVAL);
	check("sched_op shutdown arg past memory (EFAULT)",
	      HYPERVISOR_sched_op(SCHEDOP_shutdown, bad_shutdown), -XEN_EFAULT);
	check("xenith_test echo", hypercall2(__HYPERVISOR_xenith_test, XENITH_TEST_ECHO, 0x1234abcd),
	      0x1234abcd);
	check("vcpu_op up vcpu 99 (EINVAL)", HYPERVISOR_vcpu_op(VCPUOP_up, 99, 0x100000), -XEN_EINVAL);
	check("event_channel_op send port 5000 (EINVAL)",
	      HYPERVISOR_event_channel_op(EVTCHNOP_send, &(struct evtchn_send){ 5000 }), -XEN_EINVAL);
	check("sched_op poll with no ports and no timeout (EINVAL)", sched_poll(NULL, 0, 0), -XEN_EINVAL);
	check("sched_op poll timeout 1 ms (ETIMEDOUT)", sched_poll(NULL, 0, 1000000), -XEN_ETIMEDOUT);
	{
		struct vcpu_set_periodic_timer tiny = { 1000 }, ok = { 1000000 };
		struct xen_hvm_param cb = { .domid = XENITH_DOMID_SELF, .index = HVM_PARAM_CALLBACK_IRQ,
					    .value = (HVM_PARAM_CALLBACK_TYPE_VECTOR << 56) | 0xf3 };

		check("vcpu_op set_periodic_timer 1 us (EINVAL)",
		      HYPERVISOR_vcpu_op(VCPUOP_set_periodic_timer, 0, (uint64_t)(uintptr_t)&tiny),
		      -XEN_EINVAL);
		check("vcpu_op set_periodic_timer arg past memory (EFAULT)",
		      HYPERVISOR_vcpu_op(VCPUOP_set_periodic_timer, 0, outside), -XEN_EFAULT);
		if (start_info->nr_vcpus > 1)
			check("vcpu_op set_periodic_timer on another vCPU (EPERM)",
			      HYPERVISOR_vcpu_op(VCPUOP_set_periodic_timer, 1, (uint64_t)(uintptr_t)&ok),
			      -XEN_EPERM);
		if (current_cpl() == 3)
			check("hvm_op callback vector at CPL 3 (EPERM)",
			      hypercall2(__HYPERVISOR_hvm_op, HVMOP_set_param, (uint64_t)(uintptr_t)&cb),
			      -XEN_EPERM);
		cb.value = (HVM_PARAM_CALLBACK_TYPE_VECTOR << 56) | 14;
		check("hvm_op callback vector 14, an exception's (EINVAL or EPERM)",
		      hypercall2(__HYPERVISOR_hvm_op, HVMOP_set_param, (uint64_t)(uintptr_t)&cb),
		      current_cpl() == 0 ? -XEN_EINVAL : -XEN_EPERM);
		check("hvm_op unknown param (EINVAL)",
		      hypercall2(__HYPERVISOR_hvm_op, HVMOP_set_param,
				 (uint64_t)(uintptr_t)&(struct xen_hvm_param){ .domid = XENITH_DOMID_SELF,
									       .index = 99 }),
		      -XEN_EINVAL);
	}
	printf("hypercall: all checks passed\n");
	return 0;
}

static long grant_read(uint32_t ref, uint32_t offset, uint32_t len)
{
	return hypercall5(__HYPERVISOR_xenith_test, XENITH_TEST_GRANT_READ, ref, offset, len, 0);
}

static long grant_write(uint32_t ref, uint32_t offset, uint32_t len)
{
	return hypercall5(__HYPERVISOR_xenith_test, XENITH_TEST_GRANT_WRITE, ref, offset, len, 0);
}

static uint32_t fnv1a(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/*
 * vmmwrite: what a migration must carry that KVM's dirty log does not see.
 * A page the guest zeroes once and never writes again is granted to the
 * VMM, which writes byte i = i * 7 + 1 of it through the grant table
 * (XENITH_TEST_GRANT_WRITE, test hooks), one more byte every millisecond,
 * each byte once: the page changes only by the VMM's hand, and a copy of
 * it taken before its last writes stays wrong.  On the
 * toolstack's shutdown request the guest checks that the page holds the
 * last write it asked for, and nothing past it.
 */
static int prog_vmmwrite(const char *args)
{
	uint8_t *pg = alloc_pages(1);
	int port = evtchn_bind_virq(VIRQ_CONTROL, 0), ref;
	uint32_t len = 0, p, bad = 0;

	(void)args;
	GUEST_ASSERT(pg && port > 0);
	p = (uint32_t)port;
	if (!gnttab_size())
		GUEST_ASSERT(gnttab_init(1) == 0);
	memset(pg, 0, XENITH_PAGE_SIZE);
	ref = gnttab_grant(XENITH_BACKEND_DOMID, (uint64_t)(uintptr_t)pg / XENITH_PAGE_SIZE, false);
	GUEST_ASSERT(ref > 0);
	printf("vmmwrite: page granted\n");
	for (;;) {
		/* One more byte each time, only it: a page the migration left behind stays wrong. */
		if (len < XENITH_PAGE_SIZE) {
			GUEST_ASSERT_EQ(grant_write((uint32_t)ref, len, 1), 0);
			len++;
		}
		sched_poll(&p, 1, 1000000);
		if (evtchn_test_and_clear(p) &&
		    __atomic_exchange_n(&shared_info->control_request, XENITH_CONTROL_NONE, __ATOMIC_ACQUIRE) ==
			    XENITH_CONTROL_POWEROFF)
			break;
	}
	for (uint32_t i = 0; i < XENITH_PAGE_SIZE; i++)
		bad += pg[i] != (i < len ? (uint8_t)(i * 7 + 1) : 0);
	printf("vmmwrite: the VMM wrote %u bytes, %u of the page's bytes are not what it wrote\n", len, bad);
	GUEST_ASSERT_EQ(bad, 0);
	return 0;
}

/*
 * grant: the grant table end to end.  The VMM reads and writes granted
 * pages as a backend would (xenith_test GRANT_READ/WRITE); every access it
 * must refuse is tried too.
 */
static int prog_grant(const char *args)
{
	uint8_t *a = alloc_pages(1), *b = alloc_pages(1);
	uint64_t fa = (uint64_t)(uintptr_t)a / XENITH_PAGE_SIZE, fb = (uint64_t)(uintptr_t)b / XENITH_PAGE_SIZE;
	uint64_t outside = start_info->mem_bytes / XENITH_PAGE_SIZE + 10;
	int ra, rb, rother, rfar;
	bool pattern_ok = true;

	(void)args;
	GUEST_ASSERT(a && b);
	check("grant_table_op set_table with count 2 (EINVAL)",
	      hypercall3(__HYPERVISOR_grant_table_op, GNTTABOP_xenith_set_table,
			 (uint64_t)(uintptr_t)a, 2), -XEN_EINVAL);
	check("access before a table is set (ENOENT)", grant_read(8, 0, 16), -XEN_ENOENT);
	GUEST_ASSERT(gnttab_init(1) == 0);
	check("setting the table again (EBUSY)",
	      hypercall3(__HYPERVISOR_grant_table_op, GNTTABOP_xenith_set_table,
			 (uint64_t)(uintptr_t)&(struct gnttab_xenith_set_table){
				 .gpa = (uint64_t)(uintptr_t)b, .nr_frames = 1 }, 1), -XEN_EBUSY);
	for (unsigned i = 0; i < XENITH_PAGE_SIZE; i++)
		a[i] = (uint8_t)(i * 13 + 5);
	ra = gnttab_grant(XENITH_BACKEND_DOMID, fa, false);
	rb = gnttab_grant(XENITH_BACKEND_DOMID, fb, true);
	rother = gnttab_grant(5, fa, false);
	rfar = gnttab_grant(XENITH_BACKEND_DOMID, outside, false);
	GUEST_ASSERT(ra > 0 && rb > 0 && rother > 0 && rfar > 0);

	check("backend reads a granted page (hash matches)", grant_read((uint32_t)ra, 0, XENITH_PAGE_SIZE),
	      (long)fnv1a(a, XENITH_PAGE_SIZE));
	check("backend writes 50 bytes at offset 100", grant_write((uint32_t)ra, 100, 50), 0);
	for (unsigned i = 0; i < 50; i++)
		pattern_ok &= a[100 + i] == (uint8_t)((100 + i) * 7 + 1);
	check("the written bytes arrived", pattern_ok, 1);
	check("bytes around them untouched", a[99] == (uint8_t)(99 * 13 + 5) && a[150] == (uint8_t)(150 * 13 + 5), 1);
	check("write to a read-only grant (EPERM)", grant_write((uint32_t)rb, 0, 8), -XEN_EPERM);
	check("read of a read-only grant", grant_read((uint32_t)rb, 0, 8) < 0, 0);
	check("page granted to domain 5 (EPERM)", grant_read((uint32_t)rother, 0, 8), -XEN_EPERM);
	check("frame outside guest memory (EFAULT)", grant_read((uint32_t)rfar, 0, 8), -XEN_EFAULT);
	check("reserved ref 0 (ENOENT)", grant_read(0, 0, 8), -XEN_ENOENT);
	check("ref past the table (ENOENT)", grant_read(gnttab_size(), 0, 8), -XEN_ENOENT);
	check("ref 2^32-1 (ENOENT)", grant_read(UINT32_MAX, 0, 8), -XEN_ENOENT);
	check("never granted ref (EPERM)", grant_read(gnttab_size() - 1, 0, 8), -XEN_EPERM);
	check("offset + len past the page (EINVAL)", grant_read((uint32_t)ra, 4090, 16), -XEN_EINVAL);
	check("ungrant of an idle page succeeds", gnttab_end_access((uint32_t)ra), 1);
	check("ungranted page is refused (EPERM)", grant_read((uint32_t)ra, 0, 8), -XEN_EPERM);
	gnttab_free((uint32_t)ra);
	check("freed ref is handed out again", gnttab_grant(XENITH_BACKEND_DOMID, fb, true), ra);
	printf("grant: all checks passed\n");
	return 0;
}

/*
 * evtchn [N]: event channels with a backend on another host thread (the
 * VMM's loopback backend): port states, N round trips half through
 * sched_op poll and half through sched_op block (a lost wake-up hangs the
 * guest and the test's timeout fails it), vCPU binding, close.
 */
static int prog_evtchn(const char *args)
{
	unsigned long n = 20000;
	struct evtchn_status st;
	unsigned vcpu = smp_processor_id();
	int port;
	uint32_t p;

	if (*args && (!parse_ulong(args, NULL, &n) || n == 0))
		n = 20000;
	check("alloc_unbound for domain 3, which does not exist (ESRCH)", evtchn_alloc_unbound(3),
	      -XEN_ESRCH);
	port = evtchn_alloc_unbound(XENITH_BACKEND_DOMID);
	GUEST_ASSERT(port > 0);
	p = (uint32_t)port;
	check("status of the new port: unbound", evtchn_status(p, &st) == 0 && st.status ==
	      EVTCHNSTAT_unbound && st.u.remote_dom == XENITH_BACKEND_DOMID, 1);
	check("status of port 5000 (EINVAL)", evtchn_status(5000, &st), -XEN_EINVAL);
	check("send on an unbound port is accepted", evtchn_send(p), 0);
	evtchn_test_and_clear(p);
	check("loopback backend binds", hypercall2(__HYPERVISOR_xenith_test, XENITH_TEST_EVTCHN_LOOPBACK, p), 0);
	check("a second backend on the same port (EBUSY)",
	      hypercall2(__HYPERVISOR_xenith_test, XENITH_TEST_EVTCHN_LOOPBACK, p), -XEN_EBUSY);
	check("status: interdomain", evtchn_status(p, &st) == 0 && st.status == EVTCHNSTAT_interdomain, 1);
	check("bind_vcpu to a vCPU that does not exist (EINVAL)",
	      HYPERVISOR_event_channel_op(EVTCHNOP_bind_vcpu,
					  &(struct evtchn_bind_vcpu){ p, start_info->nr_vcpus }), -XEN_EINVAL);
	check("bind_vcpu to this vCPU", HYPERVISOR_event_channel_op(EVTCHNOP_bind_vcpu,
				       &(struct evtchn_bind_vcpu){ p, vcpu }), 0);
	for (unsigned long i = 0; i < n; i++) {
		if (i % 2 == 0) {
			GUEST_ASSERT(evtchn_send(p) == 0);
			/*
			 * No timeout: the VMM re-checks the ports when a poll times
			 * out, so a lost wake-up would only be a delay.  Without
			 * one it hangs the guest, as in the block half, until the
			 * test's generous deadline ends it.
			 */
			GUEST_ASSERT_EQ(sched_poll(&p, 1, 0), 0);
			GUEST_ASSERT(evtchn_test_and_clear(p));
		} else {
			evtchn_clear_upcall(vcpu);
			GUEST_ASSERT(evtchn_send(p) == 0);
			while (!evtchn_test_and_clear(p)) {
				sched_block(); /* returns once upcall_pending is set */
				evtchn_clear_upcall(vcpu);
			}
		}
	}
	check("close", evtchn_close(p), 0);
	check("status after close: closed", evtchn_status(p, &st) == 0 && st.status == EVTCHNSTAT_closed, 1);
	check("send on a closed port (EINVAL)", evtchn_send(p), -XEN_EINVAL);
	check("close again (EINVAL)", evtchn_close(p), -XEN_EINVAL);
	check("close the console's port (EPERM)", evtchn_close(start_info->console_evtchn), -XEN_EPERM);
	printf("evtchn: %lu round trips through a VMM backend thread, none lost\n", n);
	return 0;
}

/* The kvm tier's seccomp test: the VMM's vCPU thread makes a call its filter refuses. */
static int prog_seccomp(const char *args)
{
	(void)args;
	printf("seccomp: forbidden system call -> %ld\n",
	       hypercall2(__HYPERVISOR_xenith_test, XENITH_TEST_FORBIDDEN_SYSCALL, 0));
	return 0;
}

/*
 * escape: terminal escapes from the guest, for the VMM's filter: a console
 * line, then a failed GUEST_ASSERT whose file, expression and message carry
 * ESC sequences, the 8-bit CSI (0x9b) raw and in UTF-8 (C2 9B), and UTF-8
 * text that must pass ("café 5€").  The line number is fixed (4242).
 */
static int prog_escape(const char *args)
{
	(void)args;
	printf("escape-console: [\x1b[2J] [\x9b" "2J] [\xc2\x9b" "2J] [\x1b]0;pwned\x07] "
	       "[caf\xc3\xa9 5\xe2\x82\xac] end\n");
	guest_assert_fail("esc\x1b[31m.c", 4242, "x == \x1b[2J\x9b" "31m", "%s",
			  "why: \x1b]0;pwned\x07 \xc2\x9b" "1m caf\xc3\xa9\nxenith: fake line");
}

int prof_test_main(const char *args);

static const struct program programs[] = {
	{ "prof", prof_test_main, "workloads with a known profile: split|nested|hcall [ms=N] [count=K] (guest/prof_test.c)" },
	{ "hypercall", prog_hypercall, "check the VMM's argument checking" },
	{ "evtchn", prog_evtchn, "event channels to a VMM backend thread: N round trips, states" },
	{ "vmmwrite", prog_vmmwrite, "the VMM writes a granted page the guest never writes: checked on shutdown (test hooks)" },
	{ "grant", prog_grant, "grant table checks, the VMM acting as a backend" },
	{ "seccomp", prog_seccomp, "make the VMM call what its seccomp filter forbids (tests)" },
	{ "hostile", hostile_main, "what a well-behaved guest never does (guest/hostile.c)" },
	{ "escape", prog_escape, "terminal escapes in console output and in a failed GUEST_ASSERT" },
	{ "relocate", relocate_main, "every vCPU counts, 16 MiB hold a pattern: what a save/restore must keep (guest/relocate_test.c)" },
	{ "dirtylog", dirtylog_main, "write pages I J ... with KVM's dirty log on; the VMM lists it (tests)" },
	{ "net-hostile", net_hostile_main, "a netfront that breaks every rule on vif 0; vif 1 stays good (guest/net_hostile.c)" },
	{ "xenbus", xenbus_test_main, "the xenstore from the guest: ops, host, quota, smp (guest/xenbus_test.c)" },
};

const struct program *test_programs(size_t *n)
{
	*n = ARRAY_SIZE(programs);
	return programs;
}
