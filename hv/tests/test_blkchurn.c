// SPDX-License-Identifier: MIT
/*
 * kvm tier: minios's `blk churn` (guest/blkchurn.c), the guest side of the
 * soak suite's disk-churn and reboot scenarios: queues connected, loaded
 * and disconnected with requests in flight, many times, and then the data
 * path, the guest's memory and its grants checked.
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
#include <unistd.h>
#include <cmocka.h>

#include "blkpattern.h"
#include "harness.h"

#define DISK_BYTES (8 << 20)

static struct proc P;
static char disk0[256], disk1[256], mbox[256];
static char arg0[320], arg1[320], argm[320];

static void make_file(char *path, size_t size, const char *name, off_t bytes)
{
	int fd;

	harness_path(path, size, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, bytes), 0);
	close(fd);
}

static int setup(void **state)
{
	(void)state;
	make_file(disk0, sizeof(disk0), "c0.img", DISK_BYTES);
	make_file(disk1, sizeof(disk1), "c1.img", DISK_BYTES);
	make_file(mbox, sizeof(mbox), "mbox.img", 4096);
	snprintf(arg0, sizeof(arg0), "path=%s,mode=ioeventfd,queues=2", disk0);
	snprintf(arg1, sizeof(arg1), "path=%s,mode=exit", disk1);
	snprintf(argm, sizeof(argm), "path=%s,mode=ioeventfd,direct=0,queues=1", mbox);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	harness_teardown(state); /* every xenith the test left running */
	return 0;
}

/* The verify pass's blocks (4 KiB each from the disk's middle) hold the pattern on the host. */
static void host_verifies(const char *path, uint64_t seed, unsigned blocks)
{
	uint64_t base = DISK_BYTES / 2, w, bad = 0, blank = 0;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	for (uint64_t off = base; off < base + blocks * 4096ull; off += 8) {
		assert_int_equal(pread(fd, &w, 8, (off_t)off), 8);
		bad += w != blk_pattern(seed, off);
		blank += w == 0; /* a pattern of zeroes would match an untouched disk */
	}
	close(fd);
	assert_int_equal(bad, 0);
	assert_int_equal(blank, 0);
}

/* The summary's counts: requests, answered before, during, never. */
static void summary(unsigned long long c[4])
{
	const char *s = strstr(P.out, "cycles: ");

	assert_non_null(s);
	assert_int_equal(sscanf(s, "cycles: %llu requests, %llu answered before the disconnect, %llu during it, "
				"%llu never taken, 0 errors", &c[0], &c[1], &c[2], &c[3]), 4);
	assert_int_equal(c[0], c[1] + c[2] + c[3]);
}

static void free_pages_kept(void)
{
	const char *s = strstr(P.out, "guest free pages after the first cycle ");
	unsigned long first, last;

	assert_non_null(s);
	assert_int_equal(sscanf(s, "guest free pages after the first cycle %lu, after the last %lu", &first, &last),
			 2);
	assert_int_equal(first, last); /* a ring page lost per connect would show here */
}

/*
 * 200 cycles over a two-queue ioeventfd disk and an exit-mode disk: the
 * backends finish what they took, the guest loses no page, gets every grant
 * back, and the data path still writes and reads the pattern.
 */
static void test_churn_with_requests_in_flight_loses_nothing_and_the_disks_still_work(void **state)
{
	unsigned long long c[4];
	int st;

	(void)state;
	st = RUN(&P, 120, "run", "--name", "t-churn", "-m", "32", "--disk", arg0, "--disk", arg1, "--cmdline",
		 "blk churn cycles=200 disks=2 depth=8 wait=1 seed=11");
	summary(c);
	free_pages_kept(); /* first: what the guest's own check failed on */
	assert_int_equal(st, 0);
	assert_int_equal(c[0], 200ull * (2 + 1) * 8);
	assert_true(c[2] > 0); /* some were in flight when the disconnect came */
	assert_non_null(strstr(P.out, "disk 0 verify: 16 blocks, 0 bad words"));
	assert_non_null(strstr(P.out, "disk 1 verify: 16 blocks, 0 bad words"));
	assert_non_null(strstr(P.out, "24 I/O pages taken back, 0 still held by the backend"));
	assert_non_null(strstr(P.out, "blk-churn: ok"));
	host_verifies(disk0, 11, 16);
	host_verifies(disk1, 11, 16);
}

static void test_churn_in_poll_mode(void **state)
{
	char d[320];
	unsigned long long c[4];

	(void)state;
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP_BECAUSE("poll mode needs a CPU for its backend besides the vCPU's");
	snprintf(d, sizeof(d), "path=%s,mode=poll,queues=1", disk0);
	assert_int_equal(RUN(&P, 120, "run", "--name", "t-churn-poll", "-m", "32", "--disk", d, "--cmdline",
			     "blk churn cycles=100 disks=1 depth=16 wait=2 seed=12"), 0);
	summary(c);
	free_pages_kept();
	assert_non_null(strstr(P.out, "blk-churn: ok"));
	host_verifies(disk0, 12, 16);
}

/* Parses the token of the handshake after `cycle` and writes it back into the mailbox. */
static void ack(unsigned long cycle)
{
	char needle[64];
	const char *s;
	unsigned long long token = 0;
	uint64_t w[2];
	int fd;

	snprintf(needle, sizeof(needle), "blk-churn: wait cycle=%lu token=", cycle);
	assert_true(proc_wait_output(&P, needle, 30));
	s = strstr(P.out, needle);
	assert_int_equal(sscanf(s + strlen(needle), "%llu", &token), 1);
	w[0] = BLK_ACK_MAGIC;
	w[1] = token;
	fd = open(mbox, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, w, sizeof(w), 0), (ssize_t)sizeof(w));
	close(fd);
}

/* mailbox=D sample=N: the guest stops after every N-th cycle until the host answers. */
static void test_churn_waits_for_the_host_at_every_sample_point(void **state)
{
	(void)state;
	proc_start(&P, (const char *const[]){ "run", "--name", "t-churn-mbox", "-m", "32", "--disk", arg0,
					      "--disk", argm, "--cmdline",
					      "blk churn cycles=20 disks=1 mailbox=1 sample=5 seed=13", NULL });
	for (unsigned long c = 5; c <= 20; c += 5)
		ack(c);
	proc_wait(&P, 60);
	assert_int_equal(P.status, 0);
	assert_int_equal(proc_count(&P, "blk-churn: wait cycle="), 4);
	assert_non_null(strstr(P.out, "blk-churn: ok"));
}

static void test_churn_without_an_answer_gives_up_with_the_reason(void **state)
{
	(void)state;
	assert_int_equal(RUN(&P, 60, "run", "--name", "t-churn-noack", "-m", "32", "--disk", arg0, "--disk", argm,
			     "--cmdline", "blk churn cycles=4 disks=1 mailbox=1 sample=2 ackwait=200"), 4);
	assert_non_null(strstr(P.out, "blk-churn: wait cycle=2 token="));
	assert_non_null(strstr(P.out, "no answer in the mailbox (disk 1) within 200 ms"));
}

/* leave=1 reboot=1: the domain reboots with requests in flight; the VMM's teardown copes. */
static void test_churn_can_end_in_a_reboot_with_requests_in_flight(void **state)
{
	(void)state;
	assert_int_equal(RUN(&P, 60, "run", "--name", "t-churn-reboot", "-m", "32", "--on-reboot", "destroy",
			     "--disk", arg0, "--disk", arg1, "--cmdline",
			     "blk churn cycles=4 disks=2 leave=1 reboot=1 seed=14"), 69);
	assert_non_null(strstr(P.out, "blk-churn: ok"));
	assert_non_null(strstr(P.err, "asked to reboot"));
	host_verifies(disk0, 14, 16);
}

static void test_bad_churn_options_are_refused(void **state)
{
	(void)state;
	assert_int_equal(RUN(&P, 30, "run", "--name", "t-churn-bad", "-m", "32", "--disk", arg0, "--cmdline",
			     "blk churn cycles=x"), 2);
	assert_non_null(strstr(P.out, "'cycles=x' is not key=number"));
	assert_int_equal(RUN(&P, 30, "run", "--name", "t-churn-bad", "-m", "32", "--disk", arg0, "--cmdline",
			     "blk churn colour=3"), 2);
	assert_non_null(strstr(P.out, "unknown option 'colour'"));
	assert_int_equal(RUN(&P, 30, "run", "--name", "t-churn-bad", "-m", "32", "--disk", arg0, "--cmdline",
			     "blk churn mailbox=0 sample=1"), 2); /* the mailbox is a data disk */
	assert_int_equal(RUN(&P, 30, "run", "--name", "t-churn-bad", "-m", "32", "--disk", arg0, "--cmdline",
			     "blk churn depth=4 wait=5"), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_churn_with_requests_in_flight_loses_nothing_and_the_disks_still_work,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_churn_in_poll_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_churn_waits_for_the_host_at_every_sample_point, setup, teardown),
		cmocka_unit_test_setup_teardown(test_churn_without_an_answer_gives_up_with_the_reason, setup, teardown),
		cmocka_unit_test_setup_teardown(test_churn_can_end_in_a_reboot_with_requests_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_churn_options_are_refused, setup, teardown),
	};

	harness_require_kvm();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
