// SPDX-License-Identifier: MIT
/*
 * kvm tier: real domains on /dev/kvm through the real `xenith` command.
 * The guest side of each check lives in guest/ (a minios program); the
 * host side asserts on what came out: console text, exit status, the
 * crash report.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"
#include "jsondoc.h"


static struct proc P, Q;

static void test_hello_boots_and_prints_a_greeting(void **state)
{
	(void)state;
	assert_int_equal(RUN(&P, 20, "run", "--name", "t-hello"), 0);
	assert_non_null(strstr(P.out, "hello"));
	assert_non_null(strstr(P.out, "t-hello"));
}

/*
 * The bundled image (what `xenith run` boots) leaves the test programs out,
 * so an idle domain does not carry them in memory; the test image this
 * tier boots has them (guest/programs.h).
 */
static void test_bundled_image_has_no_test_programs_and_test_image_has_them(void **state)
{
	(void)state;
	assert_int_equal(RUN(&P, 20, "run", "--name", "t-bundled", "--kernel", harness_minios_bundled(),
			     "--cmdline", "hostile"), 2);
	assert_non_null(strstr(P.out, "unknown program 'hostile'"));
	assert_non_null(strstr(P.out, "(the test programs are in guest/minios-test)"));
	assert_null(strstr(P.out, " xenbus"));
	assert_int_equal(RUN(&P, 20, "run", "--name", "t-testimg", "--kernel", harness_minios(),
			     "--cmdline", "nonesuch"), 2);
	assert_non_null(strstr(P.out, "unknown program 'nonesuch'"));
	assert_non_null(strstr(P.out, " hostile"));
	assert_non_null(strstr(P.out, " xenbus"));
	assert_non_null(strstr(P.out, " hello"));
}

static void smp_reports_all(unsigned n)
{
	char vcpus[8], want[64];

	snprintf(vcpus, sizeof(vcpus), "%u", n);
	/* The guest gives its vCPUs 60 s of host time (guest/programs.c): slow under emulation, not lost. */
	assert_int_equal(RUN(&P, 120, "run", "--name", "t-smp", "--vcpus", vcpus, "--cmdline", "smp"), 0);
	snprintf(want, sizeof(want), "smp: %u of %u vCPUs up", n, n);
	assert_int_equal(proc_count_lines(&P, want), 1);
	for (unsigned k = 1; k < n; k++) {
		snprintf(want, sizeof(want), "vcpu %u: up", k);
		assert_int_equal(proc_count_lines(&P, want), 1);
	}
}

static void test_smp_one_vcpu_reports_in(void **state)
{
	(void)state;
	smp_reports_all(1);
}

static void test_smp_two_vcpus_report_in(void **state)
{
	(void)state;
	smp_reports_all(2);
}

static void test_smp_eight_vcpus_report_in(void **state)
{
	(void)state;
	smp_reports_all(8);
}

static void test_guest_exit_code_reaches_exit_status(void **state)
{
	(void)state;
	assert_int_equal(RUN(&P, 20, "run", "--name", "t-exit", "--cmdline", "exit 7"), 7);
	assert_int_equal(RUN(&P, 20, "run", "--name", "t-exit", "--cmdline", "exit 0"), 0);
	assert_int_equal(RUN(&P, 20, "run", "--name", "t-exit", "--cmdline", "exit 63"), 63);
	/* codes past 63 would collide with xenith's own statuses */
	assert_int_equal(RUN(&P, 20, "run", "--name", "t-exit", "--cmdline", "exit 200"), 63);
}

static void test_faulting_guest_is_reported_crashed_with_rip_and_symbol(void **state)
{
	(void)state;
	assert_int_equal(RUN(&P, 20, "run", "--name", "t-crash", "--cmdline", "crash"), 66);
	assert_non_null(strstr(P.err, "crashed"));
	/* PVM hosts: a triple fault; VT-x/AMD-V hosts: the exception itself, through the stub IDT */
	assert_true(strstr(P.err, "triple fault") || strstr(P.err, "exception #PF page fault"));
	assert_non_null(strstr(P.err, "rip 0x"));
	assert_non_null(strstr(P.err, "<crash_null_deref+0x"));
}

static void test_guest_assert_reports_file_line_and_expression(void **state)
{
	(void)state;
	assert_int_equal(RUN(&P, 20, "run", "--name", "t-assert", "--cmdline", "assert"), 66);
	assert_non_null(strstr(P.err, "guest assertion failed at "));
	assert_non_null(strstr(P.err, ".c:"));
	assert_non_null(strstr(P.err, "1 + 1"));
}

static void test_bad_hypercalls_get_enosys_and_efault_and_domain_goes_on(void **state)
{
	(void)state;
	/* The checks run in the guest; a failure there is a GUEST_ASSERT (status 66). */
	setenv("XENITH_TEST_HOOKS", "1", 1); /* its xenith_test echo */
	assert_int_equal(RUN(&P, 20, "run", "--name", "t-hcall", "--cmdline", "hypercall"), 0);
	unsetenv("XENITH_TEST_HOOKS");
	assert_non_null(strstr(P.out, "-38"));
	assert_non_null(strstr(P.out, "-14"));
	assert_non_null(strstr(P.out, "hypercall: all checks passed"));
}

static void test_guest_allocator_self_test_passes(void **state)
{
	(void)state;
	assert_int_equal(RUN(&P, 20, "run", "--name", "t-mem", "--memory", "32", "--cmdline", "mem"), 0);
	assert_non_null(strstr(P.out, "mem: ok"));
}

static void test_spinning_guest_is_ended_by_timeout(void **state)
{
	(void)state;
	assert_int_equal(RUN(&P, 30, "run", "--name", "t-spin", "--cmdline", "spin", "--timeout", "1"), 68);
	assert_non_null(strstr(P.out, "spin"));
	assert_non_null(strstr(P.err, "--timeout"));
}

static int xenith_ctl(const char *cmd, const char *name)
{
	return RUN(&Q, 20, cmd, name);
}

static void test_pause_unpause_and_shutdown_through_control_socket(void **state)
{
	char st[32], next[32];
	unsigned before, after;

	(void)state;
	proc_start(&P, (const char *const[]){ "run", "--name", "t-ctl", "--cmdline", "ticker 20", NULL });
	assert_true(proc_wait_line(&P, "tick 3", 20));

	assert_true(harness_domain_state("t-ctl", st, sizeof(st)));
	assert_string_equal(st, "running");

	/* pause returns once no guest code runs; the list says so */
	assert_int_equal(xenith_ctl("pause", "t-ctl"), 0);
	assert_true(harness_domain_state("t-ctl", st, sizeof(st)));
	assert_string_equal(st, "paused");
	/*
	 * The guest's console writes are drained inside its hypercall, so every
	 * tick it printed before the pause is in our pipe already: then no new
	 * one for 50 periods.
	 */
	before = proc_count(&P, "tick ");
	proc_pump(&P, 1.0);
	after = proc_count(&P, "tick ");
	if (after != before)
		fail_msg("%u ticks while paused:\n%s", after - before, P.out);

	/* unpaused, it ticks on: the next tick comes (whenever the host lets it) */
	assert_int_equal(xenith_ctl("unpause", "t-ctl"), 0);
	assert_true(harness_domain_state("t-ctl", st, sizeof(st)));
	assert_string_equal(st, "running");
	snprintf(next, sizeof(next), "tick %u", after + 1);
	assert_true(proc_wait_line(&P, next, 20));

	assert_int_equal(xenith_ctl("shutdown", "t-ctl"), 0);
	proc_wait(&P, 20);
	assert_int_equal(P.status, 0);
	assert_non_null(strstr(P.out, "shutdown requested"));
}

static void test_destroy_ends_domain_and_frees_its_name(void **state)
{
	(void)state;
	proc_start(&P, (const char *const[]){ "run", "--name", "t-destroy", "--cmdline", "idle", NULL });
	assert_true(proc_wait_output(&P, "idle: waiting", 20));
	assert_int_equal(xenith_ctl("destroy", "t-destroy"), 0);
	proc_wait(&P, 20);
	assert_int_equal(P.status, 67);
	/* the name is free again at once */
	assert_int_equal(RUN(&P, 20, "run", "--name", "t-destroy"), 0);
}

/*
 * `xenith memmap`: the regions of a running domain's memory map.  The RAM
 * regions and holes tile the configured memory exactly, in address order,
 * each RAM region in its own KVM slot; the special pages (the ones a PV
 * guest has: start_info, shared_info, the console and xenstore rings, the
 * GDT) each lie inside a RAM region and have no slot of their own.
 */
static void test_memmap_lists_regions_that_tile_guest_memory(void **state)
{
	static const char *const specials[] = { "start_info", "shared_info", "console", "gdt", "xenstore" };
	const uint64_t mem = 16ull << 20;
	struct jv *doc;
	const struct jv *regions;
	char err[128];
	uint64_t next = 0, slots = 0;
	unsigned found[sizeof(specials) / sizeof(specials[0])] = { 0 };

	(void)state;
	proc_start(&P, (const char *const[]){ "run", "--name", "t-memmap", "-m", "16", "--cmdline", "idle", NULL });
	assert_true(proc_wait_output(&P, "idle: waiting", 20));
	assert_int_equal(RUN(&Q, 20, "memmap", "t-memmap", "--json"), 0);
	doc = jv_parse(Q.out, err, sizeof(err));
	if (!doc)
		fail_msg("memmap --json: %s: %s", err, Q.out);
	regions = jv_get(doc, "memmap");
	assert_non_null(regions);
	assert_int_equal(regions->type, JV_ARR);
	for (size_t i = 0; i < regions->n; i++) {
		const struct jv *r = &regions->items[i];
		const char *type = jv_str(r, "type", "?"), *name = jv_str(r, "name", "?");
		uint64_t gpa = (uint64_t)jv_num(r, "gpa", -1), size = (uint64_t)jv_num(r, "size", 0);
		int slot = (int)jv_num(r, "slot", -2);

		if (!strcmp(type, "special")) {
			bool inside = false;

			assert_int_equal(size, 4096);
			assert_int_equal(slot, -1);
			for (size_t k = 0; k < regions->n; k++) {
				const struct jv *o = &regions->items[k];
				uint64_t og = (uint64_t)jv_num(o, "gpa", -1);

				inside |= !strcmp(jv_str(o, "type", ""), "ram") && og <= gpa &&
					  gpa + size <= og + (uint64_t)jv_num(o, "size", 0);
			}
			if (!inside)
				fail_msg("special page %s at 0x%llx is in no RAM region", name, (unsigned long long)gpa);
			for (size_t k = 0; k < sizeof(specials) / sizeof(specials[0]); k++)
				found[k] += !strcmp(name, specials[k]);
			continue;
		}
		if (gpa != next)
			fail_msg("region %s starts at 0x%llx, the one before ended at 0x%llx", name,
				 (unsigned long long)gpa, (unsigned long long)next);
		next = gpa + size;
		if (!strcmp(type, "ram")) {
			assert_true(slot >= 0 && slot < 64);
			assert_false(slots >> slot & 1); /* a slot of its own */
			slots |= 1ull << slot;
		} else {
			assert_string_equal(type, "hole");
			assert_int_equal(slot, -1);
		}
		assert_false(jv_bool(r, "dirty_log", true));
	}
	assert_int_equal(next, mem);
	for (size_t k = 0; k < sizeof(specials) / sizeof(specials[0]); k++)
		if (found[k] != 1)
			fail_msg("special page %s listed %u times", specials[k], found[k]);
	jv_free(doc);
	/* the table for people: a header and the MMIO test hole */
	assert_int_equal(RUN(&Q, 20, "memmap", "t-memmap"), 0);
	assert_non_null(strstr(Q.out, "GUEST-PHYSICAL"));
	assert_non_null(strstr(Q.out, "hole     mmio-test"));
	assert_int_equal(xenith_ctl("destroy", "t-memmap"), 0);
	proc_wait(&P, 20);
}

static void test_two_domains_at_once_and_names_are_unique(void **state)
{
	struct proc a, b;

	(void)state;
	proc_start(&a, (const char *const[]){ "run", "--name", "t-two-a", "--cmdline", "idle", NULL });
	proc_start(&b, (const char *const[]){ "run", "--name", "t-two-b", "--cmdline", "idle", NULL });
	assert_true(proc_wait_output(&a, "idle: waiting", 20));
	assert_true(proc_wait_output(&b, "idle: waiting", 20));
	assert_int_equal(RUN(&Q, 20, "list"), 0);
	assert_non_null(strstr(Q.out, "t-two-a"));
	assert_non_null(strstr(Q.out, "t-two-b"));

	/* a third domain may not take a name in use */
	assert_int_equal(RUN(&P, 20, "run", "--name", "t-two-a"), 64);
	assert_non_null(strstr(P.err, "already running"));

	assert_int_equal(xenith_ctl("shutdown", "t-two-a"), 0);
	assert_int_equal(xenith_ctl("shutdown", "t-two-b"), 0);
	proc_wait(&a, 20);
	proc_wait(&b, 20);
	assert_int_equal(a.status, 0);
	assert_int_equal(b.status, 0);
}

static void test_killed_vmm_leaves_no_stale_socket_that_breaks_next_run(void **state)
{
	(void)state;
	proc_start(&P, (const char *const[]){ "run", "--name", "t-stale", "--cmdline", "idle", NULL });
	assert_true(proc_wait_output(&P, "idle: waiting", 20));
	kill(P.pid, SIGKILL);
	proc_wait(&P, 20);
	assert_int_equal(RUN(&Q, 20, "list"), 0);
	assert_null(strstr(Q.out, "t-stale"));
	assert_int_equal(RUN(&P, 20, "run", "--name", "t-stale"), 0);
}

static void test_console_attaches_to_running_domain(void **state)
{
	struct proc c;
	unsigned printed;
	char live[32];

	(void)state;
	proc_start(&P, (const char *const[]){ "run", "--name", "t-cons", "--cmdline", "ticker 20", NULL });
	assert_true(proc_wait_line(&P, "tick 2", 20));
	proc_start(&c, (const char *const[]){ "console", "t-cons", NULL });
	/* history first: the client's output starts with the guest's first line */
	assert_true(proc_wait_line(&c, "tick 1", 20));
	if (strncmp(c.out, "tick 1\ntick 2\n", 14))
		fail_msg("console output does not start with the history:\n%.300s", c.out);
	/*
	 * then live lines: the VMM writes a line to its stdout before it adds it
	 * to the history, so every tick past what P printed by now is live.
	 */
	printed = proc_count(&P, "tick ");
	snprintf(live, sizeof(live), "tick %u", printed + 2);
	assert_true(proc_wait_line(&c, live, 20));
	assert_int_equal(RUN(&Q, 20, "destroy", "t-cons"), 0);
	proc_wait(&P, 20);
	assert_int_equal(P.status, 67);
	/* the client follows the console until the domain ends */
	proc_wait(&c, 20);
	assert_int_equal(c.status, 0);
}

static void test_memory_too_small_is_an_error_before_anything_runs(void **state)
{
	(void)state;
	assert_int_equal(RUN(&P, 20, "run", "--name", "t-small", "--memory", "2", "--vcpus", "64"), 65);
	assert_non_null(strstr(P.err, "too small"));
	assert_null(strstr(P.out, "hello"));
}


static void test_reboot_with_on_reboot_destroy_ends_with_status_69(void **state)
{
	(void)state;
	assert_int_equal(RUN(&P, 20, "run", "--name", "t-reboot", "--cmdline", "reboot",
			     "--on-reboot", "destroy"), 69);
	/* booted once, asked once, and the end says why (not only the name t-reboot) */
	assert_int_equal(proc_count_lines(&P, "reboot: asking the VMM to reboot this domain"), 1);
	assert_non_null(strstr(P.err, "xenith: domain 't-reboot' (id "));
	assert_non_null(strstr(P.err, ") asked to reboot\n"));
	assert_null(strstr(P.err, "restarting it"));
}

/* Lines "xenith: domain 'NAME' <why>; restarting it" in text. */
static unsigned count_restarts(const char *text, const char *name)
{
	char head[96];
	unsigned n = 0;

	snprintf(head, sizeof(head), "xenith: domain '%s' ", name);
	for (const char *s = text; *s;) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);

		if (!strncmp(s, head, strlen(head)) && len >= 15 && !strncmp(s + len - 15, "; restarting it", 15))
			n++;
		if (!nl)
			break;
		s = nl + 1;
	}
	return n;
}

static void test_crash_with_on_crash_restart_boots_again(void **state)
{
	(void)state;
	/* crashes, restarts, crashes ... until destroyed */
	proc_start(&P, (const char *const[]){ "run", "--name", "t-restart", "--cmdline", "crash",
					      "--on-crash", "restart", NULL });
	if (!proc_wait_count(&P, "crash: dereferencing NULL\n", 3, 60))
		fail_msg("not 3 boots within 60 s:\n%s\n--- stderr ---\n%s", P.out, P.err);
	assert_true(proc_alive(&P));
	assert_int_equal(RUN(&Q, 20, "destroy", "t-restart"), 0);
	proc_wait(&P, 20);
	assert_int_equal(P.status, 67);
	/* each boot but the last ended in a crash that was reported and restarted */
	assert_true(proc_count(&P, "crash: dereferencing NULL\n") >= 3);
	assert_true(count_restarts(P.err, "t-restart") >= 2);
}

static void test_shutdown_reboot_request_restarts_the_guest(void **state)
{
	(void)state;
	proc_start(&P, (const char *const[]){ "run", "--name", "t-rb", "--cmdline", "ticker 20", NULL });
	assert_true(proc_wait_line(&P, "tick 3", 20));
	assert_int_equal(RUN(&Q, 20, "shutdown", "--reboot", "t-rb"), 0);
	assert_true(proc_wait_line(&P, "ticker: reboot requested", 20));
	/* the guest started over: "tick 1" is printed a second time, after the request */
	for (int i = 0; i < 1000 && proc_count_lines(&P, "tick 1") < 2 && proc_alive(&P); i++)
		proc_pump(&P, 0.02);
	assert_int_equal(proc_count_lines(&P, "tick 1"), 2);
	assert_true(strstr(P.out, "ticker: reboot requested\n") < strstr(strstr(P.out, "tick 1\n") + 1, "tick 1\n"));
	assert_non_null(strstr(P.err, "xenith: domain 't-rb' asked to reboot; restarting it\n"));
	assert_int_equal(RUN(&Q, 20, "list", "--json"), 0);
	assert_non_null(strstr(Q.out, "\"restarts\":1"));
	assert_int_equal(RUN(&Q, 20, "shutdown", "-w", "t-rb"), 0);
	proc_wait(&P, 20);
	assert_int_equal(P.status, 0);
}

static void test_preserved_crashed_domain_stays_until_destroyed(void **state)
{
	(void)state;
	proc_start(&P, (const char *const[]){ "run", "--name", "t-keep", "--cmdline", "crash",
					      "--on-crash", "preserve", NULL });
	assert_true(proc_wait_output(&P, "dereferencing NULL", 20));
	/* it is listed as crashed, and its VMM stays (on_crash = destroy would end it at once) */
	assert_true(harness_wait_domain_state("t-keep", "crashed", 20));
	proc_pump(&P, 1.0);
	if (!proc_alive(&P))
		fail_msg("the VMM of a preserved crashed domain ended by itself (status %d):\n%s", P.status, P.err);
	/* a crashed domain cannot be paused or asked to shut down; it can be destroyed */
	assert_int_equal(RUN(&Q, 20, "pause", "t-keep"), 1);
	assert_non_null(strstr(Q.err, "crashed"));
	assert_int_equal(RUN(&Q, 20, "destroy", "t-keep"), 0);
	proc_wait(&P, 20);
	assert_int_equal(P.status, 66); /* it ended because it crashed */
	assert_non_null(strstr(P.err, "<crash_null_deref+"));
}

static void test_control_commands_on_unknown_domain_fail_clearly(void **state)
{
	(void)state;
	assert_int_equal(RUN(&Q, 20, "pause", "no-such-domain"), 1);
	assert_non_null(strstr(Q.err, "no running domain named 'no-such-domain'"));
	assert_int_equal(RUN(&Q, 20, "shutdown", "idle-less"), 1);
	assert_int_equal(RUN(&Q, 20, "destroy"), 64);
}

static void test_shutdown_of_guest_that_does_not_listen_says_use_destroy(void **state)
{
	(void)state;
	proc_start(&P, (const char *const[]){ "run", "--name", "t-deaf", "--cmdline", "spin", NULL });
	assert_true(proc_wait_output(&P, "spin: looping", 20));
	assert_int_equal(RUN(&Q, 20, "shutdown", "t-deaf"), 1);
	assert_non_null(strstr(Q.err, "xenith destroy t-deaf"));
	/* pause works on a guest that never exits to the VMM */
	assert_int_equal(RUN(&Q, 20, "pause", "t-deaf"), 0);
	assert_true(harness_wait_domain_state("t-deaf", "paused", 20));
	assert_int_equal(RUN(&Q, 20, "destroy", "t-deaf"), 0);
	proc_wait(&P, 20);
	assert_int_equal(P.status, 67);
}

/*
 * A child process that connects to NAME's control socket and sends a
 * space every 100 ms, a request line that never ends, for up to 30 s.  It
 * exits 0 when the connection ends without a reply (the VMM went away), 3
 * when the VMM gave up on it with an error reply, 1 after 30 s.
 */
static pid_t start_trickler(const char *name)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), ready[2];
	pid_t pid;
	char c;

	assert_true(fd >= 0);
	assert_true(snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/%s.sock", harness_run_dir(),
			     name) < (int)sizeof(addr.sun_path));
	assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		for (int i = 0; i < 300; i++) {
			struct pollfd p = { .fd = fd, .events = POLLIN };

			if (send(fd, " ", 1, MSG_NOSIGNAL) != 1)
				_exit(0);
			if (i == 0 && write(ready[1], "t", 1) != 1)
				_exit(2);
			if (poll(&p, 1, 100) > 0) {
				char buf[256];

				_exit(recv(fd, buf, sizeof(buf), 0) > 0 ? 3 : 0);
			}
		}
		_exit(1);
	}
	close(fd);
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1); /* its first byte is out */
	close(ready[0]);
	return pid;
}

static void test_destroy_gets_through_while_a_client_trickles(void **state)
{
	pid_t trickler;
	int status, tstatus;

	(void)state;
	proc_start(&P, (const char *const[]){ "run", "--name", "t-trickle", "--cmdline", "idle", NULL });
	assert_true(proc_wait_output(&P, "idle: waiting", 20));
	trickler = start_trickler("t-trickle");
	status = RUN(&Q, 20, "destroy", "t-trickle");
	proc_wait(&P, 20);
	if (status != 0)
		kill(trickler, SIGKILL); /* else it ends with the VMM's connection */
	waitpid(trickler, &tstatus, 0);
	assert_int_equal(status, 0);
	assert_int_equal(P.status, 67);
	/* the event that matters: the domain ended while the slow client was still trickling */
	assert_true(WIFEXITED(tstatus));
	assert_int_equal(WEXITSTATUS(tstatus), 0);
}

static void test_list_shows_a_domain_whose_vmm_does_not_answer(void **state)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char lock[256];
	FILE *f;
	int l;

	(void)state;
	/* A "VMM" (this test) that holds the name and listens, but never answers. */
	snprintf(lock, sizeof(lock), "%s/t-stuck.lock", harness_run_dir());
	f = fopen(lock, "w");
	assert_non_null(f);
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
	l = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(l >= 0);
	assert_true(snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/t-stuck.sock", harness_run_dir()) <
		    (int)sizeof(addr.sun_path));
	assert_int_equal(bind(l, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(l, 4), 0);
	int r = RUN(&Q, 30, "list");

	close(l);
	unlink(addr.sun_path);
	unlink(lock);
	assert_int_equal(r, 0);
	if (!strstr(Q.out, "t-stuck") || !strstr(Q.out, "no-reply"))
		fail_msg("list did not show t-stuck as no-reply:\n%s", Q.out);
	assert_non_null(strstr(Q.err, "t-stuck"));
}

/*
 * What the timer's span may take: at least the N periods it waited for
 * (the span starts before the timer is armed), at most 5 times that.  The
 * span is read on the host's clock through a hypercall, which paces the
 * timer (not the guest's TSC, whose rate differs under emulation); a late
 * wake-up skips periods rather than bursting, so a loaded host stretches
 * the span by its delays, far below 5x over 40 periods, while a timer 10
 * times too slow takes 10x.
 */
static void assert_span_fits_ticks(unsigned long long us, unsigned long ticks, unsigned long ms)
{
	unsigned long long nominal = (unsigned long long)ticks * ms * 1000ull;

	printf("# %lu ticks of %lu ms took %llu us (%.2fx the nominal %llu us)\n", ticks, ms, us,
	       (double)us / (double)nominal, nominal);
	if (us < nominal - ms * 1000ull)
		fail_msg("%lu ticks of %lu ms in %llu us: faster than the period", ticks, ms, us);
	if (us > 5 * nominal)
		fail_msg("%lu ticks of %lu ms in %llu us: more than 5x the nominal %llu us", ticks, ms, us,
			 nominal);
}

/* Parses "timer: N ticks of MS ms in US us at CPL C via HOW" from the guest. */
static void parse_timer_line(const char *out, unsigned long *ticks, unsigned long *ms,
			     unsigned long long *us, unsigned *cpl, char how[32])
{
	const char *line = strstr(out, "timer: ");

	assert_non_null(line);
	assert_int_equal(sscanf(line, "timer: %lu ticks of %lu ms in %llu us at CPL %u via %31s",
				ticks, ms, us, cpl, how), 5);
}

static void test_periodic_timer_ticks_at_its_period(void **state)
{
	unsigned long ticks, ms;
	unsigned long long us;
	unsigned cpl;
	char how[32];

	(void)state;
	assert_int_equal(RUN(&P, 30, "run", "--name", "t-timer", "--cmdline", "timer 40 10"), 0);
	parse_timer_line(P.out, &ticks, &ms, &us, &cpl, how);
	assert_int_equal(ticks, 40);
	assert_int_equal(ms, 10);
	assert_int_equal(cpl, 3);
	assert_string_equal(how, "sched_poll");
	assert_span_fits_ticks(us, ticks, ms);
}

static void test_guest_cpl_0_is_refused_where_cpl_0_is_not_native(void **state)
{
	(void)state;
	if (harness_host_runs_cpl0())
		SKIP_BECAUSE("this host runs CPL-0 guest code natively; the CPL-0 tests run instead");
	assert_int_equal(RUN(&P, 20, "run", "--name", "t-cpl0", "--guest-cpl", "0"), 65);
	assert_non_null(strstr(P.err, "guest_cpl = 0"));
	assert_non_null(strstr(P.err, "VT-x or AMD-V"));
	assert_int_equal(P.out_len, 0);
}

static void test_guest_cpl_0_reports_its_own_exceptions(void **state)
{
	(void)state;
	if (!harness_host_runs_cpl0())
		SKIP_BECAUSE("guest_cpl = 0 needs VT-x/AMD-V; this host's KVM does not run CPL 0 natively");
	assert_int_equal(RUN(&P, 20, "run", "--name", "t-cpl0-crash", "--guest-cpl", "0",
			     "--cmdline", "crash"), 66);
	/* The guest's own IDT caught it, not the VMM's stub */
	assert_non_null(strstr(P.out, "minios: exception #PF page fault on vCPU 0 at CPL 0"));
	assert_non_null(strstr(P.out, "address 0x0"));
	assert_null(strstr(P.err, "triple fault"));
	assert_non_null(strstr(P.err, "crashed"));
}

static void test_guest_cpl_0_takes_timer_ticks_as_interrupts(void **state)
{
	unsigned long ticks, ms, upcalls = 0, halts = 0;
	unsigned long long us;
	unsigned cpl;
	char how[32];
	const char *extra;

	(void)state;
	if (!harness_host_runs_cpl0())
		SKIP_BECAUSE("guest_cpl = 0 needs VT-x/AMD-V; this host's KVM does not run CPL 0 natively");
	assert_int_equal(RUN(&P, 60, "run", "--name", "t-cpl0-timer", "--guest-cpl", "0",
			     "--cmdline", "timer 40 10"), 0);
	parse_timer_line(P.out, &ticks, &ms, &us, &cpl, how);
	assert_int_equal(ticks, 40);
	assert_int_equal(ms, 10);
	assert_int_equal(cpl, 0);
	assert_string_equal(how, "interrupts");
	assert_span_fits_ticks(us, ticks, ms);
	extra = strstr(P.out, "(");
	assert_non_null(extra);
	assert_int_equal(sscanf(extra, "(%lu upcalls, %lu halts)", &upcalls, &halts), 2);
	assert_true(upcalls >= 40); /* one interrupt per tick at least */
	assert_true(halts >= 1);    /* the vCPU slept in HLT between them */
}

static void test_guest_cpl_0_runs_smp_and_hypercall_checks(void **state)
{
	(void)state;
	if (!harness_host_runs_cpl0())
		SKIP_BECAUSE("guest_cpl = 0 needs VT-x/AMD-V; this host's KVM does not run CPL 0 natively");
	assert_int_equal(RUN(&P, 60, "run", "--name", "t-cpl0-smp", "--guest-cpl", "0", "--vcpus", "4",
			     "--cmdline", "smp"), 0);
	assert_non_null(strstr(P.out, "smp: 4 of 4 vCPUs up"));
	assert_non_null(strstr(P.out, "vcpu 3: up"));
	setenv("XENITH_TEST_HOOKS", "1", 1); /* its xenith_test echo */
	assert_int_equal(RUN(&P, 20, "run", "--name", "t-cpl0-hc", "--guest-cpl", "0", "--vcpus", "2",
			     "--cmdline", "hypercall"), 0);
	unsetenv("XENITH_TEST_HOOKS");
	assert_non_null(strstr(P.out, "hypercall: all checks passed"));
}

static void test_grant_table_allows_granted_access_and_refuses_the_rest(void **state)
{
	(void)state;
	/* The checks run in the guest against the VMM's grant code; a wrong result is a GUEST_ASSERT. */
	setenv("XENITH_TEST_HOOKS", "1", 1); /* xenith_test GRANT_READ/WRITE */
	assert_int_equal(RUN(&P, 20, "run", "--name", "t-grant", "--cmdline", "grant"), 0);
	unsetenv("XENITH_TEST_HOOKS");
	assert_non_null(strstr(P.out, "grant: all checks passed"));
	assert_null(strstr(P.out, "WRONG"));
	assert_non_null(strstr(P.out, "write to a read-only grant (EPERM) -> -1 ok"));
	assert_non_null(strstr(P.out, "frame outside guest memory (EFAULT) -> -14 ok"));
}

static void test_event_channels_to_a_backend_thread_lose_no_wakeups(void **state)
{
	(void)state;
	/*
	 * 20,000 round trips through a VMM thread, by poll and by block, each
	 * waited for without a timeout: a lost wake-up hangs the guest until
	 * this generous deadline (here they take a few seconds).
	 */
	setenv("XENITH_TEST_HOOKS", "1", 1); /* xenith_test EVTCHN_LOOPBACK */
	if (RUN(&P, 240, "run", "--name", "t-evtchn", "--cmdline", "evtchn 20000") != 0)
		fail_msg("status %d (137: still waiting after 240 s, a lost wake-up):\n%s", P.status, P.out);
	unsetenv("XENITH_TEST_HOOKS");
	assert_non_null(strstr(P.out, "evtchn: 20000 round trips through a VMM backend thread, none lost"));
	assert_null(strstr(P.out, "WRONG"));
	assert_non_null(strstr(P.out, "status: interdomain -> 1 ok"));
	assert_non_null(strstr(P.out, "a second backend on the same port (EBUSY) -> -16 ok"));
}

/*
 * One "xenith-test: dirty log: N page(s): GPA ..." line at p: every page in
 * want[] (ascending) must be listed, and every other page must lie in
 * [other_lo, other_hi).  Returns N; the other pages listed go to others[]
 * (text, for the test's log).
 */
static unsigned check_dirty_line(const char *p, const char *what, const unsigned long long *want,
				 unsigned nwant, unsigned long long other_lo,
				 unsigned long long other_hi, char *others, size_t others_size)
{
	const int len = (int)strcspn(p, "\n");
	unsigned long long gpa, prev = 0;
	unsigned total, listed = 0, found = 0;
	const char *q;
	size_t olen = 0;
	int used;

	others[0] = 0;
	if (sscanf(p, "xenith-test: dirty log: %u page(s):%n", &total, &used) != 1)
		fail_msg("%s: not a dirty-log line: %.*s", what, len, p);
	for (q = p + used; q < p + len; q += used) {
		if (sscanf(q, " 0x%llx%n", &gpa, &used) != 1)
			fail_msg("%s: not a list of hex page addresses (one cut short ends in "
				 "\" ...\"): %.*s", what, len, p);
		if (listed++ && gpa <= prev)
			fail_msg("%s: 0x%llx after 0x%llx, not ascending: %.*s", what, gpa, prev, len, p);
		prev = gpa;
		if (found < nwant && gpa > want[found])
			break; /* want[found] is missing */
		if (found < nwant && gpa == want[found])
			found++;
		else if (gpa >= other_lo && gpa < other_hi && olen < others_size)
			olen += (size_t)snprintf(others + olen, others_size - olen, " 0x%llx", gpa);
		else if (gpa >= other_lo && gpa < other_hi)
			continue; /* listed, only not shown */
		else
			fail_msg("%s: 0x%llx is listed, a page the guest did not write (it wrote only the "
				 "pages wanted; page tables at [0x%llx, 0x%llx) may be listed too):\n"
				 "  got: %.*s", what, gpa, other_lo, other_hi, len, p);
	}
	if (found < nwant)
		fail_msg("%s: 0x%llx, a page the guest wrote, is missing:\n  got: %.*s", what,
			 want[found], len, p);
	if (listed != total)
		fail_msg("%s: says %u page(s) but lists %u: %.*s", what, total, listed, len, p);
	return total;
}

/*
 * KVM's dirty log through the memory map (hv/memmap.c): the guest touches
 * its pages first, then, with logging on, writes one byte into each page
 * this test names and has the VMM fetch the log twice (guest/dirtylog.c).
 * The first fetch must list every page written and nothing else the guest
 * could have written: between START and FETCH the guest runs only its
 * write loop and two inline hypercalls, in a frame built before START, so
 * no stack page; the pages were touched before; and the VMM's own writes
 * are not KVM's to log.  The second fetch, with nothing written, lists no
 * page the guest could have written.
 *
 * One class of page besides may be listed, on both fetches: the guest's
 * page-table pages, [pt_base, pt_base + nr_pt_pages) of its start_info,
 * which the guest cannot write (the builder maps them read-only).  The
 * builder presets the accessed bit of every entry and the dirty bit of
 * every leaf (Xen's PV builder presets accessed, and dirty above the
 * leaves), so no walk needs to set one, and under shadow paging (kvm_pvm)
 * none is listed.  But under AMD's nested paging
 * the CPU's own reads of the guest's page tables during a walk count as
 * writes for the nested translation (KVM: "all nNPT walks match
 * PAGE|WRITE|PRESENT"; QEMU's TCG models it, target/i386 ptw_translate
 * probes them as MMU_DATA_STORE): every TLB miss after KVM write-protects
 * the slot (START, and each FETCH re-protects and flushes) takes a nested
 * fault on the walked table pages, and KVM logs them.  In the lab that
 * listed PML4, PDPT, PD and the first PT (everything the guest touches
 * lies below 2 MiB), on the first fetch and the second.  Presetting bits
 * cannot avoid it; only moving the page tables out of the logged slot
 * could, which migration would then have to copy by other means.
 */
static void test_dirty_log_lists_exactly_the_pages_the_guest_wrote(void **state)
{
	static const unsigned idx[] = { 0, 1, 5, 63, 64, 130 }; /* neighbours, a 64-page word edge */
	const unsigned n = sizeof(idx) / sizeof(idx[0]);
	unsigned long long base, pt_base, nr_pt, pt_end, want[sizeof(idx) / sizeof(idx[0])];
	unsigned pages, writes, first, second;
	char line[96], pt_first[512], pt_second[512], *p;

	(void)state;
	setenv("XENITH_TEST_HOOKS", "1", 1); /* xenith_test DIRTY_LOG */
	assert_int_equal(RUN(&P, 30, "run", "--name", "t-dirty", "--cmdline", "dirtylog 0 1 5 63 64 130"), 0);
	unsetenv("XENITH_TEST_HOOKS");
	p = strstr(P.out, "dirtylog: ");
	assert_non_null(p);
	assert_int_equal(sscanf(p, "dirtylog: %u page(s) at 0x%llx, writing %u; page tables at 0x%llx, "
				"%llu page(s)", &pages, &base, &writes, &pt_base, &nr_pt), 5);
	assert_int_equal(pages, 131);
	assert_int_equal(writes, n);
	/* The page tables are the builder's, not pages the guest allocated and writes. */
	pt_end = pt_base + nr_pt * 4096;
	assert_true(nr_pt > 0 && pt_base % 4096 == 0);
	if (pt_end > base && pt_base < base + pages * 4096ull)
		fail_msg("page tables [0x%llx, 0x%llx) overlap the guest's pages at 0x%llx", pt_base,
			 pt_end, base);
	for (unsigned i = 0; i < n; i++)
		want[i] = base + idx[i] * 4096ull; /* idx is ascending */
	p = strstr(P.out, "xenith-test: dirty log: ");
	assert_non_null(p);
	first = check_dirty_line(p, "the first fetch (pages written)", want, n, pt_base, pt_end,
				 pt_first, sizeof(pt_first));
	p = strstr(p + 1, "xenith-test: dirty log: ");
	assert_non_null(p);
	second = check_dirty_line(p, "the second fetch (nothing written)", NULL, 0, pt_base, pt_end,
				  pt_second, sizeof(pt_second));
	print_message("# dirty log: page-table pages listed (nested paging walks):%s, then:%s\n",
		      pt_first[0] ? pt_first : " none", pt_second[0] ? pt_second : " none");
	/* the guest got the same counts back from its hypercalls */
	snprintf(line, sizeof(line), "dirtylog: fetched %u page(s), then %u", first, second);
	assert_non_null(strstr(P.out, line));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_hello_boots_and_prints_a_greeting, harness_teardown),
		cmocka_unit_test_teardown(test_bundled_image_has_no_test_programs_and_test_image_has_them,
					  harness_teardown),
		cmocka_unit_test_teardown(test_smp_one_vcpu_reports_in, harness_teardown),
		cmocka_unit_test_teardown(test_smp_two_vcpus_report_in, harness_teardown),
		cmocka_unit_test_teardown(test_smp_eight_vcpus_report_in, harness_teardown),
		cmocka_unit_test_teardown(test_guest_exit_code_reaches_exit_status, harness_teardown),
		cmocka_unit_test_teardown(test_faulting_guest_is_reported_crashed_with_rip_and_symbol, harness_teardown),
		cmocka_unit_test_teardown(test_guest_assert_reports_file_line_and_expression, harness_teardown),
		cmocka_unit_test_teardown(test_bad_hypercalls_get_enosys_and_efault_and_domain_goes_on, harness_teardown),
		cmocka_unit_test_teardown(test_guest_allocator_self_test_passes, harness_teardown),
		cmocka_unit_test_teardown(test_spinning_guest_is_ended_by_timeout, harness_teardown),
		cmocka_unit_test_teardown(test_pause_unpause_and_shutdown_through_control_socket, harness_teardown),
		cmocka_unit_test_teardown(test_destroy_ends_domain_and_frees_its_name, harness_teardown),
		cmocka_unit_test_teardown(test_memmap_lists_regions_that_tile_guest_memory, harness_teardown),
		cmocka_unit_test_teardown(test_two_domains_at_once_and_names_are_unique, harness_teardown),
		cmocka_unit_test_teardown(test_killed_vmm_leaves_no_stale_socket_that_breaks_next_run, harness_teardown),
		cmocka_unit_test_teardown(test_console_attaches_to_running_domain, harness_teardown),
		cmocka_unit_test_teardown(test_memory_too_small_is_an_error_before_anything_runs, harness_teardown),
		cmocka_unit_test_teardown(test_reboot_with_on_reboot_destroy_ends_with_status_69, harness_teardown),
		cmocka_unit_test_teardown(test_crash_with_on_crash_restart_boots_again, harness_teardown),
		cmocka_unit_test_teardown(test_shutdown_reboot_request_restarts_the_guest, harness_teardown),
		cmocka_unit_test_teardown(test_preserved_crashed_domain_stays_until_destroyed, harness_teardown),
		cmocka_unit_test_teardown(test_control_commands_on_unknown_domain_fail_clearly, harness_teardown),
		cmocka_unit_test_teardown(test_shutdown_of_guest_that_does_not_listen_says_use_destroy, harness_teardown),
		cmocka_unit_test_teardown(test_destroy_gets_through_while_a_client_trickles,
					  harness_teardown),
		cmocka_unit_test_teardown(test_list_shows_a_domain_whose_vmm_does_not_answer, harness_teardown),
		cmocka_unit_test_teardown(test_periodic_timer_ticks_at_its_period, harness_teardown),
		cmocka_unit_test_teardown(test_grant_table_allows_granted_access_and_refuses_the_rest, harness_teardown),
		cmocka_unit_test_teardown(test_event_channels_to_a_backend_thread_lose_no_wakeups, harness_teardown),
		cmocka_unit_test_teardown(test_dirty_log_lists_exactly_the_pages_the_guest_wrote, harness_teardown),
		cmocka_unit_test_teardown(test_guest_cpl_0_is_refused_where_cpl_0_is_not_native, harness_teardown),
		cmocka_unit_test_teardown(test_guest_cpl_0_reports_its_own_exceptions, harness_teardown),
		cmocka_unit_test_teardown(test_guest_cpl_0_takes_timer_ticks_as_interrupts, harness_teardown),
		cmocka_unit_test_teardown(test_guest_cpl_0_runs_smp_and_hypercall_checks, harness_teardown),
	};

	harness_require_kvm();
	harness_run_dir();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
