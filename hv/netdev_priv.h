/* SPDX-License-Identifier: MIT */
/*
 * What netdev.c (create, connect, the rings, counters) and netdev_save.c
 * (quiesce, resume, save, restore) share: a vif's state.  Not for other
 * files; netdev.h is the type's interface.
 */
#ifndef XENITH_HV_NETDEV_PRIV_H
#define XENITH_HV_NETDEV_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "grant.h"
#include "netback.h"
#include "netdev.h"
#include "vif.h"
#include "xenith/netif.h"

struct device;
struct savebuf;

/* What the domain's vifs share: one lock over every queue's connect, disconnect and counters. */
struct net_shared {
	pthread_mutex_t lock;
	unsigned refs;            /* vifs pointing here; the last one frees it */
};

struct net_queue {
	struct domain *d;
	struct netback *nb;       /* from connect to disconnect */
	struct net_port *port;    /* from create to destroy */
	uint32_t tx_evtchn, rx_evtchn; /* the guest's channels while connected (equal: one), else 0 */
	const void *tx_page, *rx_page; /* the ring pages while connected (one page, one ring), else NULL */
};

struct net_vif {
	struct net_shared *shared;
	unsigned index;           /* in d->cfg.vifs: the vif's handle */
	uint8_t mac[6];           /* configured, or generated at create (and then written into d->cfg) */
	uint32_t doorbell;        /* mode ioeventfd: the port taken at create, else 0 */
	unsigned nr_queues;
	struct net_queue q[XENITH_NET_MAX_QUEUES];
	struct vif vif;           /* its xenstore directories and XenbusState (vif.h) */
	struct swlink *sw;        /* port=switch: the switch runs the queues (netdev_switch.h), else NULL */
	bool takeover;            /* the next attach takes the MAC over (domain_opts.migrating_in; the first build only) */
};

/* The index-th vif of d, or NULL. */
struct net_vif *netdev_vif(struct domain *d, unsigned index);
/* Queue nq's netback's notify (netback.h): responses on a ring, the guest's channel for it. */
void netdev_notify_guest(void *opaque, enum netback_ring ring);
/*
 * Whether the pages granted as tx_ref and rx_ref may become a queue's
 * rings: two pages, neither a ring of a connected queue of any of d's
 * vifs.  0 with the pages (their identity, not held), -XEN_EBUSY, or the
 * grant check's -errno.  The vifs' lock held.
 */
int netdev_ring_pages(struct domain *d, grant_ref_t tx_ref, grant_ref_t rx_ref, const void **tx_page,
		      const void **rx_page);
/* Binds the guest's channel(s) to the queue's kick: 0, or evtchn_backend_bind's -errno with none bound. */
int netdev_bind_ports(struct net_queue *nq, uint32_t tx_port, uint32_t rx_port);
/* Lets go of a queue's rings and channels (a connect's or a restore's). */
void netdev_queue_disconnect(struct net_queue *nq);

/* The device ops of netdev_save.c (device.h). */
int netdev_quiesce(struct device *dev, uint64_t deadline_ns, struct errbuf *eb);
int netdev_resume(struct device *dev, struct errbuf *eb);
int netdev_save(struct device *dev, struct savebuf *out, struct errbuf *eb);
int netdev_restore(struct device *dev, const void *data, size_t len, struct errbuf *eb);
int netdev_check_save(struct device *dev, bool migrate, struct errbuf *eb);

#endif
