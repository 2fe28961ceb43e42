/* SPDX-License-Identifier: MIT */
/*
 * Domain control: a run directory holding, per domain, NAME.lock (held
 * with flock for the VMM's lifetime, so a dead VMM leaves nothing that
 * blocks the name) and NAME.sock (a Unix stream socket speaking JSON
 * lines).  Requests: {"cmd": "info" | "disks" | "devices" | "pause" | "unpause" |
 * "shutdown" (with "reason": "poweroff" | "reboot") | "destroy" |
 * "console" | "xenstore" (with "path", default "/") | "xenstore-write"
 * (with "path" and "value") | "memmap" | "stats" (the vCPUs' counters, for
 * `xenith top`) | "prof" (with "freq", Hz)}, one per connection.  Replies:
 * {"ok": true, ...} or {"ok": false, "error": "..."}; after a console reply
 * the connection carries the raw console output; after a prof reply, the
 * profile's records (xenoprof/profile.h) until the client shuts its side
 * down or the domain goes: then the closing records and XP_REC_END.
 *
 * Who may do what: the run directory must be the caller's own (mode 0700,
 * see fs_private_dir); the VMM serves only clients whose uid is its euid
 * or root, and a client talks only to a VMM running as its own euid or
 * root (SO_PEERCRED on both ends).
 *
 * rundir.c: the run directory and its files; control_proto.c: requests
 * and replies as text (no sockets, no domain); control.c: the server and
 * the client.
 */
#ifndef XENITH_HV_CONTROL_H
#define XENITH_HV_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>

#include "err.h"

struct domain;
struct domain_info;

/*
 * $XENITH_RUN_DIR, else /run/xenith (root), else $XDG_RUNTIME_DIR/xenith,
 * else /tmp/xenith-UID; created if missing.  It (and its ids/) must be a
 * real directory owned by the caller's euid with mode 0700, below
 * directories that only root and the caller can change; out gets its
 * canonical path.
 */
int rundir_resolve(const char *override, char *out, size_t size, struct errbuf *eb);

/* Takes NAME.lock; -EEXIST (message says who has it) when a live VMM holds it. */
int rundir_claim_name(const char *dir, const char *name, int *lock_fd, struct errbuf *eb);
/* Takes the lowest free domain id (ids/N.lock), 1 to 0x7fef: Xen reserves 0x7ff0 and up. */
int rundir_claim_domid(const char *dir, uint32_t *domid, int *lock_fd, struct errbuf *eb);
/* Takes domain id `domid` (a restored guest's own): -EEXIST, saying so, when a running domain has it. */
int rundir_claim_domid_exact(const char *dir, uint32_t domid, int *lock_fd, struct errbuf *eb);
/* Removes NAME.sock and NAME.lock while the lock is still held, then closes it. */
void rundir_release_name(const char *dir, const char *name, int lock_fd);

/* ---- the protocol (control_proto.c) ---- */

#define CONTROL_STR_(x) #x
#define CONTROL_STR(x) CONTROL_STR_(x)
/* The longest request line, without its newline; a longer one gets CONTROL_ERR_TOO_LONG. */
#define CONTROL_REQUEST_MAX 4096
#define CONTROL_ERR_TOO_LONG "request longer than " CONTROL_STR(CONTROL_REQUEST_MAX) " bytes"
/* The whole request line must arrive within this time of the connection being accepted. */
#define CONTROL_REQUEST_DEADLINE_MS 2000
/* A client gives up connecting after this long (a VMM whose listen queue stays full). */
#define CONTROL_CONNECT_TIMEOUT_MS 5000
/* A reply must be taken by the client within this time. */
#define CONTROL_REPLY_DEADLINE_MS 5000
/* Requests served at once; a client past this gets CONTROL_ERR_BUSY at once. */
#define CONTROL_MAX_CONNECTIONS 32
#define CONTROL_ERR_BUSY \
	"the VMM is serving " CONTROL_STR(CONTROL_MAX_CONNECTIONS) " control requests already; try again"
/* The longest reply to {"cmd":"disks"} or {"cmd":"devices"}: every queue of every disk, paths JSON-escaped. */
#define CONTROL_DISKS_MAX (1u << 20)
/*
 * The longest xenstore dump {"cmd":"xenstore"} sends (xenstore-ls text),
 * and its reply line: the text JSON-escaped (at most 6 bytes a byte).
 */
#define CONTROL_XENSTORE_DUMP_MAX (1u << 20)
#define CONTROL_XENSTORE_REPLY_MAX (6 * CONTROL_XENSTORE_DUMP_MAX + 64)
/* A xenstore path or value in a request: what fits the request line. */
#define CONTROL_XS_PATH_MAX 3072
#define CONTROL_XS_VALUE_MAX CONTROL_REQUEST_MAX

enum control_cmd {
	CONTROL_INFO,
	CONTROL_DISKS,
	CONTROL_DEVICES,
	CONTROL_PAUSE,
	CONTROL_UNPAUSE,
	CONTROL_SHUTDOWN,
	CONTROL_DESTROY,
	CONTROL_CONSOLE,
	CONTROL_XENSTORE,
	CONTROL_XENSTORE_WRITE,
	CONTROL_MEMMAP,
	CONTROL_PROF,
	CONTROL_STATS,
	CONTROL_SAVE,
	CONTROL_MIGRATE,
	CONTROL_NR_CMDS,
};

/* A request that passed every check: a known command with valid arguments. */
struct control_request {
	enum control_cmd cmd;
	bool reboot;        /* shutdown: "reason":"reboot" (else poweroff) */
	/* xenstore: "path" (default "/"); xenstore-write: "path" and "value", both required. */
	char path[CONTROL_XS_PATH_MAX + 1];
	char value[CONTROL_XS_VALUE_MAX + 1];
	unsigned freq;      /* prof: "freq" in Hz (default PROF_FREQ_DEFAULT), checked by the VMM */
	/*
	 * save: "keep" (default false): the domain runs on after the save.
	 * The stream's descriptor (a file or socket opened for writing) comes
	 * with the request line, as SCM_RIGHTS on its first bytes.
	 */
	bool keep;
	/*
	 * migrate: "downtime_ms" (default 5: the stop-and-copy's target) and
	 * "max_rounds" (default 30); the connection to the receiver comes as
	 * save's stream does.
	 */
	double downtime_ms;
	unsigned max_rounds;
};

const char *control_cmd_name(enum control_cmd cmd);

/*
 * Parses one request line: len bytes, the newline removed, line[len] == 0.
 * 0 with *req filled, or -EINVAL with the reply's error text in err.
 */
int control_parse_request(const char *line, size_t len, struct control_request *req, char *err,
			  size_t errlen);

/*
 * Reply lines, newline included, always one complete JSON object (an error
 * message that does not fit is cut between characters, never inside an
 * escape); each returns the length written.  size: at least 64, for info
 * at least CONTROL_REPLY_MAX.
 */
#define CONTROL_REPLY_MAX 1024
size_t control_format_ok(char *out, size_t size);
size_t control_format_error(char *out, size_t size, const char *msg);
size_t control_format_info(char *out, size_t size, const struct domain_info *info,
			   const char *state, int pid);

/* A domain name as config.c accepts it: [A-Za-z0-9_.-], not starting with '-' or '.'. */
bool control_name_ok(const char *name);

/* ---- the server (control.c) ---- */

struct control_server;
int control_server_start(struct domain *d, const char *dir, struct control_server **out,
			 struct errbuf *eb);
/*
 * Stops accepting, interrupts every request still reading or replying, and
 * waits for the requests being carried out (a pause returns once the
 * domain has ended); then nothing touches d any more.
 */
void control_server_stop(struct control_server *s);

/*
 * Serves one connection of a trusted peer: reads its request (within
 * CONTROL_REQUEST_DEADLINE_MS, or until stop_fd is readable), carries it
 * out on d and replies.  True when fd now belongs to d's console, else the
 * caller closes it.  control_server_start() runs it on a thread per
 * connection; tests and the fuzzer call it directly.
 */
bool control_serve_connection(struct domain *d, int fd, int stop_fd);

/* ---- the client (control.c) ---- */

/*
 * Connects to NAME.sock in dir and checks that the VMM runs as the
 * caller's euid or root (-EPERM otherwise, naming the uid found).
 */
int control_connect(const char *dir, const char *name, int *fd, struct errbuf *eb);
/* Sends one request line, reads one reply line (without the newline) within timeout_ms. */
int control_call_timeout(int fd, const char *request, char *reply, size_t size, int timeout_ms,
			 struct errbuf *eb);
/* The same with 30 s: pause waits for the vCPUs. */
int control_call(int fd, const char *request, char *reply, size_t size, struct errbuf *eb);
/* The request line with pass_fd sent along (SCM_RIGHTS): a save's stream, a migration's connection. */
int control_send_fd(int fd, const char *request, int pass_fd, struct errbuf *eb);
/* One reply line (a migration sends progress lines before its reply). */
int control_read_reply(int fd, char *reply, size_t size, int timeout_ms, struct errbuf *eb);
/* control_send_fd, then the reply. */
int control_call_fd(int fd, const char *request, int pass_fd, char *reply, size_t size, int timeout_ms,
		    struct errbuf *eb);

/* Domains with a live VMM in dir; sockets of dead VMMs are left for the next run of their name. */
struct control_entry {
	char name[64];
};
int control_list(const char *dir, struct control_entry **entries, size_t *n, struct errbuf *eb);

#endif
