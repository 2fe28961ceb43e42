// SPDX-License-Identifier: MIT
/*
 * kvm tier: `xenith save` and `xenith restore` (hv/relocate.c) on real
 * domains.  The guest says what it kept: a ticker's numbering goes on from
 * where it stopped, the relocate program (guest/relocate_test.c) checks
 * that every vCPU counts and 16 MiB of pattern survive, a periodic timer
 * delivers every tick, a disk under I/O loses no write; bad streams are
 * refused naming what is wrong, and a save that fails leaves the domain
 * running.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "blkverify.h"
#include "harness.h"
#include "skip.h"
#include "testutil.h"

static struct proc P, Q, R;


/* The highest N of the "tick N" lines p printed so far, 0 if none. */
static unsigned last_tick(struct proc *p)
{
	unsigned best = 0;

	proc_pump(p, 0);
	for (const char *s = p->out; (s = strstr(s, "tick ")); s += 5) {
		unsigned n;

		if ((s == p->out || s[-1] == '\n') && sscanf(s + 5, "%u", &n) == 1 && n > best)
			best = n;
	}
	return best;
}

static bool file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* Saves NAME to path (the domain goes), checks what save said and that the VMM ended. */
static void save(struct proc *vmm, const char *name, const char *path)
{
	char partial[512], want[300];

	if (RUN(&R, 60, "save", name, path) != 0)
		fail_msg("xenith save %s %s: status %d\n%s%s", name, path, R.status, R.out, R.err);
	snprintf(want, sizeof(want), "saved '%s' to %s: ", name, path);
	assert_non_null(strstr(R.out, want));
	assert_true(file_exists(path));
	snprintf(partial, sizeof(partial), "%s.partial", path);
	assert_false(file_exists(partial));
	proc_wait(vmm, 20);
	assert_int_equal(vmm->status, 67);
	assert_non_null(strstr(vmm->err, "saved by `xenith save`"));
}

static void test_restored_ticker_goes_on_from_the_tick_where_it_was_saved(void **state)
{
	char file[256], next[32];
	unsigned k;

	(void)state;
	harness_path(file, sizeof(file), "ticker.xs");
	proc_start(&P, (const char *const[]){ "run", "--name", "t-sr", "--cmdline", "ticker 20", NULL });
	assert_true(proc_wait_line(&P, "tick 5", 20));
	save(&P, "t-sr", file);
	k = last_tick(&P);
	assert_true(k >= 5);

	proc_start(&Q, (const char *const[]){ "restore", file, NULL });
	snprintf(next, sizeof(next), "tick %u", k + 1);
	if (!proc_wait_line(&Q, next, 20))
		fail_msg("no '%s' after the restore:\n%s%s", next, Q.out, Q.err);
	/* It went on: no tick it had printed before is printed again, none is skipped. */
	snprintf(next, sizeof(next), "tick %u", k);
	assert_int_equal(proc_count_lines(&Q, next), 0);
	assert_int_equal(proc_count_lines(&Q, "tick 1"), 0);
	assert_non_null(strstr(Q.err, "restored 't-sr' from"));
	assert_int_equal(RUN(&R, 20, "shutdown", "t-sr"), 0);
	proc_wait(&Q, 20);
	assert_int_equal(Q.status, 0);
	assert_non_null(strstr(Q.out, "ticker: shutdown requested"));
}

static void test_save_keep_leaves_the_domain_running_and_the_copy_runs_too(void **state)
{
	char file[256], next[32], other[256];
	unsigned k;

	(void)state;
	harness_path(file, sizeof(file), "keep.xs");
	proc_start(&P, (const char *const[]){ "run", "--name", "t-keep", "--cmdline", "ticker 20", NULL });
	assert_true(proc_wait_line(&P, "tick 3", 20));
	if (RUN(&R, 60, "save", "--keep", "t-keep", file) != 0)
		fail_msg("xenith save --keep: %d\n%s", R.status, R.err);
	assert_non_null(strstr(R.out, "running on"));
	k = last_tick(&P);
	snprintf(next, sizeof(next), "tick %u", k + 3);
	assert_true(proc_wait_line(&P, next, 20)); /* the original ticks on */

	/* Its domain id is the original's, which runs on here: refused, saying so. */
	assert_int_equal(RUN(&R, 20, "restore", "--name", "t-keep2", file), 64);
	assert_non_null(strstr(R.err, "which the saved guest knows itself by, is taken"));
	/* In another run directory (another host's, as far as ids go) the copy runs beside it. */
	harness_path(other, sizeof(other), "other-run");
	assert_int_equal(mkdir(other, 0700), 0);
	proc_start(&Q, (const char *const[]){ "restore", "--run-dir", other, file, NULL });
	assert_true(proc_wait_count(&Q, "tick ", 3, 20));
	assert_int_equal(proc_count_lines(&Q, "tick 1"), 0);
	assert_int_equal(RUN(&R, 20, "shutdown", "t-keep"), 0);
	assert_int_equal(RUN(&R, 20, "shutdown", "--run-dir", other, "t-keep"), 0);
	proc_wait(&P, 20);
	proc_wait(&Q, 20);
	assert_int_equal(P.status, 0);
	assert_int_equal(Q.status, 0);
}

/*
 * Four saves and restores in a row, each of the domain the last one
 * restored: every vCPU counts on (the guest asserts it every round), every
 * SCHEDOP_poll answers 0 or -ETIMEDOUT (a vCPU asleep in one at the save
 * makes it again), and the pattern survives.
 */
static void test_smp_domain_keeps_every_vcpu_and_its_memory_across_save_and_restore(void **state)
{
	struct proc *cur = &P, *next = &Q;
	char file[256];
	const char *gap;

	(void)state;
	harness_path(file, sizeof(file), "smp.xs");
	proc_start(cur, (const char *const[]){ "run", "--name", "t-smp", "--memory", "64", "--vcpus", "2",
					       "--cmdline", "relocate 20", NULL });
	assert_true(proc_wait_output(cur, "relocate: round 5 ", 30));
	for (int i = 0; i < 4; i++) {
		struct proc *t;

		save(cur, "t-smp", file);
		proc_start(next, (const char *const[]){ "restore", file, NULL });
		/* 5 more rounds after the restore, each checking that both vCPUs counted within a second */
		if (!proc_wait_count(next, "relocate: round ", 5, 30))
			fail_msg("restore %d:\n%s%s", i + 1, next->out, next->err);
		t = cur;
		cur = next;
		next = t;
	}
	assert_int_equal(RUN(&R, 20, "shutdown", "t-smp"), 0);
	proc_wait(cur, 30);
	if (cur->status != 0)
		fail_msg("status %d after the restores:\n%s%s", cur->status, cur->out, cur->err);
	assert_non_null(strstr(cur->out, "relocate: done"));
	assert_non_null(strstr(cur->out, "pattern intact"));
	gap = strstr(cur->out, "largest gap ");
	assert_non_null(gap);
	fprintf(stderr, "# after four saves and restores, the guest's %s", gap);
}

/* The timer program waits for 100 ticks of 10 ms: a periodic timer lost in the restore never ends it. */
static void test_periodic_timer_goes_on_after_a_restore(void **state)
{
	char file[256];

	(void)state;
	harness_path(file, sizeof(file), "timer.xs");
	proc_start(&P, (const char *const[]){ "run", "--name", "t-tmr", "--cmdline", "timer 100 10", NULL });
	assert_true(harness_wait_domain_state("t-tmr", "running", 20));
	proc_pump(&P, 0.3);
	save(&P, "t-tmr", file);
	assert_null(strstr(P.out, "timer: ")); /* saved before it was done */
	proc_start(&Q, (const char *const[]){ "restore", file, NULL });
	proc_wait(&Q, 30);
	if (Q.status != 0)
		fail_msg("status %d after the restore:\n%s%s", Q.status, Q.out, Q.err);
	assert_non_null(strstr(Q.out, "timer: 100 ticks of 10 ms"));
}

static void write_copy(const char *path, const void *data, size_t len);

/* A copy of the CPL-0 stream at path without its UPCALL record is refused, naming it. */
static void refuse_without_upcall(const char *path)
{
	char bad[256];
	size_t len, off, whole;
	uint8_t *s = (uint8_t *)test_read_file(path, &len);
	bool found = false;

	for (off = 32; off + 16 <= len; off += whole) {
		uint32_t type, body;

		memcpy(&type, s + off, 4);
		memcpy(&body, s + off + 4, 4);
		whole = 16 + ((body + 7u) & ~7u);
		if ((type & 0x7fffffffu) == 12) { /* MIG_REC_UPCALL */
			memmove(s + off, s + off + whole, len - off - whole);
			len -= whole;
			found = true;
			break;
		}
	}
	assert_true(found);
	harness_path(bad, sizeof(bad), "no-upcall.xs");
	write_copy(bad, s, len);
	free(s);
	assert_int_equal(RUN(&R, 30, "restore", bad), 65);
	if (!strstr(R.err, "without an UPCALL record"))
		fail_msg("restore without UPCALL:\n%s", R.err);
}

/*
 * guest_cpl = 0 (VT-x/AMD-V hosts: the lab).  The timer program takes its
 * ticks as interrupts on the vector it registered and halts between them:
 * saved while halted and restored, it must get the rest of its 100 ticks
 * (a vector or an owed upcall lost in the restore leaves it halted for
 * good).  The ticker sleeps in hypercalls, which VT-x and AMD-V complete
 * only at the next run: restored, it goes on from the tick after its last.
 */
static void test_cpl0_domain_keeps_its_upcall_vector_and_sleeping_vcpu_across_save_and_restore(void **state)
{
	char file[256], next[32];
	unsigned k;

	(void)state;
	if (!harness_host_runs_cpl0())
		SKIP_BECAUSE("guest_cpl = 0 needs VT-x/AMD-V; this host's KVM does not run CPL 0 natively");
	harness_path(file, sizeof(file), "cpl0-timer.xs");
	proc_start(&P, (const char *const[]){ "run", "--name", "t-c0", "--guest-cpl", "0", "--cmdline",
					      "timer 100 10", NULL });
	assert_true(harness_wait_domain_state("t-c0", "running", 30));
	proc_pump(&P, 0.3);
	save(&P, "t-c0", file);
	assert_null(strstr(P.out, "timer: ")); /* saved before it was done */
	refuse_without_upcall(file);
	proc_start(&Q, (const char *const[]){ "restore", file, NULL });
	proc_wait(&Q, 60);
	if (Q.status != 0 || !strstr(Q.out, "timer: 100 ticks of 10 ms") || !strstr(Q.out, "at CPL 0 via interrupts"))
		fail_msg("status %d after the restore:\n%s%s", Q.status, Q.out, Q.err);

	harness_path(file, sizeof(file), "cpl0-ticker.xs");
	proc_start(&P, (const char *const[]){ "run", "--name", "t-c0t", "--guest-cpl", "0", "--cmdline",
					      "ticker 20", NULL });
	assert_true(proc_wait_line(&P, "tick 3", 60));
	save(&P, "t-c0t", file);
	k = last_tick(&P);
	proc_start(&Q, (const char *const[]){ "restore", file, NULL });
	snprintf(next, sizeof(next), "tick %u", k + 1);
	if (!proc_wait_line(&Q, next, 60))
		fail_msg("no '%s' after the restore:\n%s%s", next, Q.out, Q.err);
	snprintf(next, sizeof(next), "tick %u", k);
	assert_int_equal(proc_count_lines(&Q, next), 0);
	assert_int_equal(RUN(&R, 30, "shutdown", "t-c0t"), 0);
	proc_wait(&Q, 30);
	assert_int_equal(Q.status, 0);
}

/* Writes len bytes of data to path. */
static void write_copy(const char *path, const void *data, size_t len)
{
	test_write_file(path, data, len);
}

static void expect_refused(const char *path, const char *what1, const char *what2)
{
	char st[32];

	assert_int_equal(RUN(&R, 30, "restore", path), 65);
	if (!strstr(R.err, what1) || (what2 && !strstr(R.err, what2)))
		fail_msg("restore of %s: expected '%s'%s%s in:\n%s", path, what1, what2 ? " and " : "",
			 what2 ? what2 : "", R.err);
	/* nothing of it is left running */
	assert_false(harness_domain_state("t-bad", st, sizeof(st)));
}

static void test_corrupt_truncated_foreign_and_older_streams_are_refused_naming_why(void **state)
{
	char file[256], bad[256];
	uint8_t *s;
	size_t len;
	uint32_t v;

	(void)state;
	harness_path(file, sizeof(file), "good.xs");
	proc_start(&P, (const char *const[]){ "run", "--name", "t-bad", "--cmdline", "ticker 20", NULL });
	assert_true(proc_wait_line(&P, "tick 2", 20));
	save(&P, "t-bad", file);
	s = (uint8_t *)test_read_file(file, &len);
	assert_true(len > 8192);

	harness_path(bad, sizeof(bad), "flipped.xs");
	s[len / 2] ^= 0x40; /* in some page's bytes: its record's checksum no longer matches */
	write_copy(bad, s, len);
	expect_refused(bad, "checksum", "record ");
	s[len / 2] ^= 0x40;

	harness_path(bad, sizeof(bad), "truncated.xs");
	write_copy(bad, s, len / 3);
	expect_refused(bad, "truncated at byte", NULL);

	harness_path(bad, sizeof(bad), "foreign.xs");
	{
		static const char text[] = "# a config file, not a stream\nname = \"web\"\nmemory = 64\n";

		write_copy(bad, text, sizeof(text) - 1);
	}
	expect_refused(bad, "not a Xenith stream", NULL);

	harness_path(bad, sizeof(bad), "older.xs");
	memcpy(&v, s + 8, 4);
	v = 0; /* a version before this one */
	memcpy(s + 8, &v, 4);
	write_copy(bad, s, len);
	expect_refused(bad, "stream version 0", "this Xenith's 1");
	free(s);

	/* the good one still restores */
	proc_start(&Q, (const char *const[]){ "restore", file, NULL });
	assert_true(proc_wait_count(&Q, "tick ", 2, 20));
	assert_int_equal(RUN(&R, 20, "destroy", "t-bad"), 0);
	proc_wait(&Q, 20);
}

/* The kernel image changed between save and restore: refused, naming it, before anything runs. */
static void test_restore_refuses_a_changed_kernel_image(void **state)
{
	char file[256], img[256];
	char *data;
	size_t len;

	(void)state;
	harness_path(file, sizeof(file), "img.xs");
	harness_path(img, sizeof(img), "minios-copy");
	data = test_read_file(harness_minios(), &len);
	write_copy(img, data, len);
	proc_start(&P, (const char *const[]){ "run", "--name", "t-img", "--kernel", img, "--cmdline", "ticker 20",
					      NULL });
	assert_true(proc_wait_line(&P, "tick 2", 20));
	save(&P, "t-img", file);
	data[len - 1] ^= 1; /* the last byte: still an image that loads */
	write_copy(img, data, len);
	free(data);
	assert_int_equal(RUN(&R, 30, "restore", file), 65);
	assert_non_null(strstr(R.err, "is not the one the domain was saved with"));
	assert_non_null(strstr(R.err, img));
}

/*
 * The stream's reader goes away mid-save (a pipe closed): the save fails
 * saying so, and the domain runs on where it was.
 */
static void test_a_save_whose_stream_breaks_leaves_the_domain_running(void **state)
{
	int pipefd[2], status;
	char next[32];
	unsigned k;
	pid_t pid;

	(void)state;
	proc_start(&P, (const char *const[]){ "run", "--name", "t-brk", "--cmdline", "ticker 20", NULL });
	assert_true(proc_wait_line(&P, "tick 3", 20));
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int err = open("/dev/null", O_WRONLY);

		close(pipefd[0]); /* nobody reads: the VMM's first write fails with EPIPE */
		dup2(pipefd[1], 1);
		dup2(err, 2);
		execl(harness_xenith(), "xenith", "save", "t-brk", "-", (char *)NULL);
		_exit(127);
	}
	close(pipefd[0]);
	close(pipefd[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	k = last_tick(&P);
	snprintf(next, sizeof(next), "tick %u", k + 2);
	assert_true(proc_wait_line(&P, next, 20)); /* it runs on */
	assert_int_equal(RUN(&R, 20, "shutdown", "t-brk"), 0);
	proc_wait(&P, 20);
	assert_int_equal(P.status, 0);
}

/*
 * A disk under I/O: the guest writes 4000 blocks of a pattern one request
 * at a time, flushes, waits, reads them back and checks them.  The save
 * lands while it writes (requests in flight complete first, their
 * responses reach the ring), the restore goes on from there; the guest
 * finds no bad word, and neither does the host in the image.
 */
static void disk_under_io(const char *mode)
{
	char file[256], img[256], disk[400], name[32];
	int fd;

	snprintf(name, sizeof(name), "t-io-%s", mode);
	harness_path(file, sizeof(file), "io.xs");
	harness_path(img, sizeof(img), "io.img");
	fd = open(img, O_CREAT | O_TRUNC | O_RDWR, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 16 << 20), 0);
	close(fd);
	snprintf(disk, sizeof(disk), "path=%s,mode=%s", img, mode);
	proc_start(&P, (const char *const[]){ "run", "--name", name, "--disk", disk, "--cmdline",
					      "blk verify disk=0 blocks=4000 bs=4096 seed=11 pause=200", NULL });
	assert_true(proc_wait_output(&P, "connected through xenstore", 20));
	save(&P, name, file);
	/* saved while writing: the guest had not finished */
	assert_null(strstr(P.out, "written and flushed"));
	proc_start(&Q, (const char *const[]){ "restore", file, NULL });
	proc_wait(&Q, 60);
	if (Q.status != 0 || !strstr(Q.out, "read back, 0 bad words"))
		fail_msg("mode=%s: status %d after the restore:\n%s%s", mode, Q.status, Q.out, Q.err);
	host_verifies(img, 11, 4000 * 4096ull, 0);
}

static void test_a_disk_under_io_survives_save_and_restore(void **state)
{
	(void)state;
	disk_under_io("ioeventfd");
	disk_under_io("exit");
	disk_under_io("poll");
}

/*
 * A restored domain's first build wrote nothing into its memory (the
 * stream's pages fill it): a reboot afterwards must build it in full, and
 * the guest boots afresh ("tick 1" again).
 */
static void test_a_restored_domain_reboots_into_a_fresh_boot(void **state)
{
	char file[256];

	(void)state;
	harness_path(file, sizeof(file), "reboot.xs");
	proc_start(&P, (const char *const[]){ "run", "--name", "t-srb", "--cmdline", "ticker 20", NULL });
	assert_true(proc_wait_line(&P, "tick 3", 20));
	save(&P, "t-srb", file);
	proc_start(&Q, (const char *const[]){ "restore", file, NULL });
	if (!proc_wait_output(&Q, "tick ", 20) || proc_count_lines(&Q, "tick 1"))
		fail_msg("no tick after the restore, or a fresh boot's:\n%s%s", Q.out, Q.err);
	assert_non_null(strstr(Q.err, "restored 't-srb' from"));
	assert_int_equal(RUN(&R, 20, "shutdown", "--reboot", "t-srb"), 0);
	if (!proc_wait_line(&Q, "tick 1", 20))
		fail_msg("the restored domain did not boot afresh after its reboot:\n%s%s", Q.out, Q.err);
	assert_non_null(strstr(Q.out, "ticker: reboot requested\n"));
	assert_non_null(strstr(Q.err, "asked to reboot; restarting it"));
	assert_int_equal(RUN(&R, 20, "shutdown", "-w", "t-srb"), 0);
	proc_wait(&Q, 20);
	assert_int_equal(Q.status, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_restored_ticker_goes_on_from_the_tick_where_it_was_saved,
					  harness_teardown),
		cmocka_unit_test_teardown(test_save_keep_leaves_the_domain_running_and_the_copy_runs_too,
					  harness_teardown),
		cmocka_unit_test_teardown(test_smp_domain_keeps_every_vcpu_and_its_memory_across_save_and_restore,
					  harness_teardown),
		cmocka_unit_test_teardown(test_periodic_timer_goes_on_after_a_restore, harness_teardown),
		cmocka_unit_test_teardown(test_cpl0_domain_keeps_its_upcall_vector_and_sleeping_vcpu_across_save_and_restore,
					  harness_teardown),
		cmocka_unit_test_teardown(test_corrupt_truncated_foreign_and_older_streams_are_refused_naming_why,
					  harness_teardown),
		cmocka_unit_test_teardown(test_restore_refuses_a_changed_kernel_image, harness_teardown),
		cmocka_unit_test_teardown(test_a_save_whose_stream_breaks_leaves_the_domain_running,
					  harness_teardown),
		cmocka_unit_test_teardown(test_a_disk_under_io_survives_save_and_restore, harness_teardown),
		cmocka_unit_test_teardown(test_a_restored_domain_reboots_into_a_fresh_boot, harness_teardown),
	};

	harness_require_kvm();
	harness_run_dir();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
