// SPDX-License-Identifier: MIT
/* A Linux guest's PCI bus and its functions' config space and MSI-X table (pcicfg.h). */
#include "pcicfg.h"

#include <errno.h>
#include <string.h>

#define CFG_STATUS_CAPS 0x10u
#define CAP_MSIX 0x11u
#define MSIX_ENABLE 0x8000u
#define MSIX_MASKALL 0x4000u
#define CMD_MEMORY 0x0002u
#define CMD_MASTER 0x0004u
#define CMD_INTX_OFF 0x0400u
#define PAGE_SZ 4096u

static uint32_t get32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* The MSI-X capability's offset in the device's list, 0 if none; -1 for a broken list, -2 for one too late. */
static int find_msix(const uint8_t cfg[256])
{
	unsigned off = cfg[0x34] & 0xfc;

	if (!(get16(cfg + 6) & CFG_STATUS_CAPS))
		return 0;
	for (unsigned n = 0; off; n++) {
		if (off < 0x40 || n >= 48)
			return -1; /* into the header, or a loop */
		if (cfg[off] == CAP_MSIX)
			return off <= 256 - 12 ? (int)off : -2; /* its 12 bytes must fit in the 256 */
		off = cfg[off + 1] & 0xfc;
	}
	return 0;
}

static bool in_bar(const struct pcicfg *c, unsigned bar, uint64_t off, uint64_t len)
{
	return bar < PCICFG_BARS && c->bar_gpa[bar] && !c->bar_hi[bar] && off <= c->bar_size[bar] &&
	       len <= c->bar_size[bar] - off;
}

int pcicfg_init(struct pcicfg *c, const uint8_t cfg[256], const uint64_t gpa[PCICFG_BARS],
		const uint64_t size[PCICFG_BARS], const struct pcicfg_ops *ops, void *opaque,
		const char **why)
{
	int cap;

	memset(c, 0, sizeof(*c));
	c->ops = ops;
	c->opaque = opaque;
	if (cfg[0x0e] & 0x7f) {
		*why = "it is not a type-0 (endpoint) function: bridges cannot be passed through";
		return -EINVAL;
	}
	memcpy(c->dev, cfg, sizeof(c->dev));
	for (unsigned b = 0; b < PCICFG_BARS; b++) {
		uint32_t reg = get32(cfg + 0x10 + 4 * b);

		if (c->bar_hi[b] || !gpa[b] || !size[b] || (reg & 1))
			continue; /* I/O BARs are not given to the guest */
		if ((size[b] & (size[b] - 1)) || (gpa[b] & (size[b] - 1))) {
			*why = "a BAR's size is not a power of two, or its place not aligned to it";
			return -EINVAL;
		}
		c->bar_gpa[b] = gpa[b];
		c->bar_size[b] = size[b];
		c->bar_type[b] = reg & 0xf;
		if (((reg >> 1) & 3) == 2) {
			if (b == PCICFG_BARS - 1) {
				*why = "its last BAR claims to be 64-bit";
				return -EINVAL;
			}
			c->bar_hi[b + 1] = true;
		} else if (gpa[b] >> 32) {
			*why = "a 32-bit BAR placed above 4 GiB";
			return -EINVAL;
		}
	}
	cap = find_msix(cfg);
	if (cap < 0) {
		*why = cap == -2 ? "its MSI-X capability starts too late to fit in config space (past 0xf4)"
				 : "its capability list is broken (it points into the header or loops)";
		return -EINVAL;
	}
	if (cap) {
		uint16_t ctrl = get16(cfg + cap + 2);
		unsigned pba_len;

		c->msix_cap = (unsigned)cap;
		c->table_entries = (ctrl & 0x7ffu) + 1;
		c->nvec = c->table_entries < PCICFG_MAX_VECTORS ? c->table_entries : PCICFG_MAX_VECTORS;
		c->table_reg = get32(cfg + cap + 4);
		c->pba_reg = get32(cfg + cap + 8);
		c->table_bar = c->table_reg & 7;
		c->table_off = c->table_reg & ~7u;
		c->pba_bar = c->pba_reg & 7;
		c->pba_off = c->pba_reg & ~7u;
		pba_len = (c->table_entries + 63) / 64 * 8;
		if (!in_bar(c, c->table_bar, c->table_off, 16ull * c->table_entries) ||
		    !in_bar(c, c->pba_bar, c->pba_off, pba_len)) {
			*why = "its MSI-X table or PBA is outside the BARs given to the guest";
			return -EINVAL;
		}
	}
	pcicfg_reset(c);
	return 0;
}

void pcicfg_reset(struct pcicfg *c)
{
	c->command = 0;
	c->int_line = 0;
	c->msix_ctrl = 0;
	c->bar_moves = 0;
	memset(c->bar, 0, sizeof(c->bar));
	for (unsigned b = 0; b < PCICFG_BARS; b++)
		if (c->bar_gpa[b]) {
			c->bar[b] = (uint32_t)c->bar_gpa[b] | c->bar_type[b];
			if (b + 1 < PCICFG_BARS && c->bar_hi[b + 1])
				c->bar[b + 1] = (uint32_t)(c->bar_gpa[b] >> 32);
		}
	memset(c->vec, 0, sizeof(c->vec));
	for (unsigned v = 0; v < PCICFG_MAX_VECTORS; v++)
		c->vec[v].ctrl = 1; /* masked, as after a reset */
}

/* Register dword i (offset 4i) as the guest reads it. */
static uint32_t read_dword(const struct pcicfg *c, unsigned off)
{
	unsigned cap = c->msix_cap;

	switch (off) {
	case 0x00:
	case 0x08:
	case 0x2c:
		return get32(c->dev + off);
	case 0x04:
		return (c->command | CMD_INTX_OFF) |
		       (uint32_t)((get16(c->dev + 6) & 0x06a0u) | (cap ? CFG_STATUS_CAPS : 0)) << 16;
	case 0x0c:
		return c->dev[0x0c] | (uint32_t)c->dev[0x0d] << 8; /* header type 0, single function; no BIST */
	case 0x10: case 0x14: case 0x18: case 0x1c: case 0x20: case 0x24:
		return c->bar[(off - 0x10) / 4];
	case 0x34:
		return cap;
	case 0x3c:
		return c->int_line; /* interrupt pin 0: no INTx */
	}
	if (cap && off == cap)
		return CAP_MSIX | (uint32_t)((c->msix_ctrl & (MSIX_ENABLE | MSIX_MASKALL)) | (c->nvec - 1)) << 16;
	if (cap && off == cap + 4)
		return c->table_reg;
	if (cap && off == cap + 8)
		return c->pba_reg;
	return 0;
}

static bool access_ok(unsigned off, unsigned len, unsigned limit)
{
	return (len == 1 || len == 2 || len == 4) && off % len == 0 && off < limit && len <= limit - off;
}

static uint32_t len_mask(unsigned len)
{
	return len == 4 ? 0xffffffffu : (1u << (8 * len)) - 1;
}

uint32_t pcicfg_read(struct pcicfg *c, unsigned off, unsigned len)
{
	if (!access_ok(off, len, 256))
		return len == 1 || len == 2 ? len_mask(len) : 0xffffffffu;
	return (read_dword(c, off & ~3u) >> (8 * (off & 3))) & len_mask(len);
}

/* Decides vector v's delivery from the guest's state and tells the device model of any change. */
static void update_vec(struct pcicfg *c, unsigned v)
{
	struct pcicfg_vec *e = &c->vec[v];
	bool on = (c->msix_ctrl & MSIX_ENABLE) && !(c->msix_ctrl & MSIX_MASKALL) && !(e->ctrl & 1);
	uint64_t addr = (uint64_t)e->addr_hi << 32 | e->addr_lo;

	if (on == e->on && (!on || (addr == e->on_addr && e->data == e->on_data)))
		return;
	e->on = on;
	e->on_addr = on ? addr : 0;
	e->on_data = on ? e->data : 0;
	if (c->ops && c->ops->msix)
		c->ops->msix(c->opaque, v, on, addr, e->data);
}

static void write_bar(struct pcicfg *c, unsigned b, uint32_t val)
{
	uint32_t placed, sizing;

	if (c->bar_hi[b]) {
		uint32_t mask = (uint32_t)(~(c->bar_size[b - 1] - 1) >> 32);

		c->bar[b] = val & mask;
		placed = (uint32_t)(c->bar_gpa[b - 1] >> 32);
		sizing = mask;
	} else if (c->bar_gpa[b]) {
		uint32_t mask = (uint32_t)~(c->bar_size[b] - 1) & ~0xfu;

		c->bar[b] = (val & mask) | c->bar_type[b];
		placed = (uint32_t)c->bar_gpa[b] | c->bar_type[b];
		sizing = mask | c->bar_type[b];
	} else {
		return; /* not given: stays 0 */
	}
	if (c->bar[b] != placed && c->bar[b] != sizing)
		c->bar_moves++;
}

void pcicfg_write(struct pcicfg *c, unsigned off, unsigned len, uint32_t val)
{
	unsigned reg = off & ~3u, shift = 8 * (off & 3);
	uint32_t mask, old, now;

	if (!access_ok(off, len, 256))
		return;
	mask = len_mask(len) << shift;
	old = read_dword(c, reg);
	now = (old & ~mask) | ((val << shift) & mask);
	if (reg == 0x04 && (mask & 0xffff)) {
		uint16_t cmd = (uint16_t)(now & (CMD_MEMORY | CMD_MASTER));

		if (cmd != c->command) {
			c->command = cmd;
			if (c->ops && c->ops->command)
				c->ops->command(c->opaque, cmd & CMD_MEMORY, cmd & CMD_MASTER);
		}
	} else if (reg >= 0x10 && reg <= 0x24) {
		write_bar(c, (reg - 0x10) / 4, now);
	} else if (reg == 0x3c && (mask & 0xff)) {
		c->int_line = (uint8_t)now;
	} else if (c->msix_cap && reg == c->msix_cap && (mask >> 16)) {
		uint16_t ctrl = (uint16_t)(now >> 16) & (MSIX_ENABLE | MSIX_MASKALL);

		if (ctrl != c->msix_ctrl) {
			c->msix_ctrl = ctrl;
			for (unsigned v = 0; v < c->nvec; v++)
				update_vec(c, v);
		}
	}
	/* everything else is read-only to the guest */
}

/* The table's or the PBA's range in BAR bar: [*lo, *hi). */
static bool msix_range(const struct pcicfg *c, unsigned bar, bool table, uint64_t *lo, uint64_t *hi)
{
	if (!c->msix_cap || bar != (table ? c->table_bar : c->pba_bar))
		return false;
	*lo = table ? c->table_off : c->pba_off;
	*hi = *lo + (table ? 16ull * c->table_entries : (c->table_entries + 63) / 64 * 8ull);
	return true;
}

bool pcicfg_msix_pages(const struct pcicfg *c, unsigned bar, uint64_t *start, uint64_t *len)
{
	uint64_t lo = UINT64_MAX, hi = 0, l, h;

	for (int t = 0; t < 2; t++)
		if (msix_range(c, bar, t == 0, &l, &h)) {
			lo = l < lo ? l : lo;
			hi = h > hi ? h : hi;
		}
	if (lo == UINT64_MAX)
		return false;
	*start = lo & ~(uint64_t)(PAGE_SZ - 1);
	*len = ((hi + PAGE_SZ - 1) & ~(uint64_t)(PAGE_SZ - 1)) - *start;
	return true;
}

/* One aligned dword of the table: entry e, field f (0 address low, 1 high, 2 data, 3 control). */
static void table_dword(struct pcicfg *c, unsigned e, unsigned f, uint32_t *val, bool write)
{
	struct pcicfg_vec *v = e < c->nvec ? &c->vec[e] : NULL;
	uint32_t *field;

	if (!v) {
		if (!write)
			*val = f == 3 ? 1 : 0; /* entries past what the guest sees: masked, empty */
		return;
	}
	field = f == 0 ? &v->addr_lo : f == 1 ? &v->addr_hi : f == 2 ? &v->data : &v->ctrl;
	if (!write) {
		*val = *field;
		return;
	}
	*field = f == 0 ? *val & ~3u : f == 3 ? *val & 1 : *val;
}

bool pcicfg_msix_io(struct pcicfg *c, unsigned bar, uint64_t off, void *data, unsigned len, bool write)
{
	uint64_t lo, hi;
	uint8_t *p = data;

	if (msix_range(c, bar, true, &lo, &hi) && off >= lo && off < hi) {
		if ((len != 4 && len != 8) || (off - lo) % len || len > hi - off) {
			if (!write)
				memset(data, 0xff, len);
			return true;
		}
		for (unsigned i = 0; i < len; i += 4) {
			uint64_t at = off - lo + i;
			uint32_t val = write ? get32(p + i) : 0;

			table_dword(c, (unsigned)(at / 16), (unsigned)(at % 16) / 4, &val, write);
			if (!write)
				memcpy(p + i, &val, 4);
		}
		/* one entry (aligned, at most 8 bytes): its new state once, not a half-written address */
		if (write && (off - lo) / 16 < c->nvec)
			update_vec(c, (unsigned)((off - lo) / 16));
		return true;
	}
	if (msix_range(c, bar, false, &lo, &hi) && off >= lo && off < hi) {
		if (!write)
			memset(data, 0, len); /* nothing pending: see pcicfg.h */
		return true;
	}
	return false;
}

/* ---- the bus ---- */

void pcibus_init(struct pcibus *b)
{
	memset(b, 0, sizeof(*b));
	pthread_mutex_init(&b->lock, NULL);
	b->nslots = 1; /* the host bridge */
}

void pcibus_fini(struct pcibus *b)
{
	pthread_mutex_destroy(&b->lock);
}

int pcibus_add(struct pcibus *b, struct pcicfg *c, unsigned *slot)
{
	if (b->nslots >= PCIBUS_SLOTS)
		return -ENOSPC;
	pthread_mutex_lock(&b->lock);
	*slot = b->nslots;
	b->slot[b->nslots++] = c;
	pthread_mutex_unlock(&b->lock);
	return 0;
}

void pcibus_remove(struct pcibus *b, unsigned slot)
{
	if (slot == 0 || slot >= PCIBUS_SLOTS)
		return;
	pthread_mutex_lock(&b->lock);
	b->slot[slot] = NULL;
	pthread_mutex_unlock(&b->lock);
}

static uint32_t bridge_dword(unsigned reg)
{
	switch (reg) {
	case 0x00:
		return PCIBUS_BRIDGE_ID;
	case 0x08:
		return 0x06000000u; /* class 06 (bridge), subclass 00 (host), revision 0 */
	}
	return 0;
}

void pcibus_port(struct pcibus *b, unsigned off, unsigned size, bool write, uint8_t *data)
{
	uint32_t val = 0, a;
	unsigned reg, dev;

	if (off >= PCIBUS_NR_PORTS || (size != 1 && size != 2 && size != 4))
		return;
	if (write)
		memcpy(&val, data, size);
	pthread_mutex_lock(&b->lock);
	if (off < 4) {
		/* the address register answers whole dwords at 0xcf8 only */
		if (off == 0 && size == 4) {
			if (write)
				b->addr = val & 0x80fffffcu;
			else
				val = b->addr;
		} else if (!write) {
			val = 0xffffffffu;
		}
		goto out;
	}
	a = b->addr;
	reg = (a & 0xfcu) + (off - 4);
	dev = (a >> 11) & 0x1f;
	if (!(a & 0x80000000u) || (a & 0x00ff0700u) || (reg & 3) + size > 4 || dev >= b->nslots ||
	    (dev && !b->slot[dev])) {
		val = 0xffffffffu; /* disabled, another bus or function, across a dword, or nothing there */
	} else if (dev == 0) {
		val = write ? 0 : bridge_dword(reg & ~3u) >> (8 * (reg & 3));
	} else if (write) {
		pcicfg_write(b->slot[dev], reg, size, val);
	} else {
		val = pcicfg_read(b->slot[dev], reg, size);
	}
out:
	pthread_mutex_unlock(&b->lock);
	if (!write)
		memcpy(data, &val, size);
}

bool pcibus_msix_io(struct pcibus *b, struct pcicfg *c, unsigned bar, uint64_t off, void *data, unsigned len,
		    bool write)
{
	bool done;

	pthread_mutex_lock(&b->lock);
	done = pcicfg_msix_io(c, bar, off, data, len, write);
	pthread_mutex_unlock(&b->lock);
	return done;
}
