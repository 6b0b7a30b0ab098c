/* bench_report.h - what a bench session shows: the versioned JSON result
 * (docs/bench.md), a Markdown table for a pull request or
 * $GITHUB_STEP_SUMMARY, an SVG plot, and the terminal summary. */
#ifndef PGO_BENCH_REPORT_H
#define PGO_BENCH_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "bench/bench_analysis.h"
#include "bench/bench_model.h"

/* The whole result document; `extra` members (may be NULL) are merged in
 * ("rerun", "forensics"). */
json_t *bench_result_json(const struct bench_session *s, const struct bench_analysis *a,
                          json_t *extra);

/* Caller frees. */
char *bench_markdown(const struct bench_session *s, const struct bench_analysis *a);
char *bench_svg(const struct bench_session *s, const struct bench_analysis *a);

/* Human summary; colour only when `color` (a terminal and no NO_COLOR). */
void bench_print_summary(FILE *out, const struct bench_session *s, const struct bench_analysis *a,
                         bool color);

/* "23.4 ms", "1.20 s", "812 us", "3.67 G" (instructions) */
/* The same from a metric's name and unit, as a results store keeps them
 * (a builtin's unit is implied; NULL unit: the number alone). */
void bench_format_metric_value(double v, const char *metric, const char *unit, char *buf,
                               size_t len);
void bench_format_value(const struct bench_session *s, double v, enum bench_metric m, char *buf,
                        size_t len);

/* XML-escaped copy of text. Caller frees. */
char *bench_xml_escape(const char *text);

#endif
