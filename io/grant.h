/* SPDX-License-Identifier: MIT */
/*
 * The backend side of grant tables (include/xenith/grant_table.h): the
 * only way backend code reaches guest memory.  Every access checks the
 * entry (inside the table, permits access, names the backend's domain,
 * not read-only for a write, frame inside guest memory) and marks it in
 * use (GTF_reading/GTF_writing) for as long as the access lasts, so the
 * guest cannot take the page back under the backend's feet.
 *
 * grant_map()/grant_unmap() pin one page (a backend that keeps pages
 * pinned across requests has persistent grants); grant_copy() does a
 * batch of copies with one lock round trip to pin and one to unpin.
 * Thread-safe: any number of backend threads may use one table.
 */
#ifndef XENITH_IO_GRANT_H
#define XENITH_IO_GRANT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xenith/grant_table.h"

struct grant_table {
	uint8_t *mem;              /* guest memory, as the VMM maps it */
	uint64_t mem_size;
	uint64_t min_gpa;          /* the table must lie at or above this (the guest's free memory) */
	uint16_t domid;            /* the backend's domain id (XENITH_BACKEND_DOMID) */
	uint64_t gpa;              /* the guest's table; valid once nr_entries is set */
	_Atomic uint32_t nr_entries; /* 0 until the guest set its table */
	pthread_mutex_t lock;      /* pins and held, and the flag changes they cause */
	uint16_t *pins;            /* per entry: accesses in progress */
	uint8_t *held;             /* per entry: GTF_reading/GTF_writing this side set */
	_Atomic uint64_t nr_denied; /* accesses refused, for stats and tests */
	/*
	 * Frames a grant never writes (bit f of word f / 64): those the guest
	 * itself maps read-only (its page tables, GDT, start_info, code), as
	 * Xen refuses a writable mapping of such a page.  NULL: none.
	 */
	const uint64_t *ro_frames;
};

struct grant_map {
	grant_ref_t ref;
	uint16_t flag;             /* GTF_reading or GTF_writing */
	uint8_t *page;             /* the granted page, 4096 bytes */
};

enum grant_dir { GRANT_FROM_GUEST, GRANT_TO_GUEST };

struct grant_copy_op {
	enum grant_dir dir;
	grant_ref_t ref;
	uint32_t offset, len;      /* inside the granted page: offset + len <= 4096 */
	void *buf;                 /* the backend's side */
	int status;                /* out: 0 or -errno (see grant_map) */
};

int grant_table_init(struct grant_table *gt, uint8_t *mem, uint64_t mem_size, uint64_t min_gpa,
		     uint16_t domid);
/* Frames no grant may write (see ro_frames); the bitmap covers mem_size and outlives the table. */
void grant_table_protect(struct grant_table *gt, const uint64_t *ro_frames);
void grant_table_fini(struct grant_table *gt);

/*
 * The guest's GNTTABOP_xenith_set_table: 0, -EBUSY (already set), -EINVAL
 * (frame count or alignment), -EFAULT (outside the guest's free memory),
 * -ENOMEM.
 */
int grant_table_set(struct grant_table *gt, uint64_t gpa, uint32_t nr_frames);

/*
 * Pins ref for reading or writing: 0, -ENOENT (no table, or ref outside it
 * or reserved), -EPERM (not granted, granted to another domain, read-only
 * for a write, or a write to a frame the guest maps read-only), -EFAULT
 * (frame outside guest memory), -EBUSY (the entry kept changing under us).
 */
int grant_map(struct grant_table *gt, grant_ref_t ref, bool write, struct grant_map *m);
void grant_unmap(struct grant_table *gt, struct grant_map *m);

/* Runs a batch of copies; each op gets its status.  Returns how many failed. */
unsigned grant_copy(struct grant_table *gt, struct grant_copy_op *ops, unsigned n);

#endif
