/* SPDX-License-Identifier: MIT */
/*
 * The guest's memory map: every region of guest-physical address space the
 * VMM gives a meaning to, and the KVM memory slots behind them.
 *   RAM      backed by host memory, given to KVM as one memory slot each
 *   special  pages inside RAM with a role of their own (start_info, shared
 *            info, console ring, ...): listed, no slot of their own
 *   hole     no memory behind it: every access is an MMIO exit (the I/O
 *            bus, iobus.h, says who answers)
 *   device   a passed-through function's BAR, mapped from VFIO, given to
 *            KVM as a slot: the guest's accesses reach the device without
 *            an exit; not RAM (not mapped for DMA, never dirty-logged)
 * Builders ask it for regions instead of numbering slots.  It lists them
 * (for people, and for a VFIO DMA map later) and switches KVM's dirty
 * logging on and off per RAM region (KVM_MEM_LOG_DIRTY_PAGES), for
 * migration.  Without a VM (vm_fd < 0: unbacked test domains) it keeps the
 * map and tells KVM nothing.
 *
 * Writes the VMM makes into guest memory itself (hypercall results, grant
 * copies by backends) go through its own mapping, which KVM does not
 * track: the dirty log holds only what the guest's vCPUs wrote.
 *
 * The log is KVM's bitmap per slot (KVM_GET_DIRTY_LOG, which also clears
 * it), or, for a VM with KVM's dirty ring on (memmap_use_ring: each vCPU
 * pushes the frames it dirties into a ring of its own; hv/dirty_ring.c),
 * a bitmap per RAM region that the rings' entries are harvested into: a
 * fetch first has every ring harvested and KVM re-protect what was
 * harvested (collect), then hands out the region's bits.  A VM with the
 * ring has no KVM bitmap (KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP is arm64's).
 *
 * Regions change while no vCPU runs (building, rebooting); dirty logging
 * may be switched and fetched while they run (KVM allows both).
 */
#ifndef XENITH_HV_MEMMAP_H
#define XENITH_HV_MEMMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define MEMMAP_MAX_REGIONS 32u
#define MEMMAP_NAME_MAX 24u
#define MEMMAP_PAGE 4096ull

enum memmap_type {
	MEMMAP_RAM,
	MEMMAP_SPECIAL,
	MEMMAP_HOLE,
	MEMMAP_DEVICE,
};

struct memmap_region {
	char name[MEMMAP_NAME_MAX];
	enum memmap_type type;
	uint64_t gpa, size;        /* page-aligned */
	uint8_t *host;             /* RAM, special, device: where the VMM sees it; holes: NULL */
	int slot;                  /* RAM, device: its KVM memory slot; others: -1 */
	bool dirty_log;            /* RAM: KVM logs the guest's writes */
	uint64_t *ring_dirty;      /* RAM with the dirty ring: pages harvested dirty, not yet fetched */
};

struct memmap {
	int vm_fd;                 /* -1: no VM */
	unsigned nr;
	struct memmap_region region[MEMMAP_MAX_REGIONS]; /* in the order added */
	/* KVM's dirty ring: collect harvests every vCPU's ring (memmap_ring_mark) and resets them */
	bool ring;
	int (*collect)(void *opaque, struct errbuf *eb);
	void *collect_opaque;
};

void memmap_init(struct memmap *mm, int vm_fd);
/*
 * Forgets every region (the VM goes with its slots, or is rebuilt).  Does
 * not tell KVM: slots die with the VM.
 */
void memmap_reset(struct memmap *mm, int vm_fd);
/* Frees what the regions hold (the ring's bitmaps); the map stays listable. */
void memmap_release(struct memmap *mm);
/*
 * The VM has KVM's dirty ring: RAM added from now on gets a bitmap for it,
 * and fetches call collect first.  Before any RAM is added.
 */
void memmap_use_ring(struct memmap *mm, int (*collect)(void *opaque, struct errbuf *eb), void *opaque);
/*
 * A ring's entry: the page at offset in slot (KVM's numbering, address
 * space 0) was dirtied.  Safe from any thread; an entry for no RAM slot,
 * or past its end, is dropped.
 */
void memmap_ring_mark(struct memmap *mm, uint32_t slot, uint64_t offset);

/*
 * Adds RAM at [gpa, gpa + size), backed by host, as a new KVM slot (the
 * lowest unused number).  Page-aligned, not empty, overlapping no other
 * RAM or hole (else -EINVAL, -EBUSY naming both); -ENOSPC past
 * MEMMAP_MAX_REGIONS; KVM's own refusal as it gives it.  Returns the
 * region's index.
 */
int memmap_add_ram(struct memmap *mm, const char *name, uint64_t gpa, uint64_t size, void *host,
		   struct errbuf *eb);
/* Device memory at [gpa, gpa + size) backed by host (a BAR's mapping), as a KVM slot; as memmap_add_ram. */
int memmap_add_device(struct memmap *mm, const char *name, uint64_t gpa, uint64_t size, void *host,
		      struct errbuf *eb);
/* Pages inside one RAM region with a role of their own: listed only. */
int memmap_add_special(struct memmap *mm, const char *name, uint64_t gpa, uint64_t size,
		       struct errbuf *eb);
/* Address space with no memory behind it (MMIO exits). */
int memmap_add_hole(struct memmap *mm, const char *name, uint64_t gpa, uint64_t size,
		    struct errbuf *eb);

/* The RAM or hole region holding gpa (not a special one), or NULL. */
const struct memmap_region *memmap_find(const struct memmap *mm, uint64_t gpa);

/*
 * One line per region, sorted by address ("0x0000000-0x0007fff ram slot 0"),
 * for people.  Returns the length snprintf would (the text may be cut).
 */
size_t memmap_format(const struct memmap *mm, char *buf, size_t size);
/*
 * The same as a JSON array, sorted alike: {"gpa","size","type","name","slot"
 * (-1: none),"dirty_log"} per region.  The length, or -1 when it does not fit.
 */
int memmap_json(const struct memmap *mm, char *buf, size_t size);

/*
 * Dirty logging of RAM region idx (the guest's writes, a bit per page).
 * Start: logging on, nothing dirty yet.  Fetch: the pages written since
 * the start or the last fetch into bitmap (bit p of word p/64 for the
 * region's page p; bitmap holds memmap_dirty_words() words), and the log
 * starts afresh; returns how many pages were dirty.  Stop: logging off.
 * -EINVAL: idx is not RAM; -ENODEV: no VM; -EBADFD: fetch without start.
 */
int memmap_dirty_log_start(struct memmap *mm, unsigned idx, struct errbuf *eb);
int memmap_dirty_log_fetch(struct memmap *mm, unsigned idx, uint64_t *bitmap, struct errbuf *eb);
int memmap_dirty_log_stop(struct memmap *mm, unsigned idx, struct errbuf *eb);
static inline size_t memmap_dirty_words(const struct memmap_region *r)
{
	return (size_t)((r->size / MEMMAP_PAGE + 63) / 64);
}

#endif
