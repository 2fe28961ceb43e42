// SPDX-License-Identifier: MIT
/*
 * Fuzz target: io/grant.c, the backend's only way into guest memory.  A
 * fuzzed guest-memory image (a heap block of exactly its size, so ASan
 * sees any access past it) holds a fuzzed grant table; a fuzzed sequence
 * of maps, unmaps, copies and guest rewrites of entries runs against it.
 * Each result is compared with what io/grant.h promises for the entry as
 * it was (a success only for an entry that permits this access to this
 * domain, never a write to a read-only grant, the page inside guest
 * memory), and once a ref has no access in progress it must not be left
 * marked GTF_reading/GTF_writing, unless the guest wrote those bits itself.
 *
 * Input (little-endian; fuzz.h reads zeroes past the end):
 *   u8 knobs   bit0: partial last page (u16 tail follows mem_pages);
 *              bit1: a fuzzed backend domid (u16 follows);
 *              bit2: table gpa given as a raw u64 instead of a page number;
 *              bit3: table gpa misaligned by a u16
 *   u8 mem_pages (1 + v % 40) [u16 tail] [u16 domid]
 *   u8 min_gpa page (v % (mem_pages + 2))
 *   u8 table page | u64 gpa   [u16 misalign]
 *   u8 nr_frames (v % 36)
 *   u8 k, then k entries of 8 bytes (struct grant_entry_v1) for refs 0..k-1
 *   ops until the input ends, each a u8 (v % 5) and its arguments:
 *     0 map    u16 ref, u8 write
 *     1 unmap  u8 which live map
 *     2 copy   u8 count (1 + v % 80), then per copy u8 dir, u16 ref, u16 offset, u16 len
 *     3 guest  u16 ref, 8 bytes: the guest rewrites that entry
 *     4 set    u8 table page, u8 nr_frames: the guest (re)sets its table
 * fuzz/make_seeds.py writes valid inputs in this layout.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "grant.h"

#define PAGE 4096u
#define MAX_PAGES 40u
#define MAX_FRAMES_TRIED 36u /* a few more than XENITH_GNTTAB_MAX_FRAMES */
#define MAX_MAPS 32u
#define MAX_COPIES 80u       /* more than grant.c's batch of 64 */
#define MODEL_COPIES 64u     /* copies whose outcome is predicted (see do_copy) */
#define MAX_OPS 512u
#define BUSY (GTF_reading | GTF_writing)

enum { OP_MAP, OP_UNMAP, OP_COPY, OP_GUEST, OP_SET, NR_OPS };

struct harness {
	uint8_t *mem;
	uint64_t mem_size, min_gpa;
	uint16_t domid;
	struct grant_table gt;
	uint64_t gpa;          /* where the table is (or was asked to be) */
	uint32_t nr_entries;   /* 0 until a set succeeded */
	uint8_t *guest_busy;   /* per entry: the guest itself wrote GTF_reading/GTF_writing */
	struct grant_map maps[MAX_MAPS];
	unsigned nr_maps;
	uint64_t denied;       /* what gt.nr_denied must say */
};

static uint8_t scratch[PAGE];

static bool entry_in_memory(const struct harness *h, uint64_t gpa, grant_ref_t ref)
{
	uint64_t off = (uint64_t)ref * sizeof(struct grant_entry_v1);

	return gpa <= h->mem_size && off <= h->mem_size - gpa &&
	       sizeof(struct grant_entry_v1) <= h->mem_size - gpa - off;
}

static struct grant_entry_v1 read_entry(const struct harness *h, grant_ref_t ref)
{
	struct grant_entry_v1 e;

	memcpy(&e, h->mem + h->gpa + (uint64_t)ref * sizeof(e), sizeof(e));
	return e;
}

/* The guest writes an entry; the busy bits it writes are its own business. */
static void guest_write(struct harness *h, grant_ref_t ref, const struct grant_entry_v1 *e)
{
	if (!entry_in_memory(h, h->gpa, ref))
		return;
	memcpy(h->mem + h->gpa + (uint64_t)ref * sizeof(*e), e, sizeof(*e));
	if (ref < h->nr_entries && (e->flags & BUSY))
		h->guest_busy[ref] = 1;
}

/* What io/grant.h promises for one access to ref, given the entry as it is now. */
static int expected(const struct harness *h, grant_ref_t ref, bool write)
{
	struct grant_entry_v1 e;

	if (!h->nr_entries || ref >= h->nr_entries || ref < GNTTAB_NR_RESERVED_ENTRIES)
		return -ENOENT;
	e = read_entry(h, ref);
	if ((e.flags & GTF_type_mask) != GTF_permit_access || e.domid != h->domid ||
	    (write && (e.flags & GTF_readonly)))
		return -EPERM;
	if ((uint64_t)e.frame * PAGE + PAGE > h->mem_size)
		return -EFAULT;
	return 0;
}

/* With no access in progress on ref, the guest must have its entry back. */
static void check_released(const struct harness *h, grant_ref_t ref)
{
	struct grant_entry_v1 e;

	if (ref >= h->nr_entries)
		return;
	for (unsigned i = 0; i < h->nr_maps; i++)
		if (h->maps[i].ref == ref)
			return;
	FUZZ_CHECK(h->gt.pins[ref] == 0, "ref %u: %u pins with no map held", ref, h->gt.pins[ref]);
	FUZZ_CHECK(h->gt.held[ref] == 0, "ref %u: held %#x with no map held", ref, h->gt.held[ref]);
	e = read_entry(h, ref);
	FUZZ_CHECK(!(e.flags & BUSY) || h->guest_busy[ref],
		   "ref %u: flags %#x still say in use after the last access ended", ref, e.flags);
}

static grant_ref_t pick_ref(struct fuzz_in *in)
{
	uint16_t v = fuzz_u16(in);

	/* Mostly refs around the table (reserved, granted, just past the end); sometimes huge. */
	return v & 0x8000 ? 0xffff0000u | v : v;
}

static uint32_t pick_span(struct fuzz_in *in)
{
	uint16_t v = fuzz_u16(in);

	/* Mostly inside or just past a page; sometimes near UINT32_MAX, for overflow. */
	return v & 0x8000 ? UINT32_MAX - (v & 0x7fff) : v % (PAGE + 64);
}

static void set_table(struct harness *h, uint64_t gpa, uint32_t nr_frames)
{
	uint64_t bytes = (uint64_t)nr_frames * PAGE;
	int want, r;

	if (nr_frames == 0 || nr_frames > XENITH_GNTTAB_MAX_FRAMES || gpa % PAGE)
		want = -EINVAL;
	else if (gpa < h->min_gpa || gpa > h->mem_size || bytes > h->mem_size - gpa)
		want = -EFAULT;
	else if (h->nr_entries)
		want = -EBUSY;
	else
		want = 0;
	r = grant_table_set(&h->gt, gpa, nr_frames);
	FUZZ_CHECK(r == want || r == -ENOMEM, "grant_table_set(%#llx, %u) = %d, expected %d",
		   (unsigned long long)gpa, nr_frames, r, want);
	if (!h->nr_entries)
		h->gpa = gpa; /* initial entries and guest writes go here even if it failed */
	if (r < 0)
		return;
	h->nr_entries = nr_frames * (uint32_t)XENITH_GNTTAB_ENTRIES_PER_FRAME;
	h->guest_busy = calloc(h->nr_entries, 1);
	if (!h->guest_busy)
		abort();
	for (grant_ref_t ref = 0; ref < h->nr_entries; ref++)
		if (read_entry(h, ref).flags & BUSY)
			h->guest_busy[ref] = 1;
}

static void do_map(struct harness *h, grant_ref_t ref, bool write)
{
	struct grant_entry_v1 e = { 0 };
	struct grant_map m;
	int want = expected(h, ref, write), r;
	bool first = true;

	if (want == 0)
		e = read_entry(h, ref);
	for (unsigned i = 0; i < h->nr_maps; i++)
		if (h->maps[i].ref == ref)
			first = false;
	r = grant_map(&h->gt, ref, write, &m);
	FUZZ_CHECK(r == want, "grant_map(ref %u, %s) = %d, expected %d", ref, write ? "write" : "read",
		   r, want);
	if (r < 0) {
		h->denied++;
		FUZZ_CHECK(!m.page, "refused map of ref %u left a page", ref);
		check_released(h, ref);
		return;
	}
	FUZZ_CHECK(m.page == h->mem + (uint64_t)e.frame * PAGE && m.ref == ref,
		   "ref %u: mapped %p, the entry names frame %u", ref, (void *)m.page, e.frame);
	/*
	 * The first access marks the entry.  Later ones on a ref already in use
	 * find it marked, unless the guest cleared the mark itself meanwhile:
	 * then it can take its page back under the backend, which only hurts
	 * the guest (Xen does not mark again either).
	 */
	if (first)
		FUZZ_CHECK(read_entry(h, ref).flags & (write ? GTF_writing : GTF_reading),
			   "ref %u: mapped without marking the entry in use", ref);
	/* Touch the whole page as a backend would: ASan checks it is guest memory. */
	memcpy(scratch, m.page, PAGE);
	if (write)
		memcpy(m.page, scratch, PAGE);
	if (h->nr_maps < MAX_MAPS) {
		h->maps[h->nr_maps++] = m;
	} else {
		grant_unmap(&h->gt, &m);
		check_released(h, ref);
	}
}

static void do_unmap(struct harness *h, unsigned which)
{
	struct grant_map m;

	if (!h->nr_maps)
		return;
	which %= h->nr_maps;
	m = h->maps[which];
	h->maps[which] = h->maps[--h->nr_maps];
	grant_unmap(&h->gt, &m);
	FUZZ_CHECK(!m.page, "grant_unmap left the map's page set");
	check_released(h, m.ref);
}

/*
 * After a successful copy the two sides hold the same bytes, with one
 * exception: grant.c marks the entry GTF_reading for as long as it reads
 * (the promise checked in do_map), and clears the mark again once the copy
 * is done.  If the granted page holds that very entry (a guest may grant
 * the page of its own grant table), the backend's copy shows the mark that
 * guest memory no longer has.  The mark is in the low byte of flags.
 */
static void check_copied(const struct harness *h, const struct grant_copy_op *op, uint64_t dst)
{
	uint64_t mark = h->gpa + (uint64_t)op->ref * sizeof(struct grant_entry_v1);
	const uint8_t *buf = op->buf;

	for (uint32_t j = 0; j < op->len; j++) {
		uint8_t want = h->mem[dst + j];

		if (op->dir == GRANT_FROM_GUEST && dst + j == mark)
			want |= GTF_reading;
		FUZZ_CHECK(buf[j] == want, "copy of %u bytes at %#llx (ref %u, %s): byte %u is %#x "
			   "on the backend's side, %#x expected (guest memory: %#x)", op->len,
			   (unsigned long long)dst, op->ref,
			   op->dir == GRANT_TO_GUEST ? "to guest" : "from guest", j, buf[j], want,
			   h->mem[dst + j]);
	}
}

/*
 * A batch of copies.  Outcomes are predicted for the first MODEL_COPIES,
 * which grant.c pins before it copies anything; later ones run after the
 * first batch's copies may have rewritten the table, and only have to stay
 * inside memory (ASan) and give back what they pinned.  Data copied to the
 * guest never has bit 3 or 4 set in any byte, so it cannot mark an entry
 * in use on its own; the guest's own writes to flags are the guest op.
 */
static void do_copy(struct harness *h, struct fuzz_in *in)
{
	struct grant_copy_op ops[MAX_COPIES];
	int want[MAX_COPIES];
	uint64_t dst[MAX_COPIES];
	unsigned n = 1 + fuzz_u8(in) % MAX_COPIES, failed = 0, r;

	for (unsigned i = 0; i < n; i++) {
		struct grant_copy_op *op = &ops[i];
		bool ok_span;

		op->dir = fuzz_u8(in) & 1 ? GRANT_TO_GUEST : GRANT_FROM_GUEST;
		op->ref = pick_ref(in);
		op->offset = pick_span(in);
		op->len = pick_span(in);
		op->status = 1;
		ok_span = op->offset <= PAGE && op->len <= PAGE - op->offset;
		/* Exactly len bytes on the backend's side, so an overrun there shows too. */
		op->buf = malloc(ok_span && op->len ? op->len : 1);
		if (!op->buf)
			abort();
		if (ok_span)
			for (uint32_t j = 0; j < op->len; j++)
				((uint8_t *)op->buf)[j] = (uint8_t)((i * 37u + j) & ~(unsigned)BUSY);
		if (!ok_span)
			want[i] = -EINVAL;
		else if (!h->nr_entries)
			want[i] = -ENOENT;
		else
			want[i] = expected(h, op->ref, op->dir == GRANT_TO_GUEST);
		dst[i] = want[i] == 0 ? (uint64_t)read_entry(h, op->ref).frame * PAGE + op->offset : 0;
	}
	r = grant_copy(&h->gt, ops, n);
	for (unsigned i = 0; i < n; i++) {
		struct grant_copy_op *op = &ops[i];

		FUZZ_CHECK(op->status <= 0, "copy %u: status %d was not set", i, op->status);
		if (op->status < 0)
			failed++;
		if (i < MODEL_COPIES)
			FUZZ_CHECK(op->status == want[i], "copy %u (ref %u, %s, offset %u, len %u) = %d, "
				   "expected %d", i, op->ref, op->dir == GRANT_TO_GUEST ? "to guest" :
				   "from guest", op->offset, op->len, op->status, want[i]);
		if (n == 1 && op->status == 0)
			check_copied(h, op, dst[i]);
	}
	FUZZ_CHECK(r == failed, "grant_copy said %u failed, the statuses say %u", r, failed);
	h->denied += failed;
	for (unsigned i = 0; i < n; i++) {
		check_released(h, ops[i].ref);
		free(ops[i].buf);
	}
}

static void run_ops(struct harness *h, struct fuzz_in *in)
{
	for (unsigned i = 0; i < MAX_OPS && in->left; i++) {
		switch (fuzz_u8(in) % NR_OPS) {
		case OP_MAP: {
			grant_ref_t ref = pick_ref(in);

			do_map(h, ref, fuzz_u8(in) & 1);
			break;
		}
		case OP_UNMAP:
			do_unmap(h, fuzz_u8(in));
			break;
		case OP_COPY:
			do_copy(h, in);
			break;
		case OP_GUEST: {
			grant_ref_t ref = pick_ref(in);
			struct grant_entry_v1 e;

			fuzz_bytes(in, &e, sizeof(e));
			guest_write(h, ref, &e);
			break;
		}
		case OP_SET: {
			uint64_t gpa = (uint64_t)fuzz_u8(in) * PAGE;

			set_table(h, gpa, fuzz_u8(in) % MAX_FRAMES_TRIED);
			break;
		}
		}
		FUZZ_CHECK(atomic_load(&h->gt.nr_denied) == h->denied, "nr_denied %llu, %llu refusals seen",
			   (unsigned long long)atomic_load(&h->gt.nr_denied),
			   (unsigned long long)h->denied);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct harness h = { 0 };
	uint8_t knobs = fuzz_u8(&in), k;
	uint64_t pages = 1 + fuzz_u8(&in) % MAX_PAGES, gpa;
	uint32_t nr_frames;

	h.mem_size = pages * PAGE;
	if (knobs & 1)
		h.mem_size += fuzz_u16(&in) % PAGE;
	h.domid = knobs & 2 ? fuzz_u16(&in) : XENITH_BACKEND_DOMID;
	h.min_gpa = (uint64_t)(fuzz_u8(&in) % (pages + 2)) * PAGE;
	gpa = knobs & 4 ? fuzz_u64(&in) : (uint64_t)fuzz_u8(&in) * PAGE;
	if (knobs & 8)
		gpa += fuzz_u16(&in);
	nr_frames = fuzz_u8(&in) % MAX_FRAMES_TRIED;

	h.mem = malloc(h.mem_size);
	if (!h.mem)
		abort();
	memset(h.mem, 0, h.mem_size);
	FUZZ_CHECK(grant_table_init(&h.gt, h.mem, h.mem_size, h.min_gpa, h.domid) == 0, "init failed");
	h.gpa = gpa;
	k = fuzz_u8(&in);
	for (grant_ref_t ref = 0; ref < k; ref++) {
		struct grant_entry_v1 e;

		fuzz_bytes(&in, &e, sizeof(e));
		guest_write(&h, ref, &e);
	}
	set_table(&h, gpa, nr_frames);
	run_ops(&h, &in);

	while (h.nr_maps)
		do_unmap(&h, 0);
	for (grant_ref_t ref = 0; ref < h.nr_entries; ref++)
		check_released(&h, ref);
	grant_table_fini(&h.gt);
	free(h.guest_busy);
	free(h.mem);
	return 0;
}
