/* SPDX-License-Identifier: MIT */
/*
 * The network programs' device (net/stack.h's net_dev_ops) over a network
 * port (io/netport.h), so that a native program sends and receives through
 * the very port code a vif's backend uses (tap, pair, and the kinds that
 * io/netport_open.h adds): `xenith-net tap:NAME blast` writes its frames to
 * the tap as netback writes a guest's.
 *
 * Sends are queued and handed to the port NET_PORT_BURST at a time, at the
 * stack's flush (the programs flush every 32 frames, as the guest rings the
 * doorbell every 32 requests: netback's burst); frames the port does not
 * take are dropped and counted (netback's port_full).  Receives take bursts
 * of NET_PORT_BURST; wait polls the port's rx_fd (or sleeps 50 us when the
 * port has none).  Host code (libc), unlike net/stack.c.
 */
#ifndef XENITH_NET_PORTDEV_H
#define XENITH_NET_PORTDEV_H

#include <stdint.h>

#include "netport.h"
#include "stack.h"

struct net_portdev {
	struct net_port *port;
	unsigned nq;                          /* frames queued for the next burst */
	struct net_frame q[NET_PORT_BURST];
	struct net_frame r[NET_PORT_BURST];
	uint8_t qbuf[NET_PORT_BURST][NET_PORT_FRAME_MAX];
	/* One byte more than a frame: a tap reports a read that filled the buffer as possibly cut. */
	uint8_t rbuf[NET_PORT_BURST][NET_PORT_FRAME_MAX + 1];
	uint64_t sent, send_dropped;         /* frames the port took, and refused (or a send error) */
	uint64_t bursts;                      /* port sends */
	uint64_t received;                    /* frames handed to the stack */
	int send_error;                       /* the last -errno of the port's send, 0 if none */
};

extern const struct net_dev_ops net_portdev_ops;

/* d over p (p stays the caller's to close). */
void net_portdev_init(struct net_portdev *d, struct net_port *p);

#endif
