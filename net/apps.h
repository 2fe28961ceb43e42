/* SPDX-License-Identifier: MIT */
/*
 * The network programs, over net/stack.h and its abstract device, built
 * into minios (guest/net.c) and natively, so that guest and native runs
 * execute the same code:
 *   blast  UDP datagrams of one frame size (64..1514 bytes on the wire,
 *          without FCS), at a rate or flat out, each carrying a sequence
 *          number and a send timestamp;
 *   sink   receives them: counters, and sequence checks (lost, reordered,
 *          duplicates) over a window of NET_SINK_WINDOW sequence numbers;
 *   echo   a server that sends each datagram back, and a client that
 *          measures round trips (latency percentiles).
 *
 * The payload starts with struct net_app_hdr's 20 bytes (little-endian
 * on the wire, as net_app_hdr_put writes them): magic, sequence number,
 * send time in ns.  Host-side test senders write the same.
 */
#ifndef XENITH_NET_APPS_H
#define XENITH_NET_APPS_H

#include "stack.h"

#define NET_APP_MAGIC 0x31424e58u /* "XNB1" */
#define NET_APP_HDR 20u
#define NET_APP_FRAME_MIN (NET_ETH_HLEN + NET_IP_HLEN + NET_UDP_HLEN + NET_APP_HDR + 2u) /* 64 */
#define NET_APP_FRAME_MAX NET_FRAME_MAX
#define NET_SINK_WINDOW 1024u
#define NET_LAT_BUCKETS 640u

struct net_app_hdr {
	uint32_t magic;
	uint64_t seq;
	uint64_t t_ns;
};

void net_app_hdr_put(uint8_t *p, uint64_t seq, uint64_t t_ns);
/* false when p (len bytes) does not start with a header, or its seq is UINT64_MAX (none is). */
bool net_app_hdr_get(const uint8_t *p, size_t len, struct net_app_hdr *h);

/* ---- blast ---- */

struct net_blast_opts {
	uint32_t dst_ip;
	uint16_t dst_port, src_port;
	unsigned frame_size;    /* NET_APP_FRAME_MIN..NET_APP_FRAME_MAX */
	uint64_t count;         /* packets; 0: until duration */
	uint64_t rate_pps;      /* 0: flat out */
	uint64_t duration_ns;   /* 0: until count (one of them must be set) */
	uint64_t resolve_ns;    /* how long to wait for the destination's ARP reply (0: 5 s) */
	bool (*stop)(void *ctx); /* looked at every 32 frames: true ends the blast early (NULL: never) */
	void *stop_ctx;
};

struct net_blast_result {
	uint64_t sent, bytes;   /* frames and their bytes (without FCS) */
	uint64_t full_retries;  /* times the device had no room */
	uint64_t elapsed_ns;    /* first send to last */
	bool stopped;           /* stop() ended it early */
};

/* 0, -NET_EINVAL (bad options or unreachable), -NET_EAGAIN (no ARP reply in time). */
int net_blast(struct net_stack *s, const struct net_blast_opts *o, struct net_blast_result *r);

/* ---- sink ---- */

struct net_sink {
	uint64_t packets, bytes;            /* datagrams with a header, and their frames' bytes */
	uint64_t lost, reordered, duplicates;
	uint64_t bad;                       /* datagrams on the port without a header */
	uint64_t next_seq;                  /* one past the highest sequence number seen */
	uint64_t first_ns, last_ns;         /* arrival of the first and the last counted datagram */
	uint64_t window[NET_SINK_WINDOW / 64]; /* bit (seq % WINDOW): seq in [next_seq - WINDOW, next_seq) seen */
	bool started;
};

/* Zeroes k and binds it to port on s (net_udp_bind). */
void net_sink_init(struct net_sink *k, struct net_stack *s, uint16_t port);
/* The sequence checks for one datagram (what the handler calls). */
void net_sink_account(struct net_sink *k, uint64_t seq);
/*
 * Receives until count datagrams were counted (0: no limit), duration_ns
 * passed since the first (0: no limit), or idle_ns passed without one
 * once the first came (0: no limit), or stop(ctx) returns true (checked
 * between polls; NULL: never).  Answers ARP and ping meanwhile.
 */
void net_sink_run(struct net_stack *s, struct net_sink *k, uint64_t count, uint64_t duration_ns, uint64_t idle_ns,
		  bool (*stop)(void *ctx), void *ctx);

/* ---- echo ---- */

struct net_latency {
	uint64_t n, min_ns, max_ns, sum_ns;
	uint32_t bucket[NET_LAT_BUCKETS];  /* log-linear: 16 per power of two, exact below 16 ns */
};

void net_latency_add(struct net_latency *l, uint64_t ns);
/* The p-th percentile (0 < p <= 100) as its bucket's upper bound (within 1/16 above the true value). */
uint64_t net_latency_percentile(const struct net_latency *l, unsigned p);

struct net_echo_opts {
	uint32_t dst_ip;
	uint16_t dst_port, src_port;
	unsigned frame_size;
	uint64_t count;
	uint64_t timeout_ns;    /* per round trip (0: 1 s) */
	uint64_t resolve_ns;    /* as net_blast_opts */
	bool (*stop)(void *ctx); /* looked at between round trips (NULL: never) */
	void *stop_ctx;
};

struct net_echo_result {
	uint64_t sent, received, timeouts, mismatched; /* mismatched: answers to an earlier request */
	bool stopped;
	struct net_latency lat;
};

int net_echo_client(struct net_stack *s, const struct net_echo_opts *o, struct net_echo_result *r);

struct net_echo_server {
	uint64_t echoed, failed;
};
/* Zeroes e and answers datagrams to port from s's handler from now on (what net_echo_serve polls for). */
void net_echo_server_bind(struct net_stack *s, struct net_echo_server *e, uint16_t port);
/* Answers every datagram to port until count were echoed (0: no limit) or stop(ctx) (as net_sink_run). */
void net_echo_serve(struct net_stack *s, struct net_echo_server *e, uint16_t port, uint64_t count,
		    bool (*stop)(void *ctx), void *ctx);

/* Waits until dst's next hop is in the ARP cache, asking every 200 ms: 0, or -NET_EAGAIN after timeout_ns. */
int net_resolve(struct net_stack *s, uint32_t dst, uint64_t timeout_ns);

#endif
