// SPDX-License-Identifier: MIT
/*
 * The soak suite of `xenith bench`: nothing leaks, nothing is lost, under
 * churn.  Three scenarios, each sampling the VMM process at the same point
 * of every sampled cycle (bench/procsample.h) and judging the trend of
 * every figure (bench/trend.h):
 *
 *   create-destroy  domains created, started, run and destroyed one at a
 *                   time in one worker process (soak_worker.c);
 *   reboot          one `xenith run` VMM whose guest (`blk churn ...
 *                   reboot=1`) does disk I/O on two disks (ioeventfd, and
 *                   poll if the host has a CPU for it), then asks to
 *                   reboot with requests in flight; on_reboot = restart;
 *   disk-churn      one `xenith run` VMM whose guest connects its disks'
 *                   queues, leaves I/O in flight, disconnects, N times,
 *                   then verifies the data path.
 *
 * In the two VMM scenarios the guest stops at each sampling point (every
 * data disk disconnected), prints "blk-churn: wait cycle=C token=T free=F"
 * and polls a mailbox disk until we have sampled and written T back into
 * it (guest/blkchurn.c): the samples are then exact counts, not whatever
 * phase of a cycle the sampler happened to catch.
 */
#include "soak_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../bench/trend.h"
#include "domain.h"
#include "xenith.h"

#define PER 1000.0                 /* slopes are per 1,000 cycles */
/*
 * The VMM's own memory (RssAnon: heap and stacks) may wander with the
 * allocator (arenas, cached thread stacks, the dynamic mmap threshold) but
 * must not grow with the cycles: a least-squares slope of at most
 * RSS_LIMIT_KIB per 1,000 cycles.  Measured on this project's 2-CPU host
 * (2026-11-30, shared with other jobs): RssAnon after the warm-up did not
 * move by one page in any scenario, quick or full (slope 0 with a 0-wide
 * interval: 680 KiB in the worker, 6448 and 6260 KiB in the VMMs).  The
 * limit is set for what a slope cannot tell from a leak: a one-time step of
 * h KiB half-way through T judged cycles reads as 1.5 h 1000 / T per 1,000
 * cycles, so 512 lets a step of up to 60 KiB pass in the shortest run
 * (--quick reboot: 180 cycles judged) and 3 MiB in the longest, while a
 * leak of 512 bytes per cycle or more fails.
 */
#define RSS_LIMIT_KIB 512.0

/* ---- samples ---- */

int soak_take_sample(struct soak_ctx *x, pid_t pid, double cycle, long guest_free)
{
	struct samples *s = &x->smp;
	int r;

	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 256;
		double *nx = realloc(s->x, cap * sizeof(*nx));
		double *nt = nx ? realloc(s->t, cap * sizeof(*nt)) : NULL;
		struct proc_sample *ns = nt ? realloc(s->s, cap * sizeof(*ns)) : NULL;
		long *ng = ns ? realloc(s->guest_free, cap * sizeof(*ng)) : NULL;

		if (nx)
			s->x = nx;
		if (nt)
			s->t = nt;
		if (ns)
			s->s = ns;
		if (!ng)
			return -ENOMEM;
		s->guest_free = ng;
		s->cap = cap;
	}
	r = proc_sample(pid, &s->s[s->n]);
	if (r < 0)
		return r;
	s->x[s->n] = cycle;
	s->t[s->n] = (double)(now_ns() - x->t0) / 1e9;
	s->guest_free[s->n] = guest_free;
	s->n++;
	if (x->o->progress)
		x->o->progress("soak %s: %.0f of %lu cycles", x->sc->name, cycle, x->cycles);
	return 0;
}

static void samples_free(struct samples *s)
{
	free(s->x);
	free(s->t);
	free(s->s);
	free(s->guest_free);
	memset(s, 0, sizeof(*s));
}

int soak_make_file(const struct soak_ctx *x, const char *name, off_t bytes, char *path, size_t size)
{
	int fd;

	if (snprintf(path, size, "%s/%s", x->dir, name) >= (int)size)
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, bytes) < 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return -e;
	}
	close(fd);
	return 0;
}

int soak_fail(struct soak_ctx *x, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(x->why, sizeof(x->why), fmt, ap);
	va_end(ap);
	return -1;
}

static int run_create_destroy(struct soak_ctx *x)
{
	char disk[PATH_MAX], cycles[32], every[32], line[1024];
	char *argv[] = { x->self, "soak-worker", cycles, every, disk, NULL };
	struct child ch;
	int r, stream, st;
	bool done = false;

	r = soak_make_file(x, "worker.img", DISK_BYTES, disk, sizeof(disk));
	if (r < 0)
		return soak_fail(x, "cannot create %s: %s", disk, strerror(-r));
	snprintf(cycles, sizeof(cycles), "%lu", x->cycles);
	snprintf(every, sizeof(every), "%lu", x->sc->every);
	r = child_spawn(&ch, argv, true);
	if (r < 0)
		return soak_fail(x, "cannot start %s soak-worker: %s", x->self, strerror(-r));
	while (!done && (r = child_line(&ch, line, sizeof(line), &stream, LINE_TIMEOUT_MS)) > 0) {
		unsigned long c;
		int off = 0;

		if (stream != 0)
			continue;
		if (sscanf(line, "sample %lu", &c) == 1) {
			if (soak_take_sample(x, ch.pid, (double)c, -1) < 0 || write(ch.in_fd, "k", 1) != 1) {
				child_kill(&ch);
				return soak_fail(x, "the worker went away at cycle %lu", c);
			}
		} else if (sscanf(line, "fail %lu %n", &c, &off) == 1) {
			child_kill(&ch);
			return soak_fail(x, "cycle %lu: %s", c, line + off);
		} else if (!strncmp(line, "done ", 5)) {
			done = true;
		}
	}
	if (r == -ETIMEDOUT) {
		child_kill(&ch);
		return soak_fail(x, "the worker said nothing for %d s", LINE_TIMEOUT_MS / 1000);
	}
	st = child_reap(&ch, 30000);
	if (!done || st != 0)
		return soak_fail(x, "the worker ended with status %d before it was done (its stderr: %s)", st,
				 ch.tail[1]);
	snprintf(x->detail, sizeof(x->detail), "%lu domains (every 10th: 2 vCPUs and a disk)", x->cycles);
	return 0;
}

static const struct scenario scenarios[] = {
	{ "create-destroy", "a domain created, started, run and destroyed", 10000, 1000, 10, run_create_destroy },
	{ "reboot", "a guest reboot (on_reboot = restart) with its disks in use", 500, 200, 1, soak_run_reboot },
	{ "disk-churn", "both disks' queues connected, loaded and disconnected with I/O in flight", 10000, 1000, 10,
	  soak_run_disk_churn },
};

bool soak_scenario_exists(const char *name)
{
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		if (!strcmp(scenarios[i].name, name))
			return true;
	return false;
}

void soak_list(void)
{
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		printf("%-8s %-16s %-10s %-6s flat (%lu cycles, --quick %lu: %s)\n", "soak", scenarios[i].name,
		       "per-1k", "yes", scenarios[i].full, scenarios[i].quick, scenarios[i].cycle);
}

/* ---- judging ---- */

enum { FIG_GUEST_FREE = PM_COUNT, FIG_COUNT };

static enum trend_rule rule_of(int fig, double *limit)
{
	*limit = NAN;
	switch (fig) {
	case PM_IOU_WORKERS:
	case PM_RSS_KIB:
	case PM_RSS_SHMEM_KIB:
		/*
		 * Guest memory is the guest's: minios's page allocator hands out
		 * pages from a moving hint, so a guest that allocates and frees
		 * touches its free memory page after page, and RssShmem (hence
		 * VmRSS) rises until all of it is touched.  Reported; the VMM's
		 * own memory is RssAnon, and leaked guest memory would show as
		 * memfds and mappings.
		 */
		return TREND_REPORT;
	case PM_RSS_ANON_KIB:
		*limit = RSS_LIMIT_KIB;
		return TREND_SLOPE;
	case PM_MEM_AVAILABLE_KIB: {
		/*
		 * Host-wide, and other processes come and go: only a loss that no
		 * neighbour explains fails, 1 GiB or a tenth of the host's memory.
		 */
		long total = 0;
		FILE *f = fopen("/proc/meminfo", "r");

		if (f) {
			if (fscanf(f, "MemTotal: %ld", &total) != 1)
				total = 0;
			fclose(f);
		}
		*limit = total / 10 > (1 << 20) ? (double)(total / 10) : (double)(1 << 20);
		return TREND_DROP;
	}
	default:
		return TREND_EXACT;
	}
}

/* Judges and records every figure; returns how many are not flat. */
static int judge(struct bench_run *run, struct soak_ctx *x)
{
	const struct samples *s = &x->smp;
	size_t warm = s->n / 10 > 3 ? s->n / 10 : 3, n = s->n > warm ? s->n - warm : 0;
	double *y = calloc(n ? n : 1, sizeof(*y));
	char name[64];
	int failed = 0;

	if (!y || n < 3) {
		free(y);
		return soak_fail(x, "%zu samples, too few to judge a trend (at least %zu; give more cycles)", s->n,
				 warm + 3);
	}
	printf("\nsoak %s: %lu cycles (a cycle: %s), %.1f s; %s\n", x->sc->name, x->cycles, x->sc->cycle,
	       s->t[s->n - 1], x->detail);
	printf("  sampled after every %.0f cycle(s), first %zu samples left out as warm-up\n",
	       s->n > 1 ? s->x[1] - s->x[0] : 1.0, warm);
	printf("  %-17s %12s %12s  %-34s %-6s %s\n", "figure", "first", "last", "slope per 1k cycles [95% CI]",
	       "rule", "verdict");
	for (int fig = 0; fig < FIG_COUNT; fig++) {
		const char *fname = fig == FIG_GUEST_FREE ? "guest-free-pages" : proc_metrics[fig].name;
		const char *unit = fig == FIG_GUEST_FREE ? "pages" : proc_metrics[fig].unit;
		const char *mode = fig == FIG_GUEST_FREE ? "domain" : proc_metrics[fig].host ? "host" : "vmm";
		struct trend_result tr;
		struct bench_series *bs;
		enum trend_rule rule;
		double limit;
		char ci[64];

		for (size_t i = 0; i < n; i++)
			y[i] = fig == FIG_GUEST_FREE ? (double)s->guest_free[warm + i] : (double)s->s[warm + i].v[fig];
		if ((fig == FIG_GUEST_FREE || fig == PM_KERNEL_VMS) && y[0] < 0)
			continue; /* not known here */
		rule = rule_of(fig, &limit);
		if (trend_judge(s->x + warm, y, n, rule, limit, PER, &tr) < 0)
			continue;
		snprintf(name, sizeof(name), "%s-%s", x->sc->name, fname);
		bs = bench_run_series(run, "soak", name, mode, unit, fig == PM_MEM_AVAILABLE_KIB || fig == FIG_GUEST_FREE);
		if (!bs) {
			free(y);
			return soak_fail(x, "out of memory for the result series");
		}
		for (size_t i = 0; i < n; i++)
			bench_series_add(bs, y[i]);
		bs->trend = (struct bench_trend){
			.set = true, .x0 = s->x[warm], .x_step = (s->x[s->n - 1] - s->x[warm]) / (double)(n - 1),
			.per = PER, .slope = tr.fit.slope, .lo = tr.fit.lo, .hi = tr.fit.hi, .first = tr.first,
			.last = tr.last, .limit = limit,
		};
		snprintf(bs->trend.rule, sizeof(bs->trend.rule), "%s", trend_rule_name(rule));
		snprintf(bs->trend.verdict, sizeof(bs->trend.verdict), "%s",
			 !tr.judged ? "unjudged" : tr.pass ? "flat" : "not-flat");
		snprintf(ci, sizeof(ci), "%+.4g [%+.4g, %+.4g]", tr.fit.slope, tr.fit.lo, tr.fit.hi);
		printf("  %-17s %12.0f %12.0f  %-34s %-6s %s%s%s\n", fname, tr.first, tr.last, ci,
		       trend_rule_name(rule), bs->trend.verdict, tr.judged && !tr.pass ? ": " : "",
		       tr.judged && !tr.pass ? tr.why : "");
		failed += tr.judged && !tr.pass;
	}
	/* What a cycle cost: the time between samples over the cycles between them. */
	snprintf(name, sizeof(name), "%s-cycle-time", x->sc->name);
	{
		struct bench_series *bs = bench_run_series(run, "soak", name, "vmm", "ms", false);

		for (size_t i = warm + 1; bs && i < s->n; i++)
			if (s->x[i] > s->x[i - 1])
				bench_series_add(bs, (s->t[i] - s->t[i - 1]) * 1e3 / (s->x[i] - s->x[i - 1]));
	}
	free(y);
	return failed;
}

static int prepare(struct soak_ctx *x)
{
	const char *base = getenv("XENITH_BLK_DIR");
	ssize_t n = readlink("/proc/self/exe", x->self, sizeof(x->self) - 16);

	if (n <= 0)
		return soak_fail(x, "cannot find my own binary: %s", strerror(errno));
	x->self[n] = 0;
	snprintf(x->xenith, sizeof(x->xenith), "%s", x->self);
	strcpy(strrchr(x->xenith, '/') + 1, "xenith");
	snprintf(x->dir, sizeof(x->dir), "%s/xenith-soak-XXXXXX", base && *base ? base : "/var/tmp");
	if (!mkdtemp(x->dir))
		return soak_fail(x, "cannot create a scratch directory %s: %s (set XENITH_BLK_DIR)", x->dir,
				 strerror(errno));
	return 0;
}

static void cleanup(struct soak_ctx *x)
{
	char cmd[PATH_MAX + 16];

	if (!x->dir[0] || strstr(x->dir, "XXXXXX"))
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", x->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "xenith bench: soak: could not remove %s\n", x->dir);
}

int run_soak(struct bench_run *run, const struct soak_opts *o)
{
	int failed = 0, errors = 0;
	char note[1024] = "";

	if (!proc_kvm_debugfs()) {
		snprintf(note, sizeof(note), "soak: KVM's debugfs is not mounted: VMs the kernel still holds are "
			 "not counted (mount -t debugfs none /sys/kernel/debug)");
		printf("%s\n", note);
	}
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		struct soak_ctx x = { .sc = &scenarios[i], .o = o };
		int r;

		if (o->only && !o->only(o->opaque, scenarios[i].name))
			continue;
		x.cycles = o->cycles ? o->cycles : o->quick ? scenarios[i].quick : scenarios[i].full;
		x.t0 = now_ns();
		r = prepare(&x);
		if (r == 0)
			r = scenarios[i].run(&x);
		if (r == 0) {
			r = judge(run, &x);
			if (r >= 0)
				failed += r;
		}
		if (r < 0) {
			fprintf(stderr, "xenith bench: soak %s: %s\n", scenarios[i].name, x.why);
			snprintf(note + strlen(note), sizeof(note) - strlen(note), "%ssoak %s: %s", note[0] ? "; " : "",
				 scenarios[i].name, x.why);
			errors++;
		}
		samples_free(&x.smp);
		cleanup(&x);
	}
	snprintf(run->note + strlen(run->note), sizeof(run->note) - strlen(run->note), "%s%s",
		 run->note[0] && note[0] ? "; " : "", note);
	if (errors)
		return -1;
	printf("\nsoak: %s\n", failed ? "SOME FIGURES ARE NOT FLAT (above)" : "every judged figure is flat");
	return failed;
}
