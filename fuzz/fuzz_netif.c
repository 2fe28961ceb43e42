// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the network backend's guest-facing paths (io/netback.c)
 * from fuzzed netif rings (include/xenith/netif.h): the TX request path
 * (slots copied out, netback_tx_parse, grant copies of the fragments, the
 * source-MAC check, checksum filling, the port) and the RX posting path
 * (posted buffers, grant copies of frames into them), one round at a time
 * on this thread (netback_run_once), over a fuzzed grant table in 32
 * pages of guest memory and an in-memory port pair whose other end the
 * harness holds.  Also netback_tx_parse alone on fuzzed slot arrays.
 * Invariants, checked from netif.h's and grant_table.h's rules, not with
 * netback's code:
 *  - the queue is found broken exactly when a ring's req_prod is
 *    impossible (more than 256 ahead of the responses), and otherwise
 *    every slot netback consumed in a round is answered in that round;
 *  - TX responses answer published slots only, in order: a status other
 *    than NETIF_RSP_NULL carries its slot's id; NULL only right after a
 *    request with NETTXF_extra_info or an extra slot with FLAG_MORE;
 *    statuses are NETIF_RSP_* values;
 *  - every frame that reaches the port is 14..1514 bytes, carries the
 *    vif's source MAC, one per OKAY packet at most (and tx_packets counts
 *    them);
 *  - RX responses carry the posted ids in order; a positive status is the
 *    length of the frame it answers and that frame's bytes are at the start
 *    of the page the grant names (which the harness's own table says is
 *    writable to the backend); anything else is NETIF_RSP_ERROR for a
 *    buffer the table says the backend may not write;
 *  - a round changes no guest page but the ring pages and pages granted
 *    writable to the backend;
 *  - netback_tx_skip: the request slots of a chain up to its end (the first
 *    without more_data) or the window's, cut exactly when the chain goes on;
 *  - netback_tx_parse: 1 <= slots <= avail, slots <= NETBACK_TX_PKT_SLOTS;
 *    cut only after a request slot saying more_data, and then dropped;
 *    0 only when avail < NETBACK_TX_PKT_SLOTS; an accepted packet has
 *    1..18 fragments, each inside its page, lengths summing to len,
 *    14 <= len <= 1514, the fragments' grefs and ids from the input's
 *    request slots.
 *
 * Input (little-endian; fuzz.h reads zeroes past the end):
 *   u8 knobs    bit 0: a u32 start index for both rings follows (else 0)
 *   [u32 start]
 *   24 x u8     grants for refs 10..33: bits 0-1: 0 none, 1 writable,
 *               2 read-only, 3 another domain's; bits 2-7: frame 12 + v % 20,
 *               or (v == 63) a frame outside guest memory
 *   actions until the input ends (at most 256), each a u8 (v % 9):
 *     0 tx_put   u8 n (n % 24 + 1), n x 12 raw slot bytes at the guest's next slots
 *     1 tx_push  req_prod = the guest's slots written
 *     2 tx_prod  u32 raw req_prod
 *     3 rx_post  u8 n (n % 8 + 1), n x (u16 id, u8 ref: 10 + v % 24, 255: ref 2000)
 *     4 rx_prod  u32 raw req_prod
 *     5 send     u8 n (n % 8 + 1), n x (u16 length 1 + v % 1514, u8 pattern): from the wire
 *     6 round    netback_run_once and the invariants
 *     7 poke     u16 offset into the data pages, u8 length, bytes
 *     8 parse    u8 avail (% 24), avail x 12 slot bytes: netback_tx_parse alone
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "netback.h"
#include "port_pair.h"

#define PAGE 4096u
#define PAGES 32u
#define F_TABLE 8u
#define F_TX 9u       /* ref 8 */
#define F_RX 10u      /* ref 9 */
#define F_DATA 12u    /* data pages 12..31 */
#define NDATA 20u
#define REF0 10u      /* fuzzed grants: refs 10..33 */
#define NREFS 24u
#define MAX_ACTIONS 256u
#define SLOTS 256u
#define FIFO 1024u

static const uint8_t MAC[6] = { 0x00, 0x16, 0x3e, 0x12, 0x34, 0x56 };

struct harness {
	uint8_t *mem, *snap;
	struct grant_table gt;
	struct netback *nb;
	struct net_port *port, *peer;
	struct netif_tx_sring *tx;
	struct netif_rx_sring *rx;
	ring_idx_t tx_pvt, rx_pvt;   /* slots the guest wrote */
	ring_idx_t tx_seen, rx_seen; /* responses the harness has checked */
	uint16_t sent_len[FIFO];     /* frames sent from the wire, not yet answered or dropped */
	uint8_t sent_pat[FIFO];
	unsigned sent_head, sent_tail;
	uint64_t tx_packets, no_rx_buffer;
	bool broken;
};

static uint8_t pattern(uint8_t pat, unsigned i)
{
	return (uint8_t)(pat * 13u + i * 7u + (i >> 8));
}

/* What the harness's own table says about a reference: the frame the backend may write, or -1. */
static long writable_frame(const struct harness *h, grant_ref_t ref)
{
	const struct grant_entry_v1 *e;

	if (ref >= PAGE / sizeof(*e))
		return -1;
	e = (const struct grant_entry_v1 *)(const void *)(h->mem + F_TABLE * PAGE) + ref;
	if ((e->flags & GTF_type_mask) != GTF_permit_access || (e->flags & GTF_readonly) ||
	    e->domid != XENITH_BACKEND_DOMID || e->frame < F_DATA || e->frame >= PAGES)
		return -1;
	return e->frame;
}

static bool impossible(ring_idx_t prod, ring_idx_t rsp)
{
	return (ring_idx_t)(prod - rsp) > SLOTS;
}

/* netback_tx_skip on the same slots: the chain's request slots to its end, within the window. */
static void check_skip(const union netif_tx_slot_req *s, unsigned avail)
{
	unsigned lim = avail < NETBACK_TX_PKT_SLOTS ? avail : NETBACK_TX_PKT_SLOTS;
	struct netback_tx_pkt p;
	int r = netback_tx_skip(s, avail, &p);

	FUZZ_CHECK(r == (avail > 0), "skip said %d for %u slots", r, avail);
	if (!r)
		return;
	FUZZ_CHECK(p.slots >= 1 && p.slots <= lim, "skipped %u of %u slots", p.slots, avail);
	FUZZ_CHECK(p.rest && p.drop == NETBACK_DROP_BAD_REQUEST, "the rest of a chain is not a counted-once drop");
	for (unsigned i = 0; i < p.slots; i++) {
		bool more = s[i].tx.flags & NETTXF_more_data;

		FUZZ_CHECK(!p.extra[i] && p.id[i] == s[i].tx.id, "skipped slot %u: not its request's id", i);
		if (i + 1 < p.slots)
			FUZZ_CHECK(more, "skipped past slot %u, the end of the chain", i);
	}
	FUZZ_CHECK(p.cut == !!(s[p.slots - 1].tx.flags & NETTXF_more_data),
		   "cut %d, but slot %u says more_data %d", p.cut, p.slots - 1,
		   !!(s[p.slots - 1].tx.flags & NETTXF_more_data));
	FUZZ_CHECK(!p.cut || p.slots == lim, "the chain goes on, but skip stopped at %u of %u", p.slots, lim);
}

static void check_parse(struct fuzz_in *in)
{
	union netif_tx_slot_req s[NETBACK_TX_PKT_SLOTS + 2];
	struct netback_tx_pkt p;
	unsigned avail = fuzz_u8(in) % (NETBACK_TX_PKT_SLOTS + 2), nreq = 0;
	uint32_t sum = 0;
	int r;

	for (unsigned i = 0; i < avail; i++)
		fuzz_bytes(in, &s[i], sizeof(s[i]));
	check_skip(s, avail);
	r = netback_tx_parse(s, avail, &p);
	FUZZ_CHECK(r == 0 || r == 1, "parse said %d", r);
	if (r == 0) {
		FUZZ_CHECK(avail < NETBACK_TX_PKT_SLOTS, "parse waits for more than %u slots", avail);
		return;
	}
	FUZZ_CHECK(p.slots >= 1 && p.slots <= avail && p.slots <= NETBACK_TX_PKT_SLOTS,
		   "a packet of %u slots from %u", p.slots, avail);
	FUZZ_CHECK(!p.extra[0] && p.id[0] == s[0].tx.id, "the first slot is not the first request");
	FUZZ_CHECK(p.drop == NETBACK_DROP_NONE || p.drop == NETBACK_DROP_BAD_REQUEST ||
		   p.drop == NETBACK_DROP_OVERSIZE, "parse gave drop reason %d", p.drop);
	FUZZ_CHECK(!p.rest, "parse says its packet is the rest of another");
	if (p.cut)
		FUZZ_CHECK(p.drop == NETBACK_DROP_BAD_REQUEST && !p.extra[p.slots - 1] &&
			   (s[p.slots - 1].tx.flags & NETTXF_more_data),
			   "cut after slot %u, which is not a request saying more_data, or not dropped", p.slots - 1);
	if (p.drop != NETBACK_DROP_NONE)
		return;
	FUZZ_CHECK(p.nfrags >= 1 && p.nfrags <= XENITH_NET_MAX_SLOTS_PER_PKT, "%u fragments", p.nfrags);
	FUZZ_CHECK(p.len >= 14 && p.len <= XENITH_NET_FRAME_MAX, "a frame of %u bytes accepted", p.len);
	FUZZ_CHECK(p.len == s[0].tx.size, "len %u, first size %u", p.len, s[0].tx.size);
	for (unsigned i = 0; i < p.slots; i++) {
		if (p.extra[i])
			continue;
		FUZZ_CHECK(p.id[i] == s[i].tx.id, "slot %u: id %u, the request's %u", i, p.id[i], s[i].tx.id);
		FUZZ_CHECK(nreq < p.nfrags && p.frag[nreq].gref == s[i].tx.gref &&
			   p.frag[nreq].offset == s[i].tx.offset, "fragment %u is not request slot %u", nreq, i);
		if (nreq)
			FUZZ_CHECK(p.frag[nreq].len == s[i].tx.size, "fragment %u: length %u, size %u", nreq,
				   p.frag[nreq].len, s[i].tx.size);
		FUZZ_CHECK((uint32_t)p.frag[nreq].offset + p.frag[nreq].len <= PAGE,
			   "fragment %u: [%u, +%u) outside its page", nreq, p.frag[nreq].offset, p.frag[nreq].len);
		sum += p.frag[nreq].len;
		nreq++;
	}
	FUZZ_CHECK(nreq == p.nfrags, "%u request slots, %u fragments", nreq, p.nfrags);
	FUZZ_CHECK(sum == p.len, "fragments sum to %u, the frame is %u", sum, p.len);
}

static void round_and_check(struct harness *h)
{
	ring_idx_t tx_prod = h->tx->h.req_prod, rx_prod = h->rx->h.req_prod;
	bool expect_broken = impossible(tx_prod, h->tx_seen) || impossible(rx_prod, h->rx_seen);
	union netif_tx_slot_req snap[SLOTS];
	struct netif_rx_request rsnap[SLOTS];
	struct netback_stats st;
	ring_idx_t tx_rsp, rx_rsp;
	unsigned oks = 0, frames = 0;
	int r;

	for (unsigned i = 0; i < SLOTS; i++) { /* the requests as the guest left them */
		snap[i] = h->tx->slot[i].req;
		rsnap[i] = h->rx->slot[i].req;
	}
	memcpy(h->snap, h->mem, (size_t)PAGES * PAGE);
	r = netback_run_once(h->nb);
	FUZZ_CHECK((r < 0) == expect_broken, "round said %d; TX req_prod %u rsp %u, RX req_prod %u rsp %u", r,
		   tx_prod, h->tx_seen, rx_prod, h->rx_seen);
	if (r < 0) {
		h->broken = true;
		return;
	}
	/*
	 * Guest memory: only rings and pages granted writable may change, and
	 * in the grant table only the in-use flags (GTF_reading/GTF_writing,
	 * grant_table.h: the backend's to set while it uses an entry; they
	 * stay while another use of the entry, e.g. the ring's mapping, does).
	 */
	for (unsigned e = 0; e < PAGE / sizeof(struct grant_entry_v1); e++) {
		struct grant_entry_v1 *now = (struct grant_entry_v1 *)(void *)(h->mem + F_TABLE * PAGE) + e;
		struct grant_entry_v1 *was = (struct grant_entry_v1 *)(void *)(h->snap + F_TABLE * PAGE) + e;

		FUZZ_CHECK(now->domid == was->domid && now->frame == was->frame &&
			   (now->flags & ~(GTF_reading | GTF_writing)) == (was->flags & ~(GTF_reading | GTF_writing)),
			   "grant entry %u changed beyond its in-use flags", e);
	}
	for (unsigned f = 0; f < PAGES; f++) {
		bool may = f == F_TX || f == F_RX || f == F_TABLE;

		for (grant_ref_t ref = REF0; !may && ref < REF0 + NREFS; ref++)
			may = writable_frame(h, ref) == (long)f;
		if (!may)
			FUZZ_CHECK(memcmp(h->mem + f * PAGE, h->snap + f * PAGE, PAGE) == 0,
				   "frame %u changed, not granted writable", f);
	}
	/* TX responses */
	tx_rsp = h->tx->h.rsp_prod;
	FUZZ_CHECK((ring_idx_t)(tx_rsp - h->tx_seen) <= (ring_idx_t)(tx_prod - h->tx_seen),
		   "TX: %u responses for %u published slots", tx_rsp - h->tx_seen, tx_prod - h->tx_seen);
	for (ring_idx_t i = h->tx_seen; i != tx_rsp; i++) {
		const struct netif_tx_response *rsp = &h->tx->slot[i % SLOTS].rsp;
		const union netif_tx_slot_req *q = &snap[i % SLOTS];
		int16_t s = rsp->status;

		FUZZ_CHECK(s >= NETIF_RSP_DROPPED && s <= NETIF_RSP_NULL, "TX status %d", s);
		if (s == NETIF_RSP_NULL) {
			const union netif_tx_slot_req *prev = &snap[(i - 1) % SLOTS];
			int16_t ps = h->tx->slot[(i - 1) % SLOTS].rsp.status;

			FUZZ_CHECK(i != h->tx_seen, "a packet's first slot answered NULL");
			FUZZ_CHECK(ps == NETIF_RSP_NULL ? (prev->extra.flags & XEN_NETIF_EXTRA_FLAG_MORE)
							: (prev->tx.flags & NETTXF_extra_info),
				   "slot %u answered NULL, not announced as extra info by slot %u", i, i - 1);
		} else {
			FUZZ_CHECK(rsp->id == q->tx.id, "slot %u: response id %u, request id %u", i, rsp->id, q->tx.id);
			oks += s == NETIF_RSP_OKAY;
		}
	}
	h->tx_seen = tx_rsp;
	for (;;) {
		uint8_t buf[NET_PORT_FRAME_MAX];
		struct net_frame f = { .data = buf, .cap = sizeof(buf) };

		if (h->peer->ops->recv(h->peer, &f, 1) != 1)
			break;
		frames++;
		FUZZ_CHECK(f.len >= 14 && f.len <= XENITH_NET_FRAME_MAX, "a frame of %u bytes reached the port", f.len);
		FUZZ_CHECK(memcmp(buf + 6, MAC, 6) == 0, "a frame with another source MAC reached the port");
	}
	FUZZ_CHECK(frames <= oks, "%u frames reached the port for %u OKAY responses", frames, oks);
	netback_get_stats(h->nb, &st);
	FUZZ_CHECK(st.tx_packets - h->tx_packets == frames, "tx_packets moved by %llu, %u frames sent",
		   (unsigned long long)(st.tx_packets - h->tx_packets), frames);
	h->tx_packets = st.tx_packets;
	/* RX responses: in posting order, each for the next frame from the wire */
	rx_rsp = h->rx->h.rsp_prod;
	FUZZ_CHECK((ring_idx_t)(rx_rsp - h->rx_seen) <= (ring_idx_t)(rx_prod - h->rx_seen),
		   "RX: %u responses for %u posted", rx_rsp - h->rx_seen, rx_prod - h->rx_seen);
	for (ring_idx_t i = h->rx_seen; i != rx_rsp; i++) {
		const struct netif_rx_response *rsp = &h->rx->slot[i % SLOTS].rsp.rx;
		uint16_t len;
		uint8_t pat;
		long frame;

		FUZZ_CHECK(h->sent_head != h->sent_tail, "an RX response with no frame sent");
		len = h->sent_len[h->sent_head % FIFO];
		pat = h->sent_pat[h->sent_head % FIFO];
		h->sent_head++;
		FUZZ_CHECK(rsp->id == rsnap[i % SLOTS].id, "RX response %u: id %u, posted %u", i, rsp->id,
			   rsnap[i % SLOTS].id);
		frame = writable_frame(h, rsnap[i % SLOTS].gref);
		if (rsp->status > 0) {
			FUZZ_CHECK(frame >= 0, "RX into ref %u, not granted writable", rsnap[i % SLOTS].gref);
			FUZZ_CHECK(rsp->status == len && rsp->offset == 0, "RX: status %d offset %u for a %u-byte frame",
				   rsp->status, rsp->offset, len);
			bool overwritten = false; /* a later buffer of this round in the same page */

			for (ring_idx_t j = i + 1; j != rx_rsp && !overwritten; j++)
				overwritten = h->rx->slot[j % SLOTS].rsp.rx.status > 0 &&
					      writable_frame(h, rsnap[j % SLOTS].gref) == frame;
			for (unsigned b = 0; b < len && !overwritten; b++)
				FUZZ_CHECK(h->mem[(size_t)frame * PAGE + b] == pattern(pat, b), "RX byte %u wrong", b);
		} else {
			FUZZ_CHECK(rsp->status == NETIF_RSP_ERROR && frame < 0,
				   "RX: status %d for ref %u (writable frame %ld)", rsp->status,
				   rsnap[i % SLOTS].gref, frame);
		}
	}
	h->rx_seen = rx_rsp;
	FUZZ_CHECK(st.drops[NETBACK_DROP_NO_RX_BUFFER] - h->no_rx_buffer <= h->sent_tail - h->sent_head,
		   "more frames dropped than were waiting");
	h->sent_head += (unsigned)(st.drops[NETBACK_DROP_NO_RX_BUFFER] - h->no_rx_buffer);
	h->no_rx_buffer = st.drops[NETBACK_DROP_NO_RX_BUFFER];
}

static void act(struct harness *h, struct fuzz_in *in, uint8_t a)
{
	switch (a % 9) {
	case 0: {
		unsigned n = fuzz_u8(in) % 24u + 1;

		for (unsigned i = 0; i < n; i++)
			fuzz_bytes(in, &h->tx->slot[h->tx_pvt++ % SLOTS].req, sizeof(union netif_tx_slot_req));
		break;
	}
	case 1:
		__atomic_store_n(&h->tx->h.req_prod, h->tx_pvt, __ATOMIC_RELEASE);
		break;
	case 2:
		h->tx->h.req_prod = fuzz_u32(in);
		break;
	case 3: {
		unsigned n = fuzz_u8(in) % 8u + 1;

		for (unsigned i = 0; i < n; i++) {
			struct netif_rx_request *r = &h->rx->slot[h->rx_pvt % SLOTS].req;
			uint16_t id = fuzz_u16(in);
			uint8_t v = fuzz_u8(in);

			r->id = id;
			r->pad = 0;
			r->gref = v == 255 ? 2000 : REF0 + v % NREFS;
			h->rx_pvt++;
		}
		__atomic_store_n(&h->rx->h.req_prod, h->rx_pvt, __ATOMIC_RELEASE);
		break;
	}
	case 4:
		h->rx->h.req_prod = fuzz_u32(in);
		break;
	case 5: {
		unsigned n = fuzz_u8(in) % 8u + 1;
		static uint8_t buf[8][NET_PORT_FRAME_MAX];
		struct net_frame f[8];
		int sent;

		for (unsigned i = 0; i < n; i++) {
			uint16_t len = (uint16_t)(1 + fuzz_u16(in) % NET_PORT_FRAME_MAX);
			uint8_t pat = fuzz_u8(in);

			for (unsigned b = 0; b < len; b++)
				buf[i][b] = pattern(pat, b);
			f[i] = (struct net_frame){ .data = buf[i], .len = len };
			h->sent_len[(h->sent_tail + i) % FIFO] = len;
			h->sent_pat[(h->sent_tail + i) % FIFO] = pat;
		}
		if (h->sent_tail - h->sent_head + n > FIFO - 64)
			break; /* the harness's memory of them is full */
		sent = h->peer->ops->send(h->peer, f, n);
		FUZZ_CHECK(sent >= 0 && (unsigned)sent <= n, "pair send said %d", sent);
		h->sent_tail += (unsigned)sent;
		break;
	}
	case 6:
		round_and_check(h);
		break;
	case 7: {
		uint16_t off = fuzz_u16(in) % (NDATA * PAGE);
		uint8_t len = fuzz_u8(in);

		fuzz_bytes(in, h->mem + F_DATA * PAGE + off, len < NDATA * PAGE - off ? len : NDATA * PAGE - off);
		break;
	}
	case 8:
		check_parse(in);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct harness h;
	struct netback_config cfg = { .mode = XENITH_NET_MODE_EXIT, .no_thread = true };
	struct grant_entry_v1 *table;
	char msg[128];
	uint8_t knobs = fuzz_u8(&in);
	ring_idx_t start = knobs & 1 ? fuzz_u32(&in) : 0;

	memset(&h, 0, sizeof(h));
	h.mem = aligned_alloc(PAGE, (size_t)PAGES * PAGE);
	h.snap = malloc((size_t)PAGES * PAGE);
	if (!h.mem || !h.snap)
		abort();
	for (unsigned i = 0; i < PAGES * PAGE; i++)
		h.mem[i] = (uint8_t)(i * 29u + (i >> 12));
	memset(h.mem + F_TABLE * PAGE, 0, PAGE);
	table = (struct grant_entry_v1 *)(void *)(h.mem + F_TABLE * PAGE);
	table[8] = (struct grant_entry_v1){ GTF_permit_access, XENITH_BACKEND_DOMID, F_TX };
	table[9] = (struct grant_entry_v1){ GTF_permit_access, XENITH_BACKEND_DOMID, F_RX };
	for (unsigned i = 0; i < NREFS; i++) {
		uint8_t v = fuzz_u8(&in);
		static const uint16_t flags[4] = { 0, GTF_permit_access, GTF_permit_access | GTF_readonly,
						   GTF_permit_access };

		table[REF0 + i] = (struct grant_entry_v1){ flags[v & 3], (v & 3) == 3 ? 7 : XENITH_BACKEND_DOMID,
							   (v >> 2) == 63 ? 100000u : F_DATA + (v >> 2) % NDATA };
	}
	h.tx = (struct netif_tx_sring *)(void *)(h.mem + F_TX * PAGE);
	h.rx = (struct netif_rx_sring *)(void *)(h.mem + F_RX * PAGE);
	memset(h.tx, 0, PAGE);
	memset(h.rx, 0, PAGE);
	h.tx->h.req_prod = h.tx->h.rsp_prod = h.rx->h.req_prod = h.rx->h.rsp_prod = start;
	h.tx->h.req_event = h.tx->h.rsp_event = h.rx->h.req_event = h.rx->h.rsp_event = start + 1;
	h.tx_pvt = h.tx_seen = h.rx_pvt = h.rx_seen = start;
	if (grant_table_init(&h.gt, h.mem, (uint64_t)PAGES * PAGE, F_TABLE * PAGE, XENITH_BACKEND_DOMID) < 0 ||
	    grant_table_set(&h.gt, F_TABLE * PAGE, 1) < 0 || port_pair_create("fuzz", &h.port, &h.peer) < 0)
		abort();
	cfg.port = h.port;
	memcpy(cfg.mac, MAC, 6);
	if (netback_open(&cfg, &h.nb, msg, sizeof(msg)) < 0 ||
	    netback_connect(h.nb, &h.gt, 8, 9, NULL, NULL) < 0)
		abort();
	/* The backend starts where the rings do (any start: indices are free-running). */
	for (unsigned i = 0; i < MAX_ACTIONS && in.left && !h.broken; i++)
		act(&h, &in, fuzz_u8(&in));
	netback_close(h.nb);
	h.port->ops->close(h.port);
	h.peer->ops->close(h.peer);
	grant_table_fini(&h.gt);
	free(h.mem);
	free(h.snap);
	return 0;
}
