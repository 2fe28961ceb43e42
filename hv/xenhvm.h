/* SPDX-License-Identifier: MIT */
/*
 * Xen's HVM guest interface for an unmodified Linux guest (`xen_hvm = 1`):
 * the guest finds Xen, and Xenith serves what Linux's Xen support asks of
 * it.  Built on the linux kind (bzImage, KVM's in-kernel LAPIC/IOAPIC/PIC);
 * needs a VT-x or AMD-V host, as every Linux guest does.
 *
 * HVM, not PVH: the linux kind already boots a bzImage through the Linux
 * boot protocol with ACPI, the in-kernel irqchip and a UART, which is what
 * an HVM guest has; PVH would need the ELF vmlinux (Debian ships only the
 * compressed bzImage) and a different entry.  What HVM costs in return,
 * grant tables through the platform PCI device's BAR, is the next step.
 *
 * What the guest sees:
 *   CPUID    0x40000000 "XenVMMXenVMM", leaves up to 0x40000004 (KVM's own
 *            leaves are not shown: one hypervisor, so Linux takes Xen's path);
 *            +1 the version (XENITH_XEN_MAJOR.MINOR), +2 one hypercall page
 *            and the MSR 0x40000000, +4 the vCPU id and the per-vCPU
 *            upcall vector (XEN_HVM_CPUID_UPCALL_VECTOR).
 *   MSR      a write of 0x40000000 (KVM's user-space MSR filter sends it
 *            here) fills the guest page it names with 128 stubs of 32 bytes:
 *            `mov $N, %eax; out %eax, $0xe0; ret`: Xenith's hypercall port,
 *            with Xen's argument registers (rdi, rsi, rdx, r10, r8), which
 *            are Xenith's too.  The page is ordinary guest RAM.
 *   hypercalls (pointer arguments are guest-virtual, translated through
 *            the vCPU's page tables):
 *            xen_version   version, extraversion, capabilities, changeset,
 *                          platform_parameters, get_features, pagesize,
 *                          guest_handle
 *            memory_op     XENMEM_add_to_physmap of shared_info: the guest's
 *                          RAM page becomes shared_info (Xen's layout)
 *            vcpu_op       VCPUOP_register_vcpu_info
 *            hvm_op        HVMOP_set_evtchn_upcall_vector; get_param
 *                          answers 0 (unset) for what is not served
 *            event_channel_op  Xenith's (evtchn.h), plus bind_ipi and the
 *                          per-vCPU VIRQ_DEBUG
 *            sched_op, console_io  Xenith's
 *            Anything else is -ENOSYS, and the first call of each op and
 *            command says so on the VMM's stderr, naming it.
 *   events   each vCPU's upcall is a fixed, edge-triggered interrupt on the
 *            vector it registered, through its LAPIC (KVM_SIGNAL_MSI): Linux
 *            acknowledges it with an EOI (xen_percpu_upcall).  The single
 *            HVM_PARAM_CALLBACK_IRQ vector is not served: Xen injects it
 *            outside the LAPIC, which KVM's in-kernel irqchip cannot do.
 *   clock    no Xen clock (XENFEAT_hvm_safe_pvclock is not offered), so
 *            Linux keeps the clocksource it would pick on this machine (the
 *            TSC, calibrated against the PIT) and the LAPIC timer.
 *   ports    0x10-0x13: the platform device's unplug protocol (magic,
 *            version 1), which Linux's Xen PV drivers ask before binding.
 */
#ifndef XENITH_HV_XENHVM_H
#define XENITH_HV_XENHVM_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

struct domain;
struct vcpu;
struct kvm_cpuid2;

/* Claims the unplug ports; after linux_open.  0 or -errno with eb. */
int xenhvm_open(struct domain *d, struct errbuf *eb);
void xenhvm_close(struct domain *d);
/* A new VM: the hypercall MSR goes to user space. */
int xenhvm_vm_init(struct domain *d, struct errbuf *eb);
/* Every build: no shared_info, no vcpu_info registered (what was logged stays said). */
void xenhvm_reset(struct domain *d);

/*
 * Rewrites CPUID for vCPU v: drops the 0x400000xx leaves, adds Xen's.
 * c must have room for XEN_CPUID_LEAVES more entries than c->nent.
 */
void xenhvm_cpuid(struct domain *d, struct vcpu *v, struct kvm_cpuid2 *c);

/* KVM_EXIT_X86_RDMSR / WRMSR. */
void xenhvm_msr(struct vcpu *v);
/* KVM_EXIT_XEN: a hypercall KVM's Xen support sent here. */
void xenhvm_xen_exit(struct vcpu *v);
/* KVM_EXIT_IO on the hypercall port: true if it was a hypercall (handled). */
bool xenhvm_pio(struct vcpu *v);
/*
 * The hypercall in v's registers (also the fuzz target's entry: a vCPU
 * with fd -1 translates with the hc_cr* values its harness set).
 */
void xenhvm_hypercall(struct vcpu *v);

/*
 * Guest-virtual memory of vCPU v, through its page tables (4-level long
 * mode; xenoprof/unwind.h's walk): hypercall arguments.  0 or -1.
 */
int xenhvm_va_read(struct vcpu *v, void *dst, uint64_t gva, uint64_t len);
int xenhvm_va_write(struct vcpu *v, uint64_t gva, const void *src, uint64_t len);
bool xenhvm_va_writable(struct vcpu *v, uint64_t gva, uint64_t len);

/* vCPU v's upcall became pending: its vector, if it registered one, through its LAPIC. */
void xenhvm_upcall(struct vcpu *v);

#endif
