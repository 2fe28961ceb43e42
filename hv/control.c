// SPDX-License-Identifier: MIT
/*
 * The control socket's server and client.
 *
 * One thread accepts; it checks the peer's credentials and hands each
 * connection to a thread of its own, up to CONTROL_MAX_CONNECTIONS at once
 * (the next client gets CONTROL_ERR_BUSY at once).  A connection thread
 * reads the request within a deadline for the whole line, carries it out
 * and replies within a deadline, polling the server's stop pipe all along.
 * So a slow, silent or greedy client only ever holds its own thread, and a
 * request that waits by nature (pause waits for the vCPUs) delays nobody
 * else: destroy and info do not even take the domain's ctl_lock.
 *
 * Why threads and not one poll loop over non-blocking sockets: the domain
 * calls block (pause), so a loop would need worker threads anyway; with
 * peers limited to the owner and root (SO_PEERCRED), the cap guards the
 * VMM against a runaway script, not an adversary, and 32 threads are cheap.
 */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "blkdev.h"
#include "confine.h"
#include "device.h"
#include "domain.h"
#include "json.h"
#include "relocate.h"
#include "xsdomain.h"

/* Requests that change the domain wait this long for ctl_lock (a restart, another pause). */
#define CTL_LOCK_WAIT_S 20
/* What a client waits for a reply by default: pause waits for the vCPUs. */
#define CALL_TIMEOUT_MS 30000

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Milliseconds left until deadline (CLOCK_MONOTONIC ns), rounded up; 0 once it passed. */
static int ms_left(uint64_t deadline)
{
	uint64_t now = mono_ns();

	return now >= deadline ? 0 : (int)((deadline - now + 999999) / 1000000);
}

/*
 * Waits for events on fd, or for stop_fd (-1: none) to become readable,
 * until deadline: 0, -ETIMEDOUT or -ECANCELED.
 */
static int wait_fd(int fd, short events, int stop_fd, uint64_t deadline)
{
	for (;;) {
		struct pollfd p[2] = { { .fd = fd, .events = events }, { .fd = stop_fd, .events = POLLIN } };
		int ms = ms_left(deadline), r;

		if (ms == 0)
			return -ETIMEDOUT;
		r = poll(p, 2, ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (p[1].revents)
			return -ECANCELED;
		if (p[0].revents)
			return 0;
	}
}

/*
 * recv() that also takes descriptors sent with the bytes (SCM_RIGHTS): the
 * first one is kept in *passed_fd (if none was kept yet), any other closed.
 */
static ssize_t recv_fds(int fd, char *buf, size_t len, int *passed_fd)
{
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(4 * sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.space,
			      .msg_controllen = sizeof(ctl.space) };
	ssize_t k = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	if (k < 0)
		return k;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int f;

			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(f));
			if (*passed_fd < 0)
				*passed_fd = f;
			else
				close(f);
		}
	}
	return k;
}

/*
 * Reads up to the first newline, which must come within max bytes and
 * before deadline; the newline becomes a NUL and *len the line's length.
 * buf holds max + 1 bytes.  -ETIMEDOUT, -ECANCELED (stop), -EPIPE (the peer
 * closed before a newline), -E2BIG or another -errno.
 */
static int read_line(int fd, int stop_fd, char *buf, size_t max, size_t *len, uint64_t deadline,
		     int *passed_fd)
{
	size_t n = 0;

	while (n < max) {
		char *nl;
		ssize_t k;
		int r = wait_fd(fd, POLLIN, stop_fd, deadline);

		if (r < 0)
			return r;
		k = passed_fd ? recv_fds(fd, buf + n, max - n, passed_fd) : recv(fd, buf + n, max - n, MSG_DONTWAIT);
		if (k == 0)
			return -EPIPE;
		if (k < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno;
		}
		nl = memchr(buf + n, '\n', (size_t)k);
		n += (size_t)k;
		if (nl) {
			*nl = 0;
			*len = (size_t)(nl - buf);
			return 0;
		}
	}
	return -E2BIG;
}

/* Sends all of buf before deadline, never blocking past it or past a stop. */
static int send_all(int fd, int stop_fd, const char *buf, size_t len, uint64_t deadline)
{
	while (len) {
		ssize_t k = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		int r;

		if (k > 0) {
			buf += k;
			len -= (size_t)k;
			continue;
		}
		if (k < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		r = wait_fd(fd, POLLOUT, stop_fd, deadline);
		if (r < 0)
			return r;
	}
	return 0;
}

struct conn_io {
	int fd, stop_fd;
	int passed_fd;     /* a descriptor that came with the request (SCM_RIGHTS), else -1 */
};

static void reply_text(const struct conn_io *io, const char *text, size_t len)
{
	(void)send_all(io->fd, io->stop_fd, text, len,
		       mono_ns() + CONTROL_REPLY_DEADLINE_MS * 1000000ull);
}

static void reply_ok(const struct conn_io *io)
{
	char buf[64];

	reply_text(io, buf, control_format_ok(buf, sizeof(buf)));
}

static void reply_error(const struct conn_io *io, const char *msg)
{
	char buf[1024];

	reply_text(io, buf, control_format_error(buf, sizeof(buf), msg));
}

/* ctl_lock keeps requests that change the domain out of a restart (which rebuilds it). */
static bool lock_ctl(struct domain *d, const struct conn_io *io)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += CTL_LOCK_WAIT_S;
	if (pthread_mutex_timedlock(&d->ctl_lock, &ts) == 0)
		return true;
	reply_error(io, "the domain is busy with another request (a pause waiting for its vCPUs, "
		    "or a restart) for " CONTROL_STR(CTL_LOCK_WAIT_S) " s; try again");
	return false;
}

/*
 * The disks or devices reply, built under ctl_lock and sent after it (a
 * slow reader must not hold the lock).
 */
static char *list_reply(struct domain *d, bool devices, size_t *len, const char **err)
{
	const char *head = devices ? "{\"ok\":true,\"devices\":" : "{\"ok\":true,\"disks\":";
	const size_t hl = strlen(head);
	char *buf = malloc(CONTROL_DISKS_MAX);
	int n = !buf ? -1 : devices ? devices_json(d, buf + hl, CONTROL_DISKS_MAX - hl - 2)
				    : domain_disks_json(d, buf + hl, CONTROL_DISKS_MAX - hl - 2);

	if (n < 0) {
		if (devices)
			*err = buf ? "the device list is longer than CONTROL_DISKS_MAX"
				   : "out of memory for the device list";
		else
			*err = buf ? "the disk list is longer than CONTROL_DISKS_MAX"
				   : "out of memory for the disk list";
		free(buf);
		return NULL;
	}
	memcpy(buf, head, hl);
	memcpy(buf + hl + (size_t)n, "}\n", 2);
	*len = hl + (size_t)n + 2;
	return buf;
}

/* The guest memory map as a reply line (malloc'd; d->ctl_lock held), or NULL with the reason in err. */
static char *memmap_reply(struct domain *d, size_t *len, const char **err)
{
	static const char head[] = "{\"ok\":true,\"memmap\":";
	const size_t hl = sizeof(head) - 1, max = 64 * 1024;
	char *buf = malloc(max);
	int n = buf ? domain_memmap_json(d, buf + hl, max - hl - 2) : -1;

	if (n < 0) {
		*err = buf ? "the memory map is longer than its reply buffer" : "out of memory for the memory map";
		free(buf);
		return NULL;
	}
	memcpy(buf, head, hl);
	memcpy(buf + hl + (size_t)n, "}\n", 2);
	*len = hl + (size_t)n + 2;
	return buf;
}

/* The xenstore dump as a reply line (malloc'd), or NULL with the reason in err. */
static char *xenstore_reply(struct domain *d, const char *path, size_t *len, char *err, size_t errlen)
{
	static const char head[] = "{\"ok\":true,\"xenstore\":\"", tail[] = "\"}\n";
	char *dump, *buf;
	size_t size, n;
	int r = xsdomain_dump(d, path, CONTROL_XENSTORE_DUMP_MAX, &dump);

	if (r < 0) {
		snprintf(err, errlen, "xenstore %.200s: %s", path,
			 r == -E2BIG ? "the tree there is longer than CONTROL_XENSTORE_DUMP_MAX"
			 : r == -ENOTCONN ? "this domain has no xenstore" : strerror(-r));
		return NULL;
	}
	size = sizeof(head) + 6 * strlen(dump) + sizeof(tail);
	buf = malloc(size);
	if (!buf) {
		free(dump);
		snprintf(err, errlen, "out of memory for the xenstore dump");
		return NULL;
	}
	memcpy(buf, head, sizeof(head) - 1);
	json_escape(buf + sizeof(head) - 1, size - sizeof(head) - sizeof(tail) + 2, dump);
	n = strlen(buf);
	memcpy(buf + n, tail, sizeof(tail));
	*len = n + sizeof(tail) - 1;
	free(dump);
	return buf;
}

/* How often a recording's samples go to its client. */
#define PROF_DRAIN_MS 20
#define PROF_BUF (512 * 1024)

/*
 * `xenith prof record`: the reply line, the guest's symbols, then samples
 * every PROF_DRAIN_MS until the client shuts its side down, the domain
 * ends or restarts, or the VMM stops; then the closing records.
 */
static void serve_prof(struct domain *d, const struct conn_io *io, unsigned freq)
{
	struct prof_session *s = NULL;
	struct errbuf eb = { "" };
	char head[4096];
	uint8_t *buf = malloc(PROF_BUF), *syms = NULL;
	size_t n, nsyms = 0, cap = PROF_BUF;
	bool gone = false;
	int r;

	if (!buf) {
		reply_error(io, "out of memory for a recording");
		return;
	}
	if (!lock_ctl(d, io)) {
		free(buf);
		return;
	}
	r = prof_session_start(d, freq, &s, &eb);
	if (r == 0)
		r = prof_header_json(d, freq, head, sizeof(head));
	if (r == 0)
		syms = prof_symbol_records(d, &nsyms);
	pthread_mutex_unlock(&d->ctl_lock);
	if (r < 0) {
		if (s)
			prof_session_finish(s, buf, PROF_BUF);
		reply_error(io, eb.msg[0] ? eb.msg : "cannot describe the domain for a recording");
		free(buf);
		return;
	}
	gone = send_all(io->fd, io->stop_fd, head, strlen(head), mono_ns() + CONTROL_REPLY_DEADLINE_MS * 1000000ull) < 0 ||
	       (nsyms && send_all(io->fd, io->stop_fd, (const char *)syms, nsyms,
				  mono_ns() + CONTROL_REPLY_DEADLINE_MS * 1000000ull) < 0);
	free(syms);
	while (!gone) {
		struct pollfd p[2] = { { .fd = io->fd, .events = POLLIN }, { .fd = io->stop_fd, .events = POLLIN } };
		bool detached = prof_session_detached(s), stop = false;

		if (poll(p, 2, PROF_DRAIN_MS) > 0) {
			char c[64];

			/* The client shut its side down (or went): the recording is over. */
			if (p[0].revents & (POLLIN | POLLHUP | POLLERR))
				stop = recv(io->fd, c, sizeof(c), MSG_DONTWAIT) <= 0;
			if (p[1].revents)
				stop = true; /* the VMM is stopping: the domain has ended */
		}
		while ((n = prof_session_drain(s, buf, PROF_BUF)) > 0 && !gone)
			gone = send_all(io->fd, -1, (const char *)buf, n,
					mono_ns() + CONTROL_REPLY_DEADLINE_MS * 1000000ull) < 0;
		if (stop || detached || domain_ended(d))
			break;
	}
	/* Room for every vCPU's counters and KVM statistics, and the end record after them. */
	if (prof_session_finish_size(s) > cap) {
		uint8_t *big = realloc(buf, prof_session_finish_size(s));

		if (big) {
			buf = big;
			cap = prof_session_finish_size(s);
		}
	}
	n = prof_session_finish(s, buf, cap);
	if (!gone)
		(void)send_all(io->fd, -1, (const char *)buf, n, mono_ns() + CONTROL_REPLY_DEADLINE_MS * 1000000ull);
	free(buf);
}

/* The vCPUs' counters for `xenith top`. */
static void serve_stats(struct domain *d, const struct conn_io *io)
{
	char *buf = malloc(CONTROL_DISKS_MAX);
	int n = buf ? prof_stats_json(d, buf, CONTROL_DISKS_MAX) : -1;

	if (n < 0)
		reply_error(io, "cannot write the domain's counters");
	else
		reply_text(io, buf, (size_t)n);
	free(buf);
}

/* Carries out a validated request; true when fd was handed over (console). */
/*
 * `xenith save`: the stream goes to the descriptor that came with the
 * request.  ctl_lock is taken again here, for the whole save: no pause,
 * restart or second save gets in between.  Without keep the domain is
 * destroyed once its stream is whole (and synced, for a file).
 */
static void serve_save(struct domain *d, const struct conn_io *io, bool keep)
{
	struct reloc_save_stats st;
	struct errbuf eb = { "" };
	char buf[512];
	int r, n;

	if (io->passed_fd < 0) {
		reply_error(io, "save needs the stream's descriptor passed with the request (SCM_RIGHTS); "
			    "`xenith save NAME FILE` does that");
		return;
	}
	if (!lock_ctl(d, io))
		return;
	r = reloc_save(d, io->passed_fd, keep, &st, &eb);
	pthread_mutex_unlock(&d->ctl_lock);
	if (r < 0) {
		reply_error(io, eb.msg);
		return;
	}
	if (!keep)
		domain_kill(d, false, "saved by `xenith save` (`xenith restore FILE` brings it back)");
	n = snprintf(buf, sizeof(buf), "{\"ok\":true,\"pages\":%llu,\"zero_pages\":%llu,\"bytes\":%llu,"
		     "\"pause_ms\":%.3f,\"quiesce_ms\":%.3f,\"write_ms\":%.3f,\"paused_ms\":%.3f,"
		     "\"kept\":%s}\n", (unsigned long long)st.pages, (unsigned long long)st.zero_pages,
		     (unsigned long long)st.bytes, st.pause_ns / 1e6, st.quiesce_ns / 1e6, st.write_ns / 1e6,
		     st.paused_ns / 1e6, keep ? "true" : "false");
	reply_text(io, buf, (size_t)n);
}

/* A migration's round, as a line to the client: {"progress":{...}}. */
static void migrate_progress(void *opaque, const struct reloc_progress *p)
{
	const struct conn_io *io = opaque;
	char buf[384];
	int n = snprintf(buf, sizeof(buf), "{\"progress\":{\"round\":%u,\"final\":%s,\"pages\":%llu,"
			 "\"total_pages\":%llu,\"bytes\":%llu,\"dirty\":%llu,\"rate_mbs\":%.1f,"
			 "\"est_downtime_ms\":%.3f}}\n", p->round, p->final ? "true" : "false",
			 (unsigned long long)p->pages, (unsigned long long)p->total_pages,
			 (unsigned long long)p->bytes, (unsigned long long)p->dirty, p->rate_mbs,
			 p->est_downtime_ms);

	/* A client that went away does not stop the migration: the lines just go nowhere. */
	reply_text(io, buf, (size_t)n);
}

/*
 * `xenith migrate`: the connection to the receiver came with the request;
 * progress lines, then the reply.  On success the domain runs at the
 * receiver and is ended here.
 */
static void serve_migrate(struct domain *d, const struct conn_io *io, const struct control_request *req)
{
	struct reloc_migrate_opts o = {
		.downtime_ns = (uint64_t)(req->downtime_ms * 1e6), .max_rounds = req->max_rounds,
		.progress = migrate_progress, .opaque = (void *)io,
	};
	struct reloc_migrate_stats st;
	struct errbuf eb = { "" };
	char buf[768];
	int r, n;

	if (io->passed_fd < 0) {
		reply_error(io, "migrate needs the connection to the receiver passed with the request "
			    "(SCM_RIGHTS); `xenith migrate NAME HOST:PORT` does that");
		return;
	}
	if (!lock_ctl(d, io))
		return;
	r = reloc_migrate(d, io->passed_fd, &o, &st, &eb);
	pthread_mutex_unlock(&d->ctl_lock);
	if (r < 0) {
		reply_error(io, eb.msg);
		return;
	}
	domain_kill(d, false, "migrated by `xenith migrate`: it runs at the receiver now");
	n = snprintf(buf, sizeof(buf), "{\"ok\":true,\"rounds\":%u,\"converged\":%s,\"pages\":%llu,"
		     "\"bytes\":%llu,\"last_dirty\":%llu,\"final_dirty\":%llu,\"final_pages\":%llu,"
		     "\"swept_pages\":%llu,\"precopy_ms\":%.3f,\"stop_copy_ms\":%.3f,"
		     "\"downtime_ms\":%.3f,\"total_ms\":%.3f,\"dirty_ring\":%u,\"ring_full_exits\":%llu}\n",
		     st.rounds, st.converged ? "true" : "false",
		     (unsigned long long)st.pages, (unsigned long long)st.bytes,
		     (unsigned long long)st.last_dirty, (unsigned long long)st.final_dirty,
		     (unsigned long long)st.final_pages, (unsigned long long)st.swept_pages,
		     st.precopy_ns / 1e6, st.stop_copy_ns / 1e6, st.downtime_ns / 1e6, st.total_ns / 1e6,
		     st.dirty_ring, (unsigned long long)st.ring_full_exits);
	reply_text(io, buf, (size_t)n);
}

static bool run_request(struct domain *d, const struct conn_io *io, const struct control_request *req)
{
	struct errbuf eb = { "" };
	struct domain_info info;
	char buf[CONTROL_REPLY_MAX], *disks = NULL;
	const char *disks_err = NULL;
	bool handed_over = false;
	size_t disks_len = 0;
	int r = 0;

	/* These two never wait for ctl_lock: destroy must get through whatever else is going on. */
	switch (req->cmd) {
	case CONTROL_INFO:
		domain_get_info(d, &info);
		reply_text(io, buf, control_format_info(buf, sizeof(buf), &info,
							domain_state_name(info.state), (int)getpid()));
		return false;
	case CONTROL_DESTROY:
		domain_kill(d, false, "destroyed by the toolstack (xenith destroy)");
		reply_ok(io);
		return false;
	case CONTROL_STATS:
		serve_stats(d, io);
		return false;
	case CONTROL_PROF:
		serve_prof(d, io, req->freq);
		return false;
	case CONTROL_XENSTORE: {
		/* The store has its own lock and outlives restarts: no ctl_lock, as info. */
		char err[256];
		size_t len = 0;
		char *rep = xenstore_reply(d, req->path, &len, err, sizeof(err));

		if (rep)
			reply_text(io, rep, len);
		else
			reply_error(io, err);
		free(rep);
		return false;
	}
	case CONTROL_XENSTORE_WRITE:
		r = xsdomain_write(d, req->path, req->value);
		if (r < 0) {
			snprintf(buf, sizeof(buf), "xenstore-write %.200s: %s", req->path,
				 r == -ENOTCONN ? "this domain has no xenstore" : strerror(-r));
			reply_error(io, buf);
		} else {
			reply_ok(io);
		}
		return false;
	default:
		break;
	}
	if (!lock_ctl(d, io))
		return false;
	switch (req->cmd) {
	case CONTROL_PAUSE:
		r = domain_pause(d, &eb);
		break;
	case CONTROL_UNPAUSE:
		r = reloc_release(d, &eb); /* a migration's hold first, if any */
		if (r == 0)
			r = domain_unpause(d, &eb);
		break;
	case CONTROL_SAVE:
		pthread_mutex_unlock(&d->ctl_lock);
		serve_save(d, io, req->keep);
		return false;
	case CONTROL_MIGRATE:
		pthread_mutex_unlock(&d->ctl_lock);
		serve_migrate(d, io, req);
		return false;
	case CONTROL_SHUTDOWN:
		r = domain_request_shutdown(d, req->reboot ? XENITH_CONTROL_REBOOT
							   : XENITH_CONTROL_POWEROFF, &eb);
		break;
	case CONTROL_MEMMAP:
		disks = memmap_reply(d, &disks_len, &disks_err);
		pthread_mutex_unlock(&d->ctl_lock);
		if (disks)
			reply_text(io, disks, disks_len);
		else
			reply_error(io, disks_err);
		free(disks);
		return false;
	case CONTROL_DISKS:
	case CONTROL_DEVICES:
		disks = list_reply(d, req->cmd == CONTROL_DEVICES, &disks_len, &disks_err);
		pthread_mutex_unlock(&d->ctl_lock);
		if (disks)
			reply_text(io, disks, disks_len);
		else
			reply_error(io, disks_err);
		free(disks);
		return false;
	case CONTROL_CONSOLE:
		/*
		 * One reply: a refusal, or {"ok":true} followed by the history and
		 * live output.  Only console requests add clients, under ctl_lock,
		 * so a slot seen free here is still free at console_attach().
		 */
		if (console_full(&d->console)) {
			pthread_mutex_unlock(&d->ctl_lock);
			reply_error(io, "too many console clients attached");
			return false;
		}
		reply_ok(io);
		handed_over = console_attach(&d->console, io->fd) == 0;
		pthread_mutex_unlock(&d->ctl_lock);
		return handed_over;
	default:
		r = errbuf_set(&eb, EINVAL, "command %s is not handled", control_cmd_name(req->cmd));
		break;
	}
	pthread_mutex_unlock(&d->ctl_lock);
	if (r < 0)
		reply_error(io, eb.msg);
	else
		reply_ok(io);
	return false;
}

static bool serve(struct domain *d, const struct conn_io *io, int r, const char *line, size_t len);

bool control_serve_connection(struct domain *d, int fd, int stop_fd)
{
	struct conn_io io = { fd, stop_fd, -1 };
	char line[CONTROL_REQUEST_MAX + 2];
	size_t len = 0;
	int r = read_line(fd, stop_fd, line, CONTROL_REQUEST_MAX + 1, &len,
			  mono_ns() + CONTROL_REQUEST_DEADLINE_MS * 1000000ull, &io.passed_fd);
	bool handed_over = serve(d, &io, r, line, len);

	if (io.passed_fd >= 0)
		close(io.passed_fd); /* a save's stream, or one a request had no use for */
	return handed_over;
}

static bool serve(struct domain *d, const struct conn_io *io, int r, const char *line, size_t len)
{
	struct control_request req;
	char err[256];

	switch (r) {
	case 0:
		break;
	case -E2BIG:
		reply_error(io, CONTROL_ERR_TOO_LONG);
		return false;
	case -ETIMEDOUT:
		reply_error(io, "no complete request line within " CONTROL_STR(CONTROL_REQUEST_DEADLINE_MS)
			    " ms; send one JSON object and a newline at once");
		return false;
	case -EPIPE:
		reply_error(io, "the request ended without a newline");
		return false;
	default:
		return false; /* stopped, or the connection broke */
	}
	if (control_parse_request(line, len, &req, err, sizeof(err)) < 0) {
		reply_error(io, err);
		return false;
	}
	return run_request(d, io, &req);
}

/* ---- the server ---- */

struct conn {
	struct control_server *s;
	int fd;
	pthread_t thread;
	bool started;      /* a thread runs or ran in this slot and was not joined (accept thread only) */
	bool done;         /* its thread is finished with everything (under s->lock) */
};

struct control_server {
	struct domain *d;
	int listen_fd;
	int stop_pipe[2];  /* written once at stop and never read: readable for every poller */
	pthread_t thread;
	pthread_mutex_t lock;
	struct conn conns[CONTROL_MAX_CONNECTIONS];
	char path[PATH_MAX];
};

static int peer_uid(int fd, uid_t *uid)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return -errno;
	*uid = cr.uid;
	return 0;
}

/* The other end may be trusted: our own euid, or root. */
static bool uid_trusted(uid_t uid)
{
	return uid == geteuid() || uid == 0;
}

/* A reply from the accept thread, which must never wait for a client. */
static void refuse(int fd, const char *msg)
{
	char buf[512];
	size_t n = control_format_error(buf, sizeof(buf), msg);

	(void)!send(fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
}

static void *conn_thread(void *arg)
{
	struct conn *c = arg;
	struct control_server *s = c->s;

	if (!control_serve_connection(s->d, c->fd, s->stop_pipe[0]))
		close(c->fd);
	pthread_mutex_lock(&s->lock);
	c->done = true;
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* A free slot, joining threads that have finished; NULL when all are busy. */
static struct conn *free_slot(struct control_server *s)
{
	struct conn *found = NULL;

	for (unsigned i = 0; i < CONTROL_MAX_CONNECTIONS; i++) {
		struct conn *c = &s->conns[i];
		bool done;

		if (c->started) {
			pthread_mutex_lock(&s->lock);
			done = c->done;
			pthread_mutex_unlock(&s->lock);
			if (!done)
				continue;
			pthread_join(c->thread, NULL);
			c->started = false;
		}
		if (!found)
			found = c;
	}
	return found;
}

static void serve_new(struct control_server *s, int fd)
{
	char msg[160];
	struct conn *c;
	uid_t uid = (uid_t)-1;
	int r = peer_uid(fd, &uid);

	if (r < 0) {
		close(fd);
		return;
	}
	if (!uid_trusted(uid)) {
		snprintf(msg, sizeof(msg), "uid %u may not control this domain: its VMM runs as uid %u "
			 "and serves only that uid and root", (unsigned)uid, (unsigned)geteuid());
		refuse(fd, msg);
		return;
	}
	c = free_slot(s);
	if (!c) {
		refuse(fd, CONTROL_ERR_BUSY);
		return;
	}
	c->s = s;
	c->fd = fd;
	c->done = false;
	r = pthread_create(&c->thread, NULL, conn_thread, c);
	if (r) {
		snprintf(msg, sizeof(msg), "the VMM cannot start a thread for this request: %s",
			 strerror(r));
		refuse(fd, msg);
		return;
	}
	c->started = true;
}

static void *accept_thread(void *arg)
{
	struct control_server *s = arg;

	confine_thread(CONFINE_CONTROL); /* per-client threads: the same, first thing */
	for (;;) {
		struct pollfd p[2] = { { .fd = s->listen_fd, .events = POLLIN },
				       { .fd = s->stop_pipe[0], .events = POLLIN } };
		int fd;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0) {
			serve_new(s, fd);
			continue;
		}
		/* Out of descriptors: the pending client stays queued; wait, do not spin. */
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			poll(&p[1], 1, 100);
	}
	return NULL;
}

int control_server_start(struct domain *d, const char *dir, struct control_server **out,
			 struct errbuf *eb)
{
	struct control_server *s = calloc(1, sizeof(*s));
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int r;

	if (!s)
		return errbuf_set(eb, ENOMEM, "out of memory");
	s->d = d;
	s->listen_fd = s->stop_pipe[0] = s->stop_pipe[1] = -1;
	if (snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/%s.sock", dir, d->cfg.name) >=
	    (int)sizeof(addr.sun_path)) {
		free(s);
		return errbuf_set(eb, ENAMETOOLONG, "control socket path in %s is too long; use a "
				  "shorter --run-dir", dir);
	}
	snprintf(s->path, sizeof(s->path), "%s", addr.sun_path);
	pthread_mutex_init(&s->lock, NULL);
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0) {
		r = errbuf_set(eb, errno, "control socket: %s", strerror(errno));
		goto fail;
	}
	if (bind(s->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		r = errbuf_set(eb, errno, "control socket %s: %s", s->path, strerror(errno));
		s->path[0] = 0; /* not ours to remove */
		goto fail;
	}
	if (listen(s->listen_fd, 2 * CONTROL_MAX_CONNECTIONS) < 0) {
		r = errbuf_set(eb, errno, "control socket %s: %s", s->path, strerror(errno));
		goto fail;
	}
	if (pipe2(s->stop_pipe, O_CLOEXEC) < 0) {
		r = errbuf_set(eb, errno, "pipe: %s", strerror(errno));
		goto fail;
	}
	r = pthread_create(&s->thread, NULL, accept_thread, s);
	if (r) {
		r = errbuf_set(eb, r, "control thread: %s", strerror(r));
		goto fail;
	}
	*out = s;
	return 0;
fail:
	if (s->stop_pipe[0] >= 0) {
		close(s->stop_pipe[0]);
		close(s->stop_pipe[1]);
	}
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		if (s->path[0])
			unlink(s->path);
	}
	pthread_mutex_destroy(&s->lock);
	free(s);
	return r;
}

void control_server_stop(struct control_server *s)
{
	if (!s)
		return;
	/* Wakes the accept thread and every connection thread in a read or a reply. */
	(void)!write(s->stop_pipe[1], "x", 1);
	pthread_join(s->thread, NULL);
	/* The accept thread is gone: the slots are ours to read. */
	for (unsigned i = 0; i < CONTROL_MAX_CONNECTIONS; i++)
		if (s->conns[i].started)
			pthread_join(s->conns[i].thread, NULL);
	close(s->stop_pipe[0]);
	close(s->stop_pipe[1]);
	close(s->listen_fd);
	unlink(s->path);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* ---- the client ---- */

int control_connect(const char *dir, const char *name, int *fd_out, struct errbuf *eb)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	uid_t uid = (uid_t)-1;
	int fd, r;

	if (!control_name_ok(name))
		return errbuf_set(eb, EINVAL, "'%s' is not a domain name (letters, digits, '_', '.' "
				  "and '-', not starting with '-' or '.')", name);
	if (snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/%s.sock", dir, name) >=
	    (int)sizeof(addr.sun_path))
		return errbuf_set(eb, ENAMETOOLONG, "control socket path in %s is too long", dir);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return errbuf_set(eb, errno, "socket: %s", strerror(errno));
	/*
	 * Non-blocking: a VMM that accepts nobody (stopped, stuck) with a full
	 * listen queue would hold a blocking connect forever.  A Unix socket's
	 * connect then fails with EAGAIN, to be tried again.
	 */
	for (uint64_t end = mono_ns() + CONTROL_CONNECT_TIMEOUT_MS * 1000000ull;;) {
		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
			break;
		if (errno == EINTR || (errno == EAGAIN && mono_ns() < end)) {
			if (errno == EAGAIN)
				usleep(20000);
			continue;
		}
		int err = errno;

		close(fd);
		if (err == EAGAIN)
			return errbuf_set(eb, ETIMEDOUT, "domain '%s' does not take connections: its VMM's "
					  "queue at %s has been full for %d s (the VMM is stopped or stuck)", name,
					  addr.sun_path, CONTROL_CONNECT_TIMEOUT_MS / 1000);
		if (err == ENOENT || err == ECONNREFUSED)
			return errbuf_set(eb, ENOENT, "no running domain named '%s' (run directory %s; "
					  "`xenith list` shows the running ones)", name, dir);
		return errbuf_set(eb, err, "cannot reach domain '%s' at %s: %s", name, addr.sun_path,
				  strerror(err));
	}
	r = peer_uid(fd, &uid);
	if (r < 0) {
		close(fd);
		return errbuf_set(eb, -r, "cannot tell who serves %s: %s", addr.sun_path, strerror(-r));
	}
	if (!uid_trusted(uid)) {
		close(fd);
		return errbuf_set(eb, EPERM, "refusing %s: it is served by uid %u, not by you (uid %u) "
				  "or root; another user may be posing as domain '%s'", addr.sun_path,
				  (unsigned)uid, (unsigned)geteuid(), name);
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		r = -errno;
		close(fd);
		return errbuf_set(eb, -r, "%s: %s", addr.sun_path, strerror(-r));
	}
	*fd_out = fd;
	return 0;
}

int control_call_timeout(int fd, const char *request, char *reply_buf, size_t size, int timeout_ms,
			 struct errbuf *eb)
{
	uint64_t deadline = mono_ns() + (uint64_t)timeout_ms * 1000000ull;
	size_t len = strlen(request), got;
	char line[CONTROL_REQUEST_MAX + 2];
	int r;

	if (len > CONTROL_REQUEST_MAX)
		return errbuf_set(eb, E2BIG, "request longer than %d bytes", CONTROL_REQUEST_MAX);
	if (size < 2)
		return errbuf_set(eb, EINVAL, "no room for a reply");
	memcpy(line, request, len);
	line[len++] = '\n';
	r = send_all(fd, -1, line, len, deadline);
	if (r < 0)
		return errbuf_set(eb, -r, "sending to the VMM: %s", strerror(-r));
	r = read_line(fd, -1, reply_buf, size - 1, &got, deadline, NULL);
	if (r == -ETIMEDOUT)
		return errbuf_set(eb, ETIMEDOUT, "no reply from the VMM within %d s", timeout_ms / 1000);
	if (r == -E2BIG)
		return errbuf_set(eb, E2BIG, "the VMM's reply is longer than %zu bytes", size - 2);
	if (r < 0)
		return errbuf_set(eb, -r, "no reply from the VMM: %s",
				  r == -EPIPE ? "it closed the connection" : strerror(-r));
	return 0;
}

int control_send_fd(int fd, const char *request, int pass_fd, struct errbuf *eb)
{
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int))];
	} ctl;
	size_t len = strlen(request);
	struct iovec iov = { .iov_base = (void *)request, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.space,
			      .msg_controllen = sizeof(ctl.space) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	uint64_t deadline = mono_ns() + 5000000000ull;
	char line[CONTROL_REQUEST_MAX + 2];
	int r;

	if (len == 0 || len > CONTROL_REQUEST_MAX)
		return errbuf_set(eb, E2BIG, "request of %zu bytes (1 to %d)", len, CONTROL_REQUEST_MAX);
	/* The descriptor rides on the request's first byte; the rest follows with its newline. */
	memset(ctl.space, 0, sizeof(ctl.space));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
	for (;;) {
		ssize_t k = sendmsg(fd, &msg, MSG_NOSIGNAL);

		if (k == 1)
			break;
		if (k < 0 && errno == EAGAIN && wait_fd(fd, POLLOUT, -1, deadline) == 0)
			continue;
		if (k < 0 && errno == EINTR)
			continue;
		return errbuf_set(eb, k < 0 ? errno : EIO, "sending to the VMM: %s",
				  k < 0 ? strerror(errno) : "nothing sent");
	}
	memcpy(line, request + 1, len - 1);
	line[len - 1] = '\n';
	r = send_all(fd, -1, line, len, deadline);
	if (r < 0)
		return errbuf_set(eb, -r, "sending to the VMM: %s", strerror(-r));
	return 0;
}

/*
 * As read_line, but takes nothing past the newline (MSG_PEEK first): a
 * migration's progress lines and its reply may arrive in one segment.
 */
static int read_one_line(int fd, char *buf, size_t max, size_t *len, uint64_t deadline)
{
	size_t n = 0;

	while (n < max) {
		char *nl;
		ssize_t k;
		int r = wait_fd(fd, POLLIN, -1, deadline);

		if (r < 0)
			return r;
		k = recv(fd, buf + n, max - n, MSG_DONTWAIT | MSG_PEEK);
		if (k == 0)
			return -EPIPE;
		if (k < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno;
		}
		nl = memchr(buf + n, '\n', (size_t)k);
		if (nl)
			k = nl - (buf + n) + 1;
		k = recv(fd, buf + n, (size_t)k, MSG_DONTWAIT); /* what was peeked, up to the newline */
		if (k <= 0)
			return k == 0 ? -EPIPE : -errno;
		n += (size_t)k;
		if (buf[n - 1] == '\n') {
			buf[n - 1] = 0;
			*len = n - 1;
			return 0;
		}
	}
	return -E2BIG;
}

int control_read_reply(int fd, char *reply_buf, size_t size, int timeout_ms, struct errbuf *eb)
{
	size_t got;
	int r;

	if (size < 2)
		return errbuf_set(eb, EINVAL, "no room for a reply");
	r = read_one_line(fd, reply_buf, size - 1, &got, mono_ns() + (uint64_t)timeout_ms * 1000000ull);
	if (r == -ETIMEDOUT)
		return errbuf_set(eb, ETIMEDOUT, "no reply from the VMM within %d s", timeout_ms / 1000);
	if (r == -E2BIG)
		return errbuf_set(eb, E2BIG, "the VMM's reply is longer than %zu bytes", size - 2);
	if (r < 0)
		return errbuf_set(eb, -r, "no reply from the VMM: %s",
				  r == -EPIPE ? "it closed the connection" : strerror(-r));
	return 0;
}

int control_call_fd(int fd, const char *request, int pass_fd, char *reply_buf, size_t size, int timeout_ms,
		    struct errbuf *eb)
{
	int r = control_send_fd(fd, request, pass_fd, eb);

	return r < 0 ? r : control_read_reply(fd, reply_buf, size, timeout_ms, eb);
}

int control_call(int fd, const char *request, char *reply_buf, size_t size, struct errbuf *eb)
{
	return control_call_timeout(fd, request, reply_buf, size, CALL_TIMEOUT_MS, eb);
}
