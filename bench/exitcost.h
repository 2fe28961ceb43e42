/* SPDX-License-Identifier: MIT */
/*
 * Exit and notification costs, measured from inside the guest, and the
 * native analogue each is compared with (measured by the runner).
 */
#ifndef XENITH_BENCH_EXITCOST_H
#define XENITH_BENCH_EXITCOST_H

/* Case ids in bench_report: workloads are 0..wl_nr_cases-1, these follow the base. */
#define BENCH_EXIT_CASE_BASE 1000u
/* The density suite's busy loop reports its rounds under this id. */
#define BENCH_BUSY_CASE 2000u

enum exit_case {
	EXIT_HYPERCALL,  /* null hypercall: port-I/O exit handled in the VMM */
	EXIT_IOEVENTFD,  /* doorbell write caught by an ioeventfd in the kernel */
	EXIT_MMIO,       /* write to an unbacked page: MMIO exit to the VMM */
	EXIT_EVTCHN_RTT, /* doorbell -> VMM thread -> event pending seen by the guest */
	EXIT_SHMEM_RTT,  /* ping-pong on shared memory with a VMM thread: no exit */
	NR_EXIT_CASES,
};

struct exit_case_info {
	const char *name;
	const char *analogue;      /* the native case it is compared with */
	unsigned iterations;       /* per repetition (a quarter with --quick) */
};

static const struct exit_case_info exit_cases[NR_EXIT_CASES] = {
	[EXIT_HYPERCALL] = { "hypercall", "getppid", 20000 },
	[EXIT_IOEVENTFD] = { "ioeventfd", "eventfd-write", 100000 },
	[EXIT_MMIO] = { "mmio", "getppid", 20000 },
	[EXIT_EVTCHN_RTT] = { "evtchn-rtt", "futex-rtt", 20000 },
	[EXIT_SHMEM_RTT] = { "shmem-rtt", "shmem-rtt-native", 200000 },
};

#endif
