// SPDX-License-Identifier: MIT
/* The frontend half of the xenstore handshake (xenbus_fe.h). */
#include "xenbus_fe.h"

#include "hypercall.h"

int xbfe_backend_dir(const char *fe, char *be, size_t size)
{
	char p[96];
	int r;

	snprintf(p, sizeof(p), "%s/backend", fe);
	r = xenbus_read(XBT_NIL, p, be, size);
	return r < 0 ? r : 0;
}

int xbfe_read_u64(const char *dir, const char *key, uint64_t *v)
{
	char p[160];

	snprintf(p, sizeof(p), "%s/%s", dir, key);
	return xenbus_read_u64(XBT_NIL, p, v);
}

bool xbfe_read_flag(const char *dir, const char *key)
{
	uint64_t v;

	return xbfe_read_u64(dir, key, &v) == 0 && v == 1;
}

int xbfe_write_u(xenbus_transaction_t xbt, const char *dir, const char *key, unsigned long long v)
{
	char p[160], val[32];

	snprintf(p, sizeof(p), "%s/%s", dir, key);
	snprintf(val, sizeof(val), "%llu", v);
	return xenbus_write(xbt, p, val);
}

int xbfe_wait_backend(const char *who, const char *be, enum xenbus_state want)
{
	enum xenbus_state st;
	int r;

	/* The backend usually answered within our own request (the store runs its watch then): one read, no watch. */
	if (xenbus_read_state(XBT_NIL, be, &st) == 0 && st == want)
		return 0;
	r = xenbus_wait_state(be, want, &st, XBFE_STATE_WAIT_NS);
	if (r == -XEN_ETIMEDOUT)
		printf("%s: %s/state is %u, not %u, after %llu ms\n", who, be, (unsigned)st, (unsigned)want,
		       XBFE_STATE_WAIT_NS / 1000000);
	return r;
}

int xbfe_publish(int (*write_keys)(xenbus_transaction_t xbt, void *ctx), void *ctx)
{
	int r;

	for (unsigned tries = 0;; tries++) {
		xenbus_transaction_t xbt;

		r = xenbus_transaction_start(&xbt);
		if (r < 0)
			return r;
		r = write_keys(xbt, ctx);
		if (r < 0) {
			xenbus_transaction_end(xbt, true);
			return r;
		}
		r = xenbus_transaction_end(xbt, false);
		if (r != -XEN_EAGAIN || tries == 10)
			return r;
	}
}

int xbfe_reset(const char *who, const char *fe, const char *be)
{
	int r = xbfe_write_u(XBT_NIL, fe, "state", XenbusStateClosed);

	if (r == 0)
		r = xbfe_wait_backend(who, be, XenbusStateClosed);
	if (r == 0)
		r = xbfe_write_u(XBT_NIL, fe, "state", XenbusStateInitialising);
	if (r == 0)
		r = xbfe_wait_backend(who, be, XenbusStateInitWait);
	return r;
}

int xbfe_refused(const char *who, const char *what, const char *fe, const char *be)
{
	static const char dom0[] = "/local/domain/0";
	char p[192], err[160];
	int e = 0;

	if (!strncmp(be, dom0, sizeof(dom0) - 1)) {
		snprintf(p, sizeof(p), "%s/error%s/error", dom0, be + sizeof(dom0) - 1);
		if (xenbus_read(XBT_NIL, p, err, sizeof(err)) >= 0) {
			for (const char *c = err; *c >= '0' && *c <= '9' && e < 100000; c++)
				e = e * 10 + (*c - '0');
			printf("%s: %s refused: %s\n", who, what, err);
		}
	}
	xbfe_reset(who, fe, be);
	return -(e ? e : XEN_EIO);
}
