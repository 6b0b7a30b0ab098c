/* role_cs_merge.c - context-sensitive PGO, the merge of both passes:
 * `llvm-profdata merge P1 cs.profraw...` into the one profile the build
 * uses.  Besides the merge's own checks (damage, raw format version
 * against the chosen llvm-profdata, both named), the context-sensitive
 * profiles must come from a build made with this very first-pass profile
 * (else they describe other inlining decisions: stale) and be trained
 * with the first pass's knobs. */
#include <string.h>

#include <stdlib.h>

#include "artifacts/provenance.h"
#include "pipeline/roles.h"

static int check_cs_base(const struct stage_ctx *c, const struct input *first,
                         const struct input *cs, unsigned shard, struct error *err)
{
	const char *want =
	    json_string_value(json_object_get(stage_input_results(first, 0), "merged_profile"));
	const char *got =
	    json_string_value(json_object_get(stage_input_results(cs, shard), "cs_base_profile"));

	(void)c;
	if (want == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "input %s records no merged profile in its provenance",
		                 first->name);
	if (got == NULL || strcmp(want, got) != 0)
		return error_set(
		    err, EXIT_RUNNER_ERROR, 0,
		    "stale context-sensitive profile: %s was trained on a build made "
		    "with first-pass profile %s, but this merge's first pass (%s) is %s. "
		    "Rerun cs-instrument and cs-train on this merge",
		    cs->bases[shard], got ? got : "(none recorded)", first->name, want);
	return 0;
}

static int check_cs_knobs(const struct input *first, const struct input *cs, unsigned shard,
                          struct error *err)
{
	json_t *a = json_object_get(stage_input_results(first, 0), "training_knobs");
	json_t *b = json_object_get(stage_input_results(cs, shard), "training_knobs");
	char *ta, *tb;

	if (json_equal(a, b))
		return 0;
	ta = a ? json_canonical(a) : xstrdup("none");
	tb = b ? json_canonical(b) : xstrdup("none");
	error_set(err, EXIT_RUNNER_ERROR, 0,
	          "the passes ran with different knobs: %s with %s, %s with %s", first->name, ta,
	          cs->bases[shard], tb);
	free(ta);
	free(tb);
	return -1;
}

static int prepare_cs_merge(struct stage_ctx *c, struct error *err)
{
	const struct input *first = stage_input_with_role(c, ROLE_MERGE);

	if (c->tc->format != PROFILE_LLVM_RAW || first == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "a cs-merge stage needs the merge stage (the first pass's "
		                 "profile) among its inputs");
	for (size_t i = 0; i < c->n_inputs; i++) {
		const struct input *in = &c->inputs[i];

		if (in->is_source || in->role != ROLE_CS_TRAIN)
			continue;
		for (unsigned s = 0; s < in->shards; s++)
			if (check_cs_base(c, first, in, s, err) < 0 ||
			    check_cs_knobs(first, in, s, err) < 0)
				return -1;
	}
	return merge_prepare(c, err);
}

const struct stage_role_ops role_cs_merge = {
    .name = "cs-merge",
    .role = ROLE_CS_MERGE,
    .prepare = prepare_cs_merge,
    .check_outputs = merge_check_outputs,
    .explain_failure = merge_explain_failure,
};
