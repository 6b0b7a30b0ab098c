/* stage_run.h - run one stage of a pipeline: verify and extract its inputs,
 * run its command in the sandbox with its profile, pack its outputs into a
 * reproducible tarball with provenance, and commit it atomically; or skip
 * it when an artifact with the same cache key exists.
 *
 * The steps are modules of their own: artifact names (stage_names.h),
 * inputs (stage_inputs.h), environment and spec (stage_spec.h), definition
 * and cache key (stage_cache.h), temporary tree and mounts (stage_tree.h),
 * the command and its log (stage_command.h), packing and committing
 * (stage_commit.h), the toolchain's location (stage_toolchain.h).  This
 * header also gives the callers of a stage what they use of those. */
#ifndef PGO_STAGE_RUN_H
#define PGO_STAGE_RUN_H

#include <stdbool.h>

#include "artifacts/archive.h"
#include "artifacts/digest.h"
#include "pipeline/config.h"
#include "pipeline/stage_cache.h"
#include "pipeline/stage_names.h"
#include "pipeline/stage_request.h"
#include "pipeline/stage_spec.h"
#include "pipeline/stage_toolchain.h"

/* Returns the exit code (0 on success or cache hit); failures have been
 * printed, naming the step that failed. */
int stage_execute(const struct stage_request *rq, struct stage_outcome *out);
void stage_outcome_free(struct stage_outcome *o);

/* stage_execute's steps up to the cache decision, for a caller (a test)
 * that wants a stage's definition and cache key without running it.
 * stage_open sets up the state (`c`, stage_ctx.h: the role, the
 * toolchain, the profile; creates the artifacts directory); stage_plan
 * resolves the inputs, builds the environment, the spec and the
 * definition (c->definition, c->cache_key), creating nothing else on the
 * host; stage_close frees the state whatever failed. */
struct stage_ctx;
int stage_open(struct stage_ctx *c, const struct stage_request *rq, struct error *err);
int stage_plan(struct stage_ctx *c, struct error *err);
void stage_close(struct stage_ctx *c);

#endif
