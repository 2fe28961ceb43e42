/* SPDX-License-Identifier: MIT */
/*
 * The domain switch (`xenith switch start NAME`): a learning L2 switch
 * joining the vifs of several domains, in a process of its own.  Each VMM
 * hands it a vif over the protocol of switch_proto.h; the switch maps the
 * guest's memory (the memfd), builds a grant table over it (io/grant.h)
 * and serves each of the vif's queues with an io/netback.c backend whose
 * port (io/netport.h) is a switch port:
 *
 * - send (the netback thread of the sending queue): per frame, a source
 *   MAC other than the vif's is dropped (spoofed; netback drops those
 *   first, this is the switch's own check); the source is learned
 *   (switch_l2.h); a unicast to a known port is copied into that vif's
 *   receive queue (the queue picked by a hash of the source MAC), a
 *   broadcast, multicast or unknown unicast into every other vif's
 *   (flooded).  A full receive queue drops the frame (queue_full).
 * - recv (the netback thread of the receiving queue): frames from its
 *   queue; rx_fd is an eventfd that the senders write only when the
 *   receiver asked for it (it found the queue empty), so a busy queue
 *   costs no system call per burst.
 *
 * Threads: one main thread (sw_serve: the socket, attach and detach,
 * LIST/STATS/STOP) and one netback thread per attached queue.  Attach and
 * detach take the switch's lock for writing; senders take it for reading
 * (per burst), so a detaching vif never receives a frame after its
 * queues went.
 */
#ifndef XENITH_IO_SWITCH_H
#define XENITH_IO_SWITCH_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "switch_proto.h"

#define SW_MAX_VIFS 64u    /* vifs attached at once */
#define SW_MAX_CONNS 128u  /* connections at once (vifs and toolstack requests) */
#define SW_RXQ 256u        /* frames waiting per receiving queue */
#define SW_L2_AGE_NS (300ull * 1000000000ull) /* as Linux bridges' ageing_time */

struct sw;

int sw_create(const char *name, struct sw **out);
void sw_destroy(struct sw *sw);

/*
 * Serves listen_fd (a listening SOCK_SEQPACKET socket) until a STOP
 * request or *stop becomes non-zero (a signal); detaches every vif before
 * it returns.  0, or -errno if poll itself fails.
 */
int sw_serve(struct sw *sw, int listen_fd, volatile sig_atomic_t *stop);

/*
 * One packet from connection conn with its descriptors (fds[0..nfds), the
 * switch's to close or keep): checks it (swp_parse, then the descriptors)
 * and acts.  Replies on conn.  Returns 0 to keep the connection, -1 to
 * close it (a protocol violation, or STOP: *stop_req set).  Exposed for
 * the unit tests and the fuzz target.
 */
int sw_handle(struct sw *sw, int conn, const void *buf, size_t len, int *fds, unsigned nfds, int *stop_req);
/* The connection closed: detaches its vif, if any. */
void sw_conn_closed(struct sw *sw, int conn);

/* The switch as a JSON object (LIST): its name, table and every vif with per-queue counters. */
int sw_list_json(struct sw *sw, char *buf, size_t size);
unsigned sw_nr_vifs(struct sw *sw);

#endif
