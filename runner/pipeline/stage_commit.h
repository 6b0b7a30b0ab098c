/* stage_commit.h - a stage's outputs packed into a reproducible tarball
 * with its provenance, and committed with its sidecar and run report:
 * the three appear together or not at all (file_commit.h).  A failed
 * run's report goes beside them. */
#ifndef PGO_STAGE_COMMIT_H
#define PGO_STAGE_COMMIT_H

#include "artifacts/digest.h"
#include "pipeline/stage_ctx.h"

/* Packs /build/out's declared outputs (all of it when none is declared)
 * and commits the set; the tarball's digest in `digest`. */
int stage_pack_and_commit(struct stage_ctx *c, char digest[DIGEST_STR_MAX], struct error *err);
/* NAME.failure.json, never over an earlier run's set. */
void stage_write_failure_json(struct stage_ctx *c, const struct error *failure);

#endif
