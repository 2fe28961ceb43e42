/* SPDX-License-Identifier: MIT */
#ifndef XENITH_HV_HYPERCALL_H
#define XENITH_HV_HYPERCALL_H

#include "domain.h"

/*
 * Handles the hypercall whose registers are in v->run->s.regs: looks the
 * op up in the table, writes the result to RAX.
 */
void hypercall_dispatch(struct vcpu *v);

/* The op's name for people ("vcpu_op"), or "op N" for one Xenith does not serve. */
const char *hypercall_name(uint32_t op);

/*
 * A hypercall's pointer arguments: guest-physical addresses in Xenith's PV
 * guests, guest-virtual ones in Xen HVM guests (xenhvm.h), whose page
 * tables translate them page by page.  0, or -1 when some byte is not
 * guest memory the guest may hand over (writable: for output).
 */
int guest_arg_read(struct vcpu *v, void *dst, uint64_t addr, uint64_t len);
int guest_arg_write(struct vcpu *v, uint64_t addr, const void *src, uint64_t len);
bool guest_arg_writable(struct vcpu *v, uint64_t addr, uint64_t len);

/* The ops a Xen HVM guest shares with PV guests (xenhvm.c's dispatcher calls them). */
long hypercall_console_io(struct vcpu *v, uint64_t cmd, uint64_t count, uint64_t buf);
long hypercall_sched_op(struct vcpu *v, uint64_t cmd, uint64_t arg);

#endif
