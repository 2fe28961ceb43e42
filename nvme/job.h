/* SPDX-License-Identifier: MIT */
/*
 * A fio-like load on one controller's I/O queue pair (nvme/drv.h): up to
 * iodepth commands in flight, each one I/O of blocks_per_io blocks into or
 * out of a buffer of its own, at random or sequential offsets, until a run
 * time or a number of I/Os; completion latencies in a histogram
 * (include/blkhist.h).  Freestanding like the driver: minios runs it as
 * `blk ... pci=I`, the VFIO harness natively, so that the guest's figures
 * and the native ones come from the same code.
 */
#ifndef XENITH_NVME_JOB_H
#define XENITH_NVME_JOB_H

#include <stdbool.h>
#include <stdint.h>

#include "blkhist.h"
#include "drv.h"

#define NVME_JOB_MAX_DEPTH 64u
#define NVME_JOB_STALL_NS 5000000000ull /* no completion for this long, commands in flight: the job fails */

struct nvme_job {
	bool rnd, rd, wr;         /* rw: random or sequential; reads, writes or both (half and half) */
	bool stop_on_error;       /* no new I/O after a failed one (fio's default) */
	uint32_t blocks_per_io;   /* LBAs per I/O, at most nvme_max_blocks */
	unsigned iodepth;         /* 1..NVME_JOB_MAX_DEPTH, below nvme_qdepth */
	uint64_t units;           /* I/O-sized units of the region, from LBA 0 */
	uint64_t runtime_ns;      /* ends after this, */
	uint64_t number_ios;      /* or after this many I/Os (0: no limit) */
	uint64_t seed;
	uint64_t spin_ns;         /* with a wait hook: look at the queue this long before calling it */
	uint64_t buf_iova[NVME_JOB_MAX_DEPTH]; /* one buffer per slot, blocks_per_io blocks each */
	/* Called when nothing is there to reap: block for an interrupt, or relax; NULL: spin. */
	void (*wait)(void *ctx);
	void *wait_ctx;
};

struct nvme_job_result {
	struct blk_dir_stats st[2];          /* [0] reads, [1] writes that succeeded */
	uint32_t hist[2][BLK_NBUCKETS];
	uint64_t runtime_ns, issued, errors; /* errors: I/Os that failed (or were in flight when the job failed) */
	uint64_t waits;                      /* calls of the wait hook */
	uint32_t sqhd_stale;                 /* completions whose SQ head the driver did not believe */
	uint16_t first_status;               /* the first failed I/O's status */
	int error;                           /* 0, or -enum nvme_error that ended the job early */
};

/*
 * The job's result as one fio-shaped JSON document (blk's "blk-json:"
 * fields, plus the mode and the interrupt waits), printed in three parts
 * (minios's printf formats at most 512 bytes at a time):
 *   printf("blk-json: " NVME_JOB_JSON_HEAD, NVME_JOB_JSON_HEAD_ARGS(...));
 *   printf(BLK_DIR_JSON ",", BLK_DIR_JSON_ARGS("read", rd));
 *   printf(BLK_DIR_JSON NVME_JOB_JSON_TAIL "\n", BLK_DIR_JSON_ARGS("write", wr));
 * with rd and wr from blk_summarize.
 */
#define NVME_JOB_JSON_HEAD                                                                                   \
	"{\"jobs\":[{\"jobname\":\"%s\",\"bdf\":\"%s\",\"mode\":\"%s\",\"bs\":%llu,\"iodepth\":%u,\"numjobs\":1,"     \
	"\"spin_us\":%llu,\"spin_auto\":false,\"runtime_ns\":%llu,\"errors\":%llu,\"kicks\":%llu,\"waits\":%llu,"      \
	"\"irq_events\":%llu,\"irq_timeouts\":%llu,\"sqhd_stale\":%u,\"job_ios\":[%llu],"
#define NVME_JOB_JSON_HEAD_ARGS(rw, bdf, mode, bs, job, res, events, timeouts)                                    \
	(rw), (bdf), (mode), (unsigned long long)(bs), (job).iodepth, (unsigned long long)((job).spin_ns / 1000),     \
	(unsigned long long)(res).runtime_ns, (unsigned long long)(res).errors, (unsigned long long)(res).issued,   \
	(unsigned long long)(res).waits, (unsigned long long)(events), (unsigned long long)(timeouts),              \
	(res).sqhd_stale, (unsigned long long)((res).st[0].ios + (res).st[1].ios)
#define NVME_JOB_JSON_TAIL "}]}"

/* 0 when every I/O succeeded; -NVME_EINVAL for a bad job; else as r->error, or 1 when I/Os failed. */
int nvme_job_run(struct nvme_ctrl *c, const struct nvme_job *j, struct nvme_job_result *r);

#endif
