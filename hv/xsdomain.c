// SPDX-License-Identifier: MIT
#include "xsdomain.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "domain.h"
#include "evtchn.h"
#include "xenstore.h"

struct xsdomain {
	struct domain *d;
	struct xs_store *store;
	struct xs_conn *conn;         /* set at build, cleared at teardown: no vCPU runs then */
	atomic_bool broken;           /* the store stopped the connection (xs_conn_process) */
	/*
	 * notify() may come from any thread that changes the store (a control
	 * request, a backend): live, under notify_lock, says guest memory and
	 * shared_info are still there.  Never held while calling the store.
	 */
	pthread_mutex_t notify_lock;
	bool live;
	char uuid[37];                /* the domain's /vm/UUID, kept across reboots as Xen keeps it */
};

static void notify(void *opaque)
{
	struct xsdomain *x = opaque;

	pthread_mutex_lock(&x->notify_lock);
	if (x->live)
		evtchn_set_pending(x->d, EVTCHN_XENSTORE_PORT);
	pthread_mutex_unlock(&x->notify_lock);
}

/* A version-4 UUID; Xenith has no other (xl takes one from the config or makes one so). */
static void make_uuid(char out[37])
{
	uint8_t b[16];

	if (getrandom(b, sizeof(b), GRND_NONBLOCK) != (ssize_t)sizeof(b)) {
		uint64_t t = now_ns();

		for (unsigned i = 0; i < sizeof(b); i++)
			b[i] = (uint8_t)(t >> (8 * (i % 8)) ^ (uint8_t)(i * 37u));
	}
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
		 b[14], b[15]);
}

static struct xsdomain *xsdomain_new(struct domain *d)
{
	struct xsdomain *x = calloc(1, sizeof(*x));

	if (!x)
		return NULL;
	x->store = xs_store_new(&xs_quota_default);
	if (!x->store) {
		free(x);
		return NULL;
	}
	x->d = d;
	pthread_mutex_init(&x->notify_lock, NULL);
	make_uuid(x->uuid);
	return x;
}

/* Writing the tree: the first failure is kept, with its path. */
struct tree {
	struct xs_store *s;
	int err;
	char where[160];
};

static void fail_at(struct tree *t, int r, const char *what, const char *path)
{
	if (r < 0 && !t->err) {
		t->err = r;
		snprintf(t->where, sizeof(t->where), "%s %s", what, path);
	}
}

static void put(struct tree *t, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void put(struct tree *t, const char *path, const char *fmt, ...)
{
	char val[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	fail_at(t, xs_write(t->s, path, val, n < 0 ? 0 : strlen(val)), "writing", path);
}

static void perms(struct tree *t, const char *path, const char *p0, const char *p1)
{
	const char *const p[2] = { p0, p1 };

	fail_at(t, xs_set_perms(t->s, path, p, p1 ? 2 : 1), "setting the permissions of", path);
}

/*
 * What xl (libxl__domain_make, libxl__build_post) writes for a new PV
 * domain, as far as it is true here.  ID is the domain id, UUID the
 * domain's; "ro": owner domain 0, ID may read (libxl's roperm, which the
 * nodes below inherit); "rw": owner ID (libxl's rwperm).
 *
 *   /local/domain/0/name               "Domain-0"  (once; domain 0 is the VMM,
 *   /local/domain/0/domid              "0"          where backends live; owner 0, no access)
 *   /local/domain/ID                   ""          ro
 *     name                             the domain's name
 *     domid                            ID
 *     vm                               "/vm/UUID"
 *     memory/static-max                memory in KiB
 *     memory/target                    memory in KiB (no balloon: the same)
 *     cpu/N/availability               "online", N = 0 .. vcpus-1
 *     store/port                       the store's event channel (start_info's store_evtchn)
 *     store/ring-ref                   the store ring's frame number (gpa / 4096)
 *     console/port                     the console's event channel
 *     console/ring-ref                 the console ring's frame (Xen's xencons layout)
 *     control                          ""          ro
 *     control/shutdown                 ""          rw
 *     device                           ""          ro (frontends' directories go below)
 *     data, drivers, feature, attr, error  ""      rw
 *   /vm/UUID                           ""          ro
 *     uuid, name
 *
 * Not written, though xl writes them: image/ (kernel, ostype), start_time,
 * console/type and console/limit (no xenconsoled), control/platform-*,
 * memory/videoram, device/suspend/event-channel (no suspend), and
 * Xen's /libxl/ID tree (the toolstack's own state).
 */
static int write_tree(struct xsdomain *x, struct errbuf *eb)
{
	struct domain *d = x->d;
	struct tree t = { .s = x->store };
	char home[48], vm[64], p[128], own[16], rd[16];
	static const char *const rw_dirs[] = { "data", "drivers", "feature", "attr", "error" };
	int r;

	snprintf(home, sizeof(home), "/local/domain/%u", d->domid);
	snprintf(vm, sizeof(vm), "/vm/%s", x->uuid);
	snprintf(own, sizeof(own), "n%u", d->domid);
	snprintf(rd, sizeof(rd), "r%u", d->domid);
	r = xs_rm(x->store, home);
	if (r < 0 && r != -ENOENT)
		fail_at(&t, r, "removing", home);
	r = xs_rm(x->store, vm);
	if (r < 0 && r != -ENOENT)
		fail_at(&t, r, "removing", vm);

	if (xs_read(x->store, "/local/domain/0/name", p, sizeof(p), NULL) == -ENOENT) {
		fail_at(&t, xs_mkdir(x->store, "/local/domain/0"), "creating", "/local/domain/0");
		perms(&t, "/local/domain/0", "n0", NULL);
		put(&t, "/local/domain/0/name", "Domain-0");
		put(&t, "/local/domain/0/domid", "0");
	}

	fail_at(&t, xs_mkdir(x->store, home), "creating", home);
	perms(&t, home, "n0", rd);
#define AT(...) (snprintf(p, sizeof(p), __VA_ARGS__), p)
	put(&t, AT("%s/name", home), "%s", d->cfg.name);
	put(&t, AT("%s/domid", home), "%u", d->domid);
	put(&t, AT("%s/vm", home), "%s", vm);
	put(&t, AT("%s/memory/static-max", home), "%llu", (unsigned long long)(d->mem_size >> 10));
	put(&t, AT("%s/memory/target", home), "%llu", (unsigned long long)(d->mem_size >> 10));
	for (unsigned i = 0; i < d->nr_vcpus; i++)
		put(&t, AT("%s/cpu/%u/availability", home, i), "online");
	put(&t, AT("%s/store/port", home), "%u", EVTCHN_XENSTORE_PORT);
	put(&t, AT("%s/store/ring-ref", home), "%llu",
	    (unsigned long long)(d->layout.xenstore / XENITH_PAGE_SIZE));
	put(&t, AT("%s/console/port", home), "%u", EVTCHN_CONSOLE_PORT);
	put(&t, AT("%s/console/ring-ref", home), "%llu",
	    (unsigned long long)(d->layout.console / XENITH_PAGE_SIZE));
	fail_at(&t, xs_mkdir(x->store, AT("%s/control", home)), "creating", p);
	put(&t, AT("%s/control/shutdown", home), "%s", "");
	perms(&t, p, own, NULL);
	fail_at(&t, xs_mkdir(x->store, AT("%s/device", home)), "creating", p);
	for (unsigned i = 0; i < sizeof(rw_dirs) / sizeof(rw_dirs[0]); i++) {
		fail_at(&t, xs_mkdir(x->store, AT("%s/%s", home, rw_dirs[i])), "creating", p);
		perms(&t, p, own, NULL);
	}

	fail_at(&t, xs_mkdir(x->store, vm), "creating", vm);
	perms(&t, vm, "n0", rd);
	put(&t, AT("%s/uuid", vm), "%s", x->uuid);
	put(&t, AT("%s/name", vm), "%s", d->cfg.name);
#undef AT
	if (t.err)
		return errbuf_set(eb, -t.err, "xenstore: %s: %s", t.where, strerror(-t.err));
	return 0;
}

int xsdomain_connect(struct domain *d, struct errbuf *eb)
{
	struct xsdomain *x = d->xs;
	struct xenstore_domain_interface *page;
	int r;

	if (!x) {
		x = xsdomain_new(d);
		if (!x)
			return errbuf_set(eb, ENOMEM, "out of memory for the domain's xenstore");
		d->xs = x;
	}
	xsdomain_disconnect(d); /* a build without a teardown before it: none here, but cheap */
	page = domain_gpa_writable(d, d->layout.xenstore, sizeof(*page));
	if (!page)
		return errbuf_set(eb, EFAULT, "xenstore: the ring page at %#llx is not guest memory the "
				  "guest may write", (unsigned long long)d->layout.xenstore);
	r = write_tree(x, eb);
	if (r < 0)
		return r;
	atomic_store(&x->broken, false);
	pthread_mutex_lock(&x->notify_lock);
	x->live = true;
	pthread_mutex_unlock(&x->notify_lock);
	x->conn = xs_conn_new(x->store, d->domid, page, notify, x);
	if (!x->conn) {
		int e = errno;

		pthread_mutex_lock(&x->notify_lock);
		x->live = false;
		pthread_mutex_unlock(&x->notify_lock);
		if (e == EINVAL)
			return errbuf_set(eb, EINVAL, "xenstore: domain id %u is not a guest's (0 is "
					  "domain 0, the VMM; %u and up are Xen's reserved ids)", d->domid,
					  XENITH_DOMID_SELF);
		return errbuf_set(eb, ENOMEM, "out of memory for the guest's xenstore connection");
	}
	return 0;
}

void xsdomain_disconnect(struct domain *d)
{
	struct xsdomain *x = d->xs;

	if (!x)
		return;
	/* First: no notify touches shared_info from here on, whoever changes the store. */
	pthread_mutex_lock(&x->notify_lock);
	x->live = false;
	pthread_mutex_unlock(&x->notify_lock);
	if (x->conn)
		xs_conn_free(x->conn); /* the store writes the ring no more */
	x->conn = NULL;
}

void xsdomain_free(struct domain *d)
{
	struct xsdomain *x = d->xs;

	if (!x)
		return;
	xsdomain_disconnect(d);
	xs_store_free(x->store);
	pthread_mutex_destroy(&x->notify_lock);
	free(x);
	d->xs = NULL;
}

int xsdomain_kick(struct domain *d)
{
	struct xsdomain *x = d->xs;
	int r;

	if (!x || !x->conn)
		return -ENOTCONN;
	if (atomic_load(&x->broken))
		return -EPROTO;
	r = xs_conn_process(x->conn);
	if (r == -EPROTO)
		atomic_store(&x->broken, true);
	return r;
}

struct xs_store *xsdomain_store(struct domain *d)
{
	return d->xs ? d->xs->store : NULL;
}

int xsdomain_dump(struct domain *d, const char *path, size_t max, char **out)
{
	struct xs_store *s = xsdomain_store(d);
	size_t size = 16384;

	*out = NULL;
	if (!s)
		return -ENOTCONN;
	for (;;) {
		char *buf = malloc(size);
		int n;

		if (!buf)
			return -ENOMEM;
		n = xs_dump(s, path ? path : "/", buf, size);
		if (n >= 0) {
			*out = buf;
			return 0;
		}
		free(buf);
		if (n != -ENOSPC)
			return n;
		if (size >= max)
			return -E2BIG;
		size = size * 4 > max ? max : size * 4;
	}
}

int xsdomain_write(struct domain *d, const char *path, const char *value)
{
	struct xs_store *s = xsdomain_store(d);

	return s ? xs_write(s, path, value, strlen(value)) : -ENOTCONN;
}

int xsdomain_save(struct domain *d, struct savebuf *out, struct errbuf *eb)
{
	struct xsdomain *x = d->xs;
	int r;

	if (!x)
		return errbuf_set(eb, ENOTCONN, "xenstore: domain %u has no store yet (it was never built): "
				  "nothing to save", d->domid);
	r = xs_save(x->store, x->conn, out);
	if (r < 0)
		return errbuf_set(eb, -r, "xenstore: saving domain %u's store: %s", d->domid, strerror(-r));
	return 0;
}

/* Whether v is a UUID as make_uuid writes it (8-4-4-4-12 lower-case hex digits). */
static bool is_uuid(const char *v)
{
	for (unsigned i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? v[i] != '-' : !((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'f')))
			return false;
	}
	return v[36] == '\0';
}

int xsdomain_restore(struct domain *d, const void *data, size_t len, struct errbuf *eb)
{
	struct xsdomain *x = d->xs;
	char msg[sizeof(eb->msg)], p[48], vm[64];
	int r;

	if (!x || !x->conn)
		return errbuf_set(eb, ENOTCONN, "xenstore: domain %u has no store or no guest connection "
				  "yet: build the domain before loading its saved store", d->domid);
	r = xs_restore(x->store, x->conn, data, len, msg, sizeof(msg));
	if (r < 0)
		return errbuf_set(eb, -r, "%s", msg); /* msg starts "xenstore: " */
	/*
	 * The tree now names the saved domain's /vm/UUID: keep that UUID, so
	 * that a later reboot's write_tree replaces that directory rather than
	 * leaving it behind (Xen keeps a domain's UUID across migration).
	 */
	snprintf(p, sizeof(p), "/local/domain/%u/vm", d->domid);
	if (xs_read(x->store, p, vm, sizeof(vm), NULL) == 0 && !strncmp(vm, "/vm/", 4) && is_uuid(vm + 4))
		memcpy(x->uuid, vm + 4, sizeof(x->uuid));
	return 0;
}
