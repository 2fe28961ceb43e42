/* SPDX-License-Identifier: MIT */
/*
 * The host kernel's share of a vCPU thread: perf_event_open's software
 * cpu-clock event on each vCPU thread of a VMM, sampling only when the
 * thread runs in the kernel (exclude_user), with kernel call chains.
 *
 * Why: the VMM's own sampler (hv/prof.h) sees a vCPU thread either in
 * KVM_RUN, in its own exit handling, or blocked.  Time in KVM_RUN is guest
 * code plus whatever KVM does in the kernel for the vCPU (exits it handles
 * itself, instruction emulation, the world switch), and from user space the
 * two cannot be told apart.  On these hosts (PVM) a hypercall's cost is
 * mostly that kernel work.  cpu-clock needs no hardware PMU; reading kernel
 * samples of another process needs root or CAP_PERFMON (or
 * perf_event_paranoid <= 1): without them hostperf_open says so.
 *
 * The kernel-side samples are taken at the same frequency, on CPU time, as
 * the VMM's are on wall-clock time: the report counts them as hypervisor
 * time and takes them out of the guest's (xenoprof/report.c).
 */
#ifndef XENITH_XENOPROF_HOSTPERF_H
#define XENITH_XENOPROF_HOSTPERF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

#define HOSTPERF_DEPTH 48

struct hostperf;

/*
 * Opens a sampling event on each of n threads (the vCPU threads of one
 * VMM, vCPU i = tids[i]; a tid of 0 is skipped) at freq samples per second
 * of kernel CPU time.  0, or -errno with a message that says what to do.
 */
int hostperf_open(const pid_t *tids, unsigned n, unsigned freq, struct hostperf **out, struct errbuf *eb);
/*
 * The same on other threads of the VMM (its backends: disk queues, network
 * queues, control): user and kernel time both, the user address as the
 * innermost frame (the VMM is built without frame pointers: no user call
 * chain).
 */
int hostperf_open_threads(const pid_t *tids, unsigned n, unsigned freq, struct hostperf **out,
			  struct errbuf *eb);
/*
 * Calls fn for each sample taken since the last call: the vCPU index, the
 * time (CLOCK_MONOTONIC ns, perf's clock) and the kernel call chain,
 * innermost first.  Returns the number of samples.
 */
size_t hostperf_drain(struct hostperf *hp,
		      void (*fn)(void *arg, unsigned vcpu, uint64_t time_ns, const uint64_t *ips, unsigned depth),
		      void *arg);
/* Samples the kernel dropped (its ring was full) so far. */
uint64_t hostperf_lost(const struct hostperf *hp);
void hostperf_close(struct hostperf *hp);

/*
 * A host symbol table: the kernel's (/proc/kallsyms; root sees their
 * addresses) or an ELF file's functions (elfutils' libelf; the static,
 * non-PIE VMM's addresses are its link addresses).
 */
struct ksyms;
int ksyms_load(struct ksyms **out, struct errbuf *eb);
int ksyms_load_elf(const char *path, struct ksyms **out, struct errbuf *eb);
/* The function holding addr: its name, start and size (to the next symbol); NULL if none. */
const char *ksyms_lookup(const struct ksyms *k, uint64_t addr, uint64_t *start, uint64_t *size);
/* The function called name: 0 with its start and size, or -ENOENT. */
int ksyms_find(const struct ksyms *k, const char *name, uint64_t *start, uint64_t *size);
void ksyms_free(struct ksyms *k);

#endif
