/* export.h - a recorded run in other formats: Bencher's Metric Format
 * (BMF: {benchmark: {measure: {value, lower_value, upper_value}}}) and the
 * bench result document itself. */
#ifndef PGO_HISTORY_EXPORT_H
#define PGO_HISTORY_EXPORT_H

#include <jansson.h>

#include "history/samples.h"

/* BMF of the samples: value = median, lower_value/upper_value = min/max.
 * Benchmark names are "BENCH" when the run has one variant, else
 * "BENCH/VARIANT", with " [CELL]" for a labelled knob cell.  Measure
 * names: wall -> "latency" in nanoseconds (Bencher's built-in measure),
 * every other metric by its own name in its own unit. */
json_t *export_bmf(const struct sample_sets *sets);

#endif
