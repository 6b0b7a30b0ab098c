/* test_bench_rules.c - the decision rules: parsing (errors name the file
 * and line), and the three outcomes on a synthetic 2x2 matrix whose point
 * D is planted above, equal to or below point A. */
#define _GNU_SOURCE
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bench/bench_rules.h"

static const char *const RULES = "# gates\n"
                                 "metric ops\n"
                                 "point A = pgo @ X=0,Y=0\n"
                                 "point D = pgo @ X=1,Y=1\n"
                                 "baseline phase69 = 62.63\n"
                                 "\n"
                                 "go     D vs A >= +1.0%\n"
                                 "go     D vs phase69 >= 0%\n"
                                 "no-go  D below A\n";

static void expect_parse_error(const char *text, const char *needle)
{
	struct rules r;
	struct error err = {0};

	assert_int_equal(rules_parse("g.rules", text, &r, &err), -1);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("'%s' does not mention '%s'", err.msg, needle);
	rules_free(&r);
}

static void test_parse(void **state)
{
	struct rules r;
	struct error err = {0};

	(void)state;
	assert_int_equal(rules_parse("g.rules", RULES, &r, &err), 0);
	assert_int_equal(r.n_points, 2);
	assert_string_equal(r.points[1].cell, "X=1,Y=1");
	assert_int_equal(r.n_baselines, 1);
	assert_true(r.baselines[0].is_value && r.baselines[0].value == 62.63);
	assert_int_equal(r.n_rules, 3);
	assert_int_equal(r.rules[0].op, OP_GE);
	assert_true(r.rules[0].pct == 1.0);
	assert_int_equal(r.rules[2].line, 9);
	assert_true(r.rules[2].no_go && r.rules[2].op == OP_LT && r.rules[2].pct == 0);
	rules_free(&r);
	expect_parse_error("go D vs A >= lots\n", "g.rules:1:");
	expect_parse_error("metric ops\n\nmaybe D vs A\n", "g.rules:3:");
	expect_parse_error("go D versus A >= 1%\n", "expected X vs Y");
	expect_parse_error("baseline x = -3\n", "positive");
	expect_parse_error("metric ops\n", "no go or no-go rule");
}

/* pgo at four cells; D = A * (1 + gain) per block with a little noise. */
static void matrix(struct bench_session *s, double base, double gain)
{
	char *argv[] = {"true", NULL};
	char *levels[] = {"0", "1"};
	struct error err = {0};
	int m;

	bench_session_init(s);
	bench_add_variant(s, "pgo", ROLE_BASELINE, "true", argv, NULL);
	bench_add_benchmark(s, "default", "");
	bench_add_knob(s, "X", levels, 2);
	bench_add_knob(s, "Y", levels, 2);
	m = bench_metric_intern(s, "ops", "M ops/s", DIRECTION_HIGHER, "test", &err);
	s->set.metric = (enum bench_metric)m;
	for (size_t b = 0; b < 10; b++) {
		for (size_t c = 0; c < 4; c++) {
			struct bench_run r = {.cell = c, .block = b, .wall_s = 0.01, .cpu_s = 0.01};
			double v =
			    base * (c == 3 ? 1 + gain : 1) * (1 + 0.001 * (double)((b * 7) % 5));

			r.reported = xcalloc(1, sizeof(*r.reported));
			r.n_reported = 1;
			r.reported[0] = (struct bench_reported){0, (enum bench_metric)m, v};
			bench_add_run(s, &r);
		}
		s->blocks_done[0]++;
	}
}

static enum decision decide(double base, double gain)
{
	struct bench_session s;
	struct rules r;
	struct error err = {0};
	enum decision d;

	matrix(&s, base, gain);
	assert_int_equal(rules_parse("g.rules", RULES, &r, &err), 0);
	assert_int_equal(rules_check(&r, &s, &err), 0);
	assert_int_equal(rules_evaluate(&r, &s, &err), 0);
	for (size_t i = 0; i < r.n_rules; i++)
		assert_true(r.rules[i].evaluated && r.rules[i].lo <= r.rules[i].est &&
		            r.rules[i].est <= r.rules[i].hi);
	d = r.outcome;
	assert_non_null(strstr(r.reason, decision_name(d)));
	rules_free(&r);
	bench_session_free(&s);
	return d;
}

static void test_outcomes(void **state)
{
	(void)state;
	assert_int_equal(decide(62.0, 0.05), DECISION_GO);      /* +5 %, 65.1 >= 62.63 */
	assert_int_equal(decide(55.0, 0.05), DECISION_NEUTRAL); /* +5 %, 57.8 < 62.63 */
	assert_int_equal(decide(62.0, -0.05), DECISION_NO_GO);  /* D below A */
}

static void test_unknown_names(void **state)
{
	struct bench_session s;
	struct rules r;
	struct error err = {0};

	(void)state;
	matrix(&s, 50, 0);
	assert_int_equal(
	    rules_parse("g.rules", "point Z = pgo @ X=7\ngo Z vs pgo >= 1%\n", &r, &err), 0);
	assert_int_equal(rules_check(&r, &s, &err), -1);
	assert_non_null(strstr(err.msg, "g.rules:2"));
	rules_free(&r);
	bench_session_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_outcomes),
	    cmocka_unit_test(test_unknown_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
