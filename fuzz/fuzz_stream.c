// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the relocation stream's reader (mig/stream.c) on any bytes,
 * as `xenith restore` and `xenith migrate-receive` meet them from a file or
 * another host.  The input is the stream.  Checks:
 *   - the reader from memory and the reader from a file descriptor (the
 *     same bytes in a memfd) agree: the same records (type, length, body,
 *     offset) and the same end (END, or the same error);
 *   - every record handed out has a length within MIG_REC_MAX_BODY, an
 *     8-aligned offset past the previous record, a body whose CRC-32C is
 *     the one its header has, and a type this version knows;
 *   - DOMAIN and PAGES bodies the parsers accept keep their promises
 *     (a NUL-terminated name, vCPUs 1..64, frames increasing and below the
 *     domain's memory, the pages inside the body);
 *   - what was accepted, written again by the writer, reads back the same;
 *   - the descriptor reader with PAGES placed in a domain of PLACE_PFNS
 *     pages (mig_reader_place_pages) hands out the same records, a PAGES
 *     one with its pages at their frames as the copying reader has them,
 *     and refuses exactly where the copying reader, or mig_parse_pages
 *     for a domain of that size, does.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "stream.h"

#define MAX_KEPT 64u
#define PLACE_PFNS 64u

struct kept {
	uint32_t type, length;
	uint64_t offset;
	uint8_t *body;
};

/* Reads every record (src: the stream's bytes, to check headers against; NULL: no check); returns the final status (0 at END, or the error) and what was handed out. */
static int read_all(struct mig_reader *r, int open_status, const uint8_t *src, struct kept *k, unsigned *nk)
{
	struct mig_record rec;
	struct errbuf eb;
	uint64_t max_pfn = 1ull << 20, last_end = MIG_HEADER_SIZE;
	int e = open_status;

	*nk = 0;
	while (e == 0 && (e = mig_next(r, &rec, &eb)) == 1) {
		FUZZ_CHECK(rec.length <= MIG_REC_MAX_BODY, "record %u: length %u", rec.index, rec.length);
		FUZZ_CHECK(rec.offset % 8 == 0 && rec.offset >= last_end, "record %u at %llu after %llu", rec.index,
			   (unsigned long long)rec.offset, (unsigned long long)last_end);
		if (src) {
			struct mig_rec_header h;

			memcpy(&h, src + rec.offset, sizeof(h));
			FUZZ_CHECK(h.length == rec.length && h.type == rec.type, "record %u's header", rec.index);
			FUZZ_CHECK(mig_crc32c(0, rec.body, rec.length) == h.checksum, "record %u handed out with "
				   "checksum 0x%08x, its body's is 0x%08x", rec.index, h.checksum,
				   mig_crc32c(0, rec.body, rec.length));
		}
		FUZZ_CHECK((rec.type & ~MIG_REC_OPTIONAL) < MIG_REC_NR_TYPES && (rec.type & ~MIG_REC_OPTIONAL) != MIG_REC_END,
			   "record %u handed out with type %u", rec.index, rec.type);
		last_end = rec.offset + MIG_REC_HEADER_SIZE + rec.length;
		if ((rec.type & ~MIG_REC_OPTIONAL) == MIG_REC_DOMAIN) {
			struct mig_domain d;

			if (mig_parse_domain(&rec, 64, &d, &eb) == 0) {
				FUZZ_CHECK(memchr(d.name, 0, sizeof(d.name)) != NULL, "name not terminated");
				FUZZ_CHECK(d.nr_vcpus >= 1 && d.nr_vcpus <= 64 && d.mem_size % MIG_PAGE_SIZE == 0 &&
					   d.mem_size, "domain accepted with %u vCPUs, %llu bytes", d.nr_vcpus,
					   (unsigned long long)d.mem_size);
				max_pfn = d.mem_size / MIG_PAGE_SIZE;
			}
		} else if ((rec.type & ~MIG_REC_OPTIONAL) == MIG_REC_PAGES) {
			static uint64_t pfns[MIG_PAGES_MAX];
			const uint8_t *data;
			uint32_t count;

			if (mig_parse_pages(&rec, max_pfn, &count, pfns, &data, &eb) == 0) {
				FUZZ_CHECK(count >= 1 && count <= MIG_PAGES_MAX, "count %u", count);
				for (uint32_t i = 0; i < count; i++)
					FUZZ_CHECK(pfns[i] < max_pfn && (!i || pfns[i] > pfns[i - 1]), "frame %u", i);
				FUZZ_CHECK(data + (size_t)count * MIG_PAGE_SIZE == rec.body + rec.length,
					   "pages do not end with the body");
			}
		}
		if (*nk < MAX_KEPT) {
			k[*nk] = (struct kept){ .type = rec.type, .length = rec.length, .offset = rec.offset,
						.body = malloc(rec.length ? rec.length : 1) };
			memcpy(k[*nk].body, rec.body, rec.length);
			(*nk)++;
		}
	}
	return e;
}

static void drop(struct kept *k, unsigned nk)
{
	for (unsigned i = 0; i < nk; i++)
		free(k[i].body);
}

/* The placed reader against the copying reader's records a[0..na) and end ea (see the top). */
static void check_placed(const uint8_t *data, size_t size, const struct kept *a, unsigned na, int ea)
{
	static uint8_t mem[PLACE_PFNS * MIG_PAGE_SIZE];
	static uint64_t pfns[MIG_PAGES_MAX];
	struct mig_reader r;
	struct mig_record rec;
	struct errbuf eb;
	unsigned i = 0;
	int e, fd = memfd_create("placed", 0);

	FUZZ_CHECK(fd >= 0 && write(fd, data, size) == (ssize_t)size, "memfd");
	lseek(fd, 0, SEEK_SET);
	e = mig_reader_open_fd(&r, fd, &eb);
	if (e == 0)
		mig_reader_place_pages(&r, mem, PLACE_PFNS);
	while (e == 0 && i < MAX_KEPT && (e = mig_next(&r, &rec, &eb)) == 1) {
		FUZZ_CHECK(i < na && a[i].type == rec.type && a[i].length == rec.length && a[i].offset == rec.offset,
			   "placed reader's record %u is not the copying reader's", i);
		if (rec.type == MIG_REC_PAGES) {
			struct mig_record plain = { .type = a[i].type, .length = a[i].length, .body = a[i].body };
			const uint8_t *pages;
			uint32_t count;

			FUZZ_CHECK(rec.placed, "PAGES record %u handed out unplaced", i);
			FUZZ_CHECK(mig_parse_pages(&plain, PLACE_PFNS, &count, pfns, &pages, &eb) == 0,
				   "placed a PAGES record %u the parser refuses: %s", i, eb.msg);
			for (uint32_t k = 0; k < count; k++)
				FUZZ_CHECK(!memcmp(mem + pfns[k] * MIG_PAGE_SIZE, pages + (size_t)k * MIG_PAGE_SIZE,
						   MIG_PAGE_SIZE), "record %u: page %u (frame %llu) not in place", i, k,
					   (unsigned long long)pfns[k]);
		} else {
			FUZZ_CHECK(!rec.placed && !memcmp(rec.body, a[i].body, rec.length), "record %u differs", i);
		}
		i++;
	}
	if (i < MAX_KEPT && e == 0) {
		FUZZ_CHECK(ea == 0 && i == na, "placed reader reached END after %u records; the copying reader "
			   "ended with %d after %u", i, ea, na);
	} else if (i < MAX_KEPT && e < 0 && i < na) {
		/* only a PAGES record the copying reader handed out yet a domain of PLACE_PFNS cannot take */
		struct mig_record plain = { .type = a[i].type, .length = a[i].length, .body = a[i].body };
		const uint8_t *pages;
		uint32_t count;

		FUZZ_CHECK(a[i].type == MIG_REC_PAGES &&
			   mig_parse_pages(&plain, PLACE_PFNS, &count, pfns, &pages, &eb) < 0,
			   "placed reader refused record %u (%s), which the copying reader and parser take", i,
			   eb.msg);
	} else if (i < MAX_KEPT && e < 0) {
		FUZZ_CHECK(ea < 0, "placed reader failed after %u records; the copying reader did not", i);
	}
	mig_reader_close(&r);
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kept a[MAX_KEPT], b[MAX_KEPT], c[MAX_KEPT];
	unsigned na, nb, nc;
	struct mig_reader r;
	struct errbuf eb;
	int ea, eb_, ec, fd;

	ea = read_all(&r, mig_reader_open_mem(&r, data, size, &eb), data, a, &na);
	mig_reader_close(&r);

	fd = memfd_create("stream", 0);
	FUZZ_CHECK(fd >= 0, "memfd_create");
	FUZZ_CHECK(write(fd, data, size) == (ssize_t)size, "memfd write");
	lseek(fd, 0, SEEK_SET);
	eb_ = read_all(&r, mig_reader_open_fd(&r, fd, &eb), NULL, b, &nb);
	mig_reader_close(&r);
	close(fd);
	FUZZ_CHECK(ea == eb_, "memory reader ended with %d, fd reader with %d", ea, eb_);
	FUZZ_CHECK(na == nb, "memory reader gave %u records, fd reader %u", na, nb);
	for (unsigned i = 0; i < na; i++)
		FUZZ_CHECK(a[i].type == b[i].type && a[i].length == b[i].length && a[i].offset == b[i].offset &&
			   !memcmp(a[i].body, b[i].body, a[i].length), "record %u differs between readers", i);
	check_placed(data, size, a, na, ea);

	if (ea == 0 && na < MAX_KEPT) {
		/* what was accepted, written again, reads back the same */
		struct mig_writer w;

		fd = memfd_create("again", 0);
		FUZZ_CHECK(mig_writer_start(&w, fd, &eb) == 0, "writer: %s", eb.msg);
		for (unsigned i = 0; i < na; i++) {
			const void *p[1] = { a[i].body };
			size_t l[1] = { a[i].length };

			FUZZ_CHECK(mig_write_record(&w, a[i].type, p, l, 1, &eb) == 0, "writer: %s", eb.msg);
		}
		FUZZ_CHECK(mig_writer_end(&w, &eb) == 0, "writer: %s", eb.msg);
		lseek(fd, 0, SEEK_SET);
		ec = read_all(&r, mig_reader_open_fd(&r, fd, &eb), NULL, c, &nc);
		mig_reader_close(&r);
		close(fd);
		FUZZ_CHECK(ec == 0 && nc == na, "rewritten stream: %d, %u records of %u", ec, nc, na);
		for (unsigned i = 0; i < na; i++)
			FUZZ_CHECK(c[i].type == a[i].type && c[i].length == a[i].length &&
				   !memcmp(c[i].body, a[i].body, a[i].length), "rewritten record %u differs", i);
		drop(c, nc);
	}
	drop(a, na);
	drop(b, nb);
	return 0;
}
