// SPDX-License-Identifier: MIT
/*
 * blk: the guest's block programs over blkfront.
 *   blk [run] rw=randread bs=4096 iodepth=32 numjobs=N size=BYTES runtime=MS disk=N
 *           [spin=US|auto] [batch=N] [persistent=0|1] [number_ios=N] [stop_on_error=1]
 *           [hold=1]
 *       a fio-like load; prints one "blk-json:" line with fio's field names
 *       (all jobs together, like fio's group_reporting); numjobs: one job per
 *       vCPU, each on a queue of its own; number_ios: each job ends after
 *       that many I/Os (or at runtime, whichever comes first), as fio's;
 *       stop_on_error=1: every job ends at the first error response (fio's
 *       default); hold=1: after the result, wait until the domain is ended
 *       (the kvm tier reads the backend's counters meanwhile); new requests are published every
 *       `batch` I/Os (default 4; 0: once per refill, like fio's
 *       iodepth_batch_submit); persistent=0: grant copies instead of
 *       persistent grants; spin (exit and ioeventfd modes): poll for
 *       responses this long before blocking, or `auto` (the default: while
 *       spins keep seeing responses, see blkfront_wait)
 *   blk [run] ... pci=I [irq=0|1]
 *       the same load and JSON on the domain's passed-through NVMe
 *       function I instead of a disk (blk_nvme.c says which options apply)
 *   blk verify disk=N blocks=N bs=BYTES seed=S [hold=1|2] [pause=MS] [discard=1] [spread=N]
 *           [persistent=0|1]
 *       writes a pattern, flushes, reads it back; hold=1 then waits forever
 *       (for the test that kills the VMM after the flush), hold=2 waits
 *       forever at the very end, once every check is done and the disk
 *       disconnected (the test reads the backend's counters), pause=MS idles
 *       that long before reading back, and then until the backend asked to
 *       be kicked for the next request (req_event); discard=1 then
 *       discards block 0 and checks that it reads back as zeroes; spread=N
 *       then reads the last block's first page into N different pages
 *   blk churn ...
 *       connect, load, disconnect with I/O in flight, N times (blkchurn.c)
 *   blk hostile [persistent=0|1] [mailbox=1]
 *       connects that must be refused (a queue that does not exist, an
 *       unknown flag, a queue twice, persistent grants from a disk without
 *       them); bad requests on disk 0 (read-write) and disk 1 (read-only):
 *       each must get an error response; then disk 0's ring indices jump,
 *       and disk 1 must go on serving.  When the indices have jumped the
 *       guest waits 50 ms for the backend to see them; mailbox=1 instead
 *       prints "blk-hostile: indices jumped, token=T" and polls disk 1's
 *       first page until the host writes {BLK_ACK_MAGIC, T} there (the kvm
 *       test does once the backend said the ring is broken)
 */
#include "assert.h"
#include "blkpattern.h"
#include "blkfront.h"
#include "blkjob.h"
#include "hypercall.h"

#define SLOTS 32u        /* the ring's: requests in flight */
#define REQ_MAX (BLKIF_MAX_SEGMENTS_PER_REQUEST * XENITH_PAGE_SIZE) /* bytes per request */
#define MAX_BS (256u * 1024u) /* an I/O larger than REQ_MAX is split over several requests */
#define MAX_PAGES (MAX_BS / XENITH_PAGE_SIZE)

/* One I/O of the load: up to MAX_BS bytes, in `parts` ring requests (id = slot << 8 | part). */
struct slot {
	bool busy;
	uint8_t op;
	uint8_t parts_left;
	bool failed;
	uint64_t t0;
	uint8_t *pages[MAX_PAGES];
	uint32_t grefs[MAX_PAGES];
};

/* A job: one vCPU driving one queue of the disk. */
struct job {
	struct blkfront bf;
	struct slot slots[SLOTS];
	uint32_t hist[2][BLK_NBUCKETS];
	struct blk_dir_stats st[2];
	uint64_t rng, seq, errors, t_done, issued;
	int done;            /* set (release) when the job has finished */
};

/*
 * Allocated when a program starts (jobs_alloc), not in .bss: 33 KiB a job
 * would be faulted in by every domain that boots this kernel.
 */
static struct job *jobs;
static struct slot *slots; /* job 0's: verify and hostile use them */

static bool jobs_alloc(unsigned n)
{
	jobs = calloc(n, sizeof(*jobs));
	if (!jobs) {
		printf("blk: out of memory for %u jobs (%zu bytes each)\n", n, sizeof(*jobs));
		return false;
	}
	slots = jobs[0].slots;
	return true;
}

/* ---- options ---- */

static bool word_is(const char *s, size_t n, const char *w)
{
	return strlen(w) == n && !memcmp(s, w, n);
}

static bool parse_opts(const char *args, struct blk_opts *o)
{
	const char *p = args;

	while (*p) {
		const char *k = p, *eq, *v;
		size_t klen, vlen;
		unsigned long n = 0;

		while (*p && *p != ' ')
			p++;
		eq = memchr(k, '=', (size_t)(p - k));
		if (!eq) {
			printf("blk: '%.*s' is not key=value\n", (int)(p - k), k);
			return false;
		}
		klen = (size_t)(eq - k);
		v = eq + 1;
		vlen = (size_t)(p - v);
		while (*p == ' ')
			p++;
		if (word_is(k, klen, "rw")) {
			if (vlen >= sizeof(o->rw))
				return false;
			memcpy(o->rw, v, vlen);
			o->rw[vlen] = 0;
			continue;
		}
		if (word_is(k, klen, "spin") && word_is(v, vlen, "auto")) {
			o->spin_auto = true;
			continue;
		}
		{
			uint64_t n64;

			if (!blk_parse_count(v, vlen, &n64)) {
				printf("blk: %.*s=%.*s: not a number (digits, then k or m at most)\n", (int)klen, k,
				       (int)vlen, v);
				return false;
			}
			n = (unsigned long)n64;
		}
		if (word_is(k, klen, "bs")) o->bs = n;
		else if (word_is(k, klen, "iodepth")) o->iodepth = n;
		else if (word_is(k, klen, "size")) o->size = n;
		else if (word_is(k, klen, "runtime")) o->runtime_ms = n;
		else if (word_is(k, klen, "disk")) o->disk = n;
		else if (word_is(k, klen, "blocks")) o->blocks = n;
		else if (word_is(k, klen, "seed")) o->seed = n;
		else if (word_is(k, klen, "hold")) o->hold = n;
		else if (word_is(k, klen, "spin")) {
			o->spin_us = n;
			o->spin_auto = false;
		}
		else if (word_is(k, klen, "discard")) o->discard = n;
		else if (word_is(k, klen, "batch")) o->batch = n;
		else if (word_is(k, klen, "numjobs")) o->numjobs = n;
		else if (word_is(k, klen, "persistent")) o->persistent = n;
		else if (word_is(k, klen, "spread")) o->spread = n;
		else if (word_is(k, klen, "pause")) o->pause_ms = n;
		else if (word_is(k, klen, "number_ios")) o->number_ios = n;
		else if (word_is(k, klen, "stop_on_error")) o->stop_on_error = n;
		else if (word_is(k, klen, "mailbox")) o->mailbox = n;
		else if (word_is(k, klen, "pci")) {
			o->pci = n;
			o->on_pci = true;
		}
		else if (word_is(k, klen, "irq")) o->irq = n;
		else {
			printf("blk: unknown option '%.*s'\n", (int)klen, k);
			return false;
		}
	}
	return true;
}

/* ---- buffers and requests ---- */

/* Pages for the first nslots slots of sl, each granted to the backend. */
static void setup_slots(struct slot *sl, unsigned nslots, unsigned long bs)
{
	unsigned npages = (unsigned)((bs + XENITH_PAGE_SIZE - 1) / XENITH_PAGE_SIZE);

	for (unsigned s = 0; s < nslots; s++) {
		for (unsigned i = 0; i < npages; i++) {
			int ref;

			if (sl[s].pages[i])
				continue;
			sl[s].pages[i] = alloc_pages(1);
			GUEST_ASSERT(sl[s].pages[i]);
			ref = gnttab_grant(XENITH_BACKEND_DOMID,
					   (uint64_t)(uintptr_t)sl[s].pages[i] / XENITH_PAGE_SIZE, false);
			GUEST_ASSERT(ref > 0);
			sl[s].grefs[i] = (uint32_t)ref;
		}
	}
}

/*
 * Fills part `part` of a READ or WRITE of bs bytes at byte offset off from
 * slot s's pages: bytes [part * REQ_MAX, min(bs, (part + 1) * REQ_MAX)).
 */
static void fill_part(struct blkif_request *r, const struct slot *sl, unsigned s, unsigned part,
		      uint8_t op, uint64_t off, unsigned long bs, unsigned disk)
{
	unsigned long start = (unsigned long)part * REQ_MAX;
	unsigned long left = ((bs - start) > REQ_MAX ? REQ_MAX : bs - start) / XENITH_SECTOR_SIZE;
	unsigned page = (unsigned)(start / XENITH_PAGE_SIZE);

	memset(r, 0, sizeof(*r));
	r->operation = op;
	r->handle = (uint16_t)disk;
	r->id = ((uint64_t)s << 8) | part;
	r->sector_number = (off + start) / XENITH_SECTOR_SIZE;
	for (unsigned i = 0; left; i++) {
		unsigned n = left > XENITH_SECTORS_PER_PAGE ? XENITH_SECTORS_PER_PAGE : (unsigned)left;

		r->seg[i] = (struct blkif_request_segment){ .gref = sl[s].grefs[page + i], .first_sect = 0,
							    .last_sect = (uint8_t)(n - 1) };
		r->nr_segments++;
		left -= n;
	}
}

static void fill_rw(struct blkif_request *r, unsigned s, uint8_t op, uint64_t off, unsigned long bs,
		    unsigned disk)
{
	fill_part(r, slots, s, 0, op, off, bs, disk);
}

/* Submits one request and waits for its response; returns its status. */
static int sync_request(struct blkfront *bf, const struct blkif_request *req)
{
	struct blkif_response rsp;

	GUEST_ASSERT(blkif_front_free_slots(&bf->ring) > 0);
	*blkif_front_next_req(&bf->ring) = *req;
	bf->ring.req_prod_pvt++;
	blkfront_push(bf);
	blkfront_wait(bf);
	blkif_front_take_rsp(&bf->ring, &rsp);
	GUEST_ASSERT_EQ(rsp.id, req->id);
	return rsp.status;
}

/*
 * Waits until the domain is ended from outside (xenith destroy, a signal),
 * with the disks disconnected: the host reads the backend's counters
 * meanwhile.  The upcall flag is cleared each round, so blocking blocks
 * until a new event.
 */
static noreturn_fn void hold_forever(const char *who)
{
	printf("%s: holding\n", who);
	for (;;) {
		evtchn_clear_upcall(smp_processor_id());
		sched_block();
	}
}

void blk_print_dir(const char *name, const struct blk_dir_stats *st, const uint32_t *h, uint64_t ns)
{
	struct blk_dir_summary sum = blk_summarize(st, h, ns);

	printf(BLK_DIR_JSON, BLK_DIR_JSON_ARGS(name, sum));
}

static const struct blk_opts *run_o;
static bool run_rnd, run_rd, run_wr;
static unsigned run_parts;
static uint64_t run_blocks, run_end;

/* One job's I/O loop, on its own vCPU and queue, until run_end. */
static void run_job(struct job *j)
{
	const struct blk_opts *o = run_o;
	struct blkfront *bf = &j->bf;
	unsigned inflight = 0;

	for (;;) {
		uint64_t now = monotonic_ns();

		while (inflight < o->iodepth && now < __atomic_load_n(&run_end, __ATOMIC_RELAXED) &&
		       (!o->number_ios || j->issued < o->number_ios)) {
			unsigned s = 0;
			uint8_t op = run_rd && (!run_wr || (blk_xorshift(&j->rng) & 1)) ? BLKIF_OP_READ : BLKIF_OP_WRITE;
			uint64_t blk = run_rnd ? blk_xorshift(&j->rng) % run_blocks : j->seq++ % run_blocks;

			while (j->slots[s].busy)
				s++;
			for (unsigned part = 0; part < run_parts; part++) {
				fill_part(blkif_front_next_req(&bf->ring), j->slots, s, part, op, blk * o->bs, o->bs,
					  (unsigned)o->disk);
				bf->ring.req_prod_pvt++;
			}
			j->slots[s].busy = true;
			j->slots[s].op = op;
			j->slots[s].parts_left = (uint8_t)run_parts;
			j->slots[s].failed = false;
			j->slots[s].t0 = now;
			j->issued++;
			inflight++;
			if (o->batch && inflight % o->batch == 0)
				blkfront_push(bf); /* the backend can start on these while the rest are written */
		}
		blkfront_push(bf);
		if (!inflight)
			break;
		blkfront_wait(bf);
		now = monotonic_ns();
		while (blkif_front_pending_rsps(&bf->ring)) {
			struct blkif_response rsp;
			struct slot *sl;
			unsigned d;

			blkif_front_take_rsp(&bf->ring, &rsp);
			GUEST_ASSERT((rsp.id >> 8) < SLOTS && j->slots[rsp.id >> 8].busy);
			sl = &j->slots[rsp.id >> 8];
			sl->failed |= rsp.status != BLKIF_RSP_OKAY;
			if (--sl->parts_left)
				continue; /* the I/O completes with its last part */
			d = sl->op == BLKIF_OP_WRITE;
			sl->busy = false;
			inflight--;
			if (sl->failed) {
				j->errors++;
				if (o->stop_on_error) /* every job: no new I/O from now on */
					__atomic_store_n(&run_end, 0, __ATOMIC_RELAXED);
				continue;
			}
			j->st[d].ios++;
			j->st[d].bytes += o->bs;
			j->st[d].lat_sum += now - sl->t0;
			j->hist[d][blk_bucket_of(now - sl->t0)]++;
		}
	}
	j->t_done = monotonic_ns();
	__atomic_store_n(&j->done, 1, __ATOMIC_RELEASE); /* vCPU 0 reads the results after this */
}

static void job_vcpu_entry(unsigned vcpu)
{
	run_job(&jobs[vcpu]);
}

bool blk_rw_parse(const char *rw, bool *rnd, bool *rd, bool *wr)
{
	if (blk_rw_mode(rw, rnd, rd, wr))
		return true;
	printf("blk: rw=%s: must be read, write, randread, randwrite or randrw\n", rw);
	return false;
}

static int blk_run(struct blk_opts *o)
{
	static const char *const modes[] = { "exit", "ioeventfd", "poll" };
	static struct blk_dir_stats st[2];
	static uint32_t hist[2][BLK_NBUCKETS];
	struct xenith_disk_info info;
	uint64_t region, t0, t1, errors = 0, kicks = 0, waits = 0;
	unsigned nq;
	int r;

	if (!blk_rw_parse(o->rw, &run_rnd, &run_rd, &run_wr))
		return 2;
	run_parts = (unsigned)((o->bs + REQ_MAX - 1) / REQ_MAX);
	if (o->bs == 0 || o->bs % XENITH_SECTOR_SIZE || o->bs > MAX_BS || o->iodepth == 0 ||
	    o->iodepth * run_parts > SLOTS) {
		printf("blk: bs must be a multiple of 512 up to %u, and iodepth x requests per I/O "
		       "(%u for bs=%lu) at most %u\n", MAX_BS, run_parts, o->bs, SLOTS);
		return 2;
	}
	r = blkfront_info((unsigned)o->disk, &info);
	if (r < 0) {
		printf("blk: disk %lu: no such disk (%d)\n", o->disk, r);
		return 3;
	}
	nq = info.nr_queues ? info.nr_queues : 1;
	if (o->numjobs == 0 || o->numjobs > start_info->nr_vcpus || o->numjobs > nq) {
		printf("blk: numjobs=%lu: one job per vCPU and per queue; this domain has %u vCPUs and "
		       "disk %lu has %u queues (run with more vCPUs, or the disk option queues=N)\n",
		       o->numjobs, start_info->nr_vcpus, o->disk, nq);
		return 2;
	}
	if (!jobs_alloc((unsigned)o->numjobs))
		return 3;
	{
		static struct blkfront bfs[XENITH_DISK_MAX_QUEUES];

		r = blkfront_connect_queues(bfs, (unsigned)o->disk, (unsigned)o->numjobs, o->persistent);
		if (r < 0) {
			printf("blk: disk %lu: cannot connect %lu queue(s) (%d)\n", o->disk, o->numjobs, r);
			return 3;
		}
		for (unsigned j = 0; j < o->numjobs; j++)
			jobs[j].bf = bfs[j];
	}
	for (unsigned j = 0; j < o->numjobs; j++) {
		if (evtchn_bind_vcpu(jobs[j].bf.port, j) < 0) {
			printf("blk: disk %lu queue %u: cannot bind port %u to vCPU %u\n", o->disk, j,
			       jobs[j].bf.port, j);
			return 3;
		}
		jobs[j].bf.spin_ns = o->spin_us * 1000;
		jobs[j].bf.spin_auto = o->spin_auto;
		jobs[j].rng = (0x9e3779b97f4a7c15ull ^ o->seed) + j * 0x632be59bd9b4e019ull;
		setup_slots(jobs[j].slots, (unsigned)o->iodepth, o->bs);
	}
	region = info.sectors * XENITH_SECTOR_SIZE;
	if (o->size && o->size < region)
		region = o->size;
	run_blocks = region / o->bs;
	if (!run_blocks) {
		printf("blk: the disk is smaller than one block\n");
		return 2;
	}
	run_o = o;
	t0 = monotonic_ns();
	run_end = t0 + o->runtime_ms * 1000000ull;
	for (unsigned j = 1; j < o->numjobs; j++)
		GUEST_ASSERT_EQ(smp_start_vcpu(j, job_vcpu_entry), 0);
	run_job(&jobs[0]);
	t1 = jobs[0].t_done;
	/* fio's group_reporting: one result for all jobs, over the time until the last one ended. */
	for (unsigned j = 0; j < o->numjobs; j++) {
		const struct job *jb = &jobs[j];

		while (!__atomic_load_n(&jb->done, __ATOMIC_ACQUIRE))
			sched_yield();
		if (jb->t_done > t1)
			t1 = jb->t_done;
		errors += jb->errors;
		kicks += jb->bf.kicks;
		waits += jb->bf.waits;
		for (unsigned d = 0; d < 2; d++) {
			st[d].ios += jb->st[d].ios;
			st[d].bytes += jb->st[d].bytes;
			st[d].lat_sum += jb->st[d].lat_sum;
			for (unsigned b = 0; b < BLK_NBUCKETS; b++)
				hist[d][b] += jb->hist[d][b];
		}
	}
	printf("blk-json: {\"jobs\":[{\"jobname\":\"%s\",\"disk\":%lu,\"mode\":\"%s\",\"bs\":%lu,"
	       "\"iodepth\":%lu,\"numjobs\":%lu,\"spin_us\":%lu,\"spin_auto\":%s,\"runtime_ns\":%llu,\"errors\":%llu,"
	       "\"kicks\":%llu,\"waits\":%llu,",
	       o->rw, o->disk, info.mode < 3 ? modes[info.mode] : "?", o->bs, o->iodepth, o->numjobs,
	       o->spin_us, o->spin_auto ? "true" : "false", (unsigned long long)(t1 - t0), (unsigned long long)errors,
	       (unsigned long long)kicks, (unsigned long long)waits);
	printf("\"job_ios\":[");
	for (unsigned j = 0; j < o->numjobs; j++)
		printf("%s%llu", j ? "," : "", (unsigned long long)(jobs[j].st[0].ios + jobs[j].st[1].ios));
	printf("],");
	blk_print_dir("read", &st[0], hist[0], t1 - t0);
	printf(",");
	blk_print_dir("write", &st[1], hist[1], t1 - t0);
	printf("}]}\n");
	blkfront_disconnect(&jobs[0].bf); /* every queue */
	for (unsigned j = 1; j < o->numjobs; j++)
		blkfront_release(&jobs[j].bf);
	if (o->hold)
		hold_forever("blk");
	return errors ? 1 : 0;
}

/* ---- verify ---- */

static uint32_t *spread_refs;

static int blk_verify(struct blk_opts *o)
{
	struct blkfront bf;
	struct blkif_request req;
	uint64_t bad = 0, t0;
	int r;

	if (o->bs == 0 || o->bs % XENITH_SECTOR_SIZE || o->bs > REQ_MAX || o->blocks == 0) {
		printf("blk-verify: bs must be a multiple of 512 up to %u\n", REQ_MAX);
		return 2;
	}
	t0 = monotonic_ns();
	r = blkfront_connect_queue(&bf, (unsigned)o->disk, 0, o->persistent);
	if (r < 0) {
		printf("blk: disk %lu: cannot connect (%d)\n", o->disk, r);
		return 3;
	}
	printf("blk-verify: %s grants, connected through xenstore in %llu us\n",
	       bf.persistent ? "persistent" : "copied", (unsigned long long)((monotonic_ns() - t0) / 1000));
	if (o->blocks * o->bs > bf.info.sectors * XENITH_SECTOR_SIZE) {
		printf("blk-verify: %lu blocks of %lu bytes do not fit the disk\n", o->blocks, o->bs);
		return 2;
	}
	setup_slots(slots, SLOTS, o->bs);
	for (uint64_t b = 0; b < o->blocks; b++) {
		for (uint64_t w = 0; w < o->bs / 8; w++) {
			uint64_t off = b * o->bs + w * 8, v = blk_pattern(o->seed, off);

			memcpy(slots[0].pages[w * 8 / XENITH_PAGE_SIZE] + (w * 8) % XENITH_PAGE_SIZE, &v, 8);
		}
		fill_rw(&req, 0, BLKIF_OP_WRITE, b * o->bs, o->bs, (unsigned)o->disk);
		GUEST_ASSERT_EQ(sync_request(&bf, &req), BLKIF_RSP_OKAY);
	}
	memset(&req, 0, sizeof(req));
	req.operation = BLKIF_OP_FLUSH_DISKCACHE;
	req.id = 0;
	GUEST_ASSERT_EQ(sync_request(&bf, &req), BLKIF_RSP_OKAY);
	printf("blk-verify: %lu blocks of %lu bytes written and flushed\n", o->blocks, o->bs);
	if (o->hold == 1) {
		printf("blk-verify: holding\n");
		for (;;) {
			/* Take the disk's last notification, so that blocking blocks. */
			evtchn_test_and_clear(bf.port);
			evtchn_clear_upcall(smp_processor_id());
			sched_block();
		}
	}
	if (o->pause_ms) {
		uint64_t deadline = monotonic_ns() + 60000000000ull;

		printf("blk-verify: pausing %lu ms after %llu kicks\n", o->pause_ms, (unsigned long long)bf.kicks);
		sleep_ns(o->pause_ms * 1000000ull); /* the disk sits idle (poll mode: its backend goes to sleep) */
		/* ... and then until the backend asked to be kicked for the next request (a minute at most) */
		while (__atomic_load_n(&bf.sring->h.req_event, __ATOMIC_ACQUIRE) != (ring_idx_t)(bf.ring.req_prod_pvt + 1)) {
			GUEST_ASSERT(monotonic_ns() < deadline); /* the backend never asked for a kick */
			sleep_ns(1000000);
		}
	}
	for (uint64_t b = 0; b < o->blocks; b++) {
		memset(slots[0].pages[0], 0, XENITH_PAGE_SIZE);
		fill_rw(&req, 0, BLKIF_OP_READ, b * o->bs, o->bs, (unsigned)o->disk);
		GUEST_ASSERT_EQ(sync_request(&bf, &req), BLKIF_RSP_OKAY);
		for (uint64_t w = 0; w < o->bs / 8; w++) {
			uint64_t v;

			memcpy(&v, slots[0].pages[w * 8 / XENITH_PAGE_SIZE] + (w * 8) % XENITH_PAGE_SIZE, 8);
			bad += v != blk_pattern(o->seed, b * o->bs + w * 8);
		}
	}
	printf("blk-verify: read back, %llu bad words; %llu kicks\n", (unsigned long long)bad,
	       (unsigned long long)bf.kicks);
	if (o->discard && !bad) {
		/* Discard the first block: it reads back as zeroes (a hole in a file). */
		struct blkif_request_discard *dr = (struct blkif_request_discard *)(void *)&req;
		uint64_t nonzero = 0;

		memset(&req, 0, sizeof(req));
		dr->operation = BLKIF_OP_DISCARD;
		dr->sector_number = 0;
		dr->nr_sectors = o->bs / XENITH_SECTOR_SIZE;
		GUEST_ASSERT_EQ(sync_request(&bf, &req), BLKIF_RSP_OKAY);
		memset(slots[0].pages[0], 0xee, XENITH_PAGE_SIZE);
		fill_rw(&req, 0, BLKIF_OP_READ, 0, o->bs, (unsigned)o->disk);
		GUEST_ASSERT_EQ(sync_request(&bf, &req), BLKIF_RSP_OKAY);
		for (uint64_t i = 0; i < o->bs; i++)
			nonzero += slots[0].pages[i / XENITH_PAGE_SIZE][i % XENITH_PAGE_SIZE] != 0;
		printf("blk-verify: block 0 discarded, reads back %llu non-zero bytes\n",
		       (unsigned long long)nonzero);
		bad += nonzero;
	}
	if (o->spread && !bad) {
		/*
		 * The last block's first page read into `spread` different granted
		 * pages: with persistent grants, past the backend's mapping budget
		 * (1056 per ring) these reads take the copy path; either way each
		 * page must hold the pattern.
		 */
		uint64_t off = (o->blocks - 1) * o->bs, badpages = 0;

		spread_refs = calloc(o->spread, sizeof(*spread_refs));
		GUEST_ASSERT(spread_refs);
		for (unsigned long i = 0; i < o->spread; i++) {
			uint8_t *page = alloc_pages(1);
			int ref;

			GUEST_ASSERT(page);
			memset(page, 0xa5, XENITH_PAGE_SIZE);
			ref = gnttab_grant(XENITH_BACKEND_DOMID, (uint64_t)(uintptr_t)page / XENITH_PAGE_SIZE, false);
			GUEST_ASSERT(ref > 0);
			spread_refs[i] = (uint32_t)ref;
			memset(&req, 0, sizeof(req));
			req.operation = BLKIF_OP_READ;
			req.nr_segments = 1;
			req.id = i;
			req.sector_number = off / XENITH_SECTOR_SIZE;
			req.seg[0] = (struct blkif_request_segment){ .gref = (uint32_t)ref, .first_sect = 0,
								     .last_sect = XENITH_SECTORS_PER_PAGE - 1 };
			GUEST_ASSERT_EQ(sync_request(&bf, &req), BLKIF_RSP_OKAY);
			for (unsigned w = 0; w < XENITH_PAGE_SIZE / 8; w++) {
				uint64_t v;

				memcpy(&v, page + w * 8, 8);
				if (v != blk_pattern(o->seed, off + w * 8)) {
					badpages++;
					break;
				}
			}
		}
		printf("blk-verify: read into %lu different pages, %llu wrong\n", o->spread,
		       (unsigned long long)badpages);
		bad += badpages;
	}
	if (bf.persistent) {
		bool early = gnttab_end_access(slots[0].grefs[0]);

		printf("blk-verify: taking back a page in use while connected: %s\n",
		       early ? "allowed (WRONG)" : "refused, the backend holds it");
		GUEST_ASSERT(!early);
	}
	blkfront_disconnect(&bf);
	if (bf.persistent) {
		bool late = gnttab_end_access(slots[0].grefs[0]);

		printf("blk-verify: after disconnect: %s\n", late ? "released" : "still held (WRONG)");
		GUEST_ASSERT(late);
	}
	if (spread_refs) {
		unsigned long held = 0;

		for (unsigned long i = 0; i < o->spread; i++)
			held += !gnttab_end_access(spread_refs[i]);
		printf("blk-verify: after disconnect, %lu of %lu spread pages still held\n", held, o->spread);
		GUEST_ASSERT_EQ(held, 0);
	}
	if (o->hold == 2 && !bad)
		hold_forever("blk-verify");
	return bad ? 1 : 0;
}

/* ---- hostile ---- */

static void expect(struct blkfront *bf, const char *what, const struct blkif_request *req, int want)
{
	int got = sync_request(bf, req);

	printf("blk-hostile: %s -> %d %s\n", what, got, got == want ? "ok" : "WRONG");
	GUEST_ASSERT_EQ(got, want);
}

/*
 * Prints a token and reads the first page of bf's disk until the host has
 * written {BLK_ACK_MAGIC, token} there; a minute without it fails.
 */
static void wait_for_host(struct blkfront *bf)
{
	uint64_t token = rdtsc() | 1, deadline = monotonic_ns() + 60000000000ull, w[2];
	struct blkif_request req;

	printf("blk-hostile: indices jumped, token=%llu\n", (unsigned long long)token);
	for (;;) {
		fill_rw(&req, 1, BLKIF_OP_READ, 0, XENITH_PAGE_SIZE, bf->index);
		GUEST_ASSERT_EQ(sync_request(bf, &req), BLKIF_RSP_OKAY);
		memcpy(w, slots[1].pages[0], sizeof(w));
		if (w[0] == BLK_ACK_MAGIC && w[1] == token)
			return;
		GUEST_ASSERT(monotonic_ns() < deadline); /* no answer from the host in the mailbox */
		sleep_ns(1000000);
	}
}

static int blk_hostile(const struct blk_opts *o)
{
	struct blkfront d0, d1;
	struct blkif_request req;
	int other;

	struct xenith_disk_info info1;

	GUEST_ASSERT(blkfront_connect_queue(&d0, 0, 0, o->persistent) == 0);
	printf("blk-hostile: disk 0 with %s grants\n", d0.persistent ? "persistent" : "copied");
	GUEST_ASSERT(blkfront_info(1, &info1) == 0);
	if (!(info1.flags & XENITH_DISK_PERSISTENT)) {
		/* As Xen: persistent grants only when both sides offer them; asking alone is no error. */
		GUEST_ASSERT(blkfront_connect_queue(&d1, 1, 0, true) == 0);
		printf("blk-hostile: persistent grants asked of a disk without them -> copied grants %s\n",
		       d1.persistent ? "WRONG" : "ok");
		GUEST_ASSERT(!d1.persistent);
		GUEST_ASSERT_EQ(blkfront_disconnect(&d1), 0);
	}
	GUEST_ASSERT(blkfront_connect(&d1, 1) == 0);
	GUEST_ASSERT(!(d0.info.flags & XENITH_DISK_RO) && (d1.info.flags & XENITH_DISK_RO));
	setup_slots(slots, SLOTS, XENITH_PAGE_SIZE);

	fill_rw(&req, 0, BLKIF_OP_READ, 0, 4096, 0);
	expect(&d0, "a valid read", &req, BLKIF_RSP_OKAY);
	req.sector_number = d0.info.sectors - 7; /* 8 sectors from here end one past the disk */
	expect(&d0, "read past the end of the disk", &req, BLKIF_RSP_ERROR);
	req.sector_number = UINT64_MAX - 3;
	expect(&d0, "sector number near 2^64 (no wrap-around)", &req, BLKIF_RSP_ERROR);
	fill_rw(&req, 0, BLKIF_OP_READ, 0, 4096, 0);
	req.seg[0].gref = 100000;
	expect(&d0, "grant reference past the table", &req, BLKIF_RSP_ERROR);
	other = gnttab_grant(5, (uint64_t)(uintptr_t)slots[1].pages[0] / XENITH_PAGE_SIZE, false);
	GUEST_ASSERT(other > 0);
	req.seg[0].gref = (uint32_t)other;
	expect(&d0, "page granted to another domain", &req, BLKIF_RSP_ERROR);
	req.seg[0].gref = (uint32_t)gnttab_size() - 1;
	expect(&d0, "grant reference never granted", &req, BLKIF_RSP_ERROR);
	fill_rw(&req, 0, BLKIF_OP_READ, 0, 4096, 0);
	req.nr_segments = 0;
	expect(&d0, "zero segments", &req, BLKIF_RSP_ERROR);
	req.nr_segments = 200;
	expect(&d0, "200 segments", &req, BLKIF_RSP_ERROR);
	fill_rw(&req, 0, BLKIF_OP_READ, 0, 4096, 0);
	req.seg[0].first_sect = 5;
	req.seg[0].last_sect = 2;
	expect(&d0, "segment with first sector after last", &req, BLKIF_RSP_ERROR);
	req.seg[0].first_sect = 0;
	req.seg[0].last_sect = 8;
	expect(&d0, "segment past its page", &req, BLKIF_RSP_ERROR);
	req.operation = 77;
	expect(&d0, "unknown operation", &req, BLKIF_RSP_EOPNOTSUPP);
	fill_rw(&req, 0, BLKIF_OP_WRITE, 0, 4096, 1);
	expect(&d1, "write to a read-only disk", &req, BLKIF_RSP_ERROR);
	fill_rw(&req, 0, BLKIF_OP_READ, 0, 4096, 1);
	expect(&d1, "read from the read-only disk", &req, BLKIF_RSP_OKAY);

	/* Discards: inside the disk only, never on a read-only one, no wrap-around. */
	{
		struct blkif_request_discard *dr = (struct blkif_request_discard *)(void *)&req;

		memset(&req, 0, sizeof(req));
		dr->operation = BLKIF_OP_DISCARD;
		dr->sector_number = d0.info.sectors - 1;
		dr->nr_sectors = 2;
		expect(&d0, "discard running one sector past the end", &req, BLKIF_RSP_ERROR);
		dr->sector_number = d0.info.sectors;
		dr->nr_sectors = 1;
		expect(&d0, "discard starting at the end", &req, BLKIF_RSP_ERROR);
		dr->sector_number = 8;
		dr->nr_sectors = 1ull << 63;
		expect(&d0, "discard of 2^63 sectors", &req, BLKIF_RSP_ERROR);
		dr->sector_number = 1ull << 63;
		dr->nr_sectors = 8;
		expect(&d0, "discard at sector 2^63", &req, BLKIF_RSP_ERROR);
		dr->sector_number = UINT64_MAX;
		dr->nr_sectors = 2;
		expect(&d0, "discard at sector 2^64-1 (no wrap-around)", &req, BLKIF_RSP_ERROR);
		dr->sector_number = 0;
		dr->nr_sectors = 0;
		expect(&d0, "discard of no sectors", &req, BLKIF_RSP_ERROR);
		dr->nr_sectors = 8;
		expect(&d1, "discard on the read-only disk", &req, BLKIF_RSP_ERROR);
	}

	/*
	 * Refused connections (the backend answers Closing with the reason, and is
	 * ready again once the frontend closes): more queues than the disk offers;
	 * one page is one ring, so disk 0's ring page cannot become disk 1's too.
	 */
	{
		int port = evtchn_alloc_unbound(XENITH_BACKEND_DOMID);
		int again = gnttab_grant(XENITH_BACKEND_DOMID, (uint64_t)(uintptr_t)d0.sring / XENITH_PAGE_SIZE,
					 false);
		uint32_t refs[XENITH_DISK_MAX_QUEUES + 1], ports[XENITH_DISK_MAX_QUEUES + 1];
		unsigned nq = d1.info.nr_queues + 1;
		long r;

		GUEST_ASSERT(port > 0 && again > 0);
		GUEST_ASSERT_EQ(blkfront_disconnect(&d1), 0);
		for (unsigned q = 0; q < nq; q++) {
			refs[q] = (uint32_t)again;
			ports[q] = (uint32_t)port;
		}
		r = blkfront_connect_rings(1, nq, refs, ports, false);
		printf("blk-hostile: connect %u queues of a disk with %u -> %ld %s\n", nq, d1.info.nr_queues,
		       r, r == -XEN_EINVAL ? "ok" : "WRONG");
		GUEST_ASSERT_EQ(r, -XEN_EINVAL);
		refs[0] = d0.ring_ref;
		r = blkfront_connect_rings(1, 1, refs, ports, false);
		printf("blk-hostile: disk 1 connected to disk 0's ring page -> %ld %s\n", r,
		       r == -XEN_EBUSY ? "ok" : "WRONG");
		GUEST_ASSERT_EQ(r, -XEN_EBUSY);
		refs[0] = (uint32_t)again;
		r = blkfront_connect_rings(1, 1, refs, ports, false);
		printf("blk-hostile: ... through another grant of that page -> %ld %s\n", r,
		       r == -XEN_EBUSY ? "ok" : "WRONG");
		GUEST_ASSERT_EQ(r, -XEN_EBUSY);
		refs[0] = 1u << 30;
		r = blkfront_connect_rings(1, 1, refs, ports, false);
		printf("blk-hostile: a ring-ref past the grant table -> %ld %s\n", r, r < 0 ? "ok" : "WRONG");
		GUEST_ASSERT(r < 0);
		GUEST_ASSERT(gnttab_end_access((uint32_t)again));
		gnttab_free((uint32_t)again);
		GUEST_ASSERT_EQ(evtchn_close((uint32_t)port), 0);
		GUEST_ASSERT(blkfront_connect(&d1, 1) == 0);
		fill_rw(&req, 0, BLKIF_OP_READ, 0, 4096, 0);
		expect(&d0, "disk 0 still serves on its ring", &req, BLKIF_RSP_OKAY);
	}

	/* Rewritten after it was pushed: whatever the backend copied, it answers exactly once. */
	{
		struct blkif_request *slot = blkif_front_next_req(&d0.ring);
		struct blkif_response rsp;

		fill_rw(slot, 0, BLKIF_OP_READ, 0, 4096, 0);
		d0.ring.req_prod_pvt++;
		blkfront_push(&d0);
		/*
		 * Only fields past the first 16 bytes: the response goes into the same
		 * slot, and rewriting those would only garble our own response.
		 */
		__atomic_store_n(&slot->seg[0].gref, 100000u, __ATOMIC_RELAXED);
		__atomic_store_n(&slot->sector_number, UINT64_MAX - 3, __ATOMIC_RELAXED);
		blkfront_wait(&d0);
		blkif_front_take_rsp(&d0.ring, &rsp);
		printf("blk-hostile: request rewritten after the push -> %d ok\n", rsp.status);
		GUEST_ASSERT(rsp.id == 0);
		GUEST_ASSERT(rsp.status == BLKIF_RSP_OKAY || rsp.status == BLKIF_RSP_ERROR);
		GUEST_ASSERT(!blkif_front_pending_rsps(&d0.ring)); /* and only once */
	}
	fill_rw(&req, 0, BLKIF_OP_READ, 0, 4096, 0);
	expect(&d0, "a valid read after all that", &req, BLKIF_RSP_OKAY);

	/* Indices that jump: disk 0 stops; disk 1 goes on. */
	__atomic_store_n(&d0.sring->h.req_prod, d0.ring.req_prod_pvt + 1000, __ATOMIC_RELEASE);
	if (d0.info.mode == XENITH_DISK_MODE_EXIT)
		evtchn_send(d0.port);
	else if (d0.info.mode == XENITH_DISK_MODE_IOEVENTFD)
		__asm__ volatile("outl %0, %w1" : : "a"(d0.queue), "Nd"((uint16_t)d0.info.doorbell_port));
	if (o->mailbox)
		wait_for_host(&d1); /* the host answers once the backend has seen the indices */
	else
		sleep_ns(50000000); /* the backend has most likely seen them by then */
	GUEST_ASSERT(!blkif_front_pending_rsps(&d0.ring)); /* nothing answered on the broken ring */
	fill_rw(&req, 0, BLKIF_OP_READ, 0, 4096, 1);
	expect(&d1, "disk 1 still serves after disk 0's ring broke", &req, BLKIF_RSP_OKAY);
	printf("blk-hostile: all checks passed\n");
	return 0;
}

/* args after `word` and the spaces that follow it, or NULL if args does not start with that word. */
static const char *subcommand(const char *args, const char *word)
{
	size_t n = strlen(word);

	if (strncmp(args, word, n) || (args[n] && args[n] != ' '))
		return NULL;
	args += n;
	while (*args == ' ')
		args++;
	return args;
}

int blk_main(const char *args)
{
	struct blk_opts o = { .rw = "randread", .bs = 4096, .iodepth = 1, .runtime_ms = 1000, .batch = 4, .numjobs = 1, .persistent = 1, .spin_auto = true,
			      .blocks = 16, .seed = 1, .irq = 1 };
	const char *rest;
	int r;

	r = gnttab_size() ? 0 : gnttab_init(8); /* 4096 entries: 8 jobs of 32 requests of 11 pages fit */
	if (r < 0) {
		printf("blk: grant table: %d\n", r);
		return 3;
	}
	if ((rest = subcommand(args, "churn")))
		return blk_churn(rest); /* blkchurn.c */
	if ((rest = subcommand(args, "hostile")) || (rest = subcommand(args, "verify"))) {
		if (!parse_opts(rest, &o))
			return 2;
		if (o.on_pci) {
			printf("blk: pci=%lu is for `blk run`; on a PCI function, `nvme verify` writes and checks a pattern\n",
			       o.pci);
			return 2;
		}
		if (!jobs_alloc(1))
			return 3;
		return args[0] == 'h' ? blk_hostile(&o) : blk_verify(&o);
	}
	rest = subcommand(args, "run");
	if (!parse_opts(rest ? rest : args, &o)) /* `run` may be left out */
		return 2;
	return o.on_pci ? blk_run_nvme(&o, (unsigned)o.pci, o.irq != 0) : blk_run(&o);
}
