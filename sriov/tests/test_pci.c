// SPDX-License-Identifier: MIT
/*
 * unit tier: sriov/pci.c against a fake sysfs tree built per test in a
 * temporary directory (files and symlinks laid out as the kernel's):
 * functions read with IDs, class, driver, IOMMU group and SR-IOV
 * relations; assignability and its reasons; assignable-add and -remove
 * write driver_override, unbind and drivers_probe in that order, refuse
 * what they must, and say what went wrong.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "pci.h"

static char root[PATH_MAX];

static void put(const char *rel, const char *text)
{
	char path[PATH_MAX * 2];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void dir(const char *rel)
{
	char path[PATH_MAX * 2], *p;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
		*p = 0;
		mkdir(path, 0755);
		*p = '/';
	}
	mkdir(path, 0755);
}

static void link_to(const char *rel, const char *target)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	unlink(path);
	assert_int_equal(symlink(target, path), 0);
}

static char *get(const char *rel)
{
	static char buf[256];
	char path[PATH_MAX * 2];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	buf[0] = 0;
	f = fopen(path, "r");
	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

/* One function: IDs and class as the kernel prints them, driver and group as links (NULL / -1: none). */
static void fn(const char *bdf, const char *vendor, const char *device, const char *class, const char *driver,
	       int group)
{
	char d[64], p[128], t[128];

	snprintf(d, sizeof(d), "bus/pci/devices/%s", bdf);
	dir(d);
	snprintf(p, sizeof(p), "%s/vendor", d), put(p, vendor);
	snprintf(p, sizeof(p), "%s/device", d), put(p, device);
	snprintf(p, sizeof(p), "%s/class", d), put(p, class);
	snprintf(p, sizeof(p), "%s/driver_override", d), put(p, "(null)\n");
	if (driver) {
		snprintf(p, sizeof(p), "bus/pci/drivers/%s", driver);
		dir(p);
		snprintf(p, sizeof(p), "bus/pci/drivers/%s/unbind", driver), put(p, "");
		snprintf(p, sizeof(p), "%s/driver", d);
		snprintf(t, sizeof(t), "../../drivers/%s", driver);
		link_to(p, t);
	}
	if (group >= 0) {
		snprintf(p, sizeof(p), "kernel/iommu_groups/%d", group);
		dir(p);
		snprintf(p, sizeof(p), "%s/iommu_group", d);
		snprintf(t, sizeof(t), "../../../../kernel/iommu_groups/%d", group);
		link_to(p, t);
	}
}

/*
 * The lab's shape: an NVMe PF 00:03.0 with 4 VFs possible and 2 enabled
 * (00:03.1 on vfio-pci in group 7, 00:03.2 on nvme in group 8), the PF in
 * group 6 on nvme; a SATA controller 00:1f.2 on ahci sharing group 9 with
 * 00:1f.3 on vfio-pci; a bridge 00:1c.0 on pcieport with 00:1c.1 (vfio-pci)
 * in group 10; a virtio device 00:05.0 in no group.
 */
static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "%s/xenith-sriov-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(root));
	dir("bus/pci/devices");
	put("bus/pci/drivers_probe", "");
	fn("0000:00:03.0", "0x1b36\n", "0x0010\n", "0x010802\n", "nvme", 6);
	put("bus/pci/devices/0000:00:03.0/sriov_totalvfs", "4\n");
	put("bus/pci/devices/0000:00:03.0/sriov_numvfs", "2\n");
	fn("0000:00:03.1", "0x1b36\n", "0x0010\n", "0x010802\n", "vfio-pci", 7);
	fn("0000:00:03.2", "0x1b36\n", "0x0010\n", "0x010802\n", "nvme", 8);
	link_to("bus/pci/devices/0000:00:03.0/virtfn0", "../0000:00:03.1");
	link_to("bus/pci/devices/0000:00:03.0/virtfn1", "../0000:00:03.2");
	link_to("bus/pci/devices/0000:00:03.1/physfn", "../0000:00:03.0");
	link_to("bus/pci/devices/0000:00:03.2/physfn", "../0000:00:03.0");
	fn("0000:00:1f.2", "0x8086\n", "0x2922\n", "0x010601\n", "ahci", 9);
	fn("0000:00:1f.3", "0x8086\n", "0x2930\n", "0x0c0500\n", "vfio-pci", 9);
	fn("0000:00:1c.0", "0x8086\n", "0x2940\n", "0x060400\n", "pcieport", 10);
	fn("0000:00:1c.1", "0x8086\n", "0x10d3\n", "0x020000\n", "vfio-pci", 10);
	fn("0000:00:05.0", "0x1af4\n", "0x1041\n", "0x020000\n", "virtio-pci", -1);
	dir("bus/pci/devices/not-a-bdf"); /* ignored */
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_functions_are_read_with_ids_driver_group_and_sriov_relations(void **state)
{
	struct pci_list l;
	struct errbuf eb;
	const struct pci_fn *pf, *vf, *v;

	(void)state;
	assert_int_equal(pci_scan(root, &l, &eb), 0);
	assert_int_equal(l.n, 8);
	assert_string_equal(l.fn[0].bdf, "0000:00:03.0"); /* sorted */
	assert_string_equal(l.fn[7].bdf, "0000:00:1f.3");
	pf = pci_find(&l, "0000:00:03.0");
	assert_non_null(pf);
	assert_int_equal(pf->vendor, 0x1b36);
	assert_int_equal(pf->device, 0x0010);
	assert_int_equal(pf->class_code, 0x010802);
	assert_string_equal(pf->driver, "nvme");
	assert_string_equal(pf->driver_override, ""); /* "(null)" is none */
	assert_int_equal(pf->iommu_group, 6);
	assert_true(pf->sriov_capable);
	assert_int_equal(pf->totalvfs, 4);
	assert_int_equal(pf->numvfs, 2);
	assert_int_equal(pf->nvfs, 2);
	assert_string_equal(pf->physfn, "");
	vf = pci_find(&l, "0000:00:03.1");
	assert_string_equal(vf->physfn, "0000:00:03.0");
	assert_false(vf->sriov_capable);
	assert_string_equal(vf->driver, "vfio-pci");
	v = pci_find(&l, "0000:00:05.0");
	assert_int_equal(v->iommu_group, -1);
	assert_null(pci_find(&l, "0000:00:09.0"));
	pci_list_free(&l);
}

static bool assignable(const struct pci_list *l, const char *bdf, char *why, size_t size)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->fn[i].bdf, bdf))
			return pci_assignable(l, i, why, size);
	fail_msg("no %s", bdf);
	return false;
}

static void test_assignability_and_its_reasons(void **state)
{
	struct pci_list l;
	struct errbuf eb;
	char why[512];

	(void)state;
	assert_int_equal(pci_scan(root, &l, &eb), 0);
	assert_true(assignable(&l, "0000:00:03.1", why, sizeof(why))); /* a VF alone in its group on vfio-pci */
	assert_false(assignable(&l, "0000:00:03.2", why, sizeof(why)));
	assert_non_null(strstr(why, "bound to the host driver nvme"));
	assert_non_null(strstr(why, "xenith pci assignable-add 0000:00:03.2"));
	assert_false(assignable(&l, "0000:00:05.0", why, sizeof(why)));
	assert_non_null(strstr(why, "no IOMMU group"));
	/* on vfio-pci, but its group also holds a function on a host driver */
	assert_false(assignable(&l, "0000:00:1f.3", why, sizeof(why)));
	assert_non_null(strstr(why, "IOMMU group 9 also holds 0000:00:1f.2, bound to the host driver ahci"));
	/* a bridge on pcieport in the group is no obstacle */
	assert_true(assignable(&l, "0000:00:1c.1", why, sizeof(why)));
	pci_list_free(&l);
	/* without a driver at all */
	unlink(strcat(strcpy(why, root), "/bus/pci/devices/0000:00:03.2/driver"));
	assert_int_equal(pci_scan(root, &l, &eb), 0);
	assert_false(assignable(&l, "0000:00:03.2", why, sizeof(why)));
	assert_non_null(strstr(why, "not bound to vfio-pci (no driver)"));
	pci_list_free(&l);
}

static void test_assignable_add_overrides_unbinds_and_probes(void **state)
{
	struct errbuf eb;
	char *s;

	(void)state;
	/* the fake kernel binds nothing: every write done, then the refusal that says so */
	assert_int_equal(pci_assignable_add(root, "0000:00:03.2", &eb), -ENODEV);
	assert_non_null(strstr(eb.msg, "vfio-pci did not take it"));
	assert_non_null(strstr(eb.msg, "modprobe vfio-pci"));
	s = get("bus/pci/devices/0000:00:03.2/driver_override");
	assert_string_equal(s, "vfio-pci");
	s = get("bus/pci/drivers/nvme/unbind");
	assert_string_equal(s, "0000:00:03.2");
	s = get("bus/pci/drivers_probe");
	assert_string_equal(s, "0000:00:03.2");
	/* already on vfio-pci: nothing written */
	put("bus/pci/drivers_probe", "");
	assert_int_equal(pci_assignable_add(root, "0000:00:03.1", &eb), 0);
	assert_string_equal(get("bus/pci/drivers_probe"), "");
	assert_string_equal(get("bus/pci/devices/0000:00:03.1/driver_override"), "(null)\n");
}

static void test_assignable_remove_gives_back_only_a_handed_over_function(void **state)
{
	struct errbuf eb;

	(void)state;
	assert_int_equal(pci_assignable_remove(root, "0000:00:03.1", &eb), 0);
	assert_string_equal(get("bus/pci/devices/0000:00:03.1/driver_override"), "\n");
	assert_string_equal(get("bus/pci/drivers/vfio-pci/unbind"), "0000:00:03.1");
	assert_string_equal(get("bus/pci/drivers_probe"), "0000:00:03.1");
	/* a function on its host driver, no override: a typo must not unbind it */
	assert_int_equal(pci_assignable_remove(root, "0000:00:1f.2", &eb), -EINVAL);
	assert_non_null(strstr(eb.msg, "not assignable now (driver ahci"));
	assert_string_equal(get("bus/pci/drivers/ahci/unbind"), "");
}

static void test_bad_addresses_and_roots_are_named(void **state)
{
	struct pci_list l;
	struct errbuf eb;
	char bad[PATH_MAX + 16];

	(void)state;
	assert_false(pci_bdf_valid("00:03.0"));
	assert_false(pci_bdf_valid("0000:00:03.8"));
	assert_false(pci_bdf_valid("0000:0g:03.0"));
	assert_false(pci_bdf_valid("0000:00:03.0 "));
	assert_true(pci_bdf_valid("0000:af:1f.7"));
	assert_int_equal(pci_assignable_add(root, "03.0", &eb), -EINVAL);
	assert_non_null(strstr(eb.msg, "'03.0' is not a PCI address DDDD:BB:SS.F"));
	assert_int_equal(pci_assignable_add(root, "0000:00:09.0", &eb), -ENOENT);
	assert_non_null(strstr(eb.msg, "no PCI function 0000:00:09.0 on this host"));
	snprintf(bad, sizeof(bad), "%s/nowhere", root);
	assert_int_equal(pci_scan(bad, &l, &eb), -ENOENT);
	assert_non_null(strstr(eb.msg, "/nowhere/bus/pci/devices"));
	assert_non_null(strstr(eb.msg, "no PCI bus in this sysfs"));
}

/* A garbled file (a truncated read, a wrong format) leaves that field unknown, not the list broken. */
static void test_garbled_attributes_leave_fields_unknown(void **state)
{
	struct pci_list l;
	struct errbuf eb;
	const struct pci_fn *f;

	(void)state;
	put("bus/pci/devices/0000:00:03.0/vendor", "banana\n");
	put("bus/pci/devices/0000:00:03.0/sriov_totalvfs", "-1\n");
	link_to("bus/pci/devices/0000:00:03.1/iommu_group", "../../../../kernel/iommu_groups/x7");
	link_to("bus/pci/devices/0000:00:03.2/physfn", "../not-a-bdf");
	assert_int_equal(pci_scan(root, &l, &eb), 0);
	f = pci_find(&l, "0000:00:03.0");
	assert_int_equal(f->vendor, 0);
	assert_int_equal(f->device, 0x0010);
	assert_false(f->sriov_capable);
	assert_int_equal(pci_find(&l, "0000:00:03.1")->iommu_group, -1);
	assert_string_equal(pci_find(&l, "0000:00:03.2")->physfn, "");
	pci_list_free(&l);
}

static void test_sriov_sets_the_number_of_vfs_within_what_the_pf_has(void **state)
{
	struct errbuf eb;

	(void)state;
	put("bus/pci/devices/0000:00:03.0/sriov_drivers_autoprobe", "1\n");
	/* from 2 to 3: autoprobe off, then the new count (the real kernel goes through 0: the lab checks that) */
	assert_int_equal(pci_sriov_set(root, "0000:00:03.0", 3, false, &eb), 0);
	assert_string_equal(get("bus/pci/devices/0000:00:03.0/sriov_drivers_autoprobe"), "0");
	assert_string_equal(get("bus/pci/devices/0000:00:03.0/sriov_numvfs"), "3");
	/* the same count: nothing written */
	put("bus/pci/devices/0000:00:03.0/sriov_numvfs", "3\n");
	assert_int_equal(pci_sriov_set(root, "0000:00:03.0", 3, true, &eb), 0);
	assert_string_equal(get("bus/pci/devices/0000:00:03.0/sriov_numvfs"), "3\n");
	assert_string_equal(get("bus/pci/devices/0000:00:03.0/sriov_drivers_autoprobe"), "0");
	/* 0: disabled, autoprobe left alone */
	assert_int_equal(pci_sriov_set(root, "0000:00:03.0", 0, true, &eb), 0);
	assert_string_equal(get("bus/pci/devices/0000:00:03.0/sriov_numvfs"), "0");
	assert_string_equal(get("bus/pci/devices/0000:00:03.0/sriov_drivers_autoprobe"), "0");
	/* more than sriov_totalvfs, a function without SR-IOV, no such function */
	assert_int_equal(pci_sriov_set(root, "0000:00:03.0", 5, false, &eb), -ERANGE);
	assert_non_null(strstr(eb.msg, "0000:00:03.0 supports at most 4 VFs (sriov_totalvfs), not 5"));
	assert_int_equal(pci_sriov_set(root, "0000:00:1f.2", 1, false, &eb), -EOPNOTSUPP);
	assert_non_null(strstr(eb.msg, "0000:00:1f.2 has no SR-IOV capability"));
	assert_int_equal(pci_sriov_set(root, "0000:00:09.0", 1, false, &eb), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_functions_are_read_with_ids_driver_group_and_sriov_relations, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_assignability_and_its_reasons, setup, teardown),
		cmocka_unit_test_setup_teardown(test_assignable_add_overrides_unbinds_and_probes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_assignable_remove_gives_back_only_a_handed_over_function, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_addresses_and_roots_are_named, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbled_attributes_leave_fields_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sriov_sets_the_number_of_vfs_within_what_the_pf_has, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
