// SPDX-License-Identifier: MIT
/* A vif on a domain switch: the VMM's side of the link (netdev_switch.h). */
#include "netdev_switch_priv.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <fcntl.h>

#include "confine.h"
#include "domain.h"
#include "evtchn.h"
#include "jsondoc.h"
#include "netback.h"
#include "switch_proto.h"
#include "xenith/grant_table.h"

#define REPLY_TIMEOUT_MS 10000


int swlink_kick_fd(const struct swlink *l, unsigned q)
{
	return q < l->nr_queues ? l->kick[q] : -1;
}

/* Turns the switch's notifies into event-channel sends; notices the switch going away. */
static void *link_thread(void *arg)
{
	struct swlink *l = arg;
	struct pollfd pf[2 + 2 * XENITH_NET_MAX_QUEUES];
	unsigned n = 0;

	confine_backend_thread();
	pf[n++] = (struct pollfd){ .fd = l->stop_efd, .events = POLLIN };
	pf[n++] = (struct pollfd){ .fd = l->sock, .events = 0 }; /* POLLHUP: the switch is gone */
	for (unsigned q = 0; q < l->nr_queues; q++)
		for (unsigned r = 0; r < 2; r++)
			pf[n++] = (struct pollfd){ .fd = l->notify[q][r], .events = POLLIN };
	for (;;) {
		if (ppoll(pf, n, NULL, NULL) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[0].revents)
			break;
		if (pf[1].revents & (POLLHUP | POLLERR)) {
			atomic_store(&l->dead, true);
			fprintf(stderr, "xenith: vif %u: switch %s (%s) is gone; the vif is disconnected (the domain "
				"runs on; `xenith switch start %s` and reboot the domain to reconnect)\n", l->vif,
				l->name, l->path, l->name);
			break;
		}
		pthread_mutex_lock(&l->notify_lock);
		for (unsigned i = 2; i < n; i++) {
			unsigned q = (i - 2) / 2, r = (i - 2) % 2;
			uint64_t c;

			if (!(pf[i].revents & POLLIN) || read(pf[i].fd, &c, sizeof(c)) != sizeof(c))
				continue;
			evtchn_backend_notify(l->d, atomic_load(&l->evtchn[q][r]), l->kick[q]);
		}
		pthread_mutex_unlock(&l->notify_lock);
	}
	return NULL;
}

/* Reads one reply (fds: up to max descriptors) within the timeout: its status, or -errno. */
static int read_reply(struct swlink *l, int *fds, unsigned max, unsigned *nfds, char *text, size_t size)
{
	static _Thread_local char buf[SWP_MSG_MAX];
	union {
		char buf[CMSG_SPACE(sizeof(int) * XENITH_NET_MAX_QUEUES)];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct pollfd pf = { .fd = l->sock, .events = POLLIN };
	struct timespec ts = { REPLY_TIMEOUT_MS / 1000, 0 };
	ssize_t n;
	int r;

	*nfds = 0;
	if (max) {
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
	}
	r = ppoll(&pf, 1, &ts, NULL);
	if (r <= 0 || !(pf.revents & POLLIN)) {
		atomic_store(&l->dead, true); /* a late reply would answer the next request */
		snprintf(text, size, "the switch did not answer within %d s", REPLY_TIMEOUT_MS / 1000);
		return -ETIMEDOUT;
	}
	n = max ? recvmsg(l->sock, &mh, MSG_CMSG_CLOEXEC) : read(l->sock, buf, sizeof(buf));
	if (n <= 0) {
		atomic_store(&l->dead, true);
		snprintf(text, size, "the switch closed the connection");
		return -EPIPE;
	}
	for (struct cmsghdr *c = max ? CMSG_FIRSTHDR(&mh) : NULL; c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*nfds < max)
				fds[(*nfds)++] = fd;
			else
				close(fd);
		}
	}
	r = swp_reply_text(buf, (size_t)n, text, size);
	if (r == -EPROTO) {
		char why[160];

		snprintf(why, sizeof(why), "%s", text);
		snprintf(text, size, "bad reply from the switch: %s", why);
	}
	return r;
}

/* The read-only-frames bitmap in a memfd of its own (the switch copies it once). */
static int ro_memfd(struct domain *d)
{
	uint64_t bytes = (d->mem_size / 4096 + 63) / 64 * 8;
	int fd = memfd_create("xenith:ro-frames", MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)bytes) < 0 ||
	    (d->ro_frames && pwrite(fd, d->ro_frames, bytes, 0) != (ssize_t)bytes)) {
		close(fd);
		return -EIO;
	}
	return fd;
}

static int send_hello(struct swlink *l, const uint8_t mac[6], uint32_t mode, bool takeover, int ro_fd)
{
	struct domain *d = l->d;
	struct swp_hello h = { 0 };
	int fds[SWP_FDS_MAX];
	unsigned nfds = 0;

	swp_hdr_init(&h.h, SWP_HELLO, sizeof(h));
	h.mem_size = d->mem_size;
	h.min_gpa = d->layout.free_start;
	h.domid = d->domid;
	h.vif = l->vif;
	h.mode = mode;
	h.nr_queues = l->nr_queues;
	memcpy(h.mac, mac, 6);
	h.flags = takeover ? SWP_HELLO_TAKEOVER : 0;
	snprintf(h.domain, sizeof(h.domain), "%s", d->cfg.name);
	fds[nfds++] = d->mem_fd;
	fds[nfds++] = ro_fd;
	for (unsigned q = 0; q < l->nr_queues; q++) {
		fds[nfds++] = l->notify[q][0];
		fds[nfds++] = l->notify[q][1];
	}
	return swp_send(l->sock, &h, sizeof(h), fds, nfds, 0);
}

int swlink_open(unsigned vif, const char *name, struct swlink **out, struct errbuf *eb)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct swlink *l;
	char dir[256];

	l = calloc(1, sizeof(*l));
	if (!l)
		return errbuf_set(eb, ENOMEM, "vif %u: out of memory", vif);
	l->vif = vif;
	l->sock = l->stop_efd = -1;
	pthread_mutex_init(&l->req_lock, NULL);
	pthread_mutex_init(&l->notify_lock, NULL);
	for (unsigned q = 0; q < XENITH_NET_MAX_QUEUES; q++)
		l->kick[q] = l->notify[q][0] = l->notify[q][1] = -1;
	*out = l; /* swlink_close copes with a half-built link */
	snprintf(l->name, sizeof(l->name), "%s", name);
	swp_default_run_dir(dir, sizeof(dir));
	if (swp_socket_path(dir, name, l->path, sizeof(l->path)) < 0)
		return errbuf_set(eb, ENAMETOOLONG, "vif %u: port=switch:%s: the socket path under %s is too long "
				  "for a Unix socket", vif, name, dir);
	strcpy(a.sun_path, l->path);
	l->sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (l->sock < 0 || connect(l->sock, (struct sockaddr *)&a, sizeof(a)) < 0)
		return errbuf_set(eb, errno, "vif %u: port=switch:%s: no switch answers at %s (%s); start it with "
				  "`xenith switch start %s`", vif, name, l->path, strerror(errno), name);
	return 0;
}

/* Lets go of what an attach made (its thread, eventfds), the socket stays. */
static void release(struct swlink *l)
{
	if (l->thread_started) {
		uint64_t one = 1;

		if (write(l->stop_efd, &one, sizeof(one)) == sizeof(one))
			pthread_join(l->thread, NULL);
		l->thread_started = false;
	}
	if (l->stop_efd >= 0)
		close(l->stop_efd);
	l->stop_efd = -1;
	for (unsigned q = 0; q < XENITH_NET_MAX_QUEUES; q++) {
		if (l->kick[q] >= 0)
			close(l->kick[q]);
		for (unsigned k = 0; k < 2; k++)
			if (l->notify[q][k] >= 0)
				close(l->notify[q][k]);
		l->kick[q] = l->notify[q][0] = l->notify[q][1] = -1;
	}
	l->attached = false;
}

int swlink_attach(struct swlink *l, struct domain *d, const uint8_t mac[6], unsigned nr_queues, uint32_t mode,
		  bool takeover, struct errbuf *eb)
{
	unsigned vif = l->vif, nfds;
	const char *name = l->name;
	char text[512];
	int ro_fd, r;

	if (atomic_load(&l->dead))
		return errbuf_set(eb, ENOTCONN, "vif %u: switch %s (%s) is gone; `xenith switch start %s` and start "
				  "the domain again", vif, name, l->path, name);
	if (l->attached)
		return errbuf_set(eb, EBUSY, "vif %u: attached to switch %s already", vif, name);
	if (d->mem_fd < 0)
		return errbuf_set(eb, EINVAL, "vif %u: port=switch:%s: the domain's memory is not a memfd", vif, name);
	l->d = d;
	l->nr_queues = nr_queues;
	l->stop_efd = eventfd(0, EFD_CLOEXEC);
	if (l->stop_efd < 0)
		return errbuf_set(eb, errno, "vif %u: eventfd: %s", vif, strerror(errno));
	for (unsigned q = 0; q < nr_queues; q++)
		for (unsigned k = 0; k < 2; k++)
			if ((l->notify[q][k] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
				r = errbuf_set(eb, errno, "vif %u: eventfd: %s", vif, strerror(errno));
				goto release;
			}
	ro_fd = ro_memfd(d);
	if (ro_fd < 0) {
		r = errbuf_set(eb, -ro_fd, "vif %u: the read-only frame map for the switch: %s", vif, strerror(-ro_fd));
		goto release;
	}
	r = send_hello(l, mac, mode, takeover, ro_fd);
	close(ro_fd);
	if (r < 0) {
		r = errbuf_set(eb, -r, "vif %u: port=switch:%s: sending the vif to %s: %s", vif, name, l->path,
			       strerror(-r));
		goto release;
	}
	r = read_reply(l, l->kick, nr_queues, &nfds, text, sizeof(text));
	if (r == 0 && nfds != nr_queues) {
		snprintf(text, sizeof(text), "%u kick eventfds for %u queues", nfds, nr_queues);
		r = -EPROTO;
	}
	if (r < 0) {
		r = errbuf_set(eb, -r, "vif %u: port=switch:%s (%s) refused the vif: %s", vif, name, l->path, text);
		goto release;
	}
	l->attached = true;
	r = pthread_create(&l->thread, NULL, link_thread, l);
	if (r) {
		r = errbuf_set(eb, r, "vif %u: the switch link's thread: %s", vif, strerror(r));
		goto release;
	}
	l->thread_started = true;
	return 0;

release:
	release(l);
	return r;
}

/* One request without descriptors and its reply; req_lock held by the caller. */
int swlink_request(struct swlink *l, const void *msg, size_t len, char *text, size_t size)
{
	unsigned nfds;

	if (atomic_load(&l->dead)) {
		snprintf(text, size, "switch %s is gone (%s)", l->name, l->path);
		return -ENOTCONN;
	}
	if (write(l->sock, msg, len) != (ssize_t)len) {
		snprintf(text, size, "switch %s: %s", l->name, strerror(errno));
		return -EPIPE;
	}
	return read_reply(l, NULL, 0, &nfds, text, size);
}

void swlink_unbind_all(struct swlink *l)
{
	for (unsigned q = 0; q < l->connected; q++) {
		uint32_t tx = atomic_exchange(&l->evtchn[q][0], 0), rx = atomic_exchange(&l->evtchn[q][1], 0);

		if (tx)
			evtchn_backend_unbind(l->d, tx, l->kick[q]);
		if (rx && rx != tx)
			evtchn_backend_unbind(l->d, rx, l->kick[q]);
	}
	l->connected = 0;
	l->nr_saved = 0;
}

int swlink_bind_queue(struct swlink *l, unsigned q, uint32_t tx_port, uint32_t rx_port)
{
	int r = evtchn_backend_bind(l->d, tx_port, l->kick[q]);

	if (r == 0 && rx_port != tx_port) {
		r = evtchn_backend_bind(l->d, rx_port, l->kick[q]);
		if (r < 0)
			evtchn_backend_unbind(l->d, tx_port, l->kick[q]);
	}
	if (r < 0)
		return r;
	atomic_store(&l->evtchn[q][0], tx_port);
	atomic_store(&l->evtchn[q][1], rx_port);
	l->connected = q + 1;
	return 0;
}

int swlink_connect(struct swlink *l, unsigned nq, const struct netdev_ring_refs *refs, char *msg, size_t msglen)
{
	struct domain *d = l->d;
	struct swp_connect c = { 0 };
	uint32_t entries = atomic_load(&d->gnttab.nr_entries);
	int r = 0;

	pthread_mutex_lock(&l->req_lock);
	if (l->connected) {
		snprintf(msg, msglen, "connected already");
		r = -EBUSY;
		goto out;
	}
	for (unsigned q = 0; q < nq; q++) {
		r = swlink_bind_queue(l, q, refs[q].tx_port, refs[q].rx_port);
		if (r < 0) {
			snprintf(msg, msglen, "queue %u: event channel %u/%u: %s", q, refs[q].tx_port, refs[q].rx_port,
				 strerror(-r));
			goto out;
		}
		c.q[q].tx_ref = refs[q].tx_ref;
		c.q[q].rx_ref = refs[q].rx_ref;
	}
	swp_hdr_init(&c.h, SWP_CONNECT, sizeof(c));
	c.table_gpa = d->gnttab.gpa;
	c.table_frames = entries / (uint32_t)XENITH_GNTTAB_ENTRIES_PER_FRAME;
	c.nr_queues = nq;
	r = swlink_request(l, &c, sizeof(c), msg, msglen);
out:
	if (r < 0)
		swlink_unbind_all(l);
	pthread_mutex_unlock(&l->req_lock);
	return r;
}

void swlink_disconnect(struct swlink *l)
{
	struct swp_hdr h;
	char text[256];

	pthread_mutex_lock(&l->req_lock);
	if (l->connected) {
		swp_hdr_init(&h, SWP_DISCONNECT, sizeof(h));
		if (swlink_request(l, &h, sizeof(h), text, sizeof(text)) < 0 && !atomic_load(&l->dead))
			fprintf(stderr, "xenith: vif %u: disconnecting from switch %s: %s\n", l->vif, l->name, text);
		swlink_unbind_all(l);
	}
	pthread_mutex_unlock(&l->req_lock);
}

unsigned swlink_connected(struct swlink *l)
{
	unsigned n;

	pthread_mutex_lock(&l->req_lock);
	n = atomic_load(&l->dead) ? 0 : l->connected;
	pthread_mutex_unlock(&l->req_lock);
	return n;
}

/* Adds the netback counters of every queue in the switch's STATS text to *sum. */
static void sum_queues(const char *text, struct netback_stats *sum)
{
	char err[64], *obj = malloc(strlen(text) + 3);
	const struct jv *pq;
	struct jv *doc;

	if (!obj)
		return;
	sprintf(obj, "{%s}", text);
	doc = jv_parse(obj, err, sizeof(err));
	free(obj);
	pq = doc ? jv_get(doc, "per_queue") : NULL;
	for (size_t i = 0; pq && pq->type == JV_ARR && i < pq->n; i++) {
		const struct jv *q = &pq->items[i], *drops = jv_get(q, "drops"), *broken = jv_get(q, "broken");

		sum->tx_packets += (uint64_t)jv_num(q, "tx_packets", 0);
		sum->tx_bytes += (uint64_t)jv_num(q, "tx_bytes", 0);
		sum->rx_packets += (uint64_t)jv_num(q, "rx_packets", 0);
		sum->rx_bytes += (uint64_t)jv_num(q, "rx_bytes", 0);
		sum->csum_filled += (uint64_t)jv_num(q, "csum_filled", 0);
		sum->broken |= broken && broken->type == JV_BOOL && broken->b;
		for (unsigned k = 1; drops && k < NETBACK_DROP_NR; k++)
			sum->drops[k] += (uint64_t)jv_num(drops, netback_drop_name((enum netback_drop)k), 0);
	}
	jv_free(doc);
}

int swlink_stats_json(struct swlink *l, struct netback_stats *sum, char *buf, size_t size)
{
	char *text = malloc(SWP_TEXT_MAX + 1);
	struct swp_hdr h;
	int r = -ENOMEM, n;

	if (text) {
		pthread_mutex_lock(&l->req_lock);
		swp_hdr_init(&h, SWP_STATS, sizeof(h));
		r = swlink_request(l, &h, sizeof(h), text, SWP_TEXT_MAX + 1);
		pthread_mutex_unlock(&l->req_lock);
	}
	if (r < 0) {
		n = snprintf(buf, size, "\"switch\":{\"name\":\"%s\",\"socket\":\"%s\",\"gone\":true}", l->name,
			     l->path);
	} else {
		sum_queues(text, sum);
		n = snprintf(buf, size, "\"switch\":{\"name\":\"%s\",\"socket\":\"%s\",\"gone\":false,%s}", l->name,
			     l->path, text);
	}
	free(text);
	return n < 0 || (size_t)n >= size ? -1 : n;
}

void swlink_detach(struct swlink *l)
{
	struct swp_hdr h;
	char text[256];

	if (!l || !l->attached)
		return;
	swlink_disconnect(l);
	release(l); /* the link thread first: it reads evtchn[] and kick[] */
	pthread_mutex_lock(&l->req_lock);
	swp_hdr_init(&h, SWP_DETACH, sizeof(h));
	if (!atomic_load(&l->dead) && swlink_request(l, &h, sizeof(h), text, sizeof(text)) < 0)
		fprintf(stderr, "xenith: vif %u: detaching from switch %s: %s\n", l->vif, l->name, text);
	pthread_mutex_unlock(&l->req_lock);
}

void swlink_close(struct swlink *l)
{
	if (!l)
		return;
	swlink_detach(l);
	release(l);
	if (l->sock >= 0)
		close(l->sock); /* the switch detaches the vif, if it is still attached */
	pthread_mutex_destroy(&l->req_lock);
	pthread_mutex_destroy(&l->notify_lock);
	free(l);
}
