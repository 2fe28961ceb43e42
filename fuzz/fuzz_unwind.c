// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the profiler's guest page-table walk and frame-pointer
 * unwinder (xenoprof/unwind.c) on a small guest memory and registers that
 * the input makes up entirely, as a hostile guest could: page tables
 * anywhere (or nowhere), entries with any bits, stacks that loop, point
 * outside memory or across pages that map apart.  The memory is a heap
 * block of exactly its size, so ASan sees any read past it.
 *
 * Checks, besides no crash (ASan, UBSan) and no hang (every walk bounded):
 *   - xp_translate gives what a second, simple walk written here gives
 *     (the error, or the address), a gpa below the memory's size, and
 *     leaves *gpa alone when it fails;
 *   - xp_read_guest gives the model's error, or 0 and the bytes the model
 *     reads one at a time (each byte translated on its own, a range
 *     wrapping past 2^64 refused), all within memory;
 *   - xp_unwind returns at most max entries (at least 1 when max >= 1),
 *     ips[0] = rip, each later entry non-zero and canonical, nothing
 *     written past what it returns, and exactly the model's stack.
 *
 * Input (little-endian; fuzz.h reads zeroes past the end):
 *   u8 mode (v % 4: 0 and 1 long mode with 4-level paging, 2 paging off,
 *      3 raw: u64 cr0, u64 cr4, u64 efer follow)
 *   u64 cr3, u64 rip, u64 rsp, u64 rbp
 *   u8 n (v % (MAX_OPS + 1)), then n ops of 12 bytes:
 *     u8 kind, u8 arg, u16 len, u64 addr
 *     kind % 4: 0 translate addr; 1 read len % (MAX_READ + 1) bytes at addr;
 *               2 unwind from the registers, max = arg % (MAX_DEPTH + 1);
 *               3 the same from rbp = addr and rsp = addr - len
 *     kind bit 2: addr sign-extended from bit 47 (canonical)
 *     kind bit 3: addr % (memory size + 64) (near the memory, for paging off)
 *   the rest: the guest's physical memory (at most MAX_MEM bytes)
 * fuzz/make_seeds.py writes valid inputs in this layout.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "../xenoprof/unwind.h"

#define MAX_MEM (5u * 4096u)
#define MAX_OPS 16u
#define MAX_READ 4200u  /* enough for three pages from the last byte of one */
#define MAX_DEPTH 64u
#define UNSET 0x5555555555555555ull

static const uint8_t *gmem;
static uint64_t gsize;
static struct xp_cpu_state cs;

static uint64_t bits(uint64_t v, unsigned hi, unsigned lo)
{
	return (v >> lo) & ((2ull << (hi - lo)) - 1);
}

static bool model_canonical(uint64_t va)
{
	for (unsigned b = 48; b < 64; b++)
		if (bits(va, b, b) != bits(va, 47, 47))
			return false;
	return true;
}

/* The Intel SDM's 4-level walk, as plainly as it reads (section 4.5), with the header's rules. */
static int model_translate(uint64_t va, uint64_t *pa)
{
	static const unsigned shift[4] = { 39, 30, 21, 12 };
	uint64_t base;

	if (!bits(cs.cr0, 31, 31)) {
		if (va >= gsize)
			return -EFAULT;
		*pa = va;
		return 0;
	}
	if (!bits(cs.efer, 10, 10) || !bits(cs.cr4, 5, 5) || bits(cs.cr4, 12, 12))
		return -ENOTSUP;
	if (!model_canonical(va))
		return -EFAULT;
	base = bits(cs.cr3, 51, 12) << 12;
	for (unsigned l = 0; l < 4; l++) {
		uint64_t at = base + 8 * bits(va, shift[l] + 8, shift[l]), e = 0;

		if (at + 8 > gsize)
			return -EFAULT;
		for (unsigned i = 0; i < 8; i++)
			e |= (uint64_t)gmem[at + i] << (8 * i);
		if (!(e & 1))
			return -EFAULT;
		if (l == 3 || ((l == 1 || l == 2) && (e & 0x80))) {
			uint64_t page = bits(e, 51, shift[l]) << shift[l], off = bits(va, shift[l] - 1, 0);

			if (page + off >= gsize)
				return -EFAULT;
			*pa = page + off;
			return 0;
		}
		base = bits(e, 51, 12) << 12;
	}
	return -EFAULT; /* not reached */
}

/* Byte by byte: the first error, else the bytes. */
static int model_read(uint64_t va, uint8_t *dst, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint64_t pa;
		int err;

		if (va + i < va)
			return -EFAULT; /* wrapped */
		err = model_translate(va + i, &pa);
		if (err)
			return err;
		dst[i] = gmem[pa];
	}
	return 0;
}

static uint64_t le64(const uint8_t *b)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < 8; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

static unsigned model_unwind(uint64_t *ips, unsigned max)
{
	uint64_t below = cs.rsp, fp = cs.rbp;
	unsigned n;

	if (max == 0)
		return 0;
	ips[0] = cs.rip;
	for (n = 1; n < max; n++) {
		uint8_t f[16];
		uint64_t ret;

		if (fp == 0 || fp % 8 != 0)
			break;
		if (n == 1 ? fp < below : fp <= below)
			break;
		if (fp - below > XP_UNWIND_MAX_FRAME)
			break;
		if (model_read(fp, f, 16) != 0)
			break;
		ret = le64(f + 8);
		if (ret == 0 || !model_canonical(ret))
			break;
		ips[n] = ret;
		below = fp;
		fp = le64(f);
	}
	return n;
}

static void check_translate(const struct xp_guest_mem *m, uint64_t va)
{
	uint64_t gpa = UNSET, want = UNSET;
	int err = xp_translate(m, &cs, va, &gpa), werr = model_translate(va, &want);

	FUZZ_CHECK(err == werr, "translate %#llx: %d, the model %d", (unsigned long long)va, err, werr);
	if (err) {
		FUZZ_CHECK(gpa == UNSET, "translate %#llx failed (%d) but wrote %#llx", (unsigned long long)va, err,
			   (unsigned long long)gpa);
		return;
	}
	FUZZ_CHECK(gpa < gsize, "translate %#llx: %#llx, memory %#llx", (unsigned long long)va,
		   (unsigned long long)gpa, (unsigned long long)gsize);
	FUZZ_CHECK(gpa == want, "translate %#llx: %#llx, the model %#llx", (unsigned long long)va,
		   (unsigned long long)gpa, (unsigned long long)want);
}

static void check_read(const struct xp_guest_mem *m, uint64_t va, size_t len)
{
	static uint8_t got[MAX_READ], want[MAX_READ];
	int err, werr;

	memset(got, 0xa5, len);
	err = xp_read_guest(m, &cs, va, got, len);
	werr = model_read(va, want, len);
	FUZZ_CHECK(err == werr, "read %zu at %#llx: %d, the model %d", len, (unsigned long long)va, err, werr);
	if (!err)
		FUZZ_CHECK(memcmp(got, want, len) == 0, "read %zu at %#llx: other bytes than the model's", len,
			   (unsigned long long)va);
}

static void check_unwind(const struct xp_guest_mem *m, unsigned max)
{
	uint64_t ips[MAX_DEPTH + 4], want[MAX_DEPTH];
	unsigned n, wn;

	for (unsigned i = 0; i < MAX_DEPTH + 4; i++)
		ips[i] = UNSET;
	n = xp_unwind(m, &cs, ips, max);
	FUZZ_CHECK(n <= max, "unwind: %u entries, max %u", n, max);
	FUZZ_CHECK(max == 0 || n >= 1, "unwind: nothing with max %u", max);
	for (unsigned i = n; i < MAX_DEPTH + 4; i++)
		FUZZ_CHECK(ips[i] == UNSET, "unwind: ips[%u] written, %u returned", i, n);
	if (n)
		FUZZ_CHECK(ips[0] == cs.rip, "unwind: ips[0] %#llx, rip %#llx", (unsigned long long)ips[0],
			   (unsigned long long)cs.rip);
	for (unsigned i = 1; i < n; i++)
		FUZZ_CHECK(ips[i] && model_canonical(ips[i]), "unwind: ips[%u] %#llx", i, (unsigned long long)ips[i]);
	wn = model_unwind(want, max);
	FUZZ_CHECK(n == wn, "unwind (max %u, rsp %#llx, rbp %#llx): %u entries, the model %u", max,
		   (unsigned long long)cs.rsp, (unsigned long long)cs.rbp, n, wn);
	for (unsigned i = 0; i < n; i++)
		FUZZ_CHECK(ips[i] == want[i], "unwind: ips[%u] %#llx, the model %#llx", i, (unsigned long long)ips[i],
			   (unsigned long long)want[i]);
}

struct op {
	uint8_t kind, arg;
	uint16_t len;
	uint64_t addr;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct op ops[MAX_OPS];
	struct xp_guest_mem m;
	unsigned nops;
	uint8_t mode = fuzz_u8(&in) % 4;
	uint8_t *mem;

	memset(&cs, 0, sizeof(cs));
	if (mode == 3) {
		cs.cr0 = fuzz_u64(&in);
		cs.cr4 = fuzz_u64(&in);
		cs.efer = fuzz_u64(&in);
	} else if (mode == 2) {
		cs.cr0 = 0x11; /* PE, ET */
	} else {
		cs.cr0 = 0x80000011;
		cs.cr4 = 0x6a0;
		cs.efer = 0xd01;
	}
	cs.cr3 = fuzz_u64(&in);
	cs.rip = fuzz_u64(&in);
	cs.rsp = fuzz_u64(&in);
	cs.rbp = fuzz_u64(&in);
	nops = fuzz_u8(&in) % (MAX_OPS + 1);
	for (unsigned i = 0; i < nops; i++) {
		ops[i].kind = fuzz_u8(&in);
		ops[i].arg = fuzz_u8(&in);
		ops[i].len = fuzz_u16(&in);
		ops[i].addr = fuzz_u64(&in);
	}
	/* the rest is memory, in a block of exactly its size (one byte when empty: malloc(0) may give NULL) */
	gsize = in.left < MAX_MEM ? in.left : MAX_MEM;
	mem = malloc(gsize ? gsize : 1);
	if (!mem)
		return 0;
	fuzz_bytes(&in, mem, gsize);
	gmem = mem;
	m = (struct xp_guest_mem){ mem, gsize };

	check_unwind(&m, MAX_DEPTH);
	for (unsigned i = 0; i < nops; i++) {
		const struct op *o = &ops[i];
		uint64_t addr = o->addr;

		if (o->kind & 4)
			addr = bits(addr, 47, 47) ? addr | 0xffff000000000000ull : addr & 0x0000ffffffffffffull;
		if (o->kind & 8)
			addr %= gsize + 64;
		switch (o->kind % 4) {
		case 0:
			check_translate(&m, addr);
			break;
		case 1:
			check_read(&m, addr, o->len % (MAX_READ + 1));
			break;
		case 2:
			check_unwind(&m, o->arg % (MAX_DEPTH + 1));
			break;
		case 3: {
			struct xp_cpu_state saved = cs;

			cs.rbp = addr;
			cs.rsp = addr - o->len;
			check_unwind(&m, o->arg % (MAX_DEPTH + 1));
			cs = saved;
			break;
		}
		}
	}
	free(mem);
	return 0;
}
