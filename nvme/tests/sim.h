/* SPDX-License-Identifier: MIT */
/*
 * A software NVMe controller for the driver's tests and fuzz target: a
 * register file (CAP, VS, CC, CSTS, AQA, ASQ, ACQ, doorbells) with the
 * enable, reset and shutdown transitions, an admin queue and up to
 * SIM_MAX_QUEUES - 1 I/O queue pairs, and namespace 1 on an in-memory disk.
 *
 * Doorbell writes are processed at once: the controller fetches every
 * entry up to the new tail (while its CQ has room), executes it and posts
 * its completion before wr32 returns.
 *
 * DMA goes only through an arena the test owns, at IOVA iova_base (never
 * equal to the arena's address, so a driver that confuses the two shows).
 * Every access is bounds-checked: one outside the arena is not done and is
 * counted in stray (stray_what says the first); a driver breaking the
 * protocol (a misaligned PRP entry, a doorbell past the queue, bad queue
 * parameters) is counted in violations.  Tests assert both stay 0.
 *
 * The controller's clock moves tick_ns per now_ns call, so every wait the
 * driver does ends after a bounded number of turns.
 *
 * No test framework here: the fuzz target links it too.
 */
#ifndef XENITH_NVME_SIM_H
#define XENITH_NVME_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drv.h"

#define SIM_IOVA_BASE 0x10000000ull
#define SIM_MAX_QUEUES 4u /* admin + 3 I/O */
#define SIM_MAX_PRPS 600u /* PRP entries remembered per command (data pages) */

/* Fault knobs on completions, applied to the next command matching qid and opcode. */
enum sim_fault_kind {
	SIM_FAULT_NONE,
	SIM_FAULT_STATUS,   /* complete with fault.status instead (a CQE status word, NVME_CQE_STATUS) */
	SIM_FAULT_BAD_CID,  /* complete with a command id never submitted */
	SIM_FAULT_BAD_SQHD, /* complete with an SQ head past the tail */
	SIM_FAULT_SQHD_HUGE, /* complete with an SQ head past the end of the queue */
	SIM_FAULT_SQHD_BEHIND, /* complete with the SQ head as it was before fetching the command */
	SIM_FAULT_BAD_SQID, /* complete naming another SQ */
	SIM_FAULT_DROP,     /* execute, never complete */
};

struct sim_fault {
	enum sim_fault_kind kind;
	uint16_t qid;
	uint8_t opcode;
	uint16_t status;
	bool sticky;        /* every matching command, not only the next */
};

struct sim_sq {
	bool live;
	uint64_t base;
	uint16_t size, head, tail, cqid;
};

struct sim_cq {
	bool live;
	uint64_t base;
	uint16_t size, head, tail;
	uint8_t phase;
	bool ien;
	uint16_t iv;
	unsigned wraps;
};

/* The last command's data transfer, as the controller walked its PRPs. */
struct sim_xfer {
	uint64_t prp1, prp2;
	bool list;
	unsigned npages;
	uint64_t page[SIM_MAX_PRPS]; /* the address of each data chunk, in order */
};

/* Hooks for the fuzz target: rewrite what the controller says. */
struct sim_hooks {
	void *ctx;
	void (*identify)(void *ctx, uint8_t cns, uint8_t *page);    /* the page before it is DMAed */
	/* the completion before it is posted; returns how many extra copies to post after it */
	unsigned (*complete)(void *ctx, uint16_t qid, struct nvme_cqe *cqe);
	uint32_t (*csts)(void *ctx, uint32_t csts);                  /* what a CSTS read returns */
};

struct sim {
	/* DMA arena */
	uint8_t *arena;
	size_t arena_len;
	uint64_t iova_base;

	/* namespace 1 */
	uint8_t *disk;
	uint64_t disk_bytes;        /* backing; blocks past it read zero, writes to them are dropped */
	uint64_t nsze;
	uint8_t lbads;
	uint16_t ms;                /* metadata bytes per block in the format used */
	uint8_t nlbaf, flbas;
	uint32_t nn;

	/* Identify Controller */
	char sn[NVME_IDC_SN_LEN], mn[NVME_IDC_MN_LEN];
	uint8_t mdts;
	uint32_t rtd3e_us;
	uint16_t queues_granted;    /* Set Features answer, 1-based, for both */

	/* registers */
	uint64_t cap;
	uint32_t vs, cc, csts, aqa;
	uint64_t asq, acq;

	struct sim_sq sq[SIM_MAX_QUEUES];
	struct sim_cq cq[SIM_MAX_QUEUES];

	/* faults */
	bool never_ready;           /* CC.EN 0 -> 1 never sets CSTS.RDY */
	bool never_disables;        /* CC.EN 1 -> 0 leaves CSTS.RDY set */
	bool cfs_on_enable;         /* enabling sets CSTS.CFS instead of RDY */
	bool never_shuts_down;      /* CC.SHN leaves CSTS.SHST at "occurring" */
	bool gone;                  /* every register reads all ones */
	unsigned ready_after_reads; /* CSTS reads before RDY follows CC.EN (both ways) */
	struct sim_fault fault;
	struct sim_hooks hooks;

	/* what the driver did */
	unsigned stray, violations;
	char stray_what[160], violation_what[160];
	unsigned enables, shutdowns;
	unsigned admin_count[256], io_count[256];
	uint8_t admin_log[64];      /* admin opcodes in order (the first 64) */
	unsigned admin_logged;
	uint32_t create_cq_cdw11, create_sq_cdw11, create_cq_cdw10, create_sq_cdw10;
	struct sim_xfer last_xfer;
	unsigned relax_calls;
	uint64_t clock_ns, tick_ns;

	unsigned pending_ready;     /* internal: reads left before RDY follows */
};

/* A controller with sane defaults: nblocks blocks of 2^lbads bytes (backed in memory), arena given. */
int sim_init(struct sim *s, void *arena, size_t arena_len, uint64_t nblocks, uint8_t lbads);
void sim_fini(struct sim *s);

/* The driver's view of the arena. */
static inline uint64_t sim_iova(const struct sim *s, const void *va)
{
	return (uint64_t)((const uint8_t *)va - s->arena) + s->iova_base;
}

static inline struct nvme_dma sim_dma(const struct sim *s, size_t off, size_t len)
{
	return (struct nvme_dma){ s->arena + off, s->iova_base + off, len };
}

/* The ops table: ctx is the struct sim. */
extern const struct nvme_ops sim_ops;

static inline struct nvme_ops sim_ops_for(struct sim *s)
{
	struct nvme_ops o = sim_ops;

	o.ctx = s;
	return o;
}

/* CAP fields, for tests that change them */
void sim_set_cap(struct sim *s, uint16_t mqes, uint8_t to, uint8_t dstrd, uint8_t mpsmin, uint8_t mpsmax);

#endif
