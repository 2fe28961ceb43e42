/* SPDX-License-Identifier: MIT */
/*
 * The results index in PostgreSQL, for a fleet of hosts (resindex.h).
 * Only xenith-fleet links it: libpq needs GSSAPI and LDAP, which Debian
 * ships without static archives, and the other binaries link statically.
 */
#ifndef XENITH_BENCH_RESINDEX_PG_H
#define XENITH_BENCH_RESINDEX_PG_H

#include "resindex.h"

/* url: postgresql://[user[:password]@][host][:port][/dbname][?param=value...] (libpq's URI form). */
int index_open_pg(struct results_index **ix, const char *url, struct errbuf *eb);

/* Whether db names a PostgreSQL database (postgresql:// or postgres://) rather than a file. */
bool index_is_pg_url(const char *db);

#endif
