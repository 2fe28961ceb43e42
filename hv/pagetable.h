/* SPDX-License-Identifier: MIT */
/*
 * PV page tables: 4-level, 4 KiB pages, identity map of guest memory
 * (virtual == physical, XENITH_PHYSMAP_BASE 0).  The user bit is set at
 * every level (the guest kernel runs at CPL 3); leaf permissions come from
 * the ranges the builder asks for, and whatever no range covers (page 0,
 * stack guard pages) is left unmapped.
 */
#ifndef XENITH_HV_PAGETABLE_H
#define XENITH_HV_PAGETABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

#define PTE_P (1ull << 0)
#define PTE_W (1ull << 1)
#define PTE_U (1ull << 2)
#define PTE_A (1ull << 5)
#define PTE_D (1ull << 6)
#define PTE_PWT (1ull << 3)
#define PTE_PCD (1ull << 4)
#define PTE_PS (1ull << 7)
#define PTE_NX (1ull << 63)
#define PTE_ADDR_MASK 0x000ffffffffff000ull

#define PT_MAP_W 1u /* writable */
#define PT_MAP_X 2u /* executable */
#define PT_MAP_SUPERVISOR 4u /* no user bit on the leaf: CPL 0 only */
#define PT_MAP_DEVICE 8u /* device memory (a passed-through BAR): uncached (PCD, PWT), may lie past guest memory */

struct pt_map {
	uint64_t start, end; /* page-aligned guest addresses, [start, end) */
	unsigned flags;      /* PT_MAP_* ; read is implied */
};

/* Page-table pages needed to map [0, mem_size) with 4 KiB pages. */
uint64_t pt_pages_needed(uint64_t mem_size);

/*
 * Writes the tables into mem[pt_base, pt_base + nr_pt_pages * 4096), the
 * PML4 first (so CR3 = pt_base).  Ranges must be page-aligned, inside
 * memory (PT_MAP_DEVICE ones may lie past it, below 2^47) and must not
 * overlap.
 */
int pt_build(uint8_t *mem, uint64_t mem_size, uint64_t pt_base, uint64_t nr_pt_pages,
	     const struct pt_map *maps, unsigned nr_maps, struct errbuf *eb);

/*
 * Walks the tables as the CPU would; returns true when va is mapped, with
 * the physical address and the effective permissions (AND of W and U over
 * the levels, OR of NX).  Used by the tests and by crash dumps.
 */
struct pt_walk {
	uint64_t pa;
	bool writable, user, nx;
	bool user_every_level;
};
bool pt_translate(const uint8_t *mem, uint64_t mem_size, uint64_t cr3, uint64_t va, struct pt_walk *w);

#endif
