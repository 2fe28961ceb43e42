// SPDX-License-Identifier: MIT
/* The software NVMe controller (sim.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define PAGE NVME_PAGE
#define PAGE_MASK ((uint64_t)PAGE - 1)
#define MAX_STEPS 100000u /* commands per doorbell write: far more than any queue holds */

static void note(char *what, size_t len, unsigned *count, const char *fmt, va_list ap)
{
	if ((*count)++ == 0)
		vsnprintf(what, len, fmt, ap);
}

static void violation(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void violation(struct sim *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	note(s->violation_what, sizeof(s->violation_what), &s->violations, fmt, ap);
	va_end(ap);
}

static void stray(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void stray(struct sim *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	note(s->stray_what, sizeof(s->stray_what), &s->stray, fmt, ap);
	va_end(ap);
}

/* The arena's bytes at [iova, iova + len), or NULL (counted) when any of them is outside. */
static uint8_t *dma(struct sim *s, uint64_t iova, uint64_t len, const char *what)
{
	uint64_t off = iova - s->iova_base;

	if (iova < s->iova_base || off > s->arena_len || len > s->arena_len - off) {
		stray(s, "%s: %llu bytes at IOVA %#llx, arena is %#llx..%#llx", what, (unsigned long long)len,
		      (unsigned long long)iova, (unsigned long long)s->iova_base,
		      (unsigned long long)(s->iova_base + s->arena_len));
		return NULL;
	}
	return s->arena + off;
}

void sim_set_cap(struct sim *s, uint16_t mqes, uint8_t to, uint8_t dstrd, uint8_t mpsmin, uint8_t mpsmax)
{
	s->cap = mqes | 1ull << 16 /* CQR */ | (uint64_t)to << 24 | (uint64_t)(dstrd & 0xf) << 32 |
		 (uint64_t)NVME_CAP_CSS_NVM << 37 | (uint64_t)(mpsmin & 0xf) << 48 | (uint64_t)(mpsmax & 0xf) << 52;
}

int sim_init(struct sim *s, void *arena, size_t arena_len, uint64_t nblocks, uint8_t lbads)
{
	memset(s, 0, sizeof(*s));
	s->arena = arena;
	s->arena_len = arena_len;
	s->iova_base = SIM_IOVA_BASE;
	s->disk_bytes = nblocks << lbads;
	s->disk = calloc(1, s->disk_bytes ? s->disk_bytes : 1);
	if (!s->disk)
		return -1;
	s->nsze = nblocks;
	s->lbads = lbads;
	s->nn = 1;
	memcpy(s->sn, "XSIM0001            ", NVME_IDC_SN_LEN);
	memcpy(s->mn, "Xenith NVMe model                       ", NVME_IDC_MN_LEN);
	s->queues_granted = 4;
	sim_set_cap(s, 1023, 20, 0, 0, 4);
	s->vs = 0x00010400; /* 1.4 */
	s->tick_ns = 1000000;
	return 0;
}

void sim_fini(struct sim *s)
{
	free(s->disk);
	s->disk = NULL;
}

/* ---- data transfer through PRPs ---- */

/* The controller's side of a transfer: len bytes at buf; past them reads give zeroes and writes vanish. */
struct side {
	uint8_t *buf;
	uint64_t len;
};

static bool move(struct sim *s, struct side *d, uint64_t done, uint64_t iova, uint64_t n, bool to_host)
{
	uint8_t *host = dma(s, iova, n, to_host ? "data to host" : "data from host");
	uint64_t have = done < d->len ? d->len - done : 0;

	if (!host)
		return false;
	if (have > n)
		have = n;
	if (to_host) {
		memcpy(host, d->buf + done, have);
		memset(host + have, 0, n - have);
	} else {
		memcpy(d->buf + done, host, have);
	}
	if (s->last_xfer.npages < SIM_MAX_PRPS)
		s->last_xfer.page[s->last_xfer.npages++] = iova;
	return true;
}

/* Walks the command's PRPs as the base specification lays them out (4 KiB pages); returns a status. */
static uint16_t prp_xfer(struct sim *s, const struct nvme_sqe *cmd, struct side *d, uint64_t len, bool to_host)
{
	struct sim_xfer *x = &s->last_xfer;
	uint64_t done, list, hops = 0;

	memset(x, 0, sizeof(*x));
	x->prp1 = cmd->prp1;
	x->prp2 = cmd->prp2;
	if (cmd->prp1 & 3) {
		violation(s, "PRP1 %#llx is not dword-aligned", (unsigned long long)cmd->prp1);
		return NVME_CQE_STATUS(NVME_SCT_GENERIC, NVME_SC_INVALID_PRP_OFFSET);
	}
	done = PAGE - (cmd->prp1 & PAGE_MASK);
	if (done > len)
		done = len;
	if (!move(s, d, 0, cmd->prp1, done, to_host))
		return NVME_CQE_STATUS(NVME_SCT_GENERIC, NVME_SC_DATA_XFER_ERROR);
	if (done == len)
		return 0;
	if (len - done <= PAGE) {
		if (cmd->prp2 & PAGE_MASK) {
			violation(s, "PRP2 %#llx (second page) has an offset", (unsigned long long)cmd->prp2);
			return NVME_CQE_STATUS(NVME_SCT_GENERIC, NVME_SC_INVALID_PRP_OFFSET);
		}
		return move(s, d, done, cmd->prp2, len - done, to_host) ? 0 :
		       NVME_CQE_STATUS(NVME_SCT_GENERIC, NVME_SC_DATA_XFER_ERROR);
	}
	x->list = true;
	list = cmd->prp2;
	if (list & 7) {
		violation(s, "PRP list pointer %#llx is not qword-aligned", (unsigned long long)list);
		return NVME_CQE_STATUS(NVME_SCT_GENERIC, NVME_SC_INVALID_PRP_OFFSET);
	}
	while (done < len) {
		uint8_t *p = dma(s, list, 8, "PRP list entry");
		uint64_t entry, n = len - done < PAGE ? len - done : PAGE;

		if (!p)
			return NVME_CQE_STATUS(NVME_SCT_GENERIC, NVME_SC_DATA_XFER_ERROR);
		memcpy(&entry, p, 8);
		/* the last entry of a list page, with more than a page to go, points to the next list */
		if (((list + 8) & PAGE_MASK) == 0 && len - done > PAGE) {
			if ((entry & 7) || ++hops > len / PAGE) {
				violation(s, "PRP list chain pointer %#llx", (unsigned long long)entry);
				return NVME_CQE_STATUS(NVME_SCT_GENERIC, NVME_SC_INVALID_PRP_OFFSET);
			}
			list = entry;
			continue;
		}
		list += 8;
		if (entry & PAGE_MASK) {
			violation(s, "PRP list entry %#llx has an offset", (unsigned long long)entry);
			return NVME_CQE_STATUS(NVME_SCT_GENERIC, NVME_SC_INVALID_PRP_OFFSET);
		}
		if (!move(s, d, done, entry, n, to_host))
			return NVME_CQE_STATUS(NVME_SCT_GENERIC, NVME_SC_DATA_XFER_ERROR);
		done += n;
	}
	return 0;
}

/* ---- commands ---- */

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static uint16_t identify(struct sim *s, const struct nvme_sqe *cmd)
{
	uint8_t page[NVME_IDENTIFY_LEN] = { 0 };
	uint8_t cns = cmd->cdw10 & 0xff;
	struct side d = { page, sizeof(page) };

	if (cns == NVME_CNS_CTRL) {
		put32(page + NVME_IDC_VID, 0x1b36);
		memcpy(page + NVME_IDC_SN, s->sn, NVME_IDC_SN_LEN);
		memcpy(page + NVME_IDC_MN, s->mn, NVME_IDC_MN_LEN);
		memcpy(page + NVME_IDC_FR, "1.0     ", NVME_IDC_FR_LEN);
		page[NVME_IDC_MDTS] = s->mdts;
		page[NVME_IDC_CNTLID] = 1;
		put32(page + NVME_IDC_VER, s->vs);
		put32(page + NVME_IDC_RTD3E, s->rtd3e_us);
		page[NVME_IDC_SQES] = 0x66;
		page[NVME_IDC_CQES] = 0x44;
		put32(page + NVME_IDC_NN, s->nn);
		page[NVME_IDC_VWC] = 1;
	} else if (cns == NVME_CNS_NS) {
		unsigned index = NVME_FLBAS_INDEX(s->flbas);

		if (cmd->nsid == 0 || cmd->nsid > s->nn)
			return NVME_CQE_STATUS(NVME_SCT_GENERIC, NVME_SC_INVALID_NS);
		put64(page + NVME_IDNS_NSZE, s->nsze);
		put64(page + NVME_IDNS_NCAP, s->nsze);
		put64(page + 16, s->nsze); /* NUSE */
		page[NVME_IDNS_NLBAF] = s->nlbaf;
		page[NVME_IDNS_FLBAS] = s->flbas;
		put32(page + NVME_IDNS_LBAF, 9u << 16);
		if (index < NVME_IDNS_LBAF_MAX)
			put32(page + NVME_IDNS_LBAF + 4 * index, (uint32_t)s->lbads << 16 | s->ms);
	} else {
		return NVME_CQE_STATUS(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
	}
	if (s->hooks.identify)
		s->hooks.identify(s->hooks.ctx, cns, page);
	return prp_xfer(s, cmd, &d, sizeof(page), true);
}

/* The queue ring must lie in the arena, page-aligned (a physically contiguous queue's PRP1 has no offset). */
static bool queue_mem_ok(struct sim *s, uint64_t base, uint64_t bytes, const char *what)
{
	if (base & PAGE_MASK) {
		violation(s, "%s base %#llx has an offset", what, (unsigned long long)base);
		return false;
	}
	return dma(s, base, bytes, what) != NULL;
}

static uint16_t create_cq(struct sim *s, const struct nvme_sqe *cmd)
{
	uint16_t qid = cmd->cdw10 & 0xffff;
	uint32_t size = (cmd->cdw10 >> 16) + 1;
	struct sim_cq *cq = &s->cq[qid < SIM_MAX_QUEUES ? qid : 0];

	s->create_cq_cdw10 = cmd->cdw10;
	s->create_cq_cdw11 = cmd->cdw11;
	if (qid == 0 || qid >= SIM_MAX_QUEUES || cq->live)
		return NVME_CQE_STATUS(NVME_SCT_CMD_SPECIFIC, NVME_SC_QID_INVALID);
	if (size < 2 || size > NVME_CAP_MQES(s->cap) + 1u)
		return NVME_CQE_STATUS(NVME_SCT_CMD_SPECIFIC, NVME_SC_QSIZE_INVALID);
	if (!(cmd->cdw11 & NVME_CQ_PC) || !queue_mem_ok(s, cmd->prp1, size * 16ull, "I/O CQ"))
		return NVME_CQE_STATUS(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
	*cq = (struct sim_cq){ .live = true, .base = cmd->prp1, .size = (uint16_t)size, .phase = 1,
			       .ien = cmd->cdw11 & NVME_CQ_IEN, .iv = cmd->cdw11 >> 16 };
	return 0;
}

static uint16_t create_sq(struct sim *s, const struct nvme_sqe *cmd)
{
	uint16_t qid = cmd->cdw10 & 0xffff, cqid = cmd->cdw11 >> 16;
	uint32_t size = (cmd->cdw10 >> 16) + 1;
	struct sim_sq *sq = &s->sq[qid < SIM_MAX_QUEUES ? qid : 0];

	s->create_sq_cdw10 = cmd->cdw10;
	s->create_sq_cdw11 = cmd->cdw11;
	if (qid == 0 || qid >= SIM_MAX_QUEUES || sq->live)
		return NVME_CQE_STATUS(NVME_SCT_CMD_SPECIFIC, NVME_SC_QID_INVALID);
	if (cqid == 0 || cqid >= SIM_MAX_QUEUES || !s->cq[cqid].live)
		return NVME_CQE_STATUS(NVME_SCT_CMD_SPECIFIC, NVME_SC_CQ_INVALID);
	if (size < 2 || size > NVME_CAP_MQES(s->cap) + 1u)
		return NVME_CQE_STATUS(NVME_SCT_CMD_SPECIFIC, NVME_SC_QSIZE_INVALID);
	if (!(cmd->cdw11 & NVME_SQ_PC) || !queue_mem_ok(s, cmd->prp1, size * 64ull, "I/O SQ"))
		return NVME_CQE_STATUS(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
	*sq = (struct sim_sq){ .live = true, .base = cmd->prp1, .size = (uint16_t)size, .cqid = cqid };
	return 0;
}

static uint16_t delete_queue(struct sim *s, const struct nvme_sqe *cmd)
{
	uint16_t qid = cmd->cdw10 & 0xffff;

	if (qid == 0 || qid >= SIM_MAX_QUEUES)
		return NVME_CQE_STATUS(NVME_SCT_CMD_SPECIFIC, NVME_SC_QID_INVALID);
	if (cmd->opcode == NVME_ADMIN_DELETE_SQ) {
		if (!s->sq[qid].live)
			return NVME_CQE_STATUS(NVME_SCT_CMD_SPECIFIC, NVME_SC_QID_INVALID);
		s->sq[qid].live = false;
		return 0;
	}
	if (!s->cq[qid].live)
		return NVME_CQE_STATUS(NVME_SCT_CMD_SPECIFIC, NVME_SC_QID_INVALID);
	for (unsigned i = 1; i < SIM_MAX_QUEUES; i++)
		if (s->sq[i].live && s->sq[i].cqid == qid)
			return NVME_CQE_STATUS(NVME_SCT_CMD_SPECIFIC, NVME_SC_INVALID_QUEUE_DELETION);
	s->cq[qid].live = false;
	return 0;
}

static uint16_t admin(struct sim *s, const struct nvme_sqe *cmd, uint32_t *dw0)
{
	s->admin_count[cmd->opcode]++;
	if (s->admin_logged < sizeof(s->admin_log))
		s->admin_log[s->admin_logged++] = cmd->opcode;
	switch (cmd->opcode) {
	case NVME_ADMIN_IDENTIFY:
		return identify(s, cmd);
	case NVME_ADMIN_SET_FEATURES:
		if ((cmd->cdw10 & 0xff) != NVME_FEAT_NUM_QUEUES || cmd->cdw11 == 0xffffffffu)
			return NVME_CQE_STATUS(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
		*dw0 = (uint32_t)(s->queues_granted - 1u) * 0x10001u;
		return 0;
	case NVME_ADMIN_CREATE_CQ:
		return create_cq(s, cmd);
	case NVME_ADMIN_CREATE_SQ:
		return create_sq(s, cmd);
	case NVME_ADMIN_DELETE_SQ:
	case NVME_ADMIN_DELETE_CQ:
		return delete_queue(s, cmd);
	}
	return NVME_CQE_STATUS(NVME_SCT_GENERIC, NVME_SC_INVALID_OPCODE);
}

static uint16_t io(struct sim *s, const struct nvme_sqe *cmd)
{
	uint64_t slba = cmd->cdw10 | (uint64_t)cmd->cdw11 << 32, nlb = (cmd->cdw12 & 0xffff) + 1u, bytes, at;
	struct side d;

	s->io_count[cmd->opcode]++;
	if (cmd->nsid != 1 || cmd->nsid > s->nn)
		return NVME_CQE_STATUS(NVME_SCT_GENERIC, NVME_SC_INVALID_NS);
	if (cmd->opcode == NVME_CMD_FLUSH)
		return 0;
	if (cmd->opcode != NVME_CMD_READ && cmd->opcode != NVME_CMD_WRITE)
		return NVME_CQE_STATUS(NVME_SCT_GENERIC, NVME_SC_INVALID_OPCODE);
	if (slba >= s->nsze || nlb > s->nsze - slba)
		return NVME_CQE_STATUS(NVME_SCT_GENERIC, NVME_SC_LBA_RANGE);
	bytes = nlb << s->lbads;
	if (s->mdts && s->mdts < 32 && bytes > (uint64_t)PAGE << s->mdts) {
		violation(s, "%llu bytes in one command, MDTS allows %llu", (unsigned long long)bytes,
			  (unsigned long long)PAGE << s->mdts);
		return NVME_CQE_STATUS(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD);
	}
	at = slba << s->lbads;
	d.buf = s->disk + (at < s->disk_bytes ? at : 0);
	d.len = at < s->disk_bytes ? s->disk_bytes - at : 0;
	return prp_xfer(s, cmd, &d, bytes, cmd->opcode == NVME_CMD_READ);
}

/* ---- queues ---- */

static bool cq_full(const struct sim_cq *cq)
{
	return (cq->tail + 1u) % cq->size == cq->head;
}

static void post(struct sim *s, struct sim_cq *cq, const struct nvme_cqe *cqe)
{
	uint8_t *p = dma(s, cq->base + (uint64_t)cq->tail * sizeof(*cqe), sizeof(*cqe), "CQ entry");
	struct nvme_cqe e = *cqe;

	e.status = (uint16_t)((e.status & ~NVME_CQE_PHASE) | cq->phase);
	if (p) {
		/* the tag goes last, as a device writes it (the driver reads it first) */
		memcpy(p, &e, 14);
		__atomic_store_n((uint16_t *)(p + 14), e.status, __ATOMIC_RELEASE);
	}
	if (++cq->tail == cq->size) {
		cq->tail = 0;
		cq->phase ^= 1;
		cq->wraps++;
	}
}

static bool fault_matches(struct sim *s, uint16_t qid, uint8_t opcode)
{
	if (s->fault.kind == SIM_FAULT_NONE || s->fault.qid != qid || s->fault.opcode != opcode)
		return false;
	return true;
}

/* Fetches, executes and completes one command of SQ qid. */
static void run_one(struct sim *s, uint16_t qid)
{
	struct sim_sq *sq = &s->sq[qid];
	struct sim_cq *cq = &s->cq[sq->cqid];
	uint8_t *p = dma(s, sq->base + (uint64_t)sq->head * sizeof(struct nvme_sqe), sizeof(struct nvme_sqe),
			 "SQ entry");
	struct nvme_sqe cmd = { 0 };
	struct nvme_cqe cqe = { 0 };
	uint16_t status, pos = sq->head;
	unsigned extra = 0;

	if (p)
		memcpy(&cmd, p, sizeof(cmd)); /* copied once, as a device fetches it */
	sq->head = (uint16_t)((sq->head + 1u) % sq->size);
	status = qid == 0 ? admin(s, &cmd, &cqe.dw0) : io(s, &cmd);
	cqe.sqhd = sq->head;
	cqe.sqid = qid;
	cqe.cid = cmd.cid;
	cqe.status = status;
	if (fault_matches(s, qid, cmd.opcode)) {
		switch (s->fault.kind) {
		case SIM_FAULT_STATUS:
			cqe.status = s->fault.status;
			break;
		case SIM_FAULT_BAD_CID:
			cqe.cid ^= 0x4000;
			break;
		case SIM_FAULT_BAD_SQHD:
			cqe.sqhd = (uint16_t)((sq->tail + 1u) % sq->size);
			break;
		case SIM_FAULT_SQHD_BEHIND:
			cqe.sqhd = pos;
			break;
		case SIM_FAULT_SQHD_HUGE:
			cqe.sqhd = sq->size;
			break;
		case SIM_FAULT_BAD_SQID:
			cqe.sqid = (uint16_t)(qid + 1u);
			break;
		case SIM_FAULT_DROP:
		case SIM_FAULT_NONE:
			break;
		}
		if (!s->fault.sticky) {
			enum sim_fault_kind kind = s->fault.kind;

			s->fault.kind = SIM_FAULT_NONE;
			if (kind == SIM_FAULT_DROP)
				return;
		} else if (s->fault.kind == SIM_FAULT_DROP) {
			return;
		}
	}
	if (s->hooks.complete)
		extra = s->hooks.complete(s->hooks.ctx, qid, &cqe);
	post(s, cq, &cqe);
	while (extra-- && !cq_full(cq))
		post(s, cq, &cqe);
}

static bool running(const struct sim *s)
{
	return (s->cc & NVME_CC_EN) && (s->csts & NVME_CSTS_RDY) && !(s->csts & NVME_CSTS_CFS);
}

/* Runs every queued command whose CQ has room; admin commands can create queues, so it loops. */
static void process(struct sim *s)
{
	unsigned steps = 0;
	bool progress = true;

	while (progress && running(s) && steps < MAX_STEPS) {
		progress = false;
		for (uint16_t q = 0; q < SIM_MAX_QUEUES; q++) {
			struct sim_sq *sq = &s->sq[q];

			while (sq->live && sq->head != sq->tail && s->cq[sq->cqid].live &&
			       !cq_full(&s->cq[sq->cqid]) && steps++ < MAX_STEPS && running(s)) {
				run_one(s, q);
				progress = true;
			}
		}
	}
}

/* ---- registers ---- */

static void queues_reset(struct sim *s)
{
	memset(s->sq, 0, sizeof(s->sq));
	memset(s->cq, 0, sizeof(s->cq));
}

static void set_ready(struct sim *s, bool rdy)
{
	s->csts = rdy ? s->csts | NVME_CSTS_RDY : s->csts & ~NVME_CSTS_RDY;
}

/* RDY follows EN after ready_after_reads CSTS reads, as a controller taking its time. */
static void ready_later(struct sim *s)
{
	s->pending_ready = s->ready_after_reads + 1;
}

static void enable(struct sim *s)
{
	uint32_t mps = (s->cc >> 7) & 0xf, sqs = (s->aqa & 0xfff) + 1u, cqs = ((s->aqa >> 16) & 0xfff) + 1u;

	s->enables++;
	if (s->csts & NVME_CSTS_RDY)
		violation(s, "CC.EN set while CSTS.RDY is still 1");
	if (mps < NVME_CAP_MPSMIN(s->cap) || mps > NVME_CAP_MPSMAX(s->cap) || ((s->cc >> 4) & 7) != 0)
		violation(s, "CC %#x: page size or command set outside CAP", s->cc);
	if (((s->cc >> 16) & 0xf) != NVME_SQES_LOG2 || ((s->cc >> 20) & 0xf) != NVME_CQES_LOG2)
		violation(s, "CC %#x: I/O queue entry sizes are not 64/16 bytes", s->cc);
	if (s->cfs_on_enable || s->never_ready) {
		s->pending_ready = 0; /* RDY stays 0 */
		if (s->cfs_on_enable)
			s->csts |= NVME_CSTS_CFS;
		return;
	}
	queues_reset(s);
	if (sqs < 2 || cqs < 2 || !queue_mem_ok(s, s->asq, sqs * 64ull, "admin SQ") ||
	    !queue_mem_ok(s, s->acq, cqs * 16ull, "admin CQ")) {
		s->csts |= NVME_CSTS_CFS;
		return;
	}
	s->sq[0] = (struct sim_sq){ .live = true, .base = s->asq, .size = (uint16_t)sqs, .cqid = 0 };
	s->cq[0] = (struct sim_cq){ .live = true, .base = s->acq, .size = (uint16_t)cqs, .phase = 1 };
	ready_later(s);
}

static void reset(struct sim *s)
{
	queues_reset(s);
	s->csts &= ~(NVME_CSTS_CFS | NVME_CSTS_SHST_MASK);
	if (!s->never_disables)
		ready_later(s);
}

static void write_cc(struct sim *s, uint32_t val)
{
	uint32_t old = s->cc;

	s->cc = val;
	if (!(old & NVME_CC_EN) && (val & NVME_CC_EN))
		enable(s);
	else if ((old & NVME_CC_EN) && !(val & NVME_CC_EN))
		reset(s);
	if ((val & NVME_CC_EN) && (val & NVME_CC_SHN_MASK) && !(old & NVME_CC_SHN_MASK)) {
		s->shutdowns++;
		s->csts = (s->csts & ~NVME_CSTS_SHST_MASK) |
			  (s->never_shuts_down ? NVME_CSTS_SHST_OCCURRING : NVME_CSTS_SHST_COMPLETE);
	}
}

static void doorbell(struct sim *s, uint32_t off, uint32_t val)
{
	uint32_t stride = 4u << NVME_CAP_DSTRD(s->cap), rel = off - NVME_REG_DBS, idx = rel / stride;
	uint32_t qid = idx / 2;

	if (rel % stride || qid >= SIM_MAX_QUEUES) {
		violation(s, "write %#x to %#x: no doorbell there (stride %u)", val, off, stride);
		return;
	}
	if (!running(s))
		return;
	if (idx % 2 == 0) {
		struct sim_sq *sq = &s->sq[qid];

		if (!sq->live || val >= sq->size) {
			violation(s, "SQ %u tail doorbell %u (queue %s, %u entries)", qid, val,
				  sq->live ? "live" : "absent", sq->size);
			return;
		}
		sq->tail = (uint16_t)val;
	} else {
		struct sim_cq *cq = &s->cq[qid];
		unsigned moved, posted;

		if (!cq->live || val >= cq->size) {
			violation(s, "CQ %u head doorbell %u (queue %s, %u entries)", qid, val,
				  cq->live ? "live" : "absent", cq->size);
			return;
		}
		moved = (val + cq->size - cq->head) % cq->size;
		posted = (cq->tail + cq->size - cq->head) % cq->size;
		if (moved > posted) {
			violation(s, "CQ %u head doorbell %u past the entries posted (head %u, tail %u)", qid, val,
				  cq->head, cq->tail);
			return;
		}
		cq->head = (uint16_t)val;
	}
	process(s);
}

static uint32_t sim_rd32(void *ctx, uint32_t off)
{
	struct sim *s = ctx;
	uint32_t csts;

	if (s->gone)
		return UINT32_MAX;
	switch (off) {
	case NVME_REG_CAP:
		return (uint32_t)s->cap;
	case NVME_REG_CAP + 4:
		return (uint32_t)(s->cap >> 32);
	case NVME_REG_VS:
		return s->vs;
	case NVME_REG_CC:
		return s->cc;
	case NVME_REG_CSTS:
		if (s->pending_ready && --s->pending_ready == 0)
			set_ready(s, s->cc & NVME_CC_EN);
		csts = s->csts;
		return s->hooks.csts ? s->hooks.csts(s->hooks.ctx, csts) : csts;
	case NVME_REG_AQA:
		return s->aqa;
	case NVME_REG_ASQ:
		return (uint32_t)s->asq;
	case NVME_REG_ASQ + 4:
		return (uint32_t)(s->asq >> 32);
	case NVME_REG_ACQ:
		return (uint32_t)s->acq;
	case NVME_REG_ACQ + 4:
		return (uint32_t)(s->acq >> 32);
	}
	return 0;
}

static void set_half(uint64_t *reg, uint32_t off, uint32_t base, uint32_t val)
{
	if (off == base)
		*reg = (*reg & ~0xffffffffull) | val;
	else
		*reg = (*reg & 0xffffffffull) | (uint64_t)val << 32;
}

static void sim_wr32(void *ctx, uint32_t off, uint32_t val)
{
	struct sim *s = ctx;

	if (off >= NVME_REG_DBS) {
		doorbell(s, off, val);
		return;
	}
	switch (off) {
	case NVME_REG_CC:
		write_cc(s, val);
		return;
	case NVME_REG_AQA:
	case NVME_REG_ASQ:
	case NVME_REG_ASQ + 4:
	case NVME_REG_ACQ:
	case NVME_REG_ACQ + 4:
		if (s->cc & NVME_CC_EN) {
			violation(s, "admin queue register %#x written while enabled", off);
			return;
		}
		if (off == NVME_REG_AQA)
			s->aqa = val;
		else if (off < NVME_REG_ACQ)
			set_half(&s->asq, off, NVME_REG_ASQ, val);
		else
			set_half(&s->acq, off, NVME_REG_ACQ, val);
		return;
	case NVME_REG_INTMS:
	case NVME_REG_INTMC:
		return;
	}
	violation(s, "write %#x to read-only or reserved register %#x", val, off);
}

static uint64_t sim_now_ns(void *ctx)
{
	struct sim *s = ctx;

	return s->clock_ns += s->tick_ns;
}

static void sim_relax(void *ctx)
{
	struct sim *s = ctx;

	s->relax_calls++;
}

const struct nvme_ops sim_ops = { NULL, sim_rd32, sim_wr32, sim_now_ns, sim_relax };
