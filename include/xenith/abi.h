/* SPDX-License-Identifier: MIT */
/*
 * Xenith guest ABI: what a PV guest and the VMM agree on.
 *
 * This directory is shared by the host (hv/, io/) and the guest (guest/)
 * and holds nothing else.  Every structure here has its size and the
 * offsets both sides depend on pinned with _Static_assert.
 *
 * The guest runs at CPL 3 in 64-bit mode with paging on.  Guest virtual
 * addresses of the physical map equal guest physical addresses
 * (XENITH_PHYSMAP_BASE is 0), so a pointer passed to a hypercall is a
 * guest physical address.  The VMM checks every such pointer against
 * guest memory and answers -XEN_EFAULT when it falls outside.
 *
 * Hypercall convention (one port-I/O instruction, works from CPL 3 on
 * PVM, VT-x and AMD-V hosts alike):
 *
 *     op in EAX, arguments in RDI, RSI, RDX, R10, R8
 *     outl %eax, $XENITH_HYPERCALL_PORT
 *     result in RAX (0 or a positive value on success, -XEN_Exxx on error)
 *
 * Errors every op shares: an op or cmd the VMM does not serve is
 * -XEN_ENOSYS; a struct or buffer argument not wholly inside guest memory
 * is -XEN_EFAULT.  Each op's own errors are listed with it below; no op
 * answers any other (fuzz/fuzz_hypercall.c checks this table).
 *
 * No other register is changed by a hypercall.  The builder's TSS I/O
 * permission bitmap lets the guest use ports 0..XENITH_IO_PORTS-1 from
 * CPL 3 (PVM ignores RFLAGS.IOPL); other ports fault.
 */
#ifndef XENITH_ABI_H
#define XENITH_ABI_H

#include <stdint.h>

/*
 * Bumped whenever a structure or a hypercall's meaning changes.  The VMM
 * refuses an image whose ELF note names another version (builder.c), and
 * minios refuses a start_info that does.  2: start_info's store_ring and
 * store_evtchn (the xenstore), the store's event-channel port.
 */
#define XENITH_ABI_VERSION 2

#define XENITH_HYPERCALL_PORT 0xe0
#define XENITH_IO_PORTS 2048u
#define XENITH_PHYSMAP_BASE 0x0ull
#define XENITH_PAGE_SIZE 4096u
#define XENITH_MAX_VCPUS 64u

/* Hypercall numbers: Xen's where the meaning matches, Xenith's from 64. */
enum xenith_hypercall {
	__HYPERVISOR_xen_version = 17,
	__HYPERVISOR_console_io = 18,
	__HYPERVISOR_vcpu_op = 24,
	__HYPERVISOR_sched_op = 29,
	__HYPERVISOR_event_channel_op = 32,
	__HYPERVISOR_hvm_op = 34,              /* HVMOP_set_param: the upcall vector (CPL-0 guests) */
	/* 13 (multicall) is reserved for the I/O issue. */
	__HYPERVISOR_grant_table_op = 20,      /* see grant_table.h */

	__HYPERVISOR_xenith_time = 64,        /* current host time, see below */
	__HYPERVISOR_xenith_guest_assert = 65, /* file, line, expr, message */
	__HYPERVISOR_xenith_bench_report = 66, /* a benchmark result, see below */
	__HYPERVISOR_xenith_config = 67,       /* retired (-ENOSYS): devices are found through xenstore */
	__HYPERVISOR_xenith_test = 68,         /* test hooks, see XENITH_TEST_* */
	__HYPERVISOR_xenith_discard = 69,      /* give pages back: discard(gpa, len) */

	XENITH_HYPERCALL_MAX = 72,             /* table size; ops >= this: -ENOSYS */
};

/* Error values returned in RAX, negated (Xen uses Linux's x86 numbers). */
#define XEN_EPERM 1
#define XEN_ENOENT 2
#define XEN_ESRCH 3
#define XEN_EINTR 4
#define XEN_ENOMEM 12
#define XEN_EFAULT 14
#define XEN_EBUSY 16
#define XEN_EEXIST 17
#define XEN_ENODEV 19
#define XEN_EINVAL 22
#define XEN_ENOSPC 28
#define XEN_ENOSYS 38
#define XEN_EBADFD 77
#define XEN_EOPNOTSUPP 95
#define XEN_ETIMEDOUT 110
#define XEN_EALREADY 114

/* console_io(cmd, count, buf) */
#define CONSOLEIO_write 0 /* write count bytes at buf (at most 4096, else -EINVAL); returns count */

/* sched_op(cmd, arg) */
#define SCHEDOP_yield 0
#define SCHEDOP_block 1    /* sleep until an unmasked event is pending */
#define SCHEDOP_shutdown 2 /* arg: struct sched_shutdown *; -EINVAL: no such reason;
			    * -ENOSYS: SHUTDOWN_suspend (a save needs no guest part) */
#define SCHEDOP_poll 3     /* arg: struct sched_poll * */

#define SHUTDOWN_poweroff 0
#define SHUTDOWN_reboot 1
#define SHUTDOWN_suspend 2
#define SHUTDOWN_crash 3
#define SHUTDOWN_watchdog 4

struct sched_shutdown {
	uint32_t reason; /* SHUTDOWN_* */
	uint32_t code;   /* Xenith: exit code for poweroff (0..63 reach the host) */
};
_Static_assert(sizeof(struct sched_shutdown) == 8, "sched_shutdown ABI");

/*
 * SCHEDOP_poll: returns 0 as soon as one of the listed ports is pending
 * (masked or not), -XEN_ETIMEDOUT when timeout_ns passed first.  With
 * nr_ports == 0 it is a sleep; nr_ports == 0 and timeout_ns == 0 is
 * -XEN_EINVAL, as are more than SCHED_POLL_MAX_PORTS ports and a port of
 * XENITH_NR_EVTCHN or more.  -XEN_EINTR: the domain is ending.  A
 * toolstack request (VIRQ_CONTROL pending) does not end a poll unless its
 * port is listed.
 */
#define SCHED_POLL_MAX_PORTS 128
struct sched_poll {
	uint64_t ports;      /* guest address of an array of uint32_t ports */
	uint32_t nr_ports;   /* at most SCHED_POLL_MAX_PORTS */
	uint32_t pad;
	uint64_t timeout_ns; /* 0: no timeout; else relative, nanoseconds */
};
_Static_assert(sizeof(struct sched_poll) == 24, "sched_poll ABI");

/*
 * vcpu_op(cmd, vcpuid, arg): a vcpuid of nr_vcpus or more is -EINVAL
 * (every cmd).  VCPUOP_up: -EINVAL if arg is outside guest memory,
 * -EALREADY if the vCPU is up, -EINTR if the domain is ending (shut down,
 * crashed or destroyed).
 * down and the timer cmds act on the calling vCPU only: another is -EPERM.
 * set_periodic_timer: a period outside XENITH_TIMER_MIN_NS..1 h is -EINVAL;
 * -ENOSPC if the VMM cannot start its timer thread.
 */
#define VCPUOP_up 2      /* arg: guest RIP; RSP is the builder's stack */
#define VCPUOP_down 3    /* only the calling vCPU may take itself down */
#define VCPUOP_is_up 4   /* returns 1 or 0 */
#define VCPUOP_set_periodic_timer 6  /* arg: struct vcpu_set_periodic_timer *; raises VIRQ_TIMER */
#define VCPUOP_stop_periodic_timer 7

struct vcpu_set_periodic_timer {
	uint64_t period_ns; /* XENITH_TIMER_MIN_NS or more */
};
_Static_assert(sizeof(struct vcpu_set_periodic_timer) == 8, "vcpu_set_periodic_timer ABI");
#define XENITH_TIMER_MIN_NS 100000ull

/*
 * hvm_op(HVMOP_set_param, struct xen_hvm_param *): with index
 * HVM_PARAM_CALLBACK_IRQ and value (HVM_PARAM_CALLBACK_TYPE_VECTOR << 56) |
 * vector (32..255), a guest running at CPL 0 (guest_cpl = 0) asks for an
 * interrupt on that vector whenever one of its vCPUs' evtchn_upcall_pending
 * goes from 0 to 1, as Xen's HVM callback vector.  CPL-3 guests have no IDT
 * of their own: -EPERM.  Another domain than XENITH_DOMID_SELF or its own id:
 * -ESRCH; another index or a value not of that form: -EINVAL.
 */
#define HVMOP_set_param 0
#define HVM_PARAM_CALLBACK_IRQ 0
#define HVM_PARAM_CALLBACK_TYPE_VECTOR 2ull
#define XENITH_DOMID_SELF 0x7ff0u
struct xen_hvm_param {
	uint16_t domid; /* XENITH_DOMID_SELF */
	uint16_t pad;
	uint32_t index;
	uint64_t value;
};
_Static_assert(sizeof(struct xen_hvm_param) == 16, "xen_hvm_param ABI");

/*
 * event_channel_op(cmd, arg).  A port is valid from 1 to XENITH_NR_EVTCHN-1
 * (unmask also takes 0); another is -EINVAL, as is a port not open (close,
 * send, bind_vcpu).  bind_virq, bind_vcpu: -EINVAL for a virq or vcpu out
 * of range.  bind_virq: -EEXIST if that virq is bound.
 * bind_virq, alloc_unbound: -ENOSPC when no port is free.  alloc_unbound,
 * status: -EPERM unless dom is XENITH_DOMID_SELF or the domain's own id.
 * close: -EPERM for the VMM's own ports (the console's, the store's).  send
 * on the console port: -EINVAL if the ring's indices are impossible; on the
 * store port (start_info's store_evtchn): the VMM's store processes its
 * ring before the call returns, -EINVAL once it found the ring unusable
 * (impossible indices, a malformed message: the page's error field says
 * which; Xen's send would still succeed).
 */
#define EVTCHNOP_bind_virq 1  /* arg: struct evtchn_bind_virq * */
#define EVTCHNOP_close 3      /* arg: struct evtchn_close * */
#define EVTCHNOP_send 4       /* arg: struct evtchn_send * */
#define EVTCHNOP_status 5     /* arg: struct evtchn_status * */
#define EVTCHNOP_alloc_unbound 6 /* arg: struct evtchn_alloc_unbound *: a port a backend binds */
#define EVTCHNOP_bind_vcpu 8  /* arg: struct evtchn_bind_vcpu *: which vCPU it notifies */
#define EVTCHNOP_unmask 9     /* arg: struct evtchn_unmask * */

/* Backends run in the VMM: remote_dom must be XENITH_BACKEND_DOMID (0), or -ESRCH. */
struct evtchn_alloc_unbound {
	uint16_t dom;        /* XENITH_DOMID_SELF */
	uint16_t remote_dom;
	uint32_t port;       /* out */
};
_Static_assert(sizeof(struct evtchn_alloc_unbound) == 8, "evtchn_alloc_unbound ABI");

#define EVTCHNSTAT_closed 0      /* free */
#define EVTCHNSTAT_unbound 1     /* waiting for a backend */
#define EVTCHNSTAT_interdomain 2 /* connected to a backend */
#define EVTCHNSTAT_virq 4
#define EVTCHNSTAT_ipi 5         /* Xen HVM guests (xen_hvm.h): bind_ipi */
#define EVTCHNSTAT_xenith 16     /* a port the VMM set up itself (the console's, the store's) */
struct evtchn_status {
	uint16_t dom;        /* XENITH_DOMID_SELF */
	uint16_t pad;
	uint32_t port;
	uint32_t status;     /* out: EVTCHNSTAT_* */
	uint32_t vcpu;       /* out */
	union {
		uint16_t remote_dom;  /* unbound, interdomain */
		uint32_t virq;
	} u;                 /* out */
	uint32_t pad2;
};
_Static_assert(sizeof(struct evtchn_status) == 24, "evtchn_status ABI");

struct evtchn_bind_vcpu {
	uint32_t port;
	uint32_t vcpu;
};

#define VIRQ_TIMER 0 /* the periodic timer (one binding per domain here; Xen: per vCPU) */
#define VIRQ_BENCH_ECHO 6 /* Xenith: raised by the VMM's echo thread (bench domains) */
#define VIRQ_CONTROL 7 /* Xenith: the toolstack asks something, see shared_info */
#define XENITH_NR_VIRQS 8

struct evtchn_bind_virq {
	uint32_t virq;
	uint32_t vcpu;
	uint32_t port; /* out */
};
_Static_assert(sizeof(struct evtchn_bind_virq) == 12, "evtchn_bind_virq ABI");

struct evtchn_send {
	uint32_t port;
};
struct evtchn_close {
	uint32_t port;
};
struct evtchn_unmask {
	uint32_t port;
};

/* xenith_time(): RAX = nanoseconds of host CLOCK_REALTIME. */

/*
 * xenith_guest_assert(file, line, expr, msg): the guest reports a failed
 * GUEST_ASSERT.  file, expr and msg are NUL-terminated strings in guest
 * memory (msg may be 0).  The domain is then treated as crashed.
 */

/*
 * xenith_test(cmd, ...): hooks the kvm test tier uses from inside a guest.
 * Every cmd answers -XEN_ENOSYS unless the VMM runs with XENITH_TEST_HOOKS=1
 * in its environment (a test asked for them), except that a benchmark
 * domain (`xenith bench`) also gets ECHO and SHMEM_ECHO, its instruments.
 */
#define XENITH_TEST_ECHO 0 /* returns arg 1 unchanged */
/*
 * xenith_test(XENITH_TEST_SHMEM_ECHO, gpa, count): (bench domains only) a
 * VMM thread answers `count` rounds of a ping-pong on two uint64_t words at
 * gpa: when word 0 becomes n it writes n to word 1.  It gives up after one
 * second without a ping.
 */
#define XENITH_TEST_SHMEM_ECHO 1
/*
 * xenith_test(XENITH_TEST_GRANT_READ, ref, offset, len): the VMM reads the
 * bytes through the grant table as a backend would and returns their
 * FNV-1a hash (32 bits), or the grant check's -errno (-ENOENT, -EPERM,
 * -EFAULT, -EBUSY as grant_table.h says; -EINVAL for a ref above 2^32-1 or
 * an offset or len past the page).
 * xenith_test(XENITH_TEST_GRANT_WRITE, ref, offset, len): the VMM writes
 * byte i = (offset + i) * 7 + 1 through the grant table; 0 or -errno.
 */
#define XENITH_TEST_GRANT_READ 2
#define XENITH_TEST_GRANT_WRITE 3
/*
 * xenith_test(XENITH_TEST_EVTCHN_LOOPBACK, port): a VMM thread binds to the
 * guest's unbound port as a backend would (eventfd kicks) and answers every
 * send on it by setting the port pending again.  One per domain (else
 * -EBUSY); -EINVAL if port is not an unbound port for XENITH_BACKEND_DOMID;
 * -ENOMEM.
 */
#define XENITH_TEST_EVTCHN_LOOPBACK 4
/*
 * xenith_test(XENITH_TEST_STALL, ms): the vCPU's thread stays in the VMM for
 * ms milliseconds whatever happens (kicks, pause, destroy): a stand-in for a
 * hypercall handler that hangs, to test that the toolstack stays in charge.
 * Only when the VMM runs with XENITH_TEST_HOOKS=1 in its environment, else
 * -XEN_ENOSYS.
 */
#define XENITH_TEST_STALL 5
/*
 * xenith_test(XENITH_TEST_FORBIDDEN_SYSCALL): the vCPU thread makes a system
 * call no VMM thread may make (socket(AF_INET)), to test the seccomp filter:
 * under it the VMM ends with EXIT_SECCOMP; without it, 0.  -XEN_ENOSYS
 * unless the VMM was started with XENITH_TEST_HOOKS=1 in its environment.
 */
#define XENITH_TEST_FORBIDDEN_SYSCALL 6
/*
 * xenith_test(XENITH_TEST_DIRTY_LOG, op): KVM's dirty log of the guest's
 * RAM regions (hv/memmap.h), for the kvm tier.  START: logging on, the log
 * empty; 0.  FETCH: the VMM writes one console line
 *   "xenith-test: dirty log: N page(s): GPA GPA ...\n"
 * (at most XENITH_TEST_DIRTY_LOG_LIST addresses, hex, ascending, then
 * " ..." if there are more) and returns N; the log starts afresh.  STOP: logging off; 0.  -XEN_EINVAL
 * for another op; -XEN_ENODEV without a VM (unbacked domains); FETCH
 * before START, -XEN_EBADFD.  Only with XENITH_TEST_HOOKS=1.
 */
#define XENITH_TEST_DIRTY_LOG 7
#define XENITH_TEST_DIRTY_LOG_START 0
#define XENITH_TEST_DIRTY_LOG_FETCH 1
#define XENITH_TEST_DIRTY_LOG_STOP 2
#define XENITH_TEST_DIRTY_LOG_LIST 64

/*
 * xenith_bench_report(case, rep, value_bits): one repetition's result of
 * benchmark case `case` (an index into the bench tables both sides are
 * built from); value_bits is the IEEE-754 double, rep is the repetition.
 * -XEN_ENOSYS when the domain was not started by `xenith bench`.
 */

/*
 * xenith_discard(gpa, len): the guest gives pages of its free memory back
 * (Xen's decrease_reservation, in one call): their contents are gone, and
 * the next touch faults them in afresh.  Page-aligned and not empty, else
 * -EINVAL; inside [free_start, mem_bytes), else -EFAULT.
 */

/*
 * Bench domains only: writes to XENITH_BENCH_DOORBELL_PORT are caught in
 * the kernel by an ioeventfd (no exit to the VMM); writes to
 * XENITH_BENCH_ECHO_PORT wake a VMM thread that raises VIRQ_BENCH_ECHO.
 * XENITH_MMIO_TEST_GPA is mapped in the guest page tables but backed by
 * no memory: each access is an MMIO exit (writes vanish, reads all ones).
 */
#define XENITH_BENCH_DOORBELL_PORT 0xe4
#define XENITH_BENCH_ECHO_PORT 0xe8
#define XENITH_MMIO_TEST_GPA 0x8000ull

/*
 * On hosts that run CPL-0 guest code natively (VT-x, AMD-V) the builder
 * gives the guest an IDT whose gates lead to a VMM-provided CPL-0 stub: it
 * pushes the vector (and a zero error code where the CPU pushes none) and
 * writes to XENITH_EXCEPTION_PORT, so the VMM reports the exception with
 * the faulting RIP from the frame.  Without it (PVM hosts) an exception is
 * a triple fault.  Guests need not do anything.
 */
#define XENITH_EXCEPTION_PORT 0xe2

/* xen_version(cmd) */
#define XENVER_version 0 /* (major << 16) | minor */

/* Guest image identification: an ELF note in a PT_NOTE segment. */
#define XENITH_ELFNOTE_NAME "Xenith"
#define XENITH_ELFNOTE_ABI_VERSION 1 /* desc: uint32_t ABI version */

#endif
