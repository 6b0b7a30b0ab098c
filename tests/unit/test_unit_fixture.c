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

#include "artifacts/provenance.h"
#include "base/util.h"
#include "unit_fixture.h"

/* Runs after a failed test too: its files go with the directory. */
static int enter(void **state)
{
	struct unit_tmpdir *t = xcalloc(1, sizeof(*t));

	unit_tmpdir_enter(t, "test_unit_fixture");
	*state = t;
	return 0;
}

static int leave(void **state)
{
	unit_tmpdir_leave(*state);
	free(*state);
	return 0;
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
	const char bytes[] = "a\0b";
	size_t len;
	char *text;

	(void)state;
	unit_write("d1/d2/f", bytes, sizeof(bytes) - 1);
	text = unit_read("d1/d2/f", &len);
	assert_int_equal(len, 3);
	assert_memory_equal(text, bytes, 3);
	free(text);
	unit_write_text("d1/d2/f", "z");
	text = unit_read("d1/d2/f", &len);
	assert_int_equal(len, 1);
	assert_string_equal(text, "z");
	free(text);
}

static void test_put_line_mkdir(void **state)
{
	const struct unit_tmpdir *t = *state;
	struct stat st;
	char *text;

	unit_put(t->dir, "sys/a", "1");
	unit_put_line(t->dir, "sys/b", "2");
	unit_mkdir(t->dir, "cg/x/y");
	text = unit_read("sys/a", NULL);
	assert_string_equal(text, "1");
	free(text);
	text = unit_get(t->dir, "sys/b");
	assert_string_equal(text, "2\n");
	free(text);
	assert_int_equal(stat("cg/x/y", &st), 0);
	assert_true(S_ISDIR(st.st_mode));
}

/* The artifact verifies against its sidecar, and the digest handed back
 * is that of the bytes. */
static void test_write_artifact_with_its_sidecar(void **state)
{
	char got[DIGEST_STR_MAX], want[DIGEST_STR_MAX], verified[DIGEST_STR_MAX];
	struct error err = {0};

	(void)state;
	unit_write_artifact("art", "a", "zst", "A", got);
	digest_buffer_sha256("A", 1, want);
	assert_string_equal(got, want);
	if (sidecar_verify("art/a.tar.zst", verified, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(verified, want);
	unit_write_artifact("art", "b", "gz", "B", NULL);
	if (sidecar_verify("art/b.tar.gz", verified, &err) < 0)
		fail_msg("%s", err.msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_strip_components),
	    cmocka_unit_test(test_checkout_root_holds_the_sources),
	    cmocka_unit_test(test_tmpdir_is_the_cwd_then_gone),
	    cmocka_unit_test_setup_teardown(test_write_makes_parents_and_truncates, enter, leave),
	    cmocka_unit_test_setup_teardown(test_put_line_mkdir, enter, leave),
	    cmocka_unit_test_setup_teardown(test_write_artifact_with_its_sidecar, enter, leave),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
