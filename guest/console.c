// SPDX-License-Identifier: MIT
/*
 * Console: bytes go into the shared ring (xenith/console.h); a newline or
 * a full ring kicks the VMM, which drains the ring inside that hypercall.
 */
#include "hypercall.h"
#include "minios.h"

static struct xenith_console_ring *ring;
static struct spinlock lock = SPINLOCK_INIT;

void console_init(void)
{
	ring = (struct xenith_console_ring *)(uintptr_t)start_info->console_ring;
}

static void kick(void)
{
	struct evtchn_send send = { .port = start_info->console_evtchn };

	HYPERVISOR_event_channel_op(EVTCHNOP_send, &send);
}

void console_write(const char *s, size_t len)
{
	bool newline = false;

	if (!ring) { /* before console_init: the direct, slow path */
		HYPERVISOR_console_io(CONSOLEIO_write, len, s);
		return;
	}
	spin_lock(&lock);
	while (len) {
		/* Acquire pairs with the VMM's release of out_cons: slots before it are free. */
		uint32_t cons = __atomic_load_n(&ring->out_cons, __ATOMIC_ACQUIRE);
		uint32_t prod = ring->out_prod;
		uint32_t space = XENITH_CONS_OUT_SIZE - (prod - cons);

		if (space == 0) {
			kick();
			continue;
		}
		while (space && len) {
			char c = *s++;

			ring->out[MASK_XENCONS_IDX(prod++, XENITH_CONS_OUT_SIZE)] = c;
			newline |= c == '\n';
			space--;
			len--;
		}
		/* Release pairs with the VMM's acquire of out_prod: the bytes are visible first. */
		__atomic_store_n(&ring->out_prod, prod, __ATOMIC_RELEASE);
	}
	if (newline)
		kick();
	spin_unlock(&lock);
}

int printf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	console_write(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
	return n;
}
