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

/* Compiles a kind's filter with libseccomp (confine_rules.c); tgkill is allowed for process pid only. */
int confine_compile_kind(enum confine_kind kind, bool bench, bool test_hook, uint32_t pid,
			 struct sock_fprog *prog, struct errbuf *eb);
int confine_seccomp_prepare(bool bench, bool test_hook, struct errbuf *eb);
int confine_seccomp_process(struct errbuf *eb);
bool confine_kind_allows_ioctl(enum confine_kind kind, unsigned long req);
/* The same with XENITH_TEST_HOOKS=1 (XENITH_TEST_DIRTY_LOG switches and fetches the dirty log). */
bool confine_kind_allows_ioctl_with_test_hooks(enum confine_kind kind, unsigned long req);
/* user = SPEC: "UID:GID", or a name looked up in the passwd file given (jail.c). */
int confine_resolve_user(const char *spec, const char *passwd, uid_t *uid, gid_t *gid, struct errbuf *eb);

#endif
