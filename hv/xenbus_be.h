/* SPDX-License-Identifier: MIT */
/*
 * The backend half of a split device's xenstore handshake, shared by every
 * device type that has one (vbd.c for disks, vif.c for vifs): the backend
 * and frontend directories, the backend's XenbusState, Xen's
 * xenbus_dev_fatal, and the machine that connects the device when its
 * frontend says it is ready and disconnects it when the frontend closes.
 * A type supplies the keys it writes and reads (its own file) and two ops.
 *
 * The frontend's state changes, watched on <frontend>/state:
 *   Initialised or Connected, backend InitWait: ops->connect (which reads
 *     the frontend's keys and connects, or calls xenbus_be_fatal); on
 *     success the backend goes Connected;
 *   Closing, Closed: ops->disconnect, the backend follows to that state;
 *   Initialising after Closing or Closed: ops->disconnect, the last error
 *     forgotten, the backend offers the device again (InitWait).
 * The ops run under b->lock, on the vCPU thread whose store request changed
 * the frontend's state; xenbus_be_stop() is called only with no vCPU thread
 * running (teardown), so no callback can be in flight then.
 */
#ifndef XENITH_HV_XENBUS_BE_H
#define XENITH_HV_XENBUS_BE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "xenith/xs_wire.h"

struct domain;
struct xs_store;
struct xenbus_be;

#define XENBUS_BE_PATH_MAX 96

struct xenbus_be_ops {
	const char *kind; /* "vbd", "vif": the watch token */
	/* Reads the frontend's keys and connects; 0, or xenbus_be_fatal() was called. */
	int (*connect)(struct xenbus_be *b);
	/* Lets go of what connect took; also when nothing is connected. */
	void (*disconnect)(struct xenbus_be *b);
};

struct xenbus_be {
	const struct xenbus_be_ops *ops;
	struct domain *d;
	struct xs_store *store;
	unsigned index;               /* the device's index among its type's */
	char be[XENBUS_BE_PATH_MAX], fe[XENBUS_BE_PATH_MAX];
	pthread_mutex_t lock;         /* state changes */
	_Atomic int state;            /* the backend's enum xenbus_state; written under lock */
	bool published, watching;
	_Atomic uint64_t connected_ns; /* CLOCK_MONOTONIC of the last connect, 0 = never */
	_Atomic uint64_t nr_connects;
	char last_error[160];         /* the last fatal's reason, "" if none; under lock */
};

/* Before the type writes its keys: the lock, the domain and the two directories' paths. */
void xenbus_be_init(struct xenbus_be *b, const struct xenbus_be_ops *ops, struct domain *d, struct xs_store *s,
		    unsigned index, const char *be_path, const char *fe_path);
/*
 * Creates the backend directory (dom0's, readable by the domain) or the
 * frontend one (the domain's, readable by dom0), as xl: 0 or -errno.
 */
int xenbus_be_mkdir(struct xenbus_be *b, bool backend);
/* After the keys are written: InitWait, and the watch on the frontend's state. what: "disk 0", for errors. */
int xenbus_be_start(struct xenbus_be *b, const char *what, struct errbuf *eb);
/* Removes the watch and both directories; the counters stay (for `xenith devices`). */
void xenbus_be_stop(struct xenbus_be *b);

void xenbus_be_set_state(struct xenbus_be *b, enum xenbus_state st);
/*
 * For a device's save: the backend's state and the last fatal's reason
 * (XenbusStateUnknown and "" for a backend that is not published: a
 * domain without a store).
 */
void xenbus_be_get_state(struct xenbus_be *b, enum xenbus_state *st, char *last_error, size_t size);
/*
 * For a device's restore: takes back what xenbus_be_get_state read on the
 * saved domain, without running ops->connect (the device reconnects its
 * rings from its own saved state) and without writing the store (restored
 * separately, byte for byte).  A Connected state counts as a connect
 * (connected_ns, nr_connects).  0, or -EINVAL: st is not a XenbusState,
 * last_error is longer than the backend keeps, or the backend is not
 * published and st is not Unknown.
 */
int xenbus_be_restore_state(struct xenbus_be *b, enum xenbus_state st, const char *last_error);
/*
 * A connection the frontend asked for cannot be made: as Xen's
 * xenbus_dev_fatal, the reason goes to error/<backend path> of the
 * backend's domain and the backend switches to Closing; the frontend must
 * close and start again.  (Xenith differs: the frontend's domain may read
 * the reason; Xen keeps it to dom0.)
 */
void xenbus_be_fatal(struct xenbus_be *b, int err, const char *msg);
/*
 * The frontend's number at key (relative to its directory): 0, -ERANGE
 * above 32 bits, or the store's -errno.  With present: a missing key is 0
 * with *present false; without: it is -ENOENT.
 */
int xenbus_be_read_u32(struct xenbus_be *b, const char *key, uint32_t *out, bool *present);

#endif
