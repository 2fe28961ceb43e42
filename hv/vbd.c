// SPDX-License-Identifier: MIT
/*
 * The block device's half of xenstore: each disk's backend and frontend
 * directories, with Xen's blkif key names, and the XenbusState machine that
 * connects the disk's rings when the frontend says it is ready (hv/vbd.h).
 */
#include "vbd.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "blkdev.h"
#include "domain.h"
#include "xenbus_be.h"
#include "xenstore.h"

/* Xen's vdisk info bits (xen/include/public/io/blkif.h). */
#define VDISK_READONLY 0x4u

uint32_t vbd_devid(unsigned index)
{
	return (202u << 8) | (index << 4); /* xvda, xvdb, ...: Xen's encoding for disks 0..15 */
}

static int connect_rings(struct xenbus_be *v)
{
	uint32_t nq = 1, order = 0, refs[XENITH_DISK_MAX_QUEUES], ports[XENITH_DISK_MAX_QUEUES];
	uint32_t want_persistent = 0;
	bool present;
	char msg[256], proto[32];
	unsigned max = blkdev_nr_queues(v->d, v->index);
	int r;

	if (xenbus_be_read_u32(v, "multi-queue-num-queues", &nq, &present) < 0 || nq == 0 || nq > max) {
		snprintf(msg, sizeof(msg), "multi-queue-num-queues: must be 1 to %u (the backend's "
			 "multi-queue-max-queues)", max);
		xenbus_be_fatal(v, EINVAL, msg);
		return -EINVAL;
	}
	if (xenbus_be_read_u32(v, "ring-page-order", &order, &present) < 0 || order != 0) {
		xenbus_be_fatal(v, EINVAL, "ring-page-order: rings are one page here (no max-ring-page-order offered)");
		return -EINVAL;
	}
	{
		char p[XENBUS_BE_PATH_MAX + 16];

		snprintf(p, sizeof(p), "%s/protocol", v->fe);
		/* Absent means the native ABI, as Xen's; a value cut short (-E2BIG) is not x86_64-abi either. */
		r = xs_read(v->store, p, proto, sizeof(proto), NULL);
		if (r != -ENOENT && (r < 0 || strcmp(proto, "x86_64-abi"))) {
			xenbus_be_fatal(v, EINVAL, "protocol: only x86_64-abi is served");
			return -EINVAL;
		}
	}
	if (xenbus_be_read_u32(v, "feature-persistent", &want_persistent, &present) < 0) {
		xenbus_be_fatal(v, EINVAL, "feature-persistent: not a number");
		return -EINVAL;
	}
	for (uint32_t q = 0; q < nq; q++) {
		char key[64];

		snprintf(key, sizeof(key), nq == 1 ? "ring-ref" : "queue-%u/ring-ref", q);
		r = xenbus_be_read_u32(v, key, &refs[q], NULL);
		if (r == 0) {
			snprintf(key, sizeof(key), nq == 1 ? "event-channel" : "queue-%u/event-channel", q);
			r = xenbus_be_read_u32(v, key, &ports[q], NULL);
		}
		if (r < 0) {
			snprintf(msg, sizeof(msg), "%s: %s", key, r == -ENOENT ? "missing" : "not a number");
			xenbus_be_fatal(v, -r, msg);
			return r;
		}
	}
	r = blkdev_connect_rings(v->d, v->index, nq, refs, ports, want_persistent == 1, msg, sizeof(msg));
	if (r < 0) {
		xenbus_be_fatal(v, -r, msg);
		return r;
	}
	return 0;
}

static void vbd_disconnect(struct xenbus_be *v)
{
	blkdev_disconnect_rings(v->d, v->index);
}

static const struct xenbus_be_ops vbd_ops = {
	.kind = "vbd",
	.connect = connect_rings,
	.disconnect = vbd_disconnect,
};

int vbd_publish(struct vbd *vbd, struct domain *d, struct xs_store *s, unsigned index, struct errbuf *eb)
{
	const struct disk_config *dc = &d->cfg.disks[index];
	struct xenbus_be *v = &vbd->xb;
	struct xenith_disk_info info;
	char be[XENBUS_BE_PATH_MAX], fe[XENBUS_BE_PATH_MAX], p[XENBUS_BE_PATH_MAX + 64], what[32];
	int r = 0;

	snprintf(be, sizeof(be), "/local/domain/%u/backend/vbd/%u/%u", XENITH_BACKEND_DOMID, d->domid,
		 vbd_devid(index));
	snprintf(fe, sizeof(fe), "/local/domain/%u/device/vbd/%u", d->domid, vbd_devid(index));
	xenbus_be_init(v, &vbd_ops, d, s, index, be, fe);
	blkdev_info(d, index, &info);
#define W(dir, key, ...) do { \
		snprintf(p, sizeof(p), "%s/%s", dir, key); \
		if (r == 0) r = xs_printf(s, p, __VA_ARGS__); \
	} while (0)
	r = xenbus_be_mkdir(v, true);
	W(v->be, "frontend", "%s", v->fe);
	W(v->be, "frontend-id", "%u", d->domid);
	W(v->be, "online", "1");
	W(v->be, "params", "%s", dc->path);
	W(v->be, "type", "%s", "file");
	W(v->be, "mode", "%s", dc->ro ? "r" : "w");
	W(v->be, "device-type", "disk");
	W(v->be, "dev", "xvd%c", 'a' + index);
	W(v->be, "removable", "0");
	W(v->be, "sectors", "%" PRIu64, info.sectors);
	W(v->be, "sector-size", "%u", XENITH_SECTOR_SIZE);
	W(v->be, "physical-sector-size", "%u", XENITH_SECTOR_SIZE);
	W(v->be, "info", "%u", (info.flags & XENITH_DISK_RO) ? VDISK_READONLY : 0u);
	W(v->be, "feature-flush-cache", "1");
	W(v->be, "feature-discard", "%u", (info.flags & XENITH_DISK_DISCARD) ? 1u : 0u);
	if (info.flags & XENITH_DISK_DISCARD) {
		W(v->be, "discard-granularity", "%u", XENITH_SECTOR_SIZE);
		W(v->be, "discard-alignment", "0");
		W(v->be, "discard-secure", "0");
	}
	W(v->be, "feature-persistent", "%u", (info.flags & XENITH_DISK_PERSISTENT) ? 1u : 0u);
	W(v->be, "multi-queue-max-queues", "%u", info.nr_queues);
	/* Xenith's own: how the frontend kicks (blkif.h). */
	W(v->be, "xenith-notify", "%s", disk_mode_name(dc->mode));
	W(v->be, "xenith-doorbell", "%u", info.doorbell_port);
	W(v->be, "state", "%u", (unsigned)XenbusStateInitWait);
	if (r == 0)
		r = xenbus_be_mkdir(v, false);
	W(v->fe, "backend", "%s", v->be);
	W(v->fe, "backend-id", "%u", XENITH_BACKEND_DOMID);
	W(v->fe, "virtual-device", "%u", vbd_devid(index));
	W(v->fe, "device-type", "disk");
	W(v->fe, "state", "%u", (unsigned)XenbusStateInitialising);
#undef W
	if (r < 0)
		return errbuf_set(eb, -r, "disk %u: xenstore: %s", index, strerror(-r));
	snprintf(what, sizeof(what), "disk %u", index);
	return xenbus_be_start(v, what, eb);
}

void vbd_unpublish(struct vbd *vbd)
{
	xenbus_be_stop(&vbd->xb); /* the counters stay for `xenith disks` */
}
