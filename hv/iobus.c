// SPDX-License-Identifier: MIT
#include "iobus.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void iobus_init(struct iobus *bus, const char *what)
{
	memset(bus, 0, sizeof(*bus));
	bus->what = what;
}

void iobus_fini(struct iobus *bus)
{
	free(bus->ranges);
	bus->ranges = NULL;
	bus->nr = bus->cap = 0;
}

/* The index of the first range that ends above addr (nr if none). */
static unsigned first_ending_above(const struct iobus *bus, uint64_t addr)
{
	unsigned lo = 0, hi = bus->nr;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct iobus_range *r = &bus->ranges[mid];

		/* r->len >= 1 and base + len does not wrap (iobus_register) */
		if (r->base + r->len - 1 < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct iobus_range *iobus_find(const struct iobus *bus, uint64_t addr)
{
	unsigned i = first_ending_above(bus, addr);

	if (i < bus->nr && bus->ranges[i].base <= addr)
		return &bus->ranges[i];
	return NULL;
}

int iobus_register(struct iobus *bus, const char *name, uint64_t base, uint64_t len, iobus_fn fn,
		   void *opaque, struct errbuf *eb)
{
	uint64_t last = base + len - 1;
	unsigned i;

	if (len == 0 || last < base)
		return errbuf_set(eb, EINVAL, "%s %s range 0x%" PRIx64 " + 0x%" PRIx64 ": %s",
				  name, bus->what, base, len, len ? "wraps around" : "is empty");
	i = first_ending_above(bus, base);
	if (i < bus->nr && bus->ranges[i].base <= last) {
		const struct iobus_range *o = &bus->ranges[i];

		return errbuf_set(eb, EBUSY, "%s %s range 0x%" PRIx64 "-0x%" PRIx64 " overlaps %s at "
				  "0x%" PRIx64 "-0x%" PRIx64, name, bus->what, base, last, o->name,
				  o->base, o->base + o->len - 1);
	}
	if (bus->nr == bus->cap) {
		unsigned cap = bus->cap ? 2 * bus->cap : 8;
		struct iobus_range *r = realloc(bus->ranges, cap * sizeof(*r));

		if (!r)
			return errbuf_set(eb, ENOMEM, "out of memory for %s's %s range", name, bus->what);
		bus->ranges = r;
		bus->cap = cap;
	}
	memmove(&bus->ranges[i + 1], &bus->ranges[i], (bus->nr - i) * sizeof(bus->ranges[0]));
	bus->ranges[i] = (struct iobus_range){ base, len, fn, opaque, name };
	bus->nr++;
	return 0;
}

int iobus_unregister(struct iobus *bus, uint64_t base)
{
	unsigned i = first_ending_above(bus, base);

	if (i >= bus->nr || bus->ranges[i].base != base)
		return -ENOENT;
	memmove(&bus->ranges[i], &bus->ranges[i + 1], (bus->nr - i - 1) * sizeof(bus->ranges[0]));
	bus->nr--;
	return 0;
}

int iobus_port_io(const struct iobus *bus, void *vcpu, uint16_t port, unsigned size, bool in,
		  uint32_t count, uint8_t *data)
{
	struct iobus_io io = {
		.vcpu = vcpu, .addr = port, .size = size, .count = count, .write = !in, .data = data,
	};

	if (!iobus_dispatch(bus, &io) && in)
		memset(data, 0xff, (size_t)size * count);
	return io.result;
}

int iobus_mmio(const struct iobus *bus, void *vcpu, uint64_t gpa, unsigned len, bool write,
	       uint8_t data[8])
{
	struct iobus_io io = {
		.vcpu = vcpu, .addr = gpa, .size = len, .count = 1, .write = write, .data = data,
	};

	if (!iobus_dispatch(bus, &io) && !write)
		memset(data, 0xff, 8);
	return io.result;
}
