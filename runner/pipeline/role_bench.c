/* role_bench.c - the bench role: a thin adapter that hands the stage's
 * inputs, knobs and benchmark command to `pgo-sandbox bench`, which owns
 * the statistics and the gate, in place of the sandboxed command. */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "bench/bench_analysis.h"
#include "bench/bench_rules.h"
#include "history/history.h"
#include "pipeline/results_store.h"
#include "pipeline/roles.h"

#define BENCH_DEFAULT_RUNS "10"

/* ---- the bench stage ---- */

static const char *stage_env_value(const struct stage_ctx *c, const char *name, const char *dflt)
{
	const char *v = strv_env_get(&c->env, name);

	return v && *v ? v : dflt;
}

static char *expand_input(const char *tmpl, const char *dir)
{
	const char *hit = strstr(tmpl, "{input}");

	if (hit == NULL)
		return xstrdup(tmpl);
	return xasprintf("%.*s%s%s", (int)(hit - tmpl), tmpl, dir, hit + strlen("{input}"));
}

/* A thin adapter: the statistics and the gate are `pgo-sandbox bench`'s.
 * The first stage input is the baseline, the others the candidates (one:
 * --baseline/--candidate; more: one --variant NAME=CMD each, named after
 * their stages, compared with the baseline under one Holm family, which
 * [release] picks from: ship.h); the stage command
 * is the benchmark command, {input} standing for the variant's input
 * directory and {bench} for each benchmark of $PGO_BENCHMARKS. */
/* The variants' commands and the stage's knobs as `pgo-sandbox bench`
 * arguments; outputs land in the stage's output directory. */
static void bench_arguments(const struct stage_ctx *c, const struct input *const *v, size_t nv,
                            const char *json, const char *md, const char *svg, struct strv *args)
{
	strv_push(args, "bench");
	for (size_t i = 0; i < nv; i++) {
		char *dir = xasprintf("%s/%s", PGO_IN_DIR, v[i]->name);
		char *cmd = expand_input(c->def->command, dir);

		if (nv == 2) {
			strv_push(args, i == 0 ? "--baseline" : "--candidate");
			strv_push(args, cmd);
		} else {
			strv_push(args, "--variant");
			strv_pushf(args, "%s=%s", v[i]->name, cmd);
		}
		free(cmd);
		free(dir);
	}
	strv_push(args, "--benchmarks");
	strv_push(args, stage_env_value(c, "PGO_BENCHMARKS", "default"));
	strv_push(args, "--runs");
	strv_push(args, stage_env_value(c, "PGO_BENCH_RUNS", BENCH_DEFAULT_RUNS));
	strv_push(args, "--fail-on-regression");
	strv_push(args, stage_env_value(c, "PGO_BENCH_FAIL_ON_REGRESSION", "2"));
	/* the gate may judge some benchmarks only (*_full_check_flow); every
	 * one is still measured and reported */
	if (stage_env_value(c, "PGO_BENCH_ONLY", NULL)) {
		strv_push(args, "--only");
		strv_push(args, stage_env_value(c, "PGO_BENCH_ONLY", NULL));
	}
	/* the benchmark's own metrics and the decision rules (docs/bench.md) */
	if (stage_env_value(c, "PGO_BENCH_METRIC_REGEX", NULL)) {
		strv_push(args, "--metric-regex");
		strv_push(args, stage_env_value(c, "PGO_BENCH_METRIC_REGEX", NULL));
	}
	if (stage_env_value(c, "PGO_BENCH_METRIC_JSON", NULL)) {
		strv_push(args, "--metric-json");
		strv_push(args, stage_env_value(c, "PGO_BENCH_METRIC_JSON", NULL));
	}
	if (stage_env_value(c, "PGO_BENCH_METRIC", NULL)) {
		strv_push(args, "--metric");
		strv_push(args, stage_env_value(c, "PGO_BENCH_METRIC", NULL));
	}
	if (stage_env_value(c, "PGO_BENCH_RULES", NULL)) {
		char *rules = pipeline_relative(c->pl, stage_env_value(c, "PGO_BENCH_RULES", NULL));

		strv_push(args, "--rules");
		strv_push(args, rules);
		free(rules);
	}
	/* the results store (docs/history.md) */
	{
		char *store = pipeline_results_store(c->pl, c->def);

		if (store && !c->rq->defer_record) {
			strv_push(args, "--record");
			strv_push(args, store);
		}
		free(store);
	}
	strv_push(args, "--json");
	strv_push(args, json);
	strv_push(args, "--markdown");
	strv_push(args, md);
	strv_push(args, "--svg");
	strv_push(args, svg);
	strv_push(args, "--no-workdir");
	if (c->spec.no_idmap)
		strv_push(args, "--no-idmap");
	if (c->spec.entropy_seed) {
		strv_push(args, "--entropy-seed");
		strv_push(args, c->spec.entropy_seed);
	}
	if (c->profile.cpus) {
		strv_push(args, "--cpus");
		strv_push(args, c->profile.cpus);
	}
	if (!c->profile.no_turbo && c->profile.governor == NULL)
		strv_push(args, "--no-host-tuning");
	for (size_t i = 0; i < c->spec.n_mounts; i++) {
		const struct mount_spec *m = &c->spec.mounts[i];

		if (m->kind != MOUNT_BIND_RO && m->kind != MOUNT_BIND_RO_IDMAP)
			continue;
		strv_push(args, m->kind == MOUNT_BIND_RO ? "--ro-bind" : "--ro-bind-idmap");
		strv_push(args, m->src);
		strv_push(args, m->dst);
	}
	for (size_t i = 0; i < c->spec.n_set_env; i++) {
		strv_push(args, "--setenv");
		strv_push(args, c->spec.set_env[i]);
	}
}

static int check_stage_store(void *arg, const char *store, struct error *err)
{
	(void)arg;
	return history_check_store(store, err);
}

static int record_stage(void *arg, const struct bench_record_request *rq, const json_t *result,
                        struct error *err)
{
	const struct stage_ctx *c = arg;
	struct history_context ctx = {.pipeline = c->pl->name, .stage = c->def->name};
	char *id = NULL, *kept = NULL;

	if (history_record_or_keep(rq->store, result, &ctx, &id, &kept, err) < 0) {
		free(kept);
		return -1;
	}
	printf("pgo-sandbox: bench: recorded as run %s in %s\n", id, rq->store);
	free(id);
	return 0;
}

/* The bench's own command line, parsed by cli/'s parser and run: the
 * exit code of `pgo-sandbox bench` with those words. */
static int bench_words(const struct stage_ctx *c, struct strv *args,
                       const struct bench_hooks *hooks)
{
	const struct bench_parsers *p = c->rq->bench_parsers;
	struct bench_options o;
	struct error err = {0};
	int rc;

	if (p == NULL) {
		fprintf(stderr, "pgo-sandbox: a bench stage needs the bench option parser\n");
		return EXIT_RUNNER_ERROR;
	}
	rc = p->bench((int)args->n, args->v, &o, &err);
	if (rc != 0) {
		if (rc < 0)
			error_print(&err);
		bench_options_free(&o);
		return rc < 0 ? EXIT_RUNNER_ERROR : 0;
	}
	return bench_run(&o, hooks);
}

static int run_bench(struct stage_ctx *c)
{
	const struct bench_hooks hooks = {check_stage_store, record_stage, c,
	                                  c->rq->bench_parsers ? c->rq->bench_parsers->sandbox
	                                                       : NULL};
	const struct input **v = xcalloc(c->n_inputs + 1, sizeof(*v));
	struct strv args = {0};
	char *json, *md, *svg;
	size_t nv = 0;
	int rc;

	for (size_t i = 0; i < c->n_inputs; i++)
		if (!c->inputs[i].is_source)
			v[nv++] = &c->inputs[i];
	if (nv < 2) {
		fprintf(stderr, "pgo-sandbox: a bench stage needs two stage inputs: the baseline, "
		                "then the candidate(s)\n");
		free(v);
		return EXIT_RUNNER_ERROR;
	}
	json = xasprintf("%s/bench.json", c->outdir);
	md = xasprintf("%s/bench.md", c->outdir);
	svg = xasprintf("%s/bench.svg", c->outdir);
	bench_arguments(c, v, nv, json, md, svg, &args);
	printf("pgo-sandbox: bench: %s (baseline) against %s", v[0]->name, v[1]->name);
	for (size_t i = 2; i < nv; i++)
		printf(", %s", v[i]->name);
	printf(" (candidate%s)\n", nv > 2 ? "s" : "");
	free(v);
	rc = bench_words(c, &args, &hooks);
	if (rc == 0 || rc == 1 || rc == BENCH_EXIT_INCONCLUSIVE || rc == BENCH_EXIT_NO_GO ||
	    rc == BENCH_EXIT_NEUTRAL) {
		json_error_t jerr;
		c->bench_json = json_load_file(json, 0, &jerr);
	}
	/* with a ship rule the bench stage gathers the evidence and the
	 * release decides what ships: a PGO build that lost is not a failed
	 * stage but a baseline release (pipeline/ship.h) */
	if (c->pl->ship.when != SHIP_ALWAYS && c->bench_json &&
	    (rc == 1 || rc == BENCH_EXIT_INCONCLUSIVE || rc == BENCH_EXIT_NO_GO ||
	     rc == BENCH_EXIT_NEUTRAL)) {
		printf("pgo-sandbox: bench: exit %d recorded; [release] ship-pgo-if decides\n", rc);
		rc = 0;
	}
	strv_free(&args);
	free(json);
	free(md);
	free(svg);
	return rc;
}

static void explain_bench_failure(const struct stage_ctx *c, int rc, struct error *err)
{
	(void)c;
	error_set(err, rc, 0,
	          "the bench gate failed: pgo-sandbox bench exited with %d (1: the candidate "
	          "is slower than the baseline beyond the threshold; 2: the gate could not "
	          "decide (a gated comparison had no finite interval, or --strict); 4: a "
	          "benchmark command "
	          "failed or its metrics did not parse; 5: the rules said no-go; 6: neutral)",
	          rc);
}

const struct stage_role_ops role_bench = {
    .name = "bench",
    .role = ROLE_BENCH,
    .release_env = true,
    .run = run_bench,
    .explain_failure = explain_bench_failure,
};
