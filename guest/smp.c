// SPDX-License-Identifier: MIT
/*
 * SMP: other vCPUs start at _start through VCPUOP_up.  There is no per-CPU
 * segment at CPL 3, so a vCPU's id comes from which builder stack RSP is in.
 */
#include "hypercall.h"
#include "minios.h"

extern void _start(void);

static void (*vcpu_fn[XENITH_MAX_VCPUS])(unsigned vcpu);

unsigned smp_processor_id(void)
{
	uint64_t sp = (uint64_t)(uintptr_t)__builtin_frame_address(0);

	return (unsigned)((sp - start_info->stack_base) / start_info->stack_stride);
}

int smp_start_vcpu(unsigned vcpu, void (*fn)(unsigned vcpu))
{
	if (vcpu == 0 || vcpu >= start_info->nr_vcpus)
		return -XEN_EINVAL;
	/* Release: the new vCPU reads vcpu_fn[vcpu] after it starts. */
	__atomic_store_n(&vcpu_fn[vcpu], fn, __ATOMIC_RELEASE);
	return (int)HYPERVISOR_vcpu_op(VCPUOP_up, vcpu, (uint64_t)(uintptr_t)_start);
}

noreturn_fn void smp_vcpu_down(void)
{
	HYPERVISOR_vcpu_op(VCPUOP_down, smp_processor_id(), 0);
	for (;;)
		;
}

/* Called by kernel_entry on vCPUs other than 0. */
noreturn_fn void smp_secondary_entry(unsigned vcpu)
{
	void (*fn)(unsigned) = vcpu < XENITH_MAX_VCPUS ? __atomic_load_n(&vcpu_fn[vcpu], __ATOMIC_ACQUIRE)
							: NULL;

	if (current_cpl() == 0)
		trap_load_idt(); /* vCPU 0 built it before bringing us up */
	if (fn)
		fn(vcpu);
	smp_vcpu_down();
}
