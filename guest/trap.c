// SPDX-License-Identifier: MIT
/*
 * CPL-0 mode (guest_cpl = 0, VT-x/AMD-V hosts): minios's own IDT, so that
 * the guest reports its exceptions itself, and the upcall vector through
 * which the VMM delivers event channels as interrupts (Xen's HVM callback
 * vector).  At CPL 3 (the default) none of this is used: the VMM's stub
 * IDT reports exceptions, and events are found by polling.
 *
 * Built with -mgeneral-regs-only: an upcall interrupts code that may hold
 * live SSE/AVX registers, and this file must not touch them.  The
 * exception path calls printf, which may; it never returns.  Event
 * handlers run in the upcall and must keep to general registers too
 * (evtchn_count_events() is one that does).
 */
#include "hypercall.h"
#include "minios.h"
#include "xenith/exceptions.h"

#define UPCALL_VECTOR 0xf3 /* = MINIOS_UPCALL_VECTOR in entry.S */
#define NR_VECTORS 256
#define KERNEL_CS 0x10     /* the builder's GDT */

struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rdi, rsi, rbp, rbx, rdx, rcx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

struct idt_gate {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, zero;
};
_Static_assert(sizeof(struct idt_gate) == 16, "64-bit IDT gate");

extern const char trap_stubs[], upcall_stub[];

static struct idt_gate idt[NR_VECTORS] __attribute__((aligned(16)));
static evtchn_handler_t handlers[XENITH_NR_EVTCHN];
static uint64_t counts[XENITH_NR_EVTCHN];
static volatile uint64_t nr_upcalls;

/* smp_processor_id(), here so that the upcall path stays in this file. */
static unsigned this_vcpu(void)
{
	uint64_t sp;

	__asm__ volatile("mov %%rsp, %0" : "=r"(sp));
	return (unsigned)((sp - start_info->stack_base) / start_info->stack_stride);
}

static void count_event(uint32_t port)
{
	__atomic_fetch_add(&counts[port], 1, __ATOMIC_RELAXED);
}

unsigned current_cpl(void)
{
	uint16_t cs;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	return cs & 3;
}

static void set_gate(unsigned vector, const void *handler)
{
	uint64_t a = (uint64_t)(uintptr_t)handler;

	idt[vector] = (struct idt_gate){
		.off_lo = (uint16_t)a, .sel = KERNEL_CS, .ist = 0,
		.type = 0x8e, /* present, DPL 0, 64-bit interrupt gate: IF cleared on entry */
		.off_mid = (uint16_t)(a >> 16), .off_hi = (uint32_t)(a >> 32),
	};
}

void trap_load_idt(void)
{
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) idtr = {
		.limit = sizeof(idt) - 1, .base = (uint64_t)(uintptr_t)idt,
	};

	__asm__ volatile("lidt %0" : : "m"(idtr));
}

int trap_init(void)
{
	struct xen_hvm_param p = {
		.domid = XENITH_DOMID_SELF, .index = HVM_PARAM_CALLBACK_IRQ,
		.value = (HVM_PARAM_CALLBACK_TYPE_VECTOR << 56) | UPCALL_VECTOR,
	};

	if (current_cpl() != 0)
		return -XEN_EPERM;
	for (unsigned v = 0; v < 32; v++)
		set_gate(v, trap_stubs + 16 * v);
	set_gate(UPCALL_VECTOR, upcall_stub);
	trap_load_idt();
	return (int)hypercall2(__HYPERVISOR_hvm_op, HVMOP_set_param, (uint64_t)(uintptr_t)&p);
}

void evtchn_set_handler(uint32_t port, evtchn_handler_t fn)
{
	if (port < XENITH_NR_EVTCHN)
		__atomic_store_n(&handlers[port], fn, __ATOMIC_RELEASE);
}

void evtchn_count_events(uint32_t port)
{
	evtchn_set_handler(port, count_event);
}

uint64_t evtchn_event_count(uint32_t port)
{
	return port < XENITH_NR_EVTCHN ? __atomic_load_n(&counts[port], __ATOMIC_RELAXED) : 0;
}

uint64_t trap_upcalls(void)
{
	return nr_upcalls;
}

/*
 * The upcall: clear the summary first (a later event sets it again and is
 * delivered anew), then run the handler of every pending, unmasked port
 * that has one.  Ports without a handler stay pending for whoever polls them.
 */
static void upcall(void)
{
	unsigned vcpu = this_vcpu();
	struct xenith_vcpu_info *vi = &shared_info->vcpu_info[vcpu];
	uint64_t sel;

	nr_upcalls++;
	__atomic_store_n(&vi->evtchn_upcall_pending, 0, __ATOMIC_SEQ_CST);
	sel = __atomic_exchange_n(&vi->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
	while (sel) {
		unsigned w = (unsigned)__builtin_ctzll(sel);
		uint64_t bits = __atomic_load_n(&shared_info->evtchn_pending[w], __ATOMIC_SEQ_CST) &
				~__atomic_load_n(&shared_info->evtchn_mask[w], __ATOMIC_SEQ_CST);

		sel &= sel - 1;
		while (bits) {
			uint32_t port = w * 64 + (uint32_t)__builtin_ctzll(bits);
			evtchn_handler_t fn = __atomic_load_n(&handlers[port], __ATOMIC_ACQUIRE);

			bits &= bits - 1;
			uint64_t bit = 1ull << (port % 64);

			if (fn && (__atomic_fetch_and(&shared_info->evtchn_pending[w], ~bit,
						      __ATOMIC_SEQ_CST) & bit))
				fn(port);
		}
	}
}


static noreturn_fn void exception(const struct trap_frame *f)
{
	const char *name = xenith_exception_name(f->vector);
	uint64_t cr2 = 0;

	if (f->vector == 14)
		__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	printf("minios: exception %s on vCPU %u at CPL 0: error 0x%llx, rip 0x%llx, rsp 0x%llx",
	       name, smp_processor_id(), (unsigned long long)f->error, (unsigned long long)f->rip,
	       (unsigned long long)f->rsp);
	if (f->vector == 14)
		printf(", address 0x%llx", (unsigned long long)cr2);
	printf("\n");
	shutdown(SHUTDOWN_crash);
}

void trap_dispatch(struct trap_frame *f);
void trap_dispatch(struct trap_frame *f)
{
	if (f->vector == UPCALL_VECTOR) {
		upcall();
		return;
	}
	exception(f);
}
