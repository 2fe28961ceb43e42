/* SPDX-License-Identifier: MIT */
/* The soak suite's parts (cmd_soak.c, soak_vmm.c, soak_child.c): its context and helpers. */
#ifndef XENITH_TOOLS_SOAK_PRIV_H
#define XENITH_TOOLS_SOAK_PRIV_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../bench/procsample.h"
#include "soak.h"

#define LINE_TIMEOUT_MS 120000     /* the longest silence of a worker or VMM before we give up */
#define DISK_BYTES (16 << 20)

struct soak_ctx;

struct scenario {
	const char *name;
	const char *cycle;        /* what one cycle is, for people */
	unsigned long full, quick, every;
	int (*run)(struct soak_ctx *x);
};

struct samples {
	size_t n, cap;
	double *x;                /* the cycle each sample follows */
	double *t;                /* seconds since the scenario started */
	struct proc_sample *s;
	long *guest_free;         /* disk-churn: the guest's free pages; else -1 */
};

struct soak_ctx {
	const struct scenario *sc;
	const struct soak_opts *o;
	unsigned long cycles;
	char dir[PATH_MAX];       /* scratch: disk images, the run directory */
	char self[PATH_MAX], xenith[PATH_MAX];
	struct samples smp;
	uint64_t t0;
	char why[768];            /* what stopped the scenario */
	char detail[256];         /* a line for the table: what the guest reported */
};

/* Records a sample of pid taken after `cycle`; guest_free -1 when unknown. */
int soak_take_sample(struct soak_ctx *x, pid_t pid, double cycle, long guest_free);
/* Says why the scenario stopped (x->why); returns -1. */
int soak_fail(struct soak_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A file of `bytes` (sparse) named `name` in the scenario's scratch directory: 0 or -errno. */
int soak_make_file(const struct soak_ctx *x, const char *name, off_t bytes, char *path, size_t size);

/* The scenarios that drive a `xenith run` VMM (soak_vmm.c). */
int soak_run_reboot(struct soak_ctx *x);
int soak_run_disk_churn(struct soak_ctx *x);

/* A child process with its stdout and stderr read line by line (soak_child.c). */
struct child {
	pid_t pid;
	int in_fd, fd[2];         /* fd[0]: its stdout, fd[1]: its stderr */
	char buf[2][8192];
	size_t len[2];
	char tail[2][512];        /* its last lines, for messages */
	int status;
};

int child_spawn(struct child *ch, char *const argv[], bool want_stdin);
/*
 * The next complete line from the child, *stream 0 (stdout) or 1 (stderr).
 * 1: a line; 0: both pipes closed; -ETIMEDOUT: nothing for timeout_ms.
 */
int child_line(struct child *ch, char *line, size_t size, int *stream, int timeout_ms);
/* Waits for the child to end (killing it after timeout_ms); its exit status, or 128 + signal. */
int child_reap(struct child *ch, int timeout_ms);
void child_kill(struct child *ch);

#endif
