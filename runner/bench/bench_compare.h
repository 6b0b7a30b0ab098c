/* bench_compare.h - what a bench run is compared with besides its own
 * variants: the recorded session of --rerun (same verdicts? same
 * binaries?) and the recorded baselines of --against. */
#ifndef PGO_BENCH_COMPARE_H
#define PGO_BENCH_COMPARE_H

#include <jansson.h>

#include "bench/bench_analysis.h"
#include "bench/bench_run.h"

/* --rerun: the verdicts of the recorded session against this one's (a
 * table on stdout), and whether the binaries are the same. */
json_t *bench_rerun_report(struct bench_ctx *c, const struct bench_analysis *a);
/* --rerun: warn when a variant's executable digest differs from the
 * recorded one (a different binary, not a different machine state). */
void bench_check_digests(const struct bench_ctx *c);
/* --against: load each recorded baseline; -1 + err naming the file. */
int bench_load_against(struct bench_ctx *c, struct error *err);
/* --against: this session's candidates against each recorded baseline. */
json_t *bench_against_report(struct bench_ctx *c);

#endif
