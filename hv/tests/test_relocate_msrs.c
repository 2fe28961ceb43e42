// SPDX-License-Identifier: MIT
/*
 * kvm tier: the MSRs a save writes and a restore sets (hv/relocate.c,
 * reloc_msrs_get and reloc_msrs_set), on a real KVM vCPU.  A restore sets
 * them in one KVM_SET_MSRS; these tests check that all of them arrive, in
 * one call, and that a value KVM refuses is reported at its own index with
 * the ones after it not set.  (A CPL-3 minios never changes these MSRs,
 * so the save-and-restore tests of kvm-relocate cannot see them.)
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"
#include "relocate_priv.h"
#include "skip.h"

#define MSR_PAT 0x277u
#define MSR_LSTAR 0xc0000082u

static int kvm_fd = -1, vm_fd = -1, vcpu_fd = -1;

static int setup(void **state)
{
	struct {
		struct kvm_cpuid2 h;
		struct kvm_cpuid_entry2 e[256];
	} cpuid;

	(void)state;
	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0)
		return -1;
	memset(&cpuid, 0, sizeof(cpuid));
	cpuid.h.nent = 256;
	vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm_fd >= 0)
		vcpu_fd = ioctl(vm_fd, KVM_CREATE_VCPU, 0);
	/* what the VMM gives a vCPU: KVM checks some MSRs against its CPUID */
	if (vcpu_fd >= 0 && ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, &cpuid) == 0)
		ioctl(vcpu_fd, KVM_SET_CPUID2, &cpuid);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (vcpu_fd >= 0)
		close(vcpu_fd);
	if (vm_fd >= 0)
		close(vm_fd);
	if (kvm_fd >= 0)
		close(kvm_fd);
	return 0;
}

static void need_vcpu(void)
{
	if (vcpu_fd < 0)
		fail_msg("KVM would not create a VM and a vCPU: %s", strerror(errno));
}

/* A value KVM takes for each saved MSR, unlike its reset value; seed makes two sets differ. */
static uint64_t value_for(uint32_t index, unsigned seed)
{
	switch (index) {
	case 0x174: return 0x10 + 8 * seed;                        /* SYSENTER_CS */
	case MSR_PAT: return seed & 1 ? 0x0007010600070106ull       /* types 0, 1, 6, 7 */
				      : 0x0006050400060504ull;      /* types 4, 5, 6 */
	case 0xc0000103: return 0x40 + seed;                       /* TSC_AUX: 32 bits */
	case 0xc0000084: return 0x47700 + seed;                    /* SFMASK */
	case 0xc0000081: return 0x0023001000000000ull + seed;      /* STAR */
	default: return 0xffffffff81000000ull + 0x1000 * index + 0x10 * seed; /* addresses: canonical */
	}
}

static uint64_t get_one(uint32_t index)
{
	uint64_t v = 0;

	assert_int_equal(reloc_msr_get(vcpu_fd, index, &v), 0);
	return v;
}

/* Every saved MSR KVM lets this host set, set in one call and read back by the save's reader. */
static void test_restore_sets_every_saved_msr_in_one_call_and_a_save_reads_them_back(void **state)
{
	struct kvm_msr_entry want[RELOC_MAX_SAVED_MSRS], got[RELOC_MAX_SAVED_MSRS];
	unsigned n = 0, nr_got;

	(void)state;
	need_vcpu();
	for (unsigned i = 0; i < reloc_nr_saved_msrs; i++) {
		uint32_t index = reloc_saved_msrs[i];

		/* one the host's KVM refuses on its own is not the restore's to set */
		if (reloc_msr_set(vcpu_fd, index, value_for(index, 1)) < 0) {
			printf("# MSR 0x%x: this host's KVM refuses it on its own; left out\n", index);
			continue;
		}
		want[n++] = (struct kvm_msr_entry){ .index = index, .data = value_for(index, 2) };
	}
	assert_true(n >= reloc_nr_saved_msrs / 2);
	assert_int_equal(reloc_msrs_set(vcpu_fd, want, n), n);
	for (unsigned i = 0; i < n; i++)
		if (get_one(want[i].index) != want[i].data)
			fail_msg("MSR 0x%x is 0x%llx after the set, not 0x%llx", want[i].index,
				 (unsigned long long)get_one(want[i].index), (unsigned long long)want[i].data);
	nr_got = reloc_msrs_get(vcpu_fd, got);
	assert_true(nr_got >= n);
	for (unsigned i = 0; i < n; i++) {
		bool found = false;

		for (unsigned k = 0; k < nr_got; k++)
			if (got[k].index == want[i].index) {
				found = true;
				assert_true(got[k].data == want[i].data);
			}
		if (!found)
			fail_msg("the save's reader left out MSR 0x%x, which KVM reads", want[i].index);
	}
}

/* A refused value is reported at its index; KVM set the ones before it and none after. */
static void test_a_refused_msr_is_named_by_its_index_and_stops_the_set(void **state)
{
	uint64_t before = value_for(0xc0000102, 3), gs_after;
	struct kvm_msr_entry e[3] = {
		{ .index = 0x174, .data = value_for(0x174, 3) },
		{ .index = MSR_LSTAR, .data = 0x0000800000000000ull }, /* not canonical */
		{ .index = 0xc0000102, .data = value_for(0xc0000102, 4) },
	};

	(void)state;
	need_vcpu();
	if (reloc_msr_set(vcpu_fd, 0xc0000102, before) < 0 || reloc_msr_set(vcpu_fd, 0x174, 0) < 0)
		SKIP_BECAUSE("this host's KVM refuses SYSENTER_CS or KERNEL_GS_BASE on their own");
	assert_int_equal(reloc_msrs_set(vcpu_fd, e, 3), 1);
	assert_true(get_one(0x174) == e[0].data);
	gs_after = get_one(0xc0000102);
	if (gs_after != before)
		fail_msg("KERNEL_GS_BASE, after the refused LSTAR, was set to 0x%llx", (unsigned long long)gs_after);
	assert_int_equal(reloc_msrs_set(vcpu_fd, e, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_restore_sets_every_saved_msr_in_one_call_and_a_save_reads_them_back),
		cmocka_unit_test(test_a_refused_msr_is_named_by_its_index_and_stops_the_set),
	};

	harness_require_kvm(); /* without it, the plan 1..0 # SKIP and the reason */
	return cmocka_run_group_tests(tests, setup, teardown);
}
