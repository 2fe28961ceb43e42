// SPDX-License-Identifier: MIT
/* The VMM's side of xenoprof (prof.h says how it works). */
#include "prof.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <elf.h>

#include "clock.h"
#include "domain.h"
#include "json.h"
#include "kind.h"
#include "kvmstats.h"
#include "unwind.h"

#define SIG_PROF SIGPROF

/* The vCPU this thread runs (NULL in every other thread): the handler's only way to it. */
static __thread struct vcpu *tls_vcpu;

/* ---- the vCPU thread's side ---- */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts); /* the vDSO: no system call, safe in a handler */
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The guest's stack as of its last exit (s.regs is synced at every exit). */
static unsigned guest_stack(struct vcpu *v, const struct prof_sregs *sr, uint64_t *ips)
{
	const struct kvm_regs *r = &v->run->s.regs.regs;
	struct xp_guest_mem m = { v->d->mem, v->d->mem_size };
	struct xp_cpu_state cs = { .rip = r->rip, .rsp = r->rsp, .rbp = r->rbp };

	if (!sr->valid) {
		ips[0] = r->rip;
		return 1;
	}
	cs.cr0 = sr->cr0;
	cs.cr3 = sr->cr3;
	cs.cr4 = sr->cr4;
	cs.efer = sr->efer;
	return xp_unwind(&m, &cs, ips, PROF_DEPTH);
}

/* One sample into the ring: the vCPU thread only (loop or handler, never both: in_write). */
static void ring_put(struct vcpu *v, uint8_t where, uint32_t detail, const uint64_t *ips, unsigned depth)
{
	struct prof_ring *r = v->prof.ring;
	uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint32_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	union prof_slot *s;

	if (head - tail >= PROF_RING_SLOTS) {
		atomic_fetch_add_explicit(&r->lost, 1, memory_order_relaxed);
		return;
	}
	s = &r->slot[head % PROF_RING_SLOTS];
	memset(&s->s, 0, sizeof(s->s));
	s->s.h.type = XP_REC_SAMPLE;
	s->s.h.size = (uint32_t)xp_sample_size(depth);
	s->s.vcpu = (uint16_t)v->id;
	s->s.where = where;
	s->s.depth = (uint8_t)depth;
	s->s.detail = detail;
	s->s.weight = 1;
	s->s.time_ns = mono_ns() - v->prof.t0_ns;
	if (depth)
		memcpy(s->s.ips, ips, depth * sizeof(ips[0]));
	atomic_store_explicit(&r->head, head + 1, memory_order_release);
}

/* What the VMM is doing for the vCPU now: the hypercall, else the exit reason. */
static uint32_t exit_detail(const struct vcpu *v)
{
	const struct kvm_run *run = v->run;
	uint32_t hc = v->prof.cur_hcall;

	if (hc)
		return XP_DETAIL(XP_CLASS_HCALL, hc - 1);
	/* Not dispatched yet, or done: the exit says which (kind_pv's test, without its lookup). */
	if (run->exit_reason == KVM_EXIT_IO && run->io.port == XENITH_HYPERCALL_PORT &&
	    run->io.direction == KVM_EXIT_IO_OUT && v->d->guest_kind == &kind_pv)
		return XP_DETAIL(XP_CLASS_HCALL, (uint32_t)run->s.regs.regs.rax);
	return XP_DETAIL(XP_CLASS_EXIT, run->exit_reason);
}

static void prof_handler(int sig, siginfo_t *si, void *uc)
{
	struct vcpu *v = tls_vcpu;
	int saved = errno;
	uint64_t ips[PROF_DEPTH];
	unsigned depth;

	(void)sig, (void)si, (void)uc;
	if (!v || !atomic_load_explicit(&v->prof.sampling, memory_order_acquire) || !v->prof.ring)
		goto out;
	if (v->prof.in_write) {
		atomic_fetch_add_explicit(&v->prof.ring->lost, 1, memory_order_relaxed);
		goto out;
	}
	switch (atomic_load_explicit(&v->where, memory_order_relaxed)) {
	case VCPU_WHERE_GUEST:
		/* KVM_RUN returns EINTR (at once if not entered yet); the loop samples. */
		v->prof.guest_pending = 1;
		__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		break;
	case VCPU_WHERE_EXIT:
		depth = guest_stack(v, &v->prof.sregs, ips);
		ring_put(v, XP_WHERE_HV, exit_detail(v), ips, depth);
		break;
	case VCPU_WHERE_BLOCKED:
		depth = guest_stack(v, &v->prof.sregs, ips);
		ring_put(v, XP_WHERE_IDLE, 0, ips, depth);
		break;
	default:
		ring_put(v, XP_WHERE_IDLE, 0, NULL, 0); /* parked: down or paused */
		break;
	}
out:
	errno = saved;
}

int prof_global_init(struct errbuf *eb)
{
	struct sigaction sa = { .sa_sigaction = prof_handler, .sa_flags = SA_RESTART | SA_SIGINFO };

	sigfillset(&sa.sa_mask); /* the kick's handler does nothing: nothing to nest with */
	if (sigaction(SIG_PROF, &sa, NULL) < 0)
		return errbuf_set(eb, errno, "sigaction(SIGPROF): %s", strerror(errno));
	return 0;
}

void prof_vcpu_thread_start(struct vcpu *v)
{
	sigset_t s;

	v->prof.tid = gettid();
	tls_vcpu = v;
	sigemptyset(&s);
	sigaddset(&s, SIG_PROF);
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
}

void prof_guest_sample(struct vcpu *v)
{
	uint64_t ips[PROF_DEPTH];
	struct kvm_sregs sr;
	unsigned depth;

	if (!v->prof.guest_pending)
		return;
	v->prof.guest_pending = 0;
	if (!atomic_load_explicit(&v->prof.sampling, memory_order_acquire) || !v->prof.ring)
		return;
	/* The guest may have switched address spaces since the last sample (Linux). */
	if (ioctl(v->fd, KVM_GET_SREGS, &sr) == 0) {
		v->prof.sregs.cr0 = sr.cr0;
		v->prof.sregs.cr3 = sr.cr3;
		v->prof.sregs.cr4 = sr.cr4;
		v->prof.sregs.efer = sr.efer;
		v->prof.sregs.valid = true;
	}
	depth = guest_stack(v, &v->prof.sregs, ips);
	v->prof.in_write = 1;
	atomic_signal_fence(memory_order_seq_cst);
	ring_put(v, XP_WHERE_GUEST, 0, ips, depth);
	atomic_signal_fence(memory_order_seq_cst);
	v->prof.in_write = 0;
}

void prof_vcpu_init(struct vcpu *v)
{
	/* Taken now, while no thread runs the vCPU: a vCPU ioctl waits for KVM_RUN to return. */
	v->prof.stats_fd = v->fd >= 0 ? ioctl(v->fd, KVM_GET_STATS_FD, NULL) : -1;
}

void prof_vcpu_fini(struct vcpu *v)
{
	free(v->prof.ring);
	v->prof.ring = NULL;
	if (v->prof.stats_fd >= 0)
		close(v->prof.stats_fd);
	v->prof.stats_fd = -1;
}

bool prof_timing(const struct domain *d)
{
	return atomic_load_explicit(&d->prof_timing, memory_order_relaxed);
}

uint64_t prof_idle_begin(const struct vcpu *v)
{
	return prof_timing(v->d) ? now_ns() : 0;
}

void prof_idle_end(struct vcpu *v, uint64_t t0)
{
	uint64_t dt;

	if (!t0)
		return;
	dt = now_ns() - t0;
	__atomic_store_n(&v->prof.c.idle_ns, v->prof.c.idle_ns + dt, __ATOMIC_RELAXED);
	v->prof.exit_idle_ns += dt;
}

void prof_exit_time(struct vcpu *v, unsigned reason, uint64_t dt)
{
	dt = dt > v->prof.exit_idle_ns ? dt - v->prof.exit_idle_ns : 0;
	prof_add(&v->prof.c.exit_ns[reason], dt);
	if (v->prof.cur_hcall)
		prof_add(&v->prof.c.hcall_ns[v->prof.cur_hcall - 1], dt);
}

void prof_hypercall(struct vcpu *v, uint32_t op)
{
	if (op >= XENITH_HYPERCALL_MAX)
		return; /* -ENOSYS: counted as an IO exit only */
	prof_add(&v->prof.c.hcalls[op], 1);
	v->prof.cur_hcall = op + 1;
}

/* ---- a recording ---- */

struct prof_vstate {
	timer_t timer;
	bool have_timer;
	struct prof_counts c0, c1;    /* at the start; at the detach */
	uint64_t lost0, lost1;
	int stats_fd;
	struct kvmstats *st;
	uint64_t *st0;
};

struct prof_session {
	struct domain *d;
	unsigned freq, nr_vcpus;
	uint64_t t0_ns;
	bool detached;                /* under d->prof_lock */
	char why[640];
	/* Samples still in the rings at the detach, moved here (records, back to back). */
	uint8_t *left;
	size_t left_len, left_off;
	int vm_stats_fd;
	struct kvmstats *vm_st;
	uint64_t *vm_st0;
	struct prof_vstate *vs;
};

/* Copies the vCPU's counters with relaxed loads (the vCPU thread writes them). */
static void counts_snapshot(const struct prof_counts *src, struct prof_counts *dst)
{
	const uint64_t *s = (const uint64_t *)src;
	uint64_t *o = (uint64_t *)dst;

	_Static_assert(sizeof(*src) % sizeof(uint64_t) == 0, "counters are u64s");
	for (size_t i = 0; i < sizeof(*src) / sizeof(uint64_t); i++)
		o[i] = __atomic_load_n(&s[i], __ATOMIC_RELAXED);
}

/*
 * KVM's statistics of one stats fd (the VM's or a vCPU's, dup'd), read
 * now; errors leave *st NULL.
 */
static void stats_open(int stats_fd, int *fd, struct kvmstats **st, uint64_t **v0)
{
	struct errbuf eb;

	*st = NULL;
	*v0 = NULL;
	*fd = stats_fd;
	if (*fd < 0)
		return;
	if (kvmstats_open(*fd, st, &eb) < 0) {
		*st = NULL;
		return;
	}
	*v0 = calloc(kvmstats_count(*st) + 1, sizeof(uint64_t));
	if (!*v0 || kvmstats_read(*st, *v0, &eb) < 0) {
		kvmstats_close(*st);
		*st = NULL;
		free(*v0);
		*v0 = NULL;
	}
}

static void stats_close(int fd, struct kvmstats *st, uint64_t *v0)
{
	if (st)
		kvmstats_close(st);
	free(v0);
	if (fd >= 0)
		close(fd);
}

static void timers_delete(struct prof_session *s)
{
	for (unsigned i = 0; i < s->nr_vcpus; i++)
		if (s->vs[i].have_timer) {
			timer_delete(s->vs[i].timer);
			s->vs[i].have_timer = false;
		}
}

static void session_free(struct prof_session *s)
{
	if (!s)
		return;
	timers_delete(s);
	for (unsigned i = 0; i < s->nr_vcpus; i++)
		stats_close(s->vs[i].stats_fd, s->vs[i].st, s->vs[i].st0);
	stats_close(s->vm_stats_fd, s->vm_st, s->vm_st0);
	free(s->vs);
	free(s->left);
	free(s);
}

int prof_session_start(struct domain *d, unsigned freq, struct prof_session **out, struct errbuf *eb)
{
	struct prof_session *s;
	uint64_t period;
	int r = 0;

	if (freq < PROF_FREQ_MIN || freq > PROF_FREQ_MAX)
		return errbuf_set(eb, ERANGE, "sampling frequency %u Hz is out of range: %u to %u Hz", freq,
				  PROF_FREQ_MIN, PROF_FREQ_MAX);
	pthread_mutex_lock(&d->prof_lock);
	if (d->prof) {
		pthread_mutex_unlock(&d->prof_lock);
		return errbuf_set(eb, EBUSY, "domain '%s' is being profiled already (one `xenith prof "
				  "record` at a time); wait for it to finish", d->cfg.name);
	}
	pthread_mutex_lock(&d->lock);
	if (d->ended || !d->vcpus) {
		pthread_mutex_unlock(&d->lock);
		pthread_mutex_unlock(&d->prof_lock);
		return errbuf_set(eb, ESRCH, "domain '%s' has ended: nothing to profile", d->cfg.name);
	}
	pthread_mutex_unlock(&d->lock);
	s = calloc(1, sizeof(*s));
	if (s)
		s->vs = calloc(d->nr_vcpus, sizeof(*s->vs));
	if (!s || !s->vs) {
		free(s);
		pthread_mutex_unlock(&d->prof_lock);
		return errbuf_set(eb, ENOMEM, "out of memory for a recording");
	}
	s->d = d;
	s->freq = freq;
	s->nr_vcpus = d->nr_vcpus;
	s->t0_ns = mono_ns();
	s->vm_stats_fd = -1;
	for (unsigned i = 0; i < s->nr_vcpus; i++)
		s->vs[i].stats_fd = -1;
	stats_open(ioctl(d->vm_fd, KVM_GET_STATS_FD, NULL), &s->vm_stats_fd, &s->vm_st, &s->vm_st0);
	period = 1000000000ull / freq;
	for (unsigned i = 0; i < s->nr_vcpus && r == 0; i++) {
		struct vcpu *v = &d->vcpus[i];
		struct prof_vstate *vs = &s->vs[i];
		struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIG_PROF };
		/* Spread the vCPUs' ticks over the period. */
		uint64_t first = period + period * i / s->nr_vcpus;
		struct itimerspec its = {
			.it_interval = { (time_t)(period / 1000000000ull), (long)(period % 1000000000ull) },
			.it_value = { (time_t)(first / 1000000000ull), (long)(first % 1000000000ull) },
		};

		/* Not KVM_GET_STATS_FD now: a vCPU ioctl waits for KVM_RUN to return. */
		stats_open(v->prof.stats_fd >= 0 ? fcntl(v->prof.stats_fd, F_DUPFD_CLOEXEC, 0) : -1, &vs->stats_fd,
			   &vs->st, &vs->st0);
		if (!v->prof.ring) {
			v->prof.ring = calloc(1, sizeof(*v->prof.ring));
			if (!v->prof.ring) {
				r = errbuf_set(eb, ENOMEM, "out of memory for vCPU %u's samples", i);
				break;
			}
		}
		/* The ring is quiet: no recording writes to it.  Skip what an old one left. */
		atomic_store(&v->prof.ring->tail, atomic_load(&v->prof.ring->head));
		vs->lost0 = atomic_load(&v->prof.ring->lost);
		counts_snapshot(&v->prof.c, &vs->c0);
		v->prof.t0_ns = s->t0_ns;
		if (!v->prof.tid)
			continue; /* no thread yet: nothing runs it to sample */
		sev._sigev_un._tid = v->prof.tid; /* sigev_notify_thread_id, which glibc 2.36 does not name */
		if (timer_create(CLOCK_MONOTONIC, &sev, &vs->timer) < 0) {
			r = errbuf_set(eb, errno, "vCPU %u: timer_create: %s", i, strerror(errno));
			break;
		}
		vs->have_timer = true;
		atomic_store_explicit(&v->prof.sampling, true, memory_order_release);
		if (timer_settime(vs->timer, 0, &its, NULL) < 0)
			r = errbuf_set(eb, errno, "vCPU %u: timer_settime: %s", i, strerror(errno));
	}
	if (r < 0) {
		for (unsigned i = 0; i < s->nr_vcpus; i++)
			atomic_store(&d->vcpus[i].prof.sampling, false);
		session_free(s);
		pthread_mutex_unlock(&d->prof_lock);
		return r;
	}
	atomic_store(&d->prof_timing, true);
	d->prof = s;
	pthread_mutex_unlock(&d->prof_lock);
	*out = s;
	return 0;
}

/* Moves samples of v's ring into buf; stops when the next does not fit. */
static size_t drain_ring(struct vcpu *v, uint8_t *buf, size_t size)
{
	struct prof_ring *r = v->prof.ring;
	uint32_t tail, head;
	size_t n = 0;

	if (!r)
		return 0;
	tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	head = atomic_load_explicit(&r->head, memory_order_acquire);
	for (; tail != head; tail++) {
		const union prof_slot *sl = &r->slot[tail % PROF_RING_SLOTS];
		size_t len = sl->s.h.size;

		if (len > size - n)
			break;
		memcpy(buf + n, sl, len);
		n += len;
	}
	atomic_store_explicit(&r->tail, tail, memory_order_release);
	return n;
}

size_t prof_session_drain(struct prof_session *s, void *buf, size_t size)
{
	struct domain *d = s->d;
	size_t n = 0;

	pthread_mutex_lock(&d->prof_lock);
	if (s->detached) {
		/* Whole records only. */
		while (s->left_off + n < s->left_len) {
			const struct xp_rec *h = (const struct xp_rec *)(s->left + s->left_off + n);

			if (h->size > size - n)
				break;
			n += h->size;
		}
		memcpy(buf, s->left + s->left_off, n);
		s->left_off += n;
	} else {
		for (unsigned i = 0; i < s->nr_vcpus; i++)
			n += drain_ring(&d->vcpus[i], (uint8_t *)buf + n, size - n);
	}
	pthread_mutex_unlock(&d->prof_lock);
	return n;
}

bool prof_session_detached(struct prof_session *s)
{
	bool r;

	pthread_mutex_lock(&s->d->prof_lock);
	r = s->detached;
	pthread_mutex_unlock(&s->d->prof_lock);
	return r;
}

/* Stops the timers and the handlers' recording (d->prof_lock held). */
static void stop_sampling(struct prof_session *s)
{
	struct domain *d = s->d;

	timers_delete(s);
	atomic_store(&d->prof_timing, false);
	if (d->vcpus)
		for (unsigned i = 0; i < s->nr_vcpus; i++)
			atomic_store_explicit(&d->vcpus[i].prof.sampling, false, memory_order_release);
}

void prof_domain_detach(struct domain *d, const char *why)
{
	struct prof_session *s;

	pthread_mutex_lock(&d->prof_lock);
	s = d->prof;
	if (!s || s->detached || !d->vcpus) {
		pthread_mutex_unlock(&d->prof_lock);
		return;
	}
	stop_sampling(s);
	/* The vCPU threads are gone (teardown): the rings and counters are still. */
	s->left = malloc((size_t)s->nr_vcpus * PROF_RING_SLOTS * sizeof(union prof_slot));
	for (unsigned i = 0; i < s->nr_vcpus; i++) {
		struct vcpu *v = &d->vcpus[i];

		if (s->left)
			s->left_len += drain_ring(v, s->left + s->left_len,
						  (size_t)PROF_RING_SLOTS * sizeof(union prof_slot));
		counts_snapshot(&v->prof.c, &s->vs[i].c1);
		s->vs[i].lost1 = v->prof.ring ? atomic_load(&v->prof.ring->lost) : s->vs[i].lost0;
	}
	snprintf(s->why, sizeof(s->why), "%s", why);
	s->detached = true;
	pthread_mutex_unlock(&d->prof_lock);
}

size_t prof_session_finish_size(const struct prof_session *s)
{
	size_t per_vcpu = sizeof(struct xp_rec_counters) +
			  (PROF_EXIT_MAX + XENITH_HYPERCALL_MAX) * sizeof(struct xp_counter);
	size_t stats = 0;

	if (s->vm_st)
		stats += kvmstats_count(s->vm_st);
	for (unsigned i = 0; i < s->nr_vcpus; i++)
		if (s->vs[i].st)
			stats += kvmstats_count(s->vs[i].st);
	return s->nr_vcpus * per_vcpu + stats * (sizeof(struct xp_rec_kvmstat) + 264) +
	       2 * (sizeof(struct xp_rec_note) + 648) + sizeof(struct xp_rec_end);
}

/* One vCPU's counters over the recording. */
static size_t counters_rec(unsigned vcpu, const struct prof_counts *a, const struct prof_counts *b,
			   uint64_t lost, uint8_t *buf)
{
	struct xp_rec_counters *rc = (struct xp_rec_counters *)buf;
	unsigned n = 0;

	memset(rc, 0, sizeof(*rc));
	for (unsigned i = 0; i < PROF_EXIT_MAX; i++)
		if (b->exits[i] != a->exits[i])
			rc->c[n++] = (struct xp_counter){ XP_DETAIL(XP_CLASS_EXIT, i), 0,
							  b->exits[i] - a->exits[i], b->exit_ns[i] - a->exit_ns[i] };
	for (unsigned i = 0; i < XENITH_HYPERCALL_MAX; i++)
		if (b->hcalls[i] != a->hcalls[i])
			rc->c[n++] = (struct xp_counter){ XP_DETAIL(XP_CLASS_HCALL, i), 0,
							  b->hcalls[i] - a->hcalls[i], b->hcall_ns[i] - a->hcall_ns[i] };
	rc->h.type = XP_REC_COUNTERS;
	rc->h.size = (uint32_t)(sizeof(*rc) + n * sizeof(rc->c[0]));
	rc->vcpu = (uint16_t)vcpu;
	rc->nr = (uint16_t)n;
	rc->guest_ns = b->guest_ns - a->guest_ns;
	rc->idle_ns = b->idle_ns - a->idle_ns;
	rc->samples_lost = lost;
	return rc->h.size;
}

/* KVM statistics of one fd that changed (cumulative: by how much; others: their value now). */
static size_t kvmstat_recs(struct kvmstats *st, const uint64_t *v0, int32_t vcpu, uint8_t *buf, size_t size)
{
	unsigned n = st ? kvmstats_count(st) : 0;
	uint64_t *now;
	struct errbuf eb;
	size_t len = 0;

	if (!n)
		return 0;
	now = calloc(n, sizeof(*now));
	if (!now || kvmstats_read(st, now, &eb) < 0) {
		free(now);
		return 0;
	}
	for (unsigned i = 0; i < n; i++) {
		uint64_t val = kvmstats_is_cumulative(st, i) ? now[i] - v0[i] : now[i];
		size_t k;

		if (!val)
			continue;
		k = xp_make_kvmstat(buf + len, size - len, 0, vcpu, val, kvmstats_name(st, i));
		if (!k)
			break;
		len += k;
	}
	free(now);
	return len;
}

size_t prof_session_finish(struct prof_session *s, void *out, size_t size)
{
	struct domain *d = s->d;
	uint8_t *buf = out;
	struct xp_rec_end *end;
	uint64_t lost = 0;
	size_t n = 0;
	bool ended;
	char why[640];

	pthread_mutex_lock(&d->prof_lock);
	if (!s->detached && !d->vcpus) { /* torn down without a detach: nothing changed since */
		for (unsigned i = 0; i < s->nr_vcpus; i++) {
			s->vs[i].c1 = s->vs[i].c0;
			s->vs[i].lost1 = s->vs[i].lost0;
		}
		timers_delete(s);
	} else if (!s->detached) {
		stop_sampling(s);
		for (unsigned i = 0; i < s->nr_vcpus; i++) {
			struct vcpu *v = &d->vcpus[i];

			counts_snapshot(&v->prof.c, &s->vs[i].c1);
			s->vs[i].lost1 = v->prof.ring ? atomic_load(&v->prof.ring->lost) : s->vs[i].lost0;
		}
	}
	for (unsigned i = 0; i < s->nr_vcpus; i++) {
		uint64_t l = s->vs[i].lost1 - s->vs[i].lost0;

		lost += l;
		if (size - n >= sizeof(struct xp_rec_counters) +
					(PROF_EXIT_MAX + XENITH_HYPERCALL_MAX) * sizeof(struct xp_counter))
			n += counters_rec(i, &s->vs[i].c0, &s->vs[i].c1, l, buf + n);
	}
	n += kvmstat_recs(s->vm_st, s->vm_st0, -1, buf + n, size - n);
	for (unsigned i = 0; i < s->nr_vcpus; i++)
		n += kvmstat_recs(s->vs[i].st, s->vs[i].st0, (int32_t)i, buf + n, size - n);
	ended = s->detached;
	snprintf(why, sizeof(why), "%s", s->why);
	d->prof = NULL;
	pthread_mutex_unlock(&d->prof_lock);
	if (!ended) {
		struct domain_end e;

		ended = domain_get_end(d, &e);
		if (ended)
			snprintf(why, sizeof(why), "%s", e.why);
	}
	if (ended)
		n += xp_make_note(buf + n, size - n, XP_REC_DOMEND, 0, why);
	if (size - n >= sizeof(*end)) {
		end = (struct xp_rec_end *)(buf + n);
		memset(end, 0, sizeof(*end));
		end->h.type = XP_REC_END;
		end->h.size = sizeof(*end);
		end->duration_ns = mono_ns() - s->t0_ns;
		end->nr_lost = lost;
		n += sizeof(*end);
	}
	session_free(s);
	return n;
}

/* ---- what the control socket sends ---- */

int prof_header_json(struct domain *d, unsigned freq, char *buf, size_t size)
{
	char name[6 * XENITH_NAME_MAX + 8], image[6 * sizeof(d->cfg.kernel)];
	size_t n;
	int k;

	json_escape(name, sizeof(name), d->cfg.name);
	json_escape(image, sizeof(image), d->cfg.kernel);
	k = snprintf(buf, size,
		     "{\"ok\":true,\"name\":\"%s\",\"domid\":%u,\"vcpus\":%u,\"kind\":\"%s\","
		     "\"image\":\"%s\",\"freq\":%u,\"pid\":%d,\"tids\":[",
		     name, d->domid, d->nr_vcpus, d->guest_kind ? d->guest_kind->name : "?", image, freq,
		     (int)getpid());
	if (k < 0 || (size_t)k >= size)
		return -ENOSPC;
	n = (size_t)k;
	/* The vCPU threads' ids, for perf's kernel-side samples (xenoprof/hostperf.h). */
	for (unsigned i = 0; i < d->nr_vcpus && d->vcpus; i++) {
		k = snprintf(buf + n, size - n, "%s%d", i ? "," : "", (int)d->vcpus[i].prof.tid);
		if (k < 0 || (size_t)k >= size - n)
			return -ENOSPC;
		n += (size_t)k;
	}
	k = snprintf(buf + n, size - n, "]}\n");
	return k < 0 || (size_t)k >= size - n ? -ENOSPC : 0;
}

uint8_t *prof_symbol_records(struct domain *d, size_t *len)
{
	const struct elf_image *img = &d->image;
	size_t cap = img->nr_syms * (sizeof(struct xp_rec_symbol) + 8) + img->strtab_size + 8, n = 0;
	uint8_t *buf;

	*len = 0;
	if (!img->nr_syms || !img->strtab)
		return NULL;
	buf = malloc(cap);
	if (!buf)
		return NULL;
	for (size_t i = 0; i < img->nr_syms; i++) {
		Elf64_Sym sym;
		const char *name;
		size_t k;

		memcpy(&sym, img->syms + i * sizeof(sym), sizeof(sym));
		if (ELF64_ST_TYPE(sym.st_info) != STT_FUNC || !sym.st_size || sym.st_name >= img->strtab_size)
			continue;
		name = img->strtab + sym.st_name;
		if (!memchr(name, 0, img->strtab_size - sym.st_name) || !name[0])
			continue;
		k = xp_make_symbol(buf + n, cap - n, 0, sym.st_value, sym.st_size, name);
		if (!k)
			break;
		n += k;
	}
	*len = n;
	return buf;
}

int prof_stats_json(struct domain *d, char *buf, size_t size)
{
	size_t n = 0;
	int k;

	k = snprintf(buf, size, "{\"ok\":true,\"vcpus\":[");
	if (k < 0 || (size_t)k >= size)
		return -1;
	n = (size_t)k;
	pthread_mutex_lock(&d->lock);
	for (unsigned i = 0; d->vcpus && i < d->nr_vcpus; i++) {
		struct prof_counts c;
		uint64_t exits = 0, hcalls = 0;

		counts_snapshot(&d->vcpus[i].prof.c, &c);
		for (unsigned j = 0; j < PROF_EXIT_MAX; j++)
			exits += c.exits[j];
		for (unsigned j = 0; j < XENITH_HYPERCALL_MAX; j++)
			hcalls += c.hcalls[j];
		k = snprintf(buf + n, size - n, "%s{\"exits\":%llu,\"hypercalls\":%llu,\"evtchn_sends\":%llu}",
			     i ? "," : "", (unsigned long long)exits, (unsigned long long)hcalls,
			     (unsigned long long)c.evtchn_sends);
		if (k < 0 || (size_t)k >= size - n) {
			pthread_mutex_unlock(&d->lock);
			return -1;
		}
		n += (size_t)k;
	}
	pthread_mutex_unlock(&d->lock);
	k = snprintf(buf + n, size - n, "],\"evtchn_raised\":%llu}\n",
		     (unsigned long long)atomic_load(&d->nr_evtchn_raised));
	if (k < 0 || (size_t)k >= size - n)
		return -1;
	return (int)(n + (size_t)k);
}
