/* SPDX-License-Identifier: MIT */
/*
 * Two stacks joined by an in-memory wire, single-threaded: polling one end
 * first lets the other end take its frames in (as if it ran alongside),
 * then hands this end's frames to its stack.  A virtual clock moves
 * WIRE_TICK_NS per reading and by the time asked for on wait.  Frames
 * sent can be dropped, duplicated or swapped with the next (injected faults).
 */
#ifndef NET_TESTS_WIRE_H
#define NET_TESTS_WIRE_H

#include "stack.h"

#define WIRE_QUEUE 64u
#define WIRE_TICK_NS 100u

struct wire;

struct wire_end {
	struct wire *w;
	struct net_stack *s;
	uint8_t q[WIRE_QUEUE][NET_FRAME_MAX]; /* frames waiting for this end */
	uint16_t qlen[WIRE_QUEUE];
	unsigned head, count;
	/* faults on frames this end sends (counted from arming): every Nth is dropped / sent twice / held back one */
	unsigned drop_every, dup_every, swap_every;
	unsigned long sent_armed;
	uint8_t held[NET_FRAME_MAX];
	uint16_t held_len;
	bool full;                             /* send refuses every frame */
	unsigned long sends, refused;
};

struct wire {
	struct wire_end a, b;
	uint64_t t;
};

extern const struct net_dev_ops wire_ops;

/* Zeroes w and attaches sa to end a, sb to end b (both then need net_stack_init with &w->a / &w->b). */
void wire_init(struct wire *w);
/* Takes the oldest frame waiting for end e (copied to buf): its length, 0 if none. */
size_t wire_take(struct wire_end *e, uint8_t *buf);
/* Queues a frame for end e as if the other end had sent it. */
void wire_put(struct wire_end *e, const uint8_t *frame, size_t len);
/* Hands every frame waiting for e to its stack. */
unsigned wire_deliver(struct wire_end *e);

#endif
