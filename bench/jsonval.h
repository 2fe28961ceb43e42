/* SPDX-License-Identifier: MIT */
/*
 * Building result documents with jansson: values that cannot fail on what
 * a benchmark produces.  A NaN or infinity is written as null (JSON has
 * neither), a string that is not UTF-8 (a host name, a CPU model string)
 * with '?' for each byte that is not.  Both return a new reference, NULL
 * only when out of memory (jansson's setters then fail, and the writer
 * reports ENOMEM).
 */
#ifndef XENITH_BENCH_JSONVAL_H
#define XENITH_BENCH_JSONVAL_H

#include <jansson.h>

json_t *jval_num(double v);
json_t *jval_str(const char *s);

#endif
