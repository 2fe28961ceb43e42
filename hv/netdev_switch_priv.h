/* SPDX-License-Identifier: MIT */
/*
 * What netdev_switch.c (the link: attach, connect, its thread) and
 * netdev_switch_save.c (quiesce, resume, save and restore through the
 * switch) share.  Not for other files.
 */
#ifndef XENITH_HV_NETDEV_SWITCH_PRIV_H
#define XENITH_HV_NETDEV_SWITCH_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "netback.h"
#include "netdev_switch.h"
#include "xenith/netif.h"

struct swlink {
	struct domain *d;
	unsigned vif, nr_queues;
	char name[32];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int sock;
	int stop_efd;
	int kick[XENITH_NET_MAX_QUEUES];
	int notify[XENITH_NET_MAX_QUEUES][2];
	_Atomic uint32_t evtchn[XENITH_NET_MAX_QUEUES][2]; /* the guest's TX/RX channels while connected */
	unsigned connected;
	pthread_mutex_t req_lock; /* one request on the socket at a time */
	/* Held by the link thread while it reads a notify eventfd and sends its channel (swlink_quiesce's flush). */
	pthread_mutex_t notify_lock;
	/* After swlink_quiesce: the connected queues' ring states, as the switch reported them. */
	struct netback_ring_state saved[XENITH_NET_MAX_QUEUES];
	unsigned nr_saved;
	pthread_t thread;
	bool thread_started;
	bool attached;            /* between swlink_attach and swlink_detach */
	_Atomic bool dead;
};

/* One request without descriptors and its reply (its status, text the reason or answer); req_lock held. */
int swlink_request(struct swlink *l, const void *msg, size_t len, char *text, size_t size);
/* Binds queue q's channel(s) to its kick and counts it connected (queues connect in order): 0 or -errno. */
int swlink_bind_queue(struct swlink *l, unsigned q, uint32_t tx_port, uint32_t rx_port);
/* Unbinds every connected queue's channels; none is connected after. */
void swlink_unbind_all(struct swlink *l);

#endif
