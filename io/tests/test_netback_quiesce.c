// SPDX-License-Identifier: MIT
/*
 * unit tier: a netback queue's quiesce and restore (io/netback.h), on a
 * grant table over test memory with a port pair whose other end the test
 * holds, in each notification mode: a quiesce answers every request the
 * queue took and then takes none (frames from the port meanwhile are
 * dropped and counted), its ring state is what a restore needs, a queue
 * restored from it on the same memory goes on at the saved indices (a
 * dropped chain's rest too), saved states that do not fit the rings are
 * refused naming the ring and the values, and a quiesce that cannot
 * finish in time fails and the queue goes on.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "netback.h"
#include "port_pair.h"
#include "testutil.h"

#define PAGES 96u
#define F_TABLE 8u   /* grant table: one frame, refs 0..511 */
#define F_TX 10u     /* the TX ring (ref the same) */
#define F_RX 11u     /* the RX ring (ref the same) */
#define F_DATA 32u   /* TX data and RX buffers: 32 pages, ref = frame */
#define REF_NONE 200u /* never granted */
#define WAIT_MS 20000
#define QUIET_MS 150

static const uint8_t VIF_MAC[6] = { 0x00, 0x16, 0x3e, 0x00, 0x00, 0x01 };

static struct {
	uint8_t *mem;
	struct grant_table gt;
	bool gt_ready;
	uint32_t mode;
	struct netif_tx_front tx;
	struct netif_rx_front rx;
	struct netback *nb;
	struct net_port *port, *peer; /* netback's end, the test's */
	int done_fd;
} L;

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void grant(grant_ref_t ref, uint32_t frame)
{
	struct grant_entry_v1 *e = (struct grant_entry_v1 *)(void *)(L.mem + F_TABLE * 4096ull) + ref;

	e->frame = frame;
	e->domid = XENITH_BACKEND_DOMID;
	__atomic_store_n(&e->flags, (uint16_t)GTF_permit_access, __ATOMIC_RELEASE);
}

static void fe_notify(void *opaque, enum netback_ring ring)
{
	uint64_t one = 1;

	(void)opaque;
	(void)ring;
	if (write(L.done_fd, &one, sizeof(one)) < 0) {
		/* far from saturating */
	}
}

/* A backend on a fresh port pair (the test holds the other end), opened, not connected. */
static void open_backend(struct net_port_ops *ops_override)
{
	struct netback_config cfg = { .index = 0, .queue = 0, .mode = L.mode };
	char msg[256];

	assert_int_equal(port_pair_create("q0", &L.port, &L.peer), 0);
	if (ops_override) {
		*ops_override = *L.port->ops; /* the pair's, but for what the test changes */
		L.port->ops = ops_override;
	}
	cfg.port = L.port;
	memcpy(cfg.mac, VIF_MAC, 6);
	if (netback_open(&cfg, &L.nb, msg, sizeof(msg)) < 0)
		fail_msg("%s", msg);
}

static void close_backend(void)
{
	netback_close(L.nb);
	L.nb = NULL;
	if (L.port)
		L.port->ops->close(L.port);
	if (L.peer)
		L.peer->ops->close(L.peer);
	L.port = L.peer = NULL;
}

static int setup(void **state)
{
	memset(&L, 0, sizeof(L));
	L.mem = mmap(NULL, PAGES * 4096ull, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(L.mem != MAP_FAILED);
	L.mode = (uint32_t)(uintptr_t)*state;
	L.done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(L.done_fd >= 0);
	assert_int_equal(grant_table_init(&L.gt, L.mem, PAGES * 4096ull, 8 * 4096ull, XENITH_BACKEND_DOMID), 0);
	L.gt_ready = true;
	assert_int_equal(grant_table_set(&L.gt, F_TABLE * 4096ull, 1), 0);
	grant(F_TX, F_TX);
	grant(F_RX, F_RX);
	for (unsigned f = F_DATA; f < F_DATA + 32; f++)
		grant(f, f);
	netif_tx_sring_init((struct netif_tx_sring *)(void *)(L.mem + F_TX * 4096ull));
	netif_rx_sring_init((struct netif_rx_sring *)(void *)(L.mem + F_RX * 4096ull));
	netif_tx_front_init(&L.tx, (struct netif_tx_sring *)(void *)(L.mem + F_TX * 4096ull));
	netif_rx_front_init(&L.rx, (struct netif_rx_sring *)(void *)(L.mem + F_RX * 4096ull));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	close_backend();
	if (L.gt_ready)
		grant_table_fini(&L.gt);
	if (L.done_fd >= 0)
		close(L.done_fd);
	munmap(L.mem, PAGES * 4096ull);
	memset(&L, 0, sizeof(L));
	return 0;
}

static void connect_fresh(void)
{
	open_backend(NULL);
	assert_int_equal(netback_connect(L.nb, &L.gt, F_TX, F_RX, fe_notify, NULL), 0);
}

static void kick(void)
{
	uint64_t one = 1;

	assert_int_equal(write(netback_kick_fd(L.nb), &one, sizeof(one)), sizeof(one));
}

/* A frame of len bytes from the vif's MAC in page frame, its bytes a pattern of seq. */
static void frame_at(uint32_t frame, uint16_t len, uint8_t seq)
{
	uint8_t *p = L.mem + frame * 4096ull;

	memcpy(p, "\x02\x00\x00\x00\x00\x02", 6);
	memcpy(p + 6, VIF_MAC, 6);
	p[12] = 0x88;
	p[13] = 0xb5;
	for (unsigned i = 14; i < len; i++)
		p[i] = (uint8_t)(seq * 31 + i);
}

static void put_tx(grant_ref_t gref, uint16_t flags, uint16_t id, uint16_t size)
{
	union netif_tx_slot_req *s = netif_tx_front_next_req(&L.tx);

	memset(s, 0, sizeof(*s));
	s->tx = (struct netif_tx_request){ .gref = gref, .offset = 0, .flags = flags, .id = id, .size = size };
	L.tx.req_prod_pvt++;
}

static void tx_push(void)
{
	if (netif_tx_front_push(&L.tx))
		kick();
}

static void post_rx(grant_ref_t gref, uint16_t id)
{
	struct netif_rx_request *r = netif_rx_front_next_req(&L.rx);

	r->id = id;
	r->pad = 0;
	r->gref = gref;
	L.rx.req_prod_pvt++;
	if (netif_rx_front_push(&L.rx))
		kick();
}

/* Waits for the TX ring to hold n unread responses (WAIT_MS at most). */
static void tx_wait(unsigned n)
{
	uint64_t deadline = ms_now() + WAIT_MS;

	while (netif_tx_front_pending_rsps(&L.tx) < n) {
		if (ms_now() >= deadline)
			fail_msg("%u TX responses within %d ms: only %u", n, WAIT_MS, netif_tx_front_pending_rsps(&L.tx));
		sleep_ms(1);
	}
}

static void rx_wait(unsigned n)
{
	uint64_t deadline = ms_now() + WAIT_MS;

	while (netif_rx_front_pending_rsps(&L.rx) < n) {
		if (ms_now() >= deadline)
			fail_msg("%u RX responses within %d ms: only %u", n, WAIT_MS, netif_rx_front_pending_rsps(&L.rx));
		sleep_ms(1);
	}
}

static struct netif_tx_response tx_take(void)
{
	struct netif_tx_response r;

	netif_tx_front_take_rsp(&L.tx, &r);
	return r;
}

static struct netif_rx_response rx_take(void)
{
	union netif_rx_slot_rsp r;

	netif_rx_front_take_rsp(&L.rx, &r);
	return r.rx;
}

/* n frames from the test's end of the pair, each of len + i bytes. */
static void send_peer(unsigned n, uint16_t len)
{
	static uint8_t buf[NET_PORT_BURST][NET_PORT_FRAME_MAX];
	struct net_frame f[NET_PORT_BURST];

	for (unsigned i = 0; i < n; i++) {
		memset(buf[i], 0, 14);
		for (unsigned b = 14; b < len + i; b++)
			buf[i][b] = (uint8_t)(i * 7 + b);
		f[i] = (struct net_frame){ .data = buf[i], .len = (uint16_t)(len + i) };
	}
	assert_int_equal(L.peer->ops->send(L.peer, f, n), (int)n);
}

/* Frames waiting at the test's end of the pair, read and counted. */
static unsigned peer_count(void)
{
	static uint8_t buf[NET_PORT_BURST][NET_PORT_FRAME_MAX];
	struct net_frame f[NET_PORT_BURST];
	unsigned total = 0;
	int got;

	do {
		for (unsigned i = 0; i < NET_PORT_BURST; i++)
			f[i] = (struct net_frame){ .data = buf[i], .cap = NET_PORT_FRAME_MAX };
		got = L.peer->ops->recv(L.peer, f, NET_PORT_BURST);
		assert_true(got >= 0);
		total += (unsigned)got;
	} while (got > 0);
	return total;
}

static uint64_t drops(enum netback_drop d)
{
	struct netback_stats st;

	netback_get_stats(L.nb, &st);
	return st.drops[d];
}

static ring_idx_t published_rsp_prod(bool tx)
{
	return tx ? __atomic_load_n(&L.tx.s->h.rsp_prod, __ATOMIC_ACQUIRE)
		  : __atomic_load_n(&L.rx.s->h.rsp_prod, __ATOMIC_ACQUIRE);
}

static void test_a_quiesce_answers_every_request_taken_and_then_takes_none(void **state)
{
	struct netback_ring_state st;
	char msg[256];
	unsigned sent;

	(void)state;
	connect_fresh();
	frame_at(F_DATA, 100, 1);
	for (unsigned i = 0; i < 20; i++)
		put_tx(F_DATA, 0, (uint16_t)i, 100);
	tx_push();
	post_rx(F_DATA + 10, 500);
	/* No waiting: the quiesce meets the queue wherever it is in its work. */
	if (netback_quiesce(L.nb, NETBACK_QUIESCE_TIMEOUT_MS, msg, sizeof(msg)) < 0)
		fail_msg("quiesce: %s", msg);
	assert_true(netback_quiesced(L.nb));
	assert_int_equal(netback_get_ring_state(L.nb, &st), 0);
	/* Nothing half-done: every slot taken is answered, and the answers are published. */
	assert_int_equal(st.tx_req_cons, st.tx_rsp_prod_pvt);
	assert_int_equal(st.tx_rsp_prod_pvt, published_rsp_prod(true));
	assert_int_equal(st.rx_req_cons, st.rx_rsp_prod_pvt);
	assert_int_equal(st.rx_rsp_prod_pvt, published_rsp_prod(false));
	assert_int_equal(st.tx_ref, F_TX);
	assert_int_equal(st.rx_ref, F_RX);
	assert_false(st.tx_cut);
	assert_false(st.broken);
	sent = peer_count();
	assert_int_equal(sent, st.tx_req_cons); /* each request taken went to the port */
	assert_int_equal(netif_tx_front_pending_rsps(&L.tx), st.tx_req_cons);

	/* Quiesced: new requests and kicks wait; frames from the port are dropped and counted. */
	for (unsigned i = 20; i < 25; i++)
		put_tx(F_DATA, 0, (uint16_t)i, 100);
	tx_push();
	kick();
	send_peer(3, 80);
	sleep_ms(QUIET_MS);
	assert_int_equal(published_rsp_prod(true), st.tx_rsp_prod_pvt);
	assert_int_equal(published_rsp_prod(false), st.rx_rsp_prod_pvt);
	assert_int_equal(peer_count(), 0);
	for (uint64_t end = ms_now() + WAIT_MS; drops(NETBACK_DROP_QUIESCED) < 3 && ms_now() < end;)
		sleep_ms(1);
	assert_int_equal(drops(NETBACK_DROP_QUIESCED), 3);
	assert_int_equal(drops(NETBACK_DROP_NO_RX_BUFFER), 0);

	/* Resumed: every request is answered, the posted buffer takes the next frame. */
	netback_resume(L.nb);
	assert_false(netback_quiesced(L.nb));
	tx_wait(25);
	for (unsigned i = 0; i < 25; i++) {
		struct netif_tx_response r = tx_take();

		assert_int_equal(r.id, i);
		assert_int_equal(r.status, NETIF_RSP_OKAY);
	}
	send_peer(1, 90);
	rx_wait(1);
	assert_int_equal(rx_take().status, 90);
	assert_int_equal(sent + peer_count(), 25);
}

/* A quiesced queue saved, its backend closed (the VMM went), a new one restored on the same memory. */
static void restore_on_a_new_backend(const struct netback_ring_state *st)
{
	char msg[256];

	close_backend();
	open_backend(NULL);
	if (netback_connect_restored(L.nb, &L.gt, st, fe_notify, NULL, msg, sizeof(msg)) < 0)
		fail_msg("connect_restored: %s", msg);
	assert_true(netback_quiesced(L.nb));
}

static void test_a_restored_queue_goes_on_from_the_saved_indices(void **state)
{
	struct netback_ring_state st;
	char msg[256];

	(void)state;
	connect_fresh();
	frame_at(F_DATA, 64, 1);
	for (unsigned i = 0; i < 3; i++)
		put_tx(F_DATA, 0, (uint16_t)i, 64);
	tx_push();
	tx_wait(3);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(tx_take().status, NETIF_RSP_OKAY);
	post_rx(F_DATA + 10, 10);
	post_rx(F_DATA + 11, 11);
	post_rx(F_DATA + 12, 12); /* posted, not used before the save */
	send_peer(2, 70);
	rx_wait(2);
	assert_int_equal(rx_take().id, 10);
	assert_int_equal(rx_take().id, 11);
	assert_int_equal(peer_count(), 3);
	assert_int_equal(netback_quiesce(L.nb, NETBACK_QUIESCE_TIMEOUT_MS, msg, sizeof(msg)), 0);
	assert_int_equal(netback_get_ring_state(L.nb, &st), 0);
	assert_int_equal(st.tx_req_cons, 3);
	assert_int_equal(st.rx_req_cons, 2);
	restore_on_a_new_backend(&st);

	/* Quiesced until resumed. */
	frame_at(F_DATA + 1, 66, 2);
	put_tx(F_DATA + 1, 0, 3, 66);
	tx_push();
	sleep_ms(QUIET_MS);
	assert_int_equal(published_rsp_prod(true), 3);
	netback_resume(L.nb);
	tx_wait(1);
	{
		struct netif_tx_response r = tx_take();

		assert_int_equal(r.id, 3); /* at index 3: none of the first three again */
		assert_int_equal(r.status, NETIF_RSP_OKAY);
	}
	assert_int_equal(published_rsp_prod(true), 4);
	assert_int_equal(peer_count(), 1);
	/* The buffer posted before the save takes the next frame, at RX index 2. */
	send_peer(1, 99);
	rx_wait(1);
	{
		struct netif_rx_response r = rx_take();

		assert_int_equal(r.id, 12);
		assert_int_equal(r.status, 99);
	}
	assert_int_equal(published_rsp_prod(false), 3);
}

/*
 * A chain of too many requests is dropped whole (netback_tx_skip): saved
 * in the middle of it, the restored queue goes on skipping its rest,
 * which would otherwise be read as a packet of its own and sent.
 */
static void test_a_restored_queue_goes_on_skipping_the_rest_of_a_dropped_chain(void **state)
{
	struct netback_ring_state st;
	char msg[256];
	unsigned n = XENITH_NET_MAX_SLOTS_PER_PKT + 1;

	(void)state;
	connect_fresh();
	frame_at(F_DATA, 200, 3);
	for (unsigned i = 0; i < n; i++)
		put_tx(F_DATA, NETTXF_more_data, (uint16_t)i, 100); /* the chain goes on past what is published */
	tx_push();
	tx_wait(XENITH_NET_MAX_SLOTS_PER_PKT + 1);
	assert_int_equal(netback_quiesce(L.nb, NETBACK_QUIESCE_TIMEOUT_MS, msg, sizeof(msg)), 0);
	assert_int_equal(netback_get_ring_state(L.nb, &st), 0);
	assert_true(st.tx_cut);
	assert_int_equal(st.tx_req_cons, n);
	while (netif_tx_front_pending_rsps(&L.tx))
		assert_int_equal(tx_take().status, NETIF_RSP_ERROR);
	restore_on_a_new_backend(&st);
	/* The chain's rest (a well-formed packet on its own), then a good packet. */
	put_tx(F_DATA, NETTXF_more_data, 100, 100);
	put_tx(F_DATA + 1, 0, 101, 40);
	put_tx(F_DATA, 0, 102, 200);
	tx_push();
	netback_resume(L.nb);
	tx_wait(3);
	assert_int_equal(tx_take().status, NETIF_RSP_ERROR);
	assert_int_equal(tx_take().status, NETIF_RSP_ERROR);
	assert_int_equal(tx_take().status, NETIF_RSP_OKAY);
	assert_int_equal(peer_count(), 1);
}

/* A saved state that does not fit the rings is refused, naming the ring and values; nothing is left connected. */
static void test_a_restored_state_that_does_not_fit_the_rings_is_refused(void **state)
{
	struct netback_ring_state st, bad;
	char msg[512], want[160];

	(void)state;
	connect_fresh();
	frame_at(F_DATA, 64, 1);
	for (unsigned i = 0; i < 4; i++)
		put_tx(F_DATA, 0, (uint16_t)i, 64);
	tx_push();
	tx_wait(4);
	assert_int_equal(netback_quiesce(L.nb, NETBACK_QUIESCE_TIMEOUT_MS, msg, sizeof(msg)), 0);
	assert_int_equal(netback_get_ring_state(L.nb, &st), 0);
	close_backend();
	open_backend(NULL);
#define REFUSED(err, want) do { \
		memset(msg, 0, sizeof(msg)); \
		assert_int_equal(netback_connect_restored(L.nb, &L.gt, &bad, fe_notify, NULL, msg, sizeof(msg)), -(err)); \
		if (!strstr(msg, want) || strncmp(msg, "vif 0 queue 0: ", 15)) \
			fail_msg("expected '%s' in '%s'", want, msg); \
		assert_false(netback_connected(L.nb)); \
	} while (0)
	bad = st;
	bad.tx_req_cons++;
	REFUSED(EPROTO, "the saved TX ring has 1 request(s) taken and not answered (req_cons 5, rsp_prod_pvt 4)");
	bad = st;
	bad.tx_req_cons = bad.tx_rsp_prod_pvt = 9;
	REFUSED(EPROTO, "the TX ring's published rsp_prod is 4, not the saved rsp_prod_pvt 9");
	bad = st;
	bad.rx_req_cons = bad.rx_rsp_prod_pvt = 2;
	REFUSED(EPROTO, "the RX ring's published rsp_prod is 0, not the saved rsp_prod_pvt 2");
	bad = st;
	__atomic_store_n(&L.tx.s->h.req_prod, 4 + netif_tx_ring_size() + 1, __ATOMIC_RELEASE);
	snprintf(want, sizeof(want), "the TX ring's req_prod %u is not within %u requests past the saved req_cons 4",
		 4 + netif_tx_ring_size() + 1, netif_tx_ring_size());
	REFUSED(EPROTO, want);
	__atomic_store_n(&L.tx.s->h.req_prod, 4, __ATOMIC_RELEASE);
	bad = st;
	bad.rx_ref = REF_NONE;
	REFUSED(EPERM, "rx-ring-ref 200: the guest's grant of a ring page does not check out");
	/* A broken queue's indices are not checked: its rings are never read again. */
	bad = st;
	bad.broken = true;
	bad.tx_req_cons = 77;
	assert_int_equal(netback_connect_restored(L.nb, &L.gt, &bad, fe_notify, NULL, msg, sizeof(msg)), 0);
	assert_true(netback_broken(L.nb));
	netback_disconnect(L.nb);
	/* and the state as saved restores */
	assert_int_equal(netback_connect_restored(L.nb, &L.gt, &st, fe_notify, NULL, msg, sizeof(msg)), 0);
#undef REFUSED
}

/* The pure checks, on published indices the test chooses. */
static void test_the_ring_state_checks_name_the_ring_and_the_rule(void **state)
{
	struct netback_ring_state st = { .tx_req_cons = 10, .tx_rsp_prod_pvt = 10, .rx_req_cons = 0xfffffff0u,
					 .rx_rsp_prod_pvt = 0xfffffff0u };
	ring_idx_t txs = netif_tx_ring_size(), rxs = netif_rx_ring_size();
	char msg[320], want[160];

	(void)state;
	assert_int_equal(netback_check_ring_state(&st, 10, 10, 0xfffffff0u, 0xfffffff0u, msg, sizeof(msg)), 0);
	/* free-running: a ring's worth of requests waiting, and req_prod wrapped past zero */
	assert_int_equal(netback_check_ring_state(&st, 10 + txs, 10, 0xfffffff0u + rxs, 0xfffffff0u, msg,
						  sizeof(msg)), 0);
	assert_int_equal(netback_check_ring_state(&st, 9, 10, 0xfffffff0u, 0xfffffff0u, msg, sizeof(msg)), -EPROTO);
	snprintf(want, sizeof(want), "the TX ring's req_prod 9 is not within %u requests past the saved req_cons 10",
		 txs);
	assert_non_null(strstr(msg, want));
	assert_int_equal(netback_check_ring_state(&st, 10, 10, 0xfffffff0u + rxs + 1, 0xfffffff0u, msg, sizeof(msg)),
			 -EPROTO);
	snprintf(want, sizeof(want), "the RX ring's req_prod %u is not within %u", 0xfffffff0u + rxs + 1, rxs);
	assert_non_null(strstr(msg, want));
	st.rx_rsp_prod_pvt++;
	assert_int_equal(netback_check_ring_state(&st, 10, 10, 0xfffffff0u, 0xfffffff1u, msg, sizeof(msg)), -EPROTO);
	assert_non_null(strstr(msg, "the saved RX ring has 4294967295 request(s) taken and not answered"));
	/* a broken queue's are not looked at */
	st.broken = true;
	assert_int_equal(netback_check_ring_state(&st, 0, 1, 2, 3, msg, sizeof(msg)), 0);
}

/* A port whose send waits for the test: the queue's round cannot end until it lets go. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool hold, in_send;
	int (*send)(struct net_port *p, const struct net_frame *frames, unsigned n);
} G = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false, NULL };

static int held_send(struct net_port *p, const struct net_frame *frames, unsigned n)
{
	pthread_mutex_lock(&G.lock);
	G.in_send = true;
	pthread_cond_broadcast(&G.cond);
	while (G.hold)
		pthread_cond_wait(&G.cond, &G.lock);
	pthread_mutex_unlock(&G.lock);
	return G.send(p, frames, n);
}

static void test_a_quiesce_that_cannot_finish_in_time_fails_and_the_queue_goes_on(void **state)
{
	static struct net_port_ops ops;
	char msg[320];

	(void)state;
	open_backend(&ops);
	G.send = ops.send;
	ops.send = held_send;
	G.hold = true;
	G.in_send = false;
	assert_int_equal(netback_connect(L.nb, &L.gt, F_TX, F_RX, fe_notify, NULL), 0);
	frame_at(F_DATA, 64, 1);
	put_tx(F_DATA, 0, 1, 64);
	tx_push();
	kick();
	pthread_mutex_lock(&G.lock);
	while (!G.in_send)
		pthread_cond_wait(&G.cond, &G.lock);
	pthread_mutex_unlock(&G.lock);
	assert_int_equal(netback_quiesce(L.nb, 200, msg, sizeof(msg)), -ETIMEDOUT);
	assert_non_null(strstr(msg, "vif 0 queue 0: its backend thread did not finish its round within 200 ms"));
	assert_false(netback_quiesced(L.nb));
	pthread_mutex_lock(&G.lock);
	G.hold = false;
	pthread_cond_broadcast(&G.cond);
	pthread_mutex_unlock(&G.lock);
	/* It went on: the request is answered, and the next one too. */
	tx_wait(1);
	assert_int_equal(tx_take().status, NETIF_RSP_OKAY);
	put_tx(F_DATA, 0, 2, 64);
	tx_push();
	kick();
	tx_wait(1);
	assert_int_equal(tx_take().status, NETIF_RSP_OKAY);
	assert_int_equal(peer_count(), 2);
}

static void test_an_unconnected_backend_quiesces_trivially_and_has_no_ring_state(void **state)
{
	struct netback_ring_state st;
	char msg[64];

	(void)state;
	open_backend(NULL);
	assert_int_equal(netback_quiesce(L.nb, 10, msg, sizeof(msg)), 0);
	assert_false(netback_quiesced(L.nb));
	assert_int_equal(netback_get_ring_state(L.nb, &st), -ENOTCONN);
	netback_resume(L.nb);
	assert_int_equal(netback_connect(L.nb, &L.gt, F_TX, F_RX, fe_notify, NULL), 0);
	assert_int_equal(netback_get_ring_state(L.nb, &st), -EBUSY); /* not quiesced */
}

#define MODE(t, mode, mname) { #t " (" mname ")", t, setup, teardown, (void *)(uintptr_t)(mode) }
#define ALL_MODES(t) MODE(t, XENITH_NET_MODE_EXIT, "exit"), MODE(t, XENITH_NET_MODE_IOEVENTFD, "ioeventfd"), \
	MODE(t, XENITH_NET_MODE_POLL, "poll")

int main(void)
{
	struct CMUnitTest tests[] = {
		ALL_MODES(test_a_quiesce_answers_every_request_taken_and_then_takes_none),
		ALL_MODES(test_a_restored_queue_goes_on_from_the_saved_indices),
		MODE(test_a_restored_queue_goes_on_skipping_the_rest_of_a_dropped_chain, XENITH_NET_MODE_EXIT, "exit"),
		MODE(test_a_restored_state_that_does_not_fit_the_rings_is_refused, XENITH_NET_MODE_EXIT, "exit"),
		cmocka_unit_test(test_the_ring_state_checks_name_the_ring_and_the_rule),
		MODE(test_a_quiesce_that_cannot_finish_in_time_fails_and_the_queue_goes_on, XENITH_NET_MODE_EXIT, "exit"),
		MODE(test_an_unconnected_backend_quiesces_trivially_and_has_no_ring_state, XENITH_NET_MODE_EXIT, "exit"),
	};

	return TEST_RUN_GROUP(tests, NULL, NULL);
}
