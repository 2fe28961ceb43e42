// SPDX-License-Identifier: MIT
#include "stats.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double *sorted_copy(const double *v, size_t n)
{
	double *s = malloc((n ? n : 1) * sizeof(*s));

	if (!s)
		return NULL;
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	return s;
}

double stats_percentile_sorted(const double *sorted, size_t n, double p)
{
	double idx = p * (double)(n - 1);
	size_t lo = (size_t)floor(idx), hi = (size_t)ceil(idx);

	return sorted[lo] + (sorted[hi] - sorted[lo]) * (idx - (double)lo);
}

void stats_summarize(const double *v, size_t n, struct summary *s)
{
	double *sorted = sorted_copy(v, n), sum = 0, sq = 0;

	memset(s, 0, sizeof(*s));
	s->n = n;
	if (!sorted || n == 0) {
		free(sorted);
		return;
	}
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	s->mean = sum / (double)n;
	for (size_t i = 0; i < n; i++)
		sq += (v[i] - s->mean) * (v[i] - s->mean);
	s->stddev = n > 1 ? sqrt(sq / (double)(n - 1)) : 0;
	s->cv = s->mean != 0 ? s->stddev / fabs(s->mean) : 0;
	s->median = stats_percentile_sorted(sorted, n, 0.5);
	s->p5 = stats_percentile_sorted(sorted, n, 0.05);
	s->p95 = stats_percentile_sorted(sorted, n, 0.95);
	s->min = sorted[0];
	s->max = sorted[n - 1];
	free(sorted);
}

struct ranked {
	double v;
	int group;
};

static int cmp_ranked(const void *a, const void *b)
{
	return cmp_double(&((const struct ranked *)a)->v, &((const struct ranked *)b)->v);
}

double stats_mann_whitney_p(const double *a, size_t na, const double *b, size_t nb)
{
	size_t n = na + nb;
	struct ranked *r = malloc(n * sizeof(*r));
	double rank_sum_a = 0, tie_term = 0, u, mu, sigma, z;

	if (!r || na == 0 || nb == 0) {
		free(r);
		return 1.0;
	}
	for (size_t i = 0; i < na; i++)
		r[i] = (struct ranked){ a[i], 0 };
	for (size_t i = 0; i < nb; i++)
		r[na + i] = (struct ranked){ b[i], 1 };
	qsort(r, n, sizeof(*r), cmp_ranked);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		double avg;

		while (j + 1 < n && r[j + 1].v == r[i].v)
			j++;
		avg = ((double)i + (double)j) / 2.0 + 1.0; /* ranks are 1-based */
		for (size_t k = i; k <= j; k++)
			if (r[k].group == 0)
				rank_sum_a += avg;
		tie_term += pow((double)(j - i + 1), 3) - (double)(j - i + 1);
		i = j + 1;
	}
	free(r);
	u = rank_sum_a - (double)na * ((double)na + 1) / 2.0;
	mu = (double)na * (double)nb / 2.0;
	sigma = sqrt((double)na * (double)nb / 12.0 *
		     (((double)n + 1) - tie_term / ((double)n * ((double)n - 1))));
	if (sigma == 0)
		return 1.0;
	/* continuity correction toward the mean */
	z = (fabs(u - mu) - 0.5) / sigma;
	if (z < 0)
		z = 0;
	return erfc(z / sqrt(2.0));
}

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double resampled_median(const double *v, size_t n, double *tmp, uint64_t *seed)
{
	for (size_t i = 0; i < n; i++)
		tmp[i] = v[splitmix(seed) % n];
	qsort(tmp, n, sizeof(*tmp), cmp_double);
	return stats_percentile_sorted(tmp, n, 0.5);
}

void stats_bootstrap_ratio(const double *a, size_t na, const double *b, size_t nb, unsigned rounds,
			   double alpha, double *lo, double *hi)
{
	double *ratios = malloc(rounds * sizeof(*ratios));
	double *tmp = malloc((na > nb ? na : nb) * sizeof(*tmp));
	uint64_t seed = 0x5eed;
	unsigned k = 0;

	*lo = *hi = NAN;
	if (!ratios || !tmp || na == 0 || nb == 0) {
		free(ratios);
		free(tmp);
		return;
	}
	for (unsigned i = 0; i < rounds; i++) {
		double ma = resampled_median(a, na, tmp, &seed);
		double mb = resampled_median(b, nb, tmp, &seed);

		if (ma != 0)
			ratios[k++] = mb / ma;
	}
	if (k) {
		qsort(ratios, k, sizeof(*ratios), cmp_double);
		*lo = stats_percentile_sorted(ratios, k, alpha / 2);
		*hi = stats_percentile_sorted(ratios, k, 1 - alpha / 2);
	}
	free(ratios);
	free(tmp);
}

void stats_compare(const double *base, size_t nb, const double *cur, size_t nc, bool higher_is_better,
		   double alpha, double min_effect, struct comparison *out)
{
	struct summary sb, sc;

	stats_summarize(base, nb, &sb);
	stats_summarize(cur, nc, &sc);
	memset(out, 0, sizeof(*out));
	out->ratio = sb.median != 0 ? sc.median / sb.median : NAN;
	stats_bootstrap_ratio(base, nb, cur, nc, 2000, 0.05, &out->ci_lo, &out->ci_hi);
	out->p = stats_mann_whitney_p(base, nb, cur, nc);
	out->verdict = VERDICT_SAME;
	if (out->p < alpha && isfinite(out->ratio) && fabs(out->ratio - 1) >= min_effect) {
		bool up = out->ratio > 1;

		out->verdict = up == higher_is_better ? VERDICT_FASTER : VERDICT_SLOWER;
	}
}

const char *stats_verdict_name(enum verdict v)
{
	switch (v) {
	case VERDICT_FASTER: return "faster";
	case VERDICT_SLOWER: return "slower";
	default: return "no change";
	}
}
