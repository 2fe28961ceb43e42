// SPDX-License-Identifier: MIT
#include "domain.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "builder.h"
#include "confine.h"
#include "device.h"
#include "dirty_ring.h"
#include "hypercall.h"
#include "kind.h"
#include "membacking.h"
#include "portalloc.h"
#include "textfilter.h"
#include "vcpu.h"
#include "xsdomain.h"

const char *domain_state_name(enum domain_state s)
{
	switch (s) {
	case DOMAIN_BUILT: return "built";
	case DOMAIN_RUNNING: return "running";
	case DOMAIN_PAUSED: return "paused";
	case DOMAIN_SHUTDOWN: return "shutdown";
	case DOMAIN_CRASHED: return "crashed";
	case DOMAIN_DESTROYED: return "destroyed";
	}
	return "?";
}

int domain_copy_from_guest(struct domain *d, void *dst, uint64_t gpa, uint64_t len)
{
	void *src = domain_gpa(d, gpa, len);

	if (!src)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

void *domain_gpa_writable(struct domain *d, uint64_t gpa, uint64_t len)
{
	void *p = domain_gpa(d, gpa, len);

	if (!p || !d->ro_frames || !len)
		return p;
	for (uint64_t f = gpa / XENITH_PAGE_SIZE; f <= (gpa + len - 1) / XENITH_PAGE_SIZE; f++)
		if (d->ro_frames[f / 64] >> (f % 64) & 1)
			return NULL;
	return p;
}

int domain_copy_to_guest(struct domain *d, uint64_t gpa, const void *src, uint64_t len)
{
	void *dst = domain_gpa_writable(d, gpa, len);

	if (!dst)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

int domain_copy_string(struct domain *d, char *dst, size_t size, uint64_t gpa)
{
	size_t i;

	if (size == 0 || !domain_gpa(d, gpa, 1))
		return -EFAULT;
	for (i = 0; i + 1 < size && gpa + i < d->mem_size; i++) {
		dst[i] = (char)d->mem[gpa + i];
		if (!dst[i])
			return 0;
	}
	dst[i] = 0;
	return 0;
}

/*
 * The periodic timers of a domain's vCPUs: sleeps until the earliest
 * deadline, raises VIRQ_TIMER for each one due, and skips periods missed
 * (a late timer fires once, not in a burst).
 */
static void *timer_thread(void *arg)
{
	struct domain *d = arg;

	confine_thread(CONFINE_TIMER);
	pthread_mutex_lock(&d->lock);
	while (!d->timer_stop) {
		uint64_t now = now_ns(), next = UINT64_MAX;
		unsigned due = 0;

		for (unsigned i = 0; i < d->nr_vcpus; i++) {
			struct vcpu *v = &d->vcpus[i];

			if (!v->timer_period_ns)
				continue;
			if (v->timer_next_ns <= now && !d->frozen) {
				due++;
				v->timer_next_ns += v->timer_period_ns *
						    ((now - v->timer_next_ns) / v->timer_period_ns + 1);
			}
			if (v->timer_next_ns < next)
				next = v->timer_next_ns;
		}
		if (due) {
			pthread_mutex_unlock(&d->lock);
			evtchn_send_virq(d, VIRQ_TIMER); /* takes d->lock itself */
			pthread_mutex_lock(&d->lock);
			continue;
		}
		if (next == UINT64_MAX || d->frozen) {
			pthread_cond_wait(&d->timer_cond, &d->lock);
		} else {
			struct timespec ts = { .tv_sec = (time_t)(next / 1000000000ull),
					       .tv_nsec = (long)(next % 1000000000ull) };

			pthread_cond_timedwait(&d->timer_cond, &d->lock, &ts);
		}
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

int domain_set_periodic_timer(struct domain *d, struct vcpu *v, uint64_t period_ns)
{
	int r = 0;

	pthread_mutex_lock(&d->lock);
	v->timer_period_ns = period_ns;
	v->timer_next_ns = now_ns() + period_ns;
	if (period_ns && !d->timer_thread_started) {
		sigset_t all, old;

		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		r = pthread_create(&d->timer_thread, NULL, timer_thread, d);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (r == 0)
			d->timer_thread_started = true;
		else
			v->timer_period_ns = 0;
	}
	pthread_cond_broadcast(&d->timer_cond);
	pthread_mutex_unlock(&d->lock);
	return -r;
}

void domain_timer_thread_stop(struct domain *d)
{
	bool started;

	pthread_mutex_lock(&d->lock);
	started = d->timer_thread_started;
	d->timer_stop = true;
	pthread_cond_broadcast(&d->timer_cond);
	pthread_mutex_unlock(&d->lock);
	if (started)
		pthread_join(d->timer_thread, NULL);
	pthread_mutex_lock(&d->lock);
	d->timer_thread_started = false;
	d->timer_stop = false;
	pthread_mutex_unlock(&d->lock);
}

static const char *where_name(int where)
{
	switch (where) {
	case VCPU_WHERE_NONE: return "not started";
	case VCPU_WHERE_PARKED: return "parked";
	case VCPU_WHERE_GUEST: return "in guest code";
	case VCPU_WHERE_EXIT: return "in the VMM";
	case VCPU_WHERE_BLOCKED: return "blocked";
	case VCPU_WHERE_ENDED: return "ended";
	}
	return "?";
}

/*
 * One line on where each vCPU thread is (only those still in the guest or
 * the VMM when busy_only); d->lock held.
 */
static void describe_vcpus_locked(struct domain *d, char *buf, size_t size, bool busy_only)
{
	size_t n = 0;

	buf[0] = 0;
	for (unsigned i = 0; d->vcpus && i < d->nr_vcpus && n + 1 < size; i++) {
		struct vcpu *v = &d->vcpus[i];
		int where = atomic_load_explicit(&v->where, memory_order_relaxed);
		int k;

		if (busy_only && (where != VCPU_WHERE_GUEST && where != VCPU_WHERE_EXIT))
			continue;
		if (where == VCPU_WHERE_EXIT)
			k = snprintf(buf + n, size - n, "%svCPU %u in the VMM (last hypercall %s)",
				     n ? ", " : "", i, hypercall_name(atomic_load_explicit(
					     &v->last_hypercall, memory_order_relaxed)));
		else
			k = snprintf(buf + n, size - n, "%svCPU %u %s", n ? ", " : "", i, where_name(where));
		if (k < 0)
			break;
		n += (size_t)k;
	}
	if (n >= size && size > 4)
		memcpy(buf + size - 4, "...", 4);
	if (!buf[0])
		snprintf(buf, size, "no vCPU is in the guest or the VMM");
}

/*
 * Once the domain is killed, waits DOMAIN_STOP_GRACE_MS for domain_destroy()
 * to finish; if it has not, tells opts.stuck what has not stopped.
 */
static void *watchdog_thread(void *arg)
{
	struct domain *d = arg;
	char what[512];

	confine_thread(CONFINE_WATCHDOG);

	pthread_mutex_lock(&d->lock);
	while (!d->watchdog_stop) {
		uint64_t deadline;
		struct timespec ts;
		size_t n;

		if (!d->kill_ns) {
			pthread_cond_wait(&d->state_cond, &d->lock);
			continue;
		}
		deadline = d->kill_ns + DOMAIN_STOP_GRACE_MS * 1000000ull;
		if (now_ns() < deadline) {
			ts = (struct timespec){ .tv_sec = (time_t)(deadline / 1000000000ull),
						.tv_nsec = (long)(deadline % 1000000000ull) };
			pthread_cond_timedwait(&d->state_cond, &d->lock, &ts);
			continue;
		}
		n = (size_t)snprintf(what, sizeof(what), "%u of %u vCPU thread(s) still running",
				     d->nr_running_threads, d->nr_vcpus);
		if (d->nr_running_threads) {
			snprintf(what + n, sizeof(what) - n, " (");
			describe_vcpus_locked(d, what + n + 2, sizeof(what) - n - 3, true);
			n = strlen(what);
			snprintf(what + n, sizeof(what) - n, ")");
		} else {
			snprintf(what + n, sizeof(what) - n, "; the teardown (backends, timers) has "
				 "not finished");
		}
		pthread_mutex_unlock(&d->lock);
		d->stuck(d, what); /* does not return */
		pthread_mutex_lock(&d->lock);
		break;
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

/*
 * Started by the first domain_start(), not at domain_create(): by then the
 * VMM is confined, and a thread started before the jail would keep the
 * host's root and mount namespace (unshare and pivot_root move only their
 * caller), with a filter that may unlink files.
 */
static int watchdog_start(struct domain *d, struct errbuf *eb)
{
	sigset_t all, old;
	int r;

	if (!d->stuck || d->watchdog_started)
		return 0;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&d->watchdog, NULL, watchdog_thread, d);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r)
		return errbuf_set(eb, r, "watchdog thread: %s", strerror(r));
	pthread_mutex_lock(&d->lock);
	d->watchdog_started = true;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static void watchdog_stop(struct domain *d)
{
	bool started;

	pthread_mutex_lock(&d->lock);
	started = d->watchdog_started;
	d->watchdog_stop = true;
	pthread_cond_broadcast(&d->state_cond);
	pthread_mutex_unlock(&d->lock);
	if (started)
		pthread_join(d->watchdog, NULL);
}

/* Undoes domain_build(); copes with any partial state.  No vCPU thread may run. */
static void domain_teardown(struct domain *d)
{
	struct vcpu *vcpus;
	char why[sizeof(d->end.why)];

	/* A recording keeps what the vCPUs counted and sampled until now, and ends. */
	pthread_mutex_lock(&d->lock);
	snprintf(why, sizeof(why), "%s", d->end.why[0] ? d->end.why : "the domain was torn down");
	pthread_mutex_unlock(&d->lock);
	prof_domain_detach(d, why);
	domain_timer_thread_stop(d);
	devices_disconnect(d); /* backends let go of guest memory first */
	xsdomain_disconnect(d); /* so does the store (devices took their nodes out first) */
	atomic_store(&d->callback_vector, 0);
	pthread_mutex_lock(&d->lock);
	vcpus = d->vcpus;
	d->vcpus = NULL; /* domain_get_info() looks at them under the lock */
	if (d->gnttab_ready)
		grant_table_fini(&d->gnttab);
	d->gnttab_ready = false;
	pthread_mutex_unlock(&d->lock);
	if (vcpus) {
		for (unsigned i = 0; i < d->nr_vcpus; i++)
			vcpu_fini(&vcpus[i]);
		free(vcpus);
	}
	builder_unmap_memory(d);
	d->shared = NULL;
	d->cons_ring = NULL;
	d->start_info = NULL;
	free(d->ro_frames);
	d->ro_frames = NULL;
	if (d->mem_fd >= 0)
		close(d->mem_fd);
	d->mem_fd = -1;
	if (d->vm_fd >= 0)
		close(d->vm_fd);
	d->vm_fd = -1;
	memmap_release(&d->memmap);
}

/* The TSC frequency an unbacked domain's guest clock is told (it never runs). */
#define UNBACKED_TSC_KHZ 1000000

/* A VM, its vCPUs and populated memory; the image is already parsed. */
static int domain_build(struct domain *d, struct errbuf *eb)
{
	struct vcpu *vcpus;
	int r = 0, khz;

	if (!d->unbacked) {
		r = kvm_vm_create(d->kvm, &d->vm_fd, eb);
		if (r < 0)
			return r;
	}
	memmap_reset(&d->memmap, d->vm_fd); /* a new VM has no slots yet */
	r = dirty_ring_vm_init(d, eb); /* before the vCPUs, and before RAM (its bitmaps) */
	if (r < 0)
		return r;
	if (d->guest_kind->vm_init) {
		r = d->guest_kind->vm_init(d, eb); /* e.g. an irqchip: before the vCPUs */
		if (r < 0)
			return r;
	}
	vcpus = calloc(d->nr_vcpus, sizeof(*vcpus));
	if (!vcpus)
		return errbuf_set(eb, ENOMEM, "out of memory for %u vCPUs", d->nr_vcpus);
	for (unsigned i = 0; i < d->nr_vcpus && r == 0; i++)
		r = vcpu_init(d, &vcpus[i], i, eb);
	/*
	 * Published only now, under the lock: a kill (a signal, `xenith destroy`)
	 * during a restart walks d->vcpus, and must never see a half-built vCPU.
	 * Even on failure: domain_teardown() frees them.
	 */
	pthread_mutex_lock(&d->lock);
	d->vcpus = vcpus;
	pthread_mutex_unlock(&d->lock);
	if (r < 0)
		return r;
	khz = d->unbacked ? UNBACKED_TSC_KHZ : ioctl(d->vcpus[0].fd, KVM_GET_TSC_KHZ, 0);
	if (khz <= 0)
		return errbuf_set(eb, errno, "KVM_GET_TSC_KHZ: %s; the guest clock needs the TSC "
				  "frequency", strerror(errno));
	d->tsc_khz = (uint64_t)khz;
	evtchn_init(&d->evtchn);
	r = builder_populate(d, eb);
	if (r < 0)
		return r;
	if (d->guest_kind->connect) {
		r = d->guest_kind->connect(d, eb); /* console, grant table: the guest's own interfaces */
		if (r < 0)
			return r;
	}
	return devices_connect(d, eb);
}

/* d->vcpu_cpus from vcpu_pin and numa_node: each CPU checked against ours. */
static int place_vcpus(struct domain *d, struct errbuf *eb)
{
	for (unsigned i = 0; i < d->nr_vcpus; i++) {
		struct cpu_mask m;
		bool restricted;
		int r = mem_vcpu_cpus(&d->cfg, i, &m, &restricted, eb);

		if (r < 0)
			return r;
		if (!restricted)
			continue;
		if (!d->vcpu_cpus) {
			d->vcpu_cpus = calloc(d->nr_vcpus, sizeof(*d->vcpu_cpus));
			if (!d->vcpu_cpus)
				return errbuf_set(eb, ENOMEM, "out of memory for vCPU placement");
			for (unsigned k = 0; k < d->nr_vcpus; k++)
				sched_getaffinity(0, sizeof(d->vcpu_cpus[k]), &d->vcpu_cpus[k]);
		}
		CPU_ZERO(&d->vcpu_cpus[i]);
		for (unsigned c = 0; c < CONFIG_CPUS_MAX && c < CPU_SETSIZE; c++)
			if (cpu_mask_test(&m, c))
				CPU_SET(c, &d->vcpu_cpus[i]);
	}
	if (d->vcpu_cpus && !d->unbacked) {
		cpu_set_t all;

		CPU_ZERO(&all);
		for (unsigned i = 0; i < d->nr_vcpus; i++)
			CPU_OR(&all, &all, &d->vcpu_cpus[i]);
		confine_set_helper_cpus(&all); /* one placed domain per process (xenith run) */
	}
	return 0;
}

/* domain_create() and domain_create_unbacked() (kvm NULL). */
static int create(const struct domain_config *cfg, const struct domain_opts *opts,
		  struct kvm_sys *kvm, uint32_t domid, struct domain **out, struct errbuf *eb)
{
	unsigned max_vcpus = kvm && kvm->max_vcpus < XENITH_MAX_VCPUS ? kvm->max_vcpus : XENITH_MAX_VCPUS;
	struct domain *d;
	pthread_condattr_t ca;
	char prefix[XENITH_NAME_MAX + 3] = "";
	int r;

	if (cfg->vcpus < 1 || cfg->vcpus > max_vcpus)
		return errbuf_set(eb, EINVAL, "vcpus = %u: this host allows 1 to %u", cfg->vcpus,
				  max_vcpus);
	d = calloc(1, sizeof(*d));
	if (!d)
		return errbuf_set(eb, ENOMEM, "out of memory for a domain");
	d->cfg = *cfg;
	d->domid = domid;
	d->kvm = kvm;
	d->unbacked = !kvm;
	d->vm_fd = -1;
	d->mem_fd = -1;
	d->nr_vcpus = cfg->vcpus;
	d->mem_size = cfg->memory_mib << 20;
	d->created_ns = now_ns();
	d->test_hooks = getenv("XENITH_TEST_HOOKS") && !strcmp(getenv("XENITH_TEST_HOOKS"), "1");
	pthread_mutex_init(&d->lock, NULL);
	pthread_mutex_init(&d->ctl_lock, NULL);
	pthread_mutex_init(&d->prof_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->state_cond, &ca);
	pthread_cond_init(&d->timer_cond, &ca);
	pthread_condattr_destroy(&ca);
	d->console.out_fd = -1;
	d->console.log_fd = -1;
	d->ports = malloc(sizeof(*d->ports));
	if (!d->ports) {
		r = errbuf_set(eb, ENOMEM, "out of memory for a domain");
		goto fail;
	}
	port_space_init_domain(d->ports);
	memmap_init(&d->memmap, -1);
	iobus_init(&d->pio, "port");
	iobus_init(&d->mmio, "MMIO");
	if (opts->console_prefix)
		snprintf(prefix, sizeof(prefix), "%s: ", cfg->name);
	r = console_init(&d->console, opts->console_fd, prefix, cfg->console_log, cfg->console_log_max, eb);
	if (r < 0)
		goto fail;
	d->console_ready = true;
	r = place_vcpus(d, eb);
	if (r < 0)
		goto fail;
	r = builder_open_image(d, cfg->kernel, eb);
	if (r < 0)
		goto fail;
	if (d->unbacked && !d->guest_kind->unbacked_ok) {
		r = errbuf_set(eb, EINVAL, "an unbacked (test) domain is a PV guest; %s is not",
			       cfg->kernel);
		goto fail;
	}
	r = devices_create(d, opts, eb);
	if (r < 0)
		goto fail;
	d->restoring = opts->restoring;
	r = domain_build(d, eb);
	d->restoring = false; /* a reboot builds in full */
	if (r < 0)
		goto fail;
	d->stuck = opts->stuck; /* its watchdog starts with the domain (watchdog_start) */
	d->state = DOMAIN_BUILT;
	*out = d;
	return 0;
fail:
	domain_destroy(d);
	return r;
}

/* Asks every vCPU thread to end; d->lock held. */
static void stop_all_locked(struct domain *d)
{
	d->stop_requested = true;
	for (unsigned i = 0; d->vcpus && i < d->nr_vcpus; i++)
		if (d->vcpus[i].d)
			vcpu_kick(&d->vcpus[i]);
}

int domain_create(const struct domain_config *cfg, const struct domain_opts *opts,
		  struct kvm_sys *kvm, uint32_t domid, struct domain **out, struct errbuf *eb)
{
	if (!kvm)
		return errbuf_set(eb, EINVAL, "domain_create needs KVM (domain_create_unbacked "
				  "builds a domain without it)");
	return create(cfg, opts, kvm, domid, out, eb);
}

int domain_create_unbacked(const struct domain_config *cfg, const struct domain_opts *opts,
			   uint32_t domid, struct domain **out, struct errbuf *eb)
{
	struct domain_opts o = *opts;

	o.stuck = NULL; /* nothing to stop */
	return create(cfg, &o, NULL, domid, out, eb);
}

/* Brings the vCPUs up as vs says, or (vs NULL) as a boot does, and starts their threads. */
static int start(struct domain *d, const struct vcpu_start *vs, struct errbuf *eb)
{
	int r = 0;

	if (d->unbacked)
		return errbuf_set(eb, EINVAL, "domain '%s' has no KVM VM (domain_create_unbacked): "
				  "it cannot run", d->cfg.name);
	r = watchdog_start(d, eb);
	if (r < 0)
		return r;

	pthread_mutex_lock(&d->lock);
	d->started_ns = now_ns();
	if (!vs) {
		vcpu_up(&d->vcpus[0], d->image.entry);
		/* Linux's application processors run from the start: KVM holds them until SIPI. */
		for (unsigned i = 1; d->guest_kind->all_vcpus_at_start && i < d->nr_vcpus; i++)
			vcpu_up(&d->vcpus[i], 0);
	}
	for (unsigned i = 0; vs && i < d->nr_vcpus; i++) {
		if (vs[i].up && vs[i].pending)
			vcpu_up(&d->vcpus[i], vs[i].rip);
		else if (vs[i].up)
			vcpu_up_restored(&d->vcpus[i]);
	}
	/* One thread per vCPU for the domain's life; those not up park. */
	for (unsigned i = 0; i < d->nr_vcpus && r == 0; i++)
		r = vcpu_thread_create(&d->vcpus[i], eb);
	if (r == 0)
		d->state = DOMAIN_RUNNING;
	else
		stop_all_locked(d); /* the threads started so far end; domain_destroy joins them */
	pthread_mutex_unlock(&d->lock);
	return r;
}

int domain_start(struct domain *d, struct errbuf *eb)
{
	return start(d, NULL, eb);
}

int domain_start_vcpus(struct domain *d, const struct vcpu_start *vs, struct errbuf *eb)
{
	return start(d, vs, eb);
}

/* Waits for every vCPU thread to end and reaps them; d->lock not held. */
static void join_all(struct domain *d)
{
	pthread_mutex_lock(&d->lock);
	while (d->nr_running_threads)
		pthread_cond_wait(&d->state_cond, &d->lock);
	pthread_mutex_unlock(&d->lock);
	for (unsigned i = 0; d->vcpus && i < d->nr_vcpus; i++) {
		bool started;

		/* Cleared under the lock first: vcpu_kick() must not signal a joined thread. */
		pthread_mutex_lock(&d->lock);
		started = d->vcpus[i].thread_started;
		d->vcpus[i].thread_started = false;
		pthread_mutex_unlock(&d->lock);
		if (started)
			pthread_join(d->vcpus[i].thread, NULL);
	}
}

void domain_destroy(struct domain *d)
{
	if (!d)
		return;
	if (d->vcpus) {
		pthread_mutex_lock(&d->lock);
		stop_all_locked(d);
		pthread_mutex_unlock(&d->lock);
		join_all(d);
	}
	domain_teardown(d);
	devices_destroy(d); /* what devices keep across restarts goes now */
	xsdomain_free(d); /* kept across restarts too */
	free(d->ports);
	if (d->guest_kind && d->guest_kind->close)
		d->guest_kind->close(d);
	iobus_fini(&d->pio);
	iobus_fini(&d->mmio);
	if (d->image_map)
		munmap(d->image_map, d->image_size);
	if (d->console_ready)
		console_fini(&d->console);
	watchdog_stop(d); /* armed until everything above is done */
	pthread_cond_destroy(&d->state_cond);
	pthread_cond_destroy(&d->timer_cond);
	pthread_mutex_destroy(&d->ctl_lock);
	pthread_mutex_destroy(&d->prof_lock);
	pthread_mutex_destroy(&d->lock);
	free(d->vcpu_cpus);
	free(d->reloc);
	free(d);
}

/* Records how the domain ended (the first reason wins); d->lock held. */
static bool end_locked(struct domain *d, enum domain_state st, const char *why)
{
	if (d->ended)
		return false;
	d->ended = true;
	memset(&d->end, 0, sizeof(d->end));
	d->end.state = st;
	snprintf(d->end.why, sizeof(d->end.why), "%s", why);
	d->state = st;
	stop_all_locked(d);
	pthread_cond_broadcast(&d->state_cond);
	return true;
}

void domain_crash(struct domain *d, struct vcpu *v, const char *fmt, ...)
{
	char why[sizeof(d->end.why)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	/* A reason may quote the guest (GUEST_ASSERT): it reaches a terminal only filtered. */
	text_sanitize(why, sizeof(why), why, strlen(why), TEXT_ONE_LINE);
	pthread_mutex_lock(&d->lock);
	if (end_locked(d, DOMAIN_CRASHED, why) && v) {
		/* Called on v's own thread, right after its exit: the registers are current. */
		d->end.vcpu = v->id;
		d->end.regs = v->run->s.regs.regs;
		d->end.have_regs = ioctl(v->fd, KVM_GET_SREGS, &d->end.sregs) == 0;
		/*
		 * KVM on AMD-V resets a vCPU that triple-faulted before it reports
		 * the shutdown: what we read is the reset state, not the crash.
		 */
		if (d->end.have_regs && d->end.regs.rip == 0xfff0 && d->end.sregs.cs.base == 0xffff0000) {
			d->end.have_regs = false;
			snprintf(d->end.why + strlen(d->end.why), sizeof(d->end.why) - strlen(d->end.why),
				 "; registers unavailable: this host's KVM reset the vCPU on the triple "
				 "fault (AMD-V)");
		}
	}
	pthread_mutex_unlock(&d->lock);
}

void domain_shutdown_by_guest(struct domain *d, uint32_t reason, uint32_t code)
{
	char why[96];

	pthread_mutex_lock(&d->lock);
	switch (reason) {
	case SHUTDOWN_poweroff:
		snprintf(why, sizeof(why), "powered off, exit code %u", code);
		break;
	case SHUTDOWN_reboot:
		snprintf(why, sizeof(why), "asked to reboot");
		break;
	case SHUTDOWN_watchdog:
		snprintf(why, sizeof(why), "guest watchdog fired");
		break;
	default:
		snprintf(why, sizeof(why), "the guest reported a crash (sched_op shutdown, reason crash)");
		break;
	}
	if (end_locked(d, reason == SHUTDOWN_poweroff || reason == SHUTDOWN_reboot ? DOMAIN_SHUTDOWN
										       : DOMAIN_CRASHED, why)) {
		d->end.reason = reason;
		d->end.code = code;
	}
	pthread_mutex_unlock(&d->lock);
}

static enum domain_action end_action(const struct domain *d)
{
	switch (d->end.state) {
	case DOMAIN_SHUTDOWN:
		return d->end.reason == SHUTDOWN_reboot ? d->cfg.on_reboot : d->cfg.on_poweroff;
	case DOMAIN_CRASHED:
		return d->cfg.on_crash;
	default:
		return ACTION_DESTROY;
	}
}

void domain_kill(struct domain *d, bool timed_out, const char *why)
{
	pthread_mutex_lock(&d->lock);
	/* An end that was about to be restarted is not final: the kill is. */
	if (d->ended && end_action(d) == ACTION_RESTART)
		d->ended = false;
	if (end_locked(d, DOMAIN_DESTROYED, why))
		d->end.timed_out = timed_out;
	d->released = true; /* a preserved domain goes away too */
	if (!d->kill_ns)
		d->kill_ns = now_ns(); /* arms the stop watchdog */
	pthread_cond_broadcast(&d->state_cond);
	pthread_mutex_unlock(&d->lock);
}

void domain_note_blocked(struct domain *d)
{
	if (d->pause_requested)
		pthread_cond_broadcast(&d->state_cond);
}

static unsigned threads_out_of_guest(struct domain *d)
{
	unsigned n = d->nr_parked_threads;

	for (unsigned i = 0; i < d->nr_vcpus; i++)
		if (d->vcpus[i].blocked)
			n++;
	return n;
}

int domain_pause(struct domain *d, struct errbuf *eb)
{
	struct timespec ts;
	uint64_t deadline;
	int r = 0;

	pthread_mutex_lock(&d->lock);
	if (d->state != DOMAIN_RUNNING) {
		r = errbuf_set(eb, EINVAL, "domain '%s' is %s, not running", d->cfg.name,
			       domain_state_name(d->state));
		goto out;
	}
	d->pause_requested = true;
	for (unsigned i = 0; i < d->nr_vcpus; i++)
		vcpu_kick(&d->vcpus[i]);
	/*
	 * Synchronous, as xl pause is: no guest code runs once we return.  A
	 * kicked vCPU leaves KVM_RUN at once; one that does not within the
	 * bound is stuck in the VMM, and the caller hears which.
	 */
	deadline = now_ns() + DOMAIN_PAUSE_TIMEOUT_MS * 1000000ull;
	ts = (struct timespec){ .tv_sec = (time_t)(deadline / 1000000000ull),
				.tv_nsec = (long)(deadline % 1000000000ull) };
	while (!d->ended && threads_out_of_guest(d) < d->nr_running_threads) {
		if (pthread_cond_timedwait(&d->state_cond, &d->lock, &ts) == ETIMEDOUT &&
		    !d->ended && threads_out_of_guest(d) < d->nr_running_threads) {
			char stuck[256];

			describe_vcpus_locked(d, stuck, sizeof(stuck), true);
			d->pause_requested = false; /* it stays running: the pause failed */
			for (unsigned i = 0; i < d->nr_vcpus; i++)
				pthread_cond_broadcast(&d->vcpus[i].wake);
			r = errbuf_set(eb, ETIMEDOUT, "domain '%s' did not pause within %u ms: %s; it goes "
				       "on running (`xenith destroy %s` ends it)", d->cfg.name,
				       DOMAIN_PAUSE_TIMEOUT_MS, stuck, d->cfg.name);
			goto out;
		}
	}
	if (!d->ended)
		d->state = DOMAIN_PAUSED;
out:
	pthread_mutex_unlock(&d->lock);
	return r;
}

int domain_unpause(struct domain *d, struct errbuf *eb)
{
	int r = 0;

	pthread_mutex_lock(&d->lock);
	if (d->state != DOMAIN_PAUSED) {
		r = errbuf_set(eb, EINVAL, "domain '%s' is %s, not paused", d->cfg.name,
			       domain_state_name(d->state));
		goto out;
	}
	d->pause_requested = false;
	d->state = DOMAIN_RUNNING;
	for (unsigned i = 0; i < d->nr_vcpus; i++)
		pthread_cond_broadcast(&d->vcpus[i].wake);
out:
	pthread_mutex_unlock(&d->lock);
	return r;
}

int domain_request_shutdown(struct domain *d, uint32_t request, struct errbuf *eb)
{
	pthread_mutex_lock(&d->lock);
	if (d->state != DOMAIN_RUNNING && d->state != DOMAIN_PAUSED) {
		enum domain_state st = d->state;

		pthread_mutex_unlock(&d->lock);
		return errbuf_set(eb, EINVAL, "domain '%s' is %s; only a running or paused domain "
				  "can be asked to shut down", d->cfg.name, domain_state_name(st));
	}
	pthread_mutex_unlock(&d->lock);
	return d->guest_kind->request_shutdown(d, request, eb);
}

/* Builds the domain anew after a reboot or crash (on_* = restart). */
static int domain_restart(struct domain *d, struct errbuf *eb)
{
	int r;

	pthread_mutex_lock(&d->ctl_lock);
	pthread_mutex_lock(&d->lock);
	if (d->released) {
		/* destroyed while we were about to restart it: that wins */
		pthread_mutex_unlock(&d->lock);
		pthread_mutex_unlock(&d->ctl_lock);
		return -ECANCELED;
	}
	pthread_mutex_unlock(&d->lock);
	domain_teardown(d);
	pthread_mutex_lock(&d->lock);
	if (d->released) {
		/*
		 * Destroyed during the teardown: domain_kill() saw the old end and
		 * wrote its own, which must not be undone by starting over.
		 */
		pthread_mutex_unlock(&d->lock);
		pthread_mutex_unlock(&d->ctl_lock);
		return -ECANCELED;
	}
	d->ended = false;
	d->stop_requested = false;
	d->pause_requested = false;
	d->restarts++;
	pthread_mutex_unlock(&d->lock);
	r = domain_build(d, eb);
	if (r == 0)
		r = domain_start(d, eb);
	pthread_mutex_unlock(&d->ctl_lock);
	return r;
}

/* A job domain_run_on_main() left: run it without the lock, then say it is done.  d->lock held. */
static void run_main_job_locked(struct domain *d)
{
	int (*fn)(struct domain *, void *) = d->main_job;
	int r;

	if (!fn || d->main_job_done)
		return;
	pthread_mutex_unlock(&d->lock);
	r = fn(d, d->main_job_arg);
	pthread_mutex_lock(&d->lock);
	d->main_job_result = r;
	d->main_job_done = true;
	pthread_cond_broadcast(&d->state_cond);
}

int domain_run_on_main(struct domain *d, int (*fn)(struct domain *d, void *arg), void *arg)
{
	uint64_t deadline = now_ns() + DOMAIN_MAIN_JOB_TIMEOUT_MS * 1000000ull;
	struct timespec ts = { .tv_sec = (time_t)(deadline / 1000000000ull),
			       .tv_nsec = (long)(deadline % 1000000000ull) };
	int r = -ETIMEDOUT;

	pthread_mutex_lock(&d->lock);
	while (d->main_job && !d->ended) /* one at a time */
		if (pthread_cond_timedwait(&d->state_cond, &d->lock, &ts) == ETIMEDOUT)
			goto out;
	if (d->ended) {
		r = -ECANCELED;
		goto out;
	}
	d->main_job = fn;
	d->main_job_arg = arg;
	d->main_job_done = false;
	pthread_cond_broadcast(&d->state_cond);
	while (!d->main_job_done && !d->ended)
		if (pthread_cond_timedwait(&d->state_cond, &d->lock, &ts) == ETIMEDOUT)
			break;
	r = d->main_job_done ? d->main_job_result : d->ended ? -ECANCELED : -ETIMEDOUT;
	d->main_job = NULL;
	d->main_job_done = false;
	pthread_cond_broadcast(&d->state_cond);
out:
	pthread_mutex_unlock(&d->lock);
	return r;
}

static int wait_locked(struct domain *d, bool *flag, uint64_t deadline_ns)
{
	struct timespec ts = { .tv_sec = (time_t)(deadline_ns / 1000000000ull),
			       .tv_nsec = (long)(deadline_ns % 1000000000ull) };

	while (!*flag) {
		if (d->main_job && !d->main_job_done) {
			run_main_job_locked(d);
			continue;
		}
		if (!deadline_ns)
			pthread_cond_wait(&d->state_cond, &d->lock);
		else if (pthread_cond_timedwait(&d->state_cond, &d->lock, &ts) == ETIMEDOUT)
			return *flag ? 0 : -ETIMEDOUT;
	}
	return 0;
}

bool domain_wait(struct domain *d, uint64_t deadline_ns)
{
	for (;;) {
		struct errbuf eb;
		enum domain_action act;
		int r;

		pthread_mutex_lock(&d->lock);
		if (wait_locked(d, &d->ended, deadline_ns) < 0) {
			pthread_mutex_unlock(&d->lock);
			return false;
		}
		pthread_mutex_unlock(&d->lock);
		join_all(d);
		/* Whatever the guest left in its console ring is still its output. */
		console_drain_ring(d);
		console_flush(&d->console);

		pthread_mutex_lock(&d->lock); /* domain_kill() may be rewriting the end */
		act = d->end.timed_out || d->released ? ACTION_DESTROY : end_action(d);
		pthread_mutex_unlock(&d->lock);
		if (act == ACTION_RESTART) {
			fprintf(stderr, "xenith: domain '%s' %s; restarting it\n", d->cfg.name, d->end.why);
			r = domain_restart(d, &eb);
			if (r == 0)
				continue;
			if (r == -ECANCELED)
				return true;
			pthread_mutex_lock(&d->lock);
			d->ended = false;
			end_locked(d, DOMAIN_CRASHED, eb.msg);
			pthread_mutex_unlock(&d->lock);
			return true;
		}
		if (act == ACTION_PRESERVE) {
			pthread_mutex_lock(&d->lock);
			r = wait_locked(d, &d->released, deadline_ns);
			pthread_mutex_unlock(&d->lock);
			if (r < 0)
				return false;
		}
		return true;
	}
}

/* "0/1-3": each vCPU's CPUs; set once at creation, so no lock.  Cut with "..." if long. */
static void format_vcpu_cpus(const struct domain *d, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = 0;
	if (!d->vcpu_cpus)
		return;
	for (unsigned i = 0; i < d->nr_vcpus; i++) {
		struct cpu_mask m = { { 0 } };
		char one[128];
		int n;

		for (unsigned c = 0; c < CONFIG_CPUS_MAX && c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &d->vcpu_cpus[i]))
				m.bits[c / 64] |= 1ull << (c % 64);
		cpu_mask_format(&m, one, sizeof(one));
		n = snprintf(buf + used, len - used, "%s%s", i ? "/" : "", one);
		if (n < 0 || (size_t)n >= len - used) {
			snprintf(buf + (len > 4 ? len - 4 : 0), len > 4 ? 4 : len, "...");
			return;
		}
		used += (size_t)n;
	}
}

void domain_get_info(struct domain *d, struct domain_info *info)
{
	memset(info, 0, sizeof(*info));
	pthread_mutex_lock(&d->lock);
	snprintf(info->name, sizeof(info->name), "%s", d->cfg.name);
	info->domid = d->domid;
	info->state = d->state;
	info->vcpus = d->nr_vcpus;
	for (unsigned i = 0; d->vcpus && i < d->nr_vcpus; i++)
		info->vcpus_up += atomic_load(&d->vcpus[i].up);
	info->memory_mib = d->cfg.memory_mib;
	info->uptime_s = d->started_ns ? (double)(now_ns() - d->started_ns) / 1e9 : 0;
	info->restarts = d->restarts;
	info->memory_backing = d->mem_backing;
	info->numa_node = d->cfg.numa_node;
	pthread_mutex_unlock(&d->lock);
	format_vcpu_cpus(d, info->vcpu_cpus, sizeof(info->vcpu_cpus));
}
