// SPDX-License-Identifier: MIT
/* Processes for the net suite (netproc.h). */
#include "netproc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nap_ms(unsigned ms)
{
	struct timespec ts = { 0, (long)ms * 1000000L };

	nanosleep(&ts, NULL);
}

static void set_cpus(pid_t pid, int cpu)
{
	cpu_set_t s;
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	CPU_ZERO(&s);
	if (cpu >= 0)
		CPU_SET(cpu, &s);
	else
		for (long c = 0; c < n && c < CPU_SETSIZE; c++)
			CPU_SET((int)c, &s);
	sched_setaffinity(pid, sizeof(s), &s);
}

int nproc_start(struct nproc *p, const char *const *argv, int cpu, const char *out)
{
	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	pid_t pid;

	p->pid = 0;
	p->status = -1;
	snprintf(p->out, sizeof(p->out), "%s", out);
	if (fd < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		set_cpus(0, cpu);
		if (null >= 0)
			dup2(null, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		execvp(argv[0], (char *const *)argv);
		dprintf(STDERR_FILENO, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fd);
	set_cpus(pid, cpu); /* the child does too: either way it is placed when this returns */
	p->pid = pid;
	return 0;
}

/* Reaps p if it has ended: true when it is not running (any more). */
static bool reaped(struct nproc *p)
{
	int st;
	pid_t r;

	if (!p->pid)
		return true;
	r = waitpid(p->pid, &st, WNOHANG);
	if (r == 0 || (r < 0 && errno == EINTR))
		return false;
	p->status = r < 0 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	p->pid = 0;
	return true;
}

char *nproc_output(const struct nproc *p)
{
	FILE *f = fopen(p->out, "r");
	size_t cap = 4096, len = 0, n;
	char *buf = malloc(cap);

	if (!buf) {
		if (f)
			fclose(f);
		return NULL;
	}
	buf[0] = 0;
	if (!f)
		return buf;
	while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len < 1024) {
			char *nb = realloc(buf, cap * 2);

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
	}
	buf[len] = 0;
	fclose(f);
	return buf;
}

char *nproc_line(const struct nproc *p, const char *prefix)
{
	char *all = nproc_output(p), *at = NULL, *line = NULL;

	for (char *s = all; s && (s = strstr(s, prefix)); s++)
		at = s;
	if (at) {
		at += strlen(prefix);
		line = strndup(at, strcspn(at, "\r\n"));
	}
	free(all);
	return line;
}

static bool has(const struct nproc *p, const char *needle)
{
	char *all = nproc_output(p);
	bool yes = all && strstr(all, needle);

	free(all);
	return yes;
}

volatile sig_atomic_t nproc_interrupted;

bool nproc_wait_line(struct nproc *p, const char *needle, double timeout_s)
{
	double end = mono_s() + timeout_s;

	for (;;) {
		if (has(p, needle))
			return true;
		if (reaped(p))
			return has(p, needle); /* it may have printed it just before it ended */
		if (mono_s() > end || nproc_interrupted)
			return false;
		nap_ms(5);
	}
}

static bool wait_exit(struct nproc *p, double timeout_s, bool interruptible)
{
	double end = mono_s() + timeout_s;

	while (!reaped(p)) {
		if (mono_s() > end || (interruptible && nproc_interrupted))
			return false;
		nap_ms(5);
	}
	return true;
}

bool nproc_wait_exit(struct nproc *p, double timeout_s)
{
	return wait_exit(p, timeout_s, true);
}

void nproc_stop(struct nproc *p)
{
	if (reaped(p))
		return;
	kill(p->pid, SIGTERM);
	if (wait_exit(p, 5, false))
		return;
	kill(p->pid, SIGKILL);
	wait_exit(p, 30, false);
}

/* Thread tid of pid named comm? */
static bool named(pid_t pid, const char *tid, const char *comm)
{
	char path[96], name[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", (int)pid, tid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(name, sizeof(name), f))
		name[0] = 0;
	fclose(f);
	name[strcspn(name, "\n")] = 0;
	return !strcmp(name, comm);
}

int nproc_pin_threads(pid_t pid, const char *comm, int cpu)
{
	char path[64];
	DIR *d;
	struct dirent *e;
	cpu_set_t s;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return 0;
	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && named(pid, e->d_name, comm) &&
		    sched_setaffinity((pid_t)atoi(e->d_name), sizeof(s), &s) == 0)
			n++;
	closedir(d);
	return n;
}

static void format_cpus(const cpu_set_t *s, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = 0;
	for (int c = 0; c < CPU_SETSIZE && used < size; c++) {
		int end = c;

		if (!CPU_ISSET(c, s))
			continue;
		while (end + 1 < CPU_SETSIZE && CPU_ISSET(end + 1, s))
			end++;
		used += (size_t)snprintf(buf + used, size - used, end > c ? "%s%d-%d" : "%s%d", used ? "," : "", c,
					 end);
		c = end;
	}
	if (!buf[0])
		snprintf(buf, size, "?");
}

void nproc_thread_cpus(pid_t pid, const char *comm, char *buf, size_t size)
{
	char path[64];
	DIR *d;
	struct dirent *e;
	cpu_set_t s;
	pid_t tid = comm ? 0 : pid;

	snprintf(buf, size, "?");
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if (comm && (d = opendir(path))) {
		while (!tid && (e = readdir(d)))
			if (e->d_name[0] != '.' && named(pid, e->d_name, comm))
				tid = (pid_t)atoi(e->d_name);
		closedir(d);
	}
	if (tid && sched_getaffinity(tid, sizeof(s), &s) == 0)
		format_cpus(&s, buf, size);
}

int nproc_run(const char *const *argv)
{
	struct nproc p;

	if (nproc_start(&p, argv, -1, "/dev/null") < 0)
		return -1;
	wait_exit(&p, 120, false); /* a teardown's `ip netns del` ends even after an interrupt */
	nproc_stop(&p);
	return p.status;
}

bool nproc_have(const char *name)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	for (const char *s = path ? path : "/usr/bin:/bin"; *s;) {
		size_t n = strcspn(s, ":");

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, s, name);
		if (access(buf, X_OK) == 0)
			return true;
		s += n + (s[n] == ':');
	}
	return false;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void nproc_remove_tree(const char *path)
{
	nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}
