/* SPDX-License-Identifier: MIT */
/*
 * The VMM side of a domain's console: drains the guest's ring, writes
 * whole lines to stdout (with the domain name in front when asked), to an
 * optional log file and to attached `xenith console` clients, and keeps
 * the recent output for clients that attach later.
 *
 * Guest output goes through hv/textfilter.h first, so no sink gets a
 * terminal escape.
 */
#ifndef XENITH_HV_CONSOLE_H
#define XENITH_HV_CONSOLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "textfilter.h"

#define CONSOLE_HISTORY 16384u
#define CONSOLE_MAX_CLIENTS 8
#define CONSOLE_LINE_MAX 1024u

struct console {
	pthread_mutex_t lock;
	int out_fd;          /* usually 1; -1 for none */
	int log_fd;          /* -1 when no console_log */
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

int console_init(struct console *c, int out_fd, const char *prefix, const char *log_path,
		 struct errbuf *eb);
void console_fini(struct console *c);

/* Guest output; any bytes, any thread. */
void console_write(struct console *c, const char *buf, size_t len);
/* Writes out a partial last line (at shutdown). */
void console_flush(struct console *c);
/* Sends the history, then streams new output to fd until it closes. */
int console_attach(struct console *c, int fd);

struct domain;
/*
 * Copies whatever the guest produced into its ring to the console.
 * Returns 0, or -EINVAL when the guest's indices are impossible.
 */
int console_drain_ring(struct domain *d);

#endif
