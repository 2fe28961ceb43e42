// SPDX-License-Identifier: MIT
/*
 * xenith-bench: the benchmark harness, run as `xenith bench ...` (xenith
 * execs this binary with argv[1] = "bench") or directly.
 */
#include <stdio.h>
#include <string.h>

#include "density.h"
#include "soak.h"
#include "xenith.h"

int main(int argc, char **argv)
{
	/* A density worker process: `xenith-bench bench-worker KIND COUNT FIRST`. */
	if (argc >= 2 && !strcmp(argv[1], "bench-worker"))
		return cmd_bench_worker(argc - 1, argv + 1);
	/* The soak suite's create/destroy process: `xenith-bench soak-worker CYCLES EVERY DISK`. */
	if (argc >= 2 && !strcmp(argv[1], "soak-worker"))
		return cmd_soak_worker(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "bench"))
		return cmd_bench(argc - 1, argv + 1);
	return cmd_bench(argc, argv);
}
