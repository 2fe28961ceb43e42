/* SPDX-License-Identifier: MIT */
/*
 * The network device type ("vif", device.h): one instance per `vif` key,
 * with one io/netback per queue (a TX and an RX ring) and one port per
 * queue (io/netport.h: a tap queue, or an end of an in-memory pair).
 *
 * create opens the ports (a tap is created, or attached, and placed in its
 * bridge or namespace then, while the VMM still has its privileges) and
 * takes a doorbell port for a mode=ioeventfd vif (portalloc.h); they are
 * kept until destroy, across reboots.  connect opens the queues' backends
 * at every build, wiring each queue's kicks by mode: the guest's event
 * channel(s) bound to the backend's eventfd when the guest connects
 * (exit), a KVM ioeventfd on the vif's doorbell port matching the queue
 * number (ioeventfd), or nothing (poll); and publishes the vif's
 * directories in the domain's store (vif.h: Xen's netif keys and the
 * XenbusState machine).
 */
#ifndef XENITH_HV_NETDEV_H
#define XENITH_HV_NETDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct domain;
struct device_ops;
struct netback;
struct netback_stats;

/* What a vif offers its frontend (vif.c writes it to the store). */
struct netdev_info {
	uint8_t mac[6];
	unsigned nr_queues;
	uint32_t doorbell_port; /* mode ioeventfd, else 0 */
	const char *mode;       /* "exit", "ioeventfd", "poll" */
};

extern const struct device_ops vif_device_ops;

/* The domain's vifs. */
unsigned netdev_count(struct domain *d);
/* Vif i's queue q's counters; -ENOENT when there is no such queue. */
int netdev_get_stats(struct domain *d, unsigned vif, unsigned queue, struct netback_stats *st);
/* Vif i's queue q's backend (NULL past the end); for tests. */
struct netback *netdev_queue(struct domain *d, unsigned vif, unsigned queue);

/* For vif.c: what the vif offers, connecting and disconnecting its rings. */
void netdev_info(struct domain *d, unsigned index, struct netdev_info *info);

struct netdev_ring_refs {
	uint32_t tx_ref, rx_ref;   /* grant references of the ring pages */
	uint32_t tx_port, rx_port; /* event channels; equal when the frontend gave one */
};

/*
 * Connects queues 0..nq-1 to the frontend's rings and ports, all or none.
 * 0, or -errno with the reason in msg.
 */
int netdev_connect_rings(struct domain *d, unsigned index, unsigned nq, const struct netdev_ring_refs *refs,
			 char *msg, size_t msglen);
/* Disconnects every queue of the vif. */
void netdev_disconnect_rings(struct domain *d, unsigned index);

/*
 * Save, restore and migration (vif_device_ops; device.h; netdev_save.c).
 *
 * What moves: vifs on port=switch:NAME (save, restore, live migration),
 * port=pair:NAME (the same; a pair joins vifs of one VMM, and each end
 * has its own pairs) and port=tap:IFNAME (save and restore only).
 * check_save refuses, before anything stops: a tap vif's live migration
 * (the sending VMM holds the tap until the stop; a receiver on the same
 * host cannot open it before, nor create and place it once confined),
 * any dpdk vif (no vdev is quiesced or handed over), a switch vif whose
 * switch is gone (its queues' ring state went with it).
 *
 * Quiesce: each connected queue's netback finishes the round it is in
 * and takes nothing more from its rings (io/netback.h: every TX request
 * and RX buffer it took answered, the responses published, the guest
 * notified as the rings ask), within NETBACK_QUIESCE_TIMEOUT_MS and by
 * the deadline all of the domain's devices share (device.h), or the
 * vif's quiesce fails naming the queue and the queues already quiesced
 * go on.  A quiesced queue reads its port and drops what comes (counted:
 * drop_quiesced).  For a switch vif the switch's netbacks do it (QUIESCE,
 * io/switch_proto.h), and the VMM then delivers every notify the switch
 * made before answering, so the saved event bits are final.
 *
 * Save writes one record per vif, little-endian (lib/savebuf.h):
 *
 *   u16 version             VIF_SAVE_VERSION
 *   u16 nr_queues           the vif's queues (config queues=)
 *   u8  mac[6]              the vif's MAC; a generated one is written into
 *                           the domain's config at create, so the saved
 *                           config has it too (and the restore's vif, and
 *                           its switch attach, use it); checked equal
 *   u8  xenbus_state        the backend's enum xenbus_state (xenbus_be.h)
 *   str last_error          u32 length + bytes: the last fatal's reason, < 160 bytes
 *   nr_queues times, 34 bytes each:
 *     u8  connected         0 or 1; connected queues are 0..n-1, and n > 0
 *                           exactly when xenbus_state is Connected
 *     u8  flags             bit 0: tx_cut (the next TX slots are the rest of
 *                           a chain dropped whole); bit 1: broken (the queue
 *                           stopped on impossible indices); others 0
 *     u32 tx_evtchn         the guest's channel for TX (1 .. XENITH_NR_EVTCHN-1)
 *     u32 rx_evtchn         for RX: equal to tx_evtchn when the frontend gave one
 *     u32 tx_ring_ref       the ring pages' grant references (8 .. 16383),
 *     u32 rx_ring_ref       two different ones
 *     u32 tx_req_cons       TX requests taken; == tx_rsp_prod_pvt (none in flight)
 *     u32 tx_rsp_prod_pvt   TX responses written, all published
 *     u32 rx_req_cons       RX buffers taken; == rx_rsp_prod_pvt (each answered
 *                           in the round that took it: none is held back)
 *     u32 rx_rsp_prod_pvt   RX responses written, all published
 *   (an unconnected queue's fields after `connected` are all 0; a broken
 *   queue's indices are not checked, its rings never read again)
 *
 * Restore takes it on the new domain's vif, built from the same config
 * and connected as for a boot (no ring; a switch vif attached to its
 * switch, taking its MAC over with domain_opts.migrating_in), after its
 * guest memory, grant table and event channels (backend ports turned
 * unbound) were restored: it checks the record (-EPROTO: the field and
 * value) and that it fits this vif (-EINVAL: the queue count, the MAC,
 * each channel unbound, each ring page granted and no other queue's,
 * the indices against the rings in guest memory: io/netback.h,
 * netback_check_ring_state, which the switch applies again for its
 * netbacks), binds each channel, attaches each netback to its rings from
 * the saved indices (a switch vif's through RESTORE), and sets the xenbus
 * state without connecting again or writing the store (restored
 * separately).  All or nothing.  The vif stays quiesced until resume;
 * a switch vif's resume also makes the switch learn its MAC on it at once
 * (RESUME), so that after a migration the MAC's frames go to the
 * receiver's vif, not the sender's, which the sender detaches as it ends.
 */
#define VIF_SAVE_VERSION 1u

#endif
