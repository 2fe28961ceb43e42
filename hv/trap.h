/* SPDX-License-Identifier: MIT */
/*
 * Exception reports on hardware-assisted hosts.  On AMD-V, KVM resets a
 * vCPU that triple-faults before telling the VMM, so the crash RIP is
 * lost; an IDT whose gates lead to a tiny CPL-0 stub that exits to the VMM
 * keeps it (see XENITH_EXCEPTION_PORT in abi.h).  PVM runs CPL-0 code only
 * by emulation and reports triple faults with their state intact, so there
 * the builder installs nothing.
 */
#ifndef XENITH_HV_TRAP_H
#define XENITH_HV_TRAP_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "pagetable.h"

struct domain;
struct vcpu;

#define TRAP_IDT 0x5000ull   /* 32 gates, read-only */
#define TRAP_STUB 0x6000ull  /* CPL-0 code, supervisor, read/execute */
#define TRAP_STACK 0x7000ull /* CPL-0 stack page (TSS RSP0 = its top), supervisor */
#define TRAP_VECTORS 32u

/* True when this host runs CPL-0 guest code natively (kvm_intel, kvm_amd). */
bool trap_host_supported(void);
/* Writes the IDT and stub and adds their mappings; returns the new map count. */
unsigned trap_install(struct domain *d, struct pt_map *maps, unsigned n, uint64_t tss);
/* The stub's exit: reads the frame at RSP and ends the domain as crashed. */
void trap_report(struct vcpu *v);
/* Claims XENITH_EXCEPTION_PORT on the domain's port bus: a write there is trap_report(). */
int trap_register(struct domain *d, struct errbuf *eb);

#endif
