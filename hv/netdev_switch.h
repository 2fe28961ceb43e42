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
 * a backend thread) ppoll and read.  Save and migration: swlink_quiesce
 * and swlink_resume (the control thread, or main) write, ppoll, read on
 * the socket and read on the notify eventfds; swlink_restore (main, at a
 * restore) as swlink_connect.
 */
#ifndef XENITH_HV_NETDEV_SWITCH_H
#define XENITH_HV_NETDEV_SWITCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "netdev.h"

struct domain;
struct swlink;

/* Connects to switch name's socket (device create: before confinement). */
int swlink_open(unsigned vif, const char *name, struct swlink **out, struct errbuf *eb);
/*
 * Hands the vif to the switch (HELLO; device connect, again on every
 * rebuild): guest memory exists now.  takeover: a migration's receiver,
 * whose MAC the sender's vif still has (SWP_HELLO_TAKEOVER).
 */
int swlink_attach(struct swlink *l, struct domain *d, const uint8_t mac[6], unsigned nr_queues, uint32_t mode,
		  bool takeover, struct errbuf *eb);
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
struct netback_ring_state;
int swlink_stats_json(struct swlink *l, struct netback_stats *sum, char *buf, size_t size);
void swlink_close(struct swlink *l);

/*
 * Save and migration (netdev_switch_save.c; the device ops in
 * netdev_save.c).  swlink_quiesce: the switch's netbacks of the connected
 * queues quiesce (QUIESCE) and their ring states are kept for
 * swlink_saved_queue; then every notify the switch made before its answer
 * has reached the guest's event channel (the link thread's are flushed),
 * so that the saved event bits are final.  0, or -errno with eb naming
 * the vif and the switch (nothing quiesced then).  The switch has until
 * deadline_ns (now_ns()'s clock; device.h), at most SWP_QUIESCE_MAX_MS.
 */
int swlink_quiesce(struct swlink *l, uint64_t deadline_ns, struct errbuf *eb);
/* RESUME: the switch's netbacks go on and the vif's MAC is learned on this vif (a migration's other end had it). */
int swlink_resume(struct swlink *l, struct errbuf *eb);
/* After swlink_quiesce: queue q's channels and ring state; -ENOENT for a queue not connected. */
int swlink_saved_queue(struct swlink *l, unsigned q, uint32_t *tx_port, uint32_t *rx_port,
		       struct netback_ring_state *st);
/*
 * A restore: queues 0..nq-1 from their saved channels (ports[q]: TX, RX)
 * and ring states, all or none: binds the channels, and the switch
 * attaches its netbacks (RESTORE), quiesced until swlink_resume.  0, or
 * -errno with eb naming the vif, the queue and what is wrong.
 */
int swlink_restore(struct swlink *l, unsigned nq, const uint32_t (*ports)[2], const struct netback_ring_state *st,
		   struct errbuf *eb);
/* True once the switch went away (its queues' state with it). */
bool swlink_gone(struct swlink *l);

#endif
