/* SPDX-License-Identifier: MIT */
/*
 * xenbus: minios's client of the VMM's xenstore, as Mini-OS's xenbus.c is
 * Xen's: requests and replies in Xen's wire format (xenith/xs_wire.h) over
 * the ring page and event channel start_info names (store_ring,
 * store_evtchn).
 *
 * One request at a time (a spinlock: any vCPU may call, they take turns);
 * the reply is matched by req_id, and watch events that arrive before it
 * are queued for xenbus_wait_for_watch().  A wait for ring space or for a
 * reply sleeps in sched_op poll on the store's port.  Errors are
 * -XEN_Exxx, from the store's error string ("EACCES" -> -XEN_EACCES);
 * -XEN_EIO when the store's ring is unusable (it answered something that
 * breaks the protocol, or refused a send), -XEN_ETIMEDOUT when no reply
 * came within XENBUS_REPLY_TIMEOUT_NS.
 *
 * Paths are absolute, or relative to the domain's home /local/domain/ID.
 * xbt is XBT_NIL or a transaction from xenbus_transaction_start().
 */
#ifndef MINIOS_XENBUS_H
#define MINIOS_XENBUS_H

#include "minios.h"
#include "xenith/xs_wire.h"

/* Xen's errno values the store answers with that abi.h does not list (Linux's x86 numbers). */
#define XEN_EIO 5
#define XEN_E2BIG 7
#define XEN_EAGAIN 11
#define XEN_EACCES 13
#define XEN_EISDIR 21
#define XEN_EROFS 30
#define XEN_ENOTEMPTY 39
#define XEN_EISCONN 106

typedef uint32_t xenbus_transaction_t;
#define XBT_NIL 0u

/* How long a request waits for its reply (the store answers at once; this is for a broken one). */
#define XENBUS_REPLY_TIMEOUT_NS 60000000000ull

/* Finds the ring and port in start_info: 0, or -XEN_ENOSYS when the VMM gave none. */
int xenbus_init(void);

/*
 * The value at path, NUL-terminated in buf: its length, or -errno.  A
 * value longer than size - 1 is cut (buf still terminated): -XEN_E2BIG.
 */
int xenbus_read(xenbus_transaction_t xbt, const char *path, char *buf, size_t size);
/* The value as an unsigned decimal: -XEN_EINVAL if it is not one (or past 2^64-1). */
int xenbus_read_u64(xenbus_transaction_t xbt, const char *path, uint64_t *out);
int xenbus_write(xenbus_transaction_t xbt, const char *path, const char *value);
/* Writes the formatted value at dir/node (node NULL: at dir), as Mini-OS's xenbus_printf. */
int xenbus_printf(xenbus_transaction_t xbt, const char *dir, const char *node, const char *fmt, ...)
	printf_fmt(4, 5);
int xenbus_mkdir(xenbus_transaction_t xbt, const char *path);
/* Removes path and everything below it. */
int xenbus_rm(xenbus_transaction_t xbt, const char *path);
/*
 * The names of path's children, each NUL-terminated, one after the other
 * in buf: how many, or -errno (-XEN_E2BIG when they do not fit).
 */
int xenbus_directory(xenbus_transaction_t xbt, const char *path, char *buf, size_t size);
/* Permission strings ("n0", "r7", ...), as xenbus_directory lays out names: how many, or -errno. */
int xenbus_get_perms(xenbus_transaction_t xbt, const char *path, char *buf, size_t size);
int xenbus_set_perms(xenbus_transaction_t xbt, const char *path, const char *const *perms, unsigned n);

/* Watches path and below; the store fires the watch once at once, as Xen's does. */
int xenbus_watch(const char *path, const char *token);
/* Ends the watch; its events still queued are dropped. */
int xenbus_unwatch(const char *path, const char *token);
/*
 * Waits up to timeout_ns for a watch event with this token (NULL: any)
 * and takes it off the queue; the changed path goes to path (cut to
 * size): 0, or -XEN_ETIMEDOUT.
 */
int xenbus_wait_for_watch(const char *token, char *path, size_t size, uint64_t timeout_ns);
/* Watch events queued and not yet taken; events dropped because the queue was full. */
unsigned xenbus_watch_events_queued(void);
uint64_t xenbus_watch_events_dropped(void);

int xenbus_transaction_start(xenbus_transaction_t *xbt);
/* Commits (abort: abandons) it; -XEN_EAGAIN: the store changed meanwhile, start again. */
int xenbus_transaction_end(xenbus_transaction_t xbt, bool abort);

/* XenbusState: writes dir/state, as a frontend or backend announces its state. */
int xenbus_switch_state(xenbus_transaction_t xbt, const char *dir, enum xenbus_state state);
/* Reads dir/state: 0 or -errno (-XEN_EINVAL: not a state number). */
int xenbus_read_state(xenbus_transaction_t xbt, const char *dir, enum xenbus_state *state);
/*
 * Waits up to timeout_ns for the other end's dir/state to reach want, or
 * to give up (Closing or Closed, when want is neither); watches dir/state
 * meanwhile.  *state: the last state read.  0 when it reached want,
 * -XEN_EIO when it went to Closing or Closed instead, -XEN_ETIMEDOUT, or
 * the error of a read other than -XEN_ENOENT (no state yet: it waits).
 */
int xenbus_wait_state(const char *dir, enum xenbus_state want, enum xenbus_state *state,
		      uint64_t timeout_ns);

/* A program for the kvm tier: every operation from the guest (xenbus_test.c). */
int xenbus_test_main(const char *args);

#endif
