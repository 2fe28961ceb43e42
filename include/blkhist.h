/* SPDX-License-Identifier: MIT */
/*
 * Completion-latency histograms and fio-shaped results of a block load
 * (and the generator of its random offsets),
 * shared by every program that prints a "blk-json:" line: minios's `blk`
 * (on blkfront or, through nvme/job.c, on a passed-through NVMe function)
 * and the NVMe load run natively over VFIO (iommu/tests/vfio-nvme-io).
 * Freestanding: stdint only.
 *
 * The histogram has 16 linear steps per power of two of nanoseconds; a
 * percentile is its bucket's middle (at most 1/32 off).
 */
#ifndef XENITH_BLKHIST_H
#define XENITH_BLKHIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BLK_NBUCKETS 1024u

struct blk_dir_stats {
	uint64_t ios, bytes, lat_sum;
};

static inline unsigned blk_bucket_of(uint64_t ns)
{
	unsigned msb, b;

	if (ns < 16)
		return (unsigned)ns;
	msb = 63u - (unsigned)__builtin_clzll(ns);
	b = (msb - 3) * 16 + (unsigned)((ns >> (msb - 4)) & 15);
	return b < BLK_NBUCKETS ? b : BLK_NBUCKETS - 1;
}

static inline uint64_t blk_bucket_value(unsigned b)
{
	unsigned msb, sub;

	if (b < 16)
		return b;
	msb = b / 16 + 3;
	sub = b % 16;
	return ((16ull + sub) << (msb - 4)) + ((1ull << (msb - 4)) >> 1); /* the bucket's middle */
}

static inline uint64_t blk_percentile(const uint32_t *h, uint64_t count, unsigned per_mille)
{
	uint64_t want = (count * per_mille + 999) / 1000, seen = 0;

	if (!count)
		return 0;
	for (unsigned b = 0; b < BLK_NBUCKETS; b++) {
		seen += h[b];
		if (seen >= want)
			return blk_bucket_value(b);
	}
	return blk_bucket_value(BLK_NBUCKETS - 1);
}

/* One direction's figures over ns of run time, in fio's units (bw in KiB/s). */
struct blk_dir_summary {
	unsigned long long bytes, ios, iops, bw, mean, p50, p99, p999;
};

static inline struct blk_dir_summary blk_summarize(const struct blk_dir_stats *st, const uint32_t *h, uint64_t ns)
{
	return (struct blk_dir_summary){
		.bytes = st->bytes,
		.ios = st->ios,
		.iops = ns ? st->ios * 1000000000ull / ns : 0,
		.bw = ns ? st->bytes * 1000000000ull / ns / 1024 : 0,
		.mean = st->ios ? st->lat_sum / st->ios : 0,
		.p50 = blk_percentile(h, st->ios, 500),
		.p99 = blk_percentile(h, st->ios, 990),
		.p999 = blk_percentile(h, st->ios, 999),
	};
}

/* The loads' random offsets and read/write mix: xorshift64. */
static inline uint64_t blk_xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * rw= as fio names it: read, write, randread, randwrite or randrw into
 * random or sequential, reads, writes (both: half and half); false for
 * anything else.  The guest's blk and the native NVMe runner read it alike.
 */
static inline bool blk_rw_mode(const char *rw, bool *rnd, bool *rd, bool *wr)
{
	static const struct { char name[10]; bool rnd, rd, wr; } modes[] = {
		{ "read", false, true, false },     { "write", false, false, true },
		{ "randread", true, true, false },  { "randwrite", true, false, true },
		{ "randrw", true, true, true },
	};

	for (unsigned i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		unsigned k = 0;

		while (modes[i].name[k] && modes[i].name[k] == rw[k])
			k++;
		if (!modes[i].name[k] && !rw[k]) {
			*rnd = modes[i].rnd;
			*rd = modes[i].rd;
			*wr = modes[i].wr;
			return true;
		}
	}
	*rnd = *rd = *wr = false;
	return false;
}

/*
 * A number as blk's options take it: decimal digits, then at most one k or
 * m (KiB, MiB; either case), and nothing else in s[0..len); false for
 * anything else or a value past 2^64 - 1.
 */
static inline bool blk_parse_count(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;
	unsigned shift = 0;

	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (i == 0)
		return false;
	if (i + 1 == len && (s[i] == 'k' || s[i] == 'K'))
		shift = 10;
	else if (i + 1 == len && (s[i] == 'm' || s[i] == 'M'))
		shift = 20;
	else if (i != len)
		return false;
	if (shift && v > UINT64_MAX >> shift)
		return false;
	*out = v << shift;
	return true;
}

/* printf(BLK_DIR_JSON, BLK_DIR_JSON_ARGS("read", summary)): fio's field names. */
#define BLK_DIR_JSON                                                                                   \
	"\"%s\":{\"io_bytes\":%llu,\"total_ios\":%llu,\"iops\":%llu,\"bw\":%llu,\"clat_ns\":{\"mean\":%llu," \
	"\"percentile\":{\"50.000000\":%llu,\"99.000000\":%llu,\"99.900000\":%llu}}}"
#define BLK_DIR_JSON_ARGS(name, s) (name), (s).bytes, (s).ios, (s).iops, (s).bw, (s).mean, (s).p50, (s).p99, (s).p999

#endif
