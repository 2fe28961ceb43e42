// SPDX-License-Identifier: MIT
/*
 * Unit tests of the tap port (io/port_tap.h) in a network namespace of the
 * test's own (unshare(CLONE_NEWNET)): frames both ways between the port and
 * an AF_PACKET socket on the interface, multi-queue, attach, a bridge, a
 * move into a named namespace, and errors that say what to do.  Needs root
 * and /dev/net/tun: without them each case is a visible skip.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "port_tap.h"
#include "skip.h"

#define ETHERTYPE_TEST 0x88b5 /* IEEE 802 local experimental: nothing else sends it */
#define WAIT_MS 10000         /* generous: a loaded 2-CPU host */

static char skip_reason[160];
static char netns_name[32];

static int group_setup(void **state)
{
	(void)state;
	if (geteuid() != 0)
		snprintf(skip_reason, sizeof(skip_reason), "needs root (taps, namespaces)");
	else if (access("/dev/net/tun", R_OK | W_OK) < 0)
		snprintf(skip_reason, sizeof(skip_reason), "/dev/net/tun: %s", strerror(errno));
	else if (unshare(CLONE_NEWNET) < 0)
		snprintf(skip_reason, sizeof(skip_reason), "unshare(CLONE_NEWNET): %s", strerror(errno));
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (netns_name[0]) {
		char cmd[96];

		snprintf(cmd, sizeof(cmd), "ip netns del %s 2>/dev/null", netns_name);
		if (system(cmd) != 0) {
			/* gone already */
		}
	}
	return 0;
}

#define NEED_TAP() do { if (skip_reason[0]) SKIP_BECAUSE(skip_reason); } while (0)

static void name(char *buf, size_t size, const char *what)
{
	snprintf(buf, size, "xnt%s%d", what, (int)(getpid() % 100000));
}

/* The first line of a command's output (or "" when it printed nothing); its exit status. */
static int run_out(char *out, size_t size, const char *fmt, ...)
{
	char cmd[256];
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	out[0] = 0;
	f = popen(cmd, "r");
	assert_non_null(f);
	if (!fgets(out, (int)size, f))
		out[0] = 0;
	return pclose(f);
}

static void close_ports(struct net_port **p, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (p[i])
			p[i]->ops->close(p[i]);
}

static int packet_socket(unsigned ifindex)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETHERTYPE_TEST),
				   .sll_ifindex = (int)ifindex };
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETHERTYPE_TEST));

	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sll, sizeof(sll)), 0);
	return s;
}

static size_t test_frame(uint8_t *f, uint8_t tag, size_t len)
{
	memset(f, 0xff, 6);                                  /* broadcast */
	memcpy(f + 6, (uint8_t[]){ 0x02, 0, 0, 0, 0, 1 }, 6); /* locally administered */
	f[12] = ETHERTYPE_TEST >> 8;
	f[13] = ETHERTYPE_TEST & 0xff;
	for (size_t i = 14; i < len; i++)
		f[i] = (uint8_t)(tag + i);
	return len;
}

/* Receives from the port until a frame of our ethertype arrives (IPv6 chatter is skipped). */
static int recv_test_frame(struct net_port *p, uint8_t *buf, size_t cap)
{
	for (int waited = 0; waited < WAIT_MS;) {
		struct net_frame fr[4];
		uint8_t store[4][2048];
		struct pollfd pfd = { .fd = p->ops->rx_fd(p), .events = POLLIN };
		int n;

		for (unsigned i = 0; i < 4; i++)
			fr[i] = (struct net_frame){ .data = store[i], .cap = sizeof(store[i]) };
		n = p->ops->recv(p, fr, 4);
		assert_true(n >= 0);
		for (int i = 0; i < n; i++) {
			if (fr[i].len >= 14 && fr[i].data[12] == ETHERTYPE_TEST >> 8 &&
			    fr[i].data[13] == (ETHERTYPE_TEST & 0xff)) {
				assert_true(fr[i].len <= cap);
				memcpy(buf, fr[i].data, fr[i].len);
				return fr[i].len;
			}
		}
		if (n == 0) {
			assert_true(poll(&pfd, 1, 100) >= 0);
			waited += 100;
		}
	}
	return -1;
}

static void test_tap_carries_frames_both_ways_and_counts_them(void **state)
{
	char ifname[16], stats[256];
	struct net_port *p[1] = { 0 };
	struct port_tap_config cfg = { .ifname = ifname, .queues = 1 };
	uint8_t out[1514], in[2048];
	char msg[256] = "";
	struct pollfd pfd;
	ssize_t n;
	int s;

	(void)state;
	NEED_TAP();
	name(ifname, sizeof(ifname), "a");
	assert_int_equal(port_tap_open(&cfg, p, msg, sizeof(msg)), 0);
	assert_string_equal(p[0]->ops->kind, "tap");
	assert_true(port_tap_ifindex(p[0]) == if_nametoindex(ifname));
	assert_true(p[0]->ops->rx_fd(p[0]) >= 0);
	s = packet_socket(port_tap_ifindex(p[0]));

	/* Guest to host: a full-size frame written to the port arrives on the interface whole. */
	test_frame(out, 7, sizeof(out));
	assert_int_equal(p[0]->ops->send(p[0], &(struct net_frame){ .data = out, .len = sizeof(out) }, 1), 1);
	pfd = (struct pollfd){ .fd = s, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, WAIT_MS), 1);
	n = recv(s, in, sizeof(in), 0);
	assert_int_equal(n, sizeof(out));
	assert_memory_equal(in, out, sizeof(out));

	/* Host to guest: a frame sent on the interface comes out of the port. */
	test_frame(out, 42, 60);
	assert_int_equal(send(s, out, 60, 0), 60);
	assert_int_equal(recv_test_frame(p[0], in, sizeof(in)), 60);
	assert_memory_equal(in, out, 60);

	assert_true(p[0]->ops->stats_json(p[0], stats, sizeof(stats)) > 0);
	assert_non_null(strstr(stats, "\"sent\":1,"));
	assert_non_null(strstr(stats, "\"ifname\":\"xnta"));
	assert_int_equal(p[0]->ops->stats_json(p[0], stats, 8), -1);
	close(s);
	close_ports(p, 1);
	assert_int_equal(if_nametoindex(ifname), 0); /* it created the tap: gone with its last queue */
}

static void test_multi_queue_tap_and_attaching_an_existing_one(void **state)
{
	char ifname[16], msg[256] = "", out[1024];
	struct net_port *p[2] = { 0 }, *again[1] = { 0 };
	struct port_tap_config cfg = { .ifname = ifname, .queues = 2 };

	(void)state;
	NEED_TAP();
	name(ifname, sizeof(ifname), "m");
	assert_int_equal(port_tap_open(&cfg, p, msg, sizeof(msg)), 0);
	assert_true(p[0]->ops->rx_fd(p[0]) != p[1]->ops->rx_fd(p[1]));
	assert_int_equal(run_out(out, sizeof(out), "ip -d -o link show %s", ifname), 0);
	/* the kernel answers for the flags: a multi-queue tap, up, queue 1 detached until a frontend connects it */
	assert_non_null(strstr(out, "multi_queue numqueues 1 numdisabled 1"));
	assert_non_null(strstr(out, ",UP"));
	assert_int_equal(port_tap_set_queue_attached(p[1], true), 0);
	assert_int_equal(run_out(out, sizeof(out), "ip -d -o link show %s", ifname), 0);
	assert_non_null(strstr(out, "multi_queue numqueues 2 numdisabled 0"));
	assert_int_equal(port_tap_set_queue_attached(p[1], false), 0);
	assert_int_equal(port_tap_set_queue_attached(p[0], false), 0); /* queue 0 stays: no-op */
	assert_int_equal(run_out(out, sizeof(out), "ip -d -o link show %s", ifname), 0);
	assert_non_null(strstr(out, "multi_queue numqueues 1 numdisabled 1"));
	close_ports(p, 2);

	/* A persistent single-queue tap made beforehand: attached, and still there after close. */
	assert_int_equal(run_out(out, sizeof(out), "ip tuntap add %s mode tap", ifname), 0);
	cfg.queues = 1;
	assert_int_equal(port_tap_open(&cfg, again, msg, sizeof(msg)), 0);
	memset(p, 0, sizeof(p));
	/* A second opener of a single-queue tap is refused with the reason. */
	assert_int_equal(port_tap_open(&cfg, p, msg, sizeof(msg)), -EBUSY);
	assert_non_null(strstr(msg, "another process has the tap open"));
	assert_null(p[0]);
	/* Asking multi-queue of a single-queue tap names the mismatch. */
	cfg.queues = 2;
	close_ports(again, 1);
	assert_int_equal(port_tap_open(&cfg, p, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "IFF_MULTI_QUEUE"));
	assert_non_null(strstr(msg, "multi_queue"));
	assert_true(if_nametoindex(ifname) != 0);
	assert_int_equal(run_out(out, sizeof(out), "ip tuntap del %s mode tap", ifname), 0);
}

static void test_tap_joins_a_bridge(void **state)
{
	char ifname[16], br[16], msg[256] = "", out[256], want[32];
	struct net_port *p[1] = { 0 };
	struct port_tap_config cfg = { .ifname = ifname, .queues = 1, .bridge = br };

	(void)state;
	NEED_TAP();
	name(ifname, sizeof(ifname), "b");
	name(br, sizeof(br), "br");
	/* No such bridge: refused, saying how to make one, and the tap is not left behind. */
	assert_int_equal(port_tap_open(&cfg, p, msg, sizeof(msg)), -ENODEV);
	assert_non_null(strstr(msg, "no such bridge"));
	assert_int_equal(if_nametoindex(ifname), 0);

	assert_int_equal(run_out(out, sizeof(out), "ip link add %s type bridge", br), 0);
	assert_int_equal(port_tap_open(&cfg, p, msg, sizeof(msg)), 0);
	assert_int_equal(run_out(out, sizeof(out), "ip -o link show %s", ifname), 0);
	snprintf(want, sizeof(want), "master %s", br);
	assert_non_null(strstr(out, want));
	close_ports(p, 1);
	assert_int_equal(run_out(out, sizeof(out), "ip link del %s", br), 0);
}

static void test_tap_moves_into_a_named_netns_and_is_up_there(void **state)
{
	char ifname[16], msg[256] = "", out[256];
	struct net_port *p[1] = { 0 };
	struct port_tap_config cfg = { .ifname = ifname, .queues = 1, .netns = netns_name };

	(void)state;
	NEED_TAP();
	name(ifname, sizeof(ifname), "n");
	name(netns_name, sizeof(netns_name), "ns");
	/* Missing namespace: refused with the command that makes one. */
	assert_int_equal(port_tap_open(&cfg, p, msg, sizeof(msg)), -ENOENT);
	assert_non_null(strstr(msg, "ip netns add"));
	assert_int_equal(if_nametoindex(ifname), 0);

	assert_int_equal(run_out(out, sizeof(out), "ip netns add %s", netns_name), 0);
	assert_int_equal(port_tap_open(&cfg, p, msg, sizeof(msg)), 0);
	assert_int_equal(if_nametoindex(ifname), 0); /* not here any more */
	assert_int_equal(run_out(out, sizeof(out), "ip -n %s -o link show %s", netns_name, ifname), 0);
	assert_non_null(strstr(out, ",UP"));
	close_ports(p, 1);
	assert_true(run_out(out, sizeof(out), "ip -n %s -o link show %s 2>/dev/null", netns_name, ifname) != 0);
	assert_int_equal(run_out(out, sizeof(out), "ip netns del %s", netns_name), 0);
	netns_name[0] = 0;
}

static void test_bad_arguments_are_refused_with_the_limits(void **state)
{
	char msg[256] = "";
	struct net_port *p[PORT_TAP_MAX_QUEUES + 1] = { 0 };

	(void)state;
	assert_int_equal(port_tap_open(&(struct port_tap_config){ .ifname = "", .queues = 1 }, p, msg,
				       sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "1 to 15 characters"));
	assert_int_equal(port_tap_open(&(struct port_tap_config){ .ifname = "x", .queues = 9 }, p, msg,
				       sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "9 asked"));
	assert_int_equal(port_tap_open(&(struct port_tap_config){ .ifname = "0123456789abcdef", .queues = 1 },
				       p, msg, sizeof(msg)), -EINVAL);
	assert_null(p[0]);
}

/* In a child that became uid/gid 65534 (as `xenith run --user` does): attaches queue 1; its errno, or 0. */
static int attach_as_nobody(struct net_port *q1)
{
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0) {
		if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			_exit(100);
		_exit(-port_tap_set_queue_attached(q1, true));
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/*
 * A VMM started as root switches to `user` before any guest connects: that
 * user must still attach the tap's queues (TUNSETQUEUE needs no
 * capability on a descriptor that was attached to the tap once).
 */
static void test_the_user_a_vmm_becomes_can_attach_the_taps_queues(void **state)
{
	char ifname[16], msg[256] = "", out[1024];
	struct net_port *p[2] = { 0 };
	struct port_tap_config cfg = { .ifname = ifname, .queues = 2 };

	(void)state;
	NEED_TAP();
	name(ifname, sizeof(ifname), "u");
	assert_int_equal(port_tap_open(&cfg, p, msg, sizeof(msg)), 0);
	assert_int_equal(attach_as_nobody(p[1]), 0);
	assert_int_equal(run_out(out, sizeof(out), "ip -d -o link show %s", ifname), 0);
	assert_non_null(strstr(out, "multi_queue numqueues 2 numdisabled 0"));
	close_ports(p, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tap_carries_frames_both_ways_and_counts_them),
		cmocka_unit_test(test_multi_queue_tap_and_attaching_an_existing_one),
		cmocka_unit_test(test_the_user_a_vmm_becomes_can_attach_the_taps_queues),
		cmocka_unit_test(test_tap_joins_a_bridge),
		cmocka_unit_test(test_tap_moves_into_a_named_netns_and_is_up_there),
		cmocka_unit_test(test_bad_arguments_are_refused_with_the_limits),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
