// SPDX-License-Identifier: MIT
/*
 * The NVMe driver's I/O path (nvme/drv.h): submission with PRPs, reaping
 * completions, the synchronous helpers.  Freestanding, as drv.c.
 */
#include "queue.h"

#define PRP_LIST_BYTES (NVME_PRP_LIST_ENTRIES * 8u)
#define CID_GEN_MASK 0x7fu /* cid = slot | gen << 8 never reaches FFFFh, which Abort reserves */

_Static_assert(NVME_MAX_QDEPTH <= 256, "the slot index is the command id's low byte");
_Static_assert(NVME_PAGE % PRP_LIST_BYTES == 0, "a slot's PRP list never crosses a page");
_Static_assert(NVME_MAX_XFER_BYTES / NVME_PAGE <= NVME_PRP_LIST_ENTRIES,
	       "a largest transfer from any dword offset needs at most one list's entries");


static int io_usable(const struct nvme_ctrl *c)
{
	if (!c->live)
		return -NVME_ENOTLIVE;
	return c->error ? -c->error : 0;
}

static bool io_full(const struct nvme_ctrl *c)
{
	return !c->nfree; /* qdepth - 1 slots: the SQ cannot overflow (sq_advance) */
}

/* Fills PRP1/PRP2 for bytes at iova (dword-aligned, bytes <= max_xfer_bytes), with the slot's PRP list if needed. */
static int prp_fill(struct nvme_ctrl *c, unsigned slot, struct nvme_sqe *cmd, uint64_t iova, uint64_t bytes)
{
	uint64_t first = NVME_PAGE - (iova & NVME_PAGE_MASK), page, rest, n;
	uint8_t *list = c->prp + (size_t)slot * PRP_LIST_BYTES;

	cmd->prp1 = iova;
	if (bytes <= first)
		return 0;
	page = (iova & ~NVME_PAGE_MASK) + NVME_PAGE;
	rest = bytes - first;
	if (rest <= NVME_PAGE) {
		cmd->prp2 = page;
		return 0;
	}
	n = (rest + NVME_PAGE_MASK) / NVME_PAGE;
	if (n > NVME_PRP_LIST_ENTRIES) /* cannot happen within max_xfer_bytes (static assert above) */
		return -NVME_E2BIG;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t entry = page + i * NVME_PAGE;

		__builtin_memcpy(list + i * 8u, &entry, 8);
	}
	cmd->prp2 = c->prp_iova + (uint64_t)slot * PRP_LIST_BYTES;
	return 0;
}

static unsigned slot_take(struct nvme_ctrl *c)
{
	unsigned slot = c->free[--c->nfree];

	c->slots[slot].cid = (uint16_t)(slot | (unsigned)c->gen << 8);
	c->gen = (c->gen + 1u) & CID_GEN_MASK;
	return slot;
}

static void slot_put(struct nvme_ctrl *c, unsigned slot)
{
	c->slots[slot].busy = false;
	c->free[c->nfree++] = (uint16_t)slot;
}

static void io_push(struct nvme_ctrl *c, unsigned slot, struct nvme_sqe *cmd, uint64_t tag)
{
	struct nvme_slot *s = &c->slots[slot];

	s->tag = tag;
	s->sq_pos = c->sq.tail;
	s->opcode = cmd->opcode;
	s->busy = true;
	cmd->cid = s->cid;
	c->inflight++;
	sq_push(c, &c->sq, cmd);
}

int nvme_submit_rw(struct nvme_ctrl *c, bool write, uint64_t lba, uint32_t nblocks, uint64_t buf_iova,
		   uint64_t tag)
{
	struct nvme_sqe cmd = { .opcode = write ? NVME_CMD_WRITE : NVME_CMD_READ, .nsid = NVME_NSID };
	uint64_t bytes;
	unsigned slot;
	int r = io_usable(c);

	if (r)
		return r;
	if (nblocks == 0 || nblocks > NVME_RW_NLB_MAX || (buf_iova & 3))
		return -NVME_EINVAL;
	if (lba >= c->ns_blocks || nblocks > c->ns_blocks - lba)
		return -NVME_ERANGE;
	bytes = (uint64_t)nblocks << c->lba_shift;
	if (bytes > c->max_xfer_bytes)
		return -NVME_E2BIG;
	if (buf_iova > UINT64_MAX - bytes - NVME_PAGE)
		return -NVME_EINVAL;
	if (io_full(c))
		return -NVME_EAGAIN;
	slot = slot_take(c);
	r = prp_fill(c, slot, &cmd, buf_iova, bytes);
	if (r) {
		slot_put(c, slot);
		return r;
	}
	cmd.cdw10 = (uint32_t)lba;
	cmd.cdw11 = (uint32_t)(lba >> 32);
	cmd.cdw12 = nblocks - 1u;
	io_push(c, slot, &cmd, tag);
	return 0;
}

int nvme_submit_flush(struct nvme_ctrl *c, uint64_t tag)
{
	struct nvme_sqe cmd = { .opcode = NVME_CMD_FLUSH, .nsid = NVME_NSID };
	int r = io_usable(c);

	if (r)
		return r;
	if (io_full(c))
		return -NVME_EAGAIN;
	io_push(c, slot_take(c), &cmd, tag);
	return 0;
}

/* Checks one I/O completion (a copy) against what is in flight and retires its command. */
static int io_complete(struct nvme_ctrl *c, const struct nvme_cqe *cqe, struct nvme_done *out)
{
	unsigned slot = cqe->cid & 0xffu;
	struct nvme_slot *s = &c->slots[slot];
	int r;

	if (cqe->sqid != NVME_IO_QID)
		return -NVME_EBADSQID;
	if (slot >= c->qdepth || !s->busy || s->cid != cqe->cid)
		return -NVME_EBADCID;
	r = sq_advance(&c->sq, cqe->sqhd, s->sq_pos, &c->sqhd_stale);
	if (r)
		return r;
	out->tag = s->tag;
	out->status = cqe_status(cqe->status);
	if (out->status)
		note_status(c, out->status, s->opcode, false);
	slot_put(c, slot);
	c->inflight--;
	return 0;
}

int nvme_reap(struct nvme_ctrl *c, struct nvme_done *out, unsigned max)
{
	struct nvme_cqe cqe;
	unsigned n = 0;
	bool consumed = false;
	int r = io_usable(c);

	if (r)
		return r;
	/* each entry retires a command in flight or fails the controller: at most qdepth - 1 turns */
	while (n < max && cq_pop(&c->cq, &cqe)) {
		consumed = true;
		r = io_complete(c, &cqe, &out[n]);
		if (r)
			break;
		n++;
	}
	if (consumed)
		cq_ring(c, &c->cq);
	if (r) {
		fail(c, -r);
		return n ? (int)n : r;
	}
	return (int)n;
}

/* Waits for the only command in flight. */
static int io_wait(struct nvme_ctrl *c, uint64_t timeout_ns)
{
	struct nvme_done d;
	uint64_t start = now(c);

	for (;;) {
		uint64_t t = now(c);
		int r = nvme_reap(c, &d, 1);

		if (r < 0)
			return r;
		if (r == 1)
			return d.status ? -NVME_ESTATUS : 0;
		if (t - start >= timeout_ns)
			return fail(c, NVME_ETIMEDOUT);
		relax(c);
	}
}

int nvme_rw_sync(struct nvme_ctrl *c, bool write, uint64_t lba, uint32_t nblocks, uint64_t buf_iova,
		 uint64_t timeout_ns)
{
	int r = io_usable(c);

	if (!r && c->inflight)
		r = -NVME_EBUSY;
	if (!r)
		r = nvme_submit_rw(c, write, lba, nblocks, buf_iova, 0);
	return r ? r : io_wait(c, timeout_ns);
}

int nvme_flush(struct nvme_ctrl *c, uint64_t timeout_ns)
{
	int r = io_usable(c);

	if (!r && c->inflight)
		r = -NVME_EBUSY;
	if (!r)
		r = nvme_submit_flush(c, 0);
	return r ? r : io_wait(c, timeout_ns);
}
