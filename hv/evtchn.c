// SPDX-License-Identifier: MIT
#include "evtchn.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "console.h"
#include "domain.h"
#include "vcpu.h"

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
}

static bool port_pending(struct domain *d, uint32_t port)
{
	return __atomic_load_n(&d->shared->evtchn_pending[port / 64], __ATOMIC_SEQ_CST) &
	       (1ull << (port % 64));
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
	struct xenith_vcpu_info *vi = &d->shared->vcpu_info[v->id];
	bool kick = false;

	__atomic_fetch_or(&vi->evtchn_pending_sel, 1ull << word, __ATOMIC_SEQ_CST);
	if (!__atomic_exchange_n(&vi->evtchn_upcall_pending, 1, __ATOMIC_SEQ_CST) &&
	    atomic_load(&d->callback_vector)) {
		atomic_store(&v->irq_pending, true);
		kick = true;
	}
	wake_blocked(d, v, kick);
}

void evtchn_set_pending(struct domain *d, uint32_t port)
{
	struct xenith_shared_info *s = d->shared;
	uint64_t bit = 1ull << (port % 64);
	unsigned word = port / 64;
	struct vcpu *v;

	if (port >= XENITH_NR_EVTCHN)
		return;
	v = &d->vcpus[d->evtchn.port[port].vcpu % d->nr_vcpus];
	if (__atomic_fetch_or(&s->evtchn_pending[word], bit, __ATOMIC_SEQ_CST) & bit)
		return; /* already pending: the guest has not seen the last one yet */
	if (!(__atomic_load_n(&s->evtchn_mask[word], __ATOMIC_SEQ_CST) & bit))
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

static long bind_virq(struct vcpu *v, uint64_t arg)
{
	struct domain *d = v->d;
	struct evtchn_bind_virq b;
	long ret = -XEN_ENOSPC;

	if (domain_copy_from_guest(d, &b, arg, sizeof(b)) < 0)
		return -XEN_EFAULT;
	if (b.virq >= XENITH_NR_VIRQS || b.vcpu >= d->nr_vcpus)
		return -XEN_EINVAL;
	pthread_mutex_lock(&d->lock);
	if (d->evtchn.virq_port[b.virq]) {
		ret = -XEN_EEXIST;
		goto out;
	}
	for (uint32_t p = 1; p < XENITH_NR_EVTCHN; p++) {
		struct evtchn *e = &d->evtchn.port[p];

		if (e->kind != EVTCHN_FREE)
			continue;
		e->kind = EVTCHN_VIRQ;
		e->virq = (uint8_t)b.virq;
		e->vcpu = (uint16_t)b.vcpu;
		d->evtchn.virq_port[b.virq] = (int32_t)p;
		b.port = p;
		ret = 0;
		break;
	}
out:
	pthread_mutex_unlock(&d->lock);
	if (ret == 0 && domain_copy_to_guest(d, arg, &b, sizeof(b)) < 0)
		return -XEN_EFAULT;
	return ret;
}

static long close_port(struct vcpu *v, uint32_t port)
{
	struct domain *d = v->d;
	struct evtchn *e;
	long ret = 0;

	if (port == 0 || port >= XENITH_NR_EVTCHN)
		return -XEN_EINVAL;
	pthread_mutex_lock(&d->lock);
	e = &d->evtchn.port[port];
	if (e->kind == EVTCHN_VIRQ) {
		d->evtchn.virq_port[e->virq] = 0;
		memset(e, 0, sizeof(*e));
	} else {
		ret = e->kind == EVTCHN_FREE ? -XEN_EINVAL : -XEN_EPERM;
	}
	pthread_mutex_unlock(&d->lock);
	return ret;
}

static long send_port(struct vcpu *v, uint32_t port)
{
	struct domain *d = v->d;

	if (port == 0 || port >= XENITH_NR_EVTCHN)
		return -XEN_EINVAL;
	switch (d->evtchn.port[port].kind) {
	case EVTCHN_CONSOLE:
		return console_drain_ring(d) < 0 ? -XEN_EINVAL : 0;
	case EVTCHN_VIRQ:
		/* A guest may raise its own VIRQ port (Xen allows a loopback). */
		evtchn_set_pending(d, port);
		return 0;
	default:
		return -XEN_EINVAL;
	}
}

static long unmask_port(struct vcpu *v, uint32_t port)
{
	struct domain *d = v->d;
	struct xenith_shared_info *s = d->shared;
	uint64_t bit = 1ull << (port % 64);
	unsigned word = port / 64;

	if (port >= XENITH_NR_EVTCHN)
		return -XEN_EINVAL;
	__atomic_fetch_and(&s->evtchn_mask[word], ~bit, __ATOMIC_SEQ_CST);
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
	case EVTCHNOP_close:
	case EVTCHNOP_send:
	case EVTCHNOP_unmask:
		if (domain_copy_from_guest(v->d, &port, arg, sizeof(port)) < 0)
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
	return __atomic_load_n(&v->d->shared->vcpu_info[v->id].evtchn_upcall_pending, __ATOMIC_SEQ_CST);
}

long evtchn_block(struct vcpu *v)
{
	struct domain *d = v->d;

	pthread_mutex_lock(&d->lock);
	v->blocked = true;
	domain_note_blocked(d);
	while (!upcall_pending(v) && !d->stop_requested && !vcpu_must_stop(v))
		pthread_cond_wait(&v->wake, &d->lock);
	v->blocked = false;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

long evtchn_poll(struct vcpu *v, uint64_t arg)
{
	struct domain *d = v->d;
	uint32_t ports[SCHED_POLL_MAX_PORTS];
	struct sched_poll p;
	struct timespec deadline;
	long ret = -XEN_ETIMEDOUT;

	if (domain_copy_from_guest(d, &p, arg, sizeof(p)) < 0)
		return -XEN_EFAULT;
	if (p.nr_ports > SCHED_POLL_MAX_PORTS || (p.nr_ports == 0 && p.timeout_ns == 0))
		return -XEN_EINVAL;
	if (p.nr_ports && domain_copy_from_guest(d, ports, p.ports, p.nr_ports * sizeof(ports[0])) < 0)
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
	pthread_mutex_lock(&d->lock);
	v->blocked = true;
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
	pthread_mutex_unlock(&d->lock);
	return ret;
}
