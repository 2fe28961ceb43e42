// SPDX-License-Identifier: MIT
/*
 * unit tier: hypercall dispatch (hv/hypercall.c) on an unbacked domain:
 * which op numbers are served, what the dispatcher reads and writes of the
 * registers, and each op's argument checks as include/xenith/abi.h,
 * grant_table.h and blkif.h define them.  Event channels have their own
 * file (test_evtchn.c); races, read-only output pages and the test-only
 * ops are in test_hypercall.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "domain.h"
#include "hypercall.h"
#include "unbacked.h"
#include "xenith/blkif.h"

#define NR_VCPUS 2u

static struct domain *D;

static int setup(void **state)
{
	(void)state;
	D = unbacked_domain(NR_VCPUS, NULL, false);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (D)
		domain_destroy(D);
	D = NULL;
	return 0;
}

static long call(unsigned vcpu, uint32_t op, uint64_t a1, uint64_t a2, uint64_t a3)
{
	return unbacked_call(&D->vcpus[vcpu], op, a1, a2, a3, 0, 0);
}

/* A free page for argument structs, and the page after it. */
static uint64_t scratch(void)
{
	return D->layout.free_start;
}

static uint64_t put(uint64_t gpa, const void *src, size_t len)
{
	memcpy(D->mem + gpa, src, len);
	return gpa;
}

/* The ops include/xenith/abi.h names (written out here: the table under test is not the reference). */
static const uint32_t served[] = {
	__HYPERVISOR_xen_version, __HYPERVISOR_console_io, __HYPERVISOR_vcpu_op, __HYPERVISOR_sched_op,
	__HYPERVISOR_event_channel_op, __HYPERVISOR_grant_table_op, __HYPERVISOR_hvm_op,
	__HYPERVISOR_xenith_time, __HYPERVISOR_xenith_guest_assert, __HYPERVISOR_xenith_bench_report,
	__HYPERVISOR_xenith_config, __HYPERVISOR_xenith_test, __HYPERVISOR_xenith_discard,
};

static bool is_served(uint32_t op)
{
	for (size_t i = 0; i < sizeof(served) / sizeof(served[0]); i++)
		if (served[i] == op)
			return true;
	return false;
}

static void test_every_op_number_abi_h_does_not_name_is_enosys(void **state)
{
	static const uint32_t far[] = { XENITH_HYPERCALL_MAX, XENITH_HYPERCALL_MAX + 1, 1000, 0x7fffffff,
					0x80000000u, UINT32_MAX };

	(void)state;
	for (uint32_t op = 0; op < XENITH_HYPERCALL_MAX; op++) {
		long r;

		if (is_served(op))
			continue;
		r = call(0, op, 0, 0, 0);
		if (r != -XEN_ENOSYS)
			fail_msg("op %u (%s): %ld, not -ENOSYS", op, hypercall_name(op), r);
		assert_string_not_equal(hypercall_name(op), "");
	}
	for (size_t i = 0; i < sizeof(far) / sizeof(far[0]); i++)
		assert_int_equal(call(0, far[i], 0, 0, 0), -XEN_ENOSYS);
	assert_false(D->ended); /* nothing happened to the domain */
	/* each served op has its name; an unserved one is named by number */
	for (size_t i = 0; i < sizeof(served) / sizeof(served[0]); i++)
		assert_null(strstr(hypercall_name(served[i]), "op "));
	assert_string_equal(hypercall_name(13), "op 13");
	assert_string_equal(hypercall_name(UINT32_MAX), "op 4294967295");
}

static void test_dispatch_reads_eax_and_writes_only_rax(void **state)
{
	struct vcpu *v = &D->vcpus[0];
	struct kvm_regs *r = &v->run->s.regs.regs, want;

	(void)state;
	memset(r, 0x5a, sizeof(*r));
	r->rax = (0xdeadbeefull << 32) | __HYPERVISOR_xen_version; /* the upper half is not the op */
	r->rdi = XENVER_version;
	want = *r;
	v->run->kvm_dirty_regs = 0;
	hypercall_dispatch(v);
	assert_int_equal(r->rax, 1); /* version 0.1 */
	want.rax = r->rax;
	assert_memory_equal(&want, r, sizeof(want)); /* RIP too: KVM completes the OUT itself */
	assert_true(v->run->kvm_dirty_regs & KVM_SYNC_X86_REGS);
	/* an unknown op in EAX with a served one in the upper half */
	r->rax = ((uint64_t)__HYPERVISOR_xen_version << 32) | 63;
	hypercall_dispatch(v);
	assert_int_equal(r->rax, (uint64_t)-XEN_ENOSYS);
}

struct expect {
	const char *what;
	uint32_t op;
	uint64_t a1, a2, a3;
	long ret;
};

static void check_all(const struct expect *e, size_t n, unsigned vcpu)
{
	for (size_t i = 0; i < n; i++) {
		long r = call(vcpu, e[i].op, e[i].a1, e[i].a2, e[i].a3);

		if (r != e[i].ret)
			fail_msg("%s: %s(%#llx, %#llx, %#llx) = %ld, expected %ld", e[i].what,
				 hypercall_name(e[i].op), (unsigned long long)e[i].a1,
				 (unsigned long long)e[i].a2, (unsigned long long)e[i].a3, r, e[i].ret);
	}
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_console_io_writes_up_to_4096_bytes_from_guest_memory(void **state)
{
	const uint64_t buf = put(scratch(), "hello, console\n", 15);
	const struct expect e[] = {
		{ "a cmd other than write", __HYPERVISOR_console_io, 1, 8, buf, -XEN_ENOSYS },
		{ "count over 4096", __HYPERVISOR_console_io, CONSOLEIO_write, 4097, buf, -XEN_EINVAL },
		{ "count 2^32 + 8", __HYPERVISOR_console_io, CONSOLEIO_write, (1ull << 32) + 8, buf, -XEN_EINVAL },
		{ "buffer straddling the end", __HYPERVISOR_console_io, CONSOLEIO_write, 16, D->mem_size - 8,
		  -XEN_EFAULT },
		{ "buffer past the end", __HYPERVISOR_console_io, CONSOLEIO_write, 1, D->mem_size, -XEN_EFAULT },
		{ "buffer wrapping around", __HYPERVISOR_console_io, CONSOLEIO_write, 16, UINT64_MAX - 7,
		  -XEN_EFAULT },
		{ "nothing to write", __HYPERVISOR_console_io, CONSOLEIO_write, 0, buf, 0 },
	};

	(void)state;
	check_all(e, N(e), 0);
	assert_int_equal(D->console.bytes, 0); /* none of those wrote anything */
	assert_int_equal(call(0, __HYPERVISOR_console_io, CONSOLEIO_write, 15, buf), 15);
	assert_int_equal(D->console.bytes, 15);
	assert_int_equal(call(0, __HYPERVISOR_console_io, CONSOLEIO_write, 4096, scratch()), 4096);
	assert_int_equal(D->console.bytes, 15 + 4096);
}

static void test_vcpu_op_checks_the_vcpu_id_then_the_command(void **state)
{
	const uint64_t tiny = put(scratch(), &(uint64_t){ XENITH_TIMER_MIN_NS - 1 }, 8);
	const uint64_t hour = put(scratch() + 8, &(uint64_t){ 3600ull * 1000000000ull + 1 }, 8);
	const uint64_t ok = put(scratch() + 16, &(uint64_t){ 10000000 }, 8);
	const struct expect e[] = {
		{ "vCPU id past the last (up)", __HYPERVISOR_vcpu_op, VCPUOP_up, NR_VCPUS, D->image.entry, -XEN_EINVAL },
		{ "vCPU id past the last (is_up)", __HYPERVISOR_vcpu_op, VCPUOP_is_up, NR_VCPUS, 0, -XEN_EINVAL },
		{ "vCPU id 2^32 (is_up)", __HYPERVISOR_vcpu_op, VCPUOP_is_up, 1ull << 32, 0, -XEN_EINVAL },
		{ "vCPU id past the last, unknown cmd", __HYPERVISOR_vcpu_op, 99, NR_VCPUS, 0, -XEN_EINVAL },
		{ "unknown cmd", __HYPERVISOR_vcpu_op, 99, 0, 0, -XEN_ENOSYS },
		{ "up at a RIP outside memory", __HYPERVISOR_vcpu_op, VCPUOP_up, 1, D->mem_size, -XEN_EINVAL },
		{ "another vCPU taken down", __HYPERVISOR_vcpu_op, VCPUOP_down, 1, 0, -XEN_EPERM },
		{ "another vCPU's timer set", __HYPERVISOR_vcpu_op, VCPUOP_set_periodic_timer, 1, ok, -XEN_EPERM },
		{ "another vCPU's timer stopped", __HYPERVISOR_vcpu_op, VCPUOP_stop_periodic_timer, 1, 0,
		  -XEN_EPERM },
		{ "a period under the minimum", __HYPERVISOR_vcpu_op, VCPUOP_set_periodic_timer, 0, tiny,
		  -XEN_EINVAL },
		{ "a period over an hour", __HYPERVISOR_vcpu_op, VCPUOP_set_periodic_timer, 0, hour, -XEN_EINVAL },
		{ "the period outside memory", __HYPERVISOR_vcpu_op, VCPUOP_set_periodic_timer, 0, D->mem_size - 4,
		  -XEN_EFAULT },
		{ "vCPU 1 is down", __HYPERVISOR_vcpu_op, VCPUOP_is_up, 1, 0, 0 },
	};

	(void)state;
	check_all(e, N(e), 0);
	assert_int_equal(D->vcpus[0].timer_period_ns, 0); /* no timer was set */
	assert_false(D->timer_thread_started);
}

static void test_sched_op_shutdown_takes_only_the_documented_reasons(void **state)
{
	const uint64_t a = scratch();
	const struct expect e[] = {
		{ "unknown cmd", __HYPERVISOR_sched_op, 99, 0, 0, -XEN_ENOSYS },
		{ "yield", __HYPERVISOR_sched_op, SCHEDOP_yield, 0, 0, 0 },
		{ "shutdown, argument outside memory", __HYPERVISOR_sched_op, SCHEDOP_shutdown, D->mem_size - 4, 0,
		  -XEN_EFAULT },
		{ "shutdown, suspend", __HYPERVISOR_sched_op, SCHEDOP_shutdown,
		  put(a, &(struct sched_shutdown){ SHUTDOWN_suspend, 0 }, 8), 0, -XEN_ENOSYS },
		{ "shutdown, reason 5", __HYPERVISOR_sched_op, SCHEDOP_shutdown,
		  put(a + 8, &(struct sched_shutdown){ 5, 0 }, 8), 0, -XEN_EINVAL },
		{ "shutdown, reason 2^31", __HYPERVISOR_sched_op, SCHEDOP_shutdown,
		  put(a + 16, &(struct sched_shutdown){ 1u << 31, 0 }, 8), 0, -XEN_EINVAL },
	};

	(void)state;
	check_all(e, N(e), 0);
	assert_false(D->ended);
	assert_int_equal(call(0, __HYPERVISOR_sched_op, SCHEDOP_shutdown,
			      put(a + 24, &(struct sched_shutdown){ SHUTDOWN_poweroff, 42 }, 8), 0), 0);
	assert_true(D->ended);
	assert_int_equal(D->end.state, DOMAIN_SHUTDOWN);
	assert_int_equal(D->end.reason, SHUTDOWN_poweroff);
	assert_int_equal(D->end.code, 42);
	assert_non_null(strstr(D->end.why, "exit code 42"));
}

static void test_grant_table_op_sets_one_table_once(void **state)
{
	const uint64_t a = scratch(), table = scratch() + 4096;
	struct gnttab_xenith_set_table st = { .gpa = table, .nr_frames = 1 };
	const struct expect e[] = {
		{ "unknown cmd", __HYPERVISOR_grant_table_op, 0, put(a, &st, sizeof(st)), 1, -XEN_ENOSYS },
		{ "count 2", __HYPERVISOR_grant_table_op, GNTTABOP_xenith_set_table, a, 2, -XEN_EINVAL },
		{ "count 0", __HYPERVISOR_grant_table_op, GNTTABOP_xenith_set_table, a, 0, -XEN_EINVAL },
		{ "argument outside memory", __HYPERVISOR_grant_table_op, GNTTABOP_xenith_set_table, D->mem_size - 8,
		  1, -XEN_EFAULT },
		{ "table not page-aligned", __HYPERVISOR_grant_table_op, GNTTABOP_xenith_set_table,
		  put(a + 16, &(struct gnttab_xenith_set_table){ table + 8, 1, 0 }, 16), 1, -XEN_EINVAL },
		{ "no frames", __HYPERVISOR_grant_table_op, GNTTABOP_xenith_set_table,
		  put(a + 32, &(struct gnttab_xenith_set_table){ table, 0, 0 }, 16), 1, -XEN_EINVAL },
		{ "table in the builder's pages", __HYPERVISOR_grant_table_op, GNTTABOP_xenith_set_table,
		  put(a + 48, &(struct gnttab_xenith_set_table){ D->layout.start_info & ~4095ull, 1, 0 }, 16), 1,
		  -XEN_EFAULT },
		{ "table past the end", __HYPERVISOR_grant_table_op, GNTTABOP_xenith_set_table,
		  put(a + 64, &(struct gnttab_xenith_set_table){ D->mem_size, 1, 0 }, 16), 1, -XEN_EFAULT },
		{ "the table", __HYPERVISOR_grant_table_op, GNTTABOP_xenith_set_table, a, 1, 0 },
		{ "a second table", __HYPERVISOR_grant_table_op, GNTTABOP_xenith_set_table, a, 1, -XEN_EBUSY },
	};

	(void)state;
	check_all(e, N(e), 0);
	assert_int_equal(D->gnttab.gpa, table);
}

static void test_hvm_op_callback_vector_is_refused_to_a_cpl3_guest(void **state)
{
	const uint64_t a = scratch();
	const uint64_t good = (HVM_PARAM_CALLBACK_TYPE_VECTOR << 56) | 0xf3;
	const struct expect e[] = {
		{ "unknown cmd", __HYPERVISOR_hvm_op, 1,
		  put(a, &(struct xen_hvm_param){ XENITH_DOMID_SELF, 0, HVM_PARAM_CALLBACK_IRQ, good }, 16), 0,
		  -XEN_ENOSYS },
		{ "argument outside memory", __HYPERVISOR_hvm_op, HVMOP_set_param, D->mem_size - 8, 0, -XEN_EFAULT },
		{ "another domain", __HYPERVISOR_hvm_op, HVMOP_set_param,
		  put(a + 16, &(struct xen_hvm_param){ 5, 0, HVM_PARAM_CALLBACK_IRQ, good }, 16), 0, -XEN_ESRCH },
		{ "another param", __HYPERVISOR_hvm_op, HVMOP_set_param,
		  put(a + 32, &(struct xen_hvm_param){ XENITH_DOMID_SELF, 0, 99, good }, 16), 0, -XEN_EINVAL },
		{ "the vector, at CPL 3", __HYPERVISOR_hvm_op, HVMOP_set_param, a, 0, -XEN_EPERM },
		{ "the vector, by the domain's own id", __HYPERVISOR_hvm_op, HVMOP_set_param,
		  put(a + 48, &(struct xen_hvm_param){ 7, 0, HVM_PARAM_CALLBACK_IRQ, good }, 16), 0, -XEN_EPERM },
	};

	(void)state;
	assert_false(domain_pv_at_cpl0(D)); /* guest_cpl = 3, the default */
	check_all(e, N(e), 0);
	assert_int_equal(atomic_load(&D->callback_vector), 0);
}

static void test_small_ops_version_time_bench_report_config(void **state)
{
	struct timespec ts;
	uint64_t now;
	long t;
	const struct expect e[] = {
		{ "version", __HYPERVISOR_xen_version, XENVER_version, 0, 0, 1 },
		{ "another version cmd", __HYPERVISOR_xen_version, 1, 0, 0, -XEN_ENOSYS },
		{ "bench report outside `xenith bench`", __HYPERVISOR_xenith_bench_report, 0, 0, 0, -XEN_ENOSYS },
		/* Retired: disks are found through xenstore now, so the old disk-info call is unknown. */
		{ "xenith_config (retired)", __HYPERVISOR_xenith_config, 1, 0, scratch(), -XEN_ENOSYS },
	};

	(void)state;
	check_all(e, N(e), 0);
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	t = call(0, __HYPERVISOR_xenith_time, 0, 0, 0);
	assert_true(t > 0);
	/* the host's CLOCK_REALTIME, not a counter of its own: within a minute of ours */
	assert_true((uint64_t)t + 60000000000ull > now && (uint64_t)t < now + 60000000000ull);
}

static void test_discard_takes_whole_free_pages_inside_memory(void **state)
{
	const uint64_t page = scratch() + 8192;
	const struct expect e[] = {
		{ "gpa not page-aligned", __HYPERVISOR_xenith_discard, page + 8, 4096, 0, -XEN_EINVAL },
		{ "len not page-aligned", __HYPERVISOR_xenith_discard, page, 4095, 0, -XEN_EINVAL },
		{ "len 0", __HYPERVISOR_xenith_discard, page, 0, 0, -XEN_EINVAL },
		{ "the builder's pages", __HYPERVISOR_xenith_discard, D->layout.start_info & ~4095ull, 4096, 0,
		  -XEN_EFAULT },
		{ "past the end", __HYPERVISOR_xenith_discard, D->mem_size, 4096, 0, -XEN_EFAULT },
		{ "straddling the end", __HYPERVISOR_xenith_discard, D->mem_size - 4096, 8192, 0, -XEN_EFAULT },
		{ "wrapping around", __HYPERVISOR_xenith_discard, page, 0ull - page, 0, -XEN_EFAULT },
	};
	uint8_t zero[4096] = { 0 };

	(void)state;
	memset(D->mem + page, 0xa5, 4096);
	memset(D->mem + page + 4096, 0x5a, 4096);
	check_all(e, N(e), 0);
	assert_int_equal(D->mem[page], 0xa5);
	assert_int_equal(call(0, __HYPERVISOR_xenith_discard, page, 4096, 0), 0);
	assert_memory_equal(D->mem + page, zero, 4096); /* the page is given back: it reads as zeroes */
	assert_int_equal(D->mem[page + 4096], 0x5a);    /* and only it */
}

static void test_guest_assert_crashes_the_domain_with_file_line_and_expression(void **state)
{
	const uint64_t f = put(scratch(), "guest.c", 8), x = put(scratch() + 16, "a == b", 7);
	const uint64_t m = put(scratch() + 32, "two apples", 11);

	(void)state;
	assert_int_equal(unbacked_call(&D->vcpus[1], __HYPERVISOR_xenith_guest_assert, f, 42, x, m, 0), 0);
	assert_true(D->ended);
	assert_int_equal(D->end.state, DOMAIN_CRASHED);
	assert_string_equal(D->end.why, "guest assertion failed at guest.c:42: a == b (two apples)");
}

static void test_guest_assert_strings_outside_memory_are_shown_as_question_marks(void **state)
{
	(void)state;
	assert_int_equal(unbacked_call(&D->vcpus[0], __HYPERVISOR_xenith_guest_assert, D->mem_size, 7,
				       UINT64_MAX, 0, 0), 0);
	assert_string_equal(D->end.why, "guest assertion failed at ?:7: ?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_every_op_number_abi_h_does_not_name_is_enosys),
		T(test_dispatch_reads_eax_and_writes_only_rax),
		T(test_console_io_writes_up_to_4096_bytes_from_guest_memory),
		T(test_vcpu_op_checks_the_vcpu_id_then_the_command),
		T(test_sched_op_shutdown_takes_only_the_documented_reasons),
		T(test_grant_table_op_sets_one_table_once),
		T(test_hvm_op_callback_vector_is_refused_to_a_cpl3_guest),
		T(test_small_ops_version_time_bench_report_config),
		T(test_discard_takes_whole_free_pages_inside_memory),
		T(test_guest_assert_crashes_the_domain_with_file_line_and_expression),
		T(test_guest_assert_strings_outside_memory_are_shown_as_question_marks),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
