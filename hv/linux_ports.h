/* SPDX-License-Identifier: MIT */
/*
 * The port-I/O devices of a Linux guest, apart from the vCPU and KVM:
 * COM1 (a 16550A, uart8250.c) and the ACPI power-management device
 * (acpi_pm.c: the PM1 event and control registers, the reset ports), each
 * registering its ranges on the domain's port bus (iobus.h), under one
 * lock.  linux_pio() hands each KVM_EXIT_IO to linux_ports_io(), as unit
 * tests and the fuzz target do: the bus finds the device.
 */
#ifndef XENITH_HV_LINUX_PORTS_H
#define XENITH_HV_LINUX_PORTS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "acpi_pm.h"
#include "err.h"
#include "iobus.h"
#include "uart8250.h"

/* What a port access asks of the domain. */
enum linux_port_action {
	LINUX_PORT_NONE,
	LINUX_PORT_POWEROFF,   /* PM1a_CNT: SLP_TYP = S5 with SLP_EN */
	LINUX_PORT_RESET,      /* 0xcf9 with the reset bit, or 0xfe to port 0x64 */
};

struct linux_ports {
	pthread_mutex_t lock;  /* the devices below; vCPU threads share them */
	struct uart8250 com1;
	struct acpi_pm pm;
	struct iobus *bus;     /* where their ranges are registered */
};

/* Registers the devices' port ranges on bus (-EBUSY if taken, -ENOMEM). */
int linux_ports_init(struct linux_ports *lp, struct iobus *bus, struct errbuf *eb);
/* Unregisters them; copes with a failed or no linux_ports_init() after zeroing. */
void linux_ports_destroy(struct linux_ports *lp);
/* Power-on state; COM1's output goes to tx, its interrupt line to set_irq. */
void linux_ports_reset(struct linux_ports *lp, void (*tx)(void *, uint8_t),
		       void (*set_irq)(void *, bool), void *opaque);

/*
 * count accesses of size bytes (1, 2 or 4) to one port, as KVM_EXIT_IO
 * gives them, through the bus: a write takes its values from data, a
 * read stores them there (size * count bytes); ports no device claims
 * read all ones.  Returns what the last access that asked for something
 * asked for.
 */
enum linux_port_action linux_ports_io(struct linux_ports *lp, uint16_t port, unsigned size,
				      bool in, uint32_t count, uint8_t *data);

#endif
