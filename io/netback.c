// SPDX-License-Identifier: MIT
#include "netback.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "netback_priv.h"

/*
 * Poll mode: after this long with nothing to do, the thread asks for a
 * kick (req_event), looks once more and sleeps, as blkback does.
 */
#define POLL_IDLE_NS 1000000ull
/*
 * A port without rx_fd is looked at this often while the thread sleeps;
 * for NO_RX_FD_FAST_TICKS ticks after the last round with work, at the
 * fast period (20 k wake-ups a second for 10 ms, only after traffic), so
 * a reply or the next frame of a flow waits tens of microseconds, not a
 * millisecond, and an idle queue still wakes 1000 times a second.
 */
#define NO_RX_FD_POLL_NS 1000000ll
#define NO_RX_FD_FAST_NS 50000ll
#define NO_RX_FD_FAST_TICKS 200u

_Static_assert(NET_PORT_FRAME_MAX == XENITH_NET_FRAME_MAX, "one frame limit");
_Static_assert(XENITH_NET_FRAME_MAX <= PAGE, "a received frame fits one posted buffer");


const char *netback_drop_name(enum netback_drop d)
{
	static const char *const names[NETBACK_DROP_NR] = {
		[NETBACK_DROP_NONE] = "none", [NETBACK_DROP_BAD_REQUEST] = "bad_request",
		[NETBACK_DROP_BAD_GRANT] = "bad_grant", [NETBACK_DROP_SPOOFED_MAC] = "spoofed_mac",
		[NETBACK_DROP_NO_RX_BUFFER] = "no_rx_buffer", [NETBACK_DROP_PORT_FULL] = "port_full",
		[NETBACK_DROP_OVERSIZE] = "oversize", [NETBACK_DROP_QUIESCED] = "quiesced",
	};

	return (unsigned)d < NETBACK_DROP_NR ? names[d] : NULL;
}

/* ---- the backend ---- */

/* The quiesce handshake's lock and condition, on CLOCK_MONOTONIC: a timeout no clock change stretches. */
static int qlock_init(struct netback *nb)
{
	pthread_condattr_t a;
	int r = pthread_condattr_init(&a);

	if (r)
		return -r;
	r = pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	if (r == 0)
		r = pthread_cond_init(&nb->qcond, &a);
	pthread_condattr_destroy(&a);
	if (r)
		return -r;
	r = pthread_mutex_init(&nb->qlock, NULL);
	if (r) {
		pthread_cond_destroy(&nb->qcond);
		return -r;
	}
	nb->qlock_ready = true;
	return 0;
}

int netback_open(const struct netback_config *cfg, struct netback **out, char *msg, size_t msglen)
{
	struct netback *nb;

	*out = NULL;
	if (!cfg->port || !cfg->port->ops) {
		snprintf(msg, msglen, "vif %u queue %u: no port", cfg->index, cfg->queue);
		return -EINVAL;
	}
	if (cfg->mode > XENITH_NET_MODE_POLL) {
		snprintf(msg, msglen, "vif %u queue %u: unknown mode %u", cfg->index, cfg->queue, cfg->mode);
		return -EINVAL;
	}
	nb = calloc(1, sizeof(*nb));
	if (!nb) {
		snprintf(msg, msglen, "vif %u queue %u: out of memory", cfg->index, cfg->queue);
		return -ENOMEM;
	}
	nb->cfg = *cfg;
	nb->txbuf = malloc((size_t)BURST * XENITH_NET_FRAME_MAX);
	nb->rxbuf = malloc((size_t)BURST * NET_PORT_RX_CAP);
	nb->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!nb->txbuf || !nb->rxbuf || nb->kick_fd < 0) {
		int r = nb->kick_fd < 0 ? -errno : -ENOMEM;

		snprintf(msg, msglen, "vif %u queue %u: %s", cfg->index, cfg->queue,
			 nb->kick_fd < 0 ? "eventfd failed" : "out of memory");
		netback_close(nb);
		return r;
	}
	if (qlock_init(nb) < 0) {
		snprintf(msg, msglen, "vif %u queue %u: the quiesce lock could not be made", cfg->index, cfg->queue);
		netback_close(nb);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < BURST; i++) {
		nb->rxf[i].data = nb->rxbuf + (size_t)i * NET_PORT_RX_CAP;
		nb->rxf[i].cap = NET_PORT_RX_CAP; /* a port can tell a full-size frame from a cut one */
	}
	*out = nb;
	return 0;
}

void netback_close(struct netback *nb)
{
	if (!nb)
		return;
	netback_disconnect(nb);
	if (nb->kick_fd >= 0)
		close(nb->kick_fd);
	if (nb->qlock_ready) {
		pthread_cond_destroy(&nb->qcond);
		pthread_mutex_destroy(&nb->qlock);
	}
	free(nb->txbuf);
	free(nb->rxbuf);
	free(nb);
}

int netback_kick_fd(const struct netback *nb)
{
	return nb->kick_fd;
}

bool netback_connected(const struct netback *nb)
{
	return nb->running;
}

bool netback_broken(const struct netback *nb)
{
	return atomic_load(&nb->broken);
}

void netback_get_stats(const struct netback *nb, struct netback_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->tx_packets = atomic_load(&nb->st_tx_packets);
	st->tx_bytes = atomic_load(&nb->st_tx_bytes);
	st->rx_packets = atomic_load(&nb->st_rx_packets);
	st->rx_bytes = atomic_load(&nb->st_rx_bytes);
	st->csum_filled = atomic_load(&nb->st_csum_filled);
	for (unsigned d = 1; d < NETBACK_DROP_NR; d++)
		st->drops[d] = atomic_load(&nb->st_drops[d]);
	st->connected = nb->running;
	st->broken = atomic_load(&nb->broken);
}

int netback_stats_json(const struct netback *nb, char *buf, size_t size)
{
	struct netback_stats st;
	size_t n = 0;
	int r;

	netback_get_stats(nb, &st);
	r = snprintf(buf, size, "\"tx_packets\":%llu,\"tx_bytes\":%llu,\"rx_packets\":%llu,\"rx_bytes\":%llu,"
		     "\"drops\":{", (unsigned long long)st.tx_packets, (unsigned long long)st.tx_bytes,
		     (unsigned long long)st.rx_packets, (unsigned long long)st.rx_bytes);
	if (r < 0 || (size_t)r >= size)
		return -1;
	n = (size_t)r;
	for (unsigned d = 1; d < NETBACK_DROP_NR; d++) {
		r = snprintf(buf + n, size - n, "%s\"%s\":%llu", d > 1 ? "," : "", netback_drop_name(d),
			     (unsigned long long)st.drops[d]);
		if (r < 0 || (size_t)r >= size - n)
			return -1;
		n += (size_t)r;
	}
	r = snprintf(buf + n, size - n, "},\"csum_filled\":%llu,\"broken\":%s",
		     (unsigned long long)st.csum_filled, st.broken ? "true" : "false");
	if (r < 0 || (size_t)r >= size - n)
		return -1;
	return (int)(n + (size_t)r);
}

static void count_drop(struct netback *nb, enum netback_drop d)
{
	atomic_fetch_add_explicit(&nb->st_drops[d], 1, memory_order_relaxed);
}

static void mark_broken(struct netback *nb)
{
	if (!atomic_exchange(&nb->broken, true))
		fprintf(stderr, "xenith: vif %u queue %u: the guest's ring indices are impossible; "
			"this queue stops (the vif's other queues and the domain's other devices go on)\n",
			nb->cfg.index, nb->cfg.queue);
}

/* The packet's fragments into its frame, then the checks on the frame's contents. */
static void build_frame(struct netback *nb, struct netback_tx_pkt *p, uint8_t *frame)
{
	struct grant_copy_op ops[XENITH_NET_MAX_SLOTS_PER_PKT];
	uint32_t off = 0;

	for (unsigned f = 0; f < p->nfrags; f++) {
		ops[f] = (struct grant_copy_op){ .dir = GRANT_FROM_GUEST, .ref = p->frag[f].gref,
						 .offset = p->frag[f].offset, .len = p->frag[f].len,
						 .buf = frame + off };
		off += p->frag[f].len;
	}
	if (grant_copy(nb->gt, ops, p->nfrags) != 0) {
		p->drop = NETBACK_DROP_BAD_GRANT;
		return;
	}
	if (memcmp(frame + 6, nb->cfg.mac, 6) != 0) {
		p->drop = NETBACK_DROP_SPOOFED_MAC;
		return;
	}
	if (p->flags & NETTXF_csum_blank) {
		if (netback_fill_csum(frame, p->len) < 0)
			p->drop = NETBACK_DROP_BAD_REQUEST;
		else
			atomic_fetch_add_explicit(&nb->st_csum_filled, 1, memory_order_relaxed);
	}
}

static int16_t tx_status(enum netback_drop d)
{
	switch (d) {
	case NETBACK_DROP_NONE:
		return NETIF_RSP_OKAY;
	case NETBACK_DROP_SPOOFED_MAC:
	case NETBACK_DROP_PORT_FULL:
		return NETIF_RSP_DROPPED;
	default:
		return NETIF_RSP_ERROR;
	}
}

/*
 * One TX burst: up to BURST packets taken, checked, copied, sent, answered.
 * Returns the slots consumed, or -1 when the ring is broken.
 */
static int do_tx(struct netback *nb)
{
	union netif_tx_slot_req copy[XENITH_RING_SLOTS(sizeof(union netif_tx_slot))];
	ring_idx_t n, mask = netif_tx_ring_size() - 1, start = nb->tx.req_cons;
	unsigned npkt = 0, nframes = 0, consumed = 0, have = 0;
	int sent = 0;

	nb->tx_waiting = 0;
	if (netif_tx_back_pending_reqs(&nb->tx, &n) < 0)
		return -1; /* else n <= the ring's size */
	while (n && npkt < BURST) {
		struct netback_tx_pkt *p = &nb->txp[npkt];
		unsigned avail = n < NETBACK_TX_PKT_SLOTS ? n : NETBACK_TX_PKT_SLOTS;

		/* Each slot copied once per burst, as far as this packet may reach; only copies are looked at. */
		for (; have < consumed + avail; have++)
			memcpy(&copy[have], &nb->tx.s->slot[(start + have) & mask].req, sizeof(copy[have]));
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		if (!(nb->tx_cut ? netback_tx_skip(copy + consumed, avail, p)
				 : netback_tx_parse(copy + consumed, avail, p))) {
			nb->tx_waiting = avail; /* the rest of the packet is not published yet */
			break;
		}
		nb->tx_cut = p->cut;
		nb->tx.req_cons += p->slots;
		n -= p->slots;
		consumed += p->slots;
		if (p->drop == NETBACK_DROP_NONE) {
			uint8_t *frame = nb->txbuf + (size_t)nframes * XENITH_NET_FRAME_MAX;

			build_frame(nb, p, frame);
			if (p->drop == NETBACK_DROP_NONE) {
				nb->txf[nframes] = (struct net_frame){ .data = frame, .len = (uint16_t)p->len,
								       .cap = XENITH_NET_FRAME_MAX };
				nb->txf_pkt[nframes++] = npkt;
			}
		}
		npkt++;
	}
	if (nframes) {
		sent = nb->cfg.port->ops->send(nb->cfg.port, nb->txf, nframes);
		if (sent < 0)
			sent = 0; /* a port that is gone takes nothing */
		for (unsigned f = 0; f < nframes; f++) {
			if (f < (unsigned)sent) {
				atomic_fetch_add_explicit(&nb->st_tx_packets, 1, memory_order_relaxed);
				atomic_fetch_add_explicit(&nb->st_tx_bytes, nb->txf[f].len, memory_order_relaxed);
			} else {
				nb->txp[nb->txf_pkt[f]].drop = NETBACK_DROP_PORT_FULL;
			}
		}
	}
	for (unsigned k = 0; k < npkt; k++) {
		const struct netback_tx_pkt *p = &nb->txp[k];
		int16_t st = tx_status(p->drop);

		if (p->drop != NETBACK_DROP_NONE && !p->rest)
			count_drop(nb, p->drop);
		for (unsigned i = 0; i < p->slots; i++) {
			struct netif_tx_response *rsp = netif_tx_back_next_rsp(&nb->tx);

			rsp->id = p->id[i];
			rsp->status = p->extra[i] ? NETIF_RSP_NULL : st;
			nb->tx.rsp_prod_pvt++;
		}
	}
	if (npkt && netif_tx_back_push(&nb->tx) && nb->notify)
		nb->notify(nb->opaque, NETBACK_RING_TX);
	return (int)consumed;
}

/*
 * One RX burst: frames from the port into the buffers the guest posted.
 * Returns the frames handled, or -1 when the ring is broken.
 */
static int do_rx(struct netback *nb)
{
	struct grant_copy_op ops[BURST];
	struct netif_rx_request req[BURST];
	ring_idx_t posted;
	unsigned nbuf = 0;
	int got;

	if (nb->port_dead)
		return 0;
	got = nb->cfg.port->ops->recv(nb->cfg.port, nb->rxf, BURST);
	if (got < 0) {
		fprintf(stderr, "xenith: vif %u queue %u: port %s: %s; no more frames are received from it\n",
			nb->cfg.index, nb->cfg.queue, nb->cfg.port->name, strerror(-got));
		nb->port_dead = true;
		return 0;
	}
	/* The buffers posted by now (after the frames came): a frame drops only if none was there. */
	if (netif_rx_back_pending_reqs(&nb->rx, &posted) < 0)
		return -1; /* the frames received are lost with the queue */
	for (int i = 0; i < got; i++) {
		if (nb->rxf[i].len == 0 || nb->rxf[i].len > XENITH_NET_FRAME_MAX)
			continue; /* not a frame (a port never gives these) */
		if (nbuf == posted) {
			count_drop(nb, NETBACK_DROP_NO_RX_BUFFER);
			continue;
		}
		netif_rx_back_take_req(&nb->rx, &req[nbuf]); /* copied before it is looked at */
		ops[nbuf] = (struct grant_copy_op){ .dir = GRANT_TO_GUEST, .ref = req[nbuf].gref, .offset = 0,
						    .len = nb->rxf[i].len, .buf = nb->rxf[i].data };
		nbuf++;
	}
	if (nbuf) {
		grant_copy(nb->gt, ops, nbuf);
		for (unsigned k = 0; k < nbuf; k++) {
			struct netif_rx_response *rsp = &netif_rx_back_next_rsp(&nb->rx)->rx;

			rsp->id = req[k].id;
			rsp->offset = 0;
			rsp->flags = 0;
			if (ops[k].status == 0) {
				rsp->status = (int16_t)ops[k].len;
				atomic_fetch_add_explicit(&nb->st_rx_packets, 1, memory_order_relaxed);
				atomic_fetch_add_explicit(&nb->st_rx_bytes, ops[k].len, memory_order_relaxed);
			} else {
				rsp->status = NETIF_RSP_ERROR;
				count_drop(nb, NETBACK_DROP_BAD_GRANT);
			}
			nb->rx.rsp_prod_pvt++;
		}
		if (netif_rx_back_push(&nb->rx) && nb->notify)
			nb->notify(nb->opaque, NETBACK_RING_RX);
	}
	return got;
}

/*
 * Before sleeping: ask to be kicked when a TX slot past those already seen
 * is published, then look once more [final check].  1: more to do, 0:
 * sleep, -1: broken.
 */
static int tx_final_check(struct netback *nb)
{
	ring_idx_t n;

	if (netif_tx_back_pending_reqs(&nb->tx, &n) < 0)
		return -1;
	if (n > nb->tx_waiting)
		return 1;
	__atomic_store_n(&nb->tx.s->h.req_event, nb->tx.req_cons + nb->tx_waiting + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* [C2] */
	if (netif_tx_back_pending_reqs(&nb->tx, &n) < 0)
		return -1;
	return n > nb->tx_waiting;
}

/* Sleeps until a kick, a frame on the port (if it can say so), or a stop. */
static void wait_event(struct netback *nb, bool broken)
{
	struct pollfd fds[2] = { { .fd = nb->kick_fd, .events = POLLIN } };
	struct timespec tick = { 0, NO_RX_FD_POLL_NS };
	nfds_t nfds = 1;
	bool port_polls = !broken && !nb->port_dead;
	int rx_fd = port_polls && nb->cfg.port->ops->rx_fd ? nb->cfg.port->ops->rx_fd(nb->cfg.port) : -1;
	uint64_t v;

	if (rx_fd >= 0)
		fds[nfds++] = (struct pollfd){ .fd = rx_fd, .events = POLLIN };
	else if (nb->fast_ticks) {
		nb->fast_ticks--;
		tick.tv_nsec = NO_RX_FD_FAST_NS;
	}
	if (ppoll(fds, nfds, port_polls && rx_fd < 0 ? &tick : NULL, NULL) > 0 && (fds[0].revents & POLLIN)) {
		if (read(nb->kick_fd, &v, sizeof(v)) < 0) {
			/* EAGAIN: another reader took it; nothing to do */
		}
	}
}

/* One round: a TX burst, then an RX burst.  Work done, or -1 (the queue is broken now). */
static int round_once(struct netback *nb)
{
	int t = do_tx(nb), r = t < 0 ? 0 : do_rx(nb);

	if (t < 0 || r < 0) {
		mark_broken(nb);
		return -1;
	}
	return t + r;
}

/*
 * Quiesced: frames the port has are read and dropped (counted), a bounded
 * number per wake-up, so that none waits there to reach the guest long
 * after.  The rings are not touched.
 */
static void drain_port(struct netback *nb)
{
	for (unsigned k = 0; k < 4 && !nb->port_dead; k++) {
		int got = nb->cfg.port->ops->recv(nb->cfg.port, nb->rxf, BURST);

		if (got < 0) {
			fprintf(stderr, "xenith: vif %u queue %u: port %s: %s; no more frames are received from it\n",
				nb->cfg.index, nb->cfg.queue, nb->cfg.port->name, strerror(-got));
			nb->port_dead = true;
			return;
		}
		atomic_fetch_add_explicit(&nb->st_drops[NETBACK_DROP_QUIESCED], (uint64_t)got, memory_order_relaxed);
		if (got < (int)BURST)
			return;
	}
}

/* At a round's end with pause set: tell netback_quiesce, unless it gave up meanwhile (pause cleared). */
static void ack_quiesce(struct netback *nb)
{
	pthread_mutex_lock(&nb->qlock);
	if (atomic_load(&nb->pause) && !nb->acked) {
		nb->acked = true;
		pthread_cond_broadcast(&nb->qcond);
	}
	pthread_mutex_unlock(&nb->qlock);
}

int netback_run_once(struct netback *nb)
{
	if (!nb->running || !nb->cfg.no_thread)
		return -1;
	if (atomic_load(&nb->pause)) {
		drain_port(nb);
		return 0;
	}
	if (atomic_load(&nb->broken))
		return -1;
	return round_once(nb);
}

static void *netback_thread(void *arg)
{
	struct netback *nb = arg;
	bool poll = nb->cfg.mode == XENITH_NET_MODE_POLL;
	uint64_t idle_since = 0;

	if (nb->cfg.thread_init)
		nb->cfg.thread_init();
	while (!atomic_load(&nb->stop)) {
		bool broken = atomic_load(&nb->broken);
		int work = 0;

		/* Checked between rounds only: a round takes and answers whole. */
		if (atomic_load(&nb->pause)) {
			ack_quiesce(nb);
			drain_port(nb);
			/* A resume or a stop writes the kick eventfd: ppoll sees it, whenever it came. */
			wait_event(nb, false);
			idle_since = 0;
			continue;
		}
		if (!broken) {
			work = round_once(nb);
			broken = work < 0;
		}
		if (broken)
			work = 0;
		if (work) {
			idle_since = 0;
			nb->fast_ticks = NO_RX_FD_FAST_TICKS;
			continue;
		}
		if (poll && !broken) {
			uint64_t now = now_ns();

			if (!idle_since)
				idle_since = now;
			if (now - idle_since < POLL_IDLE_NS) {
				__builtin_ia32_pause();
				continue;
			}
		}
		if (!broken) {
			int more = tx_final_check(nb);

			if (more < 0) {
				mark_broken(nb);
				broken = true;
			} else if (more > 0) {
				continue;
			}
		}
		wait_event(nb, broken);
		idle_since = 0;
	}
	return NULL;
}

/*
 * The rest of a connect once both ring pages are mapped (nb->tx_map,
 * nb->rx_map): fresh indices at the rings' rsp_prod, or a restored
 * queue's (from), in which case it starts quiesced.  Lets go of the ring
 * pages on failure.
 */
int netback_attach(struct netback *nb, struct grant_table *gt, const struct netback_ring_state *from,
		  void (*notify)(void *opaque, enum netback_ring ring), void *opaque)
{
	sigset_t all, old;
	int r;

	nb->gt = gt;
	nb->notify = notify;
	nb->opaque = opaque;
	netif_tx_back_init(&nb->tx, (struct netif_tx_sring *)(void *)nb->tx_map.page);
	netif_rx_back_init(&nb->rx, (struct netif_rx_sring *)(void *)nb->rx_map.page);
	if (from) {
		nb->tx.req_cons = from->tx_req_cons;
		nb->tx.rsp_prod_pvt = from->tx_rsp_prod_pvt;
		nb->rx.req_cons = from->rx_req_cons;
		nb->rx.rsp_prod_pvt = from->rx_rsp_prod_pvt;
	} else {
		/*
		 * Start where the rings are (as Linux's BACK_RING_ATTACH): 0 for
		 * a ring the frontend just set up; the indices are free-running,
		 * any value works, and one that is not will find the ring broken.
		 */
		nb->tx.req_cons = nb->tx.rsp_prod_pvt = __atomic_load_n(&nb->tx.s->h.rsp_prod, __ATOMIC_RELAXED);
		nb->rx.req_cons = nb->rx.rsp_prod_pvt = __atomic_load_n(&nb->rx.s->h.rsp_prod, __ATOMIC_RELAXED);
	}
	nb->tx_waiting = 0;
	nb->tx_cut = from && from->tx_cut;
	nb->port_dead = false;
	atomic_store(&nb->stop, false);
	atomic_store(&nb->broken, from && from->broken);
	/* Nothing is in flight yet, so a restored queue is quiesced from the start. */
	pthread_mutex_lock(&nb->qlock);
	atomic_store(&nb->pause, from != NULL);
	nb->acked = from != NULL;
	pthread_mutex_unlock(&nb->qlock);
	if (nb->cfg.no_thread) {
		nb->running = true;
		return 0;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = -pthread_create(&nb->thread, NULL, netback_thread, nb);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		grant_unmap(gt, &nb->rx_map);
		grant_unmap(gt, &nb->tx_map);
		return r;
	}
	nb->running = true;
	return 0;
}

/* Both ring pages, writable, held while connected: 0, or the grant check's -errno with neither held. */
int netback_map_rings(struct netback *nb, struct grant_table *gt, grant_ref_t tx_ref, grant_ref_t rx_ref)
{
	int r = grant_map(gt, tx_ref, true, &nb->tx_map);

	if (r < 0)
		return r;
	r = grant_map(gt, rx_ref, true, &nb->rx_map);
	if (r < 0)
		grant_unmap(gt, &nb->tx_map);
	return r;
}

int netback_connect(struct netback *nb, struct grant_table *gt, grant_ref_t tx_ref, grant_ref_t rx_ref,
		    void (*notify)(void *opaque, enum netback_ring ring), void *opaque)
{
	int r;

	if (nb->running)
		return -EBUSY;
	r = netback_map_rings(nb, gt, tx_ref, rx_ref);
	return r < 0 ? r : netback_attach(nb, gt, NULL, notify, opaque);
}

/* Wakes the thread as a kick does: it looks at the rings (or at pause and stop) again. */
void netback_wake(struct netback *nb)
{
	uint64_t one = 1;

	if (write(nb->kick_fd, &one, sizeof(one)) < 0) {
		/* counter saturated: the thread is awake anyway */
	}
}

void netback_disconnect(struct netback *nb)
{
	if (!nb->running)
		return;
	atomic_store(&nb->stop, true);
	if (!nb->cfg.no_thread) {
		netback_wake(nb);
		pthread_join(nb->thread, NULL);
	}
	nb->running = false;
	grant_unmap(nb->gt, &nb->rx_map);
	grant_unmap(nb->gt, &nb->tx_map);
}
