// SPDX-License-Identifier: MIT
#include "trap.h"

#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "builder.h"
#include "domain.h"
#include "kvm.h"
#include "xenith/exceptions.h"

#define PAGE 4096ull
#define STUB_SIZE 16u
#define STUB_COMMON (TRAP_VECTORS * STUB_SIZE)

bool trap_host_supported(void)
{
	const char *m = kvm_vendor_module();

	return !strcmp(m, "kvm_intel") || !strcmp(m, "kvm_amd");
}

static bool pushes_error_code(unsigned v)
{
	return v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 || v == 29 || v == 30;
}


unsigned trap_install(struct domain *d, struct pt_map *maps, unsigned n, uint64_t tss)
{
	uint8_t *stub = d->mem + TRAP_STUB;
	uint64_t *idt = (uint64_t *)(void *)(d->mem + TRAP_IDT);

	for (unsigned v = 0; v < TRAP_VECTORS; v++) {
		uint8_t *p = stub + v * STUB_SIZE;
		uint64_t handler = TRAP_STUB + v * STUB_SIZE;
		int32_t rel;

		if (!pushes_error_code(v)) {
			*p++ = 0x6a; /* push $0: the error code the CPU does not push */
			*p++ = 0x00;
		}
		*p++ = 0x6a; /* push $vector */
		*p++ = (uint8_t)v;
		rel = (int32_t)(STUB_COMMON - (uint32_t)(p + 5 - stub));
		*p++ = 0xe9; /* jmp common */
		memcpy(p, &rel, 4);
		/* 64-bit interrupt gate, DPL 0, kernel code segment, no IST */
		idt[2 * v] = (handler & 0xffff) | ((uint64_t)GDT_KERNEL_CS << 16) | (0x8eull << 40) |
			     (((handler >> 16) & 0xffff) << 48);
		idt[2 * v + 1] = handler >> 32;
	}
	/* common: out %al, $XENITH_EXCEPTION_PORT; then hlt forever (the VMM ends the domain) */
	stub[STUB_COMMON + 0] = 0xe6;
	stub[STUB_COMMON + 1] = XENITH_EXCEPTION_PORT;
	stub[STUB_COMMON + 2] = 0xf4;
	stub[STUB_COMMON + 3] = 0xeb;
	stub[STUB_COMMON + 4] = 0xfd;
	/* TSS RSP0: the exception stack's top */
	{
		uint64_t rsp0 = TRAP_STACK + PAGE;

		memcpy(d->mem + tss + 4, &rsp0, sizeof(rsp0));
	}
	maps[n++] = (struct pt_map){ TRAP_IDT, TRAP_IDT + PAGE, 0 };
	maps[n++] = (struct pt_map){ TRAP_STUB, TRAP_STUB + PAGE, PT_MAP_X | PT_MAP_SUPERVISOR };
	maps[n++] = (struct pt_map){ TRAP_STACK, TRAP_STACK + PAGE, PT_MAP_W | PT_MAP_SUPERVISOR };
	return n;
}

void trap_report(struct vcpu *v)
{
	struct domain *d = v->d;
	struct kvm_regs *r = &v->run->s.regs.regs;
	uint64_t frame[7]; /* vector, error, rip, cs, rflags, rsp, ss */
	struct kvm_sregs s;
	uint64_t cr2 = 0;

	if (r->rsp < TRAP_STACK || r->rsp + sizeof(frame) > TRAP_STACK + PAGE ||
	    domain_copy_from_guest(d, frame, r->rsp, sizeof(frame)) < 0 || frame[0] >= TRAP_VECTORS) {
		domain_crash(d, v, "vCPU %u: an exception with an unreadable frame", v->id);
		return;
	}
	if (ioctl(v->fd, KVM_GET_SREGS, &s) == 0)
		cr2 = s.cr2;
	/* Report the guest's state at the fault, not the stub's. */
	r->rip = frame[2];
	r->rflags = frame[4];
	r->rsp = frame[5];
	if (frame[0] == 14)
		domain_crash(d, v, "vCPU %u exception %s, error 0x%llx, address 0x%llx", v->id,
			     xenith_exception_name(14), (unsigned long long)frame[1], (unsigned long long)cr2);
	else
		domain_crash(d, v, "vCPU %u exception %s (vector %llu), error 0x%llx", v->id,
			     xenith_exception_name(frame[0]),
			     (unsigned long long)frame[0], (unsigned long long)frame[1]);
}

/* Only writes report (the stub's outb); a read is of a port with nothing behind it. */
static void exception_port_io(void *opaque, struct iobus_io *io)
{
	(void)opaque;
	if (io->write)
		trap_report(io->vcpu);
	else
		memset(io->data, 0xff, (size_t)io->size * io->count);
}

int trap_register(struct domain *d, struct errbuf *eb)
{
	return iobus_register(&d->pio, "exception-report", XENITH_EXCEPTION_PORT, 1, exception_port_io,
			      d, eb);
}
