// SPDX-License-Identifier: MIT
#include "linux_ports.h"

#include <string.h>

_Static_assert((int)LINUX_PORT_POWEROFF == (int)ACPI_PM_POWEROFF &&
	       (int)LINUX_PORT_RESET == (int)ACPI_PM_RESET, "the ACPI device's actions are ours");

int linux_ports_init(struct linux_ports *lp, struct iobus *bus, struct errbuf *eb)
{
	int r;

	memset(lp, 0, sizeof(*lp));
	pthread_mutex_init(&lp->lock, NULL);
	lp->bus = bus;
	r = uart8250_attach(&lp->com1, bus, "com1", UART_COM1_BASE, &lp->lock, eb);
	if (r == 0)
		r = acpi_pm_attach(&lp->pm, bus, &lp->lock, eb);
	return r;
}

void linux_ports_destroy(struct linux_ports *lp)
{
	if (!lp->bus)
		return;
	/* what linux_ports_init() registered, as far as it got (the rest: -ENOENT) */
	iobus_unregister(lp->bus, UART_COM1_BASE);
	acpi_pm_detach(lp->bus);
	lp->bus = NULL;
	pthread_mutex_destroy(&lp->lock);
}

void linux_ports_reset(struct linux_ports *lp, void (*tx)(void *, uint8_t),
		       void (*set_irq)(void *, bool), void *opaque)
{
	pthread_mutex_lock(&lp->lock);
	uart8250_init(&lp->com1, tx, set_irq, opaque);
	acpi_pm_reset(&lp->pm);
	pthread_mutex_unlock(&lp->lock);
}

enum linux_port_action linux_ports_io(struct linux_ports *lp, uint16_t port, unsigned size,
				      bool in, uint32_t count, uint8_t *data)
{
	if (size != 1 && size != 2 && size != 4)
		return LINUX_PORT_NONE; /* KVM gives no other size; handlers hold 4 bytes a value */
	return (enum linux_port_action)iobus_port_io(lp->bus, NULL, port, size, in, count, data);
}
