// SPDX-License-Identifier: MIT
/*
 * netback's pure checks (io/netback.h): a TX packet's slots as the guest
 * published them, and the checksum netback fills.  No state, no I/O:
 * unit-tested and fuzzed on their own.
 */
#include "netback.h"

#include <errno.h>

#define PAGE 4096u
#define ETH_HLEN 14u

_Static_assert(NETBACK_TX_MAX_EXTRAS <= 8, "extra types seen fit a byte");

int netback_tx_parse(const union netif_tx_slot_req *slots, unsigned avail, struct netback_tx_pkt *pkt)
{
	struct netif_tx_request first;
	enum netback_drop drop = NETBACK_DROP_NONE;
	unsigned i = 1, nextra = 0;
	uint32_t rest = 0;
	uint8_t types_seen = 0;
	bool more;

	if (avail == 0)
		return 0;
	first = slots[0].tx;
	pkt->nfrags = 1;
	pkt->len = first.size;
	pkt->flags = first.flags;
	pkt->id[0] = first.id;
	pkt->extra[0] = false;
	pkt->cut = pkt->rest = false;
	pkt->frag[0] = (struct netback_tx_frag){ .gref = first.gref, .offset = first.offset };
	/* The extent first (flags only), the contents' checks after. */
	more = first.flags & NETTXF_extra_info;
	while (more) {
		struct netif_extra_info x;

		if (nextra == NETBACK_TX_MAX_EXTRAS) {
			drop = NETBACK_DROP_BAD_REQUEST; /* the slot that broke the rule is not part of it */
			goto end;
		}
		if (i >= avail)
			return 0;
		x = slots[i].extra;
		pkt->id[i] = 0;
		pkt->extra[i++] = true;
		nextra++;
		if (x.type == XEN_NETIF_EXTRA_TYPE_NONE || x.type >= XEN_NETIF_EXTRA_TYPE_MAX ||
		    (types_seen & (1u << x.type)))
			drop = NETBACK_DROP_BAD_REQUEST;
		else
			types_seen |= (uint8_t)(1u << x.type);
		if (x.type == XEN_NETIF_EXTRA_TYPE_GSO &&
		    (x.u.gso.size == 0 ||
		     (x.u.gso.type != XEN_NETIF_GSO_TYPE_TCPV4 && x.u.gso.type != XEN_NETIF_GSO_TYPE_TCPV6)))
			drop = NETBACK_DROP_BAD_REQUEST;
		more = x.flags & XEN_NETIF_EXTRA_FLAG_MORE;
	}
	more = first.flags & NETTXF_more_data;
	while (more) {
		struct netif_tx_request r;

		if (pkt->nfrags == XENITH_NET_MAX_SLOTS_PER_PKT) {
			drop = NETBACK_DROP_BAD_REQUEST; /* ends before the request one too many... */
			pkt->cut = true;                 /* ...and the rest of the chain follows it */
			goto end;
		}
		if (i >= avail)
			return 0;
		r = slots[i].tx;
		pkt->id[i] = r.id;
		pkt->extra[i++] = false;
		if (r.flags & NETTXF_extra_info) {
			drop = NETBACK_DROP_BAD_REQUEST; /* only the first request carries extra info */
			pkt->cut = r.flags & NETTXF_more_data;
			goto end;
		}
		pkt->frag[pkt->nfrags++] = (struct netback_tx_frag){ .gref = r.gref, .offset = r.offset,
								     .len = r.size };
		rest += r.size;
		more = r.flags & NETTXF_more_data;
	}
end:
	pkt->slots = i;
	if (drop == NETBACK_DROP_NONE && rest > first.size)
		drop = NETBACK_DROP_BAD_REQUEST; /* the fragments say more than the packet's size */
	if (drop == NETBACK_DROP_NONE) {
		pkt->frag[0].len = (uint16_t)(first.size - rest);
		for (unsigned f = 0; f < pkt->nfrags; f++)
			if ((uint32_t)pkt->frag[f].offset + pkt->frag[f].len > PAGE)
				drop = NETBACK_DROP_BAD_REQUEST;
	}
	if (drop == NETBACK_DROP_NONE && first.size < ETH_HLEN)
		drop = NETBACK_DROP_BAD_REQUEST;
	if (drop == NETBACK_DROP_NONE && first.size > XENITH_NET_FRAME_MAX)
		drop = NETBACK_DROP_OVERSIZE;
	pkt->drop = drop;
	return 1;
}

int netback_tx_skip(const union netif_tx_slot_req *slots, unsigned avail, struct netback_tx_pkt *pkt)
{
	unsigned i = 0;
	bool more = true;

	while (more && i < avail && i < NETBACK_TX_PKT_SLOTS) {
		struct netif_tx_request r = slots[i].tx;

		pkt->id[i] = r.id;
		pkt->extra[i++] = false;
		more = r.flags & NETTXF_more_data;
	}
	pkt->slots = i;
	pkt->nfrags = 0;
	pkt->len = 0;
	pkt->flags = 0;
	pkt->drop = NETBACK_DROP_BAD_REQUEST;
	pkt->cut = more;
	pkt->rest = true;
	return i > 0;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, uint32_t len)
{
	uint32_t i = 0;

	for (; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (i < len)
		sum += (uint32_t)p[i] << 8;
	return sum;
}

int netback_fill_csum(uint8_t *frame, uint32_t len)
{
	uint8_t *ip = frame + ETH_HLEN, *l4;
	uint32_t ihl, tot, l4len, field, sum;
	uint16_t csum;

	if (len < ETH_HLEN + 20 || frame[12] != 0x08 || frame[13] != 0x00)
		return -EINVAL; /* not IPv4 */
	ihl = (ip[0] & 0x0fu) * 4u;
	tot = (uint32_t)ip[2] << 8 | ip[3];
	if (ip[0] >> 4 != 4 || ihl < 20 || tot < ihl || ETH_HLEN + tot > len)
		return -EINVAL;
	if ((ip[6] & 0x3fu) || ip[7])
		return -EINVAL; /* a fragment (MF or an offset): the checksum covers the whole datagram */
	l4 = ip + ihl;
	l4len = tot - ihl;
	if (ip[9] == 6 && l4len >= 20)
		field = 16;
	else if (ip[9] == 17 && l4len >= 8)
		field = 6;
	else
		return -EINVAL;
	l4[field] = l4[field + 1] = 0;
	sum = csum_add(0, ip + 12, 8); /* pseudo-header: source and destination */
	sum += ip[9] + l4len;
	sum = csum_add(sum, l4, l4len);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	csum = (uint16_t)~sum;
	if (csum == 0 && ip[9] == 17)
		csum = 0xffff; /* UDP: 0 means "no checksum" */
	l4[field] = (uint8_t)(csum >> 8);
	l4[field + 1] = (uint8_t)csum;
	return 0;
}
