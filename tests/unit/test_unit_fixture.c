/* Unit tests: the fixture helpers the unit tests share
 * (tests/unit/unit_fixture.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "unit_fixture.h"

static char *contents(const char *path, size_t *len)
{
	struct error err = {0};
	char *text = NULL;

	if (read_file(path, &text, len, &err) < 0)
		fail_msg("%s", err.msg);
	return text;
}

static void test_strip_components(void **state)
{
	char path[] = "/a/b/c/d";
	char short_path[] = "b/c";

	(void)state;
	assert_int_equal(unit_strip_components(path, 3), 0);
	assert_string_equal(path, "/a");
	assert_int_equal(unit_strip_components(short_path, 2), -1);
}

/* The checkout holds this very file, whichever BUILD ran the test. */
static void test_checkout_root_holds_the_sources(void **state)
{
	char root[PATH_MAX];
	char *self;

	(void)state;
	unit_checkout_root(root, sizeof(root));
	self = xasprintf("%s/tests/unit/unit_fixture.c", root);
	assert_int_equal(access(self, F_OK), 0);
	free(self);
}

static void test_tmpdir_is_the_cwd_then_gone(void **state)
{
	struct unit_tmpdir t;
	char before[PATH_MAX], inside[PATH_MAX], after[PATH_MAX];
	struct stat st;

	(void)state;
	assert_non_null(getcwd(before, sizeof(before)));
	unit_tmpdir_enter(&t, "test_unit_fixture");
	assert_non_null(strstr(t.dir, "/tmp/test_unit_fixture."));
	assert_non_null(getcwd(inside, sizeof(inside)));
	assert_string_equal(inside, t.dir);
	unit_write_text("sub/f", "x");
	unit_tmpdir_leave(&t);
	assert_non_null(getcwd(after, sizeof(after)));
	assert_string_equal(after, before);
	assert_int_equal(lstat(t.dir, &st), -1);
	assert_int_equal(errno, ENOENT);
}

/* Parents are made, the bytes land as given (a NUL too), and a second
 * write replaces the first instead of appending to it. */
static void test_write_makes_parents_and_truncates(void **state)
{
	struct unit_tmpdir t;
	const char bytes[] = "a\0b";
	size_t len;
	char *text;

	(void)state;
	unit_tmpdir_enter(&t, "test_unit_fixture");
	unit_write("d1/d2/f", bytes, sizeof(bytes) - 1);
	text = contents("d1/d2/f", &len);
	assert_int_equal(len, 3);
	assert_memory_equal(text, bytes, 3);
	free(text);
	unit_write_text("d1/d2/f", "z");
	text = contents("d1/d2/f", &len);
	assert_int_equal(len, 1);
	assert_string_equal(text, "z");
	free(text);
	unit_tmpdir_leave(&t);
}

static void test_put_line_mkdir(void **state)
{
	struct unit_tmpdir t;
	struct stat st;
	char *text;

	(void)state;
	unit_tmpdir_enter(&t, "test_unit_fixture");
	unit_put(t.dir, "sys/a", "1");
	unit_put_line(t.dir, "sys/b", "2");
	unit_mkdir(t.dir, "cg/x/y");
	text = contents("sys/a", NULL);
	assert_string_equal(text, "1");
	free(text);
	text = contents("sys/b", NULL);
	assert_string_equal(text, "2\n");
	free(text);
	assert_int_equal(stat("cg/x/y", &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	unit_tmpdir_leave(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_strip_components),
	    cmocka_unit_test(test_checkout_root_holds_the_sources),
	    cmocka_unit_test(test_tmpdir_is_the_cwd_then_gone),
	    cmocka_unit_test(test_write_makes_parents_and_truncates),
	    cmocka_unit_test(test_put_line_mkdir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
