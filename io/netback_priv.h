/* SPDX-License-Identifier: MIT */
/*
 * What netback.c (the queue's thread, connect and disconnect) and
 * netback_relocate.c (quiesce, ring state, a restored connect) share:
 * the backend's state.  Not for other files.
 */
#ifndef XENITH_IO_NETBACK_PRIV_H
#define XENITH_IO_NETBACK_PRIV_H

#include <pthread.h>
#include <stdatomic.h>

#include "netback.h"

#define PAGE 4096u
#define BURST NET_PORT_BURST

struct netback {
	struct netback_config cfg;
	int kick_fd;
	uint8_t *txbuf, *rxbuf;             /* BURST frames each */
	struct netback_tx_pkt txp[BURST];   /* the TX burst being handled */
	struct net_frame txf[BURST], rxf[BURST];
	unsigned txf_pkt[BURST];            /* txf[i] is the frame of txp[txf_pkt[i]] */

	/* Connection: set before the thread starts, cleared after it ends. */
	struct grant_table *gt;
	struct grant_map tx_map, rx_map;
	struct netif_tx_back tx;
	struct netif_rx_back rx;
	ring_idx_t tx_waiting;              /* slots of a TX packet published only in part */
	bool tx_cut;                        /* the next TX slots are the rest of a dropped chain */
	bool port_dead;                     /* recv failed: the port is not read again */
	unsigned fast_ticks;                /* sleeps left at NO_RX_FD_FAST_NS (a port without rx_fd) */
	void (*notify)(void *opaque, enum netback_ring ring);
	void *opaque;
	pthread_t thread;
	bool running;
	atomic_bool stop, broken;
	/*
	 * Quiesce: pause asks the thread to take nothing more from the rings;
	 * at the end of the round it is in, it sets acked (under qlock, while
	 * pause is still set) and signals qcond.  Who sets or clears pause
	 * holds qlock, so a quiesce that gives up cannot miss an ack made just
	 * before, and netback_quiesced() reads what the thread wrote before
	 * its ack (qlock orders both).
	 */
	atomic_bool pause;
	bool acked;                         /* under qlock */
	pthread_mutex_t qlock;
	pthread_cond_t qcond;               /* on CLOCK_MONOTONIC */
	bool qlock_ready;

	_Atomic uint64_t st_tx_packets, st_tx_bytes, st_rx_packets, st_rx_bytes, st_csum_filled;
	_Atomic uint64_t st_drops[NETBACK_DROP_NR];
};

/* Maps both ring pages, writable, held while connected: 0, or the grant check's -errno with neither held. */
int netback_map_rings(struct netback *nb, struct grant_table *gt, grant_ref_t tx_ref, grant_ref_t rx_ref);
/*
 * The rest of a connect once both ring pages are mapped: fresh indices at
 * the rings' rsp_prod, or a restored queue's (from, checked already), in
 * which case it starts quiesced.  Lets go of the ring pages on failure.
 */
int netback_attach(struct netback *nb, struct grant_table *gt, const struct netback_ring_state *from,
		   void (*notify)(void *opaque, enum netback_ring ring), void *opaque);
/* Wakes the thread as a kick does: it looks at the rings (or at pause and stop) again. */
void netback_wake(struct netback *nb);

#endif
