/* SPDX-License-Identifier: MIT */
/*
 * Hardware events of a domain's vCPU threads (`xenith prof record -e`):
 * names resolved by libpfm4 (cycles, instructions, LLC-misses, the
 * vendors' own names), counted with perf_event_open on each vCPU thread.
 * A host without a hardware PMU (these machines, under PVM) has none: the
 * events that cannot be opened are reported as unavailable, with why.
 */
#ifndef XENITH_XENOPROF_HWEVENTS_H
#define XENITH_XENOPROF_HWEVENTS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

#define HWEVENTS_MAX 16

struct hwevents;

/*
 * Resolves the comma-separated event names in list: -EINVAL naming an
 * event libpfm4 does not know.  Then opens each on every thread in tids
 * (counting, user and kernel): an event that cannot be opened on this host
 * is left out, and unavailable gets "NAME (why), ..." ("" when all
 * opened).  0 with *out (possibly with no event left), or -errno.
 */
int hwevents_open(const char *list, const pid_t *tids, unsigned n, struct hwevents **out, char *unavailable,
		  size_t ulen, struct errbuf *eb);
/* The events that opened, and each one's count on vCPU vcpu now (0 if that thread had none). */
unsigned hwevents_count(const struct hwevents *hw);
const char *hwevents_name(const struct hwevents *hw, unsigned i);
uint64_t hwevents_read(const struct hwevents *hw, unsigned i, unsigned vcpu);
void hwevents_close(struct hwevents *hw);

#endif
