/* bench_analysis.c - see bench_analysis.h */
#define _GNU_SOURCE
#include "bench/bench_analysis.h"
#include "base/string_table.h"
#include "base/strv.h"

#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const gate_status_names[] = {
    [GATE_OFF] = "off",     [GATE_PASS] = "pass",
    [GATE_FAIL] = "fail",   [GATE_INCONCLUSIVE] = "inconclusive",
    [GATE_NOISY] = "noisy",
};

DEFINE_STRING_TABLE_TO_NAME(gate_status_name, enum gate_status, gate_status_names, "unknown");

bool bench_matches_only(const struct bench_settings *set, const char *name)
{
	return set->only == NULL || fnmatch(set->only, name, 0) == 0;
}

static bool measured(const struct bench_run *r)
{
	return r->block != BENCH_BLOCK_WARMUP;
}

/* Run r measures benchmark `bench` of the arm (variant, cell): its own, or
 * one its process reported. */
static bool same_arm(const struct bench_session *s, const struct bench_run *r, size_t bench,
                     size_t variant, size_t cell)
{
	return bench_run_covers(s, r, bench) && r->variant == variant && r->cell == cell;
}

/* Comparisons are computed on "badness" logs (negated for a metric where
 * higher is better), so "slower" is always the verdict that fails a gate
 * and Holm protects it whatever the direction; this puts the estimate and
 * interval back in the metric's own terms (a throughput drop < 0). */
static void flip_log_interval(double *hl, double *lo, double *hi, double pct[3])
{
	double old_lo = *lo;

	*hl = -*hl;
	*lo = -*hi;
	*hi = -old_lo;
	pct[0] = 100.0 * expm1(*hl);
	pct[1] = 100.0 * expm1(*lo);
	pct[2] = 100.0 * expm1(*hi);
}

static void comparison_to_metric_terms(struct comparison *c)
{
	double pct[3];

	flip_log_interval(&c->hl, &c->lo, &c->hi, pct);
	c->pct = pct[0];
	c->pct_lo = pct[1];
	c->pct_hi = pct[2];
}

static void interaction_to_metric_terms(struct interaction *x)
{
	double pct[3];

	flip_log_interval(&x->hl, &x->lo, &x->hi, pct);
	x->pct = pct[0];
	x->pct_lo = pct[1];
	x->pct_hi = pct[2];
}

double bench_cmp_worse_pct(const struct bench_session *s, const struct bench_cmp *k)
{
	return bench_metric_direction(s, k->metric) == DIRECTION_HIGHER ? -k->c.pct : k->c.pct;
}

/* ---- outliers and descriptive statistics ---------------------------------- */

static size_t arm_values(const struct bench_session *s, size_t bench, size_t variant, size_t cell,
                         enum bench_metric m, double *vals, size_t *idx)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n_runs; i++) {
		const struct bench_run *r = &s->runs[i];

		if (!measured(r) || !same_arm(s, r, bench, variant, cell))
			continue;
		vals[n] = bench_value(r, bench, m);
		idx[n++] = i;
	}
	return n;
}

static void summarise(struct bench_session *s, struct bench_analysis *a, enum bench_metric m)
{
	size_t n_cells = bench_n_cells(s);
	double *vals = xcalloc(s->n_runs + 1, sizeof(double));
	size_t *idx = xcalloc(s->n_runs + 1, sizeof(size_t));
	bool *flags = xcalloc(s->n_runs + 1, sizeof(bool));

	for (size_t b = 0; b < s->n_benchmarks; b++) {
		if (!a->avail[b * METRIC_COUNT + m])
			continue;
		for (size_t v = 0; v < s->n_variants; v++) {
			for (size_t c = 0; c < n_cells; c++) {
				size_t n = arm_values(s, b, v, c, m, vals, idx);
				struct bench_summary *sm;

				if (n == 0)
					continue;
				a->sum = xrealloc(a->sum, (a->n_sum + 1) * sizeof(*a->sum));
				sm = &a->sum[a->n_sum++];
				*sm = (struct bench_summary){
				    .bench = b, .variant = v, .cell = c, .metric = m};
				stats_describe(vals, n, &sm->d);
				sm->outliers = stats_flag_outliers(vals, n, flags);
				for (size_t i = 0; i < n; i++)
					if (s->runs[idx[i]].bench == b)
						s->runs[idx[i]].outlier[m] = flags[i];
			}
		}
	}
	free(vals);
	free(idx);
	free(flags);
}

/* ---- block values ------------------------------------------------------- */

static void block_logs(const struct bench_session *s, size_t bench, size_t variant, size_t cell,
                       enum bench_metric m, bool badness, double *out)
{
	double sign = badness && bench_metric_direction(s, m) == DIRECTION_HIGHER ? -1.0 : 1.0;
	size_t nb = s->blocks_done[bench];
	size_t *count = xcalloc(nb + 1, sizeof(size_t));

	for (size_t i = 0; i < nb; i++)
		out[i] = 0;
	for (size_t i = 0; i < s->n_runs; i++) {
		const struct bench_run *r = &s->runs[i];
		double v;

		if (!measured(r) || !same_arm(s, r, bench, variant, cell) || r->block >= nb)
			continue;
		v = bench_value(r, bench, m);
		out[r->block] += sign * log(v);
		count[r->block]++;
	}
	for (size_t i = 0; i < nb; i++)
		out[i] = count[i] ? out[i] / (double)count[i] : NAN;
	free(count);
}

void bench_block_logs(const struct bench_session *s, size_t bench, size_t variant, size_t cell,
                      enum bench_metric m, double *out)
{
	block_logs(s, bench, variant, cell, m, false, out);
}

/* Pairs of finite block values -> d = y - x; returns how many. */
static size_t paired_diffs(const double *x, const double *y, size_t nb, double *d)
{
	size_t n = 0;

	for (size_t i = 0; i < nb; i++)
		if (isfinite(x[i]) && isfinite(y[i]))
			d[n++] = y[i] - x[i];
	return n;
}

/* The two runs of one arm in each block, in position order, as badness
 * logs: false unless every block has exactly two. */
struct arm_pairs {
	double v[2], t[2];
	size_t count;
};

static bool arm_pairs(const struct bench_session *s, size_t bench, size_t variant, size_t cell,
                      enum bench_metric m, bool badness, struct arm_pairs *p)
{
	double sign = badness && bench_metric_direction(s, m) == DIRECTION_HIGHER ? -1.0 : 1.0;
	size_t nb = s->blocks_done[bench];

	for (size_t i = 0; i < nb; i++)
		p[i].count = 0;
	for (size_t i = 0; i < s->n_runs; i++) {
		const struct bench_run *r = &s->runs[i];
		struct arm_pairs *q;

		if (!measured(r) || !same_arm(s, r, bench, variant, cell) || r->block >= nb)
			continue;
		q = &p[r->block];
		if (q->count == 2)
			return false;
		q->v[q->count] = sign * log(bench_value(r, bench, m));
		q->t[q->count++] = (double)r->position;
	}
	for (size_t i = 0; i < nb; i++) {
		if (p[i].count != 2 || !isfinite(p[i].v[0]) || !isfinite(p[i].v[1]))
			return false;
		if (p[i].t[0] > p[i].t[1]) {
			double v = p[i].v[0], t = p[i].t[0];

			p[i].v[0] = p[i].v[1];
			p[i].t[0] = p[i].t[1];
			p[i].v[1] = v;
			p[i].t[1] = t;
		}
	}
	return true;
}

/* Every run of arm x (A) and arm y (B), four per block, for the paired-run
 * interval; false (block means only) when a block lacks one. */
static bool block_quads(const struct bench_session *s, size_t bench, const size_t x[2],
                        const size_t y[2], enum bench_metric m, bool badness, struct block_quad *q)
{
	size_t nb = s->blocks_done[bench];
	struct arm_pairs *a = xcalloc(nb + 1, sizeof(*a)), *b = xcalloc(nb + 1, sizeof(*b));
	bool ok = arm_pairs(s, bench, x[0], x[1], m, badness, a) &&
	          arm_pairs(s, bench, y[0], y[1], m, badness, b);

	for (size_t i = 0; ok && i < nb; i++)
		q[i] = (struct block_quad){.a1 = a[i].v[0],
		                           .a2 = a[i].v[1],
		                           .b1 = b[i].v[0],
		                           .b2 = b[i].v[1],
		                           .ta1 = a[i].t[0],
		                           .ta2 = a[i].t[1],
		                           .tb1 = b[i].t[0],
		                           .tb2 = b[i].t[1]};
	free(a);
	free(b);
	return ok;
}

/* ---- comparisons -------------------------------------------------------- */

/* The A/B (or A/A) comparison: from every run when each block has its four
 * (stats_compare_blocks picks paired runs or block means by its rule),
 * else from the blocks' mean logs. */
static void compare_arms(const struct bench_session *s, size_t b, const size_t x[2],
                         const size_t y[2], enum bench_metric m, bool badness, const double *d,
                         size_t n, struct comparison *out)
{
	size_t nb = s->blocks_done[b];
	struct block_quad *q = xcalloc(nb + 1, sizeof(*q));

	if (nb > 0 && n == nb && block_quads(s, b, x, y, m, badness, q))
		stats_compare_blocks(q, nb, s->set.threshold, s->set.confidence,
		                     bench_metric_is_count(m), out);
	else
		stats_compare_paired(d, n, s->set.threshold, s->set.confidence,
		                     bench_metric_is_count(m), out);
	free(q);
}

void bench_compare_arm_pair(const struct bench_session *s, size_t bench, enum bench_metric m,
                            size_t vx, size_t cx, size_t vy, size_t cy, struct comparison *out)
{
	size_t nb = s->blocks_done[bench], n;
	double *x = xcalloc(nb + 1, sizeof(double)), *y = xcalloc(nb + 1, sizeof(double));
	double *d = xcalloc(nb + 1, sizeof(double));

	block_logs(s, bench, vx, cx, m, false, x);
	block_logs(s, bench, vy, cy, m, false, y);
	n = paired_diffs(x, y, nb, d);
	compare_arms(s, bench, (size_t[2]){vx, cx}, (size_t[2]){vy, cy}, m, false, d, n, out);
	free(x);
	free(y);
	free(d);
}

static void compare_variants(const struct bench_session *s, struct bench_analysis *a,
                             enum bench_metric m)
{
	size_t n_cells = bench_n_cells(s);

	for (size_t b = 0; b < s->n_benchmarks; b++) {
		size_t nb = s->blocks_done[b];
		double *base, *cand, *d;

		if (!a->avail[b * METRIC_COUNT + m])
			continue;
		base = xcalloc(nb + 1, sizeof(double));
		cand = xcalloc(nb + 1, sizeof(double));
		d = xcalloc(nb + 1, sizeof(double));
		for (size_t c = 0; c < n_cells; c++) {
			block_logs(s, b, 0, c, m, true, base);
			for (size_t v = 1; v < s->n_variants; v++) {
				struct bench_cmp *k;
				size_t n;

				block_logs(s, b, v, c, m, true, cand);
				n = paired_diffs(base, cand, nb, d);
				a->cmp = xrealloc(a->cmp, (a->n_cmp + 1) * sizeof(*a->cmp));
				k = &a->cmp[a->n_cmp++];
				*k = (struct bench_cmp){
				    .bench = b, .cell = c, .base = 0, .cand = v, .metric = m};
				k->aa = s->variants[v].role == ROLE_AA_CONTROL;
				k->gated =
				    !k->aa && bench_matches_only(&s->set, s->benchmarks[b].name);
				compare_arms(s, b, (size_t[2]){0, c}, (size_t[2]){v, c}, m, true, d,
				             n, &k->c);
			}
		}
		free(base);
		free(cand);
		free(d);
	}
}

/* Holm across one family: the comparisons of metric m that are (or are
 * not) A/A controls. */
static void holm_family(struct bench_analysis *a, enum bench_metric m, bool aa, double alpha)
{
	struct comparison *c = xcalloc(a->n_cmp + 1, sizeof(*c));
	size_t n = 0;

	for (size_t i = 0; i < a->n_cmp; i++)
		if (a->cmp[i].metric == m && a->cmp[i].aa == aa && a->cmp[i].c.n > 0)
			c[n++] = a->cmp[i].c;
	stats_finalize_verdicts(c, n, alpha);
	n = 0;
	for (size_t i = 0; i < a->n_cmp; i++)
		if (a->cmp[i].metric == m && a->cmp[i].aa == aa && a->cmp[i].c.n > 0)
			a->cmp[i].c = c[n++];
	free(c);
}

/* ---- matrix: main effects and interactions -------------------------------- */

/* logs[cell][block] for one benchmark and variant. */
static double **cell_logs(const struct bench_session *s, size_t b, size_t v, enum bench_metric m)
{
	size_t n_cells = bench_n_cells(s), nb = s->blocks_done[b];
	double **logs = xcalloc(n_cells, sizeof(double *));

	for (size_t c = 0; c < n_cells; c++) {
		logs[c] = xcalloc(nb + 1, sizeof(double));
		block_logs(s, b, v, c, m, true, logs[c]);
	}
	return logs;
}

static void free_cell_logs(double **logs, size_t n_cells)
{
	for (size_t c = 0; c < n_cells; c++)
		free(logs[c]);
	free(logs);
}

static void main_effect(const struct bench_session *s, double **logs, size_t b, size_t k,
                        size_t level, double *d, size_t *n)
{
	size_t nb = s->blocks_done[b];

	*n = 0;
	for (size_t i = 0; i < nb; i++) {
		double sum = 0;
		size_t cnt = 0;

		for (size_t c = 0; c < bench_n_cells(s); c++) {
			if (bench_cell_level(s, c, k) != level)
				continue;
			sum += logs[c][i] - logs[bench_cell_with(s, c, k, 0)][i];
			cnt++;
		}
		if (cnt && isfinite(sum))
			d[(*n)++] = sum / (double)cnt;
	}
}

static void effects(const struct bench_session *s, struct bench_analysis *a, enum bench_metric m)
{
	size_t n_cells = bench_n_cells(s);

	for (size_t b = 0; b < s->n_benchmarks; b++) {
		double *d;

		if (!a->avail[b * METRIC_COUNT + m])
			continue;
		d = xcalloc(s->blocks_done[b] + 1, sizeof(double));
		for (size_t v = 0; v < s->n_variants; v++) {
			double **logs;

			if (s->variants[v].role == ROLE_AA_CONTROL)
				continue;
			logs = cell_logs(s, b, v, m);
			for (size_t k = 0; k < s->n_knobs; k++) {
				for (size_t l = 1; l < s->knobs[k].n_values; l++) {
					struct bench_effect *e;
					size_t n;

					main_effect(s, logs, b, k, l, d, &n);
					a->eff = xrealloc(a->eff, (a->n_eff + 1) * sizeof(*a->eff));
					e = &a->eff[a->n_eff++];
					*e = (struct bench_effect){.bench = b,
					                           .variant = v,
					                           .knob = k,
					                           .level = l,
					                           .metric = m};
					stats_compare_paired(d, n, s->set.threshold,
					                     s->set.confidence,
					                     bench_metric_is_count(m), &e->c);
				}
			}
			free_cell_logs(logs, n_cells);
		}
		free(d);
	}
}

/* The four corner times of one block, the other knobs averaged in logs. */
static bool corners(const struct bench_session *s, double **logs, size_t i, size_t ka, size_t la,
                    size_t kb, size_t lb, double t[4])
{
	double sum[4] = {0, 0, 0, 0};
	size_t cnt = 0;

	for (size_t c = 0; c < bench_n_cells(s); c++) {
		size_t c01, c10, c11;

		if (bench_cell_level(s, c, ka) != 0 || bench_cell_level(s, c, kb) != 0)
			continue;
		c01 = bench_cell_with(s, c, kb, lb);
		c10 = bench_cell_with(s, c, ka, la);
		c11 = bench_cell_with(s, c10, kb, lb);
		sum[0] += logs[c][i];
		sum[1] += logs[c01][i];
		sum[2] += logs[c10][i];
		sum[3] += logs[c11][i];
		cnt++;
	}
	for (int j = 0; j < 4; j++) {
		t[j] = exp(sum[j] / (double)cnt);
		if (!isfinite(t[j]) || t[j] <= 0)
			return false;
	}
	return cnt > 0;
}

static void interaction_one(const struct bench_session *s, struct bench_analysis *a, double **logs,
                            size_t b, size_t v, size_t ka, size_t la, size_t kb, size_t lb,
                            enum bench_metric m)
{
	size_t nb = s->blocks_done[b], n = 0;
	double *t[4];
	struct bench_inter *x;

	for (int j = 0; j < 4; j++)
		t[j] = xcalloc(nb + 1, sizeof(double));
	for (size_t i = 0; i < nb; i++) {
		double q[4];

		if (!corners(s, logs, i, ka, la, kb, lb, q))
			continue;
		for (int j = 0; j < 4; j++)
			t[j][n] = q[j];
		n++;
	}
	a->inter = xrealloc(a->inter, (a->n_inter + 1) * sizeof(*a->inter));
	x = &a->inter[a->n_inter++];
	*x = (struct bench_inter){.bench = b,
	                          .variant = v,
	                          .knob_a = ka,
	                          .knob_b = kb,
	                          .level_a = la,
	                          .level_b = lb,
	                          .metric = m};
	/* stats' convention: t<factor1 factor2>, factor 1 = knob a. */
	x->ok = n > 0 &&
	        stats_interaction(t[0], t[1], t[2], t[3], n, s->set.threshold, s->set.confidence,
	                          bench_metric_is_count(m), &x->it, NULL) == 0;
	for (int j = 0; j < 4; j++)
		free(t[j]);
}

static void interactions(const struct bench_session *s, struct bench_analysis *a,
                         enum bench_metric m)
{
	size_t n_cells = bench_n_cells(s);

	for (size_t b = 0; b < s->n_benchmarks; b++) {
		if (!a->avail[b * METRIC_COUNT + m])
			continue;
		for (size_t v = 0; v < s->n_variants; v++) {
			double **logs;

			if (s->variants[v].role == ROLE_AA_CONTROL)
				continue;
			logs = cell_logs(s, b, v, m);
			for (size_t ka = 0; ka < s->n_knobs; ka++)
				for (size_t kb = ka + 1; kb < s->n_knobs; kb++)
					for (size_t la = 1; la < s->knobs[ka].n_values; la++)
						for (size_t lb = 1; lb < s->knobs[kb].n_values;
						     lb++)
							interaction_one(s, a, logs, b, v, ka, la,
							                kb, lb, m);
			free_cell_logs(logs, n_cells);
		}
	}
}

/* ---- the gate ------------------------------------------------------------- */

static void add_reason(struct bench_gate *g, char *line)
{
	g->reasons = xrealloc(g->reasons, (g->n_reasons + 2) * sizeof(char *));
	g->reasons[g->n_reasons++] = line;
	g->reasons[g->n_reasons] = NULL;
}

static char *cmp_line(const struct bench_session *s, const struct bench_cmp *k, const char *what)
{
	char *cell = bench_cell_label(s, k->cell);
	char *line = xasprintf("%s%s%s%s: %s vs %s: %s %+.2f %% [%+.2f, %+.2f] (%s), %s",
	                       s->benchmarks[k->bench].name, cell[0] ? " [" : "", cell,
	                       cell[0] ? "]" : "", s->variants[k->cand].name,
	                       s->variants[k->base].name, bench_metric_name(s, k->metric), k->c.pct,
	                       k->c.pct_lo, k->c.pct_hi, verdict_name(k->c.verdict), what);

	free(cell);
	return line;
}

size_t bench_min_blocks(const struct bench_settings *set, enum cmp_method method)
{
	size_t values = stats_signrank_min_n(set->confidence);

	if (method == METHOD_RANGE)
		return 2; /* a count's interval is the range of the blocks */
	return method == METHOD_PAIRED_RUNS ? (values + 1) / 2 : values;
}

static bool has_interval(const struct comparison *c)
{
	return c->n > 0 && isfinite(c->lo) && isfinite(c->hi);
}

/* A gate that cannot decide must not pass: a gated comparison without a
 * finite interval (too few blocks) makes the gate inconclusive, --strict
 * or not. */
static void gate_undecidable(const struct bench_session *s, struct bench_gate *g,
                             const struct bench_cmp *k)
{
	char *why = xasprintf("no finite %.0f %% interval from %zu blocks (%s: at least %zu "
	                      "needed): the gate cannot decide",
	                      100.0 * s->set.confidence, k->c.n, cmp_method_name(k->c.method),
	                      bench_min_blocks(&s->set, k->c.method));

	g->undecidable = true;
	add_reason(g, cmp_line(s, k, why));
	free(why);
}

static void decide_gate(const struct bench_session *s, struct bench_analysis *a)
{
	struct bench_gate *g = &a->gate;
	enum bench_metric m = s->set.metric;
	bool fail = false, inconclusive = false;

	g->status = (s->set.fail_set || s->set.strict) ? GATE_PASS : GATE_OFF;
	for (size_t i = 0; i < a->n_cmp; i++) {
		const struct bench_cmp *k = &a->cmp[i];

		if (k->metric != m)
			continue;
		if (k->aa && (k->c.verdict == VERDICT_SLOWER || k->c.verdict == VERDICT_FASTER)) {
			g->aa_failed = true;
			add_reason(g,
			           cmp_line(s, k, "A/A control differs: the machine is too noisy"));
		}
		if (!k->gated)
			continue;
		if (s->set.fail_set && k->c.verdict == VERDICT_SLOWER &&
		    bench_cmp_worse_pct(s, k) > s->set.fail_pct) {
			fail = true;
			add_reason(g, cmp_line(s, k, "regression beyond --fail-on-regression"));
		} else if (g->status != GATE_OFF && !has_interval(&k->c)) {
			inconclusive = true;
			gate_undecidable(s, g, k);
		} else if (s->set.strict && k->c.verdict == VERDICT_INCONCLUSIVE) {
			inconclusive = true;
			add_reason(g, cmp_line(s, k, "inconclusive (--strict)"));
		}
	}
	if (g->aa_failed) {
		g->status = GATE_NOISY;
		g->exit_code = BENCH_EXIT_NOISY;
	} else if (fail) {
		g->status = GATE_FAIL;
		g->exit_code = BENCH_EXIT_REGRESSION;
	} else if (inconclusive) {
		g->status = GATE_INCONCLUSIVE;
		g->exit_code = BENCH_EXIT_INCONCLUSIVE;
	}
}

/* After Holm (which needs the badness orientation), every estimate of a
 * higher-is-better metric back in its own terms. */
static void to_metric_terms(const struct bench_session *s, struct bench_analysis *a)
{
	for (size_t i = 0; i < a->n_cmp; i++)
		if (bench_metric_direction(s, a->cmp[i].metric) == DIRECTION_HIGHER &&
		    a->cmp[i].c.n > 0)
			comparison_to_metric_terms(&a->cmp[i].c);
	for (size_t i = 0; i < a->n_eff; i++)
		if (bench_metric_direction(s, a->eff[i].metric) == DIRECTION_HIGHER &&
		    a->eff[i].c.n > 0)
			comparison_to_metric_terms(&a->eff[i].c);
	for (size_t i = 0; i < a->n_inter; i++)
		if (bench_metric_direction(s, a->inter[i].metric) == DIRECTION_HIGHER &&
		    a->inter[i].ok)
			interaction_to_metric_terms(&a->inter[i].it);
}

void bench_analyse(struct bench_session *s, struct bench_analysis *a)
{
	double alpha = 1.0 - s->set.confidence;

	memset(a, 0, sizeof(*a));
	a->avail = xcalloc(s->n_benchmarks * METRIC_COUNT + 1, sizeof(bool));
	for (size_t b = 0; b < s->n_benchmarks; b++)
		for (size_t m = 0; m < bench_n_metrics(s); m++) {
			a->avail[b * METRIC_COUNT + m] =
			    bench_has_metric(s, b, (enum bench_metric)m);
			a->available[m] |= a->avail[b * METRIC_COUNT + m];
		}
	for (size_t m = 0; m < bench_n_metrics(s); m++) {
		if (!a->available[m])
			continue;
		summarise(s, a, (enum bench_metric)m);
		compare_variants(s, a, (enum bench_metric)m);
		holm_family(a, (enum bench_metric)m, false, alpha);
		holm_family(a, (enum bench_metric)m, true, alpha);
		effects(s, a, (enum bench_metric)m);
		interactions(s, a, (enum bench_metric)m);
	}
	to_metric_terms(s, a);
	decide_gate(s, a);
}

void bench_analysis_free(struct bench_analysis *a)
{
	free(a->avail);
	free(a->sum);
	free(a->cmp);
	free(a->eff);
	free(a->inter);
	strv_free_n(a->gate.reasons, a->gate.n_reasons);
	memset(a, 0, sizeof(*a));
}

bool bench_needs_more(const struct bench_session *s, const struct bench_analysis *a, size_t bench)
{
	for (size_t i = 0; i < a->n_cmp; i++) {
		const struct bench_cmp *k = &a->cmp[i];

		if ((k->bench == bench || s->benchmarks[k->bench].parent == bench) && !k->aa &&
		    k->metric == s->set.metric && k->c.verdict == VERDICT_INCONCLUSIVE)
			return true;
	}
	return false;
}

/* The A/B comparisons on the gate metric that judge benchmark `bench` (its
 * own, or those of the benchmarks its process reports). */
static bool judges(const struct bench_session *s, const struct bench_cmp *k, size_t bench)
{
	return (k->bench == bench || s->benchmarks[k->bench].parent == bench) && !k->aa &&
	       k->metric == s->set.metric;
}

double bench_open_width(const struct bench_session *s, const struct bench_analysis *a, size_t bench)
{
	double widest = 0;

	for (size_t i = 0; i < a->n_cmp; i++) {
		const struct comparison *c = &a->cmp[i].c;
		double w;

		if (!judges(s, &a->cmp[i], bench) || c->verdict != VERDICT_INCONCLUSIVE)
			continue;
		w = isfinite(c->lo) && isfinite(c->hi) ? c->hi - c->lo : INFINITY;
		widest = w > widest ? w : widest;
	}
	return widest;
}

size_t bench_blocks_needed(const struct bench_session *s, const struct bench_analysis *a,
                           size_t bench)
{
	size_t most = 0;

	for (size_t i = 0; i < a->n_cmp; i++)
		if (judges(s, &a->cmp[i], bench) && a->cmp[i].c.blocks_needed > most)
			most = a->cmp[i].c.blocks_needed;
	return most;
}

/* ---- JSON ----------------------------------------------------------------- */

static json_t *describe_json(const struct describe *d)
{
	json_t *o = json_object();

	json_object_set_new(o, "n", json_integer((json_int_t)d->n));
	json_object_set_new(o, "mean", json_real_or_null(d->mean));
	json_object_set_new(o, "median", json_real_or_null(d->median));
	json_object_set_new(o, "stdev", json_real_or_null(d->stdev));
	json_object_set_new(o, "cv", json_real_or_null(d->cv));
	json_object_set_new(o, "min", json_real_or_null(d->min));
	json_object_set_new(o, "max", json_real_or_null(d->max));
	json_object_set_new(o, "mad", json_real_or_null(d->mad));
	json_object_set_new(o, "q1", json_real_or_null(d->q1));
	json_object_set_new(o, "q3", json_real_or_null(d->q3));
	return o;
}

static json_t *comparison_json(const struct bench_session *s, enum bench_metric m,
                               const struct comparison *c)
{
	json_t *o = json_object();

	json_object_set_new(o, "direction",
	                    json_string(direction_name(bench_metric_direction(s, m))));
	/* B/A as a ratio with its interval: what a competitive bench reports */
	json_object_set_new(o, "ratio", json_real_or_null(exp(c->hl)));
	json_object_set_new(o, "ratio_low", json_real_or_null(exp(c->lo)));
	json_object_set_new(o, "ratio_high", json_real_or_null(exp(c->hi)));
	json_object_set_new(o, "n_blocks", json_integer((json_int_t)c->n));
	/* docs/bench.md "Every run": which values the interval came from */
	json_object_set_new(o, "method", json_string(cmp_method_name(c->method)));
	json_object_set_new(o, "n_values", json_integer((json_int_t)c->n_values));
	json_object_set_new(o, "blocks_needed", json_integer((json_int_t)c->blocks_needed));
	json_object_set_new(o, "estimate_pct", json_real_or_null(c->pct));
	json_object_set_new(o, "ci_low_pct", json_real_or_null(c->pct_lo));
	json_object_set_new(o, "ci_high_pct", json_real_or_null(c->pct_hi));
	json_object_set_new(o, "ci_achieved", json_real_or_null(c->achieved));
	json_object_set_new(o, "hl_log", json_real_or_null(c->hl));
	/* the one-sided p-value of "worse" (greater for lower-is-better) */
	json_object_set_new(o, "p_greater", json_real_or_null(c->p_greater));
	json_object_set_new(o, "p_adjusted", json_real_or_null(c->p_adjusted));
	json_object_set_new(o, "verdict", json_string(verdict_name(c->verdict)));
	return o;
}

static json_t *summaries_json(const struct bench_session *s, const struct bench_analysis *a)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < a->n_sum; i++) {
		const struct bench_summary *sm = &a->sum[i];
		json_t *o = describe_json(&sm->d);

		json_object_set_new(o, "benchmark", json_integer((json_int_t)sm->bench));
		json_object_set_new(o, "variant", json_integer((json_int_t)sm->variant));
		json_object_set_new(o, "cell", json_integer((json_int_t)sm->cell));
		json_object_set_new(o, "metric", json_string(bench_metric_name(s, sm->metric)));
		json_object_set_new(o, "outliers", json_integer((json_int_t)sm->outliers));
		json_array_append_new(arr, o);
	}
	return arr;
}

static json_t *comparisons_json(const struct bench_session *s, const struct bench_analysis *a)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < a->n_cmp; i++) {
		const struct bench_cmp *k = &a->cmp[i];
		json_t *o = comparison_json(s, k->metric, &k->c);

		json_object_set_new(o, "benchmark", json_integer((json_int_t)k->bench));
		json_object_set_new(o, "cell", json_integer((json_int_t)k->cell));
		json_object_set_new(o, "baseline", json_integer((json_int_t)k->base));
		json_object_set_new(o, "candidate", json_integer((json_int_t)k->cand));
		json_object_set_new(o, "metric", json_string(bench_metric_name(s, k->metric)));
		json_object_set_new(o, "kind", json_string(k->aa ? "aa" : "ab"));
		json_object_set_new(o, "gated", json_boolean(k->gated));
		json_array_append_new(arr, o);
	}
	return arr;
}

static json_t *effects_json(const struct bench_session *s, const struct bench_analysis *a)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < a->n_eff; i++) {
		const struct bench_effect *e = &a->eff[i];
		json_t *o = comparison_json(s, e->metric, &e->c);

		json_object_set_new(o, "benchmark", json_integer((json_int_t)e->bench));
		json_object_set_new(o, "variant", json_integer((json_int_t)e->variant));
		json_object_set_new(o, "metric", json_string(bench_metric_name(s, e->metric)));
		json_object_set_new(o, "knob", json_string(s->knobs[e->knob].key));
		json_object_set_new(o, "value", json_string(s->knobs[e->knob].values[e->level]));
		json_object_set_new(o, "reference", json_string(s->knobs[e->knob].values[0]));
		json_array_append_new(arr, o);
	}
	return arr;
}

static json_t *interactions_json(const struct bench_session *s, const struct bench_analysis *a)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < a->n_inter; i++) {
		const struct bench_inter *x = &a->inter[i];
		json_t *o = json_object();

		json_object_set_new(o, "benchmark", json_integer((json_int_t)x->bench));
		json_object_set_new(o, "variant", json_integer((json_int_t)x->variant));
		json_object_set_new(o, "metric", json_string(bench_metric_name(s, x->metric)));
		json_object_set_new(
		    o, "knobs",
		    json_pack("[ss]", s->knobs[x->knob_a].key, s->knobs[x->knob_b].key));
		json_object_set_new(o, "values",
		                    json_pack("[ss]", s->knobs[x->knob_a].values[x->level_a],
		                              s->knobs[x->knob_b].values[x->level_b]));
		json_object_set_new(o, "n_blocks", json_integer((json_int_t)(x->ok ? x->it.n : 0)));
		json_object_set_new(o, "estimate_pct", json_real_or_null(x->ok ? x->it.pct : NAN));
		json_object_set_new(o, "ci_low_pct", json_real_or_null(x->ok ? x->it.pct_lo : NAN));
		json_object_set_new(o, "ci_high_pct",
		                    json_real_or_null(x->ok ? x->it.pct_hi : NAN));
		json_object_set_new(o, "p_two_sided",
		                    json_real_or_null(x->ok ? x->it.p_two_sided : NAN));
		json_object_set_new(o, "class",
		                    json_string(x->ok ? interaction_name(x->it.cls) : "unclear"));
		json_array_append_new(arr, o);
	}
	return arr;
}

static json_t *gate_json(const struct bench_gate *g)
{
	json_t *o = json_object(), *r = json_array();

	for (size_t i = 0; i < g->n_reasons; i++)
		json_array_append_new(r, json_string(g->reasons[i]));
	json_object_set_new(o, "status", json_string(gate_status_name(g->status)));
	json_object_set_new(o, "exit_code", json_integer(g->exit_code));
	json_object_set_new(o, "aa_failed", json_boolean(g->aa_failed));
	json_object_set_new(o, "undecidable", json_boolean(g->undecidable));
	json_object_set_new(o, "reasons", r);
	return o;
}

json_t *bench_analysis_to_json(const struct bench_session *s, const struct bench_analysis *a)
{
	json_t *o = json_object(), *avail = json_array();

	for (size_t m = 0; m < bench_n_metrics(s); m++)
		if (a->available[m])
			json_array_append_new(
			    avail, json_string(bench_metric_name(s, (enum bench_metric)m)));
	json_object_set_new(o, "metrics", avail);
	json_object_set_new(o, "summaries", summaries_json(s, a));
	json_object_set_new(o, "comparisons", comparisons_json(s, a));
	json_object_set_new(o, "effects", effects_json(s, a));
	json_object_set_new(o, "interactions", interactions_json(s, a));
	json_object_set_new(o, "gate", gate_json(&a->gate));
	return o;
}

/* "slower"/"faster" for times and counts; "worse"/"better" where higher is
 * better (the JSON says slower/faster for both: docs/bench.md). */
const char *bench_verdict_words(const struct bench_session *s, enum bench_metric m,
                                const struct comparison *c)
{
	bool higher = bench_metric_direction(s, m) == DIRECTION_HIGHER;

	switch (c->verdict) {
	case VERDICT_SLOWER: return higher ? "worse" : "slower";
	case VERDICT_FASTER: return higher ? "better" : "faster";
	case VERDICT_NO_CHANGE: return "no change";
	case VERDICT_INCONCLUSIVE: return "inconclusive";
	}
	return "?";
}
