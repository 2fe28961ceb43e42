// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the backend side of the blkif ring (include/xenith/ring.h
 * through include/xenith/blkif.h) and blkback_check_request (io/blkback.h).
 * The ring page is a fuzzed 4096-byte heap block (ASan: nothing is read
 * or written past it); a fuzzed guest rewrites its indices and slots
 * between the backend's rounds, and the backend consumes requests as
 * io/blkback.c does: copy out, then check the copy.  Invariants:
 *  - blkif_back_pending_reqs fails exactly when the guest's req_prod is
 *    impossible (more requests outstanding than slots, or behind what the
 *    backend already consumed), and otherwise never hands out more
 *    requests than there are free slots, so a consumer that takes all *n
 *    neither loops for ever nor runs over responses it still owes;
 *  - a request blkback_check_request accepts is well formed and its
 *    sector range lies inside the disk (checked here from blkif.h's rules,
 *    not with the function's own code).
 *
 * Input (little-endian; fuzz.h reads zeroes past the end):
 *   u8 knobs   bits 0-1: disk size (0: 0 sectors, 1: u8, 2: u32, 3: u64 follows);
 *              bit 2: read-only disk; bit 3: a u32 start index follows (else 0)
 *   [disk size] [u32 start]
 *   4096 bytes: the ring page as the guest left it
 *   actions until the input ends, each a u8 (v % 6) and its arguments:
 *     0 publish  i8 delta: req_prod = backend's req_cons + delta
 *     1 req_prod u32, raw
 *     2 poke     u16 offset, u8 len, len bytes: the guest writes into its page
 *     3 take     u8 limit: the backend takes up to limit pending requests
 *     4 respond  u8 count: the backend answers that many taken requests, pushes
 *     5 check    the backend's final check before sleeping
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blkback.h"
#include "fuzz.h"
#include "xenith/blkif.h"

#define PAGE 4096u
#define MAX_ACTIONS 1024u

enum { ACT_PUBLISH, ACT_REQ_PROD, ACT_POKE, ACT_TAKE, ACT_RESPOND, ACT_CHECK, NR_ACTS };

struct harness {
	uint8_t *page;
	struct blkif_back back;
	uint64_t disk_sectors;
	bool ro;
	uint64_t ids[XENITH_RING_SLOTS(sizeof(union blkif_slot))]; /* taken, not answered: FIFO */
	unsigned nr_taken;
	bool broken;
};

/* What ring.h promises about req_prod, worked out here from the indices. */
static bool impossible(const struct harness *h, ring_idx_t prod)
{
	ring_idx_t outstanding = prod - h->back.rsp_prod_pvt;
	ring_idx_t consumed = h->back.req_cons - h->back.rsp_prod_pvt;

	return outstanding > blkif_ring_size() || outstanding < consumed;
}

static ring_idx_t guest_req_prod(const struct harness *h)
{
	return __atomic_load_n(&h->back.s->h.req_prod, __ATOMIC_RELAXED);
}

/* The backend's side of the ring must stay consistent whatever the guest does. */
static void check_backend(const struct harness *h)
{
	ring_idx_t in_flight = h->back.req_cons - h->back.rsp_prod_pvt;

	FUZZ_CHECK(in_flight <= blkif_ring_size() && in_flight == h->nr_taken,
		   "backend owes %u responses, took %u requests not answered", in_flight,
		   h->nr_taken);
}

static void check_request(const struct harness *h, const struct blkif_request *r)
{
	uint64_t n = UINT64_MAX, sum = 0;
	int st = blkback_check_request(r, h->disk_sectors, h->ro, &n);

	FUZZ_CHECK(st == BLKIF_RSP_OKAY || st == BLKIF_RSP_ERROR || st == BLKIF_RSP_EOPNOTSUPP,
		   "op %u: status %d is not a blkif response status", r->operation, st);
	if (st != BLKIF_RSP_OKAY) {
		FUZZ_CHECK(n == 0, "op %u refused (%d) with %llu sectors", r->operation, st,
			   (unsigned long long)n);
		return;
	}
	switch (r->operation) {
	case BLKIF_OP_FLUSH_DISKCACHE:
		FUZZ_CHECK(n == 0, "flush with %llu sectors", (unsigned long long)n);
		return;
	case BLKIF_OP_DISCARD: {
		struct blkif_request_discard d;

		memcpy(&d, r, sizeof(d));
		FUZZ_CHECK(!h->ro, "discard accepted on a read-only disk");
		FUZZ_CHECK(n == d.nr_sectors && n > 0, "discard of %llu sectors accepted as %llu",
			   (unsigned long long)d.nr_sectors, (unsigned long long)n);
		FUZZ_CHECK(d.sector_number <= h->disk_sectors && n <= h->disk_sectors - d.sector_number,
			   "discard [%llu, +%llu) accepted on a disk of %llu sectors",
			   (unsigned long long)d.sector_number, (unsigned long long)n,
			   (unsigned long long)h->disk_sectors);
		return;
	}
	case BLKIF_OP_READ:
	case BLKIF_OP_WRITE:
		break;
	default:
		FUZZ_CHECK(false, "unknown op %u accepted", r->operation);
	}
	FUZZ_CHECK(!(h->ro && r->operation == BLKIF_OP_WRITE), "write accepted on a read-only disk");
	FUZZ_CHECK(r->nr_segments >= 1 && r->nr_segments <= BLKIF_MAX_SEGMENTS_PER_REQUEST,
		   "%u segments accepted", r->nr_segments);
	for (unsigned i = 0; i < r->nr_segments; i++) {
		const struct blkif_request_segment *s = &r->seg[i];

		FUZZ_CHECK(s->first_sect <= s->last_sect && s->last_sect < XENITH_SECTORS_PER_PAGE,
			   "segment %u: sectors %u..%u of a page accepted", i, s->first_sect,
			   s->last_sect);
		sum += s->last_sect - s->first_sect + 1u;
	}
	FUZZ_CHECK(n == sum, "%llu sectors in the segments, accepted as %llu",
		   (unsigned long long)sum, (unsigned long long)n);
	FUZZ_CHECK(r->sector_number <= h->disk_sectors && n <= h->disk_sectors - r->sector_number,
		   "%s [%llu, +%llu) accepted on a disk of %llu sectors",
		   r->operation == BLKIF_OP_READ ? "read" : "write", (unsigned long long)r->sector_number,
		   (unsigned long long)n, (unsigned long long)h->disk_sectors);
}

/* The result of pending_reqs/final_check: -1 exactly for an impossible req_prod. */
static bool pending(struct harness *h, ring_idx_t *n)
{
	ring_idx_t prod = guest_req_prod(h);
	int r = blkif_back_pending_reqs(&h->back, n);

	FUZZ_CHECK((r < 0) == impossible(h, prod),
		   "req_prod %u with req_cons %u, rsp_prod_pvt %u: pending_reqs said %d", prod,
		   h->back.req_cons, h->back.rsp_prod_pvt, r);
	if (r < 0) {
		FUZZ_CHECK(*n == 0, "a broken ring reported %u requests", *n);
		h->broken = true; /* blkback stops serving this disk */
		return false;
	}
	FUZZ_CHECK(*n <= blkif_ring_size() - h->nr_taken,
		   "%u requests pending with %u of %u slots still owed a response (req_prod %u, "
		   "req_cons %u, rsp_prod_pvt %u)", *n, h->nr_taken, blkif_ring_size(), prod,
		   h->back.req_cons, h->back.rsp_prod_pvt);
	FUZZ_CHECK(*n == (ring_idx_t)(prod - h->back.req_cons), "pending %u, req_prod - req_cons = %u",
		   *n, prod - h->back.req_cons);
	return true;
}

static void take(struct harness *h, unsigned limit)
{
	ring_idx_t n;

	if (!pending(h, &n))
		return;
	/* Take all *n (up to limit): the ring's word is all a consumer has to go on. */
	for (ring_idx_t i = 0; i < n && i < limit; i++) {
		struct blkif_request req;

		blkif_back_take_req(&h->back, &req);
		check_request(h, &req);
		h->ids[h->nr_taken++] = req.id;
		check_backend(h);
	}
}

static void respond(struct harness *h, unsigned count)
{
	for (unsigned i = 0; i < count && h->nr_taken; i++) {
		struct blkif_response *rsp = blkif_back_next_rsp(&h->back);

		FUZZ_CHECK((uint8_t *)rsp >= h->page && (uint8_t *)(rsp + 1) <= h->page + PAGE,
			   "response slot outside the ring page");
		rsp->id = h->ids[0];
		rsp->operation = 0;
		rsp->status = BLKIF_RSP_OKAY;
		memmove(h->ids, h->ids + 1, --h->nr_taken * sizeof(h->ids[0]));
		h->back.rsp_prod_pvt++;
	}
	blkif_back_push(&h->back);
	check_backend(h);
}

static void final_check(struct harness *h)
{
	ring_idx_t prod = guest_req_prod(h), n;
	int r = blkif_back_final_check(&h->back);

	FUZZ_CHECK(r == -1 || r == 0 || r == 1, "final_check said %d", r);
	if (r < 0) {
		/* It looked at req_prod twice; the guest did not move it in between. */
		FUZZ_CHECK(impossible(h, prod), "final_check said broken for req_prod %u", prod);
		h->broken = true;
		return;
	}
	FUZZ_CHECK(!impossible(h, prod), "final_check missed an impossible req_prod %u", prod);
	if (pending(h, &n))
		FUZZ_CHECK((r == 1) == (n != 0), "final_check said %d with %u pending", r, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct harness h = { 0 };
	uint8_t knobs = fuzz_u8(&in);
	ring_idx_t start;

	switch (knobs & 3) {
	case 0: h.disk_sectors = 0; break;
	case 1: h.disk_sectors = fuzz_u8(&in); break;
	case 2: h.disk_sectors = fuzz_u32(&in); break;
	case 3: h.disk_sectors = fuzz_u64(&in); break;
	}
	h.ro = knobs & 4;
	start = knobs & 8 ? fuzz_u32(&in) : 0;
	h.page = aligned_alloc(PAGE, PAGE);
	if (!h.page)
		abort();
	fuzz_bytes(&in, h.page, PAGE);
	blkif_back_init(&h.back, (struct blkif_sring *)(void *)h.page);
	h.back.req_cons = h.back.rsp_prod_pvt = start; /* indices are free-running: any start */

	for (unsigned i = 0; i < MAX_ACTIONS && in.left && !h.broken; i++) {
		switch (fuzz_u8(&in) % NR_ACTS) {
		case ACT_PUBLISH:
			h.back.s->h.req_prod = h.back.req_cons + (ring_idx_t)(int8_t)fuzz_u8(&in);
			break;
		case ACT_REQ_PROD:
			h.back.s->h.req_prod = fuzz_u32(&in);
			break;
		case ACT_POKE: {
			uint16_t off = fuzz_u16(&in) % PAGE;
			uint8_t len = fuzz_u8(&in);

			fuzz_bytes(&in, h.page + off, len < PAGE - off ? len : PAGE - off);
			break;
		}
		case ACT_TAKE:
			take(&h, fuzz_u8(&in));
			break;
		case ACT_RESPOND:
			respond(&h, fuzz_u8(&in));
			break;
		case ACT_CHECK:
			final_check(&h);
			break;
		}
	}
	free(h.page);
	return 0;
}
