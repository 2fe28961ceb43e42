/* SPDX-License-Identifier: MIT */
/*
 * A vif whose port is switch:NAME: the VMM's side of the link to the
 * domain switch (io/switch.h, protocol io/switch_proto.h).  The switch
 * runs the vif's netbacks; the VMM keeps the xenstore handshake and the
 * event channels: it binds the guest's channels to the kick eventfds the
 * switch handed over, and a link thread turns the switch's notify
 * eventfds into event-channel sends.  When the switch goes away the link
 * thread says so on stderr and the vif stays disconnected; the domain
 * runs on.
 *
 * Threads and system calls: swlink_open (device create, before the
 * filters: the VMM never opens a socket once confined) socket, connect;
 * swlink_attach (device connect: the main thread, again on a reboot under
 * its filter) memfd_create, ftruncate, pwrite, eventfd2, sendmsg, recvmsg,
 * ppoll, clone; swlink_detach write, read, ppoll; swlink_connect/disconnect (the
 * xenstore handshake on a vCPU thread) and swlink_stats_json (the control
 * thread) write, ppoll, read on the socket; the link thread (confined as
 * a backend thread) ppoll and read.
 */
#ifndef XENITH_HV_NETDEV_SWITCH_H
#define XENITH_HV_NETDEV_SWITCH_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "netdev.h"

struct domain;
struct swlink;

/* Connects to switch name's socket (device create: before confinement). */
int swlink_open(unsigned vif, const char *name, struct swlink **out, struct errbuf *eb);
/* Hands the vif to the switch (HELLO; device connect, again on every rebuild): guest memory exists now. */
int swlink_attach(struct swlink *l, struct domain *d, const uint8_t mac[6], unsigned nr_queues, uint32_t mode,
		  struct errbuf *eb);
/* Takes it back (DETACH; device disconnect): the connection stays for the next attach. */
void swlink_detach(struct swlink *l);
int swlink_kick_fd(const struct swlink *l, unsigned q);
/* Queues 0..nq-1 to the frontend's rings: 0 or -errno (Xen's), msg the reason. */
int swlink_connect(struct swlink *l, unsigned nq, const struct netdev_ring_refs *refs, char *msg, size_t msglen);
void swlink_disconnect(struct swlink *l);
/* Queues connected now (0 once the switch is gone). */
unsigned swlink_connected(struct swlink *l);
/*
 * The switch's counters of this vif as JSON members ("switch":{...}: its
 * name, socket, whether it is gone, and its own and its netbacks'
 * counters), and the netbacks' counters added to *sum.  -1 if size is too
 * small.
 */
struct netback_stats;
int swlink_stats_json(struct swlink *l, struct netback_stats *sum, char *buf, size_t size);
void swlink_close(struct swlink *l);

#endif
