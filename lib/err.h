/* SPDX-License-Identifier: MIT */
/*
 * Error reporting for library code: functions return 0 or -errno and, on
 * failure, leave a message for people in a struct errbuf.  Only main()
 * prints it and exits.
 */
#ifndef XENITH_LIB_ERR_H
#define XENITH_LIB_ERR_H

#include <errno.h>
#include <stdarg.h>

struct errbuf {
	char msg[512];
};

/* Formats the message into eb (if eb is not NULL) and returns -err. */
int errbuf_set(struct errbuf *eb, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int errbuf_vset(struct errbuf *eb, int err, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));
/* Puts "prefix: " in front of the message already in eb; returns -err. */
int errbuf_prefix(struct errbuf *eb, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
