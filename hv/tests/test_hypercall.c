// SPDX-License-Identifier: MIT
/*
 * unit tier: hypercall handlers called directly on an unbacked domain
 * (domain_create_unbacked: the bundled minios's memory, page tables and
 * vCPU state, no KVM), so what they do can be checked exactly and raced
 * from host threads without booting anything.
 */
#include <malloc.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "bench_hooks.h"
#include "domain.h"
#include "console.h"
#include "loopback.h"
#include "hypercall.h"
#include "unbacked.h"
#include "xenith/xs_wire.h"

static struct domain *make_domain(unsigned vcpus, const struct bench_sink *bench)
{
	return unbacked_domain(vcpus, bench, false);
}

/* make_domain() as the VMM started with XENITH_TEST_HOOKS=1 builds it: the test-only ops answer. */
static struct domain *make_domain_with_test_hooks(unsigned vcpus, const struct bench_sink *bench)
{
	return unbacked_domain(vcpus, bench, true);
}

/* One hypercall on vCPU v's registers; returns RAX. */
static long call4(struct vcpu *v, uint32_t op, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4)
{
	return unbacked_call(v, op, a1, a2, a3, a4, 0);
}

static long call(struct vcpu *v, uint32_t op, uint64_t a1, uint64_t a2, uint64_t a3)
{
	return unbacked_call(v, op, a1, a2, a3, 0, 0);
}

static void test_unbacked_domain_has_start_info_and_never_runs(void **state)
{
	struct domain *d = make_domain(2, NULL);
	const struct xenith_start_info *si = domain_gpa(d, d->layout.start_info, sizeof(*si));
	struct errbuf eb;

	(void)state;
	assert_non_null(si);
	assert_int_equal(si->magic, XENITH_START_INFO_MAGIC);
	assert_int_equal(si->nr_vcpus, 2);
	assert_int_equal(si->domid, 7);
	assert_int_equal(d->vm_fd, -1);
	assert_true(domain_start(d, &eb) < 0);
	assert_non_null(strstr(eb.msg, "cannot run"));
	domain_destroy(d);
}

static void test_dispatch_answers_enosys_for_unknown_ops_and_echoes(void **state)
{
	struct domain *d = make_domain_with_test_hooks(1, NULL);
	struct vcpu *v = &d->vcpus[0];

	(void)state;
	assert_int_equal(call(v, 63, 0, 0, 0), -XEN_ENOSYS);
	assert_int_equal(call(v, 5000, 0, 0, 0), -XEN_ENOSYS);
	assert_int_equal(call(v, __HYPERVISOR_xenith_test, XENITH_TEST_ECHO, 0x1234abcd, 0), 0x1234abcd);
	assert_int_equal(call(v, __HYPERVISOR_console_io, CONSOLEIO_write, 8, d->mem_size - 4),
			 -XEN_EFAULT);
	domain_destroy(d);
}

static void test_output_pointers_into_read_only_pages_get_efault_and_write_nothing(void **state)
{
	struct domain *d = make_domain(1, NULL);
	struct vcpu *v = &d->vcpus[0];
	const uint64_t ro[] = { d->layout.gdt, d->layout.gdt + 0x800 /* the TSS */, d->layout.pt_base,
				d->layout.start_info, d->image.entry };
	const uint64_t rw = d->layout.free_start;
	static uint8_t before[4096];

	(void)state;
	for (size_t i = 0; i < sizeof(ro) / sizeof(ro[0]); i++) {
		uint64_t page = ro[i] & ~4095ull;

		memcpy(before, d->mem + page, 4096);
		/* alloc_unbound for ourselves with the VMM's backend: valid, if it could write the port */
		assert_int_equal(call(v, __HYPERVISOR_event_channel_op, EVTCHNOP_alloc_unbound, ro[i], 0),
				 -XEN_EFAULT);
		assert_int_equal(call(v, __HYPERVISOR_event_channel_op, EVTCHNOP_bind_virq, ro[i], 0),
				 -XEN_EFAULT);
		assert_memory_equal(before, d->mem + page, 4096);
	}
	/* The same request into a data page works, and gets the lowest port (after the VMM's console
	 * and store ports): none was spent. */
	memcpy(d->mem + rw, &(struct evtchn_alloc_unbound){ .dom = XENITH_DOMID_SELF,
							   .remote_dom = XENITH_BACKEND_DOMID },
	       sizeof(struct evtchn_alloc_unbound));
	assert_int_equal(call(v, __HYPERVISOR_event_channel_op, EVTCHNOP_alloc_unbound, rw, 0), 0);
	assert_int_equal(((struct evtchn_alloc_unbound *)(void *)(d->mem + rw))->port, 3);
	domain_destroy(d);
}

/* The protection of the mapping that holds addr, from /proc/self/maps ("rw-s", "---p"), or "". */
static void maps_perms(const void *addr, char perms[5])
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");
	uintptr_t a = (uintptr_t)addr;

	assert_non_null(f);
	perms[0] = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char p[5];

		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, p) == 3 && a >= lo && a < hi) {
			memcpy(perms, p, 5);
			break;
		}
	}
	fclose(f);
}

static void test_unbacked_domain_memory_lies_between_guard_regions(void **state)
{
	struct domain *d = make_domain(1, NULL);
	const uint8_t *below, *above;
	char perms[5];

	(void)state;
	maps_perms(d->mem, perms);
	assert_string_equal(perms, "rw-s");
	maps_perms(d->mem + d->mem_size - 1, perms);
	assert_string_equal(perms, "rw-s");
	/* A byte on either side, and the far ends of the guards, fault. */
	maps_perms(d->mem - 1, perms);
	assert_string_equal(perms, "---p");
	maps_perms(d->mem - (1 << 20), perms);
	assert_string_equal(perms, "---p");
	maps_perms(d->mem + d->mem_size, perms);
	assert_string_equal(perms, "---p");
	maps_perms(d->mem + d->mem_size + (1 << 20) - 1, perms);
	assert_string_equal(perms, "---p");
	below = d->mem - 1;
	above = d->mem + d->mem_size;
	domain_destroy(d);
	/* The guards go with the memory: no address space left behind per domain. */
	maps_perms(below, perms);
	assert_string_equal(perms, "");
	maps_perms(above, perms);
	assert_string_equal(perms, "");
}

static void sink_report(void *opaque, struct domain *d, uint32_t case_id, uint32_t rep, double value);

/* The test-only ops (abi.h, XENITH_TEST_*): each one, in a domain a test may or may not have asked for. */
static void test_test_only_ops_answer_only_with_test_hooks_or_in_a_bench_domain(void **state)
{
	struct bench_sink sink = { sink_report, NULL };
	struct domain *d = make_domain(1, NULL);
	struct vcpu *v = &d->vcpus[0];
	const uint32_t t = __HYPERVISOR_xenith_test;
	const uint64_t rw = d->layout.free_start;
	struct evtchn_alloc_unbound *au = (void *)(d->mem + rw);
	uint32_t port;

	(void)state;
	/* No XENITH_TEST_HOOKS: every one is refused, as an op Xenith does not serve. */
	assert_false(d->test_hooks);
	assert_int_equal(call(v, t, XENITH_TEST_ECHO, 0x1234abcd, 0), -XEN_ENOSYS);
	assert_int_equal(call(v, t, XENITH_TEST_SHMEM_ECHO, rw, 1), -XEN_ENOSYS);
	assert_int_equal(call4(v, t, XENITH_TEST_GRANT_READ, 0, 0, 8), -XEN_ENOSYS);
	assert_int_equal(call4(v, t, XENITH_TEST_GRANT_WRITE, 0, 0, 8), -XEN_ENOSYS);
	assert_int_equal(call(v, t, XENITH_TEST_STALL, 0, 0), -XEN_ENOSYS);
	assert_int_equal(call(v, t, XENITH_TEST_FORBIDDEN_SYSCALL, 0, 0), -XEN_ENOSYS);
	*au = (struct evtchn_alloc_unbound){ .dom = XENITH_DOMID_SELF, .remote_dom = XENITH_BACKEND_DOMID };
	assert_int_equal(call(v, __HYPERVISOR_event_channel_op, EVTCHNOP_alloc_unbound, rw, 0), 0);
	port = au->port;
	assert_int_equal(call(v, t, XENITH_TEST_EVTCHN_LOOPBACK, port, 0), -XEN_ENOSYS);
	assert_false(evtchn_loopback_running(d)); /* no backend thread was started */
	assert_int_equal(d->evtchn.port[port].kind, EVTCHN_UNBOUND);
	domain_destroy(d);

	/* With XENITH_TEST_HOOKS=1 each reaches its handler (their own answers, not ENOSYS). */
	d = make_domain_with_test_hooks(1, NULL);
	v = &d->vcpus[0];
	au = (void *)(d->mem + rw);
	assert_true(d->test_hooks);
	assert_int_equal(call(v, t, XENITH_TEST_ECHO, 0x1234abcd, 0), 0x1234abcd);
	assert_int_equal(call4(v, t, XENITH_TEST_GRANT_READ, 0, 0, 8), -XEN_ENOENT);  /* no table yet */
	assert_int_equal(call4(v, t, XENITH_TEST_GRANT_WRITE, 0, 0, 8), -XEN_ENOENT);
	assert_int_equal(call(v, t, XENITH_TEST_STALL, 3600001, 0), -XEN_EINVAL);  /* over an hour */
	assert_int_equal(call(v, t, XENITH_TEST_STALL, 0, 0), 0);
	*au = (struct evtchn_alloc_unbound){ .dom = XENITH_DOMID_SELF, .remote_dom = XENITH_BACKEND_DOMID };
	assert_int_equal(call(v, __HYPERVISOR_event_channel_op, EVTCHNOP_alloc_unbound, rw, 0), 0);
	port = au->port;
	assert_int_equal(call(v, t, XENITH_TEST_EVTCHN_LOOPBACK, port, 0), 0);
	assert_true(evtchn_loopback_running(d));
	assert_int_equal(d->evtchn.port[port].kind, EVTCHN_BACKEND);
	/* no bench here: the shared-memory responder has nobody to report to */
	assert_int_equal(call(v, t, XENITH_TEST_SHMEM_ECHO, rw, 1), -XEN_ENOSYS);
	domain_destroy(d);

	/* A benchmark domain: the two ops it measures with, and no other. */
	d = make_domain(1, &sink);
	v = &d->vcpus[0];
	assert_false(d->test_hooks);
	assert_int_equal(call(v, t, XENITH_TEST_ECHO, 77, 0), 77);
	assert_int_equal(call(v, t, XENITH_TEST_SHMEM_ECHO, rw + 4, 1), -XEN_EINVAL); /* misaligned */
	assert_int_equal(call4(v, t, XENITH_TEST_GRANT_READ, 0, 0, 8), -XEN_ENOSYS);
	assert_int_equal(call4(v, t, XENITH_TEST_GRANT_WRITE, 0, 0, 8), -XEN_ENOSYS);
	assert_int_equal(call(v, t, XENITH_TEST_EVTCHN_LOOPBACK, 2, 0), -XEN_ENOSYS);
	assert_int_equal(call(v, t, XENITH_TEST_STALL, 0, 0), -XEN_ENOSYS);
	domain_destroy(d);
}

struct racer {
	struct domain *d;
	unsigned vcpu, rounds;
	uint64_t ups, already, other;
};

static void *bring_up_vcpu1(void *arg)
{
	struct racer *r = arg;
	struct vcpu *v = &r->d->vcpus[r->vcpu];

	for (unsigned i = 0; i < r->rounds; i++) {
		long ret = call(v, __HYPERVISOR_vcpu_op, VCPUOP_up, 1, r->d->image.entry);

		if (ret == 0)
			r->ups++;
		else if (ret == -XEN_EALREADY)
			r->already++;
		else
			r->other++;
	}
	return NULL;
}

static void *take_vcpu1_down(void *arg)
{
	struct racer *r = arg;
	struct vcpu *v = &r->d->vcpus[1];

	for (unsigned i = 0; i < r->rounds; i++)
		if (call(v, __HYPERVISOR_vcpu_op, VCPUOP_down, 1, 0) == 0)
			r->ups++; /* downs */
	return NULL;
}

static void test_vcpu_up_from_two_vcpus_at_once_is_decided_once(void **state)
{
	struct domain *d = make_domain(3, NULL);
	struct racer a = { d, 0, 20000, 0, 0, 0 }, b = { d, 2, 20000, 0, 0, 0 }, down = { d, 1, 20000, 0, 0, 0 };
	pthread_t ta, tb, td;

	(void)state;
	assert_int_equal(pthread_create(&ta, NULL, bring_up_vcpu1, &a), 0);
	assert_int_equal(pthread_create(&tb, NULL, bring_up_vcpu1, &b), 0);
	assert_int_equal(pthread_create(&td, NULL, take_vcpu1_down, &down), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	pthread_join(td, NULL);
	assert_int_equal(a.other + b.other, 0);
	assert_int_equal(a.ups + a.already, 20000);
	assert_int_equal(b.ups + b.already, 20000);
	/* Every success found vCPU 1 down: at most one more up than downs. */
	assert_true(a.ups + b.ups <= down.ups + 1);
	assert_int_equal(d->nr_running_threads, 0); /* no hypercall created a thread */
	domain_destroy(d);
}

static void sink_report(void *opaque, struct domain *d, uint32_t case_id, uint32_t rep, double value)
{
	(void)opaque, (void)d, (void)case_id, (void)rep, (void)value;
}

/* A number from /proc/self/status ("Threads:", "VmSize:"). */
static unsigned long status_field(const char *field)
{
	char line[256], fmt[64];
	unsigned long n = 0;
	FILE *f = fopen("/proc/self/status", "r");

	assert_non_null(f);
	snprintf(fmt, sizeof(fmt), "%s %%lu", field);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, fmt, &n) == 1)
			break;
	fclose(f);
	return n;
}

struct echoer {
	struct domain *d;
	unsigned vcpu;
	uint64_t gpa;
	unsigned rounds;
	long bad;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Spins until the word reads want; false after 10 s (a loaded host may keep the responder off a CPU). */
static bool wait_word(uint64_t *w, uint64_t want)
{
	uint64_t deadline = mono_ns() + 10000000000ull;

	while (__atomic_load_n(w, __ATOMIC_ACQUIRE) != want)
		if (mono_ns() > deadline)
			return false;
	return true;
}

/*
 * Starts the shared-memory responder again and again from one vCPU.  Each
 * round's responder answers two pings, the second 50 us after the first, so
 * it is still running when the other vCPU starts its own round (which reaps
 * "the previous responder").  A round ends when both pongs came back.
 */
static void *echo_rounds(void *arg)
{
	struct echoer *e = arg;
	struct vcpu *v = &e->d->vcpus[e->vcpu];
	uint64_t *w = domain_gpa(e->d, e->gpa, 16);

	for (unsigned i = 0; i < e->rounds; i++) {
		__atomic_store_n(&w[1], 0, __ATOMIC_RELAXED);
		__atomic_store_n(&w[0], 1, __ATOMIC_RELEASE);
		if (call(v, __HYPERVISOR_xenith_test, XENITH_TEST_SHMEM_ECHO, e->gpa, 2) != 0 ||
		    !wait_word(&w[1], 1)) {
			e->bad++;
			continue;
		}
		usleep(50);
		__atomic_store_n(&w[0], 2, __ATOMIC_RELEASE);
		if (!wait_word(&w[1], 2))
			e->bad++;
	}
	return NULL;
}

static void test_shmem_responder_started_from_two_vcpus_is_always_reaped(void **state)
{
	struct bench_sink sink = { sink_report, NULL };
	unsigned long threads = status_field("Threads:"), vm = status_field("VmSize:");
	struct domain *d = make_domain(2, &sink);
	uint64_t base = d->layout.free_start;
	struct echoer a = { d, 0, base, 500, 0 }, b = { d, 1, base + 4096, 500, 0 };
	pthread_t ta, tb;

	(void)state;
	assert_int_equal(pthread_create(&ta, NULL, echo_rounds, &a), 0);
	assert_int_equal(pthread_create(&tb, NULL, echo_rounds, &b), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	assert_int_equal(a.bad + b.bad, 0);
	domain_destroy(d);
	/*
	 * Every responder was reaped: none runs, and none keeps its 8 MiB stack
	 * (a responder whose handle the other vCPU's round overwrote is never
	 * joined).  glibc caches up to 40 MiB of stacks of reaped threads: a leak
	 * of 8 MiB stacks shows past that.  (Before the fix: 25 to 40 stacks in
	 * 2,000 rounds each, or a hang in a double join.)
	 */
	assert_int_equal(status_field("Threads:"), threads);
	printf("# VmSize %lu KiB before, %lu KiB after\n", vm, status_field("VmSize:"));
	assert_true(status_field("VmSize:") <= vm + 48 * 1024);
}

struct drainer {
	struct domain *d;
	pthread_barrier_t *start, *end;
	unsigned rounds;
};

static void *drain_rounds(void *arg)
{
	struct drainer *w = arg;

	for (unsigned i = 0; i < w->rounds; i++) {
		pthread_barrier_wait(w->start);
		console_drain_ring(w->d);
		pthread_barrier_wait(w->end);
	}
	return NULL;
}

/*
 * Two vCPUs kicking the console port at once (each EVTCHNOP_send drains
 * the ring) take each byte once: no line printed twice.
 */
static void test_console_ring_drained_from_two_vcpus_at_once_prints_each_byte_once(void **state)
{
	struct domain *d = make_domain(2, NULL);
	struct xenith_console_ring *r = d->cons_ring;
	pthread_barrier_t start, end;
	struct drainer w = { d, &start, &end, 2000 };
	pthread_t t[2];

	(void)state;
	assert_non_null(r);
	pthread_barrier_init(&start, NULL, 3);
	pthread_barrier_init(&end, NULL, 3);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, drain_rounds, &w), 0);
	for (unsigned i = 0; i < w.rounds; i++) {
		uint32_t prod = r->out_prod;

		/* A full ring's worth each round (40 lines of 50 bytes): the drains overlap often. */
		for (uint32_t k = 0; k < 2000; k++)
			r->out[MASK_XENCONS_IDX(prod + k, XENITH_CONS_OUT_SIZE)] = k % 50 == 49 ? '\n' : 'o';
		__atomic_store_n(&r->out_prod, prod + 2000, __ATOMIC_RELEASE);
		pthread_barrier_wait(&start);
		pthread_barrier_wait(&end);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(d->console.bytes, (uint64_t)w.rounds * 2000);
	pthread_barrier_destroy(&start);
	pthread_barrier_destroy(&end);
	domain_destroy(d);
}

struct store_kicker {
	struct domain *d;
	unsigned vcpu;
	pthread_barrier_t *start, *end;
	unsigned rounds;
	unsigned failed;
};

/* vCPU k's EVTCHNOP_send on the store's port, the port number at a word of its own. */
static void *store_kick_rounds(void *arg)
{
	struct store_kicker *w = arg;
	uint64_t gpa = w->d->layout.free_start + 64 * w->vcpu;

	memcpy(w->d->mem + gpa, &(uint32_t){ EVTCHN_XENSTORE_PORT }, sizeof(uint32_t));
	for (unsigned i = 0; i < w->rounds; i++) {
		pthread_barrier_wait(w->start);
		if (unbacked_call(&w->d->vcpus[w->vcpu], __HYPERVISOR_event_channel_op, EVTCHNOP_send, gpa,
				  0, 0, 0) != 0)
			w->failed++;
		pthread_barrier_wait(w->end);
	}
	return NULL;
}

/*
 * Two vCPUs kicking the store's port at once (each EVTCHNOP_send has the
 * store process the ring) get each request answered once, in order: no
 * request read twice or skipped, no reply written twice.
 */
static void test_store_ring_processed_from_two_vcpus_at_once_answers_each_request_once(void **state)
{
	enum { ROUNDS = 1000, REQS = 40 };
	struct domain *d = make_domain(2, NULL);
	struct xenstore_domain_interface *r = (void *)(d->mem + d->layout.xenstore);
	pthread_barrier_t start, end;
	struct store_kicker w[2] = { { d, 0, &start, &end, ROUNDS, 0 }, { d, 1, &start, &end, ROUNDS, 0 } };
	uint32_t next_id = 1, want_id = 1;
	pthread_t t[2];

	(void)state;
	pthread_barrier_init(&start, NULL, 3);
	pthread_barrier_init(&end, NULL, 3);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, store_kick_rounds, &w[i]), 0);
	for (unsigned round = 0; round < ROUNDS; round++) {
		uint32_t prod = r->req_prod, cons;

		/* 40 reads of 21 bytes each (840 of the ring's 1024): the two passes overlap often. */
		for (unsigned k = 0; k < REQS; k++, next_id++) {
			struct xsd_sockmsg h = { .type = XS_READ, .req_id = next_id, .len = 5 };
			char msg[sizeof(h) + 5];

			memcpy(msg, &h, sizeof(h));
			memcpy(msg + sizeof(h), "name", 5);
			for (unsigned i = 0; i < sizeof(msg); i++, prod++)
				r->req[MASK_XENSTORE_IDX(prod)] = msg[i];
		}
		__atomic_store_n(&r->req_prod, prod, __ATOMIC_RELEASE);
		pthread_barrier_wait(&start);
		pthread_barrier_wait(&end);
		assert_int_equal(r->req_cons, prod);
		/* every reply, in order, each once: "unit" */
		cons = r->rsp_cons;
		for (unsigned k = 0; k < REQS; k++, want_id++) {
			struct xsd_sockmsg h;
			char val[8];

			assert_true(r->rsp_prod - cons >= sizeof(h));
			for (unsigned i = 0; i < sizeof(h); i++)
				((char *)&h)[i] = r->rsp[MASK_XENSTORE_IDX(cons + i)];
			assert_int_equal(h.type, XS_READ);
			assert_int_equal(h.req_id, want_id);
			assert_int_equal(h.len, 4);
			for (unsigned i = 0; i < h.len; i++)
				val[i] = r->rsp[MASK_XENSTORE_IDX(cons + sizeof(h) + i)];
			assert_memory_equal(val, "unit", 4);
			cons += sizeof(h) + h.len;
		}
		assert_int_equal(r->rsp_prod, cons); /* nothing more */
		__atomic_store_n(&r->rsp_cons, cons, __ATOMIC_RELEASE);
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].failed, 0);
	}
	pthread_barrier_destroy(&start);
	pthread_barrier_destroy(&end);
	domain_destroy(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unbacked_domain_has_start_info_and_never_runs),
		cmocka_unit_test(test_dispatch_answers_enosys_for_unknown_ops_and_echoes),
		cmocka_unit_test(test_output_pointers_into_read_only_pages_get_efault_and_write_nothing),
		cmocka_unit_test(test_unbacked_domain_memory_lies_between_guard_regions),
		cmocka_unit_test(test_test_only_ops_answer_only_with_test_hooks_or_in_a_bench_domain),
		cmocka_unit_test(test_vcpu_up_from_two_vcpus_at_once_is_decided_once),
		cmocka_unit_test(test_shmem_responder_started_from_two_vcpus_is_always_reaped),
		cmocka_unit_test(test_console_ring_drained_from_two_vcpus_at_once_prints_each_byte_once),
		cmocka_unit_test(test_store_ring_processed_from_two_vcpus_at_once_answers_each_request_once),
	};

	unsetenv("XENITH_TEST_HOOKS"); /* the cases that want it say so */
	/* One malloc arena: threads' own 64 MiB arenas would hide stacks in VmSize. */
	mallopt(M_ARENA_MAX, 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
