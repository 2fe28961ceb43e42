// SPDX-License-Identifier: MIT
/* The relocation stream's framing (stream.h has the format). */
#include "stream.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

/* ---- CRC-32C, reflected polynomial 0x82f63b78, one table ---- */

static uint32_t crc_table[256];
static bool crc_ready;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc_table[i] = c;
	}
	__atomic_store_n(&crc_ready, true, __ATOMIC_RELEASE);
}

uint32_t mig_crc32c_sw(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	if (!__atomic_load_n(&crc_ready, __ATOMIC_ACQUIRE))
		crc_init(); /* idempotent: two threads at once write the same table */
	crc = ~crc;
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/*
 * SSE4.2's crc32 instruction computes CRC-32C 8 bytes at a time: a save
 * checksums every page it writes, and the table above does a few hundred
 * MB/s where this does several GB/s.
 */
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t c = ~crc;

	for (; len && ((uintptr_t)p & 7); len--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	for (; len >= 8; len -= 8, p += 8) {
		uint64_t v;

		memcpy(&v, p, sizeof(v));
		c = __builtin_ia32_crc32di(c, v);
	}
	for (; len; len--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return ~(uint32_t)c;
}

uint32_t mig_crc32c(uint32_t crc, const void *data, size_t len)
{
	static int hw = -1;

	if (hw < 0)
		hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
	return hw ? crc32c_hw(crc, data, len) : mig_crc32c_sw(crc, data, len);
}

const char *mig_rec_name(uint32_t type)
{
	static const char *const names[MIG_REC_NR_TYPES] = {
		"END", "DOMAIN", "VCPU", "PAGES", "EVTCHN", "GRANT", "TIMER", "DEVICE", "XENSTORE", "CONSOLE",
		"CONFIG", "RO_FRAMES", "UPCALL",
	};
	static __thread char buf[40];
	uint32_t t = type & ~MIG_REC_OPTIONAL;

	if (t < MIG_REC_NR_TYPES)
		return names[t];
	snprintf(buf, sizeof(buf), "type %u%s", t, type & MIG_REC_OPTIONAL ? " (optional)" : "");
	return buf;
}

static uint32_t pad8(uint32_t len)
{
	return (8 - len % 8) % 8;
}

/* ---- writing ---- */

/* All of iov written (a pipe or socket may take less at a time). */
static int write_all(struct mig_writer *w, struct iovec *iov, int n, struct errbuf *eb)
{
	while (n > 0) {
		ssize_t k = writev(w->fd, iov, n > IOV_MAX ? IOV_MAX : n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return errbuf_set(eb, errno, "writing the stream at byte %llu: %s",
					  (unsigned long long)w->offset, strerror(errno));
		w->offset += (uint64_t)k;
		while (n > 0 && (size_t)k >= iov->iov_len) {
			k -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + k;
			iov->iov_len -= (size_t)k;
		}
	}
	return 0;
}

int mig_writer_start(struct mig_writer *w, int fd, struct errbuf *eb)
{
	struct mig_header h = { .version = MIG_VERSION, .byte_order = MIG_BYTE_ORDER,
				.header_size = MIG_HEADER_SIZE };
	struct iovec iov = { &h, sizeof(h) };

	memcpy(h.magic, MIG_MAGIC, sizeof(h.magic));
	*w = (struct mig_writer){ .fd = fd };
	return write_all(w, &iov, 1, eb);
}

#define MAX_PIECES (MIG_PAGES_MAX + 2u) /* a PAGES record: its header, frames and pages */

int mig_write_record(struct mig_writer *w, uint32_t type, const void *const *pieces, const size_t *lens,
		     unsigned n, struct errbuf *eb)
{
	static const uint8_t zeros[8];
	struct iovec iov[MAX_PIECES + 2];
	struct mig_rec_header h = { .type = type };
	uint64_t len = 0;

	if (n > MAX_PIECES)
		return errbuf_set(eb, EINVAL, "%s record: %u pieces (at most %u)", mig_rec_name(type), n,
				  MAX_PIECES);
	for (unsigned i = 0; i < n; i++) {
		len += lens[i];
		h.checksum = mig_crc32c(h.checksum, pieces[i], lens[i]);
		iov[i + 1] = (struct iovec){ (void *)pieces[i], lens[i] };
	}
	if (len > MIG_REC_MAX_BODY)
		return errbuf_set(eb, EINVAL, "%s record: %llu bytes (at most %u)", mig_rec_name(type),
				  (unsigned long long)len, MIG_REC_MAX_BODY);
	h.length = (uint32_t)len;
	iov[0] = (struct iovec){ &h, sizeof(h) };
	iov[n + 1] = (struct iovec){ (void *)zeros, pad8(h.length) };
	w->nr_records++;
	return write_all(w, iov, (int)n + 2, eb);
}

int mig_writer_end(struct mig_writer *w, struct errbuf *eb)
{
	return mig_write_record(w, MIG_REC_END, NULL, NULL, 0, eb);
}

/* ---- reading ---- */

/*
 * len bytes of the stream into dst (fd), or a pointer to them (memory).
 * 0; -EPIPE at a clean end of input before len bytes (what = what was being read).
 */
static int take(struct mig_reader *r, void *dst, const uint8_t **ptr, size_t len, const char *what,
		struct errbuf *eb)
{
	if (r->fd < 0) {
		if (r->mem_size - r->offset < len)
			return errbuf_set(eb, EPIPE, "truncated at byte %llu: %s needs %zu bytes, %zu left",
					  (unsigned long long)r->offset, what, len,
					  (size_t)(r->mem_size - r->offset));
		if (dst)
			memcpy(dst, r->mem + r->offset, len);
		if (ptr)
			*ptr = r->mem + r->offset;
		r->offset += len;
		return 0;
	}
	for (size_t got = 0; got < len;) {
		ssize_t k = read(r->fd, (uint8_t *)dst + got, len - got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return errbuf_set(eb, errno, "reading %s at byte %llu: %s", what,
					  (unsigned long long)r->offset, strerror(errno));
		if (k == 0)
			return errbuf_set(eb, EPIPE, "truncated at byte %llu: %s needs %zu bytes, the stream "
					  "ended after %zu", (unsigned long long)r->offset, what, len, got);
		got += (size_t)k;
		r->offset += (uint64_t)k;
	}
	if (ptr)
		*ptr = dst;
	return 0;
}

static int open_common(struct mig_reader *r, struct errbuf *eb)
{
	struct mig_header *h = &r->header;
	int e = take(r, h, NULL, sizeof(*h), "the image header", eb);

	if (e < 0)
		return e;
	if (memcmp(h->magic, MIG_MAGIC, sizeof(h->magic)))
		return errbuf_set(eb, EPROTO, "not a Xenith stream (magic '%.8s', expected '%s'); "
				  "`xenith save` writes them", h->magic, MIG_MAGIC);
	if (h->byte_order != MIG_BYTE_ORDER)
		return errbuf_set(eb, EPROTO, "byte-order mark 0x%08x, expected 0x%08x: written by a host "
				  "of the other byte order", h->byte_order, MIG_BYTE_ORDER);
	if (h->version != MIG_VERSION)
		return errbuf_set(eb, EPROTO, "stream version %u is %s than this Xenith's %u, which reads "
				  "version %u only", h->version, h->version < MIG_VERSION ? "older" : "newer",
				  MIG_VERSION, MIG_VERSION);
	if (h->header_size != MIG_HEADER_SIZE || h->flags || h->reserved)
		return errbuf_set(eb, EPROTO, "image header: size %u, flags 0x%x, reserved 0x%llx (version "
				  "%u has %u, 0, 0)", h->header_size, h->flags,
				  (unsigned long long)h->reserved, MIG_VERSION, MIG_HEADER_SIZE);
	return 0;
}

int mig_reader_open_fd(struct mig_reader *r, int fd, struct errbuf *eb)
{
	*r = (struct mig_reader){ .fd = fd };
	return open_common(r, eb);
}

int mig_reader_open_mem(struct mig_reader *r, const void *mem, size_t size, struct errbuf *eb)
{
	*r = (struct mig_reader){ .fd = -1, .mem = mem, .mem_size = size };
	return open_common(r, eb);
}

void mig_reader_close(struct mig_reader *r)
{
	free(r->body);
	r->body = NULL;
	r->cap = 0;
}

static bool known(uint32_t type)
{
	return (type & ~MIG_REC_OPTIONAL) < MIG_REC_NR_TYPES;
}

/*
 * A PAGES record's header (its first 8 bytes) against the record's length:
 * 0 and *count, or -1 with what is wrong in detail.
 */
static int pages_head(const uint8_t *body, uint32_t length, uint32_t *count, char *detail, size_t size)
{
	struct mig_pages_hdr h;
	uint64_t want;

	memcpy(&h, body, sizeof(h));
	if (h.count < 1 || h.count > MIG_PAGES_MAX || h.pad) {
		snprintf(detail, size, "count %u (1 to %u), pad 0x%x", h.count, MIG_PAGES_MAX, h.pad);
		return -1;
	}
	want = sizeof(h) + (uint64_t)h.count * (8 + MIG_PAGE_SIZE);
	if (length != want) {
		snprintf(detail, size, "%u bytes for %u pages, expected %llu", length, h.count,
			 (unsigned long long)want);
		return -1;
	}
	*count = h.count;
	return 0;
}

/* count frames from src into pfns: strictly increasing, each below max_pfn; else -1 and detail. */
static int pages_frames(const uint8_t *src, uint32_t count, uint64_t max_pfn, uint64_t *pfns, char *detail,
			size_t size)
{
	memcpy(pfns, src, (size_t)count * 8);
	for (uint32_t i = 0; i < count; i++) {
		if (pfns[i] >= max_pfn || (i && pfns[i] <= pfns[i - 1])) {
			snprintf(detail, size, "frame %u is 0x%llx (%s)", i, (unsigned long long)pfns[i],
				 pfns[i] >= max_pfn ? "past the domain's memory" : "not above the one before");
			return -1;
		}
	}
	return 0;
}

void mig_reader_place_pages(struct mig_reader *r, uint8_t *base, uint64_t max_pfn)
{
	r->place_base = base;
	r->place_pfns = base ? max_pfn : 0;
}

/* The count pages at frames pfns, from the descriptor to their places: readv, short reads included. */
static int read_into_place(struct mig_reader *r, const uint64_t *pfns, uint32_t count, const char *what,
			   struct errbuf *eb)
{
	struct iovec iov[MIG_PAGES_MAX];
	uint64_t start = r->offset, len = (uint64_t)count * MIG_PAGE_SIZE;
	uint32_t at = 0;

	for (uint32_t i = 0; i < count; i++)
		iov[i] = (struct iovec){ r->place_base + pfns[i] * MIG_PAGE_SIZE, MIG_PAGE_SIZE };
	while (at < count) {
		ssize_t k = readv(r->fd, iov + at, (int)(count - at < IOV_MAX ? count - at : IOV_MAX));

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return errbuf_set(eb, errno, "reading %s at byte %llu: %s", what,
					  (unsigned long long)r->offset, strerror(errno));
		if (k == 0)
			return errbuf_set(eb, EPIPE, "truncated at byte %llu: %s needs %llu bytes of pages, the "
					  "stream ended after %llu", (unsigned long long)r->offset, what,
					  (unsigned long long)len, (unsigned long long)(r->offset - start));
		r->offset += (uint64_t)k;
		while (k > 0) {
			if ((size_t)k >= iov[at].iov_len) {
				k -= (ssize_t)iov[at].iov_len;
				at++;
			} else {
				iov[at].iov_base = (uint8_t *)iov[at].iov_base + k;
				iov[at].iov_len -= (size_t)k;
				k = 0;
			}
		}
	}
	return 0;
}

/*
 * A PAGES record's body with its pages put in place (mig_reader_place_pages):
 * header and frames into the buffer and checked, pages read to where they
 * go, then padding and checksum.  The caller has read the record's header h.
 */
static int read_placed(struct mig_reader *r, const struct mig_rec_header *h, unsigned index, uint64_t at,
		       struct errbuf *eb)
{
	static const size_t room = sizeof(struct mig_pages_hdr) + MIG_PAGES_MAX * 8;
	uint64_t pfns[MIG_PAGES_MAX];
	char what[64], detail[160];
	uint8_t padbuf[8];
	const uint8_t *pad;
	uint32_t count, crc;
	size_t head;
	int e;

	snprintf(what, sizeof(what), "record %u (PAGES)'s body", index);
	if (h->length < sizeof(struct mig_pages_hdr))
		return errbuf_set(eb, EPROTO, "record %u (PAGES) at byte %llu: shorter than its header", index,
				  (unsigned long long)at);
	if (r->cap < room) {
		uint8_t *b = realloc(r->body, room);

		if (!b)
			return errbuf_set(eb, ENOMEM, "record %u: out of memory for %zu bytes", index, room);
		r->body = b;
		r->cap = room;
	}
	e = take(r, r->body, NULL, sizeof(struct mig_pages_hdr), what, eb);
	if (e < 0)
		return e;
	if (pages_head(r->body, h->length, &count, detail, sizeof(detail)) < 0)
		return errbuf_set(eb, EPROTO, "record %u (PAGES) at byte %llu: %s", index, (unsigned long long)at,
				  detail);
	head = sizeof(struct mig_pages_hdr) + (size_t)count * 8;
	e = take(r, r->body + sizeof(struct mig_pages_hdr), NULL, head - sizeof(struct mig_pages_hdr), what, eb);
	if (e < 0)
		return e;
	if (pages_frames(r->body + sizeof(struct mig_pages_hdr), count, r->place_pfns, pfns, detail,
			 sizeof(detail)) < 0)
		return errbuf_set(eb, EPROTO, "record %u (PAGES) at byte %llu: %s", index, (unsigned long long)at,
				  detail);
	e = read_into_place(r, pfns, count, what, eb);
	if (e == 0)
		e = take(r, padbuf, &pad, pad8(h->length), what, eb);
	if (e < 0)
		return e;
	for (uint32_t i = 0; i < pad8(h->length); i++)
		if (pad[i])
			return errbuf_set(eb, EPROTO, "record %u (PAGES) at byte %llu: padding byte %u is 0x%02x, "
					  "not 0", index, (unsigned long long)at, i, pad[i]);
	crc = mig_crc32c(0, r->body, head);
	for (uint32_t i = 0; i < count; i++)
		crc = mig_crc32c(crc, r->place_base + pfns[i] * MIG_PAGE_SIZE, MIG_PAGE_SIZE);
	if (crc != h->checksum)
		return errbuf_set(eb, EPROTO, "record %u (PAGES) at byte %llu: checksum 0x%08x, the body's is "
				  "0x%08x: the stream is corrupt", index, (unsigned long long)at, h->checksum, crc);
	return 0;
}

int mig_next(struct mig_reader *r, struct mig_record *rec, struct errbuf *eb)
{
	for (;;) {
		struct mig_rec_header h;
		uint64_t at = r->offset;
		unsigned index = r->nr_records;
		const uint8_t *body = NULL, *pad = NULL;
		uint8_t padbuf[8];
		uint32_t npad;
		char what[64];
		int e;

		if (r->ended)
			return 0;
		snprintf(what, sizeof(what), "record %u's header", index);
		e = take(r, &h, NULL, sizeof(h), what, eb);
		if (e < 0)
			return e;
		r->nr_records++;
		if (h.length > MIG_REC_MAX_BODY || h.reserved)
			return errbuf_set(eb, EPROTO, "record %u (%s) at byte %llu: length %u, reserved 0x%x "
					  "(at most %u, and 0)", index, mig_rec_name(h.type),
					  (unsigned long long)at, h.length, h.reserved, MIG_REC_MAX_BODY);
		if (!known(h.type) && !(h.type & MIG_REC_OPTIONAL))
			return errbuf_set(eb, EPROTO, "record %u at byte %llu: %s is mandatory and unknown to "
					  "stream version %u", index, (unsigned long long)at,
					  mig_rec_name(h.type), MIG_VERSION);
		if (r->fd >= 0 && r->place_base && h.type == MIG_REC_PAGES) {
			e = read_placed(r, &h, index, at, eb);
			if (e < 0)
				return e;
			*rec = (struct mig_record){ .type = h.type, .length = h.length, .body = r->body,
						    .index = index, .offset = at, .placed = true };
			return 1;
		}
		if (r->fd >= 0 && h.length > r->cap) {
			uint8_t *b = realloc(r->body, h.length);

			if (!b)
				return errbuf_set(eb, ENOMEM, "record %u: out of memory for %u bytes", index,
						  h.length);
			r->body = b;
			r->cap = h.length;
		}
		snprintf(what, sizeof(what), "record %u (%s)'s body", index, mig_rec_name(h.type));
		e = take(r, r->fd >= 0 ? r->body : NULL, &body, h.length, what, eb);
		npad = pad8(h.length);
		if (e == 0)
			e = take(r, padbuf, &pad, npad, what, eb);
		if (e < 0)
			return e;
		if (!body)
			body = (const uint8_t *)""; /* an empty body from a descriptor: never NULL */
		for (uint32_t i = 0; i < npad; i++)
			if (pad[i])
				return errbuf_set(eb, EPROTO, "record %u (%s) at byte %llu: padding byte %u is "
						  "0x%02x, not 0", index, mig_rec_name(h.type),
						  (unsigned long long)at, i, pad[i]);
		if (mig_crc32c(0, body, h.length) != h.checksum)
			return errbuf_set(eb, EPROTO, "record %u (%s) at byte %llu: checksum 0x%08x, the body's "
					  "is 0x%08x: the stream is corrupt", index, mig_rec_name(h.type),
					  (unsigned long long)at, h.checksum, mig_crc32c(0, body, h.length));
		if (!known(h.type)) {
			r->nr_skipped++; /* optional, from a later writer of this version */
			continue;
		}
		if ((h.type & ~MIG_REC_OPTIONAL) == MIG_REC_END) {
			if (h.length)
				return errbuf_set(eb, EPROTO, "record %u (END) at byte %llu has a %u-byte body, "
						  "it must be empty", index, (unsigned long long)at, h.length);
			r->ended = true;
			return 0;
		}
		*rec = (struct mig_record){ .type = h.type, .length = h.length, .body = body, .index = index,
					    .offset = at };
		return 1;
	}
}

/* ---- typed bodies ---- */

static int bad(const struct mig_record *rec, struct errbuf *eb, const char *fmt, const char *detail)
{
	return errbuf_set(eb, EPROTO, "record %u (%s) at byte %llu: %s%s", rec->index, mig_rec_name(rec->type),
			  (unsigned long long)rec->offset, fmt, detail ? detail : "");
}

int mig_parse_domain(const struct mig_record *rec, unsigned max_vcpus, struct mig_domain *out,
		     struct errbuf *eb)
{
	struct mig_domain d;
	char detail[160];

	if (rec->length != sizeof(d)) {
		snprintf(detail, sizeof(detail), "%u bytes, expected %zu", rec->length, sizeof(d));
		return bad(rec, eb, "", detail);
	}
	memcpy(&d, rec->body, sizeof(d));
	if (!memchr(d.name, 0, sizeof(d.name)))
		return bad(rec, eb, "the name is not NUL-terminated", NULL);
	if (d.nr_vcpus < 1 || d.nr_vcpus > max_vcpus) {
		snprintf(detail, sizeof(detail), "%u vCPUs (1 to %u)", d.nr_vcpus, max_vcpus);
		return bad(rec, eb, "", detail);
	}
	if (d.mem_size == 0 || d.mem_size % MIG_PAGE_SIZE) {
		snprintf(detail, sizeof(detail), "memory of %llu bytes (a non-zero multiple of %u)",
			 (unsigned long long)d.mem_size, MIG_PAGE_SIZE);
		return bad(rec, eb, "", detail);
	}
	/* Xen's DOMID_FIRST_RESERVED (0x7ff0) and up are never a guest's; 0 is the VMM's own. */
	if (d.domid == 0 || d.domid >= 0x7ff0) {
		snprintf(detail, sizeof(detail), "domain id %u (a guest's is 1 to 32751)", d.domid);
		return bad(rec, eb, "", detail);
	}
	*out = d;
	return 0;
}

int mig_parse_pages(const struct mig_record *rec, uint64_t max_pfn, uint32_t *count, uint64_t *pfns,
		    const uint8_t **data, struct errbuf *eb)
{
	char detail[160];
	uint32_t n;

	if (rec->length < sizeof(struct mig_pages_hdr))
		return bad(rec, eb, "shorter than its header", NULL);
	if (pages_head(rec->body, rec->length, &n, detail, sizeof(detail)) < 0 ||
	    pages_frames(rec->body + sizeof(struct mig_pages_hdr), n, max_pfn, pfns, detail, sizeof(detail)) < 0)
		return bad(rec, eb, "", detail);
	*count = n;
	*data = rec->placed ? NULL : rec->body + sizeof(struct mig_pages_hdr) + (size_t)n * 8;
	return 0;
}
