// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the console (hv/console.c) as a guest drives it: its output
 * in fuzzed pieces into a console with a log file capped at the smallest
 * cap (so rotations happen often), in /dev/shm.  The input: a knob byte
 * (bit 0: an old log of up to 16 KiB is there already, its size the next
 * two bytes), then pieces: a length byte (0: flush) and that many bytes.
 * Guest bytes 'x' become 'y', so no guest line reads like xenith's notes
 * ("xenith: ..."), which the count below relies on (a guest may forge
 * one; that fools a reader of the log, not the console).
 * Checks: the log and LOG.1 never pass the cap (but for an old log no
 * output was written to: LOG.1 gets only its last whole lines within the
 * cap); everything in them is
 * terminal-safe; no line is longer than CONSOLE_LINE_MAX plus its newline;
 * the bytes of output kept plus those the notes say were dropped add up
 * to every byte the console wrote (stdout, a pipe here, says how many).
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "console.h"
#include "fuzz.h"
#include "tests/termjudge.h"

uint64_t now_ns(void); /* lib/clock.c's, replaced: a constant clock keeps runs repeatable */
uint64_t now_ns(void)
{
	return 1;
}

static char dir[64], log_path[96], log1_path[100];

static void remove_dir(void)
{
	unlink(log_path);
	unlink(log1_path);
	rmdir(dir);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	*len = 0;
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
		abort();
	buf[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Checks one file's lines; returns the bytes of output in it (xenith's notes excluded). */
static size_t check_file(const char *text, size_t len, size_t old, bool is_log1, uint64_t *dropped_all)
{
	size_t out = 0;

	/* Only the old log, untouched (nothing written to it), may be larger; never LOG.1. */
	FUZZ_CHECK(len <= CONSOLE_LOG_MAX_MIN || (!is_log1 && len == old && text[0] == 'o'),
		   "%zu bytes in %s capped at %llu", len, is_log1 ? "LOG.1" : "the log", CONSOLE_LOG_MAX_MIN);
	FUZZ_CHECK(term_safe((const uint8_t *)text, len, false), "unsafe bytes in the log");
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (text + i)) + 1 : len - i;
		const char *p;

		FUZZ_CHECK(n <= CONSOLE_LINE_MAX + 1, "a line of %zu bytes", n);
		if (n > 8 && !memcmp(text + i, "xenith: ", 8)) {
			unsigned long long all;

			p = strstr(text + i, "of older output dropped (");
			FUZZ_CHECK(p && p < text + i + n, "a note that does not say what was dropped");
			FUZZ_CHECK(sscanf(p, "of older output dropped (%llu in all)", &all) == 1, "a bad note");
			if (all > *dropped_all)
				*dropped_all = all;
		} else {
			out += n;
		}
		i += n;
	}
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	static struct console c;
	struct errbuf eb;
	uint8_t knobs = fuzz_u8(&in);
	size_t old = 0, len, len1, kept, wrote = 0;
	uint64_t dropped = 0;
	char *text, *text1, piece[256], *echo;
	int pipefd[2];

	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/dev/shm/xenith-fuzz-console-XXXXXX");
		if (!mkdtemp(dir))
			abort();
		snprintf(log_path, sizeof(log_path), "%s/log", dir);
		snprintf(log1_path, sizeof(log1_path), "%s/log.1", dir);
		atexit(remove_dir);
	}
	unlink(log_path);
	unlink(log1_path);
	if (knobs & 1) {
		char fill[16384];
		FILE *f = fopen(log_path, "wb");

		old = fuzz_u16(&in) % sizeof(fill);
		for (size_t i = 0; i < old; i++)
			fill[i] = i % 80 == 79 || i == old - 1 ? '\n' : 'o';
		if (!f || fwrite(fill, 1, old, f) != old)
			abort();
		fclose(f);
	}
	/* stdout is a pipe big enough for every input (max_len 8192 filtered, plus newlines) */
	if (pipe(pipefd) < 0 || fcntl(pipefd[1], F_SETPIPE_SZ, 1 << 20) < 0)
		abort();
	FUZZ_CHECK(console_init(&c, pipefd[1], "", log_path, CONSOLE_LOG_MAX_MIN, &eb) == 0, "%s", eb.msg);
	while (in.left) {
		uint8_t n = fuzz_u8(&in);

		if (n == 0) {
			console_flush(&c);
			continue;
		}
		fuzz_bytes(&in, piece, n);
		/* No 'x': a guest line that reads like xenith's note would fool the count, not the console. */
		for (unsigned i = 0; i < n; i++)
			piece[i] = piece[i] == 'x' ? 'y' : piece[i];
		console_write(&c, piece, n);
	}
	console_fini(&c);
	close(pipefd[1]);
	echo = malloc(1 << 20);
	if (!echo)
		abort();
	for (ssize_t r; (r = read(pipefd[0], echo, 1 << 20)) > 0;)
		wrote += (size_t)r;
	close(pipefd[0]);
	free(echo);

	text = slurp(log_path, &len);
	text1 = slurp(log1_path, &len1);
	FUZZ_CHECK(text, "no log");
	kept = check_file(text, len, old, false, &dropped);
	if (text1)
		kept += check_file(text1, len1, old, true, &dropped);
	/* The old log counts as output; the console wrote the same to stdout and the log. */
	FUZZ_CHECK(kept + dropped == wrote + old, "%zu kept + %llu dropped != %zu written + %zu old", kept,
		   (unsigned long long)dropped, wrote, old);
	free(text);
	free(text1);
	return 0;
}
