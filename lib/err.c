// SPDX-License-Identifier: MIT
#include "err.h"

#include <stdio.h>
#include <string.h>

int errbuf_vset(struct errbuf *eb, int err, const char *fmt, va_list ap)
{
	if (eb)
		vsnprintf(eb->msg, sizeof(eb->msg), fmt, ap);
	return err > 0 ? -err : err;
}

int errbuf_set(struct errbuf *eb, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err = errbuf_vset(eb, err, fmt, ap);
	va_end(ap);
	return err;
}

int errbuf_prefix(struct errbuf *eb, int err, const char *fmt, ...)
{
	char prefix[256], old[sizeof(eb->msg)];
	va_list ap;

	if (!eb)
		return err > 0 ? -err : err;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, eb->msg, sizeof(old));
	if (snprintf(eb->msg, sizeof(eb->msg), "%s: %s", prefix, old) >= (int)sizeof(eb->msg))
		memcpy(eb->msg + sizeof(eb->msg) - 4, "...", 4); /* say it was cut */
	return err > 0 ? -err : err;
}
