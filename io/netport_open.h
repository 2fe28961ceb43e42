/* SPDX-License-Identifier: MIT */
/*
 * Opens a network port (io/netport.h) from its spec, whatever its kind:
 *
 *   tap:NAME      a tap device (io/port_tap.h), created or attached, set up,
 *                 one descriptor per queue (a multi-queue tap for queues > 1)
 *   pair:NAME     an in-memory pair (io/port_pair.h): the first open of NAME
 *                 in this process gets one end, the second the other; queue q
 *                 of pair:NAME is the pair "NAME" (q = 0) or "NAME.q", as
 *                 hv/netdev.c names them for a vif
 *
 * One table of kinds in netport_open.c; a new kind (dpdk:ARGS, switch:NAME)
 * is one row there and its own open function.  For tools that open a port
 * from one string (xenith-net tap:NAME, the `net` benchmark suite); the VMM
 * opens a vif's port from its parsed config (hv/netdev.c).
 */
#ifndef XENITH_IO_NETPORT_OPEN_H
#define XENITH_IO_NETPORT_OPEN_H

#include <stdbool.h>
#include <stddef.h>

#include "netport.h"

#define NET_PORT_OPEN_MAX_QUEUES 8u

/*
 * Opens queues ports (1..NET_PORT_OPEN_MAX_QUEUES) of spec into
 * ports[0..queues), all or none.  0, or -errno with what failed and what
 * to do in msg (an unknown kind: -EINVAL naming the kinds there are).
 * Close each with ports[i]->ops->close(ports[i]).
 */
int net_port_open(const char *spec, unsigned queues, struct net_port **ports, char *msg, size_t msglen);

/* true when spec starts with a kind this build opens ("tap:", "pair:", ...). */
bool net_port_spec_known(const char *spec);

/* The kinds, comma-separated, for messages and --help ("tap, pair"). */
const char *net_port_kinds(void);

#endif
