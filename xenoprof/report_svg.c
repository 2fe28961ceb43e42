// SPDX-License-Identifier: MIT
/*
 * A flame graph as a self-contained SVG, drawn from the folded stacks
 * (xp_fold), the way Brendan Gregg's FlameGraph draws them: an "all" frame
 * at the bottom, a row per depth above it, each frame as wide as its
 * samples; frames with the same name at the same place in stacks that
 * agree below them are one; siblings ordered by name (xp_fold sorts the
 * stacks frame by frame, so each frame's stacks come one after another).
 * Colours say whose a frame is: guest code warm, the hypervisor blue (the
 * host kernel's part of it a lighter blue), idle grey, backend threads
 * green, the domain and vCPU roots violet.
 * Each frame carries a <title> (name, samples, share) for the mouse.
 */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define WIDTH 1200
#define PAD 10            /* left, right and bottom margins */
#define TITLE_H 40        /* the title above the frames */
#define ROW 16            /* a frame's height */
#define CHAR_W 7.0        /* a 12px monospace character, about */
#define MIN_W 0.1         /* frames narrower than this (pixels) are left out, as FlameGraph does */

enum frame_kind { K_ROOT, K_GUEST, K_HV, K_KERNEL, K_IDLE, K_BACKEND };

struct frame {
	const char *name;      /* in a stack's line, len bytes */
	size_t len;
	uint64_t start;        /* samples left of it */
	enum frame_kind kind;
};

struct svg {
	FILE *f;
	uint64_t total;
	unsigned rows;         /* frames of the deepest stack, "all" included */
};

/* n bytes of s as XML character data: markup escaped, '?' for what XML cannot hold. */
static void xml_put(FILE *f, const char *s, size_t n)
{
	while (n) {
		size_t k = xp_char_len(s, n);

		if (!k) {
			fputc('?', f);
			k = 1;
		} else if (*s == '&') {
			fputs("&amp;", f);
		} else if (*s == '<') {
			fputs("&lt;", f);
		} else if (*s == '>') {
			fputs("&gt;", f);
		} else if (*s == '"') {
			fputs("&quot;", f);
		} else if (*s == '\'') {
			fputs("&apos;", f);
		} else {
			fwrite(s, 1, k, f);
		}
		s += k;
		n -= k;
	}
}

/* Frame i of a stack of n frames (the domain is frame 0) whose samples were where. */
static enum frame_kind kind_of(unsigned where, size_t i, size_t n)
{
	if (i == 0)
		return K_ROOT;
	if (where == XP_WHERE_BACKEND)
		return K_BACKEND;
	if (i == 1)
		return K_ROOT;
	if (where == XP_WHERE_KVM)
		return K_KERNEL;
	if (i == n - 1 && where == XP_WHERE_HV)
		return K_HV;
	if (i == n - 1 && where == XP_WHERE_IDLE)
		return K_IDLE;
	return K_GUEST;
}

/* A colour of the kind's family, varied by the name so neighbours differ and a name keeps its colour. */
static void colour(const struct frame *fr, char *buf, size_t size)
{
	uint32_t h = 2166136261u;
	unsigned a, b, c;
	uint8_t rgb[3];

	for (size_t i = 0; i < fr->len; i++)
		h = (h ^ (unsigned char)fr->name[i]) * 16777619u;
	a = h & 0xff;
	b = (h >> 8) & 0xff;
	c = (h >> 16) & 0xff;
	switch (fr->kind) {
	case K_GUEST:
		rgb[0] = (uint8_t)(205 + 50 * a / 255), rgb[1] = (uint8_t)(230 * b / 255);
		rgb[2] = (uint8_t)(55 * c / 255);
		break;
	case K_HV:
		rgb[0] = (uint8_t)(70 + 50 * a / 255), rgb[1] = (uint8_t)(110 + 60 * b / 255);
		rgb[2] = (uint8_t)(200 + 55 * c / 255);
		break;
	case K_KERNEL:
		rgb[0] = (uint8_t)(90 + 50 * a / 255), rgb[1] = (uint8_t)(170 + 50 * b / 255);
		rgb[2] = (uint8_t)(220 + 35 * c / 255);
		break;
	case K_IDLE:
		rgb[0] = rgb[1] = rgb[2] = (uint8_t)(175 + 25 * a / 255);
		break;
	case K_BACKEND:
		rgb[0] = (uint8_t)(60 + 50 * a / 255), rgb[1] = (uint8_t)(170 + 60 * b / 255);
		rgb[2] = (uint8_t)(60 + 50 * c / 255);
		break;
	default:
		rgb[0] = (uint8_t)(190 + 30 * a / 255), rgb[1] = (uint8_t)(170 + 30 * b / 255);
		rgb[2] = (uint8_t)(225 + 25 * c / 255);
		break;
	}
	snprintf(buf, size, "rgb(%u,%u,%u)", rgb[0], rgb[1], rgb[2]);
}

/* Characters (not bytes) of the first n bytes of s: what xp_char_len refuses counts one, as '?' is. */
static size_t chars(const char *s, size_t n)
{
	size_t c = 0;

	while (n) {
		size_t k = xp_char_len(s, n);

		k = k ? k : 1;
		s += k;
		n -= k;
		c++;
	}
	return c;
}

/* Bytes of s (n of them) that hold its first c characters. */
static size_t prefix(const char *s, size_t n, size_t c)
{
	size_t at = 0;

	while (at < n && c--) {
		size_t k = xp_char_len(s + at, n - at);

		at += k ? k : 1;
	}
	return at;
}

/* The frame at depth (0: "all") that ends end samples in. */
static void emit(struct svg *g, const struct frame *fr, unsigned depth, uint64_t end)
{
	double scale = (double)(WIDTH - 2 * PAD) / (double)g->total;
	double x = PAD + (double)fr->start * scale, w = (double)(end - fr->start) * scale;
	double y = TITLE_H + (double)(g->rows - 1 - depth) * ROW;
	size_t fit, len;
	char fill[32];

	if (w < MIN_W)
		return;
	colour(fr, fill, sizeof(fill));
	fprintf(g->f, "<g><title>");
	xml_put(g->f, fr->name, fr->len);
	fprintf(g->f, " (%" PRIu64 " samples, %.2f%%)</title><rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" "
		      "height=\"%d\" fill=\"%s\"/>", end - fr->start,
		100.0 * (double)(end - fr->start) / (double)g->total, x, y, w, ROW - 1, fill);
	fit = w > 6 ? (size_t)((w - 6) / CHAR_W) : 0;
	if (fit >= 3) {
		fprintf(g->f, "<text x=\"%.2f\" y=\"%.1f\">", x + 3, y + ROW - 4.5);
		if (chars(fr->name, fr->len) <= fit) {
			xml_put(g->f, fr->name, fr->len);
		} else {
			len = prefix(fr->name, fr->len, fit - 2);
			xml_put(g->f, fr->name, len);
			fputs("..", g->f);
		}
		fprintf(g->f, "</text>");
	}
	fprintf(g->f, "</g>\n");
}

/* Splits line into frames (at most max); their number. */
static size_t split(const char *line, struct frame *fr, size_t max)
{
	size_t n = 0;

	while (n < max) {
		const char *e = strchr(line, ';');
		size_t len = e ? (size_t)(e - line) : strlen(line);

		fr[n].name = line;
		fr[n].len = len;
		n++;
		if (!e)
			break;
		line = e + 1;
	}
	return n;
}

static void draw(struct svg *g, const struct xp_stacks *st, struct frame *open, struct frame *cur, size_t max)
{
	size_t nopen = 0;
	uint64_t x = 0;
	struct frame all = { "all", 3, 0, K_ROOT };

	for (size_t s = 0; s < st->n; s++) {
		size_t n = split(st->v[s].line, cur, max), same = 0;

		while (same < n && same < nopen && cur[same].len == open[same].len &&
		       !memcmp(cur[same].name, open[same].name, cur[same].len))
			same++;
		/* what this stack does not continue ends where it starts */
		while (nopen > same) {
			nopen--;
			emit(g, &open[nopen], (unsigned)nopen + 1, x);
		}
		for (; nopen < n; nopen++) {
			open[nopen] = cur[nopen];
			open[nopen].start = x;
			open[nopen].kind = kind_of(st->v[s].where, nopen, n);
		}
		x += st->v[s].count;
	}
	while (nopen > 0) {
		nopen--;
		emit(g, &open[nopen], (unsigned)nopen + 1, x);
	}
	emit(g, &all, 0, x);
}

int xp_report_svg(const struct xp_profile *p, FILE *f, const struct xp_report_opts *o)
{
	struct svg g = { .f = f, .rows = 1 };
	struct frame *open = NULL, *cur = NULL;
	struct xp_stacks st;
	size_t max = 1;
	unsigned height;
	int err;

	if ((err = xp_fold(p, o, &st)))
		return err;
	for (size_t i = 0; i < st.n; i++) {
		size_t n = 1;

		for (const char *c = st.v[i].line; *c; c++)
			n += *c == ';';
		max = n > max ? n : max;
	}
	if (!(open = calloc(max, sizeof(*open))) || !(cur = calloc(max, sizeof(*cur)))) {
		free(open);
		xp_stacks_free(&st);
		return -ENOMEM;
	}
	g.total = st.total;
	g.rows = (unsigned)max + 1;
	height = TITLE_H + g.rows * ROW + PAD;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
		   "<svg version=\"1.1\" width=\"%d\" height=\"%u\" viewBox=\"0 0 %d %u\" "
		   "xmlns=\"http://www.w3.org/2000/svg\">\n"
		   "<style>text { font-family: monospace; font-size: 12px; fill: #000; } "
		   "rect { stroke: #fff; stroke-width: 0.5; } .head { font-size: 16px; }</style>\n"
		   "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%u\" fill=\"#f8f8f4\"/>\n"
		   "<text class=\"head\" x=\"%d\" y=\"24\" text-anchor=\"middle\">Xenith profile of ",
		WIDTH, height, WIDTH, height, WIDTH, height, WIDTH / 2);
	xml_put(f, p->header.host, strlen(p->header.host));
	if (o && o->dom_filter) {
		fputs(", domain ", f);
		xml_put(f, o->dom_filter, strlen(o->dom_filter));
	}
	fprintf(f, ": %" PRIu64 " samples</text>\n", st.total);
	if (st.total)
		draw(&g, &st, open, cur, max);
	fprintf(f, "</svg>\n");
	free(open);
	free(cur);
	xp_stacks_free(&st);
	return fflush(f) || ferror(f) ? -EIO : 0;
}
