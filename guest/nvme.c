// SPDX-License-Identifier: MIT
/*
 * nvme: the guest's programs for an NVMe function passed through to the
 * domain (`pci = [...]`, hv/pcidev.c), on the driver core in nvme/drv.c.
 *
 *   nvme info [dev=I] [irq=0|1]
 *       brings the controller up and prints what it is:
 *       "nvme: dev I BDF id VVVV:DDDD serial '...' model '...' blocks N bs B qdepth Q irq MODE"
 *       with MODE "msix evtchn P" (completions wake the guest through
 *       event channel P, the default when the function has an MSI-X
 *       vector) or "polled" (irq=0, or no vector)
 *   nvme verify|fill|check [dev=I] [irq=0|1] lba=L blocks=N seed=S
 *       fill writes blk_pattern(seed) (include/blkpattern.h, as by byte
 *       offset on the disk) to N blocks at LBA L and flushes; check reads
 *       them and compares; verify does both; "nvme-verify: ok ..." or a
 *       line saying the first difference
 *   nvme irqcheck [dev=I]
 *       the event-channel binding of vector 0 against wrong values (not a
 *       number, past the last port, the console's port, a closed port): each
 *       must get "error: ..." from the backend; then good ports bind, replace
 *       each other and unbind, and a read completes by its interrupt
 *   nvme fault [dev=I]
 *       a read whose buffer is at a guest-physical address past RAM and
 *       past the device window, which the IOMMU does not map: the guest's
 *       own memory must be untouched and the device must serve a good read
 *       after (the lab test finds the IOMMU's fault in the host's log)
 *
 * The function is found in the store, where the VMM put it
 * (backend/pci/DOMID/0: dev-I, xenith-id-I, xenith-bar0-gpa-I,
 * xenith-bar0-size-I).  Guest memory is identity-mapped and the IOMMU maps
 * it at IOVA = guest-physical, so a buffer's address is its IOVA; BAR 0 is
 * mapped uncached at its guest-physical address.  With an event channel,
 * a wait for a completion blocks in SCHEDOP_poll on it (the hv/pcidev.c
 * binding protocol: the port written to device/pci/0/xenith-evtchn-I/0,
 * the backend's answer read back); the programs end their output with
 * "irq: E events, T timeouts" so that a test sees that interrupts came.
 * Exit status 0 when what was asked held.
 */
#include "minios.h"
#include "blkhist.h"
#include "blkpattern.h"
#include "nvmedev.h"
#include "xenbus.h"

#define QDEPTH 32u
#define PAGE 4096ul
#define IRQ_WAIT_NS 100000000ull /* a lost interrupt costs this, not a hang */

static uint32_t rd32(void *ctx, uint32_t off)
{
	struct nvme_dev *d = ctx;

	if (off + 4 > d->bar0_size)
		return ~0u; /* the driver sees a device that is gone */
	return *(volatile uint32_t *)(d->bar0 + off);
}

static void wr32(void *ctx, uint32_t off, uint32_t val)
{
	struct nvme_dev *d = ctx;

	if (off + 4 > d->bar0_size)
		return;
	__atomic_thread_fence(__ATOMIC_RELEASE); /* queue entries before the doorbell */
	*(volatile uint32_t *)(d->bar0 + off) = val;
}

static uint64_t now(void *ctx)
{
	(void)ctx;
	return monotonic_ns();
}

void nvme_dev_wait(struct nvme_dev *d)
{
	if (!d->waiting) {
		__builtin_ia32_pause();
		return;
	}
	/* The port was cleared before the queue was looked at last (below), so no completion is missed. */
	if (sched_poll(&d->port, 1, IRQ_WAIT_NS) == 0)
		d->events++;
	else
		d->timeouts++;
	evtchn_test_and_clear(d->port);
}

/* The driver's polling loops: after each look at a queue that found nothing. */
static void relax(void *ctx)
{
	nvme_dev_wait(ctx);
}

const char *nvme_dev_mode(const struct nvme_dev *d)
{
	static char buf[32];

	if (!d->port)
		return "polled";
	snprintf(buf, sizeof(buf), "msix evtchn %u", d->port);
	return buf;
}

/*
 * Writes value to the frontend's key for vector 0 and reads the backend's
 * answer (hv/pcidev.c: the port, "0", or "error: ..."), which the store's
 * watch writes before the write's reply reaches the guest; the loop only
 * covers a backend that answers late.  "" when none came in 1 s.
 */
static void ask_vector(const struct nvme_dev *d, const char *be, const char *value, char *ans, size_t size)
{
	char fe[96], p[192];

	ans[0] = 0;
	snprintf(fe, sizeof(fe), "device/pci/0/xenith-evtchn-%u", d->index);
	if (xenbus_printf(XBT_NIL, fe, "0", "%s", value) < 0) {
		snprintf(ans, size, "(cannot write %s/0)", fe);
		return;
	}
	snprintf(p, sizeof(p), "%s/xenith-evtchn-%u/0", be, d->index);
	for (uint64_t t0 = monotonic_ns(); monotonic_ns() - t0 < 1000000000ull; sched_yield())
		if (xenbus_read(XBT_NIL, p, ans, size) >= 0 && ans[0])
			return;
	ans[0] = 0;
}

/* The backend's answer is port: it bound it. */
static bool answered(const char *ans, uint32_t port)
{
	const char *end = NULL;
	unsigned long got = 0;

	return parse_ulong(ans, &end, &got) && !*end && got == port;
}

/*
 * Vector 0 of the function as an event channel: an unbound port for the
 * backend, written to the frontend's key; the backend's answer says
 * whether it took it.  0, or -1 after printing why.
 */
static int bind_irq(struct nvme_dev *d, const char *be)
{
	char ans[96], val[16];
	int port = evtchn_alloc_unbound(XENITH_BACKEND_DOMID);

	if (port < 0) {
		printf("nvme: %s: no event channel for its interrupts (%d)\n", d->bdf, port);
		return -1;
	}
	snprintf(val, sizeof(val), "%d", port);
	ask_vector(d, be, val, ans, sizeof(ans));
	if (!answered(ans, (uint32_t)port)) {
		printf("nvme: %s: the backend did not bind port %d to MSI-X vector 0: %s\n", d->bdf, port,
		       ans[0] ? ans : "no answer in 1 s");
		evtchn_close((uint32_t)port);
		return -1;
	}
	d->port = (uint32_t)port;
	evtchn_test_and_clear(d->port); /* an interrupt from before (early) is a spurious wake-up at most */
	return 0;
}

/* The index-th function the VMM gave this domain, from the store. */
static int find_dev(unsigned index, struct nvme_dev *d, char *be, size_t besz)
{
	char p[192];
	uint64_t n = 0, gpa = 0, size = 0;

	memset(d, 0, sizeof(*d));
	d->index = index;
	if (xenbus_read(XBT_NIL, "device/pci/0/backend", be, besz) < 0) {
		printf("nvme: no PCI function was given to this domain (device/pci/0/backend: none; "
		       "xenith run --pci BDF)\n");
		return -1;
	}
	snprintf(p, sizeof(p), "%s/num_devs", be);
	if (xenbus_read_u64(XBT_NIL, p, &n) < 0 || index >= n) {
		printf("nvme: dev=%u: the domain has %llu PCI function(s)\n", index, (unsigned long long)n);
		return -1;
	}
	snprintf(p, sizeof(p), "%s/dev-%u", be, index);
	xenbus_read(XBT_NIL, p, d->bdf, sizeof(d->bdf));
	snprintf(p, sizeof(p), "%s/xenith-id-%u", be, index);
	xenbus_read(XBT_NIL, p, d->id, sizeof(d->id));
	snprintf(p, sizeof(p), "%s/xenith-bar0-gpa-%u", be, index);
	if (xenbus_read_u64(XBT_NIL, p, &gpa) < 0 || !gpa) {
		printf("nvme: %s: its BAR 0 is not mapped into this domain (no xenith-bar0-gpa-%u)\n", d->bdf, index);
		return -1;
	}
	snprintf(p, sizeof(p), "%s/xenith-bar0-size-%u", be, index);
	if (xenbus_read_u64(XBT_NIL, p, &size) < 0 || size < 0x2000) {
		printf("nvme: %s: BAR 0 of %llu bytes is too small for an NVMe controller\n", d->bdf,
		       (unsigned long long)size);
		return -1;
	}
	d->bar0 = (volatile uint8_t *)(uintptr_t)gpa;
	d->bar0_size = size;
	snprintf(p, sizeof(p), "%s/xenith-msix-%u", be, index);
	if (xenbus_read_u64(XBT_NIL, p, &n) == 0)
		d->msix = (unsigned)n;
	return 0;
}

static int bring_up(struct nvme_dev *d)
{
	struct nvme_ops ops = { .ctx = d, .rd32 = rd32, .wr32 = wr32, .now_ns = now, .relax = relax };
	size_t pages = (size_t)(NVME_QUEUE_MEM_SIZE(QDEPTH) / PAGE);
	struct nvme_dma q;
	int r;

	if (!d->qmem)
		d->qmem = alloc_pages(pages); /* kept across a re-init */
	if (!d->qmem) {
		printf("nvme: no memory for the queues (%lu pages)\n", (unsigned long)pages);
		return -1;
	}
	q = (struct nvme_dma){ .va = d->qmem, .iova = (uint64_t)(uintptr_t)d->qmem, .len = pages * PAGE };
	/*
	 * The reset and enable poll the registers (no interrupt says the
	 * controller is ready); once it is, the admin CQ signals vector 0, and
	 * the I/O CQ too when it is created with it.
	 */
	d->waiting = false;
	r = d->port ? nvme_init_irq(&d->c, &ops, q, QDEPTH, 0) : nvme_init(&d->c, &ops, q, QDEPTH);
	if (r < 0) {
		printf("nvme: %s: %s (status 0x%x)\n", d->bdf, nvme_strerror(r), nvme_last_status(&d->c));
		return -1;
	}
	d->waiting = d->port != 0;
	printf("nvme: dev %u %s id %s serial '%s' model '%s' blocks %llu bs %u qdepth %u irq %s\n", d->index, d->bdf,
	       d->id, nvme_serial(&d->c), nvme_model(&d->c), (unsigned long long)nvme_ns_blocks(&d->c),
	       nvme_block_size(&d->c), nvme_qdepth(&d->c), nvme_dev_mode(d));
	return 0;
}

int nvme_dev_open(unsigned index, bool irq, struct nvme_dev *d)
{
	char be[128];

	if (find_dev(index, d, be, sizeof(be)) < 0)
		return -1;
	if (irq && d->msix && bind_irq(d, be) < 0)
		return -1;
	return bring_up(d);
}

int nvme_dev_reinit(struct nvme_dev *d)
{
	return bring_up(d);
}

void nvme_dev_close(struct nvme_dev *d)
{
	char fe[96];

	d->waiting = false; /* the shutdown polls: the controller may not signal its completion */
	nvme_shutdown(&d->c);
	if (!d->port)
		return;
	snprintf(fe, sizeof(fe), "device/pci/0/xenith-evtchn-%u", d->index);
	xenbus_printf(XBT_NIL, fe, "0", "0");
	evtchn_close(d->port);
	d->port = 0;
}

/* The interrupt counts, for a test to see that completions came by event channel. */
static void print_irq(const struct nvme_dev *d)
{
	if (d->port)
		printf("nvme: irq: %llu events, %llu timeouts\n", (unsigned long long)d->events,
		       (unsigned long long)d->timeouts);
	else
		printf("nvme: irq: polled\n");
}

struct opts {
	unsigned long dev, lba, blocks, seed, irq;
};

static bool parse(const char *args, struct opts *o)
{
	const char *p = args;

	while (*p) {
		const char *k = p, *eq;
		uint64_t n64;
		unsigned long n;

		while (*p && *p != ' ')
			p++;
		eq = memchr(k, '=', (size_t)(p - k));
		/* numbers as blk takes them (include/blkhist.h): digits, then k or m at most */
		if (!eq || !blk_parse_count(eq + 1, (size_t)(p - eq - 1), &n64)) {
			printf("nvme: '%.*s' is not key=number\n", (int)(p - k), k);
			return false;
		}
		n = (unsigned long)n64;
		if (eq - k == 3 && !memcmp(k, "dev", 3)) o->dev = n;
		else if (eq - k == 3 && !memcmp(k, "lba", 3)) o->lba = n;
		else if (eq - k == 6 && !memcmp(k, "blocks", 6)) o->blocks = n;
		else if (eq - k == 4 && !memcmp(k, "seed", 4)) o->seed = n;
		else if (eq - k == 3 && !memcmp(k, "irq", 3)) o->irq = n;
		else {
			printf("nvme: unknown option '%.*s' (dev, lba, blocks, seed, irq)\n", (int)(eq - k), k);
			return false;
		}
		while (*p == ' ')
			p++;
	}
	return true;
}

/* nblocks at lba, in commands of at most nvme_max_blocks, from or into buf. */
static int transfer(struct nvme_dev *d, bool write, uint64_t lba, uint64_t nblocks, uint8_t *buf)
{
	uint32_t bs = nvme_block_size(&d->c), max = nvme_max_blocks(&d->c);

	for (uint64_t done = 0; done < nblocks;) {
		uint32_t n = nblocks - done < max ? (uint32_t)(nblocks - done) : max;
		int r = nvme_rw_sync(&d->c, write, lba + done, n, (uint64_t)(uintptr_t)(buf + done * bs),
				     NVME_CMD_TIMEOUT_NS);

		if (r < 0) {
			printf("nvme-verify: %s of %u blocks at LBA %llu: %s (status 0x%x: %s)\n", write ? "write" : "read",
			       n, (unsigned long long)(lba + done), nvme_strerror(r), nvme_last_status(&d->c),
			       nvme_status_str(nvme_last_status(&d->c)));
			return -1;
		}
		done += n;
	}
	if (write) {
		int r = nvme_flush(&d->c, NVME_CMD_TIMEOUT_NS);

		if (r < 0) {
			printf("nvme-verify: flush: %s\n", nvme_strerror(r));
			return -1;
		}
	}
	return 0;
}

static void fill_pattern(uint8_t *buf, uint64_t seed, uint64_t lba, uint64_t bytes, uint32_t bs)
{
	for (uint64_t o = 0; o < bytes; o += 8) {
		uint64_t w = blk_pattern(seed, lba * bs + o);

		memcpy(buf + o, &w, 8);
	}
}

static int verify(struct nvme_dev *d, const char *verb, const struct opts *o)
{
	uint32_t bs = nvme_block_size(&d->c);
	uint64_t bytes = o->blocks * bs;
	size_t pages = (size_t)((bytes + PAGE - 1) / PAGE);
	bool do_fill = strcmp(verb, "check"), do_check = strcmp(verb, "fill");
	uint8_t *buf;
	int r = -1;

	if (!o->blocks || o->lba + o->blocks > nvme_ns_blocks(&d->c)) {
		printf("nvme-verify: lba=%lu blocks=%lu: outside the namespace's %llu blocks\n", o->lba, o->blocks,
		       (unsigned long long)nvme_ns_blocks(&d->c));
		return -1;
	}
	buf = alloc_pages(pages);
	if (!buf) {
		printf("nvme-verify: no memory for %lu blocks\n", o->blocks);
		return -1;
	}
	if (do_fill) {
		fill_pattern(buf, o->seed, o->lba, bytes, bs);
		if (transfer(d, true, o->lba, o->blocks, buf) < 0)
			goto out;
	}
	if (do_check) {
		memset(buf, 0xa5, pages * PAGE);
		if (transfer(d, false, o->lba, o->blocks, buf) < 0)
			goto out;
		for (uint64_t off = 0; off < bytes; off += 8) {
			uint64_t w, want = blk_pattern(o->seed, o->lba * bs + off);

			memcpy(&w, buf + off, 8);
			if (w != want) {
				printf("nvme-verify: byte %llu of LBA %llu differs: 0x%llx, not 0x%llx\n",
				       (unsigned long long)(off % bs), (unsigned long long)(o->lba + off / bs),
				       (unsigned long long)w, (unsigned long long)want);
				goto out;
			}
		}
	}
	printf("nvme-verify: ok, %s %lu blocks at LBA %lu (seed %lu)\n", verb, o->blocks, o->lba, o->seed);
	r = 0;
out:
	free_pages(buf, pages);
	return r;
}

static int fault(struct nvme_dev *d)
{
	uint32_t bs = nvme_block_size(&d->c);
	/* Past RAM, past the device window (at most 256 MiB above RAM): nothing is mapped there. */
	uint64_t gb = 1ull << 30, iova = (start_info->mem_bytes + gb - 1) / gb * gb + gb;
	size_t pages = 16;
	uint8_t *canary = alloc_pages(pages);
	int r;

	if (!canary)
		return -1;
	memset(canary, 0x5a, pages * PAGE);
	r = nvme_rw_sync(&d->c, false, 0, 1, iova, NVME_CMD_TIMEOUT_NS);
	if (r == 0)
		printf("nvme-fault: the device reports the read into 0x%llx as done\n", (unsigned long long)iova);
	else
		printf("nvme-fault: the read into 0x%llx failed: %s (status 0x%x)\n", (unsigned long long)iova,
		       nvme_strerror(r), nvme_last_status(&d->c));
	for (size_t i = 0; i < pages * PAGE; i++)
		if (canary[i] != 0x5a) {
			printf("nvme-fault: guest memory changed at %p\n", (void *)(canary + i));
			return -1;
		}
	if (nvme_failed(&d->c) && nvme_dev_reinit(d) < 0)
		return -1;
	r = transfer(d, false, 0, 1, canary);
	if (r < 0)
		return -1;
	printf("nvme-fault: ok, guest memory untouched, a read of %u bytes served after\n", bs);
	free_pages(canary, pages);
	return 0;
}

/*
 * nvme irqcheck: the binding protocol against a guest that gets it wrong.
 * Each bad value must get an "error: ..." answer and bind nothing; good
 * ports bind, a second one replaces the first (which the backend lets go,
 * so it binds again after), "0" unbinds; then the controller comes up on
 * the last port and a read completes by its interrupt.
 */
static int irq_check(unsigned index)
{
	struct nvme_dev d;
	char be[128], ans[128], other[16], val[16];
	int a, b, o;
	const char *bad[][2] = {
		{ "x1", "not a number" },
		{ "99999", "past the last port" },
		{ "1", "the console's port, bound to the VMM" },
		{ other, "a port the guest closed" },
	};

	if (find_dev(index, &d, be, sizeof(be)) < 0)
		return -1;
	if (!d.msix) {
		printf("nvme-irqcheck: %s has no MSI-X vector to bind\n", d.bdf);
		return -1;
	}
	a = evtchn_alloc_unbound(XENITH_BACKEND_DOMID);
	b = evtchn_alloc_unbound(XENITH_BACKEND_DOMID);
	o = evtchn_alloc_unbound(XENITH_BACKEND_DOMID); /* last: nothing allocates it again below */
	if (o >= 0)
		evtchn_close((uint32_t)o);
	if (o < 0 || a < 0 || b < 0) {
		printf("nvme-irqcheck: no event channels (%d %d %d)\n", o, a, b);
		return -1;
	}
	snprintf(other, sizeof(other), "%d", o);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ask_vector(&d, be, bad[i][0], ans, sizeof(ans));
		printf("nvme-irqcheck: %s (%s): %s\n", bad[i][0], bad[i][1], ans[0] ? ans : "no answer");
		if (strncmp(ans, "error: ", 7))
			return -1;
	}
	{
		const int seq[] = { a, b, a, 0, b };

		for (unsigned i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
			snprintf(val, sizeof(val), "%d", seq[i]);
			ask_vector(&d, be, val, ans, sizeof(ans));
			if (!answered(ans, (uint32_t)seq[i])) {
				printf("nvme-irqcheck: port %d: the backend answered '%s', not %d\n", seq[i], ans, seq[i]);
				return -1;
			}
		}
	}
	printf("nvme-irqcheck: ports %d, %d, %d again, 0 and %d bound in turn\n", a, b, a, b);
	d.port = (uint32_t)b;
	evtchn_test_and_clear(d.port);
	if (bring_up(&d) < 0)
		return -1;
	{
		uint8_t *buf = alloc_pages(1);
		int r = buf ? nvme_rw_sync(&d.c, false, 0, 8, (uint64_t)(uintptr_t)buf, NVME_CMD_TIMEOUT_NS) : -1;

		/*
		 * The read may have completed before the driver first looked, with
		 * no wait: then its interrupt has left the port pending (or will).
		 */
		bool irq = d.events || sched_poll(&d.port, 1, IRQ_WAIT_NS) == 0;

		if (r < 0 || !irq) {
			printf("nvme-irqcheck: a read on port %d: %s, and no event on the port\n", b,
			       r < 0 ? "failed" : "done");
			nvme_dev_close(&d);
			return -1;
		}
	}
	printf("nvme-irqcheck: ok, every bad value refused, a read completed by MSI-X on port %d\n", b);
	nvme_dev_close(&d);
	return 0;
}

int nvme_main(const char *args)
{
	struct opts o = { .irq = 1 };
	struct nvme_dev d;
	char verb[16] = "";
	size_t n = 0;
	int r;

	while (args[n] && args[n] != ' ' && n + 1 < sizeof(verb)) {
		verb[n] = args[n];
		n++;
	}
	verb[n] = 0;
	args += n;
	while (*args == ' ')
		args++;
	if (strcmp(verb, "info") && strcmp(verb, "verify") && strcmp(verb, "fill") && strcmp(verb, "check") &&
	    strcmp(verb, "fault") && strcmp(verb, "irqcheck")) {
		printf("nvme: info | verify | fill | check | fault | irqcheck, not '%s'\n", verb);
		return 2;
	}
	if (!parse(args, &o))
		return 2;
	if (!strcmp(verb, "irqcheck"))
		return irq_check((unsigned)o.dev) < 0 ? 1 : 0;
	if (nvme_dev_open((unsigned)o.dev, o.irq != 0, &d) < 0)
		return 1;
	if (!strcmp(verb, "info"))
		r = 0;
	else if (!strcmp(verb, "fault"))
		r = fault(&d);
	else
		r = verify(&d, verb, &o);
	print_irq(&d);
	nvme_dev_close(&d);
	return r < 0 ? 1 : 0;
}
