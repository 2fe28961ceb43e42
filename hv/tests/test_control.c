// SPDX-License-Identifier: MIT
/*
 * unit tier: the run directory, its lock files and the control socket,
 * without KVM.  The server runs for real (control_server_start) on a
 * domain built without KVM (domain_create_unbacked) that pretends to run:
 * enough for info, pause (which then waits, as it does while vCPUs are
 * slow to stop) and destroy.  Hostile cases need another user: the tests run as root (as on
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
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "testutil.h"

#include "control.h"
#include "domain.h"
#include "jsondoc.h"

#define OTHER_UID 65534
/* How long a test waits for something that should happen at once: generous, never a pass condition. */
#define PATIENCE_MS 10000

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

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

static void free_domain(struct domain *d);

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

/*
 * A real domain built without KVM (domain_create_unbacked, from the bundled
 * minios), marked running with one vCPU thread in guest code that never
 * leaves it: info and destroy act on it as on a live one, and a pause waits
 * for that vCPU as it does for one that is slow to stop.
 */
static struct domain *running_domain(const char *name)
{
	struct domain_opts opts = { .console_fd = -1 };
	const char *minios = getenv("XENITH_MINIOS");
	struct domain_config cfg;
	struct domain *d = NULL;
	struct errbuf eb;

	if (!minios || !*minios)
		fail_msg("XENITH_MINIOS is not set (meson test sets it to the bundled minios)");
	config_init(&cfg);
	snprintf(cfg.name, sizeof(cfg.name), "%s", name);
	snprintf(cfg.kernel, sizeof(cfg.kernel), "%s", minios);
	if (domain_create_unbacked(&cfg, &opts, 7, &d, &eb) < 0)
		fail_msg("domain_create_unbacked: %s", eb.msg);
	pthread_mutex_lock(&d->lock);
	d->state = DOMAIN_RUNNING;
	d->nr_running_threads = 1;
	pthread_mutex_unlock(&d->lock);
	return d;
}

static void free_domain(struct domain *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	d->nr_running_threads = 0; /* the pretend vCPU thread: nothing to join */
	pthread_mutex_unlock(&d->lock);
	domain_destroy(d);
}

/* Resolves and serves a domain called "dom" in f->dir. */
static void start_server(struct fixture *f)
{
	struct errbuf eb;
	char canon[PATH_MAX];

	assert_int_equal(rundir_resolve(f->dir, canon, sizeof(canon), &eb), 0);
	f->d = running_domain("dom");
	if (control_server_start(f->d, canon, &f->srv, &eb) < 0)
		fail_msg("control_server_start: %s", eb.msg);
}

static void set_sun_path(struct sockaddr_un *addr, const char *path)
{
	size_t len = strlen(path);

	if (len >= sizeof(addr->sun_path))
		_exit(95); /* also in forked children: never longjmp out of one */
	memcpy(addr->sun_path, path, len + 1);
}

static int raw_connect(const char *dir, const char *name)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/%s.sock", dir, name);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		fail_msg("connect %s: %s", addr.sun_path, strerror(errno));
	return fd;
}

static void send_text(int fd, const char *s, size_t len)
{
	assert_int_equal(send(fd, s, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* One reply line (without the newline) within ms; false when none came (timeout or EOF first). */
static bool read_reply(int fd, char *buf, size_t size, int ms)
{
	uint64_t end = mono_ms() + (uint64_t)ms;
	size_t n = 0;

	while (n + 1 < size) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t now = mono_ms();
		ssize_t k;
		char *nl;

		if (now >= end || poll(&p, 1, (int)(end - now)) <= 0)
			return false;
		k = recv(fd, buf + n, size - 1 - n, 0);
		if (k <= 0)
			return false;
		n += (size_t)k;
		buf[n] = 0;
		nl = strchr(buf, '\n');
		if (nl) {
			*nl = 0;
			return true;
		}
	}
	return false;
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

/* One request on a fresh connection; the reply within PATIENCE_MS or the test fails. */
static void request(const char *dir, const char *line, char *reply, size_t size)
{
	int fd = raw_connect(dir, "dom");

	send_text(fd, line, strlen(line));
	if (!read_reply(fd, reply, size, PATIENCE_MS))
		fail_msg("no reply to %s within %d ms", line, PATIENCE_MS);
	close(fd);
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
	char canon[PATH_MAX], real[PATH_MAX], slashed[PATH_MAX + 8];
	struct errbuf eb;

	/* even a link to a directory that would pass: the link itself can be changed */
	snprintf(real, sizeof(real), "%s/real", f->base);
	assert_int_equal(mkdir(real, 0700), 0);
	assert_int_equal(symlink(real, f->dir), 0);
	assert_int_equal(rundir_resolve(f->dir, canon, sizeof(canon), &eb), -ELOOP);
	assert_contains(eb.msg, f->dir);
	assert_contains(eb.msg, "symbolic link");
	/* a trailing slash makes lstat follow the link: not a way around the check */
	snprintf(slashed, sizeof(slashed), "%s//", f->dir);
	assert_int_equal(rundir_resolve(slashed, canon, sizeof(canon), &eb), -ELOOP);
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
	test_write_text(victim, "precious\n");
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
	test_write_text(lock, "precious\n");
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

/*
 * Domain ids stop below 0x7ff0 (Xen's DOMID_FIRST_RESERVED): with 1 to
 * 0x7fef all held, the next claim is ENOSPC naming the range, and no lock
 * for 0x7ff0 is made.  (The store refuses a reserved id as a guest's, so a
 * domain given one could not be built.)  The 32,751 locks are held by
 * child processes, a share each (one process may not have that many
 * descriptors), taken directly: claiming each would walk from id 1 again.
 */
static pid_t id_holders[64];
static unsigned nr_id_holders;

static void test_domain_ids_stop_below_xens_reserved_range(void **state)
{
	struct fixture *f = *state;
	char canon[PATH_MAX], lock[PATH_MAX + 32], c;
	struct errbuf eb;
	struct rlimit rl;
	const uint32_t last = XENITH_DOMID_SELF - 1;
	uint32_t domid = 0, per, claimed = 0;
	pid_t *kids = id_holders;
	unsigned nkids = 0;
	int fd = -1;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	per = rl.rlim_max > 4096 + 64 ? (uint32_t)(rl.rlim_max - 64) : 4096;
	if (per > last)
		per = last;
	assert_int_equal(rundir_resolve(f->dir, canon, sizeof(canon), &eb), 0);
	while (claimed < last) {
		uint32_t n = last - claimed < per ? last - claimed : per;
		int p[2];
		pid_t pid;

		assert_true(nkids < sizeof(id_holders) / sizeof(id_holders[0]));
		assert_int_equal(pipe(p), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) { /* hold ids claimed+1 .. claimed+n as a VMM holds its own, until killed */
			struct rlimit r = rl;
			char path[PATH_MAX + 32];

			r.rlim_cur = r.rlim_max;
			setrlimit(RLIMIT_NOFILE, &r);
			for (uint32_t id = claimed + 1; id <= claimed + n; id++) {
				int lfd;

				snprintf(path, sizeof(path), "%s/ids/%u.lock", canon, id);
				lfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
				if (lfd < 0 || flock(lfd, LOCK_EX | LOCK_NB) < 0) {
					fprintf(stderr, "child: locking %s: %s\n", path, strerror(errno));
					_exit(1);
				}
			}
			if (write(p[1], "k", 1) != 1)
				_exit(1);
			for (;;)
				pause();
		}
		kids[nkids++] = pid;
		nr_id_holders = nkids;
		close(p[1]);
		if (read(p[0], &c, 1) != 1) {
			close(p[0]);
			fail_msg("a child holding domain ids %u and up did not get them all", claimed + 1);
		}
		close(p[0]);
		claimed += n;
	}
	assert_int_equal(rundir_claim_domid(canon, &domid, &fd, &eb), -ENOSPC);
	assert_contains(eb.msg, "ids 1 to 32751 are all taken (Xen reserves 0x7ff0 and up)");
	assert_int_equal(fd, -1);
	snprintf(lock, sizeof(lock), "%s/ids/%u.lock", canon, XENITH_DOMID_SELF);
	assert_int_equal(access(lock, F_OK), -1);
	snprintf(lock, sizeof(lock), "%s/ids/%u.lock", canon, last);
	assert_int_equal(access(lock, F_OK), 0); /* the last one was handed out */
	/* once the last holder is gone, its ids are free again, lowest first */
	kill(kids[nkids - 1], SIGKILL);
	waitpid(kids[nkids - 1], NULL, 0);
	nr_id_holders = --nkids;
	assert_int_equal(rundir_claim_domid(canon, &domid, &fd, &eb), 0);
	assert_int_equal(domid, nkids * per + 1);
	close(fd);
}

/* The holders go even when an assertion failed (they share our stdout: meson would wait for them). */
static int teardown_id_holders(void **state)
{
	for (unsigned k = 0; k < nr_id_holders; k++) {
		kill(id_holders[k], SIGKILL);
		waitpid(id_holders[k], NULL, 0);
	}
	nr_id_holders = 0;
	return teardown(state);
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
	test_write_text(victim, pid);
	snprintf(path, sizeof(path), "%s/ghost.lock", canon);
	assert_int_equal(symlink(victim, path), 0);
	snprintf(path, sizeof(path), "%s/ghost.sock", canon);
	dead_socket(path);
	assert_int_equal(control_list(canon, &e, &n, &eb), 0);
	assert_int_equal(n, 0);
	free(e);
	/* the stale socket is left for the next run of the name; what the link names is untouched */
	assert_int_equal(access(path, F_OK), 0);
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

struct connector {
	const char *dir;
	int r, fd;
	struct errbuf eb;
};

static void *connect_thread(void *arg)
{
	struct connector *c = arg;

	c->r = control_connect(c->dir, "stuck", &c->fd, &c->eb);
	return NULL;
}

/*
 * A VMM that accepts nobody (stopped with Ctrl-Z, or stuck) and whose
 * listen queue is full: connecting gives up with an error, it does not wait
 * forever (every xenith command and list would hang).
 */
static void test_connecting_to_a_vmm_whose_queue_is_full_gives_up(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char canon[PATH_MAX], path[PATH_MAX + 16];
	struct connector c = { .dir = canon, .fd = -1 };
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), filler[64];
	unsigned nfill = 0;
	struct timespec deadline;
	struct errbuf eb;
	pthread_t t;

	assert_true(lfd >= 0);
	assert_int_equal(rundir_resolve(f->dir, canon, sizeof(canon), &eb), 0);
	snprintf(path, sizeof(path), "%s/stuck.sock", canon);
	set_sun_path(&addr, path);
	assert_int_equal(bind(lfd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(lfd, 0), 0);
	/* Fill the queue (non-blocking connects succeed until it is full). */
	while (nfill < 64) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

		assert_true(fd >= 0);
		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
			assert_int_equal(errno, EAGAIN);
			close(fd);
			break;
		}
		filler[nfill++] = fd;
	}
	assert_true(nfill < 64);
	assert_int_equal(pthread_create(&t, NULL, connect_thread, &c), 0);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 15;
	if (pthread_timedjoin_np(t, NULL, &deadline) != 0) {
		pthread_detach(t);
		fail_msg("control_connect still waiting after 15 s for a VMM that accepts nobody");
	}
	assert_int_equal(c.r, -ETIMEDOUT);
	assert_int_equal(c.fd, -1);
	assert_contains(c.eb.msg, "stuck");
	for (unsigned i = 0; i < nfill; i++)
		close(filler[i]);
	close(lfd);
}

/* ---- slow, silent and many clients ---- */

/* A client that sends a space every period_ms (a line that never ends) until stopped or dropped. */
struct trickler {
	const char *dir;
	int period_ms;
	int fd;
	uint64_t connected_ms, dropped_ms;
	atomic_uint sent;
	atomic_bool stop, dropped;
	char reply[512];
	pthread_t thread;
};

static void *trickle(void *arg)
{
	struct trickler *t = arg;
	uint64_t give_up = mono_ms() + 3 * PATIENCE_MS;

	while (!atomic_load(&t->stop) && mono_ms() < give_up) {
		struct pollfd p = { .fd = t->fd, .events = POLLIN };

		if (send(t->fd, " ", 1, MSG_NOSIGNAL) == 1)
			atomic_fetch_add(&t->sent, 1);
		if (poll(&p, 1, t->period_ms) > 0) {
			/* the server replied or closed: read what it said */
			ssize_t n = recv(t->fd, t->reply, sizeof(t->reply) - 1, 0);

			t->reply[n > 0 ? n : 0] = 0;
			t->dropped_ms = mono_ms();
			atomic_store(&t->dropped, true);
			break;
		}
	}
	return NULL;
}

static void trickler_start(struct trickler *t, const char *dir, int period_ms)
{
	memset(t, 0, sizeof(*t));
	t->dir = dir;
	t->period_ms = period_ms;
	t->fd = raw_connect(dir, "dom");
	t->connected_ms = mono_ms();
	assert_int_equal(pthread_create(&t->thread, NULL, trickle, t), 0);
	/* the first byte is out before the test goes on */
	for (uint64_t end = mono_ms() + PATIENCE_MS; !atomic_load(&t->sent) && mono_ms() < end;)
		usleep(1000);
	assert_true(atomic_load(&t->sent) > 0);
}

static void trickler_stop(struct trickler *t)
{
	atomic_store(&t->stop, true);
	pthread_join(t->thread, NULL);
	close(t->fd);
}

/* A console client past the limit gets one reply, the refusal: not {"ok":true} and then an error. */
static void test_a_console_client_past_the_limit_gets_only_a_refusal(void **state)
{
	struct fixture *f = *state;
	int fds[CONSOLE_MAX_CLIENTS + 1];
	char reply[1024], more[64];
	ssize_t k;

	start_server(f);
	for (unsigned i = 0; i < CONSOLE_MAX_CLIENTS; i++) {
		fds[i] = raw_connect(f->dir, "dom");
		send_text(fds[i], "{\"cmd\":\"console\"}\n", 18);
		assert_true(read_reply(fds[i], reply, sizeof(reply), PATIENCE_MS));
		jv_free(parse_reply(reply, true));
	}
	fds[CONSOLE_MAX_CLIENTS] = raw_connect(f->dir, "dom");
	send_text(fds[CONSOLE_MAX_CLIENTS], "{\"cmd\":\"console\"}\n", 18);
	assert_true(read_reply(fds[CONSOLE_MAX_CLIENTS], reply, sizeof(reply), PATIENCE_MS));
	jv_free(parse_reply(reply, false));
	assert_contains(reply, "too many console clients");
	/* and nothing after it: the server closed the connection */
	k = recv(fds[CONSOLE_MAX_CLIENTS], more, sizeof(more), 0);
	assert_true(k <= 0);
	for (unsigned i = 0; i <= CONSOLE_MAX_CLIENTS; i++)
		close(fds[i]);
}

static void test_trickling_client_does_not_delay_another_clients_info(void **state)
{
	struct fixture *f = *state;
	struct trickler t;
	char reply[1024];
	bool answered;
	int fd;

	start_server(f);
	/* a byte every 100 ms: each wait for data is short, the line never ends */
	trickler_start(&t, f->dir, 100);
	fd = raw_connect(f->dir, "dom");
	send_text(fd, "{\"cmd\":\"info\"}\n", 15);
	answered = read_reply(fd, reply, sizeof(reply), PATIENCE_MS);
	/* the event that matters: the reply came while the trickler was still connected */
	bool trickler_still_there = !atomic_load(&t.dropped);

	close(fd);
	trickler_stop(&t);
	assert_true(answered);
	jv_free(parse_reply(reply, true));
	assert_true(trickler_still_there);
}

static void test_trickling_client_is_cut_off_at_the_deadline(void **state)
{
	struct fixture *f = *state;
	struct trickler t;

	start_server(f);
	trickler_start(&t, f->dir, 200);
	/* waits for the drop (or gives up after 3 * PATIENCE_MS) */
	pthread_join(t.thread, NULL);
	close(t.fd);
	if (!atomic_load(&t.dropped))
		fail_msg("a client trickling a byte every 200 ms was still served after %d ms",
			 3 * PATIENCE_MS);
	/* the deadline is for the whole line, counted from the accept (after our connect) */
	assert_true(t.dropped_ms - t.connected_ms >= CONTROL_REQUEST_DEADLINE_MS - 10);
	jv_free(parse_reply(t.reply, false));
	assert_contains(t.reply, "no complete request line within");
}

static void test_silent_client_gets_an_error_after_the_deadline(void **state)
{
	struct fixture *f = *state;
	char reply[1024];
	uint64_t t0;
	int fd;

	start_server(f);
	t0 = mono_ms();
	fd = raw_connect(f->dir, "dom");
	if (!read_reply(fd, reply, sizeof(reply), PATIENCE_MS))
		fail_msg("a silent client got no reply within %d ms", PATIENCE_MS);
	assert_true(mono_ms() - t0 >= CONTROL_REQUEST_DEADLINE_MS - 10);
	close(fd);
	jv_free(parse_reply(reply, false));
	assert_contains(reply, "no complete request line within");
}

struct caller {
	const char *dir, *line;
	char reply[1024];
	bool answered;
	pthread_t thread;
};

static void *call_thread(void *arg)
{
	struct caller *c = arg;
	int fd = raw_connect(c->dir, "dom");

	send_text(fd, c->line, strlen(c->line));
	c->answered = read_reply(fd, c->reply, sizeof(c->reply), PATIENCE_MS);
	close(fd);
	return NULL;
}

static void test_destroy_gets_through_while_a_pause_waits(void **state)
{
	struct fixture *f = *state;
	struct caller pause = { .line = "{\"cmd\":\"pause\"}\n" };
	char reply[1024];
	bool destroyed;
	int fd;

	start_server(f);
	pause.dir = f->dir;
	assert_int_equal(pthread_create(&pause.thread, NULL, call_thread, &pause), 0);
	/* event: the pause is in the domain, waiting for a vCPU that does not stop */
	for (uint64_t end = mono_ms() + PATIENCE_MS; !atomic_load(&f->d->pause_requested) &&
	     mono_ms() < end;)
		usleep(1000);
	assert_true(atomic_load(&f->d->pause_requested));
	fd = raw_connect(f->dir, "dom");
	send_text(fd, "{\"cmd\":\"destroy\"}\n", 18);
	destroyed = read_reply(fd, reply, sizeof(reply), PATIENCE_MS);
	close(fd);
	if (!destroyed)
		domain_kill(f->d, false, "test cleanup"); /* lets the pause (and an old server) go */
	pthread_join(pause.thread, NULL);
	assert_true(destroyed);
	jv_free(parse_reply(reply, true));
	assert_int_equal(f->d->state, DOMAIN_DESTROYED);
	/* the pause ended with the domain, and said so */
	assert_true(pause.answered);
	jv_free(parse_reply(pause.reply, true));
}

#define MANY 80

struct crowd {
	const char *dir;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned arrived;
};

struct member {
	struct crowd *crowd;
	char reply[1024];
	bool answered;
	pthread_t thread;
};

/* Connects with half a request, waits until every member has, then sends the rest. */
static void *member_thread(void *arg)
{
	struct member *m = arg;
	struct crowd *c = m->crowd;
	struct timespec until;
	int fd = raw_connect(c->dir, "dom");

	(void)!send(fd, "{\"cmd\":", 7, MSG_NOSIGNAL);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += PATIENCE_MS / 1000;
	pthread_mutex_lock(&c->lock);
	c->arrived++;
	pthread_cond_broadcast(&c->cond);
	while (c->arrived < MANY && pthread_cond_timedwait(&c->cond, &c->lock, &until) == 0)
		;
	pthread_mutex_unlock(&c->lock);
	/* a refused member's connection is closed already: EPIPE, its reply is waiting */
	(void)!send(fd, "\"info\"}\n", 8, MSG_NOSIGNAL);
	m->answered = read_reply(fd, m->reply, sizeof(m->reply), PATIENCE_MS);
	close(fd);
	return NULL;
}

static void test_many_clients_at_once_are_all_answered_or_refused_busy(void **state)
{
	struct fixture *f = *state;
	struct crowd crowd = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
	static struct member m[MANY];
	unsigned ok = 0, busy = 0;

	start_server(f);
	crowd.dir = f->dir;
	for (unsigned i = 0; i < MANY; i++) {
		memset(&m[i], 0, sizeof(m[i]));
		m[i].crowd = &crowd;
		assert_int_equal(pthread_create(&m[i].thread, NULL, member_thread, &m[i]), 0);
	}
	for (unsigned i = 0; i < MANY; i++)
		pthread_join(m[i].thread, NULL);
	assert_int_equal(crowd.arrived, MANY);
	for (unsigned i = 0; i < MANY; i++) {
		struct jv *doc;
		bool served;

		if (!m[i].answered)
			fail_msg("client %u of %d got no reply", i, MANY);
		served = strstr(m[i].reply, "\"ok\":true") != NULL;
		doc = parse_reply(m[i].reply, served);
		if (served) {
			assert_string_equal(jv_str(doc, "name", ""), "dom");
			ok++;
		} else {
			assert_string_equal(jv_str(doc, "error", ""), CONTROL_ERR_BUSY);
			busy++;
		}
		jv_free(doc);
	}
	/* every slot was used while the crowd held its connections open */
	assert_true(ok >= CONTROL_MAX_CONNECTIONS);
	assert_int_equal(ok + busy, MANY);
}

/* {"cmd":"info","pad":"xxx..."} of exactly len bytes. */
static char *padded_info(size_t len)
{
	static const char head[] = "{\"cmd\":\"info\",\"pad\":\"";
	char *s = malloc(len + 2);

	assert_non_null(s);
	memset(s, 'x', len);
	memcpy(s, head, sizeof(head) - 1);
	memcpy(s + len - 2, "\"}", 2);
	s[len] = '\n';
	s[len + 1] = 0;
	return s;
}

static void test_request_of_the_longest_size_is_served_and_a_longer_one_refused(void **state)
{
	struct fixture *f = *state;
	char reply[1024];
	char *line;

	start_server(f);
	line = padded_info(CONTROL_REQUEST_MAX);
	request(f->dir, line, reply, sizeof(reply));
	free(line);
	jv_free(parse_reply(reply, true));
	line = padded_info(CONTROL_REQUEST_MAX + 1);
	request(f->dir, line, reply, sizeof(reply));
	free(line);
	jv_free(parse_reply(reply, false));
	assert_string_equal(reply, "{\"ok\":false,\"error\":\"" CONTROL_ERR_TOO_LONG "\"}");
}

static void test_malformed_requests_get_json_errors_and_do_nothing(void **state)
{
	struct fixture *f = *state;
	/*
	 * Each must be refused.  Those marked * were carried out before (the
	 * destroys last, so that the ones before them meet a running domain).
	 */
	static const char *const lines[] = {
		"{\"cmd\":\"info\"}\0{\"cmd\":\"destroy\"}\n",   /* * a NUL: we would parse only a part */
		"{\"cmd\":\"info\",\"cmd\":\"destroy\"}\n",        /* * which one? */
		"{\"cmd\":\"shutdown\",\"reason\":5}\n",           /* a reason that is not a string */
		"{\"cmd\":\"destroy\"\n",
		"[\"destroy\"]\n",
		"\"destroy\"\n",
		"{\"cmd\":\"\\u0064estroyx\"}\n",
		"{\"cmd\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}\n",
		"{\"cmd\":\"\x1b[31mred\\\"\\\\\"}\n",
		"\n",
		"{\"cmd\":\"destroy\\u0000junk\"}\n",         /* * read as "destroy" */
		"{\"cmd\":\"destroy\",\"cmd\":\"info\"}\n",        /* * */
	};
	static const size_t lens[] = { 33 };
	char reply[1024], accepted[256] = "";

	start_server(f);
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		size_t len = i < sizeof(lens) / sizeof(lens[0]) ? lens[i] : strlen(lines[i]);
		int fd = raw_connect(f->dir, "dom");

		send_text(fd, lines[i], len);
		if (!read_reply(fd, reply, sizeof(reply), PATIENCE_MS))
			fail_msg("no reply to request %zu", i);
		close(fd);
		if (strstr(reply, "\"ok\":true")) {
			snprintf(accepted + strlen(accepted), sizeof(accepted) - strlen(accepted), " %zu", i);
			continue;
		}
		jv_free(parse_reply(reply, false));
	}
	if (accepted[0])
		fail_msg("requests accepted:%s (domain now %s)", accepted, domain_state_name(f->d->state));
	assert_int_equal(f->d->state, DOMAIN_RUNNING);
}

/* Binds VIRQ_CONTROL as the guest does at boot (event_channel_op on vCPU 0); returns the port. */
static uint32_t guest_binds_virq_control(struct domain *d)
{
	struct evtchn_bind_virq *b = (void *)(d->mem + d->layout.free_start);

	*b = (struct evtchn_bind_virq){ .virq = VIRQ_CONTROL, .vcpu = 0 };
	assert_int_equal(evtchn_op(&d->vcpus[0], EVTCHNOP_bind_virq, d->layout.free_start), 0);
	return b->port;
}

static void expect_error(const char *dir, const char *line, const char *why)
{
	char reply[1024];
	struct jv *doc;

	request(dir, line, reply, sizeof(reply));
	doc = parse_reply(reply, false);
	assert_contains(jv_str(doc, "error", ""), why);
	jv_free(doc);
}

static void expect_ok(const char *dir, const char *line)
{
	char reply[1024];

	request(dir, line, reply, sizeof(reply));
	assert_string_equal(reply, "{\"ok\":true}");
}

static void test_each_command_gets_its_reply_and_does_what_it_says(void **state)
{
	struct fixture *f = *state;
	char reply[4096];
	struct jv *doc;
	uint32_t port;

	start_server(f);
	/* info: the domain as it is */
	request(f->dir, "{\"cmd\":\"info\"}\n", reply, sizeof(reply));
	doc = parse_reply(reply, true);
	assert_string_equal(jv_str(doc, "name", ""), "dom");
	assert_string_equal(jv_str(doc, "state", ""), "running");
	assert_true(jv_num(doc, "id", -1) == 7);
	assert_true(jv_num(doc, "vcpus", -1) == 1);
	assert_true(jv_num(doc, "memory_mib", -1) == (double)f->d->cfg.memory_mib);
	assert_true(jv_num(doc, "restarts", -1) == 0);
	assert_true(jv_num(doc, "uptime_s", -1) >= 0);
	assert_true(jv_num(doc, "pid", -1) == (double)getpid());
	jv_free(doc);
	/* disks: none here, an empty list */
	request(f->dir, "{\"cmd\":\"disks\"}\n", reply, sizeof(reply));
	doc = parse_reply(reply, true);
	assert_non_null(jv_get(doc, "disks"));
	assert_int_equal(jv_get(doc, "disks")->type, JV_ARR);
	assert_int_equal(jv_get(doc, "disks")->n, 0);
	jv_free(doc);

	/* xenstore: the dump below a path; xenstore-write: a node written as domain 0 */
	request(f->dir, "{\"cmd\":\"xenstore\",\"path\":\"/local/domain/7\"}\n", reply, sizeof(reply));
	doc = parse_reply(reply, true);
	assert_non_null(strstr(jv_str(doc, "xenstore", ""), "name = \"dom\"\n"));
	assert_null(strstr(jv_str(doc, "xenstore", ""), "from-the-toolstack"));
	jv_free(doc);
	expect_ok(f->dir, "{\"cmd\":\"xenstore-write\",\"path\":\"/local/domain/7/data/k\","
		  "\"value\":\"from-the-toolstack \\\"q\\\"\"}\n");
	request(f->dir, "{\"cmd\":\"xenstore\",\"path\":\"/local/domain/7/data\"}\n", reply, sizeof(reply));
	doc = parse_reply(reply, true);
	assert_string_equal(jv_str(doc, "xenstore", ""), "k = \"from-the-toolstack \"q\"\"\n");
	jv_free(doc);
	expect_error(f->dir, "{\"cmd\":\"xenstore\",\"path\":\"/no/such\"}\n", "xenstore /no/such: No such file");
	expect_error(f->dir, "{\"cmd\":\"xenstore-write\",\"path\":\"no-slash\",\"value\":\"v\"}\n",
		     "xenstore-write no-slash: ");

	/* shutdown: refused until the guest listens, then passed on as the request it is */
	expect_error(f->dir, "{\"cmd\":\"shutdown\"}\n", "VIRQ_CONTROL");
	port = guest_binds_virq_control(f->d);
	expect_ok(f->dir, "{\"cmd\":\"shutdown\"}\n");
	assert_int_equal(f->d->shared->control_request, XENITH_CONTROL_POWEROFF);
	assert_true(f->d->shared->evtchn_pending[port / 64] & (1ull << (port % 64)));
	expect_ok(f->dir, "{\"cmd\":\"shutdown\",\"reason\":\"reboot\"}\n");
	assert_int_equal(f->d->shared->control_request, XENITH_CONTROL_REBOOT);
	assert_int_equal(f->d->state, DOMAIN_RUNNING); /* the guest decides when */

	/* pause and unpause, each only from the state it leaves (no vCPU thread in guest code now) */
	expect_error(f->dir, "{\"cmd\":\"unpause\"}\n", "not paused");
	pthread_mutex_lock(&f->d->lock);
	f->d->nr_running_threads = 0;
	pthread_mutex_unlock(&f->d->lock);
	expect_ok(f->dir, "{\"cmd\":\"pause\"}\n");
	assert_int_equal(f->d->state, DOMAIN_PAUSED);
	expect_error(f->dir, "{\"cmd\":\"pause\"}\n", "not running");
	expect_ok(f->dir, "{\"cmd\":\"unpause\"}\n");
	assert_int_equal(f->d->state, DOMAIN_RUNNING);

	/* console: {"ok":true}, then the output (test_a_console_client_past_the_limit... covers the rest) */
	expect_ok(f->dir, "{\"cmd\":\"console\"}\n");

	/* destroy: done before the reply */
	expect_ok(f->dir, "{\"cmd\":\"destroy\"}\n");
	assert_true(f->d->ended);
	assert_int_equal(f->d->end.state, DOMAIN_DESTROYED);
}

struct stopper {
	struct control_server *srv;
	atomic_bool done;
	pthread_t thread;
};

static void *stop_thread(void *arg)
{
	struct stopper *s = arg;

	control_server_stop(s->srv);
	atomic_store(&s->done, true);
	return NULL;
}

static void test_stop_is_prompt_with_slow_clients_connected(void **state)
{
	struct fixture *f = *state;
	struct stopper st = { 0 };
	struct trickler t;
	char reply[1024];
	uint64_t t0, took = 0;
	bool stopped;
	int silent, fd;

	start_server(f);
	trickler_start(&t, f->dir, 100);
	silent = raw_connect(f->dir, "dom");
	/* an answered request after them: both were accepted (in order) and are being read */
	fd = raw_connect(f->dir, "dom");
	send_text(fd, "{\"cmd\":\"info\"}\n", 15);
	(void)read_reply(fd, reply, sizeof(reply), 3000);
	close(fd);
	st.srv = f->srv;
	f->srv = NULL;
	t0 = mono_ms();
	assert_int_equal(pthread_create(&st.thread, NULL, stop_thread, &st), 0);
	while (!atomic_load(&st.done) && mono_ms() - t0 < PATIENCE_MS)
		usleep(1000);
	stopped = atomic_load(&st.done);
	if (stopped)
		took = mono_ms() - t0; /* may be 0: under a millisecond */
	trickler_stop(&t);
	close(silent);
	pthread_join(st.thread, NULL);
	if (!stopped)
		fail_msg("control_server_stop still waited after %d ms with a trickling client", PATIENCE_MS);
	/* it interrupted the reads: it did not wait for their deadline */
	if (took >= CONTROL_REQUEST_DEADLINE_MS)
		fail_msg("control_server_stop took %llu ms", (unsigned long long)took);
}

/* ---- the protocol as text ---- */

static int parse_line(const char *line, struct control_request *req, char *err, size_t errlen)
{
	return control_parse_request(line, strlen(line), req, err, errlen);
}

static void test_requests_parse_into_commands_with_their_arguments(void **state)
{
	struct control_request req;
	char err[256];

	(void)state;
	assert_int_equal(parse_line("{\"cmd\":\"info\"}", &req, err, sizeof(err)), 0);
	assert_int_equal(req.cmd, CONTROL_INFO);
	assert_int_equal(parse_line(" { \"cmd\" : \"shutdown\" , \"reason\":\"reboot\"} ",
					       &req, err, sizeof(err)), 0);
	assert_int_equal(req.cmd, CONTROL_SHUTDOWN);
	assert_true(req.reboot);
	assert_int_equal(parse_line("{\"cmd\":\"shutdown\"}", &req, err, sizeof(err)), 0);
	assert_false(req.reboot);
	assert_int_equal(parse_line("{\"cmd\":\"shutdown\",\"reason\":\"halt\"}", &req,
					       err, sizeof(err)), -EINVAL);
	assert_contains(err, "poweroff");
	assert_int_equal(parse_line("{\"cmd\":\"reboot\"}", &req, err, sizeof(err)), -EINVAL);
	assert_contains(err, "unknown command 'reboot'");
	/* the xenstore commands' arguments: path (default "/") and, for a write, the value */
	assert_int_equal(parse_line("{\"cmd\":\"xenstore\"}", &req, err, sizeof(err)), 0);
	assert_int_equal(req.cmd, CONTROL_XENSTORE);
	assert_string_equal(req.path, "/");
	assert_int_equal(parse_line("{\"cmd\":\"xenstore\",\"path\":\"/local/domain/7\"}", &req, err,
				    sizeof(err)), 0);
	assert_string_equal(req.path, "/local/domain/7");
	assert_int_equal(parse_line("{\"cmd\":\"xenstore-write\",\"path\":\"data/k\",\"value\":\"a\\\"b\"}",
				    &req, err, sizeof(err)), 0);
	assert_int_equal(req.cmd, CONTROL_XENSTORE_WRITE);
	assert_string_equal(req.path, "data/k");
	assert_string_equal(req.value, "a\"b");
	assert_int_equal(parse_line("{\"cmd\":\"xenstore-write\",\"value\":\"v\"}", &req, err,
				    sizeof(err)), -EINVAL);
	assert_contains(err, "\"path\"");
	assert_int_equal(parse_line("{\"cmd\":\"xenstore-write\",\"path\":\"k\"}", &req, err, sizeof(err)),
			 -EINVAL);
	assert_contains(err, "\"value\"");
	assert_int_equal(parse_line("{\"cmd\":\"xenstore\",\"path\":\"\"}", &req, err, sizeof(err)), -EINVAL);
	assert_int_equal(parse_line("{\"cmd\":\"xenstore\",\"path\":7}", &req, err, sizeof(err)), -EINVAL);
	assert_int_equal(parse_line("{\"cmd\":\"xenstore\",\"value\":\"v\"}", &req, err, sizeof(err)), -EINVAL);
	assert_int_equal(parse_line("{\"cmd\":\"xenstore\",\"path\":\"a\",\"path\":\"b\"}", &req, err,
				    sizeof(err)), -EINVAL);
	for (unsigned i = 0; i < CONTROL_NR_CMDS; i++) {
		char line[96];

		snprintf(line, sizeof(line), "{\"cmd\":\"%s\"%s}", control_cmd_name(i),
			 i == CONTROL_XENSTORE_WRITE ? ",\"path\":\"p\",\"value\":\"v\"" : "");
		assert_int_equal(control_parse_request(line, strlen(line), &req, err, sizeof(err)), 0);
		assert_int_equal(req.cmd, i);
	}
}

static void test_error_replies_stay_json_whatever_the_message(void **state)
{
	char msg[3000], out[256];
	struct jv *doc;
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(msg) - 1; i++)
		msg[i] = (char)(1 + i % 255); /* every byte but NUL, quotes and backslashes included */
	msg[sizeof(msg) - 1] = 0;
	n = control_format_error(out, sizeof(out), msg);
	assert_true(n < sizeof(out));
	assert_int_equal(out[n - 1], '\n');
	out[n - 1] = 0;
	doc = parse_reply(out, false);
	/* the message is cut, not mangled */
	assert_memory_equal(jv_str(doc, "error", ""), msg, strlen(jv_str(doc, "error", "")));
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
		cmocka_unit_test_setup_teardown(test_domain_ids_stop_below_xens_reserved_range, setup,
						teardown_id_holders),
		T(test_list_does_not_trust_a_symlinked_lock),
		T(test_server_refuses_a_client_of_another_uid),
		T(test_client_refuses_a_server_of_another_uid),
		T(test_client_talks_to_a_server_of_its_own_uid),
		T(test_connecting_to_a_vmm_whose_queue_is_full_gives_up),
		T(test_a_console_client_past_the_limit_gets_only_a_refusal),
		T(test_trickling_client_does_not_delay_another_clients_info),
		T(test_trickling_client_is_cut_off_at_the_deadline),
		T(test_silent_client_gets_an_error_after_the_deadline),
		T(test_destroy_gets_through_while_a_pause_waits),
		T(test_many_clients_at_once_are_all_answered_or_refused_busy),
		T(test_request_of_the_longest_size_is_served_and_a_longer_one_refused),
		T(test_malformed_requests_get_json_errors_and_do_nothing),
		T(test_each_command_gets_its_reply_and_does_what_it_says),
		T(test_stop_is_prompt_with_slow_clients_connected),
		cmocka_unit_test(test_requests_parse_into_commands_with_their_arguments),
		cmocka_unit_test(test_error_replies_stay_json_whatever_the_message),
#undef T
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
