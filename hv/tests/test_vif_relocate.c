// SPDX-License-Identifier: MIT
/*
 * kvm tier: domains with vifs saved, restored and migrated live
 * (hv/netdev_save.c, io/switch.c's QUIESCE/RESUME/RESTORE).  On a domain
 * switch: an echo server whose MAC was generated at its create is saved
 * and restored and answers another domain on the switch; an echo server
 * migrates live between two run directories sharing the switch while
 * another domain's echo client talks to it all along, and the traffic
 * goes on at the receiver (the switch moved the MAC to the receiver's
 * vif at its resume, and the sender's vif left); a restore whose vif
 * record is refused ends, naming it, and leaves nothing on the switch.
 * On a tap (root): a save
 * and restore gives the guest back its tap (the host pings it after), and
 * a live migration is refused before anything stops, naming the vif and
 * why; a dpdk vif is refused for save (when this build has DPDK).
 */
#include <errno.h>
#include <setjmp.h>
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
#include "jsondoc.h"
#include "testutil.h"

static struct proc SW, P, Q, B, R;

/* Starts switch name in the foreground (the harness kills it at teardown) and waits until it listens. */
static void start_switch(const char *name)
{
	char want[64];

	proc_start(&SW, (const char *const[]){ "switch", "start", name, "--foreground", NULL });
	snprintf(want, sizeof(want), "switch %s: socket ", name);
	if (!proc_wait_output(&SW, want, 30))
		fail_msg("switch %s did not start: %s\n%s", name, SW.out, SW.err);
}

/* The MAC in p's "NAME: ready vif=0 mac=M" line, into mac (18 bytes). */
static void ready_mac(struct proc *p, char *mac)
{
	const char *s = strstr(p->out, "ready vif=0 mac=");

	assert_non_null(s);
	snprintf(mac, 18, "%s", s + strlen("ready vif=0 mac="));
}

/* `xenith switch list NAME --json`, parsed (the caller frees it); *sw the switch's object. */
static struct jv *switch_list(const char *name, const struct jv **sw)
{
	char err[128];
	struct jv *doc;

	if (RUN(&R, 20, "switch", "list", name, "--json") != 0)
		fail_msg("xenith switch list %s: %s", name, R.err);
	doc = jv_parse(R.out, err, sizeof(err));
	if (!doc || doc->type != JV_ARR || doc->n != 1)
		fail_msg("xenith switch list --json is not one switch (%s): %s", doc ? "" : err, R.out);
	*sw = &doc->items[0];
	return doc;
}

/* How many of the switch's vifs have this MAC; *connected the queues connected of the last. */
static unsigned vifs_with_mac(const char *name, const char *mac, double *connected)
{
	const struct jv *sw, *vifs;
	struct jv *doc = switch_list(name, &sw);
	unsigned n = 0;

	vifs = jv_get(sw, "vifs");
	for (size_t i = 0; vifs && i < vifs->n; i++)
		if (!strcmp(jv_str(&vifs->items[i], "mac", ""), mac)) {
			n++;
			*connected = jv_num(&vifs->items[i], "queues_connected", -1);
		}
	jv_free(doc);
	return n;
}

/* An echo client in a new domain on the switch: n round trips to dst, each answered. */
static void echo_is_answered(const char *name, const char *sw, const char *ip, const char *dst, unsigned n)
{
	char vif[96], cmd[160], why[256];
	struct jv *doc;

	snprintf(vif, sizeof(vif), "port=switch:%s", sw);
	snprintf(cmd, sizeof(cmd), "net-echo ip=%s dst=%s count=%u timeout=2000", ip, dst, n);
	proc_start(&B, (const char *const[]){ "run", "--name", name, "-m", "32", "--vif", vif, "--cmdline", cmd,
					      NULL });
	doc = proc_net_json(&B, 120, why, sizeof(why));
	if (!doc)
		fail_msg("%s: %s", name, why);
	if (jv_num(doc, "received", -1) != n || jv_num(doc, "timeouts", -1) != 0)
		fail_msg("%s: echo to %s through switch %s: %s", name, dst, sw, B.out);
	jv_free(doc);
	proc_wait(&B, 30);
	assert_int_equal(B.status, 0);
}

/*
 * (a) An echo server on a switch, its MAC generated at create (no mac=),
 * answers, is saved (the domain goes) and restored: the restored vif has
 * the MAC the guest knows, is connected on the switch again, and answers
 * another domain's echoes.
 */
static void test_a_domain_on_a_switch_is_saved_restored_and_answers_another_domain(void **state)
{
	char file[256], mac[18];
	double connected = -1;
	struct jv *doc;
	char why[256];

	(void)state;
	harness_path(file, sizeof(file), "sw.xs");
	start_switch("t-vr-sr");
	proc_start(&P, (const char *const[]){ "run", "--name", "t-vr-srv", "-m", "32", "--vif", "port=switch:t-vr-sr",
					      "--cmdline", "net-echo ip=10.62.0.10/24", NULL });
	if (!proc_wait_output(&P, "net-echo: ready vif=0 mac=", 60))
		fail_msg("the server never said ready: %s\n%s", P.out, P.err);
	ready_mac(&P, mac);
	echo_is_answered("t-vr-c1", "t-vr-sr", "10.62.0.11/24", "10.62.0.10:7", 20);

	if (RUN(&R, 60, "save", "t-vr-srv", file) != 0)
		fail_msg("xenith save: status %d\n%s%s", R.status, R.out, R.err);
	proc_wait(&P, 20);
	assert_int_equal(P.status, 67);
	for (double t0 = harness_now_s(); vifs_with_mac("t-vr-sr", mac, &connected) != 0;) {
		if (harness_now_s() - t0 > 20)
			fail_msg("the saved domain's vif is still on the switch");
		proc_pump(&SW, 0.05);
	}

	proc_start(&Q, (const char *const[]){ "restore", file, NULL });
	for (double t0 = harness_now_s(); vifs_with_mac("t-vr-sr", mac, &connected) != 1 || connected != 1;) {
		if (harness_now_s() - t0 > 30 || !proc_alive(&Q))
			fail_msg("the restored vif (MAC %s) is not connected on the switch: %s%s", mac, Q.out, Q.err);
		proc_pump(&Q, 0.05);
	}
	echo_is_answered("t-vr-c2", "t-vr-sr", "10.62.0.12/24", "10.62.0.10:7", 50);

	/* The same guest all along: it echoed both clients' requests, 70 in all. */
	assert_int_equal(RUN(&R, 20, "shutdown", "t-vr-srv"), 0);
	doc = proc_net_json(&Q, 30, why, sizeof(why));
	if (!doc)
		fail_msg("the restored server: %s", why);
	if (jv_num(doc, "echoed", -1) != 70)
		fail_msg("the server echoed %.0f requests, not 70: %s", jv_num(doc, "echoed", -1), Q.out);
	jv_free(doc);
	proc_wait(&Q, 20);
	assert_int_equal(Q.status, 0);
}

/* CRC-32C (Castagnoli), as the stream's records carry it (mig/stream.h). */
static uint32_t crc32c(const uint8_t *p, size_t n)
{
	uint32_t c = ~0u;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = c >> 1 ^ (0x82f63b78u & -(c & 1));
	}
	return ~c;
}

/* The DEVICE record of device name in a saved stream: its header's offset (the body follows 16 bytes on). */
static size_t device_record(const uint8_t *s, size_t len, const char *name)
{
	size_t off = 32; /* the image header */

	while (off + 16 <= len) {
		uint32_t type, blen, nlen;

		memcpy(&type, s + off, 4);
		memcpy(&blen, s + off + 4, 4);
		if (type == 7 && blen >= 4 + strlen(name)) {
			memcpy(&nlen, s + off + 16, 4);
			if (nlen == strlen(name) && !memcmp(s + off + 20, name, nlen))
				return off;
		}
		off += 16 + (blen + 7) / 8 * 8;
	}
	fail_msg("no DEVICE record of %s in the stream", name);
	return 0;
}

/*
 * A saved stream whose vif record says another version (its checksum
 * made right again, so only the vif's own parser can refuse it): the
 * restore ends naming the vif and the field, and leaves nothing behind,
 * on the switch either (the vif's link to it had started).
 */
static void test_a_restore_whose_vif_record_is_refused_ends_naming_it(void **state)
{
	char file[256], mac[18];
	double connected = -1;
	uint8_t *st;
	size_t len, rec, body;
	uint32_t blen, crc;

	(void)state;
	harness_path(file, sizeof(file), "badvif.xs");
	start_switch("t-vr-bad");
	proc_start(&P, (const char *const[]){ "run", "--name", "t-vr-bad", "-m", "32", "--vif", "port=switch:t-vr-bad",
					      "--cmdline", "net-echo ip=10.66.0.10/24", NULL });
	if (!proc_wait_output(&P, "net-echo: ready vif=0 mac=", 60))
		fail_msg("never ready: %s\n%s", P.out, P.err);
	ready_mac(&P, mac);
	if (RUN(&R, 60, "save", "t-vr-bad", file) != 0)
		fail_msg("xenith save: status %d\n%s%s", R.status, R.out, R.err);
	proc_wait(&P, 20);
	st = (uint8_t *)test_read_file(file, &len);
	rec = device_record(st, len, "vif0");
	memcpy(&blen, st + rec + 4, 4);
	body = rec + 16;
	assert_int_equal(st[body + 8], 1); /* after the name (u32 4, "vif0"): the version, 1 */
	st[body + 8] = 2;
	crc = crc32c(st + body, blen);
	memcpy(st + rec + 8, &crc, 4);
	test_write_file(file, st, len);
	free(st);

	assert_int_not_equal(RUN(&R, 60, "restore", file), 0);
	if (R.status == 137 || !strstr(R.err, "(DEVICE)") ||
	    !strstr(R.err, "vif0: vif 0: saved state of version 2; this build reads version 1"))
		fail_msg("the restore (status %d) did not end naming the vif record:\n%s", R.status, R.err);
	assert_int_equal(vifs_with_mac("t-vr-bad", mac, &connected), 0);
}

/* A run directory of the receiver's own, whose switch/ is the sender's: one switch, two run directories. */
static const char *receiver_dir(void)
{
	static char dir[256];
	char link[300], target[300];

	if (!dir[0]) {
		harness_path(dir, sizeof(dir), "receiver-run");
		assert_int_equal(mkdir(dir, 0700), 0);
		snprintf(link, sizeof(link), "%s/switch", dir);
		snprintf(target, sizeof(target), "%s/switch", harness_run_dir());
		assert_int_equal(symlink(target, link), 0);
	}
	return dir;
}

static void start_receiver(struct proc *q, char *addr, size_t size)
{
	const char *s;
	double end = harness_now_s() + 20;

	proc_start(q, (const char *const[]){ "migrate-receive", "--run-dir", receiver_dir(), "--listen",
					     "127.0.0.1:0", NULL });
	while (!(s = strstr(q->err, "listening on ")) || !strchr(s, '\n')) {
		if (harness_now_s() > end || !proc_alive(q))
			fail_msg("the receiver does not listen:\n%s", q->err);
		proc_pump(q, 0.05);
	}
	snprintf(addr, size, "%.*s", (int)(strchr(s, '\n') - s - 13), s + 13);
}

/*
 * (b) An echo server on a switch migrates live to a receiver in another
 * run directory on the same switch, while another domain's echo client
 * sends it request after request: the client's requests go on being
 * answered after the switch-over (a few may time out in the downtime),
 * the switch moved the server's MAC to the receiver's vif, and only that
 * vif is left on the switch.
 */
static void test_a_domain_on_a_switch_migrates_live_while_another_domain_talks_to_it(void **state)
{
	enum { N = 40000 };
	char addr[64], mac[18], cmd[160], why[256];
	double connected = -1, sent, got, timeouts;
	const struct jv *sw;
	struct jv *doc;

	(void)state;
	start_switch("t-vr-mig");
	proc_start(&P, (const char *const[]){ "run", "--name", "t-vr-msrv", "-m", "32", "--vif",
					      "port=switch:t-vr-mig", "--cmdline", "net-echo ip=10.63.0.10/24", NULL });
	if (!proc_wait_output(&P, "net-echo: ready vif=0 mac=", 60))
		fail_msg("the server never said ready: %s\n%s", P.out, P.err);
	ready_mac(&P, mac);
	snprintf(cmd, sizeof(cmd), "net-echo ip=10.63.0.11/24 dst=10.63.0.10:7 count=%u timeout=1000", N);
	proc_start(&B, (const char *const[]){ "run", "--name", "t-vr-mcli", "-m", "32", "--vif", "port=switch:t-vr-mig",
					      "--cmdline", cmd, NULL });
	if (!proc_wait_output(&B, "net-echo: ready vif=0", 60))
		fail_msg("the client never said ready: %s\n%s", B.out, B.err);
	proc_pump(&B, 0.5); /* it is well into its requests */
	start_receiver(&Q, addr, sizeof(addr));
	if (RUN(&R, 60, "migrate", "t-vr-msrv", addr) != 0)
		fail_msg("xenith migrate: %d\n%s%s\nreceiver:\n%s", R.status, R.out, R.err, Q.err);
	proc_wait(&P, 20);
	assert_int_equal(P.status, 67);
	if (!proc_alive(&B))
		fail_msg("the client ended before the migration did (raise N): %s", B.out);

	/* The server's MAC is on one vif of the switch, the receiver's, moved there at its resume. */
	for (double t0 = harness_now_s(); vifs_with_mac("t-vr-mig", mac, &connected) != 1;) {
		if (harness_now_s() - t0 > 20)
			fail_msg("the sender's vif did not leave the switch: %s", R.out);
		proc_pump(&Q, 0.05);
	}
	assert_true(connected == 1);
	doc = switch_list("t-vr-mig", &sw);
	if (jv_num(sw, "l2_moves", -1) < 1)
		fail_msg("the switch did not move MAC %s to the receiver's vif: %s", mac, R.out);
	jv_free(doc);

	/* The client's requests all along: answered before and after, a few lost to the downtime at most. */
	doc = proc_net_json(&B, 300, why, sizeof(why));
	if (!doc)
		fail_msg("the client: %s", why);
	sent = jv_num(doc, "sent", -1);
	got = jv_num(doc, "received", -1);
	timeouts = jv_num(doc, "timeouts", -1);
	jv_free(doc);
	print_message("# echo client across the migration: %.0f sent, %.0f answered, %.0f timed out\n", sent, got,
		      timeouts);
	assert_true(sent == N);
	if (timeouts > 3 || got + timeouts != sent)
		fail_msg("%.0f of %u echoes answered, %.0f timeouts: %s", got, N, timeouts, B.out);
	proc_wait(&B, 30);
	assert_int_equal(B.status, 0);
	/* And a new domain reaches the migrated server too. */
	echo_is_answered("t-vr-mc2", "t-vr-mig", "10.63.0.12/24", "10.63.0.10:7", 20);
	assert_int_equal(RUN(&R, 20, "shutdown", "--run-dir", receiver_dir(), "t-vr-msrv"), 0);
	proc_wait(&Q, 20);
	assert_int_equal(Q.status, 0);
}

/* ---- taps (root) and dpdk ---- */

static char netns[32], tap[16];

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	strncat(cmd, " >/dev/null 2>&1", sizeof(cmd) - strlen(cmd) - 1);
	return system(cmd);
}

static int tap_teardown(void **state)
{
	harness_teardown(state);
	if (netns[0])
		sh("ip netns del %s", netns);
	netns[0] = 0;
	return 0;
}

static void need_tap(void)
{
	if (geteuid() != 0)
		SKIP_BECAUSE("needs root: the VMM creates a tap and moves it into a namespace");
	if (access("/dev/net/tun", R_OK | W_OK) < 0)
		SKIP_BECAUSE("no usable /dev/net/tun (modprobe tun)");
	if (sh("ip -V") != 0)
		SKIP_BECAUSE("no ip command (iproute2; ci/setup.sh installs it)");
	snprintf(netns, sizeof(netns), "xvr%d", (int)(getpid() % 100000));
	snprintf(tap, sizeof(tap), "xvr%d", (int)(getpid() % 100000));
	if (sh("ip netns add %s", netns) != 0)
		fail_msg("ip netns add %s failed", netns);
}

/* The host's side of the tap, once the VMM p has moved it into the namespace (again after a restore). */
static void host_addr_when_there(struct proc *p)
{
	for (double t0 = harness_now_s(); sh("ip -n %s addr add 10.64.0.1/24 dev %s", netns, tap) != 0;) {
		if (!proc_alive(p) || harness_now_s() - t0 > 60)
			fail_msg("tap %s never appeared in netns %s; stdout: %s\nstderr: %s", tap, netns, p->out, p->err);
		proc_pump(p, 0.01);
	}
}

/*
 * A tap vif: live migration is refused before anything stops, naming the
 * vif and why (the domain runs on, never paused); save and restore move
 * it (the saving VMM lets go of the tap as it ends, the restoring one
 * makes it again), and the host pings the restored guest through it.
 */
static void test_a_tap_vif_is_saved_and_restored_but_not_migrated_live(void **state)
{
	char vif[160], file[256], st[32], addr[64];

	(void)state;
	need_tap();
	harness_path(file, sizeof(file), "tap.xs");
	snprintf(vif, sizeof(vif), "mac=00:16:3e:00:64:02,port=tap:%s,netns=%s", tap, netns);
	proc_start(&P, (const char *const[]){ "run", "--name", "t-vr-tap", "-m", "32", "--vif", vif, "--cmdline",
					      "net-echo ip=10.64.0.2/24", NULL });
	host_addr_when_there(&P);
	if (!proc_wait_output(&P, "net-echo: ready vif=0", 60))
		fail_msg("never ready: %s\n%s", P.out, P.err);
	assert_int_equal(sh("ip netns exec %s ping -c 2 -W 5 10.64.0.2", netns), 0);

	start_receiver(&Q, addr, sizeof(addr));
	assert_int_not_equal(RUN(&R, 60, "migrate", "t-vr-tap", addr), 0);
	if (!strstr(R.err, "domain 't-vr-tap' cannot be migrated live: vif0 (port=tap:") ||
	    !strstr(R.err, "a tap vif cannot migrate live") || strstr(R.err, "round 0"))
		fail_msg("the refusal does not name the vif and why, or came after the copy began:\n%s", R.err);
	assert_true(harness_domain_state("t-vr-tap", st, sizeof(st)));
	assert_string_equal(st, "running");
	assert_int_equal(sh("ip netns exec %s ping -c 1 -W 5 10.64.0.2", netns), 0);
	proc_kill(&Q); /* the receiver, which got nothing */

	if (RUN(&R, 60, "save", "t-vr-tap", file) != 0)
		fail_msg("xenith save: status %d\n%s%s", R.status, R.out, R.err);
	proc_wait(&P, 20);
	assert_int_equal(P.status, 67);
	proc_start(&Q, (const char *const[]){ "restore", file, NULL });
	host_addr_when_there(&Q);
	if (sh("ip netns exec %s ping -c 3 -W 5 10.64.0.2", netns) != 0)
		fail_msg("the restored guest does not answer ping through its tap:\n%s%s", Q.out, Q.err);
	assert_int_equal(RUN(&R, 20, "shutdown", "t-vr-tap"), 0);
	proc_wait(&Q, 20);
	assert_int_equal(Q.status, 0);
}

/* A dpdk vif: save (and so migration) refused before anything stops, naming the vif and why. */
static void test_a_dpdk_vif_is_refused_for_save_naming_why(void **state)
{
	char st[32], file[256];

	(void)state;
	harness_path(file, sizeof(file), "dpdk.xs");
	if (geteuid() != 0)
		SKIP_BECAUSE("the DPDK EAL here needs root");
	proc_start(&P, (const char *const[]){ "run", "--name", "t-vr-dpdk", "-m", "32", "--vif",
					      "mac=00:16:3e:00:65:02,port=dpdk:net_null0", "--cmdline", "ticker 20", NULL });
	if (!proc_wait_output(&P, "tick 2", 60)) {
		proc_wait(&P, 5);
		if (strstr(P.err, "DPDK"))
			SKIP_BECAUSE("this build or host runs no DPDK vif (no xenith-dpdk, or the EAL did not start)");
		fail_msg("the domain did not start: %s\n%s", P.out, P.err);
	}
	assert_int_not_equal(RUN(&R, 60, "save", "t-vr-dpdk", file), 0);
	if (!strstr(R.err, "domain 't-vr-dpdk' cannot be saved: vif0 (port=dpdk:net_null0): save and migration of "
			   "vifs on DPDK ports are not supported"))
		fail_msg("the refusal does not name the vif and why:\n%s", R.err);
	assert_true(harness_domain_state("t-vr-dpdk", st, sizeof(st)));
	assert_string_equal(st, "running");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_a_domain_on_a_switch_is_saved_restored_and_answers_another_domain,
					  harness_teardown),
		cmocka_unit_test_teardown(test_a_domain_on_a_switch_migrates_live_while_another_domain_talks_to_it,
					  harness_teardown),
		cmocka_unit_test_teardown(test_a_restore_whose_vif_record_is_refused_ends_naming_it, harness_teardown),
		cmocka_unit_test_teardown(test_a_tap_vif_is_saved_and_restored_but_not_migrated_live, tap_teardown),
		cmocka_unit_test_teardown(test_a_dpdk_vif_is_refused_for_save_naming_why, harness_teardown),
	};

	harness_require_kvm();
	harness_run_dir();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
