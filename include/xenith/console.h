/* SPDX-License-Identifier: MIT */
/*
 * Console ring, Xen's xencons_interface layout.  The guest produces into
 * out[] and advances out_prod (release); the VMM consumes and advances
 * out_cons (release).  Indices are free-running; an index is reduced with
 * MASK_XENCONS_IDX.  in[] is reserved for console input.
 */
#ifndef XENITH_CONSOLE_H
#define XENITH_CONSOLE_H

#include <stdint.h>

#define XENITH_CONS_IN_SIZE 1024u
#define XENITH_CONS_OUT_SIZE 2048u
#define MASK_XENCONS_IDX(idx, size) ((idx) & ((size) - 1))

struct xenith_console_ring {
	char in[XENITH_CONS_IN_SIZE];
	char out[XENITH_CONS_OUT_SIZE];
	uint32_t in_cons, in_prod;
	uint32_t out_cons, out_prod;
};

_Static_assert(__builtin_offsetof(struct xenith_console_ring, out) == 1024, "console ABI");
_Static_assert(__builtin_offsetof(struct xenith_console_ring, in_cons) == 3072, "console ABI");
_Static_assert(__builtin_offsetof(struct xenith_console_ring, out_cons) == 3080, "console ABI");
_Static_assert(sizeof(struct xenith_console_ring) == 3088, "console ABI size");
_Static_assert((XENITH_CONS_OUT_SIZE & (XENITH_CONS_OUT_SIZE - 1)) == 0, "power of two");

#endif
