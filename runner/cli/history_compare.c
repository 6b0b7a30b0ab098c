/* history_compare.c - `pgo-sandbox history compare`: two recorded runs,
 * a baseline and a run, or a recorded run and a new result file.  The
 * samples were taken at different times, so nothing pairs them: the
 * comparison is unpaired (samples.h) and the report says so. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_host.h"
#include "bench/bench_report.h"
#include "history/history.h"
#include "cli/history.h"
#include "history/record.h"
#include "history/samples.h"

#define DEFAULT_THRESHOLD_PCT 2.0
#define CONFIDENCE 0.95

/* One side of the comparison: its samples, host, label and the facts
 * its metrics are read with. */
struct side {
	char *label; /* "run 3 (commit abc..., 2026-12-07 04:30)" */
	char *host;
	struct sample_sets sets;
	json_t *doc;      /* the document (directions, threshold) */
	double threshold; /* settings.threshold_pct */
};

static void side_free(struct side *s)
{
	free(s->label);
	free(s->host);
	sample_sets_free(&s->sets);
	json_decref(s->doc);
}

static void side_settings(struct side *sd)
{
	const json_t *t = json_object_get(json_object_get(sd->doc, "settings"), "threshold_pct");

	sd->threshold = json_is_number(t) ? json_number_value(t) : DEFAULT_THRESHOLD_PCT;
}

static int side_from_run(struct store *s, const char *ref, struct side *sd, struct error *err)
{
	char *id = NULL;
	const char *params[1];
	struct store_rows r;
	json_error_t jerr;
	char when[32];
	int rc;

	if (history_resolve_run(s, ref, &id, err) < 0)
		return -1;
	params[0] = id;
	rc = store_query(s,
	                 "SELECT git_commit, time_unix, host_fingerprint, document FROM runs"
	                 " WHERE id = ?",
	                 params, 1, &r, err);
	if (rc == 0 && r.n_rows == 1) {
		history_format_time(strtoll(store_cell(&r, 0, 1), NULL, 10), when);
		sd->label =
		    xasprintf("run %s (commit %.12s, %s)%s%s", id, store_cell(&r, 0, 0), when,
		              strcmp(ref, id) != 0 ? " = " : "", strcmp(ref, id) != 0 ? ref : "");
		sd->host = xstrdup(store_cell(&r, 0, 2));
		sd->doc = json_loads(store_cell(&r, 0, 3), 0, &jerr);
		side_settings(sd);
		rc = samples_from_run(s, id, &sd->sets, err);
	}
	if (rc == 0)
		store_rows_free(&r);
	free(id);
	return rc;
}

static int side_from_file(const char *path, struct side *sd, struct error *err)
{
	json_error_t jerr;
	const json_t *host;
	char fp[DIGEST_STR_MAX];

	sd->doc = json_load_file(path, 0, &jerr);
	if (sd->doc == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "%s: line %d: %s", path, jerr.line,
		                 jerr.text);
	if (record_check(sd->doc, path, err) < 0)
		return -1;
	host = json_object_get(json_object_get(sd->doc, "conditions"), "host");
	if (json_string_value(json_object_get(host, "fingerprint")))
		sd->host = xstrdup(json_string_value(json_object_get(host, "fingerprint")));
	else {
		host_fingerprint(host, fp);
		sd->host = xstrdup(fp);
	}
	sd->label = xasprintf("%s (not recorded)", path);
	side_settings(sd);
	return samples_from_doc(sd->doc, &sd->sets, err);
}

static bool selected(const struct history_opts *o, const struct sample_series *x)
{
	return (!o->benchmark || strcmp(o->benchmark, x->benchmark) == 0) &&
	       (!o->metric || strcmp(o->metric, x->metric) == 0) &&
	       (!o->variant || strcmp(o->variant, x->variant) == 0);
}

static json_t *finite_or_null(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *result_row(const struct sample_series *y, bool higher, const struct unpaired *u)
{
	json_t *row = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "benchmark", y->benchmark,
	                        "variant", y->variant, "cell", y->cell, "metric", y->metric,
	                        "direction", higher ? "higher" : "lower", "n_a", (json_int_t)u->na,
	                        "n_b", (json_int_t)u->nb);

	json_object_set_new(row, "median_a", finite_or_null(u->median_a));
	json_object_set_new(row, "median_b", finite_or_null(u->median_b));
	json_object_set_new(row, "pct", finite_or_null(u->pct));
	json_object_set_new(row, "pct_lo", finite_or_null(u->pct_lo));
	json_object_set_new(row, "pct_hi", finite_or_null(u->pct_hi));
	json_object_set_new(row, "verdict", json_string(u->verdict));
	return row;
}

/* One row per benchmark, variant, cell and metric present on both sides,
 * appended to `rows`; returns the number of regressions, -1 on error. */
static int compare_sides(const struct history_opts *o, const struct side *a, const struct side *b,
                         json_t *rows, size_t *missing, struct error *err)
{
	int regressions = 0;

	*missing = 0;
	for (size_t i = 0; i < b->sets.n; i++) {
		const struct sample_series *y = &b->sets.s[i], *x;
		bool higher = strcmp(record_direction(b->doc, y->metric), "higher") == 0;
		struct unpaired u;

		if (!selected(o, y))
			continue;
		x = sample_sets_find(&a->sets, y->benchmark, y->variant, y->cell, y->metric);
		if (x == NULL) {
			(*missing)++;
			continue;
		}
		if (compare_unpaired(x->v, x->n, y->v, y->n, higher, b->threshold, CONFIDENCE, &u,
		                     err) < 0)
			return error_prefix(err, "%s %s %s: ", y->benchmark, y->variant, y->metric);
		json_array_append_new(rows, result_row(y, higher, &u));
		regressions += u.regression;
	}
	return regressions;
}

static double num(const json_t *row, const char *key)
{
	const json_t *v = json_object_get(row, key);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* A reported metric's unit when the row carries one (builtins imply it). */
static const char *unit_of(const json_t *row)
{
	return json_string_value(json_object_get(row, "unit"));
}

static void print_rows(const json_t *rows)
{
	size_t i;
	const json_t *r;

	printf("%-16s %-12s %-12s %5s %12s %12s %9s %22s  %s\n", "BENCHMARK", "VARIANT", "METRIC",
	       "N", "A MEDIAN", "B MEDIAN", "CHANGE", "95 % INTERVAL", "VERDICT");
	json_array_foreach(rows, i, r)
	{
		const char *cell = json_string_value(json_object_get(r, "cell"));
		const char *metric = json_string_value(json_object_get(r, "metric"));
		char name[160], med_a[48], med_b[48];

		snprintf(name, sizeof(name), "%s%s%s%s",
		         json_string_value(json_object_get(r, "benchmark")), *cell ? " [" : "",
		         cell, *cell ? "]" : "");
		bench_format_metric_value(num(r, "median_a"), metric, unit_of(r), med_a,
		                          sizeof(med_a));
		bench_format_metric_value(num(r, "median_b"), metric, unit_of(r), med_b,
		                          sizeof(med_b));
		printf("%-16s %-12s %-12s %2lld/%-2lld %12s %12s %+8.2f%% [%+8.2f%%, %+8.2f%%]  "
		       "%s%s\n",
		       name, json_string_value(json_object_get(r, "variant")), metric,
		       (long long)json_integer_value(json_object_get(r, "n_a")),
		       (long long)json_integer_value(json_object_get(r, "n_b")), med_a, med_b,
		       num(r, "pct"),
		       json_is_null(json_object_get(r, "pct_lo")) ? -INFINITY : num(r, "pct_lo"),
		       json_is_null(json_object_get(r, "pct_hi")) ? INFINITY : num(r, "pct_hi"),
		       json_string_value(json_object_get(r, "verdict")),
		       strcmp(json_string_value(json_object_get(r, "direction")), "higher") == 0
		           ? " (higher is better)"
		           : "");
	}
}

static void report(const struct history_opts *o, const struct side *a, const struct side *b,
                   json_t *rows, size_t missing, int regressions)
{
	bool other_host = strcmp(a->host, b->host) != 0;
	json_t *doc;
	char *text;

	if (!o->json) {
		if (other_host)
			printf("note: different hosts (%.12s and %.12s), compared because of"
			       " --any-host\n",
			       history_short_host(a->host), history_short_host(b->host));
		printf("A: %s\nB: %s\n", a->label, b->label);
		printf("unpaired, across time: Mann-Whitney on log samples, Hodges-Lehmann shift of"
		       " B against A, threshold %.3g %%\n",
		       b->threshold);
		print_rows(rows);
		if (missing)
			printf("%zu series of B have no counterpart in A (not compared)\n",
			       missing);
		if (regressions > 0)
			printf("%d regression%s\n", regressions, regressions == 1 ? "" : "s");
		return;
	}
	doc =
	    json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:f, s:f, s:O, s:I, s:i}", "a", a->label, "b",
	              b->label, "method", "unpaired, across time: Mann-Whitney, Hodges-Lehmann",
	              "host_a", a->host, "host_b", b->host, "other_host", other_host,
	              "threshold_pct", b->threshold, "confidence", CONFIDENCE, "series", rows,
	              "not_compared", (json_int_t)missing, "regressions", regressions);
	text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
	if (text)
		puts(text);
	free(text);
	json_decref(doc);
}

static int host_check(const struct history_opts *o, const struct side *a, const struct side *b,
                      struct error *err)
{
	if (strcmp(a->host, b->host) == 0)
		return 0;
	if (!o->any_host)
		return error_set(
		    err, EXIT_RUNNER_ERROR, 0,
		    "%s was recorded on host %.19s, %s on host %.19s: results of"
		    " different hosts are not compared (--any-host compares them anyway)",
		    a->label, history_short_host(a->host), b->label, history_short_host(b->host));
	return 0;
}

static int load_sides(const struct history_opts *o, struct store *s, struct side *a, struct side *b,
                      struct error *err)
{
	const char *ref_a, *ref_b = NULL;

	if (o->baseline) {
		if (o->n_args != 1 || o->against)
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "compare --baseline NAME takes one RUN");
		ref_a = o->baseline;
		ref_b = o->args[0];
	} else if (o->against) {
		if (o->n_args != 1)
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "compare RUN --against FILE takes one RUN");
		ref_a = o->args[0];
	} else {
		if (o->n_args != 2)
			return error_set(err, EXIT_RUNNER_ERROR, 0,
			                 "compare takes RUN_A RUN_B (or --baseline, --against)");
		ref_a = o->args[0];
		ref_b = o->args[1];
	}
	if (side_from_run(s, ref_a, a, err) < 0)
		return -1;
	return ref_b ? side_from_run(s, ref_b, b, err) : side_from_file(o->against, b, err);
}

int history_compare_cmd(const struct history_opts *o)
{
	struct side a = {0}, b = {0};
	struct store s;
	struct error err = {0};
	int rc;

	if (store_open(&s, o->store, false, &err) < 0) {
		error_print(&err);
		return EXIT_RUNNER_ERROR;
	}
	rc = load_sides(o, &s, &a, &b, &err);
	store_close(&s);
	if (rc == 0)
		rc = host_check(o, &a, &b, &err);
	if (rc == 0) {
		json_t *rows = json_array();
		size_t missing;

		rc = compare_sides(o, &a, &b, rows, &missing, &err);
		if (rc >= 0)
			report(o, &a, &b, rows, missing, rc);
		json_decref(rows);
	}
	side_free(&a);
	side_free(&b);
	if (rc < 0) {
		error_print(&err);
		return EXIT_RUNNER_ERROR;
	}
	return rc > 0 && o->fail_on_regression ? 1 : 0;
}
