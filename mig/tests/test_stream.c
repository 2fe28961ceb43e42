// SPDX-License-Identifier: MIT
/*
 * Unit tests: the relocation stream (mig/stream.c).  Streams are written
 * with the writer into a memfd, then read back from the fd and from memory;
 * damaged copies are refused with the record, its offset and the reason.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "stream.h"

static uint8_t page_a[MIG_PAGE_SIZE], page_b[MIG_PAGE_SIZE];

/* A stream: DOMAIN, a PAGES record of frames 3 and 9, an optional unknown record, a 5-byte TIMER body, END. */
static size_t sample(uint8_t **out, bool with_optional)
{
	struct mig_domain d = { .abi_version = 1, .nr_vcpus = 2, .domid = 3, .mem_size = 16 * MIG_PAGE_SIZE,
				 .tsc_khz = 2000000 };
	struct mig_pages_hdr ph = { .count = 2 };
	uint64_t pfns[2] = { 3, 9 };
	const char odd[5] = "timer";
	struct mig_writer w;
	struct errbuf eb;
	int fd = memfd_create("stream", 0);
	off_t size;

	snprintf(d.name, sizeof(d.name), "web");
	memset(page_a, 0xa1, sizeof(page_a));
	memset(page_b, 0xb2, sizeof(page_b));
	assert_true(fd >= 0);
	assert_int_equal(mig_writer_start(&w, fd, &eb), 0);
	assert_int_equal(mig_write_record(&w, MIG_REC_DOMAIN, (const void *[]){ &d }, (size_t[]){ sizeof(d) }, 1,
					  &eb), 0);
	assert_int_equal(mig_write_record(&w, MIG_REC_PAGES, (const void *[]){ &ph, pfns, page_a, page_b },
					  (size_t[]){ sizeof(ph), sizeof(pfns), MIG_PAGE_SIZE, MIG_PAGE_SIZE }, 4, &eb), 0);
	if (with_optional)
		assert_int_equal(mig_write_record(&w, 77 | MIG_REC_OPTIONAL, (const void *[]){ "later" },
						  (size_t[]){ 5 }, 1, &eb), 0);
	assert_int_equal(mig_write_record(&w, MIG_REC_TIMER, (const void *[]){ odd }, (size_t[]){ 5 }, 1, &eb), 0);
	assert_int_equal(mig_writer_end(&w, &eb), 0);
	size = lseek(fd, 0, SEEK_END);
	assert_int_equal((uint64_t)size, w.offset);
	*out = malloc((size_t)size);
	assert_int_equal(pread(fd, *out, (size_t)size, 0), size);
	close(fd);
	return (size_t)size;
}

static void read_sample(struct mig_reader *r)
{
	struct mig_record rec;
	struct mig_domain d;
	uint64_t pfns[MIG_PAGES_MAX];
	const uint8_t *data;
	uint32_t count;
	struct errbuf eb;

	assert_int_equal(mig_next(r, &rec, &eb), 1);
	assert_int_equal(rec.type, MIG_REC_DOMAIN);
	assert_int_equal(rec.index, 0);
	assert_int_equal(rec.offset, MIG_HEADER_SIZE);
	assert_int_equal(mig_parse_domain(&rec, 64, &d, &eb), 0);
	assert_string_equal(d.name, "web");
	assert_int_equal(d.nr_vcpus, 2);
	assert_int_equal(mig_next(r, &rec, &eb), 1);
	assert_int_equal(rec.type, MIG_REC_PAGES);
	assert_int_equal(mig_parse_pages(&rec, 16, &count, pfns, &data, &eb), 0);
	assert_int_equal(count, 2);
	assert_int_equal(pfns[0], 3);
	assert_int_equal(pfns[1], 9);
	assert_memory_equal(data, page_a, MIG_PAGE_SIZE);
	assert_memory_equal(data + MIG_PAGE_SIZE, page_b, MIG_PAGE_SIZE);
	assert_int_equal(mig_next(r, &rec, &eb), 1);
	assert_int_equal(rec.type, MIG_REC_TIMER);
	assert_int_equal(rec.length, 5);
	assert_memory_equal(rec.body, "timer", 5);
	assert_int_equal(rec.offset % 8, 0);
	assert_int_equal(mig_next(r, &rec, &eb), 0); /* END */
	assert_true(r->ended);
	assert_int_equal(mig_next(r, &rec, &eb), 0);
}

static void test_a_stream_reads_back_from_fd_and_memory(void **state)
{
	uint8_t *s;
	size_t n = sample(&s, true);
	struct mig_reader r;
	struct errbuf eb;
	int fd = memfd_create("s", 0);

	(void)state;
	assert_int_equal(mig_reader_open_mem(&r, s, n, &eb), 0);
	read_sample(&r);
	assert_int_equal(r.nr_skipped, 1); /* the optional record of an unknown type */
	assert_int_equal(r.offset, n);
	mig_reader_close(&r);
	assert_int_equal(write(fd, s, n), (ssize_t)n);
	lseek(fd, 0, SEEK_SET);
	assert_int_equal(mig_reader_open_fd(&r, fd, &eb), 0);
	read_sample(&r);
	mig_reader_close(&r);
	close(fd);
	free(s);
}

/* The error of the first record that fails in a copy of the sample with `patch` applied at `at`. */
static int first_error(const uint8_t *s, size_t n, size_t at, const void *patch, size_t len, struct errbuf *eb)
{
	uint8_t *c = malloc(n);
	struct mig_reader r;
	struct mig_record rec;
	int e;

	memcpy(c, s, n);
	memcpy(c + at, patch, len);
	e = mig_reader_open_mem(&r, c, n, eb);
	if (e == 0)
		while ((e = mig_next(&r, &rec, eb)) == 1)
			;
	free(c);
	return e;
}

static void test_damage_is_refused_naming_the_record(void **state)
{
	uint8_t *s;
	size_t n = sample(&s, false), pages = MIG_HEADER_SIZE + MIG_REC_HEADER_SIZE + sizeof(struct mig_domain);
	struct errbuf eb;
	uint32_t v;
	uint8_t b;

	(void)state;
	/* a flipped byte in a page: the PAGES record's checksum */
	b = 0;
	assert_int_equal(first_error(s, n, pages + MIG_REC_HEADER_SIZE + 100, &b, 1, &eb), -EPROTO);
	assert_non_null(strstr(eb.msg, "record 1 (PAGES) at byte 144: checksum"));
	/* a mandatory type this version does not know */
	v = 42;
	assert_int_equal(first_error(s, n, pages, &v, 4, &eb), -EPROTO);
	assert_non_null(strstr(eb.msg, "type 42 is mandatory and unknown to stream version 1"));
	/* a length past the limit */
	v = MIG_REC_MAX_BODY + 1;
	assert_int_equal(first_error(s, n, pages + 4, &v, 4, &eb), -EPROTO);
	assert_non_null(strstr(eb.msg, "length"));
	/* padding that is not zero: the TIMER record's 3 bytes after its 5 */
	b = 1;
	assert_int_equal(first_error(s, n, n - 16 - 1, &b, 1, &eb), -EPROTO);
	assert_non_null(strstr(eb.msg, "(TIMER)"));
	assert_non_null(strstr(eb.msg, "padding byte 2 is 0x01"));
	/* END claiming a body that is not there */
	v = 8;
	assert_int_equal(first_error(s, n, n - 16 + 4, &v, 4, &eb), -EPIPE);
	free(s);
}

/* Guest memory of 16 pages for placed PAGES records, filled with 0x5a. */
static uint8_t place_mem[16 * MIG_PAGE_SIZE];

/* Reads s (n bytes) from a descriptor with pages placed in place_mem below max_pfn: the first error, or 0 at END. */
static int read_placed_from(int fd, uint64_t max_pfn, struct mig_record *pages_rec, struct errbuf *eb)
{
	struct mig_reader r;
	struct mig_record rec;
	int e;

	memset(place_mem, 0x5a, sizeof(place_mem));
	e = mig_reader_open_fd(&r, fd, eb);
	if (e == 0) {
		mig_reader_place_pages(&r, place_mem, max_pfn);
		while ((e = mig_next(&r, &rec, eb)) == 1)
			if (rec.type == MIG_REC_PAGES && pages_rec) {
				uint64_t pfns[MIG_PAGES_MAX];
				const uint8_t *data = place_mem;
				uint32_t count;

				*pages_rec = rec;
				assert_int_equal(mig_parse_pages(&rec, max_pfn, &count, pfns, &data, eb), 0);
				assert_int_equal(count, 2);
				assert_int_equal(pfns[0], 3);
				assert_int_equal(pfns[1], 9);
				assert_null(data); /* nothing to copy: the pages are in place */
			}
	}
	mig_reader_close(&r);
	return e;
}

static int memfd_with(const uint8_t *s, size_t n)
{
	int fd = memfd_create("s", 0);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, s, n), (ssize_t)n);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static bool all_bytes(const uint8_t *p, size_t len, uint8_t v)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* From a descriptor, a PAGES record's pages land at their frames and nowhere else; the rest reads on. */
static void test_placed_pages_land_at_their_frames_and_nowhere_else(void **state)
{
	uint8_t *s;
	size_t n = sample(&s, true);
	struct mig_record rec = { .placed = false };
	struct errbuf eb;
	int fd = memfd_with(s, n);

	(void)state;
	assert_int_equal(read_placed_from(fd, 16, &rec, &eb), 0);
	assert_true(rec.placed);
	assert_int_equal(rec.length, sizeof(struct mig_pages_hdr) + 2 * (8 + MIG_PAGE_SIZE));
	assert_memory_equal(place_mem + 3 * MIG_PAGE_SIZE, page_a, MIG_PAGE_SIZE);
	assert_memory_equal(place_mem + 9 * MIG_PAGE_SIZE, page_b, MIG_PAGE_SIZE);
	assert_true(all_bytes(place_mem, 3 * MIG_PAGE_SIZE, 0x5a));
	assert_true(all_bytes(place_mem + 4 * MIG_PAGE_SIZE, 5 * MIG_PAGE_SIZE, 0x5a));
	assert_true(all_bytes(place_mem + 10 * MIG_PAGE_SIZE, 6 * MIG_PAGE_SIZE, 0x5a));
	close(fd);
	free(s);
}

/* Frames are checked before a page is read; a damaged page fails the checksum; a cut is a truncation. */
static void test_placed_pages_are_refused_naming_the_record(void **state)
{
	uint8_t *s;
	size_t n = sample(&s, false), pages = MIG_HEADER_SIZE + MIG_REC_HEADER_SIZE + sizeof(struct mig_domain);
	struct errbuf eb;
	int fd;

	(void)state;
	/* frame 9 is past a domain of 8 pages: refused, and no page written */
	fd = memfd_with(s, n);
	assert_int_equal(read_placed_from(fd, 8, NULL, &eb), -EPROTO);
	assert_non_null(strstr(eb.msg, "record 1 (PAGES) at byte 144: frame 1 is 0x9 (past the domain's memory)"));
	assert_true(all_bytes(place_mem, sizeof(place_mem), 0x5a));
	close(fd);
	/* a flipped byte in the second page: the checksum, counted over the pages in place */
	s[pages + MIG_REC_HEADER_SIZE + 8 + 16 + MIG_PAGE_SIZE + 7] ^= 0xff;
	fd = memfd_with(s, n);
	assert_int_equal(read_placed_from(fd, 16, NULL, &eb), -EPROTO);
	assert_non_null(strstr(eb.msg, "record 1 (PAGES) at byte 144: checksum"));
	close(fd);
	/* the stream cut in the middle of the first page */
	fd = memfd_with(s, pages + MIG_REC_HEADER_SIZE + 8 + 16 + 100);
	assert_int_equal(read_placed_from(fd, 16, NULL, &eb), -EPIPE);
	assert_non_null(strstr(eb.msg, "truncated at byte"));
	assert_non_null(strstr(eb.msg, "record 1 (PAGES)'s body"));
	close(fd);
	free(s);
}

/* From a socket that delivers the stream in odd-sized pieces, readv's short reads put every byte in place. */
static void test_placed_pages_survive_short_reads(void **state)
{
	uint8_t *s;
	size_t n = sample(&s, true);
	struct mig_record rec = { .placed = false };
	struct errbuf eb;
	int sv[2];
	pid_t pid;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		for (size_t at = 0; at < n; at += 777) {
			size_t len = n - at < 777 ? n - at : 777;

			if (write(sv[1], s + at, len) != (ssize_t)len)
				_exit(1);
			usleep(200); /* the reader sees each piece on its own */
		}
		_exit(0);
	}
	close(sv[1]);
	assert_int_equal(read_placed_from(sv[0], 16, &rec, &eb), 0);
	assert_true(rec.placed);
	assert_memory_equal(place_mem + 3 * MIG_PAGE_SIZE, page_a, MIG_PAGE_SIZE);
	assert_memory_equal(place_mem + 9 * MIG_PAGE_SIZE, page_b, MIG_PAGE_SIZE);
	assert_true(all_bytes(place_mem + 4 * MIG_PAGE_SIZE, 5 * MIG_PAGE_SIZE, 0x5a));
	close(sv[0]);
	waitpid(pid, NULL, 0);
	free(s);
}

static void test_end_must_be_empty(void **state)
{
	struct mig_writer w;
	struct mig_reader r;
	struct mig_record rec;
	struct errbuf eb;
	int fd = memfd_create("end", 0);

	(void)state;
	assert_int_equal(mig_writer_start(&w, fd, &eb), 0);
	assert_int_equal(mig_write_record(&w, MIG_REC_END, (const void *[]){ "12345678" }, (size_t[]){ 8 }, 1, &eb), 0);
	lseek(fd, 0, SEEK_SET);
	assert_int_equal(mig_reader_open_fd(&r, fd, &eb), 0);
	assert_int_equal(mig_next(&r, &rec, &eb), -EPROTO);
	assert_non_null(strstr(eb.msg, "record 0 (END) at byte 32 has a 8-byte body, it must be empty"));
	mig_reader_close(&r);
	close(fd);
}

static void test_truncated_foreign_and_other_versions_are_refused(void **state)
{
	uint8_t *s;
	size_t n = sample(&s, false);
	struct mig_reader r;
	struct mig_record rec;
	struct errbuf eb;
	uint32_t v;
	int e;

	(void)state;
	/* cut in the middle of the PAGES body */
	assert_int_equal(mig_reader_open_mem(&r, s, 2000, &eb), 0);
	while ((e = mig_next(&r, &rec, &eb)) == 1)
		;
	assert_int_equal(e, -EPIPE);
	assert_non_null(strstr(eb.msg, "truncated at byte"));
	assert_non_null(strstr(eb.msg, "record 1 (PAGES)'s body"));
	/* no END: the stream stops after a whole record */
	assert_int_equal(mig_reader_open_mem(&r, s, n - 16, &eb), 0);
	while ((e = mig_next(&r, &rec, &eb)) == 1)
		;
	assert_int_equal(e, -EPIPE);
	assert_non_null(strstr(eb.msg, "record 3's header"));
	/* foreign */
	assert_int_equal(mig_reader_open_mem(&r, "\177ELF\2\1\1\0 and so on, long enough....", 40, &eb), -EPROTO);
	assert_non_null(strstr(eb.msg, "not a Xenith stream"));
	assert_int_equal(mig_reader_open_mem(&r, s, 10, &eb), -EPIPE);
	/* older and newer versions, both named */
	v = 0;
	assert_int_equal(first_error(s, n, 8, &v, 4, &eb), -EPROTO);
	assert_string_equal(eb.msg, "stream version 0 is older than this Xenith's 1, which reads version 1 only");
	v = 2;
	assert_int_equal(first_error(s, n, 8, &v, 4, &eb), -EPROTO);
	assert_non_null(strstr(eb.msg, "stream version 2 is newer than this Xenith's 1"));
	/* the other byte order */
	v = 0x04030201;
	assert_int_equal(first_error(s, n, 12, &v, 4, &eb), -EPROTO);
	assert_non_null(strstr(eb.msg, "other byte order"));
	free(s);
}

static void test_typed_bodies_are_checked(void **state)
{
	struct mig_domain d = { .nr_vcpus = 1, .mem_size = MIG_PAGE_SIZE };
	struct mig_record rec = { .type = MIG_REC_DOMAIN, .length = sizeof(d), .body = (const uint8_t *)&d };
	uint8_t body[sizeof(struct mig_pages_hdr) + 2 * (8 + MIG_PAGE_SIZE)];
	struct mig_pages_hdr ph = { .count = 2 };
	uint64_t pfns[MIG_PAGES_MAX], in[2];
	const uint8_t *data;
	uint32_t count;
	struct mig_domain out;
	struct errbuf eb;

	(void)state;
	memset(d.name, 'x', sizeof(d.name));
	assert_int_equal(mig_parse_domain(&rec, 64, &out, &eb), -EPROTO);
	assert_non_null(strstr(eb.msg, "not NUL-terminated"));
	d.name[0] = 0;
	d.nr_vcpus = 65;
	assert_int_equal(mig_parse_domain(&rec, 64, &out, &eb), -EPROTO);
	assert_non_null(strstr(eb.msg, "65 vCPUs (1 to 64)"));
	d.nr_vcpus = 1;
	d.mem_size = 100;
	assert_int_equal(mig_parse_domain(&rec, 64, &out, &eb), -EPROTO);
	d.mem_size = MIG_PAGE_SIZE;
	assert_int_equal(mig_parse_domain(&rec, 64, &out, &eb), -EPROTO);
	assert_non_null(strstr(eb.msg, "domain id 0 (a guest's is 1 to 32751)"));
	d.domid = 0x7ff0;
	assert_int_equal(mig_parse_domain(&rec, 64, &out, &eb), -EPROTO);
	d.domid = 0x7fef;
	assert_int_equal(mig_parse_domain(&rec, 64, &out, &eb), 0);

	rec = (struct mig_record){ .type = MIG_REC_PAGES, .length = sizeof(body), .body = body };
	memset(body, 0, sizeof(body));
	memcpy(body, &ph, sizeof(ph));
	in[0] = 5, in[1] = 5; /* repeated */
	memcpy(body + sizeof(ph), in, sizeof(in));
	assert_int_equal(mig_parse_pages(&rec, 16, &count, pfns, &data, &eb), -EPROTO);
	assert_non_null(strstr(eb.msg, "frame 1 is 0x5 (not above the one before)"));
	in[1] = 16; /* past memory */
	memcpy(body + sizeof(ph), in, sizeof(in));
	assert_int_equal(mig_parse_pages(&rec, 16, &count, pfns, &data, &eb), -EPROTO);
	assert_non_null(strstr(eb.msg, "past the domain's memory"));
	in[1] = 15;
	memcpy(body + sizeof(ph), in, sizeof(in));
	assert_int_equal(mig_parse_pages(&rec, 16, &count, pfns, &data, &eb), 0);
	assert_int_equal(count, 2);
	assert_ptr_equal(data, body + sizeof(ph) + 16);
	rec.length--; /* a byte short */
	assert_int_equal(mig_parse_pages(&rec, 16, &count, pfns, &data, &eb), -EPROTO);
}

static void test_crc32c_is_castagnoli(void **state)
{
	(void)state;
	/* the check value of CRC-32C (RFC 3720's polynomial) */
	assert_int_equal(mig_crc32c(0, "123456789", 9), 0xe3069283u);
	assert_int_equal(mig_crc32c(mig_crc32c(0, "1234", 4), "56789", 5), 0xe3069283u);
	assert_int_equal(mig_crc32c_sw(0, "123456789", 9), 0xe3069283u);
	/* both ways agree at every alignment and length around the 8-byte steps */
	{
		uint8_t buf[300];

		for (unsigned i = 0; i < sizeof(buf); i++)
			buf[i] = (uint8_t)(i * 37 + 11);
		for (unsigned off = 0; off < 9; off++)
			for (unsigned len = 0; len + off <= sizeof(buf); len += 7)
				assert_int_equal(mig_crc32c(5, buf + off, len), mig_crc32c_sw(5, buf + off, len));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_stream_reads_back_from_fd_and_memory),
		cmocka_unit_test(test_damage_is_refused_naming_the_record),
		cmocka_unit_test(test_placed_pages_land_at_their_frames_and_nowhere_else),
		cmocka_unit_test(test_placed_pages_are_refused_naming_the_record),
		cmocka_unit_test(test_placed_pages_survive_short_reads),
		cmocka_unit_test(test_end_must_be_empty),
		cmocka_unit_test(test_truncated_foreign_and_other_versions_are_refused),
		cmocka_unit_test(test_typed_bodies_are_checked),
		cmocka_unit_test(test_crc32c_is_castagnoli),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
