// SPDX-License-Identifier: MIT
/*
 * blkfront: the guest side of a virtual disk (include/xenith/blkif.h).
 * Finds the disk and connects its rings through xenstore as Xen's
 * frontends do (hv/vbd.h has the keys), and kicks the backend the way the
 * disk's mode says; the load generator and tests (blk.c) drive the ring.
 */
#include "blkfront.h"

#include "hypercall.h"
#include "xenbus.h"
#include "xenbus_fe.h"

#define VDISK_READONLY 0x4u

static void fe_dir(unsigned index, char *buf, size_t size)
{
	snprintf(buf, size, "device/vbd/%u", (202u << 8) | (index << 4)); /* xvda, xvdb, ...: Xen's ids */
}

/* The backend's directory for disk index (its "backend" key): 0 or -errno. */
static int backend_dir(unsigned index, char *be, size_t size)
{
	char fe[64];

	fe_dir(index, fe, sizeof(fe));
	return xbfe_backend_dir(fe, be, size);
}

int blkfront_info(unsigned index, struct xenith_disk_info *info)
{
	char be[128], mode[16], p[160];
	uint64_t v;
	int r;

	memset(info, 0, sizeof(*info));
	r = backend_dir(index, be, sizeof(be));
	if (r < 0)
		return r == -XEN_ENOENT ? -XEN_ENOENT : r;
	if ((r = xbfe_read_u64(be, "sectors", &info->sectors)) < 0)
		return r;
	if (xbfe_read_u64(be, "info", &v) == 0 && (v & VDISK_READONLY))
		info->flags |= XENITH_DISK_RO;
	if (xbfe_read_u64(be, "feature-discard", &v) == 0 && v == 1)
		info->flags |= XENITH_DISK_DISCARD;
	if (xbfe_read_u64(be, "feature-persistent", &v) == 0 && v == 1)
		info->flags |= XENITH_DISK_PERSISTENT;
	info->nr_queues = xbfe_read_u64(be, "multi-queue-max-queues", &v) == 0 && v ? (uint32_t)v : 1;
	if (xbfe_read_u64(be, "xenith-doorbell", &v) == 0)
		info->doorbell_port = (uint32_t)v;
	snprintf(p, sizeof(p), "%s/xenith-notify", be);
	info->mode = XENITH_DISK_MODE_EXIT; /* a backend that does not say: event channels, as Xen */
	if (xenbus_read(XBT_NIL, p, mode, sizeof(mode)) >= 0) {
		if (!strcmp(mode, "ioeventfd"))
			info->mode = XENITH_DISK_MODE_IOEVENTFD;
		else if (!strcmp(mode, "poll"))
			info->mode = XENITH_DISK_MODE_POLL;
	}
	return 0;
}

struct disk_keys {
	const char *fe;
	unsigned nq;
	const uint32_t *refs, *ports;
	bool persistent;
};

/* The keys and the state in one transaction, as Xen's blkfront writes them. */
static int write_disk_keys(xenbus_transaction_t xbt, void *ctx)
{
	const struct disk_keys *k = ctx;
	char key[48], p[96];
	/* Written for one queue too (Xen's backends read 1 as absent): a reconnect must not see an old count. */
	int r = xbfe_write_u(xbt, k->fe, "multi-queue-num-queues", k->nq);

	for (unsigned q = 0; q < k->nq && r == 0; q++) {
		snprintf(key, sizeof(key), k->nq == 1 ? "ring-ref" : "queue-%u/ring-ref", q);
		r = xbfe_write_u(xbt, k->fe, key, k->refs[q]);
		snprintf(key, sizeof(key), k->nq == 1 ? "event-channel" : "queue-%u/event-channel", q);
		if (r == 0)
			r = xbfe_write_u(xbt, k->fe, key, k->ports[q]);
	}
	if (r == 0)
		r = xbfe_write_u(xbt, k->fe, "feature-persistent", k->persistent ? 1 : 0);
	if (r == 0) {
		snprintf(p, sizeof(p), "%s/protocol", k->fe);
		r = xenbus_write(xbt, p, "x86_64-abi");
	}
	if (r == 0)
		r = xbfe_write_u(xbt, k->fe, "state", XenbusStateInitialised);
	return r;
}

int blkfront_connect_rings(unsigned index, unsigned nq, const uint32_t *refs, const uint32_t *ports,
			   bool persistent)
{
	char fe[64], be[128], what[32];
	struct disk_keys k = { .fe = fe, .nq = nq, .refs = refs, .ports = ports, .persistent = persistent };
	int r;

	fe_dir(index, fe, sizeof(fe));
	r = backend_dir(index, be, sizeof(be));
	if (r < 0)
		return r;
	r = xbfe_wait_backend("blkfront", be, XenbusStateInitWait);
	if (r < 0)
		return r;
	r = xbfe_publish(write_disk_keys, &k);
	if (r < 0)
		return r;
	r = xbfe_wait_backend("blkfront", be, XenbusStateConnected);
	if (r == -XEN_EIO) {
		snprintf(what, sizeof(what), "disk %u", index);
		return xbfe_refused("blkfront", what, fe, be);
	}
	if (r == 0)
		r = xbfe_write_u(XBT_NIL, fe, "state", XenbusStateConnected);
	return r;
}

int blkfront_connect(struct blkfront *bf, unsigned index)
{
	return blkfront_connect_queues(bf, index, 1, false);
}

int blkfront_connect_queue(struct blkfront *bf, unsigned index, unsigned queue, bool persistent)
{
	if (queue != 0)
		return -XEN_EINVAL; /* queues connect together: blkfront_connect_queues() */
	return blkfront_connect_queues(bf, index, 1, persistent);
}

int blkfront_connect_queues(struct blkfront *bfs, unsigned index, unsigned nq, bool persistent)
{
	struct xenith_disk_info info;
	uint32_t refs[XENITH_DISK_MAX_QUEUES], ports[XENITH_DISK_MAX_QUEUES];
	int r;

	r = blkfront_info(index, &info);
	if (r < 0)
		return r;
	if (nq == 0 || nq > info.nr_queues || nq > XENITH_DISK_MAX_QUEUES)
		return -XEN_EINVAL;
	for (unsigned q = 0; q < nq; q++) {
		struct blkfront *bf = &bfs[q];
		int port, ref;

		memset(bf, 0, sizeof(*bf));
		bf->index = index;
		bf->queue = q;
		bf->info = info;
		bf->persistent = persistent && (info.flags & XENITH_DISK_PERSISTENT);
		bf->sring = alloc_pages(1);
		if (!bf->sring)
			return -XEN_ENOSPC;
		blkif_sring_init(bf->sring);
		blkif_front_init(&bf->ring, bf->sring);
		ref = gnttab_grant(XENITH_BACKEND_DOMID, (uint64_t)(uintptr_t)bf->sring / XENITH_PAGE_SIZE, false);
		if (ref < 0)
			return ref;
		port = evtchn_alloc_unbound(XENITH_BACKEND_DOMID);
		if (port < 0)
			return port;
		bf->ring_ref = refs[q] = (uint32_t)ref;
		bf->port = ports[q] = (uint32_t)port;
	}
	r = blkfront_connect_rings(index, nq, refs, ports, bfs[0].persistent);
	if (r < 0)
		for (unsigned q = 0; q < nq; q++)
			blkfront_release(&bfs[q]);
	return r;
}

void blkfront_release(struct blkfront *bf)
{
	evtchn_close(bf->port);
	if (gnttab_end_access(bf->ring_ref)) {
		gnttab_free(bf->ring_ref);
		free_pages(bf->sring, 1); /* else every connect would cost a page for good */
		bf->sring = NULL;
	}
}

int blkfront_disconnect_disk(unsigned index)
{
	char fe[64], be[128];
	int r = backend_dir(index, be, sizeof(be));

	fe_dir(index, fe, sizeof(fe));
	return r < 0 ? r : xbfe_reset("blkfront", fe, be);
}

int blkfront_disconnect(struct blkfront *bf)
{
	int r = blkfront_disconnect_disk(bf->index);

	blkfront_release(bf);
	return r;
}

void blkfront_push(struct blkfront *bf)
{
	if (!blkif_front_push(&bf->ring))
		return; /* the backend is awake and will see them */
	bf->kicks++;
	switch (bf->info.mode) {
	case XENITH_DISK_MODE_EXIT:
		evtchn_send(bf->port);
		break;
	case XENITH_DISK_MODE_IOEVENTFD:
		/* The value says which of the disk's rings. */
		__asm__ volatile("outl %0, %w1" : : "a"(bf->queue), "Nd"((uint16_t)bf->info.doorbell_port));
		break;
	default:
		/* poll: the backend looks by itself, unless it fell asleep after an idle spell */
		evtchn_send(bf->port);
		break;
	}
}

/*
 * spin_auto: spin up to twice the recent time a spin took to see a
 * response (at most SPIN_AUTO_MAX_NS), and stop spinning once spins keep
 * running out: a blocking wait costs a hypercall exit to the VMM and a
 * wake-up (tens of microseconds under PVM), worth paying only for waits
 * longer than that.  After SPIN_AUTO_MISSES spins in a row that ran out,
 * only every SPIN_AUTO_PROBE-th wait spins, to notice when waits get
 * short again.
 */
#define SPIN_AUTO_MAX_NS 100000ull
#define SPIN_AUTO_MISSES 4u
#define SPIN_AUTO_PROBE 32u

void blkfront_wait(struct blkfront *bf)
{
	uint64_t t0, limit = bf->spin_ns;
	bool hit = false;

	if (bf->info.mode == XENITH_DISK_MODE_POLL) {
		/* No PAUSE here: a PAUSE loop can exit to the host (pause-loop exiting) and yield the vCPU. */
		while (!blkif_front_pending_rsps(&bf->ring))
			__asm__ volatile("" ::: "memory");
		return;
	}
	t0 = monotonic_ns();
	if (bf->spin_auto) {
		if (bf->spin_misses >= SPIN_AUTO_MISSES && ++bf->spin_probe % SPIN_AUTO_PROBE)
			limit = 0;
		else if (bf->spin_hit_ewma_ns && 2 * bf->spin_hit_ewma_ns < SPIN_AUTO_MAX_NS)
			limit = 2 * bf->spin_hit_ewma_ns;
		else
			limit = SPIN_AUTO_MAX_NS;
	}
	if (limit) {
		/* Responses often follow within microseconds: look before paying for a blocking hypercall. */
		while (!(hit = blkif_front_pending_rsps(&bf->ring)))
			if (monotonic_ns() - t0 >= limit)
				break;
		if (bf->spin_auto && hit) {
			uint64_t d = monotonic_ns() - t0;

			bf->spin_hit_ewma_ns = bf->spin_hit_ewma_ns ? (7 * bf->spin_hit_ewma_ns + d) / 8 : d;
			bf->spin_misses = 0;
		} else if (bf->spin_auto && bf->spin_misses < SPIN_AUTO_MISSES) {
			bf->spin_misses++;
		}
	}
	while (!blkif_front_final_check(&bf->ring)) {
		sched_poll(&bf->port, 1, 0);
		evtchn_test_and_clear(bf->port);
		bf->waits++;
	}
}
