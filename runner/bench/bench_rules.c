/* bench_rules.c - see bench_rules.h */
#define _GNU_SOURCE
#include "bench/bench_rules.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_analysis.h"
#include "bench/bench_recorded.h"
#include "bench/stats.h"
#include "base/strbuf.h"

static const char *const decision_names[] = {"go", "neutral", "no-go"};
static const char *const op_names[] = {">=", ">", "<=", "<"};

const char *decision_name(enum decision d)
{
	return (unsigned)d <= DECISION_NO_GO ? decision_names[d] : "unknown";
}

/* ---- parsing ----------------------------------------------------------------- */

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static int parse_error(struct error *err, const char *path, size_t line, const char *what,
                       const char *text)
{
	return error_set(err, EXIT_RUNNER_ERROR, 0, "%s:%zu: %s: '%s'", path, line, what, text);
}

/* "NAME = REST" */
static int split_assign(char *rest, char **name, char **value)
{
	char *eq = strchr(rest, '=');

	if (eq == NULL)
		return -1;
	*eq = '\0';
	*name = trim(rest);
	*value = trim(eq + 1);
	return **name && **value && strcspn(*name, " \t") == strlen(*name) ? 0 : -1;
}

static int parse_point(struct rules *r, char *rest, size_t line, struct error *err)
{
	char *name, *value, *at;
	struct rule_point *p;

	if (split_assign(rest, &name, &value) < 0)
		return parse_error(err, r->path, line, "expected point NAME = VARIANT [@ K=V,...]",
		                   rest);
	r->points = xrealloc(r->points, (r->n_points + 1) * sizeof(*r->points));
	p = &r->points[r->n_points++];
	memset(p, 0, sizeof(*p));
	p->name = xstrdup(name);
	p->line = line;
	at = strchr(value, '@');
	if (at) {
		*at = '\0';
		p->cell = xstrdup(trim(at + 1));
	}
	p->variant = xstrdup(trim(value));
	return 0;
}

static int parse_baseline(struct rules *r, char *rest, size_t line, struct error *err)
{
	char *name, *value, *end;
	struct rule_baseline *b;
	double v;

	if (split_assign(rest, &name, &value) < 0)
		return parse_error(err, r->path, line,
		                   "expected baseline NAME = VALUE or RESULT.json[:VARIANT]", rest);
	r->baselines = xrealloc(r->baselines, (r->n_baselines + 1) * sizeof(*r->baselines));
	b = &r->baselines[r->n_baselines++];
	memset(b, 0, sizeof(*b));
	b->name = xstrdup(name);
	b->line = line;
	v = strtod(value, &end);
	if (end != value && *trim(end) == '\0') {
		if (!(v > 0) || !isfinite(v))
			return parse_error(err, r->path, line, "a baseline value must be positive",
			                   value);
		b->is_value = true;
		b->value = v;
		return 0;
	}
	bench_recorded_split(value, &b->path, &b->variant);
	return 0;
}

static int parse_op(const char *text, enum rule_op *op)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(text, op_names[i]) == 0) {
			*op = (enum rule_op)i;
			return 0;
		}
	return -1;
}

/* "X vs Y OP P%", "X below Y", "X above Y" */
static int parse_condition(struct rules *r, struct rule *k, char *cond, size_t line,
                           struct error *err)
{
	char x[128], word[16], y[128], op[8], pct[32];
	int n = 0;

	if (sscanf(cond, "%127s %15s %127s %n", x, word, y, &n) < 3)
		return parse_error(err, r->path, line,
		                   "expected X vs Y OP P%, X below Y or X above Y", cond);
	k->x = xstrdup(x);
	k->y = xstrdup(y);
	if (strcmp(word, "below") == 0 || strcmp(word, "above") == 0) {
		k->op = word[0] == 'b' ? OP_LT : OP_GT;
		k->pct = 0;
		return *trim(cond + n)
		           ? parse_error(err, r->path, line, "unexpected text after", cond)
		           : 0;
	}
	if (strcmp(word, "vs") != 0 || sscanf(cond + n, "%7s %31s", op, pct) != 2 ||
	    parse_op(op, &k->op) < 0)
		return parse_error(err, r->path, line, "expected X vs Y OP P% (OP: >= > <= <)",
		                   cond);
	{
		char *end;

		k->pct = strtod(pct, &end);
		if (end == pct || strcmp(end, "%") != 0 || !isfinite(k->pct))
			return parse_error(err, r->path, line,
			                   "expected a percentage such as +1.0%", pct);
	}
	return 0;
}

static int parse_rule(struct rules *r, bool no_go, char *rest, size_t line, struct error *err)
{
	struct rule *k;

	r->rules = xrealloc(r->rules, (r->n_rules + 1) * sizeof(*r->rules));
	k = &r->rules[r->n_rules++];
	memset(k, 0, sizeof(*k));
	k->no_go = no_go;
	k->line = line;
	k->text = xstrdup(rest);
	return parse_condition(r, k, rest, line, err);
}

static int parse_line(struct rules *r, char *line, size_t no, struct error *err)
{
	char *hash = strchr(line, '#'), *key, *rest;

	if (hash)
		*hash = '\0';
	line = trim(line);
	if (*line == '\0')
		return 0;
	key = line;
	rest = line + strcspn(line, " \t");
	if (*rest)
		*rest++ = '\0';
	rest = trim(rest);
	if (strcmp(key, "metric") == 0 || strcmp(key, "benchmark") == 0) {
		char **slot = key[0] == 'm' ? &r->metric : &r->benchmark;

		free(*slot);
		*slot = xstrdup(rest);
		return *rest ? 0 : parse_error(err, r->path, no, "needs a name", key);
	}
	if (strcmp(key, "point") == 0)
		return parse_point(r, rest, no, err);
	if (strcmp(key, "baseline") == 0)
		return parse_baseline(r, rest, no, err);
	if (strcmp(key, "go") == 0 || strcmp(key, "no-go") == 0)
		return parse_rule(r, key[0] == 'n', rest, no, err);
	return parse_error(err, r->path, no,
	                   "expected metric, benchmark, point, baseline, go or no-go", key);
}

int rules_parse(const char *path, const char *text, struct rules *r, struct error *err)
{
	char *copy = xstrdup(text), *save = NULL, *line;
	size_t no = 0;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	r->path = xstrdup(path);
	/* strtok_r would skip empty lines and lose the numbering */
	for (line = copy; rc == 0 && line; line = save) {
		save = strchr(line, '\n');
		if (save)
			*save++ = '\0';
		rc = parse_line(r, line, ++no, err);
	}
	free(copy);
	if (rc == 0 && r->n_rules == 0)
		rc = error_set(err, EXIT_RUNNER_ERROR, 0, "%s: no go or no-go rule", path);
	return rc;
}

int rules_load(const char *path, struct rules *r, struct error *err)
{
	char *text = NULL;
	int rc;

	if (read_file(path, &text, NULL, err) < 0)
		return error_prefix(err, "--rules");
	rc = rules_parse(path, text, r, err);
	free(text);
	return rc;
}

int rules_load_recorded(struct rules *r, bool allow_other_host, struct error *err)
{
	for (size_t i = 0; i < r->n_baselines; i++) {
		struct rule_baseline *b = &r->baselines[i];

		if (b->is_value)
			continue;
		bench_session_init(&b->rec);
		b->loaded = true;
		if (bench_session_load(b->path, &b->rec, err) < 0 ||
		    bench_recorded_check_host(&b->rec, b->path, allow_other_host, err) < 0)
			return error_prefix(err, "%s:%zu: baseline %s", r->path, b->line, b->name);
	}
	return 0;
}

/* ---- names ------------------------------------------------------------------- */

static int variant_index(const struct bench_session *s, const char *name)
{
	for (size_t v = 0; v < s->n_variants; v++)
		if (strcmp(s->variants[v].name, name) == 0)
			return (int)v;
	return -1;
}

/* The cell whose knobs have the values of "K=V,K=V" (a knob left out must
 * have one value); -1 + err otherwise. */
static int cell_index(const struct bench_session *s, const char *spec, struct error *err)
{
	if (spec == NULL)
		return bench_n_cells(s) == 1
		           ? 0
		           : error_set(err, EXIT_RUNNER_ERROR, 0,
		                       "names no cell: the matrix has several; declare a point "
		                       "NAME = VARIANT @ K=V,...");
	for (size_t c = 0; c < bench_n_cells(s); c++) {
		bool match = true;
		char *copy = xstrdup(spec), *save = NULL;

		for (char *kv = strtok_r(copy, ",", &save); kv && match;
		     kv = strtok_r(NULL, ",", &save)) {
			char *eq = strchr(kv, '=');
			bool known = false;

			if (eq == NULL) {
				free(copy);
				return error_set(err, EXIT_RUNNER_ERROR, 0, "'%s': expected K=V",
				                 kv);
			}
			*eq = '\0';
			for (size_t k = 0; k < s->n_knobs; k++)
				if (strcmp(s->knobs[k].key, trim(kv)) == 0) {
					known = true;
					match =
					    strcmp(s->knobs[k].values[bench_cell_level(s, c, k)],
					           trim(eq + 1)) == 0;
				}
			if (!known) {
				error_set(err, EXIT_RUNNER_ERROR, 0, "no --matrix knob '%s'",
				          trim(kv));
				free(copy);
				return -1;
			}
		}
		free(copy);
		if (match)
			return (int)c; /* the first: knobs left out take their first value */
	}
	return error_set(err, EXIT_RUNNER_ERROR, 0, "no cell of the matrix has %s", spec);
}

/* A point or a variant name -> (variant, cell). */
static int resolve_arm(const struct rules *r, const struct bench_session *s, const char *name,
                       size_t *variant, size_t *cell, struct error *err)
{
	const char *vname = name, *cspec = NULL;
	int v, c;

	for (size_t i = 0; i < r->n_points; i++)
		if (strcmp(r->points[i].name, name) == 0) {
			vname = r->points[i].variant;
			cspec = r->points[i].cell;
		}
	v = variant_index(s, vname);
	if (v < 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "'%s': no such point or variant", name);
	c = cell_index(s, cspec, err);
	if (c < 0)
		return error_prefix(err, "'%s'", name);
	*variant = (size_t)v;
	*cell = (size_t)c;
	return 0;
}

static const struct rule_baseline *find_baseline(const struct rules *r, const char *name)
{
	for (size_t i = 0; i < r->n_baselines; i++)
		if (strcmp(r->baselines[i].name, name) == 0)
			return &r->baselines[i];
	return NULL;
}

int rules_check(const struct rules *r, const struct bench_session *s, struct error *err)
{
	for (size_t i = 0; i < r->n_rules; i++) {
		const struct rule *k = &r->rules[i];
		size_t v, c;

		if (resolve_arm(r, s, k->x, &v, &c, err) < 0 ||
		    (find_baseline(r, k->y) == NULL && resolve_arm(r, s, k->y, &v, &c, err) < 0))
			return error_prefix(err, "%s:%zu", r->path, k->line);
	}
	return 0;
}

/* ---- evaluation -------------------------------------------------------------- */

static int rule_benchmark(const struct rules *r, const struct bench_session *s, enum bench_metric m,
                          size_t *b, struct error *err)
{
	for (size_t i = 0; i < s->n_benchmarks; i++) {
		if (r->benchmark ? strcmp(s->benchmarks[i].name, r->benchmark) != 0
		                 : !bench_has_metric(s, i, m))
			continue;
		*b = i;
		return 0;
	}
	return error_set(err, EXIT_RUNNER_ERROR, 0, "%s: no benchmark %s has metric %s", r->path,
	                 r->benchmark ? r->benchmark : "", bench_metric_name(s, m));
}

static void set_interval(struct rule *k, size_t n, double hl, double lo, double hi)
{
	k->n = n;
	k->est = 100.0 * expm1(hl);
	k->lo = 100.0 * expm1(lo);
	k->hi = 100.0 * expm1(hi);
	k->evaluated = n > 0 && isfinite(k->est);
}

static void eval_paired(const struct bench_session *s, size_t b, enum bench_metric m, size_t vx,
                        size_t cx, size_t vy, size_t cy, struct rule *k)
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
                       size_t cx, double value, struct rule *k)
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
                          size_t cx, const struct rule_baseline *bl, struct rule *k)
{
	const struct bench_session *t = &bl->rec;
	const char *vname = bl->variant ? bl->variant : s->variants[vx].name;
	int tv = variant_index(t, vname), tm = bench_metric_find(t, bench_metric_name(s, m));
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

static bool holds(const struct rule *k)
{
	if (!k->evaluated)
		return false;
	switch (k->op) {
	case OP_GE: return k->lo >= k->pct;
	case OP_GT: return k->lo > k->pct;
	case OP_LE: return k->hi <= k->pct;
	case OP_LT: return k->hi < k->pct;
	}
	return false;
}

static void decide(struct rules *r)
{
	size_t go_held = 0, n_go = 0;

	free(r->reason);
	r->reason = NULL;
	for (size_t i = 0; i < r->n_rules; i++) {
		struct rule *k = &r->rules[i];

		if (k->no_go && k->holds && r->reason == NULL) {
			r->outcome = DECISION_NO_GO;
			r->reason = xasprintf("no-go: %s (%+.2f %% [%+.2f, %+.2f])", k->text,
			                      k->est, k->lo, k->hi);
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
		if (!r->rules[i].no_go && !r->rules[i].holds)
			r->reason = xasprintf(
			    "neutral: no no-go rule holds, but not '%s' (%+.2f %% "
			    "[%+.2f, %+.2f])",
			    r->rules[i].text, r->rules[i].est, r->rules[i].lo, r->rules[i].hi);
	if (r->reason == NULL)
		r->reason = xstrdup("neutral: no go rule");
}

int rules_evaluate(struct rules *r, const struct bench_session *s, struct error *err)
{
	int mi = r->metric ? bench_metric_find(s, r->metric) : (int)s->set.metric;
	size_t b = 0;

	if (mi < 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "%s: metric %s: no run reported it",
		                 r->path, r->metric);
	if (rule_benchmark(r, s, (enum bench_metric)mi, &b, err) < 0)
		return -1;
	for (size_t i = 0; i < r->n_rules; i++) {
		struct rule *k = &r->rules[i];
		const struct rule_baseline *bl = find_baseline(r, k->y);
		size_t vx, cx, vy, cy;

		if (resolve_arm(r, s, k->x, &vx, &cx, err) < 0)
			return error_prefix(err, "%s:%zu", r->path, k->line);
		if (bl && bl->is_value)
			eval_value(s, b, (enum bench_metric)mi, vx, cx, bl->value, k);
		else if (bl)
			eval_recorded(s, b, (enum bench_metric)mi, vx, cx, bl, k);
		else if (resolve_arm(r, s, k->y, &vy, &cy, err) < 0)
			return error_prefix(err, "%s:%zu", r->path, k->line);
		else
			eval_paired(s, b, (enum bench_metric)mi, vx, cx, vy, cy, k);
		k->holds = holds(k);
	}
	decide(r);
	return 0;
}

/* ---- reports ----------------------------------------------------------------- */

void rules_print(FILE *out, const struct rules *r)
{
	fprintf(out, "decision (%s):\n", r->path);
	for (size_t i = 0; i < r->n_rules; i++) {
		const struct rule *k = &r->rules[i];

		if (k->evaluated)
			fprintf(out, "  %-6s %-32s %+.2f %% [%+.2f, %+.2f]  %s\n",
			        k->no_go ? "no-go" : "go", k->text, k->est, k->lo, k->hi,
			        k->holds ? "holds" : "does not hold");
		else
			fprintf(out, "  %-6s %-32s n/a (%s)  does not hold\n",
			        k->no_go ? "no-go" : "go", k->text,
			        k->why ? k->why : "too few runs");
	}
	fprintf(out, "DECISION: %s - %s\n", decision_name(r->outcome), r->reason);
}

char *rules_markdown(const struct rules *r)
{
	struct strbuf b = {0};

	strbuf_printf(&b,
	              "\n#### Decision: **%s**\n\n%s\n\n| rule | value (interval) | method | "
	              "holds |\n|---|---|---|---|\n",
	              decision_name(r->outcome), r->reason);
	for (size_t i = 0; i < r->n_rules; i++) {
		const struct rule *k = &r->rules[i];

		if (k->evaluated)
			strbuf_printf(&b, "| %s %s | %+.2f %% [%+.2f, %+.2f] | %s | %s |\n",
			              k->no_go ? "no-go" : "go", k->text, k->est, k->lo, k->hi,
			              k->method, k->holds ? "yes" : "no");
		else
			strbuf_printf(&b, "| %s %s | n/a | %s | no |\n", k->no_go ? "no-go" : "go",
			              k->text, k->why ? k->why : "too few runs");
	}
	return strbuf_take(&b);
}

json_t *rules_json(const struct rules *r)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < r->n_rules; i++) {
		const struct rule *k = &r->rules[i];

		json_array_append_new(
		    arr, json_pack("{s:s, s:s, s:i, s:b, s:o, s:o, s:o, s:i, s:s?, s:s?}", "kind",
		                   k->no_go ? "no-go" : "go", "rule", k->text, "line",
		                   (json_int_t)k->line, "holds", k->holds, "value_pct",
		                   json_real_or_null(k->evaluated ? k->est : NAN), "ci_low_pct",
		                   json_real_or_null(k->evaluated ? k->lo : NAN), "ci_high_pct",
		                   json_real_or_null(k->evaluated ? k->hi : NAN), "n",
		                   (json_int_t)k->n, "method", k->method, "why", k->why));
	}
	return json_pack("{s:s, s:s, s:s, s:i, s:o}", "source", r->path, "outcome",
	                 decision_name(r->outcome), "reason", r->reason ? r->reason : "",
	                 "exit_code",
	                 (json_int_t)(r->outcome == DECISION_GO      ? 0
	                              : r->outcome == DECISION_NO_GO ? BENCH_EXIT_NO_GO
	                                                             : BENCH_EXIT_NEUTRAL),
	                 "rules", arr);
}

void rules_free(struct rules *r)
{
	for (size_t i = 0; i < r->n_points; i++) {
		free(r->points[i].name);
		free(r->points[i].variant);
		free(r->points[i].cell);
	}
	free(r->points);
	for (size_t i = 0; i < r->n_baselines; i++) {
		free(r->baselines[i].name);
		free(r->baselines[i].path);
		free(r->baselines[i].variant);
		if (r->baselines[i].loaded)
			bench_session_free(&r->baselines[i].rec);
	}
	free(r->baselines);
	for (size_t i = 0; i < r->n_rules; i++) {
		free(r->rules[i].text);
		free(r->rules[i].x);
		free(r->rules[i].y);
		free(r->rules[i].why);
	}
	free(r->rules);
	free(r->path);
	free(r->metric);
	free(r->benchmark);
	free(r->reason);
	memset(r, 0, sizeof(*r));
}
