// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the bzImage loader (hv/linux_boot.c); a kernel image is
 * untrusted input.  The input is a few sizes, then the image:
 *
 *   u8  knobs        bit 0: tamper with the plan before loading it
 *   u32 mem_pages    guest memory = mem_pages * 4 KiB
 *   u64 initrd_size
 *   u16 cmdline_len
 *   u8  vcpus        1 + vcpus % 255 (255 is more than the ACPI tables take)
 *   [u8 field, u64 value]   with knob bit 0: which plan field gets value
 *   the image        the rest, in a buffer of exactly its size
 *
 * linux_boot_plan() must refuse with one of its documented errors and a
 * message, or return a plan whose every part lies inside guest memory and
 * the image without overlaps (checked here from the plan and the image,
 * not from linux_boot.c's own arithmetic).  An accepted plan is then
 * loaded with linux_boot_load() into a fake guest memory of exactly
 * mem_size bytes: a window made readable and writable inside a 11 GiB
 * PROT_NONE reservation, so that a write anywhere within 4 GiB below or
 * above guest memory faults (a heap block would do for ASan, but poisoning
 * the shadow of 64 MiB-3 GiB per input is far too slow).  Afterwards the
 * bytes must be where the plan says, and mincore() must show no page
 * written outside the boot area below 1 MiB, the kernel and the initrd.
 * A tampered plan must be refused by the loader or still lie inside
 * memory; the guard pages catch it if it does not.
 *
 * Initrds larger than INITRD_LOAD_MAX are planned but not loaded (copying
 * megabytes per input would make the target too slow to be useful).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "acpi.h"
#include "fuzz.h"
#include "linux_boot.h"

#define PAGE 4096ull
#define MEM_MAX ((uint64_t)LINUX_MEMORY_MAX_MIB << 20)
#define GUARD (4ull << 30)
#define INITRD_LOAD_MAX (256ull << 10)

/* boot_params / setup header offsets (boot.rst, zero-page.rst) */
#define BP_ACPI_RSDP 0x070
#define BP_E820_ENTRIES 0x1e8
#define BP_SETUP_SECTS 0x1f1
#define BP_VID_MODE 0x1fa
#define BP_KERNEL_VERSION 0x20e
#define BP_TYPE_OF_LOADER 0x210
#define BP_LOADFLAGS 0x211
#define BP_RAMDISK_IMAGE 0x218
#define BP_RAMDISK_SIZE 0x21c
#define BP_HEAP_END_PTR 0x224
#define BP_EXT_LOADER_VER 0x226
#define BP_CMD_LINE_PTR 0x228
#define BP_INITRD_ADDR_MAX 0x22c
#define BP_CMDLINE_SIZE 0x238
#define BP_HARDWARE_SUBARCH 0x23c
#define BP_SETUP_DATA 0x250
#define BP_INIT_SIZE 0x260
#define BP_E820_TABLE 0x2d0

static uint8_t *reserve;             /* GUARD | MEM_MAX | GUARD, PROT_NONE but for guest memory */
static uint8_t *initrd_src;          /* INITRD_LOAD_MAX bytes of a pattern */
static char cmdline_src[LX_CMDLINE_MAX + 1];
static unsigned char residency[MEM_MAX / PAGE];

static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static void setup(void)
{
	reserve = mmap(NULL, GUARD + MEM_MAX + GUARD, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	initrd_src = malloc(INITRD_LOAD_MAX);
	if (reserve == MAP_FAILED || !initrd_src)
		abort();
	for (size_t i = 0; i < INITRD_LOAD_MAX; i++)
		initrd_src[i] = (uint8_t)(i * 131 + 7);
	memset(cmdline_src, 'c', LX_CMDLINE_MAX);
}

static bool inside(uint64_t start, uint64_t len, uint64_t lo, uint64_t hi)
{
	return start >= lo && start <= hi && len <= hi - start;
}

static bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* What an accepted plan promises, derived from the image and the request. */
static void check_plan(const struct linux_boot_plan *p, const uint8_t *img, size_t size,
		       uint64_t mem_size, uint64_t initrd_size, size_t cmdline_len)
{
	unsigned sects = img[BP_SETUP_SECTS] ? img[BP_SETUP_SECTS] : 4;
	uint32_t init_size = get32(img + BP_INIT_SIZE), initrd_max = get32(img + BP_INITRD_ADDR_MAX);
	uint16_t kv = get16(img + BP_KERNEL_VERSION);
	size_t vlen = strnlen(p->version, sizeof(p->version));

	FUZZ_CHECK(mem_size >= LX_MIN_MEMORY && mem_size <= MEM_MAX, "memory %#llx accepted",
		   (unsigned long long)mem_size);
	FUZZ_CHECK(p->payload_off == (sects + 1) * 512ull && p->payload_off < size &&
		   p->payload_size == size - p->payload_off && p->payload_size > 0x200,
		   "kernel at %#zx+%#zx in a %zu-byte file with %u setup sectors", p->payload_off,
		   p->payload_size, size, sects);
	FUZZ_CHECK(p->hdr_end >= 0x268 && p->hdr_end <= 0x281 && p->hdr_end <= size,
		   "header ends at %#zx", p->hdr_end);
	FUZZ_CHECK(p->init_size == init_size && init_size >= p->payload_size, "init_size %#x",
		   init_size);
	/* The kernel's area: from 1 MiB (where it is loaded) to the end of init_size at >= 16 MiB. */
	FUZZ_CHECK(p->kernel_end >= LX_RUN_ADDR + init_size && p->kernel_end <= mem_size &&
		   LX_KERNEL + p->payload_size <= p->kernel_end,
		   "kernel area up to %#llx, kernel %#zx bytes, memory %#llx",
		   (unsigned long long)p->kernel_end, p->payload_size, (unsigned long long)mem_size);
	FUZZ_CHECK(p->mem_size == mem_size && p->initrd_size == initrd_size &&
		   p->cmdline_len == cmdline_len, "plan for other sizes");
	FUZZ_CHECK(cmdline_len <= get32(img + BP_CMDLINE_SIZE) && cmdline_len < LX_CMDLINE_MAX,
		   "command line of %zu bytes accepted", cmdline_len);
	if (initrd_size) {
		uint64_t gpa = p->initrd_gpa;

		FUZZ_CHECK(gpa % PAGE == 0, "initrd at %#llx", (unsigned long long)gpa);
		FUZZ_CHECK(inside(gpa, initrd_size, p->kernel_end, mem_size),
			   "initrd [%#llx, +%#llx) outside [kernel end %#llx, memory %#llx)",
			   (unsigned long long)gpa, (unsigned long long)initrd_size,
			   (unsigned long long)p->kernel_end, (unsigned long long)mem_size);
		FUZZ_CHECK(gpa + initrd_size - 1 <= initrd_max, "initrd ends at %#llx past initrd_addr_max %#x",
			   (unsigned long long)(gpa + initrd_size - 1), initrd_max);
		FUZZ_CHECK(gpa + initrd_size <= (4ull << 30), "initrd above 4 GiB");
		FUZZ_CHECK(!overlap(gpa, initrd_size, 0, LX_KERNEL) &&
			   !overlap(gpa, initrd_size, LX_KERNEL, p->payload_size),
			   "initrd overlaps the boot area or the kernel");
	}
	FUZZ_CHECK(vlen < sizeof(p->version), "version not terminated");
	if (vlen) {
		FUZZ_CHECK(kv && (size_t)kv + 0x200 + vlen <= p->payload_off &&
			   !memcmp(p->version, img + kv + 0x200, vlen),
			   "version '%s' is not the setup code's string at %#x", p->version, kv + 0x200);
		for (size_t i = 0; i < vlen; i++)
			FUZZ_CHECK(p->version[i] > ' ' && p->version[i] < 0x7f, "version byte %#x",
				   (unsigned)(uint8_t)p->version[i]);
	}
}

/* mincore() says a page in [first, end) is resident (written); a libc scan, not a loop. */
static bool any_resident(uint64_t first, uint64_t end)
{
	static const unsigned char zero[4096];

	for (; first < end; first += sizeof(zero)) {
		uint64_t n = end - first < sizeof(zero) ? end - first : sizeof(zero);

		if (memcmp(residency + first, zero, n))
			return true;
	}
	return false;
}

/* No page written outside the boot area below 1 MiB, the kernel and the initrd. */
static void check_residency(const struct linux_boot_plan *p, const uint8_t *mem)
{
	uint64_t pages = p->mem_size / PAGE;
	uint64_t kernel_end = (LX_KERNEL + p->payload_size + PAGE - 1) / PAGE;
	uint64_t initrd_first = pages, initrd_end = pages;

	if (mincore((void *)mem, p->mem_size, residency) < 0)
		abort();
	if (p->initrd_size) {
		initrd_first = p->initrd_gpa / PAGE;
		initrd_end = (p->initrd_gpa + p->initrd_size + PAGE - 1) / PAGE;
	}
	/* the initrd lies above the kernel (check_plan) */
	FUZZ_CHECK(!any_resident(kernel_end, initrd_first) && !any_resident(initrd_end, pages),
		   "a page written outside the kernel [%#llx, +%#zx) and the initrd [%#llx, +%#llx)",
		   LX_KERNEL, p->payload_size, (unsigned long long)p->initrd_gpa,
		   (unsigned long long)p->initrd_size);
}

static void check_loaded(const struct linux_boot_plan *p, const uint8_t *img, const uint8_t *mem,
			 unsigned vcpus)
{
	const uint8_t *bp = mem + LX_BOOT_PARAMS, *e;

	FUZZ_CHECK(!memcmp(mem + LX_KERNEL, img + p->payload_off, p->payload_size), "kernel bytes");
	if (p->initrd_size)
		FUZZ_CHECK(!memcmp(mem + p->initrd_gpa, initrd_src, p->initrd_size), "initrd bytes");
	FUZZ_CHECK(!memcmp(mem + LX_CMDLINE, cmdline_src, p->cmdline_len) &&
		   mem[LX_CMDLINE + p->cmdline_len] == 0, "command line");
	/* The kernel's own header, but for the fields the loader writes (boot.rst: "write"). */
	for (size_t off = BP_SETUP_SECTS; off < p->hdr_end; off++) {
		if ((off >= BP_VID_MODE && off < BP_VID_MODE + 2) || off == BP_TYPE_OF_LOADER ||
		    off == BP_LOADFLAGS || (off >= BP_RAMDISK_IMAGE && off < BP_RAMDISK_SIZE + 4) ||
		    (off >= BP_HEAP_END_PTR && off < BP_CMD_LINE_PTR + 4) ||
		    (off >= BP_HARDWARE_SUBARCH && off < BP_HARDWARE_SUBARCH + 12) ||
		    (off >= BP_SETUP_DATA && off < BP_SETUP_DATA + 8))
			continue;
		FUZZ_CHECK(bp[off] == img[off], "boot_params byte %#zx is not the image's", off);
	}
	for (size_t off = p->hdr_end; off < BP_E820_TABLE; off++)
		FUZZ_CHECK(bp[off] == 0, "boot_params byte %#zx past the header is %#x", off, bp[off]);
	FUZZ_CHECK(bp[BP_LOADFLAGS] == 0x81 && bp[BP_TYPE_OF_LOADER] == 0xff &&
		   get16(bp + BP_VID_MODE) == 0xffff && get16(bp + BP_HEAP_END_PTR) == 0xfe00 &&
		   get16(bp + BP_EXT_LOADER_VER) == 0 && get32(bp + BP_CMD_LINE_PTR) == LX_CMDLINE,
		   "loader fields");
	/* Nothing the image says about an initrd, setup_data or a subarch reaches the kernel. */
	FUZZ_CHECK(get32(bp + BP_RAMDISK_IMAGE) == (p->initrd_size ? p->initrd_gpa : 0) &&
		   get32(bp + BP_RAMDISK_SIZE) == p->initrd_size, "ramdisk fields %#x %#x",
		   get32(bp + BP_RAMDISK_IMAGE), get32(bp + BP_RAMDISK_SIZE));
	FUZZ_CHECK(get32(bp + BP_HARDWARE_SUBARCH) == 0 && get64(bp + BP_HARDWARE_SUBARCH + 4) == 0 &&
		   get64(bp + BP_SETUP_DATA) == 0, "subarch or setup_data from the image");
	/* e820: RAM below the BIOS area, the BIOS area, RAM from 1 MiB to the end of memory. */
	e = bp + BP_E820_TABLE;
	FUZZ_CHECK(bp[BP_E820_ENTRIES] == 3, "%u e820 entries", bp[BP_E820_ENTRIES]);
	FUZZ_CHECK(get64(e) == 0 && get64(e + 8) == LX_LOW_RAM_END && get32(e + 16) == 1 &&
		   get64(e + 20) == LX_LOW_RAM_END && get64(e + 28) == LX_KERNEL - LX_LOW_RAM_END &&
		   get32(e + 36) == 2 && get64(e + 40) == LX_KERNEL &&
		   get64(e + 48) == p->mem_size - LX_KERNEL && get32(e + 56) == 1, "e820 map");
	FUZZ_CHECK(get64(bp + BP_ACPI_RSDP) == LX_ACPI && !memcmp(mem + LX_ACPI, "RSD PTR ", 8) &&
		   acpi_checksum(mem + LX_ACPI, 20) == 0 && acpi_checksum(mem + LX_ACPI, 36) == 0,
		   "RSDP for %u vCPUs", vcpus);
}

static void tamper(struct linux_boot_plan *p, uint8_t field, uint64_t v)
{
	switch (field % 8) {
	case 0: p->initrd_gpa = v; break;
	case 1: p->initrd_size = v % (INITRD_LOAD_MAX + 1); break; /* initrd_src is no larger */
	case 2: p->payload_size = (size_t)v; break;
	case 3: p->payload_off = (size_t)v; break;
	case 4: p->hdr_end = (size_t)v; break;
	case 5: p->cmdline_len = (size_t)v; break;
	case 6: p->kernel_end = v; break;
	case 7: p->mem_size = v; break;
	}
}

static void load(struct linux_boot_plan *p, const uint8_t *img, uint64_t mem_size, unsigned vcpus,
		 bool tampered)
{
	uint8_t *mem = reserve + GUARD;
	struct errbuf eb = { "" };
	size_t cmdline_len = p->cmdline_len < LX_CMDLINE_MAX ? p->cmdline_len : 0;
	int r;

	if (mprotect(mem, mem_size, PROT_READ | PROT_WRITE) < 0)
		abort();
	cmdline_src[cmdline_len] = 0;
	r = linux_boot_load(p, img, initrd_src, cmdline_src, vcpus, mem, mem_size, &eb);
	cmdline_src[cmdline_len] = 'c';
	if (tampered) {
		/* The loader copied only what it found inside memory (else the guards fault). */
		if (r == 0)
			FUZZ_CHECK(inside(LX_KERNEL, p->payload_size, 0, mem_size) &&
				   (!p->initrd_size || inside(p->initrd_gpa, p->initrd_size, 0, mem_size)),
				   "tampered plan loaded outside memory");
		else
			FUZZ_CHECK((r == -EINVAL || r == -E2BIG) && eb.msg[0], "load = %d, '%s'", r, eb.msg);
	} else if (vcpus > 254) {
		FUZZ_CHECK(r == -E2BIG && eb.msg[0], "ACPI for %u vCPUs: %d '%s'", vcpus, r, eb.msg);
	} else {
		FUZZ_CHECK(r == 0, "linux_boot_load refused its own plan: %d '%s'", r, eb.msg);
		check_loaded(p, img, mem, vcpus);
		check_residency(p, mem);
	}
	/* Back to zero pages, and no access. */
	if (madvise(mem, mem_size, MADV_DONTNEED) < 0 || mprotect(mem, mem_size, PROT_NONE) < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct linux_boot_plan p;
	struct errbuf eb = { "" };
	uint8_t knobs, field = 0;
	uint64_t mem_size, initrd_size, value = 0;
	size_t cmdline_len;
	unsigned vcpus;
	int r;

	if (!reserve)
		setup();
	knobs = fuzz_u8(&in);
	mem_size = (uint64_t)fuzz_u32(&in) * PAGE;
	initrd_size = fuzz_u64(&in);
	cmdline_len = fuzz_u16(&in);
	vcpus = 1 + fuzz_u8(&in) % 255;
	if (knobs & 1) {
		field = fuzz_u8(&in);
		value = fuzz_u64(&in);
	}
	/* in.p, in.left: the image, in libFuzzer's buffer of exactly that size */
	r = linux_boot_plan(in.p, in.left, mem_size, initrd_size, cmdline_len, "bzImage", &p, &eb);
	if (r < 0) {
		FUZZ_CHECK((r == -ENOEXEC || r == -E2BIG || r == -ENOMEM || r == -EINVAL) && eb.msg[0],
			   "linux_boot_plan = %d, '%s'", r, eb.msg);
		return 0;
	}
	check_plan(&p, in.p, in.left, mem_size, initrd_size, cmdline_len);
	if (initrd_size > INITRD_LOAD_MAX)
		return 0;
	if (knobs & 1)
		tamper(&p, field, value);
	load(&p, in.p, mem_size, vcpus, knobs & 1);
	return 0;
}
