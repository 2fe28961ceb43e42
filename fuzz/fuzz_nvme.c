// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the NVMe driver core (nvme/drv.c) against a controller that
 * lies.  The software controller of the unit tests (nvme/tests/sim.h)
 * answers with fuzzed capabilities, fuzzed Identify data and, through its
 * hooks, fuzzed completions (command ids, SQ head, SQ id, status, phase
 * tag, duplicates) and CSTS bits; the driver brings it up and runs a fuzzed
 * sequence of I/Os, reaps, syncs, flushes and shutdowns.  Checks, besides
 * no crash (ASan, UBSan):
 *   - the controller never DMAs outside the arena (every address it uses
 *     comes from the driver), and nothing writes the guard after the queue
 *     memory the driver was given;
 *   - every call returns 0, a count within what was asked, or one of the
 *     driver's own errors (-1 .. -(NVME_NR_ERRORS - 1));
 *   - every tag reaped was submitted and not reaped before, and the
 *     driver's count in flight is the harness's, below the queue depth;
 *   - a submission finds the queue full only with commands in flight
 *     (else a caller waiting for room would wait for ever);
 *   - with an honest controller (no hooks, no Identify patches) the driver
 *     breaks no protocol rule the controller checks;
 *   - every wait ends: the controller's clock moves 250 ms per now_ns call,
 *     and register reads are bounded.
 *
 * Input (little-endian; fuzz.h reads zeroes past the end):
 *   u8 knobs  bit0 never ready, bit1 CFS on enable, bit2 never resets,
 *             bit3 never shuts down, bit4 Identify patches follow,
 *             bit5 CSTS xor follows, bit6 registers read all ones,
 *             bit7 completions are fuzzed (one u8 per completion, below)
 *   u16 MQES, u8 CAP.TO, u8 DSTRD 3:0 | MPSMIN 7:4, u8 MPSMAX 3:0 | no NVM 4
 *   u8 CSTS reads before RDY follows (v % 16), u8 qdepth (2 + v % 63)
 *   u8 MDTS, u8 NN (v + 1, 8-bit), u8 LBADS (v < 128: 9 + v % 4, else v % 32),
 *   u16 metadata size, u8 NLBAF, u8 FLBAS, u32 NSZE (0: 2048; 256 blocks are backed)
 *   [bit4] u8 k, k x (u8 which: bit0 controller / namespace, u16 offset, u8 value)
 *   [bit5] u8 CSTS xor
 *   ops until the input ends (at most MAX_OPS), each u8 (v % 6) and its arguments:
 *     0 submit  u8 flags (bit0 write, bit1 any alignment), u32 lba, u16 nblocks (1 + v % 1024), u16 buffer offset
 *     1 reap    u8 max (v % 8)
 *     2 sync    as submit
 *     3 flush (asynchronous)
 *     4 flush (synchronous)
 *     5 shutdown, then init again with u8 qdepth
 *   With bit7, each completion the controller posts first takes a u8:
 *   0 as it is; else bit7 rewrite (u8 field v % 6: cid ^= u16, sqhd = u16,
 *   sqid = u16, status = u16, phase flipped, dw0 = u32) and bits 1:0
 *   extra copies posted after it.
 * fuzz/make_seeds.py writes valid inputs in this layout.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drv.h"
#include "fuzz.h"
#include "sim.h"

#define MAX_QD 64u
#define QMEM_MAX NVME_QUEUE_MEM_SIZE(MAX_QD)
#define GUARD_END (QMEM_MAX + NVME_PAGE)
#define DATA_OFF GUARD_END
#define DATA_LEN (64u * 1024 + NVME_MAX_XFER_BYTES + NVME_PAGE)
#define ARENA (DATA_OFF + DATA_LEN)
#define GUARD_BYTE 0xa5
#define NBLOCKS 256u /* backing; the namespace is larger (zeroes past it) */
#define MAX_OPS 64u
#define MAX_TAGS 1024u
#define TICK_NS 250000000ull
#define MAX_REG_READS 2000000u

struct harness {
	struct fuzz_in *in;
	struct sim s;
	struct nvme_ops ops;
	struct nvme_ctrl c;
	uint8_t *arena;
	uint64_t qmem_len;
	bool honest;
	uint8_t csts_xor;
	unsigned reg_reads;
	uint64_t next_tag;
	bool inflight[MAX_TAGS];
	unsigned n_inflight;
	unsigned sync_left;  /* a synchronous command the driver gave up on (it stays in flight) */
};

static unsigned on_complete(void *ctx, uint16_t qid, struct nvme_cqe *cqe)
{
	struct harness *h = ctx;
	uint8_t action = fuzz_u8(h->in);

	(void)qid;
	if (!(action & 0x80))
		return 0;
	switch (fuzz_u8(h->in) % 6) {
	case 0:
		cqe->cid ^= fuzz_u16(h->in);
		break;
	case 1:
		cqe->sqhd = fuzz_u16(h->in);
		break;
	case 2:
		cqe->sqid = fuzz_u16(h->in);
		break;
	case 3:
		cqe->status = fuzz_u16(h->in);
		break;
	case 4:
		cqe->status ^= NVME_CQE_PHASE;
		break;
	case 5:
		cqe->dw0 = fuzz_u32(h->in);
		break;
	}
	return action & 3;
}

static uint32_t on_csts(void *ctx, uint32_t csts)
{
	struct harness *h = ctx;

	FUZZ_CHECK(++h->reg_reads < MAX_REG_READS, "%u CSTS reads: a wait that does not end", h->reg_reads);
	return csts ^ h->csts_xor;
}

static void check_rc(int r, int max, const char *what)
{
	FUZZ_CHECK(r <= max && r > -NVME_NR_ERRORS, "%s returned %d", what, r);
	if (r < 0)
		FUZZ_CHECK(strcmp(nvme_strerror(r), "unknown NVMe driver error") != 0, "%s: %d has no words", what, r);
}

static void check_state(struct harness *h)
{
	static uint8_t guard[GUARD_END];

	if (!guard[0])
		memset(guard, GUARD_BYTE, sizeof(guard));
	/* memcmp, not a loop: a byte loop's coverage callbacks took 90% of the time */
	FUZZ_CHECK(!memcmp(h->arena + h->qmem_len, guard, GUARD_END - h->qmem_len),
		   "the guard after the queue memory (%#llx bytes) was written", (unsigned long long)h->qmem_len);
	FUZZ_CHECK(h->s.stray == 0, "controller DMA outside the arena: %s", h->s.stray_what);
	FUZZ_CHECK(!h->honest || h->s.violations == 0, "the driver broke the protocol with an honest "
		   "controller: %s", h->s.violation_what);
	if (h->c.live) {
		FUZZ_CHECK(nvme_inflight(&h->c) == h->n_inflight + h->sync_left,
			   "driver has %u in flight, harness %u + %u", nvme_inflight(&h->c), h->n_inflight,
			   h->sync_left);
		FUZZ_CHECK(!h->sync_left || nvme_failed(&h->c), "a synchronous command left in flight, "
			   "the controller not failed");
		FUZZ_CHECK(nvme_inflight(&h->c) < nvme_qdepth(&h->c), "%u in flight in a queue of %u",
			   nvme_inflight(&h->c), nvme_qdepth(&h->c));
	}
}

static void bring_up(struct harness *h, unsigned qdepth)
{
	int r;

	h->qmem_len = NVME_QUEUE_MEM_SIZE(qdepth);
	memset(h->arena + h->qmem_len, GUARD_BYTE, GUARD_END - h->qmem_len);
	memset(h->inflight, 0, sizeof(h->inflight));
	h->n_inflight = 0;
	h->sync_left = 0;
	r = nvme_init(&h->c, &h->ops, sim_dma(&h->s, 0, h->qmem_len), qdepth);
	check_rc(r, 0, "nvme_init");
	FUZZ_CHECK(r != 0 || nvme_qdepth(&h->c) <= qdepth, "queue of %u, %u asked", nvme_qdepth(&h->c), qdepth);
	check_state(h);
}

static void note_submitted(struct harness *h, uint64_t tag)
{
	h->inflight[tag] = true;
	h->n_inflight++;
}

/* A synchronous command that timed out (or met a lying completion) stays in flight in the driver. */
static void note_sync(struct harness *h, int r)
{
	if (r && h->c.live && nvme_inflight(&h->c) == h->n_inflight + h->sync_left + 1)
		h->sync_left++;
}

static void check_submit(struct harness *h, int r, const char *what)
{
	check_rc(r, 0, what);
	FUZZ_CHECK(r != -NVME_EAGAIN || nvme_inflight(&h->c) > 0, "%s: queue full with nothing in flight", what);
	if (r == 0)
		note_submitted(h, h->next_tag++);
}

static void do_rw(struct harness *h, bool sync)
{
	uint8_t flags = fuzz_u8(h->in);
	uint64_t lba = fuzz_u32(h->in);
	uint32_t nblocks = 1u + fuzz_u16(h->in) % 1024u;
	uint64_t off = fuzz_u16(h->in), buf;
	int r;

	if (!(flags & 2))
		off &= ~3ull;
	buf = h->s.iova_base + DATA_OFF + off;
	if (sync) {
		r = nvme_rw_sync(&h->c, flags & 1, lba, nblocks, buf, NVME_CMD_TIMEOUT_NS);
		check_rc(r, 0, "nvme_rw_sync");
		note_sync(h, r);
		return;
	}
	if (h->next_tag >= MAX_TAGS)
		return;
	check_submit(h, nvme_submit_rw(&h->c, flags & 1, lba, nblocks, buf, h->next_tag), "nvme_submit_rw");
}

static void do_reap(struct harness *h, unsigned max)
{
	struct nvme_done d[8];
	int r = nvme_reap(&h->c, d, max);

	check_rc(r, (int)max, "nvme_reap");
	for (int i = 0; i < r; i++) {
		FUZZ_CHECK(d[i].tag < MAX_TAGS && h->inflight[d[i].tag], "reaped tag %llu, not in flight",
			   (unsigned long long)d[i].tag);
		h->inflight[d[i].tag] = false;
		h->n_inflight--;
	}
}

static void setup_controller(struct harness *h, struct fuzz_in *in, uint8_t knobs)
{
	struct sim *s = &h->s;
	uint16_t mqes = fuzz_u16(in);
	uint8_t to = fuzz_u8(in), b1 = fuzz_u8(in), b2 = fuzz_u8(in);

	sim_set_cap(s, mqes, to, b1 & 0xf, b1 >> 4, b2 & 0xf);
	if (b2 & 0x10)
		s->cap &= ~((uint64_t)0xff << 37);
	s->never_ready = knobs & 1;
	s->cfs_on_enable = knobs & 2;
	s->never_disables = knobs & 4;
	s->never_shuts_down = knobs & 8;
	s->gone = knobs & 0x40;
	s->ready_after_reads = fuzz_u8(in) % 16;
	s->tick_ns = TICK_NS;
}

static void setup_namespace(struct sim *s, struct fuzz_in *in)
{
	uint8_t v;
	uint32_t nsze;

	s->mdts = fuzz_u8(in);
	s->nn = (uint8_t)(fuzz_u8(in) + 1u);
	v = fuzz_u8(in);
	s->lbads = v < 128 ? 9 + v % 4 : v % 32;
	s->ms = fuzz_u16(in);
	s->nlbaf = fuzz_u8(in);
	s->flbas = fuzz_u8(in);
	nsze = fuzz_u32(in);
	s->nsze = nsze ? nsze : 2048;
}

/* Identify patches: applied by the identify hook, from a table read up front. */
struct patch {
	uint8_t which;
	uint16_t off;
	uint8_t val;
};
static struct patch patches[256];
static unsigned n_patches;

/*
 * A controller that lies about its LBA size would transfer more than the
 * driver's PRPs cover, which no driver can prevent (an IOMMU does): the
 * model adopts the block size it announces, so that a DMA outside the
 * arena still means the driver named a wrong address.
 */
static void on_identify(void *ctx, uint8_t cns, uint8_t *page)
{
	struct harness *h = ctx;
	unsigned index;

	for (unsigned i = 0; i < n_patches; i++)
		if ((patches[i].which & 1) == (cns == NVME_CNS_CTRL))
			page[patches[i].off % NVME_IDENTIFY_LEN] = patches[i].val;
	if (cns != NVME_CNS_NS)
		return;
	index = NVME_FLBAS_INDEX(page[NVME_IDNS_FLBAS]);
	if (index < NVME_IDNS_LBAF_MAX) {
		uint8_t lbads = page[NVME_IDNS_LBAF + 4 * index + 2];

		if (lbads >= 9 && lbads <= 12)
			h->s.lbads = lbads;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct harness *h = calloc(1, sizeof(*h));
	uint8_t knobs, qdepth;

	if (!h)
		abort();
	h->in = &in;
	h->arena = aligned_alloc(NVME_PAGE, ARENA);
	if (!h->arena || sim_init(&h->s, h->arena, ARENA, NBLOCKS, 9))
		abort();
	memset(h->arena, 0, ARENA);
	h->ops = sim_ops_for(&h->s);
	h->s.hooks.ctx = h;
	h->s.hooks.csts = on_csts;

	knobs = fuzz_u8(&in);
	setup_controller(h, &in, knobs);
	qdepth = (uint8_t)(2u + fuzz_u8(&in) % (MAX_QD - 1u));
	setup_namespace(&h->s, &in);
	n_patches = 0;
	if (knobs & 0x10) {
		unsigned k = fuzz_u8(&in);

		for (unsigned i = 0; i < k; i++) {
			patches[i].which = fuzz_u8(&in);
			patches[i].off = fuzz_u16(&in);
			patches[i].val = fuzz_u8(&in);
		}
		n_patches = k;
		h->s.hooks.identify = on_identify;
	}
	if (knobs & 0x20)
		h->csts_xor = fuzz_u8(&in);
	if (knobs & 0x80)
		h->s.hooks.complete = on_complete;
	h->honest = !(knobs & 0xb0);

	bring_up(h, qdepth);
	for (unsigned i = 0; i < MAX_OPS && in.left; i++) {
		switch (fuzz_u8(&in) % 6) {
		case 0:
			do_rw(h, false);
			break;
		case 1:
			do_reap(h, fuzz_u8(&in) % 8u);
			break;
		case 2:
			do_rw(h, true);
			break;
		case 3:
			if (h->next_tag < MAX_TAGS)
				check_submit(h, nvme_submit_flush(&h->c, h->next_tag), "nvme_submit_flush");
			break;
		case 4: {
			int r = nvme_flush(&h->c, NVME_CMD_TIMEOUT_NS);

			check_rc(r, 0, "nvme_flush");
			note_sync(h, r);
			break;
		}
		case 5:
			check_rc(nvme_shutdown(&h->c), 0, "nvme_shutdown");
			check_state(h);
			bring_up(h, 2u + fuzz_u8(&in) % (MAX_QD - 1u));
			break;
		}
		check_state(h);
	}
	check_rc(nvme_shutdown(&h->c), 0, "nvme_shutdown");
	check_state(h);
	sim_fini(&h->s);
	free(h->arena);
	free(h);
	return 0;
}
