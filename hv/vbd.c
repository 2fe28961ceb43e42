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
#include "xenstore.h"

/* Xen's vdisk info bits (xen/include/public/io/blkif.h). */
#define VDISK_READONLY 0x4u

uint32_t vbd_devid(unsigned index)
{
	return (202u << 8) | (index << 4); /* xvda, xvdb, ...: Xen's encoding for disks 0..15 */
}

static void paths(const struct vbd *v, char *be, char *fe, size_t size)
{
	snprintf(be, size, "/local/domain/%u/backend/vbd/%u/%u", XENITH_BACKEND_DOMID, v->d->domid,
		 vbd_devid(v->index));
	snprintf(fe, size, "/local/domain/%u/device/vbd/%u", v->d->domid, vbd_devid(v->index));
}

static void set_state(struct vbd *v, enum xenbus_state st)
{
	char p[VBD_PATH_MAX + 16];

	snprintf(p, sizeof(p), "%s/state", v->be);
	xs_printf(v->store, p, "%u", (unsigned)st);
	atomic_store(&v->state, st);
}

/*
 * A connection the frontend asked for cannot be made: as Xen's
 * xenbus_dev_fatal, the reason goes to error/<backend path> of the
 * backend's domain and the backend switches to Closing; the frontend must
 * close and start again.
 */
static void fatal(struct vbd *v, int err, const char *msg)
{
	char p[VBD_PATH_MAX + 64];

	snprintf(p, sizeof(p), "/local/domain/%u/error%s/error", XENITH_BACKEND_DOMID,
		 v->be + strlen("/local/domain/0"));
	xs_printf(v->store, p, "%d %s", err, msg);
	{
		/* Xenith differs: the frontend's domain may read the reason (Xen keeps it to dom0). */
		char fe_read[16];
		const char *perms[2] = { "n0", fe_read };

		snprintf(fe_read, sizeof(fe_read), "r%u", v->d->domid);
		xs_set_perms(v->store, p, perms, 2);
	}
	snprintf(v->last_error, sizeof(v->last_error), "%s", msg);
	set_state(v, XenbusStateClosing);
}

static int read_fe_u32(struct vbd *v, const char *key, uint32_t *out, bool *present)
{
	char p[VBD_PATH_MAX + 64];
	uint64_t x;
	int r;

	snprintf(p, sizeof(p), "%s/%s", v->fe, key);
	r = xs_read_u64(v->store, p, &x);
	if (present)
		*present = r != -ENOENT;
	if (r == -ENOENT && present)
		return 0;
	if (r < 0)
		return r;
	if (x > UINT32_MAX)
		return -ERANGE;
	*out = (uint32_t)x;
	return 0;
}

/* Reads the frontend's ring details and connects every queue; 0, or fatal() was called. */
static int connect_rings(struct vbd *v)
{
	uint32_t nq = 1, order = 0, refs[XENITH_DISK_MAX_QUEUES], ports[XENITH_DISK_MAX_QUEUES];
	uint32_t want_persistent = 0;
	bool present;
	char msg[256], proto[32];
	unsigned max = blkdev_nr_queues(v->d, v->index);
	int r;

	if (read_fe_u32(v, "multi-queue-num-queues", &nq, &present) < 0 || nq == 0 || nq > max) {
		snprintf(msg, sizeof(msg), "multi-queue-num-queues: must be 1 to %u (the backend's "
			 "multi-queue-max-queues)", max);
		fatal(v, EINVAL, msg);
		return -EINVAL;
	}
	if (read_fe_u32(v, "ring-page-order", &order, &present) < 0 || order != 0) {
		fatal(v, EINVAL, "ring-page-order: rings are one page here (no max-ring-page-order offered)");
		return -EINVAL;
	}
	{
		char p[VBD_PATH_MAX + 16];

		snprintf(p, sizeof(p), "%s/protocol", v->fe);
		/* Absent means the native ABI, as Xen's; a value cut short (-E2BIG) is not x86_64-abi either. */
		r = xs_read(v->store, p, proto, sizeof(proto), NULL);
		if (r != -ENOENT && (r < 0 || strcmp(proto, "x86_64-abi"))) {
			fatal(v, EINVAL, "protocol: only x86_64-abi is served");
			return -EINVAL;
		}
	}
	if (read_fe_u32(v, "feature-persistent", &want_persistent, &present) < 0) {
		fatal(v, EINVAL, "feature-persistent: not a number");
		return -EINVAL;
	}
	for (uint32_t q = 0; q < nq; q++) {
		char key[64];

		snprintf(key, sizeof(key), nq == 1 ? "ring-ref" : "queue-%u/ring-ref", q);
		r = read_fe_u32(v, key, &refs[q], NULL);
		if (r == 0) {
			snprintf(key, sizeof(key), nq == 1 ? "event-channel" : "queue-%u/event-channel", q);
			r = read_fe_u32(v, key, &ports[q], NULL);
		}
		if (r < 0) {
			snprintf(msg, sizeof(msg), "%s: %s", key, r == -ENOENT ? "missing" : "not a number");
			fatal(v, -r, msg);
			return r;
		}
	}
	r = blkdev_connect_rings(v->d, v->index, nq, refs, ports, want_persistent == 1, msg, sizeof(msg));
	if (r < 0) {
		fatal(v, -r, msg);
		return r;
	}
	return 0;
}

static void frontend_changed(void *opaque, const char *path, const char *token)
{
	struct vbd *v = opaque;
	char p[VBD_PATH_MAX + 16];
	uint64_t fe = XenbusStateUnknown;

	(void)path;
	(void)token;
	snprintf(p, sizeof(p), "%s/state", v->fe);
	pthread_mutex_lock(&v->lock);
	if (!v->published || xs_read_u64(v->store, p, &fe) < 0)
		goto out;
	switch (fe) {
	case XenbusStateInitialised:
	case XenbusStateConnected:
		if (v->state != XenbusStateInitWait)
			break; /* connected already, or closing after an error */
		if (connect_rings(v) == 0) {
			atomic_store(&v->connected_ns, now_ns());
			atomic_fetch_add(&v->nr_connects, 1);
			set_state(v, XenbusStateConnected);
		}
		break;
	case XenbusStateClosing:
		blkdev_disconnect_rings(v->d, v->index);
		if (v->state != XenbusStateClosing)
			set_state(v, XenbusStateClosing);
		break;
	case XenbusStateClosed:
		blkdev_disconnect_rings(v->d, v->index);
		if (v->state != XenbusStateClosed)
			set_state(v, XenbusStateClosed);
		break;
	case XenbusStateInitialising:
		/* A frontend starting (again): offer the disk anew once the old connection is gone. */
		if (v->state == XenbusStateClosed || v->state == XenbusStateClosing) {
			blkdev_disconnect_rings(v->d, v->index);
			v->last_error[0] = 0;
			set_state(v, XenbusStateInitWait);
		}
		break;
	default:
		break;
	}
out:
	pthread_mutex_unlock(&v->lock);
}

int vbd_publish(struct vbd *v, struct domain *d, struct xs_store *s, unsigned index, struct errbuf *eb)
{
	const struct disk_config *dc = &d->cfg.disks[index];
	struct xenith_disk_info info;
	char be_perm[16], fe_perm[16], p[VBD_PATH_MAX + 64];
	const char *be_perms[2], *fe_perms[2];
	int r = 0;

	pthread_mutex_init(&v->lock, NULL);
	v->d = d;
	v->store = s;
	v->index = index;
	paths(v, v->be, v->fe, sizeof(v->be));
	blkdev_info(d, index, &info);
	/* Backend: dom0's, readable by the guest; frontend: the guest's, readable by dom0 (as xl). */
	snprintf(be_perm, sizeof(be_perm), "r%u", d->domid);
	snprintf(fe_perm, sizeof(fe_perm), "n%u", d->domid);
	be_perms[0] = "n0";
	be_perms[1] = be_perm;
	fe_perms[0] = fe_perm;
	fe_perms[1] = "r0";
#define W(dir, key, ...) do { \
		snprintf(p, sizeof(p), "%s/%s", dir, key); \
		if (r == 0) r = xs_printf(s, p, __VA_ARGS__); \
	} while (0)
	r = xs_mkdir(s, v->be);
	if (r == 0)
		r = xs_set_perms(s, v->be, be_perms, 2);
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
		r = xs_mkdir(s, v->fe);
	if (r == 0)
		r = xs_set_perms(s, v->fe, fe_perms, 2);
	W(v->fe, "backend", "%s", v->be);
	W(v->fe, "backend-id", "%u", XENITH_BACKEND_DOMID);
	W(v->fe, "virtual-device", "%u", vbd_devid(index));
	W(v->fe, "device-type", "disk");
	W(v->fe, "state", "%u", (unsigned)XenbusStateInitialising);
#undef W
	if (r < 0)
		return errbuf_set(eb, -r, "disk %u: xenstore: %s", index, strerror(-r));
	atomic_store(&v->state, XenbusStateInitWait);
	pthread_mutex_lock(&v->lock);
	v->published = true;
	pthread_mutex_unlock(&v->lock);
	snprintf(p, sizeof(p), "%s/state", v->fe);
	r = xs_watch(s, p, "vbd", frontend_changed, v);
	if (r < 0)
		return errbuf_set(eb, -r, "disk %u: xenstore watch on %s: %s", index, p, strerror(-r));
	v->watching = true;
	return 0;
}

void vbd_unpublish(struct vbd *v)
{
	char p[VBD_PATH_MAX + 16];

	if (!v->store)
		return;
	if (v->watching) {
		snprintf(p, sizeof(p), "%s/state", v->fe);
		xs_unwatch(v->store, p, "vbd", frontend_changed, v);
	}
	pthread_mutex_lock(&v->lock);
	v->published = false;
	pthread_mutex_unlock(&v->lock);
	xs_rm(v->store, v->be);
	xs_rm(v->store, v->fe);
	pthread_mutex_destroy(&v->lock);
	v->store = NULL;
	v->watching = false;
	atomic_store(&v->state, XenbusStateUnknown); /* the counters stay for `xenith disks` */
}
