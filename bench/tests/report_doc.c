// SPDX-License-Identifier: MIT
#include "report_doc.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chromium_check.h"

const char *const report_suites[] = { "compute", "memory", "exit", "blk", "prof", "density", "soak" };
const size_t report_nr_suites = sizeof(report_suites) / sizeof(report_suites[0]);

/* Five samples around v (+-1%), so each series has a spread and an interval. */
static void five(struct bench_run *r, const char *suite, const char *name, const char *mode, const char *unit,
		 bool higher, double v)
{
	static const double jitter[] = { 1.0, 0.99, 1.01, 0.995, 1.005 };
	struct bench_series *s = bench_run_series(r, suite, name, mode, unit, higher);

	if (!s)
		abort();
	for (int i = 0; i < 5; i++)
		if (bench_series_add(s, v * jitter[i]) < 0)
			abort();
}

static void soak_series(struct bench_run *r, const char *name, const char *mode, const char *unit, size_t n,
			double first, double per_sample)
{
	struct bench_series *s = bench_run_series(r, "soak", name, mode, unit, false);

	if (!s)
		abort();
	for (size_t i = 0; i < n; i++)
		if (bench_series_add(s, first + per_sample * (double)i) < 0)
			abort();
	s->trend = (struct bench_trend){ .set = true, .x0 = 1010, .x_step = 10, .per = 1000,
					 .slope = per_sample * 100, .lo = per_sample * 90, .hi = per_sample * 110,
					 .first = first, .last = first + per_sample * (double)(n - 1), .limit = NAN };
	snprintf(s->trend.rule, sizeof(s->trend.rule), "report");
	snprintf(s->trend.verdict, sizeof(s->trend.verdict), "unjudged");
}

void report_doc_fill(struct bench_run *r, const char *revision, double k)
{
	static const char *const jobs[] = { "randread-4k-qd1", "randwrite-4k-qd32" };
	static const char *const modes[] = { "exit", "poll" };
	static const unsigned ns[] = { 1, 10, 100 };
	struct bench_series *s;

	snprintf(r->id, sizeof(r->id), "2026-11-30T10:00:00Z-%s", revision);
	snprintf(r->env.cpu_model, sizeof(r->env.cpu_model), "Test CPU <model> & co");
	snprintf(r->env.kernel, sizeof(r->env.kernel), "Linux 6.18.0-test");
	snprintf(r->env.kvm_module, sizeof(r->env.kvm_module), "kvm_pvm");
	snprintf(r->env.revision, sizeof(r->env.revision), "%s", revision);
	snprintf(r->env.build_type, sizeof(r->env.build_type), "debugoptimized");
	snprintf(r->env.hostname, sizeof(r->env.hostname), "testhost");
	snprintf(r->env.date, sizeof(r->env.date), "2026-11-30T10:00:00Z");
	r->env.tsc_khz = 2596132;
	r->quick = true;
	r->repeat = 5;
	r->warmup = 1;
	r->duration_s = 12;
	/* as tools/cmd_bench.c and bench/blkbench.c write them */
	snprintf(r->note, sizeof(r->note), "memory_backing hugetlb skipped: 0 huge pages of 2 MiB free, 33 needed "
		 "(/proc/sys/vm/nr_hugepages). memory_backing thp skipped: no transparent huge pages for shared "
		 "memory: always within_size advise [never] deny force. blk: not run: fio is not installed (apt-get "
		 "install fio; ci/setup.sh does); it is the native baseline. ");

	five(r, "compute", "crc32", "native", "us", false, 1000);
	five(r, "compute", "crc32", "guest", "us", false, 2000 * k);
	five(r, "compute", "matmul", "native", "us", false, 500);
	five(r, "compute", "matmul", "guest", "us", false, 400 * k);
	five(r, "compute", "matmul", "ratio", "x", false, 0.9);

	five(r, "memory", "copy", "native", "GB/s", true, 10);
	five(r, "memory", "copy", "guest", "GB/s", true, 9 / k);
	five(r, "memory", "latency-2M", "native", "ns/load", false, 100);
	five(r, "memory", "latency-2M", "guest", "ns/load", false, 110 * k);
	five(r, "memory", "copy", "guest-thp", "GB/s", true, 10.5);
	five(r, "memory", "latency-2M", "guest-thp", "ns/load", false, 95);
	five(r, "memory", "copy", "guest-hugetlb", "GB/s", true, 11);

	five(r, "exit", "getppid", "native", "ns", false, 150);
	five(r, "exit", "eventfd-write", "native", "ns", false, 300);
	five(r, "exit", "hypercall", "guest", "ns", false, 25000 * k);
	five(r, "exit", "ioeventfd", "guest", "ns", false, 3000 * k);
	snprintf(((struct bench_series *)bench_run_find(r, "exit", "hypercall", "guest"))->analogue, 32, "getppid");
	snprintf(((struct bench_series *)bench_run_find(r, "exit", "ioeventfd", "guest"))->analogue, 32,
		 "eventfd-write");

	for (int m = 0; m < 2; m++)
		for (int j = 0; j < 2; j++) {
			char name[64], pname[64];

			snprintf(name, sizeof(name), "%s@%s", jobs[j], modes[m]);
			snprintf(pname, sizeof(pname), "%s-p99@%s", jobs[j], modes[m]);
			five(r, "blk", name, "native", "IOPS", true, 100000);
			five(r, "blk", name, "guest", "IOPS", true, (60000 + 20000 * m) / k);
			five(r, "blk", pname, "native", "us", false, 100);
			five(r, "blk", pname, "guest", "us", false, (150 + 100 * j) * k);
		}

	/*
	 * As bench/profbench.c writes them; the medians differ from the ratio
	 * series (2% and 13% against 0.5% and 7.9%): the bars are the ratios.
	 * matmul has no 1 kHz triplet (a bar fewer).
	 */
	five(r, "prof", "crc32", "guest", "us", false, 19000 * k);
	five(r, "prof", "crc32", "guest-prof100", "us", false, 19400 * k);
	five(r, "prof", "crc32", "guest-prof1000", "us", false, 21500 * k);
	five(r, "prof", "crc32", "ratio-prof100", "x", true, 0.995);
	five(r, "prof", "crc32", "ratio-prof1000", "x", true, 0.927);
	five(r, "prof", "crc32-samples", "guest-prof100", "Hz", true, 95);
	five(r, "prof", "crc32-samples", "guest-prof1000", "Hz", true, 995);
	five(r, "prof", "matmul", "guest", "us", false, 2450 * k);
	five(r, "prof", "matmul", "guest-prof100", "us", false, 2480 * k);
	five(r, "prof", "matmul", "ratio-prof100", "x", true, 0.988);

	for (int i = 0; i < 3; i++) {
		char name[64];

		snprintf(name, sizeof(name), "n%u-boot", ns[i]);
		five(r, "density", name, "xenith", "us", false, 900 + 10 * i);
		five(r, "density", name, "bare", "us", false, 600 + 10 * i);
		snprintf(name, sizeof(name), "n%u-mem-available", ns[i]);
		five(r, "density", name, "xenith", "KiB/domain", false, 1900 - 100 * i);
		five(r, "density", name, "bare", "KiB/domain", false, 1600 - 100 * i);
		snprintf(name, sizeof(name), "n%u-rss", ns[i]);
		five(r, "density", name, "xenith", "KiB/domain", false, 1200 - 100 * i);
	}

	soak_series(r, "create-destroy-vmm-rss", "vmm", "KiB", 100, 20000, 0);
	soak_series(r, "create-destroy-fds", "vmm", "fds", 10, 26, 0);
	soak_series(r, "reboot-mem-available", "host", "KiB", 5, 4000000, -100);
	s = bench_run_series(r, "soak", "create-destroy-cycle-time", "vmm", "ms", false);
	if (!s || bench_series_add(s, 12) < 0 || bench_series_add(s, 13) < 0)
		abort();
	bench_run_finish(r);
}

bool report_doc_has_suite(const struct bench_run *r, const char *suite)
{
	for (size_t i = 0; i < r->nr_series; i++)
		if (!strcmp(r->series[i].suite, suite))
			return true;
	return false;
}

static bool has(const struct bench_run *r, const char *suite, const char *name, const char *mode)
{
	const struct bench_series *s = bench_run_find(r, suite, name, mode);

	return s && s->n > 0;
}

size_t report_expected_marks(const struct bench_run *r, const char *suite)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nr_series; i++) {
		const struct bench_series *s = &r->series[i];
		unsigned long dom;

		if (strcmp(s->suite, suite) || s->n == 0)
			continue;
		if (!strcmp(suite, "compute")) {
			/* a bar per case: from its ratio series, else from guest and native */
			n += !strcmp(s->mode, "native") && (has(r, suite, s->name, "ratio") ||
							    has(r, suite, s->name, "guest"));
		} else if (!strcmp(suite, "memory")) {
			/* a bar per case and guest backing that has its native */
			n += !strncmp(s->mode, "guest", 5) && has(r, suite, s->name, "native");
		} else if (!strcmp(suite, "exit")) {
			/* a bar per guest exit, and one for its native analogue */
			if (!strcmp(s->mode, "guest"))
				n += 1 + has(r, suite, s->analogue, "native");
		} else if (!strcmp(suite, "blk")) {
			/* IOPS and p99: a bar per job and mode */
			n += !strcmp(s->mode, "guest") && has(r, suite, s->name, "native");
		} else if (!strcmp(suite, "prof")) {
			/* a bar per case and profiled mode with its ratio series ("ratio-profN" of "guest-profN") */
			char rmode[32];

			snprintf(rmode, sizeof(rmode), "ratio%s", s->mode + 5);
			n += !strncmp(s->mode, "guest-prof", 10) && has(r, suite, s->name, rmode);
		} else if (!strcmp(suite, "density")) {
			char tail[32] = "";

			/* a point per domain count: boot times, MemAvailable from 100 domains, xenith's RSS */
			if (sscanf(s->name, "n%lu-%31s", &dom, tail) != 2 ||
			    (strcmp(s->mode, "xenith") && strcmp(s->mode, "bare")))
				continue;
			n += !strcmp(tail, "boot") || (!strcmp(tail, "mem-available") && dom >= 100) ||
			     (!strcmp(tail, "rss") && !strcmp(s->mode, "xenith"));
		} else if (!strcmp(suite, "soak")) {
			/* the figures with a trend: at most 64 points, every ceil(n/64)-th sample and the last */
			if (s->trend.set && s->samples[0] != 0) {
				size_t step = (s->n + 63) / 64;

				n += (s->n + step - 1) / step;
			}
		}
	}
	return n;
}

/* The value of attribute name in the tag starting at tag (up to its '>'), or NULL. */
static const char *attr(const char *tag, const char *end, const char *name, char *buf, size_t size)
{
	size_t l = strlen(name);

	for (const char *p = tag + 1; p < end; p++) {
		if (p[-1] == ' ' && !strncmp(p, name, l) && p[l] == '=' && p[l + 1] == '"') {
			const char *v = p + l + 2, *q = memchr(v, '"', (size_t)(end - v));

			if (!q)
				return NULL;
			snprintf(buf, size, "%.*s", (int)(q - v), v);
			return buf;
		}
	}
	return NULL;
}

/* Every coordinate of one element: finite and inside the viewBox (w, h). */
static void check_tag(const char *tag, const char *end, double w, double h, char *bad, size_t size)
{
	static const struct { const char *name; bool is_y; } coords[] = {
		{ "x", false }, { "x1", false }, { "x2", false }, { "cx", false },
		{ "y", true }, { "y1", true }, { "y2", true }, { "cy", true },
	};
	char v[4096], name[16];
	int l;

	if (bad[0])
		return;
	sscanf(tag + 1, "%15[a-z]", name);
	for (size_t i = 0; i < sizeof(coords) / sizeof(coords[0]); i++) {
		double d;

		if (!attr(tag, end, coords[i].name, v, sizeof(v)))
			continue;
		d = strtod(v, NULL);
		if (!isfinite(d) || d < 0 || d > (coords[i].is_y ? h : w)) {
			snprintf(bad, size, "<%s %s=\"%.40s\"> outside the viewBox 0 0 %g %g", name, coords[i].name, v,
				 w, h);
			return;
		}
	}
	if (attr(tag, end, "width", v, sizeof(v)) && strcmp(name, "svg")) {
		char x[64];
		double d = strtod(v, NULL), x0 = attr(tag, end, "x", x, sizeof(x)) ? strtod(x, NULL) : 0;

		if (!isfinite(d) || d <= 0 || x0 + d > w + 0.05)
			snprintf(bad, size, "<%s width=\"%.40s\" x=\"%g\"> empty or past the viewBox width %g", name, v,
				 x0, w);
	}
	if (attr(tag, end, "points", v, sizeof(v))) {
		const char *p = v;
		double px, py;

		while (sscanf(p, "%lf,%lf%n", &px, &py, &l) == 2) {
			if (!isfinite(px) || !isfinite(py) || px < 0 || px > w || py < 0 || py > h) {
				snprintf(bad, size, "<%s points=\"...%g,%g...\"> outside the viewBox", name, px, py);
				return;
			}
			p += l;
		}
		if (*p && strspn(p, " ") != strlen(p))
			snprintf(bad, size, "<%s points=\"%.60s\"> has a point that is not a number", name, p);
	}
}

size_t report_html_charts(const char *html, struct html_chart *out, size_t max)
{
	const char *p = html;
	size_t n = 0;

	while (n < max && (p = strstr(p, "<section class=\"chart\""))) {
		struct html_chart *c = &out[n];
		const char *tag_end = strchr(p, '>'), *svg, *q;
		char v[128];

		memset(c, 0, sizeof(*c));
		c->start = p;
		c->end = strstr(p, "</section>");
		if (!tag_end || !c->end)
			break;
		if (attr(p, tag_end, "data-suite", v, sizeof(v)))
			snprintf(c->suite, sizeof(c->suite), "%.31s", v);
		if (attr(p, tag_end, "data-chart", v, sizeof(v)))
			snprintf(c->id, sizeof(c->id), "%.63s", v);
		svg = strstr(p, "<svg");
		if (!svg || svg > c->end) {
			snprintf(c->bad, sizeof(c->bad), "no <svg> in the chart");
		} else {
			const char *se = strchr(svg, '>');

			if (!attr(svg, se, "viewBox", v, sizeof(v)) || sscanf(v, "0 0 %lf %lf", &c->vb_w, &c->vb_h) != 2 ||
			    !(c->vb_w > 0) || !(c->vb_h > 0))
				snprintf(c->bad, sizeof(c->bad), "the svg has no usable viewBox");
		}
		/* every element's coordinates */
		for (q = p; (q = strchr(q + 1, '<')) && q < c->end;) {
			const char *e = strchr(q, '>');

			if (!e)
				break;
			if (q[1] != '/' && svg && q > svg)
				check_tag(q, e, c->vb_w, c->vb_h, c->bad, sizeof(c->bad));
			if (!strncmp(q, "<rect class=\"mark", 17) || !strncmp(q, "<circle class=\"mark", 19))
				c->marks++;
		}
		p = c->end;
		n++;
	}
	return n;
}

size_t report_assert_drawn(const struct bench_run *r, const struct drawn_chart *charts, int n)
{
	size_t suites = 0;

	for (int i = 0; i < n; i++)
		if (charts[i].marks == 0 || charts[i].drawn != charts[i].marks)
			fail_msg("chart %s (svg %s): %u of %u marks drawn; first not drawn: %s", charts[i].id,
				 charts[i].svg_size, charts[i].drawn, charts[i].marks, charts[i].why);
		else if (charts[i].painted != charts[i].drawn)
			fail_msg("chart %s: %u of %u marks seen in the screenshot; %s", charts[i].id,
				 charts[i].painted, charts[i].drawn, charts[i].unpainted);
	for (size_t s = 0; s < report_nr_suites; s++) {
		size_t want = report_expected_marks(r, report_suites[s]), got = 0;

		for (int i = 0; i < n; i++)
			if (!strcmp(charts[i].suite, report_suites[s]))
				got += charts[i].drawn;
		if (got != want)
			fail_msg("suite %s: Chromium drew %zu bars/points, the document's series call for %zu",
				 report_suites[s], got, want);
		suites += want > 0;
	}
	return suites;
}
