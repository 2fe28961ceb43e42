// SPDX-License-Identifier: MIT
/* The in-memory wire of the net unit tests (wire.h). */
#include "wire.h"

#include <string.h>

static struct wire_end *peer(struct wire_end *e)
{
	return e == &e->w->a ? &e->w->b : &e->w->a;
}

void wire_init(struct wire *w)
{
	memset(w, 0, sizeof(*w));
	w->a.w = w;
	w->b.w = w;
}

void wire_put(struct wire_end *e, const uint8_t *frame, size_t len)
{
	unsigned i = (e->head + e->count) % WIRE_QUEUE;

	if (e->count == WIRE_QUEUE)
		return;
	memcpy(e->q[i], frame, len);
	e->qlen[i] = (uint16_t)len;
	e->count++;
}

size_t wire_take(struct wire_end *e, uint8_t *buf)
{
	size_t len;

	if (!e->count)
		return 0;
	len = e->qlen[e->head];
	memcpy(buf, e->q[e->head], len);
	e->head = (e->head + 1) % WIRE_QUEUE;
	e->count--;
	return len;
}

unsigned wire_deliver(struct wire_end *e)
{
	static uint8_t buf[NET_FRAME_MAX];
	unsigned n = 0;
	size_t len;

	/* At most what is queued now: answers the stack sends meanwhile go to the other end. */
	for (unsigned k = e->count; k && (len = wire_take(e, buf)); k--, n++)
		net_input(e->s, buf, len);
	return n;
}

static int w_send(void *dev, const uint8_t *frame, size_t len)
{
	struct wire_end *e = dev, *p = peer(e);

	e->sends++;
	if (e->full || p->count + 3 > WIRE_QUEUE) { /* room for a held frame and a duplicate too */
		e->refused++;
		return -NET_ENOBUFS;
	}
	e->sent_armed++;
	if (e->drop_every && e->sent_armed % e->drop_every == 0)
		return 0;
	if (e->swap_every && e->sent_armed % e->swap_every == 0 && !e->held_len) {
		memcpy(e->held, frame, len);
		e->held_len = (uint16_t)len;
		return 0;
	}
	wire_put(p, frame, len);
	if (e->held_len) {
		wire_put(p, e->held, e->held_len);
		e->held_len = 0;
	}
	if (e->dup_every && e->sent_armed % e->dup_every == 0)
		wire_put(p, frame, len);
	return 0;
}

static unsigned w_poll(void *dev, struct net_stack *s, unsigned max)
{
	struct wire_end *e = dev, *p = peer(e);
	unsigned n = 0;
	static uint8_t buf[NET_FRAME_MAX];
	size_t len;

	(void)s;
	if (p->s)
		wire_deliver(p);
	while (n < max && (len = wire_take(e, buf))) {
		net_input(e->s, buf, len);
		n++;
	}
	return n;
}

static void w_wait(void *dev, uint64_t ns)
{
	struct wire_end *e = dev;

	e->w->t += ns;
}

static uint64_t w_now(void *dev)
{
	struct wire_end *e = dev;

	return e->w->t += WIRE_TICK_NS;
}

const struct net_dev_ops wire_ops = {
	.send = w_send,
	.poll = w_poll,
	.wait = w_wait,
	.now_ns = w_now,
};
