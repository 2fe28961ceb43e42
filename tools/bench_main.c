// SPDX-License-Identifier: MIT
/*
 * xenith-bench: the benchmark harness, run as `xenith bench ...` (xenith
 * execs this binary with argv[1] = "bench") or directly.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "density.h"
#include "soak.h"
#include "xenith.h"

/* A density worker process (bench/density.c): `xenith-bench bench-worker xenith|bare COUNT FIRST`. */
static int cmd_bench_worker(int argc, char **argv)
{
	char minios[PATH_MAX] = "";
	unsigned long count, base;

	if (argc != 4 || (strcmp(argv[1], "xenith") && strcmp(argv[1], "bare"))) {
		fprintf(stderr, "usage: xenith bench-worker xenith|bare COUNT FIRST_ID (used by xenith bench)\n");
		return EXIT_USAGE;
	}
	count = strtoul(argv[2], NULL, 10);
	base = strtoul(argv[3], NULL, 10);
	if (strcmp(argv[1], "bare") && find_bundled_minios(minios, sizeof(minios)) < 0) {
		/* the worker's protocol: the first domain failed, and why */
		printf("fail %lu bundled minios not found at %s\n", base, minios);
		return 1;
	}
	return density_worker(!strcmp(argv[1], "bare"), count, base, minios);
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "bench-worker"))
		return cmd_bench_worker(argc - 1, argv + 1);
	/* The soak suite's create/destroy process: `xenith-bench soak-worker CYCLES EVERY DISK`. */
	if (argc >= 2 && !strcmp(argv[1], "soak-worker"))
		return cmd_soak_worker(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "bench"))
		return cmd_bench(argc - 1, argv + 1);
	return cmd_bench(argc, argv);
}
