// SPDX-License-Identifier: MIT
/* The domain switch's forwarding table (switch_l2.h). */
#include "switch_l2.h"

#include <errno.h>
#include <string.h>

void l2_init(struct l2_table *t, uint64_t max_age)
{
	memset(t, 0, sizeof(*t));
	t->max_age = max_age;
}

/* FNV-1a over the six bytes: a guest chooses MACs, but only inside its own window's bound. */
static unsigned window_of(const uint8_t mac[6])
{
	uint32_t h = 2166136261u;

	for (unsigned i = 0; i < 6; i++)
		h = (h ^ mac[i]) * 16777619u;
	return h % L2_SIZE;
}

static bool live(const struct l2_table *t, const struct l2_entry *e, uint64_t now)
{
	return e->seen && now - e->seen <= t->max_age;
}

int l2_learn(struct l2_table *t, const uint8_t mac[6], uint16_t port, uint64_t now)
{
	unsigned base = window_of(mac);
	struct l2_entry *slot = NULL;

	for (unsigned i = 0; i < L2_WINDOW; i++) {
		struct l2_entry *e = &t->e[(base + i) % L2_SIZE];

		if (live(t, e, now) && !memcmp(e->mac, mac, 6)) {
			int moved = e->port != port;

			e->port = port;
			e->seen = now;
			t->moves += (uint64_t)moved;
			return moved;
		}
		if (!slot && !live(t, e, now))
			slot = e;
	}
	if (!slot) {
		t->full++;
		return -ENOSPC;
	}
	memcpy(slot->mac, mac, 6);
	slot->port = port;
	slot->seen = now;
	return 0;
}

int l2_lookup(const struct l2_table *t, const uint8_t mac[6], uint64_t now)
{
	unsigned base = window_of(mac);

	for (unsigned i = 0; i < L2_WINDOW; i++) {
		const struct l2_entry *e = &t->e[(base + i) % L2_SIZE];

		if (live(t, e, now) && !memcmp(e->mac, mac, 6))
			return e->port;
	}
	return -1;
}

void l2_forget_port(struct l2_table *t, uint16_t port)
{
	for (unsigned i = 0; i < L2_SIZE; i++)
		if (t->e[i].seen && t->e[i].port == port)
			t->e[i].seen = 0;
}

unsigned l2_count(const struct l2_table *t, uint64_t now)
{
	unsigned n = 0;

	for (unsigned i = 0; i < L2_SIZE; i++)
		n += live(t, &t->e[i], now);
	return n;
}
