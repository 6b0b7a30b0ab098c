/* Unit tests: files committed together appear together or not at all; a
 * failure part-way puts every earlier file back. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/file_commit.h"
#include "unit_fixture.h"

struct set {
	char dir[32];
	char *tmp[3], *final[3];
	struct file_commit files[3];
};

static void set_init(struct set *s)
{
	snprintf(s->dir, sizeof(s->dir), "/tmp/pgo-commit-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	for (int i = 0; i < 3; i++) {
		s->final[i] = xasprintf("%s/f%d", s->dir, i);
		s->tmp[i] = xasprintf("%s/f%d.tmp", s->dir, i);
		s->files[i].tmp = s->tmp[i];
		s->files[i].final = s->final[i];
	}
}

static void set_free(struct set *s)
{
	for (int i = 0; i < 3; i++) {
		unlink(s->final[i]);
		unlink(s->tmp[i]);
		free(s->final[i]);
		free(s->tmp[i]);
	}
	rmdir(s->dir);
}

static void put(const char *path, const char *text)
{
	struct error err = {0};

	unlink(path);
	assert_int_equal(write_file_temp(path, path, text, strlen(text), 0644, &err), 0);
}

static void assert_content(const char *path, const char *want)
{
	char *text = unit_read(path, NULL);

	assert_string_equal(text, want);
	free(text);
}

static void test_new_set_appears_and_replaces_an_old_one(void **state)
{
	struct set s;

	(void)state;
	set_init(&s);
	put(s.final[1], "old1"); /* one earlier file, two new names */
	for (int i = 0; i < 3; i++)
		put(s.tmp[i], i == 0 ? "new0" : i == 1 ? "new1" : "new2");
	struct error err = {0};
	assert_int_equal(file_commit_set(s.files, 3, s.dir, &err), 0);
	assert_content(s.final[0], "new0");
	assert_content(s.final[1], "new1");
	assert_content(s.final[2], "new2");
	for (int i = 0; i < 3; i++)
		assert_int_equal(access(s.tmp[i], F_OK), -1); /* old one gone too */
	set_free(&s);
}

static void test_failure_part_way_keeps_the_old_set_whole(void **state)
{
	struct set s;
	struct error err = {0};

	(void)state;
	set_init(&s);
	put(s.final[0], "old0");
	put(s.final[1], "old1");
	put(s.final[2], "old2");
	put(s.tmp[0], "new0");
	put(s.tmp[1], "new1");
	/* the third temporary is missing: its rename fails after two moved */
	assert_int_equal(file_commit_set(s.files, 3, s.dir, &err), -1);
	assert_non_null(strstr(err.msg, s.tmp[2]));
	assert_content(s.final[0], "old0");
	assert_content(s.final[1], "old1");
	assert_content(s.final[2], "old2");
	for (int i = 0; i < 3; i++)
		assert_int_equal(access(s.tmp[i], F_OK), -1);
	set_free(&s);
}

static void test_failure_without_an_old_set_leaves_nothing(void **state)
{
	struct set s;
	struct error err = {0};

	(void)state;
	set_init(&s);
	put(s.tmp[0], "new0");
	put(s.tmp[1], "new1");
	assert_int_equal(file_commit_set(s.files, 3, s.dir, &err), -1);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(access(s.final[i], F_OK), -1);
		assert_int_equal(access(s.tmp[i], F_OK), -1);
	}
	set_free(&s);
}

static void test_write_temp_names_the_final_file(void **state)
{
	struct error err = {0};

	(void)state;
	assert_int_equal(
	    write_file_temp("/nonexistent-dir/x.tmp", "/nonexistent-dir/x", "a", 1, 0644, &err),
	    -1);
	assert_non_null(strstr(err.msg, "creating /nonexistent-dir/x"));
	assert_non_null(strstr(err.msg, "No such file or directory"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_new_set_appears_and_replaces_an_old_one),
	    cmocka_unit_test(test_failure_part_way_keeps_the_old_set_whole),
	    cmocka_unit_test(test_failure_without_an_old_set_leaves_nothing),
	    cmocka_unit_test(test_write_temp_names_the_final_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
