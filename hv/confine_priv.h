/* SPDX-License-Identifier: MIT */
/* What confine.c (seccomp) and jail.c (privileges) share. */
#ifndef XENITH_HV_CONFINE_PRIV_H
#define XENITH_HV_CONFINE_PRIV_H

#include <linux/filter.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "confine.h"

enum confine_phase {
	CONFINE_PHASE_OFF,       /* nothing prepared */
	CONFINE_PHASE_ARMED,     /* prepared; set-up is going on: early threads wait */
	CONFINE_PHASE_ACTIVE,    /* the main filter is on every thread */
	CONFINE_PHASE_ABANDONED, /* set-up failed: nothing more will be confined */
};

struct confine_state {
	enum confine_mode mode;
	bool seccomp;
	bool test_hook;           /* XENITH_TEST_HOOKS=1 at start */
	struct sock_fprog prog[CONFINE_NR_KINDS];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	enum confine_phase phase; /* under lock */
};

extern struct confine_state confine;

/*
 * The build's BPF (confine_bpf.c, which gen_seccomp.c writes with
 * confine_compile_kind): per variant (bench domain, XENITH_TEST_HOOKS) and
 * kind, with the instructions whose constant is the VMM's pid.
 */
struct confine_bpf {
	const struct sock_filter *insns;
	unsigned short len;
	unsigned short nr_pid_at;
	const unsigned short *pid_at;
};
extern const struct confine_bpf confine_bpf[2][2][CONFINE_NR_KINDS];
/* system call names by number (NULL where none), for the SIGSYS message */
#define CONFINE_NAMES_MAX 512
extern const char *const confine_syscall_names[CONFINE_NAMES_MAX];

/* Compiles a kind's filter with libseccomp; tgkill is allowed for process pid only. */
int confine_compile_kind(enum confine_kind kind, bool bench, bool test_hook, uint32_t pid,
			 struct sock_fprog *prog, struct errbuf *eb);
/* The build's program for a kind, copied (malloc) with pid put in. */
int confine_bpf_load(enum confine_kind kind, bool bench, bool test_hook, uint32_t pid, struct sock_fprog *prog);

int confine_seccomp_prepare(bool bench, bool test_hook, struct errbuf *eb);
int confine_seccomp_process(struct errbuf *eb);
bool confine_kind_allows_ioctl(enum confine_kind kind, unsigned long req);
/* The same with XENITH_TEST_HOOKS=1 (XENITH_TEST_DIRTY_LOG switches and fetches the dirty log). */
bool confine_kind_allows_ioctl_with_test_hooks(enum confine_kind kind, unsigned long req);
/* user = SPEC: "UID:GID", or a name looked up in the passwd file given (jail.c). */
int confine_resolve_user(const char *spec, const char *passwd, uid_t *uid, gid_t *gid, struct errbuf *eb);

#endif
