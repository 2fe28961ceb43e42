/* SPDX-License-Identifier: MIT */
/*
 * The block device type ("vbd", device.h): one instance per `disk` key,
 * with one io/blkback per queue (ring).  create locks the images (below)
 * and takes a doorbell port for a mode=ioeventfd disk (portalloc.h);
 * connect opens the queues (a disk that cannot be opened stops the build
 * with the reason) at every build, wiring each queue's kicks by mode: an
 * event channel bound to the backend's eventfd when the guest connects
 * (exit), a KVM ioeventfd on the disk's doorbell port matching the queue
 * number (ioeventfd), or nothing (poll).  The guest finds the disk and
 * connects its queues through xenstore (vbd.h: Xen's blkif keys and
 * XenbusState machine); connect publishes the disk's directories there.
 *
 * Before any queue opens an image, the domain locks it (hv/disklock.h:
 * exclusive when writable, shared when ro=1) and refuses an image listed
 * twice, whatever the spelling of its path.  The locks are held from
 * create until destroy, across reboots and restarts, so no other VMM can
 * take an image while this domain is rebuilt.
 */
#ifndef XENITH_HV_BLKDEV_H
#define XENITH_HV_BLKDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "xenith/blkif.h"

struct domain;
struct vcpu;
struct blkback;
struct blkback_stats;

/* The domain's virtual disks. */
unsigned blkdev_count(struct domain *d);
/* Disk i's queue q's backend (NULL past the end or while disconnected); *port its event channel or 0. */
struct blkback *blkdev_queue(struct domain *d, unsigned disk, unsigned queue, uint32_t *port);
/* A queue's counters, read under the disks' lock; -ENOENT when there is no such queue. */
int blkdev_get_stats(struct domain *d, unsigned disk, unsigned queue, struct blkback_stats *st);
/* The locked image of disk i (the jail lets the VMM open that file only), or NULL. */
const struct stat *blkdev_image_stat(struct domain *d, unsigned disk);

/*
 * Every queue of every disk as a JSON array (path, mode, connection state,
 * request counters), for the control socket's "disks" command.  Returns
 * the length, or -1 if size is too small.
 */
int domain_disks_json(struct domain *d, char *buf, size_t size);
/* For vbd.c: the disk's queues, what it offers, connecting and disconnecting its rings. */
unsigned blkdev_nr_queues(struct domain *d, unsigned index);
void blkdev_info(struct domain *d, unsigned index, struct xenith_disk_info *info);
/*
 * Connects queues 0..nq-1 to the frontend's rings and ports, all or none;
 * persistent grants when asked and the disk offers them.  0, or -errno
 * with the reason in msg.
 */
int blkdev_connect_rings(struct domain *d, unsigned index, unsigned nq, const uint32_t *refs,
			 const uint32_t *ports, bool persistent, char *msg, size_t msglen);
/* Disconnects every queue of the disk (requests taken are finished first). */
void blkdev_disconnect_rings(struct domain *d, unsigned index);

#endif
