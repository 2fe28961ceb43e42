// SPDX-License-Identifier: MIT
/*
 * The "pci" device type: a PCI function passed through to the domain, one
 * per `pci` key, held through VFIO (iommu/vfio.h) for the domain's life.
 *
 *   create      opens the function in its own type-1 container (refusing a
 *               function not on vfio-pci, a group held elsewhere or not
 *               viable, with what to do), so that a bad key fails before
 *               anything boots
 *   connect     (every build, also a reboot's) resets the function, maps
 *               every RAM region of the memory map for its DMA at IOVA =
 *               guest-physical address, and turns bus mastering on: the
 *               guest's driver programs guest-physical addresses
 *   disconnect  bus mastering off and a reset first (the function stops
 *               any DMA), then the mappings go, before guest memory does
 *   destroy     a last reset, and the container, group and device closed
 *
 * What is not here yet: the BARs as memory slots of the guest, MSI-X to
 * event channels, and telling the guest about the function (xenstore).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "domain.h"
#include "json.h"
#include "memmap.h"
#include "vfio.h"

const struct device_ops pci_device_ops;

struct pcidev {
	char bdf[CONFIG_BDF_LEN];
	struct vfio_dev v;
	struct { uint64_t iova, size; } map[MEMMAP_MAX_REGIONS];
	unsigned nmap;
	uint64_t resets, connects;
};

static int pci_create(struct domain *d, const struct domain_opts *opts, struct errbuf *eb)
{
	(void)opts;
	for (unsigned i = 0; i < d->cfg.nr_pci; i++) {
		struct pcidev *p = calloc(1, sizeof(*p));
		struct device *dev;
		int r;

		if (!p)
			return errbuf_set(eb, ENOMEM, "pci %s: out of memory", d->cfg.pci[i]);
		snprintf(p->bdf, sizeof(p->bdf), "%s", d->cfg.pci[i]);
		r = vfio_open("/sys", "/dev/vfio", p->bdf, &p->v, eb);
		if (r < 0) {
			free(p);
			return errbuf_prefix(eb, -r, "pci = %s", d->cfg.pci[i]);
		}
		r = device_add(d, &pci_device_ops, p, &dev, eb);
		if (r < 0) {
			vfio_close(&p->v);
			free(p);
			return r;
		}
	}
	return 0;
}

static void unmap_all(struct pcidev *p)
{
	struct errbuf eb;

	while (p->nmap) {
		p->nmap--;
		if (vfio_dma_unmap(&p->v, p->map[p->nmap].iova, p->map[p->nmap].size, &eb) < 0)
			fprintf(stderr, "xenith: pci %s: %s\n", p->bdf, eb.msg);
	}
}

/* The function quiet: no DMA (bus mastering off), then reset if it can be. */
static void quiesce_fn(struct pcidev *p)
{
	struct errbuf eb;

	if (p->v.device < 0)
		return;
	if (vfio_bus_master(&p->v, false, &eb) < 0)
		fprintf(stderr, "xenith: pci %s: %s\n", p->bdf, eb.msg);
	if (p->v.reset_ok) {
		if (vfio_reset(&p->v, &eb) < 0)
			fprintf(stderr, "xenith: pci %s: %s\n", p->bdf, eb.msg);
		else
			p->resets++;
	}
}

static int pci_connect(struct device *dev, struct errbuf *eb)
{
	struct pcidev *p = dev->priv;
	const struct memmap *mm = &dev->d->memmap;
	int r;

	quiesce_fn(p);
	for (unsigned i = 0; i < mm->nr; i++) {
		const struct memmap_region *rg = &mm->region[i];

		if (rg->type != MEMMAP_RAM)
			continue;
		if (!vfio_iova_ok(&p->v, rg->gpa, rg->size))
			return errbuf_set(eb, ERANGE, "pci %s: the domain's RAM %s at 0x%llx-0x%llx is outside what the "
						      "IOMMU can map for it (IOVA = guest-physical; `xenith pci check %s` "
						      "lists the IOVA ranges)", p->bdf, rg->name,
					  (unsigned long long)rg->gpa, (unsigned long long)(rg->gpa + rg->size - 1), p->bdf);
		r = vfio_dma_map(&p->v, rg->host, rg->gpa, rg->size, eb);
		if (r < 0)
			return errbuf_prefix(eb, -r, "pci %s: RAM %s", p->bdf, rg->name);
		p->map[p->nmap].iova = rg->gpa;
		p->map[p->nmap].size = rg->size;
		p->nmap++;
	}
	r = vfio_bus_master(&p->v, true, eb);
	if (r < 0)
		return errbuf_prefix(eb, -r, "pci %s", p->bdf);
	p->connects++;
	return 0;
}

static void pci_disconnect(struct device *dev)
{
	struct pcidev *p = dev->priv;

	quiesce_fn(p); /* before the mappings go: nothing in flight into guest memory */
	unmap_all(p);
}

static int pci_stats_json(struct device *dev, char *buf, size_t size)
{
	const struct pcidev *p = dev->priv;
	int n = snprintf(buf, size,
			 "{\"bdf\":\"%s\",\"iommu_group\":%d,\"dma_mapped_bytes\":%llu,\"dma_regions\":%u,"
			 "\"resets\":%llu,\"connects\":%llu,\"reset_supported\":%s,\"msix\":%u}",
			 p->bdf, p->v.group_id, (unsigned long long)p->v.mapped, p->nmap,
			 (unsigned long long)p->resets, (unsigned long long)p->connects, p->v.reset_ok ? "true" : "false",
			 p->v.msix);

	return n < 0 || (size_t)n >= size ? -1 : n;
}

static void pci_destroy(struct device *dev)
{
	struct pcidev *p = dev->priv;

	if (!p)
		return;
	quiesce_fn(p);
	unmap_all(p);
	vfio_close(&p->v);
	free(p);
	dev->priv = NULL;
}

const struct device_ops pci_device_ops = {
	.type = "pci",
	.create = pci_create,
	.connect = pci_connect,
	.disconnect = pci_disconnect,
	.stats_json = pci_stats_json,
	.destroy = pci_destroy,
};
