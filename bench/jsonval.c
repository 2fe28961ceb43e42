// SPDX-License-Identifier: MIT
#include "jsonval.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "fsutil.h"

json_t *jval_num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

json_t *jval_str(const char *s)
{
	json_t *j = json_string(s);
	char *copy;

	if (j)
		return j;
	/* Not UTF-8: keep the ASCII, mark the rest. */
	copy = strdup(s);
	if (!copy)
		return NULL;
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

int jval_write_file(json_t *doc, const char *path, size_t flags, struct errbuf *eb)
{
	char tmp[4200];
	FILE *f;
	int dumped;

	if (!doc)
		return errbuf_set(eb, ENOMEM, "out of memory building %s", path);
	f = fs_atomic_open(path, tmp, sizeof(tmp), eb);
	if (!f) {
		json_decref(doc);
		return -EIO;
	}
	errno = 0;
	dumped = json_dumpf(doc, f, flags);
	json_decref(doc);
	if (dumped < 0 || fputc('\n', f) == EOF) {
		int err = errno ? errno : EIO; /* a failed write's (EFBIG, ENOSPC), else ours */

		fclose(f);
		unlink(tmp);
		return errbuf_set(eb, err, "writing %s: %s", tmp, strerror(err));
	}
	return fs_atomic_commit(f, tmp, path, eb);
}
