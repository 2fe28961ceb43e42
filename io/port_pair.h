/* SPDX-License-Identifier: MIT */
/*
 * An in-memory port pair (io/netport.h): two ends, a frame sent on one is
 * received on the other, in order.  For unit tests (netback against a
 * test's own end) and for domains connected without tap ("pair:NAME":
 * two vifs that open the same name are wired together).
 *
 * Each direction queues up to PORT_PAIR_DEPTH frames; send takes as many
 * as fit (the rest are the caller's port_full).  rx_fd is an eventfd that
 * is readable while frames wait.  Both ends may be used from different
 * threads; each end by one thread at a time.
 */
#ifndef XENITH_IO_PORT_PAIR_H
#define XENITH_IO_PORT_PAIR_H

#include "netport.h"

#define PORT_PAIR_DEPTH 256u

/* A new anonymous pair; name is for messages ("pair:NAME").  0, -ENOMEM or -errno of eventfd. */
int port_pair_create(const char *name, struct net_port **a, struct net_port **b);
/*
 * Named pairs, process-wide: the first open of a name creates the pair
 * and gets one end, the second gets the other, a third gets -EBUSY until
 * an end is closed.  -EINVAL for an empty name or one of 48 bytes or more.
 */
int port_pair_open(const char *name, struct net_port **out);

#endif
