// SPDX-License-Identifier: MIT
/*
 * Guest memory backing and placement (membacking.h).
 *
 * Every backing is a memfd (shareable with backends through its
 * descriptor).  hugetlb takes 2 MiB pages from the host's reserved pool
 * (mmap without MAP_NORESERVE reserves them all at once, so a short pool is
 * an error here, not a SIGBUS in the guest later); thp asks shmem for huge
 * pages with MADV_HUGEPAGE, which the host's shmem_enabled setting may
 * refuse: then a warning, and 4 KiB pages.  The mapping of hugetlb and thp
 * is 2 MiB-aligned, so that huge pages can be mapped by PMD.  A NUMA binding is
 * set (mbind) before anything is faulted in.
 *
 * auto, the default, is thp where it helps and memfd where it costs.  Huge
 * pages bring guest memory closest to native (README, "Memory backing and
 * placement": first touch 2x native instead of 0.35x, matmul 0.96 to 1.03
 * instead of 0.86 to 0.94), but each 2 MiB region the guest touches at all
 * becomes resident whole: an idle minios domain of 2 MiB held 2,048 KiB
 * instead of 144 KiB.  An idle guest touches a few regions (its image, page
 * tables, the special pages), so the extra is a few MiB whatever its size:
 * at 64 MiB and up that is a few percent of the domain's memory, below it
 * the domain is a small one run by the hundred (the density suite), where
 * it would multiply host memory per domain.  Where the host gives shared
 * memory no huge pages (shmem_enabled never, Debian's default) auto is
 * memfd without a warning: the choice is documented, not a failure.
 * hugetlb is never chosen for the user: its pool is an administrator's
 * reservation.
 */
#include "membacking.h"

#include <fcntl.h>
#include <linux/memfd.h>
#include <linux/mempolicy.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define THP_DIR "/sys/kernel/mm/transparent_hugepage"

const char *mem_backing_name(enum mem_backing b)
{
	return config_backing_name(b);
}

uint64_t mem_backing_page_size(enum mem_backing b)
{
	return b == MEM_BACKING_HUGETLB ? MEM_HUGE_PAGE : 4096;
}

/* The number after `field` in a "Field: N kB"-style file, or -1. */
static long long read_field(const char *path, const char *field)
{
	char line[256];
	long long v = -1;
	size_t fl = strlen(field);
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, fl) && line[fl] == ':') {
			v = strtoll(line + fl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* The bracketed choice of a sysfs "a [b] c" setting into buf, or "" */
static void read_choice(const char *path, char *buf, size_t len)
{
	char line[256], *open, *close;
	FILE *f = fopen(path, "re");

	buf[0] = 0;
	if (!f)
		return;
	if (fgets(line, sizeof(line), f) && (open = strchr(line, '[')) && (close = strchr(open, ']'))) {
		*close = 0;
		snprintf(buf, len, "%s", open + 1);
	}
	fclose(f);
}

/*
 * Does the host give a MADV_HUGEPAGE shmem mapping PMD-sized pages?  The
 * per-size setting decides unless it is "inherit"; then the global one.
 * *setting names the file and value that decided.
 */
static bool thp_shmem_allowed(char *setting, size_t len)
{
	char v[32];

	read_choice(THP_DIR "/hugepages-2048kB/shmem_enabled", v, sizeof(v));
	if (v[0] && strcmp(v, "inherit")) {
		snprintf(setting, len, THP_DIR "/hugepages-2048kB/shmem_enabled is %s", v);
	} else {
		read_choice(THP_DIR "/shmem_enabled", v, sizeof(v));
		snprintf(setting, len, THP_DIR "/shmem_enabled is %s", v[0] ? v : "unreadable");
	}
	return !strcmp(v, "always") || !strcmp(v, "advise") || !strcmp(v, "within_size") ||
	       !strcmp(v, "force");
}

/* kB of huge pages mapped by PMD in the mapping at addr (/proc/self/smaps), or -1. */
static long long smaps_huge_kb(const void *addr)
{
	char line[256];
	unsigned long lo, hi, a = (unsigned long)addr;
	bool in = false;
	long long kb = -1;
	FILE *f = fopen("/proc/self/smaps", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
			if (in)
				break;
			in = a >= lo && a < hi;
			continue;
		}
		if (in && (!strncmp(line, "ShmemPmdMapped:", 15) || !strncmp(line, "FilePmdMapped:", 14) ||
			   !strncmp(line, "AnonHugePages:", 14)))
			kb = (kb < 0 ? 0 : kb) + strtoll(strchr(line, ':') + 1, NULL, 10);
	}
	fclose(f);
	return kb;
}

/*
 * thp: checked once per process (the first domain's first page is faulted
 * in to see it): a warning says when the host gives no huge pages.
 */
static void thp_check_once(uint8_t *mem)
{
	static atomic_bool checked;
	char setting[160];
	long long kb;

	if (atomic_exchange(&checked, true))
		return;
	if (!thp_shmem_allowed(setting, sizeof(setting))) {
		fprintf(stderr, "xenith: memory_backing = thp: the host gives shared memory no huge pages "
			"(%s; advise or always would): guest memory gets 4 KiB pages\n", setting);
		return;
	}
	*(volatile uint8_t *)mem = 0; /* the first 2 MiB: the guest's image goes there anyway */
	kb = smaps_huge_kb(mem);
	if (kb == 0)
		fprintf(stderr, "xenith: memory_backing = thp: no huge page was given to guest memory "
			"(%s, but none free or the size not allowed): guest memory gets 4 KiB pages\n",
			setting);
}

enum mem_backing mem_backing_resolve(enum mem_backing b, uint64_t size, char *why, size_t len)
{
	char setting[160];
	char dummy[1];

	if (!why) {
		why = dummy;
		len = sizeof(dummy);
	}
	why[0] = 0;
	if (b != MEM_BACKING_AUTO)
		return b;
	if (size < (uint64_t)MEM_AUTO_THP_MIN_MIB << 20) {
		snprintf(why, len, "auto: memfd, the domain has %llu MiB, under the %u MiB from which it is thp",
			 (unsigned long long)(size >> 20), MEM_AUTO_THP_MIN_MIB);
		return MEM_BACKING_MEMFD;
	}
	if (!thp_shmem_allowed(setting, sizeof(setting))) {
		snprintf(why, len, "auto: memfd, the host gives shared memory no transparent huge pages (%s)",
			 setting);
		return MEM_BACKING_MEMFD;
	}
	snprintf(why, len, "auto: thp (%llu MiB, at least %u; %s)", (unsigned long long)(size >> 20),
		 MEM_AUTO_THP_MIN_MIB, setting);
	return MEM_BACKING_THP;
}

bool mem_backing_available(enum mem_backing b, uint64_t size, char *why, size_t len)
{
	char setting[160];
	long long nfree, need;

	why[0] = 0;
	switch (b) {
	case MEM_BACKING_MEMFD:
	case MEM_BACKING_AUTO:
		return true;
	case MEM_BACKING_HUGETLB:
		nfree = read_field("/proc/meminfo", "HugePages_Free");
		need = (long long)((size + MEM_HUGE_PAGE - 1) / MEM_HUGE_PAGE);
		if (nfree >= need)
			return true;
		snprintf(why, len, "%lld huge pages of 2 MiB free, %lld needed (/proc/sys/vm/nr_hugepages)",
			 nfree < 0 ? 0 : nfree, need);
		return false;
	case MEM_BACKING_THP:
		if (thp_shmem_allowed(setting, sizeof(setting)))
			return true;
		snprintf(why, len, "no transparent huge pages for shared memory: %s", setting);
		return false;
	}
	snprintf(why, len, "unknown backing");
	return false;
}

/*
 * NUMA from sysfs and one system call (mbind), not libnuma: its
 * constructor reads /proc and sysfs at every xenith start (28 system
 * calls, about 0.2 ms of a 1 ms `xenith --help`, measured) for what only
 * numa_node needs.  The node and CPU lists are in CPU-list format.
 */
static int read_list(const char *path, struct cpu_mask *m, bool *missing)
{
	char buf[4096];
	size_t n;
	FILE *f = fopen(path, "re");

	memset(m, 0, sizeof(*m));
	*missing = !f;
	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	if (!buf[0])
		return 0; /* an empty list: a node without CPUs */
	return cpu_list_parse(buf, m);
}

int mem_numa_nodes(struct cpu_mask *nodes, struct errbuf *eb)
{
	bool missing;
	int r = read_list("/sys/devices/system/node/online", nodes, &missing);

	if (missing) {
		memset(nodes, 0, sizeof(*nodes));
		nodes->bits[0] = 1; /* a kernel without NUMA: everything is node 0 */
		return 0;
	}
	if (r < 0)
		return errbuf_set(eb, EINVAL, "cannot read the host's NUMA nodes from "
				  "/sys/devices/system/node/online");
	return 0;
}

static int check_node(int node, struct errbuf *eb)
{
	struct cpu_mask nodes;
	char list[128];
	int r = mem_numa_nodes(&nodes, eb);

	if (r < 0)
		return r;
	if (cpu_mask_test(&nodes, (unsigned)node))
		return 0;
	cpu_mask_format(&nodes, list, sizeof(list));
	return errbuf_set(eb, ENODEV, "numa_node = %d: no such node; this host's nodes: %s", node, list);
}

int mem_numa_node_cpus(int node, struct cpu_mask *cpus, struct errbuf *eb)
{
	char path[96];
	bool missing;
	int r = check_node(node, eb);

	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/cpulist", node);
	r = read_list(path, cpus, &missing);
	if (missing && node == 0) {
		/* no NUMA in this kernel: node 0 is every CPU */
		for (unsigned c = 0; c < CONFIG_CPUS_MAX && c < CPU_SETSIZE; c++)
			cpus->bits[c / 64] |= 1ull << (c % 64);
		return 0;
	}
	if (r < 0)
		return errbuf_set(eb, -r, "numa_node = %d: its CPUs (%s): %s", node, path, strerror(-r));
	return 0;
}

/* The CPUs this process may run on. */
static int allowed_cpus(struct cpu_mask *m, struct errbuf *eb)
{
	cpu_set_t set;

	memset(m, 0, sizeof(*m));
	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return errbuf_set(eb, errno, "sched_getaffinity: %s", strerror(errno));
	for (unsigned c = 0; c < CONFIG_CPUS_MAX && c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			m->bits[c / 64] |= 1ull << (c % 64);
	return 0;
}

int mem_vcpu_cpus(const struct domain_config *cfg, unsigned id, struct cpu_mask *cpus, bool *restricted,
		  struct errbuf *eb)
{
	struct cpu_mask allowed;
	char list[256];
	int r;

	*restricted = false;
	memset(cpus, 0, sizeof(*cpus));
	if (cfg->nr_vcpu_pin > 1 && cfg->nr_vcpu_pin > cfg->vcpus)
		return errbuf_set(eb, EINVAL, "vcpu_pin has %u entries for %u vCPUs: one per vCPU at most "
				  "(or a single one for all)", cfg->nr_vcpu_pin, cfg->vcpus);
	r = allowed_cpus(&allowed, eb);
	if (r < 0)
		return r;
	if (cfg->nr_vcpu_pin == 1 || id < cfg->nr_vcpu_pin) {
		if (config_vcpu_pin(cfg, cfg->nr_vcpu_pin == 1 ? 0 : id, cpus) < 0)
			return errbuf_set(eb, EINVAL, "vcpu_pin: entry %u is not a CPU list", id);
		*restricted = true;
		for (unsigned c = 0; c < CONFIG_CPUS_MAX; c++) {
			if (!cpu_mask_test(cpus, c) || cpu_mask_test(&allowed, c))
				continue;
			cpu_mask_format(&allowed, list, sizeof(list));
			return errbuf_set(eb, EINVAL, "vcpu_pin: vCPU %u: CPU %u is not one this VMM may run "
					  "on (allowed: %s)", id, c, list);
		}
		return 0;
	}
	if (cfg->numa_node < 0)
		return 0;
	r = mem_numa_node_cpus(cfg->numa_node, cpus, eb);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < CONFIG_CPUS_MAX / 64; i++)
		cpus->bits[i] &= allowed.bits[i];
	for (unsigned i = 0; i < CONFIG_CPUS_MAX / 64; i++)
		if (cpus->bits[i]) {
			*restricted = true;
			return 0;
		}
	return errbuf_set(eb, EINVAL, "numa_node = %d: none of its CPUs is one this VMM may run on",
			  cfg->numa_node);
}

/*
 * The memfd mapped at *mem, 2 MiB-aligned where huge pages need it (`align`),
 * or -errno.
 *
 * Without guards, a plain mmap: the kernel aligns a hugetlb memfd's mapping
 * itself, and a shmem one of 2 MiB or more where shmem may have huge pages,
 * so the reservation below is the fallback for a misaligned thp mapping,
 * not the rule.  It costs more than its system calls: every munmap, and the
 * MAP_FIXED over the reservation, runs the MMU notifier of every KVM VM in
 * the process (a VM registers one on the process's memory), so in a process
 * with n domains each new domain paid O(n) (the density suite's 100 domains
 * per worker: 25 us to map 2 MiB for the first domains, 50 us for the last).
 * Unbacked (test) domains need the guards and take the reservation: a
 * PROT_NONE region of size + 2 guard + 2 MiB, the memfd mapped 2 MiB-aligned
 * inside it, the slack around given back.
 */
static int map_aligned(int fd, uint64_t size, uint64_t guard, bool reserve_pages, bool align, uint8_t **mem)
{
	uint64_t total = size + 2 * guard + MEM_HUGE_PAGE;
	uint8_t *res, *start, *p;
	int flags = MAP_SHARED | MAP_FIXED | (reserve_pages ? 0 : MAP_NORESERVE);

	if (!guard) {
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, flags & ~MAP_FIXED, fd, 0);
		if (p == MAP_FAILED)
			return -errno;
		if (!align || !((uintptr_t)p & (MEM_HUGE_PAGE - 1))) {
			*mem = p;
			return 0;
		}
		munmap(p, size);
	}
	res = mmap(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED)
		return -errno;
	start = (uint8_t *)(((uintptr_t)res + guard + MEM_HUGE_PAGE - 1) & ~(uintptr_t)(MEM_HUGE_PAGE - 1));
	p = mmap(start, size, PROT_READ | PROT_WRITE, flags, fd, 0);
	if (p == MAP_FAILED) {
		int e = errno;

		munmap(res, total);
		return -e;
	}
	if (start - guard > res)
		munmap(res, (size_t)(start - guard - res));
	if (start + size + guard < res + total)
		munmap(start + size + guard, (size_t)(res + total - (start + size + guard)));
	*mem = start;
	return 0;
}

void mem_backing_unmap(uint8_t *mem, uint64_t size, uint64_t guard)
{
	if (mem)
		munmap(mem - guard, size + 2 * guard);
}

static int hugetlb_short(uint64_t size, int err, struct errbuf *eb)
{
	long long total = read_field("/proc/meminfo", "HugePages_Total");
	long long nfree = read_field("/proc/meminfo", "HugePages_Free");
	unsigned long long need = size / MEM_HUGE_PAGE;

	return errbuf_set(eb, err == ENOMEM ? ENOMEM : err, "memory_backing = hugetlb: %llu MiB of guest "
			  "memory need %llu huge pages of 2 MiB; the host has %lld free of %lld reserved: "
			  "reserve more in /proc/sys/vm/nr_hugepages (e.g. echo %lld > "
			  "/proc/sys/vm/nr_hugepages) or use memory_backing = memfd (%s)",
			  (unsigned long long)(size >> 20), need, nfree < 0 ? 0 : nfree, total < 0 ? 0 : total,
			  (total < 0 ? 0 : total) + (long long)need - (nfree < 0 ? 0 : nfree), strerror(err));
}

int mem_backing_alloc(const struct domain_config *cfg, uint64_t size, uint64_t guard, int *fd,
		      uint8_t **mem, enum mem_backing *used, struct errbuf *eb)
{
	enum mem_backing b = mem_backing_resolve(cfg->memory_backing, size, NULL, 0);
	unsigned flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
	char name[96];
	int r;

	*fd = -1;
	*mem = NULL;
	if (size % mem_backing_page_size(b))
		return errbuf_set(eb, EINVAL, "memory = %llu MiB: memory_backing = %s needs a multiple of its "
				  "page size, %llu MiB", (unsigned long long)(size >> 20), mem_backing_name(b),
				  (unsigned long long)(mem_backing_page_size(b) >> 20));
	if (cfg->numa_node >= 0) {
		r = check_node(cfg->numa_node, eb);
		if (r < 0)
			return r;
	}
	if (b == MEM_BACKING_HUGETLB)
		flags |= MFD_HUGETLB | MFD_HUGE_2MB;
	snprintf(name, sizeof(name), "xenith:%s", cfg->name);
	*fd = memfd_create(name, flags);
	if (*fd < 0) {
		r = errno;
		if (b == MEM_BACKING_HUGETLB)
			return hugetlb_short(size, r, eb);
		return errbuf_set(eb, r, "memfd_create for guest memory: %s", strerror(r));
	}
	if (ftruncate(*fd, (off_t)size) < 0) {
		r = errbuf_set(eb, errno, "sizing guest memory (%s) to %llu MiB: %s", mem_backing_name(b),
			       (unsigned long long)(size >> 20), strerror(errno));
		goto close_fd;
	}
	/*
	 * Its size is final: sealed, so that a process we hand it to (a domain
	 * switch, io/switch.c) can map it without fearing SIGBUS from a shrink.
	 */
	if (fcntl(*fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0) {
		r = errbuf_set(eb, errno, "sealing guest memory's size: %s", strerror(errno));
		goto close_fd;
	}
	/* hugetlb: no MAP_NORESERVE, so that mmap takes every page from the pool now or fails */
	r = map_aligned(*fd, size, guard, b == MEM_BACKING_HUGETLB, b != MEM_BACKING_MEMFD, mem);
	if (r < 0) {
		if (b == MEM_BACKING_HUGETLB)
			r = hugetlb_short(size, -r, eb);
		else
			r = errbuf_set(eb, -r, "mapping %llu MiB of guest memory: %s",
				       (unsigned long long)(size >> 20), strerror(-r));
		goto close_fd;
	}
	if (cfg->numa_node >= 0) {
		unsigned long mask[CONFIG_CPUS_MAX / (8 * sizeof(unsigned long))] = { 0 };
		const unsigned bits = 8 * sizeof(unsigned long);

		mask[(unsigned)cfg->numa_node / bits] |= 1ul << ((unsigned)cfg->numa_node % bits);
		/* maxnode counts one more than the mask's bits (the kernel reads maxnode - 1) */
		if (syscall(SYS_mbind, *mem, size, MPOL_BIND, mask, CONFIG_CPUS_MAX + 1, 0) < 0) {
			r = errbuf_set(eb, errno, "numa_node = %d: binding guest memory to it (mbind): %s",
				       cfg->numa_node, strerror(errno));
			goto unmap;
		}
	}
	if (b == MEM_BACKING_THP) {
		if (madvise(*mem, size, MADV_HUGEPAGE) < 0) {
			r = errbuf_set(eb, errno, "memory_backing = thp: madvise(MADV_HUGEPAGE): %s",
				       strerror(errno));
			goto unmap;
		}
		thp_check_once(*mem);
	}
	*used = b;
	return 0;
unmap:
	mem_backing_unmap(*mem, size, guard);
	*mem = NULL;
close_fd:
	close(*fd);
	*fd = -1;
	return r;
}
