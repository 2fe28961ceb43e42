// SPDX-License-Identifier: MIT
/*
 * The net suite's reference lines (netbench.c): what the host itself does
 * with the same frame sizes, in the same run and with the same placement
 * (sender on the CPU of the program in the guest's place, receiver on the
 * wire side's CPU).  Series mode "native" only; a missing tool is a
 * skip whose reason goes to the run's note.
 *
 *  - iperf3 -u between two network namespaces joined by a veth pair, flat
 *    out (-b 0), UDP payloads that make 64- and 1500-byte frames: the host
 *    stack's own figure (the receiver's packets/s, and Gbit/s of frames).
 *  - dpdk-testpmd txonly with 64-byte frames on one forwarding lcore,
 *    --no-huge, on two software vdevs: net_tap (the same kind of port as
 *    the tap rows: a poll-mode sender writing to a kernel tap, to compare
 *    with xenith-net tap:N blast), and net_null (no port cost at all: what
 *    one core of DPDK's packet generator alone reaches, the ceiling).
 *    net_ring would measure a ring nobody drains (full after one burst).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "netbench_priv.h"
#include "netproc.h"

struct net_ref {
	const char *name, *tool, *package;
	unsigned size;
	const char *vdev; /* testpmd only; %s: a tap's name */
	const char *what;
};

static const struct net_ref refs[] = {
	{ "iperf3-udp-64", "iperf3", "iperf3", 64, NULL, "iperf3 -u over veth between two namespaces" },
	{ "iperf3-udp-1500", "iperf3", "iperf3", 1500, NULL, "iperf3 -u over veth between two namespaces" },
	{ "testpmd-tap-64", "dpdk-testpmd", "dpdk", 64, "net_tap0,iface=%s", "dpdk-testpmd txonly on net_tap" },
	{ "testpmd-null-64", "dpdk-testpmd", "dpdk", 64, "net_null0", "dpdk-testpmd txonly on net_null" },
};
#define NR_REFS (sizeof(refs) / sizeof(refs[0]))

bool net_ref_exists(const char *name)
{
	for (size_t i = 0; i < NR_REFS; i++)
		if (!strcmp(refs[i].name, name))
			return true;
	return false;
}

void net_ref_list(void)
{
	for (size_t i = 0; i < NR_REFS; i++)
		printf("%-8s %-16s %-10s %-6s higher (reference: %s)\n", "net", refs[i].name,
		       refs[i].size >= 1000 ? "Gbit/s" : "pps", "no", refs[i].what);
}

static bool ref_selected(const struct net_bench_opts *o, const struct net_ref *r)
{
	return o->only ? o->only(o->opaque, r->name, false) : !o->quick;
}

bool net_refs_selected(const struct net_bench_opts *o)
{
	for (size_t i = 0; i < NR_REFS; i++)
		if (ref_selected(o, &refs[i]))
			return true;
	return false;
}

struct ref_env {
	char a[16], b[16], va[16], vb[16]; /* namespaces and the veth's ends */
	bool made;
};

static int ref_setup(struct ref_env *e, char *why, size_t whylen)
{
	int pid = (int)getpid() % 1000000;

	snprintf(e->a, sizeof(e->a), "xnr%da", pid);
	snprintf(e->b, sizeof(e->b), "xnr%db", pid);
	snprintf(e->va, sizeof(e->va), "xnr%dx", pid);
	snprintf(e->vb, sizeof(e->vb), "xnr%dy", pid);
	e->made = true;
	if (nproc_run((const char *const[]){ "ip", "netns", "add", e->a, NULL }) != 0 ||
	    nproc_run((const char *const[]){ "ip", "netns", "add", e->b, NULL }) != 0 ||
	    nproc_run((const char *const[]){ "ip", "-n", e->a, "link", "add", e->va, "type", "veth", "peer", "name",
					     e->vb, "netns", e->b, NULL }) != 0 ||
	    nproc_run((const char *const[]){ "ip", "-n", e->a, "addr", "add", "10.0.9.1/24", "dev", e->va, NULL }) ||
	    nproc_run((const char *const[]){ "ip", "-n", e->b, "addr", "add", "10.0.9.2/24", "dev", e->vb, NULL }) ||
	    nproc_run((const char *const[]){ "ip", "-n", e->a, "link", "set", e->va, "up", NULL }) ||
	    nproc_run((const char *const[]){ "ip", "-n", e->b, "link", "set", e->vb, "up", NULL })) {
		snprintf(why, whylen, "cannot make namespaces %s, %s and a veth pair between them", e->a, e->b);
		return -1;
	}
	return 0;
}

static void ref_teardown(struct ref_env *e)
{
	if (!e->made)
		return;
	nproc_run((const char *const[]){ "ip", "netns", "del", e->a, NULL }); /* the veth goes with it */
	nproc_run((const char *const[]){ "ip", "netns", "del", e->b, NULL });
	e->made = false;
}

struct ref_sample {
	double value, loss;
	char placement[96];
};

static double jpath(const json_t *o, const char *a, const char *b, const char *k)
{
	const json_t *v = json_object_get(json_object_get(json_object_get(o, a), b), k);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

static int run_iperf3(const struct net_ctx *c, const struct ref_env *e, const struct net_ref *r, unsigned secs,
		      struct ref_sample *s, char *why, size_t whylen)
{
	char out_s[PATH_MAX], out_c[PATH_MAX], len[16], t[16], cpus_c[32] = "?", cpus_s[32] = "?";
	struct nproc srv = { 0 }, cli = { 0 };
	char *text = NULL;
	json_t *doc = NULL;
	int ret = -1;

	snprintf(out_s, sizeof(out_s), "%s/iperf3-server.out", c->dir);
	snprintf(out_c, sizeof(out_c), "%s/iperf3-client.out", c->dir);
	snprintf(len, sizeof(len), "%u", r->size - 42); /* Ethernet, IPv4 and UDP headers */
	snprintf(t, sizeof(t), "%u", secs);
	if (nproc_start(&srv, (const char *const[]){ "ip", "netns", "exec", e->b, "iperf3", "-s", "-1", "--forceflush", NULL },
			c->pl.peer, out_s) < 0 || !nproc_wait_line(&srv, "Server listening", 30)) {
		snprintf(why, whylen, "the iperf3 server did not start");
		goto stop;
	}
	nproc_thread_cpus(srv.pid, NULL, cpus_s, sizeof(cpus_s));
	if (nproc_start(&cli, (const char *const[]){ "ip", "netns", "exec", e->a, "iperf3", "-u", "-c", "10.0.9.2",
						     "-b", "0", "-l", len, "-t", t, "-J", NULL },
			c->pl.inner, out_c) < 0) {
		snprintf(why, whylen, "the iperf3 client did not start");
		goto stop;
	}
	nproc_thread_cpus(cli.pid, NULL, cpus_c, sizeof(cpus_c));
	if (!nproc_wait_exit(&cli, secs + 30.0) || cli.status != 0) {
		snprintf(why, whylen, "the iperf3 client failed (exit %d)", cli.status);
		goto stop;
	}
	text = nproc_output(&cli);
	/* stderr shares the file: warnings ("UDP block size 1458 exceeds TCP MSS") may come before or after */
	doc = text && strchr(text, '{') ? json_loads(strchr(text, '{'), JSON_DISABLE_EOF_CHECK, NULL) : NULL;
	{
		double pk = jpath(doc, "end", "sum", "packets"), lost = jpath(doc, "end", "sum", "lost_packets");
		double sec = jpath(doc, "end", "sum", "seconds"), got = pk - lost;

		if (!(got > 0) || !(sec > 0)) {
			snprintf(why, whylen, "no end.sum packets, lost_packets and seconds in iperf3's JSON");
			goto stop;
		}
		s->value = r->size >= 1000 ? got * r->size * 8 / sec / 1e9 : got / sec;
		s->loss = 100.0 * lost / pk;
	}
	snprintf(s->placement, sizeof(s->placement), "client:%s server:%s", cpus_c, cpus_s);
	ret = 0;
stop:
	json_decref(doc);
	free(text);
	nproc_stop(&cli);
	nproc_stop(&srv);
	return ret;
}

static unsigned count(const char *text, const char *needle)
{
	unsigned n = 0;

	for (const char *p = text; p && (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int run_testpmd(const struct net_ctx *c, const struct ref_env *e, const struct net_ref *r, unsigned secs,
		       struct ref_sample *s, char *why, size_t whylen)
{
	char out[PATH_MAX], lcores[32], main_lcore[16], prefix[32], vdev[96], pkts[16], tap[40], run_dir[64];
	struct nproc p = { 0 };
	double pps[64];
	unsigned n = 0;
	char *text = NULL;
	int ret = -1;

	snprintf(out, sizeof(out), "%s/testpmd.out", c->dir);
	snprintf(lcores, sizeof(lcores), "%d,%d", c->pl.inner, c->pl.peer);
	snprintf(main_lcore, sizeof(main_lcore), "%d", c->pl.peer);
	snprintf(prefix, sizeof(prefix), "xnr%d", (int)getpid() % 1000000);
	snprintf(tap, sizeof(tap), "%st", prefix);
	snprintf(vdev, sizeof(vdev), r->vdev, tap);
	snprintf(pkts, sizeof(pkts), "--txpkts=%u", r->size);
	snprintf(run_dir, sizeof(run_dir), "/var/run/dpdk/%s", prefix);
	/* the forwarding lcore is the one that is not --main-lcore: the inner CPU, as the native blaster's */
	if (nproc_start(&p, (const char *const[]){ "ip", "netns", "exec", e->a, "dpdk-testpmd", "--no-huge", "-m",
						   "1024", "-l", lcores, "--main-lcore", main_lcore, "--no-pci",
						   "--file-prefix", prefix, "--vdev", vdev, "--",
						   "--forward-mode=txonly", pkts, "--stats-period", "1",
						   "--nb-cores=1", "--total-num-mbufs=8192", NULL },
			-1, out) < 0) {
		snprintf(why, whylen, "dpdk-testpmd did not start");
		goto stop;
	}
	/* a statistics block a second: the first is the start; secs more after it */
	for (unsigned waited = 0; waited < (secs + 60) * 10; waited++) {
		free(text);
		text = nproc_output(&p);
		if (!text || count(text, "Tx-pps:") >= secs + 2 || nproc_wait_exit(&p, 0.1))
			break;
	}
	for (const char *q = text; q && (q = strstr(q, "Tx-pps:")) && n < 64; q++)
		pps[n++] = strtod(q + strlen("Tx-pps:"), NULL);
	if (n < 3) {
		snprintf(why, whylen, "dpdk-testpmd printed %u statistics blocks (exit %d): %.200s", n, p.status,
			 text && strstr(text, "Cause:") ? strstr(text, "Cause:") : "see its output");
		goto stop;
	}
	qsort(pps + 1, n - 1, sizeof(pps[0]), cmp_double); /* the first block is the start: left out */
	s->value = pps[1 + (n - 1) / 2];
	s->loss = NAN;
	snprintf(s->placement, sizeof(s->placement), "forwarding lcore:%d main lcore:%d", c->pl.inner, c->pl.peer);
	ret = 0;
stop:
	free(text);
	nproc_stop(&p);
	nproc_remove_tree(run_dir); /* the EAL's runtime files */
	return ret;
}

static void add_note(struct bench_run *run, const char *fmt, const char *a, const char *b, const char *c)
{
	size_t used = strlen(run->note);

	snprintf(run->note + used, sizeof(run->note) - used, fmt, a, b, c);
}

int net_refs_run(struct bench_run *run, const struct net_bench_opts *o, const struct net_ctx *c,
		 void (*progress)(const char *fmt, ...))
{
	bool runs[NR_REFS] = { false };
	struct ref_env e = { 0 };
	unsigned secs = c->duration_ms / 1000 ? c->duration_ms / 1000 : 1;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	char why[320];
	bool any = false;
	int r = 0;

	for (size_t i = 0; i < NR_REFS; i++) {
		const struct net_ref *f = &refs[i];

		if (!ref_selected(o, f))
			continue;
		if (!nproc_have(f->tool)) {
			add_note(run, "net/%s: not run: %s is not installed (apt-get install %s; ci/setup.sh does). ",
				 f->name, f->tool, f->package);
			fprintf(stderr, "xenith bench: net/%s skipped: %s is not installed\n", f->name, f->tool);
			continue;
		}
		if (!strcmp(f->tool, "dpdk-testpmd") && ncpu < 2) {
			add_note(run, "net/%s: not run: %s needs two CPUs (a main and a forwarding lcore)%s. ", f->name,
				 f->tool, "");
			continue;
		}
		runs[i] = any = true;
	}
	if (!any)
		return 0;
	if (ref_setup(&e, why, sizeof(why)) < 0) {
		ref_teardown(&e);
		add_note(run, "net: reference lines not run: %s%s%s. ", why, "", "");
		fprintf(stderr, "xenith bench: net: reference lines skipped: %s\n", why);
		return 0;
	}
	for (unsigned rep = 0; rep < o->warmup + o->repeat && r == 0; rep++) {
		for (size_t i = 0; i < NR_REFS && r == 0; i++) {
			const struct net_ref *f = &refs[i];
			struct ref_sample s = { 0 };
			struct bench_series *v, *l;
			char lname[48];

			if (!runs[i])
				continue;
			progress("net reference %s%s", f->name, rep < o->warmup ? " [warm-up]" : "");
			r = !strcmp(f->tool, "iperf3") ? run_iperf3(c, &e, f, secs, &s, why, sizeof(why)) :
			    run_testpmd(c, &e, f, secs, &s, why, sizeof(why));
			if (r < 0) {
				fprintf(stderr, "\nxenith bench: net/%s: %s\n", f->name, why);
				break;
			}
			if (rep < o->warmup)
				continue;
			v = bench_run_series(run, "net", f->name, "native", f->size >= 1000 ? "Gbit/s" : "pps", true);
			if (!v || bench_series_add(v, s.value) < 0) {
				r = -1;
				break;
			}
			snprintf(v->placement, sizeof(v->placement), "%s", s.placement);
			if (isnan(s.loss))
				continue;
			snprintf(lname, sizeof(lname), "%s-loss", f->name);
			l = bench_run_series(run, "net", lname, "native", "%", false);
			if (!l || bench_series_add(l, s.loss) < 0)
				r = -1;
			else
				snprintf(l->placement, sizeof(l->placement), "%s", s.placement);
		}
	}
	ref_teardown(&e);
	return r;
}

void net_refs_print(const struct bench_run *run, bool header_printed)
{
	bool header = false;

	for (size_t i = 0; i < NR_REFS; i++) {
		const struct bench_series *v = bench_run_find(run, "net", refs[i].name, "native");
		const struct bench_series *l;
		char lname[48];

		if (!v)
			continue;
		snprintf(lname, sizeof(lname), "%s-loss", refs[i].name);
		l = bench_run_find(run, "net", lname, "native");
		if (!header) {
			printf("%s%-16s %11s %6s %7s  %s\n", header_printed ? "" : "\n", "net reference", "value",
			       "unit", "loss", "placement");
			header = true;
		}
		printf("%-16s %11.4g %6s ", refs[i].name, v->sum.median, v->unit);
		if (l)
			printf("%6.1f%%", l->sum.median);
		else
			printf("%7s", "-");
		printf("  %s (%s)\n", v->placement, refs[i].what);
	}
}
