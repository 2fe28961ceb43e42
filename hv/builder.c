// SPDX-License-Identifier: MIT
#include "builder.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "kind.h"
#include "membacking.h"
#include "pagetable.h"
#include "trap.h"

#define PAGE 4096ull
#define MAX_IMAGE_FILE (256ull << 20)

static uint64_t page_up(uint64_t x)
{
	return (x + PAGE - 1) & ~(PAGE - 1);
}

int builder_open_image(struct domain *d, const char *path, struct errbuf *eb)
{
	int r;

	r = fs_map_file(path, "guest image", MAX_IMAGE_FILE, &d->image_map, &d->image_size, eb);
	if (r < 0)
		return r;
	d->guest_kind = kind_of_image(d->image_map, d->image_size);
	return d->guest_kind->open(d, path, eb);
}

int builder_open_pv(struct domain *d, const char *path, struct errbuf *eb)
{
	int r;

	if (d->cfg.initrd[0])
		return errbuf_set(eb, EINVAL, "initrd = %s: only Linux kernels take an initrd, and %s "
				  "is not a bzImage", d->cfg.initrd, path);
	r = elf_parse(d->image_map, d->image_size, &d->image, eb);
	if (r < 0)
		return errbuf_prefix(eb, r, "guest image %s", path);
	if (!d->image.has_abi_note)
		return errbuf_set(eb, ENOEXEC, "guest image %s is not a Xenith guest: it has no \"%s\" "
				  "ELF note with the guest ABI version (build it with guest/minios.ld)",
				  path, XENITH_ELFNOTE_NAME);
	if (d->image.abi_version != XENITH_ABI_VERSION)
		return errbuf_set(eb, ENOEXEC, "guest image %s was built for Xenith guest ABI version "
				  "%u, but this xenith speaks version %u; rebuild the guest",
				  path, d->image.abi_version, XENITH_ABI_VERSION);
	if (d->image.lo < BUILDER_IMAGE_MIN)
		return errbuf_set(eb, ENOEXEC, "guest image %s loads at 0x%llx; Xenith guests must load "
				  "at 0x%llx or above (the pages below hold boot structures)", path,
				  (unsigned long long)d->image.lo, BUILDER_IMAGE_MIN);
	return 0;
}

int builder_plan(struct domain *d, struct errbuf *eb)
{
	struct domain_layout *l = &d->layout;
	uint64_t need;

	memset(l, 0, sizeof(*l));
	l->start_info = BUILDER_START_INFO;
	l->shared_info = BUILDER_SHARED_INFO;
	l->console = BUILDER_CONSOLE;
	l->gdt = BUILDER_GDT;
	l->xenstore = BUILDER_XENSTORE;
	l->image_start = d->image.lo & ~(PAGE - 1);
	l->image_end = page_up(d->image.hi);
	l->pt_base = l->image_end;
	/* The tables cover RAM and the device window above it. */
	l->nr_pt_pages = pt_pages_needed(d->devwin_size ? d->devwin_base + d->devwin_size : d->mem_size);
	l->stack_base = l->pt_base + l->nr_pt_pages * PAGE;
	l->stack_guard = BUILDER_STACK_GUARD;
	l->stack_stride = BUILDER_STACK_GUARD + BUILDER_STACK_SIZE;
	l->free_start = l->stack_base + d->nr_vcpus * l->stack_stride;
	l->free_end = d->mem_size;
	need = l->free_start + BUILDER_MIN_FREE;
	if (need > d->mem_size)
		return errbuf_set(eb, ENOMEM, "memory = %llu MiB is too small for domain '%s': the image "
				  "ends at 0x%llx, page tables take %llu KiB, %u vCPU stack(s) %llu KiB, "
				  "and the guest needs %llu KiB free; give it at least %llu MiB",
				  (unsigned long long)(d->mem_size >> 20), d->cfg.name,
				  (unsigned long long)l->image_end,
				  (unsigned long long)(l->nr_pt_pages * 4), d->nr_vcpus,
				  (unsigned long long)(d->nr_vcpus * l->stack_stride >> 10),
				  (unsigned long long)(BUILDER_MIN_FREE >> 10),
				  (unsigned long long)((need + (1 << 20) - 1) >> 20));
	return 0;
}

int builder_device_window(struct domain *d, uint64_t size, uint64_t *gpa, struct errbuf *eb)
{
	uint64_t at;

	if (size < PAGE || (size & (size - 1)))
		return errbuf_set(eb, EINVAL, "a device region of %llu bytes: BARs are powers of two of a page or more",
				  (unsigned long long)size);
	if (!d->devwin_size)
		d->devwin_base = (d->mem_size + DEVWIN_ALIGN - 1) & ~(DEVWIN_ALIGN - 1);
	at = (d->devwin_base + d->devwin_size + size - 1) & ~(size - 1);
	if (size > DEVWIN_MAX || at + size - d->devwin_base > DEVWIN_MAX)
		return errbuf_set(eb, ENOSPC, "a device region of %llu KiB does not fit the domain's %llu MiB device "
					      "window (%llu KiB used)", (unsigned long long)(size >> 10),
				  DEVWIN_MAX >> 20, (unsigned long long)(d->devwin_size >> 10));
	d->devwin_size = at + size - d->devwin_base;
	*gpa = at;
	/* a PV guest's page tables cover the window (a Linux guest maps it itself) */
	return d->guest_kind == &kind_pv ? builder_plan(d, eb) : 0;
}

/* Adds the image's pages, merging the permissions of pages two segments share. */
static unsigned image_maps(const struct elf_image *img, struct pt_map *maps, unsigned n)
{
	for (unsigned i = 0; i < img->nr_segments; i++) {
		const struct elf_segment *s = &img->seg[i];
		struct pt_map m = {
			.start = s->vaddr & ~(PAGE - 1),
			.end = page_up(s->vaddr + s->memsz),
			.flags = ((s->flags & 2) ? PT_MAP_W : 0) | ((s->flags & 1) ? PT_MAP_X : 0),
		};
		struct pt_map *prev = n ? &maps[n - 1] : NULL;

		if (m.start == m.end)
			continue;
		if (prev && prev->end > m.start) {
			/* Segments are sorted and disjoint: they share at most one page. */
			unsigned merged = prev->flags | m.flags;

			prev->end -= PAGE;
			if (prev->end == prev->start)
				n--;
			maps[n++] = (struct pt_map){ m.start, m.start + PAGE, merged };
			m.start += PAGE;
			if (m.start == m.end)
				continue;
		}
		maps[n++] = m;
	}
	return n;
}

/*
 * GDT at the start of its page, TSS at +0x800.  The TSS carries an I/O
 * permission bitmap that allows ports 0..BUILDER_IO_PORTS-1: PVM ignores
 * RFLAGS.IOPL for the guest, so the bitmap is what lets a CPL-3 guest
 * reach the hypercall port (on VT-x/AMD-V IOPL 3 alone would do).
 */
#define TSS_OFFSET 0x800ull
#define TSS_IOMAP 0x68ull
#define BUILDER_IO_PORTS XENITH_IO_PORTS
#define TSS_LIMIT (TSS_IOMAP + BUILDER_IO_PORTS / 8) /* includes the 0xff terminator */
_Static_assert(TSS_OFFSET + TSS_LIMIT < 4096, "TSS fits the GDT page");
_Static_assert(XENITH_HYPERCALL_PORT < BUILDER_IO_PORTS, "hypercall port is in the I/O bitmap");
_Static_assert(BUILDER_XENSTORE > TRAP_STACK && BUILDER_XENSTORE > XENITH_MMIO_TEST_GPA &&
	       BUILDER_XENSTORE + PAGE <= BUILDER_IMAGE_MIN, "the store's page is a page of its own");

static void write_gdt(struct domain *d)
{
	uint64_t *gdt = (uint64_t *)(void *)(d->mem + d->layout.gdt);
	uint8_t *tss = d->mem + d->layout.gdt + TSS_OFFSET;
	uint64_t base = d->layout.gdt + TSS_OFFSET, limit = TSS_LIMIT;

	/* Flat descriptors: kernel ones for completeness, the user ones the guest runs on. */
	gdt[GDT_KERNEL_CS / 8] = 0x00af9b000000ffffull;
	gdt[GDT_KERNEL_DS / 8] = 0x00cf93000000ffffull;
	gdt[GDT_USER_DS / 8] = 0x00cff3000000ffffull;
	gdt[GDT_USER_CS / 8] = 0x00affb000000ffffull;
	/* 64-bit busy TSS (type 0xb), 16 bytes. */
	gdt[GDT_TSS / 8] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x8bull << 40) |
			   (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	gdt[GDT_TSS / 8 + 1] = base >> 32;
	/* I/O map base; the bitmap is all zeroes (ports allowed) then the 0xff terminator. */
	*(uint16_t *)(void *)(tss + 0x66) = (uint16_t)TSS_IOMAP;
	memset(tss + TSS_IOMAP, 0, BUILDER_IO_PORTS / 8);
	tss[TSS_LIMIT] = 0xff;
}

static int write_start_info(struct domain *d)
{
	struct xenith_start_info *si = (void *)(d->mem + d->layout.start_info);
	const struct domain_layout *l = &d->layout;

	si->magic = XENITH_START_INFO_MAGIC;
	si->abi_version = XENITH_ABI_VERSION;
	si->domid = d->domid;
	si->mem_bytes = d->mem_size;
	si->nr_vcpus = d->nr_vcpus;
	si->shared_info = l->shared_info;
	si->console_ring = l->console;
	si->console_evtchn = EVTCHN_CONSOLE_PORT;
	si->pt_base = l->pt_base;
	si->nr_pt_pages = l->nr_pt_pages;
	si->stack_base = l->stack_base;
	si->stack_stride = l->stack_stride;
	si->stack_guard = l->stack_guard;
	si->image_start = d->image.lo;
	si->image_end = d->image.hi;
	si->free_start = l->free_start;
	si->free_end = l->free_end;
	si->store_ring = l->xenstore;
	si->store_evtchn = EVTCHN_XENSTORE_PORT;
	snprintf(si->name, sizeof(si->name), "%s", d->cfg.name);
	snprintf(si->cmdline, sizeof(si->cmdline), "%s", d->cfg.cmdline);
	d->start_info = si;
	return 0;
}

/*
 * What the guest maps without write permission, the VMM does not write on
 * its behalf either (d->ro_frames): otherwise a hypercall's output pointer,
 * or a grant for a backend to write into, would let the guest rewrite its
 * own page tables.  Xen refuses the same writes (page types).
 */
static int mark_read_only(struct domain *d, const struct pt_map *maps, unsigned n, struct errbuf *eb)
{
	uint64_t frames = d->mem_size / PAGE;

	d->ro_frames = calloc((frames + 63) / 64, sizeof(uint64_t));
	if (!d->ro_frames)
		return errbuf_set(eb, ENOMEM, "out of memory for the read-only frame map");
	for (unsigned i = 0; i < n; i++) {
		if (maps[i].flags & PT_MAP_W)
			continue;
		for (uint64_t f = maps[i].start / PAGE; f < maps[i].end / PAGE && f < frames; f++)
			d->ro_frames[f / 64] |= 1ull << (f % 64);
	}
	return 0;
}

/*
 * An unbacked domain (tests, fuzzing) runs no guest: only the VMM's own
 * code touches its memory, and an access that a bounds check let slip a
 * little past either end would land in whatever mapping is next, silently
 * (ASan watches the heap, not mmap'd memory).  So its memory sits between
 * two inaccessible regions, each larger than anything one hypercall or
 * grant access touches (a whole grant table is 128 KiB): such an access
 * faults at once.  They cost address space only.  A domain with a VM has
 * none: KVM is given exactly the memory.
 */
#define UNBACKED_GUARD (1ull << 20)

void builder_unmap_memory(struct domain *d)
{
	mem_backing_unmap(d->mem, d->mem_size, d->unbacked ? UNBACKED_GUARD : 0);
	d->mem = NULL;
}

/*
 * RAM on both sides of the MMIO test page, which no memory backs (each
 * access to it an MMIO exit), and the special pages inside it.  An
 * unbacked domain's map has no VM: KVM hears nothing.
 */
static int add_regions(struct domain *d, struct errbuf *eb)
{
	const struct domain_layout *l = &d->layout;
	const struct { const char *name; uint64_t gpa; } special[] = {
		{ "start_info", l->start_info }, { "shared_info", l->shared_info },
		{ "console", l->console }, { "gdt", l->gdt }, { "xenstore", l->xenstore },
	};
	struct memmap *mm = &d->memmap;
	int r;

	r = memmap_add_ram(mm, "ram-low", 0, XENITH_MMIO_TEST_GPA, d->mem, eb);
	if (r >= 0)
		r = memmap_add_hole(mm, "mmio-test", XENITH_MMIO_TEST_GPA, PAGE, eb);
	if (r >= 0)
		r = memmap_add_ram(mm, "ram", XENITH_MMIO_TEST_GPA + PAGE,
				   d->mem_size - XENITH_MMIO_TEST_GPA - PAGE,
				   d->mem + XENITH_MMIO_TEST_GPA + PAGE, eb);
	for (size_t i = 0; r >= 0 && i < sizeof(special) / sizeof(special[0]); i++)
		r = memmap_add_special(mm, special[i].name, special[i].gpa, PAGE, eb);
	return r < 0 ? r : 0;
}

int builder_populate(struct domain *d, struct errbuf *eb)
{
	int r = mem_backing_alloc(&d->cfg, d->mem_size, d->unbacked ? UNBACKED_GUARD : 0, &d->mem_fd, &d->mem,
				  &d->mem_backing, eb);

	if (r < 0)
		return r;
	return d->guest_kind->populate(d, eb);
}

int builder_populate_pv(struct domain *d, struct errbuf *eb)
{
	const struct domain_layout *l = &d->layout;
	struct pt_map maps[13 + 2 * ELF_MAX_SEGMENTS + XENITH_MAX_VCPUS];
	struct timespec wc;
	unsigned n = 0;
	int r;

	/* a new memfd reads as zeroes: .bss needs no writing (and no pages) */
	r = d->restoring ? 0 : elf_load(&d->image, d->mem, d->mem_size, BUILDER_IMAGE_MIN, true, eb);
	if (r < 0)
		return r;

	maps[n++] = (struct pt_map){ l->start_info, l->start_info + PAGE, 0 };
	maps[n++] = (struct pt_map){ l->shared_info, l->shared_info + PAGE, PT_MAP_W };
	maps[n++] = (struct pt_map){ l->console, l->console + PAGE, PT_MAP_W };
	maps[n++] = (struct pt_map){ l->gdt, l->gdt + PAGE, 0 };
	maps[n++] = (struct pt_map){ XENITH_MMIO_TEST_GPA, XENITH_MMIO_TEST_GPA + PAGE, PT_MAP_W };
	maps[n++] = (struct pt_map){ l->xenstore, l->xenstore + PAGE, PT_MAP_W };
	if (trap_host_supported())
		n = trap_install(d, maps, n, l->gdt + TSS_OFFSET);
	n = image_maps(&d->image, maps, n);
	maps[n++] = (struct pt_map){ l->pt_base, l->pt_base + l->nr_pt_pages * PAGE, 0 };
	for (unsigned i = 0; i < d->nr_vcpus; i++) {
		uint64_t s = l->stack_base + i * l->stack_stride;

		maps[n++] = (struct pt_map){ s + l->stack_guard, s + l->stack_stride, PT_MAP_W };
	}
	maps[n++] = (struct pt_map){ l->free_start, l->free_end, PT_MAP_W };
	if (d->devwin_size)
		maps[n++] = (struct pt_map){ d->devwin_base, d->devwin_base + d->devwin_size, PT_MAP_W | PT_MAP_DEVICE };
	/* A restore's memory comes from its stream: what is written here would be punched away. */
	r = d->restoring ? 0 : pt_build(d->mem, d->mem_size, l->pt_base, l->nr_pt_pages, maps, n, eb);
	if (r < 0)
		return errbuf_prefix(eb, r, "building page tables");
	r = mark_read_only(d, maps, n, eb);
	if (r < 0)
		return r;
	d->shared = (void *)(d->mem + l->shared_info);
	d->cons_ring = (void *)(d->mem + l->console);
	if (d->restoring) {
		d->start_info = (void *)(d->mem + l->start_info);
		return add_regions(d, eb);
	}

	write_gdt(d);
	write_start_info(d);
	memset(d->mem + l->xenstore, 0, PAGE); /* empty rings: both sides start at index 0 */
	d->shared->tsc_khz = d->tsc_khz;
	clock_gettime(CLOCK_REALTIME, &wc);
	d->shared->wc_sec = (uint64_t)wc.tv_sec;
	d->shared->wc_nsec = (uint32_t)wc.tv_nsec;
	return add_regions(d, eb);
}

static uint64_t supported_xcr0(const struct kvm_sys *sys)
{
	for (unsigned i = 0; i < sys->cpuid->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &sys->cpuid->entries[i];

		if (e->function == 0xd && e->index == 0)
			return ((uint64_t)e->edx << 32) | e->eax;
	}
	return 0;
}

static bool cpuid_has_xsave(const struct kvm_sys *sys)
{
	for (unsigned i = 0; i < sys->cpuid->nent; i++)
		if (sys->cpuid->entries[i].function == 1)
			return sys->cpuid->entries[i].ecx & (1u << 26);
	return false;
}

int builder_setup_vcpu(struct domain *d, struct vcpu *v, struct errbuf *eb)
{
	struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = GDT_USER_CS,
		.type = 0xb, .present = 1, .dpl = 3, .db = 0, .s = 1, .l = 1, .g = 1,
	};
	struct kvm_segment data = {
		.base = 0, .limit = 0xffffffff, .selector = GDT_USER_DS,
		.type = 0x3, .present = 1, .dpl = 3, .db = 1, .s = 1, .l = 0, .g = 1,
	};
	struct kvm_segment tr = {
		.base = d->layout.gdt + TSS_OFFSET, .limit = TSS_LIMIT, .selector = GDT_TSS,
		.type = 0xb, .present = 1, .dpl = 0, .s = 0,
	};
	bool xsave = cpuid_has_xsave(d->kvm);
	struct kvm_sregs s;

	if (domain_pv_at_cpl0(d)) {
		/* The guest kernel runs at CPL 0 (VT-x/AMD-V hosts; checked at domain_create). */
		code.selector = GDT_KERNEL_CS;
		code.dpl = 0;
		data.selector = GDT_KERNEL_DS;
		data.dpl = 0;
	}
	if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return errbuf_set(eb, errno, "vCPU %u: KVM_GET_SREGS: %s", v->id, strerror(errno));
	s.cs = code;
	s.ds = s.es = s.fs = s.gs = s.ss = data;
	s.tr = tr;
	s.gdt.base = d->layout.gdt;
	s.gdt.limit = GDT_TSS + 16 - 1;
	if (trap_host_supported()) {
		s.idt.base = TRAP_IDT; /* exceptions exit to the VMM with their frame (trap.c) */
		s.idt.limit = TRAP_VECTORS * 16 - 1;
	} else {
		s.idt.base = 0;
		s.idt.limit = 0; /* no IDT: any exception ends in a triple fault */
	}
	s.cr0 = 0x80010033ull; /* PG | WP | NE | ET | MP | PE */
	s.cr3 = d->layout.pt_base;
	s.cr4 = (1u << 5) | (1u << 9) | (1u << 10); /* PAE | OSFXSR | OSXMMEXCPT */
	if (xsave)
		s.cr4 |= 1u << 18; /* OSXSAVE */
	s.efer = (1u << 8) | (1u << 10) | (1u << 11); /* LME | LMA | NXE */
	if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0)
		return errbuf_set(eb, errno, "vCPU %u: KVM_SET_SREGS (64-bit CPL-3 state): %s",
				  v->id, strerror(errno));
	if (xsave) {
		/* x87, SSE, AVX and AVX-512 state, as far as the host supports them. */
		uint64_t xcr0 = supported_xcr0(d->kvm) & (0x7ull | 0xe0ull);
		struct kvm_xcrs x = { .nr_xcrs = 1, .xcrs = { { .xcr = 0, .value = xcr0 } } };

		if (xcr0 && ioctl(v->fd, KVM_SET_XCRS, &x) < 0)
			return errbuf_set(eb, errno, "vCPU %u: KVM_SET_XCRS xcr0=0x%llx: %s", v->id,
					  (unsigned long long)xcr0, strerror(errno));
	}
	return 0;
}
