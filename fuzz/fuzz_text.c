// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the filter for guest text (hv/textfilter.c), which stands
 * between a guest and the host's terminal.  The first byte is a knob
 * (bit 0: TEXT_ONE_LINE; the rest picks a short output buffer), the rest
 * is the guest's text.  Checks, besides no crash:
 *   - the output is terminal-safe by a judge written here: printable ASCII,
 *     '\n' (not in one-line mode) and '\t', or shortest-form UTF-8 for a
 *     scalar value from U+00A0 up; and it is no longer than the input;
 *   - filtering twice changes nothing more (the output is a fixed point);
 *   - text that is already safe passes byte for byte;
 *   - a short buffer gets a prefix of the full output, cut between characters;
 *   - the byte-at-a-time API gives the same output as text_sanitize.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "textfilter.h"
#include "tests/termjudge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned flags, shortlen;
	char *out, *again, *part, *bytewise;
	size_t n, n2, np, w = 0;
	struct text_filter f;
	bool one_line;

	if (size < 1)
		return 0;
	flags = data[0] & 1 ? TEXT_ONE_LINE : 0;
	one_line = flags & TEXT_ONE_LINE;
	shortlen = 1 + (data[0] >> 1);
	data++;
	size--;
	out = malloc(size + 1);
	again = malloc(size + 1);
	part = malloc(shortlen);
	bytewise = malloc(size + TEXT_FILTER_OUT_MAX + 1);
	if (!out || !again || !part || !bytewise)
		abort();

	n = text_sanitize(out, size + 1, (const char *)data, size, flags);
	FUZZ_CHECK(n <= size && out[n] == 0, "output of %zu bytes for %zu", n, size);
	FUZZ_CHECK(term_safe((const uint8_t *)out, n, one_line), "unsafe output (%zu bytes)", n);
	n2 = text_sanitize(again, size + 1, out, n, flags);
	FUZZ_CHECK(n2 == n && !memcmp(again, out, n), "filtering twice changed the text");
	if (term_safe(data, size, one_line))
		FUZZ_CHECK(n == size && !memcmp(out, data, size), "safe text was changed");
	np = text_sanitize(part, shortlen, (const char *)data, size, flags);
	FUZZ_CHECK(np < shortlen && np <= n && !memcmp(part, out, np) && part[np] == 0,
		   "a %u-byte buffer got %zu bytes that are not a prefix", shortlen, np);
	FUZZ_CHECK(term_safe((const uint8_t *)part, np, one_line), "a short buffer was cut inside a character");
	FUZZ_CHECK(np == n || np + TEXT_FILTER_OUT_MAX + 1 > shortlen,
		   "a %u-byte buffer took only %zu of %zu bytes", shortlen, np, n);

	text_filter_init(&f, flags);
	for (size_t i = 0; i < size; i++) {
		size_t k = text_filter_byte(&f, data[i], bytewise + w);

		FUZZ_CHECK(k <= TEXT_FILTER_OUT_MAX, "%zu bytes from one", k);
		w += k;
	}
	w += text_filter_end(&f, bytewise + w);
	FUZZ_CHECK(w == n && !memcmp(bytewise, out, n), "byte at a time differs from text_sanitize");

	free(out);
	free(again);
	free(part);
	free(bytewise);
	return 0;
}
