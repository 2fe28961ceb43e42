// SPDX-License-Identifier: MIT
/*
 * The link check of the DPDK port in a static executable, as the VMM is
 * linked (-static): each driver the build promises (net_ring, net_memif,
 * net_af_packet, net_tap) probes, which it does only if its constructor
 * was linked and ran.  TAP on stdout, without CMocka (Debian ships no
 * static libcmocka).  In a network namespace of its own (root); tap needs
 * /dev/net/tun; without them, or without DPDK, visible skips.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "port_dpdk.h"

int main(void)
{
	char memif[96], msg[1024], why[160] = "";
	const char *const args[] = { "net_ring0", memif, "net_af_packet0,iface=lo", "net_tap0,iface=xdsp0" };
	int failed = 0;

	snprintf(memif, sizeof(memif), "net_memif0,role=server,socket=/run/xenith-probe-%d.sock", (int)getpid());
	if (!port_dpdk_available())
		snprintf(why, sizeof(why), "this xenith was built without DPDK");
	else if (geteuid() != 0)
		snprintf(why, sizeof(why), "needs root (af_packet, tap, a network namespace)");
	else if (unshare(CLONE_NEWNET) < 0)
		snprintf(why, sizeof(why), "unshare(CLONE_NEWNET): %s", strerror(errno));
	else if (system("ip link set lo up") != 0)
		snprintf(why, sizeof(why), "ip link set lo up failed (iproute2)");
	printf("1..%zu\n", sizeof(args) / sizeof(args[0]));
	for (unsigned i = 0; i < sizeof(args) / sizeof(args[0]); i++) {
		int name_len = (int)strcspn(args[i], ",");
		struct net_port *p;

		if (why[0]) {
			printf("ok %u - %.*s probes in a static executable # SKIP %s\n", i + 1, name_len, args[i], why);
			continue;
		}
		if (i == 3 && access("/dev/net/tun", R_OK | W_OK) < 0) {
			printf("ok %u - net_tap probes in a static executable # SKIP /dev/net/tun: %s\n", i + 1,
			       strerror(errno));
			continue;
		}
		fflush(stdout);
		if (port_dpdk_open(args[i], 1, &p, msg, sizeof(msg)) < 0) {
			printf("not ok %u - %.*s probes in a static executable\n# %s\n", i + 1, name_len, args[i], msg);
			failed = 1;
			continue;
		}
		p->ops->close(p);
		printf("ok %u - %.*s probes in a static executable\n", i + 1, name_len, args[i]);
	}
	return failed;
}
