// SPDX-License-Identifier: MIT
/* xenith: the toolstack command line.  Thin: parses, then calls hv/. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "xenith.h"

static int cmd_bench_exec(int argc, char **argv);
static int cmd_fleet_exec(int argc, char **argv);

struct subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct subcommand subcommands[] = {
	{ "run", cmd_run, "boot a domain and stay with it until it ends" },
	{ "list", cmd_list, "list running domains" },
	{ "disks", cmd_disks, "a domain's virtual disks: state, grants and request counters" },
	{ "devices", cmd_devices, "a domain's devices (disks, ...): type, state and counters" },
	{ "memmap", cmd_memmap, "a domain's guest memory map: RAM, holes, special pages, KVM slots" },
	{ "pause", cmd_pause, "stop a domain's vCPUs" },
	{ "unpause", cmd_unpause, "let a paused domain run again" },
	{ "shutdown", cmd_shutdown, "ask a domain's guest to power off (or reboot)" },
	{ "destroy", cmd_destroy, "end a domain at once" },
	{ "save", cmd_save, "write a domain's whole state to a file, then end it (or --keep it running)" },
	{ "restore", cmd_restore, "bring back a domain `xenith save` wrote, and stay with it until it ends" },
	{ "migrate", cmd_migrate, "move a running domain to a `xenith migrate-receive` over TCP, live (pre-copy)" },
	{ "migrate-receive", cmd_migrate_receive, "take one migrating domain over TCP, and stay with it until it ends" },
	{ "console", cmd_console, "attach to a running domain's console output" },
	{ "xenstore-ls", cmd_xenstore_ls, "print a domain's xenstore tree" },
	{ "xenstore-write", cmd_xenstore_write, "write a key in a domain's xenstore (as domain 0)" },
	{ "switch", cmd_switch, "a domain switch: start, list, stop (vif port=switch:NAME)" },
	{ "prof", cmd_prof, "profile domains: record samples of every vCPU, report (flat, folded, SVG, JSON)" },
	{ "top", cmd_top, "every running domain, live: CPU, exits, hypercalls, event channels, I/O" },
	{ "pci", cmd_pci, "the host's PCI functions for passthrough: list, assignable-add/-remove, sriov, nvme, check" },
	{ "bench", cmd_bench_exec, "measure guest against native; compare runs (xenith-bench)" },
	{ "fleet", cmd_fleet_exec, "results index of a fleet of hosts in PostgreSQL (xenith-fleet)" },
	{ "exporter", cmd_fleet_exec, "serve the newest results to Prometheus (xenith-fleet)" },
};

/*
 * Runs the binary `name` next to this one with argv (argv[0] replaced).
 * `xenith bench` lives in its own binary, xenith-bench: it links SQLite
 * and the benchmark code, which the VMM of `xenith run` should not carry
 * (start-up time and resident memory are measured).
 */
static int exec_helper(const char *name, char **argv)
{
	char exe[PATH_MAX], path[PATH_MAX + 16];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0) {
		fprintf(stderr, "xenith: cannot find my own binary: %s\n", strerror(errno));
		return EXIT_START;
	}
	exe[n] = 0;
	snprintf(path, sizeof(path), "%s/%s", dirname(exe), name);
	argv[0] = path;
	execv(path, argv);
	fprintf(stderr, "xenith: cannot run %s: %s (build it with `meson compile -C build`)\n", path,
		strerror(errno));
	return EXIT_START;
}

static int cmd_bench_exec(int argc, char **argv)
{
	(void)argc;
	return exec_helper("xenith-bench", argv);
}

/*
 * `xenith fleet` and `xenith exporter` live in xenith-fleet, linked
 * dynamically: libpq and libmicrohttpd do not link statically on Debian
 * (tools/fleet_main.c says why).
 */
static int cmd_fleet_exec(int argc, char **argv)
{
	char *args[argc + 2];
	char exe[PATH_MAX], path[PATH_MAX + 16];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	/*
	 * Without xenith-fleet (a copy of xenith alone, as in the lab) --help
	 * still answers, and says what is missing.
	 */
	if (n > 0) {
		exe[n] = 0;
		snprintf(path, sizeof(path), "%s/xenith-fleet", dirname(exe));
		for (int i = 1; i < argc && access(path, X_OK) < 0; i++)
			if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
				printf("usage: xenith fleet store --db DB DOC...\n"
				       "usage: xenith fleet query [--db DB | --out DIR] [--host HOST] [--run ID] "
				       "[SUITE[/CASE[/MODE]]]\n"
				       "usage: xenith fleet history [--db DB | --out DIR] [--host HOST] "
				       "SUITE[/CASE[/MODE]]\n"
				       "usage: xenith exporter [--listen ADDR:PORT] [--out DIR] [--db DB]\n\n"
				       "These commands run xenith-fleet (PostgreSQL and HTTP: libpq and\n"
				       "libmicrohttpd, linked dynamically), which is not installed next to this\n"
				       "xenith (%s: %s): `meson compile -C build` builds it; its --help has the rest.\n",
				       path, strerror(errno));
				return 0;
			}
	}

	/* xenith-fleet COMMAND ARGS...: COMMAND is "fleet" or "exporter" */
	args[0] = NULL;
	for (int i = 0; i < argc; i++)
		args[i + 1] = argv[i];
	args[argc + 1] = NULL;
	return exec_helper("xenith-fleet", args);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: xenith COMMAND [ARGS...]\n\n"
		   "Xenith: paravirtualized domains on KVM.\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(f, "  %-15s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(f, "\n`xenith COMMAND --help` describes each command.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("xenith %s\n", XENITH_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "xenith: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
