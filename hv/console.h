/* SPDX-License-Identifier: MIT */
/*
 * The VMM side of a domain's console: drains the guest's ring, writes
 * whole lines to stdout (with the domain name in front when asked), to an
 * optional log file and to attached `xenith console` clients, and keeps
 * the recent output for clients that attach later.
 *
 * Guest output goes through hv/textfilter.h first, so no sink gets a
 * terminal escape.  Every sink is bounded except stdout (the user's):
 * the history is a 16 KiB ring, a client whose socket is full is dropped,
 * and the log file is capped by size with one rotation: when a line would
 * take it past log_max, LOG's output moves to LOG.1 (replacing what LOG.1
 * held, whose bytes are dropped) and LOG starts again with a line that says
 * so and how many bytes were dropped.  Both files are opened at start, so a
 * rotation needs no path (a confined VMM may not open or rename files).  A log on a FIFO or a device is not capped (it
 * cannot be rotated; it fills no file).  Output that a write error lost
 * (a full disk) is reported by a line in the log once writing works again.
 */
#ifndef XENITH_HV_CONSOLE_H
#define XENITH_HV_CONSOLE_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "textfilter.h"

#define CONSOLE_HISTORY 16384u
#define CONSOLE_MAX_CLIENTS 8
#define CONSOLE_LINE_MAX 1024u
/* console_log_max's default: 16 MiB, so the log and LOG.1 take at most 32 MiB of disk. */
#define CONSOLE_LOG_MAX_DEFAULT (16ull << 20)
/* The smallest cap console_init takes: a few lines and the notes about rotation. */
#define CONSOLE_LOG_MAX_MIN 8192ull

struct console {
	pthread_mutex_t lock;
	int out_fd;          /* usually 1; -1 for none */
	int log_fd;          /* -1 when no console_log; write-only, appending */
	int log_rd_fd;       /* LOG again, read-only, to copy it into LOG.1; -1 if it cannot be read */
	int log1_fd;         /* LOG.1, opened with it when LOG is a regular file; else -1 */
	bool log_off;        /* LOG could not be emptied: nothing more is written (log_fd stays open) */
	char log_path[PATH_MAX];
	uint64_t log_max;    /* the cap on the log file, in bytes */
	uint64_t log_size;   /* bytes in the current log file */
	bool log_capped;     /* a regular file: rotated at log_max */
	uint64_t log_output; /* bytes of output (not xenith's notes) in the current log file */
	uint64_t log1_output;/* the same in LOG.1 (all of an earlier run's LOG.1) */
	uint64_t log_dropped;/* bytes of output that rotations deleted */
	uint64_t log_lost;   /* bytes a failed write lost, not yet reported in the log */
	int log_errno;       /* why they were lost */
	struct text_filter filter;
	char prefix[80];     /* "name: " or "" */
	char line[CONSOLE_LINE_MAX];
	size_t line_len;
	char history[CONSOLE_HISTORY]; /* ring of the latest output */
	uint64_t history_total;
	int clients[CONSOLE_MAX_CLIENTS];
	unsigned nr_clients;
	uint64_t first_line_ns; /* CLOCK_MONOTONIC of the first complete line */
	uint64_t bytes;
};

/* log_max: the log file's cap in bytes (0: CONSOLE_LOG_MAX_DEFAULT; at least CONSOLE_LOG_MAX_MIN). */
int console_init(struct console *c, int out_fd, const char *prefix, const char *log_path,
		 uint64_t log_max, struct errbuf *eb);
void console_fini(struct console *c);

/* Guest output; any bytes, any thread. */
void console_write(struct console *c, const char *buf, size_t len);
/* Writes out a partial last line (at shutdown). */
void console_flush(struct console *c);
/* Sends the history, then streams new output to fd until it closes. */
/* True when CONSOLE_MAX_CLIENTS are attached (a client that goes away frees its slot). */
bool console_full(struct console *c);
int console_attach(struct console *c, int fd);

struct domain;
/*
 * Copies whatever the guest produced into its ring to the console.
 * Returns 0, or -EINVAL when the guest's indices are impossible.
 */
int console_drain_ring(struct domain *d);

#endif
