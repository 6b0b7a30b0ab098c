/* test_stats.c - the bench-gate statistics against values obtained
 * independently: brute-force enumeration of null distributions inside the
 * test, hand computation, textbook tables, and constants from SciPy 1.10.1
 * (Debian python3-scipy, used for cross-checking only) where noted. */
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

#define assert_close(a, b, tol)                                                                    \
	do {                                                                                       \
		double a_ = (a), b_ = (b);                                                         \
		if (!(fabs(a_ - b_) <= (tol)))                                                     \
			fail_msg("%s = %.17g, expected %.17g (tol %g)", #a, a_, b_,                \
			         (double)(tol));                                                   \
	} while (0)

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double gauss(struct rng *r)
{
	double u = 1.0 - rng_uniform(r), v = rng_uniform(r);

	return sqrt(-2.0 * log(u)) * cos(6.28318530717958647693 * v);
}

/* Sorted Walsh averages, computed here independently of the library. */
static double *walsh(const double *d, size_t n, size_t *m)
{
	double *w = calloc(n * (n + 1) / 2, sizeof(*w));
	size_t t = 0;

	assert_non_null(w);
	for (size_t i = 0; i < n; i++)
		for (size_t j = i; j < n; j++)
			w[t++] = (d[i] + d[j]) / 2;
	qsort(w, t, sizeof(*w), cmp_d);
	*m = t;
	return w;
}

/* Hollander & Wolfe depression data (the example in R's ?wilcox.test). */
static const double hw_x[] = {1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30};
static const double hw_y[] = {0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29};

static void hw_diffs(double d[9])
{
	for (size_t i = 0; i < 9; i++)
		d[i] = hw_x[i] - hw_y[i];
}

/* ---- rng, normal ---- */

static void test_rng(void **state)
{
	struct rng a, b;
	double sum = 0.0;

	(void)state;
	rng_seed(&a, 42);
	rng_seed(&b, 42);
	for (int i = 0; i < 1000; i++)
		assert_true(rng_next(&a) == rng_next(&b));
	rng_seed(&b, 43);
	assert_true(rng_next(&a) != rng_next(&b));
	for (int i = 0; i < 10000; i++) {
		double u = rng_uniform(&a);
		uint64_t k = rng_below(&a, 7);

		assert_true(u >= 0.0 && u < 1.0);
		assert_true(k < 7);
		sum += u;
	}
	assert_close(sum / 10000, 0.5, 0.02);
	/* bound ~ 2/3 of 2^64: a plain modulo would put 2/3 of the draws in
	 * the lower half of the range instead of 1/2 */
	{
		const uint64_t bound = 0xaaaaaaaaaaaaaaaaULL;
		int low = 0;

		for (int i = 0; i < 10000; i++) {
			uint64_t k = rng_below(&a, bound);

			assert_true(k < bound);
			low += k < bound / 2;
		}
		assert_in_range(low, 4700, 5300);
	}
	/* splitmix64 reference: first output for seed 0 (Vigna's splitmix64.c). */
	rng_seed(&a, 0);
	assert_true(rng_next(&a) == 0xe220a8397b1dcdafULL);
}

static void test_normal(void **state)
{
	(void)state;
	/* scipy.stats.norm.cdf(-3.0), norm.ppf(0.975), norm.ppf(0.001) */
	assert_close(stats_norm_cdf(-3.0), 0.0013498980316300933, 1e-15);
	assert_close(stats_norm_quantile(0.975), 1.959963984540054, 1e-12);
	assert_close(stats_norm_quantile(0.001), -3.090232306167813, 1e-12);
	assert_close(stats_norm_quantile(0.5), 0.0, 1e-15);
	assert_true(isinf(stats_norm_quantile(0.0)) && stats_norm_quantile(0.0) < 0);
	assert_true(isnan(stats_norm_quantile(1.5)));
}

/* ---- describe, outliers ---- */

static void test_describe(void **state)
{
	const double x[] = {9, 4, 2, 5, 4, 7, 4, 5};
	double copy[8];
	struct describe d;

	(void)state;
	memcpy(copy, x, sizeof(x));
	stats_describe(copy, 8, &d);
	assert_memory_equal(copy, x, sizeof(x));
	assert_int_equal(d.n, 8);
	assert_close(d.mean, 5.0, 1e-15);
	assert_close(d.stdev, sqrt(32.0 / 7.0), 1e-14); /* sum sq dev = 32 */
	assert_close(d.cv, sqrt(32.0 / 7.0) / 5.0, 1e-14);
	assert_close(d.median, 4.5, 0);
	assert_close(d.min, 2, 0);
	assert_close(d.max, 9, 0);
	/* |x - 4.5| = 4.5 .5 2.5 .5 .5 2.5 .5 .5 -> median 0.5 */
	assert_close(d.mad, 0.5, 0);
	/* type 7: h = 1.75 -> 4 + .75 * 0; h = 5.25 -> 5 + .25 * 2 */
	assert_close(d.q1, 4.0, 0);
	assert_close(d.q3, 5.5, 0);

	stats_describe(x, 1, &d);
	assert_close(d.mean, 9, 0);
	assert_close(d.median, 9, 0);
	assert_true(isnan(d.stdev));
	stats_describe(x, 0, &d);
	assert_true(isnan(d.mean) && isnan(d.median));
}

static void test_outliers(void **state)
{
	const double x[] = {10, 11, 12, 10, 11, 12, 11, 50, 10.5, 11.5};
	const double same[] = {3, 3, 3, 3, 3, 4};
	const double wide[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
	bool f[10];

	(void)state;
	assert_int_equal(stats_flag_outliers(x, 10, f), 1);
	for (size_t i = 0; i < 10; i++)
		assert_true(f[i] == (i == 7));
	/* IQR and MAD are both 0: no rule applies, nothing flagged. */
	assert_int_equal(stats_flag_outliers(same, 6, f), 0);
	assert_int_equal(stats_flag_outliers(wide, 10, f), 0);
	assert_int_equal(stats_flag_outliers(x, 0, f), 0);
}

/* ---- Hodges-Lehmann ---- */

static void test_hodges_lehmann(void **state)
{
	const double a[] = {1, 2, 4};
	const double b[] = {10, -3, 2, 1};

	(void)state;
	/* Walsh: 1 1.5 2 2.5 3 4 -> (2 + 2.5) / 2 */
	assert_close(stats_hodges_lehmann(a, 3), 2.25, 0);
	/* Walsh: -3 -1 -.5 1 1.5 2 3.5 6 6 10 -> (1.5 + 2) / 2 */
	assert_close(stats_hodges_lehmann(b, 4), 1.75, 0);
	assert_close(stats_hodges_lehmann(a, 1), 1.0, 0);
	assert_true(isnan(stats_hodges_lehmann(a, 0)));
}

/* ---- signed-rank ---- */

/* Null distribution of W+ by enumerating all 2^n sign patterns. */
static void signrank_brute(size_t n, double *count)
{
	size_t top = n * (n + 1) / 2;

	memset(count, 0, (top + 1) * sizeof(*count));
	for (uint32_t mask = 0; mask < (1u << n); mask++) {
		size_t s = 0;

		for (size_t r = 0; r < n; r++)
			if (mask & (1u << r))
				s += r + 1;
		count[s] += 1;
	}
}

static void test_signrank_null(void **state)
{
	double count[56], cum = 0.0;

	(void)state;
	for (size_t n = 1; n <= 12; n++) {
		size_t top = n * (n + 1) / 2;
		double c[79];

		signrank_brute(n, c);
		cum = 0.0;
		for (size_t w = 0; w <= top; w++) {
			cum += c[w];
			assert_close(stats_signrank_cdf(n, (long)w), cum / (double)(1u << n),
			             1e-14);
		}
	}
	/* Textbook table: n = 10, two-sided 0.05 critical value T = 8. */
	signrank_brute(10, count);
	assert_close(count[0] + count[1] + count[2] + count[3] + count[4] + count[5] + count[6] +
	                 count[7] + count[8],
	             25, 0);
	assert_close(stats_signrank_cdf(10, 8), 25.0 / 1024, 1e-15);
	assert_true(stats_signrank_cdf(10, 8) <= 0.025);
	assert_true(stats_signrank_cdf(10, 9) > 0.025);
	assert_close(stats_signrank_cdf(10, -1), 0, 0);
	assert_close(stats_signrank_cdf(10, 55), 1, 0);
}

/* The fewest values with a finite interval, checked against the interval
 * itself at that size and one below. */
static void test_signrank_min_n(void **state)
{
	const double conf[] = {0.80, 0.90, 0.95, 0.99};
	double d[16], lo, hi, achieved;

	(void)state;
	assert_int_equal(stats_signrank_min_n(0.95), 6);
	assert_int_equal(stats_signrank_min_n(0.99), 8);
	assert_int_equal(stats_signrank_min_n(1.0), 0);
	for (size_t i = 0; i < 16; i++)
		d[i] = 0.01 * (double)(i + 1) * (i % 3 ? 1 : -1);
	for (size_t c = 0; c < sizeof(conf) / sizeof(conf[0]); c++) {
		size_t n = stats_signrank_min_n(conf[c]);

		assert_int_equal(stats_wilcoxon_ci(d, n, conf[c], &lo, &hi, &achieved, NULL), 0);
		assert_true(isfinite(lo) && isfinite(hi));
		assert_int_equal(stats_wilcoxon_ci(d, n - 1, conf[c], &lo, &hi, &achieved, NULL),
		                 0);
		assert_true(isinf(lo) && isinf(hi));
	}
}

static void test_signrank_exact(void **state)
{
	/* |d| ranks 1..10; positive at ranks 1, 3, 4 -> W+ = 8 */
	const double d[] = {0.1, -0.2, 0.3, 0.4, -0.5, -0.6, -0.7, -0.8, -0.9, -1.0};
	double hw[9];
	struct wilcoxon w;

	(void)state;
	stats_wilcoxon_signed_rank(d, 10, &w);
	assert_true(w.exact);
	assert_int_equal(w.n_used, 10);
	assert_close(w.w_plus, 8, 0);
	assert_close(w.p_less, 25.0 / 1024, 1e-15);
	assert_close(w.p_two_sided, 50.0 / 1024, 1e-15);
	/* W+ = 8 from {8} {1,7} {2,6} {3,5} {1,2,5} {1,3,4}: P(W+ >= 8) = 1 - 19/1024 */
	assert_close(w.p_greater, 1.0 - 19.0 / 1024, 1e-14);

	/* scipy.stats.wilcoxon(x - y, method="exact", alternative=...) on the
	 * Hollander & Wolfe data: V = 40, p = 0.0390625 / 0.01953125 /
	 * 0.986328125 (R's ?wilcox.test prints V = 40, p-value = 0.01953). */
	hw_diffs(hw);
	stats_wilcoxon_signed_rank(hw, 9, &w);
	assert_true(w.exact);
	assert_close(w.w_plus, 40, 0);
	assert_close(w.p_two_sided, 0.0390625, 1e-14);
	assert_close(w.p_greater, 0.01953125, 1e-14);
	assert_close(w.p_less, 0.986328125, 1e-14);
}

static void test_signrank_approx(void **state)
{
	/* ties and zeros: normal approximation with tie and continuity
	 * correction.  scipy.stats.wilcoxon(d, method="approx",
	 * zero_method="wilcox", correction=True, alternative=...) */
	const double ties[] = {0.5, -0.2, 0.5, 0.0, 1.1, 0.3, -0.2, 0.8, 0.5, 0.0, 0.9, 1.4};
	/* n = 60 distinct |d| > STATS_EXACT_MAX: numpy default_rng(7)
	 * normal(0.05, 0.2, 60) rounded to 6 digits; same scipy call. */
	const double large[60] = {
	    0.050246,  0.109749,  -0.004828, -0.128118, -0.040934, -0.148329, 0.062029,  0.318043,
	    -0.048441, -0.074095, 0.147968,  0.121377,  0.071083,  -0.136094, 0.04415,   0.189061,
	    -0.218843, -0.041523, -0.330245, -0.207908, -0.318347, 0.002982,  -0.203489, 0.104253,
	    0.08135,   0.012614,  -0.453352, -0.057739, 0.0403,    0.072662,  -0.256027, -0.045551,
	    -0.145704, -0.111767, 0.26218,   -0.111507, 0.043496,  0.226878,  -0.06672,  0.02766,
	    0.072093,  0.062756,  -0.195011, 0.065228,  0.321765,  -0.259429, 0.221877,  0.073871,
	    -0.078294, 0.450083,  0.202452,  -0.189858, 0.064903,  0.165338,  0.012244,  0.186582,
	    0.036697,  0.18345,   0.337705,  -0.085132,
	};
	struct wilcoxon w;

	(void)state;
	stats_wilcoxon_signed_rank(ties, 12, &w);
	assert_false(w.exact);
	assert_int_equal(w.n_used, 10);
	assert_close(w.w_plus, 52, 0);
	assert_close(w.p_two_sided, 0.014116388749862393, 1e-12);
	assert_close(w.p_greater, 0.007058194374931197, 1e-12);
	assert_close(w.p_less, 0.9947142055858348, 1e-12);

	stats_wilcoxon_signed_rank(large, 60, &w);
	assert_false(w.exact);
	assert_close(w.w_plus, 963, 0);
	assert_close(w.p_two_sided, 0.7265817601631546, 1e-12);
	assert_close(w.p_greater, 0.3632908800815773, 1e-12);
	assert_close(w.p_less, 0.6394682256967867, 1e-12);

	/* all zeros: nothing to test */
	stats_wilcoxon_signed_rank(ties + 3, 1, &w);
	assert_int_equal(w.n_used, 0);
	assert_close(w.p_two_sided, 1, 0);
}

/* ---- signed-rank confidence interval ---- */

static void test_wilcoxon_ci_n10(void **state)
{
	double d[10], lo, hi, ach, *w;
	struct error err = {0};
	size_t m;

	(void)state;
	/* powers of two: all 55 Walsh averages are distinct */
	for (int i = 0; i < 10; i++)
		d[i] = ldexp(1.0, (i * 7) % 10);
	w = walsh(d, 10, &m);
	assert_int_equal(m, 55);
	for (size_t i = 1; i < m; i++)
		assert_true(w[i - 1] < w[i]);
	assert_int_equal(stats_wilcoxon_ci(d, 10, 0.95, &lo, &hi, &ach, &err), 0);
	/* k = 9: W_(9) and W_(47), achieved 1 - 2 * 25/1024 = 95.1% */
	assert_close(lo, w[8], 0);
	assert_close(hi, w[46], 0);
	assert_close(ach, 1.0 - 50.0 / 1024, 1e-14);
	free(w);
}

static void test_wilcoxon_ci_other(void **state)
{
	double hw[9], d[60], lo, hi, ach, *w;
	struct error err = {0};
	struct rng r;
	size_t m, k;

	(void)state;
	/* Hollander & Wolfe data, brute force in Python (Walsh averages +
	 * enumerated null): k = 6, [0.01, 0.786], achieved 0.9609375. */
	hw_diffs(hw);
	assert_int_equal(stats_wilcoxon_ci(hw, 9, 0.95, &lo, &hi, &ach, &err), 0);
	assert_close(lo, 0.01, 1e-12);
	assert_close(hi, 0.786, 1e-12);
	assert_close(ach, 0.9609375, 1e-14);
	assert_close(stats_hodges_lehmann(hw, 9), 0.46, 1e-12);

	/* n = 6: P(W+ <= 0) = 1/64, P(W+ <= 1) = 2/64 -> k = 1: the range */
	assert_int_equal(stats_wilcoxon_ci(hw, 6, 0.95, &lo, &hi, &ach, &err), 0);
	w = walsh(hw, 6, &m);
	assert_close(lo, w[0], 0);
	assert_close(hi, w[m - 1], 0);
	assert_close(ach, 1.0 - 2.0 / 64, 1e-15);
	/* asking for exactly that confidence: P(W+ <= 0) == alpha/2 is allowed */
	assert_int_equal(stats_wilcoxon_ci(hw, 6, 1.0 - 2.0 / 64, &lo, &hi, &ach, &err), 0);
	assert_close(lo, w[0], 0);
	assert_close(ach, 1.0 - 2.0 / 64, 1e-15);
	free(w);

	/* n = 5: P(W+ <= 0) = 1/32 > 0.025: unachievable, infinite */
	assert_int_equal(stats_wilcoxon_ci(hw, 5, 0.95, &lo, &hi, &ach, &err), 0);
	assert_true(isinf(lo) && lo < 0 && isinf(hi) && hi > 0);
	assert_close(ach, 1, 0);

	/* n = 60 uses the normal quantile: k = floor(915 - z sqrt(18452.5) + .5)
	 * = 649; the exact tail below it must still be close to 0.025. */
	rng_seed(&r, 11);
	for (size_t i = 0; i < 60; i++)
		d[i] = gauss(&r);
	assert_int_equal(stats_wilcoxon_ci(d, 60, 0.95, &lo, &hi, &ach, &err), 0);
	k = (size_t)floor(915.0 - 1.959963984540054 * sqrt(18452.5) + 0.5);
	assert_int_equal(k, 649);
	w = walsh(d, 60, &m);
	assert_close(lo, w[k - 1], 0);
	assert_close(hi, w[m - k], 0);
	assert_in_range((long)(1e4 * stats_signrank_cdf(60, (long)k - 1)), 230, 260);
	assert_close(ach, 1.0 - 2.0 * stats_signrank_cdf(60, (long)k - 1), 2e-3);
	free(w);

	assert_int_equal(stats_wilcoxon_ci(hw, 0, 0.95, &lo, &hi, &ach, &err), -1);
	assert_int_equal(stats_wilcoxon_ci(hw, 9, 1.0, &lo, &hi, &ach, &err), -1);
	assert_non_null(strstr(err.msg, "confidence"));
}

/* ---- Mann-Whitney ---- */

/* Null distribution of U by enumerating every nx-subset of 1..nx+ny. */
static void mw_brute(size_t nx, size_t ny, double *count)
{
	size_t big = nx + ny;

	memset(count, 0, (nx * ny + 1) * sizeof(*count));
	for (uint32_t mask = 0; mask < (1u << big); mask++) {
		size_t s = 0;

		if ((size_t)__builtin_popcount(mask) != ny)
			continue;
		for (size_t r = 0; r < big; r++)
			if (mask & (1u << r))
				s += r + 1;
		count[s - ny * (ny + 1) / 2] += 1;
	}
}

static void test_mann_whitney_null(void **state)
{
	const size_t sizes[][2] = {{5, 5}, {4, 6}, {6, 4}, {1, 7}, {3, 9}, {7, 8}};
	double count[57];

	(void)state;
	for (size_t t = 0; t < sizeof(sizes) / sizeof(sizes[0]); t++) {
		size_t nx = sizes[t][0], ny = sizes[t][1];
		double total = 0.0, cum = 0.0;

		mw_brute(nx, ny, count);
		for (size_t u = 0; u <= nx * ny; u++)
			total += count[u];
		for (size_t u = 0; u <= nx * ny; u++) {
			cum += count[u];
			assert_close(stats_mann_whitney_cdf(nx, ny, (long)u), cum / total, 1e-14);
		}
	}
	/* Textbook table: n1 = n2 = 5, two-sided 0.05 critical U = 2 */
	assert_close(stats_mann_whitney_cdf(5, 5, 2), 4.0 / 252, 1e-15);
	assert_true(stats_mann_whitney_cdf(5, 5, 2) <= 0.025);
	assert_true(stats_mann_whitney_cdf(5, 5, 3) > 0.025);
}

static void test_mann_whitney_exact(void **state)
{
	const double a[] = {1.1, 2.3, 0.7, 4.5, 3.2, 2.9};
	const double b[] = {3.9, 5.1, 2.8, 6.0, 4.4, 5.5, 4.8};
	const double x5[] = {1, 2, 3, 4, 5}, y5[] = {2.5, 0.1, 0.2, 0.3, 0.4};
	const double y5b[] = {3.5, 0.1, 0.2, 0.3, 0.4};
	struct error err = {0};
	struct mann_whitney mw;

	(void)state;
	/* scipy.stats.mannwhitneyu(b, a, method="exact", alternative=...):
	 * U = 37, p = 0.022144522144522144 / 0.011072261072261072 /
	 * 0.993006993006993.  Shift and CI by brute force in Python (sorted
	 * b_j - a_i, k from the enumerated null): 2.15, k = 7, [0.5, 4.0],
	 * achieved 0.965034965034965. */
	assert_int_equal(stats_mann_whitney(a, 6, b, 7, 0.95, &mw, &err), 0);
	assert_true(mw.exact);
	assert_close(mw.u, 37, 0);
	assert_close(mw.p_two_sided, 0.022144522144522144, 1e-14);
	assert_close(mw.p_greater, 0.011072261072261072, 1e-14);
	assert_close(mw.p_less, 0.993006993006993, 1e-14);
	assert_close(mw.shift, 2.15, 1e-12);
	assert_close(mw.shift_lo, 0.5, 1e-12);
	assert_close(mw.shift_hi, 4.0, 1e-12);
	assert_close(mw.achieved, 0.965034965034965, 1e-12);

	/* y above x in exactly 2 pairs: U = 2 is the two-sided 0.05
	 * critical value (p = 2 * 4/252), U = 3 is not (2 * 7/252) */
	assert_int_equal(stats_mann_whitney(x5, 5, y5, 5, 0.95, &mw, &err), 0);
	assert_close(mw.u, 2, 0);
	assert_close(mw.p_two_sided, 2.0 * 4 / 252, 1e-14);
	assert_true(mw.p_two_sided < 0.05);
	assert_int_equal(stats_mann_whitney(x5, 5, y5b, 5, 0.95, &mw, &err), 0);
	assert_close(mw.u, 3, 0);
	assert_close(mw.p_two_sided, 2.0 * 7 / 252, 1e-14);
	assert_true(mw.p_two_sided > 0.05);
	/* y entirely below x: U = 0, P = 1 / C(9, 4) */
	assert_int_equal(stats_mann_whitney(x5, 5, y5 + 1, 4, 0.95, &mw, &err), 0);
	assert_close(mw.u, 0, 0);
	assert_close(mw.p_less, 1.0 / 126, 1e-15);
	assert_close(mw.p_greater, 1.0, 1e-14);

	assert_int_equal(stats_mann_whitney(a, 0, b, 7, 0.95, &mw, &err), -1);
	assert_non_null(strstr(err.msg, "non-empty"));
	assert_int_equal(stats_mann_whitney(a, 6, b, 7, 0.0, &mw, &err), -1);
}

static void test_mann_whitney_ties(void **state)
{
	const double a[] = {1, 2, 2, 3, 3, 3, 4, 5};
	const double b[] = {3, 4, 4, 5, 5, 6, 7, 2, 8};
	struct error err = {0};
	struct mann_whitney mw;

	(void)state;
	/* scipy.stats.mannwhitneyu(b, a, method="asymptotic",
	 * use_continuity=True, alternative=...) */
	assert_int_equal(stats_mann_whitney(a, 8, b, 9, 0.95, &mw, &err), 0);
	assert_false(mw.exact);
	assert_close(mw.u, 58.5, 0);
	assert_close(mw.p_two_sided, 0.03186670542703166, 1e-12);
	assert_close(mw.p_greater, 0.01593335271351583, 1e-12);
	assert_close(mw.p_less, 0.987571816135011, 1e-12);
	assert_true(mw.shift_lo <= mw.shift && mw.shift <= mw.shift_hi);
}

static void test_exact_boundary(void **state)
{
	double d[51], x[50], y[50];
	struct error err = {0};
	struct mann_whitney mw;
	struct wilcoxon w;

	(void)state;
	/* d_i = -i when i^2 mod 7 < 3, else +i; scipy.stats.wilcoxon(d,
	 * method="exact") for n = 50, method="approx", correction=True for 51 */
	for (int i = 1; i <= 51; i++)
		d[i - 1] = (i * i) % 7 < 3 ? -i : i;
	stats_wilcoxon_signed_rank(d, 50, &w);
	assert_true(w.exact);
	assert_close(w.w_plus, 343, 0);
	assert_close(w.p_two_sided, 0.003913313547160513, 1e-14);
	assert_close(w.p_greater, 0.998106776513767, 1e-12);
	assert_close(w.p_less, 0.0019566567735802565, 1e-14);
	stats_wilcoxon_signed_rank(d, 51, &w);
	assert_false(w.exact);
	assert_close(w.w_plus, 394, 0);
	assert_close(w.p_two_sided, 0.011843414790436888, 1e-12);
	assert_close(w.p_less, 0.005921707395218444, 1e-12);

	/* x = 1..50, y = x + 10.5: scipy.stats.mannwhitneyu(y, x,
	 * method="exact") U = 1720 */
	for (int i = 0; i < 50; i++) {
		x[i] = i + 1;
		y[i] = i + 11.5;
	}
	assert_int_equal(stats_mann_whitney(x, 50, y, 50, 0.95, &mw, &err), 0);
	assert_true(mw.exact);
	assert_close(mw.u, 1720, 0);
	assert_close(mw.p_two_sided, 0.001055016471113676, 1e-14);
	assert_close(mw.p_greater, 0.000527508235556838, 1e-14);
	assert_close(mw.p_less, 0.9994858158885856, 1e-12);
	assert_close(mw.shift, 10.5, 0);
}

/* ---- Holm ---- */

static void test_holm(void **state)
{
	double p[] = {0.01, 0.04, 0.03, 0.005};
	const double want[] = {0.03, 0.06, 0.06, 0.02};
	const double q[] = {0.02, 0.02, 0.5, 0.9};
	double adj[4];

	(void)state;
	stats_holm(p, 4, adj);
	for (size_t i = 0; i < 4; i++)
		assert_close(adj[i], want[i], 1e-15);
	stats_holm(p, 4, p); /* in place */
	for (size_t i = 0; i < 4; i++)
		assert_close(p[i], want[i], 1e-15);
	/* ties and the cap: 4 * .02, 3 * .02 -> .08 .08; 2 * .5 = 1; .9 -> 1 */
	stats_holm(q, 4, adj);
	assert_close(adj[0], 0.08, 1e-15);
	assert_close(adj[1], 0.08, 1e-15);
	assert_close(adj[2], 1.0, 0);
	assert_close(adj[3], 1.0, 0);
	stats_holm(q, 1, adj);
	assert_close(adj[0], 0.02, 0);
}

/* ---- bootstrap ---- */

static void test_bootstrap(void **state)
{
	enum { N = 2001 };
	double *d = calloc(N, sizeof(*d)), lo1, hi1, lo2, hi2, lo3, hi3;
	struct rng r;

	(void)state;
	assert_non_null(d);
	rng_seed(&r, 1234);
	for (size_t i = 0; i < N; i++)
		d[i] = 3.0 + gauss(&r);
	rng_seed(&r, 99);
	stats_bootstrap_median_ci(d, N, 1000, 0.95, &r, &lo1, &hi1);
	rng_seed(&r, 99);
	stats_bootstrap_median_ci(d, N, 1000, 0.95, &r, &lo2, &hi2);
	assert_close(lo1, lo2, 0);
	assert_close(hi1, hi2, 0);
	/* true median 3; the sample median's sd is ~ 1.2533 / sqrt(N) = 0.028 */
	assert_true(lo1 < 3.0 && 3.0 < hi1);
	assert_true(hi1 - lo1 > 0.05 && hi1 - lo1 < 0.2);
	assert_true(lo1 <= stats_median(d, N) && stats_median(d, N) <= hi1);
	rng_seed(&r, 100);
	stats_bootstrap_median_ci(d, N, 1000, 0.95, &r, &lo3, &hi3);
	assert_true(lo3 != lo1 || hi3 != hi1);
	stats_bootstrap_median_ci(d, 0, 1000, 0.95, &r, &lo3, &hi3);
	assert_true(isnan(lo3) && isnan(hi3));
	free(d);
}

/* ---- verdicts ---- */

static void synth(double *d, size_t n, double center, double sd, uint64_t seed)
{
	struct rng r;

	rng_seed(&r, seed);
	for (size_t i = 0; i < n; i++)
		d[i] = center + sd * gauss(&r);
}

static void test_verdicts(void **state)
{
	double d[30];
	struct comparison c;

	(void)state;
	synth(d, 30, log(1.10), 0.01, 1);
	stats_compare_paired(d, 30, 0.02, 0.95, false, &c);
	assert_int_equal(c.verdict, VERDICT_SLOWER);
	assert_true(c.lo > log(1.02) && c.lo <= c.hl && c.hl <= c.hi);
	assert_true(c.pct > 9.0 && c.pct < 11.0);
	assert_close(c.pct_lo, 100.0 * (exp(c.lo) - 1.0), 1e-12);
	assert_true(c.p_greater < 1e-6);
	assert_close(c.p_adjusted, c.p_greater, 0);
	assert_string_equal(verdict_name(c.verdict), "slower");

	synth(d, 30, 0.0, 0.003, 2); /* A/A */
	stats_compare_paired(d, 30, 0.02, 0.95, false, &c);
	assert_int_equal(c.verdict, VERDICT_NO_CHANGE);
	assert_true(c.lo < 0.0 && c.hi > 0.0);

	synth(d, 30, log(0.90), 0.01, 3);
	stats_compare_paired(d, 30, 0.02, 0.95, false, &c);
	assert_int_equal(c.verdict, VERDICT_FASTER);
	assert_true(c.pct < -9.0 && c.pct > -11.0);

	synth(d, 8, 0.01, 0.05, 4); /* small and noisy */
	stats_compare_paired(d, 8, 0.02, 0.95, false, &c);
	assert_int_equal(c.verdict, VERDICT_INCONCLUSIVE);
	assert_true(c.hi - c.lo > 2 * log(1.02));

	stats_compare_paired(d, 5, 0.02, 0.95, false, &c); /* too few for 95% */
	assert_int_equal(c.verdict, VERDICT_INCONCLUSIVE);
	assert_true(isinf(c.lo) && isinf(c.hi));
	stats_compare_paired(d, 0, 0.02, 0.95, false, &c);
	assert_int_equal(c.verdict, VERDICT_INCONCLUSIVE);
	d[0] = NAN;
	stats_compare_paired(d, 8, 0.02, 0.95, false, &c);
	assert_int_equal(c.verdict, VERDICT_INCONCLUSIVE);
}

/* A counted metric (instructions, simulated cycles): the interval is the
 * range of the blocks' ratios, whatever their number (two suffice). */
static void test_zero_spread_is_exact(void **state)
{
	double slower[3] = {log(1.2), log(1.2), log(1.2)};
	double same[2] = {0.0, 0.0};
	double faster[2] = {log(0.9), log(0.9)};
	double mixed[3] = {log(1.2), log(1.2), log(1.21)};
	struct comparison c;

	(void)state;
	stats_compare_paired(slower, 3, 0.02, 0.95, true, &c);
	assert_int_equal(c.verdict, VERDICT_SLOWER);
	assert_true(fabs(c.pct - 20.0) < 1e-9 && c.pct_lo == c.pct && c.pct_hi == c.pct);
	stats_finalize_verdicts(&c, 1, 0.05);
	assert_int_equal(c.verdict, VERDICT_SLOWER);
	stats_compare_paired(same, 2, 0.02, 0.95, true, &c);
	assert_int_equal(c.verdict, VERDICT_NO_CHANGE);
	stats_compare_paired(faster, 2, 0.02, 0.95, true, &c);
	assert_int_equal(c.verdict, VERDICT_FASTER);
	/* a count's jitter: the interval is the range, +20 .. +21 % */
	stats_compare_paired(mixed, 3, 0.02, 0.95, true, &c);
	assert_int_equal(c.verdict, VERDICT_SLOWER);
	assert_true(fabs(c.pct_lo - 20.0) < 1e-9 && fabs(c.pct_hi - 21.0) < 1e-9);
	/* a time with the same numbers: the distribution-free interval,
	 * too wide at n = 3 */
	stats_compare_paired(mixed, 3, 0.02, 0.95, false, &c);
	assert_int_equal(c.verdict, VERDICT_INCONCLUSIVE);
	/* one block proves nothing */
	stats_compare_paired(slower, 1, 0.02, 0.95, true, &c);
	assert_int_equal(c.verdict, VERDICT_INCONCLUSIVE);
}

static void test_finalize_holm(void **state)
{
	enum { M = 60 };
	struct comparison c[M];
	double d[10];

	(void)state;
	/* all ten positive and distinct: p_greater = 1/1024 */
	for (size_t i = 0; i < 10; i++)
		d[i] = 0.1 + 0.01 * (double)i;
	for (size_t j = 0; j < M; j++)
		stats_compare_paired(d, 10, 0.02, 0.95, false, &c[j]);
	assert_close(c[0].p_greater, 1.0 / 1024, 1e-15);
	assert_int_equal(c[0].verdict, VERDICT_SLOWER);

	stats_finalize_verdicts(c, 10, 0.05); /* 10/1024 < 0.05: stays */
	for (size_t j = 0; j < 10; j++) {
		assert_close(c[j].p_adjusted, 10.0 / 1024, 1e-15);
		assert_int_equal(c[j].verdict, VERDICT_SLOWER);
	}
	stats_finalize_verdicts(c, M, 0.05); /* 60/1024 > 0.05: not proven */
	for (size_t j = 0; j < M; j++) {
		assert_close(c[j].p_adjusted, 60.0 / 1024, 1e-15);
		assert_int_equal(c[j].verdict, VERDICT_INCONCLUSIVE);
	}
}

static void test_log_ratios(void **state)
{
	const double a[] = {100, 200, 50}, b[] = {110, 180, 0};
	struct error err = {0};
	double d[3];

	(void)state;
	assert_int_equal(stats_log_ratios(a, b, 2, d, &err), 0);
	assert_close(d[0], log(1.1), 1e-15);
	assert_close(d[1], log(0.9), 1e-15);
	assert_int_equal(stats_log_ratios(a, b, 3, d, &err), -1);
	assert_non_null(strstr(err.msg, "pair 2"));
}

/* ---- interaction ---- */

static void blocks(size_t n, double extra, double noise, uint64_t seed, double *t00, double *t01,
                   double *t10, double *t11)
{
	struct rng r;

	rng_seed(&r, seed);
	for (size_t i = 0; i < n; i++) {
		double base = 1.0 + 0.5 * rng_uniform(&r); /* block effect */

		t00[i] = base * exp(noise * gauss(&r));
		t01[i] = base * 1.2 * exp(noise * gauss(&r));
		t10[i] = base * 1.3 * exp(noise * gauss(&r));
		t11[i] = base * 1.2 * 1.3 * extra * exp(noise * gauss(&r));
	}
}

static void test_interaction(void **state)
{
	double t00[20], t01[20], t10[20], t11[20];
	struct error err = {0};
	struct interaction it;

	(void)state;
	blocks(20, 1.0, 0.005, 5, t00, t01, t10, t11);
	assert_int_equal(stats_interaction(t00, t01, t10, t11, 20, 0.02, 0.95, false, &it, &err),
	                 0);
	assert_int_equal(it.cls, INTERACTION_ADDITIVE);
	assert_string_equal(interaction_name(it.cls), "additive");
	assert_true(fabs(it.hl) < 0.01);
	assert_true(it.lo > -log(1.02) && it.hi < log(1.02));

	blocks(20, 1.15, 0.005, 6, t00, t01, t10, t11);
	assert_int_equal(stats_interaction(t00, t01, t10, t11, 20, 0.02, 0.95, false, &it, &err),
	                 0);
	assert_int_equal(it.cls, INTERACTION_INTERACTING);
	assert_close(it.hl, log(1.15), 0.01);
	assert_true(it.p_two_sided < 1e-5);

	blocks(8, 1.0, 0.05, 7, t00, t01, t10, t11);
	assert_int_equal(stats_interaction(t00, t01, t10, t11, 8, 0.02, 0.95, false, &it, &err), 0);
	assert_int_equal(it.cls, INTERACTION_UNCLEAR);

	t11[3] = 0.0;
	assert_int_equal(stats_interaction(t00, t01, t10, t11, 8, 0.02, 0.95, false, &it, &err),
	                 -1);
	assert_non_null(strstr(err.msg, "non-positive"));
	assert_int_equal(stats_interaction(t00, t01, t10, t11, 0, 0.02, 0.95, false, &it, &err),
	                 -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rng),
	    cmocka_unit_test(test_normal),
	    cmocka_unit_test(test_describe),
	    cmocka_unit_test(test_outliers),
	    cmocka_unit_test(test_hodges_lehmann),
	    cmocka_unit_test(test_signrank_null),
	    cmocka_unit_test(test_signrank_min_n),
	    cmocka_unit_test(test_signrank_exact),
	    cmocka_unit_test(test_signrank_approx),
	    cmocka_unit_test(test_wilcoxon_ci_n10),
	    cmocka_unit_test(test_wilcoxon_ci_other),
	    cmocka_unit_test(test_mann_whitney_null),
	    cmocka_unit_test(test_mann_whitney_exact),
	    cmocka_unit_test(test_mann_whitney_ties),
	    cmocka_unit_test(test_exact_boundary),
	    cmocka_unit_test(test_holm),
	    cmocka_unit_test(test_bootstrap),
	    cmocka_unit_test(test_verdicts),
	    cmocka_unit_test(test_zero_spread_is_exact),
	    cmocka_unit_test(test_finalize_holm),
	    cmocka_unit_test(test_log_ratios),
	    cmocka_unit_test(test_interaction),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
