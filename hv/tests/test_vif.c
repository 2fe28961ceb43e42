// SPDX-License-Identifier: MIT
/*
 * unit tier: the vif device (hv/netdev.c) and its xenstore half (hv/vif.c)
 * on an unbacked domain built from the bundled minios, with in-memory pair
 * ports (no tap): the directories it offers with Xen's netif keys, each
 * frontend mistake refused with the reason in error/ (Closing), and a
 * frontend that connects (one channel, split channels, several queues),
 * closes and connects again, as a netfront does through the store.
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
#include <unistd.h>
#include <cmocka.h>

#include "device.h"
#include "domain.h"
#include "grant.h"
#include "jsondoc.h"
#include "netback.h"
#include "netdev.h"
#include "portalloc.h"
#include "unbacked.h"
#include "xenstore.h"
#include "xsdomain.h"
#include "xenith/abi.h"
#include "xenith/grant_table.h"

#define PAGE 4096u
/* Guest pages the test uses, from the domain's first free page: hypercall argument, grant table, rings. */
#define ARG_PAGE 0u
#define TABLE_PAGE 1u
#define RING_PAGE(i) (2u + (i))
#define REF(i) (GNTTAB_NR_RESERVED_ENTRIES + (i)) /* ring page i is granted as this ref */

static struct domain *D;

static int end_test(void **state)
{
	(void)state;
	if (D)
		domain_destroy(D);
	D = NULL;
	return 0;
}

/* vif0: pair, exit, a given MAC; vif1: pair, ioeventfd, two queues, a generated MAC. */
static void make_domain(void)
{
	struct domain_opts opts = { .console_fd = -1 };
	struct domain_config cfg;
	struct errbuf eb;
	char pair[2][64];

	if (!getenv("XENITH_MINIOS"))
		fail_msg("XENITH_MINIOS is not set (meson test sets it to the bundled minios)");
	config_init(&cfg);
	snprintf(cfg.name, sizeof(cfg.name), "unit");
	snprintf(cfg.kernel, sizeof(cfg.kernel), "%s", getenv("XENITH_MINIOS"));
	/* Pair names are process-wide: a fresh one per domain. */
	for (unsigned i = 0; i < 2; i++) {
		static unsigned seq;

		snprintf(pair[i], sizeof(pair[i]), "port=pair:t%u-%u%s", (unsigned)getpid() % 10000, seq++,
			 i == 0 ? ",mode=exit,mac=00:16:3e:01:02:03" : ",mode=ioeventfd,queues=2");
		if (config_set(&cfg, "vif", pair[i], &eb) < 0)
			fail_msg("vif %s: %s", pair[i], eb.msg);
	}
	if (domain_create_unbacked(&cfg, &opts, 7, &D, &eb) < 0)
		fail_msg("domain_create_unbacked: %s", eb.msg);
}

static uint64_t gpa_of(unsigned page)
{
	return D->layout.free_start + (uint64_t)page * PAGE;
}

static void path_be(char *p, size_t size, unsigned vif, const char *key)
{
	snprintf(p, size, "/local/domain/0/backend/vif/%u/%u/%s", D->domid, vif, key);
}

static void path_fe(char *p, size_t size, unsigned vif, const char *key)
{
	snprintf(p, size, "/local/domain/%u/device/vif/%u/%s", D->domid, vif, key);
}

static void be_str(unsigned vif, const char *key, char *out, size_t size)
{
	char p[160];

	path_be(p, sizeof(p), vif, key);
	if (xs_read(xsdomain_store(D), p, out, size, NULL) < 0)
		fail_msg("%s: not readable", p);
}

static uint64_t be_u64(unsigned vif, const char *key)
{
	char p[160];
	uint64_t v = UINT64_MAX;

	path_be(p, sizeof(p), vif, key);
	if (xs_read_u64(xsdomain_store(D), p, &v) < 0)
		fail_msg("%s: not a number", p);
	return v;
}

static void fe_write(unsigned vif, const char *key, const char *value)
{
	char p[160];

	path_fe(p, sizeof(p), vif, key);
	int r = xs_printf(xsdomain_store(D), p, "%s", value);

	if (r != 0)
		fail_msg("writing %s = %s: %d", p, value, r);
}

static void fe_state(unsigned vif, enum xenbus_state st)
{
	char v[4];

	snprintf(v, sizeof(v), "%u", (unsigned)st);
	fe_write(vif, "state", v);
}

/* The frontend starts over: Closed, its keys gone, Initialising (the backend offers the vif again). */
static void fe_restart(unsigned vif)
{
	static const char *const keys[] = {
		"tx-ring-ref", "rx-ring-ref", "event-channel", "event-channel-tx", "event-channel-rx",
		"request-rx-copy", "feature-rx-notify", "multi-queue-num-queues", "queue-0", "queue-1",
		"feature-sg",
	};
	char p[160];

	fe_state(vif, XenbusStateClosed);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		path_fe(p, sizeof(p), vif, keys[i]);
		xs_rm(xsdomain_store(D), p); /* -ENOENT for a key this round did not write */
	}
	fe_state(vif, XenbusStateInitialising);
	assert_int_equal(be_u64(vif, "state"), XenbusStateInitWait);
}

static void error_text(unsigned vif, char *out, size_t size)
{
	char p[160];

	snprintf(p, sizeof(p), "/local/domain/0/error/backend/vif/%u/%u/error", D->domid, vif);
	assert_int_equal(xs_read(xsdomain_store(D), p, out, size, NULL), 0);
}

/* A guest's grant table with ring pages 0..n-1 granted writable to the backend. */
static void grant_ring_pages(unsigned n)
{
	struct grant_entry_v1 *e;

	assert_int_equal(grant_table_set(&D->gnttab, gpa_of(TABLE_PAGE), 1), 0);
	e = (struct grant_entry_v1 *)(D->mem + gpa_of(TABLE_PAGE));
	for (unsigned i = 0; i < n; i++) {
		e[REF(i)].frame = (uint32_t)(gpa_of(RING_PAGE(i)) / PAGE);
		e[REF(i)].domid = XENITH_BACKEND_DOMID;
		__atomic_store_n(&e[REF(i)].flags, GTF_permit_access, __ATOMIC_RELEASE);
	}
}

static unsigned alloc_unbound(void)
{
	struct evtchn_alloc_unbound a = { .dom = XENITH_DOMID_SELF, .remote_dom = XENITH_BACKEND_DOMID };
	long r;

	memcpy(D->mem + gpa_of(ARG_PAGE), &a, sizeof(a));
	r = unbacked_call(&D->vcpus[0], __HYPERVISOR_event_channel_op, EVTCHNOP_alloc_unbound,
			  gpa_of(ARG_PAGE), 0, 0, 0);
	assert_int_equal(r, 0);
	memcpy(&a, D->mem + gpa_of(ARG_PAGE), sizeof(a));
	return a.port;
}

static void test_a_vif_offers_itself_with_xens_netif_keys(void **state)
{
	char s[64], p[160];

	(void)state;
	make_domain();
	assert_int_equal(netdev_count(D), 2);
	assert_non_null(device_find(D, &vif_device_ops, 1));
	assert_string_equal(device_find(D, &vif_device_ops, 1)->name, "vif1");
	be_str(0, "mac", s, sizeof(s));
	assert_string_equal(s, "00:16:3e:01:02:03");
	be_str(1, "mac", s, sizeof(s));
	assert_int_equal(strncmp(s, "00:16:3e:", 9), 0); /* generated as xl does */
	assert_int_equal(strlen(s), 17);
	assert_int_equal(be_u64(1, "handle"), 1);
	assert_int_equal(be_u64(0, "online"), 1);
	assert_int_equal(be_u64(0, "frontend-id"), D->domid);
	assert_int_equal(be_u64(0, "feature-rx-copy"), 1);
	assert_int_equal(be_u64(0, "feature-rx-flip"), 0);
	assert_int_equal(be_u64(0, "feature-sg"), 1);
	assert_int_equal(be_u64(0, "feature-gso-tcpv4"), 0);
	assert_int_equal(be_u64(0, "feature-no-csum-offload"), 0);
	assert_int_equal(be_u64(0, "feature-split-event-channels"), 1);
	assert_int_equal(be_u64(0, "multi-queue-max-queues"), 1);
	assert_int_equal(be_u64(1, "multi-queue-max-queues"), 2);
	assert_int_equal(be_u64(0, "state"), XenbusStateInitWait);
	be_str(0, "xenith-notify", s, sizeof(s));
	assert_string_equal(s, "exit");
	assert_int_equal(be_u64(0, "xenith-doorbell"), 0);
	be_str(1, "xenith-notify", s, sizeof(s));
	assert_string_equal(s, "ioeventfd");
	assert_string_equal(port_space_owner(D->ports, (uint32_t)be_u64(1, "xenith-doorbell")), "vif1 doorbell");
	be_str(0, "frontend", s, sizeof(s));
	path_fe(p, sizeof(p), 0, "");
	p[strlen(p) - 1] = 0;
	assert_string_equal(s, p);
	/* The frontend's directory: where its backend is, its handle and MAC, Initialising. */
	path_fe(p, sizeof(p), 1, "backend");
	assert_int_equal(xs_read(xsdomain_store(D), p, s, sizeof(s), NULL), 0);
	assert_non_null(strstr(s, "/backend/vif/7/1"));
	path_fe(p, sizeof(p), 1, "state");
	assert_int_equal(xs_read(xsdomain_store(D), p, s, sizeof(s), NULL), 0);
	assert_string_equal(s, "1");
	path_fe(p, sizeof(p), 0, "mac");
	assert_int_equal(xs_read(xsdomain_store(D), p, s, sizeof(s), NULL), 0);
	assert_string_equal(s, "00:16:3e:01:02:03");
}

struct fe_key {
	const char *key, *value;
};

/* Each frontend mistake closes the backend with a reason that names the key. */
static void test_frontend_mistakes_close_the_backend_with_the_reason(void **state)
{
	static const struct {
		struct fe_key keys[7]; /* ends at a NULL key */
		const char *error;
	} cases[] = {
		{ { { "tx-ring-ref", "8" } }, "request-rx-copy: must be 1" },
		{ { { "request-rx-copy", "1" } }, "feature-rx-notify: must be 1" },
		{ { { "request-rx-copy", "2" } }, "request-rx-copy: must be 0 or 1" },
		{ { { "request-rx-copy", "1" }, { "feature-rx-notify", "1" } }, "tx-ring-ref: missing" },
		{ { { "request-rx-copy", "1" }, { "feature-rx-notify", "1" }, { "tx-ring-ref", "x" } },
		  "tx-ring-ref: not a number" },
		{ { { "request-rx-copy", "1" }, { "feature-rx-notify", "1" }, { "tx-ring-ref", "8" },
		    { "rx-ring-ref", "9" } }, "not none" },
		{ { { "request-rx-copy", "1" }, { "feature-rx-notify", "1" }, { "tx-ring-ref", "8" },
		    { "rx-ring-ref", "9" }, { "event-channel", "3" }, { "event-channel-tx", "4" } }, "both forms" },
		{ { { "request-rx-copy", "1" }, { "feature-rx-notify", "1" }, { "tx-ring-ref", "8" },
		    { "rx-ring-ref", "9" }, { "event-channel-rx", "4" } }, "one of the split pair" },
		{ { { "request-rx-copy", "1" }, { "feature-rx-notify", "1" }, { "tx-ring-ref", "8" },
		    { "rx-ring-ref", "9" }, { "event-channel-tx", "4" }, { "event-channel-rx", "4" } },
		  "the same port twice" },
		{ { { "request-rx-copy", "1" }, { "feature-rx-notify", "1" }, { "multi-queue-num-queues", "2" } },
		  "multi-queue-num-queues: must be 1 to 1" },
		/* Well formed, but nothing is granted and port 3 is nobody's: the connect says why. */
		{ { { "request-rx-copy", "1" }, { "feature-rx-notify", "1" }, { "tx-ring-ref", "8" },
		    { "rx-ring-ref", "9" }, { "event-channel", "3" } }, "grant does not check out" },
	};

	(void)state;
	make_domain();
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		char err[256];

		fe_restart(0);
		for (const struct fe_key *k = cases[c].keys; k->key; k++)
			fe_write(0, k->key, k->value);
		fe_state(0, XenbusStateInitialised);
		if (be_u64(0, "state") != XenbusStateClosing)
			fail_msg("case %zu (%s): backend state %llu, not Closing", c, cases[c].error,
				 (unsigned long long)be_u64(0, "state"));
		error_text(0, err, sizeof(err));
		if (!strstr(err, cases[c].error))
			fail_msg("case %zu: error '%s' lacks '%s'", c, err, cases[c].error);
	}
}

static double stat_of(unsigned vif, const char *key)
{
	static char buf[1 << 14];
	struct device *dev = device_find(D, &vif_device_ops, vif);
	char err[128];
	struct jv *doc;
	double v;
	int n = dev->ops->stats_json(dev, buf, sizeof(buf));

	assert_true(n > 0);
	doc = jv_parse(buf, err, sizeof(err));
	if (!doc)
		fail_msg("vif stats are not JSON (%s): %s", err, buf);
	v = jv_num(doc, key, -1);
	jv_free(doc);
	return v;
}

/*
 * vif0 connects with one channel, closes, connects again; vif1 connects two
 * queues with split channels under queue-N/; a ring page already serving a
 * queue is refused to another.
 */
static void test_frontends_connect_close_and_connect_again(void **state)
{
	char v[16], err[256], key[32];
	unsigned port[5];

	(void)state;
	make_domain();
	grant_ring_pages(6);
	for (unsigned i = 0; i < 5; i++)
		port[i] = alloc_unbound();
	fe_write(0, "request-rx-copy", "1");
	fe_write(0, "feature-rx-notify", "1");
	snprintf(v, sizeof(v), "%u", REF(0));
	fe_write(0, "tx-ring-ref", v);
	snprintf(v, sizeof(v), "%u", REF(1));
	fe_write(0, "rx-ring-ref", v);
	snprintf(v, sizeof(v), "%u", port[0]);
	fe_write(0, "event-channel", v);
	fe_state(0, XenbusStateConnected);
	assert_int_equal(be_u64(0, "state"), XenbusStateConnected);
	assert_true(stat_of(0, "queues_connected") == 1);
	assert_true(stat_of(0, "connects") == 1);

	/* vif1, two queues, split channels; its queue 1 asks for vif0's TX page: refused, all or none. */
	fe_write(1, "request-rx-copy", "1");
	fe_write(1, "feature-rx-notify", "1");
	fe_write(1, "multi-queue-num-queues", "2");
	for (unsigned q = 0; q < 2; q++) {
		snprintf(key, sizeof(key), "queue-%u/tx-ring-ref", q);
		snprintf(v, sizeof(v), "%u", q == 0 ? REF(2) : REF(0));
		fe_write(1, key, v);
		snprintf(key, sizeof(key), "queue-%u/rx-ring-ref", q);
		snprintf(v, sizeof(v), "%u", REF(3 + 2 * q));
		fe_write(1, key, v);
		snprintf(key, sizeof(key), "queue-%u/event-channel-tx", q);
		snprintf(v, sizeof(v), "%u", port[1 + 2 * q]);
		fe_write(1, key, v);
		snprintf(key, sizeof(key), "queue-%u/event-channel-rx", q);
		snprintf(v, sizeof(v), "%u", port[2 + 2 * q]);
		fe_write(1, key, v);
	}
	fe_state(1, XenbusStateInitialised);
	if (be_u64(1, "state") != XenbusStateClosing)
		fail_msg("vif1 with vif0's TX page: state %llu, not Closing", (unsigned long long)be_u64(1, "state"));
	error_text(1, err, sizeof(err));
	assert_non_null(strstr(err, "queue 1"));
	assert_non_null(strstr(err, "in use already"));
	assert_true(stat_of(1, "queues_connected") == 0); /* queue 0 was let go again */

	/* The same frontend with its own page for queue 1's TX ring: both queues connect. */
	fe_state(1, XenbusStateClosed);
	fe_state(1, XenbusStateInitialising);
	snprintf(v, sizeof(v), "%u", REF(4));
	fe_write(1, "queue-1/tx-ring-ref", v);
	snprintf(v, sizeof(v), "%u", REF(5));
	fe_write(1, "queue-1/rx-ring-ref", v);
	fe_state(1, XenbusStateInitialised);
	if (be_u64(1, "state") != XenbusStateConnected) {
		error_text(1, err, sizeof(err));
		fail_msg("vif1 did not connect: %s", err);
	}
	assert_true(stat_of(1, "queues_connected") == 2);
	{
		/* Each queue: netback's counters and its port's (queue 1 is pair NAME.1). */
		static char buf[1 << 14];
		struct device *dev = device_find(D, &vif_device_ops, 1);
		const struct jv *pq, *port;
		struct jv *doc;
		char jerr[128];

		assert_true(dev->ops->stats_json(dev, buf, sizeof(buf)) > 0);
		doc = jv_parse(buf, jerr, sizeof(jerr));
		assert_non_null(doc);
		pq = jv_get(doc, "per_queue");
		assert_non_null(pq);
		assert_int_equal(pq->n, 2);
		assert_true(jv_num(&pq->items[1], "queue", -1) == 1);
		assert_true(jv_num(&pq->items[1], "tx_packets", -1) == 0);
		port = jv_get(&pq->items[1], "port");
		assert_non_null(port);
		assert_string_equal(jv_str(port, "kind", ""), "pair");
		assert_int_equal(dev->ops->stats_json(dev, buf, 64), -1); /* too small: -1, never cut */
		jv_free(doc);
	}

	/* vif0 closes (its queue lets go of the rings and channel), and connects again. */
	fe_state(0, XenbusStateClosing);
	assert_int_equal(be_u64(0, "state"), XenbusStateClosing);
	assert_true(stat_of(0, "queues_connected") == 0);
	fe_state(0, XenbusStateClosed);
	assert_int_equal(be_u64(0, "state"), XenbusStateClosed);
	fe_state(0, XenbusStateInitialising);
	assert_int_equal(be_u64(0, "state"), XenbusStateInitWait);
	fe_state(0, XenbusStateConnected);
	assert_int_equal(be_u64(0, "state"), XenbusStateConnected);
	assert_true(stat_of(0, "connects") == 2);
	assert_true(stat_of(0, "queues_connected") == 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_a_vif_offers_itself_with_xens_netif_keys, end_test),
		cmocka_unit_test_teardown(test_frontend_mistakes_close_the_backend_with_the_reason, end_test),
		cmocka_unit_test_teardown(test_frontends_connect_close_and_connect_again, end_test),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
