// SPDX-License-Identifier: MIT
/*
 * vfio-nvme-io: the NVMe driver core (nvme/drv.c, the code minios will run
 * against a passed-through VF) run natively against an NVMe function held
 * through VFIO (iommu/vfio.c), for the lab.  Everything the device reads or
 * writes is in one DMA arena mapped at a chosen IOVA, as a domain's RAM
 * will be at IOVA = guest-physical.
 *
 *   vfio-nvme-io BDF identify
 *       prints serial, model, namespace size and block size
 *   vfio-nvme-io BDF read LBA NBLOCKS FILE
 *       reads through the VF and compares with FILE's first NBLOCKS blocks
 *   vfio-nvme-io BDF write LBA NBLOCKS FILE
 *       writes FILE's first NBLOCKS blocks through the VF, then flushes
 *   vfio-nvme-io BDF fault
 *       a read whose buffer is at an IOVA the IOMMU does not map: whatever
 *       the device reports of it (an error, a timeout, or, as QEMU's NVMe
 *       does, success), the mapped arena must be untouched and the
 *       controller must still serve a good read (after a re-init if it
 *       failed); the lab test then finds the IOMMU's fault in the kernel log
 *   vfio-nvme-io BDF cycles N
 *       N times: open through VFIO, reset, map, init, read, shut down,
 *       unmap, close; then no descriptor more than before, nothing mapped
 *   vfio-nvme-io BDF run [irq=0|1] [rw=] [bs=] [iodepth=] [runtime=MS] [size=]
 *                        [number_ios=] [seed=]
 *       the load minios runs as `blk ... pci=I` (nvme/job.h, the same code),
 *       natively: one job on the I/O queue pair, its buffers in the arena;
 *       irq=1 (the default) waits for MSI-X vector 0 on an eventfd, as the
 *       guest waits on its event channel; prints the same "blk-json:" line
 *       ("mode":"msix" or "poll").  The native side of `xenith bench pci`.
 *   vfio-nvme-io pattern SEED LBA NBLOCKS BS FILE
 *       no device: writes to FILE what minios's `nvme fill` writes to those
 *       blocks (include/blkpattern.h), for the lab test to compare
 *
 * Exit 0 when what was asked held; 1 with the reason on stderr.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <poll.h>
#include <sys/eventfd.h>

#include "blkpattern.h"
#include "drv.h"
#include "job.h"
#include "vfio.h"

#define ARENA_IOVA 0x100000ull /* 1 MiB: a guest's RAM starts about there too */
#define ARENA_SIZE (16ull << 20) /* queues, and a run's buffers: up to 63 of 256 KiB */
#define QDEPTH 32u
#define FAULT_IOVA 0x40000000ull /* 1 GiB: inside the IOMMU's ranges, mapped by nobody */
#define CANARY 0x5a

struct harness {
	struct vfio_dev v;
	struct nvme_ctrl c;
	uint8_t *arena;
	uint64_t data_off; /* first data byte in the arena, after the queue memory */
};

static uint32_t rd32(void *ctx, uint32_t off)
{
	struct vfio_dev *v = ctx;
	uint32_t val = ~0u;

	if (v->bar[0].map)
		return *(volatile uint32_t *)((uint8_t *)v->bar[0].map + off);
	vfio_bar_read32(v, 0, off, &val);
	return val;
}

static void wr32(void *ctx, uint32_t off, uint32_t val)
{
	struct vfio_dev *v = ctx;

	if (v->bar[0].map) {
		__atomic_thread_fence(__ATOMIC_RELEASE);
		*(volatile uint32_t *)((uint8_t *)v->bar[0].map + off) = val;
		return;
	}
	vfio_bar_write32(v, 0, off, val); /* a system call: ordered after the earlier stores */
}

static uint64_t mono_ns(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void relax(void *ctx)
{
	(void)ctx;
	__builtin_ia32_pause();
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vfio-nvme-io: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

static void harness_close(struct harness *h)
{
	struct errbuf eb;

	if (h->c.live)
		nvme_shutdown(&h->c);
	if (h->v.mapped)
		vfio_dma_unmap(&h->v, ARENA_IOVA, ARENA_SIZE, &eb);
	vfio_close(&h->v);
	if (h->arena)
		munmap(h->arena, ARENA_SIZE);
	h->arena = NULL;
}

static int controller_init_irq(struct harness *h, int vector)
{
	static const struct nvme_ops ops0 = { .rd32 = rd32, .wr32 = wr32, .now_ns = mono_ns, .relax = relax };
	struct nvme_ops ops = ops0;
	struct nvme_dma q = { .va = h->arena, .iova = ARENA_IOVA, .len = NVME_QUEUE_MEM_SIZE(QDEPTH) };
	int r;

	ops.ctx = &h->v;
	r = vector >= 0 ? nvme_init_irq(&h->c, &ops, q, QDEPTH, vector) : nvme_init(&h->c, &ops, q, QDEPTH);
	if (r < 0)
		return fail("%s: nvme_init: %s (last status 0x%x)", h->v.bdf, nvme_strerror(r), nvme_last_status(&h->c));
	return 0;
}

static int controller_init(struct harness *h)
{
	return controller_init_irq(h, -1);
}

static int harness_open(struct harness *h, const char *bdf)
{
	struct errbuf eb;

	memset(h, 0, sizeof(*h));
	h->data_off = NVME_ROUND_PAGE(NVME_QUEUE_MEM_SIZE(QDEPTH));
	if (vfio_open("/sys", "/dev/vfio", bdf, &h->v, &eb) < 0)
		return fail("%s", eb.msg);
	if (vfio_reset(&h->v, &eb) < 0 || vfio_bus_master(&h->v, true, &eb) < 0) {
		harness_close(h);
		return fail("%s", eb.msg);
	}
	if (vfio_map_bar(&h->v, 0, &eb) < 0)
		fprintf(stderr, "vfio-nvme-io: %s; using read/write on the device instead\n", eb.msg);
	h->arena = mmap(NULL, ARENA_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (h->arena == MAP_FAILED) {
		h->arena = NULL;
		harness_close(h);
		return fail("no memory for a %llu MiB DMA arena", ARENA_SIZE >> 20);
	}
	memset(h->arena, CANARY, ARENA_SIZE);
	if (vfio_dma_map(&h->v, h->arena, ARENA_IOVA, ARENA_SIZE, &eb) < 0) {
		harness_close(h);
		return fail("%s", eb.msg);
	}
	if (controller_init(h) < 0) {
		harness_close(h);
		return -1;
	}
	return 0;
}

/* nblocks at lba through the data area: read (into the arena) or write (from it). */
static int rw(struct harness *h, bool write, uint64_t lba, uint32_t nblocks)
{
	uint32_t bs = nvme_block_size(&h->c), max = nvme_max_blocks(&h->c);

	if ((uint64_t)nblocks * bs > ARENA_SIZE - h->data_off)
		return fail("%u blocks do not fit in the DMA arena", nblocks);
	for (uint32_t done = 0; done < nblocks;) {
		uint32_t n = nblocks - done < max ? nblocks - done : max;
		int r = nvme_rw_sync(&h->c, write, lba + done, n, ARENA_IOVA + h->data_off + (uint64_t)done * bs,
				     NVME_CMD_TIMEOUT_NS);

		if (r < 0)
			return fail("%s of %u blocks at LBA %" PRIu64 ": %s (status 0x%x: %s)", write ? "write" : "read", n,
				    lba + done, nvme_strerror(r), nvme_last_status(&h->c),
				    nvme_status_str(nvme_last_status(&h->c)));
		done += n;
	}
	if (write) {
		int r = nvme_flush(&h->c, NVME_CMD_TIMEOUT_NS);

		if (r < 0)
			return fail("flush: %s", nvme_strerror(r));
	}
	return 0;
}

static uint8_t *load(const char *path, size_t len)
{
	uint8_t *buf = malloc(len);
	FILE *f = fopen(path, "rb");

	if (!buf || !f || fread(buf, 1, len, f) != len) {
		fail("%s: cannot read %zu bytes", path, len);
		free(buf);
		buf = NULL;
	}
	if (f)
		fclose(f);
	return buf;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static int cmd_fault(struct harness *h)
{
	uint32_t bs = nvme_block_size(&h->c);
	uint8_t *data = h->arena + h->data_off;
	int r;

	/* Data area known: the canary everywhere past the queues. */
	memset(data, CANARY, ARENA_SIZE - h->data_off);
	/*
	 * What the device says of it varies: a real controller reports a data
	 * transfer error or times out; QEMU 7.2's NVMe completes the read as a
	 * success although its DMA write was refused.  What must hold is the
	 * IOMMU's part: nothing written (the arena here; elsewhere the fault
	 * the lab test finds in the kernel's log).
	 */
	r = nvme_rw_sync(&h->c, false, 0, 1, FAULT_IOVA, NVME_CMD_TIMEOUT_NS);
	if (r == 0)
		printf("fault: the device reports the read into IOVA 0x%llx as done (its DMA was refused all the same)\n",
		       FAULT_IOVA);
	else
		printf("fault: the read into IOVA 0x%llx failed: %s (status 0x%x: %s)\n", FAULT_IOVA,
		       nvme_strerror(r), nvme_last_status(&h->c), nvme_status_str(nvme_last_status(&h->c)));
	for (uint64_t i = 0; i < ARENA_SIZE - h->data_off; i++)
		if (data[i] != CANARY)
			return fail("the arena changed at offset %" PRIu64 " during the faulting read", h->data_off + i);
	printf("fault: the mapped arena is untouched\n");
	/* A timeout leaves the controller failed by design: initialise it again, then a good read. */
	if (nvme_failed(&h->c) && controller_init(h) < 0)
		return -1;
	if (rw(h, false, 0, 1) < 0)
		return -1;
	printf("fault: the controller serves a read again (%u bytes)\n", bs);
	return 0;
}

static int cmd_cycles(const char *bdf, unsigned n)
{
	int fds0 = count_fds();

	for (unsigned i = 0; i < n; i++) {
		struct harness h;

		if (harness_open(&h, bdf) < 0)
			return fail("cycle %u of %u failed", i + 1, n);
		if (rw(&h, false, 0, 8) < 0) {
			harness_close(&h);
			return fail("cycle %u of %u: the read failed", i + 1, n);
		}
		harness_close(&h);
		if (h.v.mapped)
			return fail("cycle %u: %" PRIu64 " bytes still mapped after close", i + 1, h.v.mapped);
	}
	if (count_fds() != fds0)
		return fail("%d descriptors open after %u cycles, %d before", count_fds(), n, fds0);
	printf("cycles: %u opens, resets, inits, reads and closes; descriptors %d before and after\n", n, fds0);
	return 0;
}

/* The native run's MSI-X vector 0: an eventfd, as the VMM's (hv/pcidev.c). */
struct irq_wait {
	int fd;
	uint64_t events, timeouts;
};

static void wait_eventfd(void *ctx)
{
	struct irq_wait *w = ctx;
	struct pollfd pf = { .fd = w->fd, .events = POLLIN };
	uint64_t n;

	if (poll(&pf, 1, 100) > 0 && read(w->fd, &n, sizeof(n)) == sizeof(n))
		w->events++;
	else
		w->timeouts++;
}

/* key=value arguments of `run`, as minios's blk takes them (runtime in ms, k/m suffixes on sizes). */
static int run_args(int argc, char **argv, char *rw, size_t rwsz, uint64_t *v, const char *const *keys, unsigned nkeys)
{
	for (int i = 0; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		unsigned k;

		if (!eq)
			return fail("run: '%s' is not key=value", argv[i]);
		if (eq - argv[i] == 2 && !strncmp(argv[i], "rw", 2)) {
			snprintf(rw, rwsz, "%s", eq + 1);
			continue;
		}
		for (k = 0; k < nkeys; k++)
			if ((size_t)(eq - argv[i]) == strlen(keys[k]) && !strncmp(argv[i], keys[k], strlen(keys[k])))
				break;
		if (k == nkeys)
			return fail("run: unknown option '%.*s'", (int)(eq - argv[i]), argv[i]);
		if (!blk_parse_count(eq + 1, strlen(eq + 1), &v[k]))
			return fail("run: %s: not a number (digits, then k or m at most)", argv[i]);
	}
	return 0;
}

static int cmd_run(const char *bdf, int argc, char **argv)
{
	static const char *const keys[] = { "bs", "iodepth", "runtime", "size", "number_ios", "seed", "irq" };
	enum { BS, IODEPTH, RUNTIME, SIZE, NUMBER_IOS, SEED, IRQ };
	uint64_t v[] = { 4096, 1, 1000, 0, 0, 1, 1 };
	static struct nvme_job_result res;
	struct nvme_job job = { 0 };
	struct irq_wait w = { .fd = -1 };
	struct blk_dir_summary rd, wr;
	struct harness h;
	struct errbuf eb;
	char rw[16] = "randread";
	uint64_t region, bsz;
	int r;

	if (run_args(argc, argv, rw, sizeof(rw), v, keys, sizeof(keys) / sizeof(keys[0])) < 0)
		return -1;
	if (!blk_rw_mode(rw, &job.rnd, &job.rd, &job.wr))
		return fail("run: rw=%s: must be read, write, randread, randwrite or randrw", rw);
	if (harness_open(&h, bdf) < 0)
		return -1;
	if (v[IRQ] && h.v.msix) {
		/* Again with the I/O queue on vector 0, routed to an eventfd. */
		nvme_shutdown(&h.c);
		w.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (w.fd < 0 || vfio_msix_set(&h.v, 1, &w.fd, &eb) < 0) {
			r = fail("%s", w.fd < 0 ? strerror(errno) : eb.msg);
			goto out;
		}
		if (controller_init_irq(&h, 0) < 0) {
			r = -1;
			goto out;
		}
		job.wait = wait_eventfd;
		job.wait_ctx = &w;
	}
	bsz = nvme_block_size(&h.c);
	region = nvme_ns_blocks(&h.c) * bsz;
	if (v[SIZE] && v[SIZE] < region)
		region = v[SIZE];
	if (!v[BS] || v[BS] % bsz || v[BS] / bsz > nvme_max_blocks(&h.c) || region < v[BS] || !v[IODEPTH] ||
	    v[IODEPTH] >= nvme_qdepth(&h.c) || v[IODEPTH] > NVME_JOB_MAX_DEPTH ||
	    v[IODEPTH] * NVME_ROUND_PAGE(v[BS]) > ARENA_SIZE - h.data_off) {
		r = fail("run: bs must be a multiple of %llu up to %llu bytes and at most size, iodepth 1 to %u, and "
			 "iodepth x bs within the %llu MiB arena", (unsigned long long)bsz,
			 (unsigned long long)nvme_max_blocks(&h.c) * bsz, nvme_qdepth(&h.c) - 1, ARENA_SIZE >> 20);
		goto out;
	}
	job.blocks_per_io = (uint32_t)(v[BS] / bsz);
	job.iodepth = (unsigned)v[IODEPTH];
	job.units = region / v[BS];
	job.runtime_ns = v[RUNTIME] * 1000000ull;
	job.number_ios = v[NUMBER_IOS];
	job.seed = v[SEED];
	for (unsigned s = 0; s < job.iodepth; s++)
		job.buf_iova[s] = ARENA_IOVA + h.data_off + s * NVME_ROUND_PAGE(v[BS]);
	r = nvme_job_run(&h.c, &job, &res);
	if (r < 0)
		fail("run: the job ended early: %s", nvme_strerror(r));
	else if (res.errors)
		fail("run: %llu I/O(s) failed, the first with %s", (unsigned long long)res.errors,
		     nvme_status_str(res.first_status));
	rd = blk_summarize(&res.st[0], res.hist[0], res.runtime_ns);
	wr = blk_summarize(&res.st[1], res.hist[1], res.runtime_ns);
	printf("blk-json: " NVME_JOB_JSON_HEAD, NVME_JOB_JSON_HEAD_ARGS(rw, bdf, job.wait ? "msix" : "poll", v[BS], job, res,
									   w.events, w.timeouts));
	printf(BLK_DIR_JSON ",", BLK_DIR_JSON_ARGS("read", rd));
	printf(BLK_DIR_JSON NVME_JOB_JSON_TAIL "\n", BLK_DIR_JSON_ARGS("write", wr));
	r = r < 0 || res.errors ? -1 : 0;
out:
	harness_close(&h); /* the shutdown before the vector goes */
	if (w.fd >= 0)
		close(w.fd);
	return r;
}

int main(int argc, char **argv)
{
	struct harness h;
	int r = 0;

	if (argc == 7 && !strcmp(argv[1], "pattern")) {
		uint64_t seed = strtoull(argv[2], NULL, 10), lba = strtoull(argv[3], NULL, 10);
		uint64_t n = strtoull(argv[4], NULL, 10), bs = strtoull(argv[5], NULL, 10);
		FILE *f = fopen(argv[6], "wb");

		if (!f || !bs || bs % 8)
			return fail("pattern: cannot write %s (or BS %llu is not a multiple of 8)", argv[6],
				    (unsigned long long)bs) < 0;
		for (uint64_t off = 0; off < n * bs; off += 8) {
			uint64_t w = blk_pattern(seed, lba * bs + off);

			fwrite(&w, 8, 1, f);
		}
		return fclose(f) != 0;
	}
	if (argc < 3) {
		fprintf(stderr, "usage: vfio-nvme-io BDF identify|read LBA N FILE|write LBA N FILE|fault|cycles N\n"
				"       vfio-nvme-io BDF run [irq=0|1] [rw=] [bs=] [iodepth=] [runtime=MS] [size=] [number_ios=] [seed=]\n"
				"       vfio-nvme-io pattern SEED LBA NBLOCKS BS FILE\n");
		return 2;
	}
	if (!strcmp(argv[2], "cycles") && argc == 4)
		return cmd_cycles(argv[1], (unsigned)strtoul(argv[3], NULL, 10)) < 0;
	if (!strcmp(argv[2], "run"))
		return cmd_run(argv[1], argc - 3, argv + 3) < 0;
	if (harness_open(&h, argv[1]) < 0)
		return 1;
	printf("%s: serial '%s', model '%s', namespace 1: %" PRIu64 " blocks of %u bytes, I/O queue depth %u\n",
	       argv[1], nvme_serial(&h.c), nvme_model(&h.c), nvme_ns_blocks(&h.c), nvme_block_size(&h.c),
	       nvme_qdepth(&h.c));
	if (!strcmp(argv[2], "identify") && argc == 3) {
		r = 0;
	} else if ((!strcmp(argv[2], "read") || !strcmp(argv[2], "write")) && argc == 6) {
		bool write = argv[2][0] == 'w';
		uint64_t lba = strtoull(argv[3], NULL, 10);
		uint32_t n = (uint32_t)strtoul(argv[4], NULL, 10);
		size_t len = (size_t)n * nvme_block_size(&h.c);
		uint8_t *want = load(argv[5], len);

		r = -1;
		if (want && write) {
			memcpy(h.arena + h.data_off, want, len);
			r = rw(&h, true, lba, n);
		} else if (want && !(r = rw(&h, false, lba, n)) && memcmp(h.arena + h.data_off, want, len)) {
			size_t i = 0;

			while (h.arena[h.data_off + i] == want[i])
				i++;
			r = fail("read back differs from %s at byte %zu (0x%02x, not 0x%02x)", argv[5], i,
				 h.arena[h.data_off + i], want[i]);
		}
		if (!r)
			printf("%s: %u blocks at LBA %" PRIu64 " %s %s\n", argv[2], n, lba,
			       write ? "written from" : "match", argv[5]);
		free(want);
	} else if (!strcmp(argv[2], "fault") && argc == 3) {
		r = cmd_fault(&h);
	} else {
		fprintf(stderr, "vfio-nvme-io: unknown command or arguments\n");
		r = -1;
	}
	harness_close(&h);
	return r < 0;
}
