// SPDX-License-Identifier: MIT
/*
 * Unit tests of the xenstore's save and restore (io/xenstore.h, xs_save
 * and xs_restore).  Each test plays a relocation: an old VMM's store and
 * guest connection (the guest on a struct xenstore_domain_interface in a
 * buffer, as test_xenstore.c does), saved while nothing runs; a new VMM's
 * store that wrote its own nodes and set its own watch, and a fresh
 * connection on a page that gets the old page's bytes (guest memory is
 * restored byte for byte); the load; then the guest goes on, on the new
 * page.  Refusals are checked to leave the new store and connection as
 * they were: what xs_save writes of them, byte for byte.
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

#include "savebuf.h"
#include "xenstore_priv.h" /* the connection's queue, to see that a load queued nothing */

#define DOMID 5u
#define HOME "/local/domain/5"
#define HDR ((uint32_t)sizeof(struct xsd_sockmsg))

/* One VMM's side: its store and the guest's connection on its page. */
struct side {
	struct xs_store *s;
	struct xenstore_domain_interface *page;
	struct xs_conn *c;
	int notified;
	uint32_t next_req;
};

struct msg {
	struct xsd_sockmsg h;
	char p[XENSTORE_PAYLOAD_MAX + 1]; /* NUL-terminated beyond h.len */
};

static struct side old, new;
static int vmm_calls; /* the new VMM's watch callback */
/* Watch events that came before a reply (a guest's own change), in order, for expect_event. */
static struct msg early[8];
static unsigned nearly;
static char msg[512];

static void notify(void *opaque)
{
	((struct side *)opaque)->notified++;
}

static void on_vmm_watch(void *opaque, const char *path, const char *token)
{
	(void)opaque;
	(void)path;
	(void)token;
	vmm_calls++;
}

static void side_open(struct side *sd, const struct xs_quota *q, uint32_t domid)
{
	sd->s = xs_store_new(q);
	assert_non_null(sd->s);
	sd->page = calloc(1, sizeof(*sd->page));
	assert_non_null(sd->page);
	sd->next_req = 100;
	sd->c = xs_conn_new(sd->s, domid, sd->page, notify, sd);
	assert_non_null(sd->c);
}

static void side_close(struct side *sd)
{
	if (sd->c)
		xs_conn_free(sd->c);
	xs_store_free(sd->s);
	free(sd->page);
	memset(sd, 0, sizeof(*sd));
}

/* What an old VMM wrote, as xsdomain.c's write_tree and a disk backend do, and more. */
static void old_tree(struct xs_store *s)
{
	static const char *const home[] = { "n0", "r5" }, *const own[] = { "n5" },
			  *const be[] = { "n0", "r5", "w7" };
	static const char blob[] = { 'a', 0, 'b', 0, 0, 'c' };

	assert_int_equal(xs_set_perms(s, HOME, home, 2), 0);
	assert_int_equal(xs_write(s, HOME "/name", "web", 3), 0);
	assert_int_equal(xs_mkdir(s, HOME "/data"), 0);
	assert_int_equal(xs_set_perms(s, HOME "/data", own, 1), 0);
	assert_int_equal(xs_mkdir(s, HOME "/device/vbd"), 0);
	assert_int_equal(xs_write(s, "/local/domain/0/backend/vbd/5/51712/state", "4", 1), 0);
	assert_int_equal(xs_set_perms(s, "/local/domain/0/backend/vbd/5/51712", be, 3), 0);
	assert_int_equal(xs_write(s, "/vm/u/blob", blob, sizeof(blob)), 0);
	assert_int_equal(xs_write(s, "/vm/u/empty", "", 0), 0);
}

/* The new VMM, built from the same config: its own nodes (one the old had not) and its watch. */
static void new_open(const struct xs_quota *q, uint32_t domid)
{
	side_open(&new, q, domid);
	assert_int_equal(xs_write(new.s, HOME "/name", "other", 5), 0);
	assert_int_equal(xs_write(new.s, "/local/domain/0/only-new", "1", 1), 0);
	assert_int_equal(xs_watch(new.s, "/local/domain/0", "vmm", on_vmm_watch, NULL), 0);
	vmm_calls = 0; /* a watch fires once when set */
	new.notified = 0;
}

static int setup(void **state)
{
	(void)state;
	nearly = 0;
	side_open(&old, NULL, DOMID);
	old_tree(old.s);
	new_open(NULL, DOMID);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	side_close(&old);
	side_close(&new);
	return 0;
}

/* ----------------------------------------------------- the guest's side */

static uint32_t req_room(const struct side *sd)
{
	return XENSTORE_RING_SIZE - (sd->page->req_prod - sd->page->req_cons);
}

static void process(struct side *sd)
{
	assert_int_equal(xs_conn_process(sd->c), 0);
}

/* Raw bytes at req_prod, published; kicks the store when the ring is full. */
static void put_bytes(struct side *sd, const void *data, uint32_t n)
{
	struct xenstore_domain_interface *p = sd->page;
	const char *d = data;

	while (n) {
		uint32_t k = req_room(sd) < n ? req_room(sd) : n;

		if (!k) {
			process(sd);
			assert_true(req_room(sd) > 0);
			continue;
		}
		for (uint32_t i = 0; i < k; i++)
			p->req[MASK_XENSTORE_IDX(p->req_prod + i)] = d[i];
		__atomic_store_n(&p->req_prod, p->req_prod + k, __ATOMIC_RELEASE);
		d += k;
		n -= k;
	}
}

/* A request (header and payload) in buf; its length. */
static uint32_t make_req(struct side *sd, char *buf, uint32_t type, uint32_t tx, const void *pl,
			 uint32_t len)
{
	struct xsd_sockmsg h = { .type = type, .req_id = sd->next_req++, .tx_id = tx, .len = len };

	memcpy(buf, &h, HDR);
	memcpy(buf + HDR, pl, len);
	return HDR + len;
}

/* NUL-terminated strings, the last one without its NUL if value: the payload; its length. */
static uint32_t payload(char *buf, bool value, va_list ap)
{
	uint32_t len = 0;
	const char *a;

	while ((a = va_arg(ap, const char *))) {
		size_t l = strlen(a) + 1;

		memcpy(buf + len, a, l);
		len += (uint32_t)l;
	}
	return value && len ? len - 1 : len;
}

static uint32_t rsp_avail(const struct side *sd)
{
	return sd->page->rsp_prod - sd->page->rsp_cons;
}

static void get_bytes(struct side *sd, void *dst, uint32_t n)
{
	struct xenstore_domain_interface *p = sd->page;
	char *d = dst;

	for (uint32_t i = 0; i < n; i++)
		d[i] = p->rsp[MASK_XENSTORE_IDX(p->rsp_cons + i)];
	__atomic_store_n(&p->rsp_cons, p->rsp_cons + n, __ATOMIC_RELEASE);
}

/* One whole message off the response ring, if it is there whole. */
static bool recv(struct side *sd, struct msg *m)
{
	struct xenstore_domain_interface *p = sd->page;

	if (rsp_avail(sd) < HDR)
		return false;
	for (uint32_t i = 0; i < HDR; i++)
		((char *)&m->h)[i] = p->rsp[MASK_XENSTORE_IDX(p->rsp_cons + i)];
	assert_true(m->h.len <= XENSTORE_PAYLOAD_MAX);
	if (rsp_avail(sd) < HDR + m->h.len)
		return false;
	get_bytes(sd, &m->h, HDR);
	get_bytes(sd, m->p, m->h.len);
	m->p[m->h.len] = '\0';
	return true;
}

/* Sends a request of strings (value: the last without NUL); its id. */
static uint32_t sendv(struct side *sd, uint32_t type, uint32_t tx, bool value, va_list ap)
{
	char pl[XENSTORE_PAYLOAD_MAX], buf[HDR + XENSTORE_PAYLOAD_MAX];
	uint32_t len, id = sd->next_req;

	len = payload(pl, value, ap);
	len = make_req(sd, buf, type, tx, pl, len);
	put_bytes(sd, buf, len);
	return id;
}

static uint32_t send(struct side *sd, uint32_t type, uint32_t tx, ...)
{
	va_list ap;
	uint32_t id;

	va_start(ap, tx);
	id = sendv(sd, type, tx, false, ap);
	va_end(ap);
	return id;
}

/* The same, and takes its reply; events before it are kept in early[]. */
static void rpcv(struct side *sd, struct msg *m, uint32_t type, uint32_t tx, bool value, ...)
{
	va_list ap;
	uint32_t id;

	va_start(ap, value);
	id = sendv(sd, type, tx, value, ap);
	va_end(ap);
	process(sd);
	for (;;) {
		assert_true(recv(sd, m));
		if (m->h.type != XS_WATCH_EVENT)
			break;
		assert_true(nearly < sizeof(early) / sizeof(early[0]));
		early[nearly++] = *m;
	}
	assert_int_equal(m->h.req_id, id);
}

#define RPC(sd, m, type, tx, ...) rpcv(sd, m, type, tx, false, __VA_ARGS__, NULL)
#define WRITE(sd, m, tx, path, val) rpcv(sd, m, XS_WRITE, tx, true, path, val, NULL)

static void expect_ok(const struct msg *m, uint32_t type)
{
	if (m->h.type == XS_ERROR)
		fail_msg("op %u answered %s", type, m->p);
	assert_int_equal(m->h.type, type);
	assert_string_equal(m->p, "OK");
}

static void expect_error(const struct msg *m, const char *err)
{
	assert_int_equal(m->h.type, XS_ERROR);
	assert_string_equal(m->p, err);
}

static void expect_event(struct side *sd, const char *path, const char *token)
{
	struct msg m;

	if (nearly) {
		m = early[0];
		memmove(early, early + 1, --nearly * sizeof(early[0]));
	} else {
		assert_true(recv(sd, &m));
	}
	assert_int_equal(m.h.type, XS_WATCH_EVENT);
	assert_string_equal(m.p, path);
	assert_string_equal(m.p + strlen(path) + 1, token);
}

/* Takes every message waiting on the ring (the watches' first events, say). */
static void drain(struct side *sd)
{
	struct msg m;

	while (recv(sd, &m))
		;
	nearly = 0;
	assert_int_equal(rsp_avail(sd), 0);
}

/* --------------------------------------------------------------- moving */

static struct savebuf saved;

static void save_old(void)
{
	savebuf_free(&saved);
	assert_int_equal(xs_save(old.s, old.c, &saved), 0);
}

/* What the new side holds, as xs_save writes it: compared before and after a refusal. */
static void snapshot(struct side *sd, struct savebuf *b)
{
	memset(b, 0, sizeof(*b));
	assert_int_equal(xs_save(sd->s, sd->c, b), 0);
}

static void assert_same(const struct savebuf *a, const struct savebuf *b)
{
	assert_int_equal(a->len, b->len);
	assert_memory_equal(a->p, b->p, a->len);
}

/* The relocation: save, guest memory (the page) copied, load; nothing fires, nothing is written. */
static void move(void)
{
	struct savebuf again;
	uint32_t prod;

	save_old();
	memcpy(new.page, old.page, sizeof(*new.page));
	prod = new.page->rsp_prod;
	msg[0] = 'x';
	if (xs_restore(new.s, new.c, saved.p, saved.len, msg, sizeof(msg)))
		fail_msg("the load refused: %s", msg);
	assert_string_equal(msg, "");
	assert_int_equal(vmm_calls, 0);
	assert_int_equal(new.notified, 0);
	assert_int_equal(new.page->rsp_prod, prod);
	/* What the new side holds is what the old one held. */
	snapshot(&new, &again);
	assert_same(&saved, &again);
	savebuf_free(&again);
}

/* A refusal: its errno, a message naming want (and want2), and the new side as it was. */
static void expect_refusal(const void *data, size_t len, int err, const char *want, const char *want2)
{
	struct savebuf before, after;
	int calls = vmm_calls, notified = new.notified;

	snapshot(&new, &before);
	msg[0] = '\0';
	assert_int_equal(xs_restore(new.s, new.c, data, len, msg, sizeof(msg)), err);
	if (strncmp(msg, "xenstore: ", 10) || !strstr(msg, want) || (want2 && !strstr(msg, want2)))
		fail_msg("message \"%s\" does not say \"%s\"%s%s", msg, want, want2 ? " and " : "",
			 want2 ? want2 : "");
	snapshot(&new, &after);
	assert_same(&before, &after);
	assert_int_equal(vmm_calls, calls);
	assert_int_equal(new.notified, notified);
	savebuf_free(&before);
	savebuf_free(&after);
}

/* -------------------------------------------------- data built by hand */

static void put_header(struct savebuf *b, uint32_t version, uint32_t nodes)
{
	savebuf_u32(b, version);
	savebuf_u64(b, 100); /* the store's generation */
	savebuf_u32(b, nodes);
}

static void put_node(struct savebuf *b, const char *path, const void *val, uint32_t len)
{
	savebuf_str(b, path);
	savebuf_u64(b, 1);
	savebuf_u32(b, 1);
	savebuf_u32(b, 0); /* owner domain 0, no access for others */
	savebuf_u8(b, 0);
	savebuf_u32(b, len);
	savebuf_put(b, val, len);
}

/* ---------------------------------------------------------------- tests */

static void test_restore_round_trips_tree_values_and_perms(void **state)
{
	static const char blob[] = { 'a', 0, 'b', 0, 0, 'c' };
	char a[8192], b[8192], v[16];
	size_t len;
	struct msg m;

	(void)state;
	WRITE(&old, &m, 0, "data/k", "guest's");
	expect_ok(&m, XS_WRITE);
	WRITE(&old, &m, 0, "data/deep/er/still", "x");
	expect_ok(&m, XS_WRITE);
	assert_true(xs_dump_json(old.s, "/", a, sizeof(a)) > 0);
	move();

	assert_true(xs_dump_json(new.s, "/", b, sizeof(b)) > 0);
	assert_string_equal(a, b);
	/* The new VMM's own nodes gave way to the saved tree. */
	assert_int_equal(xs_read(new.s, "/local/domain/0/only-new", v, sizeof(v), NULL), -ENOENT);
	assert_int_equal(xs_read(new.s, HOME "/name", v, sizeof(v), NULL), 0);
	assert_string_equal(v, "web");
	assert_int_equal(xs_read(new.s, "/vm/u/blob", v, sizeof(v), &len), 0);
	assert_int_equal(len, sizeof(blob));
	assert_memory_equal(v, blob, sizeof(blob));
	/* The guest sees the same values and permissions on its new page. */
	RPC(&new, &m, XS_READ, 0, "data/deep/er/still");
	assert_int_equal(m.h.type, XS_READ);
	assert_string_equal(m.p, "x");
	RPC(&new, &m, XS_GET_PERMS, 0, "/local/domain/0/backend/vbd/5/51712");
	assert_int_equal(m.h.type, XS_GET_PERMS);
	assert_int_equal(m.h.len, sizeof("n0\0r5\0w7"));
	assert_memory_equal(m.p, "n0\0r5\0w7", m.h.len);
	RPC(&new, &m, XS_READ, 0, "/local/domain/0/backend/vbd/5/51712/state");
	expect_error(&m, "EACCES"); /* made before its parent was shared: dom0's alone */
	RPC(&new, &m, XS_READ, 0, HOME "/name");
	assert_string_equal(m.p, "web");
	WRITE(&new, &m, 0, "name", "mine");
	expect_error(&m, "EACCES"); /* home is n0 r5: still not the guest's to write */
}

static void test_restore_keeps_watches_and_fires_none(void **state)
{
	struct msg m;
	struct xs_stats before, after;

	(void)state;
	RPC(&old, &m, XS_WATCH, 0, "data", "rel");
	expect_ok(&m, XS_WATCH);
	RPC(&old, &m, XS_WATCH, 0, HOME "/device", "abs");
	expect_ok(&m, XS_WATCH);
	RPC(&old, &m, XS_WATCH, 0, "@releaseDomain", "rd");
	expect_ok(&m, XS_WATCH);
	drain(&old); /* each fired once when set */
	xs_get_stats(new.s, &before);
	move();

	/* The load queued nothing, wrote nothing and notified no one. */
	assert_null(new.c->out);
	assert_int_equal(rsp_avail(&new), 0);
	xs_get_stats(new.s, &after);
	assert_int_equal(after.watch_events, before.watch_events);
	assert_int_equal(after.events_dropped, before.events_dropped);
	/* The restored watches fire on the new connection, with their relative or absolute paths. */
	WRITE(&new, &m, 0, "data/x", "1");
	expect_ok(&m, XS_WRITE);
	expect_event(&new, "data/x", "rel");
	assert_int_equal(xs_write(new.s, HOME "/device/vbd/51712", "", 0), 0);
	expect_event(&new, HOME "/device/vbd/51712", "abs");
	assert_int_equal(rsp_avail(&new), 0);
	/* And they are the guest's still: it can remove them, and set a new one. */
	RPC(&new, &m, XS_UNWATCH, 0, "data", "rel");
	expect_ok(&m, XS_UNWATCH);
	RPC(&new, &m, XS_WATCH, 0, "@releaseDomain", "rd");
	expect_error(&m, "EEXIST");
	/* The new VMM's watch, set before the load, stayed. */
	assert_int_equal(xs_write(new.s, "/local/domain/0/backend/x", "1", 1), 0);
	assert_int_equal(vmm_calls, 1);
}

/* A request split at every point of its header and payload: the first part before the move. */
static void test_restore_completes_partial_request(void **state)
{
	char buf[HDR + 64];
	static const char pl[] = "data/half\0value";
	uint32_t len, id;
	struct msg m;
	char v[16];

	(void)state;
	for (uint32_t split = 1; split < HDR + sizeof(pl) - 1; split++) {
		side_close(&old);
		side_close(&new);
		side_open(&old, NULL, DOMID);
		old_tree(old.s);
		new_open(NULL, DOMID);
		id = old.next_req;
		len = make_req(&old, buf, XS_WRITE, 0, pl, sizeof(pl) - 1);
		put_bytes(&old, buf, split);
		process(&old);
		assert_int_equal(old.page->req_cons, split); /* taken into the connection */
		move();
		put_bytes(&new, buf + split, len - split);
		process(&new);
		assert_true(recv(&new, &m));
		assert_int_equal(m.h.req_id, id);
		expect_ok(&m, XS_WRITE);
		assert_int_equal(xs_read(new.s, HOME "/data/half", v, sizeof(v), NULL), 0);
		assert_string_equal(v, "value");
	}
}

/* A long reply half on the ring and a watch event behind it, carried to the new connection. */
static void test_restore_carries_queued_output(void **state)
{
	char big[3000], got[HDR + sizeof(big)];
	struct xsd_sockmsg h;
	uint32_t have = 0, id;
	struct msg m;

	(void)state;
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	assert_int_equal(xs_write(old.s, HOME "/data/big", big, sizeof(big)), 0);
	RPC(&old, &m, XS_WATCH, 0, "data/ev", "t");
	expect_ok(&m, XS_WATCH);
	drain(&old);
	id = send(&old, XS_READ, 0, "data/big", NULL);
	process(&old);
	assert_int_equal(rsp_avail(&old), XENSTORE_RING_SIZE); /* the rest waits for room */
	assert_int_equal(xs_write(old.s, HOME "/data/ev", "e", 1), 0);
	assert_int_equal(old.c->nevents, 1);
	move();

	/* The guest reads on, on the new page: the reply comes whole, the event after it. */
	while (have < sizeof(got)) {
		uint32_t k = rsp_avail(&new);

		assert_true(k > 0);
		if (k > sizeof(got) - have)
			k = sizeof(got) - have;
		get_bytes(&new, got + have, k);
		have += k;
		process(&new);
	}
	memcpy(&h, got, HDR);
	assert_int_equal(h.type, XS_READ);
	assert_int_equal(h.req_id, id);
	assert_int_equal(h.len, sizeof(big));
	assert_memory_equal(got + HDR, big, sizeof(big));
	expect_event(&new, "data/ev", "t");
	assert_int_equal(rsp_avail(&new), 0);
	assert_null(new.c->out);
}

static void test_restore_open_transaction_commit_answers_eagain(void **state)
{
	struct msg m;
	uint32_t tx;
	char v[16];

	(void)state;
	WRITE(&old, &m, 0, "data/k", "before");
	expect_ok(&m, XS_WRITE);
	RPC(&old, &m, XS_TRANSACTION_START, 0, "");
	assert_int_equal(m.h.type, XS_TRANSACTION_START);
	tx = (uint32_t)strtoul(m.p, NULL, 10);
	assert_true(tx != 0);
	WRITE(&old, &m, tx, "data/t1", "1");
	expect_ok(&m, XS_WRITE);
	move();

	/* Its id is still good, and it works on the loaded store as a new transaction. */
	RPC(&new, &m, XS_READ, tx, "data/k");
	assert_int_equal(m.h.type, XS_READ);
	assert_string_equal(m.p, "before");
	RPC(&new, &m, XS_READ, tx, "data/t1");
	expect_error(&m, "ENOENT"); /* what it wrote before the move is not kept */
	WRITE(&new, &m, tx, "data/t2", "2");
	expect_ok(&m, XS_WRITE);
	RPC(&new, &m, XS_TRANSACTION_END, tx, "T");
	expect_error(&m, "EAGAIN");
	assert_int_equal(xs_read(new.s, HOME "/data/t1", v, sizeof(v), NULL), -ENOENT);
	assert_int_equal(xs_read(new.s, HOME "/data/t2", v, sizeof(v), NULL), -ENOENT);
	/* The client's retry: the next id after the saved one, and a commit that takes. */
	RPC(&new, &m, XS_TRANSACTION_START, 0, "");
	assert_int_equal(strtoul(m.p, NULL, 10), tx + 1);
	tx++;
	WRITE(&new, &m, tx, "data/t2", "2");
	expect_ok(&m, XS_WRITE);
	RPC(&new, &m, XS_TRANSACTION_END, tx, "T");
	expect_ok(&m, XS_TRANSACTION_END);
	assert_int_equal(xs_read(new.s, HOME "/data/t2", v, sizeof(v), NULL), 0);
	assert_string_equal(v, "2");
}

/*
 * The guest's node count comes from the loaded tree: neither the new VMM's
 * nodes the load replaced (here five more the guest owns) nor zero.
 */
static void test_restore_recomputes_node_accounting(void **state)
{
	struct xs_quota q = xs_quota_default;
	char path[32];
	struct msg m;
	unsigned made = 0;

	(void)state;
	q.max_nodes = 12;
	side_close(&old);
	side_close(&new);
	side_open(&old, &q, DOMID);
	old_tree(old.s);
	for (;; made++) {
		snprintf(path, sizeof(path), "data/n%u", made);
		WRITE(&old, &m, 0, path, "v");
		if (m.h.type == XS_ERROR)
			break;
	}
	expect_error(&m, "ENOSPC");
	assert_true(made > 2);
	new_open(&q, DOMID);
	for (unsigned i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), HOME "/data/vmm%u", i); /* inherits data's owner: the guest */
		assert_int_equal(xs_mkdir(new.s, path), 0);
	}
	move();

	WRITE(&new, &m, 0, "data/one-more", "v");
	expect_error(&m, "ENOSPC"); /* still at the quota */
	RPC(&new, &m, XS_RM, 0, "data/n0");
	expect_ok(&m, XS_RM);
	WRITE(&new, &m, 0, "data/one-more", "v"); /* exactly the one freed */
	expect_ok(&m, XS_WRITE);
	WRITE(&new, &m, 0, "data/two-more", "v");
	expect_error(&m, "ENOSPC");
}

/* A save with something of everything: watches, a partial request, queued output, transactions. */
static void old_busy(void)
{
	char buf[HDR + 64];
	struct msg m;
	uint32_t len;

	RPC(&old, &m, XS_WATCH, 0, "data", "rel");
	expect_ok(&m, XS_WATCH);
	RPC(&old, &m, XS_WATCH, 0, "@introduceDomain", "intro");
	expect_ok(&m, XS_WATCH);
	RPC(&old, &m, XS_TRANSACTION_START, 0, "");
	RPC(&old, &m, XS_TRANSACTION_START, 0, "");
	drain(&old);
	/* Events nobody reads yet: a full ring and a queue. */
	for (unsigned i = 0; i < 40; i++) {
		char p[48];

		snprintf(p, sizeof(p), HOME "/data/e%u", i);
		assert_int_equal(xs_write(old.s, p, "", 0), 0);
	}
	assert_true(old.c->nevents > 0);
	len = make_req(&old, buf, XS_READ, 0, "data\0", 5);
	put_bytes(&old, buf, len - 2);
	process(&old);
}

static void test_restore_refuses_every_truncation(void **state)
{
	(void)state;
	old_busy();
	save_old();
	assert_true(saved.len > 1000);
	for (size_t len = 0; len < saved.len; len++)
		expect_refusal(saved.p, len, -EPROTO, "truncated", NULL);
	/* The whole of it loads. */
	assert_int_equal(xs_restore(new.s, new.c, saved.p, saved.len, msg, sizeof(msg)), 0);
}

static void test_restore_refuses_trailing_bytes(void **state)
{
	(void)state;
	save_old();
	savebuf_u8(&saved, 0);
	expect_refusal(saved.p, saved.len, -EPROTO, "1 bytes after the end", NULL);
}

static void test_restore_refuses_other_version(void **state)
{
	uint32_t v = 2;

	(void)state;
	save_old();
	memcpy(saved.p, &v, sizeof(v));
	expect_refusal(saved.p, saved.len, -EPROTO, "version 2", "version 1");
}

static void test_restore_refuses_child_before_parent(void **state)
{
	struct savebuf b = { 0 };

	(void)state;
	put_header(&b, 1, 3);
	put_node(&b, "/", "", 0);
	put_node(&b, "/a/b", "", 0);
	put_node(&b, "/a", "", 0);
	savebuf_u8(&b, 0);
	expect_refusal(b.p, b.len, -EPROTO, "node 1 (/a/b): its parent /a comes after it", NULL);
	savebuf_free(&b);
}

static void test_restore_refuses_overlong_value(void **state)
{
	struct savebuf b = { 0 };
	static char big[5000];

	(void)state;
	put_header(&b, 1, 2);
	put_node(&b, "/", "", 0);
	put_node(&b, "/local", big, sizeof(big));
	savebuf_u8(&b, 0);
	expect_refusal(b.p, b.len, -EPROTO, "node 1 (/local): value of 5000 bytes, more than 4096", NULL);
	savebuf_free(&b);
}

static void test_restore_refuses_duplicate_node(void **state)
{
	struct savebuf b = { 0 };

	(void)state;
	put_header(&b, 1, 4);
	put_node(&b, "/", "", 0);
	put_node(&b, "/a", "1", 1);
	put_node(&b, "/b", "", 0);
	put_node(&b, "/a", "2", 1);
	savebuf_u8(&b, 0);
	expect_refusal(b.p, b.len, -EPROTO, "node 3 (/a): a second node at this path", NULL);
	savebuf_free(&b);
}

static void test_restore_refuses_bad_paths_and_perms(void **state)
{
	static const char *const paths[] = { "/a/", "/a//b", "a", "/a b", "/@x" };
	struct savebuf b = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		put_header(&b, 1, 2);
		put_node(&b, "/", "", 0);
		put_node(&b, paths[i], "", 0);
		savebuf_u8(&b, 0);
		if (strcmp(paths[i], "/@x") == 0) {
			/* Xen allows '@' inside a path: this one loads (into a store of its own). */
			struct side x;

			side_open(&x, NULL, 9);
			assert_int_equal(xs_restore(x.s, NULL, b.p, b.len, msg, sizeof(msg)), 0);
			side_close(&x);
		} else {
			expect_refusal(b.p, b.len, -EPROTO, "not a canonical absolute path", paths[i]);
		}
		savebuf_free(&b);
	}
	/* The first node is the root; a node without permissions; access bits Xen has not. */
	put_header(&b, 1, 1);
	put_node(&b, "/a", "", 0);
	savebuf_u8(&b, 0);
	expect_refusal(b.p, b.len, -EPROTO, "node 0 (/a): the first node must be the root", NULL);
	savebuf_free(&b);
	put_header(&b, 1, 1);
	savebuf_str(&b, "/");
	savebuf_u64(&b, 1);
	savebuf_u32(&b, 0);
	expect_refusal(b.p, b.len, -EPROTO, "node 0 (/): 0 permission entries", NULL);
	savebuf_free(&b);
	put_header(&b, 1, 1);
	savebuf_str(&b, "/");
	savebuf_u64(&b, 1);
	savebuf_u32(&b, 1);
	savebuf_u32(&b, 0);
	savebuf_u8(&b, 4);
	expect_refusal(b.p, b.len, -EPROTO, "node 0 (/): permission 0 (domain 0, access 0x4)", NULL);
	savebuf_free(&b);
}

/* The connection part: the domain it belongs to, and what the store itself could never have held. */
static void test_restore_refuses_bad_connection(void **state)
{
	struct savebuf b = { 0 };
	struct side other;
	struct msg m;

	(void)state;
	/* Another domain's connection. */
	save_old();
	side_open(&other, NULL, 6);
	msg[0] = '\0';
	assert_int_equal(xs_restore(other.s, other.c, saved.p, saved.len, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "domain 5's connection, not domain 6's"));
	side_close(&other);
	/* A connection that is not fresh. */
	RPC(&new, &m, XS_WATCH, 0, "data", "t");
	drain(&new);
	expect_refusal(saved.p, saved.len, -EINVAL, "not a fresh one", NULL);
	RPC(&new, &m, XS_UNWATCH, 0, "data", "t");
	/*
	 * Two replies queued; a relative watch outside the home; transaction id 0;
	 * a reply shorter than the ring partly written (the store writes those whole).
	 */
	for (int k = 0; k < 4; k++) {
		put_header(&b, 1, 1);
		put_node(&b, "/", "", 0);
		savebuf_u8(&b, 1);
		savebuf_u32(&b, DOMID);
		savebuf_u8(&b, 0);
		savebuf_u32(&b, 0);
		savebuf_u32(&b, 0);
		savebuf_u32(&b, 0); /* no partial request */
		savebuf_u32(&b, k == 0 ? 2 : k == 3 ? 1 : 0);
		for (int i = 0; (k == 0 && i < 2) || (k == 3 && i < 1); i++) {
			struct xsd_sockmsg h = { .type = XS_WRITE, .req_id = 1, .len = 3 };

			savebuf_u8(&b, 0);
			savebuf_u32(&b, k == 3 ? 5 : 0);
			savebuf_u32(&b, HDR + 3);
			savebuf_put(&b, &h, HDR);
			savebuf_put(&b, "OK", 3);
		}
		savebuf_u32(&b, k == 1);
		if (k == 1) {
			savebuf_str(&b, "/local/domain/6/x");
			savebuf_str(&b, "t");
			savebuf_u8(&b, 1);
		}
		savebuf_u32(&b, k == 2);
		if (k == 2)
			savebuf_u32(&b, 0);
		savebuf_u32(&b, 1);
		expect_refusal(b.p, b.len, -EPROTO,
			       k == 0 ? "queued message 1: a second queued reply" :
			       k == 1 ? "watch 0 (/local/domain/6/x): relative flag 1" :
			       k == 2 ? "transaction 0: id 0" :
					"queued message 0: 5 of its 19 bytes already on the ring", NULL);
		savebuf_free(&b);
	}
}

/* A save without a connection (c NULL): the tree loads, and the new connection stays fresh. */
static void test_restore_without_connection(void **state)
{
	struct savebuf b = { 0 };
	struct side x;
	char v[8];

	(void)state;
	assert_int_equal(xs_save(old.s, NULL, &b), 0);
	side_open(&x, NULL, 9);
	assert_int_equal(xs_restore(x.s, x.c, b.p, b.len, msg, sizeof(msg)), 0);
	assert_int_equal(xs_read(x.s, HOME "/name", v, sizeof(v), NULL), 0);
	assert_string_equal(v, "web");
	/* Domain 9's home went with the tree it had: the load is the saved tree, no more. */
	assert_int_equal(xs_read(x.s, "/local/domain/9", v, sizeof(v), NULL), -ENOENT);
	side_close(&x);
	savebuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_restore_round_trips_tree_values_and_perms),
		T(test_restore_keeps_watches_and_fires_none),
		T(test_restore_completes_partial_request),
		T(test_restore_carries_queued_output),
		T(test_restore_open_transaction_commit_answers_eagain),
		T(test_restore_recomputes_node_accounting),
		T(test_restore_refuses_every_truncation),
		T(test_restore_refuses_trailing_bytes),
		T(test_restore_refuses_other_version),
		T(test_restore_refuses_child_before_parent),
		T(test_restore_refuses_overlong_value),
		T(test_restore_refuses_duplicate_node),
		T(test_restore_refuses_bad_paths_and_perms),
		T(test_restore_refuses_bad_connection),
		T(test_restore_without_connection),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
