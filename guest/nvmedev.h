/* SPDX-License-Identifier: MIT */
/*
 * An NVMe function passed through to the domain, as minios's programs use
 * it (nvme.c: the `nvme` program; blk_nvme.c: `blk ... pci=I`): found in
 * the store, its BAR 0 mapped, the controller brought up on the driver
 * core (nvme/drv.h) and, when the function has an MSI-X vector and the
 * caller wants it, completions signalled on an event channel.
 */
#ifndef MINIOS_NVMEDEV_H
#define MINIOS_NVMEDEV_H

#include "minios.h"
#include "drv.h"

struct nvme_dev {
	unsigned index;
	char bdf[16], id[16];
	volatile uint8_t *bar0;
	uint64_t bar0_size;
	unsigned msix;        /* vectors the backend offers (xenith-msix-I) */
	uint32_t port;        /* vector 0's event channel, 0: completions are polled */
	bool waiting;         /* I/O or admin commands may be waited for on port (after the bind) */
	struct nvme_ctrl c;
	void *qmem;
	uint64_t events, timeouts; /* waits ended by the event channel, and by the timeout */
};

/*
 * Finds function index in the store, binds vector 0 to an event channel
 * when irq is set and the function has a vector (else polls), and brings
 * the controller up; prints the "nvme: dev ..." line.  0, or -1 after
 * printing why.
 */
int nvme_dev_open(unsigned index, bool irq, struct nvme_dev *d);
/* Re-initialises a controller that failed (nvme_failed): 0 or -1. */
int nvme_dev_reinit(struct nvme_dev *d);
/*
 * Nothing to reap: blocks until the vector's event channel fires (or 100
 * ms pass, counted in timeouts); polled functions just pause.
 */
void nvme_dev_wait(struct nvme_dev *d);
/* Shuts the controller down and unbinds the event channel. */
void nvme_dev_close(struct nvme_dev *d);
/* "msix evtchn P" or "polled", for the programs' output. */
const char *nvme_dev_mode(const struct nvme_dev *d);

#endif
