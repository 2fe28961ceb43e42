// SPDX-License-Identifier: MIT
/*
 * Fuzz target: a vif's xenstore handshake (hv/vif.c, hv/xenbus_be.c,
 * hv/netdev.c's netdev_connect_rings), the keys a netfront writes and the
 * VMM reads.  One unbacked domain (domain_create_unbacked: the bundled
 * minios, XENITH_MINIOS, as fuzz/run.sh sets it) with two vifs on
 * in-memory pair ports: vif 0 one queue, mode exit; vif 1 two queues,
 * mode ioeventfd.  Each input is a frontend: it picks how its ring pages
 * are granted and its event channels made, then writes, removes and
 * commits (in transactions) keys in its vifs' directories through its own
 * store connection (the ring page, as a guest does), values drawn from a
 * dictionary of interesting numbers or raw bytes.
 *
 * The harness keeps its own model of what a backend must do (hv/vif.h:
 * the keys, the states; grant_table.h and the event-channel rules for what
 * a ring page and a port must be) and after every operation checks:
 *   - each vif's backend state (the store's and the handshake's) is the
 *     model's, one of InitWait, Connected, Closing, Closed;
 *   - a connect the model refuses ends in Closing with a reason in
 *     /local/domain/0/error/backend/vif/D/N/error ("ERRNO text"); one it
 *     accepts ends Connected with no reason: Connected only when every
 *     queue's keys are well formed, both rings name pages granted writable
 *     to domain 0 (two different pages, neither a ring of any other
 *     connected queue of any vif) and its port(s) are unbound ports for
 *     domain 0 that no other queue holds;
 *   - every grant entry is pinned (io/grant.h pins/held) exactly by the
 *     rings of the model's connected queues: none left after a close or a
 *     refused connect; every port is bound to a backend exactly when a
 *     connected queue holds it; each queue is connected (netdev_get_stats)
 *     exactly when the model says;
 *   - after the frontend closes, the backend follows; after it goes back
 *     to Initialising from there, the vif is offered again (InitWait).
 * Between inputs every vif is disconnected (as a teardown does), the
 * guest's store tree written afresh and the vifs published again (as a
 * reboot does); then no grant is pinned, no port bound, no thread left.
 *
 * Input (fuzz.h reads zeroes past the end, so a short input is valid):
 *   NR_REFS bytes: ref REF(i)'s grant (v % 6): writable (its own page),
 *     read-only, to another domain, not granted, writable but ref 0's page
 *     (an alias), writable but a page the guest maps read-only;
 *   NR_PORTS bytes: port slot i (v % 3): an unbound port for domain 0,
 *     a VIRQ's port, no port (a number nobody holds);
 *   records until the input ends (at most MAX_RECORDS), a u8 op (v % 8):
 *     0-3 write: u8 vif, u8 key (the `keys` table), a value;
 *     4   state: u8 vif, u8 state (v % 8);
 *     5   rm: u8 vif, u8 what (a key, a queue-N directory, or the vif's
 *         whole directory);
 *     6   transaction: u8 n (1 + v % 4) writes or rms (u8 v % 2: rm), then
 *         u8 (v % 4 == 0: abandon, else commit);
 *     7   a whole frontend: u8 vif, u8 queues, per queue u8 tx ref slot,
 *         u8 rx ref slot, u8 port slot, u8 port slot (v % 2 == 0: one
 *         channel, the first); then the frontend's state 3 or 4 (u8 % 2).
 *   A value is a u8 (v % NR_VALUES): a ref's or a port slot's number, a
 *   number from the dictionary, or (the last) u8 len (v % 25) raw bytes
 *   (NUL bytes made '?', so the value is what the backend reads).
 * fuzz/make_seeds.py writes inputs in this layout.
 * XENITH_FUZZ_TRACE=1 prints each operation and the backend states.
 */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "device.h"
#include "domain.h"
#include "evtchn.h"
#include "fuzz.h"
#include "grant.h"
#include "hypercall.h"
#include "netback.h"
#include "netdev.h"
#include "xenith/abi.h"
#include "xenith/grant_table.h"
#include "xenith/xs_wire.h"
#include "xenstore.h"
#include "xsdomain.h"

#define PAGE 4096u
#define NR_VIFS 2u
#define NR_REFS 8u
#define NR_PORTS 6u
#define MAX_RECORDS 64u
#define MAX_Q 2u                    /* vif 1's queues; the keys go up to queue-2 */
#define ARG_PAGE 0u
#define TABLE_PAGE 1u
#define RING_PAGE(i) (2u + (i))
#define REF(i) (GNTTAB_NR_RESERVED_ENTRIES + (i))
#define OTHER_DOMID 5u
#define VAL_MAX 32u

/* ---- the keys and values a frontend writes ---- */

enum {
	K_TX, K_RX, K_EVT, K_EVT_TX, K_EVT_RX, /* per queue: at the root for one queue, else queue-N/ */
	K_NUM_QUEUES, K_RX_COPY, K_RX_NOTIFY, K_SG, K_GSO, K_NO_CSUM, K_STATE,
	NR_ROOT_KEYS,
	NR_QKEYS = 5,
	NR_KEYS = NR_ROOT_KEYS + 3 * NR_QKEYS, /* queue-0/ .. queue-2/ */
};

static const char *const root_names[NR_ROOT_KEYS] = {
	"tx-ring-ref", "rx-ring-ref", "event-channel", "event-channel-tx", "event-channel-rx",
	"multi-queue-num-queues", "request-rx-copy", "feature-rx-notify", "feature-sg",
	"feature-gso-tcpv4", "feature-no-csum-offload", "state",
};

static void key_name(unsigned k, char *buf, size_t size)
{
	if (k < NR_ROOT_KEYS)
		snprintf(buf, size, "%s", root_names[k]);
	else
		snprintf(buf, size, "queue-%u/%s", (k - NR_ROOT_KEYS) / NR_QKEYS,
			 root_names[(k - NR_ROOT_KEYS) % NR_QKEYS]);
}

/* The key of queue q's per-queue key qk (K_TX..K_EVT_RX) when the frontend announced nq queues. */
static unsigned qkey(unsigned nq, unsigned q, unsigned qk)
{
	return nq > 1 ? NR_ROOT_KEYS + q * NR_QKEYS + qk : qk;
}

static const char *const fixed_values[] = {
	"0", "1", "2", "3", "4", "5", "6", "4294967295", "4294967296", "18446744073709551616",
	"", "01", "+1", " 1", "-1", "1 ", "0x3", "00000000000000000000000000000001",
};
#define NR_FIXED (sizeof(fixed_values) / sizeof(fixed_values[0]))
#define NR_VALUES (NR_REFS + NR_PORTS + NR_FIXED + 1)

/* ---- the harness's state and model ---- */

enum grant_kind { G_RW, G_RO, G_OTHER, G_NONE, G_ALIAS, G_PROTECTED, NR_GRANT_KINDS };
enum port_kind { P_UNBOUND, P_VIRQ, P_NONE, NR_PORT_KINDS };

struct fe_val {
	bool present;
	uint8_t len;
	char v[VAL_MAX];
};

struct mqueue {
	uint32_t tx_ref, rx_ref, tx_port, rx_port;
	uint64_t tx_page, rx_page; /* guest frames */
};

struct mvif {
	struct fe_val keys[NR_KEYS];
	bool gone;                  /* the frontend removed its directory: it may not make it again */
	int be;                     /* the backend's state the model expects */
	unsigned nq;                /* queues connected (0 unless Connected) */
	struct mqueue q[MAX_Q];
};

static struct {
	struct domain *d;
	unsigned base_threads;
	bool trace;
	uint64_t ro_frame;          /* a frame the guest maps read-only */
	uint32_t req_id;
	enum grant_kind gk[NR_REFS];
	enum port_kind pk[NR_PORTS];
	uint32_t port[NR_PORTS];    /* each slot's port number */
	struct mvif v[NR_VIFS];
	/* What the last operation did to each vif: -1 nothing checked, else the model's verdict. */
	int attempt[NR_VIFS];       /* 1: connect accepted, 0: refused, -1: none */
	char why[NR_VIFS][160];     /* the model's reason for a refusal */
} H;

static unsigned vif_queues(unsigned vif)
{
	return vif == 0 ? 1 : 2;
}

static uint64_t gpa_of(unsigned page)
{
	return H.d->layout.free_start + (uint64_t)page * PAGE;
}

static void fe_path(char *buf, size_t size, unsigned vif, const char *key)
{
	snprintf(buf, size, "device/vif/%u%s%s", vif, *key ? "/" : "", key);
}

static void error_path(char *buf, size_t size, unsigned vif)
{
	snprintf(buf, size, "/local/domain/%u/error/backend/vif/%u/%u/error", XENITH_BACKEND_DOMID, H.d->domid,
		 vif);
}

/* The model's number reader (hv/vif.h: a frontend's number is decimal digits, at most 32 bits). */
static bool model_u32(const struct fe_val *f, uint32_t *out)
{
	uint64_t x = 0;

	if (!f->present || f->len == 0)
		return false;
	for (unsigned i = 0; i < f->len; i++) {
		if (f->v[i] < '0' || f->v[i] > '9')
			return false;
		x = x * 10 + (uint64_t)(f->v[i] - '0');
		if (x > UINT32_MAX)
			return false;
	}
	*out = (uint32_t)x;
	return true;
}

/* A 0/1 key that may be missing (then def). */
static bool model_flag(const struct fe_val *f, uint32_t def, uint32_t *out)
{
	if (!f->present) {
		*out = def;
		return true;
	}
	return model_u32(f, out) && *out <= 1;
}

/* The page ref names when it may be a ring (granted writable to domain 0), else false. */
static bool ring_grant(uint32_t ref, uint64_t *page)
{
	for (unsigned i = 0; i < NR_REFS; i++) {
		if (ref != REF(i))
			continue;
		if (H.gk[i] == G_RW)
			*page = gpa_of(RING_PAGE(i)) / PAGE;
		else if (H.gk[i] == G_ALIAS)
			*page = gpa_of(RING_PAGE(0)) / PAGE;
		else
			return false;
		return true;
	}
	return false;
}

static bool page_used(uint64_t page, const struct mqueue *extra, unsigned nr_extra)
{
	for (unsigned i = 0; i < NR_VIFS; i++)
		for (unsigned q = 0; q < H.v[i].nq; q++)
			if (H.v[i].q[q].tx_page == page || H.v[i].q[q].rx_page == page)
				return true;
	for (unsigned q = 0; q < nr_extra; q++)
		if (extra[q].tx_page == page || extra[q].rx_page == page)
			return true;
	return false;
}

static bool port_held(uint32_t port, const struct mqueue *extra, unsigned nr_extra)
{
	for (unsigned i = 0; i < NR_VIFS; i++)
		for (unsigned q = 0; q < H.v[i].nq; q++)
			if (H.v[i].q[q].tx_port == port || H.v[i].q[q].rx_port == port)
				return true;
	for (unsigned q = 0; q < nr_extra; q++)
		if (extra[q].tx_port == port || extra[q].rx_port == port)
			return true;
	return false;
}

/* A port a backend may bind: an unbound port for domain 0 that no connected queue holds. */
static bool port_free(uint32_t port, const struct mqueue *extra, unsigned nr_extra)
{
	for (unsigned i = 0; i < NR_PORTS; i++)
		if (H.pk[i] == P_UNBOUND && H.port[i] == port)
			return !port_held(port, extra, nr_extra);
	return false;
}

#define REFUSE(...) do { snprintf(why, whylen, __VA_ARGS__); return false; } while (0)

/* Whether vif's connect must succeed with its frontend's keys now; fills out[] (the queues) if so. */
static bool model_connect(unsigned vif, struct mqueue *out, unsigned *nq_out, char *why, size_t whylen)
{
	const struct fe_val *k = H.v[vif].keys;
	uint32_t nq = 1, flag;

	if (k[K_NUM_QUEUES].present && !model_u32(&k[K_NUM_QUEUES], &nq))
		REFUSE("multi-queue-num-queues is not a number");
	if (nq == 0 || nq > vif_queues(vif))
		REFUSE("multi-queue-num-queues %u, the vif has %u", nq, vif_queues(vif));
	if (!model_flag(&k[K_RX_COPY], 0, &flag) || flag != 1)
		REFUSE("request-rx-copy is not 1");
	if (!model_flag(&k[K_RX_NOTIFY], 0, &flag) || flag != 1)
		REFUSE("feature-rx-notify is not 1");
	if (!model_flag(&k[K_SG], 0, &flag) || !model_flag(&k[K_GSO], 0, &flag) ||
	    !model_flag(&k[K_NO_CSUM], 0, &flag))
		REFUSE("an optional feature is not 0 or 1");
	for (unsigned q = 0; q < nq; q++) {
		struct mqueue *m = &out[q];
		const struct fe_val *evt = &k[qkey(nq, q, K_EVT)], *etx = &k[qkey(nq, q, K_EVT_TX)],
				    *erx = &k[qkey(nq, q, K_EVT_RX)];
		uint32_t e1 = 0;

		if (!model_u32(&k[qkey(nq, q, K_TX)], &m->tx_ref) || !model_u32(&k[qkey(nq, q, K_RX)], &m->rx_ref))
			REFUSE("queue %u: a ring ref is missing or not a number", q);
		if ((evt->present && !model_u32(evt, &e1)) || (etx->present && !model_u32(etx, &m->tx_port)) ||
		    (erx->present && !model_u32(erx, &m->rx_port)))
			REFUSE("queue %u: an event channel is not a number", q);
		if (evt->present && !etx->present && !erx->present)
			m->tx_port = m->rx_port = e1;
		else if (!(!evt->present && etx->present && erx->present && m->tx_port != m->rx_port))
			REFUSE("queue %u: not one channel nor two different split ones", q);
	}
	for (unsigned q = 0; q < nq; q++) {
		struct mqueue *m = &out[q];

		if (!ring_grant(m->tx_ref, &m->tx_page))
			REFUSE("queue %u: tx-ring-ref %u is not granted writable to domain 0", q, m->tx_ref);
		if (!ring_grant(m->rx_ref, &m->rx_page))
			REFUSE("queue %u: rx-ring-ref %u is not granted writable to domain 0", q, m->rx_ref);
		if (m->tx_page == m->rx_page)
			REFUSE("queue %u: tx-ring-ref %u and rx-ring-ref %u name one page (frame %#llx)", q,
			       m->tx_ref, m->rx_ref, (unsigned long long)m->tx_page);
		if (page_used(m->tx_page, out, q) || page_used(m->rx_page, out, q))
			REFUSE("queue %u: the page of tx-ring-ref %u (frame %#llx) or rx-ring-ref %u (frame %#llx) "
			       "is a ring of another connected queue", q, m->tx_ref, (unsigned long long)m->tx_page,
			       m->rx_ref, (unsigned long long)m->rx_page);
		if (!port_free(m->tx_port, out, q) || !port_free(m->rx_port, out, q))
			REFUSE("queue %u: port %u or %u is not an unbound port for domain 0 that no queue holds", q,
			       m->tx_port, m->rx_port);
	}
	*nq_out = nq;
	return true;
}

#undef REFUSE

/* The frontend's state changed (a watch fired): what the backend must do (hv/xenbus_be.h). */
static void model_state_changed(unsigned vif)
{
	struct mvif *m = &H.v[vif];
	uint32_t fe;

	if (!model_u32(&m->keys[K_STATE], &fe))
		return;
	switch (fe) {
	case XenbusStateInitialised:
	case XenbusStateConnected:
		if (m->be != XenbusStateInitWait)
			return;
		if (model_connect(vif, m->q, &m->nq, H.why[vif], sizeof(H.why[vif]))) {
			m->be = XenbusStateConnected;
			H.attempt[vif] = 1;
		} else {
			m->nq = 0;
			m->be = XenbusStateClosing;
			H.attempt[vif] = 0;
		}
		return;
	case XenbusStateClosing:
	case XenbusStateClosed:
		m->nq = 0;
		m->be = (int)fe;
		return;
	case XenbusStateInitialising:
		if (m->be == XenbusStateClosing || m->be == XenbusStateClosed) {
			m->nq = 0;
			m->be = XenbusStateInitWait;
		}
		return;
	default:
		return;
	}
}

/* ---- the guest's store connection ---- */

static void ring_put(struct xenstore_domain_interface *x, XENSTORE_RING_IDX *prod, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++, (*prod)++)
		x->req[MASK_XENSTORE_IDX(*prod)] = ((const char *)p)[i];
}

/*
 * One request as a guest sends it (its ring, then a kick); returns the
 * reply's type, its payload in reply (NUL-terminated, cut to size).
 */
static uint32_t xs_request(uint32_t type, uint32_t tx, const void *payload, uint32_t len, char *reply,
			   size_t size)
{
	struct xenstore_domain_interface *x = (void *)(H.d->mem + H.d->layout.xenstore);
	struct xsd_sockmsg m = { .type = type, .req_id = ++H.req_id, .tx_id = tx, .len = len };
	XENSTORE_RING_IDX prod = __atomic_load_n(&x->req_prod, __ATOMIC_RELAXED), cons;
	char hdr[sizeof(m)];
	int r;

	ring_put(x, &prod, &m, sizeof(m));
	ring_put(x, &prod, payload, len);
	/* Release: the request's bytes before req_prod (the store's acquire load of it pairs). */
	__atomic_store_n(&x->req_prod, prod, __ATOMIC_RELEASE);
	r = xsdomain_kick(H.d);
	FUZZ_CHECK(r == 0, "the store refused a well-formed request (type %u): %d", type, r);
	cons = __atomic_load_n(&x->rsp_cons, __ATOMIC_RELAXED);
	/* Acquire: pairs with the store's release of rsp_prod after the reply's bytes. */
	FUZZ_CHECK(__atomic_load_n(&x->rsp_prod, __ATOMIC_ACQUIRE) - cons >= sizeof(m),
		   "no reply on the ring to a request of type %u", type);
	for (size_t i = 0; i < sizeof(m); i++)
		hdr[i] = x->rsp[MASK_XENSTORE_IDX(cons + i)];
	memcpy(&m, hdr, sizeof(m));
	FUZZ_CHECK(m.len <= XENSTORE_RING_SIZE - sizeof(m) &&
		   __atomic_load_n(&x->rsp_prod, __ATOMIC_ACQUIRE) - cons >= sizeof(m) + m.len,
		   "a reply of %u bytes not whole on the ring", m.len);
	for (uint32_t i = 0; i < m.len; i++)
		if (i + 1 < size)
			reply[i] = x->rsp[MASK_XENSTORE_IDX(cons + sizeof(m) + i)];
	reply[m.len + 1 < size ? m.len : size - 1] = 0;
	__atomic_store_n(&x->rsp_cons, cons + sizeof(m) + m.len, __ATOMIC_RELEASE);
	return m.type;
}

/* ---- operations, and what they do to the model ---- */

struct pending {
	bool rm;
	unsigned vif, what;         /* a key, or for rm: NR_KEYS + q (queue-q/), NR_KEYS + 3 (the directory) */
	struct fe_val val;
};

static void read_value(struct fuzz_in *in, struct fe_val *f)
{
	unsigned sel = fuzz_u8(in) % NR_VALUES;

	f->present = true;
	if (sel < NR_REFS) {
		f->len = (uint8_t)snprintf(f->v, sizeof(f->v), "%u", REF(sel));
	} else if (sel < NR_REFS + NR_PORTS) {
		f->len = (uint8_t)snprintf(f->v, sizeof(f->v), "%u", H.port[sel - NR_REFS]);
	} else if (sel < NR_REFS + NR_PORTS + NR_FIXED) {
		f->len = (uint8_t)strlen(fixed_values[sel - NR_REFS - NR_PORTS]);
		memcpy(f->v, fixed_values[sel - NR_REFS - NR_PORTS], f->len);
	} else {
		f->len = fuzz_u8(in) % 25;
		fuzz_bytes(in, f->v, f->len);
		for (unsigned i = 0; i < f->len; i++)
			if (!f->v[i])
				f->v[i] = '?';
	}
}

static void apply(const struct pending *p)
{
	struct mvif *m = &H.v[p->vif];

	if (!p->rm) {
		m->keys[p->what] = p->val;
	} else if (p->what < NR_KEYS) {
		m->keys[p->what].present = false;
	} else if (p->what < NR_KEYS + 3) {
		for (unsigned k = 0; k < NR_QKEYS; k++)
			m->keys[NR_ROOT_KEYS + (p->what - NR_KEYS) * NR_QKEYS + k].present = false;
	} else {
		for (unsigned k = 0; k < NR_KEYS; k++)
			m->keys[k].present = false;
		m->gone = true;
	}
}

/* Whether the operation reached the vif's frontend state node (its watch fired). */
static bool touches_state(const struct pending *p)
{
	return p->rm ? p->what == K_STATE || p->what == NR_KEYS + 3 : p->what == K_STATE;
}

/* Sends p (in transaction tx, 0: none; gone: the vif's directory is removed there); true if the store did it. */
static bool send(const struct pending *p, uint32_t tx, bool gone)
{
	char path[96], key[48], buf[96 + VAL_MAX], reply[64];
	uint32_t len, type;

	if (p->rm && p->what == NR_KEYS + 3)
		key[0] = 0; /* the vif's whole directory */
	else if (p->rm && p->what >= NR_KEYS)
		snprintf(key, sizeof(key), "queue-%u", p->what - NR_KEYS);
	else
		key_name(p->what, key, sizeof(key));
	fe_path(path, sizeof(path), p->vif, key);
	len = (uint32_t)strlen(path) + 1;
	memcpy(buf, path, len);
	if (!p->rm) {
		memcpy(buf + len, p->val.v, p->val.len);
		len += p->val.len;
	}
	type = xs_request(p->rm ? XS_RM : XS_WRITE, tx, buf, len, reply, sizeof(reply));
	if (H.trace)
		fprintf(stderr, "  %s %s%s%.*s%s -> %s\n", p->rm ? "rm" : "write", path, p->rm ? "" : " = \"",
			p->rm ? 0 : (int)p->val.len, p->val.v, p->rm ? "" : "\"", type == XS_ERROR ? reply : "OK");
	/*
	 * Only a key that is not there may fail to go, and a guest's writes in
	 * its own directory do not fail; once it removed that directory, it may
	 * not make it again (device/vif/ is the toolstack's).
	 */
	if (type == XS_ERROR)
		FUZZ_CHECK((p->rm && !strcmp(reply, "ENOENT")) || (gone && !strcmp(reply, "EACCES")),
			   "%s %s: %s", p->rm ? "rm" : "write", path, reply);
	else
		FUZZ_CHECK(p->rm || !gone, "write %s: OK, in a directory the guest removed", path);
	return type != XS_ERROR;
}

static void read_op(struct fuzz_in *in, bool rm, struct pending *p)
{
	memset(p, 0, sizeof(*p));
	p->rm = rm;
	p->vif = fuzz_u8(in) % NR_VIFS;
	if (rm) {
		p->what = fuzz_u8(in) % (NR_KEYS + 4);
	} else {
		p->what = fuzz_u8(in) % NR_KEYS;
		read_value(in, &p->val);
	}
}

/* Sends and models one operation outside a transaction. */
static void do_one(const struct pending *p)
{
	if (!send(p, 0, H.v[p->vif].gone))
		return;
	apply(p);
	if (touches_state(p))
		model_state_changed(p->vif);
}

static void state_op(unsigned vif, unsigned st)
{
	struct pending p = { .vif = vif, .what = K_STATE };

	p.val.present = true;
	p.val.len = (uint8_t)snprintf(p.val.v, sizeof(p.val.v), "%u", st);
	do_one(&p);
}

static void do_transaction(struct fuzz_in *in)
{
	struct pending ops[4];
	unsigned n = 1 + fuzz_u8(in) % 4;
	char reply[64];
	uint32_t tx, type;
	bool commit, done[4], gone[NR_VIFS];

	type = xs_request(XS_TRANSACTION_START, 0, "", 1, reply, sizeof(reply));
	FUZZ_CHECK(type == XS_TRANSACTION_START, "transaction start: %s", reply);
	tx = (uint32_t)strtoul(reply, NULL, 10);
	FUZZ_CHECK(tx != 0, "transaction start: id '%s'", reply);
	for (unsigned v = 0; v < NR_VIFS; v++)
		gone[v] = H.v[v].gone;
	for (unsigned i = 0; i < n; i++) {
		read_op(in, fuzz_u8(in) % 2, &ops[i]);
		done[i] = send(&ops[i], tx, gone[ops[i].vif]);
		if (done[i] && ops[i].rm && ops[i].what == NR_KEYS + 3)
			gone[ops[i].vif] = true;
	}
	commit = fuzz_u8(in) % 4 != 0;
	type = xs_request(XS_TRANSACTION_END, tx, commit ? "T" : "F", 2, reply, sizeof(reply));
	if (H.trace)
		fprintf(stderr, "  transaction %u %s: %s\n", tx, commit ? "commit" : "abandon",
			type == XS_ERROR ? reply : "OK");
	/* Nobody else writes the frontend's directory: a commit cannot conflict. */
	FUZZ_CHECK(type == XS_TRANSACTION_END, "transaction end (%s): %s", commit ? "commit" : "abandon", reply);
	if (!commit)
		return;
	for (unsigned i = 0; i < n; i++)
		if (done[i])
			apply(&ops[i]);
	/* The watch events fire at the commit, after every write in it: the backend sees them all. */
	for (unsigned v = 0; v < NR_VIFS; v++)
		for (unsigned i = 0; i < n; i++)
			if (done[i] && ops[i].vif == v && touches_state(&ops[i])) {
				model_state_changed(v);
				break;
			}
}

static void write_num(unsigned vif, unsigned key, uint32_t x)
{
	struct pending p = { .vif = vif, .what = key };

	p.val.present = true;
	p.val.len = (uint8_t)snprintf(p.val.v, sizeof(p.val.v), "%u", x);
	do_one(&p);
}

/* A whole frontend from the input's slots: most such connects get far into the backend's checks. */
static void do_frontend(struct fuzz_in *in)
{
	unsigned vif = fuzz_u8(in) % NR_VIFS;
	unsigned nq = 1 + fuzz_u8(in) % vif_queues(vif);

	write_num(vif, K_RX_COPY, 1);
	write_num(vif, K_RX_NOTIFY, 1);
	if (vif == 1)
		write_num(vif, K_NUM_QUEUES, nq);
	for (unsigned q = 0; q < nq; q++) {
		unsigned tx = fuzz_u8(in) % NR_REFS, rx = fuzz_u8(in) % NR_REFS;
		unsigned p1 = fuzz_u8(in), p2 = fuzz_u8(in);

		write_num(vif, qkey(nq, q, K_TX), REF(tx));
		write_num(vif, qkey(nq, q, K_RX), REF(rx));
		if (p2 % 2 == 0) {
			write_num(vif, qkey(nq, q, K_EVT), H.port[p1 % NR_PORTS]);
		} else {
			write_num(vif, qkey(nq, q, K_EVT_TX), H.port[p1 % NR_PORTS]);
			write_num(vif, qkey(nq, q, K_EVT_RX), H.port[(p2 / 2) % NR_PORTS]);
		}
	}
	state_op(vif, fuzz_u8(in) % 2 ? XenbusStateConnected : XenbusStateInitialised);
}

/* ---- the checks ---- */

static int store_be_state(unsigned vif)
{
	char p[128];
	uint64_t v;

	snprintf(p, sizeof(p), "/local/domain/%u/backend/vif/%u/%u/state", XENITH_BACKEND_DOMID, H.d->domid, vif);
	return xs_read_u64(xsdomain_store(H.d), p, &v) == 0 ? (int)v : -1;
}

static void check_resources(const char *after);

static void check(const char *after)
{
	for (unsigned i = 0; i < NR_VIFS; i++) {
		const struct mvif *m = &H.v[i];
		int st = store_be_state(i);
		char p[128], err[256];
		size_t len = 0;
		int r;

		FUZZ_CHECK(st == XenbusStateInitWait || st == XenbusStateConnected || st == XenbusStateClosing ||
			   st == XenbusStateClosed, "after %s: vif %u's backend state %d is none hv/vif.h allows",
			   after, i, st);
		FUZZ_CHECK(st == m->be, "after %s: vif %u's backend state %d, the model's %d%s%s%s", after, i, st,
			   m->be, H.attempt[i] == 0 ? " (the model refused the connect: " : "",
			   H.attempt[i] == 0 ? H.why[i] : "", H.attempt[i] == 0 ? ")" : "");
		error_path(p, sizeof(p), i);
		r = xs_read(xsdomain_store(H.d), p, err, sizeof(err), &len);
		if (H.attempt[i] == 0) {
			int e = 0, k = 0;

			FUZZ_CHECK(r == 0 && len > 0, "after %s: vif %u refused (%s) but no reason in %s (%d)", after,
				   i, H.why[i], p, r);
			FUZZ_CHECK(sscanf(err, "%d %n", &e, &k) == 1 && e > 0 && k > 0 && err[k],
				   "after %s: vif %u's reason is not \"ERRNO text\": '%s'", after, i, err);
		} else if (H.attempt[i] == 1) {
			FUZZ_CHECK(r == -ENOENT, "after %s: vif %u connected, yet a reason in %s: '%s'", after, i, p,
				   r == 0 ? err : "?");
		}
		for (unsigned q = 0; q < vif_queues(i); q++) {
			struct netback_stats s;
			bool up = netdev_get_stats(H.d, i, q, &s) == 0 && s.connected;

			FUZZ_CHECK(up == (q < m->nq), "after %s: vif %u queue %u %s, the model says %s", after, i, q,
				   up ? "connected" : "not connected", q < m->nq ? "connected" : "not");
		}
	}
	check_resources(after);
}

/* Grants pinned and ports bound exactly by the model's connected queues. */
static void check_resources(const char *after)
{
	struct grant_table *gt = &H.d->gnttab;
	uint32_t n = atomic_load(&gt->nr_entries);

	for (uint32_t ref = 0; ref < n; ref++) {
		unsigned want = 0;

		for (unsigned i = 0; i < NR_VIFS; i++)
			for (unsigned q = 0; q < H.v[i].nq; q++)
				want += (H.v[i].q[q].tx_ref == ref) + (H.v[i].q[q].rx_ref == ref);
		FUZZ_CHECK(gt->pins[ref] == want && (gt->held[ref] != 0) == (want != 0),
			   "after %s: ref %u has %u pins (held %#x); the model's connected rings use it %u time(s)",
			   after, ref, gt->pins[ref], gt->held[ref], want);
	}
	/* Ports: bound to a backend exactly when a connected queue holds them. */
	for (uint32_t port = 1; port < XENITH_NR_EVTCHN; port++) {
		bool bound = H.d->evtchn.port[port].kind == EVTCHN_BACKEND;

		FUZZ_CHECK(bound == port_held(port, NULL, 0), "after %s: port %u %s a backend, the model says %s",
			   after, port, bound ? "is bound to" : "is not bound to",
			   port_held(port, NULL, 0) ? "a connected queue holds it" : "no queue holds it");
	}
}

/* ---- set-up and reset ---- */

static long hypercall(uint32_t op, uint64_t a1, uint64_t a2)
{
	struct kvm_regs *r = &H.d->vcpus[0].run->s.regs.regs;

	memset(r, 0, sizeof(*r));
	r->rax = op;
	r->rdi = a1;
	r->rsi = a2;
	hypercall_dispatch(&H.d->vcpus[0]);
	return (long)r->rax;
}

static unsigned stat_threads(void)
{
	DIR *dir = opendir("/proc/self/task");
	struct dirent *e;
	unsigned n = 0;

	if (!dir)
		abort();
	while ((e = readdir(dir)))
		n += e->d_name[0] != '.';
	closedir(dir);
	return n;
}

static uint64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* Every vif disconnected, the guest's tree afresh, the vifs published again: as a reboot. */
static void reset(void)
{
	struct domain *d = H.d;
	struct errbuf eb;
	struct device *dev;
	char p[128];
	unsigned threads;

	for (unsigned i = 0; i < NR_VIFS; i++) {
		dev = device_find(d, &vif_device_ops, i);
		dev->ops->disconnect(dev);
		memset(&H.v[i], 0, sizeof(H.v[i]));
	}
	check_resources("every vif's disconnect");
	for (uint64_t deadline = mono_ns() + 2000000000ull;;) {
		threads = stat_threads();
		if (threads == H.base_threads || mono_ns() > deadline)
			break;
		sched_yield();
	}
	FUZZ_CHECK(threads == H.base_threads, "%u threads 2 s after every vif disconnected, %u before the "
		   "input", threads, H.base_threads);
	snprintf(p, sizeof(p), "/local/domain/%u/error/backend/vif/%u", XENITH_BACKEND_DOMID, d->domid);
	xs_rm(xsdomain_store(d), p);
	pthread_mutex_lock(&d->lock);
	evtchn_init(&d->evtchn);
	pthread_mutex_unlock(&d->lock);
	FUZZ_CHECK(xsdomain_connect(d, &eb) == 0, "reconnecting the store: %s", eb.msg);
	grant_table_fini(&d->gnttab);
	if (grant_table_init(&d->gnttab, d->mem, d->mem_size, d->layout.free_start, XENITH_BACKEND_DOMID))
		abort();
	grant_table_protect(&d->gnttab, d->ro_frames);
	for (unsigned i = 0; i < NR_VIFS; i++) {
		dev = device_find(d, &vif_device_ops, i);
		FUZZ_CHECK(dev->ops->connect(dev, &eb) == 0, "vif %u connect: %s", i, eb.msg);
		H.v[i].be = XenbusStateInitWait;
		H.attempt[i] = -1;
	}
	check("the vifs' publish");
}

/* The input's grants and ports. */
static void set_up_guest(struct fuzz_in *in)
{
	struct grant_entry_v1 *e;
	long r;

	FUZZ_CHECK(grant_table_set(&H.d->gnttab, gpa_of(TABLE_PAGE), 1) == 0, "setting the grant table");
	e = (struct grant_entry_v1 *)(H.d->mem + gpa_of(TABLE_PAGE));
	memset(e, 0, PAGE);
	for (unsigned i = 0; i < NR_REFS; i++) {
		struct grant_entry_v1 *g = &e[REF(i)];

		H.gk[i] = (enum grant_kind)(fuzz_u8(in) % NR_GRANT_KINDS);
		g->frame = (uint32_t)(gpa_of(H.gk[i] == G_ALIAS ? RING_PAGE(0) : RING_PAGE(i)) / PAGE);
		g->domid = H.gk[i] == G_OTHER ? OTHER_DOMID : XENITH_BACKEND_DOMID;
		if (H.gk[i] == G_PROTECTED)
			g->frame = (uint32_t)H.ro_frame;
		if (H.gk[i] != G_NONE)
			__atomic_store_n(&g->flags, GTF_permit_access | (H.gk[i] == G_RO ? GTF_readonly : 0),
					 __ATOMIC_RELEASE);
	}
	for (unsigned i = 0; i < NR_PORTS; i++) {
		H.pk[i] = (enum port_kind)(fuzz_u8(in) % NR_PORT_KINDS);
		H.port[i] = 900 + i; /* nobody's */
		if (H.pk[i] == P_UNBOUND) {
			struct evtchn_alloc_unbound a = { .dom = XENITH_DOMID_SELF,
							  .remote_dom = XENITH_BACKEND_DOMID };

			memcpy(H.d->mem + gpa_of(ARG_PAGE), &a, sizeof(a));
			r = hypercall(__HYPERVISOR_event_channel_op, EVTCHNOP_alloc_unbound, gpa_of(ARG_PAGE));
			FUZZ_CHECK(r == 0, "alloc_unbound: %ld", r);
			memcpy(&a, H.d->mem + gpa_of(ARG_PAGE), sizeof(a));
			H.port[i] = a.port;
		} else if (H.pk[i] == P_VIRQ) {
			struct evtchn_bind_virq b = { .virq = 1 + i, .vcpu = 0 };

			memcpy(H.d->mem + gpa_of(ARG_PAGE), &b, sizeof(b));
			r = hypercall(__HYPERVISOR_event_channel_op, EVTCHNOP_bind_virq, gpa_of(ARG_PAGE));
			FUZZ_CHECK(r == 0, "bind_virq %u: %ld", b.virq, r);
			memcpy(&b, H.d->mem + gpa_of(ARG_PAGE), sizeof(b));
			H.port[i] = b.port;
		}
	}
	if (H.trace) {
		fprintf(stderr, "grants:");
		for (unsigned i = 0; i < NR_REFS; i++)
			fprintf(stderr, " %u:%d", REF(i), H.gk[i]);
		fprintf(stderr, "\nports:");
		for (unsigned i = 0; i < NR_PORTS; i++)
			fprintf(stderr, " %u:%d", H.port[i], H.pk[i]);
		fprintf(stderr, "\n");
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *minios = getenv("XENITH_MINIOS");
	struct domain_opts opts = { .console_fd = -1 };
	struct domain_config cfg;
	struct errbuf eb;
	char spec[128];

	(void)argc, (void)argv;
	if (!minios || access(minios, R_OK) != 0) {
		fprintf(stderr, "fuzz_vif: needs XENITH_MINIOS, the bundled guest image (BUILD_DIR/guest/minios: "
			"`meson compile -C BUILD_DIR` builds it); got %s\n", minios ? minios : "nothing");
		exit(1);
	}
	config_init(&cfg);
	snprintf(cfg.name, sizeof(cfg.name), "fuzz");
	snprintf(cfg.kernel, sizeof(cfg.kernel), "%s", minios);
	for (unsigned i = 0; i < NR_VIFS; i++) {
		/* Pair names are process-wide: the pid keeps two fuzzers on one host apart (they are not shared). */
		snprintf(spec, sizeof(spec), "port=pair:fz%u-%u,%s", (unsigned)getpid(), i,
			 i == 0 ? "mode=exit" : "mode=ioeventfd,queues=2");
		if (config_set(&cfg, "vif", spec, &eb) < 0) {
			fprintf(stderr, "fuzz_vif: vif %s: %s\n", spec, eb.msg);
			exit(1);
		}
	}
	if (domain_create_unbacked(&cfg, &opts, 7, &H.d, &eb) < 0) {
		fprintf(stderr, "fuzz_vif: domain_create_unbacked: %s\n", eb.msg);
		exit(1);
	}
	if (H.d->layout.free_start + (uint64_t)RING_PAGE(NR_REFS) * PAGE > H.d->mem_size) {
		fprintf(stderr, "fuzz_vif: too little free memory for the grant table and ring pages\n");
		exit(1);
	}
	H.ro_frame = H.d->mem_size / PAGE; /* outside memory, if the guest maps nothing read-only */
	for (uint64_t f = 0; H.d->ro_frames && f < H.d->mem_size / PAGE; f++)
		if (H.d->ro_frames[f / 64] >> (f % 64) & 1) {
			H.ro_frame = f;
			break;
		}
	H.trace = getenv("XENITH_FUZZ_TRACE") && !strcmp(getenv("XENITH_FUZZ_TRACE"), "1");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	static bool first = true;
	char what[48];

	if (first) {
		/* Here, not in LLVMFuzzerInitialize: libFuzzer starts its own threads in between. */
		H.base_threads = stat_threads();
		reset();
		first = false;
	}
	set_up_guest(&in);
	for (unsigned i = 0; i < MAX_RECORDS && in.left; i++) {
		struct pending p;
		unsigned op = fuzz_u8(&in) % 8;
		char p_err[128];

		for (unsigned v = 0; v < NR_VIFS; v++) {
			H.attempt[v] = -1;
			error_path(p_err, sizeof(p_err), v);
			xs_rm(xsdomain_store(H.d), p_err); /* the harness's: each refusal must write its own */
		}
		switch (op) {
		case 0: case 1: case 2: case 3:
			read_op(&in, false, &p);
			do_one(&p);
			break;
		case 4: {
			unsigned vif = fuzz_u8(&in) % NR_VIFS;

			state_op(vif, fuzz_u8(&in) % 8);
			break;
		}
		case 5:
			read_op(&in, true, &p);
			do_one(&p);
			break;
		case 6:
			do_transaction(&in);
			break;
		default:
			do_frontend(&in);
			break;
		}
		if (H.trace)
			fprintf(stderr, "op %u: backends %d %d (model %d %d), queues connected %u %u\n", op,
				store_be_state(0), store_be_state(1), H.v[0].be, H.v[1].be, H.v[0].nq, H.v[1].nq);
		snprintf(what, sizeof(what), "record %u (op %u)", i, op);
		check(what);
	}
	reset();
	return 0;
}
