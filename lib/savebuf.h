/* SPDX-License-Identifier: MIT */
/*
 * Byte buffers for saved state (the relocation stream's record bodies,
 * mig/stream.h): a growable writer and a bounds-checked reader.  Integers
 * are little-endian, as the hosts are.  A reader's get fails (-EPROTO) on
 * running past the end and stays failed, so a parser can read a whole
 * struct and check once; it never reads outside [p, p + len).
 */
#ifndef XENITH_LIB_SAVEBUF_H
#define XENITH_LIB_SAVEBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct savebuf {
	uint8_t *p;
	size_t len, cap;
	bool oom;          /* a put ran out of memory: the buffer is incomplete */
};

/* Appends len bytes (no-op after an out-of-memory). */
void savebuf_put(struct savebuf *b, const void *data, size_t len);
void savebuf_u8(struct savebuf *b, uint8_t v);
void savebuf_u16(struct savebuf *b, uint16_t v);
void savebuf_u32(struct savebuf *b, uint32_t v);
void savebuf_u64(struct savebuf *b, uint64_t v);
/* A string: u32 length, then its bytes (no NUL). */
void savebuf_str(struct savebuf *b, const char *s);
/* 0, or -ENOMEM if any put failed. */
int savebuf_status(const struct savebuf *b);
void savebuf_free(struct savebuf *b);

struct saveread {
	const uint8_t *p;
	size_t len, off;
	bool bad;          /* a get ran past the end */
};

static inline void saveread_init(struct saveread *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
	r->bad = false;
}

/* Copies len bytes out (zeroes on failure): 0 or -EPROTO. */
int saveread_get(struct saveread *r, void *out, size_t len);
uint8_t saveread_u8(struct saveread *r);
uint16_t saveread_u16(struct saveread *r);
uint32_t saveread_u32(struct saveread *r);
uint64_t saveread_u64(struct saveread *r);
/*
 * A string as savebuf_str wrote it, into out (size bytes with the NUL):
 * -EPROTO when it runs past the end, is size bytes or longer, or holds a
 * NUL byte.
 */
int saveread_str(struct saveread *r, char *out, size_t size);
/* Bytes left. */
static inline size_t saveread_left(const struct saveread *r)
{
	return r->bad ? 0 : r->len - r->off;
}
/* 0 when every get so far stayed in bounds and the whole buffer was read; else -EPROTO. */
int saveread_done(const struct saveread *r);

#endif
