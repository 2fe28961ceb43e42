// SPDX-License-Identifier: MIT
#include "blkdev.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "blkback.h"
#include "clock.h"
#include "confine.h"
#include "device.h"
#include "disklock.h"
#include "domain.h"
#include "json.h"
#include "portalloc.h"
#include "savebuf.h"
#include "vbd.h"
#include "xsdomain.h"
#include "xenith/blkif.h"

/*
 * What the domain's disks share: one lock over every queue's connect and
 * disconnect (a ring page may serve one queue of one disk only, so a
 * connect looks at all of them) and the counters' readers.
 */
struct blk_shared {
	pthread_mutex_t lock;
	unsigned refs;           /* disks pointing here; the last one frees it */
};

struct blk_queue {
	struct domain *d;
	struct blkback *b;
	uint32_t port;           /* the guest's event channel while connected, else 0 */
};

struct blk_disk {
	struct blk_shared *shared;
	unsigned index;          /* in d->cfg.disks */
	uint32_t doorbell;       /* mode ioeventfd: the port taken at create (portalloc.h), else 0 */
	unsigned nr_queues;
	struct blk_queue q[XENITH_DISK_MAX_QUEUES];
	struct disk_lock lock;   /* from create to destroy: see blkdev.h */
	struct vbd vbd;          /* its xenstore directories and XenbusState (vbd.h), while connected */
};

const struct device_ops vbd_device_ops;

static struct blk_disk *disk_of(struct domain *d, unsigned i)
{
	struct device *dev = device_find(d, &vbd_device_ops, i);

	return dev ? dev->priv : NULL;
}

static const struct disk_config *config_of(struct domain *d, const struct blk_disk *dd)
{
	return &d->cfg.disks[dd->index];
}

unsigned blkdev_count(struct domain *d)
{
	return device_count(d, &vbd_device_ops);
}

static uint32_t mode_abi(enum disk_mode m)
{
	switch (m) {
	case DISK_MODE_EXIT: return XENITH_DISK_MODE_EXIT;
	case DISK_MODE_POLL: return XENITH_DISK_MODE_POLL;
	default: return XENITH_DISK_MODE_IOEVENTFD;
	}
}

/*
 * Opens and locks every disk's image, once per domain: an image listed
 * twice is refused first (two writers in one domain corrupt it as surely
 * as two domains do), then each is locked before any queue opens it.
 */
static int lock_images(struct domain *d, bool take, struct errbuf *eb)
{
	char msg[PATH_MAX + 512];
	int r;

	for (unsigned i = 0; i < d->cfg.nr_disks; i++) {
		const struct disk_config *dc = &d->cfg.disks[i];
		struct disk_lock *l = &disk_of(d, i)->lock;

		r = disk_lock_open(l, dc->path, dc->ro, i, msg, sizeof(msg));
		if (r < 0)
			return errbuf_set(eb, -r, "%s", msg);
		for (unsigned j = 0; j < i; j++) {
			const struct stat *a = &disk_of(d, j)->lock.st, *b = &l->st;

			if (!disk_same_file(a, b))
				continue;
			if (S_ISBLK(b->st_mode))
				return errbuf_set(eb, EINVAL, "disk %u (path=%s) and disk %u (path=%s) are the "
						  "same block device (%u:%u); list each disk once", i,
						  dc->path, j, d->cfg.disks[j].path, major(b->st_rdev),
						  minor(b->st_rdev));
			return errbuf_set(eb, EINVAL, "disk %u (path=%s) and disk %u (path=%s) are the same "
					  "file (device %u:%u, inode %llu); list each disk once", i, dc->path,
					  j, d->cfg.disks[j].path, major(b->st_dev), minor(b->st_dev),
					  (unsigned long long)b->st_ino);
		}
		if (!take)
			continue;
		r = disk_lock_take(l, dc->path, i, msg, sizeof(msg));
		if (r < 0)
			return errbuf_set(eb, -r, "%s", msg);
	}
	return 0;
}

void blkdev_drop_locks(struct domain *d)
{
	for (unsigned i = 0; i < blkdev_count(d); i++)
		disk_lock_drop(&disk_of(d, i)->lock);
}

int blkdev_take_locks(struct domain *d, unsigned wait_ms, struct errbuf *eb)
{
	uint64_t deadline = now_ns() + (uint64_t)wait_ms * 1000000ull;
	char msg[PATH_MAX + 512];

	for (unsigned i = 0; i < blkdev_count(d); i++) {
		struct disk_lock *l = &disk_of(d, i)->lock;
		int r;

		while (!l->held) {
			r = disk_lock_take(l, d->cfg.disks[i].path, i, msg, sizeof(msg));
			if (r == 0)
				break;
			/* Only a lock in the way is worth waiting for: the sender lets go as it stops. */
			if (r != -EAGAIN || now_ns() >= deadline)
				return errbuf_set(eb, -r, "%s", msg);
			usleep(1000);
		}
	}
	return 0;
}

static int vbd_create(struct domain *d, const struct domain_opts *opts, struct errbuf *eb)
{
	struct blk_shared *shared;

	if (!d->cfg.nr_disks)
		return 0;
	shared = calloc(1, sizeof(*shared));
	if (!shared)
		return errbuf_set(eb, ENOMEM, "out of memory for the disks");
	pthread_mutex_init(&shared->lock, NULL);
	for (unsigned i = 0; i < d->cfg.nr_disks; i++) {
		struct blk_disk *dd = calloc(1, sizeof(*dd));
		struct device *dev;
		char owner[40];
		int r;

		if (!dd)
			r = errbuf_set(eb, ENOMEM, "out of memory for disk %u", i);
		else
			r = device_add(d, &vbd_device_ops, dd, &dev, eb);
		if (r < 0) {
			free(dd);
			if (!shared->refs) {
				pthread_mutex_destroy(&shared->lock);
				free(shared);
			}
			return r;
		}
		dd->shared = shared;
		shared->refs++;
		dd->index = i;
		if (d->cfg.disks[i].mode != DISK_MODE_IOEVENTFD)
			continue;
		snprintf(owner, sizeof(owner), "%s doorbell", dev->name);
		r = port_space_alloc(d->ports, 4, 4, owner, &dd->doorbell, eb);
		if (r < 0)
			return r;
	}
	return lock_images(d, !(opts && opts->defer_disk_locks), eb);
}

/* The `queues` a disk gets: as configured, else one per vCPU (at most XENITH_DISK_MAX_QUEUES). */
static unsigned disk_queues(const struct domain *d, const struct disk_config *dc)
{
	if (dc->queues)
		return dc->queues;
	return d->nr_vcpus < XENITH_DISK_MAX_QUEUES ? d->nr_vcpus : XENITH_DISK_MAX_QUEUES;
}

/*
 * Poll mode spins a backend thread per queue, and a guest that polls its
 * responses spins its vCPUs: with more of them than CPUs they take turns
 * by the scheduler's time slices, and poll mode is the slowest mode.
 */
static void warn_poll_oversubscribed(struct domain *d)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned spinners = 0;

	for (unsigned i = 0; i < blkdev_count(d); i++)
		if (d->cfg.disks[i].mode == DISK_MODE_POLL)
			spinners += disk_of(d, i)->nr_queues;
	if (!spinners || cpus <= 0 || spinners + d->nr_vcpus <= (unsigned long)cpus)
		return;
	fprintf(stderr, "xenith: warning: mode=poll: %u backend thread(s) that spin and %u vCPU(s) on %ld "
		"CPU(s); poll mode needs a CPU for each, else it is slower than ioeventfd (fewer "
		"queues=, fewer vCPUs, or mode=ioeventfd)\n", spinners, d->nr_vcpus, cpus);
}

static int vbd_connect(struct device *dev, struct errbuf *eb)
{
	struct domain *d = dev->d;
	struct blk_disk *dd = dev->priv;
	const struct disk_config *dc = config_of(d, dd);
	unsigned i = dd->index;

	dd->nr_queues = disk_queues(d, dc);
	for (unsigned q = 0; q < dd->nr_queues; q++) {
		struct blkback_config bc = {
			.path = dc->path, .index = i, .queue = q, .mode = mode_abi(dc->mode),
			.doorbell_port = dd->doorbell, .ro = dc->ro, .direct = dc->direct,
			.sqpoll = dc->sqpoll, .persistent = dc->persistent, .same_as = &dd->lock.st,
			.thread_init = confine_backend_thread,
		};
		struct blk_queue *dq = &dd->q[q];
		char msg[PATH_MAX + 128];
		int r;

		dq->d = d;
		r = blkback_open(&bc, &dq->b, msg, sizeof(msg));
		if (r < 0)
			return errbuf_set(eb, -r, "%s", msg);
		if (dc->mode == DISK_MODE_IOEVENTFD && !d->unbacked) {
			/* One port per disk; the value written says which queue. */
			struct kvm_ioeventfd io = {
				.datamatch = q, .addr = dd->doorbell, .len = 4,
				.fd = blkback_kick_fd(dq->b),
				.flags = KVM_IOEVENTFD_FLAG_PIO | KVM_IOEVENTFD_FLAG_DATAMATCH,
			};

			if (ioctl(d->vm_fd, KVM_IOEVENTFD, &io) < 0)
				return errbuf_set(eb, errno, "disk %u queue %u: KVM_IOEVENTFD on port "
						  "0x%llx: %s", i, q, (unsigned long long)io.addr,
						  strerror(errno));
		}
	}
	if (i + 1 == blkdev_count(d))
		warn_poll_oversubscribed(d); /* once per build, when every disk is open */
	/* Discovery: the disk's directories in the domain's store (Linux guests have none yet). */
	return xsdomain_store(d) ? vbd_publish(&dd->vbd, d, xsdomain_store(d), i, eb) : 0;
}

static void queue_disconnect(struct blk_queue *dq)
{
	blkback_disconnect(dq->b);
	if (dq->port)
		evtchn_backend_unbind(dq->d, dq->port, blkback_kick_fd(dq->b));
	dq->port = 0;
}

static void vbd_disconnect(struct device *dev)
{
	struct blk_disk *dd = dev->priv;

	vbd_unpublish(&dd->vbd); /* no vCPU runs: no store watch is in flight */
	pthread_mutex_lock(&dd->shared->lock);
	for (unsigned q = 0; q < dd->nr_queues; q++) {
		if (!dd->q[q].b)
			continue;
		queue_disconnect(&dd->q[q]);
		blkback_close(dd->q[q].b);
	}
	memset(dd->q, 0, sizeof(dd->q));
	dd->nr_queues = 0;
	pthread_mutex_unlock(&dd->shared->lock);
}

static void vbd_destroy(struct device *dev)
{
	struct blk_disk *dd = dev->priv;

	if (!dd)
		return;
	disk_lock_release(&dd->lock);
	if (dd->doorbell)
		port_space_release(dev->d->ports, dd->doorbell);
	if (dd->shared && --dd->shared->refs == 0) {
		pthread_mutex_destroy(&dd->shared->lock);
		free(dd->shared);
	}
	free(dd);
}

/* From the domain's start to the disk's last connect through xenstore; -1 if never connected. */
static double connect_us(const struct domain *d, const struct vbd *v)
{
	uint64_t t = atomic_load(&v->xb.connected_ns);

	if (!t || !d->started_ns || t < d->started_ns)
		return -1;
	return (double)(t - d->started_ns) / 1000.0;
}

/* Queue q of disk dd as the "disks" reply's object; shared->lock held. */
static int queue_json(struct domain *d, const struct blk_disk *dd, unsigned q, bool first, char *buf,
		      size_t size)
{
	const struct disk_config *dc = config_of(d, dd);
	char path[2 * PATH_MAX];
	struct blkback_stats st;

	json_escape(path, sizeof(path), dc->path);
	blkback_get_stats(dd->q[q].b, &st);
	return snprintf(buf, size,
			"%s{\"disk\":%u,\"queue\":%u,\"path\":\"%s\",\"xenbus_state\":%d,"
			"\"connects\":%llu,\"connect_us\":%.1f,\"mode\":\"%s\",\"ro\":%s,"
			"\"connected\":%s,\"broken\":%s,\"persistent\":%s,\"persistent_maps\":%llu,"
			"\"requests\":%llu,\"reads\":%llu,\"writes\":%llu,\"flushes\":%llu,"
			"\"datasyncs\":%llu,\"discards\":%llu,\"errors\":%llu,\"bad_requests\":%llu,"
			"\"copied\":%llu,\"in_place\":%llu,\"read_bytes\":%llu,\"write_bytes\":%llu}",
			first ? "" : ",", dd->index, q, path, atomic_load(&dd->vbd.xb.state),
			(unsigned long long)atomic_load(&dd->vbd.xb.nr_connects), connect_us(d, &dd->vbd),
			disk_mode_name(dc->mode),
			dc->ro ? "true" : "false", st.connected ? "true" : "false",
			st.broken ? "true" : "false", st.persistent ? "true" : "false",
			(unsigned long long)st.persistent_maps, (unsigned long long)st.requests,
			(unsigned long long)st.reads, (unsigned long long)st.writes,
			(unsigned long long)st.flushes, (unsigned long long)st.datasyncs,
			(unsigned long long)st.discards, (unsigned long long)st.errors,
			(unsigned long long)st.bad_requests, (unsigned long long)st.copied,
			(unsigned long long)st.in_place, (unsigned long long)st.read_bytes,
			(unsigned long long)st.write_bytes);
}

/* Appends disk dd's queues to buf at *n; shared->lock held. */
static void queues_json(struct domain *d, const struct blk_disk *dd, bool first, char *buf, size_t size,
			size_t *n)
{
	for (unsigned q = 0; q < dd->nr_queues && *n < size; q++) {
		int k = queue_json(d, dd, q, first && q == 0, buf + *n, size - *n);

		*n += k < 0 ? size : (size_t)k;
	}
}

int domain_disks_json(struct domain *d, char *buf, size_t size)
{
	unsigned nr = blkdev_count(d);
	size_t n = 0;
	int k;

	k = snprintf(buf, size, "[");
	n = k < 0 ? size : (size_t)k;
	if (nr)
		pthread_mutex_lock(&disk_of(d, 0)->shared->lock);
	for (unsigned i = 0; i < nr && n < size; i++)
		queues_json(d, disk_of(d, i), n == 1, buf, size, &n);
	if (nr)
		pthread_mutex_unlock(&disk_of(d, 0)->shared->lock);
	if (n >= size)
		return -1;
	k = snprintf(buf + n, size - n, "]");
	n += k < 0 ? size : (size_t)k;
	return n < size ? (int)n : -1;
}

/*
 * A disk's stats for `xenith devices`: its configuration, the sums of its
 * queues' counters, and the queues as `xenith disks` shows them.
 */
static int vbd_stats_json(struct device *dev, char *buf, size_t size)
{
	struct domain *d = dev->d;
	struct blk_disk *dd = dev->priv;
	const struct disk_config *dc = config_of(d, dd);
	struct blkback_stats sum = { 0 };
	unsigned connected = 0;
	char path[2 * PATH_MAX];
	size_t n;
	int k;

	json_escape(path, sizeof(path), dc->path);
	pthread_mutex_lock(&dd->shared->lock);
	for (unsigned q = 0; q < dd->nr_queues; q++) {
		struct blkback_stats st;

		blkback_get_stats(dd->q[q].b, &st);
		connected += st.connected;
		sum.requests += st.requests;
		sum.reads += st.reads;
		sum.writes += st.writes;
		sum.flushes += st.flushes;
		sum.discards += st.discards;
		sum.errors += st.errors;
		sum.bad_requests += st.bad_requests;
		sum.read_bytes += st.read_bytes;
		sum.write_bytes += st.write_bytes;
	}
	k = snprintf(buf, size, "{\"disk\":%u,\"path\":\"%s\",\"mode\":\"%s\",\"ro\":%s,\"doorbell_port\":%u,"
		     "\"queues_connected\":%u,\"requests\":%llu,\"reads\":%llu,\"writes\":%llu,"
		     "\"flushes\":%llu,\"discards\":%llu,\"errors\":%llu,\"bad_requests\":%llu,"
		     "\"read_bytes\":%llu,\"write_bytes\":%llu,\"queues\":[",
		     dd->index, path, disk_mode_name(dc->mode), dc->ro ? "true" : "false", dd->doorbell,
		     connected, (unsigned long long)sum.requests, (unsigned long long)sum.reads,
		     (unsigned long long)sum.writes, (unsigned long long)sum.flushes,
		     (unsigned long long)sum.discards, (unsigned long long)sum.errors,
		     (unsigned long long)sum.bad_requests, (unsigned long long)sum.read_bytes,
		     (unsigned long long)sum.write_bytes);
	n = k < 0 ? size : (size_t)k;
	if (n < size)
		queues_json(d, dd, true, buf, size, &n);
	pthread_mutex_unlock(&dd->shared->lock);
	if (n >= size)
		return -1;
	k = snprintf(buf + n, size - n, "]}");
	n += k < 0 ? size : (size_t)k;
	return n < size ? (int)n : -1;
}

struct blkback *blkdev_queue(struct domain *d, unsigned disk, unsigned queue, uint32_t *port)
{
	struct blk_disk *dd = disk_of(d, disk);

	if (!dd || queue >= dd->nr_queues)
		return NULL;
	if (port)
		*port = dd->q[queue].port;
	return dd->q[queue].b;
}

int blkdev_get_stats(struct domain *d, unsigned disk, unsigned queue, struct blkback_stats *st)
{
	struct blk_disk *dd = disk_of(d, disk);
	int r = -ENOENT;

	if (!dd)
		return r;
	pthread_mutex_lock(&dd->shared->lock);
	if (queue < dd->nr_queues && dd->q[queue].b) {
		blkback_get_stats(dd->q[queue].b, st);
		r = 0;
	}
	pthread_mutex_unlock(&dd->shared->lock);
	return r;
}

const struct stat *blkdev_image_stat(struct domain *d, unsigned disk)
{
	struct blk_disk *dd = disk_of(d, disk);

	return dd && dd->lock.open ? &dd->lock.st : NULL;
}

static void notify_guest(void *opaque)
{
	struct blk_queue *dq = opaque;

	evtchn_backend_notify(dq->d, dq->port, blkback_kick_fd(dq->b));
}

/* True when page is the ring of a connected queue of any of d's disks; the disks' lock held. */
static bool ring_page_used(struct domain *d, const void *page)
{
	for (unsigned i = 0; i < blkdev_count(d); i++) {
		const struct blk_disk *dd = disk_of(d, i);

		for (unsigned q = 0; q < dd->nr_queues; q++)
			if (dd->q[q].b && blkback_ring_page(dd->q[q].b) == page)
				return true;
	}
	return false;
}

/*
 * Whether the page granted as ring_ref may become a queue's ring: 0,
 * -XEN_EBUSY, or the grant check's -errno (Xen's values).  One page is one
 * ring: a page that is already another queue's ring (of this disk or
 * another, by the same grant or another one) would have two backends
 * consuming its requests.  A guest that swaps the entry's frame between
 * this check and the connect fools only itself.  The disks' lock held.
 */
static int ring_page_free(struct domain *d, grant_ref_t ring_ref)
{
	struct grant_map probe;
	int r = grant_map(&d->gnttab, ring_ref, true, &probe);

	if (r < 0)
		return r;
	r = ring_page_used(d, probe.page) ? -XEN_EBUSY : 0;
	grant_unmap(&d->gnttab, &probe);
	return r;
}

static long queue_connect(struct blk_queue *dq, grant_ref_t ring_ref, uint32_t evtchn, bool persistent)
{
	struct domain *d = dq->d;
	long r;

	if (blkback_connected(dq->b))
		return -XEN_EBUSY;
	if (persistent) {
		struct xenith_disk_info info;

		blkback_info(dq->b, &info);
		if (!(info.flags & XENITH_DISK_PERSISTENT))
			return -XEN_EOPNOTSUPP; /* the disk was configured with persistent=0 */
	}
	r = ring_page_free(d, ring_ref);
	if (r < 0)
		return r; /* -errno values are Xen's */
	r = evtchn_backend_bind(d, evtchn, blkback_kick_fd(dq->b));
	if (r < 0)
		return r;
	dq->port = evtchn;
	r = blkback_connect(dq->b, &d->gnttab, ring_ref, persistent, notify_guest, dq);
	if (r < 0) {
		evtchn_backend_unbind(d, dq->port, blkback_kick_fd(dq->b));
		dq->port = 0;
	}
	return r;
}

unsigned blkdev_nr_queues(struct domain *d, unsigned index)
{
	struct blk_disk *dd = disk_of(d, index);

	return dd ? dd->nr_queues : 0;
}

void blkdev_info(struct domain *d, unsigned index, struct xenith_disk_info *info)
{
	struct blk_disk *dd = disk_of(d, index);

	blkback_info(dd->q[0].b, info);
	info->nr_queues = dd->nr_queues;
}

int blkdev_connect_rings(struct domain *d, unsigned index, unsigned nq, const uint32_t *refs,
			 const uint32_t *ports, bool persistent, char *msg, size_t msglen)
{
	struct blk_disk *dd = disk_of(d, index);
	struct xenith_disk_info info;
	long r = 0;
	unsigned q;

	if (!dd || nq == 0 || nq > dd->nr_queues) {
		snprintf(msg, msglen, "disk %u has %u queue(s), not %u", index, dd ? dd->nr_queues : 0, nq);
		return -EINVAL;
	}
	blkback_info(dd->q[0].b, &info);
	persistent = persistent && (info.flags & XENITH_DISK_PERSISTENT); /* both sides must offer it */
	pthread_mutex_lock(&dd->shared->lock);
	for (q = 0; q < nq; q++) {
		r = queue_connect(&dd->q[q], refs[q], ports[q], persistent);
		if (r < 0)
			break;
	}
	if (r < 0) {
		/* Xen's errno values are Linux's (abi.h). */
		snprintf(msg, msglen, "queue %u (ring-ref %u, event-channel %u): %s (%s)", q, refs[q],
			 ports[q], strerror((int)-r),
			 r == -XEN_EBUSY ? "the ring page or the port is in use already" :
			 r == -XEN_EINVAL ? "the port is not an unbound port for domain 0" :
			 "the ring's grant does not check out, grant_table.h");
		while (q-- > 0)
			queue_disconnect(&dd->q[q]);
	}
	pthread_mutex_unlock(&dd->shared->lock);
	return (int)r;
}

void blkdev_disconnect_rings(struct domain *d, unsigned index)
{
	struct blk_disk *dd = disk_of(d, index);

	if (!dd)
		return;
	pthread_mutex_lock(&dd->shared->lock);
	for (unsigned q = 0; q < dd->nr_queues; q++)
		queue_disconnect(&dd->q[q]);
	pthread_mutex_unlock(&dd->shared->lock);
}

/*
 * Quiesce and resume (device.h): each queue's backend stops taking
 * requests and finishes those it took (blkback_quiesce), or goes on.  A
 * queue that cannot be quiesced in time fails the whole disk, and the
 * queues already quiesced go on serving.
 */
static int vbd_quiesce(struct device *dev, uint64_t deadline_ns, struct errbuf *eb)
{
	struct blk_disk *dd = dev->priv;
	char msg[PATH_MAX + 256];
	unsigned q;
	int r = 0;

	pthread_mutex_lock(&dd->shared->lock);
	for (q = 0; q < dd->nr_queues; q++) {
		if (!dd->q[q].b)
			continue;
		char who[48];
		unsigned ms;

		snprintf(who, sizeof(who), "disk %u queue %u", dd->index, q);
		r = device_quiesce_budget(deadline_ns, BLKBACK_QUIESCE_TIMEOUT_MS, who, &ms, msg, sizeof(msg));
		if (r == 0)
			r = blkback_quiesce(dd->q[q].b, ms, msg, sizeof(msg));
		if (r < 0)
			break;
	}
	if (r < 0)
		while (q-- > 0)
			if (dd->q[q].b)
				blkback_resume(dd->q[q].b);
	pthread_mutex_unlock(&dd->shared->lock);
	return r < 0 ? errbuf_set(eb, -r, "%s", msg) : 0;
}

static int vbd_resume(struct device *dev, struct errbuf *eb)
{
	struct blk_disk *dd = dev->priv;

	(void)eb;
	pthread_mutex_lock(&dd->shared->lock);
	for (unsigned q = 0; q < dd->nr_queues; q++)
		if (dd->q[q].b)
			blkback_resume(dd->q[q].b);
	pthread_mutex_unlock(&dd->shared->lock);
	return 0;
}

/* A disk's saved state, as vbd_restore reads it (the format: blkdev.h). */
struct saved_queue {
	bool connected;
	uint32_t port;
	struct blkback_ring_state ring;
};

struct saved_disk {
	unsigned nr_queues;
	enum xenbus_state state;
	char last_error[sizeof(((struct xenbus_be *)0)->last_error)];
	struct saved_queue q[XENITH_DISK_MAX_QUEUES];
};

static int vbd_save(struct device *dev, struct savebuf *out, struct errbuf *eb)
{
	struct blk_disk *dd = dev->priv;
	struct saved_disk sv = { .nr_queues = dd->nr_queues };
	int r = 0;

	pthread_mutex_lock(&dd->shared->lock);
	for (unsigned q = 0; q < dd->nr_queues && r == 0; q++) {
		struct blk_queue *dq = &dd->q[q];

		sv.q[q].connected = dq->b && blkback_connected(dq->b);
		if (!sv.q[q].connected)
			continue;
		sv.q[q].port = dq->port;
		r = blkback_get_ring_state(dq->b, &sv.q[q].ring);
		if (r < 0)
			r = errbuf_set(eb, -r, "disk %u queue %u is not quiesced: quiesce the device before "
				       "saving it", dd->index, q);
	}
	pthread_mutex_unlock(&dd->shared->lock);
	if (r < 0)
		return r;
	xenbus_be_get_state(&dd->vbd.xb, &sv.state, sv.last_error, sizeof(sv.last_error));
	savebuf_u16(out, VBD_SAVE_VERSION);
	savebuf_u16(out, (uint16_t)sv.nr_queues);
	savebuf_u8(out, (uint8_t)sv.state);
	savebuf_str(out, sv.last_error);
	for (unsigned q = 0; q < sv.nr_queues; q++) {
		const struct saved_queue *s = &sv.q[q];

		savebuf_u8(out, s->connected);
		savebuf_u8(out, s->ring.persistent);
		savebuf_u32(out, s->port);
		savebuf_u32(out, s->ring.ring_ref);
		savebuf_u32(out, s->ring.req_cons);
		savebuf_u32(out, s->ring.rsp_prod_pvt);
	}
	if (savebuf_status(out) < 0)
		return errbuf_set(eb, ENOMEM, "disk %u: out of memory for its saved state", dd->index);
	return 0;
}

/* One queue's part of the record, checked on its own; a read past the end is the caller's to report. */
static int parse_queue(struct saveread *rd, unsigned disk, unsigned q, struct saved_queue *s,
		       struct errbuf *eb)
{
	uint8_t connected = saveread_u8(rd), persistent = saveread_u8(rd);

	s->port = saveread_u32(rd);
	s->ring.ring_ref = saveread_u32(rd);
	s->ring.req_cons = saveread_u32(rd);
	s->ring.rsp_prod_pvt = saveread_u32(rd);
	if (rd->bad)
		return 0;
	if (connected > 1 || persistent > 1)
		return errbuf_set(eb, EPROTO, "disk %u queue %u: connected %u, persistent %u: each must be "
				  "0 or 1", disk, q, connected, persistent);
	s->connected = connected;
	s->ring.persistent = persistent;
	if (!connected) {
		if (persistent || s->port || s->ring.ring_ref || s->ring.req_cons || s->ring.rsp_prod_pvt)
			return errbuf_set(eb, EPROTO, "disk %u queue %u is not connected, yet its saved "
					  "port, ring-ref or indices are not 0", disk, q);
		return 0;
	}
	if (s->port == 0 || s->port >= XENITH_NR_EVTCHN)
		return errbuf_set(eb, EPROTO, "disk %u queue %u: event channel %u is out of range (1 to %u)",
				  disk, q, s->port, XENITH_NR_EVTCHN - 1);
	return 0;
}

/* The record (blkdev.h), checked as guest input is, and against this disk's queue count. */
static int parse_saved(const struct blk_disk *dd, const void *data, size_t len, struct saved_disk *sv,
		       struct errbuf *eb)
{
	struct saveread rd;
	unsigned version, connected = 0;
	uint8_t state;
	int r;

	memset(sv, 0, sizeof(*sv));
	saveread_init(&rd, data, len);
	version = saveread_u16(&rd);
	if (!rd.bad && version != VBD_SAVE_VERSION)
		return errbuf_set(eb, EPROTO, "disk %u: saved state of version %u; this build reads "
				  "version %u", dd->index, version, VBD_SAVE_VERSION);
	sv->nr_queues = saveread_u16(&rd);
	state = saveread_u8(&rd);
	saveread_str(&rd, sv->last_error, sizeof(sv->last_error)); /* a failure shows in rd.bad */
	if (rd.bad)
		return errbuf_set(eb, EPROTO, "disk %u: the saved state (%zu bytes) is cut short in its "
				  "head (version, queues, xenbus state, last error of at most %zu bytes)",
				  dd->index, len, sizeof(sv->last_error) - 1);
	if (sv->nr_queues != dd->nr_queues)
		return errbuf_set(eb, EINVAL, "disk %u was saved with %u queue(s); here it has %u: restore "
				  "with the config (queues=, vcpus=) it was saved with", dd->index,
				  sv->nr_queues, dd->nr_queues);
	if (state > XenbusStateReconfigured)
		return errbuf_set(eb, EPROTO, "disk %u: saved xenbus state %u is not a XenbusState",
				  dd->index, state);
	sv->state = (enum xenbus_state)state;
	for (unsigned q = 0; q < sv->nr_queues; q++) {
		r = parse_queue(&rd, dd->index, q, &sv->q[q], eb);
		if (r < 0)
			return r;
		if (rd.bad)
			return errbuf_set(eb, EPROTO, "disk %u: the saved state (%zu bytes) is cut short in "
					  "queue %u of %u", dd->index, len, q, sv->nr_queues);
		/* A frontend connects queues 0..n-1 (vbd.c): any other pattern is made up. */
		if (sv->q[q].connected && connected != q)
			return errbuf_set(eb, EPROTO, "disk %u: queue %u is saved connected, queue %u not",
					  dd->index, q, connected);
		connected += sv->q[q].connected;
	}
	if (saveread_done(&rd) < 0)
		return errbuf_set(eb, EPROTO, "disk %u: %zu byte(s) after the end of the saved state",
				  dd->index, saveread_left(&rd));
	if ((connected > 0) != (sv->state == XenbusStateConnected))
		return errbuf_set(eb, EPROTO, "disk %u: saved with %u queue(s) connected and xenbus state "
				  "%u; connected queues go with state %u (Connected) and only with it",
				  dd->index, connected, state, XenbusStateConnected);
	return 0;
}

/* Binds the saved port and attaches the backend to the saved ring; the disks' lock held. */
static int queue_restore(struct blk_queue *dq, unsigned disk, unsigned q, const struct saved_queue *s,
			 struct errbuf *eb)
{
	struct domain *d = dq->d;
	char msg[PATH_MAX + 256];
	int r;

	r = ring_page_free(d, s->ring.ring_ref);
	if (r == -XEN_EBUSY)
		return errbuf_set(eb, EINVAL, "disk %u queue %u: ring-ref %u: that page is another queue's "
				  "ring already", disk, q, s->ring.ring_ref);
	if (r < 0)
		return errbuf_set(eb, EINVAL, "disk %u queue %u: ring-ref %u: the guest's grant of its ring "
				  "page does not check out in the restored grant table (%s)", disk, q,
				  s->ring.ring_ref, strerror(-r));
	r = evtchn_backend_bind(d, s->port, blkback_kick_fd(dq->b));
	if (r < 0)
		return errbuf_set(eb, EINVAL, "disk %u queue %u: event channel %u %s", disk, q, s->port,
				  r == -EBUSY ? "is bound to a backend already (another queue's?)" :
				  "in the restored event-channel table is not an unbound port for the "
				  "backend's domain 0 (the table must be restored first, its backend ports "
				  "unbound)");
	dq->port = s->port;
	r = blkback_connect_restored(dq->b, &d->gnttab, &s->ring, notify_guest, dq, msg, sizeof(msg));
	if (r < 0) {
		evtchn_backend_unbind(d, dq->port, blkback_kick_fd(dq->b));
		dq->port = 0;
		return errbuf_set(eb, r == -ENOMEM || r == -EPROTO ? -r : EINVAL, "%s", msg);
	}
	return 0;
}

/*
 * Takes back vbd_save's record on a freshly built domain's disk (opened,
 * not connected to any ring), after the guest's memory, event channels and
 * grant table: binds each connected queue's port, attaches its backend to
 * the ring from the saved indices (quiesced until resume), and sets the
 * xenbus state as it was, all or nothing.
 */
static int vbd_restore(struct device *dev, const void *data, size_t len, struct errbuf *eb)
{
	struct blk_disk *dd = dev->priv;
	struct saved_disk sv;
	unsigned q = 0;
	int r;

	r = parse_saved(dd, data, len, &sv, eb);
	if (r < 0)
		return r;
	pthread_mutex_lock(&dd->shared->lock);
	for (unsigned i = 0; i < dd->nr_queues && r == 0; i++)
		if (!dd->q[i].b || blkback_connected(dd->q[i].b))
			r = errbuf_set(eb, EBUSY, "disk %u queue %u is %s: saved state goes to a disk as a "
				       "build leaves it", dd->index, i,
				       dd->q[i].b ? "connected already" : "not open");
	for (; r == 0 && q < sv.nr_queues && sv.q[q].connected; q++) {
		r = queue_restore(&dd->q[q], dd->index, q, &sv.q[q], eb);
		if (r < 0)
			break;
	}
	if (r < 0)
		while (q-- > 0)
			queue_disconnect(&dd->q[q]);
	pthread_mutex_unlock(&dd->shared->lock);
	if (r < 0)
		return r;
	/* Outside the disks' lock: the store's watch takes the xenbus lock first, then the disks'. */
	if (xenbus_be_restore_state(&dd->vbd.xb, sv.state, sv.last_error) < 0) {
		pthread_mutex_lock(&dd->shared->lock);
		while (q-- > 0)
			queue_disconnect(&dd->q[q]);
		pthread_mutex_unlock(&dd->shared->lock);
		return errbuf_set(eb, EINVAL, "disk %u: saved with xenbus state %u, and this domain %s",
				  dd->index, (unsigned)sv.state, xsdomain_store(dev->d) ?
				  "did not publish the disk" : "has no store (a guest kind without xenstore)");
	}
	return 0;
}

const struct device_ops vbd_device_ops = {
	.type = "vbd",
	.create = vbd_create,
	.connect = vbd_connect,
	.disconnect = vbd_disconnect,
	.quiesce = vbd_quiesce,
	.resume = vbd_resume,
	.save = vbd_save,
	.restore = vbd_restore,
	.stats_json = vbd_stats_json,
	.destroy = vbd_destroy,
};
