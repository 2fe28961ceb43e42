// SPDX-License-Identifier: MIT
#include "linux_ports.h"

#include <string.h>

#include "acpi.h"

static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }

/* Element i of an access's data, as the (little-endian) value written. */
static uint32_t element(const struct iobus_io *io, uint32_t i)
{
	uint32_t v = 0;

	memcpy(&v, io->data + (size_t)i * io->size, io->size);
	return v;
}

/* COM1: one byte per access, a read's byte repeated over the access's width. */
static void com1_io(void *opaque, struct iobus_io *io)
{
	struct linux_ports *lp = opaque;

	pthread_mutex_lock(&lp->lock);
	for (uint32_t i = 0; i < io->count; i++) {
		if (io->write)
			uart8250_write(&lp->com1, (unsigned)io->offset, (uint8_t)element(io, i));
		else
			memset(io->data + (size_t)i * io->size,
			       uart8250_read(&lp->com1, (unsigned)io->offset), io->size);
	}
	pthread_mutex_unlock(&lp->lock);
}

/* ACPI PM1 registers: a status/enable pair and the control register. */
static uint32_t pm_read(struct linux_ports *lp, unsigned off, unsigned size)
{
	uint8_t regs[6];

	put16(regs, lp->pm1_sts);
	put16(regs + 2, lp->pm1_en);
	put16(regs + 4, lp->pm1_cnt);
	if (off + size > sizeof(regs))
		return 0xffffffffu;
	return size == 1 ? regs[off] : size == 2 ? get16(regs + off) : get32(regs + off);
}

/* Returns true when the write asks for power-off (SLP_TYP = S5 with SLP_EN). */
static bool pm_write(struct linux_ports *lp, unsigned port, unsigned size, uint32_t v)
{
	if (port == ACPI_PM1A_EVT_PORT && size >= 2) {
		lp->pm1_sts &= (uint16_t)~v; /* write 1 to clear */
		if (size == 4)
			lp->pm1_en = (uint16_t)(v >> 16);
	} else if (port == ACPI_PM1A_EVT_PORT + 2 && size == 2) {
		lp->pm1_en = (uint16_t)v;
	} else if (port == ACPI_PM1A_CNT_PORT && size == 2) {
		lp->pm1_cnt = (uint16_t)((v & ~ACPI_PM1_SLP_EN) | ACPI_PM1_SCI_EN);
		return (v & ACPI_PM1_SLP_EN) && ((v >> 10) & 7) == ACPI_SLP_TYP_S5;
	}
	return false;
}

static void pm1_io(void *opaque, struct iobus_io *io)
{
	struct linux_ports *lp = opaque;

	pthread_mutex_lock(&lp->lock);
	for (uint32_t i = 0; i < io->count; i++) {
		if (!io->write) {
			uint32_t val = pm_read(lp, (unsigned)io->offset, io->size);

			memcpy(io->data + (size_t)i * io->size, &val, io->size);
		} else if (pm_write(lp, (unsigned)io->addr, io->size, element(io, i))) {
			io->result = LINUX_PORT_POWEROFF;
		}
	}
	pthread_mutex_unlock(&lp->lock);
}

/* The FADT reset register (0xcf9, a PCI-style reset) and the keyboard controller's 0x64. */
static void reset_io(void *opaque, struct iobus_io *io)
{
	(void)opaque;
	for (uint32_t i = 0; i < io->count; i++) {
		uint32_t val;

		if (!io->write) {
			memset(io->data + (size_t)i * io->size, 0xff, io->size); /* nothing to read */
			continue;
		}
		val = element(io, i);
		if (io->size == 1 && (io->addr == ACPI_RESET_PORT ? (val & 0x04) : val == 0xfe))
			io->result = LINUX_PORT_RESET;
	}
}

int linux_ports_init(struct linux_ports *lp, struct iobus *bus, struct errbuf *eb)
{
	int r;

	memset(lp, 0, sizeof(*lp));
	pthread_mutex_init(&lp->lock, NULL);
	lp->bus = bus;
	r = iobus_register(bus, "com1", UART_COM1_BASE, UART_NR_PORTS, com1_io, lp, eb);
	if (r == 0)
		r = iobus_register(bus, "acpi-pm1", ACPI_PM1A_EVT_PORT,
				   ACPI_PM1A_CNT_PORT + 2 - ACPI_PM1A_EVT_PORT, pm1_io, lp, eb);
	if (r == 0)
		r = iobus_register(bus, "acpi-reset", ACPI_RESET_PORT, 1, reset_io, lp, eb);
	if (r == 0)
		r = iobus_register(bus, "kbc-reset", 0x64, 1, reset_io, lp, eb);
	return r;
}

void linux_ports_destroy(struct linux_ports *lp)
{
	if (!lp->bus)
		return;
	/* what linux_ports_init() registered, as far as it got (-ENOENT for the rest) */
	iobus_unregister(lp->bus, UART_COM1_BASE);
	iobus_unregister(lp->bus, ACPI_PM1A_EVT_PORT);
	iobus_unregister(lp->bus, ACPI_RESET_PORT);
	iobus_unregister(lp->bus, 0x64);
	lp->bus = NULL;
	pthread_mutex_destroy(&lp->lock);
}

void linux_ports_reset(struct linux_ports *lp, void (*tx)(void *, uint8_t),
		       void (*set_irq)(void *, bool), void *opaque)
{
	pthread_mutex_lock(&lp->lock);
	uart8250_init(&lp->com1, tx, set_irq, opaque);
	lp->pm1_sts = lp->pm1_en = 0;
	lp->pm1_cnt = ACPI_PM1_SCI_EN; /* always in ACPI mode (no SMI_CMD) */
	pthread_mutex_unlock(&lp->lock);
}

enum linux_port_action linux_ports_io(struct linux_ports *lp, uint16_t port, unsigned size,
				      bool in, uint32_t count, uint8_t *data)
{
	if (size != 1 && size != 2 && size != 4)
		return LINUX_PORT_NONE; /* KVM gives no other size; handlers hold 4 bytes a value */
	return (enum linux_port_action)iobus_port_io(lp->bus, NULL, port, size, in, count, data);
}
