// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the hypercall handlers, in sequences, on one unbacked
 * domain (domain_create_unbacked: the bundled minios's memory, page
 * tables, start_info, event channels, grant table, two disks and three
 * vCPUs, no KVM) built once and reset after every input.  Each input is a
 * guest: it writes its own memory (argument structs, grant entries, event
 * masks) and makes hypercalls from any of its vCPUs with arguments drawn
 * from a dictionary of interesting values.  After every call:
 *   - RAX is a success value of that op or an error its contract lists
 *     (the table `rules` below: the headers in include/xenith/ and the handlers'
 *     headers), and no other register changed;
 *   - guest memory changed only where the op may write (its output
 *     struct, a grant it was given, a discard range, event bits in
 *     shared_info, the console ring's out_cons, pages granted to a
 *     connected disk backend; on a send, the store's side of its ring
 *     page: req_cons, rsp[], rsp_prod and its status words, never the
 *     guest's req[], req_prod or rsp_cons): the pages calls aim at are compared after
 *     each call, the whole memory once per input.  The guest's read-only
 *     boot pages (start_info, GDT/TSS, page tables) never change, not even
 *     through an output pointer or a grant (XENITH_FUZZ_PROTECTED=0 turns
 *     this off, to look for other faults in a VMM that lets them change);
 *   - the event-channel table is consistent (port 0 reserved, port 1 the
 *     console, port 2 the store, a free port all zero, virq_port[] and VIRQ ports agree, a
 *     kick fd only on a backend port and that backend's own, nobody left
 *     polling or blocked);
 *   - with no disk connected, no grant entry is pinned or held;
 *   - vCPU up/down state and the domain's end are what the calls said.
 * After every input, once the threads hypercalls started are stopped (disk
 * backends, the event-channel loopback, the periodic timer): no grant held,
 * no thread left behind (io_uring's own iou-* workers aside).  The reset
 * then writes the guest's store tree afresh and publishes the disks'
 * directories again, each backend in InitWait, as a reboot does
 * (republish_disks), so every input can connect a disk through the store
 * as a frontend does (hv/vbd.h; fuzz/make_seeds.py's seed-vbd-* seeds do).
 * Host memory
 * outside guest memory: ASan for the heap, and the unbacked domain's guard
 * regions (hv/builder.c) for accesses just past either end of guest memory.
 *
 * The domain has test hooks (XENITH_TEST_HOOKS=1: the xenith_test ops
 * answer) for a call whose vcpu byte says so, and not for the others, whose
 * xenith_test calls must all get -ENOSYS.  XENITH_TEST_STALL is always made
 * without them: with them it would sleep for real.
 *
 * A vCPU that is up sleeps in sched_op block/poll as a real one would.
 * Nothing runs to wake it here but the timer, loopback and disk threads, so
 * with none of those running such a call is made with the vCPU taken down
 * for its duration (the answer is then the one a vCPU being taken down
 * gets); with one running, a helper takes the vCPU down if the call still
 * sleeps after 1 ms.  A poll with a timeout of at most 1 ms just sleeps.
 *
 * The image comes from XENITH_MINIOS (fuzz/run.sh sets it to
 * BUILD_DIR/guest/minios); without it the target says so and exits.
 * XENITH_FUZZ_TRACE=1 prints every call and its answer, and after each
 * event-channel call the store's replies it brought and any change of a
 * disk's backend state, connects, connected queues or requests taken (as
 * `xenith disks` shows them), to read what an input does:
 * `XENITH_FUZZ_TRACE=1 fuzz_hypercall FILE`.  XENITH_FUZZ_EXPECT_CONNECT=1
 * makes an input that connected no disk through the store a failure
 * (fuzz/run.sh runs the seed-vbd-* seeds so before it fuzzes).
 *
 * Input (little-endian; fuzz.h reads zeroes past the end): records until
 * the input ends (at most MAX_RECORDS), each a u8 kind (v % 4):
 *   0 write  u8 region, u16 offset, u8 len, then len bytes
 *   1 value  u8 region, u16 offset, u8 width (1 << v % 4 bytes), then an arg
 *   2, 3 call  u8 vcpu (v % 3; (v / 3) odd: made as to a VMM without
 *              XENITH_TEST_HOOKS, see below), u8 op (v % NR_OPS: the `ops`
 *              table), 5 args
 * Regions (v % 5): the arena (ARENA_PAGES pages at the start of free
 * memory, where argument structs and grant tables go), the last page of
 * memory, shared_info, the console ring, the store's ring page (requests
 * the store then reads on a send to port 2: its connection and the
 * domain's tree are made afresh after every input); a write is cut at the
 * region's end.
 * An arg is a u8 selector (v % NR_ARGS: the A_* list) and what it reads.
 * fuzz/make_seeds.py writes valid inputs in this layout.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blkback.h"
#include "blkdev.h"
#include "domain.h"
#include "fuzz.h"
#include "hypercall.h"
#include "jsondoc.h"
#include "loopback.h"
#include "vbd.h"
#include "xenith/blkif.h"
#include "xenith/xs_wire.h"
#include "xenstore.h"
#include "xsdomain.h"

#define PAGE 4096ull
#define NR_VCPUS 3u
#define MEMORY_MIB 2u
#define ARENA_PAGES 16u
#define ARENA_BYTES (ARENA_PAGES * PAGE)
#define DISK_BYTES (1u << 20)
#define NR_DISKS 2u
#define MAX_RECORDS 96u
#define MAX_PORTS_SEEN 16u
#define SLEEP_NS 1000000ull         /* how long a call may really sleep */
#define SLEEP_BUDGET_NS 8000000ull  /* in all, per input */

/* ---- the dictionary of argument values ---- */

enum {
	A_SMALL,       /* u8: commands, counts, ids */
	A_ZERO,
	A_ONE,
	A_ARENA,       /* u16: a pointer into the arena */
	A_ARENA_PAGE,  /* u8: a page of the arena */
	A_START_INFO,  /* u8: into start_info (read-only to the guest) */
	A_PT,          /* u16: into the page tables (read-only) */
	A_GDT,         /* u16: into the GDT/TSS page (read-only) */
	A_SHARED,      /* u16: into shared_info */
	A_CONSOLE,     /* u16: into the console ring */
	A_IMAGE,       /* u16: into the kernel's text (read-only) */
	A_STACK,       /* u16: into vCPU 0's stack */
	A_LAST,        /* u8: mem_size - 1 - v, the last bytes of memory */
	A_MEM_SIZE,    /* one past the end */
	A_2_63,
	A_U64_MAX,
	A_WRAP,        /* u16: 2^64 - 1 - v: wraps around with any length */
	A_PAGE_SIZE,
	A_HUGE,        /* 2^32 */
	A_U32_MAX,
	A_U32_PLUS,    /* u8: 2^32 + v, which a 32-bit truncation turns into v */
	A_NR_EVTCHN_M1,
	A_NR_EVTCHN,
	A_NR_VCPUS,    /* one past the last vCPU */
	A_ENTRY,       /* the image's entry point: a valid RIP */
	A_PORT,        /* u8: a port an earlier call returned (2, the store's, if none) */
	A_REF,         /* u16: a grant reference */
	A_FRAME,       /* u8: a frame number (arena, boot pages, last, past the end) */
	A_NS,          /* u8: a duration (the `durations` table) */
	A_RAW,         /* u64 */
	A_STORE,       /* u16: into the store's ring page */
	NR_ARGS
};

static const uint64_t durations[] = {
	1, 1000, 100000, 1000000, 1000000000ull, 3600ull * 1000000000ull,
	3600ull * 1000000000ull + 1, 365ull * 86400 * 1000000000ull + 1, UINT64_MAX,
};

/* ---- the ops a call picks from ---- */

struct op {
	uint32_t nr;
	uint64_t rax_high; /* upper half of RAX: the dispatcher reads EAX only */
};

static const struct op ops[] = {
	{ __HYPERVISOR_console_io, 0 },
	{ __HYPERVISOR_sched_op, 0 },
	{ __HYPERVISOR_vcpu_op, 0 },
	{ __HYPERVISOR_event_channel_op, 0 },
	{ __HYPERVISOR_grant_table_op, 0 },
	{ __HYPERVISOR_hvm_op, 0 },
	{ __HYPERVISOR_xenith_config, 0 },
	{ __HYPERVISOR_xenith_time, 0 },
	{ __HYPERVISOR_xenith_guest_assert, 0 },
	{ __HYPERVISOR_xenith_test, 0 },
	{ __HYPERVISOR_xenith_discard, 0 },
	{ __HYPERVISOR_xen_version, 0 },
	{ __HYPERVISOR_xenith_bench_report, 0 },
	{ 0, 0 },                               /* unknown ops */
	{ 13, 0 },                              /* multicall: reserved */
	{ 63, 0 },
	{ 70, 0 },
	{ XENITH_HYPERCALL_MAX, 0 },
	{ UINT32_MAX, 0 },
	{ __HYPERVISOR_event_channel_op, 1ull << 32 }, /* high bits: still event_channel_op */
	{ __HYPERVISOR_xenith_test, 0xffffffffull << 32 },
};
#define NR_OPS (sizeof(ops) / sizeof(ops[0]))

/*
 * ---- the contract: what each op may answer ----
 *
 * Errors per (op, cmd), as include/xenith/abi.h, blkif.h and
 * grant_table.h document them, plus those the handlers forward from the
 * headers they call (io/grant.h, io/blkback.h, hv/loopback.h): an answer
 * outside this table is a finding.  The first rule that names the op and
 * the cmd wins; a rule with any_cmd covers the op's other cmds.  Checks
 * that come before the cmd (vcpu_op's vCPU id, xenith_config's disk index)
 * are in every rule of the op.
 */
enum ok_kind {
	OK_ZERO,     /* 0 */
	OK_COUNT,    /* the count asked for (console_io) */
	OK_BOOL,     /* 0 or 1 (VCPUOP_is_up) */
	OK_HASH,     /* a 32-bit hash (XENITH_TEST_GRANT_READ) */
	OK_POSITIVE, /* any value >= 0 (xenith_time) */
	OK_ECHO,     /* arg 1 itself, whatever it is (XENITH_TEST_ECHO) */
	OK_VERSION,  /* (major << 16) | minor */
	OK_NEVER,    /* an error always */
};

#define MAX_ERRS 10

struct rule {
	uint32_t op;
	bool any_cmd;
	uint64_t cmd;
	enum ok_kind ok;
	int errs[MAX_ERRS]; /* XEN_E*, 0-terminated */
};

#define GRANT_ERRS XEN_ENOENT, XEN_EPERM, XEN_EFAULT, XEN_EBUSY /* io/grant.h grant_map */

static const struct rule rules[] = {
	{ __HYPERVISOR_console_io, false, CONSOLEIO_write, OK_COUNT, { XEN_EINVAL, XEN_EFAULT } },
	{ __HYPERVISOR_console_io, true, 0, OK_NEVER, { XEN_ENOSYS } },

	{ __HYPERVISOR_sched_op, false, SCHEDOP_yield, OK_ZERO, { 0 } },
	{ __HYPERVISOR_sched_op, false, SCHEDOP_block, OK_ZERO, { 0 } },
	{ __HYPERVISOR_sched_op, false, SCHEDOP_shutdown, OK_ZERO,
	  { XEN_EFAULT, XEN_EINVAL, XEN_ENOSYS /* suspend */ } },
	/* EINTR: the vCPU is being taken down (or the domain stopped) while it polls */
	{ __HYPERVISOR_sched_op, false, SCHEDOP_poll, OK_ZERO,
	  { XEN_EFAULT, XEN_EINVAL, XEN_ETIMEDOUT, XEN_EINTR } },
	{ __HYPERVISOR_sched_op, true, 0, OK_NEVER, { XEN_ENOSYS } },

	/* EINVAL first: the vCPU id.  EINTR: up while the domain is stopping. */
	{ __HYPERVISOR_vcpu_op, false, VCPUOP_up, OK_ZERO, { XEN_EINVAL, XEN_EALREADY, XEN_EINTR } },
	{ __HYPERVISOR_vcpu_op, false, VCPUOP_down, OK_ZERO, { XEN_EINVAL, XEN_EPERM } },
	{ __HYPERVISOR_vcpu_op, false, VCPUOP_is_up, OK_BOOL, { XEN_EINVAL } },
	{ __HYPERVISOR_vcpu_op, false, VCPUOP_set_periodic_timer, OK_ZERO,
	  { XEN_EINVAL, XEN_EPERM, XEN_EFAULT, XEN_ENOSPC } },
	{ __HYPERVISOR_vcpu_op, false, VCPUOP_stop_periodic_timer, OK_ZERO, { XEN_EINVAL, XEN_EPERM } },
	{ __HYPERVISOR_vcpu_op, true, 0, OK_NEVER, { XEN_EINVAL, XEN_ENOSYS } },

	{ __HYPERVISOR_event_channel_op, false, EVTCHNOP_bind_virq, OK_ZERO,
	  { XEN_EFAULT, XEN_EINVAL, XEN_EEXIST, XEN_ENOSPC } },
	{ __HYPERVISOR_event_channel_op, false, EVTCHNOP_close, OK_ZERO,
	  { XEN_EFAULT, XEN_EINVAL, XEN_EPERM } },
	{ __HYPERVISOR_event_channel_op, false, EVTCHNOP_send, OK_ZERO, { XEN_EFAULT, XEN_EINVAL } },
	{ __HYPERVISOR_event_channel_op, false, EVTCHNOP_status, OK_ZERO,
	  { XEN_EFAULT, XEN_EPERM, XEN_EINVAL } },
	{ __HYPERVISOR_event_channel_op, false, EVTCHNOP_alloc_unbound, OK_ZERO,
	  { XEN_EFAULT, XEN_EPERM, XEN_ESRCH, XEN_ENOSPC } },
	{ __HYPERVISOR_event_channel_op, false, EVTCHNOP_bind_vcpu, OK_ZERO, { XEN_EFAULT, XEN_EINVAL } },
	{ __HYPERVISOR_event_channel_op, false, EVTCHNOP_unmask, OK_ZERO, { XEN_EFAULT, XEN_EINVAL } },
	{ __HYPERVISOR_event_channel_op, true, 0, OK_NEVER, { XEN_ENOSYS } },

	{ __HYPERVISOR_grant_table_op, false, GNTTABOP_xenith_set_table, OK_ZERO,
	  { XEN_EINVAL, XEN_EFAULT, XEN_EBUSY, XEN_ENOMEM } },
	{ __HYPERVISOR_grant_table_op, true, 0, OK_NEVER, { XEN_ENOSYS } },

	{ __HYPERVISOR_hvm_op, false, HVMOP_set_param, OK_ZERO,
	  { XEN_EFAULT, XEN_ESRCH, XEN_EINVAL, XEN_EPERM } },
	{ __HYPERVISOR_hvm_op, true, 0, OK_NEVER, { XEN_ENOSYS } },

	/* Retired: disks are found and connected through xenstore (hv/vbd.h). */
	{ __HYPERVISOR_xenith_config, true, 0, OK_NEVER, { XEN_ENOSYS } },

	{ __HYPERVISOR_xenith_time, true, 0, OK_POSITIVE, { 0 } },
	{ __HYPERVISOR_xenith_guest_assert, true, 0, OK_ZERO, { 0 } },

	{ __HYPERVISOR_xenith_test, false, XENITH_TEST_ECHO, OK_ECHO, { 0 } },
	{ __HYPERVISOR_xenith_test, false, XENITH_TEST_SHMEM_ECHO, OK_NEVER, { XEN_ENOSYS /* no bench */ } },
	{ __HYPERVISOR_xenith_test, false, XENITH_TEST_GRANT_READ, OK_HASH, { XEN_EINVAL, GRANT_ERRS } },
	{ __HYPERVISOR_xenith_test, false, XENITH_TEST_GRANT_WRITE, OK_ZERO, { XEN_EINVAL, GRANT_ERRS } },
	{ __HYPERVISOR_xenith_test, false, XENITH_TEST_EVTCHN_LOOPBACK, OK_ZERO,
	  { XEN_EINVAL, XEN_EBUSY, XEN_ENOMEM } },
	{ __HYPERVISOR_xenith_test, false, XENITH_TEST_STALL, OK_NEVER, { XEN_ENOSYS /* made without test hooks */ } },
	/* an unbacked domain has no VM whose dirty log it could switch: never 0 */
	{ __HYPERVISOR_xenith_test, false, XENITH_TEST_DIRTY_LOG, OK_NEVER,
	  { XEN_EINVAL /* op */, XEN_ENODEV /* no VM */ } },
	{ __HYPERVISOR_xenith_test, true, 0, OK_NEVER, { XEN_ENOSYS } },

	{ __HYPERVISOR_xenith_bench_report, true, 0, OK_NEVER, { XEN_ENOSYS /* no bench */ } },
	{ __HYPERVISOR_xenith_discard, true, 0, OK_ZERO, { XEN_EINVAL, XEN_EFAULT } },
	{ __HYPERVISOR_xen_version, false, XENVER_version, OK_VERSION, { 0 } },
	{ __HYPERVISOR_xen_version, true, 0, OK_NEVER, { XEN_ENOSYS } },
};

static const struct rule unknown_op = { 0, true, 0, OK_NEVER, { XEN_ENOSYS } };
/* Every xenith_test cmd in a domain without test hooks (and no bench): as an op Xenith does not serve. */
static const struct rule test_op_without_hooks = { __HYPERVISOR_xenith_test, true, 0, OK_NEVER, { XEN_ENOSYS } };

static const struct rule *rule_for(uint32_t op, uint64_t cmd)
{
	const struct rule *any = NULL;

	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		if (rules[i].op != op)
			continue;
		if (!rules[i].any_cmd && rules[i].cmd == cmd)
			return &rules[i];
		if (rules[i].any_cmd && !any)
			any = &rules[i];
	}
	return any ? any : &unknown_op;
}

/* ---- the harness's state ---- */

struct range {
	uint64_t gpa, len;
};

#define MAX_RANGES 4

struct harness {
	struct domain *d;
	uint64_t arena;              /* gpa of the arena */
	uint64_t nr_pages;
	uint8_t *boot;               /* guest memory as built */
	uint8_t *shadow;             /* guest memory as the harness expects it */
	uint8_t *shadow_dirty;       /* per page: shadow differs from boot */
	uint8_t *async_ok;           /* per page: a disk backend may write it (a writable grant) */
	uint8_t *is_protected;       /* per page: start_info, GDT/TSS, page tables */
	bool strict_protected;       /* unless XENITH_FUZZ_PROTECTED=0 */
	bool trace;                  /* XENITH_FUZZ_TRACE=1: each call and its answer on stderr */
	uint64_t *watch;             /* pages compared after every call */
	unsigned nr_watch;
	int disk_fd;                 /* disk 0's image (writable), to wipe it between inputs */
	unsigned base_threads;       /* threads between inputs, with no timer thread */

	/* The model, per input. */
	bool up[NR_VCPUS];
	bool ended;
	uint32_t ports[MAX_PORTS_SEEN];
	unsigned nr_ports;
	uint32_t loopback_port;      /* 0: no loopback */
	bool disk_used;              /* a disk was connected: its image needs wiping */
	bool grants_async;           /* ... and its backend may set and clear busy bits at any time */
	struct disk_view {           /* each disk as `xenith disks` shows it (domain_disks_json) */
		int state;           /* the backend's XenbusState (hv/vbd.h) */
		unsigned long long connects; /* connects through the store, ever */
		unsigned queues, connected;  /* its queues, and how many are connected */
		unsigned long long requests; /* requests its queues took, ever */
	} disks[NR_DISKS];           /* as of the last send */
	bool connected;              /* a disk connected through the store during this input */
	bool vbd_moved;              /* a disk's backend state or connects moved in this input (or: first reset) */
	bool expect_connect;         /* XENITH_FUZZ_EXPECT_CONNECT=1: every input must connect one */
	uint64_t slept_ns;
};

static struct harness H;

/*
 * The checks and the reset are the harness's own work: no coverage
 * feedback from them (libFuzzer would take a new path through a check for
 * a new behaviour of the code under test), and no comparison tracing (it
 * costs more than the checks themselves).
 */
#define HARNESS __attribute__((no_sanitize("coverage")))

/* The helper that takes a sleeping vCPU down (see the top); cond runs on CLOCK_MONOTONIC. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct vcpu *target;
	struct timespec deadline;
	bool forced;
} waker = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, { 0, 0 }, false };

static void take_down(struct vcpu *v)
{
	pthread_mutex_lock(&v->d->lock);
	atomic_store(&v->up, false);
	pthread_cond_broadcast(&v->wake);
	pthread_mutex_unlock(&v->d->lock);
}

static void put_up(struct vcpu *v)
{
	pthread_mutex_lock(&v->d->lock);
	atomic_store(&v->up, true);
	pthread_mutex_unlock(&v->d->lock);
}

static void *waker_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&waker.lock);
	for (;;) {
		if (!waker.target || waker.forced) {
			pthread_cond_wait(&waker.cond, &waker.lock);
			continue;
		}
		if (pthread_cond_timedwait(&waker.cond, &waker.lock, &waker.deadline) == ETIMEDOUT &&
		    waker.target && !waker.forced) {
			take_down(waker.target);
			waker.forced = true;
		}
	}
	return NULL;
}

/*
 * Page comparisons take libc's memcmp itself: the sanitizers' interceptor
 * would check every byte's shadow and hand libFuzzer the pages' contents as
 * comparison operands (a dictionary full of guest memory), for megabytes
 * per input.
 */
static int (*raw_memcmp)(const void *, const void *, size_t);

static bool same(const void *a, const void *b, size_t n)
{
	return raw_memcmp(a, b, n) == 0;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* num_threads from /proc/self/stat (io_uring's workers included). */
HARNESS static unsigned stat_threads(void)
{
	char buf[1024], *p;
	unsigned n = 0;
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	ssize_t k;

	if (fd < 0)
		abort();
	k = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (k <= 0)
		abort();
	buf[k] = 0;
	p = strrchr(buf, ')'); /* after the command name, which may hold anything */
	/* state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime
	 * cutime cstime priority nice num_threads */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %u",
			 &n) != 1)
		abort();
	return n;
}

/* Threads of this process, io_uring's own workers (iou-wrk-*, iou-sqp-*) aside. */
HARNESS static unsigned count_threads(void)
{
	DIR *dir;
	struct dirent *e;
	unsigned n = stat_threads();

	if (n == H.base_threads)
		return n; /* the usual case: no need to look at each */
	n = 0;
	dir = opendir("/proc/self/task");
	if (!dir)
		abort();
	while ((e = readdir(dir))) {
		char path[64], comm[32] = "";
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		f = fopen(path, "r");
		if (f) {
			if (!fgets(comm, sizeof(comm), f))
				comm[0] = 0;
			fclose(f);
		}
		if (strncmp(comm, "iou-", 4) != 0)
			n++;
	}
	closedir(dir);
	return n;
}

/* ---- the disks' directories in the store ---- */

/*
 * A reboot publishes each disk's directories anew (domain.c: the devices
 * disconnect, the store's guest tree is written afresh, the devices
 * connect: hv/vbd.c's vbd_publish).  Reopening the disks at every reset
 * would cost milliseconds per input (io_uring set-ups), so the harness
 * keeps what the build published (the frontend directories, which the
 * tree's rewrite removes, node by node with their permissions) and writes
 * it back as domain 0; the backend's state machine goes back to InitWait
 * the way a frontend takes it there (Closed, then Initialising); the
 * reasons of refused connects go.  check_published() then compares both
 * directories with what the build published, so a difference between
 * this and a real republish shows.
 */
#define MAX_FE_NODES 64u
#define STORE_DUMP_MAX 16384u

static struct fe_node {
	char path[128];
	char value[128];
	char perms[4][16];
	unsigned nr_perms;
} fe_nodes[MAX_FE_NODES];
static unsigned nr_fe_nodes;
static char *published_fe, *published_be; /* xs_dump_json of both directories, as built */

static void fe_dir(char *buf, size_t size, const char *key)
{
	snprintf(buf, size, "/local/domain/%u/device/vbd%s%s", H.d->domid, key ? "/" : "", key ? key : "");
}

static void be_dir(char *buf, size_t size)
{
	snprintf(buf, size, "/local/domain/%u/backend/vbd/%u", XENITH_BACKEND_DOMID, H.d->domid);
}

static char *dump_json(const char *path)
{
	char *buf = malloc(STORE_DUMP_MAX);

	if (!buf || xs_dump_json(xsdomain_store(H.d), path, buf, STORE_DUMP_MAX) < 0) {
		fprintf(stderr, "fuzz_hypercall: cannot dump %s from the store\n", path);
		exit(1);
	}
	return buf;
}

static void keep_node(const char *path, const struct jv *node)
{
	const struct jv *perms = jv_get(node, "perms"), *kids = jv_get(node, "children");
	struct fe_node *n;

	if (nr_fe_nodes == MAX_FE_NODES || strlen(path) >= sizeof(n->path) ||
	    strlen(jv_str(node, "value", "")) >= sizeof(n->value) || !perms || perms->type != JV_ARR ||
	    perms->n == 0 || perms->n > 4) {
		fprintf(stderr, "fuzz_hypercall: %s: more than the harness keeps of a disk's directory\n", path);
		exit(1);
	}
	n = &fe_nodes[nr_fe_nodes++];
	snprintf(n->path, sizeof(n->path), "%s", path);
	snprintf(n->value, sizeof(n->value), "%s", jv_str(node, "value", ""));
	for (size_t i = 0; i < perms->n; i++)
		snprintf(n->perms[n->nr_perms++], sizeof(n->perms[0]), "%s",
			 perms->items[i].type == JV_STR ? perms->items[i].str : "?");
	for (size_t i = 0; kids && kids->type == JV_OBJ && i < kids->n; i++) {
		char child[256];

		snprintf(child, sizeof(child), "%s/%s", path, kids->keys[i]);
		keep_node(child, &kids->items[i]);
	}
}

/* Right after the build: what vbd_publish wrote. */
static void keep_published(void)
{
	char p[128], err[128];
	struct jv *doc;

	fe_dir(p, sizeof(p), NULL);
	published_fe = dump_json(p);
	be_dir(p, sizeof(p));
	published_be = dump_json(p);
	doc = jv_parse(published_fe, err, sizeof(err));
	if (!doc) {
		fprintf(stderr, "fuzz_hypercall: the store's dump of the disks: %s\n", err);
		exit(1);
	}
	fe_dir(p, sizeof(p), NULL);
	keep_node(p, doc);
	jv_free(doc);
}

HARNESS static void check_published(void)
{
	char p[128], *fe, *be;

	fe_dir(p, sizeof(p), NULL);
	fe = dump_json(p);
	be_dir(p, sizeof(p));
	be = dump_json(p);
	FUZZ_CHECK(!strcmp(fe, published_fe), "after the reset, the disks' frontend directories differ from "
		   "what the build published:\n%s\nnot\n%s", fe, published_fe);
	FUZZ_CHECK(!strcmp(be, published_be), "after the reset, the disks' backend directories differ from "
		   "what the build published:\n%s\nnot\n%s", be, published_be);
	free(fe);
	free(be);
}

HARNESS static void republish_disks(void)
{
	struct xs_store *s = xsdomain_store(H.d);
	char p[160], key[32];
	int r;

	for (unsigned i = 0; i < nr_fe_nodes; i++) {
		const struct fe_node *n = &fe_nodes[i];
		const char *perms[4];

		for (unsigned k = 0; k < n->nr_perms; k++)
			perms[k] = n->perms[k];
		FUZZ_CHECK(xs_write(s, n->path, n->value, strlen(n->value)) == 0 &&
			   xs_set_perms(s, n->path, perms, n->nr_perms) == 0, "republishing %s", n->path);
	}
	/*
	 * A backend the input left elsewhere than InitWait (H.disks: its state
	 * changes only within a send): as a frontend resets it (blkfront's reset_disk).
	 */
	for (unsigned i = 0; i < blkdev_count(H.d) && i < NR_DISKS; i++) {
		if (H.disks[i].state == XenbusStateInitWait)
			continue;
		snprintf(key, sizeof(key), "%u/state", vbd_devid(i));
		fe_dir(p, sizeof(p), key);
		FUZZ_CHECK(xs_printf(s, p, "%u", XenbusStateClosed) == 0 &&
			   xs_printf(s, p, "%u", XenbusStateInitialising) == 0, "resetting %s", p);
	}
	snprintf(p, sizeof(p), "/local/domain/%u/error/backend/vbd/%u", XENITH_BACKEND_DOMID, H.d->domid);
	r = xs_rm(s, p);
	FUZZ_CHECK(r == 0 || r == -ENOENT, "removing %s: %d", p, r);
	if (H.vbd_moved)
		check_published(); /* a hundred microseconds: only when the state machine moved */
}

/* ---- set-up, once ---- */

static int make_disk(char *path, size_t size)
{
	const char *tmp = getenv("TMPDIR");
	int fd;

	snprintf(path, size, "%s/xenith-fuzz-disk-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, DISK_BYTES) < 0) {
		fprintf(stderr, "fuzz_hypercall: a disk image in %s: %s\n", path, strerror(errno));
		exit(1);
	}
	return fd;
}

static void watch_page(uint64_t page)
{
	for (unsigned i = 0; i < H.nr_watch; i++)
		if (H.watch[i] == page)
			return;
	H.watch[H.nr_watch++] = page;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *minios = getenv("XENITH_MINIOS");
	struct domain_config cfg;
	struct domain_opts opts = { .console_fd = -1 };
	struct errbuf eb;
	char path[2][PATH_MAX], spec[PATH_MAX + 64];
	int fd[2];
	pthread_t t;
	pthread_condattr_t ca;
	struct domain *d;

	(void)argc, (void)argv;
	raw_memcmp = (int (*)(const void *, const void *, size_t))dlsym(RTLD_NEXT, "memcmp");
	if (!raw_memcmp)
		abort();
	if (!minios || access(minios, R_OK) != 0) {
		fprintf(stderr, "fuzz_hypercall: needs XENITH_MINIOS, the bundled guest image (BUILD_DIR/"
			"guest/minios: `meson compile -C BUILD_DIR` builds it); got %s\n",
			minios ? minios : "nothing");
		exit(1);
	}
	unsetenv("XENITH_TEST_HOOKS"); /* d->test_hooks is set per call (dispatch) */
	config_init(&cfg);
	snprintf(cfg.name, sizeof(cfg.name), "fuzz");
	snprintf(cfg.kernel, sizeof(cfg.kernel), "%s", minios);
	cfg.vcpus = NR_VCPUS;
	cfg.memory_mib = MEMORY_MIB;
	for (unsigned i = 0; i < NR_DISKS; i++) {
		fd[i] = make_disk(path[i], sizeof(path[i]));
		/* Disk 0: writable, two queues, persistent grants; disk 1: read-only, one queue, none. */
		snprintf(spec, sizeof(spec), i == 0 ? "path=%s,mode=exit,direct=0,queues=2"
			 : "path=%s,mode=exit,direct=0,ro=1,queues=1,persistent=0", path[i]);
		if (config_set(&cfg, "disk", spec, &eb) < 0) {
			fprintf(stderr, "fuzz_hypercall: %s\n", eb.msg);
			exit(1);
		}
	}
	/* Built with test hooks, so it has the test loopback device; then they are set per call. */
	setenv("XENITH_TEST_HOOKS", "1", 1);
	if (domain_create_unbacked(&cfg, &opts, 1, &H.d, &eb) < 0) {
		fprintf(stderr, "fuzz_hypercall: domain_create_unbacked: %s\n", eb.msg);
		exit(1);
	}
	unsetenv("XENITH_TEST_HOOKS");
	keep_published();
	for (unsigned i = 0; i < NR_DISKS; i++)
		unlink(path[i]); /* the domain has them open; nothing is left behind */
	close(fd[1]);
	H.disk_fd = fd[0];
	d = H.d;
	H.strict_protected = !(getenv("XENITH_FUZZ_PROTECTED") &&
			       !strcmp(getenv("XENITH_FUZZ_PROTECTED"), "0"));
	H.trace = getenv("XENITH_FUZZ_TRACE") && !strcmp(getenv("XENITH_FUZZ_TRACE"), "1");
	H.expect_connect = getenv("XENITH_FUZZ_EXPECT_CONNECT") &&
			   !strcmp(getenv("XENITH_FUZZ_EXPECT_CONNECT"), "1");
	H.nr_pages = d->mem_size / PAGE;
	H.arena = d->layout.free_start;
	if (H.arena + ARENA_BYTES + PAGE > d->mem_size) {
		fprintf(stderr, "fuzz_hypercall: free memory starts at %#llx: too little for the arena\n",
			(unsigned long long)H.arena);
		exit(1);
	}
	H.boot = malloc(d->mem_size);
	H.shadow = malloc(d->mem_size);
	H.shadow_dirty = calloc(H.nr_pages, 1);
	H.async_ok = calloc(H.nr_pages, 1);
	H.is_protected = calloc(H.nr_pages, 1);
	H.watch = calloc(H.nr_pages, sizeof(*H.watch));
	if (!H.boot || !H.shadow || !H.shadow_dirty || !H.async_ok || !H.is_protected || !H.watch)
		abort();
	memcpy(H.boot, d->mem, d->mem_size);
	memcpy(H.shadow, d->mem, d->mem_size);
	H.is_protected[d->layout.start_info / PAGE] = 1;
	H.is_protected[d->layout.gdt / PAGE] = 1;
	for (uint64_t i = 0; i < d->layout.nr_pt_pages; i++)
		H.is_protected[d->layout.pt_base / PAGE + i] = 1;
	/* Compared after every call: where the dictionary's pointers aim. */
	for (uint64_t p = 0; p < ARENA_PAGES; p++)
		watch_page(H.arena / PAGE + p);
	for (uint64_t p = 0; p < H.nr_pages; p++)
		if (H.is_protected[p])
			watch_page(p);
	watch_page(d->layout.shared_info / PAGE);
	watch_page(d->layout.console / PAGE);
	watch_page(d->layout.xenstore / PAGE);
	watch_page(d->layout.image_start / PAGE);
	watch_page(d->layout.stack_base / PAGE + 1);
	watch_page(H.nr_pages - 1);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* the deadline is mono_ns() */
	pthread_cond_destroy(&waker.cond);
	pthread_cond_init(&waker.cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&t, NULL, waker_thread, NULL))
		abort();
	return 0;
}

/* ---- reading the input ---- */

static uint64_t pick_arg(struct fuzz_in *in)
{
	struct domain *d = H.d;
	uint8_t sel = fuzz_u8(in) % NR_ARGS;

	switch (sel) {
	case A_SMALL: return fuzz_u8(in);
	case A_ZERO: return 0;
	case A_ONE: return 1;
	case A_ARENA: return H.arena + fuzz_u16(in) % ARENA_BYTES;
	case A_ARENA_PAGE: return H.arena + (fuzz_u8(in) % ARENA_PAGES) * PAGE;
	case A_START_INFO: return d->layout.start_info + fuzz_u8(in);
	case A_PT: return d->layout.pt_base + fuzz_u16(in) % (d->layout.nr_pt_pages * PAGE);
	case A_GDT: return d->layout.gdt + fuzz_u16(in) % PAGE;
	case A_SHARED: return d->layout.shared_info + fuzz_u16(in) % PAGE;
	case A_CONSOLE: return d->layout.console + fuzz_u16(in) % PAGE;
	case A_IMAGE: return d->layout.image_start + fuzz_u16(in);
	case A_STACK: return d->layout.stack_base + PAGE + fuzz_u16(in) % PAGE;
	case A_LAST: return d->mem_size - 1 - fuzz_u8(in);
	case A_MEM_SIZE: return d->mem_size;
	case A_2_63: return 1ull << 63;
	case A_U64_MAX: return UINT64_MAX;
	case A_WRAP: return UINT64_MAX - fuzz_u16(in);
	case A_PAGE_SIZE: return PAGE;
	case A_HUGE: return 1ull << 32;
	case A_U32_MAX: return UINT32_MAX;
	case A_U32_PLUS: return (1ull << 32) + fuzz_u8(in);
	case A_NR_EVTCHN_M1: return XENITH_NR_EVTCHN - 1;
	case A_NR_EVTCHN: return XENITH_NR_EVTCHN;
	case A_NR_VCPUS: return NR_VCPUS;
	case A_ENTRY: return d->image.entry;
	case A_PORT: {
		uint8_t i = fuzz_u8(in);

		return H.nr_ports ? H.ports[i % H.nr_ports] : 2;
	}
	case A_REF: return fuzz_u16(in);
	case A_FRAME: {
		uint8_t v = fuzz_u8(in);

		switch (v % 8) {
		case 0: return H.arena / PAGE + (v >> 3) % ARENA_PAGES;
		case 1: return d->layout.start_info / PAGE;
		case 2: return d->layout.gdt / PAGE;
		case 3: return d->layout.pt_base / PAGE + (v >> 3) % d->layout.nr_pt_pages;
		case 4: return d->layout.image_start / PAGE + (v >> 3);
		case 5: return H.nr_pages - 1;
		case 6: return H.nr_pages + (v >> 3);
		default: return d->layout.shared_info / PAGE + (v >> 3) % 2; /* shared_info, console */
		}
	}
	case A_NS: return durations[fuzz_u8(in) % (sizeof(durations) / sizeof(durations[0]))];
	case A_STORE: return d->layout.xenstore + fuzz_u16(in) % PAGE;
	default: return fuzz_u64(in);
	}
}

/* A guest-writable region: start and size. */
static void region(uint8_t r, uint64_t *gpa, uint64_t *size)
{
	struct domain *d = H.d;

	switch (r % 5) {
	case 0: *gpa = H.arena; *size = ARENA_BYTES; break;
	case 1: *gpa = d->mem_size - PAGE; *size = PAGE; break;
	case 2: *gpa = d->layout.shared_info; *size = PAGE; break;
	case 3: *gpa = d->layout.console; *size = PAGE; break;
	default: *gpa = d->layout.xenstore; *size = PAGE; break;
	}
}

HARNESS static void note_shadow(uint64_t gpa, uint64_t len)
{
	for (uint64_t p = gpa / PAGE; len && p <= (gpa + len - 1) / PAGE; p++)
		H.shadow_dirty[p] = 1;
}

/* The guest writes its own memory: both copies change. */
static void guest_write(uint64_t gpa, const void *src, uint64_t len)
{
	memcpy(H.d->mem + gpa, src, len);
	memcpy(H.shadow + gpa, src, len);
	note_shadow(gpa, len);
}

/* ---- what calls may write ---- */

HARNESS static bool any_disk_connected(void)
{
	struct domain *d = H.d;
	struct blkback *b;

	for (unsigned i = 0; i < blkdev_count(d); i++)
		for (unsigned q = 0; (b = blkdev_queue(d, i, q, NULL)); q++)
			if (blkback_connected(b))
				return true;
	return false;
}

/* Each disk's backend state, connects and connected queues, from what `xenith disks` reads. */
HARNESS static void view_disks(struct disk_view v[NR_DISKS])
{
	char buf[8192];
	const char *p;

	memset(v, 0, NR_DISKS * sizeof(*v));
	FUZZ_CHECK(domain_disks_json(H.d, buf, sizeof(buf)) > 0, "domain_disks_json: longer than %zu bytes",
		   sizeof(buf));
	for (p = buf; (p = strstr(p, "{\"disk\":")); p++) {
		const char *st = strstr(p, "\"xenbus_state\":"), *n = strstr(p, "\"connects\":"),
			   *c = strstr(p, "\"connected\":"), *rq = strstr(p, "\"requests\":");
		unsigned disk = NR_DISKS;
		int state = -1;
		unsigned long long connects = 0, requests = 0;

		FUZZ_CHECK(sscanf(p, "{\"disk\":%u,", &disk) == 1 && disk < NR_DISKS && st && n && c && rq &&
			   sscanf(st, "\"xenbus_state\":%d", &state) == 1 &&
			   sscanf(n, "\"connects\":%llu", &connects) == 1 &&
			   sscanf(rq, "\"requests\":%llu", &requests) == 1,
			   "domain_disks_json: a queue without disk < %u, xenbus_state, connects, connected or "
			   "requests: %s", NR_DISKS, p);
		v[disk].state = state;
		v[disk].connects = connects;
		v[disk].requests += requests;
		v[disk].queues++;
		v[disk].connected += !strncmp(c + strlen("\"connected\":"), "true", 4);
	}
}

/* The store's rsp_prod (what it has written to the guest so far). */
static uint32_t store_rsp_prod(void)
{
	const struct xenstore_domain_interface *x = (const void *)(H.d->mem + H.d->layout.xenstore);

	return __atomic_load_n(&x->rsp_prod, __ATOMIC_ACQUIRE);
}

/* XENITH_FUZZ_TRACE=1: the store's replies and watch events since rsp_prod was from. */
HARNESS static void trace_store(uint32_t from)
{
	const uint8_t *rsp = H.d->mem + H.d->layout.xenstore +
			     offsetof(struct xenstore_domain_interface, rsp);
	uint32_t to = store_rsp_prod();

	while (to - from >= sizeof(struct xsd_sockmsg) && to - from <= XENSTORE_RING_SIZE) {
		struct xsd_sockmsg m;
		uint8_t *b = (uint8_t *)&m;
		char text[80];
		size_t n = 0;

		for (size_t i = 0; i < sizeof(m); i++)
			b[i] = rsp[MASK_XENSTORE_IDX(from + (uint32_t)i)];
		if (m.len > to - from - sizeof(m))
			break;
		for (uint32_t i = 0; i < m.len && n < sizeof(text) - 1; i++) {
			uint8_t ch = rsp[MASK_XENSTORE_IDX(from + (uint32_t)sizeof(m) + i)];

			text[n++] = ch == 0 ? '|' : ch < 0x20 || ch > 0x7e ? '.' : (char)ch;
		}
		text[n] = 0;
		fprintf(stderr, "  store: %s, type %u req_id %u: %s\n", m.type == XS_ERROR ? "error" :
			m.type == XS_WATCH_EVENT ? "watch event" : "reply", m.type, m.req_id, text);
		from += (uint32_t)sizeof(m) + m.len;
	}
}

/*
 * After a send (the store processes requests only then): whether a disk
 * connected (its connects counter moved), which makes its image and grants
 * the input's to clean up, even if it disconnected again within the call.
 */
HARNESS static void note_disks(uint32_t rsp_from)
{
	struct disk_view now[NR_DISKS];

	if (H.trace)
		trace_store(rsp_from);
	view_disks(now);
	for (unsigned i = 0; i < NR_DISKS; i++) {
		const struct disk_view *was = &H.disks[i], *is = &now[i];

		if (is->connects != was->connects)
			H.connected = H.disk_used = H.grants_async = true;
		if (is->state != was->state || is->connects != was->connects)
			H.vbd_moved = true; /* even back to InitWait within the send: check the republish */
		if (H.trace && (is->state != was->state || is->connects != was->connects ||
				is->connected != was->connected || is->requests != was->requests))
			fprintf(stderr, "  disk %u: backend state %d -> %d, connects %llu -> %llu, "
				"%u of %u queues connected, requests taken %llu -> %llu\n", i, was->state,
				is->state, was->connects, is->connects, is->connected, is->queues,
				was->requests, is->requests);
	}
	memcpy(H.disks, now, sizeof(now));
}

HARNESS static bool async_sources(void)
{
	struct domain *d = H.d;
	bool timers = false;

	pthread_mutex_lock(&d->lock);
	for (unsigned i = 0; i < d->nr_vcpus; i++)
		timers |= d->vcpus[i].timer_period_ns != 0;
	pthread_mutex_unlock(&d->lock);
	return timers || H.loopback_port || any_disk_connected();
}

/*
 * With a disk backend connected, it may write any frame a writable grant
 * names while it runs: each time the table may have changed, every such
 * frame joins async_ok.  If the table's own pages are among them the
 * backend could grant itself more: then any page may change.
 */
HARNESS static void note_granted_frames(void)
{
	struct grant_table *gt = &H.d->gnttab;
	uint32_t n = atomic_load(&gt->nr_entries);
	const struct grant_entry_v1 *e;

	if (!n)
		return;
	e = (const void *)(H.d->mem + gt->gpa);
	for (uint32_t ref = GNTTAB_NR_RESERVED_ENTRIES; ref < n; ref++) {
		uint16_t flags = __atomic_load_n(&e[ref].flags, __ATOMIC_RELAXED);
		uint32_t frame = __atomic_load_n(&e[ref].frame, __ATOMIC_RELAXED);

		if ((flags & GTF_type_mask) == GTF_permit_access && !(flags & GTF_readonly) &&
		    e[ref].domid == XENITH_BACKEND_DOMID && frame < H.nr_pages)
			H.async_ok[frame] = 1;
	}
	for (uint64_t p = gt->gpa / PAGE; p < (gt->gpa + (uint64_t)n * 8 + PAGE - 1) / PAGE; p++)
		if (H.async_ok[p]) {
			memset(H.async_ok, 1, H.nr_pages);
			break;
		}
}

struct call {
	unsigned vcpu;
	bool test_hooks;              /* the domain's d->test_hooks for this call */
	uint32_t op;
	uint64_t rax, a[5];
	const struct rule *rule;
	struct range may[MAX_RANGES]; /* where this call may write (besides the always-allowed) */
	unsigned nr_may;
	bool console_drain;           /* may move the console ring's out_cons */
	bool store_process;           /* may write the store's side of its ring page */
	long ret;
};

static void may_write(struct call *c, uint64_t gpa, uint64_t len)
{
	if (gpa >= H.d->mem_size || len == 0)
		return;
	if (len > H.d->mem_size - gpa)
		len = H.d->mem_size - gpa;
	if (c->nr_may < MAX_RANGES)
		c->may[c->nr_may++] = (struct range){ gpa, len };
}

/* A grant access by ref: its entry's flags (the busy bits) and, for a write, the page. */
static void may_grant(struct call *c, uint64_t ref, bool write, uint64_t offset, uint64_t len)
{
	struct grant_table *gt = &H.d->gnttab;
	uint32_t n = atomic_load(&gt->nr_entries);
	struct grant_entry_v1 e;

	if (!n || ref >= n)
		return;
	may_write(c, gt->gpa + ref * sizeof(e), sizeof(e.flags));
	memcpy(&e, H.d->mem + gt->gpa + ref * sizeof(e), sizeof(e));
	if (write && offset <= PAGE && len <= PAGE)
		may_write(c, (uint64_t)e.frame * PAGE + offset, len);
}

static uint32_t guest_u32(uint64_t gpa)
{
	uint32_t v = 0;

	if (gpa < H.d->mem_size && sizeof(v) <= H.d->mem_size - gpa)
		memcpy(&v, H.d->mem + gpa, sizeof(v));
	return v;
}

/* Where c may write, from its arguments and guest memory before it runs. */
static void plan_writes(struct call *c)
{
	uint64_t cmd = c->a[0];

	switch (c->op) {
	case __HYPERVISOR_event_channel_op:
		if (cmd == EVTCHNOP_bind_virq)
			may_write(c, c->a[1], sizeof(struct evtchn_bind_virq));
		else if (cmd == EVTCHNOP_alloc_unbound)
			may_write(c, c->a[1], sizeof(struct evtchn_alloc_unbound));
		else if (cmd == EVTCHNOP_status)
			may_write(c, c->a[1], sizeof(struct evtchn_status));
		else if (cmd == EVTCHNOP_send)
			c->console_drain = c->store_process = true;
		break;
	case __HYPERVISOR_xenith_test:
		if (cmd == XENITH_TEST_GRANT_READ || cmd == XENITH_TEST_GRANT_WRITE)
			may_grant(c, c->a[1], cmd == XENITH_TEST_GRANT_WRITE, c->a[2], c->a[3]);
		break;
	case __HYPERVISOR_xenith_discard:
		if (c->a[0] < H.d->mem_size && c->a[1] <= H.d->mem_size - c->a[0])
			may_write(c, c->a[0], c->a[1]);
		break;
	default:
		break;
	}
}

/* ---- the checks ---- */

static const char *op_text(const struct call *c)
{
	static char buf[160];

	snprintf(buf, sizeof(buf), "%s(%#llx, %#llx, %#llx, %#llx, %#llx) on vCPU %u%s",
		 hypercall_name(c->op), (unsigned long long)c->a[0], (unsigned long long)c->a[1],
		 (unsigned long long)c->a[2], (unsigned long long)c->a[3], (unsigned long long)c->a[4],
		 c->vcpu, c->test_hooks ? "" : " without test hooks");
	return buf;
}

HARNESS static void check_result(const struct call *c)
{
	const struct rule *r = c->rule;
	long ret = c->ret;
	bool ok = false;

	if (r->ok == OK_ECHO) {
		FUZZ_CHECK(ret == (long)c->a[1], "%s = %ld: an echo returns its argument", op_text(c), ret);
		return;
	}
	if (ret >= 0) {
		switch (r->ok) {
		case OK_ZERO: ok = ret == 0; break;
		case OK_COUNT: ok = (uint64_t)ret == c->a[1]; break;
		case OK_BOOL: ok = ret == 0 || ret == 1; break;
		case OK_HASH: ok = (uint64_t)ret <= UINT32_MAX; break;
		case OK_POSITIVE: ok = true; break;
		case OK_VERSION: ok = ret == 1; break;
		default: ok = false; break;
		}
		FUZZ_CHECK(ok, "%s = %ld: not a success value of this op", op_text(c), ret);
		return;
	}
	for (unsigned i = 0; i < MAX_ERRS && r->errs[i]; i++)
		ok |= ret == -r->errs[i];
	FUZZ_CHECK(ok, "%s = %ld: an error this op does not document", op_text(c), ret);
}

HARNESS static bool in_ranges(const struct call *c, uint64_t gpa)
{
	for (unsigned i = 0; i < c->nr_may; i++)
		if (gpa >= c->may[i].gpa && gpa - c->may[i].gpa < c->may[i].len)
			return true;
	return false;
}

/*
 * shared_info: whoever raises events sets pending bits, pending_sel bits
 * and upcall_pending (never clears them); unmask clears mask bits.  Nothing
 * else of the page changes, whatever the call, whichever thread.
 */
HARNESS static void check_shared(const struct call *c, const uint8_t *before, const uint8_t *now)
{
	const struct xenith_shared_info *was = (const void *)before;
	const struct xenith_shared_info *is = (const void *)now;
	const char *who = c ? op_text(c) : "a thread (after the input)";

	for (unsigned w = 0; w < XENITH_EVTCHN_WORDS; w++) {
		FUZZ_CHECK((was->evtchn_pending[w] & ~is->evtchn_pending[w]) == 0,
			   "%s: pending bits cleared in word %u (%#llx -> %#llx)", who, w,
			   (unsigned long long)was->evtchn_pending[w],
			   (unsigned long long)is->evtchn_pending[w]);
		FUZZ_CHECK((is->evtchn_mask[w] & ~was->evtchn_mask[w]) == 0 &&
			   (is->evtchn_mask[w] == was->evtchn_mask[w] ||
			    (c && c->op == __HYPERVISOR_event_channel_op && c->a[0] == EVTCHNOP_unmask)),
			   "%s: mask word %u changed (%#llx -> %#llx)", who, w,
			   (unsigned long long)was->evtchn_mask[w], (unsigned long long)is->evtchn_mask[w]);
	}
	for (unsigned i = 0; i < XENITH_MAX_VCPUS; i++) {
		const struct xenith_vcpu_info *a = &was->vcpu_info[i], *b = &is->vcpu_info[i];

		FUZZ_CHECK(i < NR_VCPUS || same(a, b, sizeof(*a)),
			   "%s: vcpu_info of vCPU %u, which does not exist, changed", who, i);
		FUZZ_CHECK(b->evtchn_upcall_pending == a->evtchn_upcall_pending || b->evtchn_upcall_pending == 1,
			   "%s: vCPU %u upcall_pending %u -> %u", who, i, a->evtchn_upcall_pending,
			   b->evtchn_upcall_pending);
		FUZZ_CHECK((a->evtchn_pending_sel & ~b->evtchn_pending_sel) == 0,
			   "%s: vCPU %u pending_sel bits cleared", who, i);
		FUZZ_CHECK(a->evtchn_upcall_mask == b->evtchn_upcall_mask && same(a->pad, b->pad, sizeof(a->pad)) &&
			   same(a->reserved, b->reserved, sizeof(a->reserved)),
			   "%s: vCPU %u's vcpu_info changed beyond the event bits", who, i);
	}
	FUZZ_CHECK(same(&was->tsc_khz, &is->tsc_khz, PAGE - offsetof(struct xenith_shared_info, tsc_khz)),
		   "%s: shared_info changed past the event channels (time, control_request, or the rest "
		   "of the page)", who);
}

/* Whether gpa is part of a grant entry's flags (the busy bits a backend sets and clears). */
HARNESS static bool grant_flags(uint64_t gpa)
{
	const struct grant_table *gt = &H.d->gnttab;
	uint64_t n = atomic_load(&gt->nr_entries);

	return n && gpa >= gt->gpa && gpa - gt->gpa < n * sizeof(struct grant_entry_v1) &&
	       (gpa - gt->gpa) % sizeof(struct grant_entry_v1) < sizeof(uint16_t);
}

/*
 * What the store writes in its ring page (xs_wire.h): req_cons (it read
 * requests), rsp[] and rsp_prod (replies, watch events), its features,
 * connection and error words.  Never req[], req_prod or rsp_cons: the
 * guest's.
 */
HARNESS static bool store_side(uint64_t gpa)
{
	uint64_t base = H.d->layout.xenstore;
	size_t off;

	if (gpa < base || gpa - base >= PAGE)
		return false;
	off = (size_t)(gpa - base);
	return (off >= offsetof(struct xenstore_domain_interface, rsp) &&
		off < offsetof(struct xenstore_domain_interface, rsp) + XENSTORE_RING_SIZE) ||
	       (off >= offsetof(struct xenstore_domain_interface, req_cons) &&
		off < offsetof(struct xenstore_domain_interface, req_cons) + 4) ||
	       (off >= offsetof(struct xenstore_domain_interface, rsp_prod) &&
		off < offsetof(struct xenstore_domain_interface, rsp_prod) + 4) ||
	       (off >= offsetof(struct xenstore_domain_interface, server_features) &&
		off < sizeof(struct xenstore_domain_interface));
}

/* Checks one page against the shadow; then the shadow takes it as it is now. */
HARNESS static void check_page(const struct call *c, uint64_t p)
{
	uint64_t gpa = p * PAGE;
	uint8_t now[PAGE];

	if (same(H.d->mem + gpa, H.shadow + gpa, PAGE))
		return;
	/* One read: threads may write it meanwhile (shared_info, a disk's granted pages). */
	memcpy(now, H.d->mem + gpa, PAGE);
	if (H.async_ok[p] && !(H.is_protected[p] && H.strict_protected)) {
		/* A disk backend may write it: the guest granted it (even shared_info). */
	} else if (gpa == H.d->layout.shared_info) {
		uint8_t before[PAGE];

		/* The call's own output (a struct it was pointed at) aside. */
		memcpy(before, H.shadow + gpa, PAGE);
		for (uint64_t i = 0; c && i < PAGE; i++)
			if (in_ranges(c, gpa + i))
				before[i] = now[i];
		check_shared(c, before, now);
	} else if (H.is_protected[p] && H.strict_protected) {
		for (uint64_t i = 0; i < PAGE; i++)
			FUZZ_CHECK(now[i] == H.shadow[gpa + i], "%s wrote %#llx, in a page the guest maps "
				   "read-only (start_info, GDT/TSS or page tables)",
				   c ? op_text(c) : "a thread", (unsigned long long)(gpa + i));
	} else {
		for (uint64_t i = 0; i < PAGE; i++) {
			uint64_t a = gpa + i;
			bool out_cons = a >= H.d->layout.console + offsetof(struct xenith_console_ring, out_cons) &&
					a < H.d->layout.console + offsetof(struct xenith_console_ring, out_prod);

			if (now[i] == H.shadow[a] || (c && in_ranges(c, a)) || (c && c->console_drain && out_cons) ||
			    (c && c->store_process && store_side(a)) || (H.grants_async && grant_flags(a)))
				continue;
			FUZZ_CHECK(0, "%s wrote %#llx (%#x -> %#x), outside what it may write",
				   c ? op_text(c) : "something during the input", (unsigned long long)a,
				   H.shadow[a], now[i]);
		}
	}
	memcpy(H.shadow + gpa, now, PAGE);
	H.shadow_dirty[p] = 1;
}

HARNESS static void check_memory(const struct call *c)
{
	for (unsigned i = 0; i < H.nr_watch; i++)
		check_page(c, H.watch[i]);
	/* Pages out of sight: the call's own ranges (checked whole at the end of the input). */
	for (unsigned i = 0; i < c->nr_may; i++)
		for (uint64_t p = c->may[i].gpa / PAGE; p <= (c->may[i].gpa + c->may[i].len - 1) / PAGE; p++)
			check_page(c, p);
}

/* Whether fd is a backend's kick fd for port: a connected disk queue's, or the loopback's. */
HARNESS static bool backend_owns(uint32_t port, int fd)
{
	struct domain *d = H.d;
	struct blkback *b;
	uint32_t bound;

	for (unsigned i = 0; i < blkdev_count(d); i++)
		for (unsigned q = 0; (b = blkdev_queue(d, i, q, &bound)); q++)
			if (bound == port && blkback_kick_fd(b) == fd)
				return blkback_connected(b);
	return port == H.loopback_port && evtchn_loopback_running(d) && fcntl(fd, F_GETFD) >= 0;
}

/* Reads 1024 table entries after every call: not worth ASan's check of each load. */
HARNESS __attribute__((no_sanitize("address"))) static void check_evtchn(const char *after)
{
	struct domain *d = H.d;
	const struct evtchn_table *t = &d->evtchn;

	pthread_mutex_lock(&d->lock);
	FUZZ_CHECK(t->port[0].kind == EVTCHN_RESERVED, "after %s: port 0 is kind %u", after, t->port[0].kind);
	FUZZ_CHECK(t->port[EVTCHN_CONSOLE_PORT].kind == EVTCHN_CONSOLE, "after %s: the console port is "
		   "kind %u", after, t->port[EVTCHN_CONSOLE_PORT].kind);
	FUZZ_CHECK(t->port[EVTCHN_XENSTORE_PORT].kind == EVTCHN_XENSTORE, "after %s: the store's port is "
		   "kind %u", after, t->port[EVTCHN_XENSTORE_PORT].kind);
	FUZZ_CHECK(t->nr_polling == 0, "after %s: nr_polling %u with nobody in a poll", after, t->nr_polling);
	for (unsigned i = 0; i < d->nr_vcpus; i++)
		FUZZ_CHECK(!d->vcpus[i].blocked, "after %s: vCPU %u still marked blocked", after, i);
	for (uint32_t p = 3; p < XENITH_NR_EVTCHN; p++) {
		const struct evtchn *e = &t->port[p];

		switch (e->kind) {
		case EVTCHN_FREE:
			FUZZ_CHECK(!e->virq && !e->vcpu && !e->remote_dom && !e->kick_fd, "after %s: free "
				   "port %u not cleared (vcpu %u, virq %u, remote %u, kick_fd %d)", after, p,
				   e->vcpu, e->virq, e->remote_dom, e->kick_fd);
			break;
		case EVTCHN_VIRQ:
			FUZZ_CHECK(e->virq < XENITH_NR_VIRQS && t->virq_port[e->virq] == (int32_t)p,
				   "after %s: port %u is VIRQ %u, but virq_port says %d", after, p, e->virq,
				   e->virq < XENITH_NR_VIRQS ? t->virq_port[e->virq] : -1);
			FUZZ_CHECK(e->kick_fd == -1, "after %s: VIRQ port %u has kick_fd %d", after, p, e->kick_fd);
			break;
		case EVTCHN_UNBOUND:
			FUZZ_CHECK(e->kick_fd == -1 && e->remote_dom == XENITH_BACKEND_DOMID,
				   "after %s: unbound port %u: kick_fd %d, remote %u", after, p, e->kick_fd,
				   e->remote_dom);
			break;
		case EVTCHN_BACKEND:
			FUZZ_CHECK(e->kick_fd >= 0 && backend_owns(p, e->kick_fd), "after %s: port %u is bound to "
				   "kick_fd %d, which no running backend owns", after, p, e->kick_fd);
			for (uint32_t q = 2; q < p; q++)
				FUZZ_CHECK(t->port[q].kind != EVTCHN_BACKEND || t->port[q].kick_fd != e->kick_fd,
					   "after %s: ports %u and %u share kick_fd %d", after, q, p, e->kick_fd);
			break;
		default:
			FUZZ_CHECK(0, "after %s: port %u is kind %u", after, p, e->kind);
		}
		FUZZ_CHECK(e->vcpu < d->nr_vcpus, "after %s: port %u notifies vCPU %u of %u", after, p,
			   e->vcpu, d->nr_vcpus);
	}
	for (unsigned v = 0; v < XENITH_NR_VIRQS; v++) {
		int32_t p = t->virq_port[v];

		FUZZ_CHECK(p == 0 || (p > 2 && p < (int32_t)XENITH_NR_EVTCHN && t->port[p].kind == EVTCHN_VIRQ &&
				      t->port[p].virq == v),
			   "after %s: virq_port[%u] = %d, which is not that VIRQ's port", after, v, p);
	}
	pthread_mutex_unlock(&d->lock);
}

HARNESS static void check_grants_released(const char *after)
{
	struct grant_table *gt = &H.d->gnttab;
	uint32_t n = atomic_load(&gt->nr_entries);

	pthread_mutex_lock(&gt->lock);
	for (uint32_t ref = 0; ref < n; ref++)
		FUZZ_CHECK(gt->pins[ref] == 0 && gt->held[ref] == 0, "after %s, with no backend connected: "
			   "ref %u has %u pins, held %#x", after, ref, gt->pins[ref], gt->held[ref]);
	pthread_mutex_unlock(&gt->lock);
}

HARNESS static void check_model(const char *after)
{
	struct domain *d = H.d;

	for (unsigned i = 0; i < NR_VCPUS; i++)
		FUZZ_CHECK(atomic_load(&d->vcpus[i].up) == H.up[i], "after %s: vCPU %u is %s, the calls said %s",
			   after, i, atomic_load(&d->vcpus[i].up) ? "up" : "down", H.up[i] ? "up" : "down");
	FUZZ_CHECK(d->ended == H.ended, "after %s: the domain %s, the calls said it %s", after,
		   d->ended ? "ended" : "did not end", H.ended ? "did" : "did not");
}

/* ---- one call ---- */

static bool port_pending(uint32_t port)
{
	return port < XENITH_NR_EVTCHN &&
	       (__atomic_load_n(&H.d->shared->evtchn_pending[port / 64], __ATOMIC_SEQ_CST) >> (port % 64) & 1);
}

/*
 * Whether a block/poll on an up vCPU needs no waking: it returns at once
 * (an upcall or a listed port pending; a poll the handler refuses) or
 * times out soon by itself (a poll's timeout of at most SLEEP_NS, within
 * the input's budget).  This models evtchn_block/evtchn_poll: if it says
 * "at once" wrongly, the call sleeps with nothing to wake it and libFuzzer
 * reports the input as a hang.
 */
static bool returns_by_itself(const struct call *c)
{
	struct domain *d = H.d;
	uint32_t ports[SCHED_POLL_MAX_PORTS];
	struct sched_poll p;

	if (c->a[0] == SCHEDOP_block)
		return __atomic_load_n(&d->shared->vcpu_info[c->vcpu].evtchn_upcall_pending, __ATOMIC_SEQ_CST);
	if (c->a[1] > d->mem_size || sizeof(p) > d->mem_size - c->a[1])
		return true; /* EFAULT */
	memcpy(&p, d->mem + c->a[1], sizeof(p));
	if (p.nr_ports > SCHED_POLL_MAX_PORTS || (p.nr_ports == 0 && p.timeout_ns == 0))
		return true; /* EINVAL */
	if (p.nr_ports && (p.ports > d->mem_size || p.nr_ports * sizeof(ports[0]) > d->mem_size - p.ports))
		return true; /* EFAULT */
	if (p.nr_ports) /* else p.ports may be anything: no pointer arithmetic with it */
		memcpy(ports, d->mem + p.ports, p.nr_ports * sizeof(ports[0]));
	for (uint32_t i = 0; i < p.nr_ports; i++)
		if (ports[i] >= XENITH_NR_EVTCHN)
			return true; /* EINVAL */
	for (uint32_t i = 0; i < p.nr_ports; i++)
		if (port_pending(ports[i]))
			return true;
	return p.timeout_ns && p.timeout_ns <= SLEEP_NS && H.slept_ns + p.timeout_ns <= SLEEP_BUDGET_NS;
}

static void dispatch(struct call *c)
{
	struct vcpu *v = &H.d->vcpus[c->vcpu];
	struct kvm_regs *r = &v->run->s.regs.regs, want;
	bool sleeps = c->op == __HYPERVISOR_sched_op &&
		      (c->a[0] == SCHEDOP_block || c->a[0] == SCHEDOP_poll) && H.up[c->vcpu] && !H.ended;
	enum { RUN, FORCE_DOWN, WAKER } how = RUN;
	uint64_t t0 = mono_ns();

	if (sleeps && !returns_by_itself(c))
		how = async_sources() && H.slept_ns + SLEEP_NS <= SLEEP_BUDGET_NS ? WAKER : FORCE_DOWN;
	memset(r, 0, sizeof(*r));
	r->rax = c->rax;
	r->rdi = c->a[0];
	r->rsi = c->a[1];
	r->rdx = c->a[2];
	r->r10 = c->a[3];
	r->r8 = c->a[4];
	r->rbx = 0x1111, r->rcx = 0x2222, r->rbp = 0x3333, r->r9 = 0x4444, r->r15 = 0x5555, r->rip = 0x6666;
	want = *r;
	H.d->test_hooks = c->test_hooks;
	if (how == FORCE_DOWN)
		take_down(v);
	if (how == WAKER) {
		uint64_t at = mono_ns() + SLEEP_NS;

		pthread_mutex_lock(&waker.lock);
		waker.target = v;
		waker.forced = false;
		waker.deadline = (struct timespec){ .tv_sec = (time_t)(at / 1000000000ull),
						    .tv_nsec = (long)(at % 1000000000ull) };
		pthread_cond_signal(&waker.cond);
		pthread_mutex_unlock(&waker.lock);
	}
	hypercall_dispatch(v);
	if (how == WAKER) {
		bool forced;

		pthread_mutex_lock(&waker.lock);
		waker.target = NULL;
		forced = waker.forced;
		pthread_cond_signal(&waker.cond);
		pthread_mutex_unlock(&waker.lock);
		if (forced)
			put_up(v);
	}
	if (how == FORCE_DOWN)
		put_up(v);
	if (sleeps)
		H.slept_ns += mono_ns() - t0;
	c->ret = (long)r->rax;
	want.rax = r->rax;
	FUZZ_CHECK(same(r, &want, sizeof(want)), "%s = %ld changed a register besides RAX", op_text(c),
		   c->ret);
}

/* What the model learns from a call's answer. */
static void learn(const struct call *c)
{
	uint64_t cmd = c->a[0];

	if (c->ret < 0)
		return;
	switch (c->op) {
	case __HYPERVISOR_vcpu_op:
		if (cmd == VCPUOP_up)
			H.up[c->a[1]] = true;
		else if (cmd == VCPUOP_down)
			H.up[c->vcpu] = false;
		else if (cmd == VCPUOP_is_up)
			FUZZ_CHECK(c->ret == H.up[c->a[1]], "%s = %ld, but vCPU %llu is %s", op_text(c), c->ret,
				   (unsigned long long)c->a[1], H.up[c->a[1]] ? "up" : "down");
		break;
	case __HYPERVISOR_sched_op:
		if (cmd == SCHEDOP_shutdown)
			H.ended = true;
		break;
	case __HYPERVISOR_xenith_guest_assert:
		H.ended = true;
		break;
	case __HYPERVISOR_event_channel_op:
		if ((cmd == EVTCHNOP_alloc_unbound || cmd == EVTCHNOP_bind_virq) && H.nr_ports < MAX_PORTS_SEEN)
			H.ports[H.nr_ports++] = guest_u32(c->a[1] + (cmd == EVTCHNOP_bind_virq ? 8 : 4));
		break;
	case __HYPERVISOR_xenith_test:
		if (cmd == XENITH_TEST_EVTCHN_LOOPBACK)
			H.loopback_port = (uint32_t)c->a[1];
		break;
	default:
		break;
	}
	/* A send on the store's port may have connected a disk (hv/vbd.h). */
	if (any_disk_connected())
		H.disk_used = H.grants_async = true;
}

static void do_call(struct fuzz_in *in)
{
	struct call c = { 0 };
	const struct op *op;
	bool disks;
	uint32_t rsp_from;
	uint8_t v;

	v = fuzz_u8(in);
	c.vcpu = v % NR_VCPUS;
	c.test_hooks = (v / NR_VCPUS) % 2 == 0; /* the seeds' bytes 0..2: with hooks, as they were written */
	op = &ops[fuzz_u8(in) % NR_OPS];
	c.op = op->nr;
	c.rax = op->rax_high | op->nr;
	for (unsigned i = 0; i < 5; i++)
		c.a[i] = pick_arg(in);
	if (c.op == __HYPERVISOR_xenith_test && c.a[0] == XENITH_TEST_STALL)
		c.test_hooks = false; /* it would sleep for up to an hour */
	c.rule = c.op == __HYPERVISOR_xenith_test && !c.test_hooks ? &test_op_without_hooks
								     : rule_for(c.op, c.a[0]);
	plan_writes(&c);
	if (c.op == __HYPERVISOR_event_channel_op || any_disk_connected())
		note_granted_frames(); /* a backend may start on the table as it is (a store request connects one) */
	rsp_from = store_rsp_prod();
	dispatch(&c);
	if (H.trace)
		fprintf(stderr, "%s = %ld\n", op_text(&c), c.ret);
	if (c.op == __HYPERVISOR_event_channel_op)
		note_disks(rsp_from);
	disks = any_disk_connected();
	if (disks)
		note_granted_frames();
	check_result(&c);
	learn(&c);
	check_memory(&c);
	check_evtchn(op_text(&c));
	if (!disks)
		check_grants_released(op_text(&c));
	check_model(op_text(&c));
}

static void do_write(struct fuzz_in *in, bool value)
{
	uint8_t buf[256];
	uint64_t gpa, size, off, len;

	region(fuzz_u8(in), &gpa, &size);
	off = fuzz_u16(in) % size;
	if (value) {
		uint64_t v;

		len = 1u << (fuzz_u8(in) % 4);
		v = pick_arg(in);
		memcpy(buf, &v, sizeof(v));
	} else {
		len = fuzz_u8(in);
		fuzz_bytes(in, buf, len);
	}
	if (len > size - off)
		len = size - off;
	guest_write(gpa + off, buf, len);
	if (any_disk_connected())
		note_granted_frames();
}

/* ---- between inputs ---- */

/* No timer thread survives the input, and no vCPU keeps a period for the next one. */
HARNESS static void stop_timer_thread(struct domain *d)
{
	pthread_mutex_lock(&d->lock);
	for (unsigned i = 0; i < d->nr_vcpus; i++)
		d->vcpus[i].timer_period_ns = d->vcpus[i].timer_next_ns = 0;
	pthread_mutex_unlock(&d->lock);
	domain_timer_thread_stop(d);
}

HARNESS static void reset(void)
{
	struct domain *d = H.d;
	unsigned threads;

	/* The threads hypercalls started, first: nothing may touch guest memory after this. */
	for (unsigned i = 0; i < blkdev_count(d); i++)
		blkdev_disconnect_rings(d, i);
	evtchn_loopback_stop(d);
	stop_timer_thread(d);
	/*
	 * A joined thread can still be listed for a moment: pthread_join returns
	 * once the thread released its stack, a little before the kernel reaps it.
	 */
	for (uint64_t deadline = mono_ns() + 2000000000ull;;) {
		threads = count_threads();
		if (threads == H.base_threads || mono_ns() > deadline)
			break;
		sched_yield();
	}
	FUZZ_CHECK(threads == H.base_threads, "%u threads 2 s after the input's backends and timers "
		   "stopped, %u before it", threads, H.base_threads);
	check_evtchn("the input, with its backends stopped");
	check_grants_released("the input, with its backends stopped");

	/* All of guest memory against what the calls may have written. */
	for (uint64_t p = 0; p < H.nr_pages; p++)
		if (!same(d->mem + p * PAGE, H.shadow + p * PAGE, PAGE))
			check_page(NULL, p);
	for (uint64_t p = 0; p < H.nr_pages; p++) {
		if (!H.shadow_dirty[p])
			continue;
		memcpy(d->mem + p * PAGE, H.boot + p * PAGE, PAGE);
		memcpy(H.shadow + p * PAGE, H.boot + p * PAGE, PAGE);
	}
	memset(H.shadow_dirty, 0, H.nr_pages);
	memset(H.async_ok, 0, H.nr_pages);

	pthread_mutex_lock(&d->lock);
	d->ended = false;
	d->stop_requested = false;
	d->pause_requested = false;
	d->state = DOMAIN_BUILT;
	memset(&d->end, 0, sizeof(d->end));
	for (unsigned i = 0; i < d->nr_vcpus; i++) {
		struct vcpu *v = &d->vcpus[i];

		atomic_store(&v->up, i == 0); /* vCPU 0 runs from the start */
		atomic_store(&v->start_pending, false);
		atomic_store(&v->irq_pending, false);
		v->start_rip = 0;
	}
	evtchn_init(&d->evtchn); /* the console's and the store's ports bound again */
	atomic_store(&d->callback_vector, 0);
	pthread_mutex_unlock(&d->lock);
	/*
	 * The store: the guest's connection (its watches, transactions, half-read
	 * requests) and its tree made afresh, as a reboot does, on the ring page
	 * restored above; then the disks' directories as a reboot's devices_connect
	 * publishes them (republish_disks).
	 */
	{
		struct errbuf eb;

		xsdomain_disconnect(d);
		FUZZ_CHECK(xsdomain_connect(d, &eb) == 0, "reconnecting the store: %s", eb.msg);
		republish_disks();
		memcpy(H.shadow + d->layout.xenstore, d->mem + d->layout.xenstore, PAGE);
	}
	grant_table_fini(&d->gnttab);
	if (grant_table_init(&d->gnttab, d->mem, d->mem_size, d->layout.free_start, XENITH_BACKEND_DOMID))
		abort();
	grant_table_protect(&d->gnttab, d->ro_frames); /* as domain.c does after every init */
	if (H.disk_used && (ftruncate(H.disk_fd, 0) < 0 || ftruncate(H.disk_fd, DISK_BYTES) < 0))
		abort();
	console_flush(&d->console); /* no half line carried into the next input */
}

static void start_input(void)
{
	memset(H.up, 0, sizeof(H.up));
	H.up[0] = true;
	H.ended = false;
	H.nr_ports = 0;
	H.loopback_port = 0;
	H.disk_used = false;
	H.grants_async = false;
	H.connected = false;
	H.vbd_moved = false;
	view_disks(H.disks);
	H.slept_ns = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	static bool first = true;

	if (first) {
		/* Here, not in LLVMFuzzerInitialize: libFuzzer starts its own threads in between. */
		H.base_threads = count_threads();
		H.vbd_moved = true; /* the first republish is checked */
		memset(H.disks, 0, sizeof(H.disks)); /* state 0: every backend is reset as from elsewhere */
		reset(); /* the state every input starts from */
		first = false;
	}
	start_input();
	for (unsigned i = 0; i < MAX_RECORDS && in.left; i++) {
		switch (fuzz_u8(&in) % 4) {
		case 0:
			do_write(&in, false);
			break;
		case 1:
			do_write(&in, true);
			break;
		default:
			do_call(&in);
			break;
		}
	}
	FUZZ_CHECK(H.connected || !H.expect_connect, "XENITH_FUZZ_EXPECT_CONNECT=1, but no disk connected "
		   "through the store during this input (backend states: disk 0 %d, disk 1 %d)",
		   H.disks[0].state, H.disks[1].state);
	if (H.trace)
		fprintf(stderr, "end of input: %s disk connected through the store\n", H.connected ? "a" : "no");
	reset();
	return 0;
}
