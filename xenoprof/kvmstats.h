/* SPDX-License-Identifier: MIT */
/*
 * KVM's binary statistics of a VM or of one vCPU: the file a
 * KVM_GET_STATS_FD ioctl returns (Documentation/virt/kvm/api.rst).
 *
 * The file holds a header at offset 0 (struct kvm_stats_header), an id
 * string, a block of descriptors (struct kvm_stats_desc, each followed by a
 * name of header.name_size bytes) and a data block of u64 values; the
 * header gives the offsets of the other three, which need not be adjacent
 * nor in that order.  Everything but the data block is fixed for the life
 * of the fd, so kvmstats_open() reads and checks it once, and
 * kvmstats_read() is then one pread of the data block into a buffer
 * allocated at open.
 *
 * The header and descriptors come from the kernel, but they are checked as
 * if they did not: at most KVMSTATS_MAX_DESC descriptors, names of 1 to
 * KVMSTATS_MAX_NAME bytes each NUL-terminated inside them, blocks that do
 * not overlap and lie inside the file, every descriptor's values inside
 * the data block, and a data block of at most KVMSTATS_MAX_DATA bytes.
 * A descriptor whose type, unit or base this code does not know (a newer
 * kernel's) is left out of the statistics rather than misread; its bounds
 * are checked all the same.
 *
 * The statistics are numbered 0 .. kvmstats_count() - 1 in the order of
 * their descriptors.  A histogram (linear or logarithmic, several buckets)
 * is one statistic whose value is the sum of its buckets (the number of
 * events it counted).
 */
#ifndef XENITH_XENOPROF_KVMSTATS_H
#define XENITH_XENOPROF_KVMSTATS_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

/* Far above what KVM has (x86-64, Linux 6.18 with kvm_pvm: 16 for a VM, 47 for a vCPU). */
#define KVMSTATS_MAX_DESC 4096u
/* KVM uses 48 (KVM_STATS_NAME_SIZE). */
#define KVMSTATS_MAX_NAME 256u
/* KVM's data blocks are small: a vCPU's on 6.18 is 1120 bytes (44 values, three 32-bucket histograms). */
#define KVMSTATS_MAX_DATA (1u << 20)

struct kvmstats;

/*
 * Reads and checks the header, the id and every descriptor of stats_fd.
 * The fd stays the caller's: kvmstats_close() does not close it, and it
 * must stay open while s is used.  0 or -errno with a message in eb:
 * EINVAL for a malformed or truncated file, pread's errno when it fails.
 */
int kvmstats_open(int stats_fd, struct kvmstats **out, struct errbuf *eb);
/* Frees s (NULL is fine). */
void kvmstats_close(struct kvmstats *s);

/* The file's id string ("kvm-PID" for a VM, "kvm-PID/vcpu-N" for a vCPU). */
const char *kvmstats_id(const struct kvmstats *s);
/* The number of statistics; i below is 0 .. count - 1 (past it: NULL, 0 or false). */
unsigned kvmstats_count(const struct kvmstats *s);
const char *kvmstats_name(const struct kvmstats *s, unsigned i);
/* "cumulative", "instant", "peak", "linear-hist" or "log-hist". */
const char *kvmstats_type(const struct kvmstats *s, unsigned i);
/* "" (a count), "bytes", "seconds", "cycles" or "boolean". */
const char *kvmstats_unit(const struct kvmstats *s, unsigned i);
/* The value is value * base^exponent of the unit: base 10 or 2, as given. */
unsigned kvmstats_base(const struct kvmstats *s, unsigned i);
int kvmstats_exponent(const struct kvmstats *s, unsigned i);
/* A counter that only grows (a difference between two reads means something). */
bool kvmstats_is_cumulative(const struct kvmstats *s, unsigned i);
/* A histogram, read as the sum of its buckets; kvmstats_buckets() tells how many (0: not one). */
bool kvmstats_is_histogram(const struct kvmstats *s, unsigned i);
unsigned kvmstats_buckets(const struct kvmstats *s, unsigned i);

/*
 * Reads every value now, with one pread of the data block, into
 * values[kvmstats_count(s)].  0 or -errno with a message in eb (EIO: the
 * data block is shorter than it was at open).
 */
int kvmstats_read(struct kvmstats *s, uint64_t *values, struct errbuf *eb);

/* The index of the statistic called name, or -1. */
int kvmstats_find(const struct kvmstats *s, const char *name);

#endif
