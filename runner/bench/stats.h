/* stats.h - distribution-free statistics for the bench gate.
 *
 * Pure computation: no I/O, no global state.  Inputs are never modified
 * (every function sorts its own copy).  Randomness only through a caller
 * owned `struct rng`, so a recorded seed reproduces a result bit for bit.
 *
 * Conventions follow R's wilcox.test so values can be cross-checked:
 *  - signed-rank: zeros are dropped, |d| ranked with mid-ranks; the exact
 *    null distribution is used when n <= STATS_EXACT_MAX and there are
 *    no ties or zeros, otherwise the normal approximation with tie
 *    correction and a 0.5 continuity correction;
 *  - Mann-Whitney: exact when both sizes <= STATS_EXACT_MAX and there are
 *    no ties, otherwise normal with tie and continuity correction.
 * Confidence intervals are the Hodges-Lehmann / Tukey order-statistic
 * intervals; they use the exact null quantile whenever the sizes allow
 * it (ties only affect p-values there) and the normal quantile beyond. */
#ifndef PGO_STATS_H
#define PGO_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

#define STATS_EXACT_MAX 50

/* splitmix64: one 64-bit word of state, passes BigCrush, trivially seedable. */
struct rng {
	uint64_t state;
};

void rng_seed(struct rng *r, uint64_t seed);
uint64_t rng_next(struct rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double rng_uniform(struct rng *r);
/* Uniform integer in [0, bound), unbiased (rejection); bound > 0. */
uint64_t rng_below(struct rng *r, uint64_t bound);

/* Standard normal CDF and its inverse (|error| < 1e-15 in the body). */
double stats_norm_cdf(double z);
double stats_norm_quantile(double p);

/* Descriptive statistics.  stdev is the sample (n-1) deviation, cv is
 * stdev/mean, mad the raw median absolute deviation (multiply by 1.4826
 * for a normal-consistent scale), q1/q3 type-7 quantiles (R default).
 * n == 0 gives NAN everywhere; n == 1 gives NAN stdev and cv. */
struct describe {
	size_t n;
	double mean, median, stdev, cv, min, max, mad, q1, q3;
};
void stats_describe(const double *x, size_t n, struct describe *out);

/* Type-7 quantile of an ascending sorted array, 0 <= p <= 1, n > 0. */
double stats_quantile_sorted(const double *sorted, size_t n, double p);
double stats_median(const double *x, size_t n);

/* Flag (never drop) outliers: flags[i] is set when x[i] lies outside the
 * Tukey fences Q1 - 1.5 IQR .. Q3 + 1.5 IQR, or when
 * |x[i] - median| > 3.5 * 1.4826 * MAD.  A rule whose scale (IQR or MAD)
 * is zero is skipped: more than half the values are then identical and
 * the rule would flag every other value.  Returns the number flagged. */
size_t stats_flag_outliers(const double *x, size_t n, bool *flags);

/* Hodges-Lehmann one-sample location: median of the n(n+1)/2 Walsh
 * averages (d_i + d_j)/2, i <= j.  NAN when n == 0. */
double stats_hodges_lehmann(const double *d, size_t n);

/* Wilcoxon signed-rank test of "d is symmetric about 0".
 * p_greater is for the alternative "location > 0". */
struct wilcoxon {
	size_t n_used; /* n minus the zeros */
	double w_plus; /* sum of (mid-)ranks of the positive d */
	double p_two_sided;
	double p_greater;
	double p_less;
	bool exact;
};
void stats_wilcoxon_signed_rank(const double *d, size_t n, struct wilcoxon *out);

/* Exact null distribution of W+ for n untied non-zero values:
 * P(W+ <= w).  Exposed for tests and table look-ups; O(n^3) time. */
double stats_signrank_cdf(size_t n, long w);

/* Distribution-free CI for the pseudo-median: lo = W_(k), hi = W_(M+1-k)
 * among the M = n(n+1)/2 sorted Walsh averages, k the largest integer
 * with P(W+ <= k-1) <= (1-confidence)/2.  *achieved = 1 - 2 P(W+ <= k-1).
 * When no k >= 1 exists (n too small for the confidence) the interval is
 * (-inf, +inf) with achieved 1: nothing can be concluded.
 * Returns -1 + err for n == 0 or confidence outside (0, 1). */
int stats_wilcoxon_ci(const double *d, size_t n, double confidence, double *lo, double *hi,
                      double *achieved, struct error *err);

/* The fewest values whose Wilcoxon interval at `confidence` is finite:
 * the smallest n with P(W+ <= 0) = 2^-n <= (1 - confidence)/2 (6 at 0.95).
 * 0 when confidence is outside (0, 1). */
size_t stats_signrank_min_n(double confidence);

/* Mann-Whitney for unpaired samples.  u counts the pairs with y > x
 * (ties count 1/2), so p_greater is for "y is shifted above x".  shift is
 * the Hodges-Lehmann median of the nx*ny differences y_j - x_i and
 * shift_lo/shift_hi its distribution-free CI (same k rule as above on the
 * null distribution of U; infinite when unachievable). */
struct mann_whitney {
	double u;
	double p_two_sided;
	double p_greater;
	double p_less;
	double shift;
	double shift_lo, shift_hi;
	double achieved;
	bool exact;
};
int stats_mann_whitney(const double *x, size_t nx, const double *y, size_t ny, double confidence,
                       struct mann_whitney *out, struct error *err);

/* Exact null P(U <= u) for sizes nx, ny without ties; both <= STATS_EXACT_MAX. */
double stats_mann_whitney_cdf(size_t nx, size_t ny, long u);

/* Holm-Bonferroni step-down: adjusted[i] for p[i], monotone in the order
 * of the p-values and capped at 1.  p and adjusted may alias. */
void stats_holm(const double *p, size_t m, double *adjusted);

/* Percentile bootstrap CI of the median: `resamples` resamples drawn with
 * r, type-7 quantiles (1-c)/2 and (1+c)/2 of their medians.  NAN when
 * n == 0 or resamples == 0. */
void stats_bootstrap_median_ci(const double *d, size_t n, size_t resamples, double confidence,
                               struct rng *r, double *lo, double *hi);

/* d[i] = ln(b[i] / a[i]); -1 + err when a time is not finite and > 0. */
int stats_log_ratios(const double *a, const double *b, size_t n, double *d, struct error *err);

enum verdict {
	VERDICT_SLOWER,
	VERDICT_NO_CHANGE,
	VERDICT_FASTER,
	VERDICT_INCONCLUSIVE,
};

/* Paired comparison of log ratios d_i = ln(B_i / A_i) (B the candidate).
 * With L = ln(1 + delta) and [lo, hi] the Wilcoxon CI of the
 * pseudo-median at `confidence`:
 *   slower      lo > +L and p_adjusted < alpha
 *   faster      hi < -L
 *   no change   -L < lo and hi < +L
 *   inconclusive otherwise (including an interval above +L whose
 *                adjusted p-value is not below alpha)
 * Only "slower" is gated on the p-value because it is the verdict that
 * fails a build; Holm protects it against the number of benchmarks.
 * stats_compare_paired sets p_adjusted = p_greater and alpha = 1 -
 * confidence (a single comparison); stats_finalize_verdicts re-adjusts
 * across all m comparisons.
 * `counted`: the metric is a count (instructions, simulated cycles), whose
 * spread between blocks is layout jitter, not sampling noise: with two
 * blocks or more [lo, hi] is the range of d, p_greater 0 when lo > 0. */
enum cmp_method {
	METHOD_BLOCK_MEANS, /* one d per block: the difference of the arms' mean logs */
	METHOD_PAIRED_RUNS, /* two values per block from its four runs, drift removed */
	METHOD_RANGE,       /* a count: the range of the blocks' d */
};
const char *cmp_method_name(enum cmp_method m);

struct comparison {
	size_t n;        /* blocks */
	size_t n_values; /* values the interval was computed from */
	enum cmp_method method;
	size_t blocks_needed; /* stats_blocks_to_resolve from these values */
	double delta, confidence, achieved;
	double hl, lo, hi;          /* log scale */
	double pct, pct_lo, pct_hi; /* 100 * (exp(x) - 1) */
	double p_greater;
	double p_adjusted;
	enum verdict verdict;
};
void stats_compare_paired(const double *d, size_t n, double delta, double confidence, bool counted,
                          struct comparison *out);
void stats_finalize_verdicts(struct comparison *c, size_t m, double alpha);

/* Blocks needed, from the noise of n values (per_block of them per block),
 * for the interval's half-width to shrink to half of L = ln(1 + delta):
 * then no change reads `no-change` and a change of 2 delta reads `slower`
 * about 95 % of the time each.  With a finite interval [lo, hi] from these
 * n values its half-width is scaled by sqrt(n / values); without one, the
 * half-width is taken as z(1 - alpha/2) * sqrt(pi/3) * s / sqrt(values)
 * (the Hodges-Lehmann interval's large-sample width, s the sample
 * deviation).  0 when n < 2 or delta <= 0; at least stats_signrank_min_n's
 * worth. */
size_t stats_blocks_to_resolve(const double *v, size_t n, size_t per_block, double delta,
                               double confidence, double lo, double hi);

/* One block's two runs of arm A (the baseline) and of arm B, as logs, with
 * their positions in the block.  The block's mirror order puts each arm's
 * mean position at the block's centre. */
struct block_quad {
	double a1, a2, b1, b2; /* a1 before a2, b1 before b2 */
	double ta1, ta2, tb1, tb2;
};

/* The block's difference of means D = (b1 + b2 - a1 - a2)/2 and its
 * within-block residual r = (gB (a1 - a2) - gA (b1 - b2)) / sqrt(2 (gA^2 +
 * gB^2)), gA = ta2 - ta1, gB = tb2 - tb1: the contrast orthogonal to a
 * constant, the arm and a linear drift in position.  Under independent
 * noise of variance s^2 both have variance s^2 and are uncorrelated, so
 * u = D + r and D - r are two values with mean delta and variance 2 s^2
 * per block, uncorrelated with each other and free of any linear drift
 * (docs/bench.md, "Every run"). */
void stats_block_split(const struct block_quad *q, double *d, double *r);

/* The rule that picks the method: the paired runs need the within-block
 * residuals to be as dispersed as the block differences are about their
 * centre; when |D_i - HL(D)| is larger than |r_i| (one-sided Mann-Whitney,
 * p < STATS_SPLIT_ALPHA) some noise (arm-by-block: layout pads, a
 * neighbour's bursts) reaches D but not r, and the block means are used. */
#define STATS_SPLIT_ALPHA 0.25
bool stats_split_consistent(const double *d, const double *r, size_t n);

/* Paired comparison of n complete blocks: METHOD_PAIRED_RUNS on the 2n
 * values D_i +- r_i when stats_split_consistent, else METHOD_BLOCK_MEANS on
 * the D_i; `counted` as above (METHOD_RANGE on the D_i). */
void stats_compare_blocks(const struct block_quad *q, size_t n, double delta, double confidence,
                          bool counted, struct comparison *out);
const char *verdict_name(enum verdict v);

/* 2x2 interaction per block: I_i = ln t11 - ln t10 - ln t01 + ln t00
 * (0 when the two factors' effects multiply, i.e. add in log time).
 * With L = ln(1 + delta) and [lo, hi] the Wilcoxon CI of I:
 *   additive     -L < lo and hi < +L
 *   interacting  lo > +L or hi < -L
 *   unclear      otherwise */
enum interaction_class {
	INTERACTION_ADDITIVE,
	INTERACTION_INTERACTING,
	INTERACTION_UNCLEAR,
};
struct interaction {
	size_t n;
	double hl, lo, hi, achieved; /* log scale */
	double pct, pct_lo, pct_hi;
	double p_two_sided;
	enum interaction_class cls;
};
/* `counted` as for stats_compare_paired. */
int stats_interaction(const double *t00, const double *t01, const double *t10, const double *t11,
                      size_t n, double delta, double confidence, bool counted,
                      struct interaction *out, struct error *err);
const char *interaction_name(enum interaction_class c);

#endif
