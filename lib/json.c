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
