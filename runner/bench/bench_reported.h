/* bench_reported.h - metrics a benchmark reports about itself: a value in
 * its output found by a pattern, or the JSON a harness writes (Google
 * Benchmark, criterion, Bencher's BMF).  Pure parsing: the runner hands in
 * the run's stdout and its report directory, a sink receives the values.
 *
 * Sources, as given on the command line and recorded in the settings:
 *   regex:NAME:UNIT:higher|lower:REGEX   POSIX ERE over stdout.  One capture:
 *       the value of the run's own benchmark (must match exactly once).
 *       Two captures: a benchmark name and its value (every match).
 *   json:gbench[:FILE]     --benchmark_format=json on stdout, or FILE
 *   json:criterion[:DIR]   DIR/<id>/new/estimates.json (default: criterion,
 *                          which is where CRITERION_HOME points)
 *   json:bmf[:FILE]        {"bench": {"measure": {"value": V}}} on stdout or FILE
 * FILE and DIR are relative to the run's report directory, bound
 * read-write at BENCH_REPORT_DIR_INSIDE (a fresh one for every run).
 *
 * A new harness format is one function and one row in bench_reported.c. */
#ifndef PGO_BENCH_REPORTED_H
#define PGO_BENCH_REPORTED_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/util.h"

#define BENCH_REPORT_DIR_INSIDE "/pgo-report"

/* A run's output larger than this is not a benchmark report. */
#define REPORTED_OUTPUT_MAX (64u << 20)

struct reported_format;

struct reported_source {
	const struct reported_format *format;
	char *spec; /* as given, for messages */
	/* regex */
	char *metric, *unit;
	int direction; /* enum metric_direction */
	regex_t re;
	bool compiled;
	bool named; /* two captures: name and value */
	/* json: relative to the report directory, NULL for stdout */
	char *path;
};

/* Receives one value: `bench` NULL for the run's own benchmark; direction
 * -1 when the format does not say (the session decides). */
struct reported_sink {
	int (*add)(void *ctx, const char *bench, const char *metric, const char *unit,
	           int direction, double value, struct error *err);
	void *ctx;
};

/* What one run left: its stdout and its report directory (host path). */
struct reported_input {
	const char *out;
	size_t out_len;
	const char *report_dir;
};

int reported_source_parse(const char *text, struct reported_source *src, struct error *err);
void reported_source_free(struct reported_source *src);
bool reported_source_reads_stdout(const struct reported_source *src);
/* The metric a source is judged by unless --metric says otherwise: the
 * regex's NAME, Google Benchmark's real_time, criterion's time; NULL for
 * BMF (its first measure, known once it ran). */
const char *reported_source_default_metric(const struct reported_source *src);

/* Every value of one source in one run.  -1 + err naming the source and
 * the text that did not match or did not hold a number. */
int reported_extract(const struct reported_source *src, const struct reported_input *in,
                     const struct reported_sink *sink, struct error *err);

/* Direction of a well-known measure name (Bencher's latency, throughput;
 * Google Benchmark's real_time, items_per_second...), -1 when unknown. */
int reported_known_direction(const char *measure);

#endif
