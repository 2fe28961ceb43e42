/* SPDX-License-Identifier: MIT */
/*
 * The bzImage loader without KVM: linux_boot_parse() reads a bzImage's
 * setup header, linux_boot_place() decides where the kernel, the initrd
 * and the command line go in guest memory, and linux_boot_load() writes
 * them (and boot_params, page tables, GDT, ACPI tables) into a guest
 * memory buffer.  No I/O, no KVM: unit tests and the fuzz target call them
 * directly.  The layout is in linux.h.
 */
#ifndef XENITH_HV_LINUX_BOOT_H
#define XENITH_HV_LINUX_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define LINUX_MEMORY_MAX_MIB 3072u  /* below the 32-bit MMIO hole; no RAM above 4 GiB yet */

/* Guest physical layout (see linux.h). */
#define LX_GDT 0x1000ull
#define LX_BOOT_PARAMS 0x7000ull
#define LX_BOOT_STACK 0x8000ull
#define LX_PML4 0x9000ull
#define LX_PDPT 0xa000ull
#define LX_PD 0xb000ull            /* four pages */
#define LX_CMDLINE 0x20000ull
#define LX_CMDLINE_MAX 4096ull
#define LX_LOW_RAM_END 0x9fc00ull  /* where the BIOS data/EBDA/ROM area starts */
#define LX_ACPI 0xe0000ull
#define LX_KERNEL 0x100000ull
#define LX_TSS_ADDR 0xfffbd000ull  /* 3 pages KVM needs for real mode on VT-x */
#define LX_IDMAP_ADDR 0xfffbc000ull
#define LX_MIN_MEMORY (64ull << 20)
/* The 64-bit decompressor runs the kernel at 16 MiB or above (LOAD_PHYSICAL_ADDR). */
#define LX_RUN_ADDR (16ull << 20)

/* What the setup header says and where everything goes. */
struct linux_boot_plan {
	/* From the setup header (linux_boot_parse). */
	uint16_t protocol;          /* boot protocol version, e.g. 0x020f */
	unsigned setup_sects;
	size_t image_size;
	size_t hdr_end;             /* the setup header is image[0x1f1, hdr_end) */
	size_t payload_off;         /* the protected-mode kernel: image[payload_off, +payload_size) */
	size_t payload_size;
	uint32_t init_size;         /* memory the kernel needs from its run address */
	uint32_t initrd_addr_max;   /* the highest byte the initrd may use */
	uint32_t cmdline_size;      /* the longest command line, without its NUL */
	uint64_t pref_address;      /* where a non-relocatable kernel runs */
	uint64_t kernel_end;        /* [1 MiB, kernel_end) is the kernel's while it decompresses */
	char version[128];          /* the kernel's version string (printable), or "" */

	/* In guest memory (linux_boot_place). */
	uint64_t mem_size;
	uint64_t initrd_gpa;        /* valid when initrd_size is not 0 */
	uint64_t initrd_size;
	size_t cmdline_len;

	/* Set by the caller before linux_boot_load: a PCI bus for ACPI to declare (0: none). */
	uint64_t pci_window, pci_window_size;
};

/* True when the file starts like a Linux bzImage (boot sector + "HdrS" header). */
bool linux_is_bzimage(const void *image, size_t size);

/*
 * Checks the setup header of the bzImage image[0, size) and fills the
 * header part of *p; name is the file's name for messages.  Refuses
 * (-ENOEXEC, with the field and its value) a file too short for its setup
 * code and a 64-bit entry point, boot protocol before 2.12, a jump that
 * does not span a 2.12 header, no 64-bit entry, a zImage, init_size
 * smaller than the kernel, pref_address outside [1 MiB, 4 GiB), and a
 * relocatable kernel whose kernel_alignment is not a power of two up to
 * 16 MiB.  Reads nothing outside image[0, size).
 */
int linux_boot_parse(const void *image, size_t size, const char *name, struct linux_boot_plan *p,
		     struct errbuf *eb);

/*
 * Places the kernel parsed into *p, an initrd of initrd_size bytes (0: none)
 * and a command line of cmdline_len bytes in mem_size bytes of guest
 * memory, or says why they do not fit: a command line longer than
 * cmdline_size or 4095 bytes (-E2BIG), memory above 3 GiB (-EINVAL), too
 * little memory for the kernel's area, the initrd and 8 MiB to spare, or an
 * initrd that does not fit between the kernel's area and the lower of the
 * end of memory and initrd_addr_max + 1 (-ENOMEM).  The initrd goes as
 * high as it can, page-aligned.
 */
int linux_boot_place(struct linux_boot_plan *p, uint64_t mem_size, uint64_t initrd_size,
		     size_t cmdline_len, struct errbuf *eb);

/* linux_boot_parse, then linux_boot_place. */
int linux_boot_plan(const void *image, size_t size, uint64_t mem_size, uint64_t initrd_size,
		    size_t cmdline_len, const char *name, struct linux_boot_plan *p, struct errbuf *eb);

/*
 * Writes what *p planned into guest memory mem[0, mem_size): the kernel,
 * the initrd, boot_params, the command line, page tables, the boot GDT
 * and ACPI tables for nr_vcpus vCPUs.  boot_params holds the image's
 * setup header, but every field the boot protocol has the loader write
 * (ramdisk, command line, loadflags, setup_data, subarch, loader type) is
 * the loader's, whatever the image holds there.  image and initrd are those *p was
 * planned for, cmdline its cmdline_len bytes.  Checks every range against
 * mem_size again first (-EINVAL): nothing is written outside mem.
 */
int linux_boot_load(const struct linux_boot_plan *p, const void *image, const void *initrd,
		    const char *cmdline, unsigned nr_vcpus, uint8_t *mem, uint64_t mem_size,
		    struct errbuf *eb);

#endif
