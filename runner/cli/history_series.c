/* history_series.c - `pgo-sandbox history trend` and `steps`: one
 * benchmark and metric over commits, one series per variant, on one host
 * (the newest run's, or --run's) unless --any-host. */
#define _GNU_SOURCE
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench/stats.h"
#include "history/history.h"
#include "cli/history.h"
#include "history/steps.h"
#include "history/trend.h"
#include "base/strv.h"

#define MAX_STEPS 32

/* The samples of one variant at one commit, as logs. */
struct cell {
	double *logs;
	double *raw;
	size_t n, cap;
};

struct vseries {
	char *variant;
	struct cell *at; /* one per commit */
	struct trend_point *points;
	struct step steps[MAX_STEPS];
	size_t n_steps;
};

struct series_set {
	char **commits;
	size_t n_commits;
	struct vseries *v;
	size_t n_v;
	char *host; /* the host kept */
	size_t runs_kept, runs_left_out;
};

static void set_free(struct series_set *ss)
{
	for (size_t k = 0; k < ss->n_v; k++) {
		for (size_t i = 0; i < ss->n_commits; i++) {
			free(ss->v[k].at[i].logs);
			free(ss->v[k].at[i].raw);
		}
		free(ss->v[k].at);
		free(ss->v[k].points);
		free(ss->v[k].variant);
	}
	strv_free_n(ss->commits, ss->n_commits);
	free(ss->v);
	free(ss->host);
	memset(ss, 0, sizeof(*ss));
}

static size_t commit_index(struct series_set *ss, const char *commit)
{
	for (size_t i = ss->n_commits; i-- > 0;)
		if (strcmp(ss->commits[i], commit) == 0)
			return i;
	ss->commits = xrealloc(ss->commits, (ss->n_commits + 1) * sizeof(char *));
	ss->commits[ss->n_commits] = xstrdup(commit);
	for (size_t k = 0; k < ss->n_v; k++) {
		ss->v[k].at = xrealloc(ss->v[k].at, (ss->n_commits + 1) * sizeof(struct cell));
		memset(&ss->v[k].at[ss->n_commits], 0, sizeof(struct cell));
	}
	return ss->n_commits++;
}

static struct vseries *variant_of(struct series_set *ss, const char *variant)
{
	for (size_t k = 0; k < ss->n_v; k++)
		if (strcmp(ss->v[k].variant, variant) == 0)
			return &ss->v[k];
	ss->v = xrealloc(ss->v, (ss->n_v + 1) * sizeof(struct vseries));
	memset(&ss->v[ss->n_v], 0, sizeof(struct vseries));
	ss->v[ss->n_v].variant = xstrdup(variant);
	ss->v[ss->n_v].at = xcalloc(ss->n_commits + 1, sizeof(struct cell));
	return &ss->v[ss->n_v++];
}

static void cell_add(struct cell *c, double value)
{
	if (!(value > 0) || !isfinite(value))
		return; /* no logarithm: left out of trend and steps */
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 8;
		c->logs = xrealloc(c->logs, c->cap * sizeof(double));
		c->raw = xrealloc(c->raw, c->cap * sizeof(double));
	}
	c->raw[c->n] = value;
	c->logs[c->n++] = log(value);
}

/* The host to keep: --run's, else the newest run's. */
static int reference_host(struct store *s, const struct history_opts *o, const struct store_rows *r,
                          char **host, struct error *err)
{
	char *id = NULL;
	const char *params[1];
	int rc;

	if (o->run == NULL) {
		*host = r->n_rows ? xstrdup(store_cell(r, r->n_rows - 1, 2)) : NULL;
		return 0;
	}
	if (history_resolve_run(s, o->run, &id, err) < 0)
		return -1;
	params[0] = id;
	rc = store_query_value(s, "SELECT host_fingerprint FROM runs WHERE id = ?", params, 1, host,
	                       err);
	free(id);
	return rc;
}

static void count_runs(const struct store_rows *r, const char *host, bool any_host,
                       struct series_set *ss)
{
	const char *last = NULL;

	for (size_t i = 0; i < r->n_rows; i++) {
		if (last && strcmp(last, store_cell(r, i, 0)) == 0)
			continue;
		last = store_cell(r, i, 0);
		if (any_host || strcmp(store_cell(r, i, 2), host) == 0)
			ss->runs_kept++;
		else
			ss->runs_left_out++;
	}
}

static int load_series(struct store *s, const struct history_opts *o, const char *benchmark,
                       const char *metric, struct series_set *ss, struct error *err)
{
	const char *params[3] = {benchmark, metric, o->project};
	struct store_rows r;
	char *sql;
	int rc;

	memset(ss, 0, sizeof(*ss));
	sql = xasprintf("SELECT r.id, r.git_commit, r.host_fingerprint, x.variant, x.value"
	                " FROM samples x JOIN runs r ON r.id = x.run_id"
	                " WHERE x.benchmark = ? AND x.metric = ?%s"
	                " ORDER BY r.time_unix, r.id, x.variant, x.seq",
	                o->project ? " AND r.project = ?" : "");
	rc = store_query(s, sql, params, o->project ? 3 : 2, &r, err);
	free(sql);
	if (rc < 0)
		return -1;
	if (reference_host(s, o, &r, &ss->host, err) < 0) {
		store_rows_free(&r);
		return -1;
	}
	count_runs(&r, ss->host ? ss->host : "", o->any_host, ss);
	for (size_t i = 0; i < r.n_rows; i++) {
		const char *variant = store_cell(&r, i, 3);
		size_t at;

		if (!o->any_host && strcmp(store_cell(&r, i, 2), ss->host) != 0)
			continue;
		if (o->variant && strcmp(o->variant, variant) != 0)
			continue;
		at = commit_index(ss, store_cell(&r, i, 1));
		cell_add(&variant_of(ss, variant)->at[at], strtod(store_cell(&r, i, 4), NULL));
	}
	store_rows_free(&r);
	return 0;
}

/* Per variant: the points of the chart and the steps, over the commits
 * where the variant has samples (a variant added later starts later). */
static int analyse(struct series_set *ss, struct error *err)
{
	for (size_t k = 0; k < ss->n_v; k++) {
		struct vseries *v = &ss->v[k];
		struct steps_point *pts = xcalloc(ss->n_commits + 1, sizeof(*pts));
		size_t *where = xcalloc(ss->n_commits + 1, sizeof(size_t)), n = 0;
		int rc;

		v->points = xcalloc(ss->n_commits + 1, sizeof(struct trend_point));
		for (size_t i = 0; i < ss->n_commits; i++) {
			struct cell *c = &v->at[i];
			struct describe d;

			v->points[i].median = NAN;
			if (c->n == 0)
				continue;
			stats_describe(c->raw, c->n, &d);
			v->points[i] = (struct trend_point){d.median, d.min, d.max};
			pts[n] = (struct steps_point){c->logs, c->n};
			where[n++] = i;
		}
		rc = steps_detect(pts, n, 0.95, v->steps, MAX_STEPS, &v->n_steps, err);
		if (v->n_steps > MAX_STEPS)
			v->n_steps = MAX_STEPS;
		for (size_t j = 0; j < v->n_steps; j++)
			v->steps[j].index = where[v->steps[j].index];
		free(pts);
		free(where);
		if (rc < 0)
			return error_prefix(err, "variant %s: ", v->variant);
	}
	return 0;
}

static char *host_note(const struct history_opts *o, const struct series_set *ss)
{
	if (o->any_host)
		return xasprintf("%zu runs of every host (--any-host).", ss->runs_kept);
	return xasprintf("%zu runs on host %.12s; %zu runs left out: recorded on other hosts"
	                 " (--any-host includes them).",
	                 ss->runs_kept, history_short_host(ss->host), ss->runs_left_out);
}

/* The previous commit where the variant had samples. */
static size_t before_index(const struct vseries *v, size_t at)
{
	while (at > 0 && isnan(v->points[at - 1].median))
		at--;
	return at > 0 ? at - 1 : 0;
}

static void print_steps(const struct history_opts *o, const struct series_set *ss,
                        const char *benchmark, const char *metric)
{
	json_t *arr = json_array();
	char *note = host_note(o, ss);

	if (!o->json)
		printf("%s / %s: %zu commits. %s\n", benchmark, metric, ss->n_commits, note);
	for (size_t k = 0; k < ss->n_v; k++) {
		const struct vseries *v = &ss->v[k];

		if (!o->json && v->n_steps == 0)
			printf("  %s: no step\n", v->variant);
		for (size_t j = 0; j < v->n_steps; j++) {
			const struct step *st = &v->steps[j];
			const char *before = ss->commits[before_index(v, st->index)];
			const char *after = ss->commits[st->index];

			if (o->json)
				json_array_append_new(
				    arr,
				    json_pack("{s:s, s:s, s:s, s:f, s:f, s:f, s:f, s:f}", "variant",
				              v->variant, "before", before, "after", after, "pct",
				              st->pct, "pct_lo", st->pct_lo, "pct_hi", st->pct_hi,
				              "level_before", st->level_before, "level_after",
				              st->level_after));
			else
				printf("  %s: step between %.12s and %.12s: %+.2f %% [%+.2f %%, "
				       "%+.2f %%],"
				       " level %.6g -> %.6g\n",
				       v->variant, before, after, st->pct, st->pct_lo, st->pct_hi,
				       st->level_before, st->level_after);
		}
	}
	if (o->json) {
		json_t *doc =
		    json_pack("{s:s, s:s, s:o, s:I, s:I, s:s?}", "benchmark", benchmark, "metric",
		              metric, "steps", arr, "runs_kept", (json_int_t)ss->runs_kept,
		              "runs_left_out", (json_int_t)ss->runs_left_out, "host", ss->host);
		char *text = json_dumps(doc, JSON_INDENT(2));

		if (text)
			puts(text);
		free(text);
		json_decref(doc);
	} else
		json_decref(arr);
	free(note);
}

int history_steps_cmd(const struct history_opts *o)
{
	struct series_set ss;
	struct store s;
	struct error err = {0};
	int rc;

	if (o->benchmark == NULL || o->metric == NULL || o->n_args != 0) {
		fprintf(stderr, "pgo-sandbox: history: steps takes --benchmark B --metric M\n");
		return EXIT_RUNNER_ERROR;
	}
	if (store_open(&s, o->store, false, &err) < 0) {
		error_print(&err);
		return EXIT_RUNNER_ERROR;
	}
	rc = load_series(&s, o, o->benchmark, o->metric, &ss, &err);
	store_close(&s);
	if (rc == 0 && ss.n_commits == 0)
		rc = error_set(&err, EXIT_RUNNER_ERROR, 0, "no samples of %s / %s in %s",
		               o->benchmark, o->metric, o->store);
	if (rc == 0)
		rc = analyse(&ss, &err);
	if (rc == 0)
		print_steps(o, &ss, o->benchmark, o->metric);
	set_free(&ss);
	if (rc < 0) {
		error_print(&err);
		return EXIT_RUNNER_ERROR;
	}
	return 0;
}

/* ".pgo-sandbox/history.sqlite" -> ".pgo-sandbox/trend"; a PostgreSQL
 * store has no directory: ".pgo-sandbox/trend" in the cwd. */
static char *default_out(const char *store)
{
	char *copy, *out;

	if (store_is_postgres(store))
		return xstrdup(".pgo-sandbox/trend");
	copy = xstrdup(store);
	out = xasprintf("%s/trend", dirname(copy));
	free(copy);
	return out;
}

static char *safe_name(const char *benchmark, const char *metric)
{
	char *name = xasprintf("trend-%s-%s", benchmark, metric);

	for (char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_'))
			*p = '_';
	return name;
}

/* Writes DIR/NAME.svg and DIR/NAME.html; *html_path the page. */
static int write_page(const struct history_opts *o, const struct series_set *ss,
                      const char *benchmark, const char *metric, const char *dir, char **html_path,
                      struct error *err)
{
	struct trend_series *series = xcalloc(ss->n_v + 1, sizeof(*series));
	char *title = xasprintf("%s: %s", benchmark, metric), *note = host_note(o, ss);
	char *name = safe_name(benchmark, metric), *svg, *html, *svg_path;
	struct trend_chart c = {title,         metric, note,   (const char *const *)ss->commits,
	                        ss->n_commits, series, ss->n_v};
	int rc;

	for (size_t k = 0; k < ss->n_v; k++)
		series[k] = (struct trend_series){ss->v[k].variant, ss->v[k].points, ss->v[k].steps,
		                                  ss->v[k].n_steps};
	svg = trend_svg(&c);
	html = trend_html(&c, svg);
	svg_path = xasprintf("%s/%s.svg", dir, name);
	*html_path = xasprintf("%s/%s.html", dir, name);
	rc = write_file_atomic(svg_path, svg, strlen(svg), 0644, err);
	if (rc == 0)
		rc = write_file_atomic(*html_path, html, strlen(html), 0644, err);
	free(svg_path);
	free(svg);
	free(html);
	free(series);
	free(title);
	free(note);
	free(name);
	return rc;
}

static int one_trend(struct store *s, const struct history_opts *o, const char *benchmark,
                     const char *metric, const char *dir, char **html_path, struct error *err)
{
	struct series_set ss;
	int rc = load_series(s, o, benchmark, metric, &ss, err);

	*html_path = NULL;
	if (rc == 0 && ss.n_commits == 0)
		rc = error_set(err, EXIT_RUNNER_ERROR, 0, "no samples of %s / %s in %s", benchmark,
		               metric, o->store);
	if (rc == 0)
		rc = analyse(&ss, err);
	if (rc == 0)
		rc = write_page(o, &ss, benchmark, metric, dir, html_path, err);
	set_free(&ss);
	return rc;
}

/* Without --benchmark: a page per benchmark and metric, and an index. */
static int all_trends(struct store *s, const struct history_opts *o, const char *dir,
                      char **index_path, struct error *err)
{
	struct store_rows r;
	const char *params[1] = {o->project};
	char *html = xstrdup("<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
	                     "<title>pgo-sandbox trends</title></head><body><h1>Trends</h1><ul>\n");
	int rc;

	rc = store_query(s,
	                 o->project
	                     ? "SELECT DISTINCT x.benchmark, x.metric FROM samples x JOIN runs"
	                       " r ON r.id = x.run_id WHERE r.project = ? ORDER BY 1, 2"
	                     : "SELECT DISTINCT benchmark, metric FROM samples ORDER BY 1, 2",
	                 params, o->project ? 1 : 0, &r, err);
	for (size_t i = 0; rc == 0 && i < r.n_rows; i++) {
		char *page = NULL, *base, *next;

		if (o->metric && strcmp(o->metric, store_cell(&r, i, 1)) != 0)
			continue;
		rc = one_trend(s, o, store_cell(&r, i, 0), store_cell(&r, i, 1), dir, &page, err);
		if (rc < 0)
			break;
		base = strrchr(page, '/') ? strrchr(page, '/') + 1 : page;
		next = xasprintf("%s<li><a href='%s'>%s: %s</a></li>\n", html, base,
		                 store_cell(&r, i, 0), store_cell(&r, i, 1));
		free(html);
		html = next;
		free(page);
	}
	if (rc == 0) {
		char *done = xasprintf("%s</ul></body></html>\n", html);

		*index_path = xasprintf("%s/index.html", dir);
		rc = write_file_atomic(*index_path, done, strlen(done), 0644, err);
		free(done);
		store_rows_free(&r);
	}
	free(html);
	return rc;
}

int history_trend_cmd(const struct history_opts *o)
{
	char *dir = o->out ? xstrdup(o->out) : default_out(o->store), *page = NULL;
	struct store s;
	struct error err = {0};
	int rc;

	if (o->n_args != 0) {
		free(dir);
		fprintf(stderr, "pgo-sandbox: history: trend takes options only\n");
		return EXIT_RUNNER_ERROR;
	}
	rc = store_open(&s, o->store, false, &err);
	if (rc == 0) {
		rc = mkdir_p(dir, 0755, &err);
		if (rc == 0 && o->benchmark)
			rc = one_trend(&s, o, o->benchmark, o->metric ? o->metric : "wall", dir,
			               &page, &err);
		else if (rc == 0)
			rc = all_trends(&s, o, dir, &page, &err);
		store_close(&s);
	}
	if (rc == 0)
		printf("%s\n", page);
	free(page);
	free(dir);
	if (rc < 0) {
		error_print(&err);
		return EXIT_RUNNER_ERROR;
	}
	return 0;
}
