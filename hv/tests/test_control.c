// SPDX-License-Identifier: MIT
/*
 * unit tier: the run directory, its lock files and the control socket,
 * without KVM.  The server runs for real (control_server_start) on a
 * struct domain that has its locks and state but no VM: enough for info,
 * pause (which then waits, as it does while vCPUs are slow to stop) and
 * destroy.  Hostile cases need another user: the tests run as root (as on
 * the project's machines) and chown files to, or run children as, uid
 * 65534; without root they are skipped and say so.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "control.h"
#include "domain.h"
#include "jsondoc.h"

#define OTHER_UID 65534
/* How long a test waits for something that should happen at once: generous, never a pass condition. */
#define PATIENCE_MS 10000

static void need_root(void)
{
	if (geteuid() != 0) {
		printf("# skip: needs root to make files and processes of another uid (%d)\n", OTHER_UID);
		fflush(stdout);
		skip();
	}
}

/* ---- fixtures ---- */

struct fixture {
	char base[64];            /* a fresh directory of ours in /tmp, removed at the end */
	char dir[PATH_MAX];       /* base/run: the run directory */
	struct domain *d;
	struct control_server *srv;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->base, sizeof(f->base), "/tmp/xenith-ctl-test-XXXXXX");
	assert_non_null(mkdtemp(f->base));
	snprintf(f->dir, sizeof(f->dir), "%s/run", f->base);
	*state = f;
	return 0;
}

static void free_domain(struct domain *d)
{
	if (!d)
		return;
	pthread_mutex_destroy(&d->lock);
	pthread_mutex_destroy(&d->ctl_lock);
	pthread_mutex_destroy(&d->disk_lock);
	pthread_cond_destroy(&d->state_cond);
	free(d);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	control_server_stop(f->srv);
	free_domain(f->d);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->base);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", f->base);
	free(f);
	return 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

static void assert_file_is(const char *path, const char *text)
{
	char buf[256] = "";
	FILE *fp = fopen(path, "r");
	size_t n;

	assert_non_null(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = 0;
	assert_string_equal(buf, text);
}

static void assert_contains(const char *haystack, const char *needle)
{
	if (!strstr(haystack, needle))
		fail_msg("expected '%s' in: %s", needle, haystack);
}

/* ---- the run directory ---- */

static void test_run_dir_is_created_private_with_its_ids_dir(void **state)
{
	struct fixture *f = *state;
	char canon[PATH_MAX], ids[PATH_MAX + 8];
	struct errbuf eb;
	struct stat st;

	assert_int_equal(rundir_resolve(f->dir, canon, sizeof(canon), &eb), 0);
	assert_string_equal(canon, f->dir); /* mkdtemp gives a path without links */
	assert_int_equal(lstat(f->dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(ids, sizeof(ids), "%s/ids", f->dir);
	assert_int_equal(lstat(ids, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	/* and it is accepted again as it is */
	assert_int_equal(rundir_resolve(f->dir, canon, sizeof(canon), &eb), 0);
}

static void test_run_dir_owned_by_another_user_is_refused(void **state)
{
	struct fixture *f = *state;
	char canon[PATH_MAX], uid[32];
	struct errbuf eb;

	need_root();
	assert_int_equal(mkdir(f->dir, 0700), 0);
	assert_int_equal(chown(f->dir, OTHER_UID, OTHER_UID), 0);
	assert_int_equal(rundir_resolve(f->dir, canon, sizeof(canon), &eb), -EPERM);
	assert_contains(eb.msg, f->dir);
	snprintf(uid, sizeof(uid), "uid %d", OTHER_UID);
	assert_contains(eb.msg, uid);
	assert_contains(eb.msg, "--run-dir");
}

static void test_run_dir_open_to_group_or_others_is_refused(void **state)
{
	struct fixture *f = *state;
	char canon[PATH_MAX];
	struct errbuf eb;

	assert_int_equal(mkdir(f->dir, 0700), 0);
	assert_int_equal(chmod(f->dir, 0755), 0);
	assert_int_equal(rundir_resolve(f->dir, canon, sizeof(canon), &eb), -EPERM);
	assert_contains(eb.msg, f->dir);
	assert_contains(eb.msg, "0755");
	assert_contains(eb.msg, "chmod 700");
}

static void test_run_dir_that_is_a_symlink_is_refused(void **state)
{
	struct fixture *f = *state;
	char canon[PATH_MAX], real[PATH_MAX];
	struct errbuf eb;

	/* even a link to a directory that would pass: the link itself can be changed */
	snprintf(real, sizeof(real), "%s/real", f->base);
	assert_int_equal(mkdir(real, 0700), 0);
	assert_int_equal(symlink(real, f->dir), 0);
	assert_int_equal(rundir_resolve(f->dir, canon, sizeof(canon), &eb), -ELOOP);
	assert_contains(eb.msg, f->dir);
	assert_contains(eb.msg, "symbolic link");
}

static void test_run_dir_below_a_directory_others_can_write_is_refused(void **state)
{
	struct fixture *f = *state;
	char canon[PATH_MAX];
	struct errbuf eb;

	/* base is 0700 from mkdtemp; open it to everyone, without the sticky bit */
	assert_int_equal(chmod(f->base, 0777), 0);
	assert_int_equal(rundir_resolve(f->dir, canon, sizeof(canon), &eb), -EPERM);
	assert_contains(eb.msg, f->base);
	assert_contains(eb.msg, "0777");
	/* sticky, as /tmp is: others may add entries but not move ours */
	assert_int_equal(chmod(f->base, 01777), 0);
	assert_int_equal(rundir_resolve(f->dir, canon, sizeof(canon), &eb), 0);
}

static void test_ids_dir_that_is_a_symlink_is_refused(void **state)
{
	struct fixture *f = *state;
	char canon[PATH_MAX], ids[PATH_MAX + 8], elsewhere[PATH_MAX];
	struct errbuf eb;

	assert_int_equal(mkdir(f->dir, 0700), 0);
	snprintf(elsewhere, sizeof(elsewhere), "%s/elsewhere", f->base);
	assert_int_equal(mkdir(elsewhere, 0700), 0);
	snprintf(ids, sizeof(ids), "%s/ids", f->dir);
	assert_int_equal(symlink(elsewhere, ids), 0);
	assert_int_equal(rundir_resolve(f->dir, canon, sizeof(canon), &eb), -ELOOP);
	assert_contains(eb.msg, ids);
}

/* A good run directory and the path of a file "victim" outside it, holding "precious\n". */
static void victim_setup(struct fixture *f, char *canon, char *victim)
{
	struct errbuf eb;

	assert_int_equal(rundir_resolve(f->dir, canon, PATH_MAX, &eb), 0);
	snprintf(victim, PATH_MAX, "%s/victim", f->base);
	write_file(victim, "precious\n");
}

static void test_symlinked_name_lock_is_refused_and_its_target_untouched(void **state)
{
	struct fixture *f = *state;
	char canon[PATH_MAX], victim[PATH_MAX], lock[PATH_MAX + 16];
	struct errbuf eb;
	int fd = -1, r;

	victim_setup(f, canon, victim);
	snprintf(lock, sizeof(lock), "%s/dom.lock", canon);
	assert_int_equal(symlink(victim, lock), 0);
	r = rundir_claim_name(canon, "dom", &fd, &eb);
	assert_file_is(victim, "precious\n"); /* first: the harm, if it happened */
	assert_int_equal(r, -ELOOP);
	assert_int_equal(fd, -1);
	assert_contains(eb.msg, lock);
}

static void test_hard_linked_name_lock_is_refused_and_the_other_file_untouched(void **state)
{
	struct fixture *f = *state;
	char canon[PATH_MAX], victim[PATH_MAX], lock[PATH_MAX + 16];
	struct errbuf eb;
	int fd = -1, r;

	victim_setup(f, canon, victim);
	snprintf(lock, sizeof(lock), "%s/dom.lock", canon);
	assert_int_equal(link(victim, lock), 0);
	r = rundir_claim_name(canon, "dom", &fd, &eb);
	assert_file_is(victim, "precious\n"); /* first: the harm, if it happened */
	assert_int_equal(r, -EMLINK);
	assert_int_equal(fd, -1);
	assert_contains(eb.msg, lock);
}

static void test_name_lock_of_another_user_is_refused_and_untouched(void **state)
{
	struct fixture *f = *state;
	char canon[PATH_MAX], victim[PATH_MAX], lock[PATH_MAX + 16];
	struct errbuf eb;
	int fd = -1, r;

	need_root();
	victim_setup(f, canon, victim);
	snprintf(lock, sizeof(lock), "%s/dom.lock", canon);
	write_file(lock, "precious\n");
	assert_int_equal(chown(lock, OTHER_UID, OTHER_UID), 0);
	r = rundir_claim_name(canon, "dom", &fd, &eb);
	assert_file_is(lock, "precious\n");
	assert_int_equal(r, -EPERM);
	assert_contains(eb.msg, lock);
}

static void test_symlinked_id_lock_creates_nothing_where_it_points(void **state)
{
	struct fixture *f = *state;
	char canon[PATH_MAX], target[PATH_MAX], lock[PATH_MAX + 16];
	struct errbuf eb;
	uint32_t domid = 0;
	int fd = -1, r;

	assert_int_equal(rundir_resolve(f->dir, canon, sizeof(canon), &eb), 0);
	/* like a link to /etc/nologin: creating the file is the harm */
	snprintf(target, sizeof(target), "%s/nologin", f->base);
	snprintf(lock, sizeof(lock), "%s/ids/1.lock", canon);
	assert_int_equal(symlink(target, lock), 0);
	r = rundir_claim_domid(canon, &domid, &fd, &eb);
	if (access(target, F_OK) == 0)
		fail_msg("claiming a domain id created %s through the link %s", target, lock);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(r, -ELOOP);
	assert_int_equal(fd, -1);
}

static void test_name_is_claimed_with_the_pid_and_released(void **state)
{
	struct fixture *f = *state;
	char canon[PATH_MAX], lock[PATH_MAX + 16], pid[32];
	struct errbuf eb;
	uint32_t domid = 0;
	int fd = -1, id_fd = -1, fd2 = -1;

	assert_int_equal(rundir_resolve(f->dir, canon, sizeof(canon), &eb), 0);
	assert_int_equal(rundir_claim_name(canon, "dom", &fd, &eb), 0);
	snprintf(lock, sizeof(lock), "%s/dom.lock", canon);
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	assert_file_is(lock, pid);
	/* our own lock, held: the name is taken (flock locks are per open file) */
	assert_int_equal(rundir_claim_name(canon, "dom", &fd2, &eb), -EEXIST);
	assert_contains(eb.msg, "already running");
	assert_int_equal(rundir_claim_domid(canon, &domid, &id_fd, &eb), 0);
	assert_int_equal(domid, 1);
	close(id_fd);
	rundir_release_name(canon, "dom", fd);
	assert_int_equal(access(lock, F_OK), -1);
}

static void set_sun_path(struct sockaddr_un *addr, const char *path)
{
	size_t len = strlen(path);

	if (len >= sizeof(addr->sun_path))
		_exit(95); /* also in forked children: never longjmp out of one */
	memcpy(addr->sun_path, path, len + 1);
}

/* A socket file at path, owned by us, that nobody listens on. */
static void dead_socket(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	set_sun_path(&addr, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	close(fd);
}

static void test_list_does_not_trust_a_symlinked_lock(void **state)
{
	struct fixture *f = *state;
	char canon[PATH_MAX], victim[PATH_MAX], path[PATH_MAX + 16], pid[32];
	struct control_entry *e = NULL;
	struct errbuf eb;
	size_t n = 99;

	victim_setup(f, canon, victim);
	/* the link names a file holding a live pid (ours): following it would call "ghost" alive */
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	write_file(victim, pid);
	snprintf(path, sizeof(path), "%s/ghost.lock", canon);
	assert_int_equal(symlink(victim, path), 0);
	snprintf(path, sizeof(path), "%s/ghost.sock", canon);
	dead_socket(path);
	assert_int_equal(control_list(canon, &e, &n, &eb), 0);
	assert_int_equal(n, 0);
	free(e);
	/* the stale socket (ours) was removed; what the link names was not */
	assert_int_equal(access(path, F_OK), -1);
	assert_file_is(victim, pid);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_run_dir_is_created_private_with_its_ids_dir),
		T(test_run_dir_owned_by_another_user_is_refused),
		T(test_run_dir_open_to_group_or_others_is_refused),
		T(test_run_dir_that_is_a_symlink_is_refused),
		T(test_run_dir_below_a_directory_others_can_write_is_refused),
		T(test_ids_dir_that_is_a_symlink_is_refused),
		T(test_symlinked_name_lock_is_refused_and_its_target_untouched),
		T(test_hard_linked_name_lock_is_refused_and_the_other_file_untouched),
		T(test_name_lock_of_another_user_is_refused_and_untouched),
		T(test_symlinked_id_lock_creates_nothing_where_it_points),
		T(test_name_is_claimed_with_the_pid_and_released),
		T(test_list_does_not_trust_a_symlinked_lock),
#undef T
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
