/* SPDX-License-Identifier: MIT */
/*
 * The one filter for text that comes from a guest (console output,
 * GUEST_ASSERT strings, crash reasons, symbol names from a guest image)
 * on its way to a terminal or a log: what it lets through can neither
 * move the cursor, clear the screen, retitle the window nor start any
 * other terminal escape.
 *
 * It passes printable ASCII, '\n' and '\t', and well-formed UTF-8
 * (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF)
 * except the C1 controls U+0080..U+009F (C2 80..C2 9F in UTF-8).  It
 * replaces with one '?' each: the other C0 controls (ESC among them), DEL
 * (0x7f), a C1 control encoded in UTF-8, and each ill-formed byte sequence
 * (a raw 0x9b, the 8-bit CSI, is one: a continuation byte with no lead).
 * So "é" (C3 A9) and "€" (E2 82 AC) pass although their continuation
 * bytes lie in 0x80..0x9f, and a byte 0x80..0x9f passes only inside a
 * well-formed sequence for a character from U+00A0 up.
 *
 * Why keep UTF-8: guest messages in other languages stay readable, and a
 * terminal that decodes UTF-8 (any UTF-8 locale) sees no C1 control in
 * what passes.  The limit: a terminal *not* in UTF-8 mode that acts on
 * 8-bit C1 controls reads such continuation bytes as controls (U+04DB is
 * D3 9B: 0x9b is CSI there).  Use a UTF-8 locale with such terminals, or
 * read logs through `cat -v`.  Unicode format characters (bidirectional
 * overrides, zero-width spaces) pass: they reorder or hide text, they do
 * not control the terminal.
 *
 * The filter is a byte-at-a-time state machine, so a sequence split
 * across two writes (a guest writing its UART one byte at a time) is
 * judged whole.  Output is always well-formed UTF-8.
 */
#ifndef XENITH_HV_TEXTFILTER_H
#define XENITH_HV_TEXTFILTER_H

#include <stddef.h>
#include <stdint.h>

/* Most bytes one call to text_filter_byte() or text_filter_end() writes. */
#define TEXT_FILTER_OUT_MAX 4u

enum {
	TEXT_ONE_LINE = 1u << 0, /* '\n' is replaced too (a crash reason is one line) */
};

struct text_filter {
	uint8_t pend[4];   /* the start of a multi-byte sequence */
	uint8_t npend;     /* bytes in pend */
	uint8_t need;      /* continuation bytes still to come */
	uint8_t lo, hi;    /* the range the next continuation byte must be in */
	unsigned flags;    /* TEXT_* */
};

void text_filter_init(struct text_filter *f, unsigned flags);
/* Feeds one byte; writes 0 to TEXT_FILTER_OUT_MAX bytes to out and returns how many. */
size_t text_filter_byte(struct text_filter *f, uint8_t c, char *out);
/* The input ended: an unfinished sequence becomes '?'.  Returns the bytes written to out. */
size_t text_filter_end(struct text_filter *f, char *out);

/*
 * Filters len bytes of src (NULs are controls too) into dst, NUL-terminated
 * and cut at a character boundary when size is too small.  Returns the
 * length written.  dst and src may be the same buffer: the output is never
 * longer than the input.
 */
size_t text_sanitize(char *dst, size_t size, const char *src, size_t len, unsigned flags);

#endif
