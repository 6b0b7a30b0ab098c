/* stage.c - `pgo-sandbox stage NAME`: one stage of a pipeline file in the
 * sandbox (pipeline/stage_run.h), packed into ARTIFACTS/NAME.tar.zst. */
#define _GNU_SOURCE
#include "cli/commands.h"
#include "cli/options.h"
#include "cli/stage_options.h"
#include "pipeline/stage_run.h"

int cli_stage(int argc, char **argv)
{
	struct stage_cli o;
	struct pipeline pl;
	struct error err = {0};
	struct stage_request rq;
	struct stage_outcome out;
	const struct stage_def *d;
	int rc = stage_cli_parse(argc, argv, true, &o, &err);

	if (rc != 0)
		return rc > 0 ? 0 : cli_fail(&err);
	if (stage_cli_load_pipeline(&o, &pl, &err) < 0)
		return cli_fail(&err);
	d = stage_cli_find_stage(&pl, o.name, &err);
	if (d == NULL || stage_cli_check_shard(&o, d, &err) < 0) {
		pipeline_free(&pl);
		return cli_fail(&err);
	}
	stage_cli_request(&rq, &o, &pl, d, o.shard);
	rc = stage_execute(&rq, &out);
	stage_outcome_free(&out);
	pipeline_free(&pl);
	return rc;
}
