// SPDX-License-Identifier: MIT
/*
 * Transactions.  A transaction has a private tree that starts as one stub
 * for the root; walking into a stub fills it from the store (value,
 * permissions, the store node's generation, and a stub per child), so the
 * tree holds only what the transaction reached, bounded by max_tx_nodes
 * (Xen's ACC_TRANSNODES, ENOSPC).  Its operations run on that tree with
 * the store's own code (xenstore.c), which marks what they look at
 * (used), the child lists they change and the nodes they create; its
 * watch events are remembered.
 *
 * Committing, as Xen's transaction.c does it node by node: EAGAIN if any
 * node the transaction used has changed in the store since it was filled
 * (its generation moved, or it is gone; a node's generation moves when
 * its value, permissions or list of children change), including nodes it
 * used and then removed.  Otherwise the private tree is applied (values
 * and permissions written, children it removed removed, nodes it created
 * created, nothing else touched) and the events fire.  Nodes it only
 * walked through may change meanwhile without a conflict.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xenstore_priv.h"

struct xs_txn *xs_txn_new(struct xs_store *s)
{
	struct xs_txn *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->root = xs_node_new("", 0);
	if (!t->root) {
		free(t);
		return NULL;
	}
	(void)s;
	t->nodes = 1;
	t->events_tail = &t->events;
	return t;
}

void xs_txn_free(struct xs_txn *t)
{
	if (!t)
		return;
	xs_node_free(t->root);
	while (t->checks) {
		struct xs_txn_check *k = t->checks;

		t->checks = k->next;
		free(k);
	}
	while (t->events) {
		struct xs_txn_event *e = t->events;

		t->events = e->next;
		free(e);
	}
	free(t);
}

int xs_txn_charge(struct xs_op *o, unsigned n)
{
	struct xs_txn *t = o->t;

	if (o->domid != XENITH_XS_DOM0 && t->nodes + n > o->s->q.max_tx_nodes) {
		o->s->st.quota_refusals++;
		return -ENOSPC;
	}
	t->nodes += n;
	return 0;
}

int xs_txn_fill(struct xs_op *o, struct xs_node *n)
{
	char path[XS_PATH_BUF];
	struct xs_node *m;
	int r;

	if (n->filled)
		return 0;
	xs_node_path(n, path);
	m = xs_store_lookup(o->s, path);
	if (!m) {
		/* Gone from the store since the transaction saw its parent: it cannot commit. */
		const struct xs_node *p = n->parent;

		o->t->failed = true;
		r = xs_set_val(n, "", 0);
		if (!r)
			r = xs_set_perms_raw(n, p->perms, p->nperms);
		if (r)
			return r;
		n->filled = true;
		return 0;
	}
	r = xs_txn_charge(o, m->nkids);
	if (r)
		return r;
	n->gen = m->gen;
	r = xs_set_val(n, m->val, m->len);
	if (!r)
		r = xs_set_perms_raw(n, m->perms, m->nperms);
	for (uint32_t i = 0; i < m->nkids && !r; i++) {
		struct xs_node *k = xs_node_new(m->kids[i]->name, strlen(m->kids[i]->name));

		if (!k || xs_kid_add(n, k)) {
			xs_node_free(k);
			r = -ENOMEM;
		}
	}
	if (r) {
		/* Back to a stub. */
		while (n->nkids)
			xs_node_free(n->kids[--n->nkids]);
		return r;
	}
	n->filled = true;
	return 0;
}

int xs_txn_record(struct xs_op *o, const char *path, bool exact)
{
	struct xs_txn *t = o->t;
	size_t l = strlen(path) + 1;
	struct xs_txn_event *e;

	for (e = t->events; e; e = e->next)
		if (e->exact == exact && !strcmp(e->path, path))
			return 0;
	/* Each event names a node the transaction reached: bounded like its tree. */
	e = t->nevents < 2 * o->s->q.max_tx_nodes ? malloc(sizeof(*e) + l) : NULL;
	if (!e) {
		t->failed = true; /* better a retry than a lost watch event */
		return -ENOMEM;
	}
	e->next = NULL;
	e->exact = exact;
	memcpy(e->path, path, l);
	*t->events_tail = e;
	t->events_tail = &e->next;
	t->nevents++;
	return 0;
}

int xs_txn_note_removed(struct xs_op *o, struct xs_node *n)
{
	char path[XS_PATH_BUF];
	size_t l = xs_node_path(n, path) + 1;
	struct xs_txn_check *k = malloc(sizeof(*k) + l);

	if (!k) {
		o->t->failed = true;
		return -ENOMEM;
	}
	k->gen = n->gen;
	memcpy(k->path, path, l);
	k->next = o->t->checks;
	o->t->checks = k;
	return 0;
}

/* Whether the store still has every node the transaction used, as it was (mn: ov's store node or NULL). */
static bool unchanged(const struct xs_node *ov, const struct xs_node *mn)
{
	if (!ov->filled || ov->created)
		return true; /* never reached, or new: its parent's children are checked */
	if (!mn || (ov->used && mn->gen != ov->gen))
		return false;
	for (uint32_t i = 0; i < ov->nkids; i++) {
		const struct xs_node *ok = ov->kids[i];

		if (!unchanged(ok, xs_kid_find(mn, ok->name, strlen(ok->name))))
			return false;
	}
	return true;
}

/* Makes the store's node mn what the transaction's node ov says, below it too. */
static int sync(struct xs_op *m, const struct xs_node *ov, struct xs_node *mn)
{
	int r;

	if (!ov->filled)
		return 0; /* never reached: unchanged */
	if (ov->changed) {
		uint32_t old_owner = mn->perms[0].id;

		r = xs_set_val(mn, ov->val, ov->len);
		if (!r)
			r = xs_set_perms_raw(mn, ov->perms, ov->nperms);
		if (r)
			return r;
		if (old_owner != mn->perms[0].id) {
			xs_acct_add(m->s, old_owner, -1);
			xs_acct_add(m->s, mn->perms[0].id, 1);
		}
		xs_store_changed(m->s, mn);
	}
	/*
	 * Children it removed (a node it created over one it removed replaces
	 * all of it): their own watches fire here, the removal's at the end.
	 */
	if (ov->kids_changed || ov->created) {
		for (uint32_t i = mn->nkids; i-- > 0;) {
			struct xs_node *k = mn->kids[i];

			if (!xs_kid_find(ov, k->name, strlen(k->name)))
				xs_store_remove(m, k, false);
		}
	}
	for (uint32_t i = 0; i < ov->nkids; i++) {
		const struct xs_node *ok = ov->kids[i];
		struct xs_node *mk = xs_kid_find(mn, ok->name, strlen(ok->name));

		if (!mk) {
			if (!ok->created)
				continue; /* cannot happen: checked unchanged */
			mk = xs_store_create(m->s, mn, ok->name, ok->val, ok->len, ok->perms,
					     ok->nperms);
			if (!mk)
				return -ENOMEM;
		}
		r = sync(m, ok, mk);
		if (r)
			return r;
	}
	return 0;
}

int xs_txn_commit(struct xs_op *o)
{
	struct xs_txn *t = o->t;
	struct xs_op m = { .s = o->s, .c = o->c, .t = NULL, .domid = o->domid };
	int r;

	if (t->failed || !unchanged(t->root, o->s->root))
		return -EAGAIN;
	for (struct xs_txn_check *k = t->checks; k; k = k->next) {
		const struct xs_node *mn = xs_store_lookup(o->s, k->path);

		if (!mn || mn->gen != k->gen)
			return -EAGAIN;
	}
	r = sync(&m, t->root, o->s->root);
	for (struct xs_txn_event *e = t->events; e; e = e->next)
		xs_fire(&m, e->path, e->exact, NULL);
	return r;
}
