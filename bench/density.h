/* SPDX-License-Identifier: MIT */
/*
 * The density suite: idle domains up to max (1, 10, 100, ...) against bare
 * KVM VMs, each kind booted by worker processes (xenith-bench bench-worker),
 * then busy fairness.  It boots domains: it links the hypervisor (hv/).
 */
#ifndef XENITH_BENCH_DENSITY_H
#define XENITH_BENCH_DENSITY_H

#include <stdbool.h>

#include "kvm.h"
#include "result.h"

/* minios: the guest image every domain boots (the bundled minios). */
int run_density(struct bench_run *run, struct kvm_sys *kvm, unsigned long max, bool quick,
		const char *minios);
/*
 * A worker process: boots count idle domains (ids from base on) or bare VMs,
 * says so on stdout ("boot US", "ready N", "fail ID WHY"), holds them until
 * stdin closes, then destroys them; the exit status.
 */
int density_worker(bool bare, unsigned long count, unsigned long base, const char *minios);

#endif
