/* test_bench_analysis.c - verdicts, the gate, the A/A control, Holm across
 * benchmarks, knob effects and interactions, on synthetic sessions whose
 * true effects are known. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bench/bench_analysis.h"
#include "bench/bench_model.h"
#include "bench/bench_plan.h"

static double noise(struct rng *r, double sigma)
{
	double u = 1.0 - rng_uniform(r), v = rng_uniform(r);

	return exp(sigma * sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}

/* factor(variant, cell) scales a 10 ms base time; blocks run ABBA. */
typedef double (*factor_fn)(size_t variant, size_t cell, size_t bench);

static void fill(struct bench_session *s, size_t blocks, factor_fn f, double sigma, uint64_t seed)
{
	struct rng r;
	size_t k = bench_n_arms(s), n_cells = bench_n_cells(s);
	size_t *perm = calloc(k, sizeof(size_t)), *slots = calloc(2 * k, sizeof(size_t));

	rng_seed(&r, seed);
	for (size_t b = 0; b < s->n_benchmarks; b++) {
		for (size_t blk = 0; blk < blocks; blk++) {
			double drift = 1.0 + 0.01 * (double)blk; /* the machine slows down */

			plan_block(k, blk, perm, &r, slots);
			for (size_t pos = 0; pos < 2 * k; pos++) {
				struct bench_run run = {.bench = b,
				                        .variant = slots[pos] / n_cells,
				                        .cell = slots[pos] % n_cells,
				                        .block = blk,
				                        .position = pos};
				double t =
				    0.010 * drift * f(run.variant, run.cell, b) * noise(&r, sigma);

				run.wall_s = t;
				run.cpu_s = 0.9 * t;
				run.user_s = run.cpu_s;
				run.cpu_source = CPU_RUSAGE;
				run.seq = s->n_runs;
				bench_add_run(s, &run);
			}
		}
		s->blocks_done[b] = blocks;
	}
	free(perm);
	free(slots);
}

static void two_variants(struct bench_session *s, size_t n_bench, bool aa)
{
	char *argv[] = {"true", NULL};

	bench_session_init(s);
	bench_add_variant(s, "a", ROLE_BASELINE, "true", argv, NULL);
	bench_add_variant(s, "b", ROLE_CANDIDATE, "true", argv, NULL);
	if (aa)
		bench_add_variant(s, "a~aa", ROLE_AA_CONTROL, "true", argv, NULL);
	for (size_t i = 0; i < n_bench; i++) {
		char name[64];
		snprintf(name, sizeof(name), "b%zu_full_check_flow", i);
		bench_add_benchmark(s, i == 0 && n_bench == 3 ? "dict" : name, name);
	}
}

static const struct bench_cmp *cmp_of(const struct bench_analysis *a, size_t bench, size_t cand,
                                      enum bench_metric m)
{
	for (size_t i = 0; i < a->n_cmp; i++)
		if (a->cmp[i].bench == bench && a->cmp[i].cand == cand && a->cmp[i].metric == m)
			return &a->cmp[i];
	fail_msg("no comparison for bench %zu cand %zu", bench, cand);
	return NULL;
}

static double f_slower10(size_t v, size_t c, size_t b)
{
	(void)c, (void)b;
	return v == 1 ? 1.10 : 1.0;
}

static double f_faster20(size_t v, size_t c, size_t b)
{
	(void)c, (void)b;
	return v == 1 ? 0.80 : 1.0;
}

static double f_same(size_t v, size_t c, size_t b)
{
	(void)v, (void)c, (void)b;
	return 1.0;
}

static void test_slowdown_fails_the_gate(void **state)
{
	struct bench_session s;
	struct bench_analysis a;
	const struct bench_cmp *k;

	(void)state;
	two_variants(&s, 1, false);
	s.set.fail_set = true;
	s.set.fail_pct = 5;
	fill(&s, 10, f_slower10, 0.005, 1);
	bench_analyse(&s, &a);
	k = cmp_of(&a, 0, 1, METRIC_WALL);
	assert_int_equal(k->c.verdict, VERDICT_SLOWER);
	assert_true(k->c.pct > 8 && k->c.pct < 12);
	assert_true(k->c.pct_lo < 10 && k->c.pct_hi > 10);
	assert_int_equal(k->c.n, 10);
	/* the drift of 1 % per block cancels in the pairs */
	assert_int_equal(a.gate.status, GATE_FAIL);
	assert_int_equal(a.gate.exit_code, BENCH_EXIT_REGRESSION);
	assert_int_equal(a.gate.n_reasons, 1);
	assert_non_null(strstr(a.gate.reasons[0], "slower"));
	/* the CPU time is analysed too */
	assert_int_equal(cmp_of(&a, 0, 1, METRIC_CPU)->c.verdict, VERDICT_SLOWER);
	assert_false(a.available[METRIC_INSTRUCTIONS]);
	bench_analysis_free(&a);

	/* slower, but by less than the gate's PCT: reported, not failed */
	s.set.fail_pct = 20;
	bench_analyse(&s, &a);
	assert_int_equal(cmp_of(&a, 0, 1, METRIC_WALL)->c.verdict, VERDICT_SLOWER);
	assert_int_equal(a.gate.status, GATE_PASS);
	assert_int_equal(a.gate.exit_code, 0);
	bench_analysis_free(&a);
	bench_session_free(&s);
}

static void test_speedup_and_aa_pass(void **state)
{
	struct bench_session s;
	struct bench_analysis a;

	(void)state;
	two_variants(&s, 1, false);
	s.set.fail_set = true;
	s.set.fail_pct = 2;
	fill(&s, 10, f_faster20, 0.005, 2);
	bench_analyse(&s, &a);
	assert_int_equal(cmp_of(&a, 0, 1, METRIC_WALL)->c.verdict, VERDICT_FASTER);
	assert_int_equal(a.gate.exit_code, 0);
	bench_analysis_free(&a);
	bench_session_free(&s);

	two_variants(&s, 1, false);
	s.set.fail_set = true;
	s.set.fail_pct = 2;
	fill(&s, 10, f_same, 0.002, 3);
	bench_analyse(&s, &a);
	assert_int_equal(cmp_of(&a, 0, 1, METRIC_WALL)->c.verdict, VERDICT_NO_CHANGE);
	assert_int_equal(a.gate.status, GATE_PASS);
	bench_analysis_free(&a);
	bench_session_free(&s);
}

static double f_noisy_aa(size_t v, size_t c, size_t b)
{
	(void)c, (void)b;
	return v == 2 ? 1.08 : 1.0; /* the "same" baseline runs 8 % slower */
}

static void test_aa_difference_means_noisy(void **state)
{
	struct bench_session s;
	struct bench_analysis a;

	(void)state;
	two_variants(&s, 1, true);
	s.set.aa_control = true;
	s.set.fail_set = true;
	s.set.fail_pct = 2;
	fill(&s, 10, f_noisy_aa, 0.003, 4);
	bench_analyse(&s, &a);
	assert_true(cmp_of(&a, 0, 2, METRIC_WALL)->aa);
	assert_false(cmp_of(&a, 0, 2, METRIC_WALL)->gated);
	assert_int_equal(a.gate.status, GATE_NOISY);
	assert_int_equal(a.gate.exit_code, BENCH_EXIT_NOISY);
	assert_true(a.gate.aa_failed);
	bench_analysis_free(&a);
	bench_session_free(&s);

	two_variants(&s, 1, true);
	s.set.aa_control = true;
	fill(&s, 10, f_same, 0.003, 5);
	bench_analyse(&s, &a);
	assert_false(a.gate.aa_failed);
	assert_int_equal(a.gate.status, GATE_OFF);
	bench_analysis_free(&a);
	bench_session_free(&s);
}

static void test_few_blocks_are_inconclusive(void **state)
{
	struct bench_session s;
	struct bench_analysis a;

	(void)state;
	/* two blocks: four paired-run values, no finite 95 % interval */
	two_variants(&s, 1, false);
	fill(&s, 2, f_slower10, 0.005, 6);
	bench_analyse(&s, &a);
	assert_int_equal(cmp_of(&a, 0, 1, METRIC_WALL)->c.verdict, VERDICT_INCONCLUSIVE);
	assert_true(bench_needs_more(&s, &a, 0));
	assert_int_equal(a.gate.exit_code, 0); /* reported, not failed: no gate */
	assert_int_equal(a.gate.status, GATE_OFF);
	bench_analysis_free(&a);
	s.set.strict = true;
	bench_analyse(&s, &a);
	assert_int_equal(a.gate.status, GATE_INCONCLUSIVE);
	assert_int_equal(a.gate.exit_code, BENCH_EXIT_INCONCLUSIVE);
	bench_analysis_free(&a);
	/* issue 21: a gate that cannot decide does not pass, --strict or not */
	s.set.strict = false;
	s.set.fail_set = true;
	s.set.fail_pct = 2;
	bench_analyse(&s, &a);
	assert_int_equal(a.gate.status, GATE_INCONCLUSIVE);
	assert_int_equal(a.gate.exit_code, BENCH_EXIT_INCONCLUSIVE);
	assert_true(a.gate.undecidable);
	assert_non_null(strstr(a.gate.reasons[0], "no finite 95 % interval from 2 blocks"));
	bench_analysis_free(&a);
	bench_session_free(&s);

	/* three blocks: six values from every run decide what three block
	 * means could not (issue 25) */
	two_variants(&s, 1, false);
	s.set.fail_set = true;
	s.set.fail_pct = 5;
	fill(&s, 3, f_slower10, 0.005, 6);
	bench_analyse(&s, &a);
	assert_int_equal(cmp_of(&a, 0, 1, METRIC_WALL)->c.method, METHOD_PAIRED_RUNS);
	assert_int_equal(cmp_of(&a, 0, 1, METRIC_WALL)->c.n_values, 6);
	assert_int_equal(cmp_of(&a, 0, 1, METRIC_WALL)->c.verdict, VERDICT_SLOWER);
	assert_int_equal(a.gate.status, GATE_FAIL);
	assert_false(a.gate.undecidable);
	bench_analysis_free(&a);
	bench_session_free(&s);
}

static void test_holm_across_benchmarks(void **state)
{
	struct bench_session s;
	struct bench_analysis a;

	(void)state;
	/* three blocks all 10 % slower: six paired-run values, all positive,
	 * and the exact one-sided p is 1/64 */
	two_variants(&s, 1, false);
	fill(&s, 3, f_slower10, 0.001, 7);
	bench_analyse(&s, &a);
	assert_true(fabs(cmp_of(&a, 0, 1, METRIC_WALL)->c.p_greater - 1.0 / 64) < 1e-12);
	assert_int_equal(cmp_of(&a, 0, 1, METRIC_WALL)->c.verdict, VERDICT_SLOWER);
	bench_analysis_free(&a);
	bench_session_free(&s);

	/* four such benchmarks: Holm multiplies the smallest by 4 -> 0.0625 */
	two_variants(&s, 4, false);
	fill(&s, 3, f_slower10, 0.001, 7);
	bench_analyse(&s, &a);
	for (size_t b = 0; b < 4; b++) {
		const struct bench_cmp *k = cmp_of(&a, b, 1, METRIC_WALL);
		assert_true(k->c.p_adjusted >= 0.0625 - 1e-12);
		assert_int_equal(k->c.verdict, VERDICT_INCONCLUSIVE);
	}
	bench_analysis_free(&a);
	bench_session_free(&s);
}

static double f_only_first_slower(size_t v, size_t c, size_t b)
{
	(void)c;
	return v == 1 && b == 0 ? 1.3 : 1.0;
}

static void test_only_glob_limits_the_gate(void **state)
{
	struct bench_session s;
	struct bench_analysis a;

	(void)state;
	two_variants(&s, 3, false); /* "dict", "b1_full_check_flow", "b2_full_check_flow" */
	s.set.fail_set = true;
	s.set.fail_pct = 5;
	s.set.only = xstrdup("*_full_check_flow");
	fill(&s, 10, f_only_first_slower, 0.003, 8);
	bench_analyse(&s, &a);
	assert_int_equal(cmp_of(&a, 0, 1, METRIC_WALL)->c.verdict, VERDICT_SLOWER);
	assert_false(cmp_of(&a, 0, 1, METRIC_WALL)->gated);
	assert_true(cmp_of(&a, 1, 1, METRIC_WALL)->gated);
	assert_int_equal(a.gate.status, GATE_PASS);
	bench_analysis_free(&a);
	free(s.set.only);
	s.set.only = NULL;
	bench_analyse(&s, &a);
	assert_int_equal(a.gate.status, GATE_FAIL);
	bench_analysis_free(&a);
	bench_session_free(&s);
}

/* Knobs A in {1, 2} and B in {1, 3}: time a*b (log-additive) or a+b. */
static double knob(size_t cell, size_t k)
{
	static const double va[] = {1, 2}, vb[] = {1, 3};

	return k == 0 ? va[cell / 2] : vb[cell % 2];
}

static double f_product(size_t v, size_t c, size_t b)
{
	(void)v, (void)b;
	return knob(c, 0) * knob(c, 1);
}

static double f_sum(size_t v, size_t c, size_t b)
{
	(void)v, (void)b;
	return knob(c, 0) + knob(c, 1);
}

static void matrix(struct bench_session *s)
{
	char *argv[] = {"true", NULL};
	char *a[] = {"1", "2"}, *b[] = {"1", "3"};

	bench_session_init(s);
	bench_add_variant(s, "only", ROLE_BASELINE, "true", argv, NULL);
	bench_add_benchmark(s, "default", "");
	bench_add_knob(s, "A", a, 2);
	bench_add_knob(s, "B", b, 2);
}

static const struct bench_inter *inter_of(const struct bench_analysis *a, enum bench_metric m)
{
	for (size_t i = 0; i < a->n_inter; i++)
		if (a->inter[i].metric == m)
			return &a->inter[i];
	fail_msg("no interaction");
	return NULL;
}

static void test_matrix_effects_and_interaction(void **state)
{
	struct bench_session s;
	struct bench_analysis a;
	const struct bench_inter *x;

	(void)state;
	matrix(&s);
	fill(&s, 10, f_product, 0.004, 9);
	bench_analyse(&s, &a);
	assert_int_equal(a.n_cmp, 0);
	x = inter_of(&a, METRIC_WALL);
	assert_true(x->ok);
	assert_true(fabs(x->it.pct) < 1.0);
	assert_int_equal(x->it.cls, INTERACTION_ADDITIVE);
	/* main effects: A=2 doubles, B=3 triples */
	for (size_t i = 0; i < a.n_eff; i++) {
		const struct bench_effect *e = &a.eff[i];
		double want = e->knob == 0 ? 100.0 : 200.0;

		if (e->metric != METRIC_WALL)
			continue;
		assert_true(fabs(e->c.pct - want) < 3.0);
		assert_int_equal(e->c.verdict, VERDICT_SLOWER);
	}
	bench_analysis_free(&a);
	bench_session_free(&s);

	matrix(&s);
	fill(&s, 10, f_sum, 0.004, 10);
	bench_analyse(&s, &a);
	x = inter_of(&a, METRIC_WALL);
	/* t00=2 t10=3 t01=4 t11=5: I = ln(5*2/(3*4)) = -18.2 % */
	assert_true(fabs(x->it.pct - 100.0 * (10.0 / 12.0 - 1.0)) < 1.5);
	assert_int_equal(x->it.cls, INTERACTION_INTERACTING);
	bench_analysis_free(&a);
	bench_session_free(&s);
}

static void test_outliers_are_flagged_not_dropped(void **state)
{
	struct bench_session s;
	struct bench_analysis a;
	size_t flagged = 0;

	(void)state;
	two_variants(&s, 1, false);
	fill(&s, 10, f_same, 0.002, 11);
	s.runs[5].wall_s *= 3;
	bench_analyse(&s, &a);
	for (size_t i = 0; i < s.n_runs; i++)
		flagged += s.runs[i].outlier[METRIC_WALL];
	assert_true(s.runs[5].outlier[METRIC_WALL]);
	assert_int_equal(flagged, 1);
	for (size_t i = 0; i < a.n_sum; i++)
		if (a.sum[i].metric == METRIC_WALL)
			assert_int_equal(a.sum[i].d.n, 20);
	bench_analysis_free(&a);
	bench_session_free(&s);
}

static void test_session_json_round_trip(void **state)
{
	struct bench_session s, back;
	struct error err = {0};
	json_t *doc = json_object();

	(void)state;
	two_variants(&s, 2, true);
	s.set.seed = (1ULL << 53) - 1;
	s.set.only = xstrdup("b*");
	fill(&s, 4, f_slower10, 0.01, 12);
	s.runs[3].has_ir = true;
	s.runs[3].ir = 123456789012ULL;
	s.runs[4].counters.valid = 1u << CTR_CYCLES;
	s.runs[4].counters.value[CTR_CYCLES] = 42;
	json_object_set_new(doc, "schema", json_string(BENCH_SCHEMA));
	json_object_set_new(doc, "schema_version", json_integer(BENCH_SCHEMA_VERSION));
	bench_session_to_json(&s, doc);
	bench_session_init(&back);
	assert_int_equal(bench_session_from_json(doc, &back, &err), 0);
	assert_int_equal(back.n_runs, s.n_runs);
	assert_int_equal(back.n_variants, 3);
	assert_int_equal(back.variants[2].role, ROLE_AA_CONTROL);
	assert_int_equal(back.set.seed, s.set.seed);
	assert_string_equal(back.set.only, "b*");
	assert_int_equal(back.blocks_done[1], 4);
	for (size_t i = 0; i < s.n_runs; i++) {
		assert_true(back.runs[i].wall_s == s.runs[i].wall_s);
		assert_int_equal(back.runs[i].block, s.runs[i].block);
		assert_int_equal(back.runs[i].variant, s.runs[i].variant);
	}
	assert_true(back.runs[3].has_ir && back.runs[3].ir == 123456789012ULL);
	assert_int_equal(back.runs[4].counters.value[CTR_CYCLES], 42);
	bench_session_free(&back);

	/* another schema version is refused, naming both */
	json_object_set_new(doc, "schema_version", json_integer(99));
	bench_session_init(&back);
	assert_int_equal(bench_session_from_json(doc, &back, &err), -1);
	assert_non_null(strstr(err.msg, "99"));
	bench_session_free(&back);
	json_decref(doc);
	bench_session_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_slowdown_fails_the_gate),
	    cmocka_unit_test(test_speedup_and_aa_pass),
	    cmocka_unit_test(test_aa_difference_means_noisy),
	    cmocka_unit_test(test_few_blocks_are_inconclusive),
	    cmocka_unit_test(test_holm_across_benchmarks),
	    cmocka_unit_test(test_only_glob_limits_the_gate),
	    cmocka_unit_test(test_matrix_effects_and_interaction),
	    cmocka_unit_test(test_outliers_are_flagged_not_dropped),
	    cmocka_unit_test(test_session_json_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
