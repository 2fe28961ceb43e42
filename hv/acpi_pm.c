// SPDX-License-Identifier: MIT
#include "acpi_pm.h"

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

void acpi_pm_reset(struct acpi_pm *pm)
{
	pm->pm1_sts = pm->pm1_en = 0;
	pm->pm1_cnt = ACPI_PM1_SCI_EN;
}

/* The status/enable pair and the control register, as bytes from PM1a_EVT. */
static uint32_t pm1_read(const struct acpi_pm *pm, unsigned off, unsigned size)
{
	uint8_t regs[6];

	put16(regs, pm->pm1_sts);
	put16(regs + 2, pm->pm1_en);
	put16(regs + 4, pm->pm1_cnt);
	if (off + size > sizeof(regs))
		return 0xffffffffu;
	return size == 1 ? regs[off] : size == 2 ? get16(regs + off) : get32(regs + off);
}

/* Returns true when the write asks for power-off (SLP_TYP = S5 with SLP_EN). */
static bool pm1_write(struct acpi_pm *pm, unsigned port, unsigned size, uint32_t v)
{
	if (port == ACPI_PM1A_EVT_PORT && size >= 2) {
		pm->pm1_sts &= (uint16_t)~v; /* write 1 to clear */
		if (size == 4)
			pm->pm1_en = (uint16_t)(v >> 16);
	} else if (port == ACPI_PM1A_EVT_PORT + 2 && size == 2) {
		pm->pm1_en = (uint16_t)v;
	} else if (port == ACPI_PM1A_CNT_PORT && size == 2) {
		pm->pm1_cnt = (uint16_t)((v & ~ACPI_PM1_SLP_EN) | ACPI_PM1_SCI_EN);
		return (v & ACPI_PM1_SLP_EN) && ((v >> 10) & 7) == ACPI_SLP_TYP_S5;
	}
	return false;
}

static void pm1_io(void *opaque, struct iobus_io *io)
{
	struct acpi_pm *pm = opaque;

	pthread_mutex_lock(pm->lock);
	for (uint32_t i = 0; i < io->count; i++) {
		if (!io->write) {
			uint32_t val = pm1_read(pm, (unsigned)io->offset, io->size);

			memcpy(io->data + (size_t)i * io->size, &val, io->size);
		} else if (pm1_write(pm, (unsigned)io->addr, io->size, element(io, i))) {
			io->result = ACPI_PM_POWEROFF;
		}
	}
	pthread_mutex_unlock(pm->lock);
}

/* The FADT reset register (bit 2 of a byte to 0xcf9) and the keyboard controller's 0xfe to 0x64. */
static void reset_io(void *opaque, struct iobus_io *io)
{
	(void)opaque; /* no state: nothing to lock */
	for (uint32_t i = 0; i < io->count; i++) {
		uint32_t val;

		if (!io->write) {
			memset(io->data + (size_t)i * io->size, 0xff, io->size); /* nothing to read */
			continue;
		}
		val = element(io, i);
		if (io->size == 1 && (io->addr == ACPI_RESET_PORT ? (val & 0x04) : val == 0xfe))
			io->result = ACPI_PM_RESET;
	}
}

int acpi_pm_attach(struct acpi_pm *pm, struct iobus *bus, pthread_mutex_t *lock, struct errbuf *eb)
{
	int r;

	pm->lock = lock;
	r = iobus_register(bus, "acpi-pm1", ACPI_PM1A_EVT_PORT,
			   ACPI_PM1A_CNT_PORT + 2 - ACPI_PM1A_EVT_PORT, pm1_io, pm, eb);
	if (r == 0)
		r = iobus_register(bus, "acpi-reset", ACPI_RESET_PORT, 1, reset_io, pm, eb);
	if (r == 0)
		r = iobus_register(bus, "kbc-reset", ACPI_KBC_PORT, 1, reset_io, pm, eb);
	return r;
}

void acpi_pm_detach(struct iobus *bus)
{
	iobus_unregister(bus, ACPI_PM1A_EVT_PORT);
	iobus_unregister(bus, ACPI_RESET_PORT);
	iobus_unregister(bus, ACPI_KBC_PORT);
}
