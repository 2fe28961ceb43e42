/* SPDX-License-Identifier: MIT */
/*
 * The device model: a device type is one static const struct device_ops
 * (its own files: blkdev.c, bench_hooks.c, loopback.c, ...) listed once in
 * device_types.h; a domain holds a list of device instances.  The core
 * (domain.c) drives every device through the device_*() calls below at its
 * lifecycle points and names no device type.
 *
 * Lifecycle of an instance, and who calls what:
 *
 *   devices_create()      once per domain, after the build is planned: each
 *                         type's create() reads the domain's config (and
 *                         opts) and adds zero or more instances (device_add)
 *                         -> CREATED
 *   devices_connect()     after guest memory (and, for PV guests, the grant
 *                         table) exists: at every build, including the
 *                         rebuild of a reboot -> CONNECTED (FAILED if its
 *                         connect failed; the build stops with its message)
 *   devices_disconnect()  before guest memory goes: at every teardown, in
 *                         the reverse order -> DISCONNECTED
 *   devices_destroy()     when the domain goes for good, reverse order
 *
 * Quiesce/resume and save/restore are for `xenith save`, `xenith restore`
 * and migration (mig/): with the domain paused, each device is quiesced
 * (nothing in flight: requests taken from the guest have completed and
 * their responses are in guest memory), then saved; a restore builds the
 * domain from the saved config (devices created and connected as for a
 * boot), loads guest memory, the event channels and the grant table, then
 * calls each device's restore with what its save wrote.  A type without
 * save and restore makes such a domain unsavable: device_save() answers
 * -ENOTSUP naming the type; a type with save may still refuse an instance
 * as it is configured (check_save, asked before anything stops).
 *
 * Threads: the list is built by devices_create() before any vCPU or
 * control thread runs and freed by devices_destroy() after they ended, so
 * lookups (device_find) take no lock.  connect and disconnect run when no
 * vCPU runs: in domain_create() and domain_destroy() (no control server
 * then) and in a restart, under ctl_lock, which the control socket's
 * readers of state and stats hold too.  A type locks its own data against
 * its hypercalls and its own threads.
 */
#ifndef XENITH_HV_DEVICE_H
#define XENITH_HV_DEVICE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct domain;
struct domain_opts;
struct device;
struct savebuf;

enum device_state {
	DEVICE_CREATED,      /* from the config; not attached to guest memory */
	DEVICE_CONNECTED,    /* attached to this build's guest memory */
	DEVICE_QUIESCED,     /* connected, but takes no new work (device_quiesce) */
	DEVICE_DISCONNECTED, /* let go of guest memory (a teardown); connects again on a rebuild */
	DEVICE_FAILED,       /* its connect failed; disconnect still cleans up */
};

const char *device_state_name(enum device_state s);

struct device_ops {
	/* The type's name: "vbd", "bench", ...; instances are named TYPE0, TYPE1, ... */
	const char *type;
	/*
	 * Reads d->cfg (and opts) and adds this type's instances with
	 * device_add(); adding none is fine.  On failure the instances already
	 * added are destroyed by the caller (devices_destroy).
	 */
	int (*create)(struct domain *d, const struct domain_opts *opts, struct errbuf *eb);
	/* Guest memory exists; called at every build.  May leave partial state for disconnect. */
	int (*connect)(struct device *dev, struct errbuf *eb);
	/* Guest memory is about to go; copes with a partial or failed connect. */
	void (*disconnect)(struct device *dev);
	/*
	 * Optional (NULL: nothing to stop): takes no new work / takes work
	 * again.  quiesce finishes by deadline_ns (now_ns()'s clock), which
	 * all of a domain's devices share (DEVICE_QUIESCE_MS from the first):
	 * one bound per domain, however many devices and queues it has.  Past
	 * it, it fails and leaves the device taking work as before.
	 */
	int (*quiesce)(struct device *dev, uint64_t deadline_ns, struct errbuf *eb);
	int (*resume)(struct device *dev, struct errbuf *eb);
	/*
	 * Optional (NULL: -ENOTSUP).  save appends the quiesced device's state
	 * to out (lib/savebuf.h); restore takes it back on the new domain's
	 * instance (connected, its guest memory and event channels loaded):
	 * len bytes that came from a file or a network, so checked as any
	 * guest input, with errors naming what is wrong.  The device is left
	 * quiesced by restore; resume lets it run.
	 */
	int (*save)(struct device *dev, struct savebuf *out, struct errbuf *eb);
	int (*restore)(struct device *dev, const void *data, size_t len, struct errbuf *eb);
	/*
	 * Optional (NULL: a type with save takes every instance): whether this
	 * instance can be saved, or with migrate moved live to another VMM
	 * while it runs here, as it is configured and attached now.  Asked
	 * before anything stops (reloc_check_savable): 0, or -ENOTSUP with
	 * the reason in eb, naming the instance.
	 */
	int (*check_save)(struct device *dev, bool migrate, struct errbuf *eb);
	/*
	 * The device's counters as one JSON object into buf: its length, or -1
	 * when size is too small.  NULL: {}.
	 */
	int (*stats_json)(struct device *dev, char *buf, size_t size);
	/* Frees priv; called once, in any state. */
	void (*destroy)(struct device *dev);
};

struct device {
	const struct device_ops *ops;
	struct domain *d;
	char name[24];        /* TYPE + index among its type: "vbd0" */
	unsigned index;       /* among the domain's devices of its type, in creation order */
	_Atomic int state;    /* enum device_state */
	void *priv;           /* the type's own data */
};

/* Adds an instance of ops's type to d (from a create op); *out is the new device. */
int device_add(struct domain *d, const struct device_ops *ops, void *priv, struct device **out,
	       struct errbuf *eb);
/* The index-th instance of ops's type in d, or NULL. */
struct device *device_find(struct domain *d, const struct device_ops *ops, unsigned index);
/* How many instances of ops's type d has. */
unsigned device_count(struct domain *d, const struct device_ops *ops);

/* Lifecycle, for domain.c (see above). */
int devices_create(struct domain *d, const struct domain_opts *opts, struct errbuf *eb);
int devices_connect(struct domain *d, struct errbuf *eb);
void devices_disconnect(struct domain *d);
void devices_destroy(struct domain *d);

/* How long a whole domain's devices may take to quiesce, all of them together. */
#define DEVICE_QUIESCE_MS 10000u

int device_quiesce(struct device *dev, uint64_t deadline_ns, struct errbuf *eb);
/* Milliseconds left until deadline_ns (now_ns()'s clock), rounded up; 0 once it has passed. */
unsigned device_ms_left(uint64_t deadline_ns);
/*
 * A queue's share of a quiesce's deadline: 0 and *ms, the time left but
 * at most cap_ms; or, once the deadline has passed, -ETIMEDOUT with msg
 * naming who ("disk 1 queue 0") and the domain's bound.
 */
int device_quiesce_budget(uint64_t deadline_ns, unsigned cap_ms, const char *who, unsigned *ms, char *msg,
			  size_t size);
int device_resume(struct device *dev, struct errbuf *eb);
/* The device must be quiesced for both. */
int device_save(struct device *dev, struct savebuf *out, struct errbuf *eb);
int device_restore(struct device *dev, const void *data, size_t len, struct errbuf *eb);

/*
 * Every device as a JSON array of {"type","name","state","stats":{...}},
 * for the control socket's "devices" command.  Its length, or -1 when
 * size is too small.
 */
int devices_json(struct domain *d, char *buf, size_t size);

/* The registered types, in connect order (device_types.h); for tests. */
extern const struct device_ops *const device_types[];
extern const unsigned device_nr_types;

#endif
