/* SPDX-License-Identifier: MIT */
/*
 * vCPU threads: one run loop per vCPU with one switch on the exit reason.
 * Other threads stop a vCPU with vcpu_kick(): immediate_exit plus a signal,
 * so a vCPU about to enter KVM_RUN cannot miss the request.
 */
#ifndef XENITH_HV_VCPU_H
#define XENITH_HV_VCPU_H

#include "domain.h"

/* Installs the kick signal handler; once per process. */
int vcpu_global_init(struct errbuf *eb);

int vcpu_init(struct domain *d, struct vcpu *v, unsigned id, struct errbuf *eb);
void vcpu_fini(struct vcpu *v);

/* Creates v's thread, which parks until v is up (domain_start; d->lock held). */
int vcpu_thread_create(struct vcpu *v, struct errbuf *eb);
/*
 * Brings v up at rip (vCPU 0: the image entry, by domain_start; others:
 * VCPUOP_up).  d->lock held.  0, -EALREADY (up already), -EINTR (the
 * domain is stopping).
 */
int vcpu_up(struct vcpu *v, uint64_t rip);
/* A restored vCPU up with the registers it was given (relocate.c), under d->lock: 0 or -EALREADY. */
int vcpu_up_restored(struct vcpu *v);
/* Makes v leave KVM_RUN (or not enter it) and look at the domain's requests. */
void vcpu_kick(struct vcpu *v);
/* True when v's thread must return (d->lock held or not: a snapshot). */
bool vcpu_must_stop(struct vcpu *v);

#endif
