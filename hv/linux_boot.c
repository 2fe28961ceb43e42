// SPDX-License-Identifier: MIT
#include "linux_boot.h"

#include <string.h>

#include "acpi.h"

/* boot_params and setup header offsets (Documentation/arch/x86/boot.rst, zero-page.rst). */
#define BP_ACPI_RSDP 0x070
#define BP_E820_ENTRIES 0x1e8
#define BP_SETUP_SECTS 0x1f1
#define BP_VID_MODE 0x1fa
#define BP_BOOT_FLAG 0x1fe
#define BP_JUMP 0x200
#define BP_HEADER 0x202
#define BP_VERSION 0x206
#define BP_KERNEL_VERSION 0x20e
#define BP_TYPE_OF_LOADER 0x210
#define BP_LOADFLAGS 0x211
#define BP_RAMDISK_IMAGE 0x218
#define BP_RAMDISK_SIZE 0x21c
#define BP_HEAP_END_PTR 0x224
#define BP_EXT_LOADER_VER 0x226
#define BP_EXT_LOADER_TYPE 0x227
#define BP_CMD_LINE_PTR 0x228
#define BP_INITRD_ADDR_MAX 0x22c
#define BP_KERNEL_ALIGNMENT 0x230
#define BP_RELOCATABLE 0x234
#define BP_XLOADFLAGS 0x236
#define BP_CMDLINE_SIZE 0x238
#define BP_HARDWARE_SUBARCH 0x23c
#define BP_HARDWARE_SUBARCH_DATA 0x240
#define BP_SETUP_DATA 0x250
#define BP_PREF_ADDRESS 0x258
#define BP_INIT_SIZE 0x260
#define BP_HDR_MIN_END 0x268   /* through handover_offset: every field protocol 2.12 has */
#define BP_HDR_MAX_END 0x281   /* 0x202 + 0x7f: as far as the jump reaches (boot.rst: 144 bytes) */
#define BP_E820_TABLE 0x2d0
#define BP_SIZE 4096

#define LOADFLAGS_LOADED_HIGH 0x01
#define LOADFLAGS_CAN_USE_HEAP 0x80
#define XLF_KERNEL_64 0x01
#define E820_RAM 1
#define E820_RESERVED 2
#define ENTRY_64 0x200         /* the 64-bit entry point, from the start of the kernel */
#define PAGE_MASK 0xfffull

/* The fixed structures below 1 MiB, all inside the smallest guest. */
_Static_assert(LX_BOOT_PARAMS + BP_SIZE <= LX_BOOT_STACK && LX_BOOT_STACK <= LX_PML4 &&
	       LX_PD + 4 * 4096 <= LX_CMDLINE && LX_CMDLINE + LX_CMDLINE_MAX <= LX_LOW_RAM_END &&
	       LX_ACPI < LX_KERNEL && LX_KERNEL < LX_RUN_ADDR && LX_RUN_ADDR < LX_MIN_MEMORY,
	       "the boot structures are in order below the kernel");
_Static_assert(BP_HDR_MAX_END <= 2 * 512, "the header is inside the smallest setup code");

static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

bool linux_is_bzimage(const void *image, size_t size)
{
	const uint8_t *b = image;

	return size >= BP_HEADER + 4 && get16(b + BP_BOOT_FLAG) == 0xaa55 &&
	       !memcmp(b + BP_HEADER, "HdrS", 4);
}

/*
 * The kernel's version string: kernel_version + 0x200 points to it, inside
 * the setup code (boot.rst).  Read only there, and only up to the first
 * byte that is not printable ASCII (the string goes on "6.1.0-18-amd64 (...").
 */
static void read_version(const uint8_t *b, size_t setup_len, struct linux_boot_plan *p)
{
	uint16_t kv = get16(b + BP_KERNEL_VERSION);
	size_t off = (size_t)kv + 0x200, n = 0;

	if (!kv || off >= setup_len)
		return;
	while (n < sizeof(p->version) - 1 && off + n < setup_len && b[off + n] > ' ' && b[off + n] < 0x7f)
		n++;
	memcpy(p->version, b + off, n);
	p->version[n] = 0;
}

/*
 * Every check reads only what an earlier check showed to be in the file:
 * the version first (0x206), then the setup code's length, which covers
 * the whole header (BP_HDR_MAX_END < 1024).
 */
int linux_boot_parse(const void *image, size_t size, const char *name, struct linux_boot_plan *p,
		     struct errbuf *eb)
{
	const uint8_t *b = image;
	size_t setup_len;
	uint8_t jump_off;
	uint32_t align;

	memset(p, 0, sizeof(*p));
	p->image_size = size;
	if (!linux_is_bzimage(image, size))
		return errbuf_set(eb, ENOEXEC, "%s is not a Linux bzImage (no boot flag 0xaa55 at 0x1fe "
				  "and \"HdrS\" at 0x202)", name);
	if (size < BP_VERSION + 2)
		return errbuf_set(eb, ENOEXEC, "%s is %zu bytes: its setup header is truncated", name,
				  size);
	p->protocol = get16(b + BP_VERSION);
	if (p->protocol < 0x020c)
		return errbuf_set(eb, ENOEXEC, "%s uses Linux boot protocol %u.%02u; Xenith boots "
				  "kernels through the 64-bit entry point, which needs 2.12 or later "
				  "(Linux 3.8+)", name, p->protocol >> 8, p->protocol & 0xff);
	p->setup_sects = b[BP_SETUP_SECTS] ? b[BP_SETUP_SECTS] : 4;
	setup_len = ((size_t)p->setup_sects + 1) * 512;
	if (size <= setup_len + ENTRY_64)
		return errbuf_set(eb, ENOEXEC, "%s is %zu bytes: too short for %zu bytes of setup code "
				  "(setup_sects = %u) followed by a kernel whose 64-bit entry point is "
				  "0x%x bytes in; the file is truncated", name, size, setup_len,
				  p->setup_sects, ENTRY_64);
	/* boot.rst: "0xEB followed by a signed offset relative to byte 0x202" */
	jump_off = b[BP_JUMP + 1];
	p->hdr_end = BP_HEADER + (size_t)jump_off;
	if (b[BP_JUMP] != 0xeb || jump_off >= 0x80 || p->hdr_end < BP_HDR_MIN_END)
		return errbuf_set(eb, ENOEXEC, "%s: the setup header's jump is 0x%02x 0x%02x; a boot "
				  "protocol 2.12 header starts with 0xeb and an offset from 0x%02x to "
				  "0x7f (the header's end minus 0x202)", name, b[BP_JUMP], jump_off,
				  BP_HDR_MIN_END - BP_HEADER);
	if (!(get16(b + BP_XLOADFLAGS) & XLF_KERNEL_64))
		return errbuf_set(eb, ENOEXEC, "%s has no 64-bit entry point (xloadflags bit "
				  "XLF_KERNEL_64 clear): is it a 32-bit kernel?", name);
	if (!(b[BP_LOADFLAGS] & LOADFLAGS_LOADED_HIGH))
		return errbuf_set(eb, ENOEXEC, "%s is a zImage (loads below 1 MiB); only bzImage "
				  "kernels are supported", name);
	p->payload_off = setup_len;
	p->payload_size = size - setup_len;
	p->init_size = get32(b + BP_INIT_SIZE);
	p->initrd_addr_max = get32(b + BP_INITRD_ADDR_MAX);
	p->cmdline_size = get32(b + BP_CMDLINE_SIZE);
	/* The decompressor moves the compressed kernel to the end of init_size: it must hold it. */
	if (p->init_size < p->payload_size)
		return errbuf_set(eb, ENOEXEC, "%s: init_size = 0x%x is smaller than the %zu-byte "
				  "kernel it has to hold; the setup header is inconsistent", name,
				  p->init_size, p->payload_size);
	/*
	 * Where the kernel runs (boot.rst, init_size): a relocatable kernel at
	 * its load address (1 MiB) aligned up to kernel_alignment, any other at
	 * pref_address; the 64-bit entry never goes below pref_address
	 * (LOAD_PHYSICAL_ADDR, 16 MiB in every distribution kernel).  With
	 * kernel_alignment at most 16 MiB the kernel's area lies inside
	 * [1 MiB, max(16 MiB, pref_address) + init_size).
	 */
	p->pref_address = get64(b + BP_PREF_ADDRESS);
	if (p->pref_address < LX_KERNEL || p->pref_address >= (4ull << 30))
		return errbuf_set(eb, ENOEXEC, "%s: pref_address = 0x%llx; Xenith runs kernels "
				  "between 1 MiB and 4 GiB", name, (unsigned long long)p->pref_address);
	align = get32(b + BP_KERNEL_ALIGNMENT);
	if (b[BP_RELOCATABLE] && (align == 0 || (align & (align - 1)) || align > LX_RUN_ADDR))
		return errbuf_set(eb, ENOEXEC, "%s: kernel_alignment = 0x%x; a relocatable kernel "
				  "needs a power of two up to 16 MiB (CONFIG_PHYSICAL_ALIGN)", name,
				  align);
	p->kernel_end = (p->pref_address > LX_RUN_ADDR ? p->pref_address : LX_RUN_ADDR) +
			p->init_size;
	read_version(b, setup_len, p);
	return 0;
}

int linux_boot_place(struct linux_boot_plan *p, uint64_t mem_size, uint64_t initrd_size,
		     size_t cmdline_len, struct errbuf *eb)
{
	uint64_t need, top;
	bool capped = false;

	p->mem_size = mem_size;
	p->initrd_size = initrd_size;
	p->initrd_gpa = 0;
	p->cmdline_len = cmdline_len;
	if (cmdline_len > p->cmdline_size)
		return errbuf_set(eb, E2BIG, "cmdline is %zu bytes; this kernel takes at most %u "
				  "(its cmdline_size)", cmdline_len, p->cmdline_size);
	if (cmdline_len >= LX_CMDLINE_MAX)
		return errbuf_set(eb, E2BIG, "cmdline is %zu bytes; Xenith passes at most %llu to a "
				  "Linux kernel", cmdline_len, LX_CMDLINE_MAX - 1);
	if (mem_size > ((uint64_t)LINUX_MEMORY_MAX_MIB << 20))
		return errbuf_set(eb, EINVAL, "memory = %llu MiB: Linux guests get at most %u MiB for "
				  "now (RAM above the 32-bit MMIO hole is not mapped yet)",
				  (unsigned long long)(mem_size >> 20), LINUX_MEMORY_MAX_MIB);
	if (initrd_size > mem_size)
		return errbuf_set(eb, ENOMEM, "the initrd (%llu KiB) is larger than guest memory "
				  "(memory = %llu MiB)", (unsigned long long)(initrd_size >> 10),
				  (unsigned long long)(mem_size >> 20));
	/* No overflow: kernel_end < 8 GiB, initrd_size <= mem_size <= 3 GiB. */
	need = p->kernel_end + ((initrd_size + PAGE_MASK) & ~PAGE_MASK) + (8ull << 20);
	if (need < LX_MIN_MEMORY)
		need = LX_MIN_MEMORY;
	if (mem_size < need)
		return errbuf_set(eb, ENOMEM, "memory = %llu MiB is too small for this kernel: it "
				  "decompresses at %llu MiB and needs %u KiB there%s; give it at "
				  "least %llu MiB", (unsigned long long)(mem_size >> 20),
				  (unsigned long long)((p->kernel_end - p->init_size) >> 20),
				  p->init_size >> 10, initrd_size ? ", plus the initrd's size" : "",
				  (unsigned long long)((need + (1 << 20) - 1) >> 20));
	if (!initrd_size)
		return 0;
	/* As high as it goes: below the end of memory and the kernel's initrd_addr_max. */
	top = mem_size;
	if (top - 1 > p->initrd_addr_max) {
		top = (uint64_t)p->initrd_addr_max + 1;
		capped = true;
	}
	/* Compared before subtracting: nothing wraps. */
	if (initrd_size > top || ((top - initrd_size) & ~PAGE_MASK) < p->kernel_end) {
		if (capped)
			return errbuf_set(eb, ENOMEM, "the initrd (%llu KiB) does not fit below this "
					  "kernel's initrd_addr_max = 0x%x and above its decompression "
					  "area (up to 0x%llx); use a smaller initrd",
					  (unsigned long long)(initrd_size >> 10), p->initrd_addr_max,
					  (unsigned long long)p->kernel_end);
		return errbuf_set(eb, ENOMEM, "the initrd (%llu KiB) does not fit between the kernel's "
				  "decompression area (up to 0x%llx) and the end of memory; give the "
				  "domain more memory or use a smaller initrd",
				  (unsigned long long)(initrd_size >> 10),
				  (unsigned long long)p->kernel_end);
	}
	p->initrd_gpa = (top - initrd_size) & ~PAGE_MASK;
	return 0;
}

int linux_boot_plan(const void *image, size_t size, uint64_t mem_size, uint64_t initrd_size,
		    size_t cmdline_len, const char *name, struct linux_boot_plan *p, struct errbuf *eb)
{
	int r = linux_boot_parse(image, size, name, p, eb);

	if (r < 0)
		return r;
	return linux_boot_place(p, mem_size, initrd_size, cmdline_len, eb);
}

static void add_e820(uint8_t *bp, uint64_t addr, uint64_t size, uint32_t type)
{
	uint8_t *e = bp + BP_E820_TABLE + 20 * bp[BP_E820_ENTRIES];

	put64(e, addr);
	put64(e + 8, size);
	put32(e + 16, type);
	bp[BP_E820_ENTRIES]++;
}

/* [gpa, gpa + len) lies inside guest memory; nothing wraps. */
static bool in_memory(uint64_t gpa, uint64_t len, uint64_t mem_size)
{
	return gpa <= mem_size && len <= mem_size - gpa;
}

/*
 * linux_boot_place() checked all of this; the loader checks again what
 * each copy needs against the buffers it is given, so that a plan made
 * for other memory, or a bug in the planner, cannot write outside mem.
 */
static int check_load(const struct linux_boot_plan *p, const char *cmdline, uint64_t mem_size,
		      struct errbuf *eb)
{
	if (mem_size != p->mem_size || mem_size < LX_MIN_MEMORY)
		return errbuf_set(eb, EINVAL, "the boot plan is for %llu bytes of guest memory, not "
				  "%llu", (unsigned long long)p->mem_size,
				  (unsigned long long)mem_size);
	if (p->payload_off > p->image_size || p->payload_size != p->image_size - p->payload_off ||
	    !in_memory(LX_KERNEL, p->payload_size, mem_size) ||
	    LX_KERNEL + p->payload_size > p->kernel_end)
		return errbuf_set(eb, EINVAL, "the kernel (%zu bytes at 0x%llx) does not fit in guest "
				  "memory (%llu bytes) below 0x%llx", p->payload_size, LX_KERNEL,
				  (unsigned long long)mem_size, (unsigned long long)p->kernel_end);
	if (p->initrd_size && (!in_memory(p->initrd_gpa, p->initrd_size, mem_size) ||
			       p->initrd_gpa < p->kernel_end))
		return errbuf_set(eb, EINVAL, "the initrd (%llu bytes at 0x%llx) is not inside guest "
				  "memory (%llu bytes) above the kernel (0x%llx)",
				  (unsigned long long)p->initrd_size, (unsigned long long)p->initrd_gpa,
				  (unsigned long long)mem_size, (unsigned long long)p->kernel_end);
	if (p->hdr_end < BP_HDR_MIN_END || p->hdr_end > BP_HDR_MAX_END || p->hdr_end > p->image_size)
		return errbuf_set(eb, EINVAL, "the setup header ends at 0x%zx, outside [0x%x, 0x%x] or "
				  "the %zu-byte image", p->hdr_end, BP_HDR_MIN_END, BP_HDR_MAX_END,
				  p->image_size);
	if (p->cmdline_len >= LX_CMDLINE_MAX || strnlen(cmdline, LX_CMDLINE_MAX) != p->cmdline_len)
		return errbuf_set(eb, EINVAL, "the command line is not the %zu bytes the boot plan "
				  "has room for", p->cmdline_len);
	return 0;
}

int linux_boot_load(const struct linux_boot_plan *p, const void *image, const void *initrd,
		    const char *cmdline, unsigned nr_vcpus, uint8_t *mem, uint64_t mem_size,
		    struct errbuf *eb)
{
	const uint8_t *img = image;
	uint8_t *bp = mem + LX_BOOT_PARAMS;
	uint64_t *gdt = (uint64_t *)(void *)(mem + LX_GDT);
	uint64_t *pml4 = (uint64_t *)(void *)(mem + LX_PML4);
	uint64_t *pdpt = (uint64_t *)(void *)(mem + LX_PDPT);
	uint64_t *pd = (uint64_t *)(void *)(mem + LX_PD);
	size_t acpi_len;
	int r;

	r = check_load(p, cmdline, mem_size, eb);
	if (r < 0)
		return r;
	memcpy(mem + LX_KERNEL, img + p->payload_off, p->payload_size);
	if (p->initrd_size)
		memcpy(mem + p->initrd_gpa, initrd, p->initrd_size);

	/* Page tables: 4 GiB identity-mapped with 2 MiB pages, supervisor, writable. */
	pml4[0] = LX_PDPT | 0x3;
	for (unsigned i = 0; i < 4; i++) {
		pdpt[i] = (LX_PD + i * 4096ull) | 0x3;
		for (unsigned j = 0; j < 512; j++)
			pd[i * 512 + j] = ((uint64_t)(i * 512 + j) << 21) | 0x83; /* P | RW | PS */
	}
	/* Boot GDT: the flat __BOOT_CS and __BOOT_DS the 64-bit entry expects. */
	gdt[2] = 0x00af9b000000ffffull;
	gdt[3] = 0x00cf93000000ffffull;

	/*
	 * boot_params: the kernel's own setup header, then every field boot.rst
	 * has the loader write, whatever the file holds there (a crafted image
	 * could otherwise name an initrd, a setup_data list or a subarch).
	 */
	memset(bp, 0, BP_SIZE);
	memcpy(bp + BP_SETUP_SECTS, img + BP_SETUP_SECTS, p->hdr_end - BP_SETUP_SECTS);
	put16(bp + BP_VID_MODE, 0xffff); /* "normal" */
	bp[BP_TYPE_OF_LOADER] = 0xff;    /* undefined loader */
	bp[BP_EXT_LOADER_VER] = 0;
	bp[BP_EXT_LOADER_TYPE] = 0;
	bp[BP_LOADFLAGS] = LOADFLAGS_LOADED_HIGH | LOADFLAGS_CAN_USE_HEAP;
	put16(bp + BP_HEAP_END_PTR, 0xfe00);
	memcpy(mem + LX_CMDLINE, cmdline, p->cmdline_len);
	mem[LX_CMDLINE + p->cmdline_len] = 0;
	put32(bp + BP_CMD_LINE_PTR, (uint32_t)LX_CMDLINE);
	/* below 4 GiB: initrd_gpa + initrd_size <= mem_size <= 3 GiB */
	put32(bp + BP_RAMDISK_IMAGE, p->initrd_size ? (uint32_t)p->initrd_gpa : 0);
	put32(bp + BP_RAMDISK_SIZE, (uint32_t)p->initrd_size);
	put32(bp + BP_HARDWARE_SUBARCH, 0);       /* x86/PC */
	put64(bp + BP_HARDWARE_SUBARCH_DATA, 0);
	put64(bp + BP_SETUP_DATA, 0);             /* no setup_data list */
	add_e820(bp, 0, LX_LOW_RAM_END, E820_RAM);
	add_e820(bp, LX_LOW_RAM_END, LX_KERNEL - LX_LOW_RAM_END, E820_RESERVED);
	add_e820(bp, LX_KERNEL, mem_size - LX_KERNEL, E820_RAM);

	acpi_len = acpi_build(mem + LX_ACPI, LX_KERNEL - LX_ACPI, LX_ACPI, nr_vcpus, p->pci_window,
			      p->pci_window_size);
	if (!acpi_len)
		return errbuf_set(eb, E2BIG, "ACPI tables for %u vCPUs do not fit", nr_vcpus);
	put64(bp + BP_ACPI_RSDP, LX_ACPI);
	return 0;
}
