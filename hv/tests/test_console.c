// SPDX-License-Identifier: MIT
/*
 * unit tier: the console module (hv/console.c) without a domain: the log
 * file's cap and rotation, the line that reports dropped or lost output,
 * the filter on what reaches the sinks, and the guest's output ring
 * (console_drain_ring on a struct domain holding only a ring and a console).
 */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "testutil.h"

#include "console.h"
#include "domain.h"

#define CAP 8192u
#define NOTE "xenith: "
#define FIRST "xenith: console log reached console_log_max (8192 bytes): the "

static char dir[64], log_path[128], log1_path[136];
static struct console C;

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/xenith-console-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(log_path, sizeof(log_path), "%s/guest.log", dir);
	snprintf(log1_path, sizeof(log1_path), "%s.1", log_path);
	return 0;
}

static int teardown(void **state)
{
	char cmd[256];

	(void)state;
	snprintf(cmd, sizeof(cmd), "chattr -R -a '%s' 2>/dev/null; rm -rf '%s'", dir, dir);
	return system(cmd) == 0 ? 0 : -1;
}

static off_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : -1;
}

/* Guest line i: 100 bytes with its number in it, so the test can tell which survived. */
static size_t guest_line(char *buf, unsigned i)
{
	return (size_t)snprintf(buf, 128, "line %06u %-88s\n", i, "the quick brown fox");
}

/* Parses "N bytes of older output dropped (M in all)" out of a note; returns M. */
static unsigned long long dropped_in_all(const char *note)
{
	const char *p = strstr(note, "bytes of older output dropped (");
	unsigned long long all = 0;

	assert_non_null(p);
	assert_int_equal(sscanf(p, "bytes of older output dropped (%llu in all)", &all), 1);
	return all;
}

/*
 * Walks a log's lines: xenith's notes are skipped, guest lines must carry
 * consecutive numbers from *next on.  Returns the guest bytes seen.
 */
static size_t walk_guest_lines(const char *text, unsigned *next, bool *first)
{
	size_t bytes = 0;

	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		unsigned n;

		assert_non_null(nl);
		if (strncmp(p, NOTE, strlen(NOTE))) {
			assert_int_equal(sscanf(p, "line %u ", &n), 1);
			if (*first)
				*next = n;
			*first = false;
			assert_int_equal(n, *next); /* nothing lost in the middle */
			(*next)++;
			bytes += (size_t)(nl + 1 - p);
		}
		p = nl + 1;
	}
	return bytes;
}

static void test_log_is_capped_rotated_once_and_says_what_was_dropped(void **state)
{
	struct errbuf eb;
	const unsigned lines = 1000; /* 100 KB through an 8 KiB cap */
	size_t written = 0, len, len1, kept;
	char line[128], *log, *log1;
	unsigned next = 0;
	bool first = true;

	(void)state;
	assert_int_equal(console_init(&C, -1, "", log_path, CAP, &eb), 0);
	for (unsigned i = 0; i < lines; i++) {
		size_t n = guest_line(line, i);

		console_write(&C, line, n);
		written += n;
	}
	console_fini(&C);

	log = test_read_file_if_exists(log_path, &len);
	log1 = test_read_file_if_exists(log1_path, &len1);
	assert_non_null(log);
	assert_true(len <= CAP);
	assert_non_null(log1);
	assert_true(len1 <= CAP);
	{
		char log2[160];

		snprintf(log2, sizeof(log2), "%s.1", log1_path);
		assert_int_equal(file_size(log2), -1); /* one older copy only */
	}
	/* The new file's first line says so, with what was dropped. */
	assert_int_equal(strncmp(log, FIRST, strlen(FIRST)), 0);
	assert_non_null(strstr(log, "are in "));
	assert_non_null(strstr(log, log1_path));
	/* What is kept is the newest output, whole and in order, up to the last line. */
	kept = walk_guest_lines(log1, &next, &first);
	kept += walk_guest_lines(log, &next, &first);
	assert_int_equal(next, lines);
	/* And the count of dropped bytes is exact: everything written that is not kept. */
	assert_int_equal(dropped_in_all(log), written - kept);
	assert_true(written - kept > 0);
	free(log);
	free(log1);
}

/*
 * An earlier run's oversized log (or one from a larger cap) is moved aside
 * at the first line, but only its last whole lines within the cap: LOG.1
 * stays within the cap too.  What is left out is counted as dropped.
 */
static void test_an_oversized_log_from_before_keeps_only_its_tail_within_the_cap(void **state)
{
	struct errbuf eb;
	char old[10000 + 1], *log, *log1; /* + snprintf's last NUL */
	size_t len, len1;
	FILE *f;

	(void)state;
	for (unsigned i = 0; i < 100; i++) /* 100 lines of 100 bytes */
		snprintf(old + 100 * i, 101, "old %03u %-91s\n", i, "from an earlier run");
	f = fopen(log_path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(old, 1, 10000, f), 10000);
	fclose(f);
	f = fopen(log1_path, "wb"); /* and an even older LOG.1, which goes */
	assert_non_null(f);
	assert_int_equal(fwrite(old, 1, 1234, f), 1234);
	fclose(f);

	assert_int_equal(console_init(&C, -1, "", log_path, CAP, &eb), 0);
	console_write(&C, "new line\n", 9);
	console_fini(&C);
	log = test_read_file_if_exists(log_path, &len);
	log1 = test_read_file_if_exists(log1_path, &len1);
	/* The last 8192 bytes start inside line 18 (at 1808): LOG.1 holds lines 19..99. */
	assert_int_equal(len1, 8100);
	assert_memory_equal(log1, old + 1900, 8100);
	assert_non_null(strstr(log, "the 8100 bytes of output before this line are in"));
	assert_non_null(strstr(log, "; 3134 bytes of older output dropped (3134 in all)\n"));
	assert_non_null(strstr(log, "\nnew line\n"));
	free(log);
	free(log1);
}

/* A write that fails (the file may not grow: EFBIG, as a full disk gives ENOSPC) is reported once it works. */
static void test_output_a_failed_write_lost_is_reported_in_the_log(void **state)
{
	struct rlimit old, small = { .rlim_cur = 4096, .rlim_max = RLIM_INFINITY };
	struct errbuf eb;
	char line[128], *log, want[256];
	size_t len, lost = 0;
	unsigned i;

	(void)state;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small.rlim_max = old.rlim_max;
	assert_int_equal(console_init(&C, -1, "", log_path, 65536, &eb), 0);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	for (i = 0; i < 60; i++) { /* 6000 bytes: the file stops at 4096 */
		size_t n = guest_line(line, i);

		console_write(&C, line, n);
		if ((i + 1) * n > 4096)
			lost += (i + 1) * n - 4096 < n ? (i + 1) * n - 4096 : n;
	}
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	console_write(&C, "after\n", 6);
	console_fini(&C);
	signal(SIGXFSZ, SIG_DFL);

	log = test_read_file_if_exists(log_path, &len);
	assert_non_null(log);
	snprintf(want, sizeof(want), "xenith: %zu bytes of console output were lost: writing %s failed: ",
		 lost, log_path);
	assert_non_null(strstr(log, want));
	assert_non_null(strstr(log, "File too large\nafter\n"));
	free(log);
}

/* Guest text reaches the sinks filtered: no ESC, no raw or UTF-8-encoded C1; é kept, even split. */
static void test_sinks_get_filtered_text_even_when_a_character_is_split(void **state)
{
	static const char part1[] = "\x1b[2J clear \x9b" "31m csi8 \xc2\x9b" "1m csi-utf8 caf\xc3";
	static const char part2[] = "\xa9 5\xe2\x82\xac\r\n";
	static const char want[] = "?[2J clear ?31m csi8 ?1m csi-utf8 caf\xc3\xa9 5\xe2\x82\xac\n";
	struct errbuf eb;
	char out_path[160], *out, *log;
	size_t len, out_len;
	int fd;

	(void)state;
	snprintf(out_path, sizeof(out_path), "%s/stdout", dir);
	fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(console_init(&C, fd, "dom: ", log_path, CAP, &eb), 0);
	console_write(&C, part1, sizeof(part1) - 1);
	console_write(&C, part2, sizeof(part2) - 1);
	console_write(&C, "cut \xe2\x82", 6); /* never finished */
	console_fini(&C);
	close(fd);

	log = test_read_file_if_exists(log_path, &len);
	out = test_read_file_if_exists(out_path, &out_len);
	assert_non_null(log);
	assert_non_null(out);
	assert_memory_equal(log, want, sizeof(want) - 1);
	assert_string_equal(log + sizeof(want) - 1, "cut ?\n");
	assert_memory_equal(out, "dom: ", 5);
	assert_memory_equal(out + 5, want, sizeof(want) - 1);
	free(log);
	free(out);
}

/* A FIFO (or a device) cannot be rotated and fills no disk: it is not capped, nothing is renamed. */
static void test_a_fifo_log_is_not_rotated(void **state)
{
	char fifo[160], fifo1[168], buf[65536];
	struct errbuf eb;
	size_t got = 0, written = 0;
	int rd;

	(void)state;
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	snprintf(fifo1, sizeof(fifo1), "%s.1", fifo);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	rd = open(fifo, O_RDONLY | O_NONBLOCK);
	assert_true(rd >= 0);
	assert_int_equal(console_init(&C, -1, "", fifo, CAP, &eb), 0);
	for (unsigned i = 0; i < 300; i++) { /* 30 KB: more than the cap, less than a pipe */
		char line[128];
		size_t n = guest_line(line, i);

		console_write(&C, line, n);
		written += n;
	}
	console_fini(&C);
	for (ssize_t n; (n = read(rd, buf, sizeof(buf))) > 0;)
		got += (size_t)n;
	close(rd);
	assert_int_equal(got, written);
	assert_int_equal(file_size(fifo1), -1);
}

/* Writes `lines` guest lines into C from a thread; the test waits for it at most 10 s. */
struct writer {
	unsigned lines;
	size_t written;
};

static void *write_lines(void *arg)
{
	struct writer *w = arg;

	for (unsigned i = 0; i < w->lines; i++) {
		char line[128];
		size_t n = guest_line(line, i);

		console_write(&C, line, n);
		w->written += n;
	}
	return NULL;
}

/* True when the writer finished within 10 s (else it is left blocked: the test fails). */
static bool writer_finishes(struct writer *w)
{
	struct timespec deadline;
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, write_lines, w), 0);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 10;
	if (pthread_timedjoin_np(t, NULL, &deadline) != 0) {
		pthread_detach(t);
		return false;
	}
	return true;
}

/*
 * A FIFO log whose reader went away, or stopped reading, loses output; it
 * never blocks the guest (console_write holds the console lock: every vCPU
 * that prints would wait, and pause and destroy with them).
 */
static void test_a_fifo_log_nobody_reads_loses_output_and_never_blocks(void **state)
{
	struct writer gone = { .lines = 2000 }, idle = { .lines = 2000 }; /* 200 KB: three pipes' worth */
	char fifo[160], buf[4096], *all = NULL;
	struct errbuf eb;
	size_t got = 0;
	int rd;

	(void)state;
	signal(SIGPIPE, SIG_IGN); /* as xenith run does */
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	/* The reader went away. */
	rd = open(fifo, O_RDONLY | O_NONBLOCK);
	assert_true(rd >= 0);
	assert_int_equal(console_init(&C, -1, "", fifo, CAP, &eb), 0);
	close(rd);
	assert_true(writer_finishes(&gone));
	console_fini(&C);
	/* The reader is there but does not read, then reads: the loss is reported. */
	rd = open(fifo, O_RDONLY | O_NONBLOCK);
	assert_true(rd >= 0);
	assert_int_equal(console_init(&C, -1, "", fifo, CAP, &eb), 0);
	assert_true(writer_finishes(&idle));
	for (ssize_t n; (n = read(rd, buf, sizeof(buf))) > 0;)
		got += (size_t)n;
	assert_true(got > 0 && got < idle.written);
	console_write(&C, "after\n", 6);
	console_fini(&C);
	all = malloc(8192);
	assert_non_null(all);
	got = 0;
	for (ssize_t n; got < 8191 && (n = read(rd, all + got, 8191 - got)) > 0;)
		got += (size_t)n;
	all[got] = 0;
	close(rd);
	assert_non_null(strstr(all, "bytes of console output were lost: writing "));
	assert_non_null(strstr(all, "\nafter\n"));
	free(all);
}

/*
 * A log that cannot be emptied (append-only: chattr +a) stops logging, but
 * keeps its descriptor until console_fini: the seccomp handler writes its
 * last words to that number (confine_set_log_fd), which must not become a
 * disk image or guest memory in the meantime.
 */
static void test_a_log_that_cannot_be_emptied_keeps_its_descriptor(void **state)
{
	struct stat st, st_fd;
	struct errbuf eb;
	char cmd[256];
	int fd, other;

	(void)state;
	if (geteuid() != 0)
		skip(); /* chattr +a needs CAP_LINUX_IMMUTABLE */
	close(open(log_path, O_WRONLY | O_CREAT, 0600));
	snprintf(cmd, sizeof(cmd), "chattr +a '%s' 2>/dev/null", log_path);
	if (system(cmd) != 0)
		skip(); /* a file system without append-only files (tmpfs) */
	assert_int_equal(console_init(&C, -1, "", log_path, CAP, &eb), 0);
	fd = C.log_fd;
	assert_true(fd >= 0);
	for (unsigned i = 0; i < 200; i++) { /* 20 KB: past the cap; the rotation cannot empty LOG */
		char line[128];
		size_t n = guest_line(line, i);

		console_write(&C, line, n);
	}
	other = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(other >= 0);
	assert_int_not_equal(other, fd);
	assert_int_equal(stat(log_path, &st), 0);
	assert_int_equal(fstat(fd, &st_fd), 0);
	assert_int_equal(st_fd.st_ino, st.st_ino);
	close(other);
	console_fini(&C);
	assert_true(file_size(log_path) <= CAP); /* nothing written after the failed rotation */
}

/* LOG.1 gets LOG's permissions: a private log's output does not become readable by all. */
static void test_the_rotated_log_is_as_private_as_the_log(void **state)
{
	struct errbuf eb;
	struct stat st;

	(void)state;
	close(open(log_path, O_WRONLY | O_CREAT, 0600));
	assert_int_equal(chmod(log_path, 0600), 0);
	assert_int_equal(console_init(&C, -1, "", log_path, CAP, &eb), 0);
	console_fini(&C);
	assert_int_equal(stat(log1_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

/* A log that is a link into another file system (LOG.1 lies beside the link) rotates all the same. */
static void test_a_log_on_another_file_system_than_its_rotation_file_rotates(void **state)
{
	char target[64], *log, *log1;
	struct stat st_dir, st_shm;
	struct errbuf eb;
	size_t len, len1;
	unsigned next = 0;
	bool first = true;

	(void)state;
	if (stat(dir, &st_dir) < 0 || stat("/dev/shm", &st_shm) < 0 || st_dir.st_dev == st_shm.st_dev)
		skip(); /* no second file system to put the log on */
	snprintf(target, sizeof(target), "/dev/shm/xenith-console-test-%d.log", getpid());
	unlink(target);
	assert_int_equal(symlink(target, log_path), 0);
	assert_int_equal(console_init(&C, -1, "", log_path, CAP, &eb), 0);
	for (unsigned i = 0; i < 200; i++) { /* 20 KB through an 8 KiB cap */
		char line[128];
		size_t n = guest_line(line, i);

		console_write(&C, line, n);
	}
	console_fini(&C);
	log = test_read_file_if_exists(log_path, &len);
	log1 = test_read_file_if_exists(log1_path, &len1);
	unlink(target);
	assert_non_null(log);
	assert_non_null(log1);
	assert_null(strstr(log, "could not be copied"));
	assert_int_equal(strncmp(log, FIRST, strlen(FIRST)), 0);
	walk_guest_lines(log1, &next, &first);
	assert_true(len1 > 0 && !first);
	walk_guest_lines(log, &next, &first);
	assert_int_equal(next, 200);
	free(log);
	free(log1);
}

static void test_a_cap_below_the_minimum_is_refused(void **state)
{
	struct errbuf eb;

	(void)state;
	assert_int_equal(console_init(&C, -1, "", log_path, CONSOLE_LOG_MAX_MIN - 1, &eb), -EINVAL);
	assert_non_null(strstr(eb.msg, "console_log_max"));
	assert_int_equal(file_size(log_path), -1);
}

/* ---- the guest's output ring ---- */

/* What console_drain_ring uses of a domain: its ring and its console, whose output goes to a pipe. */
struct ring_fixture {
	struct domain *d;
	struct xenith_console_ring ring;
	int out[2];
};

static int ring_setup(void **state)
{
	struct ring_fixture *f = calloc(1, sizeof(*f));
	struct errbuf eb;

	if (!f || pipe2(f->out, O_NONBLOCK | O_CLOEXEC) < 0)
		return -1;
	f->d = calloc(1, sizeof(*f->d));
	if (!f->d || console_init(&f->d->console, f->out[1], "", NULL, 0, &eb) < 0)
		return -1;
	f->d->cons_ring = &f->ring;
	*state = f;
	return 0;
}

static int ring_teardown(void **state)
{
	struct ring_fixture *f = *state;

	console_fini(&f->d->console);
	close(f->out[0]);
	close(f->out[1]);
	free(f->d);
	free(f);
	return 0;
}

/* The guest's side: len bytes into the ring from its producer index on, then prod published. */
static void ring_put(struct xenith_console_ring *r, const char *text, size_t len)
{
	uint32_t prod = r->out_prod;

	for (size_t i = 0; i < len; i++)
		r->out[MASK_XENCONS_IDX(prod + (uint32_t)i, XENITH_CONS_OUT_SIZE)] = text[i];
	__atomic_store_n(&r->out_prod, prod + (uint32_t)len, __ATOMIC_RELEASE);
}

/* What reached the console's output so far (consumed), NUL-terminated. */
static size_t ring_output(struct ring_fixture *f, char *buf, size_t size)
{
	ssize_t n = read(f->out[0], buf, size - 1);

	buf[n > 0 ? n : 0] = 0;
	return n > 0 ? (size_t)n : 0;
}

static void test_ring_drain_prints_what_lies_between_cons_and_prod_and_catches_up(void **state)
{
	struct ring_fixture *f = *state;
	char out[64];

	assert_int_equal(console_drain_ring(f->d), 0); /* empty */
	assert_int_equal(ring_output(f, out, sizeof(out)), 0);
	ring_put(&f->ring, "hello\nworld\n", 12);
	assert_int_equal(console_drain_ring(f->d), 0);
	assert_int_equal(f->ring.out_cons, 12);
	assert_int_equal(ring_output(f, out, sizeof(out)), 12);
	assert_string_equal(out, "hello\nworld\n");
	/* nothing new: nothing printed twice */
	assert_int_equal(console_drain_ring(f->d), 0);
	assert_int_equal(ring_output(f, out, sizeof(out)), 0);
	assert_int_equal(f->d->console.bytes, 12);
}

static void test_ring_indices_wrap_around_the_buffer_and_2_to_the_32(void **state)
{
	struct ring_fixture *f = *state;
	const char text[] = "abcdefghijklmnopqrstuvwxyz0123456789\n";
	char out[64];

	/* 10 bytes before the 32-bit wrap, which is also the buffer's end */
	f->ring.out_cons = f->ring.out_prod = UINT32_MAX - 9;
	ring_put(&f->ring, text, sizeof(text) - 1);
	assert_true(f->ring.out_prod < f->ring.out_cons); /* prod wrapped */
	assert_int_equal(console_drain_ring(f->d), 0);
	assert_int_equal(f->ring.out_cons, (uint32_t)(UINT32_MAX - 9 + sizeof(text) - 1));
	assert_int_equal(ring_output(f, out, sizeof(out)), sizeof(text) - 1);
	assert_string_equal(out, text);
	/* and across the buffer's end away from the 32-bit wrap */
	f->ring.out_cons = f->ring.out_prod = 3 * XENITH_CONS_OUT_SIZE - 5;
	ring_put(&f->ring, text, sizeof(text) - 1);
	assert_int_equal(console_drain_ring(f->d), 0);
	assert_int_equal(ring_output(f, out, sizeof(out)), sizeof(text) - 1);
	assert_string_equal(out, text);
}

static void test_a_full_ring_is_drained_whole(void **state)
{
	struct ring_fixture *f = *state;
	static char text[XENITH_CONS_OUT_SIZE], out[XENITH_CONS_OUT_SIZE + 64];

	for (size_t i = 0; i < sizeof(text); i++)
		text[i] = i % 64 == 63 ? '\n' : (char)('A' + i % 26);
	f->ring.out_cons = f->ring.out_prod = 12345;
	ring_put(&f->ring, text, sizeof(text));
	assert_int_equal(f->ring.out_prod - f->ring.out_cons, XENITH_CONS_OUT_SIZE);
	assert_int_equal(console_drain_ring(f->d), 0);
	assert_int_equal(f->ring.out_cons, f->ring.out_prod);
	assert_int_equal(ring_output(f, out, sizeof(out)), sizeof(text));
	assert_memory_equal(out, text, sizeof(text));
}

static void test_ring_indices_far_apart_either_way_are_refused_and_print_nothing(void **state)
{
	struct ring_fixture *f = *state;
	static const uint32_t apart[] = { XENITH_CONS_OUT_SIZE + 1, 2 * XENITH_CONS_OUT_SIZE, 1u << 31,
					  UINT32_MAX /* prod one behind cons */, UINT32_MAX - 100 };
	char out[64];

	memset(f->ring.out, 'x', sizeof(f->ring.out));
	for (size_t i = 0; i < sizeof(apart) / sizeof(apart[0]); i++) {
		f->ring.out_cons = 1000;
		f->ring.out_prod = 1000 + apart[i];
		if (console_drain_ring(f->d) != -EINVAL)
			fail_msg("prod - cons = %u: not refused", apart[i]);
		assert_int_equal(f->ring.out_cons, 1000); /* the guest's indices left as they were */
		assert_int_equal(f->ring.out_prod, 1000 + apart[i]);
	}
	assert_int_equal(f->d->console.bytes, 0);
	console_flush(&f->d->console);
	assert_int_equal(ring_output(f, out, sizeof(out)), 0);
	/* sane indices again: output flows */
	f->ring.out_prod = f->ring.out_cons;
	ring_put(&f->ring, "back\n", 5);
	assert_int_equal(console_drain_ring(f->d), 0);
	assert_int_equal(ring_output(f, out, sizeof(out)), 5);
	assert_string_equal(out, "back\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_log_is_capped_rotated_once_and_says_what_was_dropped,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_an_oversized_log_from_before_keeps_only_its_tail_within_the_cap,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_a_failed_write_lost_is_reported_in_the_log,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_sinks_get_filtered_text_even_when_a_character_is_split,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_fifo_log_is_not_rotated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_fifo_log_nobody_reads_loses_output_and_never_blocks,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_log_that_cannot_be_emptied_keeps_its_descriptor,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_the_rotated_log_is_as_private_as_the_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_log_on_another_file_system_than_its_rotation_file_rotates,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_cap_below_the_minimum_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_drain_prints_what_lies_between_cons_and_prod_and_catches_up,
						ring_setup, ring_teardown),
		cmocka_unit_test_setup_teardown(test_ring_indices_wrap_around_the_buffer_and_2_to_the_32,
						ring_setup, ring_teardown),
		cmocka_unit_test_setup_teardown(test_a_full_ring_is_drained_whole, ring_setup, ring_teardown),
		cmocka_unit_test_setup_teardown(test_ring_indices_far_apart_either_way_are_refused_and_print_nothing,
						ring_setup, ring_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
