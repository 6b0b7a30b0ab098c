/* test_history_steps.c - step detection (history/steps.h) on synthetic
 * series: a planted step is found at its index with its size inside the
 * interval; flat noisy series give no step, over many seeds. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bench/stats.h"
#include "history/steps.h"

#define MAX_POINTS 80
#define SAMPLES 6

/* Box-Muller from the bench's own RNG: reproducible per seed. */
static double gauss(struct rng *r)
{
	double u = rng_uniform(r), v = rng_uniform(r);

	return sqrt(-2.0 * log(1.0 - u)) * cos(6.283185307179586 * v);
}

struct series {
	double logs[MAX_POINTS][SAMPLES];
	struct steps_point pts[MAX_POINTS];
	size_t n;
};

/* n commits of SAMPLES samples around 1 ms with relative noise cv; from
 * index `at` on, the level is multiplied by `factor`. */
static void make_series(struct series *s, size_t n, size_t at, double factor, double cv,
                        uint64_t seed)
{
	struct rng r;

	rng_seed(&r, seed);
	s->n = n;
	for (size_t i = 0; i < n; i++) {
		double level = 1e-3 * (i >= at ? factor : 1.0);

		for (size_t j = 0; j < SAMPLES; j++)
			s->logs[i][j] = log(level * (1.0 + cv * gauss(&r)));
		s->pts[i].logs = s->logs[i];
		s->pts[i].n = SAMPLES;
	}
}

static void test_planted_step_found(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 20; seed++) {
		struct series s;
		struct step steps[8];
		size_t n_steps;
		struct error err = {0};

		make_series(&s, 20, 12, 1.10, 0.02, seed);
		assert_int_equal(steps_detect(s.pts, s.n, 0.95, steps, 8, &n_steps, &err), 0);
		if (n_steps != 1)
			fail_msg("seed %llu: %zu steps", (unsigned long long)seed, n_steps);
		assert_int_equal(steps[0].index, 12);
		/* A 95 % interval misses the truth one time in twenty: only
		 * require it to exclude 0 and to reach the neighbourhood. */
		assert_true(steps[0].pct_lo > 0 && steps[0].pct_lo < 13.0 && steps[0].pct_hi > 7.0);
		assert_true(steps[0].pct > 7.0 && steps[0].pct < 13.0);
		assert_true(steps[0].level_after > steps[0].level_before);
	}
}

static void test_improvement_is_negative(void **state)
{
	struct series s;
	struct step steps[8];
	size_t n_steps;
	struct error err = {0};

	(void)state;
	make_series(&s, 16, 5, 1.0 / 1.10, 0.01, 7);
	assert_int_equal(steps_detect(s.pts, s.n, 0.95, steps, 8, &n_steps, &err), 0);
	assert_int_equal(n_steps, 1);
	assert_int_equal(steps[0].index, 5);
	assert_true(steps[0].pct < -7.0 && steps[0].pct_hi < 0);
}

static void test_flat_series_no_step(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 200; seed++) {
		struct series s;
		struct step steps[8];
		size_t n_steps;
		struct error err = {0};

		make_series(&s, 10 + (size_t)(seed % 60), 0, 1.0, 0.03, seed);
		assert_int_equal(steps_detect(s.pts, s.n, 0.95, steps, 8, &n_steps, &err), 0);
		if (n_steps != 0)
			fail_msg("seed %llu (n %zu): a step at %zu of %+.2f %%",
			         (unsigned long long)seed, s.n, steps[0].index, steps[0].pct);
	}
}

static void test_two_steps(void **state)
{
	struct series s;
	struct step steps[8];
	size_t n_steps;
	struct error err = {0};

	(void)state;
	make_series(&s, 30, 10, 1.10, 0.01, 3);
	for (size_t i = 20; i < 30; i++)
		for (size_t j = 0; j < SAMPLES; j++)
			s.logs[i][j] -= log(1.10);
	assert_int_equal(steps_detect(s.pts, s.n, 0.95, steps, 8, &n_steps, &err), 0);
	assert_int_equal(n_steps, 2);
	assert_int_equal(steps[0].index, 10);
	assert_int_equal(steps[1].index, 20);
	assert_true(steps[1].pct < 0);
}

static void test_short_and_constant(void **state)
{
	double same[3] = {0, 0, 0};
	struct steps_point pts[6];
	struct step steps[4];
	size_t n_steps = 9;
	struct error err = {0};

	(void)state;
	for (size_t i = 0; i < 6; i++)
		pts[i] = (struct steps_point){same, 3};
	/* Too short for two segments of STEPS_MIN_SEGMENT. */
	assert_int_equal(steps_detect(pts, 3, 0.95, steps, 4, &n_steps, &err), 0);
	assert_int_equal(n_steps, 0);
	/* Identical values: no step, sigma at its floor. */
	assert_int_equal(steps_detect(pts, 6, 0.95, steps, 4, &n_steps, &err), 0);
	assert_int_equal(n_steps, 0);
	assert_true(steps_sigma(same, 3) == STEPS_SIGMA_FLOOR);
	/* A point without samples is an error, not a crash. */
	pts[2].n = 0;
	assert_int_equal(steps_detect(pts, 6, 0.95, steps, 4, &n_steps, &err), -1);
	assert_non_null(strstr(err.msg, "point 2"));
}

static void test_sigma_ignores_a_step(void **state)
{
	double x[40];

	(void)state;
	for (size_t i = 0; i < 40; i++)
		x[i] = (i >= 20 ? 0.5 : 0.0) + ((i % 2) ? 0.01 : -0.01);
	/* Differences alternate +-0.02 except one: sigma stays near the
	 * noise, far below the step. */
	assert_true(steps_sigma(x, 40) < 0.05);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_planted_step_found),
	    cmocka_unit_test(test_improvement_is_negative),
	    cmocka_unit_test(test_flat_series_no_step),
	    cmocka_unit_test(test_two_steps),
	    cmocka_unit_test(test_short_and_constant),
	    cmocka_unit_test(test_sigma_ignores_a_step),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
