// SPDX-License-Identifier: MIT
/*
 * ELF64 guest image loader.  Everything read from the file is checked
 * against the file's size before use, with overflow-safe arithmetic: a
 * guest image is input like any other.
 */
#include "elfload.h"

#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenith/abi.h"

/* Upper bound on what one image may span in guest memory. */
#define IMAGE_SPAN_MAX (1ull << 30)

static bool range_ok(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

static const char *machine_name(unsigned m)
{
	switch (m) {
	case EM_386: return "EM_386";
	case EM_ARM: return "EM_ARM";
	case EM_AARCH64: return "EM_AARCH64";
	case EM_RISCV: return "EM_RISCV";
	case EM_PPC64: return "EM_PPC64";
	default: return "another machine";
	}
}

static int check_header(const Elf64_Ehdr *h, size_t size, struct errbuf *eb)
{
	if (size < EI_NIDENT || memcmp(h->e_ident, ELFMAG, SELFMAG) != 0)
		return errbuf_set(eb, ENOEXEC, "not an ELF file (bad magic; expected \\x7fELF)");
	if (h->e_ident[EI_CLASS] != ELFCLASS64)
		return errbuf_set(eb, ENOEXEC, "ELF class is %s; Xenith guests are ELF64 x86-64",
				  h->e_ident[EI_CLASS] == ELFCLASS32 ? "ELFCLASS32" : "invalid");
	if (size < sizeof(*h))
		return errbuf_set(eb, ENOEXEC, "file is truncated: %zu bytes, an ELF64 header needs %zu",
				  size, sizeof(*h));
	if (h->e_ident[EI_DATA] != ELFDATA2LSB)
		return errbuf_set(eb, ENOEXEC, "ELF data encoding is not little-endian (ELFDATA2LSB)");
	if (h->e_ident[EI_VERSION] != EV_CURRENT || h->e_version != EV_CURRENT)
		return errbuf_set(eb, ENOEXEC, "ELF version %u; expected EV_CURRENT (1)", h->e_version);
	if (h->e_machine != EM_X86_64)
		return errbuf_set(eb, ENOEXEC, "machine is %s (%u); expected EM_X86_64 (62)",
				  machine_name(h->e_machine), h->e_machine);
	if (h->e_type == ET_DYN)
		return errbuf_set(eb, ENOEXEC, "position-independent images (ET_DYN) are not supported; "
				  "link the guest with -no-pie");
	if (h->e_type != ET_EXEC)
		return errbuf_set(eb, ENOEXEC, "ELF type %u is not an executable (ET_EXEC)", h->e_type);
	if (h->e_phentsize != sizeof(Elf64_Phdr))
		return errbuf_set(eb, ENOEXEC, "program header entries are %u bytes; expected %zu",
				  h->e_phentsize, sizeof(Elf64_Phdr));
	if (h->e_phnum == 0)
		return errbuf_set(eb, ENOEXEC, "no program headers: nothing to load");
	if (!range_ok(h->e_phoff, (uint64_t)h->e_phnum * sizeof(Elf64_Phdr), size))
		return errbuf_set(eb, ENOEXEC, "file is truncated: program header table at offset 0x%llx "
				  "+ %u*%zu bytes exceeds the file size %zu",
				  (unsigned long long)h->e_phoff, h->e_phnum, sizeof(Elf64_Phdr), size);
	return 0;
}

/* Reads the Xenith ABI note out of one note area; bounds-checked. */
static void scan_notes(struct elf_image *img, uint64_t off, uint64_t len)
{
	const uint8_t *p = img->data + off;
	uint64_t pos = 0;

	while (len - pos >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr n;
		uint64_t name_off, desc_off, next;

		memcpy(&n, p + pos, sizeof(n));
		name_off = pos + sizeof(n);
		desc_off = name_off + (((uint64_t)n.n_namesz + 3) & ~3ull);
		next = desc_off + (((uint64_t)n.n_descsz + 3) & ~3ull);
		if (desc_off > len || next > len || n.n_descsz > len)
			return;
		if (n.n_namesz == sizeof(XENITH_ELFNOTE_NAME) &&
		    !memcmp(p + name_off, XENITH_ELFNOTE_NAME, sizeof(XENITH_ELFNOTE_NAME)) &&
		    n.n_type == XENITH_ELFNOTE_ABI_VERSION && n.n_descsz == 4) {
			memcpy(&img->abi_version, p + desc_off, 4);
			img->has_abi_note = true;
		}
		pos = next;
	}
}

static int cmp_seg(const void *a, const void *b)
{
	const struct elf_segment *x = a, *y = b;

	return (x->vaddr > y->vaddr) - (x->vaddr < y->vaddr);
}

static int load_segments(struct elf_image *img, const Elf64_Ehdr *h, struct errbuf *eb)
{
	for (unsigned i = 0; i < h->e_phnum; i++) {
		Elf64_Phdr ph;
		struct elf_segment *s;

		memcpy(&ph, img->data + h->e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_NOTE && range_ok(ph.p_offset, ph.p_filesz, img->size))
			scan_notes(img, ph.p_offset, ph.p_filesz);
		if (ph.p_type != PT_LOAD)
			continue;
		if (img->nr_segments == ELF_MAX_SEGMENTS)
			return errbuf_set(eb, ENOEXEC, "more than %d PT_LOAD segments", ELF_MAX_SEGMENTS);
		if (ph.p_filesz > ph.p_memsz)
			return errbuf_set(eb, ENOEXEC, "program header %u: p_filesz 0x%llx exceeds p_memsz "
					  "0x%llx", i, (unsigned long long)ph.p_filesz,
					  (unsigned long long)ph.p_memsz);
		if (!range_ok(ph.p_offset, ph.p_filesz, img->size))
			return errbuf_set(eb, ENOEXEC, "file is truncated: program header %u's data "
					  "[0x%llx, +0x%llx) goes past the file size %zu", i,
					  (unsigned long long)ph.p_offset, (unsigned long long)ph.p_filesz,
					  img->size);
		if (ph.p_vaddr + ph.p_memsz < ph.p_vaddr)
			return errbuf_set(eb, ENOEXEC, "program header %u: p_vaddr 0x%llx + p_memsz 0x%llx "
					  "ends past the 64-bit address space", i,
					  (unsigned long long)ph.p_vaddr, (unsigned long long)ph.p_memsz);
		if (ph.p_memsz > IMAGE_SPAN_MAX)
			return errbuf_set(eb, ENOEXEC, "program header %u: p_memsz 0x%llx is absurd (more "
					  "than %llu MiB)", i, (unsigned long long)ph.p_memsz,
					  IMAGE_SPAN_MAX >> 20);
		s = &img->seg[img->nr_segments++];
		s->vaddr = ph.p_vaddr;
		s->offset = ph.p_offset;
		s->filesz = ph.p_filesz;
		s->memsz = ph.p_memsz;
		s->flags = ph.p_flags;
	}
	if (!img->nr_segments)
		return errbuf_set(eb, ENOEXEC, "no PT_LOAD segment: nothing to load");
	qsort(img->seg, img->nr_segments, sizeof(img->seg[0]), cmp_seg);
	img->lo = img->seg[0].vaddr;
	for (unsigned i = 0; i < img->nr_segments; i++) {
		const struct elf_segment *s = &img->seg[i];

		if (i && s->vaddr < img->seg[i - 1].vaddr + img->seg[i - 1].memsz)
			return errbuf_set(eb, ENOEXEC, "segment [0x%llx, 0x%llx) overlaps segment "
					  "[0x%llx, 0x%llx)", (unsigned long long)s->vaddr,
					  (unsigned long long)(s->vaddr + s->memsz),
					  (unsigned long long)img->seg[i - 1].vaddr,
					  (unsigned long long)(img->seg[i - 1].vaddr + img->seg[i - 1].memsz));
		if (s->vaddr + s->memsz > img->hi)
			img->hi = s->vaddr + s->memsz;
	}
	if (img->hi - img->lo > IMAGE_SPAN_MAX)
		return errbuf_set(eb, ENOEXEC, "segments span [0x%llx, 0x%llx): more than %llu MiB",
				  (unsigned long long)img->lo, (unsigned long long)img->hi,
				  IMAGE_SPAN_MAX >> 20);
	return 0;
}

static int check_entry(const struct elf_image *img, struct errbuf *eb)
{
	for (unsigned i = 0; i < img->nr_segments; i++) {
		const struct elf_segment *s = &img->seg[i];

		if (img->entry >= s->vaddr && img->entry - s->vaddr < s->memsz) {
			if (!(s->flags & PF_X))
				return errbuf_set(eb, ENOEXEC, "entry point 0x%llx is in a segment that is "
						  "not executable", (unsigned long long)img->entry);
			return 0;
		}
	}
	return errbuf_set(eb, ENOEXEC, "entry point 0x%llx is not inside any PT_LOAD segment",
			  (unsigned long long)img->entry);
}

/* The symbol table is optional: anything wrong with it just means no symbols. */
static void find_symbols(struct elf_image *img, const Elf64_Ehdr *h)
{
	Elf64_Shdr sh, str;

	if (!h->e_shoff || h->e_shentsize != sizeof(Elf64_Shdr) ||
	    !range_ok(h->e_shoff, (uint64_t)h->e_shnum * sizeof(Elf64_Shdr), img->size))
		return;
	for (unsigned i = 0; i < h->e_shnum; i++) {
		memcpy(&sh, img->data + h->e_shoff + (uint64_t)i * sizeof(sh), sizeof(sh));
		if (sh.sh_type != SHT_SYMTAB || sh.sh_entsize != sizeof(Elf64_Sym) ||
		    sh.sh_link >= h->e_shnum || !range_ok(sh.sh_offset, sh.sh_size, img->size))
			continue;
		memcpy(&str, img->data + h->e_shoff + (uint64_t)sh.sh_link * sizeof(str), sizeof(str));
		if (str.sh_type != SHT_STRTAB || !range_ok(str.sh_offset, str.sh_size, img->size))
			continue;
		img->syms = img->data + sh.sh_offset;
		img->nr_syms = sh.sh_size / sizeof(Elf64_Sym);
		img->strtab = (const char *)img->data + str.sh_offset;
		img->strtab_size = str.sh_size;
		return;
	}
}

int elf_parse(const void *data, size_t size, struct elf_image *img, struct errbuf *eb)
{
	Elf64_Ehdr h;
	int r;

	memset(img, 0, sizeof(*img));
	img->data = data;
	img->size = size;
	memset(&h, 0, sizeof(h));
	memcpy(&h, data, size < sizeof(h) ? size : sizeof(h));
	r = check_header(&h, size, eb);
	if (r < 0)
		return r;
	img->entry = h.e_entry;
	r = load_segments(img, &h, eb);
	if (r < 0)
		return r;
	r = check_entry(img, eb);
	if (r < 0)
		return r;
	find_symbols(img, &h);
	return 0;
}

int elf_load(const struct elf_image *img, uint8_t *mem, uint64_t mem_size, uint64_t min_addr,
	     bool mem_is_zero, struct errbuf *eb)
{
	for (unsigned i = 0; i < img->nr_segments; i++) {
		const struct elf_segment *s = &img->seg[i];

		if (s->vaddr < min_addr)
			return errbuf_set(eb, EINVAL, "segment at 0x%llx is below 0x%llx, where guest images "
					  "must load", (unsigned long long)s->vaddr,
					  (unsigned long long)min_addr);
		if (s->vaddr > mem_size || s->memsz > mem_size - s->vaddr)
			return errbuf_set(eb, ENOMEM, "image needs guest memory up to 0x%llx (%llu KiB); "
					  "the domain has %llu KiB",
					  (unsigned long long)img->hi, (unsigned long long)(img->hi >> 10),
					  (unsigned long long)(mem_size >> 10));
	}
	for (unsigned i = 0; i < img->nr_segments; i++) {
		const struct elf_segment *s = &img->seg[i];

		memcpy(mem + s->vaddr, img->data + s->offset, s->filesz);
		if (!mem_is_zero)
			memset(mem + s->vaddr + s->filesz, 0, s->memsz - s->filesz);
	}
	return 0;
}

bool elf_symbolize(const struct elf_image *img, uint64_t addr, const char **name, uint64_t *offset)
{
	for (size_t i = 0; i < img->nr_syms; i++) {
		Elf64_Sym s;
		unsigned type;

		memcpy(&s, img->syms + i * sizeof(s), sizeof(s));
		type = ELF64_ST_TYPE(s.st_info);
		if ((type != STT_FUNC && type != STT_OBJECT) || s.st_name >= img->strtab_size)
			continue;
		if (addr < s.st_value || (s.st_size ? addr - s.st_value >= s.st_size : addr != s.st_value))
			continue;
		/* NUL inside the string table, or the name is unusable */
		if (!memchr(img->strtab + s.st_name, 0, img->strtab_size - s.st_name))
			continue;
		*name = img->strtab + s.st_name;
		*offset = addr - s.st_value;
		return true;
	}
	return false;
}
