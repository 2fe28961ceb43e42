// SPDX-License-Identifier: MIT
/*
 * The privilege side of confinement (confine.h): inherited descriptors,
 * no-new-privileges, the jail (a private mount namespace whose root holds
 * only the domain's disks) and the drop to an unprivileged uid/gid.
 */
#include "confine.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "confine_priv.h"
#include "disklock.h"

#define JAIL_OLD_ROOT "/.oldroot"
#define PATHS_MAX 16

struct confine_state confine = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

static struct {
	bool drop;
	uid_t uid;
	gid_t gid;
	char user[64];
	bool jail;
	bool jailed, old_root_attached;
	bool test_no_pivot;           /* XENITH_TEST_JAIL_NO_PIVOT=1: the rootfs way, on any host */
	int devnull;
	char cwd[PATH_MAX];
	struct { char path[PATH_MAX]; bool ro; struct stat st; } paths[PATHS_MAX];
	unsigned nr_paths;
} priv = { .devnull = -1 };

/* A decimal id below (uid_t)-1 (which means "no change" to setresuid); false otherwise. */
static bool parse_id(const char *s, unsigned long *out)
{
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return false;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return !errno && !*end && *out < (unsigned long)(uid_t)-1;
}

int confine_resolve_user(const char *spec, const char *passwd, uid_t *uid, gid_t *gid, struct errbuf *eb)
{
	unsigned long u, g;
	char line[1024];
	const char *colon = strchr(spec, ':');
	FILE *f;

	if (isdigit((unsigned char)spec[0])) {
		char us[32];

		if (!colon || (size_t)(colon - spec) >= sizeof(us))
			goto bad;
		memcpy(us, spec, (size_t)(colon - spec));
		us[colon - spec] = 0;
		if (!parse_id(us, &u) || !parse_id(colon + 1, &g))
			goto bad;
		*uid = (uid_t)u;
		*gid = (gid_t)g;
		return 0;
	}
	f = fopen(passwd, "re");
	if (!f)
		return errbuf_set(eb, errno, "user = %s: cannot read %s: %s (or give UID:GID)", spec, passwd,
				  strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		/* name:password:uid:gid:...; a field may be empty (strsep, not strtok) */
		char *p = line, *name = strsep(&p, ":"), *pw = strsep(&p, ":"), *us = strsep(&p, ":"),
		     *gs = strsep(&p, ":\n");

		if (!pw || !us || !gs || strcmp(name, spec))
			continue;
		fclose(f);
		if (!parse_id(us, &u) || !parse_id(gs, &g))
			return errbuf_set(eb, EINVAL, "user = %s: %s gives it uid '%s' and gid '%s', not "
					  "numbers below 4294967295; fix the entry or give UID:GID", spec, passwd,
					  us, gs);
		*uid = (uid_t)u;
		*gid = (gid_t)g;
		return 0;
	}
	fclose(f);
	return errbuf_set(eb, ENOENT, "user = %s: no such user in %s (give a name from it, or UID:GID)",
			  spec, passwd);
bad:
	return errbuf_set(eb, EINVAL, "user = %s: must be a user name or UID:GID (e.g. 65534:65534)", spec);
}

/* "UID:GID", or a name looked up in /etc/passwd (no NSS: the VMM is a static binary). */
static int resolve_user(const char *spec, uid_t *uid, gid_t *gid, struct errbuf *eb)
{
	return confine_resolve_user(spec, "/etc/passwd", uid, gid, eb);
}

/* Descriptors inherited from whoever started us: none of them is ours to keep, but keep (if above 2). */
static void close_inherited(int keep)
{
	DIR *d;
	struct dirent *de;

	if (keep > 2) {
		if ((keep == 3 || syscall(SYS_close_range, 3u, (unsigned)keep - 1, 0u) == 0) &&
		    syscall(SYS_close_range, (unsigned)keep + 1, ~0u, 0u) == 0)
			return;
	} else if (syscall(SYS_close_range, 3u, ~0u, 0u) == 0) {
		return;
	}
	d = opendir("/proc/self/fd");
	if (!d)
		return;
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);

		if (fd > 2 && fd != dirfd(d) && fd != keep)
			close(fd);
	}
	closedir(d);
}

int confine_prepare(const struct confine_opts *o, struct errbuf *eb)
{
	const char *t = getenv("XENITH_TEST_HOOKS");
	int r;

	if (o->mode == CONFINE_OFF)
		return 0;
	confine.test_hook = t && !strcmp(t, "1");
	t = getenv("XENITH_TEST_JAIL_NO_PIVOT");
	priv.test_no_pivot = t && !strcmp(t, "1");
	if (o->user && *o->user) {
		if (geteuid() != 0)
			return errbuf_set(eb, EPERM, "user = %s: only a VMM started as root can switch to "
					  "another user (this one runs as uid %u); leave user unset", o->user,
					  (unsigned)geteuid());
		r = resolve_user(o->user, &priv.uid, &priv.gid, eb);
		if (r < 0)
			return r;
		if (priv.uid == 0)
			return errbuf_set(eb, EINVAL, "user = %s is root: that drops nothing; name an "
					  "unprivileged user (or leave user unset)", o->user);
		priv.drop = true;
		snprintf(priv.user, sizeof(priv.user), "%s", o->user);
	}
	if (o->jail && geteuid() != 0)
		return errbuf_set(eb, EPERM, "jail = 1 needs xenith run to start as root (a mount namespace "
				  "and pivot_root); it runs as uid %u", (unsigned)geteuid());
	priv.jail = o->jail;
	if (!getcwd(priv.cwd, sizeof(priv.cwd)))
		snprintf(priv.cwd, sizeof(priv.cwd), "/");
	if (o->mode == CONFINE_PROCESS) {
		close_inherited(o->keep_fd);
		/*
		 * A standard descriptor we were started without gets /dev/null
		 * now: else the next file opened (/dev/null below, guest memory,
		 * a disk reopened on reboot) would take its number, and the
		 * console would write guest text into it as stdout.
		 */
		for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; fd++) {
			int n;

			if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
				continue;
			n = open("/dev/null", O_RDWR); /* the lowest free number: fd */
			if (n < 0)
				return errbuf_set(eb, errno, "/dev/null for descriptor %d: %s", fd, strerror(errno));
			if (n != fd) {
				dup2(n, fd);
				close(n);
			}
		}
		priv.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (priv.devnull < 0)
			return errbuf_set(eb, errno, "/dev/null: %s", strerror(errno));
	}
	/* Nothing this process or its children exec can gain privileges (setuid, file caps). */
	if ((o->mode == CONFINE_PROCESS || o->seccomp) && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return errbuf_set(eb, errno, "prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
	if (o->seccomp) {
		r = confine_seccomp_prepare(o->bench, confine.test_hook, eb);
		if (r < 0)
			return r;
	}
	confine.mode = o->mode;
	confine.seccomp = o->seccomp;
	pthread_mutex_lock(&confine.lock);
	confine.phase = o->mode == CONFINE_PROCESS ? CONFINE_PHASE_ARMED : CONFINE_PHASE_ACTIVE;
	pthread_mutex_unlock(&confine.lock);
	return 0;
}

int confine_add_path(const char *path, bool ro, const struct stat *opened, struct errbuf *eb)
{
	char abs[PATH_MAX];

	/* Bound at its own path in the jail's tmpfs: ".." would climb out of it before pivot_root. */
	if (priv.jail && (!strcmp(path, "..") || !strncmp(path, "../", 3) || strstr(path, "/../") ||
			  (strlen(path) >= 3 && !strcmp(path + strlen(path) - 3, "/.."))))
		return errbuf_set(eb, EINVAL, "jail: disk path %s has a '..' component; give it without "
				  "one (realpath %s)", path, path);

	/* A relative path is reopened relative to the working directory, which the jail keeps. */
	if (path[0] != '/' && snprintf(abs, sizeof(abs), "%s/%s", priv.cwd, path) >= (int)sizeof(abs))
		return errbuf_set(eb, ENAMETOOLONG, "confinement: %s/%s is too long", priv.cwd, path);
	if (path[0] != '/')
		path = abs;
	for (unsigned i = 0; i < priv.nr_paths; i++) {
		if (!strcmp(priv.paths[i].path, path)) {
			priv.paths[i].ro &= ro;
			return 0;
		}
	}
	if (priv.nr_paths == PATHS_MAX)
		return errbuf_set(eb, ENOSPC, "confinement: more than %d files to keep", PATHS_MAX);
	snprintf(priv.paths[priv.nr_paths].path, PATH_MAX, "%s", path);
	priv.paths[priv.nr_paths].st = *opened;
	priv.paths[priv.nr_paths++].ro = ro;
	return 0;
}

const char *confine_host_path(const char *path, char *buf, size_t size)
{
	if (!priv.old_root_attached)
		return path;
	snprintf(buf, size, "%s%s", JAIL_OLD_ROOT, path);
	return buf;
}

/* mkdir -p of path's parents under root. */
static int make_parents(const char *root, const char *path)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s%s", root, path);
	for (char *s = p + strlen(root) + 1; (s = strchr(s, '/')); s++) {
		*s = 0;
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	return 0;
}

/* Binds the file we hold open (not whatever the path names by now) at the same path in the jail. */
/*
 * Binds path at the same path under root; it must still be the file the
 * domain opened at start (opened): a path replaced in between (by a link
 * to another file) is refused, not bound into the jail.
 */
static int bind_into(const char *root, const char *path, bool ro, const struct stat *opened,
		     struct errbuf *eb)
{
	char target[PATH_MAX], src[64];
	unsigned long flags = MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NOEXEC;
	struct stat st;
	int fd, tfd, r = 0;

	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = errbuf_set(eb, errno, "jail: %s: %s", path, strerror(errno));
		goto out;
	}
	if (!disk_same_file(&st, opened)) {
		r = errbuf_set(eb, ESTALE, "jail: %s is no longer the file the domain opened at start "
			       "(replaced or moved since); not binding it into the jail", path);
		goto out;
	}
	if (make_parents(root, path) < 0) {
		r = errbuf_set(eb, errno, "jail: making the directories of %s: %s", path, strerror(errno));
		goto out;
	}
	snprintf(target, sizeof(target), "%s%s", root, path);
	tfd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (tfd < 0) {
		r = errbuf_set(eb, errno, "jail: mount point for %s: %s", path, strerror(errno));
		goto out;
	}
	close(tfd);
	snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);
	if (!S_ISBLK(st.st_mode))
		flags |= MS_NODEV;
	if (ro)
		flags |= MS_RDONLY;
	if (mount(src, target, NULL, MS_BIND, NULL) < 0 || mount(NULL, target, NULL, flags, NULL) < 0)
		r = errbuf_set(eb, errno, "jail: bind-mounting %s: %s", path, strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	return r;
}

int confine_enter_jail(const char *workdir, struct errbuf *eb)
{
	char old[PATH_MAX];
	int r;

	if (!priv.jail)
		return 0;
	if (unshare(CLONE_NEWNS) < 0)
		return errbuf_set(eb, errno, "jail: unshare(CLONE_NEWNS): %s", strerror(errno));
	/* Nothing we mount is seen outside, and nothing mounted outside reaches us. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return errbuf_set(eb, errno, "jail: making mounts private: %s", strerror(errno));
	if (mount("xenith-jail", workdir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "mode=0755,size=1m,nr_inodes=1024") < 0)
		return errbuf_set(eb, errno, "jail: tmpfs on %s: %s", workdir, strerror(errno));
	for (unsigned i = 0; i < priv.nr_paths; i++) {
		r = bind_into(workdir, priv.paths[i].path, priv.paths[i].ro, &priv.paths[i].st, eb);
		if (r < 0)
			return r;
	}
	snprintf(old, sizeof(old), "%s%s", workdir, JAIL_OLD_ROOT);
	if (mkdir(old, 0700) < 0)
		return errbuf_set(eb, errno, "jail: %s: %s", old, strerror(errno));
	if (priv.test_no_pivot || syscall(SYS_pivot_root, workdir, old) < 0) {
		char inner[2 * PATH_MAX];

		if (!priv.test_no_pivot && errno != EINVAL)
			return errbuf_set(eb, errno, "jail: pivot_root(%s): %s", workdir, strerror(errno));
		/*
		 * The root is the initramfs (rootfs), which pivot_root cannot move
		 * (the lab): do as switch_root does, the host's root bound under
		 * the new one until confine_process() detaches it.  The bound copy
		 * of the host's tree has the new root mounted on workdir too: off
		 * with it, so that the host's run directory shows there.
		 */
		snprintf(inner, sizeof(inner), "%s%s", old, workdir);
		if (mount("/", old, NULL, MS_BIND | MS_REC, NULL) < 0 || umount2(inner, MNT_DETACH) < 0 ||
		    chdir(workdir) < 0 || mount(workdir, "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0)
			return errbuf_set(eb, errno, "jail: moving into %s (the root is rootfs, which "
					  "pivot_root cannot move): %s", workdir, strerror(errno));
	}
	/* The working directory is there when a disk was given relative to it. */
	if (chdir(priv.cwd) < 0 && chdir("/") < 0)
		return errbuf_set(eb, errno, "jail: chdir(/): %s", strerror(errno));
	priv.jailed = priv.old_root_attached = true;
	return 0;
}

static int leave_host_root(struct errbuf *eb)
{
	if (!priv.old_root_attached)
		return 0;
	if (umount2(JAIL_OLD_ROOT, MNT_DETACH) < 0)
		return errbuf_set(eb, errno, "jail: detaching the host's root: %s", strerror(errno));
	priv.old_root_attached = false;
	rmdir(JAIL_OLD_ROOT);
	/* The VMM cannot leave files in its root; the disks are mounts of their own. */
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return errbuf_set(eb, errno, "jail: making the root read-only: %s", strerror(errno));
	return 0;
}

static int drop_user(struct errbuf *eb)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (!priv.drop)
		return 0;
	/* glibc applies each of these to every thread of the process. */
	if (setgroups(0, NULL) < 0 || setresgid(priv.gid, priv.gid, priv.gid) < 0 ||
	    setresuid(priv.uid, priv.uid, priv.uid) < 0)
		return errbuf_set(eb, errno, "user = %s: switching to uid %u gid %u: %s", priv.user,
				  (unsigned)priv.uid, (unsigned)priv.gid, strerror(errno));
	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0 || ru != priv.uid ||
	    eu != priv.uid || su != priv.uid || rg != priv.gid || eg != priv.gid || sg != priv.gid ||
	    setuid(0) == 0)
		return errbuf_set(eb, EPERM, "user = %s: the switch to uid %u did not take", priv.user,
				  (unsigned)priv.uid);
	/* A reboot reopens the disks as this user: find out now, not at the reboot. */
	for (unsigned i = 0; i < priv.nr_paths; i++) {
		int fd = open(priv.paths[i].path, (priv.paths[i].ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);

		if (fd < 0)
			return errbuf_set(eb, errno, "user = %s: uid %u gid %u cannot open %s %s: %s; a "
					  "reboot reopens disks after the switch, so give that user access",
					  priv.user, (unsigned)priv.uid, (unsigned)priv.gid, priv.paths[i].path,
					  priv.paths[i].ro ? "for reading" : "for reading and writing",
					  strerror(errno));
		close(fd);
	}
	return 0;
}

static void set_phase(enum confine_phase p)
{
	pthread_mutex_lock(&confine.lock);
	if (confine.phase == CONFINE_PHASE_ARMED)
		confine.phase = p;
	pthread_cond_broadcast(&confine.cond);
	pthread_mutex_unlock(&confine.lock);
}

void confine_abandon(void)
{
	set_phase(CONFINE_PHASE_ABANDONED);
}

int confine_process(struct errbuf *eb)
{
	int r;

	if (confine.mode != CONFINE_PROCESS)
		return 0;
	r = leave_host_root(eb);
	/* Nothing reads standard input: it points nowhere rather than at a terminal or a pipe. */
	if (r == 0 && priv.devnull >= 0) {
		if (dup2(priv.devnull, STDIN_FILENO) < 0)
			r = errbuf_set(eb, errno, "stdin: %s", strerror(errno));
		close(priv.devnull);
		priv.devnull = -1;
	}
	if (r == 0)
		r = drop_user(eb);
	if (r == 0 && confine.seccomp)
		r = confine_seccomp_process(eb);
	set_phase(r == 0 ? CONFINE_PHASE_ACTIVE : CONFINE_PHASE_ABANDONED);
	return r;
}
