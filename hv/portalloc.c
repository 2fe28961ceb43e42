// SPDX-License-Identifier: MIT
#include "portalloc.h"

#include <stdio.h>
#include <string.h>

#include "acpi.h"
#include "uart8250.h"
#include "xenith/abi.h"

void port_space_init(struct port_space *s, uint32_t size)
{
	memset(s, 0, sizeof(*s));
	s->size = size;
}

void port_space_init_domain(struct port_space *s)
{
	static const struct port_range fixed[] = {
		{ 0, XENITH_HYPERCALL_PORT, "legacy PC ports (PIC, PIT, keyboard, CMOS, DMA)" },
		/* The hypercall is an outl on 0xe0; the exception stub's outb goes to 0xe2. */
		{ XENITH_HYPERCALL_PORT, 4, "hypercall and exception ports" },
		{ XENITH_BENCH_DOORBELL_PORT, XENITH_BENCH_ECHO_PORT + 4 - XENITH_BENCH_DOORBELL_PORT,
		  "bench doorbell and echo ports" },
		{ XENITH_BENCH_ECHO_PORT + 4, 0x100 - (XENITH_BENCH_ECHO_PORT + 4), "legacy PC ports (FPU)" },
		{ UART_COM1_BASE, UART_NR_PORTS, "COM1 (Linux guests' console)" },
		{ ACPI_PM1A_EVT_PORT, 8, "ACPI PM1a ports (Linux guests)" },
	};
	_Static_assert(XENITH_HYPERCALL_PORT + 4 == XENITH_BENCH_DOORBELL_PORT &&
		       XENITH_EXCEPTION_PORT < XENITH_HYPERCALL_PORT + 4 &&
		       ACPI_PM1A_CNT_PORT + 2 <= ACPI_PM1A_EVT_PORT + 8,
		       "the fixed port ranges cover abi.h's and acpi.h's ports");

	port_space_init(s, XENITH_IO_PORTS);
	for (unsigned i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		port_space_reserve(s, fixed[i].base, fixed[i].len, fixed[i].owner, NULL);
}

/* Inserts [base, base+len) at its sorted place; the caller checked it is free. */
static int insert(struct port_space *s, uint32_t base, uint32_t len, const char *owner,
		  struct errbuf *eb)
{
	unsigned at = 0;

	if (s->n >= PORT_SPACE_MAX_RANGES)
		return errbuf_set(eb, ENOSPC, "%s: the domain's I/O port table is full (%u ranges, "
				  "PORT_SPACE_MAX_RANGES)", owner, PORT_SPACE_MAX_RANGES);
	while (at < s->n && s->r[at].base < base)
		at++;
	memmove(&s->r[at + 1], &s->r[at], (s->n - at) * sizeof(s->r[0]));
	s->r[at].base = base;
	s->r[at].len = len;
	snprintf(s->r[at].owner, sizeof(s->r[at].owner), "%s", owner);
	s->n++;
	return 0;
}

int port_space_reserve(struct port_space *s, uint32_t base, uint32_t len, const char *owner,
		       struct errbuf *eb)
{
	if (len == 0 || base >= s->size || len > s->size - base)
		return errbuf_set(eb, EINVAL, "%s: I/O ports 0x%x..0x%x are not in the guest's port "
				  "space (0..0x%x)", owner, base, base + len - 1, s->size - 1);
	for (unsigned i = 0; i < s->n; i++) {
		const struct port_range *r = &s->r[i];

		if (base < r->base + r->len && r->base < base + len)
			return errbuf_set(eb, EBUSY, "%s: I/O ports 0x%x..0x%x overlap 0x%x..0x%x, "
					  "taken by %s", owner, base, base + len - 1, r->base,
					  r->base + r->len - 1, r->owner);
	}
	return insert(s, base, len, owner, eb);
}

int port_space_alloc(struct port_space *s, uint32_t len, uint32_t align, const char *owner,
		     uint32_t *base, struct errbuf *eb)
{
	uint32_t at = 0;

	if (len == 0 || align == 0 || (align & (align - 1)))
		return errbuf_set(eb, EINVAL, "%s: %u I/O ports aligned to %u: need a length and a "
				  "power-of-two alignment", owner, len, align);
	/* The gaps between sorted ranges, lowest first. */
	for (unsigned i = 0; i <= s->n; i++) {
		uint32_t gap_end = i < s->n ? s->r[i].base : s->size;

		at = (at + align - 1) & ~(align - 1);
		if (at < gap_end && len <= gap_end - at) {
			int r = insert(s, at, len, owner, eb);

			if (r == 0)
				*base = at;
			return r;
		}
		if (i < s->n && s->r[i].base + s->r[i].len > at)
			at = s->r[i].base + s->r[i].len;
	}
	return errbuf_set(eb, ENOSPC, "%s: no %u free I/O ports (aligned to %u) are left in the "
			  "guest's port space 0..0x%x (XENITH_IO_PORTS): %u ranges hold them", owner,
			  len, align, s->size - 1, s->n);
}

int port_space_release(struct port_space *s, uint32_t base)
{
	for (unsigned i = 0; i < s->n; i++) {
		if (s->r[i].base != base)
			continue;
		memmove(&s->r[i], &s->r[i + 1], (s->n - i - 1) * sizeof(s->r[0]));
		s->n--;
		return 0;
	}
	return -ENOENT;
}

const char *port_space_owner(const struct port_space *s, uint32_t port)
{
	for (unsigned i = 0; i < s->n; i++)
		if (port >= s->r[i].base && port - s->r[i].base < s->r[i].len)
			return s->r[i].owner;
	return NULL;
}
