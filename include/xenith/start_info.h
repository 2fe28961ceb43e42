/* SPDX-License-Identifier: MIT */
/*
 * start_info: what the domain builder tells a guest at boot.  Its guest
 * address arrives in RDI on vCPU 0 (and on every vCPU brought up with
 * VCPUOP_up, with the vCPU id in RSI).
 */
#ifndef XENITH_START_INFO_H
#define XENITH_START_INFO_H

#include <stdint.h>
#include "abi.h"

#define XENITH_START_INFO_MAGIC 0x4854494e45580a31ull /* "1\nXENITH" */
#define XENITH_CMDLINE_MAX 1024
#define XENITH_NAME_MAX 64

struct xenith_start_info {
	uint64_t magic;           /* XENITH_START_INFO_MAGIC */
	uint32_t abi_version;     /* XENITH_ABI_VERSION of the VMM */
	uint32_t domid;
	uint64_t mem_bytes;       /* guest physical memory: [0, mem_bytes) */
	uint32_t nr_vcpus;
	uint32_t flags;           /* reserved, 0 */
	uint64_t shared_info;     /* guest address of struct xenith_shared_info */
	uint64_t console_ring;    /* guest address of struct xenith_console_ring */
	uint32_t console_evtchn;  /* port: send to have the VMM drain the ring */
	uint32_t pad0;
	uint64_t pt_base;         /* first page-table page (mapped read-only) */
	uint64_t nr_pt_pages;
	uint64_t stack_base;      /* vCPU n's stack: [stack_base + n*stack_stride
	                           *   + guard, + stack_stride), RSP at its top */
	uint64_t stack_stride;
	uint64_t stack_guard;     /* unmapped bytes at the bottom of each stride */
	uint64_t image_start;     /* lowest loaded guest address of the image */
	uint64_t image_end;       /* first byte after the image */
	uint64_t free_start;      /* [free_start, free_end): the guest's to use */
	uint64_t free_end;
	char name[XENITH_NAME_MAX];
	char cmdline[XENITH_CMDLINE_MAX];
	/*
	 * ABI version 2: the xenstore (include/xenith/xs_wire.h).  store_ring
	 * is the guest address of the store's ring page, a struct
	 * xenstore_domain_interface the guest maps writable (Xen's start_info
	 * has its frame number, store_mfn); a send on store_evtchn has the VMM
	 * process the ring at once, on the sending vCPU's thread, and the
	 * store sets the port pending when it wrote replies or watch events.
	 */
	uint64_t store_ring;
	uint32_t store_evtchn;
	uint32_t pad1;
};

_Static_assert(sizeof(struct xenith_start_info) == 0x80 + XENITH_NAME_MAX + XENITH_CMDLINE_MAX + 16,
	       "start_info ABI size");
_Static_assert(__builtin_offsetof(struct xenith_start_info, abi_version) == 8, "start_info ABI");
_Static_assert(__builtin_offsetof(struct xenith_start_info, shared_info) == 0x20, "start_info ABI");
_Static_assert(__builtin_offsetof(struct xenith_start_info, console_ring) == 0x28, "start_info ABI");
_Static_assert(__builtin_offsetof(struct xenith_start_info, stack_base) == 0x48, "start_info ABI");
_Static_assert(__builtin_offsetof(struct xenith_start_info, free_start) == 0x70, "start_info ABI");
_Static_assert(__builtin_offsetof(struct xenith_start_info, name) == 0x80, "start_info ABI");
_Static_assert(__builtin_offsetof(struct xenith_start_info, store_ring) ==
	       0x80 + XENITH_NAME_MAX + XENITH_CMDLINE_MAX, "start_info ABI");
_Static_assert(sizeof(struct xenith_start_info) <= XENITH_PAGE_SIZE, "start_info fits a page");

#endif
