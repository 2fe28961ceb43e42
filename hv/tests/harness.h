/* SPDX-License-Identifier: MIT */
/*
 * kvm-tier helpers: run the real `xenith` binary against the real minios
 * guest, with a private run directory, and collect what it printed and
 * how it exited.
 */
#ifndef XENITH_TESTS_HARNESS_H
#define XENITH_TESTS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct proc {
	pid_t pid;
	int out_fd, err_fd;
	char out[65536], err[65536];
	size_t out_len, err_len;
	int status;     /* exit status, or 128 + signal */
	bool exited;
};

/* Exits 77 (a visible skip for meson) when /dev/kvm cannot be used. */
void harness_require_kvm(void);
/* A visible skip (for CMocka tests): the reason goes to the TAP log first. */
#define SKIP_BECAUSE(why) do { printf("# skip: %s\n", (why)); fflush(stdout); skip(); } while (0)

/* True when the host's KVM runs CPL-0 guest code natively (kvm_intel, kvm_amd loaded). */
bool harness_host_runs_cpl0(void);
/* A fresh run directory for this test process; sets XENITH_RUN_DIR. */
const char *harness_run_dir(void);
const char *harness_xenith(void);
const char *harness_minios(void);

/* Starts `xenith ARGS...` (NULL-terminated). */
void proc_start(struct proc *p, const char *const *args);
/* Reads output until the process exits or timeout_s passes (then kills it: status 137). */
void proc_wait(struct proc *p, double timeout_s);
/* Reads output until stdout contains needle; false on timeout or exit. */
bool proc_wait_output(struct proc *p, const char *needle, double timeout_s);
/* Counts occurrences of needle in the stdout collected so far (after pumping output). */
unsigned proc_count(struct proc *p, const char *needle);
void proc_pump(struct proc *p, double seconds);

/* Runs `xenith ARGS...` to completion. */
int run_xenith(struct proc *p, double timeout_s, const char *const *args);

#endif
