// SPDX-License-Identifier: MIT
/*
 * VFIO for one PCI function (vfio.h): container, group, device, regions,
 * IRQs, DMA mapping, reset.  The kernel's interface: linux/vfio.h and
 * Documentation/driver-api/vfio.rst.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "pci.h"
#include "vfio.h"

static void init_closed(struct vfio_dev *d)
{
	memset(d, 0, sizeof(*d));
	d->container = d->group = d->device = -1;
	d->group_id = -1;
}

void vfio_close(struct vfio_dev *d)
{
	for (unsigned i = 0; i < VFIO_BARS; i++)
	{
		struct vfio_bar *b = &d->bar[i];

		if (b->map) {
			munmap(b->map, b->size);
			b->map = NULL;
		}
		for (unsigned k = 0; k < b->nareas; k++)
			if (b->area_map[k]) {
				munmap(b->area_map[k], b->area[k].size);
				b->area_map[k] = NULL;
			}
	}
	/* Closing the device and the group drops every DMA mapping of the container with it. */
	if (d->device >= 0)
		close(d->device);
	if (d->group >= 0)
		close(d->group);
	if (d->container >= 0)
		close(d->container);
	d->container = d->group = d->device = -1;
	d->mapped = 0;
}

/* Why bdf's group is not viable: which function of it is on which host driver, from sysfs. */
static void not_viable_why(const char *root, const char *bdf, char *why, size_t len)
{
	struct pci_list l;
	struct errbuf eb;

	snprintf(why, len, "a function of the group is still on a host driver (`xenith pci list` names it)");
	if (pci_scan(root, &l, &eb) < 0)
		return;
	for (size_t i = 0; i < l.n; i++)
		if (!strcmp(l.fn[i].bdf, bdf)) {
			char w[512];

			if (!pci_assignable(&l, i, w, sizeof(w)))
				snprintf(why, len, "%s", w);
			break;
		}
	pci_list_free(&l);
}

/*
 * A VFIO info ioctl whose reply may carry capabilities: asks with the
 * fixed part (hdr, size bytes, argsz first), and again with room for all
 * of it when the kernel says it needs more.  The malloc'd reply and its
 * filled length in *len, or NULL with errno set.
 */
static void *info_ioctl(int fd, unsigned long req, const void *hdr, size_t size, size_t *len)
{
	void *buf = malloc(size);
	uint32_t need;

	if (!buf)
		return NULL;
	memcpy(buf, hdr, size);
	if (ioctl(fd, req, buf) < 0)
		goto fail;
	memcpy(&need, buf, sizeof(need)); /* argsz: what the whole reply takes */
	if (need > size) {
		void *big = realloc(buf, need);

		if (!big)
			goto fail;
		buf = big;
		memcpy(buf, hdr, size);
		memcpy(buf, &need, sizeof(need));
		if (ioctl(fd, req, buf) < 0)
			goto fail;
		size = need;
	}
	*len = size;
	return buf;
fail:
	free(buf);
	return NULL;
}

/*
 * The capability id in the chain starting at offset off of an info reply
 * of len bytes, with at least need bytes inside the reply; NULL if none.
 * Every offset is checked against what the kernel filled; at most 16 hops.
 */
static const struct vfio_info_cap_header *find_cap(const void *info, size_t len, uint32_t off, uint16_t id,
						   size_t need)
{
	for (unsigned hops = 0; off && off + sizeof(struct vfio_info_cap_header) <= len && hops < 16; hops++) {
		const struct vfio_info_cap_header *h = (const void *)((const char *)info + off);

		if (h->id == id)
			return off + need <= len ? h : NULL;
		off = h->next;
	}
	return NULL;
}

static int region_info(struct vfio_dev *d, unsigned index, struct vfio_bar *b, uint64_t *size, uint64_t *offset)
{
	const struct vfio_region_info hdr = { .argsz = sizeof(hdr), .index = index };
	const struct vfio_region_info_cap_sparse_mmap *sp;
	struct vfio_region_info *ri;
	size_t len;

	ri = info_ioctl(d->device, VFIO_DEVICE_GET_REGION_INFO, &hdr, sizeof(hdr), &len);
	if (!ri)
		return -errno;
	*size = ri->size;
	*offset = ri->offset;
	if (b) {
		b->mmap = ri->flags & VFIO_REGION_INFO_FLAG_MMAP;
		sp = (ri->flags & VFIO_REGION_INFO_FLAG_CAPS)
			     ? (const void *)find_cap(ri, len, ri->cap_offset, VFIO_REGION_INFO_CAP_SPARSE_MMAP, sizeof(*sp))
			     : NULL;
		if (sp) {
			size_t at = (size_t)((const char *)sp - (const char *)ri) + sizeof(*sp);

			b->sparse = true;
			for (uint32_t k = 0; k < sp->nr_areas && b->nareas < 4 && at + (k + 1) * sizeof(sp->areas[0]) <= len;
			     k++) {
				b->area[b->nareas].offset = sp->areas[k].offset;
				b->area[b->nareas].size = sp->areas[k].size;
				b->nareas++;
			}
		}
	}
	free(ri);
	return 0;
}

static void iommu_info(struct vfio_dev *d)
{
	const struct vfio_iommu_type1_info hdr = { .argsz = sizeof(hdr) };
	const struct vfio_iommu_type1_info_cap_iova_range *rc;
	struct vfio_iommu_type1_info *ii;
	size_t len;

	ii = info_ioctl(d->container, VFIO_IOMMU_GET_INFO, &hdr, sizeof(hdr), &len);
	if (!ii)
		return; /* no ranges known: vfio_iova_ok lets the kernel judge each mapping */
	if (ii->flags & VFIO_IOMMU_INFO_PGSIZES)
		d->pgsizes = ii->iova_pgsizes;
	rc = (ii->flags & VFIO_IOMMU_INFO_CAPS)
		     ? (const void *)find_cap(ii, len, ii->cap_offset, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, sizeof(*rc))
		     : NULL;
	if (rc) {
		size_t at = (size_t)((const char *)rc - (const char *)ii) + sizeof(*rc);

		for (uint32_t k = 0; k < rc->nr_iovas && d->nranges < VFIO_MAX_IOVA_RANGES &&
				     at + (k + 1) * sizeof(rc->iova_ranges[0]) <= len;
		     k++) {
			d->range[d->nranges].start = rc->iova_ranges[k].start;
			d->range[d->nranges].end = rc->iova_ranges[k].end;
			d->nranges++;
		}
	}
	free(ii);
}

static int device_info(struct vfio_dev *d, struct errbuf *eb)
{
	struct vfio_device_info di = { .argsz = sizeof(di) };
	int r;

	if (ioctl(d->device, VFIO_DEVICE_GET_INFO, &di) < 0)
		return errbuf_set(eb, errno, "%s: VFIO_DEVICE_GET_INFO: %s", d->bdf, strerror(errno));
	if (!(di.flags & VFIO_DEVICE_FLAGS_PCI))
		return errbuf_set(eb, ENODEV, "%s: VFIO says it is not a PCI device", d->bdf);
	d->reset_ok = di.flags & VFIO_DEVICE_FLAGS_RESET;
	d->nregions = di.num_regions;
	d->nirqs = di.num_irqs;
	for (unsigned i = 0; i < VFIO_BARS && i < di.num_regions; i++) {
		r = region_info(d, VFIO_PCI_BAR0_REGION_INDEX + i, &d->bar[i], &d->bar[i].size, &d->bar[i].offset);
		if (r < 0)
			return errbuf_set(eb, -r, "%s: BAR %u: VFIO_DEVICE_GET_REGION_INFO: %s", d->bdf, i, strerror(-r));
	}
	if (di.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX)
		return errbuf_set(eb, ENODEV, "%s: VFIO gives no config space region", d->bdf);
	r = region_info(d, VFIO_PCI_CONFIG_REGION_INDEX, NULL, &d->cfg_size, &d->cfg_offset);
	if (r < 0)
		return errbuf_set(eb, -r, "%s: config space: VFIO_DEVICE_GET_REGION_INFO: %s", d->bdf, strerror(-r));
	for (unsigned idx = VFIO_PCI_MSI_IRQ_INDEX; idx <= VFIO_PCI_MSIX_IRQ_INDEX && idx < di.num_irqs; idx++) {
		struct vfio_irq_info ii = { .argsz = sizeof(ii), .index = idx };

		if (ioctl(d->device, VFIO_DEVICE_GET_IRQ_INFO, &ii) < 0)
			return errbuf_set(eb, errno, "%s: VFIO_DEVICE_GET_IRQ_INFO: %s", d->bdf, strerror(errno));
		*(idx == VFIO_PCI_MSIX_IRQ_INDEX ? &d->msix : &d->msi) = ii.count;
	}
	return 0;
}

int vfio_open(const char *root, const char *devdir, const char *bdf, struct vfio_dev *d, struct errbuf *eb)
{
	char dir[PATH_MAX], path[PATH_MAX + 64], target[PATH_MAX], drv[64] = "";
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	const char *base;
	ssize_t n;
	char *end;
	int r;

	init_closed(d);
	r = pci_fn_dir(root, bdf, dir, sizeof(dir), eb);
	if (r < 0)
		return r;
	snprintf(d->bdf, sizeof(d->bdf), "%s", bdf);
	snprintf(path, sizeof(path), "%s/iommu_group", dir);
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return errbuf_set(eb, ENODEV, "%s is in no IOMMU group: the host has no IOMMU enabled (intel_iommu=on or "
					      "amd_iommu=on on the kernel command line, and VT-d/AMD-Vi in the firmware)",
				  bdf);
	target[n] = 0;
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	d->group_id = (int)strtol(base, &end, 10);
	if (*end || d->group_id < 0)
		return errbuf_set(eb, EINVAL, "%s: IOMMU group link %s is not a number", bdf, target);
	pci_fn_driver(dir, drv, sizeof(drv));

	snprintf(path, sizeof(path), "%s/vfio", devdir);
	d->container = open(path, O_RDWR | O_CLOEXEC);
	if (d->container < 0) {
		r = errbuf_set(eb, errno, "%s: %s (load the vfio and vfio_iommu_type1 modules: modprobe vfio-pci)", path,
			       strerror(errno));
		goto fail;
	}
	if (ioctl(d->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION) {
		r = errbuf_set(eb, ENOTSUP, "%s: VFIO API version is not %d", path, VFIO_API_VERSION);
		goto fail;
	}
	if (ioctl(d->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0) {
		r = errbuf_set(eb, ENOTSUP, "%s: the kernel has no type-1 v2 IOMMU for VFIO (vfio_iommu_type1)", path);
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/%d", devdir, d->group_id);
	d->group = open(path, O_RDWR | O_CLOEXEC);
	if (d->group < 0) {
		int e = errno;

		if (e == ENOENT)
			r = errbuf_set(eb, ENOENT, "%s is on %s, not on vfio-pci (no %s): `xenith pci assignable-add %s` "
						   "hands it over", bdf, drv[0] ? drv : "no driver", path, bdf);
		else if (e == EBUSY)
			r = errbuf_set(eb, EBUSY, "%s: IOMMU group %d is held by another process (a running domain, "
						  "QEMU, a DPDK program?): a group is one owner's", bdf, d->group_id);
		else
			r = errbuf_set(eb, e, "%s: %s", path, strerror(e));
		goto fail;
	}
	if (ioctl(d->group, VFIO_GROUP_GET_STATUS, &gs) < 0) {
		r = errbuf_set(eb, errno, "%s: VFIO_GROUP_GET_STATUS: %s", path, strerror(errno));
		goto fail;
	}
	if (!(gs.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		char why[512];

		not_viable_why(root, bdf, why, sizeof(why));
		r = errbuf_set(eb, EPERM, "%s: IOMMU group %d is not viable: %s", bdf, d->group_id, why);
		goto fail;
	}
	if (ioctl(d->group, VFIO_GROUP_SET_CONTAINER, &d->container) < 0) {
		r = errbuf_set(eb, errno, "%s: VFIO_GROUP_SET_CONTAINER: %s", path, strerror(errno));
		goto fail;
	}
	if (ioctl(d->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0) {
		r = errbuf_set(eb, errno, "VFIO_SET_IOMMU (type-1 v2): %s", strerror(errno));
		goto fail;
	}
	iommu_info(d);
	d->device = ioctl(d->group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (d->device < 0) {
		r = errbuf_set(eb, errno, "%s: VFIO_GROUP_GET_DEVICE_FD: %s%s", bdf, strerror(errno),
			       errno == EBUSY ? " (the device is open elsewhere)" : "");
		goto fail;
	}
	r = device_info(d, eb);
	if (r < 0)
		goto fail;
	return 0;
fail:
	vfio_close(d);
	return r;
}

bool vfio_iova_ok(const struct vfio_dev *d, uint64_t iova, uint64_t size)
{
	if (!size || iova + size - 1 < iova)
		return false;
	if (!d->nranges)
		return true;
	for (unsigned i = 0; i < d->nranges; i++)
		if (iova >= d->range[i].start && iova + size - 1 <= d->range[i].end)
			return true;
	return false;
}

int vfio_dma_map(struct vfio_dev *d, void *va, uint64_t iova, uint64_t size, struct errbuf *eb)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)va, .iova = iova, .size = size,
	};

	if (!vfio_iova_ok(d, iova, size))
		return errbuf_set(eb, ERANGE, "%s: IOVA 0x%llx-0x%llx is outside what the IOMMU can map (a reserved "
					      "range such as the MSI window 0xfee00000-0xfeefffff?)",
				  d->bdf, (unsigned long long)iova, (unsigned long long)(iova + size - 1));
	if (ioctl(d->container, VFIO_IOMMU_MAP_DMA, &m) < 0)
		return errbuf_set(eb, errno, "%s: mapping IOVA 0x%llx (%llu bytes) for DMA: %s%s", d->bdf,
				  (unsigned long long)iova, (unsigned long long)size, strerror(errno),
				  errno == ENOMEM ? " (the locked-memory limit, ulimit -l, or the IOMMU's mapping limit)"
						  : "");
	d->mapped += size;
	return 0;
}

int vfio_dma_unmap(struct vfio_dev *d, uint64_t iova, uint64_t size, struct errbuf *eb)
{
	struct vfio_iommu_type1_dma_unmap u = { .argsz = sizeof(u), .iova = iova, .size = size };

	if (ioctl(d->container, VFIO_IOMMU_UNMAP_DMA, &u) < 0)
		return errbuf_set(eb, errno, "%s: unmapping IOVA 0x%llx: %s", d->bdf, (unsigned long long)iova,
				  strerror(errno));
	if (u.size != size)
		return errbuf_set(eb, EIO, "%s: unmapping IOVA 0x%llx: %llu of %llu bytes unmapped", d->bdf,
				  (unsigned long long)iova, (unsigned long long)u.size, (unsigned long long)size);
	d->mapped -= size;
	return 0;
}

int vfio_cfg_read(struct vfio_dev *d, unsigned off, unsigned n, uint32_t *val, struct errbuf *eb)
{
	uint8_t b[4] = { 0 };

	if ((n != 1 && n != 2 && n != 4) || off + n > d->cfg_size)
		return errbuf_set(eb, EINVAL, "%s: config read of %u bytes at 0x%x is out of range", d->bdf, n, off);
	if (pread(d->device, b, n, (off_t)(d->cfg_offset + off)) != (ssize_t)n)
		return errbuf_set(eb, EIO, "%s: config read at 0x%x: %s", d->bdf, off, strerror(errno));
	*val = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	return 0;
}

int vfio_cfg_write(struct vfio_dev *d, unsigned off, unsigned n, uint32_t val, struct errbuf *eb)
{
	uint8_t b[4] = { (uint8_t)val, (uint8_t)(val >> 8), (uint8_t)(val >> 16), (uint8_t)(val >> 24) };

	if ((n != 1 && n != 2 && n != 4) || off + n > d->cfg_size)
		return errbuf_set(eb, EINVAL, "%s: config write of %u bytes at 0x%x is out of range", d->bdf, n, off);
	if (pwrite(d->device, b, n, (off_t)(d->cfg_offset + off)) != (ssize_t)n)
		return errbuf_set(eb, EIO, "%s: config write at 0x%x: %s", d->bdf, off, strerror(errno));
	return 0;
}

int vfio_bar_rw(struct vfio_dev *d, unsigned bar, uint64_t off, void *buf, unsigned len, bool write)
{
	ssize_t n;

	if (bar >= VFIO_BARS || !len || off > d->bar[bar].size || len > d->bar[bar].size - off)
		return -EINVAL;
	n = write ? pwrite(d->device, buf, len, (off_t)(d->bar[bar].offset + off))
		  : pread(d->device, buf, len, (off_t)(d->bar[bar].offset + off));
	return n == (ssize_t)len ? 0 : n < 0 ? -errno : -EIO;
}

int vfio_bar_read32(struct vfio_dev *d, unsigned bar, uint64_t off, uint32_t *val)
{
	return vfio_bar_rw(d, bar, off, val, 4, false);
}

int vfio_bar_write32(struct vfio_dev *d, unsigned bar, uint64_t off, uint32_t val)
{
	return vfio_bar_rw(d, bar, off, &val, 4, true);
}

int vfio_map_bar(struct vfio_dev *d, unsigned bar, struct errbuf *eb)
{
	struct vfio_bar *b;
	void *p;

	if (bar >= VFIO_BARS || !d->bar[bar].size)
		return errbuf_set(eb, EINVAL, "%s has no BAR %u", d->bdf, bar);
	b = &d->bar[bar];
	if (b->map)
		return 0;
	if (!b->mmap || b->sparse)
		return errbuf_set(eb, EOPNOTSUPP, "%s: BAR %u cannot be mapped whole (%s)", d->bdf, bar,
				  b->mmap ? "only parts: the MSI-X table is in it" : "VFIO traps it");
	p = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED, d->device, (off_t)b->offset);
	if (p == MAP_FAILED)
		return errbuf_set(eb, errno, "%s: mapping BAR %u: %s", d->bdf, bar, strerror(errno));
	b->map = p;
	return 0;
}

int vfio_map_bar_areas(struct vfio_dev *d, unsigned bar, struct errbuf *eb)
{
	long page = sysconf(_SC_PAGESIZE);
	struct vfio_bar *b;
	int n = 0;

	if (bar >= VFIO_BARS || !d->bar[bar].size)
		return errbuf_set(eb, EINVAL, "%s has no BAR %u", d->bdf, bar);
	b = &d->bar[bar];
	if (!b->mmap || !b->sparse)
		return errbuf_set(eb, EOPNOTSUPP, "%s: BAR %u has no mappable parts (%s)", d->bdf, bar,
				  b->mmap ? "it maps whole" : "VFIO traps it");
	for (unsigned k = 0; k < b->nareas; k++) {
		uint64_t off = b->area[k].offset, size = b->area[k].size;
		void *p;

		if (b->area_map[k]) {
			n++;
			continue;
		}
		if (!size || off % (uint64_t)page || size % (uint64_t)page || off > b->size || size > b->size - off)
			continue;
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, d->device, (off_t)(b->offset + off));
		if (p == MAP_FAILED)
			return errbuf_set(eb, errno, "%s: mapping BAR %u's part at 0x%llx (%llu bytes): %s", d->bdf, bar,
					  (unsigned long long)off, (unsigned long long)size, strerror(errno));
		b->area_map[k] = p;
		n++;
	}
	return n;
}

int vfio_command(struct vfio_dev *d, uint16_t set, uint16_t clear, struct errbuf *eb)
{
	uint32_t cmd;
	int r = vfio_cfg_read(d, 4, 2, &cmd, eb);

	if (r < 0)
		return r;
	return vfio_cfg_write(d, 4, 2, (cmd & ~(uint32_t)clear) | set, eb);
}

int vfio_bus_master(struct vfio_dev *d, bool on, struct errbuf *eb)
{
	/* memory space and bus master on; bus master off */
	return on ? vfio_command(d, 0x6, 0, eb) : vfio_command(d, 0, 0x4, eb);
}

int vfio_reset(struct vfio_dev *d, struct errbuf *eb)
{
	if (!d->reset_ok)
		return errbuf_set(eb, EOPNOTSUPP, "%s has no function-level reset VFIO can use", d->bdf);
	if (ioctl(d->device, VFIO_DEVICE_RESET) < 0)
		return errbuf_set(eb, errno, "%s: VFIO_DEVICE_RESET: %s", d->bdf, strerror(errno));
	return 0;
}

int vfio_msix_set(struct vfio_dev *d, unsigned n, const int *efd, struct errbuf *eb)
{
	size_t sz = sizeof(struct vfio_irq_set) + n * sizeof(int);
	struct vfio_irq_set *s;
	int r = 0;

	if (n > d->msix)
		return errbuf_set(eb, EINVAL, "%s has %u MSI-X vectors, not %u", d->bdf, d->msix, n);
	s = calloc(1, sz);
	if (!s)
		return -ENOMEM;
	s->argsz = (uint32_t)sz;
	s->index = VFIO_PCI_MSIX_IRQ_INDEX;
	s->start = 0;
	s->count = n;
	s->flags = VFIO_IRQ_SET_ACTION_TRIGGER | (n ? VFIO_IRQ_SET_DATA_EVENTFD : VFIO_IRQ_SET_DATA_NONE);
	if (n)
		memcpy(s + 1, efd, n * sizeof(int));
	if (ioctl(d->device, VFIO_DEVICE_SET_IRQS, s) < 0)
		r = errbuf_set(eb, errno, "%s: routing %u MSI-X vectors: %s", d->bdf, n, strerror(errno));
	free(s);
	return r;
}
