// SPDX-License-Identifier: MIT
/*
 * Memory: a page allocator over [free_start, free_end) (a bitmap, first
 * fit from a moving hint) and a heap on top of it (power-of-two size
 * classes up to 2 KiB, whole pages beyond).  One lock for both.
 */
#include "minios.h"

#define PAGE 4096ul
#define MIN_SHIFT 4
#define MAX_SHIFT 11 /* 2 KiB */
#define NR_CLASSES (MAX_SHIFT - MIN_SHIFT + 1)
#define HDR_MAGIC 0x6d696e696f73ul

struct block_hdr {
	uint64_t magic;
	uint32_t cls;    /* size class, or NR_CLASSES for a page run */
	uint32_t npages; /* page runs: how many pages */
};
_Static_assert(sizeof(struct block_hdr) == 16, "keeps blocks 16-byte aligned");

struct free_block {
	struct free_block *next;
};

static struct spinlock lock = SPINLOCK_INIT;
static uint8_t *bitmap;
static uintptr_t base;
static size_t nr_pages, nr_free, hint;
static struct free_block *free_list[NR_CLASSES];

static bool test_bit(size_t i)
{
	return bitmap[i / 8] & (1u << (i % 8));
}

static void set_bits(size_t i, size_t n, bool v)
{
	for (; n--; i++) {
		if (v)
			bitmap[i / 8] |= (uint8_t)(1u << (i % 8));
		else
			bitmap[i / 8] &= (uint8_t)~(1u << (i % 8));
	}
}

void mm_init(void)
{
	uintptr_t start = (uintptr_t)start_info->free_start, end = (uintptr_t)start_info->free_end;
	size_t total = (end - start) / PAGE, meta;

	/* The bitmap takes the first pages of the free area. */
	meta = (total / 8 + PAGE) / PAGE;
	bitmap = (uint8_t *)start;
	memset(bitmap, 0, meta * PAGE);
	base = start + meta * PAGE;
	nr_pages = total - meta;
	nr_free = nr_pages;
	hint = 0;
}

static void *pages_locked(size_t n)
{
	if (n == 0 || n > nr_free)
		return NULL;
	for (size_t pass = 0; pass < 2; pass++) {
		size_t i = pass ? 0 : hint, run = 0;

		for (; i < nr_pages; i++) {
			run = test_bit(i) ? 0 : run + 1;
			if (run == n) {
				size_t first = i + 1 - n;

				set_bits(first, n, true);
				nr_free -= n;
				hint = i + 1 < nr_pages ? i + 1 : 0;
				return (void *)(base + first * PAGE);
			}
		}
	}
	return NULL;
}

void *alloc_pages(size_t n)
{
	void *p;

	spin_lock(&lock);
	p = pages_locked(n);
	spin_unlock(&lock);
	return p;
}

static void free_pages_locked(void *p, size_t n)
{
	size_t first = ((uintptr_t)p - base) / PAGE;

	set_bits(first, n, false);
	nr_free += n;
}

void free_pages(void *p, size_t n)
{
	if (!p)
		return;
	spin_lock(&lock);
	free_pages_locked(p, n);
	spin_unlock(&lock);
}

size_t mm_free_pages(void)
{
	return nr_free;
}

static unsigned size_class(size_t size)
{
	unsigned c = 0;

	while (((size_t)1 << (c + MIN_SHIFT)) < size + sizeof(struct block_hdr))
		c++;
	return c;
}

void *malloc(size_t size)
{
	struct block_hdr *h;
	unsigned c;

	if (size == 0 || size > (1ul << 40))
		return NULL;
	c = size_class(size);
	spin_lock(&lock);
	if (c >= NR_CLASSES) {
		size_t n = (size + sizeof(*h) + PAGE - 1) / PAGE;

		h = pages_locked(n);
		if (h)
			*h = (struct block_hdr){ HDR_MAGIC, NR_CLASSES, (uint32_t)n };
	} else {
		if (!free_list[c]) {
			/* Carve a fresh page into blocks of this class. */
			uint8_t *pg = pages_locked(1);
			size_t bs = (size_t)1 << (c + MIN_SHIFT);

			for (size_t off = 0; pg && off + bs <= PAGE; off += bs) {
				struct free_block *b = (struct free_block *)(pg + off);

				b->next = free_list[c];
				free_list[c] = b;
			}
		}
		h = (struct block_hdr *)free_list[c];
		if (h) {
			free_list[c] = free_list[c]->next;
			*h = (struct block_hdr){ HDR_MAGIC, c, 0 };
		}
	}
	spin_unlock(&lock);
	return h ? h + 1 : NULL;
}

void *calloc(size_t n, size_t size)
{
	void *p;

	if (size && n > (size_t)-1 / size)
		return NULL;
	p = malloc(n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

void free(void *p)
{
	struct block_hdr *h;

	if (!p)
		return;
	h = (struct block_hdr *)p - 1;
	if (h->magic != HDR_MAGIC)
		return; /* not ours (or freed twice): leak it rather than corrupt the heap */
	h->magic = 0;
	spin_lock(&lock);
	if (h->cls == NR_CLASSES) {
		free_pages_locked(h, h->npages);
	} else {
		struct free_block *b = (struct free_block *)h;

		b->next = free_list[h->cls];
		free_list[h->cls] = b;
	}
	spin_unlock(&lock);
}
