// SPDX-License-Identifier: MIT
#include "jsondoc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

struct parser {
	const char *start, *p;
	char *err;
	size_t errlen;
	bool failed;
};

static void fail(struct parser *ps, const char *what)
{
	unsigned line = 1, col = 1;

	if (ps->failed)
		return;
	for (const char *q = ps->start; q < ps->p; q++) {
		if (*q == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	snprintf(ps->err, ps->errlen, "line %u, column %u: %s", line, col, what);
	ps->failed = true;
}

static void ws(struct parser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
		ps->p++;
}

static char *parse_string(struct parser *ps)
{
	size_t cap = 16, n = 0;
	char *s = malloc(cap);

	if (!s)
		return NULL;
	ps->p++; /* opening quote */
	for (;;) {
		unsigned char c = (unsigned char)*ps->p++;

		if (c == '"')
			break;
		if (c < 0x20) {
			ps->p--;
			fail(ps, c ? "control character in a string" : "unterminated string");
			free(s);
			return NULL;
		}
		if (c == '\\') {
			c = (unsigned char)*ps->p++;
			switch (c) {
			case '"': case '\\': case '/': break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'u': {
				unsigned cp = 0;

				for (int i = 0; i < 4; i++) {
					char h = *ps->p++;

					cp <<= 4;
					if (h >= '0' && h <= '9')
						cp |= (unsigned)(h - '0');
					else if ((h | 0x20) >= 'a' && (h | 0x20) <= 'f')
						cp |= (unsigned)((h | 0x20) - 'a' + 10);
					else {
						fail(ps, "bad \\u escape");
						free(s);
						return NULL;
					}
				}
				/* Strings are C strings: a NUL would end them early, as non-ASCII is lost. */
				c = cp > 0 && cp < 0x80 ? (unsigned char)cp : '?';
				break;
			}
			default:
				fail(ps, "bad escape in a string");
				free(s);
				return NULL;
			}
		}
		if (n + 2 > cap) {
			char *t = realloc(s, cap *= 2);

			if (!t) {
				free(s);
				return NULL;
			}
			s = t;
		}
		s[n++] = (char)c;
	}
	s[n] = 0;
	return s;
}

static bool parse_value(struct parser *ps, struct jv *v, int depth);
static void free_contents(struct jv *v);

static bool push(struct jv *v, size_t *cap, struct jv *item, char *key)
{
	if (v->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		struct jv *items = realloc(v->items, nc * sizeof(*items));
		char **keys;

		if (!items)
			return false;
		v->items = items;
		if (v->type == JV_OBJ) {
			keys = realloc(v->keys, nc * sizeof(*keys));
			if (!keys)
				return false;
			v->keys = keys;
		}
		*cap = nc;
	}
	v->items[v->n] = *item;
	if (v->type == JV_OBJ)
		v->keys[v->n] = key;
	v->n++;
	return true;
}

static bool parse_container(struct parser *ps, struct jv *v, int depth, bool obj)
{
	size_t cap = 0;
	char close = obj ? '}' : ']';

	v->type = obj ? JV_OBJ : JV_ARR;
	ps->p++;
	ws(ps);
	if (*ps->p == close) {
		ps->p++;
		return true;
	}
	for (;;) {
		struct jv item = { 0 };
		char *key = NULL;

		ws(ps);
		if (obj) {
			if (*ps->p != '"') {
				fail(ps, "expected a string key");
				return false;
			}
			key = parse_string(ps);
			if (!key)
				return false;
			ws(ps);
			if (*ps->p++ != ':') {
				ps->p--;
				fail(ps, "expected ':'");
				free(key);
				return false;
			}
		}
		if (!parse_value(ps, &item, depth + 1) || !push(v, &cap, &item, key)) {
			free(key);
			free_contents(&item); /* whatever of it was parsed */
			return false;
		}
		ws(ps);
		if (*ps->p == ',') {
			ps->p++;
			continue;
		}
		if (*ps->p == close) {
			ps->p++;
			return true;
		}
		fail(ps, obj ? "expected ',' or '}'" : "expected ',' or ']'");
		return false; /* the items pushed so far belong to v: its owner frees them */
	}
}

static bool parse_value(struct parser *ps, struct jv *v, int depth)
{
	char *end;

	if (depth > MAX_DEPTH) {
		fail(ps, "nested too deeply");
		return false;
	}
	ws(ps);
	switch (*ps->p) {
	case '{':
		return parse_container(ps, v, depth, true);
	case '[':
		return parse_container(ps, v, depth, false);
	case '"':
		v->type = JV_STR;
		v->str = parse_string(ps);
		return v->str != NULL;
	case 't':
	case 'f':
		v->type = JV_BOOL;
		v->b = *ps->p == 't';
		if (strncmp(ps->p, v->b ? "true" : "false", v->b ? 4 : 5)) {
			fail(ps, "unexpected word");
			return false;
		}
		ps->p += v->b ? 4 : 5;
		return true;
	case 'n':
		if (strncmp(ps->p, "null", 4)) {
			fail(ps, "unexpected word");
			return false;
		}
		v->type = JV_NULL;
		ps->p += 4;
		return true;
	default:
		v->type = JV_NUM;
		v->num = strtod(ps->p, &end);
		if (end == ps->p) {
			fail(ps, *ps->p ? "unexpected character" : "unexpected end of input");
			return false;
		}
		ps->p = end;
		return true;
	}
}

struct jv *jv_parse(const char *text, char *err, size_t errlen)
{
	struct parser ps = { text, text, err, errlen, false };
	struct jv *v = calloc(1, sizeof(*v));

	if (!v) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!parse_value(&ps, v, 0)) {
		if (!ps.failed)
			snprintf(err, errlen, "out of memory");
		jv_free(v);
		return NULL;
	}
	ws(&ps);
	if (*ps.p) {
		fail(&ps, "text after the end of the document");
		jv_free(v);
		return NULL;
	}
	return v;
}

static void free_contents(struct jv *v)
{
	for (size_t i = 0; i < v->n; i++) {
		free_contents(&v->items[i]);
		if (v->type == JV_OBJ)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->str);
}

void jv_free(struct jv *v)
{
	if (!v)
		return;
	free_contents(v);
	free(v);
}

const struct jv *jv_get(const struct jv *obj, const char *key)
{
	if (!obj || obj->type != JV_OBJ)
		return NULL;
	for (size_t i = 0; i < obj->n; i++)
		if (!strcmp(obj->keys[i], key))
			return &obj->items[i];
	return NULL;
}

const char *jv_str(const struct jv *obj, const char *key, const char *fallback)
{
	const struct jv *v = jv_get(obj, key);

	return v && v->type == JV_STR ? v->str : fallback;
}

double jv_num(const struct jv *obj, const char *key, double fallback)
{
	const struct jv *v = jv_get(obj, key);

	return v && v->type == JV_NUM ? v->num : fallback;
}

bool jv_bool(const struct jv *obj, const char *key, bool fallback)
{
	const struct jv *v = jv_get(obj, key);

	return v && v->type == JV_BOOL ? v->b : fallback;
}
