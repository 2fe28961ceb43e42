/* SPDX-License-Identifier: MIT */
/*
 * The host's PCI functions as sysfs shows them (ROOT/bus/pci/devices/BDF):
 * IDs, class, driver, IOMMU group, SR-IOV relations (a VF's physfn, a PF's
 * virtfnN, sriov_totalvfs and sriov_numvfs), and whether a function can be
 * given to a domain, with the reason when it cannot.  ROOT is "/sys" on a
 * host; unit tests pass a fake tree (sriov/tests/test_pci.c).
 *
 * Assignable, as VFIO will take it: the function is in an IOMMU group, is
 * bound to vfio-pci, and every other function of its group is bound to
 * vfio-pci or pci-stub, is a bridge bound to pcieport, or has no driver (a
 * group with a device still on a host driver is not viable: VFIO refuses
 * the whole group).
 */
#ifndef XENITH_SRIOV_PCI_H
#define XENITH_SRIOV_PCI_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define PCI_BDF_LEN 13 /* "0000:00:03.1" and its NUL */
#define PCI_MAX_VFS 65535 /* TotalVFs is a 16-bit field of the SR-IOV capability */

struct pci_fn {
	char bdf[PCI_BDF_LEN];
	unsigned vendor, device, class_code; /* class_code: 24 bits, 0x010802 an NVMe controller */
	char driver[64];                     /* "" when none is bound */
	char driver_override[64];            /* "" when none is set */
	int iommu_group;                     /* -1: none (the IOMMU is off or absent) */
	char physfn[PCI_BDF_LEN];            /* a VF: its PF; "" otherwise */
	bool sriov_capable;                  /* a PF: sriov_totalvfs is there */
	unsigned totalvfs, numvfs;
	unsigned nvfs;                       /* the virtfnN links found (numvfs when sysfs is consistent) */
};

struct pci_list {
	struct pci_fn *fn;
	size_t n;
};

/*
 * Reads every function under root/bus/pci/devices into l, sorted by BDF.
 * 0, or -errno with a message in eb (a missing root names itself).
 * A function whose files cannot be read is listed with what could be.
 */
int pci_scan(const char *root, struct pci_list *l, struct errbuf *eb);
void pci_list_free(struct pci_list *l);

/* The function bdf in l, or NULL. */
const struct pci_fn *pci_find(const struct pci_list *l, const char *bdf);

/* true when l->fn[i] can be given to a domain; otherwise false and why (with what to do). */
bool pci_assignable(const struct pci_list *l, size_t i, char *why, size_t whylen);

/* true when s is a BDF in sysfs's form: DDDD:BB:SS.F, hexadecimal, function 0-7. */
bool pci_bdf_valid(const char *s);

/* root/bus/pci/devices/bdf into dir, after checking bdf and that the function is there; 0 or -errno. */
int pci_fn_dir(const char *root, const char *bdf, char *dir, size_t size, struct errbuf *eb);
/* The driver bound to the function in sysfs directory dir, in buf; false (buf "") when none. */
bool pci_fn_driver(const char *dir, char *buf, size_t size);
/* VF k (0-based, the kernel's virtfnK) of PF pf into bdf; false when it has none such. */
bool pci_virtfn(const char *root, const char *pf, unsigned k, char *bdf);

/*
 * xl's pci-assignable-add: sets driver_override to vfio-pci, unbinds the
 * function from its driver, and asks the kernel to probe it again, so that
 * vfio-pci takes it.  assignable-remove clears driver_override, unbinds it
 * from vfio-pci and probes again (its own driver comes back).  0, or
 * -errno with the sysfs file and what to do in eb.
 */
int pci_assignable_add(const char *root, const char *bdf, struct errbuf *eb);
int pci_assignable_remove(const char *root, const char *bdf, struct errbuf *eb);

/*
 * Sets the number of VFs of PF pf to n (0 disables them), as
 * sriov_numvfs does: from a non-zero count to another, through 0 first (the
 * kernel refuses a change in place).  autoprobe false writes
 * sriov_drivers_autoprobe = 0 first, so the new VFs stay without a driver
 * (for vfio-pci, or for an NVMe PF whose VFs are offline until the PF gives
 * them queues).  Checks n against sriov_totalvfs and reads sriov_numvfs back.
 * 0, or -errno with what to do in eb.
 */
int pci_sriov_set(const char *root, const char *pf, unsigned n, bool autoprobe, struct errbuf *eb);

#endif
