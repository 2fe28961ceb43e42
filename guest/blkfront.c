// SPDX-License-Identifier: MIT
/*
 * blkfront: the guest side of a virtual disk (include/xenith/blkif.h).
 * Connects a ring to the VMM's backend and kicks it the way the disk's
 * mode says; the load generator and tests (blk.c) drive the ring.
 */
#include "blkfront.h"

#include "hypercall.h"

static long disk_config(uint64_t cmd, unsigned index, const void *arg)
{
	return hypercall3(__HYPERVISOR_xenith_config, cmd, index, (uint64_t)(uintptr_t)arg);
}

int blkfront_info(unsigned index, struct xenith_disk_info *info)
{
	return (int)disk_config(XENITH_CONFIG_DISK_INFO, index, info);
}

int blkfront_connect(struct blkfront *bf, unsigned index)
{
	return blkfront_connect_queue(bf, index, 0, false);
}

int blkfront_connect_queue(struct blkfront *bf, unsigned index, unsigned queue, bool persistent)
{
	int r, port, ref;

	memset(bf, 0, sizeof(*bf));
	bf->index = index;
	bf->queue = queue;
	r = blkfront_info(index, &bf->info);
	if (r < 0)
		return r;
	if (queue >= (bf->info.nr_queues ? bf->info.nr_queues : 1))
		return -XEN_EINVAL;
	bf->persistent = persistent && (bf->info.flags & XENITH_DISK_PERSISTENT);
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
	bf->ring_ref = (uint32_t)ref;
	bf->port = (uint32_t)port;
	if (queue == 0 && !bf->persistent) {
		struct xenith_disk_connect c = { .ring_ref = bf->ring_ref, .evtchn = bf->port };

		return (int)disk_config(XENITH_CONFIG_DISK_CONNECT, index, &c);
	}
	struct xenith_disk_connect_queue cq = {
		.queue = queue, .ring_ref = bf->ring_ref, .evtchn = bf->port,
		.flags = bf->persistent ? XENITH_DISK_CONNECT_PERSISTENT : 0,
	};

	return (int)disk_config(XENITH_CONFIG_DISK_CONNECT_QUEUE, index, &cq);
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

int blkfront_disconnect(struct blkfront *bf)
{
	int r = (int)disk_config(XENITH_CONFIG_DISK_DISCONNECT, bf->index, NULL);

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
