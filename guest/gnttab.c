// SPDX-License-Identifier: MIT
/*
 * The guest's grant table (include/xenith/grant_table.h): a few pages of
 * entries handed to the VMM once, and a free list of references.
 */
#include "hypercall.h"
#include "minios.h"

#define MAX_ENTRIES (XENITH_GNTTAB_MAX_FRAMES * XENITH_GNTTAB_ENTRIES_PER_FRAME)

static struct grant_entry_v1 *table;
static uint32_t nr_entries;
static uint32_t next_free[MAX_ENTRIES]; /* free list links; 0 ends it (ref 0 is reserved) */
static uint32_t free_head;
static struct spinlock lock;

int gnttab_init(unsigned nr_frames)
{
	struct gnttab_xenith_set_table st;
	long r;

	if (table)
		return -XEN_EBUSY;
	if (nr_frames == 0 || nr_frames > XENITH_GNTTAB_MAX_FRAMES)
		return -XEN_EINVAL;
	table = alloc_pages(nr_frames);
	if (!table)
		return -XEN_ENOSPC;
	memset(table, 0, nr_frames * XENITH_PAGE_SIZE);
	st = (struct gnttab_xenith_set_table){ .gpa = (uint64_t)(uintptr_t)table, .nr_frames = nr_frames };
	r = hypercall3(__HYPERVISOR_grant_table_op, GNTTABOP_xenith_set_table, (uint64_t)(uintptr_t)&st, 1);
	if (r < 0) {
		free_pages(table, nr_frames);
		table = NULL;
		return (int)r;
	}
	nr_entries = nr_frames * (uint32_t)XENITH_GNTTAB_ENTRIES_PER_FRAME;
	free_head = 0;
	for (uint32_t ref = nr_entries - 1; ref >= GNTTAB_NR_RESERVED_ENTRIES; ref--) {
		next_free[ref] = free_head;
		free_head = ref;
	}
	return 0;
}

uint32_t gnttab_size(void)
{
	return nr_entries;
}

int gnttab_grant(uint16_t domid, uint64_t frame, bool readonly)
{
	struct grant_entry_v1 *e;
	uint32_t ref;

	if (frame > UINT32_MAX)
		return -XEN_EINVAL;
	spin_lock(&lock);
	ref = free_head;
	if (ref)
		free_head = next_free[ref];
	spin_unlock(&lock);
	if (!ref)
		return -XEN_ENOSPC;
	e = &table[ref];
	/* Frame and domid first; the flags that make them valid last, with release. */
	__atomic_store_n(&e->frame, (uint32_t)frame, __ATOMIC_RELAXED);
	__atomic_store_n(&e->domid, domid, __ATOMIC_RELAXED);
	__atomic_store_n(&e->flags, (uint16_t)(GTF_permit_access | (readonly ? GTF_readonly : 0)),
			 __ATOMIC_RELEASE);
	return (int)ref;
}

bool gnttab_end_access(uint32_t ref)
{
	struct grant_entry_v1 *e;
	uint16_t flags;

	if (ref < GNTTAB_NR_RESERVED_ENTRIES || ref >= nr_entries)
		return false;
	e = &table[ref];
	flags = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);
	do {
		if (flags & (GTF_reading | GTF_writing))
			return false; /* the backend is using the page: try later */
	} while (!__atomic_compare_exchange_n(&e->flags, &flags, 0, false, __ATOMIC_ACQ_REL,
					      __ATOMIC_ACQUIRE));
	return true;
}

void gnttab_free(uint32_t ref)
{
	if (ref < GNTTAB_NR_RESERVED_ENTRIES || ref >= nr_entries)
		return;
	spin_lock(&lock);
	next_free[ref] = free_head;
	free_head = ref;
	spin_unlock(&lock);
}
