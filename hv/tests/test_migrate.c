// SPDX-License-Identifier: MIT
/*
 * kvm tier: live migration (hv/migrate.c) over loopback, from `xenith
 * migrate` to a `xenith migrate-receive` in a run directory of its own (as
 * another host's would be).  The guest (guest/relocate_test.c) checks its
 * vCPUs and 16 MiB of pattern across the move.  Faults: a receiver this
 * test plays, which breaks the connection at each phase (at the head, in
 * round 0, before READY, after GO) or refuses; the sender's domain must
 * run on (or, after GO, stay paused, never run twice).  And a sender that
 * dies mid-stream: the receiver cleans up.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "blkverify.h"
#include "harness.h"
#include "skip.h"
#include "testutil.h"

static struct proc P, Q, R;

/* A run directory of the receiver's own (domain ids and names are per run directory). */
static const char *other_dir(void)
{
	static char dir[256];

	if (!dir[0]) {
		harness_path(dir, sizeof(dir), "receiver-run");
		assert_int_equal(mkdir(dir, 0700), 0);
	}
	return dir;
}

/* Starts a receiver on an ephemeral loopback port; its "HOST:PORT" into addr. */
static void start_receiver(struct proc *q, char *addr, size_t size)
{
	const char *s;
	double end = harness_now_s() + 20;

	proc_start(q, (const char *const[]){ "migrate-receive", "--run-dir", other_dir(), "--listen",
					     "127.0.0.1:0", NULL });
	while (!(s = strstr(q->err, "listening on ")) || !strchr(s, '\n')) {
		if (harness_now_s() > end || !proc_alive(q))
			fail_msg("the receiver does not listen:\n%s", q->err);
		proc_pump(q, 0.05);
	}
	snprintf(addr, size, "%.*s", (int)(strchr(s, '\n') - s - 13), s + 13);
}

static void test_a_running_smp_domain_migrates_live_over_loopback(void **state)
{
	char addr[64];
	const char *gap;

	(void)state;
	if (harness_in_lab())
		SKIP_BECAUSE("in the lab's single-threaded TCG, sending round 0 keeps a vCPU from running for over "
			     "a second, which the guest's own liveness check (a count every second) takes for a "
			     "vCPU the migration lost; PVM and hardware hosts run it");
	proc_start(&P, (const char *const[]){ "run", "--name", "t-mig", "--memory", "64", "--vcpus", "2",
					      "--cmdline", "relocate 20", NULL });
	assert_true(proc_wait_output(&P, "relocate: round 5 ", 30));
	start_receiver(&Q, addr, sizeof(addr));
	if (RUN(&R, 60, "migrate", "t-mig", addr) != 0)
		fail_msg("xenith migrate: %d\n%s%s\nreceiver:\n%s", R.status, R.out, R.err, Q.err);
	assert_non_null(strstr(R.out, "migrated 't-mig' to "));
	assert_non_null(strstr(R.err, "round 0: "));
	assert_non_null(strstr(R.err, "stop and copy: "));
	proc_wait(&P, 20);
	assert_int_equal(P.status, 67);
	assert_non_null(strstr(P.err, "migrated by `xenith migrate`"));
	/* It runs on there: 5 more rounds, each checking that both vCPUs counted within a second */
	if (!proc_wait_count(&Q, "relocate: round ", 5, 30))
		fail_msg("no rounds at the receiver:\n%s%s", Q.out, Q.err);
	assert_int_equal(RUN(&R, 20, "shutdown", "--run-dir", other_dir(), "t-mig"), 0);
	proc_wait(&Q, 30);
	if (Q.status != 0)
		fail_msg("status %d at the receiver:\n%s%s", Q.status, Q.out, Q.err);
	assert_non_null(strstr(Q.out, "pattern intact"));
	gap = strstr(Q.out, "largest gap ");
	assert_non_null(gap);
	fprintf(stderr, "# after the migration, the guest's %s", gap);
}

/* A periodic timer runs across the move: the timer program waits for all 200 ticks of 10 ms. */
/*
 * guest_cpl = 0 (VT-x/AMD-V hosts: the lab): the timer program takes its
 * ticks as interrupts on the vector it registered; the receiver must have
 * the vector and any upcall owed, or the guest halts for good.
 */
static void test_a_cpl0_domain_migrates_and_keeps_taking_its_timer_interrupts(void **state)
{
	char addr[64];

	(void)state;
	if (!harness_host_runs_cpl0())
		SKIP_BECAUSE("guest_cpl = 0 needs VT-x/AMD-V; this host's KVM does not run CPL 0 natively");
	proc_start(&P, (const char *const[]){ "run", "--name", "t-mc0", "--guest-cpl", "0", "--cmdline",
					      "timer 200 10", NULL });
	assert_true(harness_wait_domain_state("t-mc0", "running", 30));
	proc_pump(&P, 0.5);
	start_receiver(&Q, addr, sizeof(addr));
	if (RUN(&R, 60, "migrate", "t-mc0", addr) != 0)
		fail_msg("xenith migrate: %d\n%s%s\nreceiver:\n%s", R.status, R.out, R.err, Q.err);
	proc_wait(&P, 30);
	assert_int_equal(P.status, 67);
	assert_null(strstr(P.out, "timer: ")); /* moved before it was done */
	proc_wait(&Q, 60);
	if (Q.status != 0 || !strstr(Q.out, "timer: 200 ticks of 10 ms") || !strstr(Q.out, "at CPL 0 via interrupts"))
		fail_msg("status %d at the receiver:\n%s%s", Q.status, Q.out, Q.err);
}

static void test_a_domain_with_a_periodic_timer_migrates_and_keeps_ticking(void **state)
{
	char addr[64];

	(void)state;
	proc_start(&P, (const char *const[]){ "run", "--name", "t-mt", "--cmdline", "timer 200 10", NULL });
	assert_true(harness_wait_domain_state("t-mt", "running", 20));
	proc_pump(&P, 0.5);
	start_receiver(&Q, addr, sizeof(addr));
	if (RUN(&R, 60, "migrate", "t-mt", addr) != 0)
		fail_msg("xenith migrate: %d\n%s%s\nreceiver:\n%s", R.status, R.out, R.err, Q.err);
	proc_wait(&P, 20);
	assert_int_equal(P.status, 67);
	assert_null(strstr(P.out, "timer: ")); /* moved before it was done */
	proc_wait(&Q, 30);
	if (Q.status != 0 || !strstr(Q.out, "timer: 200 ticks of 10 ms"))
		fail_msg("status %d at the receiver:\n%s%s", Q.status, Q.out, Q.err);
}

/* ---- a receiver this test plays ---- */

enum fake_fault {
	CUT_AT_HEAD,      /* 100 bytes, then close */
	CUT_IN_ROUND,     /* 1 MiB (inside round 0's 16 MiB of pattern), then close */
	CUT_BEFORE_READY, /* BUILT, everything up to the sender's silence, then close */
	CUT_AFTER_GO,     /* BUILT, everything, READY, GO, then close without DONE */
	REFUSE,           /* ERROR instead of BUILT */
};

struct fake {
	enum fake_fault fault;
	int lfd;
	uint64_t got;
	char last[64];
};

static void put(int fd, const char *s)
{
	(void)!write(fd, s, strlen(s));
}

/* Reads what comes until n bytes (or, n == 0, until 300 ms of silence); false if the sender closed. */
static bool drain(struct fake *f, int fd, uint64_t n)
{
	static char buf[1 << 16];

	while (!n || f->got < n) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t k;

		if (poll(&p, 1, n ? 20000 : 300) <= 0)
			return !n;
		k = read(fd, buf, n && n - f->got < sizeof(buf) ? n - f->got : sizeof(buf));
		if (k <= 0)
			return false;
		f->got += (uint64_t)k;
	}
	return true;
}

static void *fake_receiver(void *arg)
{
	struct fake *f = arg;
	int fd = accept(f->lfd, NULL, NULL);
	char buf[16];
	ssize_t k;

	if (fd < 0)
		return NULL;
	switch (f->fault) {
	case CUT_AT_HEAD:
		drain(f, fd, 100);
		break;
	case CUT_IN_ROUND:
		drain(f, fd, 1u << 20);
		break;
	case REFUSE:
		drain(f, fd, 100);
		put(fd, "ERROR this receiver refuses, for the test\n");
		drain(f, fd, 0);
		break;
	case CUT_BEFORE_READY:
	case CUT_AFTER_GO:
		drain(f, fd, 100);
		put(fd, "BUILT\n");
		drain(f, fd, 0); /* the whole stream: the sender then waits for READY */
		if (f->fault == CUT_BEFORE_READY)
			break;
		put(fd, "READY\n");
		k = read(fd, buf, sizeof(buf) - 1);
		if (k > 0) {
			buf[k] = 0;
			snprintf(f->last, sizeof(f->last), "%s", buf);
		}
		break;
	}
	close(fd);
	return NULL;
}

/* A migration to a receiver that does f; the domain is t-flt, running `relocate 20` in 64 MiB. */
static void migrate_to_fake(enum fake_fault fault, const char *why)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	struct fake f = { .fault = fault };
	pthread_t t;
	char addr[64];

	f.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f.lfd >= 0);
	assert_int_equal(bind(f.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f.lfd, 1), 0);
	assert_int_equal(getsockname(f.lfd, (struct sockaddr *)&sa, &len), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", ntohs(sa.sin_port));
	assert_int_equal(pthread_create(&t, NULL, fake_receiver, &f), 0);
	assert_int_equal(RUN(&R, 60, "migrate", "t-flt", addr), 1);
	pthread_join(t, NULL);
	close(f.lfd);
	if (!strstr(R.err, why))
		fail_msg("expected '%s' in:\n%s", why, R.err);
	if (fault == CUT_AFTER_GO)
		assert_string_equal(f.last, "GO\n");
}

static unsigned rounds_now(struct proc *p)
{
	proc_pump(p, 0);
	return proc_count(p, "relocate: round ");
}

static void test_a_migration_cut_at_any_phase_before_go_leaves_the_domain_running(void **state)
{
	static const struct {
		enum fake_fault fault;
		const char *why;
	} cases[] = {
		{ CUT_AT_HEAD, "migration of 't-flt' failed" },
		{ CUT_IN_ROUND, "migration of 't-flt' failed" },
		{ REFUSE, "the receiver refused the domain: this receiver refuses, for the test" },
		{ CUT_BEFORE_READY, "no READY from the receiver" },
	};

	(void)state;
	proc_start(&P, (const char *const[]){ "run", "--name", "t-flt", "--memory", "64", "--cmdline",
					      "relocate 20", NULL });
	assert_true(proc_wait_output(&P, "relocate: round 3 ", 30));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned before;
		char st[32];

		migrate_to_fake(cases[i].fault, cases[i].why);
		assert_non_null(strstr(R.err, "the domain runs on here"));
		assert_true(harness_domain_state("t-flt", st, sizeof(st)));
		assert_string_equal(st, "running");
		before = rounds_now(&P);
		if (!proc_wait_count(&P, "relocate: round ", before + 3, 20))
			fail_msg("case %zu: no rounds after the failed migration:\n%s", i, P.err);
	}
	assert_int_equal(RUN(&R, 20, "shutdown", "t-flt"), 0);
	proc_wait(&P, 30);
	assert_int_equal(P.status, 0);
	assert_non_null(strstr(P.out, "pattern intact"));
}

/*
 * After GO the sender cannot know whether the receiver started it: paused
 * here, never two copies.  `xenith unpause` then gives it everything back:
 * the timer program (200 ticks of 10 ms) finishes only if its periodic
 * timer was let go again.
 */
static void test_a_migration_cut_after_go_leaves_the_domain_paused_and_says_so(void **state)
{
	char st[32];

	(void)state;
	proc_start(&P, (const char *const[]){ "run", "--name", "t-flt", "--memory", "64", "--cmdline",
					      "timer 200 10", NULL });
	assert_true(harness_wait_domain_state("t-flt", "running", 20));
	proc_pump(&P, 0.3);
	migrate_to_fake(CUT_AFTER_GO, "did not confirm");
	assert_non_null(strstr(R.err, "stays paused here"));
	assert_non_null(strstr(R.err, "xenith unpause t-flt"));
	assert_true(harness_domain_state("t-flt", st, sizeof(st)));
	assert_string_equal(st, "paused");
	assert_null(strstr(P.out, "timer: "));
	assert_int_equal(RUN(&R, 20, "unpause", "t-flt"), 0);
	proc_wait(&P, 30);
	if (P.status != 0 || !strstr(P.out, "timer: 200 ticks of 10 ms"))
		fail_msg("status %d after the unpause:\n%s%s", P.status, P.out, P.err);
}

/* A sender that stops mid-stream (here: half of a saved stream, then the connection closes). */
static void test_a_receiver_whose_sender_vanishes_cleans_up(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char file[256], addr[64], st[32], *s, *colon;
	size_t len;
	int fd;

	(void)state;
	harness_path(file, sizeof(file), "half.xs");
	proc_start(&P, (const char *const[]){ "run", "--name", "t-half", "--cmdline", "ticker 20", NULL });
	assert_true(proc_wait_line(&P, "tick 2", 20));
	assert_int_equal(RUN(&R, 60, "save", "t-half", file), 0);
	proc_wait(&P, 20);
	s = test_read_file(file, &len);
	start_receiver(&Q, addr, sizeof(addr));
	colon = strrchr(addr, ':');
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(fd, s, len / 2), (ssize_t)(len / 2));
	/*
	 * A clean end (FIN): the receiver answers BUILT once it has the head,
	 * and a close with that unread would reset the connection instead
	 * (the receiver then says "Connection reset by peer").
	 */
	assert_int_equal(shutdown(fd, SHUT_WR), 0);
	{
		char sink[256];
		struct pollfd pf = { .fd = fd, .events = POLLIN };

		while (poll(&pf, 1, 20000) == 1 && read(fd, sink, sizeof(sink)) > 0)
			;
	}
	close(fd);
	free(s);
	proc_wait(&Q, 20);
	if (Q.status != 65 || !strstr(Q.err, "truncated at byte"))
		fail_msg("the receiver (status %d) did not say the stream was cut:\n%s", Q.status, Q.err);
	/* nothing of it is left at the receiver's run directory */
	setenv("XENITH_RUN_DIR", other_dir(), 1);
	assert_false(harness_domain_state("t-half", st, sizeof(st)));
	setenv("XENITH_RUN_DIR", harness_run_dir(), 1);
}


/*
 * A disk under I/O migrates live: the guest writes a pattern one request
 * at a time while its memory goes (the backend writes guest memory behind
 * KVM's dirty log: the stop-and-copy's sweep must find it), the image's
 * lock passes from the sender to the receiver at the stop, and the guest
 * goes on at the receiver, reads back and finds no bad word; nor does the
 * host in the image.
 */
static void test_a_domain_with_a_disk_under_io_migrates_and_loses_no_write(void **state)
{
	char addr[64], img[256], disk[400];
	int fd;

	(void)state;
	harness_path(img, sizeof(img), "mig.img");
	fd = open(img, O_CREAT | O_TRUNC | O_RDWR, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 16 << 20), 0);
	close(fd);
	snprintf(disk, sizeof(disk), "path=%s", img);
	proc_start(&P, (const char *const[]){ "run", "--name", "t-mio", "--disk", disk, "--cmdline",
					      "blk verify disk=0 blocks=4000 bs=4096 seed=13 pause=200", NULL });
	assert_true(proc_wait_output(&P, "connected through xenstore", 20));
	start_receiver(&Q, addr, sizeof(addr));
	if (RUN(&R, 60, "migrate", "t-mio", addr) != 0)
		fail_msg("xenith migrate: %d\n%s%s\nreceiver:\n%s", R.status, R.out, R.err, Q.err);
	proc_wait(&P, 20);
	assert_int_equal(P.status, 67);
	assert_null(strstr(P.out, "written and flushed")); /* it moved while writing */
	proc_wait(&Q, 60);
	if (Q.status != 0 || !strstr(Q.out, "read back, 0 bad words"))
		fail_msg("status %d at the receiver:\n%s%s", Q.status, Q.out, Q.err);
	host_verifies(img, 13, 4000 * 4096ull, 0);
}

/*
 * The VMM writes a page the guest never writes (guest/test_programs.c,
 * vmmwrite), all through the migration: KVM's dirty log never has it, so
 * only the stop-and-copy's sweep of changed pages carries its last state.
 */
static void test_pages_the_vmm_writes_behind_the_dirty_log_reach_the_receiver(void **state)
{
	char addr[64];

	(void)state;
	setenv("XENITH_TEST_HOOKS", "1", 1); /* both ends serve the guest's test hypercall */
	proc_start(&P, (const char *const[]){ "run", "--name", "t-vw", "--cmdline", "vmmwrite", NULL });
	assert_true(proc_wait_output(&P, "vmmwrite: page granted", 20));
	proc_pump(&P, 0.2);
	start_receiver(&Q, addr, sizeof(addr));
	if (RUN(&R, 60, "migrate", "t-vw", addr) != 0)
		fail_msg("xenith migrate: %d\n%s%s\nreceiver:\n%s", R.status, R.out, R.err, Q.err);
	proc_wait(&P, 20);
	assert_int_equal(P.status, 67);
	proc_pump(&Q, 0.3); /* it writes on there a while */
	assert_int_equal(RUN(&R, 20, "shutdown", "--run-dir", other_dir(), "t-vw"), 0);
	proc_wait(&Q, 20);
	if (Q.status != 0 || !strstr(Q.out, ", 0 of the page's bytes are not what it wrote"))
		fail_msg("status %d at the receiver:\n%s%s", Q.status, Q.out, Q.err);
}

/*
 * A guest writing 96 MiB round and round at 300 MB/s (guest/programs.c,
 * dirty), migrated with the dirty log ring_arg chooses.  The log must
 * catch the guest's writes: the stop-and-copy's sweep, which finds pages
 * changed behind the log, finds next to none (the VMM writes little for
 * this program; a log that lost entries leaves thousands to it).  At the
 * receiver every page holds the last value the guest wrote there.
 */
static char migrated[4096]; /* what `xenith migrate` printed */

static void migrate_a_dirtying_domain(const char *ring_arg, const char *want_log)
{
	char addr[64];
	const char *s;
	unsigned long long swept = ~0ull;

	proc_start(&P, (const char *const[]){ "run", "--name", "t-dr", "--memory", "128", "--dirty-ring", ring_arg,
					      "--cmdline", "dirty 300 96", NULL });
	if (!proc_wait_output(&P, "dirty: 300 MB/s over 96 MiB", 20)) {
		proc_wait(&P, 5);
		if (strstr(P.err, "has no dirty ring"))
			SKIP_BECAUSE("this host's KVM has no dirty ring (KVM_CAP_DIRTY_LOG_RING)");
		fail_msg("the domain did not start:\n%s%s", P.out, P.err);
	}
	proc_pump(&P, 0.3);
	start_receiver(&Q, addr, sizeof(addr));
	if (RUN(&R, 60, "migrate", "t-dr", addr) != 0)
		fail_msg("xenith migrate: %d\n%s%s\nreceiver:\n%s", R.status, R.out, R.err, Q.err);
	if (!strstr(R.out, want_log))
		fail_msg("no '%s' in:\n%s", want_log, R.out);
	s = strstr(R.out, " pages (");
	assert_non_null(s);
	s = strstr(s + 1, " pages (");
	assert_non_null(s);
	assert_int_equal(sscanf(s, " pages (%llu the VMM's own writes)", &swept), 1);
	fprintf(stderr, "# %s", R.out);
	snprintf(migrated, sizeof(migrated), "%s", R.out);
	if (swept > 8)
		fail_msg("the sweep found %llu pages the dirty log missed:\n%s", swept, R.out);
	proc_wait(&P, 20);
	assert_int_equal(P.status, 67);
	assert_int_equal(RUN(&R, 20, "shutdown", "--run-dir", other_dir(), "t-dr"), 0);
	proc_wait(&Q, 20);
	if (Q.status != 0 || !strstr(Q.out, "dirty: every page holds its last write ("))
		fail_msg("status %d at the receiver:\n%s%s", Q.status, Q.out, Q.err);
}

/*
 * KVM's dirty ring, 1024 entries per vCPU: the writes of one round fill it
 * more than once, so the vCPU exits for a full ring (its thread harvests
 * and resets) and the migration's fetches harvest the rest.
 */
static void test_a_dirtying_domain_migrates_through_a_small_dirty_ring_that_fills(void **state)
{
	unsigned long long full = 0;
	const char *s;

	(void)state;
	migrate_a_dirtying_domain("1024", "dirty log: KVM's dirty ring, 1024 entries per vCPU; ");
	s = strstr(migrated, "dirty log: KVM's dirty ring, 1024 entries per vCPU; ");
	if (!s || sscanf(s, "dirty log: KVM's dirty ring, 1024 entries per vCPU; %llu vCPU exits", &full) != 1 ||
	    full == 0)
		fail_msg("no exit for a full ring:\n%s", migrated);
}

/* dirty_ring = 0: KVM's bitmap, fetched with KVM_GET_DIRTY_LOG, as on hosts without the ring. */
static void test_a_dirtying_domain_migrates_with_the_dirty_bitmap(void **state)
{
	(void)state;
	migrate_a_dirtying_domain("0", "dirty log: KVM's dirty bitmap\n");
}

/*
 * Another network namespace as the other host: the receiver listens on
 * its end of a veth pair (10.213.77.2), the sender reaches it through the
 * link, not loopback.  The guest writes memory all along (dirty) and finds
 * every page's last write at the receiver.  Needs root and iproute2.
 */
static char ns_name[32], veth[16];

static int netns_teardown(void **state)
{
	char cmd[128];
	int r = harness_teardown(state);

	if (ns_name[0]) {
		snprintf(cmd, sizeof(cmd), "ip netns del %s 2>/dev/null; ip link del %s 2>/dev/null", ns_name, veth);
		(void)!system(cmd);
		ns_name[0] = 0;
	}
	return r;
}

static void test_a_domain_migrates_to_a_receiver_in_another_network_namespace(void **state)
{
	char cmd[512], addr[64], port[16];
	const char *s;

	(void)state;
	if (geteuid() != 0)
		SKIP_BECAUSE("a network namespace and a veth pair need root");
	if (system("command -v ip >/dev/null 2>&1") != 0)
		SKIP_BECAUSE("no `ip` (iproute2) to make a network namespace and a veth pair");
	snprintf(ns_name, sizeof(ns_name), "xt-mig-%d", (int)getpid());
	snprintf(veth, sizeof(veth), "xtm%d", (int)getpid() % 1000000);
	snprintf(cmd, sizeof(cmd),
		 "set -e; ip netns add %s; ip link add %s type veth peer name xtn0 netns %s; "
		 "ip addr add 10.213.77.1/24 dev %s; ip link set %s up; "
		 "ip -n %s addr add 10.213.77.2/24 dev xtn0; ip -n %s link set xtn0 up; ip -n %s link set lo up",
		 ns_name, veth, ns_name, veth, veth, ns_name, ns_name, ns_name);
	if (system(cmd) != 0)
		SKIP_BECAUSE("ip could not make a network namespace with a veth pair here");

	proc_start(&P, (const char *const[]){ "run", "--name", "t-ns", "--memory", "64", "--cmdline", "dirty 100 16",
					      NULL });
	assert_true(proc_wait_output(&P, "dirty: 100 MB/s over 16 MiB", 20));
	proc_start_in_netns(&Q, ns_name, (const char *const[]){ "migrate-receive", "--run-dir", other_dir(),
								  "--listen", "10.213.77.2:0", NULL });
	{
		double end = harness_now_s() + 20;

		while (!(s = strstr(Q.err, "listening on 10.213.77.2:")) || !strchr(s, '\n')) {
			if (harness_now_s() > end || !proc_alive(&Q))
				fail_msg("the receiver does not listen in %s:\n%s", ns_name, Q.err);
			proc_pump(&Q, 0.05);
		}
	}
	snprintf(port, sizeof(port), "%.*s", (int)(strchr(s, '\n') - s - 25), s + 25);
	snprintf(addr, sizeof(addr), "10.213.77.2:%s", port);
	/* loopback in the namespace is not the host's: the receiver is reachable only over the link */
	if (RUN(&R, 60, "migrate", "t-ns", addr) != 0)
		fail_msg("xenith migrate to %s: %d\n%s%s\nreceiver:\n%s", addr, R.status, R.out, R.err, Q.err);
	assert_non_null(strstr(R.out, "migrated 't-ns' to 10.213.77.2:"));
	proc_wait(&P, 20);
	assert_int_equal(P.status, 67);
	for (double end = harness_now_s() + 20; !strstr(Q.err, "xenith: received 't-ns'");) {
		if (harness_now_s() > end || !proc_alive(&Q))
			fail_msg("the receiver did not start the domain:\n%s%s", Q.out, Q.err);
		proc_pump(&Q, 0.05);
	}
	assert_int_equal(RUN(&R, 20, "shutdown", "--run-dir", other_dir(), "t-ns"), 0);
	proc_wait(&Q, 20);
	if (Q.status != 0 || !strstr(Q.out, "dirty: every page holds its last write ("))
		fail_msg("status %d at the receiver:\n%s%s", Q.status, Q.out, Q.err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_a_running_smp_domain_migrates_live_over_loopback, harness_teardown),
		cmocka_unit_test_teardown(test_a_domain_with_a_periodic_timer_migrates_and_keeps_ticking,
					  harness_teardown),
		cmocka_unit_test_teardown(test_a_cpl0_domain_migrates_and_keeps_taking_its_timer_interrupts,
					  harness_teardown),
		cmocka_unit_test_teardown(test_a_migration_cut_at_any_phase_before_go_leaves_the_domain_running,
					  harness_teardown),
		cmocka_unit_test_teardown(test_a_migration_cut_after_go_leaves_the_domain_paused_and_says_so,
					  harness_teardown),
		cmocka_unit_test_teardown(test_a_receiver_whose_sender_vanishes_cleans_up, harness_teardown),
		cmocka_unit_test_teardown(test_a_domain_with_a_disk_under_io_migrates_and_loses_no_write,
					  harness_teardown),
		cmocka_unit_test_teardown(test_pages_the_vmm_writes_behind_the_dirty_log_reach_the_receiver,
					  harness_teardown),
		cmocka_unit_test_teardown(test_a_dirtying_domain_migrates_through_a_small_dirty_ring_that_fills,
					  harness_teardown),
		cmocka_unit_test_teardown(test_a_dirtying_domain_migrates_with_the_dirty_bitmap, harness_teardown),
		cmocka_unit_test_teardown(test_a_domain_migrates_to_a_receiver_in_another_network_namespace,
					  netns_teardown),
	};

	harness_require_kvm();
	harness_run_dir();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
