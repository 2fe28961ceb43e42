// SPDX-License-Identifier: MIT
/*
 * The seccomp allow-lists per kind of thread (confine.h), and their
 * compiling to BPF with libseccomp.  The compiling happens at build time:
 * gen_seccomp.c runs it for every kind and variant and writes the BPF into
 * confine_bpf.c, which confine.c installs; libseccomp takes 1 to 2 ms for
 * the ten kinds, which every VMM start (a boot, a restore) paid before.
 * unit-confine_rules compiles here again, at run time, and checks that the
 * build's programs are the same.
 */
#include "confine.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/falloc.h>
#include <linux/filter.h>
#include <linux/fs.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "confine_priv.h"
#define K(kind) (1u << CONFINE_##kind)
#define ALL ((1u << CONFINE_NR_KINDS) - 1)
/*
 * A thread inherits its creator's filter and can only narrow it, so a kind
 * that starts threads allows what they need:
 *   main    -> vCPU (domain_start, restarts), signal, PCI interrupts (a
 *              pci device's connect, at every build)
 *   vCPU    -> vCPU (VCPUOP_up), backend (disk connect), timer, loopback,
 *              bench shared-memory responder
 *   control -> per-client threads
 * and the main filter is on every thread (TSYNC), the control thread too.
 * confine_tests checks these inclusions on the tables below.
 */
#define VCPU_AND_CHILDREN (K(VCPU) | K(BACKEND) | K(TIMER) | K(LOOPBACK) | K(BENCH))
#define MAIN_AND (K(MAIN) | VCPU_AND_CHILDREN | K(IRQ))

enum args {
	ARGS_ANY,       /* no argument check */
	ARGS_IOCTL,     /* request number in ioctl_rules for this kind */
	ARGS_IOCTL_TEST,/* request number in test_hook_ioctl_rules for this kind */
	ARGS_MMAP,      /* no PROT_EXEC; besides main, private anonymous memory only */
	ARGS_MPROTECT,  /* no PROT_EXEC */
	ARGS_MADVISE,   /* giving memory back, huge-page hints: madvise_advice */
	ARGS_CLONE,     /* CLONE_THREAD: threads, never a new process, no new namespace */
	ARGS_CLONE3,    /* refused with ENOSYS: glibc falls back to clone, whose flags are checked */
	ARGS_TGKILL,    /* our own process only */
	ARGS_FALLOCATE, /* punch a hole, keep the size: discarding guest memory */
	ARGS_FCNTL,     /* descriptor flags and OFD locks */
	ARGS_SECCOMP,   /* narrowing one's own filter: SECCOMP_SET_MODE_FILTER, no flags */
	ARGS_PRCTL,     /* PR_SET_NAME only: a vCPU thread names itself */
	ARGS_MBIND,     /* MPOL_BIND: guest memory bound to its NUMA node */
};

struct syscall_rule {
	int nr;
	unsigned kinds;        /* where it is allowed */
	unsigned bench_kinds;  /* also allowed there for `xenith bench` domains */
	enum args args;
	const char *why;
};

/* Every system call a confined thread may make, and why. */
static const struct syscall_rule syscall_rules[] = {
	/* Every thread: memory, locks, signals, thread start and end, logging. */
	{ __NR_futex, ALL, 0, ARGS_ANY, "mutexes, condition variables, joins" },
	{ __NR_write, ALL, 0, ARGS_ANY, "console and log output, eventfd kicks, stderr" },
	{ __NR_mmap, ALL, 0, ARGS_MMAP, "malloc, thread stacks; main: guest memory, kvm_run, io_uring rings" },
	{ __NR_munmap, ALL, 0, ARGS_ANY, "free, thread stacks" },
	{ __NR_mprotect, ALL, 0, ARGS_MPROTECT, "malloc arenas, stack guard pages" },
	{ __NR_madvise, ALL, 0, ARGS_MADVISE, "free, thread stacks at thread exit" },
	{ __NR_mremap, ALL, 0, ARGS_ANY, "realloc of large blocks" },
	{ __NR_brk, ALL, 0, ARGS_ANY, "malloc" },
	{ __NR_rt_sigprocmask, ALL, 0, ARGS_ANY, "signal masks around thread creation; SIGSYS unblocked" },
	{ __NR_rt_sigreturn, ALL, 0, ARGS_ANY, "return from the vCPU kick handler" },
	{ __NR_getpid, ALL, 0, ARGS_ANY, "pthread_kill, abort, the control socket's info" },
	{ __NR_gettid, ALL, 0, ARGS_ANY, "pthread_kill of oneself, abort" },
	{ __NR_tgkill, ALL, 0, ARGS_TGKILL, "kicking vCPU threads out of KVM_RUN (SIGUSR1)" },
	{ __NR_clock_gettime, ALL, 0, ARGS_ANY, "time, when the vDSO cannot answer" },
	{ __NR_sched_yield, ALL, 0, ARGS_ANY, "SCHEDOP_yield, spinning" },
	{ __NR_set_robust_list, ALL, 0, ARGS_ANY, "a new thread's first call (under its creator's filter)" },
	{ __NR_rseq, ALL, 0, ARGS_ANY, "a new thread's first call (under its creator's filter)" },
	{ __NR_getrandom, ALL, 0, ARGS_ANY, "malloc's per-thread cache key" },
	{ __NR_restart_syscall, ALL, 0, ARGS_ANY, "a call interrupted by the kick signal" },
	{ __NR_exit, ALL, 0, ARGS_ANY, "a thread ends" },
	{ __NR_exit_group, ALL, 0, ARGS_ANY, "the process ends (also from the SIGSYS handler)" },
	{ __NR_ioctl, ALL, 0, ARGS_IOCTL, "see ioctl_rules" },
	{ __NR_seccomp, MAIN_AND | K(CONTROL), 0, ARGS_SECCOMP, "a new thread narrows its filter" },
	{ __NR_clone, K(MAIN) | K(VCPU) | K(CONTROL), 0, ARGS_CLONE, "pthread_create" },
	{ __NR_clone3, ALL, 0, ARGS_CLONE3, "refused (ENOSYS) so that pthread_create uses clone" },

	/* vCPU threads, for themselves and the threads they start. */
	{ __NR_close, K(MAIN) | K(VCPU) | K(CONTROL) | K(WATCHDOG), 0, ARGS_ANY,
	  "a console client that went away; control connections; the watchdog lets go of the name lock" },
	{ __NR_sendto, K(MAIN) | K(VCPU) | K(CONTROL), 0, ARGS_ANY, "console output to attached clients; control replies" },
	{ __NR_fallocate, K(MAIN) | K(VCPU), 0, ARGS_FALLOCATE, "xenith_discard: guest memory back to the host" },
	{ __NR_eventfd2, K(MAIN), 0, ARGS_ANY, "a disk reopened on reboot: its backend's kick eventfd" },
	{ __NR_io_uring_enter, K(MAIN) | K(VCPU) | K(BACKEND), 0, ARGS_ANY, "disk I/O: submit, wait for completions" },
	{ __NR_read, MAIN_AND | K(CONTROL), 0, ARGS_ANY, "eventfd kicks (loopback, bench echo); CPU count; the bench doorbell's count (`xenith devices`)" },
	{ __NR_sched_getaffinity, K(MAIN) | K(VCPU), K(BENCH), ARGS_ANY, "CPU count (sysconf), bench pinning" },
	{ __NR_sched_setaffinity, K(MAIN) | K(VCPU), 0, ARGS_ANY,
	  "vcpu_pin, numa_node: a vCPU thread (started by main or by a vCPU) pins itself, a thread a vCPU "
	  "starts goes to the domain's CPUs; bench pinning" },
	{ __NR_prctl, K(MAIN) | K(VCPU) | K(CONTROL), 0, ARGS_PRCTL,
	  "a new thread names itself (xenith-vcpuN, xenith-backend, ...) under its creator's filter" },

	/* The control socket server and its client threads. */
	{ __NR_poll, K(MAIN) | K(CONTROL), 0, ARGS_ANY, "waiting for clients and requests" },
	{ __NR_ppoll, K(MAIN) | K(CONTROL) | K(VCPU) | K(BACKEND) | K(IRQ), 0, ARGS_ANY,
	  "waiting for clients and requests; a network queue's thread (io/netback.c, started by a vCPU) "
	  "waits for a kick or its port's frames; a PCI function's interrupt thread waits for its vectors" },
	{ __NR_accept4, K(MAIN) | K(CONTROL), 0, ARGS_ANY, "a new client" },
	{ __NR_recvfrom, K(MAIN) | K(CONTROL), 0, ARGS_ANY, "requests" },
	{ __NR_recvmsg, K(MAIN) | K(CONTROL), 0, ARGS_ANY, "requests" },
	{ __NR_sendmsg, K(MAIN) | K(CONTROL), 0, ARGS_ANY, "replies" },
	{ __NR_getsockopt, K(MAIN) | K(CONTROL), 0, ARGS_ANY, "SO_PEERCRED of a client" },
	{ __NR_geteuid, K(MAIN) | K(CONTROL), 0, ARGS_ANY, "whose clients to serve: our uid (and root)" },
	{ __NR_setsockopt, K(MAIN) | K(CONTROL), 0, ARGS_ANY, "timeouts on a client" },
	{ __NR_shutdown, K(MAIN) | K(CONTROL), 0, ARGS_ANY, "closing a client" },
	/* xenoprof (hv/prof.c): a recording, served on a control thread. */
	{ __NR_timer_create, K(MAIN) | K(CONTROL), 0, ARGS_ANY, "`xenith prof record`: a sampling timer per vCPU thread" },
	{ __NR_timer_settime, K(MAIN) | K(CONTROL), 0, ARGS_ANY, "`xenith prof record`: the timers' period" },
	{ __NR_timer_delete, K(MAIN) | K(CONTROL), 0, ARGS_ANY,
	  "the recording's end (control), or the domain's teardown under it (main)" },
	{ __NR_pread64, K(CONTROL), 0, ARGS_ANY, "`xenith prof record`: KVM's statistics (KVM_GET_STATS_FD)" },
	{ __NR_fcntl, K(MAIN) | K(CONTROL), 0, ARGS_FCNTL, "non-blocking clients; close-on-exec; disk locks; sealing rebuilt guest memory" },

	/* DPDK ports (io/port_dpdk.c): what the burst calls of its vdevs do on a network queue's thread. */
	{ __NR_sendto, K(BACKEND), 0, ARGS_ANY,
	  "net_af_packet's TX burst kicks its socket's TX ring (sendto MSG_DONTWAIT)" },
	/*
	 * The EAL's interrupt thread (eal-intr-thread, started by rte_eal_init
	 * before the filters) has only the main filter (TSYNC): it serves
	 * net_memif's control channel, sleeping in epoll.  Main's filter
	 * allows recvmsg, sendmsg, close, read, write and shared mmap already.
	 */
	{ __NR_epoll_wait, K(MAIN), 0, ARGS_ANY, "the EAL's interrupt thread waits for its sources" },
	{ __NR_epoll_create, K(MAIN), 0, ARGS_ANY,
	  "the EAL's interrupt thread rebuilds its epoll set when a source comes or goes (memif peer)" },
	{ __NR_epoll_create1, K(MAIN), 0, ARGS_ANY, "as epoll_create, where libc uses this one" },
	{ __NR_epoll_ctl, K(MAIN), 0, ARGS_ANY, "the EAL's interrupt thread adds its sources" },
	{ __NR_accept, K(MAIN), 0, ARGS_ANY, "a net_memif server (role=server) accepts its peer's connection" },

	/* The signal thread. */
	{ __NR_rt_sigtimedwait, K(MAIN) | K(SIGNAL), 0, ARGS_ANY, "sigwait for SIGINT, SIGTERM, SIGHUP" },

	/* The main thread: a reboot rebuilds the VM, its memory and vCPUs, and reopens the disks. */
	{ __NR_openat, K(MAIN), 0, ARGS_ANY, "reopening disk images; the CPU count (sysfs)" },
	{ __NR_newfstatat, K(MAIN), 0, ARGS_ANY, "the size of a reopened disk" },
	{ __NR_fstat, K(MAIN), 0, ARGS_ANY, "the size of a reopened disk" },
	{ __NR_memfd_create, K(MAIN), 0, ARGS_ANY, "guest memory" },
	{ __NR_mbind, K(MAIN), 0, ARGS_MBIND, "numa_node: rebuilt guest memory bound to the node" },
	{ __NR_ftruncate, K(MAIN) | K(VCPU), 0, ARGS_ANY, "sizing guest memory; rotating the console log" },
	{ __NR_copy_file_range, K(MAIN) | K(VCPU), 0, ARGS_ANY, "rotating the console log (LOG into LOG.1)" },
	{ __NR_pread64, K(MAIN) | K(VCPU), 0, ARGS_ANY, "rotating the console log: where its tail starts; "
	  "copying where copy_file_range cannot; a PCI function's command register (hv/pcidev.c)" },
	{ __NR_pwrite64, K(MAIN) | K(VCPU), 0, ARGS_ANY, "rotating the console log where copy_file_range cannot; "
	  "bus mastering of a PCI function off and on (hv/pcidev.c)" },
	{ __NR_io_uring_setup, K(MAIN), 0, ARGS_ANY, "a reopened disk's ring" },
	{ __NR_io_uring_register, K(MAIN), 0, ARGS_ANY, "a reopened disk's buffers and file" },
	{ __NR_flock, K(MAIN), 0, ARGS_ANY, "locking a reopened disk image (as fcntl's OFD locks)" },
	{ __NR_unlink, K(MAIN) | K(WATCHDOG), 0, ARGS_ANY, "removing the control socket and lock files at exit" },
	{ __NR_unlinkat, K(MAIN) | K(WATCHDOG), 0, ARGS_ANY, "removing the control socket and lock files at exit" },
	{ __NR_lseek, K(MAIN) | K(CONTROL), 0, ARGS_ANY,
	  "stdio; `xenith save`: the pages guest memory holds (SEEK_DATA, SEEK_HOLE on its memfd)" },
	{ __NR_fstat, K(CONTROL), 0, ARGS_ANY, "`xenith save`: is the stream a file (then synced)" },
	{ __NR_newfstatat, K(CONTROL), 0, ARGS_ANY, "`xenith save`: fstat, as glibc makes it" },
	{ __NR_writev, K(MAIN) | K(CONTROL), 0, ARGS_ANY, "`xenith save`: a record's header, pages and padding" },
	{ __NR_fdatasync, K(MAIN) | K(CONTROL), 0, ARGS_ANY, "`xenith save`: the stream on disk before the domain goes" },
};

/*
 * Allowed besides only when the VMM runs with XENITH_TEST_HOOKS=1: what the
 * test-only hypercalls (include/xenith/abi.h, xenith_test) need, and nothing
 * a shipped VMM's threads do.
 */
static const struct syscall_rule test_hook_rules[] = {
	{ __NR_eventfd2, K(VCPU), 0, ARGS_ANY, "XENITH_TEST_EVTCHN_LOOPBACK's kick eventfd" },
	{ __NR_ioctl, K(MAIN) | K(VCPU), 0, ARGS_IOCTL_TEST, "see test_hook_ioctl_rules" },
};

struct ioctl_rule {
	unsigned long req;
	unsigned kinds;
	const char *name, *why;
};

/*
 * ioctl request numbers, per kind.  The descriptor is not checked (its
 * number says nothing), so a vCPU thread may issue KVM_RUN on any vCPU;
 * what it cannot do is create VMs or vCPUs, map memory into the VM, or
 * push characters into a terminal (TIOCSTI).
 */
static const struct ioctl_rule ioctl_rules[] = {
	{ KVM_RUN, K(MAIN) | K(VCPU), "KVM_RUN", "the vCPU loop" },
	{ KVM_SET_REGS, K(MAIN) | K(VCPU), "KVM_SET_REGS", "a vCPU's entry point" },
	{ KVM_GET_REGS, K(MAIN) | K(VCPU) | K(CONTROL), "KVM_GET_REGS", "crash reports; `xenith save`" },
	{ KVM_GET_SREGS, K(MAIN) | K(VCPU) | K(CONTROL), "KVM_GET_SREGS",
	  "crash reports; vCPU set-up; a profiling sample's paging state (hv/prof.c); `xenith save`" },
	{ KVM_GET_VCPU_EVENTS, K(MAIN) | K(CONTROL), "KVM_GET_VCPU_EVENTS", "`xenith save`: a vCPU's state" },
	{ KVM_GET_MSRS, K(MAIN) | K(CONTROL), "KVM_GET_MSRS", "`xenith save`: a vCPU's TSC and MSRs" },
	{ KVM_GET_XCRS, K(MAIN) | K(CONTROL), "KVM_GET_XCRS", "`xenith save`: a vCPU's XCR0" },
	{ KVM_GET_XSAVE, K(MAIN) | K(CONTROL), "KVM_GET_XSAVE", "`xenith save`: a vCPU's FPU and vector state" },
	{ KVM_GET_FPU, K(MAIN) | K(CONTROL), "KVM_GET_FPU", "`xenith save`: a vCPU's FPU state without XSAVE" },
	{ KVM_SET_MSRS, K(MAIN), "KVM_SET_MSRS", "`xenith restore`: the TSC, set as the vCPUs start" },
	{ KVM_GET_STATS_FD, K(MAIN) | K(CONTROL), "KVM_GET_STATS_FD", "`xenith prof record`: KVM's statistics of the VM and vCPUs" },
	{ KVM_SET_SREGS, K(MAIN), "KVM_SET_SREGS", "vCPU set-up (rebuilt on reboot)" },
	{ KVM_INTERRUPT, K(MAIN) | K(VCPU), "KVM_INTERRUPT", "CPL-0 guests' upcall vector" },
	{ KVM_IRQ_LINE, K(MAIN) | K(VCPU), "KVM_IRQ_LINE", "Linux guests' UART interrupt" },
	{ KVM_SIGNAL_MSI, ALL, "KVM_SIGNAL_MSI",
	  "a Xen HVM guest's event-channel upcall, from whichever thread raised the event (hv/xenhvm.c)" },
	{ BLKDISCARD, K(MAIN) | K(VCPU) | K(BACKEND), "BLKDISCARD", "discard on a block device" },
	{ TUNSETQUEUE, K(MAIN) | K(VCPU), "TUNSETQUEUE",
	  "a multi-queue tap's queue attached when its frontend connects it, detached on disconnect "
	  "(io/port_tap.h; the store's watch runs on a vCPU thread, teardown on main)" },
	{ TCGETS, ALL, "TCGETS", "stdio asks whether stdout is a terminal" },
	/* Rebuilding the domain on reboot: main only. */
	{ KVM_CREATE_VM, K(MAIN), "KVM_CREATE_VM", "reboot" },
	{ KVM_CREATE_VCPU, K(MAIN), "KVM_CREATE_VCPU", "reboot" },
	{ KVM_SET_USER_MEMORY_REGION, K(MAIN), "KVM_SET_USER_MEMORY_REGION",
	  "reboot; `xenith migrate` switches the dirty log of guest memory's slots on and off (on main: "
	  "domain_run_on_main)" },
	{ KVM_GET_DIRTY_LOG, K(MAIN), "KVM_GET_DIRTY_LOG", "`xenith migrate`: the pages the guest wrote (on main)" },
	{ KVM_RESET_DIRTY_RINGS, K(MAIN) | K(VCPU), "KVM_RESET_DIRTY_RINGS",
	  "the dirty ring: `xenith migrate`'s fetch (on main), a vCPU's full ring (its own thread)" },
	{ KVM_SET_CPUID2, K(MAIN), "KVM_SET_CPUID2", "reboot" },
	{ KVM_SET_XCRS, K(MAIN), "KVM_SET_XCRS", "reboot" },
	{ KVM_GET_TSC_KHZ, K(MAIN), "KVM_GET_TSC_KHZ", "reboot" },
	{ KVM_IOEVENTFD, K(MAIN), "KVM_IOEVENTFD", "reboot: disk doorbells" },
	{ KVM_SET_TSS_ADDR, K(MAIN), "KVM_SET_TSS_ADDR", "reboot of a Linux guest" },
	{ KVM_SET_IDENTITY_MAP_ADDR, K(MAIN), "KVM_SET_IDENTITY_MAP_ADDR", "reboot of a Linux guest" },
	{ KVM_CREATE_IRQCHIP, K(MAIN), "KVM_CREATE_IRQCHIP", "reboot of a Linux guest" },
	{ KVM_CREATE_PIT2, K(MAIN), "KVM_CREATE_PIT2", "reboot of a Linux guest" },
	{ KVM_ENABLE_CAP, K(MAIN), "KVM_ENABLE_CAP",
	  "reboot: a Xen HVM guest's user-space MSR exits, a PV domain's dirty ring" },
	{ KVM_CHECK_EXTENSION, K(MAIN), "KVM_CHECK_EXTENSION",
	  "reboot: does KVM forward Xen hypercalls (Xen HVM), has it the dirty ring (PV)" },
	{ KVM_XEN_HVM_CONFIG, K(MAIN), "KVM_XEN_HVM_CONFIG", "reboot of a Xen HVM guest: KVM's Xen hypercall exits" },
	{ KVM_X86_SET_MSR_FILTER, K(MAIN), "KVM_X86_SET_MSR_FILTER",
	  "reboot of a Xen HVM guest: the hypercall MSR comes to the VMM" },
	{ BLKGETSIZE64, K(MAIN), "BLKGETSIZE64", "reboot: a block device's size" },
	/* A passed-through PCI function (hv/pcidev.c): reset and remapped at a reboot, reset and unmapped at the end. */
	{ VFIO_DEVICE_RESET, K(MAIN), "VFIO_DEVICE_RESET", "a PCI function reset at reboot and destroy" },
	{ VFIO_IOMMU_MAP_DMA, K(MAIN), "VFIO_IOMMU_MAP_DMA", "reboot: guest RAM mapped for a PCI function's DMA" },
	{ VFIO_IOMMU_UNMAP_DMA, K(MAIN), "VFIO_IOMMU_UNMAP_DMA", "reboot and destroy: guest RAM unmapped" },
	{ VFIO_DEVICE_SET_IRQS, K(MAIN), "VFIO_DEVICE_SET_IRQS",
	  "reboot and destroy: a PCI function's MSI-X vectors routed to eventfds, and unrouted" },
	{ KVM_SET_GSI_ROUTING, K(MAIN) | K(VCPU), "KVM_SET_GSI_ROUTING",
	  "a Linux guest's MSI-X table or control write (vCPU) routes a vector's MSI" },
	{ KVM_IRQFD, K(MAIN) | K(VCPU), "KVM_IRQFD",
	  "a Linux guest's MSI-X vector onto its eventfd (vCPU), and off at reboot and destroy (main)" },
};

/*
 * As test_hook_rules: ioctls only the test-only hypercalls make (on vCPU
 * threads, which the main filter, installed process-wide, covers too).
 */
static const struct ioctl_rule test_hook_ioctl_rules[] = {
	{ KVM_SET_USER_MEMORY_REGION, K(VCPU), "KVM_SET_USER_MEMORY_REGION",
	  "XENITH_TEST_DIRTY_LOG: dirty logging on and off" },
	{ KVM_GET_DIRTY_LOG, K(VCPU), "KVM_GET_DIRTY_LOG",
	  "XENITH_TEST_DIRTY_LOG: fetching the log (the main filter allows it always: `xenith migrate`)" },
};
#define NR_TEST_IOCTLS (sizeof(test_hook_ioctl_rules) / sizeof(test_hook_ioctl_rules[0]))

/* Giving memory back (free, thread stacks) and huge-page hints (glibc's malloc tunables). */
/* MADV_DONTDUMP: the DPDK EAL's memory (hugepages, dpdk_hugepages = 1) is kept out of core dumps as it is freed */
static const int madvise_advice[] = { MADV_DONTNEED, MADV_FREE, MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_DONTDUMP };
/* F_ADD_SEALS: rebuilt guest memory is sealed against resizing (membacking.c; a switch maps it). */
/* F_DUPFD_CLOEXEC: a recording's copy of a vCPU's KVM statistics fd (hv/prof.c). */
static const int fcntl_cmds[] = { F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW,
				  F_ADD_SEALS, F_DUPFD_CLOEXEC };

const char *confine_kind_name(enum confine_kind kind)
{
	static const char *const names[] = {
		[CONFINE_MAIN] = "main", [CONFINE_VCPU] = "vCPU", [CONFINE_BACKEND] = "disk backend",
		[CONFINE_CONTROL] = "control", [CONFINE_TIMER] = "timer", [CONFINE_LOOPBACK] = "loopback",
		[CONFINE_BENCH] = "bench helper", [CONFINE_SIGNAL] = "signal", [CONFINE_WATCHDOG] = "watchdog",
		[CONFINE_IRQ] = "pci interrupts",
	};
	_Static_assert(sizeof(names) / sizeof(names[0]) == CONFINE_NR_KINDS, "a name per kind");

	/* (int): an enum may be signed; thread_kind is -1 before a thread names its kind */
	return (int)kind >= 0 && (int)kind < CONFINE_NR_KINDS ? names[kind] : "main-filter-only";
}

static bool rules_allow(const struct syscall_rule *rules, size_t n, enum confine_kind kind, int nr,
			bool bench)
{
	for (size_t i = 0; i < n; i++) {
		const struct syscall_rule *r = &rules[i];

		if (r->nr == nr && r->args != ARGS_CLONE3 &&
		    ((r->kinds | (bench ? r->bench_kinds : 0)) & (1u << kind)))
			return true;
	}
	return false;
}

bool confine_kind_allows(enum confine_kind kind, int nr, bool bench)
{
	return rules_allow(syscall_rules, sizeof(syscall_rules) / sizeof(syscall_rules[0]), kind, nr, bench);
}

bool confine_kind_allows_with_test_hooks(enum confine_kind kind, int nr, bool bench)
{
	return confine_kind_allows(kind, nr, bench) ||
	       rules_allow(test_hook_rules, sizeof(test_hook_rules) / sizeof(test_hook_rules[0]), kind, nr,
			   bench);
}

bool confine_kind_allows_ioctl(enum confine_kind kind, unsigned long req)
{
	for (size_t i = 0; i < sizeof(ioctl_rules) / sizeof(ioctl_rules[0]); i++)
		if (ioctl_rules[i].req == req && (ioctl_rules[i].kinds & (1u << kind)))
			return true;
	return false;
}

bool confine_kind_allows_ioctl_with_test_hooks(enum confine_kind kind, unsigned long req)
{
	for (size_t i = 0; i < NR_TEST_IOCTLS; i++)
		if (test_hook_ioctl_rules[i].req == req && (test_hook_ioctl_rules[i].kinds & (1u << kind)))
			return true;
	return confine_kind_allows_ioctl(kind, req);
}

/* ---- compiling ---- */

static int add(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned n, const struct scmp_arg_cmp *a)
{
	int r = seccomp_rule_add_exact_array(ctx, action, nr, n, a);

	return r == -EEXIST ? 0 : r;
}

/* An argument comparison with every field set (libseccomp's SCMP_A* macros leave datum_b out). */
static struct scmp_arg_cmp eq(unsigned arg, scmp_datum_t v)
{
	return (struct scmp_arg_cmp){ .arg = arg, .op = SCMP_CMP_EQ, .datum_a = v, .datum_b = 0 };
}

static struct scmp_arg_cmp masked_eq(unsigned arg, scmp_datum_t mask, scmp_datum_t v)
{
	return (struct scmp_arg_cmp){ .arg = arg, .op = SCMP_CMP_MASKED_EQ, .datum_a = mask, .datum_b = v };
}

static int add_rule(scmp_filter_ctx ctx, const struct syscall_rule *r, enum confine_kind kind, uint32_t pid)
{
	struct scmp_arg_cmp a[2];
	int rc = 0;

	switch (r->args) {
	case ARGS_ANY:
		return add(ctx, SCMP_ACT_ALLOW, r->nr, 0, NULL);
	case ARGS_IOCTL:
		for (size_t i = 0; rc == 0 && i < sizeof(ioctl_rules) / sizeof(ioctl_rules[0]); i++) {
			if (!(ioctl_rules[i].kinds & (1u << kind)))
				continue;
			a[0] = eq(1, ioctl_rules[i].req);
			rc = add(ctx, SCMP_ACT_ALLOW, r->nr, 1, a);
		}
		return rc;
	case ARGS_IOCTL_TEST:
		for (size_t i = 0; rc == 0 && i < NR_TEST_IOCTLS; i++) {
			if (!(test_hook_ioctl_rules[i].kinds & (1u << kind)))
				continue;
			a[0] = eq(1, test_hook_ioctl_rules[i].req);
			rc = add(ctx, SCMP_ACT_ALLOW, r->nr, 1, a);
		}
		return rc;
	case ARGS_MMAP:
		a[0] = masked_eq(2, PROT_EXEC, 0);
		if (kind == CONFINE_MAIN)
			return add(ctx, SCMP_ACT_ALLOW, r->nr, 1, a);
		a[1] = masked_eq(3, MAP_ANONYMOUS | MAP_SHARED | MAP_PRIVATE,
			       MAP_ANONYMOUS | MAP_PRIVATE);
		return add(ctx, SCMP_ACT_ALLOW, r->nr, 2, a);
	case ARGS_MPROTECT:
		a[0] = masked_eq(2, PROT_EXEC, 0);
		return add(ctx, SCMP_ACT_ALLOW, r->nr, 1, a);
	case ARGS_MADVISE:
		for (size_t i = 0; rc == 0 && i < sizeof(madvise_advice) / sizeof(madvise_advice[0]); i++) {
			a[0] = eq(2, (scmp_datum_t)madvise_advice[i]);
			rc = add(ctx, SCMP_ACT_ALLOW, r->nr, 1, a);
		}
		return rc;
	case ARGS_CLONE:
		/* a thread, and no new namespace with it (root may combine them) */
		a[0] = masked_eq(0, CLONE_THREAD | CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |
					    CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP,
				 CLONE_THREAD);
		return add(ctx, SCMP_ACT_ALLOW, r->nr, 1, a);
	case ARGS_CLONE3:
		return add(ctx, SCMP_ACT_ERRNO(ENOSYS), r->nr, 0, NULL);
	case ARGS_TGKILL:
		a[0] = eq(0, (scmp_datum_t)pid);
		return add(ctx, SCMP_ACT_ALLOW, r->nr, 1, a);
	case ARGS_FALLOCATE:
		a[0] = eq(1, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE);
		return add(ctx, SCMP_ACT_ALLOW, r->nr, 1, a);
	case ARGS_FCNTL:
		for (size_t i = 0; rc == 0 && i < sizeof(fcntl_cmds) / sizeof(fcntl_cmds[0]); i++) {
			a[0] = eq(1, (scmp_datum_t)fcntl_cmds[i]);
			rc = add(ctx, SCMP_ACT_ALLOW, r->nr, 1, a);
		}
		return rc;
	case ARGS_PRCTL:
		a[0] = eq(0, PR_SET_NAME);
		return add(ctx, SCMP_ACT_ALLOW, r->nr, 1, a);
	case ARGS_MBIND:
		a[0] = eq(2, 2 /* MPOL_BIND */);
		return add(ctx, SCMP_ACT_ALLOW, r->nr, 1, a);
	case ARGS_SECCOMP:
		a[0] = eq(0, SECCOMP_SET_MODE_FILTER);
		a[1] = eq(1, 0);
		return add(ctx, SCMP_ACT_ALLOW, r->nr, 2, a);
	}
	return -EINVAL;
}

/* libseccomp 2.5 exports BPF only to a descriptor: a memfd, read back. */
static int export_bpf(scmp_filter_ctx ctx, struct sock_fprog *prog)
{
	int fd = memfd_create("xenith-seccomp", MFD_CLOEXEC), r;
	off_t len;
	void *buf;

	if (fd < 0)
		return -errno;
	r = seccomp_export_bpf(ctx, fd);
	len = r == 0 ? lseek(fd, 0, SEEK_END) : -1;
	if (r == 0 && (len <= 0 || len % (off_t)sizeof(struct sock_filter)))
		r = -EINVAL;
	buf = r == 0 ? malloc((size_t)len) : NULL;
	if (r == 0 && (!buf || pread(fd, buf, (size_t)len, 0) != len))
		r = buf ? -EIO : -ENOMEM;
	close(fd);
	if (r < 0) {
		free(buf);
		return r;
	}
	prog->filter = buf;
	prog->len = (unsigned short)(len / (off_t)sizeof(struct sock_filter));
	return 0;
}

static int add_rules(scmp_filter_ctx ctx, const struct syscall_rule *rules, size_t n, enum confine_kind kind,
		     bool bench, uint32_t pid, struct errbuf *eb)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < n; i++) {
		const struct syscall_rule *sr = &rules[i];

		if ((sr->kinds | (bench ? sr->bench_kinds : 0)) & (1u << kind)) {
			r = add_rule(ctx, sr, kind, pid);
			if (r < 0)
				errbuf_set(eb, -r, "seccomp: %s thread: rule for system call %d: %s",
					   confine_kind_name(kind), sr->nr, strerror(-r));
		}
	}
	return r;
}

int confine_compile_kind(enum confine_kind kind, bool bench, bool test_hook, uint32_t pid,
			 struct sock_fprog *prog, struct errbuf *eb)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	int r = 0;

	if (!ctx)
		return errbuf_set(eb, ENOMEM, "seccomp: libseccomp could not start a filter");
	/* i386 (int 0x80) and x32 calls are not in the list: trap them too, and say so. */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_TRAP);
	/* The hot calls first: KVM_RUN on every exit, futex, eventfd writes, io_uring. */
	if (r == 0)
		r = seccomp_syscall_priority(ctx, __NR_ioctl, 255);
	if (r == 0)
		r = seccomp_syscall_priority(ctx, __NR_futex, 254);
	if (r == 0)
		r = seccomp_syscall_priority(ctx, __NR_io_uring_enter, 253);
	if (r == 0)
		r = seccomp_syscall_priority(ctx, __NR_write, 252);
	if (r == 0)
		r = add_rules(ctx, syscall_rules, sizeof(syscall_rules) / sizeof(syscall_rules[0]), kind,
			      bench, pid, eb);
	if (r == 0 && test_hook)
		r = add_rules(ctx, test_hook_rules, sizeof(test_hook_rules) / sizeof(test_hook_rules[0]),
			      kind, bench, pid, eb);
	if (r == 0) {
		r = export_bpf(ctx, prog);
		if (r < 0)
			errbuf_set(eb, -r, "seccomp: exporting the %s filter: %s", confine_kind_name(kind),
				   strerror(-r));
	}
	seccomp_release(ctx);
	return r;
}

