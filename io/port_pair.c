// SPDX-License-Identifier: MIT
#include "port_pair.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* One direction: frames sent on one end, waiting to be received on the other. */
struct pp_queue {
	pthread_mutex_t lock;
	uint32_t head, tail; /* free-running; tail - head frames are queued */
	uint16_t len[PORT_PAIR_DEPTH];
	uint8_t (*data)[NET_PORT_FRAME_MAX];
	int efd;             /* readable while frames are queued (the receiving end's rx_fd) */
};

struct pp_shared;

struct pp_end {
	struct net_port port;
	struct pp_shared *sh;
	unsigned side;       /* 0 or 1 */
	bool open;
};

struct pp_shared {
	struct pp_end end[2];
	struct pp_queue q[2]; /* q[i]: frames for end i */
	char name[48];        /* registered under this name, or "" */
	unsigned opened;      /* named pairs: ends handed out (0..2) */
	struct pp_shared *next;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pp_shared *registry;

static int pp_send(struct net_port *p, const struct net_frame *frames, unsigned n)
{
	struct pp_end *e = (struct pp_end *)p;
	struct pp_queue *q = &e->sh->q[e->side ^ 1];
	unsigned taken = 0;
	bool was_empty;

	pthread_mutex_lock(&q->lock);
	was_empty = q->tail == q->head;
	for (; taken < n && q->tail - q->head < PORT_PAIR_DEPTH; taken++) {
		uint32_t s = q->tail % PORT_PAIR_DEPTH;
		uint16_t len = frames[taken].len;

		if (len > NET_PORT_FRAME_MAX)
			len = NET_PORT_FRAME_MAX; /* netback never sends more; a test might */
		memcpy(q->data[s], frames[taken].data, len);
		q->len[s] = len;
		q->tail++;
	}
	if (was_empty && taken) {
		uint64_t one = 1;

		if (write(q->efd, &one, sizeof(one)) < 0) {
			/* saturated: readable anyway */
		}
	}
	pthread_mutex_unlock(&q->lock);
	return (int)taken;
}

static int pp_recv(struct net_port *p, struct net_frame *frames, unsigned n)
{
	struct pp_end *e = (struct pp_end *)p;
	struct pp_queue *q = &e->sh->q[e->side];
	unsigned got = 0;

	pthread_mutex_lock(&q->lock);
	for (; got < n && q->head != q->tail; got++) {
		uint32_t s = q->head % PORT_PAIR_DEPTH;
		uint16_t len = q->len[s] < frames[got].cap ? q->len[s] : frames[got].cap;

		memcpy(frames[got].data, q->data[s], len);
		frames[got].len = len;
		q->head++;
	}
	if (q->head == q->tail) {
		uint64_t v;

		if (read(q->efd, &v, sizeof(v)) < 0) {
			/* EAGAIN: not readable */
		}
	}
	pthread_mutex_unlock(&q->lock);
	return (int)got;
}

static int pp_rx_fd(struct net_port *p)
{
	struct pp_end *e = (struct pp_end *)p;

	return e->sh->q[e->side].efd;
}

static int pp_stats_json(struct net_port *p, char *buf, size_t size)
{
	struct pp_end *e = (struct pp_end *)p;
	struct pp_queue *q = &e->sh->q[e->side];
	uint32_t queued;
	int n;

	pthread_mutex_lock(&q->lock);
	queued = q->tail - q->head;
	pthread_mutex_unlock(&q->lock);
	n = snprintf(buf, size, "\"kind\":\"pair\",\"name\":\"%s\",\"side\":%u,\"rx_queued\":%u",
		     e->port.name, e->side, queued);
	return n >= 0 && (size_t)n < size ? n : -1;
}

static void shared_free(struct pp_shared *sh)
{
	for (unsigned i = 0; i < 2; i++) {
		pthread_mutex_destroy(&sh->q[i].lock);
		if (sh->q[i].efd >= 0)
			close(sh->q[i].efd);
		free(sh->q[i].data);
	}
	free(sh);
}

static void pp_close(struct net_port *p)
{
	struct pp_end *e = (struct pp_end *)p;
	struct pp_shared *sh = e->sh;
	bool last;

	pthread_mutex_lock(&registry_lock);
	e->open = false;
	last = !sh->end[0].open && !sh->end[1].open;
	if (sh->name[0]) {
		if (last) {
			for (struct pp_shared **pp = &registry; *pp; pp = &(*pp)->next) {
				if (*pp == sh) {
					*pp = sh->next;
					break;
				}
			}
		} else {
			sh->opened--; /* the name may be opened again: it gets this end */
		}
	}
	pthread_mutex_unlock(&registry_lock);
	if (last)
		shared_free(sh);
}

static const struct net_port_ops pp_ops = {
	.kind = "pair",
	.send = pp_send,
	.recv = pp_recv,
	.rx_fd = pp_rx_fd,
	.stats_json = pp_stats_json,
	.close = pp_close,
};

static int shared_new(const char *name, struct pp_shared **out)
{
	struct pp_shared *sh = calloc(1, sizeof(*sh));

	*out = NULL;
	if (!sh)
		return -ENOMEM;
	for (unsigned i = 0; i < 2; i++) {
		sh->q[i].efd = -1;
		pthread_mutex_init(&sh->q[i].lock, NULL);
	}
	for (unsigned i = 0; i < 2; i++) {
		struct pp_queue *q = &sh->q[i];

		q->data = malloc((size_t)PORT_PAIR_DEPTH * NET_PORT_FRAME_MAX);
		if (!q->data) {
			shared_free(sh);
			return -ENOMEM;
		}
		q->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (q->efd < 0) {
			int r = -errno;

			shared_free(sh);
			return r;
		}
		sh->end[i].port.ops = &pp_ops;
		snprintf(sh->end[i].port.name, sizeof(sh->end[i].port.name), "pair:%s", name);
		sh->end[i].sh = sh;
		sh->end[i].side = i;
		sh->end[i].open = true;
	}
	*out = sh;
	return 0;
}

int port_pair_create(const char *name, struct net_port **a, struct net_port **b)
{
	struct pp_shared *sh;
	int r = shared_new(name, &sh);

	*a = *b = NULL;
	if (r < 0)
		return r;
	*a = &sh->end[0].port;
	*b = &sh->end[1].port;
	return 0;
}

int port_pair_open(const char *name, struct net_port **out)
{
	struct pp_shared *sh;
	int r = 0;

	*out = NULL;
	if (!name[0] || strlen(name) >= sizeof(sh->name))
		return -EINVAL;
	pthread_mutex_lock(&registry_lock);
	for (sh = registry; sh; sh = sh->next)
		if (strcmp(sh->name, name) == 0)
			break;
	if (!sh) {
		r = shared_new(name, &sh);
		if (r == 0) {
			snprintf(sh->name, sizeof(sh->name), "%s", name);
			sh->end[0].open = sh->end[1].open = false;
			sh->next = registry;
			registry = sh;
		}
	}
	if (r == 0) {
		if (sh->opened == 2) {
			r = -EBUSY;
		} else {
			struct pp_end *e = !sh->end[0].open ? &sh->end[0] : &sh->end[1];

			e->open = true;
			sh->opened++;
			*out = &e->port;
		}
	}
	pthread_mutex_unlock(&registry_lock);
	return r;
}
