// SPDX-License-Identifier: MIT
#include "fsutil.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int mkdir_p(const char *path, mode_t parent_mode, mode_t leaf_mode)
{
	char tmp[PATH_MAX];

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, parent_mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, leaf_mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int fs_mkdir_p(const char *path, mode_t leaf_mode)
{
	return mkdir_p(path, 0755, leaf_mode);
}

/*
 * A directory above a private one is safe when no other user can rename
 * or replace what is in it: owned by root or the caller, and writable by
 * nobody else unless sticky (/tmp: others may add entries, not move ours).
 */
static int check_ancestors(const char *real, const char *path, struct errbuf *eb)
{
	char tmp[PATH_MAX];
	uid_t me = geteuid();

	snprintf(tmp, sizeof(tmp), "%s", real);
	for (char *slash = strrchr(tmp, '/'); slash; slash = strrchr(tmp, '/')) {
		struct stat st;

		if (slash == tmp)
			slash[1] = 0; /* the root directory itself */
		else
			*slash = 0;
		if (lstat(tmp, &st) < 0)
			return errbuf_set(eb, errno, "%s: cannot check %s above it: %s", path, tmp,
					  strerror(errno));
		if (!S_ISDIR(st.st_mode))
			return errbuf_set(eb, ENOTDIR, "%s: %s above it is not a directory", path, tmp);
		if (st.st_uid != 0 && st.st_uid != me)
			return errbuf_set(eb, EPERM, "%s: the directory %s above it belongs to uid %u, "
					  "which could replace it; use a directory that only you (uid %u) "
					  "and root control", path, tmp, (unsigned)st.st_uid, (unsigned)me);
		if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
			return errbuf_set(eb, EPERM, "%s: the directory %s above it has mode %04o: "
					  "other users can write to it (and it is not sticky like /tmp), "
					  "so they could replace it; use a directory that only you and root "
					  "can write to", path, tmp, (unsigned)(st.st_mode & 07777));
		if (slash == tmp)
			break;
	}
	return 0;
}

int fs_private_dir(const char *dir, char *canon, size_t size, struct errbuf *eb)
{
	char path[PATH_MAX], real[PATH_MAX];
	struct stat st, rst;
	uid_t me = geteuid();
	size_t len;
	int r;

	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
		return errbuf_set(eb, ENAMETOOLONG, "%s: path too long", dir);
	/* "link/" would make lstat follow the link */
	for (len = strlen(path); len > 1 && path[len - 1] == '/'; len--)
		path[len - 1] = 0;
	r = mkdir_p(path, 0700, 0700);
	if (r < 0)
		return errbuf_set(eb, -r, "cannot create %s: %s", path, strerror(-r));
	if (lstat(path, &st) < 0)
		return errbuf_set(eb, errno, "%s: %s", path, strerror(errno));
	if (S_ISLNK(st.st_mode))
		return errbuf_set(eb, ELOOP, "%s is a symbolic link; it must be a real directory "
				  "(a link could point anywhere, also where another user wants it): "
				  "remove the link or use the directory it names", path);
	if (!S_ISDIR(st.st_mode))
		return errbuf_set(eb, ENOTDIR, "%s is not a directory (mode %06o); remove it or "
				  "choose another path", path, (unsigned)st.st_mode);
	if (st.st_uid != me)
		return errbuf_set(eb, EPERM, "%s belongs to uid %u, not to you (uid %u): another "
				  "user may have created it to take over your domains; remove it (as "
				  "its owner or root) or use a directory of your own", path,
				  (unsigned)st.st_uid, (unsigned)me);
	if (st.st_mode & 077)
		return errbuf_set(eb, EPERM, "%s has mode %04o: others can reach into it; it must "
				  "be 0700 (`chmod 700 %s`)", path, (unsigned)(st.st_mode & 07777), path);
	if (!realpath(path, real))
		return errbuf_set(eb, errno, "%s: %s", path, strerror(errno));
	/* The same directory we checked (not swapped in between), by a path without links. */
	if (lstat(real, &rst) < 0 || rst.st_dev != st.st_dev || rst.st_ino != st.st_ino)
		return errbuf_set(eb, EAGAIN, "%s changed while it was checked; try again", path);
	r = check_ancestors(real, path, eb);
	if (r < 0)
		return r;
	if (snprintf(canon, size, "%s", real) >= (int)size)
		return errbuf_set(eb, ENAMETOOLONG, "%s: its full path %s is too long", path, real);
	return 0;
}

FILE *fs_atomic_open(const char *path, char *tmp, size_t size, struct errbuf *eb)
{
	FILE *f;
	int fd;

	if (snprintf(tmp, size, "%s.partial-XXXXXX", path) >= (int)size) {
		errbuf_set(eb, ENAMETOOLONG, "path too long: %s", path);
		return NULL;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		errbuf_set(eb, errno, "cannot write next to %s: %s", path, strerror(errno));
		return NULL;
	}
	f = fdopen(fd, "w");
	if (!f) {
		errbuf_set(eb, errno, "fdopen: %s", strerror(errno));
		close(fd);
		unlink(tmp);
	}
	return f;
}

int fs_atomic_commit(FILE *f, const char *tmp, const char *path, struct errbuf *eb)
{
	int err = 0;

	if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0)
		err = errno ? errno : EIO;
	if (fclose(f) != 0 && !err)
		err = errno;
	if (err) {
		unlink(tmp);
		return errbuf_set(eb, err, "writing %s: %s", tmp, strerror(err));
	}
	/* mkstemp creates 0600; results are for everyone who can read the directory */
	chmod(tmp, 0644);
	if (rename(tmp, path) < 0) {
		err = errno;
		unlink(tmp);
		return errbuf_set(eb, err, "cannot move %s to %s: %s", tmp, path, strerror(err));
	}
	return 0;
}

int fs_map_file(const char *path, const char *what, uint64_t max_size, void **map, size_t *size,
		struct errbuf *eb)
{
	struct stat st;
	void *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errbuf_set(eb, errno, "cannot open %s %s: %s", what, path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return errbuf_set(eb, EINVAL, "%s %s is not a regular file", what, path);
	}
	if (st.st_size == 0 || (uint64_t)st.st_size > max_size) {
		close(fd);
		return errbuf_set(eb, EINVAL, "%s %s is %lld bytes; expected 1 byte to %llu MiB", what,
				  path, (long long)st.st_size, (unsigned long long)(max_size >> 20));
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return errbuf_set(eb, errno, "cannot map %s %s: %s", what, path, strerror(errno));
	*map = p;
	*size = (size_t)st.st_size;
	return 0;
}
