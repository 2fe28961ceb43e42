/* SPDX-License-Identifier: MIT */
/*
 * A vif's discovery and connection through xenstore, as Xen's netback
 * does it (xen/include/public/io/netif.h, Linux's xen-netback/xenbus.c),
 * so that a Xen frontend (Mini-OS's netfront, Linux's xen-netfront) finds
 * and connects it.
 *
 * For vif N (its handle: 0, 1, ... in the order of the `vif` keys) of
 * domain D the VMM writes, at each build of the domain:
 *
 *   /local/domain/0/backend/vif/D/N/   (owned by 0, readable by D)
 *     frontend, frontend-id, online = 1, handle = N, mac,
 *     feature-sg = 1, feature-gso-tcpv4 = 0, feature-rx-copy = 1,
 *     feature-rx-flip = 0, feature-no-csum-offload = 0,
 *     feature-split-event-channels = 1, multi-queue-max-queues,
 *     state = 2 (InitWait);
 *     Xenith's own: xenith-notify (exit | ioeventfd | poll: how the
 *     frontend kicks, as for disks) and xenith-doorbell (the ioeventfd
 *     port; the value written to it is the queue number; 0 otherwise)
 *   /local/domain/D/device/vif/N/      (owned by D, readable by 0)
 *     backend, backend-id, handle = N, mac, state = 1
 *
 * The frontend writes, for one queue: tx-ring-ref, rx-ring-ref and
 * event-channel (one channel for both rings) or event-channel-tx and
 * event-channel-rx (split); for several: multi-queue-num-queues = Q and
 * the same keys under queue-0/ .. queue-(Q-1)/; and request-rx-copy = 1,
 * feature-rx-notify = 1 (both required, as Linux's netback requires
 * them), optionally feature-sg, feature-gso-tcpv4,
 * feature-no-csum-offload; then its state 3 (Initialised) or 4
 * (Connected).  The backend connects every queue and answers 4
 * (Connected), or, when it cannot (a missing or bad key, a ring page
 * already in use, a grant or port that does not check out), writes the
 * reason to /local/domain/0/error/backend/vif/D/N/error and answers 5
 * (Closing), as Xen's xenbus_dev_fatal does.  Frontend Closing or Closed:
 * every queue is disconnected and the backend follows to the same state;
 * frontend Initialising after that: the vif is offered again (InitWait).
 *
 * Where Xenith differs from Xen: the backend's feature-no-csum-offload
 * says whether it fills blank TX checksums (0: it does; Xen's backends
 * take the key from the frontend only); feature-gso-tcpv4 = 0 (GSO
 * packets are dropped as oversize, not segmented); no ctrl-ring, no
 * multicast control, no feature-ipv6-csum-offload; each RX frame fits
 * one posted buffer (NETRXF_more_data is never set); rings are one page;
 * the xenith-* keys; the state machine runs in the VMM and
 * hotplug-status is never written (no hotplug scripts).
 *
 * The watch callback runs on the vCPU thread whose store request changed
 * the frontend's state; vif_unpublish() is called only with no vCPU
 * thread running (teardown), so no callback can be in flight then.
 */
#ifndef XENITH_HV_VIF_H
#define XENITH_HV_VIF_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "xenbus_be.h"
#include "xenith/xs_wire.h"

struct domain;
struct xs_store;

/* The device's xenstore half: the shared backend handshake (xenbus_be.h). */
struct vif {
	struct xenbus_be xb;
};

int vif_publish(struct vif *v, struct domain *d, struct xs_store *s, unsigned index, struct errbuf *eb);
void vif_unpublish(struct vif *v);

#endif
