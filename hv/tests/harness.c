// SPDX-License-Identifier: MIT
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void harness_require_kvm(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		printf("1..0 # SKIP /dev/kvm unusable (%s): the kvm tier needs KVM\n", strerror(errno));
		exit(77);
	}
	close(fd);
}

const char *harness_run_dir(void)
{
	static char dir[64];

	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/xenith-test-XXXXXX");
		if (!mkdtemp(dir)) {
			perror("mkdtemp");
			exit(1);
		}
		setenv("XENITH_RUN_DIR", dir, 1);
	}
	return dir;
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

	return build_path("XENITH_MINIOS", "../guest/minios", buf, sizeof(buf));
}

void proc_start(struct proc *p, const char *const *args)
{
	const char *argv[64];
	int out[2], err[2];
	posix_spawn_file_actions_t fa;
	size_t n = 0;

	harness_run_dir();
	memset(p, 0, sizeof(*p));
	argv[n++] = harness_xenith();
	for (; args[n - 1] && n < 63; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		perror("pipe");
		exit(1);
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	if (posix_spawn(&p->pid, argv[0], &fa, NULL, (char *const *)argv, environ) != 0) {
		perror(argv[0]);
		exit(1);
	}
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	close(err[1]);
	p->out_fd = out[0];
	p->err_fd = err[0];
	fcntl(p->out_fd, F_SETFL, O_NONBLOCK);
	fcntl(p->err_fd, F_SETFL, O_NONBLOCK);
}

static void drain(int *fd, char *buf, size_t *len, size_t cap)
{
	for (;;) {
		ssize_t n;

		if (*fd < 0)
			return;
		n = read(*fd, buf + *len, cap - 1 - *len);
		if (n > 0) {
			*len += (size_t)n;
			buf[*len] = 0;
			if (*len + 1 >= cap)
				*len = 0; /* keep going; tests look at recent output */
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
	drain(&p->out_fd, p->out, &p->out_len, sizeof(p->out));
	drain(&p->err_fd, p->err, &p->err_len, sizeof(p->err));
}

void proc_pump(struct proc *p, double seconds)
{
	double end = now_s() + seconds;

	while (now_s() < end)
		pump_once(p, end - now_s());
}

void proc_wait(struct proc *p, double timeout_s)
{
	double end = now_s() + timeout_s;
	int st;

	while (!p->exited) {
		pid_t r = waitpid(p->pid, &st, WNOHANG);

		if (r == p->pid) {
			p->exited = true;
			p->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			break;
		}
		if (now_s() > end) {
			fprintf(stderr, "harness: xenith pid %d still running after %.1fs; killing it\n",
				(int)p->pid, timeout_s);
			kill(p->pid, SIGKILL);
			end = now_s() + 5;
		}
		pump_once(p, 0.02);
	}
	while (p->out_fd >= 0 || p->err_fd >= 0)
		pump_once(p, 0.1);
}

bool proc_wait_output(struct proc *p, const char *needle, double timeout_s)
{
	double end = now_s() + timeout_s;

	while (now_s() < end) {
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
	return access("/sys/module/kvm_intel", F_OK) == 0 || access("/sys/module/kvm_amd", F_OK) == 0;
}
