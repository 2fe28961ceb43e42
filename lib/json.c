// SPDX-License-Identifier: MIT
/* The control protocol's JSON helpers, on top of the document parser. */
#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "jsondoc.h"

/* Parses obj and finds key at its top level; *doc must be freed by the caller. */
static const struct jv *lookup(const char *obj, const char *key, struct jv **doc, int *err)
{
	char msg[128];
	const struct jv *v;

	*doc = jv_parse(obj, msg, sizeof(msg));
	if (!*doc || (*doc)->type != JV_OBJ) {
		*err = -EINVAL;
		return NULL;
	}
	v = jv_get(*doc, key);
	*err = v ? 0 : -ENOENT;
	return v;
}

int json_get_string(const char *obj, const char *key, char *out, size_t size)
{
	struct jv *doc;
	int err;
	const struct jv *v = lookup(obj, key, &doc, &err);

	if (v && v->type != JV_STR)
		err = -EINVAL;
	if (!err)
		snprintf(out, size, "%s", v->str);
	jv_free(doc);
	return err;
}

int json_get_number(const char *obj, const char *key, double *out)
{
	struct jv *doc;
	int err;
	const struct jv *v = lookup(obj, key, &doc, &err);

	if (v && v->type != JV_NUM)
		err = -EINVAL;
	if (!err)
		*out = v->num;
	jv_free(doc);
	return err;
}

int json_get_bool(const char *obj, const char *key, bool *out)
{
	struct jv *doc;
	int err;
	const struct jv *v = lookup(obj, key, &doc, &err);

	if (v && v->type != JV_BOOL)
		err = -EINVAL;
	if (!err)
		*out = v->b;
	jv_free(doc);
	return err;
}

bool json_is_object(const char *text)
{
	char msg[128];
	struct jv *doc = jv_parse(text, msg, sizeof(msg));
	bool ok = doc && doc->type == JV_OBJ;

	jv_free(doc);
	return ok;
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

void json_fputs(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}
