/* role_instrument.c - the instrument role: the runner exports the
 * toolchain's generate flags (pgo.h); nothing is checked around the
 * command beyond the declared outputs. */
#include "pipeline/roles.h"

const struct stage_role_ops role_instrument = {
    .name = "instrument",
    .role = ROLE_INSTRUMENT,
};
