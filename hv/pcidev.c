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
 * The function's memory BARs are placed in the domain's device window above
 * RAM (builder_device_window, at create).  One that VFIO lets map whole
 * becomes a KVM memory slot backed by VFIO's mapping (at each connect): the
 * guest's accesses reach the device without an exit.  One that VFIO traps,
 * or lets map only in parts (the MSI-X table is in it), is trapped whole:
 * an MMIO range of the domain's (iobus.h) whose exits the vCPU thread
 * forwards with pread/pwrite on VFIO's region (1, 2, 4 or 8 bytes within
 * the BAR; anything else reads all ones and writes nothing).  The mappable
 * parts of a sparse BAR (VFIO's sparse-mmap areas, page-aligned) are
 * mapped and made slots over the trapped range, so that only the rest
 * exits.  XENITH_PCI_TRAP_BARS=1 in the VMM's environment traps every BAR,
 * and XENITH_PCI_SPARSE_BARS=1 handles every BAR that maps whole as if
 * VFIO let only its first half map, so that both paths can be tested on a
 * device whose BARs map whole (the lab's).
 *
 * A Linux guest (kind linux) finds its functions on a PCI bus instead
 * (pcicfg.h: configuration mechanism #1, a host bridge, the function's
 * config space emulated; ACPI declares the bus and the device window).
 * The pages of its BAR that hold the MSI-X table and PBA are trapped, the
 * rest of the BAR stays a slot; table writes route each vector the guest
 * enables to an irqfd (linux_msi_route): VFIO's eventfd straight into
 * KVM, no VMM thread in the interrupt's path.  Its command register's
 * memory and bus-master bits are the guest's.  The rest of this comment is
 * a PV guest's view.
 *
 * The guest learns of its functions from its store, in the shape of Xen's
 * pciback (backend/pci/DOMID/0: num_devs, dev-I = the BDF), plus keys of
 * Xenith's own, since a PV guest here has no config space access:
 * xenith-id-I ("1b36:0010"), xenith-msix-I (the vectors it may bind), and
 * per exposed BAR B xenith-barB-gpa-I and xenith-barB-size-I.  The frontend
 * directory device/pci/0 names the backend.  There is no XenbusState
 * handshake (Xen's own pcifront would need one).
 *
 * Interrupts: at connect, each MSI-X vector (up to PCI_MAX_VECTORS) is
 * routed by VFIO to an eventfd, and a thread of the domain's (xenith-irq)
 * waits on them.  A guest that wants vector V of function I as an event
 * channel allocates an unbound port for the backend (remote domain 0, as
 * for any backend) and writes it to device/pci/0/xenith-evtchn-I/V; the
 * backend binds it and answers in backend/.../xenith-evtchn-I/V: the port,
 * or "error: ..." saying why not.  From then on each interrupt sets that
 * port pending; interrupts before the bind are remembered and delivered at
 * it (one event, as an edge).  Writing 0 unbinds.  Xen's pcifront does this
 * with PHYSDEVOP_map_pirq and EVTCHNOP_bind_pirq instead (not built).  The
 * guest cannot reroute a vector: the MSI-X table it can write through BAR 0
 * is programmed by the host kernel, and the interrupt remapping of the
 * IOMMU only lets the function raise the host's vectors it was given.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "builder.h"
#include "confine.h"
#include "device.h"
#include "domain.h"
#include "evtchn.h"
#include "iobus.h"
#include "json.h"
#include "kind.h"
#include "linux.h"
#include "memmap.h"
#include "pcicfg.h"
#include "vfio.h"
#include "xenith/abi.h"
#include "xenstore.h"
#include "xsdomain.h"

const struct device_ops pci_device_ops;

/* MSI-X vectors a function may have as event channels (QEMU's NVMe VF has 1; a NIC VF a few). */
#define PCI_MAX_VECTORS 8u
_Static_assert(PCI_MAX_VECTORS == PCICFG_MAX_VECTORS, "a Linux guest's function has the same vectors");

struct pci_irq {
	_Atomic uint32_t port[PCI_MAX_VECTORS]; /* the bound event channel, 0: none */
	atomic_bool early[PCI_MAX_VECTORS];     /* an interrupt came before the guest bound the vector */
	int fd[PCI_MAX_VECTORS];                /* VFIO signals these */
	int ctl;                                /* the ports' kick_fd; also stops the thread */
	unsigned n;                             /* vectors routed */
	atomic_bool stop;
	bool running, routed, watching;
	pthread_t thread;
	char fe[96], be[96];                    /* device/pci/0/xenith-evtchn-I and its answer's directory */
	_Atomic uint64_t irqs, delivered, binds, bind_errors;
};

struct pcidev {
	struct device *dev;
	char bdf[CONFIG_BDF_LEN];
	struct vfio_dev v;
	struct { uint64_t iova, size; } map[MEMMAP_MAX_REGIONS];
	unsigned nmap;
	uint64_t bar_gpa[VFIO_BARS]; /* 0: not given to the guest */
	uint32_t id;                 /* vendor | device << 16, from config space */
	uint64_t resets, connects;
	struct pci_irq irq;
	bool trapped[VFIO_BARS];      /* given to the guest as an MMIO range, not a slot */
	bool registered[VFIO_BARS];   /* its MMIO range is on the domain's bus */
	/* the MMIO handler's opaque: the range starts at offset base of the BAR */
	struct pci_bar_ref { struct pcidev *p; unsigned bar; uint64_t base; } ref[VFIO_BARS];
	_Atomic uint64_t mmio_reads, mmio_writes, mmio_bad;

	/* A Linux guest's function: on its PCI bus, config space and MSI-X table emulated (pcicfg.h) */
	struct pcibus *bus;           /* NULL for a PV guest's */
	unsigned slot;
	struct pcicfg cfg;            /* under bus->lock */
	uint64_t msix_off[VFIO_BARS], msix_len[VFIO_BARS]; /* the MSI-X pages of a BAR: always trapped */
	unsigned parts;               /* slots made of sparse BARs' mappable parts, this connect */
	_Atomic uint64_t msix_io, msi_routes, msi_errors;
};

/*
 * Every BAR goes into the device window: mapped whole as a slot where VFIO
 * lets it, else trapped, with the parts VFIO lets map (a sparse BAR) as
 * slots over the trapped range.
 */
static int place_bars(struct domain *d, struct pcidev *p, struct errbuf *eb)
{
	const char *env = getenv("XENITH_PCI_TRAP_BARS"), *sp = getenv("XENITH_PCI_SPARSE_BARS");
	bool trap_all = env && !strcmp(env, "1"), sparse_all = sp && !strcmp(sp, "1");

	for (unsigned b = 0; b < VFIO_BARS; b++) {
		struct vfio_bar *bar = &p->v.bar[b];
		int r;

		if (!bar->size)
			continue;
		p->ref[b] = (struct pci_bar_ref){ p, b, 0 };
		if (sparse_all && bar->mmap && !bar->sparse && bar->size >= 8192) {
			/* the test of the sparse path (see the top of this file): the first half maps */
			bar->sparse = true;
			bar->nareas = 1;
			bar->area[0].offset = 0;
			bar->area[0].size = bar->size / 2;
		}
		p->trapped[b] = trap_all || !bar->mmap || bar->sparse;
		if (!p->trapped[b]) {
			r = vfio_map_bar(&p->v, b, eb);
			if (r < 0)
				return r;
		} else if (!trap_all && bar->mmap && bar->sparse) {
			r = vfio_map_bar_areas(&p->v, b, eb);
			if (r < 0)
				return r;
		}
		r = builder_device_window(d, bar->size < 4096 ? 4096 : bar->size, &p->bar_gpa[b], eb);
		if (r < 0)
			return errbuf_prefix(eb, -r, "BAR %u", b);
	}
	return 0;
}

/* ---- a Linux guest's function: config space and MSI-X table emulated (pcicfg.h) ---- */

/* The guest's memory-space and bus-master bits, onto the device's command register. */
static void fn_command(void *opaque, bool memory, bool bus_master)
{
	struct pcidev *p = opaque;
	struct errbuf eb;
	uint16_t set = (memory ? 0x2 : 0) | (bus_master ? 0x4 : 0);

	if (vfio_command(&p->v, set, 0x6 & ~set, &eb) < 0)
		fprintf(stderr, "xenith: pci %s: the guest's command register: %s\n", p->bdf, eb.msg);
}

/* The guest turned vector vec on (programmed, unmasked, enabled) or off: its irqfd follows. */
static void fn_msix(void *opaque, unsigned vec, bool on, uint64_t addr, uint32_t data)
{
	struct pcidev *p = opaque;
	struct errbuf eb;

	if (vec >= p->irq.n)
		return; /* no eventfd: VFIO gave the function fewer vectors (counted as not routed) */
	if (linux_msi_route(p->dev->d, p->dev->index * PCICFG_MAX_VECTORS + vec, on, addr, data, p->irq.fd[vec],
			    &eb) < 0) {
		if (atomic_fetch_add(&p->msi_errors, 1) == 0)
			fprintf(stderr, "xenith: pci %s: MSI-X vector %u: %s\n", p->bdf, vec, eb.msg);
		return;
	}
	if (on)
		atomic_fetch_add(&p->msi_routes, 1);
}

static const struct pcicfg_ops fn_ops = { .command = fn_command, .msix = fn_msix };

/* The function's config space as the guest will see it, and its place on the guest's bus. */
static int linux_fn_init(struct domain *d, struct pcidev *p, struct errbuf *eb)
{
	uint8_t raw[256];
	uint64_t gpa[PCICFG_BARS], size[PCICFG_BARS];
	const char *why = "";
	int r;

	for (unsigned off = 0; off < sizeof(raw); off += 4) {
		uint32_t v;

		r = vfio_cfg_read(&p->v, off, 4, &v, eb);
		if (r < 0)
			return r;
		memcpy(raw + off, &v, 4);
	}
	for (unsigned b = 0; b < PCICFG_BARS; b++) {
		gpa[b] = p->bar_gpa[b];
		size[b] = p->v.bar[b].size < 4096 ? 4096 : p->v.bar[b].size;
	}
	if (pcicfg_init(&p->cfg, raw, gpa, size, &fn_ops, p, &why) < 0)
		return errbuf_set(eb, EINVAL, "it cannot be given to a Linux guest: %s", why);
	for (unsigned b = 0; b < PCICFG_BARS; b++)
		if (p->bar_gpa[b])
			pcicfg_msix_pages(&p->cfg, b, &p->msix_off[b], &p->msix_len[b]);
	p->bus = linux_pcibus(d, eb);
	return p->bus ? 0 : -EBUSY;
}

static int pci_create(struct domain *d, const struct domain_opts *opts, struct errbuf *eb)
{
	(void)opts;
	if (d->cfg.nr_pci && d->guest_kind != &kind_pv && d->guest_kind != &kind_linux)
		return errbuf_set(eb, ENOTSUP, "pci = %s: passthrough into %s guests is not built (PV and Linux guests only)",
				  d->cfg.pci[0], d->guest_kind->name);
	for (unsigned i = 0; i < d->cfg.nr_pci; i++) {
		struct pcidev *p = calloc(1, sizeof(*p));
		struct device *dev;
		int r;

		if (!p)
			return errbuf_set(eb, ENOMEM, "pci %s: out of memory", d->cfg.pci[i]);
		p->irq.ctl = -1;
		for (unsigned v = 0; v < PCI_MAX_VECTORS; v++)
			p->irq.fd[v] = -1;
		snprintf(p->bdf, sizeof(p->bdf), "%s", d->cfg.pci[i]);
		r = vfio_open("/sys", "/dev/vfio", p->bdf, &p->v, eb);
		if (r < 0) {
			free(p);
			return errbuf_prefix(eb, -r, "pci = %s", d->cfg.pci[i]);
		}
		r = vfio_cfg_read(&p->v, 0, 4, &p->id, eb);
		if (r >= 0)
			r = place_bars(d, p, eb);
		if (r >= 0 && d->guest_kind == &kind_linux)
			r = linux_fn_init(d, p, eb);
		if (r < 0) {
			vfio_close(&p->v);
			free(p);
			return errbuf_prefix(eb, -r, "pci = %s", d->cfg.pci[i]);
		}
		r = device_add(d, &pci_device_ops, p, &dev, eb);
		if (r < 0) {
			vfio_close(&p->v);
			free(p);
			return r;
		}
		p->dev = dev;
		if (p->bus) {
			r = pcibus_add(p->bus, &p->cfg, &p->slot);
			if (r < 0)
				return errbuf_set(eb, -r, "pci = %s: the guest's PCI bus is full", p->bdf);
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

/* dir/key = the formatted value in s, unless an earlier write failed (*r < 0). */
static void put(struct xs_store *s, int *r, const char *dir, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static void put(struct xs_store *s, int *r, const char *dir, const char *key, const char *fmt, ...)
{
	char path[160], val[64];
	va_list ap;

	if (*r < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/%s", dir, key);
	*r = xs_write(s, path, val, strlen(val));
}

/* dir owned by domain own, readable by domain other (as xl sets a device's directories). */
static void mkdir_for(struct xs_store *s, int *r, const char *dir, unsigned own, unsigned other)
{
	char o[16], t[16];
	const char *perms[2] = { o, t };

	if (*r < 0)
		return;
	snprintf(o, sizeof(o), "n%u", own);
	snprintf(t, sizeof(t), "r%u", other);
	*r = xs_mkdir(s, dir);
	if (*r == 0)
		*r = xs_set_perms(s, dir, perms, 2);
}

/* The guest's view of function dev->index in its store (see the top of this file). */
static int publish(struct device *dev, struct errbuf *eb)
{
	struct domain *d = dev->d;
	struct pcidev *p = dev->priv;
	struct xs_store *s = xsdomain_store(d);
	char be[96], fe[96], key[48];
	unsigned i = dev->index;
	int r = 0;

	if (!s)
		return errbuf_set(eb, ENOTCONN, "pci %s: the domain has no store to tell its guest", p->bdf);
	snprintf(be, sizeof(be), "/local/domain/%u/backend/pci/%u/0", XENITH_BACKEND_DOMID, d->domid);
	snprintf(fe, sizeof(fe), "/local/domain/%u/device/pci/0", d->domid);
	if (i == 0) {
		mkdir_for(s, &r, be, XENITH_BACKEND_DOMID, d->domid);
		put(s, &r, be, "frontend", "%s", fe);
		put(s, &r, be, "frontend-id", "%u", d->domid);
		put(s, &r, be, "online", "1");
		put(s, &r, be, "num_devs", "%u", d->cfg.nr_pci);
		mkdir_for(s, &r, fe, d->domid, XENITH_BACKEND_DOMID);
		put(s, &r, fe, "backend", "%s", be);
		put(s, &r, fe, "backend-id", "%u", XENITH_BACKEND_DOMID);
	}
	snprintf(key, sizeof(key), "dev-%u", i);
	put(s, &r, be, key, "%s", p->bdf);
	snprintf(key, sizeof(key), "xenith-id-%u", i);
	put(s, &r, be, key, "%04x:%04x", p->id & 0xffff, p->id >> 16);
	snprintf(key, sizeof(key), "xenith-msix-%u", i);
	put(s, &r, be, key, "%u", p->v.msix);
	for (unsigned b = 0; b < VFIO_BARS; b++) {
		if (!p->bar_gpa[b])
			continue;
		snprintf(key, sizeof(key), "xenith-bar%u-gpa-%u", b, i);
		put(s, &r, be, key, "%llu", (unsigned long long)p->bar_gpa[b]);
		snprintf(key, sizeof(key), "xenith-bar%u-size-%u", b, i);
		put(s, &r, be, key, "%llu", (unsigned long long)p->v.bar[b].size);
	}
	if (r < 0)
		return errbuf_set(eb, -r, "pci %s: writing its keys under %s: %s", p->bdf, be, strerror(-r));
	return 0;
}

/* ---- MSI-X vectors to event channels (see the top of this file) ---- */

/* Sets vector v's port pending, or remembers the interrupt for when the guest binds one. */
static void irq_deliver(struct pcidev *p, unsigned v)
{
	struct pci_irq *q = &p->irq;
	uint32_t port = atomic_load(&q->port[v]);

	if (!port) {
		atomic_store(&q->early[v], true);
		port = atomic_load(&q->port[v]); /* a bind between the two loads delivers it itself, or we do */
		if (!port || !atomic_exchange(&q->early[v], false))
			return;
	}
	if (evtchn_backend_notify(p->dev->d, port, q->ctl))
		atomic_fetch_add_explicit(&q->delivered, 1, memory_order_relaxed);
}

static void *irq_thread(void *arg)
{
	struct pcidev *p = arg;
	struct pci_irq *q = &p->irq;
	struct pollfd pf[PCI_MAX_VECTORS + 1];
	uint64_t n;

	confine_thread(CONFINE_IRQ);
	pf[0] = (struct pollfd){ .fd = q->ctl, .events = POLLIN };
	for (unsigned v = 0; v < q->n; v++)
		pf[v + 1] = (struct pollfd){ .fd = q->fd[v], .events = POLLIN };
	while (!atomic_load(&q->stop)) {
		if (ppoll(pf, q->n + 1, NULL, NULL) < 0)
			continue; /* EINTR */
		if (pf[0].revents && read(q->ctl, &n, sizeof(n)) < 0)
			continue; /* a guest's send or close on a bound port, or the stop */
		for (unsigned v = 0; v < q->n; v++) {
			if (!pf[v + 1].revents || read(q->fd[v], &n, sizeof(n)) != sizeof(n))
				continue;
			atomic_fetch_add_explicit(&q->irqs, 1, memory_order_relaxed);
			irq_deliver(p, v);
		}
	}
	return NULL;
}

/* The guest changed device/pci/0/xenith-evtchn-I: binds, rebinds or unbinds each vector, and answers. */
static void irq_changed(void *opaque, const char *path, const char *token)
{
	struct pcidev *p = opaque;
	struct pci_irq *q = &p->irq;
	struct domain *d = p->dev->d;
	struct xs_store *s = xsdomain_store(d);
	char key[128], ans[224];

	(void)path;
	(void)token;
	if (!s)
		return;
	for (unsigned v = 0; v < q->n; v++) {
		uint64_t want = 0;
		uint32_t cur = atomic_load(&q->port[v]);
		int r;

		snprintf(key, sizeof(key), "%s/%u", q->fe, v);
		r = xs_read_u64(s, key, &want);
		if (r == -ENOENT)
			want = 0; /* removed: as 0 */
		else if (r < 0 || want >= XENITH_NR_EVTCHN) {
			snprintf(ans, sizeof(ans), "error: %s is not an event channel port (1 to %u)", key,
				 XENITH_NR_EVTCHN - 1);
			atomic_fetch_add(&q->bind_errors, 1);
			goto answer;
		}
		if (want == cur)
			continue;
		if (cur) {
			atomic_store(&q->port[v], 0);
			evtchn_backend_unbind(d, cur, q->ctl);
		}
		if (!want) {
			snprintf(ans, sizeof(ans), "0");
			goto answer;
		}
		r = evtchn_backend_bind(d, (uint32_t)want, q->ctl);
		if (r < 0) {
			snprintf(ans, sizeof(ans), "error: port %llu is %s", (unsigned long long)want,
				 r == -EBUSY ? "bound to a backend already"
					     : "not a port this domain allocated unbound for domain 0 (EVTCHNOP_alloc_unbound)");
			atomic_fetch_add(&q->bind_errors, 1);
			goto answer;
		}
		atomic_store(&q->port[v], (uint32_t)want);
		atomic_fetch_add(&q->binds, 1);
		if (atomic_exchange(&q->early[v], false) && evtchn_backend_notify(d, (uint32_t)want, q->ctl))
			atomic_fetch_add(&q->delivered, 1);
		snprintf(ans, sizeof(ans), "%llu", (unsigned long long)want);
answer:
		snprintf(key, sizeof(key), "%s/%u", q->be, v);
		xs_printf(s, key, "%s", ans);
	}
}

/* Lets go of whatever irq_start set up; also after a partial one. Main thread, no vCPU running. */
static void irq_stop(struct pcidev *p)
{
	struct pci_irq *q = &p->irq;
	struct domain *d = p->dev->d;
	struct xs_store *s = xsdomain_store(d);
	struct errbuf eb;
	uint64_t one = 1;

	if (q->watching && s)
		xs_unwatch(s, q->fe, "pci", irq_changed, p);
	q->watching = false;
	if (q->routed && vfio_msix_set(&p->v, 0, NULL, &eb) < 0)
		fprintf(stderr, "xenith: pci %s: %s\n", p->bdf, eb.msg);
	q->routed = false;
	if (q->running) {
		atomic_store(&q->stop, true);
		if (write(q->ctl, &one, sizeof(one)) < 0)
			fprintf(stderr, "xenith: pci %s: stopping its interrupt thread: %s\n", p->bdf, strerror(errno));
		pthread_join(q->thread, NULL);
		q->running = false;
	}
	for (unsigned v = 0; v < PCI_MAX_VECTORS; v++) {
		uint32_t port = atomic_exchange(&q->port[v], 0);

		if (port)
			evtchn_backend_unbind(d, port, q->ctl);
		atomic_store(&q->early[v], false);
		if (q->fd[v] >= 0)
			close(q->fd[v]);
		q->fd[v] = -1;
	}
	if (q->ctl >= 0)
		close(q->ctl);
	q->ctl = -1;
	q->n = 0;
}

/* Routes the function's MSI-X vectors (up to PCI_MAX_VECTORS) to eventfds. */
static int irq_route(struct pcidev *p, struct errbuf *eb)
{
	struct pci_irq *q = &p->irq;
	unsigned n = p->v.msix < PCI_MAX_VECTORS ? p->v.msix : PCI_MAX_VECTORS;
	int r;

	if (!n)
		return 0;
	q->ctl = eventfd(0, EFD_CLOEXEC);
	if (q->ctl < 0)
		return errbuf_set(eb, errno, "pci %s: eventfd for its interrupts: %s", p->bdf, strerror(errno));
	for (unsigned v = 0; v < n; v++) {
		q->fd[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (q->fd[v] < 0)
			return errbuf_set(eb, errno, "pci %s: eventfd for MSI-X vector %u: %s", p->bdf, v,
					  strerror(errno));
	}
	q->n = n;
	r = vfio_msix_set(&p->v, n, q->fd, eb);
	if (r < 0)
		return r;
	q->routed = true;
	return 0;
}

/* A PV guest's function: its vectors routed, their thread started and the guest's watch set. */
static int irq_start(struct pcidev *p, struct errbuf *eb)
{
	struct pci_irq *q = &p->irq;
	struct domain *d = p->dev->d;
	struct xs_store *s = xsdomain_store(d);
	sigset_t all, old;
	int r;

	if (!p->v.msix || !s)
		return 0;
	r = irq_route(p, eb);
	if (r < 0)
		return r;
	atomic_store(&q->stop, false);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old); /* the thread takes no signal meant for the process */
	r = pthread_create(&q->thread, NULL, irq_thread, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r)
		return errbuf_set(eb, r, "pci %s: starting its interrupt thread: %s", p->bdf, strerror(r));
	q->running = true;
	snprintf(q->fe, sizeof(q->fe), "/local/domain/%u/device/pci/0/xenith-evtchn-%u", d->domid, p->dev->index);
	snprintf(q->be, sizeof(q->be), "/local/domain/%u/backend/pci/%u/0/xenith-evtchn-%u", XENITH_BACKEND_DOMID,
		 d->domid, p->dev->index);
	xs_rm(s, q->fe); /* a port of the build before is not this build's */
	xs_rm(s, q->be);
	r = xs_watch(s, q->fe, "pci", irq_changed, p);
	if (r < 0)
		return errbuf_set(eb, -r, "pci %s: xenstore watch on %s: %s", p->bdf, q->fe, strerror(-r));
	q->watching = true;
	return 0;
}

/* A guest's access to a trapped BAR (a vCPU thread's MMIO exit): forwarded to VFIO's region. */
static void bar_mmio(void *opaque, struct iobus_io *io)
{
	struct pci_bar_ref *ref = opaque;
	struct pcidev *p = ref->p;
	uint64_t off = ref->base + io->offset;
	bool ok;

	if (p->bus && pcibus_msix_io(p->bus, &p->cfg, ref->bar, off, io->data, io->size, io->write)) {
		atomic_fetch_add_explicit(&p->msix_io, 1, memory_order_relaxed);
		return;
	}
	ok = (io->size == 1 || io->size == 2 || io->size == 4 || io->size == 8) &&
	     vfio_bar_rw(&p->v, ref->bar, off, io->data, io->size, io->write) == 0;

	if (!ok) {
		atomic_fetch_add_explicit(&p->mmio_bad, 1, memory_order_relaxed);
		if (!io->write)
			memset(io->data, 0xff, io->size);
		return;
	}
	atomic_fetch_add_explicit(io->write ? &p->mmio_writes : &p->mmio_reads, 1, memory_order_relaxed);
}

/* BAR b at its place: a slot (less the MSI-X pages a Linux guest's function traps), or trapped whole. */
static int connect_bar(struct device *dev, struct pcidev *p, unsigned b, struct errbuf *eb)
{
	uint64_t size = p->v.bar[b].size < 4096 ? 4096 : p->v.bar[b].size;
	uint64_t t0 = 0, tlen = size;  /* the trapped part */
	char name[MEMMAP_NAME_MAX];
	int r;

	if (!p->trapped[b]) {
		t0 = p->msix_off[b];
		tlen = p->msix_len[b];
		snprintf(name, sizeof(name), "pci%u-bar%u", dev->index % 100u, b);
		if (t0) {
			r = memmap_add_device(&dev->d->memmap, name, p->bar_gpa[b], t0, p->v.bar[b].map, eb);
			if (r < 0)
				return errbuf_prefix(eb, -r, "pci %s", p->bdf);
		}
		if (t0 + tlen < size) {
			snprintf(name, sizeof(name), "pci%u-bar%u%s", dev->index % 100u, b, t0 ? "+" : "");
			r = memmap_add_device(&dev->d->memmap, name, p->bar_gpa[b] + t0 + tlen, size - t0 - tlen,
					      (uint8_t *)p->v.bar[b].map + t0 + tlen, eb);
			if (r < 0)
				return errbuf_prefix(eb, -r, "pci %s", p->bdf);
		}
	}
	if (!tlen)
		return 0;
	/* The bus keeps the name pointer: the device's BDF outlives the registration. */
	p->ref[b].base = t0;
	r = iobus_register(&dev->d->mmio, p->bdf, p->bar_gpa[b] + t0, tlen, bar_mmio, &p->ref[b], eb);
	if (r < 0)
		return errbuf_prefix(eb, -r, "pci %s: BAR %u", p->bdf, b);
	p->registered[b] = true;
	if (!p->trapped[b])
		return 0;
	/* A sparse BAR's mappable parts: slots over the trapped range (KVM exits only for the rest) */
	for (unsigned k = 0; k < p->v.bar[b].nareas; k++) {
		uint64_t off = p->v.bar[b].area[k].offset, len = p->v.bar[b].area[k].size;

		if (!p->v.bar[b].area_map[k] ||
		    (p->msix_len[b] && off < p->msix_off[b] + p->msix_len[b] && p->msix_off[b] < off + len))
			continue; /* not mapped, or it holds a Linux guest's MSI-X table, which stays trapped */
		snprintf(name, sizeof(name), "pci%u-bar%u.%u", dev->index % 100u, b, k);
		r = memmap_add_device(&dev->d->memmap, name, p->bar_gpa[b] + off, len, p->v.bar[b].area_map[k], eb);
		if (r < 0)
			return errbuf_prefix(eb, -r, "pci %s: BAR %u's part at 0x%llx", p->bdf, b, (unsigned long long)off);
		p->parts++;
	}
	return 0;
}

static int pci_connect(struct device *dev, struct errbuf *eb)
{
	struct pcidev *p = dev->priv;
	const struct memmap *mm = &dev->d->memmap;
	int r;

	quiesce_fn(p);
	p->parts = 0;
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
	for (unsigned b = 0; b < VFIO_BARS; b++) {
		if (!p->bar_gpa[b])
			continue;
		r = connect_bar(dev, p, b, eb);
		if (r < 0)
			return r;
	}
	if (p->bus) {
		/* The guest's driver turns memory space and bus mastering on (fn_command) */
		pthread_mutex_lock(&p->bus->lock);
		pcicfg_reset(&p->cfg);
		pthread_mutex_unlock(&p->bus->lock);
		r = irq_route(p, eb);
		if (r < 0)
			return r;
		p->connects++;
		return 0;
	}
	r = vfio_bus_master(&p->v, true, eb);
	if (r < 0)
		return errbuf_prefix(eb, -r, "pci %s", p->bdf);
	r = publish(dev, eb);
	if (r < 0)
		return r;
	r = irq_start(p, eb);
	if (r < 0)
		return r;
	p->connects++;
	return 0;
}

static void pci_disconnect(struct device *dev)
{
	struct pcidev *p = dev->priv;

	quiesce_fn(p); /* before the mappings go: nothing in flight into guest memory */
	if (p->bus)
		linux_msi_reset(dev->d); /* the irqfds first: irq_stop closes their eventfds */
	irq_stop(p);
	unmap_all(p);
	for (unsigned b = 0; b < VFIO_BARS; b++)
		if (p->registered[b]) {
			iobus_unregister(&dev->d->mmio, p->bar_gpa[b] + p->ref[b].base);
			p->registered[b] = false;
		}
}

static unsigned trapped_bars(const struct pcidev *p)
{
	unsigned n = 0;

	for (unsigned b = 0; b < VFIO_BARS; b++)
		n += p->trapped[b] && p->bar_gpa[b];
	return n;
}

static int pci_stats_json(struct device *dev, char *buf, size_t size)
{
	const struct pcidev *p = dev->priv;
	int n = snprintf(buf, size,
			 "{\"bdf\":\"%s\",\"iommu_group\":%d,\"dma_mapped_bytes\":%llu,\"dma_regions\":%u,"
			 "\"resets\":%llu,\"connects\":%llu,\"reset_supported\":%s,\"msix\":%u,"
			 "\"msix_routed\":%u,\"irqs\":%llu,\"irqs_delivered\":%llu,\"evtchn_binds\":%llu,"
			 "\"evtchn_bind_errors\":%llu,\"trapped_bars\":%u,\"mmio_reads\":%llu,\"mmio_writes\":%llu,"
			 "\"mmio_refused\":%llu,\"pci_slot\":%u,\"msix_table_accesses\":%llu,\"msi_routes\":%llu,"
			 "\"msi_errors\":%llu,\"bar_moves\":%llu,\"mapped_parts\":%u}",
			 p->bdf, p->v.group_id, (unsigned long long)p->v.mapped, p->nmap,
			 (unsigned long long)p->resets, (unsigned long long)p->connects, p->v.reset_ok ? "true" : "false",
			 p->v.msix, p->irq.n, (unsigned long long)atomic_load(&p->irq.irqs),
			 (unsigned long long)atomic_load(&p->irq.delivered), (unsigned long long)atomic_load(&p->irq.binds),
			 (unsigned long long)atomic_load(&p->irq.bind_errors), trapped_bars(p),
			 (unsigned long long)atomic_load(&p->mmio_reads), (unsigned long long)atomic_load(&p->mmio_writes),
			 (unsigned long long)atomic_load(&p->mmio_bad), p->bus ? p->slot : 0,
			 (unsigned long long)atomic_load(&p->msix_io), (unsigned long long)atomic_load(&p->msi_routes),
			 (unsigned long long)atomic_load(&p->msi_errors), (unsigned long long)p->cfg.bar_moves, p->parts);

	return n < 0 || (size_t)n >= size ? -1 : n;
}

static void pci_destroy(struct device *dev)
{
	struct pcidev *p = dev->priv;

	if (!p)
		return;
	quiesce_fn(p);
	if (p->bus) {
		linux_msi_reset(dev->d);
		pcibus_remove(p->bus, p->slot);
	}
	irq_stop(p);
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
