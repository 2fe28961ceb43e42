// SPDX-License-Identifier: MIT
/*
 * Watches, as Xen xenstored's watch.c: which watches a change fires, for
 * whom (readers of the node or its parent), and where the event goes (a
 * guest's queue and ring, or a VMM callback run after the lock is dropped).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenstore_priv.h"

/* -------------------------------------------------------------- watches */

/* Xen's is_child: path is watched by a watch on w when it is w or below it (everything is below "/"). */
static bool is_below(const char *path, const char *w)
{
	size_t l = strlen(w);

	if (strcmp(w, "/") == 0)
		return path[0] == '/';
	return strncmp(path, w, l) == 0 && (path[l] == '/' || path[l] == '\0');
}

/* Xen's watch_permitted: the watcher may read the node or its parent. */
static bool may_see(uint32_t domid, const struct xs_node *n, const struct xs_node *parent)
{
	if (domid == XENITH_XS_DOM0)
		return true;
	if (n && (xs_node_perm(domid, n) & XS_PERM_READ))
		return true;
	return parent && (xs_node_perm(domid, parent) & XS_PERM_READ);
}

void xs_queue_callback(struct xs_store *s, const struct xs_watch *w, const char *path)
{
	size_t pl = strlen(path) + 1, tl = strlen(w->token) + 1;
	struct xs_callback *cb = malloc(sizeof(*cb) + pl + tl);

	if (!cb) {
		s->st.events_dropped++;
		return;
	}
	cb->next = NULL;
	cb->fn = w->fn;
	cb->opaque = w->opaque;
	memcpy(cb->path, path, pl);
	cb->token = cb->path + pl;
	memcpy(cb->token, w->token, tl);
	*s->cbs_tail = cb;
	s->cbs_tail = &cb->next;
	s->st.watch_events++;
}

void xs_fire(struct xs_op *o, const char *path, bool exact, const struct xs_node *n)
{
	struct xs_store *s = o->s;
	const struct xs_node *parent;

	if (o->t) {
		/* Xen queues a transaction's watches and fires them when it commits. */
		xs_txn_record(o, path, exact);
		return;
	}
	if (!n && path[0] == '/')
		n = xs_store_lookup(s, path);
	parent = n ? n->parent : NULL;
	if (!n && path[0] == '/') {
		char pp[XS_PATH_BUF];
		char *slash;

		snprintf(pp, sizeof(pp), "%s", path);
		slash = strrchr(pp, '/');
		if (slash == pp)
			slash[1] = '\0';
		else if (slash)
			*slash = '\0';
		parent = xs_store_lookup(s, pp);
	}
	for (struct xs_watch *w = s->watches; w; w = w->next) {
		if (exact ? strcmp(path, w->path) != 0 : !is_below(path, w->path))
			continue;
		if (!w->c) {
			xs_queue_callback(s, w, path);
			continue;
		}
		if (w->c->dead || !may_see(w->c->domid, n, parent))
			continue;
		xs_conn_event(w->c, path + w->strip, w->token);
		/* The origin's events go out after its reply; others' now. */
		if (w->c != o->c)
			xs_conn_push(w->c);
	}
}

int xs_watch_add(struct xs_store *s, struct xs_conn *c, const char *path, const char *token,
		 size_t strip, xs_watch_fn fn, void *opaque)
{
	struct xs_watch *w;

	for (w = s->watches; w; w = w->next)
		if (w->c == c && w->fn == fn && w->opaque == opaque && !strcmp(w->path, path) &&
		    !strcmp(w->token, token))
			return -EEXIST;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->path = strdup(path);
	w->token = strdup(token);
	if (!w->path || !w->token) {
		free(w->path);
		free(w->token);
		free(w);
		return -ENOMEM;
	}
	w->c = c;
	w->strip = strip;
	w->fn = fn;
	w->opaque = opaque;
	/* Appended: watches fire in the order they were set. */
	struct xs_watch **tail = &s->watches;

	while (*tail)
		tail = &(*tail)->next;
	*tail = w;
	if (c)
		c->nwatches++;
	return 0;
}

void xs_watch_free(struct xs_watch *w)
{
	if (w->c)
		w->c->nwatches--;
	free(w->path);
	free(w->token);
	free(w);
}

int xs_watch_del(struct xs_store *s, struct xs_conn *c, const char *path, const char *token,
		 xs_watch_fn fn, void *opaque)
{
	for (struct xs_watch **p = &s->watches; *p; p = &(*p)->next) {
		struct xs_watch *w = *p;

		if (w->c == c && w->fn == fn && w->opaque == opaque && !strcmp(w->path, path) &&
		    !strcmp(w->token, token)) {
			*p = w->next;
			xs_watch_free(w);
			return 0;
		}
	}
	return -ENOENT;
}

void xs_watch_del_conn(struct xs_store *s, struct xs_conn *c)
{
	struct xs_watch **p = &s->watches;

	while (*p) {
		struct xs_watch *w = *p;

		if (w->c == c) {
			*p = w->next;
			xs_watch_free(w);
		} else {
			p = &w->next;
		}
	}
}

/* Fires the VMM's watches on a special path ("@releaseDomain"): guests may not read those nodes. */
void xs_fire_special(struct xs_store *s, const char *special)
{
	for (struct xs_watch *w = s->watches; w; w = w->next)
		if (!w->c && !strcmp(w->path, special))
			xs_queue_callback(s, w, special);
}
