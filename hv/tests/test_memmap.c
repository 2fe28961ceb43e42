// SPDX-License-Identifier: MIT
/*
 * unit: the guest memory map (hv/memmap.c) without a VM: slots are
 * numbered by the map (lowest free first), regions that overlap are
 * refused naming both, special pages must lie inside RAM, lookups respect
 * region edges, the listing is sorted, and dirty logging needs RAM and a
 * VM.  The kvm tier (test_domains: dirty log) checks the log on a guest.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "memmap.h"

static uint8_t ram[16 * 4096];

static void test_ram_regions_get_the_lowest_free_slots(void **state)
{
	struct memmap mm;
	struct errbuf eb = { "" };

	(void)state;
	memmap_init(&mm, -1);
	assert_int_equal(memmap_add_ram(&mm, "low", 0, 0x8000, ram, &eb), 0);
	assert_int_equal(memmap_add_hole(&mm, "mmio-test", 0x8000, 0x1000, &eb), 1);
	assert_int_equal(memmap_add_ram(&mm, "high", 0x9000, 0x7000, ram + 0x9000, &eb), 2);
	assert_int_equal(mm.region[0].slot, 0);
	assert_int_equal(mm.region[1].slot, -1);
	assert_int_equal(mm.region[2].slot, 1);
	assert_ptr_equal(mm.region[2].host, ram + 0x9000);
	memmap_reset(&mm, -1);
	assert_int_equal(mm.nr, 0);
	assert_int_equal(memmap_add_ram(&mm, "all", 0, sizeof(ram), ram, &eb), 0);
	assert_int_equal(mm.region[0].slot, 0);
}

static void test_overlapping_regions_are_refused_naming_both(void **state)
{
	struct memmap mm;
	struct errbuf eb = { "" };

	(void)state;
	memmap_init(&mm, -1);
	assert_int_equal(memmap_add_ram(&mm, "ram", 0, 0x8000, ram, &eb), 0);
	assert_int_equal(memmap_add_hole(&mm, "bar0", 0x7000, 0x2000, &eb), -EBUSY);
	assert_non_null(strstr(eb.msg, "bar0 at 0x7000-0x8fff overlaps ram ram at 0x0-0x7fff"));
	assert_int_equal(memmap_add_hole(&mm, "bar0", 0x8000, 0x2000, &eb), 1);
	assert_int_equal(memmap_add_ram(&mm, "more", 0x9000, 0x1000, ram, &eb), -EBUSY);
	assert_non_null(strstr(eb.msg, "more at 0x9000-0x9fff overlaps hole bar0 at 0x8000-0x9fff"));
	assert_int_equal(memmap_add_ram(&mm, "odd", 0xa000, 0x800, ram, &eb), -EINVAL);
	assert_int_equal(memmap_add_ram(&mm, "none", 0xa000, 0, ram, &eb), -EINVAL);
	assert_int_equal(mm.nr, 2);
}

static void test_special_pages_lie_inside_one_ram_region(void **state)
{
	struct memmap mm;
	struct errbuf eb = { "" };

	(void)state;
	memmap_init(&mm, -1);
	assert_int_equal(memmap_add_ram(&mm, "low", 0, 0x8000, ram, &eb), 0);
	assert_int_equal(memmap_add_hole(&mm, "hole", 0x8000, 0x1000, &eb), 1);
	assert_int_equal(memmap_add_special(&mm, "start_info", 0x1000, 0x1000, &eb), 2);
	assert_ptr_equal(mm.region[2].host, ram + 0x1000);
	assert_int_equal(mm.region[2].slot, -1);
	/* across the end of RAM into the hole, and in the hole: refused */
	assert_int_equal(memmap_add_special(&mm, "straddle", 0x7000, 0x2000, &eb), -EINVAL);
	assert_non_null(strstr(eb.msg, "straddle"));
	assert_int_equal(memmap_add_special(&mm, "inhole", 0x8000, 0x1000, &eb), -EINVAL);
	/* special pages do not hide the RAM around them from lookups */
	assert_string_equal(memmap_find(&mm, 0x1000)->name, "low");
	assert_string_equal(memmap_find(&mm, 0x7fff)->name, "low");
	assert_string_equal(memmap_find(&mm, 0x8000)->name, "hole");
	assert_string_equal(memmap_find(&mm, 0x8fff)->name, "hole");
	assert_null(memmap_find(&mm, 0x9000));
}

static void test_listing_is_sorted_by_address(void **state)
{
	struct memmap mm;
	char buf[1024];

	(void)state;
	memmap_init(&mm, -1);
	assert_int_equal(memmap_add_ram(&mm, "high", 0x9000, 0x7000, ram, NULL), 0);
	assert_int_equal(memmap_add_hole(&mm, "mmio-test", 0x8000, 0x1000, NULL), 1);
	assert_int_equal(memmap_add_ram(&mm, "low", 0, 0x8000, ram, NULL), 2);
	assert_int_equal(memmap_add_special(&mm, "console", 0x3000, 0x1000, NULL), 3);
	assert_true(memmap_format(&mm, buf, sizeof(buf)) < sizeof(buf));
	assert_string_equal(buf,
		"0x000000000-0x000007fff ram     low slot 1\n"
		"0x000003000-0x000003fff special console\n"
		"0x000008000-0x000008fff hole    mmio-test\n"
		"0x000009000-0x00000ffff ram     high slot 0\n");
}

/* The JSON listing (`xenith memmap --json`): sorted alike, every field, and -1 when it does not fit. */
static void test_json_listing_is_sorted_and_refuses_to_be_cut(void **state)
{
	struct memmap mm;
	char buf[1024];
	int n;

	(void)state;
	memmap_init(&mm, -1);
	assert_int_equal(memmap_add_ram(&mm, "high", 0x9000, 0x7000, ram, NULL), 0);
	assert_int_equal(memmap_add_hole(&mm, "mmio-test", 0x8000, 0x1000, NULL), 1);
	assert_int_equal(memmap_add_ram(&mm, "low", 0, 0x8000, ram, NULL), 2);
	assert_int_equal(memmap_add_special(&mm, "console", 0x3000, 0x1000, NULL), 3);
	n = memmap_json(&mm, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(buf));
	assert_string_equal(buf,
		"[{\"gpa\":0,\"size\":32768,\"type\":\"ram\",\"name\":\"low\",\"slot\":1,\"dirty_log\":false},"
		"{\"gpa\":12288,\"size\":4096,\"type\":\"special\",\"name\":\"console\",\"slot\":-1,"
		"\"dirty_log\":false},"
		"{\"gpa\":32768,\"size\":4096,\"type\":\"hole\",\"name\":\"mmio-test\",\"slot\":-1,"
		"\"dirty_log\":false},"
		"{\"gpa\":36864,\"size\":28672,\"type\":\"ram\",\"name\":\"high\",\"slot\":0,\"dirty_log\":false}]");
	/* every size short of the whole text is refused, never a cut array */
	for (size_t size = 0; size <= (size_t)n; size++)
		assert_int_equal(memmap_json(&mm, buf, size), -1);
	memmap_init(&mm, -1);
	assert_int_equal(memmap_json(&mm, buf, sizeof(buf)), 2);
	assert_string_equal(buf, "[]");
}

static void test_dirty_logging_needs_ram_and_a_vm(void **state)
{
	struct memmap mm;
	struct errbuf eb = { "" };
	uint64_t bitmap[1];

	(void)state;
	memmap_init(&mm, -1);
	assert_int_equal(memmap_add_ram(&mm, "ram", 0, 0x8000, ram, &eb), 0);
	assert_int_equal(memmap_add_hole(&mm, "hole", 0x8000, 0x1000, &eb), 1);
	assert_int_equal(memmap_dirty_log_start(&mm, 1, &eb), -EINVAL);
	assert_int_equal(memmap_dirty_log_start(&mm, 5, &eb), -EINVAL);
	assert_int_equal(memmap_dirty_log_start(&mm, 0, &eb), -ENODEV);
	assert_int_equal(memmap_dirty_log_fetch(&mm, 0, bitmap, &eb), -ENODEV);
	assert_int_equal(memmap_dirty_words(&mm.region[0]), 1);
}

/* A passed-through BAR: a slot of its own, listed as device, not RAM (no dirty logging), no overlaps. */
static void test_device_memory_gets_a_slot_but_is_not_ram(void **state)
{
	static uint8_t bar[4 * 4096];
	struct memmap mm;
	struct errbuf eb = { "" };
	char text[512];

	(void)state;
	memmap_init(&mm, -1);
	assert_int_equal(memmap_add_ram(&mm, "ram", 0, 0x8000, ram, &eb), 0);
	assert_int_equal(memmap_add_device(&mm, "pci0-bar0", 0x7000, sizeof(bar), bar, &eb), -EBUSY);
	assert_non_null(strstr(eb.msg, "overlaps ram ram"));
	assert_int_equal(memmap_add_device(&mm, "pci0-bar0", 0x200000, sizeof(bar), bar, &eb), 1);
	assert_int_equal(mm.region[1].type, MEMMAP_DEVICE);
	assert_int_equal(mm.region[1].slot, 1);
	assert_ptr_equal(mm.region[1].host, bar);
	assert_int_equal(memmap_add_ram(&mm, "more", 0x9000, 0x1000, ram, &eb), 2);
	assert_int_equal(mm.region[2].slot, 2);
	assert_int_equal(memmap_dirty_log_start(&mm, 1, &eb), -EINVAL);
	memmap_format(&mm, text, sizeof(text));
	assert_non_null(strstr(text, "device"));
	assert_non_null(strstr(text, "pci0-bar0"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ram_regions_get_the_lowest_free_slots),
		cmocka_unit_test(test_overlapping_regions_are_refused_naming_both),
		cmocka_unit_test(test_special_pages_lie_inside_one_ram_region),
		cmocka_unit_test(test_listing_is_sorted_by_address),
		cmocka_unit_test(test_json_listing_is_sorted_and_refuses_to_be_cut),
		cmocka_unit_test(test_dirty_logging_needs_ram_and_a_vm),
		cmocka_unit_test(test_device_memory_gets_a_slot_but_is_not_ram),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
