/* role_build.c - the build role: the profile must have been trained with
 * the release's knobs, and the compiler's diagnostics must not say that it
 * was missing, out of date or mismatched; its coverage is reported. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/profdata.h"
#include "pipeline/roles.h"

static const char *release_value(const struct pipeline *pl, const char *name)
{
	size_t len = strlen(name);
	const char *v = NULL;

	for (size_t i = 0; i < pl->n_release_env; i++)
		if (strncmp(pl->release_env[i], name, len) == 0 && pl->release_env[i][len] == '=')
			v = pl->release_env[i] + len + 1;
	return v;
}

/* The build refuses a profile trained with other knobs than the release
 * will run with: it would optimise for the wrong program. */
static int check_knobs(struct stage_ctx *c, const struct input *m, struct error *err)
{
	json_t *knobs = json_object_get(stage_input_results(m, 0), "training_knobs");
	char *diff = NULL;

	if (!json_is_object(knobs))
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "input %s records no training knobs in its provenance", m->name);
	for (size_t i = 0; i < c->pl->n_release_env; i++) {
		const char *eq = strchr(c->pl->release_env[i], '=');
		char *name =
		    xasprintf("%.*s", (int)(eq - c->pl->release_env[i]), c->pl->release_env[i]);
		const char *trained = json_string_value(json_object_get(knobs, name));

		if (trained == NULL || strcmp(trained, eq + 1) != 0)
			stage_append_text(&diff, "%s: trained with %s%s, the release default is %s",
			                  name, trained ? "" : "it ", trained ? trained : "unset",
			                  eq + 1);
		free(name);
	}
	for (void *it = json_object_iter(knobs); it; it = json_object_iter_next(knobs, it)) {
		const char *key = json_object_iter_key(it);
		json_t *val = json_object_iter_value(it);

		if (json_is_string(val) && release_value(c->pl, key) == NULL)
			stage_append_text(&diff, "%s: trained with %s, no longer a release knob",
			                  key, json_string_value(val));
	}
	if (diff == NULL)
		return 0;
	error_set(err, EXIT_RUNNER_ERROR, 0,
	          "the profile in %s was trained with runtime knobs that differ from the release "
	          "defaults ([release] env of %s): %s. Retrain with the release knobs",
	          m->name, c->pl->path, diff);
	free(diff);
	return -1;
}

/* The profile the build uses: context-sensitive PGO's merge of both
 * passes when the pipeline has one, else the merge's. */
static const struct input *build_profile_input(const struct stage_ctx *c)
{
	const struct input *cs = stage_input_with_role(c, ROLE_CS_MERGE);

	return cs ? cs : stage_input_with_role(c, ROLE_MERGE);
}

static int prepare_build(struct stage_ctx *c, struct error *err)
{
	const struct input *m;

	stage_step_begin(c, "checking the training knobs");
	m = build_profile_input(c);
	if (m == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "a build stage needs the merge (or cs-merge) stage among its "
		                 "inputs");
	if (check_knobs(c, m, err) < 0)
		return -1;
	stage_step_end(c);
	return 0;
}

#define MISSING_FUNCTION "no profile data available for function"

/* rustc warns once per function built without profile data
 * (-pgo-warn-missing-function); some always are (code that training
 * never instantiated).  A profile that matches less than half of what was
 * built is someone else's, or silently unreadable (rust issue 103229). */
/* Functions in the merged profile the build was given, counted by the
 * llvm-profdata the merge chose (its sandbox path mapped back to the
 * host); -1 when it cannot be read. */
static json_int_t profile_functions(const struct stage_ctx *c, const struct input *m)
{
	const char *tool = json_string_value(
	    json_object_get(json_object_get(stage_input_results(m, 0), "llvm_profdata"), "path"));
	char *host_tool, *profile;
	struct profile_coverage pc;
	struct error ignore = {0};
	int rc;

	if (tool == NULL)
		return -1;
	if (c->site.mount_src && strncmp(tool, c->site.mount_dst, strlen(c->site.mount_dst)) == 0)
		host_tool = xasprintf("%s%s", c->site.mount_src, tool + strlen(c->site.mount_dst));
	else
		host_tool = xstrdup(tool);
	profile = xasprintf("%s/%s/%s", m->host_dir, PGO_PROFILE_SUBDIR, PGO_MERGED_PROFDATA);
	rc = profdata_coverage(host_tool, profile, &pc, &ignore);
	free(host_tool);
	free(profile);
	return rc < 0 ? -1 : (json_int_t)pc.functions;
}

static int judge_missing_functions(struct stage_ctx *c, const struct input *m, const char *log,
                                   size_t len, json_t *cov, struct error *err)
{
	unsigned missing = pgo_count_in_log(log, len, MISSING_FUNCTION);
	json_int_t counted = profile_functions(c, m);
	json_int_t in_profile =
	    counted >= 0 ? counted : json_integer_value(json_object_get(cov, "functions"));
	double matched = in_profile + (json_int_t)missing
	                     ? 100.0 * (double)in_profile / (double)(in_profile + missing)
	                     : 0.0;

	json_object_set_new(c->results, "functions_without_profile", json_integer(missing));
	printf("pgo-sandbox: %s: %u function%s built without profile data, %lld in the "
	       "profile (%.0f%% matched)\n",
	       c->def->name, missing, missing == 1 ? "" : "s", (long long)in_profile, matched);
	if (in_profile > 0 && matched >= 50.0)
		return 0;
	return error_set(err, EXIT_RUNNER_ERROR, 0,
	                 "the profile matches %s of the build (%u functions built without profile "
	                 "data, %lld in the profile): it belongs to another program or build, or "
	                 "rustc could not read it. Rerun instrument, train and merge on these "
	                 "sources with these flags",
	                 in_profile > 0 ? "less than half" : "nothing", missing,
	                 (long long)in_profile);
}

static int check_build(struct stage_ctx *c, struct error *err)
{
	const struct input *m = build_profile_input(c);
	json_t *mr = stage_input_results(m, 0);
	json_t *cov = json_object_get(mr, "coverage");
	size_t len;
	char *log = stage_read_log(c, &len);
	int rc = pgo_scan_build_log(c->tc->diagnostics, c->tc->n_diagnostics, log, len, err);

	if (rc == 0 && c->tc->counts_missing_functions)
		rc = judge_missing_functions(c, m, log, len, cov, err);
	free(log);
	if (rc < 0)
		return -1;
	json_object_set_new(c->results, "profile",
	                    json_pack("{s:s, s:O, s:O}", "input", m->name, "merged_profile",
	                              json_object_get(mr, "merged_profile"), "coverage",
	                              cov ? cov : json_null()));
	if (json_is_object(cov)) {
		json_int_t fn = json_integer_value(json_object_get(cov, "functions"));
		json_int_t ex = json_integer_value(json_object_get(cov, "executed"));

		printf("pgo-sandbox: %s: profile coverage: %lld of %lld instrumented functions "
		       "ran during training (%.0f%%)\n",
		       c->def->name, (long long)ex, (long long)fn,
		       fn ? 100.0 * (double)ex / (double)fn : 0.0);
	}
	return 0;
}

const struct stage_role_ops role_build = {
    .name = "build",
    .role = ROLE_BUILD,
    .prepare = prepare_build,
    .check_outputs = check_build,
};
