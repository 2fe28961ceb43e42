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
struct device_ops;

/* The type (device.h): one instance per `disk` key, named vbd0, vbd1, ... */
extern const struct device_ops vbd_device_ops;

/* The domain's virtual disks. */
unsigned blkdev_count(struct domain *d);
/* Disk i's queue q's backend (NULL past the end or while disconnected); *port its event channel or 0. */
struct blkback *blkdev_queue(struct domain *d, unsigned disk, unsigned queue, uint32_t *port);
/* A queue's counters, read under the disks' lock; -ENOENT when there is no such queue. */
int blkdev_get_stats(struct domain *d, unsigned disk, unsigned queue, struct blkback_stats *st);
/*
 * A migration's handover of the images' locks (hv/migrate.c): the sender
 * drops them once its disks are quiesced (keeping the images open), and
 * takes them back if the receiver never starts the domain; the receiver,
 * whose domain was built without them (domain_opts.defer_disk_locks),
 * takes them once it has the whole stream, waiting up to wait_ms for a
 * lock still in the way.  0, or -errno with eb naming the disk and holder.
 */
struct errbuf;
void blkdev_drop_locks(struct domain *d);
int blkdev_take_locks(struct domain *d, unsigned wait_ms, struct errbuf *eb);
/* The image of disk i, opened (and locked unless deferred; the jail lets the VMM open that file only), or NULL. */
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

/*
 * Save and restore (vbd_device_ops; device.h).  Quiesce quiesces every
 * queue (io/blkback.h: nothing in flight, responses published, persistent
 * grants let go), each within BLKBACK_QUIESCE_TIMEOUT_MS and all of the
 * domain's devices by one deadline (DEVICE_QUIESCE_MS, device.h); save then writes
 * one record per disk, little-endian (lib/savebuf.h):
 *
 *   u16 version             VBD_SAVE_VERSION
 *   u16 nr_queues           the disk's queues (config queues=, or vCPUs)
 *   u8  xenbus_state        the backend's enum xenbus_state (xenbus_be.h)
 *   str last_error          u32 length + bytes: the last fatal's reason, < 160 bytes
 *   nr_queues times, 18 bytes each:
 *     u8  connected         0 or 1; connected queues are 0..n-1, and n > 0
 *                           exactly when xenbus_state is Connected
 *     u8  persistent        0 or 1: the frontend asked for persistent grants
 *     u32 port              the guest's event channel (1 .. XENITH_NR_EVTCHN-1)
 *     u32 ring_ref          the ring page's grant reference
 *     u32 req_cons          requests taken (== rsp_prod_pvt: none in flight)
 *     u32 rsp_prod_pvt      responses written, all published
 *   (an unconnected queue's fields after `connected` are all 0)
 *
 * Restore takes it on the new domain's disk, built from the same config and
 * connected as for a boot (no ring), after its guest memory, grant table
 * and event channels (every backend port turned unbound, remote domain
 * XENITH_BACKEND_DOMID) were restored: it checks the record (-EPROTO) and
 * that it fits this domain (-EINVAL: the queue count, each port unbound,
 * each ring grant, the indices against the ring in guest memory), binds
 * each port, attaches each backend to its ring from the saved indices,
 * and sets the xenbus state without connecting again or writing the store
 * (restored separately).  All or nothing: a refusal leaves no port bound
 * and no ring attached.  The disk stays quiesced until resume.
 */
#define VBD_SAVE_VERSION 1u

#endif
