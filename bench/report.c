// SPDX-License-Identifier: MIT
#include "report.h"

#include "fsutil.h"
#include "history.h"
#include "jsonval.h"
#include "noise.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void html_text(FILE *f, const char *s)
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

/* Horizontal bars: one per label, a reference line at `ref` (0: none). */
struct bar {
	char label[96];
	double value;
	double second;   /* a second bar under the first (NAN: none) */
	char note[48];
};

static void svg_bars(FILE *f, const char *title, const struct bar *bars, size_t n, double ref,
		     bool log_scale, const char *legend1, const char *legend2)
{
	const int left = 250, width = 480, row = 30, top = 40;
	int height = top + (int)n * row + 40;
	double max = 0, min = INFINITY;

	for (size_t i = 0; i < n; i++) {
		if (isfinite(bars[i].value)) {
			max = fmax(max, bars[i].value);
			min = fmin(min, bars[i].value);
		}
		if (isfinite(bars[i].second)) {
			max = fmax(max, bars[i].second);
			min = fmin(min, bars[i].second);
		}
	}
	if (ref > max)
		max = ref;
	if (max <= 0)
		max = 1;
	if (!(min > 0))
		min = max / 1000;
	fprintf(f, "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		   "role=\"img\"><title>", left + width + 200, height);
	html_text(f, title);
	fprintf(f, "</title><text x=\"4\" y=\"18\" class=\"t\">");
	html_text(f, title);
	fputs("</text>", f);
#define XPOS(v) (log_scale ? (double)left + (double)width * (log10(fmax(v, min / 2)) - log10(min / 2)) / \
	(log10(max * 1.1) - log10(min / 2)) : (double)left + (double)width * (v) / (max * 1.1))
	for (size_t i = 0; i < n; i++) {
		int y = top + (int)i * row;
		double x1 = isfinite(bars[i].value) ? XPOS(bars[i].value) : left;

		fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", left - 6, y + 14);
		html_text(f, bars[i].label);
		fprintf(f, "</text><rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" class=\"b1\"/>", left,
			y + 2, x1 - left, isfinite(bars[i].second) ? 11 : 20);
		if (isfinite(bars[i].second)) {
			double x2 = XPOS(bars[i].second);

			fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"11\" class=\"b2\"/>", left,
				y + 13, x2 - left);
		}
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"v\">", fmax(x1, isfinite(bars[i].second) ?
									XPOS(bars[i].second) : x1) + 4, y + 15);
		html_text(f, bars[i].note);
		fputs("</text>", f);
	}
	if (ref > 0) {
		double x = XPOS(ref);

		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"ref\"/>", x, top - 6, x,
			top + (int)n * row);
	}
	if (legend1) {
		int y = top + (int)n * row + 22;

		fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" class=\"b1\"/>"
			   "<text x=\"%d\" y=\"%d\">%s</text>", left, y - 10, left + 16, y, legend1);
		if (legend2)
			fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" class=\"b2\"/>"
				   "<text x=\"%d\" y=\"%d\">%s</text>", left + 200, y - 10, left + 216, y, legend2);
	}
#undef XPOS
	fputs("</svg></figure>\n", f);
}

/* Lines over x (log scale when asked); up to 4 series. */
struct line {
	const char *name;
	double x[64], y[64];
	size_t n;
};

static void svg_lines(FILE *f, const char *title, const char *xlabel, const char *ylabel,
		      const struct line *lines, size_t nl, bool log_x)
{
	const int left = 70, width = 560, top = 36, height = 240;
	double xmin = INFINITY, xmax = -INFINITY, ymax = 0;
	static const char *const cls[] = { "l1", "l2", "l3", "l4" };

	for (size_t k = 0; k < nl; k++)
		for (size_t i = 0; i < lines[k].n; i++) {
			if (!isfinite(lines[k].y[i]))
				continue;
			xmin = fmin(xmin, lines[k].x[i]);
			xmax = fmax(xmax, lines[k].x[i]);
			ymax = fmax(ymax, lines[k].y[i]);
		}
	if (!isfinite(xmin))
		return;
	if (xmax <= xmin)
		xmax = xmin + 1;
	if (ymax <= 0)
		ymax = 1;
	fprintf(f, "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		   "role=\"img\"><title>", left + width + 160, top + height + 50);
	html_text(f, title);
	fputs("</title><text x=\"4\" y=\"18\" class=\"t\">", f);
	html_text(f, title);
	fprintf(f, "</text><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"ax\"/>"
		   "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"ax\"/>",
		left, top, left, top + height, left, top + height, left + width, top + height);
	fprintf(f, "<text x=\"%d\" y=\"%d\">%s</text><text x=\"4\" y=\"%d\">%s</text>", left + width / 2,
		top + height + 34, xlabel, top - 6, ylabel);
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.3g</text>", left - 4, top + 10, ymax * 1.1);
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">0</text>", left - 4, top + height);
	fprintf(f, "<text x=\"%d\" y=\"%d\">%.4g</text><text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.4g</text>",
		left, top + height + 16, xmin, left + width, top + height + 16, xmax);
	for (size_t k = 0; k < nl; k++) {
		fprintf(f, "<polyline class=\"%s\" points=\"", cls[k % 4]);
		for (size_t i = 0; i < lines[k].n; i++) {
			double fx = log_x ? (log10(lines[k].x[i]) - log10(xmin)) / (log10(xmax) - log10(xmin))
					  : (lines[k].x[i] - xmin) / (xmax - xmin);

			if (!isfinite(lines[k].y[i]))
				continue;
			fprintf(f, "%.1f,%.1f ", left + width * fx,
				top + height - height * lines[k].y[i] / (ymax * 1.1));
		}
		fputs("\"/>", f);
		/* markers, so a series of one point shows too */
		for (size_t i = 0; i < lines[k].n; i++) {
			double fx = log_x ? (log10(lines[k].x[i]) - log10(xmin)) / (log10(xmax) - log10(xmin))
					  : (lines[k].x[i] - xmin) / (xmax - xmin);

			if (isfinite(lines[k].y[i]))
				fprintf(f, "<circle class=\"%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"3\"/>", cls[k % 4],
					left + width * fx, top + height - height * lines[k].y[i] / (ymax * 1.1));
		}
		fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"%s t2\">", left + width + 8,
			top + 14 + 18 * (int)k, cls[k % 4]);
		html_text(f, lines[k].name);
		fputs("</text>", f);
	}
	fputs("</svg></figure>\n", f);
}

static void ratio_chart(FILE *f, const struct bench_run *run)
{
	struct bar bars[64];
	size_t n = 0;

	for (size_t i = 0; i < run->nr_series && n < 64; i++) {
		const struct bench_series *g = &run->series[i], *nat;

		if (strcmp(g->mode, "guest") || (strcmp(g->suite, "compute") && strcmp(g->suite, "memory")))
			continue;
		nat = bench_run_find(run, g->suite, g->name, "native");
		snprintf(bars[n].label, sizeof(bars[n].label), "%s/%s", g->suite, g->name);
		bars[n].value = bench_relative_speed(g, nat);
		bars[n].second = NAN;
		snprintf(bars[n].note, sizeof(bars[n].note), "%.3f", bars[n].value);
		n++;
	}
	if (n)
		svg_bars(f, "Guest speed relative to native (1.0 = native; the line)", bars, n, 1.0, false,
			 NULL, NULL);
}

static void exit_chart(FILE *f, const struct bench_run *run)
{
	struct bar bars[16];
	size_t n = 0;

	for (size_t i = 0; i < run->nr_series && n < 16; i++) {
		const struct bench_series *g = &run->series[i], *nat;

		if (strcmp(g->mode, "guest") || strcmp(g->suite, "exit"))
			continue;
		nat = bench_run_find(run, "exit", g->analogue, "native");
		snprintf(bars[n].label, sizeof(bars[n].label), "%s (vs %s)", g->name, g->analogue);
		bars[n].value = g->sum.median;
		bars[n].second = nat ? nat->sum.median : NAN;
		snprintf(bars[n].note, sizeof(bars[n].note), "%.0f ns vs %.0f ns", g->sum.median,
			 nat ? nat->sum.median : NAN);
		n++;
	}
	if (n)
		svg_bars(f, "Exit-cost ladder (ns per operation, log scale)", bars, n, 0, true,
			 "guest (Xenith)", "native analogue");
}

static void density_charts(FILE *f, const struct bench_run *run)
{
	struct line boot[2] = { { .name = "xenith p50" }, { .name = "bare KVM p50" } };
	struct line mem[3] = { { .name = "xenith MemAvailable" }, { .name = "bare KVM MemAvailable" },
			       { .name = "xenith RSS" } };
	static const char *const kinds[] = { "xenith", "bare" };

	for (size_t i = 0; i < run->nr_series; i++) {
		const struct bench_series *s = &run->series[i];
		char nm[64];
		unsigned long n;

		if (strcmp(s->suite, "density") || sscanf(s->name, "n%lu", &n) != 1)
			continue;
		for (int k = 0; k < 2; k++) {
			if (strcmp(s->mode, kinds[k]))
				continue;
			snprintf(nm, sizeof(nm), "n%lu-boot", n);
			if (!strcmp(s->name, nm) && boot[k].n < 64) {
				boot[k].x[boot[k].n] = (double)n;
				boot[k].y[boot[k].n++] = s->sum.median;
			}
			snprintf(nm, sizeof(nm), "n%lu-mem-available", n);
			if (!strcmp(s->name, nm) && mem[k].n < 64 && n >= 100) {
				mem[k].x[mem[k].n] = (double)n;
				mem[k].y[mem[k].n++] = s->sum.median;
			}
			snprintf(nm, sizeof(nm), "n%lu-rss", n);
			if (!strcmp(s->name, nm) && k == 0 && mem[2].n < 64) {
				mem[2].x[mem[2].n] = (double)n;
				mem[2].y[mem[2].n++] = s->sum.median;
			}
		}
	}
	if (boot[0].n)
		svg_lines(f, "Boot to guest main, median per domain", "idle domains (log)", "us", boot, 2, true);
	if (mem[0].n || mem[2].n)
		svg_lines(f, "Host memory per idle domain (MemAvailable: N >= 100)", "idle domains (log)",
			  "KiB", mem, 3, true);
}

/* A change point to mark on a history chart: a vertical line at run x, labelled. */
struct mark {
	double x;
	char label[160];
};

/*
 * History lines over runs 1..nr_runs (linear x), each change point a dashed
 * vertical line labelled with the revision of the first run at the new level.
 */
static void svg_history(FILE *f, const char *title, const struct line *lines, size_t nl,
			const struct mark *marks, size_t nm, size_t nr_runs)
{
	const int left = 70, width = 560, top = 36, height = 240, label_h = 14;
	static const char *const cls[] = { "l1", "l2", "l3", "l4" };
	double xmin = 1, xmax = nr_runs > 1 ? (double)nr_runs : 2, ymax = 0;
	int top2 = top + label_h * (int)nm; /* room for the marks' labels above the plot */

	for (size_t k = 0; k < nl; k++)
		for (size_t i = 0; i < lines[k].n; i++)
			if (isfinite(lines[k].y[i]))
				ymax = fmax(ymax, lines[k].y[i]);
	if (ymax <= 0)
		ymax = 1;
#define HX(x) (left + width * ((x) - xmin) / (xmax - xmin))
#define HY(y) (top2 + height - height * (y) / (ymax * 1.1))
	fprintf(f, "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		   "role=\"img\"><title>", left + width + 160, top2 + height + 50);
	html_text(f, title);
	fputs("</title><text x=\"4\" y=\"18\" class=\"t\">", f);
	html_text(f, title);
	fprintf(f, "</text><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"ax\"/>"
		   "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"ax\"/>",
		left, top2, left, top2 + height, left, top2 + height, left + width, top2 + height);
	fprintf(f, "<text x=\"%d\" y=\"%d\">run (oldest first)</text><text x=\"4\" y=\"%d\">relative</text>",
		left + width / 2, top2 + height + 34, top2 - 6);
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.3g</text>", left - 4, top2 + 10, ymax * 1.1);
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">0</text>", left - 4, top2 + height);
	fprintf(f, "<text x=\"%d\" y=\"%d\">1</text><text x=\"%d\" y=\"%d\" text-anchor=\"end\">%zu</text>",
		left, top2 + height + 16, left + width, top2 + height + 16, nr_runs);
	for (size_t m = 0; m < nm; m++) {
		double x = HX(marks[m].x);

		fprintf(f, "<line class=\"cp\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>"
			   "<text class=\"cpl\" x=\"%.1f\" y=\"%d\"%s>", x, top + label_h * (int)m, x,
			top2 + height, x + (x > left + width / 2 ? -3 : 3), top + label_h * (int)m + 10,
			x > left + width / 2 ? " text-anchor=\"end\"" : "");
		html_text(f, marks[m].label);
		fputs("</text>", f);
	}
	for (size_t k = 0; k < nl; k++) {
		fprintf(f, "<polyline class=\"%s\" points=\"", cls[k % 4]);
		for (size_t i = 0; i < lines[k].n; i++)
			if (isfinite(lines[k].y[i]))
				fprintf(f, "%.1f,%.1f ", HX(lines[k].x[i]), HY(lines[k].y[i]));
		fputs("\"/>", f);
		for (size_t i = 0; i < lines[k].n; i++)
			if (isfinite(lines[k].y[i]))
				fprintf(f, "<circle class=\"%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"3\"/>", cls[k % 4],
					HX(lines[k].x[i]), HY(lines[k].y[i]));
		fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"%s t2\">", left + width + 8, top2 + 14 + 18 * (int)k,
			cls[k % 4]);
		html_text(f, lines[k].name);
		fputs("</text>", f);
	}
#undef HX
#undef HY
	fputs("</svg></figure>\n", f);
}

/*
 * The guest median of up to 4 cases a suite over the archived runs and this
 * one, relative to the oldest shown, with the change points of each series
 * (bench/history.h) marked.
 */
static void history_charts(FILE *f, const struct bench_run *run, const struct bench_run *hist,
			   size_t nh)
{
	static const char *const suites[] = { "compute", "memory", "exit" };
	const struct bench_run **all;
	struct history h;
	struct cp_opts o;

	if (nh == 0)
		return;
	all = calloc(nh + 1, sizeof(*all));
	if (!all)
		return;
	for (size_t i = 0; i < nh; i++)
		all[i] = &hist[i];
	all[nh] = run;
	cp_opts_default(&o);
	if (history_build(all, nh + 1, NULL, 0, &o, &h) < 0) {
		free(all);
		return;
	}
	fputs("<h2>History</h2><p>Median of each guest case over the archived runs, relative to the "
	      "oldest run shown (1.0 = unchanged). A dashed vertical line marks a change point (E-divisive "
	      "means, p &lt; 0.01; <code>xenith bench history</code>), labelled with the revision of the first "
	      "run at the new level.</p>\n", f);
	for (size_t si = 0; si < 3; si++) {
		const char *suite = suites[si];
		struct line lines[4];
		struct mark marks[4 * 3];
		size_t nl = 0, nm = 0;

		for (size_t i = 0; i < run->nr_series && nl < 4; i++) {
			const struct bench_series *s = &run->series[i];
			const struct history_series *hs;
			double first = NAN;

			if (strcmp(s->suite, suite) || strcmp(s->mode, "guest"))
				continue;
			hs = history_find(&h, s->suite, s->name, "guest");
			if (!hs)
				continue;
			memset(&lines[nl], 0, sizeof(lines[nl]));
			lines[nl].name = s->name;
			for (size_t p = 0, x = 0; p < hs->nr_points && lines[nl].n < 64; p++) {
				while (x < h.nr_runs && h.runs[x] != hs->points[p].run)
					x++;
				if (!(hs->points[p].median > 0))
					continue;
				if (!isfinite(first))
					first = hs->points[p].median;
				lines[nl].x[lines[nl].n] = (double)x + 1;
				lines[nl].y[lines[nl].n++] = hs->points[p].median / first;
			}
			for (size_t c = 0; c < hs->nr_changes && nm < sizeof(marks) / sizeof(marks[0]); c++) {
				const struct change_point *cp = &hs->changes[c];
				const struct bench_run *at = hs->points[cp->index].run;
				size_t x = 0;

				while (x < h.nr_runs && h.runs[x] != at)
					x++;
				marks[nm].x = (double)x + 1;
				snprintf(marks[nm].label, sizeof(marks[nm].label), "%s: %s %+.1f%%", at->env.revision,
					 s->name, 100 * cp->shift);
				nm++;
			}
			nl++;
		}
		if (nl) {
			char title[64];

			snprintf(title, sizeof(title), "%s: guest median over runs", suite);
			svg_history(f, title, lines, nl, marks, nm, h.nr_runs);
		}
	}
	history_free(&h);
	free(all);
}

/* What else the host did during the run, and the warnings it gives (bench/noise.h). */
static void noise_section(FILE *f, const struct bench_run *run)
{
	char line[512], w[32][NOISE_WARNING_LEN];
	size_t n = noise_warnings(run, w, 32);

	if (!run->noise.set && n == 0)
		return;
	noise_summary(&run->noise, line, sizeof(line));
	fputs("<h2>Noise</h2><p>During the run: ", f);
	html_text(f, line);
	fputs(".</p>\n", f);
	if (n == 0)
		return;
	fputs("<ul class=\"warn\">", f);
	for (size_t i = 0; i < n && i < 32; i++) {
		fputs("<li>", f);
		html_text(f, w[i]);
		fputs("</li>", f);
	}
	if (n > 32)
		fprintf(f, "<li>... and %zu more</li>", n - 32);
	fputs("</ul>\n", f);
}

static void table(FILE *f, const struct bench_run *run)
{
	fputs("<h2>All series</h2><table><tr><th>suite</th><th>case</th><th>mode</th><th>unit</th>"
	      "<th>median</th><th>p5</th><th>p95</th><th>cv</th><th>n</th><th>better</th></tr>\n", f);
	for (size_t i = 0; i < run->nr_series; i++) {
		const struct bench_series *s = &run->series[i];

		fputs("<tr><td>", f);
		html_text(f, s->suite);
		fputs("</td><td>", f);
		html_text(f, s->name);
		fputs("</td><td>", f);
		html_text(f, s->mode);
		fputs("</td><td>", f);
		html_text(f, s->unit);
		fprintf(f, "</td><td>%.4g</td><td>%.4g</td><td>%.4g</td><td>%.1f%%</td><td>%zu</td><td>%s</td></tr>\n",
			s->sum.median, s->sum.p5, s->sum.p95, 100 * s->sum.cv, s->sum.n,
			s->higher_is_better ? "higher" : "lower");
	}
	fputs("</table>\n", f);
}

int report_write_html(const struct bench_run *run, const struct bench_run *history, size_t nr_history,
		      const char *path, struct errbuf *eb)
{
	char tmp[4200];
	FILE *f = fs_atomic_open(path, tmp, sizeof(tmp), eb);

	if (!f)
		return -EIO;
	fputs("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Xenith benchmark ", f);
	html_text(f, run->id);
	fputs("</title><style>body{font:14px sans-serif;margin:2em;max-width:1000px}"
	      "svg text{font:12px sans-serif}.t{font-weight:bold}.b1{fill:#3b6ea5}.b2{fill:#e0a030}"
	      ".ref{stroke:#c00;stroke-dasharray:4 3}.ax{stroke:#444}.v{fill:#222}"
	      "polyline{fill:none;stroke-width:2}.l1{stroke:#3b6ea5}.l2{stroke:#e0a030}.l3{stroke:#50a050}"
	      ".l4{stroke:#a050a0}circle.l1,text.l1{fill:#3b6ea5}circle.l2,text.l2{fill:#e0a030}"
	      "circle.l3,text.l3{fill:#50a050}circle.l4,text.l4{fill:#a050a0}text{stroke:none}"
	      "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
	      "td:nth-child(-n+4){text-align:left}.cp{stroke:#c00;stroke-dasharray:5 3}.cpl{fill:#c00}"
	      ".warn{color:#a00}</style></head><body>\n<h1>Xenith benchmark</h1>\n<p>", f);
	html_text(f, run->id);
	fputs("<br>", f);
	html_text(f, run->env.cpu_model);
	fputs(", ", f);
	html_text(f, run->env.kernel);
	fputs(", KVM module ", f);
	html_text(f, run->env.kvm_module);
	fprintf(f, ", %s run, %u repetitions, %.0f s</p>\n", run->quick ? "quick" : "full", run->repeat,
		run->duration_s);
	if (run->note[0]) {
		fputs("<p><b>Note:</b> ", f);
		html_text(f, run->note);
		fputs("</p>\n", f);
	}
	ratio_chart(f, run);
	exit_chart(f, run);
	density_charts(f, run);
	noise_section(f, run);
	history_charts(f, run, history, nr_history);
	table(f, run);
	fputs("</body></html>\n", f);
	return fs_atomic_commit(f, tmp, path, eb);
}

int report_write_github(const struct bench_run *run, const char *path, bool bigger_is_better,
			struct errbuf *eb)
{
	char tmp[4200];
	json_t *list = json_array();
	bool ok = list != NULL;
	FILE *f;
	int dumped;

	for (size_t i = 0; ok && i < run->nr_series; i++) {
		const struct bench_series *s = &run->series[i];
		char name[96], range[64], extra[64];
		json_t *o;

		/* The tool compares one direction per file: export the series that match it. */
		if (s->higher_is_better != bigger_is_better || !isfinite(s->sum.median))
			continue;
		snprintf(name, sizeof(name), "%s/%s (%s)", s->suite, s->name, s->mode);
		snprintf(range, sizeof(range), "p5 %.4g .. p95 %.4g", s->sum.p5, s->sum.p95);
		snprintf(extra, sizeof(extra), "n=%zu cv=%.2f%%", s->sum.n, 100 * s->sum.cv);
		o = json_pack("{s:o, s:o, s:f, s:s, s:s}", "name", jval_str(name), "unit", jval_str(s->unit),
			      "value", s->sum.median, "range", range, "extra", extra);
		ok = json_array_append_new(list, o) == 0;
	}
	if (!ok) {
		json_decref(list);
		return errbuf_set(eb, ENOMEM, "out of memory building %s", path);
	}
	f = fs_atomic_open(path, tmp, sizeof(tmp), eb);
	if (!f) {
		json_decref(list);
		return -EIO;
	}
	errno = 0;
	/* value: 6 significant digits, as the dashboards always got */
	dumped = json_dumpf(list, f, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
	json_decref(list);
	if (dumped < 0 || fputc('\n', f) == EOF) {
		int err = errno ? errno : EIO;

		fclose(f);
		unlink(tmp);
		return errbuf_set(eb, err, "writing %s: %s", tmp, strerror(err));
	}
	return fs_atomic_commit(f, tmp, path, eb);
}

static void om_label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s == '\n' ? ' ' : *s, f);
	}
}

int report_write_openmetrics(const struct bench_run *run, const char *path, struct errbuf *eb)
{
	static const char *const stats[] = { "median", "p5", "p95", "cv" };
	char tmp[4200];
	FILE *f = fs_atomic_open(path, tmp, sizeof(tmp), eb);

	if (!f)
		return -EIO;
	fputs("# TYPE xenith_bench gauge\n# HELP xenith_bench Xenith benchmark results by suite, case, "
	      "mode, unit and statistic.\n", f);
	for (size_t i = 0; i < run->nr_series; i++) {
		const struct bench_series *s = &run->series[i];
		double v[] = { s->sum.median, s->sum.p5, s->sum.p95, s->sum.cv };

		for (int k = 0; k < 4; k++) {
			if (!isfinite(v[k]))
				continue;
			fputs("xenith_bench{suite=\"", f);
			om_label(f, s->suite);
			fputs("\",case=\"", f);
			om_label(f, s->name);
			fputs("\",mode=\"", f);
			om_label(f, s->mode);
			fputs("\",unit=\"", f);
			om_label(f, s->unit);
			fprintf(f, "\",stat=\"%s\",revision=\"", stats[k]);
			om_label(f, run->env.revision);
			fprintf(f, "\"} %.9g\n", v[k]);
		}
	}
	fputs("# EOF\n", f);
	return fs_atomic_commit(f, tmp, path, eb);
}
