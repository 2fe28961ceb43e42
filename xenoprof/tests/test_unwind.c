// SPDX-License-Identifier: MIT
/*
 * unit: the guest page-table walk and frame-pointer unwinder
 * (xenoprof/unwind.c), on a made-up guest: 4 MiB of zeroed guest-physical
 * memory, long mode with 4-level paging, page tables built here from 1 MiB
 * up.  Translation of 4 KiB, 2 MiB and 1 GiB pages, what faults (not
 * present at each level, tables and targets outside memory, non-canonical
 * addresses) and what is not supported (LA57, legacy paging), reads across
 * pages that map apart, and the unwinder's output and each of its stop
 * rules on stacks a hostile guest could build.  fuzz/fuzz_unwind.c drives
 * the same code with random memory and registers.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "unwind.h"

#define MEM_SIZE (4ull << 20)
#define TABLES (1ull << 20)             /* the page tables, bump-allocated */
#define KiB4 0x1000ull
#define MiB2 0x200000ull
#define GiB1 0x40000000ull

/* Written out here rather than taken from unwind.c: the test states the architecture. */
#define P (1ull << 0)
#define RW (1ull << 1)
#define PS (1ull << 7)
#define NX (1ull << 63)
#define LM_CR0 0x80000011ull            /* PG, ET, PE */
#define LM_CR4 0x000006a0ull            /* PAE, PGE, OSFXSR, OSXMMEXCPT */
#define LM_EFER 0x00000d01ull           /* SCE, LME, LMA, NXE */
#define CR4_LA57 (1ull << 12)
#define CR4_PAE (1ull << 5)
#define EFER_LMA (1ull << 10)

enum level { PT = 0, PD = 1, PDPT = 2, PML4 = 3 };

struct guest {
	uint8_t *buf;
	struct xp_guest_mem m;
	struct xp_cpu_state cs;
	uint64_t next_table;
};

static void put64(struct guest *g, uint64_t gpa, uint64_t v)
{
	assert_true(gpa + 8 <= MEM_SIZE);
	for (int i = 0; i < 8; i++)
		g->buf[gpa + i] = (uint8_t)(v >> (8 * i));
}

static uint64_t peek64(struct guest *g, uint64_t gpa)
{
	uint64_t v = 0;

	assert_true(gpa + 8 <= MEM_SIZE);
	for (int i = 7; i >= 0; i--)
		v = v << 8 | g->buf[gpa + i];
	return v;
}

static uint64_t new_table(struct guest *g)
{
	uint64_t t = g->next_table;

	g->next_table += KiB4;
	assert_true(g->next_table <= MiB2); /* tables stay in [1 MiB, 2 MiB) */
	return t;
}

/* The guest-physical address of gva's entry at level, making the tables above it as needed. */
static uint64_t entry_at(struct guest *g, uint64_t gva, enum level level)
{
	uint64_t table = g->cs.cr3 & ~0xfffull;

	for (int l = PML4; l > (int)level; l--) {
		uint64_t at = table + 8 * ((gva >> (12 + 9 * l)) & 511), e = peek64(g, at);

		if (!(e & P)) {
			e = new_table(g) | P | RW;
			put64(g, at, e);
		}
		assert_false(e & PS);
		table = e & 0x000ffffffffff000ull;
	}
	return table + 8 * ((gva >> (12 + 9 * level)) & 511);
}

/* Maps the page of gva at level (PT: 4 KiB, PD: 2 MiB, PDPT: 1 GiB) to gpa. */
static void map(struct guest *g, uint64_t gva, uint64_t gpa, enum level level)
{
	put64(g, entry_at(g, gva, level), gpa | P | RW | (level == PT ? 0 : PS));
}

static int setup(void **state)
{
	struct guest *g = calloc(1, sizeof(*g));

	assert_non_null(g);
	g->buf = calloc(1, MEM_SIZE);
	assert_non_null(g->buf);
	g->m = (struct xp_guest_mem){ g->buf, MEM_SIZE };
	g->next_table = TABLES;
	g->cs = (struct xp_cpu_state){ .cr0 = LM_CR0, .cr4 = LM_CR4, .efer = LM_EFER };
	g->cs.cr3 = new_table(g);
	*state = g;
	return 0;
}

static int teardown(void **state)
{
	struct guest *g = *state;

	free(g->buf);
	free(g);
	return 0;
}

/* xp_translate's answer, with *gpa left alone on failure checked too. */
static int xlate(struct guest *g, uint64_t gva, uint64_t *gpa)
{
	uint64_t pa = 0xdeadbeefull;
	int err = xp_translate(&g->m, &g->cs, gva, &pa);

	if (err)
		assert_int_equal(pa, 0xdeadbeefull);
	*gpa = pa;
	return err;
}

/* ---- translation ---- */

static void test_4k_page_translates_to_its_frame_and_offset(void **state)
{
	struct guest *g = *state;
	uint64_t gpa;

	map(g, 0x00007f1234567000ull, 0x234000, PT);
	map(g, 0xffffffff81000000ull, 0x3ff000, PT);
	assert_int_equal(xlate(g, 0x00007f1234567abcull, &gpa), 0);
	assert_int_equal(gpa, 0x234abc);
	assert_int_equal(xlate(g, 0x00007f1234567000ull, &gpa), 0);
	assert_int_equal(gpa, 0x234000);
	assert_int_equal(xlate(g, 0xffffffff81000fffull, &gpa), 0);
	assert_int_equal(gpa, 0x3fffff); /* the last byte of memory */
	/* the neighbours are not mapped */
	assert_int_equal(xlate(g, 0x00007f1234568000ull, &gpa), -EFAULT);
	assert_int_equal(xlate(g, 0x00007f1234566fffull, &gpa), -EFAULT);
}

static void test_2m_page_keeps_the_low_21_bits_of_the_address(void **state)
{
	struct guest *g = *state;
	uint64_t gpa;

	map(g, 0xffff888000200000ull, 0x200000, PD);
	assert_int_equal(xlate(g, 0xffff888000212345ull, &gpa), 0);
	assert_int_equal(gpa, 0x212345);
	assert_int_equal(xlate(g, 0xffff8880003fffffull, &gpa), 0);
	assert_int_equal(gpa, 0x3fffff);
	/* PAT (bit 12) and the reserved bits 20:13 of a 2 MiB entry are not address bits */
	put64(g, entry_at(g, 0xffff888000200000ull, PD), 0x200000 | P | RW | PS | 1ull << 12);
	assert_int_equal(xlate(g, 0xffff888000212345ull, &gpa), 0);
	assert_int_equal(gpa, 0x212345);
	/* the 2 MiB page after it is past the end of memory */
	map(g, 0xffff888000400000ull, 0x400000, PD);
	assert_int_equal(xlate(g, 0xffff888000400000ull, &gpa), -EFAULT);
}

static void test_1g_page_keeps_the_low_30_bits_of_the_address(void **state)
{
	struct guest *g = *state;
	uint64_t gpa;

	map(g, 0xffff880000000000ull, 0, PDPT);
	assert_int_equal(xlate(g, 0xffff880000001234ull, &gpa), 0);
	assert_int_equal(gpa, 0x1234);
	assert_int_equal(xlate(g, 0xffff8800003fffffull, &gpa), 0);
	assert_int_equal(gpa, 0x3fffff);
	/* inside the page but past the 4 MiB of memory */
	assert_int_equal(xlate(g, 0xffff880000400000ull, &gpa), -EFAULT);
	assert_int_equal(xlate(g, 0xffff88003fffffffull, &gpa), -EFAULT);
	/* a 1 GiB page at 1 GiB: wholly outside */
	map(g, 0xffff880040000000ull, GiB1, PDPT);
	assert_int_equal(xlate(g, 0xffff880040000000ull, &gpa), -EFAULT);
	/* PAT and bits 29:13 of a 1 GiB entry are not address bits */
	put64(g, entry_at(g, 0xffff880000000000ull, PDPT), 0x3ffff000ull | P | PS);
	assert_int_equal(xlate(g, 0xffff880000000010ull, &gpa), 0);
	assert_int_equal(gpa, 0x10);
}

static void test_not_present_at_each_level_faults(void **state)
{
	struct guest *g = *state;
	const uint64_t va = 0x00005555deadb000ull;
	uint64_t gpa;

	map(g, va, 0x345000, PT);
	for (int l = PML4; l >= PT; l--) {
		uint64_t at = entry_at(g, va, (enum level)l), e = peek64(g, at);

		put64(g, at, e & ~P);
		assert_int_equal(xlate(g, va + 8, &gpa), -EFAULT);
		put64(g, at, e);
		assert_int_equal(xlate(g, va + 8, &gpa), 0);
		assert_int_equal(gpa, 0x345008);
	}
	/* a large page's entry without its present bit too */
	map(g, 0xffff888000000000ull, 0x200000, PD);
	put64(g, entry_at(g, 0xffff888000000000ull, PD), 0x200000 | PS | RW);
	assert_int_equal(xlate(g, 0xffff888000000000ull, &gpa), -EFAULT);
	map(g, 0xffff890000000000ull, 0, PDPT);
	put64(g, entry_at(g, 0xffff890000000000ull, PDPT), PS | RW);
	assert_int_equal(xlate(g, 0xffff890000000000ull, &gpa), -EFAULT);
}

/* Empties the page tables: a new PML4 at TABLES and nothing mapped. */
static void reset_tables(struct guest *g)
{
	memset(g->buf + TABLES, 0, MiB2 - TABLES);
	g->next_table = TABLES;
	g->cs.cr3 = new_table(g);
}

static void test_tables_outside_memory_fault(void **state)
{
	struct guest *g = *state;
	const uint64_t va = 0x00007fff00000000ull;
	uint64_t gpa, cr3 = g->cs.cr3, pt;

	map(g, va, 0x300000, PT);
	assert_int_equal(xlate(g, va, &gpa), 0);
	/* CR3 past the end */
	g->cs.cr3 = MEM_SIZE;
	assert_int_equal(xlate(g, va, &gpa), -EFAULT);
	g->cs.cr3 = 0x000ffffffffff000ull;
	assert_int_equal(xlate(g, va, &gpa), -EFAULT);
	g->cs.cr3 = cr3;
	/* a PDPT far away, then a PD just past the end */
	put64(g, entry_at(g, va, PML4), 0x000ffffffffff000ull | P | RW);
	assert_int_equal(xlate(g, va, &gpa), -EFAULT);
	reset_tables(g);
	map(g, va, 0x300000, PT);
	put64(g, entry_at(g, va, PDPT), MEM_SIZE | P | RW);
	assert_int_equal(xlate(g, va, &gpa), -EFAULT);
	/* memory ending inside the PT's entry, then just after it */
	reset_tables(g);
	map(g, va, 0x3000, PT);
	pt = entry_at(g, va, PT);
	assert_true(pt > 0x3000);
	g->m.size = pt + 7;
	assert_int_equal(xlate(g, va, &gpa), -EFAULT);
	g->m.size = pt + 8;
	assert_int_equal(xlate(g, va, &gpa), 0);
	assert_int_equal(gpa, 0x3000);
	/* a frame past the end */
	g->m.size = MEM_SIZE;
	map(g, va, MEM_SIZE, PT);
	assert_int_equal(xlate(g, va, &gpa), -EFAULT);
	map(g, va, 0x000ffffffffff000ull, PT);
	assert_int_equal(xlate(g, va, &gpa), -EFAULT);
	/* no memory at all */
	g->m.size = 0;
	assert_int_equal(xlate(g, va, &gpa), -EFAULT);
}

static void test_non_canonical_addresses_fault(void **state)
{
	struct guest *g = *state;
	uint64_t gpa;

	/* PML4 slots 255 and 256 both mapped: only the canonical forms translate */
	map(g, 0x00007ffffffff000ull, 0x100000 - KiB4, PT);
	map(g, 0xffff800000000000ull, 0x200000, PT);
	assert_int_equal(xlate(g, 0x00007ffffffff008ull, &gpa), 0);
	assert_int_equal(gpa, 0xff008);
	assert_int_equal(xlate(g, 0xffff800000000008ull, &gpa), 0);
	assert_int_equal(gpa, 0x200008);
	assert_int_equal(xlate(g, 0x0000800000000008ull, &gpa), -EFAULT);
	assert_int_equal(xlate(g, 0xffff7ffffffff008ull, &gpa), -EFAULT);
	assert_int_equal(xlate(g, 0x8000800000000008ull, &gpa), -EFAULT);
	assert_int_equal(xlate(g, 0x7fff800000000008ull, &gpa), -EFAULT);
	assert_int_equal(xlate(g, 0x00017ffffffff008ull, &gpa), -EFAULT);
}

static void test_la57_and_legacy_paging_are_not_supported(void **state)
{
	struct guest *g = *state;
	uint64_t gpa;

	map(g, 0x1000, 0x5000, PT);
	assert_int_equal(xlate(g, 0x1000, &gpa), 0);
	g->cs.cr4 |= CR4_LA57;
	assert_int_equal(xlate(g, 0x1000, &gpa), -ENOTSUP);
	assert_int_equal(xlate(g, 0x0000800000000000ull, &gpa), -ENOTSUP); /* canonical with 57 bits */
	g->cs.cr4 = LM_CR4;
	g->cs.efer &= ~EFER_LMA; /* PAE paging in protected mode */
	assert_int_equal(xlate(g, 0x1000, &gpa), -ENOTSUP);
	g->cs.cr4 &= ~CR4_PAE; /* 32-bit paging */
	assert_int_equal(xlate(g, 0x1000, &gpa), -ENOTSUP);
	g->cs.efer = LM_EFER; /* LMA without PAE: no real CPU has it */
	assert_int_equal(xlate(g, 0x1000, &gpa), -ENOTSUP);
}

static void test_paging_off_is_identity_within_memory(void **state)
{
	struct guest *g = *state;
	uint64_t gpa;

	g->cs.cr0 = 0x11; /* PE, ET: protected mode, no paging */
	g->cs.efer = 0;
	g->cs.cr4 = 0;
	assert_int_equal(xlate(g, 0x1234, &gpa), 0);
	assert_int_equal(gpa, 0x1234);
	assert_int_equal(xlate(g, 0, &gpa), 0);
	assert_int_equal(gpa, 0);
	assert_int_equal(xlate(g, MEM_SIZE - 1, &gpa), 0);
	assert_int_equal(gpa, MEM_SIZE - 1);
	assert_int_equal(xlate(g, MEM_SIZE, &gpa), -EFAULT);
	assert_int_equal(xlate(g, UINT64_MAX, &gpa), -EFAULT);
	/* CR4.LA57 and the rest do not matter without paging */
	g->cs.cr4 = CR4_LA57 | CR4_PAE;
	assert_int_equal(xlate(g, 0x2000, &gpa), 0);
	assert_int_equal(gpa, 0x2000);
}

static void test_flag_bits_nx_and_cr3_pcid_are_masked(void **state)
{
	struct guest *g = *state;
	const uint64_t va = 0xffffc90000123000ull;
	const uint64_t flags = NX | 0x7ff0000000000000ull | 0xe00 | 0x17e; /* NX, bits 52-62, AVL, G D A PCD PWT U/S R/W */
	uint64_t gpa;

	map(g, va, 0x2f0000, PT);
	for (int l = PML4; l >= PT; l--) {
		uint64_t at = entry_at(g, va, (enum level)l);

		put64(g, at, peek64(g, at) | flags);
	}
	g->cs.cr3 |= 0x123; /* a PCID */
	assert_int_equal(xlate(g, va + 0x456, &gpa), 0);
	assert_int_equal(gpa, 0x2f0456);
	g->cs.cr3 |= 0xfff0000000000000ull; /* not address bits either */
	assert_int_equal(xlate(g, va + 0x456, &gpa), 0);
	assert_int_equal(gpa, 0x2f0456);
}

/* ---- reads ---- */

static void test_read_across_pages_that_map_apart(void **state)
{
	struct guest *g = *state;
	const uint64_t va = 0x0000000040000000ull;
	uint8_t out[24], want[24];

	/* two virtual pages in a row; the second's frame is below the first's */
	map(g, va, 0x300000, PT);
	map(g, va + KiB4, 0x240000, PT);
	for (unsigned i = 0; i < 16; i++) {
		g->buf[0x300ff0 + i] = (uint8_t)(0xa0 + i);
		g->buf[0x240000 + i] = (uint8_t)(0x10 + i);
		g->buf[0x301000 + i] = 0xee; /* what a read of the next physical page would wrongly see */
	}
	memcpy(want, g->buf + 0x300ff8, 8);
	memcpy(want + 8, g->buf + 0x240000, 16);
	memset(out, 0, sizeof(out));
	assert_int_equal(xp_read_guest(&g->m, &g->cs, va + 0xff8, out, sizeof(out)), 0);
	assert_memory_equal(out, want, sizeof(out));
	/* nothing: nothing read, not even a translation */
	assert_int_equal(xp_read_guest(&g->m, &g->cs, 0x0000800000000000ull, out, 0), 0);
	/* the second page unmapped: the read fails */
	put64(g, entry_at(g, va + KiB4, PT), 0);
	assert_int_equal(xp_read_guest(&g->m, &g->cs, va + 0xff8, out, 16), -EFAULT);
	assert_int_equal(xp_read_guest(&g->m, &g->cs, va + 0xff8, out, 8), 0);
	/* and the error of the mode is the read's */
	g->cs.cr4 |= CR4_LA57;
	assert_int_equal(xp_read_guest(&g->m, &g->cs, va, out, 8), -ENOTSUP);
}

static void test_read_past_the_last_byte_of_memory_fails(void **state)
{
	struct guest *g = *state;
	const uint64_t va = 0x00007ffffffff000ull;
	uint8_t out[8];

	/* the last virtual page maps the last physical page */
	map(g, va, MEM_SIZE - KiB4, PT);
	g->buf[MEM_SIZE - 1] = 0x5a;
	assert_int_equal(xp_read_guest(&g->m, &g->cs, va + 0xfff, out, 1), 0);
	assert_int_equal(out[0], 0x5a);
	assert_int_equal(xp_read_guest(&g->m, &g->cs, va + 0xff8, out, 8), 0);
	assert_int_equal(out[7], 0x5a);
	assert_int_equal(xp_read_guest(&g->m, &g->cs, va + 0xfff, out, 8), -EFAULT);
	/* memory ending inside a mapped page */
	g->m.size = MEM_SIZE - 4;
	assert_int_equal(xp_read_guest(&g->m, &g->cs, va + 0xff8, out, 4), 0);
	assert_int_equal(xp_read_guest(&g->m, &g->cs, va + 0xff8, out, 8), -EFAULT);
	assert_int_equal(xp_read_guest(&g->m, &g->cs, va + 0xffb, out, 1), 0);
	assert_int_equal(xp_read_guest(&g->m, &g->cs, va + 0xffc, out, 1), -EFAULT);
	/* without paging: the same at the end of memory */
	g->m.size = MEM_SIZE;
	g->cs.cr0 = 0x11;
	assert_int_equal(xp_read_guest(&g->m, &g->cs, MEM_SIZE - 8, out, 8), 0);
	assert_int_equal(out[7], 0x5a);
	assert_int_equal(xp_read_guest(&g->m, &g->cs, MEM_SIZE - 1, out, 8), -EFAULT);
	assert_int_equal(xp_read_guest(&g->m, &g->cs, MEM_SIZE - 7, out, 8), -EFAULT);
}

static void test_read_that_wraps_the_address_space_fails(void **state)
{
	struct guest *g = *state;
	uint8_t out[16];

	/* the top page and page 0 both mapped: a read across the wrap is still refused */
	map(g, 0xfffffffffffff000ull, 0x300000, PT);
	map(g, 0, 0x301000, PT);
	assert_int_equal(xp_read_guest(&g->m, &g->cs, 0xfffffffffffffff8ull, out, 8), 0);
	assert_int_equal(xp_read_guest(&g->m, &g->cs, 0xfffffffffffffff8ull, out, 16), -EFAULT);
	assert_int_equal(xp_read_guest(&g->m, &g->cs, 0xffffffffffffffffull, out, 2), -EFAULT);
	assert_int_equal(xp_read_guest(&g->m, &g->cs, 0xffffffffffffffffull, out, 1), 0);
	/* the first byte that cannot be read decides the error: here the paging mode, before the wrap */
	g->cs.cr4 |= CR4_LA57;
	assert_int_equal(xp_read_guest(&g->m, &g->cs, 0xfffffffffffffff8ull, out, 16), -ENOTSUP);
}

/* ---- unwinding ---- */

/*
 * The stack: 0xffffc90000010000 up, two virtual pages mapped to frames
 * apart (0x310000, then 0x250000), as a kernel's vmalloc'd stack can be.
 */
#define STACK 0xffffc90000010000ull
#define RIP 0xffffffff81001234ull
#define RET(i) (0xffffffff81100000ull + 0x100 * (i))
#define UNSET 0x5555555555555555ull

static void stack_setup(struct guest *g)
{
	map(g, STACK, 0x310000, PT);
	map(g, STACK + KiB4, 0x250000, PT);
}

static void poke(struct guest *g, uint64_t va, uint64_t v)
{
	uint64_t gpa;

	assert_int_equal(xp_translate(&g->m, &g->cs, va, &gpa), 0);
	put64(g, gpa, v);
}

/* A frame at fp: the caller's rbp, then the return address. */
static void frame(struct guest *g, uint64_t fp, uint64_t next, uint64_t ret)
{
	poke(g, fp, next);
	poke(g, fp + 8, ret);
}

static void regs(struct guest *g, uint64_t rsp, uint64_t rbp)
{
	g->cs.rip = RIP;
	g->cs.rsp = rsp;
	g->cs.rbp = rbp;
}

/* Four frames, the last across into the second stack page: RET(1) .. RET(4), then rbp 0. */
static void four_frames(struct guest *g)
{
	stack_setup(g);
	frame(g, STACK + 0x110, STACK + 0x200, RET(1));
	frame(g, STACK + 0x200, STACK + 0x380, RET(2));
	frame(g, STACK + 0x380, STACK + 0xff8, RET(3)); /* its return address on the next page */
	frame(g, STACK + 0xff8, 0, RET(4));
	regs(g, STACK + 0x100, STACK + 0x110);
}

static unsigned unwind(struct guest *g, uint64_t *ips, unsigned max, unsigned room)
{
	unsigned n;

	for (unsigned i = 0; i < room; i++)
		ips[i] = UNSET;
	n = xp_unwind(&g->m, &g->cs, ips, max);
	assert_true(n <= max);
	for (unsigned i = n; i < room; i++)
		assert_true(ips[i] == UNSET); /* nothing written past what it returns */
	return n;
}

static void test_unwind_gives_rip_then_return_addresses_innermost_first(void **state)
{
	struct guest *g = *state;
	uint64_t ips[16];

	four_frames(g);
	assert_int_equal(unwind(g, ips, 16, 16), 5);
	assert_int_equal(ips[0], RIP);
	for (unsigned i = 1; i <= 4; i++)
		assert_int_equal(ips[i], RET(i));
	/* right after push %rbp; mov %rsp,%rbp: rbp == rsp is a frame */
	regs(g, STACK + 0x110, STACK + 0x110);
	assert_int_equal(unwind(g, ips, 16, 16), 5);
	/* a user stack under a canonical low-half address works the same */
	map(g, 0x00007ffc00000000ull, 0x320000, PT);
	poke(g, 0x00007ffc00000040ull, 0x00007ffc00000080ull);
	poke(g, 0x00007ffc00000048ull, 0x0000555555555100ull);
	poke(g, 0x00007ffc00000080ull, 0);
	poke(g, 0x00007ffc00000088ull, 0x00007f0000001000ull);
	g->cs.rip = 0x0000555555555000ull;
	g->cs.rsp = 0x00007ffc00000020ull;
	g->cs.rbp = 0x00007ffc00000040ull;
	assert_int_equal(unwind(g, ips, 16, 16), 3);
	assert_int_equal(ips[0], 0x0000555555555000ull);
	assert_int_equal(ips[1], 0x0000555555555100ull);
	assert_int_equal(ips[2], 0x00007f0000001000ull);
}

static void test_unwind_stops_at_a_zero_frame_pointer(void **state)
{
	struct guest *g = *state;
	uint64_t ips[16];

	four_frames(g);
	frame(g, STACK + 0x200, 0, RET(2));
	assert_int_equal(unwind(g, ips, 16, 16), 3);
	assert_int_equal(ips[2], RET(2));
	regs(g, STACK + 0x100, 0);
	assert_int_equal(unwind(g, ips, 16, 16), 1);
	assert_int_equal(ips[0], RIP);
	/* rsp 0 too, and a readable frame at address 0: still no frame */
	map(g, 0, 0x330000, PT);
	put64(g, 0x330000, 0x100);
	put64(g, 0x330008, RET(1));
	regs(g, 0, 0);
	assert_int_equal(unwind(g, ips, 16, 16), 1);
}

static void test_unwind_stops_at_a_misaligned_frame_pointer(void **state)
{
	struct guest *g = *state;
	uint64_t ips[16];

	four_frames(g);
	frame(g, STACK + 0x200, STACK + 0x384, RET(2)); /* 4 past a frame with good contents */
	frame(g, STACK + 0x384, STACK + 0x400, RET(3));
	frame(g, STACK + 0x400, 0, RET(4));
	assert_int_equal(unwind(g, ips, 16, 16), 3);
	assert_int_equal(ips[2], RET(2));
	frame(g, STACK + 0x110, STACK + 0x201, RET(1));
	assert_int_equal(unwind(g, ips, 16, 16), 2);
	regs(g, STACK + 0x100, STACK + 0x114);
	assert_int_equal(unwind(g, ips, 16, 16), 1);
}

static void test_unwind_stops_at_a_frame_not_above_the_last(void **state)
{
	struct guest *g = *state;
	uint64_t ips[16];

	four_frames(g);
	/* the third frame points back below the second */
	frame(g, STACK + 0x380, STACK + 0x110, RET(3));
	assert_int_equal(unwind(g, ips, 16, 16), 4);
	assert_int_equal(ips[3], RET(3));
	/* a frame pointing at itself */
	frame(g, STACK + 0x380, STACK + 0x380, RET(3));
	assert_int_equal(unwind(g, ips, 16, 16), 4);
	/* the first frame below rsp: rbp is not this stack's */
	four_frames(g);
	regs(g, STACK + 0x118, STACK + 0x110);
	assert_int_equal(unwind(g, ips, 16, 16), 1);
	/* far below: rsp near the top of the address space, rbp low, the difference wrapping to a small step */
	map(g, 0x9000, 0x340000, PT);
	put64(g, 0x340000, 0);
	put64(g, 0x340008, RET(1));
	regs(g, 0xfffffffffffff000ull, 0x9000);
	assert_int_equal(unwind(g, ips, 16, 16), 1);
	regs(g, 0x8f00, 0x9000);
	assert_int_equal(unwind(g, ips, 16, 16), 2);
	/* a frame at the top of the address space whose caller's frame is just past 0: below, not a small step */
	map(g, 0xfffffffffffff000ull, 0x350000, PT);
	put64(g, 0x350ff0, 0x9000);
	put64(g, 0x350ff8, RET(2));
	regs(g, 0xffffffffffffff00ull, 0xfffffffffffffff0ull);
	assert_int_equal(unwind(g, ips, 16, 16), 2);
	assert_int_equal(ips[1], RET(2));
}

static void test_unwind_ends_a_loop_of_frames(void **state)
{
	struct guest *g = *state;
	uint64_t ips[64];

	stack_setup(g);
	/* A -> B -> C -> A: rising twice, then back */
	frame(g, STACK + 0x100, STACK + 0x200, RET(1));
	frame(g, STACK + 0x200, STACK + 0x300, RET(2));
	frame(g, STACK + 0x300, STACK + 0x100, RET(3));
	regs(g, STACK + 0x80, STACK + 0x100);
	assert_int_equal(unwind(g, ips, 64, 64), 4);
	assert_int_equal(ips[1], RET(1));
	assert_int_equal(ips[3], RET(3));
	/* two frames pointing at each other */
	frame(g, STACK + 0x200, STACK + 0x100, RET(2));
	assert_int_equal(unwind(g, ips, 64, 64), 3);
	/* one frame pointing at itself: only the rising rule ends this one (its step is 0) */
	frame(g, STACK + 0x100, STACK + 0x100, RET(1));
	assert_int_equal(unwind(g, ips, 64, 64), 2);
}

static void test_unwind_never_goes_past_max(void **state)
{
	struct guest *g = *state;
	uint64_t ips[16];

	four_frames(g);
	for (unsigned max = 1; max <= 8; max++) {
		unsigned n = unwind(g, ips, max, 16);

		assert_int_equal(n, max < 5 ? max : 5);
		assert_int_equal(ips[0], RIP);
		if (n > 1)
			assert_int_equal(ips[n - 1], RET(n - 1));
	}
	/* no room: nothing, not even rip */
	assert_int_equal(unwind(g, ips, 0, 16), 0);
}

static void test_unwind_stops_at_a_frame_it_cannot_read(void **state)
{
	struct guest *g = *state;
	uint64_t ips[16];

	four_frames(g);
	/* the second frame points into an unmapped page within reach */
	frame(g, STACK + 0x200, STACK + 0x2100, RET(2));
	assert_int_equal(unwind(g, ips, 16, 16), 3);
	/* a frame whose saved rbp is readable but not its return address (the page after is unmapped) */
	map(g, STACK + 0x2000, 0x260000, PT);
	frame(g, STACK + 0x200, STACK + 0x2ff8, RET(2));
	poke(g, STACK + 0x2ff8, 0);
	assert_int_equal(unwind(g, ips, 16, 16), 3);
	map(g, STACK + 0x3000, 0x270000, PT);
	poke(g, STACK + 0x3000, RET(3));
	assert_int_equal(unwind(g, ips, 16, 16), 4);
	assert_int_equal(ips[3], RET(3));
	/*
	 * A non-canonical frame pointer just above a stack at the top of the
	 * low half; PML4 slot 256 mapped, where it would land if it were not refused.
	 */
	map(g, 0x00007ffffffff000ull, 0x290000, PT);
	map(g, 0xffff800000000000ull, 0x2a0000, PT);
	poke(g, 0x00007fffffffff00ull, 0x0000800000000000ull);
	poke(g, 0x00007fffffffff08ull, RET(5));
	poke(g, 0xffff800000000000ull, 0);
	poke(g, 0xffff800000000008ull, RET(6));
	regs(g, 0x00007ffffffffe00ull, 0x00007fffffffff00ull);
	assert_int_equal(unwind(g, ips, 16, 16), 2);
	assert_int_equal(ips[1], RET(5));
	regs(g, STACK + 0x100, STACK + 0x110);
	/* LA57: not a frame read */
	g->cs.cr4 |= CR4_LA57;
	assert_int_equal(unwind(g, ips, 16, 16), 1);
}

static void test_unwind_stops_at_a_zero_or_non_canonical_return_address(void **state)
{
	struct guest *g = *state;
	uint64_t ips[16];

	four_frames(g);
	frame(g, STACK + 0x200, STACK + 0x380, 0);
	assert_int_equal(unwind(g, ips, 16, 16), 2);
	assert_int_equal(ips[1], RET(1));
	frame(g, STACK + 0x200, STACK + 0x380, 0x0000800000000000ull);
	assert_int_equal(unwind(g, ips, 16, 16), 2);
	frame(g, STACK + 0x200, STACK + 0x380, 0xffff7fffffffffffull);
	assert_int_equal(unwind(g, ips, 16, 16), 2);
	frame(g, STACK + 0x200, STACK + 0x380, 0x00007fffffffffffull); /* the highest canonical low-half address */
	assert_int_equal(unwind(g, ips, 16, 16), 5);
	assert_int_equal(ips[2], 0x00007fffffffffffull);
}

static void test_unwind_stops_at_a_step_over_the_frame_limit(void **state)
{
	struct guest *g = *state;
	const uint64_t far = STACK + 0x200 + XP_UNWIND_MAX_FRAME;
	uint64_t ips[16];

	four_frames(g);
	map(g, far & ~(KiB4 - 1), 0x280000, PT);
	assert_true(((far + 0x10) & ~(KiB4 - 1)) == (far & ~(KiB4 - 1)));
	frame(g, far, 0, RET(7));
	frame(g, far + 0x10, 0, RET(8));
	/* exactly the limit: followed */
	frame(g, STACK + 0x200, far, RET(2));
	assert_int_equal(unwind(g, ips, 16, 16), 4);
	assert_int_equal(ips[3], RET(7));
	/* past it: not */
	frame(g, STACK + 0x200, far + 0x10, RET(2));
	assert_int_equal(unwind(g, ips, 16, 16), 3);
	/* the same for the first frame, from rsp */
	regs(g, far - XP_UNWIND_MAX_FRAME, far);
	assert_int_equal(unwind(g, ips, 16, 16), 2);
	regs(g, far - XP_UNWIND_MAX_FRAME - 8, far);
	assert_int_equal(unwind(g, ips, 16, 16), 1);
}

static void test_unwind_with_paging_off_reads_physical_frames(void **state)
{
	struct guest *g = *state;
	uint64_t ips[16];

	g->cs.cr0 = 0x11;
	g->cs.efer = 0;
	put64(g, 0x9000, 0x9100);
	put64(g, 0x9008, 0x100200);
	put64(g, 0x9100, 0x9ff8);
	put64(g, 0x9108, 0x100300);
	put64(g, 0x9ff8, 0);
	put64(g, 0xa000, 0x100400);
	g->cs.rip = 0x100100;
	g->cs.rsp = 0x8ff0;
	g->cs.rbp = 0x9000;
	assert_int_equal(unwind(g, ips, 16, 16), 4);
	assert_int_equal(ips[1], 0x100200);
	assert_int_equal(ips[2], 0x100300);
	assert_int_equal(ips[3], 0x100400);
	/* memory ending between the last frame's saved rbp and its return address */
	g->m.size = 0xa000;
	assert_int_equal(unwind(g, ips, 16, 16), 3);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_4k_page_translates_to_its_frame_and_offset),
		T(test_2m_page_keeps_the_low_21_bits_of_the_address),
		T(test_1g_page_keeps_the_low_30_bits_of_the_address),
		T(test_not_present_at_each_level_faults),
		T(test_tables_outside_memory_fault),
		T(test_non_canonical_addresses_fault),
		T(test_la57_and_legacy_paging_are_not_supported),
		T(test_paging_off_is_identity_within_memory),
		T(test_flag_bits_nx_and_cr3_pcid_are_masked),
		T(test_read_across_pages_that_map_apart),
		T(test_read_past_the_last_byte_of_memory_fails),
		T(test_read_that_wraps_the_address_space_fails),
		T(test_unwind_gives_rip_then_return_addresses_innermost_first),
		T(test_unwind_stops_at_a_zero_frame_pointer),
		T(test_unwind_stops_at_a_misaligned_frame_pointer),
		T(test_unwind_stops_at_a_frame_not_above_the_last),
		T(test_unwind_ends_a_loop_of_frames),
		T(test_unwind_never_goes_past_max),
		T(test_unwind_stops_at_a_frame_it_cannot_read),
		T(test_unwind_stops_at_a_zero_or_non_canonical_return_address),
		T(test_unwind_stops_at_a_step_over_the_frame_limit),
		T(test_unwind_with_paging_off_reads_physical_frames),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
