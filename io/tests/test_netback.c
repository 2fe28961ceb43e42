// SPDX-License-Identifier: MIT
/*
 * Unit tests of the network backend: its TX request checks
 * (netback_tx_parse), the checksum it fills, the in-memory port pair, and
 * a live queue (its thread, a grant table over test memory, a port pair
 * whose other end the test holds): good traffic both ways, and hostile
 * requests that each get their status and counter while good frames in
 * the same burst go on, in each notification mode.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "netback.h"
#include "port_pair.h"
#include "testutil.h"

/* ---- netback_tx_parse ---- */

static union netif_tx_slot_req req(grant_ref_t gref, uint16_t offset, uint16_t flags, uint16_t id, uint16_t size)
{
	union netif_tx_slot_req s;

	memset(&s, 0, sizeof(s));
	s.tx = (struct netif_tx_request){ .gref = gref, .offset = offset, .flags = flags, .id = id, .size = size };
	return s;
}

static union netif_tx_slot_req extra(uint8_t type, uint8_t flags)
{
	union netif_tx_slot_req s;

	memset(&s, 0, sizeof(s));
	s.extra.type = type;
	s.extra.flags = flags;
	if (type == XEN_NETIF_EXTRA_TYPE_GSO) {
		s.extra.u.gso.size = 1448;
		s.extra.u.gso.type = XEN_NETIF_GSO_TYPE_TCPV4;
	}
	return s;
}

static void test_a_one_slot_packet_is_one_fragment_of_its_size(void **state)
{
	union netif_tx_slot_req s[2] = { req(10, 100, 0, 7, 60), req(11, 0, 0, 8, 60) };
	struct netback_tx_pkt p;

	(void)state;
	assert_int_equal(netback_tx_parse(s, 2, &p), 1);
	assert_int_equal(p.drop, NETBACK_DROP_NONE);
	assert_int_equal(p.slots, 1);
	assert_int_equal(p.nfrags, 1);
	assert_int_equal(p.len, 60);
	assert_int_equal(p.id[0], 7);
	assert_int_equal(p.frag[0].gref, 10);
	assert_int_equal(p.frag[0].offset, 100);
	assert_int_equal(p.frag[0].len, 60);
}

static void test_the_first_fragment_is_the_size_less_the_others(void **state)
{
	union netif_tx_slot_req s[3] = { req(10, 0, NETTXF_more_data, 1, 1000),
					 req(11, 4000, NETTXF_more_data, 2, 96),
					 req(12, 0, 0, 3, 300) };
	struct netback_tx_pkt p;

	(void)state;
	assert_int_equal(netback_tx_parse(s, 3, &p), 1);
	assert_int_equal(p.drop, NETBACK_DROP_NONE);
	assert_int_equal(p.slots, 3);
	assert_int_equal(p.nfrags, 3);
	assert_int_equal(p.frag[0].len, 1000 - 96 - 300);
	assert_int_equal(p.frag[1].len, 96);
	assert_int_equal(p.frag[2].len, 300);
	assert_int_equal(p.id[2], 3);
	/* the fragments claim more than the packet's size */
	s[2].tx.size = 1000;
	assert_int_equal(netback_tx_parse(s, 3, &p), 1);
	assert_int_equal(p.drop, NETBACK_DROP_BAD_REQUEST);
	assert_int_equal(p.slots, 3); /* all of it is answered */
	/* ... by exactly 65536 more: a 16-bit first length would come out 0 and the frame overflow */
	{
		union netif_tx_slot_req w[XENITH_NET_MAX_SLOTS_PER_PKT];
		unsigned n = XENITH_NET_MAX_SLOTS_PER_PKT;

		w[0] = req(10, 0, NETTXF_more_data, 0, 101);
		for (unsigned i = 1; i < n; i++) /* 17 x 3861 = 65637 = 101 + 65536 */
			w[i] = req(10, 0, i + 1 < n ? NETTXF_more_data : 0, (uint16_t)i, 3861);
		assert_int_equal(netback_tx_parse(w, n, &p), 1);
		assert_int_equal(p.drop, NETBACK_DROP_BAD_REQUEST);
		assert_int_equal(p.slots, n);
	}
}

static void test_fragments_must_lie_within_their_page(void **state)
{
	union netif_tx_slot_req s[2] = { req(10, 4096 - 60, 0, 1, 60) };
	struct netback_tx_pkt p;

	(void)state;
	assert_int_equal(netback_tx_parse(s, 1, &p), 1);
	assert_int_equal(p.drop, NETBACK_DROP_NONE); /* ends exactly at the page's end */
	s[0].tx.offset = 4096 - 59;
	assert_int_equal(netback_tx_parse(s, 1, &p), 1);
	assert_int_equal(p.drop, NETBACK_DROP_BAD_REQUEST);
	s[0].tx.offset = 0xffff;
	assert_int_equal(netback_tx_parse(s, 1, &p), 1);
	assert_int_equal(p.drop, NETBACK_DROP_BAD_REQUEST);
	s[0] = req(10, 0, NETTXF_more_data, 1, 100);
	s[1] = req(11, 4050, 0, 2, 50); /* a later fragment past its page */
	assert_int_equal(netback_tx_parse(s, 2, &p), 1);
	assert_int_equal(p.drop, NETBACK_DROP_BAD_REQUEST);
}

static void test_frame_lengths_outside_14_to_1514_are_refused(void **state)
{
	union netif_tx_slot_req s[1] = { req(10, 0, 0, 1, 14) };
	struct netback_tx_pkt p;

	(void)state;
	assert_int_equal(netback_tx_parse(s, 1, &p), 1);
	assert_int_equal(p.drop, NETBACK_DROP_NONE);
	s[0].tx.size = 13;
	assert_int_equal(netback_tx_parse(s, 1, &p), 1);
	assert_int_equal(p.drop, NETBACK_DROP_BAD_REQUEST);
	s[0].tx.size = 1514;
	assert_int_equal(netback_tx_parse(s, 1, &p), 1);
	assert_int_equal(p.drop, NETBACK_DROP_NONE);
	s[0].tx.size = 1515;
	assert_int_equal(netback_tx_parse(s, 1, &p), 1);
	assert_int_equal(p.drop, NETBACK_DROP_OVERSIZE);
}

static void test_at_most_18_requests_make_a_packet(void **state)
{
	union netif_tx_slot_req s[NETBACK_TX_PKT_SLOTS + 4];
	struct netback_tx_pkt p;
	unsigned n = XENITH_NET_MAX_SLOTS_PER_PKT;

	(void)state;
	for (unsigned i = 0; i < n; i++)
		s[i] = req(10 + i, 0, i + 1 < n ? NETTXF_more_data : 0, (uint16_t)i, i ? 10 : 1400);
	assert_int_equal(netback_tx_parse(s, n, &p), 1);
	assert_int_equal(p.drop, NETBACK_DROP_NONE);
	assert_int_equal(p.slots, n);
	assert_false(p.cut);
	assert_int_equal(p.frag[0].len, 1400 - 10 * (n - 1));
	/* one more */
	s[n - 1].tx.flags = NETTXF_more_data;
	s[n] = req(99, 0, 0, 99, 10);
	assert_int_equal(netback_tx_parse(s, n + 1, &p), 1);
	assert_int_equal(p.drop, NETBACK_DROP_BAD_REQUEST);
	assert_int_equal(p.slots, n); /* ends before the request one too many */
	assert_true(p.cut);           /* which is the rest of it, not a packet */
	assert_int_equal(netback_tx_skip(s + n, 1, &p), 1);
	assert_int_equal(p.slots, 1);
	assert_int_equal(p.id[0], 99);
	assert_true(p.rest);
	assert_false(p.cut);          /* the 19th said no more */
	/* a chain that never ends, with extras: still bounded by the window */
	s[0].tx.flags = NETTXF_more_data | NETTXF_extra_info;
	for (unsigned i = 1; i <= NETBACK_TX_MAX_EXTRAS; i++)
		s[i] = extra((uint8_t)i, i < NETBACK_TX_MAX_EXTRAS ? XEN_NETIF_EXTRA_FLAG_MORE : 0);
	for (unsigned i = NETBACK_TX_MAX_EXTRAS + 1; i < NETBACK_TX_PKT_SLOTS + 4; i++)
		s[i] = req(10, 0, NETTXF_more_data, (uint16_t)i, 10);
	assert_int_equal(netback_tx_parse(s, NETBACK_TX_PKT_SLOTS, &p), 1);
	assert_int_equal(p.drop, NETBACK_DROP_BAD_REQUEST);
	assert_int_equal(p.slots, NETBACK_TX_PKT_SLOTS);
}

static void test_the_rest_of_a_cut_chain_is_skipped_to_its_end(void **state)
{
	union netif_tx_slot_req s[NETBACK_TX_PKT_SLOTS + 8];
	struct netback_tx_pkt p;

	(void)state;
	/* a request with extra info inside the chain cuts it there */
	s[0] = req(10, 0, NETTXF_more_data, 1, 100);
	s[1] = req(11, 0, NETTXF_more_data | NETTXF_extra_info, 2, 10);
	s[2] = req(12, 0, NETTXF_more_data, 3, 10);
	s[3] = req(13, 0, 0, 4, 10);
	s[4] = req(14, 0, 0, 5, 60);
	assert_int_equal(netback_tx_parse(s, 5, &p), 1);
	assert_int_equal(p.drop, NETBACK_DROP_BAD_REQUEST);
	assert_int_equal(p.slots, 2);
	assert_true(p.cut);
	assert_int_equal(netback_tx_skip(s + 2, 3, &p), 1);
	assert_int_equal(p.slots, 2); /* ids 3 and 4: the chain ends at 4 */
	assert_int_equal(p.id[0], 3);
	assert_int_equal(p.id[1], 4);
	assert_false(p.cut);
	assert_int_equal(netback_tx_parse(s + 4, 1, &p), 1); /* then a packet again */
	assert_int_equal(p.drop, NETBACK_DROP_NONE);
	/* without more_data on the slot that broke the rule, nothing is cut */
	s[1].tx.flags = NETTXF_extra_info;
	assert_int_equal(netback_tx_parse(s, 5, &p), 1);
	assert_false(p.cut);
	/* a chain longer than the window: answered a window at a time, still cut */
	for (unsigned i = 0; i < NETBACK_TX_PKT_SLOTS + 8; i++)
		s[i] = req(10, 0, NETTXF_more_data, (uint16_t)i, 10);
	assert_int_equal(netback_tx_skip(s, NETBACK_TX_PKT_SLOTS + 8, &p), 1);
	assert_int_equal(p.slots, NETBACK_TX_PKT_SLOTS);
	assert_true(p.cut);
	assert_int_equal(netback_tx_skip(s, 0, &p), 0);
}

static void test_extra_info_slots_are_checked_and_answered_null(void **state)
{
	union netif_tx_slot_req s[8];
	struct netback_tx_pkt p;

	(void)state;
	s[0] = req(10, 0, NETTXF_extra_info | NETTXF_more_data, 1, 200);
	s[1] = extra(XEN_NETIF_EXTRA_TYPE_GSO, XEN_NETIF_EXTRA_FLAG_MORE);
	s[2] = extra(XEN_NETIF_EXTRA_TYPE_MCAST_ADD, 0);
	s[3] = req(11, 0, 0, 2, 100);
	assert_int_equal(netback_tx_parse(s, 4, &p), 1);
	assert_int_equal(p.drop, NETBACK_DROP_NONE);
	assert_int_equal(p.slots, 4);
	assert_int_equal(p.nfrags, 2);
	assert_false(p.extra[0]);
	assert_true(p.extra[1]);
	assert_true(p.extra[2]);
	assert_false(p.extra[3]);
	assert_int_equal(p.id[3], 2);
	assert_int_equal(p.frag[0].len, 100);
	/* unknown types, a type twice, a GSO without a type, too many, an extra on a later request */
	s[2] = extra(0, 0);
	assert_int_equal(netback_tx_parse(s, 4, &p), 1);
	assert_int_equal(p.drop, NETBACK_DROP_BAD_REQUEST);
	assert_int_equal(p.slots, 4);
	s[2] = extra(XEN_NETIF_EXTRA_TYPE_MAX, 0);
	assert_int_equal(netback_tx_parse(s, 4, &p), 1);
	assert_int_equal(p.drop, NETBACK_DROP_BAD_REQUEST);
	s[2] = extra(XEN_NETIF_EXTRA_TYPE_GSO, 0);
	assert_int_equal(netback_tx_parse(s, 4, &p), 1);
	assert_int_equal(p.drop, NETBACK_DROP_BAD_REQUEST);
	s[2] = extra(XEN_NETIF_EXTRA_TYPE_MCAST_DEL, 0);
	s[1].extra.u.gso.type = XEN_NETIF_GSO_TYPE_NONE;
	assert_int_equal(netback_tx_parse(s, 4, &p), 1);
	assert_int_equal(p.drop, NETBACK_DROP_BAD_REQUEST);
	for (unsigned i = 1; i <= 5; i++)
		s[i] = extra(XEN_NETIF_EXTRA_TYPE_MCAST_ADD, XEN_NETIF_EXTRA_FLAG_MORE);
	assert_int_equal(netback_tx_parse(s, 8, &p), 1);
	assert_int_equal(p.drop, NETBACK_DROP_BAD_REQUEST);
	assert_true(p.slots <= 1 + NETBACK_TX_MAX_EXTRAS);
	s[0] = req(10, 0, NETTXF_more_data, 1, 200);
	s[1] = req(11, 0, NETTXF_extra_info, 2, 100);
	s[2] = extra(XEN_NETIF_EXTRA_TYPE_MCAST_ADD, 0);
	assert_int_equal(netback_tx_parse(s, 3, &p), 1);
	assert_int_equal(p.drop, NETBACK_DROP_BAD_REQUEST);
	assert_int_equal(p.slots, 2);
}

static void test_a_packet_published_in_part_waits(void **state)
{
	union netif_tx_slot_req s[3] = { req(10, 0, NETTXF_more_data | NETTXF_extra_info, 1, 100),
					 extra(XEN_NETIF_EXTRA_TYPE_GSO, 0), req(11, 0, 0, 2, 40) };
	struct netback_tx_pkt p;

	(void)state;
	assert_int_equal(netback_tx_parse(s, 0, &p), 0);
	assert_int_equal(netback_tx_parse(s, 1, &p), 0); /* its extra slot is missing */
	assert_int_equal(netback_tx_parse(s, 2, &p), 0); /* its second fragment is missing */
	assert_int_equal(netback_tx_parse(s, 3, &p), 1);
	assert_int_equal(p.drop, NETBACK_DROP_NONE);
	assert_int_equal(p.slots, 3);
}

/* ---- netback_fill_csum ---- */

/* The one's complement sum over the pseudo-header and segment: 0xffff when the checksum is right. */
static uint16_t verify_l4(const uint8_t *f)
{
	const uint8_t *ip = f + 14;
	uint32_t ihl = (ip[0] & 15u) * 4, tot = (uint32_t)ip[2] << 8 | ip[3], l4len = tot - ihl, sum = 0;

	for (unsigned i = 12; i < 20; i += 2)
		sum += (uint32_t)ip[i] << 8 | ip[i + 1];
	sum += ip[9] + l4len;
	for (uint32_t i = 0; i < l4len; i += 2)
		sum += (uint32_t)ip[ihl + i] << 8 | (i + 1 < l4len ? ip[ihl + i + 1] : 0);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint32_t ipv4_frame(uint8_t *f, uint8_t proto, uint32_t payload)
{
	uint32_t l4hdr = proto == 6 ? 20 : 8, tot = 20 + l4hdr + payload;

	memset(f, 0, 14 + tot);
	memcpy(f, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00", 14);
	f[14] = 0x45;
	f[16] = (uint8_t)(tot >> 8);
	f[17] = (uint8_t)tot;
	f[14 + 8] = 64;
	f[14 + 9] = proto;
	memcpy(f + 14 + 12, "\x0a\x00\x00\x02\x0a\x00\x00\x01", 8);
	f[34] = 0x30; /* ports */
	f[35] = 0x39;
	f[36] = 0x1f;
	f[37] = 0x90;
	if (proto == 17) {
		f[38] = (uint8_t)((8 + payload) >> 8);
		f[39] = (uint8_t)(8 + payload);
	} else {
		f[34 + 12] = 0x50;
	}
	for (uint32_t i = 0; i < payload; i++)
		f[34 + l4hdr + i] = (uint8_t)(i * 7 + 3);
	return 14 + tot;
}

static void test_blank_udp_and_tcp_checksums_are_filled(void **state)
{
	uint8_t f[1514];
	uint32_t len;

	(void)state;
	len = ipv4_frame(f, 17, 333); /* odd length */
	f[40] = 0xde; /* garbage in the field: ignored */
	f[41] = 0xad;
	assert_int_equal(netback_fill_csum(f, len), 0);
	assert_int_equal(verify_l4(f), 0xffff);
	assert_true(f[40] || f[41]); /* UDP never carries 0 (no checksum) */
	len = ipv4_frame(f, 6, 1460);
	assert_int_equal(netback_fill_csum(f, len), 0);
	assert_int_equal(verify_l4(f), 0xffff);
	len = ipv4_frame(f, 6, 0);
	f[34 + 16] = 0x12;
	assert_int_equal(netback_fill_csum(f, len), 0);
	assert_int_equal(verify_l4(f), 0xffff);
}

static void test_checksums_netback_cannot_fill_are_refused(void **state)
{
	uint8_t f[1514];
	uint32_t len;

	(void)state;
	len = ipv4_frame(f, 17, 100);
	f[14 + 6] = 0x20; /* more fragments */
	assert_int_equal(netback_fill_csum(f, len), -EINVAL);
	len = ipv4_frame(f, 17, 100);
	f[14 + 7] = 1; /* an offset */
	assert_int_equal(netback_fill_csum(f, len), -EINVAL);
	len = ipv4_frame(f, 1, 100); /* ICMP */
	assert_int_equal(netback_fill_csum(f, len), -EINVAL);
	len = ipv4_frame(f, 17, 100);
	f[12] = 0x86; /* IPv6 */
	f[13] = 0xdd;
	assert_int_equal(netback_fill_csum(f, len), -EINVAL);
	len = ipv4_frame(f, 17, 100);
	assert_int_equal(netback_fill_csum(f, len - 1), -EINVAL); /* total length past the frame */
	len = ipv4_frame(f, 6, 100);
	f[14] = 0x4f; /* a header of 60 bytes: TCP's header no longer fits */
	f[16] = 0;
	f[17] = 60 + 10;
	assert_int_equal(netback_fill_csum(f, len), -EINVAL);
	assert_int_equal(netback_fill_csum(f, 20), -EINVAL);
}

/* ---- port_pair ---- */

static void test_a_port_pair_carries_frames_both_ways_in_order(void **state)
{
	struct net_port *a, *b;
	uint8_t buf[4][NET_PORT_FRAME_MAX];
	struct net_frame out[3], in[4];
	struct pollfd pfd;

	(void)state;
	assert_int_equal(port_pair_create("t", &a, &b), 0);
	assert_string_equal(a->name, "pair:t");
	for (unsigned i = 0; i < 3; i++) {
		memset(buf[i], 'a' + i, 60 + i);
		out[i] = (struct net_frame){ .data = buf[i], .len = (uint16_t)(60 + i) };
	}
	pfd = (struct pollfd){ .fd = b->ops->rx_fd(b), .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 0), 0); /* nothing yet */
	assert_int_equal(a->ops->send(a, out, 3), 3);
	assert_int_equal(poll(&pfd, 1, 0), 1);
	for (unsigned i = 0; i < 4; i++)
		in[i] = (struct net_frame){ .data = buf[i], .cap = NET_PORT_FRAME_MAX };
	memset(buf, 0, sizeof(buf));
	assert_int_equal(b->ops->recv(b, in, 4), 3);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(in[i].len, 60 + i);
		assert_int_equal(buf[i][59 + i], 'a' + i);
	}
	assert_int_equal(poll(&pfd, 1, 0), 0); /* drained: no longer readable */
	assert_int_equal(b->ops->recv(b, in, 4), 0);
	assert_int_equal(a->ops->recv(a, in, 4), 0); /* nothing went the other way */
	a->ops->close(a);
	b->ops->close(b);
}

static void test_a_full_port_pair_takes_only_what_fits(void **state)
{
	struct net_port *a, *b;
	uint8_t data[64] = { 0 };
	struct net_frame f[NET_PORT_BURST];
	unsigned sent = 0;
	int r;

	(void)state;
	assert_int_equal(port_pair_create("full", &a, &b), 0);
	for (unsigned i = 0; i < NET_PORT_BURST; i++)
		f[i] = (struct net_frame){ .data = data, .len = sizeof(data) };
	while ((r = a->ops->send(a, f, NET_PORT_BURST)) == (int)NET_PORT_BURST)
		sent += NET_PORT_BURST;
	sent += (unsigned)r;
	assert_int_equal(sent, PORT_PAIR_DEPTH);
	assert_int_equal(a->ops->send(a, f, 1), 0);
	a->ops->close(a);
	b->ops->close(b);
}

static void test_named_pairs_join_two_openers(void **state)
{
	struct net_port *a, *b, *c;
	uint8_t data[20] = "hello, other side";
	struct net_frame f = { .data = data, .len = sizeof(data) }, in;
	uint8_t got[NET_PORT_FRAME_MAX];

	(void)state;
	assert_int_equal(port_pair_open("", &a), -EINVAL);
	assert_int_equal(port_pair_open("link", &a), 0);
	assert_int_equal(port_pair_open("link", &b), 0);
	assert_int_equal(port_pair_open("link", &c), -EBUSY);
	assert_int_equal(a->ops->send(a, &f, 1), 1);
	in = (struct net_frame){ .data = got, .cap = sizeof(got) };
	assert_int_equal(b->ops->recv(b, &in, 1), 1);
	assert_memory_equal(got, data, sizeof(data));
	b->ops->close(b);
	assert_int_equal(port_pair_open("link", &c), 0); /* takes the end b let go of */
	assert_int_equal(c->ops->send(c, &f, 1), 1);
	in = (struct net_frame){ .data = got, .cap = sizeof(got) };
	assert_int_equal(a->ops->recv(a, &in, 1), 1);
	a->ops->close(a);
	c->ops->close(c);
	assert_int_equal(port_pair_open("link", &a), 0); /* both closed: a new pair */
	assert_int_equal(a->ops->recv(a, &in, 1), 0);
	a->ops->close(a);
}

/* ---- a live queue ---- */

#define PAGES 128u
#define F_TABLE 8u  /* grant table: one frame, refs 0..511 */
#define F_RINGS 10u /* queue q: TX ring at frame 10 + 2q (ref the same), RX ring at 11 + 2q */
#define F_TXDATA 32u /* TX data: 32 pages, ref = frame */
#define F_RXBUF 64u  /* RX buffers: 32 pages, ref = frame */
#define REF_RO 100u  /* granted read-only (an RX buffer the backend cannot write) */
#define REF_NONE 101u /* never granted */
#define WAIT_MS 30000

static const uint8_t VIF_MAC[6] = { 0x00, 0x16, 0x3e, 0x00, 0x00, 0x01 };

struct fe { /* one queue's frontend, as the test plays it */
	struct netif_tx_front tx;
	struct netif_rx_front rx;
	struct netback *nb;
	struct net_port *port, *peer; /* netback's end, the test's end */
	int done_fd;                  /* notify writes it */
	_Atomic unsigned notified[2];
};

static struct {
	uint8_t *mem;
	struct grant_table gt;
	bool gt_ready;
	struct fe q[2];
	uint32_t mode;
} L;

static void grant(grant_ref_t ref, uint32_t frame, bool ro)
{
	struct grant_entry_v1 *e = (struct grant_entry_v1 *)(void *)(L.mem + F_TABLE * 4096ull) + ref;

	e->frame = frame;
	e->domid = XENITH_BACKEND_DOMID;
	__atomic_store_n(&e->flags, (uint16_t)(GTF_permit_access | (ro ? GTF_readonly : 0)), __ATOMIC_RELEASE);
}

static void fe_notify(void *opaque, enum netback_ring ring)
{
	struct fe *q = opaque;
	uint64_t one = 1;

	atomic_fetch_add(&q->notified[ring], 1);
	if (write(q->done_fd, &one, sizeof(one)) < 0) {
		/* far from saturating */
	}
}

/* Queue i's backend on a port pair of its own (the test holds the other end), or on one end of the named pair. */
static void fe_start_on(unsigned i, const char *pair_name)
{
	struct fe *q = &L.q[i];
	struct netif_tx_sring *ts = (void *)(L.mem + (F_RINGS + 2 * i) * 4096ull);
	struct netif_rx_sring *rs = (void *)(L.mem + (F_RINGS + 2 * i + 1) * 4096ull);
	struct netback_config cfg = { .index = 0, .queue = i, .mode = L.mode };
	char msg[256];

	q->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(q->done_fd >= 0);
	if (pair_name)
		assert_int_equal(port_pair_open(pair_name, &q->port), 0);
	else
		assert_int_equal(port_pair_create(i ? "q1" : "q0", &q->port, &q->peer), 0);
	cfg.port = q->port;
	memcpy(cfg.mac, VIF_MAC, 6);
	if (netback_open(&cfg, &q->nb, msg, sizeof(msg)) < 0)
		fail_msg("%s", msg);
	grant(F_RINGS + 2 * i, F_RINGS + 2 * i, false);
	grant(F_RINGS + 2 * i + 1, F_RINGS + 2 * i + 1, false);
	netif_tx_sring_init(ts);
	netif_rx_sring_init(rs);
	netif_tx_front_init(&q->tx, ts);
	netif_rx_front_init(&q->rx, rs);
	assert_int_equal(netback_connect(q->nb, &L.gt, F_RINGS + 2 * i, F_RINGS + 2 * i + 1, fe_notify, q), 0);
}

static void fe_start(unsigned i)
{
	fe_start_on(i, NULL);
}

static int live_setup_common(void **state)
{
	L.mem = mmap(NULL, PAGES * 4096ull, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(L.mem != MAP_FAILED);
	L.mode = (uint32_t)(uintptr_t)*state;
	for (unsigned i = 0; i < 2; i++)
		L.q[i].done_fd = -1;
	assert_int_equal(grant_table_init(&L.gt, L.mem, PAGES * 4096ull, 8 * 4096ull, XENITH_BACKEND_DOMID), 0);
	L.gt_ready = true;
	assert_int_equal(grant_table_set(&L.gt, F_TABLE * 4096ull, 1), 0);
	for (unsigned f = F_TXDATA; f < F_RXBUF + 32; f++)
		grant(f, f, false);
	grant(REF_RO, F_RXBUF, true);
	return 0;
}

static int live_setup(void **state)
{
	live_setup_common(state);
	fe_start(0);
	return 0;
}

/* Two queues wired together by the named pair "link", as two vifs with port=pair:link. */
static int linked_setup(void **state)
{
	live_setup_common(state);
	fe_start_on(0, "link");
	fe_start_on(1, "link");
	return 0;
}

static int live_teardown(void **state)
{
	(void)state;
	for (unsigned i = 0; i < 2; i++) {
		struct fe *q = &L.q[i];

		netback_close(q->nb); /* stops and joins the thread first */
		if (q->port)
			q->port->ops->close(q->port);
		if (q->peer)
			q->peer->ops->close(q->peer);
		if (q->done_fd >= 0)
			close(q->done_fd);
	}
	if (L.gt_ready)
		grant_table_fini(&L.gt);
	if (L.mem && L.mem != MAP_FAILED)
		munmap(L.mem, PAGES * 4096ull);
	memset(&L, 0, sizeof(L));
	return 0;
}

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Kicks as a frontend does: only when the ring says the backend asked for it. */
static void kick(struct fe *q)
{
	uint64_t one = 1;

	assert_int_equal(write(netback_kick_fd(q->nb), &one, sizeof(one)), sizeof(one));
}

static void tx_push(struct fe *q)
{
	if (netif_tx_front_push(&q->tx))
		kick(q);
}

/* Waits (WAIT_MS at most) for n TX responses and takes them. */
static void tx_wait(struct fe *q, struct netif_tx_response *rsp, unsigned n)
{
	uint64_t deadline = ms_now() + WAIT_MS;

	for (;;) {
		struct pollfd pfd = { .fd = q->done_fd, .events = POLLIN };
		uint64_t v, now;

		__atomic_store_n(&q->tx.s->h.rsp_event, q->tx.rsp_cons + n, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (netif_tx_front_pending_rsps(&q->tx) >= n)
			break;
		now = ms_now();
		if (now >= deadline)
			fail_msg("%u TX responses within %d ms: only %u", n, WAIT_MS,
				 netif_tx_front_pending_rsps(&q->tx));
		if (poll(&pfd, 1, (int)(deadline - now)) == 1 && read(q->done_fd, &v, sizeof(v)) < 0) {
			/* raced with another reader */
		}
	}
	for (unsigned i = 0; i < n; i++)
		netif_tx_front_take_rsp(&q->tx, &rsp[i]);
}

static void rx_wait(struct fe *q, struct netif_rx_response *rsp, unsigned n)
{
	uint64_t deadline = ms_now() + WAIT_MS;

	for (;;) {
		struct pollfd pfd = { .fd = q->done_fd, .events = POLLIN };
		uint64_t v, now;

		__atomic_store_n(&q->rx.s->h.rsp_event, q->rx.rsp_cons + n, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (netif_rx_front_pending_rsps(&q->rx) >= n)
			break;
		now = ms_now();
		if (now >= deadline)
			fail_msg("%u RX responses within %d ms: only %u", n, WAIT_MS,
				 netif_rx_front_pending_rsps(&q->rx));
		if (poll(&pfd, 1, (int)(deadline - now)) == 1 && read(q->done_fd, &v, sizeof(v)) < 0) {
			/* raced */
		}
	}
	for (unsigned i = 0; i < n; i++) {
		union netif_rx_slot_rsp r;

		netif_rx_front_take_rsp(&q->rx, &r);
		rsp[i] = r.rx;
	}
}

/* Waits for n frames at the test's end of the port; returns how many it got (n, or fails). */
static void peer_wait(struct fe *q, uint8_t (*buf)[NET_PORT_FRAME_MAX], uint16_t *len, unsigned n)
{
	uint64_t deadline = ms_now() + WAIT_MS;
	unsigned got = 0;

	while (got < n) {
		struct net_frame f[NET_PORT_BURST];
		struct pollfd pfd = { .fd = q->peer->ops->rx_fd(q->peer), .events = POLLIN };
		unsigned want = n - got < NET_PORT_BURST ? n - got : NET_PORT_BURST;
		uint64_t now;
		int r;

		for (unsigned i = 0; i < want; i++)
			f[i] = (struct net_frame){ .data = buf[got + i], .cap = NET_PORT_FRAME_MAX };
		r = q->peer->ops->recv(q->peer, f, want);
		assert_true(r >= 0);
		for (int i = 0; i < r; i++)
			len[got + (unsigned)i] = f[i].len;
		got += (unsigned)r;
		if (got == n)
			break;
		now = ms_now();
		if (now >= deadline)
			fail_msg("%u frames at the port within %d ms: only %u", n, WAIT_MS, got);
		poll(&pfd, 1, (int)(deadline - now));
	}
}

/* A test frame: to the peer, from src, its bytes a pattern of seq. */
static void frame_at(uint32_t frame, uint16_t off, uint16_t len, const uint8_t src[6], uint8_t seq)
{
	uint8_t *p = L.mem + frame * 4096ull + off;

	memcpy(p, "\x02\x00\x00\x00\x00\x02", 6);
	memcpy(p + 6, src, 6);
	p[12] = 0x88;
	p[13] = 0xb5;
	for (unsigned i = 14; i < len; i++)
		p[i] = (uint8_t)(seq * 31 + i);
}

static bool frame_is(const uint8_t *p, uint16_t len, uint16_t want_len, uint8_t seq)
{
	if (len != want_len || memcmp(p + 6, VIF_MAC, 6) != 0)
		return false;
	for (unsigned i = 14; i < len; i++)
		if (p[i] != (uint8_t)(seq * 31 + i))
			return false;
	return true;
}

static void put_tx(struct fe *q, grant_ref_t gref, uint16_t off, uint16_t flags, uint16_t id, uint16_t size)
{
	*netif_tx_front_next_req(&q->tx) = req(gref, off, flags, id, size);
	q->tx.req_prod_pvt++;
}

static void post_rx(struct fe *q, grant_ref_t gref, uint16_t id)
{
	struct netif_rx_request *r = netif_rx_front_next_req(&q->rx);

	r->id = id;
	r->pad = 0;
	r->gref = gref;
	q->rx.req_prod_pvt++;
	if (netif_rx_front_push(&q->rx))
		kick(q);
}

static void test_good_frames_reach_the_port_whole_and_in_order(void **state)
{
	static uint8_t got[8][NET_PORT_FRAME_MAX];
	struct netif_tx_response rsp[8];
	uint16_t len[8];
	struct netback_stats st;
	struct fe *q = &L.q[0];

	(void)state;
	frame_at(F_TXDATA, 0, 60, VIF_MAC, 1);
	put_tx(q, F_TXDATA, 0, 0, 11, 60);
	frame_at(F_TXDATA + 1, 4096 - 1514, 1514, VIF_MAC, 2); /* a full frame at the end of its page */
	put_tx(q, F_TXDATA + 1, 4096 - 1514, 0, 12, 1514);
	/* three fragments across pages: 1000 = 700 + 200 + 100 */
	frame_at(F_TXDATA + 2, 100, 1000, VIF_MAC, 3);
	memcpy(L.mem + (F_TXDATA + 3) * 4096ull + 3000, L.mem + (F_TXDATA + 2) * 4096ull + 100 + 700, 200);
	memcpy(L.mem + (F_TXDATA + 4) * 4096ull, L.mem + (F_TXDATA + 2) * 4096ull + 100 + 900, 100);
	put_tx(q, F_TXDATA + 2, 100, NETTXF_more_data, 13, 1000);
	put_tx(q, F_TXDATA + 3, 3000, NETTXF_more_data, 14, 200);
	put_tx(q, F_TXDATA + 4, 0, 0, 15, 100);
	tx_push(q);
	tx_wait(q, rsp, 5);
	for (unsigned i = 0; i < 5; i++) {
		assert_int_equal(rsp[i].id, 11 + i);
		assert_int_equal(rsp[i].status, NETIF_RSP_OKAY);
	}
	peer_wait(q, got, len, 3);
	assert_true(frame_is(got[0], len[0], 60, 1));
	assert_true(frame_is(got[1], len[1], 1514, 2));
	assert_true(frame_is(got[2], len[2], 1000, 3));
	netback_get_stats(q->nb, &st);
	assert_int_equal(st.tx_packets, 3);
	assert_int_equal(st.tx_bytes, 60 + 1514 + 1000);
	for (unsigned d = 1; d < NETBACK_DROP_NR; d++)
		assert_int_equal(st.drops[d], 0);
	assert_true(atomic_load(&q->notified[NETBACK_RING_TX]) > 0);
}

static void test_hostile_tx_requests_get_their_status_and_counter_while_good_ones_go_on(void **state)
{
	static const uint8_t spoof[6] = { 0x00, 0x16, 0x3e, 0x66, 0x66, 0x66 };
	static uint8_t got[8][NET_PORT_FRAME_MAX];
	struct netif_tx_response rsp[16];
	uint16_t len[8];
	struct netback_stats st;
	struct fe *q = &L.q[0];
	unsigned n = 0;

	(void)state;
	frame_at(F_TXDATA, 0, 100, VIF_MAC, 1);
	put_tx(q, F_TXDATA, 0, 0, 1, 100), n++;             /* good */
	put_tx(q, REF_NONE, 0, 0, 2, 100), n++;             /* not granted: bad_grant */
	put_tx(q, F_TXDATA, 4000, 0, 3, 100), n++;          /* past its page: bad_request */
	frame_at(F_TXDATA + 1, 0, 200, VIF_MAC, 4);
	put_tx(q, F_TXDATA + 1, 0, 0, 4, 200), n++;         /* good */
	put_tx(q, F_TXDATA, 0, 0, 5, 3000), n++;            /* longer than a frame: oversize */
	frame_at(F_TXDATA + 2, 0, 300, spoof, 6);
	put_tx(q, F_TXDATA + 2, 0, 0, 6, 300), n++;         /* another source MAC: spoofed_mac */
	put_tx(q, F_TXDATA, 0, NETTXF_more_data, 7, 50), n++; /* fragments larger than the size */
	put_tx(q, F_TXDATA, 0, 0, 8, 100), n++;
	put_tx(q, F_TXDATA, 0, 0, 9, 10), n++;              /* shorter than a header: bad_request */
	frame_at(F_TXDATA + 3, 0, 1514, VIF_MAC, 10);
	put_tx(q, F_TXDATA + 3, 0, NETTXF_extra_info, 10, 1514), n++; /* good, with a GSO extra */
	*netif_tx_front_next_req(&q->tx) = extra(XEN_NETIF_EXTRA_TYPE_GSO, 0);
	q->tx.req_prod_pvt++, n++;
	tx_push(q);
	tx_wait(q, rsp, n);
	static const int16_t want[] = { NETIF_RSP_OKAY, NETIF_RSP_ERROR, NETIF_RSP_ERROR, NETIF_RSP_OKAY,
					NETIF_RSP_ERROR, NETIF_RSP_DROPPED, NETIF_RSP_ERROR, NETIF_RSP_ERROR,
					NETIF_RSP_ERROR, NETIF_RSP_OKAY, NETIF_RSP_NULL };
	for (unsigned i = 0; i < n; i++) {
		if (i < 10)
			assert_int_equal(rsp[i].id, i + 1);
		if (rsp[i].status != want[i])
			fail_msg("response %u (id %u): status %d, not %d", i, rsp[i].id, rsp[i].status, want[i]);
	}
	peer_wait(q, got, len, 3);
	assert_true(frame_is(got[0], len[0], 100, 1));
	assert_true(frame_is(got[1], len[1], 200, 4));
	assert_true(frame_is(got[2], len[2], 1514, 10));
	netback_get_stats(q->nb, &st);
	assert_int_equal(st.tx_packets, 3);
	assert_int_equal(st.drops[NETBACK_DROP_BAD_GRANT], 1);
	assert_int_equal(st.drops[NETBACK_DROP_BAD_REQUEST], 3);
	assert_int_equal(st.drops[NETBACK_DROP_OVERSIZE], 1);
	assert_int_equal(st.drops[NETBACK_DROP_SPOOFED_MAC], 1);
	assert_int_equal(st.drops[NETBACK_DROP_PORT_FULL], 0);
	assert_false(st.broken);
}

/*
 * A chain of 19 requests is dropped whole: all 19 answered ERROR, one
 * bad_request; its 19th request, a well-formed frame on its own, is not
 * read as a packet (Xen's netback drops the chain too); the packet after
 * the chain goes out.
 */
static void test_a_chain_of_too_many_requests_is_dropped_whole(void **state)
{
	static uint8_t got[4][NET_PORT_FRAME_MAX];
	struct netif_tx_response rsp[24];
	unsigned n = XENITH_NET_MAX_SLOTS_PER_PKT + 1;
	struct netback_stats st;
	uint16_t len[4];
	struct fe *q = &L.q[0];

	(void)state;
	frame_at(F_TXDATA, 0, 1000, VIF_MAC, 1);
	for (unsigned i = 0; i + 1 < n; i++)
		put_tx(q, F_TXDATA, 0, NETTXF_more_data, (uint16_t)(100 + i), i ? 10 : 1000);
	frame_at(F_TXDATA + 1, 0, 60, VIF_MAC, 2); /* the 19th: a frame of its own if read as a packet */
	put_tx(q, F_TXDATA + 1, 0, 0, (uint16_t)(100 + n - 1), 60);
	frame_at(F_TXDATA + 2, 0, 80, VIF_MAC, 3);
	put_tx(q, F_TXDATA + 2, 0, 0, 7, 80);
	tx_push(q);
	tx_wait(q, rsp, n + 1);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(rsp[i].id, 100 + i);
		if (rsp[i].status != NETIF_RSP_ERROR)
			fail_msg("request %u of the chain: status %d, not ERROR", i, rsp[i].status);
	}
	assert_int_equal(rsp[n].id, 7);
	assert_int_equal(rsp[n].status, NETIF_RSP_OKAY);
	peer_wait(q, got, len, 1);
	assert_true(frame_is(got[0], len[0], 80, 3));
	netback_get_stats(q->nb, &st);
	assert_int_equal(st.tx_packets, 1);
	assert_int_equal(st.drops[NETBACK_DROP_BAD_REQUEST], 1);
	assert_false(st.broken);
}

static void test_a_blank_checksum_is_filled_on_the_way_out(void **state)
{
	static uint8_t got[2][NET_PORT_FRAME_MAX];
	uint8_t *f = L.mem + F_TXDATA * 4096ull;
	struct netif_tx_response rsp[2];
	struct netback_stats st;
	uint16_t len[2];
	uint32_t flen;
	struct fe *q = &L.q[0];

	(void)state;
	flen = ipv4_frame(f, 17, 500);
	memcpy(f + 6, VIF_MAC, 6);
	put_tx(q, F_TXDATA, 0, NETTXF_csum_blank, 1, (uint16_t)flen);
	flen = ipv4_frame(L.mem + (F_TXDATA + 1) * 4096ull, 1, 64); /* ICMP: nothing netback can fill */
	memcpy(L.mem + (F_TXDATA + 1) * 4096ull + 6, VIF_MAC, 6);
	put_tx(q, F_TXDATA + 1, 0, NETTXF_csum_blank, 2, (uint16_t)flen);
	tx_push(q);
	tx_wait(q, rsp, 2);
	assert_int_equal(rsp[0].status, NETIF_RSP_OKAY);
	assert_int_equal(rsp[1].status, NETIF_RSP_ERROR);
	peer_wait(q, got, len, 1);
	assert_int_equal(len[0], 14 + 20 + 8 + 500);
	assert_int_equal(verify_l4(got[0]), 0xffff);
	netback_get_stats(q->nb, &st);
	assert_int_equal(st.csum_filled, 1);
	assert_int_equal(st.drops[NETBACK_DROP_BAD_REQUEST], 1);
}

static void send_peer(struct fe *q, unsigned n, uint16_t base_len)
{
	static uint8_t buf[NET_PORT_BURST][NET_PORT_FRAME_MAX];
	struct net_frame f[NET_PORT_BURST];

	for (unsigned i = 0; i < n; i++) {
		memset(buf[i], 0, 14);
		for (unsigned b = 14; b < base_len + i; b++)
			buf[i][b] = (uint8_t)(i * 31 + b);
		f[i] = (struct net_frame){ .data = buf[i], .len = (uint16_t)(base_len + i) };
	}
	assert_int_equal(q->peer->ops->send(q->peer, f, n), (int)n);
}

static void test_frames_from_the_port_fill_posted_buffers_and_the_rest_are_counted(void **state)
{
	struct netif_rx_response rsp[3];
	struct netback_stats st;
	struct fe *q = &L.q[0];
	uint64_t deadline;

	(void)state;
	post_rx(q, F_RXBUF, 100);
	post_rx(q, REF_RO, 101); /* read-only: the frame is lost, the buffer answered */
	post_rx(q, F_RXBUF + 1, 102);
	send_peer(q, 5, 200);
	rx_wait(q, rsp, 3);
	assert_int_equal(rsp[0].id, 100);
	assert_int_equal(rsp[0].status, 200);
	assert_int_equal(rsp[0].offset, 0);
	assert_int_equal(rsp[1].id, 101);
	assert_int_equal(rsp[1].status, NETIF_RSP_ERROR);
	assert_int_equal(rsp[2].id, 102);
	assert_int_equal(rsp[2].status, 202);
	for (unsigned b = 14; b < 200; b++)
		assert_int_equal(L.mem[F_RXBUF * 4096ull + b], (uint8_t)b);
	for (unsigned b = 14; b < 202; b++)
		assert_int_equal(L.mem[(F_RXBUF + 1) * 4096ull + b], (uint8_t)(2 * 31 + b));
	/* frames 3 and 4 found no buffer */
	deadline = ms_now() + WAIT_MS;
	do {
		netback_get_stats(q->nb, &st);
		if (st.drops[NETBACK_DROP_NO_RX_BUFFER] >= 2)
			break;
		poll(NULL, 0, 1);
	} while (ms_now() < deadline);
	assert_int_equal(st.drops[NETBACK_DROP_NO_RX_BUFFER], 2);
	assert_int_equal(st.drops[NETBACK_DROP_BAD_GRANT], 1);
	assert_int_equal(st.rx_packets, 2);
	assert_int_equal(st.rx_bytes, 200 + 202);
	assert_true(atomic_load(&q->notified[NETBACK_RING_RX]) > 0);
}

static void test_a_full_port_drops_and_counts_port_full(void **state)
{
	struct netif_tx_response rsp[200];
	struct netback_stats st;
	struct fe *q = &L.q[0];
	unsigned ok = 0, dropped = 0;

	(void)state;
	frame_at(F_TXDATA, 0, 64, VIF_MAC, 1);
	/* 2 x 200 frames the peer never reads: the pair holds PORT_PAIR_DEPTH */
	for (unsigned round = 0; round < 2; round++) {
		for (unsigned i = 0; i < 200; i++)
			put_tx(q, F_TXDATA, 0, 0, (uint16_t)i, 64);
		tx_push(q);
		tx_wait(q, rsp, 200);
		for (unsigned i = 0; i < 200; i++) {
			if (rsp[i].status == NETIF_RSP_OKAY)
				ok++;
			else if (rsp[i].status == NETIF_RSP_DROPPED)
				dropped++;
			else
				fail_msg("status %d", rsp[i].status);
		}
	}
	assert_int_equal(ok, PORT_PAIR_DEPTH);
	assert_int_equal(dropped, 400 - PORT_PAIR_DEPTH);
	netback_get_stats(q->nb, &st);
	assert_int_equal(st.drops[NETBACK_DROP_PORT_FULL], 400 - PORT_PAIR_DEPTH);
	assert_int_equal(st.tx_packets, PORT_PAIR_DEPTH);
}

static void test_a_packet_published_in_part_is_sent_once_whole(void **state)
{
	static uint8_t got[2][NET_PORT_FRAME_MAX];
	struct netif_tx_response rsp[2];
	struct netif_rx_response rrsp[1];
	uint16_t len[2];
	struct fe *q = &L.q[0];

	(void)state;
	frame_at(F_TXDATA, 0, 300, VIF_MAC, 5);
	memcpy(L.mem + (F_TXDATA + 1) * 4096ull, L.mem + F_TXDATA * 4096ull + 200, 100);
	put_tx(q, F_TXDATA, 0, NETTXF_more_data, 1, 300);
	tx_push(q);
	kick(q); /* look now, whether or not the ring asked for it */
	/*
	 * A frame the other way: its answer shows the thread went round after
	 * it saw the first half (TX is looked at before RX in every round).
	 */
	post_rx(q, F_RXBUF, 9);
	send_peer(q, 1, 60);
	rx_wait(q, rrsp, 1);
	assert_int_equal(netif_tx_front_pending_rsps(&q->tx), 0); /* the half is not answered */
	put_tx(q, F_TXDATA + 1, 0, 0, 2, 100);
	tx_push(q);
	tx_wait(q, rsp, 2);
	assert_int_equal(rsp[0].status, NETIF_RSP_OKAY);
	assert_int_equal(rsp[1].status, NETIF_RSP_OKAY);
	peer_wait(q, got, len, 1);
	assert_true(frame_is(got[0], len[0], 300, 5));
}

static void test_impossible_indices_stop_only_their_queue(void **state)
{
	static uint8_t got[1][NET_PORT_FRAME_MAX];
	struct netif_tx_response rsp[1];
	struct netback_stats st;
	uint16_t len[1];
	uint64_t deadline;
	char json[1024];

	(void)state;
	fe_start(1);
	__atomic_store_n(&L.q[0].tx.s->h.req_prod, 1000u, __ATOMIC_RELEASE); /* more than the ring holds */
	kick(&L.q[0]);
	deadline = ms_now() + WAIT_MS;
	while (!netback_broken(L.q[0].nb) && ms_now() < deadline)
		poll(NULL, 0, 1);
	assert_true(netback_broken(L.q[0].nb));
	assert_true(netback_stats_json(L.q[0].nb, json, sizeof(json)) > 0);
	assert_non_null(strstr(json, "\"broken\":true"));
	/* the other queue goes on */
	frame_at(F_TXDATA, 0, 80, VIF_MAC, 7);
	put_tx(&L.q[1], F_TXDATA, 0, 0, 1, 80);
	tx_push(&L.q[1]);
	tx_wait(&L.q[1], rsp, 1);
	assert_int_equal(rsp[0].status, NETIF_RSP_OKAY);
	peer_wait(&L.q[1], got, len, 1);
	assert_true(frame_is(got[0], len[0], 80, 7));
	netback_get_stats(L.q[1].nb, &st);
	assert_false(st.broken);
	assert_int_equal(st.tx_packets, 1);
	netback_get_stats(L.q[0].nb, &st);
	assert_int_equal(st.tx_packets, 0);
}

static void test_stats_json_names_every_counter(void **state)
{
	char json[1024];
	int n;

	(void)state;
	n = netback_stats_json(L.q[0].nb, json, sizeof(json));
	assert_true(n > 0 && (size_t)n == strlen(json));
	for (unsigned d = 1; d < NETBACK_DROP_NR; d++) {
		char key[64];

		assert_non_null(netback_drop_name(d)); /* every reason has its name */
		snprintf(key, sizeof(key), "\"%s\":0", netback_drop_name(d));
		assert_non_null(strstr(json, key));
	}
	assert_non_null(strstr(json, "\"tx_packets\":0,"));
	assert_non_null(strstr(json, "\"rx_bytes\":0,"));
	assert_int_equal(netback_stats_json(L.q[0].nb, json, 20), -1);
	assert_null(netback_drop_name(NETBACK_DROP_NR));
}

/* A live test in one mode, named after both. */
/* What one queue sends, the other receives into its posted buffers, both ways. */
static void test_two_queues_on_a_named_pair_pass_frames_both_ways(void **state)
{
	struct netif_tx_response trsp[2];
	struct netif_rx_response rrsp[2];
	struct netback_stats st;

	(void)state;
	post_rx(&L.q[1], F_RXBUF, 21);
	post_rx(&L.q[0], F_RXBUF + 1, 22);
	frame_at(F_TXDATA, 0, 333, VIF_MAC, 4);
	put_tx(&L.q[0], F_TXDATA, 0, 0, 1, 333);
	tx_push(&L.q[0]);
	frame_at(F_TXDATA + 1, 0, 1514, VIF_MAC, 5);
	put_tx(&L.q[1], F_TXDATA + 1, 0, 0, 2, 1514);
	tx_push(&L.q[1]);
	tx_wait(&L.q[0], trsp, 1);
	tx_wait(&L.q[1], trsp + 1, 1);
	assert_int_equal(trsp[0].status, NETIF_RSP_OKAY);
	assert_int_equal(trsp[1].status, NETIF_RSP_OKAY);
	rx_wait(&L.q[1], rrsp, 1);
	rx_wait(&L.q[0], rrsp + 1, 1);
	assert_int_equal(rrsp[0].id, 21);
	assert_int_equal(rrsp[0].status, 333);
	assert_true(frame_is(L.mem + F_RXBUF * 4096ull, 333, 333, 4));
	assert_int_equal(rrsp[1].id, 22);
	assert_int_equal(rrsp[1].status, 1514);
	assert_true(frame_is(L.mem + (F_RXBUF + 1) * 4096ull, 1514, 1514, 5));
	for (unsigned i = 0; i < 2; i++) {
		netback_get_stats(L.q[i].nb, &st);
		assert_int_equal(st.tx_packets, 1);
		assert_int_equal(st.rx_packets, 1);
	}
}

/*
 * Mode poll: with nothing to do for a while the thread stops spinning: it
 * asks for a kick (req_event just past what it consumed) before it sleeps,
 * and the next packet's push says to kick, which wakes it.
 */
static void test_an_idle_polling_queue_asks_for_a_kick_and_wakes_on_it(void **state)
{
	static uint8_t got[4][NET_PORT_FRAME_MAX];
	struct netif_tx_response rsp[3];
	uint16_t len[4];
	struct fe *q = &L.q[0];
	uint64_t deadline;
	ring_idx_t want;

	(void)state;
	frame_at(F_TXDATA, 0, 70, VIF_MAC, 3);
	for (unsigned i = 0; i < 3; i++)
		put_tx(q, F_TXDATA, 0, 0, (uint16_t)i, 70);
	tx_push(q);
	tx_wait(q, rsp, 3);
	want = q->tx.req_prod_pvt + 1;
	deadline = ms_now() + WAIT_MS;
	while (__atomic_load_n(&q->tx.s->h.req_event, __ATOMIC_ACQUIRE) != want && ms_now() < deadline)
		poll(NULL, 0, 1);
	assert_int_equal(__atomic_load_n(&q->tx.s->h.req_event, __ATOMIC_ACQUIRE), want);
	put_tx(q, F_TXDATA, 0, 0, 9, 70);
	assert_true(netif_tx_front_push(&q->tx)); /* the ring says: kick */
	kick(q);
	tx_wait(q, rsp, 1);
	assert_int_equal(rsp[0].id, 9);
	assert_int_equal(rsp[0].status, NETIF_RSP_OKAY);
	peer_wait(q, got, len, 4);
	assert_true(frame_is(got[3], len[3], 70, 3));
}

/*
 * A hostile frontend rewrites a request in the ring while the backend is in
 * the middle of it: the backend acts on the copy it took.  The moment is
 * exact with userfaultfd: the fragment's page is missing, so the backend's
 * grant copy of it (after the slot was copied and checked, before the frame
 * goes out and the response is written) stops on the fault; the handler
 * rewrites the slot (other id, size, page), then supplies the page.
 */
#define F_LATE (F_TXDATA + 20) /* never touched before the test registers it */

static struct {
	int uffd;
	pthread_t thread;
	bool started;
	atomic_bool stop;
	atomic_uint faults;
	struct fe *q;
	unsigned slot;
	uint8_t page[4096] __attribute__((aligned(4096)));
} U = { .uffd = -1 };

static void *rewrite_on_fault(void *arg)
{
	(void)arg;
	while (!atomic_load(&U.stop)) {
		struct pollfd pfd = { .fd = U.uffd, .events = POLLIN };
		struct uffd_msg msg;
		struct uffdio_copy copy;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if (read(U.uffd, &msg, sizeof(msg)) != sizeof(msg) || msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		U.q->tx.s->slot[U.slot].req = req(REF_NONE, 7, NETTXF_more_data, 0x6666, 1514);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		atomic_fetch_add(&U.faults, 1);
		copy = (struct uffdio_copy){ .dst = (uintptr_t)(L.mem + F_LATE * 4096ull),
					     .src = (uintptr_t)U.page, .len = 4096 };
		if (ioctl(U.uffd, UFFDIO_COPY, &copy) < 0 && errno != EEXIST)
			return "UFFDIO_COPY failed";
	}
	return NULL;
}

static int uffd_teardown(void **state)
{
	if (U.started) {
		atomic_store(&U.stop, true);
		pthread_join(U.thread, NULL);
	}
	/* closing it lets a backend thread still waiting on the fault (a failed test) go on */
	if (U.uffd >= 0)
		close(U.uffd);
	U.uffd = -1;
	U.started = false;
	atomic_store(&U.stop, false);
	atomic_store(&U.faults, 0);
	return live_teardown(state);
}

static void test_a_request_rewritten_in_the_ring_is_served_as_taken(void **state)
{
	static uint8_t got[1][NET_PORT_FRAME_MAX];
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;
	struct netif_tx_response rsp[1];
	struct netback_stats st;
	uint16_t len[1];
	struct fe *q = &L.q[0];

	(void)state;
	U.uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (U.uffd < 0)
		U.uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (U.uffd < 0 || ioctl(U.uffd, UFFDIO_API, &api) < 0)
		SKIP_BECAUSE("userfaultfd is not available here (vm.unprivileged_userfaultfd=0 and no "
			     "UFFD_USER_MODE_ONLY, or no kernel support)");
	reg = (struct uffdio_register){ .range = { (uintptr_t)(L.mem + F_LATE * 4096ull), 4096 },
					.mode = UFFDIO_REGISTER_MODE_MISSING };
	assert_int_equal(ioctl(U.uffd, UFFDIO_REGISTER, &reg), 0);
	/* the frame as the guest wrote it, at offset 0 of the late page */
	memcpy(U.page, "\x02\x00\x00\x00\x00\x02", 6);
	memcpy(U.page + 6, VIF_MAC, 6);
	U.page[12] = 0x88;
	U.page[13] = 0xb5;
	for (unsigned i = 14; i < 400; i++)
		U.page[i] = (uint8_t)(9 * 31 + i);
	U.q = q;
	U.slot = q->tx.req_prod_pvt % netif_tx_ring_size();
	assert_int_equal(pthread_create(&U.thread, NULL, rewrite_on_fault, NULL), 0);
	U.started = true;
	put_tx(q, F_LATE, 0, 0, 0x1111, 400);
	tx_push(q);
	tx_wait(q, rsp, 1);
	assert_int_equal(atomic_load(&U.faults), 1); /* the rewrite happened mid-request */
	assert_int_equal(rsp[0].id, 0x1111);
	assert_int_equal(rsp[0].status, NETIF_RSP_OKAY);
	peer_wait(q, got, len, 1);
	assert_true(frame_is(got[0], len[0], 400, 9));
	netback_get_stats(q->nb, &st);
	assert_int_equal(st.tx_packets, 1);
	for (unsigned d = 1; d < NETBACK_DROP_NR; d++)
		assert_int_equal(st.drops[d], 0);
	assert_int_equal(netif_tx_front_pending_rsps(&q->tx), 0); /* one slot, one response */
}

#define LIVE_NAMED(t, mode, mname) \
	{ #t " (" mname ")", t, live_setup, live_teardown, (void *)(uintptr_t)(mode) }
#define LIVE(t, mode) LIVE_NAMED(t, mode, #mode)
#define LIVE_ALL_MODES(t) LIVE_NAMED(t, XENITH_NET_MODE_EXIT, "exit"), \
	LIVE_NAMED(t, XENITH_NET_MODE_IOEVENTFD, "ioeventfd"), LIVE_NAMED(t, XENITH_NET_MODE_POLL, "poll")

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_one_slot_packet_is_one_fragment_of_its_size),
		cmocka_unit_test(test_the_first_fragment_is_the_size_less_the_others),
		cmocka_unit_test(test_fragments_must_lie_within_their_page),
		cmocka_unit_test(test_frame_lengths_outside_14_to_1514_are_refused),
		cmocka_unit_test(test_at_most_18_requests_make_a_packet),
		cmocka_unit_test(test_the_rest_of_a_cut_chain_is_skipped_to_its_end),
		cmocka_unit_test(test_extra_info_slots_are_checked_and_answered_null),
		cmocka_unit_test(test_a_packet_published_in_part_waits),
		cmocka_unit_test(test_blank_udp_and_tcp_checksums_are_filled),
		cmocka_unit_test(test_checksums_netback_cannot_fill_are_refused),
		cmocka_unit_test(test_a_port_pair_carries_frames_both_ways_in_order),
		cmocka_unit_test(test_a_full_port_pair_takes_only_what_fits),
		cmocka_unit_test(test_named_pairs_join_two_openers),
		LIVE_ALL_MODES(test_good_frames_reach_the_port_whole_and_in_order),
		LIVE_ALL_MODES(test_hostile_tx_requests_get_their_status_and_counter_while_good_ones_go_on),
		LIVE_ALL_MODES(test_a_chain_of_too_many_requests_is_dropped_whole),
		LIVE_NAMED(test_a_blank_checksum_is_filled_on_the_way_out, XENITH_NET_MODE_EXIT, "exit"),
		LIVE_ALL_MODES(test_frames_from_the_port_fill_posted_buffers_and_the_rest_are_counted),
		LIVE_NAMED(test_a_full_port_drops_and_counts_port_full, XENITH_NET_MODE_EXIT, "exit"),
		LIVE_ALL_MODES(test_a_packet_published_in_part_is_sent_once_whole),
		LIVE_ALL_MODES(test_impossible_indices_stop_only_their_queue),
		LIVE_NAMED(test_stats_json_names_every_counter, XENITH_NET_MODE_EXIT, "exit"),
		{ "test_two_queues_on_a_named_pair_pass_frames_both_ways (exit)",
		  test_two_queues_on_a_named_pair_pass_frames_both_ways, linked_setup, live_teardown,
		  (void *)(uintptr_t)XENITH_NET_MODE_EXIT },
		LIVE_NAMED(test_an_idle_polling_queue_asks_for_a_kick_and_wakes_on_it, XENITH_NET_MODE_POLL, "poll"),
		{ "test_a_request_rewritten_in_the_ring_is_served_as_taken", test_a_request_rewritten_in_the_ring_is_served_as_taken,
		  live_setup, uffd_teardown, (void *)(uintptr_t)XENITH_NET_MODE_EXIT },
	};

	return TEST_RUN_GROUP(tests, NULL, NULL);
}
