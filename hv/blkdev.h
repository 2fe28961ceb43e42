/* SPDX-License-Identifier: MIT */
/*
 * A domain's virtual disks: per `disk` key, one io/blkback per queue
 * (ring), opened when the domain is built (a disk that cannot be opened
 * stops the build with the reason), connected when the guest asks
 * (xenith_config, blkif.h), with each queue's kicks wired by mode: an event
 * channel bound to the backend's eventfd (exit), a KVM ioeventfd on the
 * doorbell port matching the queue number (ioeventfd), or nothing (poll).
 *
 * Before any queue opens an image, the domain locks it (hv/disklock.h:
 * exclusive when writable, shared when ro=1) and refuses an image listed
 * twice, whatever the spelling of its path.  The locks are held from the
 * first build until domain_disks_unlock(), across reboots and restarts, so
 * no other VMM can take an image while this domain is rebuilt.
 */
#ifndef XENITH_HV_BLKDEV_H
#define XENITH_HV_BLKDEV_H

#include <stddef.h>
#include <stdint.h>

#include "disklock.h"
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
	struct disk_lock lock;  /* survives domain_disks_close(): see above */
};

/* After guest memory and the grant table exist; takes the locks at the first call. */
int domain_disks_open(struct domain *d, struct errbuf *eb);
/* Before guest memory goes away; the locks stay. */
void domain_disks_close(struct domain *d);
/* When the domain goes for good: lets go of the images' locks. */
void domain_disks_unlock(struct domain *d);
/*
 * Every queue of every disk as a JSON array (path, mode, connection state,
 * request counters), for the control socket's "disks" command.  Returns
 * the length, or -1 if size is too small.
 */
int domain_disks_json(struct domain *d, char *buf, size_t size);
/* The xenith_config hypercall. */
long domain_disk_config(struct vcpu *v, uint64_t cmd, uint64_t index, uint64_t arg);

#endif
