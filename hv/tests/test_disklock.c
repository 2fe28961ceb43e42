// SPDX-License-Identifier: MIT
/*
 * unit tier: disk image locks (hv/disklock.c) on files in a temp
 * directory, without KVM: who may share, who is refused, how the holder is
 * named, and which paths are one file.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "disklock.h"

static char dir[64], img[128], other[128];
static pid_t child;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* Removes the test's directory and everything in it; 0 or -1. */
static int remove_dir(void)
{
	int r = dir[0] ? nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS) : 0;

	dir[0] = 0;
	return r < 0 && errno != ENOENT ? -1 : 0;
}

static int make_image(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	int r = fd >= 0 && ftruncate(fd, 1 << 20) == 0 ? 0 : -1;

	if (fd >= 0)
		close(fd);
	return r;
}

/* A fresh directory with two 1 MiB images; a failed setup leaves nothing (CMocka skips teardown then). */
static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/xenith-disklock-XXXXXX");
	if (!mkdtemp(dir)) {
		dir[0] = 0;
		return -1;
	}
	snprintf(img, sizeof(img), "%s/a.img", dir);
	snprintf(other, sizeof(other), "%s/b.img", dir);
	if (make_image(img) < 0 || make_image(other) < 0) {
		remove_dir();
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		child = 0;
	}
	return remove_dir();
}

/* Opens and locks path into l; returns what disk_lock_take returned, msg the message. */
static int lock(struct disk_lock *l, const char *path, bool ro, char *msg, size_t size)
{
	int r = disk_lock_open(l, path, ro, 0, msg, size);

	return r < 0 ? r : disk_lock_take(l, path, 0, msg, size);
}

static void test_a_writer_excludes_everyone_readers_share(void **state)
{
	struct disk_lock w = { 0 }, r1 = { 0 }, r2 = { 0 }, x = { 0 };
	char msg[1024];

	(void)state;
	assert_int_equal(lock(&w, img, false, msg, sizeof(msg)), 0);
	/* OFD locks: a second open file description in this same process conflicts too. */
	assert_int_equal(lock(&x, img, false, msg, sizeof(msg)), -EAGAIN);
	assert_non_null(strstr(msg, "is locked for writing, held by pid"));
	assert_non_null(strstr(msg, "this process"));
	disk_lock_release(&x);
	assert_int_equal(lock(&x, img, true, msg, sizeof(msg)), -EAGAIN);
	assert_non_null(strstr(msg, "is locked for writing"));
	disk_lock_release(&x);
	/* The writer goes: readers share, and keep a writer out. */
	disk_lock_release(&w);
	assert_int_equal(lock(&r1, img, true, msg, sizeof(msg)), 0);
	assert_int_equal(lock(&r2, img, true, msg, sizeof(msg)), 0);
	assert_int_equal(lock(&x, img, false, msg, sizeof(msg)), -EAGAIN);
	assert_non_null(strstr(msg, "is locked for reading (shared by ro=1 disks), held by pid"));
	disk_lock_release(&x);
	disk_lock_release(&r1);
	disk_lock_release(&r2);
	/* Nothing left: a writer gets it. */
	assert_int_equal(lock(&w, img, false, msg, sizeof(msg)), 0);
	disk_lock_release(&w);
}

/* The holder in another process is named by pid and command line, found via /proc/PID/fdinfo. */
static void test_the_holder_is_named_by_pid_and_command(void **state)
{
	struct disk_lock l = { 0 };
	char msg[1024], want[64];
	int ready[2];

	(void)state;
	assert_int_equal(pipe(ready), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct disk_lock c = { 0 };
		char m[512];

		if (lock(&c, img, false, m, sizeof(m)) < 0)
			_exit(1);
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], want, 1), 1); /* the child holds the lock now */
	close(ready[0]);
	assert_int_equal(lock(&l, img, true, msg, sizeof(msg)), -EAGAIN);
	snprintf(want, sizeof(want), "held by pid %d (test_disklock", (int)child);
	if (!strstr(msg, want))
		fail_msg("'%s' not in '%s'", want, msg);
	disk_lock_release(&l);
	/* It dies: the kernel drops its lock. */
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	child = 0;
	assert_int_equal(lock(&l, img, false, msg, sizeof(msg)), 0);
	disk_lock_release(&l);
}

static void test_one_file_under_any_spelling_is_the_same_file(void **state)
{
	struct disk_lock a = { 0 }, b = { 0 };
	char msg[512], sym[160], hard[160], dotted[160];
	const char *names[] = { img, sym, hard, dotted };

	(void)state;
	snprintf(sym, sizeof(sym), "%s/sym.img", dir);
	snprintf(hard, sizeof(hard), "%s/hard.img", dir);
	snprintf(dotted, sizeof(dotted), "%s/./a.img", dir);
	assert_int_equal(symlink("a.img", sym), 0);
	assert_int_equal(link(img, hard), 0);
	assert_int_equal(disk_lock_open(&a, img, true, 0, msg, sizeof(msg)), 0);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(disk_lock_open(&b, names[i], true, 1, msg, sizeof(msg)), 0);
		assert_true(disk_same_file(&a.st, &b.st));
		disk_lock_release(&b);
	}
	assert_int_equal(disk_lock_open(&b, other, true, 1, msg, sizeof(msg)), 0);
	assert_false(disk_same_file(&a.st, &b.st));
	disk_lock_release(&b);
	disk_lock_release(&a);
}

static void test_what_is_not_a_disk_is_refused_at_open(void **state)
{
	struct disk_lock l = { 0 };
	char msg[512], fifo[160];

	(void)state;
	assert_int_equal(disk_lock_open(&l, "/nonexistent/x.img", false, 2, msg, sizeof(msg)), -ENOENT);
	assert_non_null(strstr(msg, "disk 2: cannot open /nonexistent/x.img for reading and writing"));
	assert_int_equal(disk_lock_open(&l, dir, true, 0, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "is not a regular file or a block device"));
	/* A FIFO would block a plain open for reading until a writer came: refused at once. */
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(disk_lock_open(&l, fifo, true, 0, msg, sizeof(msg)), -EINVAL);
	disk_lock_release(&l); /* after a failed open: nothing to do, no crash */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_a_writer_excludes_everyone_readers_share, setup, teardown),
		cmocka_unit_test_setup_teardown(test_the_holder_is_named_by_pid_and_command, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_file_under_any_spelling_is_the_same_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_what_is_not_a_disk_is_refused_at_open, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
