// SPDX-License-Identifier: MIT
/*
 * net-hostile [flood=N] [wait=0|1] [jump=0|1] [ip1=A.B.C.D/P]: a netfront
 * that does what a well-behaved one never does, for the kvm tier (test
 * image only).  vif 0 is connected with no RX buffer posted; requests are
 * written straight into its TX ring.  Every request must be answered once
 * with its id, and the status netback's API (io/netback.h) promises:
 *
 *   what                                          status     netback counter
 *   a good frame (before, between, after)         OKAY       tx_packets
 *   grant ref past the table / never granted /
 *     granted to another domain                   ERROR      bad_grant (3)
 *   a 1600-byte frame in one slot                 ERROR      oversize (1)
 *   offset + size past the page (4000+200),
 *     offset past the page (5000), a 10-byte
 *     frame, a first size smaller than the
 *     fragments, 19 slots (the 19th a 10-byte
 *     fragment, see below), an unknown
 *     extra-info type                             ERROR      bad_request (6 or 7)
 *   10 frames from another source MAC             DROPPED    spoofed_mac (10)
 *   a request rewritten after the push            once, any  (one of the above)
 *   a flood of flood=N frames (default 2000),
 *     no RX buffer posted                         OKAY or DROPPED (port_full)
 *
 * Each line reads "net-hostile: WHAT -> STATUS ok" (or WRONG, and a failed
 * GUEST_ASSERT); then one line
 *   net-hostile-json: {"bad_grant":3,"oversize":1,"bad_request":6,
 *     "bad_request_max":7,"spoofed_mac":10,"rewritten":1,"good":G,
 *     "flood_sent":N,"flood_okay":K,"flood_dropped":D,"slots":S}
 * with what was sent (S: TX ring slots written and answered): the
 * backend's counters must show at least these; bad_request lies between
 * bad_request and bad_request_max, and the rewritten request adds one to
 * whichever counter its copy earned (or to tx_packets).
 *
 * wait=1: then prints "net-hostile: rx unposted, waiting for data/net-hostile-go"
 * and waits (up to 4 minutes) for the toolstack to write that key, while
 * frames sent to vif 0 find no buffer (no_rx_buffer).  jump=1 (default):
 * then moves vif 0's TX req_prod 1000 past what it wrote and kicks
 * ("net-hostile: indices jumped"): the backend must stop that queue only.
 * "net-hostile: all checks passed".  Afterwards, if the domain has vif 1,
 * it connects it normally (ip1, default 10.0.0.3/24; "net-hostile: vif 1
 * ready mac=M ip=A") and answers ARP, ping and UDP echo (port 7) there
 * until the toolstack shuts the domain down: the domain's good traffic
 * goes on.
 */
#include "apps.h"
#include "assert.h"
#include "hypercall.h"
#include "netfront.h"
#include "xenbus.h"

#define ID_BASE 0x8000u      /* ids of requests written here: netfront's own are < NETFRONT_TX_BUFS */
#define ANSWER_NS 60000000000ull /* a loaded host's backend answers long before this */
#define MAX_SLOTS 24u

/* What was sent, by the netback counter it must show up in (the summary line). */
enum what { W_GOOD, W_BAD_GRANT, W_OVERSIZE, W_BAD_REQUEST, W_BAD_REQUEST_SPLIT, W_SPOOFED, W_REWRITTEN, W_NR };
static unsigned sent[W_NR];

static struct netfront *hf;
static uint8_t *page;        /* hf's TX buffer page 0: frames written here */
static uint32_t page_ref;
static uint16_t next_id = ID_BASE;
static unsigned long slots_sent;

static const char *status_name(int s)
{
	switch (s) {
	case NETIF_RSP_OKAY:
		return "OKAY";
	case NETIF_RSP_ERROR:
		return "ERROR";
	case NETIF_RSP_DROPPED:
		return "DROPPED";
	case NETIF_RSP_NULL:
		return "NULL";
	default:
		return "?";
	}
}

/* A 60-byte broadcast UDP frame from src_mac at off in the page. */
static void write_frame(unsigned off, const uint8_t src_mac[6], size_t len)
{
	uint8_t *f = page + off;

	memset(f, 0xff, 6);
	memcpy(f + 6, src_mac, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	for (size_t i = 14; i < len; i++)
		f[i] = (uint8_t)i;
}

static uint16_t put_req(grant_ref_t gref, uint16_t offset, uint16_t flags, uint16_t size)
{
	struct netif_tx_request *r = &netif_tx_front_next_req(&hf->tx)->tx;

	r->gref = gref;
	r->offset = offset;
	r->flags = flags;
	r->id = next_id;
	r->size = size;
	hf->tx.req_prod_pvt++;
	slots_sent++;
	return next_id++;
}

static void put_extra(uint8_t type, uint8_t flags)
{
	struct netif_extra_info *e = &netif_tx_front_next_req(&hf->tx)->extra;

	memset(e, 0, sizeof(*e));
	e->type = type;
	e->flags = flags;
	hf->tx.req_prod_pvt++;
	slots_sent++;
}

/* Publishes what was written, kicks, and takes n responses into out (a minute at most). */
static void push_collect(unsigned n, struct netif_tx_response *out)
{
	uint64_t deadline = monotonic_ns() + ANSWER_NS;

	if (netif_tx_front_push(&hf->tx))
		netfront_kick(hf);
	while (netif_tx_front_pending_rsps(&hf->tx) < n) {
		if (monotonic_ns() > deadline) {
			printf("net-hostile: %u responses awaited, %u came within 60 s WRONG\n", n,
			       (unsigned)netif_tx_front_pending_rsps(&hf->tx));
			GUEST_ASSERT(!"the backend answers every request");
		}
		netfront_wait(hf, NULL, 0, 10000000);
	}
	for (unsigned i = 0; i < n; i++)
		netif_tx_front_take_rsp(&hf->tx, &out[i]);
	/* Exactly n: nothing more. */
	GUEST_ASSERT_EQ(netif_tx_front_pending_rsps(&hf->tx), 0);
}

/* One packet of n slots (written by the caller), every request answered want, each id once. */
static void expect(const char *what, unsigned n, const uint16_t *ids, int want, enum what w)
{
	struct netif_tx_response rsp[MAX_SLOTS];
	bool ok = true;

	push_collect(n, rsp);
	for (unsigned i = 0; i < n; i++) {
		bool is_extra = ids[i] == 0;

		if (is_extra)
			ok &= rsp[i].status == NETIF_RSP_NULL;
		else
			ok &= rsp[i].status == want && rsp[i].id == ids[i];
	}
	printf("net-hostile: %s -> %s%s %s\n", what, status_name(rsp[0].status), n > 1 ? " (each slot)" : "",
	       ok ? "ok" : "WRONG");
	if (!ok)
		for (unsigned i = 0; i < n; i++)
			printf("net-hostile:   slot %u: id %u status %d (want id %u)\n", i, rsp[i].id, rsp[i].status,
			       ids[i]);
	GUEST_ASSERT(ok);
	sent[w]++;
}

static void one(const char *what, grant_ref_t gref, uint16_t offset, uint16_t size, int want, enum what w)
{
	uint16_t id = put_req(gref, offset, 0, size);

	expect(what, 1, &id, want, w);
}

static void good(const char *what)
{
	write_frame(0, hf->info.mac, 60);
	one(what, page_ref, 0, 60, NETIF_RSP_OKAY, W_GOOD);
}

static bool wait_for_go(void)
{
	char path[64];

	if (xenbus_watch("data/net-hostile-go", "go") < 0)
		return false;
	xenbus_wait_for_watch("go", path, sizeof(path), ANSWER_NS); /* the watch fires once when set */
	printf("net-hostile: rx unposted, waiting for data/net-hostile-go\n");
	for (uint64_t deadline = monotonic_ns() + 4 * ANSWER_NS;;) {
		char v[16];

		if (xenbus_read(XBT_NIL, "data/net-hostile-go", v, sizeof(v)) >= 0)
			break;
		if (monotonic_ns() > deadline)
			return false;
		xenbus_wait_for_watch("go", path, sizeof(path), ANSWER_NS);
	}
	xenbus_unwatch("data/net-hostile-go", "go");
	return true;
}

/* vif 1, connected as a well-behaved guest: ARP, ping and UDP echo until shutdown. */
struct good_vif {
	struct netfront nf;
	struct net_stack s;
	uint32_t ctl;
};

static int gv_send(void *dev, const uint8_t *f, size_t len)
{
	return netfront_send(&((struct good_vif *)dev)->nf, f, len) == 0 ? 0 : -NET_ENOBUFS;
}

static void gv_flush(void *dev)
{
	netfront_flush(&((struct good_vif *)dev)->nf);
}

static void gv_input(void *ctx, const uint8_t *f, size_t len)
{
	net_input(ctx, f, len);
}

static unsigned gv_poll(void *dev, struct net_stack *s, unsigned max)
{
	struct good_vif *g = dev;

	netfront_tx_reap(&g->nf);
	return netfront_rx_poll(&g->nf, gv_input, s, max);
}

static void gv_wait(void *dev, uint64_t ns)
{
	struct good_vif *g = dev;

	netfront_wait(&g->nf, &g->ctl, 1, ns);
}

static uint64_t gv_now(void *dev)
{
	(void)dev;
	return monotonic_ns();
}

static const struct net_dev_ops gv_ops = {
	.send = gv_send, .flush = gv_flush, .poll = gv_poll, .wait = gv_wait, .now_ns = gv_now,
};

static bool gv_stop(void *ctx)
{
	struct good_vif *g = ctx;
	uint32_t req;

	if (!evtchn_test_and_clear(g->ctl))
		return false;
	req = __atomic_exchange_n(&shared_info->control_request, XENITH_CONTROL_NONE, __ATOMIC_ACQUIRE);
	return req == XENITH_CONTROL_POWEROFF || req == XENITH_CONTROL_REBOOT;
}

static void serve_vif1(uint32_t ip, unsigned prefix)
{
	struct good_vif *g = calloc(1, sizeof(*g));
	struct net_echo_server e;
	char a[16];
	int r;

	GUEST_ASSERT(g != NULL);
	r = netfront_connect(&g->nf, 1);
	if (r < 0) {
		printf("net-hostile: vif 1: connect -> %d WRONG\n", r);
		GUEST_ASSERT(r == 0);
	}
	r = evtchn_bind_virq(VIRQ_CONTROL, 0);
	GUEST_ASSERT(r > 0);
	g->ctl = (uint32_t)r;
	net_stack_init(&g->s, &gv_ops, g, g->nf.info.mac, ip, prefix, 0);
	net_format_ip(ip, a);
	printf("net-hostile: vif 1 ready mac=%02x:%02x:%02x:%02x:%02x:%02x ip=%s\n", g->nf.info.mac[0],
	       g->nf.info.mac[1], g->nf.info.mac[2], g->nf.info.mac[3], g->nf.info.mac[4], g->nf.info.mac[5], a);
	net_echo_serve(&g->s, &e, 7, 0, gv_stop, g);
	printf("net-hostile: vif 1 served: %llu echoed, %llu pings answered\n", (unsigned long long)e.echoed,
	       (unsigned long long)g->s.st.rx_icmp_echo);
}

int net_hostile_main(const char *args)
{
	static struct netfront nf0;
	unsigned long flood = 2000, wait = 0, jump = 1;
	uint32_t ip1 = 0x0a000003u;
	unsigned prefix1 = 24;
	uint16_t ids[MAX_SLOTS];
	uint8_t spoof[6];
	int other, r;

	while (*args) {
		const char *end = args;

		while (*args == ' ')
			args++;
		if (!*args)
			break;
		if (!strncmp(args, "flood=", 6) && parse_ulong(args + 6, &end, &flood))
			;
		else if (!strncmp(args, "wait=", 5) && parse_ulong(args + 5, &end, &wait) && wait <= 1)
			;
		else if (!strncmp(args, "jump=", 5) && parse_ulong(args + 5, &end, &jump) && jump <= 1)
			;
		else if (!strncmp(args, "ip1=", 4) && net_parse_ip(args + 4, &end, &ip1, &prefix1))
			;
		else {
			printf("net-hostile: bad option '%s' (flood=N wait=0|1 jump=0|1 ip1=A.B.C.D/P)\n", args);
			return 2;
		}
		args = end;
	}
	if (!gnttab_size())
		GUEST_ASSERT_EQ(gnttab_init(8), 0);
	r = netfront_connect_queues(&nf0, 0, 1, false);
	if (r < 0) {
		printf("net-hostile: vif 0: connect -> %d WRONG\n", r);
		return 3;
	}
	hf = &nf0;
	page = hf->tx_pages[0];
	page_ref = hf->tx_grefs[0];
	/* netfront's own sends (the flood) use buffers 2 and up: page 0 is ours. */
	hf->tx_nfree -= 2;
	GUEST_ASSERT(hf->tx_free[hf->tx_nfree] == 1 && hf->tx_free[hf->tx_nfree + 1] == 0);
	printf("net-hostile: vif 0 connected, no RX buffer posted, mode %u\n", hf->info.mode);

	good("a good frame");
	one("grant ref past the table", 100000, 0, 60, NETIF_RSP_ERROR, W_BAD_GRANT);
	one("grant ref never granted", gnttab_size() - 1, 0, 60, NETIF_RSP_ERROR, W_BAD_GRANT);
	other = gnttab_grant(5, (uint64_t)(uintptr_t)page / XENITH_PAGE_SIZE, true);
	GUEST_ASSERT(other > 0);
	one("page granted to another domain", (uint32_t)other, 0, 60, NETIF_RSP_ERROR, W_BAD_GRANT);
	GUEST_ASSERT(gnttab_end_access((uint32_t)other));
	gnttab_free((uint32_t)other);
	write_frame(0, hf->info.mac, 1600);
	one("a 1600-byte frame in one slot", page_ref, 0, 1600, NETIF_RSP_ERROR, W_OVERSIZE);
	one("offset 4000 + size 200, past the page", page_ref, 4000, 200, NETIF_RSP_ERROR, W_BAD_REQUEST);
	one("offset 5000, past the page", page_ref, 5000, 60, NETIF_RSP_ERROR, W_BAD_REQUEST);
	one("a 10-byte frame", page_ref, 0, 10, NETIF_RSP_ERROR, W_BAD_REQUEST);
	good("a good frame between bad ones");
	/* The first slot's size is the packet's: 100 cannot hold a 200-byte fragment after it. */
	ids[0] = put_req(page_ref, 0, NETTXF_more_data, 100);
	ids[1] = put_req(page_ref, 2048, 0, 200);
	expect("first size 100, then a 200-byte fragment", 2, ids, NETIF_RSP_ERROR, W_BAD_REQUEST);
	/*
	 * One request more than XENITH_NET_MAX_SLOTS_PER_PKT, each fragment
	 * well formed and the first size their sum.  A backend may end the bad
	 * packet at the 18th request (whose more_data breaks the rule) and take
	 * the 19th as a packet of its own (N1's netback does): so the 19th is a
	 * 10-byte fragment, an ERROR either way, and bad_request counts this
	 * once or twice (bad_request_max).
	 */
	for (unsigned i = 0; i <= XENITH_NET_MAX_SLOTS_PER_PKT; i++)
		ids[i] = put_req(page_ref, (uint16_t)(i * 64), i < XENITH_NET_MAX_SLOTS_PER_PKT ? NETTXF_more_data : 0,
				 i == 0 ? (uint16_t)(64 * XENITH_NET_MAX_SLOTS_PER_PKT + 10) :
				 i < XENITH_NET_MAX_SLOTS_PER_PKT ? 64 : 10);
	expect("19 slots in one packet", XENITH_NET_MAX_SLOTS_PER_PKT + 1, ids, NETIF_RSP_ERROR, W_BAD_REQUEST);
	sent[W_BAD_REQUEST_SPLIT]++;
	write_frame(0, hf->info.mac, 60);
	ids[0] = put_req(page_ref, 0, NETTXF_extra_info, 60);
	put_extra(XEN_NETIF_EXTRA_TYPE_MAX + 2, 0);
	ids[1] = 0; /* an extra-info slot: answered NETIF_RSP_NULL */
	expect("an extra-info slot of an unknown type", 2, ids, NETIF_RSP_ERROR, W_BAD_REQUEST);

	memcpy(spoof, hf->info.mac, 6);
	spoof[5] ^= 0x55;
	write_frame(2048, spoof, 60);
	for (unsigned i = 0; i < 10; i++)
		one("a frame from another source MAC", page_ref, 2048, 60, NETIF_RSP_DROPPED, W_SPOOFED);

	/* Rewritten after the push: whatever the backend copied, it answers once, with the id. */
	{
		struct netif_tx_request *slot = &netif_tx_front_next_req(&hf->tx)->tx;
		struct netif_tx_response rsp;
		uint16_t id;

		write_frame(0, hf->info.mac, 60);
		id = put_req(page_ref, 0, 0, 60);
		if (netif_tx_front_push(&hf->tx))
			netfront_kick(hf);
		/*
		 * Not gref (the first 4 bytes): the response {id, status} goes into
		 * the same slot, and rewriting those would only garble our own answer.
		 * Not flags either: a copy taken after a rewrite to more_data would be
		 * the start of a packet whose next slots never come, and the backend
		 * rightly waits for them (seen under load: no answer within 60 s).
		 * Either copy is one slot: the original (OKAY) or size and offset
		 * past the page (ERROR).
		 */
		__atomic_store_n(&slot->size, (uint16_t)9999, __ATOMIC_RELAXED);
		__atomic_store_n(&slot->offset, (uint16_t)4090, __ATOMIC_RELAXED);
		push_collect(1, &rsp);
		printf("net-hostile: a request rewritten after the push -> %s %s\n", status_name(rsp.status),
		       rsp.id == id ? "ok" : "WRONG");
		GUEST_ASSERT_EQ(rsp.id, id);
		GUEST_ASSERT(rsp.status == NETIF_RSP_OKAY || rsp.status == NETIF_RSP_ERROR ||
			     rsp.status == NETIF_RSP_DROPPED);
		sent[W_REWRITTEN]++;
	}
	good("a good frame after all that");

	/* A flood with no RX buffer posted: every frame is answered; TX does not wait for RX. */
	{
		uint64_t errors0 = hf->st.tx_errors, deadline = monotonic_ns() + ANSWER_NS;
		uint8_t f[60];

		memset(f, 0xff, 6);
		memcpy(f + 6, hf->info.mac, 6);
		f[12] = 0x08;
		f[13] = 0x00;
		for (unsigned i = 14; i < sizeof(f); i++)
			f[i] = (uint8_t)i;
		for (unsigned long i = 0; i < flood; i++) {
			while (netfront_send(hf, f, sizeof(f)) < 0) {
				netfront_flush(hf);
				if (!netfront_tx_reap(hf))
					netfront_wait(hf, NULL, 0, 10000000);
				GUEST_ASSERT(monotonic_ns() < deadline);
			}
			slots_sent++;
			if (i % 32 == 31)
				netfront_flush(hf);
		}
		netfront_flush(hf);
		while (hf->tx.req_prod_pvt != hf->tx.rsp_cons) {
			if (!netfront_tx_reap(hf))
				netfront_wait(hf, NULL, 0, 10000000);
			if (monotonic_ns() > deadline) {
				printf("net-hostile: flood: %u of %lu unanswered after 60 s WRONG\n",
				       (unsigned)(hf->tx.req_prod_pvt - hf->tx.rsp_cons), flood);
				GUEST_ASSERT(!"every flooded frame is answered");
			}
		}
		GUEST_ASSERT_EQ(hf->st.bad_responses, 0);
		printf("net-hostile: a flood of %lu frames, no RX buffer posted -> %llu answered not OKAY ok\n", flood,
		       (unsigned long long)(hf->st.tx_errors - errors0));
		printf("net-hostile-json: {\"bad_grant\":%u,\"oversize\":%u,\"bad_request\":%u,\"bad_request_max\":%u,"
		       "\"spoofed_mac\":%u,"
		       "\"rewritten\":%u,\"good\":%u,\"flood_sent\":%lu,\"flood_okay\":%llu,\"flood_dropped\":%llu,"
		       "\"slots\":%lu}\n", sent[W_BAD_GRANT], sent[W_OVERSIZE], sent[W_BAD_REQUEST],
		       sent[W_BAD_REQUEST] + sent[W_BAD_REQUEST_SPLIT], sent[W_SPOOFED],
		       sent[W_REWRITTEN], sent[W_GOOD], flood,
		       (unsigned long long)(flood - (hf->st.tx_errors - errors0)),
		       (unsigned long long)(hf->st.tx_errors - errors0), slots_sent);
	}
	if (wait && !wait_for_go()) {
		printf("net-hostile: data/net-hostile-go not written within 4 minutes WRONG\n");
		GUEST_ASSERT(!"the toolstack writes data/net-hostile-go");
	}
	if (jump) {
		__atomic_store_n(&hf->tx_sring->h.req_prod, hf->tx.req_prod_pvt + 1000, __ATOMIC_RELEASE);
		netfront_kick(hf);
		printf("net-hostile: indices jumped\n");
	}
	printf("net-hostile: all checks passed\n");
	if (netfront_info(1, &(struct netfront_info){ 0 }) == 0)
		serve_vif1(ip1, prefix1);
	return 0;
}
