/* SPDX-License-Identifier: MIT */
/*
 * The `net` benchmark suite (netbench.c): guests through the network split
 * driver against the same programs natively on the same kind of port, and
 * the host's own reference lines (dpdk-testpmd, iperf3 -u over veth).
 */
#ifndef XENITH_BENCH_NETBENCH_H
#define XENITH_BENCH_NETBENCH_H

#include <stdbool.h>

#include "result.h"

struct net_bench_opts {
	bool quick;
	unsigned repeat, warmup;
	bool (*only)(void *opaque, const char *name, bool quick_case); /* NULL: every case */
	void *opaque;
	bool no_seccomp; /* the guests' VMMs run with --no-seccomp */
};

/* 0 (also when the suite cannot run here: the run's note says why), -1 on failure (said on stderr). */
int run_net(struct bench_run *run, const struct net_bench_opts *o, void (*progress)(const char *fmt, ...));
void bench_print_net(const struct bench_run *run);
/* NAME is a case of the suite: "tap-tx-64" (every mode), "tap-tx-64@poll", or a reference ("iperf3-udp-64"). */
bool net_case_exists(const char *name);
void net_list(void);

#endif
