// SPDX-License-Identifier: MIT
#include "blkdev.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "blkback.h"
#include "confine.h"
#include "domain.h"
#include "json.h"

static uint32_t mode_abi(enum disk_mode m)
{
	switch (m) {
	case DISK_MODE_EXIT: return XENITH_DISK_MODE_EXIT;
	case DISK_MODE_POLL: return XENITH_DISK_MODE_POLL;
	default: return XENITH_DISK_MODE_IOEVENTFD;
	}
}

static int domain_disks_open_all(struct domain *d, struct errbuf *eb);

/*
 * Opens and locks every disk's image, once per domain: an image listed
 * twice is refused first (two writers in one domain corrupt it as surely
 * as two domains do), then each is locked before any queue opens it.
 */
static int domain_disks_lock(struct domain *d, struct errbuf *eb)
{
	char msg[PATH_MAX + 512];
	int r;

	for (unsigned i = 0; i < d->cfg.nr_disks; i++) {
		const struct disk_config *dc = &d->cfg.disks[i];
		struct disk_lock *l = &d->disks[i].lock;

		if (l->held)
			continue; /* a restart: the image stayed locked */
		r = disk_lock_open(l, dc->path, dc->ro, i, msg, sizeof(msg));
		if (r < 0)
			return errbuf_set(eb, -r, "%s", msg);
		for (unsigned j = 0; j < i; j++) {
			const struct stat *a = &d->disks[j].lock.st, *b = &l->st;

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
		r = disk_lock_take(l, dc->path, i, msg, sizeof(msg));
		if (r < 0)
			return errbuf_set(eb, -r, "%s", msg);
	}
	return 0;
}

void domain_disks_unlock(struct domain *d)
{
	for (unsigned i = 0; i < CONFIG_MAX_DISKS; i++)
		disk_lock_release(&d->disks[i].lock);
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
static void warn_poll_oversubscribed(const struct domain *d)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned spinners = 0;

	for (unsigned i = 0; i < d->nr_disks; i++)
		if (d->cfg.disks[i].mode == DISK_MODE_POLL)
			spinners += d->disks[i].nr_queues;
	if (!spinners || cpus <= 0 || spinners + d->nr_vcpus <= (unsigned long)cpus)
		return;
	fprintf(stderr, "xenith: warning: mode=poll: %u backend thread(s) that spin and %u vCPU(s) on %ld "
		"CPU(s); poll mode needs a CPU for each, else it is slower than ioeventfd (fewer "
		"queues=, fewer vCPUs, or mode=ioeventfd)\n", spinners, d->nr_vcpus, cpus);
}

int domain_disks_open(struct domain *d, struct errbuf *eb)
{
	int r = domain_disks_open_all(d, eb);

	if (r == 0)
		warn_poll_oversubscribed(d);
	return r;
}

static int domain_disks_open_all(struct domain *d, struct errbuf *eb)
{
	int r = domain_disks_lock(d, eb);

	if (r < 0)
		return r;
	for (unsigned i = 0; i < d->cfg.nr_disks; i++) {
		const struct disk_config *dc = &d->cfg.disks[i];
		struct domain_disk *dd = &d->disks[i];

		d->nr_disks = i + 1;
		dd->nr_queues = disk_queues(d, dc);
		for (unsigned q = 0; q < dd->nr_queues; q++) {
			struct blkback_config bc = {
				.path = dc->path, .index = i, .queue = q, .mode = mode_abi(dc->mode),
				.ro = dc->ro, .direct = dc->direct, .sqpoll = dc->sqpoll,
				.persistent = dc->persistent, .same_as = &dd->lock.st,
				.thread_init = confine_backend_thread,
			};
			struct domain_disk_queue *dq = &dd->q[q];
			char msg[PATH_MAX + 128];
			int r;

			dq->d = d;
			r = blkback_open(&bc, &dq->b, msg, sizeof(msg));
			if (r < 0)
				return errbuf_set(eb, -r, "%s", msg);
			if (dc->mode == DISK_MODE_IOEVENTFD && !d->unbacked) {
				/* One port per disk; the value written says which queue. */
				struct kvm_ioeventfd io = {
					.datamatch = q, .addr = XENITH_DISK_DOORBELL_BASE + 4 * i, .len = 4,
					.fd = blkback_kick_fd(dq->b),
					.flags = KVM_IOEVENTFD_FLAG_PIO | KVM_IOEVENTFD_FLAG_DATAMATCH,
				};

				if (ioctl(d->vm_fd, KVM_IOEVENTFD, &io) < 0)
					return errbuf_set(eb, errno, "disk %u queue %u: KVM_IOEVENTFD on port "
							  "0x%llx: %s", i, q, (unsigned long long)io.addr,
							  strerror(errno));
			}
		}
	}
	return 0;
}

static void queue_disconnect(struct domain_disk_queue *dq)
{
	blkback_disconnect(dq->b);
	if (dq->port)
		evtchn_backend_unbind(dq->d, dq->port, blkback_kick_fd(dq->b));
	dq->port = 0;
}

void domain_disks_close(struct domain *d)
{
	for (unsigned i = 0; i < d->nr_disks; i++) {
		struct domain_disk *dd = &d->disks[i];

		for (unsigned q = 0; q < dd->nr_queues; q++) {
			if (!dd->q[q].b)
				continue;
			queue_disconnect(&dd->q[q]);
			blkback_close(dd->q[q].b);
		}
		memset(dd->q, 0, sizeof(dd->q));
		dd->nr_queues = 0;
	}
	d->nr_disks = 0;
}

int domain_disks_json(struct domain *d, char *buf, size_t size)
{
	size_t n = 0;
	int k;

	pthread_mutex_lock(&d->disk_lock);
	k = snprintf(buf, size, "[");
	n = k < 0 ? size : (size_t)k;
	for (unsigned i = 0; i < d->nr_disks && n < size; i++) {
		const struct disk_config *dc = &d->cfg.disks[i];
		char path[2 * PATH_MAX];

		json_escape(path, sizeof(path), dc->path);
		for (unsigned q = 0; q < d->disks[i].nr_queues && n < size; q++) {
			struct blkback_stats st;

			blkback_get_stats(d->disks[i].q[q].b, &st);
			k = snprintf(buf + n, size - n,
				     "%s{\"disk\":%u,\"queue\":%u,\"path\":\"%s\",\"mode\":\"%s\",\"ro\":%s,"
				     "\"connected\":%s,\"broken\":%s,\"persistent\":%s,\"persistent_maps\":%llu,"
				     "\"requests\":%llu,\"reads\":%llu,\"writes\":%llu,\"flushes\":%llu,"
				     "\"datasyncs\":%llu,\"discards\":%llu,\"errors\":%llu,\"bad_requests\":%llu,"
				     "\"copied\":%llu,\"in_place\":%llu,\"read_bytes\":%llu,\"write_bytes\":%llu}",
				     (i || q) ? "," : "", i, q, path, disk_mode_name(dc->mode),
				     dc->ro ? "true" : "false", st.connected ? "true" : "false",
				     st.broken ? "true" : "false", st.persistent ? "true" : "false",
				     (unsigned long long)st.persistent_maps, (unsigned long long)st.requests,
				     (unsigned long long)st.reads, (unsigned long long)st.writes,
				     (unsigned long long)st.flushes, (unsigned long long)st.datasyncs,
				     (unsigned long long)st.discards, (unsigned long long)st.errors,
				     (unsigned long long)st.bad_requests, (unsigned long long)st.copied,
				     (unsigned long long)st.in_place, (unsigned long long)st.read_bytes,
				     (unsigned long long)st.write_bytes);
			n += k < 0 ? size : (size_t)k;
		}
	}
	pthread_mutex_unlock(&d->disk_lock);
	if (n >= size)
		return -1;
	k = snprintf(buf + n, size - n, "]");
	n += k < 0 ? size : (size_t)k;
	return n < size ? (int)n : -1;
}

static void notify_guest(void *opaque)
{
	struct domain_disk_queue *dq = opaque;

	evtchn_backend_notify(dq->d, dq->port, blkback_kick_fd(dq->b));
}

/* True when page is the ring of a connected queue of any of d's disks; d->disk_lock held. */
static bool ring_page_used(struct domain *d, const void *page)
{
	for (unsigned i = 0; i < d->nr_disks; i++)
		for (unsigned q = 0; q < d->disks[i].nr_queues; q++)
			if (d->disks[i].q[q].b && blkback_ring_page(d->disks[i].q[q].b) == page)
				return true;
	return false;
}

static long queue_connect(struct domain_disk_queue *dq, grant_ref_t ring_ref, uint32_t evtchn, bool persistent)
{
	struct domain *d = dq->d;
	struct grant_map probe;
	long r;

	if (blkback_connected(dq->b))
		return -XEN_EBUSY;
	if (persistent) {
		struct xenith_disk_info info;

		blkback_info(dq->b, &info);
		if (!(info.flags & XENITH_DISK_PERSISTENT))
			return -XEN_EOPNOTSUPP; /* the disk was configured with persistent=0 */
	}
	/*
	 * One page is one ring: a page that is already another queue's ring
	 * (of this disk or another, by the same grant or another one) would
	 * have two backends consuming its requests.  A guest that swaps the
	 * entry's frame between this check and the connect fools only itself.
	 */
	r = grant_map(&d->gnttab, ring_ref, true, &probe);
	if (r < 0)
		return r; /* -errno values are Xen's */
	if (ring_page_used(d, probe.page)) {
		grant_unmap(&d->gnttab, &probe);
		return -XEN_EBUSY;
	}
	grant_unmap(&d->gnttab, &probe);
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

long domain_disk_config(struct vcpu *v, uint64_t cmd, uint64_t index, uint64_t arg)
{
	struct domain *d = v->d;
	struct domain_disk *dd;
	struct xenith_disk_info info;
	struct xenith_disk_connect c;
	struct xenith_disk_connect_queue cq;
	long r = 0;

	if (index >= d->nr_disks)
		return -XEN_ENOENT;
	dd = &d->disks[index];
	pthread_mutex_lock(&d->disk_lock);
	switch (cmd) {
	case XENITH_CONFIG_DISK_INFO:
		blkback_info(dd->q[0].b, &info);
		info.nr_queues = dd->nr_queues;
		r = domain_copy_to_guest(d, arg, &info, sizeof(info)) < 0 ? -XEN_EFAULT : 0;
		break;
	case XENITH_CONFIG_DISK_CONNECT:
		if (domain_copy_from_guest(d, &c, arg, sizeof(c)) < 0)
			r = -XEN_EFAULT;
		else
			r = queue_connect(&dd->q[0], c.ring_ref, c.evtchn, false);
		break;
	case XENITH_CONFIG_DISK_CONNECT_QUEUE:
		if (domain_copy_from_guest(d, &cq, arg, sizeof(cq)) < 0)
			r = -XEN_EFAULT;
		else if (cq.queue >= dd->nr_queues || (cq.flags & ~XENITH_DISK_CONNECT_PERSISTENT))
			r = -XEN_EINVAL;
		else
			r = queue_connect(&dd->q[cq.queue], cq.ring_ref, cq.evtchn,
					  cq.flags & XENITH_DISK_CONNECT_PERSISTENT);
		break;
	case XENITH_CONFIG_DISK_DISCONNECT:
		for (unsigned q = 0; q < dd->nr_queues; q++)
			queue_disconnect(&dd->q[q]);
		break;
	default:
		r = -XEN_ENOSYS;
		break;
	}
	pthread_mutex_unlock(&d->disk_lock);
	return r; /* -errno values are Xen's */
}
