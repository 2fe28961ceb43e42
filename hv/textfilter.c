// SPDX-License-Identifier: MIT
#include "textfilter.h"

#include <stdbool.h>
#include <string.h>

void text_filter_init(struct text_filter *f, unsigned flags)
{
	memset(f, 0, sizeof(*f));
	f->flags = flags;
}

/* A byte with nothing pending: passes, is replaced, or starts a sequence. */
static size_t start(struct text_filter *f, uint8_t c, char *out)
{
	if ((c >= 0x20 && c < 0x7f) || c == '\t' || (c == '\n' && !(f->flags & TEXT_ONE_LINE))) {
		out[0] = (char)c;
		return 1;
	}
	/* The lead byte says how many continuation bytes follow and what the first may be (RFC 3629). */
	f->lo = 0x80;
	f->hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf) {
		f->need = 1;
	} else if (c >= 0xe0 && c <= 0xef) {
		f->need = 2;
		if (c == 0xe0)
			f->lo = 0xa0; /* else overlong */
		else if (c == 0xed)
			f->hi = 0x9f; /* else a surrogate */
	} else if (c >= 0xf0 && c <= 0xf4) {
		f->need = 3;
		if (c == 0xf0)
			f->lo = 0x90; /* else overlong */
		else if (c == 0xf4)
			f->hi = 0x8f; /* else past U+10FFFF */
	} else {
		/* C0 controls, DEL, a continuation byte with no lead (0x9b among them), the
		 * overlong leads 0xc0 and 0xc1, and 0xf5..0xff (never in UTF-8) */
		out[0] = '?';
		return 1;
	}
	f->pend[0] = c;
	f->npend = 1;
	return 0;
}

size_t text_filter_byte(struct text_filter *f, uint8_t c, char *out)
{
	size_t n = 0;

	if (f->need) {
		if (c >= f->lo && c <= f->hi) {
			f->pend[f->npend++] = c;
			f->lo = 0x80;
			f->hi = 0xbf;
			if (--f->need)
				return 0;
			n = f->npend;
			f->npend = 0;
			if (n == 2 && f->pend[0] == 0xc2 && f->pend[1] <= 0x9f) {
				out[0] = '?'; /* U+0080..U+009F: a C1 control, written in UTF-8 */
				return 1;
			}
			memcpy(out, f->pend, n);
			return n;
		}
		/* Ill-formed: what came so far is one '?', and c is judged on its own. */
		f->need = 0;
		f->npend = 0;
		out[n++] = '?';
	}
	return n + start(f, c, out + n);
}

size_t text_filter_end(struct text_filter *f, char *out)
{
	if (!f->need)
		return 0;
	f->need = 0;
	f->npend = 0;
	out[0] = '?';
	return 1;
}

size_t text_sanitize(char *dst, size_t size, const char *src, size_t len, unsigned flags)
{
	struct text_filter f;
	char tmp[TEXT_FILTER_OUT_MAX];
	size_t w = 0;

	if (size == 0)
		return 0;
	text_filter_init(&f, flags);
	for (size_t i = 0; i <= len; i++) {
		size_t n = i < len ? text_filter_byte(&f, (uint8_t)src[i], tmp) : text_filter_end(&f, tmp);

		if (w + n >= size)
			break; /* whole characters only */
		/* In place is safe: w + n <= i + 1, and src[i] was read before. */
		memcpy(dst + w, tmp, n);
		w += n;
	}
	dst[w] = 0;
	return w;
}
