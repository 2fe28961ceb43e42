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

/*
 * Ranks of the pooled samples, doubled so that midranks of ties stay
 * integers: the value at sorted positions i..j (0-based) gets i + j + 2.
 * Returns the doubled rank sum of group `grp`; *tie_term = sum of t^3 - t
 * over the tie groups (for the normal approximation).  w[] receives the
 * doubled rank of every pooled value, in sorted order.
 */
static long rank_pooled(struct ranked *r, size_t n, int grp, long *w, double *tie_term)
{
	long sum = 0;

	qsort(r, n, sizeof(*r), cmp_ranked);
	*tie_term = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j + 1 < n && r[j + 1].v == r[i].v)
			j++;
		for (size_t k = i; k <= j; k++) {
			w[k] = (long)(i + j + 2);
			if (r[k].group == grp)
				sum += w[k];
		}
		*tie_term += pow((double)(j - i + 1), 3) - (double)(j - i + 1);
		i = j + 1;
	}
	return sum;
}

/* Cells the counting table of mw_exact_p visits: n items x k chosen x sums. */
static bool mw_exact_fits(size_t n, size_t k)
{
	double maxsum = 2.0 * (double)n * (double)k;

	return (double)n * (double)k * maxsum <= 3e8;
}

/*
 * The exact conditional distribution of the doubled rank sum of k items
 * chosen among n with doubled ranks w[0..n): cnt[j][s] counts the subsets
 * of j items seen so far whose sum is s, item by item (the standard
 * recursion; with w = 2, 4, .. 2n it is the Mann-Whitney U distribution).
 * Returns the count of subsets of size k for every sum in dist[0..maxsum],
 * or NULL when out of memory.  The caller frees.
 */
static double *mw_count_sums(const long *w, size_t n, size_t k, size_t *maxsum_out)
{
	size_t maxsum = 0, reach = 0;
	double *cnt;

	/* w is ascending (sorted ranks): no subset of k sums to more than the last k */
	for (size_t i = n - k; i < n; i++)
		maxsum += (size_t)w[i];
	cnt = calloc((k + 1) * (maxsum + 1), sizeof(*cnt));
	if (!cnt)
		return NULL;
	cnt[0] = 1;
	for (size_t i = 0; i < n; i++) {
		size_t wi = (size_t)w[i], top;

		reach += wi;
		top = (reach < maxsum ? reach : maxsum) - wi; /* the largest sum to extend */
		for (size_t j = (i + 1 < k ? i + 1 : k); j >= 1; j--) {
			double *to = cnt + j * (maxsum + 1), *from = cnt + (j - 1) * (maxsum + 1);

			for (size_t s = top + 1; s-- > 0;)
				if (from[s] != 0)
					to[s + wi] += from[s];
		}
	}
	memmove(cnt, cnt + k * (maxsum + 1), (maxsum + 1) * sizeof(*cnt));
	*maxsum_out = maxsum;
	return cnt;
}

/* Two-sided exact p of the doubled rank sum `obs` of k of n items with doubled ranks w. */
static double mw_exact_p(const long *w, size_t n, size_t k, long obs)
{
	size_t maxsum;
	double *dist = mw_count_sums(w, n, k, &maxsum), total = 0, tail = 0;
	long mean2 = (long)k * (long)(n + 1); /* doubled mean of the rank sum */
	long dev = labs(obs - mean2);

	if (!dist)
		return NAN;
	for (size_t s = 0; s <= maxsum; s++) {
		total += dist[s];
		if (labs((long)s - mean2) >= dev)
			tail += dist[s];
	}
	free(dist);
	return total > 0 ? fmin(1.0, tail / total) : 1.0;
}

/* The normal approximation with tie and continuity correction (large samples only). */
static double mw_normal_p(size_t na, size_t nb, double rank_sum_a, double tie_term)
{
	double n = (double)(na + nb);
	double u = rank_sum_a - (double)na * ((double)na + 1) / 2.0;
	double mu = (double)na * (double)nb / 2.0;
	double sigma = sqrt((double)na * (double)nb / 12.0 * ((n + 1) - tie_term / (n * (n - 1))));
	double z;

	if (sigma == 0)
		return 1.0;
	z = (fabs(u - mu) - 0.5) / sigma; /* continuity correction toward the mean */
	if (z < 0)
		z = 0;
	return erfc(z / sqrt(2.0));
}

double stats_mann_whitney_p(const double *a, size_t na, const double *b, size_t nb)
{
	size_t n = na + nb, k = na < nb ? na : nb;
	struct ranked *r = malloc((n ? n : 1) * sizeof(*r));
	long *w = malloc((n ? n : 1) * sizeof(*w));
	int small = na <= nb ? 0 : 1; /* the group whose rank sum is counted */
	double tie_term, p;
	long sum2;

	if (!r || !w || na == 0 || nb == 0) {
		free(r);
		free(w);
		return 1.0;
	}
	for (size_t i = 0; i < na; i++)
		r[i] = (struct ranked){ a[i], 0 };
	for (size_t i = 0; i < nb; i++)
		r[na + i] = (struct ranked){ b[i], 1 };
	sum2 = rank_pooled(r, n, small, w, &tie_term);
	if (k <= STATS_EXACT_MAX && mw_exact_fits(n, k)) {
		p = mw_exact_p(w, n, k, sum2);
	} else {
		double sum_a2 = small == 0 ? (double)sum2 : (double)n * (double)(n + 1) - (double)sum2;

		p = mw_normal_p(na, nb, sum_a2 / 2.0, tie_term);
	}
	free(r);
	free(w);
	return isnan(p) ? 1.0 : p;
}

double stats_mw_min_p(size_t na, size_t nb)
{
	size_t n = na + nb, k = na < nb ? na : nb;
	double c = 1;

	if (k == 0)
		return 1.0;
	for (size_t i = 1; i <= k; i++)
		c = c * (double)(n - k + i) / (double)i; /* C(n, k) */
	return fmin(1.0, 2.0 / c);
}

/* The normal quantile: z with P(Z > z) = q, by bisection on erfc (q in (0, 0.5]). */
static double upper_quantile(double q)
{
	double lo = 0, hi = 40;

	for (int i = 0; i < 200; i++) {
		double mid = (lo + hi) / 2;

		if (0.5 * erfc(mid / sqrt(2.0)) > q)
			lo = mid;
		else
			hi = mid;
	}
	return (lo + hi) / 2;
}

static uint64_t splitmix(uint64_t *s);

#define POWER 0.8
#define POWER_TRIALS 4000u

/* Fraction of the trials whose doubled rank sum of the shifted sample lies in reject[]. */
static double mw_power(const double *za, size_t na, const double *zb, size_t nb, double shift,
		       const bool *reject)
{
	unsigned hits = 0;

	for (unsigned t = 0; t < POWER_TRIALS; t++) {
		const double *x = za + (size_t)t * na, *y = zb + (size_t)t * nb;
		long u = 0;

		for (size_t i = 0; i < na; i++)
			for (size_t j = 0; j < nb; j++)
				u += x[i] < y[j] + shift; /* the pairs the shifted sample wins */
		/* doubled rank sum of the shifted sample: 2U + nb(nb + 1) */
		hits += reject[2 * u + (long)nb * (long)(nb + 1)];
	}
	return (double)hits / POWER_TRIALS;
}

static double normal_draw(uint64_t *seed)
{
	double u1 = ((double)(splitmix(seed) >> 11) + 0.5) / 9007199254740992.0;
	double u2 = ((double)(splitmix(seed) >> 11) + 0.5) / 9007199254740992.0;

	return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

static double mw_detectable_exact(size_t na, size_t nb, double alpha)
{
	size_t n = na + nb, maxsum;

	if (nb > na) { /* the two-sided test is symmetric: shift the smaller sample, count its rank sum */
		size_t t = na;

		na = nb;
		nb = t;
	}
	long *w = malloc(n * sizeof(*w)), mean2 = (long)nb * (long)(n + 1);
	double *dist = NULL, *za = NULL, *zb = NULL, total = 0, lo = 0, hi = 1, result = NAN;
	bool *reject = NULL;
	uint64_t seed = 0xd37ec7ab1eull;

	if (!w)
		goto out;
	for (size_t i = 0; i < n; i++)
		w[i] = 2 * (long)(i + 1);
	dist = mw_count_sums(w, n, nb, &maxsum);
	reject = calloc(maxsum + 1, sizeof(*reject));
	za = malloc(POWER_TRIALS * na * sizeof(*za));
	zb = malloc(POWER_TRIALS * nb * sizeof(*zb));
	if (!dist || !reject || !za || !zb)
		goto out;
	for (size_t s = 0; s <= maxsum; s++)
		total += dist[s];
	/* reject[s]: the two-sided exact p of rank sum s is below alpha */
	for (size_t s = 0; s <= maxsum; s++) {
		double tail = 0;
		long dev = labs((long)s - mean2);

		if (dist[s] == 0)
			continue;
		for (size_t t = 0; t <= maxsum; t++)
			if (labs((long)t - mean2) >= dev)
				tail += dist[t];
		reject[s] = tail / total < alpha;
	}
	for (size_t i = 0; i < POWER_TRIALS * na; i++)
		za[i] = normal_draw(&seed);
	for (size_t i = 0; i < POWER_TRIALS * nb; i++)
		zb[i] = normal_draw(&seed);
	/* the same draws at every shift: power grows with the shift, so bisection is sound */
	while (mw_power(za, na, zb, nb, hi, reject) < POWER) {
		hi *= 2;
		if (hi > 64) {
			result = INFINITY;
			goto out;
		}
	}
	for (int i = 0; i < 30; i++) {
		double mid = (lo + hi) / 2;

		if (mw_power(za, na, zb, nb, mid, reject) < POWER)
			lo = mid;
		else
			hi = mid;
	}
	result = hi;
out:
	free(w);
	free(dist);
	free(reject);
	free(za);
	free(zb);
	return result;
}

double stats_mw_detectable_sd(size_t na, size_t nb, double alpha)
{
	/* Memoized: a compare asks for the same few (na, nb, alpha) for every case. */
	static struct {
		size_t na, nb;
		double alpha, sd;
	} memo[16];
	static unsigned next;
	size_t k = na < nb ? na : nb, n = na + nb;
	double sd;

	if (na == 0 || nb == 0 || stats_mw_min_p(na, nb) >= alpha)
		return INFINITY;
	for (unsigned i = 0; i < 16; i++)
		if (memo[i].na == na && memo[i].nb == nb && memo[i].alpha == alpha)
			return memo[i].sd;
	if (k <= STATS_EXACT_MAX && mw_exact_fits(n, k) && na * nb <= 2500) {
		sd = mw_detectable_exact(na, nb, alpha);
	} else {
		/* normal theory: a t test needs (z_a/2 + z_power) sqrt(1/na + 1/nb); MW 3/pi as efficient */
		sd = (upper_quantile(alpha / 2) + upper_quantile(1 - POWER)) *
		     sqrt(1.0 / (double)na + 1.0 / (double)nb) * sqrt(M_PI / 3);
	}
	if (isnan(sd))
		return INFINITY;
	memo[next % 16].na = na;
	memo[next % 16].nb = nb;
	memo[next % 16].alpha = alpha;
	memo[next % 16].sd = sd;
	next++;
	return sd;
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

/*
 * The order statistic k (1-based) of the na * nb pairwise differences that
 * bounds the distribution-free 1 - level interval: one more than the
 * largest u with P(U <= u) <= level / 2 under the null; 0 when no u is
 * (too few samples: the interval is unbounded).
 */
static size_t mw_interval_rank(size_t na, size_t nb, double level)
{
	size_t n = na + nb, k = na < nb ? na : nb;

	if (k <= STATS_EXACT_MAX && mw_exact_fits(n, k)) {
		long *w = malloc(n * sizeof(*w));
		size_t maxsum, found = 0;
		double *dist, total = 0, cum = 0;
		long base = (long)k * (long)(k + 1); /* doubled rank sum at U = 0 */

		if (!w)
			return 0;
		for (size_t i = 0; i < n; i++)
			w[i] = 2 * (long)(i + 1);
		dist = mw_count_sums(w, n, k, &maxsum);
		free(w);
		if (!dist)
			return 0;
		for (size_t s = 0; s <= maxsum; s++)
			total += dist[s];
		/* U = (S2 - base) / 2: walk U upwards while the lower tail stays within level / 2 */
		for (size_t s = (size_t)base; s <= maxsum; s += 2) {
			cum += dist[s];
			if (cum / total > level / 2)
				break;
			found = (s - (size_t)base) / 2 + 1;
		}
		free(dist);
		return found;
	}
	{
		double nn = (double)na * (double)nb;
		double c = nn / 2 - upper_quantile(level / 2) * sqrt(nn * (double)(n + 1) / 12);

		return c < 1 ? 0 : (size_t)floor(c);
	}
}

int stats_ratio_interval(const double *a, size_t na, const double *b, size_t nb, double level, double *lo,
			 double *hi)
{
	size_t nn = na * nb, k;
	double *d;

	*lo = *hi = NAN;
	if (na == 0 || nb == 0)
		return -1;
	for (size_t i = 0; i < na; i++)
		if (!(a[i] > 0))
			return -1;
	for (size_t j = 0; j < nb; j++)
		if (!(b[j] > 0))
			return -1;
	d = malloc(nn * sizeof(*d));
	if (!d)
		return -1;
	for (size_t i = 0; i < na; i++)
		for (size_t j = 0; j < nb; j++)
			d[i * nb + j] = log(b[j]) - log(a[i]);
	qsort(d, nn, sizeof(*d), cmp_double);
	k = mw_interval_rank(na, nb, level);
	if (k == 0 || k > nn) {
		*lo = 0;
		*hi = INFINITY;
	} else {
		*lo = exp(d[k - 1]);
		*hi = exp(d[nn - k]);
	}
	free(d);
	return 0;
}

/*
 * The regularized incomplete beta function I_x(a, b), by its continued
 * fraction (modified Lentz), on the side of x where it converges fast.
 */
static double beta_cf(double x, double a, double b)
{
	const double tiny = 1e-300;
	double c = 1, d = 1 - (a + b) * x / (a + 1), h;

	d = 1 / (fabs(d) < tiny ? tiny : d);
	h = d;
	for (int m = 1; m <= 300; m++) {
		double m2 = 2.0 * m, num, del;

		num = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
		d = 1 + num * d;
		c = 1 + num / c;
		d = 1 / (fabs(d) < tiny ? tiny : d);
		c = fabs(c) < tiny ? tiny : c;
		h *= d * c;
		num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
		d = 1 + num * d;
		c = 1 + num / c;
		d = 1 / (fabs(d) < tiny ? tiny : d);
		c = fabs(c) < tiny ? tiny : c;
		del = d * c;
		h *= del;
		if (fabs(del - 1) < 1e-14)
			break;
	}
	return h;
}

static double incomplete_beta(double x, double a, double b)
{
	double front;

	if (x <= 0)
		return 0;
	if (x >= 1)
		return 1;
	front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x));
	if (x < (a + 1) / (a + b + 2))
		return front * beta_cf(x, a, b) / a;
	return 1 - front * beta_cf(1 - x, b, a) / b;
}

double stats_student_sf(double t, double df)
{
	double tail;

	if (isnan(t) || !(df > 0))
		return NAN;
	if (isinf(t))
		return t > 0 ? 0 : 1;
	tail = 0.5 * incomplete_beta(df / (df + t * t), df / 2, 0.5); /* P(T > |t|) */
	return t >= 0 ? tail : 1 - tail;
}

double stats_student_upper(double q, double df)
{
	double lo = 0, hi = 1;

	if (!(q > 0 && q <= 0.5) || !(df > 0))
		return NAN;
	while (stats_student_sf(hi, df) > q && hi < 1e6)
		hi *= 2;
	for (int i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
		double mid = (lo + hi) / 2;

		if (stats_student_sf(mid, df) > q)
			lo = mid;
		else
			hi = mid;
	}
	return (lo + hi) / 2;
}

/* The verdict from the ratio, its interval and p (the rules in stats.h). */
static void decide(struct comparison *c, bool higher_is_better, double alpha, double min_effect)
{
	if (c->p < alpha && isfinite(c->ratio) && fabs(c->ratio - 1) >= min_effect) {
		c->verdict = VERDICT_DIFFERENT;
		c->faster = (c->ratio > 1) == higher_is_better;
	} else if (c->ci_lo >= 1 - min_effect && c->ci_hi <= 1 + min_effect) {
		c->verdict = VERDICT_SAME;
	} else {
		c->verdict = VERDICT_UNKNOWN;
	}
}

void stats_compare(const double *base, size_t nb, const double *cur, size_t nc, bool higher_is_better,
		   double alpha, double min_effect, struct comparison *out)
{
	struct summary sb, sc;
	double pooled;

	stats_summarize(base, nb, &sb);
	stats_summarize(cur, nc, &sc);
	memset(out, 0, sizeof(*out));
	out->ratio = sb.median != 0 ? sc.median / sb.median : NAN;
	if (stats_ratio_interval(base, nb, cur, nc, 0.05, &out->ci_lo, &out->ci_hi) < 0)
		stats_bootstrap_ratio(base, nb, cur, nc, 2000, 0.05, &out->ci_lo, &out->ci_hi);
	out->p = stats_mann_whitney_p(base, nb, cur, nc);
	pooled = nb + nc > 2 ? sqrt(((double)(nb - 1) * sb.stddev * sb.stddev +
				     (double)(nc - 1) * sc.stddev * sc.stddev) / (double)(nb + nc - 2))
			     : NAN;
	out->detectable = sb.median != 0 && isfinite(pooled)
				  ? stats_mw_detectable_sd(nb, nc, alpha) * pooled / fabs(sb.median)
				  : INFINITY;
	if (isnan(out->detectable)) /* 0 spread times an unreachable shift */
		out->detectable = INFINITY;
	decide(out, higher_is_better, alpha, min_effect);
}

void stats_compare_runs(const double *base, size_t nb, const double *cur, size_t nc, bool higher_is_better,
			double alpha, double min_effect, double run_sd, unsigned run_df, struct comparison *out)
{
	const double z975 = 1.959963985;
	double d, se_w, se, t975, p_run, t_a, t_b, det_run;

	stats_compare(base, nb, cur, nc, higher_is_better, alpha, min_effect, out);
	if (!(run_sd > 0) || run_df == 0 || !(out->ratio > 0) || !isfinite(out->ratio))
		return;
	out->run_sd = run_sd;
	d = log(out->ratio);
	/* the within-run part: the rank interval's width as a normal one's */
	se_w = out->ci_lo > 0 && isfinite(out->ci_hi) ? (log(out->ci_hi) - log(out->ci_lo)) / (2 * z975) : INFINITY;
	se = sqrt(se_w * se_w + 2 * run_sd * run_sd);
	t975 = stats_student_upper(0.025, run_df);
	p_run = isfinite(se) ? 2 * stats_student_sf(fabs(d) / se, run_df) : 1;
	out->p = fmax(out->p, p_run);
	out->ci_lo = isfinite(se) ? exp(d - t975 * se) : 0;
	out->ci_hi = isfinite(se) ? exp(d + t975 * se) : INFINITY;
	t_a = stats_student_upper(alpha / 2, run_df);
	t_b = stats_student_upper(1 - POWER, run_df);
	det_run = expm1((t_a + t_b) * sqrt(2.0) * run_sd);
	out->detectable = sqrt(out->detectable * out->detectable + det_run * det_run);
	decide(out, higher_is_better, alpha, min_effect);
}

void stats_compare_medians(const double *base, size_t kb, const double *cur, size_t kc, bool higher_is_better,
			   double alpha, double min_effect, struct comparison *out)
{
	double mb = 0, mc = 0, ss = 0, df, sd, se, d;

	memset(out, 0, sizeof(*out));
	out->ratio = NAN;
	out->ci_lo = 0;
	out->ci_hi = INFINITY;
	out->p = 1;
	out->detectable = INFINITY;
	out->verdict = VERDICT_UNKNOWN;
	if (kb == 0 || kc == 0 || kb + kc < 3)
		return;
	for (size_t i = 0; i < kb; i++) {
		if (!(base[i] > 0))
			return;
		mb += log(base[i]) / (double)kb;
	}
	for (size_t i = 0; i < kc; i++) {
		if (!(cur[i] > 0))
			return;
		mc += log(cur[i]) / (double)kc;
	}
	for (size_t i = 0; i < kb; i++)
		ss += (log(base[i]) - mb) * (log(base[i]) - mb);
	for (size_t i = 0; i < kc; i++)
		ss += (log(cur[i]) - mc) * (log(cur[i]) - mc);
	df = (double)(kb + kc - 2);
	sd = sqrt(ss / df);
	se = sd * sqrt(1.0 / (double)kb + 1.0 / (double)kc);
	d = mc - mb;
	out->ratio = exp(d);
	out->run_sd = sd;
	if (se > 0) {
		double t975 = stats_student_upper(0.025, df);

		out->p = 2 * stats_student_sf(fabs(d) / se, df);
		out->ci_lo = exp(d - t975 * se);
		out->ci_hi = exp(d + t975 * se);
		out->detectable = expm1((stats_student_upper(alpha / 2, df) + stats_student_upper(1 - POWER, df)) * se);
	} else { /* every run of both sides the same: nothing varies but the difference */
		out->p = d != 0 ? 0 : 1;
		out->ci_lo = out->ci_hi = out->ratio;
		out->detectable = 0;
	}
	decide(out, higher_is_better, alpha, min_effect);
}

bool stats_runs_undecidable(const struct comparison *c, double alpha, double min_effect, unsigned run_df)
{
	double d, se;

	if (!(c->run_sd > 0) || run_df == 0 || !(c->ratio > 0) || !isfinite(c->ratio))
		return false;
	d = fabs(log(c->ratio));
	se = sqrt(2.0) * c->run_sd;
	/* never different: p stays >= alpha; never same: the interval stays wider than the band */
	return d < stats_student_upper(alpha / 2, run_df) * se &&
	       d + stats_student_upper(0.025, run_df) * se > log1p(min_effect);
}

const char *stats_verdict_name(const struct comparison *c)
{
	switch (c->verdict) {
	case VERDICT_SAME: return "same";
	case VERDICT_DIFFERENT: return c->faster ? "faster" : "slower";
	default: return "unknown";
	}
}
