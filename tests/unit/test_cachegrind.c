/* Unit tests: cachegrind's output parsed into simulated counters, the
 * estimated-cycles formula, the wrapper's pinned geometry. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/cachegrind.h"

static const char OUTPUT[] =
    "desc: I1 cache:         32768 B, 64 B, 8-way associative\n"
    "desc: D1 cache:         32768 B, 64 B, 8-way associative\n"
    "desc: LL cache:         8388608 B, 64 B, 16-way associative\n"
    "cmd: ./data_a\n"
    "events: Ir I1mr ILmr Dr D1mr DLmr Dw D1mw DLmw Bc Bcm Bi Bim\n"
    "fl=data_layout.c\n"
    "fn=main\n"
    "12 5 1 1 2 0 0 1 0 0 1 0 0 0\n"
    "summary: 16515719 1261 1243 4121851 1221 978 11624 639 605 2070039 3922 302 162\n";

static void test_parses_every_event(void **state)
{
	struct sim_counters s;
	struct error err = {0};

	(void)state;
	assert_int_equal(cachegrind_parse(OUTPUT, &s, &err), 0);
	assert_int_equal(s.v[SIM_IR], 16515719);
	assert_int_equal(s.v[SIM_I1MR], 1261);
	assert_int_equal(s.v[SIM_DLMW], 605);
	assert_int_equal(s.v[SIM_BIM], 162);
	assert_string_equal(sim_event_name(SIM_D1MW), "D1mw");
}

static void test_estimated_cycles_formula(void **state)
{
	struct sim_counters s;
	struct error err = {0};
	double want;

	(void)state;
	assert_int_equal(cachegrind_parse(OUTPUT, &s, &err), 0);
	/* Ir + 10 L1 misses + 100 LL misses + 15 mispredictions */
	want = 16515719.0 + 10.0 * (1261 + 1221 + 639) + 100.0 * (1243 + 978 + 605) +
	       15.0 * (3922 + 162);
	assert_true(fabs(sim_estimated_cycles(&s) - want) < 0.5);
	assert_true(fabs(sim_instruction_stalls(&s) - (10.0 * 1261 + 100.0 * 1243)) < 0.5);
}

static void test_missing_simulation_is_named(void **state)
{
	struct sim_counters s;
	struct error err = {0};

	(void)state;
	assert_int_equal(cachegrind_parse("events: Ir\nsummary: 100\n", &s, &err), -1);
	assert_non_null(strstr(err.msg, "--cache-sim=yes --branch-sim=yes"));
	assert_int_equal(cachegrind_parse("nothing here\n", &s, &err), -1);
	assert_non_null(strstr(err.msg, "no events/summary"));
	assert_int_equal(cachegrind_parse("events: Ir I1mr\nsummary: 5\n", &s, &err), -1);
	assert_non_null(strstr(err.msg, "no value for I1mr"));
}

static void test_wrapper_pins_the_geometry(void **state)
{
	char *argv[] = {"./bench", "x", NULL};
	char **w = cachegrind_wrap(argv, "/out");
	char *joined = xstrdup("");

	(void)state;
	for (size_t i = 0; w[i]; i++) {
		char *j = xasprintf("%s %s", joined, w[i]);
		free(joined);
		joined = j;
		free(w[i]);
	}
	free(w);
	assert_non_null(strstr(joined, "--tool=cachegrind --cache-sim=yes --branch-sim=yes "
	                               "--I1=32768,8,64 --D1=32768,8,64 --LL=8388608,16,64"));
	assert_non_null(strstr(joined, "--cachegrind-out-file=/out/cachegrind.out.%p"));
	/* an exec (env K=V prog) or a shell must not end what valgrind counts */
	assert_non_null(strstr(joined, "--trace-children=yes"));
	assert_non_null(strstr(joined, " -- ./bench x"));
	free(joined);
}

static void test_json_round_trip(void **state)
{
	struct sim_counters s, back;
	struct error err = {0};
	json_t *o;

	(void)state;
	assert_int_equal(cachegrind_parse(OUTPUT, &s, &err), 0);
	o = sim_counters_to_json(&s);
	assert_non_null(strstr(json_string_value(json_object_get(o, "source")), "simulated"));
	assert_int_equal(sim_counters_from_json(o, &back, &err), 0);
	assert_memory_equal(&s, &back, sizeof(s));
	json_object_del(o, "Bcm");
	assert_int_equal(sim_counters_from_json(o, &back, &err), -1);
	assert_non_null(strstr(err.msg, "Bcm"));
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parses_every_event),
	    cmocka_unit_test(test_estimated_cycles_formula),
	    cmocka_unit_test(test_missing_simulation_is_named),
	    cmocka_unit_test(test_wrapper_pins_the_geometry),
	    cmocka_unit_test(test_json_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
