/* SPDX-License-Identifier: MIT */
/*
 * A sampled vCPU's call stack, read from its guest's memory
 * (xenoprof/unwind.c): the guest's page-table walk and a frame-pointer
 * unwinder.  The VMM hands over the registers it sampled and the guest's
 * physical memory; nothing here asks KVM or the kernel for anything.
 *
 * The guest is hostile: its page tables and its stack may point anywhere,
 * loop, or change while they are read.  So every value is copied out of
 * guest memory once, into a local, and checked there; every read is
 * bounds-checked against the guest's memory before it is made (no read
 * outside [mem, mem + size), no integer overflow on the way), and every
 * loop is bounded.  The functions allocate nothing, take no lock and make
 * no system call: the VMM calls them from a vCPU thread, possibly in a
 * signal handler.
 *
 * Paging: long mode with 4-level paging (CR0.PG, CR4.PAE and EFER.LMA),
 * 4 KiB, 2 MiB and 1 GiB pages.  An entry's physical address is its bits
 * 51:12 (for a large page, 51:21 or 51:30); bits 52-62, NX (63) and the
 * other flag bits are ignored, present (bit 0) is honoured at every level
 * and page size (bit 7) in a PDPT or PD entry.  No access rights are
 * checked (the profiler reads what the guest could read at any privilege).
 * CR3's low 12 bits (flags or PCID) and bits 52-63 are masked.  With
 * CR0.PG clear an address is a guest-physical one.
 */
#ifndef XENITH_XENOPROF_UNWIND_H
#define XENITH_XENOPROF_UNWIND_H

#include <stddef.h>
#include <stdint.h>

/*
 * The largest step from one frame to the caller's (and from RSP to the
 * first frame) that the unwinder follows: a frame of more than this (1 MiB
 * of locals) is taken for a broken chain.  Linux's kernel stacks are 16 KiB,
 * its default user stack limit 8 MiB; real frames are far below 1 MiB.
 */
#define XP_UNWIND_MAX_FRAME (1ull << 20)

/* The guest's physical memory: guest-physical address A is mem[A] for A < size; nothing is at or above size. */
struct xp_guest_mem {
	const uint8_t *mem;
	uint64_t size;
};

/* What the VMM sampled: KVM_GET_REGS (rip, rsp, rbp) and KVM_GET_SREGS (cr0, cr3, cr4, efer). */
struct xp_cpu_state {
	uint64_t rip, rsp, rbp, cr0, cr3, cr4, efer;
};

/*
 * Translates the guest-virtual address gva with the guest's paging.
 * Returns 0 and the guest-physical address in *gpa (below m->size), or
 * -EFAULT (an entry not present, a table, an entry or the target outside
 * guest memory, gva not canonical) or -ENOTSUP (a paging mode this does
 * not walk: 32-bit paging, PAE paging outside long mode, 5-level paging
 * with CR4.LA57).  *gpa is written only on success.
 */
int xp_translate(const struct xp_guest_mem *m, const struct xp_cpu_state *cs, uint64_t gva, uint64_t *gpa);

/*
 * Copies len bytes at gva into dst, translating each page they touch (the
 * virtual pages may map anywhere).  Returns 0, or the error of the first
 * byte that cannot be read: xp_translate's, or -EFAULT for the first byte
 * past the top of the address space (a range does not wrap to 0).  dst
 * then holds the pages before that one and garbage after.
 */
int xp_read_guest(const struct xp_guest_mem *m, const struct xp_cpu_state *cs, uint64_t gva, void *dst,
		  size_t len);

/*
 * The call stack of a guest built with frame pointers (each frame starts
 * with push %rbp; mov %rsp,%rbp: [rbp] is the caller's rbp, [rbp + 8] the
 * return address).  ips[0] = rip, then the return addresses found by
 * following the rbp chain, innermost first; returns how many were stored
 * (at most max, at least 1 when max >= 1).  The walk stops at max, at a
 * frame pointer that is 0, not 8-byte aligned, not strictly above the
 * previous frame (the first frame must only not be below rsp), or more
 * than XP_UNWIND_MAX_FRAME above it, at a frame that cannot be read
 * (xp_read_guest), and at a return address that is 0 or not canonical.
 * The strictly rising frames make a loop of frames end.
 *
 * A sample taken in a function's prologue (before mov %rsp,%rbp) or in
 * code without a frame pointer misses that function's caller: rbp is
 * still the caller's frame.
 */
unsigned xp_unwind(const struct xp_guest_mem *m, const struct xp_cpu_state *cs, uint64_t *ips, unsigned max);

#endif
