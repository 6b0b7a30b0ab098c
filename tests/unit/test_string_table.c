/* test_string_table.c - one table gives both directions; values outside
 * it, or without a name, give the fallback and -1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/string_table.h"

enum colour { COLOUR_RED, COLOUR_GREEN, COLOUR_UNNAMED, COLOUR_BLUE, COLOUR_COUNT };

/* out of enum order on purpose: the designated index decides */
static const char *const colour_names[COLOUR_COUNT] = {
    [COLOUR_BLUE] = "blue",
    [COLOUR_RED] = "red",
    [COLOUR_GREEN] = "green",
};

static DEFINE_STRING_TABLE_TO_NAME(colour_name, enum colour, colour_names, "unknown");
static DEFINE_STRING_TABLE_FROM_NAME(colour_by_name, colour_names);

static void test_both_directions(void **state)
{
	(void)state;
	for (int c = 0; c < COLOUR_COUNT; c++) {
		if (c == COLOUR_UNNAMED)
			continue;
		assert_int_equal(colour_by_name(colour_name((enum colour)c)), c);
	}
	assert_string_equal(colour_name(COLOUR_BLUE), "blue");
	assert_int_equal(colour_by_name("green"), COLOUR_GREEN);
}

static void test_fallbacks(void **state)
{
	(void)state;
	assert_string_equal(colour_name(COLOUR_UNNAMED), "unknown");
	assert_string_equal(colour_name(COLOUR_COUNT), "unknown");
	assert_string_equal(colour_name((enum colour)1000), "unknown");
	assert_int_equal(colour_by_name("purple"), -1);
	assert_int_equal(colour_by_name("Red"), -1); /* exact, like the strcmp it replaces */
	assert_int_equal(colour_by_name(""), -1);
	assert_int_equal(colour_by_name(NULL), -1);
	assert_int_equal(string_table_lookup(colour_names, 0, "red"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_both_directions),
	    cmocka_unit_test(test_fallbacks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
