/* record.h - reading a bench result document ("pgo-sandbox-bench",
 * schema versions 1 to 3) for the history: its metrics and their
 * direction, and every raw sample.  Defensive by design: unknown members
 * are ignored, missing ones take their defaults, so that files written by
 * older and newer versions of the bench can all be recorded.  Pure: no
 * I/O. */
#ifndef PGO_HISTORY_RECORD_H
#define PGO_HISTORY_RECORD_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "base/util.h"

/* A metric of the document: top-level "metrics" (schema 3), else the
 * process metrics wall, cpu, instructions, est-cycles and rss, all "lower". */
struct record_metric {
	const char *name;
	const char *unit;      /* NULL when unknown */
	const char *direction; /* "lower" or "higher": which way is better */
	const char *source;    /* "process", "regex", ... */
};
/* Fills up to `max` metrics, returns how many the document has. */
size_t record_metrics(const json_t *doc, struct record_metric *out, size_t max);
/* The direction of metric `name` in `doc` ("lower" when not listed). */
const char *record_direction(const json_t *doc, const char *name);

/* THE accessor for one raw sample of a builtin `metric` of the run's own
 * benchmark in one element of runs[]: wall -> wall_s, cpu -> cpu_s,
 * instructions -> callgrind_ir (else counters.instructions), est-cycles ->
 * cachegrind.estimated_cycles, rss -> rss_kib (else peak_rss_kib).  false
 * when the run has no such number.
 * Reported metrics are runs[].reported[benchmark][metric] (schema 3), for
 * the run's own benchmark or one its process reported: record_each_sample
 * walks them. */
bool record_is_builtin_metric(const char *metric);
bool record_run_value(const json_t *run, const char *metric, double *out);

/* Names of benchmarks, variants and cells by index (or given as strings,
 * as a hand-written file might); "" for a cell without label, "?" when
 * the index points nowhere. */
const char *record_benchmark_name(const json_t *doc, const json_t *ref);
const char *record_variant_name(const json_t *doc, const json_t *ref);
const char *record_variant_role(const json_t *doc, const json_t *ref);
const char *record_cell_label(const json_t *doc, const json_t *ref);

struct record_sample {
	const char *benchmark, *variant, *cell, *metric;
	long long block, seq;
	double value;
};
typedef int (*record_sample_fn)(const struct record_sample *s, void *arg, struct error *err);
/* Calls fn for every measured (not warm-up) run and every metric the run
 * has a value for; stops at the first fn returning -1. */
int record_each_sample(const json_t *doc, record_sample_fn fn, void *arg, struct error *err);

/* Check the document is a bench result: schema "pgo-sandbox-bench". */
int record_check(const json_t *doc, const char *what, struct error *err);

/* A member as text for a TEXT column ("%.17g" for numbers, compact JSON
 * for objects; NULL for null/missing/non-finite).  Caller frees. */
char *record_text(const json_t *v);
/* For numeric columns: the text of a finite number (record_integer: of an
 * integer), NULL for anything else, so a member of an unexpected type is
 * stored as NULL instead of failing PostgreSQL's type check. */
char *record_number(const json_t *v);
char *record_integer(const json_t *v);

#endif
