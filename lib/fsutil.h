/* SPDX-License-Identifier: MIT */
/* File-system helpers shared by the toolstack and the benchmark archive. */
#ifndef XENITH_LIB_FSUTIL_H
#define XENITH_LIB_FSUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "err.h"

/* mkdir -p: parents 0755, the last component leaf_mode; 0 or -errno. */
int fs_mkdir_p(const char *path, mode_t leaf_mode);

/*
 * Creates path (missing parents 0700, the directory 0700) or accepts it as
 * it is, only when no other user can control it: a real directory (lstat:
 * not a symbolic link) owned by the caller's euid with no group or other
 * access, below directories owned by root or the caller that nobody else
 * can write to unless they are sticky (/tmp).  canon gets its canonical
 * path (no links, no "..").  0 or -errno, with a message naming the path,
 * what was found and what to do.
 */
int fs_private_dir(const char *path, char *canon, size_t size, struct errbuf *eb);

/*
 * Atomic replacement of path: write to the FILE fs_atomic_open() returns
 * (a unique temporary next to path, its name in tmp), then
 * fs_atomic_commit() flushes, syncs and renames it over path.  Nobody ever
 * sees a partial file under path; on failure the temporary is removed.
 */
FILE *fs_atomic_open(const char *path, char *tmp, size_t size, struct errbuf *eb);
int fs_atomic_commit(FILE *f, const char *tmp, const char *path, struct errbuf *eb);

/*
 * Maps a regular file of 1 byte to max_size bytes read-only (private); what
 * names it in messages ("guest image", "initrd").  0 or -errno.
 */
int fs_map_file(const char *path, const char *what, uint64_t max_size, void **map, size_t *size,
		struct errbuf *eb);

#endif
