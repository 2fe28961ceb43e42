/* SPDX-License-Identifier: MIT */
#ifndef XENITH_TOOLS_DENSITY_H
#define XENITH_TOOLS_DENSITY_H

#include <stdbool.h>

#include "../bench/result.h"
#include "kvm.h"

/* The density suite: idle domains up to max (1, 10, 100, ...) against bare VMs, then busy fairness. */
int run_density(struct bench_run *run, struct kvm_sys *kvm, unsigned long max, bool quick);
int cmd_bench_worker(int argc, char **argv);

#endif
