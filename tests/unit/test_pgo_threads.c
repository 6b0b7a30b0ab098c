/* test_pgo_threads.c - what `training = threaded` decides without running
 * anything: the CPUs a training run gets, the atomic flags added to
 * PGO_GENERATE_FLAGS, when a merge may leave unreadable raw profiles out,
 * and where it keeps them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/strbuf.h"
#include "pipeline/pgo.h"

static void mask_of(const char *list, uint8_t mask[CPU_LIST_MAX / 8])
{
	struct error err = {0};

	memset(mask, 0, CPU_LIST_MAX / 8);
	assert_int_equal(parse_cpu_list(list, mask, &err), 0);
}

static void assert_cpus(const uint8_t mask[CPU_LIST_MAX / 8], const char *want)
{
	char *text = format_cpu_list(mask);

	assert_string_equal(text, want);
	free(text);
}

static void test_widen_cpus(void **state)
{
	uint8_t mask[CPU_LIST_MAX / 8], allowed[CPU_LIST_MAX / 8];
	bool set = true;

	(void)state;
	/* train.ini's `cpus = 1` on a two-CPU host: CPU 0 joins */
	mask_of("1", mask);
	mask_of("0-1", allowed);
	assert_int_equal(pgo_widen_cpus(mask, &set, allowed, 2), 2);
	assert_cpus(mask, "0-1");
	/* a set of two or more stays as the profile wrote it */
	mask_of("2-3", mask);
	mask_of("0-7", allowed);
	assert_int_equal(pgo_widen_cpus(mask, &set, allowed, 2), 2);
	assert_cpus(mask, "2-3");
	/* the lowest allowed CPUs that are not in the set yet */
	mask_of("5", mask);
	mask_of("3,5,7", allowed);
	assert_int_equal(pgo_widen_cpus(mask, &set, allowed, 2), 2);
	assert_cpus(mask, "3,5");
	/* a one-CPU host cannot give two: the count says so */
	mask_of("0", mask);
	mask_of("0", allowed);
	assert_int_equal(pgo_widen_cpus(mask, &set, allowed, 2), 1);
	assert_cpus(mask, "0");
	/* no set in the profile: every allowed CPU, left alone */
	set = false;
	memset(mask, 0, sizeof(mask));
	mask_of("0-3", allowed);
	assert_int_equal(pgo_widen_cpus(mask, &set, allowed, 2), 4);
	assert_false(set);
}

static void test_env_append(void **state)
{
	struct strv env = {0};

	(void)state;
	strv_push(&env, "PGO_GENERATE_FLAGS=-fprofile-generate");
	strv_push(&env, "PGO_CC=clang");
	pgo_env_append(&env, "PGO_GENERATE_FLAGS", "-fprofile-update=atomic");
	assert_int_equal(env.n, 2);
	assert_string_equal(strv_env_get(&env, "PGO_GENERATE_FLAGS"),
	                    "-fprofile-generate -fprofile-update=atomic");
	pgo_env_append(&env, "PGO_NEW", "x");
	assert_string_equal(strv_env_get(&env, "PGO_NEW"), "x");
	strv_push(&env, "PGO_EMPTY=");
	pgo_env_append(&env, "PGO_EMPTY", "y");
	assert_string_equal(strv_env_get(&env, "PGO_EMPTY"), "y");
	strv_free(&env);
}

static void test_merge_covers(void **state)
{
	(void)state;
	assert_int_equal(PGO_MERGE_MIN_READABLE_PCT, 90);
	assert_true(pgo_merge_covers(10, 0));
	assert_true(pgo_merge_covers(10, 1));
	assert_false(pgo_merge_covers(10, 2));
	assert_false(pgo_merge_covers(1, 1));
	assert_false(pgo_merge_covers(2, 1));
	assert_true(pgo_merge_covers(100, 10));
	assert_false(pgo_merge_covers(100, 11));
	assert_false(pgo_merge_covers(0, 0));
}

static void test_quarantine(void **state)
{
	struct raw_profile p[2] = {
	    {.label = "train.1of2:profile/a-1.profraw",
	     .sandbox_path = "/build/in/train/1of2/profile/a-1.profraw"},
	    {.label = "train.1of2:profile/b's-2.profraw",
	     .sandbox_path = "/build/in/train/1of2/profile/b's-2.profraw",
	     .bad = true},
	};
	struct strbuf s = {0};
	char *name = pgo_quarantine_name(p[1].label);

	(void)state;
	snprintf(p[1].why, sizeof(p[1].why), "truncated: 12 bytes");
	assert_string_equal(name,
	                    "profile/quarantine/train.1of2_profile_b's-2.profraw.quarantined");
	free(name);
	pgo_quarantine_script(&s, p, 1);
	assert_null(s.s); /* nothing bad, nothing written */
	pgo_quarantine_script(&s, p, 2);
	assert_string_equal(
	    s.s,
	    "mkdir -p /build/out/profile/quarantine\n"
	    "cp '/build/in/train/1of2/profile/b'\\''s-2.profraw' "
	    "'/build/out/profile/quarantine/train.1of2_profile_b'\\''s-2.profraw.quarantined'\n"
	    "printf '%s\\n' 'train.1of2:profile/b'\\''s-2.profraw: truncated: 12 bytes' "
	    ">>/build/out/profile/quarantine/REASONS\n");
	free(s.s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_widen_cpus),
	    cmocka_unit_test(test_env_append),
	    cmocka_unit_test(test_merge_covers),
	    cmocka_unit_test(test_quarantine),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
