// SPDX-License-Identifier: MIT
#include "uart8250.h"

#include <string.h>

/* Register offsets and bits (as in the 16550 data sheet). */
enum { RBR_THR = 0, IER = 1, IIR_FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };
#define IER_RDI 0x01
#define IER_THRI 0x02
#define IIR_NO_INT 0x01
#define IIR_THRI 0x02
#define IIR_FIFO_ENABLED 0xc0
#define FCR_ENABLE_FIFO 0x01
#define LCR_DLAB 0x80
#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

void uart8250_init(struct uart8250 *u, void (*tx)(void *, uint8_t),
		   void (*set_irq)(void *, bool), void *opaque)
{
	pthread_mutex_t *lock = u->lock;

	memset(u, 0, sizeof(*u));
	u->lock = lock;
	u->tx = tx;
	u->set_irq = set_irq;
	u->opaque = opaque;
	u->mcr = MCR_OUT2;
	u->dll = 12; /* 9600 baud, as after a PC BIOS */
}

static uint8_t iir(const struct uart8250 *u)
{
	uint8_t fifo = (u->fcr & FCR_ENABLE_FIFO) ? IIR_FIFO_ENABLED : 0;

	if ((u->ier & IER_THRI) && u->thre_pending)
		return fifo | IIR_THRI;
	return fifo | IIR_NO_INT;
}

/* The line follows IIR: high while an interrupt is pending. */
static void update_irq(struct uart8250 *u)
{
	bool level = !(iir(u) & IIR_NO_INT);

	if (level != u->irq_level) {
		u->irq_level = level;
		if (u->set_irq)
			u->set_irq(u->opaque, level);
	}
}

uint8_t uart8250_read(struct uart8250 *u, unsigned offset)
{
	uint8_t v = 0;

	switch (offset & 7) {
	case RBR_THR:
		v = (u->lcr & LCR_DLAB) ? u->dll : 0; /* nothing is ever received */
		break;
	case IER:
		v = (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
		break;
	case IIR_FCR:
		v = iir(u);
		/* Reading IIR acknowledges a transmitter-empty interrupt. */
		if ((v & 0x0f) == IIR_THRI)
			u->thre_pending = false;
		break;
	case LCR:
		v = u->lcr;
		break;
	case MCR:
		v = u->mcr;
		break;
	case LSR:
		v = LSR_THRE | LSR_TEMT; /* transmit is instant; no data ready */
		break;
	case MSR:
		if (u->mcr & MCR_LOOP)
			v = (uint8_t)(((u->mcr & MCR_DTR) ? MSR_DSR : 0) | ((u->mcr & MCR_RTS) ? MSR_CTS : 0) |
				      ((u->mcr & MCR_OUT1) ? MSR_RI : 0) | ((u->mcr & MCR_OUT2) ? MSR_DCD : 0));
		else
			v = MSR_DCD | MSR_DSR | MSR_CTS;
		break;
	case SCR:
		v = u->scr;
		break;
	}
	update_irq(u);
	return v;
}

void uart8250_write(struct uart8250 *u, unsigned offset, uint8_t value)
{
	switch (offset & 7) {
	case RBR_THR:
		if (u->lcr & LCR_DLAB) {
			u->dll = value;
			break;
		}
		/* In loopback mode output goes to the (absent) receiver, not the line. */
		if (!(u->mcr & MCR_LOOP) && u->tx)
			u->tx(u->opaque, value);
		u->thre_pending = true; /* sent at once: the holding register is empty again */
		break;
	case IER:
		if (u->lcr & LCR_DLAB) {
			u->dlm = value;
			break;
		}
		/* Enabling THRI while the transmitter is empty raises it, as on a 16550. */
		if ((value & IER_THRI) && !(u->ier & IER_THRI))
			u->thre_pending = true;
		u->ier = value & 0x0f;
		break;
	case IIR_FCR:
		u->fcr = value & (uint8_t)~0x06; /* the FIFO reset bits self-clear */
		break;
	case LCR:
		u->lcr = value;
		break;
	case MCR:
		u->mcr = value & 0x1f;
		break;
	case LSR:
	case MSR:
		break; /* read-only */
	case SCR:
		u->scr = value;
		break;
	}
	update_irq(u);
}

/* One byte per access; a read's byte fills the access's width. */
static void uart_io(void *opaque, struct iobus_io *io)
{
	struct uart8250 *u = opaque;

	pthread_mutex_lock(u->lock);
	for (uint32_t i = 0; i < io->count; i++) {
		uint8_t *e = io->data + (size_t)i * io->size;

		if (io->write)
			uart8250_write(u, (unsigned)io->offset, e[0]); /* the low byte (little-endian) */
		else
			memset(e, uart8250_read(u, (unsigned)io->offset), io->size);
	}
	pthread_mutex_unlock(u->lock);
}

int uart8250_attach(struct uart8250 *u, struct iobus *bus, const char *name, uint16_t base,
		    pthread_mutex_t *lock, struct errbuf *eb)
{
	u->lock = lock;
	return iobus_register(bus, name, base, UART_NR_PORTS, uart_io, u, eb);
}
