/* samples.c - see samples.h */
#define _GNU_SOURCE
#include "history/samples.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/stats.h"
#include "history/record.h"

struct sample_series *sample_sets_find(const struct sample_sets *sets, const char *benchmark,
                                       const char *variant, const char *cell, const char *metric)
{
	for (size_t i = 0; i < sets->n; i++) {
		struct sample_series *x = &sets->s[i];

		if (strcmp(x->benchmark, benchmark) == 0 && strcmp(x->variant, variant) == 0 &&
		    strcmp(x->cell, cell) == 0 && strcmp(x->metric, metric) == 0)
			return x;
	}
	return NULL;
}

void sample_sets_add(struct sample_sets *sets, const char *benchmark, const char *variant,
                     const char *cell, const char *metric, double value)
{
	struct sample_series *x = sample_sets_find(sets, benchmark, variant, cell, metric);

	if (x == NULL) {
		if (sets->n == sets->cap) {
			sets->cap = sets->cap ? sets->cap * 2 : 16;
			sets->s = xrealloc(sets->s, sets->cap * sizeof(*sets->s));
		}
		x = &sets->s[sets->n++];
		memset(x, 0, sizeof(*x));
		x->benchmark = xstrdup(benchmark);
		x->variant = xstrdup(variant);
		x->cell = xstrdup(cell);
		x->metric = xstrdup(metric);
	}
	if (x->n == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 16;
		x->v = xrealloc(x->v, x->cap * sizeof(double));
	}
	x->v[x->n++] = value;
}

void sample_sets_free(struct sample_sets *sets)
{
	for (size_t i = 0; i < sets->n; i++) {
		free(sets->s[i].benchmark);
		free(sets->s[i].variant);
		free(sets->s[i].cell);
		free(sets->s[i].metric);
		free(sets->s[i].v);
	}
	free(sets->s);
	memset(sets, 0, sizeof(*sets));
}

static int add_sample(const struct record_sample *x, void *arg, struct error *err)
{
	(void)err;
	sample_sets_add(arg, x->benchmark, x->variant, x->cell, x->metric, x->value);
	return 0;
}

int samples_from_doc(const json_t *doc, struct sample_sets *sets, struct error *err)
{
	return record_each_sample(doc, add_sample, sets, err);
}

int samples_from_run(struct store *s, const char *run_id, struct sample_sets *sets,
                     struct error *err)
{
	struct store_rows r;
	const char *params[1] = {run_id};

	if (store_query(s,
	                "SELECT benchmark, variant, cell, metric, value FROM samples"
	                " WHERE run_id = ? ORDER BY benchmark, variant, cell, metric, seq",
	                params, 1, &r, err) < 0)
		return -1;
	for (size_t i = 0; i < r.n_rows; i++)
		sample_sets_add(sets, store_cell(&r, i, 0), store_cell(&r, i, 1),
		                store_cell(&r, i, 2) ? store_cell(&r, i, 2) : "",
		                store_cell(&r, i, 3), strtod(store_cell(&r, i, 4), NULL));
	store_rows_free(&r);
	return 0;
}

/* ln of the positive values (caller frees); *dropped counts the others. */
static double *logs_of(const double *x, size_t n, size_t *out_n, size_t *dropped)
{
	double *l = xcalloc(n + 1, sizeof(double));

	*out_n = 0;
	for (size_t i = 0; i < n; i++) {
		if (x[i] > 0 && isfinite(x[i]))
			l[(*out_n)++] = log(x[i]);
		else
			(*dropped)++;
	}
	return l;
}

static const char *verdict_of(double lo, double hi, double L, bool higher_is_better)
{
	/* Moving up is bad for a "lower" metric, good for a "higher" one. */
	if (lo > L)
		return higher_is_better ? "better" : "worse";
	if (hi < -L)
		return higher_is_better ? "worse" : "better";
	if (lo > -L && hi < L)
		return "no change";
	return "inconclusive";
}

int compare_unpaired(const double *a, size_t na, const double *b, size_t nb, bool higher_is_better,
                     double threshold_pct, double confidence, struct unpaired *out,
                     struct error *err)
{
	size_t la_n, lb_n;
	double *la, *lb, L = log1p(threshold_pct / 100.0);
	struct mann_whitney mw;
	int rc;

	memset(out, 0, sizeof(*out));
	la = logs_of(a, na, &la_n, &out->dropped);
	lb = logs_of(b, nb, &lb_n, &out->dropped);
	out->na = la_n;
	out->nb = lb_n;
	if (la_n == 0 || lb_n == 0) {
		free(la);
		free(lb);
		return error_set(err, EXIT_RUNNER_ERROR, 0, "no positive samples to compare");
	}
	out->median_a = stats_median(a, na);
	out->median_b = stats_median(b, nb);
	rc = stats_mann_whitney(la, la_n, lb, lb_n, confidence, &mw, err);
	free(la);
	free(lb);
	if (rc < 0)
		return -1;
	out->pct = 100.0 * expm1(mw.shift);
	out->pct_lo = 100.0 * expm1(mw.shift_lo);
	out->pct_hi = 100.0 * expm1(mw.shift_hi);
	out->verdict = verdict_of(mw.shift_lo, mw.shift_hi, L, higher_is_better);
	out->regression = strcmp(out->verdict, "worse") == 0;
	return 0;
}
