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
#include "xenstore.h"

static void set_state(struct vif *v, enum xenbus_state st)
{
	char p[VIF_PATH_MAX + 16];

	snprintf(p, sizeof(p), "%s/state", v->be);
	xs_printf(v->store, p, "%u", (unsigned)st);
	atomic_store(&v->state, st);
}

/* As Xen's xenbus_dev_fatal: the reason to error/<backend path>, the backend to Closing. */
static void fatal(struct vif *v, int err, const char *msg)
{
	char p[VIF_PATH_MAX + 64], fe_read[16];
	const char *perms[2] = { "n0", fe_read };

	snprintf(p, sizeof(p), "/local/domain/%u/error%s/error", XENITH_BACKEND_DOMID,
		 v->be + strlen("/local/domain/0"));
	xs_printf(v->store, p, "%d %s", err, msg);
	/* Xenith differs: the frontend's domain may read the reason (Xen keeps it to dom0). */
	snprintf(fe_read, sizeof(fe_read), "r%u", v->d->domid);
	xs_set_perms(v->store, p, perms, 2);
	snprintf(v->last_error, sizeof(v->last_error), "%s", msg);
	set_state(v, XenbusStateClosing);
}

/* The frontend's number at key: 0 (*present says whether it was there), -ERANGE, or -EINVAL. */
static int read_fe_u32(struct vif *v, const char *key, uint32_t *out, bool *present)
{
	char p[VIF_PATH_MAX + 64];
	uint64_t x;
	int r;

	snprintf(p, sizeof(p), "%s/%s", v->fe, key);
	r = xs_read_u64(v->store, p, &x);
	*present = r != -ENOENT;
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	if (x > UINT32_MAX)
		return -ERANGE;
	*out = (uint32_t)x;
	return 0;
}

/* A key the frontend must give: 0, or fatal() was called. */
static int need_u32(struct vif *v, const char *key, uint32_t *out)
{
	char msg[160];
	bool present;
	int r = read_fe_u32(v, key, out, &present);

	if (r == 0 && present)
		return 0;
	snprintf(msg, sizeof(msg), "%s: %s", key, r == 0 ? "missing" : "not a number");
	fatal(v, r == 0 ? ENOENT : EINVAL, msg);
	return r == 0 ? -ENOENT : r;
}

/* A 0/1 key the frontend may leave out (def); 0, or fatal() was called. */
static int flag_u32(struct vif *v, const char *key, uint32_t def, uint32_t *out)
{
	char msg[160];
	bool present;
	int r = read_fe_u32(v, key, out, &present);

	if (r == 0 && !present)
		*out = def;
	if (r == 0 && *out <= 1)
		return 0;
	snprintf(msg, sizeof(msg), "%s: must be 0 or 1", key);
	fatal(v, EINVAL, msg);
	return -EINVAL;
}

/* Queue q's rings and channel(s), under queue-q/ when the frontend asked for several queues. */
static int read_queue(struct vif *v, unsigned nq, unsigned q, struct netdev_ring_refs *rr)
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
	r = read_fe_u32(v, KEY("event-channel"), &evt, &one);
	if (r == 0)
		r = read_fe_u32(v, KEY("event-channel-tx"), &rr->tx_port, &tx);
	if (r == 0)
		r = read_fe_u32(v, KEY("event-channel-rx"), &rr->rx_port, &rx);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "%sevent-channel(-tx/-rx): not a number", dir);
		fatal(v, EINVAL, msg);
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
	fatal(v, EINVAL, msg);
	return -EINVAL;
}

/* Reads the frontend's ring details and connects every queue; 0, or fatal() was called. */
static int connect_rings(struct vif *v)
{
	struct netdev_ring_refs refs[XENITH_NET_MAX_QUEUES];
	struct netdev_info info;
	uint32_t nq = 1, rx_copy, rx_notify, flag;
	bool present;
	char msg[256];
	int r;

	netdev_info(v->d, v->index, &info);
	r = read_fe_u32(v, "multi-queue-num-queues", &nq, &present);
	if (r < 0 || nq == 0 || nq > info.nr_queues) {
		snprintf(msg, sizeof(msg), "multi-queue-num-queues: must be 1 to %u (the backend's "
			 "multi-queue-max-queues)", info.nr_queues);
		fatal(v, EINVAL, msg);
		return -EINVAL;
	}
	if (flag_u32(v, "request-rx-copy", 0, &rx_copy) < 0 || flag_u32(v, "feature-rx-notify", 0, &rx_notify) < 0)
		return -EINVAL;
	if (!rx_copy) {
		fatal(v, EOPNOTSUPP, "request-rx-copy: must be 1 (receive by copy; page flipping is not offered, "
		      "feature-rx-flip = 0)");
		return -EOPNOTSUPP;
	}
	if (!rx_notify) {
		fatal(v, EOPNOTSUPP, "feature-rx-notify: must be 1 (the frontend notifies after posting "
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
		fatal(v, -r, msg);
		return r;
	}
	return 0;
}

static void frontend_changed(void *opaque, const char *path, const char *token)
{
	struct vif *v = opaque;
	char p[VIF_PATH_MAX + 16];
	uint64_t fe = XenbusStateUnknown;

	(void)path;
	(void)token;
	snprintf(p, sizeof(p), "%s/state", v->fe);
	pthread_mutex_lock(&v->lock);
	if (!v->published || xs_read_u64(v->store, p, &fe) < 0)
		goto out;
	switch (fe) {
	case XenbusStateInitialised:
	case XenbusStateConnected:
		if (v->state != XenbusStateInitWait)
			break; /* connected already, or closing after an error */
		if (connect_rings(v) == 0) {
			atomic_store(&v->connected_ns, now_ns());
			atomic_fetch_add(&v->nr_connects, 1);
			set_state(v, XenbusStateConnected);
		}
		break;
	case XenbusStateClosing:
		netdev_disconnect_rings(v->d, v->index);
		if (v->state != XenbusStateClosing)
			set_state(v, XenbusStateClosing);
		break;
	case XenbusStateClosed:
		netdev_disconnect_rings(v->d, v->index);
		if (v->state != XenbusStateClosed)
			set_state(v, XenbusStateClosed);
		break;
	case XenbusStateInitialising:
		/* A frontend starting (again): offer the vif anew once the old connection is gone. */
		if (v->state == XenbusStateClosed || v->state == XenbusStateClosing) {
			netdev_disconnect_rings(v->d, v->index);
			v->last_error[0] = 0;
			set_state(v, XenbusStateInitWait);
		}
		break;
	default:
		break;
	}
out:
	pthread_mutex_unlock(&v->lock);
}

int vif_publish(struct vif *v, struct domain *d, struct xs_store *s, unsigned index, struct errbuf *eb)
{
	struct netdev_info info;
	char be_perm[16], fe_perm[16], p[VIF_PATH_MAX + 64], mac[18];
	const char *be_perms[2], *fe_perms[2];
	int r = 0;

	pthread_mutex_init(&v->lock, NULL);
	v->d = d;
	v->store = s;
	v->index = index;
	snprintf(v->be, sizeof(v->be), "/local/domain/%u/backend/vif/%u/%u", XENITH_BACKEND_DOMID, d->domid,
		 index);
	snprintf(v->fe, sizeof(v->fe), "/local/domain/%u/device/vif/%u", d->domid, index);
	netdev_info(d, index, &info);
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", info.mac[0], info.mac[1], info.mac[2],
		 info.mac[3], info.mac[4], info.mac[5]);
	/* Backend: dom0's, readable by the guest; frontend: the guest's, readable by dom0 (as xl). */
	snprintf(be_perm, sizeof(be_perm), "r%u", d->domid);
	snprintf(fe_perm, sizeof(fe_perm), "n%u", d->domid);
	be_perms[0] = "n0";
	be_perms[1] = be_perm;
	fe_perms[0] = fe_perm;
	fe_perms[1] = "r0";
#define W(dir, key, ...) do { \
		snprintf(p, sizeof(p), "%s/%s", dir, key); \
		if (r == 0) r = xs_printf(s, p, __VA_ARGS__); \
	} while (0)
	r = xs_mkdir(s, v->be);
	if (r == 0)
		r = xs_set_perms(s, v->be, be_perms, 2);
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
		r = xs_mkdir(s, v->fe);
	if (r == 0)
		r = xs_set_perms(s, v->fe, fe_perms, 2);
	W(v->fe, "backend", "%s", v->be);
	W(v->fe, "backend-id", "%u", XENITH_BACKEND_DOMID);
	W(v->fe, "handle", "%u", index);
	W(v->fe, "mac", "%s", mac);
	W(v->fe, "state", "%u", (unsigned)XenbusStateInitialising);
#undef W
	if (r < 0)
		return errbuf_set(eb, -r, "vif %u: xenstore: %s", index, strerror(-r));
	atomic_store(&v->state, XenbusStateInitWait);
	pthread_mutex_lock(&v->lock);
	v->published = true;
	pthread_mutex_unlock(&v->lock);
	snprintf(p, sizeof(p), "%s/state", v->fe);
	r = xs_watch(s, p, "vif", frontend_changed, v);
	if (r < 0)
		return errbuf_set(eb, -r, "vif %u: xenstore watch on %s: %s", index, p, strerror(-r));
	v->watching = true;
	return 0;
}

void vif_unpublish(struct vif *v)
{
	char p[VIF_PATH_MAX + 16];

	if (!v->store)
		return;
	if (v->watching) {
		snprintf(p, sizeof(p), "%s/state", v->fe);
		xs_unwatch(v->store, p, "vif", frontend_changed, v);
	}
	pthread_mutex_lock(&v->lock);
	v->published = false;
	pthread_mutex_unlock(&v->lock);
	xs_rm(v->store, v->be);
	xs_rm(v->store, v->fe);
	pthread_mutex_destroy(&v->lock);
	v->store = NULL;
	v->watching = false;
	atomic_store(&v->state, XenbusStateUnknown); /* the counters stay for `xenith devices` */
}
