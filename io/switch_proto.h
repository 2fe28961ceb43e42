/* SPDX-License-Identifier: MIT */
/*
 * The domain switch's protocol (`xenith switch`, io/switch.h): how a VMM
 * hands a vif to a switch process, and how the toolstack asks a switch
 * for its state.  One AF_UNIX SOCK_SEQPACKET socket per switch, at
 * RUNDIR/switch/NAME.sock (0600 in the 0700 run directory): every message
 * is one packet, at most SWP_MSG_MAX bytes, starting with struct swp_hdr.
 *
 * A VMM, per vif whose port is switch:NAME, opens one connection when the
 * domain is created, and on it, each time the domain is built (device
 * connect):
 *
 *   VMM -> switch  HELLO      struct swp_hello; with SCM_RIGHTS, in order:
 *                               the guest memory memfd (sealed against
 *                               shrinking: the switch maps it shared),
 *                               a memfd holding the read-only-frames bitmap
 *                               (bit f of u64 word f/64: frames no grant may
 *                               write, io/grant.h ro_frames; fixed once the
 *                               domain is built, the switch copies it once),
 *                               then per queue q: the TX notify eventfd and
 *                               the RX notify eventfd (backend -> guest: the
 *                               switch writes them; the VMM's link thread
 *                               turns each into the event-channel send).
 *   switch -> VMM  REPLY      status 0 and, with SCM_RIGHTS, per queue the
 *                               kick eventfd of the switch's netback
 *                               (guest -> backend: the VMM binds the
 *                               guest's event channels to it, and in mode
 *                               ioeventfd registers it with KVM), or
 *                               status -errno and the reason as text.
 *
 * The kick eventfds go switch -> VMM (not VMM -> switch) so that
 * io/netback.c, which owns its kick eventfd, serves switch queues unchanged.
 *
 *   VMM -> switch  CONNECT    when the frontend connects (xenstore): the
 *                               guest's grant table (gpa, frames; the guest
 *                               sets it once per boot, before it grants its
 *                               rings) and per queue the TX and RX ring refs.
 *                               REPLY status 0 or -errno (Xen's, netdev.c).
 *   VMM -> switch  DISCONNECT the frontend closed, or the guest rebooted.
 *                               REPLY.
 *   VMM -> switch  DETACH     the domain is being rebuilt (reboot): the vif
 *                               leaves the switch, the connection stays (a
 *                               confined VMM opens no socket); a HELLO with
 *                               the new memory follows.  REPLY.
 *   VMM -> switch  QUIESCE    save or migration: the vif's connected queues'
 *                               netbacks quiesce (io/netback.h: every
 *                               request taken answered and published, then
 *                               none taken), all of them within the
 *                               message's timeout_ms (1..SWP_QUIESCE_MAX_MS).  REPLY status 0 and as text the
 *                               queues' ring states, JSON: {"queues":[{
 *                               "tx_ref","rx_ref","tx_req_cons",
 *                               "tx_rsp_prod_pvt","rx_req_cons",
 *                               "rx_rsp_prod_pvt" (numbers), "tx_cut",
 *                               "broken" (booleans)}, ...]}, one per
 *                               connected queue; or -errno and the reason
 *                               (none quiesced then).
 *   VMM -> switch  RESUME     the vif's netbacks take from the rings again,
 *                               and the switch learns the vif's MAC on this
 *                               vif now, wherever it was before (the other
 *                               end of a migration).  REPLY.
 *   VMM -> switch  RESTORE    a restored domain's vif (instead of CONNECT):
 *                               the grant table as for CONNECT and per
 *                               queue the saved struct swp_queue_state; the
 *                               switch attaches each netback from it, all
 *                               or none, quiesced until a RESUME.  REPLY.
 *
 * A HELLO with SWP_HELLO_TAKEOVER (a migration's receiver, whose domain
 * still runs at the sender) may name a MAC that one vif has already; it
 * gets nothing (no flood, no unicast) before its queues connect, and the
 * MAC's unicast only from its RESUME on.  Any other HELLO with a MAC in
 * use is refused.
 *
 *   any -> switch  STATS      this connection's vif as JSON members (VMM's
 *                               `xenith devices`); REPLY with text.
 *   any -> switch  LIST       the whole switch as a JSON object; REPLY.
 *   any -> switch  STOP       the switch detaches every vif and ends; REPLY.
 *
 * Closing the connection (the VMM exits, is killed, or destroys the
 * domain) detaches the vif: its netbacks stop, its MAC leaves the table,
 * its mapping of guest memory goes.  The switch closes the connection of
 * a peer that breaks the protocol (and so detaches only that vif).
 *
 * A VMM is not trusted by the switch: swp_parse() checks every message
 * (size, magic, version, type, descriptor count, every field's range)
 * before anything uses it; the switch then checks the descriptors
 * themselves (io/switch.c: the memfd's size and seals, eventfds).
 */
#ifndef XENITH_IO_SWITCH_PROTO_H
#define XENITH_IO_SWITCH_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "xenith/netif.h"

#define SWP_MAGIC 0x31575358u /* "XSW1" */
#define SWP_VERSION 1u
#define SWP_MSG_MAX 65536u     /* the largest packet either side sends (a LIST reply) */
#define SWP_TEXT_MAX (SWP_MSG_MAX - sizeof(struct swp_reply))
#define SWP_MEM_MAX (1ull << 40) /* guest memory the switch maps: 1 TiB at most */
#define SWP_NAME_MAX 64u
#define SWP_HELLO_FDS(nq) (2u + 2u * (nq))
#define SWP_FDS_MAX SWP_HELLO_FDS(XENITH_NET_MAX_QUEUES)

enum swp_type {
	SWP_HELLO = 1,
	SWP_CONNECT,
	SWP_DISCONNECT,
	SWP_STATS,
	SWP_LIST,
	SWP_STOP,
	SWP_DETACH,
	SWP_REPLY,
	SWP_QUIESCE,  /* after REPLY: the numbers above stay what they were */
	SWP_RESUME,
	SWP_RESTORE,
	SWP_TYPE_NR
};

struct swp_hdr {
	uint32_t magic;   /* SWP_MAGIC */
	uint16_t version; /* SWP_VERSION */
	uint16_t type;    /* enum swp_type */
	uint32_t len;     /* the whole packet's length, this header included */
	uint32_t reserved; /* 0 */
};

struct swp_hello {
	struct swp_hdr h;
	uint64_t mem_size;  /* bytes of guest memory in the memfd: a multiple of 4096, <= SWP_MEM_MAX */
	uint64_t min_gpa;   /* the grant table lies at or above this (io/grant.h), < mem_size */
	uint32_t domid;     /* the guest's domain id, for people (1..0x7fef) */
	uint32_t vif;       /* the vif's index in its domain (< 64) */
	uint32_t mode;      /* XENITH_NET_MODE_* for the switch's netbacks */
	uint32_t nr_queues; /* 1..XENITH_NET_MAX_QUEUES */
	uint8_t mac[6];     /* the vif's MAC: unicast, not zero; the only source it may send from */
	uint8_t flags;      /* SWP_HELLO_* */
	uint8_t pad;        /* 0 */
	char domain[SWP_NAME_MAX]; /* the domain's name, NUL-terminated, printable */
};

#define SWP_HELLO_TAKEOVER 1u /* a migration's receiver: the MAC may be attached already (above) */

struct swp_ring_refs {
	uint32_t tx_ref, rx_ref;
};

struct swp_connect {
	struct swp_hdr h;
	uint64_t table_gpa;    /* the guest's grant table: page-aligned */
	uint32_t table_frames; /* 1..XENITH_GNTTAB_MAX_FRAMES */
	uint32_t nr_queues;    /* 1..the HELLO's nr_queues */
	struct swp_ring_refs q[XENITH_NET_MAX_QUEUES];
};

/* A queue's saved ring state (io/netback.h, struct netback_ring_state), for RESTORE. */
#define SWP_QUEUE_TX_CUT 1u
#define SWP_QUEUE_BROKEN 2u

struct swp_queue_state {
	uint32_t tx_ref, rx_ref;
	uint32_t tx_req_cons, tx_rsp_prod_pvt;
	uint32_t rx_req_cons, rx_rsp_prod_pvt;
	uint32_t flags;        /* SWP_QUEUE_*; the switch checks the rest against the rings */
};

/* Below the VMM's wait for any reply (10 s): the switch answers, in time or not, before it gives up. */
#define SWP_QUIESCE_MAX_MS 8000u

struct swp_quiesce {
	struct swp_hdr h;
	uint32_t timeout_ms;   /* 1..SWP_QUIESCE_MAX_MS, for every queue of the vif together */
	uint32_t pad;          /* 0 */
};

struct swp_restore {
	struct swp_hdr h;
	uint64_t table_gpa;    /* as CONNECT's */
	uint32_t table_frames;
	uint32_t nr_queues;    /* 1..the HELLO's nr_queues */
	struct swp_queue_state q[XENITH_NET_MAX_QUEUES];
};

struct swp_reply {
	struct swp_hdr h;
	int32_t status;    /* 0 or -errno */
	uint32_t text_len; /* bytes of text that follow (no NUL), <= SWP_TEXT_MAX */
	char text[];       /* the reason (status < 0) or the requested JSON */
};

/* A message that swp_parse() accepted: which one, and a copy of it. */
struct swp_msg {
	enum swp_type type;
	union {
		struct swp_hello hello;
		struct swp_connect connect;
		struct swp_restore restore;
		struct swp_quiesce quiesce;
		struct {
			int32_t status;
			uint32_t text_len;
			const char *text; /* inside the caller's buffer */
		} reply;
	} u;
};

/*
 * Checks one received packet (buf, len) that came with nfds descriptors.
 * 0 with *msg filled, or -EPROTO (not this protocol: size, magic, version,
 * type, length field), -EINVAL (a field out of range), -EBADF (the wrong
 * number of descriptors); why gets the reason.  Reads buf once into a copy
 * (the peer cannot change a packet after it arrived, but the rule is cheap).
 */
int swp_parse(const void *buf, size_t len, unsigned nfds, struct swp_msg *msg, char *why, size_t whylen);

/* Fills a header for a message of type and total length len. */
void swp_hdr_init(struct swp_hdr *h, enum swp_type type, uint32_t len);

/*
 * Sends one packet (buf, len) with fds[0..nfds) attached (SCM_RIGHTS;
 * nfds <= SWP_FDS_MAX) and flags (MSG_NOSIGNAL is added): 0, or -errno
 * (-EMSGSIZE for a short send, -EINVAL for too many descriptors).
 */
int swp_send(int sock, const void *buf, size_t len, const int *fds, unsigned nfds, int flags);

/*
 * A received reply (buf, len): its text into out (NUL-terminated) and its
 * status; or -EPROTO with the reason in out when it is not a well-formed
 * reply.
 */
int swp_reply_text(const void *buf, size_t len, char *out, size_t size);

/* A switch's name: 1..31 characters of A-Z a-z 0-9 _ . -, not starting with '.' or '-'. */
int swp_name_ok(const char *name);

/*
 * The run directory that `xenith` uses without --run-dir (hv/rundir.c's
 * choice: $XENITH_RUN_DIR, /run/xenith for root, $XDG_RUNTIME_DIR/xenith,
 * /tmp/xenith-UID), without creating anything; then the switch's socket
 * in it.  0, or -ENAMETOOLONG when it does not fit a Unix socket address.
 */
int swp_socket_path(const char *run_dir, const char *name, char *out, size_t size);
void swp_default_run_dir(char *out, size_t size);

#endif
