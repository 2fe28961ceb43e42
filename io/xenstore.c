// SPDX-License-Identifier: MIT
/*
 * The store's tree and its operations, with Xen xenstored's semantics
 * (tools/xenstored/core.c, watch.c, domain.c): path checks, permissions,
 * node quotas, watches, and the VMM's own calls (as domain 0).  The wire
 * protocol is in xenstore_conn.c, transactions in xenstore_txn.c, the
 * dumps in xenstore_dump.c.
 *
 * The tree is walked without recursion where a guest decides the depth
 * (a path of XENSTORE_REL_PATH_MAX bytes can be a thousand levels deep).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenstore_priv.h"

/*
 * Xen xenstored's defaults (tools/xenstored/domain.c, hard_quotas[]), and
 * the errno it answers when one is exceeded:
 *  - nodes:        ACC_NODES 1000 "Nodes per domain"; ENOSPC (core.c, create_node)
 *  - value:        ACC_NODESZ 2048 "Max. size of a node"; ENOSPC (core.c,
 *                  write_node_raw).  Xen counts the whole record (a 20-byte
 *                  header, 8 bytes per permission, value, children's names);
 *                  Xenith counts the value only.
 *  - watches:      ACC_WATCH 128 "Watches per domain"; E2BIG (watch.c, do_watch)
 *  - transactions: ACC_TRANS 10 "Active transactions per domain"; ENOSPC
 *                  (transaction.c, do_transaction_start)
 *  - permissions:  ACC_NPERM 5 "Max. number of permissions per node"; ENOSPC
 *                  (core.c, do_set_perms)
 *  - transaction nodes: ACC_TRANSNODES 1024 "Max. number of accessed nodes per
 *                  transaction"; ENOSPC (transaction.c, access_node)
 *  - queued watch events: Xen has no count; it drops an event when the
 *                  domain's xenstored memory (ACC_MEM, 2.5 MB) is used up
 *                  (core.c, send_event).  512 events of at most 4112 bytes
 *                  are about 2 MB, Xen's soft memory quota.
 * Xen tests "count > quota" before adding a watch or a transaction (so a
 * domain gets 129 watches and 11 transactions); Xenith allows exactly the
 * quota.  Path lengths are Xen's too (canonicalize, ACC_PATHLEN): see xs_canon.
 */
const struct xs_quota xs_quota_default = {
	.max_nodes = 1000,
	.max_value = 2048,
	.max_watches = 128,
	.max_transactions = 10,
	.max_queued_events = 512,
	.max_perms = 5,
	.max_tx_nodes = 1024,
};

void xs_lock(struct xs_store *s)
{
	pthread_mutex_lock(&s->lock);
}

void xs_unlock(struct xs_store *s)
{
	struct xs_callback *cb = s->cbs;

	s->cbs = NULL;
	s->cbs_tail = &s->cbs;
	pthread_mutex_unlock(&s->lock);
	/* The callbacks may call back into the store: the lock is dropped. */
	while (cb) {
		struct xs_callback *next = cb->next;

		cb->fn(cb->opaque, cb->path, cb->token);
		free(cb);
		cb = next;
	}
}

/* ---------------------------------------------------------------- nodes */

struct xs_node *xs_node_new(const char *name, size_t namelen)
{
	struct xs_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->name = strndup(name, namelen);
	if (!n->name) {
		free(n);
		return NULL;
	}
	return n;
}

static void node_free_one(struct xs_node *n)
{
	free(n->name);
	free(n->kids);
	free(n->val);
	free(n->perms);
	free(n);
}

/* Frees n and its subtree (not unlinked from a parent), without recursion. */
void xs_node_free(struct xs_node *n)
{
	struct xs_node *top = n;

	if (!n)
		return;
	for (;;) {
		while (n->nkids)
			n = n->kids[n->nkids - 1];
		struct xs_node *parent = n->parent;
		bool last = n == top;

		if (!last)
			parent->nkids--;
		node_free_one(n);
		if (last)
			return;
		n = parent;
	}
}

struct xs_node *xs_kid_find(const struct xs_node *n, const char *name, size_t len)
{
	for (uint32_t i = 0; i < n->nkids; i++) {
		struct xs_node *k = n->kids[i];

		if (strncmp(k->name, name, len) == 0 && k->name[len] == '\0')
			return k;
	}
	return NULL;
}

int xs_kid_add(struct xs_node *parent, struct xs_node *kid)
{
	if (parent->nkids == parent->cap) {
		uint32_t cap = parent->cap ? parent->cap * 2 : 4;
		struct xs_node **k = realloc(parent->kids, cap * sizeof(*k));

		if (!k)
			return -ENOMEM;
		parent->kids = k;
		parent->cap = cap;
	}
	parent->kids[parent->nkids++] = kid;
	kid->parent = parent;
	return 0;
}

void xs_kid_unlink(struct xs_node *kid)
{
	struct xs_node *p = kid->parent;

	for (uint32_t i = 0; i < p->nkids; i++) {
		if (p->kids[i] == kid) {
			memmove(&p->kids[i], &p->kids[i + 1], (p->nkids - i - 1) * sizeof(p->kids[0]));
			p->nkids--;
			break;
		}
	}
	kid->parent = NULL;
}

/* The node's absolute path; its length. */
size_t xs_node_path(const struct xs_node *n, char out[XS_PATH_BUF])
{
	size_t len = 0, pos = XS_PATH_BUF - 1;

	if (!n->parent) {
		strcpy(out, "/");
		return 1;
	}
	/* Built from the end of out backwards, then moved to the front. */
	out[pos] = '\0';
	for (const struct xs_node *i = n; i->parent; i = i->parent) {
		size_t l = strlen(i->name);

		if (l + 1 > pos)
			break; /* cannot happen: paths are checked when nodes are made */
		pos -= l;
		memcpy(out + pos, i->name, l);
		out[--pos] = '/';
		len += l + 1;
	}
	memmove(out, out + pos, len + 1);
	return len;
}

int xs_set_val(struct xs_node *n, const void *val, uint32_t len)
{
	char *v = malloc(len ? len : 1);

	if (!v)
		return -ENOMEM;
	if (len)
		memcpy(v, val, len);
	free(n->val);
	n->val = v;
	n->len = len;
	return 0;
}

int xs_set_perms_raw(struct xs_node *n, const struct xs_perm *p, uint32_t count)
{
	struct xs_perm *c = malloc(count * sizeof(*c));

	if (!c)
		return -ENOMEM;
	memcpy(c, p, count * sizeof(*c));
	free(n->perms);
	n->perms = c;
	n->nperms = count;
	return 0;
}

struct xs_node *xs_store_lookup(struct xs_store *s, const char *path)
{
	struct xs_node *n = s->root;
	const char *p = path;

	if (p[0] != '/')
		return NULL;
	p++;
	while (*p && n) {
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		n = xs_kid_find(n, p, len);
		p += len;
		if (*p == '/')
			p++;
	}
	return n;
}

void xs_store_changed(struct xs_store *s, struct xs_node *n)
{
	n->gen = ++s->gen;
}

/* ------------------------------------------------------------- accounts */

static struct xs_acct *acct_find(struct xs_store *s, uint32_t domid, bool add)
{
	for (unsigned i = 0; i < s->nacct; i++)
		if (s->acct[i].domid == domid)
			return &s->acct[i];
	if (!add)
		return NULL;
	if (s->nacct == s->cap_acct) {
		unsigned cap = s->cap_acct ? s->cap_acct * 2 : 8;
		struct xs_acct *a = realloc(s->acct, cap * sizeof(*a));

		if (!a)
			return NULL;
		s->acct = a;
		s->cap_acct = cap;
	}
	s->acct[s->nacct] = (struct xs_acct){ .domid = domid };
	return &s->acct[s->nacct++];
}

uint32_t xs_acct_get(struct xs_store *s, uint32_t domid)
{
	struct xs_acct *a = acct_find(s, domid, false);

	return a ? a->nodes : 0;
}

int xs_acct_add(struct xs_store *s, uint32_t domid, int delta)
{
	struct xs_acct *a = acct_find(s, domid, delta > 0);

	if (!a)
		return delta > 0 ? -ENOMEM : 0;
	if (delta < 0 && a->nodes < (uint32_t)-delta)
		a->nodes = 0;
	else
		a->nodes += delta;
	return 0;
}

/* Counts a node gained or lost by owner in o's view (a transaction keeps its own delta). */
static void acct(struct xs_op *o, uint32_t owner, int delta)
{
	if (o->t) {
		if (owner == o->domid)
			o->t->owned_delta += delta;
		return;
	}
	xs_acct_add(o->s, owner, delta);
}

static uint32_t owned(struct xs_op *o)
{
	int64_t n = xs_acct_get(o->s, o->domid);

	if (o->t)
		n += o->t->owned_delta;
	return n < 0 ? 0 : (uint32_t)n;
}

/* ---------------------------------------------------------------- paths */

static bool valid_chars(const char *p)
{
	static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-/_@";

	return p[strspn(p, ok)] == '\0';
}

/* Bytes of a "/local/domain/N/" prefix (N of 1 to 5 digits), as Xen's canonicalize counts them. */
static size_t local_prefix(const char *p)
{
	static const char pre[] = "/local/domain/";
	size_t i = sizeof(pre) - 1, d = 0;

	if (strncmp(p, pre, i) != 0)
		return 0;
	while (p[i + d] >= '0' && p[i + d] <= '9' && d < 5)
		d++;
	if (d == 0 || p[i + d] != '/')
		return 0;
	return i + d + 1;
}

/*
 * Xen's canonicalize (core.c): characters from [A-Za-z0-9-/_@], '@' first
 * only for special paths, a relative path under the home, no "//", no
 * trailing '/' except the root; and a guest's path, less any
 * "/local/domain/N/" prefix, at most ACC_PATHLEN (XENSTORE_REL_PATH_MAX)
 * long: EINVAL for any of these.  Absolute paths are also kept within
 * XENSTORE_ABS_PATH_MAX for everyone.
 */
int xs_canon(const struct xs_op *o, const char *in, bool special, char out[XS_PATH_BUF], bool *rel)
{
	size_t n = strnlen(in, XS_PATH_BUF);

	if (rel)
		*rel = false;
	if (n >= XS_PATH_BUF || !valid_chars(in) || (in[0] == '@' && !special))
		return -EINVAL;
	if (in[0] == '/' || in[0] == '@') {
		memcpy(out, in, n + 1);
	} else {
		if (!o->c)
			return -EINVAL; /* the VMM has no home */
		if (o->c->home_len + 1 + n >= XS_PATH_BUF)
			return -EINVAL;
		memcpy(out, o->c->home, o->c->home_len);
		out[o->c->home_len] = '/';
		memcpy(out + o->c->home_len + 1, in, n + 1);
		n += o->c->home_len + 1;
		if (rel)
			*rel = true;
	}
	if ((n > 1 && out[n - 1] == '/') || strstr(out, "//"))
		return -EINVAL;
	if (o->domid != XENITH_XS_DOM0 && n - local_prefix(out) > XENSTORE_REL_PATH_MAX)
		return -EINVAL;
	return 0;
}

/* ---------------------------------------------------------- permissions */

/* Xen's perm_for_conn: the owner and domain 0 get everything, else the first entry naming the domain, else the default. */
static unsigned perm_for(uint32_t domid, const struct xs_perm *p, uint32_t np)
{
	if (domid == XENITH_XS_DOM0 || p[0].id == domid)
		return XS_PERM_READ | XS_PERM_WRITE | XS_PERM_OWNER;
	for (uint32_t i = 1; i < np; i++)
		if (p[i].id == domid)
			return p[i].acc & (XS_PERM_READ | XS_PERM_WRITE);
	return p[0].acc & (XS_PERM_READ | XS_PERM_WRITE);
}

unsigned xs_node_perm(uint32_t domid, const struct xs_node *n)
{
	return perm_for(domid, n->perms, n->nperms);
}

int xs_parse_perm(const char *str, struct xs_perm *p)
{
	unsigned long id = 0;
	const char *d = str + 1;

	switch (str[0]) {
	case 'n': p->acc = XS_PERM_NONE; break;
	case 'r': p->acc = XS_PERM_READ; break;
	case 'w': p->acc = XS_PERM_WRITE; break;
	case 'b': p->acc = XS_PERM_READ | XS_PERM_WRITE; break;
	default: return -EINVAL;
	}
	if (!*d)
		return -EINVAL;
	for (; *d; d++) {
		if (*d < '0' || *d > '9')
			return -EINVAL;
		id = id * 10 + (unsigned long)(*d - '0');
		if (id > UINT16_MAX)
			return -EINVAL; /* domain ids are 16-bit in Xen */
	}
	p->id = (uint32_t)id;
	return 0;
}

int xs_format_perm(const struct xs_perm *p, char *buf, size_t size)
{
	static const char letter[4] = { 'n', 'r', 'w', 'b' };

	return snprintf(buf, size, "%c%u", letter[p->acc & 3u], p->id);
}

/* ---------------------------------------------------------- tree access */

/*
 * Walks path in o's view (a transaction's tree, filling stubs on the way,
 * or the store).  *found: the node or NULL; *deepest: the deepest node
 * that exists on the way.  Returns 0 or a transaction's -ENOSPC/-ENOMEM.
 */
static int walk(struct xs_op *o, const char *path, struct xs_node **found, struct xs_node **deepest)
{
	struct xs_node *n = o->t ? o->t->root : o->s->root;
	const char *p = path + 1;
	int r;

	*found = NULL;
	if (o->t && (r = xs_txn_fill(o, n)))
		return r;
	while (*p) {
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		struct xs_node *k = xs_kid_find(n, p, len);

		if (!k) {
			*deepest = n;
			return 0;
		}
		if (o->t && (r = xs_txn_fill(o, k)))
			return r;
		n = k;
		p += len;
		if (*p == '/')
			p++;
	}
	*found = n;
	*deepest = n;
	return 0;
}

/*
 * The node at path if o may access it with need; else, as Xen's
 * errno_from_parents, ENOENT or EACCES, EACCES whenever the nearest
 * existing ancestor denies need (so that the errno tells a guest nothing
 * about nodes it may not see).
 */
static int get_node(struct xs_op *o, const char *path, unsigned need, struct xs_node **out,
		    struct xs_node **deepest)
{
	struct xs_node *n, *d, *anc;
	int r;

	*out = NULL;
	if (path[0] == '@')
		return -ENOENT; /* special paths are for watches only */
	r = walk(o, path, &n, &d);
	if (r)
		return r;
	if (deepest)
		*deepest = d;
	/* In a transaction: what it looked at must not change before it commits. */
	if (o->t)
		(n ? n : d)->used = true;
	if (n && (xs_node_perm(o->domid, n) & need) == need) {
		*out = n;
		return 0;
	}
	anc = n ? (n->parent ? n->parent : n) : d;
	if (!(xs_node_perm(o->domid, anc) & need))
		return -EACCES;
	return n ? -EACCES : -ENOENT;
}

static int refuse(struct xs_op *o, int err)
{
	o->s->st.quota_refusals++;
	return err;
}

/* Removes a subtree from a transaction's tree: no watches (they fire at commit). */
static int txn_remove(struct xs_op *o, struct xs_node *n)
{
	struct xs_node *top = n;
	int r = 0;

	top->parent->kids_changed = true;
	top->parent->used = true;
	for (;;) {
		while (n->nkids)
			n = n->kids[n->nkids - 1];
		struct xs_node *parent = n->parent;
		bool last = n == top;

		if (!r && n->used && !n->created)
			r = xs_txn_note_removed(o, n);
		if (n->filled)
			acct(o, n->perms[0].id, -1);
		xs_kid_unlink(n);
		node_free_one(n);
		if (last)
			return r;
		n = parent;
	}
}

void xs_store_remove(struct xs_op *o, struct xs_node *n, bool fire_root)
{
	struct xs_store *s = o->s;
	struct xs_node *top = n;
	char path[XS_PATH_BUF];

	for (;;) {
		while (n->nkids)
			n = n->kids[n->nkids - 1];
		struct xs_node *parent = n->parent;
		bool last = n == top;

		/* Xen fires while the node's permissions can still be seen: before it goes. */
		xs_node_path(n, path);
		if (!last || fire_root)
			xs_fire(o, path, !last, n);
		xs_acct_add(s, n->perms[0].id, -1);
		xs_kid_unlink(n);
		xs_store_changed(s, parent);
		node_free_one(n);
		s->st.nodes--;
		if (last)
			return;
		n = parent;
	}
}

struct xs_node *xs_store_create(struct xs_store *s, struct xs_node *parent, const char *name,
				const char *val, uint32_t len, const struct xs_perm *p, uint32_t np)
{
	struct xs_node *n = xs_node_new(name, strlen(name));

	if (!n)
		return NULL;
	if (xs_set_val(n, val, len) || xs_set_perms_raw(n, p, np) ||
	    xs_acct_add(s, p[0].id, 1)) {
		node_free_one(n);
		return NULL;
	}
	if (xs_kid_add(parent, n)) {
		xs_acct_add(s, p[0].id, -1);
		node_free_one(n);
		return NULL;
	}
	n->filled = true;
	xs_store_changed(s, n);
	xs_store_changed(s, parent);
	s->st.nodes++;
	return n;
}

/*
 * Creates path and its missing parents below deepest (Xen's
 * construct_node): each inherits its parent's permissions, and a node a
 * guest creates is the guest's.  ENOSPC past the guest's node quota.
 */
static int create(struct xs_op *o, const char *path, struct xs_node *deepest, const void *val,
		  uint32_t len, struct xs_node **out)
{
	char dpath[XS_PATH_BUF];
	size_t dl = xs_node_path(deepest, dpath);
	const char *rest = path + (dl == 1 ? 1 : dl + 1);
	struct xs_node *parent = deepest, *first = NULL;
	unsigned k = 1;
	int r;

	for (const char *c = rest; *c; c++)
		k += *c == '/';
	if (o->domid != XENITH_XS_DOM0 && owned(o) + k > o->s->q.max_nodes)
		return refuse(o, -ENOSPC);
	if (o->t && (r = xs_txn_charge(o, k)))
		return r;
	while (*rest) {
		const char *e = strchr(rest, '/');
		size_t l = e ? (size_t)(e - rest) : strlen(rest);
		struct xs_node *n = xs_node_new(rest, l);

		if (!n || xs_set_perms_raw(n, parent->perms, parent->nperms) ||
		    xs_set_val(n, e ? "" : val, e ? 0 : len)) {
			if (n)
				node_free_one(n);
			goto nomem;
		}
		if (o->domid != XENITH_XS_DOM0)
			n->perms[0].id = o->domid;
		n->filled = true;
		n->changed = true;
		n->created = true;
		if (!o->t && xs_acct_add(o->s, n->perms[0].id, 1)) {
			node_free_one(n);
			goto nomem;
		}
		if (xs_kid_add(parent, n)) {
			if (!o->t)
				xs_acct_add(o->s, n->perms[0].id, -1);
			node_free_one(n);
			goto nomem;
		}
		/* Linked and counted: from here the undo below takes it. */
		if (!first)
			first = n;
		if (o->t)
			acct(o, n->perms[0].id, 1);
		else
			o->s->st.nodes++;
		parent = n;
		rest += l;
		if (*rest == '/')
			rest++;
	}
	if (!o->t) {
		xs_store_changed(o->s, deepest);
		for (struct xs_node *n = parent; n != deepest; n = n->parent)
			xs_store_changed(o->s, n);
	}
	*out = parent;
	return 0;

nomem:
	if (first) {
		if (o->t) {
			txn_remove(o, first); /* created nodes only: nothing to note */
		} else {
			/* Undo without watches: nothing fired yet. */
			struct xs_node *n = first;

			for (;;) {
				while (n->nkids)
					n = n->kids[n->nkids - 1];
				struct xs_node *p = n->parent;
				bool last = n == first;

				xs_acct_add(o->s, n->perms[0].id, -1);
				xs_kid_unlink(n);
				node_free_one(n);
				o->s->st.nodes--;
				if (last)
					break;
				n = p;
			}
		}
	}
	return -ENOMEM;
}

/* ----------------------------------------------------------- operations */

int xs_op_read(struct xs_op *o, const char *path, struct xs_node **n)
{
	return get_node(o, path, XS_PERM_READ, n, NULL);
}

int xs_op_write(struct xs_op *o, const char *path, const void *val, uint32_t len)
{
	struct xs_node *n, *d;
	int r = get_node(o, path, XS_PERM_WRITE, &n, &d);

	if (r && r != -ENOENT)
		return r;
	if (o->domid != XENITH_XS_DOM0 && len > o->s->q.max_value)
		return refuse(o, -ENOSPC);
	if (r == -ENOENT) {
		r = create(o, path, d, val, len, &n);
		if (r)
			return r;
	} else {
		r = xs_set_val(n, val, len);
		if (r)
			return r;
		n->changed = true;
		if (!o->t)
			xs_store_changed(o->s, n);
	}
	xs_fire(o, path, false, n);
	return 0;
}

int xs_op_mkdir(struct xs_op *o, const char *path)
{
	struct xs_node *n, *d;
	int r = get_node(o, path, XS_PERM_WRITE, &n, &d);

	if (r == 0)
		return 0; /* it exists: fine, and no watch fires */
	if (r != -ENOENT)
		return r;
	r = create(o, path, d, "", 0, &n);
	if (r)
		return r;
	xs_fire(o, path, false, n);
	return 0;
}

int xs_op_rm(struct xs_op *o, const char *path)
{
	struct xs_node *n, *d;
	int r = get_node(o, path, XS_PERM_WRITE, &n, &d);

	if (r == -ENOENT) {
		/* Xen: removing what is not there is fine when its parent is. */
		char dpath[XS_PATH_BUF];
		size_t dl = xs_node_path(d, dpath);
		const char *rest = path + (dl == 1 ? 1 : dl + 1);

		return strchr(rest, '/') ? -ENOENT : 0;
	}
	if (r)
		return r;
	if (!n->parent)
		return -EINVAL; /* the root stays */
	if (o->t) {
		r = xs_txn_record(o, path, false);
		if (r)
			return r;
		return txn_remove(o, n);
	}
	xs_store_remove(o, n, true);
	return 0;
}

int xs_op_set_perms(struct xs_op *o, const char *path, const struct xs_perm *p, uint32_t np)
{
	struct xs_perm old[1];
	struct xs_node *n;
	int r;

	if (np == 0)
		return -EINVAL; /* the caller checked a guest's count against max_perms */
	r = get_node(o, path, XS_PERM_WRITE | XS_PERM_OWNER, &n, NULL);
	if (r)
		return r;
	/* Unprivileged domains may not give their nodes away (Xen: EPERM). */
	if (o->domid != XENITH_XS_DOM0 && p[0].id != n->perms[0].id)
		return -EPERM;
	old[0] = n->perms[0];
	r = xs_set_perms_raw(n, p, np);
	if (r)
		return r;
	if (old[0].id != p[0].id) {
		acct(o, old[0].id, -1);
		acct(o, p[0].id, 1);
	}
	n->changed = true;
	if (!o->t)
		xs_store_changed(o->s, n);
	xs_fire(o, path, false, n);
	return 0;
}

/* ---------------------------------------------------------------- store */

struct xs_store *xs_store_new(const struct xs_quota *q)
{
	static const struct xs_perm root_perm = { .id = XENITH_XS_DOM0, .acc = XS_PERM_NONE };
	struct xs_store *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->q = q ? *q : xs_quota_default;
	s->cbs_tail = &s->cbs;
	s->root = xs_node_new("", 0);
	if (!s->root || xs_set_val(s->root, "", 0) || xs_set_perms_raw(s->root, &root_perm, 1) ||
	    xs_acct_add(s, XENITH_XS_DOM0, 1))
		goto fail;
	s->root->filled = true;
	s->st.nodes = 1;
	if (pthread_mutex_init(&s->lock, NULL))
		goto fail;
	return s;

fail:
	xs_node_free(s->root);
	free(s->acct);
	free(s);
	return NULL;
}

void xs_store_free(struct xs_store *s)
{
	if (!s)
		return;
	while (s->conns)
		xs_conn_free(s->conns);
	while (s->watches) {
		struct xs_watch *w = s->watches;

		s->watches = w->next;
		xs_watch_free(w);
	}
	while (s->cbs) {
		struct xs_callback *cb = s->cbs;

		s->cbs = cb->next;
		free(cb);
	}
	xs_node_free(s->root);
	free(s->acct);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void xs_get_stats(struct xs_store *s, struct xs_stats *st)
{
	xs_lock(s);
	*st = s->st;
	xs_unlock(s);
}
