// SPDX-License-Identifier: MIT
/* unit: the ELF loader accepts a good image and refuses every malformed one, naming the problem. */
#include <elf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "elfload.h"
#include "xenith/abi.h"

/*
 * A synthetic image: header, up to 4 program headers, segment data, a
 * Xenith note, a symbol table.  Each test builds the good one and breaks
 * one thing.
 */
#define IMG_SIZE 0x4000
#define TEXT_OFF 0x1000
#define DATA_OFF 0x2000
#define NOTE_OFF 0x2800
#define SYM_OFF 0x3000
#define STR_OFF 0x3100
#define SHDR_OFF 0x3200

struct img {
	uint8_t b[IMG_SIZE];
	Elf64_Ehdr *eh;
	Elf64_Phdr *ph;
};

static struct img *make_image(void)
{
	struct img *im = calloc(1, sizeof(*im));
	Elf64_Nhdr nh = { .n_namesz = 7, .n_descsz = 4, .n_type = XENITH_ELFNOTE_ABI_VERSION };
	uint32_t ver = XENITH_ABI_VERSION;
	Elf64_Sym syms[3] = {
		{ 0 },
		{ .st_name = 1, .st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC), .st_value = 0x100000,
		  .st_size = 0x40 },
		{ .st_name = 8, .st_info = ELF64_ST_INFO(STB_LOCAL, STT_FUNC), .st_value = 0x100040,
		  .st_size = 0x20 },
	};
	const char strtab[] = "\0_start\0crash_null_deref";
	Elf64_Shdr *sh = (Elf64_Shdr *)(void *)(im->b + SHDR_OFF);

	im->eh = (Elf64_Ehdr *)(void *)im->b;
	im->ph = (Elf64_Phdr *)(void *)(im->b + sizeof(Elf64_Ehdr));
	memcpy(im->eh->e_ident, ELFMAG, SELFMAG);
	im->eh->e_ident[EI_CLASS] = ELFCLASS64;
	im->eh->e_ident[EI_DATA] = ELFDATA2LSB;
	im->eh->e_ident[EI_VERSION] = EV_CURRENT;
	im->eh->e_type = ET_EXEC;
	im->eh->e_machine = EM_X86_64;
	im->eh->e_version = EV_CURRENT;
	im->eh->e_entry = 0x100000;
	im->eh->e_phoff = sizeof(Elf64_Ehdr);
	im->eh->e_phentsize = sizeof(Elf64_Phdr);
	im->eh->e_phnum = 3;
	im->eh->e_ehsize = sizeof(Elf64_Ehdr);
	im->ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = TEXT_OFF,
				  .p_vaddr = 0x100000, .p_paddr = 0x100000, .p_filesz = 0x100,
				  .p_memsz = 0x100, .p_align = 0x1000 };
	im->ph[1] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_W, .p_offset = DATA_OFF,
				  .p_vaddr = 0x101000, .p_paddr = 0x101000, .p_filesz = 0x10,
				  .p_memsz = 0x2000, .p_align = 0x1000 };
	im->ph[2] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_flags = PF_R, .p_offset = NOTE_OFF,
				  .p_filesz = sizeof(nh) + 8 + 4 };
	memset(im->b + TEXT_OFF, 0x90, 0x100);
	memset(im->b + DATA_OFF, 0xaa, 0x10);
	memcpy(im->b + NOTE_OFF, &nh, sizeof(nh));
	memcpy(im->b + NOTE_OFF + sizeof(nh), "Xenith", 7);
	memcpy(im->b + NOTE_OFF + sizeof(nh) + 8, &ver, 4);
	memcpy(im->b + SYM_OFF, syms, sizeof(syms));
	memcpy(im->b + STR_OFF, strtab, sizeof(strtab));
	im->eh->e_shoff = SHDR_OFF;
	im->eh->e_shentsize = sizeof(Elf64_Shdr);
	im->eh->e_shnum = 3;
	sh[1] = (Elf64_Shdr){ .sh_type = SHT_SYMTAB, .sh_offset = SYM_OFF, .sh_size = sizeof(syms),
			      .sh_link = 2, .sh_entsize = sizeof(Elf64_Sym) };
	sh[2] = (Elf64_Shdr){ .sh_type = SHT_STRTAB, .sh_offset = STR_OFF, .sh_size = sizeof(strtab) };
	return im;
}

/* Parses and expects failure with every needle in the message. */
static void expect_reject(struct img *im, size_t size, const char *needle1, const char *needle2)
{
	struct elf_image e;
	struct errbuf eb = { "" };

	assert_int_equal(elf_parse(im->b, size, &e, &eb), -ENOEXEC);
	if (!strstr(eb.msg, needle1) || (needle2 && !strstr(eb.msg, needle2)))
		fail_msg("message '%s' lacks '%s'%s%s", eb.msg, needle1, needle2 ? " / " : "",
			 needle2 ? needle2 : "");
	free(im);
}

static void test_elf_accepts_valid_image_with_note_and_symbols(void **state)
{
	struct img *im = make_image();
	struct elf_image e;
	struct errbuf eb;
	const char *name;
	uint64_t off;

	(void)state;
	assert_int_equal(elf_parse(im->b, IMG_SIZE, &e, &eb), 0);
	assert_int_equal(e.entry, 0x100000);
	assert_int_equal(e.nr_segments, 2);
	assert_int_equal(e.lo, 0x100000);
	assert_int_equal(e.hi, 0x103000);
	assert_true(e.has_abi_note);
	assert_int_equal(e.abi_version, XENITH_ABI_VERSION);
	assert_true(elf_symbolize(&e, 0x100044, &name, &off));
	assert_string_equal(name, "crash_null_deref");
	assert_int_equal(off, 4);
	assert_false(elf_symbolize(&e, 0x100060, &name, &off));
	free(im);
}

static void test_elf_rejects_truncated_files(void **state)
{
	(void)state;
	expect_reject(make_image(), 10, "magic", NULL);
	expect_reject(make_image(), sizeof(Elf64_Ehdr) - 1, "truncated", NULL);
	expect_reject(make_image(), sizeof(Elf64_Ehdr) + 60, "truncated", "program header table");
	expect_reject(make_image(), TEXT_OFF + 0x80, "truncated", "program header 0");
}

static void test_elf_rejects_overlapping_segments(void **state)
{
	struct img *im = make_image();

	(void)state;
	im->ph[1].p_vaddr = 0x1000f0; /* inside [0x100000, 0x100100) */
	expect_reject(im, IMG_SIZE, "overlaps", "0x100000");
}

static void test_elf_rejects_huge_memsz_and_address_overflow(void **state)
{
	struct img *im = make_image();

	(void)state;
	im->ph[1].p_memsz = 0xffffffffffff0000ull;
	expect_reject(im, IMG_SIZE, "64-bit address space", NULL);
	im = make_image();
	im->ph[1].p_memsz = 4ull << 30;
	expect_reject(im, IMG_SIZE, "absurd", NULL);
	im = make_image();
	im->ph[1].p_filesz = 0x3000; /* more than memsz */
	expect_reject(im, IMG_SIZE, "p_filesz", "p_memsz");
}

static void test_elf_rejects_entry_outside_any_segment_or_not_executable(void **state)
{
	struct img *im = make_image();

	(void)state;
	im->eh->e_entry = 0x5000;
	expect_reject(im, IMG_SIZE, "entry point 0x5000", "not inside");
	im = make_image();
	im->eh->e_entry = 0x101008;
	expect_reject(im, IMG_SIZE, "entry point 0x101008", "not executable");
}

static void test_elf_rejects_wrong_class_machine_type(void **state)
{
	struct img *im = make_image();

	(void)state;
	im->eh->e_ident[EI_CLASS] = ELFCLASS32;
	expect_reject(im, IMG_SIZE, "ELFCLASS32", "ELF64");
	im = make_image();
	im->eh->e_machine = EM_AARCH64;
	expect_reject(im, IMG_SIZE, "EM_AARCH64", "EM_X86_64");
	im = make_image();
	im->eh->e_type = ET_DYN;
	expect_reject(im, IMG_SIZE, "ET_DYN", "-no-pie");
	im = make_image();
	im->eh->e_ident[EI_DATA] = ELFDATA2MSB;
	expect_reject(im, IMG_SIZE, "little-endian", NULL);
	im = make_image();
	im->eh->e_phnum = 0;
	expect_reject(im, IMG_SIZE, "no program headers", NULL);
	im = make_image();
	im->ph[0].p_type = PT_NULL;
	im->ph[1].p_type = PT_NULL;
	expect_reject(im, IMG_SIZE, "no PT_LOAD", NULL);
}

static void test_elf_bad_note_or_symbols_are_not_trusted(void **state)
{
	struct img *im = make_image();
	struct elf_image e;
	struct errbuf eb;
	const char *name;
	uint64_t off;

	(void)state;
	/* a note whose descsz runs past its segment is ignored, not read */
	((Elf64_Nhdr *)(void *)(im->b + NOTE_OFF))->n_descsz = 0x10000;
	/* a symbol whose name points outside the string table is skipped */
	((Elf64_Sym *)(void *)(im->b + SYM_OFF))[2].st_name = 0x7fffffff;
	assert_int_equal(elf_parse(im->b, IMG_SIZE, &e, &eb), 0);
	assert_false(e.has_abi_note);
	assert_false(elf_symbolize(&e, 0x100044, &name, &off));
	/* a section table past the end of the file means no symbols, not an error */
	im->eh->e_shoff = IMG_SIZE - 8;
	assert_int_equal(elf_parse(im->b, IMG_SIZE, &e, &eb), 0);
	assert_int_equal(e.nr_syms, 0);
	free(im);
}

static void test_elf_load_copies_zeroes_bss_and_checks_bounds(void **state)
{
	struct img *im = make_image();
	struct elf_image e;
	struct errbuf eb;
	uint8_t *mem = malloc(2 << 20);

	(void)state;
	memset(mem, 0x55, 2 << 20);
	assert_int_equal(elf_parse(im->b, IMG_SIZE, &e, &eb), 0);
	assert_int_equal(elf_load(&e, mem, 2 << 20, 0x100000, false, &eb), 0);
	assert_int_equal(mem[0x100000], 0x90);
	assert_int_equal(mem[0x1000ff], 0x90);
	assert_int_equal(mem[0x10100f], 0xaa);
	assert_int_equal(mem[0x101010], 0);  /* bss */
	assert_int_equal(mem[0x102fff], 0);  /* end of bss */
	assert_int_equal(mem[0x103000], 0x55); /* untouched past the image */
	/* memory known to be zero: .bss is not written */
	memset(mem, 0x55, 2 << 20);
	assert_int_equal(elf_load(&e, mem, 2 << 20, 0x100000, true, &eb), 0);
	assert_int_equal(mem[0x10100f], 0xaa);
	assert_int_equal(mem[0x101010], 0x55);

	assert_int_equal(elf_load(&e, mem, 0x102000, 0x100000, false, &eb), -ENOMEM);
	assert_non_null(strstr(eb.msg, "0x103000"));
	assert_int_equal(elf_load(&e, mem, 2 << 20, 0x200000, false, &eb), -EINVAL);
	assert_non_null(strstr(eb.msg, "below 0x200000"));
	free(mem);
	free(im);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_elf_accepts_valid_image_with_note_and_symbols),
		cmocka_unit_test(test_elf_rejects_truncated_files),
		cmocka_unit_test(test_elf_rejects_overlapping_segments),
		cmocka_unit_test(test_elf_rejects_huge_memsz_and_address_overflow),
		cmocka_unit_test(test_elf_rejects_entry_outside_any_segment_or_not_executable),
		cmocka_unit_test(test_elf_rejects_wrong_class_machine_type),
		cmocka_unit_test(test_elf_bad_note_or_symbols_are_not_trusted),
		cmocka_unit_test(test_elf_load_copies_zeroes_bss_and_checks_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
