// SPDX-License-Identifier: MIT
/* unit: net/stack.c natively, two stacks on an in-memory wire (wire.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stack.h"
#include "wire.h"

#define IP_A 0x0a000001u /* 10.0.0.1 */
#define IP_B 0x0a000002u /* 10.0.0.2 */
static const uint8_t MAC_A[6] = { 0x02, 0, 0, 0, 0, 0xa };
static const uint8_t MAC_B[6] = { 0x02, 0, 0, 0, 0, 0xb };

struct rx_log {
	unsigned n;
	struct net_udp_meta m;
	uint8_t data[NET_UDP_PAYLOAD_MAX];
	size_t len;
};

struct fixture {
	struct wire w;
	struct net_stack a, b;
	struct rx_log log;
	uint8_t f[NET_FRAME_MAX];
};

static void log_rx(void *ctx, struct net_stack *s, const struct net_udp_meta *m, const uint8_t *p, size_t len)
{
	struct rx_log *l = ctx;

	(void)s;
	l->n++;
	l->m = *m;
	memcpy(l->data, p, len);
	l->len = len;
}

static int setup(void **state)
{
	struct fixture *x = test_calloc(1, sizeof(*x));

	wire_init(&x->w);
	net_stack_init(&x->a, &wire_ops, &x->w.a, MAC_A, IP_A, 24, 0);
	net_stack_init(&x->b, &wire_ops, &x->w.b, MAC_B, IP_B, 24, 0);
	x->w.a.s = &x->a;
	x->w.b.s = &x->b;
	net_udp_bind(&x->b, 5001, log_rx, &x->log);
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	test_free(*state);
	return 0;
}

static void assert_outcomes_add_up(const struct net_stack *s)
{
	assert_int_equal(net_stack_rx_outcomes(&s->st), s->st.rx_frames);
}

/* A's UDP frame to B, built with B's MAC known, in x->f: its length. */
static size_t udp_frame(struct fixture *x, const char *msg)
{
	return net_udp_build(&x->a, x->f, MAC_B, IP_B, 4000, 5001, msg, strlen(msg));
}

static void test_checksum_matches_rfc1071_example(void **state)
{
	static const uint8_t d[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };

	(void)state;
	/* RFC 1071, 3.: the sum is ddf2, so the checksum is its complement. */
	assert_int_equal(net_csum(d, sizeof(d), 0), 0x220d);
	/* An odd length pads with a zero byte. */
	assert_int_equal(net_csum(d, 7, 0), 0x2304); /* 0001+f203+f4f5+f600 = 2dcf9, folded dcfb */
}

static void test_udp_to_an_unknown_host_asks_arp_then_arrives(void **state)
{
	struct fixture *x = *state;
	uint8_t mac[6];

	assert_int_equal(net_udp_send(&x->a, IP_B, 4000, 5001, "hello", 5), -NET_EAGAIN);
	assert_int_equal(x->a.st.arp_requests_sent, 1);
	assert_false(net_arp_lookup(&x->a, IP_B, mac));
	wire_deliver(&x->w.b); /* B answers the request */
	assert_int_equal(x->b.st.arp_replies_sent, 1);
	wire_deliver(&x->w.a); /* A learns B */
	assert_true(net_arp_lookup(&x->a, IP_B, mac));
	assert_memory_equal(mac, MAC_B, 6);
	assert_int_equal(net_udp_send(&x->a, IP_B, 4000, 5001, "hello", 5), 0);
	wire_deliver(&x->w.b);
	assert_int_equal(x->log.n, 1);
	assert_int_equal(x->log.len, 5);
	assert_memory_equal(x->log.data, "hello", 5);
	assert_int_equal(x->log.m.src_ip, IP_A);
	assert_int_equal(x->log.m.src_port, 4000);
	assert_int_equal(x->log.m.dst_port, 5001);
	assert_memory_equal(x->log.m.src_mac, MAC_A, 6);
	/* B cached A from the request addressed to it. */
	assert_true(net_arp_lookup(&x->b, IP_A, mac));
	assert_memory_equal(mac, MAC_A, 6);
	assert_outcomes_add_up(&x->a);
	assert_outcomes_add_up(&x->b);
}

static void test_arp_reply_names_us_and_goes_to_the_asker(void **state)
{
	struct fixture *x = *state;
	uint8_t *a = x->f + NET_ETH_HLEN;
	size_t len;

	net_arp_request(&x->a, IP_B);
	wire_deliver(&x->w.b);
	len = wire_take(&x->w.a, x->f);
	assert_int_equal(len, NET_FRAME_MIN); /* 42 bytes padded */
	assert_memory_equal(x->f, MAC_A, 6);
	assert_memory_equal(x->f + 6, MAC_B, 6);
	assert_int_equal(net_get16(x->f + 12), NET_ETHERTYPE_ARP);
	assert_int_equal(net_get16(a + 6), 2);
	assert_memory_equal(a + 8, MAC_B, 6);
	assert_int_equal(net_get32(a + 14), IP_B);
	assert_memory_equal(a + 18, MAC_A, 6);
	assert_int_equal(net_get32(a + 24), IP_A);
}

static void test_arp_for_another_address_is_neither_answered_nor_cached(void **state)
{
	struct fixture *x = *state;
	uint8_t mac[6];

	x->a.ip = 0x0a000009u; /* asks as 10.0.0.9 for 10.0.0.3 */
	net_arp_request(&x->a, 0x0a000003u);
	wire_deliver(&x->w.b);
	assert_int_equal(x->b.st.arp_replies_sent, 0);
	assert_int_equal(x->w.a.count, 0);
	assert_false(net_arp_lookup(&x->b, 0x0a000009u, mac));
	assert_int_equal(x->b.st.rx_arp, 1);
}

static void test_arp_cache_replaces_the_least_recently_used(void **state)
{
	struct fixture *x = *state;
	uint8_t mac[6];

	/* NET_ARP_CACHE + 1 hosts ask B; host 0 is looked up in between, so host 1 is the oldest. */
	for (unsigned i = 0; i <= NET_ARP_CACHE; i++) {
		x->a.ip = 0x0a000010u + i;
		x->a.mac[5] = (uint8_t)(0x10 + i);
		net_arp_request(&x->a, IP_B);
		wire_deliver(&x->w.b);
		if (i == 1)
			assert_true(net_arp_lookup(&x->b, 0x0a000010u, mac));
	}
	assert_true(net_arp_lookup(&x->b, 0x0a000010u, mac));
	assert_int_equal(mac[5], 0x10);
	assert_false(net_arp_lookup(&x->b, 0x0a000011u, mac));
	assert_true(net_arp_lookup(&x->b, 0x0a000010u + NET_ARP_CACHE, mac));
	assert_int_equal(mac[5], 0x10 + NET_ARP_CACHE);
}

/* An ICMP echo request from A to B, with data, in x->f. */
static size_t ping_frame(struct fixture *x, uint16_t id, uint16_t seq, size_t data)
{
	uint8_t *ip = x->f + NET_ETH_HLEN, *icmp = ip + NET_IP_HLEN;
	size_t ilen = 8 + data;

	memcpy(x->f, MAC_B, 6);
	memcpy(x->f + 6, MAC_A, 6);
	net_put16(x->f + 12, NET_ETHERTYPE_IPV4);
	memset(ip, 0, NET_IP_HLEN);
	ip[0] = 0x45;
	net_put16(ip + 2, (uint16_t)(NET_IP_HLEN + ilen));
	ip[8] = 64;
	ip[9] = 1;
	net_put32(ip + 12, IP_A);
	net_put32(ip + 16, IP_B);
	net_put16(ip + 10, net_csum(ip, NET_IP_HLEN, 0));
	icmp[0] = 8;
	icmp[1] = 0;
	net_put16(icmp + 2, 0);
	net_put16(icmp + 4, id);
	net_put16(icmp + 6, seq);
	for (size_t i = 0; i < data; i++)
		icmp[8 + i] = (uint8_t)(i * 7);
	net_put16(icmp + 2, net_csum(icmp, ilen, 0));
	return NET_ETH_HLEN + NET_IP_HLEN + ilen;
}

static void test_ping_is_answered_with_the_same_id_seq_and_data(void **state)
{
	struct fixture *x = *state;
	uint8_t req[NET_FRAME_MAX], *ip = x->f + NET_ETH_HLEN, *icmp = ip + NET_IP_HLEN;
	size_t len = ping_frame(x, 0x1234, 7, 56);

	memcpy(req, x->f, len);
	net_input(&x->b, req, len);
	assert_int_equal(x->b.st.rx_icmp_echo, 1);
	assert_int_equal(wire_take(&x->w.a, x->f), len);
	assert_memory_equal(x->f, MAC_A, 6);
	assert_memory_equal(x->f + 6, MAC_B, 6);
	assert_int_equal(net_csum(ip, NET_IP_HLEN, 0), 0);
	assert_int_equal(net_get32(ip + 12), IP_B);
	assert_int_equal(net_get32(ip + 16), IP_A);
	assert_int_equal(icmp[0], 0);
	assert_int_equal(net_csum(icmp, 8 + 56, 0), 0);
	assert_int_equal(net_get16(icmp + 4), 0x1234);
	assert_int_equal(net_get16(icmp + 6), 7);
	assert_memory_equal(icmp + 8, req + NET_ETH_HLEN + NET_IP_HLEN + 8, 56);
}

static void test_ping_with_a_bad_checksum_is_counted_not_answered(void **state)
{
	struct fixture *x = *state;
	size_t len = ping_frame(x, 1, 1, 8);

	x->f[NET_ETH_HLEN + NET_IP_HLEN + 9] ^= 1;
	net_input(&x->b, x->f, len);
	assert_int_equal(x->b.st.rx_icmp_bad, 1);
	assert_int_equal(x->b.st.rx_icmp_echo, 0);
	assert_int_equal(x->w.a.count, 0);
	assert_outcomes_add_up(&x->b);
}

static void test_bad_ipv4_headers_are_counted_and_not_delivered(void **state)
{
	struct fixture *x = *state;
	uint8_t *ip = x->f + NET_ETH_HLEN;
	size_t len;

	len = udp_frame(x, "v6");
	ip[0] = 0x65; /* version 6 */
	net_put16(ip + 10, 0);
	net_put16(ip + 10, net_csum(ip, NET_IP_HLEN, 0));
	net_input(&x->b, x->f, len);
	len = udp_frame(x, "ihl");
	ip[0] = 0x44; /* IHL 16 bytes */
	net_input(&x->b, x->f, len);
	len = udp_frame(x, "ihl-past");
	ip[0] = 0x4f; /* 60 bytes of header in a 40-byte packet */
	net_input(&x->b, x->f, NET_ETH_HLEN + 40);
	len = udp_frame(x, "total");
	net_put16(ip + 2, (uint16_t)(len - NET_ETH_HLEN + 1)); /* one byte more than the frame has */
	net_put16(ip + 10, 0);
	net_put16(ip + 10, net_csum(ip, NET_IP_HLEN, 0));
	net_input(&x->b, x->f, len);
	len = udp_frame(x, "csum");
	ip[8] ^= 1; /* TTL changed, checksum not */
	net_input(&x->b, x->f, len);
	assert_int_equal(x->b.st.rx_ip_bad, 5);
	assert_int_equal(x->log.n, 0);
	assert_outcomes_add_up(&x->b);
}

static void test_fragments_are_dropped_and_counted(void **state)
{
	struct fixture *x = *state;
	uint8_t *ip = x->f + NET_ETH_HLEN;
	size_t len;

	len = udp_frame(x, "first fragment");
	net_put16(ip + 6, 0x2000); /* MF */
	net_put16(ip + 10, 0);
	net_put16(ip + 10, net_csum(ip, NET_IP_HLEN, 0));
	net_input(&x->b, x->f, len);
	len = udp_frame(x, "last fragment");
	net_put16(ip + 6, 0x0010); /* offset 128 */
	net_put16(ip + 10, 0);
	net_put16(ip + 10, net_csum(ip, NET_IP_HLEN, 0));
	net_input(&x->b, x->f, len);
	assert_int_equal(x->b.st.rx_ip_fragment, 2);
	assert_int_equal(x->log.n, 0);
	len = udp_frame(x, "whole");
	net_input(&x->b, x->f, len);
	assert_int_equal(x->log.n, 1);
}

static void test_udp_checksum_length_and_port_are_checked(void **state)
{
	struct fixture *x = *state;
	uint8_t *udp = x->f + NET_ETH_HLEN + NET_IP_HLEN;
	size_t len;

	len = udp_frame(x, "corrupted");
	udp[NET_UDP_HLEN] ^= 0x40;
	net_input(&x->b, x->f, len);
	assert_int_equal(x->b.st.rx_udp_bad, 1);
	len = udp_frame(x, "too long");
	net_put16(udp + 4, (uint16_t)(NET_UDP_HLEN + 9)); /* one past the IP payload */
	net_input(&x->b, x->f, len);
	assert_int_equal(x->b.st.rx_udp_bad, 2);
	len = udp_frame(x, "other port");
	net_put16(udp + 2, 5002);
	net_put16(udp + 6, 0);
	net_put16(udp + 6, net_udp_csum(IP_A, IP_B, udp, NET_UDP_HLEN + 10));
	net_input(&x->b, x->f, len);
	assert_int_equal(x->b.st.rx_udp_no_port, 1);
	assert_int_equal(x->log.n, 0);
	len = udp_frame(x, "no checksum");
	net_put16(udp + 6, 0); /* none: accepted (RFC 768) */
	net_input(&x->b, x->f, len);
	assert_int_equal(x->log.n, 1);
	assert_int_equal(x->log.len, 11);
	assert_outcomes_add_up(&x->b);
}

static void test_short_frames_are_padded_and_the_ip_length_bounds_the_payload(void **state)
{
	struct fixture *x = *state;

	memcpy(x->a.arp[0].mac, MAC_B, 6);
	x->a.arp[0].ip = IP_B;
	x->a.arp[0].valid = true;
	assert_int_equal(net_udp_send(&x->a, IP_B, 4000, 5001, "ab", 2), 0);
	assert_int_equal(x->w.b.qlen[x->w.b.head], NET_FRAME_MIN);
	wire_deliver(&x->w.b);
	assert_int_equal(x->log.n, 1);
	assert_int_equal(x->log.len, 2);
	assert_int_equal(x->b.st.rx_bytes, NET_FRAME_MIN);
}

static void test_runts_and_other_frames_are_counted(void **state)
{
	struct fixture *x = *state;
	uint8_t f[64] = { 0 };

	for (size_t len = 0; len < NET_ETH_HLEN; len++)
		net_input(&x->b, f, len);
	assert_int_equal(x->b.st.rx_runt, NET_ETH_HLEN);
	memcpy(f, MAC_B, 6);
	net_put16(f + 12, 0x86dd); /* IPv6 */
	net_input(&x->b, f, 60);
	assert_int_equal(x->b.st.rx_unknown_type, 1);
	memcpy(f, MAC_A, 6); /* another unicast MAC */
	net_input(&x->b, f, 60);
	assert_int_equal(x->b.st.rx_not_for_us, 1);
	memcpy(f, MAC_B, 6);
	net_put16(f + 12, NET_ETHERTYPE_IPV4);
	net_input(&x->b, f, NET_ETH_HLEN + 19); /* no room for an IPv4 header */
	net_put16(f + 12, NET_ETHERTYPE_ARP);
	net_input(&x->b, f, NET_ETH_HLEN + 27);
	assert_int_equal(x->b.st.rx_runt, NET_ETH_HLEN + 2);
	assert_outcomes_add_up(&x->b);
}

static void test_off_link_destinations_go_through_the_gateway(void **state)
{
	struct fixture *x = *state;
	uint8_t *a = x->f + NET_ETH_HLEN;

	assert_int_equal(net_udp_send(&x->a, 0x08080808u, 1, 2, "x", 1), -NET_EINVAL); /* no gateway */
	assert_int_equal(x->w.b.count, 0);
	x->a.gateway = 0x0a0000feu;
	assert_int_equal(net_udp_send(&x->a, 0x08080808u, 1, 2, "x", 1), -NET_EAGAIN);
	assert_int_equal(wire_take(&x->w.b, x->f), NET_FRAME_MIN);
	assert_int_equal(net_get32(a + 24), 0x0a0000feu); /* the ARP request asks for the gateway */
	assert_int_equal(net_next_hop(&x->a, IP_B), IP_B);
}

static void test_oversize_payloads_are_refused(void **state)
{
	struct fixture *x = *state;
	static uint8_t big[NET_UDP_PAYLOAD_MAX + 1];

	assert_int_equal(net_udp_send(&x->a, IP_B, 1, 2, big, sizeof(big)), -NET_EMSGSIZE);
	assert_int_equal(x->a.st.tx_frames, 0);
}

static void test_a_full_device_is_counted(void **state)
{
	struct fixture *x = *state;

	x->w.a.full = true;
	assert_int_equal(net_arp_request(&x->a, IP_B), -NET_ENOBUFS);
	assert_int_equal(x->a.st.tx_full, 1);
	assert_int_equal(x->a.st.tx_frames, 0);
}

static void test_addresses_parse_and_format(void **state)
{
	uint32_t ip;
	unsigned prefix = 0;
	const char *end;
	uint8_t mac[6];
	char buf[16];

	(void)state;
	assert_true(net_parse_ip("10.0.0.2/24 rest", &end, &ip, &prefix));
	assert_int_equal(ip, IP_B);
	assert_int_equal(prefix, 24);
	assert_string_equal(end, " rest");
	assert_false(net_parse_ip("10.0.0.2/24", &end, &ip, NULL));
	assert_false(net_parse_ip("10.0.0.256", &end, &ip, NULL));
	assert_false(net_parse_ip("10.0.0", &end, &ip, NULL));
	assert_false(net_parse_ip("10.0.0.2/33", &end, &ip, &prefix));
	assert_false(net_parse_ip("1000.0.0.2", &end, &ip, NULL));
	assert_true(net_parse_mac("02:aB:00:00:0c:ff", &end, mac));
	assert_memory_equal(mac, ((uint8_t[]){ 2, 0xab, 0, 0, 0xc, 0xff }), 6);
	assert_false(net_parse_mac("02:ab:00:00:0c", &end, mac));
	assert_false(net_parse_mac("02-ab-00-00-0c-ff", &end, mac));
	net_format_ip(0xc0a8640au, buf);
	assert_string_equal(buf, "192.168.100.10");
	net_format_ip(0, buf);
	assert_string_equal(buf, "0.0.0.0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checksum_matches_rfc1071_example),
		cmocka_unit_test_setup_teardown(test_udp_to_an_unknown_host_asks_arp_then_arrives, setup, teardown),
		cmocka_unit_test_setup_teardown(test_arp_reply_names_us_and_goes_to_the_asker, setup, teardown),
		cmocka_unit_test_setup_teardown(test_arp_for_another_address_is_neither_answered_nor_cached, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_arp_cache_replaces_the_least_recently_used, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ping_is_answered_with_the_same_id_seq_and_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ping_with_a_bad_checksum_is_counted_not_answered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_ipv4_headers_are_counted_and_not_delivered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fragments_are_dropped_and_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_checksum_length_and_port_are_checked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_frames_are_padded_and_the_ip_length_bounds_the_payload, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_runts_and_other_frames_are_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_off_link_destinations_go_through_the_gateway, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversize_payloads_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_full_device_is_counted, setup, teardown),
		cmocka_unit_test(test_addresses_parse_and_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
