// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the Xen HVM interface a Linux guest sees (hv/xenhvm.c):
 * xenhvm_hypercall() with guest-virtual pointer arguments, translated
 * through page tables in guest memory that the input may rewrite.  The
 * domain is built here by hand (no KVM, no image): MEM_PAGES pages of
 * guest memory, three vCPUs whose paging registers the harness sets
 * (CR3 = PML4_GPA; long mode), the event-channel table, the xenhvm state.
 * The page tables map virtual [0, 1 GiB) one to one with a 1 GiB page and
 * 0xffffffff80000000 onto guest-physical 0 with a 2 MiB page, as Linux's
 * direct map and kernel map do; the input may overwrite them like any
 * other guest memory.
 *
 * Input (little-endian; zeroes past the end): records, each a u8 kind (v % 2):
 *   0 write  u16 offset (in guest memory, % its size), u8 len, len bytes
 *   1 call   u8 vcpu (% 3), u8 op (% NR_OPS: the `ops` list, the last a
 *            raw u8 op number), then 3 args, each a u8 selector (% 7) and
 *            what it reads:
 *              0 u8 small value   1 u16 offset: a direct-map address in memory
 *              2 u16 offset: the kernel-map alias   3 u64 raw value
 *              4 u8 k: the end of memory minus k (a struct that runs off it)
 *              5 u8 k: a page boundary minus k      6 u8 k: a non-canonical address plus k
 * sched_op is made only with yield, block and poll (the domain is stopping,
 * so block and poll return at once); shutdown and console_io need a
 * domain this harness does not build.
 *
 * After every call:
 *   - RAX is a success value (>= 0) or one of the errors the handlers give;
 *     xen_version(XENVER_version) is XENITH_XEN_MAJOR.MINOR;
 *   - guest memory changed only in the pages the pointer arguments
 *     translate to (the first 1 KiB from each), the shared_info page and the
 *     vcpu_infos (before or after the call);
 *   - shared_info's event words and every vcpu_info lie inside guest
 *     memory, pending 512 bytes below mask; upcall vectors are 0 or >= 16;
 *   - the event-channel table is consistent (port 0 reserved, every bound
 *     port's vCPU exists, virq_port[] points at its own VIRQ ports, no
 *     per-vCPU VIRQ in it).
 */
#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "evtchn.h"
#include "fuzz.h"
#include "unwind.h"
#include "xenhvm.h"
#include "xenith/abi.h"
#include "xenith/xen_hvm.h"

#define MEM_PAGES 16u
#define MEM_SIZE (MEM_PAGES * 4096ull)
#define NR_VCPUS 3u
#define PML4_GPA 0x1000ull
#define PDPT_LOW_GPA 0x2000ull
#define PDPT_HIGH_GPA 0x3000ull
#define PD_HIGH_GPA 0x4000ull
#define KMAP 0xffffffff80000000ull
#define ARG_WINDOW 1040u /* the largest argument struct (capabilities, 1024) and some */

static struct domain *D;
static struct kvm_run runs[NR_VCPUS];
static uint8_t before[MEM_SIZE];

static const uint32_t ops[] = {
	__HYPERVISOR_xen_version, __HYPERVISOR_memory_op, __HYPERVISOR_vcpu_op, __HYPERVISOR_hvm_op,
	__HYPERVISOR_event_channel_op, __HYPERVISOR_sched_op, __HYPERVISOR_grant_table_op, 0xffffffffu,
};
#define NR_OPS (sizeof(ops) / sizeof(ops[0]))

static void put64(uint64_t gpa, uint64_t v)
{
	memcpy(D->mem + gpa, &v, 8);
}

static void reset(void)
{
	memset(D->mem, 0, MEM_SIZE);
	put64(PML4_GPA, PDPT_LOW_GPA | 3);
	put64(PML4_GPA + 511 * 8, PDPT_HIGH_GPA | 3);
	put64(PDPT_LOW_GPA, 0 | 0x83);                /* 1 GiB page at 0 */
	put64(PDPT_HIGH_GPA + 510 * 8, PD_HIGH_GPA | 3);
	put64(PD_HIGH_GPA, 0 | 0x83);                 /* 2 MiB page at 0 */
	evtchn_init(&D->evtchn);
	for (unsigned i = 0; i < NR_VCPUS; i++) {
		struct vcpu *v = &D->vcpus[i];

		atomic_store(&v->vcpu_info, NULL);
		atomic_store(&v->upcall_vector, 0);
	}
	xenhvm_reset(D);
}

static void setup(void)
{
	struct errbuf eb;

	D = calloc(1, sizeof(*D));
	D->mem = aligned_alloc(4096, MEM_SIZE);
	D->mem_size = MEM_SIZE;
	D->vm_fd = -1;
	D->domid = 1;
	D->nr_vcpus = NR_VCPUS;
	D->vcpus = calloc(NR_VCPUS, sizeof(*D->vcpus));
	atomic_store(&D->stop_requested, true); /* block and poll return at once */
	snprintf(D->cfg.name, sizeof(D->cfg.name), "fuzz");
	pthread_mutex_init(&D->lock, NULL);
	iobus_init(&D->pio, "port");
	for (unsigned i = 0; i < NR_VCPUS; i++) {
		struct vcpu *v = &D->vcpus[i];

		v->d = D;
		v->id = i;
		v->fd = -1;
		v->run = &runs[i];
		pthread_cond_init(&v->wake, NULL);
		v->hc_paging_valid = true;
		v->hc_cr0 = 0x80000011ull; /* PG | ET | PE */
		v->hc_cr3 = PML4_GPA;
		v->hc_cr4 = 1u << 5;       /* PAE */
		v->hc_efer = 0x500;        /* LME | LMA */
	}
	if (xenhvm_open(D, &eb) < 0) {
		fprintf(stderr, "xenhvm_open: %s\n", eb.msg);
		abort();
	}
}

static uint64_t arg(struct fuzz_in *in)
{
	switch (fuzz_u8(in) % 7) {
	case 0: return fuzz_u8(in);
	case 1: return fuzz_u16(in) % MEM_SIZE;
	case 2: return KMAP + fuzz_u16(in) % MEM_SIZE;
	case 3: return fuzz_u64(in);
	case 4: return MEM_SIZE - fuzz_u8(in);
	case 5: return (uint64_t)(1 + fuzz_u8(in) % MEM_PAGES) * 4096 - fuzz_u8(in) % 64;
	default: return 0x0000800000000000ull + fuzz_u8(in);
	}
}

/* Marks the guest-physical pages [gva, gva + ARG_WINDOW) translates to (as the tables are now). */
static void mark_arg(uint64_t gva, bool *page)
{
	struct xp_guest_mem m = { .mem = D->mem, .size = MEM_SIZE };
	struct xp_cpu_state cs = { .cr0 = 0x80000011ull, .cr3 = PML4_GPA, .cr4 = 1u << 5, .efer = 0x500 };

	for (uint64_t off = 0; off < ARG_WINDOW + 4096; off += 4096) {
		uint64_t gpa;

		if (gva + off < gva)
			break;
		if (xp_translate(&m, &cs, gva + off, &gpa) == 0)
			page[gpa / 4096] = true;
	}
}

/* Where the VMM may write on its own: shared_info and the vcpu_infos. */
static void mark_state(bool *page, uint8_t *byte)
{
	uint64_t *pending = atomic_load(&D->evtchn.pending);

	if (pending)
		page[((uint8_t *)pending - D->mem) / 4096] = true;
	for (unsigned i = 0; i < NR_VCPUS; i++) {
		uint8_t *vi = (uint8_t *)atomic_load(&D->vcpus[i].vcpu_info);

		if (vi)
			memset(byte + (vi - D->mem), 1, XEN_VCPU_INFO_SIZE);
	}
}

static void check_state(void)
{
	uint64_t *pending = atomic_load(&D->evtchn.pending), *mask = atomic_load(&D->evtchn.mask);
	const struct evtchn_table *t = &D->evtchn;

	if (pending || mask) {
		FUZZ_CHECK(pending && mask, "one event-word pointer without the other");
		FUZZ_CHECK((uint8_t *)pending >= D->mem && (uint8_t *)mask + 512 <= D->mem + MEM_SIZE,
			   "event words outside guest memory");
		FUZZ_CHECK((uint8_t *)mask - (uint8_t *)pending == 512, "pending and mask are not 512 apart");
		FUZZ_CHECK(((uint8_t *)pending - D->mem) % 4096 == XEN_SHINFO_EVTCHN_PENDING,
			   "pending words not at shared_info's offset");
	}
	for (unsigned i = 0; i < NR_VCPUS; i++) {
		uint8_t *vi = (uint8_t *)atomic_load(&D->vcpus[i].vcpu_info);
		uint8_t vec = atomic_load(&D->vcpus[i].upcall_vector);

		FUZZ_CHECK(!vi || (vi >= D->mem && vi + XEN_VCPU_INFO_SIZE <= D->mem + MEM_SIZE),
			   "vCPU %u's vcpu_info outside guest memory", i);
		FUZZ_CHECK(!vi || (vi - D->mem) % 4096 <= 4096 - XEN_VCPU_INFO_SIZE,
			   "vCPU %u's vcpu_info crosses a page", i);
		FUZZ_CHECK(vec == 0 || vec >= 0x10, "vCPU %u's upcall vector %u", i, vec);
	}
	FUZZ_CHECK(t->port[0].kind == EVTCHN_RESERVED, "port 0 is not reserved");
	for (unsigned p = 1; p < XENITH_NR_EVTCHN; p++) {
		const struct evtchn *e = &t->port[p];

		if (e->kind == EVTCHN_FREE)
			continue;
		FUZZ_CHECK(e->vcpu < NR_VCPUS, "port %u bound to vCPU %u", p, e->vcpu);
		FUZZ_CHECK(e->kind != EVTCHN_BACKEND, "port %u is a backend's: none connects here", p);
	}
	for (unsigned q = 0; q < XENITH_NR_VIRQS; q++) {
		int32_t p = t->virq_port[q];

		if (!p)
			continue;
		FUZZ_CHECK(p > 0 && p < (int32_t)XENITH_NR_EVTCHN && t->port[p].kind == EVTCHN_VIRQ &&
			   t->port[p].virq == q && !t->port[p].percpu, "virq_port[%u] = %d", q, p);
	}
}

static bool allowed_error(long r)
{
	static const long errs[] = { XEN_EFAULT, XEN_EINVAL, XEN_ENOSYS, XEN_ESRCH, XEN_ENOENT,
				     XEN_ENOSPC, XEN_EEXIST, XEN_EPERM, XEN_EINTR, XEN_ETIMEDOUT };

	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
		if (r == -errs[i])
			return true;
	return false;
}

static void call(struct fuzz_in *in)
{
	struct vcpu *v = &D->vcpus[fuzz_u8(in) % NR_VCPUS];
	uint8_t sel = fuzz_u8(in) % NR_OPS;
	uint32_t op = sel == NR_OPS - 1 ? fuzz_u8(in) : ops[sel];
	uint64_t a[3] = { arg(in), arg(in), arg(in) };
	static bool page[MEM_PAGES];
	static uint8_t byte[MEM_SIZE];
	struct kvm_regs *r = &v->run->s.regs.regs;
	long ret;

	if (op == __HYPERVISOR_sched_op && a[0] != SCHEDOP_yield && a[0] != SCHEDOP_block &&
	    a[0] != SCHEDOP_poll)
		a[0] = SCHEDOP_yield;
	if (op == __HYPERVISOR_console_io)
		op = __HYPERVISOR_xen_version;
	memset(page, 0, sizeof(page));
	memset(byte, 0, sizeof(byte));
	for (unsigned i = 0; i < 3; i++)
		mark_arg(a[i], page);
	mark_state(page, byte);
	memcpy(before, D->mem, MEM_SIZE);

	memset(r, 0, sizeof(*r));
	r->rax = op;
	r->rdi = a[0];
	r->rsi = a[1];
	r->rdx = a[2];
	xenhvm_hypercall(v);
	ret = (long)r->rax;

	FUZZ_CHECK(ret >= 0 || allowed_error(ret), "op %u (%llu, 0x%llx, 0x%llx) returned %ld", op,
		   (unsigned long long)a[0], (unsigned long long)a[1], (unsigned long long)a[2], ret);
	if (op == __HYPERVISOR_xen_version && a[0] == XENVER_version)
		FUZZ_CHECK(ret == (long)(XENITH_XEN_MAJOR << 16 | XENITH_XEN_MINOR), "version %ld", ret);
	FUZZ_CHECK(r->rdi == a[0] && r->rsi == a[1] && r->rdx == a[2], "argument registers changed");
	mark_state(page, byte);
	for (uint64_t i = 0; i < MEM_SIZE; i++)
		if (D->mem[i] != before[i])
			FUZZ_CHECK(page[i / 4096] || byte[i], "op %u (%llu, 0x%llx, 0x%llx) wrote guest byte "
				   "0x%llx, which no argument, shared_info or vcpu_info covers", op,
				   (unsigned long long)a[0], (unsigned long long)a[1],
				   (unsigned long long)a[2], (unsigned long long)i);
	check_state();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };

	if (!D)
		setup();
	reset();
	for (unsigned n = 0; in.left && n < 64; n++) {
		if (fuzz_u8(&in) % 2 == 0) {
			uint16_t off = (uint16_t)(fuzz_u16(&in) % MEM_SIZE);
			uint8_t len = fuzz_u8(&in);

			for (unsigned i = 0; i < len; i++) {
				uint8_t b = fuzz_u8(&in);

				if (off + i < MEM_SIZE)
					D->mem[off + i] = b;
			}
		} else {
			call(&in);
		}
	}
	return 0;
}
