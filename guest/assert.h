/* SPDX-License-Identifier: MIT */
/*
 * GUEST_ASSERT: a failed check is reported to the host (file, line,
 * expression, values) and fails the domain, as in KVM selftests.
 */
#ifndef MINIOS_ASSERT_H
#define MINIOS_ASSERT_H

#include "minios.h"

noreturn_fn void guest_assert_fail(const char *file, unsigned line, const char *expr, const char *fmt,
				   ...) printf_fmt(4, 5);

#define GUEST_ASSERT(expr)                                                    \
	do {                                                                  \
		if (!(expr))                                                  \
			guest_assert_fail(__FILE__, __LINE__, #expr, NULL);   \
	} while (0)

#define GUEST_ASSERT_EQ(a, b)                                                               \
	do {                                                                                \
		long long _a = (long long)(a), _b = (long long)(b);                         \
		if (_a != _b)                                                               \
			guest_assert_fail(__FILE__, __LINE__, #a " == " #b, "%lld != %lld", \
					  _a, _b);                                          \
	} while (0)

#endif
