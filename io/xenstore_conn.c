// SPDX-License-Identifier: MIT
/*
 * A guest's connection: its xenstore ring page and Xen's wire protocol
 * (xen/include/public/io/xs_wire.h; the requests as xenstored's core.c
 * answers them).
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

/* xs_wire.h's xsd_errors: the errno names a reply may carry. */
static const struct {
	int err;
	const char *name;
} errnames[] = {
	{ EINVAL, "EINVAL" }, { EACCES, "EACCES" },   { EEXIST, "EEXIST" }, { EISDIR, "EISDIR" },
	{ ENOENT, "ENOENT" }, { ENOMEM, "ENOMEM" },   { ENOSPC, "ENOSPC" }, { EIO, "EIO" },
	{ ENOTEMPTY, "ENOTEMPTY" }, { ENOSYS, "ENOSYS" }, { EROFS, "EROFS" }, { EBUSY, "EBUSY" },
	{ EAGAIN, "EAGAIN" }, { EISCONN, "EISCONN" }, { E2BIG, "E2BIG" },   { EPERM, "EPERM" },
};

static const char *errname(int err)
{
	for (size_t i = 0; i < sizeof(errnames) / sizeof(errnames[0]); i++)
		if (errnames[i].err == err)
			return errnames[i].name;
	return "EINVAL"; /* Xen's send_error for an errno it cannot translate */
}

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

static struct xs_out *queue(struct xs_conn *c, bool event, uint32_t type, uint32_t req_id,
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
	    !queue(c, true, XS_WATCH_EVENT, 0, 0, path, pl, token, tl)) {
		s->st.events_dropped++;
		return;
	}
	s->st.watch_events++;
}

/* ------------------------------------------------------------- requests */

static void reply(struct xs_conn *c, const struct xsd_sockmsg *h, uint32_t type, const void *a,
		  uint32_t al, const void *b, uint32_t bl)
{
	if (al + bl > XENSTORE_PAYLOAD_MAX) {
		/* Xen's send_reply: a reply too long for the protocol is E2BIG. */
		const char *e = errname(E2BIG);

		type = XS_ERROR;
		a = e;
		al = (uint32_t)strlen(e) + 1;
		b = NULL;
		bl = 0;
	}
	if (type == XS_ERROR)
		c->s->st.errors++;
	queue(c, false, type, h->req_id, h->tx_id, a, al, b, bl);
}

static void reply_err(struct xs_conn *c, const struct xsd_sockmsg *h, int err)
{
	const char *e = errname(err);

	reply(c, h, XS_ERROR, e, (uint32_t)strlen(e) + 1, NULL, 0);
}

static void ack(struct xs_conn *c, const struct xsd_sockmsg *h)
{
	reply(c, h, h->type, "OK", 3, NULL, 0);
}

static uint32_t count_nuls(const char *p, uint32_t len)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < len; i++)
		n += p[i] == '\0';
	return n;
}

/* Xen's onearg: exactly one string, its NUL last. */
static const char *onearg(const char *p, uint32_t len)
{
	return len && memchr(p, 0, len) == p + len - 1 ? p : NULL;
}

static struct xs_txn *txn_find(struct xs_conn *c, uint32_t id)
{
	for (struct xs_txn *t = c->txns; t; t = t->next)
		if (t->id == id)
			return t;
	return NULL;
}

static void txn_unlink(struct xs_conn *c, struct xs_txn *t)
{
	for (struct xs_txn **p = &c->txns; *p; p = &(*p)->next) {
		if (*p == t) {
			*p = t->next;
			c->ntxns--;
			return;
		}
	}
}

static void txn_free_all(struct xs_conn *c)
{
	while (c->txns) {
		struct xs_txn *t = c->txns;

		c->txns = t->next;
		xs_txn_free(t);
	}
	c->ntxns = 0;
}

static int do_path_op(struct xs_op *o, const char *p, uint32_t len, bool special,
		      char path[XS_PATH_BUF])
{
	const char *arg = onearg(p, len);

	return arg ? xs_canon(o, arg, special, path, NULL) : -EINVAL;
}

static int do_directory(struct xs_op *o, const struct xsd_sockmsg *h, const char *p, uint32_t len)
{
	char path[XS_PATH_BUF];
	char buf[XENSTORE_PAYLOAD_MAX];
	struct xs_node *n;
	uint32_t used = 0;
	int r = do_path_op(o, p, len, false, path);

	if (!r)
		r = xs_op_read(o, path, &n);
	if (r)
		return r;
	for (uint32_t i = 0; i < n->nkids; i++) {
		size_t l = strlen(n->kids[i]->name) + 1;

		if (used + l > sizeof(buf))
			return -E2BIG;
		memcpy(buf + used, n->kids[i]->name, l);
		used += (uint32_t)l;
	}
	reply(o->c, h, XS_DIRECTORY, buf, used, NULL, 0);
	return 0;
}

/*
 * Xen's send_directory_part: "path\0offset\0" answers the node's
 * generation, then the children's names from byte offset of the list
 * that fit, and one more NUL when the list ends there.
 */
static int do_directory_part(struct xs_op *o, const struct xsd_sockmsg *h, const char *p,
			     uint32_t len)
{
	char path[XS_PATH_BUF], gen[24];
	char *kids;
	const char *offs;
	struct xs_node *n;
	uint32_t total = 0, off = 0, take = 0, max;
	int genlen, r;

	if (count_nuls(p, len) != 2)
		return -EINVAL;
	offs = p + strlen(p) + 1;
	r = xs_canon(o, p, false, path, NULL);
	if (!r)
		r = xs_op_read(o, path, &n);
	if (r)
		return r;
	for (const char *d = offs; *d; d++) {
		if (*d < '0' || *d > '9' || off > (UINT32_MAX - 9) / 10)
			return -EINVAL;
		off = off * 10 + (uint32_t)(*d - '0');
	}
	for (uint32_t i = 0; i < n->nkids; i++)
		total += (uint32_t)strlen(n->kids[i]->name) + 1;
	kids = malloc(total + 1);
	if (!kids)
		return -ENOMEM;
	total = 0;
	for (uint32_t i = 0; i < n->nkids; i++) {
		size_t l = strlen(n->kids[i]->name) + 1;

		memcpy(kids + total, n->kids[i]->name, l);
		total += (uint32_t)l;
	}
	genlen = snprintf(gen, sizeof(gen), "%llu", (unsigned long long)n->gen) + 1;
	if (off >= total) {
		reply(o->c, h, XS_DIRECTORY_PART, gen, (uint32_t)genlen, "", 1);
		free(kids);
		return 0;
	}
	max = XENSTORE_PAYLOAD_MAX - (uint32_t)genlen - 1;
	while (off + take < total) {
		uint32_t l = (uint32_t)strlen(kids + off + take) + 1;

		if (take + l > max)
			break;
		take += l;
	}
	if (off + take == total)
		kids[off + take++] = '\0'; /* the end: one more NUL */
	reply(o->c, h, XS_DIRECTORY_PART, gen, (uint32_t)genlen, kids + off, take);
	free(kids);
	return 0;
}

static int do_get_perms(struct xs_op *o, const struct xsd_sockmsg *h, const char *p, uint32_t len)
{
	char path[XS_PATH_BUF];
	char buf[XENSTORE_PAYLOAD_MAX];
	struct xs_node *n;
	uint32_t used = 0;
	int r = do_path_op(o, p, len, true, path);

	if (!r)
		r = xs_op_read(o, path, &n);
	if (r)
		return r;
	for (uint32_t i = 0; i < n->nperms; i++) {
		char one[16];
		int l = xs_format_perm(&n->perms[i], one, sizeof(one)) + 1;

		if (used + (uint32_t)l > sizeof(buf))
			return -E2BIG;
		memcpy(buf + used, one, (size_t)l);
		used += (uint32_t)l;
	}
	reply(o->c, h, XS_GET_PERMS, buf, used, NULL, 0);
	return 0;
}

static int do_set_perms(struct xs_op *o, const char *p, uint32_t len)
{
	char path[XS_PATH_BUF];
	uint32_t n = count_nuls(p, len);
	struct xs_perm *pp;
	const char *s;
	int r;

	if (n < 2)
		return -EINVAL;
	n--;
	/* Xen's do_set_perms: ACC_NPERM, before the strings are parsed. */
	if (n > o->s->q.max_perms) {
		o->s->st.quota_refusals++;
		return -ENOSPC;
	}
	pp = calloc(n, sizeof(*pp));
	if (!pp)
		return -ENOMEM;
	s = p + strlen(p) + 1;
	r = 0;
	for (uint32_t i = 0; i < n && !r; i++) {
		r = xs_parse_perm(s, &pp[i]);
		s += strlen(s) + 1;
	}
	if (!r)
		r = xs_canon(o, p, true, path, NULL);
	if (!r)
		r = xs_op_set_perms(o, path, pp, n);
	free(pp);
	return r;
}

static int do_watch(struct xs_op *o, const struct xsd_sockmsg *h, const char *p, uint32_t len,
		    bool add)
{
	struct xs_conn *c = o->c;
	char path[XS_PATH_BUF];
	const char *token;
	bool rel;
	int r;

	if (count_nuls(p, len) != 2)
		return -EINVAL;
	token = p + strlen(p) + 1;
	r = xs_canon(o, p, true, path, &rel);
	if (r)
		return r;
	if (!add) {
		r = xs_watch_del(o->s, c, path, token, NULL, NULL);
		if (!r)
			ack(c, h);
		return r;
	}
	if (c->nwatches >= o->s->q.max_watches) {
		/* Xen checks for a duplicate first (EEXIST), then the quota. */
		for (struct xs_watch *w = o->s->watches; w; w = w->next)
			if (w->c == c && !strcmp(w->path, path) && !strcmp(w->token, token))
				return -EEXIST;
		o->s->st.quota_refusals++;
		return -E2BIG;
	}
	r = xs_watch_add(o->s, c, path, token, rel ? c->home_len + 1 : 0, NULL, NULL);
	if (r)
		return r;
	ack(c, h);
	/* Xen fires a new watch once, after the acknowledgement. */
	xs_conn_event(c, path + (rel ? c->home_len + 1 : 0), token);
	return 0;
}

static int do_transaction(struct xs_op *o, const struct xsd_sockmsg *h, const char *p,
			  uint32_t len, bool start)
{
	struct xs_conn *c = o->c;
	struct xs_txn *t;
	char id[16];
	int r;

	if (start) {
		if (o->t)
			return -EBUSY; /* no nested transactions */
		if (c->ntxns >= o->s->q.max_transactions) {
			o->s->st.quota_refusals++;
			return -ENOSPC;
		}
		t = xs_txn_new(o->s);
		if (!t)
			return -ENOMEM;
		do {
			t->id = c->next_txid++;
		} while (t->id == 0 || txn_find(c, t->id));
		t->next = c->txns;
		c->txns = t;
		c->ntxns++;
		r = snprintf(id, sizeof(id), "%u", t->id) + 1;
		reply(c, h, XS_TRANSACTION_START, id, (uint32_t)r, NULL, 0);
		return 0;
	}
	p = onearg(p, len);
	if (!p || (strcmp(p, "T") && strcmp(p, "F")))
		return -EINVAL;
	if (!o->t)
		return -ENOENT;
	t = o->t;
	txn_unlink(c, t);
	r = p[0] == 'T' ? xs_txn_commit(o) : 0;
	xs_txn_free(t);
	o->t = NULL;
	if (!r)
		ack(c, h);
	return r;
}

static int do_domain_path(struct xs_conn *c, const struct xsd_sockmsg *h, const char *p,
			  uint32_t len)
{
	const char *arg = onearg(p, len);
	unsigned long id = 0;
	char path[32];
	int n;

	if (!arg || !arg[0])
		return -EINVAL;
	for (const char *d = arg; *d; d++) {
		if (*d < '0' || *d > '9' || id > UINT16_MAX)
			return -EINVAL;
		id = id * 10 + (unsigned long)(*d - '0');
	}
	if (id > UINT16_MAX)
		return -EINVAL;
	n = snprintf(path, sizeof(path), "/local/domain/%lu", id) + 1;
	reply(c, h, XS_GET_DOMAIN_PATH, path, (uint32_t)n, NULL, 0);
	return 0;
}

/* Answers the request in c->in (its payload NUL-terminated one byte past its length). */
static void handle(struct xs_conn *c)
{
	const struct xsd_sockmsg h = c->in.hdr;
	const char *p = c->in.raw + HDR;
	struct xs_op o = { .s = c->s, .c = c, .t = NULL, .domid = c->domid };
	char path[XS_PATH_BUF];
	struct xs_node *n;
	const char *nul;
	int r;

	c->s->st.requests++;
	switch (h.type) {
	case XS_CONTROL:
	case XS_INTRODUCE:
	case XS_RELEASE:
	case XS_IS_DOMAIN_INTRODUCED:
	case XS_RESUME:
	case XS_SET_TARGET:
		/* Xen's XS_FLAG_PRIV operations: a guest is answered EACCES. */
		reply_err(c, &h, EACCES);
		return;
	case XS_DIRECTORY:
	case XS_READ:
	case XS_GET_PERMS:
	case XS_WATCH:
	case XS_UNWATCH:
	case XS_TRANSACTION_START:
	case XS_TRANSACTION_END:
	case XS_GET_DOMAIN_PATH:
	case XS_WRITE:
	case XS_MKDIR:
	case XS_RM:
	case XS_SET_PERMS:
	case XS_RESET_WATCHES:
	case XS_DIRECTORY_PART:
		break;
	default:
		/* XS_RESTRICT (gone from Xen), XS_WATCH_EVENT, XS_ERROR, anything else. */
		reply_err(c, &h, ENOSYS);
		return;
	}
	/* Watches ignore the transaction id (Xen's XS_FLAG_NOTID); an unknown one is ENOENT. */
	if (h.tx_id && h.type != XS_WATCH && h.type != XS_UNWATCH) {
		o.t = txn_find(c, h.tx_id);
		if (!o.t) {
			reply_err(c, &h, ENOENT);
			return;
		}
	}
	switch (h.type) {
	case XS_READ:
		r = do_path_op(&o, p, h.len, false, path);
		if (!r)
			r = xs_op_read(&o, path, &n);
		if (!r)
			reply(c, &h, XS_READ, n->val, n->len, NULL, 0);
		break;
	case XS_WRITE:
		nul = memchr(p, 0, h.len);
		if (!nul) {
			r = -EINVAL;
			break;
		}
		r = xs_canon(&o, p, false, path, NULL);
		if (!r)
			r = xs_op_write(&o, path, nul + 1, h.len - (uint32_t)(nul + 1 - p));
		if (!r)
			ack(c, &h);
		break;
	case XS_MKDIR:
	case XS_RM:
		r = do_path_op(&o, p, h.len, false, path);
		if (!r)
			r = h.type == XS_MKDIR ? xs_op_mkdir(&o, path) : xs_op_rm(&o, path);
		if (!r)
			ack(c, &h);
		break;
	case XS_DIRECTORY:
		r = do_directory(&o, &h, p, h.len);
		break;
	case XS_DIRECTORY_PART:
		r = do_directory_part(&o, &h, p, h.len);
		break;
	case XS_GET_PERMS:
		r = do_get_perms(&o, &h, p, h.len);
		break;
	case XS_SET_PERMS:
		r = do_set_perms(&o, p, h.len);
		if (!r)
			ack(c, &h);
		break;
	case XS_WATCH:
	case XS_UNWATCH:
		r = do_watch(&o, &h, p, h.len, h.type == XS_WATCH);
		break;
	case XS_TRANSACTION_START:
	case XS_TRANSACTION_END:
		r = do_transaction(&o, &h, p, h.len, h.type == XS_TRANSACTION_START);
		break;
	case XS_GET_DOMAIN_PATH:
		r = do_domain_path(c, &h, p, h.len);
		break;
	case XS_RESET_WATCHES:
		/* Xen's do_reset_watches: every watch and transaction of the connection goes. */
		xs_watch_del_conn(c->s, c);
		txn_free_all(c);
		ack(c, &h);
		r = 0;
		break;
	default:
		r = -ENOSYS;
		break;
	}
	if (r)
		reply_err(c, &h, -r);
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
		handle(c);
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
	txn_free_all(c);
	out_free_all(c);
	xs_unlock(s);
	free(c);
}
