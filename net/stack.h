/* SPDX-License-Identifier: MIT */
/*
 * A small IPv4 stack for one interface: Ethernet, ARP (answers, a small
 * cache, requests for unknown next hops), IPv4 (header checks; fragments
 * are dropped and counted), ICMP echo replies, UDP with checksums.
 *
 * Freestanding C (only memcpy/memset/memcmp from the environment), built
 * twice like bench/workloads.c: into minios (over netfront) and natively
 * (unit tests, native programs).  No allocation: the caller owns struct
 * net_stack.  Single-threaded: one caller at a time.
 *
 * Frames in and out are whole Ethernet frames without FCS, 14..1514 bytes.
 * Receiving never trusts a length field: every header is checked against
 * the frame's real length before anything reads past it.
 *
 * Addresses (IPv4) are host-order uint32_t; ports host order.
 */
#ifndef XENITH_NET_STACK_H
#define XENITH_NET_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NET_ETH_HLEN 14u
#define NET_IP_HLEN 20u
#define NET_UDP_HLEN 8u
#define NET_FRAME_MIN 60u   /* shorter frames are padded to this on send (Ethernet's minimum without FCS) */
#define NET_FRAME_MAX 1514u /* MTU 1500 + the Ethernet header */
#define NET_UDP_PAYLOAD_MAX (NET_FRAME_MAX - NET_ETH_HLEN - NET_IP_HLEN - NET_UDP_HLEN)
#define NET_ARP_CACHE 16u
#define NET_ETHERTYPE_IPV4 0x0800u
#define NET_ETHERTYPE_ARP 0x0806u

/* Errors (Linux's numbers; the stack includes no errno.h so that it stays freestanding). */
#define NET_EAGAIN 11   /* next hop not resolved yet: an ARP request went out; try again */
#define NET_ENOBUFS 105 /* the device took no frame (ring full) */
#define NET_EMSGSIZE 90 /* payload larger than NET_UDP_PAYLOAD_MAX */
#define NET_EINVAL 22

struct net_stack;

/*
 * The device under the stack: netfront in the guest, a test pair or a raw
 * socket natively.
 */
struct net_dev_ops {
	/* Sends one frame (len <= NET_FRAME_MAX): 0, or -NET_ENOBUFS when the device cannot take it now. */
	int (*send)(void *dev, const uint8_t *frame, size_t len);
	/* Publishes frames sent so far (a doorbell); may be NULL when send publishes each. */
	void (*flush)(void *dev);
	/* Hands up to max received frames to net_input(s, ...): how many it handed. */
	unsigned (*poll)(void *dev, struct net_stack *s, unsigned max);
	/* Waits up to ns for a frame to arrive (or less); NULL: the caller spins on poll. */
	void (*wait)(void *dev, uint64_t ns);
	/* A monotonic clock in nanoseconds. */
	uint64_t (*now_ns)(void *dev);
};

struct net_udp_meta {
	uint32_t src_ip, dst_ip;
	uint16_t src_port, dst_port;
	uint8_t src_mac[6];
};

/* Receives UDP datagrams for the bound port (payload valid during the call only). */
typedef void (*net_udp_handler)(void *ctx, struct net_stack *s, const struct net_udp_meta *m,
				const uint8_t *payload, size_t len);

/* Counters: every received frame lands in exactly one rx_* outcome (net_stack_rx_outcomes). */
struct net_stack_stats {
	uint64_t rx_frames, rx_bytes, tx_frames, tx_bytes;
	/* outcomes of received frames */
	uint64_t rx_runt;          /* shorter than its headers say it must be */
	uint64_t rx_not_for_us;    /* another unicast MAC, or IPv4 to another address */
	uint64_t rx_unknown_type;  /* an EtherType other than IPv4 and ARP */
	uint64_t rx_arp;           /* ARP handled (answered, cached or ignored) */
	uint64_t rx_arp_bad;       /* ARP that is not Ethernet/IPv4 */
	uint64_t rx_ip_bad;        /* IPv4 header: version, IHL, total length, checksum */
	uint64_t rx_ip_fragment;   /* fragments: dropped (no reassembly) */
	uint64_t rx_ip_unknown_proto;
	uint64_t rx_icmp_echo;     /* echo requests answered */
	uint64_t rx_icmp_other;    /* other ICMP, or an echo whose reply could not be sent */
	uint64_t rx_icmp_bad;      /* ICMP checksum or length */
	uint64_t rx_udp;           /* UDP delivered to the handler */
	uint64_t rx_udp_bad;       /* UDP length or checksum */
	uint64_t rx_udp_no_port;   /* no handler bound to that port */
	/* other counters */
	uint64_t arp_requests_sent, arp_replies_sent;
	uint64_t tx_full;          /* the device took no frame */
};

struct net_arp_entry {
	uint32_t ip;
	uint8_t mac[6];
	bool valid;
	uint64_t used;             /* a counter for least-recently-used replacement */
};

struct net_stack {
	const struct net_dev_ops *ops;
	void *dev;
	uint8_t mac[6];
	uint32_t ip, netmask, gateway; /* gateway 0: none (off-link destinations are unreachable) */
	struct net_arp_entry arp[NET_ARP_CACHE];
	uint64_t arp_clock;
	uint16_t ip_id;
	uint16_t udp_port;         /* bound port (0: none) */
	net_udp_handler udp_rx;
	void *udp_ctx;
	struct net_stack_stats st;
	uint8_t tx[NET_FRAME_MAX];
};

void net_stack_init(struct net_stack *s, const struct net_dev_ops *ops, void *dev, const uint8_t mac[6],
		    uint32_t ip, unsigned prefix_len, uint32_t gateway);
/* Delivers UDP to port `port` to fn (one port at a time; 0 unbinds). */
void net_udp_bind(struct net_stack *s, uint16_t port, net_udp_handler fn, void *ctx);

/* Processes one received frame: answers ARP and ping, delivers UDP, counts the rest. */
void net_input(struct net_stack *s, const uint8_t *frame, size_t len);
/* Sum of the rx_* outcome counters: equals st.rx_frames (a checked invariant). */
uint64_t net_stack_rx_outcomes(const struct net_stack_stats *st);

/*
 * Sends a UDP datagram: 0, -NET_EAGAIN (the next hop's MAC is unknown: an
 * ARP request went out, poll and retry), -NET_ENOBUFS, -NET_EMSGSIZE, or
 * -NET_EINVAL (destination unreachable: off-link with no gateway).
 * dst_ip 255.255.255.255 goes to the broadcast MAC.
 */
int net_udp_send(struct net_stack *s, uint32_t dst_ip, uint16_t src_port, uint16_t dst_port,
		 const void *payload, size_t len);
/* Answers a received datagram (m from the handler) from its destination port, to the MAC it came from. */
int net_udp_reply(struct net_stack *s, const struct net_udp_meta *m, const void *payload, size_t len);
/*
 * Sends a prebuilt frame (len <= NET_FRAME_MAX; padded to NET_FRAME_MIN),
 * counted as the stack's own: 0 or -NET_ENOBUFS.
 */
int net_send_frame(struct net_stack *s, uint8_t *frame, size_t len);
/*
 * Builds the same frame into buf (at least NET_FRAME_MAX bytes) for a
 * known destination MAC, without sending: its length.  Used by programs
 * that send prebuilt frames and by tests.
 */
size_t net_udp_build(struct net_stack *s, uint8_t *buf, const uint8_t dst_mac[6], uint32_t dst_ip,
		     uint16_t src_port, uint16_t dst_port, const void *payload, size_t len);

/* The next hop's MAC if cached: true and *mac. */
bool net_arp_lookup(struct net_stack *s, uint32_t ip, uint8_t mac[6]);
/* Sends an ARP request for ip (next hop of a destination): 0 or -errno. */
int net_arp_request(struct net_stack *s, uint32_t ip);
/* The next hop for dst: dst itself on-link, else the gateway (0: unreachable). */
uint32_t net_next_hop(const struct net_stack *s, uint32_t dst);

/* The Internet checksum of data (ones' complement of the ones' complement sum), starting from sum. */
uint16_t net_csum(const void *data, size_t len, uint32_t sum);
/* The ones' complement sum of data added to sum, folded to 16 bits, not complemented (for incremental checksums). */
uint32_t net_csum_partial(const void *data, size_t len, uint32_t sum);
/* The UDP checksum of an IPv4 datagram (header + payload in udp, len bytes) as it goes on the wire. */
uint16_t net_udp_csum(uint32_t src, uint32_t dst, const uint8_t *udp, size_t len);

/* "10.0.0.2" -> addr; "10.0.0.2/24" also sets *prefix (NULL: no prefix allowed).  *end after it. */
bool net_parse_ip(const char *s, const char **end, uint32_t *addr, unsigned *prefix);
/* "02:00:00:00:00:01": true and mac; *end after it. */
bool net_parse_mac(const char *s, const char **end, uint8_t mac[6]);
/* Writes a.b.c.d and a NUL to buf (at least 16 bytes). */
void net_format_ip(uint32_t ip, char *buf);

static inline uint16_t net_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t net_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void net_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void net_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#endif
