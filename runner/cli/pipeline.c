/* pipeline.c - `pgo-sandbox pipeline`: every stage of a pipeline file in
 * order (every shard of a sharded stage), the release decision
 * (pipeline/release.h) and the summary; `--check` validates and runs
 * nothing. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "base/cleanup.h"
#include "base/bytes_json.h"
#include "cli/options.h"
#include "cli/stage_options.h"
#include "pipeline/release.h"
#include "pipeline/results_store.h"
#include "pipeline/roles.h"
#include "pipeline/ship.h"
#include "pipeline/stage_run.h"

struct summary_row {
	char *name;
	const char *state;
	double seconds;
	char *artifact;
};

static void print_summary_json(const struct summary_row *rows, size_t n, const char *release)
{
	json_t *doc = json_object();
	json_t *stages = json_array();
	char *text;

	for (size_t i = 0; i < n; i++)
		json_array_append_new(stages,
		                      json_pack("{s:s, s:s, s:f, s:s?}", "stage", rows[i].name,
		                                "result", rows[i].state, "seconds", rows[i].seconds,
		                                "artifact", rows[i].artifact));
	json_object_set_new(doc, "stages", stages);
	json_object_set_new(doc, "release", json_string_or_null(release));
	text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (text)
		printf("%s\n", text);
	free(text);
	json_decref(doc);
}

static void print_summary(const struct summary_row *rows, size_t n, const char *release,
                          bool as_json)
{
	if (as_json) {
		print_summary_json(rows, n, release);
		return;
	}
	printf("\n%-20s %-8s %9s  %s\n", "stage", "result", "seconds", "artifact");
	for (size_t i = 0; i < n; i++)
		printf("%-20s %-8s %9.1f  %s\n", rows[i].name, rows[i].state, rows[i].seconds,
		       rows[i].artifact ? rows[i].artifact : "-");
	if (release)
		printf("\nrelease tarball: %s\n", release);
}

/* What a pipeline run has done so far: one row per stage or shard. */
struct pipeline_run {
	struct summary_row *rows;
	size_t n_rows;
	char *release; /* the build stage's artifact, or the bolt stage's */
	bool release_ok;
	const struct stage_def *bench_ran; /* a bench stage ran (not cached) */
};

static void pipeline_run_free(struct pipeline_run *run)
{
	for (size_t i = 0; i < run->n_rows; i++) {
		free(run->rows[i].name);
		free(run->rows[i].artifact);
	}
	free(run->rows);
	free(run->release);
}

/* What a pipeline works out once for all its stages. */
struct pipeline_inputs {
	char image[DIGEST_STR_MAX];
	json_t *facts;
	struct toolchain_site site;
	bool has_site; /* else each stage locates (and reports) it */
};

static int run_one(const struct stage_cli *o, const struct pipeline *pl, const struct stage_def *d,
                   unsigned shard, unsigned n_shards, const struct pipeline_inputs *in,
                   struct pipeline_run *run)
{
	struct summary_row *row = &run->rows[run->n_rows++];
	struct stage_request rq;
	struct stage_outcome out;
	int rc;

	stage_cli_request(&rq, o, pl, d, n_shards > 1 ? shard : 0);
	rq.image_digest = in->image;
	rq.image_facts = in->facts;
	rq.toolchain_site = in->has_site ? &in->site : NULL;
	rq.defer_record = pl->ship.when != SHIP_ALWAYS;
	rc = stage_execute(&rq, &out);
	if (rc == 0 && !out.cached && stage_role_of(d->name) == ROLE_BENCH)
		run->bench_ran = d;
	row->name = artifact_base(d->name, shard, n_shards);
	row->state = rc != 0 ? "FAILED" : out.cached ? "cached" : "ran";
	row->seconds = out.seconds;
	row->artifact = out.artifact ? xstrdup(out.artifact) : NULL;
	/* the binary that ships: the PGO build, or its BOLT rewrite after it */
	if (rc == 0 &&
	    (stage_role_of(d->name) == ROLE_BUILD || stage_role_of(d->name) == ROLE_BOLT)) {
		free(run->release);
		run->release = xstrdup(out.artifact);
	}
	stage_outcome_free(&out);
	return rc;
}

/* Every stage, every shard, in order and up to --until; stops at the
 * first failure and returns its exit code. */
static int run_stages(const struct stage_cli *o, const struct pipeline *pl,
                      const struct pipeline_inputs *in, struct pipeline_run *run)
{
	int rc = 0;

	run->rows = xcalloc(PIPELINE_MAX_STAGES * 64 + 1, sizeof(*run->rows));
	for (size_t i = 0; i < pl->n_stages && rc == 0; i++) {
		const struct stage_def *d = &pl->stages[i];
		unsigned n = d->shards ? d->shards : 1;

		for (unsigned s = 1; s <= n && rc == 0; s++)
			rc = run_one(o, pl, d, s, n, in, run);
		if (o->until && strcmp(d->name, o->until) == 0)
			break;
	}
	return rc;
}

/* With --json, stdout carries only the JSON: progress goes to stderr.
 * Returns the saved stdout to restore, or -1 with errno. */
static int progress_to_stderr(void)
{
	int saved;

	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	if (saved >= 0 && dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
		int e = errno;
		close(saved);
		errno = e;
		return -1;
	}
	return saved;
}

static void restore_stdout(int saved)
{
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
}

/* `pipeline --check`: pipeline_load has validated every key, stage,
 * input, profile and the compiler; what remains is to say what would run. */
static int print_check(const struct pipeline *pl)
{
	printf("%s: valid: pipeline %s, compiler %s, %zu stage%s (nothing was run)\n", pl->path,
	       pl->name, pl->compiler, pl->n_stages, pl->n_stages == 1 ? "" : "s");
	for (size_t i = 0; i < pl->n_stages; i++) {
		const struct stage_def *d = &pl->stages[i];

		printf("  %-12s role %-15s profile %-6s shards %u  inputs:", d->name,
		       stage_role_name(stage_role_of(d->name)), d->profile, d->shards);
		for (size_t j = 0; j < d->n_inputs; j++)
			printf(" %s", d->inputs[j]);
		putchar('\n');
	}
	return 0;
}

static void pipeline_inputs_freep(struct pipeline_inputs *in)
{
	json_decref(in->facts);
	toolchain_site_free(&in->site);
}

/* Everything after loading the pipeline: its exit code (an error is
 * printed here); the caller frees the pipeline. */
static int pipeline_command(const struct stage_cli *o, const struct pipeline *pl, struct error *err)
{
	struct pipeline_run run = {0};
	_cleanup_(pipeline_inputs_freep) struct pipeline_inputs in = {.facts = NULL};
	struct error ignore = {0};
	int saved_stdout = -1;
	int rc;

	if (o->until && pipeline_find_stage(pl, o->until) == NULL) {
		error_set(err, EXIT_RUNNER_ERROR, 0, "--until %s: %s has no such stage", o->until,
		          pl->path);
		return cli_fail(err);
	}
	if (o->check)
		return print_check(pl);
	if (stage_image_digest(pl, in.image, &in.facts, err) < 0 ||
	    pipeline_check_results_stores(pl, o->until, err) < 0)
		return cli_fail(err);
	/* a toolchain that cannot be located is reported by the first stage
	 * that needs it, in its own terms */
	in.has_site = stage_locate_toolchain(pl, &in.site, &ignore) == 0;
	if (o->json && (saved_stdout = progress_to_stderr()) < 0) {
		error_set(err, EXIT_RUNNER_ERROR, errno, "redirecting progress to stderr");
		return cli_fail(err);
	}
	rc = run_stages(o, pl, &in, &run);
	run.release_ok = rc == 0;
	if (rc == 0 && pl->ship.when != SHIP_ALWAYS && !o->until)
		rc = release_decide(pl, run.bench_ran, &run.release, &run.release_ok);
	if (saved_stdout >= 0)
		restore_stdout(saved_stdout);
	print_summary(run.rows, run.n_rows, run.release_ok ? run.release : NULL, o->json);
	pipeline_run_free(&run);
	return rc;
}

int cli_pipeline(int argc, char **argv)
{
	struct stage_cli o;
	struct pipeline pl;
	struct error err = {0};
	int rc = stage_cli_parse(argc, argv, false, &o, &err);

	if (rc != 0)
		return rc > 0 ? 0 : cli_fail(&err);
	if (stage_cli_load_pipeline(&o, &pl, &err) < 0)
		return cli_fail(&err);
	rc = pipeline_command(&o, &pl, &err);
	pipeline_free(&pl);
	return rc;
}
