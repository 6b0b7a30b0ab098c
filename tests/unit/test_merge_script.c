/* Unit tests: the merge stage's pgo-merge script for LLVM raw profiles.
 * Every merge of several inputs runs on one thread: llvm-profdata's
 * worker threads make the indexed file's record order depend on which
 * thread took which input (a full check saw cs-merge's merged.profdata
 * differ between two checkouts of the same raw profiles). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/pgo.h"
#include "unit_fixture.h"

static char *merge_script(const struct merge_extras *extras)
{
	struct raw_profile p[2] = {
	    {.sandbox_path = "/build/in/train.1of2/profile/a.profraw"},
	    {.sandbox_path = "/build/in/train.2of2/profile/b.profraw"},
	};
	struct unit_tmpdir t;
	struct error err = {0};
	char *text;

	unit_tmpdir_enter(&t, "test_merge_script");
	if (pgo_write_merge_script("pgo-merge", PROFILE_LLVM_RAW, "llvm-profdata-19", p, 2, NULL, 0,
	                           false, extras, &err) < 0)
		fail_msg("pgo_write_merge_script: %s", err.msg);
	text = unit_read("pgo-merge", NULL);
	unit_tmpdir_leave(&t);
	return text;
}

/* Every "llvm-profdata-19 merge" line but the one-input --text and
 * re-index steps of normalisation names --num-threads=1. */
static void expect_one_thread(const char *script, size_t want_merges)
{
	size_t merges = 0;

	for (const char *line = script; line && *line; line = strchr(line, '\n'), line += !!line) {
		size_t len = strcspn(line, "\n");
		char *copy = strndup(line, len);

		if (strstr(copy, "'llvm-profdata-19' merge") && !strstr(copy, "merge --text") &&
		    !strstr(copy, "normalised.proftext")) {
			merges++;
			if (strstr(copy, " --num-threads=1") == NULL)
				fail_msg("a merge of several inputs may use threads: %s", copy);
		}
		free(copy);
	}
	assert_int_equal(merges, want_merges);
}

static void test_plain_merge_is_single_threaded(void **state)
{
	char *script = merge_script(NULL);

	(void)state;
	expect_one_thread(script, 1);
	assert_non_null(strstr(script, "/build/in/train.2of2/profile/b.profraw"));
	free(script);
}

static void test_cs_merge_with_normalisation_is_single_threaded(void **state)
{
	struct merge_extras x = {.base_profile = "/build/in/merge/profile/merged.profdata",
	                         .normalise = 3};
	char *script = merge_script(&x);

	(void)state;
	expect_one_thread(script, 1);
	assert_non_null(strstr(script, "/build/in/merge/profile/merged.profdata"));
	free(script);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_merge_is_single_threaded),
	    cmocka_unit_test(test_cs_merge_with_normalisation_is_single_threaded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
