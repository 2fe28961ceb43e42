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
	if (gnttab_end_access(bf->ring_ref))
		gnttab_free(bf->ring_ref);
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
		break; /* poll: the backend looks by itself */
	}
}

void blkfront_wait(struct blkfront *bf)
{
	if (bf->info.mode == XENITH_DISK_MODE_POLL) {
		/* No PAUSE here: a PAUSE loop can exit to the host (pause-loop exiting) and yield the vCPU. */
		while (!blkif_front_pending_rsps(&bf->ring))
			__asm__ volatile("" ::: "memory");
		return;
	}
	if (bf->spin_ns) {
		/* Responses often follow within microseconds: look before paying for a blocking hypercall. */
		uint64_t until = monotonic_ns() + bf->spin_ns;

		while (!blkif_front_pending_rsps(&bf->ring))
			if (monotonic_ns() >= until)
				break;
	}
	while (!blkif_front_final_check(&bf->ring)) {
		sched_poll(&bf->port, 1, 0);
		evtchn_test_and_clear(bf->port);
		bf->waits++;
	}
}
