/* SPDX-License-Identifier: MIT */
/*
 * The host's check of a disk image the guest's `blk verify` wrote
 * (include/blkpattern.h's pattern), for the kvm tier's disk tests.
 * Include after <cmocka.h> (and its prerequisites).
 */
#ifndef XENITH_TESTS_BLKVERIFY_H
#define XENITH_TESTS_BLKVERIFY_H

#include <stdint.h>
#include <stdio.h>

#include "blkpattern.h"

/*
 * Checks the backing file word by word: [0, zero_head) zero (discarded),
 * then the pattern up to `bytes`; the rest of the file must still be zero.
 */
static inline void host_verifies(const char *path, uint64_t seed, uint64_t bytes, uint64_t zero_head)
{
	FILE *f = fopen(path, "rb");
	uint64_t off = 0, w, bad = 0, nonzero = 0, blank = 0;

	assert_non_null(f);
	while (fread(&w, 8, 1, f) == 1) {
		if (off < zero_head)
			nonzero += w != 0;
		else if (off < bytes) {
			bad += w != blk_pattern(seed, off);
			blank += w == 0; /* a pattern of zeroes would match an untouched disk */
		}
		else
			nonzero += w != 0;
		off += 8;
	}
	fclose(f);
	assert_int_equal(bad, 0);
	assert_int_equal(blank, 0);
	assert_int_equal(nonzero, 0);
	assert_true(off >= bytes);
}

#endif
