// SPDX-License-Identifier: MIT
/*
 * xenbus: the guest's xenstore client (xenbus.h).
 *
 * The ring (xenith/xs_wire.h): we produce req[] and consume rsp[]; the
 * store does the reverse.  Every index we read from the store is checked
 * (at most a ring apart from ours, else the ring is unusable: -XEN_EIO),
 * every message header too (len <= XENSTORE_PAYLOAD_MAX).  Messages may
 * wrap the ring's end and may be longer than the ring: both are copied in
 * as many pieces as it takes, the store being told (a send) when we moved
 * an index it may wait for.
 *
 * The store (the VMM's) answers during our send, so a reply is usually
 * there when the send returns; watch events the VMM's own writes fire come
 * at any time, with the port set pending.  We wait in sched_op poll on the
 * port, in slices of POLL_SLICE_NS: another vCPU holding the lock may
 * clear the port's pending bit after reading our event into the queue, and
 * the slice bounds what that costs us.
 */
#include "xenbus.h"

#include "hypercall.h"

#define WATCH_QUEUE_MAX 256u
#define POLL_SLICE_NS 10000000ull /* 10 ms */
#define PATH_BUF 1024u            /* xenbus_printf's and wait_state's paths */
#define VALUE_BUF 2048u           /* xenbus_printf's value */

struct watch_event {
	struct watch_event *next;
	char *path, *token;
};

static struct {
	struct spinlock lock;          /* one request (or ring reader) at a time */
	struct xenstore_domain_interface *ring;
	uint32_t port;
	bool ready;
	bool broken;                   /* the ring is out of step: every request gets -XEN_EIO */
	bool owe_kick;                 /* we consumed replies the store may be waiting to follow */
	uint32_t next_req_id;
	struct watch_event *head, **tail;
	unsigned queued;
	uint64_t dropped;
	char msg[XENSTORE_PAYLOAD_MAX + 1]; /* the last message read, NUL-terminated */
} xb = { .lock = SPINLOCK_INIT };

/* Xen's error strings (xsd_errors) and their numbers. */
static const struct {
	const char *name;
	int err;
} xs_errors[] = {
	{ "EINVAL", XEN_EINVAL }, { "EACCES", XEN_EACCES }, { "EEXIST", XEN_EEXIST },
	{ "EISDIR", XEN_EISDIR }, { "ENOENT", XEN_ENOENT }, { "ENOMEM", XEN_ENOMEM },
	{ "ENOSPC", XEN_ENOSPC }, { "EIO", XEN_EIO }, { "ENOTEMPTY", XEN_ENOTEMPTY },
	{ "ENOSYS", XEN_ENOSYS }, { "EROFS", XEN_EROFS }, { "EBUSY", XEN_EBUSY },
	{ "EAGAIN", XEN_EAGAIN }, { "EISCONN", XEN_EISCONN }, { "E2BIG", XEN_E2BIG },
	{ "EPERM", XEN_EPERM },
};

static int error_number(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(xs_errors); i++)
		if (!strcmp(name, xs_errors[i].name))
			return -xs_errors[i].err;
	return -XEN_EINVAL; /* as Linux's xenbus does with a string it does not know */
}

/* Lock held. */
static int ready_locked(void)
{
	if (xb.ready)
		return 0;
	if (!start_info->store_ring || !start_info->store_evtchn)
		return -XEN_ENOSYS;
	xb.ring = (struct xenstore_domain_interface *)(uintptr_t)start_info->store_ring;
	xb.port = start_info->store_evtchn;
	xb.next_req_id = 1;
	xb.tail = &xb.head;
	xb.ready = true;
	return 0;
}

int xenbus_init(void)
{
	int r;

	spin_lock(&xb.lock);
	r = ready_locked();
	spin_unlock(&xb.lock);
	return r;
}

static int kick(void)
{
	xb.owe_kick = false;
	if (evtchn_send(xb.port) < 0) {
		xb.broken = true; /* the VMM found our ring unusable */
		return -XEN_EIO;
	}
	return 0;
}

/* Sleeps until the store's port is pending (or a slice or the deadline passed), then clears it. */
static int wait_store(uint64_t deadline)
{
	uint64_t now = monotonic_ns(), t;

	if (xb.owe_kick && kick() < 0)
		return -XEN_EIO;
	if (now >= deadline)
		return -XEN_ETIMEDOUT;
	t = deadline - now < POLL_SLICE_NS ? deadline - now : POLL_SLICE_NS;
	sched_poll(&xb.port, 1, t);
	evtchn_test_and_clear(xb.port); /* before the caller looks at the ring again: no wake-up lost */
	return 0;
}

/* Appends len bytes to the request ring, waiting for room. */
static int ring_put(const void *data, uint32_t len, uint64_t deadline)
{
	struct xenstore_domain_interface *r = xb.ring;
	const char *p = data;

	while (len) {
		/* Acquire: pairs with the store's release of req_cons; it has read what lies before. */
		uint32_t cons = __atomic_load_n(&r->req_cons, __ATOMIC_ACQUIRE);
		uint32_t prod = __atomic_load_n(&r->req_prod, __ATOMIC_RELAXED); /* ours */
		uint32_t used = prod - cons, n;
		int w;

		if (used > XENSTORE_RING_SIZE) {
			xb.broken = true; /* the store's index is impossible */
			return -XEN_EIO;
		}
		if (used == XENSTORE_RING_SIZE) {
			w = kick() < 0 ? -XEN_EIO : wait_store(deadline);
			if (w < 0) {
				xb.broken = true; /* part of a request may be out: the stream is out of step */
				return w;
			}
			continue;
		}
		n = XENSTORE_RING_SIZE - used;
		if (n > XENSTORE_RING_SIZE - MASK_XENSTORE_IDX(prod))
			n = XENSTORE_RING_SIZE - MASK_XENSTORE_IDX(prod);
		if (n > len)
			n = len;
		memcpy(r->req + MASK_XENSTORE_IDX(prod), p, n);
		/* Release: the bytes are in the ring before the store can see the index move. */
		__atomic_store_n(&r->req_prod, prod + n, __ATOMIC_RELEASE);
		p += n;
		len -= n;
	}
	return 0;
}

/* Takes len bytes off the reply ring, waiting for them. */
static int ring_get(void *out, uint32_t len, uint64_t deadline, bool *partial)
{
	struct xenstore_domain_interface *r = xb.ring;
	char *p = out;

	while (len) {
		/* Acquire: pairs with the store's release of rsp_prod; the bytes before it are written. */
		uint32_t prod = __atomic_load_n(&r->rsp_prod, __ATOMIC_ACQUIRE);
		uint32_t cons = __atomic_load_n(&r->rsp_cons, __ATOMIC_RELAXED); /* ours */
		uint32_t avail = prod - cons, n;

		if (avail > XENSTORE_RING_SIZE) {
			xb.broken = true;
			return -XEN_EIO;
		}
		if (!avail) {
			int w = wait_store(deadline);

			if (w < 0) {
				if (*partial)
					xb.broken = true; /* half a message read: out of step */
				return w;
			}
			continue;
		}
		n = avail;
		if (n > XENSTORE_RING_SIZE - MASK_XENSTORE_IDX(cons))
			n = XENSTORE_RING_SIZE - MASK_XENSTORE_IDX(cons);
		if (n > len)
			n = len;
		memcpy(p, r->rsp + MASK_XENSTORE_IDX(cons), n);
		/* Release: we are done with the bytes before the store may write over them. */
		__atomic_store_n(&r->rsp_cons, cons + n, __ATOMIC_RELEASE);
		xb.owe_kick = true;
		*partial = true;
		p += n;
		len -= n;
	}
	return 0;
}

/* One message into *h and xb.msg (NUL-terminated). */
static int read_msg(struct xsd_sockmsg *h, uint64_t deadline)
{
	bool partial = false;
	int r = ring_get(h, sizeof(*h), deadline, &partial);

	if (r < 0)
		return r;
	if (h->len > XENSTORE_PAYLOAD_MAX) {
		xb.broken = true;
		return -XEN_EIO;
	}
	r = ring_get(xb.msg, h->len, deadline, &partial);
	if (r < 0)
		return r;
	xb.msg[h->len] = 0;
	return 0;
}

static char *dup_str(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);

	if (d)
		memcpy(d, s, n);
	return d;
}

/* xb.msg holds a watch event of len bytes: "path\0token\0". */
static void queue_event(uint32_t len)
{
	const char *path = xb.msg, *token;
	struct watch_event *e;
	size_t pl = strlen(path);

	if (pl + 1 >= len) {
		xb.dropped++; /* no token: not an event we can hand anyone */
		return;
	}
	token = path + pl + 1;
	if (xb.queued >= WATCH_QUEUE_MAX || !(e = malloc(sizeof(*e)))) {
		xb.dropped++;
		return;
	}
	e->next = NULL;
	e->path = dup_str(path);
	e->token = dup_str(token);
	if (!e->path || !e->token) {
		free(e->path);
		free(e->token);
		free(e);
		xb.dropped++;
		return;
	}
	*xb.tail = e;
	xb.tail = &e->next;
	xb.queued++;
}

/* Reads what the store has put on the ring so far: events are queued, stale replies dropped. */
static int drain_locked(uint64_t deadline)
{
	struct xenstore_domain_interface *r = xb.ring;

	while (__atomic_load_n(&r->rsp_prod, __ATOMIC_ACQUIRE) != __atomic_load_n(&r->rsp_cons, __ATOMIC_RELAXED)) {
		struct xsd_sockmsg h;
		int e = read_msg(&h, deadline);

		if (e < 0)
			return e;
		if (h.type == XS_WATCH_EVENT)
			queue_event(h.len);
	}
	return 0;
}

struct seg {
	const void *p;
	uint32_t len;
};

/*
 * One request and its reply, lock held: 0 with the reply's payload in
 * xb.msg (its length in *rlen), or -errno.
 */
static int talk(uint32_t type, xenbus_transaction_t xbt, const struct seg *seg, unsigned n, uint32_t *rlen)
{
	uint64_t deadline = monotonic_ns() + XENBUS_REPLY_TIMEOUT_NS;
	struct xsd_sockmsg h = { .type = type, .tx_id = xbt };
	int r = ready_locked();

	if (r < 0)
		return r;
	if (xb.broken)
		return -XEN_EIO;
	for (unsigned i = 0; i < n; i++) {
		if (seg[i].len > XENSTORE_PAYLOAD_MAX - h.len)
			return -XEN_E2BIG;
		h.len += seg[i].len;
	}
	h.req_id = xb.next_req_id++;
	r = ring_put(&h, sizeof(h), deadline);
	for (unsigned i = 0; i < n && r == 0; i++)
		r = ring_put(seg[i].p, seg[i].len, deadline);
	if (r < 0 || (r = kick()) < 0)
		return r;
	for (;;) {
		struct xsd_sockmsg rh;

		r = read_msg(&rh, deadline);
		if (r < 0)
			return r;
		if (rh.type == XS_WATCH_EVENT) {
			queue_event(rh.len); /* between our request and its reply: for the watch's waiter */
			continue;
		}
		if (rh.req_id != h.req_id)
			continue; /* the reply to a request that timed out earlier */
		if (rh.type == XS_ERROR)
			return error_number(xb.msg);
		if (rh.type != type) {
			xb.broken = true;
			return -XEN_EIO;
		}
		if (rlen)
			*rlen = rh.len;
		return 0;
	}
}

/* A request whose payload is path\0 (and maybe more): lock taken and released here. */
static int path_req(uint32_t type, xenbus_transaction_t xbt, const char *path, const void *more,
		    uint32_t more_len, char *out, size_t size, uint32_t *rlen)
{
	struct seg seg[2] = { { path, (uint32_t)strlen(path) + 1 }, { more, more_len } };
	uint32_t len = 0;
	int r;

	if (strlen(path) >= XENSTORE_ABS_PATH_MAX)
		return -XEN_EINVAL; /* as the store would answer; the length would not fit a u32 check otherwise */
	spin_lock(&xb.lock);
	r = talk(type, xbt, seg, more ? 2 : 1, &len);
	if (r == 0 && out) {
		size_t n = len < size ? len : size ? size - 1 : 0;

		if (size) {
			memcpy(out, xb.msg, n);
			out[n] = 0;
		}
		if (len >= size)
			r = -XEN_E2BIG;
	}
	spin_unlock(&xb.lock);
	if (rlen)
		*rlen = len;
	return r;
}

int xenbus_read(xenbus_transaction_t xbt, const char *path, char *buf, size_t size)
{
	uint32_t len;
	int r = path_req(XS_READ, xbt, path, NULL, 0, buf, size, &len);

	return r < 0 ? r : (int)len;
}

int xenbus_read_u64(xenbus_transaction_t xbt, const char *path, uint64_t *out)
{
	char buf[32];
	uint64_t v = 0;
	int r = xenbus_read(xbt, path, buf, sizeof(buf));

	if (r == -XEN_E2BIG)
		return -XEN_EINVAL; /* more digits than a u64 has */
	if (r < 0)
		return r;
	if (r == 0)
		return -XEN_EINVAL;
	for (int i = 0; i < r; i++) {
		unsigned d = (unsigned)(buf[i] - '0');

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return -XEN_EINVAL;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int xenbus_write(xenbus_transaction_t xbt, const char *path, const char *value)
{
	return path_req(XS_WRITE, xbt, path, value, (uint32_t)strlen(value), NULL, 0, NULL);
}

int xenbus_printf(xenbus_transaction_t xbt, const char *dir, const char *node, const char *fmt, ...)
{
	char path[PATH_BUF], value[VALUE_BUF];
	va_list ap;
	int n;

	n = node ? snprintf(path, sizeof(path), "%s/%s", dir, node) : snprintf(path, sizeof(path), "%s", dir);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -XEN_E2BIG;
	va_start(ap, fmt);
	n = vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(value))
		return -XEN_E2BIG;
	return xenbus_write(xbt, path, value);
}

int xenbus_mkdir(xenbus_transaction_t xbt, const char *path)
{
	return path_req(XS_MKDIR, xbt, path, NULL, 0, NULL, 0, NULL);
}

int xenbus_rm(xenbus_transaction_t xbt, const char *path)
{
	return path_req(XS_RM, xbt, path, NULL, 0, NULL, 0, NULL);
}

/* A reply of NUL-terminated strings: copied whole into buf, or -XEN_E2BIG; how many. */
static int string_list(uint32_t type, xenbus_transaction_t xbt, const char *path, char *buf, size_t size)
{
	struct seg seg = { path, (uint32_t)strlen(path) + 1 };
	uint32_t len = 0;
	int r, count = 0;

	if (strlen(path) >= XENSTORE_ABS_PATH_MAX)
		return -XEN_EINVAL;
	spin_lock(&xb.lock);
	r = talk(type, xbt, &seg, 1, &len);
	if (r == 0) {
		if (len > size) {
			r = -XEN_E2BIG;
		} else {
			memcpy(buf, xb.msg, len);
			for (uint32_t i = 0; i < len; i++)
				count += buf[i] == 0;
			if (len && buf[len - 1] != 0) {
				r = -XEN_EIO; /* the last string unterminated: not what the store sends */
				xb.broken = true;
			}
		}
	}
	spin_unlock(&xb.lock);
	return r < 0 ? r : count;
}

int xenbus_directory(xenbus_transaction_t xbt, const char *path, char *buf, size_t size)
{
	return string_list(XS_DIRECTORY, xbt, path, buf, size);
}

int xenbus_get_perms(xenbus_transaction_t xbt, const char *path, char *buf, size_t size)
{
	return string_list(XS_GET_PERMS, xbt, path, buf, size);
}

int xenbus_set_perms(xenbus_transaction_t xbt, const char *path, const char *const *perms, unsigned n)
{
	struct seg seg[1 + 16];
	int r;

	if (n == 0 || n > 16 || strlen(path) >= XENSTORE_ABS_PATH_MAX)
		return -XEN_EINVAL;
	seg[0] = (struct seg){ path, (uint32_t)strlen(path) + 1 };
	for (unsigned i = 0; i < n; i++) {
		if (strlen(perms[i]) > 16)
			return -XEN_EINVAL;
		seg[1 + i] = (struct seg){ perms[i], (uint32_t)strlen(perms[i]) + 1 };
	}
	spin_lock(&xb.lock);
	r = talk(XS_SET_PERMS, xbt, seg, 1 + n, NULL);
	spin_unlock(&xb.lock);
	return r;
}

static int watch_req(uint32_t type, const char *path, const char *token)
{
	size_t tl = strlen(token);

	if (tl >= XENSTORE_ABS_PATH_MAX)
		return -XEN_EINVAL;
	return path_req(type, XBT_NIL, path, token, (uint32_t)tl + 1, NULL, 0, NULL);
}

int xenbus_watch(const char *path, const char *token)
{
	return watch_req(XS_WATCH, path, token);
}

int xenbus_unwatch(const char *path, const char *token)
{
	int r = watch_req(XS_UNWATCH, path, token);
	struct watch_event **pp;

	/* Its events still queued go: nobody waits for them any more. */
	spin_lock(&xb.lock);
	for (pp = &xb.head; *pp;) {
		struct watch_event *e = *pp;

		if (strcmp(e->token, token)) {
			pp = &e->next;
			continue;
		}
		*pp = e->next;
		free(e->path);
		free(e->token);
		free(e);
		xb.queued--;
	}
	xb.tail = pp;
	spin_unlock(&xb.lock);
	return r;
}

/* Takes the first queued event with this token (NULL: any); lock held. */
static bool take_event(const char *token, char *path, size_t size)
{
	for (struct watch_event **pp = &xb.head; *pp; pp = &(*pp)->next) {
		struct watch_event *e = *pp;

		if (token && strcmp(e->token, token))
			continue;
		*pp = e->next;
		if (xb.tail == &e->next)
			xb.tail = pp;
		xb.queued--;
		if (size) {
			size_t n = strlen(e->path);

			if (n >= size)
				n = size - 1;
			memcpy(path, e->path, n);
			path[n] = 0;
		}
		free(e->path);
		free(e->token);
		free(e);
		return true;
	}
	return false;
}

int xenbus_wait_for_watch(const char *token, char *path, size_t size, uint64_t timeout_ns)
{
	uint64_t deadline = monotonic_ns() + timeout_ns;

	for (;;) {
		uint64_t now;
		int r;

		spin_lock(&xb.lock);
		r = ready_locked();
		if (r == 0 && xb.broken)
			r = -XEN_EIO;
		if (r == 0) {
			/* Cleared while nobody else can read the ring: an event after this sets it again. */
			evtchn_test_and_clear(xb.port);
			/* A message begun is read to its end whatever the caller's timeout: else out of step. */
			r = drain_locked(monotonic_ns() + XENBUS_REPLY_TIMEOUT_NS);
		}
		if (r == 0 && take_event(token, path, size)) {
			spin_unlock(&xb.lock);
			return 0;
		}
		if (r == 0 && xb.owe_kick)
			r = kick(); /* the store may hold events for want of ring space */
		spin_unlock(&xb.lock);
		if (r < 0)
			return r;
		now = monotonic_ns();
		if (now >= deadline)
			return -XEN_ETIMEDOUT;
		sched_poll(&xb.port, 1, deadline - now < POLL_SLICE_NS ? deadline - now : POLL_SLICE_NS);
	}
}

unsigned xenbus_watch_events_queued(void)
{
	unsigned n;

	spin_lock(&xb.lock);
	n = xb.queued;
	spin_unlock(&xb.lock);
	return n;
}

uint64_t xenbus_watch_events_dropped(void)
{
	uint64_t n;

	spin_lock(&xb.lock);
	n = xb.dropped;
	spin_unlock(&xb.lock);
	return n;
}

int xenbus_transaction_start(xenbus_transaction_t *xbt)
{
	char id[16];
	uint32_t len;
	uint64_t v = 0;
	int r = path_req(XS_TRANSACTION_START, XBT_NIL, "", NULL, 0, id, sizeof(id), &len);

	if (r < 0)
		return r;
	for (uint32_t i = 0; i < len && id[i]; i++) {
		if (id[i] < '0' || id[i] > '9' || v > UINT32_MAX / 10)
			return -XEN_EIO;
		v = v * 10 + (uint64_t)(id[i] - '0');
	}
	if (v == 0 || v > UINT32_MAX)
		return -XEN_EIO; /* 0 is XBT_NIL: the store never hands it out */
	*xbt = (xenbus_transaction_t)v;
	return 0;
}

int xenbus_transaction_end(xenbus_transaction_t xbt, bool abort)
{
	return path_req(XS_TRANSACTION_END, xbt, abort ? "F" : "T", NULL, 0, NULL, 0, NULL);
}

int xenbus_switch_state(xenbus_transaction_t xbt, const char *dir, enum xenbus_state state)
{
	return xenbus_printf(xbt, dir, "state", "%u", (unsigned)state);
}

int xenbus_read_state(xenbus_transaction_t xbt, const char *dir, enum xenbus_state *state)
{
	char path[PATH_BUF];
	uint64_t v;
	int r, n = snprintf(path, sizeof(path), "%s/state", dir);

	if (n < 0 || (size_t)n >= sizeof(path))
		return -XEN_E2BIG;
	r = xenbus_read_u64(xbt, path, &v);
	if (r < 0)
		return r;
	if (v > XenbusStateReconfigured)
		return -XEN_EINVAL;
	*state = (enum xenbus_state)v;
	return 0;
}

int xenbus_wait_state(const char *dir, enum xenbus_state want, enum xenbus_state *state,
		      uint64_t timeout_ns)
{
	uint64_t deadline = monotonic_ns() + timeout_ns;
	char path[PATH_BUF], token[PATH_BUF + 16];
	bool closing_is_failure = want != XenbusStateClosing && want != XenbusStateClosed;
	int r, n = snprintf(path, sizeof(path), "%s/state", dir);

	if (n < 0 || (size_t)n >= sizeof(path))
		return -XEN_E2BIG;
	snprintf(token, sizeof(token), "wait-state:%s", path);
	*state = XenbusStateUnknown;
	r = xenbus_watch(path, token);
	if (r < 0)
		return r;
	for (;;) {
		uint64_t now;

		r = xenbus_read_state(XBT_NIL, dir, state);
		if (r < 0 && r != -XEN_ENOENT)
			break;
		if (r == 0 && *state == want)
			break;
		if (r == 0 && closing_is_failure &&
		    (*state == XenbusStateClosing || *state == XenbusStateClosed)) {
			r = -XEN_EIO;
			break;
		}
		now = monotonic_ns();
		r = now >= deadline ? -XEN_ETIMEDOUT
				    : xenbus_wait_for_watch(token, NULL, 0, deadline - now);
		if (r < 0)
			break;
	}
	xenbus_unwatch(path, token);
	return r;
}
