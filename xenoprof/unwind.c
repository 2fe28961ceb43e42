// SPDX-License-Identifier: MIT
/* A guest's page-table walk and frame-pointer unwinder, on memory the guest controls (unwind.h). */
#include "unwind.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define CR4_LA57 (1ull << 12)
#define EFER_LMA (1ull << 10)

#define PTE_PRESENT (1ull << 0)
#define PTE_PS (1ull << 7)                  /* in a PDPT entry: 1 GiB page; in a PD entry: 2 MiB */
#define PTE_ADDR 0x000ffffffffff000ull      /* bits 51:12 */
#define PAGE_SIZE 4096u
#define LEVELS 4                            /* PML4, PDPT, PD, PT */

/* Little-endian, from bytes already copied out of guest memory. */
static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Bits 63:47 all equal: an address a 4-level walk can translate. */
static bool canonical(uint64_t va)
{
	uint64_t top = va >> 47;

	return top == 0 || top == 0x1ffff;
}

/* Entry idx of the table at guest-physical table (4 KiB aligned, below 2^52): read once, or -EFAULT. */
static int read_entry(const struct xp_guest_mem *m, uint64_t table, unsigned idx, uint64_t *e)
{
	uint64_t at = table + 8ull * idx; /* no overflow: table < 2^52, idx < 512 */
	uint8_t b[8];

	if (m->size < sizeof(b) || at > m->size - sizeof(b))
		return -EFAULT;
	memcpy(b, m->mem + at, sizeof(b));
	*e = get64(b);
	return 0;
}

int xp_translate(const struct xp_guest_mem *m, const struct xp_cpu_state *cs, uint64_t gva, uint64_t *gpa)
{
	uint64_t table = cs->cr3 & PTE_ADDR, pa = 0;

	if (!(cs->cr0 & CR0_PG)) {
		if (gva >= m->size)
			return -EFAULT;
		*gpa = gva;
		return 0;
	}
	/* LMA without PAE cannot happen on a real CPU: refused rather than guessed at */
	if (!(cs->efer & EFER_LMA) || !(cs->cr4 & CR4_PAE) || (cs->cr4 & CR4_LA57))
		return -ENOTSUP;
	if (!canonical(gva))
		return -EFAULT;
	for (int level = LEVELS - 1; level >= 0; level--) {
		unsigned shift = 12 + 9 * (unsigned)level;
		uint64_t e, low;

		if (read_entry(m, table, (unsigned)(gva >> shift) & 511, &e) || !(e & PTE_PRESENT))
			return -EFAULT;
		/* PS means a page in a PDPT (level 2) or PD (level 1) entry; in a PML4 entry it is ignored */
		if (level == 0 || ((level == 1 || level == 2) && (e & PTE_PS))) {
			low = (1ull << shift) - 1; /* the offset in the page; PAT and reserved bits of a large page go */
			pa = (e & PTE_ADDR & ~low) | (gva & low);
			break;
		}
		table = e & PTE_ADDR;
	}
	if (pa >= m->size)
		return -EFAULT;
	*gpa = pa;
	return 0;
}

int xp_read_guest(const struct xp_guest_mem *m, const struct xp_cpu_state *cs, uint64_t gva, void *dst,
		  size_t len)
{
	uint8_t *out = dst;

	while (len) {
		uint64_t gpa, n = PAGE_SIZE - (gva & (PAGE_SIZE - 1));
		int err = xp_translate(m, cs, gva, &gpa);

		if (err)
			return err;
		if (n > len)
			n = len;
		if (n > m->size - gpa) /* gpa < size: no underflow; the rest of this page is past the end */
			return -EFAULT;
		memcpy(out, m->mem + gpa, n);
		out += n;
		gva += n;
		len -= n;
		if (len && !gva)
			return -EFAULT; /* the rest would wrap past the top of the address space */
	}
	return 0;
}

unsigned xp_unwind(const struct xp_guest_mem *m, const struct xp_cpu_state *cs, uint64_t *ips, unsigned max)
{
	uint64_t prev = cs->rsp, fp = cs->rbp;
	unsigned n = 0;

	if (!max)
		return 0;
	ips[n++] = cs->rip;
	/* each step stores one address or stops: at most max - 1 steps, whatever the guest's stack holds */
	while (n < max) {
		uint8_t frame[16];
		uint64_t ret;

		if (!fp || fp % 8)
			break;
		/* rising frames end any loop; the first may sit at rsp itself (right after mov %rsp,%rbp) */
		if (n == 1 ? fp < prev : fp <= prev)
			break;
		if (fp - prev > XP_UNWIND_MAX_FRAME)
			break;
		if (xp_read_guest(m, cs, fp, frame, sizeof(frame)))
			break;
		ret = get64(frame + 8);
		if (!ret || !canonical(ret))
			break;
		ips[n++] = ret;
		prev = fp;
		fp = get64(frame); /* the caller's rbp: checked at the top of the next step */
	}
	return n;
}
