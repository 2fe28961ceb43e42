// SPDX-License-Identifier: MIT
/*
 * Fuzz target: loading a saved xenstore (io/xenstore_save.c, xs_restore)
 * from any bytes, as a file or a relocation stream could hold them.  The
 * input is the saved data itself (the format is at the top of
 * xenstore_save.c; make_seeds.py writes valid ones), loaded into a fresh
 * store (Xen's default quotas, a VMM watch set on "/") and a fresh
 * connection of domain 1 on a heap page (ASan: nothing outside it is
 * touched).
 *
 * Checks:
 *  - xs_restore answers 0, -EPROTO, -EINVAL or -ENOMEM; a refusal leaves a
 *    message starting "xenstore: " and the store and connection as they
 *    were (what xs_save writes of them, byte for byte); no load runs the
 *    VMM's watch;
 *  - after a load the tree is consistent (children point at their
 *    parent, names valid and unique among siblings, paths within
 *    XENSTORE_ABS_PATH_MAX, values within XENSTORE_PAYLOAD_MAX, the node
 *    count is the stats', each domain's account is the nodes it owns)
 *    and the connection within its limits (one reply, max_queued_events
 *    events, max_watches, max_transactions);
 *  - what a load took saves again, loads into another fresh store, and
 *    saves there to the same bytes;
 *  - then the guest goes on: with its page's indices where the
 *    connection's are, kicks write out all the queued output; a VMM write
 *    may fire the restored watches; a restored transaction's commit
 *    answers EAGAIN.
 * Everything is freed after each input: the leak checker sees any leak.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "savebuf.h"
#include "xenstore_priv.h"

#define DOMID 1u
#define HDR ((uint32_t)sizeof(struct xsd_sockmsg))
#define DOMIDS 65536u

struct side {
	struct xs_store *s;
	struct xs_conn *c;
	struct xenstore_domain_interface *page;
};

static unsigned vmm_calls;

static void notify(void *opaque)
{
	(void)opaque;
}

static void on_watch(void *opaque, const char *path, const char *token)
{
	(void)opaque;
	(void)path;
	(void)token;
	vmm_calls++;
}

static void side_open(struct side *sd)
{
	sd->page = calloc(1, sizeof(*sd->page));
	FUZZ_CHECK(sd->page, "out of memory");
	sd->s = xs_store_new(NULL);
	FUZZ_CHECK(sd->s, "xs_store_new");
	FUZZ_CHECK(xs_watch(sd->s, "/", "vmm", on_watch, NULL) == 0, "xs_watch");
	sd->c = xs_conn_new(sd->s, DOMID, sd->page, notify, NULL);
	FUZZ_CHECK(sd->c, "xs_conn_new");
}

static void side_close(struct side *sd)
{
	xs_conn_free(sd->c);
	xs_store_free(sd->s);
	free(sd->page);
}

static void save(struct side *sd, struct savebuf *b)
{
	memset(b, 0, sizeof(*b));
	FUZZ_CHECK(xs_save(sd->s, sd->c, b) == 0, "xs_save failed");
}

static bool same(const struct savebuf *a, const struct savebuf *b)
{
	return a->len == b->len && !memcmp(a->p, b->p, a->len);
}

/* ------------------------------------------------------------- the checks */

static bool valid_name(const char *n)
{
	static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_@";

	return n[0] && n[strspn(n, ok)] == '\0';
}

/* Recursive in the depth: at most XENSTORE_ABS_PATH_MAX / 2 levels, small frames. */
static uint64_t check_node(const struct xs_node *n, size_t pathlen, uint32_t *owned)
{
	uint64_t count = 1;

	FUZZ_CHECK(n->nperms >= 1 && n->perms, "node %s without permissions", n->name);
	FUZZ_CHECK(n->perms[0].id < DOMIDS, "node %s owned by domain %u", n->name, n->perms[0].id);
	FUZZ_CHECK(n->len <= XENSTORE_PAYLOAD_MAX && n->val, "node %s: value of %u bytes", n->name,
		   n->len);
	FUZZ_CHECK(n->filled, "store node %s is a stub", n->name);
	FUZZ_CHECK(pathlen <= XENSTORE_ABS_PATH_MAX, "a path of %zu bytes", pathlen);
	owned[n->perms[0].id]++;
	for (uint32_t i = 0; i < n->nkids; i++) {
		const struct xs_node *k = n->kids[i];

		FUZZ_CHECK(k->parent == n, "child %s of %s points elsewhere", k->name, n->name);
		FUZZ_CHECK(valid_name(k->name), "child name '%s' of %s", k->name, n->name);
		for (uint32_t j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(n->kids[j]->name, k->name) != 0, "%s has two children %s",
				   n->name, k->name);
		count += check_node(k, (pathlen == 1 ? 0 : pathlen) + 1 + strlen(k->name), owned);
	}
	return count;
}

static void check_loaded(struct side *sd)
{
	struct xs_store *s = sd->s;
	struct xs_conn *c = sd->c;
	uint32_t *owned = calloc(DOMIDS, sizeof(*owned));
	uint64_t nodes;
	unsigned w = 0;

	FUZZ_CHECK(owned, "out of memory");
	FUZZ_CHECK(s->root && !s->root->parent && !s->root->name[0], "root");
	nodes = check_node(s->root, 1, owned);
	FUZZ_CHECK(nodes == s->st.nodes, "%llu nodes in the tree, stats say %llu",
		   (unsigned long long)nodes, (unsigned long long)s->st.nodes);
	for (uint32_t d = 0; d < DOMIDS; d++)
		FUZZ_CHECK(xs_acct_get(s, d) == owned[d], "domain %u owns %u nodes, account says %u", d,
			   owned[d], xs_acct_get(s, d));
	free(owned);
	FUZZ_CHECK(c->nreplies <= 1, "%u replies queued", c->nreplies);
	FUZZ_CHECK(c->nevents <= s->q.max_queued_events, "%u events queued", c->nevents);
	FUZZ_CHECK(c->ntxns <= s->q.max_transactions, "%u transactions", c->ntxns);
	for (const struct xs_watch *x = s->watches; x; x = x->next)
		w += x->c == c;
	FUZZ_CHECK(w == c->nwatches && w <= s->q.max_watches, "%u watches, counted %u", w, c->nwatches);
	FUZZ_CHECK(c->in_used <= HDR + XENSTORE_PAYLOAD_MAX, "partial request of %u bytes", c->in_used);
}

/* The guest reads everything and kicks until the queue is out; false if the connection is stopped. */
static bool drain(struct side *sd)
{
	struct xenstore_domain_interface *pg = sd->page;

	/* 512 events of up to 4 KiB, a ring at a time. */
	for (unsigned i = 0; i < 4096 && sd->c->out; i++) {
		pg->rsp_cons = pg->rsp_prod;
		if (xs_conn_process(sd->c) == -EPROTO)
			return false;
	}
	FUZZ_CHECK(!sd->c->out, "queued output never went out");
	pg->rsp_cons = pg->rsp_prod;
	return true;
}

/* The guest's part after a load: its page as the byte-for-byte copy would have it, and on. */
static void go_on(struct side *sd)
{
	struct xenstore_domain_interface *pg = sd->page;
	struct xs_conn *c = sd->c;
	struct xsd_sockmsg h = { .type = XS_TRANSACTION_END, .req_id = 77, .len = 2 };
	uint32_t prod;
	int r;

	pg->req_prod = pg->req_cons = c->req_cons;
	pg->rsp_prod = pg->rsp_cons = c->rsp_prod;
	r = xs_conn_process(c);
	FUZZ_CHECK(r == (c->dead ? -EPROTO : 0), "first kick after the load: %d (stopped: %d)", r, c->dead);
	if (c->dead || !drain(sd))
		return;
	xs_write(sd->s, "/local/domain/1/data/fuzz", "x", 1);
	if (!drain(sd) || c->in_used || !c->txns)
		return;
	/* At a message boundary with an open transaction: its commit must be refused. */
	h.tx_id = c->txns->id;
	prod = pg->req_prod;
	for (uint32_t i = 0; i < HDR; i++)
		pg->req[MASK_XENSTORE_IDX(prod + i)] = ((const char *)&h)[i];
	for (uint32_t i = 0; i < 2; i++)
		pg->req[MASK_XENSTORE_IDX(prod + HDR + i)] = "T"[i];
	pg->req_prod = prod + HDR + 2;
	r = xs_conn_process(c);
	FUZZ_CHECK(r == 0, "the commit's kick: %d", r);
	for (;;) {
		struct xsd_sockmsg m;
		char p[XENSTORE_PAYLOAD_MAX + 1];
		XENSTORE_RING_IDX cons = pg->rsp_cons;

		FUZZ_CHECK(pg->rsp_prod - cons >= HDR, "no reply to the commit");
		for (uint32_t i = 0; i < HDR; i++)
			((char *)&m)[i] = pg->rsp[MASK_XENSTORE_IDX(cons + i)];
		FUZZ_CHECK(m.len <= XENSTORE_PAYLOAD_MAX && pg->rsp_prod - cons >= HDR + m.len,
			   "a message of %u bytes not whole on the ring", m.len);
		for (uint32_t i = 0; i < m.len; i++)
			p[i] = pg->rsp[MASK_XENSTORE_IDX(cons + HDR + i)];
		p[m.len] = '\0';
		pg->rsp_cons = cons + HDR + m.len;
		if (m.type == XS_WATCH_EVENT)
			continue;
		FUZZ_CHECK(m.type == XS_ERROR && m.req_id == 77 && !strcmp(p, "EAGAIN"),
			   "a restored transaction's commit answered type %u '%s'", m.type, p);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct side a, b;
	struct savebuf before, after, again;
	char msg[512];
	int r;

	side_open(&a);
	save(&a, &before);
	vmm_calls = 0;
	r = xs_restore(a.s, a.c, data, size, msg, sizeof(msg));
	FUZZ_CHECK(r == 0 || r == -EPROTO || r == -EINVAL || r == -ENOMEM, "xs_restore: %d", r);
	FUZZ_CHECK(vmm_calls == 0, "the load ran the VMM's watch %u times", vmm_calls);
	save(&a, &after);
	if (r) {
		FUZZ_CHECK(!strncmp(msg, "xenstore: ", 10) && strlen(msg) > 12, "refusal %d says '%s'", r,
			   msg);
		FUZZ_CHECK(same(&before, &after), "a refusal (%s) changed the store", msg);
		goto out;
	}
	check_loaded(&a);
	/* What it took loads again, and is the same there. */
	side_open(&b);
	r = xs_restore(b.s, b.c, after.p, after.len, msg, sizeof(msg));
	FUZZ_CHECK(r == 0, "a save of a loaded store does not load: %s", msg);
	save(&b, &again);
	FUZZ_CHECK(same(&after, &again), "saved, loaded and saved again: %zu bytes, then %zu", after.len,
		   again.len);
	savebuf_free(&again);
	side_close(&b);
	go_on(&a);
	check_loaded(&a);
out:
	savebuf_free(&before);
	savebuf_free(&after);
	side_close(&a);
	return 0;
}
