/* stage_options.h - the options `stage`, `pipeline`, `verify` and
 * `inspect` share, and turning them into a stage request
 * (pipeline/stage_request.h). */
#ifndef PGO_CLI_STAGE_OPTIONS_H
#define PGO_CLI_STAGE_OPTIONS_H

#include <stdbool.h>

#include "artifacts/archive.h"
#include "pipeline/config.h"
#include "pipeline/stage_request.h"

struct stage_cli {
	const char *command; /* "stage", "pipeline", "verify", "inspect" */
	const char *pipeline;
	const char *name;
	unsigned shard, shards;
	bool force;
	const char *artifacts;
	bool failure_mode_all;
	enum archive_compression compression;
	const char *until;
	bool json;
	bool keep;
	bool no_idmap;
	bool check; /* pipeline: validate, run nothing */
};

/* argv[0] is the command.  want_name: one operand (the stage, or the
 * artifact for inspect).  1 after --help, 0 ok, -1 + err. */
int stage_cli_parse(int argc, char **argv, bool want_name, struct stage_cli *o, struct error *err);

/* The pipeline file, with --artifacts applied (created when missing). */
int stage_cli_load_pipeline(const struct stage_cli *o, struct pipeline *pl, struct error *err);
const struct stage_def *stage_cli_find_stage(const struct pipeline *pl, const char *name,
                                             struct error *err);
/* --shard against the stage's shards in the pipeline. */
int stage_cli_check_shard(const struct stage_cli *o, const struct stage_def *d, struct error *err);
void stage_cli_request(struct stage_request *rq, const struct stage_cli *o,
                       const struct pipeline *pl, const struct stage_def *d, unsigned shard);

#endif
