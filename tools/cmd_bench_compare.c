// SPDX-License-Identifier: MIT
/* xenith bench compare BASE NEW: per case ratio, confidence interval and a noise-aware verdict. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
"usage: xenith bench compare BASE NEW [--alpha P] [--min-effect F]\n\n"
"Compares two result documents case by case (same suite, case and mode).\n"
"For each: the ratio of medians NEW/BASE, its 95%% bootstrap interval, the\n"
"two-sided Mann-Whitney p-value (exact up to 50 samples a side), the\n"
"smallest change the test can detect at this case's noise and repetition\n"
"counts (80%% of the time at P; marked '!' above 5%%, 'none' when the\n"
"counts cannot reach P at all: 4 or fewer a side at 0.01), and a verdict:\n"
"  same     the ratio's interval lies within 1 +- F: any change is smaller\n"
"           than F\n"
"  slower   different: p < P (default 0.01) and the medians differ by at\n"
"  faster   least F (default 0.03, i.e. 3%%); never a fixed time threshold\n"
"  unknown  neither: these samples cannot decide; more repetitions can\n"
"           (`xenith bench --baseline BASE` adds them)\n\n"
"exit status: 0 every case same or faster, 1 at least one case slower,\n"
"2 unreadable input, 3 none slower but at least one unknown, 64 bad usage.\n");
}

int cmd_bench_compare(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "alpha", required_argument, NULL, 'a' },
		{ "min-effect", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	double alpha = STATS_ALPHA, min_effect = STATS_MIN_EFFECT;
	struct bench_run base, cur;
	struct errbuf eb;
	unsigned slower = 0, faster = 0, same = 0, unknown = 0, unmatched = 0, blind = 0;
	int opt;

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
	printf("%-8s %-16s %-6s %12s %12s %7s %17s %9s %7s  %s\n", "suite", "case", "mode", "base", "new",
	       "ratio", "95% CI", "p", "detect", "verdict");
	for (size_t i = 0; i < cur.nr_series; i++) {
		const struct bench_series *n = &cur.series[i];
		const struct bench_series *b = bench_run_find(&base, n->suite, n->name, n->mode);
		struct comparison c;
		char detect[16];

		if (!b || b->n < 2 || n->n < 2) {
			printf("%-8s %-16s %-6s %12s %12.4g %7s %17s %9s %7s  %s\n", n->suite, n->name, n->mode,
			       "-", n->sum.median, "-", "-", "-", "-", b ? "too few samples" : "not in base");
			unmatched++;
			continue;
		}
		stats_compare(b->samples, b->n, n->samples, n->n, n->higher_is_better, alpha, min_effect, &c);
		if (isinf(c.detectable) || c.detectable >= 10)
			snprintf(detect, sizeof(detect), "none!");
		else
			snprintf(detect, sizeof(detect), "%.1f%%%s", 100 * c.detectable,
				 c.detectable > DETECT_TARGET ? "!" : "");
		blind += !(c.detectable <= DETECT_TARGET);
		printf("%-8s %-16s %-6s %12.4g %12.4g %7.3f [%7.3f, %7.3f] %9.2g %7s  %s\n", n->suite, n->name,
		       n->mode, b->sum.median, n->sum.median, c.ratio, c.ci_lo, c.ci_hi, c.p, detect,
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
		       "(`xenith bench --baseline BASE`)\n");
	bench_run_free(&base);
	bench_run_free(&cur);
	return slower ? EXIT_REGRESSION : unknown ? EXIT_UNDECIDED : 0;
}
