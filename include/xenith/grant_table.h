/* SPDX-License-Identifier: MIT */
/*
 * Grant tables, Xen's v1 layout: the guest owns an array of 8-byte entries
 * in its own memory and grants a backend access to one page frame per
 * entry.  A backend touches guest memory only through an entry that names
 * it (domid), permits access, and for writes is not read-only.
 *
 * Protocol, guest side (order matters, each step a single store):
 *   grant:   write frame, then domid, then (release) flags = GTF_permit_access
 *            [| GTF_readonly]: the backend never sees the flags before the
 *            frame and domid they cover.
 *   ungrant: compare-and-swap flags from what it wrote to 0; this fails
 *            while the backend has GTF_reading/GTF_writing set (the page is
 *            in use): try again later.
 * Backend side: compare-and-swap the (flags, domid) word to add
 * GTF_reading or GTF_writing, checking permit/domid/readonly in the same
 * step, read the frame after that, copy, then clear the bit.
 *
 * Backends in the VMM act as domain XENITH_BACKEND_DOMID (Xen's dom0).
 */
#ifndef XENITH_GRANT_TABLE_H
#define XENITH_GRANT_TABLE_H

#include <stdint.h>
#include "abi.h"

typedef uint32_t grant_ref_t;

struct grant_entry_v1 {
	uint16_t flags;  /* GTF_* */
	uint16_t domid;  /* who may access the frame */
	uint32_t frame;  /* guest page frame number (guest physical address >> 12) */
};
_Static_assert(sizeof(struct grant_entry_v1) == 8, "grant_entry_v1 ABI");

#define GTF_invalid 0x0
#define GTF_permit_access 0x1
#define GTF_type_mask 0x3
#define GTF_readonly (1u << 2)  /* the backend may only read */
#define GTF_reading (1u << 3)   /* set by the backend while it reads */
#define GTF_writing (1u << 4)   /* set by the backend while it writes */

#define XENITH_BACKEND_DOMID 0u
#define GNTTAB_NR_RESERVED_ENTRIES 8u /* refs 0-7 are never granted, as in Xen */
#define XENITH_GNTTAB_MAX_FRAMES 32u  /* 32 pages: 16384 entries */
#define XENITH_GNTTAB_ENTRIES_PER_FRAME (XENITH_PAGE_SIZE / sizeof(struct grant_entry_v1))

/*
 * grant_table_op(cmd, arg, count)
 * GNTTABOP_xenith_set_table (Xenith): the guest tells the VMM where its
 * table is: nr_frames whole pages at gpa, page-aligned, inside guest memory
 * (not the builder's pages).  Set once per boot; again: -EBUSY.  count
 * other than 1, nr_frames out of range or gpa not page-aligned: -EINVAL;
 * outside the guest's free memory: -EFAULT; -ENOMEM.
 *
 * What a backend's access through a grant answers (the xenith_test grant
 * hooks, a disk's ring page): -ENOENT (no table, a ref outside it or
 * reserved), -EPERM (not granted to XENITH_BACKEND_DOMID, or read-only for
 * a write), -EFAULT (frame outside guest memory), -EBUSY (the entry kept
 * changing under the VMM).
 */
#define GNTTABOP_xenith_set_table 64
struct gnttab_xenith_set_table {
	uint64_t gpa;
	uint32_t nr_frames; /* 1..XENITH_GNTTAB_MAX_FRAMES */
	uint32_t pad;
};
_Static_assert(sizeof(struct gnttab_xenith_set_table) == 16, "gnttab_xenith_set_table ABI");

#endif
