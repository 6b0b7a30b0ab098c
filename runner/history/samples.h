/* samples.h - raw samples grouped by benchmark, variant, cell and metric,
 * from a stored run or straight from a bench result document, and the
 * unpaired comparison of two such groups across time. */
#ifndef PGO_HISTORY_SAMPLES_H
#define PGO_HISTORY_SAMPLES_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "base/util.h"
#include "history/store.h"

struct sample_series {
	char *benchmark, *variant, *cell, *metric;
	double *v;
	size_t n, cap;
};

struct sample_sets {
	struct sample_series *s;
	size_t n, cap;
};

void sample_sets_add(struct sample_sets *sets, const char *benchmark, const char *variant,
                     const char *cell, const char *metric, double value);
struct sample_series *sample_sets_find(const struct sample_sets *sets, const char *benchmark,
                                       const char *variant, const char *cell, const char *metric);
void sample_sets_free(struct sample_sets *sets);

int samples_from_doc(const json_t *doc, struct sample_sets *sets, struct error *err);
int samples_from_run(struct store *s, const char *run_id, struct sample_sets *sets,
                     struct error *err);

/* Two groups of samples of one metric taken at different times: no
 * pairing is possible, so Mann-Whitney with the Hodges-Lehmann shift of
 * ln(b) against ln(a) and its interval (bench/stats.h).  With
 * L = ln(1 + threshold): "worse" when the interval lies beyond +L in the
 * bad direction (up for a "lower" metric, down for a "higher" one),
 * "better" beyond L the other way, "no change" inside (-L, +L),
 * "inconclusive" otherwise.  Non-positive values cannot be logged and are
 * left out (counted in `dropped`). */
struct unpaired {
	size_t na, nb, dropped;
	double median_a, median_b;
	double pct, pct_lo, pct_hi; /* 100 * (exp(shift) - 1): b against a */
	const char *verdict;        /* "worse", "better", "no change", "inconclusive" */
	bool regression;
};
int compare_unpaired(const double *a, size_t na, const double *b, size_t nb, bool higher_is_better,
                     double threshold_pct, double confidence, struct unpaired *out,
                     struct error *err);

#endif
