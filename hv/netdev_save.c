// SPDX-License-Identifier: MIT
/*
 * A vif's quiesce, resume, save and restore (netdev.h has the record's
 * format): its queues' netbacks in this VMM (ports tap and pair) or in the
 * domain switch (port=switch, through netdev_switch.h), its event
 * channels, and its xenstore half's XenbusState.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "device.h"
#include "domain.h"
#include "evtchn.h"
#include "netdev_priv.h"
#include "netdev_switch.h"
#include "port_tap.h"
#include "savebuf.h"
#include "xsdomain.h"
#include "xenith/grant_table.h"

#define FLAG_TX_CUT 1u
#define FLAG_BROKEN 2u
#define FLAGS_KNOWN (FLAG_TX_CUT | FLAG_BROKEN)
#define MAX_REF ((unsigned)(XENITH_GNTTAB_MAX_FRAMES * XENITH_GNTTAB_ENTRIES_PER_FRAME))

static const struct vif_config *config_of(const struct device *dev)
{
	const struct net_vif *nv = dev->priv;

	return &dev->d->cfg.vifs[nv->index];
}

int netdev_check_save(struct device *dev, bool migrate, struct errbuf *eb)
{
	const struct vif_config *vc = config_of(dev);
	struct net_vif *nv = dev->priv;

	switch (vc->port) {
	case VIF_PORT_DPDK:
		return errbuf_set(eb, ENOTSUP, "%s (port=dpdk:%s): save and migration of vifs on DPDK ports are not "
				  "supported: nothing quiesces or hands over a DPDK vdev yet; use a tap (save and "
				  "restore) or a switch port for a domain that must move", dev->name, vc->port_name);
	case VIF_PORT_TAP:
		if (!migrate)
			return 0;
		return errbuf_set(eb, ENOTSUP, "%s (port=tap:%s): a tap vif cannot migrate live: this VMM holds the tap "
				  "until the domain stops, and a receiver on this host cannot open it before then (a "
				  "tap has one owner; Xenith creates and places it while the VMM is privileged, which "
				  "the receiver no longer is at the stop); `xenith save` and `xenith restore` move it, "
				  "the saving VMM letting go of the tap as it ends", dev->name, vc->port_name);
	case VIF_PORT_SWITCH:
		if (swlink_gone(nv->sw))
			return errbuf_set(eb, ENOTSUP, "%s (port=switch:%s): the switch is gone, and its queues' ring "
					  "state with it; reboot the domain on a running switch first", dev->name,
					  vc->port_name);
		return 0;
	default:
		return 0;
	}
}

/*
 * Every queue stops taking from its rings and finishes what it took
 * (netback.h, or the switch's netbacks); a queue that cannot be quiesced
 * in time fails the whole vif, and the queues already quiesced go on.
 */
int netdev_quiesce(struct device *dev, uint64_t deadline_ns, struct errbuf *eb)
{
	struct net_vif *nv = dev->priv;
	char msg[320];
	unsigned q;
	int r = 0;

	if (nv->sw)
		return swlink_quiesce(nv->sw, deadline_ns, eb);
	pthread_mutex_lock(&nv->shared->lock);
	for (q = 0; q < nv->nr_queues; q++) {
		if (!nv->q[q].nb)
			continue;
		char who[48];
		unsigned ms;

		snprintf(who, sizeof(who), "vif %u queue %u", nv->index, q);
		r = device_quiesce_budget(deadline_ns, NETBACK_QUIESCE_TIMEOUT_MS, who, &ms, msg, sizeof(msg));
		if (r == 0)
			r = netback_quiesce(nv->q[q].nb, ms, msg, sizeof(msg));
		if (r < 0)
			break;
	}
	if (r < 0)
		while (q-- > 0)
			if (nv->q[q].nb)
				netback_resume(nv->q[q].nb);
	pthread_mutex_unlock(&nv->shared->lock);
	return r < 0 ? errbuf_set(eb, -r, "%s", msg) : 0;
}

int netdev_resume(struct device *dev, struct errbuf *eb)
{
	struct net_vif *nv = dev->priv;

	if (nv->sw)
		return swlink_resume(nv->sw, eb);
	pthread_mutex_lock(&nv->shared->lock);
	for (unsigned q = 0; q < nv->nr_queues; q++)
		if (nv->q[q].nb)
			netback_resume(nv->q[q].nb);
	pthread_mutex_unlock(&nv->shared->lock);
	return 0;
}

/* A vif's saved state, as netdev_restore reads it (the format: netdev.h). */
struct saved_queue {
	bool connected;
	uint32_t tx_port, rx_port;
	struct netback_ring_state ring;
};

struct saved_vif {
	unsigned nr_queues;
	uint8_t mac[6];
	enum xenbus_state state;
	char last_error[sizeof(((struct xenbus_be *)0)->last_error)];
	struct saved_queue q[XENITH_NET_MAX_QUEUES];
};

/* Queue q's state from its netback in this VMM; the vifs' lock held. */
static int local_queue_state(struct net_vif *nv, unsigned q, struct saved_queue *s, struct errbuf *eb)
{
	struct net_queue *nq = &nv->q[q];
	int r;

	s->connected = nq->nb && netback_connected(nq->nb);
	if (!s->connected)
		return 0;
	s->tx_port = nq->tx_evtchn;
	s->rx_port = nq->rx_evtchn;
	r = netback_get_ring_state(nq->nb, &s->ring);
	if (r < 0)
		return errbuf_set(eb, -r, "vif %u queue %u is not quiesced: quiesce the device before saving it",
				  nv->index, q);
	return 0;
}

static void put_queue(struct savebuf *out, const struct saved_queue *s)
{
	savebuf_u8(out, s->connected);
	savebuf_u8(out, (uint8_t)((s->ring.tx_cut ? FLAG_TX_CUT : 0) | (s->ring.broken ? FLAG_BROKEN : 0)));
	savebuf_u32(out, s->tx_port);
	savebuf_u32(out, s->rx_port);
	savebuf_u32(out, s->ring.tx_ref);
	savebuf_u32(out, s->ring.rx_ref);
	savebuf_u32(out, s->ring.tx_req_cons);
	savebuf_u32(out, s->ring.tx_rsp_prod_pvt);
	savebuf_u32(out, s->ring.rx_req_cons);
	savebuf_u32(out, s->ring.rx_rsp_prod_pvt);
}

int netdev_save(struct device *dev, struct savebuf *out, struct errbuf *eb)
{
	struct net_vif *nv = dev->priv;
	struct saved_vif sv = { .nr_queues = nv->nr_queues };
	int r = 0;

	memcpy(sv.mac, nv->mac, sizeof(sv.mac));
	if (nv->sw) {
		for (unsigned q = 0; q < nv->nr_queues; q++) {
			struct saved_queue *s = &sv.q[q];

			s->connected = swlink_saved_queue(nv->sw, q, &s->tx_port, &s->rx_port, &s->ring) == 0;
		}
	} else {
		pthread_mutex_lock(&nv->shared->lock);
		for (unsigned q = 0; q < nv->nr_queues && r == 0; q++)
			r = local_queue_state(nv, q, &sv.q[q], eb);
		pthread_mutex_unlock(&nv->shared->lock);
		if (r < 0)
			return r;
	}
	xenbus_be_get_state(&nv->vif.xb, &sv.state, sv.last_error, sizeof(sv.last_error));
	savebuf_u16(out, VIF_SAVE_VERSION);
	savebuf_u16(out, (uint16_t)sv.nr_queues);
	savebuf_put(out, sv.mac, sizeof(sv.mac));
	savebuf_u8(out, (uint8_t)sv.state);
	savebuf_str(out, sv.last_error);
	for (unsigned q = 0; q < sv.nr_queues; q++)
		put_queue(out, &sv.q[q]);
	if (savebuf_status(out) < 0)
		return errbuf_set(eb, ENOMEM, "vif %u: out of memory for its saved state", nv->index);
	return 0;
}

/* A connected queue's fields, each checked on its own (the rings are checked at the restore). */
static int check_connected_queue(unsigned vif, unsigned q, const struct saved_queue *s, struct errbuf *eb)
{
	const struct netback_ring_state *st = &s->ring;

	if (s->tx_port == 0 || s->tx_port >= XENITH_NR_EVTCHN || s->rx_port == 0 || s->rx_port >= XENITH_NR_EVTCHN)
		return errbuf_set(eb, EPROTO, "vif %u queue %u: event channel %u (tx) / %u (rx) is out of range (1 to "
				  "%u)", vif, q, s->tx_port, s->rx_port, XENITH_NR_EVTCHN - 1);
	if (st->tx_ref < GNTTAB_NR_RESERVED_ENTRIES || st->tx_ref >= MAX_REF || st->rx_ref < GNTTAB_NR_RESERVED_ENTRIES ||
	    st->rx_ref >= MAX_REF || st->tx_ref == st->rx_ref)
		return errbuf_set(eb, EPROTO, "vif %u queue %u: tx-ring-ref %u, rx-ring-ref %u: each ring ref must be "
				  "%u to %u, and the two must differ", vif, q, st->tx_ref, st->rx_ref,
				  GNTTAB_NR_RESERVED_ENTRIES, MAX_REF - 1);
	if (st->broken)
		return 0; /* a stopped queue's indices are whatever stopped it */
	if (st->tx_req_cons != st->tx_rsp_prod_pvt || st->rx_req_cons != st->rx_rsp_prod_pvt)
		return errbuf_set(eb, EPROTO, "vif %u queue %u: TX req_cons %u and rsp_prod_pvt %u, RX req_cons %u and "
				  "rsp_prod_pvt %u: a quiesced queue has answered every request it took, so each pair "
				  "is equal", vif, q, st->tx_req_cons, st->tx_rsp_prod_pvt, st->rx_req_cons,
				  st->rx_rsp_prod_pvt);
	return 0;
}

/* One queue's part of the record; a read past the end is the caller's to report. */
static int parse_queue(struct saveread *rd, unsigned vif, unsigned q, struct saved_queue *s, struct errbuf *eb)
{
	struct netback_ring_state *st = &s->ring;
	uint8_t connected = saveread_u8(rd), flags = saveread_u8(rd);

	s->tx_port = saveread_u32(rd);
	s->rx_port = saveread_u32(rd);
	st->tx_ref = saveread_u32(rd);
	st->rx_ref = saveread_u32(rd);
	st->tx_req_cons = saveread_u32(rd);
	st->tx_rsp_prod_pvt = saveread_u32(rd);
	st->rx_req_cons = saveread_u32(rd);
	st->rx_rsp_prod_pvt = saveread_u32(rd);
	if (rd->bad)
		return 0;
	if (connected > 1 || (flags & ~FLAGS_KNOWN))
		return errbuf_set(eb, EPROTO, "vif %u queue %u: connected %u, flags 0x%x: connected must be 0 or 1, "
				  "flags 0x%x at most", vif, q, connected, flags, FLAGS_KNOWN);
	s->connected = connected;
	st->tx_cut = flags & FLAG_TX_CUT;
	st->broken = flags & FLAG_BROKEN;
	if (!connected) {
		if (flags || s->tx_port || s->rx_port || st->tx_ref || st->rx_ref || st->tx_req_cons ||
		    st->tx_rsp_prod_pvt || st->rx_req_cons || st->rx_rsp_prod_pvt)
			return errbuf_set(eb, EPROTO, "vif %u queue %u is not connected, yet its saved flags, event "
					  "channels, ring refs or indices are not 0", vif, q);
		return 0;
	}
	return check_connected_queue(vif, q, s, eb);
}

/* The record's head: version, queues, MAC, xenbus state, last error. */
static int parse_head(const struct net_vif *nv, struct saveread *rd, size_t len, struct saved_vif *sv,
		      struct errbuf *eb)
{
	unsigned version = saveread_u16(rd);
	const uint8_t *m = sv->mac, *h = nv->mac;
	uint8_t state;

	if (!rd->bad && version != VIF_SAVE_VERSION)
		return errbuf_set(eb, EPROTO, "vif %u: saved state of version %u; this build reads version %u",
				  nv->index, version, VIF_SAVE_VERSION);
	sv->nr_queues = saveread_u16(rd);
	saveread_get(rd, sv->mac, sizeof(sv->mac));
	state = saveread_u8(rd);
	saveread_str(rd, sv->last_error, sizeof(sv->last_error)); /* a failure shows in rd->bad */
	if (rd->bad)
		return errbuf_set(eb, EPROTO, "vif %u: the saved state (%zu bytes) is cut short in its head (version, "
				  "queues, MAC, xenbus state, last error of at most %zu bytes)", nv->index, len,
				  sizeof(sv->last_error) - 1);
	if (sv->nr_queues != nv->nr_queues)
		return errbuf_set(eb, EINVAL, "vif %u was saved with %u queue(s); here it has %u: restore with the "
				  "config (queues=) it was saved with", nv->index, sv->nr_queues, nv->nr_queues);
	if (memcmp(sv->mac, nv->mac, sizeof(sv->mac)))
		return errbuf_set(eb, EINVAL, "vif %u was saved with MAC %02x:%02x:%02x:%02x:%02x:%02x, which its guest "
				  "knows; here it has %02x:%02x:%02x:%02x:%02x:%02x: restore with the config it was "
				  "saved with", nv->index, m[0], m[1], m[2], m[3], m[4], m[5], h[0], h[1], h[2], h[3],
				  h[4], h[5]);
	if (state > XenbusStateReconfigured)
		return errbuf_set(eb, EPROTO, "vif %u: saved xenbus state %u is not a XenbusState", nv->index, state);
	sv->state = (enum xenbus_state)state;
	return 0;
}

/* The record (netdev.h), checked as guest input is, and against this vif's queues and MAC. */
static int parse_saved(const struct net_vif *nv, const void *data, size_t len, struct saved_vif *sv,
		       struct errbuf *eb)
{
	struct saveread rd;
	unsigned connected = 0;
	int r;

	memset(sv, 0, sizeof(*sv));
	saveread_init(&rd, data, len);
	r = parse_head(nv, &rd, len, sv, eb);
	if (r < 0)
		return r;
	for (unsigned q = 0; q < sv->nr_queues; q++) {
		r = parse_queue(&rd, nv->index, q, &sv->q[q], eb);
		if (r < 0)
			return r;
		if (rd.bad)
			return errbuf_set(eb, EPROTO, "vif %u: the saved state (%zu bytes) is cut short in queue %u of %u",
					  nv->index, len, q, sv->nr_queues);
		/* A frontend connects queues 0..n-1 (vif.c): any other pattern is made up. */
		if (sv->q[q].connected && connected != q)
			return errbuf_set(eb, EPROTO, "vif %u: queue %u is saved connected, queue %u not", nv->index, q,
					  connected);
		connected += sv->q[q].connected;
	}
	if (saveread_done(&rd) < 0)
		return errbuf_set(eb, EPROTO, "vif %u: %zu byte(s) after the end of the saved state", nv->index,
				  saveread_left(&rd));
	if ((connected > 0) != (sv->state == XenbusStateConnected))
		return errbuf_set(eb, EPROTO, "vif %u: saved with %u queue(s) connected and xenbus state %u; connected "
				  "queues go with state %u (Connected) and only with it", nv->index, connected,
				  (unsigned)sv->state, XenbusStateConnected);
	return 0;
}

/* Binds the saved channels and attaches the queue's netback to its rings from the saved state; the vifs' lock held. */
static int queue_restore(struct net_vif *nv, unsigned q, const struct saved_queue *s, struct errbuf *eb)
{
	struct net_queue *nq = &nv->q[q];
	const void *tx_page, *rx_page;
	char msg[512];
	int r;

	r = netdev_ring_pages(nq->d, s->ring.tx_ref, s->ring.rx_ref, &tx_page, &rx_page);
	if (r == -XEN_EBUSY)
		return errbuf_set(eb, EINVAL, "vif %u queue %u: tx-ring-ref %u, rx-ring-ref %u: one page for both "
				  "rings, or a page that is another queue's ring already", nv->index, q, s->ring.tx_ref,
				  s->ring.rx_ref);
	if (r < 0)
		return errbuf_set(eb, EINVAL, "vif %u queue %u: tx-ring-ref %u, rx-ring-ref %u: the guest's grant of a "
				  "ring page does not check out in the restored grant table (%s)", nv->index, q,
				  s->ring.tx_ref, s->ring.rx_ref, strerror(-r));
	r = netdev_bind_ports(nq, s->tx_port, s->rx_port);
	if (r < 0)
		return errbuf_set(eb, EINVAL, "vif %u queue %u: event channel %u/%u %s", nv->index, q, s->tx_port,
				  s->rx_port, r == -EBUSY ? "is bound to a backend already (another queue's?)" :
				  "in the restored event-channel table is not an unbound port for the backend's "
				  "domain 0 (the table must be restored first, its backend ports unbound)");
	r = port_tap_set_queue_attached(nq->port, true);
	if (r == 0)
		r = netback_connect_restored(nq->nb, &nq->d->gnttab, &s->ring, netdev_notify_guest, nq, msg,
					     sizeof(msg));
	else
		snprintf(msg, sizeof(msg), "vif %u queue %u: attaching the tap's queue: %s", nv->index, q,
			 strerror(-r));
	if (r < 0) {
		netdev_queue_disconnect(nq);
		return errbuf_set(eb, r == -ENOMEM || r == -EPROTO ? -r : EINVAL, "%s", msg);
	}
	nq->tx_page = tx_page;
	nq->rx_page = rx_page;
	return 0;
}

/* Queues 0..n-1 of a vif whose netbacks run here, all or none. */
static int restore_local(struct net_vif *nv, const struct saved_vif *sv, struct errbuf *eb)
{
	unsigned q = 0;
	int r = 0;

	pthread_mutex_lock(&nv->shared->lock);
	for (unsigned i = 0; i < nv->nr_queues && r == 0; i++)
		if (!nv->q[i].nb || netback_connected(nv->q[i].nb))
			r = errbuf_set(eb, EBUSY, "vif %u queue %u is %s: saved state goes to a vif as a build leaves it",
				       nv->index, i, nv->q[i].nb ? "connected already" : "not open");
	for (; r == 0 && q < sv->nr_queues && sv->q[q].connected; q++) {
		r = queue_restore(nv, q, &sv->q[q], eb);
		if (r < 0)
			break;
	}
	if (r < 0)
		while (q-- > 0)
			netdev_queue_disconnect(&nv->q[q]);
	pthread_mutex_unlock(&nv->shared->lock);
	return r;
}

/* Queues 0..n-1 of a switch vif: the switch attaches its netbacks from the saved states. */
static int restore_switch(struct net_vif *nv, const struct saved_vif *sv, struct errbuf *eb)
{
	uint32_t ports[XENITH_NET_MAX_QUEUES][2];
	struct netback_ring_state st[XENITH_NET_MAX_QUEUES];
	unsigned n = 0;

	while (n < sv->nr_queues && sv->q[n].connected) {
		ports[n][0] = sv->q[n].tx_port;
		ports[n][1] = sv->q[n].rx_port;
		st[n] = sv->q[n].ring;
		n++;
	}
	return n ? swlink_restore(nv->sw, n, ports, st, eb) : 0;
}

static void unrestore(struct net_vif *nv)
{
	if (nv->sw) {
		swlink_disconnect(nv->sw);
		return;
	}
	pthread_mutex_lock(&nv->shared->lock);
	for (unsigned q = 0; q < nv->nr_queues; q++)
		if (nv->q[q].nb)
			netdev_queue_disconnect(&nv->q[q]);
	pthread_mutex_unlock(&nv->shared->lock);
}

/*
 * Takes back netdev_save's record on a freshly built domain's vif (its
 * ports open, its queues not connected), after the guest's memory, event
 * channels and grant table: binds each connected queue's channels,
 * attaches its netback to the rings from the saved indices (quiesced
 * until resume), and sets the xenbus state as it was, all or nothing.
 */
int netdev_restore(struct device *dev, const void *data, size_t len, struct errbuf *eb)
{
	struct net_vif *nv = dev->priv;
	struct saved_vif sv;
	int r;

	r = parse_saved(nv, data, len, &sv, eb);
	if (r < 0)
		return r;
	r = nv->sw ? restore_switch(nv, &sv, eb) : restore_local(nv, &sv, eb);
	if (r < 0)
		return r;
	/* Outside the vifs' lock: the store's watch takes the xenbus lock first, then the vifs'. */
	if (xenbus_be_restore_state(&nv->vif.xb, sv.state, sv.last_error) < 0) {
		unrestore(nv);
		return errbuf_set(eb, EINVAL, "vif %u: saved with xenbus state %u, and this domain %s", nv->index,
				  (unsigned)sv.state, xsdomain_store(dev->d) ? "did not publish the vif" :
				  "has no store (a guest kind without xenstore)");
	}
	return 0;
}
