/* test_ship_pick.c - the multi-candidate release decision
 * (pipeline/ship_pick.h): a real difference between candidates, ties
 * within the margin to the simpler build, unproven candidates never
 * ship, and the toolchain recipes' flags (pipeline/toolchain.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pipeline/ship_pick.h"
#include "pipeline/toolchain.h"

#define MARGIN 2.0

static const struct ship_gain g20[] = {{20, 18, 22}, {10, 9, 11}};
static const struct ship_gain g21[] = {{21, 19, 23}, {10.5, 9.5, 11.5}};
static const struct ship_gain g30[] = {{30, 28, 32}, {10, 9, 11}};
static const struct ship_gain wide[] = {{30, 5, 55}, {10, 9, 11}};

static void test_real_difference_needs_disjoint_intervals_beyond_the_margin(void **state)
{
	(void)state;
	assert_true(ship_gain_beats(&g30[0], &g20[0], MARGIN));
	assert_false(ship_gain_beats(&g20[0], &g30[0], MARGIN));
	/* overlapping intervals: noise, not a difference */
	assert_false(ship_gain_beats(&g21[0], &g20[0], MARGIN));
	assert_false(ship_gain_beats(&wide[0], &g20[0], MARGIN));
	/* disjoint but within the margin: a tie */
	{
		const struct ship_gain a = {21.5, 21.2, 21.8}, b = {20, 19.8, 20.2};
		assert_false(ship_gain_beats(&a, &b, MARGIN));
		assert_true(ship_gain_beats(&a, &b, 1.0));
	}
}

static void test_clear_winner_is_picked(void **state)
{
	const struct ship_candidate c[] = {{true, 2, g20}, {true, 2, g30}};

	(void)state;
	assert_true(ship_beats(&c[1], &c[0], MARGIN));
	assert_int_equal(ship_pick_winner(c, 2, MARGIN), 1);
}

static void test_tie_goes_to_the_simpler_build(void **state)
{
	const struct ship_candidate c[] = {{true, 2, g20}, {true, 2, g21}, {true, 2, wide}};

	(void)state;
	assert_int_equal(ship_pick_winner(c, 3, MARGIN), 0);
}

static void test_unproven_never_ships_nor_beats(void **state)
{
	const struct ship_candidate c[] = {{true, 2, g20}, {false, 2, g30}};
	const struct ship_candidate none[] = {{false, 2, g20}, {false, 2, g30}};

	(void)state;
	assert_int_equal(ship_pick_winner(c, 2, MARGIN), 0);
	assert_int_equal(ship_pick_winner(none, 2, MARGIN), -1);
	assert_int_equal(ship_pick_winner(c, 0, MARGIN), -1);
}

static void test_beaten_on_one_benchmark_and_winning_another_is_no_beating(void **state)
{
	static const struct ship_gain a[] = {{30, 28, 32}, {5, 4, 6}};
	static const struct ship_gain b[] = {{20, 18, 22}, {15, 14, 16}};
	const struct ship_candidate c[] = {{true, 2, a}, {true, 2, b}};

	(void)state;
	assert_false(ship_beats(&c[0], &c[1], MARGIN));
	assert_false(ship_beats(&c[1], &c[0], MARGIN));
	assert_int_equal(ship_pick_winner(c, 2, MARGIN), 0);
}

static const char *env_value(const struct strv *env, const char *name)
{
	return strv_env_get(env, name);
}

static void test_recipe_flags(void **state)
{
	struct pgo_recipe r = {.cc = "clang-19",
	                       .function_order = true,
	                       .split_functions = true,
	                       .symbol_order = "/build/in/m/profile/symbol-order.txt",
	                       .cs_base = "/build/in/merge/profile/merged.profdata"};
	struct strv env = {0};
	struct error err = {0};

	(void)state;
	toolchain_clang.stage_env(ROLE_INSTRUMENT, NULL, &r, &env);
	assert_string_equal(env_value(&env, "PGO_CC"), "clang-19");
	assert_non_null(
	    strstr(env_value(&env, "PGO_GENERATE_FLAGS"), "-mllvm -pgo-temporal-instrumentation"));
	strv_free(&env);
	toolchain_clang.stage_env(ROLE_CS_INSTRUMENT, NULL, &r, &env);
	assert_non_null(strstr(env_value(&env, "PGO_GENERATE_FLAGS"),
	                       "-fprofile-use=/build/in/merge/profile/merged.profdata "
	                       "-fcs-profile-generate"));
	strv_free(&env);
	toolchain_clang.stage_env(ROLE_BUILD, "/p", &r, &env);
	assert_non_null(strstr(env_value(&env, "PGO_USE_FLAGS"), "-fsplit-machine-functions"));
	assert_non_null(strstr(env_value(&env, "PGO_USE_FLAGS"),
	                       "-Wl,--symbol-ordering-file=/build/in/m/profile/symbol-order.txt"));
	strv_free(&env);
	r.function_order = false;
	toolchain_gcc.stage_env(ROLE_BUILD, "/p", &r, &env);
	assert_non_null(strstr(env_value(&env, "PGO_USE_FLAGS"), "-freorder-blocks-and-partition"));
	strv_free(&env);
	/* nothing asked: no technique's flag */
	memset(&r, 0, sizeof(r));
	toolchain_clang.stage_env(ROLE_BUILD, "/p", &r, &env);
	assert_null(strstr(env_value(&env, "PGO_USE_FLAGS"), "split"));
	assert_null(strstr(env_value(&env, "PGO_USE_FLAGS"), "ordering"));
	assert_string_equal(env_value(&env, "PGO_CC"), "clang");
	strv_free(&env);
	/* what a toolchain cannot do, it says */
	assert_int_equal(toolchain_rustc.check_recipe(&r, true, 22, &err), -1);
	assert_non_null(strstr(err.msg, "rustc has no flag for context-sensitive PGO"));
	r.function_order = true;
	assert_int_equal(toolchain_clang.check_recipe(&r, false, 14, &err), -1);
	assert_non_null(strstr(err.msg, "clang >= 17"));
	assert_int_equal(toolchain_clang.check_recipe(&r, true, 19, &err), 0);
	assert_int_equal(toolchain_gcc.check_recipe(&r, false, 0, &err), -1);
	assert_int_equal(toolchain_clang.llvm_major_of("clang-19"), 19);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_real_difference_needs_disjoint_intervals_beyond_the_margin),
	    cmocka_unit_test(test_clear_winner_is_picked),
	    cmocka_unit_test(test_tie_goes_to_the_simpler_build),
	    cmocka_unit_test(test_unproven_never_ships_nor_beats),
	    cmocka_unit_test(test_beaten_on_one_benchmark_and_winning_another_is_no_beating),
	    cmocka_unit_test(test_recipe_flags),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
