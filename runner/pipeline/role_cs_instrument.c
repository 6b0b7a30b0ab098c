/* role_cs_instrument.c - context-sensitive PGO, second instrumentation:
 * the program is built with the first pass's profile and instrumented
 * again after inlining (clang -fprofile-use=P1 -fcs-profile-generate in
 * $PGO_GENERATE_FLAGS).  The first pass's profile is checked as the build
 * checks it (missing, out of date, mismatched: fatal), and its digest is
 * recorded so that cs-merge can refuse a context-sensitive profile
 * trained on a build of another first pass. */
#include <stdlib.h>

#include "pipeline/roles.h"

static int prepare_cs_instrument(struct stage_ctx *c, struct error *err)
{
	const struct input *m = stage_input_with_role(c, ROLE_MERGE);
	json_t *digest;

	if (m == NULL)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "a cs-instrument stage needs the merge stage (the first pass's "
		                 "profile) among its inputs");
	digest = json_object_get(stage_input_results(m, 0), "merged_profile");
	if (!json_is_string(digest))
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "input %s records no merged profile in its provenance", m->name);
	json_object_set(c->results, "cs_base_profile", digest);
	return 0;
}

static int check_cs_instrument(struct stage_ctx *c, struct error *err)
{
	size_t len;
	char *log = stage_read_log(c, &len);
	int rc = pgo_scan_build_log(c->tc->diagnostics, c->tc->n_diagnostics, log, len, err);

	free(log);
	if (rc < 0)
		return error_prefix(err, "the first pass's profile");
	if (c->tc->check_instrumented == NULL)
		return 0;
	return c->tc->check_instrumented(&c->site, c->work, c->outdir, c->def->outputs,
	                                 c->def->n_outputs, err);
}

const struct stage_role_ops role_cs_instrument = {
    .name = "cs-instrument",
    .role = ROLE_CS_INSTRUMENT,
    .prepare = prepare_cs_instrument,
    .check_outputs = check_cs_instrument,
};
