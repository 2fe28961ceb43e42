// SPDX-License-Identifier: MIT
/*
 * A guest's requests, answered as Xen xenstored's core.c, watch.c and
 * transaction.c answer them: the payload checks (one string, NUL counts),
 * the reply payloads, the errno names, privileged operations (EACCES)
 * and unknown ones (ENOSYS).  The ring side is xenstore_conn.c.
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
	xs_conn_queue(c, false, type, h->req_id, h->tx_id, a, al, b, bl);
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

void xs_conn_txn_free_all(struct xs_conn *c)
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

void xs_conn_handle(struct xs_conn *c)
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
		xs_conn_txn_free_all(c);
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
