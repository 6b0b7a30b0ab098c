/* Unit tests: a valgrind run's output files, one per process, summed;
 * stale and foreign files; no file at all names the directory and the
 * log's last line. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/cachegrind.h"
#include "bench/callgrind.h"
#include "bench/valgrind_out.h"
#include "unit_fixture.h"

static int setup(void **state)
{
	char *dir = xstrdup("/tmp/test_valgrind_out.XXXXXX");

	if (mkdtemp(dir) == NULL)
		return -1;
	*state = dir;
	return 0;
}

static int teardown(void **state)
{
	struct error err = {0};

	remove_tree(*state, &err);
	free(*state);
	return 0;
}

static const char CALLGRIND[] = "events: Ir Dr\nsummary: %d 7\n";

static void test_sums_every_process(void **state)
{
	char *dir = *state, text[64];
	struct error err = {0};
	uint64_t ir = 0;

	snprintf(text, sizeof(text), CALLGRIND, 1000);
	unit_put(dir, "callgrind.out.2", text);
	snprintf(text, sizeof(text), CALLGRIND, 234);
	unit_put(dir, "callgrind.out.17", text);
	/* not this tool's, nor a per-process name: not counted */
	unit_put(dir, "callgrind.out", "garbage");
	unit_put(dir, "callgrind.out.1x", "garbage");
	unit_put(dir, "cachegrind.out.3", "garbage");
	unit_put(dir, "valgrind.log.2", "==2== ok\n");
	assert_int_equal(
	    valgrind_out_each(dir, CALLGRIND_OUT_NAME, 1 << 20, callgrind_add_ir, &ir, &err), 0);
	assert_int_equal(ir, 1234);
}

static void test_no_output_names_the_log(void **state)
{
	char *dir = *state;
	struct error err = {0};
	uint64_t ir = 0;

	unit_put(dir, "valgrind.log.5",
	         "==5== Command: ./x\n==5== valgrind: ./x: No such file\n\n");
	assert_int_equal(
	    valgrind_out_each(dir, CALLGRIND_OUT_NAME, 1 << 20, callgrind_add_ir, &ir, &err), -1);
	assert_non_null(strstr(err.msg, dir));
	assert_non_null(strstr(err.msg, "its log ends: ==5== valgrind: ./x: No such file"));
}

static void test_a_bad_file_is_named(void **state)
{
	char *dir = *state;
	struct error err = {0};
	struct sim_counters sum = {0};

	unit_put(dir, "cachegrind.out.9", "events: Ir\nsummary: 5\n");
	assert_int_equal(
	    valgrind_out_each(dir, CACHEGRIND_OUT_NAME, 1 << 20, cachegrind_add, &sum, &err), -1);
	assert_non_null(strstr(err.msg, "cachegrind.out.9"));
	assert_non_null(strstr(err.msg, "lack cache or branch simulation"));
}

static void test_clear_leaves_an_empty_dir(void **state)
{
	char *dir = *state;
	struct error err = {0};
	uint64_t ir = 0;
	char text[64];

	snprintf(text, sizeof(text), CALLGRIND, 1);
	unit_put(dir, "callgrind.out.2", text);
	assert_int_equal(remove_dir_contents(dir, &err), 0); /* what each run starts with */
	assert_int_equal(
	    valgrind_out_each(dir, CALLGRIND_OUT_NAME, 1 << 20, callgrind_add_ir, &ir, &err), -1);
	assert_non_null(strstr(err.msg, "(and no log)"));
}

static void test_options_follow_children(void **state)
{
	char *out[VALGRIND_OUT_N_OPTIONS];
	size_t k = 0;

	(void)state;
	valgrind_out_options("--callgrind-out-file", "callgrind.out", "/d", out, &k);
	assert_int_equal(k, VALGRIND_OUT_N_OPTIONS);
	assert_string_equal(out[0], "--trace-children=yes");
	assert_string_equal(out[1], "--callgrind-out-file=/d/callgrind.out.%p");
	assert_string_equal(out[2], "--log-file=/d/valgrind.log.%p");
	for (size_t i = 0; i < k; i++)
		free(out[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sums_every_process, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_output_names_the_log, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_bad_file_is_named, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_clear_leaves_an_empty_dir, setup, teardown),
	    cmocka_unit_test(test_options_follow_children),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
