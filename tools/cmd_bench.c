// SPDX-License-Identifier: MIT
/*
 * xenith bench: runs the workloads natively and in a guest built from the
 * same code, measures exit costs against their native analogues, prints a
 * table, and writes one JSON document per run (results/SCHEMA.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../bench/exitcost.h"
#include "../bench/native.h"
#include "../bench/result.h"
#include "../bench/slowdown.h"
#include "../bench/workloads.h"
#include "density.h"
#include "../bench/archive.h"
#include "../bench/calibrate.h"
#include "version.h"
#include "bench_hooks.h"
#include "confine.h"
#include "domain.h"
#include "membacking.h"
#include "vcpu.h"
#include "bench_cli.h"
#include "../bench/pairs.h"
#include "blkbench.h"
#include "netbench.h"
#include "pcibench.h"
#include "profbench.h"
#include "migbench.h"
#include "../bench/report.h"
#include "soak.h"
#include "xenith.h"

#define NR_SUITES 10
static const char *const suites[] = { "compute", "memory", "exit", "density", "blk", "net", "prof", "soak", "pci",
				      "migrate", NULL };
_Static_assert(sizeof(suites) / sizeof(suites[0]) == NR_SUITES + 1, "struct selection has a flag per suite");

/*
 * --baseline: unknown cases get ADAPT_BATCH more repetitions a round, up to
 * --budget in all.  30 = the quick 10 and four rounds: 30 vs 10 detects
 * 1.3 sd at alpha 0.01, so a 5% change in cases with up to 3.8% noise.
 */
#define ADAPT_BATCH 5u
#define ADAPT_BUDGET 30u

static void bench_help(FILE *f)
{
	fprintf(f,
"usage: xenith bench [SUITE|SUITE/CASE...] [--quick] [--repeat N] [--warmup N] [--out DIR]\n"
"                    [--baseline FILE [--budget N]]\n"
"       xenith bench compare BASE NEW [--alpha P] [--min-effect F] [--calibration FILE|none]\n"
"                            (BASE, NEW: result documents or directories of runs)\n"
"       xenith bench report [DOC] [--out DIR]\n"
"       xenith bench history [SUITE|SUITE/CASE...] [--out DIR] [--json]\n"
"       xenith bench calibrate [SUITE|SUITE/CASE...] [--runs K] [--repeat N] [--out DIR]\n"
"       xenith bench list\n\n"
"Runs each case natively and in a minios guest built from the same code, and\n"
"reports guest/native ratios.  Suites: compute (CRC-32, matrix multiply),\n"
"memory (copy, triad, latency 32K..256M, first touch, random access), exit\n"
"(hypercall, ioeventfd, MMIO, event-channel and shared-memory round trips\n"
"against getppid, eventfd, futex and shared-memory ping-pong natively),\n"
"density (idle domains against bare KVM VMs: boot latency, memory, idle CPU;\n"
"busy domains against native threads: throughput and fairness), blk (fio-style\n"
"jobs through the block split driver in each notification mode (and poll with\n"
"grant copies instead of persistent grants), against the\n"
"real fio natively on the same file: IOPS and p99 latency; needs fio; the\n"
"backing file goes to $XENITH_BLK_DIR, default /var/tmp), net (the guest's\n"
"network programs through the split driver in each notification mode against\n"
"xenith-net on a port of the same kind, the same wire-side program receiving\n"
"or sending: on a tap, on a DPDK net_af_packet vdev, and domain to domain\n"
"through a xenith switch against two xenith-net on a net_memif pair;\n"
"packets/s at 64 B and Gbit/s at 1500 B, loss, echo p50/p99; reference lines\n"
"iperf3 -u over veth and dpdk-testpmd txonly, skipped with the reason when\n"
"missing, as are the dpdk and switch rows without DPDK; needs root;\n"
"net/CASE or net/CASE@MODE selects), prof (what recording a profile costs a\n"
"guest: crc32 and matmul (--quick: crc32) in one guest, unprofiled and while\n"
"recorded at 100 Hz and at 1 kHz as `xenith prof record` records, perf's\n"
"kernel samples of the vCPU thread included where the host allows them),\n"
"migrate (relocation through the xenith commands, the xenith binary next to\n"
"xenith-bench run as child processes: save and restore of an idle 64 MiB\n"
"domain, each restore paired with a cold boot of it, both timed from exec to\n"
"running; live migration over loopback of idle 64 MiB and 1 GiB domains and\n"
"of a 256 MiB one writing 64 MiB at 25 to 3200 MB/s (--quick: 100 to 1600):\n"
"downtime, the gap the guest saw, rounds, pages, whether pre-copy converged,\n"
"and the lowest rate at which it did not; 5 repetitions, 3 with --quick,\n"
"unless --repeat says; migrate/CASE selects: `xenith bench list`),\n"
"soak (leaks under churn: create-destroy, reboot and disk-churn cycles while\n"
"the VMM's descriptors, threads, memory and the host's MemAvailable are\n"
"sampled; each figure's slope per 1,000 cycles and verdict; exits 1 when one\n"
"is not flat),\n"
"pci (block jobs on an NVMe virtual function passed through to a guest, with\n"
"MSI-X (vf) and polled (vf-poll), and on a PV disk backed by its namespace\n"
"(pv), against the same driver code on the function natively through VFIO;\n"
"reads only; the first NVMe VF on vfio-pci or $XENITH_PCI_VF, the PF's\n"
"namespace or $XENITH_PCI_DISK; needs an IOMMU and root).\n"
"Default: every suite but soak and pci, which run only when named (prof takes\n"
"about 7 s, 4 s with --quick; migrate about 50 s, 15 s with --quick).\n\n"
"Compute, memory and exit run in interleaved pairs: guest repetition i, then\n"
"native repetition i, the guest staying booted; each pair is a sample of the\n"
"case's ratio series (mode ratio: guest speed / native, 1.0 = native; for exit\n"
"costs analogue / guest cost), with a 95%% interval (t on log pair ratios).\n"
"prof runs blocks of about 100 ms of runs in turn, unprofiled, 100 Hz, 1 kHz,\n"
"in one booted guest; each such triplet is a sample of the ratio series\n"
"ratio-prof100 and ratio-prof1000 (profiled speed / unprofiled; the table\n"
"prints profiled time / unprofiled), with the same interval; --repeat and\n"
"--warmup count triplets.\n"
"The run starts by printing the host's fingerprint (compare refuses absolute\n"
"figures across different ones).\n\n"
"options:\n"
"  --quick          fewer cases, shorter exit repetitions, density up to 100\n"
"                   domains, net only tap-tx-64 and tap-echo-64 in ioeventfd\n"
"                   mode, 3 repetitions (the CI and README job)\n"
"  --repeat N       repetitions per case (default 10, --quick too: 5 cannot\n"
"                   detect 5%% unless a case's noise is under 1.6%%; README)\n"
"  --warmup N       unrecorded repetitions first (default 1)\n"
"  --baseline FILE  after the run, compare each compute, memory and exit case\n"
"                   with FILE as `xenith bench compare` does; a case whose\n"
"                   verdict is unknown gets %u more repetitions (after a warm-up),\n"
"                   again until it is same or different or has N in all;\n"
"                   the table and the document say how many each took and\n"
"                   why it stopped.  With a calibration of between-run noise\n"
"                   in the archive (`xenith bench calibrate --runs K`) cases\n"
"                   are compared with it, as compare does, and one that no\n"
"                   number of repetitions can decide at that noise stops\n"
"                   (between-runs).  density, blk, net, prof, migrate and soak\n"
"                   are not re-run (guest boots, fio jobs, blasts, migrations):\n"
"                   marked not-adaptive\n"
"  --budget N       most repetitions a case gets with --baseline (default %u)\n"
"  --out DIR        results archive (default: results/runs in the source tree,\n"
"                   else ./xenith-results; $XENITH_RESULTS overrides)\n"
"  --no-archive     print the table only\n"
"  --db URL         also store the run's index rows in the PostgreSQL database\n"
"                   URL (postgresql://USER@HOST/DB or postgres://...), shared by\n"
"                   a fleet of hosts (runs carry their host name), after the\n"
"                   document and index.sqlite are written: a failed upload\n"
"                   loses nothing (`xenith fleet store --db URL DOC` retries)\n"
"  --backing LIST   memory backings the memory suite runs with in a guest,\n"
"                   comma-separated (default memfd,hugetlb,thp): memfd is the\n"
"                   guest column; each other one adds rows guest-BACKING; one the\n"
"                   host cannot give (no huge pages reserved, shmem THP off) is\n"
"                   reported as skipped with the reason; each backing's guest\n"
"                   runs in pairs with native like every guest (below)\n"
"  --no-seccomp     run the domains without their seccomp filters (by default a\n"
"                   domain's threads are filtered as in `xenith run`; this is how\n"
"                   the filters' cost is measured: ci/seccomp_cost.sh)\n"
"  --density-max N  most idle domains the density suite boots (default 10000,\n"
"                   --quick 100): it tries 1, 10, 100, ... up to N, or the first\n"
"                   failure, whose cause it reports\n"
"  --soak-cycles N  cycles of every soak scenario, at least 100 (default 10000\n"
"                   create-destroy, 500 reboot, 10000 disk-churn; --quick 1000,\n"
"                   200, 1000)\n"
"  -h, --help       this text\n\n"
"Each run is one JSON document (schema %s) in the archive, indexed in\n"
"DIR/index.sqlite; DIR/report.html (SVG charts, history of the archive) and\n"
"dashboard exports (github-action-benchmark JSON, OpenMetrics) are rewritten.\n"
"`xenith bench compare` exits 1 when a case got slower, 2 when the hosts'\n"
"fingerprints differ (it then compares ratios only).  `xenith bench history`\n"
"prints each series over the archive and the revisions where it shifted\n"
"(change points; see `xenith bench history --help`).  `xenith bench calibrate`\n"
"measures each case's noise into DIR/calibration.json; a run then names the\n"
"series with fewer repetitions than a 5%% change needs.  A run ends with the\n"
"host's noise (load, steal, other processes, frequency) and warnings.\n",
		ADAPT_BATCH, ADAPT_BUDGET, BENCH_SCHEMA);
}

#define MAX_NAMED_CASES 32

struct selection {
	bool suite[NR_SUITES];
	/* SUITE/CASE arguments: when a suite has any, only those of its cases run */
	const char *named[MAX_NAMED_CASES];
	unsigned nr_named;
	unsigned long density_max, soak_cycles;
	bool quick;
	unsigned repeat, warmup;
	const char *out;
	const char *db;       /* --db: a PostgreSQL URL, or NULL */
	bool no_archive;
	bool no_seccomp;
	unsigned backings;    /* bit per enum mem_backing: the memory suite runs in a guest with each */
	struct slowdown_set slow; /* $XENITH_BENCH_SLOWDOWN: validation runs only */
	const char *baseline;     /* --baseline: adaptive repetitions against it */
	unsigned budget;
};

/* Guest memory for the workloads: a whole number of 2 MiB pages, so that every backing can give it. */
static uint64_t bench_guest_mib(const struct selection *sel)
{
	return ((wl_memory_needed(sel->quick) >> 20) + 16 + 1) & ~1ull;
}

static bool suite_selected(const struct selection *sel, const char *suite)
{
	for (int i = 0; suites[i]; i++)
		if (!strcmp(suites[i], suite))
			return sel->suite[i];
	return false;
}

/* Runs case `name` of `suite`? quick_case: part of --quick. */
static bool case_selected(const struct selection *sel, const char *suite, const char *name, bool quick_case)
{
	size_t sl = strlen(suite);
	bool suite_named = false;

	if (!suite_selected(sel, suite))
		return false;
	for (unsigned i = 0; i < sel->nr_named; i++) {
		const char *n = sel->named[i];

		if (strncmp(n, suite, sl) || n[sl] != '/')
			continue;
		suite_named = true;
		if (!strcmp(n + sl + 1, name))
			return true; /* named explicitly: runs even if not a quick case */
	}
	return !suite_named && (!sel->quick || quick_case);
}

/* Checks a SUITE/CASE argument against the tables. */
static bool case_exists(const char *arg)
{
	for (unsigned i = 0; i < wl_nr_cases; i++) {
		char full[64];

		snprintf(full, sizeof(full), "%s/%s", wl_cases[i].suite, wl_cases[i].name);
		if (!strcmp(full, arg))
			return true;
	}
	for (unsigned i = 0; i < NR_EXIT_CASES; i++) {
		char full[64];

		snprintf(full, sizeof(full), "exit/%s", exit_cases[i].name);
		if (!strcmp(full, arg))
			return true;
	}
	if (!strncmp(arg, "soak/", 5))
		return soak_scenario_exists(arg + 5);
	if (!strncmp(arg, "net/", 4))
		return net_case_exists(arg + 4);
	if (!strncmp(arg, "pci/", 4))
		return pci_job_exists(arg + 4);
	if (!strncmp(arg, "prof/", 5))
		return prof_case_exists(arg + 5);
	if (!strncmp(arg, "migrate/", 8))
		return mig_case_exists(arg + 8);
	return !strncmp(arg, "blk/", 4) && blk_job_exists(arg + 4);
}

static bool blk_only(void *opaque, const char *job)
{
	return case_selected(opaque, "blk", job, true);
}

static bool pci_only(void *opaque, const char *job)
{
	return case_selected(opaque, "pci", job, true);
}

static bool net_only(void *opaque, const char *name, bool quick_case)
{
	return case_selected(opaque, "net", name, quick_case);
}

static bool prof_only(void *opaque, const char *name, bool quick_case)
{
	return case_selected(opaque, "prof", name, quick_case);
}

static bool migrate_only(void *opaque, const char *name, bool quick_case)
{
	return case_selected(opaque, "migrate", name, quick_case);
}

static bool soak_only(void *opaque, const char *scenario)
{
	return case_selected(opaque, "soak", scenario, true);
}

static bool progress_tty;

static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void progress(const char *fmt, ...)
{
	va_list ap;

	if (!progress_tty)
		return;
	fputs("\r\033[K", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
}

static int pin_self(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/*
 * Pins this thread for the native side, and runs the exit suite's floor
 * (an empty call): the only native case without a guest counterpart.  The
 * workloads and the exit analogues run in pairs with the guest's
 * repetitions (pair_native).
 */
static int run_native(struct bench_run *run, const struct selection *sel, uint64_t tsc_khz,
		      int measure_cpu, int partner_cpu)
{
	unsigned total = sel->warmup + sel->repeat;
	struct wl_env env;

	native_env_init(&env, tsc_khz); /* also the analogues' clock (native.c) */
	native_set_cpus(measure_cpu, partner_cpu);
	if (!suite_selected(sel, "exit"))
		return 0;
	for (unsigned i = 0; i < native_nr_cases; i++) {
		const struct native_case *c = &native_cases[i];
		struct bench_series *s;
		unsigned n = c->iterations / (sel->quick ? 4 : 1);

		if (strcmp(c->name, "call"))
			continue;
		s = bench_run_series(run, "exit", c->name, "native", "ns", false);

		for (unsigned r = 0; s && r < total; r++) {
			double v;

			progress("native exit/%s %u/%u", c->name, r + 1, total);
			native_prepare();
			wl_slowdown_pct = slowdown_pct(&sel->slow, "exit", c->name, false);
			v = c->run(n);
			wl_slowdown_pct = 0;
			if (v < 0) {
				fprintf(stderr, "xenith bench: native %s failed\n", c->name);
				return -EIO;
			}
			if (r >= sel->warmup)
				bench_series_add(s, v);
		}
	}
	return 0;
}

struct guest_sink {
	struct bench_run *run;
	const char *mode;     /* "guest", or "guest-BACKING" for the memory suite's other backings */
	unsigned reports, expected;
	struct bench_pairs *pairs; /* each report waits for its native counterpart */
	unsigned reps;             /* per case: a report past them is not paired */
	unsigned *seen;            /* per case id (workloads, then exit cases): reports from this guest */
};

/* The native side of the pairs one guest domain reports (bench/pairs.h). */
struct pair_runner {
	struct bench_run *run;
	const struct selection *sel;
	const char *guest_mode;   /* the guest series' mode */
	bool record_native;       /* the native reps are the native series (default backing only) */
	struct wl_env env;
	bool *warm;               /* per case id (workloads, then exit cases): warmed up natively */
	int err;
};

/* Exit cases sharing an analogue (hypercall and mmio: getppid): the first one's reps are its series. */
static bool first_with_analogue(const struct selection *sel, unsigned k)
{
	for (unsigned j = 0; j < k; j++)
		if (!strcmp(exit_cases[j].analogue, exit_cases[k].analogue) &&
		    case_selected(sel, "exit", exit_cases[j].name, true))
			return false;
	return true;
}

/*
 * Runs on the runner's thread while the guest waits in its report of rep:
 * the native repetition of the same case (after the native warm-up, the
 * first time), recorded as the native series' rep and as the pair's ratio.
 */
static void pair_native(void *opaque, uint32_t id, uint32_t rep, double guest_value)
{
	struct pair_runner *pr = opaque;
	const struct selection *sel = pr->sel;
	const struct bench_series *g = NULL;
	struct bench_series *s = NULL;
	unsigned warm_idx, runs;
	double v = -1;

	if (pr->err)
		return;
	if (id < wl_nr_cases) {
		const struct wl_case *c = &wl_cases[id];

		warm_idx = id;
		runs = 1 + (pr->warm[warm_idx] ? 0 : sel->warmup);
		if (pr->record_native &&
		    !(s = bench_run_series(pr->run, c->suite, c->name, "native", c->unit, c->higher_is_better)))
			goto oom;
		for (unsigned k = 0; k < runs; k++) {
			int rc;

			progress("native %s/%s %u (paired with %s)", c->suite, c->name, rep + 1, pr->guest_mode);
			native_prepare();
			wl_slowdown_pct = slowdown_pct(&sel->slow, c->suite, c->name, false);
			rc = c->run(c, &pr->env, &v);
			wl_slowdown_pct = 0;
			if (rc < 0) {
				fprintf(stderr, "xenith bench: native %s: out of memory\n", c->name);
				goto oom;
			}
		}
		g = bench_run_find(pr->run, c->suite, c->name, pr->guest_mode);
	} else if (id >= BENCH_EXIT_CASE_BASE && id < BENCH_EXIT_CASE_BASE + NR_EXIT_CASES) {
		unsigned k = id - BENCH_EXIT_CASE_BASE;
		const struct native_case *c = native_case_find(exit_cases[k].analogue);

		if (!c)
			return;
		warm_idx = wl_nr_cases + k;
		runs = 1 + (pr->warm[warm_idx] ? 0 : sel->warmup);
		if (pr->record_native && first_with_analogue(sel, k) &&
		    !(s = bench_run_series(pr->run, "exit", c->name, "native", "ns", false)))
			goto oom;
		for (unsigned r = 0; r < runs; r++) {
			progress("native exit/%s %u (paired with %s)", c->name, rep + 1, exit_cases[k].name);
			native_prepare();
			wl_slowdown_pct = slowdown_pct(&sel->slow, "exit", c->name, false);
			v = c->run(c->iterations / (sel->quick ? 4 : 1));
			wl_slowdown_pct = 0;
			if (v < 0) {
				fprintf(stderr, "xenith bench: native %s failed\n", c->name);
				pr->err = -EIO;
				return;
			}
		}
		g = bench_run_find(pr->run, "exit", exit_cases[k].name, "guest");
	} else {
		return;
	}
	pr->warm[warm_idx] = true;
	if (s && bench_series_add(s, v) < 0)
		goto oom;
	if (g && bench_ratio_add(pr->run, g, guest_value, v) == -ENOMEM)
		goto oom;
	return;
oom:
	pr->err = -ENOMEM;
}

/* What one guest domain runs: every selected suite but memory, or the memory suite alone. */
enum guest_part { GUEST_BUT_MEMORY, GUEST_MEMORY };

static void guest_report(void *opaque, struct domain *d, uint32_t id, uint32_t rep, double value)
{
	struct guest_sink *gs = opaque;
	struct bench_series *s = NULL;

	(void)d;
	(void)rep;
	if (id < wl_nr_cases) {
		const struct wl_case *c = &wl_cases[id];

		s = bench_run_series(gs->run, c->suite, c->name, gs->mode, c->unit, c->higher_is_better);
		progress("%s %s/%s %u", gs->mode, c->suite, c->name, rep + 1);
	} else if (id >= BENCH_EXIT_CASE_BASE && id < BENCH_EXIT_CASE_BASE + NR_EXIT_CASES) {
		const struct exit_case_info *c = &exit_cases[id - BENCH_EXIT_CASE_BASE];

		s = bench_run_series(gs->run, "exit", c->name, "guest", "ns", false);
		if (s)
			snprintf(s->analogue, sizeof(s->analogue), "%s", c->analogue);
		progress("guest exit/%s %u", c->name, rep + 1);
	}
	if (s) {
		unsigned idx = id < wl_nr_cases ? id : wl_nr_cases + (id - BENCH_EXIT_CASE_BASE);

		bench_series_add(s, value);
		gs->reports++;
		/*
		 * At most reps native runs per case, whatever this guest reports.
		 * Counted per guest, not by the series' length: a --baseline round
		 * appends to series that already have samples, and its reports
		 * must be paired too.
		 */
		if (gs->pairs && gs->seen && ++gs->seen[idx] <= gs->reps)
			bench_pairs_request(gs->pairs, id, rep, value);
	}
}

struct guest_job {
	const struct domain_config *cfg;
	const struct domain_opts *opts;
	struct kvm_sys *kvm;
	struct guest_sink *gs;
	int measure_cpu, helper_cpu;
	int r;
};

static void guest_run(struct guest_job *j)
{
	struct domain *d = NULL;
	const struct domain_end *end;
	pthread_t vcpu0;
	struct errbuf eb;
	bool ended;

	/* Helper threads (echo, shared-memory responder) stay on helper_cpu. */
	pin_self(j->helper_cpu);
	if (domain_create(j->cfg, j->opts, j->kvm, 1, &d, &eb) < 0) {
		fprintf(stderr, "xenith bench: guest: %s\n", eb.msg);
		return;
	}
	confine_domain_thread();
	if (domain_start(d, &eb) < 0) {
		fprintf(stderr, "xenith bench: guest: %s\n", eb.msg);
		domain_destroy(d);
		return;
	}
	if (j->measure_cpu >= 0 && domain_vcpu_thread(d, 0, &vcpu0) == 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(j->measure_cpu, &set);
		pthread_setaffinity_np(vcpu0, sizeof(set), &set);
	}
	ended = domain_wait(d, now_ns() + 3600ull * 1000000000ull);
	end = domain_final_end(d);
	j->r = 0;
	if (!ended || end->state != DOMAIN_SHUTDOWN || end->code != 0 || j->gs->reports != j->gs->expected) {
		fprintf(stderr, "xenith bench: the guest run failed (%s; %u of %u results)\n",
			ended && end->why[0] ? end->why : "still running after an hour", j->gs->reports, j->gs->expected);
		j->r = -EIO;
	}
	domain_destroy(d);
}

static void *guest_thread(void *arg)
{
	struct guest_job *j = arg;

	guest_run(j);
	bench_pairs_done(j->gs->pairs); /* the runner stops serving pairs */
	return NULL;
}

/*
 * One guest domain runs part of the selected cases, reps times each after
 * warmup unrecorded ones, its memory backed as asked: mode "guest" for the
 * default backing, "guest-BACKING" for another.  Each repetition is paired
 * with a native one run right after it (pair_native), recorded as the
 * native series (default backing only) and as the pair's ratio.
 */
static int run_guest(struct bench_run *run, const struct selection *sel, struct kvm_sys *kvm,
		     int measure_cpu, int helper_cpu, enum guest_part part, enum mem_backing backing,
		     unsigned reps, unsigned warmup)
{
	bool memory_only = part == GUEST_MEMORY;
	struct domain_config defaults;
	char mode[32];
	struct guest_sink gs = { .run = run, .mode = mode };
	struct bench_sink sink = { guest_report, &gs };
	struct domain_opts opts = { .console_fd = STDERR_FILENO, .console_prefix = true, .bench = &sink };
	struct domain_config cfg;
	char *p;
	size_t left;
	int r, n;

	config_init(&cfg);
	config_init(&defaults);
	snprintf(cfg.name, sizeof(cfg.name), "bench");
	cfg.memory_mib = bench_guest_mib(sel);
	cfg.memory_backing = backing;
	if (backing != defaults.memory_backing) {
		snprintf(cfg.name, sizeof(cfg.name), "bench-%s", config_backing_name(backing));
		snprintf(mode, sizeof(mode), "guest-%s", config_backing_name(backing));
	} else {
		snprintf(mode, sizeof(mode), "guest");
	}
	n = snprintf(cfg.cmdline, sizeof(cfg.cmdline), "bench %u %u %u", reps, warmup, sel->quick ? 1 : 0);
	p = cfg.cmdline + n;
	left = sizeof(cfg.cmdline) - (size_t)n;
	/* the validation knob's guest side: sCASE:PCT before the cases (guest/bench.c) */
	for (unsigned i = 0; i < wl_nr_cases; i++) {
		unsigned pct = slowdown_pct(&sel->slow, wl_cases[i].suite, wl_cases[i].name, true);

		if (pct && left > 24) {
			n = snprintf(p, left, " s%u:%u", i, pct);
			p += n;
			left -= (size_t)n;
		}
	}
	for (unsigned i = 0; i < NR_EXIT_CASES; i++) {
		unsigned pct = slowdown_pct(&sel->slow, "exit", exit_cases[i].name, true);

		if (pct && left > 24) {
			n = snprintf(p, left, " s%u:%u", BENCH_EXIT_CASE_BASE + i, pct);
			p += n;
			left -= (size_t)n;
		}
	}
	for (unsigned i = 0; i < wl_nr_cases; i++) {
		if (!case_selected(sel, wl_cases[i].suite, wl_cases[i].name, wl_cases[i].quick))
			continue;
		if (memory_only != !strcmp(wl_cases[i].suite, "memory"))
			continue;
		n = snprintf(p, left, " %u", i);
		p += n;
		left -= (size_t)n;
		gs.expected += reps;
	}
	if (suite_selected(sel, "exit") && !memory_only) {
		for (unsigned i = 0; i < NR_EXIT_CASES; i++) {
			if (!case_selected(sel, "exit", exit_cases[i].name, true))
				continue;
			n = snprintf(p, left, " %u", BENCH_EXIT_CASE_BASE + i);
			p += n;
			left -= (size_t)n;
			gs.expected += reps;
		}
	}
	if (gs.expected == 0)
		return 0;
	r = find_bundled_minios(cfg.kernel, sizeof(cfg.kernel));
	if (r < 0) {
		fprintf(stderr, "xenith bench: the bundled minios is not built (%s)\n", cfg.kernel);
		return r;
	}
	struct guest_job job = { &cfg, &opts, kvm, &gs, measure_cpu, helper_cpu, -EIO };
	struct bench_pairs pairs;
	struct pair_runner pr = { .run = run, .sel = sel, .guest_mode = mode,
				  .record_native = backing == defaults.memory_backing };
	pthread_t t;

	pr.warm = calloc(wl_nr_cases + NR_EXIT_CASES, sizeof(*pr.warm));
	gs.seen = calloc(wl_nr_cases + NR_EXIT_CASES, sizeof(*gs.seen));
	if (!pr.warm || !gs.seen) {
		free(pr.warm);
		free(gs.seen);
		return -ENOMEM;
	}
	native_env_init(&pr.env, run->env.tsc_khz);
	bench_pairs_init(&pairs);
	gs.pairs = &pairs;
	gs.reps = reps;

	/*
	 * The domain lives on a thread of its own, which takes the VMM's main
	 * filter once the domain is built, as `xenith run`'s main thread does:
	 * the domain's threads run under the same filters, and this harness
	 * (fio, SQLite, the other suites) under none.
	 */
	r = pthread_create(&t, NULL, guest_thread, &job);
	if (r) {
		fprintf(stderr, "xenith bench: guest thread: %s\n", strerror(r));
		bench_pairs_destroy(&pairs);
		free(pr.warm);
		free(gs.seen);
		return -r;
	}
	bench_pairs_serve(&pairs, pair_native, &pr);
	pthread_join(t, NULL);
	bench_pairs_destroy(&pairs);
	free(pr.warm);
	free(gs.seen);
	return job.r < 0 ? job.r : pr.err;
}

/*
 * The memory suite in a guest with each backing asked for (--backing;
 * default every one), one domain per backing, each repetition paired
 * with a native one (run_guest): the default backing's pairs are the
 * native series, every backing's pairs its ratio series.  A backing this
 * host cannot give is skipped, its reason on stderr and in the run's note.
 */
static int run_memory_backings(struct bench_run *run, const struct selection *sel, struct kvm_sys *kvm,
			     int measure_cpu, int helper_cpu)
{
	struct domain_config defaults;
	enum mem_backing backings[3], column;
	unsigned nb = 0;
	bool any_memory = false;
	char column_why[256];

	config_init(&defaults);
	for (unsigned i = 0; i < wl_nr_cases; i++)
		any_memory |= !strcmp(wl_cases[i].suite, "memory") &&
			      case_selected(sel, "memory", wl_cases[i].name, wl_cases[i].quick);
	if (!any_memory)
		return 0;
	backings[nb++] = defaults.memory_backing; /* always: the guest column */
	/* The default (auto) is one of the others: that one is the guest column, not a row too. */
	column = mem_backing_resolve(defaults.memory_backing, (uint64_t)bench_guest_mib(sel) << 20, column_why,
				     sizeof(column_why));
	if (column_why[0])
		fprintf(stderr, "xenith bench: memory suite: the guest column is memory_backing = %s\n", column_why);
	for (int b = MEM_BACKING_MEMFD; b <= MEM_BACKING_THP; b++) {
		char why[256];
		size_t used = strlen(run->note);

		if (!(sel->backings & (1u << b)) || b == (int)defaults.memory_backing || b == (int)column)
			continue;
		if (!mem_backing_available((enum mem_backing)b, (uint64_t)bench_guest_mib(sel) << 20, why,
					   sizeof(why))) {
			fprintf(stderr, "xenith bench: memory suite with memory_backing = %s: skipped (%s)\n",
				config_backing_name((enum mem_backing)b), why);
			snprintf(run->note + used, sizeof(run->note) - used,
				 "memory_backing %s skipped: %s. ", config_backing_name((enum mem_backing)b), why);
			continue;
		}
		backings[nb++] = (enum mem_backing)b;
	}
	for (unsigned k = 0; k < nb; k++) {
		int r = run_guest(run, sel, kvm, measure_cpu, helper_cpu, GUEST_MEMORY, backings[k], sel->repeat,
				  sel->warmup);

		if (r < 0)
			return r;
	}
	return 0;
}

static bool adaptive_suite(const char *suite)
{
	return !strcmp(suite, "compute") || !strcmp(suite, "memory") || !strcmp(suite, "exit");
}

/* Adds name to the SUITE/CASE list of a re-run, once. */
static void rerun_add(struct selection *again, char names[][64], const char *suite, const char *name)
{
	char full[64];

	snprintf(full, sizeof(full), "%s/%s", suite, name);
	for (unsigned i = 0; i < again->nr_named; i++)
		if (!strcmp(again->named[i], full))
			return;
	if (again->nr_named == MAX_NAMED_CASES)
		return;
	snprintf(names[again->nr_named], 64, "%s", full);
	again->named[again->nr_named] = names[again->nr_named];
	again->nr_named++;
	for (int k = 0; suites[k]; k++)
		if (!strcmp(suites[k], suite))
			again->suite[k] = true;
}

/*
 * The cases whose re-run adds samples to series s: its own case; for a
 * native exit analogue, the exit cases compared with it (the runner measures
 * an analogue when one of them is selected; "call", the floor, with any).
 */
static void rerun_series(struct selection *again, char names[][64], const struct bench_series *s)
{
	bool found = false;

	if (strcmp(s->suite, "exit") || strcmp(s->mode, "native")) {
		rerun_add(again, names, s->suite, s->name);
		return;
	}
	for (unsigned k = 0; k < NR_EXIT_CASES; k++)
		if (!strcmp(exit_cases[k].analogue, s->name)) {
			rerun_add(again, names, "exit", exit_cases[k].name);
			found = true;
		}
	if (!found)
		rerun_add(again, names, "exit", exit_cases[0].name);
}

/*
 * --baseline: compares every series with the baseline's; a compute, memory
 * or exit case whose verdict is unknown runs again (a warm-up, then up to
 * ADAPT_BATCH repetitions, appended to its series), round after round,
 * until every case is decided or at the budget.  Each series records its
 * last verdict and why it stopped.  Looking again after each round is a
 * sequential test: a case has up to five looks at alpha each, so its chance
 * of a false 'different' is up to about five times alpha (README).
 */
static int run_adaptive(struct bench_run *run, const struct selection *sel, struct kvm_sys *kvm,
			int measure_cpu, int helper_cpu)
{
	struct bench_run base;
	struct calibration noise;
	struct errbuf eb;
	size_t before, after;
	bool have_noise = false;
	int r = 0;

	if (bench_run_read(&base, sel->baseline, &eb) < 0) {
		fprintf(stderr, "xenith bench: --baseline: %s\n", eb.msg);
		return -EINVAL;
	}
	/* the between-run noise compare will use for this run (calibration.json of the archive it goes to) */
	if (!sel->no_archive) {
		char path[PATH_MAX + 32], differs[512];

		snprintf(path, sizeof(path), "%s/calibration.json", archive_dir());
		if (calib_read(&noise, path, &eb) == 0) {
			calib_host_differs(&noise, &run->env, differs, sizeof(differs));
			have_noise = !differs[0] && noise.runs >= 2;
			if (!have_noise)
				calib_free(&noise);
		}
	}
	/*
	 * Each round adds at least one repetition to every case it re-runs, so
	 * budget rounds are enough; the bound and the check that a round added
	 * samples keep a case that cannot grow from looping for ever.
	 */
	for (unsigned round = 1; r == 0; round++) {
		struct selection again = *sel;
		char names[MAX_NAMED_CASES][64];
		unsigned batch = ADAPT_BATCH;
		struct domain_config defaults;

		if (round > sel->budget) {
			fprintf(stderr, "xenith bench: --baseline: %u rounds and cases still below the budget: "
				"stopping\n", sel->budget);
			break;
		}

		again.nr_named = 0;
		memset(again.suite, 0, sizeof(again.suite));
		for (size_t i = 0; i < run->nr_series; i++) {
			struct bench_series *s = &run->series[i];
			const struct bench_series *b = bench_run_find(&base, s->suite, s->name, s->mode);
			struct comparison c;

			if (!b || b->n < 2 || s->n < 2) {
				snprintf(s->adapt_verdict, sizeof(s->adapt_verdict), "-");
				snprintf(s->adapt_stop, sizeof(s->adapt_stop), "%s", b ? "too-few" : "not-in-base");
				continue;
			}
			const struct calib_entry *e = have_noise ? calib_find(&noise, s->suite, s->name, s->mode) : NULL;
			bool drift = e && e->runs >= 2 && isfinite(e->run_sd);

			if (drift)
				stats_compare_runs(b->samples, b->n, s->samples, s->n, s->higher_is_better, STATS_ALPHA,
						   STATS_MIN_EFFECT, e->run_sd, e->runs - 1, &c);
			else
				stats_compare(b->samples, b->n, s->samples, s->n, s->higher_is_better, STATS_ALPHA,
					      STATS_MIN_EFFECT, &c);
			snprintf(s->adapt_verdict, sizeof(s->adapt_verdict), "%s", stats_verdict_name(&c));
			if (!adaptive_suite(s->suite))
				snprintf(s->adapt_stop, sizeof(s->adapt_stop), "not-adaptive");
			else if (c.verdict != VERDICT_UNKNOWN)
				snprintf(s->adapt_stop, sizeof(s->adapt_stop), "decided");
			else if (drift && stats_runs_undecidable(&c, STATS_ALPHA, STATS_MIN_EFFECT, e->runs - 1))
				snprintf(s->adapt_stop, sizeof(s->adapt_stop), "between-runs");
			else if (s->n >= sel->budget)
				snprintf(s->adapt_stop, sizeof(s->adapt_stop), "budget");
			else {
				s->adapt_stop[0] = 0;
				if (sel->budget - s->n < batch)
					batch = sel->budget - (unsigned)s->n;
				rerun_series(&again, names, s);
			}
		}
		if (!again.nr_named)
			break;
		again.repeat = batch;
		fprintf(stderr, "xenith bench: --baseline round %u: %u unknown case%s, %u more repetitions:", round,
			again.nr_named, again.nr_named == 1 ? "" : "s", batch);
		for (unsigned i = 0; i < again.nr_named; i++)
			fprintf(stderr, " %s", again.named[i]);
		fputc('\n', stderr);
		config_init(&defaults);
		before = 0;
		for (size_t i = 0; i < run->nr_series; i++)
			before += run->series[i].n;
		r = run_native(run, &again, run->env.tsc_khz, measure_cpu, helper_cpu);
		if (r == 0)
			r = run_guest(run, &again, kvm, measure_cpu, helper_cpu, GUEST_BUT_MEMORY,
				      defaults.memory_backing, again.repeat, again.warmup);
		if (r == 0)
			r = run_memory_backings(run, &again, kvm, measure_cpu, helper_cpu);
		after = 0;
		for (size_t i = 0; i < run->nr_series; i++)
			after += run->series[i].n;
		if (r == 0 && after == before) {
			fprintf(stderr, "xenith bench: --baseline round %u added no sample: stopping\n", round);
			break;
		}
	}
	bench_run_free(&base);
	if (have_noise)
		calib_free(&noise);
	return r;
}

/* The --baseline table: per case the repetitions it took, its verdict and why it stopped. */
static void print_adaptive(const struct bench_run *run, const struct selection *sel)
{
	printf("\nagainst %s (budget %u repetitions; compute, memory and exit adapt):\n", sel->baseline,
	       sel->budget);
	printf("%-8s %-24s %-14s %5s  %-8s %s\n", "suite", "case", "mode", "reps", "verdict", "stopped");
	for (size_t i = 0; i < run->nr_series; i++) {
		const struct bench_series *s = &run->series[i];

		if (s->adapt_stop[0])
			printf("%-8s %-24s %-14s %5zu  %-8s %s\n", s->suite, s->name, s->mode, s->n,
			       s->adapt_verdict, s->adapt_stop);
	}
}

static int parse_uint_opt(const char *opt, const char *v, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	unsigned long n = strtoul(v, &end, 10);

	if (*end || end == v || n < lo || n > hi) {
		fprintf(stderr, "xenith bench: %s %s: expected an integer from %u to %u\n", opt, v, lo, hi);
		return -1;
	}
	*out = (unsigned)n;
	return 0;
}

/* --backing memfd,thp: which backings the memory suite runs with. */
static int parse_backings(const char *arg, unsigned *out)
{
	char buf[64], *save = NULL;

	*out = 0;
	if (strlen(arg) >= sizeof(buf))
		goto bad;
	strcpy(buf, arg);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int b;

		for (b = MEM_BACKING_MEMFD; b <= MEM_BACKING_THP; b++)
			if (!strcmp(t, config_backing_name((enum mem_backing)b)))
				break;
		if (b > MEM_BACKING_THP)
			goto bad;
		*out |= 1u << b;
	}
	if (*out)
		return 0;
bad:
	fprintf(stderr, "xenith bench: --backing %s: expected a comma-separated list of memfd, hugetlb "
		"and thp\n", arg);
	return -1;
}

/* $XENITH_BENCH_SLOWDOWN (bench/slowdown.h): parsed, and every case it names is one the knob can slow. */
static int load_slowdown(struct slowdown_set *set)
{
	struct errbuf eb;

	if (slowdown_parse(getenv(SLOWDOWN_ENV), set, &eb) < 0) {
		fprintf(stderr, "xenith bench: %s: %s\n", SLOWDOWN_ENV, eb.msg);
		return -1;
	}
	for (unsigned i = 0; i < set->n; i++) {
		const struct slowdown *d = &set->s[i];
		char full[80];

		snprintf(full, sizeof(full), "%s/%s", d->suite, d->name);
		if ((strcmp(d->suite, "compute") && strcmp(d->suite, "memory") && strcmp(d->suite, "exit")) ||
		    (!case_exists(full) && !(!strcmp(d->suite, "exit") && native_case_find(d->name)))) {
			fprintf(stderr, "xenith bench: %s: %s: not a compute, memory or exit case (the knob "
				"slows only those; exit analogues by their native name, e.g. exit/getppid)\n",
				SLOWDOWN_ENV, full);
			return -1;
		}
	}
	return 0;
}

static int bench_list(void)
{
	printf("%-8s %-16s %-10s %-6s %s\n", "suite", "case", "unit", "quick", "better");
	for (unsigned i = 0; i < wl_nr_cases; i++)
		printf("%-8s %-16s %-10s %-6s %s\n", wl_cases[i].suite, wl_cases[i].name, wl_cases[i].unit,
		       wl_cases[i].quick ? "yes" : "no", wl_cases[i].higher_is_better ? "higher" : "lower");
	for (unsigned i = 0; i < NR_EXIT_CASES; i++)
		printf("%-8s %-16s %-10s %-6s lower (native analogue: %s)\n", "exit", exit_cases[i].name,
		       "ns", "yes", exit_cases[i].analogue);
	blk_list();
	pci_list();
	prof_list();
	mig_list();
	net_list();
	soak_list();
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path); /* best effort: a temporary directory */
	return 0;
}

/* Removes a temporary directory and what is in it. */
static void remove_tree(const char *path)
{
	nftw(path, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/*
 * calibrate --runs: run k of the K, as a run of its own: this binary again
 * in a child process (its own memory placement and address space, as the
 * separate runs a comparison compares; runs in one process share those and
 * showed less spread than separate ones), the same cases, repetitions and
 * warm-up, archived into a temporary directory and read back into *out.
 * 0, or -1 with the reason on stderr.
 */
static int calibrate_child_run(int argc, char **argv, int first_arg, const struct selection *sel, unsigned k,
			       struct bench_run *out)
{
	char tmp[] = "/tmp/xenith-calibrate.XXXXXX", rep[16], warm[16], log[64], doc[PATH_MAX];
	const char *args[MAX_NAMED_CASES + 16];
	unsigned n = 0;
	struct errbuf eb;
	int status, r = -1;
	pid_t pid;

	if (!mkdtemp(tmp)) {
		fprintf(stderr, "xenith bench calibrate: a temporary directory: %s\n", strerror(errno));
		return -1;
	}
	snprintf(rep, sizeof(rep), "%u", sel->repeat);
	snprintf(warm, sizeof(warm), "%u", sel->warmup);
	args[n++] = "/proc/self/exe";
	for (int i = first_arg; i < argc && n < MAX_NAMED_CASES + 6; i++)
		args[n++] = argv[i]; /* the suites and cases named */
	args[n++] = "--quick";
	args[n++] = "--repeat";
	args[n++] = rep;
	args[n++] = "--warmup";
	args[n++] = warm;
	if (sel->no_seccomp)
		args[n++] = "--no-seccomp";
	args[n++] = "--out";
	args[n++] = tmp;
	args[n] = NULL;
	snprintf(log, sizeof(log), "%s/log", tmp);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execv("/proc/self/exe", (char *const *)args);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0) {
		fprintf(stderr, "xenith bench calibrate: run %u: %s\n", k, strerror(errno));
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "xenith bench calibrate: run %u failed (%s %d); its output: %s\n", k,
			WIFEXITED(status) ? "exit status" : "signal",
			WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), log);
		return -1; /* the directory stays, for its log */
	} else if (archive_latest_in(tmp, doc, sizeof(doc), &eb) < 0 || bench_run_read(out, doc, &eb) < 0) {
		fprintf(stderr, "xenith bench calibrate: run %u: %s\n", k, eb.msg);
	} else {
		r = 0;
	}
	if (r == 0)
		remove_tree(tmp);
	return r;
}

int cmd_bench(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "out", required_argument, NULL, 'o' },
		{ "no-archive", no_argument, NULL, 'N' },
		{ "db", required_argument, NULL, 'd' },
		{ "density-max", required_argument, NULL, 'D' },
		{ "soak-cycles", required_argument, NULL, 'S' },
		{ "no-seccomp", no_argument, NULL, 'F' },
		{ "backing", required_argument, NULL, 'B' },
		{ "baseline", required_argument, NULL, 'L' },
		{ "budget", required_argument, NULL, 'G' },
		{ "runs", required_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct selection sel = { .warmup = 1, .backings = 7 };
	bool any_suite = false, repeat_set = false;
	struct bench_run run;
	struct kvm_sys kvm = { .fd = -1 };
	struct errbuf eb;
	int opt, r, ncpu, measure_cpu = -1, helper_cpu = -1, soak_failed = 0;
	struct noise_sampler *sampler;
	bool calibrating = false;
	unsigned calib_runs = 1;
	struct bench_run *more = NULL; /* calibrate --runs: runs 2..K */
	uint64_t t0;

	if (argc >= 2 && !strcmp(argv[1], "compare"))
		return cmd_bench_compare(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "list")) {
		if (argc == 3 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
			printf("usage: xenith bench list\n\nLists every fixed case of every suite: its unit, "
			       "whether --quick runs it,\nand which direction is better.  The density suite "
			       "has no fixed cases: its\nseries are named after the domain counts it reaches "
			       "(n1, n10, ... up to --density-max).\n");
			return 0;
		}
		if (argc > 2) {
			fprintf(stderr, "xenith bench list: unexpected argument '%s'; see `xenith bench "
				"list --help`\n", argv[2]);
			return EXIT_USAGE;
		}
		return bench_list();
	}
	if (argc >= 2 && !strcmp(argv[1], "report"))
		return cmd_bench_report(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "history"))
		return cmd_bench_history(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "calibrate")) {
		/* the runner, many repetitions of the quick cases, into calibration.json */
		calibrating = true;
		argc--;
		argv++;
	}
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'q':
			sel.quick = true;
			break;
		case 'r':
			if (parse_uint_opt("--repeat", optarg, 1, 1000, &sel.repeat) < 0)
				return EXIT_USAGE;
			repeat_set = true;
			break;
		case 'w':
			if (parse_uint_opt("--warmup", optarg, 0, 100, &sel.warmup) < 0)
				return EXIT_USAGE;
			break;
		case 'o':
			sel.out = optarg;
			break;
		case 'N':
			sel.no_archive = true;
			break;
		case 'd':
			if (strncmp(optarg, "postgresql://", 13) && strncmp(optarg, "postgres://", 11)) {
				fprintf(stderr, "xenith bench: --db takes a PostgreSQL URL (postgresql://USER@HOST"
					"/DB or postgres://...), not '%s'; the SQLite index DIR/index.sqlite is "
					"always written\n", optarg);
				return EXIT_USAGE;
			}
			sel.db = optarg;
			break;
		case 'F':
			sel.no_seccomp = true;
			break;
		case 'B':
			if (parse_backings(optarg, &sel.backings) < 0)
				return EXIT_USAGE;
			break;
		case 'L':
			sel.baseline = optarg;
			break;
		case 'G':
			if (parse_uint_opt("--budget", optarg, 2, 1000, &sel.budget) < 0)
				return EXIT_USAGE;
			break;
		case 'K':
			if (!calibrating) {
				fprintf(stderr, "xenith bench: --runs is for `xenith bench calibrate`\n");
				return EXIT_USAGE;
			}
			if (parse_uint_opt("--runs", optarg, 1, 100, &calib_runs) < 0)
				return EXIT_USAGE;
			break;
		case 'D': {
			unsigned m;

			if (parse_uint_opt("--density-max", optarg, 1, 1000000, &m) < 0)
				return EXIT_USAGE;
			sel.density_max = m;
			break;
		}
		case 'S': {
			unsigned m;

			/* 100: create-destroy samples every 10 cycles, and a trend needs a few after the warm-up */
			if (parse_uint_opt("--soak-cycles", optarg, 100, 10000000, &m) < 0)
				return EXIT_USAGE;
			sel.soak_cycles = m;
			break;
		}
		case 'h':
			if (calibrating)
				bench_calibrate_help(stdout);
			else
				bench_help(stdout);
			return 0;
		default:
			fprintf(stderr, "xenith bench: see `xenith bench --help`\n");
			return EXIT_USAGE;
		}
	}
	for (int i = optind; i < argc; i++) {
		const char *slash = strchr(argv[i], '/');
		size_t len = slash ? (size_t)(slash - argv[i]) : strlen(argv[i]);
		int k;

		for (k = 0; suites[k] && (strlen(suites[k]) != len || strncmp(suites[k], argv[i], len)); k++)
			;
		if (slash && suites[k]) {
			if (!case_exists(argv[i])) {
				fprintf(stderr, "xenith bench: unknown case '%s'; `xenith bench list` shows every "
					"case\n", argv[i]);
				return EXIT_USAGE;
			}
			if (sel.nr_named == MAX_NAMED_CASES) {
				fprintf(stderr, "xenith bench: at most %d SUITE/CASE arguments\n", MAX_NAMED_CASES);
				return EXIT_USAGE;
			}
			sel.named[sel.nr_named++] = argv[i];
		}
		if (!suites[k]) {
			fprintf(stderr, "xenith bench: unknown suite '%s'; suites: compute, memory, exit, density, "
				"blk, net, prof, soak, pci, migrate (`xenith bench list` shows every case)\n", argv[i]);
			return EXIT_USAGE;
		}
		sel.suite[k] = any_suite = true;
	}
	if (calibrating) {
		for (int k = 0; suites[k]; k++) {
			bool measurable = !strcmp(suites[k], "compute") || !strcmp(suites[k], "memory") ||
					  !strcmp(suites[k], "exit");

			if (sel.suite[k] && !measurable) {
				fprintf(stderr, "xenith bench calibrate: suite %s is not calibrated (compute, memory "
					"and exit are)\n", suites[k]);
				return EXIT_USAGE;
			}
			sel.suite[k] = any_suite ? sel.suite[k] : measurable;
		}
		any_suite = true;
		sel.quick = true; /* the quick suite's cases and sizes: what its repetitions are chosen for */
		if (!repeat_set) /* with --runs the runs bring the samples: a quick run's repetitions each */
			sel.repeat = calib_runs > 1 ? 10 : CALIB_DEFAULT_REPEAT;
		repeat_set = true;
	}
	if (getenv(SLOWDOWN_ENV) && load_slowdown(&sel.slow) < 0)
		return EXIT_USAGE;
	if (sel.budget && !sel.baseline) {
		fprintf(stderr, "xenith bench: --budget needs --baseline FILE\n");
		return EXIT_USAGE;
	}
	if (sel.baseline) { /* read now, so that a bad file stops us before the run, not after */
		struct bench_run check;

		if (bench_run_read(&check, sel.baseline, &eb) < 0) {
			fprintf(stderr, "xenith bench: --baseline: %s\n", eb.msg);
			return EXIT_USAGE;
		}
		bench_run_free(&check);
		if (!sel.budget)
			sel.budget = ADAPT_BUDGET;
	}
	if (!any_suite)
		for (int k = 0; suites[k]; k++)
			/*
			 * A soak runs only when named, pci too (it needs an NVMe VF on
			 * vfio-pci).  prof runs: 7 s, 3-4 s in --quick (crc32 only), and
			 * CI then follows the profiler's cost run after run; migrate too,
			 * as density and net do although they take longer: 50 s, 12-18 s in
			 * --quick, and CI follows downtime and restore time.
			 */
			sel.suite[k] = strcmp(suites[k], "soak") && strcmp(suites[k], "pci");
	/*
	 * 10 in --quick too (it was 5).  compare's exact test at alpha 0.01:
	 * 5 vs 5 can give no p below 2/252 = 0.0079, i.e. only when every new
	 * sample lies beyond every old one, and finds a shift in 80% of trials
	 * only at 3.07 standard deviations: a 5% change only in cases with noise
	 * (cv) under 1.6%.  10 vs 10: 1.76 sd, so cv up to 2.8%; most compute and
	 * exit cases on a quiet host.  The noisier ones (compare marks them '!')
	 * get more repetitions from --baseline (bench/stats.h, README).
	 */
	if (!repeat_set)
		sel.repeat = 10;
	if (!sel.density_max)
		sel.density_max = sel.quick ? 100 : 10000;
	if (sel.db && sel.no_archive) {
		fprintf(stderr, "xenith bench: --db uploads the archived run: it cannot go with --no-archive\n");
		return EXIT_USAGE;
	}
	if (!sel.no_archive && archive_prepare(sel.out, &eb) < 0) {
		fprintf(stderr, "xenith bench: %s\n", eb.msg);
		return EXIT_USAGE;
	}
	progress_tty = isatty(STDERR_FILENO);
	struct confine_opts co = { .mode = CONFINE_THREADS_ONLY, .seccomp = !sel.no_seccomp, .bench = true };

	if (confine_prepare(&co, &eb) < 0) {
		fprintf(stderr, "xenith bench: %s\n", eb.msg);
		return EXIT_START;
	}
	if (kvm_sys_open(&kvm, &eb) < 0 || vcpu_global_init(&eb) < 0) {
		fprintf(stderr, "xenith bench: %s\n", eb.msg);
		return EXIT_START;
	}
	ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu >= 2) {
		measure_cpu = 1;
		helper_cpu = 0;
	}
	bench_run_init(&run);
	run.quick = sel.quick;
	run.repeat = sel.repeat;
	run.warmup = sel.warmup;
	bench_env_collect(&run.env, kvm_host_tsc_khz(&kvm), kvm_vendor_module(), XENITH_REVISION,
			  XENITH_BUILD_TYPE);
	if (sel.no_seccomp)
		snprintf(run.note, sizeof(run.note), "seccomp: off (--no-seccomp). ");
	if (sel.slow.n) {
		size_t used = strlen(run.note);

		snprintf(run.note + used, sizeof(run.note) - used, "slowed on purpose for validation: %s=%s. ",
			 SLOWDOWN_ENV, getenv(SLOWDOWN_ENV));
		fprintf(stderr, "xenith bench: %s=%s: these cases are slowed on purpose (validation only)\n",
			SLOWDOWN_ENV, getenv(SLOWDOWN_ENV));
	}
	/* the host too: a fleet's hosts run one revision at the same second (a CI matrix) */
	snprintf(run.id, sizeof(run.id), "%.31s-%.40s-%.38s", run.env.date, run.env.revision,
		 run.env.hostname);
	{
		char host[512];

		bench_env_describe(&run.env, host, sizeof(host));
		fprintf(stderr, "xenith bench: %s%s, %u repetitions after %u warm-up; CPU %s; KVM %s\n"
			"xenith bench: host %s; xenith %s (%s)\n",
			sel.quick ? "quick run" : "full run", sel.no_seccomp ? " without seccomp filters" : "",
			sel.repeat, sel.warmup, run.env.cpu_model, run.env.kvm_module, host, run.env.revision,
			run.env.build_type);
	}
	/* load, steal and frequency, sampled every second while the suites run, off the measuring CPU */
	sampler = noise_start("", 1000, helper_cpu);
	t0 = now_ns();
	r = run_native(&run, &sel, run.env.tsc_khz, measure_cpu, helper_cpu);
	if (r == 0) {
		struct domain_config defaults;

		config_init(&defaults);
		r = run_guest(&run, &sel, &kvm, measure_cpu, helper_cpu, GUEST_BUT_MEMORY,
			      defaults.memory_backing, sel.repeat, sel.warmup);
	}
	if (r == 0)
		r = run_memory_backings(&run, &sel, &kvm, measure_cpu, helper_cpu);
	if (r == 0 && suite_selected(&sel, "prof")) {
		char minios[PATH_MAX];
		struct prof_bench_opts po = {
			.quick = sel.quick, .repeat = sel.repeat, .warmup = sel.warmup, .only = prof_only,
			.opaque = &sel, .kvm = &kvm, .minios = minios, .measure_cpu = measure_cpu,
			.helper_cpu = helper_cpu,
		};

		if (find_bundled_minios(minios, sizeof(minios)) < 0) {
			fprintf(stderr, "xenith bench: the bundled minios is not built (%s)\n", minios);
			r = -ENOENT;
		} else {
			r = run_prof(&run, &po, progress);
		}
	}
	if (r == 0 && suite_selected(&sel, "density")) {
		char minios[PATH_MAX];

		find_bundled_minios(minios, sizeof(minios)); /* run_guest() has checked it is there */
		r = run_density(&run, &kvm, sel.density_max, sel.quick, minios);
	}
	if (r == 0 && suite_selected(&sel, "blk")) {
		struct blk_bench_opts bo = {
			.quick = sel.quick, .warmup = sel.warmup,
			/* each repetition is a guest boot and a fio run per mode: at most 3 in --quick */
			.repeat = sel.quick && sel.repeat > 3 ? 3 : sel.repeat,
			.only = blk_only, .opaque = &sel, .no_seccomp = sel.no_seccomp,
		};

		r = run_blk(&run, &bo, progress);
	}
	if (r == 0 && suite_selected(&sel, "pci")) {
		struct pci_bench_opts po = {
			.quick = sel.quick, .warmup = sel.warmup,
			.repeat = sel.quick && sel.repeat > 3 ? 3 : sel.repeat,
			.only = pci_only, .opaque = &sel, .no_seccomp = sel.no_seccomp,
		};

		r = run_pci(&run, &po, progress);
	}
	if (r == 0 && suite_selected(&sel, "net")) {
		struct net_bench_opts no = {
			.quick = sel.quick,
			/* each repetition boots a guest and runs native per case: 3 in --quick (no warm-up), 5 at most */
			.warmup = sel.quick ? 0 : sel.warmup,
			.repeat = sel.repeat > (sel.quick ? 3u : 5u) ? (sel.quick ? 3u : 5u) : sel.repeat,
			.only = net_only, .opaque = &sel, .no_seccomp = sel.no_seccomp,
		};

		r = run_net(&run, &no, progress);
	}
	if (r == 0 && suite_selected(&sel, "migrate")) {
		char minios[PATH_MAX];
		struct mig_bench_opts mo = {
			.quick = sel.quick, .warmup = sel.warmup, .only = migrate_only, .opaque = &sel,
			.minios = minios, .no_seccomp = sel.no_seccomp,
			/* each repetition boots a domain and moves it: a median and a spread, not 10 */
			.repeat = repeat_set ? sel.repeat : sel.quick ? 3 : 5,
		};

		if (find_bundled_minios(minios, sizeof(minios)) < 0) {
			fprintf(stderr, "xenith bench: the bundled minios is not built (%s)\n", minios);
			r = -ENOENT;
		} else {
			r = run_migrate(&run, &mo, progress);
		}
	}
	if (r == 0 && suite_selected(&sel, "soak")) {
		struct soak_opts so = { .quick = sel.quick, .cycles = sel.soak_cycles, .only = soak_only,
					.opaque = &sel, .progress = progress };

		soak_failed = run_soak(&run, &so);
		r = soak_failed < 0 ? -1 : 0;
	}
	if (r == 0 && sel.baseline)
		r = run_adaptive(&run, &sel, &kvm, measure_cpu, helper_cpu);
	if (r == 0 && calib_runs > 1) {
		more = calloc(calib_runs - 1, sizeof(*more));
		if (!more) {
			fprintf(stderr, "xenith bench calibrate: out of memory\n");
			r = -1;
		}
		for (unsigned k = 0; r == 0 && k < calib_runs - 1; k++) {
			progress("calibrate: run %u of %u", k + 2, calib_runs);
			r = calibrate_child_run(argc, argv, optind, &sel, k + 2, &more[k]);
		}
	}
	progress("%s", "");
	run.duration_s = (double)(now_ns() - t0) / 1e9;
	noise_stop(sampler, &run.noise);
	kvm_sys_close(&kvm);
	if (r < 0) {
		for (unsigned k = 0; more && k < calib_runs - 1; k++)
			bench_run_free(&more[k]);
		free(more);
		bench_run_free(&run);
		return EXIT_START;
	}
	bench_run_finish(&run);
	if (suite_selected(&sel, "compute") || suite_selected(&sel, "memory") || suite_selected(&sel, "exit"))
		bench_print_table(&run);
	bench_print_prof(&run);
	bench_print_density(&run);
	bench_print_blk(&run);
	bench_print_pci(&run);
	bench_print_net(&run);
	report_migrate(stdout, &run, false);
	bench_print_noise(&run);
	if (calibrating) {
		struct bench_run *all = calloc(calib_runs, sizeof(*all));

		r = -1;
		if (all) {
			all[0] = run;
			for (unsigned k = 1; k < calib_runs; k++)
				all[k] = more[k - 1];
			r = bench_calibrate_store(all, calib_runs, !sel.no_archive, &eb);
			if (r < 0)
				fprintf(stderr, "xenith bench calibrate: %s\n", eb.msg);
		} else {
			fprintf(stderr, "xenith bench calibrate: out of memory\n");
		}
		free(all);
		for (unsigned k = 0; more && k < calib_runs - 1; k++)
			bench_run_free(&more[k]);
		free(more);
		bench_run_free(&run);
		return r < 0 ? 1 : 0;
	}
	if (!sel.no_archive)
		bench_check_calibration(&run);
	if (sel.baseline)
		print_adaptive(&run, &sel);
	if (!sel.no_archive) {
		char path[PATH_MAX];

		archive_unique_id(run.id, sizeof(run.id));
		if (archive_store(&run, path, sizeof(path), &eb) < 0) {
			fprintf(stderr, "xenith bench: %s\n", eb.msg);
			bench_run_free(&run);
			return 1;
		}
		printf("\nresults: %s (%.0f s)\n", path, run.duration_s);
		if (bench_write_reports(&run, path, &eb) < 0) {
			fprintf(stderr, "xenith bench: %s\n", eb.msg);
			bench_run_free(&run);
			return 1;
		}
		if (sel.db && bench_upload(sel.db, path, &eb) < 0) {
			/* the URL may hold a password: not repeated here */
			fprintf(stderr, "xenith bench: %s; the run is kept in %s and %s/index.sqlite: "
				"`xenith fleet store --db URL %s` uploads it later\n", eb.msg, path,
				archive_dir(), path);
			bench_run_free(&run);
			return 1;
		}
	}
	bench_run_free(&run);
	return soak_failed > 0 ? 1 : 0; /* a soak figure that is not flat */
}
