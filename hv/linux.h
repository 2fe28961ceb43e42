/* SPDX-License-Identifier: MIT */
/*
 * Linux guests: an unmodified bzImage booted through the Linux x86 boot
 * protocol's 64-bit entry (boot_params with the e820 map, command line and
 * initrd; identity-mapped page tables; flat CPL-0 segments), on KVM's
 * in-kernel LAPIC/IOAPIC/PIC and PIT, with a 16550A on COM1 as its console
 * and ACPI tables for power-off and reset.  The guest kernel runs at CPL 0,
 * so this needs a host that runs CPL-0 guest code natively (VT-x, AMD-V);
 * on PVM hosts linux_open() refuses at once and says why (after checking
 * the image, so a bad image is refused for what is wrong with it).
 *
 * Guest physical layout:
 *   0x1000            boot GDT (__BOOT_CS 0x10, __BOOT_DS 0x18)
 *   0x7000            boot_params (the "zero page")
 *   0x9000-0xefff     page tables: the first 4 GiB identity-mapped, 2 MiB pages
 *   0x20000           kernel command line
 *   0x9fc00-0xfffff   reserved (e820); ACPI tables at 0xe0000
 *   0x100000          the protected-mode kernel (bzImage payload)
 *   16 MiB            where it decompresses (or pref_address, if higher), init_size bytes
 *   top of memory     the initrd, below initrd_addr_max and above the decompression area
 *   above RAM         the device window (2 MiB aligned, up to 256 MiB): BARs of
 *                     passed-through PCI functions, which ACPI's \_SB.PCI0 declares
 *
 * PCI (only with `pci` keys): a host bridge and the functions on bus 0
 * through ports 0xcf8 (a dword) and 0xcfc-0xcff (pcicfg.h has what the
 * guest sees); the reset register at 0xcf9 stays the ACPI device's, as on
 * a PC chipset.  A function's MSI-X vector reaches the guest through an
 * irqfd: VFIO signals an eventfd, KVM turns it into the MSI the guest
 * programmed in its table, GSI LX_MSI_GSI_BASE and up.
 */
#ifndef XENITH_HV_LINUX_H
#define XENITH_HV_LINUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"
#include "linux_boot.h"
#include "linux_ports.h"
#include "pcicfg.h"

struct domain;
struct vcpu;

#define LX_MSI_GSI_BASE 24u /* after the IOAPIC's 24 pins */
#define LX_MSI_MAX (CONFIG_MAX_PCI * PCICFG_MAX_VECTORS)

struct linux_guest {
	struct linux_boot_plan plan; /* the setup header and where everything goes */
	void *initrd;               /* mmapped initrd file, or NULL */
	size_t initrd_size;

	struct linux_ports ports;   /* COM1, ACPI PM1, the reset ports */

	struct pcibus pci;          /* passed-through functions (pcidev.c adds them) */
	bool pci_ports;             /* its ports are on the domain's port bus */
	struct linux_msi {          /* GSI LX_MSI_GSI_BASE + i; under pci.lock */
		bool on, irqfd;
		uint64_t addr;
		uint32_t data;
		int fd;
	} msi[LX_MSI_MAX];
};

/*
 * Checks the bzImage's setup header, maps the initrd and plans guest
 * memory (linux_boot.h), then the host (CPL-0 guest code native): a bad
 * image or size is refused for what is wrong with it on any host.
 * d->image_map holds the file.
 */
int linux_open(struct domain *d, const char *path, struct errbuf *eb);
void linux_close(struct domain *d);
/* Before any vCPU exists: in-kernel irqchip, PIT, TSS and identity-map addresses. */
int linux_vm_init(struct domain *d, struct errbuf *eb);
/* Guest memory is mapped: loads the kernel and initrd, writes boot_params, tables; the RAM region. */
int linux_populate(struct domain *d, struct errbuf *eb);
/* Per-vCPU CPUID (APIC IDs); vCPU 0 gets the 64-bit boot state, the others wait for SIPI. */
int linux_setup_vcpu(struct domain *d, struct vcpu *v, struct errbuf *eb);
/* vCPU 0's registers at the 64-bit entry point; false for the others (none to set). */
bool linux_entry_regs(struct domain *d, struct vcpu *v, void *kvm_regs);
/* A KVM_EXIT_IO from a Linux guest. */
void linux_pio(struct vcpu *v);

/*
 * The domain's PCI bus, its ports claimed at the first call; NULL for a
 * domain that is not a Linux guest, or when the ports are taken (eb).
 */
struct pcibus *linux_pcibus(struct domain *d, struct errbuf *eb);
/*
 * MSI i (GSI LX_MSI_GSI_BASE + i): when on, each signal of efd is the
 * message addr/data (KVM_SET_GSI_ROUTING and KVM_IRQFD); when off, efd
 * keeps its signals until it is on again.  The caller holds the bus's
 * lock (vCPU threads: a guest's MSI-X table or control write).
 */
int linux_msi_route(struct domain *d, unsigned i, bool on, uint64_t addr, uint32_t data, int efd,
		    struct errbuf *eb);
/* Every MSI off and forgotten (a disconnect; the VM's routing goes with the VM). */
void linux_msi_reset(struct domain *d);

#endif
