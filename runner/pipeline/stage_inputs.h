/* stage_inputs.h - a stage's inputs, resolved from its definition: the
 * source tree (by digest) and each input stage's artifacts (one per
 * shard), found in the artifacts directory and verified against their
 * sidecars.  Needs no sandbox and creates nothing: a stage resolves its
 * inputs before its cache decision. */
#ifndef PGO_STAGE_INPUTS_H
#define PGO_STAGE_INPUTS_H

#include <jansson.h>
#include <stdbool.h>

#include "base/util.h"
#include "pipeline/config.h"
/* struct input: part of the stage state */
#include "pipeline/stage_ctx.h"

/* The inputs `def` names, in its order, their artifacts read from
 * `in_dir`.  *inputs is allocated first and filled as it goes: on failure
 * (an input that is no stage of `pl`, a missing artifact with the command
 * that makes it, a digest that does not match) the caller frees what was
 * resolved with stage_inputs_free. */
int stage_inputs_resolve(const struct pipeline *pl, const struct stage_def *def, const char *in_dir,
                         struct input **inputs, size_t *n, struct error *err);
void stage_inputs_free(struct input *inputs, size_t n);
bool stage_inputs_have_source(const struct input *inputs, size_t n);
/* [{"name", "digest"} for the source, {"name", "artifacts": [{"file",
 * "digest"}]} for a stage]: file names without their directory, so where
 * the artifacts are read from is no part of a definition. */
json_t *stage_inputs_json(const struct input *inputs, size_t n);
/* The top directory of an artifacts directory kept inside the source tree
 * ("artifacts" for artifacts/gcc), or NULL. */
char *stage_source_mask(const struct pipeline *pl);

#endif
