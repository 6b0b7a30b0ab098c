/* roles.h - the roles a pipeline stage can play, as a table.
 *
 * A stage's role comes from its name (instrument, train, merge, build,
 * bench, bolt-instrument, bolt-train, bolt, cs-instrument, cs-train,
 * cs-merge; any other name runs its
 * command and nothing more).  A role is one
 * file, role_NAME.c, defining one `struct stage_role_ops`, and one row in
 * roles.c; stage_run.c calls its hooks around the sandboxed command and
 * knows nothing else of it. */
#ifndef PGO_ROLES_H
#define PGO_ROLES_H

#include "pipeline/stage_ctx.h"

struct stage_role_ops {
	const char *name; /* the stage name that selects the role */
	enum stage_role role;
	/* the command runs with the release's knobs ([release] env): the
	 * program must be trained or measured as it will be used */
	bool release_env;
	/* before the command: checks and helpers (NULL: none) */
	int (*prepare)(struct stage_ctx *c, struct error *err);
	/* in place of the sandboxed command; returns its exit code (NULL:
	 * the stage's command in the sandbox) */
	int (*run)(struct stage_ctx *c);
	/* after the command succeeded (NULL: none) */
	int (*check_outputs)(struct stage_ctx *c, struct error *err);
	/* after the command failed with `rc`: explain it in the role's terms,
	 * amending err (NULL: the generic explanation stands) */
	void (*explain_failure)(const struct stage_ctx *c, int rc, struct error *err);
};

extern const struct stage_role_ops role_instrument;
extern const struct stage_role_ops role_train;
extern const struct stage_role_ops role_merge;
extern const struct stage_role_ops role_build;
extern const struct stage_role_ops role_bench;
extern const struct stage_role_ops role_bolt_instrument;
extern const struct stage_role_ops role_bolt_train;
extern const struct stage_role_ops role_bolt;
extern const struct stage_role_ops role_cs_instrument;
extern const struct stage_role_ops role_cs_train;
extern const struct stage_role_ops role_cs_merge;

/* The merge's hooks, shared by cs-merge (role_merge.c): the merge of the
 * training role's profiles (train, or cs-train with the first pass's
 * profile folded in), its checks and its explanations. */
int merge_prepare(struct stage_ctx *c, struct error *err);
int merge_check_outputs(struct stage_ctx *c, struct error *err);
void merge_explain_failure(const struct stage_ctx *c, int rc, struct error *err);

/* The role of a stage named `stage_name` (ROLE_PLAIN when none). */
enum stage_role stage_role_of(const char *stage_name);
/* "instrument"... or "plain". */
const char *stage_role_name(enum stage_role role);
/* The role's hooks; NULL for ROLE_PLAIN. */
const struct stage_role_ops *stage_role_ops(enum stage_role role);
/* The table's rows, in order (0 <= i < stage_role_count()): for whoever
 * checks or lists every role. */
size_t stage_role_count(void);
const struct stage_role_ops *stage_role_at(size_t i);

#endif
