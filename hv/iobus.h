/* SPDX-License-Identifier: MIT */
/*
 * An I/O bus: devices register the port or MMIO ranges they answer, each
 * with a handler and an opaque pointer, and an exit is dispatched by range
 * lookup (a sorted array and a binary search; kvmtool uses an rb-tree for
 * the same job).  A domain has two, one for ports and one for MMIO.
 *
 * Ranges are registered and unregistered while no vCPU runs (building the
 * domain, a reboot); dispatch takes no lock.  A device that vCPUs share
 * locks its own state in its handler.
 */
#ifndef XENITH_HV_IOBUS_H
#define XENITH_HV_IOBUS_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

/* One exit's access, as the handler sees it. */
struct iobus_io {
	void *vcpu;        /* the struct vcpu of the exit; NULL from tests and fuzz targets */
	uint64_t addr;     /* port or guest-physical address of the access */
	uint64_t offset;   /* addr minus the start of the range that claimed it */
	unsigned size;     /* bytes per access */
	uint32_t count;    /* repetitions (rep ins/outs); 1 for MMIO */
	bool write;
	uint8_t *data;     /* size * count bytes: a write's values, or where a read goes */
	int result;        /* what the access asks of the caller; handler-defined, 0 = nothing */
};

typedef void (*iobus_fn)(void *opaque, struct iobus_io *io);

struct iobus_range {
	uint64_t base, len;
	iobus_fn fn;
	void *opaque;
	const char *name;  /* for errors and listings; not copied */
};

struct iobus {
	const char *what;  /* "port" or "MMIO", for messages */
	struct iobus_range *ranges; /* sorted by base, disjoint */
	unsigned nr, cap;
};

void iobus_init(struct iobus *bus, const char *what);
void iobus_fini(struct iobus *bus);
/*
 * Claims [base, base + len) for fn(opaque).  -EINVAL for an empty range or
 * one that wraps; -EBUSY when it overlaps a registered range (the message
 * names both); -ENOMEM.
 */
int iobus_register(struct iobus *bus, const char *name, uint64_t base, uint64_t len, iobus_fn fn,
		   void *opaque, struct errbuf *eb);
/* Releases the range that starts at base; -ENOENT if none does. */
int iobus_unregister(struct iobus *bus, uint64_t base);
/* The range holding addr, or NULL. */
const struct iobus_range *iobus_find(const struct iobus *bus, uint64_t addr);

/*
 * Hands io to the range holding io->addr (filling io->offset); false when
 * no range claims it (the caller decides what unclaimed accesses do).
 * The whole access belongs to the range of its first byte.
 */
static inline bool iobus_dispatch(const struct iobus *bus, struct iobus_io *io)
{
	const struct iobus_range *r = iobus_find(bus, io->addr);

	if (!r)
		return false;
	io->offset = io->addr - r->base;
	r->fn(r->opaque, io);
	return true;
}

/*
 * A port access as KVM_EXIT_IO gives it (count accesses of size bytes):
 * dispatched, or, unclaimed, reads see all ones and writes vanish (no
 * device there).  Returns io.result.
 */
int iobus_port_io(const struct iobus *bus, void *vcpu, uint16_t port, unsigned size, bool in,
		  uint32_t count, uint8_t *data);
/* An MMIO access (KVM_EXIT_MMIO, len bytes); unclaimed reads see all ones in data[0..7]. */
int iobus_mmio(const struct iobus *bus, void *vcpu, uint64_t gpa, unsigned len, bool write,
	       uint8_t data[8]);

#endif
