/* SPDX-License-Identifier: MIT */
/*
 * Helpers every test program may use (unit and kvm tiers alike; header
 * only, so a unit test needs no harness): whole-file reads and writes that
 * fail the test with the reason, the newest run document of a results
 * directory, and which tests run in which order.
 *
 * Include after <cmocka.h> (and its prerequisites).
 */
#ifndef XENITH_TESTS_TESTUTIL_H
#define XENITH_TESTS_TESTUTIL_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Writes len bytes of data to path (created or truncated); fails the test on any error. */
static inline void test_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "w");

	if (!f)
		fail_msg("cannot create %s: %s", path, strerror(errno));
	if (fwrite(data, 1, len, f) != len || fclose(f) != 0)
		fail_msg("cannot write %s: %s", path, strerror(errno));
}

static inline void test_write_text(const char *path, const char *text)
{
	test_write_file(path, text, strlen(text));
}

/* The whole of path, NUL-terminated (free() it); its length in *len if len is not NULL. */
static inline char *test_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t n = 0, cap = 0;

	if (!f)
		fail_msg("cannot read %s: %s", path, strerror(errno));
	for (;;) {
		if (cap - n < 4096) {
			cap = cap ? 2 * cap : 65536;
			buf = realloc(buf, cap + 1);
			if (!buf)
				fail_msg("out of memory reading %s", path);
		}
		size_t got = fread(buf + n, 1, cap - n, f);

		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f))
		fail_msg("error reading %s", path);
	fclose(f);
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

/* Like test_read_file(), but NULL (and no failure) when path does not exist. */
static inline char *test_read_file_if_exists(const char *path, size_t *len)
{
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return NULL;
	return test_read_file(path, len);
}

/*
 * At most size - 1 bytes of path into buf, NUL-terminated; "" when it cannot
 * be read (a /proc file of a thread that ended).  Returns buf.
 */
static inline char *test_read_text(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, size - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = 0;
	return buf;
}

/*
 * The newest run document in a results directory: run documents are named
 * after their date (so the greatest name is the newest); the exports and
 * temporary files are not.  Fails the test when there is none.
 */
static inline void test_newest_result(const char *dir, char *out, size_t size)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char best[256] = "";

	if (!d)
		fail_msg("cannot open %s: %s", dir, strerror(errno));
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);

		if (n > 5 && n < sizeof(best) && !strcmp(de->d_name + n - 5, ".json") &&
		    !strstr(de->d_name, "partial") && de->d_name[0] >= '0' && de->d_name[0] <= '9' &&
		    strcmp(de->d_name, best) > 0)
			memcpy(best, de->d_name, n + 1);
	}
	closedir(d);
	if (!best[0])
		fail_msg("no run document in %s", dir);
	if (snprintf(out, size, "%s/%s", dir, best) >= (int)size)
		fail_msg("path too long: %s/%s", dir, best);
}

#include "skip.h" /* SKIP_BECAUSE(why) */

/*
 * Which tests run, and in which order, from the environment, to show that
 * each test stands alone:
 *   XENITH_TEST_FILTER=PATTERN  only the tests whose name matches (CMocka's
 *                               pattern: * and ?)
 *   XENITH_TEST_REVERSE=1       the tests in reverse order
 * TEST_RUN_GROUP(tests, setup, teardown) replaces cmocka_run_group_tests()
 * (tests must not be const).
 */
static inline void test_order_from_env(struct CMUnitTest *tests, size_t n)
{
	const char *filter = getenv("XENITH_TEST_FILTER"), *rev = getenv("XENITH_TEST_REVERSE");

	if (filter && *filter)
		cmocka_set_test_filter(filter);
	if (rev && !strcmp(rev, "1"))
		for (size_t i = 0; i < n / 2; i++) {
			struct CMUnitTest t = tests[i];

			tests[i] = tests[n - 1 - i];
			tests[n - 1 - i] = t;
		}
}

#define TEST_RUN_GROUP(tests, setup, teardown)                                   \
	(test_order_from_env(tests, sizeof(tests) / sizeof((tests)[0])),          \
	 cmocka_run_group_tests(tests, setup, teardown))

#endif
