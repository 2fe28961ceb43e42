/* SPDX-License-Identifier: MIT */
/*
 * What the VMM adds to a domain started by `xenith bench`: the result
 * sink behind the bench_report hypercall, the doorbell ioeventfd, the
 * event-channel echo thread and the shared-memory echo responder used to
 * measure exit costs from inside the guest.
 */
#ifndef XENITH_HV_BENCH_HOOKS_H
#define XENITH_HV_BENCH_HOOKS_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

struct domain;
struct vcpu;

struct bench_sink {
	/* Called on the vCPU's thread for every bench_report hypercall. */
	void (*report)(void *opaque, struct domain *d, uint32_t case_id, uint32_t rep, double value);
	void *opaque;
};

/*
 * The hooks are a device ("bench", device.h), created for a domain whose
 * domain_opts.bench is set: connect adds the doorbell and echo ioeventfds
 * (not for an unbacked domain) and starts the echo thread; disconnect
 * stops the echo thread and the shared-memory responder (they touch guest
 * memory).  A benchmark domain ends instead of restarting: its create sets
 * every on_* action to destroy.
 */

/* True for a domain started by `xenith bench` (it has the bench device). */
bool bench_hooks_present(struct domain *d);

/* Hypercall bodies. */
long bench_report(struct vcpu *v, uint64_t case_id, uint64_t rep, uint64_t value_bits);
long bench_shmem_echo(struct vcpu *v, uint64_t gpa, uint64_t count);

#endif
