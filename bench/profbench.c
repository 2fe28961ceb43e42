// SPDX-License-Identifier: MIT
/*
 * The `prof` suite (profbench.h): the cost of recording a profile of a
 * compute workload, at 100 Hz and 1 kHz, against no recording, measured in
 * one guest in the same run.
 *
 * Per case: one minios guest runs the compute case 3 x K x (warmup +
 * repeat) times and reports each run with the bench_report hypercall
 * (guest/bench.c).  K runs make a block, and the blocks take the modes in
 * turn: unprofiled, 100 Hz, 1 kHz, unprofiled, ...  The guest waits in each
 * report while the runner (the unconfined main thread, as for the compute
 * suite's pairs: bench/pairs.h) takes the run and, at a block's end, stops
 * that block's recording and starts the next one's.  So a recording starts
 * and stops while the guest's clock is stopped, and a run's time includes
 * only what being sampled costs the vCPU while it computes.  Each triplet
 * of blocks (unprofiled, 100 Hz, 1 kHz, one after the other) is a sample of
 * the ratio series ratio-prof100 and ratio-prof1000: drift slower than a
 * triplet cancels in it, as in the guest/native pairs.
 *
 * A recording is what `xenith prof record` has a VMM do (hv/control.c's
 * serve_prof, tools/cmd_prof.c): prof_session_start() on the domain, a
 * thread that drains the samples every 20 ms (counted, then thrown away:
 * the vCPU's cost is what is measured), perf's kernel-side samples of the
 * vCPU threads (hostperf_open(), drained by the same thread), and
 * prof_session_finish() at the end.  The drain thread runs on the helper
 * CPU, where the VMM's control thread and the recording client run beside a
 * busy vCPU.  Left out: the guest's symbols, sent once when a recording
 * starts, and writing the profile file (the client's, not the vCPU's cost).
 */
#include "profbench.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_hooks.h"
#include "clock.h"
#include "confine.h"
#include "domain.h"
#include "hostperf.h"
#include "pairs.h"
#include "prof.h"
#include "profile.h"
#include "workloads.h"

/* As the VMM's recording server: samples drained every 20 ms into a 512 KiB buffer (hv/control.c). */
#define DRAIN_MS 20
#define DRAIN_BUF (512u * 1024)
/* The target: profiling at 1 kHz costs under 2%. */
#define TARGET_1KHZ 0.02
/* The guest's report after its last run, and after a failure: no recording outlives the domain. */
#define GUEST_END UINT32_MAX
#define GUEST_MIB 32   /* the compute cases need under 1 MiB */

/*
 * A block is about 100 ms of runs: at 100 Hz about ten samples, so where
 * the ticks fall against the block's start changes its count by a tenth
 * at most.  Run times in a guest, AMD EPYC, kvm_pvm, 2026-12-01: crc32
 * 18.8 ms, matmul 2.45 ms (4.1 ms in results/baselines/kvm_pvm-quick.json,
 * an older build, where a block would be 160 ms).
 */
static const struct prof_bench_case {
	const char *name;     /* the compute case it runs (bench/workloads.c) */
	unsigned block;       /* runs per block */
	bool quick;
} cases[] = {
	{ "crc32", 5, true },
	{ "matmul", 40, false },
};

enum { MODE_OFF, MODE_100, MODE_1000, NR_MODES };

static const struct prof_mode {
	const char *mode;     /* the series' */
	unsigned freq;        /* Hz; 0: not recorded */
	const char *label;
} modes[NR_MODES] = {
	{ "guest", 0, "unprofiled" },
	{ "guest-prof100", 100, "100 Hz" },
	{ "guest-prof1000", 1000, "1 kHz" },
};

/* One block's recording. */
struct recording {
	struct prof_session *s;
	struct hostperf *hp;        /* NULL: kernel sampling off */
	uint8_t *buf;               /* the drain thread's, then prof_session_finish()'s */
	size_t size;
	int cpu;                    /* the drain thread's, -1: any */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;                  /* under lock */
	uint64_t samples, ksamples; /* the drain thread's until it is joined */
};

struct prof_runner {
	struct bench_run *run;
	const struct prof_bench_case *c;
	const struct wl_case *wl;
	uint32_t wl_id;
	unsigned warmup, blocks;    /* blocks: 3 x (warmup + repeat) */
	unsigned vcpus;
	struct domain *d;           /* set by each report on the vCPU thread, before its request */
	struct recording rec;
	bool recording;
	uint64_t t0;                /* the recording's start */
	double sum;                 /* the current block's runs so far */
	double mean[NR_MODES];      /* the current triplet's blocks, per run */
	char kernel_off[512];       /* why perf refused kernel samples (the first reason); "" */
	uint64_t lost;
	void (*progress)(const char *fmt, ...);
	int err;
};

struct prof_guest {
	const struct domain_config *cfg;
	struct kvm_sys *kvm;
	struct bench_pairs *pairs;
	struct prof_runner *pr;
	int measure_cpu, helper_cpu;
	unsigned reports, expected;
	int r;
};

static void pin_thread(pthread_t t, int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(t, sizeof(set), &set);
}

static const struct prof_bench_case *case_find(const char *name)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (!strcmp(cases[i].name, name))
			return &cases[i];
	return NULL;
}

static int wl_find(const char *name)
{
	for (unsigned i = 0; i < wl_nr_cases; i++)
		if (!strcmp(wl_cases[i].suite, "compute") && !strcmp(wl_cases[i].name, name))
			return (int)i;
	return -1;
}

bool prof_case_exists(const char *name)
{
	return case_find(name) != NULL;
}

void prof_list(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int w = wl_find(cases[i].name);

		if (w < 0)
			continue;
		printf("%-8s %-16s %-10s %-6s %s (modes guest, guest-prof100, guest-prof1000; %u runs a block)\n",
		       "prof", cases[i].name, wl_cases[w].unit, cases[i].quick ? "yes" : "no",
		       wl_cases[w].higher_is_better ? "higher" : "lower", cases[i].block);
	}
}

/* XP_REC_SAMPLE records among the n bytes of whole records in buf. */
static uint64_t count_samples(const uint8_t *buf, size_t n)
{
	uint64_t k = 0;

	for (size_t off = 0; off + sizeof(struct xp_rec) <= n;) {
		const struct xp_rec *h = (const struct xp_rec *)(buf + off);

		if (h->size < sizeof(*h))
			break;
		k += h->type == XP_REC_SAMPLE;
		off += h->size;
	}
	return k;
}

/* nr_lost of the XP_REC_END among prof_session_finish()'s records; 0 without one. */
static uint64_t finish_lost(const uint8_t *buf, size_t n)
{
	for (size_t off = 0; off + sizeof(struct xp_rec) <= n;) {
		const struct xp_rec *h = (const struct xp_rec *)(buf + off);

		if (h->size < sizeof(*h))
			break;
		if (h->type == XP_REC_END && h->size >= sizeof(struct xp_rec_end))
			return ((const struct xp_rec_end *)h)->nr_lost;
		off += h->size;
	}
	return 0;
}

static void drop_kernel_sample(void *arg, unsigned vcpu, uint64_t time_ns, const uint64_t *ips, unsigned depth)
{
	(void)arg;
	(void)vcpu;
	(void)time_ns;
	(void)ips;
	(void)depth;
}

static void drain_once(struct recording *rc)
{
	size_t n;

	while ((n = prof_session_drain(rc->s, rc->buf, rc->size)) > 0)
		rc->samples += count_samples(rc->buf, n);
	if (rc->hp)
		rc->ksamples += hostperf_drain(rc->hp, drop_kernel_sample, NULL);
}

/* Every DRAIN_MS until stopped, as the recording server and client do (recording_stop() takes the rest). */
static void *drain_thread(void *arg)
{
	struct recording *rc = arg;
	struct timespec at;

	pin_thread(pthread_self(), rc->cpu);
	clock_gettime(CLOCK_MONOTONIC, &at);
	pthread_mutex_lock(&rc->lock);
	while (!rc->stop) {
		at.tv_nsec += DRAIN_MS * 1000000L;
		if (at.tv_nsec >= 1000000000L) {
			at.tv_sec++;
			at.tv_nsec -= 1000000000L;
		}
		while (!rc->stop && pthread_cond_timedwait(&rc->cond, &rc->lock, &at) != ETIMEDOUT)
			;
		pthread_mutex_unlock(&rc->lock);
		drain_once(rc);
		pthread_mutex_lock(&rc->lock);
	}
	pthread_mutex_unlock(&rc->lock);
	return NULL;
}

/* Starts recording the domain at freq, as `xenith prof record --freq` would; -1 when it cannot. */
static int recording_start(struct prof_runner *pr, unsigned freq)
{
	struct recording *rc = &pr->rec;
	pid_t tids[XENITH_MAX_VCPUS];
	unsigned n = 0;
	struct errbuf eb;
	int r;

	if (prof_session_start(pr->d, freq, &rc->s, &eb) < 0) {
		fprintf(stderr, "xenith bench: prof/%s at %u Hz: %s\n", pr->c->name, freq, eb.msg);
		return -1;
	}
	if (prof_session_finish_size(rc->s) > rc->size) {
		fprintf(stderr, "xenith bench: prof/%s: a recording's closing records need %zu bytes\n",
			pr->c->name, prof_session_finish_size(rc->s));
		prof_session_finish(rc->s, rc->buf, rc->size);
		return -1;
	}
	for (unsigned i = 0; i < pr->vcpus && i < XENITH_MAX_VCPUS; i++)
		if (domain_vcpu_tid(pr->d, i, &tids[n]) == 0)
			n++;
	rc->hp = NULL;
	if (hostperf_open(tids, n, freq, &rc->hp, &eb) < 0) {
		rc->hp = NULL;
		if (!pr->kernel_off[0]) {
			snprintf(pr->kernel_off, sizeof(pr->kernel_off), "%s", eb.msg);
			fprintf(stderr, "xenith bench: prof: kernel sampling off (%s): the profiled modes run with "
				"the VMM's sampler only\n", eb.msg);
		}
	}
	rc->samples = rc->ksamples = 0;
	rc->stop = false;
	pr->t0 = now_ns();
	r = pthread_create(&rc->thread, NULL, drain_thread, rc);
	if (r) {
		fprintf(stderr, "xenith bench: prof: the drain thread: %s\n", strerror(r));
		if (rc->hp)
			hostperf_close(rc->hp);
		prof_session_finish(rc->s, rc->buf, rc->size);
		return -1;
	}
	pr->recording = true;
	return 0;
}

/* Stops the recording; its samples per second of the VMM's sampler and of perf's (NAN: off) in *vmm, *kernel. */
static void recording_stop(struct prof_runner *pr, double *vmm, double *kernel)
{
	struct recording *rc = &pr->rec;
	double secs = (double)(now_ns() - pr->t0) / 1e9;
	size_t n;

	pthread_mutex_lock(&rc->lock);
	rc->stop = true;
	pthread_cond_signal(&rc->cond);
	pthread_mutex_unlock(&rc->lock);
	pthread_join(rc->thread, NULL);
	drain_once(rc); /* what came between its last drain and the stop */
	*vmm = (double)rc->samples / secs;
	*kernel = rc->hp ? (double)rc->ksamples / secs : NAN;
	if (rc->hp) {
		pr->lost += hostperf_lost(rc->hp);
		hostperf_close(rc->hp);
		rc->hp = NULL;
	}
	n = prof_session_finish(rc->s, rc->buf, rc->size);
	pr->lost += finish_lost(rc->buf, n);
	pr->recording = false;
}

static int add(struct bench_run *run, const char *name, const char *mode, const char *unit, bool higher, double v)
{
	struct bench_series *s = bench_run_series(run, "prof", name, mode, unit, higher);

	return s && bench_series_add(s, v) == 0 ? 0 : -ENOMEM;
}

/* A block has ended: its mean per run into its mode's series; a triplet's end adds to the ratio series. */
static int block_record(struct prof_runner *pr, unsigned mode, double vmm_hz, double kernel_hz)
{
	struct bench_run *run = pr->run;
	const char *name = pr->c->name;
	char rate[64];

	if (add(run, name, modes[mode].mode, pr->wl->unit, pr->wl->higher_is_better, pr->mean[mode]) < 0)
		return -ENOMEM;
	if (modes[mode].freq) {
		snprintf(rate, sizeof(rate), "%s-samples", name);
		if (add(run, rate, modes[mode].mode, "Hz", true, vmm_hz) < 0)
			return -ENOMEM;
		snprintf(rate, sizeof(rate), "%s-ksamples", name);
		if (isfinite(kernel_hz) && add(run, rate, modes[mode].mode, "Hz", true, kernel_hz) < 0)
			return -ENOMEM;
	}
	if (mode != MODE_1000)
		return 0;
	for (unsigned m = MODE_100; m <= MODE_1000; m++) {
		const struct bench_series *g = bench_run_find(run, "prof", name, modes[m].mode);
		int r = g ? bench_ratio_add(run, g, pr->mean[m], pr->mean[MODE_OFF]) : -EINVAL;

		if (r == -ENOMEM)
			return r;
		if (r < 0)
			fprintf(stderr, "xenith bench: prof/%s: a triplet without a ratio (%g, %g %s)\n", name,
				pr->mean[MODE_OFF], pr->mean[m], pr->wl->unit);
	}
	return 0;
}

/*
 * The runner's side of each report (the guest waits in it): the run is
 * added to its block; at the block's end its recording stops, its figures
 * are recorded (past the warm-up triplets), and the next block's recording
 * starts if that block is a profiled one.
 */
static void prof_serve(void *opaque, uint32_t id, uint32_t rep, double value)
{
	struct prof_runner *pr = opaque;
	unsigned k = pr->c->block, block = rep / k, mode = block % NR_MODES, next = block + 1;
	double vmm = NAN, kernel = NAN;

	if (id == GUEST_END) {
		if (pr->recording)
			recording_stop(pr, &vmm, &kernel);
		return;
	}
	if (pr->err || id != pr->wl_id || block >= pr->blocks)
		return;
	if (pr->progress)
		pr->progress("prof %s %s %u/%u", pr->c->name, modes[mode].label, block / NR_MODES + 1,
			     pr->blocks / NR_MODES);
	pr->sum += value;
	if (rep % k != k - 1)
		return;
	if (pr->recording)
		recording_stop(pr, &vmm, &kernel);
	pr->mean[mode] = pr->sum / k;
	pr->sum = 0;
	if (block / NR_MODES >= pr->warmup && block_record(pr, mode, vmm, kernel) < 0) {
		fprintf(stderr, "xenith bench: prof: out of memory\n");
		pr->err = -ENOMEM;
		return;
	}
	if (next < pr->blocks && modes[next % NR_MODES].freq && recording_start(pr, modes[next % NR_MODES].freq) < 0)
		pr->err = -EIO;
}

static void guest_report(void *opaque, struct domain *d, uint32_t id, uint32_t rep, double value)
{
	struct prof_guest *g = opaque;

	g->pr->d = d; /* the runner reads it after taking the request: the request's lock orders them */
	g->reports++;
	bench_pairs_request(g->pairs, id, rep, value);
}

/* The domain's own thread (confined as the compute suite's guest is: tools/cmd_bench.c). */
static void *guest_thread(void *arg)
{
	struct prof_guest *g = arg;
	struct bench_sink sink = { guest_report, g };
	struct domain_opts opts = { .console_fd = STDERR_FILENO, .console_prefix = true, .bench = &sink };
	const struct domain_end *end;
	struct domain *d = NULL;
	struct errbuf eb;
	pthread_t vcpu0;
	bool ended;

	pin_thread(pthread_self(), g->helper_cpu);
	if (domain_create(g->cfg, &opts, g->kvm, 1, &d, &eb) < 0) {
		fprintf(stderr, "xenith bench: prof: guest: %s\n", eb.msg);
		goto done;
	}
	confine_domain_thread();
	if (domain_start(d, &eb) < 0) {
		fprintf(stderr, "xenith bench: prof: guest: %s\n", eb.msg);
		domain_destroy(d);
		goto done;
	}
	if (domain_vcpu_thread(d, 0, &vcpu0) == 0)
		pin_thread(vcpu0, g->measure_cpu);
	ended = domain_wait(d, now_ns() + 3600ull * 1000000000ull);
	if (!ended) { /* its vCPU must make no more requests: this thread makes the last one */
		domain_kill(d, true, "the prof suite's guest ran for an hour");
		domain_wait(d, 0);
	}
	/* A guest that failed mid-block leaves a recording on: it stops before the domain goes. */
	bench_pairs_request(g->pairs, GUEST_END, 0, 0);
	end = domain_final_end(d);
	g->r = 0;
	if (!ended || end->state != DOMAIN_SHUTDOWN || end->code != 0 || g->reports != g->expected) {
		fprintf(stderr, "xenith bench: prof: the guest run failed (%s; %u of %u results)\n",
			ended && end->why[0] ? end->why : "still running after an hour", g->reports, g->expected);
		g->r = -EIO;
	}
	domain_destroy(d);
done:
	bench_pairs_done(g->pairs);
	return NULL;
}

static int run_case(const struct prof_bench_opts *o, const struct prof_bench_case *c,
		    uint8_t *buf, struct prof_runner *pr)
{
	int w = wl_find(c->name);
	unsigned triplets = o->warmup + o->repeat;
	struct domain_config cfg;
	struct bench_pairs pairs;
	struct prof_guest g = { .cfg = &cfg, .kvm = o->kvm, .pairs = &pairs, .pr = pr,
				.measure_cpu = o->measure_cpu, .helper_cpu = o->helper_cpu, .r = -EIO };
	pthread_t t;
	int r;

	if (w < 0) {
		fprintf(stderr, "xenith bench: prof/%s: no such compute case\n", c->name);
		return -1;
	}
	pr->c = c;
	pr->wl = &wl_cases[w];
	pr->wl_id = (uint32_t)w;
	pr->warmup = o->warmup;
	pr->blocks = NR_MODES * triplets;
	pr->recording = false;
	pr->sum = 0;
	pr->err = 0;
	pr->rec.buf = buf;
	pr->rec.size = DRAIN_BUF;
	pr->rec.cpu = o->helper_cpu;
	config_init(&cfg);
	snprintf(cfg.name, sizeof(cfg.name), "bench-prof");
	snprintf(cfg.kernel, sizeof(cfg.kernel), "%s", o->minios);
	cfg.memory_mib = GUEST_MIB;
	pr->vcpus = cfg.vcpus;
	g.expected = pr->blocks * c->block;
	/* no warm-up run in the guest: the warm-up triplets are the warm-up, of the recordings too */
	snprintf(cfg.cmdline, sizeof(cfg.cmdline), "bench %u 0 %u %d", g.expected, o->quick ? 1 : 0, w);
	bench_pairs_init(&pairs);
	r = pthread_create(&t, NULL, guest_thread, &g);
	if (r) {
		fprintf(stderr, "xenith bench: prof: guest thread: %s\n", strerror(r));
		bench_pairs_destroy(&pairs);
		return -1;
	}
	bench_pairs_serve(&pairs, prof_serve, pr);
	pthread_join(t, NULL);
	bench_pairs_destroy(&pairs);
	return g.r < 0 || pr->err ? -1 : 0;
}

int run_prof(struct bench_run *run, const struct prof_bench_opts *o, void (*progress)(const char *fmt, ...))
{
	struct prof_runner pr = { .run = run, .progress = progress };
	uint8_t *buf = malloc(DRAIN_BUF);
	pthread_condattr_t ca;
	int r = 0;

	if (!buf) {
		fprintf(stderr, "xenith bench: prof: out of memory\n");
		return -1;
	}
	pthread_mutex_init(&pr.rec.lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&pr.rec.cond, &ca);
	pthread_condattr_destroy(&ca);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]) && r == 0; i++) {
		if (o->only ? !o->only(o->opaque, cases[i].name, cases[i].quick) : o->quick && !cases[i].quick)
			continue;
		r = run_case(o, &cases[i], buf, &pr);
	}
	if (pr.kernel_off[0] || pr.lost) {
		size_t used = strlen(run->note);

		if (pr.kernel_off[0])
			used += (size_t)snprintf(run->note + used, sizeof(run->note) - used,
						 "prof: kernel sampling off: %s. ", pr.kernel_off);
		if (pr.lost && used < sizeof(run->note))
			snprintf(run->note + used, sizeof(run->note) - used, "prof: %llu samples lost. ",
				 (unsigned long long)pr.lost);
	}
	pthread_cond_destroy(&pr.rec.cond);
	pthread_mutex_destroy(&pr.rec.lock);
	free(buf);
	return r;
}

/* "1.0123 [1.0050, 1.0197]": profiled time / unprofiled, from the speed ratio series (1/x, as exit costs). */
static bool time_ratio(const struct bench_run *run, const char *name, unsigned mode, double *v, double *lo,
		       double *hi)
{
	char rmode[32];
	const struct bench_series *q;

	snprintf(rmode, sizeof(rmode), "ratio%s", modes[mode].mode + strlen("guest"));
	q = bench_run_find(run, "prof", name, rmode);
	if (!q || q->n == 0)
		return false;
	*v = 1 / q->sum.median;
	*lo = 1 / q->ratio_hi;
	*hi = 1 / q->ratio_lo;
	return true;
}

static double median_of(const struct bench_run *run, const char *name, const char *suffix, unsigned mode)
{
	char full[64];
	const struct bench_series *s;

	snprintf(full, sizeof(full), "%s%s", name, suffix);
	s = bench_run_find(run, "prof", full, modes[mode].mode);
	return s && s->n ? s->sum.median : NAN;
}

void bench_print_prof(const struct bench_run *run)
{
	bool header = false;

	for (size_t i = 0; i < run->nr_series; i++) {
		const struct bench_series *s = &run->series[i];

		if (strcmp(s->suite, "prof") || strcmp(s->mode, "guest"))
			continue;
		if (!header) {
			printf("\n%-8s %-8s %-11s %12s %9s %9s   %s\n", "prof", "case", "mode", "per run", "vmm Hz",
			       "kernel Hz", "profiled time / unprofiled (triplets: median, 95% CI)");
			header = true;
		}
		printf("%-8s %-8s %-11s %9.2f %-2s   cv %.1f%%\n", "", s->name, modes[MODE_OFF].label, s->sum.median,
		       s->unit, 100 * s->sum.cv);
		for (unsigned m = MODE_100; m <= MODE_1000; m++) {
			double v, lo, hi, kernel, med = median_of(run, s->name, "", m);
			char verdict[64] = "", khz[16];

			if (!time_ratio(run, s->name, m, &v, &lo, &hi)) {
				printf("%-8s %-8s %-11s %9.2f %-2s   no triplets\n", "", s->name, modes[m].label, med,
				       s->unit);
				continue;
			}
			if (m == MODE_1000)
				snprintf(verdict, sizeof(verdict), "; target under %.0f%%: %s", 100 * TARGET_1KHZ,
					 !isfinite(lo) ? "undecided" : hi < 1 + TARGET_1KHZ ? "met" :
					 lo > 1 + TARGET_1KHZ ? "missed" : "undecided");
			kernel = median_of(run, s->name, "-ksamples", m);
			if (isfinite(kernel))
				snprintf(khz, sizeof(khz), "%.0f", kernel);
			else
				snprintf(khz, sizeof(khz), "off");
			printf("%-8s %-8s %-11s %9.2f %-2s %9.0f %9s   %.4f [%.4f, %.4f] %+.2f%%%s\n", "", s->name,
			       modes[m].label, med, s->unit, median_of(run, s->name, "-samples", m), khz, v, lo, hi,
			       100 * (v - 1), verdict);
		}
	}
}
