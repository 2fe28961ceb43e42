// SPDX-License-Identifier: MIT
#include "linux.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acpi.h"
#include "domain.h"
#include "fsutil.h"
#include "kvm.h"
#include "trap.h"

#define LX_GDT 0x1000ull
#define LX_BOOT_PARAMS 0x7000ull
#define LX_PML4 0x9000ull
#define LX_PDPT 0xa000ull
#define LX_PD 0xb000ull            /* four pages */
#define LX_CMDLINE 0x20000ull
#define LX_CMDLINE_MAX 4096ull
#define LX_LOW_RAM_END 0x9fc00ull  /* where the BIOS data/EBDA/ROM area starts */
#define LX_ACPI 0xe0000ull
#define LX_KERNEL 0x100000ull
#define LX_BOOT_STACK 0x8000ull
#define LX_TSS_ADDR 0xfffbd000ull  /* 3 pages KVM needs for real mode on VT-x */
#define LX_IDMAP_ADDR 0xfffbc000ull
#define LX_MIN_MEMORY (64ull << 20)
/* The 64-bit decompressor runs the kernel at 16 MiB or above (LOAD_PHYSICAL_ADDR). */
#define LX_RUN_ADDR (16ull << 20)

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

int linux_open(struct domain *d, const char *path, struct errbuf *eb)
{
	const uint8_t *b = d->image_map;
	size_t size = d->image_size, hdr_end;
	struct linux_guest *lx;
	uint64_t need, initrd_top;

	lx = calloc(1, sizeof(*lx));
	if (!lx)
		return errbuf_set(eb, ENOMEM, "out of memory");
	pthread_mutex_init(&lx->lock, NULL);
	lx->vm_fd = -1;
	d->lx = lx;

	lx->protocol = get16(b + BP_VERSION);
	if (lx->protocol < 0x020c)
		return errbuf_set(eb, ENOEXEC, "%s uses Linux boot protocol %u.%02u; Xenith boots "
				  "kernels through the 64-bit entry point, which needs 2.12 or later "
				  "(Linux 3.8+)", path, lx->protocol >> 8, lx->protocol & 0xff);
	if (!(get16(b + BP_XLOADFLAGS) & XLF_KERNEL_64))
		return errbuf_set(eb, ENOEXEC, "%s has no 64-bit entry point (xloadflags bit "
				  "XLF_KERNEL_64 clear): is it a 32-bit kernel?", path);
	if (!(b[BP_LOADFLAGS] & LOADFLAGS_LOADED_HIGH))
		return errbuf_set(eb, ENOEXEC, "%s is a zImage (loads below 1 MiB); only bzImage "
				  "kernels are supported", path);
	hdr_end = BP_HEADER + b[BP_JUMP + 1];
	lx->setup_sects = b[BP_SETUP_SECTS] ? b[BP_SETUP_SECTS] : 4;
	if (hdr_end > BP_SIZE || ((size_t)lx->setup_sects + 1) * 512 >= size)
		return errbuf_set(eb, ENOEXEC, "%s: the setup header is inconsistent (%u setup "
				  "sectors in a %zu-byte file); the file may be truncated", path,
				  lx->setup_sects, size);
	lx->payload = b + (lx->setup_sects + 1) * 512;
	lx->payload_size = size - (lx->setup_sects + 1) * 512;
	lx->init_size = get32(b + BP_INIT_SIZE);
	lx->initrd_addr_max = get32(b + BP_INITRD_ADDR_MAX);
	lx->cmdline_size = get32(b + BP_CMDLINE_SIZE);
	if (lx->init_size < lx->payload_size)
		lx->init_size = (uint32_t)lx->payload_size;
	{
		/* kernel_version points to a string, relative to 0x200 */
		uint16_t kv = get16(b + BP_KERNEL_VERSION);

		if (kv && (size_t)kv + 0x200 < size) {
			const char *s = (const char *)b + kv + 0x200;
			size_t n = strnlen(s, sizeof(lx->version) - 1);

			if ((size_t)kv + 0x200 + n < size)
				memcpy(lx->version, s, n);
			lx->version[strcspn(lx->version, " ")] = 0;
		}
	}

	if (!trap_host_supported())
		return errbuf_set(eb, ENOTSUP, "%s is a Linux kernel (bzImage); a Linux guest runs its "
				  "kernel at CPL 0, which this host's KVM (%s) does not run natively: "
				  "PVM hosts run only CPL-3 guest code, so they can run Xenith PV guests "
				  "(minios) but not unmodified kernels; use a VT-x or AMD-V host "
				  "(or the lab: ci/lab/run.sh)", path, kvm_vendor_module());
	if (d->cfg.nr_disks)
		return errbuf_set(eb, ENOTSUP, "disk: Linux guests get no disks yet (the block backend "
				  "speaks to Xenith's PV frontend, minios); remove the disk keys");
	if (strlen(d->cfg.cmdline) >= LX_CMDLINE_MAX ||
	    (lx->cmdline_size && strlen(d->cfg.cmdline) > lx->cmdline_size))
		return errbuf_set(eb, E2BIG, "cmdline is %zu bytes; this kernel takes at most %u",
				  strlen(d->cfg.cmdline),
				  lx->cmdline_size && lx->cmdline_size < LX_CMDLINE_MAX - 1 ?
				  lx->cmdline_size : (unsigned)LX_CMDLINE_MAX - 1);
	if (d->cfg.initrd[0]) {
		/* it must fit below 4 GiB with the kernel: 3 GiB is a generous cap */
		int r = fs_map_file(d->cfg.initrd, "initrd", 3ull << 30, &lx->initrd, &lx->initrd_size, eb);

		if (r < 0)
			return r;
	}
	if (d->mem_size > ((uint64_t)LINUX_MEMORY_MAX_MIB << 20))
		return errbuf_set(eb, EINVAL, "memory = %llu MiB: Linux guests get at most %u MiB for "
				  "now (RAM above the 32-bit MMIO hole is not mapped yet)",
				  (unsigned long long)(d->mem_size >> 20), LINUX_MEMORY_MAX_MIB);
	/* The kernel runs from 16 MiB and needs init_size there; the initrd sits at the top. */
	need = LX_RUN_ADDR + lx->init_size + ((lx->initrd_size + 0xfff) & ~0xfffull) + (8ull << 20);
	if (need < LX_MIN_MEMORY)
		need = LX_MIN_MEMORY;
	if (d->mem_size < need)
		return errbuf_set(eb, ENOMEM, "memory = %llu MiB is too small for this kernel: it "
				  "decompresses at 16 MiB and needs %u KiB there%s%s; give it at "
				  "least %llu MiB", (unsigned long long)(d->mem_size >> 20),
				  lx->init_size >> 10, lx->initrd ? ", plus the initrd's " : "",
				  lx->initrd ? "size" : "", (unsigned long long)((need + (1 << 20) - 1) >> 20));
	if (lx->initrd) {
		initrd_top = d->mem_size;
		if (lx->initrd_addr_max && initrd_top > (uint64_t)lx->initrd_addr_max + 1)
			initrd_top = (uint64_t)lx->initrd_addr_max + 1;
		lx->initrd_gpa = (initrd_top - lx->initrd_size) & ~0xfffull;
		if (lx->initrd_gpa < LX_RUN_ADDR + lx->init_size)
			return errbuf_set(eb, ENOMEM, "the initrd (%zu KiB) does not fit below this "
					  "kernel's initrd limit (0x%x) above the kernel; give the domain "
					  "more memory or use a smaller initrd", lx->initrd_size >> 10,
					  lx->initrd_addr_max);
	}
	return 0;
}

void linux_close(struct domain *d)
{
	struct linux_guest *lx = d->lx;

	if (!lx)
		return;
	if (lx->initrd)
		munmap(lx->initrd, lx->initrd_size);
	pthread_mutex_destroy(&lx->lock);
	free(lx);
	d->lx = NULL;
}

int linux_vm_init(struct domain *d, struct errbuf *eb)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t idmap = LX_IDMAP_ADDR;

	if (ioctl(d->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)LX_TSS_ADDR) < 0)
		return errbuf_set(eb, errno, "KVM_SET_TSS_ADDR: %s", strerror(errno));
	if (ioctl(d->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
		return errbuf_set(eb, errno, "KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(errno));
	if (ioctl(d->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return errbuf_set(eb, errno, "KVM_CREATE_IRQCHIP (in-kernel PIC, IOAPIC and LAPICs "
				  "for a Linux guest): %s", strerror(errno));
	if (ioctl(d->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return errbuf_set(eb, errno, "KVM_CREATE_PIT2: %s", strerror(errno));
	d->lx->vm_fd = d->vm_fd;
	return 0;
}

/* COM1's transmitter: straight to the domain's console. */
static void com1_tx(void *opaque, uint8_t byte)
{
	struct domain *d = opaque;
	char c = (char)byte;

	console_write(&d->console, &c, 1);
}

static void com1_irq(void *opaque, bool level)
{
	struct domain *d = opaque;
	struct kvm_irq_level irq = { .irq = UART_COM1_IRQ, .level = level };

	ioctl(d->lx->vm_fd, KVM_IRQ_LINE, &irq);
}

static void add_e820(uint8_t *bp, uint64_t addr, uint64_t size, uint32_t type)
{
	uint8_t *e = bp + BP_E820_TABLE + 20 * bp[BP_E820_ENTRIES];

	put64(e, addr);
	put64(e + 8, size);
	put32(e + 16, type);
	bp[BP_E820_ENTRIES]++;
}

int linux_populate(struct domain *d, struct errbuf *eb)
{
	struct linux_guest *lx = d->lx;
	const uint8_t *img = d->image_map;
	uint8_t *bp = d->mem + LX_BOOT_PARAMS;
	uint64_t *gdt = (uint64_t *)(void *)(d->mem + LX_GDT);
	uint64_t *pml4 = (uint64_t *)(void *)(d->mem + LX_PML4);
	uint64_t *pdpt = (uint64_t *)(void *)(d->mem + LX_PDPT);
	uint64_t *pd = (uint64_t *)(void *)(d->mem + LX_PD);
	size_t hdr_len = (size_t)(BP_HEADER + img[BP_JUMP + 1]) - BP_SETUP_SECTS;
	size_t acpi_len;

	if (LX_KERNEL + lx->payload_size > d->mem_size)
		return errbuf_set(eb, ENOMEM, "the kernel (%zu KiB) does not fit in guest memory",
				  lx->payload_size >> 10);
	memcpy(d->mem + LX_KERNEL, lx->payload, lx->payload_size);
	if (lx->initrd)
		memcpy(d->mem + lx->initrd_gpa, lx->initrd, lx->initrd_size);

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
	snprintf((char *)d->mem + LX_CMDLINE, LX_CMDLINE_MAX, "%s", d->cfg.cmdline);
	put32(bp + BP_CMD_LINE_PTR, (uint32_t)LX_CMDLINE);
	if (lx->initrd) {
		put32(bp + BP_RAMDISK_IMAGE, (uint32_t)lx->initrd_gpa);
		put32(bp + BP_RAMDISK_SIZE, (uint32_t)lx->initrd_size);
	}
	add_e820(bp, 0, LX_LOW_RAM_END, E820_RAM);
	add_e820(bp, LX_LOW_RAM_END, LX_KERNEL - LX_LOW_RAM_END, E820_RESERVED);
	add_e820(bp, LX_KERNEL, d->mem_size - LX_KERNEL, E820_RAM);

	acpi_len = acpi_build(d->mem + LX_ACPI, LX_KERNEL - LX_ACPI, LX_ACPI, d->nr_vcpus);
	if (!acpi_len)
		return errbuf_set(eb, E2BIG, "ACPI tables for %u vCPUs do not fit", d->nr_vcpus);
	put64(bp + BP_ACPI_RSDP, LX_ACPI);

	pthread_mutex_lock(&lx->lock);
	uart8250_init(&lx->com1, com1_tx, com1_irq, d);
	lx->pm1_sts = lx->pm1_en = 0;
	lx->pm1_cnt = ACPI_PM1_SCI_EN; /* always in ACPI mode (no SMI_CMD) */
	pthread_mutex_unlock(&lx->lock);
	return kvm_vm_set_memory(d->vm_fd, 0, 0, d->mem_size, d->mem, eb);
}

/* CPUID as KVM supports it, with this vCPU's APIC ID. */
static int set_cpuid(struct domain *d, struct vcpu *v, struct errbuf *eb)
{
	const struct kvm_cpuid2 *src = d->kvm->cpuid;
	size_t bytes = sizeof(*src) + src->nent * sizeof(src->entries[0]);
	struct kvm_cpuid2 *c = malloc(bytes);
	int r = 0;

	if (!c)
		return errbuf_set(eb, ENOMEM, "out of memory");
	memcpy(c, src, bytes);
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == 1)
			e->ebx = (e->ebx & 0x00ffffffu) | (v->id << 24);
		else if (e->function == 0xb || e->function == 0x1f)
			e->edx = v->id; /* x2APIC ID */
	}
	if (ioctl(v->fd, KVM_SET_CPUID2, c) < 0)
		r = errbuf_set(eb, errno, "vCPU %u: KVM_SET_CPUID2: %s", v->id, strerror(errno));
	free(c);
	return r;
}

int linux_setup_vcpu(struct domain *d, struct vcpu *v, struct errbuf *eb)
{
	struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = 0x10,
		.type = 0xb, .present = 1, .dpl = 0, .db = 0, .s = 1, .l = 1, .g = 1,
	};
	struct kvm_segment data = {
		.base = 0, .limit = 0xffffffff, .selector = 0x18,
		.type = 0x3, .present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
	};
	struct kvm_segment tr = {
		.base = 0, .limit = 0x67, .selector = 0x20, .type = 0xb, .present = 1, .s = 0,
	};
	struct kvm_sregs s;
	int r;

	r = set_cpuid(d, v, eb);
	if (r < 0 || v->id != 0)
		return r; /* application processors stay in reset until the guest's INIT/SIPI */
	if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return errbuf_set(eb, errno, "vCPU 0: KVM_GET_SREGS: %s", strerror(errno));
	s.cs = code;
	s.ds = s.es = s.fs = s.gs = s.ss = data;
	s.tr = tr;
	s.gdt.base = LX_GDT;
	s.gdt.limit = 4 * 8 - 1;
	s.idt.base = 0;
	s.idt.limit = 0;
	s.cr0 = 0x80010033ull; /* PG | WP | NE | ET | MP | PE */
	s.cr3 = LX_PML4;
	s.cr4 = 1u << 5;       /* PAE */
	s.efer = (1u << 8) | (1u << 10); /* LME | LMA */
	if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0)
		return errbuf_set(eb, errno, "vCPU 0: KVM_SET_SREGS (64-bit boot state): %s",
				  strerror(errno));
	return 0;
}

bool linux_entry_regs(struct domain *d, struct vcpu *v, void *kvm_regs)
{
	struct kvm_regs *r = kvm_regs;

	(void)d;
	if (v->id != 0)
		return false;
	memset(r, 0, sizeof(*r));
	r->rip = LX_KERNEL + 0x200; /* the 64-bit entry: startup_64 of the compressed kernel */
	r->rsi = LX_BOOT_PARAMS;
	r->rsp = LX_BOOT_STACK;
	r->rflags = 0x2;            /* interrupts off */
	return true;
}

/* ACPI PM1 registers: a status/enable pair and the control register. */
static uint32_t pm_read(struct linux_guest *lx, unsigned port, unsigned size)
{
	uint8_t regs[6];

	put16(regs, lx->pm1_sts);
	put16(regs + 2, lx->pm1_en);
	put16(regs + 4, lx->pm1_cnt);
	port -= ACPI_PM1A_EVT_PORT;
	if (port + size > sizeof(regs))
		return 0xffffffffu;
	return size == 1 ? regs[port] : size == 2 ? get16(regs + port) : get32(regs + port);
}

/* Returns true when the write asks for power-off (SLP_TYP = S5 with SLP_EN). */
static bool pm_write(struct linux_guest *lx, unsigned port, unsigned size, uint32_t v)
{
	if (port == ACPI_PM1A_EVT_PORT && size >= 2) {
		lx->pm1_sts &= (uint16_t)~v; /* write 1 to clear */
		if (size == 4)
			lx->pm1_en = (uint16_t)(v >> 16);
	} else if (port == ACPI_PM1A_EVT_PORT + 2 && size == 2) {
		lx->pm1_en = (uint16_t)v;
	} else if (port == ACPI_PM1A_CNT_PORT && size == 2) {
		lx->pm1_cnt = (uint16_t)((v & ~ACPI_PM1_SLP_EN) | ACPI_PM1_SCI_EN);
		return (v & ACPI_PM1_SLP_EN) && ((v >> 10) & 7) == ACPI_SLP_TYP_S5;
	}
	return false;
}

void linux_pio(struct vcpu *v)
{
	struct domain *d = v->d;
	struct linux_guest *lx = d->lx;
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	unsigned port = run->io.port, size = run->io.size;
	bool in = run->io.direction == KVM_EXIT_IO_IN;
	enum { NONE, POWEROFF, RESET } action = NONE;

	pthread_mutex_lock(&lx->lock);
	for (uint32_t i = 0; i < run->io.count; i++, data += size) {
		uint32_t val = 0;

		if (!in)
			memcpy(&val, data, size);
		if (port >= UART_COM1_BASE && port < UART_COM1_BASE + UART_NR_PORTS) {
			if (in)
				memset(data, uart8250_read(&lx->com1, port - UART_COM1_BASE), size);
			else
				uart8250_write(&lx->com1, port - UART_COM1_BASE, (uint8_t)val);
		} else if (port >= ACPI_PM1A_EVT_PORT && port < ACPI_PM1A_CNT_PORT + 2) {
			if (in) {
				val = pm_read(lx, port, size);
				memcpy(data, &val, size);
			} else if (pm_write(lx, port, size, val))
				action = POWEROFF;
		} else if (port == ACPI_RESET_PORT && !in && size == 1 && (val & 0x04)) {
			action = RESET; /* the FADT reset register, or a PCI-style 0xcf9 reset */
		} else if (port == 0x64 && !in && size == 1 && val == 0xfe) {
			action = RESET; /* keyboard-controller reset pulse */
		} else if (in) {
			memset(data, 0xff, size); /* nothing here */
		}
	}
	pthread_mutex_unlock(&lx->lock);
	if (action == POWEROFF)
		domain_shutdown_by_guest(d, SHUTDOWN_poweroff, 0);
	else if (action == RESET)
		domain_shutdown_by_guest(d, SHUTDOWN_reboot, 0);
}
