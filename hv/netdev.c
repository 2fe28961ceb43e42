// SPDX-License-Identifier: MIT
/* The network device type: one per `vif` key (netdev.h). */
#include "netdev_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <unistd.h>

#include "confine.h"
#include "device.h"
#include "domain.h"
#include "netback.h"
#include "netdev_switch.h"
#include "port_dpdk.h"
#include "port_pair.h"
#include "port_tap.h"
#include "portalloc.h"
#include "vif.h"
#include "xsdomain.h"
#include "xenith/netif.h"

#define SWITCH_STATS_MAX 65536 /* a switch vif's counters from the switch (SWP_TEXT_MAX) */

const struct device_ops vif_device_ops;

struct net_vif *netdev_vif(struct domain *d, unsigned i)
{
	struct device *dev = device_find(d, &vif_device_ops, i);

	return dev ? dev->priv : NULL;
}

static const struct vif_config *config_of(struct domain *d, const struct net_vif *nv)
{
	return &d->cfg.vifs[nv->index];
}

unsigned netdev_count(struct domain *d)
{
	return device_count(d, &vif_device_ops);
}

static uint32_t mode_abi(enum vif_mode m)
{
	switch (m) {
	case VIF_MODE_EXIT: return XENITH_NET_MODE_EXIT;
	case VIF_MODE_POLL: return XENITH_NET_MODE_POLL;
	default: return XENITH_NET_MODE_IOEVENTFD;
	}
}

/* As xl: Xen's OUI 00:16:3e and three random bytes (the top bit clear, as xl's). */
static int make_mac(uint8_t mac[6], unsigned index, struct errbuf *eb)
{
	uint8_t r[3];

	if (getrandom(r, sizeof(r), 0) != sizeof(r))
		return errbuf_set(eb, errno, "vif %u: getrandom for its MAC: %s (give mac= in the vif key)",
				  index, strerror(errno));
	mac[0] = 0x00;
	mac[1] = 0x16;
	mac[2] = 0x3e;
	mac[3] = r[0] & 0x7f;
	mac[4] = r[1];
	mac[5] = r[2];
	return 0;
}

/* The vif's ports, one per queue: a tap's queues, or ends of in-memory pairs. */
static int open_ports(struct net_vif *nv, const struct vif_config *vc, struct errbuf *eb)
{
	struct net_port *ports[XENITH_NET_MAX_QUEUES] = { 0 };
	char msg[512];
	int r;

	if (vc->port == VIF_PORT_TAP) {
		struct port_tap_config tc = { .ifname = vc->port_name, .queues = nv->nr_queues,
					      .bridge = vc->bridge, .netns = vc->netns };

		r = port_tap_open(&tc, ports, msg, sizeof(msg));
		if (r < 0)
			return errbuf_set(eb, -r, "vif %u: %s", nv->index, msg);
	} else if (vc->port == VIF_PORT_DPDK) {
		r = port_dpdk_open(vc->dpdk_args, nv->nr_queues, ports, msg, sizeof(msg));
		if (r < 0)
			return errbuf_set(eb, -r, "vif %u: %s", nv->index, msg);
	} else {
		for (unsigned q = 0; q < nv->nr_queues; q++) {
			char name[48];

			/* Queue q of pair:NAME is the pair "NAME" (q = 0) or "NAME.q": one pair per queue. */
			if (q)
				snprintf(name, sizeof(name), "%s.%u", vc->port_name, q);
			else
				snprintf(name, sizeof(name), "%s", vc->port_name);
			r = port_pair_open(name, &ports[q]);
			if (r < 0) {
				for (unsigned k = 0; k < q; k++)
					ports[k]->ops->close(ports[k]);
				return errbuf_set(eb, -r, "vif %u: port=pair:%s: %s", nv->index, vc->port_name,
						  r == -EBUSY ? "both ends of that pair are taken (a pair joins two "
						  "vifs)" : strerror(-r));
			}
		}
	}
	for (unsigned q = 0; q < nv->nr_queues; q++)
		nv->q[q].port = ports[q];
	return 0;
}

static int vif_create(struct domain *d, const struct domain_opts *opts, struct errbuf *eb)
{
	struct net_shared *shared;

	if (!d->cfg.nr_vifs)
		return 0;
	shared = calloc(1, sizeof(*shared));
	if (!shared)
		return errbuf_set(eb, ENOMEM, "out of memory for the vifs");
	pthread_mutex_init(&shared->lock, NULL);
	for (unsigned i = 0; i < d->cfg.nr_vifs; i++) {
		const struct vif_config *vc = &d->cfg.vifs[i];
		struct net_vif *nv = calloc(1, sizeof(*nv));
		struct device *dev;
		char owner[40];
		int r;

		if (!nv)
			r = errbuf_set(eb, ENOMEM, "out of memory for vif %u", i);
		else
			r = device_add(d, &vif_device_ops, nv, &dev, eb);
		if (r < 0) {
			free(nv);
			if (!shared->refs) {
				pthread_mutex_destroy(&shared->lock);
				free(shared);
			}
			return r;
		}
		nv->shared = shared;
		shared->refs++;
		nv->index = i;
		nv->nr_queues = vc->queues ? vc->queues : 1;
		nv->takeover = opts && opts->migrating_in;
		if (vc->mac_set) {
			memcpy(nv->mac, vc->mac, sizeof(nv->mac));
		} else {
			r = make_mac(nv->mac, i, eb);
			if (r < 0)
				return r;
			/*
			 * The domain's config names it from now on: a save writes
			 * the config, and the restore's vif must have the MAC the
			 * guest knows (its store says it, and netback passes only
			 * frames from it).
			 */
			memcpy(d->cfg.vifs[i].mac, nv->mac, sizeof(nv->mac));
			d->cfg.vifs[i].mac_set = true;
		}
		if (vc->port == VIF_PORT_DPDK) {
			char msg[512];

			/* One EAL per process: the settings of the first domain that opens a dpdk port. */
			r = port_dpdk_eal_configure(d->cfg.dpdk_hugepages, d->cfg.dpdk_eal_args, msg, sizeof(msg));
			if (r < 0)
				return errbuf_set(eb, -r, "vif %u: %s", i, msg);
		}
		if (vc->port == VIF_PORT_SWITCH) /* the socket now, before the filters; the vif at connect */
			r = swlink_open(i, vc->port_name, &nv->sw, eb);
		else
			r = open_ports(nv, vc, eb);
		if (r < 0)
			return r;
		if (vc->mode != VIF_MODE_IOEVENTFD)
			continue;
		snprintf(owner, sizeof(owner), "%s doorbell", dev->name);
		r = port_space_alloc(d->ports, 4, 4, owner, &nv->doorbell, eb);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * As for disks (blkdev.c): a poll-mode queue's thread spins, and with more
 * spinners and vCPUs than CPUs they take turns by time slices.
 */
static void warn_poll_oversubscribed(struct domain *d)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned spinners = 0;

	for (unsigned i = 0; i < netdev_count(d); i++)
		if (d->cfg.vifs[i].mode == VIF_MODE_POLL)
			spinners += netdev_vif(d, i)->nr_queues;
	if (!spinners || cpus <= 0 || spinners + d->nr_vcpus <= (unsigned long)cpus)
		return;
	fprintf(stderr, "xenith: warning: vif mode=poll: %u backend thread(s) that spin and %u vCPU(s) on %ld "
		"CPU(s); poll mode needs a CPU for each, else it is slower than ioeventfd (fewer "
		"queues=, fewer vCPUs, or mode=ioeventfd)\n", spinners, d->nr_vcpus, cpus);
}

static int vif_connect(struct device *dev, struct errbuf *eb)
{
	struct domain *d = dev->d;
	struct net_vif *nv = dev->priv;
	const struct vif_config *vc = config_of(d, nv);

	if (vc->port == VIF_PORT_SWITCH) {
		/* Guest memory exists now: the switch gets it, and runs the queues (netdev_switch.h). */
		int r = swlink_attach(nv->sw, d, nv->mac, nv->nr_queues, mode_abi(vc->mode), nv->takeover, eb);

		if (r < 0)
			return r;
		nv->takeover = false; /* a reboot's attach is an ordinary one */
	}
	for (unsigned q = 0; q < nv->nr_queues; q++) {
		struct netback_config nc = {
			.index = nv->index, .queue = q, .mode = mode_abi(vc->mode), .port = nv->q[q].port,
			.thread_init = confine_backend_thread,
		};
		struct net_queue *nq = &nv->q[q];
		char msg[256];
		int r;

		memcpy(nc.mac, nv->mac, sizeof(nc.mac));
		nq->d = d;
		r = nv->sw ? 0 : netback_open(&nc, &nq->nb, msg, sizeof(msg)); /* a switch runs its own */
		if (r < 0)
			return errbuf_set(eb, -r, "vif %u queue %u: %s", nv->index, q, msg);
		if (vc->mode == VIF_MODE_IOEVENTFD && !d->unbacked) {
			/* One port per vif; the value written says which queue (both rings). */
			struct kvm_ioeventfd io = {
				.datamatch = q, .addr = nv->doorbell, .len = 4,
				.fd = nv->sw ? swlink_kick_fd(nv->sw, q) : netback_kick_fd(nq->nb),
				.flags = KVM_IOEVENTFD_FLAG_PIO | KVM_IOEVENTFD_FLAG_DATAMATCH,
			};

			if (ioctl(d->vm_fd, KVM_IOEVENTFD, &io) < 0)
				return errbuf_set(eb, errno, "vif %u queue %u: KVM_IOEVENTFD on port 0x%llx: %s",
						  nv->index, q, (unsigned long long)io.addr, strerror(errno));
		}
	}
	if (nv->index + 1 == netdev_count(d))
		warn_poll_oversubscribed(d); /* once per build, when every vif is open */
	/* Discovery: the vif's directories in the domain's store (Linux guests have none yet). */
	return xsdomain_store(d) ? vif_publish(&nv->vif, d, xsdomain_store(d), nv->index, eb) : 0;
}

void netdev_queue_disconnect(struct net_queue *nq)
{
	int kick = netback_kick_fd(nq->nb);

	netback_disconnect(nq->nb);
	port_tap_set_queue_attached(nq->port, false); /* nobody serves it: the tap's other queues get its flows */
	if (nq->tx_evtchn)
		evtchn_backend_unbind(nq->d, nq->tx_evtchn, kick);
	if (nq->rx_evtchn && nq->rx_evtchn != nq->tx_evtchn)
		evtchn_backend_unbind(nq->d, nq->rx_evtchn, kick);
	nq->tx_evtchn = nq->rx_evtchn = 0;
	nq->tx_page = nq->rx_page = NULL;
}

static void vif_disconnect(struct device *dev)
{
	struct net_vif *nv = dev->priv;

	vif_unpublish(&nv->vif); /* no vCPU runs: no store watch is in flight */
	swlink_detach(nv->sw); /* a rebuild attaches again, on the same connection */
	pthread_mutex_lock(&nv->shared->lock);
	for (unsigned q = 0; q < nv->nr_queues; q++) {
		struct net_queue *nq = &nv->q[q];

		if (!nq->nb)
			continue;
		netdev_queue_disconnect(nq);
		netback_close(nq->nb);
		nq->nb = NULL;
	}
	pthread_mutex_unlock(&nv->shared->lock);
}

static void vif_destroy(struct device *dev)
{
	struct net_vif *nv = dev->priv;

	if (!nv)
		return;
	for (unsigned q = 0; q < XENITH_NET_MAX_QUEUES; q++)
		if (nv->q[q].port)
			nv->q[q].port->ops->close(nv->q[q].port);
	swlink_close(nv->sw); /* the switch detaches the vif */
	if (nv->doorbell)
		port_space_release(dev->d->ports, nv->doorbell);
	if (nv->shared && --nv->shared->refs == 0) {
		pthread_mutex_destroy(&nv->shared->lock);
		free(nv->shared);
	}
	free(nv);
}

/* Moves *n past what a snprintf into the rest of the buffer wrote (past size if it did not fit). */
static void put(size_t size, size_t *n, int k)
{
	*n += k < 0 ? size : (size_t)k;
}

#define PUT(...) do { if (n < size) put(size, &n, snprintf(buf + n, size - n, __VA_ARGS__)); } while (0)

/*
 * A vif's stats for `xenith devices`: its configuration, its store state,
 * the sums of its queues' counters (drops by reason as drop_REASON), and
 * each queue with netback's counters and its port's.
 */
static int vif_stats_json(struct device *dev, char *buf, size_t size)
{
	struct domain *d = dev->d;
	struct net_vif *nv = dev->priv;
	const struct vif_config *vc = config_of(d, nv);
	struct netback_stats sum = { 0 };
	unsigned connected = 0;
	char *swbuf = NULL;
	size_t n = 0;

	pthread_mutex_lock(&nv->shared->lock);
	for (unsigned q = 0; q < nv->nr_queues; q++) {
		struct netback_stats st;

		if (!nv->q[q].nb)
			continue;
		netback_get_stats(nv->q[q].nb, &st);
		connected += st.connected;
		sum.tx_packets += st.tx_packets;
		sum.tx_bytes += st.tx_bytes;
		sum.rx_packets += st.rx_packets;
		sum.rx_bytes += st.rx_bytes;
		sum.csum_filled += st.csum_filled;
		sum.broken |= st.broken;
		for (unsigned k = 1; k < NETBACK_DROP_NR; k++)
			sum.drops[k] += st.drops[k];
	}
	if (nv->sw) {
		/* the switch runs the queues: its netbacks' counters are the vif's */
		swbuf = malloc(SWITCH_STATS_MAX);
		if (swbuf && swlink_stats_json(nv->sw, &sum, swbuf, SWITCH_STATS_MAX) < 0)
			swbuf[0] = 0;
		connected = swlink_connected(nv->sw);
	}
	PUT("{\"vif\":%u,\"mac\":\"%02x:%02x:%02x:%02x:%02x:%02x\",\"port\":\"%s:%s\",\"mode\":\"%s\","
	    "\"doorbell_port\":%u,\"queues\":%u,\"queues_connected\":%u,\"xenbus_state\":%d,\"connects\":%llu,"
	    "\"broken\":%s,\"tx_packets\":%llu,\"tx_bytes\":%llu,\"rx_packets\":%llu,\"rx_bytes\":%llu,"
	    "\"csum_filled\":%llu",
	    nv->index, nv->mac[0], nv->mac[1], nv->mac[2], nv->mac[3], nv->mac[4], nv->mac[5],
	    vif_port_name(vc->port), vc->port_name, vif_mode_name(vc->mode), nv->doorbell, nv->nr_queues,
	    connected, atomic_load(&nv->vif.xb.state), (unsigned long long)atomic_load(&nv->vif.xb.nr_connects),
	    sum.broken ? "true" : "false", (unsigned long long)sum.tx_packets,
	    (unsigned long long)sum.tx_bytes, (unsigned long long)sum.rx_packets,
	    (unsigned long long)sum.rx_bytes, (unsigned long long)sum.csum_filled);
	for (unsigned k = 1; k < NETBACK_DROP_NR; k++)
		PUT(",\"drop_%s\":%llu", netback_drop_name((enum netback_drop)k),
		    (unsigned long long)sum.drops[k]);
	if (swbuf && swbuf[0])
		PUT(",%s", swbuf);
	PUT(",\"per_queue\":[");
	for (unsigned q = 0; q < nv->nr_queues; q++) {
		struct net_port *p = nv->q[q].port;

		PUT("%s{\"queue\":%u,", q ? "," : "", q);
		if (nv->q[q].nb && n < size) {
			int k = netback_stats_json(nv->q[q].nb, buf + n, size - n);

			put(size, &n, k);
			PUT(",");
		}
		PUT("\"port\":{");
		if (p && p->ops->stats_json && n < size) {
			int k = p->ops->stats_json(p, buf + n, size - n);

			put(size, &n, k);
		}
		PUT("}}");
	}
	PUT("]}");
	pthread_mutex_unlock(&nv->shared->lock);
	free(swbuf);
	return n < size ? (int)n : -1;
}

#undef PUT

int netdev_get_stats(struct domain *d, unsigned vif, unsigned queue, struct netback_stats *st)
{
	struct net_vif *nv = netdev_vif(d, vif);
	int r = -ENOENT;

	if (!nv)
		return r;
	pthread_mutex_lock(&nv->shared->lock);
	if (queue < nv->nr_queues && nv->q[queue].nb) {
		netback_get_stats(nv->q[queue].nb, st);
		r = 0;
	}
	pthread_mutex_unlock(&nv->shared->lock);
	return r;
}

struct netback *netdev_queue(struct domain *d, unsigned vif, unsigned queue)
{
	struct net_vif *nv = netdev_vif(d, vif);

	return nv && queue < nv->nr_queues ? nv->q[queue].nb : NULL;
}

void netdev_info(struct domain *d, unsigned index, struct netdev_info *info)
{
	struct net_vif *nv = netdev_vif(d, index);

	memset(info, 0, sizeof(*info));
	if (!nv)
		return;
	memcpy(info->mac, nv->mac, sizeof(info->mac));
	info->nr_queues = nv->nr_queues;
	info->doorbell_port = nv->doorbell;
	info->mode = vif_mode_name(config_of(d, nv)->mode);
}

/* Queue nq's netback's notify: responses on ring r; the guest hears it on that ring's channel. */
void netdev_notify_guest(void *opaque, enum netback_ring ring)
{
	struct net_queue *nq = opaque;
	uint32_t port = ring == NETBACK_RING_TX ? nq->tx_evtchn : nq->rx_evtchn;

	evtchn_backend_notify(nq->d, port, netback_kick_fd(nq->nb));
}

/* True when page is a ring of a connected queue of any of d's vifs; the vifs' lock held. */
static bool ring_page_used(struct domain *d, const void *page)
{
	for (unsigned i = 0; i < netdev_count(d); i++) {
		const struct net_vif *nv = netdev_vif(d, i);

		for (unsigned q = 0; q < nv->nr_queues; q++)
			if (nv->q[q].tx_page == page || nv->q[q].rx_page == page)
				return true;
	}
	return false;
}

int netdev_ring_pages(struct domain *d, grant_ref_t tx_ref, grant_ref_t rx_ref, const void **tx_page,
		      const void **rx_page)
{
	struct grant_map tx, rx;
	int r;

	/*
	 * One page is one ring: the TX and RX pages must differ, and neither
	 * may be a ring of another connected queue (two backends would consume
	 * its requests).  A guest that swaps an entry's frame after this check
	 * fools only itself.
	 */
	r = grant_map(&d->gnttab, tx_ref, true, &tx);
	if (r < 0)
		return r; /* -errno values are Xen's */
	r = grant_map(&d->gnttab, rx_ref, true, &rx);
	if (r < 0) {
		grant_unmap(&d->gnttab, &tx);
		return r;
	}
	*tx_page = tx.page; /* kept as the ring's identity (grant_unmap clears the map) */
	*rx_page = rx.page;
	if (*tx_page == *rx_page || ring_page_used(d, *tx_page) || ring_page_used(d, *rx_page))
		r = -XEN_EBUSY;
	grant_unmap(&d->gnttab, &rx);
	grant_unmap(&d->gnttab, &tx);
	return r;
}

int netdev_bind_ports(struct net_queue *nq, uint32_t tx_port, uint32_t rx_port)
{
	int kick = netback_kick_fd(nq->nb);
	int r = evtchn_backend_bind(nq->d, tx_port, kick);

	if (r < 0)
		return r;
	if (rx_port != tx_port) {
		r = evtchn_backend_bind(nq->d, rx_port, kick);
		if (r < 0) {
			evtchn_backend_unbind(nq->d, tx_port, kick);
			return r;
		}
	}
	nq->tx_evtchn = tx_port;
	nq->rx_evtchn = rx_port;
	return 0;
}

static long queue_connect(struct net_queue *nq, const struct netdev_ring_refs *rr)
{
	const void *tx_page, *rx_page;
	long r;

	if (netback_connected(nq->nb))
		return -XEN_EBUSY;
	r = netdev_ring_pages(nq->d, rr->tx_ref, rr->rx_ref, &tx_page, &rx_page);
	if (r == 0)
		r = netdev_bind_ports(nq, rr->tx_port, rr->rx_port);
	if (r < 0)
		return r;
	r = port_tap_set_queue_attached(nq->port, true); /* a multi-queue tap's frames come here too now */
	if (r == 0)
		r = netback_connect(nq->nb, &nq->d->gnttab, rr->tx_ref, rr->rx_ref, netdev_notify_guest, nq);
	if (r == 0) {
		nq->tx_page = tx_page;
		nq->rx_page = rx_page;
	} else {
		netdev_queue_disconnect(nq); /* the tap's queue and the channels; netback was not connected */
	}
	return r;
}

int netdev_connect_rings(struct domain *d, unsigned index, unsigned nq, const struct netdev_ring_refs *refs,
			 char *msg, size_t msglen)
{
	struct net_vif *nv = netdev_vif(d, index);
	long r = 0;
	unsigned q;

	if (!nv || nq == 0 || nq > nv->nr_queues) {
		snprintf(msg, msglen, "vif %u has %u queue(s), not %u", index, nv ? nv->nr_queues : 0, nq);
		return -EINVAL;
	}
	if (nv->sw)
		return swlink_connect(nv->sw, nq, refs, msg, msglen);
	pthread_mutex_lock(&nv->shared->lock);
	for (q = 0; q < nq; q++) {
		r = nv->q[q].nb ? queue_connect(&nv->q[q], &refs[q]) : -ENODEV;
		if (r < 0)
			break;
	}
	if (r < 0) {
		/* Xen's errno values are Linux's (abi.h). */
		snprintf(msg, msglen, "queue %u (tx-ring-ref %u, rx-ring-ref %u, event-channel %u/%u): %s (%s)",
			 q, refs[q].tx_ref, refs[q].rx_ref, refs[q].tx_port, refs[q].rx_port,
			 strerror((int)-r),
			 r == -XEN_EBUSY ? "a ring page is in use already (one page per ring), or a port is" :
			 r == -XEN_EINVAL ? "a port is not an unbound port for domain 0" :
			 "a ring's grant does not check out, grant_table.h");
		while (q-- > 0)
			netdev_queue_disconnect(&nv->q[q]);
	}
	pthread_mutex_unlock(&nv->shared->lock);
	return (int)r;
}

void netdev_disconnect_rings(struct domain *d, unsigned index)
{
	struct net_vif *nv = netdev_vif(d, index);

	if (!nv)
		return;
	if (nv->sw)
		swlink_disconnect(nv->sw);
	pthread_mutex_lock(&nv->shared->lock);
	for (unsigned q = 0; q < nv->nr_queues; q++)
		if (nv->q[q].nb)
			netdev_queue_disconnect(&nv->q[q]);
	pthread_mutex_unlock(&nv->shared->lock);
}

const struct device_ops vif_device_ops = {
	.type = "vif",
	.create = vif_create,
	.connect = vif_connect,
	.disconnect = vif_disconnect,
	.quiesce = netdev_quiesce,
	.resume = netdev_resume,
	.save = netdev_save,
	.restore = netdev_restore,
	.check_save = netdev_check_save,
	.stats_json = vif_stats_json,
	.destroy = vif_destroy,
};
