// SPDX-License-Identifier: MIT
/*
 * unit: the seccomp allow-lists (hv/confine_rules.c), as tables: a thread's
 * filter can only narrow its creator's, so whatever a kind of thread needs
 * its creators must allow too; and the calls no VMM thread needs after
 * set-up are in no list.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/filter.h>
#include <linux/kvm.h>
#include <linux/vfio.h>
#include <cmocka.h>

#include "confine_priv.h"

#define NR_MAX 512

/* Who starts whom: every thread also runs under the main filter. */
static const struct { enum confine_kind parent, child; } creates[] = {
	{ CONFINE_MAIN, CONFINE_VCPU },     { CONFINE_MAIN, CONFINE_SIGNAL },
	{ CONFINE_MAIN, CONFINE_CONTROL },  { CONFINE_MAIN, CONFINE_BACKEND },
	{ CONFINE_MAIN, CONFINE_TIMER },    { CONFINE_MAIN, CONFINE_LOOPBACK },
	{ CONFINE_MAIN, CONFINE_BENCH },    { CONFINE_VCPU, CONFINE_VCPU },
	{ CONFINE_VCPU, CONFINE_BACKEND },  { CONFINE_VCPU, CONFINE_TIMER },
	{ CONFINE_VCPU, CONFINE_LOOPBACK }, { CONFINE_VCPU, CONFINE_BENCH },
	{ CONFINE_CONTROL, CONFINE_CONTROL }, { CONFINE_MAIN, CONFINE_WATCHDOG },
	{ CONFINE_MAIN, CONFINE_IRQ },
};

static bool allows(enum confine_kind kind, int nr, bool bench, bool hooks)
{
	return hooks ? confine_kind_allows_with_test_hooks(kind, nr, bench) : confine_kind_allows(kind, nr, bench);
}

static void test_a_child_kind_needs_nothing_its_creator_refuses(void **state)
{
	(void)state;
	for (int mode = 0; mode < 4; mode++) {
		bool bench = mode & 1, hooks = mode & 2;

		for (size_t i = 0; i < sizeof(creates) / sizeof(creates[0]); i++) {
			for (int nr = 0; nr < NR_MAX; nr++) {
				if (allows(creates[i].child, nr, bench, hooks) &&
				    !allows(creates[i].parent, nr, bench, hooks))
					fail_msg("%s threads call %d, which their creator (%s) may not%s",
						 confine_kind_name(creates[i].child), nr,
						 confine_kind_name(creates[i].parent),
						 hooks ? " (with test hooks)" : "");
			}
		}
	}
}

static void test_a_child_kind_uses_no_ioctl_its_creator_refuses(void **state)
{
	static const unsigned long reqs[] = { KVM_RUN, KVM_SET_REGS, KVM_GET_SREGS, KVM_INTERRUPT,
					      KVM_IRQ_LINE, KVM_CREATE_VM, KVM_CREATE_VCPU };

	(void)state;
	for (size_t i = 0; i < sizeof(creates) / sizeof(creates[0]); i++)
		for (size_t k = 0; k < sizeof(reqs) / sizeof(reqs[0]); k++)
			if (confine_kind_allows_ioctl(creates[i].child, reqs[k]))
				assert_true(confine_kind_allows_ioctl(creates[i].parent, reqs[k]));
}

static void test_no_thread_may_exec_fork_open_sockets_or_trace(void **state)
{
	static const int never[] = { SYS_execve, SYS_execveat, SYS_fork, SYS_vfork, SYS_socket,
				     SYS_connect, SYS_bind, SYS_ptrace, SYS_process_vm_writev, SYS_mount,
				     SYS_setuid, SYS_kill, SYS_init_module, SYS_bpf, SYS_perf_event_open };

	(void)state;
	for (int k = 0; k < CONFINE_NR_KINDS; k++)
		for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
			if (confine_kind_allows((enum confine_kind)k, never[i], true))
				fail_msg("%s threads may call %d", confine_kind_name((enum confine_kind)k),
					 never[i]);
}

static void test_only_main_rebuilds_a_vm_or_opens_files(void **state)
{
	(void)state;
	for (int k = 0; k < CONFINE_NR_KINDS; k++) {
		bool main = k == CONFINE_MAIN;

		assert_int_equal(confine_kind_allows_ioctl((enum confine_kind)k, KVM_CREATE_VM), main);
		assert_int_equal(confine_kind_allows_ioctl((enum confine_kind)k, KVM_SET_USER_MEMORY_REGION), main);
		assert_int_equal(confine_kind_allows((enum confine_kind)k, SYS_openat, false), main);
		assert_int_equal(confine_kind_allows((enum confine_kind)k, SYS_memfd_create, false), main);
	}
	assert_true(confine_kind_allows_ioctl(CONFINE_VCPU, KVM_RUN));
	assert_false(confine_kind_allows_ioctl(CONFINE_BACKEND, KVM_RUN));
	assert_false(confine_kind_allows_ioctl(CONFINE_CONTROL, KVM_RUN));
	/* A vCPU thread maps no memory into the VM, nor reads the dirty log, except for a test hook. */
	assert_false(confine_kind_allows_ioctl(CONFINE_VCPU, KVM_SET_USER_MEMORY_REGION));
	assert_false(confine_kind_allows_ioctl(CONFINE_VCPU, KVM_GET_DIRTY_LOG));
	assert_true(confine_kind_allows_ioctl_with_test_hooks(CONFINE_VCPU, KVM_SET_USER_MEMORY_REGION));
	assert_true(confine_kind_allows_ioctl_with_test_hooks(CONFINE_VCPU, KVM_GET_DIRTY_LOG));
	assert_false(confine_kind_allows_ioctl_with_test_hooks(CONFINE_CONTROL, KVM_GET_DIRTY_LOG));
	assert_true(confine_kind_allows_ioctl_with_test_hooks(CONFINE_VCPU, KVM_RUN));
	/*
	 * vcpu_pin/numa_node: a vCPU thread pins itself as it starts, under
	 * main's filter (TSYNC) and, when a vCPU started it, a vCPU's; threads a
	 * vCPU starts move to the domain's CPUs.  A new thread names itself under
	 * its creator's filter: main, vCPU or control (per-client threads).
	 * Binding memory to a node: main only.
	 */
	for (int k = 0; k < CONFINE_NR_KINDS; k++) {
		bool vcpu_or_main = k == CONFINE_MAIN || k == CONFINE_VCPU;

		assert_int_equal(confine_kind_allows((enum confine_kind)k, SYS_sched_setaffinity, false),
				 vcpu_or_main);
		assert_int_equal(confine_kind_allows((enum confine_kind)k, SYS_prctl, false),
				 vcpu_or_main || k == CONFINE_CONTROL);
		assert_int_equal(confine_kind_allows((enum confine_kind)k, SYS_mbind, false),
				 k == CONFINE_MAIN);
	}
	/* The loopback backend's kick eventfd: test hooks only (main reopens disks on reboot) */
	for (int bench = 0; bench <= 1; bench++) {
		assert_false(confine_kind_allows(CONFINE_VCPU, SYS_eventfd2, bench));
		assert_true(confine_kind_allows_with_test_hooks(CONFINE_VCPU, SYS_eventfd2, bench));
		assert_true(confine_kind_allows(CONFINE_MAIN, SYS_eventfd2, bench));
	}
}

/*
 * A network queue's thread (io/netback.c: netback.h lists its calls) runs as a
 * backend thread a vCPU starts: it waits in ppoll, reads its kick eventfd,
 * writes (notifications), and a port pair's end uses a mutex.
 */
static void test_a_network_queue_thread_may_wait_read_and_write(void **state)
{
	static const int calls[] = { SYS_ppoll, SYS_read, SYS_write, SYS_futex };

	(void)state;
	for (int bench = 0; bench <= 1; bench++)
		for (unsigned i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
			assert_true(confine_kind_allows(CONFINE_BACKEND, calls[i], bench));
			assert_true(confine_kind_allows(CONFINE_VCPU, calls[i], bench));
		}
}

/*
 * A PCI function's interrupt thread (hv/pcidev.c), started by main at each
 * build: it waits in ppoll on its vectors' eventfds, reads them, and sets
 * event channels pending (a mutex, a vCPU kick).  Routing the vectors is
 * main's, at connect and disconnect; no other thread may reroute them.
 */
static void test_a_pci_interrupt_thread_may_wait_read_and_notify_and_only_main_routes_vectors(void **state)
{
	static const int calls[] = { SYS_ppoll, SYS_read, SYS_write, SYS_futex, SYS_tgkill };

	(void)state;
	for (int bench = 0; bench <= 1; bench++)
		for (unsigned i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
			assert_true(confine_kind_allows(CONFINE_IRQ, calls[i], bench));
	assert_false(confine_kind_allows_ioctl(CONFINE_IRQ, VFIO_DEVICE_SET_IRQS));
	assert_true(confine_kind_allows_ioctl(CONFINE_MAIN, VFIO_DEVICE_SET_IRQS));
	assert_false(confine_kind_allows_ioctl(CONFINE_VCPU, VFIO_DEVICE_SET_IRQS));
	assert_false(confine_kind_allows(CONFINE_IRQ, SYS_openat, false));
	assert_false(confine_kind_allows(CONFINE_IRQ, SYS_clone, false));
}

/* The passwd file a test wrote, removed even when an assertion failed. */
static char passwd_path[] = "/tmp/xenith-passwd-XXXXXX";

static int remove_passwd(void **state)
{
	(void)state;
	if (unlink(passwd_path) < 0)
		fprintf(stderr, "teardown: unlink %s: %s\n", passwd_path, strerror(errno));
	return 0;
}

/* user = NAME: /etc/passwd's fields, empty ones included (busybox's "nobody::..."). */
static void test_user_names_are_read_from_passwd_field_by_field(void **state)
{
	char *path = passwd_path;
	struct errbuf eb;
	uid_t u = 0;
	gid_t g = 0;
	int fd = mkstemp(path);
	static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
				     "nobody::65534:65534:nobody:/:/bin/false\n"
				     "numeric::1000:1001:4242:/home/n:/bin/sh\n"
				     "short:x:7:8\n"
				     "wrap:x:4294967297:1::/:/bin/sh\n"
				     "minus:x:4294967295:1::/:/bin/sh\n"
				     "words:x:abc:1::/:/bin/sh\n";

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, passwd, sizeof(passwd) - 1), (ssize_t)(sizeof(passwd) - 1));
	close(fd);
	assert_int_equal(confine_resolve_user("nobody", path, &u, &g, &eb), 0);
	assert_int_equal(u, 65534);
	assert_int_equal(g, 65534);
	assert_int_equal(confine_resolve_user("numeric", path, &u, &g, &eb), 0); /* not the GECOS 4242 */
	assert_int_equal(u, 1000);
	assert_int_equal(g, 1001);
	assert_int_equal(confine_resolve_user("short", path, &u, &g, &eb), 0); /* no newline after gid */
	assert_int_equal(u, 7);
	assert_int_equal(g, 8);
	assert_int_equal(confine_resolve_user("wrap", path, &u, &g, &eb), -EINVAL); /* not uid 1 */
	assert_non_null(strstr(eb.msg, "4294967297"));
	assert_int_equal(confine_resolve_user("minus", path, &u, &g, &eb), -EINVAL); /* (uid_t)-1 */
	assert_int_equal(confine_resolve_user("words", path, &u, &g, &eb), -EINVAL);
	assert_int_equal(confine_resolve_user("nob", path, &u, &g, &eb), -ENOENT);
	assert_int_equal(confine_resolve_user("12:34", path, &u, &g, &eb), 0);
	assert_int_equal(u, 12);
	assert_int_equal(g, 34);
	assert_int_equal(confine_resolve_user("4294967296:1", path, &u, &g, &eb), -EINVAL);
	assert_int_equal(confine_resolve_user("12:", path, &u, &g, &eb), -EINVAL);
	assert_int_equal(confine_resolve_user("12", path, &u, &g, &eb), -EINVAL);
}

/*
 * The filters the VMM installs are the build's (confine_bpf.c, from
 * gen_seccomp.c) with the pid put in: each must be, instruction for
 * instruction, what libseccomp compiles from the tables now for this
 * process, in every variant; and the pid must be in it (a copy with
 * another pid differs).
 */
static void test_the_builds_filters_are_what_libseccomp_compiles_with_this_pid(void **state)
{
	uint32_t pid = (uint32_t)getpid();
	struct errbuf eb;

	(void)state;
	for (int bench = 0; bench < 2; bench++) {
		for (int hooks = 0; hooks < 2; hooks++) {
			for (int k = 0; k < CONFINE_NR_KINDS; k++) {
				struct sock_fprog built, now, other;

				assert_int_equal(confine_bpf_load((enum confine_kind)k, bench, hooks, pid, &built), 0);
				assert_int_equal(confine_compile_kind((enum confine_kind)k, bench, hooks, pid, &now, &eb),
						 0);
				assert_int_equal(confine_bpf_load((enum confine_kind)k, bench, hooks, pid + 1, &other),
						 0);
				if (built.len != now.len || memcmp(built.filter, now.filter, now.len * sizeof(now.filter[0])))
					fail_msg("the %s filter (bench %d, test hooks %d): the build's %u instructions "
						 "are not libseccomp's %u for pid %u", confine_kind_name((enum confine_kind)k),
						 bench, hooks, built.len, now.len, pid);
				assert_int_equal(other.len, built.len);
				assert_true(memcmp(other.filter, built.filter, built.len * sizeof(built.filter[0])) != 0);
				free(built.filter);
				free(now.filter);
				free(other.filter);
			}
		}
	}
	assert_int_equal(confine_bpf_load(CONFINE_NR_KINDS, false, false, pid, &(struct sock_fprog){ 0 }), -EINVAL);
	/* the SIGSYS message's names */
	assert_string_equal(confine_syscall_names[__NR_socket], "socket");
	assert_string_equal(confine_syscall_names[__NR_ioctl], "ioctl");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_child_kind_needs_nothing_its_creator_refuses),
		cmocka_unit_test(test_a_child_kind_uses_no_ioctl_its_creator_refuses),
		cmocka_unit_test(test_no_thread_may_exec_fork_open_sockets_or_trace),
		cmocka_unit_test(test_only_main_rebuilds_a_vm_or_opens_files),
		cmocka_unit_test(test_a_network_queue_thread_may_wait_read_and_write),
		cmocka_unit_test(test_a_pci_interrupt_thread_may_wait_read_and_notify_and_only_main_routes_vectors),
		cmocka_unit_test_teardown(test_user_names_are_read_from_passwd_field_by_field, remove_passwd),
		cmocka_unit_test(test_the_builds_filters_are_what_libseccomp_compiles_with_this_pid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
