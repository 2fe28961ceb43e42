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

#endif
