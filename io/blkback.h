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
