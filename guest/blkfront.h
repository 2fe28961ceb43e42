/* SPDX-License-Identifier: MIT */
#ifndef MINIOS_BLKFRONT_H
#define MINIOS_BLKFRONT_H

#include "minios.h"
#include "xenith/blkif.h"

struct blkfront {
	unsigned index, queue;
	struct xenith_disk_info info;
	struct blkif_sring *sring;
	struct blkif_front ring;
	uint32_t ring_ref, port;
	bool persistent;       /* connected with persistent grants: I/O pages stay granted until disconnect */
	uint64_t kicks, waits;
	uint64_t spin_ns;      /* exit/ioeventfd: poll the response ring this long before blocking */
	bool spin_auto;        /* ... or as long as recent spins suggest (blkfront_wait) */
	uint64_t spin_hit_ewma_ns; /* spin_auto: how long spins that saw a response took lately */
	unsigned spin_misses, spin_probe;
};

/* What disk index offers, from its backend's xenstore keys (hv/vbd.h): 0 or -errno (-ENOENT: no such disk). */
int blkfront_info(unsigned index, struct xenith_disk_info *info);
/*
 * Sets up nq rings (bfs[0..nq-1]: ring page granted, unbound port) and
 * connects them as queues 0..nq-1 of the disk through xenstore;
 * persistent: ask for persistent grants if the disk offers them
 * (bfs[q].persistent says if so).  0 or -errno (the backend's reason).
 */
int blkfront_connect_queues(struct blkfront *bfs, unsigned index, unsigned nq, bool persistent);
/* One queue, no persistent grants. */
int blkfront_connect(struct blkfront *bf, unsigned index);
/* Queue 0 alone (queue must be 0: queues connect together). */
int blkfront_connect_queue(struct blkfront *bf, unsigned index, unsigned queue, bool persistent);
/*
 * The negotiation alone, with rings and ports the caller set up (hostile
 * tests): writes the keys, Initialised, and waits for the backend; a
 * refusal returns the backend's errno and leaves the disk ready again.
 */
int blkfront_connect_rings(unsigned index, unsigned nq, const uint32_t *refs, const uint32_t *ports,
			   bool persistent);
/* Disconnects every queue of the disk and leaves it ready to connect again. */
int blkfront_disconnect_disk(unsigned index);
/* blkfront_disconnect_disk(), then releases bf's port and ring. */
int blkfront_disconnect(struct blkfront *bf);
/*
 * Releases the port and ring of a queue whose disk was disconnected (here or
 * through another queue); the ring page is freed once its grant is ended.
 */
void blkfront_release(struct blkfront *bf);
/* Publishes the requests written and kicks the backend if it asked (by the disk's mode). */
void blkfront_push(struct blkfront *bf);
/*
 * Returns once a response is pending: polls in mode poll; else polls up to
 * spin_ns (spin_auto: up to twice what recent successful spins took, at
 * most 100 us, and only now and then once spins keep running out), then
 * sleeps on the event channel.
 */
void blkfront_wait(struct blkfront *bf);

/* blk.c */
int blk_main(const char *args);
/* blkchurn.c: `blk churn` */
int blk_churn(const char *args);

#endif
