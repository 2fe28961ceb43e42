// SPDX-License-Identifier: MIT
/*
 * kvm tier: a vif on a DPDK port (port=dpdk:[net_af_packet0,iface=VETH])
 * end to end, in the static VMM under its seccomp filter: the guest's
 * blast reaches `xenith-net PEER sink` on the veth's other end with
 * matching counts, a native blast reaches the guest's sink, and a bad vdev
 * or bad EAL arguments stop the VMM cleanly with the named error.  The veth
 * pair is the test's own (short unique names, deleted in teardown).  Needs
 * root, iproute2 and a build with DPDK: else visible skips.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"
#include "jsondoc.h"

#define HOST_IP "10.79.0.1"
#define GUEST_IP "10.79.0.2"
#define GUEST_MAC "00:16:3e:00:79:02"
#define N 1000

static struct proc P, Q;
static char veth[16], peer[16];

/* The native program (xenith-net): its own process group, output in a file; killed in teardown. */
static struct {
	pid_t pid;
	char path[512];
} native;

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

static const char *xenith_net(void)
{
	const char *p = getenv("XENITH_NET");

	return p && p[0] ? p : "build/net/xenith-net";
}

static char skip_reason[160];

/* Makes the test's veth pair; when something is missing, skip_reason says what (each test skips, NEED). */
static int setup(void **state)
{
	int r;

	(void)state;
	skip_reason[0] = 0;
	if (!XENITH_HAVE_DPDK)
		snprintf(skip_reason, sizeof(skip_reason),
			 "this build has no DPDK (no xenith-dpdk): install dpdk-dev (ci/setup.sh) and rebuild");
	else if (geteuid() != 0)
		snprintf(skip_reason, sizeof(skip_reason), "needs root: veth pairs and AF_PACKET");
	else if (sh("ip -V") != 0)
		snprintf(skip_reason, sizeof(skip_reason), "no ip command (iproute2; ci/setup.sh installs it)");
	else if (access(xenith_net(), X_OK) < 0)
		snprintf(skip_reason, sizeof(skip_reason), "no xenith-net at %s (XENITH_NET)", xenith_net());
	if (skip_reason[0])
		return 0;
	snprintf(veth, sizeof(veth), "xdv%da", (int)(getpid() % 100000));
	snprintf(peer, sizeof(peer), "xdv%db", (int)(getpid() % 100000));
	r = sh("ip link add %s type veth peer name %s", veth, peer);
	if (r != 0) {
		snprintf(skip_reason, sizeof(skip_reason), "ip link add %s type veth peer name %s failed (%d)", veth,
			 peer, r);
		veth[0] = 0;
		return 0;
	}
	/* No IPv6 chatter of the host's own on the link; both ends up. */
	sh("sysctl -w net.ipv6.conf.%s.disable_ipv6=1 net.ipv6.conf.%s.disable_ipv6=1", veth, peer);
	return sh("ip link set %s up && ip link set %s up", veth, peer) == 0 ? 0 : -1;
}

#define NEED() do { if (skip_reason[0]) SKIP_BECAUSE(skip_reason); } while (0)

static int teardown(void **state)
{
	harness_teardown(state); /* every xenith the test started */
	if (native.pid > 0) {
		kill(-native.pid, SIGKILL);
		waitpid(native.pid, NULL, 0);
		native.pid = 0;
	}
	if (native.path[0])
		unlink(native.path);
	native.path[0] = 0;
	if (veth[0])
		sh("ip link del %s", veth); /* its peer goes with it */
	veth[0] = 0;
	return 0;
}

/* Starts `xenith-net IFNAME ARGS...` with its output in a file of the run's tmpdir. */
static void native_start(const char *const *args)
{
	const char *argv[16];
	unsigned n = 0;

	snprintf(native.path, sizeof(native.path), "%s/xenith-net-%d.out", harness_tmpdir(), (int)getpid());
	argv[n++] = xenith_net();
	for (; *args && n < 15; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	native.pid = fork();
	assert_true(native.pid >= 0);
	if (native.pid == 0) {
		int fd = open(native.path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		setpgid(0, 0);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	setpgid(native.pid, native.pid);
}

/* What the native program printed so far (static buffer). */
static const char *native_out(void)
{
	static char buf[16384];
	FILE *f = fopen(native.path, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = 0;
	return buf;
}

static bool native_wait_output(const char *needle, double timeout_s)
{
	for (double t0 = harness_now_s(); harness_now_s() - t0 < timeout_s; usleep(20000))
		if (strstr(native_out(), needle))
			return true;
	return false;
}

/* The "net-json: {...}" line in text, parsed (the caller frees it); NULL if there is none. */
static struct jv *json_line(const char *text)
{
	const char *line = strstr(text, "net-json: {");
	char buf[4096], err[128];
	size_t len;

	if (!line)
		return NULL;
	line += strlen("net-json: ");
	len = strcspn(line, "\n");
	if (len >= sizeof(buf) || line[len] != '\n')
		return NULL; /* not complete yet */
	memcpy(buf, line, len);
	buf[len] = 0;
	return jv_parse(buf, err, sizeof(err));
}

static struct jv *guest_json(double timeout_s)
{
	struct jv *doc = NULL;

	for (double t0 = harness_now_s(); !doc && harness_now_s() - t0 < timeout_s; proc_pump(&P, 0.05))
		doc = json_line(P.out);
	if (!doc)
		fail_msg("no net-json from the guest; stdout: %s\nstderr: %s", P.out, P.err);
	return doc;
}

static struct jv *native_json(double timeout_s)
{
	struct jv *doc = NULL;

	for (double t0 = harness_now_s(); !doc && harness_now_s() - t0 < timeout_s; usleep(20000))
		doc = json_line(native_out());
	if (!doc)
		fail_msg("no net-json from xenith-net; it printed: %s", native_out());
	return doc;
}

/*
 * The VMM of a domain with a dpdk vif is xenith-dpdk (tools/cmd_run.c
 * execs it), so that build/tools/xenith, every other domain's VMM, does
 * not carry DPDK.
 */
static void assert_exe_is(pid_t pid, const char *suffix)
{
	char link[64], exe[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = 0;
	if (n < (ssize_t)strlen(suffix) || strcmp(exe + n - strlen(suffix), suffix))
		fail_msg("the domain's VMM is %s, not ...%s", exe, suffix);
}

/* Starts a domain whose vif 0 is net_af_packet0 on the test's veth, running cmdline; waits for "ready". */
static void start_domain(const char *name, const char *cmdline)
{
	char vif[160];

	snprintf(vif, sizeof(vif), "mac=" GUEST_MAC ",port=dpdk:[net_af_packet0,iface=%s],mode=ioeventfd", veth);
	proc_start(&P, (const char *const[]){ "run", "--name", name, "-m", "32", "--vif", vif, "--cmdline",
					      cmdline, NULL });
	if (!proc_wait_output(&P, ": ready vif=0 mac=" GUEST_MAC, 60))
		fail_msg("%s never said ready; stdout: %s\nstderr: %s", name, P.out, P.err);
	assert_exe_is(P.pid, "/xenith-dpdk");
}

/* vif0's queue 0 port statistics from `xenith devices NAME --json` (the caller frees doc). */
static const struct jv *port_stats(const char *name, struct jv **doc)
{
	const struct jv *devs, *q;
	char err[128];

	if (RUN(&Q, 20, "devices", name, "--json") != 0)
		fail_msg("xenith devices %s: %s", name, Q.err);
	*doc = jv_parse(Q.out, err, sizeof(err));
	if (!*doc)
		fail_msg("xenith devices --json is not JSON (%s): %s", err, Q.out);
	devs = jv_get(*doc, "devices");
	for (size_t i = 0; devs && i < devs->n; i++) {
		const struct jv *stats = jv_get(&devs->items[i], "stats");

		if (strcmp(jv_str(&devs->items[i], "name", ""), "vif0") || !stats)
			continue;
		q = jv_get(stats, "per_queue");
		if (q && q->n >= 1 && jv_get(&q->items[0], "port"))
			return jv_get(&q->items[0], "port");
	}
	fail_msg("no vif0 port statistics in: %s", Q.out);
	return NULL;
}

/* The guest's blast leaves through the DPDK port and reaches the native sink on the veth's peer, each datagram once. */
static void test_a_guest_blast_through_dpdk_af_packet_reaches_a_native_sink_with_matching_counts(void **state)
{
	struct jv *g, *s, *doc;
	const struct jv *port;

	(void)state;
	NEED();
	native_start((const char *const[]){ peer, "sink", "ip=" HOST_IP "/24", "port=5001", "count=1000", NULL });
	if (!native_wait_output("xenith-net: ready", 30))
		fail_msg("xenith-net sink never ready: %s", native_out());
	start_domain("t-dpdk-blast", "net-blast ip=" GUEST_IP "/24 dst=" HOST_IP ":5001 size=256 count=1000 "
		     "rate=20000 hold=1");
	g = guest_json(120);
	assert_true(jv_num(g, "error", -1) == 0);
	assert_true(jv_num(g, "sent", -1) == N);
	jv_free(g);
	s = native_json(60);
	if (jv_num(s, "packets", -1) != N || jv_num(s, "lost", -1) != 0 || jv_num(s, "duplicates", -1) != 0 ||
	    jv_num(s, "bad", -1) != 0)
		fail_msg("the native sink counted otherwise than the guest's %d sent: %s", N, native_out());
	jv_free(s);
	port = port_stats("t-dpdk-blast", &doc);
	assert_string_equal(jv_str(port, "kind", ""), "dpdk");
	assert_string_equal(jv_str(port, "vdev", ""), "net_af_packet0");
	assert_true(jv_num(port, "sent", -1) >= N);
	assert_true(jv_num(jv_get(port, "pmd"), "opackets", -1) >= N); /* rte_eth_stats */
	jv_free(doc);
	proc_kill(&P);
}

/* A native blast on the veth's peer comes in through the DPDK port to the guest's sink, every datagram. */
static void test_a_native_blast_reaches_the_guest_sink_through_dpdk_af_packet(void **state)
{
	struct jv *g, *s, *doc;
	const struct jv *port;

	(void)state;
	NEED();
	start_domain("t-dpdk-sink", "net-sink ip=" GUEST_IP "/24 port=5001 count=1000 hold=1");
	native_start((const char *const[]){ peer, "blast", "ip=" HOST_IP "/24", "dst=" GUEST_IP ":5001", "size=256",
					    "count=1000", "rate=10000", NULL });
	s = native_json(120);
	assert_true(jv_num(s, "sent", -1) == N);
	jv_free(s);
	g = guest_json(60);
	if (jv_num(g, "packets", -1) != N || jv_num(g, "lost", -1) != 0 || jv_num(g, "duplicates", -1) != 0)
		fail_msg("the guest's sink counted otherwise than the %d sent: %s", N, P.out);
	jv_free(g);
	port = port_stats("t-dpdk-sink", &doc);
	assert_true(jv_num(port, "received", -1) >= N);
	assert_true(jv_num(jv_get(port, "pmd"), "ipackets", -1) >= N);
	jv_free(doc);
	proc_kill(&P);
}

/* A vdev that does not probe, and EAL arguments the EAL refuses: the build stops saying which, exit 65. */
static void test_a_bad_vdev_or_eal_arguments_stop_the_vmm_cleanly_with_the_named_error(void **state)
{
	char vif[96], cfg[512];
	FILE *f;

	(void)state;
	NEED();
	snprintf(vif, sizeof(vif), "port=dpdk:[net_af_packet0,iface=%.6snosuch]", veth);
	assert_int_equal(RUN(&P, 60, "run", "--name", "t-dpdk-badvdev", "-m", "32", "--vif", vif), 65);
	assert_non_null(strstr(P.err, "vif 0: dpdk:net_af_packet0,iface="));
	assert_non_null(strstr(P.err, "probing the vdev"));
	assert_non_null(strstr(P.err, "iface= must exist"));
	assert_null(strstr(P.err, "seccomp"));
	assert_int_equal(RUN(&P, 60, "run", "--name", "t-dpdk-nodrv", "-m", "32", "--vif", "port=dpdk:net_nosuch0"), 65);
	assert_non_null(strstr(P.err, "dpdk:net_nosuch0: probing the vdev: no driver of that name"));
	snprintf(cfg, sizeof(cfg), "%s/dpdk-bad-eal.cfg", harness_tmpdir());
	f = fopen(cfg, "w");
	assert_non_null(f);
	fprintf(f, "dpdk_eal_args = \"--no-such-eal-option\"\nvif = \"port=dpdk:[net_af_packet0,iface=%s]\"\n", veth);
	fclose(f);
	assert_int_equal(RUN(&P, 60, "run", "-c", cfg, "--name", "t-dpdk-badeal", "-m", "32"), 65);
	unlink(cfg);
	assert_non_null(strstr(P.err, "the EAL did not start: rte_eal_init("));
	assert_non_null(strstr(P.err, "--no-huge -m 64 --no-such-eal-option): Invalid argument"));
	assert_non_null(strstr(P.err, "check dpdk_eal_args"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_a_guest_blast_through_dpdk_af_packet_reaches_a_native_sink_with_matching_counts, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_a_native_blast_reaches_the_guest_sink_through_dpdk_af_packet,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_bad_vdev_or_eal_arguments_stop_the_vmm_cleanly_with_the_named_error,
						setup, teardown),
	};

	harness_require_kvm();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
