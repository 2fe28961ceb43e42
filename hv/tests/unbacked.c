// SPDX-License-Identifier: MIT
#include "unbacked.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hypercall.h"

struct domain *unbacked_domain(unsigned vcpus, const struct bench_sink *bench, bool test_hooks)
{
	struct domain_config cfg;
	struct domain_opts opts = { .console_fd = -1, .bench = bench };
	struct errbuf eb;
	struct domain *d = NULL;
	const char *minios = getenv("XENITH_MINIOS");
	int r;

	if (!minios || !*minios)
		fail_msg("XENITH_MINIOS is not set (meson test sets it to the bundled minios)");
	config_init(&cfg);
	snprintf(cfg.name, sizeof(cfg.name), "unit");
	snprintf(cfg.kernel, sizeof(cfg.kernel), "%s", minios);
	cfg.vcpus = vcpus;
	/* domain.c reads it when the domain is built, as the VMM's does */
	if (test_hooks)
		setenv("XENITH_TEST_HOOKS", "1", 1);
	else
		unsetenv("XENITH_TEST_HOOKS");
	r = domain_create_unbacked(&cfg, &opts, 7, &d, &eb);
	unsetenv("XENITH_TEST_HOOKS");
	if (r < 0)
		fail_msg("domain_create_unbacked: %s", eb.msg);
	return d;
}

long unbacked_call(struct vcpu *v, uint32_t op, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
		   uint64_t a5)
{
	struct kvm_regs *r = &v->run->s.regs.regs;

	memset(r, 0, sizeof(*r));
	r->rax = op;
	r->rdi = a1;
	r->rsi = a2;
	r->rdx = a3;
	r->r10 = a4;
	r->r8 = a5;
	hypercall_dispatch(v);
	return (long)r->rax;
}
