// SPDX-License-Identifier: MIT
#include "control.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "confine.h"
#include "domain.h"
#include "fsutil.h"
#include "json.h"

#define REQUEST_MAX 4096

int rundir_resolve(const char *override, char *out, size_t size, struct errbuf *eb)
{
	const char *env = getenv("XENITH_RUN_DIR"), *xdg = getenv("XDG_RUNTIME_DIR");
	int r;

	if (override && *override)
		snprintf(out, size, "%s", override);
	else if (env && *env)
		snprintf(out, size, "%s", env);
	else if (geteuid() == 0)
		snprintf(out, size, "/run/xenith");
	else if (xdg && *xdg)
		snprintf(out, size, "%s/xenith", xdg);
	else
		snprintf(out, size, "/tmp/xenith-%u", (unsigned)geteuid());
	r = fs_mkdir_p(out, 0700);
	if (r == 0) {
		char ids[PATH_MAX];

		snprintf(ids, sizeof(ids), "%s/ids", out);
		r = fs_mkdir_p(ids, 0700);
	}
	if (r < 0)
		return errbuf_set(eb, -r, "run directory %s: %s (set another with --run-dir or "
				  "XENITH_RUN_DIR)", out, strerror(-r));
	return 0;
}

/*
 * Opens and locks path.  The lock is only ours if the path still names the
 * file we locked: a releasing VMM unlinks it while holding the lock.
 */
static int lock_path(const char *path, int *fd_out)
{
	for (int tries = 0; tries < 100; tries++) {
		struct stat a, b;
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

		if (fd < 0)
			return -errno;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			int err = errno;

			close(fd);
			return err == EWOULDBLOCK ? -EEXIST : -err;
		}
		if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev) {
			*fd_out = fd;
			return 0;
		}
		close(fd); /* lost a race with an unlink: try the new file */
	}
	return -EAGAIN;
}

static int lock_owner(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? atoi(buf) : 0;
}

int rundir_claim_name(const char *dir, const char *name, int *lock_fd, struct errbuf *eb)
{
	char path[PATH_MAX], sock[PATH_MAX], pid[32];
	int r, fd, n;

	snprintf(path, sizeof(path), "%s/%s.lock", dir, name);
	n = snprintf(sock, sizeof(sock), "%s/%s.sock", dir, name);
	if ((size_t)n >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return errbuf_set(eb, ENAMETOOLONG, "control socket path %s is longer than a Unix "
				  "socket allows (%zu bytes); use a shorter --run-dir", sock,
				  sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
	r = lock_path(path, &fd);
	if (r == -EEXIST)
		return errbuf_set(eb, EEXIST, "a domain named '%s' is already running (VMM pid %d); "
				  "choose another name or `xenith destroy %s`", name, lock_owner(path),
				  name);
	if (r < 0)
		return errbuf_set(eb, -r, "cannot lock %s: %s", path, strerror(-r));
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
		close(fd);
		return errbuf_set(eb, errno, "cannot write %s: %s", path, strerror(errno));
	}
	unlink(sock); /* a VMM that died without cleaning up left it */
	*lock_fd = fd;
	return 0;
}

int rundir_claim_domid(const char *dir, uint32_t *domid, int *lock_fd, struct errbuf *eb)
{
	char path[PATH_MAX];

	for (uint32_t id = 1; id < 32768; id++) {
		int r;

		snprintf(path, sizeof(path), "%s/ids/%u.lock", dir, id);
		r = lock_path(path, lock_fd);
		if (r == 0) {
			*domid = id;
			return 0;
		}
		if (r != -EEXIST)
			return errbuf_set(eb, -r, "cannot lock %s: %s", path, strerror(-r));
	}
	return errbuf_set(eb, ENOSPC, "no free domain id below 32768 in %s", dir);
}

void rundir_release_name(const char *dir, const char *name, int lock_fd)
{
	char path[PATH_MAX];

	if (lock_fd < 0)
		return;
	snprintf(path, sizeof(path), "%s/%s.sock", dir, name);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s.lock", dir, name);
	unlink(path);
	close(lock_fd);
}

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

static void *server_thread(void *arg)
{
	struct control_server *s = arg;
	char line[REQUEST_MAX];

	confine_thread(CONFINE_CONTROL); /* per-client threads: the same, first thing */
	for (;;) {
		struct pollfd p[2] = { { .fd = s->listen_fd, .events = POLLIN },
				       { .fd = s->stop_pipe[0], .events = POLLIN } };
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
	int fd;

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

/* A VMM is alive when the pid in NAME.lock exists (flock-probing would steal the lock). */
static bool live_lock(const char *dir, const char *name)
{
	char path[PATH_MAX];
	int pid;

	snprintf(path, sizeof(path), "%s/%s.lock", dir, name);
	pid = lock_owner(path);
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

int control_list(const char *dir, struct control_entry **entries, size_t *n, struct errbuf *eb)
{
	DIR *dp = opendir(dir);
	struct dirent *de;
	struct control_entry *v = NULL;
	size_t cap = 0;

	*n = 0;
	if (!dp)
		return errbuf_set(eb, errno, "cannot read run directory %s: %s", dir, strerror(errno));
	while ((de = readdir(dp))) {
		size_t len = strlen(de->d_name);
		char name[64], path[PATH_MAX];

		if (len < 6 || len - 5 >= sizeof(name) || strcmp(de->d_name + len - 5, ".sock"))
			continue;
		memcpy(name, de->d_name, len - 5);
		name[len - 5] = 0;
		if (!live_lock(dir, name)) {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			unlink(path); /* left by a VMM that was killed */
			continue;
		}
		if (*n == cap) {
			struct control_entry *nv;

			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				closedir(dp);
				return errbuf_set(eb, ENOMEM, "out of memory");
			}
			v = nv;
		}
		snprintf(v[(*n)++].name, sizeof(v->name), "%s", name);
	}
	closedir(dp);
	*entries = v;
	return 0;
}
