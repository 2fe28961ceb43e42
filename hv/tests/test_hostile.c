// SPDX-License-Identifier: MIT
/*
 * kvm tier: hostile guests (guest/hostile.c) and a toolstack that stays in
 * charge of them.  Each test checks the documented answer inside the guest
 * (a wrong one is a GUEST_ASSERT, status 66) and, on the host, that the
 * VMM ends the way it should and within its bounds.
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
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"

static struct proc P, Q, B;

/*
 * A bystander: another domain that ticks every 20 ms through every hostile
 * test, and must keep ticking (and shut down cleanly at the end).
 */
static int group_setup(void **state)
{
	(void)state;
	harness_run_dir();
	proc_start(&B, (const char *const[]){ "run", "--name", "t-bystander", "--cmdline", "ticker 20", NULL });
	proc_outlives_tests(&B);
	return proc_wait_line(&B, "tick 2", 20) ? 0 : -1;
}

static int group_teardown(void **state)
{
	struct proc q;
	int r;

	(void)state;
	r = run_xenith(&q, 20, (const char *const[]){ "shutdown", "t-bystander", NULL });
	proc_wait(&B, 20);
	printf("# bystander: %u ticks, shut down with status %d (shutdown: %d)\n", proc_count(&B, "tick "),
	       B.status, r);
	return r == 0 && B.status == 0 ? 0 : -1;
}

/* The bystander still runs and ticks. */
static void bystander_unaffected(void)
{
	unsigned before = proc_count(&B, "tick ");
	char want[32];

	if (!proc_alive(&B))
		fail_msg("the bystander ended (status %d):\n%s", B.status, B.err);
	snprintf(want, sizeof(want), "tick %u", before + 2);
	assert_true(proc_wait_line(&B, want, 20));
}

/* Whatever a failed assertion left running is killed here. */
static int teardown(void **state)
{
	(void)state;
	unsetenv("XENITH_TEST_HOOKS");
	harness_teardown(state); /* every xenith the test left running */
	return 0;
}

/* One request on the domain's control socket; true when the reply says ok. */
static bool control_request(const char *name, const char *req)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char reply[512];
	size_t n = 0;
	int fd;

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/%s.sock", harness_run_dir(), name);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) {
		close(fd);
		return false;
	}
	while (n + 1 < sizeof(reply)) {
		ssize_t k = recv(fd, reply + n, sizeof(reply) - 1 - n, 0);

		if (k <= 0)
			break;
		n += (size_t)k;
		reply[n] = 0;
		if (memchr(reply, '\n', n))
			break;
	}
	close(fd);
	reply[n] = 0;
	return strstr(reply, "\"ok\":true") != NULL;
}

static void test_vcpu_up_raced_from_two_vcpus_runs_the_vcpu_once_per_up(void **state)
{
	(void)state;
	/*
	 * vCPUs 0 and 2 bring vCPU 1 up 10,000 times each while it takes itself
	 * down.  Before the fix two host threads ended up running vCPU 1: the
	 * run hung (ignoring SIGTERM and its own --timeout) or crashed with
	 * "unexpected KVM exit reason 0".
	 */
	assert_int_equal(RUN(&P, 120, "run", "--name", "t-vcpurace", "--vcpus", "3", "--timeout", "90",
			     "--cmdline", "hostile vcpurace 10000"), 0);
	assert_non_null(strstr(P.out, "one run per up ok"));
	assert_null(strstr(P.out, "WRONG"));
	bystander_unaffected();
}

/* Starts a domain whose vCPU 0 stays in the VMM for 10 minutes (XENITH_TEST_HOOKS). */
static void start_stalled(const char *name)
{
	setenv("XENITH_TEST_HOOKS", "1", 1);
	proc_start(&P, (const char *const[]){ "run", "--name", name, "--cmdline", "hostile stall 600000",
					      NULL });
	unsetenv("XENITH_TEST_HOOKS");
	/* Printed by the VMM once the vCPU is inside the hypercall. */
	assert_true(proc_wait_output(&P, "stalls in the VMM", 20));
}

static void test_destroy_ends_a_domain_whose_vcpu_is_stuck_in_the_vmm(void **state)
{
	(void)state;
	start_stalled("t-stuck");
	assert_int_equal(RUN(&Q, 20, "destroy", "t-stuck"), 0);
	/* The stop watchdog gives up after 10 s; proc_wait kills (status 137) only after 40. */
	proc_wait(&P, 40);
	assert_int_equal(P.status, 67);
	assert_non_null(strstr(P.err, "did not stop within"));
	assert_non_null(strstr(P.err, "vCPU 0 in the VMM (last hypercall xenith_test)"));
	/* It cleaned up its run directory: the name is free at once. */
	assert_int_equal(RUN(&Q, 20, "run", "--name", "t-stuck", "--cmdline", "exit 3"), 3);
}

static void test_sigterm_ends_a_domain_whose_vcpu_is_stuck_in_the_vmm(void **state)
{
	(void)state;
	start_stalled("t-stuck-term");
	kill(P.pid, SIGTERM);
	proc_wait(&P, 40);
	assert_int_equal(P.status, 67);
	assert_non_null(strstr(P.err, "Terminated"));
	assert_non_null(strstr(P.err, "did not stop within"));
}

static void test_pause_of_a_stuck_vcpu_fails_with_the_reason_and_destroy_still_works(void **state)
{
	(void)state;
	start_stalled("t-stuck-pause");
	/* The pause gives up after 10 s and names the vCPU; the domain stays running. */
	assert_int_equal(RUN(&Q, 60, "pause", "t-stuck-pause"), 1);
	assert_non_null(strstr(Q.err, "did not pause within"));
	assert_non_null(strstr(Q.err, "vCPU 0 in the VMM"));
	assert_int_equal(RUN(&Q, 20, "list"), 0);
	assert_non_null(strstr(Q.out, "t-stuck-pause"));
	assert_non_null(strstr(Q.out, "running"));
	assert_int_equal(RUN(&Q, 20, "destroy", "t-stuck-pause"), 0);
	proc_wait(&P, 40);
	assert_int_equal(P.status, 67);
}

static void test_stall_hook_is_refused_without_test_hooks(void **state)
{
	(void)state;
	assert_int_equal(RUN(&P, 20, "run", "--name", "t-nostall", "--cmdline", "hostile stall 60000"), 1);
	assert_non_null(strstr(P.out, "-> -38"));
}

static void test_sigterm_during_reboots_ends_the_domain_as_destroyed(void **state)
{
	(void)state;
	/*
	 * A domain that reboots for ever, SIGTERM at a moment that walks through
	 * its restarts.  Before the fix, 7 runs in 150 crashed (a kick through a
	 * vCPU whose kvm_run was not mapped yet: SIGSEGV, status 139) and 57
	 * ended with the reboot's status 69 instead of "destroyed" (the kill
	 * arrived while the domain was rebuilt, and the restart undid it).
	 * The signal goes after the guest's first line, so xenith has taken
	 * charge of its signals however slowly it started: every run counts.
	 */
	for (unsigned i = 0; i < 100; i++) {
		proc_start(&P, (const char *const[]){ "run", "--name", "t-rebootkill", "--cmdline", "reboot",
						      "--on-reboot", "restart", NULL });
		assert_true(proc_wait_output(&P, "reboot: asking the VMM", 20));
		proc_pump(&P, (double)((i * 37) % 90) / 1000.0);
		kill(P.pid, SIGTERM);
		proc_wait(&P, 30);
		if (P.status != 67)
			fail_msg("run %u: status %d\n%s", i, P.status, P.err);
		if (!strstr(P.err, "destroyed: xenith received Terminated"))
			fail_msg("run %u: status 67, but the end is not the signal's:\n%s", i, P.err);
	}
}

static void test_pause_unpause_1000_times_while_every_vcpu_blocks_in_poll(void **state)
{
	(void)state;
	proc_start(&P, (const char *const[]){ "run", "--name", "t-pollwait", "--vcpus", "4",
					      "--cmdline", "hostile pollwait", NULL });
	assert_true(proc_wait_output(&P, "4 vCPUs blocked in sched_op poll", 20));
	for (int i = 0; i < 1000; i++) {
		assert_true(control_request("t-pollwait", "{\"cmd\":\"pause\"}\n"));
		assert_true(control_request("t-pollwait", "{\"cmd\":\"unpause\"}\n"));
	}
	/* Still alive and listening: the shutdown request reaches the guest. */
	assert_int_equal(RUN(&Q, 20, "shutdown", "t-pollwait"), 0);
	proc_wait(&P, 20);
	assert_int_equal(P.status, 0);
	assert_non_null(strstr(P.out, "pollwait: shutdown requested"));
	assert_null(strstr(P.out, "WRONG"));
	bystander_unaffected();
}

static void test_event_channel_ports_exhausted_and_out_of_range(void **state)
{
	(void)state;
	assert_int_equal(RUN(&P, 30, "run", "--name", "t-ports", "--cmdline", "hostile ports"), 0);
	assert_non_null(strstr(P.out, "ports: all checks passed"));
	assert_non_null(strstr(P.out, "ports handed out -> 1021 ok")); /* all but 0, the console's, the store's */
	assert_non_null(strstr(P.out, "send on port 4294967295 (EINVAL) -> -22 ok"));
	assert_null(strstr(P.out, "WRONG"));
	bystander_unaffected();
}

static void test_console_ring_indices_far_apart_are_refused_and_output_flows_again(void **state)
{
	(void)state;
	assert_int_equal(RUN(&P, 20, "run", "--name", "t-cons-idx", "--cmdline", "hostile console"), 0);
	assert_non_null(strstr(P.out, "producer 2^31 ahead of the consumer (EINVAL) -> -22 ok"));
	assert_non_null(strstr(P.out, "consumer 100 ahead of the producer (EINVAL) -> -22 ok"));
	assert_non_null(strstr(P.out, "console: output flows again"));
	assert_null(strstr(P.out, "WRONG"));
	bystander_unaffected();
}

static void test_pointer_arguments_at_the_end_of_memory_and_beyond(void **state)
{
	(void)state;
	assert_int_equal(RUN(&P, 20, "run", "--name", "t-pointers", "--cmdline", "hostile pointers"), 0);
	assert_non_null(strstr(P.out, "pointers: all checks passed"));
	assert_non_null(strstr(P.out, "console_io buffer at 0x8000000000000000 -> -14 ok"));
	assert_non_null(strstr(P.out, "sched_op poll's port array at 0xffffffffffffffff -> -14 ok"));
	assert_non_null(strstr(P.out, "alloc_unbound with its struct in the last 8 bytes of memory -> 0 ok"));
	assert_null(strstr(P.out, "WRONG"));
	bystander_unaffected();
}

static void test_guest_assert_strings_without_nul_are_cut_at_the_end_of_memory(void **state)
{
	(void)state;
	assert_int_equal(RUN(&P, 20, "run", "--name", "t-nonul", "--cmdline", "hostile assert-nonul"), 66);
	/* file: the last 10 bytes; expression: the last 300, cut to the VMM's 255; message: the last byte */
	assert_non_null(strstr(P.err, "guest assertion failed at EFGHIJKLMN:4242: ABCDEFGHIJ"));
	assert_non_null(strstr(P.err, "(N)"));
	assert_null(strstr(P.out, "WRONG"));
	bystander_unaffected();
}

static void test_vmm_writes_no_page_the_guest_maps_read_only(void **state)
{
	(void)state;
	/* Output pointers into the page tables, start_info and code: EFAULT; grants to write them: EPERM. */
	setenv("XENITH_TEST_HOOKS", "1", 1); /* xenith_test GRANT_READ/WRITE */
	assert_int_equal(RUN(&P, 20, "run", "--name", "t-protected", "--cmdline", "hostile protected"), 0);
	unsetenv("XENITH_TEST_HOOKS");
	assert_non_null(strstr(P.out, "protected: all checks passed"));
	assert_non_null(strstr(P.out, "alloc_unbound, port written into the page tables (EFAULT) -> -14 ok"));
	assert_non_null(strstr(P.out, "backend writes through a grant of the page tables (EPERM) -> -1 ok"));
	assert_null(strstr(P.out, "WRONG"));
	bystander_unaffected();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_vcpu_up_raced_from_two_vcpus_runs_the_vcpu_once_per_up, teardown),
		cmocka_unit_test_teardown(test_destroy_ends_a_domain_whose_vcpu_is_stuck_in_the_vmm, teardown),
		cmocka_unit_test_teardown(test_sigterm_ends_a_domain_whose_vcpu_is_stuck_in_the_vmm, teardown),
		cmocka_unit_test_teardown(test_pause_of_a_stuck_vcpu_fails_with_the_reason_and_destroy_still_works,
					  teardown),
		cmocka_unit_test_teardown(test_stall_hook_is_refused_without_test_hooks, teardown),
		cmocka_unit_test_teardown(test_sigterm_during_reboots_ends_the_domain_as_destroyed, teardown),
		cmocka_unit_test_teardown(test_pause_unpause_1000_times_while_every_vcpu_blocks_in_poll, teardown),
		cmocka_unit_test_teardown(test_vmm_writes_no_page_the_guest_maps_read_only, teardown),
		cmocka_unit_test_teardown(test_event_channel_ports_exhausted_and_out_of_range, teardown),
		cmocka_unit_test_teardown(test_console_ring_indices_far_apart_are_refused_and_output_flows_again,
					  teardown),
		cmocka_unit_test_teardown(test_pointer_arguments_at_the_end_of_memory_and_beyond, teardown),
		cmocka_unit_test_teardown(test_guest_assert_strings_without_nul_are_cut_at_the_end_of_memory,
					  teardown),
	};

	harness_require_kvm();
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
