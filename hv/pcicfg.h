/* SPDX-License-Identifier: MIT */
/*
 * The PCI bus a Linux guest sees, and the config space of each function on
 * it (hv/pcicfg.c).  No KVM and no VFIO here: the device model (pcidev.c)
 * gives each function a snapshot of its real config space, where its BARs
 * sit in guest-physical space, and callbacks; this file decides what the
 * guest reads and what its writes do.  Guest-facing: fuzz_pcicfg drives it.
 *
 * The bus: configuration mechanism #1 (ports 0xCF8 for the address, 0xCFC
 * to 0xCFF for the data), bus 0 only, function 0 of each slot.  Slot 0 is a
 * host bridge (class 06.00, ID 1b36:0008, the ID QEMU's generic host bridge
 * has, which Linux applies no quirk to); passed-through functions take
 * slots 1 and up.  Anything else reads all ones and ignores writes.
 *
 * A function's config space, as the guest sees it:
 *   - IDs, class, revision and subsystem: the device's.
 *   - Command: the guest's memory-space and bus-master bits, handed to the
 *     device model (bus mastering reaches the device); INTx is disabled and
 *     the interrupt pin reads 0, so the guest uses MSI-X.
 *   - BARs: the guest-physical places the device model chose, with the
 *     device's type bits.  Sizing (all ones written) reads back the size
 *     mask.  Any other address written is kept in the register but the
 *     BAR does not move (counted as bar_moves): the bridge's window in ACPI
 *     holds the BARs where they are, and Linux keeps them there.
 *   - Capabilities: only MSI-X, at the device's offset.  Its control word
 *     (enable, function mask) is the guest's; the table size is at most
 *     PCICFG_MAX_VECTORS.  MSI, power management and PCI Express are hidden
 *     (reads 0), and so is the expansion ROM.
 *   - The MSI-X table and PBA in their BAR: the device model traps those
 *     pages and hands accesses here (pcicfg_msix_io).  The table is the
 *     guest's; whenever a vector's effective state changes (enabled,
 *     unmasked, address and data), the msix callback routes it (irqfd) or
 *     stops it.  The PBA reads 0: an interrupt while a vector is masked is
 *     kept by its eventfd and delivered when the vector is unmasked.
 */
#ifndef XENITH_HV_PCICFG_H
#define XENITH_HV_PCICFG_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define PCICFG_MAX_VECTORS 8u
#define PCICFG_BARS 6u
#define PCIBUS_SLOTS 32u
#define PCIBUS_PORT 0xcf8u     /* address register; data at 0xcfc-0xcff */
#define PCIBUS_NR_PORTS 8u
#define PCIBUS_BRIDGE_ID 0x00081b36u /* device 0008, vendor 1b36 */

struct pcicfg_ops {
	/* The guest wrote the command register: memory space and bus mastering as it wants them. */
	void (*command)(void *opaque, bool memory, bool bus_master);
	/*
	 * Vector vec is now delivered (on: at addr/data, an MSI message) or
	 * not (on false: masked, disabled, or the function masked).
	 */
	void (*msix)(void *opaque, unsigned vec, bool on, uint64_t addr, uint32_t data);
};

struct pcicfg_vec {
	uint32_t addr_lo, addr_hi, data, ctrl; /* as the guest wrote them; ctrl bit 0: masked */
	bool on;                               /* what the msix callback last said */
	uint64_t on_addr;
	uint32_t on_data;
};

struct pcicfg {
	/* From the device, at pcicfg_init */
	uint8_t dev[64];                 /* its type-0 header */
	uint64_t bar_gpa[PCICFG_BARS];   /* 0: not given to the guest */
	uint64_t bar_size[PCICFG_BARS];
	uint32_t bar_type[PCICFG_BARS];  /* the low 4 bits of a memory BAR */
	bool bar_hi[PCICFG_BARS];        /* the upper half of the 64-bit BAR before it */
	unsigned msix_cap;               /* offset of the capability, 0: none */
	unsigned nvec;                   /* table entries the guest sees */
	unsigned table_bar, pba_bar;
	uint32_t table_off, pba_off;     /* within their BARs */
	uint32_t table_reg, pba_reg;     /* the capability's dwords as the device has them */
	unsigned table_entries;          /* the device's, all trapped; those past nvec read 0 */
	const struct pcicfg_ops *ops;
	void *opaque;

	/* The guest's state: reset at every build (pcicfg_reset) */
	uint16_t command;
	uint8_t int_line;
	uint32_t bar[PCICFG_BARS];
	uint16_t msix_ctrl;              /* bits 15 (enable) and 14 (function mask) */
	struct pcicfg_vec vec[PCICFG_MAX_VECTORS];
	uint64_t bar_moves;              /* addresses written that are not the BAR's place */
};

/*
 * Sets c up from the device's first 256 bytes of config space (cfg), the
 * BARs' places and sizes (gpa[b] 0: not given; sizes powers of two), and
 * the callbacks.  Returns 0, or -EINVAL and why (a header type other than
 * 0, a broken capability list, an MSI-X table or PBA outside a BAR the
 * guest is given); pcicfg_reset follows.
 */
int pcicfg_init(struct pcicfg *c, const uint8_t cfg[256], const uint64_t gpa[PCICFG_BARS],
		const uint64_t size[PCICFG_BARS], const struct pcicfg_ops *ops, void *opaque,
		const char **why);
/* Power-on state for the guest: BARs at their places, command 0, MSI-X off and every vector masked. */
void pcicfg_reset(struct pcicfg *c);
/* A config access of len 1, 2 or 4 bytes at off (naturally aligned; else reads all ones, writes nothing). */
uint32_t pcicfg_read(struct pcicfg *c, unsigned off, unsigned len);
void pcicfg_write(struct pcicfg *c, unsigned off, unsigned len, uint32_t val);
/*
 * The page-aligned part of BAR bar that holds the MSI-X table or the PBA
 * (start and length within the BAR); false when the BAR holds neither.
 * When both are in it, one range covers both.
 */
bool pcicfg_msix_pages(const struct pcicfg *c, unsigned bar, uint64_t *start, uint64_t *len);
/*
 * An access at offset off of BAR bar, inside what pcicfg_msix_pages gave:
 * true when it was the table's or the PBA's (done here), false when it is
 * another register of the device's in those pages (the caller forwards it).
 */
bool pcicfg_msix_io(struct pcicfg *c, unsigned bar, uint64_t off, void *data, unsigned len, bool write);

/* Slot 0's host bridge and the functions in the other slots. */
struct pcibus {
	pthread_mutex_t lock;            /* the vCPUs share the address register and the functions */
	uint32_t addr;                   /* the last value written to 0xcf8 */
	struct pcicfg *slot[PCIBUS_SLOTS];
	unsigned nslots;                 /* slots 1 .. nslots-1 are taken */
};

void pcibus_init(struct pcibus *b);
void pcibus_fini(struct pcibus *b);
/* Puts c in the next free slot (*slot); -ENOSPC when all 31 are taken. */
int pcibus_add(struct pcibus *b, struct pcicfg *c, unsigned *slot);
/* Empties the slot (its function is going away): it reads as nothing from now on. */
void pcibus_remove(struct pcibus *b, unsigned slot);
/* A port access at PCIBUS_PORT + off (off 0 to 7) of size 1, 2 or 4: data holds size bytes. */
void pcibus_port(struct pcibus *b, unsigned off, unsigned size, bool write, uint8_t *data);
/* The same for a function's MSI-X pages, under the bus's lock (see pcicfg_msix_io). */
bool pcibus_msix_io(struct pcibus *b, struct pcicfg *c, unsigned bar, uint64_t off, void *data, unsigned len,
		    bool write);

#endif
