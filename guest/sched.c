// SPDX-License-Identifier: MIT
/* Scheduling hypercalls: shutdown, block, poll, yield; and the GUEST_ASSERT report. */
#include "assert.h"
#include "hypercall.h"
#include "minios.h"

noreturn_fn void shutdown(unsigned reason)
{
	struct sched_shutdown s = { .reason = reason, .code = 0 };

	HYPERVISOR_sched_op(SCHEDOP_shutdown, &s);
	for (;;)
		; /* the VMM stops this vCPU; nothing to return to */
}

noreturn_fn void poweroff(unsigned code)
{
	struct sched_shutdown s = { .reason = SHUTDOWN_poweroff, .code = code };

	HYPERVISOR_sched_op(SCHEDOP_shutdown, &s);
	for (;;)
		;
}

void sched_yield(void)
{
	HYPERVISOR_sched_op(SCHEDOP_yield, 0);
}

void sched_block(void)
{
	HYPERVISOR_sched_op(SCHEDOP_block, 0);
}

long sched_poll(const uint32_t *ports, unsigned nr, uint64_t timeout_ns)
{
	struct sched_poll p = {
		.ports = (uint64_t)(uintptr_t)ports,
		.nr_ports = nr,
		.timeout_ns = timeout_ns,
	};

	return HYPERVISOR_sched_op(SCHEDOP_poll, &p);
}

noreturn_fn void guest_assert_fail(const char *file, unsigned line, const char *expr, const char *fmt,
				   ...)
{
	char msg[256] = "";

	if (fmt) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
	}
	hypercall5(__HYPERVISOR_xenith_guest_assert, (uint64_t)(uintptr_t)file, line,
		   (uint64_t)(uintptr_t)expr, fmt ? (uint64_t)(uintptr_t)msg : 0, 0);
	for (;;)
		;
}
