// SPDX-License-Identifier: MIT
/* unit tier: the filter for guest text on its way to a terminal or a log (hv/textfilter.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "termjudge.h"
#include "textfilter.h"

static const char *san(const char *s, size_t len, unsigned flags)
{
	static char out[256];

	text_sanitize(out, sizeof(out), s, len, flags);
	return out;
}

#define SAN(lit) san(lit, sizeof(lit) - 1, 0)

/* Feeds s one byte at a time, as a guest writing its UART would. */
static const char *san_bytewise(const char *s, size_t len)
{
	static char out[256];
	struct text_filter f;
	size_t w = 0;

	text_filter_init(&f, 0);
	for (size_t i = 0; i < len; i++)
		w += text_filter_byte(&f, (uint8_t)s[i], out + w);
	w += text_filter_end(&f, out + w);
	out[w] = 0;
	return out;
}

static void test_printable_ascii_newline_and_tab_pass_unchanged(void **state)
{
	(void)state;
	assert_string_equal(SAN("hello, world: 1 + 1 == 3 ~\n\tindented\n"),
			    "hello, world: 1 + 1 == 3 ~\n\tindented\n");
}

static void test_c0_controls_and_del_become_question_marks(void **state)
{
	(void)state;
	assert_string_equal(SAN("\x1b[2Jclear"), "?[2Jclear");
	assert_string_equal(SAN("\x1b]0;title\x07"), "?]0;title?");
	assert_string_equal(SAN("a\rb\bc\x7f" "d"), "a?b?c?d");
	assert_string_equal(san("x\0y", 3, 0), "x?y"); /* a NUL is a control, not the end */
}

static void test_one_line_text_loses_its_newlines(void **state)
{
	(void)state;
	assert_string_equal(san("a\nxenith: domain 'x' powered off", 32, TEXT_ONE_LINE),
			    "a?xenith: domain 'x' powered off");
	assert_string_equal(san("a\tb", 3, TEXT_ONE_LINE), "a\tb");
}

static void test_raw_c1_bytes_are_replaced_including_the_8bit_csi(void **state)
{
	(void)state;
	assert_string_equal(SAN("\x9b" "2J"), "?2J");
	assert_string_equal(SAN("a\x80" "b\x9f" "c\x85" "d"), "a?b?c?d");
}

static void test_c1_controls_written_in_utf8_are_replaced(void **state)
{
	(void)state;
	assert_string_equal(SAN("\xc2\x9b" "2J"), "?2J"); /* U+009B, CSI */
	assert_string_equal(SAN("\xc2\x80|\xc2\x9f|\xc2\x85"), "?|?|?");
	assert_string_equal(SAN("\xc2\xa0|\xc2\xa9"), "\xc2\xa0|\xc2\xa9"); /* U+00A0, U+00A9: text */
}

static void test_valid_utf8_passes_even_with_continuation_bytes_in_0x80_0x9f(void **state)
{
	(void)state;
	assert_string_equal(SAN("caf\xc3\xa9"), "caf\xc3\xa9");                 /* é: C3 A9 */
	assert_string_equal(SAN("5 \xe2\x82\xac"), "5 \xe2\x82\xac");           /* €: E2 82 AC */
	assert_string_equal(SAN("\xd3\x9b"), "\xd3\x9b");                       /* U+04DB: D3 9B */
	assert_string_equal(SAN("\xf0\x9f\x98\x80!"), "\xf0\x9f\x98\x80!");     /* U+1F600 */
	assert_string_equal(SAN("\xef\xbf\xbd"), "\xef\xbf\xbd");               /* U+FFFD */
	assert_string_equal(SAN("\xf4\x8f\xbf\xbf"), "\xf4\x8f\xbf\xbf");       /* U+10FFFF */
}

static void test_ill_formed_utf8_is_replaced(void **state)
{
	(void)state;
	assert_string_equal(SAN("\xc0\xaf"), "??");             /* overlong '/' */
	assert_string_equal(SAN("\xe0\x80\xaf"), "???");        /* overlong, 3 bytes */
	assert_string_equal(SAN("\xf0\x80\x80\xaf"), "????");   /* overlong, 4 bytes */
	assert_string_equal(SAN("\xed\xa0\x80"), "???");        /* a surrogate, U+D800 */
	assert_string_equal(SAN("\xf4\x90\x80\x80"), "????");   /* U+110000 */
	assert_string_equal(SAN("\xf5\xfe\xff"), "???");
	assert_string_equal(SAN("\xc3" "A"), "?A");             /* a lead, then ASCII */
	assert_string_equal(SAN("\xe2\x82" "\x1b["), "??[");   /* a cut sequence (one ?), then ESC */
	assert_string_equal(SAN("\xe2\x82\xc3\xa9"), "?\xc3\xa9"); /* a cut sequence, then é */
	assert_string_equal(SAN("end\xe2\x82"), "end?");        /* cut by the end of the input */
}

static void test_a_sequence_split_across_writes_is_judged_whole(void **state)
{
	static const char in[] = "\xc3\xa9|\xc2\x9b|\xe2\x82\xac|\x9b|\x1b[1m|\xf0\x9f\x98\x80";

	(void)state;
	assert_string_equal(san_bytewise(in, sizeof(in) - 1), "\xc3\xa9|?|\xe2\x82\xac|?|?[1m|\xf0\x9f\x98\x80");
	assert_string_equal(san_bytewise(in, sizeof(in) - 1), SAN(in));
}

static void test_a_short_buffer_is_cut_between_characters(void **state)
{
	char out[5];

	(void)state;
	assert_int_equal(text_sanitize(out, sizeof(out), "ab\xe2\x82\xac", 5, 0), 2); /* € does not fit */
	assert_string_equal(out, "ab");
	assert_int_equal(text_sanitize(out, sizeof(out), "a\xc3\xa9z!", 5, 0), 4);
	assert_string_equal(out, "a\xc3\xa9z");
	assert_int_equal(text_sanitize(out, 1, "abc", 3, 0), 0);
	assert_string_equal(out, "");
}

static void test_filtering_in_place_works(void **state)
{
	char buf[] = "\x1b[2J\xc3\xa9\x9b\xc2\x9b!";

	(void)state;
	text_sanitize(buf, sizeof(buf), buf, strlen(buf), 0);
	assert_string_equal(buf, "?[2J\xc3\xa9?" "?!");
}

/* Every one- and two-byte input, after an 'x' and before a 'y': the output is terminal-safe. */
static void test_every_two_byte_input_gives_terminal_safe_output(void **state)
{
	uint8_t in[4] = { 'x', 0, 0, 'y' };
	char out[16];

	(void)state;
	for (unsigned a = 0; a < 256; a++) {
		for (unsigned b = 0; b < 256; b++) {
			size_t n;

			in[1] = (uint8_t)a;
			in[2] = (uint8_t)b;
			n = text_sanitize(out, sizeof(out), (const char *)in, 4, 0);
			if (!term_safe((const uint8_t *)out, n, false) || out[0] != 'x' || out[n - 1] != 'y')
				fail_msg("input x %02x %02x y gave an unsafe output", a, b);
		}
	}
}

/* Encodes cp in UTF-8 (the test's own encoder); returns the length. */
static size_t encode(uint32_t cp, uint8_t *o)
{
	if (cp < 0x80)
		return o[0] = (uint8_t)cp, 1;
	if (cp < 0x800)
		return o[0] = (uint8_t)(0xc0 | cp >> 6), o[1] = (uint8_t)(0x80 | (cp & 0x3f)), 2;
	if (cp < 0x10000)
		return o[0] = (uint8_t)(0xe0 | cp >> 12), o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f)),
		       o[2] = (uint8_t)(0x80 | (cp & 0x3f)), 3;
	return o[0] = (uint8_t)(0xf0 | cp >> 18), o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f)),
	       o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f)), o[3] = (uint8_t)(0x80 | (cp & 0x3f)), 4;
}

/* Every scalar value: text passes byte for byte, controls become one '?'. */
static void test_every_code_point_is_kept_unless_it_is_a_control(void **state)
{
	(void)state;
	for (uint32_t cp = 0; cp <= 0x10ffff; cp++) {
		uint8_t in[4];
		char out[8];
		size_t n, len;
		bool control = cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);

		if (cp >= 0xd800 && cp <= 0xdfff)
			continue; /* not scalar values: the ill-formed test covers them */
		len = encode(cp, in);
		n = text_sanitize(out, sizeof(out), (const char *)in, len, 0);
		if (cp == '\n' || cp == '\t')
			control = false;
		if (control ? (n != 1 || out[0] != '?') : (n != len || memcmp(out, in, len)))
			fail_msg("U+%04X came out as %zu bytes", cp, n);
	}
}

/* Random byte soup, whole and byte by byte: safe output, and the same either way. */
static void test_random_bytes_give_safe_output_whole_or_bytewise(void **state)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;

	(void)state;
	for (unsigned round = 0; round < 200000; round++) {
		char in[24], whole[32];
		size_t len = round % sizeof(in), n;

		for (size_t i = 0; i < len; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			/* Bias towards the interesting bytes: controls, continuation bytes, leads. */
			in[i] = (char)((x >> 8) % 3 == 0 ? 0x80 + (x & 0x7f) : (x & 0xff));
		}
		n = text_sanitize(whole, sizeof(whole), in, len, 0);
		assert_true(n <= len);
		if (!term_safe((const uint8_t *)whole, n, false))
			fail_msg("round %u: unsafe output", round);
		assert_string_equal(san_bytewise(in, len), whole);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_printable_ascii_newline_and_tab_pass_unchanged),
		cmocka_unit_test(test_c0_controls_and_del_become_question_marks),
		cmocka_unit_test(test_one_line_text_loses_its_newlines),
		cmocka_unit_test(test_raw_c1_bytes_are_replaced_including_the_8bit_csi),
		cmocka_unit_test(test_c1_controls_written_in_utf8_are_replaced),
		cmocka_unit_test(test_valid_utf8_passes_even_with_continuation_bytes_in_0x80_0x9f),
		cmocka_unit_test(test_ill_formed_utf8_is_replaced),
		cmocka_unit_test(test_a_sequence_split_across_writes_is_judged_whole),
		cmocka_unit_test(test_a_short_buffer_is_cut_between_characters),
		cmocka_unit_test(test_filtering_in_place_works),
		cmocka_unit_test(test_every_two_byte_input_gives_terminal_safe_output),
		cmocka_unit_test(test_every_code_point_is_kept_unless_it_is_a_control),
		cmocka_unit_test(test_random_bytes_give_safe_output_whole_or_bytewise),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
