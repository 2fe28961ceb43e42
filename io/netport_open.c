// SPDX-License-Identifier: MIT
/* Opening a network port from its spec (netport_open.h): one row per kind. */
#include "netport_open.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "port_dpdk.h"
#include "port_pair.h"
#include "port_tap.h"

static int open_tap(const char *name, unsigned queues, struct net_port **ports, char *msg, size_t msglen)
{
	struct port_tap_config tc = { .ifname = name, .queues = queues };

	return port_tap_open(&tc, ports, msg, msglen);
}

static int open_pair(const char *name, unsigned queues, struct net_port **ports, char *msg, size_t msglen)
{
	for (unsigned q = 0; q < queues; q++) {
		char qname[48];
		int r;

		if (q)
			snprintf(qname, sizeof(qname), "%s.%u", name, q);
		else
			snprintf(qname, sizeof(qname), "%s", name);
		r = port_pair_open(qname, &ports[q]);
		if (r < 0) {
			snprintf(msg, msglen, "pair:%s: %s", qname,
				 r == -EBUSY ? "both ends of that pair are taken (a pair joins two ports)" :
				 r == -EINVAL ? "a name of 1 to 47 characters" : strerror(-r));
			while (q--)
				ports[q]->ops->close(ports[q]);
			return r;
		}
	}
	return 0;
}

/* dpdk:VDEV-ARGS, as DPDK's --vdev takes them ("net_af_packet0,iface=veth1"); brackets around them are taken off. */
static int open_dpdk(const char *args, unsigned queues, struct net_port **ports, char *msg, size_t msglen)
{
	char plain[PORT_DPDK_ARGS_MAX];
	size_t n = strlen(args);

	if (n >= 2 && args[0] == '[' && args[n - 1] == ']') {
		if (n - 2 >= sizeof(plain)) {
			snprintf(msg, msglen, "dpdk:%s: the arguments are longer than %zu characters", args,
				 sizeof(plain) - 1);
			return -EINVAL;
		}
		memcpy(plain, args + 1, n - 2);
		plain[n - 2] = 0;
		args = plain;
	}
	return port_dpdk_open(args, queues, ports, msg, msglen);
}

/*
 * The kinds (a program that opens dpdk: ports links io_dpdk_dep: the real
 * port, or the stub that says how to get it).  switch:NAME is not one: a
 * switch takes domains (guest memory, grant tables), not host programs;
 * the net suite's native reference for it is a net_memif pair.
 */
static const struct {
	const char *kind;
	int (*open)(const char *arg, unsigned queues, struct net_port **ports, char *msg, size_t msglen);
} kinds[] = {
	{ "tap", open_tap },
	{ "pair", open_pair },
	{ "dpdk", open_dpdk },
};
#define NR_KINDS (sizeof(kinds) / sizeof(kinds[0]))

const char *net_port_kinds(void)
{
	static char list[64];

	if (!list[0])
		for (size_t k = 0; k < NR_KINDS; k++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", k ? ", " : "",
				 kinds[k].kind);
	return list;
}

/* The row of spec's kind, or -1. */
static int kind_of(const char *spec)
{
	const char *colon = spec ? strchr(spec, ':') : NULL;

	for (size_t k = 0; colon && k < NR_KINDS; k++)
		if (strlen(kinds[k].kind) == (size_t)(colon - spec) && !strncmp(spec, kinds[k].kind, colon - spec))
			return (int)k;
	return -1;
}

bool net_port_spec_known(const char *spec)
{
	return kind_of(spec) >= 0;
}

int net_port_open(const char *spec, unsigned queues, struct net_port **ports, char *msg, size_t msglen)
{
	int k = kind_of(spec);

	if (k < 0) {
		snprintf(msg, msglen, "port '%s': not KIND:NAME with a kind this build opens (%s)", spec ? spec : "",
			 net_port_kinds());
		return -EINVAL;
	}
	if (queues < 1 || queues > NET_PORT_OPEN_MAX_QUEUES) {
		snprintf(msg, msglen, "port '%s': 1 to %u queues (%u asked)", spec, NET_PORT_OPEN_MAX_QUEUES, queues);
		return -EINVAL;
	}
	for (unsigned q = 0; q < queues; q++)
		ports[q] = NULL;
	return kinds[k].open(strchr(spec, ':') + 1, queues, ports, msg, msglen);
}
