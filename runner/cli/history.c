/* history.c - `pgo-sandbox history`: option parsing, dispatch, and
 * the record, import, list, show, promote, baselines and export
 * subcommands (compare: history_compare.c; trend, steps:
 * history_series.c). */
#define _GNU_SOURCE
#include "cli/history.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "artifacts/digest.h"
#include "base/json_file.h"
#include "history/export.h"
#include "bench/bench_report.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "history/history.h"
#include "history/record.h"
#include "history/samples.h"
#include "history/store.h"

static void usage(FILE *out)
{
	fputs("usage: pgo-sandbox history SUBCOMMAND [--store STORE] [OPTIONS]\n"
	      "\n"
	      "STORE: an SQLite file (default $PGO_SANDBOX_STORE, else " HISTORY_DEFAULT_STORE ")\n"
	      "or a PostgreSQL connection (postgresql://..., host=... dbname=...).\n"
	      "RUN: a run id, 'latest', or a baseline name.\n"
	      "\n"
	      "  record FILE.json [--project P] [--pipeline P] [--stage S] [--commit C]\n"
	      "                   [--branch B] [--time UNIX] [--shipped BUILD]\n"
	      "  import FILE.json...        record old results (time from the file)\n"
	      "  list [--project P] [--benchmark B] [--limit N] [--json]\n"
	      "  show RUN\n"
	      "  compare RUN_A RUN_B | compare --baseline NAME RUN | compare RUN --against "
	      "FILE.json\n"
	      "          [--benchmark B] [--metric M] [--variant V] [--any-host] [--json]\n"
	      "          [--fail-on-regression]   (exit 1 when a metric got worse)\n"
	      "  promote RUN --as NAME      name a run as a baseline (the scorecard)\n"
	      "  baselines                  the named baselines and their headline medians\n"
	      "  trend [--benchmark B --metric M] [--variant V] [--run RUN] [--any-host] [--out "
	      "DIR]\n"
	      "  steps --benchmark B --metric M [--variant V] [--run RUN] [--any-host] [--json]\n"
	      "  export RUN --format bmf|bench-json [-o FILE]\n"
	      "\n"
	      "See pgo-sandbox(1) and docs/history.md.\n",
	      out);
}

enum {
	OPT_STORE = 256,
	OPT_PROJECT,
	OPT_PIPELINE,
	OPT_STAGE,
	OPT_COMMIT,
	OPT_BRANCH,
	OPT_TIME,
	OPT_SHIPPED,
	OPT_BENCHMARK,
	OPT_METRIC,
	OPT_VARIANT,
	OPT_JSON,
	OPT_OUT,
	OPT_FORMAT,
	OPT_AS,
	OPT_AGAINST,
	OPT_BASELINE,
	OPT_ANY_HOST,
	OPT_FAIL,
	OPT_LIMIT,
	OPT_RUN,
};

static const struct option options[] = {
    {"store", required_argument, NULL, OPT_STORE},
    {"project", required_argument, NULL, OPT_PROJECT},
    {"pipeline", required_argument, NULL, OPT_PIPELINE},
    {"stage", required_argument, NULL, OPT_STAGE},
    {"commit", required_argument, NULL, OPT_COMMIT},
    {"branch", required_argument, NULL, OPT_BRANCH},
    {"time", required_argument, NULL, OPT_TIME},
    {"shipped", required_argument, NULL, OPT_SHIPPED},
    {"benchmark", required_argument, NULL, OPT_BENCHMARK},
    {"metric", required_argument, NULL, OPT_METRIC},
    {"variant", required_argument, NULL, OPT_VARIANT},
    {"json", no_argument, NULL, OPT_JSON},
    {"out", required_argument, NULL, OPT_OUT},
    {"output", required_argument, NULL, 'o'},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"as", required_argument, NULL, OPT_AS},
    {"against", required_argument, NULL, OPT_AGAINST},
    {"baseline", required_argument, NULL, OPT_BASELINE},
    {"any-host", no_argument, NULL, OPT_ANY_HOST},
    {"fail-on-regression", no_argument, NULL, OPT_FAIL},
    {"limit", required_argument, NULL, OPT_LIMIT},
    {"run", required_argument, NULL, OPT_RUN},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int parse_number(const char *what, const char *text, long long *out, struct error *err)
{
	uint64_t v;

	if (parse_u64(text, &v, err) < 0 || v > (uint64_t)INT64_MAX)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "history: %s: '%s' is not a non-negative integer", what, text);
	*out = (long long)v;
	return 0;
}

static int set_option(void *request, const struct cli_opt *c, struct error *err)
{
	struct history_opts *o = request;
	const char *arg = c->arg;
	long long n = 0;

	switch (c->id) {
	case OPT_STORE: o->store = arg; break;
	case OPT_PROJECT: o->project = arg; break;
	case OPT_PIPELINE: o->pipeline = arg; break;
	case OPT_STAGE: o->stage = arg; break;
	case OPT_COMMIT: o->commit = arg; break;
	case OPT_BRANCH: o->branch = arg; break;
	case OPT_SHIPPED: o->shipped = arg; break;
	case OPT_BENCHMARK: o->benchmark = arg; break;
	case OPT_METRIC: o->metric = arg; break;
	case OPT_VARIANT: o->variant = arg; break;
	case OPT_JSON: o->json = true; break;
	case OPT_OUT: o->out = arg; break;
	case 'o': o->output = arg; break;
	case OPT_FORMAT: o->format = arg; break;
	case OPT_AS: o->as = arg; break;
	case OPT_AGAINST: o->against = arg; break;
	case OPT_BASELINE: o->baseline = arg; break;
	case OPT_ANY_HOST: o->any_host = true; break;
	case OPT_FAIL: o->fail_on_regression = true; break;
	case OPT_RUN: o->run = arg; break;
	case OPT_TIME:
		if (parse_number("--time", arg, &n, err) < 0)
			return -1;
		o->time_unix = n;
		break;
	case OPT_LIMIT:
		if (parse_number("--limit", arg, &n, err) < 0)
			return -1;
		o->limit = (long)n;
		break;
	default:
		return error_set(err, EXIT_RUNNER_ERROR, 0, "history: option %s is not handled",
		                 c->name ? c->name : "?");
	}
	return 0;
}

static void history_usage(FILE *out, const char *command)
{
	(void)command;
	usage(out);
}

/* argv[0] is the subcommand; options may follow or precede positionals. */
static int parse(int argc, char **argv, struct history_opts *o)
{
	char *command = xasprintf("history %s", argv[0]);
	const struct cli_parser parser = {
	    .command = command,
	    .shortopts = ":o:h",
	    .longopts = options,
	    .help = 'h',
	    .usage = history_usage,
	    .handle = set_option,
	};
	struct error err = {0};
	int first;
	int rc;

	memset(o, 0, sizeof(*o));
	rc = cli_parse(&parser, argc, argv, o, &first, &err);
	free(command);
	if (rc < 0)
		error_print(&err);
	if (rc != 0)
		return rc;
	o->store = history_store_location(o->store);
	o->args = argv + first;
	o->n_args = argc - first;
	return 0;
}

static int fail(const struct error *err)
{
	error_print(err);
	return err->exit_code ? err->exit_code : EXIT_RUNNER_ERROR;
}

static int usage_error(const char *msg)
{
	fprintf(stderr, "pgo-sandbox: history: %s (see pgo-sandbox history --help)\n", msg);
	return EXIT_RUNNER_ERROR;
}

void history_format_time(long long t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, 32, "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(out, 32, "%lld", t);
}

const char *history_short_host(const char *fingerprint)
{
	static const char prefix[] = "sha256:";

	if (fingerprint == NULL)
		return "?";
	if (strncmp(fingerprint, prefix, sizeof(prefix) - 1) == 0)
		return fingerprint + sizeof(prefix) - 1;
	return fingerprint;
}

static bool all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

int history_resolve_run(struct store *s, const char *ref, char **id, struct error *err)
{
	const char *params[1] = {ref};
	const char *sql;

	if (all_digits(ref))
		sql = "SELECT id FROM runs WHERE id = ?";
	else if (strcmp(ref, "latest") == 0)
		sql = "SELECT id FROM runs WHERE ? = 'latest' ORDER BY time_unix DESC, id DESC "
		      "LIMIT 1";
	else
		sql = "SELECT run_id FROM baselines WHERE name = ?";
	if (store_query_value(s, sql, params, 1, id, err) < 0)
		return -1;
	if (*id == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "store %s: no run or baseline '%s'",
		                 s->display, ref);
	return 0;
}

static json_t *load_json(const char *path, struct error *err)
{
	json_error_t jerr;
	json_t *doc = json_load_file(path, 0, &jerr);

	if (doc == NULL) {
		error_set(err, EXIT_RUNNER_ERROR, 0, "%s: line %d: %s", path, jerr.line, jerr.text);
		return NULL;
	}
	if (record_check(doc, path, err) < 0) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

static int cmd_record(const struct history_opts *o)
{
	struct history_context ctx = {o->project, o->pipeline,  o->stage,  o->commit,
	                              o->branch,  o->time_unix, o->shipped};
	struct error err = {0};
	char *id = NULL;
	json_t *doc;

	if (o->n_args != 1)
		return usage_error("record takes one FILE.json");
	if ((doc = load_json(o->args[0], &err)) == NULL)
		return fail(&err);
	if (history_record(o->store, doc, &ctx, &id, &err) < 0) {
		json_decref(doc);
		return fail(&err);
	}
	printf("recorded %s as run %s in %s\n", o->args[0], id, o->store);
	free(id);
	json_decref(doc);
	return 0;
}

/* A context member an old file may carry (a "git" or "source" object, or
 * top-level): NULL when it has none. */
static const char *doc_context(const json_t *doc, const char *key)
{
	static const char *const holders[] = {"git", "source", "context"};

	for (size_t i = 0; i < sizeof(holders) / sizeof(holders[0]); i++) {
		const char *v =
		    json_string_value(json_object_get(json_object_get(doc, holders[i]), key));

		if (v)
			return v;
	}
	return json_string_value(json_object_get(doc, key));
}

/* Whether the same document is already in the store: importing a
 * directory twice must not double the history. */
static int already_recorded(const struct history_opts *o, const json_t *doc, char **id,
                            struct error *err)
{
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
	char digest[DIGEST_STR_MAX];
	const char *params[1] = {digest};
	struct store s;
	int rc;

	*id = NULL;
	if (text == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, 0, "cannot encode the document");
	digest_buffer_sha256(text, strlen(text), digest);
	free(text);
	if (store_open(&s, o->store, true, err) < 0)
		return -1;
	rc = store_query_value(&s, "SELECT min(id) FROM runs WHERE document_sha256 = ?", params, 1,
	                       id, err);
	store_close(&s);
	return rc;
}

static int import_one(const struct history_opts *o, const char *path, struct error *err)
{
	const json_t *created;
	struct history_context ctx = {0};
	char *id = NULL;
	json_t *doc = load_json(path, err);

	if (doc == NULL)
		return -1;
	if (already_recorded(o, doc, &id, err) < 0 || id != NULL) {
		if (id)
			printf("%s: already recorded as run %s\n", path, id);
		free(id);
		json_decref(doc);
		return id ? 0 : -1;
	}
	created = json_object_get(doc, "created_unix");
	ctx.project = o->project ? o->project : doc_context(doc, "project");
	ctx.pipeline = o->pipeline ? o->pipeline : doc_context(doc, "pipeline");
	ctx.stage = o->stage ? o->stage : doc_context(doc, "stage");
	ctx.commit = o->commit ? o->commit : doc_context(doc, "commit");
	ctx.branch = o->branch ? o->branch : doc_context(doc, "branch");
	/* An old file is not from today's HEAD: unknown rather than wrong. */
	if (ctx.commit == NULL)
		ctx.commit = "unknown";
	if (ctx.branch == NULL)
		ctx.branch = "unknown";
	ctx.time_unix = o->time_unix               ? o->time_unix
	                : json_is_integer(created) ? (long long)json_integer_value(created)
	                                           : 0;
	ctx.shipped = o->shipped;
	if (history_record(o->store, doc, &ctx, &id, err) < 0) {
		json_decref(doc);
		return error_prefix(err, "%s: ", path);
	}
	printf("imported %s as run %s\n", path, id);
	free(id);
	json_decref(doc);
	return 0;
}

static int cmd_import(const struct history_opts *o)
{
	struct error err = {0};
	int failed = 0;

	if (o->n_args < 1)
		return usage_error("import takes FILE.json...");
	for (int i = 0; i < o->n_args; i++)
		if (import_one(o, o->args[i], &err) < 0) {
			error_print(&err);
			failed = 1;
		}
	return failed ? EXIT_RUNNER_ERROR : 0;
}

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

static void list_print(const struct store_rows *r, bool as_json)
{
	static const char *const keys[] = {
	    "id",     "time_unix", "project",          "pipeline",    "stage",
	    "commit", "branch",    "host_fingerprint", "gate_status", "shipped"};
	json_t *arr = json_array();

	if (!as_json)
		printf("%-6s %-16s %-14s %-18s %-12s %-12s %-12s %s\n", "RUN", "TIME (UTC)",
		       "PROJECT", "PIPELINE/STAGE", "COMMIT", "BRANCH", "HOST", "GATE");
	for (size_t i = 0; i < r->n_rows; i++) {
		char when[32], *ps;

		if (as_json) {
			json_t *o = json_object();

			for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
				const char *v = store_cell(r, i, k);

				json_object_set_new(o, keys[k],
				                    v == NULL ? json_null()
				                    : k <= 1  ? json_integer(strtoll(v, NULL, 10))
				                              : json_string(v));
			}
			json_array_append_new(arr, o);
			continue;
		}
		history_format_time(strtoll(store_cell(r, i, 1), NULL, 10), when);
		ps = xasprintf("%s/%s", or_dash(store_cell(r, i, 3)), or_dash(store_cell(r, i, 4)));
		printf("%-6s %-16s %-14s %-18s %-12.12s %-12s %-12.12s %s\n", store_cell(r, i, 0),
		       when, store_cell(r, i, 2), ps, store_cell(r, i, 5), store_cell(r, i, 6),
		       history_short_host(store_cell(r, i, 7)), or_dash(store_cell(r, i, 8)));
		free(ps);
	}
	if (as_json) {
		char *text = json_dumps(arr, JSON_INDENT(2));

		if (text)
			puts(text);
		free(text);
	}
	json_decref(arr);
}

static int cmd_list(const struct history_opts *o)
{
	const char *params[2];
	size_t n = 0;
	char *sql, *limit = o->limit > 0 ? xasprintf(" LIMIT %ld", o->limit) : xstrdup("");
	struct store s;
	struct store_rows r;
	struct error err = {0};
	int rc;

	if (store_open(&s, o->store, false, &err) < 0) {
		free(limit);
		return fail(&err);
	}
	if (o->project)
		params[n++] = o->project;
	if (o->benchmark)
		params[n++] = o->benchmark;
	/* The newest first when limited, then printed oldest first. */
	sql = xasprintf("SELECT * FROM (SELECT id, time_unix, project, pipeline, stage, git_commit,"
	                " branch, host_fingerprint, gate_status, shipped FROM runs WHERE 1 = 1%s%s"
	                " ORDER BY time_unix DESC, id DESC%s) AS recent ORDER BY time_unix, id",
	                o->project ? " AND project = ?" : "",
	                o->benchmark ? " AND EXISTS (SELECT 1 FROM samples WHERE samples.run_id ="
	                               " runs.id AND samples.benchmark = ?)"
	                             : "",
	                limit);
	rc = store_query(&s, sql, params, n, &r, &err);
	free(sql);
	free(limit);
	if (rc == 0) {
		list_print(&r, o->json);
		store_rows_free(&r);
	}
	store_close(&s);
	return rc < 0 ? fail(&err) : 0;
}

static int show_facts(struct store *s, const char *id, struct error *err)
{
	const char *params[1] = {id};
	struct store_rows r;
	static const char *const labels[] = {"project",   "pipeline",    "stage",   "commit",
	                                     "branch",    "time",        "tool",    "host",
	                                     "hostname",  "cpu model",   "kernel",  "gate metric",
	                                     "threshold", "gate status", "shipped", "decision"};
	char when[32];

	if (store_query(s,
	                "SELECT project, pipeline, stage, git_commit, branch, time_unix,"
	                " tool_version, host_fingerprint, hostname, cpu_model, kernel, gate_metric,"
	                " threshold_pct, gate_status, shipped, decision FROM runs WHERE id = ?",
	                params, 1, &r, err) < 0)
		return -1;
	printf("run %s\n", id);
	for (size_t k = 0; k < r.n_cols && r.n_rows > 0; k++) {
		const char *v = store_cell(&r, 0, k);

		if (k == 5) {
			history_format_time(strtoll(v, NULL, 10), when);
			v = when;
		}
		printf("  %-12s %s\n", labels[k], or_dash(v));
	}
	store_rows_free(&r);
	if (store_query(s,
	                "SELECT name, state, detail FROM controls WHERE run_id = ?"
	                " AND state <> 'applied' ORDER BY kind, name",
	                params, 1, &r, err) < 0)
		return -1;
	printf("controls not applied: %zu\n", r.n_rows);
	for (size_t i = 0; i < r.n_rows; i++)
		printf("  %-22s %-12s %s\n", store_cell(&r, i, 0), or_dash(store_cell(&r, i, 1)),
		       or_dash(store_cell(&r, i, 2)));
	store_rows_free(&r);
	return 0;
}

static double num_or(const char *text, double dflt)
{
	return text ? strtod(text, NULL) : dflt;
}

/* Values with their units, as bench prints them ("18.81 ms", not 0.0188). */
static void print_summary_row(const struct store_rows *r, size_t i)
{
	const char *metric = store_cell(r, i, 3), *unit = store_cell(r, i, 9);
	char med[48], lo[48], hi[48];

	bench_format_metric_value(strtod(or_dash(store_cell(r, i, 5)), NULL), metric, unit, med,
	                          sizeof(med));
	bench_format_metric_value(strtod(or_dash(store_cell(r, i, 7)), NULL), metric, unit, lo,
	                          sizeof(lo));
	bench_format_metric_value(strtod(or_dash(store_cell(r, i, 8)), NULL), metric, unit, hi,
	                          sizeof(hi));
	printf("  %-16s %-12s %-10s %-12s %4s %12s %7.2f%% %12s %12s\n", store_cell(r, i, 0),
	       store_cell(r, i, 1), or_dash(store_cell(r, i, 2)), metric,
	       or_dash(store_cell(r, i, 4)), med, 100 * strtod(or_dash(store_cell(r, i, 6)), NULL),
	       lo, hi);
}

static int show_tables(struct store *s, const char *id, struct error *err)
{
	const char *params[1] = {id};
	struct store_rows r;

	if (store_query(
	        s,
	        "SELECT benchmark, variant, cell, metric, n, median, cv, min_value, max_value,"
	        " (SELECT u.unit FROM metrics u WHERE u.run_id = summaries.run_id"
	        " AND u.name = summaries.metric LIMIT 1)"
	        " FROM summaries WHERE run_id = ? ORDER BY benchmark, cell, metric, variant",
	        params, 1, &r, err) < 0)
		return -1;
	printf("summaries:\n  %-16s %-12s %-10s %-12s %4s %12s %8s %12s %12s\n", "BENCHMARK",
	       "VARIANT", "CELL", "METRIC", "N", "MEDIAN", "CV", "MIN", "MAX");
	for (size_t i = 0; i < r.n_rows; i++)
		print_summary_row(&r, i);
	store_rows_free(&r);
	if (store_query(s,
	                "SELECT benchmark, cell, base, cand, metric, estimate_pct, ci_low_pct,"
	                " ci_high_pct, verdict FROM comparisons WHERE run_id = ?"
	                " ORDER BY benchmark, cell, metric",
	                params, 1, &r, err) < 0)
		return -1;
	printf("comparisons (paired, within the run):\n");
	for (size_t i = 0; i < r.n_rows; i++)
		printf("  %-16s %-10s %s -> %s %-12s %+.2f %% [%+.2f, %+.2f] %s\n",
		       store_cell(&r, i, 0), or_dash(store_cell(&r, i, 1)), store_cell(&r, i, 2),
		       store_cell(&r, i, 3), store_cell(&r, i, 4),
		       num_or(store_cell(&r, i, 5), NAN), num_or(store_cell(&r, i, 6), -INFINITY),
		       num_or(store_cell(&r, i, 7), INFINITY), or_dash(store_cell(&r, i, 8)));
	store_rows_free(&r);
	return 0;
}

static int cmd_show(const struct history_opts *o)
{
	struct store s;
	struct error err = {0};
	char *id = NULL;
	int rc;

	if (o->n_args != 1)
		return usage_error("show takes one RUN");
	if (store_open(&s, o->store, false, &err) < 0)
		return fail(&err);
	rc = history_resolve_run(&s, o->args[0], &id, &err);
	if (rc == 0)
		rc = show_facts(&s, id, &err);
	if (rc == 0)
		rc = show_tables(&s, id, &err);
	free(id);
	store_close(&s);
	return rc < 0 ? fail(&err) : 0;
}

static int cmd_promote(const struct history_opts *o)
{
	struct store s;
	struct error err = {0};
	char *id = NULL, now[32];
	const char *params[3];
	int rc;

	if (o->n_args != 1 || o->as == NULL)
		return usage_error("promote takes RUN --as NAME");
	if (all_digits(o->as) || strcmp(o->as, "latest") == 0)
		return usage_error("a baseline name cannot be a number or 'latest'");
	if (store_open(&s, o->store, false, &err) < 0)
		return fail(&err);
	rc = history_resolve_run(&s, o->args[0], &id, &err);
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	params[0] = o->as;
	params[1] = id;
	params[2] = now;
	if (rc == 0)
		rc = store_query(
		    &s,
		    "INSERT INTO baselines (name, run_id, promoted_unix) VALUES (?, ?, ?)"
		    " ON CONFLICT (name) DO UPDATE SET run_id = excluded.run_id,"
		    " promoted_unix = excluded.promoted_unix",
		    params, 3, NULL, &err);
	if (rc == 0)
		printf("baseline %s is run %s\n", o->as, id);
	free(id);
	store_close(&s);
	return rc < 0 ? fail(&err) : 0;
}

/* Per baseline: its run, and the median of the gate metric of every
 * benchmark and variant (the scorecard's numbers). */
static int cmd_baselines(const struct history_opts *o)
{
	struct store s;
	struct error err = {0};
	struct store_rows r;
	int rc;

	if (store_open(&s, o->store, false, &err) < 0)
		return fail(&err);
	rc = store_query(&s,
	                 "SELECT b.name, b.run_id, r.git_commit, r.time_unix, m.benchmark,"
	                 " m.variant, m.metric, m.median,"
	                 " (SELECT u.unit FROM metrics u WHERE u.run_id = b.run_id"
	                 " AND u.name = m.metric LIMIT 1) FROM baselines b"
	                 " JOIN runs r ON r.id = b.run_id"
	                 " LEFT JOIN summaries m ON m.run_id = b.run_id"
	                 " AND m.metric = coalesce(r.gate_metric, 'wall')"
	                 " ORDER BY b.name, m.benchmark, m.variant",
	                 NULL, 0, &r, &err);
	if (rc == 0) {
		const char *last = "";

		for (size_t i = 0; i < r.n_rows; i++) {
			char when[32];

			if (strcmp(last, store_cell(&r, i, 0)) != 0) {
				last = store_cell(&r, i, 0);
				history_format_time(strtoll(store_cell(&r, i, 3), NULL, 10), when);
				printf("%s: run %s, commit %.12s, %s\n", last, store_cell(&r, i, 1),
				       store_cell(&r, i, 2), when);
			}
			if (store_cell(&r, i, 4)) {
				char median[48];

				bench_format_metric_value(
				    strtod(or_dash(store_cell(&r, i, 7)), NULL),
				    store_cell(&r, i, 6), store_cell(&r, i, 8), median,
				    sizeof(median));
				printf("  %-16s %-12s %-8s median %s\n", store_cell(&r, i, 4),
				       store_cell(&r, i, 5), store_cell(&r, i, 6), median);
			}
		}
		if (r.n_rows == 0)
			printf("no baselines (pgo-sandbox history promote RUN --as NAME)\n");
		store_rows_free(&r);
	}
	store_close(&s);
	return rc < 0 ? fail(&err) : 0;
}

static int export_text(struct store *s, const char *id, const char *format, char **text,
                       struct error *err)
{
	const char *params[1] = {id};
	struct sample_sets sets = {0};
	json_t *doc;

	if (strcmp(format, "bench-json") == 0) {
		if (store_query_value(s, "SELECT document FROM runs WHERE id = ?", params, 1, text,
		                      err) < 0)
			return -1;
		return 0;
	}
	if (samples_from_run(s, id, &sets, err) < 0)
		return -1;
	doc = export_bmf(&sets);
	sample_sets_free(&sets);
	*text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(doc);
	return *text ? 0 : error_set(err, EXIT_RUNNER_ERROR, 0, "encoding BMF: out of memory");
}

static int cmd_export(const struct history_opts *o)
{
	struct store s;
	struct error err = {0};
	char *id = NULL, *text = NULL;
	int rc;

	if (o->n_args != 1 || o->format == NULL ||
	    (strcmp(o->format, "bmf") != 0 && strcmp(o->format, "bench-json") != 0))
		return usage_error("export takes RUN --format bmf|bench-json");
	if (store_open(&s, o->store, false, &err) < 0)
		return fail(&err);
	rc = history_resolve_run(&s, o->args[0], &id, &err);
	if (rc == 0)
		rc = export_text(&s, id, o->format, &text, &err);
	store_close(&s);
	if (rc == 0 && text) {
		char *line =
		    text[strlen(text) - 1] == '\n' ? xstrdup(text) : xasprintf("%s\n", text);

		if (o->output)
			rc = write_file_atomic(o->output, line, strlen(line), 0644, &err);
		else if (fputs(line, stdout) == EOF || fflush(stdout) == EOF)
			rc = error_set(&err, EXIT_RUNNER_ERROR, 0, "writing the export: stdout");
		free(line);
	}
	free(text);
	free(id);
	return rc < 0 ? fail(&err) : 0;
}

int cli_history(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(const struct history_opts *);
	} subcommands[] = {
	    {"record", cmd_record},
	    {"import", cmd_import},
	    {"list", cmd_list},
	    {"show", cmd_show},
	    {"compare", history_compare_cmd},
	    {"promote", cmd_promote},
	    {"baselines", cmd_baselines},
	    {"trend", history_trend_cmd},
	    {"steps", history_steps_cmd},
	    {"export", cmd_export},
	};
	struct history_opts o;
	int rc;

	if (argc < 2) {
		usage(stderr);
		return EXIT_RUNNER_ERROR;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
		if (strcmp(argv[1], subcommands[i].name) != 0)
			continue;
		rc = parse(argc - 1, argv + 1, &o);
		if (rc != 0)
			return rc < 0 ? EXIT_RUNNER_ERROR : 0;
		return subcommands[i].fn(&o);
	}
	fprintf(stderr, "pgo-sandbox: history: unknown subcommand '%s' (see --help)\n", argv[1]);
	return EXIT_RUNNER_ERROR;
}
