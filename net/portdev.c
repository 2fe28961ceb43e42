// SPDX-License-Identifier: MIT
/* The network programs' device over a network port (portdev.h). */
#include "portdev.h"

#include <poll.h>
#include <string.h>
#include <time.h>

static void pd_flush(void *dev)
{
	struct net_portdev *d = dev;
	int n;

	if (!d->nq)
		return;
	n = d->port->ops->send(d->port, d->q, d->nq);
	d->bursts++;
	if (n < 0) {
		d->send_error = n;
		n = 0;
	}
	d->sent += (unsigned)n;
	d->send_dropped += d->nq - (unsigned)n;
	d->nq = 0;
}

static int pd_send(void *dev, const uint8_t *frame, size_t len)
{
	struct net_portdev *d = dev;

	if (len > NET_PORT_FRAME_MAX)
		return -NET_ENOBUFS; /* the stack never builds one; a port cannot carry it */
	if (d->nq == NET_PORT_BURST)
		pd_flush(d);
	memcpy(d->qbuf[d->nq], frame, len);
	d->q[d->nq].len = (uint16_t)len;
	d->nq++;
	return 0;
}

static unsigned pd_poll(void *dev, struct net_stack *s, unsigned max)
{
	struct net_portdev *d = dev;
	unsigned n = 0;

	while (n < max) {
		unsigned want = max - n < NET_PORT_BURST ? max - n : NET_PORT_BURST;
		int got = d->port->ops->recv(d->port, d->r, want);

		if (got <= 0)
			break;
		for (int i = 0; i < got; i++)
			net_input(s, d->r[i].data, d->r[i].len);
		n += (unsigned)got;
		if ((unsigned)got < want)
			break;
	}
	d->received += n;
	return n;
}

static void pd_wait(void *dev, uint64_t ns)
{
	struct net_portdev *d = dev;
	int fd = d->port->ops->rx_fd ? d->port->ops->rx_fd(d->port) : -1;
	struct timespec ts;

	if (fd < 0 && ns > 50000)
		ns = 50000; /* nothing to wait on: poll the port again soon */
	ts = (struct timespec){ (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) };
	if (fd >= 0) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		ppoll(&p, 1, &ts, NULL);
	} else {
		nanosleep(&ts, NULL);
	}
}

static uint64_t pd_now(void *dev)
{
	struct timespec ts;

	(void)dev;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

const struct net_dev_ops net_portdev_ops = {
	.send = pd_send, .flush = pd_flush, .poll = pd_poll, .wait = pd_wait, .now_ns = pd_now,
};

void net_portdev_init(struct net_portdev *d, struct net_port *p)
{
	memset(d, 0, sizeof(*d));
	d->port = p;
	for (unsigned i = 0; i < NET_PORT_BURST; i++) {
		d->q[i] = (struct net_frame){ .data = d->qbuf[i], .cap = NET_PORT_FRAME_MAX };
		d->r[i] = (struct net_frame){ .data = d->rbuf[i], .cap = NET_PORT_FRAME_MAX + 1 };
	}
}
