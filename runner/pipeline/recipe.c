/* recipe.c - see recipe.h. */
#include "pipeline/recipe.h"

#include "pipeline/roles.h"

struct pgo_recipe recipe_of(const struct pipeline *pl)
{
	struct pgo_recipe r = {
	    .cc = pl->cc,
	    .function_order = pl->function_order,
	    .split_functions = pl->split_functions,
	};

	return r;
}

bool recipe_has_cs_stages(const struct pipeline *pl)
{
	for (size_t i = 0; i < pl->n_stages; i++) {
		enum stage_role r = stage_role_of(pl->stages[i].name);

		if (r == ROLE_CS_INSTRUMENT || r == ROLE_CS_TRAIN || r == ROLE_CS_MERGE)
			return true;
	}
	return false;
}

/* The line of the first cs-* stage, else of the recipe's keys. */
static int recipe_line(const struct pipeline *pl, bool cs)
{
	for (size_t i = 0; cs && i < pl->n_stages; i++) {
		enum stage_role r = stage_role_of(pl->stages[i].name);

		if (r == ROLE_CS_INSTRUMENT || r == ROLE_CS_TRAIN || r == ROLE_CS_MERGE)
			return pl->stages[i].line;
	}
	return pl->recipe_line;
}

int recipe_check(const struct pipeline *pl, const struct toolchain *tc, unsigned llvm_major,
                 struct error *err)
{
	struct pgo_recipe r = recipe_of(pl);
	bool cs = recipe_has_cs_stages(pl);
	struct error why = {0};

	if (tc->check_recipe == NULL || tc->check_recipe(&r, cs, llvm_major, &why) == 0)
		return 0;
	return error_set(err, EXIT_RUNNER_ERROR, 0, "%s:%d: compiler = %s: %s", pl->path,
	                 recipe_line(pl, cs), tc->name, why.msg);
}

json_t *recipe_json(const struct pipeline *pl)
{
	return json_pack("{s:s?, s:b, s:b, s:b}", "cc", pl->cc, "context_sensitive",
	                 recipe_has_cs_stages(pl), "function_order", pl->function_order,
	                 "split_machine_functions", pl->split_functions);
}
