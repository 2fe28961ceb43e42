// SPDX-License-Identifier: MIT
/*
 * The run directory: NAME.lock and NAME.sock per domain, ids/N.lock per
 * domain id.  Every path here is inside a directory that fs_private_dir()
 * accepted (the caller's, mode 0700, below directories no other user can
 * write), and every file is opened without following links and checked
 * before it is written, so nothing Xenith writes or removes can be
 * redirected to a file that is not its own.
 */
#include "control.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "xenith/abi.h"

int rundir_resolve(const char *override, char *out, size_t size, struct errbuf *eb)
{
	const char *env = getenv("XENITH_RUN_DIR"), *xdg = getenv("XDG_RUNTIME_DIR");
	char want[PATH_MAX], ids[PATH_MAX], canon[PATH_MAX];
	int r;

	if (override && *override)
		snprintf(want, sizeof(want), "%s", override);
	else if (env && *env)
		snprintf(want, sizeof(want), "%s", env);
	else if (geteuid() == 0)
		snprintf(want, sizeof(want), "/run/xenith");
	else if (xdg && *xdg)
		snprintf(want, sizeof(want), "%s/xenith", xdg);
	else
		snprintf(want, sizeof(want), "/tmp/xenith-%u", (unsigned)geteuid());
	r = fs_private_dir(want, out, size, eb);
	if (r == 0) {
		snprintf(ids, sizeof(ids), "%s/ids", out);
		r = fs_private_dir(ids, canon, sizeof(canon), eb);
	}
	if (r < 0 && eb) {
		char msg[sizeof(eb->msg)];

		memcpy(msg, eb->msg, sizeof(msg));
		r = errbuf_set(eb, -r, "run directory: %s (--run-dir or XENITH_RUN_DIR choose another)",
			       msg);
	}
	return r < 0 ? r : 0;
}

/*
 * Opens path as a lock file of ours: created 0600 if missing, never through
 * a symbolic link, only a regular file that the caller owns and that has no
 * other name (a hard link would make "ours" someone else's file).  1 when
 * it was unlinked under us (try again), 0 with *fd_out, or -errno.
 */
static int open_lock_file(const char *path, int *fd_out, struct errbuf *eb)
{
	struct stat st;
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600);

	if (fd < 0) {
		if (errno == ELOOP)
			return errbuf_set(eb, ELOOP, "%s is a symbolic link; Xenith's lock files never "
					  "are (one could make it write to the file the link names): "
					  "remove it", path);
		return errbuf_set(eb, errno, "cannot open %s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) < 0) {
		close(fd);
		return errbuf_set(eb, errno, "cannot check %s: %s", path, strerror(errno));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return errbuf_set(eb, EINVAL, "%s is not a regular file (mode %06o); remove it", path,
				  (unsigned)st.st_mode);
	}
	if (st.st_uid != geteuid()) {
		close(fd);
		return errbuf_set(eb, EPERM, "%s belongs to uid %u, not to you (uid %u); remove it",
				  path, (unsigned)st.st_uid, (unsigned)geteuid());
	}
	if (st.st_nlink == 0) {
		close(fd);
		return 1; /* a releasing VMM removed it between our open and fstat */
	}
	if (st.st_nlink > 1) {
		close(fd);
		return errbuf_set(eb, EMLINK, "%s has %lu names (hard links): it may be another "
				  "file than a lock of ours; remove it", path, (unsigned long)st.st_nlink);
	}
	*fd_out = fd;
	return 0;
}

/*
 * Opens and locks path.  The lock is only ours if the path still names the
 * file we locked: a releasing VMM unlinks it while holding the lock.
 * -EEXIST (no message) when another process holds it.
 */
static int lock_path(const char *path, int *fd_out, struct errbuf *eb)
{
	for (int tries = 0; tries < 100; tries++) {
		struct stat a, b;
		int fd = -1, r = open_lock_file(path, &fd, eb);

		if (r < 0)
			return r;
		if (r > 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			int err = errno;

			close(fd);
			if (err == EWOULDBLOCK)
				return -EEXIST;
			return errbuf_set(eb, err, "cannot lock %s: %s", path, strerror(err));
		}
		if (fstat(fd, &a) == 0 && lstat(path, &b) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev) {
			*fd_out = fd;
			return 0;
		}
		close(fd); /* lost a race with an unlink: try the new file */
	}
	return errbuf_set(eb, EAGAIN, "cannot lock %s: it keeps being replaced", path);
}

/* The pid written in a lock file of ours; 0 when there is none or the file is not ours. */
static int lock_owner(const char *path)
{
	char buf[32] = "", *end;
	struct stat st;
	/* O_NONBLOCK: a FIFO in its place must not hang the caller. */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	ssize_t n = -1;
	long pid;

	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid())
		n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	pid = strtol(buf, &end, 10);
	if (end == buf || (*end && *end != '\n') || pid <= 0 || pid > INT_MAX)
		return 0;
	return (int)pid;
}

int rundir_claim_name(const char *dir, const char *name, int *lock_fd, struct errbuf *eb)
{
	char path[PATH_MAX], sock[PATH_MAX], pid[32];
	int r, fd, n;

	if (!control_name_ok(name))
		return errbuf_set(eb, EINVAL, "'%s' is not a domain name", name);
	snprintf(path, sizeof(path), "%s/%s.lock", dir, name);
	n = snprintf(sock, sizeof(sock), "%s/%s.sock", dir, name);
	if ((size_t)n >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return errbuf_set(eb, ENAMETOOLONG, "control socket path %s is longer than a Unix "
				  "socket allows (%zu bytes); use a shorter --run-dir", sock,
				  sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
	r = lock_path(path, &fd, eb);
	if (r == -EEXIST)
		return errbuf_set(eb, EEXIST, "a domain named '%s' is already running (VMM pid %d); "
				  "choose another name or `xenith destroy %s`", name, lock_owner(path),
				  name);
	if (r < 0)
		return r;
	/* Ours: a regular file with one name, locked by us. */
	/* The pid first, then the old tail goes: a reader never sees the file empty (pid 0). */
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (pwrite(fd, pid, (size_t)n, 0) != n || ftruncate(fd, n) < 0) {
		int e = errno ? errno : EIO;

		close(fd);
		return errbuf_set(eb, e, "cannot write %s: %s", path, strerror(e));
	}
	unlink(sock); /* a VMM that died without cleaning up left it */
	*lock_fd = fd;
	return 0;
}

int rundir_claim_domid(const char *dir, uint32_t *domid, int *lock_fd, struct errbuf *eb)
{
	char path[PATH_MAX];

	/* Xen reserves the ids from DOMID_FIRST_RESERVED (0x7ff0) up: the store refuses them as a guest's. */
	for (uint32_t id = 1; id < XENITH_DOMID_SELF; id++) {
		int r;

		snprintf(path, sizeof(path), "%s/ids/%u.lock", dir, id);
		r = lock_path(path, lock_fd, eb);
		if (r == 0) {
			*domid = id;
			return 0;
		}
		if (r != -EEXIST)
			return r;
	}
	return errbuf_set(eb, ENOSPC, "no free domain id in %s: ids 1 to %u are all taken (Xen reserves "
			  "%#x and up)", dir, XENITH_DOMID_SELF - 1, XENITH_DOMID_SELF);
}

int rundir_claim_domid_exact(const char *dir, uint32_t domid, int *lock_fd, struct errbuf *eb)
{
	char path[PATH_MAX];
	int r;

	if (domid == 0 || domid >= XENITH_DOMID_SELF)
		return errbuf_set(eb, EINVAL, "domain id %u is not a guest's (1 to %u)", domid,
				  XENITH_DOMID_SELF - 1);
	snprintf(path, sizeof(path), "%s/ids/%u.lock", dir, domid);
	r = lock_path(path, lock_fd, eb);
	if (r == -EEXIST)
		return errbuf_set(eb, EEXIST, "domain id %u, which the saved guest knows itself by, is taken "
				  "by a running domain in %s (the original of a `xenith save --keep`?); restore "
				  "it once that one is gone, or in another run directory (--run-dir)", domid, dir);
	return r;
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
		struct stat st;

		if (len < 6 || len - 5 >= sizeof(name) || strcmp(de->d_name + len - 5, ".sock"))
			continue;
		memcpy(name, de->d_name, len - 5);
		name[len - 5] = 0;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		/* Only sockets of ours are domains. */
		if (!control_name_ok(name) || lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode) ||
		    st.st_uid != geteuid())
			continue;
		/*
		 * A socket left by a VMM that was killed is not removed here: a
		 * new run of the name may claim it and bind a fresh socket between
		 * our look at the lock and an unlink.  That run removes it, holding
		 * the name's lock (rundir_claim_name).
		 */
		if (!live_lock(dir, name))
			continue;
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
