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

#endif
