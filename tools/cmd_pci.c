// SPDX-License-Identifier: MIT
/*
 * `xenith pci`: the host's PCI functions, their IOMMU groups, drivers and
 * SR-IOV relations, whether each can be given to a domain and why not;
 * xl's assignable-add / assignable-remove; a PF's number of VFs (sriov/pci.h);
 * an NVMe PF's secondary controllers, given queues and brought online
 * (sriov/nvme_virt.h); an SR-IOV NIC's VFs' MAC, VLAN, spoofchk and trust
 * through rtnetlink (sriov/nic_vf.h); a function opened through VFIO as a
 * domain will (iommu/vfio.h).
 */
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "nic_vf.h"
#include "nvme_virt.h"
#include "pci.h"
#include "vfio.h"
#include "xenith.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: xenith pci list [--json] [--sysfs-root DIR]\n"
		"usage: xenith pci assignable-add BDF [--sysfs-root DIR]\n"
		"usage: xenith pci assignable-remove BDF [--sysfs-root DIR]\n"
		"usage: xenith pci sriov PF N [--autoprobe] [--sysfs-root DIR]\n"
		"usage: xenith pci nvme PF [--json]\n"
		"usage: xenith pci nvme-online PF N [--vq Q] [--vi I]\n"
		"usage: xenith pci nvme-offline PF\n"
		"usage: xenith pci nic-vf DEV [--json]\n"
		"usage: xenith pci nic-vf DEV VF [mac=M] [vlan=V[:QOS]] [spoofchk=on|off] [trust=on|off]\n"
		"usage: xenith pci check BDF [--json]\n"
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
		"nvme: an NVMe PF's flexible queue (VQ) and interrupt (VI) resources and its\n"
		"secondary controllers (one per VF): VF, state, resources.  nvme-online: gives\n"
		"VFs 1..N Q queues (default 2: the admin queue and one I/O queue) and I\n"
		"interrupts (default 1) each and brings them online: releases the PF's\n"
		"flexible resources first (and resets the PF) when it holds any, and enables\n"
		"N VFs without a driver when fewer are enabled; an NVMe VF serves no I/O\n"
		"before.  nvme-offline: takes every secondary offline and releases its\n"
		"resources.  The PF must be on the nvme driver (its admin queue is the\n"
		"kernel's: /dev/nvmeN); root.\n"
		"nic-vf: an SR-IOV NIC's VFs as its PF's driver sets them up, through\n"
		"rtnetlink (as `ip link set DEV vf N ...`); DEV is the PF's network interface.\n"
		"Without VF: each VF's MAC, VLAN and QoS, spoofchk and trust.  With VF: sets\n"
		"what is given: mac=aa:bb:cc:dd:ee:ff (unicast; 00:00:00:00:00:00 lets the\n"
		"VF choose), vlan=V (0: none, up to 4094) with :QOS a priority 0-7,\n"
		"spoofchk=on|off (the VF sends only from its MAC and VLAN), trust=on|off (the\n"
		"VF may change its MAC and take multicast/promiscuous modes); one request\n"
		"per setting, a refusal names it; then prints the VF as read back.  Setting\n"
		"needs CAP_NET_ADMIN (root).\n"
		"check: opens the function through VFIO as a domain will (its own type-1\n"
		"IOMMU container; the group must be viable), prints its BARs (mappable into a\n"
		"domain, in parts, or trapped), MSI/MSI-X vectors, reset and the IOVA ranges\n"
		"the IOMMU can map, maps and unmaps a page for DMA, resets the function and\n"
		"closes it; exit 1 with the reason when it cannot be passed through.\n"
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

static void progress_line(void *arg, const char *step)
{
	fprintf(stderr, "%s: %s\n", (const char *)arg, step);
}

struct vf_enable {
	const char *root, *pf;
};

/* nvme_virt_online's step 3: at least n VFs, without a driver (they are offline until then). */
static int enable_vfs(void *arg, unsigned n, struct errbuf *eb)
{
	const struct vf_enable *v = arg;
	struct pci_list l;
	const struct pci_fn *f;
	unsigned cur = 0;

	if (pci_scan(v->root, &l, eb) < 0)
		return -EIO;
	f = pci_find(&l, v->pf);
	if (f)
		cur = f->numvfs;
	pci_list_free(&l);
	if (cur >= n)
		return 0;
	fprintf(stderr, "%s: enabling %u VFs (sriov_numvfs, no driver probed)\n", v->pf, n);
	return pci_sriov_set(v->root, v->pf, n, false, eb);
}

static int nvme_show(const char *root, const char *pf, bool json)
{
	struct nvme_secctrl s[NVME_MAX_SECONDARY];
	struct nvme_prictrl p;
	struct nvme_admin a;
	struct nvme_pf dev;
	struct errbuf eb;
	size_t ns;
	int r = nvme_virt_open(root, "/dev", pf, &dev, &a, &eb);

	if (r >= 0)
		r = nvme_virt_query(&a, &p, s, &ns, &eb);
	nvme_virt_close(&dev);
	if (r < 0) {
		fprintf(stderr, "xenith pci nvme: %s\n", eb.msg);
		return 1;
	}
	if (json)
		printf("{\"pf\":\"%s\",\"controller\":\"%s\",\"cntlid\":%u,\"vq\":{\"flexible\":%u,\"secondaries\":%u,"
		       "\"primary\":%u,\"private\":%u,\"max_per_vf\":%u},\"vi\":{\"flexible\":%u,\"secondaries\":%u,"
		       "\"primary\":%u,\"private\":%u,\"max_per_vf\":%u},\"secondaries\":[",
		       pf, dev.name, p.cntlid, p.vqfrt, p.vqrfa, p.vqrfap, p.vqprt, p.vqfrsm, p.vifrt, p.virfa, p.virfap,
		       p.viprt, p.vifrsm);
	else
		printf("%s (%s, controller %u)\n"
		       "  queues:     %u flexible: %u on VFs, %u on the PF; %u private to the PF; at most %u per VF\n"
		       "  interrupts: %u flexible: %u on VFs, %u on the PF; %u private to the PF; at most %u per VF\n"
		       "  %-4s  %-10s  %-12s  %-7s  %6s  %10s\n",
		       pf, dev.name, p.cntlid, p.vqfrt, p.vqrfa, p.vqrfap, p.vqprt, p.vqfrsm, p.vifrt, p.virfa, p.virfap,
		       p.viprt, p.vifrsm, "VF", "controller", "BDF", "state", "queues", "interrupts");
	for (size_t i = 0; i < ns; i++) {
		char bdf[PCI_BDF_LEN];
		bool have = pci_virtfn(root, pf, s[i].vfn - 1u, bdf);

		if (json)
			printf("%s{\"vf\":%u,\"cntlid\":%u,\"bdf\":%s%s%s,\"online\":%s,\"vq\":%u,\"vi\":%u}",
			       i ? "," : "", s[i].vfn, s[i].scid, have ? "\"" : "", have ? bdf : "null", have ? "\"" : "",
			       s[i].online ? "true" : "false", s[i].nvq, s[i].nvi);
		else
			printf("  %-4u  %-10u  %-12s  %-7s  %6u  %10u\n", s[i].vfn, s[i].scid,
			       have ? bdf : "(disabled)", s[i].online ? "online" : "offline", s[i].nvq, s[i].nvi);
	}
	if (json)
		printf("]}\n");
	return 0;
}

static int nvme_change(const char *root, const char *verb, const char *pf, unsigned n, unsigned vq, unsigned vi)
{
	struct vf_enable v = { root, pf };
	struct nvme_admin a;
	struct nvme_pf dev;
	struct errbuf eb;
	int r = nvme_virt_open(root, "/dev", pf, &dev, &a, &eb);

	if (r >= 0)
		r = !strcmp(verb, "nvme-online")
			    ? nvme_virt_online(&a, n, vq, vi, enable_vfs, &v, progress_line, (void *)pf, &eb)
			    : nvme_virt_offline(&a, progress_line, (void *)pf, &eb);
	nvme_virt_close(&dev);
	if (r < 0) {
		fprintf(stderr, "xenith pci %s: %s\n", verb, eb.msg);
		return 1;
	}
	return 0;
}

static int check(const char *root, const char *bdf, bool json)
{
	struct vfio_dev d;
	struct errbuf eb;
	uint32_t id = 0;
	void *page;
	int dma = -1, rst = 0;

	if (vfio_open(root, "/dev/vfio", bdf, &d, &eb) < 0) {
		fprintf(stderr, "xenith pci check: %s\n", eb.msg);
		return 1;
	}
	if (vfio_cfg_read(&d, 0, 4, &id, &eb) < 0) {
		fprintf(stderr, "xenith pci check: %s\n", eb.msg);
		vfio_close(&d);
		return 1;
	}
	/* One page mapped at the lowest valid IOVA and unmapped: the container takes DMA mappings. */
	page = aligned_alloc(4096, 4096);
	if (page) {
		uint64_t iova = d.nranges ? (d.range[0].start + 4095) & ~4095ull : 0;

		dma = vfio_dma_map(&d, page, iova, 4096, &eb);
		if (!dma)
			dma = vfio_dma_unmap(&d, iova, 4096, &eb);
		if (dma)
			fprintf(stderr, "xenith pci check: %s\n", eb.msg);
	}
	if (d.reset_ok) {
		rst = vfio_reset(&d, &eb);
		if (rst)
			fprintf(stderr, "xenith pci check: %s\n", eb.msg);
	}
	if (json) {
		printf("{\"bdf\":\"%s\",\"vendor\":\"%04x\",\"device\":\"%04x\",\"iommu_group\":%d,\"bars\":[", d.bdf,
		       id & 0xffff, id >> 16, d.group_id);
		for (unsigned i = 0, k = 0; i < VFIO_BARS; i++)
			if (d.bar[i].size)
				printf("%s{\"bar\":%u,\"size\":%llu,\"map\":\"%s\"}", k++ ? "," : "", i,
				       (unsigned long long)d.bar[i].size,
				       !d.bar[i].mmap ? "trapped" : d.bar[i].sparse ? "parts" : "whole");
		printf("],\"msi\":%u,\"msix\":%u,\"reset\":%s,\"iova_ranges\":[", d.msi, d.msix,
		       !d.reset_ok ? "\"none\"" : rst < 0 ? "\"failed\"" : "\"done\"");
		for (unsigned i = 0; i < d.nranges; i++)
			printf("%s[%llu,%llu]", i ? "," : "", (unsigned long long)d.range[i].start,
			       (unsigned long long)d.range[i].end);
		printf("],\"dma_map\":%s}\n", dma ? "false" : "true");
	} else {
		printf("%s: %04x:%04x, IOMMU group %d, opened through VFIO (type-1 v2 container)\n", d.bdf, id & 0xffff,
		       id >> 16, d.group_id);
		for (unsigned i = 0; i < VFIO_BARS; i++) {
			if (!d.bar[i].size)
				continue;
			printf("  BAR %u: %llu KiB, %s\n", i, (unsigned long long)(d.bar[i].size >> 10),
			       !d.bar[i].mmap ? "trapped (every access through the VMM)"
			       : d.bar[i].sparse ? "mappable in parts (the rest, the MSI-X table, trapped)"
						 : "mappable whole (a memory slot in the domain)");
		}
		printf("  interrupts: %u MSI, %u MSI-X vectors\n", d.msi, d.msix);
		printf("  reset: %s\n", !d.reset_ok ? "none (the function cannot be reset between domains)"
					 : rst < 0 ? "failed" : "function-level reset done");
		for (unsigned i = 0; i < d.nranges; i++)
			printf("  IOVA range: 0x%llx-0x%llx\n", (unsigned long long)d.range[i].start,
			       (unsigned long long)d.range[i].end);
		printf("  DMA mapping: %s\n", dma ? "failed" : "a page mapped and unmapped");
	}
	free(page);
	vfio_close(&d);
	return dma || rst < 0 ? 1 : 0;
}

static void mac_text(const uint8_t m[6], char *buf, size_t size)
{
	snprintf(buf, size, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static const char *tristate(int8_t v, bool json)
{
	return v < 0 ? (json ? "null" : "-") : v ? (json ? "true" : "on") : (json ? "false" : "off");
}

/* DEV's VFs: a count first, then room for all of them. */
static int nic_vf_read(const char *dev, struct nic_vf_link *l, struct nic_vf_state **vf, struct errbuf *eb)
{
	int r = nic_vf_list(dev, l, NULL, 0, eb);

	*vf = NULL;
	if (r < 0 || !l->nvf)
		return r;
	*vf = calloc(l->nvf, sizeof(**vf));
	if (!*vf)
		return errbuf_set(eb, ENOMEM, "%zu VFs: out of memory", l->nvf);
	return nic_vf_list(dev, l, *vf, l->nvf, eb);
}

static int nic_vf_show(const char *dev, bool json)
{
	struct nic_vf_state *vf;
	struct nic_vf_link l;
	struct errbuf eb;
	char edev[2 * IFNAMSIZ + 8], kind[40], mac[18];

	if (nic_vf_read(dev, &l, &vf, &eb) < 0) {
		fprintf(stderr, "xenith pci nic-vf: %s\n", eb.msg);
		return 1;
	}
	if (json) {
		json_escape(edev, sizeof(edev), dev);
		json_escape(kind, sizeof(kind), l.kind);
		printf("{\"dev\":\"%s\",\"ifindex\":%d,\"kind\":\"%s\",\"num_vfs\":", edev, l.ifindex, kind);
		if (l.num_vf < 0)
			printf("null");
		else
			printf("%lld", (long long)l.num_vf);
		printf(",\"reported\":%s,\"vfs\":[", l.vfinfo ? "true" : "false");
		for (size_t i = 0; i < l.stored; i++) {
			mac_text(vf[i].mac, mac, sizeof(mac));
			printf("%s{\"vf\":%u,\"mac\":%s%s%s,\"vlan\":", i ? "," : "", vf[i].vf, vf[i].has_mac ? "\"" : "",
			       vf[i].has_mac ? mac : "null", vf[i].has_mac ? "\"" : "");
			if (vf[i].has_vlan)
				printf("%u,\"qos\":%u", vf[i].vlan, vf[i].qos);
			else
				printf("null,\"qos\":null");
			printf(",\"spoofchk\":%s,\"trust\":%s}", tristate(vf[i].spoofchk, true), tristate(vf[i].trust, true));
		}
		printf("]}\n");
		free(vf);
		return 0;
	}
	if (l.num_vf < 0)
		printf("%s%s%s%s has no SR-IOV VFs: it is no PCI device's interface\n", dev, l.kind[0] ? " (a " : "",
		       l.kind, l.kind[0] ? " link)" : "");
	else if (!l.num_vf)
		printf("%s: no VFs (an SR-IOV PF gets N from `xenith pci sriov PF N`; other devices have none)\n", dev);
	else if (!l.vfinfo)
		printf("%s: %lld VFs; its driver does not report their settings\n", dev, (long long)l.num_vf);
	else
		printf("%s: %lld VFs\n  %-4s  %-17s  %4s  %3s  %-8s  %s\n", dev, (long long)l.num_vf, "VF", "MAC", "VLAN",
		       "QoS", "spoofchk", "trust");
	for (size_t i = 0; i < l.stored; i++) {
		char vlan[12] = "-", qos[12] = "-";

		mac_text(vf[i].mac, mac, sizeof(mac));
		if (vf[i].has_vlan) {
			snprintf(vlan, sizeof(vlan), "%u", vf[i].vlan);
			snprintf(qos, sizeof(qos), "%u", vf[i].qos);
		}
		printf("  %-4u  %-17s  %4s  %3s  %-8s  %s\n", vf[i].vf, vf[i].has_mac ? mac : "-", vlan, qos,
		       tristate(vf[i].spoofchk, false), tristate(vf[i].trust, false));
	}
	if (l.stored < l.nvf)
		printf("  (%zu more: the list grew while it was read)\n", l.nvf - l.stored);
	free(vf);
	return 0;
}

/* After a set: the VF as its driver reports it, and a note for each setting that reads back otherwise. */
static void nic_vf_readback(const char *dev, unsigned n, const struct nic_vf_settings *s)
{
	const struct nic_vf_state *v = NULL;
	struct nic_vf_state *vf;
	struct nic_vf_link l;
	struct errbuf eb;
	char mac[18], want[18];

	if (nic_vf_read(dev, &l, &vf, &eb) < 0) {
		fprintf(stderr, "xenith pci nic-vf: set, but reading it back failed: %s\n", eb.msg);
		return;
	}
	for (size_t i = 0; i < l.stored; i++)
		if (vf[i].vf == n)
			v = &vf[i];
	if (!v) {
		printf("%s VF %u: set (its driver does not report VF settings to read back)\n", dev, n);
		free(vf);
		return;
	}
	mac_text(v->mac, mac, sizeof(mac));
	mac_text(s->mac, want, sizeof(want));
	printf("%s VF %u: mac %s, vlan %u, qos %u, spoofchk %s, trust %s\n", dev, n, v->has_mac ? mac : "-", v->vlan,
	       v->qos, tristate(v->spoofchk, false), tristate(v->trust, false));
	if (s->set_mac && v->has_mac && strcmp(mac, want))
		fprintf(stderr, "xenith pci nic-vf: %s VF %u reads back mac %s, not %s\n", dev, n, mac, want);
	if (s->set_vlan && v->has_vlan && (v->vlan != s->vlan || v->qos != s->qos))
		fprintf(stderr, "xenith pci nic-vf: %s VF %u reads back vlan %u qos %u, not %u and %u\n", dev, n, v->vlan,
			v->qos, s->vlan, s->qos);
	if (s->set_spoofchk && v->spoofchk >= 0 && v->spoofchk != s->spoofchk)
		fprintf(stderr, "xenith pci nic-vf: %s VF %u reads back spoofchk %s\n", dev, n,
			tristate(v->spoofchk, false));
	if (s->set_trust && v->trust >= 0 && v->trust != s->trust)
		fprintf(stderr, "xenith pci nic-vf: %s VF %u reads back trust %s\n", dev, n, tristate(v->trust, false));
	free(vf);
}

static int nic_vf_change(const char *dev, const char *vfarg, char **args, int nargs)
{
	struct nic_vf_settings s = { 0 };
	struct errbuf eb;
	char *end;
	unsigned long n;

	n = strtoul(vfarg, &end, 10);
	if (!vfarg[0] || vfarg[0] == '-' || *end || n >= PCI_MAX_VFS) {
		fprintf(stderr, "xenith pci nic-vf: '%s' is not a VF number (0 to %d)\n", vfarg, PCI_MAX_VFS - 1);
		return EXIT_USAGE;
	}
	for (int i = 0; i < nargs; i++)
		if (nic_vf_parse_arg(args[i], &s, &eb) < 0) {
			fprintf(stderr, "xenith pci nic-vf: %s\n", eb.msg);
			return EXIT_USAGE;
		}
	if (!nargs) {
		fprintf(stderr, "xenith pci nic-vf: nothing to set on VF %lu: give mac=M, vlan=V[:QOS], "
				"spoofchk=on|off or trust=on|off (`xenith pci nic-vf %s` lists the VFs)\n", n, dev);
		return EXIT_USAGE;
	}
	if (nic_vf_set(dev, (unsigned)n, &s, &eb) < 0) {
		fprintf(stderr, "xenith pci nic-vf: %s\n", eb.msg);
		return 1;
	}
	nic_vf_readback(dev, (unsigned)n, &s);
	return 0;
}

/* A count argument: 0 to max, or false. */
static bool count_arg(const char *s, unsigned long max, unsigned *out)
{
	char *end;
	unsigned long n;

	if (!s[0] || s[0] == '-')
		return false;
	n = strtoul(s, &end, 10);
	if (*end || n > max)
		return false;
	*out = (unsigned)n;
	return true;
}

int cmd_pci(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "sysfs-root", required_argument, NULL, 'r' },
		{ "autoprobe", no_argument, NULL, 'a' },
		{ "vq", required_argument, NULL, 'q' },
		{ "vi", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *root = getenv("XENITH_SYSFS_ROOT"), *verb;
	struct errbuf eb;
	bool json = false, autoprobe = false, res = false;
	unsigned vq = 2, vi = 1;
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
		case 'q':
		case 'i':
			if (!count_arg(optarg, 65535, c == 'q' ? &vq : &vi)) {
				fprintf(stderr, "xenith pci: --%s '%s' is not a count (0 to 65535)\n", c == 'q' ? "vq" : "vi",
					optarg);
				return EXIT_USAGE;
			}
			res = true;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (res && strcmp(verb, "nvme-online")) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(verb, "list") && optind == argc && !autoprobe)
		return list(root, json);
	if (!strcmp(verb, "nic-vf") && optind == argc - 1 && !autoprobe)
		return nic_vf_show(argv[optind], json);
	if (!strcmp(verb, "nic-vf") && optind < argc - 1 && !autoprobe && !json)
		return nic_vf_change(argv[optind], argv[optind + 1], argv + optind + 2, argc - optind - 2);
	if (!strcmp(verb, "check") && optind == argc - 1 && !autoprobe)
		return check(root, argv[optind], json);
	if (!strcmp(verb, "nvme") && optind == argc - 1 && !autoprobe)
		return nvme_show(root, argv[optind], json);
	if (!strcmp(verb, "nvme-offline") && optind == argc - 1 && !autoprobe && !json)
		return nvme_change(root, verb, argv[optind], 0, 0, 0);
	if (!strcmp(verb, "nvme-online") && optind == argc - 2 && !autoprobe && !json) {
		unsigned n;

		if (!count_arg(argv[optind + 1], PCI_MAX_VFS, &n) || !n) {
			fprintf(stderr, "xenith pci nvme-online: '%s' is not a number of VFs (1 to %d)\n", argv[optind + 1],
				PCI_MAX_VFS);
			return EXIT_USAGE;
		}
		return nvme_change(root, verb, argv[optind], n, vq, vi);
	}
	if (!strcmp(verb, "sriov") && optind == argc - 2 && !json) {
		unsigned n;

		if (!count_arg(argv[optind + 1], PCI_MAX_VFS, &n)) {
			fprintf(stderr, "xenith pci sriov: '%s' is not a number of VFs (0 to %d)\n", argv[optind + 1],
				PCI_MAX_VFS);
			return EXIT_USAGE;
		}
		if (pci_sriov_set(root, argv[optind], n, autoprobe, &eb) < 0) {
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
