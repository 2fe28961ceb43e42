// SPDX-License-Identifier: MIT
#include "memmap.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "json.h"

static const char *const type_names[] = {
	[MEMMAP_RAM] = "ram", [MEMMAP_SPECIAL] = "special", [MEMMAP_HOLE] = "hole", [MEMMAP_DEVICE] = "device",
};

void memmap_init(struct memmap *mm, int vm_fd)
{
	memset(mm, 0, sizeof(*mm));
	mm->vm_fd = vm_fd;
}

void memmap_release(struct memmap *mm)
{
	for (unsigned i = 0; i < mm->nr; i++) {
		free(mm->region[i].ring_dirty);
		mm->region[i].ring_dirty = NULL;
	}
}

void memmap_reset(struct memmap *mm, int vm_fd)
{
	memmap_release(mm);
	memmap_init(mm, vm_fd);
}

void memmap_use_ring(struct memmap *mm, int (*collect)(void *opaque, struct errbuf *eb), void *opaque)
{
	mm->ring = true;
	mm->collect = collect;
	mm->collect_opaque = opaque;
}

void memmap_ring_mark(struct memmap *mm, uint32_t slot, uint64_t offset)
{
	for (unsigned i = 0; i < mm->nr; i++) {
		struct memmap_region *r = &mm->region[i];

		if (r->type == MEMMAP_RAM && r->slot == (int)slot && r->ring_dirty) {
			if (offset < r->size / MEMMAP_PAGE)
				__atomic_fetch_or(&r->ring_dirty[offset / 64], 1ull << (offset % 64),
						  __ATOMIC_RELAXED);
			return;
		}
	}
}

static bool overlaps(const struct memmap_region *r, uint64_t gpa, uint64_t size)
{
	return gpa < r->gpa + r->size && r->gpa < gpa + size;
}

/* Checks and fills the next free entry; returns its index or -errno. */
static int add(struct memmap *mm, enum memmap_type type, const char *name, uint64_t gpa,
	       uint64_t size, struct errbuf *eb)
{
	struct memmap_region *r = NULL;

	if (!size || (gpa | size) % MEMMAP_PAGE || gpa + size < gpa)
		return errbuf_set(eb, EINVAL, "guest memory region %s at 0x%" PRIx64 " + 0x%" PRIx64
				  ": must be whole pages, not empty, below 2^64", name, gpa, size);
	for (unsigned i = 0; i < mm->nr; i++) {
		const struct memmap_region *o = &mm->region[i];

		if (o->type == MEMMAP_SPECIAL || !overlaps(o, gpa, size))
			continue;
		if (type == MEMMAP_SPECIAL && o->type == MEMMAP_RAM && gpa >= o->gpa &&
		    gpa + size <= o->gpa + o->size)
			continue; /* special pages live inside RAM */
		return errbuf_set(eb, EBUSY, "guest memory region %s at 0x%" PRIx64 "-0x%" PRIx64
				  " overlaps %s %s at 0x%" PRIx64 "-0x%" PRIx64, name, gpa,
				  gpa + size - 1, type_names[o->type], o->name, o->gpa,
				  o->gpa + o->size - 1);
	}
	if (mm->nr == MEMMAP_MAX_REGIONS)
		return errbuf_set(eb, ENOSPC, "guest memory region %s: the map holds %u regions "
				  "already", name, MEMMAP_MAX_REGIONS);
	r = &mm->region[mm->nr];
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->type = type;
	r->gpa = gpa;
	r->size = size;
	r->slot = -1;
	return (int)mm->nr;
}

/* Whether some special region must sit inside RAM that is not there. */
static int check_special_inside_ram(const struct memmap *mm, const char *name, uint64_t gpa,
				    uint64_t size, struct errbuf *eb)
{
	for (unsigned i = 0; i < mm->nr; i++) {
		const struct memmap_region *o = &mm->region[i];

		if (o->type == MEMMAP_RAM && gpa >= o->gpa && gpa + size <= o->gpa + o->size)
			return (int)i;
	}
	return errbuf_set(eb, EINVAL, "guest memory region %s at 0x%" PRIx64 "-0x%" PRIx64
			  ": special pages must lie inside one RAM region", name, gpa, gpa + size - 1);
}

static int set_slot(const struct memmap *mm, const struct memmap_region *r, uint32_t flags,
		    struct errbuf *eb)
{
	struct kvm_userspace_memory_region k = {
		.slot = (uint32_t)r->slot,
		.flags = flags,
		.guest_phys_addr = r->gpa,
		.memory_size = r->size,
		.userspace_addr = (uint64_t)(uintptr_t)r->host,
	};

	if (ioctl(mm->vm_fd, KVM_SET_USER_MEMORY_REGION, &k) < 0)
		return errbuf_set(eb, errno, "KVM_SET_USER_MEMORY_REGION slot %d (%s, 0x%" PRIx64
				  " + 0x%" PRIx64 "%s): %s", r->slot, r->name, r->gpa, r->size,
				  flags & KVM_MEM_LOG_DIRTY_PAGES ? ", dirty logging" : "",
				  strerror(errno));
	return 0;
}

/* A region with a KVM slot of its own (RAM, device memory): the lowest unused slot number. */
static int add_slot(struct memmap *mm, enum memmap_type type, const char *name, uint64_t gpa, uint64_t size,
		    void *host, struct errbuf *eb)
{
	struct memmap_region *r = NULL;
	uint64_t used = 0;
	int i, slot = 0, rc;

	i = add(mm, type, name, gpa, size, eb);
	if (i < 0)
		return i;
	for (unsigned j = 0; j < mm->nr; j++)
		if (mm->region[j].slot >= 0 && mm->region[j].slot < 64)
			used |= 1ull << mm->region[j].slot;
	while (used >> slot & 1)
		slot++; /* MEMMAP_MAX_REGIONS < 64: one is free */
	r = &mm->region[i];
	r->host = host;
	r->slot = slot;
	if (type == MEMMAP_RAM && mm->ring) {
		r->ring_dirty = calloc(memmap_dirty_words(r), sizeof(uint64_t));
		if (!r->ring_dirty)
			return errbuf_set(eb, ENOMEM, "out of memory for the dirty ring's bitmap of %s", r->name);
	}
	if (mm->vm_fd >= 0) {
		rc = set_slot(mm, r, 0, eb);
		if (rc < 0) {
			free(r->ring_dirty);
			r->ring_dirty = NULL;
			return rc;
		}
	}
	mm->nr++;
	return i;
}

int memmap_add_ram(struct memmap *mm, const char *name, uint64_t gpa, uint64_t size, void *host,
		   struct errbuf *eb)
{
	return add_slot(mm, MEMMAP_RAM, name, gpa, size, host, eb);
}

int memmap_add_device(struct memmap *mm, const char *name, uint64_t gpa, uint64_t size, void *host,
		      struct errbuf *eb)
{
	return add_slot(mm, MEMMAP_DEVICE, name, gpa, size, host, eb);
}

int memmap_add_special(struct memmap *mm, const char *name, uint64_t gpa, uint64_t size,
		       struct errbuf *eb)
{
	int i, ram = check_special_inside_ram(mm, name, gpa, size, eb);

	if (ram < 0)
		return ram;
	i = add(mm, MEMMAP_SPECIAL, name, gpa, size, eb);
	if (i < 0)
		return i;
	mm->region[i].host = mm->region[ram].host + (gpa - mm->region[ram].gpa);
	mm->nr++;
	return i;
}

int memmap_add_hole(struct memmap *mm, const char *name, uint64_t gpa, uint64_t size,
		    struct errbuf *eb)
{
	int i = add(mm, MEMMAP_HOLE, name, gpa, size, eb);

	if (i < 0)
		return i;
	mm->nr++;
	return i;
}

const struct memmap_region *memmap_find(const struct memmap *mm, uint64_t gpa)
{
	for (unsigned i = 0; i < mm->nr; i++) {
		const struct memmap_region *r = &mm->region[i];

		if (r->type != MEMMAP_SPECIAL && gpa >= r->gpa && gpa - r->gpa < r->size)
			return r;
	}
	return NULL;
}

/* The regions by address; RAM before the special pages inside it. */
static void sort_regions(const struct memmap *mm, const struct memmap_region **sorted)
{
	for (unsigned i = 0; i < mm->nr; i++) {
		unsigned j = i;

		for (; j > 0 && (sorted[j - 1]->gpa > mm->region[i].gpa ||
				 (sorted[j - 1]->gpa == mm->region[i].gpa &&
				  sorted[j - 1]->type > mm->region[i].type)); j--)
			sorted[j] = sorted[j - 1];
		sorted[j] = &mm->region[i];
	}
}

int memmap_json(const struct memmap *mm, char *buf, size_t size)
{
	const struct memmap_region *sorted[MEMMAP_MAX_REGIONS];
	size_t len = 0;
	int n;

	sort_regions(mm, sorted);
	n = snprintf(buf, size, "[");
	len = n < 0 ? size : (size_t)n;
	for (unsigned i = 0; i < mm->nr && len < size; i++) {
		const struct memmap_region *r = sorted[i];
		char name[6 * sizeof(r->name)];

		json_escape(name, sizeof(name), r->name);
		n = snprintf(buf + len, size - len,
			     "%s{\"gpa\":%" PRIu64 ",\"size\":%" PRIu64 ",\"type\":\"%s\",\"name\":\"%s\","
			     "\"slot\":%d,\"dirty_log\":%s}", i ? "," : "", r->gpa, r->size, type_names[r->type],
			     name, r->slot, r->dirty_log ? "true" : "false");
		len += n < 0 ? size : (size_t)n;
	}
	if (len < size) {
		n = snprintf(buf + len, size - len, "]");
		len += n < 0 ? size : (size_t)n;
	}
	return len < size ? (int)len : -1;
}

size_t memmap_format(const struct memmap *mm, char *buf, size_t size)
{
	const struct memmap_region *sorted[MEMMAP_MAX_REGIONS];
	size_t len = 0;

	sort_regions(mm, sorted);
	if (size)
		buf[0] = 0;
	for (unsigned i = 0; i < mm->nr; i++) {
		const struct memmap_region *r = sorted[i];
		char slot[24] = "";
		int n;

		if (r->slot >= 0)
			snprintf(slot, sizeof(slot), " slot %d", r->slot);
		n = snprintf(len < size ? buf + len : NULL, len < size ? size - len : 0,
			     "0x%09" PRIx64 "-0x%09" PRIx64 " %-7s %s%s%s\n", r->gpa, r->gpa + r->size - 1,
			     type_names[r->type], r->name, slot, r->dirty_log ? " dirty-log" : "");
		if (n > 0)
			len += (size_t)n;
	}
	return len;
}

static int ram_region(struct memmap *mm, unsigned idx, struct memmap_region **out,
		      struct errbuf *eb)
{
	if (idx >= mm->nr || mm->region[idx].type != MEMMAP_RAM)
		return errbuf_set(eb, EINVAL, "dirty logging: region %u is not RAM", idx);
	if (mm->vm_fd < 0)
		return errbuf_set(eb, ENODEV, "dirty logging of %s: the domain has no KVM VM",
				  mm->region[idx].name);
	*out = &mm->region[idx];
	return 0;
}

int memmap_dirty_log_start(struct memmap *mm, unsigned idx, struct errbuf *eb)
{
	struct memmap_region *r = NULL;
	int rc = ram_region(mm, idx, &r, eb);

	if (rc < 0 || r->dirty_log)
		return rc;
	if (r->ring_dirty) /* what an earlier log left */
		memset(r->ring_dirty, 0, memmap_dirty_words(r) * sizeof(uint64_t));
	/* KVM starts the log empty and write-protects the slot from here on. */
	rc = set_slot(mm, r, KVM_MEM_LOG_DIRTY_PAGES, eb);
	if (rc == 0)
		r->dirty_log = true;
	return rc;
}

int memmap_dirty_log_fetch(struct memmap *mm, unsigned idx, uint64_t *bitmap, struct errbuf *eb)
{
	struct memmap_region *r = NULL;
	struct kvm_dirty_log log;
	int rc = ram_region(mm, idx, &r, eb), n = 0;

	if (rc < 0)
		return rc;
	if (!r->dirty_log)
		return errbuf_set(eb, EBADFD, "dirty logging of %s is off", r->name);
	if (mm->ring) {
		/* Harvested and re-protected before the caller reads the pages. */
		rc = mm->collect(mm->collect_opaque, eb);
		if (rc < 0)
			return rc;
		for (size_t w = 0; w < memmap_dirty_words(r); w++) {
			bitmap[w] = __atomic_exchange_n(&r->ring_dirty[w], 0, __ATOMIC_RELAXED);
			n += __builtin_popcountll(bitmap[w]);
		}
		return n;
	}
	memset(&log, 0, sizeof(log));
	log.slot = (uint32_t)r->slot;
	log.dirty_bitmap = bitmap;
	/* Without KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 enabled, this also clears and re-protects. */
	if (ioctl(mm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0)
		return errbuf_set(eb, errno, "KVM_GET_DIRTY_LOG slot %d (%s): %s", r->slot, r->name,
				  strerror(errno));
	for (size_t w = 0; w < memmap_dirty_words(r); w++)
		n += __builtin_popcountll(bitmap[w]);
	return n;
}

int memmap_dirty_log_stop(struct memmap *mm, unsigned idx, struct errbuf *eb)
{
	struct memmap_region *r = NULL;
	int rc = ram_region(mm, idx, &r, eb);

	if (rc < 0 || !r->dirty_log)
		return rc;
	rc = set_slot(mm, r, 0, eb);
	if (rc == 0)
		r->dirty_log = false;
	/* The rings' entries for it go now: left there, they would fill the rings. */
	if (rc == 0 && mm->ring)
		mm->collect(mm->collect_opaque, NULL);
	return rc;
}
