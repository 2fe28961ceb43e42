/* SPDX-License-Identifier: MIT */
/*
 * SKIP_BECAUSE(why): a visible skip for CMocka tests.  The reason goes to the
 * TAP log first as "# skip: WHY"; tap-skip.sh moves it onto the "ok N # SKIP"
 * line meson reads.  Expanded after <cmocka.h> and <stdio.h>.
 */
#ifndef XENITH_TESTS_SKIP_H
#define XENITH_TESTS_SKIP_H

#define SKIP_BECAUSE(why) do { printf("# skip: %s\n", (why)); fflush(stdout); skip(); } while (0)

#endif
