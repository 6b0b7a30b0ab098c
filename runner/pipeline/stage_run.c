/* stage_run.c - see stage_run.h: one stage, step by step.  The steps
 * live in their own modules (stage_inputs, stage_spec, stage_cache,
 * stage_tree, stage_command, stage_commit); this file orders them. */
#define _GNU_SOURCE
#include "pipeline/stage_run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/janitor.h"
#include "pipeline/recipe.h"
#include "pipeline/roles.h"
#include "pipeline/stage_command.h"
#include "pipeline/stage_commit.h"
#include "pipeline/stage_ctx.h"
#include "pipeline/stage_inputs.h"
#include "pipeline/stage_tree.h"

int stage_open(struct stage_ctx *c, const struct stage_request *rq, struct error *err)
{
	memset(c, 0, sizeof(*c));
	c->jan = (struct janitor)JANITOR_INIT;
	c->rq = rq;
	c->pl = rq->pl;
	c->def = rq->def;
	c->t0 = monotonic_ns();
	c->role = stage_role_of(c->def->name);
	c->ops = stage_role_ops(c->role);
	c->shards = c->def->shards ? c->def->shards : 1;
	c->steps = json_array();
	c->results = json_object();
	c->step = "loading the stage";
	c->base = artifact_base(c->def->name, rq->shard, c->shards);
	c->tarball = artifact_path(rq->out_dir, c->base, rq->compression);
	c->pack_tmp = xasprintf("%s/.%s.%ld.part", rq->out_dir, c->base, (long)getpid());
	c->report = report_create();
	if (c->report == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, ENOMEM, "allocating the run report");
	if (toolchain_find(c->pl->compiler, &c->tc, err) < 0)
		return -1;
	if (c->shards > 1 && (rq->shard < 1 || rq->shard > c->shards))
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "stage %s has %u shards: pass --shard I/%u (1 <= I <= %u)",
		                 c->def->name, c->shards, c->shards, c->shards);
	if (mkdir_p(rq->out_dir, 0755, err) < 0)
		return -1;
	stage_step_begin(c, "loading the profile");
	if (profile_load_named(c->pl->profiles_dir, c->def->profile, &c->profile, err) < 0)
		return -1;
	c->profile_loaded = true;
	stage_step_end(c);
	return 0;
}

void stage_close(struct stage_ctx *c)
{
	stage_inputs_free(c->inputs, c->n_inputs);
	if (c->profile_loaded)
		profile_free(&c->profile);
	strv_free(&c->env);
	strv_free(&c->janitor_paths);
	json_decref(c->definition);
	json_decref(c->results);
	json_decref(c->steps);
	json_decref(c->cgroup_json);
	json_decref(c->bench_json);
	if (c->spec_ready)
		spec_free(&c->spec);
	if (c->report)
		report_destroy(c->report);
	free(c->base);
	free(c->tarball);
	free(c->pack_tmp);
	free(c->tmp);
	free(c->work);
	free(c->outdir);
	free(c->packdir);
	free(c->log);
	free(c->profdata_host);
	free(c->profdata_sandbox);
	toolchain_site_free(&c->site);
}

/* A pipeline locates its toolchain once for all its stages (~0.2 s of
 * rustc -vV and digests each time). */
static int locate_toolchain(struct stage_ctx *c, struct error *err)
{
	if (c->rq->toolchain_site) {
		toolchain_site_copy(&c->site, c->rq->toolchain_site);
		return 0;
	}
	stage_step_begin(c, "locating the toolchain");
	if (stage_locate_toolchain(c->pl, &c->site, err) < 0)
		return -1;
	stage_step_end(c);
	return 0;
}

static int check_outputs(struct stage_ctx *c, struct error *err)
{
	if (c->ops && c->ops->check_outputs && c->ops->check_outputs(c, err) < 0)
		return -1;
	for (size_t i = 0; i < c->def->n_outputs; i++) {
		char *p = xasprintf("%s/%s", c->outdir, c->def->outputs[i]);
		struct stat st;
		int rc = lstat(p, &st);

		free(p);
		if (rc < 0)
			return error_set(err, EXIT_RUNNER_ERROR, errno,
			                 "declared output %s/%s is missing", PGO_OUT_DIR,
			                 c->def->outputs[i]);
	}
	return 0;
}

/* Everything up to the cache decision: no host state is created. */
int stage_plan(struct stage_ctx *c, struct error *err)
{
	stage_step_begin(c, "checking the inputs");
	if (stage_inputs_resolve(c->pl, c->def, c->rq->in_dir, &c->inputs, &c->n_inputs, err) < 0)
		return -1;
	stage_step_end(c);
	/* A toolchain whose refusals do not depend on the compiler's version
	 * (rustc, gcc: no llvm_major_of) refuses before it is located: "rustc
	 * has no CS-PGO" must not hide behind "this rustc has no profiler
	 * runtime". */
	if (c->tc->llvm_major_of == NULL && recipe_check(c->pl, c->tc, 0, err) < 0)
		return -1;
	if (locate_toolchain(c, err) < 0)
		return -1;
	if (c->tc->llvm_major_of && recipe_check(c->pl, c->tc, c->site.llvm_major, err) < 0)
		return -1;
	stage_build_env(c);
	stage_step_begin(c, "building the sandbox spec");
	if (stage_build_spec(c, err) < 0)
		return -1;
	stage_step_end(c);
	return stage_build_definition(c, err);
}

static int run_stage(struct stage_ctx *c, char digest[DIGEST_STR_MAX], struct error *err)
{
	int rc;

	stage_step_begin(c, "creating the working tree");
	if (stage_make_tmp(c, err) < 0 || stage_start_janitor(c, err) < 0)
		return -1;
	stage_step_end(c);
	stage_step_begin(c, "extracting the inputs");
	if (stage_extract_inputs(c, err) < 0)
		return -1;
	stage_step_end(c);
	stage_step_begin(c, "preparing the working tree");
	if (stage_prepare_work(c, err) < 0)
		return -1;
	stage_step_end(c);
	if (c->ops && c->ops->prepare && c->ops->prepare(c, err) < 0)
		return -1;
	stage_step_begin(c, "preparing the mounts");
	stage_add_mounts(c);
	if (c->rq->perturb)
		stage_add_perturbation(c);
	stage_step_end(c);
	stage_step_begin(c, "running the command");
	rc = stage_run_logged(c, err);
	if (rc < 0)
		return -1;
	if (rc != 0) {
		stage_describe_failure(c, rc, err);
		if (c->ops && c->ops->explain_failure)
			c->ops->explain_failure(c, rc, err);
		return -1;
	}
	stage_step_end(c);
	stage_step_begin(c, "checking the outputs");
	if (check_outputs(c, err) < 0)
		return -1;
	stage_step_end(c);
	return stage_pack_and_commit(c, digest, err);
}

int stage_execute(const struct stage_request *rq, struct stage_outcome *out)
{
	struct stage_ctx c;
	struct error err = {0};
	char digest[DIGEST_STR_MAX] = "";
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (stage_open(&c, rq, &err) < 0 || stage_plan(&c, &err) < 0) {
		rc = -1;
	} else if (!rq->force && stage_cache_hit(&c, digest)) {
		out->cached = true;
		printf("pgo-sandbox: %s: cached (inputs, definition and image unchanged): %s\n",
		       c.base, c.tarball);
	} else {
		printf("pgo-sandbox: %s: running (%s role, %s profile)\n", c.base,
		       stage_role_name(c.role), c.def->profile);
		fflush(stdout);
		rc = run_stage(&c, digest, &err);
		if (rc == 0)
			printf("pgo-sandbox: %s: %s %s (%.1fs)\n", c.base, c.tarball, digest,
			       (double)(monotonic_ns() - c.t0) / 1e9);
	}
	if (rc < 0) {
		fprintf(stderr,
		        "pgo-sandbox: stage %s failed at step '%s': %s; nothing written "
		        "to %s\n",
		        c.base ? c.base : rq->def->name, c.step, err.msg,
		        c.tarball ? c.tarball : "the artifacts directory");
		if (c.definition && c.tmp)
			stage_write_failure_json(&c, &err);
	}
	if (c.tmp)
		stage_cleanup_tmp(&c);
	out->seconds = (double)(monotonic_ns() - c.t0) / 1e9;
	if (rc == 0) {
		out->artifact = xstrdup(c.tarball);
		snprintf(out->digest, sizeof(out->digest), "%s", digest);
	}
	stage_close(&c);
	if (rc == 0)
		return 0;
	return err.exit_code && err.exit_code != EXIT_RUNNER_ERROR ? err.exit_code
	                                                           : EXIT_RUNNER_ERROR;
}

void stage_outcome_free(struct stage_outcome *o)
{
	free(o->artifact);
	o->artifact = NULL;
}
