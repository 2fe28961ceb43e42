// SPDX-License-Identifier: MIT
/*
 * A guest's connection: its xenstore ring page (Xen's
 * xen/include/public/io/xs_wire.h); the requests themselves are answered
 * in xenstore_req.c.
 *
 * The page is guest memory and the guest is hostile: the store keeps its
 * own copies of the indices it owns (req_cons, rsp_prod) and only writes
 * them to the page; it reads each guest index (req_prod, rsp_cons) once
 * per pass and checks it; request bytes are copied out before anything
 * looks at them, and the header is parsed from that copy only.  Requests
 * are a byte stream, as in Xen: a header or payload split across kicks is
 * assembled in the connection, so a 4 KB request passes through the 1 KB
 * ring.  Replies and watch events wait in a queue on the connection:
 * while a reply waits for room the store reads no further request (the
 * guest must read its responses first), so the queue holds at most one
 * reply and max_queued_events events.  A message that fits the ring is
 * written whole; a longer one (a 2 KB value read back) goes in pieces as
 * the guest makes room, as Xen's writechn does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenstore_priv.h"

#define HDR ((uint32_t)sizeof(struct xsd_sockmsg))

/* ----------------------------------------------------------------- ring */

static void ring_put(char *ring, XENSTORE_RING_IDX idx, const char *src, uint32_t n)
{
	uint32_t off = MASK_XENSTORE_IDX(idx), first = XENSTORE_RING_SIZE - off;

	if (first > n)
		first = n;
	memcpy(ring + off, src, first);
	memcpy(ring, src + first, n - first);
}

static void ring_get(const char *ring, XENSTORE_RING_IDX idx, char *dst, uint32_t n)
{
	uint32_t off = MASK_XENSTORE_IDX(idx), first = XENSTORE_RING_SIZE - off;

	if (first > n)
		first = n;
	memcpy(dst, ring + off, first);
	memcpy(dst + first, ring, n - first);
}

static void out_free_all(struct xs_conn *c)
{
	while (c->out) {
		struct xs_out *m = c->out;

		c->out = m->next;
		free(m);
	}
	c->out_tail = &c->out;
	c->nreplies = 0;
	c->nevents = 0;
}

/* A protocol error: the ring is dead for good (Xen's ignore_connection). */
static int fail(struct xs_conn *c, uint32_t why)
{
	__atomic_store_n(&c->page->error, why, __ATOMIC_RELAXED);
	c->dead = true;
	c->kick = true; /* so that the guest looks and finds the error */
	c->in_used = 0;
	out_free_all(c);
	c->s->st.errors++;
	return -EPROTO;
}

/* Writes queued messages while they fit; -EPROTO on an impossible rsp_cons. */
static int flush(struct xs_conn *c)
{
	XENSTORE_RING_IDX cons;
	uint32_t space;
	bool moved = false;

	if (!c->out || c->dead)
		return c->dead ? -EPROTO : 0;
	/* Acquire: pairs with the guest's barrier before it moves rsp_cons (it has read those bytes). */
	cons = __atomic_load_n(&c->page->rsp_cons, __ATOMIC_ACQUIRE);
	if (c->rsp_prod - cons > XENSTORE_RING_SIZE)
		return fail(c, XENSTORE_ERROR_RINGIDX);
	space = XENSTORE_RING_SIZE - (c->rsp_prod - cons);
	while (c->out && space) {
		struct xs_out *m = c->out;
		uint32_t n = m->size - m->done;

		if (m->done == 0 && m->size <= XENSTORE_RING_SIZE && m->size > space)
			break; /* goes out whole once there is room */
		if (n > space)
			n = space;
		ring_put(c->page->rsp, c->rsp_prod, m->data + m->done, n);
		c->rsp_prod += n;
		m->done += n;
		space -= n;
		moved = true;
		if (m->done < m->size)
			break;
		c->out = m->next;
		if (!c->out)
			c->out_tail = &c->out;
		if (m->event)
			c->nevents--;
		else
			c->nreplies--;
		free(m);
	}
	if (moved) {
		/* Release: the bytes are on the ring before the guest can see rsp_prod move. */
		__atomic_store_n(&c->page->rsp_prod, c->rsp_prod, __ATOMIC_RELEASE);
		c->kick = true;
	}
	return 0;
}

static void kick(struct xs_conn *c)
{
	if (c->kick && c->notify) {
		c->kick = false;
		c->notify(c->opaque);
	}
}

void xs_conn_push(struct xs_conn *c)
{
	flush(c);
	kick(c);
}

struct xs_out *xs_conn_queue(struct xs_conn *c, bool event, uint32_t type, uint32_t req_id,
			    uint32_t tx_id, const void *a, uint32_t al, const void *b, uint32_t bl)
{
	struct xs_out *m = malloc(sizeof(*m) + HDR + al + bl);
	struct xsd_sockmsg h = { .type = type, .req_id = req_id, .tx_id = tx_id, .len = al + bl };

	if (!m)
		return NULL;
	m->next = NULL;
	m->event = event;
	m->size = HDR + al + bl;
	m->done = 0;
	memcpy(m->data, &h, HDR);
	if (al)
		memcpy(m->data + HDR, a, al);
	if (bl)
		memcpy(m->data + HDR + al, b, bl);
	*c->out_tail = m;
	c->out_tail = &m->next;
	if (event)
		c->nevents++;
	else
		c->nreplies++;
	return m;
}

void xs_conn_event(struct xs_conn *c, const char *path, const char *token)
{
	struct xs_store *s = c->s;
	uint32_t pl = (uint32_t)strlen(path) + 1, tl = (uint32_t)strlen(token) + 1;

	if (c->dead)
		return;
	/* Xen's send_event: no over-long events, and none already waiting (except "@" ones). */
	if (pl + tl > XENSTORE_PAYLOAD_MAX) {
		s->st.events_dropped++;
		return;
	}
	if (path[0] != '@') {
		for (struct xs_out *m = c->out; m; m = m->next)
			if (m->event && m->size == HDR + pl + tl && !memcmp(m->data + HDR, path, pl) &&
			    !memcmp(m->data + HDR + pl, token, tl))
				return;
	}
	if (c->nevents >= s->q.max_queued_events ||
	    !xs_conn_queue(c, true, XS_WATCH_EVENT, 0, 0, path, pl, token, tl)) {
		s->st.events_dropped++;
		return;
	}
	s->st.watch_events++;
}

/* ----------------------------------------------------------- connection */

struct xs_conn *xs_conn_new(struct xs_store *s, uint32_t domid,
			    struct xenstore_domain_interface *page,
			    void (*notify)(void *opaque), void *opaque)
{
	static const char local[] = "/local/domain";
	struct xs_op o = { .s = s, .c = NULL, .t = NULL, .domid = XENITH_XS_DOM0 };
	struct xs_perm home = { .id = domid, .acc = XS_PERM_NONE };
	struct xs_conn *c;

	/* Domain 0 is the VMM; Xen reserves ids from DOMID_FIRST_RESERVED (0x7ff0). */
	if (domid == XENITH_XS_DOM0 || domid >= 0x7ff0u || !page) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->s = s;
	c->domid = domid;
	c->home_len = (size_t)snprintf(c->home, sizeof(c->home), "%s/%u", local, domid);
	c->page = page;
	c->notify = notify;
	c->opaque = opaque;
	c->out_tail = &c->out;
	c->next_txid = 1;
	/* The indices as the guest left them, read once; checked when first used. */
	c->req_cons = __atomic_load_n(&page->req_cons, __ATOMIC_RELAXED);
	c->rsp_prod = __atomic_load_n(&page->rsp_prod, __ATOMIC_RELAXED);
	__atomic_store_n(&page->server_features, XENSTORE_SERVER_FEATURE_ERROR, __ATOMIC_RELAXED);

	xs_lock(s);
	if (!xs_store_lookup(s, c->home)) {
		/* As a toolstack makes it: the guest's own, nobody else's. */
		if (xs_op_mkdir(&o, c->home) || xs_op_set_perms(&o, c->home, &home, 1)) {
			xs_unlock(s);
			free(c);
			errno = ENOMEM;
			return NULL;
		}
	}
	c->next = s->conns;
	s->conns = c;
	xs_fire_special(s, "@introduceDomain");
	xs_unlock(s);
	return c;
}

int xs_conn_process(struct xs_conn *c)
{
	struct xs_store *s = c->s;
	XENSTORE_RING_IDX prod;
	int r = 0;

	xs_lock(s);
	if (c->dead) {
		xs_unlock(s);
		return -EPROTO;
	}
	/* Acquire: pairs with the guest's barrier between writing a request and moving req_prod. */
	prod = __atomic_load_n(&c->page->req_prod, __ATOMIC_ACQUIRE);
	if (prod - c->req_cons > XENSTORE_RING_SIZE) {
		r = fail(c, XENSTORE_ERROR_RINGIDX);
		goto out;
	}
	/*
	 * Bounded: every turn consumes ring bytes (at most a ring's worth, as
	 * prod is read once) or stops.  Requests the guest adds meanwhile come
	 * with their own kick.
	 */
	for (;;) {
		uint32_t avail, want;

		r = flush(c);
		if (r || c->nreplies)
			break; /* the guest reads its responses first */
		avail = prod - c->req_cons;
		if (!avail)
			break;
		want = c->in_used < HDR ? HDR - c->in_used : HDR + c->in.hdr.len - c->in_used;
		if (want > avail)
			want = avail;
		ring_get(c->page->req, c->req_cons, c->in.raw + c->in_used, want);
		c->req_cons += want;
		c->in_used += want;
		/* Release: the bytes are copied out before the guest may reuse their room. */
		__atomic_store_n(&c->page->req_cons, c->req_cons, __ATOMIC_RELEASE);
		c->kick = true;
		if (c->in_used < HDR)
			continue;
		/* The header is checked in the copy, which the guest cannot change. */
		if (c->in.hdr.len > XENSTORE_PAYLOAD_MAX) {
			r = fail(c, XENSTORE_ERROR_PROTO);
			break;
		}
		if (c->in_used < HDR + c->in.hdr.len)
			continue;
		c->in.raw[c->in_used] = '\0';
		xs_conn_handle(c);
		c->in_used = 0;
	}
out:
	kick(c);
	xs_unlock(s);
	return r;
}

void xs_conn_free(struct xs_conn *c)
{
	struct xs_store *s;

	if (!c)
		return;
	s = c->s;
	xs_lock(s);
	for (struct xs_conn **p = &s->conns; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	xs_watch_del_conn(s, c);
	xs_conn_txn_free_all(c);
	out_free_all(c);
	xs_unlock(s);
	free(c);
}
