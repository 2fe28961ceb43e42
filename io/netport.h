/* SPDX-License-Identifier: MIT */
/*
 * A network port: where a vif's frames go to and come from on the host
 * side (tap device, DPDK vdev, a domain switch, or an in-memory pair for
 * tests).  netback (io/netback.h) moves frames between a guest's netif
 * rings and one port per queue; the port knows nothing of guests.
 *
 * Frames are whole Ethernet frames without FCS, at most
 * NET_PORT_FRAME_MAX bytes (XENITH_NET_FRAME_MAX; larger GSO packets are
 * segmented or dropped by netback before they reach a port).
 *
 * Threads: one queue's netback thread is the only caller of its port's
 * send and recv; open and close run with that thread stopped.
 */
#ifndef XENITH_IO_NETPORT_H
#define XENITH_IO_NETPORT_H

#include <stddef.h>
#include <stdint.h>

#define NET_PORT_FRAME_MAX 1514u
#define NET_PORT_BURST 32u /* netback's largest burst, each way */
/*
 * What a receive buffer holds: one byte more than the largest frame, so
 * that a port reading datagrams (a tap) can tell a frame of
 * NET_PORT_FRAME_MAX bytes from a longer one cut to fit.
 */
#define NET_PORT_RX_CAP (NET_PORT_FRAME_MAX + 1u)

struct net_frame {
	uint8_t *data;
	uint16_t len;   /* bytes of data in use */
	uint16_t cap;   /* recv: bytes data can hold (>= NET_PORT_RX_CAP) */
};

struct net_port;

struct net_port_ops {
	const char *kind; /* "tap", "dpdk", "switch", "pair" */
	/*
	 * Guest to wire: sends frames[0..n) (n <= NET_PORT_BURST); returns how
	 * many were taken (the rest are the caller's to drop and count as
	 * port_full), or -errno for a port that is gone.  Never blocks.
	 */
	int (*send)(struct net_port *p, const struct net_frame *frames, unsigned n);
	/*
	 * Wire to guest: fills up to n frames (each frames[i].data of
	 * frames[i].cap bytes); returns how many, 0 when none is waiting, or
	 * -errno.  Never blocks.
	 */
	int (*recv)(struct net_port *p, struct net_frame *frames, unsigned n);
	/* A descriptor that polls readable when recv has frames; -1: the caller must poll recv. */
	int (*rx_fd)(struct net_port *p);
	/* Port counters as JSON members ("\"kind\":\"tap\",\"ifname\":\"xt0\"..."): length, or -1 if size is too small. */
	int (*stats_json)(struct net_port *p, char *buf, size_t size);
	void (*close)(struct net_port *p);
};

struct net_port {
	const struct net_port_ops *ops;
	char name[64]; /* "tap:xt0", "pair:3", ... for messages */
};

#endif
