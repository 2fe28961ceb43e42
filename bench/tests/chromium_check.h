/* SPDX-License-Identifier: MIT */
/*
 * report.html as headless Chromium draws it: a copy of the page with a
 * script appended (the report itself has none) is opened with --dump-dom;
 * the script looks at every chart's marks (class "mark": bars and points)
 * in the laid-out page and writes what it found into the DOM.  A mark
 * counts as drawn when its box is finite and not empty, lies inside its
 * chart's svg, has a fill that paints (not none, not transparent, visible),
 * Chromium's hit test at its centre finds it, and no filled shape other
 * than a mark lies over that centre (lines, text and other marks may).
 * The same run takes a screenshot of the whole page; a drawn mark counts as
 * painted when its box there shows its fill colour, or that of the mark
 * over its centre where marks overlap (equal values; chromium_check.c:
 * painted()).
 */
#ifndef XENITH_BENCH_TESTS_CHROMIUM_CHECK_H
#define XENITH_BENCH_TESTS_CHROMIUM_CHECK_H

#include <stddef.h>

struct drawn_chart {
	char suite[32], id[64];
	unsigned marks, drawn;
	unsigned painted;      /* of the drawn, those whose box shows their fill in the screenshot */
	char svg_size[32];     /* "WxH" in CSS pixels as laid out, or "nosvg" */
	char why[200];         /* the first mark not drawn and why; "" if all were */
	char unpainted[160];   /* the first drawn mark not seen in the screenshot; "" if none */
};

/* The chromium binary on PATH, or NULL (the caller skips, saying so). */
const char *chromium_path(void);

/*
 * Opens html_path in headless Chromium, with scratch files in workdir
 * (created; removed again before returning); fills out[0..max) and
 * returns the number of charts, or -1 with the reason in why.  *seconds:
 * how long Chromium ran.
 */
int chromium_drawn(const char *html_path, const char *workdir, struct drawn_chart *out, size_t max,
		   double *seconds, char *why, size_t why_size);

#endif
