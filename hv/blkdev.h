/* SPDX-License-Identifier: MIT */
/*
 * A domain's virtual disks: per `disk` key, one io/blkback per queue
 * (ring), opened when the domain is built (a disk that cannot be opened
 * stops the build with the reason), connected when the guest asks
 * (xenith_config, blkif.h), with each queue's kicks wired by mode: an event
 * channel bound to the backend's eventfd (exit), a KVM ioeventfd on the
 * doorbell port matching the queue number (ioeventfd), or nothing (poll).
 */
#ifndef XENITH_HV_BLKDEV_H
#define XENITH_HV_BLKDEV_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct domain;
struct vcpu;
struct blkback;

#include "xenith/blkif.h"

struct domain_disk_queue {
	struct domain *d;
	struct blkback *b;
	uint32_t port;     /* the guest's event channel while connected, else 0 */
};

struct domain_disk {
	unsigned nr_queues;
	struct domain_disk_queue q[XENITH_DISK_MAX_QUEUES];
};

/* After guest memory and the grant table exist. */
int domain_disks_open(struct domain *d, struct errbuf *eb);
/* Before guest memory goes away. */
void domain_disks_close(struct domain *d);
/*
 * Every queue of every disk as a JSON array (path, mode, connection state,
 * request counters), for the control socket's "disks" command.  Returns
 * the length, or -1 if size is too small.
 */
int domain_disks_json(struct domain *d, char *buf, size_t size);
/* The xenith_config hypercall. */
long domain_disk_config(struct vcpu *v, uint64_t cmd, uint64_t index, uint64_t arg);

#endif
