// SPDX-License-Identifier: MIT
/*
 * Live migration's sending side (relocate.h, reloc_migrate): the save's
 * stream, written while the guest runs, over a connection to a receiver
 * (`xenith migrate-receive`, which restores it as `xenith restore` does).
 *
 *   1. KVM's dirty log is switched on for every RAM region, the head
 *      (DOMAIN, CONFIG) written, then round 0: every page guest memory
 *      holds (the memfd's data extents) that is not all zero.
 *   2. Each later round sends the pages the guest wrote since the last
 *      one (the dirty log), and measures the rate they went at.  Rounds
 *      stop when the pages left dirty would go within the downtime target
 *      at that rate, or after max_rounds (the guest dirties memory faster
 *      than it can be sent: the report says it did not converge).
 *   3. Stop and copy: the domain is paused and frozen and its devices
 *      quiesced (as for a save); the pages dirty since the last round go,
 *      then the pages the VMM wrote itself, which KVM's log does not see
 *      (hypercall results, event-channel bits, ring indices, a disk's
 *      data copied in): every page of guest memory is hashed when it is
 *      sent, and the stop-and-copy sends each populated page whose hash
 *      changed since.  Then the state records and END.
 *   4. The handshake, on the same connection: the receiver says "BUILT"
 *      once it has built the domain from the head (the sender waits for
 *      it after round 0, so that the build is not downtime), "READY" once
 *      it has loaded everything (either may be "ERROR <why>" instead);
 *      the sender answers "GO", the receiver starts the domain and says
 *      "DONE".  On "DONE" the sender's domain is ended by the caller.
 *
 * Faults lose nothing: until "GO" is sent the domain is resumed (devices,
 * timers, vCPUs) and runs on here, and the receiver, which has not
 * started anything, cleans up.  If the connection breaks after "GO" and
 * before "DONE", the sender cannot know whether the receiver started the
 * domain: it stays paused here (never two running copies), and the
 * error says to look at the receiver and `xenith unpause` it here if the
 * receiver does not have it.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blkdev.h"
#include "clock.h"
#include "domain.h"
#include "relocate_priv.h"

#define HANDSHAKE_READY_MS 60000u /* the receiver loads the last records and builds nothing new: quick */
#define HANDSHAKE_DONE_MS 10000u

struct mig {
	struct saver s;
	const struct reloc_migrate_opts *o;
	struct reloc_migrate_stats *st;
	uint64_t npages;
	struct page_sum *hash;  /* per page: what was sent, hashed; valid where sent is set */
	uint64_t *sent;         /* bitmap: the page was sent at least once */
	uint64_t *dirty;        /* bitmap: the dirty log, over the whole of guest memory */
	uint64_t *batch;        /* MIG_PAGES_MAX frames */
	uint8_t *bounce;        /* their pages, copied out */
	uint32_t nbatch;
	int fd;                 /* the connection */
	int64_t fetched;        /* what the last fetch found */
};

/*
 * 128 bits of a page, a change detector for the VMM's own writes (not a
 * MAC): four CRC-32C streams over interleaved words with SSE4.2's crc32
 * (about 20 GB/s here: the stop-and-copy hashes every populated page),
 * else two multiply-xor streams.  A CRC misses no change of up to 32
 * bits in a stream, and a larger one with odds of 2^-32 per stream.
 */
struct page_sum {
	uint64_t lo, hi;
};

__attribute__((target("sse4.2"))) static struct page_sum page_hash_crc(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)(const void *)p;
	uint64_t a = 0, b = 1, c = 2, d = 3;

	for (unsigned i = 0; i < MIG_PAGE_SIZE / 8; i += 4) {
		a = __builtin_ia32_crc32di(a, w[i]);
		b = __builtin_ia32_crc32di(b, w[i + 1]);
		c = __builtin_ia32_crc32di(c, w[i + 2]);
		d = __builtin_ia32_crc32di(d, w[i + 3]);
	}
	return (struct page_sum){ a | b << 32, c | d << 32 };
}

static struct page_sum page_hash_mul(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)(const void *)p;
	uint64_t a = 0x9e3779b97f4a7c15ull, b = 0xc2b2ae3d27d4eb4full;

	for (unsigned i = 0; i < MIG_PAGE_SIZE / 8; i += 2) {
		a = (a ^ w[i]) * 0xff51afd7ed558ccdull;
		b = (b ^ w[i + 1]) * 0xc4ceb9fe1a85ec53ull;
		a ^= a >> 29;
		b ^= b >> 31;
	}
	return (struct page_sum){ a, b };
}

static struct page_sum page_hash(const uint8_t *p)
{
	static int hw = -1;

	if (hw < 0)
		hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
	return hw ? page_hash_crc(p) : page_hash_mul(p);
}

static bool same_sum(struct page_sum a, struct page_sum b)
{
	return a.lo == b.lo && a.hi == b.hi;
}

static bool bit(const uint64_t *bm, uint64_t i)
{
	return bm[i / 64] >> (i % 64) & 1;
}

static void set_bit(uint64_t *bm, uint64_t i)
{
	bm[i / 64] |= 1ull << (i % 64);
}

/*
 * The batch as a PAGES record.  The guest runs meanwhile: each page is
 * copied out first, and what goes (its checksum, the record, the hash the
 * stop-and-copy compares with) is that copy, never memory the guest may
 * be changing under the write.
 */
static int flush(struct mig *m)
{
	struct mig_pages_hdr h = { .count = m->nbatch };
	const void *pieces[3] = { &h, m->batch, m->bounce };
	size_t lens[3] = { sizeof(h), m->nbatch * sizeof(uint64_t), (size_t)m->nbatch * MIG_PAGE_SIZE };
	int r;

	if (!m->nbatch)
		return 0;
	for (uint32_t i = 0; i < m->nbatch; i++) {
		uint8_t *copy = m->bounce + (size_t)i * MIG_PAGE_SIZE;

		memcpy(copy, m->s.d->mem + m->batch[i] * MIG_PAGE_SIZE, MIG_PAGE_SIZE);
		m->hash[m->batch[i]] = page_hash(copy);
	}
	r = mig_write_record(&m->s.w, MIG_REC_PAGES, pieces, lens, 3, m->s.eb);
	m->nbatch = 0;
	return r;
}

/* Queues page pfn (pages go in increasing order, so a batch's frames increase). */
static int send_page(struct mig *m, uint64_t pfn)
{
	set_bit(m->sent, pfn);
	m->batch[m->nbatch++] = pfn;
	m->st->pages++;
	return m->nbatch == MIG_PAGES_MAX ? flush(m) : 0;
}

/* The next extent of pages the memfd holds at or after *pfn: [*pfn, *end); false when none is left. */
static bool next_extent(struct domain *d, uint64_t npages, uint64_t *pfn, uint64_t *end)
{
	off_t data, hole;

	if (*pfn >= npages)
		return false;
	if (d->mem_fd < 0) {
		*end = npages;
		return true;
	}
	data = lseek(d->mem_fd, (off_t)(*pfn * MIG_PAGE_SIZE), SEEK_DATA);
	if (data < 0)
		return false; /* ENXIO: nothing more in the file */
	hole = lseek(d->mem_fd, data, SEEK_HOLE);
	*pfn = (uint64_t)data / MIG_PAGE_SIZE;
	*end = hole > data ? ((uint64_t)hole + MIG_PAGE_SIZE - 1) / MIG_PAGE_SIZE : npages;
	if (*end > npages)
		*end = npages;
	return *pfn < npages;
}

/* Round 0: every page guest memory holds that is not all zero. */
static int send_all(struct mig *m)
{
	struct domain *d = m->s.d;
	uint64_t pfn = 0, end;
	int r = 0;

	while (r == 0 && next_extent(d, m->npages, &pfn, &end))
		for (; pfn < end && r == 0; pfn++)
			if (!reloc_page_is_zero(d->mem + pfn * MIG_PAGE_SIZE))
				r = send_page(m, pfn);
	return r ? r : flush(m);
}

/*
 * The dirty log of every RAM region added to m->dirty (what a converged
 * round left there goes with the stop-and-copy's): how many pages the log
 * had.
 */
static int fetch_dirty_main(struct domain *d, void *arg)
{
	struct mig *m = arg;
	struct memmap *mm = &d->memmap;
	int64_t total = 0;

	for (unsigned i = 0; i < mm->nr; i++) {
		const struct memmap_region *reg = &mm->region[i];
		uint64_t base = reg->gpa / MIG_PAGE_SIZE, n = reg->size / MIG_PAGE_SIZE;
		uint64_t *bm;
		int r;

		if (reg->type != MEMMAP_RAM || base + n > m->npages)
			continue;
		bm = calloc(memmap_dirty_words(reg), sizeof(*bm));
		if (!bm)
			return errbuf_set(m->s.eb, ENOMEM, "out of memory for the dirty log");
		r = memmap_dirty_log_fetch(mm, i, bm, m->s.eb);
		for (uint64_t p = 0; r > 0 && p < n; p++)
			if (bit(bm, p))
				set_bit(m->dirty, base + p);
		free(bm);
		if (r < 0)
			return r;
		total += r;
	}
	m->fetched = total;
	return 0;
}

/* KVM's dirty log is the VM's memory slots' business: read on the main thread (domain_run_on_main). */
static int64_t fetch_dirty(struct mig *m)
{
	int r = domain_run_on_main(m->s.d, fetch_dirty_main, m);

	if (r == -ETIMEDOUT || r == -ECANCELED)
		return errbuf_set(m->s.eb, -r, "reading the dirty log: %s", r == -ECANCELED ?
				  "the domain ended" : "the VMM's main thread did not take the job");
	return r < 0 ? r : m->fetched;
}

/* The pages m->dirty has, which it then forgets. */
static int send_dirty(struct mig *m)
{
	int r = 0;

	for (uint64_t w = 0; w < (m->npages + 63) / 64 && r == 0; w++) {
		for (uint64_t bits = m->dirty[w]; bits && r == 0; bits &= bits - 1)
			r = send_page(m, w * 64 + (uint64_t)__builtin_ctzll(bits));
		m->dirty[w] = 0;
	}
	return r ? r : flush(m);
}

/*
 * Stop and copy, after the dirty pages: the pages the VMM wrote behind
 * KVM's log.  A page sent before whose hash changed, or one never sent
 * that is no longer all zero (the dirty pages just sent hash as sent).
 */
static int send_swept(struct mig *m)
{
	struct domain *d = m->s.d;
	uint64_t pfn = 0, end;
	int r = 0;

	while (r == 0 && next_extent(d, m->npages, &pfn, &end)) {
		for (; pfn < end && r == 0; pfn++) {
			const uint8_t *p = d->mem + pfn * MIG_PAGE_SIZE;

			if (bit(m->sent, pfn) ? !same_sum(page_hash(p), m->hash[pfn]) : !reloc_page_is_zero(p)) {
				m->st->swept_pages++;
				r = send_page(m, pfn);
			}
		}
	}
	return r ? r : flush(m);
}

static void progress(struct mig *m, unsigned round, uint64_t pages, uint64_t ns, int64_t dirty, bool final)
{
	struct reloc_progress p = {
		.round = round, .pages = pages, .total_pages = m->st->pages, .bytes = m->s.w.offset,
		.dirty = (uint64_t)dirty, .final = final,
		.rate_mbs = ns ? (double)pages * MIG_PAGE_SIZE / ((double)ns / 1e9) / 1e6 : 0,
	};

	p.est_downtime_ms = p.rate_mbs > 0 ? (double)dirty * MIG_PAGE_SIZE / (p.rate_mbs * 1e6) * 1e3 : 0;
	if (m->o->progress)
		m->o->progress(m->o->opaque, &p);
}

/* Reads one line (up to its newline) from fd within ms; 0, -ETIMEDOUT, -EPIPE (closed) or -errno. */
static int read_line(int fd, char *buf, size_t size, unsigned ms)
{
	uint64_t deadline = now_ns() + ms * 1000000ull;
	size_t n = 0;

	while (n + 1 < size) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		uint64_t now = now_ns();
		ssize_t k;
		int r;

		if (now >= deadline)
			return -ETIMEDOUT;
		r = poll(&pfd, 1, (int)((deadline - now) / 1000000 + 1));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			continue;
		k = read(fd, buf + n, 1); /* a byte at a time: nothing past the line is taken */
		if (k == 0)
			return -EPIPE;
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k < 0)
			return -errno;
		if (buf[n] == '\n') {
			buf[n] = 0;
			return 0;
		}
		n++;
	}
	buf[n] = 0;
	return -E2BIG;
}

static int write_line(int fd, const char *line)
{
	size_t len = strlen(line);

	while (len) {
		ssize_t k = write(fd, line, len);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -EIO;
		line += k;
		len -= (size_t)k;
	}
	return 0;
}

int reloc_handshake_reply(int fd, const char *line)
{
	return write_line(fd, line);
}

int reloc_handshake_wait(int fd, const char *want, unsigned ms, char *got, size_t size)
{
	int r = read_line(fd, got, size, ms);

	if (r < 0)
		return r;
	return strcmp(got, want) ? -EPROTO : 0;
}

static int dirty_log_set(struct domain *d, bool on, struct errbuf *eb)
{
	struct memmap *mm = &d->memmap;

	for (unsigned i = 0; i < mm->nr; i++) {
		int r;

		if (mm->region[i].type != MEMMAP_RAM)
			continue;
		r = on ? memmap_dirty_log_start(mm, i, eb) : memmap_dirty_log_stop(mm, i, NULL);
		if (r < 0 && on)
			return r;
	}
	return 0;
}

static int dirty_log_on(struct domain *d, void *eb)
{
	return dirty_log_set(d, true, eb);
}

static int dirty_log_off(struct domain *d, void *eb)
{
	return dirty_log_set(d, false, eb);
}

/*
 * Switching the slots' dirty logging changes the VM's memory slots, which
 * only the main thread's system-call filter allows (domain_run_on_main).
 */
static int dirty_log(struct domain *d, bool on, struct errbuf *eb)
{
	int r = domain_run_on_main(d, on ? dirty_log_on : dirty_log_off, eb);

	if (r == -ETIMEDOUT || r == -ECANCELED)
		return errbuf_set(eb, -r, "switching the dirty log %s: %s", on ? "on" : "off",
				  r == -ECANCELED ? "the domain ended" : "the VMM's main thread did not take the job");
	return r;
}

/* The receiver's BUILT (or its ERROR): 0 or -errno with eb. */
static int wait_built(struct mig *m)
{
	char line[256];
	int r = read_line(m->fd, line, sizeof(line), HANDSHAKE_READY_MS);

	if (r == 0 && !strcmp(line, "BUILT"))
		return 0;
	if (r == 0 && !strncmp(line, "ERROR ", 6))
		return errbuf_set(m->s.eb, EPROTO, "the receiver refused the domain: %s", line + 6);
	if (r == 0)
		return errbuf_set(m->s.eb, EPROTO, "the receiver answered '%.60s', not BUILT", line);
	return errbuf_set(m->s.eb, -r, "no word from the receiver after round 0: %s",
			  r == -EPIPE ? "it closed the connection" : strerror(-r));
}

static int drop_locks(struct domain *d, void *arg)
{
	(void)arg;
	blkdev_drop_locks(d);
	return 0;
}

/* The locks again, after a migration that did not happen: the receiver, which never started, lets go as it ends. */
static int take_locks(struct domain *d, void *eb)
{
	return blkdev_take_locks(d, 10000, eb);
}

int reloc_release(struct domain *d, struct errbuf *eb)
{
	int r;

	if (!d->reloc_held)
		return 0;
	r = domain_run_on_main(d, take_locks, eb);
	if (r == -ETIMEDOUT || r == -ECANCELED)
		return errbuf_set(eb, -r, "taking its disks' locks back: %s", r == -ECANCELED ?
				  "the domain ended" : "the VMM's main thread did not take the job");
	if (r < 0)
		return errbuf_prefix(eb, r, "'%s' was left paused by a migration and its disks' locks cannot be "
				     "taken back (is it running at the receiver?)", d->cfg.name);
	reloc_resume_devices(d);
	reloc_set_frozen(d, false);
	d->reloc_held = false;
	return 0;
}

/* Pre-copy: rounds until what is left fits the downtime target, or max_rounds. */
static int precopy(struct mig *m)
{
	uint64_t t0 = now_ns(), prev_dirty = UINT64_MAX;
	unsigned stuck = 0;
	double rate = 0;
	int r = send_all(m);

	if (r < 0)
		return r;
	progress(m, 0, m->st->pages, now_ns() - t0, 0, false);
	if (m->st->pages)
		rate = (double)m->st->pages * MIG_PAGE_SIZE / ((double)(now_ns() - t0) / 1e9 + 1e-9);
	/* The receiver builds the domain as round 0 arrives: stopping before it has would make that downtime. */
	r = wait_built(m);
	if (r < 0)
		return r;
	for (unsigned round = 1; round <= m->o->max_rounds; round++) {
		uint64_t before = m->st->pages, t1 = now_ns();
		int64_t dirty = fetch_dirty(m);

		if (dirty < 0)
			return (int)dirty;
		m->st->rounds = round;
		/* What is dirty now would go in this long with the guest stopped: stop here. */
		if (rate > 0 && (double)dirty * MIG_PAGE_SIZE / rate * 1e9 <= (double)m->o->downtime_ns) {
			m->st->converged = true;
			m->st->last_dirty = (uint64_t)dirty;
			/* These pages go in the stop-and-copy, with what the guest writes until the pause. */
			return 0;
		}
		r = send_dirty(m);
		if (r < 0)
			return r;
		if (m->st->pages > before)
			rate = (double)(m->st->pages - before) * MIG_PAGE_SIZE / ((double)(now_ns() - t1) / 1e9 + 1e-9);
		progress(m, round, m->st->pages - before, now_ns() - t1, dirty, false);
		m->st->last_dirty = (uint64_t)dirty;
		/* The dirty set no longer shrinks: the guest writes as fast as the pages go. */
		stuck = (uint64_t)dirty >= prev_dirty ? stuck + 1 : 0;
		prev_dirty = (uint64_t)dirty;
		if (stuck >= 3)
			break;
	}
	m->st->converged = false;
	return 0;
}

int reloc_migrate(struct domain *d, int fd, const struct reloc_migrate_opts *o, struct reloc_migrate_stats *st,
		  struct errbuf *eb)
{
	struct reloc_save_stats ss = { 0 };
	struct mig m = { .s = { .d = d, .st = &ss, .eb = eb }, .o = o, .st = st, .fd = fd };
	uint64_t t0 = now_ns(), tp = 0, words;
	bool paused = false, frozen = false, quiesced = false, locks_dropped = false;
	char line[256];
	int r;

	memset(st, 0, sizeof(*st));
	r = reloc_check_savable(d, true, eb);
	if (r < 0)
		return r;
	pthread_mutex_lock(&d->lock);
	r = d->state == DOMAIN_RUNNING ? 0 : -EINVAL;
	pthread_mutex_unlock(&d->lock);
	if (r < 0)
		return errbuf_set(eb, EINVAL, "domain '%s' is %s: only a running domain migrates live (a "
				  "paused one can be saved and restored)", d->cfg.name, domain_state_name(d->state));
	m.npages = d->mem_size / MIG_PAGE_SIZE;
	words = (m.npages + 63) / 64;
	m.hash = malloc(m.npages * sizeof(*m.hash));
	m.sent = calloc(words, 8);
	m.dirty = calloc(words, 8);
	m.batch = malloc(MIG_PAGES_MAX * sizeof(*m.batch));
	m.bounce = malloc((size_t)MIG_PAGES_MAX * MIG_PAGE_SIZE);
	if (!m.hash || !m.sent || !m.dirty || !m.batch || !m.bounce) {
		r = errbuf_set(eb, ENOMEM, "out of memory for the migration's page tables");
		goto out;
	}
	st->dirty_ring = d->dirty_ring;
	st->ring_full_exits = __atomic_load_n(&d->dirty_ring_full, __ATOMIC_RELAXED);
	r = dirty_log(d, true, eb);
	if (r < 0)
		goto out;
	r = reloc_write_head(&m.s, fd);
	if (r == 0)
		r = precopy(&m);
	st->precopy_ns = now_ns() - t0;
	if (r < 0)
		goto fail;

	/* Stop and copy. */
	tp = now_ns();
	r = domain_pause(d, eb);
	if (r < 0)
		goto fail;
	paused = true;
	reloc_set_frozen(d, true);
	frozen = true;
	r = reloc_quiesce_devices(d, eb);
	if (r < 0)
		goto fail;
	quiesced = true;
	/* Nothing writes the images now: the receiver may take their locks (blkdev.h). */
	r = domain_run_on_main(d, drop_locks, NULL);
	if (r < 0) {
		r = errbuf_set(eb, -r, "handing the disks' locks over: the main thread did not take the job");
		goto fail;
	}
	locks_dropped = true;
	r = (int)fetch_dirty(&m);
	if (r >= 0) {
		uint64_t before = st->pages;

		st->final_dirty = (uint64_t)r;
		r = send_dirty(&m);
		if (r == 0)
			r = send_swept(&m);
		st->final_pages = st->pages - before;
	}
	if (r == 0)
		r = reloc_write_state(&m.s);
	st->bytes = m.s.w.offset;
	progress(&m, st->rounds + 1, st->final_pages, now_ns() - tp, 0, true);
	if (r < 0)
		goto fail;
	st->stop_copy_ns = now_ns() - tp;

	/* The handshake. */
	r = read_line(fd, line, sizeof(line), HANDSHAKE_READY_MS);
	if (r < 0 || strcmp(line, "READY")) {
		if (r == 0 && !strncmp(line, "ERROR ", 6))
			r = errbuf_set(eb, EPROTO, "the receiver refused the stream: %s", line + 6);
		else if (r == 0)
			r = errbuf_set(eb, EPROTO, "the receiver answered '%.60s', not READY", line);
		else
			r = errbuf_set(eb, -r, "no READY from the receiver: %s", r == -EPIPE ?
				       "it closed the connection" : strerror(-r));
		goto fail;
	}
	r = write_line(fd, "GO\n");
	if (r < 0) {
		r = errbuf_set(eb, -r, "telling the receiver to go: %s", strerror(-r));
		goto fail; /* it never heard GO: it runs nothing */
	}
	r = read_line(fd, line, sizeof(line), HANDSHAKE_DONE_MS);
	if (r < 0 || strcmp(line, "DONE")) {
		st->ambiguous = true;
		d->reloc_held = true; /* `xenith unpause` gives it back everything (reloc_release) */
		r = errbuf_set(eb, EIO, "the receiver was told to start the domain but did not confirm (%s): "
			       "it may be running there; '%s' stays paused here; if the receiver does not have "
			       "it, `xenith unpause %s` here%s", r < 0 ? (r == -EPIPE ? "the connection closed" :
			       strerror(-r)) : line, d->cfg.name, d->cfg.name,
			       d->cfg.nr_disks ? " (its disks' locks were handed over: it would run without "
			       "them)" : "");
		goto out;
	}
	st->downtime_ns = now_ns() - tp;
	st->total_ns = now_ns() - t0;
	st->ring_full_exits = __atomic_load_n(&d->dirty_ring_full, __ATOMIC_RELAXED) - st->ring_full_exits;
	r = 0;
	goto out;
fail:
	if (locks_dropped) {
		struct errbuf eb2 = { "" };
		int r2 = domain_run_on_main(d, take_locks, &eb2);

		if (r2 < 0) {
			/* Without its locks it may not write its disks: it stays as it is, paused. */
			d->reloc_held = true;
			r = errbuf_prefix(eb, r, "migration of '%s' failed and its disks' locks cannot be taken back "
					  "(%s), so it stays paused here; `xenith unpause %s` once the images are "
					  "free", d->cfg.name, eb2.msg[0] ? eb2.msg : strerror(-r2), d->cfg.name);
			goto out;
		}
	}
	if (quiesced)
		reloc_resume_devices(d);
	if (frozen)
		reloc_set_frozen(d, false);
	if (paused) {
		struct errbuf eb2;

		if (domain_unpause(d, &eb2) < 0)
			fprintf(stderr, "xenith: domain '%s': after a failed migration: %s\n", d->cfg.name,
				eb2.msg);
	}
	r = errbuf_prefix(eb, r < 0 ? r : -EIO, "migration of '%s' failed%s, the domain runs on here",
			  d->cfg.name, paused ? " in its stop-and-copy" : "");
out:
	dirty_log(d, false, NULL);
	free(m.hash);
	free(m.sent);
	free(m.dirty);
	free(m.batch);
	free(m.bounce);
	return r;
}
