/* SPDX-License-Identifier: MIT */
/*
 * A domain's I/O port numbers: which ranges of the guest's port space
 * (0 .. XENITH_IO_PORTS-1, the ports the TSS bitmap lets a CPL-3 guest
 * use) are taken, and by whom.  Devices ask for a doorbell here instead of
 * computing one from a fixed base; the guest learns it as before (e.g.
 * xenith_disk_info.doorbell_port).  This only hands out numbers: routing
 * an exit to its handler is the I/O bus's job.
 *
 * port_space_init_domain() takes the fixed ranges first: the legacy PC
 * ports below 0x100 (including Xenith's hypercall, exception and bench
 * ports, abi.h), COM1 and the ACPI PM1a block that Linux guests use.
 * Allocation is first-fit from the lowest free port, aligned as asked.
 */
#ifndef XENITH_HV_PORTALLOC_H
#define XENITH_HV_PORTALLOC_H

#include <stdint.h>

#include "err.h"

/* Fixed ranges and devices' doorbells together; a domain with more gets -ENOSPC naming the table. */
#define PORT_SPACE_MAX_RANGES 64u

struct port_range {
	uint32_t base, len;
	char owner[56];    /* for people: "vbd0 doorbell", "hypercall port" */
};

struct port_space {
	uint32_t size;     /* ports 0 .. size-1 */
	unsigned n;        /* ranges in use, sorted by base */
	struct port_range r[PORT_SPACE_MAX_RANGES];
};

/* An empty space of size ports. */
void port_space_init(struct port_space *s, uint32_t size);
/* XENITH_IO_PORTS ports with the fixed ranges above taken. */
void port_space_init_domain(struct port_space *s);
/*
 * Takes [base, base+len) for owner: -EINVAL outside the space or len 0,
 * -EBUSY when any of it is taken (the message names the holder), -ENOSPC
 * when the range table is full.
 */
int port_space_reserve(struct port_space *s, uint32_t base, uint32_t len, const char *owner,
		       struct errbuf *eb);
/*
 * Takes the lowest free range of len ports aligned to align (a power of
 * two) for owner; its base in *base.  -ENOSPC when no such range is free
 * (or the table is full), the message saying which.
 */
int port_space_alloc(struct port_space *s, uint32_t len, uint32_t align, const char *owner,
		     uint32_t *base, struct errbuf *eb);
/* Gives back the range that starts at base; 0, or -ENOENT if none does. */
int port_space_release(struct port_space *s, uint32_t base);
/* The owner of port, or NULL when it is free. */
const char *port_space_owner(const struct port_space *s, uint32_t port);

#endif
