// SPDX-License-Identifier: MIT
/* The linux kind: an unmodified bzImage (linux.h has the builder and the layout). */
#include "kind.h"

#include <linux/kvm.h>
#include <sys/ioctl.h>

#include "domain.h"
#include "linux.h"
#include "xenhvm.h"

/* COM1's transmitter: straight to the domain's console. */
static void com1_tx(void *opaque, uint8_t byte)
{
	struct domain *d = opaque;
	char c = (char)byte;

	console_write(&d->console, &c, 1);
}

static void com1_irq(void *opaque, bool level)
{
	struct domain *d = opaque;
	struct kvm_irq_level irq = { .irq = UART_COM1_IRQ, .level = level };

	ioctl(d->vm_fd, KVM_IRQ_LINE, &irq);
}

/* The console is COM1; its devices (and the ACPI PM's) start from power-on state on every build. */
static int linux_connect(struct domain *d, struct errbuf *eb)
{
	struct linux_guest *lx = d->guest_kind_data;

	(void)eb;
	linux_ports_reset(&lx->ports, com1_tx, com1_irq, d);
	if (d->xh)
		xenhvm_reset(d);
	return 0;
}

static bool linux_entry(struct domain *d, struct vcpu *v, uint64_t rip, struct kvm_regs *r)
{
	(void)rip; /* the 64-bit entry of the boot protocol, whatever the image's ELF says */
	return linux_entry_regs(d, v, r);
}

static int linux_request_shutdown(struct domain *d, uint32_t request, struct errbuf *eb)
{
	(void)request;
	return errbuf_set(eb, ENOTSUP, "domain '%s' is a Linux guest, which Xenith cannot ask "
			  "to shut down yet (no ACPI power button); power it off from inside, "
			  "or use `xenith destroy %s`", d->cfg.name, d->cfg.name);
}

static bool linux_probe(const void *image, size_t size)
{
	return linux_is_bzimage(image, size);
}

const struct domain_kind kind_linux = {
	.name = "linux",
	.probe = linux_probe,
	.open = linux_open,
	.close = linux_close,
	.vm_init = linux_vm_init,
	.populate = linux_populate,
	.connect = linux_connect,
	.setup_vcpu = linux_setup_vcpu,
	.entry_regs = linux_entry,
	.pio = linux_pio,
	.request_shutdown = linux_request_shutdown,
	.triple_fault = "the Linux kernel took an exception it could not handle (or reset the CPU "
			"that way)",
	.all_vcpus_at_start = true,
};
