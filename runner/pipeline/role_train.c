/* role_train.c - the train role: the runtime knobs training runs with
 * are recorded (the build refuses a profile trained with others), and a
 * training that wrote no profile fails. */
#include <string.h>

#include "pipeline/roles.h"

static int prepare_train(struct stage_ctx *c, struct error *err)
{
	(void)err;
	json_object_set_new(c->results, "training_knobs", stage_training_knobs(c));
	return 0;
}

static int check_train(struct stage_ctx *c, struct error *err)
{
	char *dir = xasprintf("%s/%s", c->outdir, PGO_PROFILE_SUBDIR);
	struct strv files = {0};
	int rc = stage_walk_files(dir, NULL, pgo_raw_suffix(c->tc->format), &files, NULL, err);

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
    .release_env = true,
    .prepare = prepare_train,
    .check_outputs = check_train,
};
