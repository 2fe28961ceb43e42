// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the ELF loader (hv/elfload.c); a guest image is untrusted
 * input.  The input is the image.  elf_parse must accept only what its
 * header comment promises (checked here field by field), or refuse with a
 * message; an accepted image is loaded with elf_load into a fake guest
 * memory (a heap block of exactly its size, so ASan sees a segment copied
 * past it) as the domain builder does, above BUILDER_IMAGE_MIN, and its
 * bytes must land where the program headers say; elf_symbolize is asked
 * about the entry point and each segment.
 *
 * e_ident[EI_PAD] (byte 9, ignored by ELF readers) picks the load: bit 0
 * says the memory is fresh (mem_is_zero), bit 1 takes a quarter of it away.
 */
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "elfload.h"
#include "fuzz.h"

#define MEM_SIZE (2ull << 20)       /* 2 MiB of guest memory */
#define IMAGE_MIN 0x100000ull       /* hv/builder.h BUILDER_IMAGE_MIN: images load above 1 MiB */
#define SPAN_MAX (1ull << 30)       /* elfload.c: one image spans at most 1 GiB */

static uint8_t *guest_mem;

static void check_image(const struct elf_image *img, size_t size)
{
	bool entry_ok = false;

	FUZZ_CHECK(img->nr_segments >= 1 && img->nr_segments <= ELF_MAX_SEGMENTS, "%u segments",
		   img->nr_segments);
	for (unsigned i = 0; i < img->nr_segments; i++) {
		const struct elf_segment *s = &img->seg[i];

		FUZZ_CHECK(s->filesz <= s->memsz, "segment %u: filesz %#llx > memsz %#llx", i,
			   (unsigned long long)s->filesz, (unsigned long long)s->memsz);
		FUZZ_CHECK(s->offset <= size && s->filesz <= size - s->offset,
			   "segment %u: file range [%#llx, +%#llx) past the file's %zu bytes", i,
			   (unsigned long long)s->offset, (unsigned long long)s->filesz, size);
		FUZZ_CHECK(s->vaddr + s->memsz >= s->vaddr, "segment %u wraps", i);
		FUZZ_CHECK(s->vaddr >= img->lo && s->vaddr + s->memsz <= img->hi,
			   "segment %u outside [lo, hi)", i);
		if (i)
			FUZZ_CHECK(img->seg[i - 1].vaddr + img->seg[i - 1].memsz <= s->vaddr,
				   "segments %u and %u overlap or are out of order", i - 1, i);
		if (img->entry >= s->vaddr && img->entry - s->vaddr < s->memsz && (s->flags & PF_X))
			entry_ok = true;
	}
	FUZZ_CHECK(entry_ok, "entry %#llx is not in an executable segment",
		   (unsigned long long)img->entry);
	FUZZ_CHECK(img->hi - img->lo <= SPAN_MAX, "span %#llx", (unsigned long long)(img->hi - img->lo));
	if (img->nr_syms) {
		const uint8_t *d = img->data;

		FUZZ_CHECK(img->syms >= d && (size_t)(img->syms - d) <= size &&
			   img->nr_syms <= (size - (size_t)(img->syms - d)) / sizeof(Elf64_Sym),
			   "symbol table outside the file");
		FUZZ_CHECK((const uint8_t *)img->strtab >= d &&
			   (size_t)((const uint8_t *)img->strtab - d) <= size &&
			   img->strtab_size <= size - (size_t)((const uint8_t *)img->strtab - d),
			   "string table outside the file");
	}
}

static void symbolize(const struct elf_image *img, uint64_t addr)
{
	const char *name = NULL;
	uint64_t off = UINT64_MAX;

	if (!elf_symbolize(img, addr, &name, &off))
		return;
	FUZZ_CHECK(name >= img->strtab && name < img->strtab + img->strtab_size &&
		   memchr(name, 0, (size_t)(img->strtab + img->strtab_size - name)),
		   "symbol name for %#llx is not a string in the string table", (unsigned long long)addr);
	FUZZ_CHECK(off <= addr, "offset %#llx past address %#llx", (unsigned long long)off,
		   (unsigned long long)addr);
}

static void load(const struct elf_image *img, const uint8_t *data, size_t size)
{
	struct errbuf eb = { "" };
	bool mem_is_zero = size > EI_PAD && (data[EI_PAD] & 1);
	uint64_t mem_size = size > EI_PAD && (data[EI_PAD] & 2) ? MEM_SIZE - MEM_SIZE / 4 : MEM_SIZE;
	uint8_t *mem = guest_mem + (MEM_SIZE - mem_size); /* ends where the heap block ends */
	bool fits = true;
	int r;

	for (unsigned i = 0; i < img->nr_segments; i++) {
		const struct elf_segment *s = &img->seg[i];

		if (s->vaddr < IMAGE_MIN || s->vaddr > mem_size || s->memsz > mem_size - s->vaddr)
			fits = false;
	}
	memset(mem, 0xee, mem_size);
	r = elf_load(img, mem, mem_size, IMAGE_MIN, mem_is_zero, &eb);
	FUZZ_CHECK((r == 0) == fits, "elf_load = %d (%s) for an image that %s", r, eb.msg,
		   fits ? "fits" : "does not fit");
	if (r < 0) {
		FUZZ_CHECK((r == -ENOMEM || r == -EINVAL) && eb.msg[0], "elf_load = %d, '%s'", r, eb.msg);
		return;
	}
	for (unsigned i = 0; i < img->nr_segments; i++) {
		const struct elf_segment *s = &img->seg[i];
		const uint8_t *at = mem + s->vaddr;

		FUZZ_CHECK(!memcmp(at, data + s->offset, s->filesz), "segment %u: wrong bytes loaded", i);
		if (!mem_is_zero)
			for (uint64_t j = s->filesz; j < s->memsz; j++)
				FUZZ_CHECK(at[j] == 0, "segment %u: byte %#llx of .bss not zeroed", i,
					   (unsigned long long)j);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elf_image img;
	struct errbuf eb = { "" };
	int r;

	if (!guest_mem) {
		guest_mem = malloc(MEM_SIZE); /* kept: one allocation for every run */
		if (!guest_mem)
			abort();
	}
	r = elf_parse(data, size, &img, &eb);
	if (r < 0) {
		FUZZ_CHECK((r == -ENOEXEC || r == -EINVAL) && eb.msg[0], "elf_parse = %d, '%s'", r,
			   eb.msg);
		return 0;
	}
	check_image(&img, size);
	symbolize(&img, img.entry);
	for (unsigned i = 0; i < img.nr_segments; i++)
		symbolize(&img, img.seg[i].vaddr);
	load(&img, data, size);
	return 0;
}
