/* SPDX-License-Identifier: MIT */
/*
 * What a process holds, read from /proc (and KVM's debugfs when mounted):
 * the soak suite samples a VMM with it and judges the trend of each
 * figure (bench/trend.h).  Cheap: a few small files and one directory.
 */
#ifndef XENITH_BENCH_PROCSAMPLE_H
#define XENITH_BENCH_PROCSAMPLE_H

#include <stdbool.h>
#include <sys/types.h>

enum proc_metric {
	PM_FDS,              /* open file descriptors: entries of /proc/PID/fd */
	PM_FDS_KVM_VM,       /* ... that are KVM VMs (anon_inode:kvm-vm) */
	PM_FDS_KVM_VCPU,     /* ... KVM vCPUs (anon_inode:kvm-vcpu:N) */
	PM_FDS_MEMFD,        /* ... memfds (guest memory) */
	PM_FDS_IO_URING,     /* ... io_uring instances */
	PM_FDS_EVENTFD,      /* ... eventfds (kicks, ioeventfds) */
	PM_THREADS,          /* threads, io_uring's kernel workers left out */
	PM_IOU_WORKERS,      /* io_uring's kernel worker threads (iou-wrk-*, iou-sqp-*) */
	PM_MAPS,             /* memory mappings: lines of /proc/PID/maps */
	PM_RSS_KIB,          /* VmRSS */
	PM_RSS_ANON_KIB,     /* RssAnon: the heap and stacks, not guest memory */
	PM_RSS_SHMEM_KIB,    /* RssShmem: mostly guest memory (memfd) the guest has touched */
	PM_KERNEL_VMS,       /* VMs KVM still holds for this process, -1: unknown (no debugfs); KVM names
			      * them TID-FD after the creating thread: VMs made off the main thread are missed */
	PM_MEM_AVAILABLE_KIB,/* the host's MemAvailable */
	PM_COUNT,
};

struct proc_sample {
	long v[PM_COUNT];
};

struct proc_metric_info {
	const char *name; /* as in result documents */
	const char *unit;
	bool host;        /* a host-wide figure, not the process's */
};

extern const struct proc_metric_info proc_metrics[PM_COUNT];

/* Samples pid (and the host); 0, or -errno when the process is gone. */
int proc_sample(pid_t pid, struct proc_sample *s);

/* True when KVM's debugfs (/sys/kernel/debug/kvm) can be read: PM_KERNEL_VMS is known. */
bool proc_kvm_debugfs(void);

#endif
