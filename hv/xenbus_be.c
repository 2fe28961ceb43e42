// SPDX-License-Identifier: MIT
/* The backend half of a split device's xenstore handshake (xenbus_be.h). */
#include "xenbus_be.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "domain.h"
#include "xenstore.h"

void xenbus_be_set_state(struct xenbus_be *b, enum xenbus_state st)
{
	char p[XENBUS_BE_PATH_MAX + 16];

	snprintf(p, sizeof(p), "%s/state", b->be);
	xs_printf(b->store, p, "%u", (unsigned)st);
	atomic_store(&b->state, st);
}

void xenbus_be_get_state(struct xenbus_be *b, enum xenbus_state *st, char *last_error, size_t size)
{
	*st = XenbusStateUnknown;
	if (size)
		last_error[0] = 0;
	if (!b->store)
		return; /* never published, or stopped: its lock is not there */
	pthread_mutex_lock(&b->lock);
	*st = (enum xenbus_state)atomic_load(&b->state);
	snprintf(last_error, size, "%s", b->last_error);
	pthread_mutex_unlock(&b->lock);
}

int xenbus_be_restore_state(struct xenbus_be *b, enum xenbus_state st, const char *last_error)
{
	int r = 0;

	if ((unsigned)st > XenbusStateReconfigured || strlen(last_error) >= sizeof(b->last_error))
		return -EINVAL;
	if (!b->store)
		return st == XenbusStateUnknown && !last_error[0] ? 0 : -EINVAL;
	pthread_mutex_lock(&b->lock);
	if (!b->published) {
		r = -EINVAL;
	} else {
		snprintf(b->last_error, sizeof(b->last_error), "%s", last_error);
		if (st == XenbusStateConnected) {
			atomic_store(&b->connected_ns, now_ns());
			atomic_fetch_add(&b->nr_connects, 1);
		}
		atomic_store(&b->state, st); /* the store's state key comes with the store */
	}
	pthread_mutex_unlock(&b->lock);
	return r;
}

void xenbus_be_fatal(struct xenbus_be *b, int err, const char *msg)
{
	char p[XENBUS_BE_PATH_MAX + 64], fe_read[16];
	const char *perms[2] = { "n0", fe_read };

	snprintf(p, sizeof(p), "/local/domain/%u/error%s/error", XENITH_BACKEND_DOMID,
		 b->be + strlen("/local/domain/0"));
	xs_printf(b->store, p, "%d %s", err, msg);
	snprintf(fe_read, sizeof(fe_read), "r%u", b->d->domid);
	xs_set_perms(b->store, p, perms, 2);
	snprintf(b->last_error, sizeof(b->last_error), "%s", msg);
	xenbus_be_set_state(b, XenbusStateClosing);
}

int xenbus_be_read_u32(struct xenbus_be *b, const char *key, uint32_t *out, bool *present)
{
	char p[XENBUS_BE_PATH_MAX + 64];
	uint64_t x;
	int r;

	snprintf(p, sizeof(p), "%s/%s", b->fe, key);
	r = xs_read_u64(b->store, p, &x);
	if (present)
		*present = r != -ENOENT;
	if (r == -ENOENT && present)
		return 0;
	if (r < 0)
		return r;
	if (x > UINT32_MAX)
		return -ERANGE;
	*out = (uint32_t)x;
	return 0;
}

static void frontend_changed(void *opaque, const char *path, const char *token)
{
	struct xenbus_be *b = opaque;
	char p[XENBUS_BE_PATH_MAX + 16];
	uint64_t fe = XenbusStateUnknown;

	(void)path;
	(void)token;
	snprintf(p, sizeof(p), "%s/state", b->fe);
	pthread_mutex_lock(&b->lock);
	if (!b->published || xs_read_u64(b->store, p, &fe) < 0)
		goto out;
	switch (fe) {
	case XenbusStateInitialised:
	case XenbusStateConnected:
		if (b->state != XenbusStateInitWait)
			break; /* connected already, or closing after an error */
		if (b->ops->connect(b) == 0) {
			atomic_store(&b->connected_ns, now_ns());
			atomic_fetch_add(&b->nr_connects, 1);
			xenbus_be_set_state(b, XenbusStateConnected);
		}
		break;
	case XenbusStateClosing:
	case XenbusStateClosed:
		b->ops->disconnect(b);
		if (b->state != (int)fe)
			xenbus_be_set_state(b, (enum xenbus_state)fe);
		break;
	case XenbusStateInitialising:
		/* A frontend starting (again): offer the device anew once the old connection is gone. */
		if (b->state == XenbusStateClosed || b->state == XenbusStateClosing) {
			b->ops->disconnect(b);
			b->last_error[0] = 0;
			xenbus_be_set_state(b, XenbusStateInitWait);
		}
		break;
	default:
		break;
	}
out:
	pthread_mutex_unlock(&b->lock);
}

void xenbus_be_init(struct xenbus_be *b, const struct xenbus_be_ops *ops, struct domain *d, struct xs_store *s,
		    unsigned index, const char *be_path, const char *fe_path)
{
	pthread_mutex_init(&b->lock, NULL);
	b->ops = ops;
	b->d = d;
	b->store = s;
	b->index = index;
	snprintf(b->be, sizeof(b->be), "%s", be_path);
	snprintf(b->fe, sizeof(b->fe), "%s", fe_path);
}

int xenbus_be_mkdir(struct xenbus_be *b, bool backend)
{
	char own[16], other[16];
	const char *perms[2] = { own, other };
	const char *dir = backend ? b->be : b->fe;
	int r;

	/* Backend: dom0's, readable by the domain; frontend: the domain's, readable by dom0 (as xl). */
	if (backend) {
		snprintf(own, sizeof(own), "n0");
		snprintf(other, sizeof(other), "r%u", b->d->domid);
	} else {
		snprintf(own, sizeof(own), "n%u", b->d->domid);
		snprintf(other, sizeof(other), "r0");
	}
	r = xs_mkdir(b->store, dir);
	return r < 0 ? r : xs_set_perms(b->store, dir, perms, 2);
}

int xenbus_be_start(struct xenbus_be *b, const char *what, struct errbuf *eb)
{
	char p[XENBUS_BE_PATH_MAX + 16];
	int r;

	atomic_store(&b->state, XenbusStateInitWait);
	pthread_mutex_lock(&b->lock);
	b->published = true;
	pthread_mutex_unlock(&b->lock);
	snprintf(p, sizeof(p), "%s/state", b->fe);
	r = xs_watch(b->store, p, b->ops->kind, frontend_changed, b);
	if (r < 0)
		return errbuf_set(eb, -r, "%s: xenstore watch on %s: %s", what, p, strerror(-r));
	b->watching = true;
	return 0;
}

void xenbus_be_stop(struct xenbus_be *b)
{
	char p[XENBUS_BE_PATH_MAX + 16];

	if (!b->store)
		return;
	if (b->watching) {
		snprintf(p, sizeof(p), "%s/state", b->fe);
		xs_unwatch(b->store, p, b->ops->kind, frontend_changed, b);
	}
	pthread_mutex_lock(&b->lock);
	b->published = false;
	pthread_mutex_unlock(&b->lock);
	xs_rm(b->store, b->be);
	xs_rm(b->store, b->fe);
	pthread_mutex_destroy(&b->lock);
	b->store = NULL;
	b->watching = false;
	atomic_store(&b->state, XenbusStateUnknown); /* the counters stay for `xenith devices` */
}
