// SPDX-License-Identifier: MIT
#include "grant.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PAGE 4096ull
#define CAS_TRIES 8 /* a guest that keeps rewriting its entry gets -EBUSY */

int grant_table_init(struct grant_table *gt, uint8_t *mem, uint64_t mem_size, uint64_t min_gpa,
		     uint16_t domid)
{
	memset(gt, 0, sizeof(*gt));
	gt->mem = mem;
	gt->mem_size = mem_size;
	gt->min_gpa = min_gpa;
	gt->domid = domid;
	return -pthread_mutex_init(&gt->lock, NULL);
}

void grant_table_protect(struct grant_table *gt, const uint64_t *ro_frames)
{
	gt->ro_frames = ro_frames;
}

void grant_table_fini(struct grant_table *gt)
{
	free(gt->pins);
	free(gt->held);
	gt->pins = NULL;
	gt->held = NULL;
	atomic_store(&gt->nr_entries, 0);
	pthread_mutex_destroy(&gt->lock);
}

int grant_table_set(struct grant_table *gt, uint64_t gpa, uint32_t nr_frames)
{
	uint64_t bytes = (uint64_t)nr_frames * PAGE;
	uint32_t n = nr_frames * (uint32_t)XENITH_GNTTAB_ENTRIES_PER_FRAME;
	int r = 0;

	if (nr_frames == 0 || nr_frames > XENITH_GNTTAB_MAX_FRAMES || gpa % PAGE)
		return -EINVAL;
	if (gpa < gt->min_gpa || gpa > gt->mem_size || bytes > gt->mem_size - gpa)
		return -EFAULT;
	pthread_mutex_lock(&gt->lock);
	if (atomic_load(&gt->nr_entries)) {
		r = -EBUSY;
		goto out;
	}
	gt->pins = calloc(n, sizeof(*gt->pins));
	gt->held = calloc(n, sizeof(*gt->held));
	if (!gt->pins || !gt->held) {
		free(gt->pins);
		free(gt->held);
		gt->pins = NULL;
		gt->held = NULL;
		r = -ENOMEM;
		goto out;
	}
	gt->gpa = gpa;
	/* Release: a backend that sees nr_entries sees gpa and the arrays. */
	atomic_store_explicit(&gt->nr_entries, n, memory_order_release);
out:
	pthread_mutex_unlock(&gt->lock);
	return r;
}

static struct grant_entry_v1 *entry(struct grant_table *gt, grant_ref_t ref)
{
	return (struct grant_entry_v1 *)(void *)(gt->mem + gt->gpa) + ref;
}

/*
 * Adds `flag` (GTF_reading or GTF_writing) to the entry's flags in one
 * compare-and-swap of the (flags, domid) word, which also checks that the
 * entry permits access by our domain (and not read-only, for writing).
 * gt->lock held.
 */
static int set_in_use(struct grant_table *gt, struct grant_entry_v1 *e, uint16_t flag)
{
	uint32_t *word = (uint32_t *)(void *)e; /* flags in the low half, domid in the high half */

	for (int i = 0; i < CAS_TRIES; i++) {
		uint32_t old = __atomic_load_n(word, __ATOMIC_ACQUIRE);
		uint16_t flags = (uint16_t)old, domid = (uint16_t)(old >> 16);

		if ((flags & GTF_type_mask) != GTF_permit_access || domid != gt->domid)
			return -EPERM;
		if (flag == GTF_writing && (flags & GTF_readonly))
			return -EPERM;
		if (__atomic_compare_exchange_n(word, &old, old | flag, false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			return 0;
	}
	return -EBUSY;
}

/* gt->lock held. */
static int pin(struct grant_table *gt, grant_ref_t ref, bool write, struct grant_map *m)
{
	uint32_t n = atomic_load_explicit(&gt->nr_entries, memory_order_acquire);
	uint16_t flag = write ? GTF_writing : GTF_reading;
	struct grant_entry_v1 *e;
	uint32_t frame;
	int r;

	if (ref >= n || ref < GNTTAB_NR_RESERVED_ENTRIES)
		return -ENOENT;
	e = entry(gt, ref);
	if (!(gt->held[ref] & flag)) {
		r = set_in_use(gt, e, flag);
		if (r < 0)
			return r;
		gt->held[ref] |= (uint8_t)flag;
	} else {
		/* Already in use by us: the entry still has to say yes to this access. */
		uint16_t flags = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);

		if ((flags & GTF_type_mask) != GTF_permit_access ||
		    __atomic_load_n(&e->domid, __ATOMIC_RELAXED) != gt->domid ||
		    (write && (flags & GTF_readonly)))
			return -EPERM;
	}
	/* The frame is read after the entry is marked in use, and used as read. */
	frame = __atomic_load_n(&e->frame, __ATOMIC_ACQUIRE);
	if ((uint64_t)frame >= gt->mem_size / PAGE)
		r = -EFAULT;
	else if (write && gt->ro_frames && (gt->ro_frames[frame / 64] >> (frame % 64) & 1))
		r = -EPERM; /* the guest's own read-only page: its page tables, say */
	else
		r = 0;
	if (r < 0) {
		if (!gt->pins[ref]) {
			__atomic_fetch_and(&e->flags, (uint16_t)~gt->held[ref], __ATOMIC_RELEASE);
			gt->held[ref] = 0;
		}
		return r;
	}
	gt->pins[ref]++;
	m->ref = ref;
	m->flag = flag;
	m->page = gt->mem + (uint64_t)frame * PAGE;
	return 0;
}

/* gt->lock held.  The last use of an entry gives it back to the guest. */
static void unpin(struct grant_table *gt, const struct grant_map *m)
{
	if (!m->page || --gt->pins[m->ref])
		return;
	__atomic_fetch_and(&entry(gt, m->ref)->flags, (uint16_t)~gt->held[m->ref], __ATOMIC_RELEASE);
	gt->held[m->ref] = 0;
}

int grant_map(struct grant_table *gt, grant_ref_t ref, bool write, struct grant_map *m)
{
	int r;

	memset(m, 0, sizeof(*m));
	if (!atomic_load_explicit(&gt->nr_entries, memory_order_acquire)) {
		atomic_fetch_add(&gt->nr_denied, 1);
		return -ENOENT;
	}
	pthread_mutex_lock(&gt->lock);
	r = pin(gt, ref, write, m);
	pthread_mutex_unlock(&gt->lock);
	if (r < 0)
		atomic_fetch_add(&gt->nr_denied, 1);
	return r;
}

void grant_unmap(struct grant_table *gt, struct grant_map *m)
{
	if (!m->page)
		return;
	pthread_mutex_lock(&gt->lock);
	unpin(gt, m);
	pthread_mutex_unlock(&gt->lock);
	m->page = NULL;
}

#define COPY_BATCH 64

unsigned grant_copy(struct grant_table *gt, struct grant_copy_op *ops, unsigned n)
{
	struct grant_map maps[COPY_BATCH];
	unsigned failed = 0;

	for (unsigned base = 0; base < n; base += COPY_BATCH) {
		unsigned k = n - base < COPY_BATCH ? n - base : COPY_BATCH;
		bool have_table = atomic_load_explicit(&gt->nr_entries, memory_order_acquire) != 0;

		/* Pin the whole batch under one lock round trip... */
		pthread_mutex_lock(&gt->lock);
		for (unsigned i = 0; i < k; i++) {
			struct grant_copy_op *op = &ops[base + i];

			memset(&maps[i], 0, sizeof(maps[i]));
			if (op->offset > PAGE || op->len > PAGE - op->offset)
				op->status = -EINVAL;
			else if (!have_table)
				op->status = -ENOENT;
			else
				op->status = pin(gt, op->ref, op->dir == GRANT_TO_GUEST, &maps[i]);
		}
		pthread_mutex_unlock(&gt->lock);
		/* ...copy without it... */
		for (unsigned i = 0; i < k; i++) {
			struct grant_copy_op *op = &ops[base + i];

			if (op->status < 0) {
				failed++;
				atomic_fetch_add(&gt->nr_denied, 1);
				continue;
			}
			if (op->dir == GRANT_TO_GUEST)
				memcpy(maps[i].page + op->offset, op->buf, op->len);
			else
				memcpy(op->buf, maps[i].page + op->offset, op->len);
		}
		/* ...and give the pages back under one more. */
		pthread_mutex_lock(&gt->lock);
		for (unsigned i = 0; i < k; i++)
			unpin(gt, &maps[i]);
		pthread_mutex_unlock(&gt->lock);
	}
	return failed;
}
