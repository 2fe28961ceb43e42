/* SPDX-License-Identifier: MIT */
/* xenith-fleet's commands (tools/fleet_main.c, tools/cmd_exporter.c). */
#ifndef XENITH_TOOLS_FLEET_H
#define XENITH_TOOLS_FLEET_H

#include "../bench/resindex.h"

/* db: postgresql://... or postgres://... (PostgreSQL), sqlite:PATH or PATH (SQLite). */
int fleet_open_index(const char *db, struct results_index **ix, struct errbuf *eb);
/* xenith exporter [--listen ADDR:PORT] [--out DIR] [--db DB] */
int cmd_exporter(int argc, char **argv);

#endif
