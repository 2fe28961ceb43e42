// SPDX-License-Identifier: MIT
/*
 * xenith top: every running domain, refreshed: CPU %, exits, hypercalls
 * and event-channel notifications per second, block and network I/O
 * rates.  Counters come from each VMM's control socket ("stats",
 * "devices", "info"); CPU time from /proc/PID/stat of the VMM process
 * (its vCPUs and backends together).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "control.h"
#include "jsondoc.h"
#include "xenith.h"

#define TOP_MAX 256
#define TOP_TIMEOUT_MS 5000

static void top_usage(FILE *f)
{
	fprintf(f,
		"usage: xenith top [-b] [-n ITERATIONS] [-d SECONDS] [--run-dir DIR]\n"
		"\n"
		"Shows every running domain, one line each, refreshed every -d seconds\n"
		"(default 1): state, vCPUs, CPU %% of its VMM process (vCPUs and backends;\n"
		"100%% = one host CPU), VM exits, hypercalls and event-channel notifications\n"
		"(sent by the guest + raised for it) per second, block reads and writes per\n"
		"second and MB/s, network receive and transmit MB/s.  Rates are over the last\n"
		"interval; the first screen comes after one interval.\n"
		"On a terminal the screen is redrawn in place until q or Ctrl-C.  -b (batch\n"
		"mode, for scripts) prints plain lines instead, a header and one line per\n"
		"domain every interval, plus totals since each domain started\n"
		"(EXITS HCALLS EVTCHN); -n stops after that many intervals.\n");
}

struct top_sample {
	char name[XENITH_NAME_MAX];
	char state[16];
	int pid;
	unsigned vcpus;
	bool ok;
	double cpu_s;                       /* utime + stime of the VMM, seconds */
	double exits, hcalls, evtchn;       /* since the domain started */
	double blk_rd, blk_wr, blk_rd_b, blk_wr_b, net_rx_b, net_tx_b;
};

static int ask(const char *dir, const char *name, const char *req, char *rep, size_t size)
{
	struct errbuf eb;
	int fd, r;

	if (control_connect(dir, name, &fd, &eb) < 0)
		return -1;
	r = control_call_timeout(fd, req, rep, size, TOP_TIMEOUT_MS, &eb);
	close(fd);
	return r;
}

/* utime + stime of a process, in seconds; -1 if it is gone. */
static double proc_cpu_s(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* After the command name's closing parenthesis: state is field 3, utime 14, stime 15. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void sample_domain(const char *dir, const char *name, struct top_sample *s)
{
	char *rep = malloc(CONTROL_DISKS_MAX);
	struct jv *doc;
	char msg[128];

	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->state, sizeof(s->state), "no-reply");
	if (!rep)
		return;
	if (ask(dir, name, "{\"cmd\":\"info\"}", rep, CONTROL_DISKS_MAX) == 0 && (doc = jv_parse(rep, msg, sizeof(msg)))) {
		snprintf(s->state, sizeof(s->state), "%s", jv_str(doc, "state", "?"));
		s->pid = (int)jv_num(doc, "pid", 0);
		s->vcpus = (unsigned)jv_num(doc, "vcpus", 0);
		jv_free(doc);
		s->ok = true;
	}
	if (s->ok && ask(dir, name, "{\"cmd\":\"stats\"}", rep, CONTROL_DISKS_MAX) == 0 &&
	    (doc = jv_parse(rep, msg, sizeof(msg)))) {
		const struct jv *v = jv_get(doc, "vcpus");

		for (size_t i = 0; v && v->type == JV_ARR && i < v->n; i++) {
			s->exits += jv_num(&v->items[i], "exits", 0);
			s->hcalls += jv_num(&v->items[i], "hypercalls", 0);
			s->evtchn += jv_num(&v->items[i], "evtchn_sends", 0);
		}
		s->evtchn += jv_num(doc, "evtchn_raised", 0);
		jv_free(doc);
	}
	if (s->ok && ask(dir, name, "{\"cmd\":\"devices\"}", rep, CONTROL_DISKS_MAX) == 0 &&
	    (doc = jv_parse(rep, msg, sizeof(msg)))) {
		const struct jv *devs = jv_get(doc, "devices");

		for (size_t i = 0; devs && devs->type == JV_ARR && i < devs->n; i++) {
			const struct jv *st = jv_get(&devs->items[i], "stats");
			const char *type = jv_str(&devs->items[i], "type", "");

			if (!st)
				continue;
			if (!strcmp(type, "vbd")) {
				s->blk_rd += jv_num(st, "reads", 0);
				s->blk_wr += jv_num(st, "writes", 0);
				s->blk_rd_b += jv_num(st, "read_bytes", 0);
				s->blk_wr_b += jv_num(st, "write_bytes", 0);
			} else if (!strcmp(type, "vif")) {
				/* The vif's tx is the guest's transmit, rx what it received. */
				s->net_tx_b += jv_num(st, "tx_bytes", 0);
				s->net_rx_b += jv_num(st, "rx_bytes", 0);
			}
		}
		jv_free(doc);
	}
	if (s->ok)
		s->cpu_s = proc_cpu_s(s->pid);
	free(rep);
}

static int sample_all(const char *dir, struct top_sample *out, unsigned max)
{
	struct control_entry *e = NULL;
	struct errbuf eb;
	size_t n = 0;
	unsigned k = 0;

	if (control_list(dir, &e, &n, &eb) < 0) {
		fprintf(stderr, "xenith top: %s\n", eb.msg);
		return -1;
	}
	for (size_t i = 0; i < n && k < max; i++)
		sample_domain(dir, e[i].name, &out[k++]);
	free(e);
	return (int)k;
}

static const struct top_sample *find_prev(const struct top_sample *prev, int np, const struct top_sample *s)
{
	for (int i = 0; i < np; i++)
		if (!strcmp(prev[i].name, s->name) && prev[i].pid == s->pid)
			return &prev[i];
	return NULL;
}

static double rate(double now, double before, double secs)
{
	return now >= before && secs > 0 ? (now - before) / secs : 0;
}

static void print_screen(FILE *f, const struct top_sample *cur, int nc, const struct top_sample *prev, int np,
			 double secs, bool batch)
{
	fprintf(f, "%-20s %-8s %5s %6s %9s %9s %9s %8s %8s %8s %8s %8s %8s%s\n", "NAME", "STATE", "VCPUS",
		"CPU%", "EXITS/s", "HCALLS/s", "EVTCHN/s", "BLK-RD/s", "BLK-WR/s", "BLK-RD-MB", "BLK-WR-MB",
		"NET-RX-MB", "NET-TX-MB", batch ? "      EXITS     HCALLS     EVTCHN" : "");
	for (int i = 0; i < nc; i++) {
		const struct top_sample *s = &cur[i], *p = find_prev(prev, np, s);
		struct top_sample zero;

		if (!p) {
			memset(&zero, 0, sizeof(zero));
			zero.cpu_s = s->cpu_s;
			p = &zero; /* new since the last screen: rates from the next one */
		}
		fprintf(f, "%-20s %-8s %5u %6.1f %9.0f %9.0f %9.0f %8.0f %8.0f %8.2f %8.2f %8.2f %8.2f", s->name,
			s->state, s->vcpus, s->cpu_s >= 0 && p->cpu_s >= 0 ? 100 * rate(s->cpu_s, p->cpu_s, secs) : 0,
			rate(s->exits, p->exits, secs), rate(s->hcalls, p->hcalls, secs),
			rate(s->evtchn, p->evtchn, secs), rate(s->blk_rd, p->blk_rd, secs),
			rate(s->blk_wr, p->blk_wr, secs), rate(s->blk_rd_b, p->blk_rd_b, secs) / 1e6,
			rate(s->blk_wr_b, p->blk_wr_b, secs) / 1e6, rate(s->net_rx_b, p->net_rx_b, secs) / 1e6,
			rate(s->net_tx_b, p->net_tx_b, secs) / 1e6);
		if (batch)
			fprintf(f, " %10.0f %10.0f %10.0f", s->exits, s->hcalls, s->evtchn);
		fputc('\n', f);
	}
	if (!nc)
		fprintf(f, "(no domain is running)\n");
	fflush(f);
}

static volatile sig_atomic_t top_quit;

static void on_quit(int sig)
{
	(void)sig;
	top_quit = 1;
}

int cmd_top(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "batch", no_argument, NULL, 'b' }, { "iterations", required_argument, NULL, 'n' },
		{ "delay", required_argument, NULL, 'd' }, { "run-dir", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	struct top_sample *a = calloc(TOP_MAX, sizeof(*a)), *b = calloc(TOP_MAX, sizeof(*b)), *t;
	const char *run_dir = NULL;
	bool batch = false, tty;
	long iterations = -1;
	double delay = 1;
	char dir[PATH_MAX];
	struct errbuf eb;
	struct termios saved, raw;
	struct sigaction sa = { .sa_handler = on_quit };
	uint64_t t_prev;
	int np, opt, rc = 0;

	if (!a || !b) {
		free(a);
		free(b);
		return 1;
	}
	optind = 1;
	while ((opt = getopt_long(argc, argv, "bn:d:h", opts, NULL)) != -1) {
		char *end;

		switch (opt) {
		case 'b':
			batch = true;
			break;
		case 'n':
			iterations = strtol(optarg, &end, 10);
			if (*end || end == optarg || iterations < 1) {
				fprintf(stderr, "xenith top: -n %s: expected a whole number of intervals, at least 1\n",
					optarg);
				rc = EXIT_USAGE;
				goto out;
			}
			break;
		case 'd':
			delay = strtod(optarg, &end);
			if (*end || end == optarg || !(delay >= 0.1 && delay <= 3600)) {
				fprintf(stderr, "xenith top: -d %s: expected seconds from 0.1 to 3600\n", optarg);
				rc = EXIT_USAGE;
				goto out;
			}
			break;
		case 'R':
			run_dir = optarg;
			break;
		case 'h':
			top_usage(stdout);
			goto out;
		default:
			fprintf(stderr, "xenith top: see `xenith top --help`\n");
			rc = EXIT_USAGE;
			goto out;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "xenith top: unexpected argument '%s'\n", argv[optind]);
		rc = EXIT_USAGE;
		goto out;
	}
	if (rundir_resolve(run_dir, dir, sizeof(dir), &eb) < 0) {
		fprintf(stderr, "xenith top: %s\n", eb.msg);
		rc = EXIT_USAGE;
		goto out;
	}
	tty = !batch && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	if (tty && tcgetattr(STDIN_FILENO, &saved) == 0) {
		raw = saved;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	} else {
		tty = false;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	np = sample_all(dir, a, TOP_MAX);
	t_prev = now_ns();
	if (np < 0) {
		rc = 1;
		goto restore;
	}
	for (long it = 0; !top_quit && (iterations < 0 || it < iterations); it++) {
		uint64_t until = t_prev + (uint64_t)(delay * 1e9), now;
		int nc;

		/* Sleep the interval; on a terminal, q ends it. */
		while (!top_quit && (now = now_ns()) < until) {
			struct pollfd p = { .fd = tty ? STDIN_FILENO : -1, .events = POLLIN };
			char c;

			if (poll(&p, 1, (int)((until - now) / 1000000) + 1) > 0 && read(STDIN_FILENO, &c, 1) == 1 &&
			    (c == 'q' || c == 'Q'))
				top_quit = 1;
		}
		if (top_quit)
			break;
		nc = sample_all(dir, b, TOP_MAX);
		now = now_ns();
		if (nc < 0) {
			rc = 1;
			break;
		}
		if (tty)
			fputs("\033[H\033[2J", stdout);
		print_screen(stdout, b, nc, a, np, (double)(now - t_prev) / 1e9, batch);
		if (batch)
			putchar('\n');
		t = a;
		a = b;
		b = t;
		np = nc;
		t_prev = now;
	}
restore:
	if (tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
out:
	free(a);
	free(b);
	return rc;
}
