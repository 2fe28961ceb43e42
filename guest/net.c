// SPDX-License-Identifier: MIT
/*
 * The network programs of minios, over netfront and net/ (the stack and
 * the programs shared with native runs):
 *
 *   net-sink  [OPTS] [port=5001] [count=N] [duration=MS] [idle=MS]
 *       counts UDP datagrams to port with blast's header (net/apps.h):
 *       ends after count datagrams, duration ms after the first, idle ms
 *       without one, or when the toolstack asks (shutdown); none of the
 *       three: only then
 *   net-blast [OPTS] dst=IP:PORT [size=64..1514] count=N|duration=MS [rate=PPS] [src=PORT] [hold=1]
 *       UDP frames of size bytes (Ethernet header to payload, no FCS) to
 *       dst, flat out or rate per second; hold=1: afterwards answers ARP
 *       and ping until the toolstack asks to shut down
 *   net-echo  [OPTS] [port=7] [count=N]
 *       an echo server (count: end after that many; else at shutdown)
 *   net-echo  [OPTS] dst=IP:PORT count=N [size=64..1514] [timeout=MS] [src=PORT]
 *       the client: round trips one at a time, latency percentiles
 *
 *   OPTS: vif=N (0) ip=A.B.C.D/P (10.0.0.2/24) gw=A.B.C.D (none) queues=N (1:
 *   connect N of the vif's queues; every one is received from, queue 0 sends)
 *
 * Each prints "NAME: ready vif=N mac=M ip=A port=P" once connected (the
 * host may send from then on) and one line "net-json: {...}" with its
 * result, the stack's and netfront's counters; every program answers ARP
 * and ping while it runs, and ends early when the toolstack asks the
 * domain to shut down ("stopped":true for blast and the echo client).  Exit status: 0, 2 (bad arguments), 3 (no vif,
 * or it could not connect), 4 (the destination did not answer ARP).
 */
#include "apps.h"
#include "assert.h"
#include "hypercall.h"
#include "netfront.h"
#include "opts.h"

struct gnet {
	struct netfront nf[XENITH_NET_MAX_QUEUES]; /* nf[0] sends; every queue receives */
	unsigned nq;
	struct net_stack s;
	uint32_t ctl_port;
	bool stopped;
};

static int g_send(void *dev, const uint8_t *frame, size_t len)
{
	struct gnet *g = dev;

	return netfront_send(&g->nf[0], frame, len) == 0 ? 0 : -NET_ENOBUFS;
}

static void g_flush(void *dev)
{
	struct gnet *g = dev;

	netfront_flush(&g->nf[0]);
}

static void g_input(void *ctx, const uint8_t *frame, size_t len)
{
	net_input(ctx, frame, len);
}

static unsigned g_poll(void *dev, struct net_stack *s, unsigned max)
{
	struct gnet *g = dev;

	unsigned n = 0;

	netfront_tx_reap(&g->nf[0]);
	/* The backend spreads received frames over the queues (the port's choice): look at each. */
	for (unsigned q = 0; q < g->nq && n < max; q++)
		n += netfront_rx_poll(&g->nf[q], g_input, s, max - n);
	return n;
}

static void g_wait(void *dev, uint64_t ns)
{
	struct gnet *g = dev;

	netfront_wait_queues(g->nf, g->nq, &g->ctl_port, 1, ns);
}

static uint64_t g_now(void *dev)
{
	(void)dev;
	return monotonic_ns();
}

static const struct net_dev_ops gnet_ops = {
	.send = g_send, .flush = g_flush, .poll = g_poll, .wait = g_wait, .now_ns = g_now,
};

/* True once the toolstack asked this domain to shut down (or to reboot). */
static bool stop_requested(void *ctx)
{
	struct gnet *g = ctx;
	uint32_t req;

	if (g->stopped)
		return true;
	if (!evtchn_test_and_clear(g->ctl_port))
		return false;
	req = __atomic_exchange_n(&shared_info->control_request, XENITH_CONTROL_NONE, __ATOMIC_ACQUIRE);
	if (req == XENITH_CONTROL_POWEROFF || req == XENITH_CONTROL_REBOOT)
		g->stopped = true;
	return g->stopped;
}

/* The options (net/opts.h); a bad one is printed with what is allowed. */
static bool parse_opts(const char *who, const char *args, struct net_opts *o)
{
	const char *bad;
	size_t len;

	if (net_opts_parse(args, o, &bad, &len)) {
		if (!o->has_mac)
			return true;
		printf("%s: mac= is for native runs: a guest sends from its vif's MAC (vif = [ \"mac=...\" ])\n", who);
		return false;
	}
	if (!len)
		printf("%s: '%s': options are key=value\n", who, bad);
	else
		printf("%s: bad option '%.*s' (" NET_OPTS_HELP ")\n", who, (int)len, bad);
	return false;
}

/* Connects vif o->vif and sets up the stack: NULL (printed why) on failure. */
static struct gnet *gnet_open(const char *who, const struct net_opts *o)
{
	struct gnet *g;
	char ip[16];
	int r;

	if (!gnttab_size() && (r = gnttab_init(8)) < 0) {
		printf("%s: grant table: %d\n", who, r);
		return NULL;
	}
	g = calloc(1, sizeof(*g));
	if (!g) {
		printf("%s: out of memory\n", who);
		return NULL;
	}
	g->nq = o->queues;
	r = netfront_connect_queues(g->nf, o->vif, g->nq, true);
	if (r < 0) {
		struct netfront_info info;

		printf("%s: vif %u: connect: %d%s\n", who, o->vif, r,
		       r == -XEN_ENOENT ? " (no such vif: configure one with vif = [ ... ])" : "");
		if (r == -XEN_EINVAL && netfront_info(o->vif, &info) == 0 && info.nr_queues < g->nq)
			printf("%s: vif %u offers %u queue(s) (multi-queue-max-queues)\n", who, o->vif, info.nr_queues);
		free(g);
		return NULL;
	}
	r = evtchn_bind_virq(VIRQ_CONTROL, 0);
	g->ctl_port = r > 0 ? (uint32_t)r : 0;
	net_stack_init(&g->s, &gnet_ops, g, g->nf[0].info.mac, o->ip, o->prefix, o->gw);
	net_format_ip(o->ip, ip);
	printf("%s: ready vif=%u mac=%02x:%02x:%02x:%02x:%02x:%02x ip=%s/%u port=%u mode=%s queues=%u\n", who,
	       o->vif, g->nf[0].info.mac[0], g->nf[0].info.mac[1], g->nf[0].info.mac[2], g->nf[0].info.mac[3],
	       g->nf[0].info.mac[4], g->nf[0].info.mac[5], ip, o->prefix, o->port,
	       g->nf[0].info.mode == XENITH_NET_MODE_POLL ? "poll" :
	       g->nf[0].info.mode == XENITH_NET_MODE_IOEVENTFD ? "ioeventfd" : "exit", g->nq);
	return g;
}

/* Answers ARP and ping until the toolstack asks to shut down. */
static void serve_until_stop(struct gnet *g)
{
	while (!stop_requested(g))
		if (!g->s.ops->poll(g, &g->s, 32)) {
			netfront_flush(&g->nf[0]);
			netfront_wait_queues(g->nf, g->nq, &g->ctl_port, 1, 100000000);
		}
}

static void gnet_close(struct gnet *g)
{
	netfront_flush(&g->nf[0]);
	netfront_disconnect(g->nf, g->nq);
	free(g);
}

#define U(x) ((unsigned long long)(x))

/* The counters every program prints after its own: ,"stack":{...},"netfront":{...}} and a newline. */
static void print_counters(const struct gnet *g)
{
	const struct net_stack_stats *s = &g->s.st;
	struct netfront_stats t = { 0 }, *f = &t;

	/* Every queue's counters together. */
	for (unsigned q = 0; q < g->nq; q++) {
		const struct netfront_stats *x = &g->nf[q].st;

		t.tx_packets += x->tx_packets;
		t.tx_bytes += x->tx_bytes;
		t.tx_errors += x->tx_errors;
		t.tx_full += x->tx_full;
		t.rx_packets += x->rx_packets;
		t.rx_bytes += x->rx_bytes;
		t.rx_errors += x->rx_errors;
		t.rx_dropped_multi += x->rx_dropped_multi;
		t.bad_responses += x->bad_responses;
		t.kicks += x->kicks;
		t.waits += x->waits;
	}

	printf(",\"stack\":{\"rx_frames\":%llu,\"rx_bytes\":%llu,\"tx_frames\":%llu,\"tx_bytes\":%llu,"
	       "\"rx_runt\":%llu,\"rx_not_for_us\":%llu,\"rx_unknown_type\":%llu,\"rx_arp\":%llu,"
	       "\"rx_arp_bad\":%llu,\"rx_ip_bad\":%llu,\"rx_ip_fragment\":%llu,\"rx_ip_unknown_proto\":%llu,"
	       "\"rx_icmp_echo\":%llu,\"rx_icmp_other\":%llu,\"rx_icmp_bad\":%llu,\"rx_udp\":%llu,"
	       "\"rx_udp_bad\":%llu,\"rx_udp_no_port\":%llu,\"arp_requests_sent\":%llu,"
	       "\"arp_replies_sent\":%llu,\"tx_full\":%llu}",
	       U(s->rx_frames), U(s->rx_bytes), U(s->tx_frames), U(s->tx_bytes), U(s->rx_runt), U(s->rx_not_for_us),
	       U(s->rx_unknown_type), U(s->rx_arp), U(s->rx_arp_bad), U(s->rx_ip_bad), U(s->rx_ip_fragment),
	       U(s->rx_ip_unknown_proto), U(s->rx_icmp_echo), U(s->rx_icmp_other), U(s->rx_icmp_bad), U(s->rx_udp),
	       U(s->rx_udp_bad), U(s->rx_udp_no_port), U(s->arp_requests_sent), U(s->arp_replies_sent),
	       U(s->tx_full));
	printf(",\"netfront\":{\"tx_packets\":%llu,\"tx_bytes\":%llu,\"tx_errors\":%llu,\"tx_full\":%llu,"
	       "\"rx_packets\":%llu,\"rx_bytes\":%llu,\"rx_errors\":%llu,\"rx_dropped_multi\":%llu,"
	       "\"bad_responses\":%llu,\"kicks\":%llu,\"waits\":%llu}}\n",
	       U(f->tx_packets), U(f->tx_bytes), U(f->tx_errors), U(f->tx_full), U(f->rx_packets), U(f->rx_bytes),
	       U(f->rx_errors), U(f->rx_dropped_multi), U(f->bad_responses), U(f->kicks), U(f->waits));
}

int net_sink_main(const char *args)
{
	struct net_opts o;
	struct net_sink k;
	struct gnet *g;

	net_opts_default(&o, 5001);
	if (!parse_opts("net-sink", args, &o))
		return 2;
	if (!(g = gnet_open("net-sink", &o)))
		return 3;
	net_sink_init(&k, &g->s, o.port);
	net_sink_run(&g->s, &k, o.count, o.duration_ms * 1000000ull, o.idle_ms * 1000000ull, stop_requested, g);
	printf("net-json: {\"program\":\"sink\",\"vif\":%u,\"port\":%u,\"packets\":%llu,\"bytes\":%llu,"
	       "\"lost\":%llu,\"reordered\":%llu,\"duplicates\":%llu,\"bad\":%llu,\"elapsed_ns\":%llu",
	       o.vif, o.port, U(k.packets), U(k.bytes), U(k.lost), U(k.reordered), U(k.duplicates), U(k.bad),
	       U(k.packets ? k.last_ns - k.first_ns : 0));
	print_counters(g);
	if (o.hold)
		serve_until_stop(g);
	gnet_close(g);
	return 0;
}

int net_blast_main(const char *args)
{
	struct net_opts o;
	struct net_blast_opts bo;
	struct net_blast_result r;
	struct gnet *g;
	int err;

	net_opts_default(&o, 5001);
	if (!parse_opts("net-blast", args, &o))
		return 2;
	if (!o.has_dst || (!o.count && !o.duration_ms)) {
		printf("net-blast: needs dst=A.B.C.D:PORT and count=N or duration=MS\n");
		return 2;
	}
	if (!(g = gnet_open("net-blast", &o)))
		return 3;
	bo = (struct net_blast_opts){ .dst_ip = o.dst_ip, .dst_port = o.dst_port, .src_port = o.src_port,
				      .frame_size = o.size, .count = o.count, .rate_pps = o.rate,
				      .duration_ns = o.duration_ms * 1000000ull, .stop = stop_requested, .stop_ctx = g };
	err = net_blast(&g->s, &bo, &r);
	if (err == -NET_EAGAIN)
		printf("net-blast: no ARP reply from the destination's next hop within 5 s\n");
	/* Let the last frames' responses come back, so that the counters below are final. */
	for (uint64_t t0 = monotonic_ns(); g->nf[0].tx.req_prod_pvt != g->nf[0].tx.rsp_cons &&
	     monotonic_ns() - t0 < 1000000000ull;)
		if (!netfront_tx_reap(&g->nf[0]))
			netfront_wait(&g->nf[0], NULL, 0, 10000000);
	printf("net-json: {\"program\":\"blast\",\"vif\":%u,\"error\":%d,\"size\":%u,\"rate\":%llu,\"sent\":%llu,"
	       "\"bytes\":%llu,\"full_retries\":%llu,\"elapsed_ns\":%llu,\"stopped\":%s",
	       o.vif, err, o.size, U(o.rate), U(r.sent), U(r.bytes), U(r.full_retries), U(r.elapsed_ns),
	       r.stopped ? "true" : "false");
	print_counters(g);
	if (o.hold)
		serve_until_stop(g);
	gnet_close(g);
	return err == -NET_EAGAIN ? 4 : err < 0 ? 2 : 0;
}

int net_echo_main(const char *args)
{
	struct net_opts o;
	struct gnet *g;
	int err = 0;

	net_opts_default(&o, 7);
	if (!parse_opts("net-echo", args, &o))
		return 2;
	if (o.has_dst && !o.count) {
		printf("net-echo: the client (dst=) needs count=N\n");
		return 2;
	}
	if (!(g = gnet_open("net-echo", &o)))
		return 3;
	if (!o.has_dst) {
		struct net_echo_server e;

		net_echo_serve(&g->s, &e, o.port, o.count, stop_requested, g);
		printf("net-json: {\"program\":\"echo-server\",\"vif\":%u,\"port\":%u,\"echoed\":%llu,\"failed\":%llu",
		       o.vif, o.port, U(e.echoed), U(e.failed));
	} else {
		struct net_echo_opts eo = { .dst_ip = o.dst_ip, .dst_port = o.dst_port, .src_port = o.src_port,
					    .frame_size = o.size, .count = o.count,
					    .timeout_ns = o.timeout_ms * 1000000ull, .stop = stop_requested,
					    .stop_ctx = g };
		struct net_echo_result *r = malloc(sizeof(*r));

		if (!r) {
			gnet_close(g);
			return 3;
		}
		err = net_echo_client(&g->s, &eo, r);
		if (err == -NET_EAGAIN)
			printf("net-echo: no ARP reply from the destination's next hop within 5 s\n");
		printf("net-json: {\"program\":\"echo\",\"vif\":%u,\"error\":%d,\"size\":%u,\"sent\":%llu,"
		       "\"received\":%llu,\"timeouts\":%llu,\"mismatched\":%llu,\"min_ns\":%llu,\"p50_ns\":%llu,"
		       "\"p90_ns\":%llu,\"p99_ns\":%llu,\"max_ns\":%llu,\"mean_ns\":%llu,\"stopped\":%s",
		       o.vif, err, o.size, U(r->sent), U(r->received), U(r->timeouts), U(r->mismatched),
		       U(r->lat.min_ns), U(net_latency_percentile(&r->lat, 50)),
		       U(net_latency_percentile(&r->lat, 90)), U(net_latency_percentile(&r->lat, 99)),
		       U(r->lat.max_ns), U(r->lat.n ? r->lat.sum_ns / r->lat.n : 0), r->stopped ? "true" : "false");
		free(r);
	}
	print_counters(g);
	if (o.hold)
		serve_until_stop(g);
	gnet_close(g);
	return err == -NET_EAGAIN ? 4 : err < 0 ? 2 : 0;
}
