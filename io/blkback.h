/* SPDX-License-Identifier: MIT */
/*
 * The block backend: serves one disk's ring (include/xenith/blkif.h) from
 * a regular file or a block device with io_uring, on a thread of its own.
 *
 * Every request is copied out of the ring, then checked (operation,
 * segment count and bounds, sector range, read-only disk) before anything
 * is done; data moves by grant copy (io/grant.h) between the guest's
 * granted pages and per-slot bounce buffers registered with io_uring, or,
 * with persistent grants, by I/O straight into granted pages the backend
 * keeps mapped (checked by grant_map) for the whole connection.
 * Invalid requests and host I/O errors become error responses; the
 * backend keeps serving.  A ring whose indices are impossible stops this
 * disk (and only it).  Flush is fdatasync through io_uring; discard punches
 * a hole (files) or BLKDISCARD (devices).
 *
 * Kicks arrive on an eventfd (blkback_kick_fd()): written by the VMM for an
 * event-channel send (mode exit) or by KVM for a doorbell write (mode
 * ioeventfd).  In mode poll the thread polls the ring and never sleeps;
 * while requests are in flight it enters the kernel each round, since
 * io_uring completes some I/O by task work that runs only then.
 */
#ifndef XENITH_IO_BLKBACK_H
#define XENITH_IO_BLKBACK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "grant.h"
#include "xenith/blkif.h"

struct blkback_config {
	const char *path;
	unsigned index;      /* the disk's handle */
	unsigned queue;      /* which of the disk's rings this backend serves */
	uint32_t mode;       /* XENITH_DISK_MODE_* */
	uint32_t doorbell_port; /* the guest's kick port in mode ioeventfd (the VMM chose it), else 0 */
	bool ro, direct, sqpoll;
	bool persistent;     /* offer persistent grants (zero-copy I/O into the guest's pages) */
	/* If set: the file opened must be this one (st_dev/st_ino, or st_rdev for a block
	 * device), e.g. the one the caller locked; another file at path is refused. */
	const struct stat *same_as;
	void (*thread_init)(void); /* first call on the backend thread (the VMM confines it); NULL: none */
};

struct blkback_stats {
	uint64_t requests, errors, bad_requests, reads, writes, flushes, discards;
	uint64_t datasyncs;       /* flushes whose fdatasync completed, counted before their response */
	uint64_t copied, in_place; /* reads and writes through bounce buffers (grant copies) / in granted pages */
	uint64_t read_bytes, write_bytes; /* moved by reads and writes that succeeded */
	uint64_t persistent_maps; /* grant mappings held for the connection */
	bool connected, persistent, broken;
};

struct blkback;

/* Opens the backing store and sets up io_uring; nothing runs yet.  msg gets the reason on failure. */
int blkback_open(const struct blkback_config *cfg, struct blkback **out, char *msg, size_t msglen);
void blkback_close(struct blkback *b);
/*
 * Tests only: submits one operation to an unconnected backend's ring: an
 * openat of "/" (IORING_OP_OPENAT), an fsync, else a read of the disk's first sector,
 * through the registered file (fixed) or its descriptor; the completion's
 * result.  The ring refuses all but its own operations on its own files.
 */
int blkback_test_op(struct blkback *b, uint8_t opcode, bool fixed);

void blkback_info(const struct blkback *b, struct xenith_disk_info *info);
int blkback_kick_fd(const struct blkback *b);
bool blkback_is_direct(const struct blkback *b);

/*
 * Starts serving the ring granted as ring_ref; notify(opaque) tells the
 * guest that responses are there.  persistent: the frontend keeps its I/O
 * pages granted until disconnect, and the backend maps them once and does
 * I/O in place.  0, -EBUSY (connected), -EOPNOTSUPP (persistent asked of a
 * disk that does not offer it), -ENOMEM, or the grant check's -errno for
 * the ring page.
 */
int blkback_connect(struct blkback *b, struct grant_table *gt, grant_ref_t ring_ref, bool persistent,
		    void (*notify)(void *opaque), void *opaque);
/* Stops the thread after the requests in flight complete, and lets go of the ring. */
void blkback_disconnect(struct blkback *b);

/*
 * Quiesce, for save and relocation: the backend takes no new request from
 * the ring, waits until every request it took has completed, its response
 * is published (rsp_prod) and the guest notified as the ring asks
 * (rsp_event), and lets go of its persistent-grant mappings (their
 * GTF_reading/GTF_writing cleared, as a disconnect does), so that no grant
 * of the guest is held but the ring's own.  Kicks that arrive meanwhile are
 * not lost: blkback_resume() makes the backend look at the ring.
 *
 * 0 (also for a backend that is not connected, or is quiesced already), or
 * -ETIMEDOUT after timeout_ms with the disk, queue and number of requests
 * still in flight in msg; the backend then goes on serving as before.
 */
#define BLKBACK_QUIESCE_TIMEOUT_MS 10000u
int blkback_quiesce(struct blkback *b, unsigned timeout_ms, char *msg, size_t msglen);
/* Lets a quiesced (or restored) backend take requests again; no-op otherwise. */
void blkback_resume(struct blkback *b);
/* True while connected and quiesced (after blkback_quiesce or blkback_connect_restored). */
bool blkback_quiesced(const struct blkback *b);

/*
 * What a connected ring's backend needs to go on from where it is, in
 * another backend (another process or host) over the same guest memory.
 * After a quiesce nothing is in flight: req_cons == rsp_prod_pvt, and
 * rsp_prod_pvt is the ring's published rsp_prod.
 */
struct blkback_ring_state {
	grant_ref_t ring_ref;   /* the ring page's grant */
	bool persistent;        /* the frontend asked for persistent grants */
	ring_idx_t req_cons;    /* requests taken from the ring */
	ring_idx_t rsp_prod_pvt; /* responses written (all published, after a quiesce) */
};

/* A quiesced, connected backend's ring state: 0, -ENOTCONN or -EBUSY (not quiesced). */
int blkback_get_ring_state(const struct blkback *b, struct blkback_ring_state *st);
/*
 * As blkback_connect, but attaches to a ring that is in use already (its
 * guest memory restored) and goes on from st's indices instead of starting
 * a fresh ring.  st came from a file or a network: it is checked against
 * the shared ring (read once): nothing in flight (req_cons ==
 * rsp_prod_pvt), rsp_prod_pvt == the published rsp_prod, and req_prod at
 * most a ring's size past req_cons.  The backend starts quiesced (takes no
 * request) until blkback_resume().  0, or -EBUSY, -EOPNOTSUPP, -EPROTO, the
 * ring grant's -errno, -ENOMEM, with the reason in msg.
 */
int blkback_connect_restored(struct blkback *b, struct grant_table *gt, const struct blkback_ring_state *st,
			     void (*notify)(void *opaque), void *opaque, char *msg, size_t msglen);
bool blkback_connected(const struct blkback *b);
/* The guest page the connected ring lives in (NULL when not connected); the caller's connect lock. */
const void *blkback_ring_page(const struct blkback *b);
/* True once the ring's indices were found impossible and the disk stopped. */
bool blkback_broken(const struct blkback *b);
/* Counters are read atomically; connected/persistent under the caller's connect lock. */
void blkback_get_stats(const struct blkback *b, struct blkback_stats *st);

/*
 * The checks on a request copied out of the ring (pure; unit-tested):
 * BLKIF_RSP_OKAY with the request's sector count in *nsectors, or the
 * error response it gets.
 */
int blkback_check_request(const struct blkif_request *r, uint64_t disk_sectors, bool ro,
			  uint64_t *nsectors);

#endif
