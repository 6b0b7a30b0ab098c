/* role_train.c - the train role: the runtime knobs training runs with
 * are recorded (the build refuses a profile trained with others), and a
 * training that wrote no profile fails. */
#include <stdlib.h>
#include <string.h>

#include "pipeline/roles.h"

static json_t *training_knobs(const struct stage_ctx *c)
{
	json_t *o = json_object();

	for (size_t i = 0; i < c->pl->n_release_env; i++) {
		const char *eq = strchr(c->pl->release_env[i], '=');
		char *name =
		    xasprintf("%.*s", (int)(eq - c->pl->release_env[i]), c->pl->release_env[i]);
		const char *v = strv_env_get(&c->env, name);

		json_object_set_new(o, name, v ? json_string(v) : json_null());
		free(name);
	}
	return o;
}

static int prepare_train(struct stage_ctx *c, struct error *err)
{
	(void)err;
	json_object_set_new(c->results, "training_knobs", training_knobs(c));
	return 0;
}

static int count_raw_profiles(const char *dir, const char *suffix, struct strv *files,
                              struct error *err)
{
	struct strv sbx = {0};
	int rc = stage_walk_files(dir, "", suffix, files, &sbx, err);

	strv_free(&sbx);
	return rc;
}

static int check_train(struct stage_ctx *c, struct error *err)
{
	char *dir = xasprintf("%s/%s", c->outdir, PGO_PROFILE_SUBDIR);
	struct strv files = {0};
	int rc = count_raw_profiles(dir, c->tc->format == PROFILE_LLVM_RAW ? ".profraw" : ".gcda",
	                            &files, err);

	if (rc == 0 && files.n == 0)
		rc = error_set(err, EXIT_RUNNER_ERROR, 0,
		               "training wrote no profile into %s/%s: profiles are written when "
		               "the instrumented program exits normally; was it built with "
		               "$PGO_GENERATE_FLAGS and run from %s/NAME?",
		               PGO_OUT_DIR, PGO_PROFILE_SUBDIR, PGO_IN_DIR);
	if (rc == 0)
		json_object_set_new(c->results, "profiles", json_integer((json_int_t)files.n));
	strv_free(&files);
	free(dir);
	return rc;
}

const struct stage_role_ops role_train = {
    .name = "train",
    .role = ROLE_TRAIN,
    .prepare = prepare_train,
    .check_outputs = check_train,
};
