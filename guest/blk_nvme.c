// SPDX-License-Identifier: MIT
/*
 * blk ... pci=I: the `blk run` load (blk.c; the same options and the same
 * "blk-json:" line) on the NVMe function passed through as the domain's
 * PCI function I, through minios's NVMe driver (nvmedev.h) instead of
 * blkfront: one job (nvme/job.h) on the controller's one I/O queue pair,
 * up to iodepth commands in flight, each I/O one command of bs bytes from
 * a buffer of its own (guest-physical = IOVA).
 *
 * Options that apply: rw, bs (a multiple of the namespace's block size, at
 * most what one command takes), iodepth (below the queue's depth), size,
 * runtime, number_ios, stop_on_error, seed, spin (spin=US: look at the
 * completion queue that long before blocking on the event channel; auto,
 * the default, blocks at once), irq=0 (poll the queue instead of taking
 * MSI-X through an event channel).  numjobs must be 1.  The JSON says
 * "mode":"msix" or "poll", names the function ("bdf") and counts the
 * event-channel waits (irq_events, irq_timeouts) besides blk's fields
 * (nvme/job.h's NVME_JOB_JSON_*, which the native run prints too).
 */
#include "blkjob.h"
#include "job.h"
#include "nvmedev.h"

static struct nvme_dev dev;
static struct nvme_job job;
static struct nvme_job_result res;
static void *bufs[NVME_JOB_MAX_DEPTH];

static void wait_irq(void *ctx)
{
	nvme_dev_wait(ctx);
}

int blk_run_nvme(const struct blk_opts *o, unsigned pci, bool irq)
{
	struct blk_dir_summary rd, wr;
	unsigned pages, maxdepth;
	uint64_t region;
	uint32_t bsz;
	int r;

	job = (struct nvme_job){ .seed = o->seed, .stop_on_error = o->stop_on_error != 0,
				 .runtime_ns = o->runtime_ms * 1000000ull, .number_ios = o->number_ios };
	if (!blk_rw_parse(o->rw, &job.rnd, &job.rd, &job.wr))
		return 2;
	if (o->numjobs != 1) {
		printf("blk: pci=%u: numjobs=%lu: the NVMe driver drives one I/O queue pair (numjobs=1)\n", pci,
		       o->numjobs);
		return 2;
	}
	if (nvme_dev_open(pci, irq, &dev) < 0)
		return 3;
	bsz = nvme_block_size(&dev.c);
	maxdepth = nvme_qdepth(&dev.c) - 1 < NVME_JOB_MAX_DEPTH ? nvme_qdepth(&dev.c) - 1 : NVME_JOB_MAX_DEPTH;
	region = nvme_ns_blocks(&dev.c) * bsz;
	if (o->size && o->size < region)
		region = o->size;
	if (o->bs == 0 || o->bs % bsz || o->bs / bsz > nvme_max_blocks(&dev.c) || o->iodepth == 0 ||
	    o->iodepth > maxdepth || region < o->bs) {
		printf("blk: pci=%u: bs must be a multiple of %u up to %u bytes and at most size, iodepth 1 to %u\n", pci,
		       bsz, nvme_max_blocks(&dev.c) * bsz, maxdepth);
		nvme_dev_close(&dev);
		return 2;
	}
	job.blocks_per_io = (uint32_t)(o->bs / bsz);
	job.iodepth = (unsigned)o->iodepth;
	job.units = region / o->bs;
	job.spin_ns = dev.port ? o->spin_us * 1000 : 0;
	job.wait = wait_irq;
	job.wait_ctx = &dev;
	pages = (unsigned)((o->bs + 4095) / 4096);
	for (unsigned s = 0; s < job.iodepth; s++) {
		if (!bufs[s])
			bufs[s] = alloc_pages(pages);
		if (!bufs[s]) {
			printf("blk: pci=%u: no memory for %u buffers of %lu bytes\n", pci, job.iodepth, o->bs);
			nvme_dev_close(&dev);
			return 3;
		}
		job.buf_iova[s] = (uint64_t)(uintptr_t)bufs[s];
	}
	r = nvme_job_run(&dev.c, &job, &res);
	if (r < 0)
		printf("blk: pci=%u: the job ended early: %s (%llu I/Os done)\n", pci, nvme_strerror(r),
		       (unsigned long long)(res.st[0].ios + res.st[1].ios));
	else if (res.errors)
		printf("blk: pci=%u: %llu I/O(s) failed, the first with %s (status 0x%x)\n", pci,
		       (unsigned long long)res.errors, nvme_status_str(res.first_status), res.first_status);
	rd = blk_summarize(&res.st[0], res.hist[0], res.runtime_ns);
	wr = blk_summarize(&res.st[1], res.hist[1], res.runtime_ns);
	printf("blk-json: " NVME_JOB_JSON_HEAD, NVME_JOB_JSON_HEAD_ARGS(o->rw, dev.bdf, dev.port ? "msix" : "poll", o->bs,
									   job, res, dev.events, dev.timeouts));
	printf(BLK_DIR_JSON ",", BLK_DIR_JSON_ARGS("read", rd));
	printf(BLK_DIR_JSON NVME_JOB_JSON_TAIL "\n", BLK_DIR_JSON_ARGS("write", wr));
	/* After a failure the device may still own the buffers: they stay allocated; the shutdown stops it. */
	nvme_dev_close(&dev);
	return r < 0 || res.errors ? 1 : 0;
}
