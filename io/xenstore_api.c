// SPDX-License-Identifier: MIT
/*
 * The VMM's own calls into the store (io/xenstore.h): each takes the
 * store's lock, acts as domain 0 (no quota, every permission) and drops
 * the lock, running the VMM watch callbacks its change fired.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenstore_priv.h"

/* ------------------------------------------------------ the VMM's calls */

#define VMM_OP(s) { .s = (s), .c = NULL, .t = NULL, .domid = XENITH_XS_DOM0 }

int xs_write(struct xs_store *s, const char *path, const void *val, size_t len)
{
	struct xs_op o = VMM_OP(s);
	char p[XS_PATH_BUF];
	int r;

	/* A guest could not read more back in one reply. */
	if (len > XENSTORE_PAYLOAD_MAX)
		return -E2BIG;
	xs_lock(s);
	r = xs_canon(&o, path, false, p, NULL);
	if (!r)
		r = xs_op_write(&o, p, val, (uint32_t)len);
	xs_unlock(s);
	return r;
}

int xs_printf(struct xs_store *s, const char *path, const char *fmt, ...)
{
	char buf[XENSTORE_PAYLOAD_MAX + 1];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= sizeof(buf))
		return -E2BIG;
	return xs_write(s, path, buf, (size_t)n);
}

int xs_read(struct xs_store *s, const char *path, char *buf, size_t size, size_t *len)
{
	struct xs_op o = VMM_OP(s);
	char p[XS_PATH_BUF];
	struct xs_node *n = NULL;
	int r;

	xs_lock(s);
	r = xs_canon(&o, path, false, p, NULL);
	if (!r)
		r = xs_op_read(&o, p, &n);
	if (!r) {
		size_t k = n->len;

		if (len)
			*len = n->len;
		if (size == 0 || k > size - 1) {
			k = size ? size - 1 : 0;
			r = -E2BIG;
		}
		if (size) {
			memcpy(buf, n->val, k);
			buf[k] = '\0';
		}
	}
	xs_unlock(s);
	return r;
}

int xs_read_u64(struct xs_store *s, const char *path, uint64_t *out)
{
	struct xs_op o = VMM_OP(s);
	char p[XS_PATH_BUF];
	struct xs_node *n = NULL;
	uint64_t v = 0;
	uint32_t k = 0;
	int r;

	/* The value where it is (a number may have any number of leading zeros), up to a NUL as before. */
	xs_lock(s);
	r = xs_canon(&o, path, false, p, NULL);
	if (!r)
		r = xs_op_read(&o, p, &n);
	for (; !r && k < n->len && n->val[k]; k++) {
		char c = n->val[k];

		if (c < '0' || c > '9' || v > (UINT64_MAX - (uint64_t)(c - '0')) / 10)
			r = -EINVAL;
		else
			v = v * 10 + (uint64_t)(c - '0');
	}
	if (!r && k == 0)
		r = -EINVAL; /* empty */
	xs_unlock(s);
	if (!r)
		*out = v;
	return r;
}

int xs_mkdir(struct xs_store *s, const char *path)
{
	struct xs_op o = VMM_OP(s);
	char p[XS_PATH_BUF];
	int r;

	xs_lock(s);
	r = xs_canon(&o, path, false, p, NULL);
	if (!r)
		r = xs_op_mkdir(&o, p);
	xs_unlock(s);
	return r;
}

int xs_rm(struct xs_store *s, const char *path)
{
	struct xs_op o = VMM_OP(s);
	char p[XS_PATH_BUF];
	int r;

	xs_lock(s);
	r = xs_canon(&o, path, false, p, NULL);
	if (!r)
		r = xs_op_rm(&o, p);
	xs_unlock(s);
	return r;
}

int xs_set_perms(struct xs_store *s, const char *path, const char *const *perms, unsigned n)
{
	struct xs_op o = VMM_OP(s);
	char p[XS_PATH_BUF];
	struct xs_perm *pp;
	int r = 0;

	if (n == 0 || n > 4096)
		return -EINVAL;
	pp = calloc(n, sizeof(*pp));
	if (!pp)
		return -ENOMEM;
	for (unsigned i = 0; i < n && !r; i++)
		r = xs_parse_perm(perms[i], &pp[i]);
	if (!r) {
		xs_lock(s);
		r = xs_canon(&o, path, false, p, NULL);
		if (!r)
			r = xs_op_set_perms(&o, p, pp, n);
		xs_unlock(s);
	}
	free(pp);
	return r;
}

int xs_watch(struct xs_store *s, const char *path, const char *token, xs_watch_fn fn, void *opaque)
{
	struct xs_op o = VMM_OP(s);
	char p[XS_PATH_BUF];
	int r;

	if (!token || !fn)
		return -EINVAL;
	xs_lock(s);
	r = xs_canon(&o, path, true, p, NULL);
	if (!r)
		r = xs_watch_add(s, NULL, p, token, 0, fn, opaque);
	if (!r) {
		/* Xen fires a new watch once at once; here after the lock is dropped. */
		struct xs_watch w = { .path = p, .token = (char *)token, .fn = fn, .opaque = opaque };

		xs_queue_callback(s, &w, p);
	}
	xs_unlock(s);
	return r;
}

int xs_unwatch(struct xs_store *s, const char *path, const char *token, xs_watch_fn fn, void *opaque)
{
	struct xs_op o = VMM_OP(s);
	char p[XS_PATH_BUF];
	int r;

	if (!token)
		return -EINVAL;
	xs_lock(s);
	r = xs_canon(&o, path, true, p, NULL);
	if (!r)
		r = xs_watch_del(s, NULL, p, token, fn, opaque);
	xs_unlock(s);
	return r;
}

/* Removes every subtree below n whose top domid owns (recursive in the depth, small frames). */
static void release_below(struct xs_op *o, struct xs_node *n, uint32_t domid)
{
	for (uint32_t i = 0; i < n->nkids;) {
		struct xs_node *k = n->kids[i];

		if (k->perms[0].id == domid) {
			xs_store_remove(o, k, true); /* the next child moves to i */
			continue;
		}
		release_below(o, k, domid);
		i++;
	}
}

int xs_domain_release(struct xs_store *s, uint32_t domid)
{
	struct xs_op o = VMM_OP(s);

	if (domid == XENITH_XS_DOM0)
		return -EINVAL;
	xs_lock(s);
	release_below(&o, s->root, domid);
	xs_fire_special(s, "@releaseDomain");
	xs_unlock(s);
	return 0;
}
