// SPDX-License-Identifier: MIT
/* Xen's HVM guest interface for Linux guests: see xenhvm.h for what is served and why. */
#include "xenhvm.h"

#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "domain.h"
#include "evtchn.h"
#include "hypercall.h"
#include "iobus.h"
#include "unwind.h"
#include "xenith/abi.h"
#include "xenith/xen_hvm.h"

#define PAGE 4096ull
#define LOGGED_MAX 256u /* distinct unserved requests remembered (and said once each) */

struct xenhvm {
	pthread_mutex_t lock;
	uint64_t shared_gpa;            /* the shared_info frame; 0: not mapped yet */
	bool registered[XENITH_MAX_VCPUS]; /* VCPUOP_register_vcpu_info done (once per vCPU, as in Xen) */
	uint16_t unplugged;             /* what the guest asked to unplug (XEN_IOPORT_UNPLUG) */
	uint16_t prodnum;
	unsigned nr_logged;
	uint64_t logged[LOGGED_MAX];    /* (op << 32) | what: -ENOSYS said once */
	bool ports;                     /* the unplug ports are on the bus */
	bool warned;                    /* said that this KVM keeps vmcall/vmmcall hypercalls */
};

/* ---- the unserved: -ENOSYS, and one line the first time ---- */

static const char *xen_op_name(uint32_t op)
{
	static const char *const names[] = {
		[0] = "set_trap_table", [1] = "mmu_update", [2] = "set_gdt", [3] = "stack_switch",
		[4] = "set_callbacks", [5] = "fpu_taskswitch", [7] = "platform_op", [8] = "set_debugreg",
		[9] = "get_debugreg", [10] = "update_descriptor", [12] = "memory_op", [13] = "multicall",
		[14] = "update_va_mapping", [15] = "set_timer_op", [17] = "xen_version",
		[18] = "console_io", [20] = "grant_table_op", [21] = "vm_assist",
		[22] = "update_va_mapping_otherdomain", [23] = "iret", [24] = "vcpu_op",
		[25] = "set_segment_base", [26] = "mmuext_op", [27] = "xsm_op", [28] = "nmi_op",
		[29] = "sched_op", [30] = "callback_op", [31] = "xenoprof_op", [32] = "event_channel_op",
		[33] = "physdev_op", [34] = "hvm_op", [35] = "sysctl", [36] = "domctl", [37] = "kexec_op",
		[38] = "tmem_op", [39] = "argo_op", [40] = "xenpmu_op", [41] = "dm_op", [42] = "hypfs_op",
	};

	return op < sizeof(names) / sizeof(names[0]) && names[op] ? names[op] : NULL;
}

/* The first time op/cmd is asked for, a line on stderr that names it, what it got, and why if known. */
static void say_unserved(struct vcpu *v, uint32_t op, uint64_t cmd, const char *what, const char *answer)
{
	struct xenhvm *xh = v->d->xh;
	uint64_t key = (uint64_t)op << 32 | (cmd & 0xffffffffu);
	const char *name = xen_op_name(op);
	bool said = false;

	pthread_mutex_lock(&xh->lock);
	for (unsigned i = 0; i < xh->nr_logged && !said; i++)
		said = xh->logged[i] == key;
	if (!said && xh->nr_logged < LOGGED_MAX)
		xh->logged[xh->nr_logged++] = key;
	else
		said = true; /* remembered already, or too many to remember: quiet */
	pthread_mutex_unlock(&xh->lock);
	if (!said)
		fprintf(stderr, "xenith: domain '%s': vCPU %u asked for %s%s%u, command %llu%s%s, which "
			"Xenith does not serve: %s\n", v->d->cfg.name, v->id, name ? name : "hypercall ",
			name ? " (hypercall " : "", op, (unsigned long long)cmd, name ? ")" : "",
			what ? what : "", answer);
}

/* -XEN_ENOSYS for op/cmd, said once. */
static long unserved(struct vcpu *v, uint32_t op, uint64_t cmd, const char *what)
{
	say_unserved(v, op, cmd, what, "-ENOSYS");
	return -XEN_ENOSYS;
}

/* ---- guest-virtual arguments ---- */

/* v's paging registers: KVM's, once per hypercall; an unbacked vCPU (fuzz target) keeps what its harness set. */
static int paging(struct vcpu *v, struct xp_cpu_state *cs)
{
	if (!v->hc_paging_valid) {
		struct kvm_sregs s;

		if (v->fd < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
			return -1;
		v->hc_cr0 = s.cr0;
		v->hc_cr3 = s.cr3;
		v->hc_cr4 = s.cr4;
		v->hc_efer = s.efer;
		v->hc_paging_valid = true;
	}
	*cs = (struct xp_cpu_state){ .cr0 = v->hc_cr0, .cr3 = v->hc_cr3, .cr4 = v->hc_cr4,
				     .efer = v->hc_efer };
	return 0;
}

int xenhvm_va_read(struct vcpu *v, void *dst, uint64_t gva, uint64_t len)
{
	struct xp_guest_mem m = { .mem = v->d->mem, .size = v->d->mem_size };
	struct xp_cpu_state cs;

	if (len == 0)
		return 0;
	if (!v->d->mem || paging(v, &cs) < 0)
		return -1;
	return xp_read_guest(&m, &cs, gva, dst, (size_t)len) == 0 ? 0 : -1;
}

/* Each page of [gva, gva + len) translated; with src, len bytes written there. */
static int va_write(struct vcpu *v, uint64_t gva, const void *src, uint64_t len)
{
	struct domain *d = v->d;
	struct xp_guest_mem m = { .mem = d->mem, .size = d->mem_size };
	const uint8_t *s = src;
	struct xp_cpu_state cs;

	if (!d->mem || paging(v, &cs) < 0)
		return -1;
	while (len) {
		uint64_t chunk = PAGE - gva % PAGE, gpa;

		if (chunk > len)
			chunk = len;
		if (xp_translate(&m, &cs, gva, &gpa) < 0 || gpa > d->mem_size - chunk)
			return -1;
		if (s) {
			memcpy(d->mem + gpa, s, chunk);
			s += chunk;
		}
		len -= chunk;
		if (len && gva + chunk < gva)
			return -1; /* no wrap past the top of the address space */
		gva += chunk;
	}
	return 0;
}

int xenhvm_va_write(struct vcpu *v, uint64_t gva, const void *src, uint64_t len)
{
	return va_write(v, gva, src, len);
}

bool xenhvm_va_writable(struct vcpu *v, uint64_t gva, uint64_t len)
{
	return va_write(v, gva, NULL, len) == 0;
}

/* ---- CPUID and the hypercall MSR ---- */

static int msr_filter(struct domain *d, struct errbuf *eb);

void xenhvm_cpuid(struct domain *d, struct vcpu *v, struct kvm_cpuid2 *c)
{
	unsigned n = 0;

	/* KVM's own signature leaves go: a guest that saw both would pick by its own rules. */
	for (unsigned i = 0; i < c->nent; i++)
		if ((c->entries[i].function & 0xffffff00u) != XEN_CPUID_BASE)
			c->entries[n++] = c->entries[i];
	struct kvm_cpuid_entry2 leaves[XEN_CPUID_LEAVES] = {
		{ .function = XEN_CPUID_BASE, .eax = XEN_CPUID_BASE + XEN_CPUID_LEAVES - 1,
		  .ebx = XEN_CPUID_SIGNATURE_EBX, .ecx = XEN_CPUID_SIGNATURE_ECX,
		  .edx = XEN_CPUID_SIGNATURE_EDX },
		{ .function = XEN_CPUID_BASE + 1, .eax = XENITH_XEN_MAJOR << 16 | XENITH_XEN_MINOR },
		{ .function = XEN_CPUID_BASE + 2, .eax = 1, .ebx = XEN_HYPERCALL_MSR },
		{ .function = XEN_CPUID_BASE + 3 }, /* time: nothing offered */
		{ .function = XEN_CPUID_BASE + 4,
		  .eax = XEN_HVM_CPUID_VCPU_ID_PRESENT | XEN_HVM_CPUID_UPCALL_VECTOR, .ebx = v->id },
	};

	(void)d;
	for (unsigned i = 0; i < XEN_CPUID_LEAVES; i++)
		c->entries[n++] = leaves[i];
	c->nent = n;
}

/*
 * KVM's Xen support (CONFIG_KVM_XEN), where the host has it: KVM writes the
 * hypercall page itself (vmcall or vmmcall stubs) and every Xen hypercall,
 * through the page or not, exits to user space (KVM_EXIT_XEN).  1 if on,
 * 0 if this KVM has no such thing, -errno with eb if it refused.
 */
static int kvm_xen_intercept(struct domain *d, struct errbuf *eb)
{
	int caps = ioctl(d->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XEN_HVM);
	struct kvm_xen_hvm_config c = { .flags = KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL,
					.msr = XEN_HYPERCALL_MSR };

	if (caps <= 0 || !(caps & KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL) ||
	    !(caps & KVM_XEN_HVM_CONFIG_HYPERCALL_MSR))
		return 0;
	if (ioctl(d->vm_fd, KVM_XEN_HVM_CONFIG, &c) < 0)
		return errbuf_set(eb, errno, "xen_hvm: KVM_XEN_HVM_CONFIG (hypercalls to user space): %s",
				  strerror(errno));
	return 1;
}

int xenhvm_vm_init(struct domain *d, struct errbuf *eb)
{
	int r = kvm_xen_intercept(d, eb);

	if (r != 0)
		return r < 0 ? r : 0;
	if (!d->xh->warned) {
		/* once per domain, not at every reboot */
		d->xh->warned = true;
		fprintf(stderr, "xenith: domain '%s': xen_hvm = 1: this host's KVM cannot send Xen "
			"hypercalls to Xenith (no KVM_CAP_XEN_HVM: a kernel without CONFIG_KVM_XEN), so "
			"Xenith serves only those made through its hypercall page; Linux kernels with the "
			"XSA-466 fix (6.1.119, 6.6.63, 6.11.10, 6.12 and later) make them with "
			"vmcall/vmmcall, which KVM answers itself (-ENOSYS), and stop at the first one\n",
			d->cfg.name);
	}
	return msr_filter(d, eb);
}

/* The hypercall MSR to user space (KVM_X86_SET_MSR_FILTER), where fill_hypercall_page() answers it. */
static int msr_filter(struct domain *d, struct errbuf *eb)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_X86_USER_SPACE_MSR,
				      .args = { KVM_MSR_EXIT_REASON_FILTER } };
	uint8_t deny = 0; /* bit 0 clear: MSR XEN_HYPERCALL_MSR is not KVM's to handle */
	struct kvm_msr_filter f = {
		.flags = KVM_MSR_FILTER_DEFAULT_ALLOW,
		.ranges = { { .flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE, .nmsrs = 1,
			      .base = XEN_HYPERCALL_MSR, .bitmap = &deny } },
	};

	if (ioctl(d->vm_fd, KVM_ENABLE_CAP, &cap) < 0)
		return errbuf_set(eb, errno, "xen_hvm: KVM_CAP_X86_USER_SPACE_MSR (the hypercall page's "
				  "MSR is handled by Xenith): %s; this host's KVM is too old for "
				  "xen_hvm = 1", strerror(errno));
	if (ioctl(d->vm_fd, KVM_X86_SET_MSR_FILTER, &f) < 0)
		return errbuf_set(eb, errno, "xen_hvm: KVM_X86_SET_MSR_FILTER: %s", strerror(errno));
	return 0;
}

/* The hypercall page: stub N at N * 32 is `mov $N, %eax; out %eax, $0xe0; ret`, then int3s. */
static void fill_hypercall_page(uint8_t *page)
{
	memset(page, 0xcc, PAGE);
	for (unsigned n = 0; n < PAGE / XEN_HYPERCALL_STUB_SIZE; n++) {
		uint8_t *s = page + n * XEN_HYPERCALL_STUB_SIZE;

		s[0] = 0xb8; /* mov $imm32, %eax */
		s[1] = (uint8_t)n;
		s[2] = s[3] = s[4] = 0;
		s[5] = 0xe7; /* out %eax, $imm8 */
		s[6] = XENITH_HYPERCALL_PORT;
		s[7] = 0xc3; /* ret */
	}
}

void xenhvm_msr(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	struct domain *d = v->d;
	uint64_t gpa = run->msr.data;

	if (run->exit_reason == KVM_EXIT_X86_WRMSR && run->msr.index == XEN_HYPERCALL_MSR &&
	    gpa % PAGE == 0 && gpa < d->mem_size) {
		fill_hypercall_page(d->mem + gpa);
		run->msr.error = 0;
		return;
	}
	/* A read, a page index other than 0 (there is one page), or a frame outside RAM: #GP. */
	fprintf(stderr, "xenith: domain '%s': vCPU %u: %s of MSR 0x%x (value 0x%llx) refused with #GP "
		"(the hypercall MSR takes the page-aligned address of one page of RAM)\n", d->cfg.name,
		v->id, run->exit_reason == KVM_EXIT_X86_WRMSR ? "write" : "read", run->msr.index,
		(unsigned long long)gpa);
	run->msr.error = 1;
}

/* ---- the platform device's unplug ports ---- */

static void unplug_port(void *opaque, struct iobus_io *io)
{
	struct domain *d = opaque;
	struct xenhvm *xh = d->xh;

	for (uint32_t i = 0; i < io->count; i++) {
		uint8_t *p = io->data + i * io->size;
		uint32_t val = 0;

		if (!io->write) {
			if (io->offset == 0 && io->size == 2)
				val = XEN_IOPORT_MAGIC_VAL;
			else if (io->offset == 2 && io->size == 1)
				val = XEN_IOPORT_PROTOVER_VAL;
			else
				val = 0xffffffffu;
			memcpy(p, &val, io->size);
			continue;
		}
		memcpy(&val, p, io->size);
		pthread_mutex_lock(&xh->lock);
		if (io->offset == 0 && io->size == 2)
			xh->unplugged |= (uint16_t)val; /* there are no emulated disks or NICs to unplug */
		else if (io->offset == 2 && io->size == 2)
			xh->prodnum = (uint16_t)val;
		pthread_mutex_unlock(&xh->lock);
	}
}

int xenhvm_open(struct domain *d, struct errbuf *eb)
{
	struct xenhvm *xh = calloc(1, sizeof(*xh));
	int r;

	if (!xh)
		return errbuf_set(eb, ENOMEM, "out of memory");
	pthread_mutex_init(&xh->lock, NULL);
	d->xh = xh;
	r = iobus_register(&d->pio, "xen-platform", XEN_IOPORT_BASE, 4, unplug_port, d, eb);
	if (r < 0)
		return r;
	xh->ports = true;
	return 0;
}

void xenhvm_close(struct domain *d)
{
	struct xenhvm *xh = d->xh;

	if (!xh)
		return;
	if (xh->ports)
		iobus_unregister(&d->pio, XEN_IOPORT_BASE);
	pthread_mutex_destroy(&xh->lock);
	free(xh);
	d->xh = NULL;
}

void xenhvm_reset(struct domain *d)
{
	struct xenhvm *xh = d->xh;

	pthread_mutex_lock(&xh->lock);
	xh->shared_gpa = 0;
	memset(xh->registered, 0, sizeof(xh->registered));
	xh->unplugged = 0;
	xh->prodnum = 0;
	/* what was said stays said: a reboot's guest asks the same again */
	pthread_mutex_unlock(&xh->lock);
	atomic_store(&d->evtchn.pending, NULL);
	atomic_store(&d->evtchn.mask, NULL);
}

/* ---- upcalls ---- */

static void upcall_to(struct domain *d, unsigned vcpu, uint8_t vector)
{
	struct kvm_msi msi = {
		/* fixed delivery, edge, physical destination: the vCPU's APIC ID, which is its id */
		.address_lo = 0xfee00000u | vcpu << 12,
		.data = vector,
	};

	if (vector && d->vm_fd >= 0)
		ioctl(d->vm_fd, KVM_SIGNAL_MSI, &msi);
}

void xenhvm_upcall(struct vcpu *v)
{
	upcall_to(v->d, v->id, atomic_load(&v->upcall_vector));
}

/* ---- hypercalls ---- */

static long xen_version(struct vcpu *v, uint64_t cmd, uint64_t arg)
{
	switch (cmd) {
	case XENVER_version:
		return (long)(XENITH_XEN_MAJOR << 16 | XENITH_XEN_MINOR);
	case XENVER_extraversion: {
		char s[16] = ".0-xenith";

		return guest_arg_write(v, arg, s, sizeof(s)) < 0 ? -XEN_EFAULT : 0;
	}
	case XENVER_capabilities: {
		char s[1024] = "hvm-3.0-x86_64";

		return guest_arg_write(v, arg, s, sizeof(s)) < 0 ? -XEN_EFAULT : 0;
	}
	case XENVER_changeset: {
		char s[64] = "xenith";

		return guest_arg_write(v, arg, s, sizeof(s)) < 0 ? -XEN_EFAULT : 0;
	}
	case XENVER_platform_parameters: {
		uint64_t virt_start = 0; /* an HVM guest's whole address space is its own */

		return guest_arg_write(v, arg, &virt_start, sizeof(virt_start)) < 0 ? -XEN_EFAULT : 0;
	}
	case XENVER_get_features: {
		struct xen_feature_info fi;

		if (guest_arg_read(v, &fi, arg, sizeof(fi)) < 0)
			return -XEN_EFAULT;
		fi.submap = fi.submap_idx ? 0 :
			    1u << XENFEAT_writable_page_tables | 1u << XENFEAT_auto_translated_physmap |
			    1u << XENFEAT_hvm_callback_vector;
		return guest_arg_write(v, arg, &fi, sizeof(fi)) < 0 ? -XEN_EFAULT : 0;
	}
	case XENVER_pagesize:
		return (long)PAGE;
	case XENVER_guest_handle: {
		uint8_t handle[16] = { 0 }; /* no UUID: Xenith names domains */

		return guest_arg_write(v, arg, handle, sizeof(handle)) < 0 ? -XEN_EFAULT : 0;
	}
	default:
		return unserved(v, __HYPERVISOR_xen_version, cmd, NULL);
	}
}

/* The guest's RAM page at gpa becomes shared_info: the event-channel words and the first vcpu_infos move there. */
static long map_shared_info(struct vcpu *v, uint64_t gpfn)
{
	struct domain *d = v->d;
	struct xenhvm *xh = d->xh;
	uint64_t gpa = gpfn * PAGE;
	uint8_t *page;

	if (gpfn >= d->mem_size / PAGE)
		return -XEN_EINVAL;
	page = d->mem + gpa;
	pthread_mutex_lock(&d->lock);
	pthread_mutex_lock(&xh->lock);
	if (xh->shared_gpa && xh->shared_gpa != gpa)
		memcpy(page, d->mem + xh->shared_gpa, PAGE); /* moved (a resume): the state goes along */
	else if (!xh->shared_gpa)
		memset(page, 0, PAGE); /* Xen's page starts empty: nothing pending, nothing masked */
	xh->shared_gpa = gpa;
	atomic_store(&d->evtchn.pending, (uint64_t *)(page + XEN_SHINFO_EVTCHN_PENDING));
	atomic_store(&d->evtchn.mask, (uint64_t *)(page + XEN_SHINFO_EVTCHN_MASK));
	for (unsigned i = 0; i < d->nr_vcpus && i < XEN_LEGACY_MAX_VCPUS; i++)
		if (!xh->registered[i])
			atomic_store(&d->vcpus[i].vcpu_info,
				     (struct xenith_vcpu_info *)(page + i * XEN_VCPU_INFO_SIZE));
	pthread_mutex_unlock(&xh->lock);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static long memory_op(struct vcpu *v, uint64_t cmd, uint64_t arg)
{
	struct xen_add_to_physmap x;

	if ((cmd & 0x3f) != XENMEM_add_to_physmap) /* Xen's MEMOP_CMD_MASK */
		return unserved(v, __HYPERVISOR_memory_op, cmd & 0x3f, NULL);
	if (guest_arg_read(v, &x, arg, sizeof(x)) < 0)
		return -XEN_EFAULT;
	if (!domain_is_self(v->d, x.domid))
		return -XEN_ESRCH;
	if (x.space == XENMAPSPACE_shared_info && x.idx == 0)
		return map_shared_info(v, x.gpfn);
	if (x.space == XENMAPSPACE_shared_info)
		return -XEN_EINVAL;
	return unserved(v, __HYPERVISOR_memory_op, 1000 + x.space,
			x.space == XENMAPSPACE_grant_table ?
			" (XENMEM_add_to_physmap of grant-table frames: Linux's grant tables are not "
			"served yet)" : " (XENMEM_add_to_physmap of this space; command = 1000 + space)");
}

/*
 * VCPUOP_register_vcpu_info: t's vcpu_info moves to the guest page it
 * names (once per vCPU).  As in Xen, the new one starts as a copy of the
 * old with everything marked pending, so the guest rescans its ports.
 */
static long register_vcpu_info(struct vcpu *v, struct vcpu *t, uint64_t arg)
{
	struct domain *d = v->d;
	struct xenhvm *xh = d->xh;
	struct vcpu_register_vcpu_info r;
	struct xenith_vcpu_info *old, *vi;
	uint64_t gpa;
	long ret = 0;

	if (guest_arg_read(v, &r, arg, sizeof(r)) < 0)
		return -XEN_EFAULT;
	if (r.offset > PAGE - XEN_VCPU_INFO_SIZE || r.offset % 8 || r.mfn >= d->mem_size / PAGE)
		return -XEN_EINVAL;
	gpa = r.mfn * PAGE + r.offset;
	vi = (struct xenith_vcpu_info *)(d->mem + gpa);
	pthread_mutex_lock(&xh->lock);
	if (xh->registered[t->id]) {
		ret = -XEN_EINVAL; /* Xen has no way to move it again */
	} else {
		old = atomic_load(&t->vcpu_info);
		if (old && old != vi)
			memmove(vi, old, XEN_VCPU_INFO_SIZE);
		else if (!old)
			memset(vi, 0, XEN_VCPU_INFO_SIZE);
		__atomic_store_n(&vi->evtchn_pending_sel, ~0ull, __ATOMIC_SEQ_CST);
		__atomic_store_n(&vi->evtchn_upcall_pending, 1, __ATOMIC_SEQ_CST);
		atomic_store(&t->vcpu_info, vi);
		xh->registered[t->id] = true;
	}
	pthread_mutex_unlock(&xh->lock);
	if (ret == 0)
		xenhvm_upcall(t);
	return ret;
}

static long vcpu_op(struct vcpu *v, uint64_t cmd, uint64_t id, uint64_t arg)
{
	struct domain *d = v->d;

	if (cmd != VCPUOP_register_vcpu_info)
		return unserved(v, __HYPERVISOR_vcpu_op, cmd, NULL);
	if (id >= d->nr_vcpus)
		return -XEN_ENOENT;
	return register_vcpu_info(v, &d->vcpus[id], arg);
}

static long hvm_op(struct vcpu *v, uint64_t cmd, uint64_t arg)
{
	struct domain *d = v->d;

	switch (cmd) {
	case HVMOP_set_evtchn_upcall_vector: {
		struct xen_hvm_evtchn_upcall_vector u;
		struct xenith_vcpu_info *vi;
		struct vcpu *t;

		if (guest_arg_read(v, &u, arg, sizeof(u)) < 0)
			return -XEN_EFAULT;
		if (u.vcpu >= d->nr_vcpus)
			return -XEN_ENOENT;
		if (u.vector < 0x10)
			return -XEN_EINVAL; /* Xen's floor: the exception vectors */
		t = &d->vcpus[u.vcpu];
		atomic_store(&t->upcall_vector, u.vector);
		vi = atomic_load(&t->vcpu_info);
		if (vi && __atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_SEQ_CST))
			xenhvm_upcall(t); /* what was owed before there was a vector */
		return 0;
	}
	case HVMOP_get_param:
	case HVMOP_set_param: {
		struct xen_hvm_param p;

		if (guest_arg_read(v, &p, arg, sizeof(p)) < 0)
			return -XEN_EFAULT;
		if (!domain_is_self(d, p.domid))
			return -XEN_ESRCH;
		if (p.index >= HVM_NR_PARAMS)
			return -XEN_EINVAL;
		/*
		 * The callback via: Linux sets a GSI (1) once it has per-vCPU
		 * vectors, "to make the toolstack think it is enlightened"; as
		 * in Xen, a vCPU's own vector takes precedence, so a GSI or PCI
		 * INTx via is taken and never used.  The vector type is Xen's
		 * injection outside the LAPIC, which is not served.
		 */
		if (cmd == HVMOP_set_param && p.index == HVM_PARAM_CALLBACK_IRQ &&
		    (p.value >> 56) != HVM_PARAM_CALLBACK_TYPE_VECTOR)
			return 0;
		if (cmd == HVMOP_set_param)
			return unserved(v, __HYPERVISOR_hvm_op, 1000 + p.index,
					p.index == HVM_PARAM_CALLBACK_IRQ ?
					" (HVMOP_set_param HVM_PARAM_CALLBACK_IRQ with a vector: Xenith "
					"serves the per-vCPU upcall vector instead)" :
					" (HVMOP_set_param; command = 1000 + the parameter)");
		/* Xen's rule: a parameter nobody set reads as 0, with no error. */
		say_unserved(v, __HYPERVISOR_hvm_op, 2000 + p.index,
			     " (HVMOP_get_param; command = 2000 + the parameter)", "0 (not set), as Xen answers");
		p.value = 0;
		return guest_arg_write(v, arg, &p, sizeof(p)) < 0 ? -XEN_EFAULT : 0;
	}
	default:
		return unserved(v, __HYPERVISOR_hvm_op, cmd, NULL);
	}
}

/* Hypercall op with Xen's first three arguments (rdi, rsi, rdx): the result for RAX. */
static long dispatch(struct vcpu *v, uint32_t op, uint64_t a1, uint64_t a2, uint64_t a3)
{
	long ret;

	if (v->fd >= 0)
		v->hc_paging_valid = false; /* read again if this call has a pointer */
	switch (op) {
	case __HYPERVISOR_xen_version:
		return xen_version(v, a1, a2);
	case __HYPERVISOR_memory_op:
		return memory_op(v, a1, a2);
	case __HYPERVISOR_vcpu_op:
		return vcpu_op(v, a1, a2, a3);
	case __HYPERVISOR_hvm_op:
		return hvm_op(v, a1, a2);
	case __HYPERVISOR_event_channel_op:
		ret = evtchn_op(v, a1, a2);
		if (ret == -XEN_ENOSYS)
			unserved(v, op, a1, a1 == EVTCHNOP_init_control ?
				 " (EVTCHNOP_init_control: the FIFO ABI; Linux uses the 2-level one)" : NULL);
		return ret;
	case __HYPERVISOR_sched_op:
		ret = hypercall_sched_op(v, a1, a2);
		break;
	case __HYPERVISOR_console_io:
		ret = hypercall_console_io(v, a1, a2, a3);
		break;
	default:
		return unserved(v, op, a1, NULL);
	}
	if (ret == -XEN_ENOSYS)
		unserved(v, op, a1, NULL);
	return ret;
}

void xenhvm_hypercall(struct vcpu *v)
{
	struct kvm_regs *r = &v->run->s.regs.regs;

	r->rax = (uint64_t)dispatch(v, (uint32_t)r->rax, r->rdi, r->rsi, r->rdx);
	/* RIP is left alone: KVM completes the OUT instruction itself. */
	v->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
}

void xenhvm_xen_exit(struct vcpu *v)
{
	struct kvm_xen_exit *x = &v->run->xen;

	if (x->type != KVM_EXIT_XEN_HCALL) {
		domain_crash(v->d, v, "vCPU %u: KVM_EXIT_XEN of unknown type %u", v->id, x->type);
		return;
	}
	atomic_store_explicit(&v->last_hypercall, (uint32_t)x->u.hcall.input, memory_order_relaxed);
	prof_hypercall(v, (uint32_t)x->u.hcall.input);
	if (!x->u.hcall.longmode || x->u.hcall.cpl != 0) {
		/* 32-bit guests pass arguments in other registers; user space has no business here */
		x->u.hcall.result = (uint64_t)(long)-XEN_EPERM;
		return;
	}
	/* KVM puts the result in RAX and moves past the instruction when the vCPU runs again. */
	x->u.hcall.result = (uint64_t)dispatch(v, (uint32_t)x->u.hcall.input, x->u.hcall.params[0],
					       x->u.hcall.params[1], x->u.hcall.params[2]);
}

bool xenhvm_pio(struct vcpu *v)
{
	struct kvm_run *run = v->run;

	if (run->io.port != XENITH_HYPERCALL_PORT || run->io.direction != KVM_EXIT_IO_OUT ||
	    run->io.size != 4 || run->io.count != 1)
		return false;
	atomic_store_explicit(&v->last_hypercall, (uint32_t)run->s.regs.regs.rax, memory_order_relaxed);
	prof_hypercall(v, (uint32_t)run->s.regs.regs.rax);
	xenhvm_hypercall(v);
	return true;
}
