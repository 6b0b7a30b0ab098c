/* release.h - the end of a pipeline run with [release] ship-pgo-if: which
 * build ships (pipeline/ship.h decides, release.json/.md say why), and the
 * bench result that decided recorded with that decision in the results
 * store (the bench stage deferred it: stage_request.defer_record). */
#ifndef PGO_RELEASE_H
#define PGO_RELEASE_H

#include <stdbool.h>

#include "pipeline/config.h"

/* bench_ran: the bench stage that ran (not cached), or NULL.  *release
 * (freed and replaced) becomes the artifact that ships, or NULL; returns
 * the pipeline's exit code: the decision's, 125 when it could not be made
 * (printed). */
int release_decide(const struct pipeline *pl, const struct stage_def *bench_ran, char **release,
                   bool *release_ok);

#endif
