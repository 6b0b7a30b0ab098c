/* bench_rules_check.c - rules against a session before it runs (bench_rules.h rules_check): the
 * names a rule uses resolve to variants, cells and baselines, its metric exists, and warnings for
 * rules that cannot mean what they say */
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

int rules_variant_index(const struct bench_session *s, const char *name)
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
				if (strcmp(s->knobs[k].key, rules_trim(kv)) == 0) {
					known = true;
					match =
					    strcmp(s->knobs[k].values[bench_cell_level(s, c, k)],
					           rules_trim(eq + 1)) == 0;
				}
			if (!known) {
				error_set(err, EXIT_RUNNER_ERROR, 0, "no --matrix knob '%s'",
				          rules_trim(kv));
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
int rules_resolve_arm(const struct rules *r, const struct bench_session *s, const char *name,
                      size_t *variant, size_t *cell, struct error *err)
{
	const char *vname = name, *cspec = NULL;
	int v, c;

	for (size_t i = 0; i < r->n_points; i++)
		if (strcmp(r->points[i].name, name) == 0) {
			vname = r->points[i].variant;
			cspec = r->points[i].cell;
		}
	v = rules_variant_index(s, vname);
	if (v < 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "'%s': no such point or variant", name);
	c = cell_index(s, cspec, err);
	if (c < 0)
		return error_prefix(err, "'%s'", name);
	*variant = (size_t)v;
	*cell = (size_t)c;
	return 0;
}

const struct rule_baseline *rules_find_baseline(const struct rules *r, const char *name)
{
	for (size_t i = 0; i < r->n_baselines; i++)
		if (strcmp(r->baselines[i].name, name) == 0)
			return &r->baselines[i];
	return NULL;
}

/* "wall, cpu, ops" */
char *rules_metric_list(const struct bench_session *s)
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
int rules_rule_metric(const struct rules *r, const struct rule *k, const struct bench_session *s)
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
void rules_warn_below_above(struct rules *r, struct rule *k, const struct bench_session *s, int m)
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

		if (rules_variant_index(s, b->name) < 0)
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

		if (rules_resolve_arm(r, s, k->x, &v, &c, err) < 0 ||
		    (rules_find_baseline(r, k->y) == NULL &&
		     rules_resolve_arm(r, s, k->y, &v, &c, err) < 0))
			return error_prefix(err, "%s:%zu", r->path, k->line);
		rules_warn_below_above(r, k, s, rules_rule_metric(r, k, s));
	}
	return 0;
}
