// SPDX-License-Identifier: MIT
#include "dirty_ring.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kind.h"

static size_t ring_bytes(const struct domain *d)
{
	return (size_t)d->dirty_ring * sizeof(struct kvm_dirty_gfn);
}

static int collect_cb(void *opaque, struct errbuf *eb)
{
	return dirty_ring_collect(opaque, eb);
}

int dirty_ring_vm_init(struct domain *d, struct errbuf *eb)
{
	int want = d->cfg.dirty_ring, max, cap = KVM_CAP_DIRTY_LOG_RING_ACQ_REL;
	struct kvm_enable_cap ec;
	uint32_t entries;

	d->dirty_ring = 0;
	if (want == 0 || d->unbacked)
		return 0;
	if (d->guest_kind != &kind_pv) {
		if (want > 0)
			return errbuf_set(eb, EINVAL, "dirty_ring = %d: the dirty ring is for PV domains (the "
					  "ones that migrate); leave it unset for a %s guest", want,
					  d->guest_kind->name);
		return 0;
	}
	max = ioctl(d->vm_fd, KVM_CHECK_EXTENSION, cap);
	if (max <= 0) {
		cap = KVM_CAP_DIRTY_LOG_RING;
		max = ioctl(d->vm_fd, KVM_CHECK_EXTENSION, cap);
	}
	if (max <= 0) {
		if (want > 0)
			return errbuf_set(eb, ENOTSUP, "dirty_ring = %d: this host's KVM has no dirty ring "
					  "(KVM_CAP_DIRTY_LOG_RING); dirty_ring = 0 (or unset) uses its dirty bitmap",
					  want);
		return 0; /* auto: the bitmap */
	}
	entries = want > 0 ? (uint32_t)want : DIRTY_RING_DEFAULT;
	if ((uint64_t)entries * sizeof(struct kvm_dirty_gfn) > (uint64_t)max) {
		if (want > 0)
			return errbuf_set(eb, E2BIG, "dirty_ring = %d: this host's KVM allows %zu entries per "
					  "vCPU at most", want, (size_t)max / sizeof(struct kvm_dirty_gfn));
		entries = (uint32_t)((size_t)max / sizeof(struct kvm_dirty_gfn));
	}
	memset(&ec, 0, sizeof(ec));
	ec.cap = (uint32_t)cap;
	ec.args[0] = (uint64_t)entries * sizeof(struct kvm_dirty_gfn);
	if (ioctl(d->vm_fd, KVM_ENABLE_CAP, &ec) < 0) {
		if (want < 0)
			return 0; /* auto: a ring this KVM lists but will not give is no ring; the bitmap */
		return errbuf_set(eb, errno, "KVM_ENABLE_CAP %s (%u entries per vCPU): %s",
				  cap == KVM_CAP_DIRTY_LOG_RING ? "KVM_CAP_DIRTY_LOG_RING" :
				  "KVM_CAP_DIRTY_LOG_RING_ACQ_REL", entries, strerror(errno));
	}
	d->dirty_ring = entries;
	memmap_use_ring(&d->memmap, collect_cb, d);
	return 0;
}

int dirty_ring_vcpu_map(struct domain *d, struct vcpu *v, struct errbuf *eb)
{
	void *p;

	v->ring = NULL;
	v->ring_next = 0;
	if (!d->dirty_ring)
		return 0;
	p = mmap(NULL, ring_bytes(d), PROT_READ | PROT_WRITE, MAP_SHARED, v->fd,
		 (off_t)KVM_DIRTY_LOG_PAGE_OFFSET * sysconf(_SC_PAGESIZE));
	if (p == MAP_FAILED)
		return errbuf_set(eb, errno, "vCPU %u: mmap of its dirty ring (%u entries): %s", v->id,
				  d->dirty_ring, strerror(errno));
	v->ring = p;
	return 0;
}

void dirty_ring_vcpu_unmap(struct domain *d, struct vcpu *v)
{
	if (v->ring)
		munmap(v->ring, ring_bytes(d));
	v->ring = NULL;
}

/* The entries KVM has published on v's ring, into the memory map, each marked for reset. */
static uint32_t harvest(struct domain *d, struct vcpu *v)
{
	uint32_t n = 0, mask = d->dirty_ring - 1;

	if (!v->ring)
		return 0;
	pthread_mutex_lock(&v->ring_lock);
	for (;;) {
		struct kvm_dirty_gfn *e = &v->ring[v->ring_next & mask];

		/* Acquire: the slot and offset KVM wrote before it set DIRTY. */
		if (!(__atomic_load_n(&e->flags, __ATOMIC_ACQUIRE) & KVM_DIRTY_GFN_F_DIRTY))
			break;
		memmap_ring_mark(&d->memmap, e->slot, e->offset);
		__atomic_store_n(&e->flags, KVM_DIRTY_GFN_F_RESET, __ATOMIC_RELEASE);
		v->ring_next++;
		n++;
		if (n > mask)
			break; /* a whole ring: the rest waits for the next harvest */
	}
	pthread_mutex_unlock(&v->ring_lock);
	return n;
}

static int reset(struct domain *d, struct errbuf *eb)
{
	if (ioctl(d->vm_fd, KVM_RESET_DIRTY_RINGS, 0) < 0)
		return errbuf_set(eb, errno, "KVM_RESET_DIRTY_RINGS: %s", strerror(errno));
	return 0;
}

int dirty_ring_collect(struct domain *d, struct errbuf *eb)
{
	uint64_t n = 0;
	int r;

	if (!d->dirty_ring)
		return 0;
	for (unsigned i = 0; i < d->nr_vcpus; i++)
		n += harvest(d, &d->vcpus[i]);
	r = n ? reset(d, eb) : 0;
	return r < 0 ? r : (int)(n > INT32_MAX ? INT32_MAX : n);
}

bool dirty_ring_full(struct vcpu *v)
{
	struct domain *d = v->d;
	struct errbuf eb;

	__atomic_fetch_add(&d->dirty_ring_full, 1, __ATOMIC_RELAXED);
	harvest(d, v);
	if (reset(d, &eb) < 0) {
		domain_crash(d, v, "vCPU %u: its dirty ring is full and could not be reset: %s", v->id, eb.msg);
		return false;
	}
	return true;
}
