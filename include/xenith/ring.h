/* SPDX-License-Identifier: MIT */
/*
 * Shared rings between a frontend (in the guest) and a backend (in the
 * VMM), one implementation for both sides: one page holding a 64-byte
 * header and a power-of-two array of slots, each slot a request or a
 * response.  Indices are free-running 32-bit counters (they wrap; only
 * differences are used); slot = index & (size - 1).
 *
 * Notification suppression: a producer notifies only when the consumer
 * asked for it, i.e. when the consumer's *_event index lies in the range
 * of entries just published.  A consumer about to sleep writes
 * event = consumed + 1 and then looks at the producer index once more
 * ("final check"), so an entry published meanwhile is seen either by the
 * re-check or by the producer's event test: no wake-up is lost.
 *
 * Barrier pairs (all on the shared header; __atomic builtins, usable in
 * the freestanding guest as in the VMM):
 *  [P1] producer: store-release of *_prod after filling the slots
 *       pairs with [C1] consumer: load-acquire of *_prod before reading them.
 *  [P2] producer: full fence between the *_prod store and the *_event load
 *       pairs with [C2] consumer: full fence between the *_event store and
 *       the re-load of *_prod.  Of the two, at least one sees the other's
 *       store (store-buffer ordering), which is what makes [final check]
 *       safe.
 *  [C3] consumer: the slot is read (copied) before the entry is handed
 *       back by the response index; the backend copies each request out of
 *       the ring before looking at it, since the guest may rewrite it.
 *
 * XENITH_RING_DEFINE(name, req_type, rsp_type) defines struct name_sring,
 * name_front/name_back and their static inline functions; NAME_RING_SIZE
 * is name##_ring_size().
 */
#ifndef XENITH_RING_H
#define XENITH_RING_H

#include <stdbool.h>
#include <stdint.h>

#include "abi.h"

typedef uint32_t ring_idx_t;

struct xenith_sring_header {
	ring_idx_t req_prod, req_event;
	ring_idx_t rsp_prod, rsp_event;
	uint8_t pad[48];
};
_Static_assert(sizeof(struct xenith_sring_header) == 64, "ring header ABI");

/* Largest power of two <= n, for n in 1..4096 (a constant expression). */
#define XENITH_POW2_FLOOR(n) \
	((n) >= 4096 ? 4096 : (n) >= 2048 ? 2048 : (n) >= 1024 ? 1024 : (n) >= 512 ? 512 : \
	 (n) >= 256 ? 256 : (n) >= 128 ? 128 : (n) >= 64 ? 64 : (n) >= 32 ? 32 : \
	 (n) >= 16 ? 16 : (n) >= 8 ? 8 : (n) >= 4 ? 4 : (n) >= 2 ? 2 : 1)

#define XENITH_RING_SLOTS(slot_size) \
	XENITH_POW2_FLOOR((XENITH_PAGE_SIZE - sizeof(struct xenith_sring_header)) / (slot_size))

/* Whether a producer that moved its index from old to new must notify a consumer waiting at event. */
static inline bool xenith_ring_need_notify(ring_idx_t old, ring_idx_t new_prod, ring_idx_t event)
{
	return (ring_idx_t)(new_prod - event) < (ring_idx_t)(new_prod - old);
}

#define XENITH_RING_DEFINE(name, req_t, rsp_t)                                                     \
union name##_slot {                                                                                \
	req_t req;                                                                                 \
	rsp_t rsp;                                                                                 \
};                                                                                                 \
struct name##_sring {                                                                              \
	struct xenith_sring_header h;                                                              \
	union name##_slot slot[XENITH_RING_SLOTS(sizeof(union name##_slot))];                      \
};                                                                                                 \
_Static_assert(sizeof(struct name##_sring) <= XENITH_PAGE_SIZE, #name " ring fits a page");        \
                                                                                                   \
static inline ring_idx_t name##_ring_size(void)                                                    \
{                                                                                                  \
	return (ring_idx_t)XENITH_RING_SLOTS(sizeof(union name##_slot));                           \
}                                                                                                  \
                                                                                                   \
/* The frontend sets the ring up before telling the backend where it is. */                       \
static inline void name##_sring_init(struct name##_sring *s)                                       \
{                                                                                                  \
	__builtin_memset(&s->h, 0, sizeof(s->h));                                                            \
	s->h.req_event = 1;                                                                        \
	s->h.rsp_event = 1;                                                                        \
}                                                                                                  \
                                                                                                   \
struct name##_front {                                                                              \
	struct name##_sring *s;                                                                    \
	ring_idx_t req_prod_pvt; /* requests written, not all published yet */                     \
	ring_idx_t rsp_cons;     /* responses consumed */                                          \
};                                                                                                 \
struct name##_back {                                                                               \
	struct name##_sring *s;                                                                    \
	ring_idx_t rsp_prod_pvt; /* responses written, not all published yet */                   \
	ring_idx_t req_cons;     /* requests consumed (copied out) */                              \
};                                                                                                 \
                                                                                                   \
static inline void name##_front_init(struct name##_front *f, struct name##_sring *s)               \
{                                                                                                  \
	f->s = s;                                                                                  \
	f->req_prod_pvt = 0;                                                                       \
	f->rsp_cons = 0;                                                                           \
}                                                                                                  \
                                                                                                   \
/* Slots the frontend may fill now (requests not yet answered hold theirs). */                    \
static inline ring_idx_t name##_front_free_slots(const struct name##_front *f)                     \
{                                                                                                  \
	return name##_ring_size() - (ring_idx_t)(f->req_prod_pvt - f->rsp_cons);                   \
}                                                                                                  \
                                                                                                   \
/* The next request slot; fill it, then f->req_prod_pvt++ (only if free_slots > 0). */             \
static inline req_t *name##_front_next_req(struct name##_front *f)                                 \
{                                                                                                  \
	return &f->s->slot[f->req_prod_pvt & (name##_ring_size() - 1)].req;                        \
}                                                                                                  \
                                                                                                   \
/* Publishes the requests written; true if the backend must be notified. */                       \
static inline bool name##_front_push(struct name##_front *f)                                       \
{                                                                                                  \
	ring_idx_t old = __atomic_load_n(&f->s->h.req_prod, __ATOMIC_RELAXED);                     \
                                                                                                   \
	__atomic_store_n(&f->s->h.req_prod, f->req_prod_pvt, __ATOMIC_RELEASE);   /* [P1] */       \
	__atomic_thread_fence(__ATOMIC_SEQ_CST);                                 /* [P2] */       \
	return xenith_ring_need_notify(old, f->req_prod_pvt,                                       \
				       __atomic_load_n(&f->s->h.req_event, __ATOMIC_RELAXED));     \
}                                                                                                  \
                                                                                                   \
/* Responses published and not consumed; more than the ring holds means a broken backend. */     \
static inline ring_idx_t name##_front_pending_rsps(const struct name##_front *f)                   \
{                                                                                                  \
	return (ring_idx_t)(__atomic_load_n(&f->s->h.rsp_prod, __ATOMIC_ACQUIRE) /* [C1] */        \
			    - f->rsp_cons);                                                        \
}                                                                                                  \
                                                                                                   \
static inline void name##_front_take_rsp(struct name##_front *f, rsp_t *out)                       \
{                                                                                                  \
	__builtin_memcpy(out, &f->s->slot[f->rsp_cons & (name##_ring_size() - 1)].rsp, sizeof(*out));        \
	f->rsp_cons++;                                                                             \
}                                                                                                  \
                                                                                                   \
/*                                                                                                 \
 * Before sleeping: ask to be notified when the k-th response from here is                         \
 * published (k >= 1), then look once more; true when a response is there                          \
 * already (no notification may come for it).                                                     \
 */                                                                                                \
static inline bool name##_front_final_check_after(struct name##_front *f, ring_idx_t k)           \
{                                                                                                  \
	if (name##_front_pending_rsps(f))                                                          \
		return true;                                                                       \
	__atomic_store_n(&f->s->h.rsp_event, f->rsp_cons + k, __ATOMIC_RELAXED);                   \
	__atomic_thread_fence(__ATOMIC_SEQ_CST);                                 /* [C2] */       \
	return name##_front_pending_rsps(f) != 0;                                                  \
}                                                                                                  \
                                                                                                   \
/* Before sleeping: ask to be notified of the next response, then look once more. */            \
static inline bool name##_front_final_check(struct name##_front *f)                                \
{                                                                                                  \
	return name##_front_final_check_after(f, 1);                                               \
}                                                                                                  \
                                                                                                   \
static inline void name##_back_init(struct name##_back *b, struct name##_sring *s)                 \
{                                                                                                  \
	b->s = s;                                                                                  \
	b->rsp_prod_pvt = 0;                                                                       \
	b->req_cons = 0;                                                                           \
}                                                                                                  \
                                                                                                   \
/*                                                                                                 \
 * Requests published and not consumed, in *n.  Returns -1 when the guest's                        \
 * req_prod is impossible: more requests outstanding than the ring has slots                       \
 * (indices that jumped), or fewer than the backend has already taken                              \
 * (req_prod moved back behind req_cons).  Only *n requests may be taken.                          \
 */                                                                                                \
static inline int name##_back_pending_reqs(const struct name##_back *b, ring_idx_t *n)            \
{                                                                                                  \
	ring_idx_t prod = __atomic_load_n(&b->s->h.req_prod, __ATOMIC_ACQUIRE);  /* [C1] */       \
	ring_idx_t outstanding = (ring_idx_t)(prod - b->rsp_prod_pvt);                             \
	ring_idx_t unconsumed = (ring_idx_t)(prod - b->req_cons);                                  \
                                                                                                   \
	*n = 0;                                                                                    \
	if (outstanding > name##_ring_size() || unconsumed > outstanding)                          \
		return -1;                                                                         \
	*n = unconsumed;                                                                           \
	return 0;                                                                                  \
}                                                                                                  \
                                                                                                   \
/* Copies the next request out of the ring [C3]; validate the copy, never the slot. */            \
static inline void name##_back_take_req(struct name##_back *b, req_t *out)                        \
{                                                                                                  \
	__builtin_memcpy(out, &b->s->slot[b->req_cons & (name##_ring_size() - 1)].req, sizeof(*out));        \
	__atomic_signal_fence(__ATOMIC_SEQ_CST); /* the copy is taken before req_cons moves */     \
	b->req_cons++;                                                                             \
}                                                                                                  \
                                                                                                   \
/* The next response slot; fill it, then b->rsp_prod_pvt++. */                                    \
static inline rsp_t *name##_back_next_rsp(struct name##_back *b)                                   \
{                                                                                                  \
	return &b->s->slot[b->rsp_prod_pvt & (name##_ring_size() - 1)].rsp;                        \
}                                                                                                  \
                                                                                                   \
/* Publishes the responses written; true if the frontend must be notified. */                     \
static inline bool name##_back_push(struct name##_back *b)                                         \
{                                                                                                  \
	ring_idx_t old = __atomic_load_n(&b->s->h.rsp_prod, __ATOMIC_RELAXED);                     \
                                                                                                   \
	__atomic_store_n(&b->s->h.rsp_prod, b->rsp_prod_pvt, __ATOMIC_RELEASE);   /* [P1] */       \
	__atomic_thread_fence(__ATOMIC_SEQ_CST);                                 /* [P2] */       \
	return xenith_ring_need_notify(old, b->rsp_prod_pvt,                                       \
				       __atomic_load_n(&b->s->h.rsp_event, __ATOMIC_RELAXED));     \
}                                                                                                  \
                                                                                                   \
/*                                                                                                 \
 * Before sleeping: ask to be notified of the next request, then look once                         \
 * more.  Returns 1 if requests are pending, 0 if none, -1 on broken indices.                      \
 */                                                                                                \
static inline int name##_back_final_check(struct name##_back *b)                                   \
{                                                                                                  \
	ring_idx_t n;                                                                              \
                                                                                                   \
	if (name##_back_pending_reqs(b, &n) < 0)                                                   \
		return -1;                                                                         \
	if (n)                                                                                     \
		return 1;                                                                          \
	__atomic_store_n(&b->s->h.req_event, b->req_cons + 1, __ATOMIC_RELAXED);                   \
	__atomic_thread_fence(__ATOMIC_SEQ_CST);                                 /* [C2] */       \
	if (name##_back_pending_reqs(b, &n) < 0)                                                   \
		return -1;                                                                         \
	return n != 0;                                                                             \
}

#endif
