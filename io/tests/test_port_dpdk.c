// SPDX-License-Identifier: MIT
/*
 * Unit tests of the DPDK port (io/port_dpdk.h): a failed EAL start names
 * its arguments and reason (in a child process: the EAL starts once per
 * process), frames through net_af_packet over a veth pair both ways (in a
 * network namespace of the test's own), a burst larger than net_ring's
 * ring, each driver of the build probing, and open's errors.  Needs root
 * (veth, af_packet, tap) and a build with DPDK: without them each case is
 * a visible skip.  The first case must run before any other opens a port.
 */
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "port_dpdk.h"
#include "skip.h"

#define ETHERTYPE_TEST 0x88b5 /* IEEE 802 local experimental: nothing else sends it */
#define WAIT_S 10.0           /* generous: a loaded 2-CPU host */

static char skip_reason[320];
static char veth_a[16], veth_b[16];

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int sh(const char *fmt, ...)
{
	char cmd[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	strncat(cmd, " >/dev/null 2>&1", sizeof(cmd) - strlen(cmd) - 1);
	return system(cmd);
}

static int group_setup(void **state)
{
	char msg[256];
	struct net_port *p;

	(void)state;
	if (!port_dpdk_available()) {
		port_dpdk_open("net_ring0", 1, &p, msg, sizeof(msg));
		snprintf(skip_reason, sizeof(skip_reason), "%s", msg);
	} else if (geteuid() != 0) {
		snprintf(skip_reason, sizeof(skip_reason), "needs root (veth, af_packet, tap)");
	} else if (unshare(CLONE_NEWNET) < 0) {
		snprintf(skip_reason, sizeof(skip_reason), "unshare(CLONE_NEWNET): %s", strerror(errno));
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (veth_a[0])
		sh("ip link del %s", veth_a); /* the namespace goes with the process anyway */
	return 0;
}

#define NEED_DPDK() do { if (skip_reason[0]) SKIP_BECAUSE(skip_reason); } while (0)

static size_t test_frame(uint8_t *f, uint32_t seq, size_t len)
{
	memset(f, 0xff, 6);
	memcpy(f + 6, (uint8_t[]){ 0x02, 0, 0, 0, 0, 1 }, 6);
	f[12] = ETHERTYPE_TEST >> 8;
	f[13] = ETHERTYPE_TEST & 0xff;
	memcpy(f + 14, &seq, 4);
	for (size_t i = 18; i < len; i++)
		f[i] = (uint8_t)(seq + i);
	return len;
}

/* The sequence number of a test frame of length len with the right contents, or -1. */
static long frame_seq(const struct net_frame *fr, size_t len)
{
	uint8_t want[2048];
	uint32_t seq;

	if (fr->len != len || fr->data[12] != ETHERTYPE_TEST >> 8 || fr->data[13] != (ETHERTYPE_TEST & 0xff))
		return -1;
	memcpy(&seq, fr->data + 14, 4);
	test_frame(want, seq, len);
	return memcmp(want, fr->data, len) ? -1 : (long)seq;
}

static void close_ports(struct net_port **p, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (p[i])
			p[i]->ops->close(p[i]);
}

/* The number after "\"key\":" in p's stats; -1 when there is none. */
static long long stat_of(struct net_port *p, const char *key)
{
	char buf[1024], want[64];
	const char *at;

	assert_true(p->ops->stats_json(p, buf, sizeof(buf)) > 0);
	snprintf(want, sizeof(want), "\"%s\":", key);
	at = strstr(buf, want);
	return at ? strtoll(at + strlen(want), NULL, 10) : -1;
}

/*
 * In a child (one EAL per process): extra arguments the EAL refuses make
 * the open fail with the arguments used, the reason and what to do, and a
 * second open says the same without trying again.
 */
static void test_a_failed_eal_start_names_its_arguments_and_reason_and_is_reported_again(void **state)
{
	char msg[2][1024] = { "", "" };
	int fds[2], status;
	pid_t pid;

	(void)state;
	NEED_DPDK();
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct net_port *p;
		char m[2][1024];
		int r0, r1;

		close(fds[0]);
		if (freopen("/dev/null", "w", stdout) == NULL) { /* the EAL's usage text */
		}
		port_dpdk_eal_configure(false, "--no-such-eal-option", m[0], sizeof(m[0]));
		r0 = port_dpdk_open("net_ring0", 1, &p, m[0], sizeof(m[0]));
		r1 = port_dpdk_open("net_ring1", 1, &p, m[1], sizeof(m[1]));
		if (write(fds[1], m, sizeof(m)) != (ssize_t)sizeof(m))
			_exit(3);
		_exit(r0 == -EINVAL && r1 == -EINVAL ? 0 : 2);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], msg, sizeof(msg)), (ssize_t)sizeof(msg));
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("the child's opens did not both fail with -EINVAL (status %#x): %s | %s", status, msg[0],
			 msg[1]);
	assert_non_null(strstr(msg[0], "the EAL did not start: rte_eal_init("));
	assert_non_null(strstr(msg[0], "--no-pci --no-telemetry"));
	assert_non_null(strstr(msg[0], "--no-huge -m 64 --no-such-eal-option)"));
	assert_non_null(strstr(msg[0], ": Invalid argument"));
	assert_non_null(strstr(msg[0], "check dpdk_eal_args"));
	assert_string_equal(msg[1], msg[0]); /* remembered, not retried */
}

/* Sends n frames (seq first..) through p, retrying while the PMD is busy; fails after WAIT_S. */
static void send_all(struct net_port *p, uint32_t first, unsigned n, size_t len)
{
	static uint8_t store[NET_PORT_BURST][2048];
	struct net_frame fr[NET_PORT_BURST];
	unsigned done = 0;

	for (double t0 = now_s(); done < n;) {
		unsigned k = n - done < NET_PORT_BURST ? n - done : NET_PORT_BURST;
		int r;

		for (unsigned i = 0; i < k; i++)
			fr[i] = (struct net_frame){ .data = store[i],
						    .len = (uint16_t)test_frame(store[i], first + done + i, len) };
		r = p->ops->send(p, fr, k);
		assert_true(r >= 0 && (unsigned)r <= k);
		done += (unsigned)r;
		if (now_s() - t0 > WAIT_S)
			fail_msg("%s took %u of %u frames in %.0f s", p->name, done, n, WAIT_S);
	}
}

/* Receives until n test frames of length len came through p, seq first.. in order; others are skipped. */
static void recv_all(struct net_port *p, uint32_t first, unsigned n, size_t len)
{
	static uint8_t store[NET_PORT_BURST][2048];
	struct net_frame fr[NET_PORT_BURST];
	unsigned got = 0;

	for (double t0 = now_s(); got < n;) {
		int r;

		for (unsigned i = 0; i < NET_PORT_BURST; i++)
			fr[i] = (struct net_frame){ .data = store[i], .cap = sizeof(store[i]) };
		r = p->ops->recv(p, fr, NET_PORT_BURST);
		assert_true(r >= 0);
		for (int i = 0; i < r; i++) {
			long seq = frame_seq(&fr[i], len);

			if (seq < 0)
				continue; /* the kernel's own chatter on the link */
			if (seq != (long)(first + got))
				fail_msg("%s: frame %ld arrived where %u was due", p->name, seq, first + got);
			got++;
		}
		if (r == 0)
			usleep(1000);
		if (now_s() - t0 > WAIT_S)
			fail_msg("%s received %u of %u frames in %.0f s", p->name, got, n, WAIT_S);
	}
}

/* Two net_af_packet vdevs on the two ends of a veth pair: frames both ways, each in order. */
static void test_frames_sent_through_one_af_packet_vdev_arrive_through_another(void **state)
{
	struct net_port *a = NULL, *b = NULL;
	char args[64], msg[1024];
	int r;

	(void)state;
	NEED_DPDK();
	snprintf(veth_a, sizeof(veth_a), "xda%d", (int)(getpid() % 100000));
	snprintf(veth_b, sizeof(veth_b), "xdb%d", (int)(getpid() % 100000));
	if (sh("ip link add %s type veth peer name %s", veth_a, veth_b) != 0)
		SKIP_BECAUSE("ip link add ... type veth failed (iproute2, veth module)");
	assert_int_equal(sh("ip link set %s up && ip link set %s up", veth_a, veth_b), 0);
	snprintf(args, sizeof(args), "net_af_packet10,iface=%s", veth_a);
	r = port_dpdk_open(args, 1, &a, msg, sizeof(msg));
	if (r < 0)
		fail_msg("%s", msg);
	snprintf(args, sizeof(args), "net_af_packet11,iface=%s", veth_b);
	r = port_dpdk_open(args, 1, &b, msg, sizeof(msg));
	if (r < 0) {
		close_ports(&a, 1);
		fail_msg("%s", msg);
	}
	assert_string_equal(a->ops->kind, "dpdk");
	assert_string_equal(a->name, "dpdk:net_af_packet10");
	assert_int_equal(a->ops->rx_fd(a), -1); /* netback looks every 1 ms (port_dpdk.h) */
	send_all(a, 0, 300, 60);
	recv_all(b, 0, 300, 60);
	send_all(b, 1000, 100, 1514);
	recv_all(a, 1000, 100, 1514);
	assert_int_equal(stat_of(a, "sent"), 300);
	assert_true(stat_of(b, "received") >= 300);
	assert_true(stat_of(a, "opackets") >= 300); /* the PMD's own counters, rte_eth_stats */
	assert_true(stat_of(b, "ipackets") >= 300);
	close_ports(&a, 1);
	close_ports(&b, 1);
	sh("ip link del %s", veth_a);
	veth_a[0] = 0;
}

/*
 * net_ring0 loops a port's TX ring back to its RX: sent and never received,
 * the ring fills, a burst is taken in part and the rest is reported
 * (unsent), their mbufs freed (bursts long after the ring is full never
 * run the pool dry); the frames taken come out in order.
 */
static void test_a_burst_larger_than_the_ring_is_partly_taken_and_the_rest_reported(void **state)
{
	static uint8_t store[NET_PORT_BURST][2048];
	struct net_frame fr[NET_PORT_BURST];
	struct net_port *p = NULL;
	unsigned taken = 0, attempted = 0, partial = 0;
	char msg[1024];

	(void)state;
	NEED_DPDK();
	if (port_dpdk_open("net_ring0", 1, &p, msg, sizeof(msg)) < 0)
		fail_msg("%s", msg);
	for (unsigned burst = 0; burst < 400; burst++) {
		int r;

		for (unsigned i = 0; i < NET_PORT_BURST; i++)
			fr[i] = (struct net_frame){ .data = store[i],
						    .len = (uint16_t)test_frame(store[i], taken + i, 64) };
		r = p->ops->send(p, fr, NET_PORT_BURST);
		assert_true(r >= 0 && r <= (int)NET_PORT_BURST);
		partial += r > 0 && r < (int)NET_PORT_BURST;
		taken += (unsigned)r;
		attempted += NET_PORT_BURST;
	}
	/* 400 bursts of 32 = 12800 frames, more than the ring (1024 slots) and the pool (3071 mbufs). */
	assert_true(taken > 0 && taken < attempted);
	assert_int_equal(partial, 1); /* one burst filled the ring in part; the rest took nothing */
	assert_int_equal(stat_of(p, "sent"), taken);
	assert_int_equal(stat_of(p, "unsent"), attempted - taken);
	assert_int_equal(stat_of(p, "no_mbuf"), 0); /* every unsent frame's mbuf went back */
	recv_all(p, 0, taken, 64);
	assert_int_equal(stat_of(p, "received"), taken);
	send_all(p, 0, 32, 64); /* room again */
	close_ports(&p, 1);
}

/* Every driver of the build probes, opens and closes (the drivers are linked: their constructors ran). */
static void test_each_vdev_driver_of_the_build_probes(void **state)
{
	char memif[128], tap[64], msg[1024];
	const char *args[] = { "net_ring5", "net_null5", memif, "net_af_packet5,iface=lo", tap };

	(void)state;
	NEED_DPDK();
	snprintf(memif, sizeof(memif), "net_memif5,role=server,socket=/run/xenith-test-memif-%d.sock", (int)getpid());
	snprintf(tap, sizeof(tap), "net_tap5,iface=xdt%d", (int)(getpid() % 100000));
	assert_int_equal(sh("ip link set lo up"), 0);
	for (unsigned i = 0; i < sizeof(args) / sizeof(args[0]); i++) {
		struct net_port *p[2] = { NULL, NULL };
		char name[32];
		int r = port_dpdk_open(args[i], 1, p, msg, sizeof(msg));

		if (r < 0)
			fail_msg("%s: %s", args[i], msg);
		snprintf(name, sizeof(name), "dpdk:%.*s", (int)strcspn(args[i], ","), args[i]);
		assert_string_equal(p[0]->name, name);
		assert_true(stat_of(p[0], "sent") == 0);
		close_ports(p, 1);
		if (args[i] == memif)
			continue; /* its socket stays bound until the process ends (port_dpdk.h) */
		/* Closed means removed: the name can be opened again. */
		r = port_dpdk_open(args[i], 1, p, msg, sizeof(msg));
		if (r < 0)
			fail_msg("%s reopened: %s", args[i], msg);
		close_ports(p, 1);
	}
	assert_int_equal(if_nametoindex(tap + strlen("net_tap5,iface=")), 0); /* the tap went with the port */
}

static void test_open_errors_say_what_to_do(void **state)
{
	struct net_port *p[2] = { NULL, NULL }, *q[2] = { NULL, NULL };
	char msg[1024];

	(void)state;
	NEED_DPDK();
	assert_int_equal(port_dpdk_open("net_nosuch0", 1, p, msg, sizeof(msg)), -EFAULT);
	assert_non_null(strstr(msg, "dpdk:net_nosuch0: probing the vdev: no driver of that name"));
	assert_non_null(strstr(msg, "net_ring, net_memif, net_af_packet, net_tap, net_null"));
	assert_true(port_dpdk_open("net_af_packet6,iface=xdnosuch0", 1, p, msg, sizeof(msg)) < 0);
	assert_non_null(strstr(msg, "iface= must exist"));
	assert_int_equal(port_dpdk_open("net_af_packet6,iface=lo", 2, p, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "2 queues asked, the device has 1 RX and 1 TX (add qpairs=N"));
	assert_int_equal(port_dpdk_open("net_af_packet6,iface=lo,qpairs=2", 2, p, msg, sizeof(msg)), 0);
	assert_int_equal(port_dpdk_open("net_af_packet6,iface=lo", 1, q, msg, sizeof(msg)), -EBUSY);
	assert_non_null(strstr(msg, "net_af_packet6 is open already in this process"));
	close_ports(p, 2);
	assert_int_equal(port_dpdk_open("net_ring7", 9, q, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "1 to 8 queues (9 asked)"));
	assert_int_equal(port_dpdk_eal_configure(true, "", msg, sizeof(msg)), -EALREADY);
	assert_non_null(strstr(msg, "one EAL per process"));
	assert_int_equal(port_dpdk_eal_configure(false, "", msg, sizeof(msg)), 0); /* as it started */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* First: it forks a child in which no EAL has started yet. */
		cmocka_unit_test(test_a_failed_eal_start_names_its_arguments_and_reason_and_is_reported_again),
		cmocka_unit_test(test_frames_sent_through_one_af_packet_vdev_arrive_through_another),
		cmocka_unit_test(test_a_burst_larger_than_the_ring_is_partly_taken_and_the_rest_reported),
		cmocka_unit_test(test_each_vdev_driver_of_the_build_probes),
		cmocka_unit_test(test_open_errors_say_what_to_do),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
