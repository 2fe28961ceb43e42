/* SPDX-License-Identifier: MIT */
/*
 * The judge of text that reaches a host terminal, for the tests and fuzz
 * targets of hv/textfilter.c and the console.  It is written apart from the
 * filter on purpose: a test that used the filter's own code to judge the
 * filter's output could not fail.  Safe means: no C0 control but '\t' and
 * '\n' (and not '\n' when one_line), no DEL, and every byte from 0x80 up part
 * of a shortest-form UTF-8 sequence for a scalar value from U+00A0 up (so no
 * C1 control, no surrogate, nothing past U+10FFFF).
 */
#ifndef XENITH_TESTS_TERMJUDGE_H
#define XENITH_TESTS_TERMJUDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The offset of the first byte that is not terminal-safe, or -1. */
static inline long term_first_unsafe(const uint8_t *s, size_t len, bool one_line)
{
	for (size_t i = 0; i < len;) {
		uint32_t cp, min;
		size_t n;

		if (s[i] < 0x80) {
			if ((s[i] < 0x20 && s[i] != '\t' && (s[i] != '\n' || one_line)) || s[i] == 0x7f)
				return (long)i;
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0)
			n = 2, cp = s[i] & 0x1f, min = 0x80;
		else if ((s[i] & 0xf0) == 0xe0)
			n = 3, cp = s[i] & 0x0f, min = 0x800;
		else if ((s[i] & 0xf8) == 0xf0)
			n = 4, cp = s[i] & 0x07, min = 0x10000;
		else
			return (long)i;
		if (i + n > len)
			return (long)i;
		for (size_t k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return (long)i;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp < 0xa0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return (long)i;
		i += n;
	}
	return -1;
}

static inline bool term_safe(const uint8_t *s, size_t len, bool one_line)
{
	return term_first_unsafe(s, len, one_line) < 0;
}

#endif
