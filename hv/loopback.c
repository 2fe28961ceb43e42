// SPDX-License-Identifier: MIT
#include "loopback.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "confine.h"
#include "device.h"
#include "domain.h"

struct evtchn_loopback {
	struct domain *d;
	uint32_t port;
	int fd;
	pthread_t thread;
	atomic_bool stop;
	atomic_uint_least64_t *echoes;
};

/* The device's own data: the running loopback, if any. */
struct loopback_dev {
	/* Changed under d->lock (start's check-and-set); read without it (evtchn_loopback_running). */
	struct evtchn_loopback *_Atomic lb;
	uint32_t last_port;             /* under d->lock: the port of the newest start, 0 = none */
	atomic_uint_least64_t echoes;   /* kicks answered, over every start */
};

const struct device_ops loopback_device_ops;

static struct loopback_dev *dev_of(struct domain *d)
{
	struct device *dev = device_find(d, &loopback_device_ops, 0);

	return dev ? dev->priv : NULL;
}

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
		atomic_fetch_add_explicit(lb->echoes, 1, memory_order_relaxed);
	}
	return NULL;
}

int evtchn_loopback_start(struct domain *d, uint32_t port)
{
	struct loopback_dev *ld = dev_of(d);
	struct evtchn_loopback *lb;
	sigset_t all, old;
	int r;

	if (!ld)
		return -ENOSYS;
	lb = calloc(1, sizeof(*lb));
	if (!lb)
		return -ENOMEM;
	lb->d = d;
	lb->port = port;
	lb->echoes = &ld->echoes;
	lb->fd = eventfd(0, EFD_CLOEXEC);
	if (lb->fd < 0) {
		r = -errno;
		free(lb);
		return r;
	}
	pthread_mutex_lock(&d->lock);
	r = ld->lb ? -EBUSY : 0;
	if (!r)
		ld->lb = lb;
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
	pthread_mutex_lock(&d->lock);
	if (r && ld->lb == lb)
		ld->lb = NULL;
	if (!r)
		ld->last_port = port;
	pthread_mutex_unlock(&d->lock);
	if (r) {
		close(lb->fd);
		free(lb);
	}
	return r;
}

void evtchn_loopback_stop(struct domain *d)
{
	struct loopback_dev *ld = dev_of(d);
	struct evtchn_loopback *lb;
	uint64_t one = 1;

	if (!ld)
		return;
	pthread_mutex_lock(&d->lock);
	lb = ld->lb;
	ld->lb = NULL;
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

bool evtchn_loopback_running(struct domain *d)
{
	struct loopback_dev *ld = dev_of(d);

	return ld && atomic_load(&ld->lb) != NULL;
}

static int loopback_create(struct domain *d, const struct domain_opts *opts, struct errbuf *eb)
{
	struct loopback_dev *ld;
	int r;

	(void)opts;
	if (!d->test_hooks)
		return 0; /* the hypercall that starts it is a test hook */
	ld = calloc(1, sizeof(*ld));
	if (!ld)
		return errbuf_set(eb, ENOMEM, "out of memory for the test loopback");
	r = device_add(d, &loopback_device_ops, ld, NULL, eb);
	if (r < 0)
		free(ld);
	return r;
}

static void loopback_disconnect(struct device *dev)
{
	evtchn_loopback_stop(dev->d);
}

static void loopback_destroy(struct device *dev)
{
	free(dev->priv);
}

static int loopback_stats_json(struct device *dev, char *buf, size_t size)
{
	struct loopback_dev *ld = dev->priv;
	struct domain *d = dev->d;
	bool running;
	uint32_t port;
	int k;

	pthread_mutex_lock(&d->lock);
	running = ld->lb != NULL;
	port = ld->last_port;
	pthread_mutex_unlock(&d->lock);
	k = snprintf(buf, size, "{\"running\":%s,\"port\":%u,\"echoes\":%llu}", running ? "true" : "false",
		     running ? port : 0, (unsigned long long)atomic_load(&ld->echoes));
	return k >= 0 && (size_t)k < size ? k : -1;
}

/*
 * An idle loopback has no state (the domain's test hypercalls start it):
 * it saves as nothing, so a test domain can be saved and migrated.  A
 * running one (a thread bound to a port) is refused.
 */
static int loopback_save(struct device *dev, struct savebuf *out, struct errbuf *eb)
{
	(void)out;
	if (evtchn_loopback_running(dev->d))
		return errbuf_set(eb, ENOTSUP, "%s: the test loopback is running (XENITH_TEST_EVTCHN_LOOPBACK); "
				  "its thread is not saved", dev->name);
	return 0;
}

static int loopback_restore(struct device *dev, const void *data, size_t len, struct errbuf *eb)
{
	(void)data;
	if (len)
		return errbuf_set(eb, EPROTO, "%s: %zu bytes of state, where an idle loopback saves none",
				  dev->name, len);
	return 0;
}

const struct device_ops loopback_device_ops = {
	.type = "loopback",
	.create = loopback_create,
	.disconnect = loopback_disconnect,
	.save = loopback_save,
	.restore = loopback_restore,
	.stats_json = loopback_stats_json,
	.destroy = loopback_destroy,
};
