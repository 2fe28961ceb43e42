// SPDX-License-Identifier: MIT
/* xenith bench: the tables it prints, the report and exports it writes. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bench/archive.h"
#include "../bench/report.h"
#include "../bench/result.h"
#include "bench_cli.h"
#include "xenith.h"

static const char *relative_note(const struct bench_series *s)
{
	return s->higher_is_better ? "higher is better" : "lower is better";
}

/*
 * ", pairs 0.959 [0.925, 1.002]": the ratio series of guest series g (its
 * interleaved pairs' median and 95% interval); "" without one.  As a cost
 * multiple for exit costs (guest cost / analogue: the series holds
 * analogue / guest, 1.0 = native speed, like every ratio series).
 */
static const char *pairs_note(const struct bench_run *run, const struct bench_series *g, char *buf, size_t size)
{
	char mode[sizeof(g->mode)];
	const struct bench_series *r;

	snprintf(mode, sizeof(mode), "ratio%s", g->mode + strlen("guest"));
	r = bench_run_find(run, g->suite, g->name, mode);
	buf[0] = 0;
	if (!r || r->n == 0)
		return buf;
	if (!strcmp(g->suite, "exit"))
		snprintf(buf, size, ", pairs %.1fx [%.1f, %.1f]", 1 / r->sum.median, 1 / r->ratio_hi,
			 1 / r->ratio_lo);
	else
		snprintf(buf, size, ", pairs %.3f [%.3f, %.3f]", r->sum.median, r->ratio_lo, r->ratio_hi);
	return buf;
}

/* The memory suite in guests with the other backings (modes guest-BACKING), against the same native. */
static void print_backings(const struct bench_run *run)
{
	bool header = false;
	char note[96];

	for (size_t i = 0; i < run->nr_series; i++) {
		const struct bench_series *g = &run->series[i], *nat;

		if (strncmp(g->mode, "guest-", 6) || strcmp(g->suite, "memory"))
			continue;
		if (!header) {
			printf("\n%-8s %-16s %-9s %12s %12s %8s   %s\n", "backing", "case", "unit", "native",
			       "guest", "speed", "(the memory suite with another guest memory backing)");
			header = true;
		}
		nat = bench_run_find(run, g->suite, g->name, "native");
		printf("%-8s %-16s %-9s %12.2f %12.2f %8.3f   cv %.1f%%/%.1f%%, %s%s\n", g->mode + 6, g->name,
		       g->unit, nat ? nat->sum.median : NAN, g->sum.median, bench_relative_speed(g, nat),
		       nat ? 100 * nat->sum.cv : NAN, 100 * g->sum.cv, relative_note(g),
		       pairs_note(run, g, note, sizeof(note)));
	}
}

void bench_print_table(const struct bench_run *run)
{
	char note[96];

	printf("\n%-8s %-16s %-9s %12s %12s %8s   %s\n", "suite", "case", "unit", "native", "guest",
	       "speed", "(guest speed / native; 1.00 = native; pairs: median of interleaved pairs, 95% CI)");
	for (size_t i = 0; i < run->nr_series; i++) {
		const struct bench_series *g = &run->series[i], *nat;

		if (strcmp(g->mode, "guest") || !strcmp(g->suite, "exit") || !strcmp(g->suite, "blk") ||
		    !strcmp(g->suite, "pci") || !strcmp(g->suite, "prof"))
			continue; /* exit, blk, pci and prof have tables of their own */
		nat = bench_run_find(run, g->suite, g->name, "native");
		printf("%-8s %-16s %-9s %12.2f %12.2f %8.3f   cv %.1f%%/%.1f%%, %s%s\n", g->suite, g->name,
		       g->unit, nat ? nat->sum.median : NAN, g->sum.median, bench_relative_speed(g, nat),
		       nat ? 100 * nat->sum.cv : NAN, 100 * g->sum.cv, relative_note(g),
		       pairs_note(run, g, note, sizeof(note)));
	}
	print_backings(run);
	{
		bool any = false;

		for (size_t i = 0; i < run->nr_series; i++)
			any |= !strcmp(run->series[i].suite, "exit") && !strcmp(run->series[i].mode, "guest");
		if (!any)
			return;
	}

	printf("\n%-8s %-16s %12s   %-18s %12s %10s\n", "exit", "guest case", "cost (ns)",
	       "native analogue", "cost (ns)", "ratio");
	for (size_t i = 0; i < run->nr_series; i++) {
		const struct bench_series *g = &run->series[i], *nat;

		if (strcmp(g->mode, "guest") || strcmp(g->suite, "exit"))
			continue;
		nat = bench_run_find(run, "exit", g->analogue, "native");
		printf("%-8s %-16s %12.1f   %-18s %12.1f %9.1fx%s\n", "", g->name, g->sum.median,
		       g->analogue, nat ? nat->sum.median : NAN,
		       nat && nat->sum.median > 0 ? g->sum.median / nat->sum.median : NAN,
		       pairs_note(run, g, note, sizeof(note)));
	}
	{
		const struct bench_series *call = bench_run_find(run, "exit", "call", "native");

		if (call)
			printf("%-8s %-16s %12s   %-18s %12.2f\n", "", "(floor)", "", "call", call->sum.median);
	}
}

void bench_print_density(const struct bench_run *run)
{
	bool header = false;

	for (size_t i = 0; i < run->nr_series; i++) {
		const struct bench_series *s = &run->series[i];
		const struct bench_series *mem, *rss, *cpu, *bmem;
		char base[48], nm[64];
		unsigned long n;

		if (strcmp(s->suite, "density") || strcmp(s->mode, "xenith") ||
		    sscanf(s->name, "n%lu", &n) != 1)
			continue;
		snprintf(nm, sizeof(nm), "n%lu-boot", n);
		if (strcmp(s->name, nm))
			continue;
		if (!header) {
			printf("\n%-8s %8s %9s %9s %12s %12s %12s %10s %8s\n", "density", "domains",
			       "boot p50", "boot p95", "MemAvail/dom", "RSS/dom", "bare KVM/dom",
			       "vs bare", "idle cpu");
			printf("%-8s %8s %9s %9s %12s %12s %12s %10s %8s\n", "", "", "(us)", "(us)", "(KiB)",
			       "(KiB)", "(KiB)", "", "(us/s)");
			header = true;
		}
		snprintf(base, sizeof(base), "n%lu", n);
		snprintf(nm, sizeof(nm), "%s-mem-available", base);
		mem = bench_run_find(run, "density", nm, "xenith");
		bmem = bench_run_find(run, "density", nm, "bare");
		snprintf(nm, sizeof(nm), "%s-rss", base);
		rss = bench_run_find(run, "density", nm, "xenith");
		snprintf(nm, sizeof(nm), "%s-idle-cpu", base);
		cpu = bench_run_find(run, "density", nm, "xenith");
		/* MemAvailable moves by more than a few domains' worth on its own: below 100 it is noise */
		if (n >= 100 && mem && bmem && bmem->sum.median > 0)
			printf("%-8s %8zu %9.0f %9.0f %12.0f %12.0f %12.0f %9.2fx %8.2f\n", "", s->n,
			       s->sum.median, s->sum.p95, mem->sum.median, rss ? rss->sum.median : NAN,
			       bmem->sum.median, mem->sum.median / bmem->sum.median, cpu ? cpu->sum.median : NAN);
		else
			printf("%-8s %8zu %9.0f %9.0f %12s %12.0f %12s %10s %8.2f\n", "", s->n, s->sum.median,
			       s->sum.p95, "-", rss ? rss->sum.median : NAN, "-", "-", cpu ? cpu->sum.median : NAN);
	}
	{
		const struct bench_series *g = bench_run_find(run, "density", "busy-rounds", "guest");
		const struct bench_series *nt = bench_run_find(run, "density", "busy-rounds", "native");
		const struct bench_series *gf = bench_run_find(run, "density", "busy-fairness", "guest");
		const struct bench_series *nf = bench_run_find(run, "density", "busy-fairness", "native");

		if (g && nt && gf && nf)
			printf("%-8s %zu busy domains vs %zu native threads: aggregate throughput %.3f of "
			       "native, fairness (Jain) %.3f guest, %.3f native\n", "", g->n, nt->n,
			       g->sum.mean / nt->sum.mean, gf->sum.median, nf->sum.median);
	}
	if (run->note[0])
		printf("%-8s %s\n", "", run->note);
}

void bench_print_noise(const struct bench_run *run)
{
	char line[512], w[32][NOISE_WARNING_LEN];
	size_t n = noise_warnings(run, w, 32);

	noise_summary(&run->noise, line, sizeof(line));
	printf("\nnoise: %s\n", line);
	fflush(stdout); /* the warnings (stderr) after the tables, also through pipes */
	for (size_t i = 0; i < n && i < 32; i++)
		fprintf(stderr, "xenith bench: warning: %s\n", w[i]);
	if (n > 32)
		fprintf(stderr, "xenith bench: warning: ... and %zu more\n", n - 32);
}

/* report.html and the dashboard exports, next to the documents, for the run at doc_path. */
int bench_write_reports(const struct bench_run *run, const char *doc_path, struct errbuf *eb)
{
	struct bench_run *hist = NULL;
	size_t nh = 0;
	char path[PATH_MAX + 64];
	int r;

	r = archive_load_history(doc_path, 30, &hist, &nh, eb);
	if (r == 0) {
		snprintf(path, sizeof(path), "%s/report.html", archive_dir());
		r = report_write_html(run, hist, nh, path, eb);
		if (r == 0)
			printf("report:  %s (%zu earlier runs in its history)\n", path, nh);
	}
	for (size_t i = 0; i < nh; i++)
		bench_run_free(&hist[i]);
	free(hist);
	if (r == 0) {
		snprintf(path, sizeof(path), "%s/latest-github-smaller.json", archive_dir());
		r = report_write_github(run, path, false, eb);
	}
	if (r == 0) {
		snprintf(path, sizeof(path), "%s/latest-github-bigger.json", archive_dir());
		r = report_write_github(run, path, true, eb);
	}
	if (r == 0) {
		snprintf(path, sizeof(path), "%s/latest.openmetrics", archive_dir());
		r = report_write_openmetrics(run, path, eb);
	}
	if (r == 0)
		printf("exports: %s/latest-github-{smaller,bigger}.json, %s/latest.openmetrics\n",
		       archive_dir(), archive_dir());
	return r;
}

/* xenith bench report [DOC] [--out DIR]: rewrites the report (and exports) for DOC or the newest run. */
int cmd_bench_report(int argc, char **argv)
{
	struct bench_run run;
	struct errbuf eb;
	char path[PATH_MAX];
	const char *out = NULL, *doc = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--out") && i + 1 < argc) {
			out = argv[++i];
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: xenith bench report [DOC] [--out DIR]\n\n"
			       "Writes DIR/report.html (one self-contained file with SVG charts: guest/native\n"
			       "ratios, exit-cost ladder, density curves, history) and the exports\n"
			       "latest-github-{smaller,bigger}.json (github-action-benchmark) and\n"
			       "latest.openmetrics, for DOC or the newest run in the archive DIR.\n");
			return 0;
		} else if (argv[i][0] == '-' || doc) {
			fprintf(stderr, "xenith bench report: unexpected '%s'; see --help\n", argv[i]);
			return EXIT_USAGE;
		} else {
			doc = argv[i];
		}
	}
	if (archive_prepare(out, &eb) < 0) {
		fprintf(stderr, "xenith bench report: %s\n", eb.msg);
		return EXIT_USAGE;
	}
	if (!doc) {
		if (archive_latest(path, sizeof(path), &eb) < 0) {
			fprintf(stderr, "xenith bench report: %s\n", eb.msg);
			return 2;
		}
		doc = path;
	}
	if (bench_run_read(&run, doc, &eb) < 0) {
		fprintf(stderr, "xenith bench report: %s\n", eb.msg);
		return 2;
	}
	if (bench_write_reports(&run, doc, &eb) < 0) {
		fprintf(stderr, "xenith bench report: %s\n", eb.msg);
		bench_run_free(&run);
		return 1;
	}
	bench_run_free(&run);
	return 0;
}

