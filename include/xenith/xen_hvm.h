/* SPDX-License-Identifier: MIT */
/*
 * The part of Xen's HVM guest interface that Xenith serves to an
 * unmodified Linux guest (hv/xenhvm.h says how, and what is not served).
 * Numbers, names and layouts are Xen's public headers' (xen.h, memory.h,
 * vcpu.h, hvm/hvm_op.h, hvm/params.h, arch-x86/cpuid.h, features.h),
 * written here from those documents for the 64-bit ABI only.
 *
 * This differs from Xenith's own PV ABI (abi.h) in two ways that matter:
 * pointer arguments are guest-virtual addresses (the guest's own page
 * tables translate them), and shared_info and vcpu_info have Xen's
 * layout, in pages the guest chooses.
 */
#ifndef XENITH_XEN_HVM_H
#define XENITH_XEN_HVM_H

#include <stdint.h>

/* CPUID leaves (arch-x86/cpuid.h); base 0x40000000. */
#define XEN_CPUID_BASE 0x40000000u
#define XEN_CPUID_LEAVES 5u            /* base .. base + 4 */
#define XEN_CPUID_SIGNATURE_EBX 0x566e6558u /* "XenVMMXenVMM" */
#define XEN_CPUID_SIGNATURE_ECX 0x65584d4du
#define XEN_CPUID_SIGNATURE_EDX 0x4d4d566eu
/* base + 4, eax */
#define XEN_HVM_CPUID_VCPU_ID_PRESENT (1u << 3) /* ebx: the vCPU's id */
#define XEN_HVM_CPUID_UPCALL_VECTOR (1u << 6)   /* HVMOP_set_evtchn_upcall_vector */
/* base + 2: ebx is the MSR whose write asks for the hypercall page */
#define XEN_HYPERCALL_MSR 0x40000000u
#define XEN_HYPERCALL_STUB_SIZE 32u

/* The Xen release whose interface the answers follow (CPUID base + 1, XENVER_version). */
#define XENITH_XEN_MAJOR 4u
#define XENITH_XEN_MINOR 17u

/* Hypercall numbers beyond abi.h's */
#define __HYPERVISOR_memory_op 12

/* xen_version */
#define XENVER_extraversion 1  /* char[16] */
#define XENVER_compile_info 2  /* 140 bytes */
#define XENVER_capabilities 3  /* char[1024] */
#define XENVER_changeset 4     /* char[64] */
#define XENVER_platform_parameters 5 /* { unsigned long virt_start; } */
#define XENVER_get_features 6  /* struct xen_feature_info */
#define XENVER_pagesize 7
#define XENVER_guest_handle 8  /* uint8_t[16] */
struct xen_feature_info {
	uint32_t submap_idx; /* IN */
	uint32_t submap;     /* OUT */
};
_Static_assert(sizeof(struct xen_feature_info) == 8, "xen_feature_info ABI");
/* features.h: what submap 0 says to an HVM guest */
#define XENFEAT_writable_page_tables 0
#define XENFEAT_auto_translated_physmap 2
#define XENFEAT_hvm_callback_vector 8
#define XENFEAT_hvm_safe_pvclock 9

/* memory_op */
#define XENMEM_add_to_physmap 7
#define XENMAPSPACE_shared_info 0
#define XENMAPSPACE_grant_table 1
struct xen_add_to_physmap {
	uint16_t domid;
	uint16_t size;
	uint32_t space;
	uint64_t idx;
	uint64_t gpfn;
};
_Static_assert(sizeof(struct xen_add_to_physmap) == 24, "xen_add_to_physmap ABI");

/* vcpu_op */
#define VCPUOP_register_vcpu_info 10
struct vcpu_register_vcpu_info {
	uint64_t mfn;    /* the guest frame (an HVM guest's "mfn" is its gfn) */
	uint32_t offset; /* of the vcpu_info in it */
	uint32_t rsvd;
};
_Static_assert(sizeof(struct vcpu_register_vcpu_info) == 16, "vcpu_register_vcpu_info ABI");

/* hvm_op (HVMOP_set_param is abi.h's) */
#define HVMOP_get_param 1
#define HVMOP_pagetable_dying 9
#define HVMOP_set_evtchn_upcall_vector 23
struct xen_hvm_evtchn_upcall_vector {
	uint32_t vcpu;
	uint8_t vector;
	uint8_t pad[3];
};
_Static_assert(sizeof(struct xen_hvm_evtchn_upcall_vector) == 8, "upcall vector ABI");
/* HVM parameters (hvm/params.h) Linux asks for */
#define HVM_PARAM_STORE_PFN 1
#define HVM_PARAM_STORE_EVTCHN 2
#define HVM_PARAM_CONSOLE_PFN 17
#define HVM_PARAM_CONSOLE_EVTCHN 18
#define HVM_NR_PARAMS 40

/* event_channel_op beyond abi.h's */
#define EVTCHNOP_bind_ipi 7
#define EVTCHNOP_init_control 11 /* the FIFO ABI: not served, Linux falls back to 2-level */
struct evtchn_bind_ipi {
	uint32_t vcpu;
	uint32_t port; /* OUT */
};
_Static_assert(sizeof(struct evtchn_bind_ipi) == 8, "evtchn_bind_ipi ABI");
#define VIRQ_DEBUG 1 /* per vCPU in Xen; Xenith never raises it */

/* shared_info and vcpu_info, Xen's layout (xen.h, arch-x86/xen.h), 64-bit */
#define XEN_LEGACY_MAX_VCPUS 32u
#define XEN_VCPU_INFO_SIZE 64u
#define XEN_SHINFO_EVTCHN_PENDING 2048u /* 64 words: 4096 ports */
#define XEN_SHINFO_EVTCHN_MASK 2560u

/*
 * The platform device's I/O ports (Xen's hvm/ioreq.h and Linux's
 * xen/platform_pci.h): a 16-bit read of XEN_IOPORT_MAGIC gives
 * XEN_IOPORT_MAGIC_VAL when the unplug protocol is there; an 8-bit read of
 * XEN_IOPORT_PROTOVER its version; the guest writes its product number
 * (16 bits) at XEN_IOPORT_PRODNUM and its build number (32 bits) at
 * XEN_IOPORT_MAGIC, then the emulated devices to unplug (16 bits) at
 * XEN_IOPORT_UNPLUG.
 */
#define XEN_IOPORT_BASE 0x10u
#define XEN_IOPORT_MAGIC 0x10u
#define XEN_IOPORT_UNPLUG 0x10u
#define XEN_IOPORT_PROTOVER 0x12u
#define XEN_IOPORT_PRODNUM 0x12u
#define XEN_IOPORT_MAGIC_VAL 0x49d2u
#define XEN_IOPORT_PROTOVER_VAL 1u

#endif
