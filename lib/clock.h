/* SPDX-License-Identifier: MIT */
/*
 * Clocks: what the VMM, the backends, the toolstack and the benchmarks all
 * time things with.  CLOCK_MONOTONIC in nanoseconds, for durations and
 * deadlines; never stepped by NTP or the administrator.
 */
#ifndef XENITH_LIB_CLOCK_H
#define XENITH_LIB_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC, in ns. */
uint64_t now_ns(void);

#endif
