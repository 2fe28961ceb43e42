// SPDX-License-Identifier: MIT
/*
 * xenith bench history [SUITE|SUITE/CASE...] [--out DIR] [--json] [--alpha P]:
 * each series' per-run medians over the archive, oldest first, and the
 * change points in them (bench/history.h), naming the revision where the
 * series shifted and the one before it.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bench/archive.h"
#include "../bench/history.h"
#include "../bench/jsonval.h"
#include "bench_cli.h"
#include "xenith.h"

/* The newest this many runs: the history's window (each run's document is read whole). */
#define HISTORY_MAX_RUNS 1000

static void history_help(FILE *f)
{
	fprintf(f,
"usage: xenith bench history [SUITE|SUITE/CASE...] [--out DIR] [--json] [--alpha P]\n\n"
"Prints each series (suite, case and mode: native, guest, ratio, ...) of the\n"
"results archive as its median in every run, oldest first, with the run's\n"
"date and revision, and the change points found in it: E-divisive means (an\n"
"energy statistic, its significance by a permutation test with a fixed seed,\n"
"recursive bisection, at least 3 runs on either side; bench/changepoint.h).\n"
"Each change names the revision of the first run at the new level and of\n"
"the run before it, the shift (median after / median before - 1) and its p.\n\n"
"options:\n"
"  --out DIR   the results archive (default as for `xenith bench`)\n"
"  --json      one JSON document on stdout instead of the tables\n"
"  --alpha P   significance of each change (default 0.01)\n"
"  -h, --help  this text\n\n"
"Exits 0 (changes found or not), 2 when the archive has no run or nothing\n"
"matches a SUITE/CASE, 64 on a bad command line.\n");
}

static const char *direction(const struct history_series *s, double shift)
{
	if (!isfinite(shift) || shift == 0)
		return "";
	return (shift > 0) == s->higher_is_better ? "better" : "worse";
}

static void print_series(const struct history_series *s)
{
	size_t c = 0;

	printf("\n%s/%s %s (%s, %s is better): %zu runs, %zu change%s\n", s->suite, s->name, s->mode, s->unit,
	       s->higher_is_better ? "higher" : "lower", s->nr_points, s->nr_changes,
	       s->nr_changes == 1 ? "" : "s");
	printf("  %-22s %-24s %14s\n", "date", "revision", "median");
	for (size_t i = 0; i < s->nr_points; i++) {
		const struct history_point *p = &s->points[i];

		printf("  %-22s %-24s %14.6g", p->run->env.date, p->run->env.revision, p->median);
		if (c < s->nr_changes && s->changes[c].index == i) {
			printf("   <- change %+.1f%%", 100 * s->changes[c].shift);
			c++;
		}
		putchar('\n');
	}
	for (size_t k = 0; k < s->nr_changes; k++) {
		const struct change_point *cp = &s->changes[k];
		const struct bench_run *at = s->points[cp->index].run, *before = s->points[cp->index - 1].run;

		printf("  change at revision %s (%s; the run before: %s, %s): %+.1f%% (%s), median %.6g -> %.6g %s, "
		       "p %.3g\n", at->env.revision, at->env.date, before->env.revision, before->env.date,
		       100 * cp->shift, direction(s, cp->shift), cp->before, cp->after, s->unit, cp->p);
	}
}

static json_t *series_json(const struct history_series *s)
{
	json_t *o = json_object(), *runs = json_array(), *changes = json_array();
	bool ok = o && runs && changes;

	ok = ok && !json_object_set_new(o, "suite", jval_str(s->suite)) &&
	     !json_object_set_new(o, "case", jval_str(s->name)) && !json_object_set_new(o, "mode", jval_str(s->mode)) &&
	     !json_object_set_new(o, "unit", jval_str(s->unit)) &&
	     !json_object_set_new(o, "better", json_string(s->higher_is_better ? "higher" : "lower")) &&
	     !json_object_set(o, "runs", runs) && !json_object_set(o, "change_points", changes);
	for (size_t i = 0; ok && i < s->nr_points; i++) {
		const struct history_point *p = &s->points[i];

		ok = !json_array_append_new(runs, json_pack("{s:o, s:o, s:o, s:o, s:I}", "id", jval_str(p->run->id),
							    "date", jval_str(p->run->env.date), "revision",
							    jval_str(p->run->env.revision), "median",
							    jval_num(p->median), "n", (json_int_t)p->n));
	}
	for (size_t k = 0; ok && k < s->nr_changes; k++) {
		const struct change_point *cp = &s->changes[k];
		const struct bench_run *at = s->points[cp->index].run, *before = s->points[cp->index - 1].run;

		ok = !json_array_append_new(changes, json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s}",
			"index", (json_int_t)cp->index, "revision", jval_str(at->env.revision),
			"date", jval_str(at->env.date), "revision_before", jval_str(before->env.revision),
			"date_before", jval_str(before->env.date), "median_before", jval_num(cp->before),
			"median_after", jval_num(cp->after), "shift", jval_num(cp->shift), "p", jval_num(cp->p),
			"direction", direction(s, cp->shift)));
	}
	json_decref(runs);
	json_decref(changes);
	if (ok)
		return o;
	json_decref(o);
	return NULL;
}

static int print_json(const struct history *h, const struct cp_opts *o)
{
	json_t *doc = json_pack("{s:s, s:f, s:i, s:i, s:[]}", "schema", "xenith-bench-history/1", "alpha", o->alpha,
				"permutations", (int)o->permutations, "min_segment", (int)o->min_segment, "series");
	json_t *list = doc ? json_object_get(doc, "series") : NULL;
	bool ok = list != NULL;

	for (size_t i = 0; ok && i < h->nr_series; i++)
		ok = !json_array_append_new(list, series_json(&h->series[i]));
	if (!ok || json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) < 0) {
		json_decref(doc);
		fprintf(stderr, "xenith bench history: out of memory\n");
		return 1;
	}
	putchar('\n');
	json_decref(doc);
	return 0;
}

int cmd_bench_history(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "alpha", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL;
	bool json = false;
	struct cp_opts o;
	struct errbuf eb;
	struct bench_run *runs = NULL;
	const struct bench_run **v = NULL;
	struct history h = { 0 };
	size_t n = 0, nr_changes = 0;
	int opt, r = 0;

	cp_opts_default(&o);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			out = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'a': {
			char *end;

			o.alpha = strtod(optarg, &end);
			if (*end || end == optarg || !(o.alpha > 0 && o.alpha < 0.5)) {
				fprintf(stderr, "xenith bench history: --alpha %s: expected a number in (0, 0.5)\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		}
		case 'h':
			history_help(stdout);
			return 0;
		default:
			fprintf(stderr, "xenith bench history: see `xenith bench history --help`\n");
			return EXIT_USAGE;
		}
	}
	for (int i = optind; i < argc; i++) {
		const char *slash = strchr(argv[i], '/');

		if (!argv[i][0] || argv[i][0] == '-' || slash == argv[i] || (slash && !slash[1]) ||
		    (slash && strchr(slash + 1, '/'))) {
			fprintf(stderr, "xenith bench history: '%s': expected SUITE or SUITE/CASE\n", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (archive_prepare(out, &eb) < 0) {
		fprintf(stderr, "xenith bench history: %s\n", eb.msg);
		return EXIT_USAGE;
	}
	if (archive_load_history(NULL, HISTORY_MAX_RUNS, &runs, &n, &eb) < 0) {
		fprintf(stderr, "xenith bench history: %s\n", eb.msg);
		return 2;
	}
	if (n == 0) {
		fprintf(stderr, "xenith bench history: no result documents in %s; run `xenith bench` first\n",
			archive_dir());
		r = 2;
		goto out;
	}
	v = calloc(n, sizeof(*v));
	if (!v) {
		r = 1;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		v[i] = &runs[i];
	if (history_build(v, n, (const char *const *)argv + optind, (size_t)(argc - optind), &o, &h) < 0) {
		fprintf(stderr, "xenith bench history: out of memory\n");
		r = 1;
		goto out;
	}
	for (int i = optind; i < argc; i++) {
		bool any = false;

		for (size_t k = 0; k < h.nr_series && !any; k++)
			any = history_selected(h.series[k].suite, h.series[k].name, (const char *const *)&argv[i], 1);
		if (!any) {
			fprintf(stderr, "xenith bench history: no series in the %zu runs of %s matches '%s'\n", n,
				archive_dir(), argv[i]);
			r = 2;
			goto out;
		}
	}
	if (json) {
		r = print_json(&h, &o);
		goto out;
	}
	for (size_t k = 0; k < h.nr_series; k++) {
		print_series(&h.series[k]);
		nr_changes += h.series[k].nr_changes;
	}
	printf("\n%zu series over %zu runs in %s: %zu change points (alpha %g, %u permutations, at least %u "
	       "runs a side)\n", h.nr_series, n, archive_dir(), nr_changes, o.alpha, o.permutations, o.min_segment);
out:
	history_free(&h);
	free(v);
	for (size_t i = 0; i < n; i++)
		bench_run_free(&runs[i]);
	free(runs);
	return r;
}
