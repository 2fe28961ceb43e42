// SPDX-License-Identifier: MIT
/* netfront: the guest side of a vif (guest/netfront.h has the keys and the states). */
#include "netfront.h"

#include "hypercall.h"
#include "xenbus.h"
#include "xenbus_fe.h"

static void fe_dir(unsigned index, char *buf, size_t size)
{
	snprintf(buf, size, "device/vif/%u", index);
}

static int backend_dir(unsigned index, char *be, size_t size)
{
	char fe[64];

	fe_dir(index, fe, sizeof(fe));
	return xbfe_backend_dir(fe, be, size);
}

static bool parse_mac(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++, s += 3) {
		unsigned v = 0;

		for (int k = 0; k < 2; k++) {
			char c = s[k];

			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v |= (unsigned)(c - 'a' + 10);
			else if (c >= 'A' && c <= 'F')
				v |= (unsigned)(c - 'A' + 10);
			else
				return false;
		}
		if (s[2] != (i < 5 ? ':' : 0))
			return false;
		mac[i] = (uint8_t)v;
	}
	return true;
}

int netfront_info(unsigned index, struct netfront_info *info)
{
	char be[128], p[160], v[32];
	uint64_t n;
	int r;

	memset(info, 0, sizeof(*info));
	r = backend_dir(index, be, sizeof(be));
	if (r < 0)
		return r;
	snprintf(p, sizeof(p), "%s/mac", be);
	if ((r = xenbus_read(XBT_NIL, p, v, sizeof(v))) < 0)
		return r;
	if (!parse_mac(v, info->mac)) {
		printf("netfront: %s is '%s', not a MAC address\n", p, v);
		return -XEN_EINVAL;
	}
	if (!xbfe_read_flag(be, "feature-rx-copy")) {
		printf("netfront: %s offers no feature-rx-copy (page flipping is not supported)\n", be);
		return -XEN_EOPNOTSUPP;
	}
	info->sg = xbfe_read_flag(be, "feature-sg");
	info->gso_tcpv4 = xbfe_read_flag(be, "feature-gso-tcpv4");
	info->no_csum_offload = xbfe_read_flag(be, "feature-no-csum-offload");
	info->nr_queues = xbfe_read_u64(be, "multi-queue-max-queues", &n) == 0 && n ? (uint32_t)n : 1;
	if (xbfe_read_u64(be, "xenith-doorbell", &n) == 0)
		info->doorbell_port = (uint32_t)n;
	snprintf(p, sizeof(p), "%s/xenith-notify", be);
	info->mode = XENITH_NET_MODE_EXIT; /* a backend that does not say: event channels, as Xen */
	if (xenbus_read(XBT_NIL, p, v, sizeof(v)) >= 0) {
		if (!strcmp(v, "ioeventfd"))
			info->mode = XENITH_NET_MODE_IOEVENTFD;
		else if (!strcmp(v, "poll"))
			info->mode = XENITH_NET_MODE_POLL;
	}
	return 0;
}

struct vif_keys {
	const char *fe;
	unsigned nq;
	const uint32_t *tx_refs, *rx_refs, *ports;
};

static int write_vif_keys(xenbus_transaction_t xbt, void *ctx)
{
	const struct vif_keys *k = ctx;
	char key[48];
	int r = xbfe_write_u(xbt, k->fe, "multi-queue-num-queues", k->nq);

	for (unsigned q = 0; q < k->nq && r == 0; q++) {
		const char *pre = "";
		char qdir[16];

		if (k->nq > 1) {
			snprintf(qdir, sizeof(qdir), "queue-%u/", q);
			pre = qdir;
		}
		snprintf(key, sizeof(key), "%stx-ring-ref", pre);
		r = xbfe_write_u(xbt, k->fe, key, k->tx_refs[q]);
		snprintf(key, sizeof(key), "%srx-ring-ref", pre);
		if (r == 0)
			r = xbfe_write_u(xbt, k->fe, key, k->rx_refs[q]);
		snprintf(key, sizeof(key), "%sevent-channel", pre);
		if (r == 0)
			r = xbfe_write_u(xbt, k->fe, key, k->ports[q]);
	}
	if (r == 0)
		r = xbfe_write_u(xbt, k->fe, "request-rx-copy", 1);
	if (r == 0)
		r = xbfe_write_u(xbt, k->fe, "feature-rx-notify", 1);
	if (r == 0)
		r = xbfe_write_u(xbt, k->fe, "feature-sg", 0);
	if (r == 0)
		r = xbfe_write_u(xbt, k->fe, "feature-gso-tcpv4", 0);
	if (r == 0)
		r = xbfe_write_u(xbt, k->fe, "feature-no-csum-offload", 1);
	if (r == 0)
		r = xbfe_write_u(xbt, k->fe, "state", XenbusStateConnected);
	return r;
}

int netfront_connect_rings(unsigned index, unsigned nq, const uint32_t *tx_refs, const uint32_t *rx_refs,
			   const uint32_t *ports)
{
	char fe[64], be[128], what[32];
	struct vif_keys k = { .fe = fe, .nq = nq, .tx_refs = tx_refs, .rx_refs = rx_refs, .ports = ports };
	int r;

	fe_dir(index, fe, sizeof(fe));
	r = backend_dir(index, be, sizeof(be));
	if (r < 0)
		return r;
	r = xbfe_wait_backend("netfront", be, XenbusStateInitWait);
	if (r < 0)
		return r;
	r = xbfe_publish(write_vif_keys, &k);
	if (r < 0)
		return r;
	r = xbfe_wait_backend("netfront", be, XenbusStateConnected);
	if (r == -XEN_EIO) {
		snprintf(what, sizeof(what), "vif %u", index);
		return xbfe_refused("netfront", what, fe, be);
	}
	return r;
}

static void release_queue(struct netfront *nf)
{
	if (nf->port)
		evtchn_close(nf->port);
	nf->port = 0;
	/* A page whose grant the backend still holds stays allocated: freeing it would hand it over. */
	for (unsigned i = 0; i < NETFRONT_TX_BUFS / 2; i++)
		if (nf->tx_pages[i] && gnttab_end_access(nf->tx_grefs[i])) {
			gnttab_free(nf->tx_grefs[i]);
			free_pages(nf->tx_pages[i], 1);
			nf->tx_pages[i] = NULL;
		}
	for (unsigned i = 0; i < NETFRONT_RX_BUFS; i++)
		if (nf->rx_pages[i] && gnttab_end_access(nf->rx_grefs[i])) {
			gnttab_free(nf->rx_grefs[i]);
			free_pages(nf->rx_pages[i], 1);
			nf->rx_pages[i] = NULL;
		}
	if (nf->tx_sring && gnttab_end_access(nf->tx_ring_ref)) {
		gnttab_free(nf->tx_ring_ref);
		free_pages(nf->tx_sring, 1);
		nf->tx_sring = NULL;
	}
	if (nf->rx_sring && gnttab_end_access(nf->rx_ring_ref)) {
		gnttab_free(nf->rx_ring_ref);
		free_pages(nf->rx_sring, 1);
		nf->rx_sring = NULL;
	}
}

static int grant_page(void *page, bool readonly)
{
	return gnttab_grant(XENITH_BACKEND_DOMID, (uint64_t)(uintptr_t)page / XENITH_PAGE_SIZE, readonly);
}

/* Rings, buffers and the port of one queue. */
static int setup_queue(struct netfront *nf, unsigned index, unsigned q, const struct netfront_info *info)
{
	int ref;

	memset(nf, 0, sizeof(*nf));
	nf->index = index;
	nf->queue = q;
	nf->info = *info;
	nf->tx_sring = alloc_pages(1);
	nf->rx_sring = alloc_pages(1);
	if (!nf->tx_sring || !nf->rx_sring)
		return -XEN_ENOMEM;
	netif_tx_sring_init(nf->tx_sring);
	netif_rx_sring_init(nf->rx_sring);
	netif_tx_front_init(&nf->tx, nf->tx_sring);
	netif_rx_front_init(&nf->rx, nf->rx_sring);
	if ((ref = grant_page(nf->tx_sring, false)) < 0)
		return ref;
	nf->tx_ring_ref = (uint32_t)ref;
	if ((ref = grant_page(nf->rx_sring, false)) < 0)
		return ref;
	nf->rx_ring_ref = (uint32_t)ref;
	for (unsigned i = 0; i < NETFRONT_TX_BUFS / 2; i++) {
		if (!(nf->tx_pages[i] = alloc_pages(1)))
			return -XEN_ENOMEM;
		if ((ref = grant_page(nf->tx_pages[i], true)) < 0)
			return ref;
		nf->tx_grefs[i] = (uint32_t)ref;
	}
	for (unsigned i = 0; i < NETFRONT_TX_BUFS; i++)
		nf->tx_free[i] = (uint16_t)(NETFRONT_TX_BUFS - 1 - i);
	nf->tx_nfree = NETFRONT_TX_BUFS;
	for (unsigned i = 0; i < NETFRONT_RX_BUFS; i++) {
		if (!(nf->rx_pages[i] = alloc_pages(1)))
			return -XEN_ENOMEM;
		if ((ref = grant_page(nf->rx_pages[i], false)) < 0)
			return ref;
		nf->rx_grefs[i] = (uint32_t)ref;
	}
	ref = evtchn_alloc_unbound(XENITH_BACKEND_DOMID);
	if (ref < 0)
		return ref;
	nf->port = (uint32_t)ref;
	return 0;
}

/* Posts RX requests until the ring holds NETFRONT_RX_BUFS (or the ring's size) of them. */
static void rx_refill(struct netfront *nf)
{
	bool any = false;

	while (netif_rx_front_free_slots(&nf->rx) > 0 &&
	       (ring_idx_t)(nf->rx.req_prod_pvt - nf->rx.rsp_cons) < NETFRONT_RX_BUFS) {
		struct netif_rx_request *req = netif_rx_front_next_req(&nf->rx);
		uint16_t id = (uint16_t)(nf->rx.req_prod_pvt % NETFRONT_RX_BUFS);

		req->id = id;
		req->pad = 0;
		req->gref = nf->rx_grefs[id];
		nf->rx.req_prod_pvt++;
		any = true;
	}
	/* feature-rx-notify: the backend asks (req_event) when it ran out of buffers. */
	if (any && netif_rx_front_push(&nf->rx))
		netfront_kick(nf);
}

int netfront_connect_queues(struct netfront *nfs, unsigned index, unsigned nq, bool post_rx)
{
	struct netfront_info info;
	uint32_t tx_refs[XENITH_NET_MAX_QUEUES], rx_refs[XENITH_NET_MAX_QUEUES], ports[XENITH_NET_MAX_QUEUES];
	unsigned q;
	int r;

	r = netfront_info(index, &info);
	if (r < 0)
		return r;
	if (nq == 0 || nq > info.nr_queues || nq > XENITH_NET_MAX_QUEUES)
		return -XEN_EINVAL;
	for (q = 0; q < nq; q++) {
		r = setup_queue(&nfs[q], index, q, &info);
		if (r < 0) {
			q++;
			goto release;
		}
		tx_refs[q] = nfs[q].tx_ring_ref;
		rx_refs[q] = nfs[q].rx_ring_ref;
		ports[q] = nfs[q].port;
		nfs[q].rx_posting = post_rx;
	}
	/* RX buffers are there before the backend looks (Xen's netfront posts them before Connected too). */
	for (q = 0; q < nq; q++)
		if (post_rx) {
			struct netfront *nf = &nfs[q];

			while ((ring_idx_t)(nf->rx.req_prod_pvt) < NETFRONT_RX_BUFS) {
				struct netif_rx_request *req = netif_rx_front_next_req(&nf->rx);

				req->id = (uint16_t)nf->rx.req_prod_pvt;
				req->pad = 0;
				req->gref = nf->rx_grefs[req->id];
				nf->rx.req_prod_pvt++;
			}
			netif_rx_front_push(&nf->rx); /* not connected yet: nobody to kick */
		}
	r = netfront_connect_rings(index, nq, tx_refs, rx_refs, ports);
	if (r == 0)
		return 0;
	q = nq;
release:
	while (q--)
		release_queue(&nfs[q]);
	return r;
}

int netfront_connect(struct netfront *nf, unsigned index)
{
	return netfront_connect_queues(nf, index, 1, true);
}

int netfront_disconnect_vif(unsigned index)
{
	char fe[64], be[128];
	int r = backend_dir(index, be, sizeof(be));

	fe_dir(index, fe, sizeof(fe));
	return r < 0 ? r : xbfe_reset("netfront", fe, be);
}

int netfront_disconnect(struct netfront *nfs, unsigned nq)
{
	int r = netfront_disconnect_vif(nfs[0].index);

	for (unsigned q = 0; q < nq; q++)
		release_queue(&nfs[q]);
	return r;
}

void netfront_kick(struct netfront *nf)
{
	nf->st.kicks++;
	switch (nf->info.mode) {
	case XENITH_NET_MODE_IOEVENTFD:
		/* The value says which of the vif's queues. */
		__asm__ volatile("outl %0, %w1" : : "a"(nf->queue), "Nd"((uint16_t)nf->info.doorbell_port));
		break;
	default:
		/* exit; poll: only when the backend asked, i.e. it fell asleep after an idle spell */
		evtchn_send(nf->port);
		break;
	}
}

unsigned netfront_tx_reap(struct netfront *nf)
{
	ring_idx_t n = netif_tx_front_pending_rsps(&nf->tx);
	unsigned done = 0;

	/* More than we have in flight: a broken backend; take what we sent at most. */
	if (n > (ring_idx_t)(nf->tx.req_prod_pvt - nf->tx.rsp_cons)) {
		nf->st.bad_responses++;
		n = (ring_idx_t)(nf->tx.req_prod_pvt - nf->tx.rsp_cons);
	}
	for (; n; n--, done++) {
		struct netif_tx_response rsp;

		netif_tx_front_take_rsp(&nf->tx, &rsp);
		if (rsp.status == NETIF_RSP_NULL)
			continue; /* an extra-info slot's */
		if (rsp.id >= NETFRONT_TX_BUFS || !nf->tx_busy[rsp.id]) {
			nf->st.bad_responses++;
			continue;
		}
		if (rsp.status != NETIF_RSP_OKAY)
			nf->st.tx_errors++;
		nf->tx_busy[rsp.id] = false;
		nf->tx_free[nf->tx_nfree++] = rsp.id;
	}
	return done;
}

int netfront_send_flags(struct netfront *nf, const uint8_t *frame, size_t len, uint16_t flags)
{
	struct netif_tx_request *req;
	uint16_t id;

	if (len < 14 || len > NETFRONT_TX_BUF_SIZE)
		return -XEN_EINVAL;
	if (!nf->tx_nfree || !netif_tx_front_free_slots(&nf->tx))
		netfront_tx_reap(nf);
	if (!nf->tx_nfree || !netif_tx_front_free_slots(&nf->tx)) {
		nf->st.tx_full++;
		return -XEN_ENOSPC;
	}
	id = nf->tx_free[--nf->tx_nfree];
	nf->tx_busy[id] = true;
	memcpy(nf->tx_pages[id / 2] + (id % 2) * NETFRONT_TX_BUF_SIZE, frame, len);
	req = &netif_tx_front_next_req(&nf->tx)->tx;
	req->gref = nf->tx_grefs[id / 2];
	req->offset = (uint16_t)((id % 2) * NETFRONT_TX_BUF_SIZE);
	req->flags = flags;
	req->id = id;
	req->size = (uint16_t)len;
	nf->tx.req_prod_pvt++;
	nf->tx_unpushed++;
	nf->st.tx_packets++;
	nf->st.tx_bytes += len;
	return 0;
}

void netfront_flush(struct netfront *nf)
{
	if (!nf->tx_unpushed)
		return;
	nf->tx_unpushed = 0;
	if (netif_tx_front_push(&nf->tx))
		netfront_kick(nf);
}

unsigned netfront_rx_poll(struct netfront *nf, netfront_rx_fn fn, void *ctx, unsigned max)
{
	ring_idx_t n = netif_rx_front_pending_rsps(&nf->rx);
	unsigned frames = 0;

	if (n > (ring_idx_t)(nf->rx.req_prod_pvt - nf->rx.rsp_cons)) {
		nf->st.bad_responses++;
		n = (ring_idx_t)(nf->rx.req_prod_pvt - nf->rx.rsp_cons);
	}
	for (; n && frames < max; n--) {
		union netif_rx_slot_rsp slot;
		struct netif_rx_response *rsp = &slot.rx;
		bool more, chain;

		netif_rx_front_take_rsp(&nf->rx, &slot);
		/* A copy of the slot (taken above): the backend may rewrite the ring meanwhile. */
		more = rsp->flags & NETRXF_more_data;
		chain = nf->rx_in_chain;
		nf->rx_in_chain = more;
		if (chain || more || (rsp->flags & NETRXF_extra_info)) {
			/* Part of a multi-buffer packet, or extras we did not ask for: dropped (once per packet). */
			if (!chain)
				nf->st.rx_dropped_multi++;
			continue;
		}
		if (rsp->status <= 0) {
			nf->st.rx_errors++;
			continue;
		}
		if (rsp->id >= NETFRONT_RX_BUFS || (uint32_t)rsp->offset + (uint32_t)rsp->status > XENITH_PAGE_SIZE) {
			nf->st.bad_responses++;
			continue;
		}
		nf->st.rx_packets++;
		nf->st.rx_bytes += (uint64_t)rsp->status;
		frames++;
		fn(ctx, nf->rx_pages[rsp->id] + rsp->offset, (size_t)rsp->status);
	}
	if (nf->rx_posting)
		rx_refill(nf);
	return frames;
}

static bool pending(struct netfront *nf)
{
	return netif_rx_front_pending_rsps(&nf->rx) || netif_tx_front_pending_rsps(&nf->tx);
}

void netfront_wait_queues(struct netfront *nfs, unsigned nq, const uint32_t *extra, unsigned n,
			  uint64_t timeout_ns)
{
	uint32_t ports[XENITH_NET_MAX_QUEUES + 4];
	unsigned np = 0;
	uint64_t t0 = monotonic_ns();

	if (nfs[0].info.mode == XENITH_NET_MODE_POLL) {
		/* The backend polls and does not notify: look for ourselves, bounded by the timeout. */
		for (;;) {
			for (unsigned q = 0; q < nq; q++)
				if (pending(&nfs[q]))
					return;
			if (monotonic_ns() - t0 >= timeout_ns)
				return;
		}
	}
	/* Final checks on every ring: a response published meanwhile is seen here or notified. */
	for (unsigned q = 0; q < nq; q++) {
		struct netfront *nf = &nfs[q];

		if (netif_rx_front_final_check(&nf->rx))
			return;
		/*
		 * TX: woken when half of what is in flight has come back (as
		 * Linux's netfront did), not at the first response: a sender
		 * waiting on a full ring then sleeps once per half ring instead
		 * of once per backend burst, and each sleep is a hypercall.
		 */
		if (nf->tx.req_prod_pvt != nf->tx.rsp_cons &&
		    netif_tx_front_final_check_after(&nf->tx, ((nf->tx.req_prod_pvt - nf->tx.rsp_cons) >> 1) + 1))
			return;
		ports[np++] = nf->port;
	}
	for (unsigned i = 0; i < n && np < ARRAY_SIZE(ports); i++)
		ports[np++] = extra[i];
	/* The extra ports stay pending for their owner (the caller's loop looks at them). */
	sched_poll(ports, np, timeout_ns);
	for (unsigned q = 0; q < nq; q++)
		evtchn_test_and_clear(nfs[q].port);
	nfs[0].st.waits++;
}

void netfront_wait(struct netfront *nf, const uint32_t *extra, unsigned n, uint64_t timeout_ns)
{
	netfront_wait_queues(nf, 1, extra, n, timeout_ns);
}
