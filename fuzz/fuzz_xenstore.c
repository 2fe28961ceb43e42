// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the xenstore (io/xenstore*.c) as a hostile guest drives it
 * through its ring page, with the VMM (domain 0) changing the tree in
 * between.  A heap-allocated struct xenstore_domain_interface stands in
 * for the guest's page (ASan: nothing outside it is touched).
 *
 * Input (little-endian; fuzz.h reads zeroes past the end):
 *   u8 knobs   bit 0: small quotas (else Xen's defaults); bit 1: a u32
 *              start index follows (the ring's indices begin there)
 *   [u32 start]
 *   steps until the input ends (at most MAX_STEPS), each a u8 (v % 8) and
 *   its arguments:
 *     0 msg      u8 type, u8 txsel, u8 mode, then a payload (see payload());
 *                a whole, well-framed request goes to the guest's output
 *                queue (a length above XENSTORE_PAYLOAD_MAX now and then)
 *     1 raw      u8 n, n bytes: arbitrary bytes to the output queue (the
 *                framing is lost: replies are then only checked for form)
 *     2 push     u16 n: the guest puts up to n queued bytes on req[]
 *     3 kick     xs_conn_process, as the guest's event would
 *     4 read     u16 n: the guest takes up to n bytes off rsp[]
 *     5 dom0     u8 op, u8 path: the VMM writes, removes, mkdirs or shares a
 *                node (its watch events reach the ring at once)
 *     6 bogus    u8 which: req_prod or rsp_cons set to an impossible value
 *                (once: from then on the store may not move its index)
 *     7 poke     u16 offset, u8 byte: the guest scribbles on its req[]
 *
 * Checks after every step:
 *  - the tree is consistent: children point at their parent, names are
 *    valid and unique among siblings, the node count is the stats' count,
 *    each domain's account is the number of nodes it owns, the guest owns
 *    no more than its quota, every path fits XENSTORE_ABS_PATH_MAX;
 *  - the connection holds at most one reply and max_queued_events events,
 *    no more watches and transactions than its quotas;
 *  - rsp_prod - rsp_cons never exceeds the ring, the store only moves
 *    req_cons up to req_prod, and a kick that moved either index notified;
 *  - every message on rsp[] is well formed: a watch event ("path\0token\0",
 *    ids 0), an XS_ERROR carrying a known errno name, or (while the framing
 *    is intact) the answer to the oldest unanswered request: its req_id,
 *    tx_id, and its type or XS_ERROR;
 *  - xs_conn_process returns 0 or -EPROTO, -EPROTO exactly when page->error
 *    is set; the error is XENSTORE_ERROR_PROTO or _RINGIDX, and only
 *    after an oversized header or bogus indices; after it nothing moves:
 *    req_cons and rsp_prod stay, and every later call is -EPROTO.
 * Everything is freed after each input: the leak checker sees any leak.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "xenstore_priv.h"

#define DOMID 1u
#define MAX_STEPS 600u
#define HDR ((uint32_t)sizeof(struct xsd_sockmsg))
#define OUTQ (64u * 1024u)
#define MAX_PENDING 256u

enum { S_MSG, S_RAW, S_PUSH, S_KICK, S_READ, S_DOM0, S_BOGUS, S_POKE, NR_STEPS };

struct pending {
	uint32_t req_id, type, tx_id;
};

struct harness {
	struct xs_store *s;
	struct xs_conn *c;
	struct xenstore_domain_interface *page;
	struct xs_quota q;
	/* the guest's output not yet on req[] */
	uint8_t out[OUTQ];
	uint32_t out_len;
	/* requests sent whole and not answered, oldest first */
	struct pending pend[MAX_PENDING];
	uint32_t npend;
	bool framed;    /* only whole requests sent: replies can be matched */
	bool oversize;  /* a header with len > XENSTORE_PAYLOAD_MAX was sent */
	bool bogus;     /* impossible indices were set */
	bool bogus_req, bogus_rsp;
	XENSTORE_RING_IDX bogus_req_cons, bogus_rsp_prod; /* the store's indices then */
	bool dead;
	XENSTORE_RING_IDX dead_req_cons, dead_rsp_prod;
	/* the response stream as the guest parses it */
	uint8_t in[HDR + XENSTORE_PAYLOAD_MAX];
	uint32_t in_used;
	uint32_t txids[4];
	uint32_t next_req;
	unsigned callbacks;
	unsigned notified;
};

static const char *const errnames[] = {
	"EINVAL", "EACCES", "EEXIST", "EISDIR", "ENOENT", "ENOMEM", "ENOSPC", "EIO",
	"ENOTEMPTY", "ENOSYS", "EROFS", "EBUSY", "EAGAIN", "EISCONN", "E2BIG", "EPERM",
};

/* Strings a request's payload is made of (mode 1); index past the table: raw bytes. */
static const char *const words[] = {
	"", "a", "a/b", "a/b/c", "data", "device/vbd/0/state", "/local/domain/1",
	"/local/domain/1/a", "/local/domain/2/x", "/backend", "/backend/vbd/1/0", "/vm",
	"/", "@releaseDomain", "@introduceDomain", "T", "F", "0", "1", "4096", "n1", "r1",
	"b1", "n0", "w2", "b2", "x1", "tok", "t2", "a//b", "x/", "bad path", "/local/domain/1/",
	"../a", "a@b",
};

static const char *const dom0_paths[] = {
	"/backend/vbd/1/0/state", "/backend/vbd/1/0", "/backend/a", "/backend", "/vm/x",
	"/vm", "/local/domain/2/x",
	/* the guest's own: written only when they exist (a node the VMM creates there would
	 * be the guest's, past its quota: Xen allows that to dom0, the check here would not) */
	"/local/domain/1/a", "/local/domain/1/data", "/local/domain/1/device/vbd/0/state",
};

static struct harness *h;

static void notify(void *opaque)
{
	((struct harness *)opaque)->notified++;
}

static void on_watch(void *opaque, const char *path, const char *token)
{
	struct harness *hh = opaque;
	char buf[64];

	(void)token;
	hh->callbacks++;
	/* The lock is dropped: reading back must work (and not deadlock). */
	int r = xs_read(hh->s, path, buf, sizeof(buf), NULL);

	FUZZ_CHECK(r == 0 || r == -ENOENT || r == -E2BIG || r == -EINVAL,
		   "xs_read(%s) in a watch callback: %d", path, r);
}

/* --------------------------------------------------------- the checks */

static bool valid_name(const char *n)
{
	static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_@";

	return n[0] && n[strspn(n, ok)] == '\0';
}

struct tally {
	uint64_t nodes;
	uint32_t owned[4]; /* domains 0..3 */
	uint32_t other;
};

static void check_node(const struct xs_node *n, size_t pathlen, unsigned depth, struct tally *t)
{
	FUZZ_CHECK(n->nperms >= 1 && n->perms, "node %s without permissions", n->name);
	FUZZ_CHECK(n->len <= XENSTORE_PAYLOAD_MAX, "node %s: value of %u bytes", n->name, n->len);
	FUZZ_CHECK(n->filled, "store node %s is a stub", n->name);
	FUZZ_CHECK(pathlen <= XENSTORE_ABS_PATH_MAX, "a path of %zu bytes", pathlen);
	FUZZ_CHECK(depth < 2000, "tree deeper than its paths allow");
	t->nodes++;
	if (n->perms[0].id < 4)
		t->owned[n->perms[0].id]++;
	else
		t->other++;
	for (uint32_t i = 0; i < n->nkids; i++) {
		const struct xs_node *k = n->kids[i];

		FUZZ_CHECK(k->parent == n, "child %s of %s points elsewhere", k->name, n->name);
		FUZZ_CHECK(valid_name(k->name), "child name '%s' of %s", k->name, n->name);
		for (uint32_t j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(n->kids[j]->name, k->name) != 0, "%s has two children %s",
				   n->name, k->name);
		check_node(k, (pathlen == 1 ? 0 : pathlen) + 1 + strlen(k->name), depth + 1, t);
	}
}

static void check_store(void)
{
	struct xs_store *s = h->s;
	struct tally t = { 0 };
	struct xs_conn *c = h->c;

	/* Past impossible indices the store writes nothing more to the ring. */
	FUZZ_CHECK(!h->bogus_req || h->page->req_cons == h->bogus_req_cons,
		   "req_cons moved from %u to %u after req_prod went bogus", h->bogus_req_cons,
		   h->page->req_cons);
	FUZZ_CHECK(!h->bogus_rsp || h->page->rsp_prod == h->bogus_rsp_prod,
		   "rsp_prod moved from %u to %u after rsp_cons went bogus", h->bogus_rsp_prod,
		   h->page->rsp_prod);

	FUZZ_CHECK(s->root && !s->root->parent, "root");
	check_node(s->root, 1, 0, &t);
	FUZZ_CHECK(t.nodes == s->st.nodes, "%llu nodes in the tree, stats say %llu",
		   (unsigned long long)t.nodes, (unsigned long long)s->st.nodes);
	for (uint32_t d = 0; d < 4; d++)
		FUZZ_CHECK(xs_acct_get(s, d) == t.owned[d], "domain %u owns %u nodes, account says %u",
			   d, t.owned[d], xs_acct_get(s, d));
	FUZZ_CHECK(t.other == 0, "%u nodes owned by unknown domains", t.other);
	FUZZ_CHECK(t.owned[DOMID] <= h->q.max_nodes, "guest owns %u nodes, quota %u",
		   t.owned[DOMID], h->q.max_nodes);
	FUZZ_CHECK(c->nreplies <= 1, "%u replies queued", c->nreplies);
	FUZZ_CHECK(c->nevents <= h->q.max_queued_events, "%u events queued", c->nevents);
	FUZZ_CHECK(c->nwatches <= h->q.max_watches, "%u watches", c->nwatches);
	FUZZ_CHECK(c->ntxns <= h->q.max_transactions, "%u transactions", c->ntxns);
	for (struct xs_txn *x = c->txns; x; x = x->next)
		FUZZ_CHECK(x->nodes <= h->q.max_tx_nodes, "transaction %u reaches %u nodes", x->id,
			   x->nodes);
}

static bool known_err(const char *p, uint32_t len)
{
	for (size_t i = 0; i < sizeof(errnames) / sizeof(errnames[0]); i++)
		if (len == strlen(errnames[i]) + 1 && !memcmp(p, errnames[i], len))
			return true;
	return false;
}

static void check_message(const struct xsd_sockmsg *m, const char *p)
{
	uint32_t nuls = 0;

	FUZZ_CHECK(m->len <= XENSTORE_PAYLOAD_MAX, "reply of %u bytes", m->len);
	if (m->type == XS_WATCH_EVENT) {
		for (uint32_t i = 0; i < m->len; i++)
			nuls += p[i] == '\0';
		FUZZ_CHECK(m->req_id == 0 && m->tx_id == 0, "event with ids %u/%u", m->req_id,
			   m->tx_id);
		FUZZ_CHECK(nuls == 2 && m->len >= 3 && p[m->len - 1] == '\0' && p[0],
			   "watch event payload of %u bytes, %u NULs", m->len, nuls);
		return;
	}
	if (m->type == XS_ERROR)
		FUZZ_CHECK(known_err(p, m->len), "XS_ERROR with payload '%.*s'", (int)m->len, p);
	if (!h->framed)
		return;
	FUZZ_CHECK(h->npend > 0, "reply type %u id %u to no request", m->type, m->req_id);
	const struct pending *q = &h->pend[0];

	FUZZ_CHECK(m->req_id == q->req_id && m->tx_id == q->tx_id &&
		   (m->type == q->type || m->type == XS_ERROR),
		   "reply (type %u, id %u, tx %u) to request (type %u, id %u, tx %u)", m->type,
		   m->req_id, m->tx_id, q->type, q->req_id, q->tx_id);
	if (m->type == XS_TRANSACTION_START) {
		unsigned long id = strtoul(p, NULL, 10);

		FUZZ_CHECK(m->len >= 2 && p[m->len - 1] == '\0' && id != 0, "transaction id '%.*s'",
			   (int)m->len, p);
		memmove(&h->txids[1], &h->txids[0], sizeof(h->txids) - sizeof(h->txids[0]));
		h->txids[0] = (uint32_t)id;
	}
	memmove(&h->pend[0], &h->pend[1], (h->npend - 1) * sizeof(h->pend[0]));
	h->npend--;
}

/* The guest reads n bytes of responses, parsing messages as they complete. */
static void guest_read(uint32_t n)
{
	struct xenstore_domain_interface *pg = h->page;
	XENSTORE_RING_IDX cons = pg->rsp_cons, prod = pg->rsp_prod;
	uint32_t avail = prod - cons;

	FUZZ_CHECK(avail <= XENSTORE_RING_SIZE, "rsp_prod %u, rsp_cons %u", prod, cons);
	if (n > avail)
		n = avail;
	for (uint32_t i = 0; i < n; i++) {
		h->in[h->in_used++] = (uint8_t)pg->rsp[MASK_XENSTORE_IDX(cons + i)];
		if (h->in_used >= HDR) {
			struct xsd_sockmsg m;

			memcpy(&m, h->in, HDR);
			FUZZ_CHECK(m.len <= XENSTORE_PAYLOAD_MAX, "reply header with len %u", m.len);
			if (h->in_used == HDR + m.len) {
				check_message(&m, (const char *)h->in + HDR);
				h->in_used = 0;
			}
		}
	}
	pg->rsp_cons = cons + n;
}

/* -------------------------------------------------------- the guest's acts */

static void queue_bytes(const void *d, uint32_t n)
{
	if (n > OUTQ - h->out_len)
		n = OUTQ - h->out_len;
	memcpy(h->out + h->out_len, d, n);
	h->out_len += n;
}

static uint32_t payload(struct fuzz_in *in, char *buf)
{
	uint8_t mode = fuzz_u8(in);
	uint32_t len = 0;

	if (mode % 4 == 0) {
		/* raw bytes: u16 length (a little past the maximum now and then) */
		len = fuzz_u16(in) % (XENSTORE_PAYLOAD_MAX + 8);
		if (len > XENSTORE_PAYLOAD_MAX)
			return len; /* only the header goes out */
		fuzz_bytes(in, buf, len);
		return len;
	}
	/* NUL-terminated words, or raw strings, and a long path now and then */
	unsigned n = 1 + mode / 4 % 4;

	for (unsigned i = 0; i < n; i++) {
		static char piece[XENSTORE_REL_PATH_MAX + 2];
		uint8_t sel = fuzz_u8(in);
		size_t l;

		if (sel < sizeof(words) / sizeof(words[0])) {
			l = strlen(words[sel]);
			memcpy(piece, words[sel], l);
		} else if (sel == 255) {
			l = XENSTORE_REL_PATH_MAX + (fuzz_u8(in) & 1);
			memset(piece, 'p', l);
		} else {
			l = fuzz_u8(in) % 64;
			fuzz_bytes(in, piece, l);
		}
		/* Every piece's input is read; those that would not fit are left out. */
		if (len + l + 1 > XENSTORE_PAYLOAD_MAX)
			continue;
		memcpy(buf + len, piece, l);
		len += (uint32_t)l;
		if (!(mode & 2) || i + 1 < n)
			buf[len++] = '\0';
	}
	return len;
}

static void step_msg(struct fuzz_in *in)
{
	static char buf[XENSTORE_PAYLOAD_MAX + 8];
	uint8_t type = fuzz_u8(in), txsel = fuzz_u8(in);
	struct xsd_sockmsg m = { .type = type % 26, .req_id = h->next_req++ };
	uint32_t len;

	if (type >= 250)
		m.type = XS_INVALID;
	m.tx_id = txsel < 128 ? 0 : txsel < 252 ? h->txids[txsel % 4] : 0x80000000u | txsel;
	len = payload(in, buf);
	m.len = len;
	queue_bytes(&m, HDR);
	if (len > XENSTORE_PAYLOAD_MAX) {
		h->oversize = true; /* the store stops at this header */
		return;
	}
	queue_bytes(buf, len);
	if (h->npend < MAX_PENDING)
		h->pend[h->npend++] = (struct pending){ m.req_id, m.type, m.tx_id };
	else
		h->framed = false;
}

static void step_push(uint32_t n)
{
	struct xenstore_domain_interface *pg = h->page;
	XENSTORE_RING_IDX prod = pg->req_prod;
	uint32_t room = XENSTORE_RING_SIZE - (prod - pg->req_cons);

	if (h->bogus)
		return;
	if (n > room)
		n = room;
	if (n > h->out_len)
		n = h->out_len;
	for (uint32_t i = 0; i < n; i++)
		pg->req[MASK_XENSTORE_IDX(prod + i)] = (char)h->out[i];
	memmove(h->out, h->out + n, h->out_len - n);
	h->out_len -= n;
	pg->req_prod = prod + n;
}

static void step_kick(void)
{
	struct xenstore_domain_interface *pg = h->page;
	XENSTORE_RING_IDX prod = pg->req_prod, cons0 = pg->req_cons, rsp0 = pg->rsp_prod;
	unsigned notified = h->notified;
	int r = xs_conn_process(h->c);

	FUZZ_CHECK(r == 0 || r == -EPROTO, "xs_conn_process: %d", r);
	FUZZ_CHECK((r == -EPROTO) == (pg->error != XENSTORE_ERROR_NONE),
		   "returned %d with page error %u", r, pg->error);
	if (h->dead) {
		FUZZ_CHECK(r == -EPROTO, "a dead connection answered %d", r);
		FUZZ_CHECK(pg->req_cons == h->dead_req_cons && pg->rsp_prod == h->dead_rsp_prod,
			   "a dead connection moved its indices");
		return;
	}
	if (r) {
		FUZZ_CHECK(pg->error == XENSTORE_ERROR_PROTO || pg->error == XENSTORE_ERROR_RINGIDX,
			   "page error %u", pg->error);
		FUZZ_CHECK(h->oversize || h->bogus || !h->framed,
			   "connection killed (error %u) with well-formed requests only", pg->error);
		h->dead = true;
		h->dead_req_cons = pg->req_cons;
		h->dead_rsp_prod = pg->rsp_prod;
		return;
	}
	FUZZ_CHECK(pg->req_cons - cons0 <= prod - cons0, "req_cons moved past req_prod");
	FUZZ_CHECK(h->notified > notified || (pg->req_cons == cons0 && pg->rsp_prod == rsp0),
		   "indices moved (req_cons %u -> %u, rsp_prod %u -> %u) without a notify", cons0,
		   pg->req_cons, rsp0, pg->rsp_prod);
	if (h->bogus)
		return; /* rsp_cons may be impossible while nothing waits to be written */
	FUZZ_CHECK(pg->rsp_prod - pg->rsp_cons <= XENSTORE_RING_SIZE, "rsp_prod %u rsp_cons %u",
		   pg->rsp_prod, pg->rsp_cons);
}

static void step_dom0(struct fuzz_in *in)
{
	static const char *const share[] = { "n0", "b1" };
	uint8_t op = fuzz_u8(in), sel = fuzz_u8(in);
	const char *p = dom0_paths[sel % (sizeof(dom0_paths) / sizeof(dom0_paths[0]))];
	char val[16];
	int r;

	if (!strncmp(p, "/local/domain/1/", 16)) {
		char buf[8];

		if (xs_read(h->s, p, buf, sizeof(buf), NULL) == -ENOENT)
			return;
		op = (uint8_t)(op / 5 * 5 + (op % 5 == 2 ? 0 : op % 5)); /* no mkdir */
	}
	switch (op % 5) {
	case 0:
		snprintf(val, sizeof(val), "%u", op);
		r = xs_write(h->s, p, val, strlen(val));
		FUZZ_CHECK(r == 0, "dom0 write %s: %d", p, r);
		break;
	case 1:
		r = xs_rm(h->s, p);
		FUZZ_CHECK(r == 0 || r == -ENOENT, "dom0 rm %s: %d", p, r);
		break;
	case 2:
		r = xs_mkdir(h->s, p);
		FUZZ_CHECK(r == 0, "dom0 mkdir %s: %d", p, r);
		break;
	case 3:
		r = xs_set_perms(h->s, p, share, 2);
		FUZZ_CHECK(r == 0 || r == -ENOENT, "dom0 set_perms %s: %d", p, r);
		break;
	default: {
		char buf[8192];

		r = xs_dump(h->s, "/", buf, sizeof(buf));
		FUZZ_CHECK(r >= 0 || r == -ENOSPC, "dump: %d", r);
		r = xs_dump_json(h->s, "/", buf, sizeof(buf));
		FUZZ_CHECK(r >= 0 || r == -ENOSPC, "json dump: %d", r);
	}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t knobs = fuzz_u8(&in);
	uint32_t start = knobs & 2 ? fuzz_u32(&in) : 0;

	h = calloc(1, sizeof(*h));
	if (!h)
		abort();
	h->page = calloc(1, sizeof(*h->page));
	if (!h->page)
		abort();
	h->q = xs_quota_default;
	if (knobs & 1) {
		h->q.max_nodes = 12;
		h->q.max_value = 64;
		h->q.max_watches = 3;
		h->q.max_transactions = 2;
		h->q.max_queued_events = 4;
		h->q.max_perms = 3;
		h->q.max_tx_nodes = 10;
	}
	h->framed = true;
	h->next_req = 1;
	h->page->req_cons = h->page->req_prod = start;
	h->page->rsp_cons = h->page->rsp_prod = start;
	h->s = xs_store_new(&h->q);
	FUZZ_CHECK(h->s, "xs_store_new");
	FUZZ_CHECK(xs_watch(h->s, "/", "vmm", on_watch, h) == 0, "xs_watch");
	h->c = xs_conn_new(h->s, DOMID, h->page, notify, h);
	FUZZ_CHECK(h->c, "xs_conn_new");
	check_store();

	for (unsigned n = 0; n < MAX_STEPS && in.left; n++) {
		switch (fuzz_u8(&in) % NR_STEPS) {
		case S_MSG:
			step_msg(&in);
			break;
		case S_RAW: {
			uint8_t buf[256];
			uint8_t len = fuzz_u8(&in);

			fuzz_bytes(&in, buf, len);
			queue_bytes(buf, len);
			h->framed = false;
			break;
		}
		case S_PUSH:
			step_push(fuzz_u16(&in));
			break;
		case S_KICK:
			step_kick();
			break;
		case S_READ:
			if (!h->bogus)
				guest_read(fuzz_u16(&in));
			break;
		case S_DOM0:
			step_dom0(&in);
			break;
		case S_BOGUS: {
			uint8_t w = fuzz_u8(&in);

			if (h->bogus)
				break; /* one at a time: the second would undo the first */
			h->bogus = true;
			if (w & 1) {
				h->bogus_req = true;
				h->bogus_req_cons = h->page->req_cons;
				h->page->req_prod = h->page->req_cons + XENSTORE_RING_SIZE + 1 + w;
			} else {
				h->bogus_rsp = true;
				h->bogus_rsp_prod = h->page->rsp_prod;
				h->page->rsp_cons = h->page->rsp_prod + 1 + w;
			}
			break;
		}
		case S_POKE: {
			uint32_t off = fuzz_u16(&in) % XENSTORE_RING_SIZE;
			XENSTORE_RING_IDX cons = h->page->req_cons, prod = h->page->req_prod;

			h->page->req[off] = (char)fuzz_u8(&in);
			/* On bytes the store has not consumed yet: the framing may be lost. */
			if (((off - MASK_XENSTORE_IDX(cons)) & (XENSTORE_RING_SIZE - 1)) < prod - cons)
				h->framed = false;
			break;
		}
		}
		check_store();
	}
	/* A last kick and read: whatever is queued comes out well formed. */
	step_kick();
	if (!h->bogus)
		guest_read(XENSTORE_RING_SIZE);
	check_store();

	xs_conn_free(h->c);
	xs_store_free(h->s);
	free(h->page);
	free(h);
	h = NULL;
	return 0;
}
