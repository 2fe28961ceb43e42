// SPDX-License-Identifier: MIT
#include "linux.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "domain.h"
#include "fsutil.h"
#include "iobus.h"
#include "kind.h"
#include "kvm.h"
#include "trap.h"
#include "xenhvm.h"
#include "xenith/xen_hvm.h"

int linux_open(struct domain *d, const char *path, struct errbuf *eb)
{
	struct linux_guest *lx;
	int r;

	lx = calloc(1, sizeof(*lx));
	if (!lx)
		return errbuf_set(eb, ENOMEM, "out of memory");
	d->guest_kind_data = lx;
	pcibus_init(&lx->pci);
	for (unsigned i = 0; i < LX_MSI_MAX; i++)
		lx->msi[i].fd = -1;
	r = linux_ports_init(&lx->ports, &d->pio, eb);
	if (r < 0)
		return r;

	/*
	 * Everything about the image and its sizes first, so that a broken or
	 * hostile bzImage is refused for what is wrong with it on every host.
	 */
	r = linux_boot_parse(d->image_map, d->image_size, path, &lx->plan, eb);
	if (r < 0)
		return r;
	if (d->cfg.initrd[0]) {
		/* it must fit below 4 GiB with the kernel: 3 GiB is a generous cap */
		r = fs_map_file(d->cfg.initrd, "initrd", 3ull << 30, &lx->initrd, &lx->initrd_size, eb);
		if (r < 0)
			return r;
	}
	r = linux_boot_place(&lx->plan, d->mem_size, lx->initrd_size, strlen(d->cfg.cmdline), eb);
	if (r < 0)
		return errbuf_prefix(eb, r, "%s", path);
	if (!trap_host_supported())
		return errbuf_set(eb, ENOTSUP, "%s is a Linux kernel (bzImage); a Linux guest runs its "
				  "kernel at CPL 0, which this host's KVM (%s) does not run natively: "
				  "PVM hosts run only CPL-3 guest code, so they can run Xenith PV guests "
				  "(minios) but not unmodified kernels; use a VT-x or AMD-V host "
				  "(or the lab: ci/lab/run.sh)", path, kvm_vendor_module());
	if (d->cfg.nr_disks)
		return errbuf_set(eb, ENOTSUP, "disk: Linux guests get no disks yet (the block backend "
				  "speaks to Xenith's PV frontend, minios); remove the disk keys");
	if (d->cfg.xen_hvm)
		return xenhvm_open(d, eb);
	return 0;
}

void linux_close(struct domain *d)
{
	struct linux_guest *lx = d->guest_kind_data;

	xenhvm_close(d);
	if (!lx)
		return;
	if (lx->initrd)
		munmap(lx->initrd, lx->initrd_size);
	linux_ports_destroy(&lx->ports);
	if (lx->pci_ports) {
		iobus_unregister(&d->pio, PCIBUS_PORT);
		iobus_unregister(&d->pio, PCIBUS_PORT + 4);
	}
	pcibus_fini(&lx->pci);
	free(lx);
	d->guest_kind_data = NULL;
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
	return d->xh ? xenhvm_vm_init(d, eb) : 0;
}

int linux_populate(struct domain *d, struct errbuf *eb)
{
	struct linux_guest *lx = d->guest_kind_data;
	int r;

	/* ACPI declares the bus, and its window, when it has functions */
	lx->plan.pci_window = lx->pci.nslots > 1 ? d->devwin_base : 0;
	lx->plan.pci_window_size = lx->pci.nslots > 1 ? DEVWIN_MAX : 0;
	r = linux_boot_load(&lx->plan, d->image_map, lx->initrd, d->cfg.cmdline, d->nr_vcpus,
			    d->mem, d->mem_size, eb);
	if (r < 0)
		return r;
	r = memmap_add_ram(&d->memmap, "ram", 0, d->mem_size, d->mem, eb);
	return r < 0 ? r : 0;
}

/* CPUID as KVM supports it, with this vCPU's APIC ID (and Xen's leaves, xen_hvm = 1). */
static int set_cpuid(struct domain *d, struct vcpu *v, struct errbuf *eb)
{
	const struct kvm_cpuid2 *src = d->kvm->cpuid;
	size_t bytes = sizeof(*src) + src->nent * sizeof(src->entries[0]);
	struct kvm_cpuid2 *c = malloc(bytes + XEN_CPUID_LEAVES * sizeof(src->entries[0]));
	int r = 0;

	if (!c)
		return errbuf_set(eb, ENOMEM, "out of memory");
	memcpy(c, src, bytes);
	if (d->xh)
		xenhvm_cpuid(d, v, c);
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

void linux_pio(struct vcpu *v)
{
	struct domain *d = v->d;
	struct linux_guest *lx = d->guest_kind_data;
	struct kvm_run *run = v->run;
	enum linux_port_action action;

	if (d->xh && xenhvm_pio(v))
		return; /* a hypercall through the hypercall page */
	action = linux_ports_io(&lx->ports, run->io.port, run->io.size,
				run->io.direction == KVM_EXIT_IO_IN, run->io.count,
				(uint8_t *)run + run->io.data_offset);
	if (action == LINUX_PORT_POWEROFF)
		domain_shutdown_by_guest(d, SHUTDOWN_poweroff, 0);
	else if (action == LINUX_PORT_RESET)
		domain_shutdown_by_guest(d, SHUTDOWN_reboot, 0);
}

/* Ports 0xcf8 (the address, a dword) and 0xcfc-0xcff (the data): the domain's PCI bus. */
static void pci_port(void *opaque, struct iobus_io *io)
{
	struct pcibus *b = opaque;
	unsigned base = io->addr >= PCIBUS_PORT + 4 ? 4 : 0;

	for (uint32_t i = 0; i < io->count; i++)
		pcibus_port(b, base + (unsigned)io->offset, io->size, io->write, io->data + i * io->size);
}

struct pcibus *linux_pcibus(struct domain *d, struct errbuf *eb)
{
	struct linux_guest *lx = d->guest_kind_data;
	int r;

	if (!lx || d->guest_kind != &kind_linux) {
		errbuf_set(eb, ENOTSUP, "the domain is not a Linux guest");
		return NULL;
	}
	if (lx->pci_ports)
		return &lx->pci;
	/* 0xcf9 between them is the reset register (acpi_pm.h), as on a PC */
	r = iobus_register(&d->pio, "pci-address", PCIBUS_PORT, 1, pci_port, &lx->pci, eb);
	if (r == 0) {
		r = iobus_register(&d->pio, "pci-data", PCIBUS_PORT + 4, 4, pci_port, &lx->pci, eb);
		if (r < 0)
			iobus_unregister(&d->pio, PCIBUS_PORT);
	}
	if (r < 0)
		return NULL;
	lx->pci_ports = true;
	return &lx->pci;
}

/* KVM's routing: the irqchip's default (kvm_setup_default_irq_routing), then the MSIs that are on. */
static int set_routing(struct domain *d, struct linux_guest *lx, struct errbuf *eb)
{
	struct kvm_irq_routing *rt;
	unsigned n = 0, max = 24 + 16 + LX_MSI_MAX;
	int r = 0;

	rt = calloc(1, sizeof(*rt) + max * sizeof(rt->entries[0]));
	if (!rt)
		return errbuf_set(eb, ENOMEM, "out of memory");
	for (unsigned gsi = 0; gsi < 24; gsi++) {
		rt->entries[n++] = (struct kvm_irq_routing_entry){
			.gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { .irqchip = KVM_IRQCHIP_IOAPIC, .pin = gsi },
		};
		if (gsi < 16)
			rt->entries[n++] = (struct kvm_irq_routing_entry){
				.gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
				.u.irqchip = { .irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
					       .pin = gsi % 8 },
			};
	}
	for (unsigned i = 0; i < LX_MSI_MAX; i++)
		if (lx->msi[i].on)
			rt->entries[n++] = (struct kvm_irq_routing_entry){
				.gsi = LX_MSI_GSI_BASE + i, .type = KVM_IRQ_ROUTING_MSI,
				.u.msi = { .address_lo = (uint32_t)lx->msi[i].addr,
					   .address_hi = (uint32_t)(lx->msi[i].addr >> 32), .data = lx->msi[i].data },
			};
	rt->nr = n;
	if (ioctl(d->vm_fd, KVM_SET_GSI_ROUTING, rt) < 0)
		r = errbuf_set(eb, errno, "KVM_SET_GSI_ROUTING (%u routes): %s", n, strerror(errno));
	free(rt);
	return r;
}

static int irqfd(struct domain *d, unsigned i, int fd, bool assign, struct errbuf *eb)
{
	struct kvm_irqfd f = { .fd = (uint32_t)fd, .gsi = LX_MSI_GSI_BASE + i,
			       .flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN };

	if (ioctl(d->vm_fd, KVM_IRQFD, &f) < 0)
		return errbuf_set(eb, errno, "KVM_IRQFD (%s GSI %u): %s", assign ? "assign" : "deassign",
				  f.gsi, strerror(errno));
	return 0;
}

int linux_msi_route(struct domain *d, unsigned i, bool on, uint64_t addr, uint32_t data, int efd,
		    struct errbuf *eb)
{
	struct linux_guest *lx = d->guest_kind_data;
	struct linux_msi *m;
	int r = 0;

	if (!lx || i >= LX_MSI_MAX)
		return errbuf_set(eb, EINVAL, "MSI %u: no such route", i);
	m = &lx->msi[i];
	if (!on) {
		/* the eventfd keeps what comes now; KVM delivers it when the irqfd is back */
		if (m->irqfd)
			r = irqfd(d, i, m->fd, false, eb);
		m->irqfd = false;
		m->on = false;
		return r;
	}
	m->on = true;
	m->addr = addr;
	m->data = data;
	r = set_routing(d, lx, eb);
	if (r == 0 && (!m->irqfd || m->fd != efd)) {
		if (m->irqfd)
			irqfd(d, i, m->fd, false, eb);
		m->fd = efd;
		r = irqfd(d, i, efd, true, eb);
		m->irqfd = r == 0;
	}
	if (r < 0)
		m->on = false;
	return r;
}

void linux_msi_reset(struct domain *d)
{
	struct linux_guest *lx = d->guest_kind_data;
	struct errbuf eb;

	if (!lx)
		return;
	pthread_mutex_lock(&lx->pci.lock);
	for (unsigned i = 0; i < LX_MSI_MAX; i++) {
		if (lx->msi[i].irqfd && d->vm_fd >= 0)
			irqfd(d, i, lx->msi[i].fd, false, &eb);
		lx->msi[i] = (struct linux_msi){ .fd = -1 };
	}
	pthread_mutex_unlock(&lx->pci.lock);
}
