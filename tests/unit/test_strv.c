/* test_strv.c - the string list of base/strv.h: growth keeps the array
 * NULL-terminated, copies are deep, "K=V" lookups take the last value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/strv.h"
#include "base/util.h"

static void test_push_terminates_and_copies(void **state)
{
	struct strv s = {0};
	char word[] = "run";

	(void)state;
	strv_push(&s, word);
	word[0] = 'X'; /* the list holds its own copy */
	strv_pushf(&s, "--cpus=%d", 2);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.v[0], "run");
	assert_string_equal(s.v[1], "--cpus=2");
	assert_null(s.v[2]);
	assert_int_equal(strv_length(s.v), 2);
	strv_free(&s);
	assert_null(s.v);
	assert_int_equal(s.n, 0);
}

static void test_env_get_last_wins(void **state)
{
	struct strv s = {0};

	(void)state;
	strv_push(&s, "PATH=/a");
	strv_push(&s, "PATHX=/x");
	strv_push(&s, "PATH=/b");
	strv_push(&s, "NOEQUALS");
	assert_string_equal(strv_env_get(&s, "PATH"), "/b");
	assert_string_equal(strv_env_get(&s, "PATHX"), "/x");
	assert_null(strv_env_get(&s, "PAT"));
	assert_null(strv_env_get(&s, "NOEQUALS"));
	strv_free(&s);
}

static void test_steal_never_null(void **state)
{
	struct strv s = {0};
	char **v;

	(void)state;
	v = strv_steal(&s);
	assert_non_null(v);
	assert_null(v[0]);
	strv_free_array(v);
	strv_push(&s, "a");
	strv_push(&s, "b");
	v = strv_steal(&s);
	assert_null(s.v);
	assert_int_equal(s.n, 0);
	assert_int_equal(strv_length(v), 2);
	assert_string_equal(v[1], "b");
	strv_free_array(v);
}

static void test_copies_are_deep(void **state)
{
	char a[] = "alpha", b[] = "beta";
	char *src[] = {a, b, NULL};
	char **all = strv_copy(src), **one = strv_copy_n(src, 1), **none = strv_copy(NULL);

	(void)state;
	a[0] = 'X';
	assert_int_equal(strv_length(all), 2);
	assert_string_equal(all[0], "alpha");
	assert_string_equal(all[1], "beta");
	assert_null(all[2]);
	assert_string_equal(one[0], "alpha");
	assert_non_null(none);
	assert_null(none[0]);
	assert_null(strv_copy_n(src, 0));
	assert_int_equal(strv_length(NULL), 0);
	strv_free_array(all);
	strv_free_n(one, 1);
	strv_free_array(none);
	strv_free_array(NULL);
}

/* A counted array: the item is taken, the count and the NULL end kept. */
static void test_append_n_takes_and_terminates(void **state)
{
	char **v = NULL;
	size_t n = 0;
	char *first = xstrdup("a");

	(void)state;
	v = strv_append_n(v, &n, first);
	v = strv_append_n(v, &n, xstrdup("b"));
	assert_int_equal(n, 2);
	assert_ptr_equal(v[0], first); /* taken, not copied */
	assert_string_equal(v[1], "b");
	assert_null(v[2]);
	assert_int_equal(strv_length(v), 2);
	strv_free_n(v, n);
}

static void test_append_copy_n_copies(void **state)
{
	char **v = NULL;
	size_t n = 0;
	char text[] = "x";

	(void)state;
	v = strv_append_copy_n(v, &n, text);
	text[0] = 'y'; /* the caller's buffer changes; the copy does not */
	assert_int_equal(n, 1);
	assert_ptr_not_equal(v[0], text);
	assert_string_equal(v[0], "x");
	assert_null(v[1]);
	strv_free_n(v, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_push_terminates_and_copies),
	    cmocka_unit_test(test_env_get_last_wins),
	    cmocka_unit_test(test_steal_never_null),
	    cmocka_unit_test(test_copies_are_deep),
	    cmocka_unit_test(test_append_n_takes_and_terminates),
	    cmocka_unit_test(test_append_copy_n_copies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
