/* recipe.h - what a pipeline stacks on IR PGO: context-sensitive PGO
 * (the cs-instrument, cs-train and cs-merge stages), function ordering
 * from a temporal profile (`function-order`), machine-function splitting
 * (`split-machine-functions`) and the compiler command (`cc`).
 *
 * The toolchain turns a recipe into flags (toolchain.h); this module
 * checks that it can, once for the whole pipeline, and says what every
 * stage's provenance records of it. */
#ifndef PGO_RECIPE_H
#define PGO_RECIPE_H

#include <jansson.h>
#include <stdbool.h>

#include "pipeline/config.h"
#include "pipeline/toolchain.h"

/* The pipeline's recipe (pointers into `pl`; the per-stage paths NULL). */
struct pgo_recipe recipe_of(const struct pipeline *pl);
/* Whether a stage of `pl` plays a context-sensitive role. */
bool recipe_has_cs_stages(const struct pipeline *pl);
/* -1 + err "PIPELINE:LINE: why" when `tc` cannot do the recipe
 * (`llvm_major`: the compiler's LLVM, 0 when unknown). */
int recipe_check(const struct pipeline *pl, const struct toolchain *tc, unsigned llvm_major,
                 struct error *err);
/* {cc, context_sensitive, function_order, split_machine_functions} */
json_t *recipe_json(const struct pipeline *pl);

#endif
