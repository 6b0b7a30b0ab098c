/* history.c - history_record: one bench result document into the store,
 * in one transaction, with its context (project, commit, branch...). */
#define _GNU_SOURCE
#include "history/history.h"

#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "artifacts/digest.h"
#include "base/json_file.h"
#include "bench/bench_host.h"
#include "bench/stats.h"
#include "history/record.h"
#include "history/samples.h"
#include "history/store.h"

const char *history_store_location(const char *option)
{
	const char *env = getenv("PGO_SANDBOX_STORE");

	if (option && *option)
		return option;
	return env && *env ? env : HISTORY_DEFAULT_STORE;
}

char *history_trend_hint(const char *store)
{
	const char *where = history_store_location(store);
	char *quoted = xcalloc(strlen(where) * 4 + 3, 1), *q = quoted, *out;

	/* Single-quoted for the shell: ' becomes '\'' */
	*q++ = '\'';
	for (const char *p = where; *p; p++) {
		if (*p == '\'') {
			memcpy(q, "'\\''", 4);
			q += 4;
		} else
			*q++ = *p;
	}
	*q = '\'';
	out = xasprintf("pgo-sandbox history trend --store %s", quoted);
	free(quoted);
	return out;
}

/* The first line `git ARGS` prints in the cwd, NULL when git fails (not
 * a repository, git not installed). */
static char *git_line(const char *args)
{
	char *cmd = xasprintf("git %s 2>/dev/null", args), line[4096];
	FILE *p = popen(cmd, "r");
	char *out = NULL;
	int status;

	free(cmd);
	if (p == NULL)
		return NULL;
	if (fgets(line, sizeof(line), p) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (*line)
			out = xstrdup(line);
	}
	status = pclose(p);
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

static char *first_env(const char *a, const char *b)
{
	const char *v = getenv(a);

	if (v == NULL || *v == '\0')
		v = getenv(b);
	return v && *v ? xstrdup(v) : NULL;
}

static char *default_project(void)
{
	char *top = git_line("rev-parse --show-toplevel"), *out;
	char cwd[4096];

	if (top == NULL && getcwd(cwd, sizeof(cwd)) != NULL)
		top = xstrdup(cwd);
	if (top == NULL)
		return xstrdup("unknown");
	out = xstrdup(basename(top));
	free(top);
	return out;
}

/* The context with every default filled (all strings owned). */
struct resolved {
	char *project, *commit, *branch;
	long long time_unix;
};

static void resolve(const struct history_context *ctx, struct resolved *r)
{
	r->project = ctx && ctx->project ? xstrdup(ctx->project) : default_project();
	r->commit =
	    ctx && ctx->commit ? xstrdup(ctx->commit) : first_env("GITHUB_SHA", "CI_COMMIT_SHA");
	if (r->commit == NULL)
		r->commit = git_line("rev-parse HEAD");
	if (r->commit == NULL)
		r->commit = xstrdup("unknown");
	r->branch = ctx && ctx->branch ? xstrdup(ctx->branch)
	                               : first_env("GITHUB_REF_NAME", "CI_COMMIT_REF_NAME");
	if (r->branch == NULL)
		r->branch = git_line("rev-parse --abbrev-ref HEAD");
	if (r->branch == NULL)
		r->branch = xstrdup("unknown");
	/* Every run of a series recorded as "unknown" makes steps and trends
	 * unreadable: say so the first time, not after months of records. */
	if (strcmp(r->commit, "unknown") == 0 || strcmp(r->branch, "unknown") == 0)
		fprintf(stderr,
		        "pgo-sandbox: warning: recording with commit %s, branch %s: not in a git "
		        "checkout and no $GITHUB_SHA/$CI_COMMIT_SHA or $GITHUB_REF_NAME/"
		        "$CI_COMMIT_REF_NAME; give --commit C --branch B\n",
		        r->commit, r->branch);
	r->time_unix = ctx && ctx->time_unix ? ctx->time_unix : (long long)time(NULL);
}

static void resolved_free(struct resolved *r)
{
	free(r->project);
	free(r->commit);
	free(r->branch);
}

/* Parameters of one INSERT, owned strings, freed together. */
struct params {
	char *v[32];
	size_t n;
};

static void param(struct params *p, char *owned)
{
	p->v[p->n++] = owned;
}

static void param_str(struct params *p, const char *s)
{
	p->v[p->n++] = s ? xstrdup(s) : NULL;
}

static int insert(struct store *s, const char *sql, struct params *p, struct error *err)
{
	int rc = store_query(s, sql, (const char *const *)p->v, p->n, NULL, err);

	for (size_t i = 0; i < p->n; i++)
		free(p->v[i]);
	p->n = 0;
	return rc;
}

static const json_t *path2(const json_t *o, const char *a, const char *b)
{
	return json_object_get(json_object_get(o, a), b);
}

static void host_params(const json_t *doc, struct params *p)
{
	const json_t *host = path2(doc, "conditions", "host");
	const char *fp = json_string_value(json_object_get(host, "fingerprint"));
	char computed[DIGEST_STR_MAX];

	if (fp == NULL) {
		host_fingerprint(host, computed);
		fp = computed;
	}
	param_str(p, fp);
	param(p, record_text(json_object_get(host, "hostname")));
	param(p, record_text(json_object_get(host, "cpu_model")));
	param(p, record_text(json_object_get(host, "machine")));
	param(p, record_text(json_object_get(host, "kernel")));
	param(p, record_integer(json_object_get(host, "online_cpus")));
}

/* The build a release shipped, from the document's "ship" object (schema
 * 3, shape not settled: a string, or a member naming the build). */
static const char *doc_shipped(const json_t *doc)
{
	static const char *const keys[] = {"shipped", "build", "variant", "name"};
	const json_t *ship = json_object_get(doc, "ship");

	if (json_is_string(ship))
		return json_string_value(ship);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_is_string(json_object_get(ship, keys[i])))
			return json_string_value(json_object_get(ship, keys[i]));
	return NULL;
}

static int insert_run(struct store *s, const json_t *doc, const char *text,
                      const struct history_context *ctx, const struct resolved *r, char **id,
                      struct error *err)
{
	const json_t *settings = json_object_get(doc, "settings");
	const json_t *gate = path2(doc, "analysis", "gate");
	char digest[DIGEST_STR_MAX];
	struct params p = {0};
	struct store_rows rows;
	int rc;

	digest_buffer_sha256(text, strlen(text), digest);
	param_str(&p, r->project);
	param_str(&p, ctx ? ctx->pipeline : NULL);
	param_str(&p, ctx ? ctx->stage : NULL);
	param_str(&p, r->commit);
	param_str(&p, r->branch);
	param(&p, xasprintf("%lld", r->time_unix));
	param(&p, xasprintf("%lld", (long long)time(NULL)));
	param(&p, record_text(path2(doc, "tool", "name")));
	param(&p, record_text(path2(doc, "tool", "version")));
	param(&p, record_text(path2(doc, "tool", "commit")));
	param(&p, record_integer(json_object_get(doc, "schema_version")));
	host_params(doc, &p);
	param(&p, record_text(json_object_get(settings, "metric")));
	param(&p, record_number(json_object_get(settings, "threshold_pct")));
	param(&p, record_number(json_object_get(settings, "confidence")));
	param(&p, record_text(json_object_get(gate, "status")));
	param(&p, record_integer(json_object_get(gate, "exit_code")));
	param(&p, record_text(json_object_get(doc, "decision")));
	param_str(&p, ctx && ctx->shipped ? ctx->shipped : doc_shipped(doc));
	param(&p, record_text(settings));
	param(&p, record_text(json_object_get(doc, "conditions")));
	param_str(&p, text);
	param_str(&p, digest);
	rc =
	    store_query(s,
	                "INSERT INTO runs (project, pipeline, stage, git_commit, branch, time_unix,"
	                " recorded_unix, tool_name, tool_version, tool_commit,"
	                " bench_schema_version, host_fingerprint, hostname, cpu_model, machine,"
	                " kernel, online_cpus, gate_metric, threshold_pct, confidence,"
	                " gate_status, gate_exit_code, decision, shipped, settings, conditions,"
	                " document, document_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
	                " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
	                (const char *const *)p.v, p.n, &rows, err);
	for (size_t i = 0; i < p.n; i++)
		free(p.v[i]);
	if (rc < 0)
		return -1;
	*id = xstrdup(store_cell(&rows, 0, 0) ? store_cell(&rows, 0, 0) : "?");
	store_rows_free(&rows);
	return 0;
}

static int insert_controls(struct store *s, const json_t *doc, const char *id, struct error *err)
{
	static const char *const kinds[] = {"host_tuning", "sandbox_controls"};
	struct params p = {0};

	for (size_t k = 0; k < 2; k++) {
		size_t i;
		const json_t *c;

		json_array_foreach(path2(doc, "conditions", kinds[k]), i, c)
		{
			param_str(&p, id);
			param_str(&p, kinds[k]);
			param(&p, record_text(json_object_get(c, "name")));
			param(&p, record_text(json_object_get(c, "state")));
			param(&p, record_text(json_object_get(c, "detail")));
			if (p.v[2] == NULL)
				p.v[2] = xstrdup("?");
			if (insert(s,
			           "INSERT INTO controls (run_id, kind, name, state, detail)"
			           " VALUES (?, ?, ?, ?, ?)",
			           &p, err) < 0)
				return -1;
		}
	}
	return 0;
}

static int insert_metrics_variants(struct store *s, const json_t *doc, const char *id,
                                   struct error *err)
{
	struct record_metric m[64];
	size_t n = record_metrics(doc, m, 64), i;
	struct params p = {0};
	const json_t *v;

	for (i = 0; i < n && i < 64; i++) {
		param_str(&p, id);
		param_str(&p, m[i].name);
		param_str(&p, m[i].unit);
		param_str(&p, m[i].direction);
		param_str(&p, m[i].source);
		if (insert(s,
		           "INSERT INTO metrics (run_id, name, unit, direction, source)"
		           " VALUES (?, ?, ?, ?, ?)",
		           &p, err) < 0)
			return -1;
	}
	json_array_foreach(json_object_get(doc, "variants"), i, v)
	{
		param_str(&p, id);
		param(&p, xasprintf("%zu", i));
		param_str(&p, json_string_value(json_object_get(v, "name")) ?: "?");
		param(&p, record_text(json_object_get(v, "role")));
		param(&p, record_text(json_object_get(v, "digest")));
		if (insert(s,
		           "INSERT INTO variants (run_id, position, name, role, digest)"
		           " VALUES (?, ?, ?, ?, ?)",
		           &p, err) < 0)
			return -1;
	}
	return 0;
}

static const char SUMMARY_SQL[] =
    "INSERT INTO summaries (run_id, benchmark, variant, role, cell, metric, n,"
    " mean, median, stdev, cv, min_value, max_value)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

static const char *role_of(const json_t *doc, const char *variant)
{
	size_t i;
	const json_t *v;

	json_array_foreach(json_object_get(doc, "variants"), i, v)
	{
		if (strcmp(json_string_value(json_object_get(v, "name")) ?: "", variant) == 0)
			return json_string_value(json_object_get(v, "role"));
	}
	return NULL;
}

static char *number_text(double v)
{
	return isfinite(v) ? xasprintf("%.17g", v) : NULL;
}

/* A document without an analysis (hand-written, or from a tool that only
 * reports samples): the summaries computed here, as the bench would. */
static int insert_computed_summaries(struct store *s, const json_t *doc, const char *id,
                                     struct error *err)
{
	struct sample_sets sets = {0};
	struct params p = {0};
	int rc = samples_from_doc(doc, &sets, err);

	for (size_t i = 0; rc == 0 && i < sets.n; i++) {
		const struct sample_series *x = &sets.s[i];
		struct describe d;

		stats_describe(x->v, x->n, &d);
		param_str(&p, id);
		param_str(&p, x->benchmark);
		param_str(&p, x->variant);
		param_str(&p, role_of(doc, x->variant));
		param_str(&p, x->cell);
		param_str(&p, x->metric);
		param(&p, xasprintf("%zu", d.n));
		param(&p, number_text(d.mean));
		param(&p, number_text(d.median));
		param(&p, number_text(d.stdev));
		param(&p, number_text(d.cv));
		param(&p, number_text(d.min));
		param(&p, number_text(d.max));
		rc = insert(s, SUMMARY_SQL, &p, err);
	}
	sample_sets_free(&sets);
	return rc;
}

static int insert_summaries(struct store *s, const json_t *doc, const char *id, struct error *err)
{
	static const char *const stats[] = {"n", "mean", "median", "stdev", "cv", "min", "max"};
	struct params p = {0};
	size_t i;
	const json_t *x;

	if (json_array_size(path2(doc, "analysis", "summaries")) == 0)
		return insert_computed_summaries(s, doc, id, err);
	json_array_foreach(path2(doc, "analysis", "summaries"), i, x)
	{
		const json_t *metric = json_object_get(x, "metric");

		param_str(&p, id);
		param_str(&p, record_benchmark_name(doc, json_object_get(x, "benchmark")));
		param_str(&p, record_variant_name(doc, json_object_get(x, "variant")));
		param_str(&p, record_variant_role(doc, json_object_get(x, "variant")));
		param_str(&p, record_cell_label(doc, json_object_get(x, "cell")));
		param_str(&p, json_is_string(metric) ? json_string_value(metric) : "?");
		param(&p, record_integer(json_object_get(x, "n")));
		for (size_t k = 1; k < sizeof(stats) / sizeof(stats[0]); k++)
			param(&p, record_number(json_object_get(x, stats[k])));
		if (insert(s, SUMMARY_SQL, &p, err) < 0)
			return -1;
	}
	return 0;
}

static int insert_comparisons(struct store *s, const json_t *doc, const char *id, struct error *err)
{
	static const char *const nums[] = {"estimate_pct", "ci_low_pct", "ci_high_pct",
	                                   "p_adjusted"};
	struct params p = {0};
	size_t i;
	const json_t *c;

	json_array_foreach(path2(doc, "analysis", "comparisons"), i, c)
	{
		const json_t *base = json_object_get(c, "baseline") ?: json_object_get(c, "base");
		const json_t *cand = json_object_get(c, "candidate") ?: json_object_get(c, "cand");

		param_str(&p, id);
		param_str(&p, record_benchmark_name(doc, json_object_get(c, "benchmark")));
		param_str(&p, record_cell_label(doc, json_object_get(c, "cell")));
		param_str(&p, record_variant_name(doc, base));
		param_str(&p, record_variant_name(doc, cand));
		param_str(&p, json_string_value(json_object_get(c, "metric")) ?: "?");
		param(&p, record_text(json_object_get(c, "kind")));
		param(&p, record_text(json_object_get(c, "gated")));
		for (size_t k = 0; k < sizeof(nums) / sizeof(nums[0]); k++)
			param(&p, record_number(json_object_get(c, nums[k])));
		param(&p, record_text(json_object_get(c, "verdict")));
		if (insert(
		        s,
		        "INSERT INTO comparisons (run_id, benchmark, cell, base, cand, metric,"
		        " kind, gated, estimate_pct, ci_low_pct, ci_high_pct, p_adjusted, verdict)"
		        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		        &p, err) < 0)
			return -1;
	}
	return 0;
}

/* Samples go in batches of SAMPLE_BATCH rows per INSERT: one round trip
 * per row would make a PostgreSQL store across a network take seconds
 * per thousand samples.  8 parameters a row, far below either engine's
 * limit on parameters. */
#define SAMPLE_BATCH 250
#define SAMPLE_COLS 8

struct sample_batch {
	struct store *s;
	const char *id;
	char *v[SAMPLE_BATCH * SAMPLE_COLS];
	size_t rows;
};

static int flush_samples(struct sample_batch *b, struct error *err)
{
	static const char head[] = "INSERT INTO samples (run_id, benchmark, variant, cell, metric,"
	                           " block_index, seq, value) VALUES ";
	static const char row[] = "(?, ?, ?, ?, ?, ?, ?, ?)";
	char *sql;
	size_t len = 0;
	int rc;

	if (b->rows == 0)
		return 0;
	sql = xcalloc(sizeof(head) + b->rows * (sizeof(row) + 2), 1);
	len += (size_t)sprintf(sql, "%s", head);
	for (size_t i = 0; i < b->rows; i++)
		len += (size_t)sprintf(sql + len, "%s%s", i ? ", " : "", row);
	rc = store_query(b->s, sql, (const char *const *)b->v, b->rows * SAMPLE_COLS, NULL, err);
	free(sql);
	for (size_t i = 0; i < b->rows * SAMPLE_COLS; i++)
		free(b->v[i]);
	b->rows = 0;
	return rc;
}

static int insert_sample(const struct record_sample *x, void *arg, struct error *err)
{
	struct sample_batch *b = arg;
	char **v = b->v + b->rows * SAMPLE_COLS;

	v[0] = xstrdup(b->id);
	v[1] = xstrdup(x->benchmark);
	v[2] = xstrdup(x->variant);
	v[3] = xstrdup(x->cell);
	v[4] = xstrdup(x->metric);
	v[5] = xasprintf("%lld", x->block);
	v[6] = xasprintf("%lld", x->seq);
	v[7] = xasprintf("%.17g", x->value);
	return ++b->rows == SAMPLE_BATCH ? flush_samples(b, err) : 0;
}

static int insert_samples(struct store *s, const json_t *doc, const char *id, struct error *err)
{
	struct sample_batch *b = xcalloc(1, sizeof(*b));
	int rc;

	b->s = s;
	b->id = id;
	rc = record_each_sample(doc, insert_sample, b, err);
	if (rc == 0)
		rc = flush_samples(b, err);
	for (size_t i = 0; i < b->rows * SAMPLE_COLS; i++)
		free(b->v[i]);
	free(b);
	return rc;
}

static int insert_all(struct store *s, const json_t *doc, const char *text,
                      const struct history_context *ctx, const struct resolved *r, char **id,
                      struct error *err)
{
	if (insert_run(s, doc, text, ctx, r, id, err) < 0)
		return -1;
	if (insert_controls(s, doc, *id, err) < 0 ||
	    insert_metrics_variants(s, doc, *id, err) < 0 ||
	    insert_summaries(s, doc, *id, err) < 0 || insert_comparisons(s, doc, *id, err) < 0 ||
	    insert_samples(s, doc, *id, err) < 0)
		return -1;
	return 0;
}

int history_record(const char *store, const json_t *bench_doc, const struct history_context *ctx,
                   char **run_id, struct error *err)
{
	struct store s;
	struct resolved r;
	char *text, *id = NULL;
	int rc = -1;

	*run_id = NULL;
	if (record_check(bench_doc, "recording a result", err) < 0)
		return -1;
	/* The exact text export writes back: the bench's own serialisation. */
	text = json_dumps(bench_doc, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (text == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "recording a result: cannot encode it");
	if (store_open(&s, history_store_location(store), true, err) < 0) {
		free(text);
		return -1;
	}
	resolve(ctx, &r);
	if (store_begin(&s, err) == 0) {
		if (insert_all(&s, bench_doc, text, ctx, &r, &id, err) == 0 &&
		    store_commit(&s, err) == 0) {
			*run_id = id;
			id = NULL;
			rc = 0;
		} else
			store_rollback(&s);
	}
	free(id);
	resolved_free(&r);
	store_close(&s);
	free(text);
	return rc;
}

int history_check_store(const char *store, struct error *err)
{
	const char *where = history_store_location(store);
	struct store s;
	int rc;

	if (store_open(&s, where, true, err) < 0)
		return -1;
	rc = store_begin(&s, err);
	store_rollback(&s);
	store_close(&s);
	return rc;
}

char *history_unrecorded_path(const char *store, long long unix_time)
{
	const char *where = history_store_location(store);
	const char *slash;
	char *trimmed, *out;
	size_t len;

	if (store_is_postgres(where))
		return xasprintf("pgo-bench-unrecorded-%lld.json", unix_time);
	/* "dir/" and "dir" name the same place: a directory given as the store
	 * gets its result beside it, not inside it. */
	len = strlen(where);
	while (len > 1 && where[len - 1] == '/')
		len--;
	trimmed = xstrdup(where);
	trimmed[len] = '\0';
	slash = strrchr(trimmed, '/');
	if (slash == NULL)
		out = xasprintf("%s.unrecorded-%lld.json", trimmed, unix_time);
	else
		out = xasprintf("%.*s%s.unrecorded-%lld.json", (int)(slash - trimmed + 1), trimmed,
		                slash + 1, unix_time);
	free(trimmed);
	return out;
}

int history_record_or_keep(const char *store, const json_t *bench_doc,
                           const struct history_context *ctx, char **run_id, char **kept_path,
                           struct error *err)
{
	struct error werr = {0};
	char *path;

	*kept_path = NULL;
	if (history_record(store, bench_doc, ctx, run_id, err) == 0)
		return 0;
	path = history_unrecorded_path(store, (long long)time(NULL));
	if (json_file_write(path, bench_doc, JSON_INDENT(2) | JSON_SORT_KEYS, 0644, &werr) < 0) {
		error_prefix(err, "recording in %s (keeping the result in %s failed too: %s)",
		             history_store_location(store), path, werr.msg);
		free(path);
		return -1;
	}
	{
		char why[ERROR_MSG_MAX];

		snprintf(why, sizeof(why), "%s", err->msg);
		error_set(err, EXIT_RUNNER_ERROR, 0,
		          "recording in %s: %s; the result is kept in %s (record it later: "
		          "pgo-sandbox history record %s --store '%s')",
		          history_store_location(store), why, path, path,
		          history_store_location(store));
	}
	*kept_path = path;
	return -1;
}
