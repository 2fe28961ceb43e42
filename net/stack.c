// SPDX-License-Identifier: MIT
/*
 * The guest's IPv4 stack (net/stack.h).  Freestanding: the __builtin_mem*
 * calls become the environment's memcpy/memset/memcmp (minios's lib.c, or
 * libc natively).
 */
#include "stack.h"

#define ETH_BCAST ((const uint8_t[6]){ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff })
#define ARP_LEN 28u
#define IP_PROTO_ICMP 1u
#define IP_PROTO_UDP 17u
#define IP_FLAG_MF 0x2000u
#define IP_FRAG_OFFSET 0x1fffu
#define ICMP_ECHO_REPLY 0u
#define ICMP_ECHO_REQUEST 8u
#define IP_TTL 64u

static bool mac_eq(const uint8_t *a, const uint8_t *b)
{
	return !__builtin_memcmp(a, b, 6);
}

void net_stack_init(struct net_stack *s, const struct net_dev_ops *ops, void *dev, const uint8_t mac[6],
		    uint32_t ip, unsigned prefix_len, uint32_t gateway)
{
	__builtin_memset(s, 0, sizeof(*s));
	s->ops = ops;
	s->dev = dev;
	__builtin_memcpy(s->mac, mac, 6);
	s->ip = ip;
	s->netmask = prefix_len == 0 ? 0 : prefix_len >= 32 ? 0xffffffffu : ~((1u << (32 - prefix_len)) - 1);
	s->gateway = gateway;
	s->ip_id = 1;
}

void net_udp_bind(struct net_stack *s, uint16_t port, net_udp_handler fn, void *ctx)
{
	s->udp_port = fn ? port : 0;
	s->udp_rx = fn;
	s->udp_ctx = ctx;
}

uint64_t net_stack_rx_outcomes(const struct net_stack_stats *st)
{
	return st->rx_runt + st->rx_not_for_us + st->rx_unknown_type + st->rx_arp + st->rx_arp_bad +
	       st->rx_ip_bad + st->rx_ip_fragment + st->rx_ip_unknown_proto + st->rx_icmp_echo +
	       st->rx_icmp_other + st->rx_icmp_bad + st->rx_udp + st->rx_udp_bad + st->rx_udp_no_port;
}

/* ---- checksums ---- */

static uint32_t csum_add(const uint8_t *p, size_t len, uint32_t sum)
{
	while (len > 1) {
		sum += (uint32_t)(p[0] << 8 | p[1]);
		sum = (sum & 0xffff) + (sum >> 16);
		p += 2;
		len -= 2;
	}
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint32_t net_csum_partial(const void *data, size_t len, uint32_t sum)
{
	sum = csum_add(data, len, sum);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

uint16_t net_csum(const void *data, size_t len, uint32_t sum)
{
	return csum_fold(csum_add(data, len, sum));
}

static uint32_t pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, size_t len)
{
	return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + (uint32_t)len;
}

uint16_t net_udp_csum(uint32_t src, uint32_t dst, const uint8_t *udp, size_t len)
{
	uint16_t c = net_csum(udp, len, pseudo_sum(src, dst, IP_PROTO_UDP, len));

	return c ? c : 0xffff; /* 0 on the wire means "no checksum" (RFC 768) */
}

/* ---- sending ---- */

static int dev_send(struct net_stack *s, uint8_t *frame, size_t len)
{
	int r;

	if (len < NET_FRAME_MIN) {
		__builtin_memset(frame + len, 0, NET_FRAME_MIN - len);
		len = NET_FRAME_MIN;
	}
	r = s->ops->send(s->dev, frame, len);
	if (r < 0) {
		s->st.tx_full++;
		return -NET_ENOBUFS;
	}
	s->st.tx_frames++;
	s->st.tx_bytes += len;
	return 0;
}

int net_send_frame(struct net_stack *s, uint8_t *frame, size_t len)
{
	return dev_send(s, frame, len);
}

static void eth_header(const struct net_stack *s, uint8_t *f, const uint8_t dst[6], uint16_t type)
{
	__builtin_memcpy(f, dst, 6);
	__builtin_memcpy(f + 6, s->mac, 6);
	net_put16(f + 12, type);
}

/* IPv4 header at p for payload_len bytes of proto, with its checksum. */
static void ip_header(struct net_stack *s, uint8_t *p, uint32_t dst, uint8_t proto, size_t payload_len)
{
	p[0] = 0x45;
	p[1] = 0;
	net_put16(p + 2, (uint16_t)(NET_IP_HLEN + payload_len));
	net_put16(p + 4, s->ip_id++);
	net_put16(p + 6, 0x4000); /* DF: we never fragment */
	p[8] = IP_TTL;
	p[9] = proto;
	net_put16(p + 10, 0);
	net_put32(p + 12, s->ip);
	net_put32(p + 16, dst);
	net_put16(p + 10, net_csum(p, NET_IP_HLEN, 0));
}

static void arp_packet(struct net_stack *s, uint8_t *f, uint16_t op, const uint8_t eth_dst[6],
		       const uint8_t tha[6], uint32_t tpa)
{
	uint8_t *a = f + NET_ETH_HLEN;

	eth_header(s, f, eth_dst, NET_ETHERTYPE_ARP);
	net_put16(a, 1);                  /* hardware: Ethernet */
	net_put16(a + 2, NET_ETHERTYPE_IPV4);
	a[4] = 6;
	a[5] = 4;
	net_put16(a + 6, op);
	__builtin_memcpy(a + 8, s->mac, 6);
	net_put32(a + 14, s->ip);
	__builtin_memcpy(a + 18, tha, 6);
	net_put32(a + 24, tpa);
}

int net_arp_request(struct net_stack *s, uint32_t ip)
{
	static const uint8_t zero[6];
	int r;

	arp_packet(s, s->tx, 1, ETH_BCAST, zero, ip);
	r = dev_send(s, s->tx, NET_ETH_HLEN + ARP_LEN);
	if (r == 0)
		s->st.arp_requests_sent++;
	return r;
}

uint32_t net_next_hop(const struct net_stack *s, uint32_t dst)
{
	if (dst == 0xffffffffu || (dst & s->netmask) == (s->ip & s->netmask))
		return dst;
	return s->gateway;
}

static struct net_arp_entry *arp_find(struct net_stack *s, uint32_t ip)
{
	for (unsigned i = 0; i < NET_ARP_CACHE; i++)
		if (s->arp[i].valid && s->arp[i].ip == ip)
			return &s->arp[i];
	return NULL;
}

bool net_arp_lookup(struct net_stack *s, uint32_t ip, uint8_t mac[6])
{
	struct net_arp_entry *e;

	if (ip == 0xffffffffu) {
		__builtin_memcpy(mac, ETH_BCAST, 6);
		return true;
	}
	e = arp_find(s, ip);
	if (!e)
		return false;
	e->used = ++s->arp_clock;
	__builtin_memcpy(mac, e->mac, 6);
	return true;
}

/* Caches ip -> mac, replacing the least recently used entry when full. */
static void arp_learn(struct net_stack *s, uint32_t ip, const uint8_t mac[6])
{
	struct net_arp_entry *e = arp_find(s, ip);

	if (!e) {
		e = &s->arp[0];
		for (unsigned i = 0; i < NET_ARP_CACHE; i++) {
			if (!s->arp[i].valid) {
				e = &s->arp[i];
				break;
			}
			if (s->arp[i].used < e->used)
				e = &s->arp[i];
		}
	}
	e->ip = ip;
	__builtin_memcpy(e->mac, mac, 6);
	e->valid = true;
	e->used = ++s->arp_clock;
}

size_t net_udp_build(struct net_stack *s, uint8_t *buf, const uint8_t dst_mac[6], uint32_t dst_ip,
		     uint16_t src_port, uint16_t dst_port, const void *payload, size_t len)
{
	uint8_t *ip = buf + NET_ETH_HLEN, *udp = ip + NET_IP_HLEN;
	size_t ulen = NET_UDP_HLEN + len;

	eth_header(s, buf, dst_mac, NET_ETHERTYPE_IPV4);
	ip_header(s, ip, dst_ip, IP_PROTO_UDP, ulen);
	net_put16(udp, src_port);
	net_put16(udp + 2, dst_port);
	net_put16(udp + 4, (uint16_t)ulen);
	net_put16(udp + 6, 0);
	if (payload != udp + NET_UDP_HLEN)
		__builtin_memcpy(udp + NET_UDP_HLEN, payload, len);
	net_put16(udp + 6, net_udp_csum(s->ip, dst_ip, udp, ulen));
	return NET_ETH_HLEN + NET_IP_HLEN + ulen;
}

int net_udp_send(struct net_stack *s, uint32_t dst_ip, uint16_t src_port, uint16_t dst_port,
		 const void *payload, size_t len)
{
	uint32_t hop = net_next_hop(s, dst_ip);
	uint8_t mac[6];
	int r;

	if (len > NET_UDP_PAYLOAD_MAX)
		return -NET_EMSGSIZE;
	if (!hop)
		return -NET_EINVAL;
	if (!net_arp_lookup(s, hop, mac)) {
		r = net_arp_request(s, hop);
		return r < 0 ? r : -NET_EAGAIN;
	}
	return dev_send(s, s->tx, net_udp_build(s, s->tx, mac, dst_ip, src_port, dst_port, payload, len));
}

int net_udp_reply(struct net_stack *s, const struct net_udp_meta *m, const void *payload, size_t len)
{
	if (len > NET_UDP_PAYLOAD_MAX)
		return -NET_EMSGSIZE;
	return dev_send(s, s->tx, net_udp_build(s, s->tx, m->src_mac, m->src_ip, m->dst_port, m->src_port,
						 payload, len));
}

/* ---- receiving ---- */

static void arp_input(struct net_stack *s, const uint8_t *a, size_t len)
{
	uint32_t spa, tpa;
	uint16_t op;
	uint8_t sha[6];

	if (len < ARP_LEN) {
		s->st.rx_runt++;
		return;
	}
	if (net_get16(a) != 1 || net_get16(a + 2) != NET_ETHERTYPE_IPV4 || a[4] != 6 || a[5] != 4) {
		s->st.rx_arp_bad++;
		return;
	}
	op = net_get16(a + 6);
	__builtin_memcpy(sha, a + 8, 6);
	spa = net_get32(a + 14);
	tpa = net_get32(a + 24);
	s->st.rx_arp++;
	if ((op != 1 && op != 2) || spa == 0 || (sha[0] & 1))
		return; /* probes and multicast senders are not cached */
	/* RFC 826: update an entry we have; add one when the packet is for us. */
	if (tpa == s->ip || arp_find(s, spa))
		arp_learn(s, spa, sha);
	if (op == 1 && tpa == s->ip) {
		arp_packet(s, s->tx, 2, sha, sha, spa);
		if (dev_send(s, s->tx, NET_ETH_HLEN + ARP_LEN) == 0)
			s->st.arp_replies_sent++;
	}
}

static void icmp_input(struct net_stack *s, const uint8_t *eth, const uint8_t *ip, const uint8_t *icmp,
		       size_t len)
{
	uint8_t *out = s->tx, *oip = out + NET_ETH_HLEN, *oicmp = oip + NET_IP_HLEN;

	if (len < 8 || net_csum(icmp, len, 0) != 0) {
		s->st.rx_icmp_bad++;
		return;
	}
	if (icmp[0] != ICMP_ECHO_REQUEST || icmp[1] != 0 || net_get32(ip + 16) != s->ip) {
		s->st.rx_icmp_other++; /* broadcast pings are not answered */
		return;
	}
	/* Reply to the MAC it came from: no ARP needed, as most stacks do. */
	eth_header(s, out, eth + 6, NET_ETHERTYPE_IPV4);
	ip_header(s, oip, net_get32(ip + 12), IP_PROTO_ICMP, len);
	__builtin_memcpy(oicmp, icmp, len);
	oicmp[0] = ICMP_ECHO_REPLY;
	net_put16(oicmp + 2, 0);
	net_put16(oicmp + 2, net_csum(oicmp, len, 0));
	if (dev_send(s, out, NET_ETH_HLEN + NET_IP_HLEN + len) == 0)
		s->st.rx_icmp_echo++;
	else
		s->st.rx_icmp_other++;
}

static void udp_input(struct net_stack *s, const uint8_t *eth, const uint8_t *ip, const uint8_t *udp,
		      size_t len)
{
	struct net_udp_meta m;
	uint16_t ulen;

	if (len < NET_UDP_HLEN || (ulen = net_get16(udp + 4)) < NET_UDP_HLEN || ulen > len) {
		s->st.rx_udp_bad++;
		return;
	}
	m.src_ip = net_get32(ip + 12);
	m.dst_ip = net_get32(ip + 16);
	/* A zero checksum means "none" (IPv4 only); else the sum over pseudo-header + datagram is 0. */
	if (net_get16(udp + 6) != 0 &&
	    net_csum(udp, ulen, pseudo_sum(m.src_ip, m.dst_ip, IP_PROTO_UDP, ulen)) != 0) {
		s->st.rx_udp_bad++;
		return;
	}
	m.src_port = net_get16(udp);
	m.dst_port = net_get16(udp + 2);
	if (!s->udp_rx || m.dst_port != s->udp_port) {
		s->st.rx_udp_no_port++;
		return;
	}
	__builtin_memcpy(m.src_mac, eth + 6, 6);
	s->st.rx_udp++;
	s->udp_rx(s->udp_ctx, s, &m, udp + NET_UDP_HLEN, ulen - NET_UDP_HLEN);
}

static void ip_input(struct net_stack *s, const uint8_t *eth, const uint8_t *ip, size_t len)
{
	size_t ihl, total;
	uint32_t dst;

	if (len < NET_IP_HLEN) {
		s->st.rx_runt++;
		return;
	}
	ihl = (size_t)(ip[0] & 0xf) * 4;
	total = net_get16(ip + 2);
	if ((ip[0] >> 4) != 4 || ihl < NET_IP_HLEN || ihl > len || total < ihl || total > len ||
	    net_csum(ip, ihl, 0) != 0) {
		s->st.rx_ip_bad++;
		return;
	}
	dst = net_get32(ip + 16);
	if (dst != s->ip && dst != 0xffffffffu && dst != (s->ip | ~s->netmask)) {
		s->st.rx_not_for_us++;
		return;
	}
	if (net_get16(ip + 6) & (IP_FLAG_MF | IP_FRAG_OFFSET)) {
		s->st.rx_ip_fragment++;
		return;
	}
	/* Ethernet pads short frames: the IP total length, not the frame's, bounds the payload. */
	switch (ip[9]) {
	case IP_PROTO_ICMP:
		icmp_input(s, eth, ip, ip + ihl, total - ihl);
		break;
	case IP_PROTO_UDP:
		udp_input(s, eth, ip, ip + ihl, total - ihl);
		break;
	default:
		s->st.rx_ip_unknown_proto++;
		break;
	}
}

void net_input(struct net_stack *s, const uint8_t *frame, size_t len)
{
	s->st.rx_frames++;
	s->st.rx_bytes += len;
	if (len < NET_ETH_HLEN) {
		s->st.rx_runt++;
		return;
	}
	if (!mac_eq(frame, s->mac) && !mac_eq(frame, ETH_BCAST)) {
		s->st.rx_not_for_us++;
		return;
	}
	switch (net_get16(frame + 12)) {
	case NET_ETHERTYPE_ARP:
		arp_input(s, frame + NET_ETH_HLEN, len - NET_ETH_HLEN);
		break;
	case NET_ETHERTYPE_IPV4:
		ip_input(s, frame, frame + NET_ETH_HLEN, len - NET_ETH_HLEN);
		break;
	default:
		s->st.rx_unknown_type++;
		break;
	}
}

/* ---- addresses ---- */

static bool parse_dec(const char *s, const char **end, unsigned max, unsigned *out)
{
	unsigned v = 0, n = 0;

	while (s[n] >= '0' && s[n] <= '9' && n < 4) {
		v = v * 10 + (unsigned)(s[n] - '0');
		n++;
	}
	if (n == 0 || n == 4 || v > max)
		return false;
	*out = v;
	*end = s + n;
	return true;
}

bool net_parse_ip(const char *s, const char **end, uint32_t *addr, unsigned *prefix)
{
	uint32_t a = 0;
	unsigned v;

	for (int i = 0; i < 4; i++) {
		if (!parse_dec(s, &s, 255, &v))
			return false;
		a = a << 8 | v;
		if (i < 3 && *s++ != '.')
			return false;
	}
	if (*s == '/') {
		if (!prefix || !parse_dec(s + 1, &s, 32, &v))
			return false;
		*prefix = v;
	}
	*addr = a;
	if (end)
		*end = s;
	return true;
}

static int hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool net_parse_mac(const char *s, const char **end, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		int hi = hex(s[0]), lo = hi < 0 ? -1 : hex(s[1]);

		if (lo < 0 || (i < 5 && s[2] != ':'))
			return false;
		mac[i] = (uint8_t)(hi << 4 | lo);
		s += i < 5 ? 3 : 2;
	}
	if (end)
		*end = s;
	return true;
}

void net_format_ip(uint32_t ip, char *buf)
{
	char *p = buf;

	for (int i = 3; i >= 0; i--) {
		unsigned v = (ip >> (8 * i)) & 0xff;

		if (v >= 100)
			*p++ = (char)('0' + v / 100);
		if (v >= 10)
			*p++ = (char)('0' + v / 10 % 10);
		*p++ = (char)('0' + v % 10);
		if (i)
			*p++ = '.';
	}
	*p = 0;
}
