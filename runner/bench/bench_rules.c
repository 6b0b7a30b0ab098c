/* bench_rules.c - see bench_rules.h: reading a rules file (and the
 * recorded baselines it names).  Checking rules against a session is in
 * bench_rules_check.c, evaluating them in bench_rules_eval.c, printing and
 * JSON in bench_rules_report.c. */
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
#include "base/strv.h"

static const char *const decision_names[] = {
    [DECISION_GO] = "go",
    [DECISION_NEUTRAL] = "neutral",
    [DECISION_NO_GO] = "no-go",
};
const char *const rules_op_names[] = {[OP_GE] = ">=", [OP_GT] = ">", [OP_LE] = "<=", [OP_LT] = "<"};

DEFINE_STRING_TABLE_TO_NAME(decision_name, enum decision, decision_names, "unknown");
static DEFINE_STRING_TABLE_FROM_NAME(op_by_name, rules_op_names);

/* ---- parsing ----------------------------------------------------------------- */

char *rules_trim(char *s)
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
	*name = rules_trim(rest);
	*value = rules_trim(eq + 1);
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
		p->cell = xstrdup(rules_trim(at + 1));
	}
	p->variant = xstrdup(rules_trim(value));
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
	if (end != value && *rules_trim(end) == '\0') {
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
	line = rules_trim(line);
	if (*line == '\0')
		return 0;
	key = line;
	rest = line + strcspn(line, " \t");
	if (*rest)
		*rest++ = '\0';
	rest = rules_trim(rest);
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
	strv_free_n(r->warnings, r->n_warnings);
	free(r->rules);
	free(r->path);
	free(r->metric);
	free(r->benchmark);
	free(r->reason);
	memset(r, 0, sizeof(*r));
}
