/* bench_recorded.h - this session against a recorded result: the
 * historical baseline ("62.63 M ops/s in phase 69") and --rerun.
 *
 * The two sessions ran at different times, so nothing pairs their runs:
 * the comparison is unpaired (Mann-Whitney on the logs of the runs, with
 * the Hodges-Lehmann shift and its distribution-free interval), matched by
 * benchmark, cell and metric names, and the report says so.  A result
 * recorded on another host (conditions.host.fingerprint) is refused unless
 * the caller allows it: a different machine is not a baseline. */
#ifndef PGO_BENCH_RECORDED_H
#define PGO_BENCH_RECORDED_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "bench/bench_model.h"
#include "bench/stats.h"

struct recorded_cmp {
	size_t bench, variant, cell; /* in the session now */
	enum bench_metric metric;    /* in the session now */
	size_t n_then, n_now;
	double pct, pct_lo, pct_hi; /* now against then, in the metric's terms */
	double p_two_sided;
	enum verdict verdict; /* slower = worse, as everywhere */
};

/* Compare every benchmark, cell and metric (or only `metric`, when >= 0) of
 * `now`'s variants with `then`'s variant of the same name, or with
 * `then_variant` when given.  Returns the number of comparisons (*out,
 * caller frees). */
size_t bench_recorded_compare(const struct bench_session *now, const struct bench_session *then,
                              const char *then_variant, int metric, struct recorded_cmp **out);

/* -1 + err when `then` was recorded on another host than this one and
 * allow_other is false; a warning on stderr when allowed. */
int bench_recorded_check_host(const struct bench_session *then, const char *what, bool allow_other,
                              struct error *err);

/* "RESULT.json[:VARIANT]" (--against, a rules baseline): the variant after
 * the last colon unless the whole text names an existing file; *variant
 * NULL when none.  Caller frees both. */
void bench_recorded_split(const char *spec, char **path, char **variant);

/* One line per comparison, and the JSON array of them. */
void bench_recorded_print(FILE *out, const struct bench_session *now, const struct recorded_cmp *k,
                          size_t n);
json_t *bench_recorded_json(const struct bench_session *now, const struct recorded_cmp *k,
                            size_t n);

#endif
