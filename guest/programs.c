// SPDX-License-Identifier: MIT
/*
 * The programs of the bundled minios, chosen by the first word of the
 * command line (guest/programs.h; the test image adds guest/test_programs.c).
 */
#include "assert.h"
#include "blkfront.h"
#include "hypercall.h"
#include "minios.h"
#include "netfront.h"
#include "programs.h"

static int prog_hello(const char *args)
{
	(void)args;
	printf("hello from minios: domain '%s' (id %u), %u vCPU(s), %llu MiB\n", start_info->name,
	       start_info->domid, start_info->nr_vcpus,
	       (unsigned long long)(start_info->mem_bytes >> 20));
	return 0;
}

static atomic_uint smp_checked_in;

static void smp_secondary(unsigned vcpu)
{
	GUEST_ASSERT_EQ(smp_processor_id(), vcpu);
	printf("vcpu %u: up\n", vcpu);
	atomic_fetch_add(&smp_checked_in, 1);
}

static int prog_smp(const char *args)
{
	unsigned n = start_info->nr_vcpus;
	uint64_t deadline;

	(void)args;
	GUEST_ASSERT_EQ(smp_processor_id(), 0);
	atomic_store(&smp_checked_in, 1);
	for (unsigned v = 1; v < n; v++)
		GUEST_ASSERT_EQ(smp_start_vcpu(v, smp_secondary), 0);
	/*
	 * 60 s on the host's clock (the guest's TSC runs at another rate under
	 * emulation): vCPUs that are slow to start are not lost ones.
	 */
	deadline = (uint64_t)hypercall0(__HYPERVISOR_xenith_time) + 60000000000ull;
	while (atomic_load(&smp_checked_in) < n) {
		if ((uint64_t)hypercall0(__HYPERVISOR_xenith_time) >= deadline)
			guest_assert_fail(__FILE__, __LINE__, "all vCPUs checked in", "%u of %u within 60 s",
					  atomic_load(&smp_checked_in), n);
		sched_yield();
	}
	printf("smp: %u of %u vCPUs up\n", atomic_load(&smp_checked_in), n);
	return 0;
}

__attribute__((noinline)) static int crash_null_deref(void)
{
	volatile int *p = NULL;

	return *p;
}

static int prog_crash(const char *args)
{
	(void)args;
	printf("crash: dereferencing NULL\n");
	return crash_null_deref();
}

static int prog_assert(const char *args)
{
	(void)args;
	GUEST_ASSERT_EQ(1 + 1, 3);
	return 0;
}

static int prog_spin(const char *args)
{
	(void)args;
	printf("spin: looping forever\n");
	for (volatile unsigned long i = 0;; i++)
		;
	return 0;
}

/* Handles a pending toolstack request; returns true when the program should end. */
static bool control_pending(uint32_t port, const char *who)
{
	uint32_t req;

	if (!evtchn_test_and_clear(port))
		return false;
	req = __atomic_exchange_n(&shared_info->control_request, XENITH_CONTROL_NONE, __ATOMIC_ACQUIRE);
	if (req == XENITH_CONTROL_POWEROFF) {
		printf("%s: shutdown requested\n", who);
		return true;
	}
	if (req == XENITH_CONTROL_REBOOT) {
		printf("%s: reboot requested\n", who);
		shutdown(SHUTDOWN_reboot);
	}
	return false;
}

static int prog_idle(const char *args)
{
	int port = evtchn_bind_virq(VIRQ_CONTROL, 0);

	(void)args;
	GUEST_ASSERT(port > 0);
	printf("idle: waiting for the toolstack\n");
	for (;;) {
		evtchn_clear_upcall(0);
		if (control_pending((uint32_t)port, "idle"))
			return 0;
		sched_block();
	}
}

static int prog_ticker(const char *args)
{
	unsigned long ms = 100;
	int port = evtchn_bind_virq(VIRQ_CONTROL, 0);
	uint32_t p;
	uint64_t next;

	if (*args && (!parse_ulong(args, NULL, &ms) || ms == 0))
		ms = 100;
	GUEST_ASSERT(port > 0);
	p = (uint32_t)port;
	next = monotonic_ns();
	for (unsigned long tick = 1;; tick++) {
		uint64_t now;

		next += ms * 1000000ull;
		printf("tick %lu\n", tick);
		while ((now = monotonic_ns()) < next) {
			sched_poll(&p, 1, next - now);
			if (control_pending(p, "ticker"))
				return 0;
		}
	}
}

/*
 * gap [MS]: wakes every MS ms (default 1) and keeps the largest gap
 * between two wakes by its own clock (the TSC), the largest time the
 * domain did not run: across a save and restore or a migration, the
 * downtime as the guest sees it.  Reports on shutdown, and prints a line
 * when a gap of over 100 ms appears.
 */
static int prog_gap(const char *args)
{
	unsigned long ms = 1, wakes = 0;
	int port = evtchn_bind_virq(VIRQ_CONTROL, 0);
	uint64_t prev, largest = 0;
	uint32_t p;

	if (*args && (!parse_ulong(args, NULL, &ms) || ms == 0))
		ms = 1;
	GUEST_ASSERT(port > 0);
	p = (uint32_t)port;
	printf("gap: waking every %lu ms\n", ms);
	prev = monotonic_ns();
	for (;;) {
		uint64_t now, gap;

		sched_poll(&p, 1, ms * 1000000ull);
		now = monotonic_ns();
		gap = now - prev;
		prev = now;
		wakes++;
		if (gap > largest)
			largest = gap;
		if (gap > 100000000ull)
			printf("gap: %llu us without running\n", (unsigned long long)(gap / 1000));
		if (control_pending(p, "gap")) {
			printf("gap: %lu wakes, largest gap %llu us\n", wakes,
			       (unsigned long long)(largest / 1000));
			return 0;
		}
	}
}

/*
 * dirty MBPS [MIB]: writes to MIB MiB of its memory (default 16) at MBPS
 * MB/s (one word per 4 KiB page, round and round), paced every 1 ms by its
 * own clock: a domain that keeps its migration's dirty rounds busy.  As
 * gap, it keeps the largest gap in its clock between two wakes and reports
 * it, with the rate it reached, on shutdown.  Then it checks that every
 * page holds the last value it wrote there (write w goes to page w mod
 * the pages): after a migration, a page the dirty log missed holds an
 * older one.
 */
static int prog_dirty(const char *args)
{
	unsigned long mbps = 100, mib = 16, wakes = 0;
	int port = evtchn_bind_virq(VIRQ_CONTROL, 0);
	const char *rest = args;
	uint64_t t0, prev, largest = 0, written = 0, debt = 0;
	size_t pages, next = 0;
	uint8_t *mem;
	uint32_t p;

	if (*rest && !parse_ulong(rest, &rest, &mbps))
		mbps = 100;
	while (*rest == ' ')
		rest++;
	if (*rest && (!parse_ulong(rest, NULL, &mib) || mib == 0))
		mib = 16;
	GUEST_ASSERT(port > 0);
	p = (uint32_t)port;
	pages = mib * 256;
	mem = alloc_pages(pages);
	GUEST_ASSERT(mem != NULL);
	printf("dirty: %lu MB/s over %lu MiB\n", mbps, mib);
	t0 = prev = monotonic_ns();
	for (;;) {
		uint64_t now, gap;

		sched_poll(&p, 1, 1000000);
		now = monotonic_ns();
		gap = now - prev;
		prev = now;
		wakes++;
		if (gap > largest)
			largest = gap;
		/* What this wake owes at MBPS since the last one (bytes as pages of 4 KiB). */
		debt += gap * mbps / 1000;
		for (; debt >= 4096; debt -= 4096, written++) {
			((volatile uint64_t *)(void *)(mem + next * 4096))[0] = written;
			next = next + 1 == pages ? 0 : next + 1;
		}
		if (control_pending(p, "dirty")) {
			size_t checked = 0;

			for (size_t k = 0; k < pages && k < written; k++, checked++) {
				uint64_t want = k + pages * ((written - 1 - k) / pages);
				uint64_t got = ((volatile uint64_t *)(void *)(mem + k * 4096))[0];

				if (got != want)
					guest_assert_fail(__FILE__, __LINE__, "every page holds its last write",
							  "page %llu holds write %llu, not %llu",
							  (unsigned long long)k, (unsigned long long)got,
							  (unsigned long long)want);
			}
			printf("dirty: every page holds its last write (%llu checked)\n", (unsigned long long)checked);
			printf("dirty: %lu wakes, %llu pages written at %llu MB/s, largest gap %llu us\n", wakes,
			       (unsigned long long)written,
			       (unsigned long long)(written * 4096 * 1000 / (now - t0 + 1)),
			       (unsigned long long)(largest / 1000));
			return 0;
		}
	}
}

static int prog_exit(const char *args)
{
	unsigned long code = 0;

	parse_ulong(args, NULL, &code);
	return (int)code;
}

/*
 * timer N MS: N ticks of a periodic timer of MS ms (VIRQ_TIMER).  At CPL 0
 * they arrive as interrupts on the upcall vector while the vCPU halts; at
 * CPL 3 the vCPU waits for them in sched_poll.  Prints what it saw, timed
 * with the host's clock.
 */
static int prog_timer(const char *args)
{
	unsigned long n = 10, ms = 10, seen = 0;
	struct vcpu_set_periodic_timer pt;
	bool irq = current_cpl() == 0;
	uint64_t t0, t1, halts = 0;
	const char *rest = args;
	int port;
	uint32_t p;

	if (*rest && !parse_ulong(rest, &rest, &n))
		n = 10;
	while (*rest == ' ')
		rest++;
	if (*rest && (!parse_ulong(rest, &rest, &ms) || ms == 0))
		ms = 10;
	port = evtchn_bind_virq(VIRQ_TIMER, 0);
	GUEST_ASSERT(port > 0);
	p = (uint32_t)port;
	if (irq)
		evtchn_count_events(p);
	pt.period_ns = ms * 1000000ull;
	/*
	 * The host's clock, which paces the timer: the guest's TSC clock may run
	 * at another rate (under emulation it does).  Read before the timer is
	 * armed, so that the span covers every period whatever a hypercall
	 * costs: read after, one slow hypercall under emulation shortened it.
	 */
	t0 = (uint64_t)hypercall0(__HYPERVISOR_xenith_time);
	GUEST_ASSERT(HYPERVISOR_vcpu_op(VCPUOP_set_periodic_timer, 0, (uint64_t)(uintptr_t)&pt) == 0);
	while (seen < n) {
		if (irq) {
			irq_wait();
			halts++;
			seen = evtchn_event_count(p);
		} else {
			sched_poll(&p, 1, 0);
			if (evtchn_test_and_clear(p))
				seen++;
		}
	}
	t1 = (uint64_t)hypercall0(__HYPERVISOR_xenith_time);
	GUEST_ASSERT(HYPERVISOR_vcpu_op(VCPUOP_stop_periodic_timer, 0, 0) == 0);
	printf("timer: %lu ticks of %lu ms in %llu us at CPL %u via %s", seen, ms,
	       (unsigned long long)((t1 - t0) / 1000), current_cpl(),
	       irq ? "interrupts" : "sched_poll");
	if (irq)
		printf(" (%llu upcalls, %llu halts)", (unsigned long long)trap_upcalls(),
		       (unsigned long long)halts);
	printf("\n");
	return 0;
}

static int prog_reboot(const char *args)
{
	(void)args;
	printf("reboot: asking the VMM to reboot this domain\n");
	shutdown(SHUTDOWN_reboot);
}

/* Takes every free page; returns how many, chained through their first word. */
static size_t exhaust_pages(void **chain)
{
	size_t n = 0;
	void *p;

	*chain = NULL;
	while ((p = alloc_pages(1)) != NULL) {
		*(void **)p = *chain;
		*chain = p;
		n++;
	}
	return n;
}

static void release_pages(void *chain)
{
	while (chain) {
		void *next = *(void **)chain;

		free_pages(chain, 1);
		chain = next;
	}
}

static int prog_mem(const char *args)
{
	static void *ptrs[512];
	size_t n1, n2;
	void *chain, *p;

	(void)args;
	for (size_t i = 0; i < ARRAY_SIZE(ptrs); i++) {
		size_t size = 1 + (i * 37) % 5000;

		ptrs[i] = malloc(size);
		GUEST_ASSERT(ptrs[i] != NULL);
		GUEST_ASSERT_EQ((uintptr_t)ptrs[i] % 16, 0);
		memset(ptrs[i], (int)(i & 0xff), size);
	}
	for (size_t i = 0; i < ARRAY_SIZE(ptrs); i++) {
		size_t size = 1 + (i * 37) % 5000;
		const uint8_t *b = ptrs[i];

		for (size_t k = 0; k < size; k++)
			GUEST_ASSERT_EQ(b[k], i & 0xff);
		free(ptrs[i]);
	}
	/* Exhaustion returns NULL and breaks nothing; freeing gives every page back. */
	n1 = exhaust_pages(&chain);
	GUEST_ASSERT(n1 > 0);
	GUEST_ASSERT(malloc(100000) == NULL);
	release_pages(chain);
	n2 = exhaust_pages(&chain);
	GUEST_ASSERT_EQ(n2, n1);
	release_pages(chain);
	p = calloc(1000, 8);
	GUEST_ASSERT(p != NULL);
	for (size_t k = 0; k < 8000; k++)
		GUEST_ASSERT_EQ(((uint8_t *)p)[k], 0);
	free(p);
	GUEST_ASSERT(calloc((size_t)1 << 62, 8) == NULL); /* overflow is refused */
	printf("mem: %zu pages allocated until exhaustion, twice, all returned\n", n1);
	printf("mem: ok\n");
	return 0;
}

/*
 * flood BYTES: BYTES of console output (default 4 MiB) as 1000-byte lines
 * "flood NNNNNNNN xxx...", then "flood: done, N lines": the VMM's console
 * log must stay within console_log_max.
 */
static int prog_flood(const char *args)
{
	static char line[1000];
	unsigned long bytes = 4ul << 20, n;

	if (*args && !parse_ulong(args, NULL, &bytes))
		bytes = 4ul << 20;
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\n';
	for (n = 0; (n + 1) * sizeof(line) <= bytes; n++) {
		char num[24];

		snprintf(num, sizeof(num), "flood %08lu ", n);
		memcpy(line, num, strlen(num));
		console_write(line, sizeof(line));
	}
	printf("flood: done, %lu lines\n", n);
	return 0;
}

int bench_main(const char *args);
int busy_main(const char *args);
int nvme_main(const char *args);

static const struct program programs[] = {
	{ "bench", bench_main, "run benchmark cases for `xenith bench`" },
	{ "blk", blk_main, "block I/O: [run] rw= bs= iodepth= numjobs= size= runtime= disk= persistent= | pci= irq=; verify; hostile; churn" },
	{ "busy", busy_main, "CPU load for MS ms, reported to `xenith bench`" },
	{ "nvme", nvme_main, "a passed-through NVMe function (pci = [...]): info; verify|fill|check lba= blocks= seed=; fault [dev=I] [irq=0|1]; irqcheck" },
	{ "hello", prog_hello, "print a greeting" },
	{ "smp", prog_smp, "bring up every vCPU and check them in" },
	{ "crash", prog_crash, "fault on a NULL pointer" },
	{ "assert", prog_assert, "fail a GUEST_ASSERT" },
	{ "spin", prog_spin, "loop forever" },
	{ "idle", prog_idle, "block until the toolstack asks for shutdown" },
	{ "ticker", prog_ticker, "print a tick every MS ms" },
	{ "dirty", prog_dirty, "write MIB MiB (default 16) at MBPS MB/s; on shutdown the rate reached and the largest gap" },
	{ "gap", prog_gap, "wake every MS ms; on shutdown print the largest gap in the guest's clock (downtime)" },
	{ "timer", prog_timer, "wait for N ticks of an MS-ms periodic timer (interrupts at CPL 0)" },
	{ "exit", prog_exit, "power off with exit code N" },
	{ "reboot", prog_reboot, "ask for a reboot" },
	{ "mem", prog_mem, "allocator self-test" },
	{ "flood", prog_flood, "BYTES of console output (default 4 MiB)" },
	{ "net-sink", net_sink_main, "count UDP datagrams: [vif=N ip=A/P gw=A] port= count= duration=MS idle=MS (guest/net.c)" },
	{ "net-blast", net_blast_main, "UDP frames: dst=IP:PORT size=64..1514 count=N|duration=MS [rate=PPS] [hold=1]" },
	{ "net-echo", net_echo_main, "UDP echo server [port=7], or client dst=IP:PORT count=N: latency percentiles" },
};

int run_program(const char *cmdline)
{
	char name[32];
	size_t len = 0, nr_tests;
	const char *args;
	const struct program *tests = test_programs(&nr_tests);

	while (*cmdline == ' ')
		cmdline++;
	while (cmdline[len] && cmdline[len] != ' ' && len < sizeof(name) - 1) {
		name[len] = cmdline[len];
		len++;
	}
	name[len] = 0;
	args = cmdline + len;
	while (*args == ' ')
		args++;
	if (!len)
		return prog_hello(args);
	for (size_t i = 0; i < ARRAY_SIZE(programs); i++)
		if (!strcmp(name, programs[i].name))
			return programs[i].run(args);
	for (size_t i = 0; i < nr_tests; i++)
		if (!strcmp(name, tests[i].name))
			return tests[i].run(args);
	printf("minios: unknown program '%s'; programs:", name);
	for (size_t i = 0; i < ARRAY_SIZE(programs); i++)
		printf(" %s", programs[i].name);
	for (size_t i = 0; i < nr_tests; i++)
		printf(" %s", tests[i].name);
	printf("%s\n", nr_tests ? "" : " (the test programs are in guest/minios-test)");
	return 2;
}
