/* role_build.c - the build role: the profile must have been trained with
 * the release's knobs, and the compiler's diagnostics must not say that it
 * was missing, out of date or mismatched; its coverage is reported. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int prepare_build(struct stage_ctx *c, struct error *err)
{
	const struct input *m;

	stage_step_begin(c, "checking the training knobs");
	m = stage_input_with_role(c, ROLE_MERGE);
	if (m == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "a build stage needs the merge stage among its inputs");
	if (check_knobs(c, m, err) < 0)
		return -1;
	stage_step_end(c);
	return 0;
}

static int check_build(struct stage_ctx *c, struct error *err)
{
	const struct input *m = stage_input_with_role(c, ROLE_MERGE);
	json_t *mr = stage_input_results(m, 0);
	json_t *cov = json_object_get(mr, "coverage");
	size_t len;
	char *log = stage_read_log(c, &len);
	int rc = pgo_scan_build_log(c->cc, log, len, err);

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
