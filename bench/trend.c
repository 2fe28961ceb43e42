// SPDX-License-Identifier: MIT
#include "trend.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

double trend_t975(unsigned df)
{
	static const double table[31] = {
		NAN, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
		2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
		2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
	};
	const double z = 1.959963985, d = (double)df;

	if (df == 0)
		return NAN;
	if (df <= 30)
		return table[df];
	/* Cornish-Fisher expansion around the normal quantile: 2.0211 at df 40, within 1e-4. */
	return z + (z * z * z + z) / (4 * d) + (5 * pow(z, 5) + 16 * z * z * z + 3 * z) / (96 * d * d) +
	       (3 * pow(z, 7) + 19 * pow(z, 5) + 17 * z * z * z - 15 * z) / (384 * d * d * d);
}

int trend_fit(const double *x, const double *y, size_t n, struct trend_fit *f)
{
	double mx = 0, my = 0, sxx = 0, sxy = 0, sse = 0, se;

	memset(f, 0, sizeof(*f));
	if (n < 3)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		mx += x[i];
		my += y[i];
	}
	mx /= (double)n;
	my /= (double)n;
	for (size_t i = 0; i < n; i++) {
		sxx += (x[i] - mx) * (x[i] - mx);
		sxy += (x[i] - mx) * (y[i] - my);
	}
	if (sxx <= 0)
		return -EINVAL;
	f->n = n;
	f->slope = sxy / sxx;
	f->intercept = my - f->slope * mx;
	for (size_t i = 0; i < n; i++) {
		double r = y[i] - (f->intercept + f->slope * x[i]);

		sse += r * r;
	}
	se = sqrt(sse / (double)(n - 2) / sxx);
	f->lo = f->slope - trend_t975((unsigned)(n - 2)) * se;
	f->hi = f->slope + trend_t975((unsigned)(n - 2)) * se;
	return 0;
}

const char *trend_rule_name(enum trend_rule r)
{
	switch (r) {
	case TREND_EXACT: return "exact";
	case TREND_SLOPE: return "slope";
	case TREND_DROP: return "drop";
	case TREND_REPORT: return "report";
	}
	return "?";
}

int trend_judge(const double *x, const double *y, size_t n, enum trend_rule rule, double limit,
		double per, struct trend_result *r)
{
	int e;

	memset(r, 0, sizeof(*r));
	e = trend_fit(x, y, n, &r->fit);
	if (e < 0)
		return e;
	r->per = per;
	r->fit.slope *= per;
	r->fit.lo *= per;
	r->fit.hi *= per;
	r->first = y[0];
	r->last = y[n - 1];
	r->min = r->max = y[0];
	for (size_t i = 1; i < n; i++) {
		r->min = y[i] < r->min ? y[i] : r->min;
		r->max = y[i] > r->max ? y[i] : r->max;
	}
	r->judged = rule != TREND_REPORT;
	r->pass = true;
	switch (rule) {
	case TREND_EXACT: {
		size_t i = 1;

		while (i < n && y[i] == y[0])
			i++;
		r->pass = i == n;
		if (r->pass)
			snprintf(r->why, sizeof(r->why), "steady at %.0f", y[0]);
		else
			snprintf(r->why, sizeof(r->why), "not steady: %.0f at cycle %.0f, %.0f at cycle %.0f "
				 "(range %.0f..%.0f)", y[0], x[0], y[i], x[i], r->min, r->max);
		break;
	}
	case TREND_SLOPE:
		r->pass = r->fit.slope <= limit;
		snprintf(r->why, sizeof(r->why), "slope %+.4g per %.0f cycles %s the limit %.4g",
			 r->fit.slope, per, r->pass ? "within" : "ABOVE", limit);
		break;
	case TREND_DROP: {
		double fall = -r->fit.slope / per * (x[n - 1] - x[0]);

		r->pass = fall <= limit;
		snprintf(r->why, sizeof(r->why), "fitted fall over the run %.4g %s the bound %.4g", fall,
			 r->pass ? "within" : "ABOVE", limit);
		break;
	}
	case TREND_REPORT:
		snprintf(r->why, sizeof(r->why), "reported, not judged");
		break;
	}
	return 0;
}
