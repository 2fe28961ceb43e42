// SPDX-License-Identifier: MIT
#include "pagetable.h"

#include <string.h>

#define PAGE 4096ull
#define ENTRIES 512ull
#define TABLE_FLAGS (PTE_P | PTE_W | PTE_U | PTE_A)

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

uint64_t pt_pages_needed(uint64_t mem_size)
{
	uint64_t pts = div_up(mem_size, PAGE * ENTRIES);
	uint64_t pds = div_up(pts, ENTRIES);
	uint64_t pdpts = div_up(pds, ENTRIES);

	return 1 + pdpts + pds + pts;
}

struct pt_alloc {
	uint8_t *mem;
	uint64_t next, end;
};

static uint64_t *table_at(uint8_t *mem, uint64_t pa)
{
	return (uint64_t *)(void *)(mem + pa);
}

/* Returns the table an entry points to, allocating it when absent. */
static uint64_t *next_level(struct pt_alloc *a, uint64_t *entry)
{
	if (!(*entry & PTE_P)) {
		if (a->next >= a->end)
			return NULL;
		memset(a->mem + a->next, 0, PAGE);
		*entry = a->next | TABLE_FLAGS;
		a->next += PAGE;
	}
	return table_at(a->mem, *entry & PTE_ADDR_MASK);
}

int pt_build(uint8_t *mem, uint64_t mem_size, uint64_t pt_base, uint64_t nr_pt_pages,
	     const struct pt_map *maps, unsigned nr_maps, struct errbuf *eb)
{
	struct pt_alloc a = { .mem = mem, .next = pt_base + PAGE, .end = pt_base + nr_pt_pages * PAGE };
	uint64_t *pml4;

	if (pt_base % PAGE || nr_pt_pages == 0 || a.end > mem_size || a.end < pt_base)
		return errbuf_set(eb, EINVAL, "page tables [0x%llx, +%llu pages) do not fit guest memory",
				  (unsigned long long)pt_base, (unsigned long long)nr_pt_pages);
	for (unsigned i = 0; i < nr_maps; i++) {
		const struct pt_map *m = &maps[i];

		uint64_t limit = m->flags & PT_MAP_DEVICE ? 1ull << 47 : mem_size;

		if (m->start % PAGE || m->end % PAGE || m->start > m->end || m->end > limit)
			return errbuf_set(eb, EINVAL, "mapping [0x%llx, 0x%llx) is not page-aligned "
					  "inside guest memory", (unsigned long long)m->start,
					  (unsigned long long)m->end);
		for (unsigned j = 0; j < i; j++)
			if (m->start < maps[j].end && maps[j].start < m->end)
				return errbuf_set(eb, EINVAL, "mapping [0x%llx, 0x%llx) overlaps [0x%llx, 0x%llx)",
						  (unsigned long long)m->start, (unsigned long long)m->end,
						  (unsigned long long)maps[j].start,
						  (unsigned long long)maps[j].end);
	}
	pml4 = table_at(mem, pt_base);
	memset(pml4, 0, PAGE);
	for (unsigned i = 0; i < nr_maps; i++) {
		const struct pt_map *m = &maps[i];
		uint64_t leaf = PTE_P | PTE_A | PTE_D;
		uint64_t *pt = NULL;

		if (!(m->flags & PT_MAP_SUPERVISOR))
			leaf |= PTE_U;
		if (m->flags & PT_MAP_W)
			leaf |= PTE_W;
		if (!(m->flags & PT_MAP_X))
			leaf |= PTE_NX;
		if (m->flags & PT_MAP_DEVICE)
			leaf |= PTE_PCD | PTE_PWT;
		for (uint64_t va = m->start; va < m->end; va += PAGE) {
			/* Re-walk only when crossing into a new page table. */
			if (!pt || (va & (PAGE * ENTRIES - 1)) == 0 || va == m->start) {
				uint64_t *pdpt = next_level(&a, &pml4[(va >> 39) & 511]);
				uint64_t *pd = pdpt ? next_level(&a, &pdpt[(va >> 30) & 511]) : NULL;

				pt = pd ? next_level(&a, &pd[(va >> 21) & 511]) : NULL;
				if (!pt)
					return errbuf_set(eb, ENOSPC, "page tables need more than the %llu "
							  "pages reserved", (unsigned long long)nr_pt_pages);
			}
			pt[(va >> 12) & 511] = va | leaf;
		}
	}
	return 0;
}

bool pt_translate(const uint8_t *mem, uint64_t mem_size, uint64_t cr3, uint64_t va, struct pt_walk *w)
{
	uint64_t table = cr3 & PTE_ADDR_MASK;
	bool writable = true, user = true, nx = false, user_every = true;

	for (int level = 3; level >= 0; level--) {
		uint64_t e;

		if (table + PAGE > mem_size)
			return false;
		e = ((const uint64_t *)(const void *)(mem + table))[(va >> (12 + 9 * level)) & 511];
		if (!(e & PTE_P))
			return false;
		writable = writable && (e & PTE_W);
		user = user && (e & PTE_U);
		user_every = user_every && (e & PTE_U);
		nx = nx || (e & PTE_NX);
		if (level > 0 && (e & PTE_PS))
			return false; /* the builder never makes large pages */
		table = e & PTE_ADDR_MASK;
	}
	w->pa = table | (va & (PAGE - 1));
	w->writable = writable;
	w->user = user;
	w->nx = nx;
	w->user_every_level = user_every;
	return true;
}
