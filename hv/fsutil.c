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

int fs_mkdir_p(const char *path, mode_t leaf_mode)
{
	char tmp[PATH_MAX];

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, leaf_mode) < 0 && errno != EEXIST)
		return -errno;
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
