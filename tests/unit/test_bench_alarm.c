/* test_bench_alarm.c - the model-and-clock alarm (bench/bench_alarm.h):
 * the BOLT case (est-cycles +0.07 %, wall +22 %) raises it;
 * agreement, overlapping intervals and missing intervals do not. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bench/bench_alarm.h"

static struct comparison cmp(double pct, double lo, double hi, enum verdict v)
{
	struct comparison c = {.pct = pct, .pct_lo = lo, .pct_hi = hi, .verdict = v};

	return c;
}

static void test_bolt_case_disagrees(void **state)
{
	struct comparison model = cmp(0.07, -0.02, 0.15, VERDICT_NO_CHANGE);
	struct comparison clock = cmp(22.4, 15.0, 30.4, VERDICT_SLOWER);

	(void)state;
	assert_true(bench_model_clock_disagree(&model, &clock));
	/* the other way round too: the model says slower, the clock faster */
	model = cmp(5.0, 4.0, 6.0, VERDICT_SLOWER);
	clock = cmp(-8.0, -12.0, -4.0, VERDICT_FASTER);
	assert_true(bench_model_clock_disagree(&model, &clock));
}

static void test_agreement_or_overlap_is_no_alarm(void **state)
{
	struct comparison model = cmp(-10.0, -11.0, -9.0, VERDICT_FASTER);
	struct comparison clock = cmp(-14.0, -20.0, -8.0, VERDICT_FASTER);

	(void)state;
	assert_false(bench_model_clock_disagree(&model, &clock));
	/* different verdicts, but the intervals overlap: within the noise */
	model = cmp(0.5, -0.5, 1.5, VERDICT_NO_CHANGE);
	clock = cmp(3.0, 1.0, 6.0, VERDICT_SLOWER);
	assert_false(bench_model_clock_disagree(&model, &clock));
	/* same verdict, disjoint intervals: both slower, by different amounts */
	model = cmp(2.0, 1.9, 2.1, VERDICT_SLOWER);
	clock = cmp(20.0, 15.0, 25.0, VERDICT_SLOWER);
	assert_false(bench_model_clock_disagree(&model, &clock));
	/* no interval (too few blocks) */
	clock = cmp(NAN, NAN, NAN, VERDICT_INCONCLUSIVE);
	assert_false(bench_model_clock_disagree(&model, &clock));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bolt_case_disagrees),
	    cmocka_unit_test(test_agreement_or_overlap_is_no_alarm),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
