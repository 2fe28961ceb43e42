/* SPDX-License-Identifier: MIT */
/*
 * The options of the network programs (net-sink, net-blast, net-echo),
 * one syntax for the guest's command line and the native runner's
 * arguments: key=value words separated by spaces.
 *
 *   vif=N  ip=A.B.C.D/P  gw=A.B.C.D  mac=XX:XX:XX:XX:XX:XX  port=P  src=P
 *   dst=A.B.C.D:P  size=64..1514  count=N  rate=PPS  duration=MS  idle=MS
 *   timeout=MS  hold=0|1  queues=1..8
 *
 * Freestanding, as net/stack.c.
 */
#ifndef XENITH_NET_OPTS_H
#define XENITH_NET_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NET_OPTS_HELP "vif=N ip=A.B.C.D/P gw=A.B.C.D mac=XX:XX:XX:XX:XX:XX port=P src=P dst=A.B.C.D:P " \
	"size=64..1514 count=N rate=PPS duration=MS idle=MS timeout=MS hold=0|1 queues=1..8"

struct net_opts {
	unsigned vif;
	uint32_t ip, gw;
	unsigned prefix;
	uint8_t mac[6];
	bool has_mac;           /* mac= given (natively: else the interface's) */
	uint16_t port, src_port;
	uint32_t dst_ip;
	uint16_t dst_port;
	bool has_dst, hold;
	unsigned size;
	uint64_t count, rate, duration_ms, idle_ms, timeout_ms;
	unsigned queues;        /* the guest's: vif queues to connect (XENITH_NET_MAX_QUEUES at most) */
};

/* 10.0.0.2/24, port, src 4000, size 64, timeout 1000 ms, 1 queue, the rest 0. */
void net_opts_default(struct net_opts *o, uint16_t port);
/*
 * Parses args into o.  false on a bad word: *bad points at it (its key,
 * or the whole word when it is not key=value) and *bad_len is the key's
 * length (0: not key=value).
 */
bool net_opts_parse(const char *args, struct net_opts *o, const char **bad, size_t *bad_len);

#endif
