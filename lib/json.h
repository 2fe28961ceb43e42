/* SPDX-License-Identifier: MIT */
/*
 * The control protocol's JSON: one object per line.  json_get_* parse the
 * line (jsondoc.h) and look a top-level key up; json_escape writes a
 * string body with the escapes JSON needs.
 */
#ifndef XENITH_LIB_JSON_H
#define XENITH_LIB_JSON_H

#include <stdbool.h>
#include <stddef.h>

/* 0 on success; -ENOENT key absent; -EINVAL malformed or wrong type. */
int json_get_string(const char *obj, const char *key, char *out, size_t size);
int json_get_number(const char *obj, const char *key, double *out);
int json_get_bool(const char *obj, const char *key, bool *out);
/* Checks that text is exactly one JSON object (and whitespace). */
bool json_is_object(const char *text);

/* Escapes s into out (always NUL-terminated, truncated to size); json_escape.c. */
void json_escape(char *out, size_t size, const char *s);

#endif
