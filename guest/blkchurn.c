// SPDX-License-Identifier: MIT
/*
 * blk churn: a disk's queues connected, loaded with requests and
 * disconnected with some still in flight, again and again.  The VMM must
 * come out of it holding what it held before; the soak suite
 * (tools/cmd_soak.c) samples it meanwhile.
 *
 *   blk churn [cycles=N] [disks=N] [depth=N] [wait=N] [blocks=N] [seed=S]
 *             [mailbox=D sample=N [ackwait=MS]] [leave=1] [reboot=1]
 *
 * Each cycle, for each data disk 0 .. disks-1: every queue connected
 * (persistent grants on even cycles, grant copies on odd ones), `depth`
 * requests pushed on each (4 KiB writes and reads in the disk's first
 * half), `wait` responses awaited on queue 0, and the disk disconnected
 * with the rest in flight.  The backend finishes the requests it took
 * before the disconnect returns; the guest counts the responses it saw
 * before the disconnect, during it, and never (requests not yet taken).
 * Every response must be OKAY and answer a request in flight.
 *
 * After the cycles: the guest's free pages must equal those after the
 * first cycle (nothing lost per cycle); a verify pass per disk writes a
 * pattern into its second half, flushes and reads it back; every I/O page
 * is taken back from the backend (none may still be held).
 *
 * mailbox=D sample=N: after every N-th cycle, with the data disks
 * disconnected, prints "blk-churn: wait cycle=C token=T free=F" and polls
 * the first page of disk D until the host writes back {BLK_ACK_MAGIC, T}
 * there: the host samples the VMM at the same point of every cycle.
 * leave=1: at the very end, connect again and end with requests in flight.
 * reboot=1: end by asking for a reboot instead of powering off.
 */
#include "assert.h"
#include "blkpattern.h"
#include "blkfront.h"
#include "hypercall.h"

#define MAX_DISKS 4u
#define MAX_DEPTH 32u /* the ring's slots */

struct cdisk {
	struct xenith_disk_info info;
	unsigned nq;
	struct blkfront bf[XENITH_DISK_MAX_QUEUES];
	bool inflight[XENITH_DISK_MAX_QUEUES][MAX_DEPTH];
	uint8_t *page[XENITH_DISK_MAX_QUEUES][MAX_DEPTH];
	uint32_t ref[XENITH_DISK_MAX_QUEUES][MAX_DEPTH]; /* 0: not granted */
};

struct churn_opts {
	unsigned long cycles, disks, depth, wait, blocks, seed, mailbox, sample, ackwait_ms, leave, reboot;
};

struct churn_count {
	uint64_t requests, before, during, never, errors;
};

static struct cdisk *cd;

static bool parse(const char *p, struct churn_opts *o)
{
	static const char *const keys[] = { "cycles", "disks", "depth", "wait", "blocks", "seed",
					    "mailbox", "sample", "ackwait", "leave", "reboot" };
	unsigned long *const vals[] = { &o->cycles, &o->disks, &o->depth, &o->wait, &o->blocks, &o->seed,
					&o->mailbox, &o->sample, &o->ackwait_ms, &o->leave, &o->reboot };

	while (*p) {
		const char *k = p, *end = p;
		unsigned long v = 0;
		size_t klen;
		unsigned i;

		while (*p && *p != '=' && *p != ' ')
			p++;
		klen = (size_t)(p - k);
		if (*p != '=' || !parse_ulong(p + 1, &end, &v) || (*end && *end != ' ')) {
			size_t wlen = 0;

			while (k[wlen] && k[wlen] != ' ')
				wlen++;
			printf("blk-churn: '%.*s' is not key=number\n", (int)wlen, k);
			return false;
		}
		for (i = 0; i < ARRAY_SIZE(keys); i++)
			if (strlen(keys[i]) == klen && !memcmp(keys[i], k, klen))
				break;
		if (i == ARRAY_SIZE(keys)) {
			printf("blk-churn: unknown option '%.*s'\n", (int)klen, k);
			return false;
		}
		*vals[i] = v;
		p = end;
		while (*p == ' ')
			p++;
	}
	return true;
}

/* Page i of queue q, allocated once and granted while ref is 0. */
static void grant_page(struct cdisk *c, unsigned q, unsigned i)
{
	int ref;

	if (!c->page[q][i]) {
		c->page[q][i] = alloc_pages(1);
		GUEST_ASSERT(c->page[q][i]);
	}
	if (c->ref[q][i])
		return;
	ref = gnttab_grant(XENITH_BACKEND_DOMID, (uint64_t)(uintptr_t)c->page[q][i] / XENITH_PAGE_SIZE, false);
	GUEST_ASSERT(ref > 0);
	c->ref[q][i] = (uint32_t)ref;
}

static void fill(struct blkif_request *r, uint8_t op, uint64_t id, uint64_t byte_off, uint32_t gref)
{
	memset(r, 0, sizeof(*r));
	r->operation = op;
	r->id = id;
	r->sector_number = byte_off / XENITH_SECTOR_SIZE;
	r->nr_segments = 1;
	r->seg[0] = (struct blkif_request_segment){ .gref = gref, .first_sect = 0,
						    .last_sect = XENITH_SECTORS_PER_PAGE - 1 };
}

static int sync_request(struct blkfront *bf, const struct blkif_request *req)
{
	struct blkif_response rsp;

	*blkif_front_next_req(&bf->ring) = *req;
	bf->ring.req_prod_pvt++;
	blkfront_push(bf);
	blkfront_wait(bf);
	blkif_front_take_rsp(&bf->ring, &rsp);
	GUEST_ASSERT_EQ(rsp.id, req->id);
	return rsp.status;
}

static int connect_all(struct cdisk *c, unsigned k, bool persistent, unsigned long cycle)
{
	int r = blkfront_connect_queues(c->bf, k, c->nq, persistent);

	if (r < 0)
		printf("blk-churn: cycle %lu: disk %u: cannot connect its %u queue(s) (%d)\n", cycle, k, c->nq, r);
	return r < 0 ? r : 0;
}

/* Pushes depth requests on every queue: even slots write, odd ones read, in the first half. */
static void push_all(struct cdisk *c, unsigned long cycle, unsigned long depth, struct churn_count *n)
{
	uint64_t half_blocks = c->info.sectors * XENITH_SECTOR_SIZE / 2 / XENITH_PAGE_SIZE;

	for (unsigned q = 0; q < c->nq; q++) {
		for (unsigned i = 0; i < depth; i++) {
			uint64_t blk = (cycle * depth * c->nq + q * depth + i) % half_blocks;

			grant_page(c, q, i);
			fill(blkif_front_next_req(&c->bf[q].ring), i % 2 ? BLKIF_OP_READ : BLKIF_OP_WRITE,
			     ((uint64_t)q << 8) | i, blk * XENITH_PAGE_SIZE, c->ref[q][i]);
			c->bf[q].ring.req_prod_pvt++;
			c->inflight[q][i] = true;
			n->requests++;
		}
		blkfront_push(&c->bf[q]);
	}
}

/* Takes every response queue q has; each must answer a request in flight. */
static unsigned take_responses(struct cdisk *c, unsigned q, struct churn_count *n)
{
	unsigned got = 0;

	while (blkif_front_pending_rsps(&c->bf[q].ring)) {
		struct blkif_response rsp;
		unsigned i;

		blkif_front_take_rsp(&c->bf[q].ring, &rsp);
		i = (unsigned)(rsp.id & 0xff);
		GUEST_ASSERT((rsp.id >> 8) == q && i < MAX_DEPTH && c->inflight[q][i]);
		c->inflight[q][i] = false;
		n->errors += rsp.status != BLKIF_RSP_OKAY;
		got++;
	}
	return got;
}

static void release_all(struct cdisk *c)
{
	for (unsigned q = 0; q < c->nq; q++)
		blkfront_release(&c->bf[q]);
}

static int cycle_disk(struct cdisk *c, unsigned k, unsigned long cycle, const struct churn_opts *o,
		      struct churn_count *n)
{
	bool persistent = cycle % 2 == 0;
	unsigned long seen = 0;
	long r;

	r = connect_all(c, k, persistent, cycle);
	if (r < 0)
		return (int)r;
	push_all(c, cycle, o->depth, n);
	while (seen < o->wait) {
		seen += take_responses(c, 0, n);
		if (seen < o->wait)
			blkfront_wait(&c->bf[0]);
	}
	n->before += seen;
	for (unsigned q = 1; q < c->nq; q++)
		n->before += take_responses(c, q, n);
	r = blkfront_disconnect_disk(k);
	if (r < 0) {
		printf("blk-churn: cycle %lu: disk %u: disconnect failed (%ld)\n", cycle, k, r);
		return (int)r;
	}
	/* The backend finished what it had taken before the disconnect returned. */
	for (unsigned q = 0; q < c->nq; q++) {
		n->during += take_responses(c, q, n);
		for (unsigned i = 0; i < o->depth; i++) {
			n->never += c->inflight[q][i];
			c->inflight[q][i] = false;
		}
	}
	release_all(c);
	return 0;
}

static struct blkfront mbox;
static uint8_t *mbox_page;
static uint32_t mbox_ref;

static int mailbox_connect(unsigned long disk)
{
	int r = blkfront_connect(&mbox, (unsigned)disk), ref;

	if (r < 0) {
		printf("blk-churn: mailbox disk %lu: cannot connect (%d)\n", disk, r);
		return r;
	}
	mbox_page = alloc_pages(1);
	GUEST_ASSERT(mbox_page);
	ref = gnttab_grant(XENITH_BACKEND_DOMID, (uint64_t)(uintptr_t)mbox_page / XENITH_PAGE_SIZE, false);
	GUEST_ASSERT(ref > 0);
	mbox_ref = (uint32_t)ref;
	return 0;
}

/* Announces this point of the run and waits for the host to write the token into the mailbox. */
static int handshake(unsigned long cycle, const struct churn_opts *o)
{
	uint64_t token = rdtsc() | 1, deadline = monotonic_ns() + o->ackwait_ms * 1000000ull;
	struct blkif_request req;

	printf("blk-churn: wait cycle=%lu token=%llu free=%zu\n", cycle, (unsigned long long)token,
	       mm_free_pages());
	for (;;) {
		uint64_t w[2];

		fill(&req, BLKIF_OP_READ, 0, 0, mbox_ref);
		if (sync_request(&mbox, &req) != BLKIF_RSP_OKAY) {
			printf("blk-churn: mailbox disk %lu: read failed\n", o->mailbox);
			return -1;
		}
		memcpy(w, mbox_page, sizeof(w));
		if (w[0] == BLK_ACK_MAGIC && w[1] == token)
			return 0;
		if (monotonic_ns() > deadline) {
			printf("blk-churn: no answer in the mailbox (disk %lu) within %lu ms; the host must "
			       "write the token back (tools/cmd_soak.c)\n", o->mailbox, o->ackwait_ms);
			return -1;
		}
		sleep_ns(200000);
	}
}

/* Writes the pattern into the disk's second half, flushes, reads it back: bad words. */
static uint64_t verify_disk(struct cdisk *c, unsigned k, const struct churn_opts *o)
{
	uint64_t base = c->info.sectors * XENITH_SECTOR_SIZE / 2 / XENITH_PAGE_SIZE * XENITH_PAGE_SIZE;
	struct blkif_request req;
	uint8_t *pg;
	uint64_t bad = 0;

	if (blkfront_connect_queue(&c->bf[0], k, 0, true) < 0)
		return UINT64_MAX;
	grant_page(c, 0, 0);
	pg = c->page[0][0];
	for (uint64_t b = 0; b < o->blocks; b++) {
		for (unsigned w = 0; w < XENITH_PAGE_SIZE / 8; w++) {
			uint64_t v = blk_pattern(o->seed, base + b * XENITH_PAGE_SIZE + w * 8);

			memcpy(pg + w * 8, &v, 8);
		}
		fill(&req, BLKIF_OP_WRITE, b, base + b * XENITH_PAGE_SIZE, c->ref[0][0]);
		bad += sync_request(&c->bf[0], &req) != BLKIF_RSP_OKAY;
	}
	memset(&req, 0, sizeof(req));
	req.operation = BLKIF_OP_FLUSH_DISKCACHE;
	bad += sync_request(&c->bf[0], &req) != BLKIF_RSP_OKAY;
	for (uint64_t b = 0; b < o->blocks; b++) {
		memset(pg, 0, XENITH_PAGE_SIZE);
		fill(&req, BLKIF_OP_READ, b, base + b * XENITH_PAGE_SIZE, c->ref[0][0]);
		bad += sync_request(&c->bf[0], &req) != BLKIF_RSP_OKAY;
		for (unsigned w = 0; w < XENITH_PAGE_SIZE / 8; w++) {
			uint64_t v;

			memcpy(&v, pg + w * 8, 8);
			bad += v != blk_pattern(o->seed, base + b * XENITH_PAGE_SIZE + w * 8);
		}
	}
	blkfront_disconnect_disk(k);
	blkfront_release(&c->bf[0]);
	return bad;
}

/* Takes every I/O page's grant back; returns how many the backend still held. */
static unsigned end_grants(unsigned long ndisks, unsigned *pages)
{
	unsigned held = 0;

	*pages = 0;
	for (unsigned k = 0; k < ndisks; k++)
		for (unsigned q = 0; q < XENITH_DISK_MAX_QUEUES; q++)
			for (unsigned i = 0; i < MAX_DEPTH; i++) {
				uint32_t ref = cd[k].ref[q][i];

				if (!ref)
					continue;
				(*pages)++;
				if (!gnttab_end_access(ref)) {
					held++;
					continue;
				}
				gnttab_free(ref);
				cd[k].ref[q][i] = 0;
			}
	return held;
}

int blk_churn(const char *args)
{
	struct churn_opts o = { .cycles = 100, .disks = 1, .depth = 8, .wait = 1, .blocks = 16, .seed = 1,
				.mailbox = ~0ul, .ackwait_ms = 60000 };
	struct churn_count n = { 0 };
	size_t free_first = 0, free_last;
	unsigned pages, held;
	bool ok = true;

	if (!parse(args, &o))
		return 2;
	if (o.disks == 0 || o.disks > MAX_DISKS || o.depth == 0 || o.depth > MAX_DEPTH || o.wait > o.depth ||
	    (o.mailbox != ~0ul && (o.mailbox < o.disks || o.mailbox >= MAX_DISKS || !o.sample))) {
		printf("blk-churn: disks must be 1-%u, depth 1-%u, wait at most depth; mailbox=D (a disk after "
		       "the data disks) needs sample=N\n", MAX_DISKS, MAX_DEPTH);
		return 2;
	}
	cd = calloc(o.disks, sizeof(*cd));
	if (!cd) {
		printf("blk-churn: out of memory for %lu disks\n", o.disks);
		return 3;
	}
	for (unsigned k = 0; k < o.disks; k++) {
		int r = blkfront_info(k, &cd[k].info);

		if (r < 0 || cd[k].info.sectors * XENITH_SECTOR_SIZE < 2 * (o.blocks + 1) * XENITH_PAGE_SIZE ||
		    (cd[k].info.flags & XENITH_DISK_RO)) {
			printf("blk-churn: disk %u: missing (%d), read-only, or smaller than twice %lu pages\n", k, r,
			       o.blocks + 1);
			return 3;
		}
		cd[k].nq = cd[k].info.nr_queues ? cd[k].info.nr_queues : 1;
	}
	if (o.mailbox != ~0ul && mailbox_connect(o.mailbox) < 0)
		return 3;
	printf("blk-churn: %lu cycles on %lu disk(s), %lu requests per queue, %lu awaited\n", o.cycles, o.disks,
	       o.depth, o.wait);
	for (unsigned long c = 0; c < o.cycles; c++) {
		for (unsigned k = 0; k < o.disks; k++)
			if (cycle_disk(&cd[k], k, c, &o, &n) < 0)
				return 3;
		if (c == 0)
			free_first = mm_free_pages(); /* the I/O pages are allocated by now */
		if (o.mailbox != ~0ul && (c + 1) % o.sample == 0 && handshake(c + 1, &o) < 0)
			return 4;
	}
	free_last = mm_free_pages();
	printf("blk-churn: %lu cycles: %llu requests, %llu answered before the disconnect, %llu during it, "
	       "%llu never taken, %llu errors\n", o.cycles, (unsigned long long)n.requests,
	       (unsigned long long)n.before, (unsigned long long)n.during, (unsigned long long)n.never,
	       (unsigned long long)n.errors);
	printf("blk-churn: guest free pages after the first cycle %zu, after the last %zu%s\n", free_first,
	       free_last, free_first == free_last ? "" : " (WRONG: pages lost per cycle)");
	ok = n.errors == 0 && free_first == free_last;
	for (unsigned k = 0; k < o.disks; k++) {
		uint64_t bad = verify_disk(&cd[k], k, &o);

		printf("blk-churn: disk %u verify: %lu blocks, %llu bad words\n", k, o.blocks, (unsigned long long)bad);
		ok &= bad == 0;
	}
	held = end_grants(o.disks, &pages);
	printf("blk-churn: %u I/O pages taken back, %u still held by the backend%s\n", pages, held,
	       held ? " (WRONG)" : "");
	ok &= held == 0;
	printf("blk-churn: %s\n", ok ? "ok" : "FAILED");
	if (ok && o.leave) {
		/* End with requests in flight: the VMM's teardown must cope. */
		for (unsigned k = 0; k < o.disks; k++) {
			if (connect_all(&cd[k], k, true, o.cycles) < 0)
				return 3;
			push_all(&cd[k], o.cycles, o.depth, &n);
		}
	}
	if (ok && o.reboot)
		shutdown(SHUTDOWN_reboot);
	return ok ? 0 : 1;
}
