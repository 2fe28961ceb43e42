/* SPDX-License-Identifier: MIT */
/*
 * The frontend half of the xenstore handshake, shared by blkfront and
 * netfront (the backend half is hv/xenbus_be.c): the device's backend
 * directory, keys read and written under a directory, waiting for the
 * backend's state, the keys and state written in one transaction (again
 * when the store says EAGAIN), the reason of a refusal, and the reset
 * after one.  `who` starts every message this prints ("blkfront",
 * "netfront").
 */
#ifndef XENITH_GUEST_XENBUS_FE_H
#define XENITH_GUEST_XENBUS_FE_H

#include "xenbus.h"

/* How long the backend may take to answer a state change (the VMM's store runs its watch within our request). */
#define XBFE_STATE_WAIT_NS 5000000000ull

/* The backend's directory for the frontend directory fe (its "backend" key): 0 or -errno. */
int xbfe_backend_dir(const char *fe, char *be, size_t size);
/* dir/key as a number: 0 or -errno. */
int xbfe_read_u64(const char *dir, const char *key, uint64_t *v);
/* dir/key is 1. */
bool xbfe_read_flag(const char *dir, const char *key);
/* Writes v in decimal to dir/key. */
int xbfe_write_u(xenbus_transaction_t xbt, const char *dir, const char *key, unsigned long long v);
/* Waits until the backend's state is want (0), or it went to Closing or Closed instead (-XEN_EIO). */
int xbfe_wait_backend(const char *who, const char *be, enum xenbus_state want);
/*
 * Calls write_keys(xbt, ctx) in a transaction and commits it; on EAGAIN
 * (the store changed meanwhile) again, up to 10 times.  0 or -errno.
 */
int xbfe_publish(int (*write_keys)(xenbus_transaction_t xbt, void *ctx), void *ctx);
/* After a refusal or a disconnect: Closed, then Initialising again, as the backend follows. */
int xbfe_reset(const char *who, const char *fe, const char *be);
/*
 * The backend refused (went to Closing): prints "<what> refused: <reason>"
 * with the reason the backend wrote to error/<backend>/error ("ERRNO
 * text"), resets the device and returns -ERRNO (-XEN_EIO when it gave
 * none).
 */
int xbfe_refused(const char *who, const char *what, const char *fe, const char *be);

#endif
