// SPDX-License-Identifier: MIT
#include "disklock.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "textfilter.h"

#define MAX_NAMED 3 /* holders named in a message; the rest are counted */

int disk_lock_open(struct disk_lock *l, const char *path, bool ro, unsigned index, char *msg,
		   size_t msglen)
{
	int r;

	memset(l, 0, sizeof(*l));
	l->fd = l->excl_fd = -1;
	l->ro = ro;
	/* O_NONBLOCK: a FIFO named as a disk must not hang the open; it is refused below. */
	l->fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (l->fd < 0) {
		r = -errno;
		snprintf(msg, msglen, "disk %u: cannot open %s%s: %s", index, path,
			 ro ? " read-only" : " for reading and writing", strerror(errno));
		return r;
	}
	if (fstat(l->fd, &l->st) < 0 || !(S_ISREG(l->st.st_mode) || S_ISBLK(l->st.st_mode))) {
		snprintf(msg, msglen, "disk %u: %s is not a regular file or a block device", index, path);
		close(l->fd);
		l->fd = -1;
		return -EINVAL;
	}
	l->open = true;
	return 0;
}

bool disk_same_file(const struct stat *a, const struct stat *b)
{
	if (S_ISBLK(a->st_mode) && S_ISBLK(b->st_mode))
		return a->st_rdev == b->st_rdev;
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Reads a small /proc file; returns its length (NUL-terminated in buf), or -1. */
static ssize_t read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;

	if (fd < 0)
		return -1;
	while (n + 1 < size) {
		ssize_t k = read(fd, buf + n, size - 1 - n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	buf[n] = 0;
	return (ssize_t)n;
}

/*
 * Does one fdinfo file show a lock on (maj, min, ino) that conflicts?  Its
 * lines read "lock:\t1: OFDLCK ADVISORY  WRITE -1 fe:00:10953228 0 EOF"
 * (as /proc/locks; waiters have "->" and are not holders; FLOCK locks do
 * not conflict with fcntl locks).
 */
static bool fdinfo_holds(const char *text, unsigned maj, unsigned min, unsigned long ino, bool want_write)
{
	for (const char *p = strstr(text, "lock:"); p; p = strstr(p + 1, "\nlock:")) {
		char cls[16], kind[16], mode[16];
		unsigned lmaj, lmin;
		unsigned long lino;
		const char *eol = strchr(p + 1, '\n');
		int pid;

		if (*p == '\n')
			p++;
		if (memmem(p, eol ? (size_t)(eol - p) : strlen(p), "->", 2))
			continue;
		if (sscanf(p, "lock: %*d: %15s %15s %15s %d %x:%x:%lu", cls, kind, mode, &pid, &lmaj, &lmin,
			   &lino) != 7)
			continue;
		if (strcmp(cls, "OFDLCK") && strcmp(cls, "POSIX"))
			continue;
		if (lmaj != maj || lmin != min || lino != ino)
			continue;
		if (want_write || !strcmp(mode, "WRITE"))
			return true;
	}
	return false;
}

/* Does process pid hold such a lock on any of its descriptors? */
static bool pid_holds(const char *pid, unsigned maj, unsigned min, unsigned long ino, bool want_write)
{
	char path[64], text[8192];
	struct dirent *de;
	bool found = false;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%s/fdinfo", pid);
	dir = opendir(path);
	if (!dir)
		return false; /* gone, or not ours to inspect */
	while (!found && (de = readdir(dir)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fdinfo/%.16s", pid, de->d_name);
		if (read_small(path, text, sizeof(text)) > 0)
			found = fdinfo_holds(text, maj, min, ino, want_write);
	}
	closedir(dir);
	return found;
}

/* The domain a xenith process runs: the NAME of the run directory's NAME.lock it holds open. */
static bool xenith_domain(const char *pid, char *name, size_t size)
{
	char path[64], target[PATH_MAX], comm[32];
	struct dirent *de;
	bool found = false;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%s/comm", pid);
	if (read_small(path, comm, sizeof(comm)) <= 0 || strcmp(comm, "xenith\n"))
		return false;
	snprintf(path, sizeof(path), "/proc/%s/fd", pid);
	dir = opendir(path);
	if (!dir)
		return false;
	while (!found && (de = readdir(dir)) != NULL) {
		ssize_t n;
		char *base, *dot;

		snprintf(path, sizeof(path), "/proc/%s/fd/%.16s", pid, de->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		base = strrchr(target, '/');
		dot = strrchr(target, '.');
		if (!base || !dot || dot < base || strcmp(dot, ".lock") || dot == base + 1)
			continue;
		*dot = 0;
		*base = 0;
		if (strlen(target) >= 4 && !strcmp(target + strlen(target) - 4, "/ids"))
			continue; /* ids/N.lock: the domain id's lock, not the name's */
		text_sanitize(name, size, base + 1, strlen(base + 1), TEXT_ONE_LINE);
		found = true;
	}
	closedir(dir);
	return found;
}

/* "pid N (command line), domain 'NAME'" */
static int describe(const char *pid, char *buf, size_t size)
{
	char path[64], cmd[4096], safe[80], name[80];
	ssize_t n;
	int k;

	const char *c = cmd;

	snprintf(path, sizeof(path), "/proc/%s/cmdline", pid);
	n = read_small(path, cmd, sizeof(cmd));
	/* The program's file name, not its directory: "xenith run --name web ..." */
	for (ssize_t i = 0; i < n && cmd[i]; i++)
		if (cmd[i] == '/')
			c = cmd + i + 1;
	for (ssize_t i = 0; i < n; i++)
		if (!cmd[i])
			cmd[i] = ' ';
	while (n > 0 && cmd[n - 1] == ' ')
		cmd[--n] = 0;
	if (n <= 0)
		snprintf(cmd, sizeof(cmd), "?");
	/* Another process's command line is text we did not write. */
	text_sanitize(safe, sizeof(safe), c, strlen(c), TEXT_ONE_LINE);
	k = snprintf(buf, size, "pid %s (%s%s)", pid, safe, strlen(c) > strlen(safe) ? "..." : "");
	if ((unsigned)atoi(pid) == (unsigned)getpid())
		k = snprintf(buf, size, "pid %s (this process: another of its domains)", pid);
	else if (xenith_domain(pid, name, sizeof(name)))
		k += snprintf(buf + k, size > (size_t)k ? size - (size_t)k : 0, ", domain '%s'", name);
	return k;
}

int disk_lock_holders(const struct stat *st, bool want_write, char *buf, size_t size)
{
	unsigned maj = major(st->st_dev), min = minor(st->st_dev);
	struct dirent *de;
	size_t n = 0;
	int found = 0;
	DIR *proc;

	if (size)
		buf[0] = 0;
	proc = opendir("/proc");
	if (!proc)
		return 0;
	while ((de = readdir(proc)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]) ||
		    !pid_holds(de->d_name, maj, min, (unsigned long)st->st_ino, want_write))
			continue;
		found++;
		if (found <= MAX_NAMED && n < size) {
			if (found > 1)
				n += (size_t)snprintf(buf + n, size - n, "; ");
			if (n < size)
				n += (size_t)describe(de->d_name, buf + n, size - n);
		}
	}
	closedir(proc);
	if (found > MAX_NAMED && n < size)
		snprintf(buf + n, size - n, "; and %d more", found - MAX_NAMED);
	return found;
}

/* A traditional POSIX lock (another program's F_SETLK) names its pid itself. */
static void posix_holder(pid_t pid, char *buf, size_t size)
{
	char p[24];

	snprintf(p, sizeof(p), "%d", (int)pid);
	describe(p, buf, size);
}

int disk_lock_take(struct disk_lock *l, const char *path, unsigned index, char *msg, size_t msglen)
{
	struct flock fl = { .l_type = l->ro ? F_RDLCK : F_WRLCK, .l_whence = SEEK_SET };
	char who[400];

	for (unsigned tries = 0;; tries++) {
		struct flock q = fl;
		int found;

		if (fcntl(l->fd, F_OFD_SETLK, &fl) == 0)
			break;
		if (errno != EAGAIN && errno != EACCES) {
			int e = errno;

			snprintf(msg, msglen, "disk %u: cannot lock %s (fcntl F_OFD_SETLK): %s", index, path,
				 strerror(e));
			return -e;
		}
		/* What is in the way: a read or a write lock, and whose (OFD locks say pid -1). */
		if (fcntl(l->fd, F_OFD_GETLK, &q) == 0 && q.l_type == F_UNLCK && tries < 3)
			continue; /* it went in the meantime */
		found = disk_lock_holders(&l->st, !l->ro, who, sizeof(who));
		if (!found && q.l_pid > 0) {
			posix_holder(q.l_pid, who, sizeof(who));
			found = 1;
		}
		if (!found)
			snprintf(who, sizeof(who), "a process this user cannot inspect (OFD locks record "
				 "no pid; run as root to see which)");
		if (q.l_type == F_WRLCK)
			snprintf(msg, msglen, "disk %u: %s is locked for writing, held by %s: another domain "
				 "writes this image; end it first (ro=1 shares an image only among "
				 "read-only disks)", index, path, who);
		else
			snprintf(msg, msglen, "disk %u: %s is locked for reading (shared by ro=1 disks), held "
				 "by %s: a writable disk needs the image alone; give this disk ro=1 too, "
				 "or end those domains first", index, path, who);
		return -EAGAIN;
	}
	l->held = true;
	if (S_ISBLK(l->st.st_mode) && !l->ro) {
		struct stat st;

		/* The kernel's exclusive claim: refused while mounted or claimed by md, dm, mkfs ... */
		l->excl_fd = open(path, O_RDONLY | O_EXCL | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (l->excl_fd < 0) {
			int e = errno;

			snprintf(msg, msglen, "disk %u: cannot claim block device %s for writing (open "
				 "O_EXCL): %s%s", index, path, strerror(e),
				 e == EBUSY ? ": it is mounted, part of md/dm, or claimed by another "
				 "program; a writable disk needs the device alone (ro=1 does not claim it)" : "");
			return -e;
		}
		if (fstat(l->excl_fd, &st) < 0 || !disk_same_file(&st, &l->st)) {
			snprintf(msg, msglen, "disk %u: %s changed while it was being locked; try again", index,
				 path);
			return -ESTALE;
		}
	}
	return 0;
}

void disk_lock_drop(struct disk_lock *l)
{
	struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET };

	if (!l->held)
		return;
	if (l->excl_fd >= 0)
		close(l->excl_fd);
	l->excl_fd = -1;
	(void)fcntl(l->fd, F_OFD_SETLK, &fl);
	l->held = false;
}

void disk_lock_release(struct disk_lock *l)
{
	if (l->excl_fd >= 0 && (l->open || l->held))
		close(l->excl_fd);
	if (l->open)
		close(l->fd); /* the lock goes with its open file description */
	l->open = l->held = false;
	l->fd = l->excl_fd = -1;
}
