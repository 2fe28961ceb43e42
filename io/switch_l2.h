/* SPDX-License-Identifier: MIT */
/*
 * The domain switch's forwarding table: source MAC -> port, learned from
 * the frames ports send, aged out after max_age, bounded.  A hash of the
 * MAC picks a window of L2_WINDOW entries; a MAC lives in its window or
 * not at all (so lookups and learning cost at most L2_WINDOW compares,
 * whatever a guest sends).  When every entry of a window is live, a new
 * MAC is not learned (counted: full) and frames to it are flooded.
 * Not thread-safe: the caller locks.
 */
#ifndef XENITH_IO_SWITCH_L2_H
#define XENITH_IO_SWITCH_L2_H

#include <stdbool.h>
#include <stdint.h>

#define L2_SIZE 1024u
#define L2_WINDOW 8u

struct l2_entry {
	uint8_t mac[6];
	uint16_t port;
	uint64_t seen;  /* time of the last frame from mac (the caller's clock); 0: free */
};

struct l2_table {
	struct l2_entry e[L2_SIZE];
	uint64_t max_age; /* entries older than this are free again */
	uint64_t full;    /* MACs not learned: their window was full */
	uint64_t moves;   /* MACs that showed up on another port */
};

void l2_init(struct l2_table *t, uint64_t max_age);
/* Learns mac on port at time now (now > 0): 0 (new or refreshed), 1 (moved from another port), -ENOSPC. */
int l2_learn(struct l2_table *t, const uint8_t mac[6], uint16_t port, uint64_t now);
/* The port that mac was last seen on, or -1 (never, aged out, or forgotten). */
int l2_lookup(const struct l2_table *t, const uint8_t mac[6], uint64_t now);
/* Forgets every MAC learned on port (it detached). */
void l2_forget_port(struct l2_table *t, uint16_t port);
/* Live entries at time now. */
unsigned l2_count(const struct l2_table *t, uint64_t now);

#endif
