// SPDX-License-Identifier: MIT
/*
 * kvm tier: the domain switch (`xenith switch`, io/switch.h) joining the
 * vifs of domains in separate VMM processes: echo and blast/sink from
 * one domain to another through it with matching counts, a hostile
 * netfront (spoofed source MACs, bad requests, a jumped ring) that only
 * gets drops while the other domains go on, a VMM killed with SIGKILL
 * whose vif leaves the switch, a switch that dies under a running
 * domain, and the toolstack's start/list/stop and its errors.  Needs only
 * /dev/kvm (no root: no tap, no host network).
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"
#include "jsondoc.h"

static struct proc SW, A, B, C, Q;
static pid_t daemons[4]; /* switches started without --foreground: their own session, the harness cannot see them */
static unsigned nr_daemons;

/* Notes the pid that `xenith switch start` printed ("... pid N"), for the teardown. */
static void note_daemon(const char *out)
{
	const char *p = strstr(out, " pid ");

	if (p && nr_daemons < sizeof(daemons) / sizeof(daemons[0]))
		daemons[nr_daemons++] = (pid_t)atoi(p + 5);
}

/* Kills the daemons a test started (stopped already when it passed), then what the harness knows. */
static int teardown_daemons(void **state)
{
	for (unsigned i = 0; i < nr_daemons; i++)
		if (daemons[i] > 0 && kill(daemons[i], 0) == 0) {
			fprintf(stderr, "test_switch: teardown kills switch pid %d, which the test left running\n",
				(int)daemons[i]);
			kill(daemons[i], SIGKILL);
		}
	nr_daemons = 0;
	return harness_teardown(state);
}

/* Reads p's output until its stderr contains needle; false on timeout. */
static bool wait_err(struct proc *p, const char *needle, double timeout_s)
{
	for (double t0 = harness_now_s(); !strstr(p->err, needle);) {
		if (harness_now_s() - t0 > timeout_s)
			return false;
		proc_pump(p, 0.1);
	}
	return true;
}

/* Starts switch name in the foreground (the harness kills it at teardown) and waits until it listens. */
static void start_switch(const char *name)
{
	char want[64];

	proc_start(&SW, (const char *const[]){ "switch", "start", name, "--foreground", NULL });
	snprintf(want, sizeof(want), "switch %s: socket ", name);
	if (!proc_wait_output(&SW, want, 30))
		fail_msg("switch %s did not start: %s\n%s", name, SW.out, SW.err);
}

/* Starts domain name with one vif (mac) on switch sw running cmdline; waits for the program's ready line. */
static void start_domain(struct proc *p, const char *name, const char *sw, const char *mac, const char *cmdline)
{
	char vif[128], want[64];

	snprintf(vif, sizeof(vif), "mac=%s,port=switch:%s", mac, sw);
	proc_start(p, (const char *const[]){ "run", "--name", name, "-m", "32", "--vif", vif, "--cmdline", cmdline,
					     NULL });
	snprintf(want, sizeof(want), ": ready vif=0 mac=%s", mac);
	if (!proc_wait_output(p, want, 60))
		fail_msg("%s never said ready; stdout: %s\nstderr: %s", name, p->out, p->err);
}

/* The program's "net-json: {...}" line, parsed (the caller frees it). */
static struct jv *net_json(struct proc *p, double timeout_s)
{
	char why[512];
	struct jv *doc = proc_net_json(p, timeout_s, why, sizeof(why));

	if (!doc)
		fail_msg("%s", why);
	return doc;
}

/* `xenith switch list NAME --json`, parsed: the switch's object (the caller frees the returned document). */
static struct jv *switch_list(const char *sw, const struct jv **obj)
{
	char err[128];
	struct jv *doc;

	if (RUN(&Q, 20, "switch", "list", sw, "--json") != 0)
		fail_msg("xenith switch list %s: %s", sw, Q.err);
	doc = jv_parse(Q.out, err, sizeof(err));
	if (!doc || doc->type != JV_ARR || doc->n != 1)
		fail_msg("xenith switch list --json is not one switch (%s): %s", doc ? "" : err, Q.out);
	*obj = &doc->items[0];
	return doc;
}

/* Counter key of domain's vif index in switch sw (-1: the vif is not attached). */
static double switch_vif_counter(const char *sw, const char *domain, unsigned vif, const char *key)
{
	const struct jv *s, *vifs;
	struct jv *doc = switch_list(sw, &s);
	double v = -1;

	vifs = jv_get(s, "vifs");
	for (size_t i = 0; vifs && i < vifs->n; i++)
		if (!strcmp(jv_str(&vifs->items[i], "domain", ""), domain) && jv_num(&vifs->items[i], "vif", -1) == vif)
			v = jv_num(&vifs->items[i], key, -1);
	jv_free(doc);
	return v;
}

/* A netback counter (per_queue[0].drops.KEY or per_queue[0].KEY) of domain's vif in switch sw. */
static double switch_queue_counter(const char *sw, const char *domain, unsigned vif, const char *key)
{
	const struct jv *s, *vifs;
	struct jv *doc = switch_list(sw, &s);
	double v = -1;

	vifs = jv_get(s, "vifs");
	for (size_t i = 0; vifs && i < vifs->n; i++) {
		const struct jv *x = &vifs->items[i], *pq, *drops;

		if (strcmp(jv_str(x, "domain", ""), domain) || jv_num(x, "vif", -1) != vif)
			continue;
		pq = jv_get(x, "per_queue");
		if (!pq || !pq->n)
			continue;
		drops = jv_get(&pq->items[0], "drops");
		if (jv_get(&pq->items[0], key) && jv_get(&pq->items[0], key)->type == JV_BOOL)
			v = jv_get(&pq->items[0], key)->b;
		else
			v = jv_num(&pq->items[0], key, drops ? jv_num(drops, key, -1) : -1);
	}
	jv_free(doc);
	return v;
}

/* Waits until domain's vif is attached (want) or not in switch sw. */
static void wait_attached(const char *sw, const char *domain, unsigned vif, bool want)
{
	for (double t0 = harness_now_s(); (switch_vif_counter(sw, domain, vif, "queues") >= 0) != want;) {
		if (harness_now_s() - t0 > 60)
			fail_msg("domain %s vif %u still %s switch %s after 60 s: %s", domain, vif,
				 want ? "not on" : "on", sw, Q.out);
		proc_pump(&SW, 0.1);
	}
}

/* Runs an echo client in a new domain against dst; asserts n round trips, none lost. */
static void echo_works(const char *name, const char *sw, const char *mac, const char *ip, const char *dst, unsigned n)
{
	char cmd[160];
	struct jv *doc;

	snprintf(cmd, sizeof(cmd), "net-echo ip=%s dst=%s count=%u timeout=2000", ip, dst, n);
	start_domain(&C, name, sw, mac, cmd);
	doc = net_json(&C, 120);
	if (jv_num(doc, "received", -1) != n || jv_num(doc, "sent", -1) != n || jv_num(doc, "timeouts", -1) != 0)
		fail_msg("%s: echo to %s through switch %s: %s", name, dst, sw, C.out);
	jv_free(doc);
	proc_wait(&C, 30);
	assert_int_equal(C.status, 0);
}

static void test_a_udp_echo_goes_from_one_domain_to_another_through_the_switch(void **state)
{
	enum { N = 200 };
	const struct jv *s;
	struct jv *doc;
	double fw;

	(void)state;
	start_switch("t-sw-echo");
	start_domain(&A, "t-sw-echo-a", "t-sw-echo", "00:16:3e:00:50:0a", "net-echo ip=10.50.0.10/24");
	wait_attached("t-sw-echo", "t-sw-echo-a", 0, true);
	assert_true(switch_vif_counter("t-sw-echo", "t-sw-echo-a", 0, "queues_connected") == 1);
	echo_works("t-sw-echo-b", "t-sw-echo", "00:16:3e:00:50:0b", "10.50.0.11/24", "10.50.0.10:7", N);
	/* A answered every request through the switch: N replies and its ARP reply, all unicast to B. */
	fw = switch_vif_counter("t-sw-echo", "t-sw-echo-a", 0, "forwarded");
	if (fw < N + 1)
		fail_msg("server forwarded %.0f frames, fewer than %u echoes + 1 ARP reply: %s", fw, N, Q.out);
	assert_true(switch_vif_counter("t-sw-echo", "t-sw-echo-a", 0, "received") >= N + 1); /* requests + ARP */
	assert_true(switch_vif_counter("t-sw-echo", "t-sw-echo-a", 0, "drop_queue_full") == 0);
	/* B's vif left with its VMM; the table learned A's MAC (and B's until it detached) */
	wait_attached("t-sw-echo", "t-sw-echo-b", 0, false);
	doc = switch_list("t-sw-echo", &s);
	assert_true(jv_num(s, "l2_entries", -1) >= 1);
	jv_free(doc);
	/* The VMM's own view: `xenith devices` carries the switch's counters for the vif. */
	assert_int_equal(RUN(&Q, 20, "devices", "t-sw-echo-a", "--json"), 0);
	if (!strstr(Q.out, "\"switch\":{\"name\":\"t-sw-echo\"") || !strstr(Q.out, "\"gone\":false") ||
	    !strstr(Q.out, "\"queues_connected\":1"))
		fail_msg("`xenith devices` lacks the switch's counters: %s", Q.out);
	/* and its own sums are the switch's netbacks': N replies and an ARP reply went out of A */
	{
		char want[64];
		unsigned long long tx = 0;
		const char *p = strstr(Q.out, "\"tx_packets\":");

		assert_non_null(p);
		tx = strtoull(p + strlen("\"tx_packets\":"), NULL, 10);
		snprintf(want, sizeof(want), "%llu", tx);
		if (tx < N + 1)
			fail_msg("`xenith devices` says vif0 sent %s frames, fewer than %u: %s", want, N + 1, Q.out);
	}
}

/* A two-queue vif on the switch: both queues connected there, the echo goes through. */
static void test_a_two_queue_vif_connects_both_queues_on_the_switch(void **state)
{
	char vif[128];

	(void)state;
	start_switch("t-sw-mq");
	snprintf(vif, sizeof(vif), "mac=00:16:3e:00:57:0a,port=switch:t-sw-mq,queues=2");
	proc_start(&A, (const char *const[]){ "run", "--name", "t-sw-mq-a", "-m", "32", "--vif", vif, "--cmdline",
					      "net-echo ip=10.57.0.10/24 queues=2", NULL });
	if (!proc_wait_output(&A, ": ready vif=0 mac=00:16:3e:00:57:0a", 60))
		fail_msg("t-sw-mq-a never said ready; stdout: %s\nstderr: %s", A.out, A.err);
	assert_true(switch_vif_counter("t-sw-mq", "t-sw-mq-a", 0, "queues") == 2);
	assert_true(switch_vif_counter("t-sw-mq", "t-sw-mq-a", 0, "queues_connected") == 2);
	echo_works("t-sw-mq-b", "t-sw-mq", "00:16:3e:00:57:0b", "10.57.0.11/24", "10.57.0.10:7", 50);
	assert_true(switch_vif_counter("t-sw-mq", "t-sw-mq-a", 0, "received") >= 51);
}

static void test_a_guest_blast_reaches_another_guests_sink_with_counts_matching(void **state)
{
	enum { N = 20000 };
	double sent, got, lost, full, norx, fwd;
	struct jv *doc;
	char cmd[160];

	(void)state;
	start_switch("t-sw-blast");
	start_domain(&A, "t-sw-sink", "t-sw-blast", "00:16:3e:00:51:0a", "net-sink ip=10.51.0.10/24 port=5001 idle=3000 hold=1");
	/* hold=1: both stay on the switch afterwards, so that its counters can be read */
	snprintf(cmd, sizeof(cmd), "net-blast ip=10.51.0.11/24 dst=10.51.0.10:5001 size=64 count=%u hold=1", N);
	start_domain(&B, "t-sw-blast-b", "t-sw-blast", "00:16:3e:00:51:0b", cmd);
	doc = net_json(&B, 120);
	sent = jv_num(doc, "sent", -1);
	jv_free(doc);
	assert_true(sent == N);
	doc = net_json(&A, 120); /* the sink ends 3 s after the last datagram */
	got = jv_num(doc, "packets", -1);
	lost = jv_num(doc, "lost", -1);
	assert_true(jv_num(doc, "duplicates", -1) == 0);
	assert_true(jv_num(doc, "bad", -1) == 0);
	jv_free(doc);
	/* Every datagram arrived, or the switch or the sink's netback counted where it was dropped. */
	fwd = switch_vif_counter("t-sw-blast", "t-sw-blast-b", 0, "forwarded");
	full = switch_vif_counter("t-sw-blast", "t-sw-blast-b", 0, "drop_queue_full");
	norx = switch_queue_counter("t-sw-blast", "t-sw-sink", 0, "no_rx_buffer");
	print_message("# blast %u: sink got %.0f, lost %.0f; switch forwarded %.0f, queue full %.0f; sink's "
		      "netback no_rx_buffer %.0f\n", N, got, lost, fwd, full, norx);
	assert_true(got >= 1);
	assert_true(got + lost <= N); /* the sink sees a loss as a gap: lost datagrams at the end it cannot see */
	/* B's only unicasts are the datagrams (its ARP request was flooded): each forwarded or dropped, once */
	assert_true(fwd + full == N);
	/* every loss counted where it happened: the switch (A's queue full) or A's netback (no buffer posted) */
	assert_true(full + norx == N - got);
}

static void test_a_hostile_netfront_on_the_switch_harms_only_itself(void **state)
{
	char err[128];
	const char *line;
	struct jv *hj;
	double spoofed, broken;

	(void)state;
	start_switch("t-sw-host");
	/* A bystander pair: B serves echo. */
	start_domain(&B, "t-sw-host-b", "t-sw-host", "00:16:3e:00:52:0b", "net-echo ip=10.52.0.11/24");
	/* H: vif 0 hostile, vif 1 good (10.52.0.3), both on the switch. */
	proc_start(&A, (const char *const[]){ "run", "--name", "t-sw-host-h", "-m", "32", "--kernel", harness_minios(),
					      "--vif", "mac=00:16:3e:00:52:10,port=switch:t-sw-host,mode=exit",
					      "--vif", "mac=00:16:3e:00:52:03,port=switch:t-sw-host",
					      "--cmdline", "net-hostile flood=2000 jump=1 ip1=10.52.0.3/24", NULL });
	if (!proc_wait_output(&A, "net-hostile: vif 1 ready", 180))
		fail_msg("net-hostile never got to vif 1: %s\n%s", A.out, A.err);
	assert_non_null(strstr(A.out, "net-hostile: all checks passed"));
	line = strstr(A.out, "net-hostile-json: ");
	assert_non_null(line);
	line += strlen("net-hostile-json: ");
	{
		char buf[1024];

		snprintf(buf, sizeof(buf), "%.*s", (int)strcspn(line, "\n"), line);
		hj = jv_parse(buf, err, sizeof(err));
	}
	assert_non_null(hj);
	/* The switch's netback for H's vif 0 dropped and counted every spoofed frame, and stopped that queue. */
	spoofed = switch_queue_counter("t-sw-host", "t-sw-host-h", 0, "spoofed_mac");
	broken = switch_queue_counter("t-sw-host", "t-sw-host-h", 0, "broken");
	if (spoofed < jv_num(hj, "spoofed_mac", 1e9))
		fail_msg("spoofed_mac %.0f < the %.0f the guest sent: %s", spoofed, jv_num(hj, "spoofed_mac", -1), Q.out);
	assert_true(broken == 1);
	/* No spoofed frame reached the switch's table: only the vifs' own MACs were learned. */
	assert_true(switch_vif_counter("t-sw-host", "t-sw-host-h", 0, "drop_spoofed") == 0);
	jv_free(hj);
	/* Everyone else goes on: the switch answers, B echoes, H's good vif echoes. */
	echo_works("t-sw-host-c", "t-sw-host", "00:16:3e:00:52:0c", "10.52.0.12/24", "10.52.0.11:7", 20);
	echo_works("t-sw-host-d", "t-sw-host", "00:16:3e:00:52:0d", "10.52.0.13/24", "10.52.0.3:7", 20);
	assert_true(proc_alive(&SW));
}

static void test_a_vmm_killed_with_sigkill_leaves_the_switch_and_the_others_go_on(void **state)
{
	(void)state;
	start_switch("t-sw-kill");
	start_domain(&A, "t-sw-kill-a", "t-sw-kill", "00:16:3e:00:53:0a", "net-echo ip=10.53.0.10/24");
	start_domain(&B, "t-sw-kill-b", "t-sw-kill", "00:16:3e:00:53:0b", "net-echo ip=10.53.0.11/24");
	wait_attached("t-sw-kill", "t-sw-kill-a", 0, true);
	kill(A.pid, SIGKILL);
	wait_attached("t-sw-kill", "t-sw-kill-a", 0, false);
	if (!wait_err(&SW, "detached domain t-sw-kill-a", 30))
		fail_msg("the switch did not say it detached A: %s", SW.err);
	assert_true(switch_vif_counter("t-sw-kill", "t-sw-kill-b", 0, "queues_connected") == 1);
	echo_works("t-sw-kill-c", "t-sw-kill", "00:16:3e:00:53:0c", "10.53.0.12/24", "10.53.0.11:7", 20);
	/* A's MAC may be reused by a new domain at once: the switch forgot it. */
	echo_works("t-sw-kill-a2", "t-sw-kill", "00:16:3e:00:53:0a", "10.53.0.10/24", "10.53.0.11:7", 5);
}

static void test_a_switch_that_dies_leaves_the_domain_running_with_the_vif_disconnected(void **state)
{
	char state_[32];

	(void)state;
	start_switch("t-sw-die");
	start_domain(&A, "t-sw-die-a", "t-sw-die", "00:16:3e:00:54:0a", "net-echo ip=10.54.0.10/24");
	kill(SW.pid, SIGKILL);
	if (!wait_err(&A, "switch t-sw-die (", 30))
		fail_msg("the VMM did not say its switch went: %s", A.err);
	assert_non_null(strstr(A.err, "is gone; the vif is disconnected"));
	assert_true(proc_alive(&A));
	assert_true(harness_domain_state("t-sw-die-a", state_, sizeof(state_)));
	assert_string_equal(state_, "running");
	assert_int_equal(RUN(&Q, 20, "devices", "t-sw-die-a", "--json"), 0);
	if (!strstr(Q.out, "\"queues_connected\":0") || !strstr(Q.out, "\"gone\":true"))
		fail_msg("`xenith devices` of a vif whose switch died: %s", Q.out);
}

/* Every reboot rebuilds the vif: the VMM (under its seccomp filter) hands it to the switch again, the old one goes. */
static void test_a_rebooting_domain_reattaches_its_vif_each_boot(void **state)
{
	unsigned boots0;

	(void)state;
	start_switch("t-sw-reboot");
	proc_start(&A, (const char *const[]){ "run", "--name", "t-sw-reboot-a", "-m", "32", "--vif",
					      "mac=00:16:3e:00:56:0a,port=switch:t-sw-reboot", "--cmdline", "reboot", NULL });
	assert_true(proc_wait_output(&A, "reboot: asking", 60));
	boots0 = proc_count(&A, "reboot: asking");
	if (!proc_wait_count(&A, "reboot: asking", boots0 + 10, 120))
		fail_msg("10 more reboots did not come (%u so far, %s): %s", proc_count(&A, "reboot: asking"),
			 proc_alive(&A) ? "running" : "ended", A.err);
	assert_true(proc_alive(&A));
	/* one attach per boot, each detached before the next: the vif is on the switch once */
	if (!wait_err(&SW, "detached domain t-sw-reboot-a", 30))
		fail_msg("no detach on reboot: %s", SW.err);
	{
		const struct jv *s, *vifs;
		struct jv *doc = switch_list("t-sw-reboot", &s);

		vifs = jv_get(s, "vifs");
		assert_non_null(vifs);
		assert_true(vifs->n <= 1);
		jv_free(doc);
	}
	{
		unsigned attaches = 0;

		for (const char *p = SW.err; (p = strstr(p, "attached domain t-sw-reboot-a")); p++)
			attaches++;
		assert_true(attaches >= 10);
	}
}

static void test_switch_start_list_stop_and_their_errors(void **state)
{
	char sock[512];
	struct stat st;

	(void)state;
	/* A vif on a switch that is not running: the build fails naming the socket and the command. */
	snprintf(sock, sizeof(sock), "%s/switch/t-sw-none.sock", harness_run_dir());
	assert_int_equal(RUN(&A, 60, "run", "--name", "t-sw-none", "-m", "32", "--vif",
			     "mac=00:16:3e:00:55:0a,port=switch:t-sw-none", "--cmdline", "net-echo"), 65);
	if (!strstr(A.err, sock) || !strstr(A.err, "`xenith switch start t-sw-none`"))
		fail_msg("the error lacks the socket %s or the command: %s", sock, A.err);
	/* start: daemonizes, says where its socket is; a second start of the name is refused. */
	assert_int_equal(RUN(&Q, 20, "switch", "start", "t-sw-cli"), 0);
	note_daemon(Q.out);
	snprintf(sock, sizeof(sock), "switch t-sw-cli: socket %s/switch/t-sw-cli.sock pid ", harness_run_dir());
	if (!strstr(Q.out, sock))
		fail_msg("start did not say where its socket is: %s", Q.out);
	snprintf(sock, sizeof(sock), "%s/switch/t-sw-cli.sock", harness_run_dir());
	assert_int_equal(stat(sock, &st), 0);
	assert_true((st.st_mode & 0777) == 0600);
	assert_true(S_ISSOCK(st.st_mode));
	{
		/* the server is confined: a seccomp filter, no-new-privileges, no capability left */
		char path[64], status[4096];
		int pid = atoi(strstr(Q.out, " pid ") + 5);
		FILE *f;
		size_t n;

		snprintf(path, sizeof(path), "/proc/%d/status", pid);
		f = fopen(path, "r");
		assert_non_null(f);
		n = fread(status, 1, sizeof(status) - 1, f);
		status[n] = 0;
		fclose(f);
		if (!strstr(status, "\nSeccomp:\t2\n") || !strstr(status, "\nNoNewPrivs:\t1\n") ||
		    !strstr(status, "\nCapEff:\t0000000000000000\n") || !strstr(status, "\nCapBnd:\t0000000000000000\n"))
			fail_msg("the switch (pid %d) is not confined: %s", pid, status);
	}
	assert_int_equal(RUN(&Q, 20, "switch", "start", "t-sw-cli"), 65);
	assert_non_null(strstr(Q.err, "a switch named 't-sw-cli' is already running"));
	/* list: the table; stop: the process ends, the socket goes, list says none. */
	assert_int_equal(RUN(&Q, 20, "switch", "list"), 0);
	assert_non_null(strstr(Q.out, "switch t-sw-cli pid "));
	assert_int_equal(RUN(&Q, 20, "switch", "stop", "t-sw-cli"), 0);
	assert_int_equal(stat(sock, &st), -1);
	assert_int_equal(RUN(&Q, 20, "switch", "list"), 0);
	assert_non_null(strstr(Q.out, "no switch is running"));
	assert_int_not_equal(RUN(&Q, 20, "switch", "stop", "t-sw-cli"), 0);
	assert_non_null(strstr(Q.err, "no switch named 't-sw-cli' answers"));
}

/* `xenith run --run-dir D` finds the switch that `xenith switch start --run-dir D` started, whatever the environment says. */
static void test_run_dir_given_on_the_command_line_finds_the_switch(void **state)
{
	char rd[512];

	(void)state;
	harness_path(rd, sizeof(rd), "rd2");
	assert_int_equal(RUN(&Q, 20, "switch", "start", "t-sw-rd", "--run-dir", rd), 0);
	note_daemon(Q.out);
	proc_start(&A, (const char *const[]){ "run", "--run-dir", rd, "--name", "t-sw-rd-a", "-m", "32", "--vif",
					      "mac=00:16:3e:00:58:0a,port=switch:t-sw-rd", "--cmdline",
					      "net-echo ip=10.58.0.10/24", NULL });
	if (!proc_wait_output(&A, ": ready vif=0 mac=00:16:3e:00:58:0a", 60))
		fail_msg("a domain run with --run-dir %s did not reach its switch: %s\n%s", rd, A.out, A.err);
	proc_kill(&A);
	assert_int_equal(RUN(&Q, 20, "switch", "stop", "t-sw-rd", "--run-dir", rd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_a_udp_echo_goes_from_one_domain_to_another_through_the_switch,
					  harness_teardown),
		cmocka_unit_test_teardown(test_a_two_queue_vif_connects_both_queues_on_the_switch, harness_teardown),
		cmocka_unit_test_teardown(test_a_guest_blast_reaches_another_guests_sink_with_counts_matching,
					  harness_teardown),
		cmocka_unit_test_teardown(test_a_hostile_netfront_on_the_switch_harms_only_itself, harness_teardown),
		cmocka_unit_test_teardown(test_a_vmm_killed_with_sigkill_leaves_the_switch_and_the_others_go_on,
					  harness_teardown),
		cmocka_unit_test_teardown(test_a_switch_that_dies_leaves_the_domain_running_with_the_vif_disconnected,
					  harness_teardown),
		cmocka_unit_test_teardown(test_a_rebooting_domain_reattaches_its_vif_each_boot, harness_teardown),
		cmocka_unit_test_teardown(test_switch_start_list_stop_and_their_errors, teardown_daemons),
		cmocka_unit_test_teardown(test_run_dir_given_on_the_command_line_finds_the_switch, teardown_daemons),
	};

	harness_require_kvm();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
