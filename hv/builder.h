/* SPDX-License-Identifier: MIT */
/*
 * The domain builder: guest memory, the guest image, page tables,
 * start_info, shared_info, descriptor tables and vCPU state, as Xen's
 * builder does for PV guests.
 *
 * Guest physical layout (identity-mapped, 4 KiB pages):
 *   0x0000            unmapped (NULL dereferences fault)
 *   0x1000            start_info (read-only)
 *   0x2000            shared_info
 *   0x3000            console ring
 *   0x4000            GDT and TSS (read-only)
 *   0x5000-0x7fff     VT-x/AMD-V hosts only: IDT, CPL-0 exception stub and stack (trap.h)
 *   0x8000            XENITH_MMIO_TEST_GPA: mapped, backed by no memory (abi.h)
 *   0x9000            the xenstore ring (struct xenstore_domain_interface, writable)
 *   0x100000..        the image, as its ELF program headers say
 *   after the image   page tables (read-only)
 *   then              per-vCPU stacks, each above an unmapped guard page
 *   then to the end   free memory, the guest's own
 *   past the end      the device window (domain.h), 2 MiB-aligned: passed-
 *                     through BARs, mapped uncached (PCD, PWT), no RAM
 */
#ifndef XENITH_HV_BUILDER_H
#define XENITH_HV_BUILDER_H

#include "domain.h"

#define BUILDER_START_INFO 0x1000ull
#define BUILDER_SHARED_INFO 0x2000ull
#define BUILDER_CONSOLE 0x3000ull
#define BUILDER_GDT 0x4000ull
#define BUILDER_XENSTORE 0x9000ull
#define BUILDER_IMAGE_MIN 0x100000ull
#define BUILDER_STACK_SIZE (32 * 1024ull)
#define BUILDER_STACK_GUARD 4096ull
#define BUILDER_MIN_FREE (64 * 1024ull)

/* GDT selectors (Linux's layout). */
#define GDT_KERNEL_CS 0x10
#define GDT_KERNEL_DS 0x18
#define GDT_USER_DS 0x2b
#define GDT_USER_CS 0x33
#define GDT_TSS 0x40

/* Maps the image file, finds its kind (kind.h) and has the kind open it. */
int builder_open_image(struct domain *d, const char *path, struct errbuf *eb);
/* Creates guest memory (the memfd) and maps it; the kind then populates it. */
int builder_populate(struct domain *d, struct errbuf *eb);

/* The PV kind's builder (kind_pv.c), the layout above. */
/* Validates a PV guest ELF; fills d->image. */
int builder_open_pv(struct domain *d, const char *path, struct errbuf *eb);
/* Computes d->layout; fails if memory is too small for it. */
int builder_plan(struct domain *d, struct errbuf *eb);
/*
 * Places size bytes (a BAR; a power of two of at least a page) in the
 * device window, naturally aligned, into *gpa, and for a PV guest plans
 * the layout again (the page tables now cover it).  -ENOSPC past DEVWIN_MAX.
 */
int builder_device_window(struct domain *d, uint64_t size, uint64_t *gpa, struct errbuf *eb);
/* Loads the image and writes every boot structure; adds the memory-map regions. */
int builder_populate_pv(struct domain *d, struct errbuf *eb);
/* Unmaps guest memory (and an unbacked domain's guard regions around it); sets d->mem NULL. */
void builder_unmap_memory(struct domain *d);
/* Initial segment/control state of a PV vCPU (same for all of them). */
int builder_setup_vcpu(struct domain *d, struct vcpu *v, struct errbuf *eb);

#endif
