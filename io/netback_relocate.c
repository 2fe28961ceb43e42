// SPDX-License-Identifier: MIT
/*
 * A netback queue's quiesce, its ring state, and a connect that goes on
 * from a saved state (netback.h): what save, restore and migration need.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "netback_priv.h"

/* One ring's part of netback_check_ring_state. */
static int check_ring(const char *ring, ring_idx_t req_cons, ring_idx_t rsp_prod_pvt, ring_idx_t req_prod,
		      ring_idx_t rsp_prod, ring_idx_t size, char *msg, size_t msglen)
{
	if (req_cons != rsp_prod_pvt) {
		snprintf(msg, msglen, "the saved %s ring has %u request(s) taken and not answered (req_cons %u, "
			 "rsp_prod_pvt %u); a quiesced backend has none", ring, (ring_idx_t)(req_cons - rsp_prod_pvt),
			 req_cons, rsp_prod_pvt);
		return -EPROTO;
	}
	if (rsp_prod != rsp_prod_pvt) {
		snprintf(msg, msglen, "the %s ring's published rsp_prod is %u, not the saved rsp_prod_pvt %u (a "
			 "quiesce publishes every response): the ring page or the saved state is not the one saved",
			 ring, rsp_prod, rsp_prod_pvt);
		return -EPROTO;
	}
	if ((ring_idx_t)(req_prod - req_cons) > size) {
		snprintf(msg, msglen, "the %s ring's req_prod %u is not within %u requests past the saved req_cons %u "
			 "(the ring has %u slots)", ring, req_prod, size, req_cons, size);
		return -EPROTO;
	}
	return 0;
}

int netback_check_ring_state(const struct netback_ring_state *st, ring_idx_t tx_req_prod, ring_idx_t tx_rsp_prod,
			     ring_idx_t rx_req_prod, ring_idx_t rx_rsp_prod, char *msg, size_t msglen)
{
	int r;

	if (st->broken)
		return 0; /* stopped: its rings are never read again, whatever they hold */
	r = check_ring("TX", st->tx_req_cons, st->tx_rsp_prod_pvt, tx_req_prod, tx_rsp_prod, netif_tx_ring_size(),
		       msg, msglen);
	if (r == 0)
		r = check_ring("RX", st->rx_req_cons, st->rx_rsp_prod_pvt, rx_req_prod, rx_rsp_prod,
			       netif_rx_ring_size(), msg, msglen);
	return r;
}

int netback_connect_restored(struct netback *nb, struct grant_table *gt, const struct netback_ring_state *st,
			     void (*notify)(void *opaque, enum netback_ring ring), void *opaque, char *msg,
			     size_t msglen)
{
	const struct netif_tx_sring *ts;
	const struct netif_rx_sring *rs;
	char why[320];
	int r;

	if (nb->running) {
		snprintf(msg, msglen, "vif %u queue %u: connected already", nb->cfg.index, nb->cfg.queue);
		return -EBUSY;
	}
	r = netback_map_rings(nb, gt, st->tx_ref, st->rx_ref);
	if (r < 0) {
		snprintf(msg, msglen, "vif %u queue %u: tx-ring-ref %u, rx-ring-ref %u: the guest's grant of a ring "
			 "page does not check out in the restored grant table (%s)", nb->cfg.index, nb->cfg.queue,
			 st->tx_ref, st->rx_ref, strerror(-r));
		return r;
	}
	/* Guest memory: each index is read once, and only the values read are checked. */
	ts = (const struct netif_tx_sring *)(const void *)nb->tx_map.page;
	rs = (const struct netif_rx_sring *)(const void *)nb->rx_map.page;
	r = netback_check_ring_state(st, __atomic_load_n(&ts->h.req_prod, __ATOMIC_ACQUIRE),
				     __atomic_load_n(&ts->h.rsp_prod, __ATOMIC_RELAXED),
				     __atomic_load_n(&rs->h.req_prod, __ATOMIC_ACQUIRE),
				     __atomic_load_n(&rs->h.rsp_prod, __ATOMIC_RELAXED), why, sizeof(why));
	if (r < 0) {
		snprintf(msg, msglen, "vif %u queue %u: %s", nb->cfg.index, nb->cfg.queue, why);
		grant_unmap(gt, &nb->rx_map);
		grant_unmap(gt, &nb->tx_map);
		return r;
	}
	r = netback_attach(nb, gt, st, notify, opaque);
	if (r < 0)
		snprintf(msg, msglen, "vif %u queue %u: %s", nb->cfg.index, nb->cfg.queue, strerror(-r));
	return r;
}

int netback_quiesce(struct netback *nb, unsigned timeout_ms, char *msg, size_t msglen)
{
	struct timespec until;
	int r = 0;

	if (!nb->running)
		return 0; /* no rings: nothing taken, nothing to take */
	pthread_mutex_lock(&nb->qlock);
	atomic_store(&nb->pause, true);
	if (nb->cfg.no_thread)
		nb->acked = true; /* the caller's netback_run_once calls are the thread, and none is running */
	pthread_mutex_unlock(&nb->qlock);
	if (nb->cfg.no_thread)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	netback_wake(nb); /* it may be asleep: it acks once awake, at the end of no round */
	pthread_mutex_lock(&nb->qlock);
	while (!nb->acked && r == 0)
		r = pthread_cond_timedwait(&nb->qcond, &nb->qlock, &until);
	if (nb->acked) {
		pthread_mutex_unlock(&nb->qlock);
		return 0;
	}
	/* Given up: the thread goes on as before (under qlock, so no ack is lost in between). */
	atomic_store(&nb->pause, false);
	pthread_mutex_unlock(&nb->qlock);
	netback_wake(nb);
	snprintf(msg, msglen, "vif %u queue %u: its backend thread did not finish its round within %u ms, so it "
		 "cannot be quiesced; it goes on serving (a thread the host does not schedule: look at the host's "
		 "load)", nb->cfg.index, nb->cfg.queue, timeout_ms);
	return -ETIMEDOUT;
}

void netback_resume(struct netback *nb)
{
	pthread_mutex_lock(&nb->qlock);
	nb->acked = false;
	atomic_store(&nb->pause, false);
	pthread_mutex_unlock(&nb->qlock);
	/* Requests published, and kicks sent, while quiesced are served now: the thread looks at the rings. */
	if (nb->running && !nb->cfg.no_thread)
		netback_wake(nb);
}

bool netback_quiesced(const struct netback *nb)
{
	struct netback *m = (struct netback *)(uintptr_t)nb; /* the lock only: nothing else is written */
	bool q;

	pthread_mutex_lock(&m->qlock);
	q = nb->running && nb->acked;
	pthread_mutex_unlock(&m->qlock);
	return q;
}

int netback_get_ring_state(const struct netback *nb, struct netback_ring_state *st)
{
	memset(st, 0, sizeof(*st));
	if (!nb->running)
		return -ENOTCONN;
	if (!netback_quiesced(nb))
		return -EBUSY;
	/* The thread wrote these before its ack, which qlock ordered before this read. */
	st->tx_ref = nb->tx_map.ref;
	st->rx_ref = nb->rx_map.ref;
	st->tx_req_cons = nb->tx.req_cons;
	st->tx_rsp_prod_pvt = nb->tx.rsp_prod_pvt;
	st->rx_req_cons = nb->rx.req_cons;
	st->rx_rsp_prod_pvt = nb->rx.rsp_prod_pvt;
	st->tx_cut = nb->tx_cut;
	st->broken = atomic_load(&nb->broken);
	return 0;
}

