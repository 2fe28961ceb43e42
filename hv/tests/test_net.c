// SPDX-License-Identifier: MIT
/*
 * kvm tier: the network split driver end to end: minios's netfront and
 * stack (guest/net.c programs) against the VMM's netback, through a tap
 * that the VMM creates and moves into a network namespace of the test's
 * own (so test traffic never touches the host's interfaces).  The host
 * side is the real Linux stack in that namespace: `ping`, and UDP sockets
 * the test opens there.  Needs root (taps, namespaces) and iproute2; each
 * case is a visible skip without them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/if_packet.h>
#include <net/if.h>

#include "harness.h"
#include "jsondoc.h"

#define HOST_IP "10.77.0.1"
#define GUEST_IP "10.77.0.2"
#define APP_MAGIC 0x31424e58u /* net/apps.h: NET_APP_MAGIC, "XNB1" */
#define APP_HDR 20u

static struct proc P, P2, Q;
static char netns[32], tap[16];

/* Runs a shell command; its exit status, its output (stdout and stderr) in out. */
static int sh(char *out, size_t size, const char *fmt, ...)
{
	char cmd[512];
	size_t n = 0;
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	strncat(cmd, " 2>&1", sizeof(cmd) - strlen(cmd) - 1);
	f = popen(cmd, "r");
	assert_non_null(f);
	if (out && size) {
		n = fread(out, 1, size - 1, f);
		out[n] = 0;
	} else {
		char sink[256];

		while (fread(sink, 1, sizeof(sink), f) > 0) {
		}
	}
	return pclose(f);
}

static int setup(void **state)
{
	char out[512];

	(void)state;
	if (geteuid() != 0)
		SKIP_BECAUSE("needs root: the VMM creates a tap and moves it into a namespace");
	if (access("/dev/net/tun", R_OK | W_OK) < 0)
		SKIP_BECAUSE("no usable /dev/net/tun (modprobe tun)");
	if (sh(out, sizeof(out), "ip -V") != 0)
		SKIP_BECAUSE("no ip command (iproute2; ci/setup.sh installs it)");
	snprintf(netns, sizeof(netns), "xnet%d", (int)(getpid() % 100000));
	snprintf(tap, sizeof(tap), "xnt%d", (int)(getpid() % 100000));
	if (sh(out, sizeof(out), "ip netns add %s", netns) != 0)
		fail_msg("ip netns add %s: %s", netns, out);
	return 0;
}

static int teardown(void **state)
{
	harness_teardown(state); /* every xenith the test left running: their taps go with them */
	if (netns[0])
		sh(NULL, 0, "ip netns del %s", netns);
	netns[0] = 0;
	return 0;
}

/* Enters the test's namespace for one call (a socket made there stays there), then comes back. */
static int socket_in_netns_of(int family, int type, int proto)
{
	char path[64];
	int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC), ns, s;

	snprintf(path, sizeof(path), "/run/netns/%s", netns);
	ns = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(home >= 0 && ns >= 0);
	assert_int_equal(setns(ns, CLONE_NEWNET), 0);
	s = socket(family, type | SOCK_CLOEXEC, proto);
	assert_int_equal(setns(home, CLONE_NEWNET), 0);
	close(ns);
	close(home);
	assert_true(s >= 0);
	return s;
}

static int socket_in_netns(int type)
{
	return socket_in_netns_of(AF_INET, type, 0);
}

/* Puts cidr on tap ifname in the test's namespace as soon as the VMM p has moved the tap there. */
static void host_addr_when_there(struct proc *p, const char *ifname, const char *cidr)
{
	char out[512];
	double t0 = harness_now_s();

	while (sh(out, sizeof(out), "ip -n %s addr add %s dev %s", netns, cidr, ifname) != 0) {
		if (!proc_alive(p) || harness_now_s() - t0 > 60)
			fail_msg("tap %s never appeared in netns %s (%s); stdout: %s\nstderr: %s", ifname, netns,
				 out, p->out, p->err);
		proc_pump(p, 0.01);
	}
}

/*
 * Starts a domain whose vif 0 is the tap in the test's namespace, running
 * cmdline.  The host's side of the link (an address on the tap) is set as
 * soon as the VMM has moved the tap there, before the guest's stack asks
 * for it (ARP); then waits for the program's "ready".
 */
static void start_domain(const char *name, const char *mode, const char *cmdline)
{
	char vif[160];

	/* mode may carry more fields: "ioeventfd,queues=2" */
	snprintf(vif, sizeof(vif), "mac=00:16:3e:00:77:02,port=tap:%s,netns=%s,mode=%s", tap, netns, mode);
	proc_start(&P, (const char *const[]){ "run", "--name", name, "-m", "32", "--vif", vif, "--cmdline",
					      cmdline, NULL });
	host_addr_when_there(&P, tap, HOST_IP "/24");
	if (!proc_wait_output(&P, ": ready vif=0 mac=00:16:3e:00:77:02", 60))
		fail_msg("%s never said ready; stdout: %s\nstderr: %s", name, P.out, P.err);
}

/* Counters keys[0..n) of device dev ("vif0") from one `xenith devices NAME --json` (-1: not there). */
static void dev_counters(const char *name, const char *dev, const char *const *keys, double *v, unsigned n)
{
	const struct jv *devs, *stats = NULL;
	char err[128];
	struct jv *doc;

	if (RUN(&Q, 20, "devices", name, "--json") != 0)
		fail_msg("xenith devices %s: %s", name, Q.err);
	doc = jv_parse(Q.out, err, sizeof(err));
	if (!doc)
		fail_msg("xenith devices --json is not JSON (%s): %s", err, Q.out);
	devs = jv_get(doc, "devices");
	for (size_t i = 0; devs && i < devs->n; i++)
		if (!strcmp(jv_str(&devs->items[i], "name", ""), dev))
			stats = jv_get(&devs->items[i], "stats");
	for (unsigned i = 0; i < n; i++) {
		const struct jv *k = stats ? jv_get(stats, keys[i]) : NULL;

		v[i] = !k ? -1 : k->type == JV_BOOL ? (double)k->b : k->type == JV_NUM ? k->num : -1;
	}
	jv_free(doc);
}

static void vif_counters(const char *name, const char *const *keys, double *v, unsigned n)
{
	dev_counters(name, "vif0", keys, v, n);
}

static double vif_counter(const char *name, const char *key)
{
	double v;

	vif_counters(name, &key, &v, 1);
	return v;
}

/* The guest's "net-json: {...}" line, parsed (the caller frees it); fails the test if there is none. */
static struct jv *net_json(struct proc *p, double timeout_s)
{
	char why[512];
	struct jv *doc = proc_net_json(p, timeout_s, why, sizeof(why));

	if (!doc)
		fail_msg("%s", why);
	return doc;
}

static void ping_is_answered(const char *mode)
{
	char name[32], out[2048];
	int r;

	snprintf(name, sizeof(name), "t-net-ping-%.*s", (int)strcspn(mode, ","), mode);
	start_domain(name, mode, "net-echo ip=" GUEST_IP "/24");
	r = sh(out, sizeof(out), "ip netns exec %s ping -n -c 3 -i 0.2 -W 10 " GUEST_IP, netns);
	if (r != 0 || !strstr(out, "3 packets transmitted, 3 received"))
		fail_msg("mode=%s: ping " GUEST_IP " from the host (status %d): %s\nguest: %s", mode, r, out, P.out);
	/* Through netback: the echo requests (and ARP) in, the replies out, nothing dropped. */
	assert_true(vif_counter(name, "rx_packets") >= 3);
	assert_true(vif_counter(name, "tx_packets") >= 3);
	assert_true(vif_counter(name, "drop_spoofed_mac") == 0);
	assert_true(vif_counter(name, "drop_bad_request") == 0);
	assert_true(vif_counter(name, "queues_connected") == 1);
	if (!strcmp(mode, "ioeventfd")) {
		char want[160];

		/* The table: the vif's row with its configuration and counters as key=value. */
		assert_int_equal(RUN(&Q, 20, "devices", name), 0);
		snprintf(want, sizeof(want), "\nvif       vif0        connected     vif=0 mac=00:16:3e:00:77:02 "
			 "port=tap:%s mode=ioeventfd doorbell_port=", tap);
		if (!strstr(Q.out, want))
			fail_msg("`xenith devices %s` lacks '%s': %s", name, want + 1, Q.out);
		assert_non_null(strstr(Q.out, " queues=1 queues_connected=1 xenbus_state=4 connects=1 broken=no "));
		assert_non_null(strstr(Q.out, " drop_spoofed_mac=0 "));
	}
	if (strstr(mode, "queues=2")) {
		/* The guest connected one queue: only that one may take the tap's flows (the kernel says so). */
		r = sh(out, sizeof(out), "ip -n %s -d -o link show %s", netns, tap);
		if (r != 0 || !strstr(out, "multi_queue numqueues 1 numdisabled 1"))
			fail_msg("a multi-queue tap with one queue connected: %s", out);
	}
	proc_kill(&P);
	sh(NULL, 0, "ip -n %s link del %s", netns, tap); /* gone with the VMM already; in case not */
}

/*
 * A real ping from the host reaches the guest through the tap and is
 * answered, in every mode; and through a multi-queue tap whose second
 * queue the guest leaves unconnected (the tap must not send it flows).
 */
static void test_a_host_ping_reaches_the_guest_through_tap_and_is_answered(void **state)
{
	(void)state;
	ping_is_answered("ioeventfd");
	ping_is_answered("exit");
	ping_is_answered("poll");
	ping_is_answered("ioeventfd,queues=2");
}

static void app_datagram(uint8_t *p, size_t len, uint64_t seq)
{
	uint32_t magic = APP_MAGIC;
	uint64_t t = 0;

	memset(p, 0, len);
	/* Little-endian on the wire, as net_app_hdr_put writes it (this host is little-endian). */
	memcpy(p, &magic, 4);
	memcpy(p + 4, &seq, 8);
	memcpy(p + 12, &t, 8);
}

/*
 * UDP from a socket on the host reaches the guest's sink, every datagram
 * counted once: sent in windows of 32, each sent once the vif's counters
 * (frames delivered or dropped) show the previous window went through.
 */
static void test_udp_from_a_host_socket_reaches_the_guest_sink_with_matching_counts_full_size_frames_too(void **state)
{
	enum { N = 512, WINDOW = 32 };
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(5001) };
	struct sockaddr_in src = { .sin_family = AF_INET, .sin_port = htons(40001) };
	uint8_t dgram[1472]; /* every other one this long: a 1514-byte frame, the largest */
	struct jv *doc;
	double base;
	int s;

	(void)state;
	start_domain("t-net-sink", "ioeventfd", "net-sink ip=" GUEST_IP "/24 port=5001 count=512 hold=1");
	inet_pton(AF_INET, GUEST_IP, &dst.sin_addr);
	inet_pton(AF_INET, HOST_IP, &src.sin_addr);
	s = socket_in_netns(SOCK_DGRAM);
	assert_int_equal(bind(s, (struct sockaddr *)&src, sizeof(src)), 0);
	base = vif_counter("t-net-sink", "rx_packets");
	for (unsigned seq = 0; seq < N; seq++) {
		size_t len = seq % 2 ? sizeof(dgram) : 200;

		app_datagram(dgram, len, seq);
		assert_int_equal(sendto(s, dgram, len, 0, (struct sockaddr *)&dst, sizeof(dst)), (ssize_t)len);
		if ((seq + 1) % WINDOW)
			continue;
		/* Wait (generously) for the window: delivered frames include ARP, so >= is the test. */
		for (double t0 = harness_now_s();;) {
			static const char *const keys[] = { "rx_packets", "drop_no_rx_buffer" };
			double c[2], done;

			vif_counters("t-net-sink", keys, c, 2);
			done = c[0] - base + c[1];
			if (done >= seq + 1)
				break;
			if (harness_now_s() - t0 > 60)
				fail_msg("after %u datagrams the vif moved only %.0f frames in 60 s", seq + 1, done);
			proc_pump(&P, 0.1); /* a `xenith devices` at most every 100 ms */
		}
	}
	close(s);
	doc = net_json(&P, 60);
	assert_true(jv_num(doc, "packets", -1) == N);
	assert_true(jv_num(doc, "lost", -1) == 0);
	assert_true(jv_num(doc, "duplicates", -1) == 0);
	assert_true(jv_num(doc, "bad", -1) == 0);
	jv_free(doc);
	assert_true(vif_counter("t-net-sink", "drop_no_rx_buffer") == 0);
	assert_true(vif_counter("t-net-sink", "rx_packets") - base >= N);
	proc_kill(&P);
}

/* The guest's blast reaches a socket on the host: every datagram it says it sent, each once. */
static void test_the_guest_blast_reaches_a_host_socket(void **state)
{
	enum { N = 1000 };
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(5002) };
	static uint8_t seen[N];
	unsigned got = 0, bad = 0, dups = 0;
	int s, rcvbuf = 8 << 20;
	struct jv *doc;

	(void)state;
	memset(seen, 0, sizeof(seen));
	/* The host's socket is there before the guest can send. */
	s = socket_in_netns(SOCK_DGRAM);
	assert_int_equal(setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)), 0);
	me.sin_addr.s_addr = htonl(INADDR_ANY);
	assert_int_equal(bind(s, (struct sockaddr *)&me, sizeof(me)), 0);
	start_domain("t-net-blast", "ioeventfd", "net-blast ip=" GUEST_IP "/24 dst=" HOST_IP ":5002 size=256 "
		     "count=1000 rate=20000 hold=1");
	doc = net_json(&P, 120);
	assert_true(jv_num(doc, "error", -1) == 0);
	assert_true(jv_num(doc, "sent", -1) == N);
	jv_free(doc);
	/* Every datagram is in the socket's buffer by now, or on its way: wait for N, with a deadline. */
	for (double t0 = harness_now_s(); got < N && harness_now_s() - t0 < 30;) {
		struct pollfd pfd = { .fd = s, .events = POLLIN };
		uint8_t buf[2048];
		uint64_t seq;
		uint32_t magic;
		ssize_t n;

		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		n = recv(s, buf, sizeof(buf), 0);
		if (n < (ssize_t)APP_HDR) {
			bad++;
			continue;
		}
		memcpy(&magic, buf, 4);
		memcpy(&seq, buf + 4, 8);
		if (magic != APP_MAGIC || seq >= N) {
			bad++;
			continue;
		}
		dups += seen[seq];
		seen[seq] = 1;
		got++;
	}
	close(s);
	if (got != N || bad || dups)
		fail_msg("the host received %u of %u datagrams (%u bad, %u duplicates); vif tx_packets %.0f, "
			 "drop_port_full %.0f", got, N, bad, dups, vif_counter("t-net-blast", "tx_packets"),
			 vif_counter("t-net-blast", "drop_port_full"));
	assert_true(vif_counter("t-net-blast", "tx_packets") >= N);
	proc_kill(&P);
}

/*
 * A guest sending flat out fills its TX ring and sleeps until the backend
 * answers.  netfront asks to be woken when half of what is in flight has
 * come back, so each sleep (a hypercall, tens of microseconds on PVM) buys
 * at least half a ring (128 slots) of sends.  Woken at the first response,
 * as before, it slept once per backend burst (32 packets, measured 23-43
 * sends per sleep).  The bound, 64 sends per sleep, leaves room for the
 * sleeps that end at netfront's 1 ms timeout on a loaded host.
 */
static void test_a_sender_on_a_full_tx_ring_sleeps_once_per_half_ring(void **state)
{
	double sent, waits;
	struct jv *doc;

	(void)state;
	start_domain("t-net-halfring", "ioeventfd", "net-blast ip=" GUEST_IP "/24 dst=" HOST_IP ":5003 size=64 "
		     "count=50000 hold=1");
	doc = net_json(&P, 120);
	assert_true(jv_num(doc, "error", -1) == 0);
	sent = jv_num(doc, "sent", -1);
	waits = jv_num(jv_get(doc, "netfront"), "waits", -1);
	jv_free(doc);
	assert_true(sent == 50000);
	if (waits < 0 || waits * 64 > sent)
		fail_msg("the blast slept %.0f times for %.0f sends (%.1f sends per sleep; at least 64 expected)",
			 waits, sent, waits > 0 ? sent / waits : 0);
	proc_kill(&P);
}

/* The domain's id, from `xenith list`. */
static unsigned domain_id(const char *name)
{
	char want[64];
	const char *row;
	unsigned id = 0;

	assert_int_equal(RUN(&Q, 20, "list"), 0);
	snprintf(want, sizeof(want), "\n%s ", name);
	row = strstr(Q.out, want);
	if (!row || sscanf(row + strlen(want), "%u", &id) != 1)
		fail_msg("no row for %s in `xenith list`: %s", name, Q.out);
	return id;
}

/* Polls dev's counter key (in domain name) until it is at least want; false after timeout_s. */
static bool wait_counter(const char *name, const char *dev, const char *key, double want, double timeout_s)
{
	for (double t0 = harness_now_s();;) {
		double v;

		dev_counters(name, dev, &key, &v, 1);
		if (v >= want)
			return true;
		if (harness_now_s() - t0 > timeout_s)
			return false;
		proc_pump(&P, 0.1);
	}
}

static bool ping_ok(const char *ip, char *out, size_t size)
{
	int r = sh(out, size, "ip netns exec %s ping -n -c 3 -i 0.2 -W 10 %s", netns, ip);

	return r == 0 && strstr(out, "3 packets transmitted, 3 received");
}

/*
 * A hostile netfront (net-hostile, the test image) on vif 0 of domain H
 * gets each bad request refused and counted by reason, frames sent to it
 * with no buffer posted dropped and counted, and its queue stopped when
 * its indices jump; meanwhile H's vif 1 and another domain G answer ping.
 */
static void test_a_hostile_netfront_gets_drops_and_counters_while_good_traffic_goes_on(void **state)
{
	static const char *const keys[] = { "drop_bad_grant", "drop_oversize", "drop_bad_request",
					    "drop_spoofed_mac", "tx_packets", "drop_no_rx_buffer", "broken",
					    "drop_port_full" };
	enum { BAD_GRANT, OVERSIZE, BAD_REQUEST, SPOOFED, TX, NO_RX, BROKEN, PORT_FULL, NR };
	char tap_h0[24], tap_h1[24], tap_g[24], vif_h0[160], vif_h1[160], vif_g[160], path[96], out[2048];
	double c[NR];
	struct jv *doc;
	const char *line;
	char err[128];
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	uint8_t frame[60];
	int ps;

	(void)state;
	snprintf(tap_h0, sizeof(tap_h0), "%sh0", tap);
	snprintf(tap_h1, sizeof(tap_h1), "%sh1", tap);
	snprintf(tap_g, sizeof(tap_g), "%sg", tap);
	/* G: a bystander domain answering ping on its own tap. */
	snprintf(vif_g, sizeof(vif_g), "mac=00:16:3e:00:79:02,port=tap:%s,netns=%s", tap_g, netns);
	proc_start(&P2, (const char *const[]){ "run", "--name", "t-net-bystander", "-m", "32", "--vif", vif_g,
					       "--cmdline", "net-echo ip=10.79.0.2/24", NULL });
	host_addr_when_there(&P2, tap_g, "10.79.0.1/24");
	if (!proc_wait_output(&P2, ": ready vif=0", 60))
		fail_msg("the bystander never said ready: %s\n%s", P2.out, P2.err);
	/* H: vif 0 hostile (no address: frames only), vif 1 good. */
	snprintf(vif_h0, sizeof(vif_h0), "mac=00:16:3e:00:77:10,port=tap:%s,netns=%s,mode=exit", tap_h0, netns);
	snprintf(vif_h1, sizeof(vif_h1), "mac=00:16:3e:00:78:03,port=tap:%s,netns=%s", tap_h1, netns);
	proc_start(&P, (const char *const[]){ "run", "--name", "t-net-hostile", "-m", "32", "--kernel",
					      harness_minios(), "--vif", vif_h0, "--vif", vif_h1, "--cmdline",
					      "net-hostile wait=1 flood=2000 ip1=10.78.0.3/24", NULL });
	host_addr_when_there(&P, tap_h1, "10.78.0.1/24");
	if (!proc_wait_output(&P, "net-hostile: rx unposted, waiting for data/net-hostile-go\n", 120)) {
		bool alive = proc_alive(&P);

		proc_pump(&P, 1); /* what it said last, on stderr too */
		fail_msg("net-hostile did not get to its wait (%s, status %d): %s\nstderr: %s",
			 alive ? "still running" : "ended", P.status, P.out, P.err);
	}

	/* What it sent and what vif 0's backend counted, by reason. */
	line = strstr(P.out, "net-hostile-json: ");
	assert_non_null(line);
	line += strlen("net-hostile-json: ");
	{
		char buf[512];

		snprintf(buf, sizeof(buf), "%.*s", (int)strcspn(line, "\n"), line);
		doc = jv_parse(buf, err, sizeof(err));
		if (!doc)
			fail_msg("net-hostile-json is not JSON (%s): %s", err, buf);
	}
	vif_counters("t-net-hostile", keys, c, NR);
	if (c[BAD_GRANT] < jv_num(doc, "bad_grant", 1e9) || c[OVERSIZE] < jv_num(doc, "oversize", 1e9) ||
	    c[BAD_REQUEST] < jv_num(doc, "bad_request", 1e9) ||
	    c[BAD_REQUEST] > jv_num(doc, "bad_request_max", -1) + jv_num(doc, "rewritten", -1) ||
	    c[SPOOFED] < jv_num(doc, "spoofed_mac", 1e9) || c[TX] < jv_num(doc, "good", 1e9) ||
	    c[PORT_FULL] < jv_num(doc, "flood_dropped", 1e9) || c[BROKEN] != 0)
		fail_msg("vif0's counters (bad_grant %.0f oversize %.0f bad_request %.0f spoofed_mac %.0f "
			 "tx_packets %.0f port_full %.0f broken %.0f) do not show what net-hostile sent: %.*s",
			 c[BAD_GRANT], c[OVERSIZE], c[BAD_REQUEST], c[SPOOFED], c[TX], c[PORT_FULL], c[BROKEN],
			 (int)strcspn(line, "\n"), line);
	/* Every good frame and every flooded one the port took reached the wire: none counted twice. */
	assert_true(c[TX] <= jv_num(doc, "good", 0) + jv_num(doc, "flood_okay", 0) + jv_num(doc, "rewritten", 0));
	jv_free(doc);

	/* Frames to vif 0 while it has no buffer posted: dropped, counted, nothing else harmed. */
	ps = socket_in_netns_of(AF_PACKET, SOCK_RAW, 0); /* send only */
	sll.sll_ifindex = (int)0;
	{
		char idx[64];

		assert_int_equal(sh(idx, sizeof(idx), "ip netns exec %s cat /sys/class/net/%s/ifindex", netns, tap_h0), 0);
		sll.sll_ifindex = atoi(idx);
	}
	sll.sll_protocol = htons(0x88b5);
	memset(frame, 0xff, 6);
	memcpy(frame + 6, (uint8_t[]){ 0x02, 0, 0, 0, 0, 9 }, 6);
	frame[12] = 0x88;
	frame[13] = 0xb5;
	memset(frame + 14, 0x5a, sizeof(frame) - 14);
	for (unsigned i = 0; i < 20; i++)
		assert_int_equal(sendto(ps, frame, sizeof(frame), 0, (struct sockaddr *)&sll, sizeof(sll)),
				 sizeof(frame));
	close(ps);
	if (!wait_counter("t-net-hostile", "vif0", "drop_no_rx_buffer", 20, 60))
		fail_msg("20 frames sent to vif 0 with no buffer posted: drop_no_rx_buffer %.0f",
			 vif_counter("t-net-hostile", "drop_no_rx_buffer"));
	if (!ping_ok("10.79.0.2", out, sizeof(out)))
		fail_msg("the bystander domain stopped answering ping: %s", out);

	/* Then its TX indices jump: that queue stops (broken), the rest goes on. */
	snprintf(path, sizeof(path), "/local/domain/%u/data/net-hostile-go", domain_id("t-net-hostile"));
	assert_int_equal(RUN(&Q, 20, "xenstore-write", "t-net-hostile", path, "1"), 0);
	if (!proc_wait_output(&P, "net-hostile: vif 1 ready", 120))
		fail_msg("net-hostile did not go on to vif 1: %s\n%s", P.out, P.err);
	assert_int_equal(proc_count_lines(&P, "net-hostile: all checks passed"), 1);
	assert_null(strstr(P.out, "WRONG"));
	if (!wait_counter("t-net-hostile", "vif0", "broken", 1, 60))
		fail_msg("vif 0's queue is not broken after its indices jumped");
	if (!ping_ok("10.78.0.3", out, sizeof(out)))
		fail_msg("the hostile domain's good vif 1 does not answer ping: %s\nguest: %s", out, P.out);
	if (!ping_ok("10.79.0.2", out, sizeof(out)))
		fail_msg("the bystander domain stopped answering ping: %s", out);
	assert_true(proc_alive(&P));
	assert_true(proc_alive(&P2));
	/* The good vif and the bystander's dropped nothing for bad requests. */
	{
		static const char *const good_keys[] = { "drop_bad_request", "drop_bad_grant", "drop_spoofed_mac",
							 "broken", "rx_packets" };
		double g[5];

		dev_counters("t-net-hostile", "vif1", good_keys, g, 5);
		assert_true(g[0] == 0 && g[1] == 0 && g[2] == 0 && g[3] == 0 && g[4] >= 3);
		dev_counters("t-net-bystander", "vif0", good_keys, g, 5);
		assert_true(g[0] == 0 && g[1] == 0 && g[2] == 0 && g[3] == 0 && g[4] >= 6);
	}
	proc_kill(&P);
	proc_kill(&P2);
}

/*
 * Reboots rebuild the domain: the vif's tap (created once, with the VMM's
 * privileges) is kept, its backends reopen under the main thread's
 * filter, and its store directories come back, at every build.
 */
static void test_a_vif_survives_reboots_with_its_tap(void **state)
{
	char vif[160], idx0[32], idx1[32], path[96];
	unsigned boots0;

	(void)state;
	snprintf(vif, sizeof(vif), "port=tap:%s,netns=%s,queues=2", tap, netns);
	proc_start(&P, (const char *const[]){ "run", "--name", "t-net-reboot", "-m", "32", "--vif", vif,
					      "--cmdline", "reboot", NULL });
	assert_true(proc_wait_output(&P, "reboot: asking", 60));
	assert_int_equal(sh(idx0, sizeof(idx0), "ip netns exec %s cat /sys/class/net/%s/ifindex", netns, tap), 0);
	boots0 = proc_count(&P, "reboot: asking");
	if (!proc_wait_count(&P, "reboot: asking", boots0 + 20, 120))
		fail_msg("20 more reboots did not come (%u so far, %s): %s", proc_count(&P, "reboot: asking"),
			 proc_alive(&P) ? "running" : "ended", P.err);
	assert_true(proc_alive(&P));
	assert_int_equal(sh(idx1, sizeof(idx1), "ip netns exec %s cat /sys/class/net/%s/ifindex", netns, tap), 0);
	assert_string_equal(idx0, idx1); /* the same tap, not a new one */
	assert_int_equal(RUN(&Q, 20, "devices", "t-net-reboot", "--json"), 0);
	assert_non_null(strstr(Q.out, "\"name\":\"vif0\",\"state\":\"connected\""));
	/* The store is rebuilt with every boot: its vif directory is there whenever a boot is under way. */
	snprintf(path, sizeof(path), "/local/domain/0/backend/vif/%u/0", domain_id("t-net-reboot"));
	for (double t0 = harness_now_s();;) {
		if (RUN(&Q, 20, "xenstore-ls", "t-net-reboot", path) == 0 &&
		    strstr(Q.out, "multi-queue-max-queues = \"2\"") && strstr(Q.out, "state = \"2\""))
			break;
		if (harness_now_s() - t0 > 60)
			fail_msg("no vif directory with its keys in the store of a rebooting domain: %s %s", Q.out,
				 Q.err);
		proc_pump(&P, 0.05);
	}
	proc_kill(&P);
}

/* Poll-mode queues that outnumber the CPUs with the vCPUs are worth a warning, as for disks. */
static void test_poll_mode_queues_beyond_the_cpus_are_warned_about(void **state)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	char vif[96];

	(void)state;
	snprintf(vif, sizeof(vif), "port=pair:warn%d,mode=poll,queues=8", (int)getpid());
	assert_int_equal(RUN(&P, 60, "run", "--name", "t-net-pollwarn", "-m", "32", "--vif", vif), 0);
	if (cpus < 9)
		assert_non_null(strstr(P.err, "xenith: warning: vif mode=poll: 8 backend thread(s) that spin and "
				   "1 vCPU(s) on"));
	else
		assert_null(strstr(P.err, "warning: vif mode=poll"));
	snprintf(vif, sizeof(vif), "port=pair:nowarn%d,mode=ioeventfd,queues=8", (int)getpid());
	assert_int_equal(RUN(&P, 60, "run", "--name", "t-net-pollwarn", "-m", "32", "--vif", vif), 0);
	assert_null(strstr(P.err, "warning: vif mode=poll"));
}

/* A tap that cannot be placed stops the build with the step and what to do; nothing is left behind. */
static void test_a_vif_that_cannot_be_set_up_stops_the_build_saying_why(void **state)
{
	char vif[128];

	(void)state;
	snprintf(vif, sizeof(vif), "port=tap:%s,bridge=nosuchbr%d", tap, (int)(getpid() % 1000));
	assert_int_equal(RUN(&P, 60, "run", "--name", "t-net-nobridge", "-m", "32", "--vif", vif), 65);
	assert_non_null(strstr(P.err, "vif 0: tap:"));
	assert_non_null(strstr(P.err, "no such bridge: ip link add BR type bridge"));
	assert_int_equal(if_nametoindex(tap), 0);
	snprintf(vif, sizeof(vif), "port=tap:%s,netns=nosuchns%d", tap, (int)(getpid() % 1000));
	assert_int_equal(RUN(&P, 60, "run", "--name", "t-net-nonetns", "-m", "32", "--vif", vif), 65);
	assert_non_null(strstr(P.err, "make it with: ip netns add NAME"));
	assert_int_equal(if_nametoindex(tap), 0);
	/* A bad field is a usage error (64) naming it. */
	assert_int_equal(RUN(&P, 60, "run", "--name", "t-net-badvif", "--vif", "port=tap:x,mode=fast"), 64);
	assert_non_null(strstr(P.err, "vif: mode=fast: must be exit, ioeventfd or poll"));
}

/* Confined as far as it goes (jail, another user, seccomp): the tap made as root still carries traffic. */
static void test_a_jailed_vmm_under_another_user_serves_its_vif(void **state)
{
	char vif[160], out[2048];

	(void)state;
	snprintf(vif, sizeof(vif), "mac=00:16:3e:00:77:02,port=tap:%s,netns=%s", tap, netns);
	proc_start(&P, (const char *const[]){ "run", "--name", "t-net-jail", "-m", "32", "--jail", "--user",
					      "65534:65534", "--vif", vif, "--cmdline", "net-echo ip=" GUEST_IP "/24",
					      NULL });
	host_addr_when_there(&P, tap, HOST_IP "/24");
	if (!proc_wait_output(&P, ": ready vif=0", 60))
		fail_msg("never ready: %s\n%s", P.out, P.err);
	if (!ping_ok(GUEST_IP, out, sizeof(out)))
		fail_msg("ping through a jailed VMM's tap: %s\nguest: %s\n%s", out, P.out, P.err);
	assert_true(proc_alive(&P));
	proc_kill(&P);
}

/*
 * A guest that connects both queues of a two-queue tap gets flows on both:
 * UDP from 16 source ports (the tap spreads flows by hash) all reach the
 * sink, and each queue's backend delivered some of them.
 */
static void test_a_two_queue_tap_spreads_flows_over_both_connected_queues(void **state)
{
	enum { N = 256, FLOWS = 16, WINDOW = 32 };
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(5001) };
	int s[FLOWS];
	uint8_t dgram[120];
	char out[1024];
	struct jv *doc;
	double base;

	(void)state;
	start_domain("t-net-mq", "ioeventfd,queues=2",
		     "net-sink ip=" GUEST_IP "/24 port=5001 count=256 hold=1 queues=2");
	assert_int_equal(sh(out, sizeof(out), "ip -n %s -d -o link show %s", netns, tap), 0);
	if (!strstr(out, "multi_queue numqueues 2 numdisabled 0"))
		fail_msg("both queues connected, both attached: %s", out);
	assert_true(vif_counter("t-net-mq", "queues_connected") == 2);
	inet_pton(AF_INET, GUEST_IP, &dst.sin_addr);
	for (unsigned f = 0; f < FLOWS; f++) {
		struct sockaddr_in src = { .sin_family = AF_INET, .sin_port = htons((uint16_t)(41000 + f)) };

		inet_pton(AF_INET, HOST_IP, &src.sin_addr);
		s[f] = socket_in_netns(SOCK_DGRAM);
		assert_int_equal(bind(s[f], (struct sockaddr *)&src, sizeof(src)), 0);
	}
	base = vif_counter("t-net-mq", "rx_packets");
	for (unsigned seq = 0; seq < N; seq++) {
		app_datagram(dgram, sizeof(dgram), seq);
		assert_int_equal(sendto(s[seq % FLOWS], dgram, sizeof(dgram), 0, (struct sockaddr *)&dst, sizeof(dst)),
				 sizeof(dgram));
		if ((seq + 1) % WINDOW)
			continue;
		for (double t0 = harness_now_s();;) {
			static const char *const keys[] = { "rx_packets", "drop_no_rx_buffer" };
			double c[2];

			vif_counters("t-net-mq", keys, c, 2);
			if (c[0] - base + c[1] >= seq + 1)
				break;
			if (harness_now_s() - t0 > 60)
				fail_msg("after %u datagrams the vif moved only %.0f frames in 60 s", seq + 1,
					 c[0] - base + c[1]);
			proc_pump(&P, 0.1);
		}
	}
	for (unsigned f = 0; f < FLOWS; f++)
		close(s[f]);
	doc = net_json(&P, 60);
	assert_true(jv_num(doc, "packets", -1) == N);
	assert_true(jv_num(doc, "duplicates", -1) == 0);
	jv_free(doc);
	/* Both queues carried some of the flows (16 flows all hashed to one queue: 2 in 65536). */
	assert_int_equal(RUN(&Q, 20, "devices", "t-net-mq", "--json"), 0);
	{
		char err[128];
		struct jv *d = jv_parse(Q.out, err, sizeof(err));
		const struct jv *devs = d ? jv_get(d, "devices") : NULL, *pq = NULL;

		assert_non_null(devs);
		for (size_t i = 0; i < devs->n; i++)
			if (!strcmp(jv_str(&devs->items[i], "name", ""), "vif0"))
				pq = jv_get(jv_get(&devs->items[i], "stats"), "per_queue");
		assert_non_null(pq);
		assert_int_equal(pq->n, 2);
		if (!(jv_num(&pq->items[0], "rx_packets", 0) > 0 && jv_num(&pq->items[1], "rx_packets", 0) > 0))
			fail_msg("one queue carried every flow: %s", Q.out);
		jv_free(d);
	}
	proc_kill(&P);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_a_host_ping_reaches_the_guest_through_tap_and_is_answered,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_from_a_host_socket_reaches_the_guest_sink_with_matching_counts_full_size_frames_too,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_the_guest_blast_reaches_a_host_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_sender_on_a_full_tx_ring_sleeps_once_per_half_ring, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_a_two_queue_tap_spreads_flows_over_both_connected_queues, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_a_hostile_netfront_gets_drops_and_counters_while_good_traffic_goes_on,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_vif_survives_reboots_with_its_tap, setup, teardown),
		cmocka_unit_test_teardown(test_poll_mode_queues_beyond_the_cpus_are_warned_about, harness_teardown),
		cmocka_unit_test_setup_teardown(test_a_vif_that_cannot_be_set_up_stops_the_build_saying_why, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_a_jailed_vmm_under_another_user_serves_its_vif, setup, teardown),
	};

	harness_require_kvm();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
