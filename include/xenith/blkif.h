/* SPDX-License-Identifier: MIT */
/*
 * The block split driver's protocol, Xen's blkif shape: requests of up to
 * 11 segments, each a granted page and a sector range inside it, on a
 * shared ring (ring.h) of 32 slots; responses carry the request's id.
 *
 * Discovery and connection go through xenstore with Xen's blkif keys and
 * XenbusState machine (hv/vbd.h lists the keys and where Xenith differs).
 * A disk offers multi-queue-max-queues rings (Xen's multi-queue blkif),
 * each with a backend of its own.  For each queue the frontend
 * initialises its ring page, grants it to XENITH_BACKEND_DOMID (writable)
 * and allocates an unbound event channel for XENITH_BACKEND_DOMID.  Kicks
 * to the backend, by the backend's xenith-notify key: `exit`: EVTCHNOP_send
 * on the queue's port; `ioeventfd`: a 32-bit OUT of the queue number to
 * the disk's doorbell port (xenith-doorbell); `poll`: none while the
 * backend polls the ring, but when it asks (req_event, after an idle
 * spell) an EVTCHNOP_send as in `exit`.  The backend notifies the
 * frontend through the queue's event channel in every mode.
 *
 * (Hypercall 67, xenith_config, which did this before, is retired: -ENOSYS.)
 */
#ifndef XENITH_BLKIF_H
#define XENITH_BLKIF_H

#include <stdint.h>

#include "grant_table.h"
#include "ring.h"

#define BLKIF_OP_READ 0
#define BLKIF_OP_WRITE 1
#define BLKIF_OP_FLUSH_DISKCACHE 3 /* every completed write is on stable storage when this completes */
#define BLKIF_OP_DISCARD 5         /* struct blkif_request_discard */

#define BLKIF_MAX_SEGMENTS_PER_REQUEST 11
#define XENITH_SECTOR_SIZE 512u
#define XENITH_SECTORS_PER_PAGE 8u

struct blkif_request_segment {
	grant_ref_t gref;
	uint8_t first_sect, last_sect; /* inclusive, 0..7: sectors of the granted page */
	uint16_t pad;
};
_Static_assert(sizeof(struct blkif_request_segment) == 8, "blkif segment ABI");

struct blkif_request {
	uint8_t operation;   /* BLKIF_OP_* */
	uint8_t nr_segments; /* READ/WRITE: 1..BLKIF_MAX_SEGMENTS_PER_REQUEST */
	uint16_t handle;     /* the disk index */
	uint32_t pad;
	uint64_t id;         /* echoed in the response */
	uint64_t sector_number;
	struct blkif_request_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
};
_Static_assert(sizeof(struct blkif_request) == 112, "blkif_request ABI");

/* BLKIF_OP_DISCARD uses the same slot with this layout. */
struct blkif_request_discard {
	uint8_t operation;
	uint8_t flag;
	uint16_t handle;
	uint32_t pad;
	uint64_t id;
	uint64_t sector_number;
	uint64_t nr_sectors;
	uint8_t pad2[80];
};
_Static_assert(sizeof(struct blkif_request_discard) == sizeof(struct blkif_request), "discard ABI");

#define BLKIF_RSP_OKAY 0
#define BLKIF_RSP_ERROR -1      /* bad request or host I/O error */
#define BLKIF_RSP_EOPNOTSUPP -2 /* operation not supported by this disk */

struct blkif_response {
	uint64_t id;
	uint8_t operation;
	uint8_t pad;
	int16_t status;      /* BLKIF_RSP_* */
	uint32_t pad2;
};
_Static_assert(sizeof(struct blkif_response) == 16, "blkif_response ABI");

XENITH_RING_DEFINE(blkif, struct blkif_request, struct blkif_response)
_Static_assert(XENITH_RING_SLOTS(sizeof(union blkif_slot)) == 32, "32 requests in flight per disk");

#define XENITH_DISK_MAX_QUEUES 8u

#define XENITH_DISK_RO (1u << 0)
#define XENITH_DISK_DISCARD (1u << 1)
/*
 * Persistent grants (feature-persistent on both sides): the frontend keeps
 * every page it uses for the queue's I/O granted until it disconnects (it
 * cannot end access before: the backend holds them mapped) and does best
 * to reuse the same pages; the backend maps each once and reads and
 * writes them in place.
 */
#define XENITH_DISK_PERSISTENT (1u << 2)

#define XENITH_DISK_MODE_EXIT 0
#define XENITH_DISK_MODE_IOEVENTFD 1
#define XENITH_DISK_MODE_POLL 2

/* What a disk offers, as its backend's xenstore keys say (hv/vbd.h); not passed between guest and VMM. */
struct xenith_disk_info {
	uint64_t sectors;      /* of XENITH_SECTOR_SIZE bytes */
	uint32_t flags;        /* XENITH_DISK_* */
	uint32_t mode;         /* XENITH_DISK_MODE_* */
	uint32_t doorbell_port; /* mode ioeventfd: the port to kick (outl of the queue number); else 0 */
	uint32_t nr_queues;    /* rings the backend offers, 1..XENITH_DISK_MAX_QUEUES */
};

#endif
