/* SPDX-License-Identifier: MIT */
/*
 * Event channels, Xen's two-level scheme over shared_info (see
 * include/xenith/shared_info.h).  The table below is the VMM's private
 * view of each port; the pending and mask bits live in guest memory and
 * are only ever touched with atomic read-modify-write operations.
 */
#ifndef XENITH_HV_EVTCHN_H
#define XENITH_HV_EVTCHN_H

#include <stdbool.h>
#include <stdint.h>

#include "xenith/abi.h"
#include "xenith/shared_info.h"

struct domain;
struct vcpu;

enum evtchn_kind {
	EVTCHN_FREE = 0,
	EVTCHN_RESERVED, /* port 0: never valid, as in Xen */
	EVTCHN_VIRQ,     /* the VMM raises it (VIRQ_CONTROL, ...) */
	EVTCHN_CONSOLE,  /* the guest sends it; the VMM drains the console ring */
	EVTCHN_UNBOUND,  /* alloc_unbound: waiting for a backend */
	EVTCHN_BACKEND,  /* connected to a backend in the VMM, which gets kicks on kick_fd */
	EVTCHN_XENSTORE, /* the guest sends it; the VMM's store processes its ring (xsdomain.h) */
	EVTCHN_IPI,      /* bind_ipi: a send sets it pending for its vCPU (Xen HVM guests' IPIs) */
};

struct evtchn {
	uint8_t kind;
	uint8_t virq;
	uint16_t vcpu;    /* the vCPU notified when it becomes pending */
	uint16_t remote_dom;
	bool percpu;      /* EVTCHN_VIRQ: a per-vCPU VIRQ (VIRQ_DEBUG), not in virq_port[] */
	int kick_fd;      /* EVTCHN_BACKEND: an eventfd the guest's sends write to */
};

struct evtchn_table {
	struct evtchn port[XENITH_NR_EVTCHN];
	int32_t virq_port[XENITH_NR_VIRQS]; /* 0 = not bound */
	unsigned nr_polling;                /* vCPUs inside SCHEDOP_poll (d->lock) */
	/*
	 * Where the pending and mask words are: NULL for d->shared's (PV
	 * guests); a Xen HVM guest's shared_info page once it mapped one
	 * (xenhvm.c), before which its ports never become pending.
	 */
	_Atomic(uint64_t *) pending, mask;
};

#define EVTCHN_CONSOLE_PORT 1u
#define EVTCHN_XENSTORE_PORT 2u

/* Every port free but 0 (reserved) and the VMM's own: the console's and the store's. */
void evtchn_init(struct evtchn_table *t);

/* Marks port pending and wakes the vCPU it is bound to; any thread. */
void evtchn_set_pending(struct domain *d, uint32_t port);
/* Raises a virtual IRQ if the guest bound it; false if it did not. */
bool evtchn_send_virq(struct domain *d, unsigned virq);

/*
 * Backends (any thread): connect to the guest's unbound port (0, -EINVAL
 * if it is not one, -EBUSY if taken); each guest send then writes 1 to
 * kick_fd (an eventfd the backend owns).  evtchn_backend_notify() sets the
 * port pending for the guest; false if the guest closed the port meanwhile
 * (its close also writes kick_fd, so a waiting backend notices).
 */
int evtchn_backend_bind(struct domain *d, uint32_t port, int kick_fd);
bool evtchn_backend_notify(struct domain *d, uint32_t port, int kick_fd);
void evtchn_backend_unbind(struct domain *d, uint32_t port, int kick_fd);

/* Hypercall bodies (called from the vCPU's thread). */
long evtchn_op(struct vcpu *v, uint64_t cmd, uint64_t arg);
long evtchn_block(struct vcpu *v);
long evtchn_poll(struct vcpu *v, uint64_t arg);

#endif
