// SPDX-License-Identifier: MIT
/*
 * unit: the bzImage loader (hv/linux_boot.c) places a good kernel inside
 * guest memory and refuses every impossible setup header or size, naming
 * the field, without reading past the image or writing past guest memory.
 *
 * Images sit right before an inaccessible page (guarded()), so a read past
 * their end is a SIGSEGV, which fails the test.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "kind.h"
#include "linux_boot.h"

#define PAGE 4096ul
#define MiB (1ull << 20)

/* Setup header offsets, from Documentation/arch/x86/boot.rst. */
#define H_SETUP_SECTS 0x1f1
#define H_BOOT_FLAG 0x1fe
#define H_JUMP 0x200
#define H_HEADER 0x202
#define H_VERSION 0x206
#define H_KERNEL_VERSION 0x20e
#define H_TYPE_OF_LOADER 0x210
#define H_LOADFLAGS 0x211
#define H_RAMDISK_IMAGE 0x218
#define H_RAMDISK_SIZE 0x21c
#define H_CMD_LINE_PTR 0x228
#define H_INITRD_ADDR_MAX 0x22c
#define H_KERNEL_ALIGNMENT 0x230
#define H_RELOCATABLE 0x234
#define H_XLOADFLAGS 0x236
#define H_CMDLINE_SIZE 0x238
#define H_PREF_ADDRESS 0x258
#define H_INIT_SIZE 0x260
#define H_EXT_LOADER_VER 0x226
#define H_HARDWARE_SUBARCH 0x23c
#define H_HARDWARE_SUBARCH_DATA 0x240
#define H_SETUP_DATA 0x250
#define BP_E820_ENTRIES 0x1e8
#define BP_E820_TABLE 0x2d0

#define SETUP_SECTS 4
#define SETUP_LEN ((SETUP_SECTS + 1) * 512)
#define PAYLOAD_LEN 0x1000
#define INIT_SIZE (32u << 20)

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* A well-formed bzImage as Linux 6.1 builds it: protocol 2.15, relocatable, 16 MiB. */
static uint8_t *make_kernel(size_t *size)
{
	size_t n = SETUP_LEN + PAYLOAD_LEN;
	uint8_t *b = calloc(1, n);
	static const char version[] = "6.1.0-test (someone@example) #1 SMP";

	assert_non_null(b);
	b[H_SETUP_SECTS] = SETUP_SECTS;
	put16(b + H_BOOT_FLAG, 0xaa55);
	b[H_JUMP] = 0xeb;
	b[H_JUMP + 1] = 0x6a;                       /* the header ends at 0x26c */
	memcpy(b + H_HEADER, "HdrS", 4);
	put16(b + H_VERSION, 0x020f);
	put16(b + H_KERNEL_VERSION, 0x300);         /* the string at 0x500, in the setup code */
	memcpy(b + 0x500, version, sizeof(version));
	b[H_LOADFLAGS] = 0x01;                      /* LOADED_HIGH */
	put32(b + H_INITRD_ADDR_MAX, 0x7fffffff);
	put32(b + H_KERNEL_ALIGNMENT, 0x200000);
	b[H_RELOCATABLE] = 1;
	put16(b + H_XLOADFLAGS, 0x7f);
	put32(b + H_CMDLINE_SIZE, 2047);
	put64(b + H_PREF_ADDRESS, 0x1000000);
	put32(b + H_INIT_SIZE, INIT_SIZE);
	for (size_t i = SETUP_LEN; i < n; i++)
		b[i] = (uint8_t)(i * 7 + 1);                /* the "kernel" */
	*size = n;
	return b;
}

/* A copy of b[0, n) that ends right before an inaccessible page. */
struct guard {
	uint8_t *base;
	size_t len;
};

static const uint8_t *guarded(struct guard *g, const uint8_t *b, size_t n)
{
	size_t pages = (n + PAGE - 1) / PAGE;
	uint8_t *at;

	g->len = (pages + 1) * PAGE;
	g->base = mmap(NULL, g->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(g->base != MAP_FAILED);
	assert_int_equal(mprotect(g->base + pages * PAGE, PAGE, PROT_NONE), 0);
	at = g->base + pages * PAGE - n;
	memcpy(at, b, n);
	return at;
}

static void unguard(struct guard *g)
{
	munmap(g->base, g->len);
}

/* linux_boot_plan on a guarded copy of the image. */
static int plan(const uint8_t *b, size_t n, uint64_t mem, uint64_t initrd, size_t cmdline,
		struct linux_boot_plan *p, struct errbuf *eb)
{
	struct guard g;
	int r;

	memset(eb, 0, sizeof(*eb));
	r = linux_boot_plan(guarded(&g, b, n), n, mem, initrd, cmdline, "bzImage", p, eb);
	unguard(&g);
	return r;
}

static void assert_msg_has(const struct errbuf *eb, const char *what)
{
	if (!strstr(eb->msg, what))
		fail_msg("message \"%s\" does not say \"%s\"", eb->msg, what);
}

static void test_well_formed_kernel_is_placed_inside_memory(void **state)
{
	struct linux_boot_plan p;
	struct errbuf eb;
	size_t n;
	uint8_t *b = make_kernel(&n);

	(void)state;
	assert_int_equal(plan(b, n, 256 * MiB, 1 * MiB + 5, 20, &p, &eb), 0);
	assert_int_equal(p.payload_off, SETUP_LEN);
	assert_int_equal(p.payload_size, PAYLOAD_LEN);
	assert_string_equal(p.version, "6.1.0-test");
	assert_int_equal(p.initrd_size, 1 * MiB + 5);
	assert_int_equal(p.initrd_gpa % PAGE, 0);
	assert_true(p.initrd_gpa >= LX_RUN_ADDR + INIT_SIZE);
	assert_true(p.initrd_gpa + p.initrd_size <= 256 * MiB);
	/* at the top of memory, as high as it goes */
	assert_true(p.initrd_gpa + p.initrd_size + PAGE > 256 * MiB);
	free(b);
}

/* Finding 1 of issue 10: initrd_top - initrd_size wrapped, and the initrd went below memory. */
static void test_initrd_above_a_tiny_initrd_addr_max_is_refused_naming_it(void **state)
{
	struct linux_boot_plan p;
	struct errbuf eb;
	size_t n;
	uint8_t *b = make_kernel(&n);

	(void)state;
	put32(b + H_INITRD_ADDR_MAX, 0xfff);
	assert_int_equal(plan(b, n, 256 * MiB, 1 * MiB, 0, &p, &eb), -ENOMEM);
	assert_msg_has(&eb, "initrd_addr_max");
	assert_msg_has(&eb, "0xfff");
	/* the same with no initrd boots */
	assert_int_equal(plan(b, n, 256 * MiB, 0, 0, &p, &eb), 0);
	free(b);
}

static void test_initrd_is_placed_below_initrd_addr_max_and_above_the_kernel(void **state)
{
	struct linux_boot_plan p;
	struct errbuf eb;
	size_t n;
	uint8_t *b = make_kernel(&n);
	uint64_t run_end = LX_RUN_ADDR + INIT_SIZE;

	(void)state;
	/* initrd_addr_max is the highest byte it may use */
	put32(b + H_INITRD_ADDR_MAX, 128 * MiB - 1);
	assert_int_equal(plan(b, n, 256 * MiB, 1 * MiB, 0, &p, &eb), 0);
	assert_int_equal(p.initrd_gpa, 127 * MiB);
	/* just room between the kernel's decompression area and the limit */
	put32(b + H_INITRD_ADDR_MAX, (uint32_t)(run_end + 2 * MiB - 1));
	assert_int_equal(plan(b, n, 256 * MiB, 2 * MiB, 0, &p, &eb), 0);
	assert_int_equal(p.initrd_gpa, run_end);
	/* one page short: it would overlap the decompression area */
	put32(b + H_INITRD_ADDR_MAX, (uint32_t)(run_end + 2 * MiB - PAGE - 1));
	assert_int_equal(plan(b, n, 256 * MiB, 2 * MiB, 0, &p, &eb), -ENOMEM);
	assert_msg_has(&eb, "initrd_addr_max");
	free(b);
}

static void test_initrd_larger_than_memory_is_refused(void **state)
{
	static const uint64_t sizes[] = { 256 * MiB, 4ull << 30, UINT64_MAX - 0xffe, UINT64_MAX };
	struct linux_boot_plan p;
	struct errbuf eb;
	size_t n;
	uint8_t *b = make_kernel(&n);

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		int r = plan(b, n, 256 * MiB, sizes[i], 0, &p, &eb);

		if (r != -ENOMEM)
			fail_msg("initrd of %#llx bytes in 256 MiB: %d (%s)",
				 (unsigned long long)sizes[i], r, eb.msg);
		assert_msg_has(&eb, "initrd");
	}
	free(b);
}

/* A kernel that runs above 16 MiB (pref_address) needs its init_size there, not at 16 MiB. */
static void test_kernel_that_runs_at_pref_address_gets_its_area_there(void **state)
{
	struct linux_boot_plan p;
	struct errbuf eb;
	size_t n;
	uint8_t *b = make_kernel(&n);

	(void)state;
	b[H_RELOCATABLE] = 0;
	put64(b + H_PREF_ADDRESS, 64 * MiB);
	/* [64 MiB, 96 MiB) is the kernel's: the initrd cannot go at the top of 96 MiB */
	if (plan(b, n, 96 * MiB, 2 * MiB, 0, &p, &eb) == 0)
		assert_true(p.initrd_gpa >= 96 * MiB || p.initrd_gpa + p.initrd_size <= 64 * MiB);
	else
		assert_msg_has(&eb, "give it at least");
	assert_int_equal(plan(b, n, 128 * MiB, 2 * MiB, 0, &p, &eb), 0);
	assert_true(p.initrd_gpa >= 96 * MiB);

	put64(b + H_PREF_ADDRESS, 5ull << 30);
	assert_int_equal(plan(b, n, 256 * MiB, 0, 0, &p, &eb), -ENOEXEC);
	assert_msg_has(&eb, "pref_address");
	put64(b + H_PREF_ADDRESS, 0x1000);
	assert_int_equal(plan(b, n, 256 * MiB, 0, 0, &p, &eb), -ENOEXEC);
	assert_msg_has(&eb, "pref_address");

	put64(b + H_PREF_ADDRESS, 16 * MiB);
	b[H_RELOCATABLE] = 1;
	put32(b + H_KERNEL_ALIGNMENT, 0x300000);
	assert_int_equal(plan(b, n, 256 * MiB, 0, 0, &p, &eb), -ENOEXEC);
	assert_msg_has(&eb, "kernel_alignment");
	put32(b + H_KERNEL_ALIGNMENT, 0);
	assert_int_equal(plan(b, n, 256 * MiB, 0, 0, &p, &eb), -ENOEXEC);
	assert_msg_has(&eb, "kernel_alignment");
	free(b);
}

/* The second half: strnlen ran past the end of a page-aligned mapping. */
static void test_kernel_version_at_the_end_of_a_page_aligned_file_is_not_read_past_it(void **state)
{
	char path[] = "/tmp/xenith-bzimage-XXXXXX";
	struct linux_boot_plan p;
	struct errbuf eb = { "" };
	size_t n = 2 * PAGE;
	uint8_t *b = calloc(1, n), *guard, *map;
	size_t k;
	uint8_t *good = make_kernel(&k);
	int fd;

	(void)state;
	/* setup_sects 7: the setup code is the first page, the "kernel" the second */
	memcpy(b, good, 0x300);
	b[H_SETUP_SECTS] = 7;
	put16(b + H_KERNEL_VERSION, (uint16_t)(n - 10 - 0x200));
	memcpy(b + n - 10, "0123456789", 10);      /* no NUL before the end of the file */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, b, n), (ssize_t)n);
	/* the file's two pages, then one that is not mapped */
	guard = mmap(NULL, n + PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(guard != MAP_FAILED);
	map = mmap(guard, n, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
	assert_ptr_equal(map, guard);
	close(fd);

	assert_int_equal(linux_boot_parse(map, n, "bzImage", &p, &eb), 0);
	assert_int_equal(strnlen(p.version, sizeof(p.version)), strlen(p.version));
	assert_null(strchr(p.version, ' '));
	munmap(guard, n + PAGE);

	/* a version string that runs to the end of the setup code is cut there */
	memcpy(good + SETUP_LEN - 5, "1.2.3", 5);
	put16(good + H_KERNEL_VERSION, SETUP_LEN - 5 - 0x200);
	assert_int_equal(plan(good, k, 256 * MiB, 0, 0, &p, &eb), 0);
	assert_string_equal(p.version, "1.2.3");
	free(good);
	free(b);
}

static void test_header_cut_short_is_refused_without_reading_past_it(void **state)
{
	struct linux_boot_plan p;
	struct errbuf eb;
	size_t n;
	uint8_t *b = make_kernel(&n);

	(void)state;
	/* from a file that just passes linux_is_bzimage() to one a byte short of a 64-bit entry */
	for (size_t len = H_HEADER + 4; len <= SETUP_LEN + 0x200; len++) {
		int r = plan(b, len, 256 * MiB, 0, 0, &p, &eb);

		if (r != -ENOEXEC)
			fail_msg("a %zu-byte file: %d (%s)", len, r, eb.msg);
		if (!eb.msg[0])
			fail_msg("a %zu-byte file is refused without a message", len);
	}
	assert_msg_has(&eb, "truncated");
	free(b);
}

static void test_jump_that_does_not_span_the_header_is_refused(void **state)
{
	static const uint8_t jumps[][2] = {
		{ 0xe9, 0x6a },  /* not a short jump */
		{ 0xeb, 0xf0 },  /* backwards: a signed offset */
		{ 0xeb, 0x80 },
		{ 0xeb, 0x50 },  /* ends at 0x252: before init_size and the 2.12 fields */
		{ 0xeb, 0x65 },  /* ends at 0x267, inside handover_offset */
	};
	struct linux_boot_plan p;
	struct errbuf eb;
	size_t n;
	uint8_t *b = make_kernel(&n);

	(void)state;
	for (size_t i = 0; i < sizeof(jumps) / sizeof(jumps[0]); i++) {
		int r;

		b[H_JUMP] = jumps[i][0];
		b[H_JUMP + 1] = jumps[i][1];
		r = plan(b, n, 256 * MiB, 0, 0, &p, &eb);
		if (r != -ENOEXEC)
			fail_msg("jump %02x %02x: %d (%s)", jumps[i][0], jumps[i][1], r, eb.msg);
		assert_msg_has(&eb, "jump");
	}
	/* the longest header the boot protocol allows (0x7f: 144 bytes from 0x1f1) */
	b[H_JUMP] = 0xeb;
	b[H_JUMP + 1] = 0x7f;
	assert_int_equal(plan(b, n, 256 * MiB, 0, 0, &p, &eb), 0);
	assert_int_equal(p.hdr_end, 0x281);
	free(b);
}

static void test_init_size_smaller_than_the_kernel_is_refused(void **state)
{
	struct linux_boot_plan p;
	struct errbuf eb;
	size_t n;
	uint8_t *b = make_kernel(&n);

	(void)state;
	put32(b + H_INIT_SIZE, PAYLOAD_LEN - 1);
	assert_int_equal(plan(b, n, 256 * MiB, 0, 0, &p, &eb), -ENOEXEC);
	assert_msg_has(&eb, "init_size");
	put32(b + H_INIT_SIZE, 0);
	assert_int_equal(plan(b, n, 256 * MiB, 0, 0, &p, &eb), -ENOEXEC);
	assert_msg_has(&eb, "init_size");
	free(b);
}

static void test_kernel_without_its_64bit_entry_is_refused(void **state)
{
	struct linux_boot_plan p;
	struct errbuf eb;
	size_t n;
	uint8_t *b = make_kernel(&n);

	(void)state;
	/* the entry point is at +0x200 in the protected-mode kernel: it must be in the file */
	assert_int_equal(plan(b, SETUP_LEN + 0x200, 256 * MiB, 0, 0, &p, &eb), -ENOEXEC);
	assert_msg_has(&eb, "setup_sects");
	assert_int_equal(plan(b, SETUP_LEN + 0x201, 256 * MiB, 0, 0, &p, &eb), 0);
	free(b);
}

static void test_command_line_longer_than_cmdline_size_is_refused(void **state)
{
	struct linux_boot_plan p;
	struct errbuf eb;
	size_t n;
	uint8_t *b = make_kernel(&n);

	(void)state;
	assert_int_equal(plan(b, n, 256 * MiB, 0, 2047, &p, &eb), 0);
	assert_int_equal(plan(b, n, 256 * MiB, 0, 2048, &p, &eb), -E2BIG);
	assert_msg_has(&eb, "cmdline_size");
	assert_msg_has(&eb, "2047");
	/* cmdline_size 0: this kernel takes no command line at all */
	put32(b + H_CMDLINE_SIZE, 0);
	assert_int_equal(plan(b, n, 256 * MiB, 0, 0, &p, &eb), 0);
	assert_int_equal(plan(b, n, 256 * MiB, 0, 5, &p, &eb), -E2BIG);
	assert_msg_has(&eb, "cmdline_size");
	/* and never more than the page Xenith puts it in */
	put32(b + H_CMDLINE_SIZE, 0xffffffff);
	assert_int_equal(plan(b, n, 256 * MiB, 0, 4095, &p, &eb), 0);
	assert_int_equal(plan(b, n, 256 * MiB, 0, 4096, &p, &eb), -E2BIG);
	free(b);
}

static void test_memory_too_small_or_too_large_is_refused_saying_what_fits(void **state)
{
	struct linux_boot_plan p;
	struct errbuf eb;
	size_t n;
	uint8_t *b = make_kernel(&n);

	(void)state;
	assert_int_equal(plan(b, n, 8 * MiB, 0, 0, &p, &eb), -ENOMEM);
	assert_msg_has(&eb, "too small for this kernel");
	assert_msg_has(&eb, "give it at least 64 MiB");
	assert_int_equal(plan(b, n, 64 * MiB, 0, 0, &p, &eb), 0);
	assert_int_equal(plan(b, n, 3072 * MiB, 0, 0, &p, &eb), 0);
	assert_int_equal(plan(b, n, 3073 * MiB, 0, 0, &p, &eb), -EINVAL);
	assert_msg_has(&eb, "at most 3072 MiB");
	assert_int_equal(plan(b, n, UINT64_MAX, 0, 0, &p, &eb), -EINVAL);
	free(b);
}

static void test_loader_writes_kernel_initrd_and_boot_params_where_planned(void **state)
{
	struct linux_boot_plan p;
	struct errbuf eb;
	size_t n, initrd_len = 3 * PAGE + 17;
	uint8_t *b = make_kernel(&n), *initrd = malloc(initrd_len), *bp;
	uint64_t mem_size = 64 * MiB;
	uint8_t *mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	const char *cmdline = "console=ttyS0 quiet";

	(void)state;
	assert_true(mem != MAP_FAILED);
	for (size_t i = 0; i < initrd_len; i++)
		initrd[i] = (uint8_t)(i ^ 0x5a);
	assert_int_equal(plan(b, n, mem_size, initrd_len, strlen(cmdline), &p, &eb), 0);
	assert_int_equal(linux_boot_load(&p, b, initrd, cmdline, 2, mem, mem_size, &eb), 0);
	assert_memory_equal(mem + LX_KERNEL, b + SETUP_LEN, PAYLOAD_LEN);
	assert_memory_equal(mem + p.initrd_gpa, initrd, initrd_len);
	assert_string_equal((char *)mem + LX_CMDLINE, cmdline);
	bp = mem + LX_BOOT_PARAMS;
	/* the kernel's own header, then what the loader fills in */
	assert_memory_equal(bp + H_HEADER, "HdrS", 4);
	assert_int_equal(get32(bp + H_INIT_SIZE), INIT_SIZE);
	assert_int_equal(bp[H_TYPE_OF_LOADER], 0xff);
	assert_int_equal(get32(bp + H_RAMDISK_IMAGE), p.initrd_gpa);
	assert_int_equal(get32(bp + H_RAMDISK_SIZE), initrd_len);
	assert_int_equal(get32(bp + H_CMD_LINE_PTR), LX_CMDLINE);
	/* e820: low RAM, the BIOS hole, RAM from 1 MiB to the end of memory */
	assert_int_equal(bp[BP_E820_ENTRIES], 3);
	assert_int_equal(get64(bp + BP_E820_TABLE + 40), LX_KERNEL);
	assert_int_equal(get64(bp + BP_E820_TABLE + 48), mem_size - LX_KERNEL);
	munmap(mem, mem_size);
	free(initrd);
	free(b);
}

/*
 * Found by fuzz/fuzz_bzimage.c: boot_params took the image's own
 * ramdisk_image when there was no initrd.  Every field boot.rst has the
 * loader write is Xenith's, whatever the file holds there.
 */
static void test_boot_params_fields_the_loader_writes_do_not_come_from_the_image(void **state)
{
	struct linux_boot_plan p;
	struct errbuf eb;
	size_t n;
	uint8_t *b = make_kernel(&n), *bp;
	uint64_t mem_size = 64 * MiB;
	uint8_t *mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)state;
	assert_true(mem != MAP_FAILED);
	put32(b + H_RAMDISK_IMAGE, 0x2000000);        /* "an initrd at 32 MiB" */
	put32(b + H_RAMDISK_SIZE, 0x100000);
	b[H_LOADFLAGS] = 0x01 | 0x02 | 0x20;          /* LOADED_HIGH, KASLR_FLAG, QUIET_FLAG */
	b[H_EXT_LOADER_VER] = 0x12;
	b[H_EXT_LOADER_VER + 1] = 0x34;
	put32(b + H_HARDWARE_SUBARCH, 2);             /* Xen */
	put64(b + H_HARDWARE_SUBARCH_DATA, 0x3000);
	put64(b + H_SETUP_DATA, 0x4000);              /* a setup_data list at 0x4000 */
	assert_int_equal(plan(b, n, mem_size, 0, 0, &p, &eb), 0);
	assert_int_equal(linux_boot_load(&p, b, NULL, "", 1, mem, mem_size, &eb), 0);
	bp = mem + LX_BOOT_PARAMS;
	assert_int_equal(get32(bp + H_RAMDISK_IMAGE), 0);
	assert_int_equal(get32(bp + H_RAMDISK_SIZE), 0);
	assert_int_equal(bp[H_LOADFLAGS], 0x81);        /* LOADED_HIGH | CAN_USE_HEAP */
	assert_int_equal(bp[H_EXT_LOADER_VER], 0);
	assert_int_equal(bp[H_EXT_LOADER_VER + 1], 0);
	assert_int_equal(get32(bp + H_HARDWARE_SUBARCH), 0);
	assert_int_equal(get64(bp + H_HARDWARE_SUBARCH_DATA), 0);
	assert_int_equal(get64(bp + H_SETUP_DATA), 0);
	munmap(mem, mem_size);
	free(b);
}

/* Second line of defence: the loader checks each copy against the memory it is given. */
static void test_loader_refuses_a_plan_for_more_memory_than_it_is_given(void **state)
{
	struct linux_boot_plan p;
	struct errbuf eb;
	size_t n;
	uint8_t *b = make_kernel(&n), *initrd = calloc(1, MiB);
	uint64_t mem_size = 64 * MiB;
	/* guest memory, then an inaccessible page */
	uint8_t *mem = mmap(NULL, mem_size + PAGE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)state;
	assert_true(mem != MAP_FAILED);
	assert_int_equal(mprotect(mem + mem_size, PAGE, PROT_NONE), 0);
	assert_int_equal(plan(b, n, 256 * MiB, MiB, 0, &p, &eb), 0);
	memset(&eb, 0, sizeof(eb));
	assert_int_equal(linux_boot_load(&p, b, initrd, "", 1, mem, mem_size, &eb), -EINVAL);
	assert_msg_has(&eb, "guest memory");
	munmap(mem, mem_size + PAGE);
	free(initrd);
	free(b);
}

/* The image picks the guest kind: a bzImage is linux, anything else goes to pv (which checks it). */
static void test_bzimage_is_the_linux_kind_and_anything_else_pv(void **state)
{
	size_t size;
	uint8_t *k = make_kernel(&size);
	static const uint8_t elf[64] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };

	(void)state;
	assert_ptr_equal(kind_of_image(k, size), &kind_linux);
	assert_string_equal(kind_of_image(k, size)->name, "linux");
	assert_ptr_equal(kind_of_image(elf, sizeof(elf)), &kind_pv);
	assert_ptr_equal(kind_of_image(k, 100), &kind_pv); /* a header cut short is no bzImage */
	free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_well_formed_kernel_is_placed_inside_memory),
		cmocka_unit_test(test_initrd_above_a_tiny_initrd_addr_max_is_refused_naming_it),
		cmocka_unit_test(test_initrd_is_placed_below_initrd_addr_max_and_above_the_kernel),
		cmocka_unit_test(test_initrd_larger_than_memory_is_refused),
		cmocka_unit_test(test_kernel_that_runs_at_pref_address_gets_its_area_there),
		cmocka_unit_test(test_kernel_version_at_the_end_of_a_page_aligned_file_is_not_read_past_it),
		cmocka_unit_test(test_header_cut_short_is_refused_without_reading_past_it),
		cmocka_unit_test(test_jump_that_does_not_span_the_header_is_refused),
		cmocka_unit_test(test_init_size_smaller_than_the_kernel_is_refused),
		cmocka_unit_test(test_kernel_without_its_64bit_entry_is_refused),
		cmocka_unit_test(test_command_line_longer_than_cmdline_size_is_refused),
		cmocka_unit_test(test_memory_too_small_or_too_large_is_refused_saying_what_fits),
		cmocka_unit_test(test_loader_writes_kernel_initrd_and_boot_params_where_planned),
		cmocka_unit_test(test_boot_params_fields_the_loader_writes_do_not_come_from_the_image),
		cmocka_unit_test(test_loader_refuses_a_plan_for_more_memory_than_it_is_given),
		cmocka_unit_test(test_bzimage_is_the_linux_kind_and_anything_else_pv),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
