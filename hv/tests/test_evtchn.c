// SPDX-License-Identifier: MIT
/*
 * unit tier: event channels (hv/evtchn.c) through event_channel_op and
 * sched_op poll, made on an unbacked domain's vCPUs as a guest's would
 * arrive, with the backend side (evtchn_backend_*) and the VMM's VIRQs
 * (evtchn_send_virq) called from the test.  The pending, mask and selector
 * bits are read from the domain's shared_info, where the guest reads them.
 */
#include <errno.h>
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
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "domain.h"
#include "loopback.h"
#include "unbacked.h"
#include "xenith/xs_wire.h"
#include "xsdomain.h"

#define NR_VCPUS 2u

static struct domain *D;

/* Every vCPU up, as in a running guest (a vCPU that is down gets -EINTR from a poll). */
static void all_up(void)
{
	for (unsigned i = 0; i < NR_VCPUS; i++)
		atomic_store(&D->vcpus[i].up, true);
}

static int setup(void **state)
{
	(void)state;
	D = unbacked_domain(NR_VCPUS, NULL, false);
	all_up();
	return 0;
}

static int setup_with_test_hooks(void **state)
{
	(void)state;
	D = unbacked_domain(NR_VCPUS, NULL, true);
	all_up();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (D)
		domain_destroy(D); /* stops a loopback backend too */
	D = NULL;
	return 0;
}

/* ---- the guest's side ---- */

/* Where the guest puts a hypercall's argument struct: the first free page. */
static uint64_t arg_gpa(void)
{
	return D->layout.free_start;
}

static void *arg(void)
{
	return D->mem + arg_gpa();
}

static long evtchn_op_at(unsigned vcpu, uint64_t cmd, uint64_t gpa)
{
	return unbacked_call(&D->vcpus[vcpu], __HYPERVISOR_event_channel_op, cmd, gpa, 0, 0, 0);
}

/* event_channel_op(cmd, &in) with in copied to guest memory first; the struct is read back into in. */
static long guest_evtchn_op(uint64_t cmd, void *in, size_t len)
{
	long r;

	memcpy(arg(), in, len);
	r = evtchn_op_at(0, cmd, arg_gpa());
	memcpy(in, arg(), len);
	return r;
}

/* The new port, or the error. */
static long alloc_unbound_as(uint16_t dom, uint16_t remote)
{
	struct evtchn_alloc_unbound a = { .dom = dom, .remote_dom = remote, .port = 0xdead };
	long r = guest_evtchn_op(EVTCHNOP_alloc_unbound, &a, sizeof(a));

	return r < 0 ? r : (long)a.port;
}

static long alloc_unbound(void)
{
	return alloc_unbound_as(XENITH_DOMID_SELF, XENITH_BACKEND_DOMID);
}

static long bind_virq(uint32_t virq, uint32_t vcpu)
{
	struct evtchn_bind_virq b = { .virq = virq, .vcpu = vcpu, .port = 0xdead };
	long r = guest_evtchn_op(EVTCHNOP_bind_virq, &b, sizeof(b));

	return r < 0 ? r : (long)b.port;
}

static long port_op(uint64_t cmd, uint32_t port)
{
	return guest_evtchn_op(cmd, &port, sizeof(port));
}

static long status_of(uint32_t port, struct evtchn_status *st)
{
	*st = (struct evtchn_status){ .dom = XENITH_DOMID_SELF, .port = port, .status = 0xdead };
	return guest_evtchn_op(EVTCHNOP_status, st, sizeof(*st));
}

static long bind_vcpu(uint32_t port, uint32_t vcpu)
{
	struct evtchn_bind_vcpu b = { .port = port, .vcpu = vcpu };

	return guest_evtchn_op(EVTCHNOP_bind_vcpu, &b, sizeof(b));
}

static bool pending(uint32_t port)
{
	return __atomic_load_n(&D->shared->evtchn_pending[port / 64], __ATOMIC_SEQ_CST) & (1ull << (port % 64));
}

static void set_mask(uint32_t port)
{
	__atomic_fetch_or(&D->shared->evtchn_mask[port / 64], 1ull << (port % 64), __ATOMIC_SEQ_CST);
}

static bool masked(uint32_t port)
{
	return D->shared->evtchn_mask[port / 64] & (1ull << (port % 64));
}

static uint64_t selector(unsigned vcpu)
{
	return __atomic_load_n(&D->shared->vcpu_info[vcpu].evtchn_pending_sel, __ATOMIC_SEQ_CST);
}

static uint8_t upcall(unsigned vcpu)
{
	return __atomic_load_n(&D->shared->vcpu_info[vcpu].evtchn_upcall_pending, __ATOMIC_SEQ_CST);
}

/* What a guest's handler does once it has seen the events: every bit back to 0. */
static void clear_events(void)
{
	memset(D->shared->evtchn_pending, 0, sizeof(D->shared->evtchn_pending));
	for (unsigned v = 0; v < NR_VCPUS; v++) {
		D->shared->vcpu_info[v].evtchn_pending_sel = 0;
		D->shared->vcpu_info[v].evtchn_upcall_pending = 0;
	}
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- allocation and status ---- */

static void test_alloc_unbound_hands_out_the_lowest_free_port_and_status_reports_it(void **state)
{
	struct evtchn_status st;

	(void)state;
	/* 0 is reserved, 1 is the console's and 2 the store's */
	assert_int_equal(alloc_unbound(), 3);
	assert_int_equal(alloc_unbound_as(7 /* the domain's own id */, XENITH_BACKEND_DOMID), 4);
	assert_int_equal(status_of(3, &st), 0);
	assert_int_equal(st.status, EVTCHNSTAT_unbound);
	assert_int_equal(st.u.remote_dom, XENITH_BACKEND_DOMID);
	assert_int_equal(st.vcpu, 0);
	assert_int_equal(status_of(EVTCHN_CONSOLE_PORT, &st), 0);
	assert_int_equal(st.status, EVTCHNSTAT_xenith);
	assert_int_equal(status_of(EVTCHN_XENSTORE_PORT, &st), 0);
	assert_int_equal(st.status, EVTCHNSTAT_xenith);
	assert_int_equal(status_of(5, &st), 0);
	assert_int_equal(st.status, EVTCHNSTAT_closed);
	/* closed ports are handed out again, lowest first */
	assert_int_equal(port_op(EVTCHNOP_close, 3), 0);
	assert_int_equal(status_of(3, &st), 0);
	assert_int_equal(st.status, EVTCHNSTAT_closed);
	assert_int_equal(alloc_unbound(), 3);
	assert_int_equal(alloc_unbound(), 5);
}

static void test_alloc_unbound_and_status_only_for_this_domain_and_the_vmms_backends(void **state)
{
	struct evtchn_status st = { .dom = 5, .port = 2 };

	(void)state;
	assert_int_equal(alloc_unbound_as(5, XENITH_BACKEND_DOMID), -XEN_EPERM);
	assert_int_equal(alloc_unbound_as(XENITH_DOMID_SELF, 3), -XEN_ESRCH);
	assert_int_equal(alloc_unbound_as(XENITH_DOMID_SELF, XENITH_DOMID_SELF), -XEN_ESRCH);
	assert_int_equal(guest_evtchn_op(EVTCHNOP_status, &st, sizeof(st)), -XEN_EPERM);
	/* none of them spent a port */
	assert_int_equal(alloc_unbound(), 3);
}

static void test_ports_run_out_with_enospc_and_a_closed_one_is_reused(void **state)
{
	long p, last = 0, n = 0;

	(void)state;
	while ((p = alloc_unbound()) > 0) {
		assert_int_equal(p, last ? last + 1 : 3); /* in order, none skipped or given twice */
		last = p;
		n++;
		assert_true(n < (long)XENITH_NR_EVTCHN); /* it stops */
	}
	assert_int_equal(p, -XEN_ENOSPC);
	assert_int_equal(n, XENITH_NR_EVTCHN - 3); /* all but 0 and the VMM's two */
	assert_int_equal(last, XENITH_NR_EVTCHN - 1);
	assert_int_equal(bind_virq(VIRQ_TIMER, 0), -XEN_ENOSPC);
	assert_int_equal(D->evtchn.virq_port[VIRQ_TIMER], 0); /* the failed bind left nothing behind */
	assert_int_equal(port_op(EVTCHNOP_close, 500), 0);
	assert_int_equal(bind_virq(VIRQ_TIMER, 0), 500);
	assert_int_equal(alloc_unbound(), -XEN_ENOSPC);
}

/* ---- ports out of range, closed ports, bad pointers ---- */

static void test_ports_out_of_range_are_einval_and_touch_no_event_bits(void **state)
{
	static const uint32_t bad[] = { XENITH_NR_EVTCHN, XENITH_NR_EVTCHN + 1, XENITH_NR_EVTCHN + 64,
					0x10000, UINT32_MAX };
	static const uint64_t port_cmds[] = { EVTCHNOP_send, EVTCHNOP_close, EVTCHNOP_unmask };
	struct xenith_shared_info before;
	struct evtchn_status st;

	(void)state;
	memcpy(&before, D->shared, sizeof(before));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (size_t k = 0; k < sizeof(port_cmds) / sizeof(port_cmds[0]); k++)
			if (port_op(port_cmds[k], bad[i]) != -XEN_EINVAL)
				fail_msg("event_channel_op %llu on port %u: %ld, not -EINVAL",
					 (unsigned long long)port_cmds[k], bad[i], port_op(port_cmds[k], bad[i]));
		assert_int_equal(status_of(bad[i], &st), -XEN_EINVAL);
		assert_int_equal(bind_vcpu(bad[i], 0), -XEN_EINVAL);
	}
	/* port 0: reserved, never valid (unmask takes it, as abi.h says) */
	assert_int_equal(port_op(EVTCHNOP_send, 0), -XEN_EINVAL);
	assert_int_equal(port_op(EVTCHNOP_close, 0), -XEN_EINVAL);
	assert_int_equal(status_of(0, &st), -XEN_EINVAL);
	assert_int_equal(bind_vcpu(0, 0), -XEN_EINVAL);
	assert_int_equal(port_op(EVTCHNOP_unmask, 0), 0);
	/* the words past the bitmaps (tsc_khz, wall clock, control_request) and the bitmaps as they were */
	assert_memory_equal(&before, D->shared, sizeof(before));
}

static void test_ports_not_open_are_refused_and_the_vmms_own_cannot_be_closed(void **state)
{
	long p;

	(void)state;
	assert_int_equal(port_op(EVTCHNOP_send, 9), -XEN_EINVAL);
	assert_int_equal(port_op(EVTCHNOP_close, 9), -XEN_EINVAL);
	assert_int_equal(bind_vcpu(9, 1), -XEN_EINVAL);
	assert_int_equal(port_op(EVTCHNOP_close, EVTCHN_CONSOLE_PORT), -XEN_EPERM);
	assert_int_equal(D->evtchn.port[EVTCHN_CONSOLE_PORT].kind, EVTCHN_CONSOLE);
	assert_int_equal(port_op(EVTCHNOP_close, EVTCHN_XENSTORE_PORT), -XEN_EPERM);
	assert_int_equal(D->evtchn.port[EVTCHN_XENSTORE_PORT].kind, EVTCHN_XENSTORE);
	p = alloc_unbound();
	assert_int_equal(port_op(EVTCHNOP_send, (uint32_t)p), 0); /* nobody listens yet, as in Xen */
	assert_false(pending((uint32_t)p));
	assert_int_equal(port_op(EVTCHNOP_close, (uint32_t)p), 0);
	assert_int_equal(port_op(EVTCHNOP_close, (uint32_t)p), -XEN_EINVAL);
	assert_int_equal(port_op(EVTCHNOP_send, (uint32_t)p), -XEN_EINVAL);
}

static void test_argument_pointers_outside_memory_get_efault_and_spend_no_port(void **state)
{
	static const uint64_t cmds[] = { EVTCHNOP_bind_virq, EVTCHNOP_close, EVTCHNOP_send, EVTCHNOP_status,
					 EVTCHNOP_alloc_unbound, EVTCHNOP_bind_vcpu, EVTCHNOP_unmask };
	const uint64_t where[] = { D->mem_size - 2 /* straddles the end */, D->mem_size, D->mem_size + 4096,
				   1ull << 63, UINT64_MAX - 1 };

	(void)state;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		for (size_t k = 0; k < sizeof(where) / sizeof(where[0]); k++)
			if (evtchn_op_at(0, cmds[i], where[k]) != -XEN_EFAULT)
				fail_msg("event_channel_op %llu with its argument at %#llx: %ld, not -EFAULT",
					 (unsigned long long)cmds[i], (unsigned long long)where[k],
					 evtchn_op_at(0, cmds[i], where[k]));
	assert_int_equal(alloc_unbound(), 3);
	assert_int_equal(bind_virq(VIRQ_TIMER, 0), 4);
}

static void test_unknown_event_channel_commands_are_enosys(void **state)
{
	static const uint64_t cmds[] = { 0, 2 /* bind_interdomain: not served */, 7, 10, 11, 1000,
					 (1ull << 32) | EVTCHNOP_send };

	(void)state;
	memset(arg(), 0, 64);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		assert_int_equal(evtchn_op_at(0, cmds[i], arg_gpa()), -XEN_ENOSYS);
}

/* The console's port: a send drains the ring (console_drain_ring, tested in test_console.c). */
static void test_a_send_on_the_console_port_drains_the_ring_or_refuses_its_indices(void **state)
{
	struct xenith_console_ring *r = D->cons_ring;

	(void)state;
	assert_non_null(r);
	memcpy(r->out, "hi\n", 3);
	__atomic_store_n(&r->out_prod, 3, __ATOMIC_RELEASE);
	assert_int_equal(port_op(EVTCHNOP_send, EVTCHN_CONSOLE_PORT), 0);
	assert_int_equal(r->out_cons, 3);
	assert_int_equal(D->console.bytes, 3);
	__atomic_store_n(&r->out_prod, 3 + XENITH_CONS_OUT_SIZE + 1, __ATOMIC_RELEASE);
	assert_int_equal(port_op(EVTCHNOP_send, EVTCHN_CONSOLE_PORT), -XEN_EINVAL);
	assert_int_equal(r->out_cons, 3);
	assert_int_equal(D->console.bytes, 3);
	assert_false(pending(EVTCHN_CONSOLE_PORT)); /* a send is for the VMM */
}

/* ---- the store's port (xsdomain.c): a send processes the ring on the sender's thread ---- */

static struct xenstore_domain_interface *store_ring(void)
{
	return (void *)(D->mem + D->layout.xenstore);
}

/* The guest's side: one request (header and payload) onto the ring at its producer index. */
static void put_request(uint32_t type, uint32_t req_id, const void *payload, uint32_t len)
{
	struct xenstore_domain_interface *r = store_ring();
	struct xsd_sockmsg h = { .type = type, .req_id = req_id, .len = len };
	uint32_t prod = r->req_prod;
	const uint8_t *src[2] = { (const uint8_t *)&h, payload };
	uint32_t n[2] = { sizeof(h), len };

	for (int k = 0; k < 2; k++)
		for (uint32_t i = 0; i < n[k]; i++, prod++)
			r->req[MASK_XENSTORE_IDX(prod)] = (char)src[k][i];
	__atomic_store_n(&r->req_prod, prod, __ATOMIC_RELEASE);
}

/* The next message on the response ring: its header, and its payload into buf (NUL-terminated). */
static bool get_message(struct xsd_sockmsg *h, char *buf, size_t size)
{
	struct xenstore_domain_interface *r = store_ring();
	uint32_t cons = r->rsp_cons, prod = __atomic_load_n(&r->rsp_prod, __ATOMIC_ACQUIRE);
	uint8_t *dst = (uint8_t *)h;

	if (prod - cons < sizeof(*h))
		return false;
	for (uint32_t i = 0; i < sizeof(*h); i++)
		dst[i] = (uint8_t)r->rsp[MASK_XENSTORE_IDX(cons + i)];
	assert_true(h->len < size && prod - cons >= sizeof(*h) + h->len);
	for (uint32_t i = 0; i < h->len; i++)
		buf[i] = r->rsp[MASK_XENSTORE_IDX(cons + sizeof(*h) + i)];
	buf[h->len] = 0;
	__atomic_store_n(&r->rsp_cons, cons + (uint32_t)sizeof(*h) + h->len, __ATOMIC_RELEASE);
	return true;
}

static void test_start_info_names_the_store_ring_and_port(void **state)
{
	const struct xenith_start_info *si = (const void *)(D->mem + D->layout.start_info);

	(void)state;
	assert_int_equal(si->store_evtchn, EVTCHN_XENSTORE_PORT);
	assert_int_equal(si->store_ring, D->layout.xenstore);
	/* a page of its own the guest may write, outside the boot pages and free memory */
	assert_int_equal(D->layout.xenstore % XENITH_PAGE_SIZE, 0);
	assert_non_null(domain_gpa_writable(D, D->layout.xenstore, XENITH_PAGE_SIZE));
	assert_true(D->layout.xenstore < D->layout.image_start);
	assert_true(D->layout.xenstore != D->layout.console && D->layout.xenstore != D->layout.shared_info);
}

static void test_a_send_on_the_store_port_answers_the_request_on_the_ring(void **state)
{
	struct xenstore_domain_interface *r = store_ring();
	struct xsd_sockmsg h;
	char buf[256];

	(void)state;
	put_request(XS_READ, 77, "name", 5);
	assert_false(get_message(&h, buf, sizeof(buf))); /* nothing until the guest sends */
	assert_int_equal(port_op(EVTCHNOP_send, EVTCHN_XENSTORE_PORT), 0);
	/* answered before the send returned: the request consumed, the reply there, the guest told */
	assert_int_equal(r->req_cons, r->req_prod);
	assert_true(get_message(&h, buf, sizeof(buf)));
	assert_int_equal(h.type, XS_READ);
	assert_int_equal(h.req_id, 77);
	assert_string_equal(buf, "unit"); /* the domain's name, relative to its home */
	assert_true(pending(EVTCHN_XENSTORE_PORT));
	/* an error comes back as Xen's errno name */
	clear_events();
	put_request(XS_READ, 78, "/local/domain/0/name", 21);
	assert_int_equal(port_op(EVTCHNOP_send, EVTCHN_XENSTORE_PORT), 0);
	assert_true(get_message(&h, buf, sizeof(buf)));
	assert_int_equal(h.type, XS_ERROR);
	assert_int_equal(h.req_id, 78);
	assert_string_equal(buf, "EACCES");
	assert_true(pending(EVTCHN_XENSTORE_PORT));
	/* a send with nothing on the ring writes nothing and raises nothing */
	clear_events();
	assert_int_equal(port_op(EVTCHNOP_send, EVTCHN_XENSTORE_PORT), 0);
	assert_false(get_message(&h, buf, sizeof(buf)));
	assert_false(pending(EVTCHN_XENSTORE_PORT));
}

static void test_a_store_ring_with_impossible_indices_makes_every_send_einval(void **state)
{
	struct xenstore_domain_interface *r = store_ring();
	struct xsd_sockmsg h;
	char buf[64];

	(void)state;
	__atomic_store_n(&r->req_prod, r->req_cons + XENSTORE_RING_SIZE + 1, __ATOMIC_RELEASE);
	assert_int_equal(port_op(EVTCHNOP_send, EVTCHN_XENSTORE_PORT), -XEN_EINVAL);
	assert_int_not_equal(r->error, XENSTORE_ERROR_NONE);
	/* the ring stays dead, even once the indices look sane again */
	__atomic_store_n(&r->req_prod, r->req_cons, __ATOMIC_RELEASE);
	put_request(XS_READ, 1, "name", 5);
	assert_int_equal(port_op(EVTCHNOP_send, EVTCHN_XENSTORE_PORT), -XEN_EINVAL);
	assert_false(get_message(&h, buf, sizeof(buf)));
}

static void test_a_vmm_write_fires_the_guests_watch_through_the_store_port(void **state)
{
	struct xsd_sockmsg h;
	char buf[256];

	(void)state;
	put_request(XS_WATCH, 5, "data/k\0tok", 11);
	assert_int_equal(port_op(EVTCHNOP_send, EVTCHN_XENSTORE_PORT), 0);
	/* the reply and the event the watch fires when set, in either order */
	for (int i = 0; i < 2; i++) {
		assert_true(get_message(&h, buf, sizeof(buf)));
		assert_true(h.type == XS_WATCH || h.type == XS_WATCH_EVENT);
	}
	clear_events();
	assert_int_equal(xsdomain_write(D, "/local/domain/7/data/k", "v"), 0);
	/* no send from the guest: the VMM's write itself puts the event out and raises the port */
	assert_true(pending(EVTCHN_XENSTORE_PORT));
	assert_int_equal(upcall(0), 1);
	assert_true(get_message(&h, buf, sizeof(buf)));
	assert_int_equal(h.type, XS_WATCH_EVENT);
	assert_string_equal(buf, "data/k"); /* as the watch named it; then the token */
	assert_string_equal(buf + strlen(buf) + 1, "tok");
}

static void test_the_store_writes_no_guest_memory_once_the_connection_is_gone(void **state)
{
	struct xenstore_domain_interface *r = store_ring();
	struct xsd_sockmsg h;
	char buf[64];
	uint32_t prod;

	(void)state;
	put_request(XS_WATCH, 5, "data/k\0tok", 11);
	assert_int_equal(port_op(EVTCHNOP_send, EVTCHN_XENSTORE_PORT), 0);
	while (get_message(&h, buf, sizeof(buf)))
		;
	clear_events();
	prod = r->rsp_prod;
	xsdomain_disconnect(D); /* what a teardown does before guest memory goes */
	assert_int_equal(xsdomain_write(D, "/local/domain/7/data/k", "v"), 0);
	assert_int_equal(r->rsp_prod, prod);
	assert_false(pending(EVTCHN_XENSTORE_PORT));
	assert_int_equal(port_op(EVTCHNOP_send, EVTCHN_XENSTORE_PORT), -XEN_EINVAL);
}

/* ---- VIRQs, pending and mask bits, vCPU binding ---- */

static void test_virq_is_bound_once_and_raised_on_its_vcpu(void **state)
{
	struct evtchn_status st;
	long p;

	(void)state;
	assert_int_equal(bind_virq(XENITH_NR_VIRQS, 0), -XEN_EINVAL);
	assert_int_equal(bind_virq(UINT32_MAX, 0), -XEN_EINVAL);
	assert_int_equal(bind_virq(VIRQ_CONTROL, NR_VCPUS), -XEN_EINVAL);
	assert_false(evtchn_send_virq(D, VIRQ_CONTROL)); /* not bound: nobody to tell */
	assert_false(evtchn_send_virq(D, XENITH_NR_VIRQS));
	p = bind_virq(VIRQ_CONTROL, 1);
	assert_int_equal(p, 3);
	assert_int_equal(bind_virq(VIRQ_CONTROL, 0), -XEN_EEXIST);
	assert_int_equal(status_of((uint32_t)p, &st), 0);
	assert_int_equal(st.status, EVTCHNSTAT_virq);
	assert_int_equal(st.u.virq, VIRQ_CONTROL);
	assert_int_equal(st.vcpu, 1);

	assert_true(evtchn_send_virq(D, VIRQ_CONTROL));
	assert_true(pending((uint32_t)p));
	assert_int_equal(selector(1), 1ull << (p / 64));
	assert_int_equal(upcall(1), 1);
	assert_int_equal(selector(0), 0); /* the other vCPU is not bothered */
	assert_int_equal(upcall(0), 0);

	/* closed: the VMM has nobody to tell, and the VIRQ may be bound again */
	clear_events();
	assert_int_equal(port_op(EVTCHNOP_close, (uint32_t)p), 0);
	assert_false(evtchn_send_virq(D, VIRQ_CONTROL));
	assert_false(pending((uint32_t)p));
	assert_int_equal(bind_virq(VIRQ_CONTROL, 0), p);
}

static void test_masked_port_is_marked_pending_but_raises_nothing_until_unmasked(void **state)
{
	uint32_t p;

	(void)state;
	p = (uint32_t)bind_virq(VIRQ_TIMER, 0);
	assert_int_equal(p, 3);
	set_mask(p);
	assert_int_equal(port_op(EVTCHNOP_send, p), 0); /* a guest may raise its own VIRQ port */
	assert_true(pending(p));   /* pollers see it */
	assert_int_equal(selector(0), 0);
	assert_int_equal(upcall(0), 0);
	assert_int_equal(port_op(EVTCHNOP_unmask, p), 0);
	assert_false(masked(p));
	assert_int_equal(selector(0), 1ull << (p / 64));
	assert_int_equal(upcall(0), 1);
	/* unmasking a port that is not pending raises nothing */
	clear_events();
	set_mask(p);
	assert_int_equal(port_op(EVTCHNOP_unmask, p), 0);
	assert_int_equal(upcall(0), 0);
	assert_int_equal(selector(0), 0);
}

static void test_a_port_still_pending_is_not_raised_again(void **state)
{
	uint32_t p;

	(void)state;
	p = (uint32_t)bind_virq(VIRQ_TIMER, 0);
	assert_true(evtchn_send_virq(D, VIRQ_TIMER));
	assert_int_equal(upcall(0), 1);
	/* the guest took the upcall but has not cleared the port's bit yet */
	D->shared->vcpu_info[0].evtchn_upcall_pending = 0;
	D->shared->vcpu_info[0].evtchn_pending_sel = 0;
	assert_true(evtchn_send_virq(D, VIRQ_TIMER));
	assert_true(pending(p));
	assert_int_equal(upcall(0), 0);
	assert_int_equal(selector(0), 0);
	/* once it cleared the bit, the next one is raised */
	clear_events();
	assert_true(evtchn_send_virq(D, VIRQ_TIMER));
	assert_int_equal(upcall(0), 1);
}

static void test_bind_vcpu_moves_a_ports_notifications_to_that_vcpu(void **state)
{
	struct evtchn_status st;
	uint32_t p;

	(void)state;
	p = (uint32_t)bind_virq(VIRQ_TIMER, 0);
	assert_int_equal(bind_vcpu(p, NR_VCPUS), -XEN_EINVAL);
	assert_int_equal(bind_vcpu(p, 1), 0);
	assert_int_equal(status_of(p, &st), 0);
	assert_int_equal(st.vcpu, 1);
	assert_true(evtchn_send_virq(D, VIRQ_TIMER));
	assert_int_equal(upcall(1), 1);
	assert_int_equal(selector(1), 1ull << (p / 64));
	assert_int_equal(upcall(0), 0);
	assert_int_equal(selector(0), 0);
	/* a port in the second word of the bitmaps sets the selector's second bit */
	clear_events();
	for (long q = 4; q < 66; q++)
		assert_int_equal(alloc_unbound(), q);
	assert_int_equal(bind_virq(VIRQ_CONTROL, 1), 66);
	assert_true(evtchn_send_virq(D, VIRQ_CONTROL));
	assert_true(pending(66));
	assert_int_equal(selector(1), 1ull << 1);
	assert_int_equal(selector(0), 0);
}

/* ---- a backend in the VMM (interdomain) ---- */

static uint64_t kicks(int efd)
{
	uint64_t n = 0;

	if (read(efd, &n, sizeof(n)) != sizeof(n))
		return 0; /* EAGAIN: none */
	return n;
}

static void test_backend_port_gets_the_guests_sends_and_notifies_it(void **state)
{
	struct evtchn_status st;
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), other = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	uint32_t p, v;

	(void)state;
	assert_true(efd >= 0 && other >= 0);
	p = (uint32_t)alloc_unbound();
	v = (uint32_t)bind_virq(VIRQ_TIMER, 0);
	assert_int_equal(evtchn_backend_bind(D, v, efd), -EINVAL);  /* not an unbound port */
	assert_int_equal(evtchn_backend_bind(D, EVTCHN_CONSOLE_PORT, efd), -EINVAL);
	assert_int_equal(evtchn_backend_bind(D, EVTCHN_XENSTORE_PORT, efd), -EINVAL);
	assert_int_equal(evtchn_backend_bind(D, 9, efd), -EINVAL);  /* closed */
	assert_int_equal(evtchn_backend_bind(D, XENITH_NR_EVTCHN, efd), -EINVAL);
	assert_int_equal(evtchn_backend_bind(D, p, efd), 0);
	assert_int_equal(evtchn_backend_bind(D, p, other), -EBUSY);
	assert_int_equal(status_of(p, &st), 0);
	assert_int_equal(st.status, EVTCHNSTAT_interdomain);
	assert_int_equal(st.u.remote_dom, XENITH_BACKEND_DOMID);

	/* guest -> backend: each send writes the kick eventfd */
	assert_int_equal(kicks(efd), 0);
	assert_int_equal(port_op(EVTCHNOP_send, p), 0);
	assert_int_equal(port_op(EVTCHNOP_send, p), 0);
	assert_int_equal(kicks(efd), 2);
	assert_false(pending(p)); /* a send is for the backend, not the guest */
	/* backend -> guest */
	assert_false(evtchn_backend_notify(D, p, other)); /* not this backend's */
	assert_false(pending(p));
	assert_true(evtchn_backend_notify(D, p, efd));
	assert_true(pending(p));
	assert_int_equal(upcall(0), 1);

	/* the backend lets go: the port waits for another, sends reach nobody */
	evtchn_backend_unbind(D, p, other); /* not its own: nothing happens */
	assert_int_equal(status_of(p, &st), 0);
	assert_int_equal(st.status, EVTCHNSTAT_interdomain);
	evtchn_backend_unbind(D, p, efd);
	assert_int_equal(status_of(p, &st), 0);
	assert_int_equal(st.status, EVTCHNSTAT_unbound);
	assert_int_equal(port_op(EVTCHNOP_send, p), 0);
	assert_int_equal(kicks(efd), 0);
	assert_false(evtchn_backend_notify(D, p, efd));

	/* bound again, then closed by the guest: the backend is kicked to notice */
	clear_events();
	assert_int_equal(evtchn_backend_bind(D, p, other), 0);
	assert_int_equal(port_op(EVTCHNOP_close, p), 0);
	assert_int_equal(kicks(other), 1);
	assert_false(evtchn_backend_notify(D, p, other));
	assert_false(pending(p));
	assert_int_equal(status_of(p, &st), 0);
	assert_int_equal(st.status, EVTCHNSTAT_closed);
	close(efd);
	close(other);
}

/* ---- sched_op poll ---- */

static long poll_ports(unsigned vcpu, const uint32_t *ports, uint32_t n, uint64_t timeout_ns)
{
	uint64_t list = arg_gpa() + 2048 + vcpu * 512;
	struct sched_poll sp = { .ports = list, .nr_ports = n, .timeout_ns = timeout_ns };
	uint64_t at = arg_gpa() + vcpu * 64;

	memcpy(D->mem + list, ports, n * sizeof(*ports));
	memcpy(D->mem + at, &sp, sizeof(sp));
	return unbacked_call(&D->vcpus[vcpu], __HYPERVISOR_sched_op, SCHEDOP_poll, at, 0, 0, 0);
}

static void test_poll_validates_its_ports_and_returns_for_a_pending_one(void **state)
{
	uint32_t ports[SCHED_POLL_MAX_PORTS + 1];
	struct sched_poll sp;
	uint32_t p;

	(void)state;
	p = (uint32_t)bind_virq(VIRQ_TIMER, 0);
	for (unsigned i = 0; i <= SCHED_POLL_MAX_PORTS; i++)
		ports[i] = p;
	assert_int_equal(poll_ports(0, ports, SCHED_POLL_MAX_PORTS + 1, 1000), -XEN_EINVAL);
	assert_int_equal(poll_ports(0, ports, 0, 0), -XEN_EINVAL); /* sleep forever: no */
	ports[1] = XENITH_NR_EVTCHN;
	assert_int_equal(poll_ports(0, ports, 2, 1000), -XEN_EINVAL);
	ports[1] = p;
	/* the port list outside memory */
	sp = (struct sched_poll){ .ports = D->mem_size - 4, .nr_ports = 2, .timeout_ns = 1000 };
	memcpy(arg(), &sp, sizeof(sp));
	assert_int_equal(unbacked_call(&D->vcpus[0], __HYPERVISOR_sched_op, SCHEDOP_poll, arg_gpa(), 0, 0, 0),
			 -XEN_EFAULT);
	assert_int_equal(unbacked_call(&D->vcpus[0], __HYPERVISOR_sched_op, SCHEDOP_poll, D->mem_size, 0, 0, 0),
			 -XEN_EFAULT);
	/* nothing pending: the timeout */
	assert_int_equal(poll_ports(0, ports, 1, 1000000), -XEN_ETIMEDOUT);
	assert_int_equal(poll_ports(0, ports, 0, 1000000), -XEN_ETIMEDOUT); /* a plain sleep */
	/* pending, even masked: at once (a day's timeout would fail the test by meson's) */
	set_mask(p);
	assert_true(evtchn_send_virq(D, VIRQ_TIMER));
	assert_int_equal(poll_ports(0, ports, 1, 86400ull * 1000000000ull), 0);
	assert_int_equal(D->evtchn.nr_polling, 0);
	assert_false(D->vcpus[0].blocked);
	/* a vCPU being taken down does not sleep */
	clear_events();
	atomic_store(&D->vcpus[1].up, false);
	assert_int_equal(poll_ports(1, ports, 1, 86400ull * 1000000000ull), -XEN_EINTR);
}

struct poller {
	unsigned vcpu;
	uint32_t port;
	long ret;
	atomic_bool done;
	pthread_t thread;
};

static void *poll_thread(void *a)
{
	struct poller *p = a;

	p->ret = poll_ports(p->vcpu, &p->port, 1, 0); /* no timeout: only a wake-up ends it */
	atomic_store(&p->done, true);
	return NULL;
}

static void poller_start(struct poller *p, unsigned vcpu, uint32_t port)
{
	p->vcpu = vcpu;
	p->port = port;
	p->ret = 1;
	atomic_store(&p->done, false);
	assert_int_equal(pthread_create(&p->thread, NULL, poll_thread, p), 0);
}

/*
 * Joins p.  If its poll has not returned 30 s from now (a wake-up takes
 * microseconds; 30 s is for a loaded host), the wake-up was lost: its vCPU
 * is taken down, which ends the poll, and the test fails.
 */
static void poller_finish(struct poller *p, const char *what)
{
	for (uint64_t end = mono_ns() + 30000000000ull; !atomic_load(&p->done) && mono_ns() < end;)
		usleep(100);
	if (!atomic_load(&p->done)) {
		pthread_mutex_lock(&D->lock);
		atomic_store(&D->vcpus[p->vcpu].up, false);
		pthread_cond_broadcast(&D->vcpus[p->vcpu].wake);
		pthread_mutex_unlock(&D->lock);
		pthread_join(p->thread, NULL);
		fail_msg("%s: the poll on vCPU %u was not woken within 30 s", what, p->vcpu);
	}
	pthread_join(p->thread, NULL);
}

/* True once vCPU vcpu sleeps in a poll (d->lock), within 10 s. */
static bool wait_polling(unsigned vcpu)
{
	for (uint64_t end = mono_ns() + 10000000000ull; mono_ns() < end; usleep(1000)) {
		bool in;

		pthread_mutex_lock(&D->lock);
		in = D->vcpus[vcpu].blocked && D->evtchn.nr_polling > 0;
		pthread_mutex_unlock(&D->lock);
		if (in)
			return true;
	}
	return false;
}

static void test_poll_wakes_when_its_port_is_set_pending_from_another_thread(void **state)
{
	struct poller w;
	uint32_t p;

	(void)state;
	p = (uint32_t)bind_virq(VIRQ_TIMER, 0); /* bound to vCPU 0: a poller on vCPU 1 is woken too */
	poller_start(&w, 1, p);
	if (!wait_polling(1)) {
		evtchn_set_pending(D, p);
		poller_finish(&w, "start");
		fail_msg("vCPU 1 did not start polling within 10 s");
	}
	assert_true(evtchn_send_virq(D, VIRQ_TIMER));
	poller_finish(&w, "VIRQ sent");
	assert_int_equal(w.ret, 0);
	assert_false(D->vcpus[1].blocked);
	assert_int_equal(D->evtchn.nr_polling, 0);
}

/* ---- the loopback backend (a test hook) ---- */

static void test_loopback_backend_answers_each_send_by_setting_the_port_pending(void **state)
{
	struct evtchn_status st;
	struct poller w;
	uint32_t p, v;

	(void)state;
	assert_true(D->test_hooks);
	p = (uint32_t)alloc_unbound();
	v = (uint32_t)bind_virq(VIRQ_TIMER, 0);
	assert_int_equal(unbacked_call(&D->vcpus[0], __HYPERVISOR_xenith_test, XENITH_TEST_EVTCHN_LOOPBACK,
				       v, 0, 0, 0), -XEN_EINVAL); /* not an unbound port */
	assert_int_equal(unbacked_call(&D->vcpus[0], __HYPERVISOR_xenith_test, XENITH_TEST_EVTCHN_LOOPBACK,
				       (1ull << 32) | p, 0, 0, 0), -XEN_EINVAL);
	assert_false(evtchn_loopback_running(D));
	assert_int_equal(unbacked_call(&D->vcpus[0], __HYPERVISOR_xenith_test, XENITH_TEST_EVTCHN_LOOPBACK,
				       p, 0, 0, 0), 0);
	assert_int_equal(status_of(p, &st), 0);
	assert_int_equal(st.status, EVTCHNSTAT_interdomain);
	for (unsigned i = 0; i < 100; i++) {
		clear_events();
		assert_int_equal(port_op(EVTCHNOP_send, p), 0);
		/* the backend thread's answer: the port pending (before or after the poll starts) */
		poller_start(&w, i % NR_VCPUS, p);
		poller_finish(&w, "loopback");
		assert_int_equal(w.ret, 0);
		assert_true(pending(p));
	}
	assert_int_equal(unbacked_call(&D->vcpus[0], __HYPERVISOR_xenith_test, XENITH_TEST_EVTCHN_LOOPBACK,
				       p, 0, 0, 0), -XEN_EBUSY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_alloc_unbound_hands_out_the_lowest_free_port_and_status_reports_it),
		T(test_alloc_unbound_and_status_only_for_this_domain_and_the_vmms_backends),
		T(test_ports_run_out_with_enospc_and_a_closed_one_is_reused),
		T(test_ports_out_of_range_are_einval_and_touch_no_event_bits),
		T(test_ports_not_open_are_refused_and_the_vmms_own_cannot_be_closed),
		T(test_argument_pointers_outside_memory_get_efault_and_spend_no_port),
		T(test_unknown_event_channel_commands_are_enosys),
		T(test_a_send_on_the_console_port_drains_the_ring_or_refuses_its_indices),
		T(test_start_info_names_the_store_ring_and_port),
		T(test_a_send_on_the_store_port_answers_the_request_on_the_ring),
		T(test_a_store_ring_with_impossible_indices_makes_every_send_einval),
		T(test_a_vmm_write_fires_the_guests_watch_through_the_store_port),
		T(test_the_store_writes_no_guest_memory_once_the_connection_is_gone),
		T(test_virq_is_bound_once_and_raised_on_its_vcpu),
		T(test_masked_port_is_marked_pending_but_raises_nothing_until_unmasked),
		T(test_a_port_still_pending_is_not_raised_again),
		T(test_bind_vcpu_moves_a_ports_notifications_to_that_vcpu),
		T(test_backend_port_gets_the_guests_sends_and_notifies_it),
		T(test_poll_validates_its_ports_and_returns_for_a_pending_one),
		T(test_poll_wakes_when_its_port_is_set_pending_from_another_thread),
		cmocka_unit_test_setup_teardown(test_loopback_backend_answers_each_send_by_setting_the_port_pending,
						setup_with_test_hooks, teardown),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
