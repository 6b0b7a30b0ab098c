/* bench_rules_eval.c - evaluating rules over a finished session (bench_rules.h rules_evaluate):
 * each rule on each benchmark, the quantifiers, and the decision */
#define _GNU_SOURCE
#include "bench/bench_rules.h"

#include <ctype.h>
#include <fnmatch.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_analysis.h"
#include "bench/bench_recorded.h"
#include "bench/stats.h"
#include "base/strbuf.h"
#include "base/string_table.h"

/* The condition on "X vs Y" a rule comes to for a metric's direction:
 * better by P% is a change of at least P% the good way, better alone any
 * change beyond zero the good way. */
static void resolve_condition(struct rule *k, enum metric_direction dir)
{
	bool up; /* the condition is on the high side */

	k->eff_op = k->op;
	k->eff_pct = k->pct;
	if (k->sense == SENSE_CHANGE)
		return;
	up = (k->sense == SENSE_BETTER) == (dir == DIRECTION_HIGHER);
	if (k->by)
		k->eff_op = up ? OP_GE : OP_LE;
	else
		k->eff_op = up ? OP_GT : OP_LT;
	/* 0.0, never -0.0: "< -0.00%" would read as another bound */
	k->eff_pct = k->pct == 0 ? 0 : up ? k->pct : -k->pct;
}

static void set_pct(struct rule_result *k, size_t n, double est, double lo, double hi)
{
	k->n = n;
	k->est = est;
	k->lo = lo;
	k->hi = hi;
	k->evaluated = n > 0 && isfinite(k->est);
}

static void set_interval(struct rule_result *k, size_t n, double hl, double lo, double hi)
{
	set_pct(k, n, 100.0 * expm1(hl), 100.0 * expm1(lo), 100.0 * expm1(hi));
}

/* X/Y from Y/X, in percent (an interval's ends swap). */
static double reversed_pct(double pct)
{
	return 100.0 * (1.0 / (1.0 + pct / 100.0) - 1.0);
}

/* The bench's own comparison of the pair, when the rule asks the same
 * question (the baseline and a candidate in one cell, either way round):
 * its estimate and interval, so one pair has one interval. */
static bool from_comparison(const struct bench_analysis *a, size_t b, enum bench_metric m,
                            size_t vx, size_t cx, size_t vy, size_t cy, struct rule_result *k)
{
	for (size_t i = 0; a && cx == cy && i < a->n_cmp; i++) {
		const struct bench_cmp *c = &a->cmp[i];

		if (c->bench != b || c->metric != m || c->cell != cx)
			continue;
		if (c->cand == vx && c->base == vy) {
			k->method = "the bench's own comparison, paired per block";
			set_pct(k, c->c.n, c->c.pct, c->c.pct_lo, c->c.pct_hi);
			return true;
		}
		if (c->cand == vy && c->base == vx) {
			k->method = "the bench's own comparison reversed, paired per block";
			set_pct(k, c->c.n, reversed_pct(c->c.pct), reversed_pct(c->c.pct_hi),
			        reversed_pct(c->c.pct_lo));
			return true;
		}
	}
	return false;
}

static void eval_paired(const struct bench_session *s, size_t b, enum bench_metric m, size_t vx,
                        size_t cx, size_t vy, size_t cy, struct rule_result *k)
{
	struct comparison c;

	/* X against Y: ln(X/Y), the A/B comparisons' method (docs/bench.md) */
	bench_compare_arm_pair(s, b, m, vy, cy, vx, cx, &c);
	k->method = c.method == METHOD_PAIRED_RUNS
	                ? "paired runs, two drift-free values per block (Wilcoxon signed-rank)"
	                : "paired per block (Wilcoxon signed-rank)";
	set_interval(k, c.n, c.hl, c.lo, c.hi);
}

static void eval_value(const struct bench_session *s, size_t b, enum bench_metric m, size_t vx,
                       size_t cx, double value, struct rule_result *k)
{
	double *d = xcalloc(s->n_runs + 1, sizeof(double));
	size_t n = bench_arm_logs(s, b, vx, cx, m, false, d);
	struct comparison c;

	for (size_t i = 0; i < n; i++)
		d[i] -= log(value);
	stats_compare_paired(d, n, s->set.threshold, s->set.confidence, bench_metric_is_count(m),
	                     &c);
	k->method = "one-sample Wilcoxon of ln(run / recorded value), across time";
	set_interval(k, n, c.hl, c.lo, c.hi);
	free(d);
}

static void eval_recorded(const struct bench_session *s, size_t b, enum bench_metric m, size_t vx,
                          size_t cx, const struct rule_baseline *bl, struct rule_result *k)
{
	const struct bench_session *t = &bl->rec;
	const char *vname = bl->variant ? bl->variant : s->variants[vx].name;
	int tv = rules_variant_index(t, vname), tm = bench_metric_find(t, bench_metric_name(s, m));
	double *x = xcalloc(t->n_runs + 1, sizeof(double)),
	       *y = xcalloc(s->n_runs + 1, sizeof(double));
	size_t nx = 0, ny = bench_arm_logs(s, b, vx, cx, m, false, y);
	struct mann_whitney mw;

	k->method = "Mann-Whitney, unpaired, across time";
	for (size_t tb = 0; tv >= 0 && tm >= 0 && tb < t->n_benchmarks; tb++)
		if (strcmp(t->benchmarks[tb].name, s->benchmarks[b].name) == 0)
			nx = bench_arm_logs(t, tb, (size_t)tv, 0, (enum bench_metric)tm, false, x);
	if (nx && ny && stats_mann_whitney(x, nx, y, ny, s->set.confidence, &mw, NULL) == 0)
		set_interval(k, ny, mw.shift, mw.shift_lo, mw.shift_hi);
	else
		k->why = xasprintf("%s has no runs of %s/%s with metric %s", bl->path,
		                   s->benchmarks[b].name, vname, bench_metric_name(s, m));
	free(x);
	free(y);
}

static bool holds(const struct rule *k, const struct rule_result *x)
{
	if (!x->evaluated)
		return false;
	switch (k->eff_op) {
	case OP_GE: return x->lo >= k->eff_pct;
	case OP_GT: return x->lo > k->eff_pct;
	case OP_LE: return x->hi <= k->eff_pct;
	case OP_LT: return x->hi < k->eff_pct;
	}
	return false;
}

/* The benchmarks a rule judges: those matching the "benchmark" glob (all
 * without one) that have the metric; the first only without a
 * quantifier.  Returns how many (out holds s->n_benchmarks). */
static size_t rule_benchmarks(const struct rules *r, const struct rule *k,
                              const struct bench_session *s, enum bench_metric m, size_t *out)
{
	size_t n = 0;

	for (size_t b = 0; b < s->n_benchmarks; b++) {
		if (r->benchmark && fnmatch(r->benchmark, s->benchmarks[b].name, 0) != 0)
			continue;
		if (!bench_has_metric(s, b, m))
			continue;
		out[n++] = b;
		if (k->quant == QUANT_ONE)
			break;
	}
	return n;
}

/* Rule k on benchmark b. */
static int eval_one(const struct rules *r, const struct rule *k, const struct bench_session *s,
                    const struct bench_analysis *a, size_t b, enum bench_metric m,
                    struct rule_result *x, struct error *err)
{
	const struct rule_baseline *bl = rules_find_baseline(r, k->y);
	size_t vx, cx, vy, cy;

	x->bench = b;
	x->est = x->lo = x->hi = NAN;
	if (rules_resolve_arm(r, s, k->x, &vx, &cx, err) < 0)
		return -1;
	if (bl && bl->is_value)
		eval_value(s, b, m, vx, cx, bl->value, x);
	else if (bl)
		eval_recorded(s, b, m, vx, cx, bl, x);
	else if (rules_resolve_arm(r, s, k->y, &vy, &cy, err) < 0)
		return -1;
	else if (!from_comparison(a, b, m, vx, cx, vy, cy, x))
		eval_paired(s, b, m, vx, cx, vy, cy, x);
	x->holds = holds(k, x);
	return 0;
}

/* every: each judged benchmark holds; any: one does; one: the first. */
static void combine(struct rule *k)
{
	size_t held = 0, evaluated = 0;

	for (size_t i = 0; i < k->n_res; i++) {
		held += k->res[i].holds;
		evaluated += k->res[i].evaluated;
	}
	k->evaluated = evaluated > 0;
	k->holds = k->quant == QUANT_ANY ? held > 0 : k->n_res > 0 && held == k->n_res;
	if (k->quant != QUANT_ONE)
		return;
	k->n = k->res[0].n;
	k->est = k->res[0].est;
	k->lo = k->res[0].lo;
	k->hi = k->res[0].hi;
	k->method = k->res[0].method;
	k->why = k->res[0].why ? xstrdup(k->res[0].why) : NULL;
}

static int eval_rule(struct rules *r, struct rule *k, const struct bench_session *s,
                     const struct bench_analysis *a, struct error *err)
{
	int m = rules_rule_metric(r, k, s);
	size_t *benches, n;
	char *list = NULL;

	if (m < 0 &&
	    error_set(err, EXIT_RUNNER_ERROR, 0,
	              "%s:%zu: metric %s: no run reported it (metrics here: %s)", r->path, k->line,
	              k->metric ? k->metric : r->metric, list = rules_metric_list(s)) < 0) {
		free(list);
		return -1;
	}
	k->metric_name = bench_metric_name(s, (enum bench_metric)m);
	rules_warn_below_above(r, k, s, m);
	resolve_condition(k, bench_metric_direction(s, (enum bench_metric)m));
	benches = xcalloc(s->n_benchmarks + 1, sizeof(size_t));
	n = rule_benchmarks(r, k, s, (enum bench_metric)m, benches);
	if (n == 0) {
		free(benches);
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "%s:%zu: no benchmark%s%s has metric %s", r->path, k->line,
		                 r->benchmark ? " matching " : "", r->benchmark ? r->benchmark : "",
		                 k->metric_name);
	}
	k->res = xcalloc(n, sizeof(*k->res));
	for (size_t i = 0; i < n; i++, k->n_res++) {
		if (eval_one(r, k, s, a, benches[i], (enum bench_metric)m, &k->res[i], err) < 0) {
			free(benches);
			return error_prefix(err, "%s:%zu", r->path, k->line);
		}
		k->res[i].bench_name = xstrdup(s->benchmarks[benches[i]].name);
	}
	free(benches);
	combine(k);
	return 0;
}
/* What a rule found: its value and interval, or, quantified, where it held. */
static char *rule_finding(const struct rule *k)
{
	struct strbuf b = {0};

	if (k->quant == QUANT_ONE) {
		if (k->evaluated)
			return xasprintf("%s: %+.2f %% [%+.2f, %+.2f]", k->res[0].bench_name,
			                 k->est, k->lo, k->hi);
		return xasprintf("%s: n/a, %s", k->res[0].bench_name,
		                 k->why ? k->why : "too few runs");
	}
	strbuf_printf(&b, "held on");
	for (size_t i = 0, n = 0; i < k->n_res; i++)
		if (k->res[i].holds)
			strbuf_printf(&b, "%s %s", n++ ? "," : "", k->res[i].bench_name);
	strbuf_printf(&b, "%s; not on", b.len == strlen("held on") ? " none" : "");
	{
		size_t mark = b.len;

		for (size_t i = 0, n = 0; i < k->n_res; i++)
			if (!k->res[i].holds)
				strbuf_printf(&b, "%s %s", n++ ? "," : "", k->res[i].bench_name);
		if (b.len == mark)
			strbuf_printf(&b, " none");
	}
	return strbuf_take(&b);
}

static void decide(struct rules *r)
{
	size_t go_held = 0, n_go = 0;
	char *f;

	free(r->reason);
	r->reason = NULL;
	for (size_t i = 0; i < r->n_rules; i++) {
		struct rule *k = &r->rules[i];

		if (k->no_go && k->holds && r->reason == NULL) {
			r->outcome = DECISION_NO_GO;
			f = rule_finding(k);
			r->reason = xasprintf("no-go: %s (%s, %s)", k->text, k->metric_name, f);
			free(f);
		}
		n_go += !k->no_go;
		go_held += !k->no_go && k->holds;
	}
	if (r->reason)
		return;
	if (n_go > 0 && go_held == n_go) {
		r->outcome = DECISION_GO;
		r->reason = xasprintf("go: all %zu go rules hold and no no-go rule does", n_go);
		return;
	}
	r->outcome = DECISION_NEUTRAL;
	for (size_t i = 0; i < r->n_rules && r->reason == NULL; i++)
		if (!r->rules[i].no_go && !r->rules[i].holds) {
			f = rule_finding(&r->rules[i]);
			r->reason = xasprintf("neutral: no no-go rule holds, but not '%s' (%s, %s)",
			                      r->rules[i].text, r->rules[i].metric_name, f);
			free(f);
		}
	if (r->reason == NULL)
		r->reason = xstrdup("neutral: no go rule");
}

int rules_evaluate(struct rules *r, const struct bench_session *s, const struct bench_analysis *a,
                   struct error *err)
{
	for (size_t i = 0; i < r->n_rules; i++)
		if (eval_rule(r, &r->rules[i], s, a, err) < 0)
			return -1;
	decide(r);
	return 0;
}
