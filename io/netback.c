// SPDX-License-Identifier: MIT
/* Stub: the API of io/netback.h, so that the vif device can build against it. */
#include "netback.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

const char *netback_drop_name(enum netback_drop d)
{
	static const char *const names[NETBACK_DROP_NR] = {
		[NETBACK_DROP_NONE] = "none", [NETBACK_DROP_BAD_REQUEST] = "bad_request",
		[NETBACK_DROP_BAD_GRANT] = "bad_grant", [NETBACK_DROP_SPOOFED_MAC] = "spoofed_mac",
		[NETBACK_DROP_NO_RX_BUFFER] = "no_rx_buffer", [NETBACK_DROP_PORT_FULL] = "port_full",
		[NETBACK_DROP_OVERSIZE] = "oversize",
	};

	return (unsigned)d < NETBACK_DROP_NR ? names[d] : NULL;
}

int netback_open(const struct netback_config *cfg, struct netback **out, char *msg, size_t msglen)
{
	(void)cfg;
	*out = NULL;
	snprintf(msg, msglen, "netback: not implemented yet");
	return -ENOSYS;
}

void netback_close(struct netback *nb)
{
	(void)nb;
}

int netback_kick_fd(const struct netback *nb)
{
	(void)nb;
	return -1;
}

int netback_connect(struct netback *nb, struct grant_table *gt, grant_ref_t tx_ref, grant_ref_t rx_ref,
		    void (*notify)(void *opaque, enum netback_ring ring), void *opaque)
{
	(void)nb, (void)gt, (void)tx_ref, (void)rx_ref, (void)notify, (void)opaque;
	return -ENOSYS;
}

void netback_disconnect(struct netback *nb)
{
	(void)nb;
}

bool netback_connected(const struct netback *nb)
{
	(void)nb;
	return false;
}

bool netback_broken(const struct netback *nb)
{
	(void)nb;
	return false;
}

void netback_get_stats(const struct netback *nb, struct netback_stats *st)
{
	(void)nb;
	memset(st, 0, sizeof(*st));
}

int netback_stats_json(const struct netback *nb, char *buf, size_t size)
{
	(void)nb;
	return snprintf(buf, size, "\"stub\":true") < (int)size ? (int)strlen(buf) : -1;
}

int netback_tx_parse(const union netif_tx_slot_req *slots, unsigned avail, struct netback_tx_pkt *pkt)
{
	(void)slots, (void)avail;
	memset(pkt, 0, sizeof(*pkt));
	return 0;
}

int netback_fill_csum(uint8_t *frame, uint32_t len)
{
	(void)frame, (void)len;
	return -EINVAL;
}
