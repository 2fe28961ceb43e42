/* SPDX-License-Identifier: MIT */
/*
 * What the VMM adds to a domain started by `xenith bench`: the result
 * sink behind the bench_report hypercall, the doorbell ioeventfd, the
 * event-channel echo thread and the shared-memory echo responder used to
 * measure exit costs from inside the guest.
 */
#ifndef XENITH_HV_BENCH_HOOKS_H
#define XENITH_HV_BENCH_HOOKS_H

#include <stdint.h>

#include "err.h"

struct domain;
struct vcpu;

struct bench_sink {
	/* Called on the vCPU's thread for every bench_report hypercall. */
	void (*report)(void *opaque, struct domain *d, uint32_t case_id, uint32_t rep, double value);
	void *opaque;
};

struct domain_bench;

int bench_hooks_setup(struct domain *d, const struct bench_sink *sink, struct errbuf *eb);
void bench_hooks_teardown(struct domain *d);

/* Hypercall bodies. */
long bench_report(struct vcpu *v, uint64_t case_id, uint64_t rep, uint64_t value_bits);
long bench_shmem_echo(struct vcpu *v, uint64_t gpa, uint64_t count);

#endif
