// SPDX-License-Identifier: MIT
/*
 * The `migrate` suite (migbench.h): what relocating a domain costs, measured
 * as a user meets it, through the commands: `xenith run`, `save`, `restore`,
 * `migrate`, `migrate-receive` and `shutdown`, the `xenith` binary next to
 * this one, run as child processes with their output in files, each domain
 * in run directories of its own under one temporary directory (names and
 * domain ids are per run directory: a receiver on this host needs its own).
 * Every figure is one the commands print; nothing here times them from
 * outside but the clock they are given.
 *
 * save-restore: a cold boot of an idle 64 MiB domain (the `gap` program)
 * with `xenith run --boot-trace`, its `xenith save` to a file (the pause it
 * reports), then `xenith restore` of that file in another run directory;
 * each repetition is a pair, boot then restore, so drift between them
 * cancels in the pair's ratio.  Both processes are given the same clock:
 * XENITH_T0_NS is read just before each is spawned (posix_spawn, whose
 * cost does not grow with this process's memory, as fork's would), and
 * each reports "running" against it.  The event: for the boot, the
 * boot trace's first_run_us, vCPU 0's thread about to enter KVM_RUN the
 * first time; for the restore, its "running C ms after the start of
 * xenith", printed once domain_start_restored() has started the vCPU
 * threads (a restored vCPU resumes, it has no entry to trace).  So the
 * boot's figure includes the vCPU thread's start, some tens of us, and the
 * restore's does not: the ratio favours the restore by that much.  The
 * snapshot is written to the temporary directory, synced (the save's
 * pause includes the fsync): the run's note names the file system.
 *
 * idle-64M, idle-1G: `xenith migrate` of a running `gap` domain to a
 * `xenith migrate-receive` on 127.0.0.1 (port 0: the one it picks), its
 * figures as it prints them (downtime: the sender's pause to the
 * receiver's DONE), then, once the domain has run on at the receiver, its
 * shutdown: the guest prints the largest gap its own clock saw between two
 * wakes, the downtime as the guest saw it, plus up to one period (1 ms),
 * which is taken off.  It also holds any time the vCPU did not get a CPU
 * during pre-copy (the sender's and receiver's threads share the host's
 * CPUs with it), and a host hiccup before the migration larger than the
 * migration's gap would be counted instead: the domain runs only
 * SETTLE_MS before it is moved and RUN_ON_MS after.
 *
 * dirty-R: the same with a 256 MiB domain writing 64 MiB at R MB/s (`dirty
 * R 64`), after DIRTY_SETTLE_MS of writing; whether pre-copy converged
 * (the migration's own verdict) and the rate the guest reached.  The
 * lowest rate at which most runs did not converge is the run's dirty-limit
 * (report_migrate_limit()).
 *
 * logs-R: the dirty log's two ways, on the same dirty-R migration, paired
 * in each repetition: with KVM's dirty ring (the default, --dirty-ring auto)
 * and with its bitmap (--dirty-ring 0), in turn first; downtime and time in
 * all per way (modes ring and bitmap) and the pair's ratio (mode ratio,
 * bitmap / ring: the ring's speed-up).  A host whose KVM has no ring is not
 * compared (the run's note says so).
 *
 * Repetitions go round the cases (every selected case once, then again),
 * the first o->warmup rounds unrecorded.  A command that fails, prints
 * nothing this can read or does not end in time fails the suite, named
 * with the end of its output; every child is stopped and every directory
 * removed on every path, Ctrl-C included (as the net suite does: the waits
 * end, everything is stopped, then the signal is raised again).
 */
#include "migbench.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <regex.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "netproc.h"
#include "report.h"

extern char **environ;

#define DOM "mb"                  /* the domain's name, in each run directory */
#define SR_MEMORY "64"            /* MiB: save-restore's domain; series named "...-64M" */
#define DIRTY_MEMORY "256"
#define DIRTY_MIB "64"            /* what the dirty domain writes, round and round */
#define GUEST_PERIOD_MS 1.0       /* gap's default period, and dirty's pacing */
#define SETTLE_MS 50              /* an idle domain runs this long before it is saved or moved */
#define DIRTY_SETTLE_MS 300       /* a dirtying one this long: writing at its pace, not just started */
#define RUN_ON_MS 50              /* and on after the restore or migration, before its shutdown */
#define BOOT_WAIT_S 30.0
#define CMD_WAIT_S 120.0          /* a migration that does not converge takes its 30 rounds */
#define END_WAIT_S 30.0
#define STATUS_DESTROYED 67       /* `xenith run`'s status when its domain was saved or moved away */
#define OUTPUT_TAIL_LINES 8
/*
 * Paths: the temporary directory, a repetition's directory in it, the
 * files there.  A run directory's control socket must fit a sockaddr_un
 * (108 bytes) anyway: xenith refuses a longer one, saying so.
 */
#define TMP_MAX_LEN 512
#define DIR_MAX_LEN (TMP_MAX_LEN + 16)
#define FILE_MAX_LEN (DIR_MAX_LEN + 32)

struct rep_paths {
	char dir[DIR_MAX_LEN];    /* the repetition's: outputs, the snapshot */
	char a[FILE_MAX_LEN];     /* run directory of the domain as booted */
	char b[FILE_MAX_LEN];     /* run directory of the restore or the receiver */
};

enum mig_kind { SAVE_RESTORE, MIGRATE_IDLE, MIGRATE_DIRTY, MIGRATE_LOGS };

/*
 * The rates double from 25 to 3200 MB/s, with 1200 between: on the AMD
 * EPYC kvm_pvm host (2 CPUs, loopback, 2026-12) 400 MB/s converged, 1600
 * did not and 800 went either way (1 of 1 runs did not, 3 of 3 did), so
 * --quick keeps the rates around that edge and one below.
 */
static const struct mig_case {
	const char *name;
	enum mig_kind kind;
	const char *memory;       /* MiB */
	unsigned rate;            /* dirty: MB/s */
	bool quick;
} cases[] = {
	{ "save-restore", SAVE_RESTORE, SR_MEMORY, 0, true },
	{ "idle-64M", MIGRATE_IDLE, "64", 0, true },
	{ "idle-1G", MIGRATE_IDLE, "1024", 0, true },
	{ "dirty-25", MIGRATE_DIRTY, DIRTY_MEMORY, 25, false },
	{ "dirty-50", MIGRATE_DIRTY, DIRTY_MEMORY, 50, false },
	{ "dirty-100", MIGRATE_DIRTY, DIRTY_MEMORY, 100, true },
	{ "dirty-200", MIGRATE_DIRTY, DIRTY_MEMORY, 200, false },
	{ "dirty-400", MIGRATE_DIRTY, DIRTY_MEMORY, 400, true },
	{ "dirty-800", MIGRATE_DIRTY, DIRTY_MEMORY, 800, true },
	{ "dirty-1200", MIGRATE_DIRTY, DIRTY_MEMORY, 1200, true },
	{ "dirty-1600", MIGRATE_DIRTY, DIRTY_MEMORY, 1600, true },
	{ "dirty-3200", MIGRATE_DIRTY, DIRTY_MEMORY, 3200, false },
	{ "logs-400", MIGRATE_LOGS, DIRTY_MEMORY, 400, true },
};
#define NR_CASES (sizeof(cases) / sizeof(cases[0]))

bool mig_case_exists(const char *name)
{
	for (size_t i = 0; i < NR_CASES; i++)
		if (!strcmp(cases[i].name, name))
			return true;
	return false;
}

void mig_list(void)
{
	for (size_t i = 0; i < NR_CASES; i++) {
		const struct mig_case *c = &cases[i];

		if (c->kind == SAVE_RESTORE)
			printf("%-8s %-16s %-10s %-6s lower (save's pause; restore and cold boot from exec to "
			       "running, idle %s MiB domain)\n", "migrate", c->name, "ms", c->quick ? "yes" : "no",
			       c->memory);
		else if (c->kind == MIGRATE_LOGS)
			printf("%-8s %-16s %-10s %-6s lower (dirty %u MB/s moved with KVM's dirty ring and with its "
			       "bitmap, paired: downtime, total, ratio; %s MiB domain)\n", "migrate", c->name, "ms",
			       c->quick ? "yes" : "no", c->rate, c->memory);
		else
			printf("%-8s %-16s %-10s %-6s lower (downtime, guest-seen gap, total; pages, rounds%s; "
			       "%s MiB domain)\n", "migrate", c->name, "ms", c->quick ? "yes" : "no",
			       c->kind == MIGRATE_DIRTY ? ", converged, rate reached" : "", c->memory);
	}
}

/* ---- what the commands print ---- */

#define MAX_GROUPS 16

/*
 * The last line of text matching re (POSIX extended, within one line), its
 * first n groups as numbers into v: NAN for a group that did not take part,
 * 0 for one that is not a number.  false when no line matches.
 */
static bool last_match(const char *text, const char *re, double *v, unsigned n)
{
	regmatch_t m[MAX_GROUPS + 1];
	const char *s = text;
	bool found = false;
	regex_t rx;

	if (n > MAX_GROUPS || regcomp(&rx, re, REG_EXTENDED | REG_NEWLINE) != 0)
		return false;
	while (*s && regexec(&rx, s, n + 1, m, s == text ? 0 : REG_NOTBOL) == 0) {
		for (unsigned k = 0; k < n; k++)
			v[k] = m[k + 1].rm_so < 0 ? NAN : strtod(s + m[k + 1].rm_so, NULL);
		found = true;
		s += m[0].rm_eo > m[0].rm_so ? m[0].rm_eo : m[0].rm_so + 1;
	}
	regfree(&rx);
	return found;
}

/* A number as the commands print it (%llu, %.1f, %.3f), maybe negative: two groups, number and fraction. */
#define NUM "(-?[0-9]+(\\.[0-9]+)?)"
#define UINT "([0-9]+)"

int mig_parse_saved(const char *text, struct mig_saved *s)
{
	double v[6];

	/* "saved 'NAME' to FILE: N pages, X MiB, paused Y ms" (FILE may hold ": ", NAME no quote) */
	if (!last_match(text, "^saved '[^']*' to .*: " UINT " pages, " NUM " MiB, paused " NUM " ms$", v, 5))
		return -EINVAL;
	s->pages = v[0];
	s->paused_ms = v[3];
	return 0;
}

int mig_parse_restored(const char *text, struct mig_restored *s)
{
	double v[7];

	if (!last_match(text, "^xenith: restored '[^']*' from .*: " UINT " pages, built in " NUM " ms, loaded in "
			NUM " ms, running " NUM " ms after the start of xenith$", v, 7))
		return -EINVAL;
	s->pages = v[0];
	s->build_ms = v[1];
	s->load_ms = v[3];
	s->running_ms = v[5];
	return 0;
}

int mig_parse_first_run(const char *text, double *ms)
{
	double v[8];

	/* -1.0: the event never happened (tools/cmd_run.c's boot_trace) */
	if (!last_match(text, "^boot-trace: created_us=" NUM " first_run_us=" NUM " first_exit_us=" NUM
			" first_line_us=" NUM "$", v, 8) || v[2] < 0)
		return -EINVAL;
	*ms = v[2] / 1000.0;
	return 0;
}

int mig_parse_migrated(const char *text, struct mig_migrated *m)
{
	double v[11];

	if (!last_match(text, "^migrated '[^']*' to .*: " UINT " rounds( \\(did not converge[^)]*\\))?, " UINT
			" pages \\(" NUM " MiB\\), stop and copy " UINT " pages \\(" UINT " the VMM's own writes\\), "
			"downtime " NUM " ms, " NUM " ms in all$", v, 11))
		return -EINVAL;
	m->rounds = v[0];
	m->converged = isnan(v[1]);
	m->pages = v[2];
	m->mib = v[3];
	m->final_pages = v[5];
	m->swept_pages = v[6];
	m->downtime_ms = v[7];
	m->total_ms = v[9];
	return 0;
}

int mig_parse_dirty_log(const char *text, struct mig_dirty_log *l)
{
	double v[2];

	memset(l, 0, sizeof(*l));
	if (last_match(text, "^dirty log: KVM's dirty ring, " UINT " entries per vCPU; " UINT
		       " vCPU exits for a full ring$", v, 2)) {
		l->ring_entries = v[0];
		l->full_exits = v[1];
		return 0;
	}
	return last_match(text, "^dirty log: KVM's dirty bitmap$", v, 0) ? 0 : -EINVAL;
}

int mig_parse_guest(const char *text, const char *prog, struct mig_guest *g)
{
	double v[4];

	memset(g, 0, sizeof(*g));
	if (!strcmp(prog, "gap")) {
		if (!last_match(text, "^gap: " UINT " wakes, largest gap " UINT " us$", v, 2))
			return -EINVAL;
		g->wakes = v[0];
		g->largest_gap_us = v[1];
		return 0;
	}
	if (!strcmp(prog, "dirty")) {
		if (!last_match(text, "^dirty: " UINT " wakes, " UINT " pages written at " UINT " MB/s, largest gap "
				UINT " us$", v, 4))
			return -EINVAL;
		g->wakes = v[0];
		g->pages = v[1];
		g->rate_mbs = v[2];
		g->largest_gap_us = v[3];
		return 0;
	}
	return -EINVAL;
}

double mig_guest_gap_ms(double largest_gap_us, double period_ms)
{
	double ms = largest_gap_us / 1000.0 - period_ms;

	return ms > 0 ? ms : 0;
}

/* ---- child processes ---- */

struct mig_ctx {
	char xenith[PATH_MAX];
	const char *minios;
	bool no_seccomp;
	char tmp[TMP_MAX_LEN];    /* every run directory, output and snapshot is under it */
	const char *base;         /* where tmp is: $TMPDIR or /tmp */
	const char *fs;           /* its file system, for the run's note */
	char **env;               /* environ without XENITH_T0_NS, and a slot for ours before the NULL */
	size_t nenv;
	unsigned seq;             /* numbers the repetitions' directories */
	bool no_ring_noted;       /* logs-R found no dirty ring here, and the note says so */
};

/* A command: the net suite's process (its output file, waits and stop), and its command line for messages. */
struct cmd {
	struct nproc p;
	char what[600];
};

/* "xenith ARGS..." for messages (the binary's full path left out). */
static void describe(struct cmd *m, const char *const *argv)
{
	size_t used = (size_t)snprintf(m->what, sizeof(m->what), "xenith");

	for (unsigned i = 1; argv[i] && used < sizeof(m->what); i++)
		used += (size_t)snprintf(m->what + used, sizeof(m->what) - used, " %s", argv[i]);
}

/*
 * Starts argv with its output (stdout and stderr) in file out.  With t0,
 * the child's XENITH_T0_NS is the clock read into *t0 just before the
 * spawn: what its "from exec" figures count from.
 */
static int cmd_start(struct mig_ctx *c, struct cmd *m, const char *const *argv, const char *out, uint64_t *t0)
{
	posix_spawn_file_actions_t fa;
	char t0var[48];
	pid_t pid;
	int fd, r;

	memset(m, 0, sizeof(*m));
	m->p.status = -1;
	describe(m, argv);
	snprintf(m->p.out, sizeof(m->p.out), "%s", out);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "xenith bench: migrate: %s: %s\n", out, strerror(errno));
		return -EIO;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fd, STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, fd, STDERR_FILENO);
	c->env[c->nenv] = NULL;
	if (t0) {
		*t0 = now_ns();
		snprintf(t0var, sizeof(t0var), "XENITH_T0_NS=%llu", (unsigned long long)*t0);
		c->env[c->nenv] = t0var;
	}
	r = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, c->env);
	c->env[c->nenv] = NULL;
	posix_spawn_file_actions_destroy(&fa);
	close(fd);
	if (r) {
		fprintf(stderr, "xenith bench: migrate: cannot start `%s`: %s\n", m->what, strerror(r));
		return -EIO;
	}
	m->p.pid = pid;
	return 0;
}

/* Says that m failed (why), with the end of its output: -EIO; -EINTR after an interrupt, saying nothing. */
static int cmd_fail(const struct cmd *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int cmd_fail(const struct cmd *m, const char *fmt, ...)
{
	char why[256], *all, *tail;
	unsigned lines = 0;
	va_list ap;

	if (nproc_interrupted)
		return -EINTR;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	fprintf(stderr, "xenith bench: migrate: `%s` %s; the end of its output:\n", m->what, why);
	all = nproc_output(&m->p);
	if (!all || !all[0]) {
		fprintf(stderr, "    (%s)\n", all ? "nothing" : "out of memory to read it");
		free(all);
		return -EIO;
	}
	/* back from the end to the start of its last OUTPUT_TAIL_LINES lines (a final newline starts none) */
	tail = all + strlen(all);
	if (tail[-1] == '\n')
		*--tail = 0;
	while (tail > all && !(tail[-1] == '\n' && ++lines == OUTPUT_TAIL_LINES))
		tail--;
	for (char *line = strtok(tail, "\n"); line; line = strtok(NULL, "\n"))
		fprintf(stderr, "    %s\n", line);
	free(all);
	return -EIO;
}

/* How a child's status reads: "exit status N" or "signal N". */
static const char *status_text(int status, char *buf, size_t size)
{
	if (status > 128)
		snprintf(buf, size, "signal %d (%s)", status - 128, strsignal(status - 128));
	else
		snprintf(buf, size, "exit status %d", status);
	return buf;
}

static int cmd_wait_line(struct cmd *m, const char *needle, double timeout_s)
{
	char st[96];

	if (nproc_wait_line(&m->p, needle, timeout_s))
		return 0;
	if (!m->p.pid)
		return cmd_fail(m, "ended (%s) before printing '%s'", status_text(m->p.status, st, sizeof(st)),
				needle);
	return cmd_fail(m, "did not print '%s' within %.0f s", needle, timeout_s);
}

/* Waits for m's end, which must be with status want. */
static int cmd_wait_status(struct cmd *m, double timeout_s, int want)
{
	char st[96];

	if (!nproc_wait_exit(&m->p, timeout_s))
		return cmd_fail(m, "did not end within %.0f s", timeout_s);
	if (m->p.status != want)
		return cmd_fail(m, "ended with %s, not %d", status_text(m->p.status, st, sizeof(st)), want);
	return 0;
}


/* The lines the suite reads, for cmd_read(). */
enum mig_line { LINE_SAVED, LINE_RESTORED, LINE_FIRST_RUN, LINE_MIGRATED, LINE_GAP, LINE_DIRTY, LINE_LOG };

static const char *const line_text[] = {
	[LINE_SAVED] = "saved 'NAME' to FILE: N pages, X MiB, paused Y ms",
	[LINE_RESTORED] = "xenith: restored 'NAME' from FILE: N pages, built in A ms, loaded in B ms, running C ms "
			  "after the start of xenith",
	[LINE_FIRST_RUN] = "boot-trace: created_us=A first_run_us=B first_exit_us=C first_line_us=D",
	[LINE_MIGRATED] = "migrated 'NAME' to HOST:PORT: R rounds, P pages (M MiB), stop and copy F pages (S the "
			  "VMM's own writes), downtime D ms, T ms in all",
	[LINE_GAP] = "gap: N wakes, largest gap X us",
	[LINE_DIRTY] = "dirty: N wakes, P pages written at R MB/s, largest gap X us",
	[LINE_LOG] = "dirty log: KVM's dirty ring, N entries per vCPU; F vCPU exits for a full ring (or: KVM's "
		     "dirty bitmap)",
};

/* Reads line w from m's output into out (the parser's type); fails naming the line when it is not there. */
static int cmd_read(const struct cmd *m, enum mig_line w, void *out)
{
	char *text = nproc_output(&m->p);
	int r = -EINVAL;

	if (text) {
		switch (w) {
		case LINE_SAVED: r = mig_parse_saved(text, out); break;
		case LINE_RESTORED: r = mig_parse_restored(text, out); break;
		case LINE_FIRST_RUN: r = mig_parse_first_run(text, out); break;
		case LINE_MIGRATED: r = mig_parse_migrated(text, out); break;
		case LINE_GAP: r = mig_parse_guest(text, "gap", out); break;
		case LINE_DIRTY: r = mig_parse_guest(text, "dirty", out); break;
		case LINE_LOG: r = mig_parse_dirty_log(text, out); break;
		}
	}
	free(text);
	return r == 0 ? 0 : cmd_fail(m, "printed no line the suite reads as \"%s\"", line_text[w]);
}

static void nap_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL); /* an interrupt ends it early: the next wait sees the flag */
}

/* A directory for one repetition, and two run directories in it (mode 0700, as xenith wants them). */
static int rep_dirs(struct mig_ctx *c, struct rep_paths *p)
{
	snprintf(p->dir, sizeof(p->dir), "%s/%u", c->tmp, ++c->seq);
	snprintf(p->a, sizeof(p->a), "%s/a", p->dir);
	snprintf(p->b, sizeof(p->b), "%s/b", p->dir);
	if (mkdir(p->dir, 0700) < 0 || mkdir(p->a, 0700) < 0 || mkdir(p->b, 0700) < 0) {
		fprintf(stderr, "xenith bench: migrate: cannot make run directories in %s: %s\n", p->dir,
			strerror(errno));
		return -EIO;
	}
	return 0;
}

/* `xenith run` of the bundled minios running cmdline in run directory rdir, into argv (room for 16). */
static void run_argv(const struct mig_ctx *c, const char **argv, const char *rdir, const char *memory,
		     const char *cmdline, bool boot_trace, const char *dirty_ring)
{
	unsigned n = 0;

	argv[n++] = c->xenith;
	argv[n++] = "run";
	argv[n++] = "--run-dir";
	argv[n++] = rdir;
	argv[n++] = "--name";
	argv[n++] = DOM;
	argv[n++] = "--memory";
	argv[n++] = memory;
	argv[n++] = "--kernel";
	argv[n++] = c->minios;
	argv[n++] = "--cmdline";
	argv[n++] = cmdline;
	if (boot_trace)
		argv[n++] = "--boot-trace";
	if (c->no_seccomp)
		argv[n++] = "--no-seccomp";
	if (dirty_ring) {
		argv[n++] = "--dirty-ring";
		argv[n++] = dirty_ring;
	}
	argv[n] = NULL;
}

/* ---- one repetition of a case ---- */

/*
 * The domain in run directory rdir (its VMM vmm) runs on RUN_ON_MS, is shut
 * down with `xenith shutdown` (shut, its output in o_shut), and its guest's
 * last line w is read from vmm's output into out.
 */
static int run_on_and_shut_down(struct mig_ctx *c, struct cmd *shut, const char *rdir, const char *o_shut,
				struct cmd *vmm, enum mig_line w, void *out)
{
	int r;

	nap_ms(RUN_ON_MS);
	r = cmd_start(c, shut, (const char *const[]){ c->xenith, "shutdown", "--run-dir", rdir, DOM, NULL },
		      o_shut, NULL);
	if (r == 0)
		r = cmd_wait_status(shut, END_WAIT_S, 0);
	if (r == 0)
		r = cmd_wait_status(vmm, END_WAIT_S, 0);
	if (r == 0)
		r = cmd_read(vmm, w, out);
	return r;
}

struct sr_sample {
	struct mig_saved save;
	struct mig_restored rest;
	double boot_ms;
};

/* Boot, save, restore, shutdown of an idle domain: one pair (see the top). */
static int rep_save_restore(struct mig_ctx *c, const struct rep_paths *p, struct sr_sample *s)
{
	char snap[FILE_MAX_LEN], o_run[FILE_MAX_LEN], o_save[FILE_MAX_LEN], o_rest[FILE_MAX_LEN],
	     o_shut[FILE_MAX_LEN];
	const char *a = p->a, *b = p->b;
	struct cmd boot, save, rest, shut;
	const char *argv[20];
	struct mig_guest g;
	uint64_t t0;
	int r;

	boot.p.pid = save.p.pid = rest.p.pid = shut.p.pid = 0;
	snprintf(snap, sizeof(snap), "%s/snap", p->dir);
	snprintf(o_run, sizeof(o_run), "%s/run.out", p->dir);
	snprintf(o_save, sizeof(o_save), "%s/save.out", p->dir);
	snprintf(o_rest, sizeof(o_rest), "%s/restore.out", p->dir);
	snprintf(o_shut, sizeof(o_shut), "%s/shutdown.out", p->dir);

	run_argv(c, argv, a, SR_MEMORY, "gap", true, NULL);
	r = cmd_start(c, &boot, argv, o_run, &t0);
	if (r == 0)
		r = cmd_wait_line(&boot, "gap: waking every", BOOT_WAIT_S);
	if (r < 0)
		goto out;
	nap_ms(SETTLE_MS);
	r = cmd_start(c, &save, (const char *const[]){ c->xenith, "save", "--run-dir", a, DOM, snap, NULL }, o_save,
		      NULL);
	if (r == 0)
		r = cmd_wait_status(&save, CMD_WAIT_S, 0);
	if (r == 0)
		r = cmd_read(&save, LINE_SAVED, &s->save);
	/* the VMM ends once its domain is saved, and prints the boot trace as it does */
	if (r == 0)
		r = cmd_wait_status(&boot, END_WAIT_S, STATUS_DESTROYED);
	if (r == 0)
		r = cmd_read(&boot, LINE_FIRST_RUN, &s->boot_ms);
	if (r < 0)
		goto out;

	r = cmd_start(c, &rest, (const char *const[]){ c->xenith, "restore", "--run-dir", b, snap, NULL }, o_rest,
		      &t0);
	if (r == 0)
		r = cmd_wait_line(&rest, "xenith: restored '", BOOT_WAIT_S);
	if (r == 0)
		r = cmd_read(&rest, LINE_RESTORED, &s->rest);
	if (r < 0)
		goto out;
	/* the restored guest must run on: its line at the shutdown says it woke again */
	r = run_on_and_shut_down(c, &shut, b, o_shut, &rest, LINE_GAP, &g);
out:
	nproc_stop(&shut.p);
	nproc_stop(&rest.p);
	nproc_stop(&save.p);
	nproc_stop(&boot.p);
	return r;
}

struct mg_sample {
	struct mig_migrated m;
	struct mig_guest g;
	struct mig_dirty_log log;
};

/*
 * A domain booted in run directory a, moved live to a receiver in run
 * directory b, run on there and shut down (see the top).
 */
static int rep_migrate(struct mig_ctx *c, const struct mig_case *mc, const struct rep_paths *p,
		       const char *dirty_ring, struct mg_sample *s)
{
	bool dirty = mc->kind == MIGRATE_DIRTY || mc->kind == MIGRATE_LOGS;
	char o_send[FILE_MAX_LEN], o_recv[FILE_MAX_LEN], o_mig[FILE_MAX_LEN], o_shut[FILE_MAX_LEN], cmdline[64];
	const char *a = p->a, *b = p->b;
	char *addr = NULL;
	struct cmd send, recv, mig, shut;
	const char *argv[20];
	int r;

	send.p.pid = recv.p.pid = mig.p.pid = shut.p.pid = 0;
	snprintf(o_send, sizeof(o_send), "%s/run.out", p->dir);
	snprintf(o_recv, sizeof(o_recv), "%s/receive.out", p->dir);
	snprintf(o_mig, sizeof(o_mig), "%s/migrate.out", p->dir);
	snprintf(o_shut, sizeof(o_shut), "%s/shutdown.out", p->dir);
	if (dirty)
		snprintf(cmdline, sizeof(cmdline), "dirty %u %s", mc->rate, DIRTY_MIB);
	else
		snprintf(cmdline, sizeof(cmdline), "gap");

	/* the receiver gets ready while the domain boots */
	r = cmd_start(c, &recv, (const char *const[]){ c->xenith, "migrate-receive", "--run-dir", b, "--listen",
						       "127.0.0.1:0", NULL }, o_recv, NULL);
	if (r < 0)
		goto out;
	run_argv(c, argv, a, mc->memory, cmdline, false, dirty_ring);
	r = cmd_start(c, &send, argv, o_send, NULL);
	if (r == 0)
		r = cmd_wait_line(&send, dirty ? " MB/s over " : "gap: waking every", BOOT_WAIT_S);
	if (r == 0)
		r = cmd_wait_line(&recv, "listening on ", BOOT_WAIT_S);
	if (r < 0)
		goto out;
	addr = nproc_line(&recv.p, "listening on ");
	if (!addr || !addr[0]) {
		r = cmd_fail(&recv, "printed no address after 'listening on '");
		goto out;
	}
	nap_ms(dirty ? DIRTY_SETTLE_MS : SETTLE_MS);
	r = cmd_start(c, &mig, (const char *const[]){ c->xenith, "migrate", "--run-dir", a, DOM, addr, NULL }, o_mig,
		      NULL);
	if (r == 0)
		r = cmd_wait_status(&mig, CMD_WAIT_S, 0);
	if (r == 0)
		r = cmd_read(&mig, LINE_MIGRATED, &s->m);
	if (r == 0)
		r = cmd_read(&mig, LINE_LOG, &s->log);
	/* the sender's VMM ends once the receiver has the domain */
	if (r == 0)
		r = cmd_wait_status(&send, END_WAIT_S, STATUS_DESTROYED);
	if (r == 0)
		r = cmd_wait_line(&recv, "xenith: received '", END_WAIT_S);
	if (r < 0)
		goto out;
	r = run_on_and_shut_down(c, &shut, b, o_shut, &recv, dirty ? LINE_DIRTY : LINE_GAP, &s->g);
out:
	free(addr);
	nproc_stop(&shut.p);
	nproc_stop(&mig.p);
	nproc_stop(&send.p);
	nproc_stop(&recv.p);
	return r;
}

/* ---- series ---- */

static int add(struct bench_run *run, const char *name, const char *mode, const char *unit, bool higher,
	       double v)
{
	struct bench_series *s = bench_run_series(run, "migrate", name, mode, unit, higher);

	return s && bench_series_add(s, v) == 0 ? 0 : -ENOMEM;
}

/* One case's figures, prefix-FIGURE, mode xenith. */
static int add_fig(struct bench_run *run, const char *prefix, const char *fig, const char *unit, bool higher,
		   double v)
{
	char name[48];

	snprintf(name, sizeof(name), "%s-%s", prefix, fig);
	return add(run, name, "xenith", unit, higher, v);
}

static int record_save_restore(struct bench_run *run, const struct sr_sample *s)
{
	static const char running[] = "to-running-" SR_MEMORY "M";
	int r;

	r = add_fig(run, "save-" SR_MEMORY "M", "paused", "ms", false, s->save.paused_ms);
	if (r == 0)
		r = add_fig(run, "restore-" SR_MEMORY "M", "build", "ms", false, s->rest.build_ms);
	if (r == 0)
		r = add_fig(run, "restore-" SR_MEMORY "M", "load", "ms", false, s->rest.load_ms);
	if (r == 0)
		r = add(run, running, "restore", "ms", false, s->rest.running_ms);
	if (r == 0)
		r = add(run, running, "boot", "ms", false, s->boot_ms);
	/* as every ratio series: speed, higher is better (boot / restore); the table prints its inverse */
	if (r == 0 && s->rest.running_ms > 0 && s->boot_ms > 0)
		r = add(run, running, "ratio", "x", true, s->boot_ms / s->rest.running_ms);
	return r;
}

static int record_migrate(struct bench_run *run, const struct mig_case *mc, const struct mg_sample *s)
{
	int r;

	r = add_fig(run, mc->name, "downtime", "ms", false, s->m.downtime_ms);
	if (r == 0)
		r = add_fig(run, mc->name, "guest-gap", "ms", false, mig_guest_gap_ms(s->g.largest_gap_us,
										      GUEST_PERIOD_MS));
	if (r == 0)
		r = add_fig(run, mc->name, "total", "ms", false, s->m.total_ms);
	if (r == 0)
		r = add_fig(run, mc->name, "pages", "pages", false, s->m.pages);
	if (r == 0)
		r = add_fig(run, mc->name, "rounds", "rounds", false, s->m.rounds);
	if (r == 0 && mc->kind == MIGRATE_DIRTY)
		r = add_fig(run, mc->name, "converged", "0/1", true, s->m.converged ? 1 : 0);
	if (r == 0 && mc->kind == MIGRATE_DIRTY)
		r = add_fig(run, mc->name, "rate", "MB/s", true, s->g.rate_mbs);
	return r;
}

/*
 * logs-R's pair: the ring's and the bitmap's figures (modes ring, bitmap),
 * and bitmap / ring (mode ratio: the ring's speed-up, higher is better).
 */
static int record_logs(struct bench_run *run, const struct mig_case *mc, const struct mg_sample *ring,
		       const struct mg_sample *bitmap)
{
	static const char *const figs[] = { "downtime", "total" };
	char name[48];
	int r = 0;

	for (size_t k = 0; k < sizeof(figs) / sizeof(figs[0]) && r == 0; k++) {
		double vr = k ? ring->m.total_ms : ring->m.downtime_ms, vb = k ? bitmap->m.total_ms :
									  bitmap->m.downtime_ms;

		snprintf(name, sizeof(name), "%s-%s", mc->name, figs[k]);
		r = add(run, name, "ring", "ms", false, vr);
		if (r == 0)
			r = add(run, name, "bitmap", "ms", false, vb);
		if (r == 0 && vr > 0 && vb > 0)
			r = add(run, name, "ratio", "x", true, vb / vr);
	}
	snprintf(name, sizeof(name), "%s-full-exits", mc->name);
	if (r == 0)
		r = add(run, name, "ring", "exits", false, ring->log.full_exits);
	return r;
}

/* Both ways of logs-R, in turn first by repetition; its directories removed after. */
static int run_logs(struct mig_ctx *c, const struct mig_case *mc, unsigned rep, struct bench_run *run)
{
	struct rep_paths p[2] = { { .dir = "" }, { .dir = "" } };
	struct mg_sample s[2]; /* [0] the ring's, [1] the bitmap's */
	int r = rep_dirs(c, &p[0]);

	if (r == 0)
		r = rep_dirs(c, &p[1]);
	for (unsigned k = 0; k < 2 && r == 0; k++) {
		unsigned w = (k + rep) % 2;

		r = rep_migrate(c, mc, &p[w], w ? "0" : NULL, &s[w]);
	}
	if (r == 0 && !s[0].log.ring_entries) {
		if (!c->no_ring_noted && run) {
			size_t used = strlen(run->note);

			snprintf(run->note + used, sizeof(run->note) - used, "migrate: %s not compared: this host's "
				 "KVM has no dirty ring (the default fell back to its bitmap). ", mc->name);
		}
		c->no_ring_noted = true;
	} else if (r == 0 && run) {
		r = record_logs(run, mc, &s[0], &s[1]);
	}
	if (r == -ENOMEM)
		fprintf(stderr, "xenith bench: migrate: out of memory\n");
	for (unsigned k = 0; k < 2; k++)
		if (p[k].dir[0])
			nproc_remove_tree(p[k].dir);
	return r;
}

/* One repetition of case mc, recorded into run (NULL: a warm-up); its directory removed after. */
static int run_case(struct mig_ctx *c, const struct mig_case *mc, unsigned rep, struct bench_run *run)
{
	struct rep_paths p;
	struct sr_sample sr;
	struct mg_sample mg;
	int r;

	if (mc->kind == MIGRATE_LOGS)
		return run_logs(c, mc, rep, run);
	r = rep_dirs(c, &p);
	if (r == 0 && mc->kind == SAVE_RESTORE) {
		r = rep_save_restore(c, &p, &sr);
		if (r == 0 && run)
			r = record_save_restore(run, &sr);
	} else if (r == 0) {
		r = rep_migrate(c, mc, &p, NULL, &mg);
		if (r == 0 && run)
			r = record_migrate(run, mc, &mg);
	}
	if (r == -ENOMEM)
		fprintf(stderr, "xenith bench: migrate: out of memory\n");
	nproc_remove_tree(p.dir);
	return r;
}

/* ---- the suite ---- */

static bool case_selected(const struct mig_bench_opts *o, const struct mig_case *mc)
{
	return o->only ? o->only(o->opaque, mc->name, mc->quick) : !o->quick || mc->quick;
}

static void on_stop_signal(int sig)
{
	nproc_interrupted = sig;
}

/* "ext2/3/4" and the like: where the snapshots went, for the run's note. */
static const char *fs_name(const char *path)
{
	struct statfs st;

	if (statfs(path, &st) < 0)
		return "an unknown file system";
	switch ((unsigned long)st.f_type) {
	case 0xef53: return "ext2/3/4";
	case 0x01021994: return "tmpfs";
	case 0x58465342: return "xfs";
	case 0x9123683e: return "btrfs";
	case 0x794c7630: return "overlayfs";
	default: return "another file system";
	}
}

/* The xenith binary next to this one, the environment the children get, the temporary directory. */
static int ctx_init(struct mig_ctx *c, const struct mig_bench_opts *o)
{
	const char *tmpdir = getenv("TMPDIR");
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	size_t k = 0;

	memset(c, 0, sizeof(*c));
	c->minios = o->minios;
	c->no_seccomp = o->no_seccomp;
	if (n <= 0) {
		fprintf(stderr, "xenith bench: migrate: /proc/self/exe: %s\n", strerror(errno));
		return -1;
	}
	self[n] = 0;
	snprintf(c->xenith, sizeof(c->xenith), "%s/xenith", dirname(self));
	if (access(c->xenith, X_OK) < 0) {
		fprintf(stderr, "xenith bench: migrate: %s: %s (the suite runs the xenith binary next to "
			"xenith-bench: build it, `meson compile`)\n", c->xenith, strerror(errno));
		return -1;
	}
	while (environ[k])
		k++;
	c->env = calloc(k + 2, sizeof(*c->env));
	if (!c->env) {
		fprintf(stderr, "xenith bench: migrate: out of memory\n");
		return -1;
	}
	/* an inherited XENITH_T0_NS would move every child's clock: only the timed ones get one, their own */
	for (size_t i = 0; i < k; i++)
		if (strncmp(environ[i], "XENITH_T0_NS=", 13))
			c->env[c->nenv++] = environ[i];
	c->base = tmpdir && *tmpdir ? tmpdir : "/tmp";
	if (strlen(c->base) > TMP_MAX_LEN - 32) {
		fprintf(stderr, "xenith bench: migrate: $TMPDIR is too long (%zu bytes; a control socket's path "
			"must fit 108)\n", strlen(c->base));
		free(c->env);
		return -1;
	}
	snprintf(c->tmp, sizeof(c->tmp), "%s/xenith-migbench.XXXXXX", c->base);
	if (!mkdtemp(c->tmp)) {
		fprintf(stderr, "xenith bench: migrate: cannot make %s: %s\n", c->tmp, strerror(errno));
		free(c->env);
		return -1;
	}
	c->fs = fs_name(c->tmp);
	return 0;
}

static void ctx_free(struct mig_ctx *c)
{
	nproc_remove_tree(c->tmp);
	free(c->env);
}

int run_migrate(struct bench_run *run, const struct mig_bench_opts *o, void (*progress)(const char *fmt, ...))
{
	struct sigaction sa = { .sa_handler = on_stop_signal }, old[2]; /* no SA_RESTART: sleeps end early */
	unsigned rounds = o->warmup + o->repeat, nsel = 0;
	bool any_save = false;
	struct mig_ctx c;
	double limit, highest;
	cpu_set_t all;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int r = 0;

	for (size_t i = 0; i < NR_CASES; i++) {
		nsel += case_selected(o, &cases[i]);
		any_save |= case_selected(o, &cases[i]) && cases[i].kind == SAVE_RESTORE;
	}
	if (!nsel)
		return 0;
	if (ctx_init(&c, o) < 0)
		return -1;
	/* the other suites pin this process: the VMMs place their own threads */
	CPU_ZERO(&all);
	for (long k = 0; k < ncpu && k < CPU_SETSIZE; k++)
		CPU_SET((int)k, &all);
	sched_setaffinity(0, sizeof(all), &all);
	sigemptyset(&sa.sa_mask);
	nproc_interrupted = 0;
	sigaction(SIGINT, &sa, &old[0]);
	sigaction(SIGTERM, &sa, &old[1]);
	for (unsigned rep = 0; rep < rounds && r == 0; rep++) {
		uint64_t t = now_ns();

		for (size_t i = 0; i < NR_CASES && r == 0; i++) {
			if (!case_selected(o, &cases[i]))
				continue;
			if (progress)
				progress("migrate %s %u/%u%s", cases[i].name, rep + 1, rounds,
					 rep < o->warmup ? " (warm-up)" : "");
			r = run_case(&c, &cases[i], rep, rep < o->warmup ? NULL : run);
		}
		if (r == 0) {
			if (progress)
				progress("%s", "");
			fprintf(stderr, "migrate: round %u of %u%s: %u case%s in %.1f s\n", rep + 1, rounds,
				rep < o->warmup ? " (warm-up, not recorded)" : "", nsel, nsel == 1 ? "" : "s",
				(double)(now_ns() - t) / 1e9);
		}
	}
	ctx_free(&c);
	if (r == 0 && report_migrate_limit(run, &limit, &highest))
		r = add(run, "dirty-limit", "xenith", "MB/s", true, limit);
	if (r == 0 && any_save) {
		size_t used = strlen(run->note);

		snprintf(run->note + used, sizeof(run->note) - used, "migrate: snapshots written synced to %s, %s. ",
			 c.base, c.fs);
	}
	sigaction(SIGINT, &old[0], NULL);
	sigaction(SIGTERM, &old[1], NULL);
	if (nproc_interrupted) {
		int sig = nproc_interrupted;

		fprintf(stderr, "\nxenith bench: migrate: interrupted (%s); its domains are stopped and its run "
			"directories removed\n", strsignal(sig));
		signal(sig, SIG_DFL);
		raise(sig);
	}
	return r < 0 ? -1 : 0;
}
