/* results_store.h - where a pipeline's bench results are recorded
 * (docs/history.md): the stage's PGO_BENCH_RECORD, else [pipeline]
 * history.  A PostgreSQL connection string (as the history layer tells
 * them apart: store_is_postgres) is taken as written, a path relative to
 * the pipeline file. */
#ifndef PGO_RESULTS_STORE_H
#define PGO_RESULTS_STORE_H

#include "pipeline/config.h"

/* NULL: nowhere.  Caller frees. */
char *pipeline_results_store(const struct pipeline *p, const struct stage_def *d);

/* Before the first stage: every store a bench stage of the pipeline (up to
 * `until`, NULL: all) will record in is opened (created) and checked
 * (history_check_store), so a store that cannot take the result stops the
 * pipeline before hours of stages, not after them. */
int pipeline_check_results_stores(const struct pipeline *p, const char *until, struct error *err);

#endif
