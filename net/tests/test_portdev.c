// SPDX-License-Identifier: MIT
/*
 * unit: the network programs over a port (net/portdev.h) opened by spec
 * (io/netport_open.h): blast into sink and echo round trips between the two
 * ends of a pair:NAME port, each end driven by a thread of its own as two
 * xenith-net processes would (the tap: round trip needs root: native.sh);
 * and the dispatcher's answers for specs it cannot open.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "apps.h"
#include "netport_open.h"
#include "portdev.h"

#define IP_A 0x0a000001u
#define IP_B 0x0a000002u
static const uint8_t MAC_A[6] = { 0x02, 0, 0, 0, 0, 0xa };
static const uint8_t MAC_B[6] = { 0x02, 0, 0, 0, 0, 0xb };

struct side {
	struct net_port *port;
	struct net_portdev dev;
	struct net_stack s;
};

/* The far side's thread: a sink or an echo server until told to stop. */
struct far {
	struct side *b;
	struct net_sink sink;
	struct net_echo_server echo;
	bool echo_mode;
	atomic_bool stop;
	uint64_t deadline_ns;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool far_stop(void *ctx)
{
	struct far *f = ctx;

	return atomic_load(&f->stop) || mono_ns() > f->deadline_ns;
}

static void *far_main(void *arg)
{
	struct far *f = arg;

	if (f->echo_mode)
		net_echo_serve(&f->b->s, &f->echo, 7, 0, far_stop, f);
	else
		net_sink_run(&f->b->s, &f->sink, 0, 0, 0, far_stop, f);
	return NULL;
}

static void open_side(struct side *x, const char *spec, const uint8_t mac[6], uint32_t ip)
{
	char msg[256];
	int r = net_port_open(spec, 1, &x->port, msg, sizeof(msg));

	if (r < 0)
		fail_msg("net_port_open(%s): %d %s", spec, r, msg);
	net_portdev_init(&x->dev, x->port);
	net_stack_init(&x->s, &net_portdev_ops, &x->dev, mac, ip, 24, 0);
}

static void start_far(struct far *f, struct side *b, bool echo, pthread_t *t)
{
	memset(f, 0, sizeof(*f));
	f->b = b;
	f->echo_mode = echo;
	f->deadline_ns = mono_ns() + 60000000000ull; /* a loaded host: generous, never the expected end */
	if (!echo)
		net_sink_init(&f->sink, &b->s, 5001);
	assert_int_equal(pthread_create(t, NULL, far_main, f), 0);
}

/*
 * Every frame blasted into a pair: port reaches the sink on the other end
 * once, or is counted dropped by the sending device (a full pair, as
 * netback's port_full); the sink saw at least one burst and no duplicate.
 */
static void test_blast_over_a_pair_port_reaches_the_sink_or_is_counted(void **state)
{
	static struct side a, b;
	static struct far f;
	struct net_blast_opts o = { .dst_ip = IP_B, .dst_port = 5001, .src_port = 4000, .frame_size = 200,
				    .count = 20000 };
	struct net_blast_result r;
	pthread_t t;

	(void)state;
	open_side(&a, "pair:pdt-blast", MAC_A, IP_A);
	open_side(&b, "pair:pdt-blast", MAC_B, IP_B);
	start_far(&f, &b, false, &t);
	assert_int_equal(net_blast(&a.s, &o, &r), 0);
	/* the sink has them all once its count plus the drops reach what was sent (or the deadline) */
	while (!far_stop(&f) && __atomic_load_n(&f.sink.packets, __ATOMIC_RELAXED) + a.dev.send_dropped < r.sent) {
		struct timespec ms = { 0, 1000000 };

		nanosleep(&ms, NULL);
	}
	atomic_store(&f.stop, true);
	pthread_join(t, NULL);
	assert_int_equal(r.sent, 20000);
	assert_int_equal(a.dev.sent + a.dev.send_dropped, r.sent + 1); /* + the ARP request */
	assert_int_equal(f.sink.packets + a.dev.send_dropped, r.sent);
	assert_true(f.sink.packets >= 32);
	assert_int_equal(f.sink.duplicates, 0);
	assert_int_equal(f.sink.bytes, f.sink.packets * 200);
	assert_true(a.dev.bursts * NET_PORT_BURST >= a.dev.sent + a.dev.send_dropped);
	assert_true(a.dev.bursts < r.sent); /* bursts, not a send per frame */
	a.port->ops->close(a.port);
	b.port->ops->close(b.port);
}

/* The echo client's round trips over a pair: port are all answered by the server on the other end. */
static void test_echo_over_a_pair_port_answers_every_round_trip(void **state)
{
	static struct side a, b;
	static struct far f;
	struct net_echo_opts o = { .dst_ip = IP_B, .dst_port = 7, .src_port = 4000, .frame_size = 100,
				   .count = 200, .timeout_ns = 10000000000ull };
	static struct net_echo_result r;
	pthread_t t;

	(void)state;
	open_side(&a, "pair:pdt-echo", MAC_A, IP_A);
	open_side(&b, "pair:pdt-echo", MAC_B, IP_B);
	start_far(&f, &b, true, &t);
	assert_int_equal(net_echo_client(&a.s, &o, &r), 0);
	atomic_store(&f.stop, true);
	pthread_join(t, NULL);
	assert_int_equal(r.sent, 200);
	assert_int_equal(r.received, 200);
	assert_int_equal(r.timeouts, 0);
	assert_int_equal(f.echo.echoed, 200);
	assert_int_equal(r.lat.n, 200);
	a.port->ops->close(a.port);
	b.port->ops->close(b.port);
}

/* What the dispatcher refuses, each with an errno and a message that says why. */
static void test_net_port_open_refuses_what_it_cannot_open(void **state)
{
	struct net_port *p[NET_PORT_OPEN_MAX_QUEUES + 1], *q[2];
	char msg[256];

	(void)state;
	assert_int_equal(net_port_open("frob:x", 1, p, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "tap, pair"));
	assert_int_equal(net_port_open("tapx0", 1, p, msg, sizeof(msg)), -EINVAL); /* no kind */
	assert_non_null(strstr(msg, "'tapx0'"));
	assert_int_equal(net_port_open("pair:", 1, p, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(net_port_open("pair:x", 0, p, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(net_port_open("pair:x", NET_PORT_OPEN_MAX_QUEUES + 1, p, msg, sizeof(msg)), -EINVAL);
	assert_true(net_port_spec_known("tap:x0"));
	assert_true(net_port_spec_known("pair:x"));
	assert_false(net_port_spec_known("eth0"));
	assert_false(net_port_spec_known("frob:x"));
	/* a pair has two ends: a third open is EBUSY, and the two that got ends keep them */
	assert_int_equal(net_port_open("pair:pdt-three", 2, q, msg, sizeof(msg)), 0);
	assert_int_equal(net_port_open("pair:pdt-three", 2, p, msg, sizeof(msg)), 0);
	assert_int_equal(net_port_open("pair:pdt-three", 1, p + 2, msg, sizeof(msg)), -EBUSY);
	assert_non_null(strstr(msg, "both ends"));
	/* queue 1 of pair:NAME is the pair NAME.1: its ends are joined as queue 0's */
	{
		uint8_t data[64] = { 1, 2, 3 }, back[NET_PORT_FRAME_MAX + 1];
		struct net_frame out = { .data = data, .len = 64, .cap = 64 };
		struct net_frame in = { .data = back, .cap = sizeof(back) };

		assert_int_equal(q[1]->ops->send(q[1], &out, 1), 1);
		assert_int_equal(p[0]->ops->recv(p[0], &in, 1), 0);
		assert_int_equal(p[1]->ops->recv(p[1], &in, 1), 1);
		assert_int_equal(in.len, 64);
		assert_memory_equal(back, data, 64);
	}
	for (int i = 0; i < 2; i++) {
		p[i]->ops->close(p[i]);
		q[i]->ops->close(q[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blast_over_a_pair_port_reaches_the_sink_or_is_counted),
		cmocka_unit_test(test_echo_over_a_pair_port_answers_every_round_trip),
		cmocka_unit_test(test_net_port_open_refuses_what_it_cannot_open),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
