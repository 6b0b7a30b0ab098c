/* Unit tests: rounding a text LLVM profile's counters to N significant
 * figures of each function's largest counter (pipeline/profile_normalise.c). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/profile_normalise.h"

static void test_round_counter_relative_to_max(void **state)
{
	(void)state;
	/* max 1066762 has 7 digits: 2 figures -> quantum 100000 */
	assert_int_equal(profile_round_counter(1066762, 1066762, 2), 1100000);
	assert_int_equal(profile_round_counter(1062974, 1066762, 2), 1100000);
	assert_int_equal(profile_round_counter(67561, 1066762, 2), 100000);
	assert_int_equal(profile_round_counter(49999, 1066762, 2), 1);      /* non-zero stays */
	assert_int_equal(profile_round_counter(50000, 1066762, 2), 100000); /* half up */
	assert_int_equal(profile_round_counter(0, 1066762, 2), 0);
	/* 3 figures of the same scale: quantum 10000 */
	assert_int_equal(profile_round_counter(1066762, 1066762, 3), 1070000);
	assert_int_equal(profile_round_counter(1062974, 1066762, 3), 1060000);
}

static void test_small_functions_are_unchanged(void **state)
{
	(void)state;
	/* a max with no more digits than asked: nothing to round */
	assert_int_equal(profile_round_counter(7, 99, 2), 7);
	assert_int_equal(profile_round_counter(99, 99, 2), 99);
	assert_int_equal(profile_round_counter(5, 100, 2), 10);
	assert_int_equal(profile_round_counter(12345, 12345, 9), 12345);
	assert_int_equal(profile_round_counter(12345, 0, 2), 12345);
	assert_int_equal(profile_round_counter(12345, 12345, 0), 12345);
}

static void test_no_overflow_near_the_top(void **state)
{
	(void)state;
	/* UINT64_MAX = 18446744073709551615: rounding up would not fit */
	assert_true(profile_round_counter(UINT64_MAX, UINT64_MAX, 1) == 10000000000000000000ULL);
	assert_true(profile_round_counter(UINT64_MAX, UINT64_MAX, 2) == 18000000000000000000ULL);
	assert_true(profile_round_counter(UINT64_MAX, UINT64_MAX, 3) == 18400000000000000000ULL);
}

static void test_round_counters_counts_changes(void **state)
{
	uint64_t c[] = {817398, 67561, 32752, 24564, 80349, 44215, 11, 0, 0};
	uint64_t want[] = {820000, 70000, 30000, 20000, 80000, 40000, 1, 0, 0};

	(void)state;
	assert_int_equal(profile_round_counters(c, 9, 2), 7);
	assert_memory_equal(c, want, sizeof(c));
}

/* Two noisy runs of one function give the same text after rounding. */
static const char run1[] = "# IR level Instrumentation Flag\n:ir\n"
                           "seedtab.c:hash_probe\n# Func Hash:\n1127386593016569362\n"
                           "# Num Counters:\n3\n# Counter Values:\n1066762\n67561\n0\n\n"
                           "main\n# Func Hash:\n24\n# Num Counters:\n1\n# Counter Values:\n1\n"
                           "# Num Value Kinds:\n0\n\n";
static const char run2[] = "# IR level Instrumentation Flag\n:ir\n"
                           "seedtab.c:hash_probe\n# Func Hash:\n1127386593016569362\n"
                           "# Num Counters:\n3\n# Counter Values:\n1062974\n68120\n0\n\n"
                           "main\n# Func Hash:\n24\n# Num Counters:\n1\n# Counter Values:\n1\n"
                           "# Num Value Kinds:\n0\n\n";

static char *normalise(const char *text, unsigned digits, struct profile_normalise_stats *st,
                       struct error *err)
{
	FILE *in = fmemopen((void *)text, strlen(text), "r");
	char *out = NULL;
	size_t len = 0;
	FILE *o = open_memstream(&out, &len);
	int rc;

	assert_non_null(in);
	assert_non_null(o);
	rc = profile_normalise_stream(in, "t.proftext", o, digits, st, err);
	fclose(in);
	fclose(o);
	if (rc < 0) {
		free(out);
		return NULL;
	}
	return out;
}

static void test_noisy_runs_become_identical(void **state)
{
	struct profile_normalise_stats st;
	struct error err = {0};
	char *a, *b;

	(void)state;
	a = normalise(run1, 2, &st, &err);
	assert_non_null(a);
	assert_int_equal(st.functions, 2);
	assert_int_equal(st.counters, 4);
	assert_int_equal(st.changed, 2);
	b = normalise(run2, 2, &st, &err);
	assert_non_null(b);
	assert_string_equal(a, b);
	/* names, hashes and value-profile lines pass unchanged */
	assert_non_null(strstr(a, "seedtab.c:hash_probe\n# Func Hash:\n1127386593016569362\n"
	                          "# Num Counters:\n3\n# Counter Values:\n1100000\n100000\n0\n\n"));
	assert_non_null(strstr(a, "# Num Value Kinds:\n0\n"));
	free(a);
	free(b);
	/* and with more figures they still differ */
	a = normalise(run1, 4, &st, &err);
	b = normalise(run2, 4, &st, &err);
	assert_string_not_equal(a, b);
	free(a);
	free(b);
}

static void expect_error(const char *text, const char *want)
{
	struct error err = {0};
	char *out = normalise(text, 2, NULL, &err);

	assert_null(out);
	if (strstr(err.msg, want) == NULL)
		fail_msg("error '%s' lacks '%s'", err.msg, want);
}

static void test_bad_input_names_file_and_line(void **state)
{
	(void)state;
	expect_error("f\n# Func Hash:\n1\n# Num Counters:\n2\n# Counter Values:\n5\n-3\n",
	             "t.proftext:8: '-3' is not a counter value");
	expect_error("f\n# Num Counters:\n2\n# Counter Values:\n5\n",
	             "t.proftext:5: ends before the last counter value");
	expect_error("f\n# Num Counters:\nx\n", "t.proftext:3: 'x' is not a counter value");
	expect_error("f\n# Num Counters:\n99999999999\n", "t.proftext:3: 99999999999 counters");
	expect_error("f\n# Num Counters:\n1\n7\n", "t.proftext:4: expected \"# Counter Values:\"");
	expect_error("f\n# Num Counters:\n1\n# Counter Values:\n99999999999999999999\n",
	             "t.proftext:5: counter value 99999999999999999999 does not fit");
	expect_error("just text\n", "t.proftext: no function's counters");
	{
		static const char nul[] = "f\n# Num\0 Counters:\n";
		struct error err = {0};
		FILE *in = fmemopen((void *)nul, sizeof(nul) - 1, "r");
		FILE *o = fopen("/dev/null", "w");

		assert_int_equal(profile_normalise_stream(in, "t.proftext", o, 2, NULL, &err), -1);
		assert_non_null(strstr(err.msg, "t.proftext:2: a NUL byte"));
		fclose(in);
		fclose(o);
	}
}

static void test_overlong_line_is_refused(void **state)
{
	size_t n = PROFILE_NORMALISE_LINE_MAX + 10;
	char *text = malloc(n + 2);

	(void)state;
	memset(text, 'a', n);
	text[n] = '\n';
	text[n + 1] = '\0';
	expect_error(text, "t.proftext:1: line longer than");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_counter_relative_to_max),
	    cmocka_unit_test(test_small_functions_are_unchanged),
	    cmocka_unit_test(test_no_overflow_near_the_top),
	    cmocka_unit_test(test_round_counters_counts_changes),
	    cmocka_unit_test(test_noisy_runs_become_identical),
	    cmocka_unit_test(test_bad_input_names_file_and_line),
	    cmocka_unit_test(test_overlong_line_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
