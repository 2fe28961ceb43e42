// SPDX-License-Identifier: MIT
/*
 * unit: KVM's binary statistics (xenoprof/kvmstats.c) on files written into
 * a memfd in the kernel's layout: a header, the id, descriptors of 16 bytes
 * each followed by a name of name_size bytes, the data block of u64 values.
 * The statistics a vCPU of the 6.18 kernel has (a cumulative count, a time
 * in nanoseconds, a boolean, a peak, a log histogram) plus a linear
 * histogram; their values read back and the histograms summed; the blocks
 * in another order than the kernel's; a kind of statistic this reader does
 * not know, left out; and every malformed file refused with its message.
 * xenoprof/tests/test_kvmstats_kvm.c reads the real kernel's.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "kvmstats.h"

#define HDR 24u
#define DESC 16u  /* struct kvm_stats_desc without its name */
#define MAX_DESCS 8
#define MAX_DATA 128

#define CUMULATIVE KVM_STATS_TYPE_CUMULATIVE
#define INSTANT KVM_STATS_TYPE_INSTANT
#define PEAK KVM_STATS_TYPE_PEAK
#define LINHIST KVM_STATS_TYPE_LINEAR_HIST
#define LOGHIST KVM_STATS_TYPE_LOG_HIST

struct fdesc {
	uint32_t flags;
	int16_t exponent;
	uint16_t size;
	uint32_t offset;
	uint32_t bucket_size;
	const char *name; /* written as its first name_size bytes, the rest zeroes */
};

/* A stats file as the test writes it. */
struct file {
	uint32_t name_size, num_desc, id_offset, desc_offset, data_offset;
	const char *id;
	unsigned ndesc;           /* descriptors written (num_desc is what the header says) */
	struct fdesc desc[MAX_DESCS];
	unsigned ndata;           /* u64 values written at data_offset */
	uint64_t data[MAX_DATA];
	off_t truncate_to;        /* > 0: the file is cut to this length after writing */
};

/*
 * A vCPU's kind of file, laid out as the kernel does (name_size 48, the id
 * after the header, the descriptors, then the data), with values whose
 * offsets are not in the descriptors' order.
 */
static void vcpu_file(struct file *f)
{
	static const struct fdesc d[] = {
		{ CUMULATIVE, 0, 1, 8, 0, "exits" },
		{ CUMULATIVE, 0, 1, 0, 0, "halt_exits" },
		{ CUMULATIVE | KVM_STATS_UNIT_SECONDS, -9, 1, 16, 0, "halt_wait_ns" },
		{ INSTANT | KVM_STATS_UNIT_BOOLEAN, 0, 1, 24, 0, "blocking" },
		{ PEAK, 0, 1, 32, 0, "max_mmu_rmap_size" },
		{ LOGHIST | KVM_STATS_UNIT_SECONDS, -9, 4, 40, 0, "halt_wait_hist" },
		{ LINHIST | KVM_STATS_UNIT_BYTES | KVM_STATS_BASE_POW2, 10, 3, 72, 16, "ring_fill_hist" },
	};
	static const uint64_t v[] = { 7, 1234, 5000000, 1, 99, 1, 2, 3, 4, 10, 20, 30 };

	memset(f, 0, sizeof(*f));
	f->name_size = 48;
	f->ndesc = f->num_desc = sizeof(d) / sizeof(d[0]);
	memcpy(f->desc, d, sizeof(d));
	f->id = "kvm-4242/vcpu-0";
	f->id_offset = HDR;
	f->desc_offset = HDR + f->name_size;
	f->data_offset = f->desc_offset + f->num_desc * (DESC + f->name_size);
	f->ndata = sizeof(v) / sizeof(v[0]);
	memcpy(f->data, v, sizeof(v));
}

static void put(int fd, const void *p, size_t len, uint64_t off)
{
	assert_int_equal(pwrite(fd, p, len, (off_t)off), (ssize_t)len);
}

/*
 * Writes f into a new memfd: the kernel's file as pread sees it.  For the
 * files whose blocks overlap: the data first, then the id and descriptors
 * over it, and the header last.
 */
static int write_file(const struct file *f)
{
	struct kvm_stats_header h = {
		.flags = 0,
		.name_size = f->name_size,
		.num_desc = f->num_desc,
		.id_offset = f->id_offset,
		.desc_offset = f->desc_offset,
		.data_offset = f->data_offset,
	};
	char name[512];
	size_t name_len = f->name_size < sizeof(name) ? f->name_size : sizeof(name);
	int fd = memfd_create("kvmstats", MFD_CLOEXEC);

	assert_true(fd >= 0);
	if (f->ndata)
		put(fd, f->data, f->ndata * sizeof(f->data[0]), f->data_offset);
	memset(name, 0, sizeof(name));
	memcpy(name, f->id, strnlen(f->id, name_len));
	put(fd, name, name_len, f->id_offset);
	for (unsigned i = 0; i < f->ndesc; i++) {
		const struct fdesc *d = &f->desc[i];
		struct kvm_stats_desc kd = {
			.flags = d->flags,
			.exponent = d->exponent,
			.size = d->size,
			.offset = d->offset,
			.bucket_size = d->bucket_size,
		};
		uint64_t at = f->desc_offset + (uint64_t)i * (DESC + f->name_size);

		memset(name, 0, sizeof(name));
		memcpy(name, d->name, strnlen(d->name, name_len));
		put(fd, &kd, DESC, at);
		put(fd, name, name_len, at + DESC);
	}
	put(fd, &h, sizeof(h), 0);
	if (f->truncate_to > 0)
		assert_int_equal(ftruncate(fd, f->truncate_to), 0);
	return fd;
}

static struct kvmstats *opened(const struct file *f, int *fd)
{
	struct kvmstats *s = NULL;
	struct errbuf eb = { "" };
	int r;

	*fd = write_file(f);
	r = kvmstats_open(*fd, &s, &eb);
	if (r < 0)
		fail_msg("kvmstats_open: %s", eb.msg);
	assert_non_null(s);
	return s;
}

/* kvmstats_open refuses f with -err and exactly the message msg. */
static void refused(const struct file *f, int err, const char *msg)
{
	struct kvmstats *s = (struct kvmstats *)&s; /* not NULL: it must be set to NULL */
	struct errbuf eb = { "" };
	int fd = write_file(f);

	assert_int_equal(kvmstats_open(fd, &s, &eb), -err);
	assert_null(s);
	assert_string_equal(eb.msg, msg);
	close(fd);
}

static void test_open_gives_names_types_units_and_exponents(void **state)
{
	static const struct {
		const char *name, *type, *unit;
		unsigned base;
		int exponent;
		bool cumulative, histogram;
		unsigned buckets;
	} want[] = {
		{ "exits", "cumulative", "", 10, 0, true, false, 0 },
		{ "halt_exits", "cumulative", "", 10, 0, true, false, 0 },
		{ "halt_wait_ns", "cumulative", "seconds", 10, -9, true, false, 0 },
		{ "blocking", "instant", "boolean", 10, 0, false, false, 0 },
		{ "max_mmu_rmap_size", "peak", "", 10, 0, false, false, 0 },
		{ "halt_wait_hist", "log-hist", "seconds", 10, -9, false, true, 4 },
		{ "ring_fill_hist", "linear-hist", "bytes", 2, 10, false, true, 3 },
	};
	struct file f;
	struct kvmstats *s;
	int fd;

	(void)state;
	vcpu_file(&f);
	s = opened(&f, &fd);
	assert_string_equal(kvmstats_id(s), "kvm-4242/vcpu-0");
	assert_int_equal(kvmstats_count(s), sizeof(want) / sizeof(want[0]));
	for (unsigned i = 0; i < kvmstats_count(s); i++) {
		assert_string_equal(kvmstats_name(s, i), want[i].name);
		assert_string_equal(kvmstats_type(s, i), want[i].type);
		assert_string_equal(kvmstats_unit(s, i), want[i].unit);
		assert_int_equal(kvmstats_base(s, i), want[i].base);
		assert_int_equal(kvmstats_exponent(s, i), want[i].exponent);
		assert_int_equal(kvmstats_is_cumulative(s, i), want[i].cumulative);
		assert_int_equal(kvmstats_is_histogram(s, i), want[i].histogram);
		assert_int_equal(kvmstats_buckets(s, i), want[i].buckets);
	}
	/* past the last one: nothing, not someone else's memory */
	assert_null(kvmstats_name(s, kvmstats_count(s)));
	assert_null(kvmstats_type(s, kvmstats_count(s)));
	assert_false(kvmstats_is_histogram(s, kvmstats_count(s)));
	kvmstats_close(s);
	close(fd);
}

static void test_read_gives_each_value_and_sums_histogram_buckets(void **state)
{
	struct file f;
	struct kvmstats *s;
	struct errbuf eb = { "" };
	uint64_t v[MAX_DESCS], more[] = { 8, 1240 };
	int fd;

	(void)state;
	vcpu_file(&f);
	s = opened(&f, &fd);
	memset(v, 0xaa, sizeof(v));
	assert_int_equal(kvmstats_read(s, v, &eb), 0);
	assert_int_equal(v[0], 1234);    /* exits: offset 8 */
	assert_int_equal(v[1], 7);       /* halt_exits: offset 0 */
	assert_int_equal(v[2], 5000000);
	assert_int_equal(v[3], 1);
	assert_int_equal(v[4], 99);
	assert_int_equal(v[5], 1 + 2 + 3 + 4);
	assert_int_equal(v[6], 10 + 20 + 30);
	assert_int_equal(v[7], 0xaaaaaaaaaaaaaaaaull); /* nothing past count */

	/* each read is the file now */
	put(fd, more, sizeof(more), f.data_offset);
	assert_int_equal(kvmstats_read(s, v, &eb), 0);
	assert_int_equal(v[0], 1240);
	assert_int_equal(v[1], 8);
	kvmstats_close(s);
	close(fd);
}

static void test_histogram_sum_saturates_instead_of_wrapping(void **state)
{
	struct file f;
	struct kvmstats *s;
	struct errbuf eb = { "" };
	uint64_t v[MAX_DESCS];
	int fd;

	(void)state;
	vcpu_file(&f);
	f.data[5] = UINT64_MAX - 1;      /* halt_wait_hist: UINT64_MAX - 1 + 2 + 3 + 4 */
	s = opened(&f, &fd);
	assert_int_equal(kvmstats_read(s, v, &eb), 0);
	assert_true(v[5] == UINT64_MAX);
	kvmstats_close(s);
	close(fd);
}

static void test_find_gives_the_index_or_minus_1(void **state)
{
	struct file f;
	struct kvmstats *s;
	int fd;

	(void)state;
	vcpu_file(&f);
	s = opened(&f, &fd);
	assert_int_equal(kvmstats_find(s, "exits"), 0);
	assert_int_equal(kvmstats_find(s, "halt_exits"), 1);
	assert_int_equal(kvmstats_find(s, "ring_fill_hist"), 6);
	assert_int_equal(kvmstats_find(s, "halt"), -1);
	assert_int_equal(kvmstats_find(s, "exits "), -1);
	assert_int_equal(kvmstats_find(s, ""), -1);
	kvmstats_close(s);
	close(fd);
}

/* The blocks need not follow each other, nor come in the kernel's order. */
static void test_blocks_in_another_order_with_gaps_are_read(void **state)
{
	struct file f;
	struct kvmstats *s;
	struct errbuf eb = { "" };
	uint64_t v[MAX_DESCS];
	int fd;

	(void)state;
	vcpu_file(&f);
	f.name_size = 20;                         /* descriptors of 36 bytes: not 8-aligned in the block */
	f.data_offset = 64;                       /* data (96 bytes) first, ... */
	f.desc_offset = 1000;                     /* ... a gap, then the descriptors, ... */
	f.id_offset = 2000;                       /* ... and the id last */
	s = opened(&f, &fd);
	assert_int_equal(kvmstats_count(s), 7);
	assert_string_equal(kvmstats_name(s, 6), "ring_fill_hist");
	assert_string_equal(kvmstats_id(s), "kvm-4242/vcpu-0");
	assert_int_equal(kvmstats_read(s, v, &eb), 0);
	assert_int_equal(v[0], 1234);
	assert_int_equal(v[6], 60);
	kvmstats_close(s);
	close(fd);
}

/* A type, unit or base this reader does not know (a newer kernel's): left out, the rest kept. */
static void test_unknown_kind_of_statistic_is_left_out(void **state)
{
	struct file f;
	struct kvmstats *s;
	struct errbuf eb = { "" };
	uint64_t v[MAX_DESCS];
	int fd;

	(void)state;
	vcpu_file(&f);
	f.desc[0].flags = KVM_STATS_TYPE_MAX + 1;          /* exits */
	f.desc[0].size = 5;                                /* its size is not judged */
	f.desc[2].flags = KVM_STATS_UNIT_MAX + (1 << KVM_STATS_UNIT_SHIFT);  /* halt_wait_ns */
	f.desc[4].flags = KVM_STATS_BASE_MAX + (1 << KVM_STATS_BASE_SHIFT);  /* max_mmu_rmap_size */
	s = opened(&f, &fd);
	assert_int_equal(kvmstats_count(s), 4);
	assert_int_equal(kvmstats_find(s, "exits"), -1);
	assert_int_equal(kvmstats_find(s, "halt_wait_ns"), -1);
	assert_int_equal(kvmstats_find(s, "max_mmu_rmap_size"), -1);
	assert_int_equal(kvmstats_find(s, "halt_exits"), 0);
	assert_int_equal(kvmstats_find(s, "ring_fill_hist"), 3);
	assert_int_equal(kvmstats_read(s, v, &eb), 0);
	assert_int_equal(v[0], 7);
	assert_int_equal(v[1], 1);
	assert_int_equal(v[2], 10);
	assert_int_equal(v[3], 60);
	kvmstats_close(s);
	close(fd);

	/* but its values must still be inside the data block */
	vcpu_file(&f);
	f.desc[0].flags = KVM_STATS_TYPE_MAX + 1;
	f.desc[0].offset = 4096;
	refused(&f, EINVAL, "KVM stats: descriptor 0 ('exits') lies past the data block "
		"(offset 4096 + 8 > 96)");
}

static void test_no_statistics_is_an_empty_set(void **state)
{
	struct file f;
	struct kvmstats *s;
	struct errbuf eb = { "" };
	uint64_t v[1] = { 42 };
	int fd;

	(void)state;
	vcpu_file(&f);
	f.ndesc = f.num_desc = 0;
	f.ndata = 0;
	s = opened(&f, &fd);
	assert_int_equal(kvmstats_count(s), 0);
	assert_int_equal(kvmstats_find(s, "exits"), -1);
	assert_int_equal(kvmstats_read(s, v, &eb), 0);
	assert_int_equal(v[0], 42);
	kvmstats_close(s);
	close(fd);
}

static void test_open_refuses_a_bad_name_size(void **state)
{
	struct file f;

	(void)state;
	vcpu_file(&f);
	f.name_size = 0;
	refused(&f, EINVAL, "KVM stats: name size 0 is not in 1..256");
	vcpu_file(&f);
	f.name_size = 257;
	refused(&f, EINVAL, "KVM stats: name size 257 is not in 1..256");
	vcpu_file(&f);
	f.name_size = UINT32_MAX;
	f.ndesc = 0; /* a header is all it takes */
	refused(&f, EINVAL, "KVM stats: name size 4294967295 is not in 1..256");
}

static void test_open_refuses_a_name_without_its_nul(void **state)
{
	struct file f;

	(void)state;
	vcpu_file(&f);
	f.name_size = 16;
	f.id = "vcpu-0";
	f.desc_offset = HDR + 16;
	f.data_offset = f.desc_offset + f.num_desc * (DESC + 16);
	f.desc[4].name = "max_mmu_rmap_size"; /* 17 bytes: cut to 16, no NUL */
	refused(&f, EINVAL, "KVM stats: descriptor 4's name ('max_mmu_rmap_siz') is not "
		"NUL-terminated within its 16 bytes");
	f.desc[4].name = "max_mmu_rmap_si"; /* 15 bytes and its NUL: fine */
	f.desc[1].name = "halt_exits\x01\x02\x03\x04\x05\x06";
	refused(&f, EINVAL, "KVM stats: descriptor 1's name ('halt_exits??????" /* no trigraph */ "') is not "
		"NUL-terminated within its 16 bytes");

	vcpu_file(&f);
	f.desc[3].name = "";
	refused(&f, EINVAL, "KVM stats: descriptor 3 has an empty name");

	vcpu_file(&f);
	f.id = "kvm-4242/vcpu-0/and-then-some-more-text-past-48-bytes";
	refused(&f, EINVAL, "KVM stats: the id string is not NUL-terminated within its 48 bytes");
}

static void test_open_refuses_too_many_descriptors(void **state)
{
	struct file f;

	(void)state;
	vcpu_file(&f);
	f.num_desc = KVMSTATS_MAX_DESC + 1;
	refused(&f, EINVAL, "KVM stats: 4097 descriptors, more than the 4096 this reader takes");
	f.num_desc = UINT32_MAX;
	refused(&f, EINVAL, "KVM stats: 4294967295 descriptors, more than the 4096 this reader takes");
	/* 4096 of 272 bytes each: the arithmetic stays in range and the file is simply short */
	f.num_desc = KVMSTATS_MAX_DESC;
	f.name_size = KVMSTATS_MAX_NAME;
	f.desc_offset = HDR + KVMSTATS_MAX_NAME;
	f.data_offset = UINT32_MAX - 7;
	f.ndesc = 1;
	f.ndata = 0;
	refused(&f, EINVAL, "KVM stats: descriptor 1 lies past the end of the file (the file ends "
		"272 bytes into the block of 4096 descriptors of 272 bytes at 280)");
}

static void test_open_refuses_descriptors_past_the_end_of_the_file(void **state)
{
	struct file f;

	(void)state;
	/* the header says 9, the file ends after 7 */
	vcpu_file(&f);
	f.num_desc = 9;
	f.data_offset = f.desc_offset + 9 * 64;
	f.ndata = 0;
	refused(&f, EINVAL, "KVM stats: descriptor 7 lies past the end of the file (the file ends "
		"448 bytes into the block of 9 descriptors of 64 bytes at 72)");
	/* the descriptors far away (and not written there) */
	vcpu_file(&f);
	f.desc_offset = UINT32_MAX - 100;
	f.ndesc = 0;
	refused(&f, EINVAL, "KVM stats: descriptor 0 lies past the end of the file (the file ends "
		"0 bytes into the block of 7 descriptors of 64 bytes at 4294967195)");
}

static void test_open_refuses_values_past_the_data_block(void **state)
{
	struct file f;

	(void)state;
	/* 512 bytes of data after data_offset; halt_exits wants the u64 at 4096 */
	vcpu_file(&f);
	f.ndata = 64;
	f.desc[1].offset = 4096;
	refused(&f, EINVAL, "KVM stats: descriptor 1 ('halt_exits') lies past the data block "
		"(offset 4096 + 8 > 512)");
	/* a histogram whose last bucket is past the end */
	vcpu_file(&f);
	f.ndata = 64;
	f.desc[5].offset = 480;
	f.desc[5].size = 5;
	refused(&f, EINVAL, "KVM stats: descriptor 5 ('halt_wait_hist') lies past the data block "
		"(offset 480 + 40 > 512)");
	/* the largest offset and size a descriptor can hold: no overflow */
	vcpu_file(&f);
	f.desc[5].offset = UINT32_MAX & ~7u;
	f.desc[5].size = UINT16_MAX;
	refused(&f, EINVAL, "KVM stats: descriptor 5 ('halt_wait_hist') lies past the data block "
		"(offset 4294967288 + 524280 > 96)");
	/* the data block before the descriptors ends where they start */
	vcpu_file(&f);
	f.data_offset = 64;
	f.desc_offset = 128;
	f.id_offset = 2000;
	refused(&f, EINVAL, "KVM stats: descriptor 5 ('halt_wait_hist') lies past the data block "
		"(offset 40 + 32 > 64)");
	/* and never reaches past KVMSTATS_MAX_DATA, however long the file */
	vcpu_file(&f);
	f.desc[0].offset = KVMSTATS_MAX_DATA;
	f.truncate_to = f.data_offset + 2 * KVMSTATS_MAX_DATA;
	refused(&f, EINVAL, "KVM stats: descriptor 0 ('exits') lies past the data block "
		"(offset 1048576 + 8 > 1048576)");
}

static void test_open_refuses_odd_sizes_and_offsets(void **state)
{
	struct file f;

	(void)state;
	vcpu_file(&f);
	f.desc[2].size = 0;
	refused(&f, EINVAL, "KVM stats: descriptor 2 ('halt_wait_ns') has no values (size 0)");
	vcpu_file(&f);
	f.desc[3].size = 2;
	refused(&f, EINVAL, "KVM stats: descriptor 3 ('blocking') is instant but has 2 values, not 1");
	vcpu_file(&f);
	f.desc[4].offset = 33;
	refused(&f, EINVAL, "KVM stats: descriptor 4 ('max_mmu_rmap_size') has its values at offset "
		"33 of the data block, not a multiple of 8");
}

static void test_open_refuses_overlapping_blocks(void **state)
{
	struct file f;

	(void)state;
	vcpu_file(&f);
	f.desc_offset = 16;
	refused(&f, EINVAL, "KVM stats: the descriptor block [16, 464) overlaps the header [0, 24)");
	vcpu_file(&f);
	f.id_offset = 100;
	refused(&f, EINVAL, "KVM stats: the descriptor block [72, 520) overlaps the id string [100, 148)");
	vcpu_file(&f);
	f.data_offset = 72 + 6 * 64;
	refused(&f, EINVAL, "KVM stats: the data block at 456 starts inside the descriptor block "
		"[72, 520)");
	vcpu_file(&f);
	f.data_offset = 0;
	refused(&f, EINVAL, "KVM stats: the data block at 0 starts inside the header [0, 24)");
}

static void test_open_refuses_a_truncated_file(void **state)
{
	struct file f;

	(void)state;
	vcpu_file(&f);
	f.truncate_to = 10;
	refused(&f, EINVAL, "KVM stats: the file ends inside the header (10 of 24 bytes)");
	f.truncate_to = 0;
	f.ndesc = 0;
	f.ndata = 0;
	f.id_offset = 4096; /* nothing written there: the file ends before */
	f.truncate_to = 4096 + 10;
	refused(&f, EINVAL, "KVM stats: the file ends inside the id string (10 of its 48 bytes "
		"at 4096)");
	vcpu_file(&f);
	f.truncate_to = 72 + 3 * 64 + 20;
	refused(&f, EINVAL, "KVM stats: descriptor 3 lies past the end of the file (the file ends "
		"212 bytes into the block of 7 descriptors of 64 bytes at 72)");
	/* the data block cut after 88 of its 96 bytes: the linear histogram's last bucket is gone */
	vcpu_file(&f);
	f.truncate_to = f.data_offset + 88;
	refused(&f, EINVAL, "KVM stats: descriptor 6 ('ring_fill_hist') lies past the data block "
		"(offset 72 + 24 > 88)");
}

static void test_open_of_an_empty_or_unreadable_file_says_so(void **state)
{
	struct kvmstats *s;
	struct errbuf eb = { "" };
	int fd = memfd_create("empty", MFD_CLOEXEC);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(kvmstats_open(fd, &s, &eb), -EINVAL);
	assert_null(s);
	assert_string_equal(eb.msg, "KVM stats: the file ends inside the header (0 of 24 bytes)");
	close(fd);
	fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(kvmstats_open(fd, &s, &eb), -EBADF);
	assert_string_equal(eb.msg, "KVM stats: reading the header: Bad file descriptor");
	close(fd);
}

/* A data block that shrinks after open (it cannot, for KVM's): the read says so. */
static void test_read_of_a_shrunk_data_block_fails_with_eio(void **state)
{
	struct file f;
	struct kvmstats *s;
	struct errbuf eb = { "" };
	uint64_t v[MAX_DESCS];
	int fd;

	(void)state;
	vcpu_file(&f);
	s = opened(&f, &fd);
	assert_int_equal(ftruncate(fd, f.data_offset + 40), 0);
	assert_int_equal(kvmstats_read(s, v, &eb), -EIO);
	assert_string_equal(eb.msg, "KVM stats: the data block ended after 40 of its 96 bytes (at 520)");
	kvmstats_close(s);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_gives_names_types_units_and_exponents),
		cmocka_unit_test(test_read_gives_each_value_and_sums_histogram_buckets),
		cmocka_unit_test(test_histogram_sum_saturates_instead_of_wrapping),
		cmocka_unit_test(test_find_gives_the_index_or_minus_1),
		cmocka_unit_test(test_blocks_in_another_order_with_gaps_are_read),
		cmocka_unit_test(test_unknown_kind_of_statistic_is_left_out),
		cmocka_unit_test(test_no_statistics_is_an_empty_set),
		cmocka_unit_test(test_open_refuses_a_bad_name_size),
		cmocka_unit_test(test_open_refuses_a_name_without_its_nul),
		cmocka_unit_test(test_open_refuses_too_many_descriptors),
		cmocka_unit_test(test_open_refuses_descriptors_past_the_end_of_the_file),
		cmocka_unit_test(test_open_refuses_values_past_the_data_block),
		cmocka_unit_test(test_open_refuses_odd_sizes_and_offsets),
		cmocka_unit_test(test_open_refuses_overlapping_blocks),
		cmocka_unit_test(test_open_refuses_a_truncated_file),
		cmocka_unit_test(test_open_of_an_empty_or_unreadable_file_says_so),
		cmocka_unit_test(test_read_of_a_shrunk_data_block_fails_with_eio),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
