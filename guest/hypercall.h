/* SPDX-License-Identifier: MIT */
/* Hypercall wrappers: op in EAX, args in RDI, RSI, RDX, R10, R8, result in RAX. */
#ifndef MINIOS_HYPERCALL_H
#define MINIOS_HYPERCALL_H

#include <stdint.h>

#include "xenith/abi.h"

static inline long hypercall5(uint32_t op, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
			      uint64_t a5)
{
	register uint64_t r10 __asm__("r10") = a4;
	register uint64_t r8 __asm__("r8") = a5;
	uint64_t rax = op;

	__asm__ volatile("outl %%eax, %[port]"
			 : "+a"(rax)
			 : [port] "i"(XENITH_HYPERCALL_PORT), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8)
			 : "memory");
	return (long)rax;
}

static inline long hypercall0(uint32_t op)
{
	return hypercall5(op, 0, 0, 0, 0, 0);
}

static inline long hypercall2(uint32_t op, uint64_t a1, uint64_t a2)
{
	return hypercall5(op, a1, a2, 0, 0, 0);
}

static inline long hypercall3(uint32_t op, uint64_t a1, uint64_t a2, uint64_t a3)
{
	return hypercall5(op, a1, a2, a3, 0, 0);
}

static inline long HYPERVISOR_console_io(int cmd, uint64_t count, const void *buf)
{
	return hypercall3(__HYPERVISOR_console_io, (uint64_t)cmd, count, (uint64_t)(uintptr_t)buf);
}

static inline long HYPERVISOR_sched_op(int cmd, void *arg)
{
	return hypercall2(__HYPERVISOR_sched_op, (uint64_t)cmd, (uint64_t)(uintptr_t)arg);
}

static inline long HYPERVISOR_vcpu_op(int cmd, unsigned vcpu, uint64_t arg)
{
	return hypercall3(__HYPERVISOR_vcpu_op, (uint64_t)cmd, vcpu, arg);
}

static inline long HYPERVISOR_event_channel_op(int cmd, void *arg)
{
	return hypercall2(__HYPERVISOR_event_channel_op, (uint64_t)cmd, (uint64_t)(uintptr_t)arg);
}

#endif
