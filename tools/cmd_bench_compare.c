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

static void compare_help(FILE *f)
{
	fprintf(f,
"usage: xenith bench compare BASE NEW [--alpha P] [--min-effect F]\n\n"
"Compares two result documents case by case (same suite, case and mode).\n"
"For each: the ratio of medians NEW/BASE, its 95%% bootstrap interval, the\n"
"two-sided Mann-Whitney p-value, and a verdict.  A case is 'faster' or\n"
"'slower' only when p < P (default 0.01) and the medians differ by at least\n"
"F (default 0.03, i.e. 3%%): never a fixed time threshold.\n\n"
"exit status: 0 no regression, 1 at least one case slower, 2 unreadable input,\n"
"64 bad usage.\n");
}

int cmd_bench_compare(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "alpha", required_argument, NULL, 'a' },
		{ "min-effect", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	double alpha = 0.01, min_effect = 0.03;
	struct bench_run base, cur;
	struct errbuf eb;
	unsigned slower = 0, faster = 0, same = 0, unmatched = 0;
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
	printf("%-8s %-16s %-6s %12s %12s %7s %17s %9s  %s\n", "suite", "case", "mode", "base", "new",
	       "ratio", "95% CI", "p", "verdict");
	for (size_t i = 0; i < cur.nr_series; i++) {
		const struct bench_series *n = &cur.series[i];
		const struct bench_series *b = bench_run_find(&base, n->suite, n->name, n->mode);
		struct comparison c;

		if (!b || b->n < 2 || n->n < 2) {
			printf("%-8s %-16s %-6s %12s %12.4g %7s %17s %9s  %s\n", n->suite, n->name, n->mode,
			       "-", n->sum.median, "-", "-", "-", b ? "too few samples" : "not in base");
			unmatched++;
			continue;
		}
		stats_compare(b->samples, b->n, n->samples, n->n, n->higher_is_better, alpha, min_effect, &c);
		printf("%-8s %-16s %-6s %12.4g %12.4g %7.3f [%7.3f, %7.3f] %9.2g  %s\n", n->suite, n->name,
		       n->mode, b->sum.median, n->sum.median, c.ratio, c.ci_lo, c.ci_hi, c.p,
		       stats_verdict_name(&c));
		slower += c.verdict == VERDICT_DIFFERENT && !c.faster;
		faster += c.verdict == VERDICT_DIFFERENT && c.faster;
		same += c.verdict == VERDICT_SAME;
	}
	printf("\n%u slower, %u faster, %u no change, %u without a baseline (alpha %g, min effect %g)\n",
	       slower, faster, same, unmatched, alpha, min_effect);
	bench_run_free(&base);
	bench_run_free(&cur);
	return slower ? EXIT_REGRESSION : 0;
}
