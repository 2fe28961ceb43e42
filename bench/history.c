// SPDX-License-Identifier: MIT
#include "history.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool history_selected(const char *suite, const char *name, const char *const *filters, size_t nr_filters)
{
	size_t sl = strlen(suite);

	if (nr_filters == 0)
		return true;
	for (size_t i = 0; i < nr_filters; i++) {
		const char *f = filters[i];

		if (strncmp(f, suite, sl))
			continue;
		if (f[sl] == 0 || (f[sl] == '/' && !strcmp(f + sl + 1, name)))
			return true;
	}
	return false;
}

const struct history_series *history_find(const struct history *h, const char *suite, const char *name,
					  const char *mode)
{
	for (size_t i = 0; i < h->nr_series; i++) {
		const struct history_series *s = &h->series[i];

		if (!strcmp(s->suite, suite) && !strcmp(s->name, name) && !strcmp(s->mode, mode))
			return s;
	}
	return NULL;
}

struct dated {
	const struct bench_run *run;
	size_t order;
};

/* By date (ISO 8601 sorts as text), then by the order given: a stable sort. */
static int cmp_date(const void *a, const void *b)
{
	const struct dated *x = a, *y = b;
	int c = strcmp(x->run->env.date, y->run->env.date);

	return c ? c : (x->order > y->order) - (x->order < y->order);
}

static struct history_series *add_series(struct history *h, const struct bench_series *s, size_t *cap)
{
	struct history_series *hs;

	if (h->nr_series == *cap) {
		size_t nc = *cap ? 2 * *cap : 32;
		struct history_series *v = realloc(h->series, nc * sizeof(*v));

		if (!v)
			return NULL;
		h->series = v;
		*cap = nc;
	}
	hs = &h->series[h->nr_series++];
	memset(hs, 0, sizeof(*hs));
	snprintf(hs->suite, sizeof(hs->suite), "%s", s->suite);
	snprintf(hs->name, sizeof(hs->name), "%s", s->name);
	snprintf(hs->mode, sizeof(hs->mode), "%s", s->mode);
	snprintf(hs->unit, sizeof(hs->unit), "%s", s->unit);
	hs->higher_is_better = s->higher_is_better;
	return hs;
}

int history_build(const struct bench_run *const *runs, size_t n, const char *const *filters,
		  size_t nr_filters, const struct cp_opts *o, struct history *h)
{
	struct dated *d = calloc(n ? n : 1, sizeof(*d));
	double *y = calloc(n ? n : 1, sizeof(*y));
	size_t cap = 0;
	int r = 0;

	memset(h, 0, sizeof(*h));
	if (!d || !y) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		d[i].run = runs[i];
		d[i].order = i;
	}
	qsort(d, n, sizeof(*d), cmp_date);
	h->runs = calloc(n ? n : 1, sizeof(*h->runs));
	if (!h->runs) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		h->runs[i] = d[i].run;
	h->nr_runs = n;
	/* the series, in the order they first appear */
	for (size_t i = 0; i < n; i++) {
		const struct bench_run *run = d[i].run;

		for (size_t k = 0; k < run->nr_series; k++) {
			const struct bench_series *s = &run->series[k];

			if (!history_selected(s->suite, s->name, filters, nr_filters) ||
			    history_find(h, s->suite, s->name, s->mode))
				continue;
			if (!add_series(h, s, &cap)) {
				r = -ENOMEM;
				goto out;
			}
		}
	}
	for (size_t k = 0; k < h->nr_series; k++) {
		struct history_series *hs = &h->series[k];
		int found;

		hs->points = calloc(n, sizeof(*hs->points));
		if (!hs->points) {
			r = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			const struct bench_series *s = bench_run_find(d[i].run, hs->suite, hs->name, hs->mode);

			if (!s || !isfinite(s->sum.median))
				continue;
			hs->points[hs->nr_points].run = d[i].run;
			hs->points[hs->nr_points].median = s->sum.median;
			hs->points[hs->nr_points].n = s->sum.n;
			y[hs->nr_points++] = s->sum.median;
		}
		found = cp_detect(y, hs->nr_points, o, hs->changes, HISTORY_MAX_CHANGES);
		if (found < 0) {
			r = found;
			goto out;
		}
		hs->nr_changes = (size_t)found;
	}
out:
	free(d);
	free(y);
	if (r < 0)
		history_free(h);
	return r;
}

void history_free(struct history *h)
{
	for (size_t i = 0; i < h->nr_series; i++)
		free(h->series[i].points);
	free(h->series);
	free(h->runs);
	memset(h, 0, sizeof(*h));
}
