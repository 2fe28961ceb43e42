/* SPDX-License-Identifier: MIT */
/*
 * A tap device as a vif's port (io/netport.h): "port=tap:NAME".
 *
 * port_tap_open() attaches to the tap NAME, creating it when there is
 * none (as root, or with CAP_NET_ADMIN; a tap made beforehand with
 * `ip tuntap add NAME mode tap user U` can be attached by U), with
 * IFF_TAP | IFF_NO_PI (plain Ethernet frames, no packet-information
 * header, no offloads: every frame is at most NET_PORT_FRAME_MAX bytes
 * at the default MTU), and IFF_MULTI_QUEUE when it opens more than one
 * queue: each queue is one descriptor, one struct net_port.  Then,
 * optionally, it adds the tap to a bridge (SIOCBRADDIF) or moves it into
 * a network namespace (/run/netns/NS, as `ip netns add` makes it;
 * RTM_NEWLINK with IFLA_NET_NS_FD), and sets it up (IFF_UP), in that
 * namespace when moved.  A tap Xenith created goes away when its last
 * queue is closed; an attached persistent one stays.
 *
 * The descriptors are non-blocking: send writes one frame per write(2)
 * and stops at the first frame the kernel does not take (a full queue
 * or a tap that is down: the rest are netback's port_full); recv reads
 * frames until none waits; rx_fd is the descriptor itself.  System calls
 * on the netback thread: read, write (hv/confine.c).
 */
#ifndef XENITH_IO_PORT_TAP_H
#define XENITH_IO_PORT_TAP_H

#include <stdbool.h>
#include <stddef.h>

#include "netport.h"

#define PORT_TAP_MAX_QUEUES 8u

struct port_tap_config {
	const char *ifname; /* 1 to 15 characters */
	unsigned queues;    /* 1 to PORT_TAP_MAX_QUEUES */
	const char *bridge; /* NULL or "": none */
	const char *netns;  /* NULL or "": stay in this process's namespace */
};

/*
 * Opens cfg->queues ports, ports[0..queues), all or none.  0, or -errno
 * with the reason and what to do in msg.
 */
int port_tap_open(const struct port_tap_config *cfg, struct net_port **ports, char *msg, size_t msglen);

/*
 * A multi-queue tap spreads the frames it receives over its attached
 * queues by flow: a queue whose ring nobody serves would swallow its
 * share.  So queues 1.. start detached (IFF_DETACH_QUEUE) and the vif
 * attaches each one its frontend connects (and detaches it again on
 * disconnect); queue 0 stays attached, frames waiting there as for a
 * single-queue tap.  0, or -errno; no-op for queue 0, single-queue taps
 * and other ports.  The VMM calls it on a vCPU thread (TUNSETQUEUE, see
 * hv/confine.c).
 */
int port_tap_set_queue_attached(struct net_port *p, bool attached);

/* The interface's index in the namespace it was opened in (before any move); 0 if unknown. */
unsigned port_tap_ifindex(const struct net_port *p);

#endif
