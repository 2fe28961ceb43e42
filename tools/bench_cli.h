/* SPDX-License-Identifier: MIT */
#ifndef XENITH_TOOLS_BENCH_CLI_H
#define XENITH_TOOLS_BENCH_CLI_H

#include <stdio.h>

#include "../bench/result.h"

/* The human tables of a run: workloads, exit costs, density. */
void bench_print_table(const struct bench_run *run);
void bench_print_density(const struct bench_run *run);
/* What else the host did during the run (bench/noise.h), and its warnings on stderr. */
void bench_print_noise(const struct bench_run *run);
/* report.html and the dashboard exports next to the run's document in the archive. */
int bench_write_reports(const struct bench_run *run, const char *doc_path, struct errbuf *eb);
/*
 * xenith bench --db DB: stores the index rows of the document at doc in
 * DB (postgresql://...) with xenith-fleet, which prints what failed.
 */
int bench_upload(const char *db, const char *doc, struct errbuf *eb);
/* xenith bench report [DOC] [--out DIR] */
int cmd_bench_report(int argc, char **argv);
/* xenith bench history [SUITE|SUITE/CASE...] [--out DIR] [--json] [--alpha P] */
int cmd_bench_history(int argc, char **argv);

/* xenith bench calibrate: its help; the calibration of a run, printed and (write) stored in the archive. */
void bench_calibrate_help(FILE *f);
int bench_calibrate_store(const struct bench_run *runs, size_t nr_runs, bool write, struct errbuf *eb);
/* Says which series of run had fewer repetitions than the archive's calibration.json asks. */
void bench_check_calibration(const struct bench_run *run);

#endif
