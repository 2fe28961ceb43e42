/* SPDX-License-Identifier: MIT */
/*
 * Locks on disk images, as xl and QEMU take them: an OFD lock (fcntl
 * F_OFD_SETLK) on the whole file, exclusive for a writable disk and shared
 * for a read-only one, on a descriptor of its own that the domain keeps for
 * as long as it has the disk, reboots included.  OFD locks belong to the
 * open file description: the block backend's descriptors (one per queue)
 * neither conflict with the lock nor drop it when they close, and two
 * domains in one process conflict as two processes do.  The kernel drops
 * the lock when the last descriptor goes, so a killed VMM leaves none.
 *
 * Block devices get the same lock on their device node, and a writable one
 * is also claimed with O_EXCL, which the kernel refuses while the device is
 * mounted or held by another exclusive user (md, dm, mkfs, another O_EXCL
 * open).  Not covered: other tools that take no lock (dd, a VMM that does
 * not lock), a partition and its whole disk, a loop device and its file,
 * two device nodes of one device in different places (locks are per
 * inode, the O_EXCL claim is per device).
 *
 * An OFD lock records no owner (/proc/locks shows pid -1), so the holder
 * is found by its "lock:" lines in /proc/PID/fdinfo; a holder that the
 * caller may not inspect (another user, without root) stays unnamed.
 */
#ifndef XENITH_HV_DISKLOCK_H
#define XENITH_HV_DISKLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

struct disk_lock {
	bool open;        /* fd and st are valid */
	bool held;        /* the OFD lock is ours */
	bool ro;
	int fd;
	int excl_fd;      /* a writable block device's O_EXCL claim, else -1 */
	struct stat st;
};

/*
 * Opens path (read-only when ro) without locking it, and checks that it is
 * a regular file or a block device: 0, or -errno with the reason in msg
 * ("disk N: ..." with index).
 */
int disk_lock_open(struct disk_lock *l, const char *path, bool ro, unsigned index, char *msg,
		   size_t msglen);
/*
 * Takes the lock (and a writable block device's O_EXCL claim): 0, or
 * -EAGAIN (another lock is there: msg says which kind and who holds it),
 * -EBUSY (the device is claimed), -errno.
 */
int disk_lock_take(struct disk_lock *l, const char *path, unsigned index, char *msg, size_t msglen);
/*
 * Lets go of the lock (and a writable block device's O_EXCL claim) but
 * keeps the image open: a migration hands the image to its receiver at the
 * stop-and-copy, and takes it back with disk_lock_take if the receiver
 * never starts the domain.  No-op without the lock.
 */
void disk_lock_drop(struct disk_lock *l);
/* Closes everything: the lock goes.  Copes with a lock never opened. */
void disk_lock_release(struct disk_lock *l);

/* The same file (device and inode) or, for block devices, the same device. */
bool disk_same_file(const struct stat *a, const struct stat *b);

/*
 * Who holds a lock on st's file that conflicts with a write lock
 * (want_write) or a read lock: "pid 1234 (xenith run --name web ...),
 * domain 'web'", up to three of them, into buf.  Returns how many holders
 * were found (0: none visible to this process).
 */
int disk_lock_holders(const struct stat *st, bool want_write, char *buf, size_t size);

#endif
