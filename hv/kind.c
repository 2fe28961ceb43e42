// SPDX-License-Identifier: MIT
#include "kind.h"

/* In probing order: pv last, as it takes any image (and says what is wrong with it). */
static const struct domain_kind *const kinds[] = { &kind_linux, &kind_pv };

const struct domain_kind *kind_of_image(const void *image, size_t size)
{
	for (size_t i = 0; i + 1 < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i]->probe(image, size))
			return kinds[i];
	return kinds[sizeof(kinds) / sizeof(kinds[0]) - 1];
}
