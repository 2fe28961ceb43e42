// SPDX-License-Identifier: MIT
/*
 * Fuzz target: a Linux guest's PCI bus (hv/pcicfg.c): configuration
 * mechanism #1 at ports 0xcf8-0xcff, the host bridge in slot 0, and two
 * passed-through functions whose config space and MSI-X table the guest
 * drives as it likes.  The functions, by the input's first byte:
 *   layout 0  like QEMU's NVMe VF: 1b36:0010, PM at 0x40 -> MSI-X at 0x70
 *             (64 entries) -> PCIe at 0x80; BAR0 64-bit memory of 16 KiB at
 *             0x10000000 holding the table at 0x2000 and the PBA at 0x3000
 *   layout 1  MSI at 0x50 -> MSI-X at 0x60 (3 entries); BAR0 32-bit 16 KiB
 *             of registers, BAR2 64-bit prefetchable 8 KiB above 4 GiB with
 *             the table at 0, BAR4 32-bit prefetchable 4 KiB with the PBA at
 *             0x800, BAR5 an I/O BAR (not given to the guest)
 *   fuzzed    layout 0 or 1 with fuzzed bytes of its config space and
 *             fuzzed BAR sizes, as a device could have them; what
 *             pcicfg_init refuses it must say why, what it takes must have
 *             its MSI-X table and PBA inside BARs the guest is given, the
 *             MSI-X capability where a walk of the list finds it (a list
 *             into the header or in a loop, or a capability whose 12 bytes
 *             run past 0xff, is refused), and at most 8 vectors (the config
 *             space is handed over in a buffer of exactly 256 bytes: ASan
 *             sees a read past it)
 * Slot 1 holds that function, slot 2 the other fixed layout.  Checks,
 * besides no crash (ASan, UBSan):
 *   - msix(vec, on, ...) only for vec < nvec; on only while MSI-X is
 *     enabled, the function not masked and the entry not masked, at the
 *     entry's address and data; off only when one of those is not so; per
 *     vector on and off alternate (never off after off, never on after on
 *     with the same address and data); after every operation each vector's
 *     delivery is what the table and control say (no change is missed);
 *   - command(memory, bus_master) only when those bits change, as the
 *     command register has them;
 *   - reads call nothing and a read fills every byte it is given (port
 *     reads of a size other than 1, 2, 4 fill none);
 *   - the address register keeps what a dword write to 0xcf8 gave it
 *     (masked 0x80fffffc), and nothing else changes it; a data port read
 *     gives all ones without the enable bit, for another bus or function,
 *     across the dword or for an empty slot, the bridge's registers in
 *     slot 0 and the function's config read in the others;
 *   - after every operation each function reads its ID at 0x00 (directly
 *     and through the bus, where it reads all ones once its slot was
 *     emptied), header type 0, interrupt pin 0, no ROM, the
 *     capability pointer at MSI-X (whose next pointer is 0) and 0 for the
 *     rest past the header, the table size nvec - 1, and its BARs keep
 *     their type bits (those not given read 0); what came from the device
 *     (the struct up to the guest's state) never changes;
 *   - a write to a BAR keeps the written address bits (down to its size)
 *     and its type bits, and counts a move (bar_moves) exactly when the
 *     register is then neither its place nor the size mask; a write
 *     elsewhere counts none; a write reaches only the function addressed;
 *   - pcicfg_reset makes no callback and leaves command 0, MSI-X off,
 *     every vector masked and the BARs at their places;
 *   - an MSI-X page access is taken exactly when it falls in the table or
 *     the PBA; in the table, dword or aligned 8-byte accesses read and
 *     write the entries (those past nvec read 0, control 1, and keep
 *     nothing), others read all ones and change nothing; the PBA reads 0;
 *     an access not taken touches neither the data nor the state.
 *
 * Input (little-endian; fuzz.h reads zeroes past the end):
 *   u8 layout (v % 3: 0, 1, fuzzed)
 *   [fuzzed] u8 knobs (bit 0: from layout 1; bits 1-3: BAR sizes << v),
 *            u8 n (v % 32), n x (u8 offset, u8 value) written over the config space
 *   ops until the input ends (at most MAX_OPS), each u8 (v % 8) and its arguments:
 *     0 address  u8 reg, u8 sel (bits 0-1 slot 0-2 or 3: bit 2 ? 31 : 3; bit 3 function
 *                (sel >> 4) & 7; bit 7 bus 1), written to 0xcf8 as a dword with the enable bit,
 *                u8 bit 0 clears the enable bit
 *     1 port out u8 sel (bits 0-2 port 0xcf8 + v, bits 3-4 size 1, 2, 4, 3), u32 value
 *     2 port in  u8 sel (as port out)
 *     3 config write through the bus to slot 1 or 2: u8 reg, u8 sel (bit 0 slot 2,
 *                bits 1-2 size 1, 2, 4, 3), u32 value
 *     4 config read, the same without the value
 *     5 MSI-X write  u8 sel (bits 0-1 size 1, 2, 4, 8; bit 2 function 2; bits 3-5 BAR (v % 6);
 *                bit 7 aligned down to the size), u16 offset (within the BAR's MSI-X pages
 *                when it has some), u64 value
 *     6 MSI-X read   the same without the value
 *     7 reset    u8 (bit 0: function 2; bit 1: its slot emptied by pcibus_remove instead)
 *                pcicfg_reset, as at a domain's build
 * fuzz/make_seeds.py writes valid inputs in this layout.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "pcicfg.h"

#define MAX_OPS 2048
#define MSIX_ENABLE 0x8000u
#define MSIX_MASKALL 0x4000u
#define CANARY 0xa5

struct seen {
	bool on;
	uint64_t addr;
	uint32_t data;
};

struct fn {
	struct pcicfg c;
	uint8_t device[offsetof(struct pcicfg, command)]; /* what came from the device, after init */
	uint32_t id;
	struct seen vec[PCICFG_MAX_VECTORS]; /* what the msix callback last said, per vector */
	bool memory, master;                 /* what the command callback last said */
	unsigned calls;
	bool in_op_read;                     /* a read is under way: no callback may come */
	bool removed;                        /* its slot was emptied (pcibus_remove) */
};

static struct pcibus bus;
static struct fn F[2];
static bool ready;

static uint32_t get32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static bool effective(const struct pcicfg *c, unsigned v)
{
	return (c->msix_ctrl & MSIX_ENABLE) && !(c->msix_ctrl & MSIX_MASKALL) && !(c->vec[v].ctrl & 1);
}

static uint64_t vec_addr(const struct pcicfg_vec *e)
{
	return (uint64_t)e->addr_hi << 32 | e->addr_lo;
}

static void on_command(void *opaque, bool memory, bool bus_master)
{
	struct fn *f = opaque;

	FUZZ_CHECK(!f->in_op_read, "command(%d, %d) during a read", memory, bus_master);
	FUZZ_CHECK(memory == !!(f->c.command & 2) && bus_master == !!(f->c.command & 4),
		   "command(%d, %d) with the register at %#x", memory, bus_master, f->c.command);
	FUZZ_CHECK(memory != f->memory || bus_master != f->master, "command(%d, %d) again", memory, bus_master);
	f->memory = memory;
	f->master = bus_master;
	f->calls++;
}

static void on_msix(void *opaque, unsigned vec, bool on, uint64_t addr, uint32_t data)
{
	struct fn *f = opaque;
	const struct pcicfg *c = &f->c;
	struct seen *s;

	FUZZ_CHECK(!f->in_op_read, "msix(%u, %d) during a read", vec, on);
	FUZZ_CHECK(vec < c->nvec && vec < PCICFG_MAX_VECTORS, "msix(%u) with %u vectors", vec, c->nvec);
	s = &f->vec[vec];
	if (on) {
		FUZZ_CHECK(effective(c, vec), "msix(%u, on) with control %#x, entry control %#x", vec, c->msix_ctrl,
			   c->vec[vec].ctrl);
		FUZZ_CHECK(addr == vec_addr(&c->vec[vec]) && data == c->vec[vec].data,
			   "msix(%u, on) at %#llx/%#x, the entry has %#llx/%#x", vec, (unsigned long long)addr, data,
			   (unsigned long long)vec_addr(&c->vec[vec]), c->vec[vec].data);
		FUZZ_CHECK(!s->on || s->addr != addr || s->data != data, "msix(%u, on) twice at %#llx/%#x", vec,
			   (unsigned long long)addr, data);
	} else {
		FUZZ_CHECK(!effective(c, vec), "msix(%u, off) with control %#x, entry control %#x", vec,
			   c->msix_ctrl, c->vec[vec].ctrl);
		FUZZ_CHECK(s->on, "msix(%u, off) after off", vec);
	}
	*s = (struct seen){ on, on ? addr : 0, on ? data : 0 };
	f->calls++;
}

static const struct pcicfg_ops ops = { on_command, on_msix };

/* Layout 0: QEMU's NVMe VF. */
static void layout0(uint8_t cfg[256], uint64_t gpa[PCICFG_BARS], uint64_t size[PCICFG_BARS])
{
	memset(cfg, 0, 256);
	put32(cfg + 0x00, 0x00101b36);
	put32(cfg + 0x04, 0x00100000);
	put32(cfg + 0x08, 0x01080202);
	cfg[0x0e] = 0x80;
	put32(cfg + 0x10, 0xfe800004);
	put32(cfg + 0x2c, 0x11001af4);
	cfg[0x34] = 0x40;
	cfg[0x3d] = 0x01;
	put32(cfg + 0x40, 0x00037001);  /* PM */
	put32(cfg + 0x70, 0x003f8011);  /* MSI-X, 64 entries */
	put32(cfg + 0x74, 0x00002000);  /* table: BAR0 + 0x2000 */
	put32(cfg + 0x78, 0x00003000);  /* PBA: BAR0 + 0x3000 */
	put32(cfg + 0x80, 0x00020010);  /* PCI Express */
	memset(gpa, 0, PCICFG_BARS * sizeof(gpa[0]));
	memset(size, 0, PCICFG_BARS * sizeof(size[0]));
	gpa[0] = 0x10000000;
	size[0] = 0x4000;
}

/* Layout 1: the table and the PBA in BARs of their own. */
static void layout1(uint8_t cfg[256], uint64_t gpa[PCICFG_BARS], uint64_t size[PCICFG_BARS])
{
	memset(cfg, 0, 256);
	put32(cfg + 0x00, 0x10ca8086);
	put32(cfg + 0x04, 0x02100000);  /* status: capability list, DEVSEL medium */
	put32(cfg + 0x08, 0x02000001);
	put32(cfg + 0x10, 0xf0000000);  /* BAR0: 32-bit registers */
	put32(cfg + 0x18, 0x0000000c);  /* BAR2: 64-bit prefetchable */
	put32(cfg + 0x1c, 0x00000080);
	put32(cfg + 0x20, 0xf0100008);  /* BAR4: 32-bit prefetchable */
	put32(cfg + 0x24, 0x0000e001);  /* BAR5: I/O */
	put32(cfg + 0x2c, 0xa01c8086);
	cfg[0x34] = 0x50;
	cfg[0x3c] = 0x05;
	cfg[0x3d] = 0x02;
	put32(cfg + 0x50, 0x00806005);  /* MSI */
	put32(cfg + 0x60, 0x00020011);  /* MSI-X, 3 entries */
	put32(cfg + 0x64, 0x00000002);  /* table: BAR2 + 0 */
	put32(cfg + 0x68, 0x00000804);  /* PBA: BAR4 + 0x800 */
	memset(gpa, 0, PCICFG_BARS * sizeof(gpa[0]));
	memset(size, 0, PCICFG_BARS * sizeof(size[0]));
	gpa[0] = 0xc0000000;
	size[0] = 0x4000;
	gpa[2] = 0x100000000ull;
	size[2] = 0x2000;
	gpa[4] = 0xc0010000;
	size[4] = 0x1000;
	gpa[5] = 0xc0020000;
	size[5] = 0x100;
}

static void snapshot(struct fn *f)
{
	memcpy(f->device, &f->c, sizeof(f->device));
	f->id = get32(f->c.dev);
	memset(f->vec, 0, sizeof(f->vec));
	f->memory = f->master = false;
}

/* What pcicfg_init took: its MSI-X table and PBA inside BARs given to the guest. */
static void check_taken(const struct pcicfg *c)
{
	if (!c->msix_cap)
		return;
	FUZZ_CHECK(c->msix_cap >= 0x40 && c->msix_cap + 12 <= 256, "MSI-X capability at %#x", c->msix_cap);
	FUZZ_CHECK(c->nvec >= 1 && c->nvec <= PCICFG_MAX_VECTORS && c->nvec <= c->table_entries,
		   "%u vectors of %u entries", c->nvec, c->table_entries);
	for (int t = 0; t < 2; t++) {
		unsigned b = t ? c->pba_bar : c->table_bar;
		uint64_t off = t ? c->pba_off : c->table_off;
		uint64_t len = t ? (c->table_entries + 63) / 64 * 8 : 16ull * c->table_entries;

		FUZZ_CHECK(b < PCICFG_BARS && c->bar_gpa[b] && !c->bar_hi[b] && off + len <= c->bar_size[b],
			   "the MSI-X %s at BAR%u + %#llx (%llu bytes) is not in a BAR the guest is given",
			   t ? "PBA" : "table", b, (unsigned long long)off, (unsigned long long)len);
	}
}

/*
 * The MSI-X capability's offset in the device's list (0: none), or -1 when the list that leads
 * to it goes into the header or loops, or the capability's 12 bytes do not fit in the 256.
 */
static int model_msix(const uint8_t cfg[256])
{
	bool seen[256] = { false };
	unsigned off = cfg[0x34] & 0xfc;

	if (!(cfg[6] & 0x10))
		return 0;
	for (; off; off = cfg[off + 1] & 0xfc) {
		if (off < 0x40 || seen[off])
			return -1;
		seen[off] = true;
		if (cfg[off] == 0x11)
			return off + 12 <= 256 ? (int)off : -1;
	}
	return 0;
}

/* Builds F[0] (slot 1) by the layout byte and F[1] (slot 2); false when the fuzzed one was refused. */
static bool build(struct fuzz_in *in)
{
	uint8_t layout = fuzz_u8(in) % 3, *cfg = malloc(256);
	uint64_t gpa[PCICFG_BARS], size[PCICFG_BARS];
	const char *why = NULL;
	bool other1 = layout != 1;
	int r;

	if (!cfg)
		abort();
	if (layout == 2) {
		uint8_t knobs = fuzz_u8(in), n = fuzz_u8(in) % 32;

		other1 = !(knobs & 1);
		if (knobs & 1)
			layout1(cfg, gpa, size);
		else
			layout0(cfg, gpa, size);
		for (unsigned b = 0; b < PCICFG_BARS; b++)
			size[b] <<= (knobs >> 1) & 7;
		for (unsigned i = 0; i < n; i++) {
			uint8_t off = fuzz_u8(in);

			cfg[off] = fuzz_u8(in);
		}
	} else if (layout == 1) {
		layout1(cfg, gpa, size);
	} else {
		layout0(cfg, gpa, size);
	}
	r = pcicfg_init(&F[0].c, cfg, gpa, size, &ops, &F[0], &why);
	FUZZ_CHECK(r || model_msix(cfg) >= 0, "a capability list that is broken taken, MSI-X at %#x",
		   F[0].c.msix_cap);
	FUZZ_CHECK(r || F[0].c.msix_cap == (unsigned)model_msix(cfg), "MSI-X found at %#x, it is at %#x",
		   F[0].c.msix_cap, model_msix(cfg));
	if (r) {
		FUZZ_CHECK(layout == 2, "layout %u refused: %s", layout, why ? why : "(no reason)");
		FUZZ_CHECK(r == -EINVAL && why && *why, "pcicfg_init returned %d, why %s", r, why ? why : "(none)");
		free(cfg);
		return false;
	}
	FUZZ_CHECK(!memcmp(F[0].c.dev, cfg, sizeof(F[0].c.dev)), "the header is not the device's");
	check_taken(&F[0].c);
	if (other1)
		layout1(cfg, gpa, size);
	else
		layout0(cfg, gpa, size);
	r = pcicfg_init(&F[1].c, cfg, gpa, size, &ops, &F[1], &why);
	FUZZ_CHECK(r == 0, "the fixed layout was refused: %s", why);
	free(cfg);
	snapshot(&F[0]);
	snapshot(&F[1]);
	return true;
}

static uint32_t ones(unsigned size)
{
	return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

/* A config read as the guest should see it at BDF addr (the address register's value), reg, size. */
static uint32_t expect_data(uint32_t a, unsigned reg, unsigned size)
{
	unsigned dev = (a >> 11) & 0x1f;

	if (!(a & 0x80000000u) || ((a >> 16) & 0xff) || ((a >> 8) & 7) || (reg & 3) + size > 4 || dev > 2 ||
	    (dev && F[dev - 1].removed))
		return ones(size);
	if (dev == 0) {
		uint32_t d = (reg & ~3u) == 0 ? PCIBUS_BRIDGE_ID : (reg & ~3u) == 8 ? 0x06000000u : 0;

		return (d >> (8 * (reg & 3))) & ones(size);
	}
	return pcicfg_read(&F[dev - 1].c, reg, size);
}

static void set_reading(bool on)
{
	F[0].in_op_read = F[1].in_op_read = on;
}

/*
 * The function a data port access at 0xcfc + off reaches with the address register at a and
 * writes (naturally aligned, of size 1, 2 or 4), or NULL.
 */
static struct fn *target(uint32_t a, unsigned off, unsigned size)
{
	unsigned dev = (a >> 11) & 0x1f, reg = (a & 0xfc) + off - 4;

	if (off < 4 || (size != 1 && size != 2 && size != 4) || reg % size || !(a & 0x80000000u) ||
	    ((a >> 16) & 0xff) || ((a >> 8) & 7) || dev == 0 || dev > 2 || F[dev - 1].removed)
		return NULL;
	return &F[dev - 1];
}

/*
 * BAR b as given to the guest: the register at its place, written all ones, and which bits of
 * a written value it keeps; false when the guest is not given it.
 */
static bool bar_model(const struct pcicfg *c, unsigned b, uint32_t *placed, uint32_t *sizing, uint32_t *keep)
{
	if (c->bar_hi[b]) {
		*keep = *sizing = (uint32_t)(~(c->bar_size[b - 1] - 1) >> 32);
		*placed = (uint32_t)(c->bar_gpa[b - 1] >> 32);
		return true;
	}
	if (!c->bar_gpa[b])
		return false;
	*keep = (uint32_t)~(c->bar_size[b] - 1) & ~0xfu;
	*sizing = *keep | c->bar_type[b];
	*placed = (uint32_t)c->bar_gpa[b] | c->bar_type[b];
	return true;
}

/* A write of size bytes of val at reg: what the BAR's register and bar_moves become. */
static void check_bar_write(struct fn *t, unsigned reg, unsigned size, uint32_t val, uint32_t old, uint64_t moves)
{
	unsigned b = ((reg & ~3u) - 0x10) / 4, shift = 8 * (reg & 3);
	uint32_t mask = (size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1) << shift;
	uint32_t now = (old & ~mask) | ((val << shift) & mask), placed, sizing, keep, want, got;

	got = pcicfg_read(&t->c, reg & ~3u, 4);
	if (!bar_model(&t->c, b, &placed, &sizing, &keep)) {
		FUZZ_CHECK(got == 0 && t->c.bar_moves == moves, "BAR%u not given: %#x after a write", b, got);
		return;
	}
	want = (now & keep) | (t->c.bar_hi[b] ? 0 : t->c.bar_type[b]);
	FUZZ_CHECK(got == want, "BAR%u %#x after writing %#x (%u bytes at %#x) over %#x, expected %#x", b, got, val,
		   size, reg, old, want);
	FUZZ_CHECK(t->c.bar_moves == moves + (want != placed && want != sizing),
		   "BAR%u at %#x (placed %#x, sizing %#x): bar_moves %llu, was %llu", b, want, placed, sizing,
		   (unsigned long long)t->c.bar_moves, (unsigned long long)moves);
}

#define GUEST_STATE(f) ((uint8_t *)&(f)->c + offsetof(struct pcicfg, command))
#define GUEST_STATE_LEN (sizeof(struct pcicfg) - offsetof(struct pcicfg, command))

static void port(unsigned off, unsigned size, bool write, uint32_t val)
{
	uint8_t data[4], before[2][GUEST_STATE_LEN];
	uint32_t latch = bus.addr, got = 0;
	struct fn *t = target(latch, off, size);
	unsigned reg = (latch & 0xfc) + off - 4;
	uint32_t old = t ? pcicfg_read(&t->c, reg & ~3u, 4) : 0;
	uint64_t moves = t ? t->c.bar_moves : 0;

	for (unsigned i = 0; i < 2; i++)
		memcpy(before[i], GUEST_STATE(&F[i]), GUEST_STATE_LEN);

	if (write) {
		memcpy(data, &val, sizeof(data));
	} else {
		memset(data, CANARY, sizeof(data));
		set_reading(true);
	}
	pcibus_port(&bus, off, size, write, data);
	set_reading(false);
	for (unsigned i = 0; i < 2; i++)
		FUZZ_CHECK((write && &F[i] == t) || !memcmp(before[i], GUEST_STATE(&F[i]), GUEST_STATE_LEN),
			   "a %u-byte %s at 0xcf8 + %u with 0xcf8 at %#x changed slot %u%s", size,
			   write ? "write" : "read", off, latch, i + 1, F[i].removed ? " (removed)" : "");
	if (write) {
		uint32_t want = off == 0 && size == 4 ? val & 0x80fffffcu : latch;

		FUZZ_CHECK(bus.addr == want, "0xcf8 reads %#x after a %u-byte write of %#x at 0xcf8 + %u (was %#x)",
			   bus.addr, size, val, off, latch);
		if (t && reg >= 0x10 && reg < 0x28)
			check_bar_write(t, reg, size, val, old, moves);
		else if (t)
			FUZZ_CHECK(t->c.bar_moves == moves, "a write at %#x moved a BAR", reg);
		return;
	}
	FUZZ_CHECK(bus.addr == latch, "a read changed 0xcf8 from %#x to %#x", latch, bus.addr);
	if (size != 1 && size != 2 && size != 4) {
		for (unsigned i = 0; i < sizeof(data); i++)
			FUZZ_CHECK(data[i] == CANARY, "a %u-byte port read wrote byte %u", size, i);
		return;
	}
	for (unsigned i = size; i < sizeof(data); i++)
		FUZZ_CHECK(data[i] == CANARY, "a %u-byte port read wrote byte %u", size, i);
	memcpy(&got, data, size);
	if (off < 4) {
		uint32_t want = off == 0 && size == 4 ? latch : ones(size);

		FUZZ_CHECK(got == want, "0xcf8 + %u (%u bytes) reads %#x, expected %#x", off, size, got, want);
		return;
	}
	FUZZ_CHECK(got == expect_data(latch, reg, size), "config %#x reg %#x (%u bytes) reads %#x, expected %#x",
		   latch, reg, size, got, expect_data(latch, reg, size));
}

/* Entry e's dword f as the guest reads it. */
static uint32_t table_expect(const struct pcicfg *c, const struct pcicfg_vec *vec, unsigned e, unsigned f)
{
	if (e >= c->nvec)
		return f == 3 ? 1 : 0;
	return f == 0 ? vec[e].addr_lo : f == 1 ? vec[e].addr_hi : f == 2 ? vec[e].data : vec[e].ctrl;
}

static void msix_access(struct fn *f, unsigned bar, uint64_t off, unsigned len, bool write, uint64_t val)
{
	struct pcicfg *c = &f->c;
	struct pcicfg_vec pre[PCICFG_MAX_VECTORS];
	uint8_t data[8];
	uint64_t tlo = c->table_off, thi = tlo + 16ull * c->table_entries;
	uint64_t plo = c->pba_off, phi = plo + (c->table_entries + 63) / 64 * 8ull;
	bool in_table = c->msix_cap && bar == c->table_bar && off >= tlo && off < thi;
	bool in_pba = !in_table && c->msix_cap && bar == c->pba_bar && off >= plo && off < phi;
	bool ok = in_table && (len == 4 || len == 8) && (off - tlo) % len == 0 && off + len <= thi;
	bool taken;

	memcpy(pre, c->vec, sizeof(pre));
	if (write) {
		memcpy(data, &val, sizeof(data));
	} else {
		memset(data, CANARY, sizeof(data));
		set_reading(true);
	}
	taken = pcibus_msix_io(&bus, c, bar, off, data, len, write);
	set_reading(false);
	FUZZ_CHECK(taken == (in_table || in_pba), "BAR%u + %#llx (%u bytes): taken %d, table %d, PBA %d", bar,
		   (unsigned long long)off, len, taken, in_table, in_pba);
	for (unsigned i = write || !taken ? 0 : len; i < sizeof(data); i++)
		FUZZ_CHECK(data[i] == (write ? ((uint8_t *)&val)[i] : CANARY),
			   "BAR%u + %#llx (%u bytes, %s) touched byte %u", bar, (unsigned long long)off, len,
			   write ? "write" : "read", i);
	if (!ok && !write && taken) {
		for (unsigned i = 0; i < len; i++)
			FUZZ_CHECK(data[i] == (in_pba ? 0 : 0xff), "BAR%u + %#llx (%u bytes) read byte %u = %#x", bar,
				   (unsigned long long)off, len, i, data[i]);
	}
	if (!ok || (!write && ok)) {
		for (unsigned v = 0; v < PCICFG_MAX_VECTORS; v++)
			FUZZ_CHECK(pre[v].addr_lo == c->vec[v].addr_lo && pre[v].addr_hi == c->vec[v].addr_hi &&
					   pre[v].data == c->vec[v].data && pre[v].ctrl == c->vec[v].ctrl,
				   "BAR%u + %#llx (%u bytes, %s) changed vector %u", bar, (unsigned long long)off, len,
				   write ? "write" : "read", v);
	}
	if (!ok)
		return;
	for (unsigned i = 0; i < len; i += 4) {
		uint64_t at = off - tlo + i;
		unsigned e = (unsigned)(at / 16), fld = (unsigned)(at % 16) / 4;
		uint32_t w = get32(data + i);

		if (!write) {
			FUZZ_CHECK(w == table_expect(c, pre, e, fld), "entry %u dword %u reads %#x, expected %#x", e,
				   fld, w, table_expect(c, pre, e, fld));
		} else if (e < c->nvec) {
			uint32_t want = fld == 0 ? w & ~3u : fld == 3 ? w & 1 : w;

			FUZZ_CHECK(table_expect(c, c->vec, e, fld) == want, "entry %u dword %u is %#x after writing %#x",
				   e, fld, table_expect(c, c->vec, e, fld), w);
		}
	}
}

static void check_function(struct fn *f, unsigned slot)
{
	struct pcicfg *c = &f->c;
	uint32_t latch = bus.addr, v;
	uint8_t data[4];
	unsigned cap = c->msix_cap;

	FUZZ_CHECK(!memcmp(f->device, c, sizeof(f->device)), "slot %u: what came from the device changed", slot);
	set_reading(true);
	FUZZ_CHECK(pcicfg_read(c, 0x00, 4) == f->id, "slot %u: ID %#x, the device's %#x", slot,
		   pcicfg_read(c, 0x00, 4), f->id);
	/* through the bus, then the address register as the guest left it */
	put32(data, 0x80000000u | slot << 11);
	pcibus_port(&bus, 0, 4, true, data);
	pcibus_port(&bus, 4, 4, false, data);
	FUZZ_CHECK(get32(data) == (f->removed ? 0xffffffffu : f->id),
		   "slot %u%s: ID %#x through the bus, the device's %#x", slot, f->removed ? " (removed)" : "",
		   get32(data), f->id);
	put32(data, latch);
	pcibus_port(&bus, 0, 4, true, data);
	FUZZ_CHECK(bus.addr == latch, "0xcf8 not restored");
	FUZZ_CHECK(pcicfg_read(c, 0x0e, 1) == 0, "slot %u: header type %#x", slot, pcicfg_read(c, 0x0e, 1));
	FUZZ_CHECK(pcicfg_read(c, 0x3d, 1) == 0, "slot %u: interrupt pin %u", slot, pcicfg_read(c, 0x3d, 1));
	FUZZ_CHECK(pcicfg_read(c, 0x30, 4) == 0, "slot %u: ROM %#x", slot, pcicfg_read(c, 0x30, 4));
	FUZZ_CHECK(pcicfg_read(c, 0x34, 1) == cap, "slot %u: capabilities at %#x, MSI-X at %#x", slot,
		   pcicfg_read(c, 0x34, 1), cap);
	FUZZ_CHECK(!!(pcicfg_read(c, 0x06, 2) & 0x10) == !!cap, "slot %u: status %#x with MSI-X at %#x", slot,
		   pcicfg_read(c, 0x06, 2), cap);
	FUZZ_CHECK(pcicfg_read(c, 0x04, 2) & 0x400, "slot %u: INTx not disabled", slot);
	for (unsigned b = 0; b < PCICFG_BARS; b++) {
		v = pcicfg_read(c, 0x10 + 4 * b, 4);
		if (c->bar_hi[b])
			continue;
		if (c->bar_gpa[b])
			FUZZ_CHECK((v & 0xf) == c->bar_type[b], "slot %u: BAR%u %#x, type %#x", slot, b, v,
				   c->bar_type[b]);
		else
			FUZZ_CHECK(v == 0, "slot %u: BAR%u not given reads %#x", slot, b, v);
	}
	for (unsigned off = 0x40; off < 0x100; off += 4) {
		v = pcicfg_read(c, off, 4);
		if (cap && off == cap)
			FUZZ_CHECK((v & 0xffff) == 0x0011 && ((v >> 16) & 0x7ff) == c->nvec - 1 &&
					   ((v >> 16) & ~(MSIX_ENABLE | MSIX_MASKALL | 0x7ffu)) == 0,
				   "slot %u: MSI-X capability %#x", slot, v);
		else if (!cap || (off != cap + 4 && off != cap + 8))
			FUZZ_CHECK(v == 0, "slot %u: %#x reads %#x, hidden", slot, off, v);
	}
	set_reading(false);
	/* every vector delivered exactly as the table and the control say */
	for (unsigned e = 0; e < PCICFG_MAX_VECTORS; e++) {
		bool on = e < c->nvec && effective(c, e);

		FUZZ_CHECK(f->vec[e].on == on && c->vec[e].on == on, "slot %u vector %u: reported %d, should be %d",
			   slot, e, f->vec[e].on, on);
		if (on)
			FUZZ_CHECK(f->vec[e].addr == vec_addr(&c->vec[e]) && f->vec[e].data == c->vec[e].data,
				   "slot %u vector %u delivered at %#llx/%#x, the entry has %#llx/%#x", slot, e,
				   (unsigned long long)f->vec[e].addr, f->vec[e].data,
				   (unsigned long long)vec_addr(&c->vec[e]), c->vec[e].data);
	}
	FUZZ_CHECK(f->memory == !!(c->command & 2) && f->master == !!(c->command & 4),
		   "slot %u: command %#x, reported memory %d bus master %d", slot, c->command, f->memory, f->master);
}

static const unsigned port_sizes[] = { 1, 2, 4, 3 };
static const unsigned msix_sizes[] = { 1, 2, 4, 8 };

static void one_op(struct fuzz_in *in)
{
	uint8_t op = fuzz_u8(in) % 8, a, s;
	unsigned calls = F[0].calls + F[1].calls;

	switch (op) {
	case 0: {
		uint32_t addr;
		unsigned dev;

		a = fuzz_u8(in);
		s = fuzz_u8(in);
		dev = (s & 3) != 3 ? (s & 3u) : (s & 4) ? 31 : 3;
		addr = 0x80000000u | dev << 11 | a;
		if (s & 8)
			addr |= ((s >> 4) & 7u) << 8;
		if (s & 0x80)
			addr |= 1u << 16;
		if (fuzz_u8(in) & 1)
			addr &= ~0x80000000u;
		port(0, 4, true, addr);
		break;
	}
	case 1:
		s = fuzz_u8(in);
		port(s & 7, port_sizes[(s >> 3) & 3], true, fuzz_u32(in));
		break;
	case 2:
		s = fuzz_u8(in);
		port(s & 7, port_sizes[(s >> 3) & 3], false, 0);
		break;
	case 3:
	case 4: {
		unsigned size;

		a = fuzz_u8(in);
		s = fuzz_u8(in);
		size = port_sizes[(s >> 1) & 3];
		port(0, 4, true, 0x80000000u | (1u + (s & 1)) << 11 | (a & 0xfcu));
		port(4 + (a & 3u), size, op == 3, op == 3 ? fuzz_u32(in) : 0);
		break;
	}
	case 5:
	case 6: {
		struct fn *f;
		unsigned bar, len;
		uint64_t off, start, plen;
		uint16_t o;

		s = fuzz_u8(in);
		o = fuzz_u16(in);
		f = &F[(s >> 2) & 1];
		len = msix_sizes[s & 3];
		bar = ((s >> 3) & 7u) % PCICFG_BARS;
		off = pcicfg_msix_pages(&f->c, bar, &start, &plen) ? start + o % plen : o;
		if (s & 0x80)
			off &= ~(uint64_t)(len - 1);
		msix_access(f, bar, off, len, op == 5, op == 5 ? fuzz_u64(in) : 0);
		break;
	}
	case 7: {
		uint8_t k = fuzz_u8(in);
		struct fn *f = &F[k & 1];

		if (k & 2) {
			pcibus_remove(&bus, 1 + (k & 1u));
			f->removed = true;
			break;
		}
		pcicfg_reset(&f->c);
		FUZZ_CHECK(f->calls + F[!(f - F)].calls == calls, "pcicfg_reset made callbacks");
		memset(f->vec, 0, sizeof(f->vec));
		f->memory = f->master = false; /* the device model starts over with it */
		for (unsigned e = 0; e < PCICFG_MAX_VECTORS; e++)
			FUZZ_CHECK(f->c.vec[e].ctrl == 1 && !f->c.vec[e].on, "vector %u after reset", e);
		FUZZ_CHECK(!f->c.msix_ctrl && !f->c.command && !f->c.bar_moves && !f->c.int_line, "state after reset");
		for (unsigned b = 0; b < PCICFG_BARS; b++) {
			uint32_t placed, sizing, keep, v = pcicfg_read(&f->c, 0x10 + 4 * b, 4);

			FUZZ_CHECK(v == (bar_model(&f->c, b, &placed, &sizing, &keep) ? placed : 0),
				   "BAR%u %#x after reset", b, v);
		}
		break;
	}
	}
	if (op == 2 || op == 4 || op == 6)
		FUZZ_CHECK(F[0].calls + F[1].calls == calls, "a read (op %u) made callbacks", op);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };

	if (!ready) {
		pcibus_init(&bus);
		ready = true;
	}
	memset(F, 0, sizeof(F));
	if (!build(&in))
		return 0;
	/* a fresh bus each input: the bridge, then the two functions */
	pcibus_fini(&bus);
	pcibus_init(&bus);
	{
		unsigned slot;

		FUZZ_CHECK(pcibus_add(&bus, &F[0].c, &slot) == 0 && slot == 1, "slot %u for the first", slot);
		FUZZ_CHECK(pcibus_add(&bus, &F[1].c, &slot) == 0 && slot == 2, "slot %u for the second", slot);
	}
	for (unsigned n = 0; in.left && n < MAX_OPS; n++) {
		one_op(&in);
		check_function(&F[0], 1);
		check_function(&F[1], 2);
	}
	return 0;
}
