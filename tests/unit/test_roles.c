/* Unit tests: the table of stage roles (pipeline/roles.c): every row is a
 * role of its own, reachable by its name, with hooks that make it one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "pipeline/pgo.h"
#include "pipeline/roles.h"

/* ROLE_PLAIN is 0 and every other value of enum stage_role is a row. */
#define LAST_ROLE ROLE_CS_MERGE

static void test_every_row_has_a_name_a_role_and_a_hook(void **state)
{
	(void)state;
	assert_int_equal(stage_role_count(), (size_t)LAST_ROLE);
	for (size_t i = 0; i < stage_role_count(); i++) {
		const struct stage_role_ops *r = stage_role_at(i);

		assert_non_null(r);
		assert_non_null(r->name);
		if (r->name[0] == '\0' || strcmp(r->name, "plain") == 0 ||
		    strcmp(r->name, "source") == 0)
			fail_msg("row %zu: '%s' cannot name a role", i, r->name);
		assert_int_not_equal(r->role, ROLE_PLAIN);
		/* a row without a hook would be a plain stage under a role's name */
		if (r->prepare == NULL && r->run == NULL && r->check_outputs == NULL)
			fail_msg("role %s has no prepare, run or check_outputs hook", r->name);
	}
	assert_null(stage_role_at(stage_role_count()));
}

static void test_names_and_roles_are_unique(void **state)
{
	(void)state;
	for (size_t i = 0; i < stage_role_count(); i++)
		for (size_t j = 0; j < i; j++) {
			const struct stage_role_ops *a = stage_role_at(j), *b = stage_role_at(i);

			if (strcmp(a->name, b->name) == 0)
				fail_msg("rows %zu and %zu are both named %s", j, i, a->name);
			if (a->role == b->role)
				fail_msg("%s and %s are the same role", a->name, b->name);
		}
}

/* Every role has its row, found by its value and by its name. */
static void test_lookup_by_role_and_by_name(void **state)
{
	(void)state;
	for (int role = ROLE_PLAIN + 1; role <= LAST_ROLE; role++) {
		const struct stage_role_ops *r = stage_role_ops((enum stage_role)role);

		if (r == NULL)
			fail_msg("role %d has no row", role);
		assert_int_equal(r->role, role);
		assert_int_equal(stage_role_of(r->name), role);
		assert_string_equal(stage_role_name((enum stage_role)role), r->name);
	}
	assert_int_equal(stage_role_of("train"), ROLE_TRAIN);
	assert_int_equal(stage_role_of("cs-merge"), ROLE_CS_MERGE);
	assert_int_equal(stage_role_of("bolt-instrument"), ROLE_BOLT_INSTRUMENT);
}

/* Any other stage name is a plain stage, and a plain stage has no hooks. */
static void test_unknown_names_are_plain(void **state)
{
	static const char *const names[] = {"",       "plain",    "Train", "train ",
	                                    " train", "trains",   "trai",  "cs_merge",
	                                    "bolt",   "baseline", "source"};

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		enum stage_role want = strcmp(names[i], "bolt") == 0 ? ROLE_BOLT : ROLE_PLAIN;

		if (stage_role_of(names[i]) != want)
			fail_msg("'%s' is role %d", names[i], (int)stage_role_of(names[i]));
	}
	assert_null(stage_role_ops(ROLE_PLAIN));
	assert_string_equal(stage_role_name(ROLE_PLAIN), "plain");
	assert_null(stage_role_ops((enum stage_role)(LAST_ROLE + 1)));
	assert_string_equal(stage_role_name((enum stage_role)(LAST_ROLE + 1)), "plain");
}

/* The roles that run the program as it will be used (training, measuring)
 * run with the release's knobs; the others do not. */
static void test_training_and_measuring_roles_get_the_release_env(void **state)
{
	(void)state;
	for (size_t i = 0; i < stage_role_count(); i++) {
		const struct stage_role_ops *r = stage_role_at(i);
		bool runs_the_program =
		    pgo_role_trains(r->role) || r->role == ROLE_BOLT_TRAIN || r->role == ROLE_BENCH;

		if (r->release_env != runs_the_program)
			fail_msg("role %s: release_env is %d", r->name, r->release_env);
	}
}

/* cs-merge is the merge with the first pass folded in: the same checks
 * and explanations. */
static void test_cs_merge_shares_the_merge_hooks(void **state)
{
	const struct stage_role_ops *m = stage_role_ops(ROLE_MERGE);
	const struct stage_role_ops *cs = stage_role_ops(ROLE_CS_MERGE);

	(void)state;
	assert_ptr_equal(m->prepare, merge_prepare);
	assert_ptr_equal(m->check_outputs, merge_check_outputs);
	assert_ptr_equal(cs->check_outputs, merge_check_outputs);
	assert_ptr_equal(m->explain_failure, merge_explain_failure);
	assert_ptr_equal(cs->explain_failure, merge_explain_failure);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_row_has_a_name_a_role_and_a_hook),
	    cmocka_unit_test(test_names_and_roles_are_unique),
	    cmocka_unit_test(test_lookup_by_role_and_by_name),
	    cmocka_unit_test(test_unknown_names_are_plain),
	    cmocka_unit_test(test_training_and_measuring_roles_get_the_release_env),
	    cmocka_unit_test(test_cs_merge_shares_the_merge_hooks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
