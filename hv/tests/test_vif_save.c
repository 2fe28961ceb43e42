// SPDX-License-Identifier: MIT
/*
 * unit tier: the vif's quiesce, save and restore (hv/netdev_save.c,
 * vif_device_ops) between two unbacked domains, as `xenith save` and
 * `xenith restore` move a domain: a "guest" (this test, through the
 * store, its grant table and hypercalls) connects a vif of two queues on
 * in-memory pairs (the test holds the other ends) and passes frames both
 * ways; the vif is quiesced and saved; the guest's memory, grant table
 * and event channels (backend ports turned unbound) go to a second domain
 * built from the first one's config as text (as the stream carries it),
 * whose vif takes the saved state back and goes on at the indices the
 * guest expects, with the MAC generated at the first one's create.  Saved
 * records that are corrupt or do not fit are refused naming the field
 * and value, with nothing left bound.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "clock.h"
#include "device.h"
#include "domain.h"
#include "evtchn.h"
#include "grant.h"
#include "netback.h"
#include "netdev.h"
#include "port_pair.h"
#include "savebuf.h"
#include "testutil.h"
#include "unbacked.h"
#include "xenstore.h"
#include "xsdomain.h"
#include "xenith/abi.h"
#include "xenith/grant_table.h"
#include "xenith/netif.h"

#define PAGE 4096u
#define NQ 2u
/* Guest pages the test uses, from the domain's first free page. */
#define ARG_PAGE 0u
#define TABLE_PAGE 1u
#define TX_PAGE(q) (2u + 2u * (q))
#define RX_PAGE(q) (3u + 2u * (q))
#define DATA_PAGE(i) (8u + (i))  /* 8 data pages: TX frames and RX buffers */
#define REF_PAGE(p) (GNTTAB_NR_RESERVED_ENTRIES + (p)) /* page p is granted as this ref */
#define WAIT_MS 10000
#define QUIET_MS 150
/* Where the record's fields are (netdev.h), for a record with an empty last error. */
#define OFF_NR_QUEUES 2u
#define OFF_MAC 4u
#define OFF_STATE 10u
#define OFF_QUEUE(q) (15u + 34u * (q))
#define Q_FLAGS 1u
#define Q_TX_EVTCHN 2u
#define Q_RX_EVTCHN 6u
#define Q_TX_REF 10u
#define Q_RX_REF 14u
#define Q_TX_REQ_CONS 18u
#define Q_TX_RSP_PROD 22u
#define Q_RX_REQ_CONS 26u
#define Q_RX_RSP_PROD 30u

/* A quiesce's deadline as save gives one: the whole bound from now. */
#define SOON (now_ns() + DEVICE_QUIESCE_MS * 1000000ull)

static char pair[32];
static struct domain *A, *B;          /* the saved domain, the restored one */
static struct net_port *peer[NQ];     /* the test's ends of the vif's queues' pairs */
static uint32_t port[NQ];             /* the guest's event channels, one per queue */
static struct netif_tx_front tx[NQ];  /* the guest's private ring indices */
static struct netif_rx_front rx[NQ];
static uint8_t mac[6];
static struct savebuf saved;

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static struct domain *make_domain(const struct domain_config *from)
{
	struct domain_opts opts = { .console_fd = -1 };
	struct domain_config cfg;
	struct errbuf eb;
	struct domain *d = NULL;
	char spec[128];

	if (from) {
		cfg = *from;
	} else {
		config_init(&cfg);
		snprintf(cfg.name, sizeof(cfg.name), "unit");
		snprintf(cfg.kernel, sizeof(cfg.kernel), "%s", getenv("XENITH_MINIOS"));
		/* no mac=: generated at create, as xl does */
		snprintf(spec, sizeof(spec), "port=pair:%s,mode=exit,queues=%u", pair, NQ);
		if (config_set(&cfg, "vif", spec, &eb) < 0)
			fail_msg("vif %s: %s", spec, eb.msg);
	}
	if (domain_create_unbacked(&cfg, &opts, 7, &d, &eb) < 0)
		fail_msg("domain_create_unbacked: %s", eb.msg);
	return d;
}

static int setup(void **state)
{
	(void)state;
	if (!getenv("XENITH_MINIOS"))
		fail_msg("XENITH_MINIOS is not set (meson test sets it to the bundled minios)");
	return 0;
}

static int end_test(void **state)
{
	(void)state;
	if (A)
		domain_destroy(A);
	if (B)
		domain_destroy(B);
	A = B = NULL;
	for (unsigned q = 0; q < NQ; q++)
		if (peer[q])
			peer[q]->ops->close(peer[q]);
	memset(peer, 0, sizeof(peer));
	savebuf_free(&saved);
	memset(&saved, 0, sizeof(saved));
	return 0;
}

static uint64_t gpa_of(struct domain *d, unsigned page)
{
	return d->layout.free_start + (uint64_t)page * PAGE;
}

static uint8_t *page_of(struct domain *d, unsigned page)
{
	return d->mem + gpa_of(d, page);
}

static struct device *vif0(struct domain *d)
{
	struct device *dev = device_find(d, &vif_device_ops, 0);

	assert_non_null(dev);
	return dev;
}

static void fe_write(struct domain *d, const char *key, const char *fmt, unsigned v)
{
	char p[160];

	snprintf(p, sizeof(p), "/local/domain/%u/device/vif/0/%s", d->domid, key);
	if (xs_printf(xsdomain_store(d), p, fmt, v) != 0)
		fail_msg("writing %s", p);
}

static uint64_t be_state_key(struct domain *d)
{
	char p[160];
	uint64_t v = UINT64_MAX;

	snprintf(p, sizeof(p), "/local/domain/0/backend/vif/%u/0/state", d->domid);
	assert_int_equal(xs_read_u64(xsdomain_store(d), p, &v), 0);
	return v;
}

static long evtchn_call(struct domain *d, uint64_t cmd, const void *arg, size_t len, void *out)
{
	long r;

	memcpy(page_of(d, ARG_PAGE), arg, len);
	r = unbacked_call(&d->vcpus[0], __HYPERVISOR_event_channel_op, cmd, gpa_of(d, ARG_PAGE), 0, 0, 0);
	if (out)
		memcpy(out, page_of(d, ARG_PAGE), len);
	return r;
}

static void kick(struct domain *d, unsigned q)
{
	struct evtchn_send s = { .port = port[q] };

	assert_int_equal(evtchn_call(d, EVTCHNOP_send, &s, sizeof(s), NULL), 0);
}

/* The guest's side: grant table, rings, one channel per queue and the xenstore keys; the vif goes Connected. */
static void guest_connect(struct domain *d)
{
	struct grant_entry_v1 *e;
	struct netdev_info info;

	assert_int_equal(grant_table_set(&d->gnttab, gpa_of(d, TABLE_PAGE), 1), 0);
	e = (struct grant_entry_v1 *)(void *)page_of(d, TABLE_PAGE);
	for (unsigned p = TX_PAGE(0); p < DATA_PAGE(8); p++) {
		e[REF_PAGE(p)].frame = (uint32_t)(gpa_of(d, p) / PAGE);
		e[REF_PAGE(p)].domid = XENITH_BACKEND_DOMID;
		__atomic_store_n(&e[REF_PAGE(p)].flags, GTF_permit_access, __ATOMIC_RELEASE);
	}
	for (unsigned q = 0; q < NQ; q++) {
		struct evtchn_alloc_unbound a = { .dom = XENITH_DOMID_SELF, .remote_dom = XENITH_BACKEND_DOMID };
		char key[40];

		netif_tx_sring_init((struct netif_tx_sring *)(void *)page_of(d, TX_PAGE(q)));
		netif_rx_sring_init((struct netif_rx_sring *)(void *)page_of(d, RX_PAGE(q)));
		netif_tx_front_init(&tx[q], (struct netif_tx_sring *)(void *)page_of(d, TX_PAGE(q)));
		netif_rx_front_init(&rx[q], (struct netif_rx_sring *)(void *)page_of(d, RX_PAGE(q)));
		assert_int_equal(evtchn_call(d, EVTCHNOP_alloc_unbound, &a, sizeof(a), &a), 0);
		port[q] = a.port;
		snprintf(key, sizeof(key), "queue-%u/tx-ring-ref", q);
		fe_write(d, key, "%u", REF_PAGE(TX_PAGE(q)));
		snprintf(key, sizeof(key), "queue-%u/rx-ring-ref", q);
		fe_write(d, key, "%u", REF_PAGE(RX_PAGE(q)));
		snprintf(key, sizeof(key), "queue-%u/event-channel", q);
		fe_write(d, key, "%u", port[q]);
	}
	fe_write(d, "multi-queue-num-queues", "%u", NQ);
	fe_write(d, "request-rx-copy", "%u", 1);
	fe_write(d, "feature-rx-notify", "%u", 1);
	fe_write(d, "state", "%u", XenbusStateConnected);
	assert_int_equal(be_state_key(d), XenbusStateConnected);
	netdev_info(d, 0, &info);
	memcpy(mac, info.mac, 6);
}

/* The test's ends of the queues' pairs (pair:NAME is queue 0, NAME.1 queue 1). */
static void open_peers(void)
{
	for (unsigned q = 0; q < NQ; q++) {
		char name[48];

		if (q)
			snprintf(name, sizeof(name), "%s.%u", pair, q);
		else
			snprintf(name, sizeof(name), "%s", pair);
		assert_int_equal(port_pair_open(name, &peer[q]), 0);
	}
}

/* The guest sends one frame of len bytes (its byte i: seq + i) from its MAC on queue q. */
static void guest_send(struct domain *d, unsigned q, uint16_t id, uint16_t len, uint8_t seq)
{
	unsigned page = DATA_PAGE(id % 4);
	uint8_t *f = page_of(d, page);
	union netif_tx_slot_req *s = netif_tx_front_next_req(&tx[q]);

	memset(f, 0xff, 6);
	memcpy(f + 6, mac, 6);
	f[12] = 0x88;
	f[13] = 0xb5;
	for (unsigned i = 14; i < len; i++)
		f[i] = (uint8_t)(seq + i);
	memset(s, 0, sizeof(*s));
	s->tx = (struct netif_tx_request){ .gref = REF_PAGE(page), .offset = 0, .id = id, .size = len };
	tx[q].req_prod_pvt++;
	if (netif_tx_front_push(&tx[q]))
		kick(d, q);
}

static void guest_post_rx(struct domain *d, unsigned q, uint16_t id)
{
	struct netif_rx_request *r = netif_rx_front_next_req(&rx[q]);

	r->id = id;
	r->pad = 0;
	r->gref = REF_PAGE(DATA_PAGE(4 + id % 4));
	rx[q].req_prod_pvt++;
	if (netif_rx_front_push(&rx[q]))
		kick(d, q);
}

static void wait_for(const char *what, unsigned q, unsigned (*pending)(unsigned), unsigned n)
{
	for (unsigned t = 0; pending(q) < n; t++) {
		if (t >= WAIT_MS)
			fail_msg("queue %u: %u %s responses within %u ms: only %u", q, n, what, WAIT_MS, pending(q));
		sleep_ms(1);
	}
}

static unsigned tx_pending(unsigned q)
{
	return netif_tx_front_pending_rsps(&tx[q]);
}

static unsigned rx_pending(unsigned q)
{
	return netif_rx_front_pending_rsps(&rx[q]);
}

/* The TX response at the guest's next index: the id it expects, OKAY; the frame at the peer. */
static void guest_sent(unsigned q, uint16_t id, uint16_t len, uint8_t seq)
{
	struct netif_tx_response r;
	uint8_t buf[NET_PORT_FRAME_MAX];
	struct net_frame f = { .data = buf, .cap = sizeof(buf) };

	wait_for("TX", q, tx_pending, 1);
	netif_tx_front_take_rsp(&tx[q], &r);
	if (r.id != id || r.status != NETIF_RSP_OKAY)
		fail_msg("queue %u TX response %u: id %u status %d, expected id %u OKAY", q, tx[q].rsp_cons - 1, r.id,
			 r.status, id);
	for (unsigned t = 0; peer[q]->ops->recv(peer[q], &f, 1) == 0; t++) {
		if (t >= WAIT_MS)
			fail_msg("queue %u: the frame did not reach the port", q);
		sleep_ms(1);
	}
	assert_int_equal(f.len, len);
	assert_memory_equal(buf + 6, mac, 6);
	for (unsigned i = 14; i < len; i++)
		assert_int_equal(buf[i], (uint8_t)(seq + i));
}

/* The peer sends a frame of len bytes; the guest finds it in the buffer it posted as id. */
static void guest_receives(struct domain *d, unsigned q, uint16_t id, uint16_t len)
{
	uint8_t buf[NET_PORT_FRAME_MAX];
	struct net_frame f = { .data = buf, .len = len };
	union netif_rx_slot_rsp r;

	for (unsigned i = 0; i < len; i++)
		buf[i] = (uint8_t)(id * 3 + i);
	assert_int_equal(peer[q]->ops->send(peer[q], &f, 1), 1);
	wait_for("RX", q, rx_pending, 1);
	netif_rx_front_take_rsp(&rx[q], &r);
	if (r.rx.id != id || r.rx.status != len)
		fail_msg("queue %u RX response %u: id %u status %d, expected id %u, %u bytes", q, rx[q].rsp_cons - 1,
			 r.rx.id, r.rx.status, id, len);
	for (unsigned i = 0; i < len; i++)
		assert_int_equal(page_of(d, DATA_PAGE(4 + id % 4))[i], (uint8_t)(id * 3 + i));
}

/*
 * A connects and passes frames (3 out and 2 in on queue 0, 1 out on queue
 * 1; a buffer posted on queue 1 and not used yet), is quiesced and saved;
 * its memory, grant table and event channels go to B, built from A's
 * config as text after A went (its pair ends with it).
 */
static void save_and_move(void)
{
	static struct evtchn ports[XENITH_NR_EVTCHN];
	static int32_t virq_port[XENITH_NR_VIRQS];
	static char text[64 * 1024];
	struct domain_config cfg;
	struct errbuf eb;
	uint8_t *mem;
	uint64_t size;

	snprintf(pair, sizeof(pair), "vs%u-%u", (unsigned)getpid() % 10000, (unsigned)rand() % 100000);
	A = make_domain(NULL);
	open_peers();
	guest_connect(A);
	for (unsigned i = 0; i < 3; i++) {
		guest_send(A, 0, (uint16_t)(10 + i), (uint16_t)(60 + i), (uint8_t)i);
		guest_sent(0, (uint16_t)(10 + i), (uint16_t)(60 + i), (uint8_t)i);
	}
	for (unsigned i = 0; i < 2; i++) {
		guest_post_rx(A, 0, (uint16_t)(20 + i));
		guest_receives(A, 0, (uint16_t)(20 + i), (uint16_t)(100 + i));
	}
	guest_send(A, 1, 30, 70, 9);
	guest_sent(1, 30, 70, 9);
	guest_post_rx(A, 1, 40);
	if (device_quiesce(vif0(A), SOON, &eb) < 0)
		fail_msg("quiesce: %s", eb.msg);
	if (device_save(vif0(A), &saved, &eb) < 0)
		fail_msg("save: %s", eb.msg);
	/* The generated MAC is in the config now, so in the config a save writes. */
	assert_true(A->cfg.vifs[0].mac_set);
	assert_memory_equal(A->cfg.vifs[0].mac, mac, 6);
	assert_true(config_format(&A->cfg, text, sizeof(text)) > 0);
	size = A->mem_size;
	mem = malloc(size);
	assert_non_null(mem);
	memcpy(mem, A->mem, size);
	pthread_mutex_lock(&A->lock);
	memcpy(ports, A->evtchn.port, sizeof(ports));
	memcpy(virq_port, A->evtchn.virq_port, sizeof(virq_port));
	pthread_mutex_unlock(&A->lock);
	domain_destroy(A);
	A = NULL;

	config_init(&cfg);
	if (config_parse_text(&cfg, text, "A's config", &eb) < 0)
		fail_msg("A's config as text: %s\n%s", eb.msg, text);
	B = make_domain(&cfg);
	assert_int_equal(B->mem_size, size);
	memcpy(B->mem, mem, size);
	free(mem);
	assert_int_equal(grant_table_set(&B->gnttab, gpa_of(B, TABLE_PAGE), 1), 0);
	for (unsigned p = 0; p < XENITH_NR_EVTCHN; p++) {
		if (ports[p].kind != EVTCHN_BACKEND)
			continue;
		ports[p].kind = EVTCHN_UNBOUND; /* for the device to bind again */
		ports[p].kick_fd = -1;
	}
	pthread_mutex_lock(&B->lock);
	memcpy(B->evtchn.port, ports, sizeof(ports));
	memcpy(B->evtchn.virq_port, virq_port, sizeof(virq_port));
	pthread_mutex_unlock(&B->lock);
	for (unsigned q = 0; q < NQ; q++) {
		tx[q].s = (struct netif_tx_sring *)(void *)page_of(B, TX_PAGE(q));
		rx[q].s = (struct netif_rx_sring *)(void *)page_of(B, RX_PAGE(q));
	}
}

static uint8_t port_kind(struct domain *d, uint32_t p)
{
	uint8_t k;

	pthread_mutex_lock(&d->lock);
	k = d->evtchn.port[p].kind;
	pthread_mutex_unlock(&d->lock);
	return k;
}

static uint64_t tx_packets(struct domain *d, unsigned q)
{
	struct netback_stats st;

	assert_int_equal(netdev_get_stats(d, 0, q, &st), 0);
	return st.tx_packets;
}

static void test_a_restored_vif_goes_on_at_the_saved_indices_with_its_generated_mac(void **state)
{
	struct netdev_info info;
	struct errbuf eb;

	(void)state;
	save_and_move();
	netdev_info(B, 0, &info);
	assert_memory_equal(info.mac, mac, 6); /* from the config as text: the MAC A generated */
	if (device_restore(vif0(B), saved.p, saved.len, &eb) < 0)
		fail_msg("restore: %s", eb.msg);
	assert_string_equal(device_state_name((enum device_state)atomic_load(&vif0(B)->state)), "quiesced");
	for (unsigned q = 0; q < NQ; q++)
		assert_int_equal(port_kind(B, port[q]), EVTCHN_BACKEND);
	assert_int_equal(be_state_key(B), XenbusStateInitWait); /* the store is restored on its own */

	/* Quiesced until resumed: a frame put on the ring now waits. */
	guest_send(B, 0, 13, 63, 3);
	sleep_ms(QUIET_MS);
	assert_int_equal(tx_pending(0), 0);
	if (device_resume(vif0(B), &eb) < 0)
		fail_msg("resume: %s", eb.msg);
	assert_int_equal(tx[0].rsp_cons, 3);
	guest_sent(0, 13, 63, 3); /* at TX index 3 */
	assert_int_equal(tx_packets(B, 0), 1); /* none of A's three again */
	guest_post_rx(B, 0, 22);
	guest_receives(B, 0, 22, 102); /* at RX index 2 */
	/* Queue 1: the buffer posted before the save takes the first frame after it. */
	guest_receives(B, 1, 40, 80);
	guest_send(B, 1, 31, 71, 8);
	guest_sent(1, 31, 71, 8);
	assert_int_equal(tx[1].rsp_cons, 2);
}

/* A refused restore leaves no port bound and no queue connected. */
static void expect_nothing_bound(const char *what)
{
	struct netback_stats st;

	for (unsigned q = 0; q < NQ; q++) {
		if (port_kind(B, port[q]) == EVTCHN_BACKEND)
			fail_msg("%s: port %u (queue %u) is left bound to the backend", what, port[q], q);
		assert_int_equal(netdev_get_stats(B, 0, q, &st), 0);
		if (st.connected)
			fail_msg("%s: queue %u is left connected", what, q);
	}
}

static void expect_refused(const void *data, size_t len, int err, const char *want, const char *what)
{
	struct errbuf eb;
	int r;

	memset(&eb, 0, sizeof(eb));
	r = device_restore(vif0(B), data, len, &eb);
	if (r != -err || !strstr(eb.msg, want) || strncmp(eb.msg, "vif0: ", 6))
		fail_msg("%s: %d '%s', expected %d with '%s'", what, r, eb.msg, -err, want);
	expect_nothing_bound(what);
}

static void put_u32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v)); /* little-endian, as the hosts and the format are */
}

static uint32_t get_u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* A copy of the saved record with the u32 at off set to v. */
static const uint8_t *with_u32(uint8_t *rec, size_t off, uint32_t v)
{
	memcpy(rec, saved.p, saved.len);
	put_u32(rec + off, v);
	return rec;
}

static const uint8_t *with_u8(uint8_t *rec, size_t off, uint8_t v)
{
	memcpy(rec, saved.p, saved.len);
	rec[off] = v;
	return rec;
}

static void test_a_corrupt_or_unfitting_vif_record_is_refused_naming_the_field(void **state)
{
	size_t len, q1 = OFF_QUEUE(1);
	char want[256];
	struct errbuf eb;
	uint8_t *rec;
	int efd;

	(void)state;
	save_and_move();
	len = saved.len;
	assert_int_equal(len, OFF_QUEUE(NQ)); /* an empty last error: the offsets above hold */
	assert_int_equal(get_u32(saved.p + OFF_QUEUE(0) + Q_TX_REQ_CONS), 3);
	assert_int_equal(get_u32(saved.p + OFF_QUEUE(0) + Q_RX_REQ_CONS), 2);
	rec = malloc(len + 1);
	assert_non_null(rec);

	/* The record's own fields, each out of its range. */
	expect_refused(with_u8(rec, 0, 2), len, EPROTO, "vif 0: saved state of version 2; this build reads version 1",
		       "version 2");
	expect_refused(with_u8(rec, OFF_NR_QUEUES, 3), len, EINVAL,
		       "vif 0 was saved with 3 queue(s); here it has 2", "3 queues");
	expect_refused(with_u8(rec, OFF_NR_QUEUES, 0), len, EINVAL, "vif 0 was saved with 0 queue(s)", "0 queues");
	expect_refused(with_u8(rec, OFF_MAC + 5, (uint8_t)(mac[5] ^ 1)), len, EINVAL, "vif 0 was saved with MAC ",
		       "another MAC");
	expect_refused(with_u8(rec, OFF_STATE, 9), len, EPROTO, "vif 0: saved xenbus state 9 is not a XenbusState",
		       "state 9");
	expect_refused(with_u8(rec, OFF_STATE, XenbusStateInitWait), len, EPROTO,
		       "vif 0: saved with 2 queue(s) connected and xenbus state 2", "state InitWait");
	expect_refused(with_u8(rec, q1, 2), len, EPROTO, "vif 0 queue 1: connected 2, flags 0x0", "connected 2");
	expect_refused(with_u8(rec, q1 + Q_FLAGS, 4), len, EPROTO, "vif 0 queue 1: connected 1, flags 0x4", "flag 4");
	expect_refused(with_u8(rec, OFF_QUEUE(0), 0), len, EPROTO,
		       "vif 0 queue 0 is not connected, yet its saved flags, event channels", "queue 0 half-saved");
	snprintf(want, sizeof(want), "vif 0 queue 1: event channel %u (tx) / %u (rx) is out of range (1 to %u)",
		 XENITH_NR_EVTCHN, port[1], XENITH_NR_EVTCHN - 1);
	expect_refused(with_u32(rec, q1 + Q_TX_EVTCHN, XENITH_NR_EVTCHN), len, EPROTO, want, "tx channel too big");
	snprintf(want, sizeof(want), "vif 0 queue 0: event channel %u (tx) / 0 (rx) is out of range", port[0]);
	expect_refused(with_u32(rec, OFF_QUEUE(0) + Q_RX_EVTCHN, 0), len, EPROTO, want, "rx channel 0");
	snprintf(want, sizeof(want), "vif 0 queue 1: tx-ring-ref 16384, rx-ring-ref %u: each ring ref must be 8 to 16383",
		 REF_PAGE(RX_PAGE(1)));
	expect_refused(with_u32(rec, q1 + Q_TX_REF, 16384), len, EPROTO, want, "ring ref past the table");
	expect_refused(with_u32(rec, q1 + Q_RX_REF, 3), len, EPROTO, "rx-ring-ref 3: each ring ref", "a reserved ref");
	expect_refused(with_u32(rec, q1 + Q_RX_REF, REF_PAGE(TX_PAGE(1))), len, EPROTO, "and the two must differ",
		       "one ref for both rings");
	expect_refused(with_u32(rec, OFF_QUEUE(0) + Q_TX_REQ_CONS, 4), len, EPROTO,
		       "vif 0 queue 0: TX req_cons 4 and rsp_prod_pvt 3, RX req_cons 2 and rsp_prod_pvt 2",
		       "TX indices that differ");
	expect_refused(with_u32(rec, q1 + Q_RX_RSP_PROD, 7), len, EPROTO, "RX req_cons 0 and rsp_prod_pvt 7",
		       "RX indices that differ");
	memcpy(rec, saved.p, len);
	rec[len] = 0;
	expect_refused(rec, len + 1, EPROTO, "vif 0: 1 byte(s) after the end of the saved state", "a byte more");
	for (size_t n = 0; n < len; n++) {
		char what[48];

		snprintf(what, sizeof(what), "the first %zu bytes", n);
		expect_refused(saved.p, n, EPROTO, "is cut short", what);
	}

	/* Well-formed, but not fitting the restored rings, grants or channels. */
	with_u32(rec, OFF_QUEUE(0) + Q_TX_REQ_CONS, 5);
	put_u32(rec + OFF_QUEUE(0) + Q_TX_RSP_PROD, 5);
	expect_refused(rec, len, EPROTO, "vif 0 queue 0: the TX ring's published rsp_prod is 3, not the saved "
		       "rsp_prod_pvt 5", "indices past the ring's");
	__atomic_store_n(&rx[1].s->h.req_prod, 1 + netif_rx_ring_size(), __ATOMIC_RELEASE);
	snprintf(want, sizeof(want), "vif 0 queue 1: the RX ring's req_prod %u is not within %u requests past the "
		 "saved req_cons 0", 1 + netif_rx_ring_size(), netif_rx_ring_size());
	expect_refused(saved.p, len, EPROTO, want, "req_prod past the ring");
	__atomic_store_n(&rx[1].s->h.req_prod, 1, __ATOMIC_RELEASE);
	snprintf(want, sizeof(want), "vif 0 queue 1: tx-ring-ref %u, rx-ring-ref %u: the guest's grant of a ring page "
		 "does not check out", REF_PAGE(DATA_PAGE(9)), REF_PAGE(RX_PAGE(1)));
	expect_refused(with_u32(rec, q1 + Q_TX_REF, REF_PAGE(DATA_PAGE(9))), len, EINVAL, want, "an ungranted ring");
	expect_refused(with_u32(rec, q1 + Q_TX_REF, REF_PAGE(TX_PAGE(0))), len, EINVAL,
		       "a page that is another queue's ring already", "another queue's ring");
	pthread_mutex_lock(&B->lock);
	B->evtchn.port[port[1]].kind = EVTCHN_FREE;
	pthread_mutex_unlock(&B->lock);
	snprintf(want, sizeof(want), "vif 0 queue 1: event channel %u/%u in the restored event-channel table is not an "
		 "unbound port", port[1], port[1]);
	expect_refused(saved.p, len, EINVAL, want, "a closed port"); /* queue 0's was bound, and undone */
	pthread_mutex_lock(&B->lock);
	B->evtchn.port[port[1]].kind = EVTCHN_UNBOUND;
	pthread_mutex_unlock(&B->lock);
	efd = eventfd(0, EFD_CLOEXEC);
	assert_true(efd >= 0);
	assert_int_equal(evtchn_backend_bind(B, port[0], efd), 0);
	snprintf(want, sizeof(want), "vif 0 queue 0: event channel %u/%u is bound to a backend already", port[0],
		 port[0]);
	memset(&eb, 0, sizeof(eb));
	assert_int_equal(device_restore(vif0(B), saved.p, len, &eb), -EINVAL);
	if (!strstr(eb.msg, want))
		fail_msg("a bound port: '%s'", eb.msg);
	evtchn_backend_unbind(B, port[0], efd);
	close(efd);
	expect_nothing_bound("a bound port");

	/* The refusals left nothing in the way: the record as saved restores, and the vif goes on. */
	if (device_restore(vif0(B), saved.p, len, &eb) < 0)
		fail_msg("restore after the refusals: %s", eb.msg);
	assert_int_equal(device_resume(vif0(B), &eb), 0);
	guest_send(B, 0, 13, 63, 3);
	guest_sent(0, 13, 63, 3);
	guest_receives(B, 1, 40, 80);
	free(rec);
}

/* A vif the frontend never connected saves as such, and restores to one that waits for it. */
static void test_an_unconnected_vif_saves_and_restores_waiting_for_its_frontend(void **state)
{
	struct errbuf eb;
	struct domain_config cfg;

	(void)state;
	snprintf(pair, sizeof(pair), "vu%u-%u", (unsigned)getpid() % 10000, (unsigned)rand() % 100000);
	A = make_domain(NULL);
	assert_int_equal(device_quiesce(vif0(A), SOON, &eb), 0);
	assert_int_equal(device_save(vif0(A), &saved, &eb), 0);
	assert_int_equal(saved.len, OFF_QUEUE(NQ));
	assert_int_equal(saved.p[OFF_STATE], XenbusStateInitWait);
	cfg = A->cfg;
	domain_destroy(A);
	A = NULL;
	B = make_domain(&cfg);
	if (device_restore(vif0(B), saved.p, saved.len, &eb) < 0)
		fail_msg("restore: %s", eb.msg);
	assert_int_equal(device_resume(vif0(B), &eb), 0);
	/* The frontend connects as at a boot, and frames go. */
	open_peers();
	guest_connect(B);
	guest_send(B, 0, 1, 60, 1);
	guest_sent(0, 1, 60, 1);
}

/* What a vif on pairs may do (migrate, save); the refusals of other ports are the kvm tier's (test_relocate). */
static void test_a_pair_vif_may_be_saved_and_migrated(void **state)
{
	struct errbuf eb;

	(void)state;
	snprintf(pair, sizeof(pair), "vc%u-%u", (unsigned)getpid() % 10000, (unsigned)rand() % 100000);
	A = make_domain(NULL);
	assert_non_null(vif0(A)->ops->check_save);
	assert_int_equal(vif0(A)->ops->check_save(vif0(A), false, &eb), 0);
	assert_int_equal(vif0(A)->ops->check_save(vif0(A), true, &eb), 0);
}

int main(void)
{
#define T(t) cmocka_unit_test_teardown(t, end_test)
	struct CMUnitTest tests[] = {
		T(test_a_restored_vif_goes_on_at_the_saved_indices_with_its_generated_mac),
		T(test_a_corrupt_or_unfitting_vif_record_is_refused_naming_the_field),
		T(test_an_unconnected_vif_saves_and_restores_waiting_for_its_frontend),
		T(test_a_pair_vif_may_be_saved_and_migrated),
	};
#undef T

	srand((unsigned)getpid());
	return TEST_RUN_GROUP(tests, setup, NULL);
}
