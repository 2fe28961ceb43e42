// SPDX-License-Identifier: MIT
/* The soak suite's child processes (the worker, or `xenith run`): spawned with pipes, read line by line. */
#include "soak_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;



int child_spawn(struct child *ch, char *const argv[], bool want_stdin)
{
	int in[2] = { -1, -1 }, out[2], err[2], r;
	posix_spawn_file_actions_t fa;

	memset(ch, 0, sizeof(*ch));
	ch->in_fd = -1;
	if ((want_stdin && pipe2(in, O_CLOEXEC) < 0) || pipe2(out, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(err, O_CLOEXEC) < 0) {
		close(out[0]);
		close(out[1]);
		return -errno;
	}
	posix_spawn_file_actions_init(&fa);
	if (want_stdin)
		posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, err[1], STDERR_FILENO);
	r = posix_spawn(&ch->pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (want_stdin)
		close(in[0]);
	close(out[1]);
	close(err[1]);
	ch->in_fd = in[1];
	ch->fd[0] = out[0];
	ch->fd[1] = err[0];
	if (r) {
		ch->pid = 0;
		return -r;
	}
	return 0;
}

static void keep_tail(char *tail, size_t size, const char *line)
{
	size_t have = strlen(tail), add = strlen(line) + 2;

	if (add >= size) {
		snprintf(tail, size, "%s", line);
		return;
	}
	if (have + add >= size) {
		memmove(tail, tail + (have + add - size + 1), size - (have + add - size + 1));
		have = strlen(tail);
	}
	snprintf(tail + have, size - have, "%s%s", have ? " | " : "", line);
}

/*
 * The next complete line from the child, *stream 0 (stdout) or 1 (stderr).
 * 1: a line; 0: both pipes closed; -ETIMEDOUT: nothing for timeout_ms.
 */
int child_line(struct child *ch, char *line, size_t size, int *stream, int timeout_ms)
{
	for (;;) {
		struct pollfd p[2];
		int np = 0, r;

		for (int k = 0; k < 2; k++) {
			char *nl = ch->fd[k] >= 0 || ch->len[k] ? memchr(ch->buf[k], '\n', ch->len[k]) : NULL;
			size_t n;

			if (!nl && ch->fd[k] < 0 && ch->len[k]) /* a last line without newline */
				nl = ch->buf[k] + ch->len[k];
			if (!nl)
				continue;
			n = (size_t)(nl - ch->buf[k]);
			snprintf(line, size, "%.*s", (int)n, ch->buf[k]);
			n = n < ch->len[k] ? n + 1 : n;
			ch->len[k] -= n;
			memmove(ch->buf[k], ch->buf[k] + n, ch->len[k]);
			keep_tail(ch->tail[k], sizeof(ch->tail[k]), line);
			*stream = k;
			return 1;
		}
		for (int k = 0; k < 2; k++)
			if (ch->fd[k] >= 0)
				p[np++] = (struct pollfd){ .fd = ch->fd[k], .events = POLLIN };
		if (!np)
			return 0;
		r = poll(p, (nfds_t)np, timeout_ms);
		if (r == 0)
			return -ETIMEDOUT;
		if (r < 0 && errno != EINTR)
			return -errno;
		for (int k = 0, i = 0; k < 2; k++) {
			ssize_t got;

			if (ch->fd[k] < 0)
				continue;
			if (!(p[i++].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (ch->len[k] == sizeof(ch->buf[k]) - 1)
				ch->len[k] = 0; /* a line longer than the buffer: dropped */
			got = read(ch->fd[k], ch->buf[k] + ch->len[k], sizeof(ch->buf[k]) - 1 - ch->len[k]);
			if (got > 0) {
				ch->len[k] += (size_t)got;
			} else if (got == 0 || errno != EINTR) {
				close(ch->fd[k]);
				ch->fd[k] = -1;
			}
		}
	}
}

/* Waits for the child to end (killing it after timeout_ms); its exit status, or 128 + signal. */
int child_reap(struct child *ch, int timeout_ms)
{
	char line[1024];
	int stream, st;

	if (ch->in_fd >= 0)
		close(ch->in_fd);
	ch->in_fd = -1;
	if (!ch->pid)
		return -1;
	/* Read what is left, so that the child never blocks on a full pipe. */
	while (child_line(ch, line, sizeof(line), &stream, timeout_ms) > 0)
		;
	for (int k = 0; k < 2; k++)
		if (ch->fd[k] >= 0) {
			close(ch->fd[k]);
			ch->fd[k] = -1;
		}
	for (int waited = 0; waitpid(ch->pid, &st, WNOHANG) == 0; waited += 10) {
		if (waited >= timeout_ms) {
			kill(ch->pid, SIGKILL);
			waitpid(ch->pid, &st, 0);
			break;
		}
		usleep(10000);
	}
	ch->pid = 0;
	ch->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return ch->status;
}

void child_kill(struct child *ch)
{
	if (ch->pid > 0) {
		kill(ch->pid, SIGKILL);
		child_reap(ch, 10000);
	}
}
