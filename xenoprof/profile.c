// SPDX-License-Identifier: MIT
/*
 * The profile file (profile.h): writing it through a temporary that is
 * renamed when complete, and reading it back into an index of its records.
 *
 * Both sides check a record with the same function (check_record), so the
 * writer refuses what the reader would refuse, with the same words.  The
 * reader makes two passes: the first checks every record and counts them
 * per domain, the second fills arrays of exactly that size; nothing grows
 * per record and nothing is copied but the counters (merged per vCPU).
 */
#include "profile.h"

#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "profiles are little-endian, read in place");
_Static_assert(sizeof(struct xp_rec) == 8, "record header");
_Static_assert(sizeof(struct xp_rec_domain) == 344, "domain record");
_Static_assert(sizeof(struct xp_rec_symbol) == 32, "symbol record");
_Static_assert(sizeof(struct xp_rec_sample) == 32, "sample record");
_Static_assert(sizeof(struct xp_counter) == 24, "counter");
_Static_assert(sizeof(struct xp_rec_counters) == 40, "counters record");
_Static_assert(sizeof(struct xp_rec_kvmstat) == 24, "kvmstat record");
_Static_assert(sizeof(struct xp_rec_note) == 16, "note record");
_Static_assert(sizeof(struct xp_rec_end) == 32, "end record");

/* A domain's vCPUs become arrays of the reader's: a bound against a corrupt count. */
#define MAX_VCPUS 1024u
#define THREAD_MAX 0xffffu

/* ---- checking records (the reader and the writer) ---- */

/* What the check knows of a domain declared so far, and how many records of each kind it has. */
struct dstate {
	uint32_t nr_vcpus;
	size_t symbols, samples, counters, entries, kvmstats, notes, threads;
};

struct check {
	struct dstate *doms;
	size_t nr_domains, cap;
	uint64_t samples;          /* sample records */
	size_t notes;              /* notes not about one domain */
	size_t records;            /* records seen, this one included */
};

static const char *const type_names[] = {
	[XP_REC_DOMAIN] = "domain",
	[XP_REC_SYMBOL] = "symbol",
	[XP_REC_SAMPLE] = "sample",
	[XP_REC_COUNTERS] = "counters",
	[XP_REC_KVMSTAT] = "kvmstat",
	[XP_REC_NOTE] = "note",
	[XP_REC_DOMEND] = "domain-end",
	[XP_REC_END] = "end",
};
_Static_assert(sizeof(type_names) / sizeof(type_names[0]) == XP_REC_END + 1, "a name per record type");

static const size_t fixed_size[] = {
	[XP_REC_DOMAIN] = sizeof(struct xp_rec_domain),
	[XP_REC_SYMBOL] = sizeof(struct xp_rec_symbol),
	[XP_REC_SAMPLE] = sizeof(struct xp_rec_sample),
	[XP_REC_COUNTERS] = sizeof(struct xp_rec_counters),
	[XP_REC_KVMSTAT] = sizeof(struct xp_rec_kvmstat),
	[XP_REC_NOTE] = sizeof(struct xp_rec_note),
	[XP_REC_DOMEND] = sizeof(struct xp_rec_note),
	[XP_REC_END] = sizeof(struct xp_rec_end),
};
_Static_assert(sizeof(fixed_size) / sizeof(fixed_size[0]) == XP_REC_END + 1, "a size per record type");

static const char *const where_names[] = {
	[XP_WHERE_GUEST] = "guest",
	[XP_WHERE_HV] = "hv",
	[XP_WHERE_IDLE] = "idle",
	[XP_WHERE_BACKEND] = "backend",
	[XP_WHERE_KVM] = "kvm",
};
_Static_assert(sizeof(where_names) / sizeof(where_names[0]) == XP_WHERE_NR, "a name per where");

static bool known_type(unsigned type)
{
	return type >= XP_REC_DOMAIN && type <= XP_REC_END;
}

static void check_fini(struct check *c)
{
	free(c->doms);
	memset(c, 0, sizeof(*c));
}

static int corrupt(const struct check *c, uint64_t at, struct errbuf *eb, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int corrupt(const struct check *c, uint64_t at, struct errbuf *eb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errbuf_vset(eb, EINVAL, fmt, ap);
	va_end(ap);
	return errbuf_prefix(eb, EINVAL, "corrupt record %zu at byte %llu", c->records, (unsigned long long)at);
}

/* The domain a record names, or NULL with the message. */
static struct dstate *check_dom(struct check *c, uint64_t at, unsigned type, uint32_t dom, struct errbuf *eb)
{
	if (dom < c->nr_domains)
		return &c->doms[dom];
	if (!c->nr_domains)
		corrupt(c, at, eb, "%s for domain %u, but no domain was declared before it", type_names[type], dom);
	else
		corrupt(c, at, eb, "%s for domain %u, but the file declares %zu domain%s before it", type_names[type],
			dom, c->nr_domains, c->nr_domains == 1 ? "" : "s");
	return NULL;
}

/* The string at the end of a record (from offset start) has its NUL inside the record. */
static int check_string(const struct check *c, uint64_t at, const struct xp_rec *r, size_t start, const char *what,
			struct errbuf *eb)
{
	if (r->size <= start || !memchr((const char *)r + start, 0, r->size - start))
		return corrupt(c, at, eb, "%s %s not NUL-terminated within the record's %u bytes",
			       type_names[r->type], what, r->size);
	return 0;
}

static int check_vcpu(const struct check *c, uint64_t at, unsigned type, const struct dstate *d, uint32_t dom,
		      uint32_t vcpu, struct errbuf *eb)
{
	if (vcpu < d->nr_vcpus)
		return 0;
	return corrupt(c, at, eb, "%s for vCPU %u of domain %u, which has %u vCPU%s", type_names[type], vcpu, dom,
		       d->nr_vcpus, d->nr_vcpus == 1 ? "" : "s");
}

/* "backend thread N: NAME": N, or -1 if the text is not one. */
static long thread_note(const char *text, const char **name)
{
	size_t pre = strlen(XP_THREAD_NOTE);
	long n = 0;
	const char *s;

	if (strncmp(text, XP_THREAD_NOTE, pre))
		return -1;
	s = text + pre;
	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		n = n * 10 + (*s - '0');
		if (n > THREAD_MAX)
			return -1;
	}
	if (s[0] != ':' || s[1] != ' ')
		return -1;
	*name = s + 2;
	return n;
}

static int check_domain(struct check *c, uint64_t at, const struct xp_rec_domain *d, struct errbuf *eb)
{
	struct dstate *ds;

	if (d->dom != c->nr_domains)
		return corrupt(c, at, eb, "domain record for dom %u, expected %zu "
			       "(domains are numbered in order from 0)", d->dom, c->nr_domains);
	if (!memchr(d->name, 0, sizeof(d->name)))
		return corrupt(c, at, eb, "domain %u's name not NUL-terminated within its %zu bytes", d->dom,
			       sizeof(d->name));
	if (!memchr(d->image, 0, sizeof(d->image)))
		return corrupt(c, at, eb, "domain '%s''s image path not NUL-terminated within its %zu bytes", d->name,
			       sizeof(d->image));
	if (d->nr_vcpus > MAX_VCPUS)
		return corrupt(c, at, eb, "domain '%s' declares %u vCPUs, more than the %u this reader takes", d->name,
			       d->nr_vcpus, MAX_VCPUS);
	if (c->nr_domains == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 8;
		struct dstate *n = realloc(c->doms, cap * sizeof(*n));

		if (!n)
			return errbuf_set(eb, ENOMEM, "out of memory for %zu domains", cap);
		c->doms = n;
		c->cap = cap;
	}
	ds = &c->doms[c->nr_domains++];
	memset(ds, 0, sizeof(*ds));
	ds->nr_vcpus = d->nr_vcpus;
	return 0;
}

static int check_sample(struct check *c, uint64_t at, const struct xp_rec_sample *s, struct errbuf *eb)
{
	struct dstate *d = check_dom(c, at, XP_REC_SAMPLE, s->dom, eb);
	int err;

	if (!d)
		return -EINVAL;
	if (s->where >= XP_WHERE_NR) {
		char list[64] = "";
		size_t n = 0;

		for (unsigned i = 0; i < XP_WHERE_NR && n < sizeof(list); i++)
			n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "", where_names[i]);
		return corrupt(c, at, eb, "sample where %u, not one of %s (0-%u)", s->where, list, XP_WHERE_NR - 1);
	}
	if (s->depth > XP_MAX_DEPTH)
		return corrupt(c, at, eb, "sample depth %u > %u", s->depth, XP_MAX_DEPTH);
	if (s->h.size != xp_sample_size(s->depth))
		return corrupt(c, at, eb, "sample of depth %u is %zu bytes, the record has %u", s->depth,
			       xp_sample_size(s->depth), s->h.size);
	if (!s->weight)
		return corrupt(c, at, eb, "sample weight 0 (a sample stands for at least 1)");
	if (s->where != XP_WHERE_BACKEND && (err = check_vcpu(c, at, XP_REC_SAMPLE, d, s->dom, s->vcpu, eb)))
		return err;
	d->samples++;
	c->samples++;
	return 0;
}

static int check_counters(struct check *c, uint64_t at, const struct xp_rec_counters *r, struct errbuf *eb)
{
	struct dstate *d = check_dom(c, at, XP_REC_COUNTERS, r->dom, eb);
	int err;

	if (!d)
		return -EINVAL;
	if (r->h.size != xp_counters_size(r->nr))
		return corrupt(c, at, eb, "counters record of %u entries is %zu bytes, the record has %u", r->nr,
			       xp_counters_size(r->nr), r->h.size);
	if ((err = check_vcpu(c, at, XP_REC_COUNTERS, d, r->dom, r->vcpu, eb)))
		return err;
	d->counters++;
	d->entries += r->nr;
	return 0;
}

static int check_kvmstat(struct check *c, uint64_t at, const struct xp_rec_kvmstat *k, struct errbuf *eb)
{
	struct dstate *d = check_dom(c, at, XP_REC_KVMSTAT, k->dom, eb);
	int err;

	if (!d)
		return -EINVAL;
	if (k->vcpu < -1)
		return corrupt(c, at, eb, "kvmstat for vCPU %d (-1 is the VM's)", k->vcpu);
	if (k->vcpu >= 0 && (err = check_vcpu(c, at, XP_REC_KVMSTAT, d, k->dom, (uint32_t)k->vcpu, eb)))
		return err;
	if ((err = check_string(c, at, &k->h, sizeof(*k), "name", eb)))
		return err;
	d->kvmstats++;
	return 0;
}

static int check_note(struct check *c, uint64_t at, const struct xp_rec_note *n, struct errbuf *eb)
{
	struct dstate *d = NULL;
	const char *name;
	int err;

	if (n->h.type == XP_REC_NOTE && n->dom == UINT32_MAX) {
		/* about the recording, not one domain */
	} else if (!(d = check_dom(c, at, n->h.type, n->dom, eb))) {
		return -EINVAL;
	}
	if ((err = check_string(c, at, &n->h, sizeof(*n), "text", eb)))
		return err;
	if (!d)
		c->notes++;
	else if (n->h.type == XP_REC_NOTE) {
		d->notes++;
		if (thread_note(n->text, &name) >= 0)
			d->threads++;
	}
	return 0;
}

/*
 * Checks the record r of r->size bytes (all readable, 8-aligned) at byte
 * at: its size and the fields the reports rely on.  c->records counts it.
 */
static int check_record(struct check *c, const struct xp_rec *r, uint64_t at, struct errbuf *eb)
{
	c->records++;
	if (r->size < sizeof(*r))
		return corrupt(c, at, eb, "size %u, less than the 8 bytes of a record header", r->size);
	if (r->size % 8)
		return corrupt(c, at, eb, "size %u, not a multiple of 8", r->size);
	if (!known_type(r->type))
		return 0; /* a newer writer's: skipped */
	if (r->size < fixed_size[r->type])
		return corrupt(c, at, eb, "%s record of %u bytes, shorter than its fixed part (%zu bytes)",
			       type_names[r->type], r->size, fixed_size[r->type]);
	switch (r->type) {
	case XP_REC_DOMAIN:
		return check_domain(c, at, (const struct xp_rec_domain *)r, eb);
	case XP_REC_SYMBOL: {
		const struct xp_rec_symbol *s = (const struct xp_rec_symbol *)r;
		struct dstate *d = check_dom(c, at, r->type, s->dom, eb);
		int err;

		if (!d)
			return -EINVAL;
		if ((err = check_string(c, at, r, sizeof(*s), "name", eb)))
			return err;
		d->symbols++;
		return 0;
	}
	case XP_REC_SAMPLE:
		return check_sample(c, at, (const struct xp_rec_sample *)r, eb);
	case XP_REC_COUNTERS:
		return check_counters(c, at, (const struct xp_rec_counters *)r, eb);
	case XP_REC_KVMSTAT:
		return check_kvmstat(c, at, (const struct xp_rec_kvmstat *)r, eb);
	case XP_REC_NOTE:
	case XP_REC_DOMEND:
		return check_note(c, at, (const struct xp_rec_note *)r, eb);
	default:
		return 0; /* XP_REC_END: the caller's */
	}
}

/* ---- building records ---- */

static size_t round8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

size_t xp_sample_size(unsigned depth)
{
	return depth > XP_MAX_DEPTH ? 0 : sizeof(struct xp_rec_sample) + depth * sizeof(uint64_t);
}

size_t xp_counters_size(unsigned nr)
{
	return nr > UINT16_MAX ? 0 : sizeof(struct xp_rec_counters) + nr * sizeof(struct xp_counter);
}

/* fixed (its h.type set, fsize bytes) followed by a, b and a NUL, padded with zeroes. */
static size_t put_text_rec(void *buf, size_t size, void *fixed, size_t fsize, const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t total = round8(fsize + la + lb + 1);
	struct xp_rec *h = fixed;

	if (total > size || total > UINT32_MAX || total < fsize)
		return 0;
	h->size = (uint32_t)total;
	memcpy(buf, fixed, fsize);
	memcpy((char *)buf + fsize, a, la);
	memcpy((char *)buf + fsize + la, b, lb);
	memset((char *)buf + fsize + la + lb, 0, total - fsize - la - lb);
	return total;
}

size_t xp_make_symbol(void *buf, size_t size, uint32_t dom, uint64_t addr, uint64_t len, const char *name)
{
	struct xp_rec_symbol s = { .h.type = XP_REC_SYMBOL, .dom = dom, .addr = addr, .size = len };

	return put_text_rec(buf, size, &s, sizeof(s), name, "");
}

size_t xp_make_note(void *buf, size_t size, uint16_t type, uint32_t dom, const char *text)
{
	struct xp_rec_note n = { .h.type = type, .dom = dom };

	if (type != XP_REC_NOTE && type != XP_REC_DOMEND)
		return 0;
	return put_text_rec(buf, size, &n, sizeof(n), text, "");
}

size_t xp_make_thread_note(void *buf, size_t size, uint32_t dom, unsigned thread, const char *name)
{
	struct xp_rec_note n = { .h.type = XP_REC_NOTE, .dom = dom };
	char pre[sizeof(XP_THREAD_NOTE) + 16];

	if (thread > THREAD_MAX)
		return 0;
	snprintf(pre, sizeof(pre), XP_THREAD_NOTE "%u: ", thread);
	return put_text_rec(buf, size, &n, sizeof(n), pre, name);
}

size_t xp_make_kvmstat(void *buf, size_t size, uint32_t dom, int32_t vcpu, uint64_t value, const char *name)
{
	struct xp_rec_kvmstat k = { .h.type = XP_REC_KVMSTAT, .dom = dom, .vcpu = vcpu, .value = value };

	return put_text_rec(buf, size, &k, sizeof(k), name, "");
}

void xp_header_init(struct xp_header *h, const char *host, uint32_t freq_hz, uint64_t start_unix_ns)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, XP_MAGIC, sizeof(h->magic));
	h->version = XP_VERSION;
	h->header_size = sizeof(*h);
	h->start_unix_ns = start_unix_ns;
	h->freq_hz = freq_hz;
	snprintf(h->host, sizeof(h->host), "%s", host ? host : "");
}

/* ---- writing ---- */

struct xp_writer {
	FILE *f;
	char *path, *tmp;
	struct check chk;
	uint64_t off;          /* bytes written */
	bool failed;           /* a write failed: only abort is left */
};

/* The directory path is in, for messages and the final fsync; malloc'd. */
static char *dir_of(const char *path)
{
	char *copy = strdup(path), *d;

	if (!copy)
		return NULL;
	d = strdup(dirname(copy));
	free(copy);
	return d;
}

void xp_writer_abort(struct xp_writer *w)
{
	if (!w)
		return;
	if (w->f)
		fclose(w->f);
	if (w->tmp)
		unlink(w->tmp);
	free(w->tmp);
	free(w->path);
	check_fini(&w->chk);
	free(w);
}

static int put(struct xp_writer *w, const void *p, size_t n, struct errbuf *eb)
{
	errno = 0;
	if (fwrite(p, 1, n, w->f) != n) {
		int err = errno ? errno : EIO;

		w->failed = true;
		return errbuf_set(eb, err, "%s: cannot write: %s", w->tmp, strerror(err));
	}
	w->off += n;
	return 0;
}

int xp_writer_open(const char *path, const struct xp_header *h, struct xp_writer **out, struct errbuf *eb)
{
	struct xp_header hdr = *h;
	struct xp_writer *w;
	struct stat st;
	char *dir;
	int fd, err;

	*out = NULL;
	if (!(dir = dir_of(path)))
		return errbuf_set(eb, ENOMEM, "out of memory");
	err = stat(dir, &st) ? errno : !S_ISDIR(st.st_mode) ? ENOTDIR : 0;
	if (err) {
		if (err == ENOENT)
			errbuf_set(eb, err, "%s: the directory %s does not exist; "
				   "create it or write the profile elsewhere", path, dir);
		else
			errbuf_set(eb, err, "%s: %s is not a directory one can write a profile in: %s", path, dir,
				   strerror(err));
		free(dir);
		return -err;
	}
	free(dir);
	if (!(w = calloc(1, sizeof(*w))) || !(w->path = strdup(path)) ||
	    asprintf(&w->tmp, "%s.tmp", path) < 0) {
		if (w)
			w->tmp = NULL; /* undefined after a failed asprintf, and nothing created yet */
		xp_writer_abort(w);
		return errbuf_set(eb, ENOMEM, "out of memory");
	}
	fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		err = errno;
		free(w->tmp);
		w->tmp = NULL; /* not ours to remove */
		xp_writer_abort(w);
		return errbuf_set(eb, err, "%s.tmp: cannot create: %s", path, strerror(err));
	}
	if (!(w->f = fdopen(fd, "w"))) {
		err = errno;
		close(fd);
		xp_writer_abort(w);
		return errbuf_set(eb, err, "%s.tmp: %s", path, strerror(err));
	}
	memcpy(hdr.magic, XP_MAGIC, sizeof(hdr.magic));
	hdr.version = XP_VERSION;
	hdr.header_size = sizeof(hdr);
	hdr.host[sizeof(hdr.host) - 1] = 0;
	if ((err = put(w, &hdr, sizeof(hdr), eb))) {
		xp_writer_abort(w);
		return err;
	}
	*out = w;
	return 0;
}

int xp_write(struct xp_writer *w, const void *rec, struct errbuf *eb)
{
	struct xp_rec h;
	void *copy = NULL;
	const struct xp_rec *r = rec;
	int err;

	if (w->failed)
		return errbuf_set(eb, EIO, "%s: an earlier write failed; the profile is incomplete", w->tmp);
	memcpy(&h, rec, sizeof(h));
	if (h.type == XP_REC_END)
		return errbuf_set(eb, EINVAL, "the end record is written by closing the profile (xp_writer_close)");
	if (h.size >= sizeof(h) && ((uintptr_t)rec & 7)) {
		/* check_record reads the fields in place */
		if (!(copy = malloc(h.size)))
			return errbuf_set(eb, ENOMEM, "out of memory for a record of %u bytes", h.size);
		memcpy(copy, rec, h.size);
		r = copy;
	}
	err = check_record(&w->chk, r, w->off, eb);
	free(copy);
	if (err) {
		w->chk.records--; /* not written */
		return err;
	}
	return put(w, rec, h.size, eb);
}

int xp_writer_close(struct xp_writer *w, const struct xp_rec_end *end, struct errbuf *eb)
{
	struct xp_rec_end e = *end;
	char *dir;
	int err, fd;

	if (w->failed) {
		err = errbuf_set(eb, EIO, "%s: an earlier write failed; the profile is incomplete", w->tmp);
		xp_writer_abort(w);
		return err;
	}
	e.h = (struct xp_rec){ .type = XP_REC_END, .size = sizeof(e) };
	e.nr_samples = w->chk.samples;
	if ((err = put(w, &e, sizeof(e), eb))) {
		xp_writer_abort(w);
		return err;
	}
	if (fflush(w->f) || fsync(fileno(w->f))) {
		err = errno;
		xp_writer_abort(w);
		return errbuf_set(eb, err, "%s.tmp: cannot write: %s", w->path, strerror(err));
	}
	err = fclose(w->f) ? errno : 0;
	w->f = NULL;
	if (err) {
		xp_writer_abort(w);
		return errbuf_set(eb, err, "%s.tmp: cannot write: %s", w->path, strerror(err));
	}
	if (rename(w->tmp, w->path)) {
		err = errno;
		errbuf_set(eb, err, "%s: cannot rename %s to it: %s", w->path, w->tmp, strerror(err));
		xp_writer_abort(w);
		return -err;
	}
	/* the rename itself survives a crash once the directory is synced */
	if ((dir = dir_of(w->path))) {
		if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
			fsync(fd);
			close(fd);
		}
		free(dir);
	}
	free(w->tmp);
	w->tmp = NULL;
	xp_writer_abort(w); /* nothing left to remove: frees */
	return 0;
}

/* ---- reading ---- */

void xp_free(struct xp_profile *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nr_domains; i++) {
		struct xp_domain *d = &p->domains[i];

		free(d->symbols);
		free(d->samples);
		if (d->vcpus)
			free(d->vcpus[0].c); /* one allocation for all the vCPUs' entries */
		free(d->vcpus);
		free(d->kvmstats);
		free(d->notes);
		free(d->threads);
	}
	free(p->domains);
	free(p->notes);
	free(p->copy);
	if (p->map)
		munmap(p->map, p->map_size);
	free(p);
}

static void printable(char *out, const char *in, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = in[i] >= 0x20 && in[i] < 0x7f ? in[i] : '.';
	out[n] = 0;
}

static int check_header(const uint8_t *data, size_t size, struct xp_header *h, struct errbuf *eb)
{
	char magic[sizeof(h->magic) + 1];

	if (size < sizeof(*h)) {
		if (size >= sizeof(h->magic) && !memcmp(data, XP_MAGIC, sizeof(h->magic)))
			return errbuf_set(eb, EINVAL, "truncated: %zu bytes, shorter than the %zu-byte profile header "
				   "(the recording was cut short)", size, sizeof(*h));
		printable(magic, (const char *)data, size < sizeof(h->magic) ? size : sizeof(h->magic));
		return errbuf_set(eb, EINVAL, "not a Xenith profile (%zu bytes%s%s%s, shorter than a profile header): "
				  "`xenith prof record -o FILE` writes them", size, size ? ": '" : "", magic,
				  size ? "'" : "");
	}
	memcpy(h, data, sizeof(*h));
	if (memcmp(h->magic, XP_MAGIC, sizeof(h->magic))) {
		printable(magic, h->magic, sizeof(h->magic));
		return errbuf_set(eb, EINVAL, "not a Xenith profile (magic '%s' at offset 0): "
				  "`xenith prof record -o FILE` writes them", magic);
	}
	if (h->version != XP_VERSION)
		return errbuf_set(eb, EINVAL, "profile version %u, this xenith reads version %u", h->version,
				  XP_VERSION);
	if (h->header_size < sizeof(*h) || h->header_size % 8 || h->header_size > size)
		return errbuf_set(eb, EINVAL, "corrupt header: header_size %u (at least %zu, a multiple of 8, "
				  "within the file's %zu bytes)", h->header_size, sizeof(*h), size);
	if (!memchr(h->host, 0, sizeof(h->host)))
		return errbuf_set(eb, EINVAL, "corrupt header: the host name is not NUL-terminated "
				  "within its %zu bytes", sizeof(h->host));
	return 0;
}

/* Pass 1: checks every record, counts them per domain; the end record into p->end. */
static int scan(const uint8_t *data, size_t size, struct xp_profile *p, struct check *c, struct errbuf *eb)
{
	size_t off = p->header.header_size;
	int err;

	for (;;) {
		const struct xp_rec *r = (const struct xp_rec *)(data + off);

		if (off == size)
			return errbuf_set(eb, EINVAL, "truncated: no end record after %zu records (the recording did "
					  "not finish; was `xenith prof record` killed?)", c->records);
		if (size - off < sizeof(*r))
			return errbuf_set(eb, EINVAL, "truncated at byte %zu: a record header of 8 bytes runs past the "
					  "end of the file (%zu bytes) — the recording was cut short", off, size);
		if (r->size >= sizeof(*r) && r->size % 8 == 0 && r->size > size - off)
			return errbuf_set(eb, EINVAL, "truncated at byte %zu: record of %u bytes runs past the end of "
					  "the file (%zu bytes) — the recording was cut short", off, r->size, size);
		if ((err = check_record(c, r, off, eb)))
			return err;
		if (r->type == XP_REC_END) {
			memcpy(&p->end, r, sizeof(p->end));
			if (size - off != r->size)
				return corrupt(c, off, eb, "%zu bytes after the end record "
					       "(two recordings in one file?)", size - off - r->size);
			if (p->end.nr_samples != c->samples)
				return corrupt(c, off, eb, "the end record counts %llu sample records, the file has "
					       "%llu (records were lost on the way)",
					       (unsigned long long)p->end.nr_samples, (unsigned long long)c->samples);
			p->nr_records = c->records;
			return 0;
		}
		off += r->size;
	}
}

static int alloc_domain(struct xp_domain *d, const struct dstate *s)
{
#define ALLOC(field, n)                                                                   \
	do {                                                                              \
		if ((n) && !(d->field = calloc((n), sizeof(*d->field))))                  \
			return -ENOMEM;                                                   \
	} while (0)
	ALLOC(symbols, s->symbols);
	ALLOC(samples, s->samples);
	ALLOC(vcpus, s->nr_vcpus);
	ALLOC(kvmstats, s->kvmstats);
	ALLOC(notes, s->notes);
	ALLOC(threads, s->threads);
#undef ALLOC
	/* the counter entries of all its vCPUs, in one array that vcpus[0].c owns */
	if (s->nr_vcpus && s->entries && !(d->vcpus[0].c = calloc(s->entries, sizeof(struct xp_counter))))
		return -ENOMEM;
	return 0;
}

/*
 * Pass 2: the records into the domains' arrays (sized by pass 1); of the
 * counters, the sums and how many entries each vCPU has.
 */
static void fill(const uint8_t *data, struct xp_profile *p)
{
	size_t off = p->header.header_size;

	for (;;) {
		const struct xp_rec *r = (const struct xp_rec *)(data + off);
		struct xp_domain *d;

		switch (r->type) {
		case XP_REC_DOMAIN:
			p->domains[((const struct xp_rec_domain *)r)->dom].rec = (const struct xp_rec_domain *)r;
			break;
		case XP_REC_SYMBOL: {
			const struct xp_rec_symbol *s = (const struct xp_rec_symbol *)r;

			d = &p->domains[s->dom];
			d->symbols[d->nr_symbols++] = (struct xp_symbol){ s->addr, s->size, s->name };
			break;
		}
		case XP_REC_SAMPLE: {
			const struct xp_rec_sample *s = (const struct xp_rec_sample *)r;

			d = &p->domains[s->dom];
			d->samples[d->nr_samples++] = s;
			break;
		}
		case XP_REC_COUNTERS: {
			const struct xp_rec_counters *c = (const struct xp_rec_counters *)r;
			struct xp_vcpu_counters *v;

			d = &p->domains[c->dom];
			v = &d->vcpus[c->vcpu];
			v->records++;
			v->guest_ns += c->guest_ns;
			v->idle_ns += c->idle_ns;
			v->samples_lost += c->samples_lost;
			v->nr += c->nr; /* counted here; placed by place_counters */
			break;
		}
		case XP_REC_KVMSTAT: {
			const struct xp_rec_kvmstat *k = (const struct xp_rec_kvmstat *)r;

			d = &p->domains[k->dom];
			d->kvmstats[d->nr_kvmstats++] = k;
			break;
		}
		case XP_REC_NOTE:
		case XP_REC_DOMEND: {
			const struct xp_rec_note *n = (const struct xp_rec_note *)r;
			const char *name;
			long t;

			if (n->dom == UINT32_MAX && r->type == XP_REC_NOTE) {
				p->notes[p->nr_notes++] = n;
				break;
			}
			d = &p->domains[n->dom];
			if (r->type == XP_REC_DOMEND) {
				d->domend = n->text;
				break;
			}
			d->notes[d->nr_notes++] = n;
			if ((t = thread_note(n->text, &name)) >= 0)
				d->threads[d->nr_threads++] = (struct xp_thread){ (unsigned)t, name };
			break;
		}
		case XP_REC_END:
			return;
		}
		off += r->size;
	}
}

/* Pass 3: each vCPU's counter entries into its part of the domain's array (vcpus[0].c). */
static void place_counters(const uint8_t *data, struct xp_profile *p)
{
	size_t off = p->header.header_size;

	/* the parts: vCPU v from the sum of the entries of the vCPUs before it */
	for (size_t i = 0; i < p->nr_domains; i++) {
		struct xp_domain *d = &p->domains[i];
		struct xp_counter *base = d->rec->nr_vcpus ? d->vcpus[0].c : NULL;
		size_t at = 0;

		for (uint32_t v = 0; v < d->rec->nr_vcpus; v++) {
			d->vcpus[v].c = base ? base + at : NULL;
			at += d->vcpus[v].nr;
			d->vcpus[v].nr = 0;
		}
	}
	for (;;) {
		const struct xp_rec *r = (const struct xp_rec *)(data + off);

		if (r->type == XP_REC_END)
			return;
		if (r->type == XP_REC_COUNTERS && ((const struct xp_rec_counters *)r)->nr) {
			const struct xp_rec_counters *c = (const struct xp_rec_counters *)r;
			struct xp_vcpu_counters *v = &p->domains[c->dom].vcpus[c->vcpu];

			memcpy(v->c + v->nr, c->c, c->nr * sizeof(c->c[0]));
			v->nr += c->nr;
		}
		off += r->size;
	}
}

static int by_kind(const void *a, const void *b)
{
	const struct xp_counter *x = a, *y = b;

	return (x->kind > y->kind) - (x->kind < y->kind);
}

/* One entry per kind: the same kind of several records adds up. */
static void merge_counters(struct xp_vcpu_counters *v)
{
	size_t n = 0;

	if (!v->nr)
		return;
	qsort(v->c, v->nr, sizeof(v->c[0]), by_kind);
	for (size_t i = 0; i < v->nr; i++) {
		if (n && v->c[n - 1].kind == v->c[i].kind) {
			v->c[n - 1].count += v->c[i].count;
			v->c[n - 1].time_ns += v->c[i].time_ns;
		} else {
			v->c[n] = v->c[i];
			v->c[n].pad = 0;
			n++;
		}
	}
	v->nr = n;
}

static int by_addr(const void *a, const void *b)
{
	const struct xp_symbol *x = a, *y = b;

	if (x->addr != y->addr)
		return (x->addr > y->addr) - (x->addr < y->addr);
	return (x->size > y->size) - (x->size < y->size);
}

static int by_index(const void *a, const void *b)
{
	const struct xp_thread *x = a, *y = b;

	if (x->index != y->index)
		return (x->index > y->index) - (x->index < y->index);
	/* the later note wins: notes are in file order, so their names' addresses are too */
	return (x->name > y->name) - (x->name < y->name);
}

static void sort_threads(struct xp_domain *d)
{
	size_t n = 0;

	if (!d->nr_threads)
		return;
	qsort(d->threads, d->nr_threads, sizeof(d->threads[0]), by_index);
	for (size_t i = 0; i < d->nr_threads; i++) {
		if (n && d->threads[n - 1].index == d->threads[i].index)
			n--;
		d->threads[n++] = d->threads[i];
	}
	d->nr_threads = n;
}

int xp_parse(const void *data, size_t size, struct xp_profile **out, struct errbuf *eb)
{
	struct check c = { 0 };
	struct xp_profile *p;
	int err;

	*out = NULL;
	if (!(p = calloc(1, sizeof(*p))))
		return errbuf_set(eb, ENOMEM, "out of memory");
	if ((err = check_header(data, size, &p->header, eb)))
		goto fail;
	if ((uintptr_t)data & 7) {
		/* records are read in place, their fields aligned as in the file */
		if (!(p->copy = malloc(size))) {
			err = errbuf_set(eb, ENOMEM, "out of memory for a copy of %zu bytes", size);
			goto fail;
		}
		memcpy(p->copy, data, size);
		data = p->copy;
	}
	if ((err = scan(data, size, p, &c, eb)))
		goto fail;
	if (c.nr_domains && !(p->domains = calloc(c.nr_domains, sizeof(p->domains[0]))))
		goto nomem;
	p->nr_domains = c.nr_domains;
	for (size_t i = 0; i < c.nr_domains; i++)
		if (alloc_domain(&p->domains[i], &c.doms[i]))
			goto nomem;
	if (c.notes && !(p->notes = calloc(c.notes, sizeof(p->notes[0]))))
		goto nomem;
	fill(data, p);
	place_counters(data, p);
	for (size_t i = 0; i < p->nr_domains; i++) {
		struct xp_domain *d = &p->domains[i];

		if (d->nr_symbols)
			qsort(d->symbols, d->nr_symbols, sizeof(d->symbols[0]), by_addr);
		for (uint32_t v = 0; v < d->rec->nr_vcpus; v++)
			merge_counters(&d->vcpus[v]);
		sort_threads(d);
	}
	check_fini(&c);
	*out = p;
	return 0;
nomem:
	err = errbuf_set(eb, ENOMEM, "out of memory for the index of a profile of %zu bytes", size);
fail:
	check_fini(&c);
	xp_free(p);
	return err;
}

int xp_load(const char *path, struct xp_profile **out, struct errbuf *eb)
{
	struct xp_profile *p;
	struct stat st;
	void *map = NULL;
	int fd, err;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		return errbuf_set(eb, err, "%s: cannot open: %s", path, strerror(err));
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		err = S_ISREG(st.st_mode) ? errno : EINVAL;
		close(fd);
		return errbuf_set(eb, err, "%s: not a regular file", path);
	}
	if (st.st_size > 0) {
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED) {
			err = errno;
			close(fd);
			return errbuf_set(eb, err, "%s: cannot map %lld bytes: %s", path, (long long)st.st_size,
					  strerror(err));
		}
	}
	close(fd);
	err = xp_parse(map ? map : "", (size_t)st.st_size, &p, eb);
	if (err) {
		if (map)
			munmap(map, (size_t)st.st_size);
		return errbuf_prefix(eb, err, "%s", path);
	}
	p->map = map;
	p->map_size = (size_t)st.st_size;
	*out = p;
	return 0;
}

const struct xp_symbol *xp_symbol_at(const struct xp_domain *d, uint64_t addr)
{
	size_t lo = 0, hi = d->nr_symbols;

	/* the last symbol starting at or below addr (of those at one address, the largest) */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (d->symbols[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || addr - d->symbols[lo - 1].addr >= d->symbols[lo - 1].size)
		return NULL;
	return &d->symbols[lo - 1];
}

const char *xp_symbolize(const struct xp_profile *p, uint32_t dom, uint64_t addr, uint64_t *off)
{
	const struct xp_symbol *s;

	if (dom >= p->nr_domains || !(s = xp_symbol_at(&p->domains[dom], addr)))
		return NULL;
	if (off)
		*off = addr - s->addr;
	return s->name;
}

const char *xp_thread_name(const struct xp_profile *p, uint32_t dom, unsigned index)
{
	const struct xp_domain *d;
	size_t lo = 0, hi;

	if (dom >= p->nr_domains)
		return NULL;
	d = &p->domains[dom];
	hi = d->nr_threads;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (d->threads[mid].index == index)
			return d->threads[mid].name;
		if (d->threads[mid].index < index)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
