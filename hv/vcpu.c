// SPDX-License-Identifier: MIT
#include "vcpu.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>

#include "confine.h"
#include "dirty_ring.h"
#include "kind.h"
#include "xenhvm.h"

#define SIG_KICK SIGUSR1

static void kick_handler(int sig)
{
	(void)sig; /* only here to make KVM_RUN return -EINTR */
}

int vcpu_global_init(struct errbuf *eb)
{
	struct sigaction sa = { .sa_handler = kick_handler, .sa_flags = SA_RESTART };

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIG_KICK, &sa, NULL) < 0)
		return errbuf_set(eb, errno, "sigaction: %s", strerror(errno));
	return prof_global_init(eb);
}

int vcpu_init(struct domain *d, struct vcpu *v, unsigned id, struct errbuf *eb)
{
	pthread_condattr_t ca;
	int r;

	memset(v, 0, sizeof(*v));
	v->d = d;
	v->id = id;
	v->fd = -1;
	v->prof.stats_fd = -1;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&v->wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&v->ring_lock, NULL);
	if (d->unbacked) {
		/* The run page and the I/O data page after it, as KVM maps them. */
		v->run = calloc(1, 2 * 4096);
		if (!v->run)
			return errbuf_set(eb, ENOMEM, "out of memory for vCPU %u", id);
		v->run->io.data_offset = 4096;
		return 0;
	}
	r = kvm_vcpu_create(d->kvm, d->vm_fd, id, &v->fd, &v->run, eb);
	if (r < 0)
		return r;
	r = dirty_ring_vcpu_map(d, v, eb);
	if (r < 0)
		return r;
	prof_vcpu_init(v);
	return d->guest_kind->setup_vcpu(d, v, eb);
}

void vcpu_fini(struct vcpu *v)
{
	if (!v->d)
		return;
	prof_vcpu_fini(v);
	dirty_ring_vcpu_unmap(v->d, v);
	if (v->d->unbacked)
		free(v->run);
	else
		kvm_vcpu_close(v->d->kvm, v->fd, v->run);
	v->fd = -1;
	v->run = NULL;
	pthread_cond_destroy(&v->wake);
	pthread_mutex_destroy(&v->ring_lock);
	v->d = NULL;
}

bool vcpu_must_stop(struct vcpu *v)
{
	return v->d->stop_requested || !atomic_load(&v->up);
}

void vcpu_kick(struct vcpu *v)
{
	if (!v->run)
		return; /* not built yet (or torn down): no thread can be running it */
	/* Ordered before the signal: a vCPU not yet in KVM_RUN will not enter it. */
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (v->thread_started)
		pthread_kill(v->thread, SIG_KICK);
	pthread_cond_broadcast(&v->wake);
}

/*
 * Waits while the vCPU is down or the domain paused.  Returns true when
 * the thread must end; else *entry says whether the vCPU was (re)started
 * at *rip by VCPUOP_up (or domain_start) since it last ran.  Called with
 * nothing held.
 */
static bool vcpu_park(struct vcpu *v, bool *entry, uint64_t *rip)
{
	struct domain *d = v->d;

	pthread_mutex_lock(&d->lock);
	for (;;) {
		if (d->stop_requested) {
			pthread_mutex_unlock(&d->lock);
			return true;
		}
		if (atomic_load(&v->up) && !d->pause_requested)
			break;
		uint64_t t0 = prof_idle_begin(v);

		v->parked = true;
		d->nr_parked_threads++;
		atomic_store_explicit(&v->where, VCPU_WHERE_PARKED, memory_order_relaxed);
		pthread_cond_broadcast(&d->state_cond); /* a pause waits for this */
		pthread_cond_wait(&v->wake, &d->lock);
		d->nr_parked_threads--;
		v->parked = false;
		prof_idle_end(v, t0);
	}
	*entry = atomic_exchange(&v->start_pending, false);
	*rip = v->start_rip;
	/* Cleared under the lock: a kick from now on is for the next request. */
	__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&d->lock);
	return false;
}

/*
 * CPL-0 guests: injects the upcall vector when the guest can take it,
 * else asks KVM to exit as soon as it can (KVM_EXIT_IRQ_WINDOW_OPEN).
 * KVM_INTERRUPT is the userspace-irqchip path: these VMs have no LAPIC.
 */
static void vcpu_inject(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	struct kvm_interrupt irq = { .irq = atomic_load(&v->d->callback_vector) };

	if (!irq.irq) {
		atomic_store(&v->irq_pending, false);
		return;
	}
	if (run->ready_for_interrupt_injection && run->if_flag &&
	    ioctl(v->fd, KVM_INTERRUPT, &irq) == 0) {
		atomic_store(&v->irq_pending, false);
		run->request_interrupt_window = 0;
		v->nr_irqs++;
		return;
	}
	run->request_interrupt_window = 1;
}

/*
 * HLT at CPL 0: sleep until an interrupt is owed (or the domain is paused
 * or stopped).  With interrupts off nothing can ever wake the vCPU.
 */
static void vcpu_halt(struct vcpu *v)
{
	struct domain *d = v->d;

	if (!domain_pv_at_cpl0(d)) {
		domain_crash(d, v, "vCPU %u executed HLT", v->id);
		return;
	}
	if (!v->run->if_flag) {
		domain_crash(d, v, "vCPU %u halted with interrupts disabled: nothing can wake it",
			     v->id);
		return;
	}
	uint64_t t0 = prof_idle_begin(v);

	pthread_mutex_lock(&d->lock);
	v->blocked = true;
	atomic_store_explicit(&v->where, VCPU_WHERE_BLOCKED, memory_order_relaxed);
	while (!atomic_load(&v->irq_pending) && !d->pause_requested && !vcpu_must_stop(v))
		pthread_cond_wait(&v->wake, &d->lock);
	v->blocked = false;
	prof_idle_end(v, t0);
	atomic_store_explicit(&v->where, VCPU_WHERE_EXIT, memory_order_relaxed);
	pthread_mutex_unlock(&d->lock);
}

static void vcpu_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;

	/* The device that claimed the address (iobus.h), else none: reads see all ones. */
	iobus_mmio(&v->d->mmio, v, run->mmio.phys_addr, run->mmio.len, run->mmio.is_write,
		   run->mmio.data);
}

static void vcpu_handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	struct domain *d = v->d;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		d->guest_kind->pio(v); /* pv: hypercalls first, then the port bus */
		break;
	case KVM_EXIT_MMIO:
		vcpu_mmio(v);
		break;
	case KVM_EXIT_INTR:
		break;
	case KVM_EXIT_SHUTDOWN:
		domain_crash(d, v, "vCPU %u triple fault: %s", v->id, d->guest_kind->triple_fault);
		break;
	case KVM_EXIT_HLT:
		vcpu_halt(v);
		break;
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		break; /* the run loop injects what is owed */
	case KVM_EXIT_DIRTY_RING_FULL:
		dirty_ring_full(v); /* harvested and reset: it goes on */
		break;
	case KVM_EXIT_XEN:
		if (d->xh) {
			xenhvm_xen_exit(v);
			break;
		}
		domain_crash(d, v, "vCPU %u: unexpected KVM_EXIT_XEN", v->id);
		break;
	case KVM_EXIT_X86_RDMSR:
	case KVM_EXIT_X86_WRMSR:
		if (d->xh) {
			xenhvm_msr(v); /* the only MSR the filter sends here */
			break;
		}
		domain_crash(d, v, "vCPU %u: unexpected MSR exit for MSR 0x%x", v->id, run->msr.index);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		domain_crash(d, v, "vCPU %u: VM entry failed, hardware reason 0x%llx", v->id,
			     (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		domain_crash(d, v, "vCPU %u: KVM internal error, suberror %u", v->id,
			     run->internal.suberror);
		break;
	default:
		domain_crash(d, v, "vCPU %u: unexpected KVM exit reason %u", v->id, run->exit_reason);
		break;
	}
}

static int vcpu_set_entry(struct vcpu *v, uint64_t rip)
{
	struct kvm_regs r;

	memset(&r, 0, sizeof(r));
	if (!v->d->guest_kind->entry_regs(v->d, v, rip, &r))
		goto synced; /* e.g. a Linux application processor: KVM's reset state until SIPI */
	/* Once per vCPU start, so the plain ioctl; exits then use the synced copy in kvm_run. */
	if (ioctl(v->fd, KVM_SET_REGS, &r) < 0)
		return -errno;
synced:
	v->run->kvm_valid_regs = KVM_SYNC_X86_REGS;
	v->run->kvm_dirty_regs = 0;
	return 0;
}

/*
 * KVM completes an exit (the OUT of a hypercall: RIP past the instruction,
 * the result registers from kvm_run) only at the next KVM_RUN.  A vCPU
 * that parks for a pause completes it first, with immediate_exit set so
 * that no guest instruction runs: its registers are then whole for a save
 * (KVM's api.rst, KVM_EXIT_IO: "userspace should ensure that the operation
 * is completed before performing a live migration").
 */
static void vcpu_complete_exit(struct vcpu *v)
{
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (ioctl(v->fd, KVM_RUN, 0) == 0)
		domain_crash(v->d, v, "vCPU %u: completing its exit before a pause, KVM_RUN entered the "
			     "guest although immediate_exit was set", v->id);
	else if (errno != EINTR && errno != EAGAIN)
		domain_crash(v->d, v, "vCPU %u: completing its exit before a pause: KVM_RUN: %s", v->id,
			     strerror(errno));
}

/*
 * Names the thread "xenith-vcpuN" (ps, top -H, tests) and runs it where the
 * config put it (vcpu_pin, numa_node): false if it cannot.
 */
static bool vcpu_thread_place(struct vcpu *v)
{
	struct domain *d = v->d;
	char name[16];
	int r;

	snprintf(name, sizeof(name), "xenith-vcpu%u", v->id);
	prctl(PR_SET_NAME, name, 0, 0, 0);
	if (!d->vcpu_cpus)
		return true;
	r = pthread_setaffinity_np(pthread_self(), sizeof(d->vcpu_cpus[v->id]), &d->vcpu_cpus[v->id]);
	if (r == 0)
		return true;
	domain_crash(d, v, "vCPU %u: cannot run on the CPUs vcpu_pin/numa_node ask for: %s", v->id,
		     strerror(r));
	return false;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct domain *d = v->d;
	uint64_t t_run = 0, t_exit = 0;
	unsigned reason;
	bool timing, exit_open = false; /* an exit was handled and KVM has not completed it yet */

	prof_vcpu_thread_start(v);
	if (!vcpu_thread_place(v))
		goto end; /* the domain crashed saying why */
	confine_thread(CONFINE_VCPU);
	for (;;) {
		if (d->pause_requested || d->stop_requested || !atomic_load(&v->up) ||
		    atomic_load(&v->start_pending)) {
			bool entry;
			uint64_t rip;

			if (exit_open && d->pause_requested && !d->stop_requested)
				vcpu_complete_exit(v);
			exit_open = false;
			if (vcpu_park(v, &entry, &rip))
				break;
			if (entry) {
				if (vcpu_set_entry(v, rip) < 0) {
					domain_crash(d, v, "vCPU %u: KVM_SET_REGS: %s", v->id, strerror(errno));
					break;
				}
				if (!v->first_run_ns)
					v->first_run_ns = now_ns();
			}
			continue; /* look at the requests again: one may have come meanwhile */
		}
		if (atomic_load(&v->irq_pending))
			vcpu_inject(v);
		timing = prof_timing(d);
		if (timing)
			t_run = now_ns();
		atomic_store_explicit(&v->where, VCPU_WHERE_GUEST, memory_order_relaxed);
		/* After `where`: until now a sample named the hypercall just handled. */
		v->prof.cur_hcall = 0;
		exit_open = false;
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			atomic_store_explicit(&v->where, VCPU_WHERE_EXIT, memory_order_relaxed);
			if (errno == EINTR || errno == EAGAIN) {
				/* A kick: clear it only now, then look at the request (vcpu_park). */
				__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
				if (timing)
					prof_add(&v->prof.c.guest_ns, now_ns() - t_run);
				prof_guest_sample(v); /* or a profiling tick */
				continue;
			}
			domain_crash(d, v, "vCPU %u: KVM_RUN failed: %s", v->id, strerror(errno));
			break;
		}
		atomic_store_explicit(&v->where, VCPU_WHERE_EXIT, memory_order_relaxed);
		if (!v->first_exit_ns) /* read by other threads (boot timing): atomic */
			__atomic_store_n(&v->first_exit_ns, now_ns(), __ATOMIC_RELEASE);
		reason = v->run->exit_reason < PROF_EXIT_MAX ? v->run->exit_reason : PROF_EXIT_MAX - 1;
		prof_add(&v->prof.c.exits[reason], 1);
		if (timing) {
			t_exit = now_ns();
			prof_add(&v->prof.c.guest_ns, t_exit - t_run);
			v->prof.exit_idle_ns = 0;
		}
		vcpu_handle_exit(v);
		exit_open = true;
		if (timing)
			prof_exit_time(v, reason, now_ns() - t_exit);
	}
end:
	pthread_mutex_lock(&d->lock);
	atomic_store(&v->up, false);
	atomic_store_explicit(&v->where, VCPU_WHERE_ENDED, memory_order_relaxed);
	d->nr_running_threads--;
	pthread_cond_broadcast(&d->state_cond);
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

int vcpu_thread_create(struct vcpu *v, struct errbuf *eb)
{
	struct domain *d = v->d;
	pthread_attr_t attr;
	sigset_t all, old;
	int r;

	if (v->thread_started)
		return 0;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	/* The thread starts with every signal blocked but the kick. */
	sigfillset(&all);
	sigdelset(&all, SIG_KICK);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&v->thread, &attr, vcpu_thread, v);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (r != 0)
		return errbuf_set(eb, r, "vCPU %u: cannot start its thread: %s", v->id, strerror(r));
	v->thread_started = true;
	d->nr_running_threads++;
	return 0;
}

int vcpu_up(struct vcpu *v, uint64_t rip)
{
	if (atomic_load(&v->up))
		return -EALREADY;
	if (v->d->stop_requested)
		return -EINTR;
	v->start_rip = rip;
	atomic_store(&v->start_pending, true);
	atomic_store(&v->up, true);
	pthread_cond_broadcast(&v->wake);
	return 0;
}

int vcpu_up_restored(struct vcpu *v)
{
	if (atomic_load(&v->up))
		return -EALREADY;
	/* Hypercalls read the registers from kvm_run: KVM fills it at every exit from now on. */
	v->run->kvm_valid_regs = KVM_SYNC_X86_REGS;
	v->run->kvm_dirty_regs = 0;
	atomic_store(&v->up, true);
	pthread_cond_broadcast(&v->wake);
	return 0;
}
