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
	return stage_require_profiles(c, pgo_raw_suffix(c->tc->format), "profile",
	                              "profiles are written when the instrumented program exits "
	                              "normally; was it built with $PGO_GENERATE_FLAGS and run "
	                              "from " PGO_IN_DIR "/NAME?",
	                              err);
}

const struct stage_role_ops role_train = {
    .name = "train",
    .role = ROLE_TRAIN,
    .release_env = true,
    .prepare = prepare_train,
    .check_outputs = check_train,
};
