// SPDX-License-Identifier: MIT
/* Opening a network port from its spec (netport_open.h): one row per kind. */
#include "netport_open.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

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

/*
 * The kinds.  After the merge of the other lanes of issue 14:
 *   { "dpdk", open_dpdk },     port_dpdk_open(vdev_args, queues, ports, msg, msglen) (io/port_dpdk.h)
 *   { "switch", open_switch }, a port on a `xenith switch` NAME
 */
static const struct {
	const char *kind;
	int (*open)(const char *arg, unsigned queues, struct net_port **ports, char *msg, size_t msglen);
} kinds[] = {
	{ "tap", open_tap },
	{ "pair", open_pair },
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
