// SPDX-License-Identifier: MIT
/*
 * Escaping text into a JSON string body, for the VMM's control replies
 * (hv/control_proto.c, hv/blkdev.c) and the toolstack.  Apart from the
 * parser (json.c, jsondoc.c): a program that only writes, as xenith-bench
 * through the domain code it links, does not take the parser in.
 */
#include "json.h"

#include <stdio.h>
#include <string.h>

void json_escape(char *out, size_t size, const char *s)
{
	size_t n = 0;

	if (!size)
		return;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		char tmp[8];
		size_t len;

		if (ch == '"' || ch == '\\')
			len = (size_t)snprintf(tmp, sizeof(tmp), "\\%c", ch);
		else if (ch == '\n')
			len = (size_t)snprintf(tmp, sizeof(tmp), "\\n");
		else if (ch < 0x20)
			len = (size_t)snprintf(tmp, sizeof(tmp), "\\u%04x", ch);
		else
			len = (size_t)snprintf(tmp, sizeof(tmp), "%c", ch);
		if (n + len + 1 > size)
			break;
		memcpy(out + n, tmp, len);
		n += len;
	}
	out[n] = 0;
}
