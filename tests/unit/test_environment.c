/* Unit tests: the command's environment is the fixed base plus only what
 * was named. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "sandbox/environment.h"

static size_t count(char **env)
{
	size_t n = 0;

	while (env[n])
		n++;
	return n;
}

static void test_base_only(void **state)
{
	char *caller[] = {"SECRET=1", "PATH=/evil", "LD_PRELOAD=/x.so", NULL};
	struct sandbox_spec spec;
	char **env;

	(void)state;
	spec_init(&spec);
	env = environment_build(&spec, caller);
	assert_int_equal(count(env), 4);
	assert_string_equal(env[0], "HOME=/tmp");
	assert_string_equal(env[1], "LANG=C.UTF-8");
	assert_string_equal(env[2], "PATH=" SANDBOX_PATH);
	assert_string_equal(env[3], "TZ=UTC");
	environment_free(env);
	spec_free(&spec);
}

static void test_keep_and_set(void **state)
{
	char *caller[] = {"KEEP=yes", "KEEPX=no", "OTHER=no", NULL};
	char *keep[] = {"KEEP", "ABSENT"};
	char *set[] = {"A=1", "TZ=Europe/Paris", "A=2"};
	struct sandbox_spec spec;
	char **env;

	(void)state;
	spec_init(&spec);
	spec.keep_env = keep;
	spec.n_keep_env = 2;
	spec.set_env = set;
	spec.n_set_env = 3;
	spec.source_date_epoch = "1700000000";
	env = environment_build(&spec, caller);
	assert_int_equal(count(env), 7);
	assert_string_equal(env[0], "A=2");
	assert_string_equal(env[1], "HOME=/tmp");
	assert_string_equal(env[2], "KEEP=yes");
	assert_string_equal(env[5], "SOURCE_DATE_EPOCH=1700000000");
	assert_string_equal(env[6], "TZ=Europe/Paris");
	environment_free(env);
	spec.keep_env = NULL;
	spec.n_keep_env = 0;
	spec.set_env = NULL;
	spec.n_set_env = 0;
	spec.source_date_epoch = NULL;
	spec_free(&spec);
}

static void test_assignment_check(void **state)
{
	struct error err = {0};

	(void)state;
	assert_int_equal(environment_check_assignment("A_1=x=y", &err), 0);
	assert_int_equal(environment_check_assignment("A=", &err), 0);
	assert_int_equal(environment_check_assignment("NOEQ", &err), -1);
	assert_int_equal(environment_check_assignment("=v", &err), -1);
	assert_int_equal(environment_check_assignment("A-B=v", &err), -1);
	assert_non_null(strstr(err.msg, "A-B=v"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_base_only),
	    cmocka_unit_test(test_keep_and_set),
	    cmocka_unit_test(test_assignment_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
