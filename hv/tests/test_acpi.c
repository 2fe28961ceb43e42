// SPDX-License-Identifier: MIT
/*
 * A Linux guest's ACPI tables (hv/acpi.c): the checksums, and the DSDT's
 * PCI host bridge, which the guest's PCI bus depends on: its AML walked
 * here by its package lengths, and disassembled by ACPICA's own iasl
 * (acpica-tools; a visible skip without it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "acpi.h"
#include "skip.h"
#include "testutil.h"

#define GPA 0xe0000u
#define WIN 0x10000000ull
#define WIN_SIZE (256ull << 20)

static uint8_t tables[16384];

static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* The table with signature sig, found from the RSDP through the XSDT (and the FADT for the DSDT). */
static const uint8_t *find(const char sig[4])
{
	const uint8_t *xsdt = tables + (get64(tables + 24) - GPA);
	uint32_t n = (get32(xsdt + 4) - 36) / 8;

	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *t = tables + (get64(xsdt + 36 + 8 * i) - GPA);

		if (!memcmp(t, sig, 4))
			return t;
		if (!memcmp(t, "FACP", 4) && !memcmp(sig, "DSDT", 4))
			return tables + (get64(t + 140) - GPA);
	}
	return NULL;
}

static const uint8_t *memfind(const uint8_t *h, size_t n, const char *needle, size_t k)
{
	for (size_t i = 0; i + k <= n; i++)
		if (!memcmp(h + i, needle, k))
			return h + i;
	return NULL;
}

/* A PkgLength at p: its value, and its own size in *len. */
static size_t pkglen(const uint8_t *p, size_t *len)
{
	unsigned follow = p[0] >> 6;
	size_t v = follow ? p[0] & 0xf : p[0] & 0x3f;

	for (unsigned i = 0; i < follow; i++)
		v |= (size_t)p[1 + i] << (4 + 8 * i);
	*len = 1 + follow;
	return v;
}

static void test_tables_checksum_with_and_without_a_pci_bus(void **state)
{
	static const char *sig[] = { "APIC", "DSDT", "FACP" };

	(void)state;
	for (int pci = 0; pci < 2; pci++) {
		assert_true(acpi_build(tables, sizeof(tables), GPA, 2, pci ? WIN : 0, pci ? WIN_SIZE : 0) > 0);
		assert_int_equal(acpi_checksum(tables, 20), 0); /* RSDP, ACPI 1.0 part */
		assert_int_equal(acpi_checksum(tables, 36), 0); /* extended */
		for (unsigned i = 0; i < 3; i++) {
			const uint8_t *t = find(sig[i]);

			assert_non_null(t);
			assert_int_equal(acpi_checksum(t, get32(t + 4)), 0);
		}
		const uint8_t *d = find("DSDT");
		bool has = memfind(d, get32(d + 4), "PCI0", 4) != NULL;

		assert_int_equal(has, pci);
	}
}

/* The scope's, the device's and the buffer's lengths end exactly where the DSDT does. */
static void test_pci0_aml_lengths_nest_to_the_end_of_the_dsdt(void **state)
{
	const uint8_t *d, *p, *end;
	size_t n, k, v;

	(void)state;
	assert_true(acpi_build(tables, sizeof(tables), GPA, 1, WIN, WIN_SIZE) > 0);
	d = find("DSDT");
	end = d + get32(d + 4);
	p = memfind(d + 36, get32(d + 4) - 36, "\\_SB_", 5);
	assert_non_null(p);
	p -= 3; /* back over the PkgLength (2 bytes for this scope) to the ScopeOp */
	assert_int_equal(p[0], 0x10);
	v = pkglen(p + 1, &k);
	assert_ptr_equal(p + 1 + v, end);
	p += 1 + k + 5;                       /* PkgLength, \_SB_ */
	assert_int_equal(p[0], 0x5b);
	assert_int_equal(p[1], 0x82);         /* DeviceOp */
	v = pkglen(p + 2, &k);
	assert_ptr_equal(p + 2 + v, end);
	p += 2 + k;
	assert_memory_equal(p, "PCI0", 4);
	p = memfind(p, (size_t)(end - p), "_CRS", 4);
	assert_non_null(p);
	p += 4;
	assert_int_equal(p[0], 0x11);         /* BufferOp */
	v = pkglen(p + 1, &k);
	assert_ptr_equal(p + 1 + v, end);
	p += 1 + k;
	assert_int_equal(p[0], 0x0a);         /* BytePrefix: the buffer's size */
	n = p[1];
	assert_ptr_equal(p + 2 + n, end);
	assert_int_equal(end[-2], 0x79);      /* the resource template's end tag */
	/* the memory window: the QWord descriptor's minimum, maximum and length */
	p = memfind(p, n, "\x8a\x2b\x00", 3);
	assert_non_null(p);
	assert_int_equal(get64(p + 14), WIN);
	assert_int_equal(get64(p + 22), WIN + WIN_SIZE - 1);
	assert_int_equal(get64(p + 38), WIN_SIZE);
}

/* ACPICA's disassembler reads the DSDT back as the bridge Linux looks for. */
static void test_iasl_disassembles_the_pci_host_bridge(void **state)
{
	char dir[] = "/tmp/xenith-acpi-XXXXXX", cmd[512], path[256], *dsl, *log;
	const uint8_t *d;
	int rc;

	(void)state;
	if (system("command -v iasl >/dev/null 2>&1") != 0)
		SKIP_BECAUSE("iasl is not installed (acpica-tools; ci/setup.sh installs it)");
	assert_true(acpi_build(tables, sizeof(tables), GPA, 1, WIN, WIN_SIZE) > 0);
	d = find("DSDT");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/dsdt.dat", dir);
	test_write_file(path, d, get32(d + 4));
	snprintf(cmd, sizeof(cmd), "cd %s && iasl -d dsdt.dat >iasl.log 2>&1", dir);
	rc = system(cmd);
	snprintf(path, sizeof(path), "%s/dsdt.dsl", dir);
	dsl = test_read_file_if_exists(path, NULL);
	snprintf(path, sizeof(path), "%s/iasl.log", dir);
	log = test_read_file_if_exists(path, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	if (rc != 0 || !dsl)
		fail_msg("iasl -d failed (status %d): %s", rc, log ? log : "(no log)");
	free(log);
	assert_non_null(strstr(dsl, "Device (PCI0)"));
	assert_non_null(strstr(dsl, "EisaId (\"PNP0A03\")"));
	assert_non_null(strstr(dsl, "WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,"));
	assert_non_null(strstr(dsl, "0x0CF8,             // Range Minimum"));
	assert_non_null(strstr(dsl, "QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite,"));
	assert_non_null(strstr(dsl, "0x0000000010000000, // Range Minimum"));
	assert_non_null(strstr(dsl, "0x000000001FFFFFFF, // Range Maximum"));
	assert_non_null(strstr(dsl, "0x0000000010000000, // Length"));
	assert_non_null(strstr(dsl, "Name (_S5, Package"));
	free(dsl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables_checksum_with_and_without_a_pci_bus),
		cmocka_unit_test(test_pci0_aml_lengths_nest_to_the_end_of_the_dsdt),
		cmocka_unit_test(test_iasl_disassembles_the_pci_host_bridge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
