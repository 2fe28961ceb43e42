/* SPDX-License-Identifier: MIT */
/*
 * A backend that does nothing but answer: bound to a guest's unbound port
 * like any backend (eventfd kicks), it sets the port pending again for
 * every kick it reads.  The kvm tier's way to test event channels across
 * threads (xenith_test XENITH_TEST_EVTCHN_LOOPBACK).
 *
 * It is a device ("loopback", device.h) of every domain with test hooks
 * (XENITH_TEST_HOOKS=1): idle until the hypercall starts it, stopped when
 * the device disconnects (every teardown).
 */
#ifndef XENITH_HV_LOOPBACK_H
#define XENITH_HV_LOOPBACK_H

#include <stdbool.h>
#include <stdint.h>

struct domain;

/* 0, or -EBUSY (one per domain), -EINVAL (not an unbound port), -ENOSYS (no test hooks), -errno. */
int evtchn_loopback_start(struct domain *d, uint32_t port);
/* Stops it, if it runs (the device's disconnect; the fuzzer between inputs). */
void evtchn_loopback_stop(struct domain *d);
/* Whether it runs (started and not stopped); takes no lock. */
bool evtchn_loopback_running(struct domain *d);

#endif
