// SPDX-License-Identifier: MIT
/* unit: net/apps.c natively: blast into sink, echo, over an in-memory wire with injected faults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "apps.h"
#include "wire.h"

#define IP_A 0x0a000001u
#define IP_B 0x0a000002u
#define PORT 5001
static const uint8_t MAC_A[6] = { 0x02, 0, 0, 0, 0, 0xa };
static const uint8_t MAC_B[6] = { 0x02, 0, 0, 0, 0, 0xb };

struct fixture {
	struct wire w;
	struct net_stack a, b;
	struct net_sink sink;
};

static int setup(void **state)
{
	struct fixture *x = test_calloc(1, sizeof(*x));

	wire_init(&x->w);
	net_stack_init(&x->a, &wire_ops, &x->w.a, MAC_A, IP_A, 24, 0);
	net_stack_init(&x->b, &wire_ops, &x->w.b, MAC_B, IP_B, 24, 0);
	x->w.a.s = &x->a;
	x->w.b.s = &x->b;
	net_sink_init(&x->sink, &x->b, PORT);
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	test_free(*state);
	return 0;
}

static struct net_blast_opts blast_opts(unsigned size, uint64_t count)
{
	return (struct net_blast_opts){ .dst_ip = IP_B, .dst_port = PORT, .src_port = 4000, .frame_size = size,
					.count = count };
}

/* Blasts count frames of size after resolving B; faults armed on A's sends only after the ARP exchange. */
static void blast(struct fixture *x, unsigned size, uint64_t count, struct net_blast_result *r)
{
	struct net_blast_opts o = blast_opts(size, count);

	assert_int_equal(net_resolve(&x->a, IP_B, 1000000000ull), 0);
	x->w.a.sent_armed = 0;
	assert_int_equal(net_blast(&x->a, &o, r), 0);
	wire_deliver(&x->w.b);
	assert_int_equal(r->sent, count);
}

static void test_blast_into_sink_counts_every_frame_at_64_and_1514_bytes(void **state)
{
	struct fixture *x = *state;
	struct net_blast_result r;

	blast(x, 64, 1000, &r);
	assert_int_equal(x->sink.packets, 1000);
	assert_int_equal(x->sink.bytes, 1000 * 64);
	assert_int_equal(r.bytes, 1000 * 64);
	assert_int_equal(x->sink.lost + x->sink.reordered + x->sink.duplicates + x->sink.bad, 0);
	assert_int_equal(x->b.st.rx_udp_bad, 0); /* every incrementally updated checksum was right */
	net_sink_init(&x->sink, &x->b, PORT);
	blast(x, 1514, 1000, &r);
	assert_int_equal(x->sink.packets, 1000);
	assert_int_equal(x->sink.bytes, 1000 * 1514);
	assert_int_equal(x->sink.lost, 0);
	assert_int_equal(x->b.st.rx_udp_bad, 0);
	assert_int_equal(x->b.st.rx_bytes - 60 /* ARP request */, 1000 * 64 + 1000 * 1514);
}

static void test_sink_counts_frames_the_wire_dropped_as_lost(void **state)
{
	struct fixture *x = *state;
	struct net_blast_result r;

	x->w.a.drop_every = 10; /* frames 10, 20, ..., 990 (1-based): 99 of 999 */
	blast(x, 100, 999, &r);
	assert_int_equal(x->sink.packets, 900);
	assert_int_equal(x->sink.lost, 99);
	assert_int_equal(x->sink.reordered, 0);
	assert_int_equal(x->sink.duplicates, 0);
}

static void test_sink_counts_duplicates_and_reordering(void **state)
{
	struct fixture *x = *state;
	struct net_blast_result r;

	x->w.a.dup_every = 50;  /* 20 of 1000 twice */
	blast(x, 80, 1000, &r);
	assert_int_equal(x->sink.packets, 1020);
	assert_int_equal(x->sink.duplicates, 20);
	assert_int_equal(x->sink.reordered, 0);
	assert_int_equal(x->sink.lost, 0);
	net_sink_init(&x->sink, &x->b, PORT);
	x->w.a.dup_every = 0;
	x->w.a.swap_every = 7;  /* frame 7k (1-based) goes after 7k+1: 142 of 1000 (994 before 995) */
	blast(x, 80, 1000, &r);
	assert_int_equal(x->sink.packets, 1000);
	assert_int_equal(x->sink.reordered, 142);
	assert_int_equal(x->sink.duplicates, 0);
	assert_int_equal(x->sink.lost, 0);
}

static void test_sink_sequence_checks(void **state)
{
	struct net_sink k;

	(void)state;
	memset(&k, 0, sizeof(k));
	for (uint64_t s = 0; s < 5; s++)
		net_sink_account(&k, s);
	net_sink_account(&k, 7);          /* 5 and 6 missing */
	assert_int_equal(k.lost, 2);
	net_sink_account(&k, 5);          /* late: no longer lost */
	assert_int_equal(k.lost, 1);
	assert_int_equal(k.reordered, 1);
	net_sink_account(&k, 5);          /* again */
	net_sink_account(&k, 7);
	assert_int_equal(k.duplicates, 2);
	net_sink_account(&k, 7 + NET_SINK_WINDOW + 10); /* a jump past the window */
	assert_int_equal(k.lost, 1 + NET_SINK_WINDOW + 9);
	net_sink_account(&k, 6);          /* older than the window: late, taken as reordered */
	assert_int_equal(k.reordered, 2);
	assert_int_equal(k.lost, NET_SINK_WINDOW + 9);
	net_sink_account(&k, 7 + NET_SINK_WINDOW + 1); /* skipped by the jump: its bit was cleared */
	assert_int_equal(k.duplicates, 2);
	assert_int_equal(k.reordered, 3);

	memset(&k, 0, sizeof(k));
	net_sink_account(&k, 5);          /* a sink that started late: 0..4 lost */
	assert_int_equal(k.lost, 5);
	assert_int_equal(k.next_seq, 6);
}

/* A header whose seq is UINT64_MAX is no header: the sink would count it with next_seq wrapped to 0 (fuzz_netstack). */
static void test_the_last_sequence_number_is_not_a_header(void **state)
{
	struct net_app_hdr h;
	uint8_t p[NET_APP_HDR];

	(void)state;
	net_app_hdr_put(p, UINT64_MAX - 1, 1);
	assert_true(net_app_hdr_get(p, sizeof(p), &h));
	assert_true(h.seq == UINT64_MAX - 1);
	net_app_hdr_put(p, UINT64_MAX, 1);
	assert_false(net_app_hdr_get(p, sizeof(p), &h));
}

static void test_blast_at_a_rate_takes_the_time_it_says(void **state)
{
	struct fixture *x = *state;
	struct net_blast_opts o = blast_opts(64, 100);
	struct net_blast_result r;

	o.rate_pps = 1000;
	assert_int_equal(net_resolve(&x->a, IP_B, 1000000000ull), 0);
	assert_int_equal(net_blast(&x->a, &o, &r), 0);
	/* 100 frames at 1 ms intervals on the wire's virtual clock: the last leaves at 99 ms. */
	assert_true(r.elapsed_ns >= 99000000ull);
	assert_true(r.elapsed_ns < 99000000ull + 1000000ull);
	wire_deliver(&x->w.b);
	assert_int_equal(x->sink.packets, 100);
}

static void test_blast_waits_when_the_device_is_full(void **state)
{
	struct fixture *x = *state;
	struct net_blast_result r;

	/* 5000 frames through a 64-frame queue: each poll lets the sink drain it. */
	blast(x, 64, 5000, &r);
	assert_true(r.full_retries > 0);
	assert_int_equal(x->sink.packets, 5000);
	assert_int_equal(x->sink.lost, 0);
}

static unsigned stop_calls;

static bool stop_on_second_look(void *ctx)
{
	(void)ctx;
	return ++stop_calls == 2;
}

static void test_blast_and_echo_end_early_when_asked(void **state)
{
	struct fixture *x = *state;
	struct net_blast_opts o = blast_opts(64, 1000);
	struct net_echo_opts eo = { .dst_ip = IP_B, .dst_port = 7, .src_port = 4001, .frame_size = 64, .count = 100,
				    .stop = stop_on_second_look };
	struct net_echo_server e;
	struct net_echo_result er;
	struct net_blast_result r;

	o.stop = stop_on_second_look;
	stop_calls = 0;
	assert_int_equal(net_blast(&x->a, &o, &r), 0);
	assert_true(r.stopped);
	assert_int_equal(r.sent, 64); /* looked at after 32 and 64 frames */
	stop_calls = 0;
	net_echo_server_bind(&x->b, &e, 7);
	assert_int_equal(net_echo_client(&x->a, &eo, &er), 0);
	assert_true(er.stopped);
	assert_int_equal(er.sent, 1);
	assert_int_equal(er.received, 1);
}

static void test_blast_refuses_bad_options_and_unreachable_hosts(void **state)
{
	struct fixture *x = *state;
	struct net_blast_opts o = blast_opts(63, 1);
	struct net_blast_result r;

	assert_int_equal(net_blast(&x->a, &o, &r), -NET_EINVAL);
	o.frame_size = 1515;
	assert_int_equal(net_blast(&x->a, &o, &r), -NET_EINVAL);
	o = blast_opts(64, 0);
	assert_int_equal(net_blast(&x->a, &o, &r), -NET_EINVAL); /* neither count nor duration */
	o = blast_opts(64, 1);
	o.dst_ip = 0x0a000063u; /* nobody answers ARP */
	o.resolve_ns = 2000000000ull;
	assert_int_equal(net_blast(&x->a, &o, &r), -NET_EAGAIN);
	assert_int_equal(r.sent, 0);
	assert_true(x->a.st.arp_requests_sent >= 5); /* asked again every 200 ms */
}

static void test_echo_round_trips_and_percentiles(void **state)
{
	struct fixture *x = *state;
	struct net_echo_server e;
	struct net_echo_opts o = { .dst_ip = IP_B, .dst_port = 7, .src_port = 4001, .frame_size = 200, .count = 500 };
	struct net_echo_result r;
	uint64_t p50, p99;

	/* The server answers from B's handler; A's polls let B take its frames in (wire.h). */
	net_echo_server_bind(&x->b, &e, 7);
	assert_int_equal(net_echo_client(&x->a, &o, &r), 0);
	assert_int_equal(r.sent, 500);
	assert_int_equal(r.received, 500);
	assert_int_equal(r.timeouts, 0);
	assert_int_equal(e.echoed, 500);
	assert_int_equal(r.lat.n, 500);
	p50 = net_latency_percentile(&r.lat, 50);
	p99 = net_latency_percentile(&r.lat, 99);
	assert_true(r.lat.min_ns > 0);
	assert_true(r.lat.min_ns <= p50 && p50 <= p99 && p99 <= r.lat.max_ns);
	/* Each round trip reads the virtual clock a few times: WIRE_TICK_NS apart, well under 1 ms. */
	assert_true(r.lat.max_ns < 1000000);
}

static void test_echo_without_a_server_times_out_each_request(void **state)
{
	struct fixture *x = *state;
	struct net_echo_opts o = { .dst_ip = IP_B, .dst_port = 7, .src_port = 4001, .frame_size = 64, .count = 3,
				   .timeout_ns = 5000000 };
	struct net_echo_result r;

	assert_int_equal(net_echo_client(&x->a, &o, &r), 0);
	assert_int_equal(r.sent, 3);
	assert_int_equal(r.received, 0);
	assert_int_equal(r.timeouts, 3);
	assert_int_equal(x->b.st.rx_udp_no_port, 3);
}

static void test_latency_percentiles_are_within_a_bucket(void **state)
{
	struct net_latency l;

	(void)state;
	memset(&l, 0, sizeof(l));
	for (uint64_t v = 1; v <= 1000; v++)
		net_latency_add(&l, v * 1000); /* 1 us .. 1 ms */
	assert_int_equal(l.n, 1000);
	assert_int_equal(l.min_ns, 1000);
	assert_int_equal(l.max_ns, 1000000);
	for (unsigned p = 1; p <= 100; p++) {
		uint64_t want = (uint64_t)p * 10 * 1000, got = net_latency_percentile(&l, p);

		assert_true(got >= want);
		assert_true(got <= want + want / 16);
	}
	assert_int_equal(net_latency_percentile(&l, 100), 1000000);
	memset(&l, 0, sizeof(l));
	net_latency_add(&l, 7);
	assert_int_equal(net_latency_percentile(&l, 50), 7); /* exact below 16 ns */
	assert_int_equal(net_latency_percentile(&l, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_blast_into_sink_counts_every_frame_at_64_and_1514_bytes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sink_counts_frames_the_wire_dropped_as_lost, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sink_counts_duplicates_and_reordering, setup, teardown),
		cmocka_unit_test(test_sink_sequence_checks),
		cmocka_unit_test(test_the_last_sequence_number_is_not_a_header),
		cmocka_unit_test_setup_teardown(test_blast_at_a_rate_takes_the_time_it_says, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blast_waits_when_the_device_is_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blast_and_echo_end_early_when_asked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blast_refuses_bad_options_and_unreachable_hosts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_echo_round_trips_and_percentiles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_echo_without_a_server_times_out_each_request, setup, teardown),
		cmocka_unit_test(test_latency_percentiles_are_within_a_bucket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
