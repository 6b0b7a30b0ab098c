/* stats_verdict.c - the comparisons of stats.h built on the tests in
 * stats.c: log ratios, paired and block comparisons, their verdicts
 * (Holm-adjusted), how many blocks a comparison needs, and the 2x2
 * interaction of two knobs. */
#include "bench/stats.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/string_table.h"

/* ---- verdicts ------------------------------------------------------------ */

int stats_log_ratios(const double *a, const double *b, size_t n, double *d, struct error *err)
{
	for (size_t i = 0; i < n; i++) {
		if (!(isfinite(a[i]) && a[i] > 0 && isfinite(b[i]) && b[i] > 0))
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "stats: pair %zu has a non-positive time (%g, %g)", i,
			                 a[i], b[i]);
		d[i] = log(b[i] / a[i]);
	}
	return 0;
}

static double pct(double x)
{
	return 100.0 * expm1(x);
}

static enum verdict classify(const struct comparison *c, double alpha)
{
	double limit = log1p(c->delta);

	if (!(c->lo == c->lo && c->hi == c->hi))
		return VERDICT_INCONCLUSIVE;
	if (c->lo > limit && c->p_adjusted < alpha)
		return VERDICT_SLOWER;
	if (c->hi < -limit)
		return VERDICT_FASTER;
	if (c->lo > -limit && c->hi < limit)
		return VERDICT_NO_CHANGE;
	return VERDICT_INCONCLUSIVE;
}

static bool all_finite(const double *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isfinite(x[i]))
			return false;
	return true;
}

static double stats_min(const double *x, size_t n)
{
	double m = x[0];

	for (size_t i = 1; i < n; i++)
		m = x[i] < m ? x[i] : m;
	return m;
}

static double stats_max(const double *x, size_t n)
{
	double m = x[0];

	for (size_t i = 1; i < n; i++)
		m = x[i] > m ? x[i] : m;
	return m;
}

void stats_compare_paired(const double *d, size_t n, double delta, double confidence, bool counted,
                          struct comparison *out)
{
	struct wilcoxon w;

	*out = (struct comparison){.n = n,
	                           .n_values = n,
	                           .method = METHOD_BLOCK_MEANS,
	                           .delta = delta,
	                           .confidence = confidence};
	out->hl = out->lo = out->hi = out->achieved = NAN;
	out->p_greater = out->p_adjusted = 1.0;
	if (counted && n >= 2 && all_finite(d, n) && delta >= 0) {
		/* A count (instructions, simulated cycles), not a time: what
		 * varies between blocks is layout jitter (a few hundred
		 * instructions for the environment's length), not sampling
		 * noise, so the interval is the range observed. */
		out->method = METHOD_RANGE;
		out->blocks_needed = 2;
		out->lo = stats_min(d, n);
		out->hi = stats_max(d, n);
		out->hl = stats_hodges_lehmann(d, n);
		out->achieved = 1.0;
		out->p_greater = out->p_adjusted = out->lo > 0 ? 0.0 : 1.0;
		out->pct = pct(out->hl);
		out->pct_lo = pct(out->lo);
		out->pct_hi = pct(out->hi);
		out->verdict = classify(out, 1.0 - confidence);
		return;
	}
	if (n == 0 || !all_finite(d, n) || !(delta >= 0) ||
	    stats_wilcoxon_ci(d, n, confidence, &out->lo, &out->hi, &out->achieved, NULL) < 0) {
		out->pct = out->pct_lo = out->pct_hi = NAN;
		out->verdict = VERDICT_INCONCLUSIVE;
		return;
	}
	out->hl = stats_hodges_lehmann(d, n);
	stats_wilcoxon_signed_rank(d, n, &w);
	out->p_greater = out->p_adjusted = w.p_greater;
	out->pct = pct(out->hl);
	out->pct_lo = pct(out->lo);
	out->pct_hi = pct(out->hi);
	out->verdict = classify(out, 1.0 - confidence);
	out->blocks_needed = stats_blocks_to_resolve(d, n, 1, delta, confidence, out->lo, out->hi);
}

size_t stats_blocks_to_resolve(const double *v, size_t n, size_t per_block, double delta,
                               double confidence, double lo, double hi)
{
	struct describe d;
	double z, half, values;
	size_t floor_values = stats_signrank_min_n(confidence);

	if (n < 2 || !(delta > 0) || per_block == 0 || floor_values == 0)
		return 0;
	half = 0.5 * log1p(delta);
	if (isfinite(lo) && isfinite(hi)) {
		/* the interval itself: its width already holds the noise, the
		 * ranks' efficiency and the discreteness at this n */
		values = ceil((double)n * pow(0.5 * (hi - lo) / half, 2.0));
	} else {
		stats_describe(v, n, &d);
		z = stats_norm_quantile(1.0 - (1.0 - confidence) / 2.0);
		values = ceil(pow(z * 1.0233267079464885 * d.stdev / half, 2.0));
	}
	if (!(values >= (double)floor_values))
		values = (double)floor_values;
	if (values > 1e9)
		values = 1e9;
	return ((size_t)values + per_block - 1) / per_block;
}

static const char *const cmp_method_names[] = {
    [METHOD_BLOCK_MEANS] = "block-means",
    [METHOD_PAIRED_RUNS] = "paired-runs",
    [METHOD_RANGE] = "range",
};

DEFINE_STRING_TABLE_TO_NAME(cmp_method_name, enum cmp_method, cmp_method_names, "unknown");

void stats_block_split(const struct block_quad *q, double *d, double *r)
{
	double ga = q->ta2 - q->ta1, gb = q->tb2 - q->tb1;

	*d = 0.5 * (q->b1 + q->b2 - q->a1 - q->a2);
	*r = (gb * (q->a1 - q->a2) - ga * (q->b1 - q->b2)) / sqrt(2.0 * (ga * ga + gb * gb));
}

bool stats_split_consistent(const double *d, const double *r, size_t n)
{
	double *dev = xcalloc(n + 1, sizeof(double)), *res = xcalloc(n + 1, sizeof(double));
	double center = stats_hodges_lehmann(d, n);
	struct mann_whitney mw;
	bool ok = true;

	for (size_t i = 0; i < n; i++) {
		dev[i] = fabs(d[i] - center);
		res[i] = fabs(r[i]);
	}
	/* y = dev shifted above x = res is the inconsistency */
	if (n >= 2 && stats_mann_whitney(res, n, dev, n, 0.95, &mw, NULL) == 0)
		ok = !(mw.p_greater < STATS_SPLIT_ALPHA);
	free(dev);
	free(res);
	return ok;
}

void stats_compare_blocks(const struct block_quad *q, size_t n, double delta, double confidence,
                          bool counted, struct comparison *out)
{
	double *d = xcalloc(n + 1, sizeof(double)), *r = xcalloc(n + 1, sizeof(double));
	double *u = xcalloc(2 * n + 1, sizeof(double));

	for (size_t i = 0; i < n; i++) {
		stats_block_split(&q[i], &d[i], &r[i]);
		u[2 * i] = d[i] + r[i];
		u[2 * i + 1] = d[i] - r[i];
	}
	if (counted || !stats_split_consistent(d, r, n)) {
		stats_compare_paired(d, n, delta, confidence, counted, out);
	} else {
		stats_compare_paired(u, 2 * n, delta, confidence, false, out);
		out->n = n;
		out->method = METHOD_PAIRED_RUNS;
		out->blocks_needed =
		    stats_blocks_to_resolve(u, 2 * n, 2, delta, confidence, out->lo, out->hi);
	}
	free(d);
	free(r);
	free(u);
}

void stats_finalize_verdicts(struct comparison *c, size_t m, double alpha)
{
	double *p = xcalloc(m, sizeof(*p));

	for (size_t i = 0; i < m; i++)
		p[i] = c[i].p_greater;
	stats_holm(p, m, p);
	for (size_t i = 0; i < m; i++) {
		c[i].p_adjusted = p[i];
		c[i].verdict = classify(&c[i], alpha);
	}
	free(p);
}

static const char *const verdict_names[] = {
    [VERDICT_SLOWER] = "slower",
    [VERDICT_NO_CHANGE] = "no-change",
    [VERDICT_FASTER] = "faster",
    [VERDICT_INCONCLUSIVE] = "inconclusive",
};

DEFINE_STRING_TABLE_TO_NAME(verdict_name, enum verdict, verdict_names, "unknown");

/* ---- 2x2 interaction ----------------------------------------------------- */

static enum interaction_class classify_interaction(const struct interaction *it, double delta)
{
	double limit = log1p(delta);

	if (it->lo > -limit && it->hi < limit)
		return INTERACTION_ADDITIVE;
	if (it->lo > limit || it->hi < -limit)
		return INTERACTION_INTERACTING;
	return INTERACTION_UNCLEAR;
}

int stats_interaction(const double *t00, const double *t01, const double *t10, const double *t11,
                      size_t n, double delta, double confidence, bool counted,
                      struct interaction *out, struct error *err)
{
	_cleanup_free_ double *on = NULL, *off = NULL, *inter = NULL;
	struct wilcoxon w;

	if (n == 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "stats: interaction of no blocks");
	on = xcalloc(n, sizeof(*on));
	off = xcalloc(n, sizeof(*off));
	inter = xcalloc(n, sizeof(*inter));
	/* I = ln(t11/t10) - ln(t01/t00): the effect of factor 2 with factor 1
	 * on, minus its effect with factor 1 off. */
	if (stats_log_ratios(t10, t11, n, on, err) < 0 ||
	    stats_log_ratios(t00, t01, n, off, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		inter[i] = on[i] - off[i];
	*out = (struct interaction){.n = n};
	if (counted && n >= 2) {
		/* a count: the range observed (see stats_compare_paired) */
		out->lo = stats_min(inter, n);
		out->hi = stats_max(inter, n);
		out->hl = stats_hodges_lehmann(inter, n);
		out->achieved = 1.0;
		out->p_two_sided = out->lo > 0 || out->hi < 0 ? 0.0 : 1.0;
	} else {
		if (stats_wilcoxon_ci(inter, n, confidence, &out->lo, &out->hi, &out->achieved,
		                      err) < 0)
			return -1;
		out->hl = stats_hodges_lehmann(inter, n);
		stats_wilcoxon_signed_rank(inter, n, &w);
		out->p_two_sided = w.p_two_sided;
	}
	out->pct = pct(out->hl);
	out->pct_lo = pct(out->lo);
	out->pct_hi = pct(out->hi);
	out->cls = classify_interaction(out, delta);
	return 0;
}

static const char *const interaction_names[] = {
    [INTERACTION_ADDITIVE] = "additive",
    [INTERACTION_INTERACTING] = "interacting",
    [INTERACTION_UNCLEAR] = "unclear",
};

DEFINE_STRING_TABLE_TO_NAME(interaction_name, enum interaction_class, interaction_names, "unknown");
