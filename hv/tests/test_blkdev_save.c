// SPDX-License-Identifier: MIT
/*
 * unit tier: the block device's quiesce, save and restore (hv/blkdev.c,
 * vbd_device_ops) between two unbacked domains built from one config, as
 * `xenith save` and `xenith restore` move a domain: a "guest" (this test,
 * through the store, its grant table and hypercalls) connects a disk of two
 * queues and reads from it; the disk is quiesced and saved; the guest's
 * memory, grant table and event channels (backend ports turned unbound)
 * go to a second domain, whose disk takes the saved state back and serves
 * the guest's next requests at the indices it expects.  Saved states that
 * do not fit are refused, naming the problem, with nothing left bound.
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

#include "blkback.h"
#include "blkdev.h"
#include "clock.h"
#include "device.h"
#include "domain.h"
#include "evtchn.h"
#include "grant.h"
#include "jsondoc.h"
#include "savebuf.h"
#include "testutil.h"
#include "unbacked.h"
#include "vbd.h"
#include "xenstore.h"
#include "xsdomain.h"
#include "xenith/abi.h"
#include "xenith/blkif.h"
#include "xenith/grant_table.h"

#define PAGE 4096u
#define NQ 2u
/* Guest pages the test uses, from the domain's first free page. */
#define ARG_PAGE 0u
#define TABLE_PAGE 1u
#define RING_PAGE(q) (2u + (q))
#define DATA_PAGE(q) (4u + (q))
#define REF_RING(q) (GNTTAB_NR_RESERVED_ENTRIES + (q))
#define REF_DATA(q) (GNTTAB_NR_RESERVED_ENTRIES + NQ + (q))
#define WAIT_MS 10000
#define QUIET_MS 200
/* Where the record's fields are (blkdev.h), for a record with an empty last error. */
#define OFF_NR_QUEUES 2u
#define OFF_STATE 4u
#define OFF_QUEUE(q) (9u + 18u * (q))
#define OFF_REQ_CONS 10u
#define OFF_RSP_PROD_PVT 14u

/* A quiesce's deadline as save gives one: the whole bound from now. */
#define SOON (now_ns() + DEVICE_QUIESCE_MS * 1000000ull)

static char path[64];
static struct domain *A, *B;      /* the saved domain, the restored one */
static uint32_t port[NQ];         /* the guest's event channels, one per queue */
static struct blkif_front front[NQ]; /* the guest's private ring indices */
static struct savebuf saved;

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static struct domain *make_domain(void)
{
	struct domain_opts opts = { .console_fd = -1 };
	struct domain_config cfg;
	struct errbuf eb;
	struct domain *d = NULL;
	char spec[128];

	config_init(&cfg);
	snprintf(cfg.name, sizeof(cfg.name), "unit");
	snprintf(cfg.kernel, sizeof(cfg.kernel), "%s", getenv("XENITH_MINIOS"));
	cfg.vcpus = 2;
	snprintf(spec, sizeof(spec), "path=%s,direct=0,queues=%u,mode=exit", path, NQ);
	if (config_set(&cfg, "disk", spec, &eb) < 0)
		fail_msg("disk %s: %s", spec, eb.msg);
	if (domain_create_unbacked(&cfg, &opts, 7, &d, &eb) < 0)
		fail_msg("domain_create_unbacked: %s", eb.msg);
	return d;
}

static int setup(void **state)
{
	int fd;

	(void)state;
	if (!getenv("XENITH_MINIOS"))
		fail_msg("XENITH_MINIOS is not set (meson test sets it to the bundled minios)");
	snprintf(path, sizeof(path), "/tmp/xenith-blksave-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	for (unsigned off = 0; off < (1u << 20); off += PAGE) { /* sector s holds the byte s & 0xff */
		uint8_t page[PAGE];

		for (unsigned i = 0; i < PAGE; i++)
			page[i] = (uint8_t)((off + i) / 512);
		assert_int_equal(pwrite(fd, page, PAGE, off), PAGE);
	}
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

/* After each test, failed or not: no domain outlives it (their images' locks with them). */
static int end_test(void **state)
{
	(void)state;
	if (A)
		domain_destroy(A);
	if (B)
		domain_destroy(B);
	A = B = NULL;
	savebuf_free(&saved);
	memset(&saved, 0, sizeof(saved));
	return 0;
}

static uint64_t gpa_of(struct domain *d, unsigned page)
{
	return d->layout.free_start + (uint64_t)page * PAGE;
}

static struct device *vbd0(struct domain *d)
{
	struct device *dev = device_find(d, &vbd_device_ops, 0);

	assert_non_null(dev);
	return dev;
}

static void fe_write(struct domain *d, const char *key, const char *fmt, unsigned v)
{
	char p[160];

	snprintf(p, sizeof(p), "/local/domain/%u/device/vbd/%u/%s", d->domid, vbd_devid(0), key);
	if (xs_printf(xsdomain_store(d), p, fmt, v) != 0)
		fail_msg("writing %s", p);
}

static uint64_t be_state_key(struct domain *d)
{
	char p[160];
	uint64_t v = UINT64_MAX;

	snprintf(p, sizeof(p), "/local/domain/0/backend/vbd/%u/%u/state", d->domid, vbd_devid(0));
	assert_int_equal(xs_read_u64(xsdomain_store(d), p, &v), 0);
	return v;
}

/* Queue q's xenbus_state and connected, as `xenith disks` shows them. */
static void disk_json(struct domain *d, unsigned q, int *xb_state, bool *connected)
{
	static char buf[1 << 14];
	struct jv *doc;
	char err[128];

	assert_true(domain_disks_json(d, buf, sizeof(buf)) > 0);
	doc = jv_parse(buf, err, sizeof(err));
	if (!doc)
		fail_msg("domain_disks_json: %s: %s", err, buf);
	assert_int_equal(doc->n, NQ);
	*xb_state = (int)jv_num(&doc->items[q], "xenbus_state", -1);
	*connected = jv_bool(&doc->items[q], "connected", false);
	jv_free(doc);
}

static long evtchn_call(struct domain *d, uint64_t cmd, const void *arg, size_t len, void *out)
{
	long r;

	memcpy(d->mem + gpa_of(d, ARG_PAGE), arg, len);
	r = unbacked_call(&d->vcpus[0], __HYPERVISOR_event_channel_op, cmd, gpa_of(d, ARG_PAGE), 0, 0, 0);
	if (out)
		memcpy(out, d->mem + gpa_of(d, ARG_PAGE), len);
	return r;
}

/* The guest's side: grant table, rings, ports and xenstore keys; the disk goes Connected. */
static void guest_connect(struct domain *d)
{
	struct grant_entry_v1 *e;

	assert_int_equal(grant_table_set(&d->gnttab, gpa_of(d, TABLE_PAGE), 1), 0);
	e = (struct grant_entry_v1 *)(void *)(d->mem + gpa_of(d, TABLE_PAGE));
	for (unsigned q = 0; q < NQ; q++) {
		struct evtchn_alloc_unbound a = { .dom = XENITH_DOMID_SELF,
						  .remote_dom = XENITH_BACKEND_DOMID };
		const grant_ref_t refs[2] = { REF_RING(q), REF_DATA(q) };
		const unsigned pages[2] = { RING_PAGE(q), DATA_PAGE(q) };
		char key[32];

		for (unsigned i = 0; i < 2; i++) {
			e[refs[i]].frame = (uint32_t)(gpa_of(d, pages[i]) / PAGE);
			e[refs[i]].domid = XENITH_BACKEND_DOMID;
			__atomic_store_n(&e[refs[i]].flags, GTF_permit_access, __ATOMIC_RELEASE);
		}
		blkif_sring_init((struct blkif_sring *)(void *)(d->mem + gpa_of(d, RING_PAGE(q))));
		blkif_front_init(&front[q], (struct blkif_sring *)(void *)(d->mem + gpa_of(d, RING_PAGE(q))));
		assert_int_equal(evtchn_call(d, EVTCHNOP_alloc_unbound, &a, sizeof(a), &a), 0);
		port[q] = a.port;
		snprintf(key, sizeof(key), "queue-%u/ring-ref", q);
		fe_write(d, key, "%u", REF_RING(q));
		snprintf(key, sizeof(key), "queue-%u/event-channel", q);
		fe_write(d, key, "%u", port[q]);
	}
	fe_write(d, "multi-queue-num-queues", "%u", NQ);
	fe_write(d, "state", "%u", XenbusStateInitialised);
	assert_int_equal(be_state_key(d), XenbusStateConnected);
}

/* Puts a one-page read of sector into queue q's ring and sends the queue's event channel. */
static void guest_read_start(struct domain *d, unsigned q, uint64_t id, uint64_t sector)
{
	struct blkif_request *r = blkif_front_next_req(&front[q]);
	struct evtchn_send s = { .port = port[q] };

	memset(r, 0, sizeof(*r));
	r->operation = BLKIF_OP_READ;
	r->nr_segments = 1;
	r->id = id;
	r->sector_number = sector;
	r->seg[0] = (struct blkif_request_segment){ .gref = REF_DATA(q), .first_sect = 0, .last_sect = 7 };
	front[q].req_prod_pvt++;
	blkif_front_push(&front[q]);
	assert_int_equal(evtchn_call(d, EVTCHNOP_send, &s, sizeof(s), NULL), 0);
}

static bool wait_rsp(unsigned q, unsigned ms)
{
	for (unsigned t = 0; t < ms && !blkif_front_pending_rsps(&front[q]); t++)
		sleep_ms(1);
	return blkif_front_pending_rsps(&front[q]) != 0;
}

/* The read's response: at the guest's next response index, with its id, OKAY, the sector's data in place. */
static void guest_read_finish(struct domain *d, unsigned q, uint64_t id, uint64_t sector)
{
	struct blkif_response rsp;
	const uint8_t *data = d->mem + gpa_of(d, DATA_PAGE(q));

	if (!wait_rsp(q, WAIT_MS))
		fail_msg("queue %u: no response to request 0x%llx (index %u) within %u ms", q,
			 (unsigned long long)id, front[q].req_prod_pvt - 1, WAIT_MS);
	blkif_front_take_rsp(&front[q], &rsp);
	if (rsp.id != id || rsp.status != BLKIF_RSP_OKAY || rsp.operation != BLKIF_OP_READ)
		fail_msg("queue %u response %u: id 0x%llx op %u status %d, expected id 0x%llx, a read, OKAY",
			 q, front[q].rsp_cons - 1, (unsigned long long)rsp.id, rsp.operation, rsp.status,
			 (unsigned long long)id);
	for (unsigned i = 0; i < PAGE; i++)
		if (data[i] != (uint8_t)(sector + i / 512))
			fail_msg("queue %u: byte %u of the page read is 0x%02x, not sector %llu's", q, i,
				 data[i], (unsigned long long)(sector + i / 512));
}

static void guest_read(struct domain *d, unsigned q, uint64_t id, uint64_t sector)
{
	guest_read_start(d, q, id, sector);
	guest_read_finish(d, q, id, sector);
}

/*
 * A connects and reads (5 requests on queue 0, 3 on queue 1), is quiesced
 * and saved; its memory, grant table and event channels go to B, built
 * from the same config after A went (the image's lock with it), as a
 * restore does before it restores devices.
 */
static void save_and_move(void)
{
	static struct evtchn ports[XENITH_NR_EVTCHN];
	static int32_t virq_port[XENITH_NR_VIRQS];
	struct errbuf eb;
	uint8_t *mem;
	uint64_t size;

	A = make_domain();
	guest_connect(A);
	for (unsigned i = 0; i < 5; i++)
		guest_read(A, 0, 0x100 + i, 8 * i);
	for (unsigned i = 0; i < 3; i++)
		guest_read(A, 1, 0x200 + i, 16 * i);
	if (device_quiesce(vbd0(A), SOON, &eb) < 0)
		fail_msg("quiesce: %s", eb.msg);
	if (device_save(vbd0(A), &saved, &eb) < 0)
		fail_msg("save: %s", eb.msg);
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

	B = make_domain();
	assert_int_equal(B->mem_size, size);
	memcpy(B->mem, mem, size);
	free(mem);
	assert_int_equal(grant_table_set(&B->gnttab, gpa_of(B, TABLE_PAGE), 1), 0);
	for (unsigned p = 0; p < XENITH_NR_EVTCHN; p++) {
		if (ports[p].kind != EVTCHN_BACKEND)
			continue;
		ports[p].kind = EVTCHN_UNBOUND; /* for the device to bind again */
		ports[p].kick_fd = -1;
		assert_int_equal(ports[p].remote_dom, XENITH_BACKEND_DOMID);
	}
	pthread_mutex_lock(&B->lock);
	memcpy(B->evtchn.port, ports, sizeof(ports));
	memcpy(B->evtchn.virq_port, virq_port, sizeof(virq_port));
	pthread_mutex_unlock(&B->lock);
	for (unsigned q = 0; q < NQ; q++)
		front[q].s = (struct blkif_sring *)(void *)(B->mem + gpa_of(B, RING_PAGE(q)));
}

static struct blkif_sring *ring_of(struct domain *d, unsigned q)
{
	return (struct blkif_sring *)(void *)(d->mem + gpa_of(d, RING_PAGE(q)));
}

static uint8_t port_kind(struct domain *d, uint32_t p)
{
	uint8_t k;

	pthread_mutex_lock(&d->lock);
	k = d->evtchn.port[p].kind;
	pthread_mutex_unlock(&d->lock);
	return k;
}

static uint64_t requests_served(struct domain *d, unsigned q)
{
	struct blkback_stats st;

	assert_int_equal(blkdev_get_stats(d, 0, q, &st), 0);
	return st.requests;
}

static void test_a_restored_disk_serves_the_guests_next_requests_at_the_saved_indices(void **state)
{
	union blkif_slot before[5];
	struct errbuf eb;
	int xb;
	bool connected;

	(void)state;
	save_and_move();
	memcpy(before, ring_of(B, 0)->slot, sizeof(before));
	if (device_restore(vbd0(B), saved.p, saved.len, &eb) < 0)
		fail_msg("restore: %s", eb.msg);
	assert_string_equal(device_state_name((enum device_state)atomic_load(&vbd0(B)->state)), "quiesced");
	for (unsigned q = 0; q < NQ; q++) {
		assert_int_equal(port_kind(B, port[q]), EVTCHN_BACKEND);
		disk_json(B, q, &xb, &connected);
		assert_int_equal(xb, XenbusStateConnected);
		assert_true(connected);
	}
	assert_int_equal(be_state_key(B), XenbusStateInitWait); /* the store is restored on its own */

	/* Quiesced until resumed: a request put on the ring now waits. */
	guest_read_start(B, 0, 0x105, 40);
	sleep_ms(QUIET_MS);
	assert_int_equal(blkif_front_pending_rsps(&front[0]), 0);
	if (device_resume(vbd0(B), &eb) < 0)
		fail_msg("resume: %s", eb.msg);
	assert_int_equal(front[0].rsp_cons, 5);
	guest_read_finish(B, 0, 0x105, 40); /* at index 5 */
	assert_int_equal(__atomic_load_n(&ring_of(B, 0)->h.rsp_prod, __ATOMIC_ACQUIRE), 6);
	assert_int_equal(requests_served(B, 0), 1); /* none of A's five again */
	assert_memory_equal(before, ring_of(B, 0)->slot, sizeof(before));
	assert_int_equal(front[1].rsp_cons, 3);
	guest_read(B, 1, 0x203, 64); /* queue 1 at index 3 */
	assert_int_equal(requests_served(B, 1), 1);
	/* And it goes on as any disk does. */
	guest_read(B, 0, 0x106, 48);
	guest_read(B, 1, 0x204, 56);
}

/* A refused restore leaves no port bound, no ring attached, the backend's xenbus state as built. */
static void expect_nothing_bound(const char *what)
{
	for (unsigned q = 0; q < NQ; q++) {
		int xb;
		bool connected;

		if (port_kind(B, port[q]) == EVTCHN_BACKEND)
			fail_msg("%s: port %u (queue %u) is left bound to the backend", what, port[q], q);
		disk_json(B, q, &xb, &connected);
		if (connected || xb != XenbusStateInitWait)
			fail_msg("%s: queue %u is left connected=%d, xenbus state %d", what, q, connected,
				 xb);
	}
}

static void expect_refused(const void *data, size_t len, int err, const char *want, const char *what)
{
	struct errbuf eb;
	int r;

	memset(&eb, 0, sizeof(eb));
	r = device_restore(vbd0(B), data, len, &eb);
	if (r != -err || !strstr(eb.msg, want) || strncmp(eb.msg, "vbd0: ", 6))
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

static void test_a_saved_state_that_does_not_fit_is_refused_with_nothing_left_bound(void **state)
{
	uint8_t *rec;
	size_t len;
	char want[160];
	struct errbuf eb;
	int efd;

	(void)state;
	save_and_move();
	len = saved.len;
	assert_int_equal(len, OFF_QUEUE(NQ)); /* an empty last error: the offsets above hold */
	rec = malloc(len + 1);
	assert_non_null(rec);

	/* Another number of queues. */
	memcpy(rec, saved.p, len);
	rec[OFF_NR_QUEUES] = 3;
	expect_refused(rec, len, EINVAL, "disk 0 was saved with 3 queue(s); here it has 2", "3 queues");

	/* A port the restored table does not have unbound for the backend: closed, another remote, bound. */
	pthread_mutex_lock(&B->lock);
	B->evtchn.port[port[1]].kind = EVTCHN_FREE;
	pthread_mutex_unlock(&B->lock);
	snprintf(want, sizeof(want), "disk 0 queue 1: event channel %u in the restored event-channel "
		 "table is not an unbound port", port[1]);
	expect_refused(saved.p, len, EINVAL, want, "a closed port"); /* queue 0's was bound, and undone */
	pthread_mutex_lock(&B->lock);
	B->evtchn.port[port[1]].kind = EVTCHN_UNBOUND;
	B->evtchn.port[port[0]].remote_dom = 3;
	pthread_mutex_unlock(&B->lock);
	snprintf(want, sizeof(want), "disk 0 queue 0: event channel %u in the restored", port[0]);
	expect_refused(saved.p, len, EINVAL, want, "a port for another domain");
	pthread_mutex_lock(&B->lock);
	B->evtchn.port[port[0]].remote_dom = XENITH_BACKEND_DOMID;
	pthread_mutex_unlock(&B->lock);
	efd = eventfd(0, EFD_CLOEXEC);
	assert_true(efd >= 0);
	assert_int_equal(evtchn_backend_bind(B, port[1], efd), 0);
	snprintf(want, sizeof(want), "disk 0 queue 1: event channel %u is bound to a backend already",
		 port[1]);
	memset(&eb, 0, sizeof(eb));
	assert_int_equal(device_restore(vbd0(B), saved.p, len, &eb), -EINVAL);
	if (!strstr(eb.msg, want))
		fail_msg("a bound port: '%s'", eb.msg);
	assert_int_equal(port_kind(B, port[0]), EVTCHN_UNBOUND);
	evtchn_backend_unbind(B, port[1], efd);
	close(efd);
	expect_nothing_bound("a bound port");

	/* A port out of range. */
	memcpy(rec, saved.p, len);
	put_u32(rec + OFF_QUEUE(1) + 2, XENITH_NR_EVTCHN);
	snprintf(want, sizeof(want), "disk 0 queue 1: event channel %u is out of range", XENITH_NR_EVTCHN);
	expect_refused(rec, len, EPROTO, want, "a port out of range");

	/* Indices that do not fit the ring: the saved ones, or the ring's req_prod. */
	memcpy(rec, saved.p, len);
	put_u32(rec + OFF_QUEUE(1) + OFF_REQ_CONS, get_u32(rec + OFF_QUEUE(1) + OFF_REQ_CONS) + 40);
	put_u32(rec + OFF_QUEUE(1) + OFF_RSP_PROD_PVT, get_u32(rec + OFF_QUEUE(1) + OFF_RSP_PROD_PVT) + 40);
	expect_refused(rec, len, EPROTO, "disk 0 queue 1: the ring's published rsp_prod is 3, not the saved "
		       "rsp_prod_pvt 43", "indices past the ring's");
	memcpy(rec, saved.p, len);
	put_u32(rec + OFF_QUEUE(0) + OFF_REQ_CONS, get_u32(rec + OFF_QUEUE(0) + OFF_REQ_CONS) - 1);
	expect_refused(rec, len, EPROTO, "disk 0 queue 0: the saved ring has 4294967295 request(s) taken "
		       "and not answered", "req_cons behind rsp_prod_pvt");
	__atomic_store_n(&ring_of(B, 1)->h.req_prod, 3 + 33, __ATOMIC_RELEASE);
	expect_refused(saved.p, len, EPROTO, "disk 0 queue 1: the ring's req_prod 36 is not within 32 "
		       "requests past the saved req_cons 3", "req_prod past the ring");
	__atomic_store_n(&ring_of(B, 1)->h.req_prod, 3, __ATOMIC_RELEASE);

	/* Malformed: another version, a state not fitting the queues, trailing bytes, any prefix. */
	memcpy(rec, saved.p, len);
	rec[0] = 2;
	expect_refused(rec, len, EPROTO, "saved state of version 2; this build reads version 1", "version 2");
	memcpy(rec, saved.p, len);
	rec[OFF_STATE] = XenbusStateInitWait;
	expect_refused(rec, len, EPROTO, "saved with 2 queue(s) connected and xenbus state 2",
		       "state InitWait");
	memcpy(rec, saved.p, len);
	rec[OFF_STATE] = 9;
	expect_refused(rec, len, EPROTO, "saved xenbus state 9 is not a XenbusState", "state 9");
	memcpy(rec, saved.p, len);
	rec[OFF_QUEUE(0)] = 0; /* queue 0 not connected, queue 1 connected */
	expect_refused(rec, len, EPROTO, "is not connected, yet its saved port", "queue 0 half-saved");
	memcpy(rec, saved.p, len);
	rec[len] = 0;
	expect_refused(rec, len + 1, EPROTO, "disk 0: 1 byte(s) after the end of the saved state",
		       "a byte more");
	for (size_t n = 0; n < len; n++) {
		char what[48];

		snprintf(what, sizeof(what), "the first %zu bytes", n);
		expect_refused(saved.p, n, EPROTO, "is cut short", what);
	}

	/* The refusals left nothing in the way: the record as saved restores, and the disk serves. */
	if (device_restore(vbd0(B), saved.p, len, &eb) < 0)
		fail_msg("restore after the refusals: %s", eb.msg);
	assert_int_equal(device_resume(vbd0(B), &eb), 0);
	guest_read(B, 0, 0x105, 40);
	guest_read(B, 1, 0x203, 64);
	free(rec);
}

/* A disk the frontend never connected saves as such, and restores to a disk that waits for it. */
static void test_an_unconnected_disk_saves_and_restores_waiting_for_its_frontend(void **state)
{
	struct errbuf eb;
	int xb;
	bool connected;

	(void)state;
	A = make_domain();
	assert_int_equal(device_quiesce(vbd0(A), SOON, &eb), 0);
	assert_int_equal(device_save(vbd0(A), &saved, &eb), 0);
	assert_int_equal(saved.len, OFF_QUEUE(NQ));
	assert_int_equal(saved.p[OFF_STATE], XenbusStateInitWait);
	domain_destroy(A);
	A = NULL;
	B = make_domain();
	if (device_restore(vbd0(B), saved.p, saved.len, &eb) < 0)
		fail_msg("restore: %s", eb.msg);
	assert_int_equal(device_resume(vbd0(B), &eb), 0);
	disk_json(B, 0, &xb, &connected);
	assert_int_equal(xb, XenbusStateInitWait);
	assert_false(connected);
	/* The frontend connects as at a boot. */
	guest_connect(B);
	guest_read(B, 0, 0x1, 8);
}

int main(void)
{
#define T(t) cmocka_unit_test_teardown(t, end_test)
	struct CMUnitTest tests[] = {
		T(test_a_restored_disk_serves_the_guests_next_requests_at_the_saved_indices),
		T(test_a_saved_state_that_does_not_fit_is_refused_with_nothing_left_bound),
		T(test_an_unconnected_disk_saves_and_restores_waiting_for_its_frontend),
	};
#undef T

	return TEST_RUN_GROUP(tests, setup, teardown);
}
