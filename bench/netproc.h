/* SPDX-License-Identifier: MIT */
/*
 * Processes for the `net` suite (netbench.c): started pinned to a CPU with
 * their output in a file, waited for by a line they print or by their
 * exit, stopped and reaped on every path; threads of another process
 * pinned by name (a VMM's netback thread) and their CPUs read back.
 */
#ifndef XENITH_BENCH_NETPROC_H
#define XENITH_BENCH_NETPROC_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct nproc {
	pid_t pid;           /* 0: not started, or reaped */
	int status;          /* exit status once reaped (128 + signal), else -1 */
	char out[PATH_MAX];  /* stdout and stderr */
};

/* Starts argv with its CPU affinity cpu (-1: every online CPU), output to out.  0 or -errno. */
int nproc_start(struct nproc *p, const char *const *argv, int cpu, const char *out);
/*
 * Set (to the signal's number) by the suite's SIGINT/SIGTERM handler: the
 * waits below then return false at once, so the suite unwinds, stops its
 * programs and removes its namespaces before it ends.
 */
extern volatile sig_atomic_t nproc_interrupted;

/* Waits until the output has needle (true), or the process ended without it, timeout_s passed or an interrupt came (false). */
bool nproc_wait_line(struct nproc *p, const char *needle, double timeout_s);
/* Waits up to timeout_s for the exit (less after an interrupt): true once reaped (p->status). */
bool nproc_wait_exit(struct nproc *p, double timeout_s);
/* SIGTERM, up to 5 s, then SIGKILL; reaps (also after an interrupt).  No-op when not running. */
void nproc_stop(struct nproc *p);
/* The output so far (malloc'd; "" when there is none), NULL only without memory. */
char *nproc_output(const struct nproc *p);
/* The text after the last "prefix" in p's output up to the line's end (malloc'd), or NULL. */
char *nproc_line(const struct nproc *p, const char *prefix);

/* Pins every thread of pid named comm to cpu: how many (0: none of that name). */
int nproc_pin_threads(pid_t pid, const char *comm, int cpu);
/* The CPUs of pid's first thread named comm (NULL: the process) as a list "0" or "0-1", "?" if unknown. */
void nproc_thread_cpus(pid_t pid, const char *comm, char *buf, size_t size);

/* Runs argv to its end, output discarded: its exit status, -1 if it could not start. */
int nproc_run(const char *const *argv);
/* Removes path and everything under it (best effort: what is left stays). */
void nproc_remove_tree(const char *path);
/* true when name is an executable in $PATH. */
bool nproc_have(const char *name);

#endif
