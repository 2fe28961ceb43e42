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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "blkverify.h"
#include "harness.h"


/* io/blkback.c's budget of persistent grant mappings per ring: past it, requests take the copy path. */
#define PERSISTENT_MAX 1056u

static struct proc P, P2, Q;
static char disk0[256], disk1[256];
static char loopdev[64]; /* a loop device a test set up, detached in teardown */
static int excl_fd = -1;  /* the loop device held open with O_EXCL, closed in teardown */

static void make_disk(char *path, size_t size, const char *name, off_t bytes)
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
	make_disk(disk0, sizeof(disk0), "d0.img", 16 << 20);
	make_disk(disk1, sizeof(disk1), "d1.img", 4 << 20);
	return 0;
}

/* A domain a failed assertion left running (hold=1 waits for ever) is killed here. */
static int teardown(void **state)
{
	(void)state;
	harness_teardown(state); /* every xenith the test left running */
	if (excl_fd >= 0) {
		close(excl_fd);
		excl_fd = -1;
	}
	if (loopdev[0]) {
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "losetup -d %s", loopdev);
		if (system(cmd) != 0)
			fprintf(stderr, "teardown: %s failed\n", cmd);
		loopdev[0] = 0;
	}
	return 0;
}

static char *disk_arg(char *buf, size_t size, const char *path, const char *extra)
{
	snprintf(buf, size, "path=%s%s", path, extra);
	return buf;
}

/* The backend's side: `xenith disks NAME --json` into Q.out. */
static void query_disks(const char *name)
{
	if (RUN(&Q, 20, "disks", name, "--json") != 0)
		fail_msg("xenith disks %s: status %d: %s", name, Q.status, Q.err);
}

/* Counter key of disk d, queue q in the last query_disks() reply. */
static unsigned long long counter(unsigned d, unsigned q, const char *key)
{
	char obj[48], k[48];
	const char *o, *end, *v;
	unsigned long long n = 0;

	snprintf(obj, sizeof(obj), "{\"disk\":%u,\"queue\":%u,", d, q);
	snprintf(k, sizeof(k), "\"%s\":", key);
	o = strstr(Q.out, obj);
	if (!o)
		fail_msg("no %s in: %s", obj, Q.out);
	end = strchr(o, '}');
	v = strstr(o, k);
	if (!v || v > end || sscanf(v + strlen(k), "%llu", &n) != 1)
		fail_msg("no %s for disk %u queue %u in: %s", k, d, q, Q.out);
	return n;
}

/*
 * Waits (up to timeout_s) until counter key of disk d, queue q of P's
 * domain reaches at least min; its last value (0 while the domain's control
 * socket is not up yet).
 */
static unsigned long long wait_counter(const char *name, unsigned d, unsigned q, const char *key,
				       unsigned long long min, double timeout_s)
{
	struct timespec t0, t;
	unsigned long long v = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (RUN(&Q, 20, "disks", name, "--json") == 0)
			v = counter(d, q, key);
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (v >= min || !proc_alive(&P) ||
		    (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 > timeout_s)
			return v;
		proc_pump(&P, 0.05); /* keeps the domain's pipes drained */
	}
}

/*
 * Both data paths: I/O in place on persistently mapped pages (the default),
 * and grant copies; spread=1200 reads into more pages than the backend maps
 * persistently (PERSISTENT_MAX per ring), so the persistent run takes both
 * paths.  The guest holds at the end (hold=2) and the backend's counters
 * say which path each request took and how many bytes it moved.
 */
static void test_written_data_is_on_the_backing_file_reads_back_and_discards(void **state)
{
	static const struct { const char *disk_opt, *grants; unsigned long seed; } paths[] = {
		{ ",mode=exit", "persistent", 4242 },
		{ ",mode=exit,persistent=0", "copied", 4343 },
	};
	/* 96 writes of 20480 bytes; 96 reads of them, 1 of block 0 after the discard, 1200 of 4096 */
	const unsigned long long spread = 1200, want_writes = 96, want_reads = 96 + 1 + spread;

	(void)state;
	for (unsigned i = 0; i < 2; i++) {
		char d[320], cmd[96], line[64];
		unsigned long long copied, in_place;

		snprintf(cmd, sizeof(cmd), "blk verify blocks=96 bs=20480 seed=%lu discard=1 spread=%llu hold=2",
			 paths[i].seed, spread);
		proc_start(&P, (const char *const[]){ "run", "--name", "t-blk-verify", "-m", "32", "--disk",
						      disk_arg(d, sizeof(d), disk0, paths[i].disk_opt),
						      "--cmdline", cmd, NULL });
		if (!proc_wait_output(&P, "blk-verify: holding", 120))
			fail_msg("the guest did not reach its end: %s\n%s", P.out, P.err);
		query_disks("t-blk-verify");
		proc_kill(&P);
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
		/* What the backend did, counted on its side. */
		assert_int_equal(counter(0, 0, "writes"), want_writes);
		assert_int_equal(counter(0, 0, "reads"), want_reads);
		assert_int_equal(counter(0, 0, "write_bytes"), want_writes * 20480);
		assert_int_equal(counter(0, 0, "read_bytes"), (96 + 1) * 20480 + spread * 4096);
		assert_int_equal(counter(0, 0, "discards"), 1);
		assert_int_equal(counter(0, 0, "flushes"), 1);
		assert_int_equal(counter(0, 0, "datasyncs"), 1);
		assert_int_equal(counter(0, 0, "errors"), 0);
		copied = counter(0, 0, "copied");
		in_place = counter(0, 0, "in_place");
		assert_int_equal(copied + in_place, want_reads + want_writes);
		if (i == 0) {
			/* The spread reads past the mapping budget went through grant copies, the rest in place. */
			printf("# persistent grants: %llu requests in place, %llu copied\n", in_place, copied);
			assert_true(copied >= spread - PERSISTENT_MAX);
			assert_true(in_place >= want_writes);
		} else {
			assert_int_equal(in_place, 0);
		}
		host_verifies(disk0, paths[i].seed, 96 * 20480ull, 20480);
	}
}

/*
 * SIGKILL leaves the host's page cache alone, so data on the file after it
 * says nothing about the flush: what makes the flush mean something is that
 * the backend's fdatasync completed before the guest got the response.  The
 * backend counts those (`datasyncs`, counted before the response is
 * written); every flush the guest saw answered must have one.
 */
static void test_a_flush_is_answered_after_its_fdatasync_and_the_data_survives_sigkill(void **state)
{
	char d[320];
	unsigned long long acked;

	(void)state;
	proc_start(&P, (const char *const[]){ "run", "--name", "t-blk-kill", "-m", "32", "--disk",
					      disk_arg(d, sizeof(d), disk0, ""), "--cmdline",
					      "blk verify blocks=40 bs=4096 seed=99 hold=1", NULL });
	assert_true(proc_wait_output(&P, "blk-verify: holding", 60));
	acked = proc_count(&P, "written and flushed"); /* after the flush's OKAY response */
	assert_int_equal(acked, 1);
	query_disks("t-blk-kill");
	assert_int_equal(counter(0, 0, "flushes"), acked);
	if (counter(0, 0, "datasyncs") < acked)
		fail_msg("the guest got %llu flush response(s), the backend completed %llu fdatasync(s)", acked,
			 counter(0, 0, "datasyncs"));
	kill(P.pid, SIGKILL); /* after the flush's response, before any orderly end */
	proc_wait(&P, 20);
	assert_int_equal(P.status, 128 + SIGKILL);
	host_verifies(disk0, 99, 40 * 4096ull, 0);
}

/* `xenith disks`: one entry per queue, with its state and the backend's counters. */
static void test_xenith_disks_reports_queues_and_counters(void **state)
{
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
	assert_non_null(strstr(Q.out, "DISK QUEUE MODE      STATE     GRANTS       REQUESTS      READS     "
				  "WRITES     COPIED FLUSHES  SYNCED DISCARDS  ERRORS   BAD  PATH\n"));
	{
		/* queue 0's row, column by column: the 40 writes and the flush the guest was told to do */
		const char *row = strstr(Q.out, "\n0    0     exit");
		unsigned long long req, rd, wr, copied, fl, synced, disc, err, bad;
		unsigned pmaps;

		assert_non_null(row);
		assert_int_equal(sscanf(row, " 0 0 exit connected pers %u %llu %llu %llu %llu %llu %llu %llu %llu %llu",
					&pmaps, &req, &rd, &wr, &copied, &fl, &synced, &disc, &err, &bad), 10);
		if (req != 41 || rd != 0 || wr != 40 || copied != 0 || fl != 1 || synced != 1 || disc != 0 ||
		    err != 0 || bad != 0)
			fail_msg("queue 0's row is not 41 requests, 0 reads, 40 writes, 0 copied, 1 flush, "
				 "1 synced, 0 discards, 0 errors, 0 bad:\n%s", Q.out);
	}
	assert_non_null(strstr(Q.out, " (ro)\n"));
	kill(P.pid, SIGKILL);
	proc_wait(&P, 20);
	/* A domain that does not exist: the reason, exit status 1. */
	assert_int_equal(RUN(&Q, 20, "disks", "t-blk-nosuch"), 1);
	assert_non_null(strstr(Q.err, "no running domain named 't-blk-nosuch'"));
}

/*
 * Device dev's stats member key in a `xenith devices NAME --json` reply:
 * found between the device's own name and its queue list.
 */
static unsigned long long dev_counter(const char *json, const char *dev, const char *key)
{
	char obj[64], k[48];
	const char *o, *end, *v;
	unsigned long long n = 0;

	snprintf(obj, sizeof(obj), "{\"type\":\"vbd\",\"name\":\"%s\",", dev);
	snprintf(k, sizeof(k), ",\"%s\":", key);
	o = strstr(json, obj);
	if (!o)
		fail_msg("no %s in: %s", obj, json);
	end = strstr(o, ",\"queues\":[");
	v = strstr(o, k);
	if (!end || !v || v > end || sscanf(v + strlen(k), "%llu", &n) != 1)
		fail_msg("no %s for %s in: %s", k, dev, json);
	return n;
}

/* Queue q of disk d as `xenith disks --json` printed it (the object, braces included), into out. */
static void disks_queue_object(const char *json, unsigned d, unsigned q, char *out, size_t size)
{
	char obj[48];
	const char *o, *end;

	snprintf(obj, sizeof(obj), "{\"disk\":%u,\"queue\":%u,", d, q);
	o = strstr(json, obj);
	if (!o)
		fail_msg("no %s in: %s", obj, json);
	end = strchr(o, '}');
	assert_non_null(end);
	assert_true((size_t)(end - o) + 2 <= size);
	memcpy(out, o, (size_t)(end - o) + 1);
	out[end - o + 1] = 0;
}

/*
 * `xenith devices`: every device with its type, name, state and counters;
 * a disk's counters follow the guest's I/O and match `xenith disks`.  The
 * guest writes 24 blocks to disk 1 and flushes, idles 5 s (the test reads
 * the counters then: 10x what a query takes on a loaded host), reads them
 * back, disconnects and holds (hold=2).
 */
static void test_xenith_devices_lists_each_disk_with_counters_that_follow_the_io(void **state)
{
	char a[320], b[320], want[512], q[1024];
	const char *o;

	(void)state;
	proc_start(&P, (const char *const[]){ "run", "--name", "t-blk-devices", "-m", "32", "--vcpus", "1",
					      "--disk", disk_arg(a, sizeof(a), disk0, ",mode=exit"),
					      "--disk", disk_arg(b, sizeof(b), disk1, ""),
					      "--cmdline", "blk verify disk=1 blocks=24 bs=4096 seed=7 pause=5000 hold=2",
					      NULL });
	assert_true(proc_wait_output(&P, "blk-verify: pausing", 30));
	assert_int_equal(RUN(&Q, 20, "devices", "t-blk-devices", "--json"), 0);
	/* Both disks, in order, with the paths they were given; nothing else (no bench, no test hooks). */
	snprintf(want, sizeof(want), "{\"ok\":true,\"devices\":[{\"type\":\"vbd\",\"name\":\"vbd0\","
		 "\"state\":\"connected\",\"stats\":{\"disk\":0,\"path\":\"%s\",\"mode\":\"exit\",", disk0);
	if (strncmp(Q.out, want, strlen(want)))
		fail_msg("expected the reply to start with %s\ngot: %s", want, Q.out);
	snprintf(want, sizeof(want), "{\"type\":\"vbd\",\"name\":\"vbd1\",\"state\":\"connected\",\"stats\":"
		 "{\"disk\":1,\"path\":\"%s\",\"mode\":\"ioeventfd\",", disk1);
	assert_non_null(strstr(Q.out, want));
	assert_null(strstr(Q.out, "\"name\":\"vbd2\""));
	assert_null(strstr(Q.out, "\"type\":\"bench\""));
	assert_null(strstr(Q.out, "\"type\":\"loopback\""));
	/* The guest wrote 24 blocks to disk 1 and flushed; it has not read yet; disk 0 saw nothing. */
	assert_int_equal(dev_counter(Q.out, "vbd1", "writes"), 24);
	assert_int_equal(dev_counter(Q.out, "vbd1", "flushes"), 1);
	assert_int_equal(dev_counter(Q.out, "vbd1", "reads"), 0);
	assert_int_equal(dev_counter(Q.out, "vbd1", "requests"), 25);
	assert_int_equal(dev_counter(Q.out, "vbd1", "write_bytes"), 24 * 4096);
	assert_int_equal(dev_counter(Q.out, "vbd1", "queues_connected"), 1);
	assert_int_not_equal(dev_counter(Q.out, "vbd1", "doorbell_port"), 0); /* mode ioeventfd */
	assert_int_equal(dev_counter(Q.out, "vbd0", "doorbell_port"), 0);      /* mode exit */
	assert_int_equal(dev_counter(Q.out, "vbd0", "requests"), 0);
	assert_int_equal(dev_counter(Q.out, "vbd0", "queues_connected"), 0);
	/* Each queue as `xenith disks` shows it, the same object (the disk is idle: nothing moves). */
	{
		char *devices = strdup(Q.out); /* Q is reused for `xenith disks` */

		assert_non_null(devices);
		assert_int_equal(RUN(&Q, 20, "disks", "t-blk-devices", "--json"), 0);
		disks_queue_object(Q.out, 1, 0, q, sizeof(q));
		if (!strstr(devices, q))
			fail_msg("disk 1 queue 0 of `xenith disks` (%s) is not in `xenith devices`: %s", q, devices);
		disks_queue_object(Q.out, 0, 0, q, sizeof(q));
		if (!strstr(devices, q))
			fail_msg("disk 0 queue 0 of `xenith disks` (%s) is not in `xenith devices`: %s", q, devices);
		free(devices);
	}

	/* After the read-back and the disconnect: the reads moved, nothing else did. */
	assert_true(proc_wait_output(&P, "blk-verify: holding", 60));
	assert_int_equal(RUN(&Q, 20, "devices", "t-blk-devices", "--json"), 0);
	assert_int_equal(dev_counter(Q.out, "vbd1", "reads"), 24);
	assert_int_equal(dev_counter(Q.out, "vbd1", "read_bytes"), 24 * 4096);
	assert_int_equal(dev_counter(Q.out, "vbd1", "writes"), 24);
	assert_int_equal(dev_counter(Q.out, "vbd1", "requests"), 49);
	assert_int_equal(dev_counter(Q.out, "vbd1", "errors"), 0);
	assert_int_equal(dev_counter(Q.out, "vbd1", "queues_connected"), 0); /* the guest disconnected */
	assert_int_equal(dev_counter(Q.out, "vbd0", "requests"), 0);

	/* The table: a header, then one row per device with its counters as key=value. */
	assert_int_equal(RUN(&Q, 20, "devices", "t-blk-devices"), 0);
	assert_true(strncmp(Q.out, "TYPE      NAME        STATE         COUNTERS\n", 45) == 0);
	snprintf(want, sizeof(want), "\nvbd       vbd0        connected     disk=0 path=%s mode=exit ro=no "
		 "doorbell_port=0 queues_connected=0 requests=0 ", disk0);
	assert_non_null(strstr(Q.out, want));
	snprintf(want, sizeof(want), "\nvbd       vbd1        connected     disk=1 path=%s mode=ioeventfd ro=no ",
		 disk1);
	o = strstr(Q.out, want);
	assert_non_null(o);
	assert_non_null(strstr(o, " queues_connected=0 requests=49 reads=24 writes=24 flushes=1 discards=0 "
				  "errors=0 bad_requests=0 read_bytes=98304 write_bytes=98304\n"));
	{
		unsigned lines = 0;

		for (const char *c = Q.out; *c; c++)
			lines += *c == '\n';
		assert_int_equal(lines, 3); /* the header and the two disks */
	}
	kill(P.pid, SIGKILL);
	proc_wait(&P, 20);

	/* A domain that does not exist: the reason, exit status 1. */
	assert_int_equal(RUN(&Q, 20, "devices", "t-blk-nosuch"), 1);
	assert_non_null(strstr(Q.err, "no running domain named 't-blk-nosuch'"));
	assert_int_equal(Q.out_len, 0);
}

/* The value of key in one xenstore-ls listing of a device directory, or NULL; out holds it. */
static const char *xs_value(const char *listing, const char *key, char *out, size_t size)
{
	char pat[96];
	const char *p;

	snprintf(pat, sizeof(pat), "\n%s = \"", key);
	p = strstr(listing, pat);
	if (!p && !strncmp(listing, pat + 1, strlen(pat + 1)))
		p = listing - 1;
	if (!p)
		return NULL;
	p += strlen(pat);
	snprintf(out, size, "%.*s", (int)strcspn(p, "\""), p);
	return out;
}

static void expect_xs(const char *listing, const char *key, const char *want)
{
	char v[256];

	if (!xs_value(listing, key, v, sizeof(v)) || strcmp(v, want))
		fail_msg("xenstore: %s is \"%s\", not \"%s\", in:\n%s", key, xs_value(listing, key, v, sizeof(v)) ?
			 v : "(missing)", want, listing);
}

/*
 * Discovery is xenstore with Xen's blkif keys: the backend offers each disk
 * (size from the image itself, read-only bit, queues, persistent grants),
 * the guest's frontend writes its ring and port and both end Connected; a
 * disk nobody connected stays in InitWait.  The connect time from the
 * domain's start is reported.
 */
static void test_disks_are_found_and_connected_through_xenstore_with_xens_keys(void **state)
{
	char a[320], b[320], path[160], v[64];
	struct stat st0, st1;
	unsigned domid = 0;
	const char *row, *d0, *f0;
	char *be0 = NULL, *be1 = NULL;

	(void)state;
	assert_int_equal(stat(disk0, &st0), 0);
	assert_int_equal(stat(disk1, &st1), 0);
	proc_start(&P, (const char *const[]){ "run", "--name", "t-blk-xs", "-m", "32", "--vcpus", "2",
					      "--disk", disk_arg(a, sizeof(a), disk0, ",mode=exit"),
					      "--disk", disk_arg(b, sizeof(b), disk1, ",ro=1,persistent=0,queues=1"),
					      "--cmdline", "blk verify blocks=4 bs=4096 seed=5 hold=1", NULL });
	assert_true(proc_wait_output(&P, "blk-verify: holding", 30));
	assert_int_equal(RUN(&Q, 20, "list"), 0);
	row = strstr(Q.out, "\nt-blk-xs ");
	assert_non_null(row);
	assert_int_equal(sscanf(row, " t-blk-xs %u", &domid), 1);

	snprintf(path, sizeof(path), "/local/domain/0/backend/vbd/%u/51712", domid);
	assert_int_equal(RUN(&Q, 20, "xenstore-ls", "t-blk-xs", path), 0);
	be0 = strdup(Q.out);
	snprintf(path, sizeof(path), "/local/domain/0/backend/vbd/%u/51728", domid);
	assert_int_equal(RUN(&Q, 20, "xenstore-ls", "t-blk-xs", path), 0);
	be1 = strdup(Q.out);
	assert_non_null(be0);
	assert_non_null(be1);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)(st0.st_size / 512));
	expect_xs(be0, "sectors", v);
	expect_xs(be0, "sector-size", "512");
	expect_xs(be0, "info", "0");
	expect_xs(be0, "mode", "w");
	expect_xs(be0, "multi-queue-max-queues", "2"); /* two vCPUs: two queues */
	expect_xs(be0, "feature-persistent", "1");
	expect_xs(be0, "feature-flush-cache", "1");
	expect_xs(be0, "feature-discard", "1");
	expect_xs(be0, "xenith-notify", "exit");
	snprintf(path, sizeof(path), "/local/domain/%u/device/vbd/51712", domid);
	expect_xs(be0, "frontend", path);
	expect_xs(be0, "state", "4");
	snprintf(v, sizeof(v), "%llu", (unsigned long long)(st1.st_size / 512));
	expect_xs(be1, "sectors", v);
	expect_xs(be1, "info", "4"); /* VDISK_READONLY */
	expect_xs(be1, "mode", "r");
	expect_xs(be1, "multi-queue-max-queues", "1");
	expect_xs(be1, "feature-persistent", "0");
	expect_xs(be1, "feature-discard", "0");
	expect_xs(be1, "xenith-notify", "ioeventfd");
	expect_xs(be1, "state", "2"); /* nobody connected it: InitWait */

	/* The frontend's half: what the guest wrote. */
	assert_int_equal(RUN(&Q, 20, "xenstore-ls", "t-blk-xs", path), 0);
	f0 = Q.out;
	expect_xs(f0, "state", "4");
	expect_xs(f0, "multi-queue-num-queues", "1"); /* blk verify uses one queue */
	expect_xs(f0, "feature-persistent", "1");
	expect_xs(f0, "protocol", "x86_64-abi");
	assert_non_null(xs_value(f0, "ring-ref", v, sizeof(v)));
	assert_non_null(xs_value(f0, "event-channel", v, sizeof(v)));

	/* Connected once, some time after the start; disk 1 never. */
	assert_int_equal(RUN(&Q, 20, "disks", "t-blk-xs", "--json"), 0);
	d0 = strstr(Q.out, "{\"disk\":0,\"queue\":0,");
	assert_non_null(d0);
	{
		unsigned xst;
		unsigned long long n;
		double us;
		const char *k = strstr(d0, "\"xenbus_state\":");

		assert_non_null(k);
		assert_int_equal(sscanf(k, "\"xenbus_state\":%u,\"connects\":%llu,\"connect_us\":%lf", &xst, &n,
					&us), 3);
		assert_int_equal(xst, 4);
		assert_int_equal(n, 1);
		assert_true(us > 0);
		print_message("# disk 0 connected through xenstore %.0f us after the domain started\n", us);
	}
	assert_non_null(strstr(Q.out, "{\"disk\":1,\"queue\":0,"));
	assert_non_null(strstr(strstr(Q.out, "{\"disk\":1,\"queue\":0,"), "\"xenbus_state\":2,\"connects\":0,\"connect_us\":-1.0,"));
	free(be0);
	free(be1);
	kill(P.pid, SIGKILL);
	proc_wait(&P, 20);
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

/*
 * Poll mode stops spinning when the guest goes idle, and a later request
 * still gets served.  Idle: a whole second in which the domain's VMM took
 * less than 50 ms of CPU, within 10 s of the guest going idle (a backend
 * thread that spins takes most of a CPU every second, even on a loaded host).
 */
static void test_an_idle_poll_mode_disk_costs_no_cpu(void **state)
{
	char d[320];
	double c0, c1, used = 0;
	unsigned s;

	(void)state;
	proc_start(&P, (const char *const[]){ "run", "--name", "t-blk-idle", "-m", "32", "--disk",
					      disk_arg(d, sizeof(d), disk0, ",mode=poll"), "--cmdline",
					      "blk verify blocks=8 bs=4096 seed=6 hold=1", NULL });
	assert_true(proc_wait_output(&P, "blk-verify: holding", 60));
	for (s = 1, c0 = cpu_seconds(P.pid); s <= 10; s++, c0 = c1) {
		proc_pump(&P, 1.0);
		c1 = cpu_seconds(P.pid);
		used = c1 - c0;
		if (used < 0.05)
			break;
	}
	if (s > 10)
		fail_msg("the idle poll-mode domain took %.2f s of CPU in the 10th second after going idle "
			 "(and 50 ms or more in every one before)", used);
	printf("# idle poll-mode domain: %.2f s of CPU in second %u after going idle\n", used, s);
	kill(P.pid, SIGKILL);
	proc_wait(&P, 20);

	/*
	 * After an idle spell the backend sleeps; the guest's next request kicks it
	 * awake.  pause=50 idles 50 ms and then until the backend asked for a kick.
	 */
	assert_int_equal(RUN(&P, 120, "run", "--name", "t-blk-idle", "-m", "32", "--disk",
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

/* Pumps p's output until its stderr holds needle; false after timeout_s. */
static bool wait_stderr(struct proc *p, const char *needle, double timeout_s)
{
	for (double waited = 0; !strstr(p->err, needle); waited += 0.05) {
		if (waited > timeout_s || !proc_alive(p))
			return strstr(p->err, needle) != NULL;
		proc_pump(p, 0.05);
	}
	return true;
}

static void test_hostile_requests_get_errors_and_the_other_disk_goes_on(void **state)
{
	char a[320], b[320];
	const char *t;
	unsigned long long token = 0;
	uint64_t ack[2];
	int fd;

	(void)state;
	/*
	 * The checks run in the guest (a wrong status is a GUEST_ASSERT, status
	 * 66).  Once disk 0's ring indices jumped, the guest waits for this test
	 * (mailbox=1: through disk 1), which answers once the backend has said
	 * the ring is broken, so that "nothing answered on the broken ring" is
	 * checked after the backend looked at it.
	 */
	proc_start(&P, (const char *const[]){ "run", "--name", "t-blk-hostile", "-m", "32",
					      "--disk", disk_arg(a, sizeof(a), disk0, ""),
					      "--disk", disk_arg(b, sizeof(b), disk1, ",ro=1,mode=exit,persistent=0"),
					      "--cmdline", "blk hostile mailbox=1", NULL });
	if (!proc_wait_output(&P, "blk-hostile: indices jumped, token=", 60))
		fail_msg("the guest did not get to the jump: %s\n%s", P.out, P.err);
	t = strstr(P.out, "indices jumped, token=");
	assert_int_equal(sscanf(t, "indices jumped, token=%llu", &token), 1);
	if (!wait_stderr(&P, "ring indices are impossible", 45)) /* within the guest's minute */
		fail_msg("the backend never said the ring is broken: %s", P.err);
	query_disks("t-blk-hostile");
	assert_int_equal(counter(0, 0, "errors") > 0, 1);
	assert_non_null(strstr(strstr(Q.out, "{\"disk\":0,\"queue\":0,"), "\"broken\":true"));
	ack[0] = BLK_ACK_MAGIC;
	ack[1] = token;
	fd = open(disk1, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, ack, sizeof(ack), 0), (ssize_t)sizeof(ack));
	assert_int_equal(fdatasync(fd), 0);
	close(fd);
	proc_wait(&P, 60);
	assert_int_equal(P.status, 0);
	assert_non_null(strstr(P.out, "blk-hostile: all checks passed"));
	assert_null(strstr(P.out, "WRONG"));
	assert_non_null(strstr(P.out, "grant reference past the table -> -1 ok"));
	assert_non_null(strstr(P.out, "write to a read-only disk -> -1 ok"));
	assert_non_null(strstr(P.out, "disk 1 still serves after disk 0's ring broke -> 0 ok"));
	/* Refused through xenstore: the backend's errno and its reason reach the guest. */
	assert_non_null(strstr(P.out, "connect 2 queues of a disk with 1 -> -22 ok"));
	assert_non_null(strstr(P.out, "disk 1 refused: 22 multi-queue-num-queues: must be 1 to 1"));
	assert_non_null(strstr(P.out, "a ring-ref past the grant table -> -2 ok"));
	assert_non_null(strstr(P.out, "blk-hostile: disk 0 with persistent grants"));
	assert_non_null(strstr(P.out, "persistent grants asked of a disk without them -> copied grants ok"));
	assert_non_null(strstr(P.err, "ring indices are impossible"));
	assert_non_null(strstr(P.out, "discard of 2^63 sectors -> -1 ok"));
	assert_non_null(strstr(P.out, "discard at sector 2^64-1 (no wrap-around) -> -1 ok"));
	assert_non_null(strstr(P.out, "discard on the read-only disk -> -1 ok"));
	assert_non_null(strstr(P.out, "disk 1 connected to disk 0's ring page -> -16 ok"));
	assert_non_null(strstr(P.out, "through another grant of that page -> -16 ok"));
}

/* Reads "\"<dir>\":{\"io_bytes\":N,\"total_ios\":N" from the blk-json line; the I/Os, *bytes the bytes. */
static unsigned long long json_ios(const char *out, const char *dir, unsigned long long *bytes)
{
	char key[32];
	const char *p;
	unsigned long long b = 0, ios = 0;

	snprintf(key, sizeof(key), "\"%s\":{", dir);
	p = strstr(out, key);
	assert_non_null(p);
	assert_int_equal(sscanf(p + strlen(key), "\"io_bytes\":%llu,\"total_ios\":%llu", &b, &ios), 2);
	if (bytes)
		*bytes = b;
	return ios;
}

/*
 * Starts a `blk` load that holds when done (hold=1), waits for its result
 * and reads the backend's counters (query_disks) before the domain is killed.
 */
static void run_load_and_query(const char *name, const char *disk, const char *vcpus, const char *cmdline)
{
	proc_start(&P, (const char *const[]){ "run", "--name", name, "-m", "32", "--vcpus", vcpus, "--disk", disk,
					      "--cmdline", cmdline, NULL });
	if (!proc_wait_output(&P, "blk: holding", 120))
		fail_msg("the load did not finish: %s\n%s", P.out, P.err);
	query_disks(name);
	proc_kill(&P);
}

/*
 * Each mode serves a randrw load of a fixed number of I/Os: the guest's
 * count of reads and writes (and their bytes) against the backend's.
 */
static void test_every_notification_mode_serves_reads_and_writes(void **state)
{
	static const char *const modes[] = { "exit", "ioeventfd", "poll" };

	(void)state;
	for (unsigned i = 0; i < 3; i++) {
		char d[320], extra[32], want[64];
		unsigned long long rd, wr, rd_bytes, wr_bytes;

		snprintf(extra, sizeof(extra), ",mode=%s", modes[i]);
		run_load_and_query("t-blk-mode", disk_arg(d, sizeof(d), disk0, extra), "1",
				   "blk rw=randrw bs=4096 iodepth=4 number_ios=400 runtime=60000 hold=1");
		snprintf(want, sizeof(want), "\"mode\":\"%s\"", modes[i]);
		assert_non_null(strstr(P.out, want));
		assert_non_null(strstr(P.out, "\"errors\":0,"));
		rd = json_ios(P.out, "read", &rd_bytes);
		wr = json_ios(P.out, "write", &wr_bytes);
		assert_int_equal(rd + wr, 400);
		assert_true(rd > 0);
		assert_true(wr > 0);
		assert_int_equal(counter(0, 0, "reads"), rd);
		assert_int_equal(counter(0, 0, "writes"), wr);
		assert_int_equal(counter(0, 0, "read_bytes"), rd_bytes);
		assert_int_equal(counter(0, 0, "write_bytes"), wr_bytes);
		assert_int_equal(counter(0, 0, "errors"), 0);
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
		run_load_and_query("t-blk-mq", disk_arg(d, sizeof(d), disk0, extra), "2",
				   "blk rw=randrw bs=4096 iodepth=4 numjobs=2 number_ios=200 runtime=60000 hold=1");
		assert_non_null(strstr(P.out, "\"numjobs\":2,"));
		assert_non_null(strstr(P.out, "\"errors\":0,"));
		p = strstr(P.out, "\"job_ios\":[");
		assert_non_null(p);
		assert_int_equal(sscanf(p, "\"job_ios\":[%llu,%llu]", &q0, &q1), 2);
		/* Each job did its I/Os, and each on a queue of its own: the backend of that queue saw them. */
		assert_int_equal(q0, 200);
		assert_int_equal(q1, 200);
		assert_int_equal(counter(0, 0, "reads") + counter(0, 0, "writes"), q0);
		assert_int_equal(counter(0, 1, "reads") + counter(0, 1, "writes"), q1);
		assert_int_equal(counter(0, 0, "reads") + counter(0, 1, "reads"), json_ios(P.out, "read", NULL));
		assert_int_equal(counter(0, 0, "writes") + counter(0, 1, "writes"), json_ios(P.out, "write", NULL));
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
	/*
	 * Reads until the first error response (at most a minute); once the
	 * backend has served some, the backing file loses its data under them.
	 */
	proc_start(&P, (const char *const[]){ "run", "--name", "t-blk-ioerr", "-m", "32", "--disk",
					      disk_arg(d, sizeof(d), disk0, ",mode=exit"), "--cmdline",
					      "blk rw=randread bs=4096 iodepth=4 runtime=60000 stop_on_error=1", NULL });
	if (wait_counter("t-blk-ioerr", 0, 0, "read_bytes", 1, 60) == 0)
		fail_msg("no read served within 60 s: %s\n%s", P.out, P.err);
	assert_int_equal(truncate(disk0, 0), 0); /* every read now ends short: a host I/O error */
	proc_wait(&P, 60);
	/* The guest saw error responses (blk exits 1 then), and was not crashed or stopped (66, 67). */
	assert_int_equal(P.status, 1);
	e = strstr(P.out, "\"errors\":");
	assert_non_null(e);
	assert_int_equal(sscanf(e, "\"errors\":%llu", &errors), 1);
	assert_true(errors > 0);
	assert_true(json_ios(P.out, "read", NULL) > 0); /* and the reads before it succeeded */
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
	proc_kill(&P); /* the holder: ended here, not left to teardown */
}

static void test_read_only_domains_share_an_image_a_writer_does_not(void **state)
{
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
	proc_kill(&P); /* the holders: ended here, not left to teardown */
	proc_kill(&P2);
}

static void test_an_image_listed_twice_is_refused_whatever_the_spelling(void **state)
{
	char a[320], b[320], sym[280], hard[280], dotted[280];
	const char *spellings[] = { disk0, dotted, sym, hard };

	(void)state;
	harness_path(sym, sizeof(sym), "d0-link.img");
	harness_path(hard, sizeof(hard), "d0-hard.img");
	harness_path(dotted, sizeof(dotted), "./d0.img");
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
	proc_kill(&P); /* the domain rebooting for ever: ended here, not left to teardown */
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
	FILE *f;

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
	excl_fd = open(loopdev, O_RDONLY | O_EXCL | O_CLOEXEC);
	assert_true(excl_fd >= 0);
	assert_int_equal(RUN(&Q, 20, "run", "--name", "t-lock-blk2", "--disk", disk_arg(d, sizeof(d), loopdev, "")), 65);
	assert_non_null(strstr(Q.err, "cannot claim block device"));
	assert_non_null(strstr(Q.err, "Device or resource busy: it is mounted"));
	assert_int_equal(RUN(&Q, 20, "run", "--name", "t-lock-blk2", "--disk", disk_arg(d, sizeof(d), loopdev, ",ro=1")),
			 0);
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
		cmocka_unit_test_setup_teardown(test_a_flush_is_answered_after_its_fdatasync_and_the_data_survives_sigkill,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_requests_get_errors_and_the_other_disk_goes_on,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_disks_are_found_and_connected_through_xenstore_with_xens_keys,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_xenith_disks_reports_queues_and_counters,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_xenith_devices_lists_each_disk_with_counters_that_follow_the_io,
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
