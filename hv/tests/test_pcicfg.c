// SPDX-License-Identifier: MIT
/*
 * unit: a Linux guest's PCI bus and a passed-through function's config
 * space and MSI-X table (hv/pcicfg.c), on a function laid out like QEMU's
 * NVMe VF: 1b36:0010, class 01.08.02, a PM capability at 0x40, MSI-X (64
 * entries, table at BAR0 + 0x2000, PBA at BAR0 + 0x3000) at 0x70 and PCI
 * Express at 0x80; BAR0 a 64-bit memory BAR of 16 KiB placed at
 * 0x10000000, BAR1 its upper half.  The bus through ports 0xcf8-0xcff,
 * the header the guest sees, BAR sizing, the command register, the MSI-X
 * capability and table and when the msix callback fires, what
 * pcicfg_init refuses, and pcicfg_reset.  fuzz/fuzz_pcicfg.c drives the
 * same code with random sequences.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "pcicfg.h"

#define GPA0 0x10000000ull
#define BAR0_SIZE 0x4000ull
#define CAP_PM 0x40u
#define CAP_MSIX 0x70u
#define CAP_EXP 0x80u
#define TABLE 0x2000u
#define PBA 0x3000u
#define MSIX_ENABLE 0x8000u
#define MSIX_MASKALL 0x4000u

struct call {
	unsigned vec;
	bool on;
	uint64_t addr;
	uint32_t data;
};

struct rec {
	unsigned ncommand;
	bool memory, bus_master;
	unsigned nmsix;
	struct call msix[32];
};

static void on_command(void *opaque, bool memory, bool bus_master)
{
	struct rec *r = opaque;

	r->ncommand++;
	r->memory = memory;
	r->bus_master = bus_master;
}

static void on_msix(void *opaque, unsigned vec, bool on, uint64_t addr, uint32_t data)
{
	struct rec *r = opaque;

	assert_true(r->nmsix < sizeof(r->msix) / sizeof(r->msix[0]));
	r->msix[r->nmsix++] = (struct call){ vec, on, addr, data };
}

static const struct pcicfg_ops ops = { on_command, on_msix };

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

/* QEMU's NVMe VF, as the host's config space has it. */
static void nvme_vf(uint8_t cfg[256], uint64_t gpa[PCICFG_BARS], uint64_t size[PCICFG_BARS])
{
	memset(cfg, 0, 256);
	put32(cfg + 0x00, 0x00101b36);  /* device 0010, vendor 1b36 */
	put16(cfg + 0x04, 0x0000);      /* command */
	put16(cfg + 0x06, 0x0010);      /* status: capability list */
	put32(cfg + 0x08, 0x01080202);  /* class 01.08.02, revision 2 */
	cfg[0x0e] = 0x80;               /* header type 0, multifunction */
	put32(cfg + 0x10, 0xfe800004);  /* BAR0: 64-bit memory, where the host has it */
	put32(cfg + 0x14, 0x00000000);  /* BAR1: its upper half */
	put32(cfg + 0x2c, 0x11001af4);  /* subsystem */
	cfg[0x34] = CAP_PM;
	cfg[0x3c] = 0x0b;               /* interrupt line */
	cfg[0x3d] = 0x01;               /* interrupt pin INTA */
	/* PM -> MSI-X -> PCIe -> end */
	cfg[CAP_PM] = 0x01;
	cfg[CAP_PM + 1] = CAP_MSIX;
	put16(cfg + CAP_PM + 2, 0x0003);
	cfg[CAP_MSIX] = 0x11;
	cfg[CAP_MSIX + 1] = CAP_EXP;
	put16(cfg + CAP_MSIX + 2, 63);  /* 64 entries */
	put32(cfg + CAP_MSIX + 4, TABLE | 0);
	put32(cfg + CAP_MSIX + 8, PBA | 0);
	cfg[CAP_EXP] = 0x10;
	cfg[CAP_EXP + 1] = 0x00;
	put16(cfg + CAP_EXP + 2, 0x0002);
	memset(gpa, 0, PCICFG_BARS * sizeof(gpa[0]));
	memset(size, 0, PCICFG_BARS * sizeof(size[0]));
	gpa[0] = GPA0;
	size[0] = BAR0_SIZE;
}

static void setup(struct pcicfg *c, struct rec *r)
{
	uint8_t cfg[256];
	uint64_t gpa[PCICFG_BARS], size[PCICFG_BARS];
	const char *why = NULL;

	memset(r, 0, sizeof(*r));
	nvme_vf(cfg, gpa, size);
	assert_int_equal(pcicfg_init(c, cfg, gpa, size, &ops, r, &why), 0);
}

/* ---- the bus ---- */

static void port_out(struct pcibus *b, unsigned off, unsigned size, uint32_t v)
{
	uint8_t data[4];

	memcpy(data, &v, sizeof(data));
	pcibus_port(b, off, size, true, data);
}

static uint32_t port_in(struct pcibus *b, unsigned off, unsigned size)
{
	uint32_t v = 0;

	pcibus_port(b, off, size, false, (uint8_t *)&v);
	return v;
}

/* A config read through mechanism #1: the address to 0xcf8, then size bytes from 0xcfc + (reg & 3). */
static uint32_t cfg_in(struct pcibus *b, uint32_t addr, unsigned reg, unsigned size)
{
	port_out(b, 0, 4, addr | (reg & 0xfc));
	return port_in(b, 4 + (reg & 3), size);
}

#define BDF(bus, dev, fn) (0x80000000u | (uint32_t)(bus) << 16 | (uint32_t)(dev) << 11 | (uint32_t)(fn) << 8)

static void test_address_latch_reads_back_masked_and_ignores_byte_writes(void **state)
{
	struct pcibus b;

	(void)state;
	pcibus_init(&b);
	port_out(&b, 0, 4, 0xffffffff);
	assert_int_equal(port_in(&b, 0, 4), 0x80fffffc); /* reserved bits 24-30 and 0-1 read 0 */
	port_out(&b, 0, 4, BDF(0, 1, 0) | 0x10);
	assert_int_equal(port_in(&b, 0, 4), 0x80000810);
	/* Linux's type-1 probe writes a byte at 0xcfb: the latch keeps its value */
	port_out(&b, 3, 1, 0x01);
	assert_int_equal(port_in(&b, 0, 4), 0x80000810);
	port_out(&b, 2, 2, 0xabcd);
	assert_int_equal(port_in(&b, 0, 4), 0x80000810);
	/* and narrower reads of the address register read all ones */
	assert_int_equal(port_in(&b, 0, 2), 0xffff);
	assert_int_equal(port_in(&b, 3, 1), 0xff);
	pcibus_fini(&b);
}

static void test_bus_routes_the_bridge_the_function_and_nothing_else(void **state)
{
	struct pcibus b;
	struct pcicfg c;
	struct rec r;
	unsigned slot = 0;

	(void)state;
	setup(&c, &r);
	pcibus_init(&b);
	assert_int_equal(pcibus_add(&b, &c, &slot), 0);
	assert_int_equal(slot, 1);
	/* 00.0: the host bridge */
	assert_int_equal(cfg_in(&b, BDF(0, 0, 0), 0x00, 4), PCIBUS_BRIDGE_ID);
	assert_int_equal(cfg_in(&b, BDF(0, 0, 0), 0x0a, 2), 0x0600);
	assert_int_equal(cfg_in(&b, BDF(0, 0, 0), 0x08, 4), 0x06000000);
	/* 00.1's function */
	assert_int_equal(cfg_in(&b, BDF(0, 1, 0), 0x00, 4), 0x00101b36);
	assert_int_equal(cfg_in(&b, BDF(0, 1, 0), 0x08, 4), 0x01080202);
	/* a 2-byte read at 0xcfe: the device ID */
	assert_int_equal(cfg_in(&b, BDF(0, 1, 0), 0x02, 2), 0x0010);
	assert_int_equal(cfg_in(&b, BDF(0, 1, 0), 0x01, 1), 0x1b);
	/* an empty slot, function 1, bus 1, the enable bit clear: all ones */
	assert_int_equal(cfg_in(&b, BDF(0, 2, 0), 0x00, 4), 0xffffffff);
	assert_int_equal(cfg_in(&b, BDF(0, 31, 0), 0x00, 4), 0xffffffff);
	assert_int_equal(cfg_in(&b, BDF(0, 1, 1), 0x00, 4), 0xffffffff);
	assert_int_equal(cfg_in(&b, BDF(0, 0, 7), 0x00, 4), 0xffffffff);
	assert_int_equal(cfg_in(&b, BDF(1, 1, 0), 0x00, 4), 0xffffffff);
	assert_int_equal(cfg_in(&b, BDF(1, 0, 0), 0x00, 4), 0xffffffff);
	assert_int_equal(cfg_in(&b, BDF(0, 1, 0) & ~0x80000000u, 0x00, 4), 0xffffffff);
	assert_int_equal(cfg_in(&b, BDF(0, 0, 0) & ~0x80000000u, 0x00, 4), 0xffffffff);
	pcibus_fini(&b);
}

static void test_access_across_the_data_dword_is_refused(void **state)
{
	struct pcibus b;
	struct pcicfg c;
	struct rec r;
	unsigned slot;

	(void)state;
	setup(&c, &r);
	pcibus_init(&b);
	assert_int_equal(pcibus_add(&b, &c, &slot), 0);
	/* the bridge: 2 bytes at 0xcff, 4 at 0xcfe, 4 at 0xcfd */
	port_out(&b, 0, 4, BDF(0, 0, 0));
	assert_int_equal(port_in(&b, 7, 2), 0xffff);
	assert_int_equal(port_in(&b, 6, 4), 0xffffffff);
	assert_int_equal(port_in(&b, 5, 4), 0xffffffff);
	assert_int_equal(port_in(&b, 6, 2), 0x0008); /* not across: the bridge's device ID */
	/* the function: the same, and a write across the command register does nothing */
	port_out(&b, 0, 4, BDF(0, 1, 0));
	assert_int_equal(port_in(&b, 7, 2), 0xffff);
	assert_int_equal(port_in(&b, 6, 4), 0xffffffff);
	port_out(&b, 0, 4, BDF(0, 1, 0) | 0x04);
	port_out(&b, 7, 2, 0x0606);
	port_out(&b, 6, 4, 0x00060006);
	port_out(&b, 5, 4, 0x06060606);
	assert_int_equal(r.ncommand, 0);
	assert_int_equal(port_in(&b, 4, 2), 0x0400);
	/* a size the port never has: nothing read */
	assert_int_equal(port_in(&b, 4, 3), 0);
	pcibus_fini(&b);
}

static void test_writes_through_the_bus_reach_the_function_not_the_bridge(void **state)
{
	struct pcibus b;
	struct pcicfg c;
	struct rec r;
	unsigned slot;

	(void)state;
	setup(&c, &r);
	pcibus_init(&b);
	assert_int_equal(pcibus_add(&b, &c, &slot), 0);
	port_out(&b, 0, 4, BDF(0, 1, 0) | 0x04);
	port_out(&b, 4, 2, 0x0006);
	assert_int_equal(r.ncommand, 1);
	assert_int_equal(cfg_in(&b, BDF(0, 1, 0), 0x04, 2), 0x0406);
	/* the bridge ignores writes; so do the other functions of the slot */
	port_out(&b, 0, 4, BDF(0, 0, 0) | 0x04);
	port_out(&b, 4, 4, 0xffffffff);
	port_out(&b, 0, 4, BDF(0, 1, 1) | 0x04);
	port_out(&b, 4, 2, 0x0000);
	assert_int_equal(r.ncommand, 1);
	assert_int_equal(cfg_in(&b, BDF(0, 0, 0), 0x04, 4), 0);
	assert_int_equal(cfg_in(&b, BDF(0, 1, 0), 0x04, 2), 0x0406);
	pcibus_fini(&b);
}

static void test_bus_takes_31_functions_then_refuses(void **state)
{
	static struct pcicfg c;
	struct pcibus b;
	struct rec r;
	unsigned slot = 0;

	(void)state;
	setup(&c, &r);
	pcibus_init(&b);
	for (unsigned i = 1; i < PCIBUS_SLOTS; i++) {
		assert_int_equal(pcibus_add(&b, &c, &slot), 0);
		assert_int_equal(slot, i);
	}
	slot = 99;
	assert_int_equal(pcibus_add(&b, &c, &slot), -ENOSPC);
	assert_int_equal(slot, 99);
	assert_int_equal(cfg_in(&b, BDF(0, 31, 0), 0x00, 4), 0x00101b36);
	pcibus_fini(&b);
}

static void test_removed_slot_reads_nothing_and_takes_no_writes(void **state)
{
	struct pcibus b;
	struct pcicfg c1, c2;
	struct rec r1, r2;
	unsigned slot;

	(void)state;
	setup(&c1, &r1);
	setup(&c2, &r2);
	pcibus_init(&b);
	assert_int_equal(pcibus_add(&b, &c1, &slot), 0);
	assert_int_equal(pcibus_add(&b, &c2, &slot), 0);
	assert_int_equal(slot, 2);
	pcibus_remove(&b, 1);
	assert_int_equal(cfg_in(&b, BDF(0, 1, 0), 0x00, 4), 0xffffffff);
	assert_int_equal(cfg_in(&b, BDF(0, 1, 0), 0x02, 2), 0xffff);
	port_out(&b, 0, 4, BDF(0, 1, 0) | 0x04);
	port_out(&b, 4, 2, 0x0006);
	assert_int_equal(r1.ncommand, 0);
	assert_int_equal(c1.command, 0);
	/* the others stay: the bridge and slot 2 */
	assert_int_equal(cfg_in(&b, BDF(0, 0, 0), 0x00, 4), PCIBUS_BRIDGE_ID);
	assert_int_equal(cfg_in(&b, BDF(0, 2, 0), 0x00, 4), 0x00101b36);
	/* the bridge cannot be removed, nor a slot past the bus */
	pcibus_remove(&b, 0);
	pcibus_remove(&b, PCIBUS_SLOTS);
	assert_int_equal(cfg_in(&b, BDF(0, 0, 0), 0x00, 4), PCIBUS_BRIDGE_ID);
	pcibus_fini(&b);
}

/* ---- the header ---- */

static void test_header_is_single_function_type_0_without_intx(void **state)
{
	struct pcicfg c;
	struct rec r;

	(void)state;
	setup(&c, &r);
	/* the device has the multifunction bit: the guest sees a single function */
	assert_int_equal(pcicfg_read(&c, 0x0e, 1), 0);
	assert_int_equal(pcicfg_read(&c, 0x0c, 4) >> 16, 0); /* header type and BIST */
	/* IDs, class and subsystem are the device's */
	assert_int_equal(pcicfg_read(&c, 0x00, 4), 0x00101b36);
	assert_int_equal(pcicfg_read(&c, 0x08, 4), 0x01080202);
	assert_int_equal(pcicfg_read(&c, 0x2c, 4), 0x11001af4);
	/* no INTx: the pin reads 0 though the device has INTA; the line is the guest's */
	assert_int_equal(pcicfg_read(&c, 0x3d, 1), 0);
	assert_int_equal(pcicfg_read(&c, 0x3c, 1), 0);
	pcicfg_write(&c, 0x3c, 1, 0x0b);
	assert_int_equal(pcicfg_read(&c, 0x3c, 4), 0x0b);
	pcicfg_write(&c, 0x3c, 4, 0xffffff0a); /* the pin is read-only */
	assert_int_equal(pcicfg_read(&c, 0x3c, 4), 0x0a);
}

static void test_only_msix_is_in_the_capability_list(void **state)
{
	struct pcicfg c;
	struct rec r;

	(void)state;
	setup(&c, &r);
	assert_int_equal(pcicfg_read(&c, 0x06, 2) & 0x10, 0x10); /* status: capability list */
	assert_int_equal(pcicfg_read(&c, 0x34, 1), CAP_MSIX);
	assert_int_equal(pcicfg_read(&c, 0x34, 4), CAP_MSIX);
	assert_int_equal(pcicfg_read(&c, CAP_MSIX, 1), 0x11);
	assert_int_equal(pcicfg_read(&c, CAP_MSIX + 1, 1), 0); /* the end of the list */
	/* PM and PCI Express are hidden */
	assert_int_equal(pcicfg_read(&c, CAP_PM, 4), 0);
	assert_int_equal(pcicfg_read(&c, CAP_PM + 4, 4), 0);
	assert_int_equal(pcicfg_read(&c, CAP_EXP, 4), 0);
	assert_int_equal(pcicfg_read(&c, CAP_EXP + 4, 4), 0);
	assert_int_equal(pcicfg_read(&c, 0xfc, 4), 0);
	/* the table and PBA registers are the device's */
	assert_int_equal(pcicfg_read(&c, CAP_MSIX + 4, 4), TABLE);
	assert_int_equal(pcicfg_read(&c, CAP_MSIX + 8, 4), PBA);
}

static void test_expansion_rom_is_hidden(void **state)
{
	struct pcicfg c;
	struct rec r;

	(void)state;
	setup(&c, &r);
	assert_int_equal(pcicfg_read(&c, 0x30, 4), 0);
	pcicfg_write(&c, 0x30, 4, 0xfffff800);
	assert_int_equal(pcicfg_read(&c, 0x30, 4), 0);
	pcicfg_write(&c, 0x30, 4, 0xfffff801);
	assert_int_equal(pcicfg_read(&c, 0x30, 4), 0);
}

static void test_misaligned_or_odd_sized_config_access_reads_ones_and_writes_nothing(void **state)
{
	struct pcicfg c;
	struct rec r;

	(void)state;
	setup(&c, &r);
	assert_int_equal(pcicfg_read(&c, 0x02, 4), 0xffffffff);
	assert_int_equal(pcicfg_read(&c, 0x01, 2), 0xffff);
	assert_int_equal(pcicfg_read(&c, 0x00, 3), 0xffffffff);
	assert_int_equal(pcicfg_read(&c, 0x100, 4), 0xffffffff);
	pcicfg_write(&c, 0x03, 2, 0x0606);  /* across into the command register */
	pcicfg_write(&c, 0x02, 4, 0x00060006);
	pcicfg_write(&c, 0x04, 3, 0x000006);
	assert_int_equal(r.ncommand, 0);
	assert_int_equal(pcicfg_read(&c, 0x04, 2), 0x0400);
}

/* ---- BARs ---- */

static void test_bar_sizing_reads_the_size_mask_and_restores(void **state)
{
	struct pcicfg c;
	struct rec r;

	(void)state;
	setup(&c, &r);
	assert_int_equal(pcicfg_read(&c, 0x10, 4), 0x10000004); /* the place, with the device's type */
	assert_int_equal(pcicfg_read(&c, 0x14, 4), 0);
	/* Linux's __pci_read_base: all ones, read, the original back; then the upper half */
	pcicfg_write(&c, 0x10, 4, 0xffffffff);
	assert_int_equal(pcicfg_read(&c, 0x10, 4), 0xffffc004); /* 16 KiB, 64-bit memory */
	pcicfg_write(&c, 0x10, 4, 0x10000004);
	assert_int_equal(pcicfg_read(&c, 0x10, 4), 0x10000004);
	pcicfg_write(&c, 0x14, 4, 0xffffffff);
	assert_int_equal(pcicfg_read(&c, 0x14, 4), 0xffffffff);
	pcicfg_write(&c, 0x14, 4, 0);
	assert_int_equal(pcicfg_read(&c, 0x14, 4), 0);
	assert_int_equal(c.bar_moves, 0);
	/* BARs the guest is not given read 0 and stay 0 */
	for (unsigned off = 0x18; off <= 0x24; off += 4) {
		pcicfg_write(&c, off, 4, 0xffffffff);
		assert_int_equal(pcicfg_read(&c, off, 4), 0);
	}
	assert_int_equal(c.bar_moves, 0);
	assert_int_equal(r.ncommand + r.nmsix, 0);
}

static void test_bar_written_elsewhere_keeps_the_address_and_counts_a_move(void **state)
{
	struct pcicfg c;
	struct rec r;

	(void)state;
	setup(&c, &r);
	pcicfg_write(&c, 0x10, 4, 0x20000000);
	assert_int_equal(c.bar_moves, 1);
	assert_int_equal(pcicfg_read(&c, 0x10, 4), 0x20000004); /* the type bits stay */
	/* the address bits are kept, the ones below the size are not */
	pcicfg_write(&c, 0x10, 4, 0x30001fff);
	assert_int_equal(c.bar_moves, 2);
	assert_int_equal(pcicfg_read(&c, 0x10, 4), 0x30000004);
	pcicfg_write(&c, 0x14, 4, 0x1);
	assert_int_equal(c.bar_moves, 3);
	assert_int_equal(pcicfg_read(&c, 0x14, 4), 1);
	/* the BAR itself did not move: the MSI-X pages are where they were */
	assert_int_equal(c.bar_gpa[0], GPA0);
	/* back to its place: not a move */
	pcicfg_write(&c, 0x14, 4, 0);
	pcicfg_write(&c, 0x10, 4, 0x10000000);
	assert_int_equal(c.bar_moves, 3);
	assert_int_equal(pcicfg_read(&c, 0x10, 4), 0x10000004);
}

static void test_bar_byte_writes_keep_the_type_bits(void **state)
{
	struct pcicfg c;
	struct rec r;

	(void)state;
	setup(&c, &r);
	pcicfg_write(&c, 0x10, 1, 0xff);
	assert_int_equal(pcicfg_read(&c, 0x10, 4), 0x10000004);
	pcicfg_write(&c, 0x13, 1, 0x20);
	assert_int_equal(pcicfg_read(&c, 0x10, 4), 0x20000004);
	assert_int_equal(c.bar_moves, 1);
}

/* ---- command ---- */

static void test_command_hands_memory_and_bus_master_once_per_change(void **state)
{
	struct pcicfg c;
	struct rec r;

	(void)state;
	setup(&c, &r);
	assert_int_equal(pcicfg_read(&c, 0x04, 2), 0x0400); /* INTx disabled from the start */
	pcicfg_write(&c, 0x04, 2, 0x0006);
	assert_int_equal(r.ncommand, 1);
	assert_true(r.memory);
	assert_true(r.bus_master);
	/* the same again: no call */
	pcicfg_write(&c, 0x04, 2, 0x0006);
	assert_int_equal(r.ncommand, 1);
	/* bits it does not hand over (I/O, INTx disable cleared, SERR) change nothing */
	pcicfg_write(&c, 0x04, 2, 0x0107);
	assert_int_equal(r.ncommand, 1);
	assert_int_equal(pcicfg_read(&c, 0x04, 2), 0x0406);
	/* a write to the status half only: not the command register */
	pcicfg_write(&c, 0x06, 2, 0x0000);
	assert_int_equal(r.ncommand, 1);
	/* memory off, bus master kept */
	pcicfg_write(&c, 0x04, 4, 0xffff0004);
	assert_int_equal(r.ncommand, 2);
	assert_false(r.memory);
	assert_true(r.bus_master);
	assert_int_equal(pcicfg_read(&c, 0x04, 2), 0x0404);
	assert_int_equal(pcicfg_read(&c, 0x06, 2) & 0x10, 0x10);
}

/* ---- MSI-X ---- */

static bool mio(struct pcicfg *c, uint64_t off, void *data, unsigned len, bool write)
{
	return pcicfg_msix_io(c, 0, off, data, len, write);
}

static void mwrite32(struct pcicfg *c, uint64_t off, uint32_t v)
{
	assert_true(mio(c, off, &v, 4, true));
}

static uint32_t mread32(struct pcicfg *c, uint64_t off)
{
	uint32_t v = 0x5a5a5a5a;

	assert_true(mio(c, off, &v, 4, false));
	return v;
}

static uint16_t msix_ctrl(struct pcicfg *c)
{
	return (uint16_t)pcicfg_read(c, CAP_MSIX + 2, 2);
}

static void test_msix_table_size_is_capped_and_pages_cover_table_and_pba(void **state)
{
	struct pcicfg c;
	struct rec r;
	uint64_t start = 1, len = 1;

	(void)state;
	setup(&c, &r);
	assert_int_equal(msix_ctrl(&c) & 0x7ff, PCICFG_MAX_VECTORS - 1); /* 8, not the device's 64 */
	assert_int_equal(pcicfg_read(&c, CAP_MSIX, 4), 0x00070011);
	assert_int_equal(c.nvec, PCICFG_MAX_VECTORS);
	assert_int_equal(c.table_entries, 64);
	assert_true(pcicfg_msix_pages(&c, 0, &start, &len));
	assert_int_equal(start, 0x2000);
	assert_int_equal(len, 0x2000);
	for (unsigned bar = 1; bar < PCICFG_BARS; bar++)
		assert_false(pcicfg_msix_pages(&c, bar, &start, &len));
}

static void program(struct pcicfg *c, unsigned v, uint32_t lo, uint32_t hi, uint32_t data)
{
	mwrite32(c, TABLE + 16 * v, lo);
	mwrite32(c, TABLE + 16 * v + 4, hi);
	mwrite32(c, TABLE + 16 * v + 8, data);
}

static void assert_call(const struct rec *r, unsigned i, unsigned vec, bool on, uint64_t addr, uint32_t data)
{
	assert_true(i < r->nmsix);
	assert_int_equal(r->msix[i].vec, vec);
	assert_int_equal(r->msix[i].on, on);
	if (on) {
		assert_int_equal(r->msix[i].addr, addr);
		assert_int_equal(r->msix[i].data, data);
	}
}

static void test_msix_vector_turns_on_only_when_enabled_unmasked_and_not_function_masked(void **state)
{
	struct pcicfg c;
	struct rec r;

	(void)state;
	setup(&c, &r);
	/* programmed while masked (every vector is after reset): nothing */
	assert_int_equal(mread32(&c, TABLE + 12), 1);
	program(&c, 0, 0xfee00000, 0, 0x4021);
	assert_int_equal(r.nmsix, 0);
	assert_int_equal(mread32(&c, TABLE), 0xfee00000);
	assert_int_equal(mread32(&c, TABLE + 8), 0x4021);
	/* unmasked while MSI-X is off: nothing */
	mwrite32(&c, TABLE + 12, 0);
	assert_int_equal(r.nmsix, 0);
	assert_int_equal(mread32(&c, TABLE + 12), 0);
	/* enabled: vector 0, at what was programmed; the masked others stay off */
	pcicfg_write(&c, CAP_MSIX + 2, 2, MSIX_ENABLE);
	assert_int_equal(r.nmsix, 1);
	assert_call(&r, 0, 0, true, 0xfee00000, 0x4021);
	assert_int_equal(msix_ctrl(&c), MSIX_ENABLE | 7);
	/* the function mask turns it off, clearing it on again */
	pcicfg_write(&c, CAP_MSIX + 2, 2, MSIX_ENABLE | MSIX_MASKALL);
	assert_int_equal(r.nmsix, 2);
	assert_call(&r, 1, 0, false, 0, 0);
	assert_int_equal(msix_ctrl(&c), MSIX_ENABLE | MSIX_MASKALL | 7);
	pcicfg_write(&c, CAP_MSIX + 3, 1, MSIX_ENABLE >> 8);
	assert_int_equal(r.nmsix, 3);
	assert_call(&r, 2, 0, true, 0xfee00000, 0x4021);
	/* the same control again: nothing */
	pcicfg_write(&c, CAP_MSIX, 4, (uint32_t)MSIX_ENABLE << 16 | 0xffff);
	assert_int_equal(r.nmsix, 3);
	/* new data while on: reported; the same data again: not */
	mwrite32(&c, TABLE + 8, 0x4022);
	assert_int_equal(r.nmsix, 4);
	assert_call(&r, 3, 0, true, 0xfee00000, 0x4022);
	mwrite32(&c, TABLE + 8, 0x4022);
	assert_int_equal(r.nmsix, 4);
	/* a new address while on; its low two bits are not kept */
	mwrite32(&c, TABLE + 4, 0x1);
	assert_int_equal(r.nmsix, 5);
	assert_call(&r, 4, 0, true, 0x1fee00000ull, 0x4022);
	mwrite32(&c, TABLE, 0xfee01003);
	assert_int_equal(r.nmsix, 6);
	assert_call(&r, 5, 0, true, 0x1fee01000ull, 0x4022);
	assert_int_equal(mread32(&c, TABLE), 0xfee01000);
	/* masking the entry turns it off; only bit 0 of its control is kept */
	mwrite32(&c, TABLE + 12, 0xffffffff);
	assert_int_equal(r.nmsix, 7);
	assert_call(&r, 6, 0, false, 0, 0);
	assert_int_equal(mread32(&c, TABLE + 12), 1);
	/* disabling MSI-X with everything masked: nothing to turn off */
	pcicfg_write(&c, CAP_MSIX + 2, 2, 0);
	assert_int_equal(r.nmsix, 7);
	assert_int_equal(msix_ctrl(&c), 7);
}

static void test_msix_enable_turns_on_every_unmasked_vector_and_disable_turns_them_off(void **state)
{
	struct pcicfg c;
	struct rec r;

	(void)state;
	setup(&c, &r);
	for (unsigned v = 0; v < PCICFG_MAX_VECTORS; v++) {
		program(&c, v, 0xfee00000 + (v << 12), 0, 0x40 + v);
		if (v != 3)
			mwrite32(&c, TABLE + 16 * v + 12, 0);
	}
	assert_int_equal(r.nmsix, 0);
	pcicfg_write(&c, CAP_MSIX + 2, 2, MSIX_ENABLE);
	assert_int_equal(r.nmsix, PCICFG_MAX_VECTORS - 1);
	for (unsigned i = 0, v = 0; v < PCICFG_MAX_VECTORS; v++) {
		if (v == 3)
			continue;
		assert_call(&r, i++, v, true, 0xfee00000 + (v << 12), 0x40 + v);
	}
	r.nmsix = 0;
	pcicfg_write(&c, CAP_MSIX + 2, 2, 0);
	assert_int_equal(r.nmsix, PCICFG_MAX_VECTORS - 1);
	for (unsigned i = 0; i < r.nmsix; i++)
		assert_false(r.msix[i].on);
}

static void test_msix_entries_past_what_the_guest_sees_are_masked_and_empty(void **state)
{
	struct pcicfg c;
	struct rec r;
	uint64_t e10 = TABLE + 16 * 10, last = TABLE + 16 * 63;

	(void)state;
	setup(&c, &r);
	pcicfg_write(&c, CAP_MSIX + 2, 2, MSIX_ENABLE);
	for (uint64_t e = e10; e <= last; e += 16 * 53) {
		assert_int_equal(mread32(&c, e), 0);
		assert_int_equal(mread32(&c, e + 4), 0);
		assert_int_equal(mread32(&c, e + 8), 0);
		assert_int_equal(mread32(&c, e + 12), 1);
		/* programming and unmasking one: nothing happens, nothing is kept */
		program(&c, (unsigned)(e - TABLE) / 16, 0xfee00000, 0, 0x4021);
		mwrite32(&c, e + 12, 0);
		assert_int_equal(r.nmsix, 0);
		assert_int_equal(mread32(&c, e), 0);
		assert_int_equal(mread32(&c, e + 8), 0);
		assert_int_equal(mread32(&c, e + 12), 1);
	}
	/* entry 8, just past the last the guest sees */
	mwrite32(&c, TABLE + 16 * 8 + 12, 0);
	assert_int_equal(mread32(&c, TABLE + 16 * 8 + 12), 1);
	assert_int_equal(r.nmsix, 0);
	/* and the guest's 8 entries are untouched */
	for (unsigned v = 0; v < PCICFG_MAX_VECTORS; v++)
		assert_int_equal(mread32(&c, TABLE + 16 * v + 12), 1);
}

static void test_msix_pba_reads_0_and_the_rest_of_the_pages_is_the_devices(void **state)
{
	struct pcicfg c;
	struct rec r;
	uint64_t q = ~0ull;
	uint8_t b = 0xff;

	(void)state;
	setup(&c, &r);
	assert_true(mio(&c, PBA, &q, 8, false));
	assert_int_equal(q, 0);
	assert_int_equal(mread32(&c, PBA + 4), 0);
	assert_true(mio(&c, PBA + 7, &b, 1, false));
	assert_int_equal(b, 0);
	/* a PBA write is taken and changes nothing */
	q = ~0ull;
	assert_true(mio(&c, PBA, &q, 8, true));
	assert_int_equal(mread32(&c, PBA), 0);
	/* past the table (64 entries: 0x2000-0x23ff) and the PBA (0x3000-0x3007): the device's */
	q = 0x1122334455667788ull;
	assert_false(mio(&c, 0x2800, &q, 4, false));
	assert_false(mio(&c, 0x2800, &q, 4, true));
	assert_false(mio(&c, TABLE + 0x400, &q, 4, false));
	assert_false(mio(&c, PBA + 8, &q, 8, false));
	assert_false(mio(&c, 0x3ffc, &q, 4, false));
	assert_int_equal(q, 0x1122334455667788ull); /* not touched */
	/* the last dword of the table is the table's */
	assert_int_equal(mread32(&c, TABLE + 0x3fc), 1);
	/* another BAR: neither */
	assert_false(pcicfg_msix_io(&c, 1, TABLE, &q, 4, false));
	assert_false(pcicfg_msix_io(&c, 2, TABLE, &q, 4, false));
	assert_int_equal(r.nmsix, 0);
}

static void test_msix_table_odd_accesses_read_ones_and_write_nothing(void **state)
{
	struct pcicfg c;
	struct rec r;
	uint16_t h = 0;
	uint8_t b = 0;
	uint64_t q = 0;

	(void)state;
	setup(&c, &r);
	pcicfg_write(&c, CAP_MSIX + 2, 2, MSIX_ENABLE);
	program(&c, 0, 0xfee00000, 0, 0x4021);
	/* 2 bytes at the mask: refused, so the vector stays masked */
	assert_true(mio(&c, TABLE + 12, &h, 2, true));
	assert_true(mio(&c, TABLE + 12, &b, 1, true));
	assert_int_equal(r.nmsix, 0);
	assert_int_equal(mread32(&c, TABLE + 12), 1);
	/* 2 and 1 bytes read all ones */
	assert_true(mio(&c, TABLE, &h, 2, false));
	assert_int_equal(h, 0xffff);
	assert_true(mio(&c, TABLE + 8, &b, 1, false));
	assert_int_equal(b, 0xff);
	/* a misaligned dword and an 8-byte access not on 8 bytes */
	h = 0;
	assert_true(mio(&c, TABLE + 2, &q, 4, false));
	assert_int_equal((uint32_t)q, 0xffffffff);
	q = 0;
	assert_true(mio(&c, TABLE + 12, &q, 8, false));
	assert_int_equal(q, ~0ull);
	q = 0;
	assert_true(mio(&c, TABLE + 12, &q, 8, true)); /* would unmask 0, then write entry 1 */
	assert_true(mio(&c, TABLE + 10, &q, 4, true));
	assert_int_equal(r.nmsix, 0);
	assert_int_equal(mread32(&c, TABLE + 12), 1);
	assert_int_equal(mread32(&c, TABLE + 8), 0x4021);
	/* an 8-byte access running past the table */
	q = 0;
	assert_true(mio(&c, TABLE + 0x3fc, &q, 8, false));
	assert_int_equal(q, ~0ull);
}

static void test_msix_table_takes_8_byte_accesses(void **state)
{
	struct pcicfg c;
	struct rec r;
	uint64_t q = 0x00000001fee01000ull;

	(void)state;
	setup(&c, &r);
	pcicfg_write(&c, CAP_MSIX + 2, 2, MSIX_ENABLE);
	assert_true(mio(&c, TABLE + 16, &q, 8, true)); /* entry 1: address low and high */
	assert_int_equal(mread32(&c, TABLE + 16), 0xfee01000);
	assert_int_equal(mread32(&c, TABLE + 20), 1);
	q = 0;
	assert_true(mio(&c, TABLE + 16, &q, 8, false));
	assert_int_equal(q, 0x00000001fee01000ull);
	/* data and control at once: unmasks it */
	q = 0x0000000000004025ull;
	assert_true(mio(&c, TABLE + 24, &q, 8, true));
	assert_int_equal(r.nmsix, 1);
	assert_call(&r, 0, 1, true, 0x1fee01000ull, 0x4025);
	q = 0;
	assert_true(mio(&c, TABLE + 24, &q, 8, false));
	assert_int_equal(q, 0x4025);
}

/* Regression: an 8-byte address write to a vector that is on was routed twice, once to a half-written address. */
static void test_msix_8_byte_address_write_to_a_live_vector_routes_once(void **state)
{
	struct pcicfg c;
	struct rec r;
	uint64_t q = 0x00000000fee00000ull;
	uint32_t v;

	(void)state;
	setup(&c, &r);
	assert_true(mio(&c, TABLE, &q, 8, true));
	v = 0x41;
	assert_true(mio(&c, TABLE + 8, &v, 4, true));
	v = 0;
	assert_true(mio(&c, TABLE + 12, &v, 4, true)); /* unmasked */
	pcicfg_write(&c, CAP_MSIX + 2, 2, MSIX_ENABLE);
	assert_int_equal(r.nmsix, 1);
	assert_call(&r, 0, 0, true, 0xfee00000ull, 0x41);
	q = 0x00000001fee05000ull;
	assert_true(mio(&c, TABLE, &q, 8, true));
	assert_int_equal(r.nmsix, 2);
	assert_call(&r, 1, 0, true, 0x1fee05000ull, 0x41);
}

static void test_msix_through_the_bus_under_its_lock(void **state)
{
	struct pcibus b;
	struct pcicfg c;
	struct rec r;
	unsigned slot;
	uint32_t v = 0;

	(void)state;
	setup(&c, &r);
	pcibus_init(&b);
	assert_int_equal(pcibus_add(&b, &c, &slot), 0);
	assert_true(pcibus_msix_io(&b, &c, 0, TABLE + 12, &v, 4, false));
	assert_int_equal(v, 1);
	assert_false(pcibus_msix_io(&b, &c, 0, 0x2800, &v, 4, false));
	pcibus_fini(&b);
}

/* ---- pcicfg_init ---- */

static void refused(uint8_t cfg[256], const uint64_t gpa[PCICFG_BARS], const uint64_t size[PCICFG_BARS],
		    const char *expect)
{
	struct pcicfg c;
	const char *why = NULL;

	assert_int_equal(pcicfg_init(&c, cfg, gpa, size, &ops, NULL, &why), -EINVAL);
	assert_non_null(why);
	assert_true(strlen(why) > 0);
	assert_non_null(strstr(why, expect));
}

static void test_init_refuses_a_bridge(void **state)
{
	uint8_t cfg[256];
	uint64_t gpa[PCICFG_BARS], size[PCICFG_BARS];

	(void)state;
	nvme_vf(cfg, gpa, size);
	cfg[0x0e] = 0x01;
	refused(cfg, gpa, size, "type-0");
	cfg[0x0e] = 0x81;
	refused(cfg, gpa, size, "type-0");
	cfg[0x0e] = 0x02; /* CardBus */
	refused(cfg, gpa, size, "type-0");
}

static void test_init_refuses_a_broken_capability_list(void **state)
{
	uint8_t cfg[256];
	uint64_t gpa[PCICFG_BARS], size[PCICFG_BARS];

	(void)state;
	/* PM points at itself */
	nvme_vf(cfg, gpa, size);
	cfg[CAP_PM + 1] = CAP_PM;
	refused(cfg, gpa, size, "capability list");
	/* a loop of two, before MSI-X */
	nvme_vf(cfg, gpa, size);
	cfg[CAP_PM + 1] = 0x50;
	cfg[0x50] = 0x05;
	cfg[0x51] = CAP_PM;
	refused(cfg, gpa, size, "capability list");
	/* into the header, from the start and from PM */
	nvme_vf(cfg, gpa, size);
	cfg[0x34] = 0x10;
	refused(cfg, gpa, size, "capability list");
	nvme_vf(cfg, gpa, size);
	cfg[CAP_PM + 1] = 0x3c;
	refused(cfg, gpa, size, "capability list");
}

/* Regression (fuzz_pcicfg): a capability at 0xf8 had its table and PBA dwords read past the 256 bytes. */
static void test_init_refuses_an_msix_capability_past_0xf4(void **state)
{
	uint8_t cfg[256];
	uint64_t gpa[PCICFG_BARS], size[PCICFG_BARS];

	(void)state;
	for (unsigned at = 0xf8; at <= 0xfc; at += 4) {
		nvme_vf(cfg, gpa, size);
		cfg[CAP_PM + 1] = (uint8_t)at;
		memset(cfg + at, 0, 256 - at);
		cfg[at] = 0x11;
		refused(cfg, gpa, size, "too late");
	}
}

static void test_init_refuses_an_msix_table_or_pba_outside_the_guests_bars(void **state)
{
	uint8_t cfg[256];
	uint64_t gpa[PCICFG_BARS], size[PCICFG_BARS];

	(void)state;
	/* the table in BAR2, not given */
	nvme_vf(cfg, gpa, size);
	put32(cfg + CAP_MSIX + 4, TABLE | 2);
	refused(cfg, gpa, size, "MSI-X");
	/* the PBA in BAR1: BAR0's upper half */
	nvme_vf(cfg, gpa, size);
	put32(cfg + CAP_MSIX + 8, PBA | 1);
	refused(cfg, gpa, size, "MSI-X");
	/* BAR0 not given at all */
	nvme_vf(cfg, gpa, size);
	gpa[0] = 0;
	refused(cfg, gpa, size, "MSI-X");
	/* a BIR past the six BARs */
	nvme_vf(cfg, gpa, size);
	put32(cfg + CAP_MSIX + 4, TABLE | 7);
	refused(cfg, gpa, size, "MSI-X");
	/* the table running past the BAR's end (0x3e00 + 64 * 16 > 0x4000) */
	nvme_vf(cfg, gpa, size);
	put32(cfg + CAP_MSIX + 4, 0x3e00);
	refused(cfg, gpa, size, "MSI-X");
	/* ... which it does not when it ends at it */
	{
		struct pcicfg c;
		const char *why = NULL;

		nvme_vf(cfg, gpa, size);
		put32(cfg + CAP_MSIX + 4, 0x3c00);
		assert_int_equal(pcicfg_init(&c, cfg, gpa, size, &ops, NULL, &why), 0);
	}
}

static void test_init_refuses_bars_it_cannot_place(void **state)
{
	uint8_t cfg[256];
	uint64_t gpa[PCICFG_BARS], size[PCICFG_BARS];

	(void)state;
	nvme_vf(cfg, gpa, size);
	size[0] = 0x3000;
	refused(cfg, gpa, size, "power of two");
	nvme_vf(cfg, gpa, size);
	gpa[0] = GPA0 + 0x1000;
	refused(cfg, gpa, size, "aligned");
	/* a 64-bit BAR5 */
	nvme_vf(cfg, gpa, size);
	put32(cfg + 0x24, 0x00000004);
	gpa[5] = 0x20000000;
	size[5] = 0x1000;
	refused(cfg, gpa, size, "last BAR");
	/* a 32-bit BAR above 4 GiB */
	nvme_vf(cfg, gpa, size);
	put32(cfg + 0x18, 0x00000000);
	gpa[2] = 0x100000000ull;
	size[2] = 0x1000;
	refused(cfg, gpa, size, "above 4 GiB");
}

static void test_init_without_capabilities_has_no_msix(void **state)
{
	uint8_t cfg[256];
	uint64_t gpa[PCICFG_BARS], size[PCICFG_BARS], start, len;
	struct pcicfg c;
	const char *why = NULL;
	uint32_t v = 0;

	(void)state;
	nvme_vf(cfg, gpa, size);
	put16(cfg + 0x06, 0x0000); /* no capability list: the pointer is not followed */
	cfg[CAP_PM + 1] = CAP_PM;
	assert_int_equal(pcicfg_init(&c, cfg, gpa, size, &ops, NULL, &why), 0);
	assert_int_equal(pcicfg_read(&c, 0x06, 2) & 0x10, 0);
	assert_int_equal(pcicfg_read(&c, 0x34, 1), 0);
	assert_false(pcicfg_msix_pages(&c, 0, &start, &len));
	assert_false(pcicfg_msix_io(&c, 0, TABLE, &v, 4, false));
}

/* ---- pcicfg_reset ---- */

static void test_reset_puts_bars_back_and_turns_msix_off_without_callbacks(void **state)
{
	struct pcicfg c;
	struct rec r;

	(void)state;
	setup(&c, &r);
	pcicfg_write(&c, 0x04, 2, 0x0006);
	pcicfg_write(&c, 0x3c, 1, 0x0b);
	pcicfg_write(&c, 0x10, 4, 0x20000000);
	pcicfg_write(&c, 0x14, 4, 0x1);
	for (unsigned v = 0; v < PCICFG_MAX_VECTORS; v++) {
		program(&c, v, 0xfee00000, 0, 0x40 + v);
		mwrite32(&c, TABLE + 16 * v + 12, 0);
	}
	pcicfg_write(&c, CAP_MSIX + 2, 2, MSIX_ENABLE | MSIX_MASKALL);
	pcicfg_write(&c, CAP_MSIX + 2, 2, MSIX_ENABLE);
	assert_int_equal(r.nmsix, PCICFG_MAX_VECTORS);
	assert_int_equal(r.ncommand, 1);
	assert_int_equal(c.bar_moves, 2);

	pcicfg_reset(&c);
	assert_int_equal(r.nmsix, PCICFG_MAX_VECTORS);
	assert_int_equal(r.ncommand, 1);
	assert_int_equal(pcicfg_read(&c, 0x10, 4), 0x10000004);
	assert_int_equal(pcicfg_read(&c, 0x14, 4), 0);
	assert_int_equal(c.bar_moves, 0);
	assert_int_equal(pcicfg_read(&c, 0x04, 2), 0x0400);
	assert_int_equal(pcicfg_read(&c, 0x3c, 1), 0);
	assert_int_equal(msix_ctrl(&c), 7);
	for (unsigned v = 0; v < PCICFG_MAX_VECTORS; v++) {
		assert_int_equal(mread32(&c, TABLE + 16 * v + 12), 1);
		assert_int_equal(mread32(&c, TABLE + 16 * v), 0);
		assert_int_equal(mread32(&c, TABLE + 16 * v + 8), 0);
		assert_false(c.vec[v].on);
	}
	/* enabling again turns nothing on: every vector is masked */
	pcicfg_write(&c, CAP_MSIX + 2, 2, MSIX_ENABLE);
	assert_int_equal(r.nmsix, PCICFG_MAX_VECTORS);
	/* and the device's side of the config space is as it was */
	assert_int_equal(pcicfg_read(&c, 0x00, 4), 0x00101b36);
	assert_int_equal(pcicfg_read(&c, 0x34, 1), CAP_MSIX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_address_latch_reads_back_masked_and_ignores_byte_writes),
		cmocka_unit_test(test_bus_routes_the_bridge_the_function_and_nothing_else),
		cmocka_unit_test(test_access_across_the_data_dword_is_refused),
		cmocka_unit_test(test_writes_through_the_bus_reach_the_function_not_the_bridge),
		cmocka_unit_test(test_bus_takes_31_functions_then_refuses),
		cmocka_unit_test(test_removed_slot_reads_nothing_and_takes_no_writes),
		cmocka_unit_test(test_header_is_single_function_type_0_without_intx),
		cmocka_unit_test(test_only_msix_is_in_the_capability_list),
		cmocka_unit_test(test_expansion_rom_is_hidden),
		cmocka_unit_test(test_misaligned_or_odd_sized_config_access_reads_ones_and_writes_nothing),
		cmocka_unit_test(test_bar_sizing_reads_the_size_mask_and_restores),
		cmocka_unit_test(test_bar_written_elsewhere_keeps_the_address_and_counts_a_move),
		cmocka_unit_test(test_bar_byte_writes_keep_the_type_bits),
		cmocka_unit_test(test_command_hands_memory_and_bus_master_once_per_change),
		cmocka_unit_test(test_msix_table_size_is_capped_and_pages_cover_table_and_pba),
		cmocka_unit_test(test_msix_vector_turns_on_only_when_enabled_unmasked_and_not_function_masked),
		cmocka_unit_test(test_msix_enable_turns_on_every_unmasked_vector_and_disable_turns_them_off),
		cmocka_unit_test(test_msix_entries_past_what_the_guest_sees_are_masked_and_empty),
		cmocka_unit_test(test_msix_pba_reads_0_and_the_rest_of_the_pages_is_the_devices),
		cmocka_unit_test(test_msix_table_odd_accesses_read_ones_and_write_nothing),
		cmocka_unit_test(test_msix_table_takes_8_byte_accesses),
		cmocka_unit_test(test_msix_through_the_bus_under_its_lock),
		cmocka_unit_test(test_init_refuses_a_bridge),
		cmocka_unit_test(test_init_refuses_a_broken_capability_list),
		cmocka_unit_test(test_init_refuses_an_msix_capability_past_0xf4),
		cmocka_unit_test(test_msix_8_byte_address_write_to_a_live_vector_routes_once),
		cmocka_unit_test(test_init_refuses_an_msix_table_or_pba_outside_the_guests_bars),
		cmocka_unit_test(test_init_refuses_bars_it_cannot_place),
		cmocka_unit_test(test_init_without_capabilities_has_no_msix),
		cmocka_unit_test(test_reset_puts_bars_back_and_turns_msix_off_without_callbacks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
