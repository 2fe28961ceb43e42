// SPDX-License-Identifier: MIT
/*
 * xenith bench --db: after the run is in the archive (its document and
 * index.sqlite), its index rows go to the fleet's PostgreSQL database
 * through xenith-fleet (linked dynamically: libpq does not link
 * statically, and xenith-bench does).
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_cli.h"

int bench_upload(const char *db, const char *doc, struct errbuf *eb)
{
	char exe[PATH_MAX], fleet[PATH_MAX + 16];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	int status;
	pid_t pid;

	if (n <= 0)
		return errbuf_set(eb, errno, "cannot find my own binary: %s", strerror(errno));
	exe[n] = 0;
	snprintf(fleet, sizeof(fleet), "%s/xenith-fleet", dirname(exe));
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return errbuf_set(eb, errno, "fork: %s", strerror(errno));
	if (pid == 0) {
		execl(fleet, fleet, "store", "--db", db, doc, (char *)NULL);
		fprintf(stderr, "xenith bench: cannot run %s: %s (build it with `meson compile -C "
			"build`)\n", fleet, strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return errbuf_set(eb, errno, "waitpid: %s", strerror(errno));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	/* xenith-fleet has said what went wrong */
	return errbuf_set(eb, EIO, "the upload to the --db database failed");
}
