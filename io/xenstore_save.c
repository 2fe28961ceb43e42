// SPDX-License-Identifier: MIT
/*
 * Save and restore of a store and its guest connection (io/xenstore.h,
 * xs_save and xs_restore), for `xenith save`/`restore` and relocation.
 *
 * The format, little-endian (lib/savebuf.h); "str" is a u32 length and
 * that many bytes, no NUL:
 *
 *   u32 version                  1 (XS_SAVE_VERSION); a load refuses others
 *   u64 gen                      the store's generation counter
 *   u32 nodes                    at least 1 (the root), then each node:
 *     str path                   canonical and absolute; the root "/" first,
 *                                every other after its parent, children
 *                                of a node in their order (xs_save writes
 *                                them depth first)
 *     u64 gen                    the node's generation (at most the store's)
 *     u32 nperms                 1 to XS_SAVE_PERMS_MAX, then each:
 *       u32 domid                at most 65535 (Xen's domain ids)
 *       u8  access               XS_PERM_READ | XS_PERM_WRITE
 *     u32 len, len bytes         the value (any bytes), at most XENSTORE_PAYLOAD_MAX
 *   u8  connection               0: none (the end); 1: then
 *     u32 domid                  the guest's: the connection loaded into must be its
 *     u8  dead                   a protocol error stopped it (0 or 1)
 *     u32 req_cons, rsp_prod     the store's private ring indices
 *     u32 in_used, in_used bytes the request being assembled (header, then payload)
 *     u32 nout                   queued messages, oldest first, each:
 *       u8  event                a watch event (1) or a reply (0)
 *       u32 done                 bytes already on the ring (the first message only)
 *       u32 size, size bytes     header and payload
 *     u32 nwatches               the guest's watches, in the order it set them, each:
 *       str path                 canonical: absolute or "@..."
 *       str token
 *       u8  relative             set as a relative path (events name it so)
 *     u32 ntxns                  open transactions, each:
 *       u32 id
 *     u32 next_txid
 *
 * A load builds everything aside (a new tree, accounts, the connection's
 * pieces) while it checks, and swaps it in only once all of it passed: a
 * refusal changes nothing.  Generations are kept so that a guest paging
 * through XS_DIRECTORY_PART sees the same generation after the move.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "savebuf.h"
#include "xenstore_priv.h"

#define XS_SAVE_VERSION 1u
#define HDR ((uint32_t)sizeof(struct xsd_sockmsg))
/* Permission entries on one node: xs_set_perms's own limit (a guest's is max_perms, lower). */
#define XS_SAVE_PERMS_MAX 4096u
/* Xen's domain ids are 16-bit (xs_parse_perm refuses more). */
#define XS_SAVE_DOMID_MAX 0xffffu
/* Levels below the root: each takes at least two characters of XENSTORE_ABS_PATH_MAX. */
#define XS_SAVE_DEPTH (XENSTORE_ABS_PATH_MAX / 2u + 1u)

/* ----------------------------------------------------------------- save */

struct walk_level {
	const struct xs_node *n;
	uint32_t next;  /* the next child to write */
	size_t pathlen; /* of n's path; 0 for the root, whose children are "/name" */
};

static void save_node(struct savebuf *out, const struct xs_node *n, const char *path)
{
	savebuf_str(out, path);
	savebuf_u64(out, n->gen);
	savebuf_u32(out, n->nperms);
	for (uint32_t i = 0; i < n->nperms; i++) {
		savebuf_u32(out, n->perms[i].id);
		savebuf_u8(out, n->perms[i].acc);
	}
	savebuf_u32(out, n->len);
	savebuf_put(out, n->val, n->len);
}

/* Depth first without recursion: a guest decides the depth (up to XS_SAVE_DEPTH levels). */
static int save_tree(struct xs_store *s, struct savebuf *out)
{
	struct walk_level *st = malloc((XS_SAVE_DEPTH + 1) * sizeof(*st));
	char path[XS_PATH_BUF];
	size_t count_at = out->len, depth = 1;
	uint32_t count = 1;

	if (!st)
		return -ENOMEM;
	savebuf_u32(out, 0); /* the node count, filled in at the end */
	save_node(out, s->root, "/");
	st[0] = (struct walk_level){ .n = s->root };
	while (depth) {
		struct walk_level *top = &st[depth - 1];
		const struct xs_node *k;
		size_t l;

		if (top->next == top->n->nkids) {
			depth--;
			continue;
		}
		k = top->n->kids[top->next++];
		l = strlen(k->name);
		/* Nodes are made with checked paths: this cannot happen, but the buffers are fixed. */
		if (top->pathlen + 1 + l > XENSTORE_ABS_PATH_MAX || depth > XS_SAVE_DEPTH) {
			free(st);
			return -EINVAL;
		}
		path[top->pathlen] = '/';
		memcpy(path + top->pathlen + 1, k->name, l + 1);
		save_node(out, k, path);
		count++;
		st[depth] = (struct walk_level){ .n = k, .pathlen = top->pathlen + 1 + l };
		depth++;
	}
	free(st);
	if (!out->oom)
		memcpy(out->p + count_at, &count, sizeof(count));
	return 0;
}

static void save_conn(struct xs_store *s, struct xs_conn *c, struct savebuf *out)
{
	uint32_t n = 0;

	savebuf_u8(out, 1);
	savebuf_u32(out, c->domid);
	savebuf_u8(out, c->dead);
	savebuf_u32(out, c->req_cons);
	savebuf_u32(out, c->rsp_prod);
	savebuf_u32(out, c->in_used);
	savebuf_put(out, c->in.raw, c->in_used);

	for (const struct xs_out *m = c->out; m; m = m->next)
		n++;
	savebuf_u32(out, n);
	for (const struct xs_out *m = c->out; m; m = m->next) {
		savebuf_u8(out, m->event);
		savebuf_u32(out, m->done);
		savebuf_u32(out, m->size);
		savebuf_put(out, m->data, m->size);
	}

	n = 0;
	for (const struct xs_watch *w = s->watches; w; w = w->next)
		n += w->c == c;
	savebuf_u32(out, n);
	for (const struct xs_watch *w = s->watches; w; w = w->next) {
		if (w->c != c)
			continue;
		savebuf_str(out, w->path);
		savebuf_str(out, w->token);
		savebuf_u8(out, w->strip != 0);
	}

	n = 0;
	for (const struct xs_txn *t = c->txns; t; t = t->next)
		n++;
	savebuf_u32(out, n);
	for (const struct xs_txn *t = c->txns; t; t = t->next)
		savebuf_u32(out, t->id);
	savebuf_u32(out, c->next_txid);
}

int xs_save(struct xs_store *s, struct xs_conn *c, struct savebuf *out)
{
	int r;

	if (c && c->s != s)
		return -EINVAL;
	xs_lock(s);
	savebuf_u32(out, XS_SAVE_VERSION);
	savebuf_u64(out, s->gen);
	r = save_tree(s, out);
	if (!r) {
		if (c)
			save_conn(s, c, out);
		else
			savebuf_u8(out, 0);
	}
	xs_unlock(s);
	return r ? r : savebuf_status(out);
}

/* ----------------------------------------------------------------- load */

/* What a load builds aside, swapped in only when everything passed. */
struct load {
	struct xs_store *s;
	struct xs_conn *c;
	struct saveread r;
	char *msg;
	size_t msglen;
	char where[256]; /* the item being read, for messages: "node 17 (/local/domain/1/...)" */

	uint64_t gen;
	struct xs_node *root;
	uint32_t nnodes;
	uint32_t *owners; /* each node's owner (its first permission's domain), in load order */
	uint32_t cap_owners;
	struct xs_acct *acct;
	unsigned nacct;

	bool conn;
	bool dead;
	XENSTORE_RING_IDX req_cons, rsp_prod;
	uint32_t in_used;
	struct xs_out *out, **out_tail;
	unsigned nreplies, nevents;
	struct xs_watch *watches, **watches_tail;
	unsigned nwatches;
	struct xs_txn *txns, **txns_tail;
	unsigned ntxns;
	uint32_t next_txid;
	char in[sizeof(((struct xs_conn *)0)->in.raw)];
};

static int refuse(struct load *l, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int refuse(struct load *l, int err, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!l->msglen)
		return -err;
	n = snprintf(l->msg, l->msglen, "xenstore: ");
	if (n >= 0 && (size_t)n < l->msglen) {
		va_start(ap, fmt);
		vsnprintf(l->msg + n, l->msglen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -err;
}

/* The data ran out inside the item being read. */
static int truncated(struct load *l)
{
	return refuse(l, EPROTO, "%s: the data end inside it (%zu bytes in all): truncated", l->where,
		      l->r.len);
}

/* A path for a message: long ones by their two ends, so that the reason after them still fits. */
static const char *shown(const char *path, char buf[128])
{
	size_t n = strlen(path);

	if (n < 128)
		return path;
	snprintf(buf, 128, "%.50s...(%zu bytes)...%s", path, n, path + n - 50);
	return buf;
}

/* Reads a u32 length and that many bytes, NUL-free, into out (max + 1 bytes); what says what it is. */
static int get_str(struct load *l, char *out, uint32_t max, const char *what)
{
	uint32_t n = saveread_u32(&l->r);

	if (l->r.bad)
		return truncated(l);
	if (n > max)
		return refuse(l, EPROTO, "%s: %s of %u bytes, more than %u", l->where, what, n, max);
	if (saveread_get(&l->r, out, n))
		return truncated(l);
	if (memchr(out, 0, n))
		return refuse(l, EPROTO, "%s: %s holds a NUL byte", l->where, what);
	out[n] = '\0';
	return 0;
}

/* The node at an absolute canonical path in the tree being built. */
static struct xs_node *lookup(struct xs_node *root, const char *path, size_t len)
{
	struct xs_node *n = root;
	size_t i = 1;

	while (n && i < len) {
		const char *e = memchr(path + i, '/', len - i);
		size_t k = e ? (size_t)(e - (path + i)) : len - i;

		n = xs_kid_find(n, path + i, k);
		i += k + 1;
	}
	return n;
}

static int load_node(struct load *l, uint32_t i)
{
	struct xs_op dom0 = { .s = l->s, .domid = XENITH_XS_DOM0 };
	char path[XS_PATH_BUF], canon[XS_PATH_BUF], sh[128];
	struct xs_node *parent = NULL, *n;
	struct xs_perm *perms;
	uint64_t gen;
	uint32_t np, vlen;
	const char *name;
	int r;

	snprintf(l->where, sizeof(l->where), "node %u", i);
	r = get_str(l, path, XENSTORE_ABS_PATH_MAX, "path");
	if (r)
		return r;
	snprintf(l->where, sizeof(l->where), "node %u (%s)", i, shown(path, sh));
	if (xs_canon(&dom0, path, false, canon, NULL) || strcmp(canon, path))
		return refuse(l, EPROTO, "%s: not a canonical absolute path (characters A-Z a-z 0-9 - _ @ "
			      "/, no empty component, no '/' at the end)", l->where);
	gen = saveread_u64(&l->r);
	np = saveread_u32(&l->r);
	if (l->r.bad)
		return truncated(l);
	if (gen > l->gen)
		return refuse(l, EPROTO, "%s: generation %llu, past the store's %llu", l->where,
			      (unsigned long long)gen, (unsigned long long)l->gen);
	if (np == 0 || np > XS_SAVE_PERMS_MAX)
		return refuse(l, EPROTO, "%s: %u permission entries (1 to %u)", l->where, np,
			      XS_SAVE_PERMS_MAX);
	if (np > saveread_left(&l->r) / 5)
		return truncated(l); /* before allocating for them */
	perms = malloc(np * sizeof(*perms));
	if (!perms)
		return refuse(l, ENOMEM, "%s: out of memory", l->where);
	for (uint32_t k = 0; k < np; k++) {
		perms[k].id = saveread_u32(&l->r);
		perms[k].acc = saveread_u8(&l->r);
		if (perms[k].id > XS_SAVE_DOMID_MAX || (perms[k].acc & ~(XS_PERM_READ | XS_PERM_WRITE))) {
			r = refuse(l, EPROTO, "%s: permission %u (domain %u, access %#x): domain ids go to "
				   "%u, access has bits 1 (read) and 2 (write) only", l->where, k,
				   perms[k].id, perms[k].acc, XS_SAVE_DOMID_MAX);
			goto free_perms;
		}
	}
	vlen = saveread_u32(&l->r);
	if (l->r.bad) {
		r = truncated(l);
		goto free_perms;
	}
	if (vlen > XENSTORE_PAYLOAD_MAX) {
		r = refuse(l, EPROTO, "%s: value of %u bytes, more than %u", l->where, vlen,
			   XENSTORE_PAYLOAD_MAX);
		goto free_perms;
	}
	if (vlen > saveread_left(&l->r)) {
		r = truncated(l);
		goto free_perms;
	}

	if (i == 0) {
		if (strcmp(path, "/")) {
			r = refuse(l, EPROTO, "%s: the first node must be the root /", l->where);
			goto free_perms;
		}
		n = xs_node_new("", 0);
	} else {
		const char *slash = strrchr(path, '/');

		name = slash + 1;
		parent = lookup(l->root, path, slash == path ? 1 : (size_t)(slash - path));
		if (!parent) {
			r = refuse(l, EPROTO, "%s: its parent %.*s comes after it or not at all (parents "
				   "come before their children)", l->where,
				   slash == path ? 1 : (int)(slash - path), path);
			goto free_perms;
		}
		if (!*name || xs_kid_find(parent, name, strlen(name))) {
			r = refuse(l, EPROTO, "%s: a second node at this path (duplicate)", l->where);
			goto free_perms;
		}
		n = xs_node_new(name, strlen(name));
	}
	if (!n) {
		r = refuse(l, ENOMEM, "%s: out of memory", l->where);
		goto free_perms;
	}
	n->val = malloc(vlen ? vlen : 1);
	if (!n->val || (parent && xs_kid_add(parent, n))) {
		xs_node_free(n);
		r = refuse(l, ENOMEM, "%s: out of memory", l->where);
		goto free_perms;
	}
	saveread_get(&l->r, n->val, vlen);
	n->len = vlen;
	n->perms = perms;
	n->nperms = np;
	n->gen = gen;
	n->filled = true;
	if (!parent)
		l->root = n;
	l->owners[l->nnodes++] = perms[0].id;
	return 0;

free_perms:
	free(perms);
	return r;
}

/*
 * Room for one more node's owner.  (A table indexed by domain id, as this
 * once was, is 256 KiB to clear and scan: most of a small store's load.)
 */
static int grow_owners(struct load *l)
{
	uint32_t cap = l->cap_owners ? 2 * l->cap_owners : 64;
	uint32_t *o = cap > l->cap_owners ? realloc(l->owners, cap * sizeof(*o)) : NULL;

	if (!o)
		return -ENOMEM;
	l->owners = o;
	l->cap_owners = cap;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int load_tree(struct load *l)
{
	uint32_t count, v;
	unsigned a = 0;
	int r;

	snprintf(l->where, sizeof(l->where), "the header");
	v = saveread_u32(&l->r);
	if (l->r.bad)
		return truncated(l);
	if (v != XS_SAVE_VERSION)
		return refuse(l, EPROTO, "saved in format version %u; this Xenith reads version %u only",
			      v, XS_SAVE_VERSION);
	l->gen = saveread_u64(&l->r);
	count = saveread_u32(&l->r);
	if (l->r.bad)
		return truncated(l);
	if (count == 0)
		return refuse(l, EPROTO, "no nodes: the root / is missing");
	for (uint32_t i = 0; i < count; i++) {
		if (l->nnodes == l->cap_owners && grow_owners(l) < 0)
			return refuse(l, ENOMEM, "out of memory for the node accounts");
		r = load_node(l, i);
		if (r)
			return r;
	}
	/* The accounts, one per owner in domain id order: the owners sorted, each run counted. */
	qsort(l->owners, l->nnodes, sizeof(*l->owners), cmp_u32);
	for (uint32_t i = 0; i < l->nnodes; i++)
		l->nacct += i == 0 || l->owners[i] != l->owners[i - 1];
	l->acct = malloc(l->nacct * sizeof(*l->acct));
	if (!l->acct)
		return refuse(l, ENOMEM, "out of memory for the node accounts");
	for (uint32_t i = 0; i < l->nnodes; i++) {
		if (i == 0 || l->owners[i] != l->owners[i - 1])
			l->acct[a++] = (struct xs_acct){ .domid = l->owners[i] };
		l->acct[a - 1].nodes++;
	}
	return 0;
}

/* Whether m is a message the connection itself could have queued. */
static int check_msg(struct load *l, const struct xs_out *m, uint32_t i)
{
	struct xsd_sockmsg h;
	const char *p = m->data + HDR;

	memcpy(&h, m->data, HDR);
	if (h.len != m->size - HDR)
		return refuse(l, EPROTO, "%s: its header says %u bytes of payload, it has %u", l->where,
			      h.len, m->size - HDR);
	/* xs_conn_push writes a message that fits the ring whole; only a longer one goes in pieces. */
	if (m->done && (m->done >= m->size || i > 0 || m->size <= XENSTORE_RING_SIZE))
		return refuse(l, EPROTO, "%s: %u of its %u bytes already on the ring (only the first "
			      "message, if longer than the ring's %u, is ever partly written)", l->where,
			      m->done, m->size, XENSTORE_RING_SIZE);
	if (m->event) {
		uint32_t pl = h.len ? (uint32_t)strnlen(p, h.len) + 1 : 0;

		/* "path\0token\0", ids 0, as xs_conn_event makes it. */
		if (h.type != XS_WATCH_EVENT || h.req_id || h.tx_id || pl == 0 || pl >= h.len ||
		    memchr(p + pl, 0, h.len - pl) != p + h.len - 1)
			return refuse(l, EPROTO, "%s: not a watch event (type %u, ids %u/%u, payload not "
				      "path and token)", l->where, h.type, h.req_id, h.tx_id);
		if (++l->nevents > l->s->q.max_queued_events)
			return refuse(l, EPROTO, "%s: more than %u queued watch events", l->where,
				      l->s->q.max_queued_events);
		return 0;
	}
	if (h.type >= XS_TYPE_COUNT || h.type == XS_WATCH_EVENT)
		return refuse(l, EPROTO, "%s: a reply of type %u, which no request gets", l->where, h.type);
	/* A reply holds the reading of further requests: there is never more than one. */
	if (++l->nreplies > 1)
		return refuse(l, EPROTO, "%s: a second queued reply (the store queues one at a time)",
			      l->where);
	return 0;
}

static int load_out(struct load *l)
{
	uint32_t n = saveread_u32(&l->r);
	int r;

	if (l->r.bad)
		return truncated(l);
	for (uint32_t i = 0; i < n; i++) {
		struct xs_out *m;
		uint32_t done, size;
		uint8_t event;

		snprintf(l->where, sizeof(l->where), "queued message %u", i);
		event = saveread_u8(&l->r);
		done = saveread_u32(&l->r);
		size = saveread_u32(&l->r);
		if (l->r.bad)
			return truncated(l);
		if (event > 1)
			return refuse(l, EPROTO, "%s: event flag %u (0 or 1)", l->where, event);
		if (size < HDR || size > HDR + XENSTORE_PAYLOAD_MAX)
			return refuse(l, EPROTO, "%s: %u bytes (a header of %u and at most %u of payload)",
				      l->where, size, HDR, XENSTORE_PAYLOAD_MAX);
		if (size > saveread_left(&l->r))
			return truncated(l);
		m = malloc(sizeof(*m) + size);
		if (!m)
			return refuse(l, ENOMEM, "%s: out of memory", l->where);
		m->next = NULL;
		m->event = event;
		m->size = size;
		m->done = done;
		saveread_get(&l->r, m->data, size);
		*l->out_tail = m;
		l->out_tail = &m->next;
		r = check_msg(l, m, i);
		if (r)
			return r;
	}
	if (l->dead && n)
		return refuse(l, EPROTO, "the connection is stopped but has %u queued messages", n);
	return 0;
}

static int load_watches(struct load *l)
{
	struct xs_op guest = { .s = l->s, .c = l->c, .domid = l->c->domid };
	uint32_t n = saveread_u32(&l->r);
	char path[XS_PATH_BUF], canon[XS_PATH_BUF], token[XENSTORE_PAYLOAD_MAX], sh[128];

	snprintf(l->where, sizeof(l->where), "the watches");
	if (l->r.bad)
		return truncated(l);
	for (uint32_t i = 0; i < n; i++) {
		struct xs_watch *w;
		uint8_t rel;
		int r;

		snprintf(l->where, sizeof(l->where), "watch %u", i);
		if (i >= l->s->q.max_watches)
			return refuse(l, EPROTO, "%u watches, more than the %u a guest may set", n,
				      l->s->q.max_watches);
		r = get_str(l, path, XENSTORE_ABS_PATH_MAX, "path");
		if (r)
			return r;
		snprintf(l->where, sizeof(l->where), "watch %u (%s)", i, shown(path, sh));
		/* The request that set it was "path\0token\0" within XENSTORE_PAYLOAD_MAX. */
		r = get_str(l, token, XENSTORE_PAYLOAD_MAX - 2 - (uint32_t)strlen(path), "token");
		if (r)
			return r;
		rel = saveread_u8(&l->r);
		if (l->r.bad)
			return truncated(l);
		if (xs_canon(&guest, path, true, canon, NULL) || strcmp(canon, path))
			return refuse(l, EPROTO, "%s: not a path domain %u could watch", l->where,
				      l->c->domid);
		if (rel > 1 || (rel && (strncmp(path, l->c->home, l->c->home_len) ||
					path[l->c->home_len] != '/')))
			return refuse(l, EPROTO, "%s: relative flag %u, but relative watches are below "
				      "%s/", l->where, rel, l->c->home);
		for (w = l->watches; w; w = w->next)
			if (!strcmp(w->path, path) && !strcmp(w->token, token))
				return refuse(l, EPROTO, "%s: set twice with token \"%.64s\"", l->where,
					      token);
		w = calloc(1, sizeof(*w));
		if (!w)
			return refuse(l, ENOMEM, "%s: out of memory", l->where);
		*l->watches_tail = w;
		l->watches_tail = &w->next;
		w->c = l->c;
		w->strip = rel ? l->c->home_len + 1 : 0;
		w->path = strdup(path);
		w->token = strdup(token);
		if (!w->path || !w->token)
			return refuse(l, ENOMEM, "%s: out of memory", l->where);
		l->nwatches++;
	}
	return 0;
}

static int load_txns(struct load *l)
{
	uint32_t n = saveread_u32(&l->r);

	snprintf(l->where, sizeof(l->where), "the transactions");
	if (l->r.bad)
		return truncated(l);
	for (uint32_t i = 0; i < n; i++) {
		struct xs_txn *t;
		uint32_t id;

		snprintf(l->where, sizeof(l->where), "transaction %u", i);
		if (i >= l->s->q.max_transactions)
			return refuse(l, EPROTO, "%u open transactions, more than the %u a guest may have",
				      n, l->s->q.max_transactions);
		id = saveread_u32(&l->r);
		if (l->r.bad)
			return truncated(l);
		for (t = l->txns; t; t = t->next)
			if (t->id == id)
				break;
		if (id == 0 || t)
			return refuse(l, EPROTO, "%s: id %u (ids are non-zero and distinct)", l->where, id);
		t = xs_txn_new(l->s);
		if (!t)
			return refuse(l, ENOMEM, "%s: out of memory", l->where);
		t->id = id;
		/* Its private tree was not saved: the commit must not pretend it was kept. */
		t->failed = true;
		*l->txns_tail = t;
		l->txns_tail = &t->next;
		l->ntxns++;
	}
	snprintf(l->where, sizeof(l->where), "the connection's next transaction id");
	l->next_txid = saveread_u32(&l->r);
	return l->r.bad ? truncated(l) : 0;
}

static int load_conn(struct load *l)
{
	struct xs_conn *c = l->c;
	uint32_t domid;
	uint8_t has, dead;
	int r;

	snprintf(l->where, sizeof(l->where), "the connection");
	has = saveread_u8(&l->r);
	if (l->r.bad)
		return truncated(l);
	if (has > 1)
		return refuse(l, EPROTO, "connection flag %u (0 or 1)", has);
	if (!has)
		return 0;
	domid = saveread_u32(&l->r);
	if (l->r.bad)
		return truncated(l);
	if (!c)
		return refuse(l, EINVAL, "the data hold domain %u's connection, but there is none to load "
			      "it into", domid);
	if (domid != c->domid)
		return refuse(l, EINVAL, "the data hold domain %u's connection, not domain %u's", domid,
			      c->domid);
	l->conn = true;
	dead = saveread_u8(&l->r);
	l->req_cons = saveread_u32(&l->r);
	l->rsp_prod = saveread_u32(&l->r);
	l->in_used = saveread_u32(&l->r);
	if (l->r.bad)
		return truncated(l);
	if (dead > 1)
		return refuse(l, EPROTO, "the connection's stopped flag is %u (0 or 1)", dead);
	l->dead = dead;
	snprintf(l->where, sizeof(l->where), "the partial request");
	if (l->in_used > HDR + XENSTORE_PAYLOAD_MAX)
		return refuse(l, EPROTO, "%s: %u bytes, more than a request's %u", l->where, l->in_used,
			      HDR + XENSTORE_PAYLOAD_MAX);
	if (saveread_get(&l->r, l->in, l->in_used))
		return truncated(l);
	if (l->dead && l->in_used)
		return refuse(l, EPROTO, "%s: %u bytes on a stopped connection", l->where, l->in_used);
	if (l->in_used >= HDR) {
		struct xsd_sockmsg h;

		memcpy(&h, l->in, HDR);
		/* The store stops a connection on such a header, and answers a whole request at once. */
		if (h.len > XENSTORE_PAYLOAD_MAX)
			return refuse(l, EPROTO, "%s: its header says %u bytes, more than %u", l->where,
				      h.len, XENSTORE_PAYLOAD_MAX);
		if (l->in_used >= HDR + h.len)
			return refuse(l, EPROTO, "%s: %u bytes make it whole, yet it was not answered",
				      l->where, l->in_used);
	}
	r = load_out(l);
	if (!r)
		r = load_watches(l);
	if (!r)
		r = load_txns(l);
	return r;
}

static void load_free(struct load *l)
{
	xs_node_free(l->root);
	free(l->owners);
	free(l->acct);
	while (l->out) {
		struct xs_out *m = l->out;

		l->out = m->next;
		free(m);
	}
	/* Not xs_watch_free: these were never counted on the connection. */
	while (l->watches) {
		struct xs_watch *w = l->watches;

		l->watches = w->next;
		free(w->path);
		free(w->token);
		free(w);
	}
	while (l->txns) {
		struct xs_txn *t = l->txns;

		l->txns = t->next;
		xs_txn_free(t);
	}
}

/* Everything passed: the swap, which cannot fail. */
static void commit(struct load *l)
{
	struct xs_store *s = l->s;
	struct xs_conn *c = l->c;

	xs_node_free(s->root);
	s->root = l->root;
	l->root = NULL;
	s->gen = l->gen;
	free(s->acct);
	s->acct = l->acct;
	s->nacct = s->cap_acct = l->nacct;
	l->acct = NULL;
	s->st.nodes = l->nnodes;
	/* Whatever another connection's transaction read is gone. */
	for (struct xs_conn *o = s->conns; o; o = o->next)
		for (struct xs_txn *t = o->txns; o != c && t; t = t->next)
			t->failed = true;
	if (!l->conn)
		return;
	c->dead = l->dead;
	c->req_cons = l->req_cons;
	c->rsp_prod = l->rsp_prod;
	c->in_used = l->in_used;
	memcpy(c->in.raw, l->in, l->in_used);
	c->out = l->out;
	c->out_tail = l->out ? l->out_tail : &c->out;
	l->out = NULL;
	c->nreplies = l->nreplies;
	c->nevents = l->nevents;
	/* After the VMM's: the guest's keep their own order, which is all a guest sees. */
	struct xs_watch **tail = &s->watches;

	while (*tail)
		tail = &(*tail)->next;
	*tail = l->watches;
	l->watches = NULL;
	c->nwatches = l->nwatches;
	c->txns = l->txns;
	l->txns = NULL;
	c->ntxns = l->ntxns;
	c->next_txid = l->next_txid;
}

int xs_restore(struct xs_store *s, struct xs_conn *c, const void *data, size_t len, char *msg,
	       size_t msglen)
{
	struct load *l = calloc(1, sizeof(*l));
	int r;

	if (msglen)
		msg[0] = '\0';
	if (!l) {
		if (msglen)
			snprintf(msg, msglen, "xenstore: out of memory to load the store");
		return -ENOMEM;
	}
	l->s = s;
	l->c = c;
	l->msg = msg;
	l->msglen = msglen;
	l->out_tail = &l->out;
	l->watches_tail = &l->watches;
	l->txns_tail = &l->txns;
	saveread_init(&l->r, data, len);

	xs_lock(s);
	if (c && (c->s != s || c->nwatches || c->ntxns || c->out || c->in_used || c->dead)) {
		r = refuse(l, EINVAL, "domain %u's connection is not a fresh one of this store (it has "
			   "watches, transactions, messages or a partial request): load into a new one",
			   c->domid);
		goto out;
	}
	r = load_tree(l);
	if (!r)
		r = load_conn(l);
	if (!r && saveread_done(&l->r))
		r = refuse(l, EPROTO, "%zu bytes after the end of the saved store", len - l->r.off);
	if (!r)
		commit(l);
out:
	xs_unlock(s);
	load_free(l);
	free(l);
	return r;
}
