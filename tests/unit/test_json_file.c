/* Unit tests: JSON files are written whole, sorted, newline-terminated,
 * with the requested mode; a failed write leaves the old file alone. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/json_file.h"

static void test_writes_sorted_with_newline_and_mode(void **state)
{
	char dir[] = "/tmp/pgo-json-XXXXXX";
	struct error err = {0};
	struct stat st;
	json_t *doc = json_pack("{s:i, s:s}", "zeta", 1, "alpha", "a");
	char *path, *text = NULL;
	size_t len = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	path = xasprintf("%s/out.json", dir);
	assert_int_equal(json_file_write(path, doc, JSON_SORT_KEYS | JSON_COMPACT, 0600, &err), 0);
	assert_int_equal(read_file(path, &text, &len, &err), 0);
	assert_string_equal(text, "{\"alpha\":\"a\",\"zeta\":1}\n");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	free(text);
	json_decref(doc);
	unlink(path);
	free(path);
	rmdir(dir);
}

static void test_failure_names_the_path_and_keeps_the_old_file(void **state)
{
	char dir[] = "/tmp/pgo-json-XXXXXX";
	struct error err = {0};
	json_t *doc = json_pack("{s:i}", "a", 1);
	char *path, *text = NULL;

	(void)state;
	assert_non_null(mkdtemp(dir));
	path = xasprintf("%s/missing-dir/out.json", dir);
	assert_int_equal(json_file_write(path, doc, JSON_SORT_KEYS, 0644, &err), -1);
	assert_non_null(strstr(err.msg, "missing-dir"));
	free(path);

	/* NULL (a failed json_pack upstream) is an error, not a crash */
	path = xasprintf("%s/kept.json", dir);
	assert_int_equal(json_file_write(path, doc, JSON_SORT_KEYS, 0644, &err), 0);
	assert_int_equal(json_file_write(path, NULL, JSON_SORT_KEYS, 0644, &err), -1);
	assert_non_null(strstr(err.msg, "kept.json"));
	assert_int_equal(read_file(path, &text, NULL, &err), 0);
	assert_string_equal(text, "{\"a\": 1}\n");
	free(text);
	json_decref(doc);
	unlink(path);
	free(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_writes_sorted_with_newline_and_mode),
	    cmocka_unit_test(test_failure_names_the_path_and_keeps_the_old_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
