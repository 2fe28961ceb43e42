// SPDX-License-Identifier: MIT
#include "jsonval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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
