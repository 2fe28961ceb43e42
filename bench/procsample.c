// SPDX-License-Identifier: MIT
#include "procsample.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KVM_DEBUGFS "/sys/kernel/debug/kvm"

const struct proc_metric_info proc_metrics[PM_COUNT] = {
	[PM_FDS] = { "fds", "fds", false },
	[PM_FDS_KVM_VM] = { "fds-kvm-vm", "fds", false },
	[PM_FDS_KVM_VCPU] = { "fds-kvm-vcpu", "fds", false },
	[PM_FDS_MEMFD] = { "fds-memfd", "fds", false },
	[PM_FDS_IO_URING] = { "fds-io-uring", "fds", false },
	[PM_FDS_EVENTFD] = { "fds-eventfd", "fds", false },
	[PM_THREADS] = { "threads", "threads", false },
	[PM_IOU_WORKERS] = { "io-uring-workers", "threads", false },
	[PM_MAPS] = { "mappings", "maps", false },
	[PM_RSS_KIB] = { "rss", "KiB", false },
	[PM_RSS_ANON_KIB] = { "rss-anon", "KiB", false },
	[PM_RSS_SHMEM_KIB] = { "rss-shmem", "KiB", false },
	[PM_KERNEL_VMS] = { "kernel-vms", "VMs", false },
	[PM_MEM_AVAILABLE_KIB] = { "mem-available", "KiB", true },
};

_Static_assert(sizeof(proc_metrics) / sizeof(proc_metrics[0]) == PM_COUNT, "one entry per metric");

static bool starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* Kinds of the descriptors in /proc/PID/fd, by where each link points. */
static int count_fds(pid_t pid, struct proc_sample *s)
{
	char dir[64], path[64 + 256], target[256];
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		ssize_t n;

		if (e->d_name[0] == '.')
			continue;
		s->v[PM_FDS]++;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			continue; /* closed meanwhile: counted as it was when the directory was read */
		target[n] = 0;
		if (!strcmp(target, "anon_inode:kvm-vm"))
			s->v[PM_FDS_KVM_VM]++;
		else if (starts(target, "anon_inode:kvm-vcpu"))
			s->v[PM_FDS_KVM_VCPU]++;
		else if (starts(target, "/memfd:"))
			s->v[PM_FDS_MEMFD]++;
		else if (!strcmp(target, "anon_inode:[io_uring]"))
			s->v[PM_FDS_IO_URING]++;
		else if (!strcmp(target, "anon_inode:[eventfd]"))
			s->v[PM_FDS_EVENTFD]++;
	}
	closedir(d);
	return 0;
}

/* Threads, io_uring's kernel workers (named iou-wrk-TID, iou-sqp-PID) counted apart. */
static int count_threads(pid_t pid, struct proc_sample *s)
{
	char dir[64], path[64 + 256 + 8], comm[64];
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		FILE *f;
		bool worker = false;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/comm", dir, e->d_name);
		f = fopen(path, "r");
		if (f) {
			worker = fgets(comm, sizeof(comm), f) && (starts(comm, "iou-wrk-") || starts(comm, "iou-sqp-"));
			fclose(f);
		}
		s->v[worker ? PM_IOU_WORKERS : PM_THREADS]++;
	}
	closedir(d);
	return 0;
}

static long field_kib(const char *path, const char *field)
{
	char line[256];
	long v = -1;
	size_t len = strlen(field);
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, len)) {
			v = strtol(line + len, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static long count_lines(const char *path)
{
	char buf[8192];
	long n = 0;
	ssize_t got;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while ((got = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < got; i++)
			n += buf[i] == '\n';
	close(fd);
	return n;
}

bool proc_kvm_debugfs(void)
{
	return access(KVM_DEBUGFS, R_OK | X_OK) == 0;
}

/* KVM names each VM's debugfs directory PID-FD after the process that created it. */
static long kernel_vms(pid_t pid)
{
	char prefix[32];
	struct dirent *e;
	long n = 0;
	DIR *d = opendir(KVM_DEBUGFS);

	if (!d)
		return -1;
	snprintf(prefix, sizeof(prefix), "%d-", (int)pid);
	while ((e = readdir(d)))
		n += starts(e->d_name, prefix);
	closedir(d);
	return n;
}

int proc_sample(pid_t pid, struct proc_sample *s)
{
	char path[64];
	int r;

	memset(s, 0, sizeof(*s));
	r = count_fds(pid, s);
	if (r == 0)
		r = count_threads(pid, s);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	s->v[PM_MAPS] = count_lines(path);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	s->v[PM_RSS_KIB] = field_kib(path, "VmRSS:");
	s->v[PM_RSS_ANON_KIB] = field_kib(path, "RssAnon:");
	s->v[PM_RSS_SHMEM_KIB] = field_kib(path, "RssShmem:");
	s->v[PM_KERNEL_VMS] = kernel_vms(pid);
	s->v[PM_MEM_AVAILABLE_KIB] = field_kib("/proc/meminfo", "MemAvailable:");
	if (s->v[PM_MAPS] < 0 || s->v[PM_RSS_KIB] < 0)
		return -ESRCH; /* it ended while we looked */
	return 0;
}
