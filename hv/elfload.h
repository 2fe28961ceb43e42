/* SPDX-License-Identifier: MIT */
/*
 * ELF64 loader for guest images.  elf_parse() validates everything the
 * builder relies on before a byte is copied; elf_load() copies the
 * segments into guest memory; elf_symbolize() names an address.
 */
#ifndef XENITH_HV_ELFLOAD_H
#define XENITH_HV_ELFLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define ELF_MAX_SEGMENTS 16

struct elf_segment {
	uint64_t vaddr;  /* guest address (== guest physical, see abi.h) */
	uint64_t offset; /* in the file */
	uint64_t filesz;
	uint64_t memsz;
	uint32_t flags;  /* PF_R | PF_W | PF_X */
};

struct elf_image {
	const uint8_t *data; /* the whole file, not owned */
	size_t size;
	uint64_t entry;
	unsigned nr_segments;                 /* PT_LOAD segments, sorted by vaddr */
	struct elf_segment seg[ELF_MAX_SEGMENTS];
	uint64_t lo, hi;                      /* [lowest vaddr, end of the highest segment) */
	bool has_abi_note;
	uint32_t abi_version;                 /* from the Xenith ELF note, if present */
	/* Symbol table, when the file has a valid one (else nr_syms == 0). */
	const uint8_t *syms;
	size_t nr_syms;
	const char *strtab;
	size_t strtab_size;
};

/*
 * Validates an ELF64 x86-64 executable held in memory: header, class,
 * data encoding, machine, type ET_EXEC, program headers inside the file,
 * PT_LOAD segments with filesz <= memsz, file ranges inside the file, no
 * address overflow, no overlap between segments, entry point inside an
 * executable segment; reads the Xenith ABI note and the symbol table.
 * Returns 0, or -ENOEXEC / -EINVAL with a message naming the problem.
 */
int elf_parse(const void *data, size_t size, struct elf_image *img, struct errbuf *eb);

/*
 * Copies every PT_LOAD segment to mem + vaddr and zeroes the rest of
 * memsz, unless mem_is_zero says the memory is fresh (a new memfd): then
 * the .bss pages are left untouched, so they cost nothing until the guest
 * uses them.  Fails with -ENOMEM (message saying how much memory the image
 * needs) if a segment ends past mem_size, and -EINVAL if one starts below
 * min_addr (the builder's reserved low pages).
 */
int elf_load(const struct elf_image *img, uint8_t *mem, uint64_t mem_size, uint64_t min_addr,
	     bool mem_is_zero, struct errbuf *eb);

/*
 * Finds the function or object symbol containing addr.  Returns true and
 * sets *name (points into the image) and *offset; false if none.
 */
bool elf_symbolize(const struct elf_image *img, uint64_t addr, const char **name, uint64_t *offset);

#endif
