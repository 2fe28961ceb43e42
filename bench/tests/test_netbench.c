// SPDX-License-Identifier: MIT
/*
 * kvm tier: `xenith bench net` end to end on the smallest selection (the
 * figures are the benchmark's business, not a test's): a named case runs
 * alone and its document has guest and native series with packets, their
 * pair's ratio and where each thread ran; a missing reference tool is a
 * skip whose reason the run's note and stderr carry; an unknown case is
 * refused.  Needs root (namespaces, taps): a visible skip otherwise.
 */
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"
#include "result.h"
#include "skip.h"
#include "testutil.h"

static struct proc P;

static void require_root(void)
{
	if (geteuid() != 0)
		SKIP_BECAUSE("the net suite needs root (network namespaces, taps, AF_PACKET)");
	if (access("/dev/net/tun", R_OK | W_OK) < 0)
		SKIP_BECAUSE("no /dev/net/tun (modprobe tun)");
}

static const char *own_dir(char *buf, size_t size, const char *name)
{
	harness_path(buf, size, name);
	if (mkdir(buf, 0700) < 0)
		fail_msg("mkdir %s: %m", buf);
	return buf;
}

static const struct bench_series *series(const struct bench_run *r, const char *name, const char *mode)
{
	const struct bench_series *s = bench_run_find(r, "net", name, mode);

	if (!s)
		fail_msg("the run has no series net/%s/%s", name, mode);
	return s;
}

/*
 * net/tap-tx-64@ioeventfd alone: native, guest and ratio series of one
 * sample each, packets/s above zero, the ratio the pair's guest / native,
 * loss series on both sides, each series' placement, and no other mode.
 */
static void test_a_named_net_case_runs_guest_and_native_with_a_ratio(void **state)
{
	char dir[256], doc[512];
	struct bench_run r;
	struct errbuf eb;
	const struct bench_series *n, *g, *q;
	bool two = sysconf(_SC_NPROCESSORS_ONLN) >= 2;

	(void)state;
	require_root();
	own_dir(dir, sizeof(dir), "net-one");
	if (RUN(&P, 240, "bench", "net/tap-tx-64@ioeventfd", "--repeat", "1", "--warmup", "0", "--out", dir) != 0)
		fail_msg("the run failed (%d): %s", P.status, P.err);
	test_newest_result(dir, doc, sizeof(doc));
	if (bench_run_read(&r, doc, &eb) < 0)
		fail_msg("%s", eb.msg);
	n = series(&r, "tap-tx-64@ioeventfd", "native");
	g = series(&r, "tap-tx-64@ioeventfd", "guest");
	q = series(&r, "tap-tx-64@ioeventfd", "ratio");
	assert_int_equal(n->n, 1);
	assert_int_equal(g->n, 1);
	assert_int_equal(q->n, 1);
	assert_string_equal(g->unit, "pps");
	assert_true(g->higher_is_better);
	assert_true(n->samples[0] > 0 && g->samples[0] > 0);
	assert_true(fabs(q->samples[0] - g->samples[0] / n->samples[0]) <= 1e-9 * q->samples[0]);
	series(&r, "tap-tx-64-loss@ioeventfd", "native");
	series(&r, "tap-tx-64-loss@ioeventfd", "guest");
	/* which thread ran where: tx puts netback where the native program runs, the vCPU with the wire side */
	if (two) {
		assert_string_equal(g->placement, "vcpu0:1 netback:0 peer:1");
		assert_string_equal(n->placement, "program:0 peer:1");
	} else {
		assert_non_null(strstr(g->placement, "netback:"));
	}
	assert_null(bench_run_find(&r, "net", "tap-tx-64@poll", "guest"));
	assert_null(bench_run_find(&r, "net", "tap-tx-64@exit", "guest"));
	assert_null(bench_run_find(&r, "net", "tap-echo-64-p50@ioeventfd", "guest"));
	assert_null(bench_run_find(&r, "net", "iperf3-udp-64", "native"));
	/* the table says it too */
	assert_non_null(strstr(P.out, "tap-tx-64        ioeventfd"));
	assert_non_null(strstr(P.out, "placement (guest | native)"));
	bench_run_free(&r);
	/* and nothing of it is left behind: its namespace (named after xenith-bench's pid, the one RUN started) is gone */
	{
		char cmd[96];

		snprintf(cmd, sizeof(cmd), "ip netns list | grep -qw '^xnb%d'", (int)P.pid % 1000000);
		assert_int_equal(system(cmd), 256);
	}
}

/* Without iperf3 and dpdk-testpmd in PATH, their reference lines are skips with the reason. */
static void test_a_missing_reference_tool_is_a_visible_skip(void **state)
{
	char dir[256], bin[256], doc[512], link[512], ip[256] = "", *path = getenv("PATH");
	char *saved = path ? strdup(path) : NULL;
	struct bench_run r;
	struct errbuf eb;
	FILE *f;
	int rc;

	(void)state;
	require_root();
	f = popen("command -v ip", "r");
	if (!f || !fgets(ip, sizeof(ip), f))
		SKIP_BECAUSE("no ip command (iproute2)");
	pclose(f);
	ip[strcspn(ip, "\n")] = 0;
	own_dir(dir, sizeof(dir), "net-skip");
	own_dir(bin, sizeof(bin), "net-skip-bin"); /* a PATH with ip and nothing else */
	snprintf(link, sizeof(link), "%s/ip", bin);
	assert_int_equal(symlink(ip, link), 0);
	setenv("PATH", bin, 1);
	rc = RUN(&P, 120, "bench", "net/iperf3-udp-64", "net/testpmd-null-64", "--repeat", "1", "--warmup", "0",
		 "--out", dir);
	if (saved)
		setenv("PATH", saved, 1);
	free(saved);
	if (rc != 0)
		fail_msg("the run failed (%d): %s", P.status, P.err);
	assert_non_null(strstr(P.err, "net/iperf3-udp-64 skipped: iperf3 is not installed"));
	assert_non_null(strstr(P.err, "net/testpmd-null-64 skipped: dpdk-testpmd is not installed"));
	test_newest_result(dir, doc, sizeof(doc));
	if (bench_run_read(&r, doc, &eb) < 0)
		fail_msg("%s", eb.msg);
	assert_non_null(strstr(r.note, "net/iperf3-udp-64: not run: iperf3 is not installed (apt-get install iperf3"));
	assert_non_null(strstr(r.note, "net/testpmd-null-64: not run: dpdk-testpmd is not installed (apt-get install dpdk"));
	assert_null(bench_run_find(&r, "net", "iperf3-udp-64", "native"));
	assert_null(bench_run_find(&r, "net", "testpmd-null-64", "native"));
	bench_run_free(&r);
}

/* With iperf3 there, its line is a native series with packets and the placement of client and server. */
static void test_the_iperf3_reference_line_is_measured_where_the_native_pair_runs(void **state)
{
	char dir[256], doc[512];
	struct bench_run r;
	struct errbuf eb;
	const struct bench_series *v;

	(void)state;
	require_root();
	if (system("command -v iperf3 >/dev/null") != 0)
		SKIP_BECAUSE("iperf3 is not installed (ci/setup.sh installs it)");
	own_dir(dir, sizeof(dir), "net-iperf3");
	if (RUN(&P, 120, "bench", "net/iperf3-udp-64", "--repeat", "1", "--warmup", "0", "--out", dir) != 0)
		fail_msg("the run failed (%d): %s", P.status, P.err);
	test_newest_result(dir, doc, sizeof(doc));
	if (bench_run_read(&r, doc, &eb) < 0)
		fail_msg("%s", eb.msg);
	v = series(&r, "iperf3-udp-64", "native");
	assert_int_equal(v->n, 1);
	assert_true(v->samples[0] > 0);
	if (sysconf(_SC_NPROCESSORS_ONLN) >= 2)
		assert_string_equal(v->placement, "client:0 server:1");
	series(&r, "iperf3-udp-64-loss", "native");
	assert_null(bench_run_find(&r, "net", "tap-tx-64@ioeventfd", "guest"));
	bench_run_free(&r);
}

/* How many processes have pattern in their command line (pgrep -f; a pattern with [x] so the shell's own line does not match). */
static int pgrep_count(const char *pattern)
{
	char cmd[256], line[64] = "0";
	FILE *f;

	snprintf(cmd, sizeof(cmd), "pgrep -c -f -- '%s'", pattern);
	f = popen(cmd, "r");
	if (!f)
		fail_msg("popen %s: %m", cmd);
	if (!fgets(line, sizeof(line), f))
		line[0] = 0;
	pclose(f);
	return atoi(line);
}

/*
 * Ctrl-C in the middle of a case, with the guest running: the bench ends
 * as interrupted (killed by SIGINT, as a shell expects), and leaves no
 * domain, program, namespace or scratch directory behind.
 */
static void test_an_interrupted_net_run_stops_its_programs_and_deletes_its_namespace(void **state)
{
	char dir[256], ns[64], scratch[96], cmd[128];
	struct stat st;
	bool guest = false;

	(void)state;
	require_root();
	own_dir(dir, sizeof(dir), "net-sigint");
	proc_start(&P, (const char *const[]){ "bench", "net/tap-tx-64@ioeventfd", "--repeat", "1", "--warmup", "0",
					      "--out", dir, NULL });
	snprintf(ns, sizeof(ns), "xnb%d", (int)P.pid % 1000000);
	/* the guest's side comes after the native one: wait until its VMM runs */
	for (double t0 = harness_now_s(); harness_now_s() - t0 < 120 && !guest;) {
		guest = pgrep_count("[-]n xenith-netbench ") > 0;
		if (!guest)
			proc_pump(&P, 0.05);
	}
	if (!guest)
		fail_msg("the guest's VMM never started; stderr: %s", P.err);
	snprintf(cmd, sizeof(cmd), "ip netns list | grep -qw '^%s'", ns);
	assert_int_equal(system(cmd), 0); /* the namespace is there while the case runs */
	assert_int_equal(kill(P.pid, SIGINT), 0);
	proc_wait(&P, 60);
	assert_int_equal(P.status, 128 + SIGINT);
	assert_non_null(strstr(P.err, "net: interrupted (Interrupt)"));
	assert_null(strstr(P.err, "side output")); /* an interrupt is no failure: no programs' output dumped */
	assert_int_equal(system(cmd), 256);
	assert_int_equal(pgrep_count("[-]n xenith-netbench "), 0);
	snprintf(cmd, sizeof(cmd), "xenith-net[ ].*%s", ns);
	assert_int_equal(pgrep_count(cmd), 0);
	snprintf(scratch, sizeof(scratch), "/tmp/xenith-netbench-%d", (int)P.pid);
	assert_int_equal(stat(scratch, &st), -1);
}

static void test_an_unknown_net_case_is_refused(void **state)
{
	(void)state;
	assert_int_equal(RUN(&P, 60, "bench", "net/tap-tx-65"), 64);
	assert_non_null(strstr(P.err, "unknown case 'net/tap-tx-65'"));
	assert_int_equal(RUN(&P, 60, "bench", "net/tap-tx-64@fast"), 64);
	assert_int_equal(RUN(&P, 60, "bench", "list"), 0);
	assert_non_null(strstr(P.out, "net      tap-tx-64@ioeventfd"));
	assert_non_null(strstr(P.out, "net      iperf3-udp-1500"));
}

int main(void)
{
	struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_a_named_net_case_runs_guest_and_native_with_a_ratio, harness_teardown),
		cmocka_unit_test_teardown(test_a_missing_reference_tool_is_a_visible_skip, harness_teardown),
		cmocka_unit_test_teardown(test_the_iperf3_reference_line_is_measured_where_the_native_pair_runs,
					  harness_teardown),
		cmocka_unit_test_teardown(test_an_interrupted_net_run_stops_its_programs_and_deletes_its_namespace,
					  harness_teardown),
		cmocka_unit_test_teardown(test_an_unknown_net_case_is_refused, harness_teardown),
	};

	harness_require_kvm();
	return TEST_RUN_GROUP(tests, NULL, NULL);
}
