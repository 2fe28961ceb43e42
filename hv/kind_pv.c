// SPDX-License-Identifier: MIT
/*
 * The pv kind: a Xenith PV guest (minios).  Its builder is builder.c's
 * (layout in builder.h); hypercalls come through one port and are the
 * hottest exit, so its port handler checks for them before any lookup.
 */
#include "kind.h"

#include <string.h>

#include "blkdev.h"
#include "builder.h"
#include "domain.h"
#include "hypercall.h"
#include "trap.h"
#include "xsdomain.h"

static bool pv_probe(const void *image, size_t size)
{
	(void)image, (void)size;
	return true; /* the last resort: open() says what is wrong with an image that is not one */
}

static int pv_open(struct domain *d, const char *path, struct errbuf *eb)
{
	int r;

	if (d->cfg.xen_hvm)
		return errbuf_set(eb, EINVAL, "xen_hvm = 1: %s is not a Linux kernel (bzImage); Xen's HVM "
				  "interface is for Linux guests, Xenith PV guests have their own", path);
	r = builder_open_pv(d, path, eb);
	if (r < 0)
		return r;
	d->pv_cpl0 = d->cfg.guest_cpl == 0;
	if (d->pv_cpl0 && !trap_host_supported())
		return errbuf_set(eb, ENOTSUP, "guest_cpl = 0: this host's KVM (%s) runs CPL-0 guest "
				  "code only by emulation, so the PV guest kernel runs at CPL 3 here "
				  "(guest_cpl = 3, the default); CPL 0 needs a VT-x or AMD-V host",
				  kvm_vendor_module());
	r = trap_register(d, eb);
	if (r < 0)
		return r;
	return builder_plan(d, eb);
}

/* The console ring and its event channel, the grant table, the xenstore (the devices connect after them). */
static int pv_connect(struct domain *d, struct errbuf *eb)
{
	int r;

	d->evtchn.port[EVTCHN_CONSOLE_PORT].kind = EVTCHN_CONSOLE;
	r = grant_table_init(&d->gnttab, d->mem, d->mem_size, d->layout.free_start,
			     XENITH_BACKEND_DOMID);
	if (r < 0)
		return errbuf_set(eb, -r, "grant table lock: %s", strerror(-r));
	grant_table_protect(&d->gnttab, d->ro_frames);
	d->gnttab_ready = true;
	return xsdomain_connect(d, eb); /* the devices publish their nodes in it when they connect */
}

static bool pv_entry_regs(struct domain *d, struct vcpu *v, uint64_t rip, struct kvm_regs *r)
{
	r->rip = rip;
	r->rsp = d->layout.stack_base + (uint64_t)(v->id + 1) * d->layout.stack_stride;
	r->rdi = d->layout.start_info;
	r->rsi = v->id;
	/* IOPL 3: port I/O (hypercalls) from CPL 3; IF clear.  CPL 0 needs no IOPL. */
	r->rflags = domain_pv_at_cpl0(d) ? 0x2 : 0x3002;
	return true;
}

static void pv_pio(struct vcpu *v)
{
	struct kvm_run *run = v->run;

	/* The hot path first, before any lookup: a hypercall is most of the exits. */
	if (run->io.port == XENITH_HYPERCALL_PORT && run->io.direction == KVM_EXIT_IO_OUT &&
	    run->io.size == 4 && run->io.count == 1) {
		atomic_store_explicit(&v->last_hypercall, (uint32_t)run->s.regs.regs.rax,
				      memory_order_relaxed);
		prof_hypercall(v, (uint32_t)run->s.regs.regs.rax);
		hypercall_dispatch(v);
		return;
	}
	/* Other ports: the device that claimed them (iobus.h), else none (reads see all ones). */
	iobus_port_io(&v->d->pio, v, run->io.port, run->io.size, run->io.direction == KVM_EXIT_IO_IN,
		      run->io.count, (uint8_t *)run + run->io.data_offset);
}

/* Through VIRQ_CONTROL and shared_info's control_request, if the guest listens. */
static int pv_request_shutdown(struct domain *d, uint32_t request, struct errbuf *eb)
{
	bool bound;

	pthread_mutex_lock(&d->lock);
	bound = d->evtchn.virq_port[VIRQ_CONTROL] > 0;
	if (bound)
		__atomic_store_n(&d->shared->control_request, request, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&d->lock);
	if (!bound || !evtchn_send_virq(d, VIRQ_CONTROL))
		return errbuf_set(eb, ENOTSUP, "domain '%s' does not listen for shutdown requests (it "
				  "has not bound VIRQ_CONTROL); use `xenith destroy %s`",
				  d->cfg.name, d->cfg.name);
	return 0;
}

const struct domain_kind kind_pv = {
	.name = "pv",
	.probe = pv_probe,
	.open = pv_open,
	.populate = builder_populate_pv,
	.connect = pv_connect,
	.setup_vcpu = builder_setup_vcpu,
	.entry_regs = pv_entry_regs,
	.pio = pv_pio,
	.request_shutdown = pv_request_shutdown,
	.triple_fault = "the guest took an exception it cannot handle (PV guests have no IDT)",
	.unbacked_ok = true,
};
