/* SPDX-License-Identifier: MIT */
/*
 * The validation knob (ci/validate_verdicts.sh only): XENITH_BENCH_SLOWDOWN
 * makes named cases do a calibrated PCT% more work, so that a script can
 * check on real runs that `compare` finds a known slowdown and nothing else.
 *
 *   XENITH_BENCH_SLOWDOWN=SUITE/CASE:PCT[:guest|:native][,SUITE/CASE:PCT...]
 *
 * Without :guest or :native both sides slow down.  The work is a spin at
 * the end of each repetition's measured interval for PCT% of the time the
 * repetition measured (wl_stop_clock in bench/workloads.c), not more
 * iterations: the extra time is then PCT% of that very repetition, whatever
 * the case's unit and length, and the working set, the cache and TLB
 * footprint and the exit pattern stay the case's own.  A run made with it
 * says so in its note.  Applies to the compute and memory workloads and to
 * the exit costs (guest) and their native analogues (native; named by the
 * analogue, e.g. exit/getppid); not to density, blk or soak.
 */
#ifndef XENITH_BENCH_SLOWDOWN_H
#define XENITH_BENCH_SLOWDOWN_H

#include <stdbool.h>

#include "err.h"

#define SLOWDOWN_MAX 8
#define SLOWDOWN_ENV "XENITH_BENCH_SLOWDOWN"

struct slowdown {
	char suite[16];
	char name[48];
	unsigned pct;       /* 1..1000 */
	bool guest, native; /* the sides it applies to */
};

struct slowdown_set {
	struct slowdown s[SLOWDOWN_MAX];
	unsigned n;
};

/* Parses spec (see above) into out; -EINVAL with a message naming the bad item. */
int slowdown_parse(const char *spec, struct slowdown_set *out, struct errbuf *eb);
/* The percentage for suite/name on one side; 0 when the set does not name it. */
unsigned slowdown_pct(const struct slowdown_set *set, const char *suite, const char *name, bool guest);

#endif
