/* SPDX-License-Identifier: MIT */
#ifndef MINIOS_BLKFRONT_H
#define MINIOS_BLKFRONT_H

#include "minios.h"
#include "xenith/blkif.h"

struct blkfront {
	unsigned index;
	struct xenith_disk_info info;
	struct blkif_sring *sring;
	struct blkif_front ring;
	uint32_t ring_ref, port;
	uint64_t kicks, waits;
	uint64_t spin_ns;      /* exit/ioeventfd: poll the response ring this long before blocking */
};

int blkfront_info(unsigned index, struct xenith_disk_info *info);
/* Sets up the ring, grants it, allocates the event channel and connects: 0 or -errno. */
int blkfront_connect(struct blkfront *bf, unsigned index);
int blkfront_disconnect(struct blkfront *bf);
/* Publishes the requests written and kicks the backend if it asked (by the disk's mode). */
void blkfront_push(struct blkfront *bf);
/*
 * Returns once a response is pending: polls in mode poll; else polls up to
 * spin_ns, then sleeps on the event channel.
 */
void blkfront_wait(struct blkfront *bf);

/* blk.c */
int blk_main(const char *args);

#endif
