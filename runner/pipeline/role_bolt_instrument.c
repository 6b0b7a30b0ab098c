/* role_bolt_instrument.c - the bolt-instrument role: the runner writes
 * pgo-bolt-instrument (llvm-bolt -instrument, bolt.h) for the stage's
 * command, and explains llvm-bolt's refusals (no relocations, stripped). */
#include "pipeline/bolt.h"
#include "pipeline/roles.h"

static int prepare_bolt_instrument(struct stage_ctx *c, struct error *err)
{
	struct bolt_tools t;
	char *script = xasprintf("%s/.pgo/bin/pgo-bolt-instrument", c->work);
	int rc = bolt_tools_find(&t, err);

	if (rc == 0)
		rc = bolt_write_instrument_script(script, &t, err);
	if (rc == 0)
		json_object_set_new(c->results, "llvm_bolt", json_string(t.bolt));
	bolt_tools_free(&t);
	free(script);
	return rc;
}

const struct stage_role_ops role_bolt_instrument = {
    .name = "bolt-instrument",
    .role = ROLE_BOLT_INSTRUMENT,
    .prepare = prepare_bolt_instrument,
    .explain_failure = bolt_explain_stage_failure,
};
