// SPDX-License-Identifier: MIT
/*
 * xenith-net: the guest's network programs (net/apps.c, the same machine
 * code as in minios) run natively on a host interface through an
 * AF_PACKET socket, or on a network port (io/netport_open.h: the same
 * port code a vif's backend uses), so that guest and native runs differ
 * only by the virtualization layer.
 *
 *   xenith-net IFNAME sink|blast|echo [OPTS]     (OPTS: net/opts.h)
 *   xenith-net KIND:NAME sink|blast|echo [OPTS]  (tap:NAME, pair:NAME, ...)
 *
 * On an interface the stack uses the interface's MAC unless mac= says
 * otherwise; on a port (the guest's side of it, as a vif) 02:58:4e and
 * three bytes of the process id unless mac= says otherwise.  It
 * answers ARP and ping for its ip= (default 10.0.0.2/24) on the wire: give
 * it an interface that has no address of the host's own (a veth end or a
 * tap in a namespace).  Prints "xenith-net: ready ..." once the socket is
 * bound and one "net-json: {...}" line, as the guest programs do.
 * SIGINT or SIGTERM ends sink and the echo server (and blast early).
 * Needs CAP_NET_RAW.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "apps.h"
#include "netport_open.h"
#include "opts.h"
#include "portdev.h"

#define BATCH 32u /* frames per sendmmsg: the guest's doorbell batch (net/apps.c FLUSH_EVERY) */

struct ndev {
	int fd;
	unsigned long rx_dropped_out; /* our own frames the socket showed us */
	unsigned nq;                  /* frames queued for the next sendmmsg */
	uint16_t qlen[BATCH];
	uint8_t q[BATCH][NET_FRAME_MAX];
	unsigned long send_dropped;   /* frames the kernel refused (a full qdisc) */
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static bool stopped(void *ctx)
{
	(void)ctx;
	return stop_flag;
}

/*
 * Frames are queued and sent BATCH at a time with one sendmmsg, as the
 * guest publishes BATCH requests per doorbell: one system call per frame
 * would make the native reference slower than the guest for no reason of
 * the network's.
 */
static void n_flush(void *dev)
{
	struct ndev *d = dev;
	struct mmsghdr m[BATCH];
	struct iovec v[BATCH];
	unsigned done = 0;

	for (unsigned i = 0; i < d->nq; i++) {
		v[i] = (struct iovec){ d->q[i], d->qlen[i] };
		m[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &v[i], .msg_iovlen = 1 } };
	}
	while (done < d->nq) {
		int r = sendmmsg(d->fd, m + done, d->nq - done, 0);

		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			d->send_dropped += d->nq - done; /* a full qdisc: dropped, as a full port would */
			break;
		}
		done += (unsigned)r;
	}
	d->nq = 0;
}

static int n_send(void *dev, const uint8_t *frame, size_t len)
{
	struct ndev *d = dev;

	if (d->nq == BATCH)
		n_flush(d);
	memcpy(d->q[d->nq], frame, len);
	d->qlen[d->nq++] = (uint16_t)len;
	return 0;
}

static unsigned n_poll(void *dev, struct net_stack *s, unsigned max)
{
	struct ndev *d = dev;
	static uint8_t buf[NET_FRAME_MAX + 4];
	unsigned n = 0;

	while (n < max) {
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t r = recvfrom(d->fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);

		if (r < 0)
			break;
		if (from.sll_pkttype == PACKET_OUTGOING) {
			d->rx_dropped_out++;
			continue;
		}
		net_input(s, buf, (size_t)r);
		n++;
	}
	return n;
}

static void n_wait(void *dev, uint64_t ns)
{
	struct ndev *d = dev;
	struct pollfd p = { .fd = d->fd, .events = POLLIN };
	struct timespec ts = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) };

	ppoll(&p, 1, &ts, NULL);
}

static uint64_t n_now(void *dev)
{
	struct timespec ts;

	(void)dev;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static const struct net_dev_ops ndev_ops = {
	.send = n_send, .flush = n_flush, .poll = n_poll, .wait = n_wait, .now_ns = n_now,
};

/* A raw socket bound to ifname, its MAC in mac: the descriptor, or -1 (printed why). */
static int open_if(const char *ifname, uint8_t mac[6])
{
	struct sockaddr_ll a = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	struct ifreq ifr;
	int fd, one = 1, big = 8 << 20;

	if (strlen(ifname) >= IFNAMSIZ) {
		fprintf(stderr, "xenith-net: interface name '%s' longer than %d characters\n", ifname, IFNAMSIZ - 1);
		return -1;
	}
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (fd < 0) {
		fprintf(stderr, "xenith-net: AF_PACKET socket: %s (needs CAP_NET_RAW: run as root)\n", strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, ifname, strlen(ifname));
	if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
		fprintf(stderr, "xenith-net: interface '%s': %s\n", ifname, strerror(errno));
		goto fail;
	}
	a.sll_ifindex = ifr.ifr_ifindex;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0 || ifr.ifr_hwaddr.sa_family != 1 /* ARPHRD_ETHER */) {
		fprintf(stderr, "xenith-net: interface '%s' is not an Ethernet interface\n", ifname);
		goto fail;
	}
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		fprintf(stderr, "xenith-net: bind to '%s': %s\n", ifname, strerror(errno));
		goto fail;
	}
	/* Our own frames are not for us (Linux 4.20+; older kernels: n_poll skips them). */
	setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	/* A sink flat out needs more than the default buffer; FORCE (root) passes rmem_max. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	return fd;
fail:
	close(fd);
	return -1;
}

#define U(x) ((unsigned long long)(x))

static void print_stack(const struct net_stack *s)
{
	const struct net_stack_stats *t = &s->st;

	printf(",\"stack\":{\"rx_frames\":%llu,\"rx_bytes\":%llu,\"tx_frames\":%llu,\"tx_bytes\":%llu,"
	       "\"rx_not_for_us\":%llu,\"rx_udp\":%llu,\"rx_udp_bad\":%llu,\"rx_udp_no_port\":%llu,"
	       "\"rx_icmp_echo\":%llu,\"rx_ip_bad\":%llu,\"rx_ip_fragment\":%llu,\"tx_full\":%llu}}\n",
	       U(t->rx_frames), U(t->rx_bytes), U(t->tx_frames), U(t->tx_bytes), U(t->rx_not_for_us), U(t->rx_udp),
	       U(t->rx_udp_bad), U(t->rx_udp_no_port), U(t->rx_icmp_echo), U(t->rx_ip_bad), U(t->rx_ip_fragment),
	       U(t->tx_full));
}

static void usage(FILE *f)
{
	fprintf(f, "usage: xenith-net IFNAME|KIND:NAME sink|blast|echo [OPTS]\n\n"
		   "Runs the guest's network programs (net/apps.c) natively on IFNAME through an\n"
		   "AF_PACKET socket, or on a network port KIND:NAME (kinds: %s) through the\n"
		   "port code a vif's backend uses (tap:NAME: xenith-net is where the guest would\n"
		   "be, the tap's host side is the wire; frames go out 32 per burst, as the\n"
		   "guest's), with the guest's own stack answering ARP and ping for ip=.\n"
		   "  sink   [port=5001] [count=N] [duration=MS] [idle=MS]\n"
		   "  blast  dst=IP:PORT [size=64..1514] count=N|duration=MS [rate=PPS] [src=PORT]\n"
		   "  echo   [port=7]                 (a server), or\n"
		   "  echo   dst=IP:PORT count=N [size=..] [timeout=MS]   (the client)\n"
		   "OPTS: " NET_OPTS_HELP "\n(vif= and queues= are the guest's; ignored here.  hold=1: after the program's\n"
		   "figures, keep the port open, idle, until SIGTERM or SIGINT)\n",
		net_port_kinds());
}

int main(int argc, char **argv)
{
	struct net_opts o;
	struct net_stack *s;
	struct ndev *d = NULL;
	struct net_portdev *pd = NULL;
	struct net_port *port = NULL;
	const struct net_dev_ops *ops;
	void *dev;
	char args[1024] = "", ip[16];
	const char *prog, *bad;
	uint8_t mac[6];
	size_t len, used = 0;
	int err = 0;
	bool oom = false;

	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc < 3 || (strcmp(argv[2], "sink") && strcmp(argv[2], "blast") && strcmp(argv[2], "echo"))) {
		usage(stderr);
		return 2;
	}
	prog = argv[2];
	for (int i = 3; i < argc; i++) {
		size_t l = strlen(argv[i]);

		if (used + l + 2 > sizeof(args)) {
			fprintf(stderr, "xenith-net: options longer than %zu bytes\n", sizeof(args) - 1);
			return 2;
		}
		memcpy(args + used, argv[i], l);
		used += l;
		args[used++] = ' ';
		args[used] = 0;
	}
	net_opts_default(&o, !strcmp(prog, "echo") ? 7 : 5001);
	if (!net_opts_parse(args, &o, &bad, &len)) {
		if (!len)
			fprintf(stderr, "xenith-net: '%s': options are key=value\n", bad);
		else
			fprintf(stderr, "xenith-net: bad option '%.*s' (" NET_OPTS_HELP ")\n", (int)len, bad);
		return 2;
	}
	if (!strcmp(prog, "blast") && (!o.has_dst || (!o.count && !o.duration_ms))) {
		fprintf(stderr, "xenith-net: blast needs dst=A.B.C.D:PORT and count=N or duration=MS\n");
		return 2;
	}
	if (!strcmp(prog, "echo") && o.has_dst && !o.count) {
		fprintf(stderr, "xenith-net: the echo client (dst=) needs count=N\n");
		return 2;
	}
	if (strchr(argv[1], ':')) {
		char msg[512];
		int r;

		pd = calloc(1, sizeof(*pd));
		if (!pd)
			return 3;
		r = net_port_open(argv[1], 1, &port, msg, sizeof(msg));
		if (r < 0) {
			fprintf(stderr, "xenith-net: %s\n", msg);
			free(pd);
			return 3;
		}
		net_portdev_init(pd, port);
		/* Locally administered, "XN", and the process id: two programs on a host differ. */
		mac[0] = 0x02, mac[1] = 0x58, mac[2] = 0x4e;
		mac[3] = (uint8_t)(getpid() >> 16), mac[4] = (uint8_t)(getpid() >> 8), mac[5] = (uint8_t)getpid();
		ops = &net_portdev_ops;
		dev = pd;
	} else {
		d = calloc(1, sizeof(*d));
		if (!d)
			return 3;
		d->fd = open_if(argv[1], mac);
		if (d->fd < 0) {
			free(d);
			return 3;
		}
		ops = &ndev_ops;
		dev = d;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	s = calloc(1, sizeof(*s));
	if (!s) {
		oom = true;
		goto close_dev;
	}
	net_stack_init(s, ops, dev, o.has_mac ? o.mac : mac, o.ip, o.prefix, o.gw);
	net_format_ip(o.ip, ip);
	printf("xenith-net: ready if=%s mac=%02x:%02x:%02x:%02x:%02x:%02x ip=%s/%u port=%u\n", argv[1], s->mac[0],
	       s->mac[1], s->mac[2], s->mac[3], s->mac[4], s->mac[5], ip, o.prefix, o.port);
	fflush(stdout);
	if (!strcmp(prog, "sink")) {
		struct net_sink k;

		net_sink_init(&k, s, o.port);
		net_sink_run(s, &k, o.count, o.duration_ms * 1000000ull, o.idle_ms * 1000000ull, stopped, NULL);
		printf("net-json: {\"program\":\"sink\",\"native\":true,\"port\":%u,\"packets\":%llu,\"bytes\":%llu,"
		       "\"lost\":%llu,\"reordered\":%llu,\"duplicates\":%llu,\"bad\":%llu,\"elapsed_ns\":%llu",
		       o.port, U(k.packets), U(k.bytes), U(k.lost), U(k.reordered), U(k.duplicates), U(k.bad),
		       U(k.packets ? k.last_ns - k.first_ns : 0));
	} else if (!strcmp(prog, "blast")) {
		struct net_blast_opts bo = { .dst_ip = o.dst_ip, .dst_port = o.dst_port, .src_port = o.src_port,
					     .frame_size = o.size, .count = o.count, .rate_pps = o.rate,
					     .duration_ns = o.duration_ms * 1000000ull, .stop = stopped };
		struct net_blast_result r;

		err = net_blast(s, &bo, &r);
		if (err == -NET_EAGAIN)
			fprintf(stderr, "xenith-net: no ARP reply from the destination's next hop within 5 s\n");
		printf("net-json: {\"program\":\"blast\",\"native\":true,\"error\":%d,\"size\":%u,\"rate\":%llu,"
		       "\"sent\":%llu,\"bytes\":%llu,\"full_retries\":%llu,\"elapsed_ns\":%llu,\"stopped\":%s",
		       err, o.size, U(o.rate), U(r.sent), U(r.bytes), U(r.full_retries), U(r.elapsed_ns),
		       r.stopped ? "true" : "false");
	} else if (!o.has_dst) {
		struct net_echo_server e;

		net_echo_serve(s, &e, o.port, o.count, stopped, NULL);
		printf("net-json: {\"program\":\"echo-server\",\"native\":true,\"port\":%u,\"echoed\":%llu,"
		       "\"failed\":%llu", o.port, U(e.echoed), U(e.failed));
	} else {
		struct net_echo_opts eo = { .dst_ip = o.dst_ip, .dst_port = o.dst_port, .src_port = o.src_port,
					    .frame_size = o.size, .count = o.count,
					    .timeout_ns = o.timeout_ms * 1000000ull, .stop = stopped };
		struct net_echo_result *r = calloc(1, sizeof(*r));

		if (!r) {
			free(s);
			oom = true;
			goto close_dev;
		}
		err = net_echo_client(s, &eo, r);
		if (err == -NET_EAGAIN)
			fprintf(stderr, "xenith-net: no ARP reply from the destination's next hop within 5 s\n");
		printf("net-json: {\"program\":\"echo\",\"native\":true,\"error\":%d,\"size\":%u,\"sent\":%llu,"
		       "\"received\":%llu,\"timeouts\":%llu,\"min_ns\":%llu,\"p50_ns\":%llu,\"p90_ns\":%llu,"
		       "\"p99_ns\":%llu,\"max_ns\":%llu,\"stopped\":%s",
		       err, o.size, U(r->sent), U(r->received), U(r->timeouts), U(r->lat.min_ns),
		       U(net_latency_percentile(&r->lat, 50)), U(net_latency_percentile(&r->lat, 90)),
		       U(net_latency_percentile(&r->lat, 99)), U(r->lat.max_ns), r->stopped ? "true" : "false");
		free(r);
	}
	ops->flush(dev);
	if (pd)
		printf(",\"send_dropped\":%llu,\"port\":{\"spec\":\"%s\",\"sent\":%llu,\"bursts\":%llu,"
		       "\"received\":%llu,\"send_error\":%d}", U(pd->send_dropped), argv[1], U(pd->sent), U(pd->bursts),
		       U(pd->received), pd->send_error);
	else
		printf(",\"send_dropped\":%lu", d->send_dropped);
	print_stack(s);
	free(s);
	/*
	 * hold=1: the port stays open, with no I/O on it, until SIGTERM or
	 * SIGINT.  For a net_memif pair: the side that holds is never in a
	 * burst when its peer goes away (DPDK 22.11's memif PMD unmaps the
	 * shared regions from its interrupt thread while a burst may run).
	 */
	if (o.hold) {
		fflush(stdout);
		while (!stop_flag)
			nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
	}
close_dev:
	if (pd) {
		port->ops->close(port);
		free(pd);
	} else {
		close(d->fd);
		free(d);
	}
	if (oom)
		return 3;
	return err == -NET_EAGAIN ? 4 : err < 0 ? 2 : 0;
}
