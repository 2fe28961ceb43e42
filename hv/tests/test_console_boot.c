// SPDX-License-Identifier: MIT
/*
 * kvm tier: guest text on its way to the host, end to end: a guest that
 * floods its console against console_log_max, and a guest that puts
 * terminal escapes into its console and into a failed GUEST_ASSERT.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
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

#include "testutil.h"

#include "harness.h"
#include "termjudge.h"


static struct proc P;

static int teardown(void **state)
{
	(void)state;
	harness_teardown(state); /* every xenith the test left running */
	return 0;
}

static void expect_safe(const char *what, const char *s, size_t len)
{
	long at = term_first_unsafe((const uint8_t *)s, len, false);

	if (at >= 0)
		fail_msg("%s: byte 0x%02x at offset %ld would reach the terminal: ...%.40s", what,
			 (uint8_t)s[at], at, s + (at > 20 ? at - 20 : 0));
	assert_null(memchr(s, 0x1b, len)); /* and, plainly: no ESC */
}

/*
 * guest/programs.c `escape`: ESC sequences, the 8-bit CSI raw (9B) and in
 * UTF-8 (C2 9B), a BEL, and UTF-8 text, in a console line and in the file,
 * expression and message of a failed GUEST_ASSERT (line 4242).
 */
static void test_guest_escapes_are_filtered_in_console_and_assert_text(void **state)
{
	char log[256], *text;
	size_t len = 0;

	(void)state;
	harness_path(log, sizeof(log), "escape.log");
	unlink(log);
	assert_int_equal(RUN(&P, 20, "run", "--name", "t-escape", "--console-log", log, "--cmdline", "escape"), 66);
	expect_safe("stdout", P.out, P.out_len);
	expect_safe("stderr", P.err, P.err_len);
	/* Each control became one '?'; "café 5€" passed whole. */
	assert_non_null(strstr(P.out, "escape-console: [?[2J] [?2J] [?2J] [?]0;pwned?] "
				      "[caf\xc3\xa9 5\xe2\x82\xac] end\n"));
	/* The reason is one line: the guest's "\nxenith: fake line" cannot start a line of its own. */
	assert_non_null(strstr(P.err, "crashed: guest assertion failed at esc?[31m.c:4242: x == ?[2J?31m "
				      "(why: ?]0;pwned? ?1m caf\xc3\xa9?xenith: fake line)\n"));
	text = test_read_file_if_exists(log, &len);
	assert_non_null(text);
	expect_safe("console log", text, len);
	assert_non_null(strstr(text, "escape-console: [?[2J] [?2J] [?2J]"));
	free(text);
}

/* Checks one log file's flood lines: consecutive from *next on; returns the guest bytes in it. */
static size_t flood_lines(const char *text, unsigned *next, bool *first)
{
	size_t bytes = 0;

	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		unsigned n;

		assert_non_null(nl);
		if (!strncmp(p, "xenith: ", 8)) {
			p = nl + 1;
			continue; /* xenith's own note */
		}
		bytes += (size_t)(nl + 1 - p);
		if (sscanf(p, "flood %u ", &n) == 1) {
			if (*first)
				*next = n;
			*first = false;
			assert_int_equal(n, *next); /* nothing missing in between */
			assert_int_equal(nl + 1 - p, 1000);
			(*next)++;
		}
		p = nl + 1;
	}
	return bytes;
}

/*
 * `flood 3500000`: 3500 lines of 1000 bytes and "flood: done, 3500 lines\n"
 * (guest/programs.c), through a 1 MiB console_log_max; the log and LOG.1
 * are checked after the run.
 */
static void check_flood_log(const char *log, const char *log1)
{
	const unsigned lines = 3500;
	const size_t cap = 1 << 20, total = lines * 1000ull + strlen("flood: done, 3500 lines\n");
	char *text, *text1, *p;
	unsigned long long dropped = 0;
	size_t len = 0, len1 = 0, kept;
	unsigned next = 0;
	bool first = true;

	text = test_read_file_if_exists(log, &len);
	text1 = test_read_file_if_exists(log1, &len1);
	printf("# console log %zu + %zu bytes for %zu bytes of output, cap %zu\n", len, len1, total, cap);
	assert_non_null(text);
	assert_true(len <= cap);
	assert_non_null(text1);
	assert_true(len1 <= cap);
	/* The newest output is kept, in order, to its last line. */
	kept = flood_lines(text1, &next, &first);
	kept += flood_lines(text, &next, &first);
	assert_int_equal(next, lines);
	assert_non_null(strstr(text, "\nflood: done, 3500 lines\n"));
	/* The new file starts with the line that says what was dropped: exactly what is not kept. */
	assert_int_equal(strncmp(text, "xenith: console log reached console_log_max (1048576 bytes): ", 61), 0);
	p = strstr(text, "bytes of older output dropped (");
	assert_non_null(p);
	assert_true(p < strchr(text, '\n'));
	assert_int_equal(sscanf(p, "bytes of older output dropped (%llu in all)", &dropped), 1);
	assert_int_equal(dropped, total - kept);
	free(text);
	free(text1);
}

static void test_a_flooding_guest_fills_no_more_than_console_log_max(void **state)
{
	char log[256], log1[264], cfg[256];
	FILE *f;

	(void)state;
	harness_path(log, sizeof(log), "flood.log");
	snprintf(log1, sizeof(log1), "%s.1", log);
	/* The key in a config file ... */
	unlink(log);
	unlink(log1);
	harness_path(cfg, sizeof(cfg), "flood.cfg");
	f = fopen(cfg, "w");
	assert_non_null(f);
	fprintf(f, "console_log = \"%s\"\nconsole_log_max = 1\ncmdline = \"flood 3500000\"\n", log);
	fclose(f);
	assert_int_equal(RUN(&P, 60, "run", "--name", "t-flood", "-c", cfg), 0);
	check_flood_log(log, log1);
	/* ... and as an option. */
	unlink(log);
	unlink(log1);
	assert_int_equal(RUN(&P, 60, "run", "--name", "t-flood", "--console-log", log, "--console-log-max", "1M",
			     "--cmdline", "flood 3500000"), 0);
	check_flood_log(log, log1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_guest_escapes_are_filtered_in_console_and_assert_text, teardown),
		cmocka_unit_test_teardown(test_a_flooding_guest_fills_no_more_than_console_log_max, teardown),
	};

	harness_require_kvm();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
