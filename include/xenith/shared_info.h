/* SPDX-License-Identifier: MIT */
/*
 * shared_info: one page written by both the VMM and the guest.
 *
 * Event channels use Xen's two-level scheme: a port p is pending when bit
 * p of evtchn_pending is set; it is masked when bit p of evtchn_mask is
 * set.  When the VMM sets a pending, unmasked port bound to vCPU v, it
 * also sets bit p/64 of vcpu_info[v].evtchn_pending_sel and
 * vcpu_info[v].evtchn_upcall_pending, then wakes v if it is blocked.
 * The guest clears upcall_pending, then swaps pending_sel with 0, then
 * clears each port's pending bit before handling it.  All these words are
 * accessed with atomic read-modify-write operations on both sides.
 */
#ifndef XENITH_SHARED_INFO_H
#define XENITH_SHARED_INFO_H

#include <stdint.h>
#include "abi.h"

#define XENITH_NR_EVTCHN 1024u
#define XENITH_EVTCHN_WORDS (XENITH_NR_EVTCHN / 64u)

struct xenith_vcpu_info {
	uint8_t evtchn_upcall_pending;
	uint8_t evtchn_upcall_mask;
	uint8_t pad[6];
	uint64_t evtchn_pending_sel;
	uint64_t reserved[2];
};
_Static_assert(sizeof(struct xenith_vcpu_info) == 32, "vcpu_info ABI");

/* Values of control_request (written by the VMM before VIRQ_CONTROL). */
#define XENITH_CONTROL_NONE 0
#define XENITH_CONTROL_POWEROFF 1
#define XENITH_CONTROL_REBOOT 2

struct xenith_shared_info {
	struct xenith_vcpu_info vcpu_info[XENITH_MAX_VCPUS];
	uint64_t evtchn_pending[XENITH_EVTCHN_WORDS];
	uint64_t evtchn_mask[XENITH_EVTCHN_WORDS];
	uint64_t tsc_khz;          /* guest TSC ticks per millisecond */
	uint64_t wc_sec;           /* host CLOCK_REALTIME when the domain was built */
	uint32_t wc_nsec;
	uint32_t control_request;  /* XENITH_CONTROL_*, guest clears it */
};

_Static_assert(__builtin_offsetof(struct xenith_shared_info, evtchn_pending) == 2048, "shared_info ABI");
_Static_assert(__builtin_offsetof(struct xenith_shared_info, evtchn_mask) == 2176, "shared_info ABI");
_Static_assert(__builtin_offsetof(struct xenith_shared_info, tsc_khz) == 2304, "shared_info ABI");
_Static_assert(__builtin_offsetof(struct xenith_shared_info, control_request) == 2324, "shared_info ABI");
_Static_assert(sizeof(struct xenith_shared_info) == 2328, "shared_info ABI size");
_Static_assert(sizeof(struct xenith_shared_info) <= XENITH_PAGE_SIZE, "shared_info fits a page");

#endif
