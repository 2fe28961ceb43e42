// SPDX-License-Identifier: MIT
/*
 * kvm tier: the block split driver end to end, minios's blkfront against
 * the VMM's blkback, with the host checking the backing files itself.
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
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "blkpattern.h"
#include "harness.h"


static struct proc P, P2;
static char disk0[256], disk1[256];
static char loopdev[64]; /* a loop device a test set up, detached in teardown */

static void make_disk(char *path, size_t size, const char *name, off_t bytes)
{
	int fd;

	snprintf(path, size, "%s/%s", harness_run_dir(), name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, bytes), 0);
	close(fd);
}

static int setup(void **state)
{
	(void)state;
	make_disk(disk0, sizeof(disk0), "d0.img", 16 << 20);
	make_disk(disk1, sizeof(disk1), "d1.img", 4 << 20);
	return 0;
}

/* A domain a failed assertion left running (hold=1 waits for ever) is killed here. */
static int teardown(void **state)
{
	(void)state;
	harness_teardown(state); /* every xenith the test left running */
	if (loopdev[0]) {
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "losetup -d %s", loopdev);
		if (system(cmd) != 0)
			fprintf(stderr, "teardown: %s failed\n", cmd);
		loopdev[0] = 0;
	}
	return 0;
}

/*
 * Checks the backing file word by word: [0, zero_head) zero (discarded),
 * then the pattern up to `bytes`; the rest of the file must still be zero.
 */
static void host_verifies(const char *path, uint64_t seed, uint64_t bytes, uint64_t zero_head)
{
	FILE *f = fopen(path, "rb");
	uint64_t off = 0, w, bad = 0, nonzero = 0, blank = 0;

	assert_non_null(f);
	while (fread(&w, 8, 1, f) == 1) {
		if (off < zero_head)
			nonzero += w != 0;
		else if (off < bytes) {
			bad += w != blk_pattern(seed, off);
			blank += w == 0; /* a pattern of zeroes would match an untouched disk */
		}
		else
			nonzero += w != 0;
		off += 8;
	}
	fclose(f);
	assert_int_equal(bad, 0);
	assert_int_equal(blank, 0);
	assert_int_equal(nonzero, 0);
	assert_true(off >= bytes);
}

static char *disk_arg(char *buf, size_t size, const char *path, const char *extra)
{
	snprintf(buf, size, "path=%s%s", path, extra);
	return buf;
}

/*
 * Both data paths: I/O in place on persistently mapped pages (the default),
 * and grant copies; spread=1200 reads into more pages than the backend maps
 * persistently (1056 per ring), so the persistent run takes both paths.
 */
static void test_written_data_is_on_the_backing_file_reads_back_and_discards(void **state)
{
	static const struct { const char *disk_opt, *grants; unsigned long seed; } paths[] = {
		{ ",mode=exit", "persistent", 4242 },
		{ ",mode=exit,persistent=0", "copied", 4343 },
	};

	(void)state;
	for (unsigned i = 0; i < 2; i++) {
		char d[320], cmd[96], line[64];

		snprintf(cmd, sizeof(cmd), "blk verify blocks=96 bs=20480 seed=%lu discard=1 spread=1200",
			 paths[i].seed);
		assert_int_equal(RUN(&P, 60, "run", "--name", "t-blk-verify", "-m", "32",
				     "--disk", disk_arg(d, sizeof(d), disk0, paths[i].disk_opt),
				     "--cmdline", cmd), 0);
		snprintf(line, sizeof(line), "blk-verify: %s grants", paths[i].grants);
		assert_non_null(strstr(P.out, line));
		assert_non_null(strstr(P.out, "blk-verify: 96 blocks of 20480 bytes written and flushed"));
		assert_non_null(strstr(P.out, "read back, 0 bad words"));
		assert_non_null(strstr(P.out, "block 0 discarded, reads back 0 non-zero bytes"));
		assert_non_null(strstr(P.out, "read into 1200 different pages, 0 wrong"));
		assert_non_null(strstr(P.out, "after disconnect, 0 of 1200 spread pages still held"));
		if (i == 0) {
			assert_non_null(strstr(P.out, "while connected: refused, the backend holds it"));
			assert_non_null(strstr(P.out, "after disconnect: released"));
		}
		host_verifies(disk0, paths[i].seed, 96 * 20480ull, 20480);
	}
}

static void test_flushed_data_survives_sigkill_of_the_vmm(void **state)
{
	char d[320];

	(void)state;
	proc_start(&P, (const char *const[]){ "run", "--name", "t-blk-kill", "-m", "32", "--disk",
					      disk_arg(d, sizeof(d), disk0, ""), "--cmdline",
					      "blk verify blocks=40 bs=4096 seed=99 hold=1", NULL });
	assert_true(proc_wait_output(&P, "blk-verify: holding", 30));
	kill(P.pid, SIGKILL); /* after the flush's response, before any orderly end */
	proc_wait(&P, 20);
	assert_int_equal(P.status, 128 + SIGKILL);
	host_verifies(disk0, 99, 40 * 4096ull, 0);
}

/* `xenith disks`: one entry per queue, with its state and the backend's counters. */
static void test_xenith_disks_reports_queues_and_counters(void **state)
{
	static struct proc Q;
	char a[320], b[320];
	const char *q0, *q1, *d1;

	(void)state;
	proc_start(&P, (const char *const[]){ "run", "--name", "t-blk-disks", "-m", "32", "--vcpus", "2",
					      "--disk", disk_arg(a, sizeof(a), disk0, ",mode=exit"),
					      "--disk", disk_arg(b, sizeof(b), disk1, ",ro=1,persistent=0,queues=1"),
					      "--cmdline", "blk verify blocks=40 bs=4096 seed=5 hold=1", NULL });
	assert_true(proc_wait_output(&P, "blk-verify: holding", 30));
	assert_int_equal(RUN(&Q, 20, "disks", "t-blk-disks", "--json"), 0);
	q0 = strstr(Q.out, "{\"disk\":0,\"queue\":0,");
	q1 = strstr(Q.out, "{\"disk\":0,\"queue\":1,");
	d1 = strstr(Q.out, "{\"disk\":1,\"queue\":0,");
	assert_non_null(q0);
	assert_non_null(q1);  /* two vCPUs: two queues by default */
	assert_non_null(d1);
	assert_null(strstr(Q.out, "{\"disk\":1,\"queue\":1,")); /* queues=1 */
	/* 40 one-page writes and a flush went through queue 0, with persistent grants. */
	assert_true(q0 < q1 && q1 < d1);
	assert_non_null(strstr(q0, "\"mode\":\"exit\",\"ro\":false,\"connected\":true,\"broken\":false,"
				   "\"persistent\":true,\"persistent_maps\":1,\"requests\":41,\"reads\":0,"
				   "\"writes\":40,\"flushes\":1,\"datasyncs\":1,\"discards\":0,\"errors\":0,"
				   "\"bad_requests\":0,\"copied\":0,\"in_place\":40,\"read_bytes\":0,"
				   "\"write_bytes\":163840}"));
	assert_true(strstr(q0, "\"writes\":40,") < q1);
	assert_true(strstr(q1, "\"connected\":false,") < d1);
	assert_non_null(strstr(d1, "\"mode\":\"ioeventfd\",\"ro\":true,\"connected\":false,"));
	/* The table. */
	assert_int_equal(RUN(&Q, 20, "disks", "t-blk-disks"), 0);
	assert_non_null(strstr(Q.out, "COPIED"));
	assert_non_null(strstr(Q.out, "SYNCED"));
	assert_non_null(strstr(Q.out, "connected pers 1"));
	assert_non_null(strstr(Q.out, " (ro)\n"));
	kill(P.pid, SIGKILL);
	proc_wait(&P, 20);
	/* A domain that does not exist: the reason, exit status 1. */
	assert_int_equal(RUN(&Q, 20, "disks", "t-blk-nosuch"), 1);
	assert_non_null(strstr(Q.err, "no running domain named 't-blk-nosuch'"));
}

/* utime + stime of a process, in seconds. */
static double cpu_seconds(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	p = strrchr(buf, ')'); /* the command name may hold spaces */
	assert_non_null(p);
	assert_int_equal(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st), 2);
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Poll mode stops spinning when the guest goes idle, and a later request still gets served. */
static void test_an_idle_poll_mode_disk_costs_no_cpu(void **state)
{
	char d[320];
	double c0, c1;

	(void)state;
	proc_start(&P, (const char *const[]){ "run", "--name", "t-blk-idle", "-m", "32", "--disk",
					      disk_arg(d, sizeof(d), disk0, ",mode=poll"), "--cmdline",
					      "blk verify blocks=8 bs=4096 seed=6 hold=1", NULL });
	assert_true(proc_wait_output(&P, "blk-verify: holding", 30));
	proc_pump(&P, 0.2); /* past the backend's 1 ms of polling */
	c0 = cpu_seconds(P.pid);
	proc_pump(&P, 1.0);
	c1 = cpu_seconds(P.pid);
	printf("# idle poll-mode domain: %.2f s of CPU in 1 s\n", c1 - c0);
	assert_true(c1 - c0 < 0.3); /* a spinning backend thread would take ~1 s */
	kill(P.pid, SIGKILL);
	proc_wait(&P, 20);

	/* After an idle spell the backend sleeps; the guest's next request kicks it awake. */
	assert_int_equal(RUN(&P, 60, "run", "--name", "t-blk-idle", "-m", "32", "--disk",
			     disk_arg(d, sizeof(d), disk0, ",mode=poll"), "--cmdline",
			     "blk verify blocks=8 bs=4096 seed=7 pause=50"), 0);
	/* The guest kicked again after the pause: the backend had asked for it (req_event). */
	{
		const char *p0 = strstr(P.out, "pausing 50 ms after "), *p1 = strstr(P.out, "read back, 0 bad words; ");
		unsigned long long before = 0, after = 0;

		assert_non_null(p0);
		assert_non_null(p1);
		assert_int_equal(sscanf(p0, "pausing 50 ms after %llu kicks", &before), 1);
		assert_int_equal(sscanf(p1, "read back, 0 bad words; %llu kicks", &after), 1);
		assert_true(after > before);
	}
	host_verifies(disk0, 7, 8 * 4096ull, 0);
}

static void test_hostile_requests_get_errors_and_the_other_disk_goes_on(void **state)
{
	char a[320], b[320];

	(void)state;
	/* The checks run in the guest (a wrong status is a GUEST_ASSERT, status 66). */
	assert_int_equal(RUN(&P, 60, "run", "--name", "t-blk-hostile", "-m", "32",
			     "--disk", disk_arg(a, sizeof(a), disk0, ""),
			     "--disk", disk_arg(b, sizeof(b), disk1, ",ro=1,mode=exit,persistent=0"),
			     "--cmdline", "blk hostile"), 0);
	assert_non_null(strstr(P.out, "blk-hostile: all checks passed"));
	assert_null(strstr(P.out, "WRONG"));
	assert_non_null(strstr(P.out, "grant reference past the table -> -1 ok"));
	assert_non_null(strstr(P.out, "write to a read-only disk -> -1 ok"));
	assert_non_null(strstr(P.out, "disk 1 still serves after disk 0's ring broke -> 0 ok"));
	assert_non_null(strstr(P.out, "connect queue 1 of 1 -> -22 ok"));
	assert_non_null(strstr(P.out, "connect queue 0 again -> -16 ok"));
	assert_non_null(strstr(P.out, "blk-hostile: disk 0 with persistent grants"));
	assert_non_null(strstr(P.out, "persistent grants asked of a disk without them -> -95 ok"));
	assert_non_null(strstr(P.err, "ring indices are impossible"));
	assert_non_null(strstr(P.out, "discard of 2^63 sectors -> -1 ok"));
	assert_non_null(strstr(P.out, "discard at sector 2^64-1 (no wrap-around) -> -1 ok"));
	assert_non_null(strstr(P.out, "discard on the read-only disk -> -1 ok"));
	assert_non_null(strstr(P.out, "disk 1 connected to disk 0's ring page -> -16 ok"));
	assert_non_null(strstr(P.out, "through another grant of that page -> -16 ok"));
}

/* Reads "\"<dir>\":{\"io_bytes\":N,\"total_ios\":N" from the blk-json line. */
static unsigned long long json_ios(const char *out, const char *dir)
{
	char key[32];
	const char *p;
	unsigned long long bytes, ios;

	snprintf(key, sizeof(key), "\"%s\":{", dir);
	p = strstr(out, key);
	assert_non_null(p);
	assert_int_equal(sscanf(p + strlen(key), "\"io_bytes\":%llu,\"total_ios\":%llu", &bytes, &ios), 2);
	assert_int_equal(bytes, ios * 4096);
	return ios;
}

static void test_every_notification_mode_serves_reads_and_writes(void **state)
{
	static const char *const modes[] = { "exit", "ioeventfd", "poll" };

	(void)state;
	for (unsigned i = 0; i < 3; i++) {
		char d[320], extra[32], want[64];

		snprintf(extra, sizeof(extra), ",mode=%s", modes[i]);
		assert_int_equal(RUN(&P, 60, "run", "--name", "t-blk-mode", "-m", "32",
				     "--disk", disk_arg(d, sizeof(d), disk0, extra), "--cmdline",
				     "blk rw=randrw bs=4096 iodepth=4 runtime=200"), 0);
		snprintf(want, sizeof(want), "\"mode\":\"%s\"", modes[i]);
		assert_non_null(strstr(P.out, want));
		assert_non_null(strstr(P.out, "\"errors\":0,"));
		assert_true(json_ios(P.out, "read") > 0);
		assert_true(json_ios(P.out, "write") > 0);
	}
}

/* numjobs=N: N vCPUs, each on a queue of its own; every queue moves I/O, in every mode. */
static void test_numjobs_drive_one_queue_per_vcpu(void **state)
{
	static const char *const modes[] = { "exit", "ioeventfd", "poll" };

	(void)state;
	for (unsigned i = 0; i < 3; i++) {
		char d[320], extra[32];
		unsigned long long q0 = 0, q1 = 0;
		const char *p;

		snprintf(extra, sizeof(extra), ",mode=%s", modes[i]);
		assert_int_equal(RUN(&P, 60, "run", "--name", "t-blk-mq", "-m", "32", "--vcpus", "2",
				     "--disk", disk_arg(d, sizeof(d), disk0, extra), "--cmdline",
				     "blk rw=randrw bs=4096 iodepth=4 numjobs=2 runtime=200"), 0);
		assert_non_null(strstr(P.out, "\"numjobs\":2,"));
		assert_non_null(strstr(P.out, "\"errors\":0,"));
		p = strstr(P.out, "\"job_ios\":[");
		assert_non_null(p);
		assert_int_equal(sscanf(p, "\"job_ios\":[%llu,%llu]", &q0, &q1), 2);
		assert_true(q0 > 0);
		assert_true(q1 > 0);
		assert_int_equal(q0 + q1, json_ios(P.out, "read") + json_ios(P.out, "write"));
		/* Two spinning backend threads and two vCPUs: a warning unless the host has 4 CPUs. */
		if (i == 2)
			assert_true(!!strstr(P.err, "warning: mode=poll: 2 backend thread(s) that spin and "
					     "2 vCPU(s)") == (sysconf(_SC_NPROCESSORS_ONLN) < 4));
		else
			assert_null(strstr(P.err, "warning: mode=poll"));
	}
	/* More jobs than the disk has queues: refused, saying what to change. */
	assert_int_equal(RUN(&P, 60, "run", "--name", "t-blk-mq", "-m", "32", "--vcpus", "2",
			     "--disk", disk_arg((char[320]){ 0 }, 320, disk0, ",queues=1"), "--cmdline",
			     "blk rw=randread numjobs=2 runtime=100"), 2);
	assert_non_null(strstr(P.out, "disk 0 has 1 queues"));
}

static void test_host_io_errors_become_error_responses_and_the_domain_goes_on(void **state)
{
	char d[320];
	unsigned long long errors = 0;
	const char *e;

	(void)state;
	/* Reads for 3 s; after the first second the backing file loses its data under them. */
	proc_start(&P, (const char *const[]){ "run", "--name", "t-blk-ioerr", "-m", "32", "--disk",
					      disk_arg(d, sizeof(d), disk0, ",mode=exit"), "--cmdline",
					      "blk rw=randread bs=4096 iodepth=4 runtime=3000", NULL });
	proc_pump(&P, 1.0);
	assert_int_equal(truncate(disk0, 0), 0); /* every read now ends short: a host I/O error */
	proc_wait(&P, 60);
	/* The guest saw error responses (blk exits 1 then), and was not crashed or stopped (66, 67). */
	assert_int_equal(P.status, 1);
	e = strstr(P.out, "\"errors\":");
	assert_non_null(e);
	assert_int_equal(sscanf(e, "\"errors\":%llu", &errors), 1);
	assert_true(errors > 0);
	assert_true(json_ios(P.out, "read") > 0); /* and the reads before it succeeded */
}

/*
 * Disk locks (hv/disklock.h).  A holder is a domain that sits in `idle`
 * with the disk; each test names what it expects in xenith's message.
 */
static void start_holder(struct proc *p, const char *name, const char *path, const char *extra)
{
	char d[320];

	proc_start(p, (const char *const[]){ "run", "--name", name, "-m", "32", "--disk",
					     disk_arg(d, sizeof(d), path, extra), "--cmdline", "idle", NULL });
	if (!proc_wait_output(p, "idle: waiting for the toolstack", 30))
		fail_msg("holder %s did not start: %s", name, p->err);
}

/* "pid N (" and the holder's domain name, as the message must give them. */
static void expect_holder_named(const char *err, const struct proc *holder, const char *name)
{
	char want[96];

	snprintf(want, sizeof(want), " pid %d (xenith run ", (int)holder->pid);
	if (!strstr(err, want))
		fail_msg("'%s' not in: %s", want, err);
	snprintf(want, sizeof(want), "), domain '%s'", name);
	if (!strstr(err, want))
		fail_msg("'%s' not in: %s", want, err);
}

static void test_a_second_vmm_on_a_writable_image_is_refused_naming_the_holder(void **state)
{
	static struct proc Q;
	char d[320], want[400];

	(void)state;
	start_holder(&P, "t-lock-a", disk0, "");
	/* Writable or read-only, a second domain does not get the image. */
	assert_int_equal(RUN(&Q, 20, "run", "--name", "t-lock-b", "--disk", disk_arg(d, sizeof(d), disk0, ""),
			     "--cmdline", "blk verify blocks=8 bs=4096 seed=3"), 65);
	snprintf(want, sizeof(want), "disk 0: %s is locked for writing, held by pid", disk0);
	assert_non_null(strstr(Q.err, want));
	expect_holder_named(Q.err, &P, "t-lock-a");
	assert_non_null(strstr(Q.err, "(xenith run --name t-lock-a "));
	assert_int_equal(Q.out_len, 0); /* nothing ran */
	assert_int_equal(RUN(&Q, 20, "run", "--name", "t-lock-b", "--disk", disk_arg(d, sizeof(d), disk0, ",ro=1")),
			 65);
	assert_non_null(strstr(Q.err, want));
	expect_holder_named(Q.err, &P, "t-lock-a");
}

static void test_read_only_domains_share_an_image_a_writer_does_not(void **state)
{
	static struct proc Q;
	char d[320], want[400];

	(void)state;
	start_holder(&P, "t-lock-ro1", disk0, ",ro=1");
	start_holder(&P2, "t-lock-ro2", disk0, ",ro=1"); /* a second reader: fine */
	assert_int_equal(RUN(&Q, 20, "run", "--name", "t-lock-w", "--disk", disk_arg(d, sizeof(d), disk0, "")), 65);
	snprintf(want, sizeof(want), "disk 0: %s is locked for reading (shared by ro=1 disks), held by pid", disk0);
	assert_non_null(strstr(Q.err, want));
	/* Both readers are named, whichever comes first. */
	expect_holder_named(Q.err, &P, "t-lock-ro1");
	expect_holder_named(Q.err, &P2, "t-lock-ro2");
	assert_non_null(strstr(Q.err, "give this disk ro=1 too"));
}

static void test_an_image_listed_twice_is_refused_whatever_the_spelling(void **state)
{
	char a[320], b[320], sym[280], hard[280], dotted[280];
	const char *spellings[] = { disk0, dotted, sym, hard };

	(void)state;
	snprintf(sym, sizeof(sym), "%s/d0-link.img", harness_run_dir());
	snprintf(hard, sizeof(hard), "%s/d0-hard.img", harness_run_dir());
	snprintf(dotted, sizeof(dotted), "%s/./d0.img", harness_run_dir());
	unlink(sym);
	unlink(hard);
	assert_int_equal(symlink("d0.img", sym), 0);
	assert_int_equal(link(disk0, hard), 0);
	for (unsigned i = 0; i < 4; i++) {
		char want[700];

		/* Even two read-only listings: a domain lists a disk once. */
		assert_int_equal(RUN(&P, 20, "run", "--name", "t-lock-dup", "--disk", disk_arg(a, sizeof(a), disk0, ",ro=1"),
				     "--disk", disk_arg(b, sizeof(b), spellings[i], i ? ",ro=1" : ",ro=1,mode=exit")), 65);
		snprintf(want, sizeof(want), "disk 1 (path=%s) and disk 0 (path=%s) are the same file", spellings[i],
			 disk0);
		if (!strstr(P.err, want))
			fail_msg("'%s' not in: %s", want, P.err);
		assert_non_null(strstr(P.err, "list each disk once"));
	}
	/* Another image of the same size is another disk. */
	assert_int_equal(RUN(&P, 20, "run", "--name", "t-lock-dup", "--disk", disk_arg(a, sizeof(a), disk0, ""),
			     "--disk", disk_arg(b, sizeof(b), disk1, "")), 0);
	unlink(sym);
	unlink(hard);
}

static void test_the_lock_goes_when_the_vmm_ends_even_by_sigkill(void **state)
{
	char d[320];

	(void)state;
	start_holder(&P, "t-lock-gone", disk0, "");
	assert_int_equal(RUN(&P2, 20, "run", "--name", "t-lock-next", "--disk", disk_arg(d, sizeof(d), disk0, "")), 65);
	kill(P.pid, SIGKILL);
	proc_wait(&P, 20);
	assert_int_equal(RUN(&P2, 60, "run", "--name", "t-lock-next", "--disk", disk_arg(d, sizeof(d), disk0, ""),
			     "--cmdline", "blk verify blocks=8 bs=4096 seed=11"), 0);
	host_verifies(disk0, 11, 8 * 4096ull, 0);
	/* And after an orderly end too. */
	start_holder(&P, "t-lock-gone", disk0, "");
	assert_int_equal(RUN(&P2, 20, "destroy", "t-lock-gone"), 0);
	proc_wait(&P, 20);
	assert_int_equal(RUN(&P2, 60, "run", "--name", "t-lock-next", "--disk", disk_arg(d, sizeof(d), disk0, "")), 0);
}

static unsigned count_in(const char *buf, const char *needle)
{
	unsigned n = 0;

	for (const char *s = strstr(buf, needle); s; s = strstr(s + 1, needle))
		n++;
	return n;
}

/*
 * A domain that reboots again and again (minios `reboot`, on_reboot =
 * restart) keeps its image locked the whole time: the test probes the lock
 * (F_OFD_GETLK, as a would-be reader) without pause across 20 reboots,
 * and a second VMM started meanwhile is refused.
 */
static void test_the_lock_is_held_across_reboots(void **state)
{
	static struct proc Q;
	struct flock q;
	char d[320];
	unsigned long probes = 0, unlocked = 0;
	unsigned boots0, boots;
	int fd, other = -1;
	time_t deadline;

	(void)state;
	proc_start(&P, (const char *const[]){ "run", "--name", "t-lock-reboot", "-m", "32", "--disk",
					      disk_arg(d, sizeof(d), disk0, ""), "--cmdline", "reboot", NULL });
	assert_true(proc_wait_output(&P, "reboot: asking", 30));
	fd = open(disk0, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	boots0 = proc_count(&P, "reboot: asking");
	deadline = time(NULL) + 60;
	do {
		for (unsigned k = 0; k < 500; k++) {
			memset(&q, 0, sizeof(q));
			q.l_type = F_RDLCK;
			q.l_whence = SEEK_SET;
			assert_int_equal(fcntl(fd, F_OFD_GETLK, &q), 0);
			probes++;
			unlocked += q.l_type == F_UNLCK;
		}
		boots = proc_count(&P, "reboot: asking"); /* also keeps its pipes drained */
		if (boots >= boots0 + 10 && other < 0) /* half-way: a whole other VMM */
			other = RUN(&Q, 20, "run", "--name", "t-lock-other", "--disk",
				    disk_arg(d, sizeof(d), disk0, ",ro=1"));
	} while (boots < boots0 + 20 && time(NULL) < deadline && !P.exited);
	close(fd);
	printf("# %lu lock probes over %u reboots, %lu found the image unlocked; the other VMM: status %d\n",
	       probes, boots - boots0, unlocked, other);
	assert_true(boots >= boots0 + 20);
	assert_int_equal(unlocked, 0);
	assert_int_equal(other, 65);
	expect_holder_named(Q.err, &P, "t-lock-reboot");
	assert_true(count_in(P.err, "restarting it") >= 20);
}

/* An image replaced under a rebooting domain is not served unlocked: the restart fails, saying why. */
static void test_an_image_replaced_during_a_reboot_ends_the_domain(void **state)
{
	char d[320], copy[300], want[400];

	(void)state;
	proc_start(&P, (const char *const[]){ "run", "--name", "t-lock-replaced", "-m", "32", "--disk",
					      disk_arg(d, sizeof(d), disk0, ""), "--cmdline", "reboot", NULL });
	assert_true(proc_wait_output(&P, "reboot: asking", 30));
	make_disk(copy, sizeof(copy), "d0.img.new", 16 << 20);
	assert_int_equal(rename(copy, disk0), 0); /* the path now names another file */
	proc_wait(&P, 30);
	assert_int_equal(P.status, 66);
	snprintf(want, sizeof(want), "disk 0: %s is no longer the file that was locked for this domain", disk0);
	if (!strstr(P.err, want))
		fail_msg("'%s' not in: %s", want, P.err);
}

/* Block devices: the same locks, and a writable one is claimed with O_EXCL. */
static void test_a_block_device_is_locked_and_claimed(void **state)
{
	char cmd[320], d[320], want[400];
	static struct proc Q;
	FILE *f;
	int excl;

	(void)state;
	if (geteuid() != 0)
		SKIP_BECAUSE("loop devices need root");
	snprintf(cmd, sizeof(cmd), "losetup -f --show %s 2>/dev/null", disk1);
	f = popen(cmd, "r");
	if (!f || !fgets(loopdev, sizeof(loopdev), f)) {
		loopdev[0] = 0;
		if (f)
			pclose(f);
		SKIP_BECAUSE("losetup could not attach a loop device");
	}
	pclose(f);
	loopdev[strcspn(loopdev, "\n")] = 0;
	start_holder(&P, "t-lock-blk", loopdev, "");
	assert_int_equal(RUN(&Q, 20, "run", "--name", "t-lock-blk2", "--disk", disk_arg(d, sizeof(d), loopdev, ",ro=1")),
			 65);
	snprintf(want, sizeof(want), "disk 0: %s is locked for writing, held by pid", loopdev);
	assert_non_null(strstr(Q.err, want));
	expect_holder_named(Q.err, &P, "t-lock-blk");
	kill(P.pid, SIGKILL);
	proc_wait(&P, 20);
	/* Claimed by someone else (here: this test, as mkfs or a mount would): no writer, readers fine. */
	excl = open(loopdev, O_RDONLY | O_EXCL | O_CLOEXEC);
	assert_true(excl >= 0);
	assert_int_equal(RUN(&Q, 20, "run", "--name", "t-lock-blk2", "--disk", disk_arg(d, sizeof(d), loopdev, "")), 65);
	assert_non_null(strstr(Q.err, "cannot claim block device"));
	assert_non_null(strstr(Q.err, "Device or resource busy: it is mounted"));
	assert_int_equal(RUN(&Q, 20, "run", "--name", "t-lock-blk2", "--disk", disk_arg(d, sizeof(d), loopdev, ",ro=1")),
			 0);
	close(excl);
}

static void test_a_disk_that_cannot_be_opened_stops_the_build(void **state)
{
	(void)state;
	assert_int_equal(RUN(&P, 20, "run", "--name", "t-blk-bad", "--disk", "path=/nonexistent/x.img"), 65);
	assert_non_null(strstr(P.err, "disk 0: cannot open /nonexistent/x.img"));
	assert_non_null(strstr(P.err, "No such file"));
	assert_int_equal(P.out_len, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_written_data_is_on_the_backing_file_reads_back_and_discards,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_flushed_data_survives_sigkill_of_the_vmm,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_requests_get_errors_and_the_other_disk_goes_on,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_xenith_disks_reports_queues_and_counters,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_an_idle_poll_mode_disk_costs_no_cpu,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_notification_mode_serves_reads_and_writes,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_numjobs_drive_one_queue_per_vcpu,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_io_errors_become_error_responses_and_the_domain_goes_on,
						setup, teardown),
		cmocka_unit_test_teardown(test_a_disk_that_cannot_be_opened_stops_the_build, harness_teardown),
		cmocka_unit_test_setup_teardown(test_a_second_vmm_on_a_writable_image_is_refused_naming_the_holder,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_only_domains_share_an_image_a_writer_does_not,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_an_image_listed_twice_is_refused_whatever_the_spelling,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_the_lock_goes_when_the_vmm_ends_even_by_sigkill,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_the_lock_is_held_across_reboots, setup, teardown),
		cmocka_unit_test_setup_teardown(test_an_image_replaced_during_a_reboot_ends_the_domain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_block_device_is_locked_and_claimed, setup, teardown),
	};

	harness_require_kvm();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
