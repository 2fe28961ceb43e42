/* SPDX-License-Identifier: MIT */
/*
 * Confining the VMM once set-up is done (the model: Firecracker's jailer
 * and its per-thread seccomp filters).
 *
 * - seccomp-bpf (the lists in confine_rules.c, compiled at build time by
 *   gen_seccomp.c; installed by confine.c): each kind of thread gets an allow-list of the
 *   system calls it makes, with arguments checked where that is cheap and
 *   means something (ioctl numbers, mmap/mprotect protections and flags,
 *   clone flags, tgkill's process).  A call outside the list raises SIGSYS;
 *   the handler names the thread kind and the call on stderr and in the
 *   console log, and ends the process with EXIT_SECCOMP.
 * - privileges (jail.c): a private mount namespace holding only the
 *   domain's disks (`jail`), the file descriptors it needs and no others,
 *   an unprivileged uid/gid (`user`), no-new-privileges.
 *
 * Filters only narrow: a thread inherits its creator's and adds its own.
 * So the main thread's list (installed on every thread at once, TSYNC) is
 * the union, and a kind that starts threads (vCPU: backends, timers, test
 * loopbacks, bench responders; control) lists what those need too.
 *
 * Order, for `xenith run`:
 *   confine_prepare()          before any thread: inherited descriptors
 *                              closed, no-new-privileges, filters compiled,
 *                              names of system calls resolved, SIGSYS handler
 *   ... set-up: KVM, domain_create (memory, vCPUs, disks) ...
 *   confine_enter_jail()       (jail only) the new root; the host's stays
 *                              reachable under confine_host_path() ...
 *   control_server_start()     ... so the control socket is bound there
 *   confine_process()          host root detached, stdin on /dev/null, uid/gid
 *                              dropped, main filter on every thread; threads
 *                              that started earlier wait in confine_thread()
 *                              until this is done, then narrow themselves
 * and each thread function calls confine_thread(ITS_KIND) first.
 *
 * `xenith bench` confines only a domain's threads (CONFINE_THREADS_ONLY):
 * the thread that builds and waits for the domain calls
 * confine_domain_thread() after domain_create, in place of
 * confine_process(); the harness's own threads stay free.
 */
#ifndef XENITH_HV_CONFINE_H
#define XENITH_HV_CONFINE_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "err.h"

/* Exit status of a process that a seccomp filter ended (README, `xenith run --help`). */
#define EXIT_SECCOMP 70

enum confine_kind {
	CONFINE_MAIN,     /* the VMM's main thread after set-up: waits, rebuilds on reboot, ends */
	CONFINE_VCPU,     /* runs guest code; hypercalls; starts backends, timers, vCPUs */
	CONFINE_BACKEND,  /* a disk queue's io_uring thread (io/blkback.c) */
	CONFINE_CONTROL,  /* the control socket server and its per-client threads */
	CONFINE_TIMER,    /* periodic timers (domain.c) */
	CONFINE_LOOPBACK, /* the kvm tier's event-channel loopback backend (loopback.c) */
	CONFINE_BENCH,    /* `xenith bench` responders: echo, shared memory (bench_hooks.c) */
	CONFINE_SIGNAL,   /* `xenith run`'s signal thread */
	CONFINE_WATCHDOG, /* the stop watchdog (domain.c): ends a VMM whose destroyed domain does not stop */
	CONFINE_IRQ,      /* a passed-through PCI function's MSI-X vectors to event channels (pcidev.c) */
	CONFINE_NR_KINDS
};

enum confine_mode {
	CONFINE_OFF,          /* nothing is confined (library users, tests, --no-seccomp alone) */
	CONFINE_PROCESS,      /* xenith run: the whole process */
	CONFINE_THREADS_ONLY, /* xenith bench: only the threads of the domains it runs */
};

struct confine_opts {
	enum confine_mode mode;
	bool seccomp;     /* install filters (default on; --no-seccomp turns it off) */
	bool bench;       /* also allow what bench hooks need (affinity of responder threads) */
	const char *user; /* "" or NULL: keep the uid; NAME (from /etc/passwd) or UID:GID */
	bool jail;        /* private mount namespace with only the domain's files */
	/*
	 * A descriptor above 2 that confine_prepare keeps open: `xenith
	 * restore`'s stream, read after the process is confined (0: none).
	 */
	int keep_fd;
};

/*
 * Before any thread starts and anything is opened: closes inherited
 * descriptors (CONFINE_PROCESS), sets no-new-privileges, resolves the user,
 * compiles the filters.  Errors name what is missing (seccomp, the user,
 * root).
 */
int confine_prepare(const struct confine_opts *o, struct errbuf *eb);

/* Also where the SIGSYS message goes (the console log); -1 for none. */
void confine_set_log_fd(int fd);

/*
 * A file the domain uses after set-up (disk images: a reboot reopens them).
 * The jail bind-mounts it at the same path; under `user`, it must be
 * readable (and writable unless ro) by that user, which confine_process()
 * checks.  opened: the file as the domain opened it (its disk lock's
 * fstat); the jail binds the path only if it still names that file, and
 * refuses a path with a ".." component.  Call before confine_enter_jail().
 */
int confine_add_path(const char *path, bool ro, const struct stat *opened, struct errbuf *eb);

/*
 * jail: builds the new root (a tmpfs mounted on workdir, an existing
 * directory, in the new namespace only) and moves into it, keeping the
 * host's root under confine_host_path() until confine_process().  No-op
 * without jail.
 */
int confine_enter_jail(const char *workdir, struct errbuf *eb);
/* A host path as seen from here: unchanged, or under the kept host root. */
const char *confine_host_path(const char *path, char *buf, size_t size);

/*
 * After set-up, on the main thread: detaches the host root, points stdin
 * at /dev/null, drops uid/gid (and checks the kept files are still open
 * to it), installs the main filter on every thread.  (Descriptors
 * inherited from the parent were closed by confine_prepare(): every other
 * one was opened by set-up and is needed.)  On failure the process must
 * not go on running the domain.
 */
int confine_process(struct errbuf *eb);
/* On an error path before confine_process(): threads waiting in confine_thread() go on unconfined. */
void confine_abandon(void);

/* CONFINE_THREADS_ONLY: the calling thread (which then starts the domain) takes the main filter. */
void confine_domain_thread(void);

/*
 * First thing in every thread function.  Names the thread after its kind
 * ("xenith-backend", ...; a vCPU thread names itself "xenith-vcpuN"), puts
 * a thread a vCPU may have started (backend, timer, loopback, bench
 * helper) on the domain's CPUs (confine_set_helper_cpus), and installs the
 * kind's filter (or nothing when confinement is off).  A thread that cannot
 * be confined as promised ends the process (EXIT_SECCOMP) rather than run
 * unconfined.
 */
void confine_thread(enum confine_kind kind);

/*
 * Where threads started by vCPU threads run: the union of the domain's
 * vCPUs' CPUs (vcpu_pin, numa_node), instead of the one vCPU's CPUs they
 * would inherit.  NULL (the default): they keep what they inherit.
 */
void confine_set_helper_cpus(const cpu_set_t *cpus);

static inline void confine_backend_thread(void)
{
	confine_thread(CONFINE_BACKEND); /* io/ knows no hv/ header: blkback_config.thread_init */
}

/* What the filters allow, for tests and docs: is syscall nr allowed (for some arguments) in kind? */
bool confine_kind_allows(enum confine_kind kind, int nr, bool bench);
/* The same in a VMM started with XENITH_TEST_HOOKS=1 (its test-only hypercalls need a little more). */
bool confine_kind_allows_with_test_hooks(enum confine_kind kind, int nr, bool bench);
const char *confine_kind_name(enum confine_kind kind);

/* Test hook: XENITH_TEST_FORBIDDEN_SYSCALL, honoured only when XENITH_TEST_HOOKS=1 was set at start. */
long confine_test_forbidden_syscall(void);

#endif
