// SPDX-License-Identifier: MIT
/*
 * kvm tier: what the `xenith` commands print and accept, checked against
 * what the domains were started with: `list` (IDs, vCPUs, memory, uptime),
 * commands given a domain ID, `shutdown -r`, and `run`'s --prefix, --quiet
 * and --boot-trace.  (`console` history: test_domains.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"

static struct proc P, Q, C;

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One row of `xenith list`, its columns parsed. */
struct row {
	unsigned id, up, vcpus, mem, h, m, s;
	char state[32];
};

/* NAME's row in out (the output of `xenith list`); fails the test when absent or malformed. */
static void list_row(const char *out, const char *name, struct row *r)
{
	size_t len = strlen(name);

	for (const char *s = out; *s;) {
		const char *nl = strchr(s, '\n');

		if (!strncmp(s, name, len) && s[len] == ' ') {
			if (sscanf(s + len, "%u %31s %u/%u %u %u:%u:%u", &r->id, r->state, &r->up, &r->vcpus,
				   &r->mem, &r->h, &r->m, &r->s) != 8)
				fail_msg("malformed row for %s: %.*s", name, (int)(nl ? nl - s : (long)strlen(s)), s);
			return;
		}
		if (!nl)
			break;
		s = nl + 1;
	}
	fail_msg("no row for %s in:\n%s", name, out);
}

static void expect_state(const char *name, const char *want)
{
	char st[32];

	assert_true(harness_domain_state(name, st, sizeof(st)));
	if (strcmp(st, want))
		fail_msg("%s is %s, expected %s", name, st, want);
}

/* The id in "xenith: domain 'NAME' (id N) ..." that `xenith run` prints at the end. */
static unsigned end_line_id(const struct proc *p, const char *name)
{
	char head[96];
	const char *s;
	unsigned id;

	snprintf(head, sizeof(head), "xenith: domain '%s' (id ", name);
	s = strstr(p->err, head);
	if (!s || sscanf(s + strlen(head), "%u)", &id) != 1)
		fail_msg("no end line for %s:\n%s", name, p->err);
	return id;
}

/*
 * Two domains with their own vCPU counts and memory sizes: each row shows
 * what its domain was started with, and commands given an ID act on the
 * domain that has it, not on another.
 */
static void test_list_shows_ids_vcpus_and_memory_and_commands_take_an_id(void **state)
{
	struct row a, b;
	double t0 = mono_s();
	char ida[16], idb[16];

	(void)state;
	proc_start(&P, (const char *const[]){ "run", "--name", "t-cli-a", "--vcpus", "3", "--memory", "24",
					      "--cmdline", "idle", NULL });
	proc_start(&Q, (const char *const[]){ "run", "--name", "t-cli-b", "--vcpus", "2", "--memory", "40",
					      "--cmdline", "hostile pollwait", NULL });
	assert_true(proc_wait_line(&P, "idle: waiting for the toolstack", 20));
	assert_true(proc_wait_line(&Q, "hostile: pollwait: 2 vCPUs blocked in sched_op poll", 20));

	assert_int_equal(RUN(&C, 30, "list"), 0);
	assert_int_equal(strncmp(C.out, "NAME ", 5), 0);
	assert_non_null(strstr(C.out, " ID  STATE     VCPUS   MEM(MiB)     UPTIME\n"));
	list_row(C.out, "t-cli-a", &a);
	list_row(C.out, "t-cli-b", &b);
	/* idle runs on vCPU 0 alone; pollwait brings up every vCPU */
	assert_string_equal(a.state, "running");
	assert_int_equal(a.up, 1);
	assert_int_equal(a.vcpus, 3);
	assert_int_equal(a.mem, 24);
	assert_string_equal(b.state, "running");
	assert_int_equal(b.up, 2);
	assert_int_equal(b.vcpus, 2);
	assert_int_equal(b.mem, 40);
	assert_int_not_equal(a.id, b.id);
	/* H:MM:SS, no more than the time since the test started them */
	assert_true(a.m < 60 && a.s < 60 && b.m < 60 && b.s < 60);
	assert_true(a.h * 3600.0 + a.m * 60 + a.s <= mono_s() - t0 + 1);

	/* by ID: pause B, and only B */
	snprintf(ida, sizeof(ida), "%u", a.id);
	snprintf(idb, sizeof(idb), "%u", b.id);
	assert_int_equal(RUN(&C, 30, "pause", idb), 0);
	expect_state("t-cli-b", "paused");
	expect_state("t-cli-a", "running");
	assert_int_equal(RUN(&C, 30, "unpause", idb), 0);
	expect_state("t-cli-b", "running");

	/* by ID: A's console, then A's shutdown; the client ends with the domain */
	proc_start(&C, (const char *const[]){ "console", ida, NULL });
	assert_true(proc_wait_line(&C, "idle: waiting for the toolstack", 20));
	{
		struct proc s;

		assert_int_equal(RUN(&s, 30, "shutdown", "-w", "-t", "20", ida), 0);
	}
	proc_wait(&P, 20);
	assert_int_equal(P.status, 0);
	assert_true(proc_wait_line(&C, "idle: shutdown requested", 20));
	proc_wait(&C, 20);
	assert_int_equal(C.status, 0);
	expect_state("t-cli-b", "running");
	assert_int_equal(RUN(&C, 30, "shutdown", "-w", "-t", "20", idb), 0);
	proc_wait(&Q, 20);
	assert_int_equal(Q.status, 0);
	assert_true(proc_wait_line(&Q, "hostile: pollwait: shutdown requested", 1));
	/* the IDs listed are the ones each VMM reports as its domain's at the end */
	assert_int_equal(end_line_id(&P, "t-cli-a"), a.id);
	assert_int_equal(end_line_id(&Q, "t-cli-b"), b.id);
}

/* `shutdown -r`: the guest hears a reboot request, reboots, and the domain goes on. */
static void test_shutdown_r_reboots_the_guest(void **state)
{
	char want[64];
	struct row r;

	(void)state;
	proc_start(&P, (const char *const[]){ "run", "--name", "t-cli-rb", "--cmdline", "ticker 20", NULL });
	assert_true(proc_wait_line(&P, "tick 2", 20));
	assert_int_equal(RUN(&Q, 30, "list"), 0);
	list_row(Q.out, "t-cli-rb", &r);
	snprintf(want, sizeof(want), "%u", r.id);
	assert_int_equal(RUN(&Q, 30, "shutdown", "-r", want), 0);
	assert_true(proc_wait_line(&P, "ticker: reboot requested", 20));
	for (int i = 0; i < 1000 && proc_count_lines(&P, "tick 1") < 2 && proc_alive(&P); i++)
		proc_pump(&P, 0.02);
	assert_int_equal(proc_count_lines(&P, "tick 1"), 2);
	assert_int_equal(proc_count_lines(&P, "ticker: shutdown requested"), 0);
	assert_non_null(strstr(P.err, "xenith: domain 't-cli-rb' asked to reboot; restarting it\n"));
	assert_int_equal(RUN(&Q, 30, "list", "--json"), 0);
	assert_non_null(strstr(Q.out, "\"restarts\":1"));
	expect_state("t-cli-rb", "running");
	assert_int_equal(RUN(&Q, 30, "shutdown", "-w", "t-cli-rb"), 0);
	proc_wait(&P, 20);
	assert_int_equal(P.status, 0);
}

/* Lines of text that do not start with prefix. */
static unsigned lines_without(const char *text, const char *prefix, unsigned *lines)
{
	unsigned n = 0;

	*lines = 0;
	for (const char *s = text; *s;) {
		const char *nl = strchr(s, '\n');

		(*lines)++;
		if (strncmp(s, prefix, strlen(prefix)))
			n++;
		if (!nl)
			break;
		s = nl + 1;
	}
	return n;
}

static void test_run_prefix_puts_the_name_before_every_console_line(void **state)
{
	unsigned lines, bare;

	(void)state;
	setenv("XENITH_TEST_HOOKS", "1", 1); /* the hypercall program uses xenith_test ECHO */
	assert_int_equal(RUN(&P, 30, "run", "--name", "t-pfx", "--prefix", "--cmdline", "hypercall"), 0);
	unsetenv("XENITH_TEST_HOOKS");
	bare = lines_without(P.out, "t-pfx: ", &lines);
	assert_true(lines > 10); /* hypercall prints a line per check */
	assert_int_equal(bare, 0);
	assert_non_null(strstr(P.out, "t-pfx: hypercall: all checks passed\n"));
	/* -p is the same; without it no line has the prefix */
	assert_int_equal(RUN(&P, 30, "run", "--name", "t-pfx", "-p"), 0);
	assert_int_equal(lines_without(P.out, "t-pfx: ", &lines), 0);
	assert_non_null(strstr(P.out, "t-pfx: hello from minios"));
	assert_int_equal(RUN(&P, 30, "run", "--name", "t-pfx"), 0);
	assert_int_equal(lines_without(P.out, "t-pfx: ", &lines), lines);
}

static void test_run_quiet_prints_no_status_line_when_the_domain_ends(void **state)
{
	(void)state;
	assert_int_equal(RUN(&P, 30, "run", "--name", "t-quiet", "--cmdline", "exit 5"), 5);
	assert_non_null(strstr(P.err, "xenith: domain 't-quiet' (id "));
	assert_non_null(strstr(P.err, ") powered off, exit code 5\n"));
	assert_int_equal(RUN(&P, 30, "run", "--name", "t-quiet", "--quiet", "--cmdline", "exit 5"), 5);
	assert_null(strstr(P.err, "xenith: domain"));
	assert_int_equal(RUN(&P, 30, "run", "--name", "t-quiet", "-q"), 0);
	assert_null(strstr(P.err, "xenith: domain"));
	assert_non_null(strstr(P.out, "hello from minios")); /* the console is not quieted */
}

struct trace {
	double created, first_run, first_exit, first_line;
};

static void parse_trace(const struct proc *p, struct trace *t)
{
	const char *s = strstr(p->err, "boot-trace: ");

	if (!s || sscanf(s, "boot-trace: created_us=%lf first_run_us=%lf first_exit_us=%lf first_line_us=%lf",
			 &t->created, &t->first_run, &t->first_exit, &t->first_line) != 4)
		fail_msg("no boot-trace line:\n%s", p->err);
	printf("# boot-trace: created %.1f, first run %.1f, first exit %.1f, first line %.1f us\n", t->created,
	       t->first_run, t->first_exit, t->first_line);
	/* in the order a boot takes them */
	assert_true(t->created <= t->first_run);
	assert_true(t->first_run <= t->first_exit);
	assert_true(t->first_exit <= t->first_line);
}

static void test_run_boot_trace_prints_timings_from_t0(void **state)
{
	struct trace t;
	double start, took_us;
	char t0[32];
	struct timespec ts;

	(void)state;
	/* relative to the start of xenith: within the run's own time */
	start = mono_s();
	assert_int_equal(RUN(&P, 30, "run", "--name", "t-trace", "--boot-trace"), 0);
	took_us = (mono_s() - start) * 1e6;
	parse_trace(&P, &t);
	assert_true(t.created >= 0);
	assert_true(t.first_line <= took_us);
	/* relative to $XENITH_T0_NS, here 5 s before the run */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(t0, sizeof(t0), "%llu", (unsigned long long)ts.tv_sec * 1000000000ull +
		 (unsigned long long)ts.tv_nsec - 5000000000ull);
	setenv("XENITH_T0_NS", t0, 1);
	start = mono_s();
	RUN(&P, 30, "run", "--name", "t-trace", "--boot-trace");
	took_us = (mono_s() - start) * 1e6;
	unsetenv("XENITH_T0_NS");
	assert_int_equal(P.status, 0);
	parse_trace(&P, &t);
	assert_true(t.created >= 5e6);
	assert_true(t.first_line <= 5e6 + took_us);
	/* and only when asked */
	assert_int_equal(RUN(&P, 30, "run", "--name", "t-trace"), 0);
	assert_null(strstr(P.err, "boot-trace"));
}

static int teardown(void **state)
{
	unsetenv("XENITH_T0_NS");
	return harness_teardown(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_list_shows_ids_vcpus_and_memory_and_commands_take_an_id, teardown),
		cmocka_unit_test_teardown(test_shutdown_r_reboots_the_guest, teardown),
		cmocka_unit_test_teardown(test_run_prefix_puts_the_name_before_every_console_line, teardown),
		cmocka_unit_test_teardown(test_run_quiet_prints_no_status_line_when_the_domain_ends, teardown),
		cmocka_unit_test_teardown(test_run_boot_trace_prints_timings_from_t0, teardown),
	};

	harness_require_kvm();
	harness_run_dir();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
