/* SPDX-License-Identifier: MIT */
/*
 * Domain control: a run directory holding, per domain, NAME.lock (held
 * with flock for the VMM's lifetime, so a dead VMM leaves nothing that
 * blocks the name) and NAME.sock (a Unix stream socket speaking JSON
 * lines).  Requests: {"cmd": "info" | "pause" | "unpause" | "shutdown"
 * (with "reason": "poweroff" | "reboot") | "destroy" | "console"}.
 * Replies: {"ok": true, ...} or {"ok": false, "error": "..."}; after a
 * console reply the connection carries the raw console output.
 */
#ifndef XENITH_HV_CONTROL_H
#define XENITH_HV_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/un.h>

#include "err.h"

struct domain;

/*
 * $XENITH_RUN_DIR, else /run/xenith (root), else $XDG_RUNTIME_DIR/xenith,
 * else /tmp/xenith-UID; created if missing.  It (and its ids/) must be a
 * real directory owned by the caller's euid with mode 0700, below
 * directories that only root and the caller can change; out gets its
 * canonical path.  rundir.c.
 */
int rundir_resolve(const char *override, char *out, size_t size, struct errbuf *eb);

/* Takes NAME.lock; -EEXIST (message says who has it) when a live VMM holds it. */
int rundir_claim_name(const char *dir, const char *name, int *lock_fd, struct errbuf *eb);
/* Takes the lowest free domain id (ids/N.lock). */
int rundir_claim_domid(const char *dir, uint32_t *domid, int *lock_fd, struct errbuf *eb);
/* Removes NAME.sock and NAME.lock while the lock is still held, then closes it. */
void rundir_release_name(const char *dir, const char *name, int lock_fd);

/*
 * Who may talk to whom (SO_PEERCRED): the server serves only clients whose
 * uid is its euid or root; control_connect() talks only to a VMM running
 * as the caller's euid or root (-EPERM otherwise, naming the uid found).
 */
struct control_server;
int control_server_start(struct domain *d, const char *dir, struct control_server **out,
			 struct errbuf *eb);
void control_server_stop(struct control_server *s);

/* The longest reply to {"cmd":"disks"}: every queue of every disk, paths JSON-escaped. */
#define CONTROL_DISKS_MAX (1u << 20)

/* Client side. */
int control_connect(const char *dir, const char *name, int *fd, struct errbuf *eb);
/* Sends one request line, reads one reply line (without the newline). */
int control_call(int fd, const char *request, char *reply, size_t size, struct errbuf *eb);

/* Domains with a live VMM in dir; stale sockets of dead VMMs (ours only) are removed. */
struct control_entry {
	char name[64];
};
int control_list(const char *dir, struct control_entry **entries, size_t *n, struct errbuf *eb);

#endif
