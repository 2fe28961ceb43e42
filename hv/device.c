// SPDX-License-Identifier: MIT
#include "device.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "domain.h"
#include "json.h"

#define DEVICE_TYPE(ops) extern const struct device_ops ops;
#include "device_types.h"
#undef DEVICE_TYPE

#define DEVICE_TYPE(ops) &ops,
const struct device_ops *const device_types[] = {
#include "device_types.h"
};
#undef DEVICE_TYPE
const unsigned device_nr_types = sizeof(device_types) / sizeof(device_types[0]);

/* A domain has a handful of devices: more than this is a config this code never meant to serve. */
#define DEVICE_MAX_PER_DOMAIN 64u

const char *device_state_name(enum device_state s)
{
	switch (s) {
	case DEVICE_CREATED: return "created";
	case DEVICE_CONNECTED: return "connected";
	case DEVICE_QUIESCED: return "quiesced";
	case DEVICE_DISCONNECTED: return "disconnected";
	case DEVICE_FAILED: return "failed";
	}
	return "?";
}

static enum device_state state_of(const struct device *dev)
{
	return (enum device_state)atomic_load(&dev->state);
}

int device_add(struct domain *d, const struct device_ops *ops, void *priv, struct device **out,
	       struct errbuf *eb)
{
	struct device *dev, **list;

	if (d->nr_devices >= DEVICE_MAX_PER_DOMAIN)
		return errbuf_set(eb, ENOSPC, "%s device: the domain has %u devices already, the most "
				  "one domain can have", ops->type, DEVICE_MAX_PER_DOMAIN);
	dev = calloc(1, sizeof(*dev));
	list = realloc(d->devices, (d->nr_devices + 1) * sizeof(*list));
	if (list)
		d->devices = list;
	if (!dev || !list) {
		free(dev);
		return errbuf_set(eb, ENOMEM, "out of memory for a %s device", ops->type);
	}
	dev->ops = ops;
	dev->d = d;
	dev->index = device_count(d, ops);
	snprintf(dev->name, sizeof(dev->name), "%s%u", ops->type, dev->index);
	atomic_init(&dev->state, DEVICE_CREATED);
	dev->priv = priv;
	d->devices[d->nr_devices++] = dev;
	if (out)
		*out = dev;
	return 0;
}

struct device *device_find(struct domain *d, const struct device_ops *ops, unsigned index)
{
	for (unsigned i = 0; i < d->nr_devices; i++)
		if (d->devices[i]->ops == ops && d->devices[i]->index == index)
			return d->devices[i];
	return NULL;
}

unsigned device_count(struct domain *d, const struct device_ops *ops)
{
	unsigned n = 0;

	for (unsigned i = 0; i < d->nr_devices; i++)
		n += d->devices[i]->ops == ops;
	return n;
}

int devices_create(struct domain *d, const struct domain_opts *opts, struct errbuf *eb)
{
	for (unsigned t = 0; t < device_nr_types; t++) {
		int r = device_types[t]->create(d, opts, eb);

		if (r < 0)
			return r; /* what was added is destroyed by devices_destroy() */
	}
	return 0;
}

int devices_connect(struct domain *d, struct errbuf *eb)
{
	for (unsigned i = 0; i < d->nr_devices; i++) {
		struct device *dev = d->devices[i];
		int r = dev->ops->connect ? dev->ops->connect(dev, eb) : 0;

		atomic_store(&dev->state, r < 0 ? DEVICE_FAILED : DEVICE_CONNECTED);
		if (r < 0)
			return r;
	}
	return 0;
}

void devices_disconnect(struct domain *d)
{
	for (unsigned i = d->nr_devices; i-- > 0;) {
		struct device *dev = d->devices[i];
		enum device_state st = state_of(dev);

		if (st != DEVICE_CONNECTED && st != DEVICE_QUIESCED && st != DEVICE_FAILED)
			continue;
		if (dev->ops->disconnect)
			dev->ops->disconnect(dev);
		atomic_store(&dev->state, DEVICE_DISCONNECTED);
	}
}

void devices_destroy(struct domain *d)
{
	devices_disconnect(d); /* nothing if the teardown did it */
	for (unsigned i = d->nr_devices; i-- > 0;) {
		struct device *dev = d->devices[i];

		if (dev->ops->destroy)
			dev->ops->destroy(dev);
		free(dev);
	}
	free(d->devices);
	d->devices = NULL;
	d->nr_devices = 0;
}

unsigned device_ms_left(uint64_t deadline_ns)
{
	uint64_t now = now_ns();

	return deadline_ns > now ? (unsigned)((deadline_ns - now + 999999) / 1000000) : 0;
}

int device_quiesce_budget(uint64_t deadline_ns, unsigned cap_ms, const char *who, unsigned *ms, char *msg,
			  size_t size)
{
	unsigned left = device_ms_left(deadline_ns);

	if (left == 0) {
		snprintf(msg, size, "%s: no time is left of the %u ms its domain's devices have to quiesce, all "
			 "of them together", who, DEVICE_QUIESCE_MS);
		return -ETIMEDOUT;
	}
	*ms = left < cap_ms ? left : cap_ms;
	return 0;
}

int device_quiesce(struct device *dev, uint64_t deadline_ns, struct errbuf *eb)
{
	int r = 0;

	if (state_of(dev) != DEVICE_CONNECTED)
		return errbuf_set(eb, EINVAL, "%s is %s, not connected: only a connected device can "
				  "be quiesced", dev->name, device_state_name(state_of(dev)));
	if (dev->ops->quiesce)
		r = dev->ops->quiesce(dev, deadline_ns, eb);
	if (r == 0)
		atomic_store(&dev->state, DEVICE_QUIESCED);
	return r;
}

int device_resume(struct device *dev, struct errbuf *eb)
{
	int r = 0;

	if (state_of(dev) != DEVICE_QUIESCED)
		return errbuf_set(eb, EINVAL, "%s is %s, not quiesced: there is nothing to resume",
				  dev->name, device_state_name(state_of(dev)));
	if (dev->ops->resume)
		r = dev->ops->resume(dev, eb);
	if (r == 0)
		atomic_store(&dev->state, DEVICE_CONNECTED);
	return r;
}

int device_save(struct device *dev, struct savebuf *out, struct errbuf *eb)
{
	if (!dev->ops->save)
		return errbuf_set(eb, ENOTSUP, "%s: save/restore of %s devices is not supported yet, so "
				  "this domain cannot be saved or migrated", dev->name, dev->ops->type);
	if (state_of(dev) != DEVICE_QUIESCED)
		return errbuf_set(eb, EINVAL, "%s is %s, not quiesced: save it quiesced", dev->name,
				  device_state_name(state_of(dev)));
	return dev->ops->save(dev, out, eb);
}

int device_restore(struct device *dev, const void *data, size_t len, struct errbuf *eb)
{
	int r;

	if (!dev->ops->restore)
		return errbuf_set(eb, ENOTSUP, "%s: save/restore of %s devices is not supported yet",
				  dev->name, dev->ops->type);
	if (state_of(dev) != DEVICE_CONNECTED && state_of(dev) != DEVICE_QUIESCED)
		return errbuf_set(eb, EINVAL, "%s is %s: only a connected device can take saved state",
				  dev->name, device_state_name(state_of(dev)));
	atomic_store(&dev->state, DEVICE_QUIESCED);
	r = dev->ops->restore(dev, data, len, eb);
	if (r < 0)
		return errbuf_prefix(eb, -r, "%s", dev->name);
	return 0;
}

/* Appends to buf; *n counts what would have been written, so an overflow shows as *n >= size. */
static void put(char *buf, size_t size, size_t *n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void put(char *buf, size_t size, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(buf + (*n < size ? *n : size), *n < size ? size - *n : 0, fmt, ap);
	va_end(ap);
	*n += k < 0 ? size : (size_t)k;
}

int devices_json(struct domain *d, char *buf, size_t size)
{
	size_t n = 0;

	put(buf, size, &n, "[");
	for (unsigned i = 0; i < d->nr_devices && n < size; i++) {
		struct device *dev = d->devices[i];
		char type[64], name[64];
		int k;

		json_escape(type, sizeof(type), dev->ops->type);
		json_escape(name, sizeof(name), dev->name);
		put(buf, size, &n, "%s{\"type\":\"%s\",\"name\":\"%s\",", i ? "," : "", type, name);
		put(buf, size, &n, "\"state\":\"%s\",\"stats\":%s", device_state_name(state_of(dev)),
		    dev->ops->stats_json ? "" : "{}");
		if (n >= size)
			break;
		if (dev->ops->stats_json) {
			k = dev->ops->stats_json(dev, buf + n, size - n);
			if (k < 0)
				return -1;
			n += (size_t)k;
		}
		put(buf, size, &n, "}");
	}
	put(buf, size, &n, "]");
	return n < size ? (int)n : -1;
}
