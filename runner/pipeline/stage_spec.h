/* stage_spec.h - what a stage's command runs with: its environment (the
 * toolchain's PGO variables for its role, the release's knobs, the
 * stage's own), and its sandbox specification from its profile. */
#ifndef PGO_STAGE_SPEC_H
#define PGO_STAGE_SPEC_H

#include "pipeline/stage_ctx.h"

/* c->env, in order (later wins), from the role, the inputs and the
 * pipeline. */
void stage_build_env(struct stage_ctx *c);
/* c->spec without host paths (mounts come once the temporary tree
 * exists, stage_tree.h): what provenance records is computed from it. */
int stage_build_spec(struct stage_ctx *c, struct error *err);
/* verify's second run: libfaketime inside, when installed. */
void stage_add_perturbation(struct stage_ctx *c);

/* The libfaketime preload library, when installed (verify uses it). */
const char *faketime_library(void);

#endif
