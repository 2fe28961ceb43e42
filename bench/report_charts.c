// SPDX-License-Identifier: MIT
#include "report_charts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

/* Resamples for a bootstrap interval: the figure `compare` uses. */
#define BOOT_ROUNDS 2000

void report_html_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

void report_chart_open(FILE *f, const char *suite, const char *id)
{
	fputs("<section class=\"chart\" data-suite=\"", f);
	report_html_text(f, suite);
	fputs("\" data-chart=\"", f);
	report_html_text(f, id);
	fputs("\">", f);
}

void report_chart_close(FILE *f, const char *guide)
{
	fputs("<p class=\"guide\">", f);
	report_html_text(f, guide);
	fputs("</p></section>\n", f);
}

bool report_ratio_of(const struct bench_run *run, const char *suite, const char *name,
		     const char *guest_mode, bool as_speed, struct report_ratio *out)
{
	const struct bench_series *g = bench_run_find(run, suite, name, guest_mode);
	const struct bench_series *nat = bench_run_find(run, suite, name, "native");
	const struct bench_series *rs = NULL;
	char rmode[40];

	out->value = out->lo = out->hi = NAN;
	out->from_pairs = false;
	if (!strncmp(guest_mode, "guest", 5)) {
		snprintf(rmode, sizeof(rmode), "ratio%s", guest_mode + 5);
		rs = bench_run_find(run, suite, name, rmode);
	}
	if (rs && rs->n > 0) {
		/*
		 * The pairs' guest/native ratios: their median and a bootstrap of it
		 * (the "native" side a single 1).  The ratio series says by `better`
		 * which way it points; invert it when the chart wants the other way.
		 */
		const double one = 1;
		bool invert = as_speed ? !rs->higher_is_better : g && rs->higher_is_better != g->higher_is_better;
		double lo, hi;

		stats_bootstrap_ratio(&one, 1, rs->samples, rs->n, BOOT_ROUNDS, 0.05, &lo, &hi);
		out->value = invert ? 1 / rs->sum.median : rs->sum.median;
		out->lo = invert ? 1 / hi : lo;
		out->hi = invert ? 1 / lo : hi;
		out->from_pairs = true;
		return isfinite(out->value);
	}
	if (!g || !nat || g->n == 0 || nat->n == 0 || !(g->sum.median > 0) || !(nat->sum.median > 0))
		return false;
	if (as_speed && !g->higher_is_better) {
		/* native/guest: times and costs, lower is better */
		out->value = nat->sum.median / g->sum.median;
		stats_bootstrap_ratio(g->samples, g->n, nat->samples, nat->n, BOOT_ROUNDS, 0.05, &out->lo,
				      &out->hi);
	} else {
		out->value = g->sum.median / nat->sum.median;
		stats_bootstrap_ratio(nat->samples, nat->n, g->samples, g->n, BOOT_ROUNDS, 0.05, &out->lo,
				      &out->hi);
	}
	return true;
}

/* Horizontal bar charts: a row per label, up to ROW_BARS bars in it, each with an optional interval. */
#define ROW_BARS 3

struct row {
	char label[96];
	double v[ROW_BARS], lo[ROW_BARS], hi[ROW_BARS]; /* v NAN: no bar; lo/hi NAN: no whisker */
	char note[64];
};

struct chart {
	const char *title, *xlabel;
	const char *legend[ROW_BARS]; /* the bars of a row, in order; NULL ends */
	const char *whiskers;         /* what the whiskers are; NULL: none drawn */
	double ref;                   /* a reference line here (0: none) ... */
	const char *ref_label;        /* ... labelled so */
	bool log_scale;
};

struct scale {
	double lo, hi;
	bool log;
	int x0, w;
};

static double scale_x(const struct scale *s, double v)
{
	double fx = s->log ? (log10(v) - log10(s->lo)) / (log10(s->hi) - log10(s->lo))
			   : (v - s->lo) / (s->hi - s->lo);

	return s->x0 + s->w * fmin(fmax(fx, 0), 1);
}

/* 1, 2 or 5 times a power of ten, the smallest at least x */
static double nice_step(double x)
{
	double p = pow(10, floor(log10(x))), m = x / p;

	return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

static void rows_domain(const struct chart *c, const struct row *rows, size_t n, size_t nb, struct scale *s)
{
	double min = INFINITY, max = -INFINITY;

	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < nb; k++) {
			double v[3] = { rows[i].v[k], rows[i].lo[k], rows[i].hi[k] };

			for (int j = 0; j < 3; j++)
				if (isfinite(v[j]) && (!c->log_scale || v[j] > 0)) {
					min = fmin(min, v[j]);
					max = fmax(max, v[j]);
				}
		}
	if (c->ref > 0) {
		min = fmin(min, c->ref);
		max = fmax(max, c->ref);
	}
	if (!isfinite(max) || max <= 0)
		max = 1, min = 1;
	s->log = c->log_scale;
	if (s->log) {
		s->lo = pow(10, floor(log10(min)));
		s->hi = pow(10, ceil(log10(max)));
		if (s->hi <= s->lo)
			s->hi = s->lo * 10;
	} else {
		double step = nice_step(max * 1.05 / 5);

		s->lo = 0;
		s->hi = ceil(max * 1.05 / step) * step;
	}
}

static void rows_axis(FILE *f, const struct scale *s, int top, int axis_y)
{
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"ax\"/>", s->x0, axis_y, s->x0 + s->w,
		axis_y);
	if (s->log) {
		for (double t = s->lo; t <= s->hi * 1.001; t *= 10) {
			double x = scale_x(s, t);

			fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"grid\"/>"
				   "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>",
				x, top, x, axis_y + 4, x, axis_y + 16, t);
		}
		return;
	}
	{
		double step = nice_step((s->hi - s->lo) / 5);

		for (double t = s->lo; t <= s->hi + step / 1000; t += step) {
			double x = scale_x(s, t);

			fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"grid\"/>"
				   "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>",
				x, top, x, axis_y + 4, x, axis_y + 16, t);
		}
	}
}

static void svg_rows(FILE *f, const struct chart *c, const struct row *rows, size_t n)
{
	const int left = 250, width = 440, top = 44;
	size_t nb = 0;
	int bh, rh, axis_y, y, height;
	struct scale s;

	while (nb < ROW_BARS && c->legend[nb])
		nb++;
	if (nb == 0)
		nb = 1;
	bh = nb == 1 ? 16 : nb == 2 ? 11 : 9;
	rh = (int)nb * bh + 10;
	axis_y = top + (int)n * rh + 2;
	height = axis_y + 40 + (c->legend[0] ? 18 : 0) + (c->whiskers ? 18 : 0);
	s.x0 = left;
	s.w = width;
	rows_domain(c, rows, n, nb, &s);

	fprintf(f, "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		   "viewBox=\"0 0 %d %d\" role=\"img\"><title>", left + width + 210, height, left + width + 210,
		height);
	report_html_text(f, c->title);
	fputs("</title><text x=\"4\" y=\"18\" class=\"t\">", f);
	report_html_text(f, c->title);
	fputs("</text>", f);
	rows_axis(f, &s, top - 6, axis_y);
	for (size_t i = 0; i < n; i++) {
		int ry = top + (int)i * rh;

		fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", left - 6, ry + rh / 2 + 3);
		report_html_text(f, rows[i].label);
		fputs("</text>", f);
		for (size_t k = 0; k < nb; k++) {
			double v = rows[i].v[k], x0 = scale_x(&s, s.lo);
			int by = ry + 4 + (int)k * bh;

			if (!isfinite(v) || (s.log && v <= 0))
				continue;
			fprintf(f, "<rect class=\"mark b%zu\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\"><title>",
				k + 1, x0, by, fmax(scale_x(&s, v) - x0, 1), bh - 1);
			report_html_text(f, rows[i].label);
			if (c->legend[k]) {
				fputs(", ", f);
				report_html_text(f, c->legend[k]);
			}
			fprintf(f, ": %.4g", v);
			if (isfinite(rows[i].lo[k]) && isfinite(rows[i].hi[k]))
				fprintf(f, " [%.4g, %.4g]", rows[i].lo[k], rows[i].hi[k]);
			fputs("</title></rect>", f);
			if (c->whiskers && isfinite(rows[i].lo[k]) && isfinite(rows[i].hi[k]) &&
			    (!s.log || rows[i].lo[k] > 0)) {
				double xl = scale_x(&s, rows[i].lo[k]), xh = scale_x(&s, rows[i].hi[k]);
				int cy = by + (bh - 1) / 2;

				fprintf(f, "<line class=\"err\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>"
					   "<line class=\"err\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>"
					   "<line class=\"err\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>",
					xl, cy, xh, cy, xl, by, xl, by + bh - 1, xh, by, xh, by + bh - 1);
			}
		}
		fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"v\">", left + width + 8, ry + rh / 2 + 3);
		report_html_text(f, rows[i].note);
		fputs("</text>", f);
	}
	if (c->ref > 0) {
		double x = scale_x(&s, c->ref);

		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"ref\"/>"
			   "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" class=\"rl\">",
			x, top - 6, x, axis_y, x, top - 9);
		report_html_text(f, c->ref_label ? c->ref_label : "");
		fputs("</text>", f);
	}
	y = axis_y + 34;
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">", left + width / 2, y);
	report_html_text(f, c->xlabel);
	fputs("</text>", f);
	if (c->legend[0]) {
		y += 18;
		for (size_t k = 0; k < nb; k++) {
			int lx = left + (int)k * 190;

			fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" class=\"b%zu\"/>"
				   "<text x=\"%d\" y=\"%d\">", lx, y - 10, k + 1, lx + 16, y);
			report_html_text(f, c->legend[k]);
			fputs("</text>", f);
		}
	}
	if (c->whiskers) {
		y += 18;
		fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"g\">Whiskers: ", left, y);
		report_html_text(f, c->whiskers);
		fputs(".</text>", f);
	}
	fputs("</svg></figure>", f);
}

static void row_init(struct row *r)
{
	memset(r, 0, sizeof(*r));
	for (int k = 0; k < ROW_BARS; k++)
		r->v[k] = r->lo[k] = r->hi[k] = NAN;
}

/* What a ratio chart's whiskers are, by where its intervals came from. */
static const char *whisker_source(size_t pairs, size_t boot)
{
	if (pairs && !boot)
		return "95% interval of the median of the per-pair guest/native ratios (ratio series)";
	if (boot && !pairs)
		return "95% interval of the ratio of medians (bootstrap of the guest and native series)";
	return "95% interval; rows marked * from per-pair ratio series, the others a bootstrap of the medians";
}

static void ratio_note(struct row *r, const struct report_ratio *q)
{
	snprintf(r->note, sizeof(r->note), "%.3f [%.3f, %.3f]%s", q->value, q->lo, q->hi,
		 q->from_pairs ? " *" : "");
}

void report_compute_chart(FILE *f, const struct bench_run *run)
{
	struct row rows[64];
	size_t n = 0, pairs = 0, boot = 0;

	for (size_t i = 0; i < run->nr_series && n < 64; i++) {
		const struct bench_series *s = &run->series[i];
		struct report_ratio q;

		if (strcmp(s->suite, "compute") || strcmp(s->mode, "native") ||
		    !report_ratio_of(run, "compute", s->name, "guest", true, &q))
			continue;
		row_init(&rows[n]);
		snprintf(rows[n].label, sizeof(rows[n].label), "%s", s->name);
		rows[n].v[0] = q.value;
		rows[n].lo[0] = q.lo;
		rows[n].hi[0] = q.hi;
		ratio_note(&rows[n], &q);
		q.from_pairs ? pairs++ : boot++;
		n++;
	}
	if (!n)
		return;
	report_chart_open(f, "compute", "compute");
	svg_rows(f, &(struct chart){
		.title = "compute: guest speed relative to native",
		.xlabel = "guest speed / native speed (x; from the time per run, us)",
		.whiskers = whisker_source(pairs, boot), .ref = 1.0, .ref_label = "1.0 = native" }, rows, n);
	report_chart_close(f, "Bars right of the dashed line: the guest is faster than native; left: slower. "
			      "A whisker across the line: no difference shown at 95%.");
}

void report_memory_chart(FILE *f, const struct bench_run *run)
{
	const char *modes[ROW_BARS] = { "guest" };
	char legend[ROW_BARS][48];
	struct row rows[64];
	size_t nm = 1, n = 0, pairs = 0, boot = 0;

	/* the backings measured: "guest" (the default) first, then guest-BACKING in document order */
	for (size_t i = 0; i < run->nr_series && nm < ROW_BARS; i++) {
		const struct bench_series *s = &run->series[i];
		bool seen = false;

		if (strcmp(s->suite, "memory") || strncmp(s->mode, "guest-", 6))
			continue;
		for (size_t k = 0; k < nm; k++)
			seen |= !strcmp(modes[k], s->mode);
		if (!seen)
			modes[nm++] = s->mode;
	}
	for (size_t i = 0; i < run->nr_series && n < 64; i++) {
		const struct bench_series *s = &run->series[i];
		bool any = false;

		if (strcmp(s->suite, "memory") || strcmp(s->mode, "native"))
			continue;
		row_init(&rows[n]);
		snprintf(rows[n].label, sizeof(rows[n].label), "%s (%s)", s->name, s->unit);
		for (size_t k = 0; k < nm; k++) {
			struct report_ratio q;
			size_t used = strlen(rows[n].note);

			if (!report_ratio_of(run, "memory", s->name, modes[k], true, &q))
				continue;
			rows[n].v[k] = q.value;
			rows[n].lo[k] = q.lo;
			rows[n].hi[k] = q.hi;
			snprintf(rows[n].note + used, sizeof(rows[n].note) - used, "%s%.3f%s", used ? " / " : "",
				 q.value, q.from_pairs ? "*" : "");
			q.from_pairs ? pairs++ : boot++;
			any = true;
		}
		n += any;
	}
	if (!n)
		return;
	for (size_t k = 0; k < nm; k++)
		snprintf(legend[k], sizeof(legend[k]), "%s%s", modes[k], k ? "" : " (default backing)");
	report_chart_open(f, "memory", "memory");
	svg_rows(f, &(struct chart){
		.title = "memory: guest speed relative to native, per memory backing",
		.xlabel = "guest speed / native speed (x; from each case's unit, in brackets)",
		.legend = { legend[0], nm > 1 ? legend[1] : NULL, nm > 2 ? legend[2] : NULL },
		.whiskers = whisker_source(pairs, boot), .ref = 1.0, .ref_label = "1.0 = native" }, rows, n);
	report_chart_close(f, "Bars right of the dashed line: the guest is faster than native; left: slower. "
			      "One bar per guest memory backing; the figures on the right are in legend order.");
}

void report_exit_chart(FILE *f, const struct bench_run *run)
{
	struct row rows[32];
	size_t n = 0;

	for (size_t i = 0; i < run->nr_series && n < 32; i++) {
		const struct bench_series *g = &run->series[i], *nat;

		if (strcmp(g->mode, "guest") || strcmp(g->suite, "exit") || !(g->sum.median > 0))
			continue;
		nat = bench_run_find(run, "exit", g->analogue, "native");
		row_init(&rows[n]);
		snprintf(rows[n].label, sizeof(rows[n].label), "%s (vs %s)", g->name,
			 g->analogue[0] ? g->analogue : "none");
		rows[n].v[0] = g->sum.median;
		rows[n].lo[0] = g->sum.p5;
		rows[n].hi[0] = g->sum.p95;
		if (nat && nat->sum.median > 0) {
			rows[n].v[1] = nat->sum.median;
			rows[n].lo[1] = nat->sum.p5;
			rows[n].hi[1] = nat->sum.p95;
			snprintf(rows[n].note, sizeof(rows[n].note), "%.0f ns vs %.0f ns (%.1fx)", g->sum.median,
				 nat->sum.median, g->sum.median / nat->sum.median);
		} else {
			snprintf(rows[n].note, sizeof(rows[n].note), "%.0f ns", g->sum.median);
		}
		n++;
	}
	if (!n)
		return;
	report_chart_open(f, "exit", "exit");
	svg_rows(f, &(struct chart){
		.title = "Exit-cost ladder (ns per operation, log scale)",
		.xlabel = "ns per operation (median; log scale)",
		.legend = { "guest (Xenith)", "native analogue" },
		.whiskers = "p5 to p95 of the samples", .log_scale = true }, rows, n);
	report_chart_close(f, "Shorter bars are cheaper; each guest exit is paired with the native operation "
			      "closest to it, and the figure in brackets is guest / native.");
}

/* blk's modes, in the order the document first names them ("JOB@MODE") */
static size_t blk_modes(const struct bench_run *run, const char **modes, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < run->nr_series; i++) {
		const char *at = strchr(run->series[i].name, '@');
		bool seen = false;

		if (strcmp(run->series[i].suite, "blk") || !at)
			continue;
		for (size_t k = 0; k < n; k++)
			seen |= !strcmp(modes[k], at + 1);
		if (!seen && n < max)
			modes[n++] = at + 1;
	}
	return n;
}

static void blk_chart(FILE *f, const struct bench_run *run, bool p99)
{
	const char *modes[8];
	size_t nm = blk_modes(run, modes, 8), n = 0, pairs = 0, boot = 0;
	struct row rows[64];

	for (size_t m = 0; m < nm; m++)
		for (size_t i = 0; i < run->nr_series && n < 64; i++) {
			const struct bench_series *s = &run->series[i];
			const char *at = strchr(s->name, '@');
			struct report_ratio q;

			if (strcmp(s->suite, "blk") || strcmp(s->mode, "native") || !at || strcmp(at + 1, modes[m]) ||
			    (strstr(s->name, "-p99@") != NULL) != p99 ||
			    !report_ratio_of(run, "blk", s->name, "guest", false, &q))
				continue;
			row_init(&rows[n]);
			snprintf(rows[n].label, sizeof(rows[n].label), "%s: %.*s", modes[m],
				 (int)(at - s->name) - (p99 ? 4 : 0), s->name);
			rows[n].v[0] = q.value;
			rows[n].lo[0] = q.lo;
			rows[n].hi[0] = q.hi;
			ratio_note(&rows[n], &q);
			q.from_pairs ? pairs++ : boot++;
			n++;
		}
	if (!n)
		return;
	report_chart_open(f, "blk", p99 ? "blk-p99" : "blk-iops");
	svg_rows(f, &(struct chart){
		.title = p99 ? "blk: 99th-percentile completion latency, guest / native, per notification mode"
			     : "blk: IOPS, guest / native, per notification mode",
		.xlabel = p99 ? "guest p99 / native p99 (x; latency in us)" : "guest IOPS / native IOPS (x)",
		.whiskers = whisker_source(pairs, boot), .ref = 1.0, .ref_label = "1.0 = native" }, rows, n);
	report_chart_close(f, p99 ? "Bars left of the dashed line: a shorter latency tail than native (fio); "
				    "right: longer. Rows: notification mode, then job."
				  : "Bars right of the dashed line: more IOPS than native (fio); left: fewer. "
				    "Rows: notification mode, then job.");
}

void report_blk_charts(FILE *f, const struct bench_run *run)
{
	blk_chart(f, run, false);
	blk_chart(f, run, true);
}

/* The prof suite: each case's time while profiled at 100 Hz and 1 kHz, over unprofiled (its triplets). */
void report_prof_chart(FILE *f, const struct bench_run *run)
{
	static const char *const modes[2] = { "guest-prof100", "guest-prof1000" };
	struct row rows[16];
	size_t n = 0;

	for (size_t i = 0; i < run->nr_series && n < 16; i++) {
		const struct bench_series *s = &run->series[i];
		bool any = false;

		if (strcmp(s->suite, "prof") || strcmp(s->mode, "guest"))
			continue;
		row_init(&rows[n]);
		snprintf(rows[n].label, sizeof(rows[n].label), "%s (%s)", s->name, s->unit);
		for (size_t k = 0; k < 2; k++) {
			struct report_ratio q;
			size_t used = strlen(rows[n].note);

			/* not as speed: profiled time / unprofiled, from the ratio series ratio-profN */
			if (!report_ratio_of(run, "prof", s->name, modes[k], false, &q) || !q.from_pairs)
				continue;
			rows[n].v[k] = q.value;
			rows[n].lo[k] = q.lo;
			rows[n].hi[k] = q.hi;
			snprintf(rows[n].note + used, sizeof(rows[n].note) - used, "%s%+.1f%%", used ? " / " : "",
				 100 * (q.value - 1));
			any = true;
		}
		n += any;
	}
	if (!n)
		return;
	report_chart_open(f, "prof", "prof");
	svg_rows(f, &(struct chart){
		.title = "prof: a guest's compute time while profiled, relative to unprofiled",
		.xlabel = "profiled time / unprofiled time (x; 1.02 = 2% slower)",
		.legend = { "recorded at 100 Hz", "recorded at 1 kHz" },
		.whiskers = "95% interval of the median of the per-triplet ratios (ratio series)",
		.ref = 1.0, .ref_label = "1.0 = unprofiled" }, rows, n);
	report_chart_close(f, "Bars right of the dashed line: the case ran slower while `xenith prof record` "
			      "sampled it (VMM and host-kernel samples); the figures on the right are in legend "
			      "order. The issue's target: under 2% at 1 kHz.");
}

void report_soak_table(FILE *f, const struct bench_run *run)
{
	bool header = false;

	for (size_t i = 0; i < run->nr_series; i++) {
		const struct bench_series *s = &run->series[i];
		const struct bench_trend *t = &s->trend;

		if (strcmp(s->suite, "soak") || !t->set)
			continue;
		if (!header) {
			fputs("<table class=\"trend\"><tr><th>figure</th><th>mode</th><th>unit</th><th>rule</th>"
			      "<th>slope [95% CI]</th><th>per cycles</th><th>limit</th><th>first</th><th>last</th>"
			      "<th>verdict</th></tr>\n", f);
			header = true;
		}
		fputs("<tr><td>", f);
		report_html_text(f, s->name);
		fputs("</td><td>", f);
		report_html_text(f, s->mode);
		fputs("</td><td>", f);
		report_html_text(f, s->unit);
		fputs("</td><td>", f);
		report_html_text(f, t->rule);
		fprintf(f, "</td><td>%.4g [%.4g, %.4g]</td><td>%.0f</td><td>%.4g</td><td>%.4g</td><td>%.4g</td>"
			   "<td class=\"%s\">", t->slope, t->lo, t->hi, t->per, t->limit, t->first, t->last,
			!strcmp(t->verdict, "not-flat") ? "bad" : "ok");
		report_html_text(f, t->verdict);
		fputs("</td></tr>\n", f);
	}
	if (header)
		fputs("</table>\n", f);
}

/* One row of the environment table; an empty value is "not recorded". */
static void env_row(FILE *f, const char *name, const char *value)
{
	fputs("<tr><th>", f);
	report_html_text(f, name);
	fputs("</th><td>", f);
	report_html_text(f, value && value[0] ? value : "not recorded");
	fputs("</td></tr>\n", f);
}

void report_environment(FILE *f, const struct bench_run *run)
{
	const struct bench_env *e = &run->env;
	char tsc[32], kind[96], mem[32], cpus[16];

	snprintf(tsc, sizeof(tsc), e->tsc_khz ? "%llu kHz" : "", (unsigned long long)e->tsc_khz);
	snprintf(mem, sizeof(mem), e->mem_total_kib ? "%.1f GiB" : "", (double)e->mem_total_kib / (1024.0 * 1024.0));
	snprintf(cpus, sizeof(cpus), e->cpus_online ? "%u" : "", e->cpus_online);
	snprintf(kind, sizeof(kind), "%s, %u repetitions (%u warm-up), %.0f s", run->quick ? "quick" : "full",
		 run->repeat, run->warmup, run->duration_s);
	fputs("<h2>Environment</h2><table class=\"env\">\n", f);
	env_row(f, "Run", run->id);
	env_row(f, "Date (UTC)", e->date);
	env_row(f, "Xenith revision", e->revision);
	env_row(f, "Build type", e->build_type);
	env_row(f, "Host", e->hostname);
	env_row(f, "CPU model", e->cpu_model);
	env_row(f, "Microcode", e->microcode);
	env_row(f, "CPUs online", cpus);
	env_row(f, "SMT", e->smt);
	env_row(f, "Frequency governor", e->governor);
	env_row(f, "Turbo", e->turbo);
	env_row(f, "Memory", mem);
	env_row(f, "Kernel", e->kernel);
	env_row(f, "KVM module", e->kvm_module);
	env_row(f, "TSC frequency", tsc);
	env_row(f, "Run kind", kind);
	fputs("</table>\n", f);
}

/* One warning: text[0..len) without its surrounding blanks and final full stop; 1 if written. */
static size_t warning(FILE *f, const char *text, size_t len)
{
	while (len && (text[len - 1] == ' ' || text[len - 1] == '.'))
		len--;
	while (len && *text == ' ')
		text++, len--;
	if (!len)
		return 0;
	fputs("<li>", f);
	for (size_t i = 0; i < len; i++) {
		char c[2] = { text[i], 0 };

		report_html_text(f, c);
	}
	fputs("</li>\n", f);
	return 1;
}

/* The run's note: sentences ("...: why. "), one warning each. */
static size_t warnings_of_note(FILE *f, const char *note)
{
	const char *s = note, *start = note;
	size_t n = 0;

	for (; *s; s++) {
		if (*s == '.' && (s[1] == ' ' || !s[1])) {
			n += warning(f, start, (size_t)(s - start));
			start = s + 1;
		}
	}
	return n + warning(f, start, (size_t)(s - start));
}

void report_warnings(FILE *f, const struct bench_run *run)
{
	size_t n = 0;

	fputs("<h2>Warnings</h2><ul class=\"warn\">\n", f);
	n += warnings_of_note(f, run->note);
	/* another source of warnings: one line here, adding what it wrote to n */
	if (!n)
		fputs("<li class=\"none\">None recorded for this run.</li>\n", f);
	fputs("</ul>\n", f);
}
