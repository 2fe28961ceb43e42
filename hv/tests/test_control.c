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

/* A domain with its locks and state and no VM: what info, pause and destroy look at. */
static struct domain *fake_domain(const char *name)
{
	struct domain *d = calloc(1, sizeof(*d));

	assert_non_null(d);
	snprintf(d->cfg.name, sizeof(d->cfg.name), "%s", name);
	d->cfg.memory_mib = 16;
	d->domid = 7;
	d->state = DOMAIN_RUNNING;
	/* One vCPU thread "in the guest" that never stops: a pause waits until the domain ends. */
	d->nr_running_threads = 1;
	pthread_mutex_init(&d->lock, NULL);
	pthread_mutex_init(&d->ctl_lock, NULL);
	pthread_mutex_init(&d->disk_lock, NULL);
	pthread_cond_init(&d->state_cond, NULL);
	return d;
}

/* Resolves and serves a domain called "dom" in f->dir. */
static void start_server(struct fixture *f)
{
	struct errbuf eb;
	char canon[PATH_MAX];

	assert_int_equal(rundir_resolve(f->dir, canon, sizeof(canon), &eb), 0);
	f->d = fake_domain("dom");
	if (control_server_start(f->d, canon, &f->srv, &eb) < 0)
		fail_msg("control_server_start: %s", eb.msg);
}

/* A reply that parses as JSON with the ok flag given; returns the document. */
static struct jv *parse_reply(const char *reply, bool ok)
{
	char err[128];
	struct jv *doc = jv_parse(reply, err, sizeof(err));

	if (!doc)
		fail_msg("reply '%s' is not JSON: %s", reply, err);
	if (jv_get(doc, "ok") == NULL || jv_get(doc, "ok")->type != JV_BOOL || jv_bool(doc, "ok", !ok) != ok)
		fail_msg("reply '%s': expected \"ok\":%s", reply, ok ? "true" : "false");
	if (!ok && !*jv_str(doc, "error", ""))
		fail_msg("error reply '%s' has no error text", reply);
	return doc;
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

/* ---- who may talk to whom (SO_PEERCRED) ---- */

/* In a forked child: become OTHER_UID for this process only (no libc setxid broadcast). */
static void child_become_other(void)
{
	if (syscall(SYS_setresgid, OTHER_UID, OTHER_UID, OTHER_UID) < 0 ||
	    syscall(SYS_setresuid, OTHER_UID, OTHER_UID, OTHER_UID) < 0)
		_exit(90);
}

static void test_server_refuses_a_client_of_another_uid(void **state)
{
	struct fixture *f = *state;
	char sock[PATH_MAX + 16], reply[1024] = "", expect[32];
	int pipefd[2], status;
	ssize_t n;
	pid_t pid;

	need_root();
	start_server(f);
	/*
	 * Let the other user reach the socket, as a careless chmod would: what
	 * is tested here is the VMM's own check, behind the directory's.
	 */
	snprintf(sock, sizeof(sock), "%s/dom.sock", f->dir);
	assert_int_equal(chmod(f->base, 0711), 0);
	assert_int_equal(chmod(f->dir, 0711), 0);
	assert_int_equal(chmod(sock, 0777), 0);
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sockaddr_un addr = { .sun_family = AF_UNIX };
		int fd, got = 0;

		close(pipefd[0]);
		child_become_other();
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		set_sun_path(&addr, sock);
		if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
			_exit(91);
		/* the refusal may come (and the connection close) before we even send */
		(void)!send(fd, "{\"cmd\":\"destroy\"}\n", 18, MSG_NOSIGNAL);
		for (;;) {
			char c;

			if (recv(fd, &c, 1, 0) != 1 || c == '\n')
				break;
			if (write(pipefd[1], &c, 1) != 1)
				_exit(93);
			got++;
		}
		_exit(got ? 0 : 94);
	}
	close(pipefd[1]);
	n = 0;
	for (ssize_t k; (size_t)n < sizeof(reply) - 1 &&
			(k = read(pipefd[0], reply + n, sizeof(reply) - 1 - (size_t)n)) > 0;)
		n += k;
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(n > 0);
	reply[n] = 0;
	jv_free(parse_reply(reply, false));
	snprintf(expect, sizeof(expect), "uid %d may not", OTHER_UID);
	assert_contains(reply, expect);
	/* and the domain was not destroyed */
	assert_int_equal(f->d->state, DOMAIN_RUNNING);
}

static void test_client_refuses_a_server_of_another_uid(void **state)
{
	struct fixture *f = *state;
	char canon[PATH_MAX], expect[32];
	struct errbuf eb;
	int ready[2], fd = -1, status;
	pid_t pid;
	char c;

	need_root();
	assert_int_equal(rundir_resolve(f->dir, canon, sizeof(canon), &eb), 0);
	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* A fake VMM: bound as root in our directory, listening as another user. */
		struct sockaddr_un addr = { .sun_family = AF_UNIX };
		int l = socket(AF_UNIX, SOCK_STREAM, 0), a;

		char path[PATH_MAX + 16];

		snprintf(path, sizeof(path), "%s/fake.sock", canon);
		set_sun_path(&addr, path);
		if (l < 0 || bind(l, (struct sockaddr *)&addr, sizeof(addr)) < 0)
			_exit(91);
		child_become_other();
		if (listen(l, 4) < 0 || write(ready[1], "r", 1) != 1)
			_exit(92);
		a = accept(l, NULL, NULL);
		if (a >= 0)
			(void)!send(a, "{\"ok\":true}\n", 12, MSG_NOSIGNAL);
		_exit(0);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	assert_int_equal(control_connect(canon, "fake", &fd, &eb), -EPERM);
	assert_int_equal(fd, -1);
	snprintf(expect, sizeof(expect), "uid %d", OTHER_UID);
	assert_contains(eb.msg, expect);
	assert_contains(eb.msg, "fake.sock");
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

static void test_client_talks_to_a_server_of_its_own_uid(void **state)
{
	struct fixture *f = *state;
	char reply[1024];
	struct errbuf eb;
	struct jv *doc;
	int fd = -1;

	start_server(f);
	assert_int_equal(control_connect(f->dir, "dom", &fd, &eb), 0);
	assert_int_equal(control_call(fd, "{\"cmd\":\"info\"}", reply, sizeof(reply), &eb), 0);
	close(fd);
	doc = parse_reply(reply, true);
	assert_string_equal(jv_str(doc, "name", ""), "dom");
	assert_int_equal(jv_num(doc, "id", 0), 7);
	assert_string_equal(jv_str(doc, "state", ""), "running");
	jv_free(doc);
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
		T(test_server_refuses_a_client_of_another_uid),
		T(test_client_refuses_a_server_of_another_uid),
		T(test_client_talks_to_a_server_of_its_own_uid),
#undef T
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
