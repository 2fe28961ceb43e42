/* SPDX-License-Identifier: MIT */
/* A small JSON parser (a tree of values): result documents and control messages. */
#ifndef XENITH_LIB_JSONDOC_H
#define XENITH_LIB_JSONDOC_H

#include <stdbool.h>
#include <stddef.h>

enum jv_type { JV_NULL, JV_BOOL, JV_NUM, JV_STR, JV_ARR, JV_OBJ };

struct jv {
	enum jv_type type;
	bool b;
	double num;
	char *str;
	size_t n;          /* items in an array or object */
	struct jv *items;
	char **keys;       /* objects only */
};

/* NULL on error, with a message saying where ("line 3, column 9: expected ':'"). */
struct jv *jv_parse(const char *text, char *err, size_t errlen);
void jv_free(struct jv *v);
const struct jv *jv_get(const struct jv *obj, const char *key);
/* Typed getters: the fallback when the key is missing or has another type. */
const char *jv_str(const struct jv *obj, const char *key, const char *fallback);
double jv_num(const struct jv *obj, const char *key, double fallback);
bool jv_bool(const struct jv *obj, const char *key, bool fallback);

#endif
