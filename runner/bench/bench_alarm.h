/* bench_alarm.h - the alarm when the model and the clock disagree.
 *
 * A bench with both simulated counters (est-cycles: cachegrind's model of
 * the machine) and wall time can see them contradict each other: BOLT on
 * the minilang fixture measured est-cycles +0.07 % and wall +22 %.  When,
 * for the same A/B pair, the two verdicts differ and their intervals do not
 * overlap, the summary, the JSON (analysis.model_clock_alarms) and the
 * Markdown say so and name what the model does not simulate.  It consumes
 * the analysis' comparisons only (bench_analysis.h). */
#ifndef PGO_BENCH_ALARM_H
#define PGO_BENCH_ALARM_H

#include <jansson.h>
#include <stdbool.h>

#include "base/strbuf.h"
#include "bench/bench_analysis.h"
#include "bench/stats.h"

/* What cachegrind's model leaves out (docs/bench.md). */
#define BENCH_ALARM_UNMODELLED                                                                     \
	"hardware prefetching, TLB misses, frequency changes, system calls and I/O, code "         \
	"alignment and branch-target buffers"

/* Whether the model's comparison and the clock's disagree beyond their
 * intervals: different verdicts, disjoint intervals. */
bool bench_model_clock_disagree(const struct comparison *model, const struct comparison *clock);

/* The disagreeing pairs of the analysis (est-cycles against wall, per
 * benchmark, cell and candidate), as JSON: an empty array when none. */
json_t *bench_alarms_json(const struct bench_session *s, const struct bench_analysis *a);
/* The same as lines, each starting with `prefix`; none when they agree. */
void bench_alarms_text(struct strbuf *b, const char *prefix, const struct bench_session *s,
                       const struct bench_analysis *a);

#endif
