// SPDX-License-Identifier: MIT
#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 16

struct cursor {
	const char *p;
};

static void ws(struct cursor *c)
{
	while (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')
		c->p++;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Parses a string at c->p ('"' expected); copies it to out when out != NULL. */
static int parse_string(struct cursor *c, char *out, size_t size)
{
	size_t n = 0;

	if (*c->p != '"')
		return -EINVAL;
	c->p++;
	for (;;) {
		unsigned char ch = (unsigned char)*c->p++;
		unsigned cp;

		if (ch == '"')
			break;
		if (ch == 0 || ch < 0x20)
			return -EINVAL;
		if (ch == '\\') {
			ch = (unsigned char)*c->p++;
			switch (ch) {
			case '"': case '\\': case '/': break;
			case 'b': ch = '\b'; break;
			case 'f': ch = '\f'; break;
			case 'n': ch = '\n'; break;
			case 'r': ch = '\r'; break;
			case 't': ch = '\t'; break;
			case 'u':
				cp = 0;
				for (int i = 0; i < 4; i++) {
					int h = hexval(*c->p++);

					if (h < 0)
						return -EINVAL;
					cp = cp * 16 + (unsigned)h;
				}
				ch = cp < 0x80 ? (unsigned char)cp : '?'; /* ASCII is all we need */
				break;
			default:
				return -EINVAL;
			}
		}
		if (out && n + 1 < size)
			out[n++] = (char)ch;
	}
	if (out && size)
		out[n] = 0;
	return 0;
}

static int skip_value(struct cursor *c, int depth);

static int skip_container(struct cursor *c, int depth, char open, char close)
{
	if (depth > MAX_DEPTH)
		return -EINVAL;
	c->p++; /* open */
	ws(c);
	if (*c->p == close) {
		c->p++;
		return 0;
	}
	for (;;) {
		ws(c);
		if (open == '{') {
			if (parse_string(c, NULL, 0) < 0)
				return -EINVAL;
			ws(c);
			if (*c->p++ != ':')
				return -EINVAL;
		}
		if (skip_value(c, depth + 1) < 0)
			return -EINVAL;
		ws(c);
		if (*c->p == ',') {
			c->p++;
			continue;
		}
		if (*c->p++ == close)
			return 0;
		return -EINVAL;
	}
}

static int skip_value(struct cursor *c, int depth)
{
	ws(c);
	switch (*c->p) {
	case '"':
		return parse_string(c, NULL, 0);
	case '{':
		return skip_container(c, depth, '{', '}');
	case '[':
		return skip_container(c, depth, '[', ']');
	case 't':
		if (strncmp(c->p, "true", 4))
			return -EINVAL;
		c->p += 4;
		return 0;
	case 'f':
		if (strncmp(c->p, "false", 5))
			return -EINVAL;
		c->p += 5;
		return 0;
	case 'n':
		if (strncmp(c->p, "null", 4))
			return -EINVAL;
		c->p += 4;
		return 0;
	default: {
		char *end;

		strtod(c->p, &end);
		if (end == c->p)
			return -EINVAL;
		c->p = end;
		return 0;
	}
	}
}

bool json_is_object(const char *text)
{
	struct cursor c = { text };

	ws(&c);
	if (*c.p != '{' || skip_value(&c, 0) < 0)
		return false;
	ws(&c);
	return *c.p == 0;
}

/* Leaves c at the value of key in the top-level object. */
static int find_key(const char *obj, const char *key, struct cursor *c)
{
	char k[128];

	if (!json_is_object(obj))
		return -EINVAL;
	c->p = obj;
	ws(c);
	c->p++; /* { */
	for (;;) {
		ws(c);
		if (*c->p == '}')
			return -ENOENT;
		if (parse_string(c, k, sizeof(k)) < 0)
			return -EINVAL;
		ws(c);
		c->p++; /* : */
		ws(c);
		if (strcmp(k, key) == 0)
			return 0;
		if (skip_value(c, 1) < 0)
			return -EINVAL;
		ws(c);
		if (*c->p == ',')
			c->p++;
	}
}

int json_get_string(const char *obj, const char *key, char *out, size_t size)
{
	struct cursor c;
	int r = find_key(obj, key, &c);

	if (r < 0)
		return r;
	return *c.p == '"' ? parse_string(&c, out, size) : -EINVAL;
}

int json_get_number(const char *obj, const char *key, double *out)
{
	struct cursor c;
	char *end;
	int r = find_key(obj, key, &c);

	if (r < 0)
		return r;
	*out = strtod(c.p, &end);
	return end == c.p ? -EINVAL : 0;
}

int json_get_bool(const char *obj, const char *key, bool *out)
{
	struct cursor c;
	int r = find_key(obj, key, &c);

	if (r < 0)
		return r;
	if (!strncmp(c.p, "true", 4))
		*out = true;
	else if (!strncmp(c.p, "false", 5))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

void json_escape(char *out, size_t size, const char *s)
{
	size_t n = 0;

	if (!size)
		return;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		char tmp[8];
		size_t len;

		if (ch == '"' || ch == '\\')
			len = (size_t)snprintf(tmp, sizeof(tmp), "\\%c", ch);
		else if (ch == '\n')
			len = (size_t)snprintf(tmp, sizeof(tmp), "\\n");
		else if (ch < 0x20)
			len = (size_t)snprintf(tmp, sizeof(tmp), "\\u%04x", ch);
		else
			len = (size_t)snprintf(tmp, sizeof(tmp), "%c", ch);
		if (n + len + 1 > size)
			break;
		memcpy(out + n, tmp, len);
		n += len;
	}
	out[n] = 0;
}
