// SPDX-License-Identifier: MIT
/* The host's PCI functions from sysfs, and handing them to vfio-pci (pci.h). */
#include "pci.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool pci_bdf_valid(const char *s)
{
	/* DDDD:BB:SS.F */
	static const char shape[] = "xxxx:xx:xx.x";

	if (strlen(s) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; shape[i]; i++) {
		if (shape[i] == 'x' ? !isxdigit((unsigned char)s[i]) : s[i] != shape[i])
			return false;
	}
	return s[11] >= '0' && s[11] <= '7';
}

/* dir/name's first line, without its newline, into buf; false when it cannot be read. */
static bool read_line(const char *dir, const char *name, char *buf, size_t size)
{
	char path[PATH_MAX];
	ssize_t r;
	int fd;

	buf[0] = 0;
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return false;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	r = read(fd, buf, size - 1);
	close(fd);
	if (r < 0)
		return false;
	buf[r] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return true;
}

/* dir/name as a number in base, at most max (sysfs: "0x1b36" in base 16, "4" in base 10). */
static bool read_num(const char *dir, const char *name, int base, unsigned long max, unsigned *out)
{
	char buf[32], *end;
	unsigned long v;

	if (!read_line(dir, name, buf, sizeof(buf)) || !buf[0])
		return false;
	errno = 0;
	v = strtoul(buf, &end, base);
	if (errno || *end || v > max)
		return false;
	*out = (unsigned)v;
	return true;
}

#define read_hex(dir, name, out) read_num(dir, name, 16, 0xffffffu, out)   /* IDs, class: 24 bits at most */
#define read_uint(dir, name, out) read_num(dir, name, 10, PCI_MAX_VFS, out) /* VF counts */

/* The last component of the symlink dir/name into buf; false when there is no such link. */
static bool link_base(const char *dir, const char *name, char *buf, size_t size)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *base;
	ssize_t r;

	buf[0] = 0;
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return false;
	r = readlink(path, target, sizeof(target) - 1);
	if (r <= 0)
		return false;
	target[r] = 0;
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) >= size)
		return false;
	strcpy(buf, base);
	return true;
}

static void read_fn(const char *dir, const char *bdf, struct pci_fn *f)
{
	char group[32], *end;
	DIR *d;

	memset(f, 0, sizeof(*f));
	memcpy(f->bdf, bdf, PCI_BDF_LEN - 1); /* pci_bdf_valid: exactly that long */
	f->iommu_group = -1;
	read_hex(dir, "vendor", &f->vendor);
	read_hex(dir, "device", &f->device);
	read_hex(dir, "class", &f->class_code);
	link_base(dir, "driver", f->driver, sizeof(f->driver));
	if (read_line(dir, "driver_override", f->driver_override, sizeof(f->driver_override)) &&
	    !strcmp(f->driver_override, "(null)"))
		f->driver_override[0] = 0; /* the kernel's word for none */
	if (link_base(dir, "iommu_group", group, sizeof(group)) && group[0]) {
		long g;

		errno = 0;
		g = strtol(group, &end, 10);
		if (!errno && !*end && g >= 0 && g <= INT_MAX)
			f->iommu_group = (int)g;
	}
	if (!link_base(dir, "physfn", f->physfn, sizeof(f->physfn)) || !pci_bdf_valid(f->physfn))
		f->physfn[0] = 0;
	f->sriov_capable = read_uint(dir, "sriov_totalvfs", &f->totalvfs);
	if (f->sriov_capable)
		read_uint(dir, "sriov_numvfs", &f->numvfs);
	d = opendir(dir);
	if (!d)
		return;
	for (struct dirent *e; (e = readdir(d));)
		if (!strncmp(e->d_name, "virtfn", 6) && isdigit((unsigned char)e->d_name[6]))
			f->nvfs++;
	closedir(d);
}

static int by_bdf(const void *a, const void *b)
{
	return strcmp(((const struct pci_fn *)a)->bdf, ((const struct pci_fn *)b)->bdf);
}

int pci_scan(const char *root, struct pci_list *l, struct errbuf *eb)
{
	char devs[PATH_MAX], dir[PATH_MAX + 256];
	size_t cap = 0;
	DIR *d;

	l->fn = NULL;
	l->n = 0;
	if (snprintf(devs, sizeof(devs), "%s/bus/pci/devices", root) >= (int)sizeof(devs))
		return errbuf_set(eb, ENAMETOOLONG, "%s: the sysfs root's path is too long", root);
	d = opendir(devs);
	if (!d)
		return errbuf_set(eb, errno, "%s: %s (no PCI bus in this sysfs: is %s sysfs?)", devs, strerror(errno),
				  root);
	for (struct dirent *e; (e = readdir(d));) {
		if (!pci_bdf_valid(e->d_name))
			continue;
		if (l->n == cap) {
			struct pci_fn *nf = realloc(l->fn, (cap ? cap * 2 : 32) * sizeof(*nf));

			if (!nf) {
				closedir(d);
				pci_list_free(l);
				return errbuf_set(eb, ENOMEM, "listing %s: out of memory", devs);
			}
			l->fn = nf;
			cap = cap ? cap * 2 : 32;
		}
		snprintf(dir, sizeof(dir), "%s/%s", devs, e->d_name);
		read_fn(dir, e->d_name, &l->fn[l->n++]);
	}
	closedir(d);
	if (l->n)
		qsort(l->fn, l->n, sizeof(*l->fn), by_bdf);
	return 0;
}

void pci_list_free(struct pci_list *l)
{
	free(l->fn);
	l->fn = NULL;
	l->n = 0;
}

const struct pci_fn *pci_find(const struct pci_list *l, const char *bdf)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->fn[i].bdf, bdf))
			return &l->fn[i];
	return NULL;
}

/* May f stay in the group of a function given to a domain (VFIO's viability)? */
static bool harmless_neighbour(const struct pci_fn *f)
{
	if (!f->driver[0] || !strcmp(f->driver, "vfio-pci") || !strcmp(f->driver, "pci-stub"))
		return true;
	return !strcmp(f->driver, "pcieport") && (f->class_code >> 8) == 0x0604; /* a PCI bridge */
}

bool pci_assignable(const struct pci_list *l, size_t i, char *why, size_t whylen)
{
	const struct pci_fn *f = &l->fn[i];

	if (f->iommu_group < 0) {
		snprintf(why, whylen, "no IOMMU group: the IOMMU is off or absent (intel_iommu=on or amd_iommu=on "
				      "on the kernel command line, and VT-d or AMD-Vi in the firmware)");
		return false;
	}
	if (strcmp(f->driver, "vfio-pci")) {
		snprintf(why, whylen, "%s%s%s: `xenith pci assignable-add %s` hands it to vfio-pci",
			 f->driver[0] ? "bound to the host driver " : "not bound to vfio-pci",
			 f->driver[0] ? f->driver : "", f->driver[0] ? "" : " (no driver)", f->bdf);
		return false;
	}
	for (size_t k = 0; k < l->n; k++) {
		const struct pci_fn *o = &l->fn[k];

		if (k != i && o->iommu_group == f->iommu_group && !harmless_neighbour(o)) {
			snprintf(why, whylen, "IOMMU group %d also holds %s, bound to the host driver %s: VFIO takes a "
					      "group whole (`xenith pci assignable-add %s` too)",
				 f->iommu_group, o->bdf, o->driver, o->bdf);
			return false;
		}
	}
	snprintf(why, whylen, "assignable");
	return true;
}

/* Writes text to the sysfs attribute path. */
static int write_attr(const char *path, const char *text, struct errbuf *eb)
{
	size_t len = strlen(text);
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC), e; /* O_TRUNC: as a shell's >; sysfs ignores it */
	ssize_t w;

	if (fd < 0)
		return errbuf_set(eb, errno, "%s: %s%s", path, strerror(errno),
				  errno == EACCES || errno == EPERM ? " (needs root)" : "");
	w = write(fd, text, len);
	e = errno;
	close(fd);
	if (w < 0)
		return errbuf_set(eb, e, "writing '%s' to %s: %s", text, path, strerror(e));
	if ((size_t)w != len)
		return errbuf_set(eb, EIO, "writing '%s' to %s: only %zd bytes taken", text, path, w);
	return 0;
}

int pci_fn_dir(const char *root, const char *bdf, char *dir, size_t size, struct errbuf *eb)
{
	struct stat st;

	if (!pci_bdf_valid(bdf))
		return errbuf_set(eb, EINVAL, "'%s' is not a PCI address DDDD:BB:SS.F (as `xenith pci list` prints)",
				  bdf);
	if (snprintf(dir, size, "%s/bus/pci/devices/%s", root, bdf) >= (int)size)
		return errbuf_set(eb, ENAMETOOLONG, "%s: the sysfs root's path is too long", root);
	if (stat(dir, &st) < 0)
		return errbuf_set(eb, errno, "no PCI function %s on this host (%s: %s); `xenith pci list` lists them",
				  bdf, dir, strerror(errno));
	return 0;
}

/* Unbinds bdf from its driver (if any), then asks the kernel to probe it again. */
static int rebind(const char *root, const char *dir, const char *bdf, struct errbuf *eb)
{
	char path[PATH_MAX + 64], drv[64];
	int r;

	if (link_base(dir, "driver", drv, sizeof(drv))) {
		snprintf(path, sizeof(path), "%s/driver/unbind", dir);
		r = write_attr(path, bdf, eb);
		if (r < 0)
			return errbuf_prefix(eb, -r, "%s: unbinding it from %s", bdf, drv);
	}
	snprintf(path, sizeof(path), "%s/bus/pci/drivers_probe", root);
	r = write_attr(path, bdf, eb);
	if (r < 0)
		return errbuf_prefix(eb, -r, "%s: probing it again", bdf);
	return 0;
}

bool pci_fn_driver(const char *dir, char *buf, size_t size)
{
	return link_base(dir, "driver", buf, size);
}

bool pci_virtfn(const char *root, const char *pf, unsigned k, char *bdf)
{
	char dir[PATH_MAX], name[32];

	snprintf(name, sizeof(name), "virtfn%u", k);
	return pci_bdf_valid(pf) && snprintf(dir, sizeof(dir), "%s/bus/pci/devices/%s", root, pf) < (int)sizeof(dir) &&
	       link_base(dir, name, bdf, PCI_BDF_LEN);
}

int pci_assignable_add(const char *root, const char *bdf, struct errbuf *eb)
{
	char dir[PATH_MAX], path[PATH_MAX + 32], drv[64];
	int r = pci_fn_dir(root, bdf, dir, sizeof(dir), eb);

	if (r < 0)
		return r;
	if (link_base(dir, "driver", drv, sizeof(drv)) && !strcmp(drv, "vfio-pci"))
		return 0; /* already there */
	snprintf(path, sizeof(path), "%s/driver_override", dir);
	r = write_attr(path, "vfio-pci", eb);
	if (r < 0)
		return errbuf_prefix(eb, -r, "%s: setting driver_override", bdf);
	r = rebind(root, dir, bdf, eb);
	if (r < 0)
		return r;
	if (!link_base(dir, "driver", drv, sizeof(drv)) || strcmp(drv, "vfio-pci"))
		return errbuf_set(eb, ENODEV, "%s: driver_override is vfio-pci, but vfio-pci did not take it (%s): "
					      "is the module loaded? (modprobe vfio-pci)",
				  bdf, drv[0] ? drv : "no driver now");
	return 0;
}

int pci_assignable_remove(const char *root, const char *bdf, struct errbuf *eb)
{
	char dir[PATH_MAX], path[PATH_MAX + 32], drv[64] = "", over[64] = "";
	int r = pci_fn_dir(root, bdf, dir, sizeof(dir), eb);

	if (r < 0)
		return r;
	/* Only a function handed over: a typo must not take a host device from its driver. */
	link_base(dir, "driver", drv, sizeof(drv));
	read_line(dir, "driver_override", over, sizeof(over));
	if (strcmp(drv, "vfio-pci") && strcmp(over, "vfio-pci"))
		return errbuf_set(eb, EINVAL, "%s is not assignable now (%s%s, no vfio-pci override): nothing to remove",
				  bdf, drv[0] ? "driver " : "no driver", drv);
	snprintf(path, sizeof(path), "%s/driver_override", dir);
	r = write_attr(path, "\n", eb); /* an empty override: the kernel matches by ID again */
	if (r < 0)
		return errbuf_prefix(eb, -r, "%s: clearing driver_override", bdf);
	return rebind(root, dir, bdf, eb);
}

int pci_sriov_set(const char *root, const char *pf, unsigned n, bool autoprobe, struct errbuf *eb)
{
	char dir[PATH_MAX], path[PATH_MAX + 32], num[16], drv[64] = "";
	unsigned total, cur;
	int r = pci_fn_dir(root, pf, dir, sizeof(dir), eb);

	if (r < 0)
		return r;
	if (!read_uint(dir, "sriov_totalvfs", &total))
		return errbuf_set(eb, EOPNOTSUPP, "%s has no SR-IOV capability (no sriov_totalvfs): `xenith pci list` "
						  "shows which functions are PFs", pf);
	if (n > total)
		return errbuf_set(eb, ERANGE, "%s supports at most %u VFs (sriov_totalvfs), not %u", pf, total, n);
	if (!read_uint(dir, "sriov_numvfs", &cur))
		return errbuf_set(eb, EIO, "%s: sriov_numvfs cannot be read", pf);
	if (cur == n)
		return 0;
	link_base(dir, "driver", drv, sizeof(drv));
	snprintf(path, sizeof(path), "%s/sriov_numvfs", dir);
	if (cur && n) { /* the kernel takes a new count only from 0 */
		r = write_attr(path, "0", eb);
		if (r < 0)
			return errbuf_prefix(eb, -r, "%s: disabling its %u VFs first", pf, cur);
	}
	if (n) {
		char ap[PATH_MAX + 32];

		snprintf(ap, sizeof(ap), "%s/sriov_drivers_autoprobe", dir);
		r = write_attr(ap, autoprobe ? "1" : "0", eb);
		if (r < 0)
			return errbuf_prefix(eb, -r, "%s: setting sriov_drivers_autoprobe", pf);
	}
	snprintf(num, sizeof(num), "%u", n);
	r = write_attr(path, num, eb);
	if (r == -EOPNOTSUPP || r == -ENOENT || r == -ENODEV)
		return errbuf_set(eb, -r, "%s: its driver (%s) cannot enable VFs: bind it to its own driver (nvme, ...) "
					  "or to vfio-pci loaded with enable_sriov=1", pf, drv[0] ? drv : "none");
	if (r < 0)
		return errbuf_prefix(eb, -r, "%s: setting %u VFs", pf, n);
	if (!read_uint(dir, "sriov_numvfs", &cur) || cur != n)
		return errbuf_set(eb, EIO, "%s: sriov_numvfs reads %u after writing %u", pf, cur, n);
	return 0;
}
