// SPDX-License-Identifier: MIT
/*
 * kvm tier: where a domain's memory and vCPUs are: memory_backing (memfd,
 * hugetlb, thp) seen in the VMM's /proc/PID/smaps, numa_node (memory and
 * vCPU threads on the node; a node that does not exist refused), vcpu_pin
 * (each vCPU thread's Cpus_allowed_list), and `xenith list --long`.
 *
 * hugetlb and thp need the host to give huge pages.  As root the tests make
 * it do so for their own run: a few huge pages more in
 * /proc/sys/vm/nr_hugepages, shmem_enabled = advise, each put back as it was
 * in the teardown, even after a failed assertion.  Without root, or when
 * the kernel cannot reserve the pages, the test is a skip with the reason.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "testutil.h"

#include "harness.h"

#define START(p, ...) proc_start(p, (const char *const[]){ __VA_ARGS__, NULL })
#define NR_HUGEPAGES "/proc/sys/vm/nr_hugepages"
#define SHMEM_ENABLED "/sys/kernel/mm/transparent_hugepage/shmem_enabled"
#define SHMEM_ENABLED_2M "/sys/kernel/mm/transparent_hugepage/hugepages-2048kB/shmem_enabled"

static struct proc P, Q, R;

/* Host settings a test changed, put back by the teardown. */
static char saved_nr_hugepages[32], saved_shmem_enabled[32];

static int restore_host(void **state)
{
	if (saved_nr_hugepages[0])
		test_write_text(NR_HUGEPAGES, saved_nr_hugepages);
	if (saved_shmem_enabled[0])
		test_write_text(SHMEM_ENABLED, saved_shmem_enabled);
	saved_nr_hugepages[0] = saved_shmem_enabled[0] = 0;
	return harness_teardown(state);
}

static long meminfo(const char *field)
{
	char buf[8192], *p;

	test_read_text("/proc/meminfo", buf, sizeof(buf));
	p = strstr(buf, field);
	return p ? strtol(p + strlen(field) + 1, NULL, 10) : -1;
}

/* The bracketed value of a sysfs choice ("always [never]") into out; "" if none. */
static void sysfs_choice(const char *path, char *out, size_t size)
{
	char buf[256], *open, *close;

	out[0] = 0;
	test_read_text(path, buf, sizeof(buf));
	if ((open = strchr(buf, '[')) && (close = strchr(open, ']'))) {
		*close = 0;
		snprintf(out, size, "%s", open + 1);
	}
}

/* At least n free 2 MiB pages, reserving more as root; false with the reason in why. */
static bool ensure_hugepages(long n, char *why, size_t size)
{
	char buf[32];
	long total;

	if (meminfo("HugePages_Free:") >= n)
		return true;
	if (geteuid() != 0) {
		snprintf(why, size, "hugetlb: %ld free huge pages, %ld needed, and not root to reserve "
			 "them in " NR_HUGEPAGES, meminfo("HugePages_Free:"), n);
		return false;
	}
	test_read_text(NR_HUGEPAGES, saved_nr_hugepages, sizeof(saved_nr_hugepages));
	total = strtol(saved_nr_hugepages, NULL, 10);
	snprintf(buf, sizeof(buf), "%ld\n", total + n);
	test_write_text(NR_HUGEPAGES, buf);
	if (meminfo("HugePages_Free:") >= n)
		return true;
	snprintf(why, size, "hugetlb: the kernel reserved only %ld free huge pages of the %ld asked "
		 "(memory too fragmented?)", meminfo("HugePages_Free:"), n);
	return false;
}

/* shmem gives MADV_HUGEPAGE mappings huge pages, switching it on as root; false with the reason. */
static bool ensure_shmem_thp(char *why, size_t size)
{
	char v[32], per[32];

	sysfs_choice(SHMEM_ENABLED_2M, per, sizeof(per));
	if (per[0] && strcmp(per, "inherit")) {
		if (!strcmp(per, "always") || !strcmp(per, "advise") || !strcmp(per, "within_size"))
			return true;
		snprintf(why, size, "thp: " SHMEM_ENABLED_2M " is %s", per);
		return false;
	}
	sysfs_choice(SHMEM_ENABLED, v, sizeof(v));
	if (!strcmp(v, "always") || !strcmp(v, "advise") || !strcmp(v, "within_size") || !strcmp(v, "force"))
		return true;
	if (geteuid() != 0 || !v[0]) {
		snprintf(why, size, "thp: " SHMEM_ENABLED " is '%s' and not root to set it to advise", v);
		return false;
	}
	snprintf(saved_shmem_enabled, sizeof(saved_shmem_enabled), "%.30s\n", v);
	test_write_text(SHMEM_ENABLED, "advise\n");
	return true;
}

struct mapping {
	bool found;
	long kernel_page_kb, pmd_kb, hugetlb_kb, rss_kb;
};

static long field_kb(const char *block, const char *name)
{
	const char *p = strstr(block, name);

	return p ? strtol(p + strlen(name), NULL, 10) : 0;
}

/* The smaps entry of the VMM's guest memory (the memfd "xenith:NAME"). */
static struct mapping guest_mapping(pid_t pid, const char *name)
{
	char path[64], needle[128];
	struct mapping m = { 0 };
	char *smaps, *p, *next;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	snprintf(needle, sizeof(needle), "/memfd:xenith:%s ", name);
	smaps = test_read_file(path, NULL);
	p = strstr(smaps, needle);
	if (p) {
		/* the entry runs to the next header line: "START-END perms ..." */
		for (next = strchr(p, '\n'); next && next[1]; next = strchr(next + 1, '\n'))
			if (isxdigit((unsigned char)next[1]) && strchr(next + 1, '-') < strchr(next + 1, ' '))
				break;
		if (next)
			next[1] = 0;
		m.found = true;
		m.kernel_page_kb = field_kb(p, "KernelPageSize:");
		m.pmd_kb = field_kb(p, "ShmemPmdMapped:") + field_kb(p, "FilePmdMapped:");
		m.hugetlb_kb = field_kb(p, "Shared_Hugetlb:") + field_kb(p, "Private_Hugetlb:");
		m.rss_kb = field_kb(p, "Rss:");
	}
	free(smaps);
	return m;
}

/* Boots an idle domain NAME with extra run options; returns once the guest waits. */
static void start_idle(struct proc *p, const char *name, const char *const *extra)
{
	const char *args[24] = { "run", "--name", name, "--cmdline", "idle" };
	unsigned n = 5;

	for (; extra && *extra; extra++)
		args[n++] = *extra;
	args[n] = NULL;
	proc_start(p, args);
	if (!proc_wait_output(p, "idle: waiting for the toolstack", 30))
		fail_msg("%s did not boot: %s", name, p->err);
}

static void stop(struct proc *p, const char *name)
{
	assert_int_equal(RUN(&Q, 20, "destroy", name), 0);
	proc_wait(p, 20);
	assert_int_equal(p->status, 67);
}

/* NAME's row of `xenith list --long`: its last three columns. */
static void list_long(const char *name, char *backing, char *node, char *cpus, size_t size)
{
	char *line;

	assert_int_equal(RUN(&Q, 20, "list", "--long"), 0);
	assert_non_null(strstr(Q.out, "BACKING  NODE  CPUS"));
	line = strstr(Q.out, name);
	assert_non_null(line);
	char row[512], *tok, *save = NULL, *cols[16];
	unsigned n = 0;
	size_t len = strcspn(line, "\n");

	snprintf(row, sizeof(row), "%.*s", (int)len, line);
	for (tok = strtok_r(row, " ", &save); tok && n < 16; tok = strtok_r(NULL, " ", &save))
		cols[n++] = tok;
	assert_int_equal(n, 9); /* NAME ID STATE VCPUS MEM UPTIME BACKING NODE CPUS */
	snprintf(backing, size, "%s", cols[6]);
	snprintf(node, size, "%s", cols[7]);
	snprintf(cpus, size, "%s", cols[8]);
}

static void test_memfd_backing_has_small_pages(void **state)
{
	char b[64], n[64], c[64];
	struct mapping m;

	(void)state;
	start_idle(&P, "t-memfd", (const char *const[]){ "--memory-backing", "memfd", NULL });
	m = guest_mapping(P.pid, "t-memfd");
	assert_true(m.found);
	assert_int_equal(m.kernel_page_kb, 4);
	assert_int_equal(m.pmd_kb, 0);
	assert_int_equal(m.hugetlb_kb, 0);
	list_long("t-memfd", b, n, c, sizeof(b));
	assert_string_equal(b, "memfd");
	assert_string_equal(n, "-");
	assert_string_equal(c, "-");
	stop(&P, "t-memfd");
}

static void test_hugetlb_backing_maps_2mib_pages(void **state)
{
	char why[320], b[64], n[64], c[64];
	struct mapping m;

	(void)state;
	if (!ensure_hugepages(8, why, sizeof(why))) /* 16 MiB of guest memory */
		SKIP_BECAUSE(why);
	start_idle(&P, "t-huge", (const char *const[]){ "--memory-backing", "hugetlb", "-m", "16", NULL });
	m = guest_mapping(P.pid, "t-huge");
	assert_true(m.found);
	assert_int_equal(m.kernel_page_kb, 2048);
	assert_true(m.hugetlb_kb >= 2048); /* at least the page the image was loaded into */
	list_long("t-huge", b, n, c, sizeof(b));
	assert_string_equal(b, "hugetlb");
	stop(&P, "t-huge");
}

static void test_hugetlb_refusals_say_what_to_do(void **state)
{
	char want[128];
	long nfree;

	(void)state;
	assert_int_equal(RUN(&P, 20, "run", "--memory-backing", "hugetlb", "-m", "17"), 65);
	assert_non_null(strstr(P.err, "memory = 17 MiB: memory_backing = hugetlb needs a multiple of its "
				      "page size, 2 MiB"));
	/* more than the host has free: the message names the pool, the need and what is free */
	nfree = meminfo("HugePages_Free:");
	assert_true(nfree >= 0);
	assert_int_equal(RUN(&P, 20, "run", "--memory-backing", "hugetlb", "-m", "64G"), 65);
	assert_non_null(strstr(P.err, "/proc/sys/vm/nr_hugepages"));
	assert_non_null(strstr(P.err, "need 32768 huge pages of 2 MiB"));
	snprintf(want, sizeof(want), "the host has %ld free", nfree);
	assert_non_null(strstr(P.err, want));
}

static void test_thp_backing_gets_huge_pages(void **state)
{
	char why[320], b[64], n[64], c[64];
	struct mapping m;

	(void)state;
	if (!ensure_shmem_thp(why, sizeof(why)))
		SKIP_BECAUSE(why);
	start_idle(&P, "t-thp", (const char *const[]){ "--memory-backing", "thp", NULL });
	m = guest_mapping(P.pid, "t-thp");
	assert_true(m.found);
	if (m.pmd_kb == 0)
		fail_msg("no huge page in the guest memory mapping (Rss %ld kB); VMM stderr: %s", m.rss_kb, P.err);
	assert_int_equal(m.pmd_kb % 2048, 0);
	assert_null(strstr(P.err, "memory_backing = thp")); /* no warning: it got them */
	list_long("t-thp", b, n, c, sizeof(b));
	assert_string_equal(b, "thp");
	stop(&P, "t-thp");
}

static void test_thp_without_host_support_warns_and_boots(void **state)
{
	char v[32];

	(void)state;
	sysfs_choice(SHMEM_ENABLED, v, sizeof(v));
	if (geteuid() != 0 || !v[0])
		SKIP_BECAUSE("needs root to switch " SHMEM_ENABLED " to never for the run");
	snprintf(saved_shmem_enabled, sizeof(saved_shmem_enabled), "%.30s\n", v);
	test_write_text(SHMEM_ENABLED, "never\n");
	assert_int_equal(RUN(&P, 20, "run", "--memory-backing", "thp"), 0);
	assert_non_null(strstr(P.out, "hello from minios"));
	assert_non_null(strstr(P.err, "memory_backing = thp: the host gives shared memory no huge pages"));
	assert_non_null(strstr(P.err, "shmem_enabled is never"));
}

/*
 * The default backing, auto: thp for a domain of 64 MiB or more where the
 * host gives shared memory huge pages, memfd for a smaller one (hv/membacking.c
 * says why), and `xenith list --long` names what it chose.
 */
static void test_auto_backing_is_thp_for_big_domains_and_memfd_for_small(void **state)
{
	char why[320], b[64], n[64], c[64];
	struct mapping m;

	(void)state;
	if (!ensure_shmem_thp(why, sizeof(why)))
		SKIP_BECAUSE(why);
	start_idle(&P, "t-auto-big", (const char *const[]){ "-m", "64", NULL });
	m = guest_mapping(P.pid, "t-auto-big");
	assert_true(m.found);
	if (m.pmd_kb == 0)
		fail_msg("auto gave a 64 MiB domain no huge page (Rss %ld kB); VMM stderr: %s", m.rss_kb, P.err);
	list_long("t-auto-big", b, n, c, sizeof(b));
	assert_string_equal(b, "thp");
	start_idle(&R, "t-auto-small", (const char *const[]){ "-m", "62", NULL });
	m = guest_mapping(R.pid, "t-auto-small");
	assert_true(m.found);
	assert_int_equal(m.pmd_kb, 0);
	assert_int_equal(m.kernel_page_kb, 4);
	list_long("t-auto-small", b, n, c, sizeof(b));
	assert_string_equal(b, "memfd");
	stop(&P, "t-auto-big");
	stop(&R, "t-auto-small");
}

/* Where the host refuses shmem huge pages, auto is memfd, without thp's warning. */
static void test_auto_backing_is_memfd_without_a_warning_where_the_host_refuses(void **state)
{
	char v[32], b[64], n[64], c[64];
	struct mapping m;

	(void)state;
	sysfs_choice(SHMEM_ENABLED, v, sizeof(v));
	if (geteuid() != 0 || !v[0])
		SKIP_BECAUSE("needs root to switch " SHMEM_ENABLED " to never for the run");
	snprintf(saved_shmem_enabled, sizeof(saved_shmem_enabled), "%.30s\n", v);
	test_write_text(SHMEM_ENABLED, "never\n");
	start_idle(&P, "t-auto-never", (const char *const[]){ "-m", "128", NULL });
	m = guest_mapping(P.pid, "t-auto-never");
	assert_true(m.found);
	assert_int_equal(m.pmd_kb, 0);
	list_long("t-auto-never", b, n, c, sizeof(b));
	assert_string_equal(b, "memfd");
	assert_null(strstr(P.err, "memory_backing"));
	stop(&P, "t-auto-never");
}

/* "0-1,3" as the kernel writes Cpus_allowed_list, from a file or a status field. */
static void status_field(pid_t pid, const char *tid, const char *field, char *out, size_t size)
{
	char path[400], buf[4096], *p;

	snprintf(path, sizeof(path), "/proc/%d/task/%s/status", (int)pid, tid);
	test_read_text(path, buf, sizeof(buf));
	p = strstr(buf, field);
	assert_non_null(p);
	p += strlen(field);
	while (*p == ':' || *p == '\t' || *p == ' ')
		p++;
	snprintf(out, size, "%.*s", (int)strcspn(p, "\n"), p);
}

/* Each vCPU thread's Cpus_allowed_list, found by its name xenith-vcpuN; counts them. */
static unsigned vcpu_cpus(pid_t pid, char lists[][64], unsigned max)
{
	char dir[64], comm[64], path[400];
	unsigned found = 0;
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d))) {
		unsigned id;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/comm", dir, de->d_name);
		test_read_text(path, comm, sizeof(comm));
		if (sscanf(comm, "xenith-vcpu%u", &id) != 1 || id >= max)
			continue;
		status_field(pid, de->d_name, "Cpus_allowed_list", lists[id], sizeof(lists[id]));
		found++;
	}
	closedir(d);
	return found;
}

static void test_vcpu_pin_puts_each_vcpu_thread_on_its_cpus(void **state)
{
	char lists[2][64], b[64], n[64], c[64];
	cpu_set_t ours;

	(void)state;
	assert_int_equal(sched_getaffinity(0, sizeof(ours), &ours), 0);
	if (!CPU_ISSET(0, &ours) || !CPU_ISSET(1, &ours))
		SKIP_BECAUSE("needs CPUs 0 and 1");
	/* crossed over, so that a vCPU given the other's list shows */
	start_idle(&P, "t-pin", (const char *const[]){ "--vcpus", "2", "--vcpu-pin", "1", "--vcpu-pin", "0",
						     NULL });
	assert_int_equal(vcpu_cpus(P.pid, lists, 2), 2);
	assert_string_equal(lists[0], "1");
	assert_string_equal(lists[1], "0");
	list_long("t-pin", b, n, c, sizeof(b));
	assert_string_equal(c, "1/0");
	stop(&P, "t-pin");

	/* one entry: every vCPU */
	start_idle(&P, "t-pin1", (const char *const[]){ "--vcpus", "2", "--vcpu-pin", "0-1,^0", NULL });
	assert_int_equal(vcpu_cpus(P.pid, lists, 2), 2);
	assert_string_equal(lists[0], "1");
	assert_string_equal(lists[1], "1");
	stop(&P, "t-pin1");
}

static void test_vcpu_pin_refuses_a_cpu_we_may_not_use(void **state)
{
	cpu_set_t ours;
	char arg[16], want[64];
	int cpu = 1023;

	(void)state;
	assert_int_equal(sched_getaffinity(0, sizeof(ours), &ours), 0);
	while (cpu > 0 && CPU_ISSET(cpu, &ours))
		cpu--;
	snprintf(arg, sizeof(arg), "%d", cpu);
	assert_int_equal(RUN(&P, 20, "run", "--vcpu-pin", arg), 65);
	snprintf(want, sizeof(want), "vCPU 0: CPU %d is not one this VMM may run on", cpu);
	assert_non_null(strstr(P.err, want));
	/* more entries than vCPUs */
	assert_int_equal(RUN(&P, 20, "run", "--vcpu-pin", "0", "--vcpu-pin", "0"), 65);
	assert_non_null(strstr(P.err, "vcpu_pin has 2 entries for 1 vCPUs"));
}

static void test_numa_node_places_memory_and_vcpus_and_refuses_unknown_nodes(void **state)
{
	char online[64], node_cpus[64], lists[1][64], b[64], n[64], c[64], want[256];
	struct mapping m;
	char path[128], *nm;

	(void)state;
	test_read_text("/sys/devices/system/node/online", online, sizeof(online));
	if (!online[0])
		SKIP_BECAUSE("no /sys/devices/system/node/online: a kernel without NUMA");
	online[strcspn(online, "\n")] = 0;
	test_read_text("/sys/devices/system/node/node0/cpulist", node_cpus, sizeof(node_cpus));
	node_cpus[strcspn(node_cpus, "\n")] = 0;

	start_idle(&P, "t-node", (const char *const[]){ "--numa-node", "0", NULL });
	m = guest_mapping(P.pid, "t-node");
	assert_true(m.found);
	/* the guest memory's policy: numa_maps says bind:0 for the mapping */
	snprintf(path, sizeof(path), "/proc/%d/numa_maps", (int)P.pid);
	nm = test_read_file(path, NULL);
	char *line = strstr(nm, "memfd:xenith:t-node");

	assert_non_null(line);
	while (line > nm && line[-1] != '\n')
		line--;
	if (strncmp(strchr(line, ' ') + 1, "bind:0 ", 7))
		fail_msg("guest memory's policy is not bind:0: %.*s", (int)strcspn(line, "\n"), line);
	free(nm);
	assert_int_equal(vcpu_cpus(P.pid, lists, 1), 1);
	assert_string_equal(lists[0], node_cpus);
	list_long("t-node", b, n, c, sizeof(b));
	assert_string_equal(n, "0");
	assert_string_equal(c, node_cpus);
	stop(&P, "t-node");

	assert_int_equal(RUN(&P, 20, "run", "--numa-node", "99"), 65);
	snprintf(want, sizeof(want), "numa_node = 99: no such node; this host's nodes: %s", online);
	if (!strstr(P.err, want))
		fail_msg("expected '%s' in: %s", want, P.err);
}

/*
 * A reboot rebuilds memory and vCPUs on the main thread under its seccomp
 * filter: mbind, the sysfs reads and the vCPU threads' pinning and naming
 * must all be allowed there (a missing rule ends the VMM with status 70).
 */
static void test_placement_survives_reboots_under_the_filters(void **state)
{
	char lists[1][64];

	(void)state;
	START(&P, "run", "--name", "t-reb", "--numa-node", "0", "--vcpu-pin", "0", "--memory-backing", "thp",
	      "--cmdline", "reboot");
	if (!proc_wait_count(&P, "reboot: asking the VMM to reboot this domain", 3, 60)) {
		proc_wait(&P, 20); /* everything it said */
		fail_msg("fewer than 3 boots (exit status %d): %s", P.status, P.err);
	}
	assert_true(proc_alive(&P));
	assert_null(strstr(P.err, "seccomp"));
	if (vcpu_cpus(P.pid, lists, 1) == 1) /* between two boots there may be no vCPU thread */
		assert_string_equal(lists[0], "0");
	assert_int_equal(RUN(&Q, 20, "destroy", "t-reb"), 0);
	proc_wait(&P, 20);
	assert_int_equal(P.status, 67);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_memfd_backing_has_small_pages, harness_teardown),
		cmocka_unit_test_teardown(test_hugetlb_backing_maps_2mib_pages, restore_host),
		cmocka_unit_test_teardown(test_hugetlb_refusals_say_what_to_do, harness_teardown),
		cmocka_unit_test_teardown(test_thp_backing_gets_huge_pages, restore_host),
		cmocka_unit_test_teardown(test_thp_without_host_support_warns_and_boots, restore_host),
		cmocka_unit_test_teardown(test_auto_backing_is_thp_for_big_domains_and_memfd_for_small,
					  restore_host),
		cmocka_unit_test_teardown(test_auto_backing_is_memfd_without_a_warning_where_the_host_refuses,
					  restore_host),
		cmocka_unit_test_teardown(test_vcpu_pin_puts_each_vcpu_thread_on_its_cpus, harness_teardown),
		cmocka_unit_test_teardown(test_vcpu_pin_refuses_a_cpu_we_may_not_use, harness_teardown),
		cmocka_unit_test_teardown(test_numa_node_places_memory_and_vcpus_and_refuses_unknown_nodes,
					  harness_teardown),
		cmocka_unit_test_teardown(test_placement_survives_reboots_under_the_filters, harness_teardown),
	};

	harness_require_kvm();
	harness_run_dir();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
