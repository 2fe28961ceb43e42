// SPDX-License-Identifier: MIT
/*
 * kvm tier: xenoprof/kvmstats.c on the real kernel's statistics files
 * (KVM_GET_STATS_FD on a VM and on a vCPU).  Every descriptor the kernel
 * has is one this reader knows; the statistics Xenith's profiler reports
 * are there with their types and units; and a vCPU that runs a few
 * real-mode instructions (two OUTs and a HLT: three exits to this
 * process) moves its cumulative counters between two reads.  PVM runs
 * that code by emulation, VT-x and AMD-V natively; both count the exits.
 *
 * Without a usable /dev/kvm, or without binary statistics (Linux < 5.14),
 * the program prints the TAP plan "1..0 # SKIP <reason>" and exits 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"
#include "kvm.h"
#include "kvmstats.h"

#define MEM_SIZE 0x10000ull
#define CODE_GPA 0x1000ull
#define PORT 0x10u

/* mov al, 1; out 0x10, al; inc al; out 0x10, al; hlt */
static const uint8_t code[] = { 0xb0, 0x01, 0xe6, PORT, 0xfe, 0xc0, 0xe6, PORT, 0xf4 };

static struct kvm_sys sys = { .fd = -1 };

/* One VM with one vCPU and 64 KiB of memory holding the code, and both stats fds. */
struct vm {
	int vm_fd, vcpu_fd;
	struct kvm_run *run;
	void *mem;
	int vm_stats_fd, vcpu_stats_fd;
	struct kvmstats *vm_stats, *vcpu_stats;
};

static int stats_fd(int fd, const char *what)
{
	int r = ioctl(fd, KVM_GET_STATS_FD, 0);

	if (r < 0)
		fail_msg("KVM_GET_STATS_FD on the %s: %s", what, strerror(errno));
	return r;
}

static struct kvmstats *stats_open(int fd, const char *what)
{
	struct kvmstats *s = NULL;
	struct errbuf eb = { "" };

	if (kvmstats_open(fd, &s, &eb) < 0)
		fail_msg("the %s's statistics: %s", what, eb.msg);
	return s;
}

static int vm_setup(void **state)
{
	struct vm *v = calloc(1, sizeof(*v));
	struct errbuf eb = { "" };

	assert_non_null(v);
	v->vm_fd = v->vcpu_fd = v->vm_stats_fd = v->vcpu_stats_fd = -1;
	*state = v;
	if (kvm_vm_create(&sys, &v->vm_fd, &eb) < 0)
		fail_msg("%s", eb.msg);
	v->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(v->mem != MAP_FAILED);
	memcpy((uint8_t *)v->mem + CODE_GPA, code, sizeof(code));
	if (kvm_vm_set_memory(v->vm_fd, 0, 0, MEM_SIZE, v->mem, &eb) < 0 ||
	    kvm_vcpu_create(&sys, v->vm_fd, 0, &v->vcpu_fd, &v->run, &eb) < 0)
		fail_msg("%s", eb.msg);
	v->vm_stats_fd = stats_fd(v->vm_fd, "VM");
	v->vcpu_stats_fd = stats_fd(v->vcpu_fd, "vCPU");
	v->vm_stats = stats_open(v->vm_stats_fd, "VM");
	v->vcpu_stats = stats_open(v->vcpu_stats_fd, "vCPU");
	return 0;
}

static int vm_teardown(void **state)
{
	struct vm *v = *state;

	if (!v)
		return 0;
	kvmstats_close(v->vcpu_stats);
	kvmstats_close(v->vm_stats);
	if (v->vcpu_stats_fd >= 0)
		close(v->vcpu_stats_fd);
	if (v->vm_stats_fd >= 0)
		close(v->vm_stats_fd);
	kvm_vcpu_close(&sys, v->vcpu_fd, v->run);
	if (v->vm_fd >= 0)
		close(v->vm_fd);
	if (v->mem && v->mem != MAP_FAILED)
		munmap(v->mem, MEM_SIZE);
	free(v);
	*state = NULL;
	return 0;
}

/* The statistic called name: it exists, with this type and unit. */
static unsigned expect_stat(const struct kvmstats *s, const char *name, const char *type,
			    const char *unit)
{
	int i = kvmstats_find(s, name);

	if (i < 0)
		fail_msg("%s has no statistic '%s'", kvmstats_id(s), name);
	assert_string_equal(kvmstats_type(s, (unsigned)i), type);
	assert_string_equal(kvmstats_unit(s, (unsigned)i), unit);
	return (unsigned)i;
}

static uint32_t num_desc(int fd)
{
	struct kvm_stats_header h;

	assert_int_equal(pread(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	return h.num_desc;
}

static void read_all(struct kvmstats *s, uint64_t **values)
{
	struct errbuf eb = { "" };

	*values = calloc(kvmstats_count(s) + 1, sizeof(**values));
	assert_non_null(*values);
	if (kvmstats_read(s, *values, &eb) < 0)
		fail_msg("%s", eb.msg);
}

static void test_every_descriptor_of_the_kernel_is_a_statistic_this_reader_knows(void **state)
{
	struct vm *v = *state;

	/* none left out as an unknown kind: when this fails, a newer kernel has a new kind */
	assert_int_equal(kvmstats_count(v->vm_stats), num_desc(v->vm_stats_fd));
	assert_int_equal(kvmstats_count(v->vcpu_stats), num_desc(v->vcpu_stats_fd));
	for (unsigned i = 0; i < kvmstats_count(v->vcpu_stats); i++) {
		assert_true(kvmstats_name(v->vcpu_stats, i)[0] != '\0');
		assert_non_null(kvmstats_type(v->vcpu_stats, i));
		assert_non_null(kvmstats_unit(v->vcpu_stats, i));
	}
}

static void test_vm_statistics_have_the_tlb_and_mmu_counters(void **state)
{
	struct vm *v = *state;
	const struct kvmstats *s = v->vm_stats;
	uint64_t *val;

	assert_true(!strncmp(kvmstats_id(s), "kvm-", 4));
	assert_null(strchr(kvmstats_id(s), '/'));
	expect_stat(s, "remote_tlb_flush", "cumulative", "");
	expect_stat(s, "remote_tlb_flush_requests", "cumulative", "");
	expect_stat(s, "mmu_cache_miss", "cumulative", "");
	expect_stat(s, "pages_4k", "instant", "");
	expect_stat(s, "max_mmu_page_hash_collisions", "peak", "");
	assert_int_equal(kvmstats_find(s, "exits"), -1); /* that one is each vCPU's */
	read_all(v->vm_stats, &val);
	free(val);
}

static void test_vcpu_statistics_have_exit_halt_and_emulation_counters(void **state)
{
	struct vm *v = *state;
	const struct kvmstats *s = v->vcpu_stats;
	unsigned i;
	uint64_t *val;
	char want[32];

	snprintf(want, sizeof(want), "%s/vcpu-0", kvmstats_id(v->vm_stats));
	assert_string_equal(kvmstats_id(s), want);
	expect_stat(s, "exits", "cumulative", "");
	expect_stat(s, "halt_exits", "cumulative", "");
	expect_stat(s, "io_exits", "cumulative", "");
	expect_stat(s, "mmio_exits", "cumulative", "");
	expect_stat(s, "insn_emulation", "cumulative", "");
	expect_stat(s, "hypercalls", "cumulative", "");
	expect_stat(s, "pf_taken", "cumulative", "");
	expect_stat(s, "blocking", "instant", "boolean");
	i = expect_stat(s, "halt_wait_ns", "cumulative", "seconds");
	assert_int_equal(kvmstats_base(s, i), 10);
	assert_int_equal(kvmstats_exponent(s, i), -9);
	i = expect_stat(s, "halt_wait_hist", "log-hist", "seconds");
	assert_true(kvmstats_is_histogram(s, i));
	assert_int_equal(kvmstats_buckets(s, i), 32);
	assert_int_equal(kvmstats_exponent(s, i), -9);
	read_all(v->vcpu_stats, &val);
	assert_int_equal(val[kvmstats_find(s, "halt_exits")], 0); /* it has not run */
	free(val);
}

/* Runs the vCPU from CODE_GPA in real mode to its HLT: the two OUTs, then HLT. */
static void run_code(struct vm *v)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = CODE_GPA, .rflags = 2 };
	uint8_t seen[2];

	assert_int_equal(ioctl(v->vcpu_fd, KVM_GET_SREGS, &sregs), 0);
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	assert_int_equal(ioctl(v->vcpu_fd, KVM_SET_SREGS, &sregs), 0);
	assert_int_equal(ioctl(v->vcpu_fd, KVM_SET_REGS, &regs), 0);
	for (unsigned n = 0; n < 3; n++) {
		if (ioctl(v->vcpu_fd, KVM_RUN, 0) < 0)
			fail_msg("KVM_RUN (%s): %s", kvm_vendor_module(), strerror(errno));
		if (n < 2) {
			if (v->run->exit_reason != KVM_EXIT_IO || v->run->io.port != PORT ||
			    v->run->io.direction != KVM_EXIT_IO_OUT || v->run->io.size != 1)
				fail_msg("exit %u: reason %u, not an OUT to port 0x%x (%s)", n,
					 v->run->exit_reason, PORT, kvm_vendor_module());
			seen[n] = *((uint8_t *)v->run + v->run->io.data_offset);
		} else if (v->run->exit_reason != KVM_EXIT_HLT) {
			fail_msg("exit 2: reason %u, not HLT (%s)", v->run->exit_reason, kvm_vendor_module());
		}
	}
	assert_int_equal(seen[0], 1);
	assert_int_equal(seen[1], 2);
}

static void test_vcpu_exits_grow_while_it_runs(void **state)
{
	struct vm *v = *state;
	const struct kvmstats *s = v->vcpu_stats;
	int exits = kvmstats_find(s, "exits"), halts = kvmstats_find(s, "halt_exits");
	uint64_t *before, *after;

	assert_true(exits >= 0 && halts >= 0);
	assert_true(kvmstats_is_cumulative(s, (unsigned)exits));
	read_all(v->vcpu_stats, &before);
	run_code(v);
	read_all(v->vcpu_stats, &after);
	/* every return to this process was an exit; the HLT was the one halt */
	if (after[exits] - before[exits] < 3)
		fail_msg("exits went from %llu to %llu over 3 exits to userspace",
			 (unsigned long long)before[exits], (unsigned long long)after[exits]);
	assert_int_equal(after[halts] - before[halts], 1);
	/* cumulative counters never go back */
	for (unsigned i = 0; i < kvmstats_count(s); i++)
		if (kvmstats_is_cumulative(s, i) && after[i] < before[i])
			fail_msg("%s went back from %llu to %llu", kvmstats_name(s, i),
				 (unsigned long long)before[i], (unsigned long long)after[i]);
	free(before);
	free(after);
}

static int sys_setup(void **state)
{
	struct errbuf eb = { "" };

	(void)state;
	if (kvm_sys_open(&sys, &eb) < 0) {
		fprintf(stderr, "%s\n", eb.msg);
		return -1;
	}
	return 0;
}

static int sys_teardown(void **state)
{
	(void)state;
	kvm_sys_close(&sys);
	return 0;
}

/* Binary statistics came with Linux 5.14: without them, a skip (the plan), exit 0. */
static void require_binary_stats(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int r = fd >= 0 ? ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_BINARY_STATS_FD) : -1;

	if (fd >= 0)
		close(fd);
	if (r <= 0) {
		printf("1..0 # SKIP this KVM has no binary statistics (KVM_CAP_BINARY_STATS_FD, "
		       "Linux 5.14 and later)\n");
		exit(0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_every_descriptor_of_the_kernel_is_a_statistic_this_reader_knows,
						vm_setup, vm_teardown),
		cmocka_unit_test_setup_teardown(test_vm_statistics_have_the_tlb_and_mmu_counters,
						vm_setup, vm_teardown),
		cmocka_unit_test_setup_teardown(test_vcpu_statistics_have_exit_halt_and_emulation_counters,
						vm_setup, vm_teardown),
		cmocka_unit_test_setup_teardown(test_vcpu_exits_grow_while_it_runs, vm_setup, vm_teardown),
	};

	harness_require_kvm();
	require_binary_stats();
	return cmocka_run_group_tests(tests, sys_setup, sys_teardown);
}
