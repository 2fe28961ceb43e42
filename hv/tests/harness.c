// SPDX-License-Identifier: MIT
#include "harness.h"

#include "jsondoc.h"
#include "kvm.h"
#include "trap.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/kvm.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/*
 * Every process group this test process started, with its exit status once
 * reaped: harness_teardown() and the exit handlers kill what still runs, and
 * proc_wait() finds the status of a child someone else reaped.
 */
#define MAX_KIDS 4096
static struct kid {
	pid_t pid;
	int status;
	bool reaped;
	bool group_scope; /* proc_outlives_tests(): only the exit handler kills it */
} kids[MAX_KIDS];
static unsigned nkids;

/* Output buffers this file allocated: a struct proc reused by proc_start() gives its old ones back. */
static void *bufs[2 * MAX_KIDS];
static unsigned nbufs;

static struct kid *kid_find(pid_t pid)
{
	for (unsigned i = nkids; i-- > 0;)
		if (kids[i].pid == pid)
			return &kids[i];
	return NULL;
}

static int wait_status(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Async-signal-safe: SIGKILLs every group still running (no reaping). */
static void kill_all_groups(void)
{
	for (unsigned i = 0; i < nkids; i++)
		if (!kids[i].reaped)
			kill(-kids[i].pid, SIGKILL);
}

static char base_dir[64];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	if (remove(path) < 0 && errno != ENOENT)
		fprintf(stderr, "harness: cannot remove %s: %s\n", path, strerror(errno));
	return 0;
}

static void at_exit(void)
{
	const char *keep = getenv("XENITH_TEST_KEEP");

	for (unsigned i = 0; i < nkids; i++)
		kids[i].group_scope = false;
	harness_teardown(NULL);
	if (!base_dir[0])
		return;
	if (keep && !strcmp(keep, "1")) {
		fprintf(stderr, "harness: XENITH_TEST_KEEP=1: leaving %s\n", base_dir);
		return;
	}
	nftw(base_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static pid_t harness_pid;

/* meson's timeout sends SIGTERM: take every started group with us. */
static void on_term(int sig)
{
	if (getpid() == harness_pid) /* not in a child between fork and exec */
		kill_all_groups();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void harness_init(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	harness_pid = getpid();
	atexit(at_exit);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	signal(SIGHUP, on_term);
}

double harness_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void harness_require_kvm(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int version;

	if (fd < 0) {
		printf("1..0 # SKIP /dev/kvm unusable (%s): the kvm tier needs KVM\n", strerror(errno));
		exit(0);
	}
	version = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		printf("1..0 # SKIP /dev/kvm is not KVM (KVM_GET_API_VERSION: %d, %s): the kvm tier needs KVM\n",
		       version, version < 0 ? strerror(errno) : "unexpected version");
		exit(0);
	}
	close(fd);
}

static void make_dir(const char *path)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "harness: mkdir %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

const char *harness_run_dir(void)
{
	static char dir[80];

	if (!dir[0]) {
		harness_init();
		snprintf(base_dir, sizeof(base_dir), "/tmp/xenith-test-XXXXXX");
		if (!mkdtemp(base_dir)) {
			perror("harness: mkdtemp");
			exit(1);
		}
		snprintf(dir, sizeof(dir), "%s/run", base_dir);
		make_dir(dir);
		setenv("XENITH_RUN_DIR", dir, 1);
	}
	return dir;
}

const char *harness_tmpdir(void)
{
	static char dir[80];

	if (!dir[0]) {
		harness_run_dir();
		snprintf(dir, sizeof(dir), "%s/files", base_dir);
		make_dir(dir);
	}
	return dir;
}

char *harness_path(char *buf, size_t size, const char *name)
{
	if ((size_t)snprintf(buf, size, "%s/%s", harness_tmpdir(), name) >= size) {
		fprintf(stderr, "harness: path for %s does not fit in %zu bytes\n", name, size);
		exit(1);
	}
	return buf;
}

/* $VAR, else REL next to this binary in the build tree (tests and bench are one level down). */
static const char *build_path(const char *var, const char *rel, char *buf, size_t size)
{
	const char *p = getenv(var);
	char exe[512];
	ssize_t n;

	if (p && *p)
		return p;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return rel;
	exe[n] = 0;
	*strrchr(exe, '/') = 0;
	snprintf(buf, size, "%s/%s", exe, rel);
	if (access(buf, X_OK) < 0 && !strcmp(var, "XENITH_BIN")) /* hv/tests is two levels down */
		snprintf(buf, size, "%s/../%s", exe, rel);
	return buf;
}

const char *harness_xenith(void)
{
	static char buf[600];

	return build_path("XENITH_BIN", "../tools/xenith", buf, sizeof(buf));
}

const char *harness_minios(void)
{
	static char buf[600];

	return build_path("XENITH_MINIOS", "../guest/minios-test", buf, sizeof(buf));
}

const char *harness_minios_bundled(void)
{
	static char buf[600];

	return build_path("XENITH_MINIOS_BUNDLED", "../guest/minios", buf, sizeof(buf));
}

static char *buf_new(size_t cap)
{
	char *b = calloc(1, cap);

	if (!b) {
		fprintf(stderr, "harness: out of memory for a %zu-byte output buffer\n", cap);
		abort();
	}
	if (nbufs < sizeof(bufs) / sizeof(bufs[0]))
		bufs[nbufs++] = b;
	return b;
}

static void buf_free(char *b)
{
	for (unsigned i = 0; b && i < nbufs; i++) {
		if (bufs[i] == b) {
			bufs[i] = bufs[--nbufs];
			free(b);
			return;
		}
	}
}

static void start(struct proc *p, const char *netns, const char *const *args)
{
	const char *argv[64];
	int out[2], err[2];
	pid_t parent = getpid();
	sigset_t all, old;
	size_t n = 0;

	harness_run_dir();
	/* a struct proc this file filled before gives its buffers back (others may be garbage) */
	buf_free(p->out);
	buf_free(p->err);
	memset(p, 0, sizeof(*p));
	p->out_cap = p->err_cap = 65536;
	p->out = buf_new(p->out_cap);
	p->err = buf_new(p->err_cap);
	argv[n++] = harness_xenith();
	for (; args[n - 1] && n < 63; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	if (nkids == MAX_KIDS) {
		fprintf(stderr, "harness: more than %d processes started by one test program\n", MAX_KIDS);
		exit(1);
	}
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		perror("harness: pipe");
		exit(1);
	}
	fflush(stdout);
	fflush(stderr);
	/* no signal reaches the child before it has the default handlers back */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	p->pid = fork();
	if (p->pid < 0) {
		perror("harness: fork");
		exit(1);
	}
	if (p->pid == 0) {
		/* its own group, so that teardown kills whatever it starts; dies with the test */
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		if (dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
			_exit(127);
		if (netns) {
			char path[256];
			int fd;

			snprintf(path, sizeof(path), "/run/netns/%s", netns);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
				dprintf(2, "harness: cannot enter network namespace %s: %s\n", netns, strerror(errno));
				_exit(127);
			}
			close(fd);
		}
		execve(argv[0], (char *const *)argv, environ);
		dprintf(2, "harness: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	setpgid(p->pid, p->pid); /* also here: no window where a kill of the group misses it */
	kids[nkids++] = (struct kid){ .pid = p->pid };
	close(out[1]);
	close(err[1]);
	p->out_fd = out[0];
	p->err_fd = err[0];
	fcntl(p->out_fd, F_SETFL, O_NONBLOCK);
	fcntl(p->err_fd, F_SETFL, O_NONBLOCK);
}

void proc_start(struct proc *p, const char *const *args)
{
	start(p, NULL, args);
}

void proc_start_in_netns(struct proc *p, const char *netns, const char *const *args)
{
	start(p, netns, args);
}

static void drain(int *fd, char **buf, size_t *len, size_t *cap)
{
	for (;;) {
		ssize_t n;

		if (*fd < 0)
			return;
		if (*len + 1 >= *cap) {
			/* grow: tests look for lines anywhere in the output, so nothing is dropped */
			char *b = buf_new(*cap * 2);

			memcpy(b, *buf, *len + 1);
			buf_free(*buf);
			*buf = b;
			*cap *= 2;
		}
		n = read(*fd, *buf + *len, *cap - 1 - *len);
		if (n > 0) {
			*len += (size_t)n;
			(*buf)[*len] = 0;
			continue;
		}
		if (n == 0) {
			close(*fd);
			*fd = -1;
		}
		return;
	}
}

/* Pumps output for up to seconds; returns when both pipes closed. */
static void pump_once(struct proc *p, double seconds)
{
	struct pollfd fds[2] = { { .fd = p->out_fd, .events = POLLIN }, { .fd = p->err_fd, .events = POLLIN } };
	int ms = (int)(seconds * 1000);

	if (p->out_fd < 0 && p->err_fd < 0) {
		if (ms > 0)
			usleep((useconds_t)ms * 1000);
		return;
	}
	poll(fds, 2, ms < 0 ? 0 : ms);
	drain(&p->out_fd, &p->out, &p->out_len, &p->out_cap);
	drain(&p->err_fd, &p->err, &p->err_len, &p->err_cap);
}

void proc_pump(struct proc *p, double seconds)
{
	double end = harness_now_s() + seconds;

	while (harness_now_s() < end)
		pump_once(p, end - harness_now_s());
}

/* Reaps p without blocking if it has ended; true once it has (exited and status set). */
static bool try_reap(struct proc *p)
{
	struct kid *k;
	int st;
	pid_t r;

	if (p->exited)
		return true;
	if (p->pid <= 0)
		return p->exited = true;
	k = kid_find(p->pid);
	if (k && k->reaped) {
		p->status = k->status;
		return p->exited = true;
	}
	r = waitpid(p->pid, &st, WNOHANG);
	if (r == p->pid) {
		p->status = wait_status(st);
		if (k) {
			k->status = p->status;
			k->reaped = true;
		}
		return p->exited = true;
	}
	if (r < 0 && errno == ECHILD) {
		fprintf(stderr, "harness: pid %d is not a child of this test; its status is lost\n", (int)p->pid);
		p->status = -1;
		return p->exited = true;
	}
	return false;
}

bool proc_alive(struct proc *p)
{
	return !try_reap(p);
}

void proc_wait(struct proc *p, double timeout_s)
{
	double end = harness_now_s() + timeout_s;

	while (!try_reap(p)) {
		if (harness_now_s() > end) {
			fprintf(stderr, "harness: xenith pid %d still running after %.1fs; killing it\n",
				(int)p->pid, timeout_s);
			kill(-p->pid, SIGKILL);
			kill(p->pid, SIGKILL);
			end = harness_now_s() + 5;
		}
		pump_once(p, 0.02);
	}
	while (p->out_fd >= 0 || p->err_fd >= 0)
		pump_once(p, 0.1);
}

bool proc_wait_output(struct proc *p, const char *needle, double timeout_s)
{
	double end = harness_now_s() + timeout_s;

	while (harness_now_s() < end) {
		if (strstr(p->out, needle))
			return true;
		if (p->out_fd < 0)
			return false;
		pump_once(p, 0.02);
	}
	return strstr(p->out, needle) != NULL;
}

unsigned proc_count(struct proc *p, const char *needle)
{
	unsigned n = 0;

	pump_once(p, 0);
	for (const char *s = strstr(p->out, needle); s; s = strstr(s + 1, needle))
		n++;
	return n;
}

int run_xenith(struct proc *p, double timeout_s, const char *const *args)
{
	proc_start(p, args);
	proc_wait(p, timeout_s);
	if (p->err_len)
		fprintf(stderr, "--- xenith stderr ---\n%s", p->err);
	return p->status;
}

bool harness_host_runs_cpl0(void)
{
	return trap_host_supported();
}

bool harness_in_lab(void)
{
	const char *v = getenv("XENITH_LAB");

	return v && !strcmp(v, "1");
}

const char *harness_kvm_module(void)
{
	return kvm_vendor_module();
}

void proc_kill(struct proc *p)
{
	if (!proc_alive(p))
		return;
	kill(-p->pid, SIGKILL);
	kill(p->pid, SIGKILL);
	proc_wait(p, 20);
}

int harness_teardown(void **state)
{
	(void)state;
	/* A test that set XENITH_TEST_HOOKS for its runs and failed before unsetting it: not for the next. */
	unsetenv("XENITH_TEST_HOOKS");
	for (unsigned i = 0; i < nkids; i++) {
		struct kid *k = &kids[i];
		int st;

		if (k->reaped || k->group_scope)
			continue;
		if (waitpid(k->pid, &st, WNOHANG) == k->pid) {
			k->status = wait_status(st);
			k->reaped = true;
			continue;
		}
		fprintf(stderr, "harness: teardown kills xenith pid %d, which the test left running\n", (int)k->pid);
		kill(-k->pid, SIGKILL);
		kill(k->pid, SIGKILL);
		if (waitpid(k->pid, &st, 0) == k->pid)
			k->status = wait_status(st);
		else
			k->status = -1;
		k->reaped = true;
	}
	return 0;
}

void proc_outlives_tests(struct proc *p)
{
	struct kid *k = kid_find(p->pid);

	if (k)
		k->group_scope = true;
}

static unsigned count_lines(const char *buf, const char *line)
{
	size_t len = strlen(line);
	unsigned n = 0;

	for (const char *s = buf; *s;) {
		const char *nl = strchr(s, '\n');

		if (!nl)
			break; /* a line still being written */
		if ((size_t)(nl - s) == len && !memcmp(s, line, len))
			n++;
		s = nl + 1;
	}
	return n;
}

unsigned proc_count_lines(struct proc *p, const char *line)
{
	pump_once(p, 0);
	return count_lines(p->out, line);
}

bool proc_wait_line(struct proc *p, const char *line, double timeout_s)
{
	double end = harness_now_s() + timeout_s;

	for (;;) {
		if (count_lines(p->out, line))
			return true;
		if (p->out_fd < 0 || harness_now_s() >= end)
			return false;
		pump_once(p, 0.02);
	}
}

bool proc_wait_count(struct proc *p, const char *needle, unsigned n, double timeout_s)
{
	double end = harness_now_s() + timeout_s;

	for (;;) {
		unsigned k = 0;

		for (const char *s = strstr(p->out, needle); s; s = strstr(s + 1, needle))
			k++;
		if (k >= n)
			return true;
		if (p->out_fd < 0 || harness_now_s() >= end)
			return false;
		pump_once(p, 0.02);
	}
}

bool harness_domain_state(const char *name, char *state, size_t size)
{
	struct proc q = { 0 };
	size_t len = strlen(name);
	bool found = false;

	if (run_xenith(&q, 30, (const char *const[]){ "list", NULL }) != 0)
		return false;
	/* NAME ID STATE ...: the row whose first column is name */
	for (const char *s = q.out; *s && !found;) {
		const char *nl = strchr(s, '\n');
		char st[32];

		if (!strncmp(s, name, len) && s[len] == ' ' && sscanf(s + len, "%*s %31s", st) == 1) {
			snprintf(state, size, "%s", st);
			found = true;
		}
		if (!nl)
			break;
		s = nl + 1;
	}
	buf_free(q.out);
	buf_free(q.err);
	return found;
}

bool harness_wait_domain_state(const char *name, const char *state, double timeout_s)
{
	double end = harness_now_s() + timeout_s;
	char st[32] = "";

	for (;;) {
		if (harness_domain_state(name, st, sizeof(st)) && !strcmp(st, state))
			return true;
		if (harness_now_s() >= end) {
			fprintf(stderr, "harness: '%s' not %s after %.0f s (last seen: %s)\n", name, state,
				timeout_s, st[0] ? st : "no row");
			return false;
		}
		usleep(20000);
	}
}

struct jv *proc_net_json(struct proc *p, double timeout_s, char *why, size_t whylen)
{
	char err[128], *line, *end;
	struct jv *doc;

	if (!proc_wait_output(p, "net-json: {", timeout_s)) {
		snprintf(why, whylen, "no net-json line; stdout: %s\nstderr: %s", p->out ? p->out : "",
			 p->err ? p->err : "");
		return NULL;
	}
	proc_wait_output(p, "}}\n", 10); /* the line's end */
	line = strstr(p->out, "net-json: {") + strlen("net-json: ");
	end = strchr(line, '\n');
	if (end)
		*end = 0;
	doc = jv_parse(line, err, sizeof(err));
	if (!doc)
		snprintf(why, whylen, "net-json is not JSON (%s): %s", err, line);
	if (end)
		*end = '\n';
	return doc;
}
