// SPDX-License-Identifier: MIT
#include "evtchn.h"

#include <errno.h>
#include <unistd.h>
#include <string.h>
#include <time.h>

#include "console.h"
#include "domain.h"
#include "hypercall.h"
#include "vcpu.h"
#include "xenhvm.h"
#include "xsdomain.h"
#include "xenith/xen_hvm.h"

/*
 * Memory ordering: the VMM sets a port's pending bit, then the vCPU's
 * pending_sel bit, then upcall_pending, each a sequentially consistent
 * read-modify-write; the guest clears them in the reverse order (see
 * shared_info.h).  A vCPU that blocks checks upcall_pending under d->lock
 * after marking itself blocked, and the waker takes d->lock after setting
 * upcall_pending: one of the two always sees the other, so no wake-up is
 * lost.
 */

void evtchn_init(struct evtchn_table *t)
{
	memset(t, 0, sizeof(*t));
	t->port[0].kind = EVTCHN_RESERVED;
	t->port[EVTCHN_CONSOLE_PORT].kind = EVTCHN_CONSOLE;
	t->port[EVTCHN_XENSTORE_PORT].kind = EVTCHN_XENSTORE;
}

/* The pending and mask words, and a vCPU's vcpu_info: NULL while a Xen HVM guest has not mapped them. */
static uint64_t *pending_words(struct domain *d)
{
	uint64_t *w = atomic_load(&d->evtchn.pending);

	return w ? w : d->shared ? d->shared->evtchn_pending : NULL;
}

static uint64_t *mask_words(struct domain *d)
{
	uint64_t *w = atomic_load(&d->evtchn.mask);

	return w ? w : d->shared ? d->shared->evtchn_mask : NULL;
}

static struct xenith_vcpu_info *vcpu_info_of(struct vcpu *v)
{
	struct xenith_vcpu_info *vi = atomic_load(&v->vcpu_info);

	return vi ? vi : v->d->shared ? &v->d->shared->vcpu_info[v->id] : NULL;
}

static bool port_pending(struct domain *d, uint32_t port)
{
	uint64_t *p = pending_words(d);

	return p && (__atomic_load_n(&p[port / 64], __ATOMIC_SEQ_CST) & (1ull << (port % 64)));
}

/* Wakes target if it sleeps (and pollers); kick: also take it out of KVM_RUN. */
static void wake_blocked(struct domain *d, struct vcpu *target, bool kick)
{
	pthread_mutex_lock(&d->lock);
	if (kick && target->thread_started)
		vcpu_kick(target); /* out of KVM_RUN: the run loop injects the upcall vector */
	if (target->blocked)
		pthread_cond_broadcast(&target->wake);
	if (d->evtchn.nr_polling)
		for (unsigned i = 0; i < d->nr_vcpus; i++)
			if (d->vcpus[i].blocked)
				pthread_cond_broadcast(&d->vcpus[i].wake);
	pthread_mutex_unlock(&d->lock);
}

/*
 * A pending, unmasked port in `word` for vCPU v: sets the selector bit and
 * upcall_pending, then wakes v.  upcall_pending going 0 -> 1 is an upcall,
 * which CPL-0 guests that asked for it get as an interrupt.
 */
static void raise_upcall(struct domain *d, struct vcpu *v, unsigned word)
{
	struct xenith_vcpu_info *vi = vcpu_info_of(v);
	bool kick = false;

	if (!vi)
		return; /* a Xen HVM vCPU with no vcpu_info yet: its registration marks everything pending */
	__atomic_fetch_or(&vi->evtchn_pending_sel, 1ull << word, __ATOMIC_SEQ_CST);
	if (d->xh) {
		/* Xen's HVM rule: the upcall mask is not looked at; RFLAGS.IF and the LAPIC hold it back. */
		if (!__atomic_exchange_n(&vi->evtchn_upcall_pending, 1, __ATOMIC_SEQ_CST))
			xenhvm_upcall(v);
		wake_blocked(d, v, false); /* SCHEDOP_poll */
		return;
	}
	/* The vCPU's upcall mask holds the interrupt back (not the pending bits, nor a wake-up). */
	if (!__atomic_exchange_n(&vi->evtchn_upcall_pending, 1, __ATOMIC_SEQ_CST) &&
	    atomic_load(&d->callback_vector) &&
	    !__atomic_load_n(&vi->evtchn_upcall_mask, __ATOMIC_SEQ_CST)) {
		atomic_store(&v->irq_pending, true);
		kick = true;
	}
	wake_blocked(d, v, kick);
}

void evtchn_set_pending(struct domain *d, uint32_t port)
{
	uint64_t *pending = pending_words(d), *mask = mask_words(d);
	uint64_t bit = 1ull << (port % 64);
	unsigned word = port / 64;
	struct vcpu *v;

	if (port >= XENITH_NR_EVTCHN || !pending || !mask)
		return;
	v = &d->vcpus[d->evtchn.port[port].vcpu % d->nr_vcpus];
	if (__atomic_fetch_or(&pending[word], bit, __ATOMIC_SEQ_CST) & bit)
		return; /* already pending: the guest has not seen the last one yet */
	atomic_fetch_add_explicit(&d->nr_evtchn_raised, 1, memory_order_relaxed);
	if (!(__atomic_load_n(&mask[word], __ATOMIC_SEQ_CST) & bit))
		raise_upcall(d, v, word);
	else
		wake_blocked(d, v, false); /* masked: only pollers look at it */
}

bool evtchn_send_virq(struct domain *d, unsigned virq)
{
	int32_t port;

	if (virq >= XENITH_NR_VIRQS)
		return false;
	pthread_mutex_lock(&d->lock);
	port = d->evtchn.virq_port[virq];
	pthread_mutex_unlock(&d->lock);
	if (port <= 0)
		return false;
	evtchn_set_pending(d, (uint32_t)port);
	return true;
}

/* The lowest free port, marked with kind; 0 if none.  d->lock held. */
static uint32_t alloc_port_locked(struct domain *d, uint8_t kind)
{
	for (uint32_t p = 1; p < XENITH_NR_EVTCHN; p++) {
		struct evtchn *e = &d->evtchn.port[p];

		if (e->kind == EVTCHN_FREE) {
			memset(e, 0, sizeof(*e));
			e->kind = kind;
			e->kick_fd = -1;
			return p;
		}
	}
	return 0;
}

/* alloc_port_locked() under d->lock, the port bound to vcpu and remote_dom; 0 if none is free. */
static uint32_t alloc_port(struct domain *d, uint8_t kind, uint16_t vcpu, uint16_t remote_dom)
{
	uint32_t p;

	pthread_mutex_lock(&d->lock);
	p = alloc_port_locked(d, kind);
	if (p) {
		d->evtchn.port[p].vcpu = vcpu;
		d->evtchn.port[p].remote_dom = remote_dom;
	}
	pthread_mutex_unlock(&d->lock);
	return p;
}

static long bind_virq(struct vcpu *v, uint64_t arg)
{
	struct domain *d = v->d;
	struct evtchn_bind_virq b;
	long ret = -XEN_ENOSPC;
	bool percpu;

	/* The port goes back into the struct: refuse before binding anything. */
	if (guest_arg_read(v, &b, arg, sizeof(b)) < 0 || !guest_arg_writable(v, arg, sizeof(b)))
		return -XEN_EFAULT;
	if (b.virq >= XENITH_NR_VIRQS || b.vcpu >= d->nr_vcpus)
		return -XEN_EINVAL;
	/* Xen HVM guests: VIRQ_DEBUG is Xen's per-vCPU kind, bound by each; Xenith never raises it. */
	percpu = d->xh && b.virq == VIRQ_DEBUG;
	pthread_mutex_lock(&d->lock);
	if (!percpu && d->evtchn.virq_port[b.virq]) {
		ret = -XEN_EEXIST;
		goto out;
	}
	for (uint32_t p = 1; percpu && p < XENITH_NR_EVTCHN; p++) {
		const struct evtchn *e = &d->evtchn.port[p];

		if (e->kind == EVTCHN_VIRQ && e->percpu && e->virq == b.virq && e->vcpu == b.vcpu) {
			ret = -XEN_EEXIST;
			goto out;
		}
	}
	b.port = alloc_port_locked(d, EVTCHN_VIRQ);
	if (b.port) {
		struct evtchn *e = &d->evtchn.port[b.port];

		e->virq = (uint8_t)b.virq;
		e->vcpu = (uint16_t)b.vcpu;
		e->percpu = percpu;
		if (!percpu)
			d->evtchn.virq_port[b.virq] = (int32_t)b.port;
		ret = 0;
	}
out:
	pthread_mutex_unlock(&d->lock);
	if (ret == 0 && guest_arg_write(v, arg, &b, sizeof(b)) < 0)
		return -XEN_EFAULT;
	return ret;
}

static long alloc_unbound(struct vcpu *v, uint64_t arg)
{
	struct domain *d = v->d;
	struct evtchn_alloc_unbound a;
	uint32_t p;

	/* The port goes back into the struct: refuse before allocating it. */
	if (guest_arg_read(v, &a, arg, sizeof(a)) < 0 || !guest_arg_writable(v, arg, sizeof(a)))
		return -XEN_EFAULT;
	if (!domain_is_self(d, a.dom))
		return -XEN_EPERM;
	if (a.remote_dom != XENITH_BACKEND_DOMID)
		return -XEN_ESRCH; /* the only other domain a guest can talk to is the VMM's backends */
	p = alloc_port(d, EVTCHN_UNBOUND, 0, a.remote_dom);
	if (!p)
		return -XEN_ENOSPC;
	a.port = p;
	if (guest_arg_write(v, arg, &a, sizeof(a)) < 0)
		return -XEN_EFAULT; /* the port stays allocated, as in Xen; close it by number */
	return 0;
}

static long port_status(struct vcpu *v, uint64_t arg)
{
	struct domain *d = v->d;
	struct evtchn_status st;
	struct evtchn e;

	if (guest_arg_read(v, &st, arg, sizeof(st)) < 0)
		return -XEN_EFAULT;
	if (!domain_is_self(d, st.dom))
		return -XEN_EPERM;
	if (st.port == 0 || st.port >= XENITH_NR_EVTCHN)
		return -XEN_EINVAL;
	pthread_mutex_lock(&d->lock);
	e = d->evtchn.port[st.port];
	pthread_mutex_unlock(&d->lock);
	st.vcpu = e.vcpu;
	st.u.virq = 0;
	switch (e.kind) {
	case EVTCHN_FREE: st.status = EVTCHNSTAT_closed; break;
	case EVTCHN_UNBOUND: st.status = EVTCHNSTAT_unbound; st.u.remote_dom = e.remote_dom; break;
	case EVTCHN_BACKEND: st.status = EVTCHNSTAT_interdomain; st.u.remote_dom = e.remote_dom; break;
	case EVTCHN_VIRQ: st.status = EVTCHNSTAT_virq; st.u.virq = e.virq; break;
	case EVTCHN_IPI: st.status = EVTCHNSTAT_ipi; break;
	default: st.status = EVTCHNSTAT_xenith; break;
	}
	return guest_arg_write(v, arg, &st, sizeof(st)) < 0 ? -XEN_EFAULT : 0;
}

static long bind_vcpu(struct vcpu *v, uint64_t arg)
{
	struct domain *d = v->d;
	struct evtchn_bind_vcpu b;
	long ret = 0;

	if (guest_arg_read(v, &b, arg, sizeof(b)) < 0)
		return -XEN_EFAULT;
	if (b.port == 0 || b.port >= XENITH_NR_EVTCHN || b.vcpu >= d->nr_vcpus)
		return -XEN_EINVAL;
	pthread_mutex_lock(&d->lock);
	if (d->evtchn.port[b.port].kind == EVTCHN_FREE)
		ret = -XEN_EINVAL;
	else
		d->evtchn.port[b.port].vcpu = (uint16_t)b.vcpu;
	pthread_mutex_unlock(&d->lock);
	return ret;
}

/* Xen HVM guests' IPIs: a port that a send sets pending for the vCPU it names. */
static long bind_ipi(struct vcpu *v, uint64_t arg)
{
	struct domain *d = v->d;
	struct evtchn_bind_ipi b;
	uint32_t p;

	/* The port goes back into the struct: refuse before allocating it. */
	if (guest_arg_read(v, &b, arg, sizeof(b)) < 0 || !guest_arg_writable(v, arg, sizeof(b)))
		return -XEN_EFAULT;
	if (b.vcpu >= d->nr_vcpus)
		return -XEN_ENOENT; /* Xen's answer for a vCPU that does not exist */
	p = alloc_port(d, EVTCHN_IPI, (uint16_t)b.vcpu, 0);
	if (!p)
		return -XEN_ENOSPC;
	b.port = p;
	if (guest_arg_write(v, arg, &b, sizeof(b)) < 0)
		return -XEN_EFAULT; /* the port stays allocated, as in Xen; close it by number */
	return 0;
}

static void kick(int fd)
{
	uint64_t one = 1;

	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is saturated, the backend has kicks enough */
	}
}

static long close_port(struct vcpu *v, uint32_t port)
{
	struct domain *d = v->d;
	struct evtchn *e;
	long ret = 0;
	int fd = -1;

	if (port == 0 || port >= XENITH_NR_EVTCHN)
		return -XEN_EINVAL;
	pthread_mutex_lock(&d->lock);
	e = &d->evtchn.port[port];
	switch (e->kind) {
	case EVTCHN_VIRQ:
		if (!e->percpu)
			d->evtchn.virq_port[e->virq] = 0;
		memset(e, 0, sizeof(*e));
		break;
	case EVTCHN_IPI:
		memset(e, 0, sizeof(*e));
		break;
	case EVTCHN_BACKEND:
		fd = e->kick_fd; /* the backend wakes and finds the port gone */
		/* fall through */
	case EVTCHN_UNBOUND:
		memset(e, 0, sizeof(*e));
		break;
	case EVTCHN_FREE:
		ret = -XEN_EINVAL;
		break;
	default:
		ret = -XEN_EPERM; /* the VMM's own ports */
		break;
	}
	if (fd >= 0)
		kick(fd); /* under the lock: the backend cannot have closed fd after unbinding yet */
	pthread_mutex_unlock(&d->lock);
	return ret;
}

int evtchn_backend_bind(struct domain *d, uint32_t port, int kick_fd)
{
	struct evtchn *e;
	int r = 0;

	if (port == 0 || port >= XENITH_NR_EVTCHN || kick_fd < 0)
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	e = &d->evtchn.port[port];
	if (e->kind == EVTCHN_BACKEND)
		r = -EBUSY;
	else if (e->kind != EVTCHN_UNBOUND || e->remote_dom != XENITH_BACKEND_DOMID)
		r = -EINVAL;
	else {
		e->kind = EVTCHN_BACKEND;
		e->kick_fd = kick_fd;
	}
	pthread_mutex_unlock(&d->lock);
	return r;
}

bool evtchn_backend_notify(struct domain *d, uint32_t port, int kick_fd)
{
	bool bound;

	if (port == 0 || port >= XENITH_NR_EVTCHN)
		return false;
	pthread_mutex_lock(&d->lock);
	bound = d->evtchn.port[port].kind == EVTCHN_BACKEND && d->evtchn.port[port].kick_fd == kick_fd;
	pthread_mutex_unlock(&d->lock);
	if (bound)
		evtchn_set_pending(d, port);
	return bound;
}

void evtchn_backend_unbind(struct domain *d, uint32_t port, int kick_fd)
{
	struct evtchn *e;

	if (port == 0 || port >= XENITH_NR_EVTCHN)
		return;
	pthread_mutex_lock(&d->lock);
	e = &d->evtchn.port[port];
	if (e->kind == EVTCHN_BACKEND && e->kick_fd == kick_fd) {
		e->kind = EVTCHN_UNBOUND; /* the guest may connect another backend */
		e->kick_fd = -1;
	}
	pthread_mutex_unlock(&d->lock);
}

static long send_port(struct vcpu *v, uint32_t port)
{
	struct domain *d = v->d;

	if (port == 0 || port >= XENITH_NR_EVTCHN)
		return -XEN_EINVAL;
	prof_add(&v->prof.c.evtchn_sends, 1);
	switch (d->evtchn.port[port].kind) {
	case EVTCHN_CONSOLE:
		return console_drain_ring(d) < 0 ? -XEN_EINVAL : 0;
	case EVTCHN_XENSTORE:
		return xsdomain_kick(d) < 0 ? -XEN_EINVAL : 0;
	case EVTCHN_VIRQ:
		/* A guest may raise its own VIRQ port (Xen allows a loopback). */
	case EVTCHN_IPI:
		evtchn_set_pending(d, port);
		return 0;
	case EVTCHN_BACKEND: {
		int fd;

		pthread_mutex_lock(&d->lock); /* the backend may be unbinding */
		fd = d->evtchn.port[port].kind == EVTCHN_BACKEND ? d->evtchn.port[port].kick_fd : -1;
		if (fd >= 0)
			kick(fd);
		pthread_mutex_unlock(&d->lock);
		return 0;
	}
	case EVTCHN_UNBOUND:
		return 0; /* nobody listens yet; as in Xen */
	default:
		return -XEN_EINVAL;
	}
}

static long unmask_port(struct vcpu *v, uint32_t port)
{
	struct domain *d = v->d;
	uint64_t *mask = mask_words(d);
	uint64_t bit = 1ull << (port % 64);
	unsigned word = port / 64;

	if (port >= XENITH_NR_EVTCHN)
		return -XEN_EINVAL;
	if (!mask)
		return -XEN_EINVAL; /* a Xen HVM guest without shared_info */
	__atomic_fetch_and(&mask[word], ~bit, __ATOMIC_SEQ_CST);
	if (port_pending(d, port)) {
		raise_upcall(d, &d->vcpus[d->evtchn.port[port].vcpu % d->nr_vcpus], word);
	}
	return 0;
}

long evtchn_op(struct vcpu *v, uint64_t cmd, uint64_t arg)
{
	uint32_t port;

	switch (cmd) {
	case EVTCHNOP_bind_virq:
		return bind_virq(v, arg);
	case EVTCHNOP_alloc_unbound:
		return alloc_unbound(v, arg);
	case EVTCHNOP_status:
		return port_status(v, arg);
	case EVTCHNOP_bind_vcpu:
		return bind_vcpu(v, arg);
	case EVTCHNOP_bind_ipi:
		if (!v->d->xh)
			return -XEN_ENOSYS; /* Xenith's PV guests have no IPIs (abi.h) */
		return bind_ipi(v, arg);
	case EVTCHNOP_close:
	case EVTCHNOP_send:
	case EVTCHNOP_unmask:
		if (guest_arg_read(v, &port, arg, sizeof(port)) < 0)
			return -XEN_EFAULT;
		if (cmd == EVTCHNOP_close)
			return close_port(v, port);
		if (cmd == EVTCHNOP_send)
			return send_port(v, port);
		return unmask_port(v, port);
	default:
		return -XEN_ENOSYS;
	}
}

static bool upcall_pending(struct vcpu *v)
{
	struct xenith_vcpu_info *vi = vcpu_info_of(v);

	return vi && __atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_SEQ_CST);
}

long evtchn_block(struct vcpu *v)
{
	struct domain *d = v->d;
	uint64_t t0 = prof_idle_begin(v);

	pthread_mutex_lock(&d->lock);
	v->blocked = true;
	atomic_store_explicit(&v->where, VCPU_WHERE_BLOCKED, memory_order_relaxed);
	domain_note_blocked(d);
	while (!upcall_pending(v) && !d->stop_requested && !vcpu_must_stop(v))
		pthread_cond_wait(&v->wake, &d->lock);
	v->blocked = false;
	atomic_store_explicit(&v->where, VCPU_WHERE_EXIT, memory_order_relaxed);
	pthread_mutex_unlock(&d->lock);
	prof_idle_end(v, t0);
	return 0;
}

long evtchn_poll(struct vcpu *v, uint64_t arg)
{
	struct domain *d = v->d;
	uint32_t ports[SCHED_POLL_MAX_PORTS];
	struct sched_poll p;
	struct timespec deadline;
	long ret = -XEN_ETIMEDOUT;
	uint64_t t0;

	if (guest_arg_read(v, &p, arg, sizeof(p)) < 0)
		return -XEN_EFAULT;
	if (p.nr_ports > SCHED_POLL_MAX_PORTS || (p.nr_ports == 0 && p.timeout_ns == 0))
		return -XEN_EINVAL;
	if (p.nr_ports && guest_arg_read(v, ports, p.ports, p.nr_ports * sizeof(ports[0])) < 0)
		return -XEN_EFAULT;
	for (uint32_t i = 0; i < p.nr_ports; i++)
		if (ports[i] >= XENITH_NR_EVTCHN)
			return -XEN_EINVAL;
	if (p.timeout_ns) {
		uint64_t t;

		if (p.timeout_ns > 365ull * 86400 * 1000000000ull)
			p.timeout_ns = 365ull * 86400 * 1000000000ull;
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		t = (uint64_t)deadline.tv_nsec + p.timeout_ns;
		deadline.tv_sec += (time_t)(t / 1000000000ull);
		deadline.tv_nsec = (long)(t % 1000000000ull);
	}
	t0 = prof_idle_begin(v);
	pthread_mutex_lock(&d->lock);
	v->blocked = true;
	atomic_store_explicit(&v->where, VCPU_WHERE_BLOCKED, memory_order_relaxed);
	domain_note_blocked(d);
	d->evtchn.nr_polling++;
	for (;;) {
		bool hit = false;

		for (uint32_t i = 0; i < p.nr_ports && !hit; i++)
			hit = port_pending(d, ports[i]);
		if (hit) {
			ret = 0;
			break;
		}
		if (d->stop_requested || vcpu_must_stop(v)) {
			ret = -XEN_EINTR;
			break;
		}
		if (!p.timeout_ns) {
			pthread_cond_wait(&v->wake, &d->lock);
		} else if (pthread_cond_timedwait(&v->wake, &d->lock, &deadline) == ETIMEDOUT) {
			for (uint32_t i = 0; i < p.nr_ports && ret; i++)
				if (port_pending(d, ports[i]))
					ret = 0;
			break;
		}
	}
	d->evtchn.nr_polling--;
	v->blocked = false;
	atomic_store_explicit(&v->where, VCPU_WHERE_EXIT, memory_order_relaxed);
	pthread_mutex_unlock(&d->lock);
	prof_idle_end(v, t0);
	return ret;
}
