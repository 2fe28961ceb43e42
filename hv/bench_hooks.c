// SPDX-License-Identifier: MIT
#include "bench_hooks.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "confine.h"
#include "device.h"
#include "domain.h"

struct domain_bench {
	struct domain *d;
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
	/* Counters for `xenith devices`. */
	atomic_uint_least64_t reports;      /* bench_report hypercalls taken (any vCPU) */
	atomic_uint_least64_t echoes;       /* VIRQ_BENCH_ECHO raised; written by the echo thread only */
	atomic_uint_least64_t shmem_rounds; /* shared-memory responders started */
	uint64_t doorbell_kicks;            /* read from doorbell_fd by stats (ctl_lock) */
};

const struct device_ops bench_device_ops;

static struct domain_bench *bench_of(struct domain *d)
{
	struct device *dev = device_find(d, &bench_device_ops, 0);

	return dev ? dev->priv : NULL;
}

bool bench_hooks_present(struct domain *d)
{
	return bench_of(d) != NULL;
}

struct shmem_job {
	struct domain_bench *b;
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
	struct domain_bench *b = arg;
	uint64_t v;

	confine_thread(CONFINE_BENCH);
	while (!atomic_load(&b->stop)) {
		if (read(b->echo_fd, &v, sizeof(v)) != sizeof(v))
			continue;
		if (atomic_load(&b->stop))
			break;
		evtchn_send_virq(b->d, VIRQ_BENCH_ECHO);
		/* One writer: a load and a store, not a locked add, on the measured path. */
		atomic_store_explicit(&b->echoes, atomic_load_explicit(&b->echoes, memory_order_relaxed) + 1,
				      memory_order_relaxed);
	}
	return NULL;
}

static int bench_create(struct domain *d, const struct domain_opts *opts, struct errbuf *eb)
{
	struct domain_bench *b;
	int r;

	if (!opts->bench)
		return 0;
	b = calloc(1, sizeof(*b));
	if (!b)
		return errbuf_set(eb, ENOMEM, "out of memory");
	b->d = d;
	b->sink = *opts->bench;
	pthread_mutex_init(&b->shmem_lock, NULL);
	pthread_getaffinity_np(pthread_self(), sizeof(b->helper_cpus), &b->helper_cpus);
	b->doorbell_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	b->echo_fd = eventfd(0, EFD_CLOEXEC);
	r = device_add(d, &bench_device_ops, b, NULL, eb);
	if (r < 0) {
		if (b->doorbell_fd >= 0)
			close(b->doorbell_fd);
		if (b->echo_fd >= 0)
			close(b->echo_fd);
		pthread_mutex_destroy(&b->shmem_lock);
		free(b);
		return r;
	}
	if (b->doorbell_fd < 0 || b->echo_fd < 0)
		return errbuf_set(eb, errno, "eventfd: %s", strerror(errno));
	/* Its measurements describe one boot: a benchmark domain ends rather than restarts. */
	d->cfg.on_poweroff = d->cfg.on_reboot = d->cfg.on_crash = ACTION_DESTROY;
	d->test_ops |= 1u << XENITH_TEST_ECHO | 1u << XENITH_TEST_SHMEM_ECHO; /* what it measures with */
	return 0;
}

static int bench_connect(struct device *dev, struct errbuf *eb)
{
	struct domain_bench *b = dev->priv;
	struct domain *d = dev->d;
	int r;

	if (!d->unbacked) {
		r = add_ioeventfd(d, XENITH_BENCH_DOORBELL_PORT, b->doorbell_fd, eb);
		if (r == 0)
			r = add_ioeventfd(d, XENITH_BENCH_ECHO_PORT, b->echo_fd, eb);
		if (r < 0)
			return r;
	}
	atomic_store(&b->stop, false);
	r = pthread_create(&b->echo_thread, NULL, echo_thread, b);
	if (r)
		return errbuf_set(eb, r, "echo thread: %s", strerror(r));
	b->echo_started = true;
	return 0;
}

/* Stops what touches guest memory: the echo thread and the shared-memory responder. */
static void bench_disconnect(struct device *dev)
{
	struct domain_bench *b = dev->priv;
	uint64_t one = 1;

	atomic_store(&b->stop, true);
	if (b->echo_started) {
		(void)!write(b->echo_fd, &one, sizeof(one));
		pthread_join(b->echo_thread, NULL);
		b->echo_started = false;
	}
	pthread_mutex_lock(&b->shmem_lock);
	if (b->shmem_started)
		pthread_join(b->shmem_thread, NULL); /* it sees stop within 4096 spins */
	b->shmem_started = false;
	pthread_mutex_unlock(&b->shmem_lock);
}

static void bench_destroy(struct device *dev)
{
	struct domain_bench *b = dev->priv;

	pthread_mutex_destroy(&b->shmem_lock);
	if (b->doorbell_fd >= 0)
		close(b->doorbell_fd);
	if (b->echo_fd >= 0)
		close(b->echo_fd);
	free(b);
}

static int bench_stats_json(struct device *dev, char *buf, size_t size)
{
	struct domain_bench *b = dev->priv;
	uint64_t n;
	int k;

	/* KVM counts the doorbell's writes in the eventfd (nobody else reads it): take them. */
	if (b->doorbell_fd >= 0 && read(b->doorbell_fd, &n, sizeof(n)) == sizeof(n))
		b->doorbell_kicks += n;
	k = snprintf(buf, size, "{\"reports\":%llu,\"doorbell_kicks\":%llu,\"echoes\":%llu,"
		     "\"shmem_rounds\":%llu}", (unsigned long long)atomic_load(&b->reports),
		     (unsigned long long)b->doorbell_kicks, (unsigned long long)atomic_load(&b->echoes),
		     (unsigned long long)atomic_load(&b->shmem_rounds));
	return k >= 0 && (size_t)k < size ? k : -1;
}

const struct device_ops bench_device_ops = {
	.type = "bench",
	.create = bench_create,
	.connect = bench_connect,
	.disconnect = bench_disconnect,
	.stats_json = bench_stats_json,
	.destroy = bench_destroy,
};

long bench_report(struct vcpu *v, uint64_t case_id, uint64_t rep, uint64_t value_bits)
{
	struct domain_bench *b = bench_of(v->d);
	double value;

	if (!b)
		return -XEN_ENOSYS;
	if (case_id > UINT32_MAX || rep > UINT32_MAX)
		return -XEN_EINVAL;
	memcpy(&value, &value_bits, sizeof(value));
	atomic_fetch_add_explicit(&b->reports, 1, memory_order_relaxed);
	b->sink.report(b->sink.opaque, v->d, (uint32_t)case_id, (uint32_t)rep, value);
	return 0;
}

/* Answers pings until count is done, the domain stops, or a second passes without one. */
static void *shmem_thread(void *arg)
{
	struct shmem_job *job = arg;
	struct domain_bench *b = job->b;

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
	struct domain_bench *b = bench_of(d);
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
	*job = (struct shmem_job){ b, &words[0], &words[1], count };
	pthread_mutex_lock(&b->shmem_lock);
	if (b->shmem_started) {
		pthread_join(b->shmem_thread, NULL); /* the previous round is over or timed out */
		b->shmem_started = false;
	}
	pthread_attr_init(&attr);
	pthread_attr_setaffinity_np(&attr, sizeof(b->helper_cpus), &b->helper_cpus);
	r = pthread_create(&b->shmem_thread, &attr, shmem_thread, job);
	pthread_attr_destroy(&attr);
	if (r == 0) {
		b->shmem_started = true;
		atomic_fetch_add_explicit(&b->shmem_rounds, 1, memory_order_relaxed);
	}
	pthread_mutex_unlock(&b->shmem_lock);
	if (r) {
		free(job);
		return -XEN_ENOSPC;
	}
	return 0;
}
