/* SPDX-License-Identifier: MIT */
/*
 * A polled NVMe host driver core for one controller (an SR-IOV virtual
 * function passed through to a domain): one admin queue pair, one I/O
 * queue pair, namespace 1, 4 KiB memory pages, PRPs.
 *
 * Freestanding C, built once with the guest's code-generation flags and
 * linked into minios and into host programs (a VFIO harness, the unit
 * tests): no allocation, no libc beyond memcpy/memset, no OS calls.  The
 * environment gives register access, a clock and DMA memory:
 *   - struct nvme_ops: 32-bit BAR0 accesses, a monotonic clock in ns and a
 *     relax hook called on every turn of a polling loop;
 *   - struct nvme_dma: one page-aligned, IOVA-contiguous block the driver
 *     carves its queues, Identify buffer and PRP lists from
 *     (nvme_queue_mem_size() bytes); data buffers are the caller's, named
 *     by IOVA.
 * Single-threaded: one caller at a time per controller.
 *
 * The device is not trusted: every completion is copied out of its queue
 * and checked (command id in flight, SQ id, an SQ head the queue can hold;
 * an SQ head outside what was submitted or not past the command completed
 * is counted, not believed: nvme_sqhd_stale) before it is believed, every wait ends at a deadline taken
 * from now_ns, and the driver writes only into the queue memory it was
 * given.  A device that breaks the protocol (or a command that times out,
 * so that the device may still own its buffer) leaves the controller
 * failed: every later call returns that same error until nvme_init runs
 * again, which resets the controller.
 *
 * Errors are the negated values of enum nvme_error (not errno: each names
 * one way the device or the caller went wrong); nvme_strerror() says which
 * in words.  For NVME_ESTATUS, c->last_status holds the device's status.
 */
#ifndef XENITH_NVME_DRV_H
#define XENITH_NVME_DRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nvme.h"

struct nvme_ops {
	void *ctx;
	uint32_t (*rd32)(void *ctx, uint32_t off);
	/*
	 * 64-bit registers are written low half, then high half.  Must order
	 * the driver's earlier stores to DMA memory before the register write
	 * reaches the device (as Linux's writel does); the driver adds a
	 * release fence on its side.
	 */
	void (*wr32)(void *ctx, uint32_t off, uint32_t val);
	uint64_t (*now_ns)(void *ctx); /* monotonic; the only source of timeouts */
	void (*relax)(void *ctx);      /* each turn of a polling loop: pause, or a host's yield */
};

/* DMA memory: va as the driver sees it, iova as the device does; page-aligned, IOVA-contiguous. */
struct nvme_dma {
	void *va;
	uint64_t iova;
	uint64_t len;
};

enum nvme_error {
	NVME_OK,
	NVME_EAGAIN,       /* the I/O queue is full: reap completions, then submit again */
	NVME_EINVAL,       /* a bad argument: zero blocks, a buffer not dword-aligned, ... */
	NVME_ERANGE,       /* the LBA range passes the end of the namespace */
	NVME_E2BIG,        /* the transfer is larger than nvme_max_blocks() */
	NVME_EBUSY,        /* a synchronous command with asynchronous I/O still in flight */
	NVME_ENOTLIVE,     /* the controller is not initialised (or was shut down) */
	NVME_EMEMSIZE,     /* queue memory too small: c->mem_needed bytes are needed */
	NVME_EMEMALIGN,    /* queue memory not page-aligned (va or iova) */
	NVME_EQDEPTH,      /* qdepth outside 2..NVME_MAX_QDEPTH, or CAP.MQES allows fewer than 2 */
	NVME_ENODEV,       /* registers read all ones: the device is gone or BAR0 is not mapped */
	NVME_ENOCSS,       /* CAP.CSS lacks the NVM command set */
	NVME_EPAGESIZE,    /* 4 KiB pages are outside CAP.MPSMIN..MPSMAX */
	NVME_EDISABLE,     /* CSTS.RDY stayed 1 after CC.EN was cleared, for CAP.TO */
	NVME_EREADY,       /* CSTS.RDY stayed 0 after CC.EN was set, for CAP.TO */
	NVME_ECFS,         /* the controller reports a fatal status (CSTS.CFS) */
	NVME_ETIMEDOUT,    /* a command did not complete in time (the device may still own its buffer) */
	NVME_ESTATUS,      /* a command completed with an error status (c->last_status) */
	NVME_EBADCID,      /* a completion named a command id not in flight */
	NVME_EBADSQHD,     /* a completion's SQ head is past the end of the queue */
	NVME_EBADSQID,     /* a completion named another submission queue */
	NVME_ENONS,        /* the controller has no namespace 1 (Identify NN is 0) */
	NVME_ENSSIZE,      /* namespace 1 has size 0 (inactive, or not formatted) */
	NVME_ELBAF,        /* FLBAS names a format past NLBAF */
	NVME_ELBADS,       /* the LBA data size is outside 512 B..4 KiB (LBADS 9..12) */
	NVME_EMETA,        /* namespace 1 is formatted with metadata, which the driver does not transfer */
	NVME_ESHUTDOWN,    /* CSTS.SHST did not say complete after a shutdown notification */
	NVME_NR_ERRORS
};

#define NVME_PAGE 4096u
#define NVME_ADMIN_QDEPTH 32u
#define NVME_MAX_QDEPTH 256u
#define NVME_NO_IRQ (-1)
/*
 * PRP list space: 64 entries (512 bytes) per I/O slot, so a command spans
 * up to 65 pages: 256 KiB from any dword-aligned start (Linux's default
 * max_sectors is 1280 KiB, but 256 KiB is already past where a 4 KiB-page
 * device's throughput levels off, and it keeps qdepth 256 at 128 KiB of lists).
 */
#define NVME_PRP_LIST_ENTRIES 64u
#define NVME_MAX_XFER_BYTES (NVME_PRP_LIST_ENTRIES * NVME_PAGE)
#define NVME_CMD_TIMEOUT_NS 5000000000ull  /* admin commands (and the default for the sync helpers) */
#define NVME_SHUTDOWN_MIN_NS 5000000000ull /* when RTD3E says less or nothing */
#define NVME_SHUTDOWN_MAX_NS 60000000000ull

#define NVME_ROUND_PAGE(n) (((n) + NVME_PAGE - 1) / NVME_PAGE * NVME_PAGE)
/*
 * Queue memory for an I/O queue of qdepth entries (a constant expression):
 * admin SQ, admin CQ and Identify buffer (a page each), I/O SQ, I/O CQ,
 * PRP lists (each rounded up to pages).  qdepth 32: 36 KiB.
 */
#define NVME_QUEUE_MEM_SIZE(qdepth)                                                             \
	(3ull * NVME_PAGE + NVME_ROUND_PAGE((uint64_t)(qdepth) * sizeof(struct nvme_sqe)) +       \
	 NVME_ROUND_PAGE((uint64_t)(qdepth) * sizeof(struct nvme_cqe)) +                          \
	 NVME_ROUND_PAGE((uint64_t)(qdepth) * NVME_PRP_LIST_ENTRIES * 8u))

/* One completion handed back by nvme_reap. */
struct nvme_done {
	uint64_t tag;    /* as given to the submit call */
	uint16_t status; /* 0: success; else (SCT << 8) | SC */
};
#define NVME_STATUS_SCT(s) ((uint8_t)((s) >> 8))
#define NVME_STATUS_SC(s) ((uint8_t)(s))

struct nvme_queue {
	uint8_t *va;
	uint64_t iova;
	uint32_t db;     /* doorbell register: SQ tail or CQ head */
	uint16_t size;   /* entries */
	uint16_t head, tail;
	uint8_t phase;   /* CQ: the phase tag of entries not yet consumed */
};

struct nvme_slot {
	uint64_t tag;
	uint16_t cid;    /* slot index in 7:0, a generation in 14:8 */
	uint16_t sq_pos; /* where in the SQ the command went */
	uint8_t opcode;
	bool busy;
};

/* The caller owns it (no allocation); read it through the accessors below. */
struct nvme_ctrl {
	struct nvme_ops ops;
	bool live;
	int error;                  /* sticky: a protocol error or timeout, 0 while healthy */
	uint64_t cap;
	uint32_t vs;
	uint32_t dstrd;
	uint64_t ready_timeout_ns;  /* from CAP.TO */
	uint64_t mem_needed;        /* for NVME_EMEMSIZE */

	struct nvme_queue asq, acq, sq, cq;
	uint8_t *ident;             /* Identify buffer */
	uint64_t ident_iova;
	uint8_t *prp;               /* PRP lists, NVME_PRP_LIST_ENTRIES per slot */
	uint64_t prp_iova;
	uint16_t admin_cid;

	unsigned qdepth;            /* I/O queue entries (at most qdepth - 1 in flight) */
	unsigned inflight;
	uint8_t gen;
	uint16_t nfree;
	uint16_t free[NVME_MAX_QDEPTH];
	struct nvme_slot slots[NVME_MAX_QDEPTH];

	/* from Identify */
	char serial[NVME_IDC_SN_LEN + 1], model[NVME_IDC_MN_LEN + 1], firmware[NVME_IDC_FR_LEN + 1];
	uint8_t mdts;
	uint32_t nn;
	uint32_t rtd3e_us;
	uint32_t max_xfer_bytes;
	uint16_t sq_granted, cq_granted; /* Set Features Number of Queues, 1-based */
	uint64_t ns_blocks;
	unsigned lba_shift;
	int cq_vector;

	/* the last error status a command completed with */
	uint16_t last_status;       /* (SCT << 8) | SC */
	uint32_t sqhd_stale;        /* completions whose SQ head was outside what was submitted, or behind their command */
	uint8_t last_opcode;
	bool last_admin;
};

/* Bytes of queue memory nvme_init needs for qdepth (0 if qdepth is out of range). */
uint64_t nvme_queue_mem_size(unsigned qdepth);

/*
 * Resets and enables the controller, identifies it, creates one I/O queue
 * pair of up to qdepth entries (fewer if CAP.MQES says so; see
 * nvme_qdepth) polled without interrupts, and identifies namespace 1.
 * nvme_init_irq gives the I/O CQ MSI-X vector cq_vector (>= 0) instead.
 * On failure the controller may be left enabled; nvme_init again retries.
 */
int nvme_init(struct nvme_ctrl *c, const struct nvme_ops *ops, struct nvme_dma queue_mem, unsigned qdepth);
int nvme_init_irq(struct nvme_ctrl *c, const struct nvme_ops *ops, struct nvme_dma queue_mem, unsigned qdepth,
		  int cq_vector);

/*
 * Queues a read (write = false) or write of nblocks blocks at lba to or
 * from the IOVA-contiguous buffer at buf_iova (dword-aligned; page-aligned
 * saves a PRP entry).  tag comes back from nvme_reap.  -NVME_EAGAIN when
 * the queue is full.
 */
int nvme_submit_rw(struct nvme_ctrl *c, bool write, uint64_t lba, uint32_t nblocks, uint64_t buf_iova,
		   uint64_t tag);
/* Queues a flush of the volatile write cache of namespace 1. */
int nvme_submit_flush(struct nvme_ctrl *c, uint64_t tag);
/*
 * Takes up to max completions off the I/O CQ into out: how many, or a
 * negative error when the device broke the protocol (completions taken
 * before that are returned first; the error comes on the next call).
 */
int nvme_reap(struct nvme_ctrl *c, struct nvme_done *out, unsigned max);

/*
 * Synchronous single commands, with nothing else in flight (-NVME_EBUSY
 * otherwise): 0, -NVME_ESTATUS with c->last_status, or -NVME_ETIMEDOUT
 * after timeout_ns.
 */
int nvme_rw_sync(struct nvme_ctrl *c, bool write, uint64_t lba, uint32_t nblocks, uint64_t buf_iova,
		 uint64_t timeout_ns);
int nvme_flush(struct nvme_ctrl *c, uint64_t timeout_ns);

/*
 * Deletes the I/O queues (unless the controller has failed) and gives a
 * normal shutdown notification, waiting for CSTS.SHST to say complete.
 * The controller is no longer live afterwards, even on error.
 */
int nvme_shutdown(struct nvme_ctrl *c);

/* "queue memory too small ..." for -NVME_EMEMSIZE and the like; code may be negative or not. */
const char *nvme_strerror(int code);
/* A name for a completion status as nvme_done.status gives it ("LBA out of range", ...). */
const char *nvme_status_str(uint16_t status);

static inline unsigned nvme_qdepth(const struct nvme_ctrl *c) { return c->qdepth; }
static inline unsigned nvme_inflight(const struct nvme_ctrl *c) { return c->inflight; }
static inline uint64_t nvme_ns_blocks(const struct nvme_ctrl *c) { return c->ns_blocks; }
static inline uint32_t nvme_block_size(const struct nvme_ctrl *c) { return 1u << c->lba_shift; }
/* The largest nblocks one command takes (MDTS and the PRP list space). */
static inline uint32_t nvme_max_blocks(const struct nvme_ctrl *c) { return c->max_xfer_bytes >> c->lba_shift; }
static inline const char *nvme_serial(const struct nvme_ctrl *c) { return c->serial; }
static inline const char *nvme_model(const struct nvme_ctrl *c) { return c->model; }
static inline uint16_t nvme_last_status(const struct nvme_ctrl *c) { return c->last_status; }
/* Completions whose SQ head was not believed (sq_advance in queue.h): counted since nvme_init. */
static inline uint32_t nvme_sqhd_stale(const struct nvme_ctrl *c) { return c->sqhd_stale; }
/* 0 while healthy; else the sticky error (positive enum nvme_error) every call now returns, negated. */
static inline int nvme_failed(const struct nvme_ctrl *c) { return c->error; }

#endif
