/* test_bench_rules.c - the decision rules: parsing (errors name the file
 * and line), the three outcomes on a synthetic 2x2 matrix whose point D is
 * planted above, equal to or below point A, direction-aware wording
 * (better/worse), the bench's own comparison reused for the same pair,
 * a metric per rule, and every/any over benchmarks. */
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
	assert_int_equal(rules_evaluate(&r, &s, NULL, &err), 0);
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

static void test_parse_wording(void **state)
{
	struct rules r;
	struct error err = {0};

	(void)state;
	assert_int_equal(rules_parse("w.rules",
	                             "go candidate better than baseline by 5%\n"
	                             "no-go candidate worse than baseline\n"
	                             "go every D vs A >= +1% ops\n"
	                             "no-go any D worse than A by 5% rss\n"
	                             "no-go D above A cpu\n"
	                             "go every better than baseline\n",
	                             &r, &err),
	                 0);
	assert_int_equal(r.n_rules, 6);
	assert_int_equal(r.rules[0].sense, SENSE_BETTER);
	assert_true(r.rules[0].by && r.rules[0].pct == 5.0);
	assert_string_equal(r.rules[0].x, "candidate");
	assert_string_equal(r.rules[0].y, "baseline");
	assert_null(r.rules[0].metric);
	assert_int_equal(r.rules[1].sense, SENSE_WORSE);
	assert_false(r.rules[1].by);
	assert_int_equal(r.rules[2].quant, QUANT_EVERY);
	assert_string_equal(r.rules[2].metric, "ops");
	assert_int_equal(r.rules[2].op, OP_GE);
	assert_int_equal(r.rules[3].quant, QUANT_ANY);
	assert_string_equal(r.rules[3].metric, "rss");
	assert_true(r.rules[3].by && r.rules[3].pct == 5.0 && r.rules[3].no_go);
	assert_true(r.rules[4].says_below_above && r.rules[4].op == OP_GT);
	assert_string_equal(r.rules[4].metric, "cpu");
	/* a variant may be called "every": no quantifier then */
	assert_int_equal(r.rules[5].quant, QUANT_ONE);
	assert_string_equal(r.rules[5].x, "every");
	rules_free(&r);
	expect_parse_error("go\ngo D better A\n", "g.rules:1:");
	expect_parse_error("metric ops\ngo D better A\n", "g.rules:2:");
	expect_parse_error("go D better than A by\n", "'by' and a percentage");
	expect_parse_error("go D better than A by five\n", "'by' and a percentage");
	expect_parse_error("go D worse than A by -5%\n", "not negative");
	expect_parse_error("go D vs A >= 1% ops extra\n", "unexpected text");
	expect_parse_error("go D better than A by 5% ops >=\n", "unexpected text");
}

/* Two variants, `n_bench` benchmarks, 10 blocks: wall times and a
 * reported throughput "ops"; the candidate's wall is base * wall_ratio[b]
 * and its ops base * ops_ratio[b] (a little deterministic noise). */
static void pair(struct bench_session *s, size_t n_bench, const double *wall_ratio,
                 const double *ops_ratio)
{
	char *argv[] = {"true", NULL};
	struct error err = {0};
	int m;

	bench_session_init(s);
	bench_add_variant(s, "baseline", ROLE_BASELINE, "true", argv, NULL);
	bench_add_variant(s, "candidate", ROLE_CANDIDATE, "true", argv, NULL);
	for (size_t b = 0; b < n_bench; b++) {
		char name[32];

		snprintf(name, sizeof(name), "b%zu", b);
		bench_add_benchmark(s, name, name);
	}
	m = bench_metric_intern(s, "ops", "M ops/s", DIRECTION_HIGHER, "test", &err);
	assert_true(m >= 0);
	for (size_t b = 0; b < n_bench; b++) {
		for (size_t blk = 0; blk < 10; blk++) {
			for (size_t v = 0; v < 2; v++) {
				double noise = 1 + 0.002 * (double)((blk * 7 + v * 3) % 5);
				struct bench_run r = {.bench = b, .variant = v, .block = blk};

				r.wall_s = 0.1 * (v ? wall_ratio[b] : 1) * noise;
				r.cpu_s = r.wall_s;
				r.reported = xcalloc(1, sizeof(*r.reported));
				r.n_reported = 1;
				r.reported[0] = (struct bench_reported){
				    b, (enum bench_metric)m, 50 * (v ? ops_ratio[b] : 1) / noise};
				bench_add_run(s, &r);
			}
			s->blocks_done[b]++;
		}
	}
}

/* Parse, check and evaluate `text` on s (with its analysis); the outcome. */
static enum decision run_rules(const char *text, struct bench_session *s, struct rules *r,
                               bool analyse)
{
	struct bench_analysis a;
	struct error err = {0};

	assert_int_equal(rules_parse("t.rules", text, r, &err), 0);
	assert_int_equal(rules_check(r, s, &err), 0);
	if (analyse)
		bench_analyse(s, &a);
	if (rules_evaluate(r, s, analyse ? &a : NULL, &err) < 0)
		fail_msg("%s", err.msg);
	if (analyse)
		bench_analysis_free(&a);
	return r->outcome;
}

/* The case: a candidate 44 % faster on wall time.  "below" says
 * NO-GO (and is warned about); better/worse say what was meant. */
static void test_better_worse_on_time(void **state)
{
	const double wall[] = {0.56}, ops[] = {1.0};
	struct bench_session s;
	struct rules r;

	(void)state;
	pair(&s, 1, wall, ops);
	assert_int_equal(run_rules("no-go candidate below baseline\n", &s, &r, false),
	                 DECISION_NO_GO);
	assert_int_equal(r.n_warnings, 1);
	assert_non_null(strstr(r.warnings[0], "t.rules:1: warning:"));
	assert_non_null(strstr(r.warnings[0], "lower-is-better"));
	rules_free(&r);
	assert_int_equal(run_rules("go candidate better than baseline by 5%\n"
	                           "no-go candidate worse than baseline\n",
	                           &s, &r, false),
	                 DECISION_GO);
	assert_int_equal(r.n_warnings, 0);
	assert_int_equal(r.rules[0].eff_op, OP_LE);
	assert_true(r.rules[0].eff_pct == -5.0);
	assert_true(r.rules[0].hi < -40 && r.rules[0].lo > -48);
	assert_false(r.rules[1].holds);
	rules_free(&r);
	/* better by more than it is: not a go */
	assert_int_equal(run_rules("go candidate better than baseline by 60%\n", &s, &r, false),
	                 DECISION_NEUTRAL);
	rules_free(&r);
	/* a recorded baseline named like a variant: said, since the rule's
	 * interval is then not the bench's comparison */
	run_rules("baseline baseline = 0.2\ngo candidate better than baseline\n", &s, &r, false);
	assert_int_equal(r.n_warnings, 1);
	assert_non_null(strstr(r.warnings[0], "t.rules:1: warning: baseline baseline hides"));
	assert_non_null(strstr(r.rules[0].method, "recorded value"));
	rules_free(&r);
	bench_session_free(&s);
}

/* On a higher-is-better metric "better" means higher, and below/above
 * is not warned about. */
static void test_better_worse_on_throughput(void **state)
{
	const double wall[] = {1.0}, ops[] = {0.90};
	struct bench_session s;
	struct rules r;
	json_t *j;

	(void)state;
	pair(&s, 1, wall, ops);
	assert_int_equal(run_rules("metric ops\n"
	                           "no-go candidate worse than baseline by 5%\n"
	                           "no-go candidate below baseline\n",
	                           &s, &r, false),
	                 DECISION_NO_GO);
	assert_int_equal(r.n_warnings, 0);
	assert_int_equal(r.rules[0].eff_op, OP_LE);
	assert_true(r.rules[0].eff_pct == -5.0);
	assert_true(r.rules[0].holds && r.rules[1].holds);
	rules_free(&r);
	assert_int_equal(run_rules("metric ops\ngo candidate better than baseline\n"
	                           "no-go candidate worse than baseline\n",
	                           &s, &r, false),
	                 DECISION_NO_GO);
	assert_int_equal(r.rules[0].eff_op, OP_GT);
	j = rules_json(&r);
	/* "< +0.00%", not "< -0.00%" */
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(json_object_get(j, "rules"), 1), "condition")),
	                    "candidate vs baseline < +0.00%");
	json_decref(j);
	rules_free(&r);
	bench_session_free(&s);
}

/* One pair, one interval: a rule on the pair the bench compares takes the
 * comparison's estimate and interval (planted here as different numbers,
 * as another interval method would give), also the other way round. */
static void test_same_pair_uses_the_comparison(void **state)
{
	const double wall[] = {0.56}, ops[] = {1.0};
	struct bench_session s;
	struct bench_analysis a;
	struct rules r;
	struct error err = {0};
	bool found = false;

	(void)state;
	pair(&s, 1, wall, ops);
	bench_analyse(&s, &a);
	for (size_t i = 0; i < a.n_cmp; i++)
		if (a.cmp[i].metric == METRIC_WALL && a.cmp[i].cand == 1) {
			a.cmp[i].c.pct = -43.98;
			a.cmp[i].c.pct_lo = -45.61;
			a.cmp[i].c.pct_hi = -41.97;
			found = true;
		}
	assert_true(found);
	assert_int_equal(rules_parse("t.rules",
	                             "go candidate better than baseline by 5%\n"
	                             "no-go baseline better than candidate\n",
	                             &r, &err),
	                 0);
	assert_int_equal(rules_check(&r, &s, &err), 0);
	assert_int_equal(rules_evaluate(&r, &s, &a, &err), 0);
	assert_true(r.rules[0].est == -43.98 && r.rules[0].lo == -45.61 && r.rules[0].hi == -41.97);
	assert_non_null(strstr(r.rules[0].method, "the bench's own comparison"));
	/* baseline vs candidate = 1 / (candidate vs baseline) */
	assert_true(fabs(r.rules[1].est - 100 * (1 / 0.5602 - 1)) < 0.01);
	assert_true(fabs(r.rules[1].lo - 100 * (1 / 0.5803 - 1)) < 0.01);
	assert_true(fabs(r.rules[1].hi - 100 * (1 / 0.5439 - 1)) < 0.01);
	assert_non_null(strstr(r.rules[1].method, "reversed"));
	assert_int_equal(r.outcome, DECISION_GO);
	rules_free(&r);
	bench_analysis_free(&a);
	bench_session_free(&s);
}

/* go on ops with no-go on wall in one file: each rule its own metric. */
static void test_metric_per_rule(void **state)
{
	const double wall[] = {1.20}, ops[] = {1.10};
	struct bench_session s;
	struct rules r;
	struct error err = {0};
	char *md;
	json_t *j;

	(void)state;
	pair(&s, 1, wall, ops);
	assert_int_equal(run_rules("go candidate vs baseline >= +1% ops\n"
	                           "no-go candidate vs baseline > +5% wall\n",
	                           &s, &r, true),
	                 DECISION_NO_GO);
	assert_string_equal(r.rules[0].metric_name, "ops");
	assert_true(r.rules[0].holds && r.rules[0].lo > 5);
	assert_string_equal(r.rules[1].metric_name, "wall");
	assert_true(r.rules[1].holds && r.rules[1].lo > 15);
	md = rules_markdown(&r);
	assert_non_null(strstr(md, "| go candidate vs baseline >= +1% ops | ops | b0 |"));
	assert_non_null(strstr(md, "| no-go candidate vs baseline > +5% wall | wall | b0 |"));
	free(md);
	j = rules_json(&r);
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(json_object_get(j, "rules"), 1), "metric")),
	                    "wall");
	json_decref(j);
	rules_free(&r);
	/* a metric the session does not have: FILE:LINE and the ones it has */
	assert_int_equal(rules_parse("t.rules",
	                             "metric ops\n\ngo candidate better than baseline heap\n", &r,
	                             &err),
	                 0);
	assert_int_equal(rules_evaluate(&r, &s, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "t.rules:3: metric heap"));
	assert_non_null(strstr(err.msg, "wall, cpu"));
	rules_free(&r);
	/* ... refused before the first run when no source can report it */
	assert_int_equal(rules_parse("t.rules",
	                             "go candidate better than baseline ops\n"
	                             "go candidate better than baseline mem\n",
	                             &r, &err),
	                 0);
	assert_int_equal(rules_check(&r, &s, &err), -1);
	assert_non_null(strstr(err.msg, "t.rules:2: metric mem: neither a builtin metric (wall"));
	s.set.metric_sources = xcalloc(2, sizeof(char *));
	s.set.metric_sources[0] = xstrdup("regex:mem:MiB:lower:peak = ([0-9]+)");
	s.set.n_metric_sources = 1;
	assert_int_equal(rules_check(&r, &s, &err), 0);
	rules_free(&r);
	assert_int_equal(
	    rules_parse("t.rules", "metric memory\ngo candidate better than baseline\n", &r, &err),
	    0);
	assert_int_equal(rules_check(&r, &s, &err), -1);
	assert_non_null(strstr(err.msg, "t.rules:1: metric memory"));
	rules_free(&r);
	bench_session_free(&s);
}

/* every / any over three benchmarks, one of which does not gain. */
static void test_quantifiers(void **state)
{
	const double wall[] = {0.80, 0.80, 1.00}, ops[] = {1.0, 1.0, 1.0};
	struct bench_session s;
	struct rules r;
	json_t *j, *k;

	(void)state;
	pair(&s, 3, wall, ops);
	assert_int_equal(run_rules("go every candidate better than baseline by 5%\n", &s, &r, true),
	                 DECISION_NEUTRAL);
	assert_int_equal(r.rules[0].n_res, 3);
	assert_true(r.rules[0].res[0].holds && r.rules[0].res[1].holds);
	assert_false(r.rules[0].res[2].holds);
	assert_non_null(strstr(r.reason, "held on b0, b1; not on b2"));
	j = rules_json(&r);
	k = json_array_get(json_object_get(j, "rules"), 0);
	assert_string_equal(json_string_value(json_object_get(k, "quantifier")), "every");
	assert_int_equal(json_array_size(json_object_get(k, "held")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(k, "failed"), 0)),
	                    "b2");
	json_decref(j);
	rules_free(&r);
	assert_int_equal(run_rules("go any candidate better than baseline by 5%\n", &s, &r, true),
	                 DECISION_GO);
	rules_free(&r);
	/* no quantifier: the first benchmark; "benchmark" picks by glob */
	assert_int_equal(run_rules("go candidate better than baseline by 5%\n", &s, &r, true),
	                 DECISION_GO);
	assert_string_equal(r.rules[0].res[0].bench_name, "b0");
	rules_free(&r);
	assert_int_equal(
	    run_rules("benchmark b2\ngo candidate better than baseline by 5%\n", &s, &r, true),
	    DECISION_NEUTRAL);
	rules_free(&r);
	assert_int_equal(run_rules("benchmark b[01]\ngo every candidate better than baseline by "
	                           "5%\n",
	                           &s, &r, true),
	                 DECISION_GO);
	assert_int_equal(r.rules[0].n_res, 2);
	rules_free(&r);
	bench_session_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_outcomes),
	    cmocka_unit_test(test_unknown_names),
	    cmocka_unit_test(test_parse_wording),
	    cmocka_unit_test(test_better_worse_on_time),
	    cmocka_unit_test(test_better_worse_on_throughput),
	    cmocka_unit_test(test_same_pair_uses_the_comparison),
	    cmocka_unit_test(test_metric_per_rule),
	    cmocka_unit_test(test_quantifiers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
