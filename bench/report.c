// SPDX-License-Identifier: MIT
#include "report.h"

#include "fsutil.h"
#include "history.h"
#include "jsonval.h"
#include "noise.h"
#include "report_charts.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void html_text(FILE *f, const char *s)
{
	report_html_text(f, s);
}

/* Lines over x (log scale when asked); up to 4 series. */
struct line {
	const char *name;
	double x[64], y[64];
	const char *xtick[64]; /* a label for the axis under x[i] (e.g. a revision); NULL: none */
	size_t n;
};

/*
 * The y axis starts at 0 unless every value lies in the upper half of the
 * range (relative figures near 1.0): then it spans the values, so a change
 * of a few percent is visible, and its labels say where it starts.
 */
/* A change point to mark on a history chart: a vertical line at x, labelled. */
struct mark {
	double x;
	char label[160];
};

static void svg_lines(FILE *f, const char *title, const char *xlabel, const char *ylabel,
		      const struct line *lines, size_t nl, bool log_x, const struct mark *marks, size_t nm)
{
	const int left = 70, width = 560, top = 36, height = 240;
	double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY, ylo, yhi, last_tick = -1e9;
	static const char *const cls[] = { "l1", "l2", "l3", "l4" };
	bool ticks = false;
	int bottom;

	for (size_t k = 0; k < nl; k++)
		for (size_t i = 0; i < lines[k].n; i++) {
			if (!isfinite(lines[k].y[i]) || !isfinite(lines[k].x[i]) || (log_x && !(lines[k].x[i] > 0)))
				continue;
			xmin = fmin(xmin, lines[k].x[i]);
			xmax = fmax(xmax, lines[k].x[i]);
			ymin = fmin(ymin, lines[k].y[i]);
			ymax = fmax(ymax, lines[k].y[i]);
			ticks |= lines[k].xtick[i] != NULL;
		}
	if (!isfinite(xmin))
		return;
	if (xmax <= xmin)
		xmax = log_x ? xmin * 10 : xmin + 1;
	if (ymin > 0 && ymin > ymax / 2) {
		double pad = ymax > ymin ? (ymax - ymin) / 10 : ymax / 20;

		ylo = ymin - pad;
		yhi = ymax + pad;
	} else {
		ylo = fmin(ymin, 0);
		yhi = ymax > 0 ? ymax * 1.1 : 1;
	}
	if (yhi <= ylo)
		yhi = ylo + 1;
	bottom = ticks ? 110 : 50;
#define PX(x) (left + width * (log_x ? (log10(x) - log10(xmin)) / (log10(xmax) - log10(xmin)) \
				     : ((x) - xmin) / (xmax - xmin)))
#define PY(y) (top + height - height * ((y) - ylo) / (yhi - ylo))
	fprintf(f, "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		   "viewBox=\"0 0 %d %d\" role=\"img\"><title>", left + width + 160, top + height + bottom,
		left + width + 160, top + height + bottom);
	html_text(f, title);
	fputs("</title><text x=\"4\" y=\"18\" class=\"t\">", f);
	html_text(f, title);
	fprintf(f, "</text><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"ax\"/>"
		   "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"ax\"/>",
		left, top, left, top + height, left, top + height, left + width, top + height);
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text><text x=\"4\" y=\"%d\">%s</text>",
		left + width / 2, top + height + bottom - 8, xlabel, top - 6, ylabel);
	for (int t = 0; t <= 2; t++) {
		double v = ylo + (yhi - ylo) * t / 2;
		/* digits enough that the three labels differ: a narrow range near 1.0 needs more */
		int prec = 3 + (int)fmin(fmax(ceil(log10(fmax(fabs(ylo), fabs(yhi)) / (yhi - ylo))), 0), 7);

		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" class=\"grid\"/>"
			   "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.*g</text>",
			left, PY(v), left + width, PY(v), left - 4, PY(v) + 4, prec, v);
	}
	if (!ticks)
		fprintf(f, "<text x=\"%d\" y=\"%d\">%.4g</text><text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.4g</text>",
			left, top + height + 16, xmin, left + width, top + height + 16, xmax);
	for (size_t k = 0; k < nl; k++) {
		for (size_t i = 0; i < lines[k].n; i++) {
			double x = lines[k].x[i];

			/* at most one label per 14 px, the newest last: rotated, revision then date */
			if (!lines[k].xtick[i] || !isfinite(lines[k].y[i]) || PX(x) - last_tick < 14)
				continue;
			last_tick = PX(x);
			fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"end\" class=\"tick\" "
				   "transform=\"rotate(-50 %.1f %d)\">", PX(x), top + height + 12, PX(x),
				top + height + 12);
			html_text(f, lines[k].xtick[i]);
			fputs("</text>", f);
		}
	}
	/* change points: dashed vertical lines under the lines and their markers, labels stacked at the top */
	for (size_t m = 0; m < nm; m++) {
		double x = PX(marks[m].x);
		bool right = x > left + width / 2;

		if (!isfinite(x))
			continue;
		fprintf(f, "<line class=\"cp\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>"
			   "<text class=\"cpl\" x=\"%.1f\" y=\"%d\"%s>", x, top, x, top + height,
			x + (right ? -3 : 3), top + 10 + 14 * (int)m, right ? " text-anchor=\"end\"" : "");
		html_text(f, marks[m].label);
		fputs("</text>", f);
	}
	for (size_t k = 0; k < nl; k++) {
		fprintf(f, "<polyline class=\"%s\" points=\"", cls[k % 4]);
		for (size_t i = 0; i < lines[k].n; i++) {
			if (!isfinite(lines[k].y[i]) || !isfinite(lines[k].x[i]) || (log_x && !(lines[k].x[i] > 0)))
				continue;
			fprintf(f, "%.1f,%.1f ", PX(lines[k].x[i]), PY(lines[k].y[i]));
		}
		fputs("\"/>", f);
		/* markers, so a series of one point shows too */
		for (size_t i = 0; i < lines[k].n; i++) {
			if (!isfinite(lines[k].y[i]) || !isfinite(lines[k].x[i]) || (log_x && !(lines[k].x[i] > 0)))
				continue;
			fprintf(f, "<circle class=\"mark %s\" cx=\"%.1f\" cy=\"%.1f\" r=\"3\"><title>", cls[k % 4],
				PX(lines[k].x[i]), PY(lines[k].y[i]));
			html_text(f, lines[k].name);
			if (lines[k].xtick[i]) {
				fputs(", ", f);
				html_text(f, lines[k].xtick[i]);
			}
			fprintf(f, ": %.4g</title></circle>", lines[k].y[i]);
		}
		fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"%s t2\">", left + width + 8,
			top + 14 + 18 * (int)k, cls[k % 4]);
		html_text(f, lines[k].name);
		fputs("</text>", f);
	}
#undef PX
#undef PY
	fputs("</svg></figure>\n", f);
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
	if (boot[0].n || boot[1].n) {
		report_chart_open(f, "density", "density-boot");
		svg_lines(f, "density: boot to guest main, median per domain", "idle domains (log scale)",
			  "us per domain", boot, 2, true, NULL, 0);
		report_chart_close(f, "Lower is faster to boot; the gap between the lines is Xenith's cost over a "
				      "bare KVM VM of the same size.");
	}
	if (mem[0].n || mem[1].n || mem[2].n) {
		report_chart_open(f, "density", "density-mem");
		svg_lines(f, "density: host memory per idle domain (MemAvailable: N >= 100)",
			  "idle domains (log scale)", "KiB per domain", mem, 3, true, NULL, 0);
		report_chart_close(f, "Lower is denser: the host memory each idle domain takes, from the drop in "
				      "MemAvailable and from the VMM's RSS.");
	}
}

/*
 * The length of a soak series' scenario prefix ("SCENARIO-FIGURE"): the
 * scenarios of results/SCHEMA.md have '-' in their names, so they are known
 * here; another name's scenario ends at its first '-'.  0: not such a name.
 */
static size_t soak_scenario_len(const char *name)
{
	static const char *const known[] = { "create-destroy", "disk-churn", "reboot" };
	const char *dash = strchr(name, '-');

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		size_t l = strlen(known[i]);

		if (!strncmp(name, known[i], l) && name[l] == '-')
			return l;
	}
	return dash ? (size_t)(dash - name) : 0;
}

/* The soak suite: each figure's kept samples over the cycles, relative to its first, a chart per scenario. */
static void soak_charts(FILE *f, const struct bench_run *run)
{
	bool any = false;

	for (size_t i = 0; i < run->nr_series; i++) {
		const struct bench_series *s = &run->series[i];
		struct line lines[8];
		size_t nl = 0, scen_len;
		bool first_of_scenario = true;
		char title[96];

		if (strcmp(s->suite, "soak") || !s->trend.set || !(scen_len = soak_scenario_len(s->name)))
			continue;
		/* a scenario's chart is drawn at its first figure; scenario names may contain '-' */
		for (size_t j = 0; j < i; j++) {
			const struct bench_series *o = &run->series[j];

			first_of_scenario &= !(o->trend.set && !strcmp(o->suite, "soak") &&
					       soak_scenario_len(o->name) == scen_len && !strncmp(o->name, s->name, scen_len));
		}
		if (!first_of_scenario)
			continue;
		for (size_t j = i; j < run->nr_series && nl < 8; j++) {
			const struct bench_series *o = &run->series[j];
			size_t step;

			if (strcmp(o->suite, "soak") || !o->trend.set || soak_scenario_len(o->name) != scen_len ||
			    strncmp(o->name, s->name, scen_len) || o->n == 0 || o->samples[0] == 0)
				continue;
			memset(&lines[nl], 0, sizeof(lines[nl]));
			lines[nl].name = o->name + scen_len + 1;
			/* at most 64 points: every step-th sample, the last always */
			step = (o->n + 63) / 64;
			for (size_t k = 0; k < o->n && lines[nl].n < 64; k += step) {
				size_t at = k + step >= o->n ? o->n - 1 : k;

				lines[nl].x[lines[nl].n] = o->trend.x0 + o->trend.x_step * (double)at;
				lines[nl].y[lines[nl].n++] = o->samples[at] / o->samples[0];
			}
			nl++;
		}
		if (!nl)
			continue;
		if (!any)
			fputs("<h2>soak</h2>\n", f);
		any = true;
		snprintf(title, sizeof(title), "soak %.*s: each figure relative to its first kept sample",
			 (int)scen_len, s->name);
		{
			char id[64];

			snprintf(id, sizeof(id), "soak-%.*s", (int)scen_len, s->name);
			report_chart_open(f, "soak", id);
		}
		svg_lines(f, title, "cycle", "value / first value (1.0 = unchanged)", lines, nl, false, NULL, 0);
		report_chart_close(f, "A flat line at 1.0 is what a soak wants; a line that climbs or falls over "
				      "the cycles is a leak or a drift (the trend table below gives the verdicts).");
	}
	report_soak_table(f, run);
}

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
		char tick[64][32];
		size_t nl = 0, nm = 0;

		for (size_t r = 0; r < h.nr_runs && r < 64; r++) /* the axis label: revision and day of the run */
			snprintf(tick[r], sizeof(tick[r]), "%.12s %.10s", h.runs[r]->env.revision, h.runs[r]->env.date);
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
				lines[nl].xtick[lines[nl].n] = x < 64 ? tick[x] : NULL;
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
			char title[64], id[32];

			snprintf(title, sizeof(title), "%s: guest median over runs", suite);
			snprintf(id, sizeof(id), "history-%s", suite);
			report_chart_open(f, "history", id);
			svg_lines(f, title, "run: revision and date (oldest first)",
				  "median / the oldest run's median", lines, nl, false, marks, nm);
			report_chart_close(f, "1.0 = the oldest run shown; for times (us, ns) up is slower, for "
					      "throughput (GB/s) up is faster; a dashed line is a change point.");
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
	      "<th>median</th><th>p5</th><th>p95</th><th>cv</th><th>n</th><th>better</th>"
	      "<th>95% CI (ratio: pairs)</th></tr>\n", f);
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
		fprintf(f, "</td><td>%.4g</td><td>%.4g</td><td>%.4g</td><td>%.1f%%</td><td>%zu</td><td>%s</td><td>",
			s->sum.median, s->sum.p5, s->sum.p95, 100 * s->sum.cv, s->sum.n,
			s->higher_is_better ? "higher" : "lower");
		if (isfinite(s->ratio_lo) && isfinite(s->ratio_hi))
			fprintf(f, "%.4g .. %.4g", s->ratio_lo, s->ratio_hi);
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
}

/* ---- the migrate suite ---- */

/*
 * The targets, and the published figures the suite's are read
 * against (external: other systems, other hosts; the in-run baselines are
 * the cold boot for the restore, and for migration the figures themselves).
 */
#define MIG_TARGET_RESTORE_MS 5.0
#define MIG_TARGET_DOWNTIME_MS 5.0
static const char mig_restore_anchor[] = "published: Firecracker restores a snapshot in 8 to 9 ms";
static const char mig_downtime_anchors[] =
	"Published downtimes: Xen (Clark et al., NSDI 2005) 60 ms for a game server and 210 ms for SPECweb; "
	"QEMU's default downtime limit 300 ms; Cloud Hypervisor's local live upgrade 50 ms for an idle 4 GiB "
	"guest";

bool report_migrate_limit(const struct bench_run *run, double *limit, double *highest)
{
	double lowest = INFINITY;

	*highest = 0;
	for (size_t i = 0; i < run->nr_series; i++) {
		const struct bench_series *s = &run->series[i];
		unsigned rate;
		size_t conv = 0;
		int end = 0;

		if (strcmp(s->suite, "migrate") || strcmp(s->mode, "xenith") || !s->n ||
		    sscanf(s->name, "dirty-%u-converged%n", &rate, &end) != 1 || s->name[end])
			continue;
		for (size_t k = 0; k < s->n; k++)
			conv += s->samples[k] > 0.5;
		if (rate > *highest)
			*highest = rate;
		if (2 * conv < s->n && rate < lowest)
			lowest = rate;
	}
	*limit = lowest;
	return isfinite(lowest);
}

/* Numbers as read: 3 significant digits, or whole from 100 up; counts (pages, rounds) whole when they are. */
static void mig_num(char *buf, size_t size, double v, bool count)
{
	if (!isfinite(v))
		snprintf(buf, size, "-");
	else if (fabs(v) >= 100 || (count && v == floor(v)))
		snprintf(buf, size, "%.0f", v);
	else if (fabs(v) >= 10)
		snprintf(buf, size, "%.1f", v);
	else if (fabs(v) >= 1)
		snprintf(buf, size, "%.2f", v);
	else
		snprintf(buf, size, "%.3f", v);
}

/* One row of cells: text columns of the given widths (negative: left-aligned), or an HTML row. */
static void mig_cells(FILE *f, bool html, const char *const *cells, const int *width, unsigned n)
{
	if (html)
		fputs("<tr>", f);
	else
		fprintf(f, "%-8s", "");
	for (unsigned i = 0; i < n; i++) {
		if (html) {
			fputs("<td>", f);
			html_text(f, cells[i]);
			fputs("</td>", f);
		} else if (i + 1 < n) {
			fprintf(f, " %*s", width[i], cells[i]);
		} else if (cells[i][0]) {
			fprintf(f, " %s", cells[i]); /* the last, free text: not padded */
		}
	}
	fputs(html ? "</tr>\n" : "\n", f);
}

static void mig_sentence(FILE *f, bool html, const char *text)
{
	if (html) {
		fputs("<p>", f);
		html_text(f, text);
		fputs("</p>\n", f);
	} else {
		fprintf(f, "%-8s %s\n", "", text);
	}
}

/* "met (3 of 3 runs under 5 ms)", "missed (none of 3 under 5 ms)", "met in 2 of 3 runs" */
static void mig_verdict(char *buf, size_t size, const struct bench_series *s, double target)
{
	size_t under = 0;

	for (size_t k = 0; k < s->n; k++)
		under += s->samples[k] < target;
	if (under == s->n)
		snprintf(buf, size, "target under %g ms: met (%zu of %zu runs)", target, under, s->n);
	else if (!under)
		snprintf(buf, size, "target under %g ms: missed (none of %zu runs)", target, s->n);
	else
		snprintf(buf, size, "target under %g ms: met in %zu of %zu runs", target, under, s->n);
}

static const int mig_fig_width[] = { -40, 9, 9, 9, 3, 0 };

/* A figure's row: median, min, max and n of series name/mode (as the time restore / boot for the ratio). */
static void mig_figure(FILE *f, bool html, const struct bench_run *run, const char *name, const char *mode,
		       const char *label, double target, const char *note)
{
	const struct bench_series *s = bench_run_find(run, "migrate", name, mode);
	char med[32], lo[32], hi[32], n[16], lab[96], read[512] = "";
	bool inverse = !strcmp(mode, "ratio");
	bool count = s && (!strcmp(s->unit, "pages") || !strcmp(s->unit, "rounds") || !strcmp(s->unit, "exits"));

	if (!s || !s->n)
		return;
	/* the ratio series holds speed (boot / restore), as every ratio series: shown as time, restore / boot */
	mig_num(med, sizeof(med), inverse ? 1 / s->sum.median : s->sum.median, count);
	mig_num(lo, sizeof(lo), inverse ? 1 / s->sum.max : s->sum.min, count);
	mig_num(hi, sizeof(hi), inverse ? 1 / s->sum.min : s->sum.max, count);
	snprintf(n, sizeof(n), "%zu", s->n);
	snprintf(lab, sizeof(lab), "%s (%s)", label, inverse ? "x" : s->unit);
	if (target > 0)
		mig_verdict(read, sizeof(read), s, target);
	if (inverse && isfinite(s->ratio_lo) && isfinite(s->ratio_hi))
		snprintf(read, sizeof(read), "95%% CI of the pairs [%.3f, %.3f]", 1 / s->ratio_hi, 1 / s->ratio_lo);
	if (note) {
		size_t used = strlen(read);

		snprintf(read + used, sizeof(read) - used, "%s%s", used ? "; " : "", note);
	}
	mig_cells(f, html, (const char *const[]){ lab, med, lo, hi, n, read }, mig_fig_width, 6);
}

static const struct bench_series *mig_fig(const struct bench_run *run, unsigned rate, const char *fig)
{
	char name[48];

	snprintf(name, sizeof(name), "dirty-%u-%s", rate, fig);
	return bench_run_find(run, "migrate", name, "xenith");
}

/* logs-R: the same dirty migration with KVM's dirty ring and with its bitmap, paired (bench/migbench.c). */
static void mig_logs(FILE *f, bool html, const struct bench_run *run)
{
	for (size_t i = 0; i < run->nr_series; i++) {
		const struct bench_series *s = &run->series[i];
		static const char *const figs[][2] = { { "total", "in all" }, { "downtime", "downtime" } };
		unsigned rate;
		int end = 0;

		if (strcmp(s->suite, "migrate") || strcmp(s->mode, "ratio") || !s->n ||
		    sscanf(s->name, "logs-%u-total%n", &rate, &end) != 1 || s->name[end])
			continue;
		for (size_t k = 0; k < sizeof(figs) / sizeof(figs[0]); k++) {
			char name[48], label[96];

			snprintf(name, sizeof(name), "logs-%u-%s", rate, figs[k][0]);
			snprintf(label, sizeof(label), "dirty %u MB/s, KVM's ring: %s", rate, figs[k][1]);
			mig_figure(f, html, run, name, "ring", label, 0, NULL);
			snprintf(label, sizeof(label), "dirty %u MB/s, KVM's bitmap: %s", rate, figs[k][1]);
			mig_figure(f, html, run, name, "bitmap", label, 0, "the in-run baseline");
			snprintf(label, sizeof(label), "ring / bitmap, %s, pairs", figs[k][1]);
			mig_figure(f, html, run, name, "ratio", label, 0, NULL);
		}
		{
			char name[48], label[96];

			snprintf(name, sizeof(name), "logs-%u-full-exits", rate);
			snprintf(label, sizeof(label), "dirty %u MB/s, KVM's ring: full-ring exits", rate);
			mig_figure(f, html, run, name, "ring", label, 0, NULL);
		}
	}
}

/* The dirty cases, a row per rate, and the rate where pre-copy stops converging. */
static void mig_dirty(FILE *f, bool html, const struct bench_run *run)
{
	static const int width[] = { 10, 9, 10, 7, 22, 9, 0 };
	static const char *const head[] = { "MB/s", "reached", "converged", "rounds", "downtime ms [min, max]",
					     "total ms", "guest-seen gap ms" };
	double limit, highest;
	bool any = false;
	char text[512];

	for (size_t i = 0; i < run->nr_series; i++) {
		const struct bench_series *s = &run->series[i], *rate, *conv, *rounds, *total, *gap;
		char c[7][112], m[32], lo[32], hi[32];
		unsigned r;
		int end = 0;
		size_t ok = 0;

		if (strcmp(s->suite, "migrate") || strcmp(s->mode, "xenith") || !s->n ||
		    sscanf(s->name, "dirty-%u-downtime%n", &r, &end) != 1 || s->name[end])
			continue;
		if (!any) {
			if (html)
				fputs("<table class=\"mig\"><tr><th>dirty MB/s</th><th>reached</th><th>converged</th>"
				      "<th>rounds</th><th>downtime ms [min, max]</th><th>total ms</th>"
				      "<th>guest-seen gap ms</th></tr>\n", f);
			else
				mig_cells(f, false, head, width, 7);
			any = true;
		}
		rate = mig_fig(run, r, "rate");
		conv = mig_fig(run, r, "converged");
		rounds = mig_fig(run, r, "rounds");
		total = mig_fig(run, r, "total");
		gap = mig_fig(run, r, "guest-gap");
		for (size_t k = 0; conv && k < conv->n; k++)
			ok += conv->samples[k] > 0.5;
		snprintf(c[0], sizeof(c[0]), "%u", r);
		mig_num(c[1], sizeof(c[1]), rate ? rate->sum.median : NAN, true);
		snprintf(c[2], sizeof(c[2]), "%zu of %zu", ok, conv ? conv->n : 0);
		mig_num(c[3], sizeof(c[3]), rounds ? rounds->sum.median : NAN, true);
		mig_num(m, sizeof(m), s->sum.median, false);
		mig_num(lo, sizeof(lo), s->sum.min, false);
		mig_num(hi, sizeof(hi), s->sum.max, false);
		snprintf(c[4], sizeof(c[4]), "%s [%s, %s]", m, lo, hi);
		mig_num(c[5], sizeof(c[5]), total ? total->sum.median : NAN, false);
		mig_num(c[6], sizeof(c[6]), gap ? gap->sum.median : NAN, false);
		mig_cells(f, html, (const char *const[]){ c[0], c[1], c[2], c[3], c[4], c[5], c[6] }, width, 7);
	}
	if (!any)
		return;
	if (html)
		fputs("</table>\n", f);
	if (report_migrate_limit(run, &limit, &highest)) {
		size_t used = (size_t)snprintf(text, sizeof(text), "Pre-copy stops converging at %g MB/s: the lowest "
					       "dirty rate tried at which most runs did not converge", limit);
		const struct bench_series *below = NULL;
		unsigned below_rate = 0;

		/* how close the rates tried pin it: the one below it */
		for (size_t i = 0; i < run->nr_series; i++) {
			const struct bench_series *s = &run->series[i];
			unsigned r;
			int end = 0;

			if (!strcmp(s->suite, "migrate") && !strcmp(s->mode, "xenith") && s->n &&
			    sscanf(s->name, "dirty-%u-converged%n", &r, &end) == 1 && !s->name[end] && r < limit &&
			    r > below_rate) {
				below = s;
				below_rate = r;
			}
		}
		if (below) {
			size_t ok = 0;

			for (size_t k = 0; k < below->n; k++)
				ok += below->samples[k] > 0.5;
			used += (size_t)snprintf(text + used, sizeof(text) - used, "; at %u MB/s, the rate below it "
						 "tried, %zu of %zu converged", below_rate, ok, below->n);
		}
		if (used < sizeof(text))
			snprintf(text + used, sizeof(text) - used, " (a 256 MiB domain writing 64 MiB; `xenith migrate`'s "
				 "defaults: stop and copy once the rest would go in 5 ms, else after 30 rounds or 3 in "
				 "which the dirty pages did not shrink).");
	} else
		snprintf(text, sizeof(text), "Pre-copy converged at every dirty rate tried: the rate at which it stops "
			 "is above the highest tried, %g MB/s.", highest);
	mig_sentence(f, html, text);
}

void report_migrate(FILE *f, const struct bench_run *run, bool html)
{
	static const char *const head[] = { "figure (unit)", "median", "min", "max", "n", "read against" };
	static const char *const idle[][2] = {
		{ "idle-64M", "migrate idle 64M" }, { "idle-1G", "migrate idle 1G" },
	};
	bool any = false;

	for (size_t i = 0; i < run->nr_series && !any; i++)
		any = !strcmp(run->series[i].suite, "migrate");
	if (!any)
		return;
	if (html) {
		fputs("<h2>migrate</h2>\n<p>Save, restore and live migration through the commands (<code>xenith "
		      "save</code>, <code>restore</code>, <code>migrate</code> to a <code>migrate-receive</code> on "
		      "127.0.0.1), each domain in run directories of its own; the figures are the commands' own. "
		      "The restore is paired with a cold boot of the same domain, both timed from their exec to "
		      "their vCPU running.</p>\n<table class=\"mig\"><tr><th>figure (unit)</th><th>median</th>"
		      "<th>min</th><th>max</th><th>n</th><th>read against</th></tr>\n", f);
	} else {
		fprintf(f, "\n%-8s save, restore and live migration through the commands (the figures are "
			"theirs)\n", "migrate");
		mig_cells(f, false, head, mig_fig_width, 6);
	}
	mig_figure(f, html, run, "save-64M-paused", "xenith", "save 64M: paused", 0,
		   "the stream written to a file and synced (the run's note says where)");
	mig_figure(f, html, run, "to-running-64M", "restore", "restore 64M: exec to running", MIG_TARGET_RESTORE_MS,
		   mig_restore_anchor);
	mig_figure(f, html, run, "to-running-64M", "boot", "cold boot 64M: exec to running", 0,
		   "the in-run baseline");
	mig_figure(f, html, run, "to-running-64M", "ratio", "restore / cold boot, pairs", 0, NULL);
	mig_figure(f, html, run, "restore-64M-build", "xenith", "restore 64M: domain built", 0, NULL);
	mig_figure(f, html, run, "restore-64M-load", "xenith", "restore 64M: stream loaded", 0, NULL);
	for (size_t k = 0; k < sizeof(idle) / sizeof(idle[0]); k++) {
		static const char *const figs[][3] = {
			{ "downtime", "downtime", NULL }, { "guest-gap", "guest-seen gap", "largest gap less 1 ms" },
			{ "total", "in all", NULL }, { "pages", "pages sent", NULL },
			{ "rounds", "dirty rounds", NULL },
		};

		for (size_t j = 0; j < sizeof(figs) / sizeof(figs[0]); j++) {
			char name[48], label[64];
			bool target = !strcmp(idle[k][0], "idle-64M") && !strcmp(figs[j][0], "downtime");

			snprintf(name, sizeof(name), "%s-%s", idle[k][0], figs[j][0]);
			snprintf(label, sizeof(label), "%s: %s", idle[k][1], figs[j][1]);
			mig_figure(f, html, run, name, "xenith", label, target ? MIG_TARGET_DOWNTIME_MS : 0,
				   figs[j][2]);
		}
	}
	mig_logs(f, html, run);
	if (html)
		fputs("</table>\n", f);
	mig_dirty(f, html, run);
	mig_sentence(f, html, mig_downtime_anchors);
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
	      "svg text{font:12px sans-serif}.t{font-weight:bold}.b1{fill:#3b6ea5}.b2{fill:#e0a030}.b3{fill:#50a050}"
	      ".ref{stroke:#c00;stroke-dasharray:4 3}.rl{fill:#c00}.ax{stroke:#444}.grid{stroke:#ddd}.v{fill:#222}"
	      ".err{stroke:#111;stroke-width:1.2}.g{fill:#555}.tick{font-size:10px}.guide{color:#444;margin-top:0}"
	      "polyline{fill:none;stroke-width:2}.l1{stroke:#3b6ea5}.l2{stroke:#e0a030}.l3{stroke:#50a050}"
	      ".l4{stroke:#a050a0}circle.l1,text.l1{fill:#3b6ea5}circle.l2,text.l2{fill:#e0a030}"
	      "circle.l3,text.l3{fill:#50a050}circle.l4,text.l4{fill:#a050a0}text{stroke:none}figure{margin:1em 0 0}"
	      "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
	      "td:nth-child(-n+4){text-align:left}table.env th{text-align:left}table.env td{text-align:left}"
	      ".bad{color:#c00;font-weight:bold}.cp{stroke:#c00;stroke-dasharray:5 3}.cpl{fill:#c00}"
	      ".warn{color:#a00}table.mig td{text-align:right}table.mig td:first-child,table.mig td:last-child"
	      "{text-align:left}</style></head><body>\n<h1>Xenith benchmark</h1>\n<p>", f);
	html_text(f, run->id);
	fputs("<br>", f);
	html_text(f, run->env.cpu_model);
	fputs(", ", f);
	html_text(f, run->env.kernel);
	fputs(", KVM module ", f);
	html_text(f, run->env.kvm_module);
	fprintf(f, ", %s run, %u repetitions, %.0f s</p>\n", run->quick ? "quick" : "full", run->repeat,
		run->duration_s);
	report_warnings(f, run);
	report_compute_chart(f, run);
	report_memory_chart(f, run);
	report_exit_chart(f, run);
	report_blk_charts(f, run);
	report_prof_chart(f, run);
	report_migrate(f, run, true);
	density_charts(f, run);
	soak_charts(f, run);
	noise_section(f, run);
	history_charts(f, run, history, nr_history);
	report_environment(f, run);
	table(f, run);
	fputs("</body></html>\n", f);
	return fs_atomic_commit(f, tmp, path, eb);
}

int report_write_github(const struct bench_run *run, const char *path, bool bigger_is_better,
			struct errbuf *eb)
{
	json_t *list = json_array();
	bool ok = list != NULL;

	for (size_t i = 0; ok && i < run->nr_series; i++) {
		const struct bench_series *s = &run->series[i];
		char name[96], range[64], extra[64];
		json_t *o;

		/* The tool compares one direction per file: export the series that match it. */
		if (s->higher_is_better != bigger_is_better || !isfinite(s->sum.median))
			continue;
		snprintf(name, sizeof(name), "%s/%s (%s)", s->suite, s->name, s->mode);
		if (isfinite(s->ratio_lo) && isfinite(s->ratio_hi)) /* a ratio series: its pairs' interval */
			snprintf(range, sizeof(range), "95%% CI %.4g .. %.4g", s->ratio_lo, s->ratio_hi);
		else
			snprintf(range, sizeof(range), "p5 %.4g .. p95 %.4g", s->sum.p5, s->sum.p95);
		snprintf(extra, sizeof(extra), "n=%zu cv=%.2f%%", s->sum.n, 100 * s->sum.cv);
		o = json_pack("{s:o, s:o, s:f, s:s, s:s}", "name", jval_str(name), "unit", jval_str(s->unit),
			      "value", s->sum.median, "range", range, "extra", extra);
		ok = json_array_append_new(list, o) == 0;
	}
	if (!ok) {
		json_decref(list);
		list = NULL; /* jval_write_file: out of memory */
	}
	/* value: 6 significant digits, as the dashboards always got */
	return jval_write_file(list, path, JSON_INDENT(2) | JSON_REAL_PRECISION(6), eb);
}

static void om_label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s == '\n' ? ' ' : *s, f);
	}
}

void report_openmetrics(FILE *f, const struct bench_run *run)
{
	/* ci95_lo, ci95_hi: ratio series only (their pairs' 95% interval) */
	static const char *const stats[] = { "median", "p5", "p95", "cv", "ci95_lo", "ci95_hi" };

	fputs("# TYPE xenith_bench gauge\n# HELP xenith_bench Xenith benchmark results by suite, case, "
	      "mode, unit and statistic.\n", f);
	for (size_t i = 0; i < run->nr_series; i++) {
		const struct bench_series *s = &run->series[i];
		double v[] = { s->sum.median, s->sum.p5, s->sum.p95, s->sum.cv, s->ratio_lo, s->ratio_hi };

		for (int k = 0; k < 6; k++) {
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
}

int report_write_openmetrics(const struct bench_run *run, const char *path, struct errbuf *eb)
{
	char tmp[4200];
	FILE *f = fs_atomic_open(path, tmp, sizeof(tmp), eb);

	if (!f)
		return -EIO;
	report_openmetrics(f, run);
	return fs_atomic_commit(f, tmp, path, eb);
}
