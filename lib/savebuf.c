// SPDX-License-Identifier: MIT
#include "savebuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void savebuf_put(struct savebuf *b, const void *data, size_t len)
{
	if (b->oom || !len)
		return;
	if (len > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 256;
		uint8_t *p;

		while (cap - b->len < len) {
			if (cap > SIZE_MAX / 2) {
				b->oom = true;
				return;
			}
			cap *= 2;
		}
		p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

void savebuf_u8(struct savebuf *b, uint8_t v)
{
	savebuf_put(b, &v, 1);
}

void savebuf_u16(struct savebuf *b, uint16_t v)
{
	savebuf_put(b, &v, 2);
}

void savebuf_u32(struct savebuf *b, uint32_t v)
{
	savebuf_put(b, &v, 4);
}

void savebuf_u64(struct savebuf *b, uint64_t v)
{
	savebuf_put(b, &v, 8);
}

void savebuf_str(struct savebuf *b, const char *s)
{
	size_t n = strlen(s);

	if (n > UINT32_MAX) {
		b->oom = true;
		return;
	}
	savebuf_u32(b, (uint32_t)n);
	savebuf_put(b, s, n);
}

int savebuf_status(const struct savebuf *b)
{
	return b->oom ? -ENOMEM : 0;
}

void savebuf_free(struct savebuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

int saveread_get(struct saveread *r, void *out, size_t len)
{
	if (r->bad || len > r->len - r->off) {
		r->bad = true;
		memset(out, 0, len);
		return -EPROTO;
	}
	memcpy(out, r->p + r->off, len);
	r->off += len;
	return 0;
}

uint8_t saveread_u8(struct saveread *r)
{
	uint8_t v;

	saveread_get(r, &v, 1);
	return v;
}

uint16_t saveread_u16(struct saveread *r)
{
	uint16_t v;

	saveread_get(r, &v, 2);
	return v;
}

uint32_t saveread_u32(struct saveread *r)
{
	uint32_t v;

	saveread_get(r, &v, 4);
	return v;
}

uint64_t saveread_u64(struct saveread *r)
{
	uint64_t v;

	saveread_get(r, &v, 8);
	return v;
}

int saveread_str(struct saveread *r, char *out, size_t size)
{
	uint32_t n = saveread_u32(r);

	if (size)
		out[0] = 0;
	if (r->bad || n >= size || n > r->len - r->off) {
		r->bad = true;
		return -EPROTO;
	}
	if (memchr(r->p + r->off, 0, n)) {
		r->bad = true;
		return -EPROTO;
	}
	memcpy(out, r->p + r->off, n);
	out[n] = 0;
	r->off += n;
	return 0;
}

int saveread_done(const struct saveread *r)
{
	return r->bad || r->off != r->len ? -EPROTO : 0;
}
