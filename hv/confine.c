// SPDX-License-Identifier: MIT
/*
 * seccomp-bpf filters per kind of thread, and the SIGSYS handler that says
 * which thread called what (confine.h).  The privilege steps (jail, user,
 * file descriptors) are in jail.c.
 *
 * The filters are compiled at build time (confine_rules.c, gen_seccomp.c)
 * into confine_bpf.c; before any thread starts, each is copied with the
 * VMM's pid put in (tgkill's check) and kept as raw BPF: installing one at
 * a thread's start is one system call, with no allocation and no library
 * state shared between threads.
 */
#include "confine.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "confine_priv.h"

/* ---- state of the calling thread ---- */

/* The kind of the calling thread, for the SIGSYS message (local-exec TLS: signal-safe). */
static __thread int thread_kind = -1;
static atomic_int log_fd = -1;


void confine_set_log_fd(int fd)
{
	atomic_store(&log_fd, fd);
}

/* ---- the SIGSYS handler: async-signal-safe, nothing allocated ---- */

static size_t put(char *buf, size_t n, size_t size, const char *s)
{
	while (*s && n + 1 < size)
		buf[n++] = *s++;
	return n;
}

static size_t put_uint(char *buf, size_t n, size_t size, unsigned long v)
{
	char tmp[24];
	size_t k = 0;

	do
		tmp[k++] = (char)('0' + v % 10);
	while ((v /= 10) && k < sizeof(tmp));
	while (k && n + 1 < size)
		buf[n++] = tmp[--k];
	return n;
}

static void sigsys_handler(int sig, siginfo_t *si, void *uc)
{
	char msg[320];
	size_t n = 0;
	unsigned nr = (unsigned)si->si_syscall;
	int fd = atomic_load(&log_fd);

	(void)sig, (void)uc;
	n = put(msg, n, sizeof(msg), "xenith: seccomp: ");
	n = put(msg, n, sizeof(msg), confine_kind_name((enum confine_kind)thread_kind));
	n = put(msg, n, sizeof(msg), " thread called ");
	if (si->si_arch != AUDIT_ARCH_X86_64 || (nr & __X32_SYSCALL_BIT)) {
		n = put(msg, n, sizeof(msg), si->si_arch == AUDIT_ARCH_I386 ? "an i386 system call" :
					     "a system call of another ABI (x32)");
	} else {
		n = put(msg, n, sizeof(msg), nr < CONFINE_NAMES_MAX && confine_syscall_names[nr] ? confine_syscall_names[nr] :
					     "an unknown system call");
	}
	n = put(msg, n, sizeof(msg), " (nr ");
	n = put_uint(msg, n, sizeof(msg), nr);
	n = put(msg, n, sizeof(msg), "), which its filter does not allow; rerun with --no-seccomp to "
				    "debug, and report it\n");
	(void)!write(STDERR_FILENO, msg, n);
	if (fd >= 0)
		(void)!write(fd, msg, n);
	_exit(EXIT_SECCOMP);
}

/* ---- preparing and installing ---- */

static int install(const struct sock_fprog *prog, unsigned flags)
{
	long r = syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, flags, prog);

	if (r == 0)
		return 0;
	return r > 0 ? -EBUSY : -errno; /* TSYNC: r is the thread that could not be synchronised */
}

int confine_bpf_load(enum confine_kind kind, bool bench, bool test_hook, uint32_t pid, struct sock_fprog *prog)
{
	const struct confine_bpf *b;
	struct sock_filter *f;

	if ((int)kind < 0 || kind >= CONFINE_NR_KINDS)
		return -EINVAL;
	b = &confine_bpf[bench][test_hook][kind];
	f = malloc(b->len * sizeof(*f));
	if (!f)
		return -ENOMEM;
	memcpy(f, b->insns, b->len * sizeof(*f));
	for (unsigned i = 0; i < b->nr_pid_at; i++)
		f[b->pid_at[i]].k = pid;
	prog->filter = f;
	prog->len = b->len;
	return 0;
}

int confine_seccomp_prepare(bool bench, bool test_hook, struct errbuf *eb)
{
	struct sigaction sa = { .sa_sigaction = sigsys_handler, .sa_flags = SA_SIGINFO };
	uint32_t pid = (uint32_t)getpid();
	int r;

	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0 && errno == EINVAL)
		return errbuf_set(eb, ENOTSUP, "seccomp: this kernel has no seccomp (CONFIG_SECCOMP); "
				  "run with --no-seccomp to go on without system call filters");
	for (int k = 0; k < CONFINE_NR_KINDS; k++) {
		r = confine_bpf_load((enum confine_kind)k, bench, test_hook, pid, &confine.prog[k]);
		if (r < 0)
			return errbuf_set(eb, -r, "seccomp: the %s filter: %s", confine_kind_name((enum confine_kind)k),
					  strerror(-r));
	}
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return errbuf_set(eb, errno, "seccomp: sigaction(SIGSYS): %s", strerror(errno));
	confine.test_hook = test_hook;
	return 0;
}

/* Ends the process: a thread that cannot be confined as promised must not run. */
static void fatal(const char *what, int err)
{
	char msg[256];
	int n = snprintf(msg, sizeof(msg), "xenith: seccomp: %s thread: %s: %s; rerun with --no-seccomp "
			 "to go on without system call filters\n", confine_kind_name((enum confine_kind)thread_kind),
			 what, strerror(err));

	(void)!write(STDERR_FILENO, msg, n > 0 ? (size_t)n : 0);
	_exit(EXIT_SECCOMP);
}

static void unblock_sigsys(void)
{
	sigset_t s;

	/* A blocked SIGSYS would turn the trap into a silent kill. */
	sigemptyset(&s);
	sigaddset(&s, SIGSYS);
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
}

int confine_seccomp_process(struct errbuf *eb)
{
	int r;

	thread_kind = CONFINE_MAIN;
	unblock_sigsys();
	r = install(&confine.prog[CONFINE_MAIN], SECCOMP_FILTER_FLAG_TSYNC);
	if (r < 0)
		return errbuf_set(eb, -r, "seccomp: installing the main filter on every thread: %s",
				  r == -EBUSY ? "a thread already has a filter of its own" : strerror(-r));
	return 0;
}

void confine_domain_thread(void)
{
	int r;

	if (confine.mode != CONFINE_THREADS_ONLY || !confine.seccomp)
		return;
	thread_kind = CONFINE_MAIN;
	unblock_sigsys();
	r = install(&confine.prog[CONFINE_MAIN], 0);
	if (r < 0)
		fatal("installing the main filter", -r);
}

static cpu_set_t helper_cpus;
static atomic_bool helper_cpus_set;

void confine_set_helper_cpus(const cpu_set_t *cpus)
{
	if (cpus)
		helper_cpus = *cpus;
	atomic_store(&helper_cpus_set, cpus != NULL);
}

/* A thread's name and CPUs by its kind (see confine_thread). */
static void thread_identity(enum confine_kind kind)
{
	static const char *const names[] = {
		[CONFINE_BACKEND] = "xenith-backend", [CONFINE_CONTROL] = "xenith-control",
		[CONFINE_TIMER] = "xenith-timer", [CONFINE_LOOPBACK] = "xenith-loopback",
		[CONFINE_BENCH] = "xenith-bench", [CONFINE_SIGNAL] = "xenith-signal",
		[CONFINE_WATCHDOG] = "xenith-watchdog", [CONFINE_IRQ] = "xenith-irq",
	};

	if (kind < sizeof(names) / sizeof(names[0]) && names[kind])
		prctl(PR_SET_NAME, names[kind], 0, 0, 0); /* main keeps its name; a vCPU names itself */
	if ((kind == CONFINE_BACKEND || kind == CONFINE_TIMER || kind == CONFINE_LOOPBACK ||
	     kind == CONFINE_BENCH || kind == CONFINE_IRQ) && atomic_load(&helper_cpus_set))
		sched_setaffinity(0, sizeof(helper_cpus), &helper_cpus); /* best effort */
}

void confine_thread(enum confine_kind kind)
{
	int r;

	thread_identity(kind);
	if (confine.mode == CONFINE_OFF || !confine.seccomp || kind >= CONFINE_NR_KINDS)
		return;
	thread_kind = (int)kind;
	unblock_sigsys();
	if (confine.mode == CONFINE_PROCESS) {
		/* Started before set-up was over: the main filter comes first (TSYNC), then ours. */
		pthread_mutex_lock(&confine.lock);
		while (confine.phase == CONFINE_PHASE_ARMED)
			pthread_cond_wait(&confine.cond, &confine.lock);
		r = confine.phase == CONFINE_PHASE_ACTIVE;
		pthread_mutex_unlock(&confine.lock);
		if (!r)
			return; /* set-up failed: the process is on its way out */
	}
	r = install(&confine.prog[kind], 0);
	if (r < 0)
		fatal("installing its filter", -r);
}

long confine_test_forbidden_syscall(void)
{
	int fd;

	if (!confine.test_hook)
		return -ENOSYS;
	/* No thread of the VMM has any business opening an Internet socket. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}
