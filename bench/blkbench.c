// SPDX-License-Identifier: MIT
/*
 * The `blk` benchmark suite: the same fio-style jobs against the same
 * backing file, in a minios guest through the block split driver (one run
 * per notification mode) and natively with the real fio (io_uring,
 * direct=1), interleaved in the same run.  Series per job and mode:
 * "<job>@<mode>" in IOPS and "<job>-p99@<mode>" in microseconds, guest and
 * native (the native samples are the fio runs next to that mode's).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "blkbench.h"

extern char **environ;

struct blk_job {
	const char *name, *rw, *dir; /* dir: "read" or "write" in fio's JSON */
	unsigned bs, iodepth, numjobs; /* numjobs: fio's, with group_reporting; the guest gets a vCPU and a queue per job */
};

static const struct blk_job jobs[] = {
	{ "randread-4k-qd1", "randread", "read", 4096, 1, 1 },
	{ "randread-4k-qd32", "randread", "read", 4096, 32, 1 },
	{ "randread-4k-qd16x2", "randread", "read", 4096, 16, 2 },
	{ "seqread-128k-qd4", "read", "read", 131072, 4, 1 },
	{ "randwrite-4k-qd32", "randwrite", "write", 4096, 32, 1 },
};
/* Notification modes, with persistent grants (the default); poll-copy: poll with grant copies. */
static const struct { const char *name, *disk; } modes[] = {
	{ "exit", "mode=exit" },
	{ "ioeventfd", "mode=ioeventfd" },
	{ "poll", "mode=poll" },
	{ "poll-copy", "mode=poll,persistent=0" },
};
#define NR_MODES (sizeof(modes) / sizeof(modes[0]))

bool blk_job_exists(const char *name)
{
	for (size_t j = 0; j < sizeof(jobs) / sizeof(jobs[0]); j++)
		if (!strcmp(jobs[j].name, name))
			return true;
	return false;
}

void blk_list(void)
{
	for (size_t j = 0; j < sizeof(jobs) / sizeof(jobs[0]); j++)
		printf("%-8s %-16s %-10s %-6s higher (and p99 us, lower; modes exit, ioeventfd, poll, "
		       "poll-copy; native: fio)\n", "blk", jobs[j].name, "IOPS", "yes");
}

int bench_run_capture(const char *const *argv, char **out)
{
	posix_spawn_file_actions_t fa;
	int pipefd[2], status = -1;
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);
	pid_t pid;
	ssize_t n;

	*out = NULL;
	if (!buf || pipe(pipefd) < 0) {
		free(buf);
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
	posix_spawn_file_actions_addclose(&fa, pipefd[0]);
	if (posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		close(pipefd[0]);
		close(pipefd[1]);
		free(buf);
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	while ((n = read(pipefd[0], buf + len, cap - len - 1)) > 0 || (n < 0 && errno == EINTR)) {
		if (n < 0)
			continue;
		len += (size_t)n;
		if (cap - len < 4096) {
			char *nb = realloc(buf, cap * 2);

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
	}
	close(pipefd[0]);
	buf[len] = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	*out = buf;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int blk_parse_job_json(const char *text, const char *dir, double *iops, double *p99_us, char *why,
		     size_t whylen)
{
	json_error_t err;
	json_t *doc = json_loads(text, 0, &err);
	const json_t *jobsv, *d, *p99;

	if (!doc) {
		snprintf(why, whylen, "unreadable JSON (line %d, column %d: %s)", err.line, err.column, err.text);
		return -1;
	}
	jobsv = json_object_get(doc, "jobs");
	if (!json_is_array(jobsv) || json_array_size(jobsv) < 1) {
		snprintf(why, whylen, "no \"jobs\" array");
		json_decref(doc);
		return -1;
	}
	d = json_object_get(json_array_get(jobsv, 0), dir);
	p99 = json_object_get(json_object_get(json_object_get(d, "clat_ns"), "percentile"), "99.000000");
	*iops = json_is_number(json_object_get(d, "iops")) ? json_number_value(json_object_get(d, "iops")) : NAN;
	*p99_us = json_is_number(p99) ? json_number_value(p99) / 1000.0 : NAN;
	json_decref(doc);
	if (isnan(*iops) || isnan(*p99_us) || *iops <= 0) {
		snprintf(why, whylen, "no %s.iops or clat_ns percentile 99.000000", dir);
		return -1;
	}
	return 0;
}

static int run_fio(const struct blk_job *j, const char *file, uint64_t size, unsigned secs, double *iops,
		   double *p99, char *why, size_t whylen)
{
	char a_file[PATH_MAX + 16], a_rw[32], a_bs[32], a_qd[32], a_size[48], a_rt[32], a_nj[32];
	const char *argv[] = { "fio", "--name=blk", a_file, "--ioengine=io_uring", "--direct=1", a_rw, a_bs,
			       a_qd, a_size, a_rt, a_nj, "--group_reporting=1", "--time_based=1",
			       "--norandommap=1", "--randrepeat=0", "--output-format=json", NULL };
	char *out;
	int st, r;

	snprintf(a_file, sizeof(a_file), "--filename=%s", file);
	snprintf(a_rw, sizeof(a_rw), "--rw=%s", j->rw);
	snprintf(a_bs, sizeof(a_bs), "--bs=%u", j->bs);
	snprintf(a_qd, sizeof(a_qd), "--iodepth=%u", j->iodepth);
	snprintf(a_size, sizeof(a_size), "--size=%llu", (unsigned long long)size);
	snprintf(a_rt, sizeof(a_rt), "--runtime=%u", secs);
	snprintf(a_nj, sizeof(a_nj), "--numjobs=%u", j->numjobs);
	st = bench_run_capture(argv, &out);
	if (st != 0 || !out) {
		snprintf(why, whylen, "fio exited with status %d", st);
		free(out);
		return -1;
	}
	r = blk_parse_job_json(strchr(out, '{') ? strchr(out, '{') : out, j->dir, iops, p99, why, whylen);
	free(out);
	return r;
}

static int run_guest_job(const char *xenith, const struct blk_job *j, const char *disk_opts, const char *file,
			 uint64_t size, unsigned secs, bool no_seccomp, double *iops, double *p99, char *why,
			 size_t whylen)
{
	char disk[PATH_MAX + 64], cmd[160], vcpus[16];
	const char *argv[] = { xenith, "run", "-q", "-n", "xenith-blkbench", "-m", "96", "--timeout", "120",
			       "--vcpus", vcpus, "--disk", disk, "--cmdline", cmd,
			       no_seccomp ? "--no-seccomp" : NULL, NULL };
	char *out, *line;
	int st, r;

	snprintf(disk, sizeof(disk), "path=%s,%s", file, disk_opts);
	snprintf(vcpus, sizeof(vcpus), "%u", j->numjobs);
	snprintf(cmd, sizeof(cmd), "blk rw=%s bs=%u iodepth=%u numjobs=%u size=%llu runtime=%u", j->rw, j->bs,
		 j->iodepth, j->numjobs, (unsigned long long)size, secs * 1000);
	st = bench_run_capture(argv, &out);
	line = out ? strstr(out, "blk-json: ") : NULL;
	if (st != 0 || !line) {
		snprintf(why, whylen, "the guest run exited with status %d%s", st,
			 line ? "" : " without a blk-json line");
		free(out);
		return -1;
	}
	line += strlen("blk-json: ");
	line[strcspn(line, "\r\n")] = 0;
	r = blk_parse_job_json(line, j->dir, iops, p99, why, whylen);
	free(out);
	return r;
}

/* A backing file full of data (reads of holes would measure nothing), written once per run. */
static int make_backing(const char *path, uint64_t size)
{
	enum { CHUNK = 1 << 20 };
	uint64_t x = 0x243f6a8885a308d3ull;
	uint64_t *buf = malloc(CHUNK);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), r = 0;

	if (fd < 0 || !buf) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	for (uint64_t off = 0; off < size && r == 0; off += CHUNK) {
		for (size_t i = 0; i < CHUNK / 8; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = x;
		}
		if (write(fd, buf, CHUNK) != CHUNK)
			r = -EIO;
	}
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	close(fd);
	free(buf);
	return r;
}

bool bench_have_program(const char *name)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
		size_t n = strcspn(p, ":");

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, p, name);
		if (access(buf, X_OK) == 0)
			return true;
		p += n + (p[n] == ':');
	}
	return false;
}

void bench_unpin(void)
{
	cpu_set_t all;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	CPU_ZERO(&all);
	for (long c = 0; c < ncpu && c < CPU_SETSIZE; c++)
		CPU_SET((int)c, &all);
	sched_setaffinity(0, sizeof(all), &all);
}

int run_blk(struct bench_run *run, const struct blk_bench_opts *o, void (*progress)(const char *, ...))
{
	char xenith[PATH_MAX], file[PATH_MAX], why[256];
	const char *dir = getenv("XENITH_BLK_DIR") ? getenv("XENITH_BLK_DIR") : "/var/tmp";
	uint64_t size = o->quick ? (256ull << 20) : (1ull << 30);
	unsigned secs = o->quick ? 1 : 3, total, done = 0;
	ssize_t n;
	int r;

	if (!bench_have_program("fio")) {
		snprintf(run->note + strlen(run->note), sizeof(run->note) - strlen(run->note),
			 "blk: not run: fio is not installed (apt-get install fio; ci/setup.sh does); "
			 "it is the native baseline. ");
		fprintf(stderr, "xenith bench: blk suite skipped: fio is not installed\n");
		return 0;
	}
	n = readlink("/proc/self/exe", xenith, sizeof(xenith) - 16);
	if (n <= 0)
		return -1;
	xenith[n] = 0;
	strcpy(strrchr(xenith, '/') + 1, "xenith");
	snprintf(file, sizeof(file), "%s/xenith-blkbench-%d.img", dir, (int)getpid());
	progress("blk: writing a %llu MiB backing file in %s", (unsigned long long)(size >> 20), dir);
	r = make_backing(file, size);
	if (r < 0) {
		fprintf(stderr, "xenith bench: blk: cannot write %s: %s (set XENITH_BLK_DIR)\n", file,
			strerror(-r));
		unlink(file);
		return -1;
	}
	bench_unpin();
	total = (o->warmup + o->repeat) * (unsigned)(sizeof(jobs) / sizeof(jobs[0]) * NR_MODES);
	for (unsigned rep = 0; rep < o->warmup + o->repeat; rep++) {
		for (size_t j = 0; j < sizeof(jobs) / sizeof(jobs[0]); j++) {
			if (o->only && !o->only(o->opaque, jobs[j].name)) {
				done += NR_MODES;
				continue;
			}
			for (unsigned m = 0; m < NR_MODES; m++) {
				double ni, np, gi, gp;

				progress("blk %u/%u: %s, native fio then guest (%s)%s", ++done, total, jobs[j].name,
					 modes[m].name, rep < o->warmup ? " [warm-up]" : "");
				if (run_fio(&jobs[j], file, size, secs, &ni, &np, why, sizeof(why)) < 0 ||
				    run_guest_job(xenith, &jobs[j], modes[m].disk, file, size, secs, o->no_seccomp,
						  &gi, &gp, why, sizeof(why)) < 0) {
					fprintf(stderr, "\nxenith bench: blk %s (%s): %s\n", jobs[j].name, modes[m].name,
						why);
					unlink(file);
					return -1;
				}
				if (rep < o->warmup)
					continue;
				if (bench_job_pair_add(run, "blk", jobs[j].name, modes[m].name, ni, gi, np, gp) < 0) {
					unlink(file);
					return -1;
				}
			}
		}
	}
	unlink(file);
	return 0;
}

int bench_job_pair_add(struct bench_run *run, const char *suite, const char *job, const char *mode, double ni,
		       double gi, double np, double gp)
{
	char name[96], pname[96];

	snprintf(name, sizeof(name), "%s@%s", job, mode);
	snprintf(pname, sizeof(pname), "%s-p99@%s", job, mode);
	{
		struct bench_series *s[4] = {
			bench_run_series(run, suite, name, "native", "IOPS", true),
			bench_run_series(run, suite, name, "guest", "IOPS", true),
			bench_run_series(run, suite, pname, "native", "us", false),
			bench_run_series(run, suite, pname, "guest", "us", false),
		};
		double v[4] = { ni, gi, np, gp };

		for (int k = 0; k < 4; k++)
			if (!s[k] || bench_series_add(s[k], v[k]) < 0)
				return -1;
	}
	return 0;
}

void bench_print_job_table(const struct bench_run *run, const char *suite, const char *native_note)
{
	bool header = false;

	for (size_t i = 0; i < run->nr_series; i++) {
		const struct bench_series *g = &run->series[i], *nat, *gp, *np;
		char pname[80], job[64], title[32];
		const char *at;

		if (strcmp(g->suite, suite) || strcmp(g->mode, "guest") || strstr(g->name, "-p99@"))
			continue;
		at = strchr(g->name, '@');
		if (!at)
			continue;
		snprintf(job, sizeof(job), "%.*s", (int)(at - g->name), g->name);
		snprintf(pname, sizeof(pname), "%s-p99%s", job, at);
		nat = bench_run_find(run, suite, g->name, "native");
		gp = bench_run_find(run, suite, pname, "guest");
		np = bench_run_find(run, suite, pname, "native");
		if (!nat || !gp || !np)
			continue;
		if (!header) {
			snprintf(title, sizeof(title), "%s job", suite);
			printf("\n%-18s %-10s %11s %11s %7s   %9s %9s %7s\n", title, "mode", "native IOPS",
			       "guest IOPS", "ratio", "p99 nat", "p99 guest", "ratio");
			printf("%-18s %-10s %11s %11s %7s   %9s %9s %7s\n", "", "", native_note, "", "(g/n)", "(us)", "(us)",
			       "(g/n)");
			header = true;
		}
		printf("%-18s %-10s %11.0f %11.0f %7.3f   %9.1f %9.1f %7.3f\n", job, at + 1, nat->sum.median,
		       g->sum.median, g->sum.median / nat->sum.median, np->sum.median, gp->sum.median,
		       gp->sum.median / np->sum.median);
	}
}

void bench_print_blk(const struct bench_run *run)
{
	bench_print_job_table(run, "blk", "");
}
