// SPDX-License-Identifier: MIT
/*
 * The soak suite's create/destroy worker (`xenith-bench soak-worker CYCLES
 * EVERY DISK`): domains created, started, run and destroyed one at a time
 * in this one process, as a density worker does, while the parent samples
 * the process.  The cycles, by their number c:
 *   c % 10 == 9: 2 vCPUs and a disk (DISK, two queues) running two blk jobs
 *                (vCPU 1 brought up, both queues connected, I/O); every
 *                other such cycle runs to power-off, the rest is destroyed
 *                once the backend has taken requests (I/O in flight);
 *   other even c: `hello`, run to power-off;
 *   other odd c:  `idle`, destroyed once its first line is out.
 * After every EVERY-th cycle, with no domain left, the worker prints
 * "sample C" and waits for a byte on stdin: the parent samples it there.
 * It ends with "done C", or "fail C REASON".
 *
 * XENITH_SOAK_INJECT=fd|thread|rss (the soak suite's own test only): leak a
 * descriptor, a thread, or 64 KiB of touched heap per cycle, to show that
 * the suite's checks fail on a real leak.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blkback.h"
#include "blkdev.h"
#include "domain.h"
#include "soak.h"
#include "vcpu.h"
#include "xenith.h"

#define CYCLE_DEADLINE_NS (20ull * 1000000000ull)

enum inject { INJECT_NONE, INJECT_FD, INJECT_THREAD, INJECT_RSS };

static void *volatile leaked;

static void *parked(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static void leak(enum inject what)
{
	pthread_t t;
	char *p;

	switch (what) {
	case INJECT_FD:
		if (dup(STDERR_FILENO) < 0)
			perror("soak-worker: dup");
		break;
	case INJECT_THREAD:
		if (pthread_create(&t, NULL, parked, NULL) == 0)
			pthread_detach(t);
		break;
	case INJECT_RSS:
		p = malloc(64 << 10);
		if (p) {
			memset(p, 0x5a, 64 << 10); /* touched: resident */
			*(void **)p = leaked;      /* reachable, so the compiler keeps it */
			leaked = p;
		}
		break;
	case INJECT_NONE:
		break;
	}
}

/* Waits (yielding) until done(d) or the deadline; false on timeout or an early end. */
static bool wait_for(struct domain *d, bool (*done)(struct domain *d), const char *what, struct errbuf *eb)
{
	uint64_t deadline = now_ns() + CYCLE_DEADLINE_NS;

	while (!done(d)) {
		struct domain_end end;
		bool ended = domain_get_end(d, &end);

		if (ended && !done(d)) {
			errbuf_set(eb, EIO, "the domain ended before %s: %s", what, end.why);
			return false;
		}
		if (now_ns() > deadline) {
			errbuf_set(eb, ETIMEDOUT, "no %s within 20 s", what);
			return false;
		}
		sched_yield();
	}
	return true;
}

static bool first_line_out(struct domain *d)
{
	struct domain_boot_times bt;

	domain_boot_times(d, &bt);
	return bt.first_line_ns != 0;
}

static bool disk_busy(struct domain *d)
{
	struct blkback_stats st;

	return domain_disk_stats(d, 0, 0, &st) == 0 && st.requests > 0;
}

static int one_cycle(struct kvm_sys *kvm, unsigned long c, const char *disk, struct errbuf *eb)
{
	struct domain_opts opts = { .console_fd = -1 };
	struct domain_config cfg;
	struct domain *d = NULL;
	bool with_disk = c % 10 == 9, to_poweroff = with_disk ? (c / 10) % 2 == 0 : c % 2 == 0;
	char spec[PATH_MAX + 32];
	int r;

	config_init(&cfg);
	snprintf(cfg.name, sizeof(cfg.name), "soak-%lu", c);
	if (find_bundled_minios(cfg.kernel, sizeof(cfg.kernel)) < 0)
		return errbuf_set(eb, ENOENT, "bundled minios not found at %s", cfg.kernel);
	if (with_disk) {
		cfg.memory_mib = 16;
		cfg.vcpus = 2;
		snprintf(spec, sizeof(spec), "path=%s,mode=ioeventfd", disk);
		r = config_set(&cfg, "disk", spec, eb);
		if (r < 0)
			return r;
		snprintf(cfg.cmdline, sizeof(cfg.cmdline), "blk rw=randrw bs=4k iodepth=4 numjobs=2 runtime=%u",
			 to_poweroff ? 2 : 20000);
	} else {
		cfg.memory_mib = 2;
		snprintf(cfg.cmdline, sizeof(cfg.cmdline), "%s", to_poweroff ? "hello" : "idle");
	}
	r = domain_create(&cfg, &opts, kvm, 1, &d, eb);
	if (r < 0)
		return r;
	r = domain_start(d, eb);
	if (r == 0 && to_poweroff) {
		if (!domain_wait(d, now_ns() + CYCLE_DEADLINE_NS))
			r = errbuf_set(eb, ETIMEDOUT, "'%s' did not power off within 20 s", cfg.cmdline);
		else if (domain_final_end(d)->state != DOMAIN_SHUTDOWN || domain_final_end(d)->code != 0)
			r = errbuf_set(eb, EIO, "'%s' ended: %s", cfg.cmdline, domain_final_end(d)->why);
	} else if (r == 0) {
		if (!wait_for(d, with_disk ? disk_busy : first_line_out,
			      with_disk ? "request on the disk" : "first console line", eb))
			r = -EIO;
	}
	domain_destroy(d); /* running or not */
	return r;
}

int cmd_soak_worker(int argc, char **argv)
{
	struct kvm_sys kvm = { .fd = -1 };
	const char *inj = getenv("XENITH_SOAK_INJECT");
	enum inject what = INJECT_NONE;
	unsigned long cycles, every, c;
	struct errbuf eb;
	char ack;

	if (argc != 4) {
		fprintf(stderr, "usage: xenith-bench soak-worker CYCLES EVERY DISK (used by xenith bench soak)\n");
		return EXIT_USAGE;
	}
	cycles = strtoul(argv[1], NULL, 10);
	every = strtoul(argv[2], NULL, 10);
	if (inj && *inj) {
		what = !strcmp(inj, "fd") ? INJECT_FD : !strcmp(inj, "thread") ? INJECT_THREAD :
		       !strcmp(inj, "rss") ? INJECT_RSS : INJECT_NONE;
		if (what == INJECT_NONE) {
			printf("fail 0 XENITH_SOAK_INJECT=%s: expected fd, thread or rss\n", inj);
			return EXIT_USAGE;
		}
	}
	if (!every || kvm_sys_open(&kvm, &eb) < 0 || vcpu_global_init(&eb) < 0) {
		printf("fail 0 %s\n", every ? eb.msg : "EVERY must be at least 1");
		return EXIT_START;
	}
	for (c = 0; c < cycles; c++) {
		if (one_cycle(&kvm, c, argv[3], &eb) < 0) {
			printf("fail %lu %s\n", c, eb.msg);
			fflush(stdout);
			kvm_sys_close(&kvm);
			return 1;
		}
		leak(what);
		if ((c + 1) % every)
			continue;
		printf("sample %lu\n", c + 1);
		fflush(stdout);
		if (read(STDIN_FILENO, &ack, 1) != 1)
			break; /* the parent went away */
	}
	printf("done %lu\n", c);
	fflush(stdout);
	kvm_sys_close(&kvm);
	return 0;
}
