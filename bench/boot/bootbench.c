// SPDX-License-Identifier: MIT
/*
 * xenith-bootbench: how fast `xenith run` gets a domain going and what an
 * idle domain costs the host.  Until the benchmark harness (`xenith
 * bench`) exists this is the record for boot latency and VMM memory.
 *
 *   start -> first KVM_RUN   the guest's first instruction is about to run
 *   start -> first exit      the guest's first hypercall reached the VMM
 *   start -> first line      the guest's first console line was printed
 *
 * "start" is taken right before posix_spawn of xenith, and passed to it in
 * XENITH_T0_NS, so exec and dynamic linking are counted.  Memory is the
 * VMM process's VmRSS (and its parts) once an idle 2 MiB guest waits.
 */
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "harness.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double pct(double *v, int n, double p)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	double idx = p * (n - 1);
	int lo = (int)floor(idx), hi = (int)ceil(idx);

	return v[lo] + (v[hi] - v[lo]) * (idx - lo);
}

static void report(const char *what, const char *unit, double *v, int n)
{
	printf("  %-34s median %9.1f %-3s  p5 %9.1f  p95 %9.1f  (n=%d)\n", what, pct(v, n, 0.5), unit,
	       pct(v, n, 0.05), pct(v, n, 0.95), n);
}

static long status_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, strlen(field)) && line[strlen(field)] == ':')
			v = strtol(line + strlen(field) + 1, NULL, 10);
	fclose(f);
	return v;
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 20;
	double first_run[100], first_exit[100], first_line[100], wall[100];
	double rss[100], anon[100], file[100], shmem[100];
	static struct proc p, q;
	int n = 0, m = 0;

	if (runs < 1 || runs > 100) {
		fprintf(stderr, "usage: xenith-bootbench [RUNS 1..100]\n");
		return 64;
	}
	harness_require_kvm();
	harness_run_dir();
	/* warm-up: page cache, KVM module state */
	proc_start(&p, (const char *const[]){ "run", "--quiet", "--name", "bb-warm", NULL });
	proc_wait(&p, 30);
	for (int i = 0; i < runs; i++) {
		char t0s[32];
		uint64_t t0 = now_ns();
		const char *bt;

		snprintf(t0s, sizeof(t0s), "%llu", (unsigned long long)t0);
		setenv("XENITH_T0_NS", t0s, 1);
		proc_start(&p, (const char *const[]){ "run", "--quiet", "--boot-trace", "--name", "bb", NULL });
		proc_wait(&p, 30);
		wall[n] = (double)(now_ns() - t0) / 1000.0;
		bt = strstr(p.err, "boot-trace:");
		if (p.status != 0 || !bt ||
		    sscanf(bt, "boot-trace: created_us=%*f first_run_us=%lf first_exit_us=%lf first_line_us=%lf",
			   &first_run[n], &first_exit[n], &first_line[n]) != 3) {
			fprintf(stderr, "run %d failed (status %d): %s\n", i, p.status, p.err);
			return 1;
		}
		n++;
	}
	unsetenv("XENITH_T0_NS");
	for (int i = 0; i < runs; i++) {
		proc_start(&p, (const char *const[]){ "run", "--name", "bb-idle", "--memory", "2",
						      "--cmdline", "idle", NULL });
		if (!proc_wait_output(&p, "idle: waiting", 30)) {
			fprintf(stderr, "idle domain did not come up: %s\n", p.err);
			kill(p.pid, SIGKILL);
			return 1;
		}
		proc_pump(&p, 0.05);
		rss[m] = (double)status_kib(p.pid, "VmRSS");
		anon[m] = (double)status_kib(p.pid, "RssAnon");
		file[m] = (double)status_kib(p.pid, "RssFile");
		shmem[m] = (double)status_kib(p.pid, "RssShmem");
		m++;
		run_xenith(&q, 30, (const char *const[]){ "destroy", "bb-idle", NULL });
		proc_wait(&p, 30);
	}
	printf("xenith-bootbench: %d boots of the bundled guest (hello), %d idle 2 MiB domains\n", n, m);
	report("start -> first KVM_RUN (1st insn)", "us", first_run, n);
	report("start -> first exit", "us", first_exit, n);
	report("start -> first console line", "us", first_line, n);
	report("start -> VMM exit (whole run)", "us", wall, n);
	report("VMM VmRSS, idle 2 MiB domain", "KiB", rss, m);
	report("  of which RssAnon", "KiB", anon, m);
	report("  of which RssFile", "KiB", file, m);
	report("  of which RssShmem (guest memory)", "KiB", shmem, m);
	return 0;
}
