// SPDX-License-Identifier: MIT
/*
 * xenith exporter: the newest run as OpenMetrics text over HTTP, for
 * Prometheus to scrape.  HTTP is libmicrohttpd's; the exposition is the
 * one `xenith bench` writes to latest.openmetrics (bench/report.c).
 */
#include <microhttpd.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../bench/archive.h"
#include "../bench/report.h"
#include "fleet.h"
#include "xenith.h"

#define OPENMETRICS_TYPE "application/openmetrics-text; version=1.0.0; charset=utf-8"
#define DEFAULT_LISTEN "127.0.0.1:9477"

struct exporter {
	const char *db;          /* NULL: the archive's newest document */
	/* the document last parsed, kept until a newer one appears (MHD calls us from one thread) */
	char path[4096];
	struct timespec mtime;
	off_t size;
	bool loaded;
	struct bench_run run;
};

/* The newest document of the archive, parsed again only when it changed. */
static int latest_document(struct exporter *x, struct errbuf *eb)
{
	char path[sizeof(x->path)];
	struct stat st;
	int r;

	r = archive_latest(path, sizeof(path), eb);
	if (r < 0)
		return r;
	if (stat(path, &st) < 0)
		return errbuf_set(eb, errno, "%s: %s", path, strerror(errno));
	if (x->loaded && !strcmp(path, x->path) && st.st_size == x->size &&
	    st.st_mtim.tv_sec == x->mtime.tv_sec && st.st_mtim.tv_nsec == x->mtime.tv_nsec)
		return 0;
	if (x->loaded)
		bench_run_free(&x->run);
	x->loaded = false;
	r = bench_run_read(&x->run, path, eb);
	if (r < 0)
		return r;
	snprintf(x->path, sizeof(x->path), "%s", path);
	x->mtime = st.st_mtim;
	x->size = st.st_size;
	x->loaded = true;
	return 0;
}

/*
 * The exposition of the newest run (of host, if not NULL: --db only) into a
 * malloc'd buffer; NULL with a message in eb.
 */
static char *render(struct exporter *x, const char *host, size_t *len, struct errbuf *eb)
{
	struct bench_run fromdb;
	const struct bench_run *run;
	struct results_index *ix;
	char *buf = NULL;
	FILE *f;
	int r;

	if (x->db) {
		/* a connection per scrape: a restarted server or a network hiccup costs one scrape */
		r = fleet_open_index(x->db, &ix, eb);
		if (r < 0)
			return NULL;
		r = index_load_latest(ix, host, &fromdb, eb);
		index_close(ix);
		if (r < 0)
			return NULL;
		run = &fromdb;
	} else {
		if (latest_document(x, eb) < 0)
			return NULL;
		run = &x->run;
	}
	f = open_memstream(&buf, len);
	if (f) {
		report_openmetrics(f, run);
		if (fclose(f) != 0) {
			free(buf);
			buf = NULL;
		}
	}
	if (!buf)
		errbuf_set(eb, ENOMEM, "out of memory");
	if (x->db)
		bench_run_free(&fromdb);
	return buf;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type, char *body,
			     size_t len)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *msg)
{
	char *body = NULL;
	int n = asprintf(&body, "%s\n", msg);

	if (n < 0)
		return MHD_NO;
	return reply(c, status, "text/plain; charset=utf-8", body, (size_t)n);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			      const char *version, const char *upload, size_t *upload_size, void **req)
{
	struct exporter *x = cls;
	const char *host;
	struct errbuf eb;
	size_t len = 0;
	char *body;

	(void)version;
	(void)upload;
	(void)upload_size;
	(void)req;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD");
	if (strcmp(url, "/metrics"))
		return reply_text(c, MHD_HTTP_NOT_FOUND, "not found: the metrics are at /metrics");
	/* ?host=NAME: that host's newest run (Prometheus: params: {host: [NAME]} per job) */
	host = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "host");
	if (host && !x->db)
		return reply_text(c, MHD_HTTP_BAD_REQUEST, "?host= needs an index with the runs of "
				  "several hosts: start the exporter with --db");
	body = render(x, host, &len, &eb);
	if (!body) {
		fprintf(stderr, "xenith exporter: %s\n", eb.msg);
		/* Prometheus marks the target down (up = 0) and shows this text */
		return reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, eb.msg);
	}
	return reply(c, MHD_HTTP_OK, OPENMETRICS_TYPE, body, len);
}

/* ADDR:PORT, [IPV6]:PORT or :PORT (all addresses) to a socket address. */
static int parse_listen(const char *spec, struct addrinfo **ai, struct errbuf *eb)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	char host[256];
	const char *colon = strrchr(spec, ':'), *h = spec;
	size_t hl;
	int r;

	if (!colon || !colon[1])
		return errbuf_set(eb, EINVAL, "--listen '%s': expected ADDR:PORT (e.g. %s, [::1]:9477, "
				  ":9477 for every address)", spec, DEFAULT_LISTEN);
	hl = (size_t)(colon - spec);
	if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']') {
		h = spec + 1;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return errbuf_set(eb, EINVAL, "--listen '%s': address too long", spec);
	snprintf(host, sizeof(host), "%.*s", (int)hl, h);
	r = getaddrinfo(hl ? host : NULL, colon + 1, &hints, ai);
	if (r)
		return errbuf_set(eb, EINVAL, "--listen '%s': %s", spec, gai_strerror(r));
	return 0;
}

/* libmicrohttpd's own errors (a failed connection, ...), said as ours */
static void mhd_log(void *arg, const char *fmt, va_list ap)
{
	(void)arg;
	fputs("xenith exporter: libmicrohttpd: ", stderr);
	vfprintf(stderr, fmt, ap);
}

/* Our own listening socket: a failed bind is then said with its reason. */
static int listen_on(const struct addrinfo *ai, const char *spec, unsigned *port, struct errbuf *eb)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);
	int one = 1, fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return errbuf_set(eb, errno, "cannot listen on %s: socket: %s", spec, strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		int err = errno;

		close(fd);
		return errbuf_set(eb, err, "cannot listen on %s: %s (choose another with --listen "
				  "ADDR:PORT)", spec, strerror(err));
	}
	*port = ntohs(sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port
					       : ((struct sockaddr_in *)&sa)->sin_port);
	return fd;
}

/* xenith exporter [--listen ADDR:PORT] [--out DIR] [--db DB] */
int cmd_exporter(int argc, char **argv)
{
	struct exporter x = { 0 };
	const char *listen = DEFAULT_LISTEN, *out = NULL;
	struct addrinfo *ai = NULL;
	unsigned port = 0;
	bool v6;
	int fd;
	struct MHD_Daemon *d;
	struct errbuf eb;
	sigset_t set;
	int sig;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--listen") && i + 1 < argc) {
			listen = argv[++i];
		} else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
			out = argv[++i];
		} else if (!strcmp(argv[i], "--db") && i + 1 < argc) {
			x.db = argv[++i];
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: xenith exporter [--listen ADDR:PORT] [--out DIR] [--db DB]\n\n"
			       "Serves the newest run at http://ADDR:PORT/metrics in the OpenMetrics text\n"
			       "format (Content-Type %s):\n"
			       "xenith_bench{suite,case,mode,unit,stat,revision} for the median, p5, p95\n"
			       "and cv of every series (every mode: native, guest, ratio, ...), the same\n"
			       "exposition as latest.openmetrics. The newest run is looked up at each\n"
			       "scrape: a new run is served without a restart. It is the newest document\n"
			       "of the archive DIR (default: as `xenith bench`), or with --db the newest\n"
			       "run in that index (postgresql://... for a fleet, or an SQLite file);\n"
			       "/metrics?host=NAME serves the newest run of that host of the fleet.\n"
			       "Default address %s (port 0: any free port; the line on stdout\n"
			       "names it). Other paths answer 404. Runs until SIGINT or SIGTERM.\n",
			       OPENMETRICS_TYPE, DEFAULT_LISTEN);
			return 0;
		} else {
			fprintf(stderr, "xenith exporter: unexpected '%s'; see --help\n", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (!x.db && archive_prepare(out, &eb) < 0) {
		fprintf(stderr, "xenith exporter: %s\n", eb.msg);
		return EXIT_USAGE;
	}
	if (parse_listen(listen, &ai, &eb) < 0) {
		fprintf(stderr, "xenith exporter: %s\n", eb.msg);
		return EXIT_USAGE;
	}
	/* the daemon's thread inherits the mask: the signals come to sigwait() below */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	fd = listen_on(ai, listen, &port, &eb);
	v6 = ai->ai_family == AF_INET6;
	freeaddrinfo(ai);
	if (fd < 0) {
		fprintf(stderr, "xenith exporter: %s\n", eb.msg);
		return EXIT_START;
	}
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0),
			     0, NULL, NULL, handle, &x, MHD_OPTION_LISTEN_SOCKET, fd,
			     MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
	if (!d) {
		close(fd);
		fprintf(stderr, "xenith exporter: libmicrohttpd did not start on %s\n", listen);
		return EXIT_START;
	}
	{
		char shown[300];
		const char *colon = strrchr(listen, ':');

		/* ":PORT" listens on every address */
		snprintf(shown, sizeof(shown), "%.*s:%u", colon == listen ? 7 : (int)(colon - listen),
			 colon == listen ? "0.0.0.0" : listen, port);
		printf("xenith exporter: serving http://%s/metrics, the newest run %s\n", shown,
		       x.db ? "in the --db index" : "of the archive");
		fflush(stdout);
	}
	{
		/* say at once what a scrape would answer with 503, but serve: it may come right */
		size_t len;
		char *body = render(&x, NULL, &len, &eb);

		if (!body)
			fprintf(stderr, "xenith exporter: warning: %s (scrapes answer 503 until this is "
				"resolved)\n", eb.msg);
		free(body);
	}
	sigwait(&set, &sig);
	MHD_stop_daemon(d); /* closes the listening socket too */
	if (x.loaded)
		bench_run_free(&x.run);
	return 0;
}
