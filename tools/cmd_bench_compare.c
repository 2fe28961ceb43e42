// SPDX-License-Identifier: MIT
/* xenith bench compare BASE NEW: per case ratio, confidence interval and a noise-aware verdict. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../bench/calibrate.h"
#include "../bench/result.h"
#include "../bench/stats.h"
#include "xenith.h"

#define EXIT_REGRESSION 1
#define EXIT_BAD_INPUT 2
#define EXIT_UNDECIDED 3
/* A case whose smallest detectable change is above this is marked '!'. */
#define DETECT_TARGET 0.05

static void compare_help(FILE *f)
{
	fprintf(f,
"usage: xenith bench compare BASE NEW [--alpha P] [--min-effect F] [--absolute]\n"
"                            [--calibration FILE|none]\n\n"
"Compares two result documents case by case (same suite, case and mode).\n"
"BASE or NEW may also be a directory: every run document in it (named after\n"
"its date, as `xenith bench --out DIR` archives them), one host's runs of\n"
"the same build.  With several runs on a side, each series is compared on\n"
"the runs' medians, and between-run noise is measured from the runs\n"
"themselves: a t test on the log medians (pooled, runs - 2 degrees of\n"
"freedom: at least 3 runs in all), the ratio of their geometric means and\n"
"its 95%% interval; the run sd column is their pooled spread.  This is how\n"
"a change smaller than the host's drift between runs can still be found\n"
"(`xenith bench calibrate --runs` says how many runs a side each series\n"
"needs for 5%%).  Otherwise, one document a side:\n"
"For each: the ratio of medians NEW/BASE, its 95%% interval (the rank test\n"
"inverted on log values; a bootstrap when a value is not positive), the\n"
"two-sided Mann-Whitney p-value (exact up to 50 samples a side), the\n"
"smallest change the test can detect at this case's noise and repetition\n"
"counts (80%% of the time at P; marked '!' above 5%%, 'none' when the\n"
"counts cannot reach P at all: 4 or fewer a side at 0.01), and a verdict:\n"
"  same     the ratio's interval lies within 1 +- F: any change is smaller\n"
"           than F\n"
"  slower   different: p < P (default 0.01) and the medians differ by at\n"
"  faster   least F (default 0.03, i.e. 3%%); never a fixed time threshold\n"
"  unknown  neither: these samples cannot decide; more repetitions can\n"
"           (`xenith bench --baseline BASE` adds them), or, where the\n"
"           drift between runs is what hides it, more runs (directories)\n\n"
"Absolute figures are compared only between runs on the same host\n"
"fingerprint: CPU model, microcode, kernel, KVM module, frequency governor,\n"
"turbo, SMT, memory size and CPUs online (the Xenith revision and build type\n"
"are what a comparison is for, not part of it).  When they differ, compare\n"
"names each field that differs, compares only the guest/native ratio series\n"
"(mode ratio: interleaved pairs, comparable between hosts; derived from the\n"
"guest and native series, sample by sample, for a document that has none)\n"
"and exits 2.  A field one document did not record (documents before the\n"
"fingerprint have only the CPU model, kernel and KVM module) is named as not\n"
"recorded and not counted as a difference.\n\n"
"Between-run noise: the repetitions of one run share that run's conditions,\n"
"and on a shared host separate runs' medians move by more than their\n"
"repetitions suggest (README: \"Are the verdicts right?\").  With a\n"
"calibration that measured it (`xenith bench calibrate --runs K`: each\n"
"series' spread of run medians, run sd), each series it covers is compared\n"
"with that spread added (bench/stats.h: stats_compare_runs; column run sd):\n"
"drift of that size is not called a change, and the detect column says what\n"
"two runs can tell apart.  Without one, the verdicts assume runs differ only\n"
"by their repetitions, and compare says so.\n\n"
"  --absolute   compare absolute figures even across different hosts: unsafe,\n"
"               a difference may be the host's, not Xenith's; says so\n"
"  --calibration FILE|none\n"
"               the calibration to take between-run noise from (default:\n"
"               calibration.json in NEW's directory, if there is one for\n"
"               NEW's host); none: ignore any\n\n"
"exit status: 0 every case same or faster, 1 at least one case slower,\n"
"2 unreadable input or different hosts (ratios compared only), 3 none\n"
"slower but at least one unknown, 64 bad usage.\n");
}

static bool is_ratio_series(const struct bench_series *s)
{
	return !strncmp(s->mode, "ratio", 5);
}

/* The fields one document did not record, for the note that the comparison is partial. */
static void say_unrecorded(const struct bench_run *base, const struct bench_run *cur)
{
	char list[256] = "", a[160], b[160];
	size_t used = 0;

	for (unsigned i = 0; i < BENCH_ENV_FIELDS; i++) {
		const char *name = bench_env_field(&base->env, i, a, sizeof(a));

		bench_env_field(&cur->env, i, b, sizeof(b));
		if ((!a[0] || !b[0]) && used < sizeof(list))
			used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s%s", used ? ", " : "", name,
						 !a[0] && !b[0] ? " (both)" : !a[0] ? " (base)" : " (new)");
	}
	printf("fingerprint: not recorded: %s; compared on the fields both recorded\n", list);
}

/*
 * Compares the fingerprints: true when absolute figures may be compared.
 * Otherwise names each differing field (base -> new) on stderr and the
 * header says the comparison is of ratios only.
 */
static bool same_host(const struct bench_run *base, const struct bench_run *cur, bool absolute)
{
	struct bench_env_diff d[BENCH_ENV_FIELDS];
	unsigned unrecorded;
	size_t n = bench_env_diff(&base->env, &cur->env, d, &unrecorded);
	char fields[256] = "";
	size_t used = 0;

	if (unrecorded)
		say_unrecorded(base, cur);
	if (n == 0)
		return true;
	for (size_t i = 0; i < n; i++) {
		if (used < sizeof(fields))
			used += (size_t)snprintf(fields + used, sizeof(fields) - used, "%s%s", i ? ", " : "",
						 d[i].field);
		fprintf(stderr, "xenith bench compare: %s differs: %s -> %s\n", d[i].field, d[i].base, d[i].cur);
	}
	if (absolute) {
		fprintf(stderr, "xenith bench compare: --absolute: comparing absolute figures across hosts that "
			"differ in %s: unsafe, a difference below may be the hosts', not Xenith's\n", fields);
		printf("absolute figures across different hosts (--absolute; they differ in %s): unsafe\n\n",
		       fields);
		return true;
	}
	fprintf(stderr, "xenith bench compare: the hosts differ in %s: absolute figures are not compared "
		"(exit 2); the guest/native ratios are\n", fields);
	printf("ratios only: the hosts differ in %s (guest speed / native, 1.0 = native; absolute "
	       "figures not compared)\n\n", fields);
	return false;
}

/*
 * The calibration whose between-run noise the comparison uses: --calibration
 * FILE, or calibration.json beside NEW; only one of NEW's host that
 * measured runs.  Says which, or why none, on stdout.  1 if c holds one, 0
 * if none is used, -1 when the named FILE cannot be read (said on stderr).
 */
static int load_run_noise(const char *arg, const char *new_path, const struct bench_run *cur,
			   struct calibration *c)
{
	char path[4096], differs[512];
	const char *slash;
	struct errbuf eb;
	int r;

	if (arg && !strcmp(arg, "none")) {
		printf("between-run noise: not used (--calibration none): verdicts assume runs differ only by "
		       "their repetitions\n\n");
		return 0;
	}
	if (arg) {
		snprintf(path, sizeof(path), "%s", arg);
	} else {
		slash = strrchr(new_path, '/');
		if (slash)
			snprintf(path, sizeof(path), "%.*s/calibration.json", (int)(slash - new_path), new_path);
		else
			snprintf(path, sizeof(path), "calibration.json");
	}
	r = calib_read(c, path, &eb);
	if (r == -ENOENT && !arg) {
		printf("between-run noise: not measured (no %s; `xenith bench calibrate --runs 10`): verdicts "
		       "assume runs differ only by their repetitions, which a shared host does not keep to\n\n",
		       path);
		return 0;
	}
	if (r < 0 && !arg) { /* found, not asked for: say why it is not used and go on */
		fprintf(stderr, "xenith bench compare: %s not used: %s\n", eb.msg, path);
		printf("between-run noise: not used (%s unreadable, see stderr)\n\n", path);
		return 0;
	}
	if (r < 0) {
		fprintf(stderr, "xenith bench compare: --calibration %s: %s\n", path,
			r == -ENOENT ? "no such file" : eb.msg);
		return -1;
	}
	calib_host_differs(c, &cur->env, differs, sizeof(differs));
	if (differs[0] || c->runs < 2) {
		printf("between-run noise: %s (%s) not used: %s\n\n", path, c->date,
		       differs[0] ? differs : "it measured one run (`xenith bench calibrate --runs 10` measures runs)");
		calib_free(c);
		return 0;
	}
	printf("between-run noise: %s (%s, %u runs): column run sd; a series it lacks is compared on its "
	       "repetitions alone\n\n", path, c->date, c->runs);
	return 1;
}

/* Each ratio series' pairs: median and 95% interval (t on log pair ratios) in base and new. */
static void print_ratio_intervals(const struct bench_run *base, const struct bench_run *cur)
{
	bool header = false;

	for (size_t i = 0; i < cur->nr_series; i++) {
		const struct bench_series *n = &cur->series[i], *b;

		if (!is_ratio_series(n))
			continue;
		if (!header) {
			printf("\nguest/native ratios (1.0 = native speed; exit costs: analogue / guest cost), median "
			       "of pairs and 95%% CI, t on log pair ratios:\n");
			printf("%-8s %-16s %-11s %28s %28s\n", "suite", "case", "mode", "base", "new");
			header = true;
		}
		b = bench_run_find(base, n->suite, n->name, n->mode);
		if (b)
			printf("%-8s %-16s %-11s %8.4g [%8.4g, %8.4g] %8.4g [%8.4g, %8.4g]\n", n->suite, n->name,
			       n->mode, b->sum.median, b->ratio_lo, b->ratio_hi, n->sum.median, n->ratio_lo,
			       n->ratio_hi);
		else
			printf("%-8s %-16s %-11s %28s %8.4g [%8.4g, %8.4g]\n", n->suite, n->name, n->mode, "-",
			       n->sum.median, n->ratio_lo, n->ratio_hi);
	}
}

/* One side of a comparison: one document, or every run document of a directory. */
struct run_set {
	struct bench_run *runs;
	size_t n;
};

static void run_set_free(struct run_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		bench_run_free(&set->runs[i]);
	free(set->runs);
	set->runs = NULL;
	set->n = 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads dir's run documents (named after their date: a digit first, .json, not .partial), oldest first. */
static int load_dir(const char *dir, struct run_set *set, struct errbuf *eb)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int r = 0;

	if (!d)
		return errbuf_set(eb, errno, "%s: %s", dir, strerror(errno));
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (len < 6 || strcmp(de->d_name + len - 5, ".json") || strstr(de->d_name, ".partial") ||
		    de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		if (n == cap) {
			char **nv = realloc(names, (cap = cap ? 2 * cap : 16) * sizeof(*names));

			if (!nv) {
				r = errbuf_set(eb, ENOMEM, "out of memory");
				break;
			}
			names = nv;
		}
		if (!(names[n] = strdup(de->d_name))) {
			r = errbuf_set(eb, ENOMEM, "out of memory");
			break;
		}
		n++;
	}
	closedir(d);
	if (r == 0 && n == 0)
		r = errbuf_set(eb, ENOENT, "%s has no run documents (`xenith bench --out %s` archives them there)",
			       dir, dir);
	if (r == 0) {
		qsort(names, n, sizeof(*names), cmp_str);
		set->runs = calloc(n, sizeof(*set->runs));
		if (!set->runs)
			r = errbuf_set(eb, ENOMEM, "out of memory");
	}
	for (size_t i = 0; r == 0 && i < n; i++) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (bench_run_read(&set->runs[set->n], path, eb) < 0)
			r = -EINVAL; /* eb names the file and what is wrong */
		else
			set->n++;
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (r < 0)
		run_set_free(set);
	return r;
}

/* A side: a directory's runs or one document.  Every run must be of one host. */
static int load_side(const char *path, struct run_set *set, struct errbuf *eb)
{
	struct stat st;

	memset(set, 0, sizeof(*set));
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		if (load_dir(path, set, eb) < 0)
			return -1;
	} else {
		set->runs = calloc(1, sizeof(*set->runs));
		if (!set->runs)
			return errbuf_set(eb, ENOMEM, "out of memory");
		if (bench_run_read(&set->runs[0], path, eb) < 0) {
			free(set->runs);
			set->runs = NULL;
			return -1;
		}
		set->n = 1;
	}
	for (size_t i = 1; i < set->n; i++) {
		struct bench_env_diff d[BENCH_ENV_FIELDS];
		unsigned unrecorded;

		if (bench_env_diff(&set->runs[0].env, &set->runs[i].env, d, &unrecorded) > 0) {
			errbuf_set(eb, EINVAL, "%s mixes hosts: run %s has %s %s, run %s %s", path, set->runs[i].id,
				   d[0].field, d[0].cur, set->runs[0].id, d[0].base);
			run_set_free(set);
			return -1;
		}
	}
	return 0;
}

/*
 * BASE and NEW as sets of runs (at least one side a directory of several):
 * each series on its runs' medians (stats_compare_medians).
 */
static int compare_run_sets(struct run_set *base, struct run_set *cur, const char *base_path, const char *cur_path,
			    double alpha, double min_effect, bool absolute)
{
	unsigned slower = 0, faster = 0, same = 0, unknown = 0, unmatched = 0, blind = 0;
	const struct bench_run *first = &cur->runs[0];
	bool ratios_only;
	double *mb, *mc;

	printf("base: %s (%zu run%s, %s .. %s; %s, %s)\nnew:  %s (%zu run%s, %s .. %s; %s, %s)\n\n", base_path,
	       base->n, base->n == 1 ? "" : "s", base->runs[0].id, base->runs[base->n - 1].id,
	       base->runs[0].env.kvm_module, base->runs[0].env.cpu_model, cur_path, cur->n, cur->n == 1 ? "" : "s",
	       first->id, cur->runs[cur->n - 1].id, first->env.kvm_module, first->env.cpu_model);
	if (base->n + cur->n < 3) {
		fprintf(stderr, "xenith bench compare: sets of runs need at least 3 runs in all\n");
		return EXIT_BAD_INPUT;
	}
	ratios_only = !same_host(&base->runs[0], first, absolute);
	if (ratios_only) {
		for (size_t i = 0; i < base->n; i++)
			if (bench_run_derive_ratios(&base->runs[i]) < 0)
				return EXIT_BAD_INPUT;
		for (size_t i = 0; i < cur->n; i++)
			if (bench_run_derive_ratios(&cur->runs[i]) < 0)
				return EXIT_BAD_INPUT;
	}
	printf("between-run noise: measured from the runs themselves (t test on the log medians of %zu + %zu "
	       "runs, %zu degrees of freedom; base and new: geometric means of the runs' medians)\n\n",
	       base->n, cur->n, base->n + cur->n - 2);
	mb = calloc(base->n, sizeof(*mb));
	mc = calloc(cur->n, sizeof(*mc));
	if (!mb || !mc) {
		free(mb);
		free(mc);
		fprintf(stderr, "xenith bench compare: out of memory\n");
		return EXIT_BAD_INPUT;
	}
	printf("%-8s %-16s %-6s %12s %12s %7s %17s %9s %7s %6s  %s\n", "suite", "case", "mode", "base", "new",
	       "ratio", "95% CI", "p", "detect", "run sd", "verdict");
	for (size_t i = 0; i < first->nr_series; i++) {
		const struct bench_series *n = &first->series[i];
		struct comparison c;
		size_t kb = 0, kc = 0;
		double gb = 0, gc = 0;
		char detect[16], run_sd[16];

		if (ratios_only && !is_ratio_series(n))
			continue;
		for (size_t k = 0; k < base->n; k++) {
			const struct bench_series *b = bench_run_find(&base->runs[k], n->suite, n->name, n->mode);

			if (b && b->n >= 1)
				mb[kb++] = b->sum.median;
		}
		for (size_t k = 0; k < cur->n; k++) {
			const struct bench_series *m = bench_run_find(&cur->runs[k], n->suite, n->name, n->mode);

			if (m && m->n >= 1)
				mc[kc++] = m->sum.median;
		}
		if (kb == 0 || kb + kc < 3) {
			printf("%-8s %-16s %-6s %12s %12.4g %7s %17s %9s %7s %6s  %s\n", n->suite, n->name, n->mode,
			       "-", n->sum.median, "-", "-", "-", "-", "-", kb ? "too few runs" : "not in base");
			unmatched++;
			continue;
		}
		stats_compare_medians(mb, kb, mc, kc, n->higher_is_better, alpha, min_effect, &c);
		for (size_t k = 0; k < kb; k++)
			gb += log(mb[k]) / (double)kb;
		for (size_t k = 0; k < kc; k++)
			gc += log(mc[k]) / (double)kc;
		if (isinf(c.detectable) || c.detectable >= 10)
			snprintf(detect, sizeof(detect), "none!");
		else
			snprintf(detect, sizeof(detect), "%.1f%%%s", 100 * c.detectable,
				 c.detectable > DETECT_TARGET ? "!" : "");
		snprintf(run_sd, sizeof(run_sd), "%.1f%%", 100 * c.run_sd);
		blind += !(c.detectable <= DETECT_TARGET);
		printf("%-8s %-16s %-6s %12.4g %12.4g %7.3f [%7.3f, %7.3f] %9.2g %7s %6s  %s\n", n->suite, n->name,
		       n->mode, exp(gb), exp(gc), c.ratio, c.ci_lo, c.ci_hi, c.p, detect, run_sd,
		       stats_verdict_name(&c));
		slower += c.verdict == VERDICT_DIFFERENT && !c.faster;
		faster += c.verdict == VERDICT_DIFFERENT && c.faster;
		same += c.verdict == VERDICT_SAME;
		unknown += c.verdict == VERDICT_UNKNOWN;
	}
	free(mb);
	free(mc);
	printf("\n%u same, %u different (%u slower, %u faster), %u unknown, %u without a baseline "
	       "(alpha %g, min effect %g)\n", same, slower + faster, slower, faster, unknown, unmatched, alpha,
	       min_effect);
	if (blind)
		printf("%u case%s cannot detect a %.0f%% change at their spread between runs and these runs "
		       "(marked !): more runs a side can\n", blind, blind == 1 ? "" : "s", 100 * DETECT_TARGET);
	if (ratios_only)
		return EXIT_BAD_INPUT;
	return slower ? EXIT_REGRESSION : unknown ? EXIT_UNDECIDED : 0;
}

int cmd_bench_compare(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "alpha", required_argument, NULL, 'a' },
		{ "min-effect", required_argument, NULL, 'e' },
		{ "absolute", no_argument, NULL, 'A' },
		{ "calibration", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	double alpha = STATS_ALPHA, min_effect = STATS_MIN_EFFECT;
	struct bench_run base, cur;
	struct errbuf eb;
	unsigned slower = 0, faster = 0, same = 0, unknown = 0, unmatched = 0, blind = 0;
	bool absolute = false, ratios_only, have_noise;
	const char *calib_arg = NULL;
	struct calibration noise;
	int opt, r_noise;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		char *end;

		switch (opt) {
		case 'a':
			alpha = strtod(optarg, &end);
			if (*end || !(alpha > 0 && alpha < 0.5)) {
				fprintf(stderr, "xenith bench compare: --alpha %s: expected a number in (0, 0.5)\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'e':
			min_effect = strtod(optarg, &end);
			if (*end || !(min_effect >= 0 && min_effect < 1)) {
				fprintf(stderr, "xenith bench compare: --min-effect %s: expected a fraction in [0, 1)\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'A':
			absolute = true;
			break;
		case 'c':
			calib_arg = optarg;
			break;
		case 'h':
			compare_help(stdout);
			return 0;
		default:
			fprintf(stderr, "xenith bench compare: see `xenith bench compare --help`\n");
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "xenith bench compare: expected BASE and NEW result files\n\n");
		compare_help(stderr);
		return EXIT_USAGE;
	}
	{
		struct stat sb, sc;
		bool dirs = (stat(argv[optind], &sb) == 0 && S_ISDIR(sb.st_mode)) ||
			    (stat(argv[optind + 1], &sc) == 0 && S_ISDIR(sc.st_mode));

		if (dirs) { /* sets of runs */
			struct run_set bs, cs;
			int r;

			if (calib_arg)
				printf("--calibration: not used with sets of runs (they measure their own spread)\n");
			if (load_side(argv[optind], &bs, &eb) < 0) {
				fprintf(stderr, "xenith bench compare: baseline: %s\n", eb.msg);
				return EXIT_BAD_INPUT;
			}
			if (load_side(argv[optind + 1], &cs, &eb) < 0) {
				fprintf(stderr, "xenith bench compare: new runs: %s\n", eb.msg);
				run_set_free(&bs);
				return EXIT_BAD_INPUT;
			}
			r = compare_run_sets(&bs, &cs, argv[optind], argv[optind + 1], alpha, min_effect, absolute);
			run_set_free(&bs);
			run_set_free(&cs);
			return r;
		}
	}
	if (bench_run_read(&base, argv[optind], &eb) < 0) {
		fprintf(stderr, "xenith bench compare: baseline: %s\n", eb.msg);
		return EXIT_BAD_INPUT;
	}
	if (bench_run_read(&cur, argv[optind + 1], &eb) < 0) {
		fprintf(stderr, "xenith bench compare: new run: %s\n", eb.msg);
		bench_run_free(&base);
		return EXIT_BAD_INPUT;
	}
	printf("base: %s (%s, %s)\nnew:  %s (%s, %s)\n\n", base.id, base.env.kvm_module, base.env.cpu_model,
	       cur.id, cur.env.kvm_module, cur.env.cpu_model);
	ratios_only = !same_host(&base, &cur, absolute);
	if (ratios_only) {
		int db = bench_run_derive_ratios(&base), dc = bench_run_derive_ratios(&cur);

		if (db < 0 || dc < 0) {
			fprintf(stderr, "xenith bench compare: out of memory\n");
			bench_run_free(&base);
			bench_run_free(&cur);
			return EXIT_BAD_INPUT;
		}
		if (db > 0 || dc > 0)
			printf("ratios of %s%s%s derived from its guest and native series, sample by sample (not "
			       "interleaved pairs)\n\n", db ? "base" : "", db && dc ? " and " : "", dc ? "new" : "");
	}
	r_noise = load_run_noise(calib_arg, argv[optind + 1], &cur, &noise);
	if (r_noise < 0) {
		bench_run_free(&base);
		bench_run_free(&cur);
		return EXIT_BAD_INPUT;
	}
	have_noise = r_noise > 0;
	printf("%-8s %-16s %-6s %12s %12s %7s %17s %9s %7s %6s  %s\n", "suite", "case", "mode", "base", "new",
	       "ratio", "95% CI", "p", "detect", "run sd", "verdict");
	for (size_t i = 0; i < cur.nr_series; i++) {
		const struct bench_series *n = &cur.series[i];
		const struct bench_series *b = bench_run_find(&base, n->suite, n->name, n->mode);
		const struct calib_entry *e = have_noise ? calib_find(&noise, n->suite, n->name, n->mode) : NULL;
		struct comparison c;
		char detect[16], run_sd[16];

		if (ratios_only && !is_ratio_series(n))
			continue;
		if (!b || b->n < 2 || n->n < 2) {
			printf("%-8s %-16s %-6s %12s %12.4g %7s %17s %9s %7s %6s  %s\n", n->suite, n->name, n->mode,
			       "-", n->sum.median, "-", "-", "-", "-", "-", b ? "too few samples" : "not in base");
			unmatched++;
			continue;
		}
		if (e && e->runs >= 2 && isfinite(e->run_sd)) {
			stats_compare_runs(b->samples, b->n, n->samples, n->n, n->higher_is_better, alpha, min_effect,
					   e->run_sd, e->runs - 1, &c);
			snprintf(run_sd, sizeof(run_sd), "%.1f%%", 100 * e->run_sd);
		} else {
			stats_compare(b->samples, b->n, n->samples, n->n, n->higher_is_better, alpha, min_effect, &c);
			snprintf(run_sd, sizeof(run_sd), "-");
		}
		if (isinf(c.detectable) || c.detectable >= 10)
			snprintf(detect, sizeof(detect), "none!");
		else
			snprintf(detect, sizeof(detect), "%.1f%%%s", 100 * c.detectable,
				 c.detectable > DETECT_TARGET ? "!" : "");
		blind += !(c.detectable <= DETECT_TARGET);
		printf("%-8s %-16s %-6s %12.4g %12.4g %7.3f [%7.3f, %7.3f] %9.2g %7s %6s  %s\n", n->suite, n->name,
		       n->mode, b->sum.median, n->sum.median, c.ratio, c.ci_lo, c.ci_hi, c.p, detect, run_sd,
		       stats_verdict_name(&c));
		slower += c.verdict == VERDICT_DIFFERENT && !c.faster;
		faster += c.verdict == VERDICT_DIFFERENT && c.faster;
		same += c.verdict == VERDICT_SAME;
		unknown += c.verdict == VERDICT_UNKNOWN;
	}
	printf("\n%u same, %u different (%u slower, %u faster), %u unknown, %u without a baseline "
	       "(alpha %g, min effect %g)\n", same, slower + faster, slower, faster, unknown, unmatched, alpha,
	       min_effect);
	if (blind)
		printf("%u case%s cannot detect a %.0f%% change at their noise and repetitions (marked !)\n",
		       blind, blind == 1 ? "" : "s", 100 * DETECT_TARGET);
	if (unknown)
		printf("unknown: the samples cannot tell same from different; more repetitions can "
		       "(`xenith bench --baseline BASE`), or more runs a side where drift between runs hides it "
		       "(`compare DIR DIR`; `xenith bench calibrate --runs 10` says how many)\n");
	print_ratio_intervals(&base, &cur);
	if (have_noise)
		calib_free(&noise);
	bench_run_free(&base);
	bench_run_free(&cur);
	if (ratios_only)
		return EXIT_BAD_INPUT; /* refused: the hosts differ (named on stderr) */
	return slower ? EXIT_REGRESSION : unknown ? EXIT_UNDECIDED : 0;
}
