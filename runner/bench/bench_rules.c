/* bench_rules.c - see bench_rules.h */
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

static const char *const decision_names[] = {
    [DECISION_GO] = "go",
    [DECISION_NEUTRAL] = "neutral",
    [DECISION_NO_GO] = "no-go",
};
static const char *const op_names[] = {
    [OP_GE] = ">=", [OP_GT] = ">", [OP_LE] = "<=", [OP_LT] = "<"};

DEFINE_STRING_TABLE_TO_NAME(decision_name, enum decision, decision_names, "unknown");
static DEFINE_STRING_TABLE_FROM_NAME(op_by_name, op_names);

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
	int i = op_by_name(text);

	if (i < 0)
		return -1;
	*op = (enum rule_op)i;
	return 0;
}

#define RULE_WORDS_MAX 12

/* The words of a condition, split on blanks; -1 when there are too many. */
static int split_words(char *cond, char **w, size_t *n)
{
	char *save = NULL;

	*n = 0;
	for (char *t = strtok_r(cond, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (*n == RULE_WORDS_MAX)
			return -1;
		w[(*n)++] = t;
	}
	return 0;
}

static bool is_connective(const char *w)
{
	static const char *const words[] = {"vs", "below", "above", "better", "worse"};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(w, words[i]) == 0)
			return true;
	return false;
}

/* "+1.5%" -> 1.5; -1 for anything else. */
static int parse_pct(const char *text, double *pct)
{
	char *end;

	*pct = strtod(text, &end);
	return end != text && strcmp(end, "%") == 0 && isfinite(*pct) ? 0 : -1;
}

struct cond_parse {
	struct rules *r;
	struct rule *k;
	size_t line;
	const char *text; /* the whole condition, for messages */
};

static int cond_error(const struct cond_parse *p, const char *what, struct error *err)
{
	return parse_error(err, p->r->path, p->line, what, p->text);
}

/* The optional METRIC at w[i], and nothing after it. */
static int parse_metric_tail(const struct cond_parse *p, char **w, size_t n, size_t i,
                             struct error *err)
{
	enum rule_op op;

	if (i == n)
		return 0;
	if (i + 1 < n || strchr(w[i], '%') || parse_op(w[i], &op) == 0)
		return cond_error(
		    p, "unexpected text after the condition (one METRIC name may end it)", err);
	p->k->metric = xstrdup(w[i]);
	return 0;
}

/* w[i..]: "vs Y OP P% [METRIC]" */
static int parse_vs(const struct cond_parse *p, char **w, size_t n, size_t i, struct error *err)
{
	if (n < i + 4 || parse_op(w[i + 2], &p->k->op) < 0)
		return cond_error(p, "expected X vs Y OP P% [METRIC] (OP: >= > <= <)", err);
	if (parse_pct(w[i + 3], &p->k->pct) < 0)
		return parse_error(err, p->r->path, p->line, "expected a percentage such as +1.0%",
		                   w[i + 3]);
	p->k->y = xstrdup(w[i + 1]);
	p->k->sense = SENSE_CHANGE;
	return parse_metric_tail(p, w, n, i + 4, err);
}

/* w[i..]: "better|worse than Y [by P%] [METRIC]" */
static int parse_better_worse(const struct cond_parse *p, char **w, size_t n, size_t i,
                              struct error *err)
{
	struct rule *k = p->k;
	size_t next = i + 3;

	if (n < i + 3 || strcmp(w[i + 1], "than") != 0)
		return cond_error(p, "expected X better than Y [by P%] or X worse than Y [by P%]",
		                  err);
	k->sense = w[i][0] == 'b' ? SENSE_BETTER : SENSE_WORSE;
	k->y = xstrdup(w[i + 2]);
	if (next < n && strcmp(w[next], "by") == 0) {
		if (next + 1 == n || parse_pct(w[next + 1], &k->pct) < 0)
			return cond_error(p, "expected 'by' and a percentage such as 5%", err);
		if (k->pct < 0)
			return parse_error(err, p->r->path, p->line,
			                   "a margin is not negative (say better or worse instead)",
			                   w[next + 1]);
		k->by = true;
		next += 2;
	}
	return parse_metric_tail(p, w, n, next, err);
}

/* w[i..]: "below|above Y [METRIC]": signs, kept for old rules files (and
 * warned about where they read as the opposite of what was meant). */
static int parse_below_above(const struct cond_parse *p, char **w, size_t n, size_t i,
                             struct error *err)
{
	struct rule *k = p->k;

	k->sense = SENSE_CHANGE;
	k->says_below_above = true;
	k->op = w[i][0] == 'b' ? OP_LT : OP_GT;
	k->pct = 0;
	k->y = xstrdup(w[i + 1]);
	return parse_metric_tail(p, w, n, i + 2, err);
}

/* "[every|any] X vs Y OP P% [METRIC]", "X better|worse than Y [by P%]
 * [METRIC]", "X below|above Y [METRIC]" */
static int parse_condition(struct rules *r, struct rule *k, const char *cond, size_t line,
                           struct error *err)
{
	char *copy = xstrdup(cond), *w[RULE_WORDS_MAX];
	struct cond_parse p = {r, k, line, cond};
	size_t n, i = 0;
	int rc;

	if (split_words(copy, w, &n) < 0) {
		free(copy);
		return cond_error(&p, "too many words for a condition", err);
	}
	if (n >= 3 && !is_connective(w[1]) &&
	    (strcmp(w[0], "every") == 0 || strcmp(w[0], "any") == 0)) {
		k->quant = w[0][0] == 'e' ? QUANT_EVERY : QUANT_ANY;
		i = 1;
	}
	if (n < i + 3) {
		rc = cond_error(&p,
		                "expected [every|any] X vs Y OP P%, X better than Y [by P%], "
		                "X worse than Y [by P%], X below Y or X above Y",
		                err);
	} else {
		k->x = xstrdup(w[i]);
		if (strcmp(w[i + 1], "vs") == 0) {
			rc = parse_vs(&p, w, n, i + 1, err);
		} else if (strcmp(w[i + 1], "better") == 0 || strcmp(w[i + 1], "worse") == 0) {
			rc = parse_better_worse(&p, w, n, i + 1, err);
		} else if (strcmp(w[i + 1], "below") == 0 || strcmp(w[i + 1], "above") == 0) {
			rc = parse_below_above(&p, w, n, i + 1, err);
		} else {
			rc = cond_error(&p,
			                "expected X vs Y OP P%, X better than Y, X worse than Y, "
			                "X below Y or X above Y",
			                err);
		}
	}
	free(copy);
	return rc;
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
	k->est = k->lo = k->hi = NAN;
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

		if (key[0] == 'm')
			r->metric_line = no;
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

/* "wall, cpu, ops" */
static char *metric_list(const struct bench_session *s)
{
	struct strbuf b = {0};

	for (size_t m = 0; m < bench_n_metrics(s); m++)
		strbuf_printf(&b, "%s%s", m ? ", " : "",
		              bench_metric_name(s, (enum bench_metric)m));
	return strbuf_take(&b);
}

/* The metric a rule judges: its own, the file's, else the gate's; -1 when
 * the session has none of that name (yet: a reported metric is known once
 * a run reported it). */
static int rule_metric(const struct rules *r, const struct rule *k, const struct bench_session *s)
{
	const char *name = k->metric ? k->metric : r->metric;

	if (name == NULL)
		return s->set.metric_reported ? bench_metric_find(s, s->set.metric_reported)
		                              : (int)s->set.metric;
	return bench_metric_find(s, name);
}

static void add_warning(struct rules *r, char *text)
{
	r->warnings = xrealloc(r->warnings, (r->n_warnings + 1) * sizeof(char *));
	r->warnings[r->n_warnings++] = text;
}

/* "below" and "above" are signs, not verdicts: on a time, "below" is the
 * better side, which a no-go rule almost never means. */
static void warn_below_above(struct rules *r, struct rule *k, const struct bench_session *s, int m)
{
	if (!k->says_below_above || k->warned || m < 0 ||
	    bench_metric_direction(s, (enum bench_metric)m) != DIRECTION_LOWER)
		return;
	k->warned = true;
	add_warning(r,
	            xasprintf("%s:%zu: warning: '%s': %s is lower-is-better, so 'below' is "
	                      "the better side and 'above' the worse; say '%s better than %s' "
	                      "or '%s worse than %s'",
	                      r->path, k->line, k->text, bench_metric_name(s, (enum bench_metric)m),
	                      k->x, k->y, k->x, k->y));
}

/* A recorded baseline named like a variant wins in every rule that names
 * it: the rule then compares across time, not with this session's runs,
 * and its interval differs from the bench's own comparison. */
static void warn_shadowed_variants(struct rules *r, const struct bench_session *s)
{
	for (size_t i = 0; i < r->n_baselines; i++) {
		const struct rule_baseline *b = &r->baselines[i];

		if (variant_index(s, b->name) < 0)
			continue;
		add_warning(r, xasprintf("%s:%zu: warning: baseline %s hides the variant %s: rules "
		                         "naming it compare with the recorded %s, not with this "
		                         "session's runs",
		                         r->path, b->line, b->name, b->name,
		                         b->is_value ? "value" : "result"));
	}
}

/* Can the session come to have metric `name`: a builtin, one it has, or
 * one a source will report (a regex names its metric; a JSON harness may
 * report any name)? */
static bool metric_possible(const struct bench_session *s, const char *name)
{
	if (bench_builtin_metric(name) >= 0 || bench_metric_find(s, name) >= 0)
		return true;
	for (size_t i = 0; i < s->set.n_metric_sources; i++) {
		const char *src = s->set.metric_sources[i];

		if (strncmp(src, "json:", 5) == 0)
			return true;
		if (strncmp(src, "regex:", 6) == 0 && strcspn(src + 6, ":") == strlen(name) &&
		    strncmp(src + 6, name, strlen(name)) == 0)
			return true;
	}
	return false;
}

/* A metric name no run can have is refused before the first run, not
 * after the whole bench. */
static int check_metric(const struct rules *r, const struct rule *k, const struct bench_session *s,
                        struct error *err)
{
	const char *name = k->metric ? k->metric : r->metric;
	struct strbuf b = {0};
	int rc;

	if (name == NULL || metric_possible(s, name))
		return 0;
	for (size_t m = 0; m < METRIC_BUILTIN_COUNT; m++)
		strbuf_printf(&b, "%s%s", m ? ", " : "",
		              bench_metric_name(s, (enum bench_metric)m));
	rc = error_set(err, EXIT_RUNNER_ERROR, 0,
	               "%s:%zu: metric %s: neither a builtin metric (%s) nor one that "
	               "--metric-regex or --metric-json reports",
	               r->path, k->metric ? k->line : r->metric_line, name, b.s);
	free(b.s);
	return rc;
}

int rules_check(struct rules *r, const struct bench_session *s, struct error *err)
{
	warn_shadowed_variants(r, s);
	for (size_t i = 0; i < r->n_rules; i++) {
		struct rule *k = &r->rules[i];
		size_t v, c;

		if (check_metric(r, k, s, err) < 0)
			return -1;

		if (resolve_arm(r, s, k->x, &v, &c, err) < 0 ||
		    (find_baseline(r, k->y) == NULL && resolve_arm(r, s, k->y, &v, &c, err) < 0))
			return error_prefix(err, "%s:%zu", r->path, k->line);
		warn_below_above(r, k, s, rule_metric(r, k, s));
	}
	return 0;
}

/* ---- evaluation -------------------------------------------------------------- */

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
	const struct rule_baseline *bl = find_baseline(r, k->y);
	size_t vx, cx, vy, cy;

	x->bench = b;
	x->est = x->lo = x->hi = NAN;
	if (resolve_arm(r, s, k->x, &vx, &cx, err) < 0)
		return -1;
	if (bl && bl->is_value)
		eval_value(s, b, m, vx, cx, bl->value, x);
	else if (bl)
		eval_recorded(s, b, m, vx, cx, bl, x);
	else if (resolve_arm(r, s, k->y, &vy, &cy, err) < 0)
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
	int m = rule_metric(r, k, s);
	size_t *benches, n;
	char *list = NULL;

	if (m < 0 &&
	    error_set(err, EXIT_RUNNER_ERROR, 0,
	              "%s:%zu: metric %s: no run reported it (metrics here: %s)", r->path, k->line,
	              k->metric ? k->metric : r->metric, list = metric_list(s)) < 0) {
		free(list);
		return -1;
	}
	k->metric_name = bench_metric_name(s, (enum bench_metric)m);
	warn_below_above(r, k, s, m);
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

/* ---- reports ----------------------------------------------------------------- */

/* QUANT_ONE has no word: a rule on the first benchmark names none */
static const char *const quant_names[] = {[QUANT_EVERY] = "every", [QUANT_ANY] = "any"};

static DEFINE_STRING_TABLE_TO_NAME(quant_name, enum rule_quantifier, quant_names, NULL);

/* "vs <= -5.00%": what a better/worse rule came to, for the reader. */
static char *condition_text(const struct rule *k)
{
	return xasprintf("%s vs %s %s %+.2f%%", k->x, k->y, op_names[k->eff_op], k->eff_pct);
}

static void print_result(FILE *out, const char *indent, const struct rule_result *x)
{
	if (x->evaluated)
		fprintf(out, "%s%-16s %+.2f %% [%+.2f, %+.2f]  %s  (%s)\n", indent, x->bench_name,
		        x->est, x->lo, x->hi, x->holds ? "holds" : "does not hold", x->method);
	else
		fprintf(out, "%s%-16s n/a (%s)  does not hold\n", indent, x->bench_name,
		        x->why ? x->why : "too few runs");
}

void rules_print(FILE *out, const struct rules *r)
{
	fprintf(out, "decision (%s):\n", r->path);
	for (size_t i = 0; i < r->n_rules; i++) {
		const struct rule *k = &r->rules[i];
		char *cond = condition_text(k);

		fprintf(out, "  %-6s %-32s [%s: %s]\n", k->no_go ? "no-go" : "go", k->text,
		        k->metric_name ? k->metric_name : "?", cond);
		free(cond);
		for (size_t j = 0; j < k->n_res; j++)
			print_result(out, "      ", &k->res[j]);
		if (k->quant != QUANT_ONE)
			fprintf(out, "      %s: %s\n", quant_name(k->quant),
			        k->holds ? "holds" : "does not hold");
	}
	fprintf(out, "DECISION: %s - %s\n", decision_name(r->outcome), r->reason);
}

char *rules_markdown(const struct rules *r)
{
	struct strbuf b = {0};

	strbuf_printf(&b,
	              "\n#### Decision: **%s**\n\n%s\n\n| rule | metric | benchmark | value "
	              "(interval) | method | holds |\n|---|---|---|---|---|---|\n",
	              decision_name(r->outcome), r->reason);
	for (size_t i = 0; i < r->n_rules; i++) {
		const struct rule *k = &r->rules[i];

		for (size_t j = 0; j < k->n_res; j++) {
			const struct rule_result *x = &k->res[j];

			strbuf_printf(&b, "| %s %s | %s | %s | ", k->no_go ? "no-go" : "go",
			              k->text, k->metric_name, x->bench_name);
			if (x->evaluated)
				strbuf_printf(&b, "%+.2f %% [%+.2f, %+.2f] | %s | %s |\n", x->est,
				              x->lo, x->hi, x->method, x->holds ? "yes" : "no");
			else
				strbuf_printf(&b, "n/a | %s | no |\n",
				              x->why ? x->why : "too few runs");
		}
		if (k->quant != QUANT_ONE)
			strbuf_printf(&b, "| %s %s | %s | %s of %zu | | | **%s** |\n",
			              k->no_go ? "no-go" : "go", k->text, k->metric_name,
			              quant_name(k->quant), k->n_res, k->holds ? "yes" : "no");
	}
	return strbuf_take(&b);
}

static json_t *result_json(const struct rule_result *x)
{
	return json_pack("{s:s, s:b, s:o, s:o, s:o, s:i, s:s?, s:s?}", "benchmark", x->bench_name,
	                 "holds", x->holds, "value_pct",
	                 json_real_or_null(x->evaluated ? x->est : NAN), "ci_low_pct",
	                 json_real_or_null(x->evaluated ? x->lo : NAN), "ci_high_pct",
	                 json_real_or_null(x->evaluated ? x->hi : NAN), "n", (json_int_t)x->n,
	                 "method", x->method, "why", x->why);
}

static json_t *rule_json(const struct rule *k)
{
	json_t *res = json_array(), *held = json_array(), *failed = json_array(), *o;
	char *cond = condition_text(k);
	bool one = k->quant == QUANT_ONE;

	for (size_t j = 0; j < k->n_res; j++) {
		json_array_append_new(res, result_json(&k->res[j]));
		json_array_append_new(k->res[j].holds ? held : failed,
		                      json_string(k->res[j].bench_name));
	}
	o = json_pack("{s:s, s:s, s:i, s:b, s:o, s:o, s:o, s:i, s:s?, s:s?}", "kind",
	              k->no_go ? "no-go" : "go", "rule", k->text, "line", (json_int_t)k->line,
	              "holds", k->holds, "value_pct",
	              json_real_or_null(one && k->evaluated ? k->est : NAN), "ci_low_pct",
	              json_real_or_null(one && k->evaluated ? k->lo : NAN), "ci_high_pct",
	              json_real_or_null(one && k->evaluated ? k->hi : NAN), "n", (json_int_t)k->n,
	              "method", k->method, "why", k->why);
	json_object_set_new(o, "metric",
	                    k->metric_name ? json_string(k->metric_name) : json_null());
	json_object_set_new(o, "condition", json_string(cond));
	json_object_set_new(o, "quantifier", one ? json_null() : json_string(quant_name(k->quant)));
	json_object_set_new(o, "benchmark",
	                    one && k->n_res ? json_string(k->res[0].bench_name) : json_null());
	json_object_set_new(o, "benchmarks", res);
	json_object_set_new(o, "held", held);
	json_object_set_new(o, "failed", failed);
	free(cond);
	return o;
}

json_t *rules_json(const struct rules *r)
{
	json_t *arr = json_array(), *warn = json_array();

	for (size_t i = 0; i < r->n_rules; i++)
		json_array_append_new(arr, rule_json(&r->rules[i]));
	for (size_t i = 0; i < r->n_warnings; i++)
		json_array_append_new(warn, json_string(r->warnings[i]));
	return json_pack("{s:s, s:s, s:s, s:i, s:o, s:o}", "source", r->path, "outcome",
	                 decision_name(r->outcome), "reason", r->reason ? r->reason : "",
	                 "exit_code",
	                 (json_int_t)(r->outcome == DECISION_GO      ? 0
	                              : r->outcome == DECISION_NO_GO ? BENCH_EXIT_NO_GO
	                                                             : BENCH_EXIT_NEUTRAL),
	                 "rules", arr, "warnings", warn);
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
		struct rule *k = &r->rules[i];

		free(k->text);
		free(k->x);
		free(k->y);
		free(k->metric);
		free(k->why);
		for (size_t j = 0; j < k->n_res; j++) {
			free(k->res[j].why);
			free(k->res[j].bench_name);
		}
		free(k->res);
	}
	for (size_t i = 0; i < r->n_warnings; i++)
		free(r->warnings[i]);
	free(r->warnings);
	free(r->rules);
	free(r->path);
	free(r->metric);
	free(r->benchmark);
	free(r->reason);
	memset(r, 0, sizeof(*r));
}
