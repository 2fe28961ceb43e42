/* SPDX-License-Identifier: MIT */
/* The `soak` suite of `xenith bench` (cmd_soak.c) and its create/destroy worker (soak_worker.c). */
#ifndef XENITH_TOOLS_SOAK_H
#define XENITH_TOOLS_SOAK_H

#include <stdbool.h>

#include "../bench/result.h"

struct soak_opts {
	bool quick;                  /* the short version (CI's) */
	unsigned long cycles;        /* overrides every scenario's cycle count when not 0 */
	bool (*only)(void *opaque, const char *scenario); /* NULL: every scenario */
	void *opaque;
	void (*progress)(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
};

/*
 * Runs the scenarios, records each sampled figure with its trend and
 * verdict (results/SCHEMA.md) and prints a table.  Returns how many
 * figures were not flat, or -1 when a scenario could not run (said on
 * stderr and in the run's note).
 */
int run_soak(struct bench_run *run, const struct soak_opts *o);
bool soak_scenario_exists(const char *name);
void soak_list(void);

/* `xenith-bench soak-worker CYCLES EVERY DISK`: scenario create-destroy's process. */
int cmd_soak_worker(int argc, char **argv);

#endif
