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
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"

#define RUN(p, timeout, ...) run_xenith(p, timeout, (const char *const[]){ __VA_ARGS__, NULL })

static struct proc P;
static char disk0[256], disk1[256];

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
	if (P.pid > 0 && !P.exited) {
		kill(P.pid, SIGKILL);
		proc_wait(&P, 20);
	}
	return 0;
}

/* The guest's pattern (guest/blk.c), written out again here from its definition. */
static uint64_t pattern(uint64_t seed, uint64_t off)
{
	uint64_t x = seed + off / 8 + 0x9e3779b97f4a7c15ull;

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/*
 * Checks the backing file word by word: [0, zero_head) zero (discarded),
 * then the pattern up to `bytes`; the rest of the file must still be zero.
 */
static void host_verifies(const char *path, uint64_t seed, uint64_t bytes, uint64_t zero_head)
{
	FILE *f = fopen(path, "rb");
	uint64_t off = 0, w, bad = 0, nonzero = 0;

	assert_non_null(f);
	while (fread(&w, 8, 1, f) == 1) {
		if (off < zero_head)
			nonzero += w != 0;
		else if (off < bytes)
			bad += w != pattern(seed, off);
		else
			nonzero += w != 0;
		off += 8;
	}
	fclose(f);
	assert_int_equal(bad, 0);
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
				   "\"writes\":40,\"flushes\":1,\"discards\":0,\"errors\":0,\"bad_requests\":0}"));
	assert_true(strstr(q0, "\"writes\":40,") < q1);
	assert_true(strstr(q1, "\"connected\":false,") < d1);
	assert_non_null(strstr(d1, "\"mode\":\"ioeventfd\",\"ro\":true,\"connected\":false,"));
	/* The table. */
	assert_int_equal(RUN(&Q, 20, "disks", "t-blk-disks"), 0);
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
		cmocka_unit_test(test_a_disk_that_cannot_be_opened_stops_the_build),
	};

	harness_require_kvm();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
