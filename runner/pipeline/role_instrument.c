/* role_instrument.c - the instrument role: the runner exports the
 * toolchain's generate flags (toolchain.h); afterwards a toolchain that
 * can tell checks that the outputs really are instrumented. */
#include "pipeline/roles.h"

static int check_instrument(struct stage_ctx *c, struct error *err)
{
	if (c->tc->check_instrumented == NULL)
		return 0;
	return c->tc->check_instrumented(&c->site, c->work, c->outdir, c->def->outputs,
	                                 c->def->n_outputs, err);
}

const struct stage_role_ops role_instrument = {
    .name = "instrument",
    .role = ROLE_INSTRUMENT,
    .check_outputs = check_instrument,
};
