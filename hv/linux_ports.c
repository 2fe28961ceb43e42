// SPDX-License-Identifier: MIT
#include "linux_ports.h"

#include <string.h>

#include "acpi.h"

static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }

void linux_ports_init(struct linux_ports *lp)
{
	memset(lp, 0, sizeof(*lp));
	pthread_mutex_init(&lp->lock, NULL);
}

void linux_ports_destroy(struct linux_ports *lp)
{
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

/* ACPI PM1 registers: a status/enable pair and the control register. */
static uint32_t pm_read(struct linux_ports *lp, unsigned port, unsigned size)
{
	uint8_t regs[6];

	put16(regs, lp->pm1_sts);
	put16(regs + 2, lp->pm1_en);
	put16(regs + 4, lp->pm1_cnt);
	port -= ACPI_PM1A_EVT_PORT;
	if (port + size > sizeof(regs))
		return 0xffffffffu;
	return size == 1 ? regs[port] : size == 2 ? get16(regs + port) : get32(regs + port);
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

enum linux_port_action linux_ports_io(struct linux_ports *lp, uint16_t port, unsigned size,
				      bool in, uint32_t count, uint8_t *data)
{
	enum linux_port_action action = LINUX_PORT_NONE;

	if (size != 1 && size != 2 && size != 4)
		return LINUX_PORT_NONE; /* KVM gives no other size; val below holds 4 bytes */
	pthread_mutex_lock(&lp->lock);
	for (uint32_t i = 0; i < count; i++, data += size) {
		uint32_t val = 0;

		if (!in)
			memcpy(&val, data, size);
		if (port >= UART_COM1_BASE && port < UART_COM1_BASE + UART_NR_PORTS) {
			if (in)
				memset(data, uart8250_read(&lp->com1, port - UART_COM1_BASE), size);
			else
				uart8250_write(&lp->com1, port - UART_COM1_BASE, (uint8_t)val);
		} else if (port >= ACPI_PM1A_EVT_PORT && port < ACPI_PM1A_CNT_PORT + 2) {
			if (in) {
				val = pm_read(lp, port, size);
				memcpy(data, &val, size);
			} else if (pm_write(lp, port, size, val))
				action = LINUX_PORT_POWEROFF;
		} else if (port == ACPI_RESET_PORT && !in && size == 1 && (val & 0x04)) {
			action = LINUX_PORT_RESET; /* the FADT reset register, or a PCI-style 0xcf9 reset */
		} else if (port == 0x64 && !in && size == 1 && val == 0xfe) {
			action = LINUX_PORT_RESET; /* keyboard-controller reset pulse */
		} else if (in) {
			memset(data, 0xff, size); /* nothing here */
		}
	}
	pthread_mutex_unlock(&lp->lock);
	return action;
}
