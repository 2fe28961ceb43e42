// SPDX-License-Identifier: MIT
/*
 * port_dpdk.h without DPDK: in build/tools/xenith always (a domain with a
 * dpdk vif runs in xenith-dpdk, tools/cmd_run.c), and in every program of
 * a build without DPDK (meson -Ddpdk=disabled, or no libdpdk found).
 */
#include "port_dpdk.h"

#include <errno.h>
#include <stdio.h>

#define NO_DPDK "this xenith has no DPDK port and there is no xenith-dpdk beside it to run the domain: " \
		"xenith-dpdk is built when dpdk-dev is installed (ci/setup.sh installs it; then " \
		"meson setup --reconfigure BUILD -Ddpdk=enabled)"

bool port_dpdk_available(void)
{
	return false;
}

int port_dpdk_eal_configure(bool hugepages, const char *extra_args, char *msg, size_t msglen)
{
	(void)hugepages;
	(void)extra_args;
	(void)msg;
	(void)msglen;
	return 0; /* the error comes with the first port, which names it */
}

int port_dpdk_open(const char *vdev_args, unsigned queues, struct net_port **ports, char *msg, size_t msglen)
{
	(void)queues;
	(void)ports;
	snprintf(msg, msglen, "dpdk:%s: " NO_DPDK, vdev_args ? vdev_args : "");
	return -ENOTSUP;
}
