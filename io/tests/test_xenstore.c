// SPDX-License-Identifier: MIT
/*
 * Unit tests of the xenstore (io/xenstore.h).  The test plays the guest on
 * a real struct xenstore_domain_interface in a buffer: it writes requests
 * into req[] and moves req_prod, calls xs_conn_process as the guest's kick
 * would, and reads replies and watch events off rsp[].  Expected values
 * are Xen's (tools/xenstored): errnos, payloads, quotas.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "xenstore.h"

#define DOMID 5u
#define HOME "/local/domain/5"
#define HDR ((uint32_t)sizeof(struct xsd_sockmsg))

struct guest {
	struct xenstore_domain_interface *page;
	struct xs_conn *c;
	uint32_t domid;
	int notified;
	uint32_t next_req;
};

struct msg {
	struct xsd_sockmsg h;
	char p[XENSTORE_PAYLOAD_MAX + 1]; /* NUL-terminated beyond h.len */
};

static struct xs_store *s;
static struct guest g, g2;

static void notify(void *opaque)
{
	((struct guest *)opaque)->notified++;
}

static void guest_open(struct guest *gu, uint32_t domid, uint32_t start)
{
	gu->page = calloc(1, sizeof(*gu->page));
	assert_non_null(gu->page);
	gu->page->req_cons = gu->page->req_prod = start;
	gu->page->rsp_cons = gu->page->rsp_prod = start;
	gu->domid = domid;
	gu->notified = 0;
	gu->next_req = 100;
	gu->c = xs_conn_new(s, domid, gu->page, notify, gu);
	assert_non_null(gu->c);
}

static void guest_close(struct guest *gu)
{
	xs_conn_free(gu->c);
	free(gu->page);
	memset(gu, 0, sizeof(*gu));
}

static int setup_quota(const struct xs_quota *q)
{
	s = xs_store_new(q);
	assert_non_null(s);
	guest_open(&g, DOMID, 0);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	return setup_quota(NULL);
}

static int teardown(void **state)
{
	(void)state;
	if (g2.c)
		guest_close(&g2);
	guest_close(&g);
	xs_store_free(s);
	return 0;
}

/* ----------------------------------------------------- the guest's side */

static uint32_t req_room(const struct guest *gu)
{
	return XENSTORE_RING_SIZE - (gu->page->req_prod - gu->page->req_cons);
}

static void process(struct guest *gu);

/*
 * Writes raw bytes at req_prod (wrapping) and publishes them; when the
 * ring is full, kicks the store and goes on once it made room, as a
 * guest's xenbus does with a request longer than the ring.
 */
static void put_bytes(struct guest *gu, const void *data, uint32_t n)
{
	struct xenstore_domain_interface *p = gu->page;
	const char *d = data;

	while (n) {
		uint32_t k = req_room(gu) < n ? req_room(gu) : n;

		if (!k) {
			process(gu);
			assert_true(req_room(gu) > 0);
			continue;
		}
		for (uint32_t i = 0; i < k; i++)
			p->req[MASK_XENSTORE_IDX(p->req_prod + i)] = d[i];
		__atomic_store_n(&p->req_prod, p->req_prod + k, __ATOMIC_RELEASE);
		d += k;
		n -= k;
	}
}

static uint32_t send_raw(struct guest *gu, uint32_t type, uint32_t tx, const void *pl, uint32_t len)
{
	struct xsd_sockmsg h = { .type = type, .req_id = gu->next_req++, .tx_id = tx, .len = len };

	put_bytes(gu, &h, HDR);
	put_bytes(gu, pl, len);
	return h.req_id;
}

/* Payload of NUL-terminated strings: send(gu, XS_WATCH, 0, "path", "token", NULL). */
static uint32_t send(struct guest *gu, uint32_t type, uint32_t tx, ...)
{
	char buf[XENSTORE_PAYLOAD_MAX];
	uint32_t len = 0;
	const char *a;
	va_list ap;

	va_start(ap, tx);
	while ((a = va_arg(ap, const char *))) {
		size_t l = strlen(a) + 1;

		memcpy(buf + len, a, l);
		len += (uint32_t)l;
	}
	va_end(ap);
	return send_raw(gu, type, tx, buf, len);
}

static uint32_t rsp_avail(const struct guest *gu)
{
	return gu->page->rsp_prod - gu->page->rsp_cons;
}

static void get_bytes(struct guest *gu, void *dst, uint32_t n)
{
	struct xenstore_domain_interface *p = gu->page;
	char *d = dst;

	for (uint32_t i = 0; i < n; i++)
		d[i] = p->rsp[MASK_XENSTORE_IDX(p->rsp_cons + i)];
	__atomic_store_n(&p->rsp_cons, p->rsp_cons + n, __ATOMIC_RELEASE);
}

/* Takes one whole message off the response ring, if one is there whole. */
static bool recv(struct guest *gu, struct msg *m)
{
	struct xenstore_domain_interface *p = gu->page;

	if (rsp_avail(gu) < HDR)
		return false;
	for (uint32_t i = 0; i < HDR; i++)
		((char *)&m->h)[i] = p->rsp[MASK_XENSTORE_IDX(p->rsp_cons + i)];
	assert_true(m->h.len <= XENSTORE_PAYLOAD_MAX);
	if (rsp_avail(gu) < HDR + m->h.len)
		return false;
	get_bytes(gu, &m->h, HDR);
	get_bytes(gu, m->p, m->h.len);
	m->p[m->h.len] = '\0';
	return true;
}

static void process(struct guest *gu)
{
	assert_int_equal(xs_conn_process(gu->c), 0);
}

/* Events seen while waiting for replies, in order. */
static struct msg events[64];
static unsigned nevents;

static void take_event(const struct msg *m)
{
	assert_int_equal(m->h.type, XS_WATCH_EVENT);
	assert_int_equal(m->h.req_id, 0);
	assert_true(nevents < sizeof(events) / sizeof(events[0]));
	events[nevents++] = *m;
}

/* Processes and returns the reply to req_id; watch events go to events[]. */
static void reply_to(struct guest *gu, uint32_t req_id, struct msg *m)
{
	process(gu);
	for (;;) {
		assert_true(recv(gu, m));
		if (m->h.type != XS_WATCH_EVENT)
			break;
		take_event(m);
	}
	assert_int_equal(m->h.req_id, req_id);
}

/* One request, one reply. */
static void rpc(struct guest *gu, struct msg *m, uint32_t type, uint32_t tx, ...)
{
	char buf[XENSTORE_PAYLOAD_MAX];
	uint32_t len = 0, id;
	const char *a;
	va_list ap;

	va_start(ap, tx);
	while ((a = va_arg(ap, const char *))) {
		size_t l = strlen(a) + 1;

		memcpy(buf + len, a, l);
		len += (uint32_t)l;
	}
	va_end(ap);
	id = send_raw(gu, type, tx, buf, len);
	reply_to(gu, id, m);
	assert_int_equal(m->h.tx_id, tx);
}

static void expect_error(const struct msg *m, const char *err)
{
	assert_int_equal(m->h.type, XS_ERROR);
	assert_int_equal(m->h.len, strlen(err) + 1);
	assert_string_equal(m->p, err);
}

static void expect_ok(const struct msg *m, uint32_t type)
{
	if (m->h.type == XS_ERROR)
		fail_msg("op %u answered %s", type, m->p);
	assert_int_equal(m->h.type, type);
	assert_int_equal(m->h.len, 3);
	assert_string_equal(m->p, "OK");
}

/* Guest write of a string value: "path\0value" (no NUL after the value). */
static void gwrite(struct guest *gu, struct msg *m, uint32_t tx, const char *path, const char *val)
{
	char buf[XENSTORE_PAYLOAD_MAX];
	size_t pl = strlen(path) + 1, vl = strlen(val);
	uint32_t id;

	memcpy(buf, path, pl);
	memcpy(buf + pl, val, vl);
	id = send_raw(gu, XS_WRITE, tx, buf, (uint32_t)(pl + vl));
	reply_to(gu, id, m);
}

static void expect_read(struct guest *gu, uint32_t tx, const char *path, const char *val)
{
	struct msg m;

	rpc(gu, &m, XS_READ, tx, path, NULL);
	if (m.h.type == XS_ERROR)
		fail_msg("read %s: %s", path, m.p);
	assert_int_equal(m.h.type, XS_READ);
	assert_int_equal(m.h.len, strlen(val));
	assert_memory_equal(m.p, val, m.h.len);
}

static void expect_read_err(struct guest *gu, uint32_t tx, const char *path, const char *err)
{
	struct msg m;

	rpc(gu, &m, XS_READ, tx, path, NULL);
	expect_error(&m, err);
}

/* A list of NUL-terminated strings as one string with '|' between them. */
static const char *joined(const struct msg *m)
{
	static char buf[XENSTORE_PAYLOAD_MAX + 1];

	memcpy(buf, m->p, m->h.len);
	buf[m->h.len] = '\0';
	for (uint32_t i = 0; i < m->h.len; i++)
		if (buf[i] == '\0')
			buf[i] = i + 1 == m->h.len ? '\0' : '|';
	return buf;
}

static void expect_event(const struct msg *m, const char *path, const char *token)
{
	assert_int_equal(m->h.type, XS_WATCH_EVENT);
	assert_int_equal(m->h.len, strlen(path) + 1 + strlen(token) + 1);
	assert_string_equal(m->p, path);
	assert_string_equal(m->p + strlen(path) + 1, token);
}

/* --------------------------------------------------------------- basics */

static void test_read_write_relative_and_absolute(void **state)
{
	struct msg m;

	(void)state;
	gwrite(&g, &m, 0, "data/x", "hello");
	expect_ok(&m, XS_WRITE);
	expect_read(&g, 0, "data/x", "hello");
	expect_read(&g, 0, HOME "/data/x", "hello");
	/* Values are bytes: a NUL inside is kept. */
	{
		char buf[] = "data/bin\0a\0b";
		uint32_t id = send_raw(&g, XS_WRITE, 0, buf, sizeof(buf) - 1);

		reply_to(&g, id, &m);
		expect_ok(&m, XS_WRITE);
		rpc(&g, &m, XS_READ, 0, "data/bin", NULL);
		assert_int_equal(m.h.len, 3);
		assert_memory_equal(m.p, "a\0b", 3);
	}
	/* An empty value. */
	gwrite(&g, &m, 0, "data/x", "");
	expect_ok(&m, XS_WRITE);
	expect_read(&g, 0, "data/x", "");
	/* The VMM sees the guest's writes, at the absolute path. */
	{
		char buf[16];
		size_t len = 99;

		assert_int_equal(xs_read(s, HOME "/data/bin", buf, sizeof(buf), &len), 0);
		assert_int_equal(len, 3);
		assert_memory_equal(buf, "a\0b", 4);
	}
	expect_read_err(&g, 0, "nothing", "ENOENT");
}

static void test_write_creates_parents_owned_by_the_guest(void **state)
{
	struct msg m;

	(void)state;
	gwrite(&g, &m, 0, "a/b/c", "1");
	expect_ok(&m, XS_WRITE);
	/* The parents exist, empty, with the guest as owner (Xen's construct_node). */
	expect_read(&g, 0, "a", "");
	expect_read(&g, 0, "a/b", "");
	rpc(&g, &m, XS_GET_PERMS, 0, "a/b", NULL);
	assert_int_equal(m.h.type, XS_GET_PERMS);
	assert_string_equal(joined(&m), "n5");
	rpc(&g, &m, XS_DIRECTORY, 0, "a", NULL);
	assert_int_equal(m.h.type, XS_DIRECTORY);
	assert_string_equal(joined(&m), "b");
	/* Under a node the guest may write but does not own: the new node is its own, the rest inherited. */
	{
		static const char *const shared[] = { "n0", "b5" };

		assert_int_equal(xs_mkdir(s, "/shared"), 0);
		assert_int_equal(xs_set_perms(s, "/shared", shared, 2), 0);
		gwrite(&g, &m, 0, "/shared/x/y", "1");
		expect_ok(&m, XS_WRITE);
		rpc(&g, &m, XS_GET_PERMS, 0, "/shared/x", NULL);
		assert_string_equal(joined(&m), "n5|b5");
		rpc(&g, &m, XS_GET_PERMS, 0, "/shared/x/y", NULL);
		assert_string_equal(joined(&m), "n5|b5");
		/* The VMM's nodes there inherit as they are. */
		assert_int_equal(xs_write(s, "/shared/z", "1", 1), 0);
		rpc(&g, &m, XS_GET_PERMS, 0, "/shared/z", NULL);
		assert_string_equal(joined(&m), "n0|b5");
	}
}

static void test_mkdir_rm_directory(void **state)
{
	struct msg m;

	(void)state;
	rpc(&g, &m, XS_MKDIR, 0, "d", NULL);
	expect_ok(&m, XS_MKDIR);
	rpc(&g, &m, XS_MKDIR, 0, "d", NULL); /* exists: fine */
	expect_ok(&m, XS_MKDIR);
	expect_read(&g, 0, "d", "");
	gwrite(&g, &m, 0, "d/one", "1");
	gwrite(&g, &m, 0, "d/two", "2");
	rpc(&g, &m, XS_MKDIR, 0, "d/three/four", NULL);
	expect_ok(&m, XS_MKDIR);
	rpc(&g, &m, XS_DIRECTORY, 0, "d", NULL);
	assert_int_equal(m.h.type, XS_DIRECTORY);
	assert_string_equal(joined(&m), "one|two|three");
	/* An empty directory: an empty payload. */
	rpc(&g, &m, XS_DIRECTORY, 0, "d/one", NULL);
	assert_int_equal(m.h.type, XS_DIRECTORY);
	assert_int_equal(m.h.len, 0);
	/* rm takes the subtree. */
	rpc(&g, &m, XS_RM, 0, "d/three", NULL);
	expect_ok(&m, XS_RM);
	expect_read_err(&g, 0, "d/three/four", "ENOENT");
	rpc(&g, &m, XS_DIRECTORY, 0, "d", NULL);
	assert_string_equal(joined(&m), "one|two");
	/* Xen: removing what is not there is fine when the parent is; ENOENT when it is not. */
	rpc(&g, &m, XS_RM, 0, "d/three", NULL);
	expect_ok(&m, XS_RM);
	rpc(&g, &m, XS_RM, 0, "d/three/four", NULL);
	expect_error(&m, "ENOENT");
	rpc(&g, &m, XS_DIRECTORY, 0, "nothing", NULL);
	expect_error(&m, "ENOENT");
	/* The root stays: a guest cannot even try (EACCES), and the VMM gets EINVAL. */
	rpc(&g, &m, XS_RM, 0, "/", NULL);
	expect_error(&m, "EACCES");
	assert_int_equal(xs_rm(s, "/"), -EINVAL);
}

static void test_directory_part(void **state)
{
	struct msg m;
	char names[] = "one\0two\0three\0";

	(void)state;
	gwrite(&g, &m, 0, "d/one", "1");
	gwrite(&g, &m, 0, "d/two", "2");
	gwrite(&g, &m, 0, "d/three", "3");
	rpc(&g, &m, XS_DIRECTORY_PART, 0, "d", "0", NULL);
	assert_int_equal(m.h.type, XS_DIRECTORY_PART);
	/* generation, NUL, the names, and one more NUL: the list ends here */
	{
		size_t gl = strlen(m.p) + 1;

		assert_true(gl > 1);
		for (size_t i = 0; i + 1 < gl; i++)
			assert_true(m.p[i] >= '0' && m.p[i] <= '9');
		assert_int_equal(m.h.len, gl + sizeof(names) - 1 + 1);
		assert_memory_equal(m.p + gl, names, sizeof(names) - 1);
		assert_int_equal(m.p[m.h.len - 1], '\0');
	}
	/* From byte 4 ("two" on). */
	rpc(&g, &m, XS_DIRECTORY_PART, 0, "d", "4", NULL);
	{
		size_t gl = strlen(m.p) + 1;

		assert_int_equal(m.h.len, gl + sizeof(names) - 1 - 4 + 1);
		assert_memory_equal(m.p + gl, names + 4, sizeof(names) - 1 - 4);
	}
	/* Past the end: the generation and an empty list. */
	rpc(&g, &m, XS_DIRECTORY_PART, 0, "d", "99", NULL);
	assert_int_equal(m.h.len, strlen(m.p) + 2);
	rpc(&g, &m, XS_DIRECTORY_PART, 0, "d", NULL);
	expect_error(&m, "EINVAL");
}

static void test_get_domain_path(void **state)
{
	struct msg m;

	(void)state;
	rpc(&g, &m, XS_GET_DOMAIN_PATH, 0, "7", NULL);
	assert_int_equal(m.h.type, XS_GET_DOMAIN_PATH);
	assert_int_equal(m.h.len, strlen("/local/domain/7") + 1);
	assert_string_equal(m.p, "/local/domain/7");
	rpc(&g, &m, XS_GET_DOMAIN_PATH, 0, "x", NULL);
	expect_error(&m, "EINVAL");
}

static void test_unknown_and_privileged_ops(void **state)
{
	struct msg m;

	(void)state;
	/* Xen answers a guest EACCES for the privileged operations... */
	rpc(&g, &m, XS_INTRODUCE, 0, "9", "123", "4", NULL);
	expect_error(&m, "EACCES");
	rpc(&g, &m, XS_RELEASE, 0, "9", NULL);
	expect_error(&m, "EACCES");
	rpc(&g, &m, XS_CONTROL, 0, "print", NULL);
	expect_error(&m, "EACCES");
	rpc(&g, &m, XS_SET_TARGET, 0, "9", "5", NULL);
	expect_error(&m, "EACCES");
	/* ...and ENOSYS for what it does not know. */
	rpc(&g, &m, XS_RESTRICT, 0, "9", NULL);
	expect_error(&m, "ENOSYS");
	rpc(&g, &m, XS_WATCH_EVENT, 0, "a", "b", NULL);
	expect_error(&m, "ENOSYS");
	rpc(&g, &m, 999, 0, NULL);
	expect_error(&m, "ENOSYS");
	/* The connection still works. */
	gwrite(&g, &m, 0, "x", "1");
	expect_ok(&m, XS_WRITE);
}

static void test_bad_requests_are_answered_einval(void **state)
{
	static const char *const bad[] = {
		"bad path", "a//b", "a/", "a\\b", "", "@special", "/local/domain/5/x\n",
	};
	struct msg m;
	char longp[XENSTORE_REL_PATH_MAX + 2];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rpc(&g, &m, XS_READ, 0, bad[i], NULL);
		expect_error(&m, "EINVAL");
		gwrite(&g, &m, 0, bad[i], "v");
		expect_error(&m, "EINVAL");
	}
	/* Missing NUL: a read of a path that is not terminated, a write without a path. */
	{
		uint32_t id = send_raw(&g, XS_READ, 0, "data", 4);

		reply_to(&g, id, &m);
		expect_error(&m, "EINVAL");
		id = send_raw(&g, XS_WRITE, 0, "data", 4);
		reply_to(&g, id, &m);
		expect_error(&m, "EINVAL");
		id = send_raw(&g, XS_READ, 0, "", 0);
		reply_to(&g, id, &m);
		expect_error(&m, "EINVAL");
	}
	/* Two strings where one is expected. */
	rpc(&g, &m, XS_READ, 0, "a", "b", NULL);
	expect_error(&m, "EINVAL");
	/* Path length: Xen's ACC_PATHLEN counts what follows /local/domain/N/: 2048 is fine, 2049 is not. */
	memset(longp, 'p', sizeof(longp));
	longp[XENSTORE_REL_PATH_MAX] = '\0';
	gwrite(&g, &m, 0, longp, "v");
	expect_ok(&m, XS_WRITE);
	longp[XENSTORE_REL_PATH_MAX] = 'p';
	longp[XENSTORE_REL_PATH_MAX + 1] = '\0';
	gwrite(&g, &m, 0, longp, "v");
	expect_error(&m, "EINVAL");
	/* Nothing of this killed the connection. */
	assert_int_equal(g.page->error, XENSTORE_ERROR_NONE);
	gwrite(&g, &m, 0, "x", "1");
	expect_ok(&m, XS_WRITE);
}

/* ---------------------------------------------------------- permissions */

static void test_permissions(void **state)
{
	static const char *const r5[] = { "n0", "r5" };
	static const char *const w5[] = { "n0", "w5" };
	struct msg m;

	(void)state;
	guest_open(&g2, 7, 0);
	assert_int_equal(xs_write(s, "/backend/vbd/5/state", "1", 1), 0);
	/* dom0's node, no access for others: EACCES both ways. */
	expect_read_err(&g, 0, "/backend/vbd/5/state", "EACCES");
	gwrite(&g, &m, 0, "/backend/vbd/5/state", "4");
	expect_error(&m, "EACCES");
	/* A node that does not exist under one the guest may not read: EACCES, not ENOENT. */
	expect_read_err(&g, 0, "/backend/vbd/5/missing", "EACCES");
	gwrite(&g, &m, 0, "/backend/vbd/5/new", "4");
	expect_error(&m, "EACCES");
	/* Read access for 5 only. */
	assert_int_equal(xs_set_perms(s, "/backend/vbd/5/state", r5, 2), 0);
	expect_read(&g, 0, "/backend/vbd/5/state", "1");
	gwrite(&g, &m, 0, "/backend/vbd/5/state", "4");
	expect_error(&m, "EACCES");
	expect_read_err(&g2, 0, "/backend/vbd/5/state", "EACCES");
	rpc(&g, &m, XS_GET_PERMS, 0, "/backend/vbd/5/state", NULL);
	assert_int_equal(m.h.type, XS_GET_PERMS);
	assert_string_equal(joined(&m), "n0|r5");
	/* Write access without read access. */
	assert_int_equal(xs_set_perms(s, "/backend/vbd/5/state", w5, 2), 0);
	gwrite(&g, &m, 0, "/backend/vbd/5/state", "4");
	expect_ok(&m, XS_WRITE);
	expect_read_err(&g, 0, "/backend/vbd/5/state", "EACCES");
	/* Writing does not make the guest the owner (it only owns what it creates). */
	{
		char buf[8];

		assert_int_equal(xs_read(s, "/backend/vbd/5/state", buf, sizeof(buf), NULL), 0);
		assert_string_equal(buf, "4");
	}
	/* A guest's home is its own: another guest cannot see it. */
	gwrite(&g, &m, 0, "mine", "x");
	expect_read_err(&g2, 0, HOME "/mine", "EACCES");
	/* The owner shares it, with Xen's permission strings. */
	rpc(&g, &m, XS_SET_PERMS, 0, "mine", "n5", "r7", NULL);
	expect_ok(&m, XS_SET_PERMS);
	expect_read(&g2, 0, HOME "/mine", "x");
	rpc(&g, &m, XS_GET_PERMS, 0, "mine", NULL);
	assert_string_equal(joined(&m), "n5|r7");
	gwrite(&g2, &m, 0, HOME "/mine", "y");
	expect_error(&m, "EACCES");
	/* A guest may not give its node away (EPERM), nor change another's (EACCES). */
	rpc(&g, &m, XS_SET_PERMS, 0, "mine", "n7", NULL);
	expect_error(&m, "EPERM");
	rpc(&g2, &m, XS_SET_PERMS, 0, HOME "/mine", "b7", NULL);
	expect_error(&m, "EACCES");
	rpc(&g, &m, XS_SET_PERMS, 0, "/backend/vbd/5/state", "b5", NULL);
	expect_error(&m, "EACCES");
	/* Bad permission strings. */
	rpc(&g, &m, XS_SET_PERMS, 0, "mine", "x5", NULL);
	expect_error(&m, "EINVAL");
	rpc(&g, &m, XS_SET_PERMS, 0, "mine", "r", NULL);
	expect_error(&m, "EINVAL");
	rpc(&g, &m, XS_SET_PERMS, 0, "mine", NULL);
	expect_error(&m, "EINVAL");
	/* "b" is read and write for the listed domain. */
	rpc(&g, &m, XS_SET_PERMS, 0, "mine", "n5", "b7", NULL);
	expect_ok(&m, XS_SET_PERMS);
	gwrite(&g2, &m, 0, HOME "/mine", "y");
	expect_ok(&m, XS_WRITE);
	expect_read(&g, 0, "mine", "y");
}

/* -------------------------------------------------------------- watches */

static void test_watch_fires_on_set_change_below_and_rm(void **state)
{
	struct msg m;
	int before;

	(void)state;
	rpc(&g, &m, XS_WATCH, 0, "dev", "tok", NULL);
	expect_ok(&m, XS_WATCH);
	/* Fired once when set, after the acknowledgement, with the path as the guest gave it. */
	assert_true(recv(&g, &m));
	expect_event(&m, "dev", "tok");
	assert_false(recv(&g, &m));

	/* The VMM writes below it: the event reaches the ring with a notify, without a kick. */
	before = g.notified;
	assert_int_equal(xs_write(s, HOME "/dev/vbd/state", "1", 1), 0);
	assert_true(g.notified > before);
	assert_true(recv(&g, &m));
	expect_event(&m, "dev/vbd/state", "tok");
	assert_false(recv(&g, &m));

	/* An absolute watch gets absolute paths; rm of a parent fires watches below it. */
	rpc(&g, &m, XS_WATCH, 0, HOME "/dev/vbd/state", "abs", NULL);
	expect_ok(&m, XS_WATCH);
	assert_true(recv(&g, &m));
	expect_event(&m, HOME "/dev/vbd/state", "abs");
	assert_int_equal(xs_rm(s, HOME "/dev/vbd"), 0);
	nevents = 0;
	while (recv(&g, &m))
		take_event(&m);
	/*
	 * Xen's delnode_sub: a node below the removed one fires only the
	 * watches set exactly on it, first; the removed node fires every
	 * watch on it or above it.
	 */
	assert_int_equal(nevents, 2);
	expect_event(&events[0], HOME "/dev/vbd/state", "abs");
	expect_event(&events[1], "dev/vbd", "tok");

	/* A change elsewhere fires nothing. */
	assert_int_equal(xs_write(s, HOME "/other", "1", 1), 0);
	assert_false(recv(&g, &m));

	/* The guest's own change: the event comes with the reply to its kick. */
	nevents = 0;
	gwrite(&g, &m, 0, "dev/x", "1");
	expect_ok(&m, XS_WRITE);
	while (recv(&g, &m))
		take_event(&m);
	assert_int_equal(nevents, 1);
	expect_event(&events[0], "dev/x", "tok");

	/* Unwatch: no more events; unknown watch ENOENT; a duplicate EEXIST. */
	rpc(&g, &m, XS_WATCH, 0, "dev", "tok", NULL);
	expect_error(&m, "EEXIST");
	rpc(&g, &m, XS_UNWATCH, 0, "dev", "tok", NULL);
	expect_ok(&m, XS_UNWATCH);
	rpc(&g, &m, XS_UNWATCH, 0, "dev", "tok", NULL);
	expect_error(&m, "ENOENT");
	assert_int_equal(xs_write(s, HOME "/dev/y", "1", 1), 0);
	assert_false(recv(&g, &m));
}

static void test_watch_needs_read_permission(void **state)
{
	static const char *const r5[] = { "n0", "r5" };
	struct msg m;

	(void)state;
	rpc(&g, &m, XS_WATCH, 0, "/backend", "b", NULL);
	expect_ok(&m, XS_WATCH);
	assert_true(recv(&g, &m)); /* the first event comes whatever the permissions */
	expect_event(&m, "/backend", "b");
	/* A node it may read neither itself nor through its parent: no event. */
	assert_int_equal(xs_write(s, "/backend/a/b", "1", 1), 0);
	assert_false(recv(&g, &m));
	/* Readable: the event comes. */
	assert_int_equal(xs_set_perms(s, "/backend/a/b", r5, 2), 0);
	assert_true(recv(&g, &m));
	expect_event(&m, "/backend/a/b", "b");
	/* A child of a readable node is seen through its parent. */
	assert_int_equal(xs_write(s, "/backend/a/b/c", "1", 1), 0);
	assert_true(recv(&g, &m));
	expect_event(&m, "/backend/a/b/c", "b");
}

static void test_special_watches_fire_once(void **state)
{
	struct msg m;

	(void)state;
	rpc(&g, &m, XS_WATCH, 0, "@releaseDomain", "r", NULL);
	expect_ok(&m, XS_WATCH);
	assert_true(recv(&g, &m));
	expect_event(&m, "@releaseDomain", "r");
	rpc(&g, &m, XS_WATCH, 0, "@introduceDomain", "i", NULL);
	expect_ok(&m, XS_WATCH);
	assert_true(recv(&g, &m));
	expect_event(&m, "@introduceDomain", "i");
	/* Another domain coming and going fires nothing for a guest (Xen: dom0 only by default). */
	guest_open(&g2, 7, 0);
	guest_close(&g2);
	assert_int_equal(xs_domain_release(s, 7), 0);
	assert_int_equal(xs_write(s, "/x", "1", 1), 0);
	assert_false(recv(&g, &m));
	rpc(&g, &m, XS_UNWATCH, 0, "@releaseDomain", "r", NULL);
	expect_ok(&m, XS_UNWATCH);
}

static void test_events_wait_for_room_and_keep_their_order(void **state)
{
	struct msg m;
	char path[64];
	unsigned n = 0;

	(void)state;
	rpc(&g, &m, XS_WATCH, 0, "dev", "t", NULL);
	expect_ok(&m, XS_WATCH);
	assert_true(recv(&g, &m));
	/* 100 events of about 40 bytes: four rings' worth while the guest reads nothing. */
	for (unsigned i = 0; i < 100; i++) {
		snprintf(path, sizeof(path), HOME "/dev/node%03u", i);
		assert_int_equal(xs_write(s, path, "v", 1), 0);
	}
	assert_true(rsp_avail(&g) <= XENSTORE_RING_SIZE);
	assert_true(rsp_avail(&g) > XENSTORE_RING_SIZE - 64);
	/* The guest reads, kicks, and the rest follows, in order. */
	for (unsigned round = 0; round < 20 && n < 100; round++) {
		while (recv(&g, &m)) {
			snprintf(path, sizeof(path), "dev/node%03u", n);
			expect_event(&m, path, "t");
			n++;
		}
		process(&g);
	}
	assert_int_equal(n, 100);
	assert_int_equal(rsp_avail(&g), 0);
}

static void test_watch_event_queue_is_bounded(void **state)
{
	struct xs_quota q = xs_quota_default;
	struct xs_stats st;
	struct msg m;
	char path[64];
	unsigned n = 0;

	(void)state;
	teardown(NULL);
	q.max_queued_events = 8;
	setup_quota(&q);
	rpc(&g, &m, XS_WATCH, 0, "dev", "t", NULL);
	expect_ok(&m, XS_WATCH);
	assert_true(recv(&g, &m));
	for (unsigned i = 0; i < 100; i++) {
		snprintf(path, sizeof(path), HOME "/dev/node%03u", i);
		assert_int_equal(xs_write(s, path, "v", 1), 0);
	}
	/* What fit the ring, then 8 queued; the rest dropped (Xen drops past its memory quota). */
	for (unsigned round = 0; round < 10; round++) {
		while (recv(&g, &m)) {
			snprintf(path, sizeof(path), "dev/node%03u", n);
			expect_event(&m, path, "t");
			n++;
		}
		process(&g);
	}
	assert_true(n > 8 && n < 100);
	xs_get_stats(s, &st);
	assert_int_equal(st.events_dropped, 100 - n);
	assert_int_equal(rsp_avail(&g), 0);
	/*
	 * A repeated event already queued is not queued twice (Xen's
	 * send_event): fill the ring (34 events of 30 bytes), queue 6 more,
	 * then the same change 30 times makes one event.
	 */
	for (unsigned i = 0; i < 40; i++) {
		snprintf(path, sizeof(path), HOME "/dev/fill%03u", i);
		assert_int_equal(xs_write(s, path, "v", 1), 0);
	}
	for (unsigned i = 0; i < 30; i++)
		assert_int_equal(xs_write(s, HOME "/dev/samesam", "v", 1), 0);
	n = 0;
	for (unsigned round = 0; round < 4; round++) {
		while (recv(&g, &m)) {
			if (n < 40)
				snprintf(path, sizeof(path), "dev/fill%03u", n);
			else
				snprintf(path, sizeof(path), "dev/samesam");
			expect_event(&m, path, "t");
			n++;
		}
		process(&g);
	}
	assert_int_equal(n, 41);
}

/* --------------------------------------------------------- transactions */

static uint32_t tx_start(struct guest *gu)
{
	struct msg m;
	char *end;
	unsigned long id;

	rpc(gu, &m, XS_TRANSACTION_START, 0, "", NULL);
	assert_int_equal(m.h.type, XS_TRANSACTION_START);
	assert_int_equal(m.h.len, strlen(m.p) + 1);
	id = strtoul(m.p, &end, 10);
	assert_true(*end == '\0' && id != 0);
	return (uint32_t)id;
}

static void tx_end(struct guest *gu, uint32_t tx, const char *how, const char *err)
{
	struct msg m;

	rpc(gu, &m, XS_TRANSACTION_END, tx, how, NULL);
	if (err)
		expect_error(&m, err);
	else
		expect_ok(&m, XS_TRANSACTION_END);
}

static void test_transaction_isolation_and_commit(void **state)
{
	struct msg m;
	uint32_t tx;

	(void)state;
	gwrite(&g, &m, 0, "dev/old", "o");
	rpc(&g, &m, XS_WATCH, 0, "dev", "t", NULL);
	expect_ok(&m, XS_WATCH);
	assert_true(recv(&g, &m));
	tx = tx_start(&g);
	gwrite(&g, &m, tx, "dev/new", "n");
	expect_ok(&m, XS_WRITE);
	assert_int_equal(m.h.tx_id, tx);
	rpc(&g, &m, XS_RM, tx, "dev/old", NULL);
	expect_ok(&m, XS_RM);
	/* Inside: its own changes. */
	expect_read(&g, tx, "dev/new", "n");
	expect_read_err(&g, tx, "dev/old", "ENOENT");
	rpc(&g, &m, XS_DIRECTORY, tx, "dev", NULL);
	assert_string_equal(joined(&m), "new");
	/* Outside: nothing yet, and no watch fired. */
	expect_read_err(&g, 0, "dev/new", "ENOENT");
	expect_read(&g, 0, "dev/old", "o");
	assert_false(recv(&g, &m));
	{
		char buf[8];

		assert_int_equal(xs_read(s, HOME "/dev/new", buf, sizeof(buf), NULL), -ENOENT);
	}
	nevents = 0;
	tx_end(&g, tx, "T", NULL);
	while (recv(&g, &m))
		take_event(&m);
	/* Committed: visible to all, and the watches fired. */
	expect_read(&g, 0, "dev/new", "n");
	expect_read_err(&g, 0, "dev/old", "ENOENT");
	assert_int_equal(nevents, 2);
	expect_event(&events[0], "dev/new", "t");
	expect_event(&events[1], "dev/old", "t");
	/* The transaction is gone. */
	expect_read_err(&g, tx, "dev/new", "ENOENT");
}

static void test_transaction_abort_conflict_and_errors(void **state)
{
	struct msg m;
	uint32_t tx, tx2;

	(void)state;
	/* Abort: nothing happened. */
	tx = tx_start(&g);
	gwrite(&g, &m, tx, "a", "1");
	tx_end(&g, tx, "F", NULL);
	expect_read_err(&g, 0, "a", "ENOENT");

	/* A change meanwhile to what it used: EAGAIN, and nothing of the transaction is applied. */
	tx = tx_start(&g);
	gwrite(&g, &m, tx, "a", "1");
	assert_int_equal(xs_write(s, HOME "/b", "x", 1), 0); /* the home's children changed */
	tx_end(&g, tx, "T", "EAGAIN");
	expect_read_err(&g, 0, "a", "ENOENT");

	/* Two transactions of one guest: the second commit conflicts with the first. */
	tx = tx_start(&g);
	tx2 = tx_start(&g);
	assert_int_not_equal(tx, tx2);
	gwrite(&g, &m, tx, "a", "1");
	gwrite(&g, &m, tx2, "a", "2");
	tx_end(&g, tx, "T", NULL);
	tx_end(&g, tx2, "T", "EAGAIN");
	expect_read(&g, 0, "a", "1");

	/* A read-only transaction commits when nothing changed. */
	tx = tx_start(&g);
	expect_read(&g, tx, "a", "1");
	tx_end(&g, tx, "T", NULL);

	/* Errors: an unknown id (ENOENT), nesting (EBUSY), a bad end argument (EINVAL). */
	expect_read_err(&g, 12345, "a", "ENOENT");
	tx = tx_start(&g);
	rpc(&g, &m, XS_TRANSACTION_START, tx, "", NULL);
	expect_error(&m, "EBUSY");
	rpc(&g, &m, XS_TRANSACTION_END, tx, "X", NULL);
	expect_error(&m, "EINVAL");
	rpc(&g, &m, XS_TRANSACTION_END, 0, "T", NULL);
	expect_error(&m, "ENOENT");
	/* Permissions hold inside a transaction too. */
	gwrite(&g, &m, tx, "/backend/x", "1");
	expect_error(&m, "EACCES");
	tx_end(&g, tx, "F", NULL);
	/* Watches ignore the transaction id, as in Xen. */
	rpc(&g, &m, XS_WATCH, 777, "w", "t", NULL);
	expect_ok(&m, XS_WATCH);
}

/* Xen's transactions conflict on the nodes they used, not on every change to the store. */
static void test_transaction_conflicts_only_on_what_it_used(void **state)
{
	struct msg m;
	uint32_t tx;
	char buf[8];

	(void)state;
	gwrite(&g, &m, 0, "data", "d");
	gwrite(&g, &m, 0, "dir/x", "x");
	gwrite(&g, &m, 0, "q/x", "x");
	gwrite(&g, &m, 0, "r/x", "x");

	/* Unrelated changes elsewhere: it commits. */
	tx = tx_start(&g);
	gwrite(&g, &m, tx, "data", "1");
	assert_int_equal(xs_write(s, "/backend/vbd/5/0/state", "1", 1), 0);
	assert_int_equal(xs_write(s, HOME "/dir/x", "y", 1), 0);
	tx_end(&g, tx, "T", NULL);
	expect_read(&g, 0, "data", "1");

	/* A node it read changed: EAGAIN. */
	tx = tx_start(&g);
	expect_read(&g, tx, "data", "1");
	gwrite(&g, &m, tx, "other", "o");
	assert_int_equal(xs_write(s, HOME "/data", "2", 1), 0);
	tx_end(&g, tx, "T", "EAGAIN");
	expect_read_err(&g, 0, "other", "ENOENT");

	/* It created a child where the store's children changed meanwhile: EAGAIN. */
	tx = tx_start(&g);
	gwrite(&g, &m, tx, "dir/new", "n");
	assert_int_equal(xs_write(s, HOME "/dir/other", "o", 1), 0);
	tx_end(&g, tx, "T", "EAGAIN");
	expect_read_err(&g, 0, "dir/new", "ENOENT");

	/* It read a node, then removed its parent; the node changed meanwhile: EAGAIN. */
	tx = tx_start(&g);
	expect_read(&g, tx, "r/x", "x");
	rpc(&g, &m, XS_RM, tx, "r", NULL);
	expect_ok(&m, XS_RM);
	assert_int_equal(xs_write(s, HOME "/r/x", "z", 1), 0);
	tx_end(&g, tx, "T", "EAGAIN");
	expect_read(&g, 0, "r/x", "z");

	/*
	 * It only walked through q to change q/x; the store gained q/y meanwhile:
	 * it commits, and q/y stays (the commit touches only what it changed).
	 */
	tx = tx_start(&g);
	gwrite(&g, &m, tx, "q/x", "tx");
	assert_int_equal(xs_write(s, HOME "/q/y", "vmm", 3), 0);
	tx_end(&g, tx, "T", NULL);
	expect_read(&g, 0, "q/x", "tx");
	assert_int_equal(xs_read(s, HOME "/q/y", buf, sizeof(buf), NULL), 0);
	assert_string_equal(buf, "vmm");

	/* Removed and made again in one transaction: the old subtree goes, the new one stays. */
	gwrite(&g, &m, 0, "re/old/deep", "1");
	tx = tx_start(&g);
	rpc(&g, &m, XS_RM, tx, "re", NULL);
	gwrite(&g, &m, tx, "re/new", "2");
	tx_end(&g, tx, "T", NULL);
	expect_read_err(&g, 0, "re/old", "ENOENT");
	expect_read(&g, 0, "re/new", "2");
	expect_read(&g, 0, "re", "");
	rpc(&g, &m, XS_DIRECTORY, 0, "re", NULL);
	assert_string_equal(joined(&m), "new");
}

/* --------------------------------------------------------------- quotas */

static void test_quota_defaults_are_xens(void **state)
{
	(void)state;
	/* tools/xenstored/domain.c hard_quotas[] */
	assert_int_equal(xs_quota_default.max_nodes, 1000);
	assert_int_equal(xs_quota_default.max_value, 2048);
	assert_int_equal(xs_quota_default.max_watches, 128);
	assert_int_equal(xs_quota_default.max_transactions, 10);
	assert_int_equal(xs_quota_default.max_perms, 5);
	assert_int_equal(xs_quota_default.max_tx_nodes, 1024);
	assert_true(xs_quota_default.max_queued_events > 0);
}

static void test_quota_nodes(void **state)
{
	struct xs_quota q = xs_quota_default;
	struct xs_stats st;
	struct msg m;
	char p[16];

	(void)state;
	teardown(NULL);
	q.max_nodes = 6; /* the home is one of them */
	setup_quota(&q);
	for (int i = 0; i < 5; i++) {
		snprintf(p, sizeof(p), "n%d", i);
		gwrite(&g, &m, 0, p, "v");
		expect_ok(&m, XS_WRITE);
	}
	gwrite(&g, &m, 0, "n5", "v");
	expect_error(&m, "ENOSPC");
	rpc(&g, &m, XS_MKDIR, 0, "n6", NULL);
	expect_error(&m, "ENOSPC");
	/* A write that would create two nodes where one is left fails whole. */
	rpc(&g, &m, XS_RM, 0, "n4", NULL);
	gwrite(&g, &m, 0, "d/e", "v");
	expect_error(&m, "ENOSPC");
	expect_read_err(&g, 0, "d", "ENOENT");
	gwrite(&g, &m, 0, "n4", "v");
	expect_ok(&m, XS_WRITE);
	/* Overwriting costs nothing; dom0 has no quota, even in the guest's home. */
	gwrite(&g, &m, 0, "n0", "w");
	expect_ok(&m, XS_WRITE);
	assert_int_equal(xs_write(s, HOME "/by-vmm", "v", 1), 0);
	xs_get_stats(s, &st);
	assert_true(st.quota_refusals >= 3);
}

static void test_quota_value_size(void **state)
{
	char big[XENSTORE_PAYLOAD_MAX];
	char path_and_val[XENSTORE_PAYLOAD_MAX];
	struct msg m;
	uint32_t id;

	(void)state;
	memset(big, 'v', sizeof(big));
	/* 2048 bytes: fine (a reply longer than the ring comes in pieces). */
	memcpy(path_and_val, "val", 4);
	memcpy(path_and_val + 4, big, 2048);
	id = send_raw(&g, XS_WRITE, 0, path_and_val, 4 + 2048);
	reply_to(&g, id, &m);
	expect_ok(&m, XS_WRITE);
	/* 2049: ENOSPC (Xen's node-size quota). */
	memcpy(path_and_val + 4, big, 2049);
	id = send_raw(&g, XS_WRITE, 0, path_and_val, 4 + 2049);
	reply_to(&g, id, &m);
	expect_error(&m, "ENOSPC");
	/* The VMM may write more. */
	assert_int_equal(xs_write(s, HOME "/vmm-val", big, 3000), 0);
}

static void test_quota_watches(void **state)
{
	struct xs_quota q = xs_quota_default;
	struct msg m;
	char tok[16];

	(void)state;
	teardown(NULL);
	q.max_watches = 3;
	setup_quota(&q);
	for (int i = 0; i < 3; i++) {
		snprintf(tok, sizeof(tok), "t%d", i);
		rpc(&g, &m, XS_WATCH, 0, "w", tok, NULL);
		expect_ok(&m, XS_WATCH);
		assert_true(recv(&g, &m));
	}
	rpc(&g, &m, XS_WATCH, 0, "w", "t3", NULL);
	expect_error(&m, "E2BIG");
	/* A duplicate is still EEXIST (checked first in Xen). */
	rpc(&g, &m, XS_WATCH, 0, "w", "t0", NULL);
	expect_error(&m, "EEXIST");
	/* RESET_WATCHES frees them all. */
	rpc(&g, &m, XS_RESET_WATCHES, 0, NULL);
	expect_ok(&m, XS_RESET_WATCHES);
	rpc(&g, &m, XS_WATCH, 0, "w", "t3", NULL);
	expect_ok(&m, XS_WATCH);
}

static void test_quota_transactions_and_their_nodes(void **state)
{
	struct xs_quota q = xs_quota_default;
	struct msg m;
	uint32_t tx[3];
	char p[16];

	(void)state;
	teardown(NULL);
	q.max_transactions = 2;
	q.max_tx_nodes = 12;
	setup_quota(&q);
	tx[0] = tx_start(&g);
	tx[1] = tx_start(&g);
	rpc(&g, &m, XS_TRANSACTION_START, 0, "", NULL);
	expect_error(&m, "ENOSPC");
	tx_end(&g, tx[1], "F", NULL);
	tx[2] = tx_start(&g);
	tx_end(&g, tx[2], "F", NULL);
	/* Nodes one transaction may reach: "/", "local", "domain", "5" and what it makes. */
	int ok = 0;
	for (int i = 0; i < 20; i++) {
		snprintf(p, sizeof(p), "n%d", i);
		gwrite(&g, &m, tx[0], p, "v");
		if (m.h.type == XS_ERROR) {
			expect_error(&m, "ENOSPC");
			break;
		}
		ok++;
	}
	assert_true(ok > 0 && ok < 12);
	tx_end(&g, tx[0], "F", NULL);
}

static void test_quota_perms(void **state)
{
	struct msg m;

	(void)state;
	gwrite(&g, &m, 0, "p", "v");
	rpc(&g, &m, XS_SET_PERMS, 0, "p", "n5", "r1", "r2", "r3", "r4", NULL);
	expect_ok(&m, XS_SET_PERMS);
	rpc(&g, &m, XS_SET_PERMS, 0, "p", "n5", "r1", "r2", "r3", "r4", "r6", NULL);
	expect_error(&m, "ENOSPC");
}

/* ------------------------------------------------------------- the ring */

static void test_protocol_error_oversize_len_kills_the_connection(void **state)
{
	struct xsd_sockmsg h = { .type = XS_READ, .req_id = 1, .len = XENSTORE_PAYLOAD_MAX + 1 };
	struct msg m;
	uint32_t cons;

	(void)state;
	put_bytes(&g, &h, HDR);
	assert_int_equal(xs_conn_process(g.c), -EPROTO);
	assert_int_equal(g.page->error, XENSTORE_ERROR_PROTO);
	/* Dead for good: later requests are not even consumed. */
	cons = g.page->req_cons;
	send(&g, XS_READ, 0, "x", NULL);
	assert_int_equal(xs_conn_process(g.c), -EPROTO);
	assert_int_equal(g.page->req_cons, cons);
	assert_false(recv(&g, &m));
	/* Nor do watch events reach it. */
	assert_int_equal(xs_write(s, HOME "/x", "1", 1), 0);
	assert_int_equal(rsp_avail(&g), 0);
}

static void test_protocol_error_bogus_indices(void **state)
{
	(void)state;
	/* req_prod more than a ring ahead of what the store consumed. */
	g.page->req_prod = g.page->req_cons + XENSTORE_RING_SIZE + 1;
	assert_int_equal(xs_conn_process(g.c), -EPROTO);
	assert_int_equal(g.page->error, XENSTORE_ERROR_RINGIDX);
	assert_int_equal(xs_conn_process(g.c), -EPROTO);
	guest_close(&g);

	/* rsp_cons past what the store produced. */
	guest_open(&g, DOMID, 0);
	send(&g, XS_READ, 0, "x", NULL);
	g.page->rsp_cons = 5;
	assert_int_equal(xs_conn_process(g.c), -EPROTO);
	assert_int_equal(g.page->error, XENSTORE_ERROR_RINGIDX);
	/* The guest rewriting rsp_prod changes nothing: the store keeps its own. */
	guest_close(&g);
	guest_open(&g, DOMID, 0);
	{
		struct msg m;

		rpc(&g, &m, XS_MKDIR, 0, "x", NULL);
		g.page->rsp_prod = 1000;
		g.page->rsp_cons = 1000;
		send(&g, XS_READ, 0, "x", NULL);
		/* rsp_cons (1000) is past the store's rsp_prod (19): impossible. */
		assert_int_equal(xs_conn_process(g.c), -EPROTO);
		assert_int_equal(g.page->error, XENSTORE_ERROR_RINGIDX);
	}
}

static void test_ring_wraps_and_partial_messages(void **state)
{
	struct msg m;
	char big[1500];
	uint32_t id;

	(void)state;
	guest_close(&g);
	/* Indices just below 2^32 and not at a ring boundary: messages cross the ring's end and the index wraps. */
	guest_open(&g, DOMID, 0xfffffc00u - 7);
	for (int i = 0; i < 40; i++) {
		char v[32];

		snprintf(v, sizeof(v), "value-%d", i);
		gwrite(&g, &m, 0, "k", v);
		expect_ok(&m, XS_WRITE);
		expect_read(&g, 0, "k", v);
	}
	assert_true(g.page->req_prod < 0x1000u); /* wrapped */
	/* A header in two pieces, kicked in between: nothing happens until it is whole. */
	{
		char req[HDR + 2];
		struct xsd_sockmsg h = { .type = XS_READ, .req_id = 77, .len = 2 };

		memcpy(req, &h, HDR);
		memcpy(req + HDR, "k", 2);
		put_bytes(&g, req, 5);
		process(&g);
		assert_int_equal(rsp_avail(&g), 0);
		put_bytes(&g, req + 5, HDR - 5);
		process(&g);
		assert_int_equal(rsp_avail(&g), 0);
		put_bytes(&g, req + HDR, 2);
		reply_to(&g, 77, &m);
		assert_string_equal(m.p, "value-39");
	}
	/* A request longer than the ring goes in pieces, and so does its reply. */
	memset(big, 'b', sizeof(big));
	{
		char req[4 + sizeof(big)];
		uint32_t sent, left;
		struct xsd_sockmsg h = { .type = XS_WRITE, .req_id = 78, .len = sizeof(req) };

		memcpy(req, "big", 4);
		memcpy(req + 4, big, sizeof(big));
		put_bytes(&g, &h, HDR);
		for (sent = 0; sent < sizeof(req); sent += left) {
			left = req_room(&g) < sizeof(req) - sent ? req_room(&g) : sizeof(req) - sent;
			put_bytes(&g, req + sent, left);
			process(&g);
		}
		reply_to(&g, 78, &m);
		expect_ok(&m, XS_WRITE);
	}
	id = send(&g, XS_READ, 0, "big", NULL);
	process(&g);
	{
		/* The guest streams the reply: header, then payload as it comes. */
		struct xsd_sockmsg h;
		char got[sizeof(big)];
		uint32_t have = 0;

		assert_true(rsp_avail(&g) == XENSTORE_RING_SIZE);
		get_bytes(&g, &h, HDR);
		assert_int_equal(h.req_id, id);
		assert_int_equal(h.len, sizeof(big));
		while (have < h.len) {
			uint32_t n = rsp_avail(&g);

			assert_true(n > 0);
			get_bytes(&g, got + have, n);
			have += n;
			process(&g);
		}
		assert_memory_equal(got, big, sizeof(big));
	}
}

static void test_replies_wait_for_the_guest_to_read(void **state)
{
	struct msg m;
	char v[900];
	uint32_t id1, id2, id3;

	(void)state;
	memset(v, 'x', sizeof(v) - 1);
	v[sizeof(v) - 1] = '\0';
	gwrite(&g, &m, 0, "v", v);
	/* Two reads of 915-byte replies: the second does not fit until the first is read. */
	id1 = send(&g, XS_READ, 0, "v", NULL);
	id2 = send(&g, XS_READ, 0, "v", NULL);
	id3 = send(&g, XS_READ, 0, "v", NULL);
	process(&g);
	assert_int_equal(rsp_avail(&g), HDR + sizeof(v) - 1);
	/* The store stopped reading: the third request is still on the ring. */
	assert_true(g.page->req_prod - g.page->req_cons >= HDR + 2);
	process(&g); /* a kick without room changes nothing */
	assert_int_equal(rsp_avail(&g), HDR + sizeof(v) - 1);
	assert_true(recv(&g, &m));
	assert_int_equal(m.h.req_id, id1);
	reply_to(&g, id2, &m);
	reply_to(&g, id3, &m);
	assert_int_equal(m.h.len, sizeof(v) - 1);
}

/* ----------------------------------------------------------- VMM's side */

static void test_vmm_api(void **state)
{
	static const char *const perms[] = { "b0", "r5" };
	char buf[8];
	size_t len;
	uint64_t u;

	(void)state;
	assert_int_equal(xs_printf(s, "/vm/a/num", "%d", 123456789), 0);
	assert_int_equal(xs_read_u64(s, "/vm/a/num", &u), 0);
	assert_int_equal(u, 123456789);
	/* Truncated: E2BIG, NUL-terminated, the whole length reported. */
	assert_int_equal(xs_read(s, "/vm/a/num", buf, 4, &len), -E2BIG);
	assert_string_equal(buf, "123");
	assert_int_equal(len, 9);
	assert_int_equal(xs_write(s, "/vm/a/neg", "-1", 2), 0);
	assert_int_equal(xs_read_u64(s, "/vm/a/neg", &u), -EINVAL);
	assert_int_equal(xs_write(s, "/vm/a/junk", "12a", 3), 0);
	assert_int_equal(xs_read_u64(s, "/vm/a/junk", &u), -EINVAL);
	assert_int_equal(xs_write(s, "/vm/a/empty", "", 0), 0);
	assert_int_equal(xs_read_u64(s, "/vm/a/empty", &u), -EINVAL);
	assert_int_equal(xs_write(s, "/vm/a/huge", "18446744073709551616", 20), 0);
	assert_int_equal(xs_read_u64(s, "/vm/a/huge", &u), -EINVAL);
	/* A number is a number however many leading zeros it has (as Xen's xenbus_scanf("%u") reads it). */
	assert_int_equal(xs_write(s, "/vm/a/zeros", "000000000000000000000000000000000000000042", 42), 0);
	assert_int_equal(xs_read_u64(s, "/vm/a/zeros", &u), 0);
	assert_int_equal(u, 42);
	assert_int_equal(xs_write(s, "/vm/a/longjunk", "00000000000000000000000000000000000000004x", 42), 0);
	assert_int_equal(xs_read_u64(s, "/vm/a/longjunk", &u), -EINVAL);
	assert_int_equal(xs_read_u64(s, "/vm/a/none", &u), -ENOENT);
	/* Paths: absolute only for the VMM, and checked. */
	assert_int_equal(xs_write(s, "relative", "1", 1), -EINVAL);
	assert_int_equal(xs_write(s, "/a//b", "1", 1), -EINVAL);
	assert_int_equal(xs_mkdir(s, "/vm/dir"), 0);
	assert_int_equal(xs_read(s, "/vm/dir", buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(xs_set_perms(s, "/vm/dir", perms, 2), 0);
	{
		struct msg m;

		expect_read(&g, 0, "/vm/dir", "");
		gwrite(&g, &m, 0, "/vm/dir/x", "1");
		expect_error(&m, "EACCES");
	}
	assert_int_equal(xs_rm(s, "/vm/a"), 0);
	assert_int_equal(xs_read(s, "/vm/a/num", buf, sizeof(buf), NULL), -ENOENT);
	assert_int_equal(xs_rm(s, "/vm/a/x/y"), -ENOENT);
	/* A connection for domain 0 (the VMM's) is refused. */
	assert_null(xs_conn_new(s, 0, g.page, notify, &g));
}

struct cb_log {
	int calls;
	char path[8][64];
	char token[8][16];
	char seen[8][16]; /* what xs_read said from inside the callback */
};

static void on_watch(void *opaque, const char *path, const char *token)
{
	struct cb_log *l = opaque;

	if (l->calls < 8) {
		snprintf(l->path[l->calls], sizeof(l->path[0]), "%s", path);
		snprintf(l->token[l->calls], sizeof(l->token[0]), "%s", token);
		/* The store's lock is dropped: reading back in here does not deadlock. */
		if (xs_read(s, path, l->seen[l->calls], sizeof(l->seen[0]), NULL))
			strcpy(l->seen[l->calls], "(none)");
	}
	l->calls++;
}

static void test_vmm_watch_callback(void **state)
{
	struct cb_log log = { 0 };
	struct msg m;

	(void)state;
	assert_int_equal(xs_write(s, HOME "/device/vbd/0/state", "1", 1), 0);
	assert_int_equal(xs_watch(s, HOME "/device", "fe", on_watch, &log), 0);
	/* Fired once when set. */
	assert_int_equal(log.calls, 1);
	assert_string_equal(log.path[0], HOME "/device");
	assert_string_equal(log.token[0], "fe");
	assert_int_equal(xs_watch(s, HOME "/device", "fe", on_watch, &log), -EEXIST);
	/* The guest writes below it over the ring: the callback runs in xs_conn_process. */
	gwrite(&g, &m, 0, "device/vbd/0/state", "3");
	expect_ok(&m, XS_WRITE);
	assert_int_equal(log.calls, 2);
	assert_string_equal(log.path[1], HOME "/device/vbd/0/state");
	assert_string_equal(log.seen[1], "3");
	/* The VMM's own change too. */
	assert_int_equal(xs_write(s, HOME "/device/vbd/0/state", "4", 1), 0);
	assert_int_equal(log.calls, 3);
	assert_string_equal(log.seen[2], "4");
	/* The VMM's watches see every node (domain 0). */
	assert_int_equal(xs_unwatch(s, HOME "/device", "fe", on_watch, &log), 0);
	assert_int_equal(xs_unwatch(s, HOME "/device", "fe", on_watch, &log), -ENOENT);
	assert_int_equal(xs_write(s, HOME "/device/vbd/0/state", "5", 1), 0);
	assert_int_equal(log.calls, 3);
}

static void test_conn_free_drops_watches_keeps_nodes(void **state)
{
	struct msg m;
	struct xs_stats st0, st1;

	(void)state;
	guest_open(&g2, 7, 0);
	gwrite(&g2, &m, 0, "kept", "1");
	rpc(&g2, &m, XS_WATCH, 0, "kept", "t", NULL);
	assert_true(recv(&g2, &m));
	guest_close(&g2);
	xs_get_stats(s, &st0);
	assert_int_equal(xs_write(s, "/local/domain/7/kept", "2", 1), 0);
	xs_get_stats(s, &st1);
	assert_int_equal(st1.watch_events, st0.watch_events);
	{
		char buf[4];

		assert_int_equal(xs_read(s, "/local/domain/7/kept", buf, sizeof(buf), NULL), 0);
	}
}

static void test_domain_release_removes_what_it_owns(void **state)
{
	static const char *const shared[] = { "n0", "b7" };
	struct cb_log rel = { 0 }, intro = { 0 };
	struct xs_stats a, b;
	struct msg m;
	char buf[8];

	(void)state;
	assert_int_equal(xs_watch(s, "@releaseDomain", "rel", on_watch, &rel), 0);
	assert_int_equal(xs_watch(s, "@introduceDomain", "intro", on_watch, &intro), 0);
	assert_int_equal(rel.calls, 1);
	assert_int_equal(intro.calls, 1);
	xs_get_stats(s, &a);
	guest_open(&g2, 7, 0);
	assert_int_equal(intro.calls, 2);
	assert_string_equal(intro.path[1], "@introduceDomain");
	/* Domain 7's nodes: its home and below, and one it made in a shared directory. */
	assert_int_equal(xs_write(s, "/backend/vbd/7/0/state", "1", 1), 0);
	assert_int_equal(xs_set_perms(s, "/backend/vbd/7", shared, 2), 0);
	gwrite(&g2, &m, 0, "device/vbd/0/state", "1");
	expect_ok(&m, XS_WRITE);
	gwrite(&g2, &m, 0, "/backend/vbd/7/mine/x", "1");
	expect_ok(&m, XS_WRITE);
	/* Guest 5 watches one of them: its removal reaches it. */
	rpc(&g, &m, XS_WATCH, 0, "/backend/vbd/7", "w", NULL);
	assert_true(recv(&g, &m));
	{
		static const char *const r5[] = { "n0", "r5", "b7" };

		assert_int_equal(xs_set_perms(s, "/backend/vbd/7", r5, 3), 0);
		assert_true(recv(&g, &m));
	}
	guest_close(&g2);
	assert_int_equal(xs_domain_release(s, 7), 0);
	assert_int_equal(rel.calls, 2);
	assert_string_equal(rel.path[1], "@releaseDomain");
	assert_int_equal(xs_read(s, "/local/domain/7", buf, sizeof(buf), NULL), -ENOENT);
	assert_int_equal(xs_read(s, "/backend/vbd/7/mine", buf, sizeof(buf), NULL), -ENOENT);
	/* The VMM's own nodes stay, and guest 5's. */
	assert_int_equal(xs_read(s, "/backend/vbd/7/0/state", buf, sizeof(buf), NULL), 0);
	assert_int_equal(xs_read(s, HOME, buf, sizeof(buf), NULL), 0);
	assert_true(recv(&g, &m));
	expect_event(&m, "/backend/vbd/7/mine", "w");
	xs_get_stats(s, &b);
	assert_int_equal(b.nodes, a.nodes + 5); /* the VMM's /backend, vbd, 7, 0, state */
	assert_int_equal(xs_domain_release(s, 0), -EINVAL);
}

static void test_stats(void **state)
{
	struct xs_stats a, b;
	struct msg m;

	(void)state;
	xs_get_stats(s, &a);
	/* "/", "local", "domain", "5" */
	assert_int_equal(a.nodes, 4);
	gwrite(&g, &m, 0, "x/y", "1");
	expect_read_err(&g, 0, "nothing", "ENOENT");
	xs_get_stats(s, &b);
	assert_int_equal(b.nodes, 6);
	assert_int_equal(b.requests, a.requests + 2);
	assert_int_equal(b.errors, a.errors + 1);
	assert_int_equal(xs_rm(s, HOME "/x"), 0);
	xs_get_stats(s, &b);
	assert_int_equal(b.nodes, 4);
}

/* ----------------------------------------------------------------- dump */

static void test_dump_as_xenstore_ls(void **state)
{
	char buf[512];
	int n;

	(void)state;
	assert_int_equal(xs_write(s, "/t/a", "plain", 5), 0);
	assert_int_equal(xs_write(s, "/t/a/b", "quote\"back\\slash", 16), 0);
	assert_int_equal(xs_write(s, "/t/c", "tab\tnl\ncr\r\x01\x7f\xff", 13), 0);
	assert_int_equal(xs_mkdir(s, "/t/d"), 0);
	n = xs_dump(s, "/t", buf, sizeof(buf));
	assert_string_equal(buf, "a = \"plain\"\n"
				 " b = \"quote\"back\\\\slash\"\n"
				 "c = \"tab\\tnl\\ncr\\r\\001\\x7f\\xff\"\n"
				 "d = \"\"\n");
	assert_int_equal(n, strlen(buf));
	assert_int_equal(xs_dump(s, "/t", buf, 10), -ENOSPC);
	assert_int_equal(xs_dump(s, "/nothing", buf, sizeof(buf)), -ENOENT);
	n = xs_dump_json(s, "/t/a", buf, sizeof(buf));
	assert_string_equal(buf, "{\"value\": \"plain\", \"perms\": [\"n0\"], \"children\": "
				 "{\"b\": {\"value\": \"quote\\\"back\\\\slash\", \"perms\": [\"n0\"], "
				 "\"children\": {}}}}");
	assert_int_equal(n, strlen(buf));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_write_relative_and_absolute, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_creates_parents_owned_by_the_guest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mkdir_rm_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_directory_part, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_domain_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_and_privileged_ops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests_are_answered_einval, setup, teardown),
		cmocka_unit_test_setup_teardown(test_permissions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_fires_on_set_change_below_and_rm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_needs_read_permission, setup, teardown),
		cmocka_unit_test_setup_teardown(test_special_watches_fire_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_wait_for_room_and_keep_their_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_event_queue_is_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transaction_isolation_and_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transaction_abort_conflict_and_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transaction_conflicts_only_on_what_it_used, setup, teardown),
		cmocka_unit_test(test_quota_defaults_are_xens),
		cmocka_unit_test_setup_teardown(test_quota_nodes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quota_value_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quota_watches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quota_transactions_and_their_nodes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quota_perms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_protocol_error_oversize_len_kills_the_connection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_protocol_error_bogus_indices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_wraps_and_partial_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replies_wait_for_the_guest_to_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vmm_api, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vmm_watch_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conn_free_drops_watches_keeps_nodes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_domain_release_removes_what_it_owns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dump_as_xenstore_ls, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
