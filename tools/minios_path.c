// SPDX-License-Identifier: MIT
/* Where the bundled minios guest is, for `xenith run` and `xenith bench`. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "xenith.h"

int find_bundled_minios(char *out, size_t size)
{
	const char *env = getenv("XENITH_MINIOS");
	char exe[PATH_MAX];
	ssize_t n;

	if (env && *env) {
		snprintf(out, size, "%s", env);
		return 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		char *dir = dirname(exe);

		snprintf(out, size, "%s/../guest/minios", dir); /* the build tree */
		if (access(out, R_OK) == 0)
			return 0;
		snprintf(out, size, "%s/minios", dir); /* a flat copy, as in the lab */
		if (access(out, R_OK) == 0)
			return 0;
	}
	snprintf(out, size, "%s", XENITH_MINIOS_INSTALLED);
	return access(out, R_OK) == 0 ? 0 : -ENOENT;
}
