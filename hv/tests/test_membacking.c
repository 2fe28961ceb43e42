// SPDX-License-Identifier: MIT
/*
 * unit: how guest memory is mapped (hv/membacking.c), counted at the
 * system-call wrappers (the test links with --wrap for munmap and mmap64,
 * which mmap is with 64-bit file offsets).
 *
 * A domain's memory is mapped with one mmap and nothing unmapped: every
 * munmap in a process, and every MAP_FIXED over an existing mapping, runs
 * the MMU notifier of each KVM VM the process has, so a process that builds
 * its n-th domain with unmaps pays O(n) for it (the density suite's worker
 * holds 100).  Only where huge pages need a 2 MiB-aligned address the
 * kernel did not give, or an unbacked domain needs guard regions, is a
 * reservation trimmed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "membacking.h"

static unsigned nr_mmap, nr_munmap, nr_mmap_fixed;

void *__real_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int __real_munmap(void *addr, size_t len);

void *__wrap_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	nr_mmap++;
	if (flags & MAP_FIXED)
		nr_mmap_fixed++;
	return __real_mmap64(addr, len, prot, flags, fd, off);
}

int __wrap_munmap(void *addr, size_t len)
{
	nr_munmap++;
	return __real_munmap(addr, len);
}

static void count_reset(void)
{
	nr_mmap = nr_munmap = nr_mmap_fixed = 0;
}

static void alloc(enum mem_backing b, uint64_t size, uint64_t guard, int *fd, uint8_t **mem)
{
	struct domain_config cfg;
	struct errbuf eb = { "" };
	enum mem_backing used;

	config_init(&cfg);
	snprintf(cfg.name, sizeof(cfg.name), "t-membacking");
	cfg.memory_backing = b;
	count_reset();
	if (mem_backing_alloc(&cfg, size, guard, fd, mem, &used, &eb) < 0)
		fail_msg("mem_backing_alloc(%s, %llu bytes): %s", config_backing_name(b),
			 (unsigned long long)size, eb.msg);
	assert_int_equal(used, mem_backing_resolve(b, size, NULL, 0));
}

static void test_memfd_memory_is_one_mmap_and_no_unmap(void **state)
{
	uint64_t sizes[] = { 2ull << 20, 16ull << 20, (16ull << 20) + 4096 };
	uint8_t *mem;
	int fd;

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		alloc(MEM_BACKING_MEMFD, sizes[i], 0, &fd, &mem);
		assert_int_equal(nr_mmap, 1);
		assert_int_equal(nr_mmap_fixed, 0);
		assert_int_equal(nr_munmap, 0);
		mem[0] = 1;
		mem[sizes[i] - 1] = 2; /* all of it is there, writable */
		mem_backing_unmap(mem, sizes[i], 0);
		assert_int_equal(nr_munmap, 1);
		close(fd);
	}
}

/* thp needs 2 MiB alignment for PMD mappings, whichever way it got it. */
static void test_thp_memory_is_2mib_aligned(void **state)
{
	uint8_t *mem;
	int fd;

	(void)state;
	for (unsigned i = 0; i < 8; i++) {
		alloc(MEM_BACKING_THP, 16ull << 20, 0, &fd, &mem);
		assert_int_equal((uintptr_t)mem & ((2u << 20) - 1), 0);
		mem_backing_unmap(mem, 16ull << 20, 0);
		close(fd);
	}
}

/* Unbacked (test) domains: guard regions on both sides, so the reservation is trimmed. */
static void test_guarded_memory_has_guards_and_is_aligned(void **state)
{
	const uint64_t size = 4ull << 20, guard = 1ull << 20;
	unsigned char vec;
	uint8_t *mem;
	int fd;

	(void)state;
	alloc(MEM_BACKING_MEMFD, size, guard, &fd, &mem);
	assert_int_equal((uintptr_t)mem & ((2u << 20) - 1), 0);
	assert_int_equal(nr_mmap_fixed, 1);
	/* the guards are mapped (mincore answers) but inaccessible: PROT_NONE */
	assert_int_equal(mincore(mem - 4096, 4096, &vec), 0);
	assert_int_equal(mincore(mem + size, 4096, &vec), 0);
	mem_backing_unmap(mem, size, guard);
	assert_int_equal(mincore(mem - 4096, 4096, &vec), -1);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memfd_memory_is_one_mmap_and_no_unmap),
		cmocka_unit_test(test_thp_memory_is_2mib_aligned),
		cmocka_unit_test(test_guarded_memory_has_guards_and_is_aligned),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
