// SPDX-License-Identifier: MIT
#include "linux_boot.h"

#include <stdio.h>
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
#define BP_CMD_LINE_PTR 0x228
#define BP_INITRD_ADDR_MAX 0x22c
#define BP_XLOADFLAGS 0x236
#define BP_CMDLINE_SIZE 0x238
#define BP_INIT_SIZE 0x260
#define BP_E820_TABLE 0x2d0
#define BP_SIZE 4096

#define LOADFLAGS_LOADED_HIGH 0x01
#define LOADFLAGS_CAN_USE_HEAP 0x80
#define XLF_KERNEL_64 0x01
#define E820_RAM 1
#define E820_RESERVED 2

static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

bool linux_is_bzimage(const void *image, size_t size)
{
	const uint8_t *b = image;

	return size >= BP_HEADER + 4 && get16(b + BP_BOOT_FLAG) == 0xaa55 &&
	       !memcmp(b + BP_HEADER, "HdrS", 4);
}

int linux_boot_parse(const void *image, size_t size, const char *name, struct linux_boot_plan *p,
		     struct errbuf *eb)
{
	const uint8_t *b = image;
	size_t hdr_end;

	memset(p, 0, sizeof(*p));
	p->image_size = size;
	p->protocol = get16(b + BP_VERSION);
	if (p->protocol < 0x020c)
		return errbuf_set(eb, ENOEXEC, "%s uses Linux boot protocol %u.%02u; Xenith boots "
				  "kernels through the 64-bit entry point, which needs 2.12 or later "
				  "(Linux 3.8+)", name, p->protocol >> 8, p->protocol & 0xff);
	if (!(get16(b + BP_XLOADFLAGS) & XLF_KERNEL_64))
		return errbuf_set(eb, ENOEXEC, "%s has no 64-bit entry point (xloadflags bit "
				  "XLF_KERNEL_64 clear): is it a 32-bit kernel?", name);
	if (!(b[BP_LOADFLAGS] & LOADFLAGS_LOADED_HIGH))
		return errbuf_set(eb, ENOEXEC, "%s is a zImage (loads below 1 MiB); only bzImage "
				  "kernels are supported", name);
	hdr_end = BP_HEADER + b[BP_JUMP + 1];
	p->setup_sects = b[BP_SETUP_SECTS] ? b[BP_SETUP_SECTS] : 4;
	if (hdr_end > BP_SIZE || ((size_t)p->setup_sects + 1) * 512 >= size)
		return errbuf_set(eb, ENOEXEC, "%s: the setup header is inconsistent (%u setup "
				  "sectors in a %zu-byte file); the file may be truncated", name,
				  p->setup_sects, size);
	p->hdr_end = hdr_end;
	p->payload_off = ((size_t)p->setup_sects + 1) * 512;
	p->payload_size = size - p->payload_off;
	p->init_size = get32(b + BP_INIT_SIZE);
	p->initrd_addr_max = get32(b + BP_INITRD_ADDR_MAX);
	p->cmdline_size = get32(b + BP_CMDLINE_SIZE);
	if (p->init_size < p->payload_size)
		p->init_size = (uint32_t)p->payload_size;
	{
		/* kernel_version points to a string, relative to 0x200 */
		uint16_t kv = get16(b + BP_KERNEL_VERSION);

		if (kv && (size_t)kv + 0x200 < size) {
			const char *s = (const char *)b + kv + 0x200;
			size_t n = strnlen(s, sizeof(p->version) - 1);

			if ((size_t)kv + 0x200 + n < size)
				memcpy(p->version, s, n);
			p->version[strcspn(p->version, " ")] = 0;
		}
	}
	return 0;
}

int linux_boot_place(struct linux_boot_plan *p, uint64_t mem_size, uint64_t initrd_size,
		     size_t cmdline_len, struct errbuf *eb)
{
	uint64_t need, initrd_top;

	p->mem_size = mem_size;
	p->initrd_size = initrd_size;
	p->cmdline_len = cmdline_len;
	if (cmdline_len >= LX_CMDLINE_MAX || (p->cmdline_size && cmdline_len > p->cmdline_size))
		return errbuf_set(eb, E2BIG, "cmdline is %zu bytes; this kernel takes at most %u",
				  cmdline_len,
				  p->cmdline_size && p->cmdline_size < LX_CMDLINE_MAX - 1 ?
				  p->cmdline_size : (unsigned)LX_CMDLINE_MAX - 1);
	if (mem_size > ((uint64_t)LINUX_MEMORY_MAX_MIB << 20))
		return errbuf_set(eb, EINVAL, "memory = %llu MiB: Linux guests get at most %u MiB for "
				  "now (RAM above the 32-bit MMIO hole is not mapped yet)",
				  (unsigned long long)(mem_size >> 20), LINUX_MEMORY_MAX_MIB);
	/* The kernel runs from 16 MiB and needs init_size there; the initrd sits at the top. */
	need = LX_RUN_ADDR + p->init_size + ((initrd_size + 0xfff) & ~0xfffull) + (8ull << 20);
	if (need < LX_MIN_MEMORY)
		need = LX_MIN_MEMORY;
	if (mem_size < need)
		return errbuf_set(eb, ENOMEM, "memory = %llu MiB is too small for this kernel: it "
				  "decompresses at 16 MiB and needs %u KiB there%s%s; give it at "
				  "least %llu MiB", (unsigned long long)(mem_size >> 20),
				  p->init_size >> 10, initrd_size ? ", plus the initrd's " : "",
				  initrd_size ? "size" : "", (unsigned long long)((need + (1 << 20) - 1) >> 20));
	if (initrd_size) {
		initrd_top = mem_size;
		if (p->initrd_addr_max && initrd_top > (uint64_t)p->initrd_addr_max + 1)
			initrd_top = (uint64_t)p->initrd_addr_max + 1;
		p->initrd_gpa = (initrd_top - initrd_size) & ~0xfffull;
		if (p->initrd_gpa < LX_RUN_ADDR + p->init_size)
			return errbuf_set(eb, ENOMEM, "the initrd (%llu KiB) does not fit below this "
					  "kernel's initrd limit (0x%x) above the kernel; give the domain "
					  "more memory or use a smaller initrd",
					  (unsigned long long)(initrd_size >> 10), p->initrd_addr_max);
	}
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
	size_t hdr_len = p->hdr_end - BP_SETUP_SECTS;
	size_t acpi_len;

	if (LX_KERNEL + p->payload_size > mem_size)
		return errbuf_set(eb, ENOMEM, "the kernel (%zu KiB) does not fit in guest memory",
				  p->payload_size >> 10);
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

	/* boot_params: the kernel's own setup header, then what the loader fills in. */
	memset(bp, 0, BP_SIZE);
	memcpy(bp + BP_SETUP_SECTS, img + BP_SETUP_SECTS, hdr_len);
	put16(bp + BP_VID_MODE, 0xffff); /* "normal" */
	bp[BP_TYPE_OF_LOADER] = 0xff;    /* undefined loader */
	bp[BP_LOADFLAGS] |= LOADFLAGS_CAN_USE_HEAP;
	put16(bp + BP_HEAP_END_PTR, 0xfe00);
	snprintf((char *)mem + LX_CMDLINE, LX_CMDLINE_MAX, "%s", cmdline);
	put32(bp + BP_CMD_LINE_PTR, (uint32_t)LX_CMDLINE);
	if (p->initrd_size) {
		put32(bp + BP_RAMDISK_IMAGE, (uint32_t)p->initrd_gpa);
		put32(bp + BP_RAMDISK_SIZE, (uint32_t)p->initrd_size);
	}
	add_e820(bp, 0, LX_LOW_RAM_END, E820_RAM);
	add_e820(bp, LX_LOW_RAM_END, LX_KERNEL - LX_LOW_RAM_END, E820_RESERVED);
	add_e820(bp, LX_KERNEL, mem_size - LX_KERNEL, E820_RAM);

	acpi_len = acpi_build(mem + LX_ACPI, LX_KERNEL - LX_ACPI, LX_ACPI, nr_vcpus);
	if (!acpi_len)
		return errbuf_set(eb, E2BIG, "ACPI tables for %u vCPUs do not fit", nr_vcpus);
	put64(bp + BP_ACPI_RSDP, LX_ACPI);
	return 0;
}
