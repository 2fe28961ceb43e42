/* SPDX-License-Identifier: MIT */
/*
 * The ACPI power-management device of a Linux guest, on its port bus: the
 * PM1a event (status, enable) and control registers the FADT names
 * (acpi.h), and the reset ports (the FADT reset register 0xcf9 and the
 * keyboard controller's 0x64).  Power-off is SLP_TYP = S5 with SLP_EN in
 * PM1a_CNT; the device reports what the guest asked for in the access's
 * result (enum acpi_pm_action), and the caller acts on it.
 */
#ifndef XENITH_HV_ACPI_PM_H
#define XENITH_HV_ACPI_PM_H

#include <pthread.h>
#include <stdint.h>

#include "err.h"
#include "iobus.h"

#define ACPI_KBC_PORT 0x64         /* 0xfe there: the keyboard controller's reset pulse */

enum acpi_pm_action {
	ACPI_PM_NONE,
	ACPI_PM_POWEROFF,  /* PM1a_CNT: SLP_TYP = S5 with SLP_EN */
	ACPI_PM_RESET,     /* 0xcf9 with the reset bit, or 0xfe to port 0x64 */
};

struct acpi_pm {
	uint16_t pm1_sts, pm1_en, pm1_cnt;
	pthread_mutex_t *lock;     /* acpi_pm_attach(): held by the bus handlers */
};

/* Power-on state (always in ACPI mode: SCI_EN set, no SMI_CMD); the caller serializes. */
void acpi_pm_reset(struct acpi_pm *pm);
/* Claims the PM1a block and the two reset ports on bus. */
int acpi_pm_attach(struct acpi_pm *pm, struct iobus *bus, pthread_mutex_t *lock, struct errbuf *eb);
/* Releases what acpi_pm_attach() claimed (as far as it got). */
void acpi_pm_detach(struct iobus *bus);

#endif
