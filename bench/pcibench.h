/* SPDX-License-Identifier: MIT */
/*
 * The `pci` benchmark suite (pcibench.c): the same block jobs on an NVMe
 * virtual function passed through to a minios guest, on a PV disk backed
 * by the namespace it serves, and natively on the same function through
 * VFIO with the same driver code.  Runs only when named: it needs an
 * IOMMU, an NVMe VF on vfio-pci and root.
 */
#ifndef XENITH_BENCH_PCIBENCH_H
#define XENITH_BENCH_PCIBENCH_H

#include <stdbool.h>

#include "result.h"

struct pci_bench_opts {
	bool quick;
	unsigned repeat, warmup;
	bool (*only)(void *opaque, const char *job); /* NULL: every job */
	void *opaque;
	bool no_seccomp;
};

/* 0 (also when nothing to run on: the run's note says why), -1 on failure (said on stderr). */
int run_pci(struct bench_run *run, const struct pci_bench_opts *o, void (*progress)(const char *fmt, ...));
void bench_print_pci(const struct bench_run *run);
bool pci_job_exists(const char *name);
void pci_list(void);

#endif
