/* SPDX-License-Identifier: MIT */
/*
 * KVM's dirty ring (KVM_CAP_DIRTY_LOG_RING): instead of a bitmap per slot
 * that KVM_GET_DIRTY_LOG copies out whole, each vCPU pushes the frames it
 * dirties, once each until re-protected, into a ring of its own mapped
 * from its fd.  The VMM harvests the entries (into the memory map's
 * bitmaps, memmap_ring_mark), marks them for reset, and KVM_RESET_DIRTY_RINGS
 * write-protects those pages again.  The work follows what was dirtied,
 * not the size of memory.
 *
 * A vCPU whose ring is (nearly) full exits with KVM_EXIT_DIRTY_RING_FULL;
 * its thread harvests its own ring and resets before it goes on.  The ring
 * is chosen at the VM's creation, before any vCPU (KVM's rule), by
 * dirty_ring in the config: auto (the default: the ring where the host has
 * it, for PV domains, the ones that migrate), 0 (KVM's bitmap), or the
 * entries per vCPU.
 */
#ifndef XENITH_HV_DIRTY_RING_H
#define XENITH_HV_DIRTY_RING_H

#include "domain.h"

#define DIRTY_RING_DEFAULT 4096u   /* entries per vCPU: 64 KiB */

/* After the VM, before its vCPUs: turns the ring on as the config says (d->dirty_ring). */
int dirty_ring_vm_init(struct domain *d, struct errbuf *eb);
/* After the vCPU's creation: maps its ring (nothing without one); ring_lock is vcpu_init's. */
int dirty_ring_vcpu_map(struct domain *d, struct vcpu *v, struct errbuf *eb);
void dirty_ring_vcpu_unmap(struct domain *d, struct vcpu *v);
/* Every vCPU's ring harvested into the memory map, then KVM_RESET_DIRTY_RINGS: entries, or -errno. */
int dirty_ring_collect(struct domain *d, struct errbuf *eb);
/* KVM_EXIT_DIRTY_RING_FULL on v: its ring harvested and reset; false when that failed (d crashed). */
bool dirty_ring_full(struct vcpu *v);

#endif
