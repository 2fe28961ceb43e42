/* SPDX-License-Identifier: MIT */
/*
 * The `migrate` benchmark suite (migbench.c): what save, restore and live
 * migration cost a domain, measured by running the real commands (`xenith
 * run`, `save`, `restore`, `migrate`, `migrate-receive`, `shutdown`) as
 * child processes and reading what they print.
 *
 * Series (suite "migrate", mode "xenith" unless said):
 *   save-64M-paused              ms     the save's pause of an idle 64 MiB domain
 *   to-running-64M (restore)     ms     exec of `xenith restore` to its vCPUs started
 *   to-running-64M (boot)        ms     exec of `xenith run` to its vCPU's first KVM_RUN
 *   to-running-64M (ratio)       x      per pair, boot / restore (restore's speed; the
 *                                       table prints restore / boot)
 *   restore-64M-build, -load     ms     the restore's two halves, as it reports them
 *   CASE-downtime                ms     the sender's pause to the receiver's DONE
 *   CASE-guest-gap               ms     the guest's largest gap minus its 1 ms period
 *   CASE-total, -pages, -rounds         the whole migration
 *   dirty-R-converged            0/1    per run (dirty cases)
 *   dirty-R-rate                 MB/s   what the guest reached
 *   dirty-limit                  MB/s   the lowest rate tried at which most runs did
 *                                       not converge (absent: none)
 * CASE: idle-64M, idle-1G (a `gap` domain), dirty-R (256 MiB, `dirty R 64`).
 */
#ifndef XENITH_BENCH_MIGBENCH_H
#define XENITH_BENCH_MIGBENCH_H

#include <stdbool.h>
#include <stdint.h>

#include "result.h"

struct mig_bench_opts {
	bool quick;
	unsigned repeat, warmup;   /* per case: rounds of every selected case, warm-up rounds first */
	bool (*only)(void *opaque, const char *name, bool quick_case); /* NULL: the quick or full set */
	void *opaque;
	const char *minios;        /* the bundled guest image */
	bool no_seccomp;           /* `xenith run --no-seccomp` (the stream carries it to the restore) */
};

/* 0, or -1 when a command failed or the suite was interrupted (said on stderr; nothing left running). */
int run_migrate(struct bench_run *run, const struct mig_bench_opts *o,
		void (*progress)(const char *fmt, ...));
bool mig_case_exists(const char *name);
void mig_list(void);

/*
 * What the commands print, parsed; each returns 0, or -EINVAL when text
 * has no such line (the last one counts when there are several).
 */
struct mig_saved {
	double pages, paused_ms;
};
/* `xenith save`: "saved 'NAME' to FILE: N pages, X MiB, paused Y ms" */
int mig_parse_saved(const char *text, struct mig_saved *s);

struct mig_restored {
	double pages, build_ms, load_ms, running_ms;
};
/*
 * `xenith restore`: "xenith: restored 'NAME' from FILE: N pages, built in A
 * ms, loaded in B ms, running C ms after the start of xenith"
 */
int mig_parse_restored(const char *text, struct mig_restored *s);

/* `xenith run --boot-trace`: first_run_us, in ms; -EINVAL also when it is -1 (never ran). */
int mig_parse_first_run(const char *text, double *ms);

struct mig_migrated {
	double rounds, pages, mib, final_pages, swept_pages, downtime_ms, total_ms;
	bool converged;
};
/* `xenith migrate`: "migrated 'NAME' to HOST:PORT: R rounds[ (did not converge...)], P pages (M MiB), ..." */
int mig_parse_migrated(const char *text, struct mig_migrated *m);

/* "dirty log: ..." after the migrated line: entries 0 for KVM's bitmap */
struct mig_dirty_log {
	double ring_entries, full_exits;
};
int mig_parse_dirty_log(const char *text, struct mig_dirty_log *l);

struct mig_guest {
	double wakes, pages, rate_mbs, largest_gap_us; /* pages and rate_mbs: `dirty` only, else 0 */
};
/* The last line of guest program prog: "gap" ("gap: N wakes, largest gap X us") or "dirty" (as it prints). */
int mig_parse_guest(const char *text, const char *prog, struct mig_guest *g);

/* The downtime the guest saw: its largest gap less one period of its wakes, never below 0. */
double mig_guest_gap_ms(double largest_gap_us, double period_ms);

#endif
