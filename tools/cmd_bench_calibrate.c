// SPDX-License-Identifier: MIT
/*
 * xenith bench calibrate: the runner with many repetitions, whose series
 * become DIR/calibration.json (bench/calibrate.h) instead of a run
 * document; and the check every `xenith bench` run makes against it.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../bench/archive.h"
#include "../bench/calibrate.h"
#include "bench_cli.h"

void bench_calibrate_help(FILE *f)
{
	fprintf(f,
"usage: xenith bench calibrate [SUITE|SUITE/CASE...] [--runs K] [--repeat N] [--warmup N]\n"
"                              [--out DIR]\n\n"
"Runs the quick suite's cases of compute, memory and exit (default: all three)\n"
"N times each natively and in a guest (default %d; 10 with --runs), measures each\n"
"series' noise (cv, and the robust cv: 1.4826 MAD / median) and the repetitions\n"
"per side a %.0f%% change needs to be detected by the exact Mann-Whitney test at\n"
"alpha %g with power %.2f (a simulation: bench/calibrate.h), and writes them with\n"
"the host's CPU model, kernel and KVM module to DIR/calibration.json (DIR: the\n"
"results archive, as for `xenith bench`; no run document is archived).  Every\n"
"later `xenith bench` run into DIR says which series ran fewer repetitions than\n"
"that.  blk, density and soak are not calibrated.\n\n"
"  --runs K   K whole runs one after another (K >= 2; default 1): also measures\n"
"             each series' between-run noise, the spread of the runs' medians\n"
"             (run sd: the host's drift between runs, which repetitions within\n"
"             one run do not show), and the runs per side a %.0f%% change needs.\n"
"             `xenith bench compare` uses it (from DIR/calibration.json beside\n"
"             the new document, or --calibration FILE) so that drift is not\n"
"             called a change\n",
		CALIB_DEFAULT_REPEAT, 100 * CALIB_EFFECT, CALIB_ALPHA, CALIB_POWER, 100 * CALIB_EFFECT);
}

static void needed_text(unsigned needed, char *buf, size_t size)
{
	if (needed)
		snprintf(buf, size, "%u", needed);
	else
		snprintf(buf, size, "more than %d", CALIB_MAX_REPS);
}

int bench_calibrate_store(const struct bench_run *runs, size_t nr_runs, bool write, struct errbuf *eb)
{
	struct calibration c;
	char path[PATH_MAX + 32], need[32], between[48];
	int r;

	if (calib_from_runs(runs, nr_runs, &c) < 0)
		return errbuf_set(eb, ENOMEM, "out of memory");
	printf("\n%-8s %-16s %-14s %4s %12s %8s %10s %-18s %s\n", "suite", "case", "mode", "n", "median", "cv",
	       "robust cv", "repetitions needed", nr_runs >= 2 ? "run sd, runs needed" : "");
	for (size_t i = 0; i < c.nr_entries; i++) {
		const struct calib_entry *e = &c.entries[i];

		needed_text(e->needed, need, sizeof(need));
		between[0] = 0;
		if (e->runs >= 2 && e->runs_needed)
			snprintf(between, sizeof(between), "%5.1f%%, %u", 100 * e->run_sd, e->runs_needed);
		else if (e->runs >= 2)
			snprintf(between, sizeof(between), "%5.1f%%, more than %d", 100 * e->run_sd, CALIB_MAX_REPS);
		printf("%-8s %-16s %-14s %4zu %12.6g %7.1f%% %9.1f%% %-18s %s\n", e->suite, e->name, e->mode, e->n,
		       e->median, 100 * e->cv, 100 * e->robust_cv, need, between);
	}
	printf("(for a %.0f%% change, exact Mann-Whitney at alpha %g, power %.2f; by simulation)\n",
	       100 * c.effect, c.alpha, c.power);
	if (nr_runs >= 2)
		printf("(run sd: spread of the log medians of %zu runs; runs needed: 1 = one run a side is enough "
		       "at that spread, k = only k runs a side, a t test on their medians, can tell %.0f%%)\n",
		       nr_runs, 100 * c.effect);
	r = 0;
	if (write) {
		snprintf(path, sizeof(path), "%s/calibration.json", archive_dir());
		r = calib_write(&c, path, eb);
		if (r == 0)
			printf("calibration: %s\n", path);
	}
	calib_free(&c);
	return r;
}

void bench_check_calibration(const struct bench_run *run)
{
	struct calibration c;
	struct errbuf eb;
	char path[PATH_MAX + 32], differs[512], need[32];
	unsigned short_of = 0, checked = 0;
	int r;

	snprintf(path, sizeof(path), "%s/calibration.json", archive_dir());
	r = calib_read(&c, path, &eb);
	if (r == -ENOENT)
		return;
	if (r < 0) {
		fprintf(stderr, "xenith bench: calibration not used: %s\n", eb.msg);
		return;
	}
	calib_host_differs(&c, &run->env, differs, sizeof(differs));
	if (differs[0]) {
		printf("\ncalibration %s (%s) is from another host (%s): not used; run `xenith bench calibrate`\n",
		       path, c.date, differs);
		calib_free(&c);
		return;
	}
	for (size_t i = 0; i < run->nr_series; i++) {
		const struct bench_series *s = &run->series[i];
		const struct calib_entry *e = calib_find(&c, s->suite, s->name, s->mode);

		if (!e)
			continue;
		checked++;
		if (e->needed && s->sum.n >= e->needed)
			continue;
		if (!short_of++)
			printf("\ncalibration %s (%s): series with fewer repetitions than a %.0f%% change needs "
			       "at alpha %g:\n", path, c.date, 100 * c.effect, c.alpha);
		needed_text(e->needed, need, sizeof(need));
		printf("  %s/%s %s: %zu repetitions, %s needed (robust cv %.1f%%)\n", s->suite, s->name, s->mode,
		       s->sum.n, need, 100 * e->robust_cv);
	}
	if (checked && !short_of)
		printf("\ncalibration %s (%s): all %u calibrated series ran enough repetitions for a %.0f%% "
		       "change\n", path, c.date, checked, 100 * c.effect);
	calib_free(&c);
}
