// SPDX-License-Identifier: MIT
/*
 * The `pci` benchmark suite: what passthrough costs.  For each job, in
 * interleaved repetitions, the same fio-style load (nvme/job.h, one queue
 * pair) on the same NVMe virtual function:
 *
 *   native   the function held through VFIO by vfio-nvme-io (the NVMe
 *            driver core of minios, run as a host program), completions
 *            by MSI-X on an eventfd, or polled for the vf-poll rows;
 *   vf       a minios guest holding the function (pci = [...]) running
 *            `blk ... pci=0`: its MMIO straight to the device, its DMA
 *            through the IOMMU, MSI-X through an event channel;
 *   vf-poll  the same guest polling its completion queue (irq=0);
 *   pv       a minios guest with a PV disk backed by the block device of
 *            the namespace (the PF's, which the VF serves) through the
 *            split driver, the host's nvme driver and io_uring underneath.
 *
 * Series per job and mode: "<job>@<mode>" in IOPS and "<job>-p99@<mode>"
 * in microseconds, guest and native (the native run next to that mode's
 * guest run).  Only reads: the namespace holds whatever its owner put there.
 *
 * Which function: $XENITH_PCI_VF, or the first NVMe VF (class 010802,
 * physfn) bound to vfio-pci; the PV disk: $XENITH_PCI_DISK, or the PF's
 * namespace 1 (/dev/nvmeKn1 for its controller nvmeK).  Nothing to run on
 * is a note in the run, not a failure.  In the lab these are emulation
 * figures (QEMU's NVMe under TCG), functional checks only; on a host with
 * a real SR-IOV NVMe device the same command measures hardware.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blkbench.h"
#include "pci.h"
#include "pcibench.h"

struct pci_job {
	const char *name, *rw, *dir;
	unsigned bs, iodepth;
};

static const struct pci_job jobs[] = {
	{ "randread-4k-qd1", "randread", "read", 4096, 1 },
	{ "randread-4k-qd16", "randread", "read", 4096, 16 },
	{ "seqread-128k-qd4", "read", "read", 131072, 4 },
};
#define NR_JOBS (sizeof(jobs) / sizeof(jobs[0]))

enum pci_mode { MODE_VF, MODE_VF_POLL, MODE_PV, NR_MODES };
static const char *const mode_names[NR_MODES] = { "vf", "vf-poll", "pv" };

bool pci_job_exists(const char *name)
{
	for (size_t j = 0; j < NR_JOBS; j++)
		if (!strcmp(jobs[j].name, name))
			return true;
	return false;
}

void pci_list(void)
{
	for (size_t j = 0; j < NR_JOBS; j++)
		printf("%-8s %-16s %-10s %-6s higher (and p99 us, lower; modes vf, vf-poll, pv; native: the driver "
		       "over VFIO; run only when named)\n", "pci", jobs[j].name, "IOPS", "yes");
}

/* A sentence for the run's note, and on stderr. */
static void note(struct bench_run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct bench_run *run, const char *fmt, ...)
{
	size_t n = strlen(run->note);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(run->note + n, sizeof(run->note) - n, fmt, ap);
	va_end(ap);
	fprintf(stderr, "xenith bench: %s\n", run->note + n);
}

/* The first NVMe VF on vfio-pci, and its PF; false if there is none. */
static bool find_vf(char *vf, char *pf)
{
	struct pci_list l;
	struct errbuf eb;
	bool found = false;

	if (pci_scan("/sys", &l, &eb) < 0)
		return false;
	for (size_t i = 0; i < l.n && !found; i++) {
		const struct pci_fn *f = &l.fn[i];

		if (f->class_code == 0x010802 && f->physfn[0] && !strcmp(f->driver, "vfio-pci")) {
			snprintf(vf, PCI_BDF_LEN, "%s", f->bdf);
			snprintf(pf, PCI_BDF_LEN, "%s", f->physfn);
			found = true;
		}
	}
	pci_list_free(&l);
	return found;
}

/* /dev/nvmeKn1 for the PF's controller nvmeK, if it exists. */
static bool find_namespace(const char *pf, char *path, size_t size)
{
	char dir[PATH_MAX];
	struct dirent *e;
	DIR *d;
	bool found = false;

	snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s/nvme", pf);
	d = opendir(dir);
	if (!d)
		return false;
	while (!found && (e = readdir(d))) {
		if (strncmp(e->d_name, "nvme", 4) || !e->d_name[4])
			continue;
		snprintf(path, size, "/dev/%sn1", e->d_name);
		found = access(path, R_OK) == 0;
	}
	closedir(d);
	return found;
}

/* The native runner: next to xenith (an installed tree, the lab) or where the build puts it. */
static bool find_native(const char *xenith, char *path, size_t size)
{
	static const char *const rel[] = { "vfio-nvme-io", "../iommu/tests/vfio-nvme-io" };
	size_t dirlen = (size_t)(strrchr(xenith, '/') - xenith);

	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		if (dirlen + 1 + strlen(rel[i]) + 1 > size)
			return false;
		memcpy(path, xenith, dirlen);
		path[dirlen] = '/';
		strcpy(path + dirlen + 1, rel[i]);
		if (access(path, X_OK) == 0)
			return true;
	}
	return false;
}

/* argv's blk-json line into iops and p99 (us): 0, or -1 with why. */
static int run_json(const char *const *argv, const char *dir, double *iops, double *p99, char *why, size_t whylen)
{
	char *out, *line;
	int st, r;

	st = bench_run_capture(argv, &out);
	line = out ? strstr(out, "blk-json: ") : NULL;
	if (st != 0 || !line) {
		/* What the program said of it: the guest's or vfio-nvme-io's "blk: ..." line, if any. */
		const char *said = out ? strstr(out, "blk: ") : NULL;

		snprintf(why, whylen, "%s exited with status %d%s%s%.*s", argv[0], st,
			 line ? "" : " without a blk-json line", said ? ": " : "",
			 said ? (int)strcspn(said, "\r\n") : 0, said ? said : "");
		free(out);
		return -1;
	}
	line += strlen("blk-json: ");
	line[strcspn(line, "\r\n")] = 0;
	r = blk_parse_job_json(line, dir, iops, p99, why, whylen);
	free(out);
	return r;
}

static int run_native(const char *native, const char *vf, const struct pci_job *j, bool irq, unsigned secs,
		      double *iops, double *p99, char *why, size_t whylen)
{
	char a_rw[32], a_bs[32], a_qd[32], a_rt[32], a_irq[16];
	const char *argv[] = { native, vf, "run", a_rw, a_bs, a_qd, a_rt, a_irq, NULL };

	snprintf(a_rw, sizeof(a_rw), "rw=%s", j->rw);
	snprintf(a_bs, sizeof(a_bs), "bs=%u", j->bs);
	snprintf(a_qd, sizeof(a_qd), "iodepth=%u", j->iodepth);
	snprintf(a_rt, sizeof(a_rt), "runtime=%u", secs * 1000);
	snprintf(a_irq, sizeof(a_irq), "irq=%d", irq);
	return run_json(argv, j->dir, iops, p99, why, whylen);
}

static int run_guest(const char *xenith, const char *vf, const char *disk, const struct pci_job *j,
		     enum pci_mode m, unsigned secs, bool no_seccomp, double *iops, double *p99, char *why,
		     size_t whylen)
{
	char cmd[192], dev[PATH_MAX + 32];
	const char *argv[] = { xenith, "run", "-q", "-n", "xenith-pcibench", "-m", "64", "--timeout", "120",
			       m == MODE_PV ? "--disk" : "--pci", dev, "--cmdline", cmd,
			       no_seccomp ? "--no-seccomp" : NULL, NULL };

	if (m == MODE_PV)
		snprintf(dev, sizeof(dev), "path=%s,ro=1", disk);
	else
		snprintf(dev, sizeof(dev), "%s", vf);
	snprintf(cmd, sizeof(cmd), "blk rw=%s bs=%u iodepth=%u runtime=%u %s", j->rw, j->bs, j->iodepth, secs * 1000,
		 m == MODE_PV ? "disk=0" : m == MODE_VF_POLL ? "pci=0 irq=0" : "pci=0");
	return run_json(argv, j->dir, iops, p99, why, whylen);
}

int run_pci(struct bench_run *run, const struct pci_bench_opts *o, void (*progress)(const char *, ...))
{
	char xenith[PATH_MAX], native[PATH_MAX], vf[PCI_BDF_LEN] = "", pf[PCI_BDF_LEN] = "", disk[PATH_MAX] = "";
	char why[256];
	unsigned secs = o->quick ? 1 : 3, total, done = 0;
	bool have_pv;
	ssize_t n;

	n = readlink("/proc/self/exe", xenith, sizeof(xenith) - 16);
	if (n <= 0)
		return -1;
	xenith[n] = 0;
	strcpy(strrchr(xenith, '/') + 1, "xenith");
	if (getenv("XENITH_PCI_VF") && *getenv("XENITH_PCI_VF")) {
		char link[PATH_MAX], target[PATH_MAX];
		ssize_t k;

		snprintf(vf, sizeof(vf), "%.12s", getenv("XENITH_PCI_VF"));
		snprintf(link, sizeof(link), "/sys/bus/pci/devices/%s", vf);
		if (!pci_bdf_valid(getenv("XENITH_PCI_VF")) || access(link, F_OK) < 0) {
			fprintf(stderr, "xenith bench: pci: XENITH_PCI_VF=%s: no such PCI function (DDDD:BB:SS.F, as "
				"`xenith pci list` prints)\n", getenv("XENITH_PCI_VF"));
			return -1;
		}
		snprintf(link, sizeof(link), "/sys/bus/pci/devices/%s/physfn", vf);
		k = readlink(link, target, sizeof(target) - 1);
		if (k > 0) { /* its PF, for the PV disk on the namespace */
			target[k] = 0;
			snprintf(pf, sizeof(pf), "%.12s", strrchr(target, '/') ? strrchr(target, '/') + 1 : target);
		}
	} else if (!find_vf(vf, pf)) {
		note(run, "pci: not run: no NVMe virtual function on vfio-pci (`xenith pci nvme-online PF N` and "
			  "`xenith pci assignable-add VF`, or set XENITH_PCI_VF). ");
		return 0;
	}
	if (!find_native(xenith, native, sizeof(native))) {
		note(run, "pci: not run: the native runner vfio-nvme-io is not next to %s (a build tree or the "
			  "lab has it). ", xenith);
		return 0;
	}
	if (getenv("XENITH_PCI_DISK") && *getenv("XENITH_PCI_DISK"))
		snprintf(disk, sizeof(disk), "%s", getenv("XENITH_PCI_DISK"));
	else if (pf[0])
		find_namespace(pf, disk, sizeof(disk));
	have_pv = disk[0] != 0;
	if (!have_pv)
		note(run, "pci: the pv rows not run: no block device for the namespace of %s (set XENITH_PCI_DISK). ", vf);
	fprintf(stderr, "xenith bench: pci: %s (native: %s), PV disk %s\n", vf, native, have_pv ? disk : "none");
	bench_unpin();
	total = (o->warmup + o->repeat) * (unsigned)(NR_JOBS * NR_MODES);
	for (unsigned rep = 0; rep < o->warmup + o->repeat; rep++) {
		for (size_t j = 0; j < NR_JOBS; j++) {
			if (o->only && !o->only(o->opaque, jobs[j].name)) {
				done += NR_MODES;
				continue;
			}
			for (unsigned m = 0; m < NR_MODES; m++) {
				double ni, np, gi, gp;

				done++;
				if (m == MODE_PV && !have_pv)
					continue;
				progress("pci %u/%u: %s, native then guest (%s)%s", done, total, jobs[j].name, mode_names[m],
					 rep < o->warmup ? " [warm-up]" : "");
				if (run_native(native, vf, &jobs[j], m != MODE_VF_POLL, secs, &ni, &np, why, sizeof(why)) < 0 ||
				    run_guest(xenith, vf, disk, &jobs[j], m, secs, o->no_seccomp, &gi, &gp, why,
					      sizeof(why)) < 0) {
					fprintf(stderr, "\nxenith bench: pci %s (%s): %s\n", jobs[j].name, mode_names[m], why);
					return -1;
				}
				if (rep < o->warmup)
					continue;
				if (bench_job_pair_add(run, "pci", jobs[j].name, mode_names[m], ni, gi, np, gp) < 0)
					return -1;
			}
		}
	}
	return 0;
}

void bench_print_pci(const struct bench_run *run)
{
	bench_print_job_table(run, "pci", "(VFIO)");
}
