/* Unit tests: what llvm-bolt's output says about its profile and about the
 * functions it could not lay out (pipeline/bolt.c). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/bolt.h"

/* llvm-bolt 19's output on fixtures/minilang's gcc PGO build (a PIE),
 * cut down, with the interleaving its threads produce. */
static const char pie_log[] =
    "BOLT-INFO: Target architecture: x86_64\n"
    "BOLT-WARNING: failed to post-process indirect branches for deregister_tm_clones/1(*2)\n"
    "BOLT-WARNING: failed to post-process indirect branches for register_tm_clones/1(*2)\n"
    "BOLT-WARNING: failed to post-process indirect branches for BOLT-WARNING: failed to "
    "post-process indirect branches for lexer_next/1(*2)\n"
    "BOLT-WARNING: failed to post-process indirect branches for run_source/1\n"
    "BOLT-INFO: 76 out of 135 functions in the binary (56.3%) have non-empty execution "
    "profile\n"
    "BOLT-INFO: 5 functions with profile could not be optimized\n"
    "BOLT-INFO: profile for 1 objects was ignored\n"
    "BOLT-WARNING: failed to post-process indirect branches for run_source/1\n";

/* The same binary linked without PIE: every jump table followed; gcc's
 * cold fragments are still warned about. */
static const char nopie_log[] =
    "BOLT-WARNING: failed to post-process indirect branches for advance.cold/1(*2)\n"
    "BOLT-WARNING: failed to post-process indirect branches for deregister_tm_clones/1(*2)\n"
    "BOLT-WARNING: failed to post-process indirect branches for register_tm_clones/1(*2)\n"
    "BOLT-INFO: 77 out of 136 functions in the binary (56.6%) have non-empty execution "
    "profile\n"
    "BOLT-INFO: profile for 1 objects was ignored\n";

static void test_profile_coverage(void **state)
{
	struct bolt_report r;

	(void)state;
	bolt_parse_log(pie_log, strlen(pie_log), &r);
	assert_true(r.seen);
	assert_int_equal(r.profiled, 76);
	assert_int_equal(r.functions, 135);
	assert_int_equal(r.ignored_objects, 1);
	assert_int_equal(r.not_optimized, 5);
}

static void test_unfollowed_jump_tables_are_named_once(void **state)
{
	struct bolt_report r;
	char buf[256];

	(void)state;
	bolt_parse_log(pie_log, strlen(pie_log), &r);
	/* crt's stubs left out, the interleaved warning's name kept, run_source
	 * (warned twice) once */
	assert_int_equal(r.n_unfollowed, 2);
	assert_string_equal(r.unfollowed[0], "lexer_next");
	assert_string_equal(r.unfollowed[1], "run_source");
	bolt_unfollowed_list(&r, buf, sizeof(buf));
	assert_string_equal(buf, "lexer_next, run_source");
}

static void test_nopie_has_none(void **state)
{
	struct bolt_report r;
	char buf[64];

	(void)state;
	bolt_parse_log(nopie_log, strlen(nopie_log), &r);
	assert_true(r.seen);
	assert_int_equal(r.not_optimized, 0);
	assert_int_equal(r.n_unfollowed, 0);
	bolt_unfollowed_list(&r, buf, sizeof(buf));
	assert_string_equal(buf, "");
}

static void test_many_are_counted_beyond_the_named(void **state)
{
	char log[4096] = "";
	size_t used = 0;
	struct bolt_report r;
	char buf[2048];

	(void)state;
	for (int i = 0; i < BOLT_UNFOLLOWED_NAMES + 3; i++)
		used += (size_t)snprintf(log + used, sizeof(log) - used,
		                         "BOLT-WARNING: failed to post-process indirect branches "
		                         "for f%d/1\n",
		                         i);
	bolt_parse_log(log, used, &r);
	assert_int_equal(r.n_unfollowed, BOLT_UNFOLLOWED_NAMES + 3);
	bolt_unfollowed_list(&r, buf, sizeof(buf));
	assert_non_null(strstr(buf, "f0, f1, "));
	assert_non_null(strstr(buf, " (+3 more)"));
	/* a small buffer is cut, never overrun */
	bolt_unfollowed_list(&r, buf, 5);
	assert_int_equal(strlen(buf), 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_profile_coverage),
	    cmocka_unit_test(test_unfollowed_jump_tables_are_named_once),
	    cmocka_unit_test(test_nopie_has_none),
	    cmocka_unit_test(test_many_are_counted_beyond_the_named),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
