// SPDX-License-Identifier: MIT
#include "bench_hooks.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "confine.h"
#include "domain.h"

struct domain_bench {
	struct bench_sink sink;
	int doorbell_fd;  /* signalled by KVM on XENITH_BENCH_DOORBELL_PORT; nobody reads it */
	int echo_fd;      /* signalled on XENITH_BENCH_ECHO_PORT; the echo thread reads it */
	pthread_t echo_thread;
	bool echo_started;
	atomic_bool stop;
	/*
	 * Any vCPU may start a shared-memory round: starting one reaps the
	 * previous responder, and both happen under shmem_lock, so each
	 * responder is joined exactly once (by the next round or the teardown).
	 */
	pthread_mutex_t shmem_lock;
	pthread_t shmem_thread;       /* under shmem_lock */
	bool shmem_started;           /* under shmem_lock */
	cpu_set_t helper_cpus; /* where the creating thread ran: keeps responders off the vCPU's CPU */
};

struct shmem_job {
	struct domain *d;
	uint64_t *ping, *pong;
	uint64_t count;
};

static int add_ioeventfd(struct domain *d, uint16_t port, int fd, struct errbuf *eb)
{
	struct kvm_ioeventfd io = {
		.addr = port,
		.len = 4,
		.fd = fd,
		.flags = KVM_IOEVENTFD_FLAG_PIO,
	};

	if (ioctl(d->vm_fd, KVM_IOEVENTFD, &io) < 0)
		return errbuf_set(eb, errno, "KVM_IOEVENTFD on port 0x%x: %s", port, strerror(errno));
	return 0;
}

/* Guest kick (no exit) -> this thread wakes -> the guest sees VIRQ_BENCH_ECHO pending. */
static void *echo_thread(void *arg)
{
	struct domain *d = arg;
	struct domain_bench *b = d->bench;
	uint64_t v;

	confine_thread(CONFINE_BENCH);
	while (!atomic_load(&b->stop)) {
		if (read(b->echo_fd, &v, sizeof(v)) != sizeof(v))
			continue;
		if (atomic_load(&b->stop))
			break;
		evtchn_send_virq(d, VIRQ_BENCH_ECHO);
	}
	return NULL;
}

int bench_hooks_setup(struct domain *d, const struct bench_sink *sink, struct errbuf *eb)
{
	struct domain_bench *b = calloc(1, sizeof(*b));
	int r;

	if (!b)
		return errbuf_set(eb, ENOMEM, "out of memory");
	b->sink = *sink;
	pthread_mutex_init(&b->shmem_lock, NULL);
	pthread_getaffinity_np(pthread_self(), sizeof(b->helper_cpus), &b->helper_cpus);
	b->doorbell_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	b->echo_fd = eventfd(0, EFD_CLOEXEC);
	d->bench = b;
	if (b->doorbell_fd < 0 || b->echo_fd < 0)
		return errbuf_set(eb, errno, "eventfd: %s", strerror(errno));
	if (!d->unbacked) {
		r = add_ioeventfd(d, XENITH_BENCH_DOORBELL_PORT, b->doorbell_fd, eb);
		if (r == 0)
			r = add_ioeventfd(d, XENITH_BENCH_ECHO_PORT, b->echo_fd, eb);
		if (r < 0)
			return r;
	}
	r = pthread_create(&b->echo_thread, NULL, echo_thread, d);
	if (r)
		return errbuf_set(eb, r, "echo thread: %s", strerror(r));
	b->echo_started = true;
	return 0;
}

void bench_hooks_teardown(struct domain *d)
{
	struct domain_bench *b = d->bench;
	uint64_t one = 1;

	if (!b)
		return;
	atomic_store(&b->stop, true);
	if (b->echo_started) {
		(void)!write(b->echo_fd, &one, sizeof(one));
		pthread_join(b->echo_thread, NULL);
	}
	pthread_mutex_lock(&b->shmem_lock);
	if (b->shmem_started)
		pthread_join(b->shmem_thread, NULL); /* it sees stop within 4096 spins */
	b->shmem_started = false;
	pthread_mutex_unlock(&b->shmem_lock);
	pthread_mutex_destroy(&b->shmem_lock);
	if (b->doorbell_fd >= 0)
		close(b->doorbell_fd);
	if (b->echo_fd >= 0)
		close(b->echo_fd);
	free(b);
	d->bench = NULL;
}

long bench_report(struct vcpu *v, uint64_t case_id, uint64_t rep, uint64_t value_bits)
{
	struct domain_bench *b = v->d->bench;
	double value;

	if (!b)
		return -XEN_ENOSYS;
	if (case_id > UINT32_MAX || rep > UINT32_MAX)
		return -XEN_EINVAL;
	memcpy(&value, &value_bits, sizeof(value));
	b->sink.report(b->sink.opaque, v->d, (uint32_t)case_id, (uint32_t)rep, value);
	return 0;
}

/* Answers pings until count is done, the domain stops, or a second passes without one. */
static void *shmem_thread(void *arg)
{
	struct shmem_job *job = arg;
	struct domain_bench *b = job->d->bench;

	confine_thread(CONFINE_BENCH);
	for (uint64_t n = 1; n <= job->count; n++) {
		uint64_t deadline = now_ns() + 1000000000ull;
		unsigned spins = 0;

		/* Acquire pairs with the guest's release store of the ping. */
		while (__atomic_load_n(job->ping, __ATOMIC_ACQUIRE) != n) {
			if (++spins % 4096 == 0 && (now_ns() > deadline || atomic_load(&b->stop)))
				goto out;
			__builtin_ia32_pause();
		}
		/* Release: the guest's acquire load of the pong sees it. */
		__atomic_store_n(job->pong, n, __ATOMIC_RELEASE);
	}
out:
	free(job);
	return NULL;
}

long bench_shmem_echo(struct vcpu *v, uint64_t gpa, uint64_t count)
{
	struct domain *d = v->d;
	struct domain_bench *b = d->bench;
	struct shmem_job *job;
	pthread_attr_t attr;
	uint64_t *words;
	int r;

	if (!b)
		return -XEN_ENOSYS;
	if (gpa % 8 || count == 0 || count > (1ull << 32))
		return -XEN_EINVAL;
	words = domain_gpa_writable(d, gpa, 16); /* the responder writes the pong */
	if (!words)
		return -XEN_EFAULT;
	job = malloc(sizeof(*job));
	if (!job)
		return -XEN_ENOSPC;
	*job = (struct shmem_job){ d, &words[0], &words[1], count };
	pthread_mutex_lock(&b->shmem_lock);
	if (b->shmem_started) {
		pthread_join(b->shmem_thread, NULL); /* the previous round is over or timed out */
		b->shmem_started = false;
	}
	pthread_attr_init(&attr);
	pthread_attr_setaffinity_np(&attr, sizeof(b->helper_cpus), &b->helper_cpus);
	r = pthread_create(&b->shmem_thread, &attr, shmem_thread, job);
	pthread_attr_destroy(&attr);
	if (r == 0)
		b->shmem_started = true;
	pthread_mutex_unlock(&b->shmem_lock);
	if (r) {
		free(job);
		return -XEN_ENOSPC;
	}
	return 0;
}
