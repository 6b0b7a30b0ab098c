/* role_bolt_train.c - the bolt-train role: the BOLT-instrumented binary
 * runs the training inputs with the release's knobs, as train does for
 * PGO; each process leaves one .fdata (bolt.h) in the stage's profile
 * directory, which the runner creates since the runtime does not. */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline/bolt.h"
#include "pipeline/roles.h"

static int prepare_bolt_train(struct stage_ctx *c, struct error *err)
{
	char *dir = xasprintf("%s/%s", c->outdir, PGO_PROFILE_SUBDIR);
	int rc = 0;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		rc = error_set(err, EXIT_RUNNER_ERROR, errno, "mkdir %s", dir);
	else if (getuid() == 0 && chown(dir, c->spec.uid, c->spec.gid) < 0)
		rc = error_set(err, EXIT_RUNNER_ERROR, errno, "chown %s", dir);
	free(dir);
	json_object_set_new(c->results, "training_knobs", stage_training_knobs(c));
	return rc;
}

static int check_bolt_train(struct stage_ctx *c, struct error *err)
{
	return stage_require_profiles(c, ".fdata", ".fdata",
	                              "the BOLT-instrumented binary writes it when it exits "
	                              "normally; was it run from " PGO_IN_DIR "/NAME?",
	                              err);
}

const struct stage_role_ops role_bolt_train = {
    .name = "bolt-train",
    .role = ROLE_BOLT_TRAIN,
    .release_env = true,
    .prepare = prepare_bolt_train,
    .check_outputs = check_bolt_train,
};
