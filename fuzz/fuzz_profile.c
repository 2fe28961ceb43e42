// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the profile reader (xenoprof/profile.c), and on what it
 * takes every report (xenoprof/report.c, report_svg.c) with and without a
 * domain filter.  The input is a profile file as it is (little-endian, as
 * profile.h lays it out); fuzz/make_seeds.py writes valid ones, a truncated
 * one and one without its end record.  Checks, besides no crash (ASan,
 * UBSan) and no time quadratic in the input (libFuzzer's timeout):
 *   - a refusal is -EINVAL (or -ENOMEM) with a message, and no profile;
 *   - what is taken is what profile.h promises: the header's magic and
 *     version; each domain's record at its index; each sample of a domain
 *     that declares it, where < XP_WHERE_NR, depth <= XP_MAX_DEPTH, weight
 *     >= 1, a vCPU the domain has (but for backend threads), its size that
 *     of its depth, inside the input; the symbols sorted and each found by
 *     xp_symbolize at its start; per vCPU one counter entry per kind,
 *     sorted; the backend threads sorted, one per index, each found by
 *     xp_thread_name; as many sample records as the end record counts;
 *   - every proper prefix of a profile taken is refused (the end record
 *     is last: a file cut anywhere says it was cut);
 *   - every report succeeds; the JSON parses (lib/jsondoc.c); each folded
 *     line is "STACK COUNT" with COUNT >= 1, no control character, the
 *     lines sorted frame by frame and distinct, their counts adding up to
 *     the selected domains' sample weights; the text and the SVG are valid
 *     UTF-8 without control characters but '\n', and in the SVG every '&'
 *     starts one of the five entities; a filter that names no domain is
 *     -ENOENT.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "jsondoc.h"
#include "profile.h"
#include "report.h"

typedef int report_fn(const struct xp_profile *, FILE *, const struct xp_report_opts *);

static char *run(report_fn *fn, const struct xp_profile *p, const struct xp_report_opts *o, const char *what,
		 size_t *len)
{
	char *out = NULL;
	FILE *f = open_memstream(&out, len);
	int err;

	FUZZ_CHECK(f, "open_memstream");
	err = fn(p, f, o);
	fclose(f);
	FUZZ_CHECK(err == 0, "the %s report failed: %d", what, err);
	return out;
}

static bool inside(const void *p, size_t n, const uint8_t *data, size_t size)
{
	return (const uint8_t *)p >= data && (const uint8_t *)p + n <= data + size;
}

/* Text for people: valid UTF-8, no control characters but newlines. */
static void check_text(const char *s, size_t n, const char *what)
{
	for (size_t i = 0; i < n;) {
		size_t k = s[i] == '\n' ? 1 : xp_char_len(s + i, n - i);

		FUZZ_CHECK(k, "the %s report has byte %#x at %zu", what, (unsigned char)s[i], i);
		i += k;
	}
}

static void check_svg(const char *s, size_t n)
{
	static const char *const ents[] = { "&amp;", "&lt;", "&gt;", "&quot;", "&apos;" };

	check_text(s, n, "SVG");
	FUZZ_CHECK(n > 7 && !memcmp(s + n - 7, "</svg>\n", 7), "the SVG does not end in </svg>");
	for (const char *a = s; (a = memchr(a, '&', n - (size_t)(a - s))); a++) {
		bool ok = false;

		for (size_t e = 0; e < sizeof(ents) / sizeof(ents[0]); e++)
			ok |= !strncmp(a, ents[e], strlen(ents[e]));
		FUZZ_CHECK(ok, "a bare '&' in the SVG at %zu", (size_t)(a - s));
	}
}

/* Frame by frame, as xp_fold sorts: ';' and the end below any other byte. */
static int frames_cmp(const char *x, size_t nx, const char *y, size_t ny)
{
	for (size_t i = 0;; i++) {
		unsigned cx = i < nx ? (x[i] == ';' ? 1 : (unsigned char)x[i]) : 0;
		unsigned cy = i < ny ? (y[i] == ';' ? 1 : (unsigned char)y[i]) : 0;

		if (cx != cy)
			return cx < cy ? -1 : 1;
		if (!cx)
			return 0;
	}
}

static void check_folded(const char *s, size_t n, uint64_t want)
{
	const char *prev = NULL;
	size_t prev_len = 0;
	uint64_t sum = 0;

	FUZZ_CHECK(!n || s[n - 1] == '\n', "the folded stacks do not end in a newline");
	check_text(s, n, "folded");
	for (const char *line = s; line < s + n;) {
		const char *nl = memchr(line, '\n', n - (size_t)(line - s));
		const char *sp = nl;
		uint64_t count = 0;

		while (sp > line && sp[-1] != ' ')
			sp--;
		FUZZ_CHECK(sp > line + 1 && sp < nl, "folded line without a count: %.*s", (int)(nl - line), line);
		for (const char *c = sp; c < nl; c++) {
			FUZZ_CHECK(*c >= '0' && *c <= '9', "folded count %.*s", (int)(nl - sp), sp);
			count = count * 10 + (uint64_t)(*c - '0');
		}
		FUZZ_CHECK(count >= 1, "folded count 0");
		FUZZ_CHECK(!memchr(line, '\t', (size_t)(sp - line)), "a tab in a stack");
		if (prev)
			FUZZ_CHECK(frames_cmp(prev, prev_len, line, (size_t)(sp - 1 - line)) < 0,
				   "folded lines out of order or repeated: %.*s", (int)(nl - line), line);
		prev = line;
		prev_len = (size_t)(sp - 1 - line);
		sum += count;
		line = nl + 1;
	}
	FUZZ_CHECK(sum == want, "folded counts add up to %llu, the samples weigh %llu", (unsigned long long)sum,
		   (unsigned long long)want);
}

static void check_json(char *s)
{
	char err[128];
	struct jv *doc = jv_parse(s, err, sizeof(err));

	FUZZ_CHECK(doc, "the JSON report does not parse: %s", err);
	FUZZ_CHECK(doc->type == JV_OBJ && jv_get(doc, "domains"), "the JSON report has no domains");
	jv_free(doc);
}

static void check_profile(const struct xp_profile *p, const uint8_t *data, size_t size)
{
	uint64_t samples = 0;

	FUZZ_CHECK(!memcmp(p->header.magic, XP_MAGIC, 8) && p->header.version == XP_VERSION, "header");
	for (size_t i = 0; i < p->nr_domains; i++) {
		const struct xp_domain *d = &p->domains[i];
		uint32_t nv = d->rec->nr_vcpus;

		FUZZ_CHECK(d->rec->dom == i && inside(d->rec, sizeof(*d->rec), data, size), "domain %zu", i);
		FUZZ_CHECK(memchr(d->rec->name, 0, sizeof(d->rec->name)), "domain %zu's name", i);
		for (size_t k = 0; k < d->nr_samples; k++) {
			const struct xp_rec_sample *s = d->samples[k];

			FUZZ_CHECK(inside(s, s->h.size, data, size), "sample %zu of domain %zu outside the input",
				   k, i);
			FUZZ_CHECK(s->dom == i && s->where < XP_WHERE_NR && s->depth <= XP_MAX_DEPTH &&
					   s->weight >= 1 && s->h.size == xp_sample_size(s->depth),
				   "sample %zu of domain %zu: dom %u where %u depth %u weight %u size %u", k, i, s->dom,
				   s->where, s->depth, s->weight, s->h.size);
			FUZZ_CHECK(s->where == XP_WHERE_BACKEND || s->vcpu < nv, "sample of vCPU %u of %u",
				   s->vcpu, nv);
		}
		samples += d->nr_samples;
		for (size_t k = 0; k < d->nr_symbols; k++) {
			const struct xp_symbol *y = &d->symbols[k];
			uint64_t off = 1;
			const char *name;

			FUZZ_CHECK(!k || d->symbols[k - 1].addr <= y->addr, "symbols out of order at %zu", k);
			name = xp_symbolize(p, (uint32_t)i, y->addr, &off);
			if (y->size) {
				const struct xp_symbol *at = xp_symbol_at(d, y->addr);

				FUZZ_CHECK(name && at && at->addr == y->addr && !off, "symbol %zu at %#llx not found",
					   k, (unsigned long long)y->addr);
			}
		}
		for (uint32_t v = 0; v < nv; v++)
			for (size_t k = 1; k < d->vcpus[v].nr; k++)
				FUZZ_CHECK(d->vcpus[v].c[k - 1].kind < d->vcpus[v].c[k].kind, "vCPU %u's counters", v);
		for (size_t k = 0; k < d->nr_threads; k++) {
			FUZZ_CHECK(!k || d->threads[k - 1].index < d->threads[k].index, "threads out of order");
			FUZZ_CHECK(xp_thread_name(p, (uint32_t)i, d->threads[k].index) == d->threads[k].name, "thread");
		}
		for (size_t k = 0; k < d->nr_kvmstats; k++)
			FUZZ_CHECK(d->kvmstats[k]->vcpu == -1 || (d->kvmstats[k]->vcpu >= 0 &&
								  (uint32_t)d->kvmstats[k]->vcpu < nv),
				   "kvmstat of vCPU %d", d->kvmstats[k]->vcpu);
	}
	FUZZ_CHECK(samples == p->end.nr_samples, "%llu samples, the end says %llu", (unsigned long long)samples,
		   (unsigned long long)p->end.nr_samples);
}

static uint64_t weight(const struct xp_profile *p, const char *filter)
{
	uint64_t w = 0;

	for (size_t i = 0; i < p->nr_domains; i++)
		if (!filter || !strcmp(p->domains[i].rec->name, filter))
			for (size_t k = 0; k < p->domains[i].nr_samples; k++)
				w += p->domains[i].samples[k]->weight;
	return w;
}

static void reports(const struct xp_profile *p, const struct xp_report_opts *o)
{
	size_t len;
	char *out;

	out = run(xp_report_text, p, o, "text", &len);
	check_text(out, len, "text");
	free(out);
	out = run(xp_report_json, p, o, "JSON", &len);
	check_json(out);
	free(out);
	out = run(xp_report_folded, p, o, "folded", &len);
	check_folded(out, len, weight(p, o->dom_filter));
	free(out);
	out = run(xp_report_svg, p, o, "SVG", &len);
	check_svg(out, len);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xp_profile *p = NULL, *q;
	struct xp_report_opts o = { 0 };
	struct errbuf eb = { "" };
	FILE *f;
	int err;

	err = xp_parse(data, size, &p, &eb);
	if (err) {
		FUZZ_CHECK((err == -EINVAL || err == -ENOMEM) && eb.msg[0] && !p, "refused with %d, \"%s\"", err,
			   eb.msg);
		return 0;
	}
	FUZZ_CHECK(p, "taken without a profile");
	check_profile(p, data, size);
	/* cut anywhere, it is refused */
	for (size_t cut = 1; cut <= 8 && cut <= size; cut *= 2) {
		eb.msg[0] = 0;
		FUZZ_CHECK(xp_parse(data, size - cut, &q, &eb) == -EINVAL && !q && eb.msg[0],
			   "taken without its last %zu bytes", cut);
	}
	reports(p, &o);
	if (p->nr_domains) {
		o.dom_filter = p->domains[p->nr_domains - 1].rec->name;
		o.top = 1;
		reports(p, &o);
	}
	o.dom_filter = "\x01 no such domain";
	f = fopen("/dev/null", "w");
	FUZZ_CHECK(f, "/dev/null");
	err = xp_report_text(p, f, &o);
	fclose(f);
	for (size_t i = 0; i < p->nr_domains; i++)
		if (!strcmp(p->domains[i].rec->name, o.dom_filter))
			err = -ENOENT; /* the input named one so */
	FUZZ_CHECK(err == -ENOENT, "a filter that names no domain: %d", err);
	xp_free(p);
	return 0;
}
