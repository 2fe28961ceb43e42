// SPDX-License-Identifier: MIT
/*
 * The density suite of `xenith bench`: how many idle domains this host
 * holds, what each costs (boot latency, memory, idle CPU) against bare KVM
 * VMs, and how fairly busy domains share the CPUs against native threads.
 *
 * Domains are spread over worker processes (`xenith bench-worker`), each
 * holding at most DENSITY_PER_WORKER of them, because a process may have
 * 20,000 file descriptors here and a domain needs three.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_hooks.h"
#include "clock.h"
#include "density.h"
#include "domain.h"
#include "exitcost.h"
#include "result.h"
#include "vcpu.h"
#include "workloads.h"

#define DENSITY_PER_WORKER 2000u
#define BOOT_WAIT_NS (10ull * 1000000000ull)

extern char **environ;

/* ---- worker side ---- */

/* A bare KVM VM: 2 MiB, one vCPU, real-mode `out` then `hlt`; run to the first exit. */
struct bare_vm {
	int vm, vcpu;
	void *mem;
	struct kvm_run *run;
};

static int bare_vm_create(struct kvm_sys *kvm, struct bare_vm *b, struct errbuf *eb)
{
	static const uint8_t code[] = { 0xe6, 0x10, 0xf4 }; /* out %al, $0x10; hlt */
	struct kvm_sregs s;
	struct kvm_regs regs = { .rip = 0x1000, .rflags = 2 };
	int r;

	memset(b, 0, sizeof(*b));
	b->vm = b->vcpu = -1;
	r = kvm_vm_create(kvm, &b->vm, eb);
	if (r < 0)
		return r;
	b->mem = mmap(NULL, 2 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		      -1, 0);
	if (b->mem == MAP_FAILED)
		return errbuf_set(eb, errno, "mmap: %s", strerror(errno));
	memcpy((uint8_t *)b->mem + 0x1000, code, sizeof(code));
	r = kvm_vm_set_memory(b->vm, 0, 0, 2 << 20, b->mem, eb);
	if (r < 0)
		return r;
	r = kvm_vcpu_create(kvm, b->vm, 0, &b->vcpu, &b->run, eb);
	if (r < 0)
		return r;
	if (ioctl(b->vcpu, KVM_GET_SREGS, &s) < 0)
		return errbuf_set(eb, errno, "KVM_GET_SREGS: %s", strerror(errno));
	s.cs.base = 0;
	s.cs.selector = 0;
	if (ioctl(b->vcpu, KVM_SET_SREGS, &s) < 0 || ioctl(b->vcpu, KVM_SET_REGS, &regs) < 0)
		return errbuf_set(eb, errno, "vCPU setup: %s", strerror(errno));
	if (ioctl(b->vcpu, KVM_RUN, 0) < 0 || b->run->exit_reason != KVM_EXIT_IO)
		return errbuf_set(eb, EIO, "bare VM did not reach its first exit (reason %u)",
				  b->run->exit_reason);
	return 0;
}

static void bare_vm_destroy(struct kvm_sys *kvm, struct bare_vm *b)
{
	kvm_vcpu_close(kvm, b->vcpu, b->run);
	if (b->mem && b->mem != MAP_FAILED)
		munmap(b->mem, 2 << 20);
	if (b->vm >= 0)
		close(b->vm);
}

/* Boots one idle 2 MiB minios domain and waits until its guest reached main. */
static int idle_domain_create(struct kvm_sys *kvm, uint32_t id, const char *minios, struct domain **out,
			      struct errbuf *eb)
{
	struct domain_opts opts = { .console_fd = -1 };
	struct domain_config cfg;
	struct domain *d;
	uint64_t deadline;
	int r;

	config_init(&cfg);
	snprintf(cfg.name, sizeof(cfg.name), "density-%u", id);
	cfg.memory_mib = 2;
	snprintf(cfg.cmdline, sizeof(cfg.cmdline), "idle");
	snprintf(cfg.kernel, sizeof(cfg.kernel), "%s", minios);
	r = domain_create(&cfg, &opts, kvm, id, &d, eb);
	if (r < 0)
		return r;
	r = domain_start(d, eb);
	deadline = now_ns() + BOOT_WAIT_NS;
	for (;;) {
		struct domain_boot_times bt;
		struct domain_end end;
		bool ended;

		if (r < 0)
			break;
		domain_boot_times(d, &bt);
		if (bt.first_exit_ns)
			break;
		/* Under d->lock: a vCPU thread writes the end while this one polls. */
		ended = domain_get_end(d, &end);
		if (now_ns() > deadline || ended) {
			r = errbuf_set(eb, ETIMEDOUT, "domain %u did not reach its guest's main in 10 s%s%s",
				       id, ended ? ": " : "", ended ? end.why : "");
			break;
		}
		sched_yield();
	}
	if (r < 0) {
		domain_destroy(d);
		return r;
	}
	*out = d;
	return 0;
}

int density_worker(bool bare, unsigned long count, unsigned long base, const char *minios)
{
	struct kvm_sys kvm = { .fd = -1 };
	struct errbuf eb;
	unsigned long done = 0;
	void **items;
	char c;

	items = calloc(count ? count : 1, sizeof(*items));
	if (!items || kvm_sys_open(&kvm, &eb) < 0 || vcpu_global_init(&eb) < 0) {
		printf("fail 0 %s\n", items ? eb.msg : "out of memory");
		return 1;
	}
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	for (; done < count; done++) {
		uint64_t t0 = now_ns();
		int r;

		if (bare) {
			struct bare_vm *b = calloc(1, sizeof(*b));

			r = b ? bare_vm_create(&kvm, b, &eb) : errbuf_set(&eb, ENOMEM, "out of memory");
			if (r < 0 && b) {
				bare_vm_destroy(&kvm, b);
				free(b);
				b = NULL;
			}
			items[done] = b;
		} else {
			struct domain *d = NULL;

			r = idle_domain_create(&kvm, (uint32_t)(base + done), minios, &d, &eb);
			items[done] = d;
		}
		if (r < 0) {
			printf("fail %lu %s\n", base + done, eb.msg);
			break;
		}
		printf("boot %.1f\n", (double)(now_ns() - t0) / 1000.0);
	}
	printf("ready %lu\n", done);
	fflush(stdout);
	/* Hold the domains until the parent has measured, i.e. closes our stdin. */
	while (read(STDIN_FILENO, &c, 1) > 0)
		;
	for (unsigned long i = 0; i < done; i++) {
		if (bare) {
			bare_vm_destroy(&kvm, items[i]);
			free(items[i]);
		} else {
			domain_destroy(items[i]);
		}
	}
	free(items);
	kvm_sys_close(&kvm);
	return 0;
}

/* ---- parent side ---- */

struct worker {
	pid_t pid;
	int in_fd, out_fd;
	char buf[8192];
	size_t len;
	bool ready;
	unsigned long booted;
};

static long meminfo_kib(const char *field)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, strlen(field)))
			v = strtol(line + strlen(field), NULL, 10);
	fclose(f);
	return v;
}

static long proc_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			v = strtol(line + 6, NULL, 10);
	fclose(f);
	return v;
}

/* utime + stime of a process, in clock ticks. */
static unsigned long long proc_cpu_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return 0;
	return ut + st;
}

static int spawn_worker(struct worker *w, const char *kind, unsigned long count, unsigned long first)
{
	char exe[4096], cnt[32], base[32];
	char *argv[] = { exe, "bench-worker", (char *)kind, cnt, base, NULL };
	int in[2], out[2];
	posix_spawn_file_actions_t fa;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return -errno;
	exe[n] = 0;
	snprintf(cnt, sizeof(cnt), "%lu", count);
	snprintf(base, sizeof(base), "%lu", first);
	if (pipe2(in, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(out, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return -errno;
	}
	memset(w, 0, sizeof(*w));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
	n = posix_spawn(&w->pid, exe, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	if (n != 0) {
		close(in[1]);
		close(out[0]);
		return -(int)n;
	}
	w->in_fd = in[1];
	w->out_fd = out[0];
	return 0;
}

/* Parses complete lines from a worker; returns false on a failure line. */
static bool worker_lines(struct worker *w, struct bench_series *boot, char *note, size_t note_size)
{
	char *nl;
	bool ok = true;

	while ((nl = memchr(w->buf, '\n', w->len))) {
		double us;
		unsigned long id;
		int off = 0;

		*nl = 0;
		if (sscanf(w->buf, "boot %lf", &us) == 1) {
			bench_series_add(boot, us);
			w->booted++;
		} else if (!strncmp(w->buf, "ready", 5)) {
			w->ready = true;
		} else if (sscanf(w->buf, "fail %lu %n", &id, &off) == 1) {
			if (!note[0])
				snprintf(note, note_size, "domain %lu failed: %s", id, w->buf + off);
			ok = false;
		}
		w->len -= (size_t)(nl + 1 - w->buf);
		memmove(w->buf, nl + 1, w->len);
	}
	return ok;
}

struct density_point {
	unsigned long reached;
	bool failed;
	char note[512];
};

static int measure_point(struct bench_run *run, const char *kind, unsigned long n,
			 struct density_point *pt)
{
	unsigned nw = (unsigned)((n + DENSITY_PER_WORKER - 1) / DENSITY_PER_WORKER);
	struct worker *w = calloc(nw, sizeof(*w));
	struct bench_series *boot, *s;
	char name[64];
	long avail0, avail1, rss = 0;
	unsigned long long cpu0 = 0, cpu1 = 0;
	unsigned ready = 0;
	long hz = sysconf(_SC_CLK_TCK);

	if (!w)
		return -ENOMEM;
	memset(pt, 0, sizeof(*pt));
	snprintf(name, sizeof(name), "n%lu-boot", n);
	boot = bench_run_series(run, "density", name, kind, "us", false);
	avail0 = meminfo_kib("MemAvailable:");
	for (unsigned i = 0; i < nw; i++) {
		unsigned long share = n / nw + (i < n % nw);

		if (spawn_worker(&w[i], kind, share, 1 + i * DENSITY_PER_WORKER) < 0) {
			snprintf(pt->note, sizeof(pt->note), "cannot start worker %u: %s", i, strerror(errno));
			nw = i;
			pt->failed = true;
			break;
		}
	}
	while (ready < nw) {
		struct pollfd pfd[64];
		unsigned m = 0;

		for (unsigned i = 0; i < nw && m < 64; i++)
			if (!w[i].ready)
				pfd[m++] = (struct pollfd){ .fd = w[i].out_fd, .events = POLLIN };
		if (poll(pfd, m, 120000) <= 0) {
			snprintf(pt->note, sizeof(pt->note), "workers stopped answering (2 minutes)");
			pt->failed = true;
			break;
		}
		for (unsigned i = 0, k = 0; i < nw && k < m; i++) {
			ssize_t got;

			if (w[i].ready)
				continue;
			if (!(pfd[k++].revents & (POLLIN | POLLHUP)))
				continue;
			got = read(w[i].out_fd, w[i].buf + w[i].len, sizeof(w[i].buf) - 1 - w[i].len);
			if (got <= 0) {
				w[i].ready = true; /* died: counts what it reported */
				pt->failed = true;
				if (!pt->note[0])
					snprintf(pt->note, sizeof(pt->note), "a worker process died");
				ready++;
				continue;
			}
			w[i].len += (size_t)got;
			if (!worker_lines(&w[i], boot, pt->note, sizeof(pt->note)))
				pt->failed = true;
			if (w[i].ready)
				ready++;
		}
		if (isatty(STDERR_FILENO))
			fprintf(stderr, "\r\033[Kdensity: %s, %lu domains: %zu booted", kind, n, boot->n);
	}
	for (unsigned i = 0; i < nw; i++) {
		pt->reached += w[i].booted;
		rss += proc_rss_kib(w[i].pid);
		cpu0 += proc_cpu_ticks(w[i].pid);
	}
	avail1 = meminfo_kib("MemAvailable:");
	/* Idle cost: what the domains use over one quiet second. */
	usleep(1000000);
	for (unsigned i = 0; i < nw; i++)
		cpu1 += proc_cpu_ticks(w[i].pid);
	for (unsigned i = 0; i < nw; i++) {
		close(w[i].in_fd);
		close(w[i].out_fd);
	}
	for (unsigned i = 0; i < nw; i++)
		waitpid(w[i].pid, NULL, 0);
	if (isatty(STDERR_FILENO))
		fprintf(stderr, "\r\033[K");
	free(w);
	if (pt->reached) {
		snprintf(name, sizeof(name), "n%lu-mem-available", n);
		s = bench_run_series(run, "density", name, kind, "KiB/domain", false);
		bench_series_add(s, (double)(avail0 - avail1) / (double)pt->reached);
		snprintf(name, sizeof(name), "n%lu-rss", n);
		s = bench_run_series(run, "density", name, kind, "KiB/domain", false);
		bench_series_add(s, (double)rss / (double)pt->reached);
		snprintf(name, sizeof(name), "n%lu-idle-cpu", n);
		s = bench_run_series(run, "density", name, kind, "us/s/domain", false);
		bench_series_add(s, (double)(cpu1 - cpu0) / (double)hz * 1e6 / (double)pt->reached);
	}
	return 0;
}

/* N busy domains in this process against N native threads, the same loop in both. */
struct busy_sink {
	double rounds[64];
	unsigned n;
	pthread_mutex_t lock;
};

static void busy_report(void *opaque, struct domain *d, uint32_t id, uint32_t rep, double value)
{
	struct busy_sink *bs = opaque;

	(void)rep;
	if (id != BENCH_BUSY_CASE)
		return;
	pthread_mutex_lock(&bs->lock);
	if (domain_id(d) < 64)
		bs->rounds[domain_id(d)] = value;
	bs->n++;
	pthread_mutex_unlock(&bs->lock);
}

struct busy_thread {
	pthread_t t;
	uint64_t ms, khz, rounds;
};

static void *busy_native(void *arg)
{
	struct busy_thread *bt = arg;
	static __thread uint8_t buf[WL_BUSY_BUF];

	bt->rounds = wl_busy(buf, bt->ms, bt->khz);
	return NULL;
}

static double jain(const double *x, unsigned n)
{
	double s = 0, sq = 0;

	for (unsigned i = 0; i < n; i++) {
		s += x[i];
		sq += x[i] * x[i];
	}
	return sq > 0 ? s * s / ((double)n * sq) : 0;
}

static int measure_busy(struct bench_run *run, struct kvm_sys *kvm, unsigned n, uint64_t ms,
			const char *minios)
{
	struct busy_sink bs = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct bench_sink sink = { busy_report, &bs };
	struct domain_opts opts = { .console_fd = STDERR_FILENO, .console_prefix = true, .bench = &sink };
	struct domain *d[64] = { 0 };
	struct busy_thread bt[64];
	double native[64];
	struct bench_series *s;
	struct errbuf eb;
	int r = 0;

	for (unsigned i = 0; i < n; i++) {
		struct domain_config cfg;

		config_init(&cfg);
		snprintf(cfg.name, sizeof(cfg.name), "busy-%u", i);
		cfg.memory_mib = 4;
		snprintf(cfg.cmdline, sizeof(cfg.cmdline), "busy %llu", (unsigned long long)ms);
		snprintf(cfg.kernel, sizeof(cfg.kernel), "%s", minios);
		if (domain_create(&cfg, &opts, kvm, i + 1, &d[i], &eb) < 0) { /* id 0 is domain 0's */
			fprintf(stderr, "xenith bench: density: busy domain %u: %s\n", i, eb.msg);
			r = -EIO;
			goto out;
		}
	}
	for (unsigned i = 0; i < n; i++)
		domain_start(d[i], &eb);
	for (unsigned i = 0; i < n; i++)
		domain_wait(d[i], now_ns() + (ms + 30000) * 1000000ull);
	if (bs.n != n) {
		fprintf(stderr, "xenith bench: density: %u of %u busy domains reported\n", bs.n, n);
		r = -EIO;
		goto out;
	}
	for (unsigned i = 0; i < n; i++) {
		bt[i] = (struct busy_thread){ .ms = ms, .khz = run->env.tsc_khz };
		pthread_create(&bt[i].t, NULL, busy_native, &bt[i]);
	}
	for (unsigned i = 0; i < n; i++) {
		pthread_join(bt[i].t, NULL);
		native[i] = (double)bt[i].rounds;
	}
	s = bench_run_series(run, "density", "busy-rounds", "guest", "rounds", true);
	for (unsigned i = 0; i < n; i++)
		bench_series_add(s, bs.rounds[i]);
	s = bench_run_series(run, "density", "busy-rounds", "native", "rounds", true);
	for (unsigned i = 0; i < n; i++)
		bench_series_add(s, native[i]);
	s = bench_run_series(run, "density", "busy-fairness", "guest", "jain", true);
	bench_series_add(s, jain(bs.rounds, n));
	s = bench_run_series(run, "density", "busy-fairness", "native", "jain", true);
	bench_series_add(s, jain(native, n));
out:
	for (unsigned i = 0; i < n; i++)
		domain_destroy(d[i]);
	return r;
}

int run_density(struct bench_run *run, struct kvm_sys *kvm, unsigned long max, bool quick,
		const char *minios)
{
	static const char *const kinds[] = { "xenith", "bare" };
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	char note[1024] = "";

	/* Children must not inherit the measuring pin. */
	{
		cpu_set_t all;

		CPU_ZERO(&all);
		for (long c = 0; c < ncpu && c < CPU_SETSIZE; c++)
			CPU_SET(c, &all);
		sched_setaffinity(0, sizeof(all), &all);
	}
	for (unsigned k = 0; k < 2; k++) {
		for (unsigned long n = 1; n <= max; n = n * 10 > max && n < max ? max : n * 10) {
			struct density_point pt;

			if (measure_point(run, kinds[k], n, &pt) < 0)
				return -ENOMEM;
			fprintf(stderr, "density: %s: %lu of %lu domains%s%s\n", kinds[k], pt.reached, n,
				pt.failed ? ": " : "", pt.failed ? pt.note : "");
			if (pt.failed) {
				snprintf(note + strlen(note), sizeof(note) - strlen(note),
					 "%s%s: stopped at %lu domains (asked for %lu): %s", note[0] ? "; " : "",
					 kinds[k], pt.reached, n, pt.note);
				break;
			}
			if (n == max)
				break;
		}
	}
	snprintf(run->note, sizeof(run->note), "%s", note);
	return measure_busy(run, kvm, (unsigned)(ncpu > 0 && ncpu <= 16 ? 2 * ncpu : 4),
			    quick ? 500 : 2000, minios);
}
