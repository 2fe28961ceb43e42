// SPDX-License-Identifier: MIT
/*
 * kvm tier: confinement of the VMM (hv/confine.h) seen from outside: the
 * seccomp filter's verdict on a forbidden call, every thread filtered,
 * inherited descriptors closed, `user` (with a reboot that reopens the
 * disk as that user) and `jail` (only the disk visible, reboot included).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cmocka.h>

#include "testutil.h"

#include "harness.h"

#define START(p, ...) proc_start(p, (const char *const[]){ __VA_ARGS__, NULL })
#define NOBODY 65534
#define VERIFY "blk verify disk=0 blocks=8 bs=4096 seed=11"
#define VERIFIED "blk-verify: read back, 0 bad words"

static struct proc P, Q;
static char pub_dir[128]; /* a directory any user may traverse (the run directory is 0700) */

static int teardown(void **state)
{
	(void)state;
	unsetenv("XENITH_TEST_HOOKS");
	unsetenv("XENITH_TEST_JAIL_NO_PIVOT");
	harness_teardown(state); /* every xenith the test left running */
	return 0;
}

static void need_root(void)
{
	if (geteuid() != 0)
		SKIP_BECAUSE("user = and jail = need the test to run as root");
}

/*
 * A 4 MiB image in pub_dir, owned by uid:gid with mode 0600.  pub_dir is
 * BASE/files/pub (harness_tmpdir(), removed at exit): BASE and BASE/files
 * become 0711, so that `user =` can reach its image without listing them.
 */
static void make_image(char *path, size_t size, const char *name, uid_t uid, gid_t gid)
{
	int fd;

	if (!pub_dir[0]) {
		char base[PATH_MAX];

		harness_path(pub_dir, sizeof(pub_dir), "pub");
		assert_int_equal(mkdir(pub_dir, 0755), 0);
		snprintf(base, sizeof(base), "%s", harness_tmpdir());
		assert_int_equal(chmod(base, 0711), 0);
		assert_int_equal(chmod(dirname(base), 0711), 0);
	}
	assert_true((size_t)snprintf(path, size, "%s/%s", pub_dir, name) < size);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4 << 20), 0);
	close(fd);
	if (geteuid() == 0)
		assert_int_equal(chown(path, uid, gid), 0);
}

/* The value of `key:` in /proc/PID/task/TID/status (tid 0: the process). */
static void status_field(pid_t pid, const char *tid, const char *key, char *out, size_t size)
{
	char path[96], buf[4096], *p;

	if (tid)
		snprintf(path, sizeof(path), "/proc/%d/task/%s/status", (int)pid, tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	test_read_text(path, buf, sizeof(buf));
	p = strstr(buf, key);
	out[0] = 0;
	if (!p)
		return;
	p += strlen(key);
	while (*p == ':' || *p == '\t' || *p == ' ')
		p++;
	snprintf(out, size, "%.*s", (int)strcspn(p, "\n"), p);
}

static void test_forbidden_system_call_ends_the_vmm_naming_the_thread_and_the_call(void **state)
{
	char log[PATH_MAX], text[4096], want[256];

	(void)state;
	harness_path(log, sizeof(log), "seccomp-console.log");
	snprintf(want, sizeof(want), "xenith: seccomp: vCPU thread called socket (nr %d), which its "
		 "filter does not allow; rerun with --no-seccomp to debug, and report it", SYS_socket);
	setenv("XENITH_TEST_HOOKS", "1", 1);
	assert_int_equal(RUN(&P, 30, "run", "--name", "t-sc", "--console-log", log, "--cmdline", "seccomp"), 70);
	assert_non_null(strstr(P.err, want));
	assert_non_null(strstr(test_read_text(log, text, sizeof(text)), want));
	/* The call never returned to the guest. */
	assert_null(strstr(P.out, "forbidden system call ->"));
}

static void test_the_same_call_goes_through_with_no_seccomp(void **state)
{
	(void)state;
	setenv("XENITH_TEST_HOOKS", "1", 1);
	assert_int_equal(RUN(&P, 30, "run", "--name", "t-nosc", "--no-seccomp", "--cmdline", "seccomp"), 0);
	assert_non_null(strstr(P.out, "seccomp: forbidden system call -> 0"));
}

static void test_the_test_hook_is_refused_without_its_variable(void **state)
{
	(void)state;
	unsetenv("XENITH_TEST_HOOKS");
	assert_int_equal(RUN(&P, 30, "run", "--name", "t-nohook", "--cmdline", "seccomp"), 0);
	assert_non_null(strstr(P.out, "seccomp: forbidden system call -> -38"));
}

/* The VMM's descriptor 0 is /dev/null. */
static void assert_stdin_is_dev_null(pid_t pid)
{
	char fdpath[64], target[PATH_MAX];
	ssize_t n;

	snprintf(fdpath, sizeof(fdpath), "/proc/%d/fd/0", (int)pid);
	n = readlink(fdpath, target, sizeof(target) - 1);
	assert_true(n > 0);
	target[n] = 0;
	assert_string_equal(target, "/dev/null");
}

/*
 * With a disk connected (a backend thread) and the control and signal
 * threads up, every thread of the VMM runs under seccomp, none can gain
 * privileges, a descriptor the VMM inherited is closed and stdin is
 * /dev/null.
 */
static void test_every_vmm_thread_is_filtered_and_inherited_descriptors_are_closed(void **state)
{
	char img[PATH_MAX], dir[64], val[64], fdpath[64];
	int leak = open("/dev/zero", O_RDONLY); /* no O_CLOEXEC: the VMM inherits it */
	unsigned tasks = 0, main_seen = 0;
	struct dirent *de;
	DIR *d;

	(void)state;
	assert_true(leak > 2);
	make_image(img, sizeof(img), "threads.img", 0, 0);
	char disk[PATH_MAX + 16];

	snprintf(disk, sizeof(disk), "path=%s", img);
	START(&P, "run", "--name", "t-thr", "--disk", disk, "--cmdline", VERIFY " hold=1");
	close(leak);
	assert_true(proc_wait_output(&P, "blk-verify: holding", 30));
	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)P.pid);
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d))) {
		char comm[64], path[400];

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/comm", dir, de->d_name);
		test_read_text(path, comm, sizeof(comm));
		if (strncmp(comm, "xenith", 6))
			continue; /* KVM's and io_uring's kernel workers */
		tasks++;
		status_field(P.pid, de->d_name, "Seccomp", val, sizeof(val));
		assert_string_equal(val, "2");
		status_field(P.pid, de->d_name, "NoNewPrivs", val, sizeof(val));
		assert_string_equal(val, "1");
		status_field(P.pid, de->d_name, "Seccomp_filters", val, sizeof(val));
		if (atoi(de->d_name) == (int)P.pid) {
			main_seen++;
			assert_string_equal(val, "1"); /* the main filter only */
		} else {
			/* the main filter, its creator's (vCPU for a backend) and its own */
			assert_true(atoi(val) >= 2);
		}
	}
	closedir(d);
	assert_int_equal(main_seen, 1);
	assert_true(tasks >= 5); /* main, vCPU, backend, control, signal */
	snprintf(fdpath, sizeof(fdpath), "/proc/%d/fd/%d", (int)P.pid, leak);
	assert_true(access(fdpath, F_OK) < 0);
	assert_stdin_is_dev_null(P.pid);
	assert_int_equal(RUN(&Q, 20, "destroy", "t-thr"), 0);
	proc_wait(&P, 20);
	assert_int_equal(P.status, 67);
}

/* Started with stdin closed, the VMM still has /dev/null there (not a descriptor closed twice). */
static void test_a_vmm_started_with_stdin_closed_gets_dev_null(void **state)
{
	char img[PATH_MAX], disk[PATH_MAX + 16];

	(void)state;
	make_image(img, sizeof(img), "stdin.img", 0, 0);
	snprintf(disk, sizeof(disk), "path=%s", img);
	/* Our stdin close-on-exec: the VMM starts without one (and the harness's pipes stay above 2). */
	assert_int_equal(fcntl(STDIN_FILENO, F_SETFD, FD_CLOEXEC), 0);
	START(&P, "run", "--name", "t-stdin", "--disk", disk, "--cmdline", VERIFY " hold=1");
	assert_int_equal(fcntl(STDIN_FILENO, F_SETFD, 0), 0);
	assert_true(proc_wait_output(&P, "blk-verify: holding", 30));
	assert_stdin_is_dev_null(P.pid);
	assert_int_equal(RUN(&Q, 20, "destroy", "t-stdin"), 0);
	proc_wait(&P, 20);
	assert_int_equal(P.status, 67);
}

/* Boots, does I/O, powers off, is rebuilt (disk reopened), does I/O again. */
static void wait_two_verified_boots(void)
{
	for (int i = 0; i < 600 && proc_count(&P, VERIFIED) < 2 && !P.exited; i++)
		proc_pump(&P, 0.1);
	assert_true(proc_count(&P, VERIFIED) >= 2);
}

static void test_user_drops_every_thread_and_a_reboot_reopens_the_disk_as_that_user(void **state)
{
	char img[PATH_MAX], disk[PATH_MAX + 16], val[128];

	(void)state;
	need_root();
	make_image(img, sizeof(img), "user.img", NOBODY, NOBODY);
	snprintf(disk, sizeof(disk), "path=%s", img);
	START(&P, "run", "--name", "t-user", "--user", "65534:65534", "--disk", disk, "--on-poweroff",
	      "restart", "--cmdline", VERIFY);
	wait_two_verified_boots();
	assert_non_null(strstr(P.err, "restarting it"));
	status_field(P.pid, NULL, "Uid", val, sizeof(val));
	assert_string_equal(val, "65534\t65534\t65534\t65534");
	status_field(P.pid, NULL, "Gid", val, sizeof(val));
	assert_string_equal(val, "65534\t65534\t65534\t65534");
	status_field(P.pid, NULL, "Groups", val, sizeof(val));
	assert_string_equal(val, "");
	status_field(P.pid, NULL, "CapEff", val, sizeof(val));
	assert_string_equal(val, "0000000000000000");
	/* The control socket was bound as root before the switch, and still answers. */
	assert_int_equal(RUN(&Q, 20, "destroy", "t-user"), 0);
	proc_wait(&P, 20);
	assert_int_equal(P.status, 67);
}

static void test_user_who_cannot_open_a_disk_is_refused_at_start(void **state)
{
	char img[PATH_MAX], disk[PATH_MAX + 16];

	(void)state;
	need_root();
	make_image(img, sizeof(img), "root-only.img", 0, 0);
	snprintf(disk, sizeof(disk), "path=%s", img);
	assert_int_equal(RUN(&P, 30, "run", "--name", "t-user-no", "--user", "65534:65534", "--disk", disk,
			     "--cmdline", "hello"), 65);
	assert_non_null(strstr(P.err, img));
	assert_non_null(strstr(P.err, "cannot open"));
	assert_null(strstr(P.out, "hello from minios"));
}

static void test_unknown_user_is_a_configuration_error(void **state)
{
	(void)state;
	need_root();
	assert_int_equal(RUN(&P, 30, "run", "--name", "t-user-x", "--user", "no-such-user-xenith"), 64);
	assert_non_null(strstr(P.err, "no-such-user-xenith"));
}

/* What the jail's root holds: every path under /proc/PID/root, not following links. */
static char seen[32][PATH_MAX];
static unsigned nr_seen;
static size_t root_len;

static int collect(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag;
	if (ftw->level == 0)
		return 0;
	if (nr_seen == 32)
		return 1;
	snprintf(seen[nr_seen++], PATH_MAX, "%s", path + root_len);
	return 0;
}

static bool was_seen(const char *p)
{
	for (unsigned i = 0; i < nr_seen; i++)
		if (!strcmp(seen[i], p))
			return true;
	return false;
}

/*
 * Every thread of the VMM has the jail's root and mount namespace, not only
 * the main thread that /proc/PID/root shows: a thread started before the
 * jail keeps the host's (unshare and pivot_root move only their caller).
 */
static void every_thread_is_in_the_jail(pid_t pid)
{
	char path[PATH_MAX], ns[64], tns[64];
	struct stat root, troot;
	struct dirent *de;
	unsigned n = 0;
	DIR *tasks;
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/%d/root/.", (int)pid);
	assert_int_equal(stat(path, &root), 0);
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
	len = readlink(path, ns, sizeof(ns) - 1);
	assert_true(len > 0);
	ns[len] = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	tasks = opendir(path);
	assert_non_null(tasks);
	while ((de = readdir(tasks))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/root/.", (int)pid, de->d_name);
		assert_int_equal(stat(path, &troot), 0);
		if (troot.st_dev != root.st_dev || troot.st_ino != root.st_ino)
			fail_msg("thread %s of the VMM has another root than the jail's", de->d_name);
		snprintf(path, sizeof(path), "/proc/%d/task/%s/ns/mnt", (int)pid, de->d_name);
		len = readlink(path, tns, sizeof(tns) - 1);
		assert_true(len > 0);
		tns[len] = 0;
		if (strcmp(tns, ns))
			fail_msg("thread %s of the VMM is in mount namespace %s, the jail is %s", de->d_name,
				 tns, ns);
		n++;
	}
	closedir(tasks);
	printf("# %u threads, all in the jail\n", n);
	assert_true(n >= 3); /* main, vCPU, backend at least */
}

/* The disk is given relative to the working directory: a reboot reopens it from there. */
static void jail_holds_only_the_disk_and_survives_a_reboot(void)
{
	char img[PATH_MAX], root[64], sub[PATH_MAX], cwd[PATH_MAX];
	unsigned want = 0;

	need_root();
	make_image(img, sizeof(img), "jail.img", 0, 0);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(pub_dir), 0);
	START(&P, "run", "--name", "t-jail", "--jail", "--disk", "path=jail.img", "--on-poweroff", "restart",
	      "--cmdline", VERIFY);
	assert_int_equal(chdir(cwd), 0);
	wait_two_verified_boots();
	snprintf(root, sizeof(root), "/proc/%d/root/.", (int)P.pid); /* the link's target, not the link */
	root_len = strlen(root);
	nr_seen = 0;
	assert_int_equal(nftw(root, collect, 16, FTW_PHYS), 0);
	for (unsigned i = 0; i < nr_seen; i++)
		printf("# in the jail: %s\n", seen[i]);
	/* The image and its directories, nothing else (no .oldroot, no /dev, /proc, /etc). */
	for (char *s = strcpy(sub, img) + 1; (s = strchr(s, '/')); s++) {
		*s = 0;
		assert_true(was_seen(sub));
		want++;
		*s = '/';
	}
	assert_true(was_seen(img));
	want++;
	assert_int_equal(nr_seen, want);
	every_thread_is_in_the_jail(P.pid);
	/* The control socket is on the host's run directory. */
	assert_int_equal(RUN(&Q, 20, "destroy", "t-jail"), 0);
	proc_wait(&P, 20);
	assert_int_equal(P.status, 67);
}

static void test_jail_holds_only_the_disk_and_survives_a_reboot(void **state)
{
	(void)state;
	jail_holds_only_the_disk_and_survives_a_reboot();
}

/* Where the root is the initramfs (the lab), pivot_root cannot move it: the switch_root way. */
static void test_jail_without_pivot_root_holds_only_the_disk_too(void **state)
{
	(void)state;
	setenv("XENITH_TEST_JAIL_NO_PIVOT", "1", 1);
	jail_holds_only_the_disk_and_survives_a_reboot();
	unsetenv("XENITH_TEST_JAIL_NO_PIVOT");
}

/* A disk path that climbs (..) would be bound outside the jail's root: refused, naming it. */
static void test_jail_refuses_a_disk_path_with_dot_dot(void **state)
{
	char img[PATH_MAX], disk[PATH_MAX + 32], *slash;

	(void)state;
	need_root();
	make_image(img, sizeof(img), "dotdot.img", 0, 0);
	slash = strrchr(img, '/');
	assert_non_null(slash);
	*slash = 0; /* img: the directory; disk: DIR/../DIRNAME/dotdot.img */
	snprintf(disk, sizeof(disk), "path=%s/../%s/dotdot.img", img, strrchr(img, '/') + 1);
	assert_int_equal(RUN(&P, 30, "run", "--name", "t-dotdot", "--jail", "--disk", disk, "--cmdline", VERIFY),
			 65);
	assert_non_null(strstr(P.err, "has a '..' component"));
	assert_null(strstr(P.out, "blk-verify"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_forbidden_system_call_ends_the_vmm_naming_the_thread_and_the_call,
					  teardown),
		cmocka_unit_test_teardown(test_the_same_call_goes_through_with_no_seccomp, teardown),
		cmocka_unit_test_teardown(test_the_test_hook_is_refused_without_its_variable, teardown),
		cmocka_unit_test_teardown(test_every_vmm_thread_is_filtered_and_inherited_descriptors_are_closed,
					  teardown),
		cmocka_unit_test_teardown(test_a_vmm_started_with_stdin_closed_gets_dev_null, teardown),
		cmocka_unit_test_teardown(test_user_drops_every_thread_and_a_reboot_reopens_the_disk_as_that_user,
					  teardown),
		cmocka_unit_test_teardown(test_user_who_cannot_open_a_disk_is_refused_at_start, teardown),
		cmocka_unit_test_teardown(test_unknown_user_is_a_configuration_error, teardown),
		cmocka_unit_test_teardown(test_jail_holds_only_the_disk_and_survives_a_reboot, teardown),
		cmocka_unit_test_teardown(test_jail_without_pivot_root_holds_only_the_disk_too, teardown),
		cmocka_unit_test_teardown(test_jail_refuses_a_disk_path_with_dot_dot, teardown),
	};

	harness_require_kvm();
	harness_run_dir();
	return cmocka_run_group_tests(tests, NULL, NULL); /* the images go with harness_tmpdir() */
}
