// SPDX-License-Identifier: MIT
/*
 * Names of exit reasons and hypercalls.  The exit reasons are those the
 * host's <linux/kvm.h> defines (newer ones under #ifdef, so an older header
 * still builds); the hypercalls are hv/hypercall.c's hypercall_names, by
 * the op numbers of include/xenith/abi.h.
 */
#include "names.h"

#include <stdio.h>
#include <linux/kvm.h>

#include "xenith/abi.h"
#include "profile.h"

#define EXIT(n) [KVM_EXIT_##n] = #n

static const char *const exit_names[] = {
	EXIT(UNKNOWN),
	EXIT(EXCEPTION),
	EXIT(IO),
	EXIT(HYPERCALL),
	EXIT(DEBUG),
	EXIT(HLT),
	EXIT(MMIO),
	EXIT(IRQ_WINDOW_OPEN),
	EXIT(SHUTDOWN),
	EXIT(FAIL_ENTRY),
	EXIT(INTR),
	EXIT(SET_TPR),
	EXIT(TPR_ACCESS),
	EXIT(S390_SIEIC),
	EXIT(S390_RESET),
	EXIT(DCR),
	EXIT(NMI),
	EXIT(INTERNAL_ERROR),
	EXIT(OSI),
	EXIT(PAPR_HCALL),
	EXIT(S390_UCONTROL),
	EXIT(WATCHDOG),
	EXIT(S390_TSCH),
	EXIT(EPR),
	EXIT(SYSTEM_EVENT),
	EXIT(S390_STSI),
	EXIT(IOAPIC_EOI),
	EXIT(HYPERV),
#ifdef KVM_EXIT_ARM_NISV
	EXIT(ARM_NISV),
#endif
#ifdef KVM_EXIT_X86_RDMSR
	EXIT(X86_RDMSR),
	EXIT(X86_WRMSR),
#endif
#ifdef KVM_EXIT_DIRTY_RING_FULL
	EXIT(DIRTY_RING_FULL),
#endif
#ifdef KVM_EXIT_AP_RESET_HOLD
	EXIT(AP_RESET_HOLD),
#endif
#ifdef KVM_EXIT_X86_BUS_LOCK
	EXIT(X86_BUS_LOCK),
#endif
#ifdef KVM_EXIT_XEN
	EXIT(XEN),
#endif
#ifdef KVM_EXIT_RISCV_SBI
	EXIT(RISCV_SBI),
#endif
#ifdef KVM_EXIT_RISCV_CSR
	EXIT(RISCV_CSR),
#endif
#ifdef KVM_EXIT_NOTIFY
	EXIT(NOTIFY),
#endif
#ifdef KVM_EXIT_LOONGARCH_IOCSR
	EXIT(LOONGARCH_IOCSR),
#endif
#ifdef KVM_EXIT_MEMORY_FAULT
	EXIT(MEMORY_FAULT),
#endif
#ifdef KVM_EXIT_TDX
	EXIT(TDX),
#endif
};

#define HCALL(n) [__HYPERVISOR_##n] = #n

static const char *const hcall_names[XENITH_HYPERCALL_MAX] = {
	HCALL(xen_version),
	HCALL(console_io),
	HCALL(vcpu_op),
	HCALL(sched_op),
	HCALL(event_channel_op),
	HCALL(grant_table_op),
	HCALL(xenith_config),
	HCALL(hvm_op),
	HCALL(xenith_time),
	HCALL(xenith_guest_assert),
	HCALL(xenith_bench_report),
	HCALL(xenith_test),
	HCALL(xenith_discard),
};

const char *xp_exit_name(uint32_t reason)
{
	if (reason < sizeof(exit_names) / sizeof(exit_names[0]))
		return exit_names[reason];
	return NULL;
}

const char *xp_hcall_name(uint32_t op)
{
	if (op < XENITH_HYPERCALL_MAX)
		return hcall_names[op];
	return NULL;
}

const char *xp_detail_name(uint32_t detail, char *buf, size_t size)
{
	uint32_t n = XP_DETAIL_NUM(detail);
	const char *name;

	if (!size)
		return buf;
	switch (XP_DETAIL_CLASS(detail)) {
	case XP_CLASS_NONE:
		if (!n) {
			snprintf(buf, size, "none");
			break;
		}
		snprintf(buf, size, "detail %#010x", detail);
		break;
	case XP_CLASS_EXIT:
		name = xp_exit_name(n);
		if (name)
			snprintf(buf, size, "exit %s", name);
		else
			snprintf(buf, size, "exit %u", n);
		break;
	case XP_CLASS_HCALL:
		name = xp_hcall_name(n);
		if (name)
			snprintf(buf, size, "hypercall %s", name);
		else
			snprintf(buf, size, "hypercall op %u", n);
		break;
	default:
		snprintf(buf, size, "detail %#010x", detail);
		break;
	}
	return buf;
}
