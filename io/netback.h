/* SPDX-License-Identifier: MIT */
/*
 * The network backend: serves one queue of a vif (include/xenith/netif.h):
 * a TX ring (guest to wire) and an RX ring (wire to guest), moving frames
 * between them and one host port (io/netport.h), on a thread of its own.
 *
 * TX: each packet's slots (requests and extra-info slots) are copied out
 * of the ring once, then checked (netback_tx_parse: the slot count, the
 * first slot's size against the fragments, offset + length within each
 * granted page, extra-info types, the frame's length 14..1514); the
 * fragments are grant-copied into one frame; a blank checksum
 * (NETTXF_csum_blank) of UDP or TCP over IPv4 is filled in software; a
 * frame whose source MAC is not the vif's is dropped; the rest go to the
 * port in bursts of up to NET_PORT_BURST.  Every request gets a response
 * with its id: NETIF_RSP_OKAY (taken by the port), NETIF_RSP_ERROR
 * (malformed, oversize, a grant the guest had no right to use, a blank
 * checksum netback cannot fill), NETIF_RSP_DROPPED (spoofed source MAC,
 * port full); every extra-info slot NETIF_RSP_NULL.  A packet of more
 * than XENITH_NET_MAX_SLOTS_PER_PKT requests is dropped whole, every slot
 * of its chain answered NETIF_RSP_ERROR, however long the chain (Xen's
 * netback accepts up to 19 and disables the vif past its fatal_skb_slots,
 * 20 followers; Xenith takes netif.h's guaranteed 18 and never disables).
 *
 * RX: frames from the port (bursts of up to NET_PORT_BURST) are
 * grant-copied, one frame per buffer at offset 0 (a frame always fits a
 * page), into buffers the guest posted; the response's status is the
 * length.  A frame arriving with no buffer posted is dropped (counted:
 * no_rx_buffer); a buffer whose grant cannot be written gets
 * NETIF_RSP_ERROR and its frame is dropped (counted: bad_grant).
 *
 * A ring whose indices are impossible stops this queue (both of its
 * rings; the vif's other queues and the domain's other devices go on).
 *
 * Kicks arrive on one eventfd (netback_kick_fd()) for both rings: written
 * by the VMM for an event-channel send (mode exit, one channel or split
 * tx/rx channels alike) or by KVM for a doorbell write (mode ioeventfd).
 * The thread sleeps in ppoll on the kick eventfd and the port's rx_fd
 * (if the port has none, it looks at the port every millisecond, every
 * 50 us for 10 ms after a round with work).  In mode
 * poll the thread polls both rings and the port and sleeps (after asking
 * for a kick, with a final check) only after a millisecond with nothing to
 * do.  A TX packet whose slots are not all published yet waits: the
 * thread asks to be kicked when more arrive.
 *
 * Quiesce and a restored connect (below) are for save and migration.
 *
 * System calls on the thread: ppoll, read (the kick eventfd), write,
 * futex (the quiesce handshake; nothing else of its own; the port's are
 * the port's, see hv/confine.c).
 */
#ifndef XENITH_IO_NETBACK_H
#define XENITH_IO_NETBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "grant.h"
#include "netport.h"
#include "xenith/netif.h"

struct netback_config {
	unsigned index;   /* the vif's handle */
	unsigned queue;   /* which of the vif's queues this backend serves */
	uint32_t mode;    /* XENITH_NET_MODE_* */
	uint8_t mac[6];   /* the guest's MAC: the only source address its TX frames may carry */
	/*
	 * The queue's host side; the caller's to open and to close (after
	 * netback_close or while disconnected).  While connected only the
	 * netback thread calls it.
	 */
	struct net_port *port;
	void (*thread_init)(void); /* first call on the backend thread (the VMM confines it); NULL: none */
	/* Tests and fuzzing only: netback_connect starts no thread; netback_run_once does its work. */
	bool no_thread;
};

/* Why a frame was dropped. */
enum netback_drop {
	NETBACK_DROP_NONE = 0,
	NETBACK_DROP_BAD_REQUEST,  /* TX: malformed slots, length < 14, a blank checksum netback cannot fill */
	NETBACK_DROP_BAD_GRANT,    /* TX or RX: a grant copy refused (io/grant.h) */
	NETBACK_DROP_SPOOFED_MAC,  /* TX: source MAC is not the vif's */
	NETBACK_DROP_NO_RX_BUFFER, /* RX: a frame arrived with no buffer posted */
	NETBACK_DROP_PORT_FULL,    /* TX: the port took fewer frames than offered */
	NETBACK_DROP_OVERSIZE,     /* TX: longer than XENITH_NET_FRAME_MAX (GSO is not segmented) */
	NETBACK_DROP_QUIESCED,     /* RX: a frame from the port while the queue was quiesced (save, migration) */
	NETBACK_DROP_NR
};

struct netback_stats {
	uint64_t tx_packets, tx_bytes; /* guest to port: frames the port took */
	uint64_t rx_packets, rx_bytes; /* port to guest: frames written into posted buffers */
	uint64_t drops[NETBACK_DROP_NR]; /* by reason; [NETBACK_DROP_NONE] unused */
	uint64_t csum_filled;          /* TX frames whose blank checksum netback filled */
	bool connected, broken;
};

/* The counter's name in stats and JSON ("bad_request", "bad_grant", ...); NULL out of range. */
const char *netback_drop_name(enum netback_drop d);

struct netback;

/* Sets up the queue (kick eventfd, frame buffers); nothing runs yet.  msg gets the reason on failure. */
int netback_open(const struct netback_config *cfg, struct netback **out, char *msg, size_t msglen);
/* Disconnects if connected; does not close the port. */
void netback_close(struct netback *nb);
int netback_kick_fd(const struct netback *nb);

enum netback_ring { NETBACK_RING_TX, NETBACK_RING_RX };

/*
 * Starts serving the rings granted as tx_ref and rx_ref (both pages
 * writable to the backend, held until disconnect).  notify(opaque, ring)
 * tells the guest that responses are on that ring (with one event channel
 * the caller sends on it for both).  0, -EBUSY (connected), -ENOMEM, or
 * the grant check's -errno for a ring page.
 */
int netback_connect(struct netback *nb, struct grant_table *gt, grant_ref_t tx_ref, grant_ref_t rx_ref,
		    void (*notify)(void *opaque, enum netback_ring ring), void *opaque);
/* Stops the thread and lets go of the rings. */
void netback_disconnect(struct netback *nb);

/*
 * Quiesce, for save and relocation: the thread finishes the round it is
 * in (a round takes and answers whole: every TX slot it consumed has its
 * response, every RX buffer it took is filled or answered with an error),
 * its responses published and the guest notified as the rings ask, and
 * then takes nothing from either ring until netback_resume(); nothing is
 * left half-done in guest memory.  While quiesced it still reads its
 * port and drops what arrives (counted: quiesced), so that no frame waits
 * in a port to reach the guest long after; it sleeps in between, in every
 * mode.  Kicks that arrive are read; a resume looks at both rings anyway.
 *
 * 0 (also for a backend that is not connected, or is quiesced already),
 * or -ETIMEDOUT after timeout_ms with the vif, queue and what to look at
 * in msg; the backend then goes on serving as before.  A round never
 * blocks (a port's send and recv do not), so the timeout is for a thread
 * the host does not schedule.
 */
#define NETBACK_QUIESCE_TIMEOUT_MS 5000u
int netback_quiesce(struct netback *nb, unsigned timeout_ms, char *msg, size_t msglen);
/* Lets a quiesced (or restored) backend take requests again; no-op otherwise. */
void netback_resume(struct netback *nb);
/* True while connected and quiesced (after netback_quiesce or netback_connect_restored). */
bool netback_quiesced(const struct netback *nb);

/*
 * What a connected queue's backend needs to go on from where it is, in
 * another backend (another process or host) over the same guest memory.
 * After a quiesce nothing is in flight: on each ring req_cons ==
 * rsp_prod_pvt, and rsp_prod_pvt is the ring's published rsp_prod.
 */
struct netback_ring_state {
	grant_ref_t tx_ref, rx_ref;        /* the ring pages' grants */
	ring_idx_t tx_req_cons, tx_rsp_prod_pvt;
	ring_idx_t rx_req_cons, rx_rsp_prod_pvt;
	bool tx_cut;  /* the next TX request slots are the rest of a chain dropped whole (netback_tx_skip) */
	bool broken;  /* the queue stopped on impossible indices: its rings are not looked at again */
};

/* A quiesced, connected backend's ring state: 0, -ENOTCONN or -EBUSY (not quiesced). */
int netback_get_ring_state(const struct netback *nb, struct netback_ring_state *st);
/*
 * The checks netback_connect_restored makes of a saved state against the
 * rings' indices as published (tx_req_prod, tx_rsp_prod, rx_req_prod,
 * rx_rsp_prod, each read once by the caller), pure: nothing in flight
 * on either ring (req_cons == rsp_prod_pvt), rsp_prod_pvt == the ring's
 * published rsp_prod, and req_prod at most a ring's size past req_cons.
 * A broken queue's indices are not checked (its rings are never read).
 * 0, or -EPROTO with the ring, the values and the rule in msg.
 */
int netback_check_ring_state(const struct netback_ring_state *st, ring_idx_t tx_req_prod, ring_idx_t tx_rsp_prod,
			     ring_idx_t rx_req_prod, ring_idx_t rx_rsp_prod, char *msg, size_t msglen);
/*
 * As netback_connect, but attaches to rings that are in use already (their
 * guest memory restored) and goes on from st's indices instead of the
 * rings' rsp_prod.  st came from a file or a network: it is checked
 * against the shared rings (netback_check_ring_state).  The backend
 * starts quiesced until netback_resume().  0, or -EBUSY, -EPROTO, a ring
 * grant's -errno, -ENOMEM, with the vif, queue and reason in msg.
 */
int netback_connect_restored(struct netback *nb, struct grant_table *gt, const struct netback_ring_state *st,
			     void (*notify)(void *opaque, enum netback_ring ring), void *opaque, char *msg,
			     size_t msglen);
bool netback_connected(const struct netback *nb);
/* True once a ring's indices were found impossible and the queue stopped. */
bool netback_broken(const struct netback *nb);
/* Counters are read atomically; connected under the caller's connect lock. */
void netback_get_stats(const struct netback *nb, struct netback_stats *st);
/*
 * The counters as JSON members (no braces): "tx_packets":N,"tx_bytes":N,
 * "rx_packets":N,"rx_bytes":N,"drops":{"bad_request":N,...},"csum_filled":N,
 * "broken":B.  The length, or -1 if size is too small.
 */
int netback_stats_json(const struct netback *nb, char *buf, size_t size);

/*
 * Tests and fuzzing only, on a backend opened with no_thread and
 * connected: one round of the thread's work (a TX burst, then an RX
 * burst), on the caller's thread.  The slots consumed plus the frames
 * received, or -1 once the queue is broken.
 */
int netback_run_once(struct netback *nb);

/* ---- the checks, pure (unit-tested and fuzzed) ---- */

/* Extra-info slots a packet may carry: at most one of each type. */
#define NETBACK_TX_MAX_EXTRAS (XEN_NETIF_EXTRA_TYPE_MAX - 1u)
/* The most ring slots one packet can occupy before it is found malformed. */
#define NETBACK_TX_PKT_SLOTS (XENITH_NET_MAX_SLOTS_PER_PKT + NETBACK_TX_MAX_EXTRAS)

struct netback_tx_frag {
	grant_ref_t gref;
	uint16_t offset, len;
};

struct netback_tx_pkt {
	unsigned slots;     /* ring slots the packet occupies (all answered) */
	unsigned nfrags;    /* requests (one fragment each) */
	uint32_t len;       /* the frame's length: the first request's size */
	uint16_t flags;     /* the first request's NETTXF_* */
	enum netback_drop drop; /* NETBACK_DROP_NONE: well formed */
	/*
	 * Dropped before its chain ended (its last slot is a request with
	 * NETTXF_more_data): the request slots that follow, up to and with the
	 * first without NETTXF_more_data, are the rest of it (netback_tx_skip).
	 */
	bool cut;
	bool rest;          /* netback_tx_skip's: the rest of a cut packet, whose drop is counted already */
	/* Per slot: the request's id, and whether it is an extra-info slot (answered NETIF_RSP_NULL). */
	uint16_t id[NETBACK_TX_PKT_SLOTS];
	bool extra[NETBACK_TX_PKT_SLOTS];
	struct netback_tx_frag frag[XENITH_NET_MAX_SLOTS_PER_PKT]; /* valid when drop == NONE */
};

/*
 * Parses one TX packet from copies of the slots the guest published
 * (slots[0..avail), avail <= NETBACK_TX_PKT_SLOTS is enough).  Returns 1
 * with *pkt filled (pkt->slots >= 1 slots to consume and answer, and
 * pkt->drop the verdict), or 0 when the packet continues past avail (wait
 * for more).  A packet with more than XENITH_NET_MAX_SLOTS_PER_PKT requests,
 * more than NETBACK_TX_MAX_EXTRAS extra-info slots, or an extra-info flag
 * on a request other than the first ends at the slot that broke the rule
 * (pkt->slots) and is BAD_REQUEST, so the answer never needs more than
 * NETBACK_TX_PKT_SLOTS slots; when that slot says NETTXF_more_data,
 * pkt->cut is set and the caller takes the rest of the chain with
 * netback_tx_skip, so that the whole chain is dropped, as Xen's netback
 * drops a packet of too many slots, and no part of it is read as a packet.
 */
int netback_tx_parse(const union netif_tx_slot_req *slots, unsigned avail, struct netback_tx_pkt *pkt);

/*
 * The rest of a cut packet (see netback_tx_parse): consumes request slots
 * from slots[0..avail) up to and with the first without NETTXF_more_data,
 * at most NETBACK_TX_PKT_SLOTS of them.  Returns 1 with pkt->slots >= 1,
 * pkt->drop BAD_REQUEST, pkt->rest set and pkt->cut set when the chain
 * still goes on (the next call continues it); 0 when avail is 0.  Slots
 * already published are answered at once: nothing waits for the chain's end.
 */
int netback_tx_skip(const union netif_tx_slot_req *slots, unsigned avail, struct netback_tx_pkt *pkt);

/*
 * Fills the blank checksum of a UDP or TCP segment over IPv4 in an
 * Ethernet frame (the field's old contents are ignored).  0, or -EINVAL
 * when the frame is not an unfragmented IPv4 UDP/TCP packet whose headers
 * fit the frame.
 */
int netback_fill_csum(uint8_t *frame, uint32_t len);

#endif
