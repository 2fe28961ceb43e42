/* SPDX-License-Identifier: MIT */
/*
 * netfront: the guest side of a vif (include/xenith/netif.h), negotiated
 * through xenstore with Xen's netif key names, as Linux's xen-netfront
 * and Mini-OS's netfront do:
 *
 *   frontend device/vif/N:  backend, backend-id, handle (the VMM's);
 *     written here: tx-ring-ref, rx-ring-ref, event-channel (one queue) or
 *     queue-Q/{tx-ring-ref,rx-ring-ref,event-channel} (several), always
 *     multi-queue-num-queues (1 too: a reconnect must not see an old count),
 *     request-rx-copy=1, feature-rx-notify=1, feature-sg=0,
 *     feature-gso-tcpv4=0, feature-no-csum-offload=1 (the guest's stack
 *     checks every checksum: it cannot take blank ones), and state.
 *   backend (its "backend" key): mac, feature-rx-copy (must be 1),
 *     feature-sg, feature-gso-tcpv4, feature-no-csum-offload,
 *     multi-queue-max-queues, xenith-notify (exit|ioeventfd|poll),
 *     xenith-doorbell (ioeventfd: the port to write the queue number to).
 *
 * States, as Xen's netfront: wait for the backend's InitWait, write the
 * keys and Connected in one transaction (Xen's netback connects when the
 * frontend says Connected; it has no use for Initialised), wait for the
 * backend's Connected.  A refusal (backend Closing) is answered with the
 * errno the backend wrote to error/<backend dir>/error, after which the
 * vif is closed and set Initialising again, ready for another connect.
 *
 * One event channel per queue for both rings (Xen's "event-channel";
 * the split -tx/-rx form is not used).  Kicks follow the vif's mode as
 * blkfront's: exit: EVTCHNOP_send; ioeventfd: the queue number written to
 * xenith-doorbell; poll: EVTCHNOP_send only when the backend asked
 * (req_event), i.e. it went to sleep.
 *
 * TX: NETFRONT_TX_BUFS buffers of 2 KiB, two to a page, each page granted
 * read-only once at connect; a frame (<= 1514 bytes) is copied into one and
 * sent as a single slot (id = the buffer's number).  RX: NETFRONT_RX_BUFS
 * pages granted writable, posted at connect and re-posted as responses are
 * consumed (request at ring index i: id and buffer i % NETFRONT_RX_BUFS,
 * as Linux's netfront); a response spanning several buffers
 * (NETRXF_more_data) or with extra-info slots is dropped and counted.
 */
#ifndef MINIOS_NETFRONT_H
#define MINIOS_NETFRONT_H

#include "minios.h"
#include "xenith/netif.h"

#define NETFRONT_TX_BUFS 256u
#define NETFRONT_TX_BUF_SIZE 2048u
#define NETFRONT_RX_BUFS 256u

struct netfront_info {
	uint8_t mac[6];
	unsigned mode;           /* XENITH_NET_MODE_* */
	uint32_t doorbell_port;  /* ioeventfd mode */
	uint32_t nr_queues;      /* multi-queue-max-queues (1 when absent) */
	bool sg, gso_tcpv4, no_csum_offload;
};

struct netfront_stats {
	uint64_t tx_packets, tx_bytes, tx_errors, tx_full;
	uint64_t rx_packets, rx_bytes, rx_errors, rx_dropped_multi;
	uint64_t bad_responses;  /* ids or lengths no request of ours allows (a broken backend) */
	uint64_t kicks, waits;
};

struct netfront {
	unsigned index, queue;
	struct netfront_info info;
	struct netif_tx_sring *tx_sring;
	struct netif_rx_sring *rx_sring;
	struct netif_tx_front tx;
	struct netif_rx_front rx;
	uint32_t tx_ring_ref, rx_ring_ref, port;
	/* TX buffers: page of buffer i is tx_pages[i / 2], its grant tx_grefs[i / 2] */
	uint8_t *tx_pages[NETFRONT_TX_BUFS / 2];
	uint32_t tx_grefs[NETFRONT_TX_BUFS / 2];
	uint16_t tx_free[NETFRONT_TX_BUFS]; /* stack of free buffer numbers */
	unsigned tx_nfree;
	bool tx_busy[NETFRONT_TX_BUFS];
	uint8_t *rx_pages[NETFRONT_RX_BUFS];
	uint32_t rx_grefs[NETFRONT_RX_BUFS];
	bool rx_posting;         /* buffers are posted (false: the hostile TX-only flood) */
	bool rx_in_chain;        /* dropping the rest of a multi-buffer packet */
	unsigned tx_unpushed;
	struct netfront_stats st;
};

typedef void (*netfront_rx_fn)(void *ctx, const uint8_t *frame, size_t len);

/* What vif index offers, from its backend's keys: 0 or -errno (-XEN_ENOENT: no such vif). */
int netfront_info(unsigned index, struct netfront_info *info);
/*
 * Sets up nq queues (nfs[0..nq-1]: rings, buffers, ports) and connects
 * them; post_rx false leaves the RX ring empty (hostile tests).  0 or
 * -errno (the backend's reason).  nfs must stay where it is while connected.
 */
int netfront_connect_queues(struct netfront *nfs, unsigned index, unsigned nq, bool post_rx);
int netfront_connect(struct netfront *nf, unsigned index);
/*
 * The negotiation alone with rings and ports the caller set up (hostile
 * tests): writes the keys and Connected, waits for the backend; a refusal
 * returns the backend's errno and leaves the vif ready again.
 */
int netfront_connect_rings(unsigned index, unsigned nq, const uint32_t *tx_refs, const uint32_t *rx_refs,
			   const uint32_t *ports);
/* Closes the vif (every queue) and leaves it ready to connect again. */
int netfront_disconnect_vif(unsigned index);
/* netfront_disconnect_vif(), then releases the rings, buffers and ports of nfs[0..nq-1]. */
int netfront_disconnect(struct netfront *nfs, unsigned nq);

/* Queues one frame (14..NETFRONT_TX_BUF_SIZE bytes; flags NETTXF_*): 0, or -XEN_ENOSPC when no buffer is free. */
int netfront_send_flags(struct netfront *nf, const uint8_t *frame, size_t len, uint16_t flags);
static inline int netfront_send(struct netfront *nf, const uint8_t *frame, size_t len)
{
	return netfront_send_flags(nf, frame, len, 0);
}
/* Publishes the frames queued and kicks the backend if it asked. */
void netfront_flush(struct netfront *nf);
/* Takes TX responses: frees their buffers.  How many. */
unsigned netfront_tx_reap(struct netfront *nf);
/* Hands up to max received frames to fn, re-posts their buffers: how many frames. */
unsigned netfront_rx_poll(struct netfront *nf, netfront_rx_fn fn, void *ctx, unsigned max);
/* Kicks the backend as the vif's mode says (after pushing requests on either ring). */
void netfront_kick(struct netfront *nf);
/*
 * Returns once an RX or TX response is pending, one of extra[0..n) is
 * pending, or timeout_ns passed (> 0).  Asks the backend to notify first
 * (final check), so no response is missed.  Poll mode: spins (no
 * notifications), and does not look at extra.  Callers loop.
 */
void netfront_wait(struct netfront *nf, const uint32_t *extra, unsigned n, uint64_t timeout_ns);
/* The same for queues nfs[0..nq) of one vif: returns once any of them has a response pending. */
void netfront_wait_queues(struct netfront *nfs, unsigned nq, const uint32_t *extra, unsigned n,
			  uint64_t timeout_ns);

/* net.c: the programs net-sink, net-blast, net-echo */
int net_sink_main(const char *args);
int net_blast_main(const char *args);
int net_echo_main(const char *args);
/* net_hostile.c (test image) */
int net_hostile_main(const char *args);

#endif
