/* SPDX-License-Identifier: MIT */
/*
 * Inside the NVMe driver core, shared by its bring-up (drv.c) and its I/O
 * path (io.c): register access, the clock, and the queue primitives.  Not
 * part of the interface (drv.h).
 */
#ifndef XENITH_NVME_QUEUE_H
#define XENITH_NVME_QUEUE_H

#include "drv.h"

#define NVME_PAGE_MASK ((uint64_t)NVME_PAGE - 1)
#define NVME_IO_QID 1u
#define NVME_NSID 1u

/* ---- registers and the clock ---- */

static inline uint32_t rd(struct nvme_ctrl *c, uint32_t off)
{
	return c->ops.rd32(c->ops.ctx, off);
}

static inline void wr(struct nvme_ctrl *c, uint32_t off, uint32_t val)
{
	c->ops.wr32(c->ops.ctx, off, val);
}

static inline uint64_t now(struct nvme_ctrl *c)
{
	return c->ops.now_ns(c->ops.ctx);
}

static inline void relax(struct nvme_ctrl *c)
{
	if (c->ops.relax)
		c->ops.relax(c->ops.ctx);
}

/* Records err as the controller's sticky failure (the first one wins) and returns it negated. */
static inline int fail(struct nvme_ctrl *c, int err)
{
	if (!c->error)
		c->error = err;
	return -err;
}

/* ---- queues ---- */

static inline void sq_push(struct nvme_ctrl *c, struct nvme_queue *q, const struct nvme_sqe *cmd)
{
	__builtin_memcpy(q->va + (size_t)q->tail * sizeof(*cmd), cmd, sizeof(*cmd));
	q->tail = q->tail + 1u == q->size ? 0 : q->tail + 1u;
	/*
	 * [P] The entry is in memory before the doorbell names it; pairs with
	 * the device's fetch, which follows the doorbell write (wr32 orders
	 * the memory write before the register write, as drv.h asks).
	 */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	wr(c, q->db, q->tail);
}

/*
 * Copies the CQ's next entry out if the device has posted it (its phase
 * tag is the one expected), consuming it.  Everything is checked on the
 * copy, never on the queue the device can still write.
 */
static inline bool cq_pop(struct nvme_queue *q, struct nvme_cqe *out)
{
	struct nvme_cqe *e = (struct nvme_cqe *)(q->va + (size_t)q->head * sizeof(*e));
	/* [C] the phase tag first, then the rest: pairs with the device writing the entry before its tag */
	uint16_t status = __atomic_load_n(&e->status, __ATOMIC_ACQUIRE);

	if ((status & NVME_CQE_PHASE) != q->phase)
		return false;
	__builtin_memcpy(out, e, sizeof(*out));
	out->status = status;
	if (++q->head == q->size) {
		q->head = 0;
		q->phase ^= 1;
	}
	return true;
}

static inline void cq_ring(struct nvme_ctrl *c, struct nvme_queue *q)
{
	wr(c, q->db, q->head);
}

/*
 * Moves the SQ head to a completion's SQHD, which says which entries the
 * controller has fetched.  Nothing depends on it for safety: at most
 * qdepth - 1 commands are in flight and each holds at most one entry not
 * yet fetched (a completed command was fetched), so the tail cannot pass
 * the head whatever SQHD says; io_full counts slots, as Linux's tag depth
 * does.  So an SQHD that is outside the entries submitted, or does not
 * pass the command completed, moves the head only as far as it validly
 * can (nowhere, outside) and is counted in *stale: QEMU 7.2's NVMe VF
 * posts such values now and then (the lab saw SQHD 20 with the command at
 * 24 completed and the tail at 25, a few times in 100,000 reads).  Only a
 * value no queue of this size can hold fails the controller.
 */
static inline int sq_advance(struct nvme_queue *sq, uint16_t sqhd, uint16_t pos, uint32_t *stale)
{
	unsigned moved, pending, at;

	if (sqhd >= sq->size)
		return -NVME_EBADSQHD;
	moved = ((unsigned)sqhd + sq->size - sq->head) % sq->size;
	pending = ((unsigned)sq->tail + sq->size - sq->head) % sq->size;
	at = ((unsigned)pos + sq->size - sq->head) % sq->size;
	if (moved > pending || (at < pending && moved <= at))
		(*stale)++;
	if (moved <= pending)
		sq->head = sqhd;
	return 0;
}

/* The status word of a CQE as the driver reports it: (SCT << 8) | SC. */
static inline uint16_t cqe_status(uint16_t st)
{
	return (uint16_t)(NVME_CQE_SCT(st) << 8 | NVME_CQE_SC(st));
}

static inline void note_status(struct nvme_ctrl *c, uint16_t status, uint8_t opcode, bool admin)
{
	c->last_status = status;
	c->last_opcode = opcode;
	c->last_admin = admin;
}

#endif
