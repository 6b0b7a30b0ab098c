/* stage_command.h - running a stage's command (in the sandbox, or the
 * role's own run hook) with its output copied both to the runner's stderr
 * and to the stage log, and saying why it failed. */
#ifndef PGO_STAGE_COMMAND_H
#define PGO_STAGE_COMMAND_H

#include "pipeline/stage_ctx.h"

/* The command's exit code (0: success), or -1 with err set when it could
 * not be run. */
int stage_run_logged(struct stage_ctx *c, struct error *err);
/* err: the command failed with `rc` because it timed out, was killed by
 * the OOM killer or a signal, the sandbox could not be set up, or it
 * exited with that status. */
void stage_describe_failure(const struct stage_ctx *c, int rc, struct error *err);

#endif
