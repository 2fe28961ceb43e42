// SPDX-License-Identifier: MIT
/* The network programs (net/apps.h): blast, sink, echo over net/stack.h. */
#include "apps.h"

#define POLL_BURST 32u
#define FLUSH_EVERY 32u /* sends between doorbells: netback's burst */
#define ARP_RETRY_NS 200000000ull

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

void net_app_hdr_put(uint8_t *p, uint64_t seq, uint64_t t_ns)
{
	put_le(p, NET_APP_MAGIC, 4);
	put_le(p + 4, seq, 8);
	put_le(p + 12, t_ns, 8);
}

bool net_app_hdr_get(const uint8_t *p, size_t len, struct net_app_hdr *h)
{
	if (len < NET_APP_HDR || get_le(p, 4) != NET_APP_MAGIC)
		return false;
	h->magic = NET_APP_MAGIC;
	h->seq = get_le(p + 4, 8);
	h->t_ns = get_le(p + 12, 8);
	return h->seq != UINT64_MAX; /* no sender gets there, and one past it would wrap the sink's next_seq */
}

static uint64_t now(struct net_stack *s)
{
	return s->ops->now_ns(s->dev);
}

static void flush(struct net_stack *s)
{
	if (s->ops->flush)
		s->ops->flush(s->dev);
}

int net_resolve(struct net_stack *s, uint32_t dst, uint64_t timeout_ns)
{
	uint32_t hop = net_next_hop(s, dst);
	uint64_t t0 = now(s), asked = 0;
	uint8_t mac[6];
	bool first = true;

	if (!hop)
		return -NET_EINVAL;
	while (!net_arp_lookup(s, hop, mac)) {
		uint64_t t = now(s);

		if (t - t0 >= timeout_ns)
			return -NET_EAGAIN;
		if (first || t - asked >= ARP_RETRY_NS) {
			net_arp_request(s, hop);
			flush(s);
			asked = t;
			first = false;
		}
		if (!s->ops->poll(s->dev, s, POLL_BURST) && s->ops->wait)
			s->ops->wait(s->dev, ARP_RETRY_NS / 4);
	}
	return 0;
}

/* ---- blast ---- */

int net_blast(struct net_stack *s, const struct net_blast_opts *o, struct net_blast_result *r)
{
	/* Not s->tx: ARP and ping answers sent while polling are built there. */
	uint8_t f[NET_FRAME_MAX], *udp = f + NET_ETH_HLEN + NET_IP_HLEN, *hdr = udp + NET_UDP_HLEN;
	size_t plen, len;
	uint32_t base;
	uint64_t t0, period = 0;
	uint8_t mac[6];
	int err;

	__builtin_memset(r, 0, sizeof(*r));
	if (o->frame_size < NET_APP_FRAME_MIN || o->frame_size > NET_APP_FRAME_MAX || (!o->count && !o->duration_ns))
		return -NET_EINVAL;
	err = net_resolve(s, o->dst_ip, o->resolve_ns ? o->resolve_ns : 5000000000ull);
	if (err < 0)
		return err;
	net_arp_lookup(s, net_next_hop(s, o->dst_ip), mac);
	/*
	 * One frame, built once; per packet only the sequence number and the
	 * timestamp change, and the UDP checksum is updated from the sum of the
	 * fixed part (RFC 1624): the payload is not summed again per packet.
	 */
	plen = o->frame_size - (NET_ETH_HLEN + NET_IP_HLEN + NET_UDP_HLEN);
	__builtin_memset(hdr, 0, plen);
	for (size_t i = NET_APP_HDR; i < plen; i++)
		hdr[i] = (uint8_t)i;
	len = net_udp_build(s, f, mac, o->dst_ip, o->src_port, o->dst_port, hdr, plen);
	put_le(hdr, NET_APP_MAGIC, 4);
	net_put16(udp + 6, 0);
	base = net_csum_partial(udp, NET_UDP_HLEN + plen,
				(s->ip >> 16) + (s->ip & 0xffff) + (o->dst_ip >> 16) + (o->dst_ip & 0xffff) + 17u +
					(uint32_t)(NET_UDP_HLEN + plen));
	if (o->rate_pps)
		period = 1000000000ull / o->rate_pps;
	t0 = now(s);
	for (uint64_t seq = 0;; seq++) {
		uint64_t t = now(s);
		uint16_t c;

		if ((o->count && seq >= o->count) || (o->duration_ns && t - t0 >= o->duration_ns))
			break;
		if (period) {
			uint64_t due = t0 + seq * period;

			if (t < due) {
				flush(s);
				while ((t = now(s)) < due)
					s->ops->poll(s->dev, s, POLL_BURST);
			}
		}
		put_le(hdr + 4, seq, 8);
		put_le(hdr + 12, t, 8);
		c = (uint16_t)~net_csum_partial(hdr + 4, 16, base);
		net_put16(udp + 6, c ? c : 0xffff);
		/*
		 * A full device: publish, take what came back, and from the second
		 * try on sleep until the backend answers (the device's wait): a
		 * vCPU spinning here takes the CPU the backend needs on a small host.
		 */
		for (unsigned tries = 0; net_send_frame(s, f, len) < 0; tries++) {
			r->full_retries++;
			flush(s);
			s->ops->poll(s->dev, s, POLL_BURST);
			if (tries && s->ops->wait)
				s->ops->wait(s->dev, 1000000);
		}
		r->sent++;
		r->bytes += len;
		if (r->sent % FLUSH_EVERY == 0) {
			flush(s);
			if (o->stop && o->stop(o->stop_ctx)) {
				r->stopped = true;
				r->elapsed_ns = t - t0;
				break;
			}
		}
		r->elapsed_ns = t - t0;
	}
	flush(s);
	return 0;
}

/* ---- sink ---- */

static void sink_rx(void *ctx, struct net_stack *s, const struct net_udp_meta *m, const uint8_t *payload,
		    size_t len)
{
	struct net_sink *k = ctx;
	struct net_app_hdr h;
	uint64_t t = now(s);

	(void)m;
	if (!net_app_hdr_get(payload, len, &h)) {
		k->bad++;
		return;
	}
	if (!k->started)
		k->first_ns = t;
	k->last_ns = t;
	k->packets++;
	len += NET_ETH_HLEN + NET_IP_HLEN + NET_UDP_HLEN;
	k->bytes += len < NET_FRAME_MIN ? NET_FRAME_MIN : len;
	net_sink_account(k, h.seq);
}

void net_sink_init(struct net_sink *k, struct net_stack *s, uint16_t port)
{
	__builtin_memset(k, 0, sizeof(*k));
	net_udp_bind(s, port, sink_rx, k);
}

static bool seen(const struct net_sink *k, uint64_t seq)
{
	return k->window[(seq % NET_SINK_WINDOW) / 64] >> (seq % 64) & 1;
}

static void mark(struct net_sink *k, uint64_t seq, bool on)
{
	uint64_t bit = 1ull << (seq % 64);

	if (on)
		k->window[(seq % NET_SINK_WINDOW) / 64] |= bit;
	else
		k->window[(seq % NET_SINK_WINDOW) / 64] &= ~bit;
}

void net_sink_account(struct net_sink *k, uint64_t seq)
{
	if (!k->started) {
		k->started = true;
		k->lost = seq; /* 0..seq-1 never came (yet) */
		k->next_seq = seq + 1;
		mark(k, seq, true);
		return;
	}
	if (seq >= k->next_seq) {
		uint64_t gap = seq - k->next_seq;

		/* The sequence numbers skipped leave the window unseen; clear their bits (at most a window's worth). */
		for (uint64_t i = 0; i < gap && i < NET_SINK_WINDOW; i++)
			mark(k, seq - 1 - i, false);
		k->lost += gap;
		k->next_seq = seq + 1;
		mark(k, seq, true);
		return;
	}
	if (k->next_seq - seq > NET_SINK_WINDOW) {
		/* Older than the window: counted lost when skipped, so it arrived late, not twice (by assumption). */
		k->reordered++;
		if (k->lost)
			k->lost--;
		return;
	}
	if (seen(k, seq)) {
		k->duplicates++;
		return;
	}
	mark(k, seq, true);
	k->reordered++;
	if (k->lost)
		k->lost--;
}

void net_sink_run(struct net_stack *s, struct net_sink *k, uint64_t count, uint64_t duration_ns, uint64_t idle_ns,
		  bool (*stop)(void *ctx), void *ctx)
{
	for (;;) {
		uint64_t t;

		if (count && k->packets >= count)
			break;
		if (stop && stop(ctx))
			break;
		if (s->ops->poll(s->dev, s, POLL_BURST))
			continue;
		flush(s); /* ARP and ping answers */
		t = now(s);
		if (k->started && duration_ns && t - k->first_ns >= duration_ns)
			break;
		if (k->started && idle_ns && t - k->last_ns >= idle_ns)
			break;
		if (s->ops->wait)
			s->ops->wait(s->dev, 10000000);
	}
	flush(s);
}

/* ---- echo ---- */

static unsigned lat_bucket(uint64_t ns)
{
	unsigned msb, i;

	if (ns < 16)
		return (unsigned)ns;
	msb = 63u - (unsigned)__builtin_clzll(ns);
	i = (msb - 3) * 16 + (unsigned)((ns >> (msb - 4)) & 15);
	return i < NET_LAT_BUCKETS ? i : NET_LAT_BUCKETS - 1;
}

/* The largest value that falls in bucket i. */
static uint64_t lat_bucket_max(unsigned i)
{
	unsigned msb, sub;

	if (i < 16)
		return i;
	msb = i / 16 + 3;
	sub = i % 16;
	return ((16ull + sub + 1) << (msb - 4)) - 1;
}

void net_latency_add(struct net_latency *l, uint64_t ns)
{
	if (!l->n || ns < l->min_ns)
		l->min_ns = ns;
	if (ns > l->max_ns)
		l->max_ns = ns;
	l->n++;
	l->sum_ns += ns;
	l->bucket[lat_bucket(ns)]++;
}

uint64_t net_latency_percentile(const struct net_latency *l, unsigned p)
{
	uint64_t want, acc = 0;

	if (!l->n || p == 0 || p > 100)
		return 0;
	want = (l->n * p + 99) / 100; /* the rank: ceil(n * p / 100) */
	for (unsigned i = 0; i < NET_LAT_BUCKETS; i++) {
		acc += l->bucket[i];
		if (acc >= want) {
			uint64_t v = lat_bucket_max(i);

			return v > l->max_ns ? l->max_ns : v < l->min_ns ? l->min_ns : v;
		}
	}
	return l->max_ns;
}

struct echo_wait {
	uint64_t seq;
	bool got;
	uint64_t stale;
	uint32_t from_ip;
	uint16_t from_port;
};

static void echo_client_rx(void *ctx, struct net_stack *s, const struct net_udp_meta *m, const uint8_t *payload,
			   size_t len)
{
	struct echo_wait *w = ctx;
	struct net_app_hdr h;

	(void)s;
	if (m->src_ip != w->from_ip || m->src_port != w->from_port || !net_app_hdr_get(payload, len, &h))
		return;
	if (h.seq == w->seq)
		w->got = true;
	else
		w->stale++;
}

int net_echo_client(struct net_stack *s, const struct net_echo_opts *o, struct net_echo_result *r)
{
	uint8_t payload[NET_UDP_PAYLOAD_MAX];
	uint64_t timeout = o->timeout_ns ? o->timeout_ns : 1000000000ull;
	struct echo_wait w = { .from_ip = o->dst_ip, .from_port = o->dst_port };
	size_t plen;
	int err;

	__builtin_memset(r, 0, sizeof(*r));
	if (o->frame_size < NET_APP_FRAME_MIN || o->frame_size > NET_APP_FRAME_MAX || !o->count)
		return -NET_EINVAL;
	err = net_resolve(s, o->dst_ip, o->resolve_ns ? o->resolve_ns : 5000000000ull);
	if (err < 0)
		return err;
	plen = o->frame_size - (NET_ETH_HLEN + NET_IP_HLEN + NET_UDP_HLEN);
	for (size_t i = NET_APP_HDR; i < plen; i++)
		payload[i] = (uint8_t)i;
	net_udp_bind(s, o->src_port, echo_client_rx, &w);
	for (uint64_t seq = 0; seq < o->count; seq++) {
		uint64_t t0 = now(s), t;

		if (o->stop && o->stop(o->stop_ctx)) {
			r->stopped = true;
			break;
		}
		w.seq = seq;
		w.got = false;
		net_app_hdr_put(payload, seq, t0);
		while ((err = net_udp_send(s, o->dst_ip, o->src_port, o->dst_port, payload, plen)) == -NET_ENOBUFS)
			s->ops->poll(s->dev, s, POLL_BURST);
		if (err == -NET_EAGAIN) /* the cache entry went: resolve again, within the round trip's time */
			err = net_resolve(s, o->dst_ip, timeout);
		if (err < 0)
			break;
		flush(s);
		r->sent++;
		for (;;) {
			s->ops->poll(s->dev, s, POLL_BURST);
			t = now(s);
			if (w.got) {
				r->received++;
				net_latency_add(&r->lat, t - t0);
				break;
			}
			if (t - t0 >= timeout) {
				r->timeouts++;
				break;
			}
		}
	}
	r->mismatched = w.stale;
	net_udp_bind(s, 0, NULL, NULL);
	return err < 0 ? err : 0;
}

static void echo_server_rx(void *ctx, struct net_stack *s, const struct net_udp_meta *m, const uint8_t *payload,
			   size_t len)
{
	struct net_echo_server *e = ctx;
	uint8_t copy[NET_UDP_PAYLOAD_MAX];

	/* payload may be in a buffer the reply reuses: copy it first. */
	if (len > sizeof(copy))
		len = sizeof(copy);
	__builtin_memcpy(copy, payload, len);
	if (net_udp_reply(s, m, copy, len) == 0)
		e->echoed++;
	else
		e->failed++;
}

void net_echo_server_bind(struct net_stack *s, struct net_echo_server *e, uint16_t port)
{
	__builtin_memset(e, 0, sizeof(*e));
	net_udp_bind(s, port, echo_server_rx, e);
}

void net_echo_serve(struct net_stack *s, struct net_echo_server *e, uint16_t port, uint64_t count,
		    bool (*stop)(void *ctx), void *ctx)
{
	net_echo_server_bind(s, e, port);
	for (;;) {
		if (count && e->echoed >= count)
			break;
		if (stop && stop(ctx))
			break;
		if (s->ops->poll(s->dev, s, POLL_BURST))
			continue;
		flush(s);
		if (s->ops->wait)
			s->ops->wait(s->dev, 10000000);
	}
	flush(s);
	net_udp_bind(s, 0, NULL, NULL);
}
