/* SPDX-License-Identifier: MIT */
/*
 * The network split driver's protocol: Xen's netif (xen/include/public/io/
 * netif.h) wire format, so that Linux's xen-netfront can connect later.
 *
 * Two rings per queue, each one page (ring.h, Xen's 64-byte header): TX
 * (guest to wire) and RX (wire to guest), 256 slots each.
 *
 * TX: a packet is one or more requests.  The first carries the whole
 * packet's length in `size`, later ones (after a request with
 * NETTXF_more_data) their own fragment's length; the first's size minus
 * the later sizes is the first fragment's own length.  A request with
 * NETTXF_extra_info is followed by one struct netif_extra_info slot (and
 * more while XEN_NETIF_EXTRA_FLAG_MORE is set), which is answered with
 * status NETIF_RSP_NULL.  Each request (offset + fragment length within
 * its granted page, XENITH_PAGE_SIZE) gets one response with its id.
 *
 * RX: the guest posts empty pages (id, gref, granted writable to
 * XENITH_BACKEND_DOMID); the backend copies a received packet into them
 * (grant copy, "feature-rx-copy"; page flipping is not offered) and
 * answers with id, offset, flags and status = the length written (>0) or
 * a negative NETIF_RSP_*.  A packet larger than one page spans several
 * posted buffers, NETRXF_more_data on all but the last.
 *
 * Notification: as for every Xenith ring (ring.h), conditional on
 * req_event/rsp_event.  The frontend never needs to notify for RX
 * requests alone (Xen's rule); Xenith's backend still honours a kick
 * after posting (it may have stopped for want of buffers).
 *
 * Discovery and negotiation go through xenstore with Xen's key names
 * (hv/vif.h lists them and where Xenith differs).
 */
#ifndef XENITH_NETIF_H
#define XENITH_NETIF_H

#include <stdint.h>

#include "grant_table.h"
#include "ring.h"

/* TX request flags */
#define NETTXF_csum_blank (1u << 0)     /* the protocol checksum field is blank: the backend fills it */
#define NETTXF_data_validated (1u << 1) /* the checksum is known good */
#define NETTXF_more_data (1u << 2)      /* another fragment of this packet follows */
#define NETTXF_extra_info (1u << 3)     /* a struct netif_extra_info slot follows */

struct netif_tx_request {
	grant_ref_t gref; /* the page holding this fragment */
	uint16_t offset;  /* where in it the fragment starts */
	uint16_t flags;   /* NETTXF_* */
	uint16_t id;      /* echoed in the response */
	uint16_t size;    /* first slot: the whole packet's length; later slots: this fragment's */
};
_Static_assert(sizeof(struct netif_tx_request) == 12, "netif_tx_request ABI");

/* Extra-info slot types and flags */
#define XEN_NETIF_EXTRA_TYPE_NONE 0
#define XEN_NETIF_EXTRA_TYPE_GSO 1
#define XEN_NETIF_EXTRA_TYPE_MCAST_ADD 2
#define XEN_NETIF_EXTRA_TYPE_MCAST_DEL 3
#define XEN_NETIF_EXTRA_TYPE_MAX 5
#define XEN_NETIF_EXTRA_FLAG_MORE (1u << 0)

#define XEN_NETIF_GSO_TYPE_NONE 0
#define XEN_NETIF_GSO_TYPE_TCPV4 1
#define XEN_NETIF_GSO_TYPE_TCPV6 2

struct netif_extra_info {
	uint8_t type;  /* XEN_NETIF_EXTRA_TYPE_* */
	uint8_t flags; /* XEN_NETIF_EXTRA_FLAG_* */
	union {
		struct {
			uint16_t size;     /* the MSS: payload bytes per segment */
			uint8_t type;      /* XEN_NETIF_GSO_TYPE_* */
			uint8_t pad;
			uint16_t features; /* none defined */
		} gso;
		struct {
			uint8_t addr[6];
		} mcast;
		uint16_t pad[3];
	} u;
};
_Static_assert(sizeof(struct netif_extra_info) == 8, "netif_extra_info ABI");

/* Response status */
#define NETIF_RSP_DROPPED -2 /* not sent (TX) */
#define NETIF_RSP_ERROR -1   /* a malformed request */
#define NETIF_RSP_OKAY 0
#define NETIF_RSP_NULL 1     /* the answer to an extra-info slot */

struct netif_tx_response {
	uint16_t id;
	int16_t status; /* NETIF_RSP_* */
};
_Static_assert(sizeof(struct netif_tx_response) == 4, "netif_tx_response ABI");

struct netif_rx_request {
	uint16_t id;      /* echoed in the response */
	uint16_t pad;
	grant_ref_t gref; /* an empty page, granted writable */
};
_Static_assert(sizeof(struct netif_rx_request) == 8, "netif_rx_request ABI");

/* RX response flags */
#define NETRXF_data_validated (1u << 0) /* the checksum is known good */
#define NETRXF_csum_blank (1u << 1)     /* the protocol checksum field is blank */
#define NETRXF_more_data (1u << 2)      /* the packet continues in the next response */
#define NETRXF_extra_info (1u << 3)     /* an extra-info slot follows */

struct netif_rx_response {
	uint16_t id;
	uint16_t offset; /* where in the page the data starts */
	uint16_t flags;  /* NETRXF_* */
	int16_t status;  /* > 0: bytes written; <= 0: NETIF_RSP_* */
};
_Static_assert(sizeof(struct netif_rx_response) == 8, "netif_rx_response ABI");

/*
 * The TX ring's slots hold a request, an extra-info slot or a response;
 * the RX ring's a request, a response (or an extra-info slot).
 */
union netif_tx_slot_req {
	struct netif_tx_request tx;
	struct netif_extra_info extra;
};
union netif_rx_slot_rsp {
	struct netif_rx_response rx;
	struct netif_extra_info extra;
};
XENITH_RING_DEFINE(netif_tx, union netif_tx_slot_req, struct netif_tx_response)
XENITH_RING_DEFINE(netif_rx, struct netif_rx_request, union netif_rx_slot_rsp)
_Static_assert(XENITH_RING_SLOTS(sizeof(union netif_tx_slot)) == 256, "Xen's NET_TX_RING_SIZE");
_Static_assert(XENITH_RING_SLOTS(sizeof(union netif_rx_slot)) == 256, "Xen's NET_RX_RING_SIZE");

#define XENITH_NET_MAX_QUEUES 8u
#define XENITH_NET_MTU 1500u
#define XENITH_NET_FRAME_MAX 1514u      /* MTU + the Ethernet header (no FCS, no VLAN tag) */
#define XENITH_NET_MAX_SLOTS_PER_PKT 18u /* Xen's XEN_NETBK_LEGACY_SLOTS_MAX: a frontend may use up to this */
#define XENITH_NET_GSO_MAX 65535u       /* the largest packet a TX request's size can name */

#define XENITH_NET_MODE_EXIT 0
#define XENITH_NET_MODE_IOEVENTFD 1
#define XENITH_NET_MODE_POLL 2

#endif
