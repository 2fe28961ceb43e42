/* SPDX-License-Identifier: MIT */
/*
 * unit tier: domains built without KVM (domain_create_unbacked) from the
 * bundled minios ($XENITH_MINIOS, which meson test sets), and hypercalls
 * made on their vCPUs' registers, as a guest's would arrive.
 */
#ifndef XENITH_TESTS_UNBACKED_H
#define XENITH_TESTS_UNBACKED_H

#include <stdbool.h>
#include <stdint.h>

#include "domain.h"

/*
 * A domain "unit" (id 7) with vcpus vCPUs; a benchmark domain if bench;
 * test_hooks: as a VMM started with XENITH_TEST_HOOKS=1 builds it.  Fails
 * the test when it cannot be built.  domain_destroy() frees it.
 */
struct domain *unbacked_domain(unsigned vcpus, const struct bench_sink *bench, bool test_hooks);

/* One hypercall op(a1..a5) on vCPU v's registers, through hypercall_dispatch; returns RAX. */
long unbacked_call(struct vcpu *v, uint32_t op, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
		   uint64_t a5);

#endif
