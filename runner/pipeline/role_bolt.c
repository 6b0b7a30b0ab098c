/* role_bolt.c - the bolt role: every bolt-train shard's .fdata is merged
 * and the input binary rewritten by llvm-bolt (block and function
 * reordering, hot/cold splitting: BOLT_OPTIONS) through pgo-bolt; the
 * stage's command runs it and verifies the result runs.  A profile whose
 * samples mostly fall in functions it does not describe (another binary's,
 * or a rebuilt one's) fails the stage, as a stale PGO profile fails the
 * build. */
#include <stdio.h>
#include <string.h>

#include "pipeline/bolt.h"
#include "pipeline/roles.h"

/* The sandbox paths of every shard's .fdata files, sorted per shard. */
static int collect_fdata(const struct input *in, struct strv *inside, struct error *err)
{
	for (unsigned s = 0; s < in->shards; s++) {
		char *sub = in->shards > 1 ? xasprintf("/%uof%u", s + 1, in->shards) : xstrdup("");
		char *host = xasprintf("%s%s/%s", in->host_dir, sub, PGO_PROFILE_SUBDIR);
		char *sbx = xasprintf("%s/%s%s/%s", PGO_IN_DIR, in->name, sub, PGO_PROFILE_SUBDIR);
		struct strv hosts = {0};
		int rc = stage_walk_files(host, sbx, ".fdata", &hosts, inside, err);

		if (rc == 0 && hosts.n == 0)
			rc = error_set(err, EXIT_RUNNER_ERROR, 0,
			               "input %s holds no .fdata under %s/", in->bases[s],
			               PGO_PROFILE_SUBDIR);
		strv_free(&hosts);
		free(sub);
		free(host);
		free(sbx);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int prepare_bolt(struct stage_ctx *c, struct error *err)
{
	const struct input *train = stage_input_with_role(c, ROLE_BOLT_TRAIN);
	struct strv fdata = {0};
	struct bolt_tools t = {0};
	char *script = xasprintf("%s/.pgo/bin/pgo-bolt", c->work);
	int rc;

	stage_step_begin(c, "checking the BOLT profiles");
	if (train == NULL)
		rc = error_set(err, EXIT_RUNNER_ERROR, 0,
		               "a bolt stage needs the bolt-train stage among its inputs");
	else
		rc = collect_fdata(train, &fdata, err);
	if (rc == 0)
		rc = bolt_tools_find(&t, err);
	if (rc == 0)
		rc = bolt_write_optimize_script(script, &t, fdata.v, fdata.n, c->pl->bolt_options,
		                                err);
	if (rc == 0) {
		json_object_set_new(
		    c->results, "bolt",
		    json_pack("{s:s, s:s, s:i}", "llvm_bolt", t.bolt, "options",
		              c->pl->bolt_options ? c->pl->bolt_options : BOLT_OPTIONS,
		              "fdata_files", (int)fdata.n));
		stage_step_end(c);
	}
	bolt_tools_free(&t);
	strv_free(&fdata);
	free(script);
	return rc;
}

static int check_bolt(struct stage_ctx *c, struct error *err)
{
	size_t len;
	char *log = stage_read_log(c, &len);
	struct bolt_report r;
	json_t *b = json_object_get(c->results, "bolt");

	bolt_parse_log(log, len, &r);
	free(log);
	if (!r.seen)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "llvm-bolt printed no profile coverage: was pgo-bolt run?");
	json_object_set_new(b, "functions_with_profile", json_integer(r.profiled));
	json_object_set_new(b, "functions", json_integer(r.functions));
	json_object_set_new(b, "stale_samples_pct", json_real(r.stale_pct));
	json_object_set_new(b, "ignored_objects", json_integer(r.ignored_objects));
	printf("pgo-sandbox: %s: BOLT profile: %ld of %ld functions profiled, %.1f%% of samples "
	       "stale, %ld profiled objects not in the binary\n",
	       c->def->name, r.profiled, r.functions, r.stale_pct, r.ignored_objects);
	bolt_report_unfollowed(c->def->name, &r, b);
	if (r.profiled > 0 && r.stale_pct <= BOLT_MAX_STALE_PCT)
		return 0;
	return error_set(err, EXIT_RUNNER_ERROR, 0,
	                 "the BOLT profile matches little of the binary (%ld of %ld functions "
	                 "profiled, %.1f%% of its samples in functions whose profile is stale, "
	                 "%ld profiled objects not in the binary): it belongs to another build. "
	                 "Rerun bolt-instrument and bolt-train on this build",
	                 r.profiled, r.functions, r.stale_pct, r.ignored_objects);
}

const struct stage_role_ops role_bolt = {
    .name = "bolt",
    .role = ROLE_BOLT,
    .prepare = prepare_bolt,
    .check_outputs = check_bolt,
    .explain_failure = bolt_explain_stage_failure,
};
