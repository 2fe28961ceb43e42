// SPDX-License-Identifier: MIT
#include "hypercall.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bench_hooks.h"
#include "blkdev.h"
#include "confine.h"
#include "evtchn.h"
#include "loopback.h"
#include "vcpu.h"
#include "xenhvm.h"

/*
 * Every handler gets the five argument registers as the guest left them:
 * untrusted values.  Pointers are checked by guest_arg_* or domain_copy_*; indices are
 * checked before use.  A handler returns 0/positive or -XEN_Exxx.
 */
typedef long (*hypercall_fn)(struct vcpu *v, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
			     uint64_t a5);

#define CONSOLE_IO_MAX 4096u

static long do_console_io(struct vcpu *v, uint64_t cmd, uint64_t count, uint64_t buf, uint64_t a4,
			  uint64_t a5)
{
	char tmp[CONSOLE_IO_MAX];

	(void)a4, (void)a5;
	if (cmd != CONSOLEIO_write)
		return -XEN_ENOSYS;
	if (count > CONSOLE_IO_MAX)
		return -XEN_EINVAL;
	if (guest_arg_read(v, tmp, buf, count) < 0)
		return -XEN_EFAULT;
	console_write(&v->d->console, tmp, (size_t)count);
	return (long)count;
}

static long do_sched_op(struct vcpu *v, uint64_t cmd, uint64_t arg, uint64_t a3, uint64_t a4,
			uint64_t a5)
{
	struct sched_shutdown s;

	(void)a3, (void)a4, (void)a5;
	switch (cmd) {
	case SCHEDOP_yield:
		sched_yield();
		return 0;
	case SCHEDOP_block:
		return evtchn_block(v);
	case SCHEDOP_poll:
		return evtchn_poll(v, arg);
	case SCHEDOP_shutdown:
		if (guest_arg_read(v, &s, arg, sizeof(s)) < 0)
			return -XEN_EFAULT;
		switch (s.reason) {
		case SHUTDOWN_poweroff:
		case SHUTDOWN_reboot:
		case SHUTDOWN_crash:
		case SHUTDOWN_watchdog:
			domain_shutdown_by_guest(v->d, s.reason, s.code);
			return 0;
		case SHUTDOWN_suspend:
			/*
			 * Xen's guest suspends itself for its toolstack to save it;
			 * `xenith save` needs no part of the guest (relocate.h), so
			 * there is no suspend to enter.
			 */
			return -XEN_ENOSYS;
		default:
			return -XEN_EINVAL;
		}
	default:
		return -XEN_ENOSYS;
	}
}

long hypercall_console_io(struct vcpu *v, uint64_t cmd, uint64_t count, uint64_t buf)
{
	return do_console_io(v, cmd, count, buf, 0, 0);
}

long hypercall_sched_op(struct vcpu *v, uint64_t cmd, uint64_t arg)
{
	return do_sched_op(v, cmd, arg, 0, 0, 0);
}

int guest_arg_read(struct vcpu *v, void *dst, uint64_t addr, uint64_t len)
{
	if (v->d->xh)
		return xenhvm_va_read(v, dst, addr, len);
	return domain_copy_from_guest(v->d, dst, addr, len);
}

int guest_arg_write(struct vcpu *v, uint64_t addr, const void *src, uint64_t len)
{
	if (v->d->xh)
		return xenhvm_va_write(v, addr, src, len);
	return domain_copy_to_guest(v->d, addr, src, len);
}

bool guest_arg_writable(struct vcpu *v, uint64_t addr, uint64_t len)
{
	if (v->d->xh)
		return xenhvm_va_writable(v, addr, len);
	return domain_gpa_writable(v->d, addr, len) != NULL;
}

static long do_vcpu_op(struct vcpu *v, uint64_t cmd, uint64_t id, uint64_t arg, uint64_t a4,
		       uint64_t a5)
{
	struct domain *d = v->d;
	struct vcpu *t;
	long ret;

	(void)a4, (void)a5;
	if (id >= d->nr_vcpus)
		return -XEN_EINVAL;
	t = &d->vcpus[id];
	switch (cmd) {
	case VCPUOP_up:
		if (!domain_gpa(d, arg, 1))
			return -XEN_EINVAL;
		/* Decided under the lock: of two vCPUs racing to bring t up, one gets EALREADY. */
		pthread_mutex_lock(&d->lock);
		ret = vcpu_up(t, arg); /* -errno values are Xen's */
		pthread_mutex_unlock(&d->lock);
		return ret;
	case VCPUOP_down:
		if (t != v)
			return -XEN_EPERM;
		pthread_mutex_lock(&d->lock);
		atomic_store(&v->up, false); /* the run loop parks the thread */
		pthread_mutex_unlock(&d->lock);
		return 0;
	case VCPUOP_is_up:
		return atomic_load(&t->up) ? 1 : 0;
	case VCPUOP_set_periodic_timer: {
		struct vcpu_set_periodic_timer pt;

		if (t != v)
			return -XEN_EPERM; /* a vCPU sets its own timer */
		if (domain_copy_from_guest(d, &pt, arg, sizeof(pt)) < 0)
			return -XEN_EFAULT;
		if (pt.period_ns < XENITH_TIMER_MIN_NS || pt.period_ns > 3600ull * 1000000000ull)
			return -XEN_EINVAL;
		return domain_set_periodic_timer(d, v, pt.period_ns) < 0 ? -XEN_ENOSPC : 0;
	}
	case VCPUOP_stop_periodic_timer:
		if (t != v)
			return -XEN_EPERM;
		domain_set_periodic_timer(d, v, 0);
		return 0;
	default:
		return -XEN_ENOSYS;
	}
}

static long do_grant_table_op(struct vcpu *v, uint64_t cmd, uint64_t arg, uint64_t count,
			      uint64_t a4, uint64_t a5)
{
	struct domain *d = v->d;
	struct gnttab_xenith_set_table st;

	(void)a4, (void)a5;
	if (cmd != GNTTABOP_xenith_set_table)
		return -XEN_ENOSYS;
	if (count != 1)
		return -XEN_EINVAL;
	if (domain_copy_from_guest(d, &st, arg, sizeof(st)) < 0)
		return -XEN_EFAULT;
	return grant_table_set(&d->gnttab, st.gpa, st.nr_frames); /* -errno values are Xen's */
}

static long do_hvm_op(struct vcpu *v, uint64_t cmd, uint64_t arg, uint64_t a3, uint64_t a4,
		      uint64_t a5)
{
	struct domain *d = v->d;
	struct xen_hvm_param p;
	uint64_t vector;

	(void)a3, (void)a4, (void)a5;
	if (cmd != HVMOP_set_param)
		return -XEN_ENOSYS;
	if (domain_copy_from_guest(d, &p, arg, sizeof(p)) < 0)
		return -XEN_EFAULT;
	if (!domain_is_self(d, p.domid))
		return -XEN_ESRCH;
	if (p.index != HVM_PARAM_CALLBACK_IRQ)
		return -XEN_EINVAL;
	if (!domain_pv_at_cpl0(d))
		return -XEN_EPERM; /* a CPL-3 guest has no IDT of its own to take the vector */
	vector = p.value & 0xff;
	if ((p.value >> 56) != HVM_PARAM_CALLBACK_TYPE_VECTOR || (p.value & ~(0xffull << 56)) > 0xff ||
	    vector < 32)
		return -XEN_EINVAL;
	atomic_store(&d->callback_vector, (uint8_t)vector);
	return 0;
}

static long do_event_channel_op(struct vcpu *v, uint64_t cmd, uint64_t arg, uint64_t a3,
				uint64_t a4, uint64_t a5)
{
	(void)a3, (void)a4, (void)a5;
	return evtchn_op(v, cmd, arg);
}

static long do_xen_version(struct vcpu *v, uint64_t cmd, uint64_t a2, uint64_t a3, uint64_t a4,
			   uint64_t a5)
{
	(void)v, (void)a2, (void)a3, (void)a4, (void)a5;
	if (cmd != XENVER_version)
		return -XEN_ENOSYS;
	return (0 << 16) | 1;
}

static long do_xenith_time(struct vcpu *v, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
			   uint64_t a5)
{
	struct timespec ts;

	(void)v, (void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long)((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
}

static long do_guest_assert(struct vcpu *v, uint64_t file, uint64_t line, uint64_t expr,
			    uint64_t msg, uint64_t a5)
{
	char f[128], e[256], m[256] = "";

	(void)a5;
	if (domain_copy_string(v->d, f, sizeof(f), file) < 0)
		strcpy(f, "?");
	if (domain_copy_string(v->d, e, sizeof(e), expr) < 0)
		strcpy(e, "?");
	if (msg && domain_copy_string(v->d, m, sizeof(m), msg) < 0)
		m[0] = 0;
	domain_crash(v->d, v, "guest assertion failed at %s:%llu: %s%s%s%s", f,
		     (unsigned long long)line, e, m[0] ? " (" : "", m, m[0] ? ")" : "");
	return 0;
}

/* The kvm tier's window on grant checks: the access a backend would make. */
static long test_grant_access(struct vcpu *v, bool write, uint64_t ref, uint64_t offset, uint64_t len)
{
	uint8_t buf[XENITH_PAGE_SIZE];
	struct grant_copy_op op = {
		.dir = write ? GRANT_TO_GUEST : GRANT_FROM_GUEST, .ref = (grant_ref_t)ref,
		.offset = (uint32_t)offset, .len = (uint32_t)len, .buf = buf,
	};
	uint32_t hash = 2166136261u;

	if (ref > UINT32_MAX || offset > XENITH_PAGE_SIZE || len > XENITH_PAGE_SIZE)
		return -XEN_EINVAL;
	for (uint32_t i = 0; write && i < len; i++)
		buf[i] = (uint8_t)((offset + i) * 7 + 1);
	if (grant_copy(&v->d->gnttab, &op, 1))
		return op.status;
	if (write)
		return 0;
	for (uint32_t i = 0; i < len; i++)
		hash = (hash ^ buf[i]) * 16777619u;
	return (long)hash;
}

/*
 * The kvm tier's window on the dirty log of every RAM region (abi.h,
 * XENITH_TEST_DIRTY_LOG).  Not for a running migration: the memory map is
 * not locked against the toolstack, and only this vCPU's domain is a test.
 */
static long test_dirty_log(struct vcpu *v, uint64_t op)
{
	struct memmap *mm = &v->d->memmap;
	char list[XENITH_TEST_DIRTY_LOG_LIST * 20 + 8] = "", line[sizeof(list) + 64];
	size_t len = 0;
	long total = 0;
	int r = 0;

	if (op > XENITH_TEST_DIRTY_LOG_STOP)
		return -XEN_EINVAL;
	for (unsigned i = 0; i < mm->nr && r >= 0; i++) {
		const struct memmap_region *reg = &mm->region[i];
		uint64_t *bitmap;

		if (reg->type != MEMMAP_RAM)
			continue;
		if (op == XENITH_TEST_DIRTY_LOG_START) {
			r = memmap_dirty_log_start(mm, i, NULL);
			continue;
		}
		if (op == XENITH_TEST_DIRTY_LOG_STOP) {
			r = memmap_dirty_log_stop(mm, i, NULL);
			continue;
		}
		bitmap = calloc(memmap_dirty_words(reg), sizeof(*bitmap));
		if (!bitmap)
			return -XEN_ENOMEM;
		r = memmap_dirty_log_fetch(mm, i, bitmap, NULL);
		for (uint64_t p = 0; r > 0 && p < reg->size / XENITH_PAGE_SIZE; p++) {
			if (!(bitmap[p / 64] >> (p % 64) & 1))
				continue;
			if (total++ < XENITH_TEST_DIRTY_LOG_LIST)
				len += (size_t)snprintf(list + len, sizeof(list) - len, " 0x%llx",
							(unsigned long long)(reg->gpa + p * XENITH_PAGE_SIZE));
		}
		free(bitmap);
	}
	if (r < 0)
		return r; /* EINVAL, ENODEV, EBADFD and KVM's: the same numbers in Xen */
	if (op == XENITH_TEST_DIRTY_LOG_FETCH) {
		int n = snprintf(line, sizeof(line), "xenith-test: dirty log: %ld page(s):%s%s\n", total,
				 list, total > XENITH_TEST_DIRTY_LOG_LIST ? " ..." : "");

		console_write(&v->d->console, line, (size_t)n);
	}
	return op == XENITH_TEST_DIRTY_LOG_FETCH ? total : 0;
}

/*
 * The test-only ops answer only where a test asked for them: a VMM started
 * with XENITH_TEST_HOOKS=1 (d->test_hooks), and those a device granted
 * (d->test_ops): a benchmark domain's bench hooks grant the two it
 * measures with, ECHO and SHMEM_ECHO.
 */
static bool test_op_allowed(const struct domain *d, uint64_t cmd)
{
	if (d->test_hooks)
		return true;
	return cmd < 32 && (d->test_ops >> cmd & 1);
}

static long do_xenith_test(struct vcpu *v, uint64_t cmd, uint64_t a2, uint64_t a3, uint64_t a4,
			   uint64_t a5)
{
	(void)a5;
	if (!test_op_allowed(v->d, cmd))
		return -XEN_ENOSYS;
	switch (cmd) {
	case XENITH_TEST_ECHO:
		return (long)a2;
	case XENITH_TEST_SHMEM_ECHO:
		return bench_shmem_echo(v, a2, a3);
	case XENITH_TEST_GRANT_READ:
	case XENITH_TEST_GRANT_WRITE:
		return test_grant_access(v, cmd == XENITH_TEST_GRANT_WRITE, a2, a3, a4);
	case XENITH_TEST_EVTCHN_LOOPBACK:
		if (a2 > UINT32_MAX)
			return -XEN_EINVAL;
		return evtchn_loopback_start(v->d, (uint32_t)a2); /* -errno values are Xen's */
	case XENITH_TEST_STALL: {
		uint64_t until;

		if (a2 > 3600000)
			return -XEN_EINVAL;
		/* Deaf to kicks on purpose: the hypercall handler that hangs. */
		until = now_ns() + a2 * 1000000ull;
		{
			/* Tests wait for this line: from here on the vCPU is in the VMM. */
			char line[80];
			int n = snprintf(line, sizeof(line), "xenith-test: vCPU %u stalls in the VMM for "
					 "%llu ms\n", v->id, (unsigned long long)a2);

			console_write(&v->d->console, line, (size_t)n);
		}
		{
			/* A private condition nobody signals: a timed futex wait, which the filters allow. */
			pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
			pthread_cond_t c;
			pthread_condattr_t ca;
			struct timespec ts = { .tv_sec = (time_t)(until / 1000000000ull),
					       .tv_nsec = (long)(until % 1000000000ull) };

			pthread_condattr_init(&ca);
			pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
			pthread_cond_init(&c, &ca);
			pthread_condattr_destroy(&ca);
			pthread_mutex_lock(&m);
			while (now_ns() < until)
				pthread_cond_timedwait(&c, &m, &ts);
			pthread_mutex_unlock(&m);
			pthread_cond_destroy(&c);
		}
		return 0;
	}
	case XENITH_TEST_FORBIDDEN_SYSCALL:
		return confine_test_forbidden_syscall(); /* -errno values are Xen's */
	case XENITH_TEST_DIRTY_LOG:
		return test_dirty_log(v, a2);
	default:
		return -XEN_ENOSYS;
	}
}

static long do_bench_report(struct vcpu *v, uint64_t case_id, uint64_t rep, uint64_t bits,
			    uint64_t a4, uint64_t a5)
{
	(void)a4, (void)a5;
	return bench_report(v, case_id, rep, bits);
}

static long do_discard(struct vcpu *v, uint64_t gpa, uint64_t len, uint64_t a3, uint64_t a4,
		       uint64_t a5)
{
	struct domain *d = v->d;

	(void)a3, (void)a4, (void)a5;
	if (gpa % XENITH_PAGE_SIZE || len % XENITH_PAGE_SIZE || len == 0)
		return -XEN_EINVAL;
	if (gpa < d->layout.free_start || !domain_gpa(d, gpa, len))
		return -XEN_EFAULT;
	/* The memfd loses the pages; KVM's MMU notifier drops the guest mappings. */
	if (fallocate(d->mem_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)gpa, (off_t)len) < 0)
		return -XEN_EINVAL;
	return 0;
}

static const hypercall_fn hypercall_table[XENITH_HYPERCALL_MAX] = {
	[__HYPERVISOR_xen_version] = do_xen_version,
	[__HYPERVISOR_console_io] = do_console_io,
	[__HYPERVISOR_vcpu_op] = do_vcpu_op,
	[__HYPERVISOR_sched_op] = do_sched_op,
	[__HYPERVISOR_event_channel_op] = do_event_channel_op,
	[__HYPERVISOR_grant_table_op] = do_grant_table_op,
	[__HYPERVISOR_hvm_op] = do_hvm_op,
	[__HYPERVISOR_xenith_time] = do_xenith_time,
	[__HYPERVISOR_xenith_guest_assert] = do_guest_assert,
	[__HYPERVISOR_xenith_bench_report] = do_bench_report,
	[__HYPERVISOR_xenith_test] = do_xenith_test,
	[__HYPERVISOR_xenith_discard] = do_discard,
};
_Static_assert(sizeof(hypercall_table) / sizeof(hypercall_table[0]) == XENITH_HYPERCALL_MAX,
	       "hypercall table covers every op number");

static const char *const hypercall_names[XENITH_HYPERCALL_MAX] = {
	[__HYPERVISOR_xen_version] = "xen_version",
	[__HYPERVISOR_console_io] = "console_io",
	[__HYPERVISOR_vcpu_op] = "vcpu_op",
	[__HYPERVISOR_sched_op] = "sched_op",
	[__HYPERVISOR_event_channel_op] = "event_channel_op",
	[__HYPERVISOR_grant_table_op] = "grant_table_op",
	[__HYPERVISOR_xenith_config] = "xenith_config",
	[__HYPERVISOR_hvm_op] = "hvm_op",
	[__HYPERVISOR_xenith_time] = "xenith_time",
	[__HYPERVISOR_xenith_guest_assert] = "xenith_guest_assert",
	[__HYPERVISOR_xenith_bench_report] = "xenith_bench_report",
	[__HYPERVISOR_xenith_test] = "xenith_test",
	[__HYPERVISOR_xenith_discard] = "xenith_discard",
};

const char *hypercall_name(uint32_t op)
{
	static __thread char buf[24];

	if (op < XENITH_HYPERCALL_MAX && hypercall_names[op])
		return hypercall_names[op];
	snprintf(buf, sizeof(buf), "op %u", op);
	return buf;
}

void hypercall_dispatch(struct vcpu *v)
{
	struct kvm_regs *r = &v->run->s.regs.regs;
	uint64_t op = (uint32_t)r->rax;
	long ret;

	if (op < XENITH_HYPERCALL_MAX && hypercall_table[op])
		ret = hypercall_table[op](v, r->rdi, r->rsi, r->rdx, r->r10, r->r8);
	else
		ret = -XEN_ENOSYS;
	r->rax = (uint64_t)ret;
	/* RIP is left alone: KVM completes the OUT instruction itself. */
	v->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
}
