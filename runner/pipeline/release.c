/* release.c - see release.h */
#define _GNU_SOURCE
#include "pipeline/release.h"

#include <stdio.h>
#include <stdlib.h>

#include "history/history.h"
#include "pipeline/results_store.h"
#include "pipeline/ship.h"

/* The bench result that decided, with the decision, into the results
 * store: the bench stage left that to the pipeline
 * (stage_request.defer_record). */
static void record_with_decision(const struct pipeline *pl, const struct stage_def *bench_ran,
                                 const struct ship_decision *d)
{
	char *store = bench_ran ? pipeline_results_store(pl, bench_ran) : NULL;
	struct history_context ctx = {.pipeline = pl->name, .shipped = d->shipped};
	struct error err = {0};
	char *id = NULL, *kept = NULL;

	if (store == NULL)
		return;
	ctx.stage = bench_ran->name;
	json_object_set(d->result, "ship", d->record);
	/* the release stands; the result is kept beside the store if need be */
	if (history_record_or_keep(store, d->result, &ctx, &id, &kept, &err) < 0)
		fprintf(stderr, "pgo-sandbox: warning: recording the release: %s\n", err.msg);
	else
		printf("pgo-sandbox: release: recorded as run %s in %s\n", id, store);
	free(id);
	free(kept);
	free(store);
}

/* [release] ship-pgo-if: the PGO build ships only when the bench says it
 * won; otherwise the baseline, or nothing.  release.json/.md record why. */
int release_decide(const struct pipeline *pl, const struct stage_def *bench_ran, char **release,
                   bool *release_ok)
{
	struct ship_decision d;
	struct error err = {0};
	int rc;

	if (ship_decide(pl, &d, &err) < 0 || ship_write(pl, &d, &err) < 0) {
		error_print(&err);
		if (d.record)
			ship_decision_free(&d);
		*release_ok = false;
		return EXIT_RUNNER_ERROR;
	}
	printf("pgo-sandbox: release: %s\n", d.reason);
	record_with_decision(pl, bench_ran, &d);
	free(*release);
	*release = d.artifact ? xstrdup(d.artifact) : NULL;
	*release_ok = d.artifact != NULL;
	rc = d.exit_code;
	ship_decision_free(&d);
	return rc;
}
