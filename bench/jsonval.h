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

struct errbuf;
/*
 * Writes doc to path with jansson's dump flags and a final newline, through
 * a temporary file and rename() (a reader never sees a partial file).  Takes
 * doc's reference, NULL included (then ENOMEM: building it ran out of memory).
 */
int jval_write_file(json_t *doc, const char *path, size_t flags, struct errbuf *eb);

#endif
