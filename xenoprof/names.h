/* SPDX-License-Identifier: MIT */
/*
 * Names for people of what a profile counts: KVM exit reasons, Xenith's
 * hypercalls, and a sample's or counter's detail (profile.h, XP_DETAIL).
 */
#ifndef XENITH_XENOPROF_NAMES_H
#define XENITH_XENOPROF_NAMES_H

#include <stddef.h>
#include <stdint.h>

/* "IO", "MMIO", "HLT", ... (KVM_EXIT_* of <linux/kvm.h> without the prefix); NULL if unknown. */
const char *xp_exit_name(uint32_t reason);
/* "sched_op", "event_channel_op", "xenith_time", ... (as hv/hypercall.c names them); NULL if unknown. */
const char *xp_hcall_name(uint32_t op);
/*
 * "hypercall sched_op", "exit MMIO", "hypercall op 99", "exit 77", "none",
 * or "detail 0x05000003" for a class this reader does not know; written
 * into buf (truncated to size) and returned.
 */
const char *xp_detail_name(uint32_t detail, char *buf, size_t size);

#endif
