/* SPDX-License-Identifier: MIT */
/*
 * A backend that does nothing but answer: bound to a guest's unbound port
 * like any backend (eventfd kicks), it sets the port pending again for
 * every kick it reads.  The kvm tier's way to test event channels across
 * threads (xenith_test XENITH_TEST_EVTCHN_LOOPBACK).
 */
#ifndef XENITH_HV_LOOPBACK_H
#define XENITH_HV_LOOPBACK_H

#include <stdint.h>

struct domain;

/* 0, or -EBUSY (one per domain), -EINVAL (not an unbound port), -errno. */
int evtchn_loopback_start(struct domain *d, uint32_t port);
/* Stops and frees it, if any (domain teardown). */
void evtchn_loopback_stop(struct domain *d);

#endif
