// SPDX-License-Identifier: MIT
/*
 * `xenith pci`: the host's PCI functions, their IOMMU groups, drivers and
 * SR-IOV relations, whether each can be given to a domain and why not;
 * xl's assignable-add / assignable-remove; a PF's number of VFs (sriov/pci.h).
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "pci.h"
#include "xenith.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: xenith pci list [--json] [--sysfs-root DIR]\n"
		"usage: xenith pci assignable-add BDF [--sysfs-root DIR]\n"
		"usage: xenith pci assignable-remove BDF [--sysfs-root DIR]\n"
		"usage: xenith pci sriov PF N [--autoprobe] [--sysfs-root DIR]\n"
		"\n"
		"list: every PCI function of the host (DDDD:BB:SS.F), vendor:device, class,\n"
		"driver, IOMMU group, SR-IOV relation (a PF's VFs enabled/total, a VF's PF),\n"
		"and whether it can be given to a domain, or why not: assignable means in an\n"
		"IOMMU group, bound to vfio-pci, and every other function of the group on\n"
		"vfio-pci, pci-stub, no driver, or a bridge on pcieport (VFIO takes a group\n"
		"whole).\n"
		"assignable-add: driver_override = vfio-pci, unbind from the host driver,\n"
		"probe again (vfio-pci must be loaded: modprobe vfio-pci).  assignable-remove:\n"
		"clears the override and gives the function back to its own driver; only a\n"
		"function on vfio-pci or with the vfio-pci override.  Both need root.\n"
		"sriov: gives the PF N VFs (0: none), through 0 when it has some already;\n"
		"the new VFs get no driver unless --autoprobe (sriov_drivers_autoprobe).\n"
		"--sysfs-root DIR (or $XENITH_SYSFS_ROOT): read DIR instead of /sys.\n");
}

static void sriov_text(const struct pci_fn *f, char *buf, size_t size)
{
	if (f->physfn[0])
		snprintf(buf, size, "VF of %s", f->physfn);
	else if (f->sriov_capable)
		snprintf(buf, size, "PF %u/%u VFs", f->numvfs, f->totalvfs);
	else
		snprintf(buf, size, "-");
}

static int list(const char *root, bool json)
{
	struct pci_list l;
	struct errbuf eb;

	if (pci_scan(root, &l, &eb) < 0) {
		fprintf(stderr, "xenith pci: %s\n", eb.msg);
		return 1;
	}
	if (json) {
		char eroot[2 * PATH_MAX];

		json_escape(eroot, sizeof(eroot), root);
		printf("{\"sysfs\":\"%s\",\"functions\":[", eroot);
	}
	else
		printf("%-12s  %-9s  %-6s  %-10s  %5s  %-20s  %s\n", "BDF", "ID", "class", "driver", "group", "SR-IOV",
		       "assignable");
	for (size_t i = 0; i < l.n; i++) {
		const struct pci_fn *f = &l.fn[i];
		char why[512], sr[48], drv[160], group[16], ewhy[1100];
		bool ok = pci_assignable(&l, i, why, sizeof(why));

		sriov_text(f, sr, sizeof(sr));
		snprintf(group, sizeof(group), f->iommu_group < 0 ? "-" : "%d", f->iommu_group);
		if (json) {
			json_escape(ewhy, sizeof(ewhy), ok ? "" : why);
			json_escape(drv, sizeof(drv), f->driver);
			printf("%s{\"bdf\":\"%s\",\"vendor\":\"%04x\",\"device\":\"%04x\",\"class\":\"%06x\","
			       "\"driver\":\"%s\",\"iommu_group\":%d,\"physfn\":%s%s%s,\"sriov_totalvfs\":%u,"
			       "\"sriov_numvfs\":%u,\"vfs\":%u,\"assignable\":%s,\"why_not\":\"%s\"}",
			       i ? "," : "", f->bdf, f->vendor, f->device, f->class_code, drv, f->iommu_group,
			       f->physfn[0] ? "\"" : "", f->physfn[0] ? f->physfn : "null", f->physfn[0] ? "\"" : "",
			       f->totalvfs, f->numvfs, f->nvfs, ok ? "true" : "false", ewhy);
		} else {
			printf("%-12s  %04x:%04x  %06x  %-10s  %5s  %-20s  %s%s%s\n", f->bdf, f->vendor, f->device,
			       f->class_code, f->driver[0] ? f->driver : "-", group, sr, ok ? "yes" : "no",
			       ok ? "" : ": ", ok ? "" : why);
		}
	}
	if (json)
		printf("]}\n");
	else if (!l.n)
		printf("(no PCI functions under %s/bus/pci/devices)\n", root);
	pci_list_free(&l);
	return 0;
}

int cmd_pci(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "sysfs-root", required_argument, NULL, 'r' },
		{ "autoprobe", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *root = getenv("XENITH_SYSFS_ROOT"), *verb;
	struct errbuf eb;
	bool json = false, autoprobe = false;
	int c, r;

	if (!root || !root[0])
		root = "/sys";
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	verb = argv[1];
	if (!strcmp(verb, "--help") || !strcmp(verb, "-h")) {
		usage(stdout);
		return 0;
	}
	optind = 2;
	while ((c = getopt_long(argc, argv, "jr:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'a': autoprobe = true; break;
		case 'r': root = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (!strcmp(verb, "list") && optind == argc && !autoprobe)
		return list(root, json);
	if (!strcmp(verb, "sriov") && optind == argc - 2 && !json) {
		char *end;
		unsigned long n = strtoul(argv[optind + 1], &end, 10);

		if (!argv[optind + 1][0] || *end || n > PCI_MAX_VFS) {
			fprintf(stderr, "xenith pci sriov: '%s' is not a number of VFs (0 to %d)\n", argv[optind + 1],
				PCI_MAX_VFS);
			return EXIT_USAGE;
		}
		if (pci_sriov_set(root, argv[optind], (unsigned)n, autoprobe, &eb) < 0) {
			fprintf(stderr, "xenith pci sriov: %s\n", eb.msg);
			return 1;
		}
		return 0;
	}
	if ((strcmp(verb, "assignable-add") && strcmp(verb, "assignable-remove")) || optind != argc - 1 || json ||
	    autoprobe) {
		usage(stderr);
		return EXIT_USAGE;
	}
	r = !strcmp(verb, "assignable-add") ? pci_assignable_add(root, argv[optind], &eb)
					    : pci_assignable_remove(root, argv[optind], &eb);
	if (r < 0) {
		fprintf(stderr, "xenith pci %s: %s\n", verb, eb.msg);
		return 1;
	}
	return 0;
}
