// SPDX-License-Identifier: MIT
/*
 * xenith list / disks / devices / pause / unpause / shutdown / destroy /
 * console / xenstore-ls / xenstore-write: clients of the control socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "domain.h"
#include "json.h"
#include "jsondoc.h"
#include "xenith.h"

struct cli_cmd {
	const char *name;
	const char *usage;
	const char *help;
};

static void cmd_help(FILE *f, const struct cli_cmd *c)
{
	fprintf(f, "usage: xenith %s %s\n\n%s\n\n"
		   "options:\n"
		   "      --run-dir DIR  where control sockets live (default $XENITH_RUN_DIR,\n"
		   "                     /run/xenith as root, else $XDG_RUNTIME_DIR/xenith,\n"
		   "                     else /tmp/xenith-UID); it must be yours, mode 0700.\n"
		   "                     Talks only to a VMM running as you or root.\n"
		   "  -h, --help         this text\n", c->name, c->usage, c->help);
}

enum { OPT_RUN_DIR = 256, OPT_JSON, OPT_LONG };

/* info takes no lock that another request holds for long: a VMM silent this long is stuck. */
#define LIST_TIMEOUT_MS 5000

struct parsed {
	const char *run_dir;
	const char *target;
	char **args;        /* what follows the target (cli_cmd's min_args to max_args) */
	unsigned nr_args;
	bool wait, reboot, json, lng, keep;
	double timeout_s;
};

/*
 * Parses the common options; returns -1 to go on, else an exit status.
 * With a target, min_args to max_args arguments may follow it (p->args).
 */
static int parse(int argc, char **argv, const struct cli_cmd *c, const char *shortopts,
		 bool needs_target, unsigned min_args, unsigned max_args, struct parsed *p)
{
	static const struct option opts[] = {
		{ "run-dir", required_argument, NULL, OPT_RUN_DIR },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "long", no_argument, NULL, OPT_LONG },
		{ "wait", no_argument, NULL, 'w' },
		{ "reboot", no_argument, NULL, 'r' },
		{ "keep", no_argument, NULL, 'k' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	memset(p, 0, sizeof(*p));
	p->timeout_s = 60;
	optind = 1;
	while ((opt = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		switch (opt) {
		case OPT_RUN_DIR:
			p->run_dir = optarg;
			break;
		case OPT_JSON:
			if (strcmp(c->name, "list") && strcmp(c->name, "disks") && strcmp(c->name, "devices") &&
			    strcmp(c->name, "memmap"))
				goto bad;
			p->json = true;
			break;
		case OPT_LONG:
			if (strcmp(c->name, "list"))
				goto bad;
			p->lng = true;
			break;
		case 'w':
			p->wait = true;
			break;
		case 'r':
			p->reboot = true;
			break;
		case 'k':
			if (strcmp(c->name, "save"))
				goto bad;
			p->keep = true;
			break;
		case 't': {
			char *end;

			p->timeout_s = strtod(optarg, &end);
			if (*end || end == optarg || !(p->timeout_s > 0)) {
				fprintf(stderr, "xenith %s: --timeout %s: expected a positive number of "
					"seconds\n", c->name, optarg);
				return EXIT_USAGE;
			}
			break;
		}
		case 'h':
			cmd_help(stdout, c);
			return 0;
		default:
			goto bad;
		}
	}
	if (needs_target) {
		if (optind >= argc || (unsigned)(argc - optind - 1) < min_args ||
		    (unsigned)(argc - optind - 1) > max_args) {
			if (max_args)
				fprintf(stderr, "xenith %s: expected a domain name or id, then %s\n\n",
					c->name, strchr(c->usage, ' ') + 1);
			else
				fprintf(stderr, "xenith %s: expected one domain name or id\n\n", c->name);
			cmd_help(stderr, c);
			return EXIT_USAGE;
		}
		p->target = argv[optind];
		p->args = argv + optind + 1;
		p->nr_args = (unsigned)(argc - optind - 1);
	} else if (optind != argc) {
		fprintf(stderr, "xenith %s: unexpected argument '%s'\n", c->name, argv[optind]);
		return EXIT_USAGE;
	}
	return -1;
bad:
	fprintf(stderr, "xenith %s: see `xenith %s --help`\n", c->name, c->name);
	return EXIT_USAGE;
}

/* One request to a named domain; prints the error and returns non-zero on failure. */
static int call(const char *dir, const char *name, const char *req, char *rep, size_t size,
		const char *cmdname)
{
	struct errbuf eb;
	char err[512];
	bool ok = false;
	int fd = -1;

	if (control_connect(dir, name, &fd, &eb) < 0 || control_call(fd, req, rep, size, &eb) < 0) {
		if (fd >= 0)
			close(fd);
		fprintf(stderr, "xenith %s: %s\n", cmdname, eb.msg);
		return 1;
	}
	close(fd);
	if (json_get_bool(rep, "ok", &ok) < 0 || !ok) {
		if (json_get_string(rep, "error", err, sizeof(err)) < 0)
			snprintf(err, sizeof(err), "malformed reply from the VMM: %.200s", rep);
		fprintf(stderr, "xenith %s: %s\n", cmdname, err);
		return 1;
	}
	return 0;
}

/* Accepts a name or a numeric domain id. */
int resolve_domain(const char *dir, const char *target, char *name, size_t size, const char *cmdname)
{
	struct control_entry *e = NULL;
	struct errbuf eb;
	size_t n = 0;
	char *end;
	unsigned long id = strtoul(target, &end, 10);

	snprintf(name, size, "%s", target);
	if (*end || end == target)
		return 0;
	if (control_list(dir, &e, &n, &eb) < 0) {
		fprintf(stderr, "xenith %s: %s\n", cmdname, eb.msg);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		char rep[1024];
		double got;
		int fd;

		if (control_connect(dir, e[i].name, &fd, &eb) < 0)
			continue;
		if (control_call_timeout(fd, "{\"cmd\":\"info\"}", rep, sizeof(rep), LIST_TIMEOUT_MS, &eb) == 0 &&
		    json_get_number(rep, "id", &got) == 0 && (unsigned long)got == id) {
			snprintf(name, size, "%s", e[i].name);
			close(fd);
			free(e);
			return 0;
		}
		close(fd);
	}
	free(e);
	return 0; /* not an id in use: treat it as a name (a domain may be called "7") */
}

/* setup() for a command whose target takes min_args to max_args arguments after it. */
static int setup_args(int argc, char **argv, const struct cli_cmd *c, unsigned min_args,
		      unsigned max_args, struct parsed *p, char *dir, char *name)
{
	struct errbuf eb;
	int r = parse(argc, argv, c, strcmp(c->name, "save") ? "h" : "kh", true, min_args, max_args, p);

	if (r >= 0)
		return r;
	if (rundir_resolve(p->run_dir, dir, PATH_MAX, &eb) < 0) {
		fprintf(stderr, "xenith %s: %s\n", c->name, eb.msg);
		return EXIT_USAGE;
	}
	if (resolve_domain(dir, p->target, name, XENITH_NAME_MAX, c->name))
		return 1;
	return -1;
}

static int setup(int argc, char **argv, const struct cli_cmd *c, const char *shortopts,
		 bool needs_target, struct parsed *p, char *dir, char *name)
{
	struct errbuf eb;
	int r = parse(argc, argv, c, shortopts, needs_target, 0, 0, p);

	if (r >= 0)
		return r;
	if (rundir_resolve(p->run_dir, dir, PATH_MAX, &eb) < 0) {
		fprintf(stderr, "xenith %s: %s\n", c->name, eb.msg);
		return EXIT_USAGE;
	}
	if (needs_target && resolve_domain(dir, p->target, name, XENITH_NAME_MAX, c->name))
		return 1;
	return -1;
}

static void format_uptime(double s, char *out, size_t size)
{
	unsigned long t = (unsigned long)s;

	snprintf(out, size, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
}

int cmd_list(int argc, char **argv)
{
	static const struct cli_cmd c = { "list", "[--long] [--json]",
		"Lists running domains: name, id, state, vCPUs (up/configured), memory, uptime.\n"
		"--long adds where each domain runs: its memory backing (memfd, hugetlb, thp;\n"
		"auto shows what it chose),\n"
		"NUMA node (- for none) and the host CPUs of each vCPU, '/' between vCPUs\n"
		"(- when they may run anywhere).\n"
		"A domain whose VMM does not answer within 5 s is listed as no-reply.\n"
		"--json prints one JSON object per domain instead (with every field)." };
	char dir[PATH_MAX], name[XENITH_NAME_MAX];
	struct control_entry *e = NULL;
	struct parsed p;
	struct errbuf eb;
	size_t n = 0;
	int r = setup(argc, argv, &c, "h", false, &p, dir, name);

	if (r >= 0)
		return r;
	if (control_list(dir, &e, &n, &eb) < 0) {
		fprintf(stderr, "xenith list: %s\n", eb.msg);
		return 1;
	}
	if (!p.json)
		printf("%-24s %5s  %-9s %5s  %9s  %9s%s\n", "NAME", "ID", "STATE", "VCPUS", "MEM(MiB)",
		       "UPTIME", p.lng ? "  BACKING  NODE  CPUS" : "");
	for (size_t i = 0; i < n; i++) {
		char rep[CONTROL_REPLY_MAX], nm[XENITH_NAME_MAX], state[32], up[32], vc[16];
		double id = 0, vcpus = 0, vup = 0, mem = 0, secs = 0;
		int fd;

		r = control_connect(dir, e[i].name, &fd, &eb);
		if (r < 0 && r != -ETIMEDOUT)
			continue; /* ended between listing and asking */
		if (r == 0) {
			r = control_call_timeout(fd, "{\"cmd\":\"info\"}", rep, sizeof(rep), LIST_TIMEOUT_MS,
						 &eb);
			close(fd);
		}
		if (r < 0) {
			/* Its VMM holds the name but does not answer: say so, do not hide it. */
			if (p.json) {
				char esc[2 * sizeof(eb.msg)];

				json_escape(esc, sizeof(esc), eb.msg);
				printf("{\"ok\":false,\"name\":\"%s\",\"state\":\"no-reply\",\"error\":\"%s\"}\n",
				       e[i].name, esc);
			} else {
				printf("%-24s %5s  %-9s %5s  %9s  %9s%s\n", e[i].name, "-", "no-reply", "-", "-",
				       "-", p.lng ? "  -        -     -" : "");
			}
			fprintf(stderr, "xenith list: %s: %s\n", e[i].name, eb.msg);
			continue;
		}
		if (p.json) {
			printf("%s\n", rep);
			continue;
		}
		if (json_get_string(rep, "name", nm, sizeof(nm)) < 0 ||
		    json_get_string(rep, "state", state, sizeof(state)) < 0)
			continue;
		json_get_number(rep, "id", &id);
		json_get_number(rep, "vcpus", &vcpus);
		json_get_number(rep, "vcpus_up", &vup);
		json_get_number(rep, "memory_mib", &mem);
		json_get_number(rep, "uptime_s", &secs);
		format_uptime(secs, up, sizeof(up));
		snprintf(vc, sizeof(vc), "%.0f/%.0f", vup, vcpus);
		printf("%-24s %5.0f  %-9s %5s  %9.0f  %9s", nm, id, state, vc, mem, up);
		if (p.lng) {
			char backing[16] = "?", cpus[256] = "", node[16] = "-";
			double nn = -1;

			json_get_string(rep, "memory_backing", backing, sizeof(backing));
			json_get_string(rep, "vcpu_cpus", cpus, sizeof(cpus));
			if (json_get_number(rep, "numa_node", &nn) == 0 && nn >= 0)
				snprintf(node, sizeof(node), "%.0f", nn);
			printf("  %-7s  %-4s  %s", backing, node, cpus[0] ? cpus : "-");
		}
		putchar('\n');
	}
	free(e);
	return 0;
}

/*
 * `xenith disks` and `xenith devices`: asks the VMM for cmd, whose reply
 * holds an array under the key of the same name.  With --json the reply
 * is printed as it came.  Returns an exit status, or -1 with *doc (the
 * caller frees it) and *arr the array to print.
 */
static int fetch_array(int argc, char **argv, const struct cli_cmd *c, const char *cmd, char *name,
		       struct jv **doc, const struct jv **arr)
{
	char dir[PATH_MAX], err[160], req[64];
	struct parsed p;
	char *rep;
	int r = setup(argc, argv, c, "h", true, &p, dir, name);

	if (r >= 0)
		return r;
	rep = malloc(CONTROL_DISKS_MAX);
	if (!rep) {
		fprintf(stderr, "xenith %s: out of memory\n", c->name);
		return 1;
	}
	snprintf(req, sizeof(req), "{\"cmd\":\"%s\"}", cmd);
	r = call(dir, name, req, rep, CONTROL_DISKS_MAX, c->name);
	if (r || p.json) {
		if (!r)
			printf("%s\n", rep);
		free(rep);
		return r;
	}
	*doc = jv_parse(rep, err, sizeof(err));
	*arr = *doc ? jv_get(*doc, cmd) : NULL;
	if (!*arr || (*arr)->type != JV_ARR) {
		if (*doc)
			snprintf(err, sizeof(err), "no %s array", cmd);
		fprintf(stderr, "xenith %s: malformed reply from the VMM (%s)\n", c->name, err);
		jv_free(*doc);
		free(rep);
		return 1;
	}
	free(rep); /* the parsed document keeps what it needs */
	return -1;
}

int cmd_disks(int argc, char **argv)
{
	static const struct cli_cmd c = { "disks", "NAME|ID [--json]",
		"Lists the domain's virtual disks, one line per queue (ring): mode, state\n"
		"(connected or not, broken when the guest's ring indices were impossible),\n"
		"grants (persistent: mappings the backend holds; copy), and the backend's\n"
		"counters: requests, reads, writes (COPIED: how many of them went through\n"
		"grant copies rather than straight into granted pages), flushes (SYNCED:\n"
		"those whose fdatasync completed before the response), discards, error\n"
		"responses (of which bad requests).  --json prints the VMM's JSON reply\n"
		"instead, with the bytes read and written too." };
	char name[XENITH_NAME_MAX];
	struct jv *doc;
	const struct jv *disks;
	int r = fetch_array(argc, argv, &c, "disks", name, &doc, &disks);

	if (r >= 0)
		return r;
	if (disks->n == 0)
		printf("%s has no virtual disks\n", name);
	else
		printf("%-4s %-5s %-9s %-9s %-10s %10s %10s %10s %10s %7s %7s %8s %7s %5s  %s\n", "DISK",
		       "QUEUE", "MODE", "STATE", "GRANTS", "REQUESTS", "READS", "WRITES", "COPIED", "FLUSHES",
		       "SYNCED", "DISCARDS", "ERRORS", "BAD", "PATH");
	for (size_t i = 0; i < disks->n; i++) {
		const struct jv *q = &disks->items[i];
		char grants[24];
		const char *state = jv_bool(q, "broken", false) ? "broken" :
				    jv_bool(q, "connected", false) ? "connected" : "idle";

		if (!jv_bool(q, "connected", false))
			snprintf(grants, sizeof(grants), "-");
		else if (jv_bool(q, "persistent", false))
			snprintf(grants, sizeof(grants), "pers %.0f", jv_num(q, "persistent_maps", 0));
		else
			snprintf(grants, sizeof(grants), "copy");
		printf("%-4.0f %-5.0f %-9s %-9s %-10s %10.0f %10.0f %10.0f %10.0f %7.0f %7.0f %8.0f %7.0f %5.0f  %s%s\n",
		       jv_num(q, "disk", 0), jv_num(q, "queue", 0), jv_str(q, "mode", "?"), state, grants,
		       jv_num(q, "requests", 0), jv_num(q, "reads", 0), jv_num(q, "writes", 0),
		       jv_num(q, "copied", 0), jv_num(q, "flushes", 0), jv_num(q, "datasyncs", 0),
		       jv_num(q, "discards", 0), jv_num(q, "errors", 0),
		       jv_num(q, "bad_requests", 0), jv_str(q, "path", "?"), jv_bool(q, "ro", false) ? " (ro)" : "");
	}
	jv_free(doc);
	return 0;
}

/* A device's scalar stats as "key=value ..." (arrays and objects, e.g. a disk's queues, left out). */
static void print_counters(const struct jv *stats)
{
	for (size_t i = 0; stats && stats->type == JV_OBJ && i < stats->n; i++) {
		const struct jv *v = &stats->items[i];
		const char *sep = i ? " " : "";

		switch (v->type) {
		case JV_NUM:
			printf("%s%s=%.0f", sep, stats->keys[i], v->num);
			break;
		case JV_BOOL:
			printf("%s%s=%s", sep, stats->keys[i], v->b ? "yes" : "no");
			break;
		case JV_STR:
			printf("%s%s=%s", sep, stats->keys[i], v->str);
			break;
		default:
			break;
		}
	}
}

int cmd_devices(int argc, char **argv)
{
	static const struct cli_cmd c = { "devices", "NAME|ID [--json]",
		"Lists every device of the domain, one line each: type (vbd: a virtual disk;\n"
		"vif: a network interface; pci: a PCI function passed through (its IOMMU\n"
		"group, bytes mapped for DMA, resets); bench: `xenith bench`'s hooks; loopback: a test\n"
		"backend), name, state\n"
		"(created, connected, quiesced, disconnected, failed) and the device's own\n"
		"counters as key=value (a disk's are its queues' totals; `xenith disks`\n"
		"shows each queue).  --json prints the VMM's JSON reply instead, with each\n"
		"disk's queues as `xenith disks --json` has them." };
	char name[XENITH_NAME_MAX];
	struct jv *doc;
	const struct jv *devs;
	int r = fetch_array(argc, argv, &c, "devices", name, &doc, &devs);

	if (r >= 0)
		return r;
	if (devs->n == 0)
		printf("%s has no devices\n", name);
	else
		printf("%-9s %-11s %-13s %s\n", "TYPE", "NAME", "STATE", "COUNTERS");
	for (size_t i = 0; i < devs->n; i++) {
		const struct jv *dv = &devs->items[i];

		printf("%-9s %-11s %-13s ", jv_str(dv, "type", "?"), jv_str(dv, "name", "?"),
		       jv_str(dv, "state", "?"));
		print_counters(jv_get(dv, "stats"));
		printf("\n");
	}
	jv_free(doc);
	return 0;
}

int cmd_memmap(int argc, char **argv)
{
	static const struct cli_cmd c = { "memmap", "NAME|ID [--json]",
		"Lists the domain's guest memory map, one region a line, by address: its\n"
		"guest-physical range, type (ram: guest memory in a KVM slot; hole: no\n"
		"memory, each access an MMIO exit; special: a page inside RAM with a role\n"
		"of its own, e.g. start_info or the console ring; device: a passed-through\n"
		"function's BAR in a KVM slot, above RAM), name, KVM slot and whether KVM\n"
		"logs writes to it (dirty-log).  The RAM regions are what a passed-through\n"
		"function may DMA to and what a migration would track (hv/memmap.h).\n"
		"--json prints the VMM's JSON reply instead." };
	char name[XENITH_NAME_MAX];
	struct jv *doc;
	const struct jv *regions;
	int r = fetch_array(argc, argv, &c, "memmap", name, &doc, &regions);

	if (r >= 0)
		return r;
	if (regions->n == 0)
		printf("%s has no memory regions\n", name);
	else
		printf("%-27s %-8s %-12s %4s  %s\n", "GUEST-PHYSICAL", "TYPE", "NAME", "SLOT", "DIRTY-LOG");
	for (size_t i = 0; i < regions->n; i++) {
		const struct jv *g = &regions->items[i];
		unsigned long long gpa = (unsigned long long)jv_num(g, "gpa", 0);
		unsigned long long size = (unsigned long long)jv_num(g, "size", 0);
		int slot = (int)jv_num(g, "slot", -1);
		char range[40], sl[12] = "-";

		snprintf(range, sizeof(range), "0x%09llx-0x%09llx", gpa, size ? gpa + size - 1 : gpa);
		if (slot >= 0)
			snprintf(sl, sizeof(sl), "%d", slot);
		printf("%-27s %-8s %-12s %4s  %s\n", range, jv_str(g, "type", "?"), jv_str(g, "name", "?"), sl,
		       jv_bool(g, "dirty_log", false) ? "on" : "-");
	}
	jv_free(doc);
	return 0;
}

/* A JSON request with string members (key, value, ...; NULL ends), malloc'd. */
static char *request_with(const char *cmd, ...)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	const char *k;
	bool ok = true;
	va_list ap;

	if (!f)
		return NULL;
	fprintf(f, "{\"cmd\":\"%s\"", cmd);
	va_start(ap, cmd);
	while ((k = va_arg(ap, const char *))) {
		const char *v = va_arg(ap, const char *);
		size_t size = strlen(v) * 6 + 1; /* \u00XX at most for each byte */
		char *esc = malloc(size);

		if (!esc) {
			ok = false;
			break;
		}
		json_escape(esc, size, v);
		fprintf(f, ",\"%s\":\"%s\"", k, esc);
		free(esc);
	}
	va_end(ap);
	fputc('}', f);
	if (fclose(f) != 0 || !ok) {
		free(buf);
		return NULL;
	}
	return buf;
}

int cmd_xenstore_ls(int argc, char **argv)
{
	static const struct cli_cmd c = { "xenstore-ls", "NAME|ID [PATH]",
		"Prints the domain's xenstore below PATH (default /), as xenstore-ls does:\n"
		"one node a line, `name = \"value\"`, indented one space per level.\n"
		"The store is the VMM's (Xen's xenstored, in-process): the domain's\n"
		"own tree is /local/domain/ID, and the VMM, as domain 0, sees all of it." };
	char dir[PATH_MAX], name[XENITH_NAME_MAX], err[160];
	struct parsed p;
	struct jv *doc;
	const struct jv *text;
	char *rep, *req;
	int r = setup_args(argc, argv, &c, 0, 1, &p, dir, name);

	if (r >= 0)
		return r;
	req = request_with("xenstore", "path", p.nr_args ? p.args[0] : "/", NULL);
	rep = malloc(CONTROL_XENSTORE_REPLY_MAX);
	if (!req || !rep) {
		fprintf(stderr, "xenith %s: out of memory\n", c.name);
		free(req);
		free(rep);
		return 1;
	}
	r = call(dir, name, req, rep, CONTROL_XENSTORE_REPLY_MAX, c.name);
	free(req);
	if (r) {
		free(rep);
		return r;
	}
	doc = jv_parse(rep, err, sizeof(err));
	text = doc ? jv_get(doc, "xenstore") : NULL;
	if (!text || text->type != JV_STR) {
		fprintf(stderr, "xenith %s: malformed reply from the VMM (%s)\n", c.name,
			doc ? "no xenstore text" : err);
		r = 1;
	} else {
		fputs(text->str, stdout);
	}
	jv_free(doc);
	free(rep);
	return r;
}

int cmd_xenstore_write(int argc, char **argv)
{
	static const struct cli_cmd c = { "xenstore-write", "NAME|ID PATH VALUE",
		"Writes VALUE at PATH in the domain's xenstore, as domain 0 (the\n"
		"toolstack: every node may be written), as xenstore-write does; nodes\n"
		"missing on the way are created.  PATH is absolute (domain 0 has no\n"
		"home to take a relative one from), e.g. /local/domain/ID/data/key.\n"
		"Watches on PATH fire, the domain's own among them." };
	char dir[PATH_MAX], name[XENITH_NAME_MAX], rep[1024];
	struct parsed p;
	char *req;
	int r = setup_args(argc, argv, &c, 2, 2, &p, dir, name);

	if (r >= 0)
		return r;
	req = request_with("xenstore-write", "path", p.args[0], "value", p.args[1], NULL);
	if (!req) {
		fprintf(stderr, "xenith %s: out of memory\n", c.name);
		return 1;
	}
	r = call(dir, name, req, rep, sizeof(rep), c.name);
	free(req);
	return r;
}

static int simple(int argc, char **argv, const struct cli_cmd *c, const char *req)
{
	char dir[PATH_MAX], name[XENITH_NAME_MAX], rep[1024];
	struct parsed p;
	int r = setup(argc, argv, c, "h", true, &p, dir, name);

	if (r >= 0)
		return r;
	return call(dir, name, req, rep, sizeof(rep), c->name);
}

int cmd_pause(int argc, char **argv)
{
	static const struct cli_cmd c = { "pause", "NAME|ID",
		"Stops every vCPU of the domain; returns once no guest code runs." };

	return simple(argc, argv, &c, "{\"cmd\":\"pause\"}");
}

int cmd_unpause(int argc, char **argv)
{
	static const struct cli_cmd c = { "unpause", "NAME|ID", "Lets a paused domain run again." };

	return simple(argc, argv, &c, "{\"cmd\":\"unpause\"}");
}

/* The VMM that wrote its pid into the lock file is still running (a zombie is not). */
static bool lock_owner_alive(const char *path)
{
	char buf[128] = "", *state;
	int fd = open(path, O_RDONLY | O_CLOEXEC), pid;
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	pid = n > 0 ? atoi(buf) : 0;
	if (pid <= 0 || (kill(pid, 0) < 0 && errno != EPERM))
		return false;
	snprintf(buf, sizeof(buf), "/proc/%d/stat", pid);
	fd = open(buf, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	state = strrchr(buf, ')'); /* "pid (comm) S ..." */
	return !(state && state[1] == ' ' && state[2] == 'Z');
}

/*
 * Waits until the domain's VMM has released its name; false on timeout.
 * A confined VMM (user =, jail =) cannot remove its lock file: its end is
 * the end of the process that wrote it.
 */
bool wait_gone(const char *dir, const char *name, double timeout_s)
{
	uint64_t deadline = now_ns() + (uint64_t)(timeout_s * 1e9);

	while (now_ns() < deadline) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/%s.lock", dir, name);
		if (access(path, F_OK) < 0 || !lock_owner_alive(path))
			return true;
		usleep(10000);
	}
	return false;
}

int cmd_shutdown(int argc, char **argv)
{
	static const struct cli_cmd c = { "shutdown", "[-w] [-r] [-t SECONDS] NAME|ID",
		"Asks the guest to power off through VIRQ_CONTROL (an event it sees).\n"
		"  -w, --wait             wait until the domain has gone\n"
		"  -r, --reboot           ask for a reboot instead\n"
		"  -t, --timeout SECONDS  how long --wait waits (default 60)" };
	char dir[PATH_MAX], name[XENITH_NAME_MAX], rep[1024];
	struct parsed p;
	int r = setup(argc, argv, &c, "wrt:h", true, &p, dir, name);

	if (r >= 0)
		return r;
	r = call(dir, name, p.reboot ? "{\"cmd\":\"shutdown\",\"reason\":\"reboot\"}"
				     : "{\"cmd\":\"shutdown\",\"reason\":\"poweroff\"}",
		 rep, sizeof(rep), c.name);
	if (r || !p.wait)
		return r;
	if (!wait_gone(dir, name, p.timeout_s)) {
		fprintf(stderr, "xenith shutdown: domain '%s' is still there after %gs; the guest may "
			"ignore the request: `xenith destroy %s` ends it\n", name, p.timeout_s, name);
		return 1;
	}
	return 0;
}

int cmd_destroy(int argc, char **argv)
{
	static const struct cli_cmd c = { "destroy", "NAME|ID",
		"Ends the domain at once and waits until its name is free: up to 15 s (a VMM\n"
		"whose domain has not stopped 10 s after a destroy ends its own process)." };
	char dir[PATH_MAX], name[XENITH_NAME_MAX], rep[1024];
	struct parsed p;
	int r = setup(argc, argv, &c, "h", true, &p, dir, name);

	if (r >= 0)
		return r;
	r = call(dir, name, "{\"cmd\":\"destroy\"}", rep, sizeof(rep), c.name);
	if (r)
		return r;
	if (!wait_gone(dir, name, DOMAIN_STOP_GRACE_MS / 1000.0 + 5)) {
		fprintf(stderr, "xenith destroy: domain '%s' was told to go but its VMM is still "
			"there after %g s\n", name, DOMAIN_STOP_GRACE_MS / 1000.0 + 5);
		return 1;
	}
	return 0;
}

/* A save of a large domain to a slow disk takes its time; the VMM answers when the stream is whole. */
#define SAVE_TIMEOUT_MS 600000

int cmd_save(int argc, char **argv)
{
	static const struct cli_cmd c = { "save", "[-k] NAME|ID FILE",
		"Writes the domain's whole state (memory, vCPUs, event channels, grants, timers,\n"
		"console, xenstore, disks) to FILE, then ends it; `xenith restore FILE` brings it\n"
		"back where it stopped.  The domain is paused while it is written, and its disks'\n"
		"requests in flight complete first.  FILE appears only once it is whole: the\n"
		"stream goes to FILE.partial, renamed at the end.  On any failure the domain\n"
		"runs on and FILE is left as it was.  FILE '-' is standard output (a pipe).\n"
		"  -k, --keep             let the domain run on after the save (a checkpoint)" };
	char dir[PATH_MAX], name[XENITH_NAME_MAX], rep[1024], err[512], tmp[PATH_MAX + 16];
	const char *file;
	struct parsed p;
	struct errbuf eb;
	bool ok = false, to_stdout;
	double pages = 0, bytes = 0, paused_ms = 0;
	int r = setup_args(argc, argv, &c, 1, 1, &p, dir, name), fd, sfd = -1;

	if (r >= 0)
		return r;
	file = p.args[0];
	to_stdout = !strcmp(file, "-");
	if (snprintf(tmp, sizeof(tmp), "%s.partial", file) >= (int)sizeof(tmp)) {
		fprintf(stderr, "xenith save: %s: path too long\n", file);
		return EXIT_USAGE;
	}
	if (to_stdout && isatty(STDOUT_FILENO)) {
		fprintf(stderr, "xenith save: FILE '-' is standard output, which is a terminal; redirect it "
			"or give a file\n");
		return EXIT_USAGE;
	}
	fd = to_stdout ? dup(STDOUT_FILENO) : open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "xenith save: %s: %s\n", to_stdout ? "standard output" : tmp, strerror(errno));
		return 1;
	}
	r = control_connect(dir, name, &sfd, &eb);
	if (r == 0)
		r = control_call_fd(sfd, p.keep ? "{\"cmd\":\"save\",\"keep\":true}" : "{\"cmd\":\"save\"}", fd,
				    rep, sizeof(rep), SAVE_TIMEOUT_MS, &eb);
	if (sfd >= 0)
		close(sfd);
	if (r == 0 && (json_get_bool(rep, "ok", &ok) < 0 || !ok)) {
		if (json_get_string(rep, "error", err, sizeof(err)) < 0)
			snprintf(err, sizeof(err), "malformed reply from the VMM: %.200s", rep);
		snprintf(eb.msg, sizeof(eb.msg), "%s", err);
		r = -EIO;
	}
	if (r == 0 && close(fd) < 0)
		r = errbuf_set(&eb, errno, "%s: %s", tmp, strerror(errno));
	else if (r < 0)
		close(fd);
	if (r == 0 && !to_stdout && rename(tmp, file) < 0)
		r = errbuf_set(&eb, errno, "renaming %s to %s: %s", tmp, file, strerror(errno));
	if (r < 0) {
		if (!to_stdout)
			unlink(tmp);
		fprintf(stderr, "xenith save: %s\n", eb.msg);
		return 1;
	}
	json_get_number(rep, "pages", &pages);
	json_get_number(rep, "bytes", &bytes);
	json_get_number(rep, "paused_ms", &paused_ms);
	fprintf(to_stdout ? stderr : stdout, "saved '%s' to %s: %.0f pages, %.1f MiB, paused %.3f ms%s\n",
		name, to_stdout ? "standard output" : file, pages,
	       bytes / 1048576.0, paused_ms, p.keep ? ", running on" : "");
	if (!p.keep && !wait_gone(dir, name, DOMAIN_STOP_GRACE_MS / 1000.0 + 5)) {
		fprintf(stderr, "xenith save: domain '%s' was saved, but its VMM is still there after %g s\n",
			name, DOMAIN_STOP_GRACE_MS / 1000.0 + 5);
		return 1;
	}
	return 0;
}

int cmd_console(int argc, char **argv)
{
	static const struct cli_cmd c = { "console", "NAME|ID",
		"Prints the domain's recent console output, then follows it until the domain\n"
		"ends (or Ctrl-C)." };
	char dir[PATH_MAX], name[XENITH_NAME_MAX], rep[1024], buf[4096];
	struct parsed p;
	struct errbuf eb;
	bool ok = false;
	int fd = -1, r = setup(argc, argv, &c, "h", true, &p, dir, name);
	ssize_t n;

	if (r >= 0)
		return r;
	if (control_connect(dir, name, &fd, &eb) < 0) {
		fprintf(stderr, "xenith console: %s\n", eb.msg);
		return 1;
	}
	/* Byte by byte up to the newline: the console output follows at once. */
	if (write(fd, "{\"cmd\":\"console\"}\n", 18) != 18) {
		fprintf(stderr, "xenith console: cannot talk to the VMM of '%s'\n", name);
		close(fd);
		return 1;
	}
	for (size_t i = 0;; i++) {
		if (i + 1 >= sizeof(rep) || read(fd, &rep[i], 1) != 1) {
			fprintf(stderr, "xenith console: no reply from the VMM of '%s'\n", name);
			close(fd);
			return 1;
		}
		if (rep[i] == '\n') {
			rep[i] = 0;
			break;
		}
	}
	if (json_get_bool(rep, "ok", &ok) < 0 || !ok) {
		fprintf(stderr, "xenith console: %s\n", rep);
		close(fd);
		return 1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n || fflush(stdout))
			break;
	close(fd);
	return 0;
}
