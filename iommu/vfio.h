/* SPDX-License-Identifier: MIT */
/*
 * One PCI function through VFIO, as a domain will hold it: a type-1 IOMMU
 * container of its own, the function's IOMMU group attached to it, the
 * device's regions (BARs, config space) and interrupts, DMA mappings
 * (IOVA = the domain's guest-physical address), function-level reset.
 *
 * Opening refuses, with the reason and what to do: a function not bound to
 * vfio-pci (no /dev/vfio/N), a group another process holds (EBUSY), a group
 * that is not viable (a function of it still on a host driver, named),
 * a kernel without the type-1 v2 IOMMU.  Everything opened is closed by
 * vfio_close, also after a failed open.
 */
#ifndef XENITH_IOMMU_VFIO_H
#define XENITH_IOMMU_VFIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define VFIO_BARS 6
#define VFIO_MAX_IOVA_RANGES 16

struct vfio_bar {
	uint64_t size;       /* 0: the BAR is not implemented */
	uint64_t offset;     /* of the region in the device fd */
	bool mmap;           /* can be mapped (into a domain as a memory slot); else trapped */
	bool sparse;         /* only parts can be mapped (the MSI-X table is in it): the rest is trapped */
	unsigned nareas;     /* sparse: the mappable parts */
	struct { uint64_t offset, size; } area[4];
	void *map;           /* vfio_map_bar's mapping, or NULL */
	void *area_map[4];   /* vfio_map_bar_areas's mappings of the sparse parts, or NULL */
};

struct vfio_dev {
	char bdf[16];
	int group_id;
	int container, group, device; /* -1 when not open */
	bool reset_ok;                 /* the device has a reset (FLR, or a bus or PM reset) */
	unsigned nregions, nirqs;
	struct vfio_bar bar[VFIO_BARS];
	uint64_t cfg_size, cfg_offset; /* config space region */
	unsigned msix, msi;            /* vectors */
	unsigned nranges;              /* the container's valid IOVA ranges (0: the kernel did not say) */
	struct { uint64_t start, end; } range[VFIO_MAX_IOVA_RANGES]; /* end inclusive */
	uint64_t pgsizes;              /* IOMMU page sizes, a bitmap */
	uint64_t mapped;               /* bytes currently mapped for DMA */
};

/*
 * Opens bdf (sysfs root for its IOMMU group, normally "/sys"; VFIO's
 * character devices under devdir, normally "/dev/vfio").  0, or -errno
 * with what to do in eb; d is closed again on failure.
 */
int vfio_open(const char *root, const char *devdir, const char *bdf, struct vfio_dev *d, struct errbuf *eb);
void vfio_close(struct vfio_dev *d);

/* Device memory for DMA: [iova, iova + size) to the process's [va, va + size), readable and writable by the device. */
int vfio_dma_map(struct vfio_dev *d, void *va, uint64_t iova, uint64_t size, struct errbuf *eb);
int vfio_dma_unmap(struct vfio_dev *d, uint64_t iova, uint64_t size, struct errbuf *eb);
/* true when [iova, iova + size) lies in one of the container's valid IOVA ranges (or the kernel gave none). */
bool vfio_iova_ok(const struct vfio_dev *d, uint64_t iova, uint64_t size);

/* Config space: n bytes (1, 2 or 4) at off. */
int vfio_cfg_read(struct vfio_dev *d, unsigned off, unsigned n, uint32_t *val, struct errbuf *eb);
int vfio_cfg_write(struct vfio_dev *d, unsigned off, unsigned n, uint32_t val, struct errbuf *eb);
/*
 * BAR registers by pread/pwrite on the device fd (what works whether or not
 * the BAR can be mapped): len bytes at off, within the BAR; 0, -EINVAL
 * outside it, or the error of the access.
 */
int vfio_bar_rw(struct vfio_dev *d, unsigned bar, uint64_t off, void *buf, unsigned len, bool write);
int vfio_bar_read32(struct vfio_dev *d, unsigned bar, uint64_t off, uint32_t *val);
int vfio_bar_write32(struct vfio_dev *d, unsigned bar, uint64_t off, uint32_t val);
/* Maps a mappable BAR whole (d->bar[bar].map); -EOPNOTSUPP for one that is trapped or sparse. */
int vfio_map_bar(struct vfio_dev *d, unsigned bar, struct errbuf *eb);
/*
 * Maps each mappable part of a sparse BAR (d->bar[bar].area_map[i]); a part
 * whose offset or size is not page-aligned stays unmapped (trapped with
 * the rest).  The number mapped, or -errno.
 */
int vfio_map_bar_areas(struct vfio_dev *d, unsigned bar, struct errbuf *eb);

/* The command register's bits in set turned on and those in clear off (a read, a write). */
int vfio_command(struct vfio_dev *d, uint16_t set, uint16_t clear, struct errbuf *eb);
/* Bus mastering (the command register's bit 2) on, with memory space, or off; a device does no DMA without it. */
int vfio_bus_master(struct vfio_dev *d, bool on, struct errbuf *eb);
/* Function-level reset (VFIO_DEVICE_RESET). */
int vfio_reset(struct vfio_dev *d, struct errbuf *eb);

/* MSI-X vectors 0..n-1 to eventfds efd[] (-1: that vector unrouted); n = 0 disables MSI-X. */
int vfio_msix_set(struct vfio_dev *d, unsigned n, const int *efd, struct errbuf *eb);

#endif
