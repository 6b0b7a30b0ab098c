/* test_stats_sim.c - the paired-run interval (stats_compare_blocks) on
 * simulated benches with planted drift and planted effects: coverage of
 * the true effect, width against the block-mean interval, and the rule
 * that falls back to block means.  A fixed-seed generator makes every
 * figure deterministic; 400 benches of 10 blocks run in well under a
 * second. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "bench/stats.h"

#define BENCHES 400
#define BLOCKS 10

struct scenario {
	const char *name;
	double effect;       /* planted ln(B/A) */
	double noise;        /* per-run sd of the log */
	double block_sd;     /* per-block offset, shared by every run of the block */
	double drift_sd;     /* per-block linear drift per position */
	double outlier_p;    /* probability that a run's noise is 5x wider */
	double arm_by_block; /* sd of an extra per-block term on B only */
	double rho;          /* correlation of neighbouring runs' noise (AR(1)) */
};

struct tally {
	size_t covered, paired_runs, slower;
	double width_median, means_width_median; /* log scale */
};

static double normal(struct rng *r)
{
	double u1 = rng_uniform(r), u2 = rng_uniform(r);

	return sqrt(-2.0 * log(1.0 - u1)) * cos(6.283185307179586 * u2);
}

static double run_noise(const struct scenario *sc, struct rng *r)
{
	double scale = rng_uniform(r) < sc->outlier_p ? 5.0 : 1.0;

	return scale * sc->noise * normal(r);
}

/* Even blocks ABBA, odd blocks BAAB, as bench_plan orders two arms. */
static void simulate_block(const struct scenario *sc, size_t i, struct rng *r, struct block_quad *q)
{
	double alpha = sc->block_sd * normal(r), beta = sc->drift_sd * normal(r);
	double inter = sc->arm_by_block * normal(r);
	double e[4], innov = sqrt(1.0 - sc->rho * sc->rho);
	bool abba = i % 2 == 0;

	/* noise by position: a burst of load outlives one run */
	e[0] = run_noise(sc, r);
	for (int p = 1; p < 4; p++)
		e[p] = sc->rho * e[p - 1] + innov * run_noise(sc, r);

	q->ta1 = abba ? 0 : 1;
	q->ta2 = abba ? 3 : 2;
	q->tb1 = abba ? 1 : 0;
	q->tb2 = abba ? 2 : 3;
	q->a1 = alpha + beta * q->ta1 + e[(int)q->ta1];
	q->a2 = alpha + beta * q->ta2 + e[(int)q->ta2];
	q->b1 = alpha + beta * q->tb1 + sc->effect + inter + e[(int)q->tb1];
	q->b2 = alpha + beta * q->tb2 + sc->effect + inter + e[(int)q->tb2];
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return (x > y) - (x < y);
}

static double median(double *x, size_t n)
{
	qsort(x, n, sizeof(double), cmp_double);
	return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

static void simulate(const struct scenario *sc, uint64_t seed, struct tally *t)
{
	static double width[BENCHES], means_width[BENCHES];
	struct block_quad q[BLOCKS];
	double d[BLOCKS], r[BLOCKS];
	struct rng rng;

	rng_seed(&rng, seed);
	*t = (struct tally){0};
	for (size_t b = 0; b < BENCHES; b++) {
		struct comparison c, m;

		for (size_t i = 0; i < BLOCKS; i++) {
			simulate_block(sc, i, &rng, &q[i]);
			stats_block_split(&q[i], &d[i], &r[i]);
		}
		stats_compare_blocks(q, BLOCKS, 0.02, 0.95, false, &c);
		stats_compare_paired(d, BLOCKS, 0.02, 0.95, false, &m);
		t->covered += c.lo <= sc->effect && sc->effect <= c.hi;
		t->paired_runs += c.method == METHOD_PAIRED_RUNS;
		t->slower += c.verdict == VERDICT_SLOWER;
		width[b] = c.hi - c.lo;
		means_width[b] = m.hi - m.lo;
	}
	t->width_median = median(width, BENCHES);
	t->means_width_median = median(means_width, BENCHES);
	print_message("%-28s coverage %zu/%d, paired-runs %zu/%d, median width %.4f "
	              "(block means %.4f, ratio %.3f)\n",
	              sc->name, t->covered, BENCHES, t->paired_runs, BENCHES, t->width_median,
	              t->means_width_median, t->width_median / t->means_width_median);
}

/* 93 % of 400: the bar for a 95 % interval. */
#define MIN_COVERED 372

static void test_split_removes_linear_drift(void **state)
{
	/* a1 a2 b1 b2 at ABBA positions with y = 5 + 0.3 t + 0.04 [B]: D is
	 * the effect exactly and r is zero, whatever the slope */
	struct block_quad q = {.ta1 = 0, .tb1 = 1, .tb2 = 2, .ta2 = 3};
	double d, r;

	(void)state;
	q.a1 = 5 + 0.3 * 0;
	q.b1 = 5 + 0.3 * 1 + 0.04;
	q.b2 = 5 + 0.3 * 2 + 0.04;
	q.a2 = 5 + 0.3 * 3;
	stats_block_split(&q, &d, &r);
	assert_true(fabs(d - 0.04) < 1e-12);
	assert_true(fabs(r) < 1e-12);
	/* three arms, A at 1 and 4, B at 0 and 5 (mirror of a block of 6) */
	q = (struct block_quad){.ta1 = 1, .ta2 = 4, .tb1 = 0, .tb2 = 5};
	q.a1 = -0.7 * 1;
	q.a2 = -0.7 * 4;
	q.b1 = -0.7 * 0 - 0.1;
	q.b2 = -0.7 * 5 - 0.1;
	stats_block_split(&q, &d, &r);
	assert_true(fabs(d + 0.1) < 1e-12);
	assert_true(fabs(r) < 1e-12);
	/* r is a residual: a lone disturbance of one run shows in it */
	q.a1 += 0.05;
	stats_block_split(&q, &d, &r);
	assert_true(fabs(r) > 0.01);
}

/* Quiet machine: iid noise of 1 %, a +2 % effect. */
static void test_quiet(void **state)
{
	const struct scenario sc = {"quiet, +2 %", log(1.02), 0.01, 0, 0, 0, 0};
	struct tally t;

	(void)state;
	simulate(&sc, 1, &t);
	assert_true(t.covered >= MIN_COVERED);
	/* the same budget buys a narrower interval than ten block means: only
	 * a little with normal noise, where the point estimate is the same and
	 * only the degrees of freedom grow (docs/bench.md) */
	assert_true(t.width_median < 0.99 * t.means_width_median);
	assert_true(t.paired_runs >= BENCHES * 8 / 10);
}

/* Drifting load: large block offsets and a strong linear drift inside each
 * block (a slope of 2 % of the time per run, twice the noise). */
static void test_planted_drift(void **state)
{
	const struct scenario aa = {"drift, A/A", 0, 0.01, 0.05, 0.02, 0, 0};
	const struct scenario ab = {"drift, +5 %", log(1.05), 0.01, 0.05, 0.02, 0, 0};
	struct tally t;

	(void)state;
	simulate(&aa, 2, &t);
	assert_true(t.covered >= MIN_COVERED);
	assert_true(t.width_median < 0.99 * t.means_width_median);
	assert_true(t.slower <= BENCHES / 100);
	simulate(&ab, 3, &t);
	assert_true(t.covered >= MIN_COVERED);
	assert_true(t.width_median < 0.99 * t.means_width_median);
}

/* Heavy tails: one run in ten with five times the noise. */
static void test_outliers(void **state)
{
	const struct scenario sc = {"outliers, +2 %", log(1.02), 0.01, 0.02, 0.005, 0.10, 0};
	struct tally t;

	(void)state;
	simulate(&sc, 4, &t);
	assert_true(t.covered >= MIN_COVERED);
	/* ranks over twice the values resist the wide runs much better */
	assert_true(t.width_median < 0.90 * t.means_width_median);
}

/* Noise that reaches the block difference but not the residual (a layout
 * pad per block moving B against A): the rule must send it back to block
 * means often enough to keep the coverage. */
static void test_arm_by_block_falls_back(void **state)
{
	const struct scenario sc = {"arm-by-block, +2 %", log(1.02), 0.005, 0.02, 0.005, 0, 0.02};
	struct tally t;

	(void)state;
	simulate(&sc, 5, &t);
	assert_true(t.covered >= MIN_COVERED);
	assert_true(t.paired_runs < BENCHES / 2);
}

static void test_blocks_to_resolve_formula(void **state)
{
	const double half = 0.5 * log1p(0.02);
	double v[20] = {0};

	(void)state;
	/* an interval of half-width 2 * half from 20 values: 4 x 20 values */
	assert_int_equal(stats_blocks_to_resolve(v, 20, 2, 0.02, 0.95, -2 * half, 2 * half), 40);
	assert_int_equal(stats_blocks_to_resolve(v, 20, 1, 0.02, 0.95, 0, 4 * half), 80);
	/* no interval: from the deviation, s = 0.02 * sqrt(20/19);
	 * (1.96 * 1.0233 * s / half)^2 = 17.28 -> 18 values */
	for (size_t i = 0; i < 20; i++)
		v[i] = i % 2 ? 0.02 : -0.02;
	assert_int_equal(stats_blocks_to_resolve(v, 20, 2, 0.02, 0.95, -INFINITY, INFINITY), 9);
	assert_int_equal(stats_blocks_to_resolve(v, 20, 1, 0.02, 0.95, NAN, NAN), 18);
	/* never fewer than an interval needs; nothing from one value */
	assert_int_equal(stats_blocks_to_resolve(v, 20, 2, 0.02, 0.95, -1e-4, 1e-4), 3);
	assert_int_equal(stats_blocks_to_resolve(v, 1, 2, 0.02, 0.95, NAN, NAN), 0);
}

/* The estimate printed before extending is worth its name: benches of the
 * predicted length resolve no change as no-change, and a change of twice
 * the threshold as slower, in most trials. */
static void test_blocks_to_resolve_resolves(void **state)
{
	struct scenario sc = {"noisy, A/A", 0, 0.03, 0.02, 0.005, 0, 0, 0};
	struct block_quad q[200];
	size_t need, guess[21], no_change = 0, slower = 0;
	struct comparison c;
	struct rng rng;

	(void)state;
	rng_seed(&rng, 6);
	/* one first look is itself noisy: the median of 21 */
	for (size_t g = 0; g < 21; g++) {
		for (size_t i = 0; i < BLOCKS; i++)
			simulate_block(&sc, i, &rng, &q[i]);
		stats_compare_blocks(q, BLOCKS, 0.02, 0.95, false, &c);
		guess[g] = c.blocks_needed;
	}
	qsort(guess, 21, sizeof(size_t), cmp_size);
	need = guess[10];
	print_message("noise 3 %%: %zu blocks predicted to resolve 2 %% (first looks: %zu..%zu)\n",
	              need, guess[0], guess[20]);
	assert_true(need > BLOCKS && need <= 200);
	for (size_t b = 0; b < 100; b++) {
		sc.effect = b % 2 ? 2 * log(1.02) : 0;
		for (size_t i = 0; i < need; i++)
			simulate_block(&sc, i, &rng, &q[i]);
		stats_compare_blocks(q, need, 0.02, 0.95, false, &c);
		no_change += b % 2 == 0 && c.verdict == VERDICT_NO_CHANGE;
		slower += b % 2 == 1 && c.verdict == VERDICT_SLOWER;
	}
	print_message("no-change %zu/50 at 0, slower %zu/50 at +4 %%\n", no_change, slower);
	assert_true(no_change >= 43 && slower >= 43);
}

/* Bursts that outlive a run (neighbouring runs' noise correlated 0.5):
 * the residual then sees less noise than the block difference. */
static void test_correlated_runs(void **state)
{
	const struct scenario sc = {"correlated runs, A/A", 0, 0.01, 0.02, 0.005, 0, 0, 0.5};
	struct tally t;

	(void)state;
	simulate(&sc, 8, &t);
	assert_true(t.covered >= MIN_COVERED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_split_removes_linear_drift),
	    cmocka_unit_test(test_quiet),
	    cmocka_unit_test(test_planted_drift),
	    cmocka_unit_test(test_outliers),
	    cmocka_unit_test(test_arm_by_block_falls_back),
	    cmocka_unit_test(test_correlated_runs),
	    cmocka_unit_test(test_blocks_to_resolve_formula),
	    cmocka_unit_test(test_blocks_to_resolve_resolves),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
