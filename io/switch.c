// SPDX-License-Identifier: MIT
/* The domain switch: attach, detach, the switch port, the serve loop (switch.h). */
#include "switch.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "grant.h"
#include "netback.h"
#include "netport.h"
#include "switch_l2.h"
#include "xenith/grant_table.h"

enum { RING_TX_NOTIFY, RING_RX_NOTIFY };

struct sw_queue {
	struct net_port port;     /* first: the netback's port is this queue */
	struct sw_vif *v;
	unsigned index;
	struct netback *nb;
	int notify[2];            /* the VMM's eventfds: responses on TX, on RX */
	int rx_efd;               /* rx_fd: written when want_kick was set */
	_Atomic int want_kick;    /* the receiver found the queue empty and sleeps on rx_efd */
	pthread_mutex_t lock;     /* head, tail, the frames */
	unsigned head, tail;      /* free-running */
	uint16_t len[SW_RXQ];
	uint8_t (*buf)[NET_PORT_FRAME_MAX];
	/* sender's side (this queue's guest sent) */
	_Atomic uint64_t forwarded, flooded, drop_full, drop_spoofed, drop_unknown_port;
	/* receiver's side */
	_Atomic uint64_t received;
};

struct sw_vif {
	struct sw *sw;
	int conn;
	unsigned slot;
	struct swp_hello h;
	uint8_t *mem;
	uint64_t *ro;
	struct grant_table gt;
	bool table_set;
	uint64_t table_gpa;
	uint32_t table_frames;
	unsigned nr_connected;    /* queues connected (0: none); written under the write lock */
	struct sw_queue q[XENITH_NET_MAX_QUEUES];
};

struct sw {
	char name[32];
	pthread_rwlock_t lock;    /* vifs[] and their nr_connected: senders read, attach/detach write */
	pthread_mutex_t l2_lock;
	struct l2_table l2;
	struct sw_vif *vifs[SW_MAX_VIFS];
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + 1;
}

int sw_create(const char *name, struct sw **out)
{
	struct sw *sw = calloc(1, sizeof(*sw));

	if (!sw)
		return -ENOMEM;
	snprintf(sw->name, sizeof(sw->name), "%s", name);
	pthread_rwlock_init(&sw->lock, NULL);
	pthread_mutex_init(&sw->l2_lock, NULL);
	l2_init(&sw->l2, SW_L2_AGE_NS);
	*out = sw;
	return 0;
}

unsigned sw_nr_vifs(struct sw *sw)
{
	unsigned n = 0;

	for (unsigned i = 0; i < SW_MAX_VIFS; i++)
		n += sw->vifs[i] != NULL;
	return n;
}

/* ---- the switch port ---- */

/* Copies f into v's receive queue picked by the source MAC; false when it is full or none is connected. */
static bool deliver(struct sw_vif *v, const struct net_frame *f)
{
	struct sw_queue *q;
	unsigned h;

	if (!v->nr_connected)
		return false;
	h = (unsigned)f->data[10] << 8 | f->data[11];
	q = &v->q[h % v->nr_connected];
	pthread_mutex_lock(&q->lock);
	if (q->tail - q->head >= SW_RXQ) {
		pthread_mutex_unlock(&q->lock);
		return false;
	}
	memcpy(q->buf[q->tail % SW_RXQ], f->data, f->len);
	q->len[q->tail % SW_RXQ] = f->len;
	q->tail++;
	pthread_mutex_unlock(&q->lock);
	/* Pairs with the receiver's store of want_kick before its re-check (port_recv). */
	if (atomic_exchange(&q->want_kick, 0)) {
		uint64_t one = 1;

		if (write(q->rx_efd, &one, sizeof(one)) < 0) {
			/* the counter cannot overflow in practice; the receiver re-checks anyway */
		}
	}
	return true;
}

static int port_send(struct net_port *p, const struct net_frame *frames, unsigned n)
{
	struct sw_queue *q = (struct sw_queue *)p;
	struct sw_vif *v = q->v;
	struct sw *sw = v->sw;
	uint64_t now = now_ns();
	int dst[NET_PORT_BURST];

	if (n > NET_PORT_BURST)
		n = NET_PORT_BURST;
	pthread_rwlock_rdlock(&sw->lock);
	pthread_mutex_lock(&sw->l2_lock);
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *d = frames[i].data;

		if (frames[i].len < 14 || frames[i].len > NET_PORT_FRAME_MAX || memcmp(d + 6, v->h.mac, 6)) {
			dst[i] = -2;
			continue;
		}
		l2_learn(&sw->l2, d + 6, (uint16_t)v->slot, now);
		dst[i] = (d[0] & 1) ? -1 : l2_lookup(&sw->l2, d, now);
	}
	pthread_mutex_unlock(&sw->l2_lock);
	for (unsigned i = 0; i < n; i++) {
		if (dst[i] == -2) {
			atomic_fetch_add(&q->drop_spoofed, 1);
		} else if (dst[i] >= 0 && sw->vifs[dst[i]] && (unsigned)dst[i] != v->slot) {
			if (deliver(sw->vifs[dst[i]], &frames[i]))
				atomic_fetch_add(&q->forwarded, 1);
			else
				atomic_fetch_add(&q->drop_full, 1);
		} else if (dst[i] >= 0) {
			atomic_fetch_add(&q->drop_unknown_port, 1); /* to itself: nowhere to go */
		} else {
			unsigned took = 0, tried = 0;

			for (unsigned k = 0; k < SW_MAX_VIFS; k++) {
				if (!sw->vifs[k] || k == v->slot || !sw->vifs[k]->nr_connected)
					continue;
				tried++;
				took += deliver(sw->vifs[k], &frames[i]);
			}
			if (took)
				atomic_fetch_add(&q->flooded, 1);
			else if (tried)
				atomic_fetch_add(&q->drop_full, 1);
			else
				atomic_fetch_add(&q->drop_unknown_port, 1);
		}
	}
	pthread_rwlock_unlock(&sw->lock);
	return (int)n; /* every frame taken: the switch counts its own drops */
}

static unsigned dequeue(struct sw_queue *q, struct net_frame *frames, unsigned n)
{
	unsigned k = 0;

	pthread_mutex_lock(&q->lock);
	while (k < n && q->head != q->tail) {
		unsigned s = q->head % SW_RXQ;
		uint16_t len = q->len[s];

		if (len > frames[k].cap)
			len = frames[k].cap;
		memcpy(frames[k].data, q->buf[s], len);
		frames[k].len = len;
		q->head++;
		k++;
	}
	pthread_mutex_unlock(&q->lock);
	return k;
}

static int port_recv(struct net_port *p, struct net_frame *frames, unsigned n)
{
	struct sw_queue *q = (struct sw_queue *)p;
	unsigned k = dequeue(q, frames, n);

	if (!k) {
		uint64_t c;

		/* Empty: clear the eventfd, ask senders for a write, then look once more (no lost wake-up). */
		if (read(q->rx_efd, &c, sizeof(c)) < 0) {
			/* EAGAIN: nothing was pending */
		}
		atomic_store(&q->want_kick, 1);
		k = dequeue(q, frames, n);
	}
	atomic_fetch_add(&q->received, k);
	return (int)k;
}

static int port_rx_fd(struct net_port *p)
{
	return ((struct sw_queue *)p)->rx_efd;
}

static int port_stats_json(struct net_port *p, char *buf, size_t size)
{
	struct sw_queue *q = (struct sw_queue *)p;
	int n = snprintf(buf, size, "\"kind\":\"switch\",\"switch\":\"%s\",\"forwarded\":%llu,\"flooded\":%llu,"
			 "\"received\":%llu,\"drop_queue_full\":%llu,\"drop_spoofed\":%llu,"
			 "\"drop_unknown_port\":%llu", q->v->sw->name,
			 (unsigned long long)atomic_load(&q->forwarded), (unsigned long long)atomic_load(&q->flooded),
			 (unsigned long long)atomic_load(&q->received), (unsigned long long)atomic_load(&q->drop_full),
			 (unsigned long long)atomic_load(&q->drop_spoofed),
			 (unsigned long long)atomic_load(&q->drop_unknown_port));

	return n < 0 || (size_t)n >= size ? -1 : n;
}

static void port_close(struct net_port *p)
{
	(void)p; /* the queue goes with its vif (vif_free) */
}

static const struct net_port_ops switch_port_ops = {
	.kind = "switch",
	.send = port_send,
	.recv = port_recv,
	.rx_fd = port_rx_fd,
	.stats_json = port_stats_json,
	.close = port_close,
};

/* netback's notify: responses on ring r; the VMM's link thread sends the guest's event channel. */
static void notify_vmm(void *opaque, enum netback_ring ring)
{
	struct sw_queue *q = opaque;
	uint64_t one = 1;

	if (write(q->notify[ring == NETBACK_RING_TX ? RING_TX_NOTIFY : RING_RX_NOTIFY], &one, sizeof(one)) < 0) {
		/* a VMM that stopped reading harms only its own guest */
	}
}

/* A netback thread of the switch names itself, for top -H and ps -L. */
static void name_queue_thread(void)
{
	prctl(PR_SET_NAME, "xenith-swq", 0, 0, 0);
}

/* ---- attach, connect, detach ---- */

static void vif_disconnect(struct sw_vif *v)
{
	unsigned n = v->nr_connected;

	/* Threads first, without the lock: a sender may be waiting for it. */
	for (unsigned i = 0; i < n; i++)
		netback_disconnect(v->q[i].nb);
	pthread_rwlock_wrlock(&v->sw->lock);
	v->nr_connected = 0;
	for (unsigned i = 0; i < v->h.nr_queues; i++)
		v->q[i].head = v->q[i].tail; /* frames for the old connection go */
	pthread_rwlock_unlock(&v->sw->lock);
}

static void vif_free(struct sw_vif *v)
{
	for (unsigned i = 0; i < XENITH_NET_MAX_QUEUES; i++) {
		struct sw_queue *q = &v->q[i];

		if (q->nb)
			netback_close(q->nb);
		for (unsigned k = 0; k < 2; k++)
			if (q->notify[k] >= 0)
				close(q->notify[k]);
		if (q->rx_efd >= 0)
			close(q->rx_efd);
		free(q->buf);
		pthread_mutex_destroy(&q->lock);
	}
	grant_table_fini(&v->gt);
	if (v->mem)
		munmap(v->mem, v->h.mem_size);
	free(v->ro);
	free(v);
}

static bool is_eventfd(int fd)
{
	char path[64], link[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return false;
	link[n] = 0;
	return !strcmp(link, "anon_inode:[eventfd]");
}

/* Checks the HELLO's descriptors and builds the vif; takes every fd (closes it on failure). */
static int vif_build(struct sw *sw, const struct swp_hello *h, int *fds, struct sw_vif **out, char *why,
		     size_t whylen)
{
	uint64_t frames = h->mem_size / 4096, ro_bytes = (frames + 63) / 64 * 8;
	struct sw_vif *v = calloc(1, sizeof(*v));
	struct stat st;
	int seals, r;

	if (!v) {
		snprintf(why, whylen, "out of memory");
		r = -ENOMEM;
		goto close_fds;
	}
	v->sw = sw;
	v->h = *h;
	for (unsigned i = 0; i < XENITH_NET_MAX_QUEUES; i++) {
		v->q[i].notify[0] = v->q[i].notify[1] = v->q[i].rx_efd = -1;
		pthread_mutex_init(&v->q[i].lock, NULL);
	}
	r = grant_table_init(&v->gt, NULL, 0, 0, XENITH_BACKEND_DOMID);
	if (r < 0) {
		snprintf(why, whylen, "grant table: %s", strerror(-r));
		free(v);
		v = NULL;
		goto close_fds;
	}
	/* the memfd: a regular file of exactly mem_size bytes that nobody can shrink under our mapping */
	seals = fcntl(fds[0], F_GET_SEALS);
	if (fstat(fds[0], &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != h->mem_size) {
		snprintf(why, whylen, "guest memory: not a memfd of %llu bytes", (unsigned long long)h->mem_size);
		r = -EINVAL;
		goto close_fds;
	}
	if (seals < 0 || !(seals & F_SEAL_SHRINK)) {
		snprintf(why, whylen, "guest memory: the memfd is not sealed against shrinking (F_SEAL_SHRINK)");
		r = -EINVAL;
		goto close_fds;
	}
	v->mem = mmap(NULL, h->mem_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fds[0], 0);
	if (v->mem == MAP_FAILED) {
		v->mem = NULL;
		r = -errno;
		snprintf(why, whylen, "mapping guest memory: %s", strerror(errno));
		goto close_fds;
	}
	/* the read-only frames: copied once */
	v->ro = malloc(ro_bytes);
	if (!v->ro || fstat(fds[1], &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != ro_bytes ||
	    pread(fds[1], v->ro, ro_bytes, 0) != (ssize_t)ro_bytes) {
		snprintf(why, whylen, "read-only frame map: not a file of %llu bytes", (unsigned long long)ro_bytes);
		r = -EINVAL;
		goto close_fds;
	}
	for (unsigned i = 2; i < SWP_HELLO_FDS(h->nr_queues); i++)
		if (!is_eventfd(fds[i])) {
			snprintf(why, whylen, "descriptor %u is not an eventfd", i);
			r = -EINVAL;
			goto close_fds;
		}
	close(fds[0]);
	close(fds[1]);
	fds[0] = fds[1] = -1;
	grant_table_fini(&v->gt);
	r = grant_table_init(&v->gt, v->mem, h->mem_size, h->min_gpa, XENITH_BACKEND_DOMID);
	if (r < 0) {
		snprintf(why, whylen, "grant table: %s", strerror(-r));
		goto close_fds;
	}
	grant_table_protect(&v->gt, v->ro);
	for (unsigned i = 0; i < h->nr_queues; i++) {
		struct sw_queue *q = &v->q[i];
		struct netback_config nc = { .index = h->vif, .queue = i, .mode = h->mode, .port = &q->port,
					     .thread_init = name_queue_thread };
		char msg[256];

		q->v = v;
		q->index = i;
		q->port.ops = &switch_port_ops;
		snprintf(q->port.name, sizeof(q->port.name), "switch:%s", sw->name);
		q->notify[0] = fds[2 + 2 * i];
		q->notify[1] = fds[3 + 2 * i];
		fds[2 + 2 * i] = fds[3 + 2 * i] = -1;
		fcntl(q->notify[0], F_SETFL, O_NONBLOCK);
		fcntl(q->notify[1], F_SETFL, O_NONBLOCK);
		atomic_store(&q->want_kick, 1);
		q->rx_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		q->buf = malloc((size_t)SW_RXQ * NET_PORT_FRAME_MAX);
		if (q->rx_efd < 0 || !q->buf) {
			snprintf(why, whylen, "queue %u: out of memory or descriptors", i);
			r = -ENOMEM;
			goto close_fds;
		}
		memcpy(nc.mac, h->mac, 6);
		r = netback_open(&nc, &q->nb, msg, sizeof(msg));
		if (r < 0) {
			snprintf(why, whylen, "queue %u: %.200s", i, msg);
			goto close_fds;
		}
	}
	*out = v;
	return 0;

close_fds:
	for (unsigned i = 0; i < SWP_HELLO_FDS(h->nr_queues); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (v)
		vif_free(v);
	return r;
}

static struct sw_vif *vif_of_conn(struct sw *sw, int conn)
{
	for (unsigned i = 0; i < SW_MAX_VIFS; i++)
		if (sw->vifs[i] && sw->vifs[i]->conn == conn)
			return sw->vifs[i];
	return NULL;
}

/* The guest's grant table for CONNECT or RESTORE: set once per boot; a new place means a rebooted guest. */
static int set_table(struct sw_vif *v, uint64_t gpa, uint32_t frames, char *why, size_t whylen)
{
	int r;

	if (v->table_set && (v->table_gpa != gpa || v->table_frames != frames)) {
		/* the guest rebooted and set a new table: nothing is connected, start over */
		grant_table_fini(&v->gt);
		r = grant_table_init(&v->gt, v->mem, v->h.mem_size, v->h.min_gpa, XENITH_BACKEND_DOMID);
		if (r < 0) {
			snprintf(why, whylen, "grant table: %s", strerror(-r));
			return r;
		}
		grant_table_protect(&v->gt, v->ro);
		v->table_set = false;
	}
	if (!v->table_set) {
		r = grant_table_set(&v->gt, gpa, frames);
		if (r < 0) {
			snprintf(why, whylen, "grant table at %#llx, %u frames: %s", (unsigned long long)gpa, frames,
				 strerror(-r));
			return r;
		}
		v->table_set = true;
		v->table_gpa = gpa;
		v->table_frames = frames;
	}
	return 0;
}

/* CONNECT (from) or RESTORE (restore): the queues attached to their rings, all or none. */
static int vif_connect(struct sw_vif *v, const struct swp_connect *c, const struct swp_restore *restore, char *why,
		       size_t whylen)
{
	uint32_t nq = restore ? restore->nr_queues : c->nr_queues;
	char msg[320];
	int r;

	if (v->nr_connected) {
		snprintf(why, whylen, "already connected");
		return -EBUSY;
	}
	if (nq > v->h.nr_queues) {
		snprintf(why, whylen, "%u queues connected, the vif has %u", nq, v->h.nr_queues);
		return -EINVAL;
	}
	r = restore ? set_table(v, restore->table_gpa, restore->table_frames, why, whylen)
		    : set_table(v, c->table_gpa, c->table_frames, why, whylen);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < nq; i++) {
		v->q[i].head = v->q[i].tail;
		if (restore) {
			const struct swp_queue_state *s = &restore->q[i];
			struct netback_ring_state st = {
				.tx_ref = s->tx_ref, .rx_ref = s->rx_ref, .tx_req_cons = s->tx_req_cons,
				.tx_rsp_prod_pvt = s->tx_rsp_prod_pvt, .rx_req_cons = s->rx_req_cons,
				.rx_rsp_prod_pvt = s->rx_rsp_prod_pvt, .tx_cut = s->flags & SWP_QUEUE_TX_CUT,
				.broken = s->flags & SWP_QUEUE_BROKEN,
			};

			r = netback_connect_restored(v->q[i].nb, &v->gt, &st, notify_vmm, &v->q[i], msg, sizeof(msg));
			if (r < 0)
				snprintf(why, whylen, "%.240s", msg);
		} else {
			r = netback_connect(v->q[i].nb, &v->gt, c->q[i].tx_ref, c->q[i].rx_ref, notify_vmm, &v->q[i]);
			if (r < 0)
				snprintf(why, whylen, "queue %u (tx-ring-ref %u, rx-ring-ref %u): %s", i, c->q[i].tx_ref,
					 c->q[i].rx_ref, strerror(-r));
		}
		if (r < 0) {
			while (i-- > 0)
				netback_disconnect(v->q[i].nb);
			return r;
		}
	}
	pthread_rwlock_wrlock(&v->sw->lock);
	v->nr_connected = nq;
	pthread_rwlock_unlock(&v->sw->lock);
	return 0;
}

/*
 * QUIESCE: every connected queue's netback quiesces (all or none); the
 * reply's text is their ring states as JSON (switch_proto.h).  Its
 * length, or -errno with the reason in text.
 */
static int vif_quiesce(struct sw_vif *v, unsigned timeout_ms, char *text, size_t size)
{
	uint64_t deadline = now_ns() + timeout_ms * 1000000ull; /* for every queue together */
	char msg[320];
	unsigned i;
	size_t n;
	int r = 0, k;

	for (i = 0; i < v->nr_connected; i++) {
		uint64_t now = now_ns();
		unsigned left = deadline > now ? (unsigned)((deadline - now + 999999) / 1000000) : 0;

		if (left == 0) {
			snprintf(msg, sizeof(msg), "vif queue %u: no time is left of the %u ms the vif's queues have to "
				 "quiesce, all of them together", i, timeout_ms);
			r = -ETIMEDOUT;
			break;
		}
		r = netback_quiesce(v->q[i].nb, left, msg, sizeof(msg));
		if (r < 0)
			break;
	}
	if (r < 0) {
		while (i-- > 0)
			netback_resume(v->q[i].nb);
		snprintf(text, size, "%s", msg);
		return r;
	}
	n = (size_t)snprintf(text, size, "{\"queues\":[");
	for (i = 0; i < v->nr_connected && n < size; i++) {
		struct netback_ring_state st;

		netback_get_ring_state(v->q[i].nb, &st); /* quiesced and connected: 0 */
		k = snprintf(text + n, size - n, "%s{\"tx_ref\":%u,\"rx_ref\":%u,\"tx_req_cons\":%u,"
			     "\"tx_rsp_prod_pvt\":%u,\"rx_req_cons\":%u,\"rx_rsp_prod_pvt\":%u,\"tx_cut\":%s,"
			     "\"broken\":%s}", i ? "," : "", st.tx_ref, st.rx_ref, st.tx_req_cons, st.tx_rsp_prod_pvt,
			     st.rx_req_cons, st.rx_rsp_prod_pvt, st.tx_cut ? "true" : "false",
			     st.broken ? "true" : "false");
		n += k < 0 ? size : (size_t)k;
	}
	if (n < size)
		n += (size_t)snprintf(text + n, size - n, "]}");
	return n < size ? (int)n : -E2BIG;
}

/* RESUME: the netbacks go on, and the vif's MAC is learned here, wherever it was (a migration's other end). */
static void vif_resume(struct sw_vif *v)
{
	struct sw *sw = v->sw;

	for (unsigned i = 0; i < v->nr_connected; i++)
		netback_resume(v->q[i].nb);
	pthread_mutex_lock(&sw->l2_lock);
	l2_learn(&sw->l2, v->h.mac, (uint16_t)v->slot, now_ns());
	pthread_mutex_unlock(&sw->l2_lock);
}

static void vif_detach(struct sw *sw, struct sw_vif *v)
{
	vif_disconnect(v);
	pthread_rwlock_wrlock(&sw->lock);
	sw->vifs[v->slot] = NULL;
	pthread_mutex_lock(&sw->l2_lock);
	l2_forget_port(&sw->l2, (uint16_t)v->slot);
	pthread_mutex_unlock(&sw->l2_lock);
	pthread_rwlock_unlock(&sw->lock);
	fprintf(stderr, "xenith switch %s: detached domain %s (id %u) vif %u\n", sw->name, v->h.domain, v->h.domid,
		v->h.vif);
	vif_free(v);
}

void sw_conn_closed(struct sw *sw, int conn)
{
	struct sw_vif *v = vif_of_conn(sw, conn);

	if (v)
		vif_detach(sw, v);
}

void sw_destroy(struct sw *sw)
{
	if (!sw)
		return;
	for (unsigned i = 0; i < SW_MAX_VIFS; i++)
		if (sw->vifs[i])
			vif_detach(sw, sw->vifs[i]);
	pthread_mutex_destroy(&sw->l2_lock);
	pthread_rwlock_destroy(&sw->lock);
	free(sw);
}

/* ---- JSON ---- */

#define PUT(...) do { if (n < size) { int k_ = snprintf(buf + n, size - n, __VA_ARGS__); \
	n += k_ < 0 ? size : (size_t)k_; } } while (0)

static size_t vif_json(struct sw_vif *v, char *buf, size_t size)
{
	uint64_t fw = 0, fl = 0, rx = 0, full = 0, sp = 0, unk = 0;
	const uint8_t *m = v->h.mac;
	size_t n = 0;

	for (unsigned i = 0; i < v->h.nr_queues; i++) {
		fw += atomic_load(&v->q[i].forwarded);
		fl += atomic_load(&v->q[i].flooded);
		rx += atomic_load(&v->q[i].received);
		full += atomic_load(&v->q[i].drop_full);
		sp += atomic_load(&v->q[i].drop_spoofed);
		unk += atomic_load(&v->q[i].drop_unknown_port);
	}
	PUT("\"domain\":\"%s\",\"domid\":%u,\"vif\":%u,\"mac\":\"%02x:%02x:%02x:%02x:%02x:%02x\",\"queues\":%u,"
	    "\"queues_connected\":%u,\"forwarded\":%llu,\"flooded\":%llu,\"received\":%llu,\"drop_queue_full\":%llu,"
	    "\"drop_spoofed\":%llu,\"drop_unknown_port\":%llu,\"per_queue\":[",
	    v->h.domain, v->h.domid, v->h.vif, m[0], m[1], m[2], m[3], m[4], m[5], v->h.nr_queues, v->nr_connected,
	    (unsigned long long)fw, (unsigned long long)fl, (unsigned long long)rx, (unsigned long long)full,
	    (unsigned long long)sp, (unsigned long long)unk);
	for (unsigned i = 0; i < v->h.nr_queues; i++) {
		PUT("%s{\"queue\":%u,", i ? "," : "", i);
		if (n < size) {
			int k = netback_stats_json(v->q[i].nb, buf + n, size - n);

			n += k < 0 ? size : (size_t)k;
		}
		PUT("}");
	}
	PUT("]");
	return n;
}

int sw_list_json(struct sw *sw, char *buf, size_t size)
{
	uint64_t now = now_ns();
	unsigned entries, first = 1;
	uint64_t full, moves;
	size_t n = 0;

	pthread_mutex_lock(&sw->l2_lock);
	entries = l2_count(&sw->l2, now);
	full = sw->l2.full;
	moves = sw->l2.moves;
	pthread_mutex_unlock(&sw->l2_lock);
	PUT("{\"switch\":\"%s\",\"pid\":%d,\"l2_entries\":%u,\"l2_full\":%llu,\"l2_moves\":%llu,\"vifs\":[", sw->name,
	    (int)getpid(), entries, (unsigned long long)full, (unsigned long long)moves);
	for (unsigned i = 0; i < SW_MAX_VIFS; i++) {
		if (!sw->vifs[i])
			continue;
		PUT("%s{", first ? "" : ",");
		first = 0;
		if (n < size)
			n += vif_json(sw->vifs[i], buf + n, size - n);
		PUT("}");
	}
	PUT("]}");
	return n < size ? (int)n : -1;
}

#undef PUT

/* ---- messages ---- */

static int reply(int conn, int status, const char *text, size_t len, const int *fds, unsigned nfds)
{
	static char out[SWP_MSG_MAX];
	struct swp_reply *rp = (struct swp_reply *)out;

	if (len > SWP_TEXT_MAX)
		len = SWP_TEXT_MAX;
	swp_hdr_init(&rp->h, SWP_REPLY, (uint32_t)(sizeof(*rp) + len));
	rp->status = status;
	rp->text_len = (uint32_t)len;
	memcpy(rp->text, text, len);
	/* never blocks the switch: a peer that does not read loses its connection */
	return swp_send(conn, out, sizeof(*rp) + len, fds, nfds, MSG_DONTWAIT) == 0 ? 0 : -1;
}

static int reply_err(int conn, int status, const char *why)
{
	reply(conn, status, why, strlen(why), NULL, 0);
	return -1;
}

static int on_hello(struct sw *sw, int conn, const struct swp_hello *h, int *fds, char *why, size_t whylen)
{
	int kicks[XENITH_NET_MAX_QUEUES];
	unsigned slot = SW_MAX_VIFS;
	struct sw_vif *v = NULL;
	int r;

	if (vif_of_conn(sw, conn))
		r = -EBUSY, snprintf(why, whylen, "this connection has a vif already");
	else {
		unsigned same = 0;

		r = 0;
		for (unsigned i = 0; i < SW_MAX_VIFS; i++) {
			if (!sw->vifs[i] && slot == SW_MAX_VIFS)
				slot = i;
			if (!sw->vifs[i] || memcmp(sw->vifs[i]->h.mac, h->mac, 6))
				continue;
			/* A migration's receiver takes the MAC over from the one vif that has it (switch_proto.h). */
			if (!(h->flags & SWP_HELLO_TAKEOVER) || same++) {
				r = -EADDRINUSE;
				snprintf(why, whylen, "MAC %02x:%02x:%02x:%02x:%02x:%02x is attached already (domain %s "
					 "vif %u)%s", h->mac[0], h->mac[1], h->mac[2], h->mac[3], h->mac[4], h->mac[5],
					 sw->vifs[i]->h.domain, sw->vifs[i]->h.vif, same > 1 ? ", twice" : "");
			}
		}
		if (!r && slot == SW_MAX_VIFS)
			r = -ENOSPC, snprintf(why, whylen, "switch full: %u vifs attached", SW_MAX_VIFS);
	}
	if (r < 0) {
		for (unsigned i = 0; i < SWP_HELLO_FDS(h->nr_queues); i++)
			close(fds[i]);
		return reply_err(conn, r, why);
	}
	r = vif_build(sw, h, fds, &v, why, whylen);
	if (r < 0)
		return reply_err(conn, r, why);
	v->conn = conn;
	v->slot = slot;
	for (unsigned i = 0; i < h->nr_queues; i++)
		kicks[i] = netback_kick_fd(v->q[i].nb);
	pthread_rwlock_wrlock(&sw->lock);
	sw->vifs[slot] = v;
	pthread_rwlock_unlock(&sw->lock);
	if (reply(conn, 0, "", 0, kicks, h->nr_queues) < 0)
		return -1; /* the caller closes: sw_conn_closed detaches */
	fprintf(stderr, "xenith switch %s: attached domain %s (id %u) vif %u, %u queue(s), mode %u\n", sw->name,
		h->domain, h->domid, h->vif, h->nr_queues, h->mode);
	return 0;
}

int sw_handle(struct sw *sw, int conn, const void *buf, size_t len, int *fds, unsigned nfds, int *stop_req)
{
	static char text[SWP_TEXT_MAX];
	struct swp_msg m;
	struct sw_vif *v;
	char why[256];
	int r, k;

	r = swp_parse(buf, len, nfds, &m, why, sizeof(why));
	if (r < 0 || m.type == SWP_REPLY) {
		for (unsigned i = 0; i < nfds; i++)
			close(fds[i]);
		return reply_err(conn, r < 0 ? r : -EPROTO, r < 0 ? why : "a reply sent to the switch");
	}
	v = vif_of_conn(sw, conn);
	switch (m.type) {
	case SWP_HELLO:
		return on_hello(sw, conn, &m.u.hello, fds, why, sizeof(why));
	case SWP_CONNECT:
		if (!v)
			return reply_err(conn, -ENOTCONN, "connect before hello");
		r = vif_connect(v, &m.u.connect, NULL, why, sizeof(why));
		return reply(conn, r, r < 0 ? why : "", r < 0 ? strlen(why) : 0, NULL, 0);
	case SWP_RESTORE:
		if (!v)
			return reply_err(conn, -ENOTCONN, "restore before hello");
		r = vif_connect(v, NULL, &m.u.restore, why, sizeof(why));
		return reply(conn, r, r < 0 ? why : "", r < 0 ? strlen(why) : 0, NULL, 0);
	case SWP_QUIESCE:
		if (!v)
			return reply_err(conn, -ENOTCONN, "quiesce before hello");
		k = vif_quiesce(v, m.u.quiesce.timeout_ms, text, sizeof(text));
		return reply(conn, k < 0 ? k : 0, text, k < 0 ? strlen(text) : (size_t)k, NULL, 0);
	case SWP_RESUME:
		if (!v)
			return reply_err(conn, -ENOTCONN, "resume before hello");
		vif_resume(v);
		return reply(conn, 0, "", 0, NULL, 0);
	case SWP_DISCONNECT:
		if (!v)
			return reply_err(conn, -ENOTCONN, "disconnect before hello");
		vif_disconnect(v);
		return reply(conn, 0, "", 0, NULL, 0);
	case SWP_DETACH:
		if (!v)
			return reply_err(conn, -ENOTCONN, "detach before hello");
		vif_detach(sw, v);
		return reply(conn, 0, "", 0, NULL, 0);
	case SWP_STATS:
		if (!v)
			return reply_err(conn, -ENOTCONN, "stats before hello");
		k = (int)vif_json(v, text, sizeof(text));
		return reply(conn, 0, text, (size_t)k < sizeof(text) ? (size_t)k : 0, NULL, 0);
	case SWP_LIST:
		k = sw_list_json(sw, text, sizeof(text));
		return k < 0 ? reply_err(conn, -E2BIG, "list too long") : reply(conn, 0, text, (size_t)k, NULL, 0);
	case SWP_STOP:
		*stop_req = 1;
		reply(conn, 0, "", 0, NULL, 0);
		return -1;
	default:
		return reply_err(conn, -EPROTO, "unexpected message");
	}
}

/* ---- the serve loop ---- */

/* One packet from conn: 0 to keep it, -1 to close it. */
static int serve_conn(struct sw *sw, int conn, int *stop_req)
{
	static char buf[SWP_MSG_MAX];
	union {
		char buf[CMSG_SPACE(sizeof(int) * SWP_FDS_MAX)];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
			     .msg_controllen = sizeof(cm.buf) };
	int fds[SWP_FDS_MAX];
	unsigned nfds = 0;
	ssize_t n = recvmsg(conn, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0)
		return -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (nfds < SWP_FDS_MAX)
				fds[nfds++] = fd;
			else
				close(fd);
		}
	}
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		for (unsigned i = 0; i < nfds; i++)
			close(fds[i]);
		return reply_err(conn, -EPROTO, "packet or descriptors truncated (too many or too long)");
	}
	return sw_handle(sw, conn, buf, (size_t)n, fds, nfds, stop_req);
}

int sw_serve(struct sw *sw, int listen_fd, volatile sig_atomic_t *stop)
{
	struct pollfd pf[1 + SW_MAX_CONNS];
	unsigned nconn = 0;
	int stop_req = 0;

	pf[0].fd = listen_fd;
	pf[0].events = POLLIN;
	while (!*stop && !stop_req) {
		int r = poll(pf, 1 + nconn, 1000);

		if (r < 0 && errno != EINTR)
			return -errno;
		if (r <= 0)
			continue;
		for (unsigned i = 1; i <= nconn; i++) {
			if (!pf[i].revents)
				continue;
			if (serve_conn(sw, pf[i].fd, &stop_req) < 0 || (pf[i].revents & (POLLHUP | POLLERR) &&
									 !(pf[i].revents & POLLIN))) {
				sw_conn_closed(sw, pf[i].fd);
				close(pf[i].fd);
				pf[i] = pf[nconn--];
				i--;
			}
		}
		if (pf[0].revents & POLLIN) {
			int c = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

			if (c >= 0 && nconn < SW_MAX_CONNS) {
				nconn++;
				pf[nconn].fd = c;
				pf[nconn].events = POLLIN;
				pf[nconn].revents = 0;
			} else if (c >= 0) {
				reply_err(c, -EMFILE, "too many connections to this switch");
				close(c);
			}
		}
	}
	for (unsigned i = 1; i <= nconn; i++) {
		sw_conn_closed(sw, pf[i].fd);
		close(pf[i].fd);
	}
	return 0;
}
