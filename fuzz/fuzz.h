/* SPDX-License-Identifier: MIT */
/*
 * Shared by the libFuzzer targets: reading typed values off the front of
 * the fuzzer's input (zeroes once it runs out, so every input is valid),
 * and FUZZ_CHECK for invariants, which aborts so libFuzzer records the
 * input as a crash.
 */
#ifndef XENITH_FUZZ_H
#define XENITH_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fuzz_in {
	const uint8_t *p;
	size_t left;
};

/* Copies up to n bytes into dst, zero-filling what the input lacks; returns how many came from it. */
static inline size_t fuzz_bytes(struct fuzz_in *in, void *dst, size_t n)
{
	size_t k = n < in->left ? n : in->left;

	if (k)
		memcpy(dst, in->p, k);
	memset((uint8_t *)dst + k, 0, n - k);
	in->p += k;
	in->left -= k;
	return k;
}

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
	uint8_t v;

	fuzz_bytes(in, &v, sizeof(v));
	return v;
}

/* Little-endian, like the ABI, so seed generators can write them with struct.pack('<...'). */
static inline uint16_t fuzz_u16(struct fuzz_in *in)
{
	uint8_t b[2];

	fuzz_bytes(in, b, sizeof(b));
	return (uint16_t)(b[0] | b[1] << 8);
}

static inline uint32_t fuzz_u32(struct fuzz_in *in)
{
	uint8_t b[4];

	fuzz_bytes(in, b, sizeof(b));
	return b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline uint64_t fuzz_u64(struct fuzz_in *in)
{
	uint64_t lo = fuzz_u32(in); /* two statements: the order of the reads is defined */

	return lo | (uint64_t)fuzz_u32(in) << 32;
}

#define FUZZ_CHECK(cond, ...)                                                                \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "fuzz invariant broken at %s:%d: %s\n  ", __FILE__,  \
				__LINE__, #cond);                                            \
			fprintf(stderr, __VA_ARGS__);                                        \
			fputc('\n', stderr);                                                 \
			abort();                                                             \
		}                                                                            \
	} while (0)

#endif
