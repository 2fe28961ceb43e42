/* SPDX-License-Identifier: MIT */
/*
 * The xenstore a VMM serves to its domains (Xen's xenstored, in-process):
 * a tree of nodes, each with a value and permissions, spoken to by guests
 * over Xen's ring page in Xen's wire format (include/xenith/xs_wire.h) and
 * by the VMM's own backends and toolstack through the functions below
 * (they act as domain 0, Xen's privileged domain, as XENITH_BACKEND_DOMID).
 *
 * Like the rest of io/, this knows nothing of struct domain: a guest
 * connection is a ring page (guest memory, hostile: every index and byte
 * is read once and checked), the guest's domain id and a notify callback
 * that raises the store's event channel in the guest.
 *
 * Paths: absolute ("/local/domain/3/device/vbd/51712/state"), or, from a
 * guest, relative to its home /local/domain/ID.  Permissions are Xen's: a
 * node's first entry names its owner and the access of every domain not
 * listed; the owner and domain 0 may always read and write.  A node a
 * guest creates is owned by the guest; a new node otherwise inherits its
 * parent's permissions.
 *
 * Quotas (struct xs_quota) bound what one guest can make the VMM hold:
 * nodes it owns, bytes in one value, watches, open transactions, nodes
 * one transaction reaches, permission entries per node, and queued watch
 * events; each refusal carries the errno Xen's xenstored uses for it
 * (xenstore.c lists them with their sources).  Domain 0 (the VMM's own
 * calls) has no quota.
 *
 * Watches: a watch on P fires for any change to P or below it, and once
 * when it is set; removing a subtree fires the watches on or above its
 * top and, for each node below, the watches set exactly on that node
 * (Xen's rule).  A guest's watch fires only for nodes it may read, or
 * whose parent it may read.  "@releaseDomain" and "@introduceDomain"
 * (any "@" path) may be watched and fire once when set; later the VMM's
 * watches on them fire when a connection is made (xs_conn_new) and when
 * a domain is released (xs_domain_release), and a guest's never (Xen's
 * special nodes are readable by domain 0 only unless a toolstack shares
 * them, which Xenith does not).
 * For guests the event is queued on the connection and written to its
 * ring as space allows (at once, with a notify, when the change came
 * from another connection or the VMM); an event already waiting is not
 * queued twice, and past max_queued_events new events are dropped and
 * counted in events_dropped (Xen drops them past its memory quota).  For
 * the VMM's own watches the callback runs in the thread that made the
 * change, after the store's lock is dropped (so it may call back into
 * the store).
 *
 * Transactions: a guest's XS_TRANSACTION_START gives an id; reads and
 * writes under it see a private copy; XS_TRANSACTION_END commits (or, with
 * "F", abandons) it and answers EAGAIN when a node the transaction read,
 * wrote, listed or removed changed in the store meanwhile, as Xen does
 * (the client retries).  A transaction's watch events fire when it
 * commits.
 *
 * Thread-safe: one mutex per store.
 */
#ifndef XENITH_IO_XENSTORE_H
#define XENITH_IO_XENSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xenith/xs_wire.h"

struct xs_store;
struct xs_conn;

struct xs_quota {
	unsigned max_nodes;        /* nodes a guest may own */
	unsigned max_value;        /* bytes in one value */
	unsigned max_watches;      /* per connection */
	unsigned max_transactions; /* open at once, per connection */
	unsigned max_queued_events;/* watch events waiting for ring space, per connection */
	unsigned max_perms;        /* permission entries a guest may set on one node */
	unsigned max_tx_nodes;     /* nodes one transaction may reach */
};
/* Xen's xenstored defaults where it has one (see xenstore.c for each). */
extern const struct xs_quota xs_quota_default;

struct xs_store *xs_store_new(const struct xs_quota *q);
void xs_store_free(struct xs_store *s);

/* --- The VMM's own access (domain 0).  Each returns 0 or -errno. --- */
int xs_write(struct xs_store *s, const char *path, const void *val, size_t len);
int xs_printf(struct xs_store *s, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The value NUL-terminated in buf (truncated to size-1: -E2BIG); *len its length if len. */
int xs_read(struct xs_store *s, const char *path, char *buf, size_t size, size_t *len);
/* The value as an unsigned integer: -EINVAL if it is not one. */
int xs_read_u64(struct xs_store *s, const char *path, uint64_t *out);
int xs_mkdir(struct xs_store *s, const char *path);
/* Removes a node and everything below it. */
int xs_rm(struct xs_store *s, const char *path);
/* Xen's permission strings, e.g. {"n0", "r3"}: owner 0, domain 3 may read. */
int xs_set_perms(struct xs_store *s, const char *path, const char *const *perms, unsigned n);

/*
 * fn(opaque, path, token) for each change at or below path (absolute, or
 * "@..."), and once at once; -EEXIST for the same (path, token, fn,
 * opaque) twice.  A change another thread made just before xs_unwatch
 * may still call fn once after xs_unwatch returned (from that thread).
 */
typedef void (*xs_watch_fn)(void *opaque, const char *path, const char *token);
int xs_watch(struct xs_store *s, const char *path, const char *token, xs_watch_fn fn, void *opaque);
int xs_unwatch(struct xs_store *s, const char *path, const char *token, xs_watch_fn fn, void *opaque);

/*
 * The tree as `xenstore-ls` prints it, below path (not path itself):
 * `name = "value"` per node, one space of indent per level below path
 * (xenstore-ls's do_ls), values escaped as its sanitise_value does
 * (\t \n \r \\, \ooo below 8, \xhh for other bytes outside ' '..'~';
 * quotes are not escaped).  Unlike xenstore-ls on a terminal, long
 * values are not cut at 80 columns.  Returns the length written
 * (NUL-terminated), -ENOENT if path does not exist, or -ENOSPC if size
 * is too small.
 */
int xs_dump(struct xs_store *s, const char *path, char *buf, size_t size);
/*
 * The same as a JSON object: {"value": "...", "perms": ["n0", ...],
 * "children": {"name": {...}, ...}} for path, values as JSON strings
 * (bytes outside printable ASCII as \u00hh).
 */
int xs_dump_json(struct xs_store *s, const char *path, char *buf, size_t size);

/* Counters for `xenith devices` and the tests. */
struct xs_stats {
	uint64_t nodes, requests, errors, watch_events, events_dropped, quota_refusals;
};
void xs_get_stats(struct xs_store *s, struct xs_stats *st);

/* --- A guest's connection over its ring page. --- */
/*
 * page: the guest's struct xenstore_domain_interface (in guest memory);
 * notify(opaque) raises the store's event channel in the guest; it is
 * called with the store's lock held (it may not call into the store).
 * The connection's home is /local/domain/DOMID, created (owned by domid,
 * no access for others) if missing.  NULL (errno set) on out of memory,
 * or EINVAL for domid 0 (the VMM's own) or a reserved id (>= 0x7ff0).
 */
struct xs_conn *xs_conn_new(struct xs_store *s, uint32_t domid,
			    struct xenstore_domain_interface *page,
			    void (*notify)(void *opaque), void *opaque);
/*
 * The guest kicked (or the VMM wants pending watch events out): consumes
 * every whole request on the ring, answers each, writes queued watch
 * events while there is room, and notifies the guest if it wrote
 * anything.  A request that cannot be parsed (a length above
 * XENSTORE_PAYLOAD_MAX, impossible indices) marks the page's error field,
 * stops the connection (every later call does nothing and returns
 * -EPROTO) and returns -EPROTO; otherwise 0.  Malformed requests that
 * can be answered (a missing NUL, a bad path) get an XS_ERROR reply, as
 * from Xen.  Each call reads at most what is on the ring when it starts,
 * and stops early while a reply waits for room on the response ring
 * (the guest kicks again when it has read).  Replies up to
 * XENSTORE_RING_SIZE bytes are written whole; longer ones in pieces.
 */
int xs_conn_process(struct xs_conn *c);
/* Ends the connection: its watches and transactions go; the nodes stay. */
void xs_conn_free(struct xs_conn *c);
/*
 * The domain is gone (Xen's destroy_domain): every node it owns goes, with
 * the subtree below it, firing watches as a removal does, and the VMM's
 * "@releaseDomain" watches fire.  Call it after xs_conn_free.  -EINVAL for
 * domain 0.
 */
int xs_domain_release(struct xs_store *s, uint32_t domid);

/* --- Save and restore (`xenith save`/`restore`, relocation): xenstore_save.c. --- */
struct savebuf; /* lib/savebuf.h */
/*
 * The store's whole tree (every node: path, value, permissions and
 * generation, parents before children, children in their order) and
 * connection c's state (its ring indices, partial request, queued output,
 * watches, open transactions and next_txid) appended to out.  c (a
 * connection of s) may be NULL: no guest connection.  The VMM's own
 * watches are not saved: the new VMM registers its own.  0, -ENOMEM, or
 * -EINVAL for a c of another store.  The store's lock is taken; call with
 * no request in progress (the domain paused).
 */
int xs_save(struct xs_store *s, struct xs_conn *c, struct savebuf *out);
/*
 * Loads what xs_save wrote into s and c, a new VMM's store and a fresh
 * connection of the same domain id (no watch, transaction, partial
 * request or queued message yet).  The tree replaces s's, generations
 * included; the VMM's watches stay registered and no watch fires, the
 * VMM's or the guest's; the per-domain node accounts are recomputed from
 * the tree.  c takes the saved indices, partial request, queued output
 * (written when the guest next makes room and kicks), watches and
 * next_txid (data saved without a connection leave c fresh; c may be
 * NULL only for those).  The ring page itself is guest memory, restored
 * separately.
 *
 * Open transactions keep their ids, but each comes back empty and marked
 * failed: operations in it work against the loaded store as in a new
 * transaction, and its commit answers EAGAIN, which every Xen client
 * answers by running the whole transaction again (what the old store had
 * of it, its private tree, is not saved).  Other connections' open
 * transactions (none in a one-guest store) fail the same way.
 *
 * The data come from a file or a network: every length, path (canonical,
 * within XENSTORE_ABS_PATH_MAX), value (at most XENSTORE_PAYLOAD_MAX),
 * permission (1 to 4096 entries, domain ids up to 65535, read/write bits
 * only), parent (loaded before its children), duplicate, index, queued
 * message (well formed, at most one reply and max_queued_events events),
 * watch (as the guest could set it, at most max_watches) and transaction
 * (non-zero distinct ids, at most max_transactions) is checked before
 * anything changes, so a refusal leaves s and c as they were.  A guest's
 * node count is not held to max_nodes: the VMM may give a guest nodes past
 * it (the frontend directories), and the quota keeps applying to what the
 * guest itself creates.  0, or -EPROTO (bad data), -EINVAL (c is not a
 * fresh connection of the saved domain) or -ENOMEM, with a message for
 * people in msg (if msglen) naming the item and what is wrong
 * ("xenstore: node 17 (/local/domain/1/device/vbd/51712/ring-ref): value
 * of 5000 bytes, more than 4096").
 */
int xs_restore(struct xs_store *s, struct xs_conn *c, const void *data, size_t len, char *msg,
	       size_t msglen);

#endif
