// SPDX-License-Identifier: MIT
#include "loopback.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "confine.h"
#include "domain.h"

struct evtchn_loopback {
	struct domain *d;
	uint32_t port;
	int fd;
	pthread_t thread;
	atomic_bool stop;
};

static void *loopback_thread(void *arg)
{
	struct evtchn_loopback *lb = arg;
	uint64_t n;

	confine_thread(CONFINE_LOOPBACK);
	for (;;) {
		if (read(lb->fd, &n, sizeof(n)) != sizeof(n) && errno != EINTR)
			break;
		if (atomic_load(&lb->stop))
			break;
		evtchn_backend_notify(lb->d, lb->port, lb->fd); /* false once the guest closed it */
	}
	return NULL;
}

int evtchn_loopback_start(struct domain *d, uint32_t port)
{
	struct evtchn_loopback *lb = calloc(1, sizeof(*lb));
	sigset_t all, old;
	int r;

	if (!lb)
		return -ENOMEM;
	lb->d = d;
	lb->port = port;
	lb->fd = eventfd(0, EFD_CLOEXEC);
	if (lb->fd < 0) {
		r = -errno;
		free(lb);
		return r;
	}
	pthread_mutex_lock(&d->lock);
	r = d->loopback ? -EBUSY : 0;
	if (!r)
		d->loopback = lb;
	pthread_mutex_unlock(&d->lock);
	if (!r)
		r = evtchn_backend_bind(d, port, lb->fd);
	if (!r) {
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		r = -pthread_create(&lb->thread, NULL, loopback_thread, lb);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (r)
			evtchn_backend_unbind(d, port, lb->fd);
	}
	if (r) {
		pthread_mutex_lock(&d->lock);
		if (d->loopback == lb)
			d->loopback = NULL;
		pthread_mutex_unlock(&d->lock);
		close(lb->fd);
		free(lb);
	}
	return r;
}

void evtchn_loopback_stop(struct domain *d)
{
	struct evtchn_loopback *lb;
	uint64_t one = 1;

	pthread_mutex_lock(&d->lock);
	lb = d->loopback;
	d->loopback = NULL;
	pthread_mutex_unlock(&d->lock);
	if (!lb)
		return;
	atomic_store(&lb->stop, true);
	if (write(lb->fd, &one, sizeof(one)) < 0) {
		/* the counter is full: the thread is awake anyway */
	}
	pthread_join(lb->thread, NULL);
	evtchn_backend_unbind(d, lb->port, lb->fd);
	close(lb->fd);
	free(lb);
}
