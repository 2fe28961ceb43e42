// SPDX-License-Identifier: MIT
/*
 * Unit tests: the Xen HVM interface a Linux guest sees (hv/xenhvm.c), on a
 * domain built by hand (no KVM): guest memory with page tables that map
 * virtual pages where the test says, three vCPUs whose paging registers
 * the test sets, the event-channel table.  Hypercalls go through
 * xenhvm_hypercall() with Xen's registers, as the hypercall page's stubs
 * leave them.  What Linux does at boot, step by step: CPUID, version and
 * features, shared_info, vcpu_info, an IPI port, a send.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <linux/kvm.h>

#include "domain.h"
#include "evtchn.h"
#include "xenhvm.h"
#include "xenith/abi.h"
#include "xenith/xen_hvm.h"

#define PAGE 4096ull
#define MEM_PAGES 64u
#define NR_VCPUS 3u
#define PML4 0x1000ull
#define PDPT 0x2000ull
#define PD 0x3000ull
#define PT 0x4000ull
#define VBASE 0x40000000ull /* the test's virtual window: PT maps 512 pages from here */

static struct domain *D;
static struct kvm_run runs[NR_VCPUS];

static void put64(uint64_t gpa, uint64_t v)
{
	memcpy(D->mem + gpa, &v, 8);
}

/* Virtual page VBASE + i * PAGE maps guest-physical frame f. */
static void map(unsigned i, uint64_t f)
{
	put64(PT + i * 8, f * PAGE | 3);
}

static uint64_t va(unsigned i)
{
	return VBASE + i * PAGE;
}

static int setup(void **state)
{
	struct errbuf eb;

	(void)state;
	D = calloc(1, sizeof(*D));
	D->mem = aligned_alloc(PAGE, MEM_PAGES * PAGE);
	memset(D->mem, 0, MEM_PAGES * PAGE);
	D->mem_size = MEM_PAGES * PAGE;
	D->vm_fd = -1;
	D->domid = 1;
	D->nr_vcpus = NR_VCPUS;
	D->vcpus = calloc(NR_VCPUS, sizeof(*D->vcpus));
	snprintf(D->cfg.name, sizeof(D->cfg.name), "t");
	pthread_mutex_init(&D->lock, NULL);
	iobus_init(&D->pio, "port");
	evtchn_init(&D->evtchn);
	put64(PML4, PDPT | 3);
	put64(PDPT + 1 * 8, PD | 3); /* 1 GiB: VBASE */
	put64(PD, PT | 3);
	for (unsigned i = 0; i < NR_VCPUS; i++) {
		struct vcpu *v = &D->vcpus[i];

		v->d = D;
		v->id = i;
		v->fd = -1;
		v->run = &runs[i];
		pthread_cond_init(&v->wake, NULL);
		v->hc_paging_valid = true;
		v->hc_cr0 = 0x80000011ull;
		v->hc_cr3 = PML4;
		v->hc_cr4 = 1u << 5;
		v->hc_efer = 0x500;
	}
	assert_int_equal(xenhvm_open(D, &eb), 0);
	return 0;
}

static long hcall(unsigned vcpu, uint32_t op, uint64_t a1, uint64_t a2, uint64_t a3)
{
	struct kvm_regs *r = &runs[vcpu].s.regs.regs;

	memset(r, 0, sizeof(*r));
	r->rax = op;
	r->rdi = a1;
	r->rsi = a2;
	r->rdx = a3;
	xenhvm_hypercall(&D->vcpus[vcpu]);
	return (long)r->rax;
}

static void test_cpuid_shows_xen_and_hides_kvm(void **state)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 8 * sizeof(c->entries[0]));
	bool seen[XEN_CPUID_LEAVES] = { false };

	(void)state;
	c->nent = 3;
	c->entries[0] = (struct kvm_cpuid_entry2){ .function = 0, .eax = 0xd };
	c->entries[1] = (struct kvm_cpuid_entry2){ .function = 0x40000000, .ebx = 0x4b4d564b }; /* KVMK */
	c->entries[2] = (struct kvm_cpuid_entry2){ .function = 0x40000001, .eax = 0xffff };
	xenhvm_cpuid(D, &D->vcpus[2], c);
	assert_int_equal(c->nent, 1 + XEN_CPUID_LEAVES);
	assert_int_equal(c->entries[0].function, 0);
	for (unsigned i = 1; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &c->entries[i];
		unsigned leaf = e->function - XEN_CPUID_BASE;

		assert_true(leaf < XEN_CPUID_LEAVES);
		seen[leaf] = true;
		if (leaf == 0) {
			assert_int_equal(e->ebx, 0x566e6558); /* "XenV" */
			assert_memory_equal(&e->ecx, "MMXe", 4);
			assert_memory_equal(&e->edx, "nVMM", 4);
			assert_int_equal(e->eax, XEN_CPUID_BASE + 4);
		} else if (leaf == 1) {
			assert_int_equal(e->eax, 4u << 16 | 17);
		} else if (leaf == 2) {
			assert_int_equal(e->eax, 1);
			assert_int_equal(e->ebx, 0x40000000);
		} else if (leaf == 4) {
			assert_true(e->eax & XEN_HVM_CPUID_UPCALL_VECTOR);
			assert_true(e->eax & XEN_HVM_CPUID_VCPU_ID_PRESENT);
			assert_int_equal(e->ebx, 2); /* this vCPU's id */
		}
	}
	for (unsigned i = 0; i < XEN_CPUID_LEAVES; i++)
		assert_true(seen[i]);
	free(c);
}

static void test_version_and_features(void **state)
{
	struct xen_feature_info fi = { .submap_idx = 0 };
	char extra[16];

	(void)state;
	map(0, 20);
	assert_int_equal(hcall(0, __HYPERVISOR_xen_version, XENVER_version, 0, 0), 4 << 16 | 17);
	memcpy(D->mem + 20 * PAGE + 8, &fi, sizeof(fi));
	assert_int_equal(hcall(0, __HYPERVISOR_xen_version, XENVER_get_features, va(0) + 8, 0), 0);
	memcpy(&fi, D->mem + 20 * PAGE + 8, sizeof(fi));
	assert_int_equal(fi.submap, 1u << XENFEAT_writable_page_tables | 1u << XENFEAT_auto_translated_physmap |
				    1u << XENFEAT_hvm_callback_vector);
	assert_int_equal(hcall(0, __HYPERVISOR_xen_version, XENVER_extraversion, va(0) + 100, 0), 0);
	memcpy(extra, D->mem + 20 * PAGE + 100, sizeof(extra));
	assert_string_equal(extra, ".0-xenith");
	/* an output struct on a virtual page that maps nothing */
	assert_int_equal(hcall(0, __HYPERVISOR_xen_version, XENVER_get_features, va(7), 0), -XEN_EFAULT);
	/* compile_info is not served */
	assert_int_equal(hcall(0, __HYPERVISOR_xen_version, XENVER_compile_info, va(0), 0), -XEN_ENOSYS);
}

/* An argument struct across two virtual pages whose frames are far apart is read from both. */
static void test_an_argument_across_a_page_boundary_is_read_from_both_frames(void **state)
{
	struct xen_hvm_evtchn_upcall_vector u = { .vcpu = 1, .vector = 0xf3 };
	uint8_t *b = (uint8_t *)&u;

	(void)state;
	map(1, 30);
	map(2, 12); /* below 30: not contiguous */
	memcpy(D->mem + 31 * PAGE - 3, b, 3);
	memcpy(D->mem + 12 * PAGE, b + 3, sizeof(u) - 3);
	assert_int_equal(hcall(0, __HYPERVISOR_hvm_op, HVMOP_set_evtchn_upcall_vector, va(2) - 3, 0), 0);
	assert_int_equal(atomic_load(&D->vcpus[1].upcall_vector), 0xf3);
	u.vector = 3; /* an exception vector */
	memcpy(D->mem + 20 * PAGE, &u, sizeof(u));
	assert_int_equal(hcall(0, __HYPERVISOR_hvm_op, HVMOP_set_evtchn_upcall_vector, va(0), 0), -XEN_EINVAL);
	u = (struct xen_hvm_evtchn_upcall_vector){ .vcpu = NR_VCPUS, .vector = 0xf3 };
	memcpy(D->mem + 20 * PAGE, &u, sizeof(u));
	assert_int_equal(hcall(0, __HYPERVISOR_hvm_op, HVMOP_set_evtchn_upcall_vector, va(0), 0), -XEN_ENOENT);
}

static long add_to_physmap(uint32_t space, uint64_t idx, uint64_t gpfn)
{
	struct xen_add_to_physmap x = { .domid = XENITH_DOMID_SELF, .space = space, .idx = idx, .gpfn = gpfn };

	map(3, 21);
	memcpy(D->mem + 21 * PAGE, &x, sizeof(x));
	return hcall(0, __HYPERVISOR_memory_op, XENMEM_add_to_physmap, va(3), 0);
}

static uint32_t bind_ipi(unsigned vcpu)
{
	struct evtchn_bind_ipi b = { .vcpu = vcpu };

	map(4, 22);
	memcpy(D->mem + 22 * PAGE, &b, sizeof(b));
	assert_int_equal(hcall(0, __HYPERVISOR_event_channel_op, EVTCHNOP_bind_ipi, va(4), 0), 0);
	memcpy(&b, D->mem + 22 * PAGE, sizeof(b));
	return b.port;
}

static long send(uint32_t port)
{
	map(4, 22);
	memcpy(D->mem + 22 * PAGE, &port, sizeof(port));
	return hcall(0, __HYPERVISOR_event_channel_op, EVTCHNOP_send, va(4), 0);
}

/*
 * shared_info at a frame Linux picked, then an IPI port bound to vCPU 1
 * and sent: the port's bit in Xen's evtchn_pending (offset 2048), and in
 * vCPU 1's vcpu_info (Xen's 64-byte slot 1) the selector bit and
 * upcall_pending.  Before the page is mapped a send changes nothing.
 */
static void test_shared_info_in_xen_layout_and_an_ipi(void **state)
{
	uint8_t *si = D->mem + 40 * PAGE;
	uint64_t word;
	uint32_t port;

	(void)state;
	port = bind_ipi(1);
	assert_true(port > 0);
	memset(si, 0x5a, PAGE);
	assert_int_equal(send(port), 0);
	assert_int_equal(si[0], 0x5a); /* not mapped yet: nothing written */
	assert_int_equal(add_to_physmap(XENMAPSPACE_shared_info, 1, 40), -XEN_EINVAL);
	assert_int_equal(add_to_physmap(XENMAPSPACE_shared_info, 0, MEM_PAGES), -XEN_EINVAL);
	assert_int_equal(add_to_physmap(XENMAPSPACE_shared_info, 0, 40), 0);
	assert_int_equal(si[0], 0); /* Xen's page starts empty */
	assert_int_equal(send(port), 0);
	memcpy(&word, si + XEN_SHINFO_EVTCHN_PENDING + port / 64 * 8, 8);
	assert_true(word >> (port % 64) & 1);
	assert_int_equal(si[1 * XEN_VCPU_INFO_SIZE], 1); /* vCPU 1's upcall_pending */
	memcpy(&word, si + 1 * XEN_VCPU_INFO_SIZE + 8, 8);
	assert_int_equal(word, 1ull << (port / 64));
	assert_int_equal(si[0], 0); /* vCPU 0's untouched */
	/* masked: pending, but no upcall */
	si[2 * XEN_VCPU_INFO_SIZE] = 0;
	port = bind_ipi(2);
	word = 1ull << (port % 64);
	memcpy(si + XEN_SHINFO_EVTCHN_MASK + port / 64 * 8, &word, 8);
	assert_int_equal(send(port), 0);
	assert_int_equal(si[2 * XEN_VCPU_INFO_SIZE], 0);
	/* grant-table frames are not served yet */
	assert_int_equal(add_to_physmap(XENMAPSPACE_grant_table, 0, 41), -XEN_ENOSYS);
}

/* VCPUOP_register_vcpu_info: moved once, with everything marked pending; events then land there. */
static void test_register_vcpu_info_moves_it_once(void **state)
{
	struct vcpu_register_vcpu_info r = { .mfn = 50, .offset = 0x100 };
	uint8_t *vi = D->mem + 50 * PAGE + 0x100;
	uint64_t sel;
	uint32_t port;

	(void)state;
	assert_int_equal(add_to_physmap(XENMAPSPACE_shared_info, 0, 40), 0);
	map(5, 23);
	memcpy(D->mem + 23 * PAGE, &r, sizeof(r));
	assert_int_equal(hcall(0, __HYPERVISOR_vcpu_op, VCPUOP_register_vcpu_info, 2, va(5)), 0);
	assert_int_equal(vi[0], 1);
	memcpy(&sel, vi + 8, 8);
	assert_int_equal(sel, ~0ull);
	assert_int_equal(hcall(0, __HYPERVISOR_vcpu_op, VCPUOP_register_vcpu_info, 2, va(5)), -XEN_EINVAL);
	r.offset = PAGE - 32; /* would cross the page */
	memcpy(D->mem + 23 * PAGE, &r, sizeof(r));
	assert_int_equal(hcall(0, __HYPERVISOR_vcpu_op, VCPUOP_register_vcpu_info, 1, va(5)), -XEN_EINVAL);
	assert_int_equal(hcall(0, __HYPERVISOR_vcpu_op, VCPUOP_register_vcpu_info, NR_VCPUS, va(5)),
			 -XEN_ENOENT);
	/* an event for vCPU 2 now reaches the new place, not the old slot */
	vi[0] = 0;
	memset(vi + 8, 0, 8);
	D->mem[40 * PAGE + 2 * XEN_VCPU_INFO_SIZE] = 0;
	port = bind_ipi(2);
	assert_int_equal(send(port), 0);
	assert_int_equal(vi[0], 1);
	assert_int_equal(D->mem[40 * PAGE + 2 * XEN_VCPU_INFO_SIZE], 0);
}

static void test_what_is_not_served_is_enosys(void **state)
{
	struct xen_hvm_param p = { .domid = XENITH_DOMID_SELF, .index = HVM_PARAM_STORE_PFN, .value = 77 };

	(void)state;
	assert_int_equal(hcall(0, __HYPERVISOR_grant_table_op, 3, 0, 0), -XEN_ENOSYS);
	assert_int_equal(hcall(0, 41 /* dm_op */, 0, 0, 0), -XEN_ENOSYS);
	assert_int_equal(hcall(0, __HYPERVISOR_xenith_test, XENITH_TEST_ECHO, 5, 0), -XEN_ENOSYS);
	assert_int_equal(hcall(0, __HYPERVISOR_event_channel_op, EVTCHNOP_init_control, 0, 0), -XEN_ENOSYS);
	/* a parameter nobody set reads as 0, as in Xen */
	map(6, 24);
	memcpy(D->mem + 24 * PAGE, &p, sizeof(p));
	assert_int_equal(hcall(0, __HYPERVISOR_hvm_op, HVMOP_get_param, va(6), 0), 0);
	memcpy(&p, D->mem + 24 * PAGE, sizeof(p));
	assert_int_equal(p.value, 0);
	/* the callback via as a GSI is taken (Linux sets it next to its per-vCPU vectors); as a vector, not */
	p = (struct xen_hvm_param){ .domid = XENITH_DOMID_SELF, .index = HVM_PARAM_CALLBACK_IRQ, .value = 1 };
	memcpy(D->mem + 24 * PAGE, &p, sizeof(p));
	assert_int_equal(hcall(0, __HYPERVISOR_hvm_op, HVMOP_set_param, va(6), 0), 0);
	p.value = HVM_PARAM_CALLBACK_TYPE_VECTOR << 56 | 0xf3;
	memcpy(D->mem + 24 * PAGE, &p, sizeof(p));
	assert_int_equal(hcall(0, __HYPERVISOR_hvm_op, HVMOP_set_param, va(6), 0), -XEN_ENOSYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpuid_shows_xen_and_hides_kvm),
		cmocka_unit_test(test_version_and_features),
		cmocka_unit_test(test_an_argument_across_a_page_boundary_is_read_from_both_frames),
		cmocka_unit_test(test_shared_info_in_xen_layout_and_an_ipi),
		cmocka_unit_test(test_register_vcpu_info_moves_it_once),
		cmocka_unit_test(test_what_is_not_served_is_enosys),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
