// SPDX-License-Identifier: MIT
#include "control.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "domain.h"
#include "json.h"

#define REQUEST_MAX 4096

struct control_server {
	struct domain *d;
	int listen_fd;
	int stop_pipe[2];
	pthread_t thread;
	char path[PATH_MAX];
};

static void reply(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply(int fd, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	(void)!send(fd, buf, (size_t)n, MSG_NOSIGNAL);
}

static void reply_error(int fd, const char *msg)
{
	char esc[1024];

	json_escape(esc, sizeof(esc), msg);
	reply(fd, "{\"ok\":false,\"error\":\"%s\"}", esc);
}

/* Handles one request; returns true when fd was handed over (console). */
static bool handle_request(struct control_server *s, int fd, const char *line)
{
	struct domain *d = s->d;
	struct errbuf eb = { "" };
	char cmd[32], arg[32], name[2 * XENITH_NAME_MAX];
	struct domain_info info;
	int r;

	if (!json_is_object(line) || json_get_string(line, "cmd", cmd, sizeof(cmd)) < 0) {
		reply_error(fd, "a request is one JSON object with a \"cmd\" string, e.g. {\"cmd\":\"info\"}");
		return false;
	}
	if (!strcmp(cmd, "info")) {
		domain_get_info(d, &info);
		json_escape(name, sizeof(name), info.name);
		reply(fd, "{\"ok\":true,\"name\":\"%s\",\"id\":%u,\"state\":\"%s\",\"vcpus\":%u,"
		      "\"vcpus_up\":%u,\"memory_mib\":%llu,\"uptime_s\":%.3f,\"restarts\":%u,\"pid\":%d}",
		      name, info.domid, domain_state_name(info.state), info.vcpus, info.vcpus_up,
		      (unsigned long long)info.memory_mib, info.uptime_s, info.restarts, (int)getpid());
		return false;
	}
	if (!strcmp(cmd, "pause") || !strcmp(cmd, "unpause")) {
		r = cmd[0] == 'p' ? domain_pause(d, &eb) : domain_unpause(d, &eb);
		if (r < 0)
			reply_error(fd, eb.msg);
		else
			reply(fd, "{\"ok\":true}");
		return false;
	}
	if (!strcmp(cmd, "shutdown")) {
		uint32_t req = XENITH_CONTROL_POWEROFF;

		if (json_get_string(line, "reason", arg, sizeof(arg)) == 0) {
			if (!strcmp(arg, "reboot")) {
				req = XENITH_CONTROL_REBOOT;
			} else if (strcmp(arg, "poweroff")) {
				reply_error(fd, "shutdown reason must be \"poweroff\" or \"reboot\"");
				return false;
			}
		}
		if (domain_request_shutdown(d, req, &eb) < 0)
			reply_error(fd, eb.msg);
		else
			reply(fd, "{\"ok\":true}");
		return false;
	}
	if (!strcmp(cmd, "destroy")) {
		domain_kill(d, false, "destroyed by the toolstack (xenith destroy)");
		reply(fd, "{\"ok\":true}");
		return false;
	}
	if (!strcmp(cmd, "disks")) {
		static const char head[] = "{\"ok\":true,\"disks\":";
		const size_t hl = sizeof(head) - 1;
		char *buf = malloc(CONTROL_DISKS_MAX);
		int n = buf ? domain_disks_json(d, buf + hl, CONTROL_DISKS_MAX - hl - 2) : -1;

		if (n < 0) {
			reply_error(fd, buf ? "the disk list is longer than CONTROL_DISKS_MAX"
					    : "out of memory for the disk list");
		} else {
			memcpy(buf, head, hl);
			memcpy(buf + hl + (size_t)n, "}\n", 2);
			(void)!send(fd, buf, hl + (size_t)n + 2, MSG_NOSIGNAL);
		}
		free(buf);
		return false;
	}
	if (!strcmp(cmd, "console")) {
		reply(fd, "{\"ok\":true}");
		if (console_attach(&d->console, fd) < 0) {
			reply_error(fd, "too many console clients attached");
			return false;
		}
		return true;
	}
	snprintf(eb.msg, sizeof(eb.msg), "unknown command '%.32s'; known: info, disks, pause, unpause, "
		 "shutdown, destroy, console", cmd);
	reply_error(fd, eb.msg);
	return false;
}

/* Reads one line with a deadline, so a silent client cannot stall the server. */
static int read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;

	while (n + 1 < size) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t k;

		if (poll(&p, 1, 2000) <= 0)
			return -ETIMEDOUT;
		k = recv(fd, buf + n, size - 1 - n, 0);
		if (k <= 0)
			return -EPIPE;
		n += (size_t)k;
		buf[n] = 0;
		char *nl = memchr(buf, '\n', n);

		if (nl) {
			*nl = 0;
			return 0;
		}
	}
	return -E2BIG;
}

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

static void *server_thread(void *arg)
{
	struct control_server *s = arg;
	char line[REQUEST_MAX];

	for (;;) {
		struct pollfd p[2] = { { .fd = s->listen_fd, .events = POLLIN },
				       { .fd = s->stop_pipe[0], .events = POLLIN } };
		uid_t uid = (uid_t)-1;
		int fd, r;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		if (peer_uid(fd, &uid) < 0 || !uid_trusted(uid)) {
			char msg[160];

			snprintf(msg, sizeof(msg), "uid %u may not control this domain: its VMM runs as "
				 "uid %u and serves only that uid and root", (unsigned)uid,
				 (unsigned)geteuid());
			reply_error(fd, msg);
			close(fd);
			continue;
		}
		r = read_line(fd, line, sizeof(line));
		if (r == -E2BIG)
			reply_error(fd, "request longer than 4096 bytes");
		if (r == 0) {
			bool handed_over;

			/* Not while a restart rebuilds the domain's memory and vCPUs. */
			pthread_mutex_lock(&s->d->ctl_lock);
			handed_over = handle_request(s, fd, line);
			pthread_mutex_unlock(&s->d->ctl_lock);
			if (handed_over)
				continue; /* the console owns fd now */
		}
		close(fd);
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
	s->stop_pipe[0] = s->stop_pipe[1] = -1;
	if (snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/%s.sock", dir, d->cfg.name) >=
	    (int)sizeof(addr.sun_path)) {
		free(s);
		return errbuf_set(eb, ENAMETOOLONG, "control socket path in %s is too long; use a "
				  "shorter --run-dir", dir);
	}
	snprintf(s->path, sizeof(s->path), "%s", addr.sun_path);
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0) {
		r = errbuf_set(eb, errno, "control socket: %s", strerror(errno));
		goto fail;
	}
	if (bind(s->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(s->listen_fd, 16) < 0) {
		r = errbuf_set(eb, errno, "control socket %s: %s", s->path, strerror(errno));
		goto fail;
	}
	if (pipe2(s->stop_pipe, O_CLOEXEC) < 0) {
		r = errbuf_set(eb, errno, "pipe: %s", strerror(errno));
		goto fail;
	}
	r = pthread_create(&s->thread, NULL, server_thread, s);
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
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	free(s);
	return r;
}

void control_server_stop(struct control_server *s)
{
	if (!s)
		return;
	(void)!write(s->stop_pipe[1], "x", 1);
	pthread_join(s->thread, NULL);
	close(s->stop_pipe[0]);
	close(s->stop_pipe[1]);
	close(s->listen_fd);
	unlink(s->path);
	free(s);
}

int control_connect(const char *dir, const char *name, int *fd_out, struct errbuf *eb)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	uid_t uid = (uid_t)-1;
	int fd, r;

	if (snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/%s.sock", dir, name) >=
	    (int)sizeof(addr.sun_path))
		return errbuf_set(eb, ENAMETOOLONG, "control socket path in %s is too long", dir);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errbuf_set(eb, errno, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int err = errno;

		close(fd);
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
	*fd_out = fd;
	return 0;
}

int control_call(int fd, const char *request, char *reply_buf, size_t size, struct errbuf *eb)
{
	size_t len = strlen(request);
	char line[REQUEST_MAX + 2];
	int r;

	if (len > REQUEST_MAX)
		return errbuf_set(eb, E2BIG, "request too long");
	memcpy(line, request, len);
	line[len++] = '\n';
	if (send(fd, line, len, MSG_NOSIGNAL) != (ssize_t)len)
		return errbuf_set(eb, errno, "sending to the VMM: %s", strerror(errno));
	/* pause waits for the vCPUs; give a busy VMM time. */
	for (int tries = 0; tries < 15; tries++) {
		r = read_line(fd, reply_buf, size);
		if (r != -ETIMEDOUT)
			break;
	}
	if (r < 0)
		return errbuf_set(eb, -r, "no reply from the VMM: %s", strerror(-r));
	return 0;
}
