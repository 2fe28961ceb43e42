/* SPDX-License-Identifier: MIT */
/*
 * A 16550A UART on port I/O, enough for Linux's 8250 driver: transmit
 * goes to a sink at once (the transmitter is always empty), no receive
 * data, interrupts through a callback that drives the IRQ line level
 * (high while an interrupt is pending).  Loopback mode reflects MCR into
 * MSR as the driver's probe expects.  As a device on a port bus
 * (uart8250_attach) it takes the lock it was given around every access;
 * called directly it is not thread-safe: callers serialize.
 */
#ifndef XENITH_HV_UART8250_H
#define XENITH_HV_UART8250_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "iobus.h"

#define UART_COM1_BASE 0x3f8
#define UART_COM1_IRQ 4
#define UART_NR_PORTS 8

struct uart8250 {
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	bool thre_pending;  /* a transmitter-empty interrupt is waiting for an IIR read */
	bool irq_level;     /* the level last given to set_irq */
	void (*tx)(void *opaque, uint8_t byte);
	void (*set_irq)(void *opaque, bool level);
	void *opaque;
	pthread_mutex_t *lock; /* uart8250_attach(): held by the bus handler; kept by uart8250_init */
};

void uart8250_init(struct uart8250 *u, void (*tx)(void *, uint8_t),
		   void (*set_irq)(void *, bool), void *opaque);
/* offset is port - base, 0..7 */
uint8_t uart8250_read(struct uart8250 *u, unsigned offset);
void uart8250_write(struct uart8250 *u, unsigned offset, uint8_t value);

/*
 * Claims its UART_NR_PORTS ports at base on bus under name; the handler
 * holds lock around each exit's accesses (rep ins/outs one by one).
 */
int uart8250_attach(struct uart8250 *u, struct iobus *bus, const char *name, uint16_t base,
		    pthread_mutex_t *lock, struct errbuf *eb);

#endif
