/* history.h - the parts of `pgo-sandbox history` (history.c parses and
 * dispatches; history_compare.c and history_series.c hold the comparing
 * and the trend/steps commands). */
#ifndef PGO_CLI_HISTORY_H
#define PGO_CLI_HISTORY_H

#include <stdbool.h>

#include "base/util.h"
#include "history/store.h"

struct history_opts {
	const char *store;
	const char *project, *pipeline, *stage, *commit, *branch, *shipped;
	long long time_unix;
	const char *benchmark, *metric, *variant;
	const char *out, *output, *format, *as, *against, *baseline, *run;
	bool json, any_host, fail_on_regression;
	long limit;
	char **args; /* positional arguments after the subcommand */
	int n_args;
};

/* RUN: a run id, "latest", or a baseline name -> the run id (caller
 * frees); the error names the store. */
int history_resolve_run(struct store *s, const char *ref, char **id, struct error *err);

int history_compare_cmd(const struct history_opts *o);
int history_trend_cmd(const struct history_opts *o);
int history_steps_cmd(const struct history_opts *o);

/* "2026-12-07 04:30" in UTC. */
void history_format_time(long long t, char out[32]);
/* The first 12 characters of a fingerprint's hex ("sha256:" dropped). */
const char *history_short_host(const char *fingerprint);

#endif
