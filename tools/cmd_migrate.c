// SPDX-License-Identifier: MIT
/*
 * `xenith migrate NAME HOST[:PORT]`: connects to a `xenith migrate-receive`
 * and hands the connection to the domain's VMM (SCM_RIGHTS), which
 * migrates it live (hv/migrate.c) and reports each round; this prints
 * them and the outcome.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "control.h"
#include "domain.h"
#include "json.h"
#include "jsondoc.h"
#include "xenith.h"

#define MIGRATE_DEFAULT_PORT "8002" /* xend's relocation port */
#define CONNECT_TIMEOUT_MS 5000
/* A round's progress line comes at least this often; a 1 GiB round 0 over a slow link takes long. */
#define PROGRESS_TIMEOUT_MS 600000

static void migrate_help(FILE *f)
{
	fprintf(f,
"usage: xenith migrate [OPTIONS] NAME|ID HOST[:PORT]\n\n"
"Moves a running domain to the `xenith migrate-receive` listening at HOST:PORT\n"
"(default port " MIGRATE_DEFAULT_PORT "), live: its memory goes over while it runs, in rounds\n"
"of the pages it wrote meanwhile (KVM's dirty log), until what is left would go\n"
"within the downtime target; then it is paused, the rest and its state go, and\n"
"it runs on at the receiver.  Each round is printed on stderr.  Its disks must be\n"
"at the same paths there (shared storage, or the same host).\n\n"
"If anything fails before the receiver is told to start it, the domain runs on\n"
"here.  If the connection breaks after that and before the receiver confirms,\n"
"it stays paused here (never two running copies): see the message.\n\n"
"options:\n"
"      --downtime-ms MS   the stop-and-copy's target (default 5)\n"
"      --max-rounds N     dirty rounds at most before stopping anyway (default 30)\n"
"      --run-dir DIR      where control sockets live (as for `xenith list`)\n"
"  -h, --help             this text\n");
}

/* A TCP connection to host:port (port may be absent), within CONNECT_TIMEOUT_MS. */
static int connect_to(const char *spec, char *why, size_t whylen)
{
	char host[256], port[16] = MIGRATE_DEFAULT_PORT;
	const char *colon = strrchr(spec, ':');
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res, *ai;
	int fd = -1, r;

	if (colon && !strchr(colon, ']') && strchr(spec, ':') == colon) {
		snprintf(host, sizeof(host), "%.*s", (int)(colon - spec), spec);
		snprintf(port, sizeof(port), "%s", colon + 1);
	} else if (spec[0] == '[' && (colon = strstr(spec, "]:"))) {
		snprintf(host, sizeof(host), "%.*s", (int)(colon - spec - 1), spec + 1);
		snprintf(port, sizeof(port), "%s", colon + 2);
	} else {
		snprintf(host, sizeof(host), "%s", spec);
	}
	r = getaddrinfo(host, port, &hints, &res);
	if (r != 0) {
		snprintf(why, whylen, "%s: %s", spec, gai_strerror(r));
		return -1;
	}
	for (ai = res; ai && fd < 0; ai = ai->ai_next) {
		struct pollfd p;
		int err = 0, one = 1;
		socklen_t len = sizeof(err);

		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
			err = errno;
		} else {
			p = (struct pollfd){ .fd = fd, .events = POLLOUT };
			if (poll(&p, 1, CONNECT_TIMEOUT_MS) != 1)
				err = ETIMEDOUT;
			else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
				err = errno;
		}
		if (err) {
			snprintf(why, whylen, "%s: %s", spec, strerror(err));
			close(fd);
			fd = -1;
			continue;
		}
		/* Blocking from here: the VMM writes the stream with plain writes. */
		fcntl(fd, F_SETFL, 0);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	freeaddrinfo(res);
	return fd;
}

/* A number member of a parsed object, 0 when missing. */
static double num(const struct jv *o, const char *key)
{
	const struct jv *v = jv_get(o, key);

	return v && v->type == JV_NUM ? v->num : 0;
}

static void print_progress(const char *line)
{
	char msg[128];
	struct jv *doc = jv_parse(line, msg, sizeof(msg));
	const struct jv *p = doc && doc->type == JV_OBJ ? jv_get(doc, "progress") : NULL;
	const struct jv *final;
	double pages;

	if (!p || p->type != JV_OBJ) {
		jv_free(doc);
		return;
	}
	final = jv_get(p, "final");
	pages = num(p, "pages");
	if (final && final->type == JV_BOOL && final->b)
		fprintf(stderr, "xenith migrate: stop and copy: %.0f pages (%.1f MiB), %.0f in all\n", pages,
			pages * 4096 / 1048576.0, num(p, "total_pages"));
	else
		fprintf(stderr, "xenith migrate: round %.0f: %.0f pages (%.1f MiB) at %.0f MB/s; %.0f dirty, "
			"stopping now would take %.3f ms\n", num(p, "round"), pages, pages * 4096 / 1048576.0,
			num(p, "rate_mbs"), num(p, "dirty"), num(p, "est_downtime_ms"));
	jv_free(doc);
}

int cmd_migrate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "downtime-ms", required_argument, NULL, 'd' },
		{ "max-rounds", required_argument, NULL, 'm' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *run_dir = NULL;
	double downtime_ms = 5, max_rounds = 30, v;
	char dir[PATH_MAX], name[XENITH_NAME_MAX], req[160], rep[1024], why[512], err[512];
	struct errbuf eb;
	bool ok = false;
	int opt, sock, cfd = -1, r;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		char *end;

		switch (opt) {
		case 'd':
		case 'm':
			v = strtod(optarg, &end);
			if (*end || end == optarg || !(v >= 0)) {
				fprintf(stderr, "xenith migrate: --%s %s: expected a number\n",
					opt == 'd' ? "downtime-ms" : "max-rounds", optarg);
				return EXIT_USAGE;
			}
			*(opt == 'd' ? &downtime_ms : &max_rounds) = v;
			break;
		case 'r':
			run_dir = optarg;
			break;
		case 'h':
			migrate_help(stdout);
			return 0;
		default:
			fprintf(stderr, "xenith migrate: see `xenith migrate --help`\n");
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "xenith migrate: expected a domain name or id, then HOST[:PORT]\n");
		return EXIT_USAGE;
	}
	if (rundir_resolve(run_dir, dir, sizeof(dir), &eb) < 0) {
		fprintf(stderr, "xenith migrate: %s\n", eb.msg);
		return EXIT_USAGE;
	}
	if (resolve_domain(dir, argv[optind], name, sizeof(name), "migrate"))
		return 1;
	sock = connect_to(argv[optind + 1], why, sizeof(why));
	if (sock < 0) {
		fprintf(stderr, "xenith migrate: cannot reach the receiver at %s (is `xenith migrate-receive` "
			"listening there?)\n", why);
		return 1;
	}
	snprintf(req, sizeof(req), "{\"cmd\":\"migrate\",\"downtime_ms\":%g,\"max_rounds\":%g}", downtime_ms,
		 max_rounds);
	r = control_connect(dir, name, &cfd, &eb);
	if (r == 0)
		r = control_send_fd(cfd, req, sock, &eb);
	close(sock); /* the VMM has its own descriptor now */
	while (r == 0) {
		r = control_read_reply(cfd, rep, sizeof(rep), PROGRESS_TIMEOUT_MS, &eb);
		if (r == 0 && strstr(rep, "\"progress\"") == rep + 1) {
			print_progress(rep);
			continue;
		}
		break;
	}
	if (cfd >= 0)
		close(cfd);
	if (r == 0 && (json_get_bool(rep, "ok", &ok) < 0 || !ok)) {
		if (json_get_string(rep, "error", err, sizeof(err)) < 0)
			snprintf(err, sizeof(err), "malformed reply from the VMM: %.200s", rep);
		fprintf(stderr, "xenith migrate: %s\n", err);
		return 1;
	}
	if (r < 0) {
		fprintf(stderr, "xenith migrate: %s\n", eb.msg);
		return 1;
	}
	{
		double rounds = 0, pages = 0, bytes = 0, down = 0, total = 0, fin = 0, swept = 0, ring = 0, full = 0;
		bool conv = false;

		json_get_number(rep, "rounds", &rounds);
		json_get_bool(rep, "converged", &conv);
		json_get_number(rep, "pages", &pages);
		json_get_number(rep, "bytes", &bytes);
		json_get_number(rep, "downtime_ms", &down);
		json_get_number(rep, "total_ms", &total);
		json_get_number(rep, "final_pages", &fin);
		json_get_number(rep, "swept_pages", &swept);
		printf("migrated '%s' to %s: %.0f rounds%s, %.0f pages (%.1f MiB), stop and copy %.0f pages "
		       "(%.0f the VMM's own writes), downtime %.3f ms, %.1f ms in all\n", name, argv[optind + 1],
		       rounds, conv ? "" : " (did not converge: the guest dirties memory faster than it goes)",
		       pages, bytes / 1048576.0, fin, swept, down, total);
		json_get_number(rep, "dirty_ring", &ring);
		json_get_number(rep, "ring_full_exits", &full);
		if (ring > 0)
			printf("dirty log: KVM's dirty ring, %.0f entries per vCPU; %.0f vCPU exits for a full ring\n",
			       ring, full);
		else
			printf("dirty log: KVM's dirty bitmap\n");
	}
	if (!wait_gone(dir, name, DOMAIN_STOP_GRACE_MS / 1000.0 + 5)) {
		fprintf(stderr, "xenith migrate: '%s' runs at the receiver, but its VMM here is still there after "
			"%g s\n", name, DOMAIN_STOP_GRACE_MS / 1000.0 + 5);
		return 1;
	}
	return 0;
}
