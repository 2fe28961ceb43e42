/* SPDX-License-Identifier: MIT */
/*
 * A disk's discovery and connection through xenstore, as Xen's blkback
 * does it (xen/include/public/io/blkif.h), so that a Xen frontend
 * (Mini-OS's, Linux's xen-blkfront) finds and connects it.
 *
 * For disk i of domain D (device id 51712 + 16 i: xvda, xvdb, ...) the
 * VMM writes, at each build of the domain:
 *
 *   /local/domain/0/backend/vbd/D/ID/   (owned by 0, readable by D)
 *     frontend, frontend-id, online, params, type, mode, device-type, dev,
 *     removable, sectors, sector-size, physical-sector-size, info,
 *     feature-flush-cache, feature-discard (discard-granularity,
 *     discard-alignment, discard-secure), feature-persistent,
 *     multi-queue-max-queues, state = 2 (InitWait);
 *     Xenith's own: xenith-notify (exit | ioeventfd | poll: how the
 *     frontend kicks, blkif.h) and xenith-doorbell (the ioeventfd port)
 *   /local/domain/D/device/vbd/ID/      (owned by D, readable by 0)
 *     backend, backend-id, virtual-device, device-type, state = 1
 *
 * The frontend writes ring-ref and event-channel (one queue), or
 * multi-queue-num-queues and queue-N/ring-ref, queue-N/event-channel;
 * optionally feature-persistent = 1 and protocol = x86_64-abi; then its
 * state 3 (Initialised).  The backend connects every queue and answers 4
 * (Connected), or, when it cannot (a missing or bad key, a ring page
 * already in use, a grant or port that does not check out), writes the
 * reason to /local/domain/0/error/backend/vbd/D/ID/error and answers 5
 * (Closing), as Xen's xenbus_dev_fatal does.  Frontend Closing or Closed:
 * every queue is disconnected (requests the backend took are finished
 * first) and the backend follows to the same state; frontend Initialising
 * after that: the backend offers the disk again (InitWait).
 *
 * Where Xenith differs from Xen: rings are one page (no
 * max-ring-page-order); no indirect segments, no barriers
 * (feature-flush-cache only); persistent grants are used only when both
 * sides set feature-persistent, but Xenith's frontend keeps its pages
 * granted for the whole connection (no per-request grant reuse limits);
 * the xenith-* keys; the backend's state machine runs in the VMM, and
 * hotplug-status is never written (there are no hotplug scripts).
 *
 * The watch callback runs on the vCPU thread whose store request changed
 * the frontend's state; vbd_unpublish() is called only with no vCPU
 * thread running (teardown), so no callback can be in flight then.
 */
#ifndef XENITH_HV_VBD_H
#define XENITH_HV_VBD_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "xenbus_be.h"
#include "xenith/xs_wire.h"

struct domain;
struct xs_store;

/* The device's xenstore half: the shared backend handshake (xenbus_be.h). */
struct vbd {
	struct xenbus_be xb;
};

uint32_t vbd_devid(unsigned index);
int vbd_publish(struct vbd *v, struct domain *d, struct xs_store *s, unsigned index, struct errbuf *eb);
void vbd_unpublish(struct vbd *v);

#endif
