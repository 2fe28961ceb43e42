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

/*
 * One started xenith.  out and err hold everything it printed (they grow;
 * NUL-terminated; never NULL once started).  The process runs in its own
 * process group; every group a test process started is killed and reaped by
 * harness_teardown() and at exit, so a failed assertion leaves nothing running.
 */
struct proc {
	pid_t pid;
	int out_fd, err_fd;
	char *out, *err;
	size_t out_len, err_len, out_cap, err_cap;
	int status;     /* exit status, or 128 + signal */
	bool exited;    /* set by proc_wait() and proc_alive() once it was reaped */
};

/* RUN(&p, timeout_s, "arg", ...): runs `xenith ARGS...` to completion (run_xenith). */
#define RUN(p, timeout, ...) run_xenith(p, timeout, (const char *const[]){ __VA_ARGS__, NULL })

/*
 * When /dev/kvm cannot be used, prints the TAP plan "1..0 # SKIP <reason>" and
 * exits 0: meson's TAP parser counts a non-zero exit as an error, even 77.
 */
void harness_require_kvm(void);
#include "skip.h" /* SKIP_BECAUSE(why) */

/* True when the host's KVM runs CPL-0 guest code natively (kvm_intel, kvm_amd loaded). */
bool harness_host_runs_cpl0(void);
/*
 * True inside the lab machine (ci/lab/init sets XENITH_LAB): single-threaded
 * TCG, where one busy thread can keep a guest vCPU from running for over a
 * second, which a test timing the guest's own progress must allow for.
 */
bool harness_in_lab(void);
/* The KVM vendor module this host runs ("kvm_pvm", "kvm_intel", "kvm_amd"), as xenith finds it. */
const char *harness_kvm_module(void);
/*
 * A fresh run directory for this test process (BASE/run, 0700); sets
 * XENITH_RUN_DIR.  BASE (/tmp/xenith-test-XXXXXX) is removed at exit unless
 * XENITH_TEST_KEEP=1; a test killed by a signal (meson's timeout) kills its
 * processes but leaves BASE, for the post-mortem.
 */
const char *harness_run_dir(void);
/* BASE/files: a scratch directory for images, configs and results, removed with BASE. */
const char *harness_tmpdir(void);
/* harness_tmpdir()/name into buf; returns buf. */
char *harness_path(char *buf, size_t size, const char *name);
const char *harness_xenith(void);
const char *harness_minios(void);
/* The bundled image, without the test programs ($XENITH_MINIOS_BUNDLED, else the build tree). */
const char *harness_minios_bundled(void);

/* Starts `xenith ARGS...` (NULL-terminated). */
void proc_start(struct proc *p, const char *const *args);
/* The same inside network namespace NETNS (`ip netns add` made it: /run/netns/NETNS). */
void proc_start_in_netns(struct proc *p, const char *netns, const char *const *args);
/* Reads output until the process exits or timeout_s passes (then kills it: status 137). */
void proc_wait(struct proc *p, double timeout_s);
/* Reads output until stdout contains needle; false on timeout or exit. */
bool proc_wait_output(struct proc *p, const char *needle, double timeout_s);
/* CLOCK_MONOTONIC in seconds. */
double harness_now_s(void);
struct jv;
/*
 * The "net-json: {...}" line of p's output (a network program's result),
 * parsed, waiting up to timeout_s for it; NULL with the reason in why
 * when none came or it is not JSON.  The caller frees it (jv_free).
 */
struct jv *proc_net_json(struct proc *p, double timeout_s, char *why, size_t whylen);
/* Counts occurrences of needle in the stdout collected so far (after pumping output). */
unsigned proc_count(struct proc *p, const char *needle);
void proc_pump(struct proc *p, double seconds);

/* Runs `xenith ARGS...` to completion. */
int run_xenith(struct proc *p, double timeout_s, const char *const *args);

/* True while p runs; reaps it (sets exited and status) once it has ended. */
bool proc_alive(struct proc *p);
/* SIGKILLs p's process group and reaps it, if it still runs. */
void proc_kill(struct proc *p);
/*
 * Kills and reaps every process group this test process started that still
 * runs, and says so on stderr; unsets XENITH_TEST_HOOKS (a test sets it only
 * for the runs that use test-only hypercalls).  A CMocka teardown: use it with
 * cmocka_unit_test_teardown(), or call it from a test's own teardown.
 */
int harness_teardown(void **state);
/* p outlives single tests (a group's bystander): harness_teardown() leaves it, exit kills it. */
void proc_outlives_tests(struct proc *p);

/*
 * Whole lines, not substrings: "tick 1" is not found in "tick 10".  line is
 * the text without its newline; the last line counts only once it ended.
 */
unsigned proc_count_lines(struct proc *p, const char *line);
/* Reads output until stdout has the line `line`; false on timeout or exit. */
bool proc_wait_line(struct proc *p, const char *line, double timeout_s);
/* Reads output until needle occurs at least n times in stdout; false on timeout or exit. */
bool proc_wait_count(struct proc *p, const char *needle, unsigned n, double timeout_s);
/*
 * The STATE column of NAME's row in `xenith list` (running, paused, crashed,
 * no-reply, ...) into state; false when no row names it.
 */
bool harness_domain_state(const char *name, char *state, size_t size);
/* Polls `xenith list` until NAME's row shows state; false after timeout_s. */
bool harness_wait_domain_state(const char *name, const char *state, double timeout_s);

#endif
