// SPDX-License-Identifier: MIT
#include "kvmstats.h"

#include <ctype.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define FIELD(flags, what) (((flags) & KVM_STATS_##what##_MASK) >> KVM_STATS_##what##_SHIFT)

static const char *const type_names[] = {
	[KVM_STATS_TYPE_CUMULATIVE >> KVM_STATS_TYPE_SHIFT] = "cumulative",
	[KVM_STATS_TYPE_INSTANT >> KVM_STATS_TYPE_SHIFT] = "instant",
	[KVM_STATS_TYPE_PEAK >> KVM_STATS_TYPE_SHIFT] = "peak",
	[KVM_STATS_TYPE_LINEAR_HIST >> KVM_STATS_TYPE_SHIFT] = "linear-hist",
	[KVM_STATS_TYPE_LOG_HIST >> KVM_STATS_TYPE_SHIFT] = "log-hist",
};
_Static_assert(ARRAY_SIZE(type_names) == (KVM_STATS_TYPE_MAX >> KVM_STATS_TYPE_SHIFT) + 1,
	       "a name for every type <linux/kvm.h> knows");

static const char *const unit_names[] = {
	[KVM_STATS_UNIT_NONE >> KVM_STATS_UNIT_SHIFT] = "",
	[KVM_STATS_UNIT_BYTES >> KVM_STATS_UNIT_SHIFT] = "bytes",
	[KVM_STATS_UNIT_SECONDS >> KVM_STATS_UNIT_SHIFT] = "seconds",
	[KVM_STATS_UNIT_CYCLES >> KVM_STATS_UNIT_SHIFT] = "cycles",
	[KVM_STATS_UNIT_BOOLEAN >> KVM_STATS_UNIT_SHIFT] = "boolean",
};
_Static_assert(ARRAY_SIZE(unit_names) == (KVM_STATS_UNIT_MAX >> KVM_STATS_UNIT_SHIFT) + 1,
	       "a name for every unit <linux/kvm.h> knows");

static const unsigned base_values[] = {
	[KVM_STATS_BASE_POW10 >> KVM_STATS_BASE_SHIFT] = 10,
	[KVM_STATS_BASE_POW2 >> KVM_STATS_BASE_SHIFT] = 2,
};
_Static_assert(ARRAY_SIZE(base_values) == (KVM_STATS_BASE_MAX >> KVM_STATS_BASE_SHIFT) + 1,
	       "a value for every base <linux/kvm.h> knows");

/* The file's layout: a descriptor is the struct, then its name. */
_Static_assert(sizeof(struct kvm_stats_header) == 24, "kvm_stats_header layout");
_Static_assert(sizeof(struct kvm_stats_desc) == 16, "kvm_stats_desc layout (its name follows)");

/* One statistic this reader exposes. */
struct statistic {
	const char *name;  /* in kvmstats.descs, NUL-terminated (checked at open) */
	uint32_t type;     /* FIELD(flags, TYPE), a known one */
	uint32_t unit;     /* FIELD(flags, UNIT), a known one */
	uint32_t base;     /* FIELD(flags, BASE), a known one */
	int16_t exponent;
	uint16_t size;     /* values: 1, or the buckets of a histogram */
	uint32_t index;    /* of its first value in kvmstats.data */
};

struct kvmstats {
	int fd;                 /* the caller's */
	uint32_t data_offset;   /* of the data block in the file */
	size_t data_len;        /* bytes kvmstats_read() reads: up to the last descriptor's values */
	uint64_t *data;         /* data_len bytes */
	char *descs;            /* the descriptor block as read; the names point into it */
	char id[KVMSTATS_MAX_NAME];
	unsigned count;
	struct statistic stats[];    /* count of them; room for every descriptor */
};

/*
 * pread until len bytes or the end of the file: the bytes read, or -errno.
 * One pread when the file has them all (the stats fd returns what was asked).
 */
static ssize_t pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* A name from the file, fit for a message: at most 48 bytes, non-printing ones as '?'. */
static const char *shown(char buf[52], const char *name, size_t max)
{
	size_t n = 0;

	for (; n < max && n < 48 && name[n]; n++)
		buf[n] = isprint((unsigned char)name[n]) ? name[n] : '?';
	if (n == 48 && n < max && name[n]) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

static int check_header(const struct kvm_stats_header *h, struct errbuf *eb)
{
	if (h->name_size < 1 || h->name_size > KVMSTATS_MAX_NAME)
		return errbuf_set(eb, EINVAL, "KVM stats: name size %" PRIu32 " is not in 1..%u",
				  h->name_size, KVMSTATS_MAX_NAME);
	if (h->num_desc > KVMSTATS_MAX_DESC)
		return errbuf_set(eb, EINVAL, "KVM stats: %" PRIu32 " descriptors, more than the %u "
				  "this reader takes", h->num_desc, KVMSTATS_MAX_DESC);
	return 0;
}

struct region {
	const char *what;
	uint64_t start, len;
};

static bool inside(const struct region *r, uint64_t off)
{
	return off >= r->start && off - r->start < r->len;
}

/*
 * The header, the id and the descriptor block must not overlap (each is
 * less than 2 MiB long and starts below 4 GiB: no sum here overflows).
 * The data block must start outside them; it can reach up to the next of
 * them: *room.
 */
static int check_layout(const struct kvm_stats_header *h, uint64_t desc_bytes, uint64_t *room,
			struct errbuf *eb)
{
	const struct region r[] = {
		{ "header", 0, sizeof(*h) },
		{ "id string", h->id_offset, h->name_size },
		{ "descriptor block", h->desc_offset, desc_bytes },
	};

	for (size_t i = 0; i < ARRAY_SIZE(r); i++) {
		for (size_t j = i + 1; j < ARRAY_SIZE(r); j++) {
			if (!r[i].len || !r[j].len)
				continue;
			if (inside(&r[i], r[j].start) || inside(&r[j], r[i].start))
				return errbuf_set(eb, EINVAL, "KVM stats: the %s [%" PRIu64 ", %" PRIu64
						  ") overlaps the %s [%" PRIu64 ", %" PRIu64 ")",
						  r[j].what, r[j].start, r[j].start + r[j].len,
						  r[i].what, r[i].start, r[i].start + r[i].len);
		}
	}
	*room = UINT64_MAX;
	for (size_t i = 0; i < ARRAY_SIZE(r); i++) {
		if (inside(&r[i], h->data_offset))
			return errbuf_set(eb, EINVAL, "KVM stats: the data block at %" PRIu32 " starts "
					  "inside the %s [%" PRIu64 ", %" PRIu64 ")", h->data_offset,
					  r[i].what, r[i].start, r[i].start + r[i].len);
		if (r[i].len && r[i].start > h->data_offset && r[i].start - h->data_offset < *room)
			*room = r[i].start - h->data_offset;
	}
	return 0;
}

static int read_id(struct kvmstats *s, const struct kvm_stats_header *h, struct errbuf *eb)
{
	ssize_t n = pread_full(s->fd, s->id, h->name_size, h->id_offset);

	if (n < 0)
		return errbuf_set(eb, (int)-n, "KVM stats: reading the id string (%" PRIu32 " bytes "
				  "at %" PRIu32 "): %s", h->name_size, h->id_offset, strerror((int)-n));
	if ((size_t)n < h->name_size)
		return errbuf_set(eb, EINVAL, "KVM stats: the file ends inside the id string (%zd of "
				  "its %" PRIu32 " bytes at %" PRIu32 ")", n, h->name_size, h->id_offset);
	if (!memchr(s->id, '\0', h->name_size))
		return errbuf_set(eb, EINVAL, "KVM stats: the id string is not NUL-terminated within "
				  "its %" PRIu32 " bytes", h->name_size);
	return 0;
}

static int read_descs(struct kvmstats *s, const struct kvm_stats_header *h, size_t desc_size,
		      struct errbuf *eb)
{
	size_t len = (size_t)h->num_desc * desc_size;
	ssize_t n = pread_full(s->fd, s->descs, len, h->desc_offset);

	if (n < 0)
		return errbuf_set(eb, (int)-n, "KVM stats: reading %" PRIu32 " descriptors at %" PRIu32
				  ": %s", h->num_desc, h->desc_offset, strerror((int)-n));
	if ((size_t)n < len)
		return errbuf_set(eb, EINVAL, "KVM stats: descriptor %zu lies past the end of the "
				  "file (the file ends %zd bytes into the block of %" PRIu32 " descriptors "
				  "of %zu bytes at %" PRIu32 ")", (size_t)n / desc_size, n, h->num_desc,
				  desc_size, h->desc_offset);
	return 0;
}

/*
 * Checks descriptor i on its own (its name, its size, its offset's
 * alignment), adds it to s->stats when its kind is known, and returns the
 * end of its values in the data block in *end.
 */
static int parse_desc(struct kvmstats *s, const struct kvm_stats_header *h, size_t desc_size,
		      uint32_t i, uint64_t *end, struct errbuf *eb)
{
	const char *p = s->descs + (size_t)i * desc_size;
	const char *name = p + sizeof(struct kvm_stats_desc);
	struct kvm_stats_desc d;
	char buf[52];
	uint32_t type, unit, base;

	memcpy(&d, p, sizeof(d)); /* desc_size need not keep the descriptors aligned */
	if (!memchr(name, '\0', h->name_size))
		return errbuf_set(eb, EINVAL, "KVM stats: descriptor %" PRIu32 "'s name ('%s') is not "
				  "NUL-terminated within its %" PRIu32 " bytes", i,
				  shown(buf, name, h->name_size), h->name_size);
	if (!name[0])
		return errbuf_set(eb, EINVAL, "KVM stats: descriptor %" PRIu32 " has an empty name", i);
	shown(buf, name, h->name_size);
	if (d.size == 0)
		return errbuf_set(eb, EINVAL, "KVM stats: descriptor %" PRIu32 " ('%s') has no values "
				  "(size 0)", i, buf);
	if (d.offset % 8)
		return errbuf_set(eb, EINVAL, "KVM stats: descriptor %" PRIu32 " ('%s') has its values "
				  "at offset %" PRIu32 " of the data block, not a multiple of 8", i, buf,
				  d.offset);
	*end = (uint64_t)d.offset + (uint64_t)d.size * 8; /* < 2^33: no overflow */

	type = FIELD(d.flags, TYPE);
	unit = FIELD(d.flags, UNIT);
	base = FIELD(d.flags, BASE);
	if (type >= ARRAY_SIZE(type_names) || unit >= ARRAY_SIZE(unit_names) ||
	    base >= ARRAY_SIZE(base_values))
		return 0; /* a newer kernel's kind of statistic: left out, not misread */
	if (d.size != 1 && type != (KVM_STATS_TYPE_LINEAR_HIST >> KVM_STATS_TYPE_SHIFT) &&
	    type != (KVM_STATS_TYPE_LOG_HIST >> KVM_STATS_TYPE_SHIFT))
		return errbuf_set(eb, EINVAL, "KVM stats: descriptor %" PRIu32 " ('%s') is %s but has "
				  "%" PRIu16 " values, not 1", i, buf, type_names[type], d.size);
	s->stats[s->count++] = (struct statistic){
		.name = name,
		.type = type,
		.unit = unit,
		.base = base,
		.exponent = d.exponent,
		.size = d.size,
		.index = d.offset / 8,
	};
	return 0;
}

/*
 * Reads the data block once (it must hold every descriptor's values) and
 * sizes kvmstats_read() to it.  room: how far the data block can reach
 * before another block (check_layout).
 */
static int read_data(struct kvmstats *s, const struct kvm_stats_header *h, size_t desc_size,
		     uint64_t need, uint64_t room, struct errbuf *eb)
{
	uint64_t avail = need;
	ssize_t n;

	if (avail > room)
		avail = room;
	if (avail > KVMSTATS_MAX_DATA)
		avail = KVMSTATS_MAX_DATA;
	s->data = malloc(avail ? (size_t)avail : 8);
	if (!s->data)
		return errbuf_set(eb, ENOMEM, "KVM stats: out of memory for a data block of %" PRIu64
				  " bytes", avail);
	n = pread_full(s->fd, s->data, (size_t)avail, h->data_offset);
	if (n < 0)
		return errbuf_set(eb, (int)-n, "KVM stats: reading the data block (%" PRIu64 " bytes at "
				  "%" PRIu32 "): %s", avail, h->data_offset, strerror((int)-n));
	avail = (uint64_t)n;
	if (avail == need) {
		s->data_len = (size_t)need;
		return 0;
	}
	/* Name the first descriptor whose values are not there. */
	for (uint32_t i = 0; i < h->num_desc; i++) {
		const char *p = s->descs + (size_t)i * desc_size;
		struct kvm_stats_desc d;
		char buf[52];

		memcpy(&d, p, sizeof(d));
		if ((uint64_t)d.offset + (uint64_t)d.size * 8 > avail)
			return errbuf_set(eb, EINVAL, "KVM stats: descriptor %" PRIu32 " ('%s') lies past "
					  "the data block (offset %" PRIu32 " + %u > %" PRIu64 ")", i,
					  shown(buf, p + sizeof(d), h->name_size), d.offset,
					  (unsigned)d.size * 8, avail);
	}
	return errbuf_set(eb, EINVAL, "KVM stats: the data block is %" PRIu64 " bytes, not %" PRIu64,
			  avail, need); /* not reached: need is some descriptor's end */
}

int kvmstats_open(int stats_fd, struct kvmstats **out, struct errbuf *eb)
{
	struct kvm_stats_header h;
	struct kvmstats *s;
	size_t desc_size;
	uint64_t need = 0, room = 0;
	ssize_t n;
	int r;

	*out = NULL;
	n = pread_full(stats_fd, &h, sizeof(h), 0);
	if (n < 0)
		return errbuf_set(eb, (int)-n, "KVM stats: reading the header: %s", strerror((int)-n));
	if ((size_t)n < sizeof(h))
		return errbuf_set(eb, EINVAL, "KVM stats: the file ends inside the header (%zd of %zu "
				  "bytes)", n, sizeof(h));
	r = check_header(&h, eb);
	if (r < 0)
		return r;
	desc_size = sizeof(struct kvm_stats_desc) + h.name_size;
	r = check_layout(&h, (uint64_t)h.num_desc * desc_size, &room, eb);
	if (r < 0)
		return r;

	s = calloc(1, sizeof(*s) + (size_t)h.num_desc * sizeof(s->stats[0]));
	if (!s)
		return errbuf_set(eb, ENOMEM, "KVM stats: out of memory for %" PRIu32 " statistics",
				  h.num_desc);
	s->fd = stats_fd;
	s->data_offset = h.data_offset;
	s->descs = malloc(h.num_desc ? (size_t)h.num_desc * desc_size : 1);
	if (!s->descs) {
		r = errbuf_set(eb, ENOMEM, "KVM stats: out of memory for %" PRIu32 " descriptors",
			       h.num_desc);
		goto free_s;
	}
	r = read_id(s, &h, eb);
	if (r < 0)
		goto free_s;
	r = read_descs(s, &h, desc_size, eb);
	if (r < 0)
		goto free_s;
	for (uint32_t i = 0; i < h.num_desc; i++) {
		uint64_t end = 0;

		r = parse_desc(s, &h, desc_size, i, &end, eb);
		if (r < 0)
			goto free_s;
		if (end > need)
			need = end;
	}
	r = read_data(s, &h, desc_size, need, room, eb);
	if (r < 0)
		goto free_s;
	*out = s;
	return 0;

free_s:
	kvmstats_close(s);
	return r;
}

void kvmstats_close(struct kvmstats *s)
{
	if (!s)
		return;
	free(s->data);
	free(s->descs);
	free(s);
}

const char *kvmstats_id(const struct kvmstats *s)
{
	return s->id;
}

unsigned kvmstats_count(const struct kvmstats *s)
{
	return s->count;
}

/* Statistic i, or NULL when there is none such. */
static const struct statistic *stat_at(const struct kvmstats *s, unsigned i)
{
	return i < s->count ? &s->stats[i] : NULL;
}

const char *kvmstats_name(const struct kvmstats *s, unsigned i)
{
	const struct statistic *st = stat_at(s, i);

	return st ? st->name : NULL;
}

const char *kvmstats_type(const struct kvmstats *s, unsigned i)
{
	const struct statistic *st = stat_at(s, i);

	return st ? type_names[st->type] : NULL;
}

const char *kvmstats_unit(const struct kvmstats *s, unsigned i)
{
	const struct statistic *st = stat_at(s, i);

	return st ? unit_names[st->unit] : NULL;
}

unsigned kvmstats_base(const struct kvmstats *s, unsigned i)
{
	const struct statistic *st = stat_at(s, i);

	return st ? base_values[st->base] : 0;
}

int kvmstats_exponent(const struct kvmstats *s, unsigned i)
{
	const struct statistic *st = stat_at(s, i);

	return st ? st->exponent : 0;
}

bool kvmstats_is_cumulative(const struct kvmstats *s, unsigned i)
{
	const struct statistic *st = stat_at(s, i);

	return st && st->type == (KVM_STATS_TYPE_CUMULATIVE >> KVM_STATS_TYPE_SHIFT);
}

bool kvmstats_is_histogram(const struct kvmstats *s, unsigned i)
{
	const struct statistic *st = stat_at(s, i);

	return st && (st->type == (KVM_STATS_TYPE_LINEAR_HIST >> KVM_STATS_TYPE_SHIFT) ||
		      st->type == (KVM_STATS_TYPE_LOG_HIST >> KVM_STATS_TYPE_SHIFT));
}

unsigned kvmstats_buckets(const struct kvmstats *s, unsigned i)
{
	return kvmstats_is_histogram(s, i) ? s->stats[i].size : 0;
}

int kvmstats_read(struct kvmstats *s, uint64_t *values, struct errbuf *eb)
{
	ssize_t n;

	if (s->data_len) {
		n = pread_full(s->fd, s->data, s->data_len, s->data_offset);
		if (n < 0)
			return errbuf_set(eb, (int)-n, "KVM stats: reading the data block (%zu bytes at "
					  "%" PRIu32 "): %s", s->data_len, s->data_offset,
					  strerror((int)-n));
		if ((size_t)n < s->data_len)
			return errbuf_set(eb, EIO, "KVM stats: the data block ended after %zd of its %zu "
					  "bytes (at %" PRIu32 ")", n, s->data_len, s->data_offset);
	}
	for (unsigned i = 0; i < s->count; i++) {
		const struct statistic *st = &s->stats[i];
		uint64_t sum = 0;

		/* a histogram's count of events: its buckets' sum (saturating; it cannot wrap in practice) */
		for (unsigned b = 0; b < st->size; b++) {
			uint64_t v = s->data[st->index + b];

			sum = v > UINT64_MAX - sum ? UINT64_MAX : sum + v;
		}
		values[i] = sum;
	}
	return 0;
}

int kvmstats_find(const struct kvmstats *s, const char *name)
{
	for (unsigned i = 0; i < s->count; i++)
		if (!strcmp(s->stats[i].name, name))
			return (int)i;
	return -1;
}
