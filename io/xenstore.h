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
 * nodes it owns, bytes in one value, watches, open transactions, and
 * queued watch events; each refusal carries the errno Xen's xenstored
 * uses for it.  Domain 0 (the VMM's own calls) has no quota.
 *
 * Watches: a watch on P fires for any change to P or below it, and once
 * when it is set.  For guests the event is queued on the connection and
 * written to its ring as space allows (at once, with a notify, when the
 * change came from another connection or the VMM); for the VMM's own watches the
 * callback runs in the thread that made the change, after the store's
 * lock is dropped (so it may call back into the store).
 *
 * Transactions: a guest's XS_TRANSACTION_START gives an id; reads and
 * writes under it see a private copy; XS_TRANSACTION_END commits (or, with
 * "F", abandons) it and answers EAGAIN when another change to the store
 * happened meanwhile, as Xen does (the client retries).
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

typedef void (*xs_watch_fn)(void *opaque, const char *path, const char *token);
int xs_watch(struct xs_store *s, const char *path, const char *token, xs_watch_fn fn, void *opaque);
int xs_unwatch(struct xs_store *s, const char *path, const char *token, xs_watch_fn fn, void *opaque);

/*
 * The tree as `xenstore-ls` prints it (name = "value", two spaces of
 * indent per level, values escaped), below path.  Returns the length
 * written (NUL-terminated), or -ENOSPC if size is too small.
 */
int xs_dump(struct xs_store *s, const char *path, char *buf, size_t size);
/* The same as a JSON object (each node: value, perms, children). */
int xs_dump_json(struct xs_store *s, const char *path, char *buf, size_t size);

/* Counters for `xenith devices` and the tests. */
struct xs_stats {
	uint64_t nodes, requests, errors, watch_events, events_dropped, quota_refusals;
};
void xs_get_stats(struct xs_store *s, struct xs_stats *st);

/* --- A guest's connection over its ring page. --- */
/*
 * page: the guest's struct xenstore_domain_interface (in guest memory);
 * notify(opaque) raises the store's event channel in the guest.  The
 * connection's home is /local/domain/DOMID, created (owned by domid) if
 * missing.  NULL on out of memory.
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
 * stops the connection (every later call does nothing) and returns
 * -EPROTO; otherwise 0.
 */
int xs_conn_process(struct xs_conn *c);
/* Ends the connection: its watches and transactions go; the nodes stay. */
void xs_conn_free(struct xs_conn *c);

#endif
