/* SPDX-License-Identifier: MIT */
/*
 * The store's insides, shared by its files: xenstore.c (the tree, paths,
 * permissions, quotas), xenstore_watch.c (watches), xenstore_api.c (the
 * VMM's calls), xenstore_txn.c (transactions), xenstore_conn.c (a guest's
 * ring), xenstore_req.c (its requests) and xenstore_dump.c (xenstore-ls
 * and JSON).  Everything here runs with
 * the store's lock held unless it says otherwise.
 */
#ifndef XENITH_IO_XENSTORE_PRIV_H
#define XENITH_IO_XENSTORE_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xenstore.h"

/* Access bits of a permission entry (Xen's XS_PERM_*); OWNER is computed, never stored. */
#define XS_PERM_NONE 0u
#define XS_PERM_READ 1u
#define XS_PERM_WRITE 2u
#define XS_PERM_OWNER 4u

/* The VMM's identity in the store: Xen's domain 0 (XENITH_BACKEND_DOMID). */
#define XENITH_XS_DOM0 0u

/* Canonical paths: at most XENSTORE_ABS_PATH_MAX characters and the NUL. */
#define XS_PATH_BUF (XENSTORE_ABS_PATH_MAX + 1u)

struct xs_perm {
	uint32_t id;
	uint8_t acc; /* XS_PERM_READ | XS_PERM_WRITE */
};

/*
 * A node.  In the store every node is complete; in a transaction's private
 * tree (xenstore_txn.c) a node is a stub (name only, !filled) until the
 * transaction first reaches it, and is then filled from the store.
 */
struct xs_node {
	char *name; /* last path component; "" for the root */
	struct xs_node *parent;
	struct xs_node **kids; /* in creation order, as Xen lists them */
	uint32_t nkids, cap;
	char *val;
	uint32_t len;
	struct xs_perm *perms; /* perms[0]: owner and everyone's default */
	uint32_t nperms;
	uint64_t gen; /* the store's generation at the last change of the node or its children */
	/* Transaction tree only: */
	bool filled;       /* loaded from the store (gen is the store's node's then) */
	bool changed;      /* value or permissions written */
	bool used;         /* value, permissions or children looked at: must not change in the store */
	bool kids_changed; /* children removed (new ones are found by their created flag) */
	bool created;      /* made by the transaction (no store node behind it) */
};

struct xs_watch {
	struct xs_watch *next;
	struct xs_conn *c; /* NULL: the VMM's (fn, opaque) */
	char *path;        /* canonical (absolute, or "@...") */
	char *token;
	size_t strip;      /* relative watch: bytes of the home prefix to cut from event paths */
	xs_watch_fn fn;
	void *opaque;
};

/* A VMM watch callback waiting for the lock to be dropped. */
struct xs_callback {
	struct xs_callback *next;
	xs_watch_fn fn;
	void *opaque;
	char *token;
	char path[]; /* then the token */
};

/* A per-domain account: nodes the domain owns in the store. */
struct xs_acct {
	uint32_t domid;
	uint32_t nodes;
};

/* A node a transaction used and then removed: it must still be as it was when it commits. */
struct xs_txn_check {
	struct xs_txn_check *next;
	uint64_t gen;
	char path[];
};

/* A change made in a transaction whose watches fire when it commits. */
struct xs_txn_event {
	struct xs_txn_event *next;
	bool exact;
	char path[];
};

struct xs_txn {
	struct xs_txn *next;
	uint32_t id;
	struct xs_node *root;/* private tree: stubs and filled copies */
	struct xs_txn_check *checks;
	unsigned nodes;      /* nodes in the private tree, bounded by max_tx_nodes */
	int owned_delta;     /* nodes the connection's domain gained or lost in it */
	struct xs_txn_event *events, **events_tail;
	unsigned nevents;
	bool failed;         /* it cannot commit (EAGAIN) */
};

struct xs_store {
	pthread_mutex_t lock;
	struct xs_quota q;
	struct xs_node *root;
	uint64_t gen; /* bumped by every change to the tree */
	struct xs_acct *acct;
	unsigned nacct, cap_acct;
	struct xs_watch *watches;
	struct xs_conn *conns;
	struct xs_callback *cbs, **cbs_tail;
	struct xs_stats st;
};

/* A message waiting for room on a guest's response ring. */
struct xs_out {
	struct xs_out *next;
	bool event;
	uint32_t size; /* header and payload */
	uint32_t done; /* bytes already on the ring */
	char data[];   /* struct xsd_sockmsg, then the payload */
};

struct xs_conn {
	struct xs_conn *next;
	struct xs_store *s;
	uint32_t domid;
	char home[32]; /* "/local/domain/ID" */
	size_t home_len;
	struct xenstore_domain_interface *page;
	void (*notify)(void *opaque);
	void *opaque;
	bool dead; /* a protocol error: the page's error field is set, nothing more is done */
	bool kick; /* indices moved: notify before returning */
	/* Private copies of the indices the store owns (the guest's copies are only written). */
	XENSTORE_RING_IDX req_cons, rsp_prod;
	/* The request being assembled (header, payload and a NUL the guest did not send). */
	uint32_t in_used;
	union {
		struct xsd_sockmsg hdr;
		char raw[sizeof(struct xsd_sockmsg) + XENSTORE_PAYLOAD_MAX + 1];
	} in;
	struct xs_out *out, **out_tail;
	unsigned nreplies, nevents;
	unsigned nwatches;
	struct xs_txn *txns;
	unsigned ntxns;
	uint32_t next_txid;
};

/* An operation's context: who does it (domid 0: the VMM) and in which transaction. */
struct xs_op {
	struct xs_store *s;
	struct xs_conn *c; /* NULL for the VMM */
	struct xs_txn *t;  /* NULL outside a transaction */
	uint32_t domid;
};

/* --- xenstore.c --- */
void xs_lock(struct xs_store *s);
/* Drops the lock, then runs the VMM watch callbacks queued meanwhile. */
void xs_unlock(struct xs_store *s);

/*
 * Checks a path as Xen does (characters, "//", a trailing '/', '@' only
 * where special is allowed, lengths) and makes it absolute: a relative
 * path is under o's home.  *rel (if rel) says whether it was relative.
 */
int xs_canon(const struct xs_op *o, const char *in, bool special, char out[XS_PATH_BUF], bool *rel);

int xs_op_read(struct xs_op *o, const char *path, struct xs_node **n);
int xs_op_write(struct xs_op *o, const char *path, const void *val, uint32_t len);
int xs_op_mkdir(struct xs_op *o, const char *path);
int xs_op_rm(struct xs_op *o, const char *path);
int xs_op_set_perms(struct xs_op *o, const char *path, const struct xs_perm *p, uint32_t n);
/* Parses Xen's permission strings ("b3", "n0"): -EINVAL on anything else. */
int xs_parse_perm(const char *str, struct xs_perm *p);
/* Formats one as Xen does into buf (at least 12 bytes); returns its length. */
int xs_format_perm(const struct xs_perm *p, char *buf, size_t size);

unsigned xs_node_perm(uint32_t domid, const struct xs_node *n);

/* --- xenstore_watch.c --- */
int xs_watch_add(struct xs_store *s, struct xs_conn *c, const char *path, const char *token,
		 size_t strip, xs_watch_fn fn, void *opaque);
int xs_watch_del(struct xs_store *s, struct xs_conn *c, const char *path, const char *token,
		 xs_watch_fn fn, void *opaque);
void xs_watch_del_conn(struct xs_store *s, struct xs_conn *c);
void xs_watch_free(struct xs_watch *w);
void xs_fire_special(struct xs_store *s, const char *special);
/* Queues w's callback for path, to run when the lock is dropped. */
void xs_queue_callback(struct xs_store *s, const struct xs_watch *w, const char *path);
/*
 * A change at path: fires every watch on it or above it (exact: only those
 * on it), for watchers that may read n (NULL: the node at path in the
 * store) or its parent.  In a transaction the change is remembered and
 * fires when it commits.
 */
void xs_fire(struct xs_op *o, const char *path, bool exact, const struct xs_node *n);

struct xs_node *xs_node_new(const char *name, size_t namelen);
void xs_node_free(struct xs_node *n);
struct xs_node *xs_kid_find(const struct xs_node *n, const char *name, size_t len);
int xs_kid_add(struct xs_node *parent, struct xs_node *kid);
void xs_kid_unlink(struct xs_node *kid);
size_t xs_node_path(const struct xs_node *n, char out[XS_PATH_BUF]);
/* The node at an absolute path in the store itself (not a transaction's view). */
struct xs_node *xs_store_lookup(struct xs_store *s, const char *path);
int xs_set_val(struct xs_node *n, const void *val, uint32_t len);
int xs_set_perms_raw(struct xs_node *n, const struct xs_perm *p, uint32_t count);
/* Per-domain node counts in the store. */
uint32_t xs_acct_get(struct xs_store *s, uint32_t domid);
int xs_acct_add(struct xs_store *s, uint32_t domid, int delta);
/* Removes n and its subtree from the store, firing exact watches below n (and on n if fire_root). */
void xs_store_remove(struct xs_op *o, struct xs_node *n, bool fire_root);
/* Creates a node under parent in the store (name, value, perms copied), accounting its owner. */
struct xs_node *xs_store_create(struct xs_store *s, struct xs_node *parent, const char *name,
				const char *val, uint32_t len, const struct xs_perm *p, uint32_t np);
/* Records a change to the store's tree. */
void xs_store_changed(struct xs_store *s, struct xs_node *n);

/* --- xenstore_txn.c --- */
struct xs_txn *xs_txn_new(struct xs_store *s);
void xs_txn_free(struct xs_txn *t);
/* Loads a stub of t's tree from the store: -ENOSPC past max_tx_nodes. */
int xs_txn_fill(struct xs_op *o, struct xs_node *n);
/* Counts nodes added to t's tree: -ENOSPC past the quota. */
int xs_txn_charge(struct xs_op *o, unsigned n);
int xs_txn_record(struct xs_op *o, const char *path, bool exact);
/* Notes a node t used and is removing (its subtree's used nodes are checked at commit). */
int xs_txn_note_removed(struct xs_op *o, struct xs_node *n);
/* Applies t to the store; -EAGAIN when a node t used changed in the store meanwhile. */
int xs_txn_commit(struct xs_op *o);

/* --- xenstore_req.c --- */
/* Answers the request in c->in (its payload NUL-terminated one byte past its length). */
void xs_conn_handle(struct xs_conn *c);
void xs_conn_txn_free_all(struct xs_conn *c);

/* --- xenstore_conn.c --- */
/* Queues a reply or an event (header and payload a, b) for c's ring; NULL on out of memory. */
struct xs_out *xs_conn_queue(struct xs_conn *c, bool event, uint32_t type, uint32_t req_id,
			     uint32_t tx_id, const void *a, uint32_t al, const void *b, uint32_t bl);
/* Queues a watch event for c (dropped, and counted, when its queue is full). */
void xs_conn_event(struct xs_conn *c, const char *path, const char *token);
/* Writes what fits of c's queue to its ring, notifying the guest if anything moved. */
void xs_conn_push(struct xs_conn *c);

#endif
