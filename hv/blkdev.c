// SPDX-License-Identifier: MIT
#include "blkdev.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "blkback.h"
#include "domain.h"

static uint32_t mode_abi(enum disk_mode m)
{
	switch (m) {
	case DISK_MODE_EXIT: return XENITH_DISK_MODE_EXIT;
	case DISK_MODE_POLL: return XENITH_DISK_MODE_POLL;
	default: return XENITH_DISK_MODE_IOEVENTFD;
	}
}

int domain_disks_open(struct domain *d, struct errbuf *eb)
{
	for (unsigned i = 0; i < d->cfg.nr_disks; i++) {
		const struct disk_config *dc = &d->cfg.disks[i];
		struct blkback_config bc = {
			.path = dc->path, .index = i, .mode = mode_abi(dc->mode),
			.ro = dc->ro, .direct = dc->direct, .sqpoll = dc->sqpoll,
		};
		struct domain_disk *dd = &d->disks[i];
		char msg[PATH_MAX + 128];
		int r;

		dd->d = d;
		r = blkback_open(&bc, &dd->b, msg, sizeof(msg));
		if (r < 0)
			return errbuf_set(eb, -r, "%s", msg);
		d->nr_disks = i + 1;
		if (dc->mode == DISK_MODE_IOEVENTFD) {
			struct kvm_ioeventfd io = {
				.addr = XENITH_DISK_DOORBELL_BASE + 4 * i, .len = 4,
				.fd = blkback_kick_fd(dd->b), .flags = KVM_IOEVENTFD_FLAG_PIO,
			};

			if (ioctl(d->vm_fd, KVM_IOEVENTFD, &io) < 0)
				return errbuf_set(eb, errno, "disk %u: KVM_IOEVENTFD on port 0x%llx: %s", i,
						  (unsigned long long)io.addr, strerror(errno));
		}
	}
	return 0;
}

void domain_disks_close(struct domain *d)
{
	for (unsigned i = 0; i < d->nr_disks; i++) {
		struct domain_disk *dd = &d->disks[i];

		if (!dd->b)
			continue;
		blkback_disconnect(dd->b);
		if (dd->port)
			evtchn_backend_unbind(d, dd->port, blkback_kick_fd(dd->b));
		blkback_close(dd->b);
		memset(dd, 0, sizeof(*dd));
	}
	d->nr_disks = 0;
}

static void notify_guest(void *opaque)
{
	struct domain_disk *dd = opaque;

	evtchn_backend_notify(dd->d, dd->port, blkback_kick_fd(dd->b));
}

long domain_disk_config(struct vcpu *v, uint64_t cmd, uint64_t index, uint64_t arg)
{
	struct domain *d = v->d;
	struct domain_disk *dd;
	struct xenith_disk_info info;
	struct xenith_disk_connect c;
	long r = 0;

	if (index >= d->nr_disks)
		return -XEN_ENOENT;
	dd = &d->disks[index];
	pthread_mutex_lock(&d->disk_lock);
	switch (cmd) {
	case XENITH_CONFIG_DISK_INFO:
		blkback_info(dd->b, &info);
		r = domain_copy_to_guest(d, arg, &info, sizeof(info)) < 0 ? -XEN_EFAULT : 0;
		break;
	case XENITH_CONFIG_DISK_CONNECT:
		if (domain_copy_from_guest(d, &c, arg, sizeof(c)) < 0) {
			r = -XEN_EFAULT;
			break;
		}
		if (blkback_connected(dd->b)) {
			r = -XEN_EBUSY;
			break;
		}
		r = evtchn_backend_bind(d, c.evtchn, blkback_kick_fd(dd->b));
		if (r < 0)
			break;
		dd->port = c.evtchn;
		r = blkback_connect(dd->b, &d->gnttab, c.ring_ref, notify_guest, dd);
		if (r < 0) {
			evtchn_backend_unbind(d, dd->port, blkback_kick_fd(dd->b));
			dd->port = 0;
		}
		break;
	case XENITH_CONFIG_DISK_DISCONNECT:
		blkback_disconnect(dd->b);
		if (dd->port)
			evtchn_backend_unbind(d, dd->port, blkback_kick_fd(dd->b));
		dd->port = 0;
		break;
	default:
		r = -XEN_ENOSYS;
		break;
	}
	pthread_mutex_unlock(&d->disk_lock);
	return r; /* -errno values are Xen's */
}
