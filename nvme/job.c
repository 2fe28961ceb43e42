// SPDX-License-Identifier: MIT
/* A fio-like load on one controller (job.h). */
#include "job.h"

#include <string.h>

int nvme_job_run(struct nvme_ctrl *c, const struct nvme_job *j, struct nvme_job_result *r)
{
	struct nvme_done done[NVME_JOB_MAX_DEPTH];
	uint64_t t0[NVME_JOB_MAX_DEPTH];
	bool busy[NVME_JOB_MAX_DEPTH] = { false }, write[NVME_JOB_MAX_DEPTH] = { false };
	uint64_t rng = 0x9e3779b97f4a7c15ull ^ j->seed, seq = 0, start, end, last;
	uint32_t stale0 = nvme_sqhd_stale(c);
	uint64_t bytes = (uint64_t)j->blocks_per_io << c->lba_shift;
	unsigned inflight = 0;
	bool stop = false;

	memset(r, 0, sizeof(*r));
	if (!j->iodepth || j->iodepth > NVME_JOB_MAX_DEPTH || j->iodepth >= nvme_qdepth(c) || !j->units ||
	    !j->blocks_per_io || j->blocks_per_io > nvme_max_blocks(c) || (!j->rd && !j->wr) ||
	    j->units > nvme_ns_blocks(c) / j->blocks_per_io)
		return -NVME_EINVAL;
	if (!rng)
		rng = 1; /* xorshift's one fixed point */
	start = c->ops.now_ns(c->ops.ctx);
	end = start + j->runtime_ns;
	last = start;
	for (;;) {
		uint64_t now = c->ops.now_ns(c->ops.ctx);
		int n;

		while (!stop && inflight < j->iodepth && now < end && (!j->number_ios || r->issued < j->number_ios)) {
			unsigned s = 0;
			bool w = j->wr && (!j->rd || (blk_xorshift(&rng) & 1));
			uint64_t u = j->rnd ? blk_xorshift(&rng) % j->units : seq++ % j->units;
			int e;

			while (busy[s])
				s++;
			e = nvme_submit_rw(c, w, u * j->blocks_per_io, j->blocks_per_io, j->buf_iova[s], s);
			if (e == -NVME_EAGAIN)
				break;
			if (e < 0) {
				r->error = e;
				goto failed;
			}
			busy[s] = true;
			write[s] = w;
			t0[s] = now;
			r->issued++;
			inflight++;
		}
		if (!inflight)
			break;
		n = nvme_reap(c, done, NVME_JOB_MAX_DEPTH);
		if (n == 0 && j->wait && j->spin_ns) {
			uint64_t ts = c->ops.now_ns(c->ops.ctx);

			while (!(n = nvme_reap(c, done, NVME_JOB_MAX_DEPTH)) && c->ops.now_ns(c->ops.ctx) - ts < j->spin_ns)
				;
		}
		if (n < 0) {
			r->error = n;
			goto failed;
		}
		if (n == 0) {
			if (c->ops.now_ns(c->ops.ctx) - last > NVME_JOB_STALL_NS) {
				r->error = -NVME_ETIMEDOUT;
				goto failed;
			}
			if (j->wait) {
				j->wait(j->wait_ctx);
				r->waits++;
			}
			continue;
		}
		now = c->ops.now_ns(c->ops.ctx);
		last = now;
		for (int i = 0; i < n; i++) {
			unsigned s = (unsigned)done[i].tag, d;

			if (s >= NVME_JOB_MAX_DEPTH || !busy[s]) { /* the driver checked the command id: cannot happen */
				r->error = -NVME_EBADCID;
				goto failed;
			}
			busy[s] = false;
			inflight--;
			if (done[i].status) {
				if (!r->errors)
					r->first_status = done[i].status;
				r->errors++;
				stop |= j->stop_on_error;
				continue;
			}
			d = write[s];
			r->st[d].ios++;
			r->st[d].bytes += bytes;
			r->st[d].lat_sum += now - t0[s];
			r->hist[d][blk_bucket_of(now - t0[s])]++;
		}
	}
	r->runtime_ns = c->ops.now_ns(c->ops.ctx) - start;
	r->sqhd_stale = nvme_sqhd_stale(c) - stale0;
	return r->errors ? 1 : 0;
failed:
	r->errors += inflight; /* the device may still own their buffers */
	r->runtime_ns = c->ops.now_ns(c->ops.ctx) - start;
	r->sqhd_stale = nvme_sqhd_stale(c) - stale0;
	return r->error;
}
