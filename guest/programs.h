/* SPDX-License-Identifier: MIT */
/*
 * The programs minios runs, chosen by the first word of its command line.
 * The bundled image (guest/minios) has the programs a user runs; the test
 * image (guest/minios-test, what the kvm and lab tiers boot) adds those
 * that only check the VMM from inside a guest.  Keeping them out of the
 * bundled image keeps them out of every idle domain's memory: the image is
 * copied into guest RAM at build.
 */
#ifndef MINIOS_PROGRAMS_H
#define MINIOS_PROGRAMS_H

#include <stddef.h>

struct program {
	const char *name;
	int (*run)(const char *args);
	const char *help;
};

/* The test image's extra programs; the bundled image has none (guest/no_test_programs.c). */
const struct program *test_programs(size_t *n);

#endif
