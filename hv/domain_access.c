// SPDX-License-Identifier: MIT
/*
 * What the toolstack and the benchmark suites may know about a domain,
 * behind functions: tools/ and bench/ call these rather than reading
 * struct domain, so a change of its layout (devices instead of disks[],
 * the bench hooks as a device) is a change of this file, and every read
 * of a field another thread writes takes the lock that field lives under.
 */
#include <errno.h>
#include <string.h>

#include "blkback.h"
#include "blkdev.h"
#include "confine.h"
#include "domain.h"

const char *domain_name(const struct domain *d)
{
	return d->cfg.name;
}

uint32_t domain_id(const struct domain *d)
{
	return d->domid;
}

bool domain_ended(struct domain *d)
{
	pthread_mutex_lock(&d->lock);
	bool ended = d->ended;
	pthread_mutex_unlock(&d->lock);
	return ended;
}

bool domain_get_end(struct domain *d, struct domain_end *out)
{
	pthread_mutex_lock(&d->lock);
	bool ended = d->ended;

	if (ended)
		*out = d->end;
	else
		memset(out, 0, sizeof(*out));
	pthread_mutex_unlock(&d->lock);
	return ended;
}

const struct domain_end *domain_final_end(const struct domain *d)
{
	return &d->end;
}

int domain_vcpu_thread(struct domain *d, unsigned vcpu, pthread_t *out)
{
	int r = -ESRCH;

	if (vcpu >= d->nr_vcpus)
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	if (d->vcpus[vcpu].thread_started) {
		*out = d->vcpus[vcpu].thread;
		r = 0;
	}
	pthread_mutex_unlock(&d->lock);
	return r;
}

int domain_vcpu_tid(struct domain *d, unsigned vcpu, pid_t *tid)
{
	pid_t t = 0;

	if (vcpu >= d->nr_vcpus)
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	if (d->vcpus && d->vcpus[vcpu].thread_started) /* none between a restart's teardown and build */
		t = d->vcpus[vcpu].prof.tid;
	pthread_mutex_unlock(&d->lock);
	if (!t)
		return -ESRCH;
	*tid = t;
	return 0;
}

void domain_boot_times(const struct domain *d, struct domain_boot_times *bt)
{
	const struct vcpu *v = d->nr_vcpus && d->vcpus ? &d->vcpus[0] : NULL;

	bt->created_ns = d->created_ns;
	/* first_exit_ns and first_line_ns are published atomically; first_run_ns is for after domain_wait(). */
	bt->first_run_ns = v ? __atomic_load_n(&v->first_run_ns, __ATOMIC_ACQUIRE) : 0;
	bt->first_exit_ns = v ? __atomic_load_n(&v->first_exit_ns, __ATOMIC_ACQUIRE) : 0;
	bt->first_line_ns = __atomic_load_n(&d->console.first_line_ns, __ATOMIC_ACQUIRE);
}

const struct elf_image *domain_image(const struct domain *d)
{
	return &d->image;
}

int domain_console_log_fd(const struct domain *d)
{
	return d->console.log_fd;
}

int domain_confine_disks(struct domain *d, struct errbuf *eb)
{
	int r = 0;

	for (unsigned i = 0; r == 0 && i < d->cfg.nr_disks; i++)
		r = confine_add_path(d->cfg.disks[i].path, d->cfg.disks[i].ro, blkdev_image_stat(d, i), eb);
	return r;
}

int domain_disk_stats(struct domain *d, unsigned disk, unsigned queue, struct blkback_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (disk >= d->cfg.nr_disks || queue >= XENITH_DISK_MAX_QUEUES)
		return -EINVAL;
	return blkdev_get_stats(d, disk, queue, st) == 0 ? 0 : -ENODEV;
}

int domain_memmap_json(struct domain *d, char *buf, size_t size)
{
	return memmap_json(&d->memmap, buf, size);
}
