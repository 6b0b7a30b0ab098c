/* Unit tests: reading `llvm-profdata show --all-functions --counts`,
 * comparing two runs function by function, readable names and the likely
 * cause (pipeline/profile_diff.c). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/profile_diff.h"

/* The shape rustc's profiles show with llvm-profdata 19, and clang's
 * (with "Function count:"). */
static const char run1[] =
    "Counters:\n"
    "  hw.cgu.0;_ZN9hashbrown3raw21RawTable$LT$T$C$A$GT$14reserve_rehash17h251aaec59aba3fe5E:\n"
    "    Hash: 0x0790e3e76ff1a0ba\n"
    "    Counters: 3\n"
    "    Block counts: [6119, 0, 86008]\n"
    "  main:\n"
    "    Hash: 0x0000000000000018\n"
    "    Counters: 2\n"
    "    Function count: 1\n"
    "    Block counts: [5]\n"
    "  seedtab.c:hash_probe:\n"
    "    Hash: 0x1\n"
    "    Counters: 1\n"
    "    Block counts: [100]\n"
    "Instrumentation level: Front-end\n"
    "Functions shown: 3\n";

static const char run2[] =
    "Counters:\n"
    "  hw.cgu.0;_ZN9hashbrown3raw21RawTable$LT$T$C$A$GT$14reserve_rehash17h251aaec59aba3fe5E:\n"
    "    Hash: 0x0790e3e76ff1a0ba\n"
    "    Counters: 3\n"
    "    Block counts: [6119, 2, 86100]\n"
    "  main:\n"
    "    Hash: 0x0000000000000018\n"
    "    Counters: 2\n"
    "    Function count: 1\n"
    "    Block counts: [5]\n"
    "  std::thread::spawn_inner:\n"
    "    Hash: 0x2\n"
    "    Counters: 1\n"
    "    Block counts: [4]\n";

static void test_parse(void **state)
{
	struct fn_table t;
	struct error err = {0};

	(void)state;
	assert_int_equal(profile_counts_parse(run1, &t, &err), 0);
	assert_int_equal(t.n, 3);
	assert_int_equal(t.f[0].n, 3);
	assert_int_equal(t.f[0].counts[2], 86008);
	assert_string_equal(t.f[1].name, "main");
	assert_int_equal(t.f[1].n, 2); /* function count, then the block */
	assert_int_equal(t.f[1].counts[0], 1);
	assert_int_equal(t.f[1].counts[1], 5);
	fn_table_free(&t);
}

static void test_parse_names_the_bad_line(void **state)
{
	struct fn_table t;
	struct error err = {0};

	(void)state;
	assert_int_equal(
	    profile_counts_parse("Counters:\n  f:\n    Block counts: [1, x]\n", &t, &err), -1);
	assert_non_null(strstr(err.msg, "line 3"));
	assert_int_equal(profile_counts_parse("  f:\n    Block counts: [1, 2\n", &t, &err), -1);
	assert_non_null(strstr(err.msg, "no ']'"));
}

static void test_diff(void **state)
{
	struct fn_table a, b;
	struct error err = {0};
	struct fn_delta *d;
	size_t n;

	(void)state;
	assert_int_equal(profile_counts_parse(run1, &a, &err), 0);
	assert_int_equal(profile_counts_parse(run2, &b, &err), 0);
	n = profile_counts_diff(&a, &b, &d);
	/* rehash changed by 94, hash_probe only in run 1 (100), spawn only in
	 * run 2 (4); main is the same */
	assert_int_equal(n, 3);
	assert_non_null(strstr(d[0].name, "hash_probe"));
	assert_int_equal(d[0].total_a, 100);
	assert_int_equal(d[0].total_b, 0);
	assert_non_null(strstr(d[1].name, "reserve_rehash"));
	assert_int_equal(d[1].total_a, 92127);
	assert_int_equal(d[1].total_b, 92221);
	assert_int_equal(d[1].counters, 3);
	assert_int_equal(d[1].counters_differ, 2);
	assert_string_equal(d[2].name, "std::thread::spawn_inner");
	free(d);
	/* a run against itself: nothing */
	assert_int_equal(profile_counts_diff(&a, &a, &d), 0);
	assert_null(d);
	fn_table_free(&a);
	fn_table_free(&b);
}

static void test_demangle(void **state)
{
	char *s;

	(void)state;
	s = profile_demangle("hw.cgu.0;_ZN9hashbrown3raw21RawTable$LT$T$C$A$GT$14reserve_"
	                     "rehash17h251aaec59aba3fe5E");
	assert_string_equal(s, "hashbrown::raw::RawTable<T,A>::reserve_rehash");
	free(s);
	s = profile_demangle(
	    "x;_ZN4core3ptr35drop_in_place$LT$std..env..Args$GT$17hcbfbf79aa99d1276E");
	assert_string_equal(s, "core::ptr::drop_in_place<std::env::Args>");
	free(s);
	s = profile_demangle("seedtab.c:hash_probe");
	assert_string_equal(s, "seedtab.c:hash_probe");
	free(s);
	s = profile_demangle("_ZN3foo"); /* truncated: left as written */
	assert_string_equal(s, "_ZN3foo");
	free(s);
}

static void test_likely_cause(void **state)
{
	(void)state;
	assert_string_equal(profile_likely_cause("hashbrown::raw::RawTable<T,A>::reserve_rehash"),
	                    "randomness");
	assert_string_equal(profile_likely_cause("std::thread::spawn_inner"), "threads");
	assert_string_equal(profile_likely_cause("std::time::Instant::now"), "time");
	assert_string_equal(profile_likely_cause("sort_by_addr"), "addresses");
	assert_string_equal(profile_likely_cause("main"), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),        cmocka_unit_test(test_parse_names_the_bad_line),
	    cmocka_unit_test(test_diff),         cmocka_unit_test(test_demangle),
	    cmocka_unit_test(test_likely_cause),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
