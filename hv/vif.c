// SPDX-License-Identifier: MIT
/*
 * The network device's half of xenstore: each vif's backend and frontend
 * directories, with Xen's netif key names, and the XenbusState machine that
 * connects the vif's rings when the frontend says it is ready (hv/vif.h).
 */
#include "vif.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "domain.h"
#include "netdev.h"
#include "xenith/netif.h"
#include "xenbus_be.h"
#include "xenstore.h"

/* A key the frontend must give: 0, or xenbus_be_fatal() was called. */
static int need_u32(struct xenbus_be *v, const char *key, uint32_t *out)
{
	char msg[160];
	bool present;
	int r = xenbus_be_read_u32(v, key, out, &present);

	if (r == 0 && present)
		return 0;
	snprintf(msg, sizeof(msg), "%s: %s", key, r == 0 ? "missing" : "not a number");
	xenbus_be_fatal(v, r == 0 ? ENOENT : EINVAL, msg);
	return r == 0 ? -ENOENT : r;
}

/* A 0/1 key the frontend may leave out (def); 0, or xenbus_be_fatal() was called. */
static int flag_u32(struct xenbus_be *v, const char *key, uint32_t def, uint32_t *out)
{
	char msg[160];
	bool present;
	int r = xenbus_be_read_u32(v, key, out, &present);

	if (r == 0 && !present)
		*out = def;
	if (r == 0 && *out <= 1)
		return 0;
	snprintf(msg, sizeof(msg), "%s: must be 0 or 1", key);
	xenbus_be_fatal(v, EINVAL, msg);
	return -EINVAL;
}

/* Queue q's rings and channel(s), under queue-q/ when the frontend asked for several queues. */
static int read_queue(struct xenbus_be *v, unsigned nq, unsigned q, struct netdev_ring_refs *rr)
{
	char dir[24] = "", key[64], msg[160];
	bool one, tx, rx;
	uint32_t evt = 0;
	int r;

	if (nq > 1)
		snprintf(dir, sizeof(dir), "queue-%u/", q);
#define KEY(name) (snprintf(key, sizeof(key), "%s%s", dir, name), key)
	if (need_u32(v, KEY("tx-ring-ref"), &rr->tx_ref) < 0 || need_u32(v, KEY("rx-ring-ref"), &rr->rx_ref) < 0)
		return -EINVAL;
	r = xenbus_be_read_u32(v, KEY("event-channel"), &evt, &one);
	if (r == 0)
		r = xenbus_be_read_u32(v, KEY("event-channel-tx"), &rr->tx_port, &tx);
	if (r == 0)
		r = xenbus_be_read_u32(v, KEY("event-channel-rx"), &rr->rx_port, &rx);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "%sevent-channel(-tx/-rx): not a number", dir);
		xenbus_be_fatal(v, EINVAL, msg);
		return r;
	}
#undef KEY
	if (one && !tx && !rx) {
		rr->tx_port = rr->rx_port = evt;
		return 0;
	}
	if (!one && tx && rx && rr->tx_port != rr->rx_port)
		return 0;
	snprintf(msg, sizeof(msg), "%sevent-channel: give event-channel, or event-channel-tx and "
		 "event-channel-rx (two different ports), not %s", dir,
		 one ? "both forms" : tx != rx ? "one of the split pair" :
		 tx ? "the same port twice" : "none");
	xenbus_be_fatal(v, EINVAL, msg);
	return -EINVAL;
}

/* Reads the frontend's ring details and connects every queue; 0, or xenbus_be_fatal() was called. */
static int connect_rings(struct xenbus_be *v)
{
	struct netdev_ring_refs refs[XENITH_NET_MAX_QUEUES];
	struct netdev_info info;
	uint32_t nq = 1, rx_copy, rx_notify, flag;
	bool present;
	char msg[256];
	int r;

	netdev_info(v->d, v->index, &info);
	r = xenbus_be_read_u32(v, "multi-queue-num-queues", &nq, &present);
	if (r < 0 || nq == 0 || nq > info.nr_queues) {
		snprintf(msg, sizeof(msg), "multi-queue-num-queues: must be 1 to %u (the backend's "
			 "multi-queue-max-queues)", info.nr_queues);
		xenbus_be_fatal(v, EINVAL, msg);
		return -EINVAL;
	}
	if (flag_u32(v, "request-rx-copy", 0, &rx_copy) < 0 || flag_u32(v, "feature-rx-notify", 0, &rx_notify) < 0)
		return -EINVAL;
	if (!rx_copy) {
		xenbus_be_fatal(v, EOPNOTSUPP, "request-rx-copy: must be 1 (receive by copy; page flipping is not offered, "
		      "feature-rx-flip = 0)");
		return -EOPNOTSUPP;
	}
	if (!rx_notify) {
		xenbus_be_fatal(v, EOPNOTSUPP, "feature-rx-notify: must be 1 (the frontend notifies after posting "
		      "receive buffers, as Linux's netback requires)");
		return -EOPNOTSUPP;
	}
	/* Optional frontend features: checked for form; Xenith's backend needs none of them. */
	if (flag_u32(v, "feature-sg", 0, &flag) < 0 || flag_u32(v, "feature-gso-tcpv4", 0, &flag) < 0 ||
	    flag_u32(v, "feature-no-csum-offload", 0, &flag) < 0)
		return -EINVAL;
	for (uint32_t q = 0; q < nq; q++)
		if (read_queue(v, nq, q, &refs[q]) < 0)
			return -EINVAL;
	r = netdev_connect_rings(v->d, v->index, nq, refs, msg, sizeof(msg));
	if (r < 0) {
		xenbus_be_fatal(v, -r, msg);
		return r;
	}
	return 0;
}

static void vif_disconnect(struct xenbus_be *v)
{
	netdev_disconnect_rings(v->d, v->index);
}

static const struct xenbus_be_ops vif_ops = {
	.kind = "vif",
	.connect = connect_rings,
	.disconnect = vif_disconnect,
};

int vif_publish(struct vif *vif, struct domain *d, struct xs_store *s, unsigned index, struct errbuf *eb)
{
	struct xenbus_be *v = &vif->xb;
	struct netdev_info info;
	char be[XENBUS_BE_PATH_MAX], fe[XENBUS_BE_PATH_MAX], p[XENBUS_BE_PATH_MAX + 64], mac[18], what[32];
	int r = 0;

	snprintf(be, sizeof(be), "/local/domain/%u/backend/vif/%u/%u", XENITH_BACKEND_DOMID, d->domid, index);
	snprintf(fe, sizeof(fe), "/local/domain/%u/device/vif/%u", d->domid, index);
	xenbus_be_init(v, &vif_ops, d, s, index, be, fe);
	netdev_info(d, index, &info);
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", info.mac[0], info.mac[1], info.mac[2],
		 info.mac[3], info.mac[4], info.mac[5]);
#define W(dir, key, ...) do { \
		snprintf(p, sizeof(p), "%s/%s", dir, key); \
		if (r == 0) r = xs_printf(s, p, __VA_ARGS__); \
	} while (0)
	r = xenbus_be_mkdir(v, true);
	W(v->be, "frontend", "%s", v->fe);
	W(v->be, "frontend-id", "%u", d->domid);
	W(v->be, "online", "1");
	W(v->be, "handle", "%u", index);
	W(v->be, "mac", "%s", mac);
	W(v->be, "feature-sg", "1");
	W(v->be, "feature-gso-tcpv4", "0");
	W(v->be, "feature-rx-copy", "1");
	W(v->be, "feature-rx-flip", "0");
	W(v->be, "feature-no-csum-offload", "0");
	W(v->be, "feature-split-event-channels", "1");
	W(v->be, "multi-queue-max-queues", "%u", info.nr_queues);
	/* Xenith's own: how the frontend kicks (as for disks). */
	W(v->be, "xenith-notify", "%s", info.mode);
	W(v->be, "xenith-doorbell", "%u", info.doorbell_port);
	W(v->be, "state", "%u", (unsigned)XenbusStateInitWait);
	if (r == 0)
		r = xenbus_be_mkdir(v, false);
	W(v->fe, "backend", "%s", v->be);
	W(v->fe, "backend-id", "%u", XENITH_BACKEND_DOMID);
	W(v->fe, "handle", "%u", index);
	W(v->fe, "mac", "%s", mac);
	W(v->fe, "state", "%u", (unsigned)XenbusStateInitialising);
#undef W
	if (r < 0)
		return errbuf_set(eb, -r, "vif %u: xenstore: %s", index, strerror(-r));
	snprintf(what, sizeof(what), "vif %u", index);
	return xenbus_be_start(v, what, eb);
}

void vif_unpublish(struct vif *vif)
{
	xenbus_be_stop(&vif->xb); /* the counters stay for `xenith devices` */
}
