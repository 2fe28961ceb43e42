// SPDX-License-Identifier: MIT
/*
 * The NVMe driver core (nvme/drv.h): bring-up, admin commands, shutdown;
 * the I/O path is io.c.  Freestanding: the __builtin_mem* calls become
 * the environment's memcpy/memset (minios's lib.c, or libc natively).
 *
 * Queue memory layout (NVME_QUEUE_MEM_SIZE), page by page:
 *   admin SQ | admin CQ | Identify buffer | I/O SQ | I/O CQ | PRP lists
 * Each I/O slot (one command in flight) owns NVME_PRP_LIST_ENTRIES list
 * entries, so lists are never shared and need no allocation.
 */
#include "queue.h"

#define MSIX_VECTORS_MAX 2048

_Static_assert(NVME_ADMIN_QDEPTH * sizeof(struct nvme_sqe) <= NVME_PAGE, "the admin SQ fits a page");
_Static_assert(NVME_ADMIN_QDEPTH <= NVME_ADMIN_QUEUE_MAX, "AQA holds the admin queue size");

/* ---- registers ---- */

static void wr64(struct nvme_ctrl *c, uint32_t off, uint64_t val)
{
	wr(c, off, (uint32_t)val);
	wr(c, off + 4, (uint32_t)(val >> 32));
}

/*
 * Polls CSTS until (CSTS & mask) == want: 0, 1 after timeout_ns, or a
 * negative error (the device gone; CFS when cfs_fails).  The clock is read
 * before the register, so the last look comes after the deadline passed.
 */
static int wait_csts(struct nvme_ctrl *c, uint32_t mask, uint32_t want, uint64_t timeout_ns, bool cfs_fails)
{
	uint64_t start = now(c);

	for (;;) {
		uint64_t t = now(c);
		uint32_t csts = rd(c, NVME_REG_CSTS);

		if (csts == UINT32_MAX)
			return -NVME_ENODEV;
		if (cfs_fails && (csts & NVME_CSTS_CFS))
			return -NVME_ECFS;
		if ((csts & mask) == want)
			return 0;
		if (t - start >= timeout_ns)
			return 1;
		relax(c);
	}
}

/* ---- admin commands: one at a time, synchronously ---- */

static int admin_cmd(struct nvme_ctrl *c, struct nvme_sqe *cmd, uint32_t *dw0)
{
	struct nvme_cqe cqe;
	uint64_t start;
	uint16_t status, pos = c->asq.tail;
	int r;

	if (c->error)
		return -c->error;
	cmd->cid = c->admin_cid;
	c->admin_cid = c->admin_cid + 1u == 0xffffu ? 0 : c->admin_cid + 1u;
	sq_push(c, &c->asq, cmd);
	start = now(c);
	for (;;) {
		uint64_t t = now(c);

		if (cq_pop(&c->acq, &cqe))
			break;
		if (t - start >= NVME_CMD_TIMEOUT_NS)
			return fail(c, NVME_ETIMEDOUT);
		relax(c);
	}
	cq_ring(c, &c->acq);
	if (cqe.sqid != 0)
		return fail(c, NVME_EBADSQID);
	if (cqe.cid != cmd->cid)
		return fail(c, NVME_EBADCID);
	r = sq_advance(&c->asq, cqe.sqhd, pos, &c->sqhd_stale);
	if (r)
		return fail(c, -r);
	status = cqe_status(cqe.status);
	if (status) {
		note_status(c, status, cmd->opcode, true);
		return -NVME_ESTATUS;
	}
	if (dw0)
		*dw0 = cqe.dw0;
	return 0;
}

static int identify(struct nvme_ctrl *c, uint8_t cns, uint32_t nsid)
{
	struct nvme_sqe cmd = { .opcode = NVME_ADMIN_IDENTIFY, .nsid = nsid, .prp1 = c->ident_iova,
				.cdw10 = cns };

	return admin_cmd(c, &cmd, NULL);
}

/* ---- reading Identify data (each field read once from the buffer the device wrote) ---- */

static uint32_t le32_at(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64_at(const uint8_t *p)
{
	return le32_at(p) | (uint64_t)le32_at(p + 4) << 32;
}

/* An ASCII field, space padded: printable characters kept, trailing spaces cut, NUL-terminated. */
static void ascii_field(char *dst, const uint8_t *src, unsigned len)
{
	unsigned n = 0;

	for (unsigned i = 0; i < len; i++) {
		uint8_t ch = src[i];

		dst[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
		if (ch != ' ')
			n = i + 1;
	}
	dst[n] = '\0';
}

static int identify_ctrl(struct nvme_ctrl *c)
{
	const uint8_t *id = c->ident;
	int r = identify(c, NVME_CNS_CTRL, 0);

	if (r)
		return r;
	ascii_field(c->serial, id + NVME_IDC_SN, NVME_IDC_SN_LEN);
	ascii_field(c->model, id + NVME_IDC_MN, NVME_IDC_MN_LEN);
	ascii_field(c->firmware, id + NVME_IDC_FR, NVME_IDC_FR_LEN);
	c->mdts = id[NVME_IDC_MDTS];
	c->nn = le32_at(id + NVME_IDC_NN);
	c->rtd3e_us = le32_at(id + NVME_IDC_RTD3E);
	/* MDTS counts CAP.MPSMIN pages, 4 KiB here (nvme_init refuses others); 0 is no limit */
	c->max_xfer_bytes = NVME_MAX_XFER_BYTES;
	if (c->mdts && ((uint64_t)NVME_PAGE << (c->mdts < 32 ? c->mdts : 32)) < NVME_MAX_XFER_BYTES)
		c->max_xfer_bytes = NVME_PAGE << c->mdts;
	return 0;
}

static int identify_ns(struct nvme_ctrl *c)
{
	const uint8_t *id = c->ident;
	unsigned nlbaf, index;
	uint32_t lbaf;
	uint8_t lbads;
	int r;

	if (c->nn == 0)
		return -NVME_ENONS;
	r = identify(c, NVME_CNS_NS, NVME_NSID);
	if (r)
		return r;
	c->ns_blocks = le64_at(id + NVME_IDNS_NSZE);
	nlbaf = id[NVME_IDNS_NLBAF];
	index = NVME_FLBAS_INDEX(id[NVME_IDNS_FLBAS]);
	lbaf = le32_at(id + NVME_IDNS_LBAF + 4u * index);
	if (c->ns_blocks == 0)
		return -NVME_ENSSIZE;
	if (index > nlbaf || index >= NVME_IDNS_LBAF_MAX)
		return -NVME_ELBAF;
	lbads = NVME_LBAF_LBADS(lbaf);
	if (lbads < 9 || lbads > 12)
		return -NVME_ELBADS;
	if (NVME_LBAF_MS(lbaf))
		return -NVME_EMETA;
	c->lba_shift = lbads;
	return 0;
}

/* ---- bring-up ---- */

uint64_t nvme_queue_mem_size(unsigned qdepth)
{
	return qdepth < 2 || qdepth > NVME_MAX_QDEPTH ? 0 : NVME_QUEUE_MEM_SIZE(qdepth);
}

/* Carves the queue memory (drv.c's header comment); the I/O queues get their size later. */
static void carve(struct nvme_ctrl *c, struct nvme_dma mem, unsigned qdepth)
{
	uint8_t *va = mem.va;
	uint64_t off = 0;

	c->asq.va = va + off;
	c->asq.iova = mem.iova + off;
	off += NVME_PAGE;
	c->acq.va = va + off;
	c->acq.iova = mem.iova + off;
	off += NVME_PAGE;
	c->ident = va + off;
	c->ident_iova = mem.iova + off;
	off += NVME_PAGE;
	c->sq.va = va + off;
	c->sq.iova = mem.iova + off;
	off += NVME_ROUND_PAGE((uint64_t)qdepth * sizeof(struct nvme_sqe));
	c->cq.va = va + off;
	c->cq.iova = mem.iova + off;
	off += NVME_ROUND_PAGE((uint64_t)qdepth * sizeof(struct nvme_cqe));
	c->prp = va + off;
	c->prp_iova = mem.iova + off;
}

static void queue_init(struct nvme_queue *q, uint16_t size, uint32_t db)
{
	q->size = size;
	q->db = db;
	q->head = q->tail = 0;
	q->phase = 1; /* the device's first lap writes tag 1 over the zeroed queue */
}

/*
 * Clears CC.EN and waits for CSTS.RDY to follow.  Clearing EN while an
 * enable is still in progress (EN 1, RDY 0) has undefined results (base
 * spec 1.3, 3.1.5; FreeBSD found drives that wedge), so that one finishes
 * first, unless the controller has already failed.
 */
static int ctrl_disable(struct nvme_ctrl *c)
{
	uint32_t cc = rd(c, NVME_REG_CC), csts = rd(c, NVME_REG_CSTS);
	int r;

	if (csts == UINT32_MAX)
		return -NVME_ENODEV;
	if ((cc & NVME_CC_EN) && !(csts & (NVME_CSTS_RDY | NVME_CSTS_CFS))) {
		r = wait_csts(c, NVME_CSTS_RDY, NVME_CSTS_RDY, c->ready_timeout_ns, true);
		if (r == -NVME_ENODEV)
			return r;
	}
	wr(c, NVME_REG_CC, 0);
	r = wait_csts(c, NVME_CSTS_RDY, 0, c->ready_timeout_ns, false);
	return r > 0 ? -NVME_EDISABLE : r;
}

static int ctrl_enable(struct nvme_ctrl *c)
{
	int r;

	queue_init(&c->asq, NVME_ADMIN_QDEPTH, NVME_DB_SQ_TAIL(0, c->dstrd));
	queue_init(&c->acq, NVME_ADMIN_QDEPTH, NVME_DB_CQ_HEAD(0, c->dstrd));
	__builtin_memset(c->acq.va, 0, NVME_PAGE);
	wr(c, NVME_REG_AQA, NVME_AQA(NVME_ADMIN_QDEPTH, NVME_ADMIN_QDEPTH));
	wr64(c, NVME_REG_ASQ, c->asq.iova);
	wr64(c, NVME_REG_ACQ, c->acq.iova);
	wr(c, NVME_REG_CC, NVME_CC_CSS_NVM | NVME_CC_MPS(0) | NVME_CC_AMS_RR | NVME_CC_IOSQES(NVME_SQES_LOG2) |
				   NVME_CC_IOCQES(NVME_CQES_LOG2) | NVME_CC_EN);
	r = wait_csts(c, NVME_CSTS_RDY, NVME_CSTS_RDY, c->ready_timeout_ns, true);
	return r > 0 ? -NVME_EREADY : r;
}

/* Reads CAP and checks what the driver needs of it; bounds the I/O queue by MQES. */
static int read_cap(struct nvme_ctrl *c, unsigned *qdepth)
{
	uint32_t lo = rd(c, NVME_REG_CAP), hi = rd(c, NVME_REG_CAP + 4);
	uint64_t cap = lo | (uint64_t)hi << 32;
	uint32_t entries = NVME_CAP_MQES(cap) + 1u;

	if (cap == UINT64_MAX)
		return -NVME_ENODEV;
	c->cap = cap;
	c->vs = rd(c, NVME_REG_VS);
	c->dstrd = NVME_CAP_DSTRD(cap);
	/* CAP.TO + 1: a TO of 0 must still give the controller a moment (Linux does the same) */
	c->ready_timeout_ns = (NVME_CAP_TO(cap) + 1ull) * NVME_TO_UNIT_NS;
	if (!(NVME_CAP_CSS(cap) & NVME_CAP_CSS_NVM))
		return -NVME_ENOCSS;
	if (NVME_CAP_MPSMIN(cap) > 0 || NVME_CAP_MPSMAX(cap) < NVME_CAP_MPSMIN(cap))
		return -NVME_EPAGESIZE;
	if (entries < 2)
		return -NVME_EQDEPTH;
	if (*qdepth > entries)
		*qdepth = entries;
	return 0;
}

static int create_io_queues(struct nvme_ctrl *c)
{
	uint32_t dw0;
	struct nvme_sqe feat = { .opcode = NVME_ADMIN_SET_FEATURES, .cdw10 = NVME_FEAT_NUM_QUEUES,
				 .cdw11 = 0 /* one SQ, one CQ: both 0-based */ };
	struct nvme_sqe cq = { .opcode = NVME_ADMIN_CREATE_CQ, .prp1 = c->cq.iova,
			       .cdw10 = NVME_QUEUE_CDW10(NVME_IO_QID, c->qdepth), .cdw11 = NVME_CQ_PC };
	struct nvme_sqe sq = { .opcode = NVME_ADMIN_CREATE_SQ, .prp1 = c->sq.iova,
			       .cdw10 = NVME_QUEUE_CDW10(NVME_IO_QID, c->qdepth),
			       .cdw11 = NVME_SQ_PC | NVME_SQ_CQID(NVME_IO_QID) };
	int r;

	/* NSQA and NCQA are 0-based, so a controller always grants at least the one pair asked for */
	r = admin_cmd(c, &feat, &dw0);
	if (r)
		return r;
	c->sq_granted = (uint16_t)((dw0 & 0xffff) + 1u);
	c->cq_granted = (uint16_t)((dw0 >> 16) + 1u);

	queue_init(&c->cq, (uint16_t)c->qdepth, NVME_DB_CQ_HEAD(NVME_IO_QID, c->dstrd));
	queue_init(&c->sq, (uint16_t)c->qdepth, NVME_DB_SQ_TAIL(NVME_IO_QID, c->dstrd));
	__builtin_memset(c->cq.va, 0, c->qdepth * sizeof(struct nvme_cqe));
	if (c->cq_vector != NVME_NO_IRQ)
		cq.cdw11 |= NVME_CQ_IEN | NVME_CQ_IV(c->cq_vector);
	r = admin_cmd(c, &cq, NULL);
	if (r)
		return r;
	return admin_cmd(c, &sq, NULL);
}

static void slots_init(struct nvme_ctrl *c)
{
	/* slot qdepth - 1 is never needed: at most qdepth - 1 commands fit the SQ */
	c->nfree = 0;
	for (unsigned i = c->qdepth - 1; i-- > 0;)
		c->free[c->nfree++] = (uint16_t)i;
}

int nvme_init_irq(struct nvme_ctrl *c, const struct nvme_ops *ops, struct nvme_dma queue_mem, unsigned qdepth,
		  int cq_vector)
{
	int r;

	__builtin_memset(c, 0, sizeof(*c));
	c->ops = *ops;
	c->cq_vector = cq_vector;
	if (qdepth < 2 || qdepth > NVME_MAX_QDEPTH)
		return -NVME_EQDEPTH;
	if (cq_vector < NVME_NO_IRQ || cq_vector >= MSIX_VECTORS_MAX)
		return -NVME_EINVAL;
	c->mem_needed = NVME_QUEUE_MEM_SIZE(qdepth);
	if (((uintptr_t)queue_mem.va | queue_mem.iova) & NVME_PAGE_MASK)
		return -NVME_EMEMALIGN;
	if (queue_mem.len < c->mem_needed)
		return -NVME_EMEMSIZE;
	carve(c, queue_mem, qdepth);

	r = read_cap(c, &qdepth);
	if (r)
		return r;
	c->qdepth = qdepth;
	r = ctrl_disable(c);
	if (!r)
		r = ctrl_enable(c);
	if (!r)
		r = identify_ctrl(c);
	if (!r)
		r = create_io_queues(c);
	if (!r)
		r = identify_ns(c);
	if (r)
		return r;
	slots_init(c);
	c->live = true;
	return 0;
}

int nvme_init(struct nvme_ctrl *c, const struct nvme_ops *ops, struct nvme_dma queue_mem, unsigned qdepth)
{
	return nvme_init_irq(c, ops, queue_mem, qdepth, NVME_NO_IRQ);
}

/* ---- shutdown ---- */

static int delete_queue(struct nvme_ctrl *c, uint8_t opcode)
{
	struct nvme_sqe cmd = { .opcode = opcode, .cdw10 = NVME_IO_QID };

	return admin_cmd(c, &cmd, NULL);
}

int nvme_shutdown(struct nvme_ctrl *c)
{
	uint64_t timeout = (uint64_t)c->rtd3e_us * 1000u;
	int r = 0, w;
	uint32_t cc;

	if (!c->ops.rd32)
		return -NVME_ENOTLIVE;
	/* The SQ goes first: a CQ with an SQ still on it cannot be deleted. */
	if (c->live && !c->error) {
		r = delete_queue(c, NVME_ADMIN_DELETE_SQ);
		if (!r)
			r = delete_queue(c, NVME_ADMIN_DELETE_CQ);
	}
	c->live = false;
	cc = rd(c, NVME_REG_CC);
	if (cc == UINT32_MAX)
		return -NVME_ENODEV;
	if (!(cc & NVME_CC_EN))
		return r; /* already reset: nothing to notify */
	/* RTD3E is the device's own estimate of how long it needs; bounded either way */
	if (timeout < NVME_SHUTDOWN_MIN_NS)
		timeout = NVME_SHUTDOWN_MIN_NS;
	if (timeout > NVME_SHUTDOWN_MAX_NS)
		timeout = NVME_SHUTDOWN_MAX_NS;
	wr(c, NVME_REG_CC, (cc & ~NVME_CC_SHN_MASK) | NVME_CC_SHN_NORMAL);
	w = wait_csts(c, NVME_CSTS_SHST_MASK, NVME_CSTS_SHST_COMPLETE, timeout, false);
	if (w > 0)
		w = -NVME_ESHUTDOWN;
	return r ? r : w;
}
