// SPDX-License-Identifier: MIT
/*
 * The store printed: as xenstore-ls prints it (Xen's
 * tools/xenstore/xenstore_client.c do_ls and sanitise_value), and as
 * JSON.  Recursive in the tree's depth with small frames (a path of
 * XENSTORE_ABS_PATH_MAX bytes is at most 1536 levels deep).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "xenstore_priv.h"

struct sink {
	char *buf;
	size_t size, len; /* len counts everything, even what did not fit */
};

static void put(struct sink *o, const char *s, size_t n)
{
	if (o->len + n < o->size)
		memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void puts_(struct sink *o, const char *s)
{
	put(o, s, strlen(s));
}

/* xenstore-ls's sanitise_value. */
static void put_sanitised(struct sink *o, const char *v, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];
		char esc[8];

		if (c >= ' ' && c <= '~' && c != '\\') {
			put(o, (const char *)&c, 1);
			continue;
		}
		switch (c) {
		case '\t': puts_(o, "\\t"); break;
		case '\n': puts_(o, "\\n"); break;
		case '\r': puts_(o, "\\r"); break;
		case '\\': puts_(o, "\\\\"); break;
		default:
			snprintf(esc, sizeof(esc), c < 010 ? "\\%03o" : "\\x%02x", c);
			puts_(o, esc);
		}
	}
}

static void ls(struct sink *o, const struct xs_node *n, unsigned depth)
{
	for (uint32_t i = 0; i < n->nkids; i++) {
		const struct xs_node *k = n->kids[i];

		for (unsigned d = 0; d < depth; d++)
			put(o, " ", 1);
		puts_(o, k->name);
		puts_(o, " = \"");
		put_sanitised(o, k->val, k->len);
		puts_(o, "\"\n");
		ls(o, k, depth + 1);
	}
}

static void put_json_string(struct sink *o, const char *v, size_t len)
{
	put(o, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];
		char esc[8];

		if (c == '"' || c == '\\') {
			put(o, "\\", 1);
			put(o, (const char *)&c, 1);
		} else if (c >= ' ' && c <= '~') {
			put(o, (const char *)&c, 1);
		} else {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			puts_(o, esc);
		}
	}
	put(o, "\"", 1);
}

static void json(struct sink *o, const struct xs_node *n)
{
	puts_(o, "{\"value\": ");
	put_json_string(o, n->val, n->len);
	puts_(o, ", \"perms\": [");
	for (uint32_t i = 0; i < n->nperms; i++) {
		char p[16];

		xs_format_perm(&n->perms[i], p, sizeof(p));
		if (i)
			puts_(o, ", ");
		put_json_string(o, p, strlen(p));
	}
	puts_(o, "], \"children\": {");
	for (uint32_t i = 0; i < n->nkids; i++) {
		if (i)
			puts_(o, ", ");
		put_json_string(o, n->kids[i]->name, strlen(n->kids[i]->name));
		puts_(o, ": ");
		json(o, n->kids[i]);
	}
	puts_(o, "}}");
}

static int dump(struct xs_store *s, const char *path, char *buf, size_t size, bool as_json)
{
	struct xs_op op = { .s = s, .c = NULL, .t = NULL, .domid = XENITH_XS_DOM0 };
	struct sink o = { .buf = buf, .size = size, .len = 0 };
	char p[XS_PATH_BUF];
	const struct xs_node *n;
	int r;

	xs_lock(s);
	r = xs_canon(&op, path, false, p, NULL);
	n = r ? NULL : xs_store_lookup(s, p);
	if (!r && !n)
		r = -ENOENT;
	if (n) {
		if (as_json)
			json(&o, n);
		else
			ls(&o, n, 0);
	}
	xs_unlock(s);
	if (r)
		return r;
	if (o.len >= size || o.len > INT32_MAX)
		return -ENOSPC;
	buf[o.len] = '\0';
	return (int)o.len;
}

int xs_dump(struct xs_store *s, const char *path, char *buf, size_t size)
{
	return dump(s, path, buf, size, false);
}

int xs_dump_json(struct xs_store *s, const char *path, char *buf, size_t size)
{
	return dump(s, path, buf, size, true);
}
