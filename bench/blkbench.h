/* SPDX-License-Identifier: MIT */
/* The `blk` benchmark suite (blkbench.c): guests through the block split driver against fio. */
#ifndef XENITH_BENCH_BLKBENCH_H
#define XENITH_BENCH_BLKBENCH_H

#include <stdbool.h>

#include "result.h"

struct blk_bench_opts {
	bool quick;
	unsigned repeat, warmup;
	bool (*only)(void *opaque, const char *job); /* NULL: every job */
	void *opaque;
	bool no_seccomp; /* the guests' VMMs run with --no-seccomp */
};

/* 0 (also when fio is missing: the run's note says so), -1 on failure (said on stderr). */
int run_blk(struct bench_run *run, const struct blk_bench_opts *o, void (*progress)(const char *fmt, ...));
void bench_print_blk(const struct bench_run *run);
bool blk_job_exists(const char *name);
void blk_list(void);

#endif
