/* SPDX-License-Identifier: MIT */
/* What netbench.c (the cases) and netref.c (the reference lines) share. */
#ifndef XENITH_BENCH_NETBENCH_PRIV_H
#define XENITH_BENCH_NETBENCH_PRIV_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "netbench.h"

#define NET_ARGV_MAX 32

/* What a port kind's setup made, and the programs the cases run. */
struct net_env {
	char ns[16];                  /* a network namespace of the run's own */
	char guest_if[24], native_if[24]; /* the guest's port and the native program's (under IFNAMSIZ) */
	char xnet[PATH_MAX];          /* xenith-net */
	char xenith[PATH_MAX];        /* xenith (the switch kind starts and stops a switch with it) */
	bool made;
};

/* Where a xenith-net runs in a case. */
enum net_where {
	AT_GUEST_WIRE,  /* the wire side of the guest's port (the sink of tx, the blaster of rx, the echo client) */
	AT_NATIVE_PORT, /* the guest's place, natively: xenith-net on a port of the same kind */
	AT_NATIVE_WIRE, /* the wire side of that port */
};

/* A port kind: one row per kind (netbench.c kinds[]). */
struct net_kind {
	const char *kind;
	/* Makes what the kind needs into e: 0, or -1 with the reason in why (the kind's rows are skipped). */
	int (*setup)(struct net_env *e, char *why, size_t whylen);
	/* Removes what setup made; also after a failed setup or case. */
	void (*teardown)(struct net_env *e);
	/* The guest vif's port fields ("port=tap:G,netns=NS"). */
	void (*vif)(const struct net_env *e, char *buf, size_t size);
	/* argv[0..n) that runs xenith-net at w, up to the program's name (scratch holds a word of it): n. */
	unsigned (*argv)(const struct net_env *e, enum net_where w, const char **argv, char *scratch,
			 size_t scratch_len);
	/* The guest's wire side is a second domain on the same port (domain to domain), not a xenith-net. */
	bool wire_domain;
	/*
	 * Natively, the program in the guest's place keeps its port open after
	 * its figures (hold=1) until the run stops it: the wire side always ends
	 * first.  The net_memif pair needs it (DPDK 22.11's memif PMD unmaps the
	 * shared regions from its interrupt thread while the peer may be in a
	 * burst: the sink crashed in eth_memif_rx in 2 of 5 runs without it).
	 */
	bool native_holds;
};

/*
 * CPUs (-1: not pinned): the native program in the guest's place, the
 * guest's vCPU, the netback thread, the wire side.
 */
struct net_placement {
	int inner, vcpu, backend, peer;
};

struct net_ctx {
	const struct net_kind *kind;
	struct net_env env;
	struct net_placement pl;
	char xenith[PATH_MAX];
	char dir[PATH_MAX / 2];       /* the programs' output files */
	unsigned duration_ms, echo_count;
	bool no_seccomp;
};

/* netref.c: the reference lines */
bool net_ref_exists(const char *name);
void net_ref_list(void);
bool net_refs_selected(const struct net_bench_opts *o);
int net_refs_run(struct bench_run *run, const struct net_bench_opts *o, const struct net_ctx *c,
		 void (*progress)(const char *fmt, ...));
void net_refs_print(const struct bench_run *run, bool header_printed);

#endif
