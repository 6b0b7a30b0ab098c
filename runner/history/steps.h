/* steps.h - step (level shift) detection over a series of commits.
 *
 * Input: per commit, in commit order, the raw samples of one benchmark,
 * variant and metric as natural logarithms (a 10 % step is then the same
 * size at 1 ms and at 1 s).  Method (docs/history.md, "Step detection"):
 *
 *  1. Each commit is reduced to the median of its log samples, x_i.
 *  2. The noise scale sigma is estimated robustly from successive
 *     differences: 1.4826 * MAD(x_{i+1} - x_i) / sqrt 2.  Differences see
 *     the noise twice but a level shift only once, so a few steps barely
 *     move the estimate (a plain MAD of x would mistake a step for noise).
 *  3. The segmentation minimising  sum over segments of
 *     sum |x_i - median(segment)|  +  beta * (number of segments)  is found
 *     exactly by dynamic programming (optimal partitioning; the L1 cost
 *     and the penalised piecewise-constant model are asv's, the exact
 *     search replaces its heuristic).  beta = STEPS_PENALTY * sigma *
 *     ln(n): the BIC-like log n of a changepoint's cost in units of the
 *     noise.  Segments hold at least STEPS_MIN_SEGMENT commits, so that
 *     one outlying commit is not a "step".
 *  4. Each boundary is measured on the raw samples of up to
 *     STEPS_WINDOW commits on either side (within the two segments):
 *     Hodges-Lehmann shift and its Mann-Whitney interval (bench/stats.h),
 *     unpaired since the samples were taken at different times.  A
 *     boundary whose interval contains 0 is not reported.
 *
 * Pure: no I/O, no global state. */
#ifndef PGO_HISTORY_STEPS_H
#define PGO_HISTORY_STEPS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/util.h"

#define STEPS_PENALTY 4.0
#define STEPS_MIN_SEGMENT 2
#define STEPS_WINDOW 5
/* A floor for sigma (log scale, 0.1 %): identical values would otherwise
 * make every difference a step. */
#define STEPS_SIGMA_FLOOR 0.001

struct steps_point {
	const double *logs; /* ln of the raw samples of one commit */
	size_t n;
};

struct step {
	size_t index; /* the first point at the new level */
	double pct;   /* Hodges-Lehmann shift, 100 * (exp(shift) - 1) */
	double pct_lo, pct_hi;
	double level_before, level_after; /* exp(median of the segment's x_i) */
};

/* Finds up to `max` steps in `pts` (n points), in order; *n_steps the
 * count.  confidence for the intervals (0.95).  -1 + err on a point
 * without samples or a statistics failure. */
int steps_detect(const struct steps_point *pts, size_t n, double confidence, struct step *out,
                 size_t max, size_t *n_steps, struct error *err);

/* The noise estimate of step 2, exposed for tests (x: n values). */
double steps_sigma(const double *x, size_t n);

#endif
