/* SPDX-License-Identifier: MIT */
/*
 * What minios's disk programs (guest/blk.c, guest/blkchurn.c) write and
 * the host checks on the image afterwards (the kvm tier, the soak suite):
 * one definition for both sides.  Not guest ABI (include/xenith/): a test
 * convention.  Freestanding: only <stdint.h>.
 */
#ifndef XENITH_BLKPATTERN_H
#define XENITH_BLKPATTERN_H

#include <stdint.h>

/* The 64-bit word at byte offset off (a multiple of 8) of a disk written with seed (splitmix64). */
static inline uint64_t blk_pattern(uint64_t seed, uint64_t off)
{
	uint64_t x = seed + off / 8 + 0x9e3779b97f4a7c15ull;

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/*
 * A host's answer in a mailbox disk's first bytes: {BLK_ACK_MAGIC, token},
 * the token being the one the guest printed ("soak-ack", little-endian).
 */
#define BLK_ACK_MAGIC 0x6b63612d6b616f73ull

#endif
