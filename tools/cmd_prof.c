// SPDX-License-Identifier: MIT
/*
 * xenith prof record / report: the cross-domain profiler's command line.
 * record asks each domain's VMM for a recording over its control socket
 * ({"cmd":"prof"}: hv/prof.h) and writes the records of all of them into
 * one profile file (xenoprof/profile.h); report reads one.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "control.h"
#include "hostperf.h"
#include "hwevents.h"
#include "json.h"
#include "jsondoc.h"
#include "prof.h"
#include "profile.h"
#include "report.h"
#include "xenith.h"

#define RECORD_MAX_DOMAINS 64
/* After the recording's end, how long a VMM has to send its closing records. */
#define RECORD_CLOSE_MS 10000
#define STREAM_BUF (1u << 20)
#define RECORD_MAX_VCPUS 256
#define RECORD_MAX_BACKENDS 64

#define USAGE_RECORD \
	"xenith prof record [-d NAME|ID]... [--all] [--freq HZ] [--duration S]\n" \
	"                          [-e EVENTS] -o FILE [--run-dir DIR]\n"
#define USAGE_REPORT "xenith prof report FILE [--folded | --json | --svg OUT] [-d NAME] [--top N]\n"

/* sub: "record" or "report" puts its usage first (`xenith prof SUB --help`). */
static void prof_usage(FILE *f, const char *sub)
{
	bool report_first = sub && !strcmp(sub, "report");

	fprintf(f, "usage: %s       %s", report_first ? USAGE_REPORT : USAGE_RECORD,
		report_first ? USAGE_RECORD : USAGE_REPORT);
	fprintf(f,
		"\n"
		"record samples every vCPU of the given domains (--all: every running domain)\n"
		"--freq times a second (default %u, %u to %u) for --duration seconds (default\n"
		"10; Ctrl-C ends it early), and writes one profile FILE.  A sample says where\n"
		"the vCPU was: in guest code (its RIP and the guest's call stack, unwound by\n"
		"frame pointers through the guest's page tables), in the hypervisor (which exit\n"
		"or hypercall the VMM was handling, and the guest stack that made it), or idle\n"
		"(blocked, halted or paused).  The file also gets, per vCPU, every exit reason\n"
		"and hypercall with its count and the time the VMM spent on it, the time in\n"
		"guest mode and blocked, KVM's own statistics (KVM_GET_STATS_FD) that changed,\n"
		"and the guest image's function symbols.  A domain that ends during the\n"
		"recording keeps what was collected, and the file says how it ended.\n"
		"-e EVENTS asks for hardware events (cycles, instructions, ...): see the line\n"
		"it prints on a host without them.\n"
		"\n"
		"report prints, per domain: the split of its vCPUs' time (guest, hypervisor,\n"
		"idle), the guest functions by samples (self and total), per vCPU too, the\n"
		"hypervisor's samples by exit or hypercall, the exit and hypercall counts and\n"
		"times, and KVM's statistics.  --folded prints the stacks in FlameGraph's\n"
		"folded format (DOMAIN;vcpuN;outer;...;inner COUNT); --svg OUT draws a flame\n"
		"graph into OUT; --json prints everything as one JSON document; -d keeps one\n"
		"domain; --top N shows N functions (default 20).\n",
		PROF_FREQ_DEFAULT, PROF_FREQ_MIN, PROF_FREQ_MAX);
}

/* ---- record ---- */

struct rec_dom {
	char name[XENITH_NAME_MAX];
	int fd;
	uint32_t index;
	uint8_t *buf;            /* bytes received and not yet written */
	size_t len;
	bool eof, ended_ok;      /* the stream ended; with its XP_REC_END */
	uint64_t samples, lost;
	pid_t tids[RECORD_MAX_VCPUS]; /* its vCPU threads, from the VMM's reply */
	unsigned nr_tids;
	struct hostperf *hp;     /* kernel-side samples of those threads, or NULL */
	struct hwevents *hw;     /* -e: hardware events counted on them, or NULL */
	int pid;                 /* the VMM's */
	pid_t bt_tids[RECORD_MAX_BACKENDS]; /* its other threads (backends), sampled by perf */
	unsigned nr_bt;
	struct hostperf *hp_b;
};

/* What the kernel-side samples need while they are written. */
struct kside {
	uint8_t where;           /* XP_WHERE_KVM (vCPU threads, kernel only) or XP_WHERE_BACKEND */
	struct xp_writer *w;
	struct rec_dom *rd;
	uint64_t t0;
	uint64_t *ips;           /* every kernel address seen, for the symbols at the end */
	size_t nr_ips, cap_ips;
	uint64_t samples;
	/*
	 * Where the host kernel handles a tick that came while the guest ran
	 * (PVM: pvm_do_event_irqoff): a kernel sample there is guest time,
	 * which the VMM's sampler has; [lo, hi), empty when not known.
	 */
	uint64_t guest_tick_lo, guest_tick_hi;
	uint64_t guest_ticks;
	/*
	 * kvm_vcpu_ioctl: a kernel sample with it in its chain is KVM's work
	 * for the vCPU (KVM_RUN); one without it is a system call of the VMM's
	 * own while it handles an exit (io_uring, eventfd, ...), which the VMM's
	 * sampler already counts as hypervisor time: dropped.  Empty: keep all.
	 */
	uint64_t kvm_lo, kvm_hi;
	uint64_t vmm_ticks;
	bool failed;
};

static void kside_sample(void *arg, unsigned vcpu, uint64_t time_ns, const uint64_t *ips, unsigned depth)
{
	struct kside *k = arg;
	union {
		struct xp_rec_sample s;
		uint8_t b[sizeof(struct xp_rec_sample) + HOSTPERF_DEPTH * 8];
	} u;
	struct errbuf eb;

	if (k->where == XP_WHERE_KVM && depth && ips[0] >= k->guest_tick_lo && ips[0] < k->guest_tick_hi) {
		k->guest_ticks++;
		return;
	}
	if (k->where == XP_WHERE_KVM && k->kvm_hi) {
		bool in_kvm = false;

		for (unsigned i = 0; i < depth && !in_kvm; i++)
			in_kvm = ips[i] >= k->kvm_lo && ips[i] < k->kvm_hi;
		if (!in_kvm) {
			k->vmm_ticks++;
			return;
		}
	}
	memset(&u.s, 0, sizeof(u.s));
	u.s.h.type = XP_REC_SAMPLE;
	u.s.h.size = (uint32_t)xp_sample_size(depth);
	u.s.dom = k->rd->index;
	u.s.vcpu = (uint16_t)vcpu;
	u.s.where = k->where;
	u.s.depth = (uint8_t)depth;
	u.s.weight = 1;
	u.s.time_ns = time_ns > k->t0 ? time_ns - k->t0 : 0;
	memcpy(u.s.ips, ips, depth * sizeof(ips[0]));
	if (!k->failed && xp_write(k->w, &u, &eb) < 0) {
		fprintf(stderr, "xenith prof record: %s\n", eb.msg);
		k->failed = true;
	}
	k->samples++;
	for (unsigned i = 0; i < depth; i++) {
		if (k->nr_ips == k->cap_ips) {
			size_t cap = k->cap_ips ? k->cap_ips * 2 : 4096;
			uint64_t *n = realloc(k->ips, cap * sizeof(*n));

			if (!n)
				return;
			k->ips = n;
			k->cap_ips = cap;
		}
		k->ips[k->nr_ips++] = ips[i];
	}
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The host functions the samples of domain dom went through, as its SYMBOL
 * records: the kernel's ("name_[k]", from kallsyms) and the VMM's (from its
 * binary); either table may be NULL.
 */
static void kside_symbols(struct kside *k, const struct ksyms *kern, const struct ksyms *vmm, uint32_t dom)
{
	uint64_t last = UINT64_MAX;
	struct errbuf eb;

	qsort(k->ips, k->nr_ips, sizeof(k->ips[0]), u64_cmp);
	for (size_t i = 0; i < k->nr_ips; i++) {
		bool kernel = k->ips[i] >= 0xffff800000000000ull;
		const struct ksyms *tab = kernel ? kern : vmm;
		uint64_t start, size;
		const char *name = tab ? ksyms_lookup(tab, k->ips[i], &start, &size) : NULL;
		uint8_t rec[sizeof(struct xp_rec_symbol) + 280];
		char label[272];

		if (!name || start == last)
			continue;
		last = start;
		/* FlameGraph's mark for a kernel frame; the VMM's functions by their names */
		snprintf(label, sizeof(label), "%s%s", name, kernel ? "_[k]" : "");
		if (xp_make_symbol(rec, sizeof(rec), dom, start, size, label))
			(void)xp_write(k->w, rec, &eb);
	}
}

static volatile sig_atomic_t record_interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	record_interrupted = 1;
}

/* Reads the reply line that opens the stream, byte by byte: what follows is the stream. */
static int read_header(int fd, char *line, size_t size, int timeout_ms)
{
	size_t n = 0;
	uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000ull;

	while (n + 1 < size) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int ms = (int)((deadline - now_ns()) / 1000000);
		ssize_t k;

		if (now_ns() >= deadline || poll(&p, 1, ms > 0 ? ms : 1) == 0)
			return -ETIMEDOUT;
		k = recv(fd, line + n, 1, 0);
		if (k <= 0)
			return k == 0 ? -EPIPE : -errno;
		if (line[n] == '\n') {
			line[n] = 0;
			return 0;
		}
		n++;
	}
	return -E2BIG;
}

/* Opens domain name's recording; prints why not and returns -1. */
static int record_open(const char *dir, struct rec_dom *rd, unsigned freq, struct xp_writer *w)
{
	struct errbuf eb;
	struct xp_rec_domain dr;
	char req[128], line[2048], err[512], kind[16] = "", image[XP_PATH_MAX] = "";
	double domid = 0, vcpus = 0;
	bool ok = false;
	int r;

	if (control_connect(dir, rd->name, &rd->fd, &eb) < 0) {
		fprintf(stderr, "xenith prof record: %s\n", eb.msg);
		return -1;
	}
	snprintf(req, sizeof(req), "{\"cmd\":\"prof\",\"freq\":%u}\n", freq);
	if (send(rd->fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req) ||
	    (r = read_header(rd->fd, line, sizeof(line), 30000)) < 0) {
		fprintf(stderr, "xenith prof record: %s: no answer from its VMM\n", rd->name);
		return -1;
	}
	if (json_get_bool(line, "ok", &ok) < 0 || !ok) {
		if (json_get_string(line, "error", err, sizeof(err)) < 0)
			snprintf(err, sizeof(err), "malformed reply from the VMM: %.200s", line);
		fprintf(stderr, "xenith prof record: %s: %s\n", rd->name, err);
		return -1;
	}
	{
		char msg[64];
		struct jv *doc = jv_parse(line, msg, sizeof(msg));
		const struct jv *t = doc ? jv_get(doc, "tids") : NULL;

		for (size_t i = 0; t && t->type == JV_ARR && i < t->n && i < RECORD_MAX_VCPUS; i++)
			rd->tids[rd->nr_tids++] = t->items[i].type == JV_NUM ? (pid_t)t->items[i].num : 0;
		rd->pid = doc ? (int)jv_num(doc, "pid", 0) : 0;
		jv_free(doc);
	}
	json_get_number(line, "domid", &domid);
	json_get_number(line, "vcpus", &vcpus);
	json_get_string(line, "kind", kind, sizeof(kind));
	json_get_string(line, "image", image, sizeof(image));
	memset(&dr, 0, sizeof(dr));
	dr.h.type = XP_REC_DOMAIN;
	dr.h.size = sizeof(dr);
	dr.dom = rd->index;
	dr.domid = (uint32_t)domid;
	dr.nr_vcpus = (uint32_t)vcpus;
	dr.kind = !strcmp(kind, "linux") ? XP_KIND_LINUX : XP_KIND_PV;
	snprintf(dr.name, sizeof(dr.name), "%s", rd->name);
	snprintf(dr.image, sizeof(dr.image), "%s", image);
	if (xp_write(w, &dr, &eb) < 0) {
		fprintf(stderr, "xenith prof record: %s\n", eb.msg);
		return -1;
	}
	rd->buf = malloc(STREAM_BUF);
	if (!rd->buf) {
		fprintf(stderr, "xenith prof record: out of memory\n");
		return -1;
	}
	return 0;
}

/*
 * Writes the whole records in rd->buf to the file, with this domain's
 * index; keeps a partial one for later.  -1 on a malformed stream or a
 * write error (printed).
 */
static int record_flush(struct rec_dom *rd, struct xp_writer *w)
{
	size_t off = 0;
	struct errbuf eb;

	while (rd->len - off >= sizeof(struct xp_rec)) {
		struct xp_rec *h = (struct xp_rec *)(rd->buf + off);

		if (h->size < sizeof(struct xp_rec) || h->size % 8 || h->size > STREAM_BUF) {
			fprintf(stderr, "xenith prof record: %s: malformed record from the VMM (type %u, %u bytes)\n",
				rd->name, h->type, h->size);
			return -1;
		}
		if (h->size > rd->len - off)
			break;
		if (h->type == XP_REC_END) {
			const struct xp_rec_end *e = (const struct xp_rec_end *)h;

			if (h->size >= sizeof(*e))
				rd->lost += e->nr_lost;
			rd->ended_ok = true;
		} else {
			/* Every record the VMM sends starts with struct xp_rec, then its dom. */
			if (h->size >= sizeof(struct xp_rec) + 4)
				memcpy((uint8_t *)h + sizeof(struct xp_rec), &rd->index, 4);
			if (h->type == XP_REC_SAMPLE)
				rd->samples++;
			if (xp_write(w, h, &eb) < 0) {
				fprintf(stderr, "xenith prof record: %s\n", eb.msg);
				return -1;
			}
		}
		off += h->size;
	}
	memmove(rd->buf, rd->buf + off, rd->len - off);
	rd->len -= off;
	return 0;
}

/* Reads what rd's VMM sent; -1 on a failure (printed). */
static int record_read(struct rec_dom *rd, struct xp_writer *w)
{
	ssize_t k = recv(rd->fd, rd->buf + rd->len, STREAM_BUF - rd->len, MSG_DONTWAIT);

	if (k < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : (rd->eof = true, 0);
	if (k == 0) {
		rd->eof = true;
		return 0;
	}
	rd->len += (size_t)k;
	return record_flush(rd, w);
}

/*
 * The VMM's threads that are not vCPUs (backends, control, timers): into
 * rd->bt_tids, each named by a note of the domain ("backend thread N: NAME").
 */
static void backend_threads(struct rec_dom *rd, struct xp_writer *w)
{
	char path[64];
	struct dirent *de;
	struct errbuf eb;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", rd->pid);
	dir = rd->pid > 0 ? opendir(path) : NULL;
	while (dir && (de = readdir(dir)) && rd->nr_bt < RECORD_MAX_BACKENDS) {
		pid_t tid = (pid_t)atoi(de->d_name);
		char comm[64] = "?", cpath[96], note[sizeof(struct xp_rec_note) + 128];
		bool vcpu = false;
		FILE *f;

		if (tid <= 0)
			continue;
		for (unsigned i = 0; i < rd->nr_tids; i++)
			vcpu |= rd->tids[i] == tid;
		if (vcpu)
			continue;
		snprintf(cpath, sizeof(cpath), "/proc/%d/task/%d/comm", rd->pid, (int)tid);
		if ((f = fopen(cpath, "r"))) {
			if (fgets(comm, sizeof(comm), f))
				comm[strcspn(comm, "\n")] = 0;
			fclose(f);
		}
		if (xp_make_thread_note(note, sizeof(note), rd->index, rd->nr_bt, comm))
			(void)xp_write(w, note, &eb);
		rd->bt_tids[rd->nr_bt++] = tid;
	}
	if (dir)
		closedir(dir);
}

static int parse_uint(const char *what, const char *s, unsigned min, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end || end == s || errno || v < min || v > max || s[0] == '-') {
		fprintf(stderr, "xenith prof: %s %s: expected a whole number from %u to %u\n", what, s, min, max);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

static int prof_record(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "domain", required_argument, NULL, 'd' }, { "all", no_argument, NULL, 'a' },
		{ "freq", required_argument, NULL, 'F' },   { "duration", required_argument, NULL, 't' },
		{ "events", required_argument, NULL, 'e' }, { "output", required_argument, NULL, 'o' },
		{ "run-dir", required_argument, NULL, 'R' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *targets[RECORD_MAX_DOMAINS], *out = NULL, *run_dir = NULL, *events = NULL;
	unsigned nt = 0, freq = PROF_FREQ_DEFAULT, nd = 0;
	double duration = 10;
	bool all = false, failed = false, kernel_note_done = false;
	struct kside *ks = NULL, *kb = NULL;
	struct ksyms *ksy = NULL, **vmsyms = NULL;
	char dir[PATH_MAX];
	struct rec_dom *doms;
	struct xp_writer *w = NULL;
	struct xp_header hdr;
	struct xp_rec_end end;
	struct errbuf eb;
	struct sigaction sa = { .sa_handler = on_sigint }, old_int, old_term;
	uint64_t t0, stop_at, close_by = 0;
	uint64_t samples = 0, lost = 0;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "d:aF:t:e:o:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			if (nt == RECORD_MAX_DOMAINS) {
				fprintf(stderr, "xenith prof record: at most %d domains\n", RECORD_MAX_DOMAINS);
				return EXIT_USAGE;
			}
			targets[nt++] = optarg;
			break;
		case 'a':
			all = true;
			break;
		case 'F':
			if (parse_uint("--freq", optarg, PROF_FREQ_MIN, PROF_FREQ_MAX, &freq) < 0)
				return EXIT_USAGE;
			break;
		case 't': {
			char *e;

			duration = strtod(optarg, &e);
			if (*e || e == optarg || !(duration > 0 && duration <= 86400)) {
				fprintf(stderr, "xenith prof record: --duration %s: expected seconds, more "
					"than 0 and at most 86400\n", optarg);
				return EXIT_USAGE;
			}
			break;
		}
		case 'e':
			events = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'R':
			run_dir = optarg;
			break;
		case 'h':
			prof_usage(stdout, "record");
			return 0;
		default:
			fprintf(stderr, "xenith prof record: see `xenith prof --help`\n");
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "xenith prof record: unexpected argument '%s' (domains go after -d)\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (!out) {
		fprintf(stderr, "xenith prof record: -o FILE is required: where the profile goes\n");
		return EXIT_USAGE;
	}
	if (!all && !nt) {
		fprintf(stderr, "xenith prof record: name the domains with -d NAME (or --all)\n");
		return EXIT_USAGE;
	}
	if (rundir_resolve(run_dir, dir, sizeof(dir), &eb) < 0) {
		fprintf(stderr, "xenith prof record: %s\n", eb.msg);
		return EXIT_USAGE;
	}
	doms = calloc(RECORD_MAX_DOMAINS, sizeof(*doms));
	if (!doms)
		return 1;
	if (all) {
		struct control_entry *e = NULL;
		size_t n = 0;

		if (control_list(dir, &e, &n, &eb) < 0) {
			fprintf(stderr, "xenith prof record: %s\n", eb.msg);
			free(doms);
			return 1;
		}
		for (size_t i = 0; i < n && nd < RECORD_MAX_DOMAINS; i++)
			snprintf(doms[nd++].name, XENITH_NAME_MAX, "%s", e[i].name);
		free(e);
		if (!nd) {
			fprintf(stderr, "xenith prof record: no domain is running (`xenith list`)\n");
			free(doms);
			return 1;
		}
	}
	for (unsigned i = 0; i < nt; i++) {
		char name[XENITH_NAME_MAX];
		bool dup = false;

		if (resolve_domain(dir, targets[i], name, sizeof(name), "prof record")) {
			free(doms);
			return 1;
		}
		for (unsigned j = 0; j < nd; j++)
			dup |= !strcmp(doms[j].name, name);
		if (!dup && nd < RECORD_MAX_DOMAINS)
			snprintf(doms[nd++].name, XENITH_NAME_MAX, "%s", name);
	}
	{
		struct timespec ts;
		char host[64] = "";

		clock_gettime(CLOCK_REALTIME, &ts);
		gethostname(host, sizeof(host) - 1);
		xp_header_init(&hdr, host, freq, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
	}
	if (xp_writer_open(out, &hdr, &w, &eb) < 0) {
		fprintf(stderr, "xenith prof record: %s\n", eb.msg);
		free(doms);
		return 1;
	}
	for (unsigned i = 0; i < nd; i++) {
		doms[i].fd = -1;
		doms[i].index = i;
		if (record_open(dir, &doms[i], freq, w) < 0) {
			failed = true;
			break;
		}
	}
	if (failed) {
		for (unsigned i = 0; i < nd; i++) {
			if (doms[i].fd >= 0)
				close(doms[i].fd);
			free(doms[i].buf);
		}
		xp_writer_abort(w);
		free(doms);
		return 1;
	}
	/* -e: hardware events, counted per vCPU thread where the host has them. */
	for (unsigned i = 0; i < nd && events && !failed; i++) {
		char unavailable[512], line[700], note[sizeof(struct xp_rec_note) + 704];

		if (hwevents_open(events, doms[i].tids, doms[i].nr_tids, &doms[i].hw, unavailable, sizeof(unavailable),
				  &eb) < 0) {
			fprintf(stderr, "xenith prof record: %s\n", eb.msg);
			failed = true;
			break;
		}
		if (!unavailable[0])
			continue;
		snprintf(line, sizeof(line), "hardware events unavailable: %s; fallback: timer sampling (the VMM's "
			 "CLOCK_MONOTONIC timer per vCPU, perf's cpu-clock for the host kernel)", unavailable);
		if (i == 0)
			fprintf(stderr, "xenith prof record: %s\n", line);
		if (xp_make_note(note, sizeof(note), XP_REC_NOTE, doms[i].index, line))
			(void)xp_write(w, note, &eb);
	}
	/* The kernel's side of each vCPU thread, where the host lets us see it. */
	ks = calloc(nd, sizeof(*ks));
	kb = calloc(nd, sizeof(*kb));
	vmsyms = calloc(nd, sizeof(*vmsyms));
	if (!ks || !kb || !vmsyms) {
		failed = true;
		nd = 0;
	}
	for (unsigned i = 0; i < nd; i++) {
		struct errbuf pe;
		char exe[64];

		ks[i].w = kb[i].w = w;
		ks[i].rd = kb[i].rd = &doms[i];
		ks[i].where = XP_WHERE_KVM;
		kb[i].where = XP_WHERE_BACKEND;
		/* The VMM's backend threads, user and kernel time, with the VMM's own symbols. */
		backend_threads(&doms[i], w);
		if (doms[i].nr_bt && hostperf_open_threads(doms[i].bt_tids, doms[i].nr_bt, freq, &doms[i].hp_b, &pe) < 0)
			doms[i].hp_b = NULL; /* refused as the vCPUs' kernel samples are: that note says why */
		snprintf(exe, sizeof(exe), "/proc/%d/exe", doms[i].pid);
		if (doms[i].hp_b && ksyms_load_elf(exe, &vmsyms[i], &pe) < 0)
			vmsyms[i] = NULL;
		if (hostperf_open(doms[i].tids, doms[i].nr_tids, freq, &doms[i].hp, &pe) < 0) {
			char note[sizeof(struct xp_rec_note) + 640];
			char line[640];

			doms[i].hp = NULL;
			snprintf(line, sizeof(line), "host-kernel samples unavailable: %s; fallback: the guest share "
				 "includes the time KVM spends in the kernel for the vCPUs", pe.msg);
			if (!kernel_note_done)
				fprintf(stderr, "xenith prof record: %s\n", line);
			kernel_note_done = true;
			if (xp_make_note(note, sizeof(note), XP_REC_NOTE, doms[i].index, line))
				(void)xp_write(w, note, &eb);
		}
	}
	for (unsigned i = 0; i < nd && !ksy; i++)
		if ((doms[i].hp || doms[i].hp_b) && ksyms_load(&ksy, &eb) < 0)
			ksy = NULL;
	for (unsigned i = 0; i < nd && ksy; i++) {
		uint64_t lo, size;

		/* the host tick taken in PVM guest mode, handled at this one address */
		if (ksyms_find(ksy, "pvm_do_event_irqoff", &lo, &size) == 0) {
			ks[i].guest_tick_lo = lo;
			ks[i].guest_tick_hi = lo + size;
		}
		if (ksyms_find(ksy, "kvm_vcpu_ioctl", &lo, &size) == 0) {
			ks[i].kvm_lo = lo;
			ks[i].kvm_hi = lo + size;
		}
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	if (!failed)
		fprintf(stderr, "xenith prof record: %u domain%s at %u Hz for %.3g s (Ctrl-C ends it early)\n", nd,
			nd == 1 ? "" : "s", freq, duration);
	t0 = now_ns();
	for (unsigned i = 0; i < nd; i++)
		ks[i].t0 = t0;
	stop_at = t0 + (uint64_t)(duration * 1e9);
	while (!failed) {
		struct pollfd p[RECORD_MAX_DOMAINS];
		unsigned open = 0;
		uint64_t now = now_ns();

		if (!close_by && (now >= stop_at || record_interrupted)) {
			/* The end: each VMM sends its closing records once our side is shut. */
			for (unsigned i = 0; i < nd; i++)
				if (!doms[i].eof)
					shutdown(doms[i].fd, SHUT_WR);
			close_by = now + RECORD_CLOSE_MS * 1000000ull;
		}
		if (close_by && now >= close_by)
			break;
		for (unsigned i = 0; i < nd; i++) {
			p[i].fd = doms[i].eof ? -1 : doms[i].fd;
			p[i].events = POLLIN;
			open += !doms[i].eof;
		}
		if (!open)
			break;
		if (poll(p, nd, 100) < 0 && errno != EINTR)
			break;
		for (unsigned i = 0; i < nd; i++) {
			if (p[i].fd >= 0 && p[i].revents && record_read(&doms[i], w) < 0)
				failed = true;
			/* Kernel samples only while the recording runs: not of the closing. */
			if (doms[i].hp && !close_by)
				hostperf_drain(doms[i].hp, kside_sample, &ks[i]);
			if (doms[i].hp_b && !close_by)
				hostperf_drain(doms[i].hp_b, kside_sample, &kb[i]);
			failed |= ks[i].failed || kb[i].failed;
		}
		if (failed)
			break;
	}
	{
		for (unsigned i = 0; i < nd && !failed; i++) {
			kside_symbols(&ks[i], ksy, NULL, doms[i].index);
			kside_symbols(&kb[i], ksy, vmsyms[i], doms[i].index);
		}
		ksyms_free(ksy);
		for (unsigned i = 0; i < nd; i++) {
			/* -e counts over the recording, per vCPU, with KVM's statistics ("hw:NAME") */
			for (unsigned e = 0; doms[i].hw && e < hwevents_count(doms[i].hw); e++)
				for (unsigned v = 0; v < doms[i].nr_tids && !failed; v++) {
					uint8_t rec[sizeof(struct xp_rec_kvmstat) + 80];
					char name[72];

					snprintf(name, sizeof(name), "hw:%s", hwevents_name(doms[i].hw, e));
					if (xp_make_kvmstat(rec, sizeof(rec), doms[i].index, (int32_t)v,
							    hwevents_read(doms[i].hw, e, v), name))
						(void)xp_write(w, rec, &eb);
				}
			hwevents_close(doms[i].hw);
			if (doms[i].hp) {
				samples += ks[i].samples;
				lost += hostperf_lost(doms[i].hp);
				hostperf_close(doms[i].hp);
			}
			if (doms[i].hp_b) {
				samples += kb[i].samples;
				lost += hostperf_lost(doms[i].hp_b);
				hostperf_close(doms[i].hp_b);
			}
			ksyms_free(vmsyms[i]);
			free(ks[i].ips);
			free(kb[i].ips);
		}
		free(ks);
		free(kb);
		free(vmsyms);
	}
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	for (unsigned i = 0; i < nd; i++) {
		if (!failed && !doms[i].ended_ok) {
			char note[sizeof(struct xp_rec_note) + 256];
			char line[256];

			snprintf(line, sizeof(line), "the VMM's stream ended without its closing records "
				 "(the VMM exited or was killed): counters and KVM statistics are missing");
			fprintf(stderr, "xenith prof record: %s: %s\n", doms[i].name, line);
			if (xp_make_note(note, sizeof(note), XP_REC_NOTE, doms[i].index, line))
				(void)xp_write(w, note, &eb);
		}
		samples += doms[i].samples;
		lost += doms[i].lost;
		close(doms[i].fd);
		free(doms[i].buf);
	}
	if (failed) {
		xp_writer_abort(w);
		free(doms);
		return 1;
	}
	memset(&end, 0, sizeof(end));
	end.h.type = XP_REC_END;
	end.h.size = sizeof(end);
	end.duration_ns = now_ns() - t0;
	end.nr_samples = samples;
	end.nr_lost = lost;
	if (xp_writer_close(w, &end, &eb) < 0) {
		fprintf(stderr, "xenith prof record: %s\n", eb.msg);
		free(doms);
		return 1;
	}
	fprintf(stderr, "xenith prof record: wrote %s: %llu samples (%llu lost) of %u domain%s in %.1f s\n", out,
		(unsigned long long)samples, (unsigned long long)lost, nd, nd == 1 ? "" : "s",
		(double)end.duration_ns / 1e9);
	free(doms);
	return 0;
}

/* ---- report ---- */

static int prof_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "folded", no_argument, NULL, 'f' }, { "json", no_argument, NULL, 'j' },
		{ "svg", required_argument, NULL, 's' }, { "domain", required_argument, NULL, 'd' },
		{ "top", required_argument, NULL, 'n' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct xp_report_opts o = { .dom_filter = NULL, .top = 20 };
	const char *svg = NULL;
	bool folded = false, json = false;
	struct xp_profile *p;
	struct errbuf eb;
	int opt, r;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "fjs:d:n:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			folded = true;
			break;
		case 'j':
			json = true;
			break;
		case 's':
			svg = optarg;
			break;
		case 'd':
			o.dom_filter = optarg;
			break;
		case 'n':
			if (parse_uint("--top", optarg, 1, 100000, &o.top) < 0)
				return EXIT_USAGE;
			break;
		case 'h':
			prof_usage(stdout, "report");
			return 0;
		default:
			fprintf(stderr, "xenith prof report: see `xenith prof --help`\n");
			return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "xenith prof report: expected one profile FILE\n");
		return EXIT_USAGE;
	}
	if (folded + json + !!svg > 1) {
		fprintf(stderr, "xenith prof report: --folded, --json and --svg exclude each other\n");
		return EXIT_USAGE;
	}
	if (xp_load(argv[optind], &p, &eb) < 0) {
		fprintf(stderr, "xenith prof report: %s\n", eb.msg);
		return 1;
	}
	if (svg) {
		FILE *f = fopen(svg, "w");

		if (!f) {
			fprintf(stderr, "xenith prof report: %s: %s\n", svg, strerror(errno));
			xp_free(p);
			return 1;
		}
		r = xp_report_svg(p, f, &o);
		if (fclose(f) != 0)
			r = -errno;
	} else if (folded) {
		r = xp_report_folded(p, stdout, &o);
	} else if (json) {
		r = xp_report_json(p, stdout, &o);
	} else {
		r = xp_report_text(p, stdout, &o);
	}
	if (r < 0)
		fprintf(stderr, "xenith prof report: %s\n", strerror(-r));
	xp_free(p);
	return r < 0 ? 1 : 0;
}

int cmd_prof(int argc, char **argv)
{
	if (argc < 2) {
		prof_usage(stderr, NULL);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		prof_usage(stdout, NULL);
		return 0;
	}
	if (!strcmp(argv[1], "record"))
		return prof_record(argc - 1, argv + 1);
	if (!strcmp(argv[1], "report"))
		return prof_report(argc - 1, argv + 1);
	fprintf(stderr, "xenith prof: unknown command '%s' (record, report)\n\n", argv[1]);
	prof_usage(stderr, NULL);
	return EXIT_USAGE;
}
