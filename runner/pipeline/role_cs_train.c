/* role_cs_train.c - context-sensitive PGO, second training: as train
 * (release knobs, sharded, profiles forced into /build/out/profile), and
 * the first pass's profile the instrumented build was made with is
 * carried into the results for cs-merge's staleness check. */
#include "pipeline/roles.h"

static int prepare_cs_train(struct stage_ctx *c, struct error *err)
{
	const struct input *in = stage_input_with_role(c, ROLE_CS_INSTRUMENT);
	json_t *base = in ? json_object_get(stage_input_results(in, 0), "cs_base_profile") : NULL;

	if (!json_is_string(base))
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "a cs-train stage needs the cs-instrument stage among its inputs "
		                 "(%s)",
		                 in ? "its provenance records no first-pass profile"
		                    : "none given");
	json_object_set(c->results, "cs_base_profile", base);
	json_object_set_new(c->results, "training_knobs", stage_training_knobs(c));
	return 0;
}

static int check_cs_train(struct stage_ctx *c, struct error *err)
{
	return stage_require_profiles(c, pgo_raw_suffix(c->tc->format), "context-sensitive profile",
	                              "profiles are written when the instrumented program exits "
	                              "normally; was it built with $PGO_GENERATE_FLAGS in the "
	                              "cs-instrument stage and run from " PGO_IN_DIR "/NAME?",
	                              err);
}

const struct stage_role_ops role_cs_train = {
    .name = "cs-train",
    .role = ROLE_CS_TRAIN,
    .release_env = true,
    .prepare = prepare_cs_train,
    .check_outputs = check_cs_train,
};
