// SPDX-License-Identifier: MIT
/*
 * unit: the profile file (xenoprof/profile.c).  A profile written with the
 * writer (two domains, symbols out of order, samples of every kind,
 * counters in two records for one vCPU, KVM statistics, notes, a backend
 * thread's name, a domain's end) reads back field by field; the writer
 * leaves nothing under the final name until it is closed, and nothing at
 * all when it is aborted, and refuses what the reader would refuse.  The
 * reader refuses a foreign file, another version, a file cut short (mid
 * record, or without its end record), and corrupt records (sizes, domains
 * and vCPUs out of range, bad where, depth, weight, unterminated strings,
 * counters whose size does not match), each with a message that says
 * what and where; it skips record types it does not know.
 * fuzz/fuzz_profile.c feeds the reader arbitrary bytes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/kvm.h>

#include "profile.h"
#include "xenith/abi.h"

#define EXIT(n) XP_DETAIL(XP_CLASS_EXIT, KVM_EXIT_##n)
#define HCALL(n) XP_DETAIL(XP_CLASS_HCALL, __HYPERVISOR_##n)

/* ---- a profile in memory, record by record ---- */

struct pb {
	uint8_t *buf;
	size_t n, cap;
	unsigned samples;          /* sample records added */
	unsigned records;          /* records after the header */
};

/* Appends size bytes of rec; the offset it went to. */
static size_t pb_raw(struct pb *b, const void *rec, size_t size)
{
	size_t at = b->n;

	if (!size)
		return at;
	if (b->n + size > b->cap) {
		b->cap = (b->n + size) * 2 + 4096;
		b->buf = realloc(b->buf, b->cap);
		assert_non_null(b->buf);
	}
	memcpy(b->buf + b->n, rec, size);
	b->n += size;
	return at;
}

static size_t pb_add(struct pb *b, const void *rec)
{
	struct xp_rec h;

	memcpy(&h, rec, sizeof(h));
	b->records++;
	b->samples += h.type == XP_REC_SAMPLE;
	return pb_raw(b, rec, h.size);
}

static void pb_header(struct pb *b)
{
	struct xp_header h;

	memset(b, 0, sizeof(*b));
	xp_header_init(&h, "testhost", 997, 1700000000123456789ull);
	pb_raw(b, &h, sizeof(h));
}

static struct xp_rec_domain domain(uint32_t dom, uint32_t domid, uint32_t nr_vcpus, uint32_t kind, const char *name,
				   const char *image)
{
	struct xp_rec_domain d = { .h = { XP_REC_DOMAIN, 0, sizeof(d) }, .dom = dom, .domid = domid,
				   .nr_vcpus = nr_vcpus, .kind = kind };

	snprintf(d.name, sizeof(d.name), "%s", name);
	snprintf(d.image, sizeof(d.image), "%s", image);
	return d;
}

static size_t pb_domain(struct pb *b, uint32_t dom, uint32_t nr_vcpus, const char *name)
{
	struct xp_rec_domain d = domain(dom, 10 + dom, nr_vcpus, XP_KIND_PV, name, "/img/guest.elf");

	return pb_add(b, &d);
}

struct sample_buf {
	struct xp_rec_sample s;
	uint64_t ips[XP_MAX_DEPTH + 8];
};

static struct sample_buf sample(uint32_t dom, uint16_t vcpu, uint8_t where, uint32_t detail, uint32_t weight,
				uint8_t depth, const uint64_t *ips)
{
	struct sample_buf sb;

	memset(&sb, 0, sizeof(sb));
	sb.s.h.type = XP_REC_SAMPLE;
	sb.s.h.size = (uint32_t)(sizeof(sb.s) + depth * sizeof(uint64_t));
	sb.s.dom = dom;
	sb.s.vcpu = vcpu;
	sb.s.where = where;
	sb.s.depth = depth;
	sb.s.detail = detail;
	sb.s.weight = weight;
	sb.s.time_ns = 1000;
	if (depth)
		memcpy(sb.ips, ips, depth * sizeof(uint64_t));
	return sb;
}

static size_t pb_sample(struct pb *b, uint32_t dom, uint16_t vcpu, uint8_t where, uint32_t weight)
{
	static const uint64_t ips[] = { 0x1010, 0x1020 };
	struct sample_buf sb = sample(dom, vcpu, where, 0, weight, 2, ips);

	return pb_add(b, &sb);
}

static size_t pb_end(struct pb *b)
{
	struct xp_rec_end e = { .h = { XP_REC_END, 0, sizeof(e) }, .duration_ns = 2000000000ull,
				.nr_samples = b->samples };

	return pb_add(b, &e);
}

/* A small valid profile: domain "a" with 2 vCPUs, a symbol, two samples, the end. */
static void pb_small(struct pb *b)
{
	uint8_t rec[128];

	pb_header(b);
	pb_domain(b, 0, 2, "a");
	pb_add(b, (xp_make_symbol(rec, sizeof(rec), 0, 0x1000, 0x100, "f"), rec));
	pb_sample(b, 0, 0, XP_WHERE_GUEST, 1);
	pb_sample(b, 0, 1, XP_WHERE_HV, 2);
}

/* xp_parse of b's bytes must fail with -EINVAL and a message holding want. */
static void refused(struct pb *b, const char *want)
{
	struct xp_profile *p = (struct xp_profile *)1;
	struct errbuf eb = { "" };

	assert_int_equal(xp_parse(b->buf, b->n, &p, &eb), -EINVAL);
	assert_null(p);
	if (!strstr(eb.msg, want))
		fail_msg("message \"%s\" lacks \"%s\"", eb.msg, want);
	free(b->buf);
}

static struct xp_profile *parsed(struct pb *b)
{
	struct xp_profile *p = NULL;
	struct errbuf eb = { "" };

	if (xp_parse(b->buf, b->n, &p, &eb))
		fail_msg("refused: %s", eb.msg);
	return p;
}

/* ---- the writer and reading back ---- */

static char dir[64];

static int make_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/xp-test-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static void put(struct xp_writer *w, const void *rec)
{
	struct errbuf eb = { "" };

	if (xp_write(w, rec, &eb))
		fail_msg("xp_write: %s", eb.msg);
}

static const uint64_t web_stack[] = { 0x3010, 0x2040, 0x1100 };       /* leaf <- mid <- main */
static const uint64_t host_stack[] = { 0x55550000abcdull, 0x555500001234ull };

/* The profile of the round trip: returns the sample records written. */
static unsigned write_profile(struct xp_writer *w)
{
	struct xp_rec_domain web = domain(0, 5, 2, XP_KIND_PV, "web", "/img/web.elf");
	struct xp_rec_domain db = domain(1, 6, 1, XP_KIND_LINUX, "db", "/img/bzImage-db");
	struct {
		struct xp_rec_counters r;
		struct xp_counter c[2];
	} c1 = { .r = { .h = { XP_REC_COUNTERS, 0, (uint32_t)xp_counters_size(2) }, .dom = 0, .vcpu = 0, .nr = 2,
			.guest_ns = 1000, .idle_ns = 50, .samples_lost = 1 },
		 .c = { { EXIT(IO), 0, 10, 1000 }, { HCALL(sched_op), 0, 4, 400 } } },
	  c2 = { .r = { .h = { XP_REC_COUNTERS, 0, (uint32_t)xp_counters_size(2) }, .dom = 0, .vcpu = 0, .nr = 2,
			.guest_ns = 500, .idle_ns = 25, .samples_lost = 2 },
		 .c = { { EXIT(HLT), 0, 1, 10 }, { EXIT(IO), 0, 5, 500 } } };
	uint8_t rec[256];
	struct sample_buf s;

	put(w, &web);
	/* symbols out of address order: the reader sorts them */
	put(w, (xp_make_symbol(rec, sizeof(rec), 0, 0x3000, 0x100, "leaf"), rec));
	put(w, (xp_make_symbol(rec, sizeof(rec), 0, 0x1000, 0x200, "main"), rec));
	put(w, (xp_make_symbol(rec, sizeof(rec), 0, 0x2000, 0x80, "mid"), rec));
	xp_make_note(rec, sizeof(rec), XP_REC_NOTE, UINT32_MAX, "perf events unavailable: timer sampling");
	put(w, rec);
	put(w, &db);
	put(w, (xp_make_symbol(rec, sizeof(rec), 1, 0x400000, 0x1000, "query"), rec));
	s = sample(0, 0, XP_WHERE_GUEST, 0, 2, 3, web_stack);
	put(w, &s);
	s = sample(0, 1, XP_WHERE_HV, EXIT(MMIO), 1, 1, web_stack + 2);
	put(w, &s);
	s = sample(0, 1, XP_WHERE_IDLE, 0, 3, 0, NULL);
	put(w, &s);
	s = sample(0, 3, XP_WHERE_BACKEND, 0, 4, 2, host_stack);
	put(w, &s);
	s = sample(1, 0, XP_WHERE_GUEST, 0, 5, 1, (const uint64_t[]){ 0x400010 });
	put(w, &s);
	put(w, (xp_make_thread_note(rec, sizeof(rec), 0, 3, "blk q0"), rec));
	put(w, (xp_make_note(rec, sizeof(rec), XP_REC_NOTE, 0, "web: vCPU 1 was paused"), rec));
	put(w, &c1);
	put(w, &c2);
	put(w, (xp_make_kvmstat(rec, sizeof(rec), 0, -1, 3, "remote_tlb_flush"), rec));
	put(w, (xp_make_kvmstat(rec, sizeof(rec), 0, 1, 7, "halt_exits"), rec));
	put(w, (xp_make_note(rec, sizeof(rec), XP_REC_DOMEND, 1, "db: shut down (poweroff)"), rec));
	return 5;
}

static void test_written_profile_reads_back_every_field(void **state)
{
	struct xp_header h;
	struct xp_writer *w;
	struct xp_profile *p;
	struct errbuf eb = { "" };
	struct xp_rec_end end = { .duration_ns = 2000000000ull, .nr_samples = 999, .nr_lost = 4 };
	char path[128], tmp[140];
	const struct xp_domain *d;
	const struct xp_vcpu_counters *vc;
	uint64_t off = 0;
	unsigned nsamples;

	(void)state;
	snprintf(path, sizeof(path), "%s/round.xp", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	xp_header_init(&h, "testhost", 997, 1700000000123456789ull);
	assert_int_equal(xp_writer_open(path, &h, &w, &eb), 0);
	nsamples = write_profile(w);
	/* under way: only the temporary exists */
	assert_false(exists(path));
	assert_true(exists(tmp));
	assert_int_equal(xp_writer_close(w, &end, &eb), 0);
	assert_true(exists(path));
	assert_false(exists(tmp));

	if (xp_load(path, &p, &eb))
		fail_msg("xp_load: %s", eb.msg);
	assert_memory_equal(p->header.magic, XP_MAGIC, 8);
	assert_int_equal(p->header.version, XP_VERSION);
	assert_int_equal(p->header.header_size, sizeof(struct xp_header));
	assert_int_equal(p->header.freq_hz, 997);
	assert_true(p->header.start_unix_ns == 1700000000123456789ull);
	assert_string_equal(p->header.host, "testhost");
	/* the end: the caller's duration and losses, the writer's count of sample records */
	assert_true(p->end.duration_ns == 2000000000ull);
	assert_int_equal(p->end.nr_lost, 4);
	assert_int_equal(p->end.nr_samples, nsamples);
	assert_int_equal(p->nr_records, 20);
	assert_int_equal(p->nr_notes, 1);
	assert_string_equal(p->notes[0]->text, "perf events unavailable: timer sampling");
	assert_int_equal(p->nr_domains, 2);

	d = &p->domains[0];
	assert_string_equal(d->rec->name, "web");
	assert_string_equal(d->rec->image, "/img/web.elf");
	assert_int_equal(d->rec->domid, 5);
	assert_int_equal(d->rec->nr_vcpus, 2);
	assert_int_equal(d->rec->kind, XP_KIND_PV);
	assert_int_equal(d->nr_symbols, 3);
	assert_string_equal(d->symbols[0].name, "main");
	assert_string_equal(d->symbols[1].name, "mid");
	assert_string_equal(d->symbols[2].name, "leaf");
	assert_int_equal(d->symbols[1].addr, 0x2000);
	assert_int_equal(d->symbols[1].size, 0x80);
	assert_string_equal(xp_symbolize(p, 0, 0x2050, &off), "mid");
	assert_int_equal(off, 0x50);
	assert_string_equal(xp_symbolize(p, 0, 0x1000, &off), "main");
	assert_int_equal(off, 0);
	assert_null(xp_symbolize(p, 0, 0x2080, NULL)); /* the end is not in it */
	assert_null(xp_symbolize(p, 0, 0xfff, NULL));
	assert_null(xp_symbolize(p, 0, 0x400010, NULL)); /* the other domain's */
	assert_null(xp_symbolize(p, 7, 0x1000, NULL));

	assert_int_equal(d->nr_samples, 4);
	assert_int_equal(d->samples[0]->where, XP_WHERE_GUEST);
	assert_int_equal(d->samples[0]->weight, 2);
	assert_int_equal(d->samples[0]->depth, 3);
	assert_memory_equal(d->samples[0]->ips, web_stack, sizeof(web_stack));
	assert_int_equal(d->samples[1]->where, XP_WHERE_HV);
	assert_int_equal(d->samples[1]->vcpu, 1);
	assert_int_equal(d->samples[1]->detail, EXIT(MMIO));
	assert_int_equal(d->samples[1]->ips[0], 0x1100);
	assert_int_equal(d->samples[2]->where, XP_WHERE_IDLE);
	assert_int_equal(d->samples[2]->depth, 0);
	assert_int_equal(d->samples[2]->weight, 3);
	assert_int_equal(d->samples[3]->where, XP_WHERE_BACKEND);
	assert_int_equal(d->samples[3]->vcpu, 3);
	assert_memory_equal(d->samples[3]->ips, host_stack, sizeof(host_stack));
	assert_true(d->samples[0]->time_ns == 1000);

	/* vCPU 0's two counters records add up, one entry per kind, by kind */
	vc = &d->vcpus[0];
	assert_int_equal(vc->records, 2);
	assert_int_equal(vc->guest_ns, 1500);
	assert_int_equal(vc->idle_ns, 75);
	assert_int_equal(vc->samples_lost, 3);
	assert_int_equal(vc->nr, 3);
	assert_int_equal(vc->c[0].kind, EXIT(IO));
	assert_int_equal(vc->c[0].count, 15);
	assert_int_equal(vc->c[0].time_ns, 1500);
	assert_int_equal(vc->c[1].kind, EXIT(HLT));
	assert_int_equal(vc->c[1].count, 1);
	assert_int_equal(vc->c[2].kind, HCALL(sched_op));
	assert_int_equal(vc->c[2].time_ns, 400);
	assert_int_equal(d->vcpus[1].records, 0);
	assert_int_equal(d->vcpus[1].nr, 0);

	assert_int_equal(d->nr_kvmstats, 2);
	assert_int_equal(d->kvmstats[0]->vcpu, -1);
	assert_string_equal(d->kvmstats[0]->name, "remote_tlb_flush");
	assert_int_equal(d->kvmstats[0]->value, 3);
	assert_int_equal(d->kvmstats[1]->vcpu, 1);
	assert_string_equal(d->kvmstats[1]->name, "halt_exits");
	assert_int_equal(d->nr_notes, 2);
	assert_string_equal(d->notes[0]->text, "backend thread 3: blk q0");
	assert_string_equal(d->notes[1]->text, "web: vCPU 1 was paused");
	assert_string_equal(xp_thread_name(p, 0, 3), "blk q0");
	assert_null(xp_thread_name(p, 0, 2));
	assert_null(xp_thread_name(p, 1, 3));
	assert_null(d->domend);

	d = &p->domains[1];
	assert_string_equal(d->rec->name, "db");
	assert_string_equal(d->rec->image, "/img/bzImage-db");
	assert_int_equal(d->rec->domid, 6);
	assert_int_equal(d->rec->kind, XP_KIND_LINUX);
	assert_int_equal(d->nr_symbols, 1);
	assert_string_equal(xp_symbolize(p, 1, 0x400fff, &off), "query");
	assert_int_equal(off, 0xfff);
	assert_int_equal(d->nr_samples, 1);
	assert_int_equal(d->samples[0]->weight, 5);
	assert_int_equal(d->nr_notes, 0);
	assert_string_equal(d->domend, "db: shut down (poweroff)");
	xp_free(p);
}

static void test_aborted_writer_leaves_no_file_and_keeps_the_old_one(void **state)
{
	struct xp_header h;
	struct xp_writer *w;
	struct xp_profile *p;
	struct errbuf eb = { "" };
	struct xp_rec_end end = { .duration_ns = 1 };
	struct xp_rec_domain a = domain(0, 1, 1, XP_KIND_PV, "a", "");
	struct xp_rec_domain b = domain(0, 2, 1, XP_KIND_PV, "b", "");
	char path[128], tmp[140];

	(void)state;
	snprintf(path, sizeof(path), "%s/abort.xp", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	xp_header_init(&h, "h", 1, 0);
	assert_int_equal(xp_writer_open(path, &h, &w, &eb), 0);
	put(w, &a);
	xp_writer_abort(w);
	assert_false(exists(path));
	assert_false(exists(tmp));

	/* a complete profile, then a rewrite that is aborted: the first stays */
	assert_int_equal(xp_writer_open(path, &h, &w, &eb), 0);
	put(w, &a);
	assert_int_equal(xp_writer_close(w, &end, &eb), 0);
	assert_int_equal(xp_writer_open(path, &h, &w, &eb), 0);
	put(w, &b);
	xp_writer_abort(w);
	assert_false(exists(tmp));
	assert_int_equal(xp_load(path, &p, &eb), 0);
	assert_int_equal(p->nr_domains, 1);
	assert_string_equal(p->domains[0].rec->name, "a");
	xp_free(p);
	xp_writer_abort(NULL);
}

static void test_writer_refuses_a_directory_that_does_not_exist(void **state)
{
	struct xp_header h;
	struct xp_writer *w = (struct xp_writer *)1;
	struct errbuf eb = { "" };
	char path[160], want[160];

	(void)state;
	snprintf(path, sizeof(path), "%s/no-such-dir/p.xp", dir);
	snprintf(want, sizeof(want), "the directory %s/no-such-dir does not exist", dir);
	xp_header_init(&h, "h", 1, 0);
	assert_int_equal(xp_writer_open(path, &h, &w, &eb), -ENOENT);
	assert_null(w);
	assert_non_null(strstr(eb.msg, want));
	assert_non_null(strstr(eb.msg, path));
}

static void test_writer_refuses_what_the_reader_would_and_carries_on(void **state)
{
	struct xp_header h;
	struct xp_writer *w;
	struct xp_profile *p;
	struct errbuf eb = { "" };
	struct xp_rec_end end = { .duration_ns = 1 };
	struct xp_rec_domain a = domain(0, 1, 2, XP_KIND_PV, "a", "");
	struct sample_buf s = sample(1, 0, XP_WHERE_GUEST, 0, 1, 0, NULL);
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/refuse.xp", dir);
	xp_header_init(&h, "h", 1, 0);
	assert_int_equal(xp_writer_open(path, &h, &w, &eb), 0);
	assert_int_equal(xp_write(w, &s, &eb), -EINVAL); /* before any domain */
	assert_non_null(strstr(eb.msg, "corrupt record 1 at byte 64: sample for domain 1, but no domain was declared"));
	put(w, &a);
	assert_int_equal(xp_write(w, &s, &eb), -EINVAL);
	assert_non_null(strstr(eb.msg, "corrupt record 2 at byte 408: sample for domain 1, but the file declares 1 "
					"domain before it"));
	s = sample(0, 0, XP_WHERE_GUEST, 0, 1, 0, NULL);
	s.s.h.size = 36;
	assert_int_equal(xp_write(w, &s, &eb), -EINVAL);
	assert_non_null(strstr(eb.msg, "size 36, not a multiple of 8"));
	end.h = (struct xp_rec){ XP_REC_END, 0, sizeof(end) };
	assert_int_equal(xp_write(w, &end, &eb), -EINVAL);
	assert_non_null(strstr(eb.msg, "xp_writer_close"));
	s = sample(0, 1, XP_WHERE_HV, EXIT(IO), 1, 0, NULL);
	put(w, &s);
	assert_int_equal(xp_writer_close(w, &end, &eb), 0);
	/* what was refused was not written */
	if (xp_load(path, &p, &eb))
		fail_msg("%s", eb.msg);
	assert_int_equal(p->nr_records, 3);
	assert_int_equal(p->domains[0].nr_samples, 1);
	assert_int_equal(p->end.nr_samples, 1);
	xp_free(p);
}

static void test_builders_say_what_does_not_fit(void **state)
{
	uint8_t buf[128];
	const struct xp_rec_symbol *s = (const struct xp_rec_symbol *)buf;
	const struct xp_rec_note *n = (const struct xp_rec_note *)buf;

	(void)state;
	memset(buf, 0xee, sizeof(buf));
	/* 32 bytes, "abc" and its NUL padded to 8 */
	assert_int_equal(xp_make_symbol(buf, 40, 1, 0x10, 0x20, "abc"), 40);
	assert_int_equal(s->h.type, XP_REC_SYMBOL);
	assert_int_equal(s->h.size, 40);
	assert_int_equal(s->dom, 1);
	assert_int_equal(s->addr, 0x10);
	assert_int_equal(s->size, 0x20);
	assert_memory_equal(s->name, "abc\0\0\0\0\0", 8);
	assert_int_equal(xp_make_symbol(buf, 39, 1, 0x10, 0x20, "abc"), 0);
	assert_int_equal(xp_make_symbol(buf, 48, 1, 0x10, 0x20, "abcdefgh"), 48); /* the NUL needs 8 more */
	assert_int_equal(xp_make_note(buf, sizeof(buf), XP_REC_SAMPLE, 0, "x"), 0);
	assert_int_equal(xp_make_note(buf, sizeof(buf), XP_REC_DOMEND, 2, "gone"), 24);
	assert_int_equal(n->h.type, XP_REC_DOMEND);
	assert_string_equal(n->text, "gone");
	assert_int_equal(xp_make_thread_note(buf, sizeof(buf), 0, 7, "net rx"), 16 + 32);
	assert_string_equal(n->text, "backend thread 7: net rx");
	assert_int_equal(xp_make_kvmstat(buf, sizeof(buf), 0, -1, 5, "exits"), 32);
	assert_int_equal(xp_make_kvmstat(buf, 31, 0, -1, 5, "exits"), 0);
	assert_int_equal(xp_sample_size(0), 32);
	assert_int_equal(xp_sample_size(XP_MAX_DEPTH), 32 + 8 * XP_MAX_DEPTH);
	assert_int_equal(xp_sample_size(XP_MAX_DEPTH + 1), 0);
	assert_int_equal(xp_counters_size(3), 40 + 3 * 24);
}

/* ---- what the reader refuses ---- */

static void test_reader_refuses_a_foreign_file(void **state)
{
	struct pb b = { 0 };
	static const uint8_t elf[80] = { 0x7f, 'E', 'L', 'F', 2, 1, 1, 0 };

	(void)state;
	pb_raw(&b, elf, sizeof(elf));
	refused(&b, "not a Xenith profile (magic '.ELF....' at offset 0): `xenith prof record -o FILE` writes them");
	memset(&b, 0, sizeof(b));
	pb_raw(&b, "hello, world", 12);
	refused(&b, "not a Xenith profile (12 bytes: 'hello, w', shorter than a profile header)");
	memset(&b, 0, sizeof(b));
	pb_raw(&b, "", 0);
	refused(&b, "not a Xenith profile (0 bytes, shorter than a profile header)");
	memset(&b, 0, sizeof(b));
	pb_raw(&b, XP_MAGIC "\1\0\0\0", 12);
	refused(&b, "truncated: 12 bytes, shorter than the 64-byte profile header");
}

static void test_reader_refuses_another_version(void **state)
{
	struct pb b;
	struct xp_header *h;

	(void)state;
	pb_small(&b);
	pb_end(&b);
	h = (struct xp_header *)b.buf;
	h->version = 7;
	refused(&b, "profile version 7, this xenith reads version 1");
}

static void test_reader_refuses_a_file_cut_mid_record(void **state)
{
	struct pb b;
	char want[200];
	size_t at;

	(void)state;
	pb_small(&b);
	at = pb_sample(&b, 0, 0, XP_WHERE_GUEST, 1);
	pb_end(&b);
	b.n = at + 20; /* into the last sample's fields */
	snprintf(want, sizeof(want), "truncated at byte %zu: record of %zu bytes runs past the end of the file (%zu "
		 "bytes) — the recording was cut short", at, xp_sample_size(2), at + 20);
	refused(&b, want);

	pb_small(&b);
	at = pb_end(&b);
	b.n = at + 4; /* into the end record's header */
	snprintf(want, sizeof(want), "truncated at byte %zu: a record header of 8 bytes runs past the end", at);
	refused(&b, want);
}

static void test_reader_refuses_a_file_without_its_end_record(void **state)
{
	struct pb b;

	(void)state;
	pb_small(&b);
	refused(&b, "truncated: no end record after 4 records (the recording did not finish; was `xenith prof "
		    "record` killed?)");
	pb_header(&b);
	refused(&b, "truncated: no end record after 0 records");
}

static void test_reader_refuses_bad_record_sizes(void **state)
{
	struct pb b;
	struct sample_buf s;
	struct xp_rec r;
	char want[160];
	size_t at;

	(void)state;
	pb_small(&b);
	s = sample(0, 0, XP_WHERE_GUEST, 0, 1, 1, (const uint64_t[]){ 1 });
	s.s.h.size = 44;
	at = pb_add(&b, &s);
	pb_end(&b);
	snprintf(want, sizeof(want), "corrupt record 5 at byte %zu: size 44, not a multiple of 8", at);
	refused(&b, want);

	/* size 0 would never move on */
	pb_small(&b);
	r = (struct xp_rec){ XP_REC_NOTE, 0, 0 };
	at = pb_raw(&b, &r, sizeof(r));
	pb_end(&b);
	snprintf(want, sizeof(want), "corrupt record 5 at byte %zu: size 0, less than the 8 bytes", at);
	refused(&b, want);

	/* a sample of 24 bytes: shorter than a sample's fixed part */
	pb_small(&b);
	s = sample(0, 0, XP_WHERE_GUEST, 0, 1, 0, NULL);
	s.s.h.size = 24;
	pb_add(&b, &s);
	pb_end(&b);
	refused(&b, "corrupt record 5 at byte 544: sample record of 24 bytes, shorter than its fixed part (32 bytes)");

	/* a sample whose size is not that of its depth */
	pb_small(&b);
	s = sample(0, 0, XP_WHERE_GUEST, 0, 1, 2, (const uint64_t[]){ 1, 2 });
	s.s.depth = 1;
	pb_add(&b, &s);
	pb_end(&b);
	refused(&b, "sample of depth 1 is 40 bytes, the record has 48");

	/* counters of 3 entries in the size of 2 */
	{
		struct {
			struct xp_rec_counters r;
			struct xp_counter c[2];
		} c = { .r = { .h = { XP_REC_COUNTERS, 0, (uint32_t)xp_counters_size(2) }, .nr = 3 } };

		pb_small(&b);
		pb_add(&b, &c);
		pb_end(&b);
		refused(&b, "counters record of 3 entries is 112 bytes, the record has 88");
	}
}

static void test_reader_refuses_records_of_undeclared_domains_and_vcpus(void **state)
{
	struct pb b;
	uint8_t rec[64];
	char want[200];
	size_t at;

	(void)state;
	pb_small(&b);
	pb_domain(&b, 1, 1, "b");
	at = pb_sample(&b, 3, 0, XP_WHERE_GUEST, 1);
	pb_end(&b);
	snprintf(want, sizeof(want), "corrupt record 6 at byte %zu: sample for domain 3, but the file declares 2 "
		 "domains before it", at);
	refused(&b, want);

	/* a symbol before any domain */
	pb_header(&b);
	pb_add(&b, (xp_make_symbol(rec, sizeof(rec), 0, 0x1000, 0x10, "f"), rec));
	pb_domain(&b, 0, 1, "a");
	pb_end(&b);
	refused(&b, "corrupt record 1 at byte 64: symbol for domain 0, but no domain was declared before it");

	/* domains are numbered in order */
	pb_small(&b);
	pb_domain(&b, 5, 1, "b");
	pb_end(&b);
	refused(&b, "domain record for dom 5, expected 1 (domains are numbered in order from 0)");

	/* vCPU 2 of a domain of 2; backend samples name threads, not vCPUs */
	pb_small(&b);
	pb_sample(&b, 0, 9, XP_WHERE_BACKEND, 1);
	pb_sample(&b, 0, 2, XP_WHERE_IDLE, 1);
	pb_end(&b);
	refused(&b, "corrupt record 6 at byte");
	pb_small(&b);
	pb_sample(&b, 0, 9, XP_WHERE_BACKEND, 1);
	pb_sample(&b, 0, 2, XP_WHERE_IDLE, 1);
	pb_end(&b);
	refused(&b, "sample for vCPU 2 of domain 0, which has 2 vCPUs");

	pb_small(&b);
	pb_add(&b, (xp_make_kvmstat(rec, sizeof(rec), 0, -2, 1, "exits"), rec));
	pb_end(&b);
	refused(&b, "kvmstat for vCPU -2 (-1 is the VM's)");
	pb_small(&b);
	pb_add(&b, (xp_make_kvmstat(rec, sizeof(rec), 0, 2, 1, "exits"), rec));
	pb_end(&b);
	refused(&b, "kvmstat for vCPU 2 of domain 0, which has 2 vCPUs");

	/* a domain's end must name a domain; a note may be about none */
	pb_small(&b);
	pb_add(&b, (xp_make_note(rec, sizeof(rec), XP_REC_DOMEND, UINT32_MAX, "x"), rec));
	pb_end(&b);
	refused(&b, "domain-end for domain 4294967295, but the file declares 1 domain before it");
}

static void test_reader_refuses_bad_samples(void **state)
{
	struct pb b;
	struct sample_buf s;
	uint64_t ips[XP_MAX_DEPTH + 6] = { 0 };
	char want[160];

	(void)state;
	pb_small(&b);
	s = sample(0, 0, XP_WHERE_GUEST, 0, 1, 0, NULL);
	s.s.where = XP_WHERE_NR;
	pb_add(&b, &s);
	pb_end(&b);
	snprintf(want, sizeof(want), "corrupt record 5 at byte 544: sample where %u, "
		 "not one of guest, hv, idle, backend, kvm (0-%u)", XP_WHERE_NR, XP_WHERE_NR - 1);
	refused(&b, want);

	pb_small(&b);
	s = sample(0, 0, XP_WHERE_GUEST, 0, 1, XP_MAX_DEPTH + 6, ips);
	pb_add(&b, &s);
	pb_end(&b);
	refused(&b, "corrupt record 5 at byte 544: sample depth 70 > 64");

	pb_small(&b);
	s = sample(0, 0, XP_WHERE_GUEST, 0, 0, 1, ips);
	pb_add(&b, &s);
	pb_end(&b);
	refused(&b, "corrupt record 5 at byte 544: sample weight 0");
}

static void test_reader_refuses_strings_without_their_nul(void **state)
{
	struct pb b;
	struct xp_rec_domain d;
	uint8_t rec[64];

	(void)state;
	pb_header(&b);
	d = domain(0, 1, 1, XP_KIND_PV, "", "");
	memset(d.name, 'x', sizeof(d.name));
	pb_add(&b, &d);
	pb_end(&b);
	refused(&b, "corrupt record 1 at byte 64: domain 0's name not NUL-terminated within its 64 bytes");

	pb_header(&b);
	d = domain(0, 1, 1, XP_KIND_PV, "a", "");
	memset(d.image, 'y', sizeof(d.image));
	pb_add(&b, &d);
	pb_end(&b);
	refused(&b, "domain 'a''s image path not NUL-terminated");

	/* "abcdefg" fills its 8 bytes: the NUL made room for is overwritten */
	pb_small(&b);
	assert_int_equal(xp_make_symbol(rec, sizeof(rec), 0, 0x1000, 0x10, "abcdefg"), 40);
	rec[39] = 'h';
	pb_add(&b, rec);
	pb_end(&b);
	refused(&b, "corrupt record 5 at byte 544: symbol name not NUL-terminated within the record's 40 bytes");

	pb_small(&b);
	xp_make_note(rec, sizeof(rec), XP_REC_NOTE, UINT32_MAX, "1234567");
	rec[23] = '8';
	pb_add(&b, rec);
	pb_end(&b);
	refused(&b, "note text not NUL-terminated");

	pb_small(&b);
	xp_make_kvmstat(rec, sizeof(rec), 0, -1, 1, "1234567");
	rec[31] = '8';
	pb_add(&b, rec);
	pb_end(&b);
	refused(&b, "kvmstat name not NUL-terminated");

	pb_header(&b);
	((struct xp_header *)b.buf)->host[31] = 'z';
	memset(((struct xp_header *)b.buf)->host, 'z', 32);
	pb_end(&b);
	refused(&b, "corrupt header: the host name is not NUL-terminated");
}

static void test_reader_refuses_what_follows_the_end_and_a_wrong_sample_count(void **state)
{
	struct pb b;
	struct xp_rec_end *e;
	size_t at;

	(void)state;
	pb_small(&b);
	pb_end(&b);
	pb_domain(&b, 1, 1, "b");
	refused(&b, "corrupt record 5 at byte 544: 344 bytes after the end record");

	pb_small(&b);
	at = pb_end(&b);
	e = (struct xp_rec_end *)(b.buf + at);
	e->nr_samples = 3;
	refused(&b, "corrupt record 5 at byte 544: the end record counts 3 sample records, the file has 2");
}

static void test_reader_skips_unknown_record_types(void **state)
{
	struct pb b;
	struct xp_profile *p;
	struct {
		struct xp_rec h;
		uint8_t body[16];
	} unknown = { { 99, 0, 24 }, { 0 } };

	(void)state;
	pb_small(&b);
	pb_add(&b, &unknown);
	pb_sample(&b, 0, 1, XP_WHERE_IDLE, 1);
	pb_end(&b);
	p = parsed(&b);
	assert_int_equal(p->nr_records, 7);
	assert_int_equal(p->domains[0].nr_samples, 3);
	assert_int_equal(p->domains[0].samples[2]->where, XP_WHERE_IDLE);
	xp_free(p);
	free(b.buf);
}

static void test_reader_takes_data_at_any_alignment(void **state)
{
	struct pb b;
	struct xp_profile *p;
	struct errbuf eb = { "" };
	uint8_t *odd;

	(void)state;
	pb_small(&b);
	pb_end(&b);
	odd = malloc(b.n + 1);
	assert_non_null(odd);
	memcpy(odd + 1, b.buf, b.n);
	assert_int_equal(xp_parse(odd + 1, b.n, &p, &eb), 0);
	assert_int_equal(p->domains[0].nr_samples, 2);
	assert_int_equal(p->domains[0].samples[1]->weight, 2);
	assert_string_equal(xp_symbolize(p, 0, 0x1080, NULL), "f");
	xp_free(p);
	free(odd);
	free(b.buf);
}

static void test_load_names_the_file_in_its_messages(void **state)
{
	struct xp_profile *p;
	struct errbuf eb = { "" };
	char path[128], want[200];
	struct pb b;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/missing.xp", dir);
	assert_int_equal(xp_load(path, &p, &eb), -ENOENT);
	snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", path);
	assert_string_equal(eb.msg, want);

	snprintf(path, sizeof(path), "%s/cut.xp", dir);
	pb_small(&b);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(b.buf, 1, b.n, f), b.n);
	fclose(f);
	free(b.buf);
	assert_int_equal(xp_load(path, &p, &eb), -EINVAL);
	snprintf(want, sizeof(want), "%s: truncated: no end record after 4 records", path);
	assert_non_null(strstr(eb.msg, want));

	assert_int_equal(xp_load(dir, &p, &eb), -EINVAL);
	assert_non_null(strstr(eb.msg, "not a regular file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_written_profile_reads_back_every_field),
		cmocka_unit_test(test_aborted_writer_leaves_no_file_and_keeps_the_old_one),
		cmocka_unit_test(test_writer_refuses_a_directory_that_does_not_exist),
		cmocka_unit_test(test_writer_refuses_what_the_reader_would_and_carries_on),
		cmocka_unit_test(test_builders_say_what_does_not_fit),
		cmocka_unit_test(test_reader_refuses_a_foreign_file),
		cmocka_unit_test(test_reader_refuses_another_version),
		cmocka_unit_test(test_reader_refuses_a_file_cut_mid_record),
		cmocka_unit_test(test_reader_refuses_a_file_without_its_end_record),
		cmocka_unit_test(test_reader_refuses_bad_record_sizes),
		cmocka_unit_test(test_reader_refuses_records_of_undeclared_domains_and_vcpus),
		cmocka_unit_test(test_reader_refuses_bad_samples),
		cmocka_unit_test(test_reader_refuses_strings_without_their_nul),
		cmocka_unit_test(test_reader_refuses_what_follows_the_end_and_a_wrong_sample_count),
		cmocka_unit_test(test_reader_skips_unknown_record_types),
		cmocka_unit_test(test_reader_takes_data_at_any_alignment),
		cmocka_unit_test(test_load_names_the_file_in_its_messages),
	};

	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
